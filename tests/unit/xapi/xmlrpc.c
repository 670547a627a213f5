/*
 * Tests of the XML-RPC codec (src/xapi/xmlrpc.c): every value form of SPEC
 * §4.2, XAPI's reply envelope and <fault>, errors with their byte offsets,
 * every truncation point, the nesting cap, encode → decode round trips, and
 * the real XenServer 6.2 captures of ../shared/xapi/samples (read at run time
 * from $XS_SHARED_DIR, never copied into the repository).
 */
#include <math.h>
#include <string.h>

#include "test.h"
#include "support/shared_file.h"
#include "xapi/xmlrpc.h"

#define BODY_CAP (64u << 20) /* encoder buffer cap in these tests */

/* A compact, typed rendering of a value: S"x" I1 B1 D1.5 T"t" N [..] {k:..}. */
static void dump(const struct xs_rpc_value *v, char *out, size_t cap, size_t *o)
{
	size_t i;

	if (*o + 64 >= cap)
		return;
	if (v == NULL) {
		*o += (size_t)snprintf(out + *o, cap - *o, "NULL");
		return;
	}
	switch (v->type) {
	case XS_RPC_NIL: *o += (size_t)snprintf(out + *o, cap - *o, "N"); break;
	case XS_RPC_STRING:
	case XS_RPC_DATETIME:
		*o += (size_t)snprintf(out + *o, cap - *o, "%s\"%.*s\"",
				       v->type == XS_RPC_STRING ? "S" : "T", (int)v->u.str.len,
				       v->u.str.ptr);
		break;
	case XS_RPC_INT: *o += (size_t)snprintf(out + *o, cap - *o, "I%lld", (long long)v->u.i); break;
	case XS_RPC_BOOL: *o += (size_t)snprintf(out + *o, cap - *o, "B%d", v->u.b); break;
	case XS_RPC_DOUBLE: *o += (size_t)snprintf(out + *o, cap - *o, "D%g", v->u.d); break;
	case XS_RPC_ARRAY:
		*o += (size_t)snprintf(out + *o, cap - *o, "[");
		for (i = 0; i < v->u.arr.n; i++) {
			if (i)
				*o += (size_t)snprintf(out + *o, cap - *o, ",");
			dump(v->u.arr.items[i], out, cap, o);
		}
		*o += (size_t)snprintf(out + *o, cap - *o, "]");
		break;
	case XS_RPC_STRUCT:
		*o += (size_t)snprintf(out + *o, cap - *o, "{");
		for (i = 0; i < v->u.st.n; i++) {
			if (i)
				*o += (size_t)snprintf(out + *o, cap - *o, ",");
			*o += (size_t)snprintf(out + *o, cap - *o, "%.*s:", (int)v->u.st.members[i].key_len,
					       v->u.st.members[i].key);
			dump(v->u.st.members[i].value, out, cap, o);
		}
		*o += (size_t)snprintf(out + *o, cap - *o, "}");
		break;
	}
}

static const char *show(const struct xs_rpc_value *v, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	dump(v, out, cap, &o);
	return out;
}

#define CALL_HEAD "<methodCall><methodName>m</methodName><params><param>"
#define CALL_TAIL "</param></params></methodCall>"

