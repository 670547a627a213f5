/*
 * Tests of the RPC value tree (src/xapi/rpc_value.c): the arena, every
 * constructor, arrays and structs growing, lookups and their typed forms,
 * deep equality, and the reply accessors.
 */
#include <math.h>
#include <string.h>

#include "test.h"
#include "xapi/rpc_value.h"

static void test_arena(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_arena *none = NULL;
	static char big[100000];
	struct xs_rpc_value *v;
	size_t before;

	fail_unless(a != NULL, "arena");
	ok(xs_rpc_arena_bytes(a) == 0, "a new arena holds nothing");
	v = xs_rpc_int(a, 1);
	before = xs_rpc_arena_bytes(a);
	ok(before > 0, "bytes grow");
	memset(big, 'x', sizeof(big));
	v = xs_rpc_string(a, big, sizeof(big));
	ok(v->u.str.len == sizeof(big) && v->u.str.ptr[sizeof(big)] == '\0', "big string, NUL");
	ok(xs_rpc_arena_bytes(a) >= before + sizeof(big), "big string counted");
	/* small allocations still fit in the first chunk after a big one */
	v = xs_rpc_cstring(a, "small");
	ok(v->u.str.len == 5 && !strcmp(v->u.str.ptr, "small"), "small after big");
	ok(((uintptr_t)xs_rpc_nil(a) % sizeof(void *)) == 0, "aligned");
	ok(!strcmp(xs_rpc_strndup(a, "abcdef", 3), "abc"), "strndup");
	xs_rpc_arena_free(&a);
	ok(a == NULL, "free sets NULL");
	xs_rpc_arena_free(&a);
	xs_rpc_arena_free(&none);
	xs_rpc_arena_free(NULL);
	ok(xs_rpc_arena_bytes(NULL) == 0, "NULL arena holds nothing");
}

static void test_scalars(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_value *v;

	ok(xs_rpc_nil(a)->type == XS_RPC_NIL, "nil");
	v = xs_rpc_string(a, "a\0b", 3);
	ok(v->type == XS_RPC_STRING && v->u.str.len == 3 && !memcmp(v->u.str.ptr, "a\0b", 4),
	   "string with NUL inside");
	v = xs_rpc_string(a, NULL, 0);
	ok(v->u.str.len == 0 && v->u.str.ptr[0] == '\0', "empty string from NULL");
	v = xs_rpc_int(a, INT64_MIN);
	ok(v->type == XS_RPC_INT && v->u.i == INT64_MIN, "int");
	ok(xs_rpc_bool(a, true)->u.b && !xs_rpc_bool(a, false)->u.b, "bool");
	v = xs_rpc_double(a, 0.1);
	ok(v->type == XS_RPC_DOUBLE && v->u.d == 0.1, "double");
	v = xs_rpc_datetime(a, "20140919T15:47:57Z", 18);
	ok(v->type == XS_RPC_DATETIME && !strcmp(v->u.str.ptr, "20140919T15:47:57Z"), "datetime");
	xs_rpc_arena_free(&a);
}

static void test_containers(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_value *arr = xs_rpc_array(a), *st = xs_rpc_struct(a);
	char key[32];
	int64_t i64;
	bool b;
	size_t i;

	for (i = 0; i < 1000; i++)
		xs_rpc_array_push(a, arr, xs_rpc_int(a, (int64_t)i));
	ok(arr->u.arr.n == 1000, "1000 items");
	ok(xs_rpc_at(arr, 999)->u.i == 999 && xs_rpc_at(arr, 0)->u.i == 0, "items kept in order");
	ok(xs_rpc_at(arr, 1000) == NULL && xs_rpc_at(st, 0) == NULL && xs_rpc_at(NULL, 0) == NULL,
	   "at out of range / wrong type / NULL");
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		xs_rpc_struct_cset(a, st, key, xs_rpc_int(a, (int64_t)i));
	}
	ok(st->u.st.n == 300 && xs_rpc_get(st, "k299")->u.i == 299, "300 members");
	ok(xs_rpc_get(st, "nope") == NULL && xs_rpc_get(arr, "k1") == NULL &&
	   xs_rpc_get(NULL, "k1") == NULL, "get misses");
	xs_rpc_struct_cset(a, st, "k1", xs_rpc_cstring(a, "again"));
	ok(!strcmp(xs_rpc_get_str(st, "k1"), "again"), "the last duplicate wins");
	xs_rpc_struct_set(a, st, "key\0x", 5, xs_rpc_cstring(a, "binary"));
	ok(st->u.st.members[st->u.st.n - 1].key_len == 5, "key with NUL kept whole");

	xs_rpc_struct_cset(a, st, "s64", xs_rpc_cstring(a, "2147483648"));
	xs_rpc_struct_cset(a, st, "neg", xs_rpc_cstring(a, "-1"));
	xs_rpc_struct_cset(a, st, "bad", xs_rpc_cstring(a, "12x"));
	xs_rpc_struct_cset(a, st, "i", xs_rpc_int(a, 7));
	xs_rpc_struct_cset(a, st, "t", xs_rpc_cstring(a, "true"));
	xs_rpc_struct_cset(a, st, "f", xs_rpc_bool(a, false));
	xs_rpc_struct_cset(a, st, "d", xs_rpc_datetime(a, "19700101T00:00:00Z", 18));
	ok(xs_rpc_get_i64(st, "s64", &i64) && i64 == 2147483648LL, "int64 as string");
	ok(xs_rpc_get_i64(st, "neg", &i64) && i64 == -1, "-1 as string");
	ok(xs_rpc_get_i64(st, "i", &i64) && i64 == 7, "int");
	ok(!xs_rpc_get_i64(st, "bad", &i64) && !xs_rpc_get_i64(st, "t", &i64) &&
	   !xs_rpc_get_i64(st, "nope", &i64) && !xs_rpc_get_i64(st, "f", &i64), "bad ints");
	ok(xs_rpc_get_bool(st, "t", &b) && b, "\"true\"");
	ok(xs_rpc_get_bool(st, "f", &b) && !b, "false");
	ok(!xs_rpc_get_bool(st, "s64", &b) && !xs_rpc_get_bool(st, "i", &b) &&
	   !xs_rpc_get_bool(st, "nope", &b), "bad bools");
	ok(!strcmp(xs_rpc_get_str(st, "d"), "19700101T00:00:00Z"), "datetime text");
	ok(xs_rpc_get_str(st, "i") == NULL && xs_rpc_get_str(st, "nope") == NULL, "not strings");
	xs_rpc_arena_free(&a);
}

