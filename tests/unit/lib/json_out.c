/*
 * Tests of src/lib/json_out.c: structure and commas, misuse errors, string
 * escaping and UTF-8 repair (table), xs_utf8_len (table, and against a
 * decoding definition), integers at the edges, doubles and floats
 * read back with strtod / strtof (special values, edges, 400,000 random bit
 * patterns), the shortest-text property on known values, and the buffer cap.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lib/json_out.h"
#include "support/xorshift.h"
#include "test.h"

#define T_CAP (1u << 20)

static bool t_eq(const struct xs_buf *b, const char *want)
{
	return b->data && strlen(want) == b->len && memcmp(b->data, want, b->len) == 0;
}

static void test_structure(void)
{
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	xs_json_init(&j, &b);
	xs_json_obj_begin(&j);
	xs_json_key(&j, "a");
	xs_json_int(&j, 1);
	xs_json_key(&j, "b");
	xs_json_arr_begin(&j);
	xs_json_int(&j, -2);
	xs_json_str(&j, "x");
	xs_json_null(&j);
	xs_json_bool(&j, true);
	xs_json_bool(&j, false);
	xs_json_obj_begin(&j);
	xs_json_obj_end(&j);
	xs_json_arr_begin(&j);
	xs_json_arr_end(&j);
	xs_json_raw(&j, "{\"r\":[1]}", 9);
	xs_json_arr_end(&j);
	xs_json_key(&j, "c");
	xs_json_obj_begin(&j);
	xs_json_key(&j, "d");
	xs_json_uint(&j, UINT64_MAX);
	xs_json_key(&j, "e");
	xs_json_str(&j, NULL);
	xs_json_obj_end(&j);
	xs_json_obj_end(&j);
	ok(xs_json_error(&j) == XS_OK && xs_json_complete(&j), "no error, complete");
	ok(t_eq(&b, "{\"a\":1,\"b\":[-2,\"x\",null,true,false,{},[],{\"r\":[1]}],"
		    "\"c\":{\"d\":18446744073709551615,\"e\":null}}"),
	   "document: %s", b.data);

	/* top-level sequence: no commas between documents */
	xs_buf_reset(&b);
	xs_json_init(&j, &b);
	xs_json_int(&j, 1);
	xs_json_arr_begin(&j);
	xs_json_arr_end(&j);
	xs_json_str(&j, "s");
	ok(t_eq(&b, "1[]\"s\""), "top-level values: %s", b.data);

	/* init keeps existing content */
	xs_buf_reset(&b);
	ok(xs_buf_append_str(&b, "data: ") == XS_OK, "prefix");
	xs_json_init(&j, &b);
	xs_json_obj_begin(&j);
	xs_json_key_n(&j, "k\0z", 3);
	xs_json_str_n(&j, "v\0w", 3);
	xs_json_obj_end(&j);
	ok(t_eq(&b, "data: {\"k\\u0000z\":\"v\\u0000w\"}"), "appends; NUL in slices: %s", b.data);
	xs_buf_free(&b);
}

/* The member helpers write key and value, and refuse a member outside an object. */
static void test_fields(void)
{
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	xs_json_init(&j, &b);
	xs_json_obj_begin(&j);
	xs_json_field_str(&j, "s", "x\"y");
	xs_json_field_str(&j, "n", NULL);
	xs_json_field_int(&j, "i", -3);
	xs_json_field_uint(&j, "u", 7);
	xs_json_field_double(&j, "d", 0.5);
	xs_json_field_bool(&j, "b", true);
	xs_json_obj_end(&j);
	ok(xs_json_error(&j) == XS_OK && t_eq(&b, "{\"s\":\"x\\\"y\",\"n\":null,\"i\":-3,\"u\":7,"
						 "\"d\":0.5,\"b\":true}"),
	   "members: %s", b.data);
	xs_buf_reset(&b);
	xs_json_init(&j, &b);
	xs_json_arr_begin(&j);
	ok(xs_json_field_uint(&j, "u", 1) != XS_OK, "a member in an array is refused");
	xs_buf_free(&b);
}

