/*
 * Tests of src/http/query_string.c: a table of query strings with the pairs
 * or the error expected, every truncation point of a valid query, caps, and
 * the typed readers (integers at the int64 edges, choices, booleans).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/query_string.h"
#include "test.h"

static void test_table(void)
{
	static const struct {
		const char *in;
		enum xs_err rc;
		const char *want; /* "name=value;" per pair, or how the error starts */
		const char *note;
	} cases[] = {
		{ "", XS_OK, "", "empty" },
		{ "a=1", XS_OK, "a=1;", "one pair" },
		{ "a=1&b=two", XS_OK, "a=1;b=two;", "two pairs" },
		{ "a", XS_OK, "a=;", "bare name" },
		{ "a=", XS_OK, "a=;", "empty value" },
		{ "&&a=1&&b=2&", XS_OK, "a=1;b=2;", "empty pieces skipped" },
		{ "a=x%20y+z", XS_OK, "a=x y z;", "escape and plus" },
		{ "n%61me=%2B%26%3d", XS_OK, "name=+&=;", "escaped name, reserved chars" },
		{ "a=b=c", XS_OK, "a=b=c;", "second '=' is part of the value" },
		{ "objects=u1,u2,u3", XS_OK, "objects=u1,u2,u3;", "comma list" },
		{ "a=%C3%A9", XS_OK, "a=\xc3\xa9;", "UTF-8 value" },
		{ "=x", XS_ERR_PARSE, "query parameter with an empty name", "empty name" },
		{ "a=1&a=2", XS_ERR_PARSE, "a: given more than once", "duplicate" },
		{ "a=1&%61=2", XS_ERR_PARSE, "%61: given more than once", "duplicate after decoding" },
		{ "a=%", XS_ERR_PARSE, "a: bad percent-escape", "truncated escape" },
		{ "a=%4", XS_ERR_PARSE, "a: bad", "half escape" },
		{ "a=%zz", XS_ERR_PARSE, "a: bad", "bad hex" },
		{ "b%=1", XS_ERR_PARSE, "b%: bad", "bad escape in name" },
		{ "a=%00", XS_ERR_PARSE, "a: bad percent-escape or NUL", "NUL in value" },
		{ "x\x01y=%", XS_ERR_PARSE, "x?y: ", "control bytes shown as ?" },
	};
	char err[XS_ERR_LEN], got[512];
	struct xs_qs qs = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum xs_err rc;

		err[0] = '\0';
		rc = xs_qs_parse(&qs, cases[i].in, strlen(cases[i].in), 64, 4096, err);
		ok(rc == cases[i].rc, "%s: rc %d", cases[i].note, rc);
		if (rc) {
			ok(!strncmp(err, cases[i].want, strlen(cases[i].want)), "%s: error '%s'", cases[i].note,
			   err);
			ok(qs.n == 0 && qs.mem == NULL, "%s: empty after error", cases[i].note);
			continue;
		}
		got[0] = '\0';
		for (size_t k = 0; k < qs.n; k++) {
			size_t l = strlen(got);

			snprintf(got + l, sizeof(got) - l, "%s=%s;", qs.params[k].name, qs.params[k].value);
			ok(strlen(qs.params[k].name) == qs.params[k].name_len &&
				   strlen(qs.params[k].value) == qs.params[k].value_len,
			   "%s: lengths", cases[i].note);
		}
		ok(!strcmp(got, cases[i].want), "%s: got '%s'", cases[i].note, got);
	}
	xs_qs_free(&qs);
	xs_qs_free(NULL);
}

/* Every prefix of a valid query parses or fails cleanly, never reads past it. */
static void test_truncation(void)
{
	const char *full = "granularity=hours&from=1700000000&to=1700003600&objects=a%2Cb&x";
	size_t n = strlen(full);
	char err[XS_ERR_LEN];
	struct xs_qs qs = { 0 };

	for (size_t cut = 0; cut <= n; cut++) {
		char *copy = malloc(cut ? cut : 1);
		enum xs_err rc;

		memcpy(copy, full, cut);
		rc = xs_qs_parse(&qs, copy, cut, 64, 4096, err);
		ok(rc == XS_OK || rc == XS_ERR_PARSE, "cut %zu: rc %d", cut, rc);
		free(copy);
	}
	ok(xs_qs_parse(&qs, full, n, 64, 4096, err) == XS_OK && qs.n == 5, "full: 5 pairs");
	ok(!strcmp(xs_qs_get(&qs, "objects"), "a,b") && !strcmp(xs_qs_get(&qs, "x"), "") &&
		   xs_qs_get(&qs, "y") == NULL && xs_qs_get(&qs, "object") == NULL,
	   "lookups");
	xs_qs_free(&qs);
}

