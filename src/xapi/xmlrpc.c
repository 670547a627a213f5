/*
 * xmlrpc.c - XML-RPC as XAPI speaks it (see xmlrpc.h, SPEC §4.1, §4.2).
 *
 * The decoder is a recursive descent over a whole body. Tags, comments,
 * processing instructions and CDATA come from lib/xml_scan; character data is
 * read here, because xapi writes strings far longer than the scanner's
 * XS_XML_MAX_TEXT (a VM's last_booted_record runs to several kilobytes) and
 * the whole body is already in memory, capped by the HTTP layer.
 *
 * Invariants: recursion is bounded by XS_RPC_MAX_DEPTH arrays and structs
 * (the reply envelope's struct counts too); every failure names a byte
 * offset; decoded text never holds characters below 0x20 other than TAB, LF
 * and CR, because XML 1.0 cannot carry them and the encoder drops them (as
 * xapi does), so that encode(decode(x)) always decodes to the same tree.
 */
#include "xapi/xmlrpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/num.h"
#include "lib/xml_scan.h"

#define XR_NAME_SHOWN 40 /* bytes of an element name quoted in an error */

struct xr_dec {
	const char *body;
	size_t len;
	size_t pos;               /* next byte to read */
	struct xs_rpc_arena *a;
	char *err;
	struct xs_buf text;       /* character data of the current element, decoded */
	bool blank;               /* text holds white space only */
	size_t text_off;          /* offset of the first non-blank character data */
};

struct xr_tok {
	enum xs_xml_kind kind;    /* OPEN, CLOSE or EMPTY */
	const char *name;
	size_t name_len;
	size_t off;               /* offset of the '<' */
};

static bool xr_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool xr_is(const struct xr_tok *t, enum xs_xml_kind kind, const char *name)
{
	size_t n = strlen(name);

	return t->kind == kind && t->name_len == n && memcmp(t->name, name, n) == 0;
}

static int xr_shown(const struct xr_tok *t)
{
	return t->name_len > XR_NAME_SHOWN ? XR_NAME_SHOWN : (int)t->name_len;
}

/* Appends character data s[0..n) at offset off to d->text: entities decoded
 * unless raw, and the control characters XML cannot carry dropped. */
static enum xs_err xr_text_add(struct xr_dec *d, const char *s, size_t n, bool raw, size_t off)
{
	enum xs_err rc;
	char *out;
	size_t i, o;
	ptrdiff_t got;

	if (n == 0)
		return XS_OK;
	rc = xs_buf_reserve(&d->text, n);
	if (rc != XS_OK)
		return xs_err_at(d->err, rc, off, "text too long");
	out = d->text.data + d->text.len;
	if (raw || memchr(s, '&', n) == NULL) {
		memcpy(out, s, n);
		got = (ptrdiff_t)n;
	} else {
		got = xs_xml_unescape(s, n, out, n);
		if (got < 0) {
			const char *amp = memchr(s, '&', n);

			return xs_err_at(d->err, XS_ERR_PARSE, off + (size_t)(amp - s),
					 "bad entity or character reference");
		}
	}
	for (i = 0, o = 0; i < (size_t)got; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			continue;
		if (d->blank && !xr_space((char)c)) {
			d->blank = false;
			d->text_off = off;
		}
		out[o++] = (char)c;
	}
	xs_buf_commit(&d->text, o);
	return XS_OK;
}

/*
 * Reads character data, comments and processing instructions up to the next
 * tag, which it consumes and returns in *t. The text is left in d->text.
 */
