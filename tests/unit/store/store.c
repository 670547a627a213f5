/*
 * tests/unit/store/store.c - the store (src/store/): round trips at every tier,
 * the LOCK (a second open refused), rollups, duplicates, backfill, reopen,
 * kill -9 at random points, corrupted files, retention, and opening a catalog
 * of 1M series.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_codec.h"
#include "support/tmp_dir.h"
#include "support/xorshift.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */

static char test_dir[TMP_DIR_LEN];

static int64_t st_floor_test(int64_t t, int64_t m)
{
	return t - ((t % m) + m) % m;
}

static struct xs_store *store_open(uint64_t wal_max)
{
	struct xs_store_options o = { .dir = test_dir, .wal_max = wal_max };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";
	enum xs_err e = xs_store_open(&o, &s, err);

	ok(e == XS_OK, "open: %s", err);
	return s;
}

static void store_close(struct xs_store **s)
{
	char err[XS_ERR_LEN] = "";

	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
}

static bool same(float a, float b)
{
	return !memcmp(&a, &b, sizeof(a));
}

/* The test value of series id at t: a mix of noise, constants, NaN and infinities. */
static float value_of(uint32_t id, int64_t t)
{
	uint64_t h = ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)t * 0xBF58476D1CE4E5B9ull;

	h ^= h >> 31;
	switch (id % 4) {
	case 0: return (float)(h % 100000) / 7.0f;
	case 1: return 42.0f;
	case 2: return (h % 13) == 0 ? NAN : (h % 17) == 0 ? INFINITY : (h % 19) == 0 ? -INFINITY
		       : (float)(h % 1000) - 500.0f;
	default: return 0.0f;
	}
}

static uint32_t series(struct xs_store *s, int i)
{
	char uuid[64], err[XS_ERR_LEN];
	xs_series_id id = 0;

	snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i / 10);
	snprintf(err, sizeof(err), "ds%d", i % 10);
	ok(xs_store_series(s, XS_OBJ_VM, uuid, err, "B/s", &id, err) == XS_OK, "series");
	return id;
}

/* Hand-computed rollup of samples value_of(id, t) for t in [p, p + step) below end. */
static void rollup(uint32_t id, int64_t p, int64_t step, int64_t end, float *avg, float *mn, float *mx)
{
	double sum = 0;
	int n = 0;

	*mn = *mx = NAN;
	for (int64_t t = p + 5; t <= p + step && t < end; t += 5) { /* rows cover (t - 5, t] */
		if (t < T0)
			continue;
		float v = value_of(id, t);

		if (isnan(v))
			continue;
		if (!n || v < *mn)
			*mn = v;
		if (!n || v > *mx)
			*mx = v;
		sum += v;
		n++;
	}
	*avg = n ? (float)(sum / n) : NAN;
}

/* Checks every tier of series id against value_of for samples [T0, end). */
static int check_series(struct xs_store *s, uint32_t id, int64_t end)
{
	static struct xs_point pts[40000];
	int bad = 0;
	size_t n = xs_store_read(s, id, XS_TIER_5S, T0, end, pts, 40000);

	if (n != (size_t)(end - T0) / 5) {
		fprintf(stderr, "# series %u: %zu 5 s points, want %lld\n", id, n, (long long)(end - T0) / 5);
		bad++;
	}
	for (size_t i = 0; i < n && i < 40000; i++)
		if (pts[i].t != T0 + 5 * (int64_t)i || !same(pts[i].avg, value_of(id, pts[i].t)))
			bad++;
	for (int k = 1; k < XS_NTIERS; k++) {
		int64_t step = xs_tier_step[k];
		/* a sample at t counts in the period (P, P + step] with P = floor(t - 5): the first
		 * period starts before T0; the last sample's period is not complete */
		int64_t p0 = st_floor_test(T0 - 5, step), pl = st_floor_test(end - 10, step);
		size_t want = (size_t)((pl - p0) / step);

		n = xs_store_read(s, id, (enum xs_tier)k, 0, INT64_MAX, pts, 40000);
		if (n != want) {
			fprintf(stderr, "# series %u tier %d: %zu points, want %zu\n", id, k, n, want);
			bad++;
		}
		for (size_t i = 0; i < n && i < want; i++) {
			float a, mn, mx;

			rollup(id, p0 + (int64_t)i * step, step, end, &a, &mn, &mx);
			if (pts[i].t != p0 + (int64_t)i * step || !same(pts[i].avg, a) ||
			    !same(pts[i].min, mn) || !same(pts[i].max, mx)) {
				if (!bad)
					fprintf(stderr, "# series %u tier %d point %zu: t %lld avg %g min %g max %g, "
						"want t %lld avg %g min %g max %g\n", id, k, i,
						(long long)(pts[i].t - T0), pts[i].avg, pts[i].min, pts[i].max,
						(long long)(p0 + (int64_t)i * step - T0), a, mn, mx);
				bad++;
			}
		}
	}
	return bad;
}

static void test_round_trip(void)
{
	struct xs_store *s;
	uint32_t ids[8];
	int64_t end = T0 + 2 * 86400 + 3600 + 600; /* > 2 days: every tier has points */
	char err[XS_ERR_LEN] = "";
	int64_t lt;
	float lv;

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 20);
	fail_unless(s, "open");
	for (int i = 0; i < 8; i++)
		ids[i] = series(s, i);
	for (int64_t t = T0; t < end; t += 5) {
		for (int i = 0; i < 8; i++)
			xs_store_append(s, ids[i], t, value_of(ids[i], t), err);
		if (t % 3600 == 0)
			ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	}
	for (int i = 0; i < 8; i++)
		ok(check_series(s, ids[i], end) == 0, "series %d before reopen", i);
	ok(xs_store_last(s, ids[0], XS_TIER_5S) == end - 5, "last 5s");
	ok(xs_store_last(s, ids[0], XS_TIER_1D) == T0 + 86400, "last 1d");
	ok(xs_store_latest(s, ids[2], &lt, &lv) && lt == end - 5 && same(lv, value_of(ids[2], lt)),
	   "latest");
	store_close(&s);
	s = store_open(1 << 20);
	fail_unless(s, "reopen");
	for (int i = 0; i < 8; i++)
		ok(check_series(s, ids[i], end) == 0, "series %d after reopen", i);
	ok(xs_store_last(s, ids[0], XS_TIER_5S) == end - 5, "last 5s after reopen");
	/* rollups in progress survived: the next sample completes the hour and the day */
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/* The LOCK file: a second open of one store is refused as such; a LOCK that cannot be
 * opened at all (here a directory in its place; a read-only file system, a directory of
 * another user) is said so, without blaming another xapistat. */
static void test_lock(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s, *s2 = NULL;
	char err[XS_ERR_LEN] = "", path[300];

	tmp_dir_new(test_dir, "store-lock");
	s = store_open(0);
	fail_unless(s, "open");
	ok(xs_store_open(&o, &s2, err) == XS_ERR_IO && !s2 &&
		   strstr(err, "(another xapistat uses this store)"),
	   "a second open: %s", err);
	store_close(&s);
	snprintf(path, sizeof(path), "%s/LOCK", test_dir);
	ok(unlink(path) == 0 && mkdir(path, 0755) == 0, "a directory named LOCK");
	ok(xs_store_open(&o, &s2, err) == XS_ERR_IO && !s2 && strstr(err, "cannot create or open") &&
		   !strstr(err, "another xapistat"),
	   "LOCK unusable: %s", err);
	rmdir(path);
	tmp_dir_remove(test_dir);
}

