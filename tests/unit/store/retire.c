/*
 * tests/unit/store/retire.c - series that stop (a VM halted or deleted, a host
 * gone) are retired at a checkpoint once they had no sample for an hour of the
 * process's clock and their newest sample is a day behind the newest data:
 *   - not before either (a series idle 59 minutes; a live series whose host
 *     clock lags the others by three days);
 *   - retired, the open blocks are written out (no memory, no carry) and every
 *     5 s point still reads back, before and after a reopen; the minute and
 *     hour in progress are emitted (their avg, min and max read back), the day
 *     in progress only once the series has been idle a day of the process's
 *     clock (and counted from the reopen after one), with its avg, min and max;
 *   - a series of a host three days behind that resumes two hours later, the
 *     same day of its clock, keeps both parts in its day (its day was not
 *     emitted at retirement), even with an archive hour of later that day
 *     backfilled before the rows: the day does not take it (the rows to come
 *     could be counted twice), and the resumed hour is written behind it;
 *   - retention then removes its last 5 s block with its segment (an open block
 *     was readable for ever);
 *   - a retired series that resumes takes new points; a backfill point does not
 *     count it retired again.
 * The store is included whole (store_whole.h) for its process clock
 * (ST_NOW_MINUTES, set here) and to look at a series' open blocks.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint16_t test_minutes = 1000; /* the store's clock, in minutes */
#define ST_NOW_MINUTES() test_minutes
#include "store/store_whole.h"

#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */
#define A_END (T0 + 4655) /* the stopped series' last sample: 01:17:35 */
#define B_END (T0 + 2 * 86400 + 3600) /* the newest data: day 3, 01:00 */

static char test_dir[TMP_DIR_LEN];

#include "clock_store.h"

static float a_value(int64_t t)
{
	return (float)((t - T0) % 97) / 100.0f;
}

/* Whether series id holds no open block (backfill ones aside). */
static bool retire_sealed(const struct xs_store *s, xs_series_id id)
{
	for (int k = 0; k < XS_NTIERS; k++)
		if (st_open_has(k, &st_peek(s, id)->open[k]))
			return false;
	return true;
}

/* Whether point p has the avg, min and max of a_value over the samples of (from, to]. */
static bool retire_point_of_a(const struct xs_point *p, int64_t from, int64_t to)
{
	double sum = 0;
	float mn = INFINITY, mx = -INFINITY;
	int n = 0;

	for (int64_t t = from + 5; t <= to; t += 5, n++) {
		float v = a_value(t);

		sum += v;
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
	}
	return n && p->avg == (float)(sum / n) && p->min == mn && p->max == mx;
}

/* A's points as appended: every 5 s sample from T0 to A_END; its minutes and hours with
 * the avg, min and max of their samples (the last ones partial), its day when emitted. */
static void retire_check_a(struct xs_store *s, xs_series_id a, bool day, const char *when)
{
	static struct xs_point pt[1000];
	size_t n = xs_store_read(s, a, XS_TIER_5S, T0, A_END, pt, 1000), bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += pt[i].t != T0 + 5 * (int64_t)i || pt[i].avg != a_value(pt[i].t);
	ok(n == 932 && !bad, "%s: 5 s: %zu points of 932, %zu wrong", when, n, bad);
	n = xs_store_read(s, a, XS_TIER_1M, T0, A_END, pt, 1000);
	ok(n == 78 && pt[77].t == T0 + 4620 && retire_point_of_a(&pt[77], T0 + 4620, A_END) &&
		   retire_point_of_a(&pt[76], T0 + 4560, T0 + 4620),
	   "%s: 1 min: %zu points, the last 01:17 (7 samples) with its avg, min, max", when, n);
	n = xs_store_read(s, a, XS_TIER_1H, T0, A_END, pt, 10);
	ok(n == 2 && pt[1].t == T0 + 3600 && retire_point_of_a(&pt[1], T0 + 3600, A_END) &&
		   retire_point_of_a(&pt[0], T0, T0 + 3600),
	   "%s: 1 h: %zu points, 01:00 (the last, 1055 s) with its avg, min, max", when, n);
	/* the day: rows (T0, T0 + 86400]; T0's own row is the day before's */
	n = xs_store_read(s, a, XS_TIER_1D, T0, A_END, pt, 10);
	if (day)
		ok(n == 1 && pt[0].t == T0 && retire_point_of_a(&pt[0], T0, A_END),
		   "%s: 1 d: %zu point, with its avg, min, max (%g %g %g)", when, n, n ? pt[0].avg : 0.0f,
		   n ? pt[0].min : 0.0f, n ? pt[0].max : 0.0f);
	else
		ok(n == 0 && ST_ACC(st_peek(s, a), XS_TIER_1D)->period == T0,
		   "%s: 1 d: the day still in progress (%zu points)", when, n);
}

