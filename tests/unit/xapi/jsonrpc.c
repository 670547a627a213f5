/*
 * Tests of the JSON-RPC codec (src/xapi/jsonrpc.c): values, calls and
 * replies of versions 1.0 and 2.0 in both directions, errors with their
 * byte offsets, every truncation point, the nesting cap, round trips, and the
 * real JSON-RPC capture of ../shared/xapi/samples/real-misc (read at run
 * time from $XS_SHARED_DIR, never copied into the repository).
 */
#include <math.h>
#include <string.h>

#include "test.h"
#include "support/shared_file.h"
#include "xapi/jsonrpc.h"

#define BODY_CAP (16u << 20)

/* Encodes v as JSON into a static string (for comparisons). */
static const char *enc(const struct xs_rpc_value *v)
{
	static char out[4096];
	struct xs_buf b;

	xs_buf_init(&b, sizeof(out) - 1);
	if (xs_jsonrpc_encode_value(&b, v) != XS_OK) {
		snprintf(out, sizeof(out), "(encode failed)");
	} else {
		memcpy(out, b.data, b.len + 1);
	}
	xs_buf_free(&b);
	return out;
}

/* A call's first param: JSON text in, its re-encoding (or the error) out. */
static const struct {
	const char *param;
	const char *want;
	const char *type; /* expected type letter: S I D B N A T(struct) */
} value_cases[] = {
	{ "\"text\"", "\"text\"", "S" },
	{ "\"\"", "\"\"", "S" },
	{ "\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\\u0001\"",
	  "\"a\\\"b\\\\c/d\\n\\t\xc3\xa9\xf0\x9f\x98\x80\\u0001\"", "S" },
	{ "42", "42", "I" },
	{ "-9223372036854775808", "-9223372036854775808", "I" },
	{ "9223372036854775808", "9.223372036854776e+18", "D" },
	{ "1.5", "1.5", "D" },
	{ "1.0", "1.0", "D" },
	{ "1e3", "1000.0", "D" },
	{ "-0.0", "-0.0", "D" },
	{ "NaN", "NaN", "D" },
	{ "-Infinity", "-Infinity", "D" },
	{ "true", "true", "B" },
	{ "false", "false", "B" },
	{ "null", "null", "N" },
	{ "[]", "[]", "A" },
	{ " [ 1 , \"x\" , [ ] , { } ] ", "[1,\"x\",[],{}]", "A" },
	{ "{}", "{}", "T" },
	{ "{\"OpaqueRef:a\":{\"k\":\"v\"},\"n\":null}", "{\"OpaqueRef:a\":{\"k\":\"v\"},\"n\":null}",
	  "T" },
	{ "{\"a\\u0000b\":1}", "{\"a\\u0000b\":1}", "T" },
};

static char type_letter(const struct xs_rpc_value *v)
{
	static const char letters[] = "NSIBDTAT";

	if (v->type == XS_RPC_ARRAY)
		return 'A';
	if (v->type == XS_RPC_STRUCT)
		return 'T';
	return letters[v->type];
}

static void test_values(void)
{
	char body[1024], err[XS_ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_call call;
		int n = snprintf(body, sizeof(body), "{\"method\":\"m\",\"params\":[%s],\"id\":1}",
				 value_cases[i].param);
		enum xs_err rc = xs_jsonrpc_decode_call(body, (size_t)n, a, &call, err);

		ok(rc == XS_OK, "case %zu (%s): %s", i, value_cases[i].param, err);
		if (rc == XS_OK) {
			const struct xs_rpc_value *v = xs_rpc_at(call.params, 0);

			ok(!strcmp(enc(v), value_cases[i].want), "case %zu: got %s want %s", i, enc(v),
			   value_cases[i].want);
			ok(type_letter(v) == value_cases[i].type[0], "case %zu: type %c", i,
			   type_letter(v));
		}
		xs_rpc_arena_free(&a);
	}
}

