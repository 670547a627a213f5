/*
 * collect_fix.h - test support: the collector tests' fixture. One xapi-sim
 * pool (sim_proc.h, manual clock at T_CLOCK unless real), a pool client, a
 * store in t_dir and a collector in manual mode; rounds of fetches the test
 * asks for (fix_round) after moving the simulator's clock (fix_advance); and
 * what the simulator serves, read by a separate request (doc_fetch), compared
 * value for value with the store (compare_doc: same float32, NaN for NaN).
 *
 * The including test owns t_loop, t_http and t_dir (its main() makes them)
 * and stops every fixture it started with fix_stop(), failure paths included.
 * Knobs read by the next fix_start(): t_fetch_timeout, t_event_timeout,
 * t_servertime_interval, t_backoff_min, t_backoff_max, t_xapi_version, t_history.
 * One fixture at a time per address base (fix_start's `base`).
 */
#ifndef XS_TEST_COLLECT_FIX_H
#define XS_TEST_COLLECT_FIX_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collector.h"
#include "rrd/rrd_reader.h"
#include "store/store.h"
#include "support/loop_wait.h"
#include "support/run_cmd.h"
#include "support/sim_proc.h"
#include "test.h"
#include "xapi/pool_client.h"

#define T_ANSWER_CAP (16 << 20)
#define T_CLOCK 1750000000LL  /* the simulator's manual clock at start */
#define T_MAX_COLS 4096
#define T_MAX_ROWS 400
#define T_BACKFILL_RETRY 3.0  /* seconds before a failed coarse archive is asked again */

static struct xs_evloop *t_loop;  /* the test's loop and HTTP client, made by its main() */
static struct xs_http *t_http;
static char t_dir[128];           /* a temporary directory: one store per fixture in it */
static const char *t_xapi_version; /* --xapi-version of the next fixture, NULL: the default */
static const char *t_history;      /* --history (days) of the next fixture, NULL: the default */

/* --- the simulator process --- */

/*
 * Starts one pool of `hosts` hosts; manual clock at T_CLOCK unless real;
 * --xapi-version t_xapi_version and --history t_history unless NULL (the
 * simulator's defaults).
 */
__attribute__((unused))
static bool sim_start(struct sim_proc *s, const char *hosts, const char *vms, int base, bool real)
{
	char listen[32], clock[32];
	const char *argv[24] = { run_cmd_bin("xapi-sim"), "--pools", "1", "--hosts", hosts,
				 "--vms-per-host", vms, "--listen", listen, "--user", "root",
				 "--password", "pw", "--seed", "5" };
	int n = 15;

	snprintf(listen, sizeof(listen), "127.%d.0.1", base);
	snprintf(clock, sizeof(clock), "%lld", T_CLOCK);
	if (!real) {
		argv[n++] = "--manual-clock";
		argv[n++] = clock;
	}
	if (t_xapi_version) {
		argv[n++] = "--xapi-version";
		argv[n++] = t_xapi_version;
	}
	if (t_history) {
		argv[n++] = "--history";
		argv[n++] = t_history;
	}
	argv[n] = NULL;
	return sim_proc_start(s, argv) && sim_proc_ready(s, false, 1);
}

/* --- conditions for loop_wait --- */

__attribute__((unused))
static bool never(void *arg)
{
	(void)arg;
	return false;
}

__attribute__((unused))
static bool is_loaded(void *arg)
{
	return xs_pool_client_state(arg) == XS_POOL_CONNECTED && xs_pool_client_loaded(arg);
}

__attribute__((unused))
static bool is_stopped(void *arg)
{
	return xs_pool_client_state(arg) == XS_POOL_STOPPED;
}

__attribute__((unused))
static bool is_idle(void *arg)
{
	return xs_collector_idle(arg);
}

/* --- the fixture: simulator, pool client, store, collector --- */

struct fix {
	struct sim_proc sim;
	struct xs_pool_client *pc;
	struct xs_store *store;
	struct xs_collector *co;
	int64_t clock;          /* the simulator's time */
};

static int t_fix_serial;
static double t_fetch_timeout = 10; /* xs_collector_config.timeout of the next fixture */
static double t_event_timeout = 2;  /* xs_pool_config.event_timeout of the next fixture */
static double t_servertime_interval; /* xs_pool_config.servertime_interval of the next fixture */
static double t_backoff_min = 0.2, t_backoff_max = 1; /* xs_collector_config's of the next fixture */
static unsigned long long t_yields; /* xs_collector_config.yield calls */
static char t_collect_log[8192];    /* the collector's log lines, one per line (cut when full) */

