/*
 * json_walk.c - the table-driven JSON walk of json_walk.h.
 *
 * A stack of frames, one per known container, each in a phase of JSON's
 * grammar (what may come next). Skipped values only have their brackets
 * matched (one bit per level: array or object).
 */
#include <string.h>

#include "rrd/json_walk.h"

enum jw_phase {
	JW_KEY_OR_END,  /* after '{' */
	JW_KEY,         /* after ',' in an object */
	JW_COLON,       /* after a key */
	JW_VALUE,       /* after ':' */
	JW_ELEM_OR_END, /* after '[' */
	JW_ELEM,        /* after ',' in an array */
	JW_COMMA_OR_END /* after a member or an element */
};

void xs_json_walk_init(struct xs_json_walk *w, const struct xs_json_schema *schema, void *doc)
{
	memset(w, 0, sizeof(*w));
	w->schema = schema;
	w->doc = doc;
}

unsigned xs_json_walk_state(const struct xs_json_walk *w)
{
	return w->depth ? w->stack[w->depth - 1].state : w->schema->root;
}

unsigned xs_json_walk_parent_state(const struct xs_json_walk *w)
{
	return w->depth >= 2 ? w->stack[w->depth - 2].state : w->schema->root;
}

static struct xs_json_frame *walk_top(struct xs_json_walk *w)
{
	return w->depth ? &w->stack[w->depth - 1] : NULL;
}

static short walk_lookup(const struct xs_json_walk *w, unsigned parent, const char *key,
			 size_t key_len)
{
	const struct xs_json_schema *s = w->schema;

	for (size_t i = 0; i < s->nrules; i++) {
		const struct xs_json_rule *r = &s->rules[i];

		if (r->parent != parent)
			continue;
		if (!key ? !r->key : r->key && strlen(r->key) == key_len && !memcmp(r->key, key, key_len))
			return (short)i;
	}
	return -1;
}

static const char *walk_phase_expects(const struct xs_json_walk *w)
{
	const struct xs_json_frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;

	if (w->done)
		return "nothing more";
	if (w->skip_depth)
		return "the end of a skipped value";
	if (!f)
		return w->schema->is_array[w->schema->root] ? "'['" : "'{'";
	switch ((enum jw_phase)f->phase) {
	case JW_KEY_OR_END: return "a key or '}'";
	case JW_KEY: return "a key";
	case JW_COLON: return "':'";
	case JW_VALUE: return "a value";
	case JW_ELEM_OR_END: return "a value or ']'";
	case JW_ELEM: return "a value";
	case JW_COMMA_OR_END: return w->schema->is_array[f->state] ? "',' or ']'" : "',' or '}'";
	}
	return "?";
}

static enum xs_err walk_unexpected(const struct xs_json_walk *w, const struct xs_json_token *t,
				   uint64_t off, char *err)
{
	static const char *const punct[] = {
		[XS_JSON_OBJECT_BEGIN] = "'{'", [XS_JSON_OBJECT_END] = "'}'",
		[XS_JSON_ARRAY_BEGIN] = "'['",  [XS_JSON_ARRAY_END] = "']'",
		[XS_JSON_COLON] = "':'",        [XS_JSON_COMMA] = "','",
	};
	const char *where = w->depth ? w->schema->what[xs_json_walk_state(w)] : "the document";

	if (w->done)
		return xs_err_at(err, XS_ERR_PARSE, off, "unexpected data after the end of the document");
	if (t->kind == XS_JSON_STRING)
		return xs_err_at(err, XS_ERR_PARSE, off, "unexpected string in %s, expected %s", where,
				 walk_phase_expects(w));
	if (t->kind == XS_JSON_BARE)
		return xs_err_at(err, XS_ERR_PARSE, off, "unexpected '%.*s' in %s, expected %s",
				 t->len > 32 ? 32 : (int)t->len, t->text, where, walk_phase_expects(w));
	return xs_err_at(err, XS_ERR_PARSE, off, "unexpected %s in %s, expected %s", punct[t->kind],
			 where, walk_phase_expects(w));
}

/* A string's text with its escapes decoded (into w->text when it has any). */
static enum xs_err walk_text(struct xs_json_walk *w, const struct xs_json_token *t,
			     const char **s, size_t *n, uint64_t off, char *err)
{
	ptrdiff_t m;

	*s = t->text;
	*n = t->len;
	if (!t->escaped)
		return XS_OK;
	m = xs_json_unescape(t->text, t->len, w->text, sizeof(w->text));
	if (m < 0)
		return xs_err_at(err, XS_ERR_PARSE, off, "malformed escape in a string");
	*s = w->text;
	*n = (size_t)m;
	return XS_OK;
}