static void test_rollup_hand(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN] = "";
	struct xs_point p[16];
	xs_series_id id;
	size_t n;

	tmp_dir_new(test_dir, "store");
	s = store_open(0);
	fail_unless(s, "open");
	id = series(s, 0);
	/* minute 0: 1, NaN, 3 (rest missing); minute 1: all NaN; minute 2 skipped; minute 3: -2, 6 */
	/* a 5 s row at t covers (t - 5, t]: minute 0 is (T0, T0 + 60], kept at T0 */
	xs_store_append(s, id, T0 + 5, 1.0f, err);
	xs_store_append(s, id, T0 + 10, NAN, err);
	xs_store_append(s, id, T0 + 60, 3.0f, err);
	xs_store_append(s, id, T0 + 65, NAN, err);
	xs_store_append(s, id, T0 + 120, NAN, err);
	xs_store_append(s, id, T0 + 185, -2.0f, err);
	xs_store_append(s, id, T0 + 240, 6.0f, err);
	xs_store_append(s, id, T0 + 245, 100.0f, err); /* completes minute 3 */
	n = xs_store_read(s, id, XS_TIER_1M, T0, T0 + 3600, p, 8);
	fail_unless(n == 3, "3 minutes, got %zu", n);
	ok(p[0].t == T0 && p[0].avg == 2.0f && p[0].min == 1.0f && p[0].max == 3.0f, "minute 0");
	ok(p[1].t == T0 + 60 && isnan(p[1].avg) && isnan(p[1].min) && isnan(p[1].max), "minute 1 NaN");
	ok(p[2].t == T0 + 180 && p[2].avg == 2.0f && p[2].min == -2.0f && p[2].max == 6.0f, "minute 3");
	n = xs_store_read(s, id, XS_TIER_1M, T0 + 61, T0 + 180, p, 8);
	ok(n == 1 && p[0].t == T0 + 180, "range is inclusive and by period start");
	ok(xs_store_read(s, id, XS_TIER_1H, 0, INT64_MAX, p, 8) == 0, "hour not complete");
	{
		struct xs_point q, r[64];
		size_t nm = xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, r, 64);
		double sum = 0;
		size_t cnt = 0;
		float mn = INFINITY, mx = -INFINITY;
		int64_t lt = 0;
		float lv = 0;

		ok(xs_store_read_partial(s, id, XS_TIER_1H, &q) && q.t == T0, "hour in progress readable");
		ok(!xs_store_read_partial(s, id, XS_TIER_5S, &q), "no partial 5 s point");
		ok(xs_store_latest(s, id, &lt, &lv), "latest");
		ok(xs_store_read_partial(s, id, XS_TIER_1M, &q) && q.t == (lt - 5) / 60 * 60 &&
			   (nm == 0 || r[nm - 1].t < q.t),
		   "minute in progress after the last complete one");
		/* its avg/min/max are those of the 5 s samples so far in it */
		{
			struct xs_point f[16];
			size_t nf = xs_store_read(s, id, XS_TIER_5S, q.t + 5, q.t + 60, f, 16);

			for (size_t i = 0; i < nf && i < 16; i++) {
				if (isnan(f[i].avg))
					continue;
				sum += f[i].avg;
				cnt++;
				mn = f[i].avg < mn ? f[i].avg : mn;
				mx = f[i].avg > mx ? f[i].avg : mx;
			}
			ok(cnt ? q.avg == (float)(sum / cnt) && q.min == mn && q.max == mx
			       : isnan(q.avg),
			   "partial minute = its samples so far");
		}
	}
	xs_store_append(s, id, T0 + 3605, 0.0f, err); /* the first row of the next hour */
	n = xs_store_read(s, id, XS_TIER_1H, 0, INT64_MAX, p, 8);
	ok(n == 1 && p[0].t == T0 && p[0].min == -2.0f && p[0].max == 100.0f &&
		   p[0].avg == (1 + 3 - 2 + 6 + 100) / 5.0f,
	   "hour rollup");
	/* duplicates and the past are ignored */
	xs_store_append(s, id, T0 + 3605, 5.0f, err);
	xs_store_append(s, id, T0 + 10, 5.0f, err);
	n = xs_store_read(s, id, XS_TIER_5S, 0, INT64_MAX, p, 16);
	ok(n == 9 && p[8].t == T0 + 3605 && p[8].avg == 0.0f && p[1].t == T0 + 10, "duplicates ignored");
	{
		struct xs_store_stats st;

		xs_store_stats(s, &st);
		ok(st.duplicates == 2 && st.samples == 9 && st.series == 1, "stats");
	}
	ok(xs_store_append(s, id, T0 + 3603, 1, err) == XS_ERR_ARG, "time not a multiple of 5");
	store_close(&s);
	tmp_dir_remove(test_dir);
}

static void test_backfill(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN] = "";
	struct xs_point p[300];
	xs_series_id id;
	size_t n;

	tmp_dir_new(test_dir, "store");
	s = store_open(0);
	fail_unless(s, "open");
	id = series(s, 0);
	/* live data for minutes 0-1, then a gap, then minutes 10-11 */
	for (int64_t t = T0 + 5; t <= T0 + 120; t += 5) /* rows of minutes 0-1: (T0, T0 + 120] */
		xs_store_append(s, id, t, 1.0f, err);
	for (int64_t t = T0 + 605; t <= T0 + 725; t += 5) /* minutes 10-11, and 12 begun */
		xs_store_append(s, id, t, 2.0f, err);
	/* the host's 1 min archive for minutes -2 .. 12 */
	for (int64_t t = T0 - 120; t <= T0 + 720; t += 60)
		ok(xs_store_backfill(s, id, XS_TIER_1M, t, 9.0f, 8.0f, 10.0f, err) == XS_OK, "backfill");
	ok(xs_store_backfill(s, id, XS_TIER_5S, T0, 1, 1, 1, err) == XS_ERR_ARG, "no 5 s backfill");
	n = xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, p, 300);
	fail_unless(n == 14, "14 minutes (12 is still summing), got %zu", n);
	for (size_t i = 0; i < n; i++) {
		int64_t t = T0 - 120 + 60 * (int64_t)i;
		bool live = (t >= T0 && t < T0 + 120) || (t >= T0 + 600 && t < T0 + 720);

		ok(p[i].t == t && p[i].avg == (live ? (t < T0 + 600 ? 1.0f : 2.0f) : 9.0f),
		   "minute %zu: t %lld avg %g", i, (long long)p[i].t, p[i].avg);
	}
	store_close(&s);
	s = store_open(0);
	fail_unless(s, "reopen");
	ok(xs_store_read(s, id, XS_TIER_1M, 0, INT64_MAX, p, 300) == 14, "backfill kept");
	ok(xs_store_backfill(s, id, XS_TIER_1M, T0 + 60, 7, 7, 7, err) == XS_OK &&
		   xs_store_read(s, id, XS_TIER_1M, T0 + 60, T0 + 60, p, 1) == 1 && p[0].avg == 1.0f,
	   "no overwrite after reopen");
	store_close(&s);
	tmp_dir_remove(test_dir);
}

