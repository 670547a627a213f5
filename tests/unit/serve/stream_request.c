/*
 * Tests of src/serve/stream_request.c, what a stream client sends:
 *   - the objects list: uuids split at commas (one trailing comma allowed),
 *     each 1..63 bytes of letters, digits and '-', at most the cap of them,
 *     capitals folded to lower case;
 *     every refusal a message that starts with "objects: " (with the byte, for
 *     an empty or overlong uuid and a bad character);
 *   - the cursor (Last-Event-ID): a table of ids and the times they hold (or
 *     none), round trips, truncations, the longest one; times out of range
 *     are clamped when written;
 *   - an integer id of before the cursor: digits only, 1..INT64_MAX.
 */
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "serve/stream_request.h"
#include "test.h"

static void test_objects(void)
{
	static const struct {
		const char *list;
		size_t cap;
		size_t n; /* 0: refused */
		const char *err;
	} cases[] = {
		{ "a", 4, 1, NULL },
		{ "3f2a-99,B,c", 4, 3, NULL },
		{ "a,b,", 4, 2, NULL },
		{ "a,b,c,d", 4, 4, NULL },
		{ "a,b,c,d,e", 4, 0, "objects: more than 4 objects" },
		{ "", 4, 0, "objects: missing (a list of VM and host uuids)" },
		{ ",", 4, 0, "objects: empty uuid at byte 0" },
		{ ",a", 4, 0, "objects: empty uuid at byte 0" },
		{ "a,,b", 4, 0, "objects: empty uuid at byte 2" },
		{ "a,b,,", 4, 0, "objects: empty uuid at byte 4" },
		{ "a,bb\"c", 4, 0, "objects: bad character at byte 4 (a uuid has letters, digits and '-')" },
		{ "a b", 4, 0, "objects: bad character at byte 1 (a uuid has letters, digits and '-')" },
		{ "a,b_c", 4, 0, "objects: bad character at byte 3 (a uuid has letters, digits and '-')" },
		{ "x,0000000000000000000000000000000000000000000000000000000000000000", 4, 0,
		  "objects: overlong uuid at byte 2" },
		{ "000000000000000000000000000000000000000000000000000000000000001", 4, 1, NULL },
		{ "a,b,a", 4, 0, "objects: a given twice (at byte 4)" },
		{ "ab-1,AB-1", 4, 0, "objects: ab-1 given twice (at byte 5)" },
	};
	char uuids[4][XS_STREAM_UUID_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[XS_ERR_LEN] = "";
		size_t n = 99;
		bool got = xs_stream_objects_parse(cases[i].list, uuids, cases[i].cap, &n, err);

		if (cases[i].n)
			ok(got && n == cases[i].n, "\"%s\": %zu uuids (%d, %zu, %s)", cases[i].list, cases[i].n, got,
			   n, err);
		else
			ok(!got && !strcmp(err, cases[i].err), "\"%s\": refused: %s", cases[i].list, err);
	}
	{
		size_t n = 0;
		char err[XS_ERR_LEN] = "";

		ok(xs_stream_objects_parse("3f2a-99,B,c", uuids, 4, &n, err) && !strcmp(uuids[0], "3f2a-99") &&
		   !strcmp(uuids[1], "b") && !strcmp(uuids[2], "c"),
		   "the uuids in the list's order, capitals folded: %s %s %s", uuids[0], uuids[1], uuids[2]);
		ok(xs_stream_objects_parse("3F2A9B1C-DEAD-4BEE-8000-0123456789AB,z", uuids, 4, &n, err) &&
			   !strcmp(uuids[0], "3f2a9b1c-dead-4bee-8000-0123456789ab") && !strcmp(uuids[1], "z"),
		   "a uuid in capitals is folded to lower case: %s", uuids[0]);
	}
}