static enum xs_err xr_content(struct xr_dec *d, struct xr_tok *t)
{
	xs_buf_reset(&d->text);
	d->blank = true;
	d->text_off = d->pos;
	for (;;) {
		struct xs_xml_token tok;
		enum xs_err rc = XS_OK;
		size_t off = d->pos;
		ptrdiff_t used;

		if (off == d->len)
			return xs_err_at(d->err, XS_ERR_TRUNCATED, off, "unexpected end of input");
		if (d->body[off] != '<') {
			const char *lt = memchr(d->body + off, '<', d->len - off);
			size_t n = lt != NULL ? (size_t)(lt - (d->body + off)) : d->len - off;

			rc = xr_text_add(d, d->body + off, n, false, off);
			if (rc != XS_OK)
				return rc;
			d->pos += n;
			continue;
		}
		used = xs_xml_next(d->body + off, d->len - off, true, off, &tok, &rc, d->err);
		if (used < 0)
			return rc;
		d->pos += (size_t)used;
		if (tok.kind == XS_XML_SPACE)
			continue;
		if (tok.kind == XS_XML_TEXT) {
			rc = xr_text_add(d, tok.text, tok.text_len, tok.raw, off);
			if (rc != XS_OK)
				return rc;
			continue;
		}
		t->kind = tok.kind;
		t->name = tok.name;
		t->name_len = tok.name_len;
		t->off = off;
		return XS_OK;
	}
}

/* The next tag, with nothing but white space, comments or PIs before it. */
static enum xs_err xr_tag(struct xr_dec *d, struct xr_tok *t)
{
	enum xs_err rc = xr_content(d, t);

	if (rc != XS_OK)
		return rc;
	if (!d->blank)
		return xs_err_at(d->err, XS_ERR_PARSE, d->text_off, "unexpected text before <%s%.*s%s>",
				 t->kind == XS_XML_CLOSE ? "/" : "", xr_shown(t), t->name,
				 t->kind == XS_XML_EMPTY ? "/" : "");
	return XS_OK;
}

/* The next tag must be exactly <name> (kind OPEN), </name> (CLOSE) or <name/>. */
static enum xs_err xr_expect(struct xr_dec *d, enum xs_xml_kind kind, const char *name)
{
	struct xr_tok t;
	enum xs_err rc = xr_tag(d, &t);

	if (rc != XS_OK)
		return rc;
	if (!xr_is(&t, kind, name))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <%s%s%s>, found <%s%.*s%s>",
				 kind == XS_XML_CLOSE ? "/" : "", name, kind == XS_XML_EMPTY ? "/" : "",
				 t.kind == XS_XML_CLOSE ? "/" : "", xr_shown(&t), t.name,
				 t.kind == XS_XML_EMPTY ? "/" : "");
	return XS_OK;
}

/* Character data up to </name> (open is <name>, or <name/> for an empty text). */
static enum xs_err xr_scalar(struct xr_dec *d, const struct xr_tok *open)
{
	struct xr_tok t;
	enum xs_err rc;

	if (open->kind == XS_XML_EMPTY) {
		xs_buf_reset(&d->text);
		d->blank = true;
		return XS_OK;
	}
	rc = xr_content(d, &t);
	if (rc != XS_OK)
		return rc;
	if (t.kind != XS_XML_CLOSE || t.name_len != open->name_len ||
	    memcmp(t.name, open->name, t.name_len) != 0)
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected </%.*s> (no element inside)",
				 xr_shown(open), open->name);
	return XS_OK;
}

static const char *xr_text_ptr(const struct xr_dec *d)
{
	return d->text.data != NULL ? d->text.data : "";
}

static enum xs_err xr_value(struct xr_dec *d, const struct xr_tok *open, unsigned depth,
			    struct xs_rpc_value **out);

static enum xs_err xr_struct(struct xr_dec *d, const struct xr_tok *open, unsigned depth,
			     struct xs_rpc_value **out)
{
	struct xs_rpc_value *st = xs_rpc_struct(d->a);
	struct xr_tok t;
	enum xs_err rc;

