/*
 * Tests of src/xapi/tls_pins.c: a table of pin lists (separators, case,
 * colons, bad entries, nothing given) with the canonical list or the error
 * each gives, appending to a list (left unchanged by an error), the limit
 * of XS_TLS_PINS_MAX fingerprints, matching and counting.
 */
#include <string.h>

#include "test.h"
#include "xapi/tls_pins.h"

#define FP_A "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
#define FP_B "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
#define HEX_B "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void test_parse_table(void)
{
	static const struct {
		const char *in;
		const char *out;    /* canonical list; NULL when an error is expected */
		enum xs_err rc;
		const char *note;
	} cases[] = {
		{ FP_A, FP_A, XS_OK, "one, canonical" },
		{ HEX_B, FP_B, XS_OK, "lower case, no colons" },
		{ "0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:", FP_B, XS_OK,
		  "colons anywhere" },
		{ FP_A "," FP_B, FP_A "," FP_B, XS_OK, "two, comma" },
		{ FP_A " " HEX_B, FP_A "," FP_B, XS_OK, "two, blank" },
		{ " \t" FP_A ", \t" FP_B ",, ", FP_A "," FP_B, XS_OK, "blanks and commas around" },
		{ FP_A "," FP_A, FP_A "," FP_A, XS_OK, "a duplicate is kept" },
		{ "", NULL, XS_ERR_ARG, "empty" },
		{ " , \t,", NULL, XS_ERR_ARG, "separators only" },
		{ "AB:CD", NULL, XS_ERR_ARG, "too short" },
		{ FP_A ":00", NULL, XS_ERR_ARG, "too long" },
		{ FP_A "," "AB:CD", NULL, XS_ERR_ARG, "second entry bad" },
		{ "x" HEX_B, NULL, XS_ERR_ARG, "not hex" },
		{ FP_A ";" FP_B, NULL, XS_ERR_ARG, "';' is no separator" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[XS_TLS_PINS_LEN] = "", err[XS_ERR_LEN] = "";
		size_t count = 99;
		enum xs_err rc = xs_tls_pins_add(out, cases[i].in, strlen(cases[i].in), &count, err);

		ok(rc == cases[i].rc, "%s: rc %d (%s)", cases[i].note, rc, err);
		if (cases[i].out) {
			ok(!strcmp(out, cases[i].out), "%s: %s", cases[i].note, out);
			ok(count == xs_tls_pins_count(cases[i].out), "%s: count %zu", cases[i].note,
			   count);
		} else {
			ok(out[0] == '\0' && count == 99, "%s: nothing written", cases[i].note);
			ok(err[0] != '\0', "%s: a message: %s", cases[i].note, err);
		}
	}
}

static void test_messages(void)
{
	char out[XS_TLS_PINS_LEN] = "", err[XS_ERR_LEN] = "";
	const char *in = FP_A ", AB:CD";

	ok(xs_tls_pins_add(out, in, strlen(in), NULL, err) == XS_ERR_ARG, "bad second entry");
	ok(!strcmp(err, "'AB:CD' is not a SHA-256 fingerprint (AB:CD:..., 32 bytes in hex)"),
	   "the entry is quoted: %s", err);
	ok(xs_tls_pins_add(out, "", 0, NULL, err) == XS_ERR_ARG &&
		   !strcmp(err, "no fingerprint given"),
	   "nothing: %s", err);
}

static void test_append_and_limit(void)
{
	char out[XS_TLS_PINS_LEN] = "", err[XS_ERR_LEN] = "", before[XS_TLS_PINS_LEN];
	size_t count = 0;
	enum xs_err rc = XS_OK;

	ok(xs_tls_pins_add(out, FP_A, strlen(FP_A), &count, err) == XS_OK && count == 1, "first");
	ok(xs_tls_pins_add(out, HEX_B, strlen(HEX_B), &count, err) == XS_OK && count == 2,
	   "appended");
	ok(!strcmp(out, FP_A "," FP_B), "canonical: %s", out);
	ok(xs_tls_pins_add(out, "AB", 2, &count, err) == XS_ERR_ARG && !strcmp(out, FP_A "," FP_B) &&
		   count == 2,
	   "a bad entry leaves the list as it was");
	/* an entry past the list's end is cut off again by an error later in the same text */
	ok(xs_tls_pins_add(out, FP_A " x", strlen(FP_A " x"), &count, err) == XS_ERR_ARG &&
		   !strcmp(out, FP_A "," FP_B),
	   "all or nothing: %s", out);
	while (rc == XS_OK && count < XS_TLS_PINS_MAX)
		rc = xs_tls_pins_add(out, FP_B, strlen(FP_B), &count, err);
	ok(rc == XS_OK && count == XS_TLS_PINS_MAX, "%d fit", XS_TLS_PINS_MAX);
	ok(strlen(out) == XS_TLS_PINS_LEN - 1, "a full list fills the buffer: %zu", strlen(out));
	memcpy(before, out, sizeof(before));
	rc = xs_tls_pins_add(out, FP_A, strlen(FP_A), &count, err);
	ok(rc == XS_ERR_TOO_LARGE && !strcmp(err, "more than 128 fingerprints"), "one more: %s", err);
	ok(!strcmp(out, before) && count == XS_TLS_PINS_MAX, "unchanged");
}

static void test_match(void)
{
	ok(xs_tls_pins_match(FP_A, FP_A), "the only one");
	ok(xs_tls_pins_match(FP_A "," FP_B, FP_B), "the second of two");
	ok(xs_tls_pins_match(FP_B "," FP_A, FP_B), "the first of two");
	ok(!xs_tls_pins_match(FP_A, FP_B), "another");
	ok(!xs_tls_pins_match("", FP_A) && !xs_tls_pins_match(NULL, FP_A), "empty list");
	ok(!xs_tls_pins_match(FP_A "," FP_B, "AB:CD"), "a prefix is no match");
	ok(!xs_tls_pins_match(FP_A "," FP_B, FP_A "," FP_B), "nor is a list");
	ok(xs_tls_pins_count("") == 0 && xs_tls_pins_count(FP_A) == 1 &&
		   xs_tls_pins_count(FP_A "," FP_B) == 2,
	   "count");
}

int main(void)
{
	TEST_RUN(test_parse_table);
	TEST_RUN(test_messages);
	TEST_RUN(test_append_and_limit);
	TEST_RUN(test_match);
	return test_summary();
}