static const struct {
	const char *body;
	int version;
	const char *method;
	const char *id;    /* the id re-encoded, or NULL if absent */
	size_t nparams;
	const char *error; /* or NULL */
} call_cases[] = {
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"session.login_with_password\","
	  "\"params\":[\"root\",\"pw\",\"1.0\",\"myclient\"],\"id\":1}",
	  2, "session.login_with_password", "1", 4, NULL },
	{ "{\"method\":\"VM.get_all_records\",\"params\":[\"OpaqueRef:s\"],\"id\":\"abc\"}", 1,
	  "VM.get_all_records", "\"abc\"", 1, NULL },
	{ "{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"params\":[],\"id\":null}", 1, "m", "null", 0,
	  NULL },
	{ "\xEF\xBB\xBF {\"jsonrpc\":\"2.0\",\"method\":\"m\"} \n", 2, "m", NULL, 0, NULL },
	{ "{\"method\":\"m\",\"params\":null}", 1, "m", NULL, 0, NULL },
	{ "", 0, NULL, NULL, 0, "byte 0: unexpected end of input" },
	{ "[1]", 0, NULL, NULL, 0, "byte 0: the body is not a JSON object" },
	{ "{\"method\":\"m\"} x", 0, NULL, NULL, 0, "byte 15: junk after the document" },
	{ "{\"method\":\"m\",}", 0, NULL, NULL, 0, "byte 14: expected a member name" },
	{ "{\"method\" \"m\"}", 0, NULL, NULL, 0, "byte 10: expected ':' after a member name" },
	{ "{\"method\":\"m\" \"x\"}", 0, NULL, NULL, 0, "byte 14: expected ',' or '}'" },
	{ "{\"params\":[1 2]}", 0, NULL, NULL, 0, "byte 13: expected ',' or ']'" },
	{ "{\"params\":[1,]}", 0, NULL, NULL, 0, "byte 13: unexpected ']'" },
	{ "{\"method\":\"a\nb\"}", 0, NULL, NULL, 0, "byte 12: control character 0x0a inside a string" },
	{ "{\"method\":\"ab", 0, NULL, NULL, 0, "byte 10: unterminated string" },
	{ "{\"method\":\"\\x\"}", 0, NULL, NULL, 0, "byte 10: bad escape sequence in a string" },
	{ "{\"method\":\"\\ud800\"}", 0, NULL, NULL, 0, "byte 10: bad escape sequence in a string" },
	{ "{\"method\":tru}", 0, NULL, NULL, 0, "byte 10: unexpected word 'tru'" },
	{ "{\"method\":1}", 0, NULL, NULL, 0, "byte 0: no \"method\" string" },
	{ "{\"method\":\"\"}", 0, NULL, NULL, 0, "no \"method\" string" },
	{ "{\"method\":\"a\\u0000\"}", 0, NULL, NULL, 0, "no \"method\" string" },
	{ "{\"jsonrpc\":\"3.0\",\"method\":\"m\"}", 0, NULL, NULL, 0,
	  "byte 0: \"jsonrpc\" is not \"2.0\"" },
	{ "{\"method\":\"m\",\"params\":{\"a\":1}}", 0, NULL, NULL, 0,
	  "byte 0: \"params\" is not an array" },
	{ "{\"method\":\"m\",\"params\":[1,2,", 0, NULL, NULL, 0, "byte 28: unexpected end of input" },
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
		rc = xs_jsonrpc_decode_call(call_cases[i].body, strlen(call_cases[i].body), a, &call,
					    err);
		if (call_cases[i].error != NULL) {
			ok(rc != XS_OK && strstr(err, call_cases[i].error) != NULL &&
				   call.method == NULL,
			   "call %zu: got \"%s\" want \"%s\"", i, err, call_cases[i].error);
		} else if (ok(rc == XS_OK, "call %zu: %s", i, err)) {
			ok(call.jsonrpc == call_cases[i].version && !strcmp(call.method, call_cases[i].method) &&
				   call.params->u.arr.n == call_cases[i].nparams,
			   "call %zu: version, method, params", i);
			if (call_cases[i].id == NULL)
				ok(call.id == NULL, "call %zu: no id", i);
			else
				ok(call.id != NULL && !strcmp(enc(call.id), call_cases[i].id),
				   "call %zu: id", i);
		}
		xs_rpc_arena_free(&a);
	}
}