/* The cursor's parser: a table of ids and the times they hold (or none), and round trips. */
static void test_cursor(void)
{
	static const struct {
		const char *id;
		size_t n;
		bool ok;
		int64_t last[3];
		const char *note;
	} cases[] = {
		{ "v1.0.0", 1, true, { 0 }, "one object at 0" },
		{ "v1.1a.0.5", 2, true, { 46, 51 }, "base 36" },
		{ "v1.s44we8.0.u.2s", 3, true, { 1700000000, 1700000030, 1700000100 }, "times of 2023" },
		{ "v1.1a.5.0", 2, true, { 51, 46 }, "any object may hold the base" },
		{ "v1.1a.0", 2, false, { 0 }, "fewer times than objects" },
		{ "v1.1a.0.5.6", 2, false, { 0 }, "more times than objects" },
		{ "v1.1a.0.5.", 2, false, { 0 }, "a trailing dot" },
		{ "v1.1a.0.5 ", 2, false, { 0 }, "a trailing space" },
		{ "v1..0.5", 2, false, { 0 }, "an empty base" },
		{ "v1.1a..5", 2, false, { 0 }, "an empty delta" },
		{ "v1.1A.0.5", 2, false, { 0 }, "upper case" },
		{ "v1.-1.0.5", 2, false, { 0 }, "a sign" },
		{ "v2.1a.0.5", 2, false, { 0 }, "another version" },
		{ "v1.1a", 1, false, { 0 }, "a base alone" },
		{ "v1.", 1, false, { 0 }, "nothing" },
		{ "", 1, false, { 0 }, "empty" },
		{ "1700000000", 1, false, { 0 }, "an integer id is not a cursor" },
		{ "v1.0.0", 0, false, { 0 }, "no objects" },
		{ "v1.e13wu1oh.0", 1, false, { 0 }, "a base past 2^40" },
		{ "v1.0.e13wu1oh", 1, false, { 0 }, "a delta past 2^40" },
		{ "v1.000000000.0", 1, false, { 0 }, "nine digits" },
		{ "v1.e13wu1og.e13wu1og", 1, true, { INT64_C(1) << 41 }, "the largest base and delta" },
	};
	char id[XS_STREAM_CURSOR_LEN(3)];
	int64_t last[3];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got;

		memset(last, 0, sizeof(last));
		got = xs_stream_cursor_parse(cases[i].id, cases[i].n, last);
		ok(got == cases[i].ok && (!got || !memcmp(last, cases[i].last, cases[i].n * sizeof(*last))),
		   "%s: \"%s\" of %zu objects: %d (%lld %lld %lld)", cases[i].note, cases[i].id, cases[i].n,
		   got, (long long)last[0], (long long)last[1], (long long)last[2]);
	}
	for (int r = 0; r < 4; r++) {
		static const int64_t times[4][3] = { { 1700000000, 1700000030, 1699999000 },
						     { 0, 1700000000, 5 },
						     { 7, 7, 7 },
						     { INT64_C(1) << 40, 0, 1 } };

		xs_stream_cursor_format(times[r], 3, id);
		ok(xs_stream_cursor_parse(id, 3, last) && !memcmp(last, times[r], sizeof(last)),
		   "round trip %d: %s", r, id);
	}
	{
		/* every truncation of a cursor is refused, but where it still reads as a
		 * cursor of three (a last delta cut shorter: "v1.0.rs.0.1" of "...1a") */
		static const char whole[] = "v1.0.rs.0.1a";
		int taken = 0;

		for (size_t n = 0; n < sizeof(whole) - 1; n++) {
			snprintf(id, sizeof(id), "%.*s", (int)n, whole);
			taken += xs_stream_cursor_parse(id, 3, last);
		}
		ok(taken == 1 && xs_stream_cursor_parse(whole, 3, last) && last[2] == 46,
		   "truncations of %s: %d taken", whole, taken);
	}
	{
		/* the longest: 256 objects, 0 and 2^40 */
		static int64_t many[256], back[256];
		static char big[XS_STREAM_CURSOR_LEN(256)];

		for (int k = 0; k < 256; k++)
			many[k] = k % 2 ? 0 : INT64_C(1) << 40;
		xs_stream_cursor_format(many, 256, big);
		ok(strlen(big) < sizeof(big) && xs_stream_cursor_parse(big, 256, back) &&
		   back[0] == INT64_C(1) << 40 && back[1] == 0 && back[255] == 0,
		   "256 objects far apart: %zu bytes", strlen(big));
	}
}