	*out = st;
	if (open->kind == XS_XML_EMPTY)
		return XS_OK;
	for (;;) {
		size_t idx;

		rc = xr_tag(d, &t);
		if (rc != XS_OK)
			return rc;
		if (xr_is(&t, XS_XML_CLOSE, "struct"))
			return XS_OK;
		if (!xr_is(&t, XS_XML_OPEN, "member"))
			return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <member> or </struct>");
		rc = xr_tag(d, &t);
		if (rc != XS_OK)
			return rc;
		if (!xr_is(&t, XS_XML_OPEN, "name") && !xr_is(&t, XS_XML_EMPTY, "name"))
			return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <name> in <member>");
		rc = xr_scalar(d, &t);
		if (rc != XS_OK)
			return rc;
		/* the key goes in first: parsing the value reuses d->text */
		idx = st->u.st.n;
		xs_rpc_struct_set(d->a, st, xr_text_ptr(d), d->text.len, NULL);
		rc = xr_tag(d, &t);
		if (rc != XS_OK)
			return rc;
		if (!xr_is(&t, XS_XML_OPEN, "value") && !xr_is(&t, XS_XML_EMPTY, "value"))
			return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <value> after </name>");
		rc = xr_value(d, &t, depth + 1, &st->u.st.members[idx].value);
		if (rc != XS_OK)
			return rc;
		rc = xr_expect(d, XS_XML_CLOSE, "member");
		if (rc != XS_OK)
			return rc;
	}
}

static enum xs_err xr_array(struct xr_dec *d, const struct xr_tok *open, unsigned depth,
			    struct xs_rpc_value **out)
{
	struct xs_rpc_value *arr = xs_rpc_array(d->a);
	struct xr_tok t;
	enum xs_err rc;

	*out = arr;
	if (open->kind == XS_XML_EMPTY)
		return XS_OK;
	rc = xr_tag(d, &t);
	if (rc != XS_OK)
		return rc;
	if (xr_is(&t, XS_XML_CLOSE, "array"))
		return XS_OK; /* <array></array>: lenient, as empty */
	if (xr_is(&t, XS_XML_EMPTY, "data"))
		return xr_expect(d, XS_XML_CLOSE, "array");
	if (!xr_is(&t, XS_XML_OPEN, "data"))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <data> in <array>");
	for (;;) {
		struct xs_rpc_value *v;

		rc = xr_tag(d, &t);
		if (rc != XS_OK)
			return rc;
		if (xr_is(&t, XS_XML_CLOSE, "data"))
			break;
		if (!xr_is(&t, XS_XML_OPEN, "value") && !xr_is(&t, XS_XML_EMPTY, "value"))
			return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <value> or </data>");
		rc = xr_value(d, &t, depth + 1, &v);
		if (rc != XS_OK)
			return rc;
		xs_rpc_array_push(d->a, arr, v);
	}
	return xr_expect(d, XS_XML_CLOSE, "array");
}

static bool xr_name_is(const struct xr_tok *t, const char *name)
{
	size_t n = strlen(name);

	return t->name_len == n && memcmp(t->name, name, n) == 0;
}

/* A number, boolean or integer: its text with white space trimmed. */
static enum xs_err xr_number(struct xr_dec *d, const struct xr_tok *open, struct xs_rpc_value **out)
{
	const char *s;
	size_t n;
	enum xs_err rc;
	int64_t i;
	double x;

