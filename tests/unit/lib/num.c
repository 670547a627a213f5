/*
 * Tests of src/lib/num.c: every number form xapi writes, correct rounding
 * against strtod, the end-of-buffer rule for streaming, and round-trip
 * formatting.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/num.h"
#include "support/xorshift.h"
#include "test.h"

/* Parses s followed by a delimiter; true if the whole of s was taken. */
static bool parse_all(const char *s, double *v)
{
	char buf[XS_NUM_MAX_LEN + 16];
	size_t n = strlen(s);

	memcpy(buf, s, n);
	buf[n] = '<';
	return xs_num_parse(buf, buf + n + 1, v) == buf + n;
}

static bool same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void test_formats_match_strtod(void)
{
	static const char *const cases[] = {
		/* %0.4f era */
		"0.0282", "209715200.0000", "0.0", "1.0000", "-3.0000", "0.0000", "8813.5655",
		"340282346638528859811704183484516925440.0000",
		/* %.5g era */
		"0.14111", "1.6776e+07", "2.1475e+09", "1.7e+09", "1e-05", "9.9999e-310",
		/* %.15g era */
		"0.143341526389122", "2.2348638594849e-05", "16776124", "70996.671875",
		"2147483648", "1.40129846432482e-45", "3.40282346638529e+38",
		/* hard cases for rounding */
		"9007199254740993", "0.1", "0.3", "2.2250738585072011e-308",
		"2.2250738585072014e-308", "4.9406564584124654e-324", "1.7976931348623157e308",
		"123456789012345678901234567890", "0.000000000000000000000000000123",
		"7.038531e-26", "1e22", "1e23", "8.98846567431158e307", "5e-324", "1e-400", "1e400",
		"+1.5", "-0.0", "00012", ".5", "5.", "1E5", "1e+0005",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = -42, want = strtod(cases[i], NULL);

		ok(parse_all(cases[i], &v), "parses %s", cases[i]);
		ok(same_double(v, want), "%s: got %.17g, strtod gives %.17g", cases[i], v, want);
	}
}

static void test_special_values(void)
{
	double v;

	ok(parse_all("NaN", &v) && isnan(v), "NaN");
	ok(parse_all("nan", &v) && isnan(v), "nan");
	ok(parse_all("-nan", &v) && isnan(v), "-nan");
	ok(parse_all("Infinity", &v) && isinf(v) && v > 0, "Infinity");
	ok(parse_all("-Infinity", &v) && isinf(v) && v < 0, "-Infinity");
	ok(parse_all("+Infinity", &v) && isinf(v) && v > 0, "+Infinity");
	ok(parse_all("inf", &v) && isinf(v), "inf");
	ok(parse_all("-inf", &v) && isinf(v) && v < 0, "-inf");
	ok(!parse_all("Infin", &v), "Infin is not a number");
	ok(!parse_all("NaNa", &v), "NaNa is not a number");
	ok(!parse_all("nul", &v), "nul is not a number");
}

static void test_invalid(void)
{
	static const char *const bad[] = { "", "-", "+", ".", "e5", "1e", "1e+", "--1", "1..2",
					   "abc", "0x10", "1,5", " 1" };
	double v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!parse_all(bad[i], &v), "'%s' is rejected", bad[i]);
}

static void test_stops_at_delimiter(void)
{
	const char *s = "1.5e3</v>";
	double v;
	const char *q = xs_num_parse(s, s + strlen(s), &v);

	ok(q == s + 5 && v == 1500, "stops before '<'");
	s = "1.5.3";
	q = xs_num_parse(s, s + strlen(s), &v);
	ok(q == s + 3, "stops at the second '.', the caller rejects what follows");
}

/* A number cut by the end of the buffer may go on: the parser says "end". */
static void test_incomplete_at_end(void)
{
	static const char *const partial[] = { "1", "1.", "1.5", "1.5e", "1.5e-", "1.5e-0", "-",
					       "N", "Na", "NaN", "Inf", "Infinit", "Infinity",
					       "-Inf" };
	double v;

	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		const char *s = partial[i];
		ok(xs_num_parse(s, s + strlen(s), &v) == s + strlen(s), "'%s' may continue", s);
	}
}

