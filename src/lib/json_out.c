/*
 * json_out.c - the JSON writer (see json_out.h).
 *
 * Structure: a bit per nesting level says "this level already holds a member"
 * (so the next one needs a comma) and another says "this level is an object"
 * (so values need a key first). Both fit a uint64_t for XS_JSON_MAX_DEPTH 32.
 *
 * Strings are written in two passes over the input: the first computes the
 * exact output length, so one xs_buf_reserve() either fits the whole string
 * or fails on the cap, and a buffer near its cap never fails on a worst-case
 * estimate; the second writes into the reserved room. Runs of plain ASCII are
 * found with a 256-entry class table and copied with memcpy.
 *
 * Numbers: a stats reply holds ~100k of them, and snprintf + strtod costs
 * about a microsecond each, so the common cases are done by hand:
 *   - integers, and integral doubles/floats below 2^53 / 2^24, digit pairs
 *     from a table;
 *   - other values with a decimal exponent in range: for p significant digits
 *     (15..17 for doubles, 6..9 for floats) m = round(|v| * 10^k) with an
 *     exact power of ten, and the text "m e-k" is checked by computing
 *     m / 10^k (or m * 10^-k) in double: m and the power are exact, so the one
 *     correctly rounded operation gives exactly what strtod gives for the text.
 *     For floats strtof(text) == (float)strtod(text) unless the double lands
 *     exactly on a midpoint between two floats (double rounding); that case,
 *     and any value out of the exact range, falls back to snprintf + strtof /
 *     strtod, which is always right.
 * The digits found by hand may differ from printf's in a last-digit tie, but
 * the text always reads back to the same value, which is the contract.
 */
#include "lib/json_out.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JO_DBL_MIN_PREC 15  /* "%.15g" round-trips most doubles ... */
#define JO_DBL_MAX_PREC 17  /* ... "%.17g" every one */
#define JO_FLT_MIN_PREC 6   /* the same for float32 */
#define JO_FLT_MAX_PREC 9
#define JO_POW10_MAX 22     /* 10^22 is the largest power of ten exact in a double */
#define JO_FIXED_MIN_EXP -5 /* decimal exponents written without "e" ... */
#define JO_FIXED_MAX_EXP 20 /* ... from 0.00001 to 10^20 */
#define JO_DBL_INT_MAX 9007199254740992.0 /* 2^53: integral doubles below are exact integers */
#define JO_FLT_INT_MAX 16777216.0         /* 2^24, the same for floats */

static const double jo_pow10[JO_POW10_MAX + 1] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const char jo_digit_pairs[201] = "00010203040506070809"
					"10111213141516171819"
					"20212223242526272829"
					"30313233343536373839"
					"40414243444546474849"
					"50515253545556575859"
					"60616263646566676869"
					"70717273747576777879"
					"80818283848586878889"
					"90919293949596979899";

/* String byte classes: plain ASCII copied as is (0), escaped: control
 * characters, '"' and '\\' (1), or the start of a UTF-8 sequence to check (2). */
enum jo_class { JO_PLAIN = 0, JO_ESC = 1, JO_HIGH = 2 };