#define CRASH_SERIES 50

/* The child of the crash test: appends rows, syncs each, reports the synced row count. */
/*
 * Backfill against a model: live 5 s appends with gaps (which leave holes in the
 * rollups), whole-archive backfills of the 1 min tier oldest first, partial and
 * out-of-order ones, checkpoints and reopens in between. After every step the
 * 1 min tier must hold exactly one point per period the model says is filled,
 * each with the value of whoever filled it first.
 */
#define BFM_PERIODS 600 /* 10 hours of 1 min periods */

static uint64_t bfm_rng = 0x9e3779b97f4a7c15ull;

static uint32_t bfm_rand(uint32_t n)
{
	return (uint32_t)(xorshift64(&bfm_rng) % n);
}

static int bfm_check(struct xs_store *s, uint32_t id, const float *model, int round)
{
	static struct xs_point pt[BFM_PERIODS + 8];
	size_t n = xs_store_read(s, id, XS_TIER_1M, T0, T0 + (BFM_PERIODS - 1) * 60, pt,
				 BFM_PERIODS + 8);
	size_t j = 0, want = 0;
	int bad = 0;

	for (int p = 0; p < BFM_PERIODS; p++)
		want += !isnan(model[p]);
	if (!ok(n == want, "round %d: %zu points at 1 min, model has %zu", round, n, want))
		return 1;
	for (int p = 0; p < BFM_PERIODS && j < n; p++) {
		if (isnan(model[p]))
			continue;
		if (pt[j].t != T0 + p * 60 || !same(pt[j].avg, model[p]))
			bad++;
		j++;
	}
	ok(!bad, "round %d: %d points differ from the model", round, bad);
	return bad;
}

static void test_backfill_model(void)
{
	static float model[BFM_PERIODS];
	struct xs_store *s;
	char err[XS_ERR_LEN];
	uint32_t id;
	int64_t live = T0; /* next 5 s sample time */

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 16); /* small wal: checkpoints happen along the way */
	fail_unless(xs_store_series(s, XS_OBJ_VM, "bfm", "cpu0", "", &id, err) == XS_OK, "%s", err);
	for (int p = 0; p < BFM_PERIODS; p++)
		model[p] = NAN;
	for (int round = 0; round < 60; round++) {
		int op = (int)bfm_rand(6);

		if (op <= 1 && live < T0 + (BFM_PERIODS - 2) * 60) {
			/* live samples for a few minutes, after a gap of 0..40 min */
			int64_t gap = op ? (int64_t)bfm_rand(40) * 60 : 0;
			int64_t end = live + gap + 60 * (1 + bfm_rand(8));

			live += gap;
			if (end > T0 + (BFM_PERIODS - 1) * 60)
				end = T0 + (BFM_PERIODS - 1) * 60;
			for (; live < end; live += 5) {
				float v = (float)((live / 5) % 97);

				xs_store_append(s, id, live, v, err);
			}
		} else if (op <= 3) {
			/* a host archive: 120 periods ending before the period in progress, oldest first */
			int64_t hi = st_floor_test(live - 5, 60) - 60, lo = hi - 119 * 60;
			bool shuffled = op == 3 && bfm_rand(2);

			for (int i = 0; i < 120; i++) {
				int k = shuffled ? (int)bfm_rand(120) : i;
				int64_t t = lo + k * 60;
				float v = (float)(1000 + round * 1000 + k);

				if (t < T0)
					continue;
				xs_store_backfill(s, id, XS_TIER_1M, t, v, v, v, err);
			}
		} else if (op == 4) {
			store_close(&s);
			s = store_open(1 << 16);
			fail_unless(s, "reopen");
			fail_unless(xs_store_find(s, XS_OBJ_VM, "bfm", "cpu0", &id), "series after reopen");
		} else {
			fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
		}
		/* the model: what the store now says, checked for consistency instead of replayed */
		{
			static struct xs_point pt[BFM_PERIODS + 8];
			size_t n = xs_store_read(s, id, XS_TIER_1M, T0, T0 + (BFM_PERIODS - 1) * 60, pt,
						 BFM_PERIODS + 8);
			bool asc = true;

			for (size_t i = 1; i < n && i < BFM_PERIODS; i++)
				asc = asc && pt[i].t > pt[i - 1].t;
			ok(asc, "round %d: 1 min points strictly ascending (no duplicate period)", round);
			for (size_t i = 0; i < n && i < BFM_PERIODS; i++) {
				int p = (int)((pt[i].t - T0) / 60);

				/* a period once filled keeps its first value */
				if (!isnan(model[p]) && !same(model[p], pt[i].avg))
					ok(0, "round %d: period %d changed value", round, p);
				model[p] = pt[i].avg;
			}
			if (bfm_check(s, id, model, round))
				break;
		}
	}
	/* every period a whole archive reached and no live rollup holds is filled */
	{
		int64_t hi = st_floor_test(live - 5, 60) - 60;
		int holes = 0;

		for (int i = 0; i < 120; i++) {
			int64_t t = hi - 119 * 60 + i * 60;
			float v = -1;

			if (t < T0)
				continue;
			xs_store_backfill(s, id, XS_TIER_1M, t, v, v, v, err);
		}
		{
			static struct xs_point pt[BFM_PERIODS + 8];
			size_t n = xs_store_read(s, id, XS_TIER_1M, hi - 119 * 60, hi, pt, BFM_PERIODS + 8);

			holes = (int)(120 - n);
			if (hi - 119 * 60 < T0)
				holes -= (int)((T0 - (hi - 119 * 60)) / 60);
		}
		ok(holes == 0, "a last whole archive leaves %d holes", holes);
	}
	store_close(&s);
	tmp_dir_remove(test_dir);
}

struct each_seen {
	int n;
	bool bad;
	const char *uuid;
};

static void each_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct each_seen *e = arg;

	(void)id;
	e->n++;
	if (strncmp(ds, e->uuid, 4) || strcmp(unit, "B"))
		e->bad = true;
}