/* One param value in a call: the value text, and its rendering (or the error's text). */
static const struct {
	const char *value;
	const char *want;
	const char *error;
} value_cases[] = {
	{ "<value>text</value>", "S\"text\"", NULL },
	{ "<value/>", "S\"\"", NULL },
	{ "<value></value>", "S\"\"", NULL },
	{ "<value>  spaced  </value>", "S\"  spaced  \"", NULL },
	{ "<value><string>s</string></value>", "S\"s\"", NULL },
	{ "<value><string/></value>", "S\"\"", NULL },
	{ "<value><string></string></value>", "S\"\"", NULL },
	{ "<value>\n  <string> s </string>\n</value>", "S\" s \"", NULL },
	{ "<value>2147483648</value>", "S\"2147483648\"", NULL },
	{ "<value><i4>-42</i4></value>", "I-42", NULL },
	{ "<value><int> 7 </int></value>", "I7", NULL },
	{ "<value><i8>9223372036854775807</i8></value>", "I9223372036854775807", NULL },
	{ "<value><boolean>1</boolean></value>", "B1", NULL },
	{ "<value><boolean>0</boolean></value>", "B0", NULL },
	{ "<value><double>1.5</double></value>", "D1.5", NULL },
	{ "<value><double>-1.6776e+07</double></value>", "D-1.6776e+07", NULL },
	{ "<value><double>NaN</double></value>", "Dnan", NULL },
	{ "<value><dateTime.iso8601>20140919T15:47:57Z</dateTime.iso8601></value>",
	  "T\"20140919T15:47:57Z\"", NULL },
	{ "<value><struct/></value>", "{}", NULL },
	{ "<value><struct></struct></value>", "{}", NULL },
	{ "<value><array><data/></array></value>", "[]", NULL },
	{ "<value><array><data></data></array></value>", "[]", NULL },
	{ "<value><nil/></value>", "N", NULL },
	{ "<value><nil></nil></value>", "N", NULL },
	{ "<value><struct> <member> <name>OpaqueRef:a</name> <value>x</value> </member>\n"
	  "<member><name/><value><i4>1</i4></value></member></struct></value>",
	  "{OpaqueRef:a:S\"x\",:I1}", NULL },
	{ "<value><array><data><value>a</value><value/><value><boolean>1</boolean></value>"
	  "<value><array><data><value><nil/></value></data></array></value></data></array></value>",
	  "[S\"a\",S\"\",B1,[N]]", NULL },
	{ "<value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#xe9;</value>",
	  "S\"a & b <c> \"d\" 'e' AB\xc3\xa9\"", NULL },
	{ "<value>a<!-- note -->b<![CDATA[<c&>]]></value>", "S\"ab<c&>\"", NULL },
	{ "<value>ctl&#1;x\x02y\tz</value>", "S\"ctlxy\tz\"", NULL },
	{ "<value><string>&lt;x</string></value>", "S\"<x\"", NULL },
	/* errors, with the byte offset of what is wrong (the value starts at byte 53) */
	{ "<value><i4>12x</i4></value>", NULL, "byte 60: bad integer in <i4>" },
	{ "<value><i4/></value>", NULL, "byte 60: empty <i4>" },
	{ "<value><i4>99999999999999999999</i4></value>", NULL, "bad integer in <i4>" },
	{ "<value><boolean>2</boolean></value>", NULL, "byte 60: <boolean> is not 0 or 1" },
	{ "<value><double>x</double></value>", NULL, "byte 60: bad <double>" },
	{ "<value><base64>AA==</base64></value>", NULL,
	  "byte 60: unsupported value type <base64>" },
	{ "<value>text<string>s</string></value>", NULL, "byte 60: text mixed with <string>" },
	{ "<value><string>s</string>tail</value>", NULL, "byte 78: unexpected text before </value>" },
	{ "<value><string><i4>1</i4></string></value>", NULL, "expected </string> (no element inside)" },
	{ "<value>a &bogus; b</value>", NULL, "byte 62: bad entity or character reference" },
	{ "<value>a & b</value>", NULL, "byte 62: bad entity or character reference" },
	{ "<value><struct><member><value>x</value></member></struct></value>", NULL,
	  "byte 76: expected <name> in <member>" },
	{ "<value><struct><member><name>k</name></member></struct></value>", NULL,
	  "expected <value> after </name>" },
	{ "<value><struct><foo/></struct></value>", NULL, "expected <member> or </struct>" },
	{ "<value><array><value>x</value></array></value>", NULL, "expected <data> in <array>" },
	{ "<value><array><data><string>x</string></data></array></value>", NULL,
	  "expected <value> or </data>" },
	{ "<value><string>x</value>", NULL, "expected </string>" },
	{ "<value><nil>x</nil></value>", NULL, "unexpected text before </nil>" },
	{ "<value><i4>1</i4></param>", NULL, "expected </value>, found </param>" },
	{ "<value></string></value>", NULL, "expected </value>, found </string>" },
	{ "<value><!DOCTYPE x></value>", NULL, "DOCTYPE" },
};

static void test_value_forms(void)
{
	char body[1024], out[512], err[XS_ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_call call;
		enum xs_err rc;
		int n = snprintf(body, sizeof(body), CALL_HEAD "%s" CALL_TAIL, value_cases[i].value);

		err[0] = '\0';
		rc = xs_xmlrpc_decode_call(body, (size_t)n, a, &call, err);
		if (value_cases[i].want != NULL) {
			ok(rc == XS_OK && call.params->u.arr.n == 1, "case %zu (%s): %s", i,
			   value_cases[i].value, err);
			if (rc == XS_OK)
				ok(!strcmp(show(xs_rpc_at(call.params, 0), out, sizeof(out)),
					   value_cases[i].want),
				   "case %zu: got %s want %s", i, out, value_cases[i].want);
		} else {
			ok(rc != XS_OK && strstr(err, value_cases[i].error) != NULL &&
				   !strncmp(err, "byte ", 5),
			   "case %zu (%s): got \"%s\" want \"%s\"", i, value_cases[i].value, err,
			   value_cases[i].error);
		}
		xs_rpc_arena_free(&a);
	}
}