static const unsigned char jo_class_table[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* ---- structure ---------------------------------------------------------- */

void xs_json_init(struct xs_json *j, struct xs_buf *b)
{
	j->b = b;
	j->comma = 0;
	j->is_obj = 0;
	j->depth = 0;
	j->after_key = false;
	j->err = XS_OK;
}

enum xs_err xs_json_error(const struct xs_json *j)
{
	return j->err;
}

bool xs_json_complete(const struct xs_json *j)
{
	return j->err == XS_OK && j->depth == 0 && !j->after_key;
}

static enum xs_err jo_fail(struct xs_json *j, enum xs_err e)
{
	if (j->err == XS_OK)
		j->err = e;
	return j->err;
}

static enum xs_err jo_put(struct xs_json *j, const char *p, size_t n)
{
	enum xs_err rc = xs_buf_append(j->b, p, n);

	return rc ? jo_fail(j, rc) : XS_OK;
}

/*
 * Bookkeeping before a value: checks the value is allowed here and returns in
 * *sep the separator to write first ("," or nothing). Returns the error.
 */
static enum xs_err jo_pre(struct xs_json *j, size_t *sep)
{
	uint64_t bit = 1ull << j->depth;

	*sep = 0;
	if (j->err)
		return j->err;
	if (j->after_key) {
		j->after_key = false;
		return XS_OK;
	}
	if (j->is_obj & bit)
		return jo_fail(j, XS_ERR_ARG); /* a value where a key is needed */
	if (j->depth == 0)
		return XS_OK;
	if (j->comma & bit)
		*sep = 1;
	j->comma |= bit;
	return XS_OK;
}

static enum xs_err jo_begin(struct xs_json *j, bool obj)
{
	char tmp[2] = { ',', obj ? '{' : '[' };
	size_t sep;
	uint64_t bit;

	if (jo_pre(j, &sep))
		return j->err;
	if (j->depth >= XS_JSON_MAX_DEPTH)
		return jo_fail(j, XS_ERR_ARG);
	j->depth++;
	bit = 1ull << j->depth;
	j->comma &= ~bit;
	if (obj)
		j->is_obj |= bit;
	else
		j->is_obj &= ~bit;
	return jo_put(j, tmp + 1 - sep, 1 + sep);
}

static enum xs_err jo_end(struct xs_json *j, bool obj)
{
	uint64_t bit = 1ull << j->depth;
	char c = obj ? '}' : ']';

	if (j->err)
		return j->err;
	if (j->depth == 0 || j->after_key || !(j->is_obj & bit) != !obj)
		return jo_fail(j, XS_ERR_ARG);
	j->depth--;
	return jo_put(j, &c, 1);
}

enum xs_err xs_json_obj_begin(struct xs_json *j) { return jo_begin(j, true); }
enum xs_err xs_json_obj_end(struct xs_json *j) { return jo_end(j, true); }
enum xs_err xs_json_arr_begin(struct xs_json *j) { return jo_begin(j, false); }
enum xs_err xs_json_arr_end(struct xs_json *j) { return jo_end(j, false); }

/* ---- strings ------------------------------------------------------------ */

/*
 * Unicode table 3-7: the second byte's range depends on the lead byte, which
 * rules out overlongs (E0, F0), surrogates (ED) and code points past
 * U+10FFFF (F4) without decoding; C0, C1 and F5..FF never lead.
 */
size_t xs_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c, lo = 0x80, hi = 0xBF;
	size_t len;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return len;
}

/* Bytes the escape of control/quote/backslash byte c takes. */
static size_t jo_esc_len(unsigned char c)
{
	switch (c) {
	case '"': case '\\': case '\n': case '\r': case '\t': case '\b': case '\f':
		return 2;
	default:
		return 6;
	}
}

static size_t jo_esc_write(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e = 0;

	switch (c) {
	case '"': e = '"'; break;
	case '\\': e = '\\'; break;
	case '\n': e = 'n'; break;
	case '\r': e = 'r'; break;
	case '\t': e = 't'; break;
	case '\b': e = 'b'; break;
	case '\f': e = 'f'; break;
	default: break;
	}
	out[0] = '\\';
	if (e) {
		out[1] = e;
		return 2;
	}
	memcpy(out + 1, "u00", 3);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 15];
	return 6;
}

/* Exact length of the escaped, quoted form of s[0..len). */
static size_t jo_str_len(const unsigned char *s, size_t len)
{
	const unsigned char *cls = jo_class_table;
	size_t out = 2, i = 0;

	while (i < len) {
		size_t u;

		switch (cls[s[i]]) {
		case JO_PLAIN:
			out++;
			i++;
			break;
		case JO_ESC:
			out += jo_esc_len(s[i]);
			i++;
			break;
		default:
			u = xs_utf8_len(s + i, len - i);
			out += u ? u : 3; /* U+FFFD is 3 bytes */
			i += u ? u : 1;
			break;
		}
	}
	return out;
}