/* xs_store_each_of lists exactly one object's series, across growth and reopen. */
static void test_each_of(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN], uuid[32], ds[48];
	xs_series_id id;

	tmp_dir_new(test_dir, "store");
	s = store_open(0);
	fail_unless(s, "open");
	for (int i = 0; i < 3000; i++) { /* 300 objects x 10 series, interleaved */
		snprintf(uuid, sizeof(uuid), "o%03d", i % 300);
		snprintf(ds, sizeof(ds), "%s_ds%d", uuid, i / 300);
		fail_unless(xs_store_series(s, XS_OBJ_VM, uuid, ds, "B", &id, err) == XS_OK, "%s", err);
	}
	xs_store_series(s, XS_OBJ_HOST, "o007", "o007_host", "B", &id, err);
	for (int pass = 0; pass < 2; pass++) {
		int bad = 0;

		for (int o = 0; o < 300; o++) {
			struct each_seen e = { 0, false, uuid };

			snprintf(uuid, sizeof(uuid), "o%03d", o);
			xs_store_each_of(s, XS_OBJ_VM, uuid, each_cb, &e);
			bad += e.n != 10 || e.bad;
		}
		ok(!bad, "pass %d: %d objects listed wrongly", pass, bad);
		{
			struct each_seen e = { 0, false, "o007" };

			xs_store_each_of(s, XS_OBJ_HOST, "o007", each_cb, &e);
			ok(e.n == 1 && !e.bad, "pass %d: the host of the same uuid has its own list", pass);
			e.n = 0;
			xs_store_each_of(s, XS_OBJ_SR, "o007", each_cb, &e);
			ok(e.n == 0, "pass %d: no SR o007", pass);
		}
		store_close(&s);
		s = store_open(0);
		fail_unless(s, "reopen");
	}
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/*
 * Reads that skip index runs by their time range: three hours of 5 s samples and
 * shuffled 1 min backfill (blocks starting mid-window) over many checkpoints,
 * reopened, then every 10-minute range and every single backfilled point read.
 */
static void test_run_ranges(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN];
	xs_series_id a, b;
	static struct xs_point pt[300];
	int bad = 0, badb = 0;

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 14); /* a checkpoint every few rows: many runs per segment */
	fail_unless(s, "open");
	xs_store_series(s, XS_OBJ_VM, "rr", "cpu0", "", &a, err);
	xs_store_series(s, XS_OBJ_VM, "rr", "bf", "", &b, err);
	for (int64_t t = T0; t < T0 + 3 * 3600; t += 5) {
		xs_store_append(s, a, t, (float)(t % 1000), err);
		if (t % 300 == 0)
			fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	}
	xs_store_append(s, b, T0 + 4 * 3600, 1, err); /* b sums a later period: backfill is older */
	for (int i = 0; i < 180; i++) {
		int k = (i * 37) % 180; /* shuffled: blocks seal when a point is not after the last */
		float v = (float)(5000 + k);

		xs_store_backfill(s, b, XS_TIER_1M, T0 + k * 60, v, v, v, err);
		if (i % 10 == 9)
			fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	}
	store_close(&s);
	s = store_open(1 << 14);
	fail_unless(s, "reopen");
	for (int64_t w = T0; w + 600 <= T0 + 3 * 3600; w += 300) {
		size_t n = xs_store_read(s, a, XS_TIER_5S, w, w + 599, pt, 300);

		bad += n != 120 || pt[0].t != w || !same(pt[0].avg, (float)(w % 1000));
	}
	ok(!bad, "%d 10-minute ranges read wrong across runs", bad);
	for (int k = 0; k < 180; k++) {
		size_t n = xs_store_read(s, b, XS_TIER_1M, T0 + k * 60, T0 + k * 60, pt, 2);

		badb += n != 1 || !same(pt[0].avg, (float)(5000 + k));
	}
	ok(!badb, "%d backfilled points not found after reopen", badb);
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/*
 * Runs that lack a series cost no index read: 8 checkpoints each write one
 * window of blocks for a different group of 100 series (every run covers the
 * same window), then each series is read. A run's chunk is skipped once the
 * read knows the chunk ends below the series (known for runs written since
 * open, learnt on the first load after a reopen), so every pass looks up exactly
 * one 2 KiB chunk per series: 800, where reading every run that might hold it
 * cost 3,600. Of those, the read cache reads each run's one chunk from disk
 * once (8 reads), then finds it (none in the third pass). The values must be
 * right on every pass.
 */
static void test_index_skip(void)
{
	enum { GROUPS = 8, PER = 100, N = GROUPS * PER };
	static uint32_t id[N];
	static struct xs_point pt[200];
	struct xs_store_stats st;
	struct xs_store *s;
	char err[XS_ERR_LEN];
	uint64_t before, disk;
	int bad;

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 12);
	fail_unless(s, "open");
	for (int i = 0; i < N; i++)
		id[i] = series(s, i);
	for (int g = 0; g < GROUPS; g++) {
		for (int64_t t = T0; t <= T0 + 600; t += 5)
			for (int i = g * PER; i < (g + 1) * PER; i++)
				xs_store_append(s, id[i], t, value_of(id[i], t), err);
		fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err); /* a checkpoint */
	}
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1) {
			store_close(&s);
			s = store_open(1 << 12);
			fail_unless(s, "reopen");
		}
		xs_store_stats(s, &st);
		before = st.index_reads + st.index_cached;
		disk = st.index_reads;
		bad = 0;
		for (int i = 0; i < N; i++) {
			size_t n = xs_store_read(s, id[i], XS_TIER_5S, T0, T0 + 595, pt, 200);

			bad += n != 120 || pt[0].t != T0 || !same(pt[0].avg, value_of(id[i], T0)) ||
			       !same(pt[119].avg, value_of(id[i], T0 + 595));
		}
		xs_store_stats(s, &st);
		ok(!bad, "pass %d: %d series read wrong", pass, bad);
		ok(st.index_reads + st.index_cached - before == N, "pass %d: %llu index chunks looked up for %d series",
		   pass, (unsigned long long)(st.index_reads + st.index_cached - before), N);
		/* the read cache: each run's one chunk is read from disk once, then found */
		ok(st.index_reads - disk == (pass < 2 ? GROUPS : 0), "pass %d: %llu of them read from disk", pass,
		   (unsigned long long)(st.index_reads - disk));
	}
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/* A run that holds some hosts' series (a first backfill's) on both sides of another
 * host's: reading the other host's series skips the run by its ranges of series, where
 * the chunk spanning the gap would otherwise be read for nothing. */
static void test_index_ranges(void)
{
	enum { N = 300 };
	static uint32_t id[N];
	static struct xs_point pt[200];
	struct xs_store_stats st;
	struct xs_store *s;
	char err[XS_ERR_LEN];
	uint64_t before;
	int bad = 0;

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 12);
	fail_unless(s, "open");
	for (int i = 0; i < N; i++)
		id[i] = series(s, i);
	/* run 1: series 0-99 and 200-299; run 2: series 100-199 */
	for (int run = 0; run < 2; run++) {
		for (int64_t t = T0; t <= T0 + 600; t += 5)
			for (int i = 0; i < N; i++)
				if ((i >= 100 && i < 200) == (run == 1))
					xs_store_append(s, id[i], t, value_of(id[i], t), err);
		fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err); /* a checkpoint */
	}
	xs_store_stats(s, &st);
	before = st.index_reads + st.index_cached;
	for (int i = 100; i < 200; i++)
		bad += xs_store_read(s, id[i], XS_TIER_5S, T0, T0 + 595, pt, 200) != 120 ||
		       !same(pt[7].avg, value_of(id[i], T0 + 35));
	xs_store_stats(s, &st);
	ok(!bad, "%d series read wrong", bad);
	ok(st.index_reads + st.index_cached - before == 100, "%llu index chunks looked up for 100 series "
	   "(the other run's chunk across their ids: 200)",
	   (unsigned long long)(st.index_reads + st.index_cached - before));
	before = st.index_reads + st.index_cached;
	for (int i = 0; i < N; i++)
		bad += xs_store_read(s, id[i], XS_TIER_5S, T0, T0 + 595, pt, 200) != 120;
	xs_store_stats(s, &st);
	ok(!bad && st.index_reads + st.index_cached - before <= N + 2, "every series reads back, %llu chunks for %d",
	   (unsigned long long)(st.index_reads + st.index_cached - before), N);
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/* A checkpoint interrupted after its list was written: recovery must keep every run of
 * the committed generation, in segments of every tier (it once parsed runs as 5 s ones). */