static void test_retire(void)
{
	struct xs_store *s;
	struct xs_store_stats st;
	static struct xs_point pt[100];
	xs_series_id a, b, c, d;
	char err[XS_ERR_LEN] = "";
	const int64_t D0 = T0 - 3 * 86400; /* the day of a host three days behind */
	int64_t ct = D0 + 600; /* c's last sample */
	size_t n;

	tmp_dir_new(test_dir, "retire");
	s = r_open(test_dir);
	a = r_series(s, "a");
	b = r_series(s, "b");
	c = r_series(s, "c");
	d = r_series(s, "d");
	for (int64_t t = T0; t <= A_END; t += 5)
		r_append(s, a, t, a_value(t));
	for (int64_t t = T0; t <= B_END; t += 60)
		r_append(s, b, t, 1.0f);
	for (int64_t t = D0; t <= D0 + 600; t += 5) /* live, on a clock three days behind */
		r_append(s, c, t, 0.5f);
	for (int64_t t = D0 + 5; t <= D0 + 3600; t += 5) /* 00:00-01:00 of its clock, then stops */
		r_append(s, d, t, 1.0f);
	r_sync(s);
	r_tick(s, 1059, c, &ct);
	xs_store_stats(s, &st);
	ok(st.retired == 0 && !retire_sealed(s, a), "idle 59 minutes: not retired (%llu)",
	   (unsigned long long)st.retired);
	ok(xs_store_read(s, a, XS_TIER_1H, T0, A_END, pt, 10) == 1, "its hour in progress is not read yet");

	r_tick(s, 1061, c, &ct);
	xs_store_stats(s, &st);
	ok(st.retired == 2 && retire_sealed(s, a) && retire_sealed(s, d),
	   "idle an hour, a day behind: both stopped series retired (%llu)", (unsigned long long)st.retired);
	ok(!retire_sealed(s, c) && ST_ACC(st_peek(s, c), XS_TIER_1M)->period != ST_NONE,
	   "a live series three days behind keeps its open blocks and rollups");
	ok(!retire_sealed(s, b), "the newest series keeps its open blocks");
	retire_check_a(s, a, false, "retired");

	/* an archive point of d later than the rows to come (its hour rollup is gone, retired):
	 * it reaches no coarser rollup, since the rows of its day still come to the day's */
	ok(xs_store_backfill(s, d, XS_TIER_1H, D0 + 4 * 3600, 9.0f, 9.0f, 9.0f, err) == XS_OK &&
		   xs_store_read(s, d, XS_TIER_1H, D0 + 4 * 3600, D0 + 4 * 3600, pt, 1) == 1,
	   "a backfilled hour after the rows to come: %s", err);
	/* d resumes two hours later on its clock, the same day: its day holds both parts */
	for (int64_t t = D0 + 7205; t <= D0 + 10800; t += 5)
		r_append(s, d, t, 3.0f);
	r_append(s, d, D0 + 86400 + 5, 3.0f); /* the next day: the day period ends */
	n = xs_store_read(s, d, XS_TIER_1D, D0, D0, pt, 10);
	ok(n == 1 && pt[0].avg == 2.0f && pt[0].min == 1.0f && pt[0].max == 3.0f,
	   "resumed the same day: the day averages both parts (%zu: %g %g %g)", n, n ? pt[0].avg : 0.0f,
	   n ? pt[0].min : 0.0f, n ? pt[0].max : 0.0f);
	n = xs_store_read(s, d, XS_TIER_1H, D0, D0 + 7200, pt, 10);
	ok(n == 2 && pt[0].t == D0 && pt[0].avg == 1.0f && pt[1].t == D0 + 7200 && pt[1].avg == 3.0f,
	   "its hours: 00:00 at 1 (emitted at retirement), none at 01:00, 02:00 at 3 (written "
	   "behind the backfilled 04:00) (%zu)", n);

	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	s = r_open(test_dir);
	ok(s && retire_sealed(s, a), "reopened: still nothing open");
	retire_check_a(s, a, false, "reopened");

	r_tick(s, 1061 + 1439, c, &ct);
	xs_store_stats(s, &st);
	ok(st.retired == 1 && retire_sealed(s, d), "d, stopped again, retired since the reopen (%llu)",
	   (unsigned long long)st.retired);
	retire_check_a(s, a, false, "idle 1439 minutes since the reopen");
	r_tick(s, 1061 + 1440, c, &ct);
	retire_check_a(s, a, true, "idle a day since the reopen");
	xs_store_stats(s, &st);
	ok(st.retired == 1, "emitting a's day retires nothing again (%llu)", (unsigned long long)st.retired);
	ok(xs_store_backfill(s, a, XS_TIER_1M, T0 - 3600, 0.5f, 0.5f, 0.5f, err) == XS_OK, "backfill: %s", err);
	r_tick(s, 1061 + 1441, c, &ct);
	xs_store_stats(s, &st);
	ok(st.retired == 1, "a backfill point does not count it retired again (%llu)",
	   (unsigned long long)st.retired);

	/* retention: the 5 s tier keeps 2 days; now is a day past the newest data at most */
	ok(xs_store_expire(s, B_END + 86400, err) == XS_OK, "expire: %s", err);
	n = xs_store_read(s, a, XS_TIER_5S, T0, A_END, pt, 100);
	ok(n == 0, "its day at 5 s expired, its last block with it: %zu points", n);
	n = xs_store_read(s, a, XS_TIER_1M, T0, A_END, pt, 100);
	ok(n == 78, "the 1 min tier keeps its points: %zu", n);

	r_append(s, a, B_END + 5, 0.25f);
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