static void test_depth(void)
{
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	xs_json_init(&j, &b);
	for (int i = 0; i < XS_JSON_MAX_DEPTH; i++)
		xs_json_arr_begin(&j);
	ok(xs_json_error(&j) == XS_OK, "depth %d allowed", XS_JSON_MAX_DEPTH);
	ok(!xs_json_complete(&j), "open arrays: not complete");
	ok(xs_json_arr_begin(&j) == XS_ERR_ARG, "depth %d refused", XS_JSON_MAX_DEPTH + 1);
	ok(xs_json_arr_end(&j) == XS_ERR_ARG, "sticky after misuse");
	xs_buf_reset(&b);
	xs_json_init(&j, &b);
	for (int i = 0; i < XS_JSON_MAX_DEPTH; i++) {
		xs_json_obj_begin(&j);
		xs_json_key(&j, "k");
	}
	xs_json_int(&j, 7);
	for (int i = 0; i < XS_JSON_MAX_DEPTH; i++)
		xs_json_obj_end(&j);
	ok(xs_json_complete(&j) && b.len == 32 * 5 + 1 + 32, "deep objects: %zu bytes", b.len);
	xs_buf_free(&b);
}

typedef enum xs_err (*t_step)(struct xs_json *j);

static enum xs_err t_value(struct xs_json *j) { return xs_json_int(j, 1); }
static enum xs_err t_key(struct xs_json *j) { return xs_json_key(j, "k"); }
static enum xs_err t_obj(struct xs_json *j) { return xs_json_obj_begin(j); }
static enum xs_err t_arr(struct xs_json *j) { return xs_json_arr_begin(j); }
static enum xs_err t_oend(struct xs_json *j) { return xs_json_obj_end(j); }
static enum xs_err t_aend(struct xs_json *j) { return xs_json_arr_end(j); }

static void test_misuse(void)
{
	static const struct {
		t_step steps[4];
		const char *note;
	} cases[] = {
		{ { t_obj, t_value }, "value without key in object" },
		{ { t_key }, "key at top level" },
		{ { t_arr, t_key }, "key in array" },
		{ { t_obj, t_key, t_key }, "two keys" },
		{ { t_obj, t_key, t_oend }, "end after a key" },
		{ { t_obj, t_aend }, "array end closes object" },
		{ { t_arr, t_oend }, "object end closes array" },
		{ { t_oend }, "end at top level" },
		{ { t_aend }, "array end at top level" },
	};
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum xs_err last = XS_OK;

		xs_buf_reset(&b);
		xs_json_init(&j, &b);
		for (size_t s = 0; s < 4 && cases[i].steps[s]; s++)
			last = cases[i].steps[s](&j);
		ok(last == XS_ERR_ARG && xs_json_error(&j) == XS_ERR_ARG, "%s", cases[i].note);
		ok(xs_json_null(&j) == XS_ERR_ARG, "%s: sticky", cases[i].note);
	}
	xs_json_init(&j, &b);
	ok(xs_json_raw(&j, "", 0) == XS_ERR_ARG, "empty raw refused");
	xs_json_init(&j, &b);
	ok(xs_json_str_n(&j, NULL, 3) == XS_ERR_ARG, "NULL with a length refused");
	xs_buf_free(&b);
}

static void test_strings(void)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		const char *want;
		const char *note;
	} cases[] = {
		{ "", 0, "\"\"", "empty" },
		{ "plain text 123", 0, "\"plain text 123\"", "plain" },
		{ "q\"b\\s/", 0, "\"q\\\"b\\\\s/\"", "quote, backslash; slash as is" },
		{ "\n\r\t\b\f", 0, "\"\\n\\r\\t\\b\\f\"", "short escapes" },
		{ "\x01\x1f\x7f", 0, "\"\\u0001\\u001f\x7f\"", "other controls; DEL as is" },
		{ "a\0b", 3, "\"a\\u0000b\"", "NUL" },
		{ "\xc3\xa9t\xc3\xa9", 0, "\"\xc3\xa9t\xc3\xa9\"", "2-byte UTF-8" },
		{ "\xe2\x82\xac", 0, "\"\xe2\x82\xac\"", "3-byte UTF-8" },
		{ "\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\"", "4-byte UTF-8" },
		{ "\xef\xbf\xbd", 0, "\"\xef\xbf\xbd\"", "U+FFFD itself" },
		{ "\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF" },
		{ "a\xff" "b", 0, "\"a\xef\xbf\xbd" "b\"", "0xFF" },
		{ "\x80", 0, "\"\xef\xbf\xbd\"", "lone continuation" },
		{ "\xc0\xaf", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\"", "overlong 2-byte" },
		{ "\xe0\x80\xaf", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "overlong 3-byte" },
		{ "\xed\xa0\x80", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "surrogate" },
		{ "\xf4\x90\x80\x80", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
		  "past U+10FFFF" },
		{ "\xe2\x82", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\"", "truncated at end" },
		{ "\xe2\x82x", 0, "\"\xef\xbf\xbd\xef\xbf\xbd" "x\"", "truncated before ASCII" },
		{ "\xc3", 0, "\"\xef\xbf\xbd\"", "lead byte alone" },
	};
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		xs_buf_reset(&b);
		xs_json_init(&j, &b);
		ok(xs_json_str_n(&j, cases[i].in, len) == XS_OK, "%s: ok", cases[i].note);
		ok(t_eq(&b, cases[i].want), "%s: got %s", cases[i].note, b.data ? b.data : "(null)");
		/* the same as a key */
		xs_buf_reset(&b);
		xs_json_init(&j, &b);
		xs_json_obj_begin(&j);
		xs_json_key_n(&j, cases[i].in, len);
		xs_json_int(&j, 0);
		xs_json_obj_end(&j);
		ok(b.len == strlen(cases[i].want) + 4 && !memcmp(b.data + 1, cases[i].want, b.len - 4),
		   "%s: as key %s", cases[i].note, b.data);
	}
	/* every byte value: output has no raw control byte and is well-formed */
	xs_buf_reset(&b);
	xs_json_init(&j, &b);
	for (int c = 0; c < 256; c++) {
		char ch = (char)c;

		xs_json_str_n(&j, &ch, 1);
	}
	ok(xs_json_error(&j) == XS_OK, "all bytes");
	for (size_t i = 0; i < b.len; i++) {
		if ((unsigned char)b.data[i] < 0x20) {
			ok(0, "raw control byte at %zu", i);
			break;
		}
	}
	xs_buf_free(&b);
}