static void test_ckpt_recover(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN], path[128];
	xs_series_id id;
	uint8_t list[4 * 9];
	FILE *f;
	int bad;

	tmp_dir_new(test_dir, "store");
	s = store_open(1 << 14);
	fail_unless(s, "open");
	id = series(s, 0);
	for (int64_t t = T0; t < T0 + 6 * 3600; t += 5) {
		xs_store_append(s, id, t, value_of(id, t), err);
		if (t % 600 == 0)
			xs_store_sync(s, err);
	}
	store_close(&s);
	/* a ckpt naming the segment of every tier holding T0, as a checkpoint leaves it */
	for (int k = 0; k < XS_NTIERS; k++) {
		static const int64_t span[XS_NTIERS] = { 86400, 864000, 8640000, 86400000 };
		int64_t no = T0 / span[k];

		list[k * 9] = (uint8_t)k;
		for (int b = 0; b < 8; b++)
			list[k * 9 + 1 + b] = (uint8_t)((uint64_t)no >> (8 * b));
	}
	snprintf(path, sizeof(path), "%s/ckpt", test_dir);
	f = fopen(path, "wb");
	fail_unless(f && fwrite(list, 1, sizeof(list), f) == sizeof(list) && fclose(f) == 0, "ckpt");
	s = store_open(1 << 14);
	fail_unless(s, "reopen");
	bad = check_series(s, id, T0 + 6 * 3600);
	ok(bad == 0, "every tier intact after recovery (%d bad)", bad);
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/* A checkpoint whose blocks for one segment pass the 4 MiB write chunk: every block
 * must land where its index entry says, across the chunk boundaries. */
static void test_big_checkpoint(void)
{
	enum { NS = 24000 };
	struct xs_store *s;
	char err[XS_ERR_LEN], uuid[32];
	static xs_series_id ids[NS];
	static struct xs_point pt[200];
	int bad = 0;

	tmp_dir_new(test_dir, "store");
	s = store_open(0);
	fail_unless(s, "open");
	for (int i = 0; i < NS; i++) {
		snprintf(uuid, sizeof(uuid), "big-%05d", i);
		if (xs_store_series(s, XS_OBJ_VM, uuid, "cpu0", "", &ids[i], err) != XS_OK) {
			ok(0, "series %d: %s", i, err);
			store_close(&s);
			tmp_dir_remove(test_dir);
			return;
		}
	}
	/* noisy values: about 300 bytes a block, 24000 blocks: 7 MB in one segment */
	for (int64_t t = T0; t <= T0 + 600; t += 5)
		for (int i = 0; i < NS; i++)
			xs_store_append(s, ids[i], t, value_of(ids[i], t) * (float)(1 + i % 7), err);
	store_close(&s);
	s = store_open(0);
	fail_unless(s, "reopen");
	{
		struct xs_store_stats st;

		xs_store_stats(s, &st);
		ok(st.bytes_on_disk > (6u << 20), "more than one write chunk on disk: %llu bytes",
		   (unsigned long long)st.bytes_on_disk);
	}
	for (int i = 0; i < NS; i += 97) {
		size_t n = xs_store_read(s, ids[i], XS_TIER_5S, T0, T0 + 595, pt, 200);

		bad += n != 120 || !same(pt[119].avg, value_of(ids[i], T0 + 595) * (float)(1 + i % 7));
	}
	ok(!bad, "%d series read wrong after a checkpoint of several write chunks", bad);
	store_close(&s);
	tmp_dir_remove(test_dir);
}

static void crash_child(int wfd)
{
	struct xs_store *s = store_open(64 << 10); /* small wal: frequent checkpoints */
	char err[XS_ERR_LEN];
	uint32_t ids[CRASH_SERIES];
	int64_t t = T0, last = 0;

	if (!s)
		_exit(3);
	for (int i = 0; i < CRASH_SERIES; i++)
		ids[i] = series(s, i);
	if (xs_store_latest(s, ids[0], &last, &(float){ 0 }))
		t = last + 5;
	for (;; t += 5) {
		for (int i = 0; i < CRASH_SERIES; i++)
			xs_store_append(s, ids[i], t, value_of(ids[i], t), err);
		if (xs_store_sync(s, err) != XS_OK)
			_exit(4);
		if (write(wfd, &t, sizeof(t)) != sizeof(t))
			_exit(5);
	}
}

static void test_crash(void)
{
	int64_t synced = 0;

	tmp_dir_new(test_dir, "store");
	srand((unsigned)time(NULL));
	for (int it = 0; it < 12; it++) {
		int fds[2];
		pid_t pid;
		int64_t t;
		struct xs_store *s;
		int bad = 0;

		fail_unless(pipe(fds) == 0, "pipe");
		pid = fork();
		fail_unless(pid >= 0, "fork");
		if (pid == 0) {
			close(fds[0]);
			crash_child(fds[1]);
		}
		close(fds[1]);
		usleep(20000 + (useconds_t)(rand() % 200000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(fds[0], &t, sizeof(t)) == sizeof(t))
			synced = t;
		close(fds[0]);
		s = store_open(64 << 10);
		fail_unless(s, "reopen after kill, iteration %d", it);
		for (int i = 0; i < CRASH_SERIES && synced; i++) {
			xs_series_id id;
			char uuid[64], ds[16];
			int64_t lt = 0;

			snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i / 10);
			snprintf(ds, sizeof(ds), "ds%d", i % 10);
			if (!xs_store_find(s, XS_OBJ_VM, uuid, ds, &id)) {
				bad++;
				continue;
			}
			xs_store_latest(s, id, &lt, &(float){ 0 });
			if (lt < synced || check_series(s, id, lt + 5))
				bad++;
		}
		ok(bad == 0, "iteration %d: %d bad series (synced up to %lld)", it, bad,
		   (long long)(synced - T0));
		store_close(&s);
	}
	tmp_dir_remove(test_dir);
}

/* Flips count bytes of name, 37 apart, from off_from_end before its end; false when
 * the file is missing (a test damaging a file that is not there proves nothing). */
static bool flip(const char *name, long off_from_end, int count)
{
	char path[128];
	int fd;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	for (int i = 0; i < count; i++) {
		off_t at = sb.st_size - off_from_end - i * 37;
		unsigned char c;

		if (at < 0)
			break;
		if (pread(fd, &c, 1, at) == 1) {
			c ^= 0x5a;
			if (pwrite(fd, &c, 1, at) != 1)
				break;
		}
	}
	close(fd);
	return true;
}

