/*
 * xml_walk.c - the rule-driven XML walk (see xml_walk.h).
 */
#include "rrd/xml_walk.h"

#include <string.h>

#define XW_SHOW_NAME 64 /* bytes of an unexpected name quoted in a message */

void xs_xml_walk_init(struct xs_xml_walk *w, const struct xs_xml_schema *schema, void *doc)
{
	memset(w, 0, sizeof(*w));
	w->schema = schema;
	w->doc = doc;
}

static const struct xs_xml_rule *walk_top(const struct xs_xml_walk *w)
{
	return w->depth ? &w->schema->rules[w->stack[w->depth - 1]] : NULL;
}

unsigned xs_xml_walk_state(const struct xs_xml_walk *w)
{
	const struct xs_xml_rule *top = walk_top(w);

	return top ? top->state : 0;
}

static const char *walk_expected(const struct xs_xml_walk *w)
{
	const struct xs_xml_rule *top = walk_top(w);

	if (w->done)
		return "the end of input";
	if (w->skip_depth)
		return "the end of an unknown element";
	if (top && top->state == XS_XW_FIELD)
		return "text or its closing tag";
	return w->schema->expected[xs_xml_walk_state(w)];
}

static enum xs_err walk_unexpected(const struct xs_xml_walk *w, const struct xs_xml_token *t,
				   uint64_t off, char *err)
{
	const struct xs_xml_rule *top = walk_top(w);
	size_t n = t->name_len > XW_SHOW_NAME ? XW_SHOW_NAME : t->name_len;

	if (t->kind == XS_XML_TEXT)
		return xs_err_at(err, XS_ERR_PARSE, off, "expected %s, found text", walk_expected(w));
	if (top && top->state == XS_XW_FIELD)
		return xs_err_at(err, XS_ERR_PARSE, off, "expected </%s>, found %s%.*s>", top->name,
				 t->kind == XS_XML_CLOSE ? "</" : "<", (int)n, t->name);
	return xs_err_at(err, XS_ERR_PARSE, off, "expected %s, found %s%.*s>", walk_expected(w),
			 t->kind == XS_XML_CLOSE ? "</" : "<", (int)n, t->name);
}

static enum xs_err walk_open(struct xs_xml_walk *w, const struct xs_xml_token *t, uint64_t off,
			     char *err)
{
	const struct xs_xml_schema *s = w->schema;
	unsigned state = xs_xml_walk_state(w);

	if (w->skip_depth) {
		if (++w->skip_depth > XS_XW_MAX_SKIP_DEPTH)
			return xs_err_at(err, XS_ERR_TOO_LARGE, off, "elements nested too deep");
		return XS_OK;
	}
	if (w->done || state == XS_XW_FIELD)
		return walk_unexpected(w, t, off, err);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct xs_xml_rule *r = &s->rules[i];

		if (r->parent != state || !xs_xml_name_is(t, r->name))
			continue;
		if (w->depth == XS_XW_MAX_DEPTH)
			return xs_err_at(err, XS_ERR_TOO_LARGE, off, "elements nested too deep");
		w->stack[w->depth++] = (unsigned short)i;
		if (r->state == XS_XW_FIELD) {
			w->field_text = false;
			return XS_OK;
		}
		return s->enter ? s->enter(w->doc, r->state, off, err) : XS_OK;
	}
	if (w->depth == 0)
		return walk_unexpected(w, t, off, err); /* the root must be known */
	w->skip_depth = 1;
	return XS_OK;
}

static enum xs_err walk_close(struct xs_xml_walk *w, const struct xs_xml_token *t, uint64_t off,
			      char *err)
{
	const struct xs_xml_rule *top = walk_top(w);
	enum xs_err rc = XS_OK;

	if (w->skip_depth) {
		w->skip_depth--;
		return XS_OK;
	}
	if (!top || !xs_xml_name_is(t, top->name))
		return walk_unexpected(w, t, off, err);
	if (top->state == XS_XW_FIELD) {
		if (!w->field_text)
			rc = w->schema->field(w->doc, top->field, "", 0, off, err);
	} else if (w->schema->leave) {
		rc = w->schema->leave(w->doc, top->state, off, err);
	}
	w->depth--;
	if (w->depth == 0)
		w->done = true;
	return rc;
}

static enum xs_err walk_text(struct xs_xml_walk *w, const struct xs_xml_token *t, uint64_t off,
			     char *err)
{
	const struct xs_xml_rule *top = walk_top(w);
	const char *s = t->text;
	size_t n = t->text_len;

	if (w->skip_depth)
		return XS_OK;
	if (!top || top->state != XS_XW_FIELD || w->field_text)
		return walk_unexpected(w, t, off, err);
	w->field_text = true;
	if (!t->raw && memchr(s, '&', n)) {
		ptrdiff_t m = xs_xml_unescape(s, n, w->text, sizeof(w->text));

		if (m < 0)
			return xs_err_at(err, XS_ERR_PARSE, off, "bad entity in <%s>", top->name);
		s = w->text;
		n = (size_t)m;
	}
	xs_xml_trim(&s, &n);
	return w->schema->field(w->doc, top->field, s, n, off, err);
}

static enum xs_err walk_token(struct xs_xml_walk *w, const struct xs_xml_token *t, uint64_t off,
			      char *err)
{
	enum xs_err rc;

	switch (t->kind) {
	case XS_XML_SPACE:
		return XS_OK;
	case XS_XML_TEXT:
		return walk_text(w, t, off, err);
	case XS_XML_OPEN:
		return walk_open(w, t, off, err);
	case XS_XML_CLOSE:
		return walk_close(w, t, off, err);
	case XS_XML_EMPTY:
		rc = walk_open(w, t, off, err);
		return rc ? rc : walk_close(w, t, off, err);
	}
	return XS_OK;
}

ptrdiff_t xs_xml_walk_parse(struct xs_xml_walk *w, const char *buf, size_t len, uint64_t off,
			    bool eof, enum xs_err *code, char *err)
{
	const struct xs_xml_schema *s = w->schema;
	const char *p = buf, *end = buf + len;

	if (off == 0 && len && buf[0] == '\xEF') {
		/* a UTF-8 byte-order mark may open the document */
		if (len < 3 && !eof && !memcmp(buf, "\xEF\xBB\xBF", len))
			return 0;
		if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
			p += 3;
	}
	for (;;) {
		struct xs_xml_token t;
		ptrdiff_t n;
		uint64_t at;

		if (s->fast && !w->skip_depth) {
			*code = XS_OK;
			p = s->fast(w->doc, xs_xml_walk_state(w), p, end, off + (uint64_t)(p - buf),
				    code, err);
			if (*code)
				return -1;
		}
		at = off + (uint64_t)(p - buf);
		if (p == end && eof) {
			if (!w->done) {
				*code = xs_err_at(err, XS_ERR_TRUNCATED, at,
						  "unexpected end of input, expected %s",
						  walk_expected(w));
				return -1;
			}
			*code = s->finish(w->doc, at, err);
			return *code ? -1 : (ptrdiff_t)len;
		}
		n = xs_xml_next(p, (size_t)(end - p), eof, at, &t, code, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return p - buf;
		*code = walk_token(w, &t, at, err);
		if (*code)
			return -1;
		p += n;
	}
}
