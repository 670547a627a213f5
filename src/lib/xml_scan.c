/*
 * xml_scan.c - the XML tokenizer (see xml_scan.h).
 */
#include "lib/xml_scan.h"

#include <string.h>

static bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool xml_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (unsigned char)c >= 0x80;
}

static bool xml_name_char(char c)
{
	return xml_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Finds the string `close` in p..end, looking no further than cap bytes. */
static const char *xml_find(const char *p, const char *end, const char *close, size_t cap)
{
	size_t n = (size_t)(end - p);

	if (n > cap)
		n = cap;
	return memmem(p, n, close, strlen(close));
}

static ptrdiff_t xml_bad(enum xs_err *code, char *err, enum xs_err c, uint64_t off,
			 const char *what)
{
	*code = xs_err_at(err, c, off, "%s", what);
	return -1;
}

/* Markup that is not an element: <?...?>, <!--...-->, <![CDATA[...]]>. */
static ptrdiff_t xml_markup(const char *buf, size_t len, bool eof, uint64_t off,
			    struct xs_xml_token *tok, enum xs_err *code, char *err)
{
	const char *end = buf + len;
	const char *close, *q;
	size_t open_len, cap = XS_XML_MAX_MARKUP;

	if (!eof && ((len < 4 && !memcmp(buf, "<!--", len)) ||
		     (len < 9 && !memcmp(buf, "<![CDATA[", len))))
		return 0; /* could still be a comment or CDATA */
	if (buf[1] == '?') {
		close = "?>";
		open_len = 2;
	} else if (len >= 4 && !memcmp(buf, "<!--", 4)) {
		close = "-->";
		open_len = 4;
	} else if (len >= 9 && !memcmp(buf, "<![CDATA[", 9)) {
		close = "]]>";
		open_len = 9;
		cap = XS_XML_MAX_TEXT;
	} else {
		return xml_bad(code, err, XS_ERR_PARSE, off,
			       "unsupported markup (DOCTYPE and declarations are refused)");
	}
	q = xml_find(buf + open_len, end, close, cap + strlen(close));
	if (!q) {
		if ((size_t)(end - buf) > cap + open_len + strlen(close))
			return xml_bad(code, err, XS_ERR_TOO_LARGE, off,
				       "comment, CDATA or processing instruction too long");
		if (eof)
			return xml_bad(code, err, XS_ERR_TRUNCATED, off,
				       "input ended inside a comment, CDATA or processing instruction");
		return 0;
	}
	memset(tok, 0, sizeof(*tok));
	if (open_len == 9) {
		tok->kind = XS_XML_TEXT;
		tok->text = buf + open_len;
		tok->text_len = (size_t)(q - tok->text);
		tok->raw = true;
	} else {
		tok->kind = XS_XML_SPACE;
	}
	return q + strlen(close) - buf;
}

/* Skips attributes up to '>' or "/>" (quotes honoured). Returns the '>' or NULL. */
static const char *xml_tag_end(const char *p, const char *end, bool *bad)
{
	char quote = 0;

	*bad = false;
	for (; p < end; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else if (*p == '<')
				break;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '>') {
			return p;
		} else if (*p == '<') {
			break;
		}
	}
	*bad = p < end; /* a '<' inside a tag */
	return NULL;
}

/*
 * Every decision about a tag looks at its first XS_XML_MAX_TAG bytes only, so
 * the outcome (and any error) is the same however the input is split.
 */
static ptrdiff_t xml_tag(const char *buf, size_t len, bool eof, uint64_t off,
			 struct xs_xml_token *tok, enum xs_err *code, char *err)
{
	const char *lim = buf + (len < XS_XML_MAX_TAG ? len : XS_XML_MAX_TAG);
	const char *p = buf + 1;
	const char *gt, *name;
	bool closing = false, bad;

	if (p < lim && *p == '/') {
		closing = true;
		p++;
	}
	if (p == lim)
		goto incomplete;
	if (!xml_name_start(*p))
		return xml_bad(code, err, XS_ERR_PARSE, off, "expected an element name after '<'");
	name = p;
	while (p < lim && xml_name_char(*p))
		p++;
	if (p == lim)
		goto incomplete;
	if (!xml_space(*p) && *p != '/' && *p != '>')
		return xml_bad(code, err, XS_ERR_PARSE, off, "bad character in an element name");
	gt = xml_tag_end(p, lim, &bad);
	if (!gt) {
		if (bad)
			return xml_bad(code, err, XS_ERR_PARSE, off, "'<' inside a tag");
		goto incomplete;
	}
	memset(tok, 0, sizeof(*tok));
	tok->name = name;
	tok->name_len = (size_t)(p - name);
	if (closing) {
		while (p < gt && xml_space(*p))
			p++;
		if (p != gt)
			return xml_bad(code, err, XS_ERR_PARSE, off, "junk in a closing tag");
		tok->kind = XS_XML_CLOSE;
	} else {
		tok->kind = gt[-1] == '/' && gt - 1 >= p ? XS_XML_EMPTY : XS_XML_OPEN;
	}
	return gt + 1 - buf;

incomplete:
	if (len >= XS_XML_MAX_TAG)
		return xml_bad(code, err, XS_ERR_TOO_LARGE, off, "tag too long");
	if (eof)
		return xml_bad(code, err, XS_ERR_TRUNCATED, off, "input ended inside a tag");
	return 0;
}