static const struct {
	const char *body;
	bool ok;
	const char *want;  /* value or error ARRAY, encoded */
	const char *error; /* or NULL */
} reply_cases[] = {
	{ "{\"jsonrpc\":\"2.0\",\"result\":\"OpaqueRef:x\",\"id\":1}", true, "\"OpaqueRef:x\"", NULL },
	{ "{\"result\":{\"a\":[1]},\"error\":null,\"id\":1}", true, "{\"a\":[1]}", NULL },
	{ "{\"result\":null,\"error\":null,\"id\":1}", true, "null", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"HOST_IS_SLAVE\","
	  "\"data\":[\"10.0.0.2\"]},\"id\":1}",
	  false, "[\"HOST_IS_SLAVE\",\"10.0.0.2\"]", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"SESSION_AUTHENTICATION_FAILED\"},"
	  "\"id\":1}",
	  false, "[\"SESSION_AUTHENTICATION_FAILED\"]", NULL },
	{ "{\"result\":null,\"error\":[\"SESSION_INVALID\",\"OpaqueRef:s\"],\"id\":7}", false,
	  "[\"SESSION_INVALID\",\"OpaqueRef:s\"]", NULL },
	{ "{\"error\":\"MESSAGE_METHOD_UNKNOWN\",\"id\":7}", false, "[\"MESSAGE_METHOD_UNKNOWN\"]",
	  NULL },
	{ "{\"id\":1}", false, NULL, "byte 0: neither \"result\" nor \"error\"" },
	{ "{\"error\":5,\"id\":1}", false, NULL, "\"error\" is neither null, an array nor an object" },
	{ "{\"error\":{\"message\":5},\"id\":1}", false, NULL, "error \"message\" is not a string" },
	{ "{\"jsonrpc\":2,\"result\":1}", false, NULL, "\"jsonrpc\" is not \"2.0\"" },
	{ "\"x\"", false, NULL, "the body is not a JSON object" },
	{ "<?xml version=\"1.0\"?><methodResponse/>", false, NULL, "byte 0: unexpected" },
};

static void test_replies(void)
{
	char err[XS_ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;
		enum xs_err rc;

		err[0] = '\0';
		rc = xs_jsonrpc_decode_reply(reply_cases[i].body, strlen(reply_cases[i].body), a, &r,
					     err);
		if (reply_cases[i].error != NULL) {
			ok(rc != XS_OK && strstr(err, reply_cases[i].error) != NULL && r.value == NULL,
			   "reply %zu: got \"%s\" want \"%s\"", i, err, reply_cases[i].error);
		} else if (ok(rc == XS_OK, "reply %zu: %s", i, err)) {
			ok(r.ok == reply_cases[i].ok && !strcmp(enc(r.value), reply_cases[i].want),
			   "reply %zu: got %s want %s", i, enc(r.value), reply_cases[i].want);
		}
		xs_rpc_arena_free(&a);
	}
}