/* Writes the quoted form of s into out (room from jo_str_len); returns its length. */
static size_t jo_str_write(char *out, const unsigned char *s, size_t len)
{
	const unsigned char *cls = jo_class_table;
	size_t o = 0, i = 0;

	out[o++] = '"';
	while (i < len) {
		size_t start = i, u;

		while (i < len && cls[s[i]] == JO_PLAIN)
			i++;
		memcpy(out + o, s + start, i - start);
		o += i - start;
		if (i == len)
			break;
		if (cls[s[i]] == JO_ESC) {
			o += jo_esc_write(out + o, s[i]);
			i++;
			continue;
		}
		u = xs_utf8_len(s + i, len - i);
		if (u) {
			memcpy(out + o, s + i, u);
			o += u;
			i += u;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o++] = '"';
	return o;
}

/* Writes sep (0 or 1 comma), the quoted string and, if colon, a ':'. */
static enum xs_err jo_string(struct xs_json *j, size_t sep, const char *s, size_t len, bool colon)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t need = sep + jo_str_len(u, len) + colon;
	char *out;
	enum xs_err rc;

	rc = xs_buf_reserve(j->b, need);
	if (rc)
		return jo_fail(j, rc);
	out = j->b->data + j->b->len;
	if (sep)
		*out++ = ',';
	out += jo_str_write(out, u, len);
	if (colon)
		*out = ':';
	xs_buf_commit(j->b, need);
	return XS_OK;
}

enum xs_err xs_json_key_n(struct xs_json *j, const char *key, size_t len)
{
	uint64_t bit = 1ull << j->depth;
	size_t sep = 0;

	if (j->err)
		return j->err;
	if (!(j->is_obj & bit) || j->after_key || (!key && len))
		return jo_fail(j, XS_ERR_ARG);
	if (j->comma & bit)
		sep = 1;
	j->comma |= bit;
	j->after_key = true;
	return jo_string(j, sep, key ? key : "", len, true);
}

enum xs_err xs_json_key(struct xs_json *j, const char *key)
{
	return xs_json_key_n(j, key, key ? strlen(key) : 0);
}

enum xs_err xs_json_str_n(struct xs_json *j, const char *s, size_t len)
{
	size_t sep;

	if (!s && len)
		return jo_fail(j, XS_ERR_ARG);
	if (jo_pre(j, &sep))
		return j->err;
	return jo_string(j, sep, s ? s : "", len, false);
}

enum xs_err xs_json_str(struct xs_json *j, const char *s)
{
	if (!s)
		return xs_json_null(j);
	return xs_json_str_n(j, s, strlen(s));
}

/* ---- numbers ------------------------------------------------------------ */