/* The definition, by decoding: the shortest form of a scalar value up to U+10FFFF. */
static size_t t_utf8_ref(const unsigned char *p, size_t n)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1fu;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0fu;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void test_utf8_len(void)
{
	static const struct {
		const char *in;
		size_t n;
		size_t want;
		const char *note;
	} cases[] = {
		{ "", 0, 0, "n = 0" },
		{ "a", 1, 1, "ASCII" },
		{ "", 1, 1, "NUL is ASCII" },
		{ "\x7f", 1, 1, "DEL" },
		{ "\xc3\xa9", 2, 2, "2-byte" },
		{ "\xc3\xa9", 1, 0, "2-byte cut by n" },
		{ "\xe2\x82\xac", 3, 3, "3-byte" },
		{ "\xe2\x82\xac", 2, 0, "3-byte cut by n" },
		{ "\xf0\x9f\x98\x80", 4, 4, "4-byte" },
		{ "\xf0\x9f\x98\x80", 3, 0, "4-byte cut by n" },
		{ "\xc3\xa9x", 3, 2, "only the first sequence" },
		{ "\x80", 1, 0, "lone continuation" },
		{ "\xc0\xaf", 2, 0, "overlong 2-byte (C0)" },
		{ "\xc1\xbf", 2, 0, "overlong 2-byte (C1)" },
		{ "\xe0\x9f\xbf", 3, 0, "overlong 3-byte" },
		{ "\xe0\xa0\x80", 3, 3, "U+0800" },
		{ "\xf0\x8f\xbf\xbf", 4, 0, "overlong 4-byte" },
		{ "\xf0\x90\x80\x80", 4, 4, "U+10000" },
		{ "\xed\x9f\xbf", 3, 3, "U+D7FF" },
		{ "\xed\xa0\x80", 3, 0, "surrogate U+D800" },
		{ "\xed\xbf\xbf", 3, 0, "surrogate U+DFFF" },
		{ "\xee\x80\x80", 3, 3, "U+E000" },
		{ "\xf4\x8f\xbf\xbf", 4, 4, "U+10FFFF" },
		{ "\xf4\x90\x80\x80", 4, 0, "U+110000" },
		{ "\xf5\x80\x80\x80", 4, 0, "F5 never leads" },
		{ "\xff", 1, 0, "FF" },
		{ "\xe2\x28\xa1", 3, 0, "bad second byte" },
		{ "\xe2\x82\x28", 3, 0, "bad third byte" },
		{ "\xf0\x9f\x98\x28", 4, 0, "bad fourth byte" },
	};
	static const unsigned char tail[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	size_t bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = xs_utf8_len((const unsigned char *)cases[i].in, cases[i].n);

		ok(got == cases[i].want, "%s: %zu, want %zu", cases[i].note, got, cases[i].want);
	}
	/* every lead and second byte, the later bytes at the range edges, every n */
	for (unsigned b0 = 0; b0 < 256; b0++)
		for (unsigned b1 = 0; b1 < 256; b1++)
			for (size_t t2 = 0; t2 < sizeof(tail); t2++)
				for (size_t t3 = 0; t3 < sizeof(tail); t3++)
					for (size_t n = 0; n <= 4; n++) {
						unsigned char p[4] = { (unsigned char)b0, (unsigned char)b1,
								       tail[t2], tail[t3] };

						if (xs_utf8_len(p, n) != t_utf8_ref(p, n) && bad++ < 5)
							ok(0, "%02x %02x %02x %02x n=%zu", b0, b1,
							   tail[t2], tail[t3], n);
					}
	ok(bad == 0, "agrees with decoding (%zu mismatches)", bad);
}