static const struct {
	const char *body;
	const char *error; /* NULL: decodes */
} call_cases[] = {
	{ "<?xml version=\"1.0\"?><methodCall><methodName>system.listMethods</methodName>"
	  "</methodCall>", NULL },
	{ "\xEF\xBB\xBF<methodCall><methodName> a.b </methodName><params/></methodCall>\n", NULL },
	{ "<!-- c --><methodCall>\n <methodName>a</methodName>\n <params>\n </params>\n"
	  "</methodCall><?pi?>  ", NULL },
	{ "", "byte 0: unexpected end of input" },
	{ "   ", "byte 3: unexpected end of input" },
	{ "hello", "byte 5: unexpected end of input" },
	{ "hello<methodCall/>", "byte 0: unexpected text before <methodCall/>" },
	{ "<methodResponse/>", "byte 0: expected <methodCall>, found <methodResponse/>" },
	{ "<methodCall><params/></methodCall>", "byte 12: expected <methodName>" },
	{ "<methodCall><methodName> </methodName></methodCall>", "byte 12: empty <methodName>" },
	{ "<methodCall><methodName>a</methodName><param/></methodCall>",
	  "byte 38: expected <params> or </methodCall>" },
	{ "<methodCall><methodName>a</methodName><params><value/></params></methodCall>",
	  "byte 46: expected <param> or </params>" },
	{ "<methodCall><methodName>a</methodName></methodCall><x/>",
	  "byte 51: junk after the document" },
	{ "<methodCall><methodName>a</methodName></methodCall>junk", "junk after the document" },
	{ "<!DOCTYPE x [<!ENTITY a \"b\">]><methodCall/>", "byte 0: unsupported markup" },
	{ "<methodCall><methodName>a</methodName><params><param><value>x</value>",
	  "unexpected end of input" },
	{ "<methodCall><methodName>a</methodName><params><param><value>x",
	  "byte 61: unexpected end of input" },
	{ "<methodCall><methodName>a</methodName><params><param><value a=\"<\">",
	  "'<' inside a tag" },
};

