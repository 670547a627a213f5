/*
 * Tests of src/lib/buf.c: appends and growth, the hard cap (and that a failed
 * buffer frees itself), printf, consume, reserve/commit and take.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "test.h"

static void test_empty(void)
{
	struct xs_buf b;

	xs_buf_init(&b, 100);
	ok(b.data == NULL && b.len == 0 && b.cap == 0 && b.limit == 100, "init allocates nothing");
	ok(xs_buf_append(&b, NULL, 0) == XS_OK && b.data == NULL, "empty append allocates nothing");
	ok(xs_buf_room(&b) == 0, "no room before the first reserve");
	xs_buf_consume(&b, 5);
	xs_buf_reset(&b);
	ok(b.len == 0, "consume and reset on an empty buffer");
	xs_buf_free(&b);
	xs_buf_free(NULL);
	ok(b.limit == 100, "free keeps the limit");
}

static void test_append_grow(void)
{
	struct xs_buf b;
	char want[5000];

	xs_buf_init(&b, sizeof(want));
	for (size_t i = 0; i < sizeof(want); i++) {
		char c = (char)('a' + i % 26);

		want[i] = c;
		if (xs_buf_append(&b, &c, 1) != XS_OK)
			break;
	}
	ok(b.len == sizeof(want), "5000 one-byte appends");
	ok(b.data && !memcmp(b.data, want, sizeof(want)), "content intact across growth");
	ok(b.data && b.data[b.len] == '\0', "NUL-terminated");
	ok(b.cap == sizeof(want) + 1, "capacity clamped to limit + 1 (got %zu)", b.cap);
	xs_buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "free empties");
}

static void test_limit(void)
{
	struct xs_buf b;

	xs_buf_init(&b, 10);
	ok(xs_buf_append(&b, "0123456789", 10) == XS_OK, "exactly the limit fits");
	ok(xs_buf_append(&b, "x", 1) == XS_ERR_TOO_LARGE, "one byte more fails");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "a failed buffer freed itself");
	ok(xs_buf_append_str(&b, "abc") == XS_OK && b.len == 3, "usable after failure");
	ok(xs_buf_append(&b, "0123456789", 10) == XS_ERR_TOO_LARGE, "3 + 10 > 10");
	xs_buf_init(&b, 0);
	ok(xs_buf_append(&b, "x", 1) == XS_ERR_TOO_LARGE, "limit 0 takes nothing");
	ok(xs_buf_append(&b, "x", SIZE_MAX) == XS_ERR_TOO_LARGE, "huge n does not overflow");
	xs_buf_init(&b, SIZE_MAX);
	ok(xs_buf_append(&b, "ab", 2) == XS_OK, "limit SIZE_MAX");
	ok(xs_buf_reserve(&b, SIZE_MAX - 1) == XS_ERR_TOO_LARGE, "len + n + 1 overflow rejected");
	xs_buf_free(&b);
}

static void test_printf(void)
{
	struct xs_buf b;
	char big[300];

	xs_buf_init(&b, 1000);
	ok(xs_buf_printf(&b, "%d-%s", 42, "x") == XS_OK, "printf");
	ok(b.len == 4 && !strcmp(b.data, "42-x"), "printf content '%s'", b.data ? b.data : "");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(xs_buf_printf(&b, "[%s]", big) == XS_OK, "printf that must grow");
	ok(b.len == 4 + 301 && b.data[4] == '[' && b.data[b.len - 1] == ']' && b.data[b.len] == '\0',
	   "grown printf content");
	ok(xs_buf_printf(&b, "%s%s%s%s", big, big, big, big) == XS_ERR_TOO_LARGE,
	   "printf past the limit");
	ok(b.data == NULL && b.len == 0, "printf failure frees");
	xs_buf_init(&b, 5);
	ok(xs_buf_printf(&b, "%s", "12345") == XS_OK && b.len == 5, "printf exactly to the limit");
	ok(xs_buf_printf(&b, "%s", "") == XS_OK && b.len == 5, "empty printf at the limit");
	ok(xs_buf_printf(&b, "%c", 'x') == XS_ERR_TOO_LARGE, "printf one past");
	xs_buf_free(&b);
}

static void test_consume(void)
{
	struct xs_buf b;

	xs_buf_init(&b, 100);
	ok(xs_buf_append_str(&b, "hello world") == XS_OK, "append");
	xs_buf_consume(&b, 6);
	ok(b.len == 5 && !strcmp(b.data, "world"), "consume the front");
	xs_buf_consume(&b, 0);
	ok(b.len == 5, "consume 0");
	xs_buf_consume(&b, 99);
	ok(b.len == 0 && b.data && b.data[0] == '\0', "consume more than len empties");
	ok(xs_buf_append_str(&b, "again") == XS_OK && !strcmp(b.data, "again"), "reuse");
	xs_buf_reset(&b);
	ok(b.len == 0 && b.cap > 0, "reset keeps memory");
	xs_buf_free(&b);
}

static void test_reserve_commit_take(void)
{
	struct xs_buf b;
	size_t len = 0;
	char *p;

	xs_buf_init(&b, 8);
	ok(xs_buf_reserve(&b, 3) == XS_OK, "reserve");
	ok(xs_buf_room(&b) >= 3 && xs_buf_room(&b) <= 8, "room %zu within the limit",
	   xs_buf_room(&b));
	memcpy(b.data + b.len, "abc", 3);
	xs_buf_commit(&b, 3);
	ok(b.len == 3 && !strcmp(b.data, "abc"), "commit");
	ok(xs_buf_room(&b) == 5, "room is bounded by the limit (%zu)", xs_buf_room(&b));
	ok(xs_buf_reserve(&b, 6) == XS_ERR_TOO_LARGE && b.data == NULL, "reserve past the limit");
	ok(xs_buf_append_str(&b, "xyz") == XS_OK, "append");
	p = xs_buf_take(&b, &len);
	ok(p && len == 3 && !strcmp(p, "xyz"), "take hands over the content");
	ok(b.data == NULL && b.len == 0 && b.cap == 0 && b.limit == 8, "take leaves it empty");
	free(p);
	ok(xs_buf_take(&b, NULL) == NULL, "take of nothing");
}

int main(void)
{
	TEST_RUN(test_empty);
	TEST_RUN(test_append_grow);
	TEST_RUN(test_limit);
	TEST_RUN(test_printf);
	TEST_RUN(test_consume);
	TEST_RUN(test_reserve_commit_take);
	return test_summary();
}