	if (open->kind == XS_XML_EMPTY)
		return xs_err_at(d->err, XS_ERR_PARSE, open->off, "empty <%.*s>", xr_shown(open),
				 open->name);
	rc = xr_scalar(d, open);
	if (rc != XS_OK)
		return rc;
	s = xr_text_ptr(d);
	n = d->text.len;
	xs_xml_trim(&s, &n);
	if (xr_name_is(open, "boolean")) {
		if ((n == 1 && s[0] == '1') || (n == 4 && memcmp(s, "true", 4) == 0))
			*out = xs_rpc_bool(d->a, true);
		else if ((n == 1 && s[0] == '0') || (n == 5 && memcmp(s, "false", 5) == 0))
			*out = xs_rpc_bool(d->a, false);
		else
			return xs_err_at(d->err, XS_ERR_PARSE, open->off, "<boolean> is not 0 or 1");
	} else if (xr_name_is(open, "double")) {
		if (!xs_num_from_slice(s, n, &x))
			return xs_err_at(d->err, XS_ERR_PARSE, open->off, "bad <double>");
		*out = xs_rpc_double(d->a, x);
	} else {
		if (!xs_num_i64_from_slice(s, n, &i))
			return xs_err_at(d->err, XS_ERR_PARSE, open->off, "bad integer in <%.*s>",
					 xr_shown(open), open->name);
		*out = xs_rpc_int(d->a, i);
	}
	return XS_OK;
}

/* The element inside a <value>: open is its start tag (OPEN or EMPTY). */
static enum xs_err xr_typed(struct xr_dec *d, const struct xr_tok *open, unsigned depth,
			    struct xs_rpc_value **out)
{
	enum xs_err rc;

	if (xr_name_is(open, "struct") || xr_name_is(open, "array")) {
		if (depth >= XS_RPC_MAX_DEPTH)
			return xs_err_at(d->err, XS_ERR_TOO_LARGE, open->off,
					 "arrays and structs nested deeper than %d", XS_RPC_MAX_DEPTH);
		if (xr_name_is(open, "struct"))
			return xr_struct(d, open, depth, out);
		return xr_array(d, open, depth, out);
	}
	if (xr_name_is(open, "string") || xr_name_is(open, "dateTime.iso8601")) {
		rc = xr_scalar(d, open);
		if (rc != XS_OK)
			return rc;
		if (xr_name_is(open, "string"))
			*out = xs_rpc_string(d->a, xr_text_ptr(d), d->text.len);
		else
			*out = xs_rpc_datetime(d->a, xr_text_ptr(d), d->text.len);
		return XS_OK;
	}
	if (xr_name_is(open, "i4") || xr_name_is(open, "int") || xr_name_is(open, "i8") ||
	    xr_name_is(open, "boolean") || xr_name_is(open, "double"))
		return xr_number(d, open, out);
	if (xr_name_is(open, "nil")) {
		*out = xs_rpc_nil(d->a);
		if (open->kind == XS_XML_EMPTY)
			return XS_OK;
		return xr_expect(d, XS_XML_CLOSE, "nil");
	}
	return xs_err_at(d->err, XS_ERR_PARSE, open->off, "unsupported value type <%.*s>",
			 xr_shown(open), open->name);
}

/* A value; open is its <value> or <value/> tag, already read. */
static enum xs_err xr_value(struct xr_dec *d, const struct xr_tok *open, unsigned depth,
			    struct xs_rpc_value **out)
{
	struct xr_tok t;
	enum xs_err rc;

	if (open->kind == XS_XML_EMPTY) {
		*out = xs_rpc_string(d->a, "", 0);
		return XS_OK;
	}
	rc = xr_content(d, &t);
	if (rc != XS_OK)
		return rc;
	if (xr_is(&t, XS_XML_CLOSE, "value")) {
		/* xapi's usual string: <value>text</value> */
		*out = xs_rpc_string(d->a, xr_text_ptr(d), d->text.len);
		return XS_OK;
	}
	if (!d->blank)
		return xs_err_at(d->err, XS_ERR_PARSE, d->text_off, "text mixed with <%.*s>",
				 xr_shown(&t), t.name);
	if (t.kind == XS_XML_CLOSE)
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected </value>, found </%.*s>",
				 xr_shown(&t), t.name);
	rc = xr_typed(d, &t, depth, out);
	if (rc != XS_OK)
		return rc;
	return xr_expect(d, XS_XML_CLOSE, "value");
}

/* The next tag must be <value> or <value/>; decodes the value. */
static enum xs_err xr_next_value(struct xr_dec *d, unsigned depth, struct xs_rpc_value **out)
{
	struct xr_tok t;
	enum xs_err rc = xr_tag(d, &t);