static void test_ints(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0" },         { 7, "7" },       { 10, "10" },       { 99, "99" },
		{ 100, "100" },     { -1, "-1" },     { 1234567890, "1234567890" },
		{ INT64_MAX, "9223372036854775807" }, { INT64_MIN, "-9223372036854775808" },
	};
	char tmp[XS_JSON_NUM_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = xs_json_fmt_int(tmp, cases[i].v);

		ok(n == strlen(cases[i].want) && !memcmp(tmp, cases[i].want, n), "int %s: %.*s",
		   cases[i].want, (int)n, tmp);
	}
	for (uint64_t v = 1, k = 0; k < 20; k++, v *= 10) {
		char want[32];
		size_t n = xs_json_fmt_uint(tmp, v - 1);

		snprintf(want, sizeof(want), "%llu", (unsigned long long)(v - 1));
		ok(n == strlen(want) && !memcmp(tmp, want, n), "uint %s", want);
	}
}

/* Reads back tmp[0..n) and checks it is a JSON number. */
static bool t_json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	if (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
		return false;
	for (; i < n; i++) {
		if (!strchr("0123456789.e+-", s[i]))
			return false;
	}
	return true;
}

static bool t_double_ok(double v)
{
	char tmp[XS_JSON_NUM_LEN + 1];
	size_t n = xs_json_fmt_double(tmp, v);

	tmp[n] = '\0';
	if (!isfinite(v))
		return !strcmp(tmp, "null");
	return t_json_number(tmp, n) && strtod(tmp, NULL) == v && signbit(strtod(tmp, NULL)) == signbit(v);
}

static bool t_float_ok(float v)
{
	char tmp[XS_JSON_NUM_LEN + 1];
	size_t n = xs_json_fmt_float(tmp, v);

	tmp[n] = '\0';
	if (!isfinite(v))
		return !strcmp(tmp, "null");
	return t_json_number(tmp, n) && strtof(tmp, NULL) == v && signbit(strtof(tmp, NULL)) == signbit(v);
}

static uint64_t t_rng = 0x9E3779B97F4A7C15ull;

static uint64_t t_rand(void)
{
	return xorshift64(&t_rng);
}

static void test_double_edges(void)
{
	const double vals[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 1e-5, 1e-6,
				123456.789, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 9007199254740991.0,
				9007199254740993.0, 5e-324, 2.2250738585072014e-308, DBL_MAX, -DBL_MAX,
				DBL_EPSILON, 2.2348638594849e-05, 0.0282, 209715200.0, 1.6776e+07,
				4294967296.5, 99999.99999999999, 0.000099999999999999 };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ok(t_double_ok(vals[i]), "double %.17g", vals[i]);
	ok(t_double_ok(NAN) && t_double_ok(INFINITY) && t_double_ok(-INFINITY), "double specials");
}

static void test_float_edges(void)
{
	const float vals[] = { 0.0f, -0.0f, 1.0f, 0.1f, 0.2f, 1.0f / 3, 1e-5f, 16777216.0f, 16777217.0f,
			       3e9f, 1e10f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, FLT_EPSILON,
			       0.0282f, 12345.678f, 7.0e-10f, 3.4e38f, 1e-38f };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ok(t_float_ok(vals[i]), "float %.9g", (double)vals[i]);
	ok(t_float_ok(NAN) && t_float_ok(INFINITY) && t_float_ok(-INFINITY), "float specials");
}

static void test_random(void)
{
	int bad_d = 0, bad_f = 0, bad_dv = 0, bad_fv = 0;

	for (int i = 0; i < 400000; i++) {
		uint64_t u = t_rand();
		uint32_t u32 = (uint32_t)(u >> 32);
		double d;
		float f;

		memcpy(&d, &u, sizeof(d));
		memcpy(&f, &u32, sizeof(f));
		bad_d += !t_double_ok(d);
		bad_f += !t_float_ok(f);
		/* values of the shape stats have: uniform in a decade range */
		d = (double)(u >> 11) / 9007199254740992.0 * pow(10, (int)(u % 24) - 12);
		f = (float)d;
		bad_dv += !t_double_ok(d);
		bad_fv += !t_float_ok(f);
	}
	ok(bad_d == 0, "random double bits: %d bad", bad_d);
	ok(bad_f == 0, "random float bits: %d bad", bad_f);
	ok(bad_dv == 0, "random double values: %d bad", bad_dv);
	ok(bad_fv == 0, "random float values: %d bad", bad_fv);
}