/* A small tree built twice, then changed in one place. */
static struct xs_rpc_value *tree(struct xs_rpc_arena *a, double d)
{
	struct xs_rpc_value *st = xs_rpc_struct(a), *arr = xs_rpc_array(a);

	xs_rpc_array_push(a, arr, xs_rpc_cstring(a, "x"));
	xs_rpc_array_push(a, arr, xs_rpc_nil(a));
	xs_rpc_array_push(a, arr, xs_rpc_double(a, d));
	xs_rpc_struct_cset(a, st, "list", arr);
	xs_rpc_struct_cset(a, st, "n", xs_rpc_int(a, 3));
	xs_rpc_struct_cset(a, st, "b", xs_rpc_bool(a, true));
	xs_rpc_struct_cset(a, st, "when", xs_rpc_datetime(a, "20140919T15:47:57Z", 18));
	return st;
}

static void test_equal(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();

	ok(xs_rpc_equal(tree(a, 1.5), tree(a, 1.5)), "same trees");
	ok(!xs_rpc_equal(tree(a, 1.5), tree(a, 2.5)), "a double differs");
	ok(xs_rpc_equal(tree(a, NAN), tree(a, NAN)), "NaN equals NaN (round trips)");
	ok(!xs_rpc_equal(tree(a, 0.0), tree(a, -0.0)), "0 and -0 differ");
	ok(xs_rpc_equal(NULL, NULL) && !xs_rpc_equal(NULL, xs_rpc_nil(a)), "NULLs");
	ok(!xs_rpc_equal(xs_rpc_cstring(a, "1"), xs_rpc_int(a, 1)), "types differ");
	ok(!xs_rpc_equal(xs_rpc_cstring(a, "t"), xs_rpc_datetime(a, "t", 1)), "string vs datetime");
	ok(!xs_rpc_equal(xs_rpc_cstring(a, "ab"), xs_rpc_cstring(a, "abc")), "lengths differ");
	ok(xs_rpc_equal(xs_rpc_struct(a), xs_rpc_struct(a)), "empty structs");
	ok(!xs_rpc_equal(xs_rpc_struct(a), xs_rpc_array(a)), "empty struct vs array");
	xs_rpc_arena_free(&a);
}

static void test_reply(void)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_reply r = { false, xs_rpc_array(a) };

	ok(!strcmp(xs_rpc_reply_code(&r), "") && xs_rpc_reply_param(&r, 0) == NULL, "no code");
	xs_rpc_array_push(a, r.value, xs_rpc_cstring(a, "HOST_IS_SLAVE"));
	xs_rpc_array_push(a, r.value, xs_rpc_cstring(a, "10.0.0.2"));
	ok(!strcmp(xs_rpc_reply_code(&r), "HOST_IS_SLAVE"), "code");
	ok(!strcmp(xs_rpc_reply_param(&r, 0), "10.0.0.2"), "param 0");
	ok(xs_rpc_reply_param(&r, 1) == NULL && xs_rpc_reply_param(&r, SIZE_MAX) == NULL,
	   "no param 1");
	r.ok = true;
	ok(!strcmp(xs_rpc_reply_code(&r), "") && xs_rpc_reply_param(&r, 0) == NULL, "ok reply");
	ok(!strcmp(xs_rpc_reply_code(NULL), ""), "NULL reply");
	xs_rpc_arena_free(&a);
}

int main(void)
{
	TEST_RUN(test_arena);
	TEST_RUN(test_scalars);
	TEST_RUN(test_containers);
	TEST_RUN(test_equal);
	TEST_RUN(test_reply);
	return test_summary();
}