/* Writes the decimal digits of v at buf; returns their count (1..20). */
static size_t jo_utoa(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = sizeof(tmp);

	while (v >= 100) {
		size_t d = (size_t)(v % 100) * 2;

		v /= 100;
		tmp[--n] = jo_digit_pairs[d + 1];
		tmp[--n] = jo_digit_pairs[d];
	}
	if (v >= 10) {
		size_t d = (size_t)v * 2;

		tmp[--n] = jo_digit_pairs[d + 1];
		tmp[--n] = jo_digit_pairs[d];
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(buf, tmp + n, sizeof(tmp) - n);
	return sizeof(tmp) - n;
}

size_t xs_json_fmt_uint(char *buf, uint64_t v)
{
	return jo_utoa(buf, v);
}

size_t xs_json_fmt_int(char *buf, int64_t v)
{
	if (v < 0) {
		buf[0] = '-';
		/* 0 - (uint64_t)v is |v| even for INT64_MIN */
		return 1 + jo_utoa(buf + 1, 0 - (uint64_t)v);
	}
	return jo_utoa(buf, (uint64_t)v);
}

/* Rounds s >= 0 to an integer, ties to even, without a libm call: below 2^52
 * adding and removing 2^52 leaves the rounded value; above, s is integral. */
static double jo_round(double s)
{
	volatile double big = 0x1p52; /* volatile: keep the two operations */

	if (s >= 0x1p52)
		return s;
	return (s + big) - big;
}

/* First guess of floor(log10(a)) for a > 0 from its binary exponent; off by
 * at most one (too small), which jo_digits() corrects. */
static int jo_log10_guess(double a)
{
	uint64_t bits;
	int e2;

	memcpy(&bits, &a, sizeof(bits));
	e2 = (int)((bits >> 52) & 0x7ff) - 1023;
	return (int)floor(e2 * 0.30102999566398120);
}

/*
 * Digits of a > 0 to p significant digits: *m (an integer, 10^(p-1) <= m <
 * 10^p) for the decimal exponent *e10 of the first digit (a guess on entry,
 * corrected on return), with a power of ten that is exact. Also returns in
 * *back the double the text "m e(e10-p+1)" reads as. False when the exponent
 * is out of the exact range.
 */
static bool jo_digits(double a, int p, double *m, int *e10, double *back)
{
	int e = *e10;

	for (int tries = 0; tries < 4; tries++) {
		int k = p - 1 - e;
		double s, r;

		if (k > JO_POW10_MAX || k < -JO_POW10_MAX)
			return false;
		s = k >= 0 ? a * jo_pow10[k] : a / jo_pow10[-k];
		r = jo_round(s);
		if (r >= jo_pow10[p]) {
			e++;
			continue;
		}
		if (r < jo_pow10[p - 1]) {
			e--;
			continue;
		}
		*m = r;
		*e10 = e;
		*back = k >= 0 ? r / jo_pow10[k] : r * jo_pow10[-k];
		return true;
	}
	return false;
}

/* Writes "-"? then mantissa digits m (a double holding an integer < 10^17)
 * with decimal exponent e10, in fixed or exponent notation. */
static size_t jo_layout(char *buf, bool neg, double m, int e10)
{
	uint64_t mi = (uint64_t)m;
	char d[20];
	size_t nd, o = 0;

	while (mi % 10 == 0 && mi >= 10)
		mi /= 10;
	nd = jo_utoa(d, mi);
	if (neg)
		buf[o++] = '-';
	if (e10 >= 0 && e10 <= JO_FIXED_MAX_EXP) {
		size_t ip = (size_t)e10 + 1; /* digits before the point */

		if (nd <= ip) {
			memcpy(buf + o, d, nd);
			o += nd;
			memset(buf + o, '0', ip - nd);
			return o + ip - nd;
		}
		memcpy(buf + o, d, ip);
		o += ip;
		buf[o++] = '.';
		memcpy(buf + o, d + ip, nd - ip);
		return o + nd - ip;
	}
	if (e10 < 0 && e10 >= JO_FIXED_MIN_EXP) {
		size_t z = (size_t)(-e10 - 1);

		memcpy(buf + o, "0.", 2);
		o += 2;
		memset(buf + o, '0', z);
		o += z;
		memcpy(buf + o, d, nd);
		return o + nd;
	}
	buf[o++] = d[0];
	if (nd > 1) {
		buf[o++] = '.';
		memcpy(buf + o, d + 1, nd - 1);
		o += nd - 1;
	}
	buf[o++] = 'e';
	if (e10 < 0) {
		buf[o++] = '-';
		return o + jo_utoa(buf + o, (uint64_t)-(int64_t)e10);
	}
	buf[o++] = '+';
	return o + jo_utoa(buf + o, (uint64_t)e10);
}

static size_t jo_null(char *buf)
{
	memcpy(buf, "null", 4);
	return 4;
}

/* The always-right path: printf at increasing precision, checked by strtod. */
static size_t jo_double_slow(char *buf, double v)
{
	char tmp[XS_JSON_NUM_LEN];
	int n = 0;

	for (int p = JO_DBL_MIN_PREC; p <= JO_DBL_MAX_PREC; p++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", p, v);
		if (p == JO_DBL_MAX_PREC || strtod(tmp, NULL) == v)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return jo_null(buf);
	memcpy(buf, tmp, (size_t)n);
	return (size_t)n;
}

size_t xs_json_fmt_double(char *buf, double v)
{
	double a = fabs(v), m, back;
	int e10;

	if (!isfinite(v))
		return jo_null(buf);
	if (a < JO_DBL_INT_MAX && a == floor(a)) {
		size_t o = 0;

		if (signbit(v))
			buf[o++] = '-';
		return o + jo_utoa(buf + o, (uint64_t)a);
	}
	e10 = jo_log10_guess(a);
	for (int p = JO_DBL_MIN_PREC; p <= JO_DBL_MAX_PREC; p++) {
		if (!jo_digits(a, p, &m, &e10, &back))
			break;
		if (back == a)
			return jo_layout(buf, v < 0, m, e10);
	}
	return jo_double_slow(buf, v);
}

static size_t jo_float_slow(char *buf, float v)
{
	char tmp[XS_JSON_NUM_LEN];
	int n = 0;

	for (int p = JO_FLT_MIN_PREC; p <= JO_FLT_MAX_PREC; p++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", p, (double)v);
		if (p == JO_FLT_MAX_PREC || strtof(tmp, NULL) == v)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return jo_null(buf);
	memcpy(buf, tmp, (size_t)n);
	return (size_t)n;
}

/*
 * True when the decimal value whose correctly rounded double is `back` reads
 * as float f: (float)back, unless back lies exactly halfway between two
 * floats, where the decimal could have been on either side (*unsure). For a
 * double in the normal float range, a midpoint is a double whose 29 fraction
 * bits below the float's 23 are exactly 1000...0 (also at a binade edge).
 */
static bool jo_float_back_ok(double back, float f, bool *unsure)
{
	uint64_t bits;

	*unsure = false;
	if (!(back <= FLT_MAX) || back < FLT_MIN)
		return false;
	memcpy(&bits, &back, sizeof(bits));
	if ((bits & 0x1FFFFFFFu) == 0x10000000u) {
		*unsure = true;
		return false;
	}
	return (float)back == f;
}

size_t xs_json_fmt_float(char *buf, float v)
{
	float af = fabsf(v);
	double a = (double)af, m, back;
	int e10;
	bool unsure;

	if (!isfinite(v))
		return jo_null(buf);
	if (a < JO_FLT_INT_MAX && a == floor(a)) {
		size_t o = 0;

		if (signbit(v))
			buf[o++] = '-';
		return o + jo_utoa(buf + o, (uint64_t)a);
	}
	e10 = jo_log10_guess(a);
	for (int p = JO_FLT_MIN_PREC; p <= JO_FLT_MAX_PREC; p++) {
		if (!jo_digits(a, p, &m, &e10, &back))
			break;
		if (jo_float_back_ok(back, af, &unsure))
			return jo_layout(buf, v < 0, m, e10);
		if (unsure)
			break;
	}
	return jo_float_slow(buf, v);
}

/* Appends sep (0 or 1 comma) and the number text made by fmt. */
static enum xs_err jo_number(struct xs_json *j, size_t sep, const char *text, size_t n)
{
	char tmp[XS_JSON_NUM_LEN + 1];

	tmp[0] = ',';
	memcpy(tmp + 1, text, n);
	return jo_put(j, tmp + 1 - sep, n + sep);
}

enum xs_err xs_json_int(struct xs_json *j, int64_t v)
{
	char tmp[XS_JSON_NUM_LEN];
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, tmp, xs_json_fmt_int(tmp, v));
}

enum xs_err xs_json_uint(struct xs_json *j, uint64_t v)
{
	char tmp[XS_JSON_NUM_LEN];
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, tmp, xs_json_fmt_uint(tmp, v));
}

enum xs_err xs_json_double(struct xs_json *j, double v)
{
	char tmp[XS_JSON_NUM_LEN];
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, tmp, xs_json_fmt_double(tmp, v));
}