	if (rc != XS_OK)
		return rc;
	if (!xr_is(&t, XS_XML_OPEN, "value") && !xr_is(&t, XS_XML_EMPTY, "value"))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <value>");
	return xr_value(d, &t, depth, out);
}

static void xr_init(struct xr_dec *d, const char *body, size_t len, struct xs_rpc_arena *a,
		    char *err)
{
	memset(d, 0, sizeof(*d));
	d->body = body;
	d->len = len;
	d->a = a;
	d->err = err;
	/* decoded text is never longer than the raw text it comes from */
	xs_buf_init(&d->text, len + 1);
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		d->pos = 3; /* a UTF-8 byte-order mark */
}

/* After the root element: only white space, comments and PIs. */
static enum xs_err xr_end(struct xr_dec *d)
{
	while (d->pos < d->len) {
		struct xs_xml_token tok;
		enum xs_err rc = XS_OK;
		ptrdiff_t used;

		if (xr_space(d->body[d->pos])) {
			d->pos++;
			continue;
		}
		used = xs_xml_next(d->body + d->pos, d->len - d->pos, true, d->pos, &tok, &rc, d->err);
		if (used < 0)
			return rc;
		if (tok.kind != XS_XML_SPACE)
			return xs_err_at(d->err, XS_ERR_PARSE, d->pos, "junk after the document");
		d->pos += (size_t)used;
	}
	return XS_OK;
}

static enum xs_err xr_call(struct xr_dec *d, struct xs_rpc_call *call)
{
	struct xr_tok t;
	enum xs_err rc;
	const char *s;
	size_t n;

	rc = xr_expect(d, XS_XML_OPEN, "methodCall");
	if (rc != XS_OK)
		return rc;
	rc = xr_tag(d, &t);
	if (rc != XS_OK)
		return rc;
	if (!xr_is(&t, XS_XML_OPEN, "methodName"))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <methodName>");
	rc = xr_scalar(d, &t);
	if (rc != XS_OK)
		return rc;
	s = xr_text_ptr(d);
	n = d->text.len;
	xs_xml_trim(&s, &n);
	if (n == 0)
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "empty <methodName>");
	call->method = xs_rpc_strndup(d->a, s, n);
	call->params = xs_rpc_array(d->a);
	rc = xr_tag(d, &t);
	if (rc != XS_OK)
		return rc;
	if (xr_is(&t, XS_XML_CLOSE, "methodCall"))
		return XS_OK;
	if (xr_is(&t, XS_XML_EMPTY, "params"))
		return xr_expect(d, XS_XML_CLOSE, "methodCall");
	if (!xr_is(&t, XS_XML_OPEN, "params"))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <params> or </methodCall>");
	for (;;) {
		struct xs_rpc_value *v;

		rc = xr_tag(d, &t);
		if (rc != XS_OK)
			return rc;
		if (xr_is(&t, XS_XML_CLOSE, "params"))
			break;
		if (!xr_is(&t, XS_XML_OPEN, "param"))
			return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <param> or </params>");
		rc = xr_next_value(d, 0, &v);
		if (rc != XS_OK)
			return rc;
		xs_rpc_array_push(d->a, call->params, v);
		rc = xr_expect(d, XS_XML_CLOSE, "param");
		if (rc != XS_OK)
			return rc;
	}
	return xr_expect(d, XS_XML_CLOSE, "methodCall");
}

enum xs_err xs_xmlrpc_decode_call(const char *body, size_t len, struct xs_rpc_arena *a,
				  struct xs_rpc_call *call, char *err)
{
	struct xr_dec d;
	enum xs_err rc;

	memset(call, 0, sizeof(*call));
	xr_init(&d, body, len, a, err);
	rc = xr_call(&d, call);
	if (rc == XS_OK)
		rc = xr_end(&d);
	xs_buf_free(&d.text);
	if (rc != XS_OK)
		memset(call, 0, sizeof(*call));
	return rc;
}