static void test_integer_id(void)
{
	static const struct {
		const char *id;
		bool ok;
		int64_t t;
	} cases[] = {
		{ "1700000000", true, 1700000000 },
		{ "1", true, 1 },
		{ "9223372036854775807", true, INT64_MAX },
		{ "9223372036854775808", false, 0 },
		{ "99999999999999999999999", false, 0 },
		{ "0", false, 0 },
		{ "", false, 0 },
		{ "-5", false, 0 },
		{ "+5", false, 0 },
		{ " 5", false, 0 },
		{ "5 ", false, 0 },
		{ "5x", false, 0 },
		{ "v1.0.0", false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		bool got = xs_stream_id_integer(cases[i].id, &t);

		ok(got == cases[i].ok && (!got || t == cases[i].t), "\"%s\": %d %lld", cases[i].id, got, (long long)t);
	}
}

static void test_cursor_clamped(void)
{
	static const int64_t times[3] = { -5, INT64_C(1) << 50, 100 };
	int64_t back[3];
	char id[XS_STREAM_CURSOR_LEN(3)];

	xs_stream_cursor_format(times, 3, id);
	ok(xs_stream_cursor_parse(id, 3, back) && back[0] == 0 && back[1] == INT64_C(1) << 40 && back[2] == 100,
	   "times out of range are written clamped: %s", id);
}

/* The objects list's tag: appended, checked and cut off; another list or order fails. */
static void test_cursor_tag(void)
{
	uint32_t ab = xs_stream_tag_add(xs_stream_tag_add(XS_STREAM_TAG_INIT, "a"), "b");
	uint32_t ba = xs_stream_tag_add(xs_stream_tag_add(XS_STREAM_TAG_INIT, "b"), "a");
	uint32_t a_b = xs_stream_tag_add(XS_STREAM_TAG_INIT, "ab");
	static const int64_t times[2] = { 1700000000, 1700000030 };
	char id[XS_STREAM_CURSOR_LEN(2) + XS_STREAM_TAG_LEN], copy[sizeof(id)];
	int64_t back[2];

	ok(ab != ba && ab != a_b, "tags of a,b / b,a / ab differ: %x %x %x", ab, ba, a_b);
	xs_stream_cursor_format(times, 2, id);
	xs_stream_cursor_tag(id, UINT32_MAX);
	ok(strlen(id) < sizeof(id), "the largest tag fits: %s", id);
	xs_stream_cursor_format(times, 2, id);
	xs_stream_cursor_tag(id, ab);
	snprintf(copy, sizeof(copy), "%s", id);
	ok(!xs_stream_cursor_parse(id, 2, back), "a tagged cursor is not read untagged: %s", id);
	ok(!xs_stream_cursor_untag(copy, ba) && !strcmp(copy, id), "another order's tag refused: %s", id);
	ok(xs_stream_cursor_untag(copy, ab) && xs_stream_cursor_parse(copy, 2, back) && back[0] == times[0] &&
	   back[1] == times[1], "its own tag: cut off, the cursor read (%s)", copy);
	snprintf(copy, sizeof(copy), "v1.0.0");
	ok(!xs_stream_cursor_untag(copy, ab), "an untagged cursor has no tag");
}

int main(void)
{
	TEST_RUN(test_cursor_tag);
	TEST_RUN(test_objects);
	TEST_RUN(test_cursor);
	TEST_RUN(test_cursor_clamped);
	TEST_RUN(test_integer_id);
	return test_summary();
}
