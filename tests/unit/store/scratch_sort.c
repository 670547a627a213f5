/*
 * tests/unit/store/scratch_sort.c - st_scratch_sort, the last step of every
 * xs_store_read: the points read from segments, pend, the open and the backfill
 * blocks (each source in time order) come out ascending, one per time, the
 * first read of a time kept. Against a model (insertion sort, first wins) on:
 *   - one run (nothing to do), two runs (a backfill block older than the open
 *     one), many short runs, every point its own run (descending times);
 *   - repeated times within a run, across runs, and a run repeating another.
 * Each point's values name its place in the scratch, so "the first wins" is seen.
 * The store is included whole (store_whole.h) to reach the static function.
 */
#include <stdint.h>
#include <string.h>

#include "store/store_whole.h"

#include "support/xorshift.h"
#include "test.h"

#define SORT_MAX 2000

static uint64_t sort_rng = 0x2545f4914f6cdd1dull;

static uint32_t sort_rand(uint32_t n)
{
	return (uint32_t)(xorshift64(&sort_rng) % n);
}

/* The model: a stable insertion sort of the times, then the first of each time. */
static size_t model_sort(const int64_t *t, size_t m, size_t *keep)
{
	static size_t order[SORT_MAX];
	size_t n = 0;

	for (size_t i = 0; i < m; i++) {
		size_t j = i;

		while (j > 0 && t[order[j - 1]] > t[i]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < m; i++)
		if (!n || t[keep[n - 1]] != t[order[i]])
			keep[n++] = order[i];
	return n;
}

/* Fills the scratch with t[0..m), point i's values i, i + 0.25, i + 0.5, sorts and
 * compares with the model. */
static void check_sort(struct xs_store *s, const int64_t *t, size_t m, const char *what)
{
	static size_t keep[SORT_MAX];
	size_t want = model_sort(t, m, keep), got, bad = 0;

	st_scratch_need(s, m);
	for (size_t i = 0; i < m; i++) {
		s->rt[i] = t[i];
		s->rv[i * 3] = (float)i;
		s->rv[i * 3 + 1] = (float)i + 0.25f;
		s->rv[i * 3 + 2] = (float)i + 0.5f;
	}
	got = st_scratch_sort(s, m);
	if (!ok(got == want, "%s: %zu points, the model %zu", what, got, want))
		return;
	for (size_t i = 0; i < got; i++)
		if (s->rt[i] != t[keep[i]] || s->rv[i * 3] != (float)keep[i] ||
		    s->rv[i * 3 + 1] != (float)keep[i] + 0.25f || s->rv[i * 3 + 2] != (float)keep[i] + 0.5f)
			bad++;
	ok(!bad, "%s: %zu of %zu points differ from the model", what, bad, got);
}

static void test_shapes(void)
{
	static int64_t t[SORT_MAX];
	struct xs_store s;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 100; i++)
		t[i] = 1000 + 5 * (int64_t)i;
	check_sort(&s, t, 100, "one run");
	check_sort(&s, t, 0, "nothing");
	check_sort(&s, t, 1, "one point");
	/* the open block's 40 points, then the backfill block's 60 older ones */
	for (size_t i = 0; i < 40; i++)
		t[i] = 2000 + 60 * (int64_t)i;
	for (size_t i = 0; i < 60; i++)
		t[40 + i] = 2000 - 3600 + 60 * (int64_t)i;
	check_sort(&s, t, 100, "two runs");
	/* the same, the backfill reaching into the open block's times */
	for (size_t i = 0; i < 60; i++)
		t[40 + i] = 2000 - 1800 + 60 * (int64_t)i;
	check_sort(&s, t, 100, "two overlapping runs");
	for (size_t i = 0; i < 50; i++)
		t[i] = t[50 + i] = 7000 + 5 * (int64_t)i;
	check_sort(&s, t, 100, "a run repeating another");
	for (size_t i = 0; i < 30; i++)
		t[i] = 500 - (int64_t)i;
	check_sort(&s, t, 30, "descending: every point a run");
	for (size_t i = 0; i < 30; i++)
		t[i] = 42;
	check_sort(&s, t, 30, "one time, 30 times over");
	free(s.rt), free(s.rv), free(s.mt), free(s.mv);
}

/* Runs of random lengths and starts, times repeated within and across them. */
static void test_random(void)
{
	static int64_t t[SORT_MAX];
	struct xs_store s;
	char what[64];

	memset(&s, 0, sizeof(s));
	for (int round = 0; round < 300; round++) {
		size_t m = 1 + sort_rand(SORT_MAX), i = 0;

		while (i < m) {
			size_t len = 1 + sort_rand(round % 3 ? 400 : 8);
			int64_t at = (int64_t)sort_rand(3000);

			for (size_t k = 0; k < len && i < m; k++, i++) {
				t[i] = at;
				at += sort_rand(4); /* 0: a repeated time in the run */
			}
		}
		snprintf(what, sizeof(what), "round %d (%zu points)", round, m);
		check_sort(&s, t, m, what);
	}
	free(s.rt), free(s.rv), free(s.mt), free(s.mv);
}

int main(void)
{
	TEST_RUN(test_shapes);
	TEST_RUN(test_random);
	return test_summary();
}