static enum xs_err walk_push(struct xs_json_walk *w, unsigned state, uint64_t off, char *err)
{
	const struct xs_json_schema *s = w->schema;
	struct xs_json_frame *f;

	if (w->depth == XS_JW_MAX_DEPTH)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "values nested too deep");
	f = &w->stack[w->depth++];
	f->state = (unsigned char)state;
	f->phase = s->is_array[state] ? JW_ELEM_OR_END : JW_KEY_OR_END;
	f->pending = -1;
	f->element = s->is_array[state] ? walk_lookup(w, state, NULL, 0) : -1;
	return s->enter ? s->enter(w->doc, state, off, err) : XS_OK;
}

static void walk_skip_push(struct xs_json_walk *w, bool array)
{
	unsigned level = w->skip_depth++;
	unsigned char bit = (unsigned char)(1u << (level % 8));

	if (array)
		w->skip_kinds[level / 8] |= bit;
	else
		w->skip_kinds[level / 8] &= (unsigned char)~bit;
}

/* A value (container or scalar) where the rule `ri` (-1: skip it) says it goes. */
static enum xs_err walk_value(struct xs_json_walk *w, short ri, const struct xs_json_token *t,
			      uint64_t off, char *err)
{
	const struct xs_json_schema *s = w->schema;
	struct xs_json_frame *f = walk_top(w);
	bool container = t->kind == XS_JSON_OBJECT_BEGIN || t->kind == XS_JSON_ARRAY_BEGIN;
	const struct xs_json_rule *r;
	const char *text;
	size_t n;
	enum xs_err rc;

	f->phase = JW_COMMA_OR_END;
	if (ri < 0) {
		if (container)
			walk_skip_push(w, t->kind == XS_JSON_ARRAY_BEGIN);
		return XS_OK;
	}
	r = &s->rules[ri];
	if (r->state != XS_JW_FIELD) {
		if (t->kind != (s->is_array[r->state] ? XS_JSON_ARRAY_BEGIN : XS_JSON_OBJECT_BEGIN))
			return xs_err_at(err, XS_ERR_PARSE, off, "expected %s", s->what[r->state]);
		return walk_push(w, r->state, off, err);
	}
	if (container) {
		if (r->key)
			return xs_err_at(err, XS_ERR_PARSE, off,
					 "expected a number or string as \"%s\"", r->key);
		return xs_err_at(err, XS_ERR_PARSE, off, "expected a number or string in %s",
				 s->what[f->state]);
	}
	rc = walk_text(w, t, &text, &n, off, err);
	return rc ? rc : s->field(w->doc, r->field, text, n, off, err);
}

static enum xs_err walk_close(struct xs_json_walk *w, uint64_t off, char *err)
{
	unsigned state = w->stack[w->depth - 1].state;
	enum xs_err rc = w->schema->leave ? w->schema->leave(w->doc, state, off, err) : XS_OK;

	if (--w->depth == 0)
		w->done = true;
	else
		w->stack[w->depth - 1].phase = JW_COMMA_OR_END;
	return rc;
}

static enum xs_err walk_skipped(struct xs_json_walk *w, const struct xs_json_token *t,
				uint64_t off, char *err)
{
	unsigned level;
	bool array;

	switch (t->kind) {
	case XS_JSON_OBJECT_BEGIN:
	case XS_JSON_ARRAY_BEGIN:
		if (w->skip_depth == XS_JW_MAX_SKIP_DEPTH)
			return xs_err_at(err, XS_ERR_TOO_LARGE, off, "values nested too deep");
		walk_skip_push(w, t->kind == XS_JSON_ARRAY_BEGIN);
		return XS_OK;
	case XS_JSON_OBJECT_END:
	case XS_JSON_ARRAY_END:
		level = w->skip_depth - 1;
		array = w->skip_kinds[level / 8] & (1u << (level % 8));
		if (array != (t->kind == XS_JSON_ARRAY_END))
			return xs_err_at(err, XS_ERR_PARSE, off, "unexpected '%c', expected '%c'",
					 array ? '}' : ']', array ? ']' : '}');
		w->skip_depth--;
		return XS_OK;
	default:
		return XS_OK;
	}
}