static void test_too_long(void)
{
	char buf[XS_NUM_MAX_LEN + 8];
	double v;

	memset(buf, '1', sizeof(buf));
	buf[sizeof(buf) - 1] = '<';
	ok(xs_num_parse(buf, buf + sizeof(buf), &v) == NULL, "a %zu-digit number is refused",
	   sizeof(buf) - 1);
	buf[XS_NUM_MAX_LEN] = '<';
	ok(xs_num_parse(buf, buf + sizeof(buf), &v) == buf + XS_NUM_MAX_LEN,
	   "XS_NUM_MAX_LEN digits are accepted");
}

static void test_i64(void)
{
	int64_t v;

	ok(xs_num_i64_from_slice("1700000000", 10, &v) && v == 1700000000, "int");
	ok(xs_num_i64_from_slice("-600", 4, &v) && v == -600, "negative");
	ok(xs_num_i64_from_slice("9223372036854775807", 19, &v) && v == INT64_MAX, "max");
	ok(xs_num_i64_from_slice("-9223372036854775808", 20, &v) && v == INT64_MIN, "min");
	ok(!xs_num_i64_from_slice("9223372036854775808", 19, &v), "overflow");
	ok(!xs_num_i64_from_slice("1.5", 3, &v), "fraction");
	ok(!xs_num_i64_from_slice("", 0, &v), "empty");
	ok(!xs_num_i64_from_slice("12a", 3, &v), "junk");
}

static void test_format_round_trip(void)
{
	char b[XS_NUM_FMT_LEN];
	uint64_t x = 88172645463325252ull;

	xs_num_format(b, sizeof(b), 0.1);
	ok(!strcmp(b, "0.1"), "0.1 -> %s", b);
	xs_num_format(b, sizeof(b), NAN);
	ok(!strcmp(b, "NaN"), "NaN -> %s", b);
	xs_num_format(b, sizeof(b), -INFINITY);
	ok(!strcmp(b, "-Infinity"), "-inf -> %s", b);
	xs_num_format(b, sizeof(b), 16776124);
	ok(!strcmp(b, "16776124"), "integer -> %s", b);
	for (int i = 0; i < 2000; i++) {
		double v, back;

		xorshift64(&x);
		memcpy(&v, &x, sizeof(v));
		if (!isfinite(v))
			continue;
		xs_num_format(b, sizeof(b), v);
		back = strtod(b, NULL);
		if (!same_double(v, back))
			ok(0, "%.17g formatted as %s reads back as %.17g", v, b, back);
	}
	ok(1, "random doubles round-trip");
}

/* xs_num_utoa against printf's %llu: each digit count's ends, and random values. */
static void test_utoa(void)
{
	static const uint64_t ends[] = { 0, 9, 10, 99, 100, 101, 999, 1000, 65535, 4294967295ull,
					 9999999999999999999ull, 10000000000000000000ull, UINT64_MAX };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned bad = 0;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]) + 20000; i++) {
		uint64_t v;
		char got[24], want[24];
		size_t n;

		if (i < sizeof(ends) / sizeof(ends[0])) {
			v = ends[i];
		} else {
			xorshift64(&x);
			v = x >> (x % 64); /* every digit count */
		}
		n = xs_num_utoa(v, got);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		if (n != strlen(want) || memcmp(got, want, n))
			if (bad++ < 5)
				ok(0, "%s written as %.*s", want, (int)n, got);
	}
	ok(!bad, "xs_num_utoa: %u of the values wrong", bad);
}

int main(void)
{
	TEST_RUN(test_formats_match_strtod);
	TEST_RUN(test_special_values);
	TEST_RUN(test_invalid);
	TEST_RUN(test_stops_at_delimiter);
	TEST_RUN(test_incomplete_at_end);
	TEST_RUN(test_too_long);
	TEST_RUN(test_i64);
	TEST_RUN(test_format_round_trip);
	TEST_RUN(test_utoa);
	return test_summary();
}
