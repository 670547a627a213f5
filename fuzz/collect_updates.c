/*
 * libFuzzer target: a host's /rrd_updates body on its way to the store, as
 * the collector takes it (src/collect/collector.c: the reader's sink
 * co_on_column / co_on_meta / co_on_row, then co_commit_5s or
 * co_commit_coarse), with no network: this file includes the .c (which
 * shadows its member of build/fuzz/libxs.a), makes one host of a pool client
 * that is never started, and pushes the body through the host's reader in
 * pieces, as an HTTP transfer would. The store is fresh for every input,
 * under /dev/shm (or $TMPDIR).
 *
 * Input: u8 flags (bits 0-1: the archive asked, 5 s / 1 min / 1 h / 1 d; bit
 * 2: the whole 5 s archive was asked; bits 3-4: refetches made so far), u8
 * seed of the piece sizes, then the body (any format the reader detects).
 * The body goes through the reader twice, as two fetches of one host: the
 * second meets the first's column cache and the store's last times.
 *
 * A document the collector stops (another archive, a start to fetch again, a
 * row of the wrong width, too many values) is not committed, as co_on_done
 * does; a coarse one of another step commits no row.
 *
 * Invariants: the columns of a complete document fit the host's column cache;
 * what the store holds after a commit are points the document gave: each
 * point read back (ascending) of a column's series is, at that time, the
 * AVERAGE value of a row for a column of that series (a 5 s point), or one
 * step after the point's period start (a coarse point). Sanitizers watch the
 * rest (the reader's callbacks on hostile legends and rows). Any other
 * outcome aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"
#include "collect/collector.c"

#define FUZZ_READ_CAP 512
#define FUZZ_START 1700000000 /* start= of a 5 s fetch that is not whole */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xs_evloop *fuzz_loop;
static struct xs_pool_client *fuzz_pc;

static void fuzz_once(void)
{
	struct xs_pool_config cfg = { .url = "https://master.example.test", .user = "root" };
	char err[XS_ERR_LEN];

	fuzz_tmpdir_make("collect");
	fuzz_loop = xs_evloop_new();
	fuzz_pc = xs_pool_client_new(fuzz_loop, NULL, &cfg, err);
	if (!fuzz_pc)
		abort();
}

/* Whether (t, v) of series id is, at a row of time t + shift, the AVERAGE value of a column
 * of that series. */
static bool fuzz_from_doc(const struct co_host *h, xs_series_id id, int64_t shift, int64_t t,
			  float v)
{
	for (size_t r = 0; r < h->nrows; r++) {
		if (h->times[r] != t + shift)
			continue;
		for (size_t i = 0; i < h->ncols; i++) {
			float w = h->vals[r * h->ncols + i];

			if (h->cols[i].valid && h->cols[i].id == id && h->cols[i].cf == CO_CF_AVG &&
			    (w == v || (isnan(w) && isnan(v))))
				return true;
		}
	}
	return false;
}

static void fuzz_check_store(const struct co_host *h)
{
	static struct xs_point pts[FUZZ_READ_CAP];
	const struct co_phase *p = &co_phases[h->phase];
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	for (size_t r = 0; r < h->nrows; r++) {
		lo = h->times[r] < lo ? h->times[r] : lo;
		hi = h->times[r] > hi ? h->times[r] : hi;
	}
	for (size_t i = 0; i < h->ncols && h->nrows; i++) {
		int64_t shift = h->phase ? p->interval : 0;
		size_t n;

		if (!h->cols[i].valid || h->cols[i].cf != CO_CF_AVG)
			continue;
		if (lo < INT64_MIN + shift)
			continue;
		n = xs_store_read(h->c->store, h->cols[i].id, p->tier, lo - shift, hi - shift, pts,
				  FUZZ_READ_CAP);
		for (size_t k = 0; k < n && k < FUZZ_READ_CAP; k++) {
			if ((k && pts[k].t <= pts[k - 1].t) ||
			    !fuzz_from_doc(h, h->cols[i].id, shift, pts[k].t, pts[k].avg))
				abort();
		}
	}
}

/* One fetch of the host: the body in pieces through its reader, then what co_on_done does
 * with a 200 reply, up to the commit. */
static void fuzz_fetch(struct co_host *h, unsigned seed, const char *body, size_t size)
{
	enum xs_err rc = XS_OK;
	size_t off = 0;

	h->serial = ++h->c->serial;
	h->reader = xs_rrd_reader_new(&co_sink, h);
	while (off < size && rc == XS_OK) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 4096;
		n = n > size - off ? size - off : n;
		rc = co_on_data(h, body + off, n) ? XS_ERR_ABORTED : XS_OK;
		off += n;
	}
	if (rc == XS_OK)
		rc = xs_rrd_reader_finish(h->reader);
	if (rc == XS_ERR_ABORTED && h->skip)
		h->nrows = 0; /* a coarse archive of another step: nothing of it is stored */
	else if (rc != XS_OK)
		goto out;
	if (h->ncols > h->capcols || (h->nrows && !h->times))
		abort();
	if (h->phase > 0)
		co_commit_coarse(h);
	else
		co_commit_5s(h);
	fuzz_check_store(h);
out:
	co_doc_reset(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_collector_config cfg = { .manual = true };
	struct xs_store_options o = { .dir = fuzz_dir };
	struct xs_store *s = NULL;
	struct xs_collector *c;
	struct co_pool pool = { 0 };
	struct co_host *h;
	char err[XS_ERR_LEN], *body;

	if (size < 2)
		return 0;
	if (!fuzz_dir[0])
		fuzz_once();
	body = malloc(size - 2 ? size - 2 : 1); /* exact size: ASan sees a read past the end */
	if (!body)
		abort();
	memcpy(body, data + 2, size - 2);
	if (xs_store_open(&o, &s, err) != XS_OK)
		abort();
	c = xs_collector_new(fuzz_loop, NULL, s, &cfg);
	pool.pc = fuzz_pc;
	h = xs_xcalloc(1, sizeof(*h));
	h->c = c;
	h->pool = &pool;
	snprintf(h->uuid, sizeof(h->uuid), "aaaaaaaa-0000-0000-0000-000000000001");
	snprintf(h->name, sizeof(h->name), "h1");
	h->live = true;
	h->phase = data[0] & 3;
	h->whole = data[0] & 4;
	h->refetches = (data[0] >> 3) & 3;
	h->start = h->whole ? 0 : FUZZ_START;
	fuzz_fetch(h, data[1], body, size - 2);
	fuzz_fetch(h, data[1] ^ 0x5a, body, size - 2);
	co_host_free(h);
	xs_collector_free(&c);
	if (xs_store_close(&s, err) != XS_OK)
		abort();
	fuzz_tmpdir_empty();
	free(body);
	return 0;
}