static ptrdiff_t xml_text(const char *buf, size_t len, bool eof, uint64_t off,
			  struct xs_xml_token *tok, enum xs_err *code, char *err)
{
	const char *lt = memchr(buf, '<', len);
	size_t n = lt ? (size_t)(lt - buf) : len;
	size_t lead = 0;

	while (lead < n && xml_space(buf[lead]))
		lead++;
	memset(tok, 0, sizeof(*tok));
	if (lead) {
		/* White space is its own token, consumed as it comes however long, so
		 * a text token starts at the same byte wherever the input was split. */
		tok->kind = XS_XML_SPACE;
		return (ptrdiff_t)lead;
	}
	if (n > XS_XML_MAX_TEXT)
		return xml_bad(code, err, XS_ERR_TOO_LARGE, off, "text too long");
	if (!lt && !eof)
		return 0;
	tok->kind = XS_XML_TEXT;
	tok->text = buf;
	tok->text_len = n;
	return (ptrdiff_t)n;
}

ptrdiff_t xs_xml_next(const char *buf, size_t len, bool eof, uint64_t off,
		      struct xs_xml_token *tok, enum xs_err *code, char *err)
{
	if (len == 0)
		return eof ? xml_bad(code, err, XS_ERR_TRUNCATED, off, "unexpected end of input") : 0;
	if (buf[0] != '<')
		return xml_text(buf, len, eof, off, tok, code, err);
	if (len == 1)
		return eof ? xml_bad(code, err, XS_ERR_TRUNCATED, off, "input ended inside a tag") : 0;
	if (buf[1] == '?' || buf[1] == '!')
		return xml_markup(buf, len, eof, off, tok, code, err);
	return xml_tag(buf, len, eof, off, tok, code, err);
}

bool xs_xml_name_is(const struct xs_xml_token *tok, const char *name)
{
	size_t n = strlen(name);

	return tok->name_len == n && !memcmp(tok->name, name, n);
}

/* Appends the UTF-8 encoding of cp to out; returns bytes written or 0 if no room. */
static size_t xml_utf8(unsigned long cp, char *out, size_t room)
{
	if (cp < 0x80 && room >= 1) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800 && room >= 2) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000 && room >= 3) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp < 0x110000 && room >= 4) {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		return 4;
	}
	return 0;
}

/* Decodes "&...;" at s (n bytes available). Returns bytes of the reference, 0 if bad. */
static size_t xml_entity(const char *s, size_t n, char *out, size_t room, size_t *wrote)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *semi = memchr(s, ';', n < 12 ? n : 12);
	size_t len;

	if (!semi)
		return 0;
	len = (size_t)(semi - s - 1);
	if (len >= 2 && s[1] == '#') {
		unsigned long cp = 0;
		bool hex = s[2] == 'x';
		size_t i = hex ? 3 : 2;

		if (i > len)
			return 0;
		for (; s + i < semi; i++) {
			char c = s[i];
			unsigned d;

			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return 0;
			cp = cp * (hex ? 16 : 10) + d;
			if (cp > 0x10FFFF)
				return 0;
		}
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		*wrote = xml_utf8(cp, out, room);
		return *wrote ? (size_t)(semi - s + 1) : 0;
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == len && !memcmp(s + 1, named[i].name, len) && room) {
			*out = named[i].c;
			*wrote = 1;
			return len + 2;
		}
	}
	return 0;
}

ptrdiff_t xs_xml_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t plain = amp ? (size_t)(amp - (s + i)) : n - i;
		size_t used, wrote = 0;

		if (plain > cap - o)
			return -1;
		memcpy(out + o, s + i, plain);
		o += plain;
		i += plain;
		if (!amp)
			break;
		used = xml_entity(s + i, n - i, out + o, cap - o, &wrote);
		if (!used)
			return -1;
		i += used;
		o += wrote;
	}
	return (ptrdiff_t)o;
}

void xs_xml_trim(const char **s, size_t *n)
{
	while (*n && xml_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && xml_space((*s)[*n - 1]))
		(*n)--;
}