static void test_encode(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_value *params = xs_rpc_array(a), *e = xs_rpc_array(a);
	struct xs_rpc_call call = { "m", NULL, NULL, 2 };
	struct xs_rpc_reply r = { true, NULL };
	struct xs_buf b;

	xs_rpc_array_push(a, params, xs_rpc_cstring(a, "root"));
	xs_rpc_array_push(a, params, xs_rpc_datetime(a, "20140919T15:47:57Z", 18));
	xs_rpc_array_push(a, params, xs_rpc_double(a, 60.1));
	xs_rpc_array_push(a, params, xs_rpc_double(a, 60));
	xs_buf_init(&b, BODY_CAP);
	ok(xs_jsonrpc_encode_call(&b, 2, "event.from", params, 1) == XS_OK &&
		   !strcmp(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"event.from\",\"params\":"
				   "[\"root\",\"20140919T15:47:57Z\",60.1,60.0],\"id\":1}"),
	   "v2 call: %s", b.data);
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_call(&b, 1, "m", NULL, -5) == XS_OK &&
		   !strcmp(b.data, "{\"method\":\"m\",\"params\":[],\"id\":-5}"),
	   "v1 call: %s", b.data);
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_call(&b, 3, "m", NULL, 1) == XS_ERR_ARG, "version 3");
	ok(xs_jsonrpc_encode_call(&b, 2, "m", e, 1) == XS_OK, "empty params");
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_call_id(&b, 2, "m", NULL, NULL) == XS_OK &&
		   !strcmp(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}"),
	   "notification: %s", b.data);

	call.id = xs_rpc_int(a, 9);
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_reply(&b, &call, &r) == XS_OK &&
		   !strcmp(b.data, "{\"jsonrpc\":\"2.0\",\"result\":\"\",\"id\":9}"),
	   "v2 void result: %s", b.data);
	xs_rpc_array_push(a, e, xs_rpc_cstring(a, "HOST_IS_SLAVE"));
	xs_rpc_array_push(a, e, xs_rpc_cstring(a, "10.0.0.2"));
	r.ok = false;
	r.value = e;
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_reply(&b, &call, &r) == XS_OK &&
		   !strcmp(b.data, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
				   "\"HOST_IS_SLAVE\",\"data\":[\"10.0.0.2\"]},\"id\":9}"),
	   "v2 error: %s", b.data);
	call.jsonrpc = 1;
	call.id = xs_rpc_cstring(a, "x");
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_reply(&b, &call, &r) == XS_OK &&
		   !strcmp(b.data, "{\"result\":null,\"error\":[\"HOST_IS_SLAVE\",\"10.0.0.2\"],"
				   "\"id\":\"x\"}"),
	   "v1 error: %s", b.data);
	r.ok = true;
	r.value = xs_rpc_int(a, 3);
	xs_buf_reset(&b);
	ok(xs_jsonrpc_encode_reply(&b, &call, &r) == XS_OK &&
		   !strcmp(b.data, "{\"result\":3,\"error\":null,\"id\":\"x\"}"), "v1 result: %s",
	   b.data);
	ok(!strcmp(enc(xs_rpc_string(a, "\x01\x1f\"\\\r\x7f", 6)), "\"\\u0001\\u001f\\\"\\\\\\r\x7f\""),
	   "string escapes: %s", enc(xs_rpc_string(a, "\x01\x1f\"\\\r\x7f", 6)));
	ok(!strcmp(enc(xs_rpc_double(a, 1e21)), "1e+21") && !strcmp(enc(xs_rpc_double(a, -3)), "-3.0"),
	   "doubles stay doubles");
	xs_buf_free(&b);
	xs_rpc_arena_free(&a);
}

static void test_round_trips(void)
{
	static const char *const bodies[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":[{\"a\":[1,2.5,\"s\\n\",true,null,"
		"{}],\"a\":-0.0,\"\":{\"k\":[[[]]]}},NaN,-Infinity,1e300,\"\\u0000\"],\"id\":\"q\"}",
		"{\"method\":\"x\",\"params\":[],\"id\":null}",
		"{\"method\":\"x\"}",
	};
	char err[XS_ERR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_call c1, c2;
		struct xs_buf b;

		xs_buf_init(&b, BODY_CAP);
		ok(xs_jsonrpc_decode_call(bodies[i], strlen(bodies[i]), a, &c1, err) == XS_OK &&
			   xs_jsonrpc_encode_call_id(&b, c1.jsonrpc, c1.method, c1.params, c1.id) ==
				   XS_OK &&
			   xs_jsonrpc_decode_call(b.data, b.len, a, &c2, err) == XS_OK &&
			   c1.jsonrpc == c2.jsonrpc && !strcmp(c1.method, c2.method) &&
			   xs_rpc_equal(c1.params, c2.params) && xs_rpc_equal(c1.id, c2.id),
		   "round trip %zu: %s", i, err);
		xs_buf_free(&b);
		xs_rpc_arena_free(&a);
	}
}

static void test_truncations(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"OpaqueRef:a\":{\"n\":[1,2.5,"
				   "\"x\\u00e9\",true,null]}},\"id\":1}";
	size_t n, bad = 0;
	char err[XS_ERR_LEN];

	for (n = 0; n < sizeof(body) - 1; n++) {
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;
		char *copy = malloc(n + 1);

		memcpy(copy, body, n);
		if (xs_jsonrpc_decode_reply(copy, n, a, &r, err) == XS_OK || strncmp(err, "byte ", 5))
			bad++;
		free(copy);
		xs_rpc_arena_free(&a);
	}
	ok(bad == 0, "%zu of %zu truncations decoded or had no offset", bad, sizeof(body) - 1);
}