static void test_calls(void)
{
	char err[XS_ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(call_cases) / sizeof(call_cases[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_call call;
		enum xs_err rc;

		err[0] = '\0';
		rc = xs_xmlrpc_decode_call(call_cases[i].body, strlen(call_cases[i].body), a, &call,
					   err);
		if (call_cases[i].error == NULL)
			ok(rc == XS_OK && call.method != NULL && call.params != NULL &&
				   call.params->type == XS_RPC_ARRAY && call.id == NULL &&
				   call.jsonrpc == 0,
			   "call %zu: %s", i, err);
		else
			ok(rc != XS_OK && strstr(err, call_cases[i].error) != NULL,
			   "call %zu: got \"%s\" want \"%s\"", i, err, call_cases[i].error);
		xs_rpc_arena_free(&a);
	}
}

#define REPLY_HEAD "<methodResponse><params><param><value><struct>"
#define REPLY_TAIL "</struct></value></param></params></methodResponse>"
#define MEMBER(k, v) "<member><name>" k "</name><value>" v "</value></member>"

static const struct {
	const char *body;
	bool ok;
	const char *want;  /* the value (ok) or error ARRAY, rendered */
	const char *error; /* decoding error, or NULL */
} reply_cases[] = {
	{ REPLY_HEAD MEMBER("Status", "Success") MEMBER("Value", "OpaqueRef:x") REPLY_TAIL, true,
	  "S\"OpaqueRef:x\"", NULL },
	{ "<?xml version=\"1.0\"?>\n" REPLY_HEAD MEMBER("Status", "Success") MEMBER("Value", "")
		  REPLY_TAIL "\n",
	  true, "S\"\"", NULL },
	{ REPLY_HEAD MEMBER("Status", "<string>Failure</string>")
		  MEMBER("ErrorDescription", "<array><data><value>HOST_IS_SLAVE</value>"
					     "<value>10.0.0.2</value></data></array>") REPLY_TAIL,
	  false, "[S\"HOST_IS_SLAVE\",S\"10.0.0.2\"]", NULL },
	{ REPLY_HEAD MEMBER("Status", "Failure")
		  MEMBER("ErrorDescription", "<array><data/></array>") REPLY_TAIL,
	  false, "[]", NULL },
	{ "<methodResponse><fault><value><struct>" MEMBER("faultCode", "<int>4</int>")
		  MEMBER("faultString", "Too many parameters") "</struct></value></fault>"
		  "</methodResponse>",
	  false, "[S\"Too many parameters\",S\"4\"]", NULL },
	{ REPLY_HEAD MEMBER("Status", "Success") REPLY_TAIL, false, NULL,
	  "byte 31: Status is Success but no Value" },
	{ REPLY_HEAD MEMBER("Status", "Failure") MEMBER("ErrorDescription", "x") REPLY_TAIL, false,
	  NULL, "Status is Failure but no ErrorDescription array" },
	{ REPLY_HEAD MEMBER("Status", "Maybe") MEMBER("Value", "x") REPLY_TAIL, false, NULL,
	  "Status is neither Success nor Failure" },
	{ "<methodResponse><params><param><value>x</value></param></params></methodResponse>",
	  false, NULL, "byte 31: reply is not a struct with a Status string" },
	{ "<methodResponse><params/></methodResponse>", false, NULL,
	  "byte 16: expected <params> or <fault>" },
	{ "<methodResponse><params></params></methodResponse>", false, NULL,
	  "byte 24: expected <param>, found </params>" },
	{ "<methodResponse><fault><value><struct/></value></fault></methodResponse>", false, NULL,
	  "<fault> without a faultString" },
	{ "<methodCall/>", false, NULL, "byte 0: expected <methodResponse>" },
};

static void test_replies(void)
{
	char err[XS_ERR_LEN], out[512];
	size_t i;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;
		enum xs_err rc;

		err[0] = '\0';
		rc = xs_xmlrpc_decode_reply(reply_cases[i].body, strlen(reply_cases[i].body), a, &r,
					    err);
		if (reply_cases[i].error == NULL) {
			ok(rc == XS_OK && r.ok == reply_cases[i].ok, "reply %zu: %s", i, err);
			ok(!strcmp(show(r.value, out, sizeof(out)), reply_cases[i].want),
			   "reply %zu: got %s want %s", i, out, reply_cases[i].want);
		} else {
			ok(rc != XS_OK && strstr(err, reply_cases[i].error) != NULL &&
				   r.value == NULL,
			   "reply %zu: got \"%s\" want \"%s\"", i, err, reply_cases[i].error);
		}
		xs_rpc_arena_free(&a);
	}
}

/* Every prefix of a valid body fails cleanly, with a byte offset. */
static void test_truncations(void)
{
	static const char body[] =
		"<?xml version=\"1.0\"?>" REPLY_HEAD MEMBER("Status", "Success")
			MEMBER("Value", "<struct>" MEMBER("a", "<array><data><value><i4>1</i4>"
							   "</value><value/></data></array>")
						MEMBER("b&amp;", "<double>1.5</double>") "</struct>") REPLY_TAIL;
	size_t n, bad = 0;
	char err[XS_ERR_LEN];

	for (n = 0; n < sizeof(body) - 1; n++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;
		char *copy = malloc(n + 1); /* exactly n bytes, so ASan sees any overread */

		memcpy(copy, body, n);
		if (xs_xmlrpc_decode_reply(copy, n, a, &r, err) == XS_OK || strncmp(err, "byte ", 5))
			bad++;
		free(copy);
		xs_rpc_arena_free(&a);
	}
	ok(bad == 0, "%zu of %zu truncations decoded or had no offset", bad, sizeof(body) - 1);
}

/* depth nested arrays as a param (call) or as the Value (reply). */
static char *nested(size_t depth, bool reply, size_t *len)
{
	struct xs_buf b;
	size_t i;
	enum xs_err rc;

	xs_buf_init(&b, 8u << 20);
	rc = xs_buf_append_str(&b, reply ? REPLY_HEAD MEMBER("Status", "Success")
				     "<member><name>Value</name>" : CALL_HEAD);
	for (i = 0; rc == XS_OK && i < depth; i++)
		rc = xs_buf_append_str(&b, "<value><array><data>");
	if (rc == XS_OK)
		rc = xs_buf_append_str(&b, "<value>x</value>");
	for (i = 0; rc == XS_OK && i < depth; i++)
		rc = xs_buf_append_str(&b, "</data></array></value>");
	if (rc == XS_OK)
		rc = xs_buf_append_str(&b, reply ? "</member>" REPLY_TAIL : CALL_TAIL);
	return xs_buf_take(&b, len);
}

static void test_depth(void)
{
	char err[XS_ERR_LEN];
	size_t len;
	char *body;
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_call call;
	struct xs_rpc_reply r;
	struct xs_buf b;

	body = nested(XS_RPC_MAX_DEPTH, false, &len);
	ok(xs_xmlrpc_decode_call(body, len, a, &call, err) == XS_OK, "64 arrays in a call: %s", err);
	xs_buf_init(&b, BODY_CAP);
	ok(xs_xmlrpc_encode_call(&b, "m", call.params) == XS_OK, "64 arrays encode");
	xs_buf_free(&b);
	free(body);
	body = nested(XS_RPC_MAX_DEPTH + 1, false, &len);
	ok(xs_xmlrpc_decode_call(body, len, a, &call, err) == XS_ERR_TOO_LARGE &&
		   strstr(err, "nested deeper than 64"),
	   "65 arrays refused: %s", err);
	free(body);
	body = nested(XS_RPC_MAX_DEPTH - 1, true, &len);
	ok(xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_OK, "63 arrays in a reply: %s", err);
	free(body);
	body = nested(XS_RPC_MAX_DEPTH, true, &len);
	ok(xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_ERR_TOO_LARGE,
	   "64 arrays + the envelope refused: %s", err);
	free(body);
	body = nested(100000, false, &len);
	ok(xs_xmlrpc_decode_call(body, len, a, &call, err) == XS_ERR_TOO_LARGE,
	   "100000 arrays refused without deep recursion");
	free(body);
	xs_rpc_arena_free(&a);
}

/* Every type, awkward text included. */
static struct xs_rpc_value *sample_tree(struct xs_rpc_arena *a)
{
	struct xs_rpc_value *st = xs_rpc_struct(a), *arr = xs_rpc_array(a), *inner = xs_rpc_struct(a);

	xs_rpc_array_push(a, arr, xs_rpc_cstring(a, "OpaqueRef:1"));
	xs_rpc_array_push(a, arr, xs_rpc_cstring(a, ""));
	xs_rpc_array_push(a, arr, xs_rpc_cstring(a, "  "));
	xs_rpc_array_push(a, arr, xs_rpc_cstring(a, "<&>\"' ]]> tab\tlf\ncr\r é"));
	xs_rpc_array_push(a, arr, xs_rpc_int(a, INT64_MIN));
	xs_rpc_array_push(a, arr, xs_rpc_int(a, INT32_MAX));
	xs_rpc_array_push(a, arr, xs_rpc_int(a, -1));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, 0.1));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, -0.0));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, 1e300));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, 2.2348638594849e-05));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, NAN));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, -INFINITY));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, 5));
	xs_rpc_array_push(a, arr, xs_rpc_bool(a, true));
	xs_rpc_array_push(a, arr, xs_rpc_bool(a, false));
	xs_rpc_array_push(a, arr, xs_rpc_nil(a));
	xs_rpc_array_push(a, arr, xs_rpc_array(a));
	xs_rpc_array_push(a, arr, xs_rpc_struct(a));
	xs_rpc_struct_cset(a, inner, "OpaqueRef:NULL", xs_rpc_cstring(a, "x"));
	xs_rpc_struct_cset(a, inner, "", xs_rpc_cstring(a, "empty key"));
	xs_rpc_struct_cset(a, inner, "a<b&c", xs_rpc_cstring(a, "escaped key"));
	xs_rpc_struct_cset(a, st, "list", arr);
	xs_rpc_struct_cset(a, st, "map", inner);
	xs_rpc_struct_cset(a, st, "when", xs_rpc_datetime(a, "20140919T15:47:57Z", 18));
	xs_rpc_struct_cset(a, st, "dup", xs_rpc_int(a, 1));
	xs_rpc_struct_cset(a, st, "dup", xs_rpc_int(a, 2));
	return st;
}

