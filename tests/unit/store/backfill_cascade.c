/*
 * tests/unit/store/backfill_cascade.c - the first hour and day after a gap are
 * whole: backfilled points join the coarser rollups in progress (st_cascade in
 * src/store/store_write.c).
 *
 * A host holds every 5 s sample of four days. The store sees it first on the
 * fourth day at 05:37:00, as the collector does at first contact: the 5 s rows
 * from then on, then the host's archives oldest first: 2 h of 1 min, a week of
 * 1 h, a year of 1 d. Once the rows reach the next day:
 *   - hour 05 and day 4 have the avg of all their samples (to float32 rounding
 *     of the host's minute and hour averages) and their exact min and max; before,
 *     they were those of 05:37-06:00 and 05:37-24:00 only;
 *   - hour 04 and the first three days are the host's values, as backfilled;
 *   - the minutes of hours 03 and 04 (backfilled too, but not into hour 05's
 *     sum) are not counted twice in the day, which takes hour 04 from the 1 h
 *     archive.
 * The same holds when the store is closed and opened again between the
 * archives and the rest of the rows (the rollups in progress travel in the
 * wal's carry records), and after a kill -9 right after the archives were
 * synced (the wal's backfill records are replayed).
 *
 * A series whose rows come behind an archive point (no rows yet) still gets
 * their minutes, so the host's value of such a minute is refused rather than
 * counted in the hour a second time. (The retired case: store/retire.c.)
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "support/tmp_dir.h"
#include "test.h"

#define DAY0 1700006400 /* a UTC midnight: the host's first day */
#define SEEN (DAY0 + 3 * 86400 + 5 * 3600 + 37 * 60) /* first contact: day 4, 05:37:00 */
#define END (DAY0 + 4 * 86400 + 300)                 /* the rows go on to day 5, 00:05 */

enum cascade_mode { PLAIN, REOPEN, CRASH };

static char test_dir[TMP_DIR_LEN];

/* The host's 5 s sample stamped t (it covers (t - 5, t]): noise on a level that
 * changes through the day, so that a part of a day averages far from the whole. */
static float host_value(int64_t t)
{
	uint64_t h = (uint64_t)t * 0x9E3779B97F4A7C15ull;

	h ^= h >> 29;
	return (float)(t % 86400) / 100.0f + (float)(h % 10000) / 7.0f;
}

/* The host's archive point of the period (p, p + step]: the avg as a float32, min, max. */
static void host_rollup(int64_t p, int64_t step, float *avg, float *mn, float *mx)
{
	double sum = 0;
	int n = 0;

	for (int64_t t = p + 5; t <= p + step; t += 5) {
		float v = host_value(t);

		if (!n || v < *mn)
			*mn = v;
		if (!n || v > *mx)
			*mx = v;
		sum += v;
		n++;
	}
	*avg = (float)(sum / n);
}

static struct xs_store *cascade_open(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	if (xs_store_open(&o, &s, err) != XS_OK) {
		fprintf(stderr, "# open: %s\n", err);
		return NULL;
	}
	return s;
}

static int cascade_rows(struct xs_store *s, xs_series_id id, int64_t from, int64_t to)
{
	char err[XS_ERR_LEN];

	for (int64_t t = from; t <= to; t += 5)
		if (xs_store_append(s, id, t, host_value(t), err) != XS_OK)
			return 1;
	return 0;
}

/* The host's archive of tier k: n periods ending with the one before `now`'s, oldest first. */
static int cascade_archive(struct xs_store *s, xs_series_id id, enum xs_tier k, int n, int64_t now)
{
	int64_t step = xs_tier_step[k], last = (now - 5) / step * step - step;
	char err[XS_ERR_LEN];

	for (int64_t p = last - (n - 1) * step; p <= last; p += step) {
		float avg, mn, mx;

		if (p < DAY0)
			continue;
		host_rollup(p, step, &avg, &mn, &mx);
		if (xs_store_backfill(s, id, k, p, avg, mn, mx, err) != XS_OK)
			return 1;
	}
	return 0;
}

/* First contact: the 5 s rows of 05:37:05-05:47:00, then the archives, then a sync. */
static int cascade_contact(struct xs_store *s, xs_series_id *id)
{
	char err[XS_ERR_LEN];
	int64_t now = SEEN + 600;

	if (xs_store_series(s, XS_OBJ_VM, "cascade", "cpu0", "", id, err) != XS_OK)
		return 1;
	return cascade_rows(s, *id, SEEN + 5, now) ||
	       cascade_archive(s, *id, XS_TIER_1M, 120, now) ||
	       cascade_archive(s, *id, XS_TIER_1H, 168, now) ||
	       cascade_archive(s, *id, XS_TIER_1D, 366, now) || xs_store_sync(s, err) != XS_OK;
}

/* Whether the stored point of tier k at period p is the host's whole period:
 * min and max exactly, the avg within float32 rounding (exact when backfilled). */