/* XAPI's envelope {Status, Value | ErrorDescription} (v at offset off) → reply. */
static enum xs_err xr_envelope(struct xr_dec *d, struct xs_rpc_value *v, size_t off,
			       struct xs_rpc_reply *reply)
{
	const char *status = xs_rpc_get_str(v, "Status");
	const struct xs_rpc_value *x;

	if (v->type != XS_RPC_STRUCT || status == NULL)
		return xs_err_at(d->err, XS_ERR_PARSE, off,
				 "reply is not a struct with a Status string (XAPI's envelope)");
	if (strcmp(status, "Success") == 0) {
		x = xs_rpc_get(v, "Value");
		if (x == NULL)
			return xs_err_at(d->err, XS_ERR_PARSE, off, "Status is Success but no Value");
		reply->ok = true;
	} else if (strcmp(status, "Failure") == 0) {
		x = xs_rpc_get(v, "ErrorDescription");
		if (x == NULL || x->type != XS_RPC_ARRAY)
			return xs_err_at(d->err, XS_ERR_PARSE, off,
					 "Status is Failure but no ErrorDescription array");
		reply->ok = false;
	} else {
		return xs_err_at(d->err, XS_ERR_PARSE, off, "Status is neither Success nor Failure");
	}
	/* members are the tree's own values: dropping const is safe */
	for (size_t i = 0; i < v->u.st.n; i++)
		if (v->u.st.members[i].value == x)
			reply->value = v->u.st.members[i].value;
	return XS_OK;
}

/* An XML-RPC <fault>: {faultCode, faultString} → [faultString, faultCode as text]. */
static enum xs_err xr_fault(struct xr_dec *d, struct xs_rpc_value *v, size_t off,
			    struct xs_rpc_reply *reply)
{
	const char *msg = xs_rpc_get_str(v, "faultString");
	const struct xs_rpc_value *code = xs_rpc_get(v, "faultCode");
	struct xs_rpc_value *arr = xs_rpc_array(d->a);
	char num[32];

	if (msg == NULL)
		return xs_err_at(d->err, XS_ERR_PARSE, off, "<fault> without a faultString");
	xs_rpc_array_push(d->a, arr, xs_rpc_cstring(d->a, msg));
	if (code != NULL && code->type == XS_RPC_INT) {
		snprintf(num, sizeof(num), "%" PRId64, code->u.i);
		xs_rpc_array_push(d->a, arr, xs_rpc_cstring(d->a, num));
	} else if (code != NULL && code->type == XS_RPC_STRING) {
		xs_rpc_array_push(d->a, arr, xs_rpc_string(d->a, code->u.str.ptr, code->u.str.len));
	}
	reply->ok = false;
	reply->value = arr;
	return XS_OK;
}

static enum xs_err xr_reply(struct xr_dec *d, struct xs_rpc_reply *reply)
{
	struct xs_rpc_value *v;
	struct xr_tok t;
	enum xs_err rc;
	size_t off;

	rc = xr_expect(d, XS_XML_OPEN, "methodResponse");
	if (rc != XS_OK)
		return rc;
	rc = xr_tag(d, &t);
	if (rc != XS_OK)
		return rc;
	if (xr_is(&t, XS_XML_OPEN, "fault")) {
		off = d->pos;
		rc = xr_next_value(d, 0, &v);
		if (rc == XS_OK)
			rc = xr_fault(d, v, off, reply);
		if (rc == XS_OK)
			rc = xr_expect(d, XS_XML_CLOSE, "fault");
		if (rc == XS_OK)
			rc = xr_expect(d, XS_XML_CLOSE, "methodResponse");
		return rc;
	}
	if (!xr_is(&t, XS_XML_OPEN, "params"))
		return xs_err_at(d->err, XS_ERR_PARSE, t.off, "expected <params> or <fault>");
	rc = xr_expect(d, XS_XML_OPEN, "param");
	if (rc != XS_OK)
		return rc;
	off = d->pos;
	rc = xr_next_value(d, 0, &v);
	if (rc == XS_OK)
		rc = xr_envelope(d, v, off, reply);
	if (rc == XS_OK)
		rc = xr_expect(d, XS_XML_CLOSE, "param");
	if (rc == XS_OK)
		rc = xr_expect(d, XS_XML_CLOSE, "params");
	if (rc == XS_OK)
		rc = xr_expect(d, XS_XML_CLOSE, "methodResponse");
	return rc;
}