static void test_round_trips(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_value *params = xs_rpc_array(a), *err_arr = xs_rpc_array(a);
	struct xs_rpc_call call;
	struct xs_rpc_reply r, back;
	char err[XS_ERR_LEN];
	struct xs_buf b;

	xs_rpc_array_push(a, params, sample_tree(a));
	xs_rpc_array_push(a, params, xs_rpc_cstring(a, "second"));
	xs_buf_init(&b, BODY_CAP);
	fail_unless(xs_xmlrpc_encode_call(&b, "VM.get_all_records", params) == XS_OK, "encode");
	ok(!strncmp(b.data, "<?xml version=\"1.0\"?><methodCall><methodName>VM.get_all_records"
			    "</methodName><params><param><value><struct>", 90),
	   "call text: %.90s", b.data);
	fail_unless(xs_xmlrpc_decode_call(b.data, b.len, a, &call, err) == XS_OK, "decode: %s", err);
	ok(!strcmp(call.method, "VM.get_all_records"), "method");
	ok(xs_rpc_equal(call.params, params), "params round trip");

	r.ok = true;
	r.value = sample_tree(a);
	xs_buf_reset(&b);
	fail_unless(xs_xmlrpc_encode_reply(&b, &r) == XS_OK, "encode reply");
	ok(strstr(b.data, "<name>Status</name><value>Success</value>") != NULL, "Success envelope");
	fail_unless(xs_xmlrpc_decode_reply(b.data, b.len, a, &back, err) == XS_OK, "decode: %s", err);
	ok(back.ok && xs_rpc_equal(back.value, r.value), "ok reply round trip");

	xs_rpc_array_push(a, err_arr, xs_rpc_cstring(a, "SESSION_INVALID"));
	xs_rpc_array_push(a, err_arr, xs_rpc_cstring(a, "OpaqueRef:x"));
	r.ok = false;
	r.value = err_arr;
	xs_buf_reset(&b);
	fail_unless(xs_xmlrpc_encode_reply(&b, &r) == XS_OK, "encode failure");
	fail_unless(xs_xmlrpc_decode_reply(b.data, b.len, a, &back, err) == XS_OK, "decode: %s", err);
	ok(!back.ok && xs_rpc_equal(back.value, err_arr), "failure round trip");
	ok(!strcmp(xs_rpc_reply_code(&back), "SESSION_INVALID") &&
		   !strcmp(xs_rpc_reply_param(&back, 0), "OpaqueRef:x"),
	   "code and param");

	/* control characters are dropped, as xapi does */
	xs_buf_reset(&b);
	fail_unless(xs_xmlrpc_encode_value(&b, xs_rpc_string(a, "a\x01\x1f\x7f" "b\0c", 6)) == XS_OK,
		    "encode value");
	ok(!strcmp(b.data, "<value>a\x7f" "b</value>"), "control characters dropped: %s", b.data);
	xs_buf_reset(&b);
	ok(xs_xmlrpc_encode_value(&b, xs_rpc_int(a, 1LL << 40)) == XS_OK &&
		   !strcmp(b.data, "<value><i8>1099511627776</i8></value>"),
	   "i8 beyond 32 bits: %s", b.data);
	xs_buf_reset(&b);
	r.ok = true;
	r.value = NULL;
	ok(xs_xmlrpc_encode_reply(&b, &r) == XS_OK &&
		   xs_xmlrpc_decode_reply(b.data, b.len, a, &back, err) == XS_OK && back.ok &&
		   back.value->type == XS_RPC_STRING && back.value->u.str.len == 0,
	   "a NULL result is xapi's void \"\"");
	xs_buf_reset(&b);
	ok(xs_xmlrpc_encode_call(&b, "m", xs_rpc_int(a, 1)) == XS_ERR_ARG, "params not an array");
	xs_buf_free(&b);
	xs_buf_init(&b, 100);
	ok(xs_xmlrpc_encode_call(&b, "m", params) == XS_ERR_TOO_LARGE, "the buffer cap holds");
	xs_buf_free(&b);
	xs_rpc_arena_free(&a);
}