__attribute__((unused))
static void collect_log(void *arg, enum xs_collect_log level, const char *msg)
{
	size_t n = strlen(t_collect_log);

	(void)arg;
	(void)level;
	snprintf(t_collect_log + n, sizeof(t_collect_log) - n, "%s\n", msg);
}

/* A test program's set-up: SIGPIPE ignored, t_dir made from tmpl ("/tmp/xs-...-XXXXXX"),
 * t_loop and t_http; false if any fails. */
__attribute__((unused))
static bool fix_suite_begin(const char *tmpl)
{
	char err[XS_ERR_LEN];

	signal(SIGPIPE, SIG_IGN);
	snprintf(t_dir, sizeof(t_dir), "%s", tmpl);
	if (!mkdtemp(t_dir))
		return false;
	t_loop = xs_evloop_new();
	t_http = t_loop ? xs_http_new(t_loop, err) : NULL;
	return t_http != NULL;
}

/* The test program's tear-down: t_http, t_loop and t_dir removed. */
__attribute__((unused))
static void fix_suite_end(void)
{
	char cmd[256];

	xs_http_free(&t_http);
	xs_evloop_free(&t_loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t_dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", t_dir);
}

__attribute__((unused))
static void count_yield(void *arg)
{
	(void)arg;
	t_yields++;
}

__attribute__((unused))
static bool fix_start(struct fix *f, const char *hosts, const char *vms, int base, bool real)
{
	struct xs_pool_config pcfg = { 0 };
	struct xs_collector_config ccfg = { 0 };
	struct xs_store_options so = { 0 };
	char err[XS_ERR_LEN], dir[256];

	memset(f, 0, sizeof(*f));
	f->clock = T_CLOCK;
	if (!sim_start(&f->sim, hosts, vms, base, real))
		return false;
	pcfg.url = f->sim.url[0];
	pcfg.user = "root";
	pcfg.password = "pw";
	pcfg.call_timeout = 10;
	pcfg.event_timeout = t_event_timeout;
	pcfg.servertime_interval = t_servertime_interval;
	pcfg.backoff_min = 0.05;
	pcfg.backoff_max = 0.2;
	f->pc = xs_pool_client_new(t_loop, t_http, &pcfg, err);
	if (!f->pc)
		return false;
	xs_pool_client_start(f->pc);
	if (!loop_wait(t_loop, is_loaded, f->pc, 15))
		return false;
	snprintf(dir, sizeof(dir), "%s/store%d", t_dir, ++t_fix_serial);
	so.dir = dir;
	if (xs_store_open(&so, &f->store, err)) {
		fprintf(stderr, "# store: %s\n", err);
		return false;
	}
	ccfg.manual = !real;
	ccfg.yield = count_yield;
	ccfg.log = collect_log;
	t_collect_log[0] = '\0';
	ccfg.timeout = t_fetch_timeout;
	ccfg.backoff_min = t_backoff_min;
	ccfg.backoff_max = t_backoff_max;
	ccfg.backfill_retry = T_BACKFILL_RETRY;
	f->co = xs_collector_new(t_loop, t_http, f->store, &ccfg);
	xs_collector_add_pool(f->co, f->pc, NULL);
	xs_collector_sync(f->co);
	return true;
}

__attribute__((unused))
static void fix_stop(struct fix *f)
{
	char err[XS_ERR_LEN];

	xs_collector_free(&f->co);
	if (f->pc) {
		xs_pool_client_stop(f->pc);
		loop_wait(t_loop, is_stopped, f->pc, 6);
		xs_pool_client_free(&f->pc);
	}
	if (f->store)
		ok(xs_store_close(&f->store, err) == XS_OK, "store closes: %s", err);
	sim_proc_stop(&f->sim);
}

/* One round: the events of the pool reach the topology, then every host is fetched. */
__attribute__((unused))
static bool fix_round(struct fix *f)
{
	loop_wait(t_loop, never, NULL, 0.15);
	xs_collector_sync(f->co);
	xs_collector_poll(f->co);
	return loop_wait(t_loop, is_idle, f->co, 20);
}

__attribute__((unused))
static bool fix_advance(struct fix *f, int seconds)
{
	if (sim_proc_post(&f->sim, "/sim/clock/advance?seconds=%d", seconds) != 200)
		return false;
	f->clock += seconds;
	return true;
}

/* --- what the simulator serves, read separately --- */

struct doc {
	size_t ncols, nrows;
	char *entry[T_MAX_COLS];
	int64_t t[T_MAX_ROWS];
	float *v;               /* nrows x ncols */
	int64_t step;
};

__attribute__((unused))
static int doc_column(void *ctx, size_t index, const struct xs_rrd_legend *e)
{
	struct doc *d = ctx;

	if (index >= T_MAX_COLS)
		return 1;
	d->entry[index] = strndup(e->entry.ptr, e->entry.len);
	d->ncols = index + 1;
	return 0;
}

__attribute__((unused))
static int doc_meta(void *ctx, const struct xs_rrd_updates_meta *m)
{
	struct doc *d = ctx;

	d->step = m->step;
	d->v = calloc(T_MAX_ROWS * d->ncols + 1, sizeof(float));
	return 0;
}

__attribute__((unused))
static int doc_row(void *ctx, int64_t t, const double *values, size_t n)
{
	struct doc *d = ctx;

	if (d->nrows >= T_MAX_ROWS || n != d->ncols)
		return 1;
	d->t[d->nrows] = t;
	for (size_t i = 0; i < n; i++)
		d->v[d->nrows * n + i] = (float)values[i];
	d->nrows++;
	return 0;
}

__attribute__((unused))
static void doc_free(struct doc *d)
{
	for (size_t i = 0; i < d->ncols; i++)
		free(d->entry[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static const struct xs_rrd_sink doc_sink = { .updates_column = doc_column,
					     .updates_meta = doc_meta,
					     .updates_row = doc_row };

/*
 * GET /rrd_updates?... of a host into d (its address from the topology), with
 * that Accept header; the reader takes any syntax of any era (SPEC §2).
 */
__attribute__((unused))
static bool doc_fetch_as(struct fix *f, const char *host_uuid,
						 const char *params, const char *accept,
						 struct doc *d)
{
	const struct xs_topo_host *h = xs_topo_host_by_uuid(xs_pool_client_topo(f->pc), host_uuid);
	char q[1024], *ans = malloc(T_ANSWER_CAP);
	struct xs_rrd_reader *r;
	bool good = false;

	memset(d, 0, sizeof(*d));
	snprintf(q, sizeof(q), "/rrd_updates?%s&session_id=%s", params,
		 xs_pool_client_session(f->pc));
	if (h && sim_proc_http_accept(h->address, f->sim.port, "GET", q, NULL, NULL, accept, ans,
				      T_ANSWER_CAP) == 200) {
		r = xs_rrd_reader_new(&doc_sink, d);
		good = xs_rrd_reader_push(r, ans, strlen(ans)) == XS_OK &&
		       xs_rrd_reader_finish(r) == XS_OK;
		if (!good)
			fprintf(stderr, "# doc: %s\n", xs_rrd_reader_error(r));
		xs_rrd_reader_free(&r);
	}
	free(ans);
	return good;
}

/* doc_fetch_as() in XML (Accept: text/xml, no json key), as the collector asks. */
__attribute__((unused))
static bool doc_fetch(struct fix *f, const char *host_uuid,
					      const char *params, struct doc *d)
{
	return doc_fetch_as(f, host_uuid, params, "text/xml", d);
}

__attribute__((unused))
static bool split_entry(const char *e, char *cf, enum xs_obj_kind *kind, char *uuid, char *ds)
{
	char k[16];

	if (sscanf(e, "%15[^:]:%15[^:]:%63[^:]:%255[^\n]", cf, k, uuid, ds) != 4)
		return false;
	*kind = !strcmp(k, "host") ? XS_OBJ_HOST : !strcmp(k, "vm") ? XS_OBJ_VM : XS_OBJ_SR;
	return true;
}

__attribute__((unused))
static bool same_float(float a, float b)
{
	return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

struct cmp {
	size_t compared, missing, differ;
};

/*
 * Compares the store's points of tier with a document of the host's archive:
 * 5 s rows at t, coarse rows at t - step (AVERAGE, MIN, MAX to avg, min, max).
 * Only rows with t in [from, to] count; NaN coarse rows are not stored.
 */
/* The stored value of (kind, uuid, ds) at tier's point t, the one cf ("AVERAGE", "MIN",
 * "MAX") names; false when the store has no such point. */
static bool stored_cf(struct fix *f, enum xs_obj_kind kind, const char *uuid, const char *ds,
		      const char *cf, enum xs_tier tier, int64_t t, float *got)
{
	struct xs_point p;
	xs_series_id id;

	if (!xs_store_find(f->store, kind, uuid, ds, &id) ||
	    xs_store_read(f->store, id, tier, t, t, &p, 1) != 1)
		return false;
	*got = !strcmp(cf, "MIN") ? p.min : !strcmp(cf, "MAX") ? p.max : p.avg;
	return true;
}

__attribute__((unused))
static void compare_doc(struct fix *f, const struct doc *d, enum xs_tier tier, int64_t from,
			int64_t to, struct cmp *c)
{
	int64_t shift = tier == XS_TIER_5S ? 0 : d->step;

	for (size_t i = 0; i < d->ncols; i++) {
		char cf[16], uuid[64], ds[256];
		enum xs_obj_kind kind;

		if (!split_entry(d->entry[i], cf, &kind, uuid, ds))
			continue;
		for (size_t r = 0; r < d->nrows; r++) {
			float v = d->v[r * d->ncols + i], got;

			if (d->t[r] < from || d->t[r] > to || (tier != XS_TIER_5S && isnan(v)))
				continue;
			if (!stored_cf(f, kind, uuid, ds, cf, tier, d->t[r] - shift, &got)) {
				if (c->missing++ < 3)
					fprintf(stderr, "# missing %s at %lld tier %d\n", d->entry[i],
						(long long)d->t[r], (int)tier);
				continue;
			}
			if (!same_float(got, v) && c->differ++ < 3)
				fprintf(stderr, "# %s at %lld: stored %.9g, served %.9g\n",
					d->entry[i], (long long)d->t[r], (double)got, (double)v);
			c->compared++;
		}
	}
}

/* The 5 s archive of every host compared with the store, rows in [from, to]. */
__attribute__((unused))
static struct cmp compare_5s(struct fix *f, int64_t from, int64_t to)
{
	const struct xs_topo *t = xs_pool_client_topo(f->pc);
	struct cmp c = { 0, 0, 0 };

	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++) {
		const struct xs_topo_host *h = xs_topo_host_at(t, i);
		struct doc d;

		if (!h->live)
			continue;
		if (!ok(doc_fetch(f, h->uuid, "start=-599&host=true&cf=AVERAGE&interval=5", &d),
			"5 s archive of %s", h->name))
			continue;
		compare_doc(f, &d, XS_TIER_5S, from, to, &c);
		doc_free(&d);
	}
	return c;
}

/* The 5 s points of one series in [from, to]: count, and whether they are every 5 s. */
__attribute__((unused))
static size_t series_points(struct fix *f, enum xs_obj_kind kind, const char *uuid,
			    const char *ds, int64_t from, int64_t to, bool *contiguous)
{
	static struct xs_point pts[4096];
	xs_series_id id;
	size_t n;

	*contiguous = false;
	if (!xs_store_find(f->store, kind, uuid, ds, &id))
		return 0;
	n = xs_store_read(f->store, id, XS_TIER_5S, from, to, pts, 4096);
	*contiguous = n > 0 && n <= 4096;
	for (size_t i = 1; i < n && i < 4096; i++)
		if (pts[i].t != pts[i - 1].t + 5)
			*contiguous = false;
	return n;
}

/* Points of one series' tier in [from, to]. */
__attribute__((unused))
static size_t tier_points(struct fix *f, enum xs_obj_kind kind, const char *uuid, const char *ds,
			  enum xs_tier tier, int64_t from, int64_t to)
{
	static struct xs_point pts[4096];
	xs_series_id id;

	if (!xs_store_find(f->store, kind, uuid, ds, &id))
		return 0;
	return xs_store_read(f->store, id, tier, from, to, pts, 4096);
}

__attribute__((unused))
static const struct xs_topo_host *fix_host(struct fix *f, size_t i)
{
	return xs_topo_host_at(xs_pool_client_topo(f->pc), i);
}

__attribute__((unused))
static struct xs_collect_host_status fix_status(struct fix *f, const char *uuid)
{
	struct xs_collect_host_status st[16];
	size_t n = xs_collector_status(f->co, st, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (!strcmp(st[i].uuid, uuid))
			return st[i];
	memset(st, 0, sizeof(st[0]));
	return st[0];
}


__attribute__((unused))
static bool offset_known(void *arg)
{
	struct fix *f = arg;
	double off;

	return xs_pool_client_host_offset(f->pc, fix_host(f, 0)->uuid, &off);
}

#endif
