/*
 * tests/unit/store/read_cache.c - the read cache of decoded index chunks
 * (struct st_chunk_slot in store_internal.h):
 *   - the twenty series of one object, read one after the other, read each
 *     run's chunk from disk once, and every value is right;
 *   - a segment removed by retention leaves no slot naming it, and a segment
 *     of the same day written again afterwards reads its own blocks, not the
 *     removed one's (a slot names its segment by address, which malloc may
 *     give again).
 * The store is included whole (store_whole.h) to look at the slots.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "store/store_whole.h"

#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */

static char test_dir[TMP_DIR_LEN];

static struct xs_store *cache_open(void)
{
	struct xs_store_options o = { .dir = test_dir, .wal_max = 1 }; /* a checkpoint at each sync */
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

static xs_series_id cache_series(struct xs_store *s, const char *uuid, int i)
{
	char err[XS_ERR_LEN] = "", ds[16];
	xs_series_id id = UINT32_MAX;

	snprintf(ds, sizeof(ds), "cpu%d", i);
	if (xs_store_series(s, XS_OBJ_VM, uuid, ds, "(fraction)", &id, err) != XS_OK)
		ok(0, "series %s %s: %s", uuid, ds, err);
	return id;
}

static float cache_value(xs_series_id id, int64_t t)
{
	return (float)id + (float)((t - T0) % 600) / 1000.0f;
}

/* Appends the series' 5 s samples of [from, from + 595] and syncs: a checkpoint, whose run
 * holds the blocks the samples sealed (those of the window before). */
static void cache_fill(struct xs_store *s, const xs_series_id *ids, size_t n, int64_t from)
{
	char err[XS_ERR_LEN] = "";

	for (int64_t t = from; t < from + 600; t += 5)
		for (size_t i = 0; i < n; i++)
			if (xs_store_append(s, ids[i], t, cache_value(ids[i], t), err) != XS_OK)
				ok(0, "append: %s", err);
	ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
}

/* Whether series id reads back its 120 samples of [from, from + 595]. */
static bool cache_reads(struct xs_store *s, xs_series_id id, int64_t from)
{
	static struct xs_point pt[200];
	size_t n = xs_store_read(s, id, XS_TIER_5S, from, from + 595, pt, 200);
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += pt[i].t != from + 5 * (int64_t)i || pt[i].avg != cache_value(id, pt[i].t);
	return n == 120 && !bad;
}

static void test_one_object(void)
{
	struct xs_store *s;
	struct xs_store_stats st;
	xs_series_id ids[20];
	uint64_t disk, cached;
	int bad = 0;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "cache");
	s = cache_open();
	for (int i = 0; i < 20; i++)
		ids[i] = cache_series(s, "vm-a", i);
	for (int r = 0; r < 4; r++) /* three runs of the same day (the fourth window stays open) */
		cache_fill(s, ids, 20, T0 + 600 * r);
	xs_store_stats(s, &st);
	disk = st.index_reads;
	cached = st.index_cached;
	for (int i = 0; i < 20; i++)
		for (int r = 0; r < 3; r++)
			bad += !cache_reads(s, ids[i], T0 + 600 * r);
	xs_store_stats(s, &st);
	ok(!bad, "every series reads back: %d wrong", bad);
	ok(st.index_reads - disk == 3 && st.index_cached - cached == 57,
	   "3 runs: %llu chunks read from disk, %llu found in the cache (3 and 57)",
	   (unsigned long long)(st.index_reads - disk), (unsigned long long)(st.index_cached - cached));
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

static void test_expired_segment(void)
{
	struct xs_store *s;
	xs_series_id x, y, z;
	const struct st_seg *gone = NULL;
	size_t named = 0;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "cache");
	s = cache_open();
	x = cache_series(s, "vm-x", 0);
	z = cache_series(s, "vm-z", 0);
	cache_fill(s, &x, 1, T0);
	cache_fill(s, &x, 1, T0 + 600); /* the first window sealed and written */
	ok(cache_reads(s, x, T0), "x reads back");
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i]->tier == XS_TIER_5S && s->segs[i]->no == T0 / 86400)
			gone = s->segs[i];
	ok(gone != NULL, "x's day has a segment");
	cache_fill(s, &z, 1, T0 + 3 * 86400); /* newer data, so that x's day can expire */
	ok(xs_store_expire(s, T0 + 4 * 86400, err) == XS_OK, "expire: %s", err);
	for (size_t i = 0; s->chunks && i < ST_CHUNK_SLOTS; i++)
		named += s->chunks[i].g == gone;
	ok(named == 0, "no slot names the removed segment (%zu)", named);
	ok(xs_store_read(s, x, XS_TIER_5S, T0, T0 + 595, (struct xs_point[1]){ { 0 } }, 1) == 0,
	   "x's day is gone");
	y = cache_series(s, "vm-y", 0);
	cache_fill(s, &y, 1, T0);
	cache_fill(s, &y, 1, T0 + 600);
	ok(cache_reads(s, y, T0), "a new series of the same day reads its own blocks");
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_one_object);
	TEST_RUN(test_expired_segment);
	return test_summary();
}
