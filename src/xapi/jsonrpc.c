/*
 * jsonrpc.c - JSON-RPC 1.0 and 2.0 as XAPI speaks it (see jsonrpc.h, SPEC §4.1, §4.2).
 *
 * A body is decoded in two steps: the whole document becomes one value tree
 * (object → STRUCT, array → ARRAY, string → STRING, an integer that fits
 * int64 → INT, any other number → DOUBLE, true/false → BOOL, null → NIL),
 * then the call or reply envelope is read from that tree. Punctuation and
 * bare words come from lib/json_scan; strings are scanned here, because
 * XAPI's strings can outgrow the scanner's XS_JSON_MAX_STRING and the whole
 * body is in memory anyway (capped by the HTTP layer).
 *
 * Invariants: recursion is bounded by XS_RPC_MAX_DEPTH arrays and objects,
 * the envelope's object included; every failure names a byte offset. The
 * encoder writes doubles so that they read back as doubles ("1.0", never
 * "1"), and NaN / Infinity / -Infinity as bare words, which this decoder
 * (like xapi's own lenient readers) accepts, though strict JSON has no
 * such values.
 */
#include "xapi/jsonrpc.h"

#include <inttypes.h>
#include <string.h>

#include "lib/json_scan.h"
#include "lib/num.h"

struct jr_dec {
	const char *body;
	size_t len;
	size_t pos;              /* next byte to read */
	struct xs_rpc_arena *a;
	char *err;
	struct xs_buf text;      /* scratch for decoding escaped strings */
};

static bool jr_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A string at d->pos (its opening quote): scans to the closing quote. */
static enum xs_err jr_string(struct jr_dec *d, struct xs_json_token *tok)
{
	size_t i;

	tok->kind = XS_JSON_STRING;
	tok->escaped = false;
	for (i = d->pos + 1; i < d->len; i++) {
		unsigned char c = (unsigned char)d->body[i];

		if (c == '"') {
			tok->text = d->body + d->pos + 1;
			tok->len = i - d->pos - 1;
			d->pos = i + 1;
			return XS_OK;
		}
		if (c == '\\') {
			tok->escaped = true;
			i++;
		} else if (c < 0x20) {
			return xs_err_at(d->err, XS_ERR_PARSE, i,
					 "control character 0x%02x inside a string", c);
		}
	}
	return xs_err_at(d->err, XS_ERR_TRUNCATED, d->pos, "unterminated string");
}

/* The next token that is not white space; *off is where it starts. */
static enum xs_err jr_token(struct jr_dec *d, struct xs_json_token *tok, size_t *off)
{
	for (;;) {
		enum xs_err rc = XS_OK;
		ptrdiff_t used;

		while (d->pos < d->len && jr_space(d->body[d->pos]))
			d->pos++;
		*off = d->pos;
		if (d->pos == d->len)
			return xs_err_at(d->err, XS_ERR_TRUNCATED, d->pos, "unexpected end of input");
		if (d->body[d->pos] == '"')
			return jr_string(d, tok);
		used = xs_json_next(d->body + d->pos, d->len - d->pos, true, d->pos, tok, &rc, d->err);
		if (used < 0)
			return rc;
		d->pos += (size_t)used;
		if (tok->kind != XS_JSON_SPACE)
			return XS_OK;
	}
}

/* The decoded text of a STRING (or BARE) token, in d->text (or the body itself). */
static enum xs_err jr_text(struct jr_dec *d, const struct xs_json_token *tok, size_t off,
			   const char **s, size_t *n)
{
	enum xs_err rc;
	ptrdiff_t got;

	if (!tok->escaped) {
		*s = tok->text;
		*n = tok->len;
		return XS_OK;
	}
	xs_buf_reset(&d->text);
	rc = xs_buf_reserve(&d->text, tok->len);
	if (rc != XS_OK)
		return xs_err_at(d->err, rc, off, "string too long");
	got = xs_json_unescape(tok->text, tok->len, d->text.data, tok->len);
	if (got < 0)
		return xs_err_at(d->err, XS_ERR_PARSE, off, "bad escape sequence in a string");
	*s = d->text.data;
	*n = (size_t)got;
	return XS_OK;
}

