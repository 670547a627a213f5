/*
 * Tests of src/lib/feed.c with a toy unit parser (units are lines): chunk
 * joining, offsets, the carry cap, and end of input.
 */
#include <string.h>

#include "lib/feed.h"
#include "test.h"

struct lines {
	char out[4096]; /* the lines seen, joined by '|' */
	size_t len;
	size_t max_line; /* a line longer than this is an error */
};

static ptrdiff_t lines_parse(void *p, const char *buf, size_t len, uint64_t off, bool eof,
			     enum xs_err *code, char *err)
{
	struct lines *l = p;
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;

		if (n > l->max_line) {
			*code = xs_err_at(err, XS_ERR_TOO_LARGE, off + i, "line too long");
			return -1;
		}
		if (!nl) {
			if (eof && n) {
				*code = xs_err_at(err, XS_ERR_TRUNCATED, off + i, "no newline at end");
				return -1;
			}
			return (ptrdiff_t)i;
		}
		if (n && n == 3 && !memcmp(buf + i, "bad", 3)) {
			*code = xs_err_at(err, XS_ERR_PARSE, off + i, "bad line");
			return -1;
		}
		memcpy(l->out + l->len, buf + i, n);
		l->len += n;
		l->out[l->len++] = '|';
		i += n + 1;
	}
}

static enum xs_err feed_in_chunks(struct lines *l, const char *doc, size_t chunk, char *err)
{
	struct xs_feed f;
	size_t len = strlen(doc);
	enum xs_err rc = XS_OK;

	memset(l, 0, sizeof(*l));
	l->max_line = 100;
	xs_feed_init(&f, lines_parse, l);
	for (size_t off = 0; off < len && !rc; off += chunk)
		rc = xs_feed_push(&f, doc + off, len - off < chunk ? len - off : chunk);
	if (!rc)
		rc = xs_feed_finish(&f);
	snprintf(err, XS_ERR_LEN, "%s", xs_feed_error(&f));
	return rc;
}

static void test_any_split_gives_the_same_units(void)
{
	const char *doc = "alpha\nbeta\n\ngamma delta\nz\n";
	char err[XS_ERR_LEN];
	struct lines l;

	for (size_t chunk = 1; chunk <= strlen(doc); chunk++) {
		ok(feed_in_chunks(&l, doc, chunk, err) == XS_OK, "chunk %zu: %s", chunk, err);
		l.out[l.len] = '\0';
		ok(!strcmp(l.out, "alpha|beta||gamma delta|z|"), "chunk %zu: %s", chunk, l.out);
	}
}

static void test_error_offset_is_absolute(void)
{
	const char *doc = "one\ntwo\nbad\nfour\n";
	char err[XS_ERR_LEN];
	struct lines l;

	for (size_t chunk = 1; chunk <= strlen(doc); chunk++) {
		ok(feed_in_chunks(&l, doc, chunk, err) == XS_ERR_PARSE, "chunk %zu fails", chunk);
		ok(!strcmp(err, "byte 8: bad line"), "chunk %zu: %s", chunk, err);
	}
}

static void test_truncated_at_end(void)
{
	char err[XS_ERR_LEN];
	struct lines l;

	ok(feed_in_chunks(&l, "one\ntw", 2, err) == XS_ERR_TRUNCATED, "no newline");
	ok(strstr(err, "byte 4") != NULL, "%s", err);
}

/* A unit that never ends is stopped by the parser's cap, not by memory. */
static void test_endless_unit(void)
{
	static char doc[20000];
	char err[XS_ERR_LEN];
	struct lines l;

	memset(doc, 'x', sizeof(doc) - 1);
	ok(feed_in_chunks(&l, doc, 7, err) == XS_ERR_TOO_LARGE, "endless line refused: %s", err);
}

static ptrdiff_t greedy_parse(void *p, const char *buf, size_t len, uint64_t off, bool eof,
			      enum xs_err *code, char *err)
{
	(void)p, (void)buf, (void)off, (void)code, (void)err;
	return eof ? (ptrdiff_t)len : 0; /* never takes anything: the carry must cap it */
}

static void test_carry_cap(void)
{
	static char doc[XS_FEED_CARRY * 2];
	struct xs_feed f;
	enum xs_err rc = XS_OK;

	xs_feed_init(&f, greedy_parse, NULL);
	for (size_t off = 0; off < sizeof(doc) && !rc; off += 1000)
		rc = xs_feed_push(&f, doc + off, 1000);
	ok(rc == XS_ERR_TOO_LARGE, "a parser that takes nothing cannot grow the carry");
	ok(strstr(xs_feed_error(&f), "longer than") != NULL, "%s", xs_feed_error(&f));
	ok(xs_feed_push(&f, "x", 1) == XS_ERR_TOO_LARGE, "the error sticks");
}

int main(void)
{
	TEST_RUN(test_any_split_gives_the_same_units);
	TEST_RUN(test_error_offset_is_absolute);
	TEST_RUN(test_truncated_at_end);
	TEST_RUN(test_endless_unit);
	TEST_RUN(test_carry_cap);
	return test_summary();
}
