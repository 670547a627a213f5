/*
 * rrd_cases.h - test support: table-driven checks of RRD readers.
 *
 * A table of struct rec_case (document, expected recording or expected error
 * substring) is checked three ways: read whole (rec_check_table), split at
 * every byte and at random points with identical results, errors included
 * (rec_check_splits), and every prefix of a valid document failing with a
 * "byte N:" error (rec_check_truncations). Include test.h first.
 */
#ifndef XS_TEST_RRD_CASES_H
#define XS_TEST_RRD_CASES_H

#include "support/rrd_record.h"
#include "support/shared_file.h"

struct rec_case {
	const char *note;
	const char *doc;
	const char *want;     /* expected recording, or NULL when an error is expected */
	const char *want_err; /* substring of the error */
};

__attribute__((unused)) static void rec_check_table(const struct xs_rrd_parser_class *cls,
						    const struct rec_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_case *c = &cases[i];
		enum xs_err rc;
		char err[XS_ERR_LEN];
		char *got = rec_read(cls, c->doc, strlen(c->doc), 0, &rc, err);

		if (c->want) {
			ok(rc == XS_OK, "%s: %s", c->note, err);
			ok(!strcmp(got, c->want), "%s: got\n%s", c->note, got);
		} else {
			ok(rc != XS_OK, "%s: accepted", c->note);
			ok(strstr(err, c->want_err) != NULL, "%s: error '%s'", c->note, err);
			ok(!strncmp(err, "byte ", 5), "%s: error names the byte: '%s'", c->note, err);
		}
		free(got);
	}
}

__attribute__((unused)) static void rec_check_splits(const struct xs_rrd_parser_class *cls,
						     const struct rec_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_case *c = &cases[i];
		size_t len = strlen(c->doc);
		enum xs_err rc0, rc;
		char err0[XS_ERR_LEN], err[XS_ERR_LEN];
		char *whole = rec_read(cls, c->doc, len, 0, &rc0, err0);
		char *got = rec_read(cls, c->doc, len, 1, &rc, err);

		ok(rc == rc0 && !strcmp(got, whole) && !strcmp(err, err0),
		   "%s: byte by byte differs: %s / %s", c->note, err, err0);
		free(got);
		for (unsigned seed = 1; seed <= 20; seed++) {
			got = rec_read_random(cls, c->doc, len, seed, 1 + seed * 3, &rc, err);
			ok(rc == rc0 && !strcmp(got, whole) && !strcmp(err, err0),
			   "%s: seed %u differs: %s / %s", c->note, seed, err, err0);
			free(got);
		}
		free(whole);
	}
}

/* Every proper prefix of doc (a valid document without trailing white space)
 * must fail with an error naming a byte. */
__attribute__((unused)) static void rec_check_truncations(const struct xs_rrd_parser_class *cls,
							  const char *doc)
{
	size_t len = strlen(doc);

	for (size_t cut = 0; cut < len; cut++) {
		enum xs_err rc;
		char err[XS_ERR_LEN];
		char *got = rec_read(cls, doc, cut, 0, &rc, err);

		ok(rc != XS_OK && !strncmp(err, "byte ", 5), "cut at %zu: rc %d '%s'", cut,
		   (int)rc, err);
		free(got);
	}
}

/* Pushes `unit` repeated `times` times (in 64 KiB chunks) into a reader: hostile sizes. */
__attribute__((unused)) static enum xs_err push_repeated(struct xs_rrd_reader *rd, const char *unit, size_t times)
{
	static char chunk[1 << 16];
	size_t n = strlen(unit), per = sizeof(chunk) / n;
	enum xs_err rc = XS_OK;

	for (size_t i = 0; i < per; i++)
		memcpy(chunk + i * n, unit, n);
	while (times && !rc) {
		size_t k = times < per ? times : per;
		rc = xs_rrd_reader_push(rd, chunk, k * n);
		times -= k;
	}
	return rc;
}

#endif