static enum xs_err jr_bare(struct jr_dec *d, const struct xs_json_token *tok, size_t off,
			   struct xs_rpc_value **out)
{
	int64_t i;
	double x;

	if (xs_json_text_is(tok, "true") || xs_json_text_is(tok, "false"))
		*out = xs_rpc_bool(d->a, xs_json_text_is(tok, "true"));
	else if (xs_json_text_is(tok, "null"))
		*out = xs_rpc_nil(d->a);
	else if (xs_num_i64_from_slice(tok->text, tok->len, &i))
		*out = xs_rpc_int(d->a, i);
	else if (xs_num_from_slice(tok->text, tok->len, &x))
		*out = xs_rpc_double(d->a, x);
	else
		return xs_err_at(d->err, XS_ERR_PARSE, off, "unexpected word '%.*s'",
				 tok->len > 40 ? 40 : (int)tok->len, tok->text);
	return XS_OK;
}

static enum xs_err jr_value(struct jr_dec *d, unsigned depth, struct xs_rpc_value **out);

static enum xs_err jr_object(struct jr_dec *d, unsigned depth, struct xs_rpc_value **out)
{
	struct xs_rpc_value *st = xs_rpc_struct(d->a);
	struct xs_json_token tok;
	enum xs_err rc;
	size_t off;

	*out = st;
	for (;;) {
		const char *key;
		size_t klen, idx;

		rc = jr_token(d, &tok, &off);
		if (rc != XS_OK)
			return rc;
		if (tok.kind == XS_JSON_OBJECT_END && st->u.st.n == 0)
			return XS_OK;
		if (tok.kind != XS_JSON_STRING && tok.kind != XS_JSON_BARE)
			return xs_err_at(d->err, XS_ERR_PARSE, off, "expected a member name");
		rc = jr_text(d, &tok, off, &key, &klen);
		if (rc != XS_OK)
			return rc;
		/* the key goes in first: the value may reuse d->text */
		idx = st->u.st.n;
		xs_rpc_struct_set(d->a, st, key, klen, NULL);
		rc = jr_token(d, &tok, &off);
		if (rc != XS_OK)
			return rc;
		if (tok.kind != XS_JSON_COLON)
			return xs_err_at(d->err, XS_ERR_PARSE, off, "expected ':' after a member name");
		rc = jr_value(d, depth + 1, &st->u.st.members[idx].value);
		if (rc != XS_OK)
			return rc;
		rc = jr_token(d, &tok, &off);
		if (rc != XS_OK)
			return rc;
		if (tok.kind == XS_JSON_OBJECT_END)
			return XS_OK;
		if (tok.kind != XS_JSON_COMMA)
			return xs_err_at(d->err, XS_ERR_PARSE, off, "expected ',' or '}'");
	}
}

static enum xs_err jr_array(struct jr_dec *d, unsigned depth, struct xs_rpc_value **out)
{
	struct xs_rpc_value *arr = xs_rpc_array(d->a);
	struct xs_json_token tok;
	enum xs_err rc;
	size_t off, save;

	*out = arr;
	save = d->pos;
	rc = jr_token(d, &tok, &off);
	if (rc != XS_OK)
		return rc;
	if (tok.kind == XS_JSON_ARRAY_END)
		return XS_OK;
	d->pos = save;
	for (;;) {
		struct xs_rpc_value *v;

		rc = jr_value(d, depth + 1, &v);
		if (rc != XS_OK)
			return rc;
		xs_rpc_array_push(d->a, arr, v);
		rc = jr_token(d, &tok, &off);
		if (rc != XS_OK)
			return rc;
		if (tok.kind == XS_JSON_ARRAY_END)
			return XS_OK;
		if (tok.kind != XS_JSON_COMMA)
			return xs_err_at(d->err, XS_ERR_PARSE, off, "expected ',' or ']'");
	}
}

