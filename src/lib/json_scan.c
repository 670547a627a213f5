/*
 * json_scan.c - the lenient JSON tokenizer of json_scan.h.
 *
 * Every decision looks at no more than the first cap + 2 bytes of a token, in
 * order, so a token is accepted or refused, with the same message, wherever
 * the buffer happens to end.
 */
#include <string.h>

#include "lib/json_scan.h"

static bool json_is_bare(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.' || c == '_' || c == '$';
}

static bool json_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static ptrdiff_t json_fail(enum xs_err *code, char *err, enum xs_err e, uint64_t off,
			   const char *what)
{
	*code = xs_err_at(err, e, off, "%s", what);
	return -1;
}

static ptrdiff_t json_string(const char *buf, size_t len, bool eof, uint64_t off,
			     struct xs_json_token *tok, enum xs_err *code, char *err)
{
	const size_t limit = XS_JSON_MAX_STRING + 2; /* both quotes */
	size_t n = len < limit ? len : limit;

	tok->escaped = false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '"') {
			tok->kind = XS_JSON_STRING;
			tok->text = buf + 1;
			tok->len = i - 1;
			return (ptrdiff_t)(i + 1);
		}
		if (c == '\\') {
			tok->escaped = true;
			i++;
		} else if (c < 0x20) {
			*code = xs_err_at(err, XS_ERR_PARSE, off + i,
					  "control character 0x%02x inside a string", c);
			return -1;
		}
	}
	if (n == limit) {
		*code = xs_err_at(err, XS_ERR_TOO_LARGE, off, "string longer than %d bytes",
				  XS_JSON_MAX_STRING);
		return -1;
	}
	if (eof)
		return json_fail(code, err, XS_ERR_TRUNCATED, off, "unterminated string");
	return 0;
}

static ptrdiff_t json_bare(const char *buf, size_t len, bool eof, uint64_t off,
			   struct xs_json_token *tok, enum xs_err *code, char *err)
{
	const size_t limit = XS_JSON_MAX_BARE + 1;
	size_t n = len < limit ? len : limit;
	size_t i = 0;

	while (i < n && json_is_bare((unsigned char)buf[i]))
		i++;
	if (i == limit) {
		*code = xs_err_at(err, XS_ERR_TOO_LARGE, off, "unquoted word longer than %d bytes",
				  XS_JSON_MAX_BARE);
		return -1;
	}
	if (i == len && !eof)
		return 0;
	tok->kind = XS_JSON_BARE;
	tok->text = buf;
	tok->len = i;
	tok->escaped = false;
	return (ptrdiff_t)i;
}

/* The UTF-8 byte-order mark, only at stream offset 0. Returns 3, 0 (need more) or -1. */
static ptrdiff_t json_bom(const char *buf, size_t len, bool eof)
{
	static const char bom[3] = { '\xEF', '\xBB', '\xBF' };
	size_t n = len < 3 ? len : 3;

	if (memcmp(buf, bom, n))
		return -1;
	if (n == 3)
		return 3;
	return eof ? -1 : 0;
}

ptrdiff_t xs_json_next(const char *buf, size_t len, bool eof, uint64_t off,
		       struct xs_json_token *tok, enum xs_err *code, char *err)
{
	unsigned char c;
	size_t i = 0;

	if (len == 0) {
		if (eof)
			return json_fail(code, err, XS_ERR_TRUNCATED, off, "unexpected end of input");
		return 0;
	}
	c = (unsigned char)buf[0];
	tok->text = NULL;
	tok->len = 0;
	tok->escaped = false;
	switch (c) {
	case '{': tok->kind = XS_JSON_OBJECT_BEGIN; return 1;
	case '}': tok->kind = XS_JSON_OBJECT_END; return 1;
	case '[': tok->kind = XS_JSON_ARRAY_BEGIN; return 1;
	case ']': tok->kind = XS_JSON_ARRAY_END; return 1;
	case ':': tok->kind = XS_JSON_COLON; return 1;
	case ',': tok->kind = XS_JSON_COMMA; return 1;
	case '"': return json_string(buf, len, eof, off, tok, code, err);
	default: break;
	}
	if (json_is_space(c)) {
		while (i < len && i < XS_JSON_MAX_SPACE && json_is_space((unsigned char)buf[i]))
			i++;
		tok->kind = XS_JSON_SPACE;
		return (ptrdiff_t)i;
	}
	if (json_is_bare(c))
		return json_bare(buf, len, eof, off, tok, code, err);
	if (off == 0 && c == 0xEF) {
		ptrdiff_t r = json_bom(buf, len, eof);

		if (r >= 0) {
			tok->kind = XS_JSON_SPACE;
			return r;
		}
	}
	if (c >= 0x21 && c < 0x7F)
		*code = xs_err_at(err, XS_ERR_PARSE, off, "unexpected character '%c'", c);
	else
		*code = xs_err_at(err, XS_ERR_PARSE, off, "unexpected byte 0x%02x", c);
	return -1;
}

bool xs_json_text_is(const struct xs_json_token *tok, const char *word)
{
	size_t n = strlen(word);

	return (tok->kind == XS_JSON_STRING || tok->kind == XS_JSON_BARE) && tok->len == n &&
	       memcmp(tok->text, word, n) == 0;
}

/* Four hex digits at s, or -1. */
static long json_hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Writes code point cp as UTF-8 at out + *o (cap bytes in all); false if it does not fit. */
static bool json_put_utf8(char *out, size_t cap, size_t *o, unsigned long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (cap - *o < n)
		return false;
	memcpy(out + *o, b, n);
	*o += n;
	return true;
}

/* Decodes "\uXXXX" (and a following low surrogate) at s[*i..n); advances *i. */
static bool json_unicode(const char *s, size_t n, size_t *i, unsigned long *cp)
{
	long hi, lo;

	if (n - *i < 6 || (hi = json_hex4(s + *i + 2)) < 0)
		return false;
	*i += 6;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return false; /* a low surrogate alone */
	if (hi < 0xD800 || hi > 0xDBFF) {
		*cp = (unsigned long)hi;
		return true;
	}
	if (n - *i < 6 || s[*i] != '\\' || s[*i + 1] != 'u' || (lo = json_hex4(s + *i + 2)) < 0 ||
	    lo < 0xDC00 || lo > 0xDFFF)
		return false;
	*i += 6;
	*cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
	return true;
}

ptrdiff_t xs_json_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		char c = s[i];
		unsigned long cp;

		if (c != '\\') {
			if (o == cap)
				return -1;
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		switch (s[i + 1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!json_unicode(s, n, &i, &cp) || !json_put_utf8(out, cap, &o, cp))
				return -1;
			continue;
		default:
			return -1;
		}
		if (o == cap)
			return -1;
		out[o++] = (char)cp;
		i += 2;
	}
	return (ptrdiff_t)o;
}