enum xs_err xs_json_float(struct xs_json *j, float v)
{
	char tmp[XS_JSON_NUM_LEN];
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, tmp, xs_json_fmt_float(tmp, v));
}

enum xs_err xs_json_bool(struct xs_json *j, bool v)
{
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, v ? "true" : "false", v ? 4 : 5);
}

enum xs_err xs_json_null(struct xs_json *j)
{
	size_t sep;

	if (jo_pre(j, &sep))
		return j->err;
	return jo_number(j, sep, "null", 4);
}

enum xs_err xs_json_raw(struct xs_json *j, const char *json, size_t len)
{
	size_t sep;

	if (!json || !len)
		return jo_fail(j, XS_ERR_ARG);
	if (jo_pre(j, &sep))
		return j->err;
	if (sep && jo_put(j, ",", 1))
		return j->err;
	return jo_put(j, json, len);
}

enum xs_err xs_json_field_str(struct xs_json *j, const char *key, const char *s)
{
	enum xs_err rc = xs_json_key(j, key);

	return rc ? rc : xs_json_str(j, s);
}

enum xs_err xs_json_field_int(struct xs_json *j, const char *key, int64_t v)
{
	enum xs_err rc = xs_json_key(j, key);

	return rc ? rc : xs_json_int(j, v);
}

enum xs_err xs_json_field_uint(struct xs_json *j, const char *key, uint64_t v)
{
	enum xs_err rc = xs_json_key(j, key);

	return rc ? rc : xs_json_uint(j, v);
}

enum xs_err xs_json_field_double(struct xs_json *j, const char *key, double v)
{
	enum xs_err rc = xs_json_key(j, key);

	return rc ? rc : xs_json_double(j, v);
}

enum xs_err xs_json_field_bool(struct xs_json *j, const char *key, bool v)
{
	enum xs_err rc = xs_json_key(j, key);

	return rc ? rc : xs_json_bool(j, v);
}