/* One value; depth counts the arrays and objects around it. */
static enum xs_err jr_value(struct jr_dec *d, unsigned depth, struct xs_rpc_value **out)
{
	struct xs_json_token tok;
	enum xs_err rc;
	const char *s;
	size_t off, n;

	rc = jr_token(d, &tok, &off);
	if (rc != XS_OK)
		return rc;
	switch (tok.kind) {
	case XS_JSON_OBJECT_BEGIN:
	case XS_JSON_ARRAY_BEGIN:
		if (depth >= XS_RPC_MAX_DEPTH)
			return xs_err_at(d->err, XS_ERR_TOO_LARGE, off,
					 "arrays and objects nested deeper than %d", XS_RPC_MAX_DEPTH);
		if (tok.kind == XS_JSON_OBJECT_BEGIN)
			return jr_object(d, depth, out);
		return jr_array(d, depth, out);
	case XS_JSON_STRING:
		rc = jr_text(d, &tok, off, &s, &n);
		if (rc == XS_OK)
			*out = xs_rpc_string(d->a, s, n);
		return rc;
	case XS_JSON_BARE:
		return jr_bare(d, &tok, off, out);
	default:
		return xs_err_at(d->err, XS_ERR_PARSE, off, "unexpected '%c'", d->body[off]);
	}
}

/* The whole body as one value (an object, for both envelopes). */
static enum xs_err jr_document(const char *body, size_t len, struct xs_rpc_arena *a, char *err,
			       struct xs_rpc_value **out, size_t *start)
{
	struct jr_dec d;
	enum xs_err rc;

	memset(&d, 0, sizeof(d));
	d.body = body;
	d.len = len;
	d.a = a;
	d.err = err;
	xs_buf_init(&d.text, len + 1);
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		d.pos = 3;
	while (d.pos < d.len && jr_space(d.body[d.pos]))
		d.pos++;
	*start = d.pos;
	rc = jr_value(&d, 0, out);
	while (rc == XS_OK && d.pos < d.len && jr_space(d.body[d.pos]))
		d.pos++;
	if (rc == XS_OK && d.pos < d.len)
		rc = xs_err_at(err, XS_ERR_PARSE, d.pos, "junk after the document");
	if (rc == XS_OK && (*out)->type != XS_RPC_STRUCT)
		rc = xs_err_at(err, XS_ERR_PARSE, *start, "the body is not a JSON object");
	xs_buf_free(&d.text);
	return rc;
}

/* A member of st by name, the last one if repeated (non-const: the tree is ours). */
static struct xs_rpc_value *jr_member(struct xs_rpc_value *st, const char *key)
{
	size_t i, n = strlen(key);

	for (i = st->u.st.n; i-- > 0;) {
		struct xs_rpc_member *m = &st->u.st.members[i];

		if (m->key_len == n && memcmp(m->key, key, n) == 0)
			return m->value;
	}
	return NULL;
}

/* The "jsonrpc" member: absent → 1; "2.0" → 2; "1.0" → 1. */
static enum xs_err jr_version(struct xs_rpc_value *top, size_t off, char *err, int *version)
{
	struct xs_rpc_value *v = jr_member(top, "jsonrpc");

	*version = 1;
	if (v == NULL)
		return XS_OK;
	if (v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "2.0") == 0)
		*version = 2;
	else if (!(v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "1.0") == 0))
		return xs_err_at(err, XS_ERR_PARSE, off, "\"jsonrpc\" is not \"2.0\"");
	return XS_OK;
}

enum xs_err xs_jsonrpc_decode_call(const char *body, size_t len, struct xs_rpc_arena *a,
				   struct xs_rpc_call *call, char *err)
{
	struct xs_rpc_value *top, *m, *p;
	enum xs_err rc;
	size_t off;