enum xs_err xs_xmlrpc_decode_reply(const char *body, size_t len, struct xs_rpc_arena *a,
				   struct xs_rpc_reply *reply, char *err)
{
	struct xr_dec d;
	enum xs_err rc;

	memset(reply, 0, sizeof(*reply));
	xr_init(&d, body, len, a, err);
	rc = xr_reply(&d, reply);
	if (rc == XS_OK)
		rc = xr_end(&d);
	xs_buf_free(&d.text);
	if (rc != XS_OK)
		memset(reply, 0, sizeof(*reply));
	return rc;
}

/* ---- encoding ---- */

/* Text with & < > " escaped and the control characters XML cannot carry dropped. */
static enum xs_err xe_text(struct xs_buf *out, const char *s, size_t n)
{
	size_t i, run = 0;
	enum xs_err rc;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep;

		if (c == '&')
			rep = "&amp;";
		else if (c == '<')
			rep = "&lt;";
		else if (c == '>')
			rep = "&gt;";
		else if (c == '"')
			rep = "&quot;";
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			rep = "";
		else
			continue;
		rc = xs_buf_append(out, s + run, i - run);
		if (rc == XS_OK)
			rc = xs_buf_append_str(out, rep);
		if (rc != XS_OK)
			return rc;
		run = i + 1;
	}
	return xs_buf_append(out, s + run, n - run);
}

/* <tag>escaped text</tag> */
static enum xs_err xe_element(struct xs_buf *out, const char *tag, const char *s, size_t n)
{
	enum xs_err rc = xs_buf_printf(out, "<%s>", tag);

	if (rc == XS_OK)
		rc = xe_text(out, s, n);
	if (rc == XS_OK)
		rc = xs_buf_printf(out, "</%s>", tag);
	return rc;
}

static enum xs_err xe_value(struct xs_buf *out, const struct xs_rpc_value *v, unsigned depth);

static enum xs_err xe_container(struct xs_buf *out, const struct xs_rpc_value *v, unsigned depth)
{
	enum xs_err rc;
	size_t i;

	if (depth >= XS_RPC_MAX_DEPTH)
		return XS_ERR_TOO_LARGE; /* the decoder would refuse it */
	if (v->type == XS_RPC_ARRAY) {
		rc = xs_buf_append_str(out, "<array><data>");
		for (i = 0; rc == XS_OK && i < v->u.arr.n; i++)
			rc = xe_value(out, v->u.arr.items[i], depth + 1);
		if (rc == XS_OK)
			rc = xs_buf_append_str(out, "</data></array>");
		return rc;
	}
	rc = xs_buf_append_str(out, "<struct>");
	for (i = 0; rc == XS_OK && i < v->u.st.n; i++) {
		const struct xs_rpc_member *m = &v->u.st.members[i];

		rc = xs_buf_append_str(out, "<member>");
		if (rc == XS_OK)
			rc = xe_element(out, "name", m->key, m->key_len);
		if (rc == XS_OK)
			rc = xe_value(out, m->value, depth + 1);
		if (rc == XS_OK)
			rc = xs_buf_append_str(out, "</member>");
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "</struct>");
	return rc;
}

