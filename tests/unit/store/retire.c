/*
 * tests/unit/store/retire.c - series that stop (a VM halted or deleted, a host
 * gone) are retired at a checkpoint once they had no sample for an hour of the
 * process's clock and their newest sample is a day behind the newest data:
 *   - not before either (a series idle 59 minutes; a live series whose host
 *     clock lags the others by three days);
 *   - retired, the rollups in progress are emitted (the last minute, hour and
 *     day read back, with the avg, min and max of what was appended), the open
 *     blocks are written out (no memory, no carry), every 5 s point still reads
 *     back, before and after a reopen;
 *   - retention then removes its last 5 s block with its segment (an open block
 *     was readable for ever);
 *   - a retired series that resumes takes new points.
 * store.c is included for its process clock (ST_NOW_MINUTES, set here) and to
 * look at a series' open blocks.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint16_t test_minutes = 1000; /* the store's clock, in minutes */
#define ST_NOW_MINUTES() test_minutes
#include "store/store.c"

#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */
#define A_END (T0 + 4655) /* the stopped series' last sample: 01:17:35 */
#define B_END (T0 + 2 * 86400 + 3600) /* the newest data: day 3, 01:00 */

static char test_dir[TMP_DIR_LEN];

static struct xs_store *retire_open(void)
{
	struct xs_store_options o = { .dir = test_dir, .wal_max = 1 }; /* a checkpoint at each sync */
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

static xs_series_id retire_series(struct xs_store *s, const char *uuid)
{
	char err[XS_ERR_LEN] = "";
	xs_series_id id = UINT32_MAX;

	ok(xs_store_series(s, XS_OBJ_VM, uuid, "cpu0", "(fraction)", &id, err) == XS_OK, "series %s: %s", uuid,
	   err);
	return id;
}

static float a_value(int64_t t)
{
	return (float)((t - T0) % 97) / 100.0f;
}

static void retire_append(struct xs_store *s, xs_series_id id, int64_t t, float v)
{
	char err[XS_ERR_LEN] = "";

	if (xs_store_append(s, id, t, v, err) != XS_OK)
		ok(0, "append %lld: %s", (long long)t, err);
}

static void retire_sync(struct xs_store *s)
{
	char err[XS_ERR_LEN] = "";

	ok(xs_store_sync(s, err) == XS_OK, "sync at minute %u: %s", test_minutes, err);
}

/* Whether series id holds no open block nor rollup in progress. */
static bool retire_empty(const struct xs_store *s, xs_series_id id)
{
	const struct st_series *se = &s->ser[id];

	for (int k = 0; k < XS_NTIERS; k++)
		if (st_open_has(k, &se->open[k]) || st_open_has(k, &se->bf[k]) ||
		    (k && ST_ACC(se, k)->period != ST_NONE))
			return false;
	return true;
}

/* A's points at every tier, as appended: every 5 s sample from T0 to A_END; its
 * minutes, hours and day with the avg, min and max of their samples. */
static void retire_check_a(struct xs_store *s, xs_series_id a, const char *when)
{
	static struct xs_point pt[1000];
	size_t n = xs_store_read(s, a, XS_TIER_5S, T0, A_END, pt, 1000), bad = 0;
	double sum = 0;
	float mn = INFINITY, mx = -INFINITY;

	for (size_t i = 0; i < n; i++)
		bad += pt[i].t != T0 + 5 * (int64_t)i || pt[i].avg != a_value(pt[i].t);
	ok(n == 932 && !bad, "%s: 5 s: %zu points of 932, %zu wrong", when, n, bad);
	n = xs_store_read(s, a, XS_TIER_1M, T0, A_END, pt, 1000);
	ok(n == 78 && pt[77].t == T0 + 4620, "%s: 1 min: %zu points, the last at %lld (01:17 holds 7 samples)",
	   when, n, n ? (long long)(pt[n - 1].t - T0) : -1LL);
	n = xs_store_read(s, a, XS_TIER_1H, T0, A_END, pt, 10);
	ok(n == 2 && pt[1].t == T0 + 3600, "%s: 1 h: %zu points, 01:00 the last", when, n);
	n = xs_store_read(s, a, XS_TIER_1D, T0, A_END, pt, 10);
	for (int64_t t = T0 + 5; t <= A_END; t += 5) { /* the day: rows (T0, T0 + 86400], T0 itself the day before */
		float v = a_value(t);

		sum += v;
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
	}
	ok(n == 1 && pt[0].t == T0 && pt[0].avg == (float)(sum / 931) && pt[0].min == mn && pt[0].max == mx,
	   "%s: 1 d: %zu point, avg %g min %g max %g (%g %g %g)", when, n, n ? pt[0].avg : 0.0f,
	   n ? pt[0].min : 0.0f, n ? pt[0].max : 0.0f, sum / 931, mn, mx);
}

static void test_retire(void)
{
	struct xs_store *s;
	struct xs_store_stats st;
	static struct xs_point pt[100];
	xs_series_id a, b, c;
	char err[XS_ERR_LEN] = "";
	size_t n;

	tmp_dir_new(test_dir, "retire");
	s = retire_open();
	a = retire_series(s, "a");
	b = retire_series(s, "b");
	c = retire_series(s, "c");
	for (int64_t t = T0; t <= A_END; t += 5)
		retire_append(s, a, t, a_value(t));
	for (int64_t t = T0; t <= B_END; t += 60)
		retire_append(s, b, t, 1.0f);
	for (int64_t t = T0 - 3 * 86400; t <= T0 - 3 * 86400 + 600; t += 5) /* a clock three days behind */
		retire_append(s, c, t, 0.5f);
	retire_sync(s);
	test_minutes = 1059;
	retire_append(s, c, T0 - 3 * 86400 + 605, 0.5f);
	retire_sync(s);
	xs_store_stats(s, &st);
	ok(st.retired == 0 && !retire_empty(s, a), "idle 59 minutes: not retired (%llu)",
	   (unsigned long long)st.retired);
	ok(xs_store_read(s, a, XS_TIER_1H, T0, A_END, pt, 10) == 1, "its hour in progress is not read yet");

	test_minutes = 1060;
	retire_append(s, c, T0 - 3 * 86400 + 610, 0.5f);
	retire_sync(s);
	xs_store_stats(s, &st);
	ok(st.retired == 1 && retire_empty(s, a), "idle an hour, a day behind: retired (%llu)",
	   (unsigned long long)st.retired);
	ok(!retire_empty(s, c) && st_open_has(XS_TIER_5S, &s->ser[c].open[XS_TIER_5S]),
	   "a live series three days behind keeps its open blocks");
	ok(!retire_empty(s, b), "the newest series keeps its open blocks");
	retire_check_a(s, a, "retired");

	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	s = retire_open();
	ok(s && retire_empty(s, a), "reopened: still nothing open");
	retire_check_a(s, a, "reopened");

	/* retention: the 5 s tier keeps 2 days; now is a day past the newest data at most */
	ok(xs_store_expire(s, B_END + 86400, err) == XS_OK, "expire: %s", err);
	n = xs_store_read(s, a, XS_TIER_5S, T0, A_END, pt, 100);
	ok(n == 0, "its day at 5 s expired, its last block with it: %zu points", n);
	n = xs_store_read(s, a, XS_TIER_1M, T0, A_END, pt, 100);
	ok(n == 78, "the 1 min tier keeps its points: %zu", n);

	retire_append(s, a, B_END + 5, 0.25f);
	n = xs_store_read(s, a, XS_TIER_5S, B_END, B_END + 5, pt, 100);
	ok(n == 1 && pt[0].avg == 0.25f, "resumed: the new point reads back (%zu)", n);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_retire);
	return test_summary();
}
