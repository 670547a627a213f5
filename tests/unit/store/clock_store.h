/*
 * tests/unit/store/clock_store.h - helpers of the store tests that drive the
 * store's process clock (retire.c, dormant.c). The including file first
 * defines `static uint16_t test_minutes`, makes ST_NOW_MINUTES() read it,
 * includes store/store_whole.h and test.h, and defines `T0`; the helpers report
 * through ok(). A store here checkpoints at every sync (wal_max 1).
 */
#ifndef XS_TEST_CLOCK_STORE_H
#define XS_TEST_CLOCK_STORE_H

/* Opens (or creates) the store in dir; NULL, reported, on failure. */
__attribute__((unused)) static struct xs_store *r_open(const char *dir)
{
	struct xs_store_options o = { .dir = dir, .wal_max = 1 };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

/* The VM series (uuid, "cpu0"). */
__attribute__((unused)) static xs_series_id r_series(struct xs_store *s, const char *uuid)
{
	char err[XS_ERR_LEN] = "";
	xs_series_id id = UINT32_MAX;

	ok(xs_store_series(s, XS_OBJ_VM, uuid, "cpu0", "(fraction)", &id, err) == XS_OK, "series %s: %s",
	   uuid, err);
	return id;
}

__attribute__((unused)) static void r_append(struct xs_store *s, xs_series_id id, int64_t t, float v)
{
	char err[XS_ERR_LEN] = "";

	if (xs_store_append(s, id, t, v, err) != XS_OK)
		ok(0, "append %lld: %s", (long long)t, err);
}

__attribute__((unused)) static void r_sync(struct xs_store *s)
{
	char err[XS_ERR_LEN] = "";

	ok(xs_store_sync(s, err) == XS_OK, "sync at minute %u: %s", test_minutes, err);
}

/* The clock moves to minute m, the live series c takes its next sample at *ct (a new
 * row: the store reads its clock) and a sync makes a checkpoint. */
__attribute__((unused)) static void r_tick(struct xs_store *s, unsigned m, xs_series_id c, int64_t *ct)
{
	test_minutes = (uint16_t)m;
	*ct += 5;
	r_append(s, c, *ct, 0.5f);
	r_sync(s);
}

#endif