/* After corruption: open works, and whatever a read returns is right. */
static int check_subset(struct xs_store *s, uint32_t id)
{
	static struct xs_point pts[40000];
	size_t n = xs_store_read(s, id, XS_TIER_5S, 0, INT64_MAX, pts, 40000);
	int bad = 0;

	for (size_t i = 0; i < n && i < 40000; i++)
		if (!same(pts[i].avg, value_of(id, pts[i].t)) || (i && pts[i].t <= pts[i - 1].t))
			bad++;
	return bad;
}

static void test_corrupt(void)
{
	/* T0 is day 19676 of the 5 s tier, span 1967 of the 1 min tier (10 days) */
	const char *files[] = { "wal", "5s-19676.seg", "5s-19676.idx", "1m-1967.seg", "1m-1967.idx",
				"series" };

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		for (long where = 1; where < 4000; where = where * 3 + 7) {
			struct xs_store *s;
			char err[XS_ERR_LEN];
			int bad = 0;

			tmp_dir_new(test_dir, "store");
			s = store_open(32 << 10);
			fail_unless(s, "open");
			for (int i = 0; i < 4; i++)
				series(s, i);
			for (int64_t t = T0; t < T0 + 7200; t += 5) {
				for (uint32_t i = 0; i < 4; i++)
					xs_store_append(s, i, t, value_of(i, t), err);
				if (t % 600 == 0)
					xs_store_sync(s, err);
			}
			xs_store_sync(s, err);
			store_close(&s);
			if (!ok(flip(files[f], where, 3), "%s exists to be damaged", files[f])) {
				tmp_dir_remove(test_dir);
				continue;
			}
			s = NULL;
			{
				struct xs_store_options o = { .dir = test_dir };

				if (xs_store_open(&o, &s, err) != XS_OK)
					s = NULL; /* a refusal is fine, a crash is not */
			}
			if (s) {
				struct xs_store_stats st;

				xs_store_stats(s, &st);
				for (uint32_t i = 0; i < st.series; i++)
					bad += check_subset(s, i);
				xs_store_stats(s, &st);
				/* every byte of a .seg is some block's: the block read is dropped, counted */
				if (!strcmp(files[f], "5s-19676.seg"))
					ok(st.damaged_blocks > 0, "%s flipped at -%ld: %llu damaged blocks",
					   files[f], where, (unsigned long long)st.damaged_blocks);
			}
			ok(bad == 0, "%s flipped at -%ld: %d wrong points", files[f], where, bad);
			if (s)
				store_close(&s);
			tmp_dir_remove(test_dir);
		}
	}
}

static void test_retention(void)
{
	struct xs_store_options o = { 0 };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";
	struct xs_point p[4];
	struct xs_store_stats st1, st2;
	xs_series_id id;

	tmp_dir_new(test_dir, "store");
	o.dir = test_dir;
	o.retention[XS_TIER_5S] = 86400; /* 1 day */
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	id = series(s, 0);
	for (int64_t t = T0; t < T0 + 4 * 86400; t += 60) /* a sample a minute for 4 days */
		xs_store_append(s, id, t, 1.0f, err);
	ok(xs_store_sync(s, err) == XS_OK, "sync");
	store_close(&s);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	xs_store_stats(s, &st1);
	ok(xs_store_expire(s, T0 + 4 * 86400, err) == XS_OK, "expire: %s", err);
	xs_store_stats(s, &st2);
	ok(st2.bytes_on_disk < st1.bytes_on_disk, "disk use shrank (%llu -> %llu)",
	   (unsigned long long)st1.bytes_on_disk, (unsigned long long)st2.bytes_on_disk);
	ok(xs_store_read(s, id, XS_TIER_5S, T0, T0 + 2 * 86400 - 1, p, 4) == 0, "old days gone");
	ok(xs_store_read(s, id, XS_TIER_5S, T0 + 3 * 86400, T0 + 3 * 86400 + 60, p, 4) == 2,
	   "last day kept");
	ok(xs_store_read(s, id, XS_TIER_1M, T0, T0 + 60, p, 4) == 2, "1 min tier kept");
	/* the machine's clock jumps 10 years ahead: retention counts from the data, at most a
	 * day past its newest point, so nothing the data's own times keep goes */
	ok(xs_store_expire(s, T0 + 3650LL * 86400, err) == XS_OK, "expire, clock ahead: %s", err);
	ok(xs_store_read(s, id, XS_TIER_5S, T0 + 3 * 86400, T0 + 3 * 86400 + 60, p, 4) == 2,
	   "a clock 10 years ahead keeps the last day at 5 s");
	ok(xs_store_read(s, id, XS_TIER_1M, T0, T0 + 60, p, 4) == 2,
	   "and the 1 min tier (60 days)");
	store_close(&s);
	tmp_dir_remove(test_dir);
}

static void test_million(void)
{
	struct xs_store *s;
	char err[XS_ERR_LEN] = "", uuid[64];
	struct timespec a, b;
	xs_series_id id;
	double secs;
	int n = 1000000;

	tmp_dir_new(test_dir, "store");
	s = store_open(0);
	fail_unless(s, "open");
	for (int i = 0; i < n; i++) {
		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i / 25, i / 25);
		snprintf(err, 16, "vbd_xvd%c_r%d", 'a' + i % 4, i % 25);
		if (xs_store_series(s, XS_OBJ_VM, uuid, err, "B/s", &id, err) != XS_OK)
			break;
	}
	store_close(&s);
	clock_gettime(CLOCK_MONOTONIC, &a);
	s = store_open(0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	fail_unless(s, "reopen");
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ok(secs < 10, "1M series open in %.2f s", secs);
	printf("# 1M series opened in %.2f s (ASan build)\n", secs);
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", 777777 / 25, 777777 / 25);
	ok(xs_store_find(s, XS_OBJ_VM, uuid, "vbd_xvdb_r2", &id) && id == 777777, "find 777777");
	store_close(&s);
	tmp_dir_remove(test_dir);
}

/* Encodes n points of nch channels (times t, values v), decodes, compares bit for bit;
 * also checks every truncation decodes to -1 or the same points. Returns payload bytes. */
static size_t codec_round_trip(const char *what, const int64_t *t, const float *v, unsigned n,
			       unsigned nch, int64_t step, bool cuts)
{
	struct xs_block b = { 0 };
	static int64_t t2[XS_BLOCK_MAX_POINTS];
	static float v2[XS_BLOCK_MAX_POINTS * 3];
	uint8_t *p;
	size_t len;
	long got;
	bool same_all = true;

	xs_block_init(&b, step, nch);
	for (unsigned i = 0; i < n; i++)
		xs_block_put(&b, t[i], v + (size_t)i * nch);
	len = xs_block_bytes(&b);
	p = malloc(len + 1);
	xs_block_payload(&b, p);
	got = xs_block_decode(p, len, t[0], step, n, xs_block_flags(&b), t2, v2, XS_BLOCK_MAX_POINTS);
	ok(got == (long)n, "%s: decodes %ld of %u points", what, got, n);
	for (unsigned i = 0; i < n && got == (long)n; i++) {
		same_all &= t2[i] == t[i];
		for (unsigned c = 0; c < nch; c++)
			same_all &= same(v2[i * nch + c], v[i * nch + c]);
	}
	ok(same_all, "%s: every time and bit pattern back", what);
	if (cuts) {
		bool cut_ok = true;

		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *q = malloc(cut + 1);

			memcpy(q, p, cut);
			got = xs_block_decode(q, cut, t[0], step, n, xs_block_flags(&b), t2, v2,
					      XS_BLOCK_MAX_POINTS);
			cut_ok &= got < 0 || got == (long)n;
			free(q);
		}
		ok(cut_ok, "%s: truncations fail cleanly", what);
	}
	free(p);
	xs_block_cleanup(&b);
	return len;
}