static char *nested(size_t depth, size_t *len)
{
	struct xs_buf b;
	size_t i;
	enum xs_err rc;

	xs_buf_init(&b, 8u << 20);
	rc = xs_buf_append_str(&b, "{\"result\":");
	for (i = 0; rc == XS_OK && i < depth; i++)
		rc = xs_buf_append_str(&b, "[");
	for (i = 0; rc == XS_OK && i < depth; i++)
		rc = xs_buf_append_str(&b, "]");
	if (rc == XS_OK)
		rc = xs_buf_append_str(&b, "}");
	return xs_buf_take(&b, len);
}

static void test_depth(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_reply r;
	char err[XS_ERR_LEN];
	size_t len;
	char *body = nested(XS_RPC_MAX_DEPTH - 1, &len);

	ok(xs_jsonrpc_decode_reply(body, len, a, &r, err) == XS_OK, "63 arrays + the object: %s", err);
	free(body);
	body = nested(XS_RPC_MAX_DEPTH, &len);
	ok(xs_jsonrpc_decode_reply(body, len, a, &r, err) == XS_ERR_TOO_LARGE &&
		   strstr(err, "byte 73: arrays and objects nested deeper than 64"),
	   "64 arrays + the object refused: %s", err);
	free(body);
	body = nested(1000000, &len);
	ok(xs_jsonrpc_decode_reply(body, len, a, &r, err) == XS_ERR_TOO_LARGE, "a million arrays");
	free(body);
	xs_rpc_arena_free(&a);
}

/* A string far beyond lib/json_scan's XS_JSON_MAX_STRING. */
static void test_long_string(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_reply r;
	char err[XS_ERR_LEN];
	struct xs_buf b;
	size_t i;
	enum xs_err rc;

	xs_buf_init(&b, BODY_CAP);
	rc = xs_buf_append_str(&b, "{\"result\":\"");
	for (i = 0; rc == XS_OK && i < 10000; i++)
		rc = xs_buf_append_str(&b, i % 100 ? "ab" : "\\\"");
	if (rc == XS_OK)
		rc = xs_buf_append_str(&b, "\",\"error\":null}");
	ok(rc == XS_OK && xs_jsonrpc_decode_reply(b.data, b.len, a, &r, err) == XS_OK &&
		   r.value->u.str.len == 19900,
	   "20 KB string: %s", err);
	xs_buf_free(&b);
	xs_rpc_arena_free(&a);
}

/* The capture's bodies sit between "= Body begin =" and "= Body end =" lines. */
static void test_real_capture(void)
{
	size_t len, found = 0;
	char *text = shared_slurp("xapi/samples/real-misc/gthvn1-zapi.README.jsonrpc-capture.txt", &len);
	const char *p;
	char err[XS_ERR_LEN];

	fail_unless(text != NULL, "capture not found (XS_SHARED_DIR)");
	for (p = text; (p = strstr(p, "= Body begin =\n")) != NULL;) {
		const char *start = p + 15, *end = strstr(start, "= Body end =");
		struct xs_rpc_arena *a = xs_rpc_arena_new();
		struct xs_rpc_reply r;

		if (end == NULL) {
			xs_rpc_arena_free(&a);
			break;
		}
		ok(xs_jsonrpc_decode_reply(start, (size_t)(end - start), a, &r, err) == XS_OK && r.ok &&
			   r.value->type == XS_RPC_STRING,
		   "capture body %zu: %s", found, err);
		if (found == 0)
			ok(!strcmp(r.value->u.str.ptr, "OpaqueRef:74f6c79a-667f-1d96-8db5-dd9d7f61798c"),
			   "login result is the session ref");
		else
			ok(r.value->u.str.len == 0, "logout result is \"\"");
		found++;
		p = end;
		xs_rpc_arena_free(&a);
	}
	ok(found == 2, "2 bodies in the capture (%zu)", found);
	free(text);
}

int main(void)
{
	TEST_RUN(test_values);
	TEST_RUN(test_calls);
	TEST_RUN(test_replies);
	TEST_RUN(test_encode);
	TEST_RUN(test_round_trips);
	TEST_RUN(test_truncations);
	TEST_RUN(test_depth);
	TEST_RUN(test_long_string);
	TEST_RUN(test_real_capture);
	return test_summary();
}