static enum xs_err walk_key(struct xs_json_walk *w, struct xs_json_frame *f,
			    const struct xs_json_token *t, uint64_t off, char *err)
{
	const char *key;
	size_t n;
	enum xs_err rc = walk_text(w, t, &key, &n, off, err);

	if (rc)
		return rc;
	if (t->kind == XS_JSON_BARE)
		w->bare_keys = true;
	f->pending = walk_lookup(w, f->state, key, n);
	f->phase = JW_COLON;
	return XS_OK;
}

static enum xs_err walk_token(struct xs_json_walk *w, const struct xs_json_token *t, uint64_t off,
			      char *err)
{
	struct xs_json_frame *f = walk_top(w);
	bool scalar = t->kind == XS_JSON_STRING || t->kind == XS_JSON_BARE;
	bool value = scalar || t->kind == XS_JSON_OBJECT_BEGIN || t->kind == XS_JSON_ARRAY_BEGIN;
	bool array;

	if (t->kind == XS_JSON_SPACE)
		return XS_OK;
	if (w->skip_depth)
		return walk_skipped(w, t, off, err);
	if (!f) {
		unsigned root = w->schema->root;

		if (w->done || t->kind != (w->schema->is_array[root] ? XS_JSON_ARRAY_BEGIN
								     : XS_JSON_OBJECT_BEGIN))
			return walk_unexpected(w, t, off, err);
		w->started = true;
		return walk_push(w, root, off, err);
	}
	array = w->schema->is_array[f->state];
	switch ((enum jw_phase)f->phase) {
	case JW_KEY_OR_END:
	case JW_KEY:
		if (scalar)
			return walk_key(w, f, t, off, err);
		if (t->kind == XS_JSON_OBJECT_END && f->phase == JW_KEY_OR_END)
			return walk_close(w, off, err);
		break;
	case JW_COLON:
		if (t->kind == XS_JSON_COLON) {
			f->phase = JW_VALUE;
			return XS_OK;
		}
		break;
	case JW_VALUE:
		if (value)
			return walk_value(w, f->pending, t, off, err);
		break;
	case JW_ELEM_OR_END:
	case JW_ELEM:
		if (value)
			return walk_value(w, f->element, t, off, err);
		if (t->kind == XS_JSON_ARRAY_END && f->phase == JW_ELEM_OR_END)
			return walk_close(w, off, err);
		break;
	case JW_COMMA_OR_END:
		if (t->kind == XS_JSON_COMMA) {
			f->phase = array ? JW_ELEM : JW_KEY;
			return XS_OK;
		}
		if (t->kind == (array ? XS_JSON_ARRAY_END : XS_JSON_OBJECT_END))
			return walk_close(w, off, err);
		break;
	}
	return walk_unexpected(w, t, off, err);
}

/* Where the fast path may run: an element of a known array is due. */
static bool walk_fast_due(const struct xs_json_walk *w)
{
	const struct xs_json_frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;

	return f && !w->skip_depth && f->element >= 0 &&
	       (f->phase == JW_ELEM || f->phase == JW_ELEM_OR_END);
}

ptrdiff_t xs_json_walk_parse(struct xs_json_walk *w, const char *buf, size_t len, uint64_t off,
			     bool eof, enum xs_err *code, char *err)
{
	const struct xs_json_schema *s = w->schema;
	const char *p = buf, *end = buf + len;

	for (;;) {
		struct xs_json_token t;
		ptrdiff_t n;
		uint64_t at;

		if (s->fast && walk_fast_due(w)) {
			const char *q;

			*code = XS_OK;
			q = s->fast(w->doc, xs_json_walk_state(w), p, end, off + (uint64_t)(p - buf),
				    code, err);
			if (*code)
				return -1;
			if (q != p)
				w->stack[w->depth - 1].phase = JW_ELEM;
			p = q;
		}
		at = off + (uint64_t)(p - buf);
		if (p == end && eof) {
			if (!w->done) {
				*code = xs_err_at(err, XS_ERR_TRUNCATED, at,
						  "unexpected end of input, expected %s",
						  walk_phase_expects(w));
				return -1;
			}
			*code = s->finish(w->doc, at, err);
			return *code ? -1 : (ptrdiff_t)len;
		}
		n = xs_json_next(p, (size_t)(end - p), eof, at, &t, code, err);
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