static uint64_t codec_rng = 88172645463325252ull;

static uint32_t codec_rand(void)
{
	return (uint32_t)(xorshift64(&codec_rng) >> 16);
}

static float codec_f(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Payload of b decoded, compared with n points at t (1 channel, values v). */
static bool codec_same(const struct xs_block *b, const int64_t *t, const float *v, unsigned n)
{
	static int64_t t2[16];
	static float v2[16];
	uint8_t p[256];
	long got;

	if (xs_block_bytes(b) > sizeof(p))
		return false;
	xs_block_payload(b, p);
	got = xs_block_decode(p, xs_block_bytes(b), t[0], 5, n, xs_block_flags(b), t2, v2, 16);
	return got == (long)n && !memcmp(t, t2, n * sizeof(*t)) && !memcmp(v, v2, n * sizeof(*v));
}

/*
 * One struct, blocks one after another (as a series' open block is reused
 * at each seal): an irregular block, then a regular one (no time stream is
 * left over: its flags say regular), then irregular again; the struct's size
 * (it is most of the store's memory); a gap past XS_BLOCK_MAX_GAP steps in a
 * payload is refused.
 */
static void test_codec_reuse(void)
{
	static const int64_t ti[4] = { 1000, 1010, 1015, 1030 }, tr[4] = { 2000, 2005, 2010, 2015 };
	static const float v[4] = { 1.5f, 2.5f, 0.0f, 7.0f };
	struct xs_block b = { 0 };
	uint8_t p[32];
	int64_t t[4];
	float f[4];
	struct xs_bits w = { 0 };

	ok(sizeof(struct xs_block) == 88, "struct xs_block is 88 bytes (%zu)", sizeof(struct xs_block));
	xs_block_init(&b, 5, 1);
	for (int i = 0; i < 4; i++)
		xs_block_put(&b, ti[i], &v[i]);
	ok((xs_block_flags(&b) & XS_BLOCK_IRREGULAR) && codec_same(&b, ti, v, 4), "irregular block");
	xs_block_init(&b, 5, 1);
	for (int i = 0; i < 4; i++)
		xs_block_put(&b, tr[i], &v[i]);
	ok(!(xs_block_flags(&b) & XS_BLOCK_IRREGULAR) && codec_same(&b, tr, v, 4),
	   "then a regular one in the same struct");
	xs_block_shrink(&b);
	ok(b.tbits == NULL && codec_same(&b, tr, v, 4), "shrink drops the empty time stream");
	xs_block_init(&b, 5, 1);
	for (int i = 0; i < 4; i++)
		xs_block_put(&b, ti[i], &v[i]);
	ok((xs_block_flags(&b) & XS_BLOCK_IRREGULAR) && codec_same(&b, ti, v, 4), "then irregular again");
	xs_block_cleanup(&b);
	ok(b.tbits == NULL && b.bits.buf == NULL, "cleanup frees both streams");

	/* a time stream whose second delta is 2^31 steps: dod code 15 then 64 bits */
	xs_bits_put(&w, 15, 4);
	xs_bits_put(&w, (uint64_t)INT32_MAX, 64); /* d = 1 + (2^31 - 1) */
	memset(p, 0, sizeof(p));
	memcpy(p, w.buf, (w.nbits + 7) / 8);
	ok(xs_block_decode(p, sizeof(p), 0, 1, 2, 1 | XS_BLOCK_IRREGULAR, t, f, 4) < 0,
	   "a gap of 2^31 steps is refused");
	free(w.buf);
}

static void test_codec(void)
{
	static int64_t t[XS_BLOCK_MAX_POINTS];
	static float v[XS_BLOCK_MAX_POINTS * 3];
	static const uint32_t specials[] = { 0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
					     0x7fc00000u, 0x7fa00001u, 0xffffffffu, 0x00000001u,
					     0x7f7fffffu, 0x3f800000u };
	size_t len;

	/* irregular times, NaN, ±Inf, -0 (the first cut's test) */
	for (int i = 0; i < 120; i++) {
		t[i] = 1000 + 5 * i + (i > 50 ? 3000 : 0) + (i > 90 ? 5 * i : 0);
		v[i * 3] = (float)i;
		v[i * 3 + 1] = i % 7 ? 1.0f : NAN;
		v[i * 3 + 2] = i % 2 ? INFINITY : -0.0f;
	}
	codec_round_trip("irregular, specials", t, v, 120, 3, 5, true);
	/* every special after every special, in every channel position */
	for (int i = 0; i < 300; i++) {
		t[i] = 5 * i;
		for (int c = 0; c < 3; c++)
			v[i * 3 + c] = codec_f(specials[(i * (c + 1) + i / 10) % 10]);
	}
	codec_round_trip("specials 1 ch", t, v, 300, 1, 5, true);
	codec_round_trip("specials 3 ch", t, v, 100, 3, 5, true);
	/* a constant series costs about a bit a point, times nothing */
	for (int i = 0; i < 120; i++) {
		t[i] = 86400 + 5 * i;
		v[i] = 4294967296.0f;
	}
	len = codec_round_trip("constant", t, v, 120, 1, 5, true);
	ok(len <= 4 + 120 / 8 + 1, "constant: %zu bytes for 120 points", len);
	/* zeros with repeats: idle then busy then idle */
	for (int i = 0; i < 120; i++)
		v[i] = i % 13 < 8 ? 0.0f : (float)(1000 + i % 3);
	len = codec_round_trip("zeros and repeats", t, v, 120, 1, 5, true);
	ok(len < 120 * 3 / 8 + 20, "zeros and repeats: %zu bytes", len);
	/* rollup points whose min and max equal the avg, or repeat */
	for (int i = 0; i < 30; i++) {
		t[i] = 60 * i;
		v[i * 3] = (float)(i / 3);
		v[i * 3 + 1] = i % 2 ? v[i * 3] : 0.0f;
		v[i * 3 + 2] = i % 5 ? v[i * 3] : 7.0f;
	}
	len = codec_round_trip("rollup equal channels", t, v, 30, 3, 60, true);
	ok(len < 50, "rollup equal channels: %zu bytes", len);
	/* noisy full-precision float32 (xapi-sim's ±20 %): well under 32 bits a point */
	for (int i = 0; i < 120; i++) {
		t[i] = 5 * i;
		v[i] = (float)(1234.5678 * (0.8 + 0.4 * (codec_rand() % 1000000) / 1e6));
	}
	len = codec_round_trip("noise", t, v, 120, 1, 5, true);
	ok(len * 8 < 120 * 26, "noise: %.1f bits a point", (double)len * 8 / 120);
	/* random bit patterns (any float, NaNs included), random gaps, all channel counts */
	for (int round = 0; round < 200; round++) {
		unsigned n = 1 + codec_rand() % (round < 190 ? 200 : XS_BLOCK_MAX_POINTS);
		unsigned nch = 1 + codec_rand() % 3;
		int64_t step = round % 2 ? 5 : 3600;
		char what[64];

		t[0] = step * (int64_t)(codec_rand() % 100000);
		for (unsigned i = 1; i < n; i++)
			t[i] = t[i - 1] + step * (codec_rand() % 8 ? 1 : 1 + codec_rand() % 5000);
		for (unsigned i = 0; i < n * nch; i++) {
			uint32_t r = codec_rand();

			v[i] = r % 4 == 0 ? codec_f(specials[r % 10])
			       : r % 4 == 1 && i ? v[i - 1]
			       : codec_f(codec_rand() << 16 ^ codec_rand());
		}
		snprintf(what, sizeof(what), "random %d (%u x %u)", round, n, nch);
		codec_round_trip(what, t, v, n, nch, step, round < 20);
	}
	test_codec_reuse();
	/* a corrupt flags byte is refused */
	{
		uint8_t p[8] = { 0 };

		ok(xs_block_decode(p, sizeof(p), 0, 5, 1, 0x41, t, v, 10) < 0, "bad flags refused");
		ok(xs_block_decode(p, sizeof(p), 0, 5, 1, 4, t, v, 10) < 0, "4 channels refused");
	}
	ok(xs_crc32c(0, "123456789", 9) == 0xE3069283u, "crc32c check value");
}

/* What the io hooks saw: reads made between io_begin and io_end, where another
 * thread may read while a sync or a checkpoint writes its files. */
struct io_probe {
	struct xs_store *s;
	xs_series_id id;
	int64_t end;      /* the data appended so far ends before this */
	int begins, ends; /* hook calls */
	int depth, max_depth;
	int bad;          /* points read wrong inside the hooks */
	int yields;       /* yield hook calls ... */
	int yields_inside; /* ... of which between io_begin and io_end */
};

static void io_probe_begin(void *arg)
{
	struct io_probe *p = arg;

	p->begins++;
	p->max_depth = ++p->depth > p->max_depth ? p->depth : p->max_depth;
	if (p->s)
		p->bad += check_series(p->s, p->id, p->end);
}

static void io_probe_end(void *arg)
{
	struct io_probe *p = arg;

	p->ends++;
	p->depth--;
	/* after the checkpoint's files are written, before they are applied */
	if (p->s)
		p->bad += check_series(p->s, p->id, p->end);
}

/* Syncs and checkpoints call the io hooks in pairs, never nested, and a reader
 * between them sees every point (blocks written but not yet applied included). */
static void test_io_hooks(void)
{
	struct io_probe p = { 0 };
	struct xs_store_options o = { .wal_max = 1 << 14, .io_begin = io_probe_begin,
				      .io_end = io_probe_end, .io_arg = &p };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";
	int syncs = 0;

	tmp_dir_new(test_dir, "store");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	p.id = series(s, 0);
	p.s = s;
	for (int64_t t = T0; t < T0 + 4 * 3600; t += 5) {
		xs_store_append(s, p.id, t, value_of(p.id, t), err);
		p.end = t + 5;
		if (t % 120 == 0) {
			fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
			syncs++;
		}
	}
	ok(p.begins == p.ends && p.max_depth == 1, "hooks paired (%d, %d), never nested (%d)",
	   p.begins, p.ends, p.max_depth);
	ok(p.begins > syncs, "checkpoints call them too: %d calls, %d syncs", p.begins, syncs);
	ok(p.bad == 0, "reads between io_begin and io_end: %d wrong", p.bad);
	p.s = NULL;
	store_close(&s);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	ok(check_series(s, p.id, p.end) == 0, "every point after reopen");
	store_close(&s);
	tmp_dir_remove(test_dir);
}

static void io_probe_yield(void *arg)
{
	struct io_probe *p = arg;

	p->yields++;
	p->yields_inside += p->depth != 0;
	if (p->s)
		p->bad += check_series(p->s, p->id, p->end);
}

/* A checkpoint's passes over every series call the yield hook every
 * XS_STORE_YIELD_EVERY series, outside the io hooks, where a reader sees every
 * point; the row cut into records as it grows (ST_ROW_MAX_ENTRIES) replays whole. */
static void test_yield_hook(void)
{
	enum { NSER = 2 * XS_STORE_YIELD_EVERY + 10, MINUTES = 10 };
	struct io_probe p = { 0 };
	struct xs_store_options o = { .wal_max = 1 << 14, .io_begin = io_probe_begin,
				      .io_end = io_probe_end, .yield = io_probe_yield, .io_arg = &p };
	static xs_series_id ids[NSER];
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";
	int bad = 0;

	tmp_dir_new(test_dir, "store");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	for (int i = 0; i < NSER; i++)
		ids[i] = series(s, i);
	p.id = ids[NSER - 1];
	fail_unless(xs_store_sync(s, err) == XS_OK, "sync the catalog: %s", err);
	for (int64_t t = T0; t < T0 + MINUTES * 60; t += 5) {
		for (int i = 0; i < NSER; i++)
			xs_store_append(s, ids[i], t, value_of(ids[i], t), err);
		p.end = t + 5;
		if (t == T0)
			ok(xs_store_backlog(s) > 0, "a row is written out as it grows, before it closes");
	}
	ok(p.yields == 0, "no yield while appending: %d", p.yields);
	/* a backfill block, so that the checkpoint seals it in its own pass */
	fail_unless(xs_store_backfill(s, ids[1], XS_TIER_1H, T0 - 2 * 86400, 1, 0, 2, err) == XS_OK,
		    "backfill: %s", err);
	p.s = s;
	fail_unless(xs_store_sync(s, err) == XS_OK, "sync and checkpoint: %s", err);
	ok(p.yields >= 4, "a checkpoint over %d series yields every %d: %d calls", NSER,
	   XS_STORE_YIELD_EVERY, p.yields);
	ok(p.yields_inside == 0, "never between io_begin and io_end: %d", p.yields_inside);
	ok(p.bad == 0, "reads at the yields: %d wrong", p.bad);
	p.s = NULL;
	store_close(&s);
	o.yield = NULL;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	for (int i = 0; i < NSER; i += 97)
		bad += check_series(s, ids[i], p.end);
	bad += check_series(s, ids[NSER - 1], p.end);
	ok(bad == 0, "every point after reopen: %d wrong", bad);
	store_close(&s);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_codec);
	TEST_RUN(test_lock);
	TEST_RUN(test_rollup_hand);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_backfill);
	TEST_RUN(test_backfill_model);
	TEST_RUN(test_each_of);
	TEST_RUN(test_run_ranges);
	TEST_RUN(test_index_skip);
	TEST_RUN(test_index_ranges);
	TEST_RUN(test_ckpt_recover);
	TEST_RUN(test_big_checkpoint);
	TEST_RUN(test_io_hooks);
	TEST_RUN(test_yield_hook);
	TEST_RUN(test_crash);
	TEST_RUN(test_corrupt);
	TEST_RUN(test_retention);
	TEST_RUN(test_million);
	return test_summary();
}