	memset(call, 0, sizeof(*call));
	rc = jr_document(body, len, a, err, &top, &off);
	if (rc != XS_OK)
		return rc;
	rc = jr_version(top, off, err, &call->jsonrpc);
	if (rc != XS_OK)
		goto fail;
	m = jr_member(top, "method");
	if (m == NULL || m->type != XS_RPC_STRING || m->u.str.len == 0 ||
	    memchr(m->u.str.ptr, '\0', m->u.str.len) != NULL) {
		rc = xs_err_at(err, XS_ERR_PARSE, off, "no \"method\" string");
		goto fail;
	}
	call->method = m->u.str.ptr;
	p = jr_member(top, "params");
	if (p == NULL || p->type == XS_RPC_NIL) {
		p = xs_rpc_array(a);
	} else if (p->type != XS_RPC_ARRAY) {
		rc = xs_err_at(err, XS_ERR_PARSE, off, "\"params\" is not an array");
		goto fail;
	}
	call->params = p;
	call->id = jr_member(top, "id");
	return XS_OK;

fail:
	memset(call, 0, sizeof(*call));
	return rc;
}

/* A non-null "error" member → the error ARRAY, the code first. */
static enum xs_err jr_error(struct xs_rpc_arena *a, struct xs_rpc_value *e, size_t off, char *err,
			    struct xs_rpc_value **out)
{
	struct xs_rpc_value *arr, *msg, *data;
	size_t i;

	if (e->type == XS_RPC_ARRAY) { /* v1: ["CODE", params...] */
		*out = e;
		return XS_OK;
	}
	arr = xs_rpc_array(a);
	*out = arr;
	if (e->type == XS_RPC_STRING) {
		xs_rpc_array_push(a, arr, e);
		return XS_OK;
	}
	if (e->type != XS_RPC_STRUCT)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "\"error\" is neither null, an array nor an object");
	/* v2: {"code": 1, "message": "CODE", "data": [params...]} */
	msg = jr_member(e, "message");
	if (msg == NULL || msg->type == XS_RPC_NIL)
		msg = xs_rpc_string(a, "", 0);
	else if (msg->type != XS_RPC_STRING)
		return xs_err_at(err, XS_ERR_PARSE, off, "error \"message\" is not a string");
	xs_rpc_array_push(a, arr, msg);
	data = jr_member(e, "data");
	if (data == NULL || data->type == XS_RPC_NIL)
		return XS_OK;
	if (data->type != XS_RPC_ARRAY) {
		xs_rpc_array_push(a, arr, data);
		return XS_OK;
	}
	for (i = 0; i < data->u.arr.n; i++)
		xs_rpc_array_push(a, arr, data->u.arr.items[i]);
	return XS_OK;
}

enum xs_err xs_jsonrpc_decode_reply(const char *body, size_t len, struct xs_rpc_arena *a,
				    struct xs_rpc_reply *reply, char *err)
{
	struct xs_rpc_value *top, *res, *e;
	enum xs_err rc;
	size_t off;
	int version;

	memset(reply, 0, sizeof(*reply));
	rc = jr_document(body, len, a, err, &top, &off);
	if (rc != XS_OK)
		return rc;
	rc = jr_version(top, off, err, &version);
	if (rc != XS_OK)
		return rc;
	e = jr_member(top, "error");
	res = jr_member(top, "result");
	if (e != NULL && e->type != XS_RPC_NIL) {
		rc = jr_error(a, e, off, err, &reply->value);
		if (rc != XS_OK)
			reply->value = NULL;
		return rc;
	}
	if (res == NULL)
		return xs_err_at(err, XS_ERR_PARSE, off, "neither \"result\" nor \"error\"");
	reply->ok = true;
	reply->value = res;
	return XS_OK;
}

/* ---- encoding ---- */