/* ---- the real captures ---- */

#define SAMPLES "xapi/samples/real-xmlrpc-xenserver62/"

static void test_real_login(void)
{
	struct xs_rpc_arena *a;
	char err[XS_ERR_LEN];
	struct xs_rpc_reply r;
	struct xs_rpc_call call;
	size_t len;
	char *body = shared_slurp(SAMPLES "open_connection.0.session.login_with_password.response.xml", &len);

	fail_unless(body != NULL, "login sample not found (XS_SHARED_DIR)");
	a = xs_rpc_arena_new();
	ok(xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_OK, "login: %s", err);
	ok(r.ok && r.value->type == XS_RPC_STRING &&
		   !strcmp(r.value->u.str.ptr, "OpaqueRef:3364a807-6433-eb77-84fd-f3452db26947"),
	   "session ref");
	free(body);
	body = shared_slurp(SAMPLES "open_connection.0.session.login_with_password.request.xml", &len);
	fail_unless(body != NULL, "login request");
	ok(xs_xmlrpc_decode_call(body, len, a, &call, err) == XS_OK, "login call: %s", err);
	ok(!strcmp(call.method, "session.login_with_password") && call.params->u.arr.n == 2 &&
		   !strcmp(xs_rpc_at(call.params, 0)->u.str.ptr, "root"),
	   "login call params");
	free(body);
	xs_rpc_arena_free(&a);
}