static void test_caps(void)
{
	char err[XS_ERR_LEN];
	struct xs_qs qs = { 0 };

	ok(xs_qs_parse(&qs, "a=1&b=2&c=3", 11, 3, 4096, err) == XS_OK, "3 pairs at max 3");
	ok(xs_qs_parse(&qs, "a=1&b=2&c=3&d", 13, 3, 4096, err) == XS_ERR_TOO_LARGE &&
		   strstr(err, "too many query parameters (max 3)"),
	   "4 pairs at max 3: %s", err);
	ok(qs.n == 0, "reset by the failed parse");
	ok(xs_qs_parse(&qs, "a=12345", 7, 3, 6, err) == XS_ERR_TOO_LARGE && strstr(err, "too long"),
	   "length cap: %s", err);
	xs_qs_free(&qs);
}

static void test_typed(void)
{
	static const char *const gran[] = { "seconds", "minutes", "hours", "days" };
	const char *q = "n=42&neg=-7&big=9223372036854775807&min=-9223372036854775808&over=9223372036854775808"
			"&junk=12x&plus=%2B5&empty=&g=hours&bad=weeks&t=true&f=0&flag&maybe=perhaps";
	char err[XS_ERR_LEN];
	struct xs_qs qs = { 0 };
	int64_t v;
	size_t idx;
	bool b;

	fail_unless(xs_qs_parse(&qs, q, strlen(q), 64, 4096, err) == XS_OK, "parse: %s", err);
	ok(xs_qs_get_i64(&qs, "n", 0, 100, 5, &v, err) == XS_OK && v == 42, "int");
	ok(xs_qs_get_i64(&qs, "absent", 0, 100, 5, &v, err) == XS_OK && v == 5, "default");
	ok(xs_qs_get_i64(&qs, "neg", -10, 0, 0, &v, err) == XS_OK && v == -7, "negative");
	ok(xs_qs_get_i64(&qs, "big", INT64_MIN, INT64_MAX, 0, &v, err) == XS_OK && v == INT64_MAX, "INT64_MAX");
	ok(xs_qs_get_i64(&qs, "min", INT64_MIN, INT64_MAX, 0, &v, err) == XS_OK && v == INT64_MIN, "INT64_MIN");
	ok(xs_qs_get_i64(&qs, "over", INT64_MIN, INT64_MAX, 0, &v, err) == XS_ERR_ARG && !strncmp(err, "over: ", 6),
	   "overflow: %s", err);
	ok(xs_qs_get_i64(&qs, "junk", 0, 100, 0, &v, err) == XS_ERR_ARG && !strcmp(err, "junk: not an integer"),
	   "trailing junk: %s", err);
	ok(xs_qs_get_i64(&qs, "plus", 0, 100, 0, &v, err) == XS_ERR_ARG, "'+5' refused");
	ok(xs_qs_get_i64(&qs, "empty", 0, 100, 0, &v, err) == XS_ERR_ARG, "empty refused");
	ok(xs_qs_get_i64(&qs, "n", 0, 10, 0, &v, err) == XS_ERR_ARG && !strcmp(err, "n: 42 is out of range [0, 10]"),
	   "range: %s", err);
	ok(xs_qs_get_choice(&qs, "g", gran, 4, 0, &idx, err) == XS_OK && idx == 2, "choice");
	ok(xs_qs_get_choice(&qs, "absent", gran, 4, 1, &idx, err) == XS_OK && idx == 1, "choice default");
	ok(xs_qs_get_choice(&qs, "bad", gran, 4, 0, &idx, err) == XS_ERR_ARG &&
		   !strcmp(err, "bad: must be one of seconds|minutes|hours|days"),
	   "bad choice: %s", err);
	ok(xs_qs_get_bool(&qs, "t", false, &b, err) == XS_OK && b, "true");
	ok(xs_qs_get_bool(&qs, "f", true, &b, err) == XS_OK && !b, "0 is false");
	ok(xs_qs_get_bool(&qs, "flag", false, &b, err) == XS_OK && b, "bare flag is true");
	ok(xs_qs_get_bool(&qs, "absent", true, &b, err) == XS_OK && b, "bool default");
	ok(xs_qs_get_bool(&qs, "maybe", true, &b, err) == XS_ERR_ARG && !strcmp(err, "maybe: must be true or false"),
	   "bad bool: %s", err);
	xs_qs_free(&qs);
}

static void test_pct(void)
{
	char out[32];

	ok(xs_pct_decode(out, "a+b%41", 6, false) == 4 && !memcmp(out, "a+bA", 4), "plus kept in paths");
	ok(xs_pct_decode(out, "a+b", 3, true) == 3 && !memcmp(out, "a b", 3), "plus as space");
	ok(xs_pct_decode(out, "%", 1, false) == -1, "lone %%");
	ok(xs_pct_decode(out, "%0", 2, false) == -1, "short escape");
	ok(xs_pct_decode(out, "%00", 3, false) == 1 && out[0] == '\0', "NUL kept for the caller to check");
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_truncation);
	TEST_RUN(test_caps);
	TEST_RUN(test_typed);
	TEST_RUN(test_pct);
	return test_summary();
}