static enum xs_err jw_string(struct xs_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	enum xs_err rc = xs_buf_append(out, "\"", 1);
	size_t i, run = 0;

	for (i = 0; rc == XS_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
		const char *rep;

		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\r')
			rep = "\\r";
		else if (c == '\t')
			rep = "\\t";
		else if (c < 0x20)
			rep = esc;
		else
			continue;
		rc = xs_buf_append(out, s + run, i - run);
		if (rc == XS_OK)
			rc = xs_buf_append_str(out, rep);
		run = i + 1;
	}
	if (rc == XS_OK)
		rc = xs_buf_append(out, s + run, n - run);
	if (rc == XS_OK)
		rc = xs_buf_append(out, "\"", 1);
	return rc;
}

/* A double as JSON: shortest round-trip form, made to look like a float. */
static enum xs_err jw_double(struct xs_buf *out, double x)
{
	char num[XS_NUM_FMT_LEN + 2];
	size_t n = xs_num_format(num, XS_NUM_FMT_LEN, x);
	bool integral = true;
	size_t i;

	for (i = 0; i < n; i++)
		if (num[i] != '-' && (num[i] < '0' || num[i] > '9'))
			integral = false;
	if (integral) {
		num[n++] = '.';
		num[n++] = '0';
	}
	return xs_buf_append(out, num, n);
}

static enum xs_err jw_value(struct xs_buf *out, const struct xs_rpc_value *v, unsigned depth)
{
	enum xs_err rc = XS_OK;
	size_t i;

	if (v == NULL)
		return XS_ERR_ARG;
	switch (v->type) {
	case XS_RPC_NIL:
		return xs_buf_append_str(out, "null");
	case XS_RPC_STRING:
	case XS_RPC_DATETIME:
		return jw_string(out, v->u.str.ptr, v->u.str.len);
	case XS_RPC_INT:
		return xs_buf_printf(out, "%" PRId64, v->u.i);
	case XS_RPC_BOOL:
		return xs_buf_append_str(out, v->u.b ? "true" : "false");
	case XS_RPC_DOUBLE:
		return jw_double(out, v->u.d);
	case XS_RPC_ARRAY:
		if (depth >= XS_RPC_MAX_DEPTH)
			return XS_ERR_TOO_LARGE; /* the decoder would refuse it */
		rc = xs_buf_append(out, "[", 1);
		for (i = 0; rc == XS_OK && i < v->u.arr.n; i++) {
			if (i > 0)
				rc = xs_buf_append(out, ",", 1);
			if (rc == XS_OK)
				rc = jw_value(out, v->u.arr.items[i], depth + 1);
		}
		if (rc == XS_OK)
			rc = xs_buf_append(out, "]", 1);
		return rc;
	case XS_RPC_STRUCT:
		if (depth >= XS_RPC_MAX_DEPTH)
			return XS_ERR_TOO_LARGE;
		rc = xs_buf_append(out, "{", 1);
		for (i = 0; rc == XS_OK && i < v->u.st.n; i++) {
			const struct xs_rpc_member *m = &v->u.st.members[i];

			if (i > 0)
				rc = xs_buf_append(out, ",", 1);
			if (rc == XS_OK)
				rc = jw_string(out, m->key, m->key_len);
			if (rc == XS_OK)
				rc = xs_buf_append(out, ":", 1);
			if (rc == XS_OK)
				rc = jw_value(out, m->value, depth + 1);
		}
		if (rc == XS_OK)
			rc = xs_buf_append(out, "}", 1);
		return rc;
	}
	return XS_ERR_ARG;
}

enum xs_err xs_jsonrpc_encode_value(struct xs_buf *out, const struct xs_rpc_value *v)
{
	return jw_value(out, v, 0);
}

