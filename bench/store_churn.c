/*
 * store_churn.c - what stopped series cost the store: an estate that creates
 * VMs, runs them an hour and deletes them, day after day (CI farms, autoscaled
 * clusters, desktop pools).
 *
 * usage: store_churn DIR SERIES GENERATIONS
 *   (DIR must not exist; bench/store_bench.sh removes it)
 *
 * Generation g (host day g from a UTC midnight) creates SERIES new series
 * ("vm-G-I" cpu0..cpu29), gives them an hour of 5 s rows, and stops them; one
 * series lives on through every generation, so the newest data moves a day per
 * generation. The store's process clock (ST_NOW_MINUTES, which retirement reads)
 * is this program's: 2 minutes per row, so a generation lasts a day of it, as
 * it would in a daemon. Every 120 rows a sync makes a checkpoint (wal_max 1),
 * and one more ends each generation with no row after it: the wal's size is
 * then the checkpoint's carry records alone.
 *
 * Printed per generation ("gen G series_total rss_kib wal_bytes dormant_bytes"),
 * then the slopes from generation GENERATIONS / 3 on (the first ones fill the
 * pools): RSS, carry bytes and dormant file bytes per series created. Only the
 * store's public API and its clock hook are used, so the same file measures an
 * older store (one that was a single src/store/store.c: include that instead of
 * store_whole.h; before the dormant file, drop dormant_bytes).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t churn_minutes = 1000; /* the store's process clock */
#define ST_NOW_MINUTES() churn_minutes
#include "store/store_whole.h"

#include "proc_status.h"

#define CHURN_T0 1700006400   /* a UTC midnight */
#define CHURN_DS 30           /* data sources per VM */
#define CHURN_ROWS 720        /* an hour of 5 s rows per generation */
#define CHURN_SYNC_ROWS 120   /* rows between checkpoints */

static void churn_die(const char *what, const char *err)
{
	fprintf(stderr, "store_churn: %s: %s\n", what, err);
	exit(1);
}

static void churn_sync(struct xs_store *s)
{
	char err[XS_ERR_LEN] = "";

	if (xs_store_sync(s, err) != XS_OK)
		churn_die("sync", err);
}

int main(int argc, char **argv)
{
	struct xs_store_options o = { 0 };
	struct xs_store *s = NULL;
	struct xs_store_stats st;
	char err[XS_ERR_LEN] = "", uuid[64], ds[16];
	xs_series_id live, *ids;
	size_t n, gens, total = 0, from;
	long *rss;
	uint64_t *wal, *dorm;

	if (argc != 4 || (n = strtoul(argv[2], NULL, 10)) < CHURN_DS || (gens = strtoul(argv[3], NULL, 10)) < 3) {
		fprintf(stderr, "usage: store_churn DIR SERIES GENERATIONS (SERIES >= %d, GENERATIONS >= 3)\n",
			CHURN_DS);
		return 2;
	}
	n -= n % CHURN_DS;
	o.dir = argv[1];
	o.wal_max = 1;
	if (xs_store_open(&o, &s, err) != XS_OK)
		churn_die("open", err);
	if (xs_store_series(s, XS_OBJ_HOST, "live", "cpu0", "(fraction)", &live, err) != XS_OK)
		churn_die("series", err);
	ids = malloc(n * sizeof(*ids));
	rss = malloc(gens * sizeof(*rss));
	wal = malloc(gens * sizeof(*wal));
	dorm = malloc(gens * sizeof(*dorm));
	if (!ids || !rss || !wal || !dorm)
		churn_die("malloc", "out of memory");
	for (size_t g = 0; g < gens; g++) {
		int64_t day = CHURN_T0 + (int64_t)g * 86400;

		for (size_t i = 0; i < n; i++) {
			snprintf(uuid, sizeof(uuid), "vm-%zu-%zu", g, i / CHURN_DS);
			snprintf(ds, sizeof(ds), "cpu%zu", i % CHURN_DS);
			if (xs_store_series(s, XS_OBJ_VM, uuid, ds, "(fraction)", &ids[i], err) != XS_OK)
				churn_die("series", err);
		}
		total += n;
		for (int r = 1; r <= CHURN_ROWS; r++) {
			int64_t t = day + 5 * r;

			churn_minutes += 2;
			for (size_t i = 0; i < n; i++)
				if (xs_store_append(s, ids[i], t, (float)((i * 7 + (size_t)r) % 101) / 100.0f, err))
					churn_die("append", err);
			if (xs_store_append(s, live, t, 0.5f, err))
				churn_die("append", err);
			if (r % CHURN_SYNC_ROWS == 0)
				churn_sync(s);
		}
		churn_minutes += 1440 - 2 * CHURN_ROWS + 1; /* the rest of the day; no rows */
		churn_sync(s);
		xs_store_stats(s, &st);
		malloc_trim(0); /* what the store holds, not what malloc kept of what it freed */
		rss[g] = bench_status_kib("VmRSS");
		wal[g] = st.log_bytes;
		dorm[g] = st.dormant_bytes;
		printf("gen %zu series_total %zu rss_kib %ld wal_bytes %llu dormant_bytes %llu\n", g, total,
		       rss[g], (unsigned long long)wal[g], (unsigned long long)dorm[g]);
		fflush(stdout);
	}
	from = gens / 3;
	printf("churn_series_per_generation %zu\nchurn_generations %zu\n", n, gens);
	printf("churn_rss_bytes_per_series %.0f\n",
	       (double)(rss[gens - 1] - rss[from]) * 1024 / (double)((gens - 1 - from) * n));
	printf("churn_carry_bytes_per_series %.1f\n",
	       (double)(wal[gens - 1] - wal[from]) / (double)((gens - 1 - from) * n));
	printf("churn_dormant_bytes_per_series %.1f\n",
	       (double)(dorm[gens - 1] - dorm[from]) / (double)((gens - 1 - from) * n));
	printf("churn_wal_last_bytes %llu\nchurn_rss_last_kib %ld\n", (unsigned long long)wal[gens - 1],
	       rss[gens - 1]);
	if (xs_store_close(&s, err) != XS_OK)
		churn_die("close", err);
	free(ids);
	free(rss);
	free(wal);
	free(dorm);
	return 0;
}
