/*
 * Tests of the lenient JSON tokenizer (src/lib/json_scan.c): every token
 * kind, the legacy forms (bare words), incomplete tokens at a buffer end,
 * caps decided the same wherever the buffer ends, the BOM, and unescaping.
 */
#include <string.h>

#include "lib/json_scan.h"
#include "test.h"

/* Tokenizes all of s (eof) into a readable line: kinds and texts. */
static const char *tokens(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s), o = 0;
	uint64_t off = 0;

	out[0] = 0;
	while (off < len) {
		struct xs_json_token t;
		enum xs_err code;
		char err[XS_ERR_LEN];
		ptrdiff_t n = xs_json_next(s + off, len - off, true, off, &t, &code, err);
		static const char *const names[] = { "{", "}", "[", "]", ":", ",", "S", "B", "_" };

		if (n <= 0) {
			snprintf(out + o, cap - o, "ERR(%s)", err);
			return out;
		}
		o += (size_t)snprintf(out + o, cap - o, "%s%s%.*s%s ", names[t.kind],
				      t.text ? "<" : "", (int)t.len, t.text ? t.text : "",
				      t.text ? ">" : "");
		off += (uint64_t)n;
	}
	return out;
}

static void test_kinds(void)
{
	char out[512];

	ok(!strcmp(tokens("{\"a\":[1,\"b\"]}", out, sizeof(out)), "{ S<a> : [ B<1> , S<b> ] } "),
	   "%s", out);
	ok(!strcmp(tokens("{meta: {t:-Infinity,v:NaN}}", out, sizeof(out)),
		   "{ B<meta> : _ { B<t> : B<-Infinity> , B<v> : B<NaN> } } "),
	   "%s", out);
	ok(!strcmp(tokens(" \t\r\n1.6776e+07 ", out, sizeof(out)), "_ B<1.6776e+07> _ "), "%s", out);
	ok(!strcmp(tokens("\"a\\\"b\"", out, sizeof(out)), "S<a\\\"b> "), "%s", out);
	ok(!strcmp(tokens("\xEF\xBB\xBF{}", out, sizeof(out)), "_ { } "), "BOM: %s", out);
	ok(!strcmp(tokens("{}\xEF\xBB\xBF", out, sizeof(out)),
		   "{ } ERR(byte 2: unexpected byte 0xef)"), "BOM only at 0: %s", out);
	ok(!strcmp(tokens("{'a'}", out, sizeof(out)), "{ ERR(byte 1: unexpected character ''')"),
	   "%s", out);
	ok(!strcmp(tokens("\"a\nb\"", out, sizeof(out)),
		   "ERR(byte 2: control character 0x0a inside a string)"), "%s", out);
	ok(!strcmp(tokens("\"abc", out, sizeof(out)), "ERR(byte 0: unterminated string)"), "%s",
	   out);
}

static void test_incomplete(void)
{
	struct xs_json_token t;
	enum xs_err code;
	char err[XS_ERR_LEN];

	ok(xs_json_next("\"abc", 4, false, 0, &t, &code, err) == 0, "open string waits");
	ok(xs_json_next("\"ab\\", 4, false, 0, &t, &code, err) == 0, "escape at the end waits");
	ok(xs_json_next("123", 3, false, 5, &t, &code, err) == 0, "bare word at the end waits");
	ok(xs_json_next("123", 3, true, 5, &t, &code, err) == 3 && t.kind == XS_JSON_BARE,
	   "bare word at eof is complete");
	ok(xs_json_next("\xEF\xBB", 2, false, 0, &t, &code, err) == 0, "half a BOM waits");
	ok(xs_json_next("", 0, false, 0, &t, &code, err) == 0, "nothing waits");
	ok(xs_json_next("", 0, true, 9, &t, &code, err) == -1 && code == XS_ERR_TRUNCATED,
	   "nothing at eof: %s", err);
}

/* A cap is decided on the same bytes whether the token is whole or cut. */
static void test_caps(void)
{
	static char buf[XS_JSON_MAX_STRING + 16];
	struct xs_json_token t;
	enum xs_err code;
	char err[XS_ERR_LEN], err2[XS_ERR_LEN];

	memset(buf, 'a', sizeof(buf));
	buf[0] = '"';
	buf[XS_JSON_MAX_STRING + 1] = '"';
	ok(xs_json_next(buf, XS_JSON_MAX_STRING + 2, false, 0, &t, &code, err) ==
		   XS_JSON_MAX_STRING + 2 && t.len == XS_JSON_MAX_STRING,
	   "a string of exactly the cap");
	buf[XS_JSON_MAX_STRING + 1] = 'a';
	buf[XS_JSON_MAX_STRING + 2] = '"';
	ok(xs_json_next(buf, XS_JSON_MAX_STRING + 3, false, 0, &t, &code, err) == -1 &&
		   code == XS_ERR_TOO_LARGE,
	   "one byte more: %s", err);
	ok(xs_json_next(buf, XS_JSON_MAX_STRING + 2, false, 0, &t, &code, err2) == -1 &&
		   !strcmp(err, err2),
	   "same error when cut: %s", err2);
	memset(buf, '7', sizeof(buf));
	ok(xs_json_next(buf, XS_JSON_MAX_BARE, true, 0, &t, &code, err) == XS_JSON_MAX_BARE,
	   "a bare word of exactly the cap");
	ok(xs_json_next(buf, XS_JSON_MAX_BARE + 1, false, 0, &t, &code, err) == -1 &&
		   code == XS_ERR_TOO_LARGE,
	   "one byte more: %s", err);
}

static void test_unescape(void)
{
	char out[64];
	ptrdiff_t n;

	n = xs_json_unescape("a\\\"\\\\\\/\\b\\f\\n\\r\\t", 17, out, sizeof(out));
	ok(n == 9 && !memcmp(out, "a\"\\/\b\f\n\r\t", 9), "simple escapes (%td)", n);
	n = xs_json_unescape("\\u00e9\\u20ac\\ud83d\\ude00\\u0041", 30, out, sizeof(out));
	ok(n == 10 && !memcmp(out, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "A", 10), "\\u (%td)", n);
	ok(xs_json_unescape("\\ud800", 6, out, sizeof(out)) == -1, "lone high surrogate");
	ok(xs_json_unescape("\\udc00", 6, out, sizeof(out)) == -1, "lone low surrogate");
	ok(xs_json_unescape("\\ud800\\u0041", 12, out, sizeof(out)) == -1, "bad pair");
	ok(xs_json_unescape("\\u12", 4, out, sizeof(out)) == -1, "short \\u");
	ok(xs_json_unescape("\\u12g4", 6, out, sizeof(out)) == -1, "bad hex");
	ok(xs_json_unescape("\\x", 2, out, sizeof(out)) == -1, "unknown escape");
	ok(xs_json_unescape("\\", 1, out, sizeof(out)) == -1, "backslash at the end");
	ok(xs_json_unescape("abcd", 4, out, 3) == -1, "output too small");
	ok(xs_json_unescape("\\u20ac", 6, out, 2) == -1, "output too small for UTF-8");
}

int main(void)
{
	TEST_RUN(test_kinds);
	TEST_RUN(test_incomplete);
	TEST_RUN(test_caps);
	TEST_RUN(test_unescape);
	return test_summary();
}