enum xs_err xs_jsonrpc_encode_call_id(struct xs_buf *out, int version, const char *method,
				      const struct xs_rpc_value *params,
				      const struct xs_rpc_value *id)
{
	enum xs_err rc;
	size_t i;

	if ((version != 1 && version != 2) || method == NULL ||
	    (params != NULL && params->type != XS_RPC_ARRAY))
		return XS_ERR_ARG;
	rc = xs_buf_append_str(out, version == 2 ? "{\"jsonrpc\":\"2.0\",\"method\":" : "{\"method\":");
	if (rc == XS_OK)
		rc = jw_string(out, method, strlen(method));
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, ",\"params\":[");
	for (i = 0; rc == XS_OK && params != NULL && i < params->u.arr.n; i++) {
		if (i > 0)
			rc = xs_buf_append(out, ",", 1);
		if (rc == XS_OK)
			rc = jw_value(out, params->u.arr.items[i], 2);
	}
	if (rc == XS_OK)
		rc = xs_buf_append(out, "]", 1);
	if (rc == XS_OK && id != NULL) {
		rc = xs_buf_append_str(out, ",\"id\":");
		if (rc == XS_OK)
			rc = jw_value(out, id, 1);
	}
	if (rc == XS_OK)
		rc = xs_buf_append(out, "}", 1);
	return rc;
}

enum xs_err xs_jsonrpc_encode_call(struct xs_buf *out, int version, const char *method,
				   const struct xs_rpc_value *params, int64_t id)
{
	struct xs_rpc_value idv;

	memset(&idv, 0, sizeof(idv));
	idv.type = XS_RPC_INT;
	idv.u.i = id;
	return xs_jsonrpc_encode_call_id(out, version, method, params, &idv);
}

/* The v2 error object of a failed reply: message = the code, data = the rest. */
static enum xs_err jw_error_v2(struct xs_buf *out, const struct xs_rpc_value *e)
{
	const struct xs_rpc_value *first = xs_rpc_at(e, 0);
	bool coded = first != NULL && first->type == XS_RPC_STRING;
	size_t i, n = e != NULL && e->type == XS_RPC_ARRAY ? e->u.arr.n : 0;
	enum xs_err rc;

	rc = xs_buf_append_str(out, "{\"code\":1,\"message\":");
	if (rc == XS_OK)
		rc = coded ? jw_string(out, first->u.str.ptr, first->u.str.len)
			   : xs_buf_append_str(out, "\"\"");
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, ",\"data\":[");
	for (i = coded ? 1 : 0; rc == XS_OK && i < n; i++) {
		if (i > (coded ? 1u : 0u))
			rc = xs_buf_append(out, ",", 1);
		if (rc == XS_OK)
			rc = jw_value(out, e->u.arr.items[i], 3);
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "]}");
	return rc;
}

enum xs_err xs_jsonrpc_encode_reply(struct xs_buf *out, const struct xs_rpc_call *call,
				    const struct xs_rpc_reply *reply)
{
	int version = call != NULL && call->jsonrpc == 1 ? 1 : 2;
	const struct xs_rpc_value *v = reply->value;
	enum xs_err rc;

	if (!reply->ok && v != NULL && v->type != XS_RPC_ARRAY)
		return XS_ERR_ARG;
	rc = xs_buf_append_str(out, version == 2 ? "{\"jsonrpc\":\"2.0\"," : "{");
	if (rc != XS_OK)
		return rc;
	if (reply->ok) {
		rc = xs_buf_append_str(out, "\"result\":");
		if (rc == XS_OK)
			rc = v != NULL ? jw_value(out, v, 1) : xs_buf_append_str(out, "\"\"");
		if (rc == XS_OK && version == 1)
			rc = xs_buf_append_str(out, ",\"error\":null");
	} else if (version == 2) {
		rc = xs_buf_append_str(out, "\"error\":");
		if (rc == XS_OK)
			rc = jw_error_v2(out, v);
	} else {
		rc = xs_buf_append_str(out, "\"result\":null,\"error\":");
		if (rc == XS_OK)
			rc = v != NULL ? jw_value(out, v, 1) : xs_buf_append_str(out, "[]");
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, ",\"id\":");
	if (rc == XS_OK)
		rc = call != NULL && call->id != NULL ? jw_value(out, call->id, 1)
						      : xs_buf_append_str(out, "null");
	if (rc == XS_OK)
		rc = xs_buf_append(out, "}", 1);
	return rc;
}