static enum xs_err xe_value(struct xs_buf *out, const struct xs_rpc_value *v, unsigned depth)
{
	char num[XS_NUM_FMT_LEN];
	enum xs_err rc;
	size_t n;

	if (v == NULL)
		return XS_ERR_ARG;
	rc = xs_buf_append_str(out, "<value>");
	if (rc != XS_OK)
		return rc;
	switch (v->type) {
	case XS_RPC_NIL:
		rc = xs_buf_append_str(out, "<nil/>");
		break;
	case XS_RPC_STRING:
		rc = xe_text(out, v->u.str.ptr, v->u.str.len);
		break;
	case XS_RPC_INT:
		if (v->u.i >= INT32_MIN && v->u.i <= INT32_MAX)
			rc = xs_buf_printf(out, "<i4>%" PRId64 "</i4>", v->u.i);
		else
			rc = xs_buf_printf(out, "<i8>%" PRId64 "</i8>", v->u.i);
		break;
	case XS_RPC_BOOL:
		rc = xs_buf_append_str(out, v->u.b ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
		break;
	case XS_RPC_DOUBLE:
		n = xs_num_format(num, sizeof(num), v->u.d);
		rc = xe_element(out, "double", num, n);
		break;
	case XS_RPC_DATETIME:
		rc = xe_element(out, "dateTime.iso8601", v->u.str.ptr, v->u.str.len);
		break;
	case XS_RPC_ARRAY:
	case XS_RPC_STRUCT:
		rc = xe_container(out, v, depth);
		break;
	default:
		rc = XS_ERR_ARG;
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "</value>");
	return rc;
}

enum xs_err xs_xmlrpc_encode_value(struct xs_buf *out, const struct xs_rpc_value *v)
{
	return xe_value(out, v, 0);
}

enum xs_err xs_xmlrpc_encode_call(struct xs_buf *out, const char *method,
				  const struct xs_rpc_value *params)
{
	enum xs_err rc;
	size_t i;

	if (method == NULL || (params != NULL && params->type != XS_RPC_ARRAY))
		return XS_ERR_ARG;
	rc = xs_buf_append_str(out, "<?xml version=\"1.0\"?><methodCall>");
	if (rc == XS_OK)
		rc = xe_element(out, "methodName", method, strlen(method));
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "<params>");
	for (i = 0; rc == XS_OK && params != NULL && i < params->u.arr.n; i++) {
		rc = xs_buf_append_str(out, "<param>");
		if (rc == XS_OK)
			rc = xe_value(out, params->u.arr.items[i], 0);
		if (rc == XS_OK)
			rc = xs_buf_append_str(out, "</param>");
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "</params></methodCall>");
	return rc;
}

enum xs_err xs_xmlrpc_encode_reply(struct xs_buf *out, const struct xs_rpc_reply *reply)
{
	enum xs_err rc;

	rc = xs_buf_append_str(out, "<?xml version=\"1.0\"?><methodResponse><params><param>"
				    "<value><struct><member><name>Status</name>");
	if (rc != XS_OK)
		return rc;
	if (reply->ok) {
		rc = xs_buf_append_str(out, "<value>Success</value></member>"
					    "<member><name>Value</name>");
		if (rc == XS_OK)
			rc = reply->value != NULL ? xe_value(out, reply->value, 1)
						  : xs_buf_append_str(out, "<value></value>");
	} else {
		rc = xs_buf_append_str(out, "<value>Failure</value></member>"
					    "<member><name>ErrorDescription</name>");
		if (rc == XS_OK && reply->value != NULL && reply->value->type != XS_RPC_ARRAY)
			rc = XS_ERR_ARG;
		if (rc == XS_OK)
			rc = reply->value != NULL
				     ? xe_value(out, reply->value, 1)
				     : xs_buf_append_str(out, "<value><array><data/></array></value>");
	}
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "</member></struct></value></param></params>"
					    "</methodResponse>");
	return rc;
}
