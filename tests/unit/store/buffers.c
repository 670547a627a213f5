/*
 * tests/unit/store/buffers.c - the store's write buffers give back what a burst
 * grew them to, once written: the wal buffer after a first backfill's records
 * (past ST_WALBUF_KEEP), the catalog buffer after thousands of new series (past
 * ST_BYTES_KEEP); an ordinary row's wal buffer is kept for the next rows.
 * The store is included whole (store_whole.h) to look at the buffers.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/store_whole.h"

#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */

static char test_dir[TMP_DIR_LEN];

static void test_wal_buffer(void)
{
	struct xs_store_options o = { .dir = NULL };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "", ds[16];
	xs_series_id id[64];
	size_t grown;

	tmp_dir_new(test_dir, "buffers");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	for (int i = 0; i < 64; i++) {
		snprintf(ds, sizeof(ds), "cpu%d", i);
		fail_unless(xs_store_series(s, XS_OBJ_VM, "vm", ds, "(fraction)", &id[i], err) == XS_OK,
			    "series: %s", err);
	}
	ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	/* a year of 1 d, two months of 1 min points: what a first backfill of 64 series holds */
	for (int i = 0; i < 64; i++)
		for (int64_t t = T0 - 60 * 86400; t < T0; t += 60)
			if (xs_store_backfill(s, id[i], XS_TIER_1M, t, 1, 0, 2, err) != XS_OK)
				ok(0, "backfill: %s", err);
	grown = s->walbuf.cap;
	ok(grown > ST_WALBUF_KEEP, "the burst grew the wal buffer to %zu bytes", grown);
	ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	ok(s->walbuf.cap == 0 && s->walbuf.p == NULL, "written, it is freed (%zu bytes kept)", s->walbuf.cap);
	for (int i = 0; i < 64; i++)
		if (xs_store_append(s, id[i], T0 + 5, 0.5f, err) != XS_OK)
			ok(0, "append: %s", err);
	ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	ok(s->walbuf.cap > 0 && s->walbuf.cap <= ST_WALBUF_KEEP,
	   "an ordinary row's buffer is kept for the next rows (%zu bytes)", s->walbuf.cap);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

static void test_catalog_buffer(void)
{
	struct xs_store_options o = { .dir = NULL };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "", uuid[48];
	xs_series_id id;
	size_t grown;

	tmp_dir_new(test_dir, "buffers");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	for (int i = 0; i < 100000; i++) {
		snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-000000000000", i);
		if (xs_store_series(s, XS_OBJ_VM, uuid, "memory_internal_free", "KiB", &id, err) != XS_OK)
			ok(0, "series: %s", err);
	}
	grown = s->catbuf.cap;
	ok(grown > ST_BYTES_KEEP, "100,000 new series grew the catalog buffer to %zu bytes", grown);
	ok(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	ok(s->catbuf.cap == 0, "written, it is freed (%zu bytes kept)", s->catbuf.cap);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_wal_buffer);
	TEST_RUN(test_catalog_buffer);
	return test_summary();
}