static void test_shortest(void)
{
	static const struct {
		float f;
		const char *want;
	} fl[] = {
		{ 0.1f, "0.1" }, { 0.5f, "0.5" }, { 1.5f, "1.5" }, { 12.25f, "12.25" },
		{ 0.0282f, "0.0282" }, { 123456.7f, "123456.7" }, { 1e-7f, "1e-7" },
		{ 3e9f, "3000000000" }, { -2.75f, "-2.75" }, { 100.0f, "100" },
	};
	static const struct {
		double d;
		const char *want;
	} dl[] = {
		{ 0.1, "0.1" }, { 0.3, "0.3" }, { 1.0 / 3, "0.3333333333333333" },
		{ 2.2348638594849e-05, "0.000022348638594849" }, { 1e-7, "1e-7" }, { 1.5e300, "1.5e+300" },
		{ 100.0, "100" }, { -0.0, "-0" },
	};
	char tmp[XS_JSON_NUM_LEN];

	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		size_t n = xs_json_fmt_float(tmp, fl[i].f);

		ok(n == strlen(fl[i].want) && !memcmp(tmp, fl[i].want, n), "float %s: %.*s", fl[i].want,
		   (int)n, tmp);
	}
	for (size_t i = 0; i < sizeof(dl) / sizeof(dl[0]); i++) {
		size_t n = xs_json_fmt_double(tmp, dl[i].d);

		ok(n == strlen(dl[i].want) && !memcmp(tmp, dl[i].want, n), "double %s: %.*s", dl[i].want,
		   (int)n, tmp);
	}
}

static void test_numbers_in_doc(void)
{
	struct xs_buf b;
	struct xs_json j;

	xs_buf_init(&b, T_CAP);
	xs_json_init(&j, &b);
	xs_json_arr_begin(&j);
	xs_json_double(&j, 1.5);
	xs_json_double(&j, NAN);
	xs_json_float(&j, 0.25f);
	xs_json_float(&j, -INFINITY);
	xs_json_int(&j, -3);
	xs_json_arr_end(&j);
	ok(t_eq(&b, "[1.5,null,0.25,null,-3]"), "numbers in an array: %s", b.data);
	xs_buf_free(&b);
}

/* Every cap from 0 up to the full size: fails with TOO_LARGE (buffer freed)
 * exactly when the document does not fit, and never writes past the cap. */
static void test_cap(void)
{
	struct xs_buf b;
	struct xs_json j;
	size_t full = 0;

	for (size_t cap = 0;; cap++) {
		enum xs_err rc;

		xs_buf_init(&b, cap);
		xs_json_init(&j, &b);
		xs_json_obj_begin(&j);
		xs_json_key(&j, "name\n");
		xs_json_str(&j, "h\xc3\xa9llo\x01");
		xs_json_key(&j, "v");
		xs_json_arr_begin(&j);
		xs_json_double(&j, 0.1);
		xs_json_float(&j, 2.5f);
		xs_json_uint(&j, 42);
		xs_json_raw(&j, "{}", 2);
		xs_json_arr_end(&j);
		rc = xs_json_obj_end(&j);
		if (rc == XS_OK) {
			full = b.len;
			ok(b.len <= cap, "fits in %zu", cap);
			ok(t_eq(&b, "{\"name\\n\":\"h\xc3\xa9llo\\u0001\",\"v\":[0.1,2.5,42,{}]}"),
			   "complete doc %s", b.data);
			xs_buf_free(&b);
			break;
		}
		if (!ok(rc == XS_ERR_TOO_LARGE && b.data == NULL && b.len == 0,
			"cap %zu: TOO_LARGE and buffer freed", cap)) {
			xs_buf_free(&b);
			break;
		}
		xs_buf_free(&b);
		if (cap > 1000)
			break;
	}
	ok(full == 45, "document size %zu", full);
}

int main(void)
{
	TEST_RUN(test_structure);
	TEST_RUN(test_fields);
	TEST_RUN(test_depth);
	TEST_RUN(test_misuse);
	TEST_RUN(test_strings);
	TEST_RUN(test_utf8_len);
	TEST_RUN(test_ints);
	TEST_RUN(test_double_edges);
	TEST_RUN(test_float_edges);
	TEST_RUN(test_random);
	TEST_RUN(test_shortest);
	TEST_RUN(test_numbers_in_doc);
	TEST_RUN(test_cap);
	return test_summary();
}