static bool cascade_whole(struct xs_store *s, xs_series_id id, enum xs_tier k, int64_t p, bool exact)
{
	struct xs_point pt;
	float avg, mn, mx;

	if (xs_store_read(s, id, k, p, p, &pt, 1) != 1) {
		fprintf(stderr, "# tier %d: no point at %lld\n", (int)k, (long long)(p - DAY0));
		return false;
	}
	host_rollup(p, xs_tier_step[k], &avg, &mn, &mx);
	if (pt.min != mn || pt.max != mx ||
	    (exact ? pt.avg != avg : fabs(pt.avg - avg) > 1e-5 * fabs(avg))) {
		fprintf(stderr, "# tier %d at %lld: avg %.9g min %.9g max %.9g, the host's %.9g %.9g %.9g\n",
			(int)k, (long long)(p - DAY0), pt.avg, pt.min, pt.max, avg, mn, mx);
		return false;
	}
	return true;
}

static void cascade_run(enum cascade_mode mode, const char *name)
{
	struct xs_store *s;
	xs_series_id id = 0;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "cascade");
	if (mode == CRASH) {
		pid_t pid = fork();
		int status = 0;

		fail_unless(pid >= 0, "fork");
		if (pid == 0) {
			s = cascade_open();
			if (!s || cascade_contact(s, &id))
				_exit(3);
			kill(getpid(), SIGKILL); /* no close: the reopen replays the wal */
			_exit(4);
		}
		fail_unless(waitpid(pid, &status, 0) == pid, "wait");
		fail_unless(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: the child died %d",
			    name, status);
		s = cascade_open();
		fail_unless(s, "%s: reopen", name);
		fail_unless(xs_store_find(s, XS_OBJ_VM, "cascade", "cpu0", &id), "%s: series", name);
	} else {
		s = cascade_open();
		fail_unless(s, "%s: open", name);
		fail_unless(!cascade_contact(s, &id), "%s: first contact", name);
		if (mode == REOPEN) {
			fail_unless(xs_store_close(&s, err) == XS_OK, "%s: close: %s", name, err);
			s = cascade_open();
			fail_unless(s, "%s: reopen", name);
			fail_unless(xs_store_find(s, XS_OBJ_VM, "cascade", "cpu0", &id), "%s: series", name);
		}
	}
	fail_unless(!cascade_rows(s, id, SEEN + 605, END), "%s: rows", name);

	ok(cascade_whole(s, id, XS_TIER_1H, SEEN / 3600 * 3600, false),
	   "%s: the hour of first contact is the whole hour", name);
	ok(cascade_whole(s, id, XS_TIER_1D, DAY0 + 3 * 86400, false),
	   "%s: the day of first contact is the whole day", name);
	ok(cascade_whole(s, id, XS_TIER_1H, SEEN / 3600 * 3600 - 3600, true),
	   "%s: the hour before is the host's", name);
	ok(cascade_whole(s, id, XS_TIER_1D, DAY0 + 2 * 86400, true), "%s: the day before is the host's",
	   name);
	ok(cascade_whole(s, id, XS_TIER_1H, SEEN / 3600 * 3600 + 3600, false),
	   "%s: the next hour, of 5 s rows only", name);
	ok(cascade_whole(s, id, XS_TIER_1M, SEEN - 60, true), "%s: the minute before is the host's", name);
	ok(xs_store_close(&s, err) == XS_OK, "%s: close: %s", name, err);
	tmp_dir_remove(test_dir);
}

/*
 * Rows behind an archive point: a series with no rows yet takes the host's minute
 * 10:05, then rows of 10:00:05-10:02:05. Minutes 10:00 and 10:01 are still
 * written (behind 10:05, in the backfill block), so the host's 10:00, offered
 * after, is refused: the hour, which summed those rows, does not take it twice.
 */
static void test_rows_behind(void)
{
	const int64_t h = DAY0 + 10 * 3600;
	struct xs_store *s;
	struct xs_point p[4];
	xs_series_id id;
	char err[XS_ERR_LEN] = "";
	size_t n;

	tmp_dir_new(test_dir, "cascade");
	s = cascade_open();
	fail_unless(s, "open");
	fail_unless(xs_store_series(s, XS_OBJ_VM, "behind", "cpu0", "", &id, err) == XS_OK, "%s", err);
	ok(xs_store_backfill(s, id, XS_TIER_1M, h + 300, 7, 7, 7, err) == XS_OK, "10:05 backfilled");
	for (int64_t t = h + 5; t <= h + 125; t += 5)
		xs_store_append(s, id, t, t <= h + 60 ? 10.0f : 0.0f, err);
	n = xs_store_read(s, id, XS_TIER_1M, h, h + 300, p, 4);
	ok(n == 3 && p[0].t == h && p[0].avg == 10 && p[1].t == h + 60 && p[1].avg == 0 && p[2].avg == 7,
	   "minutes 10:00 and 10:01 written behind 10:05: %zu points", n);
	ok(xs_store_backfill(s, id, XS_TIER_1M, h, 10, 10, 10, err) == XS_OK &&
		   xs_store_read_partial(s, id, XS_TIER_1H, p) && p[0].avg == 4.8f,
	   "the host's 10:00 refused: the hour in progress is its 25 rows' (avg %g, want 4.8)",
	   (double)p[0].avg);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

static void test_cascade(void)
{
	cascade_run(PLAIN, "plain");
}

static void test_cascade_reopen(void)
{
	cascade_run(REOPEN, "reopen");
}

static void test_cascade_crash(void)
{
	cascade_run(CRASH, "kill -9");
}

int main(void)
{
	TEST_RUN(test_cascade);
	TEST_RUN(test_cascade_reopen);
	TEST_RUN(test_cascade_crash);
	TEST_RUN(test_rows_behind);
	return test_summary();
}