static void test_real_hosts(void)
{
	struct xs_rpc_arena *a;
	char err[XS_ERR_LEN];
	struct xs_rpc_reply r;
	const struct xs_rpc_value *h, *sv;
	size_t len;
	int64_t i64;
	bool b;
	char *body = shared_slurp(SAMPLES "get_all_hosts.0.host.get_all_records.response.xml", &len);

	fail_unless(body != NULL, "host sample not found (XS_SHARED_DIR)");
	a = xs_rpc_arena_new();
	fail_unless(xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_OK, "hosts: %s", err);
	ok(r.ok && r.value->type == XS_RPC_STRUCT && r.value->u.st.n == 2, "2 host records");
	h = xs_rpc_get(r.value, "OpaqueRef:bec8439d-edfb-6acd-e1e9-7dbc5306e630");
	fail_unless(h != NULL, "xenserver-04 by ref");
	ok(!strcmp(xs_rpc_get_str(h, "name_label"), "xenserver-04"), "name_label");
	ok(!strcmp(xs_rpc_get_str(h, "uuid"), "54a17e93-a7f6-4c62-b8f9-9e81ad3ade1c"), "uuid");
	ok(!strcmp(xs_rpc_get_str(h, "address"), "192.168.10.4"), "address");
	ok(xs_rpc_get_i64(h, "memory_overhead", &i64) && i64 == 141529088, "int64 as a string");
	ok(xs_rpc_get_i64(h, "API_version_major", &i64) && i64 == 2, "API_version_major");
	ok(xs_rpc_get_bool(h, "enabled", &b) && b, "enabled");
	sv = xs_rpc_get(h, "software_version");
	ok(!strcmp(xs_rpc_get_str(sv, "product_version"), "6.2.0"), "software_version map");
	ok(xs_rpc_get(h, "current_operations")->type == XS_RPC_STRUCT &&
		   xs_rpc_get(h, "current_operations")->u.st.n == 0, "<struct/> is empty");
	ok(!strcmp(xs_rpc_get_str(h, "metrics"), "OpaqueRef:c35882e4-34cd-e84a-ad35-40652ad2178c"),
	   "metrics ref");
	ok(xs_rpc_get(h, "resident_VMs")->u.arr.n == 1, "resident_VMs");
	h = xs_rpc_get(r.value, "OpaqueRef:1500e92a-ff9c-119f-de60-541ed4ba565e");
	ok(h != NULL && !strcmp(xs_rpc_get_str(h, "address"), "192.168.10.2"), "xenserver-02");
	free(body);
	xs_rpc_arena_free(&a);
}

static void test_real_vms(void)
{
	struct xs_rpc_arena *a;
	char err[XS_ERR_LEN];
	struct xs_rpc_reply r, back;
	const struct xs_rpc_value *vm;
	size_t len, i, templates = 0, control = 0, snapshots = 0, running = 0, halted = 0;
	int64_t i64;
	bool b;
	struct xs_buf out;
	char *body = shared_slurp(SAMPLES "builtin_templates.0.VM.get_all_records.response.xml", &len);

	fail_unless(body != NULL, "VM sample not found (XS_SHARED_DIR)");
	a = xs_rpc_arena_new();
	fail_unless(xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_OK, "VMs: %s", err);
	fail_unless(r.ok && r.value->type == XS_RPC_STRUCT, "a map of VMs");
	ok(r.value->u.st.n == 74, "74 VM records (%zu)", r.value->u.st.n);
	for (i = 0; i < r.value->u.st.n; i++) {
		const struct xs_rpc_value *v = r.value->u.st.members[i].value;
		const char *ps = xs_rpc_get_str(v, "power_state");

		templates += xs_rpc_get_bool(v, "is_a_template", &b) && b;
		control += xs_rpc_get_bool(v, "is_control_domain", &b) && b;
		snapshots += xs_rpc_get_bool(v, "is_a_snapshot", &b) && b;
		running += ps != NULL && !strcmp(ps, "Running");
		halted += ps != NULL && !strcmp(ps, "Halted");
	}
	ok(templates == 67 && control == 2 && snapshots == 2, "67 templates, 2 dom0, 2 snapshots");
	ok(running == 3 && halted == 71, "3 running, 71 halted");
	vm = xs_rpc_get(r.value, "OpaqueRef:2a9b32e7-7f13-8f2b-dd85-37ab7fd596a7");
	fail_unless(vm != NULL, "vm-teste");
	ok(!strcmp(xs_rpc_get_str(vm, "name_label"), "vm-teste") &&
		   !strcmp(xs_rpc_get_str(vm, "power_state"), "Running"), "running VM");
	ok(!strcmp(xs_rpc_get_str(vm, "resident_on"), "OpaqueRef:1500e92a-ff9c-119f-de60-541ed4ba565e"),
	   "resident_on");
	ok(xs_rpc_get_i64(vm, "domid", &i64) && i64 == 2, "domid");
	ok(xs_rpc_get_i64(vm, "memory_static_max", &i64) && i64 == 536870912, "memory_static_max");
	ok(xs_rpc_get(vm, "HVM_shadow_multiplier")->type == XS_RPC_DOUBLE &&
		   xs_rpc_get(vm, "HVM_shadow_multiplier")->u.d == 1.0, "<double>");
	ok(xs_rpc_get(vm, "snapshot_time")->type == XS_RPC_DATETIME, "<dateTime.iso8601>");
	ok(!strcmp(xs_rpc_get_str(xs_rpc_get(vm, "other_config"), "install-methods"), "cdrom"),
	   "other_config");
	ok(!strncmp(xs_rpc_get_str(vm, "last_booted_record"), "('struct' ('uuid' '92d00a04", 27) &&
		   strlen(xs_rpc_get_str(vm, "last_booted_record")) == 3135,
	   "a 3 KB string with entities (%zu)", strlen(xs_rpc_get_str(vm, "last_booted_record")));
	vm = xs_rpc_get(r.value, "OpaqueRef:c2466b5e-6ef6-44af-d79d-7206eb701a34");
	ok(vm != NULL && !strcmp(xs_rpc_get_str(vm, "name_label"), "Puppet Master") &&
		   !strcmp(xs_rpc_get_str(vm, "power_state"), "Halted") &&
		   !strcmp(xs_rpc_get_str(vm, "resident_on"), "OpaqueRef:NULL") &&
		   xs_rpc_get_i64(vm, "domid", &i64) && i64 == -1,
	   "halted VM");
	/* and the whole capture survives our own encoder */
	xs_buf_init(&out, BODY_CAP);
	ok(xs_xmlrpc_encode_reply(&out, &r) == XS_OK &&
		   xs_xmlrpc_decode_reply(out.data, out.len, a, &back, err) == XS_OK &&
		   xs_rpc_equal(back.value, r.value),
	   "VM.get_all_records round trip: %s", err);
	xs_buf_free(&out);
	free(body);
	xs_rpc_arena_free(&a);
}

/* The other captures decode, and every request decodes as a call. */
static void test_real_others(void)
{
	static const char *const replies[] = {
		"get_storage_repository.0.SR.get_by_name_label.response.xml",
		"get_storage_repository.1.SR.get_record.response.xml",
		"get_vm_by_name.0.VM.get_by_name_label.response.xml",
		"get_vm_by_name.1.VM.get_record.response.xml",
	};
	static const char *const calls[] = {
		"builtin_templates.0.VM.get_all_records.request.xml",
		"get_all_hosts.0.host.get_all_records.request.xml",
		"get_storage_repository.0.SR.get_by_name_label.request.xml",
		"get_storage_repository.1.SR.get_record.request.xml",
		"get_vm_by_name.0.VM.get_by_name_label.request.xml",
		"get_vm_by_name.1.VM.get_record.request.xml",
	};
	char path[256], err[XS_ERR_LEN];
	size_t i, len;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;
		char *body;

		snprintf(path, sizeof(path), SAMPLES "%s", replies[i]);
		body = shared_slurp(path, &len);
		ok(body != NULL && xs_xmlrpc_decode_reply(body, len, a, &r, err) == XS_OK && r.ok,
		   "%s: %s", replies[i], body ? err : "missing");
		free(body);
		xs_rpc_arena_free(&a);
	}
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_call call;
		char *body;

		snprintf(path, sizeof(path), SAMPLES "%s", calls[i]);
		body = shared_slurp(path, &len);
		ok(body != NULL && xs_xmlrpc_decode_call(body, len, a, &call, err) == XS_OK &&
			   strchr(calls[i], '.') != NULL &&
			   strstr(calls[i], call.method) != NULL && call.params->u.arr.n >= 1,
		   "%s: %s", calls[i], body ? err : "missing");
		free(body);
		xs_rpc_arena_free(&a);
	}
}

int main(void)
{
	TEST_RUN(test_value_forms);
	TEST_RUN(test_calls);
	TEST_RUN(test_replies);
	TEST_RUN(test_truncations);
	TEST_RUN(test_depth);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_real_login);
	TEST_RUN(test_real_hosts);
	TEST_RUN(test_real_vms);
	TEST_RUN(test_real_others);
	return test_summary();
}
