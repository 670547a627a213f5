/*
 * top.c - top N VMs or hosts now (top.h).
 *
 * One pass over the objects of the topologies computes each one's value of
 * every metric asked (one, or several at once: xs_query_top_each) from its
 * newest 5 s samples. Fixed names (cpu_usage, memory, pif_aggr_rx) are
 * looked up directly (xs_store_find); sums and means over devices share one
 * walk of the object's own series (xs_store_each_of, the store's index by
 * object, struct top_walk) and take every device the name rules of
 * series_map.h accept (each distinct name matched once per query and metric,
 * struct top_memo), so a VM by CPU costs one or two lookups and a VM by
 * network and disk together one walk of its ~30 series, whatever the size of
 * the store. The values go into one array, an item per object; the stale ones
 * are marked against their own host's clock, looked up once per object
 * (top_mark_stale); then, per metric, a pass keeps the N largest of the fresh
 * ones in a bounded min-heap (O(objects x log N)), which is then sorted for
 * output. Nothing is allocated per object.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "query/series_map.h"
#include "query/status.h"
#include "query/top.h"
#include "query/xo_stats.h"

#define TOP_MIB 1048576.0

enum top_metric { TOP_CPU, TOP_MEMORY, TOP_NETWORK, TOP_DISK };

#define TOP_BIT(m) (1u << (m))

static const char *const top_metrics[XS_TOP_METRICS] = { "cpu", "memory", "network", "disk" };
static const char *const top_units[XS_TOP_METRICS] = { "%", "B", "B/s", "B/s" };

/* One object and its values of the metrics asked. */
struct top_item {
	double value[XS_TOP_METRICS];
	int64_t t[XS_TOP_METRICS];  /* newest sample used, per metric */
	unsigned has;               /* TOP_BIT(m): value[m] is a number; after
				     * top_mark_stale, a number "now" */
	const char *uuid, *name, *pool;
	const struct xs_topo *topo; /* of a VM: resolves its host once ranked */
	const char *host;           /* a VM's resident_on ref until then; a host's own uuid */
};

static void top_set(struct top_item *it, enum top_metric m, double v, int64_t t)
{
	it->value[m] = v;
	it->t[m] = t;
	it->has |= TOP_BIT(m);
}

/* The newest 5 s sample of series id when it is a number. */
static bool top_latest_id(const struct xs_store *s, xs_series_id id, int64_t *t, double *v)
{
	float f;

	if (!xs_store_latest(s, id, t, &f) || isnan(f))
		return false;
	*v = f;
	return true;
}

/* The newest 5 s sample of (kind, uuid, ds) when it is a number. */
static bool top_latest(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
		       const char *ds, int64_t *t, double *v)
{
	xs_series_id id;

	return xs_store_find(s, kind, uuid, ds, &id) && top_latest_id(s, id, t, v);
}

/*
 * Whether a data-source name answers a walk's question (prefix, device class,
 * suffixes), remembered for one query by the name's address: the store interns
 * names, so every VM's "vif_0_rx" is the same string, and each distinct name is
 * matched once rather than once per object (a quarter of a ranking by network
 * over 20,000 VMs). Open addressing over TOP_MEMO slots, a few probes; a name
 * that finds no slot is matched every time.
 */
#define TOP_MEMO_BITS 8
#define TOP_MEMO (1u << TOP_MEMO_BITS) /* slots; distinct names a VM's walk meets: ~40 */
#define TOP_MEMO_PROBES 8

struct top_memo {
	const char *prefix, *s1, *s2; /* the question the answers are for (call sites' literals) */
	enum xs_smap_dev cls;
	const char *ds[TOP_MEMO];
	bool match[TOP_MEMO];
};

/* What one ranking reads with: the store, and a name memo per metric (allocated per query). */
struct top_ctx {
	const struct xs_store *s;
	struct top_memo memo[XS_TOP_METRICS];
};

/*
 * Sum over one object's series whose names are prefix + a device of class
 * cls + one of two suffixes (s2 may be NULL); *t the newest sample used,
 * n how many were numbers. Filled by one xs_store_each_of() walk.
 */
struct top_sum {
	const struct xs_store *s;
	struct top_memo *memo;   /* may be NULL */
	const char *prefix, *s1, *s2;
	enum xs_smap_dev cls;
	double v;
	int64_t t;
	unsigned n;
	unsigned all;           /* series matched, a number now or not */
	unsigned ones;          /* of the n, values exactly 1 (parked CPUs: xs_smap_cpus_parked) */
};

static bool top_name_matches(const struct top_sum *acc, const char *ds)
{
	struct top_memo *m = acc->memo;
	size_t i = 0, k = TOP_MEMO_PROBES;
	bool match;

	if (m) {
		if (m->prefix != acc->prefix || m->s1 != acc->s1 || m->s2 != acc->s2 ||
		    m->cls != acc->cls) { /* another question */
			memset(m->ds, 0, sizeof(m->ds));
			m->prefix = acc->prefix;
			m->s1 = acc->s1;
			m->s2 = acc->s2;
			m->cls = acc->cls;
		}
		i = (size_t)(((uint64_t)(uintptr_t)ds * 0x9E3779B97F4A7C15ull) >> (64 - TOP_MEMO_BITS));
		for (k = 0; k < TOP_MEMO_PROBES && m->ds[i]; k++, i = (i + 1) & (TOP_MEMO - 1))
			if (m->ds[i] == ds)
				return m->match[i];
	}
	match = xs_smap_is(ds, acc->prefix, acc->cls, acc->s1) ||
		(acc->s2 && xs_smap_is(ds, acc->prefix, acc->cls, acc->s2));
	if (m && k < TOP_MEMO_PROBES) {
		m->ds[i] = ds;
		m->match[i] = match;
	}
	return match;
}

/* Adds series id (named ds) to acc when its name answers acc's question. */
static void top_sum_add(struct top_sum *acc, xs_series_id id, const char *ds)
{
	int64_t t;
	double v;

	if (!top_name_matches(acc, ds))
		return;
	acc->all++;
	if (!top_latest_id(acc->s, id, &t, &v))
		return;
	acc->v += v;
	acc->n++;
	acc->ones += v == 1.0;
	if (t > acc->t)
		acc->t = t;
}

/*
 * The sums one walk of an object's series fills at once (network and disk, or
 * CPUs without cpu_usage): each series is offered to every sum.
 */
struct top_walk {
	struct top_sum sum[XS_TOP_METRICS]; /* sum[m]: metric m's, when walked & TOP_BIT(m) */
	unsigned walked;
};

static void top_walk_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct top_walk *w = arg;

	(void)unit;
	for (size_t m = 0; m < XS_TOP_METRICS; m++)
		if (w->walked & TOP_BIT(m))
			top_sum_add(&w->sum[m], id, ds);
}

/* Asks w's walk for metric m's sum of prefix<dev>s1 (+ prefix<dev>s2) over every device of
 * class cls (s2 may be NULL). */
static void top_walk_ask(struct top_ctx *c, struct top_walk *w, enum top_metric m,
			 const char *prefix, enum xs_smap_dev cls, const char *s1, const char *s2)
{
	w->sum[m] = (struct top_sum){ .s = c->s, .memo = &c->memo[m], .prefix = prefix, .s1 = s1,
				      .s2 = s2, .cls = cls, .t = INT64_MIN };
	w->walked |= TOP_BIT(m);
}

/* Walks (kind, uuid)'s series once for every sum asked of w, if any. */
static void top_walk_run(struct top_ctx *c, enum xs_obj_kind kind, const char *uuid,
			 struct top_walk *w)
{
	if (w->walked)
		xs_store_each_of(c->s, kind, uuid, top_walk_cb, w);
}

/* Metric m's sum times scale into it, when the walk found a number. */
static void top_walk_sum(const struct top_walk *w, enum top_metric m, double scale,
			 struct top_item *it)
{
	const struct top_sum *acc = &w->sum[m];

	if ((w->walked & TOP_BIT(m)) && acc->n > 0)
		top_set(it, m, acc->v * scale, acc->t);
}

/* The mean of every cpuN the walk found x 100 into it; of a host's (host_cpus: its host_CPUs
 * count, else 0), without the CPUs smt=0 parked. */
static void top_walk_cpu_mean(const struct top_walk *w, int host_cpus, struct top_item *it)
{
	struct top_sum acc;

	if (!(w->walked & TOP_BIT(TOP_CPU)) || w->sum[TOP_CPU].n == 0)
		return;
	acc = w->sum[TOP_CPU];
	/* every cpuN counts against host_CPUs, as in the stats replies (xo_stats.c) */
	if (xs_smap_cpus_parked(acc.all, acc.ones, host_cpus)) {
		if (acc.n == acc.ones)
			return; /* only parked CPUs have a number now */
		acc.v -= acc.ones; /* each read exactly 1 */
		acc.n -= acc.ones;
	}
	top_set(it, TOP_CPU, acc.v / acc.n * 100, acc.t);
}

/* The metrics of want a VM has a number of into it; false if none. */
static bool top_vm_values(struct top_ctx *c, const struct xs_topo_vm *vm, unsigned want,
			  struct top_item *it)
{
	const struct xs_store *s = c->s;
	struct top_walk w = { .walked = 0 };
	int64_t t, t2;
	double v, v2;

	it->has = 0;
	if (want & TOP_BIT(TOP_CPU)) {
		if (top_latest(s, XS_OBJ_VM, vm->uuid, "cpu_usage", &t, &v))
			top_set(it, TOP_CPU, v * 100, t);
		else
			top_walk_ask(c, &w, TOP_CPU, "cpu", XS_SMAP_DEV_CPU, "", NULL);
	}
	if ((want & TOP_BIT(TOP_MEMORY)) && top_latest(s, XS_OBJ_VM, vm->uuid, "memory", &t, &v)) {
		if (top_latest(s, XS_OBJ_VM, vm->uuid, "memory_internal_free", &t2, &v2) &&
		    t2 >= t - XS_TOP_STALE)
			v -= v2 * 1024;
		top_set(it, TOP_MEMORY, v, t);
	}
	if (want & TOP_BIT(TOP_NETWORK))
		top_walk_ask(c, &w, TOP_NETWORK, "vif_", XS_SMAP_DEV_VIF, "_rx", "_tx");
	if (want & TOP_BIT(TOP_DISK))
		top_walk_ask(c, &w, TOP_DISK, "vbd_", XS_SMAP_DEV_VBD, "_read", "_write");
	top_walk_run(c, XS_OBJ_VM, vm->uuid, &w);
	top_walk_cpu_mean(&w, 0, it);
	top_walk_sum(&w, TOP_NETWORK, 1, it);
	top_walk_sum(&w, TOP_DISK, 1, it);
	return it->has != 0;
}

/* pif_aggr_rx + pif_aggr_tx, the host's own sum over its PIFs, into it; false if neither is a
 * number. */
static bool top_host_aggr(const struct xs_store *s, const char *uuid, struct top_item *it)
{
	static const char *const names[] = { "pif_aggr_rx", "pif_aggr_tx" };
	int64_t tmax = INT64_MIN;
	double sum = 0;
	unsigned n = 0;

	for (size_t k = 0; k < 2; k++) {
		int64_t t;
		double v;

		if (!top_latest(s, XS_OBJ_HOST, uuid, names[k], &t, &v))
			continue;
		sum += v;
		n++;
		if (t > tmax)
			tmax = t;
	}
	if (n)
		top_set(it, TOP_NETWORK, sum, tmax);
	return n > 0;
}

/* The metrics of want a host has a number of into it; false if none. */
static bool top_host_values(struct top_ctx *c, const struct xs_topo_host *h, unsigned want,
			    struct top_item *it)
{
	const struct xs_store *s = c->s;
	struct top_walk w = { .walked = 0 };
	int64_t t, t2;
	double v, v2;

	it->has = 0;
	if (want & TOP_BIT(TOP_CPU))
		top_walk_ask(c, &w, TOP_CPU, "cpu", XS_SMAP_DEV_CPU, "", NULL);
	if ((want & TOP_BIT(TOP_MEMORY)) &&
	    top_latest(s, XS_OBJ_HOST, h->uuid, "memory_total_kib", &t, &v) &&
	    top_latest(s, XS_OBJ_HOST, h->uuid, "memory_free_kib", &t2, &v2))
		top_set(it, TOP_MEMORY, (v - v2) * 1024, t > t2 ? t : t2);
	if ((want & TOP_BIT(TOP_NETWORK)) && !top_host_aggr(s, h->uuid, it))
		top_walk_ask(c, &w, TOP_NETWORK, "pif_", XS_SMAP_DEV_PIF, "_rx", "_tx");
	if (want & TOP_BIT(TOP_DISK))
		top_walk_ask(c, &w, TOP_DISK, "io_throughput_total_", XS_SMAP_DEV_SR, "", NULL);
	top_walk_run(c, XS_OBJ_HOST, h->uuid, &w);
	top_walk_cpu_mean(&w, h->cpus, it);
	top_walk_sum(&w, TOP_NETWORK, 1, it);
	top_walk_sum(&w, TOP_DISK, TOP_MIB, it);
	return it->has != 0;
}

/* ---- selection -------------------------------------------------------------------- */

/* a ranks below b by metric m: smaller value, then larger uuid (a stable order for ties). */
static bool top_below(const struct top_item *a, const struct top_item *b, enum top_metric m)
{
	if (a->value[m] != b->value[m])
		return a->value[m] < b->value[m];
	return strcmp(a->uuid, b->uuid) > 0;
}

static void top_sift_down(struct top_item **h, size_t n, size_t i, enum top_metric metric)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct top_item *x;

		if (l < n && top_below(h[l], h[m], metric))
			m = l;
		if (r < n && top_below(h[r], h[m], metric))
			m = r;
		if (m == i)
			return;
		x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

static void top_sift_up(struct top_item **h, size_t i, enum top_metric metric)
{
	while (i && top_below(h[i], h[(i - 1) / 2], metric)) {
		struct top_item *x = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

/* The k items largest by metric of those with a fresh value of it into heap (capacity k),
 * then sorted largest first; returns count. */
static size_t top_select(struct top_item *items, size_t n, enum top_metric metric,
			 struct top_item **heap, size_t k)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(items[i].has & TOP_BIT(metric)))
			continue;
		if (m < k) {
			heap[m] = &items[i];
			top_sift_up(heap, m++, metric);
		} else if (top_below(heap[0], &items[i], metric)) {
			heap[0] = &items[i];
			top_sift_down(heap, m, 0, metric);
		}
	}
	for (size_t end = m; end > 1; end--) { /* heap sort: smallest to the back */
		struct top_item *x = heap[0];

		heap[0] = heap[end - 1];
		heap[end - 1] = x;
		top_sift_down(heap, end - 1, 0, metric);
	}
	return m;
}

/* ---- entry ------------------------------------------------------------------------ */

struct top_req {
	bool vms;
	enum top_metric metric; /* the one named (xs_query_top_check's) */
	unsigned want;          /* TOP_BIT of every metric to answer */
	size_t n;
	const char *pool;
};

static enum xs_err top_parse(const char *kind, const char *metric, long n, const char *pool,
			     struct top_req *q, char *err)
{
	size_t i;

	if (!kind || (strcmp(kind, "vm") && strcmp(kind, "host")))
		return xs_err_set(err, XS_ERR_ARG, "kind: \"%.16s\" is not vm or host",
				  kind ? kind : "");
	q->vms = !strcmp(kind, "vm");
	for (i = 0; i < 4; i++)
		if (metric && !strcmp(metric, top_metrics[i]))
			break;
	if (i == 4)
		return xs_err_set(err, XS_ERR_ARG,
				  "metric: \"%.16s\" is not cpu, memory, network or disk",
				  metric ? metric : "");
	q->metric = (enum top_metric)i;
	q->want = TOP_BIT(q->metric);
	if (n < 0 || n > XS_TOP_MAX_N)
		return xs_err_set(err, XS_ERR_ARG, "n: %ld is not in 1..%d", n, XS_TOP_MAX_N);
	q->n = n ? (size_t)n : XS_TOP_DEFAULT_N;
	q->pool = pool && *pool ? pool : NULL;
	if (q->pool && (strlen(q->pool) > 64 || strspn(q->pool, "0123456789abcdefABCDEF-") !=
							strlen(q->pool)))
		return xs_err_set(err, XS_ERR_ARG, "pool: not a uuid");
	return XS_OK;
}

enum xs_err xs_query_top_check(const char *kind, const char *metric, long n, const char *pool,
			       char *err)
{
	struct top_req q;

	return top_parse(kind, metric, n, pool, &q, err);
}

/* Values of every VM or host of pool p with a number of a metric asked into items; returns
 * how many. *seen counts the objects of every pool so far, for e->yield. */
static size_t top_collect(const struct xs_estate *e, const struct top_req *q, size_t p,
			  struct top_ctx *c, struct top_item *items, size_t *seen)
{
	const struct xs_topo *t = e->pools[p].topo;
	const struct xs_topo_pool *tp = xs_topo_pool(t);
	const char *puuid = tp ? tp->uuid : "";
	size_t n = 0;

	if (q->vms) {
		for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_VM); i++) {
			const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

			if (e->yield && ++*seen % XS_ESTATE_YIELD_EVERY == 0)
				e->yield(e->yield_arg);

			if (!vm || vm->is_template || vm->is_snapshot || vm->is_control_domain ||
			    !top_vm_values(c, vm, q->want, &items[n]))
				continue;
			items[n].uuid = vm->uuid;
			items[n].name = vm->name;
			items[n].pool = puuid;
			items[n].topo = t;
			items[n].host = vm->resident_on;
			n++;
		}
		return n;
	}
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++) {
		const struct xs_topo_host *h = xs_topo_host_at(t, i);

		if (e->yield && ++*seen % XS_ESTATE_YIELD_EVERY == 0)
			e->yield(e->yield_arg);
		if (!h || !top_host_values(c, h, q->want, &items[n]))
			continue;
		items[n].uuid = h->uuid;
		items[n].name = h->name;
		items[n].pool = puuid;
		items[n].topo = NULL;
		items[n].host = h->uuid;
		n++;
	}
	return n;
}

/* The host uuid an item shows: a VM's resident host is looked up only once it is ranked. */
static const char *top_host_of(const struct top_item *it)
{
	const struct xs_topo_host *h;

	if (!it->topo)
		return it->host;
	h = *it->host ? xs_topo_host_by_ref(it->topo, it->host) : NULL;
	return h ? h->uuid : NULL;
}

/* ---- freshness -------------------------------------------------------------------- */

/* A collected host's clock now, estimated (top_host_clock). */
struct top_clock {
	const char *uuid;
	int64_t now;
};

static int top_clock_cmp(const void *a, const void *b)
{
	return strcmp(((const struct top_clock *)a)->uuid, ((const struct top_clock *)b)->uuid);
}

/*
 * A host's clock now from the collector's status: its newest row plus the longest of
 * our time since that fetch (a host that stopped answering) and the lag of its rows
 * (fetches that bring rows that far behind: a host back after an outage), and at
 * least our clock plus its measured offset (fetches that succeed and bring no new
 * row, as from a hung xcp-rrdd behind a working xapi).
 */
static int64_t top_host_clock(const struct xs_collect_host_status *st, double now)
{
	double clock = (double)st->newest + xs_status_host_behind(st, now);

	if (isfinite(st->clock_offset) && now + st->clock_offset > clock)
		clock = now + st->clock_offset;
	return (int64_t)clock;
}

/*
 * Takes from each item the values that are not "now": older than XS_TOP_STALE behind their host's clock
 * (top_host_clock: a host that stopped answering, or whose rows stopped, goes stale with
 * its VMs) or more than that ahead of it
 * (a VM's series stuck at the clock of a host it left), or, for an object without
 * such a host (a halted VM, a host the collector has no row of), behind the newest sample
 * of that metric of all (tmax[m]). Hosts' clocks differ, by minutes when NTP is off: comparing one host's
 * times with another's would leave out every object of the hosts behind the fastest clock.
 */
static void top_mark_stale(const struct xs_estate *e, struct top_item *items, size_t n,
			   const int64_t tmax[XS_TOP_METRICS], size_t *seen)
{
	struct top_clock *clocks = xs_xmalloc((e->nstatus + 1) * sizeof(*clocks));
	size_t nc = 0;

	for (size_t i = 0; i < e->nstatus; i++)
		if (e->status[i].newest > 0)
			clocks[nc++] = (struct top_clock){ e->status[i].uuid,
							  top_host_clock(&e->status[i], e->now) };
	qsort(clocks, nc, sizeof(*clocks), top_clock_cmp);
	for (size_t i = 0; i < n; i++) {
		struct top_clock key;

		/* a host lookup and a search per VM: ~7 ms at 20,000 */
		if (e->yield && ++*seen % XS_ESTATE_YIELD_EVERY == 0)
			e->yield(e->yield_arg);
		key = (struct top_clock){ nc ? top_host_of(&items[i]) : NULL, 0 };
		const struct top_clock *c =
			key.uuid ? bsearch(&key, clocks, nc, sizeof(*clocks), top_clock_cmp) : NULL;

		for (size_t m = 0; m < XS_TOP_METRICS; m++) {
			int64_t t;

			if (!(items[i].has & TOP_BIT(m)))
				continue;
			t = items[i].t[m];
			/* past its host's clock now: another host's clock (a VM migrated from a
			 * host ahead of this one), its series stuck there until this host's
			 * catches up */
			if (t < (c ? c->now : tmax[m]) - XS_TOP_STALE || (c && t > c->now + XS_TOP_STALE))
				items[i].has &= ~TOP_BIT(m);
		}
	}
	free(clocks);
}

/* Metric metric's answer from its heap of m items. */
static enum xs_err top_write(const char *kind, enum top_metric metric, int64_t tmax,
			     struct top_item **heap, size_t m, struct xs_buf *out)
{
	enum xs_err r = xs_qjson_raw(out, "{\"kind\":");

	r = r ? r : xs_qjson_str(out, kind);
	r = r ? r : xs_qjson_raw(out, ",\"metric\":");
	r = r ? r : xs_qjson_str(out, top_metrics[metric]);
	r = r ? r : xs_qjson_raw(out, ",\"unit\":");
	r = r ? r : xs_qjson_str(out, top_units[metric]);
	r = r ? r : xs_qjson_raw(out, ",\"time\":");
	if (!r)
		r = m ? xs_qjson_int(out, tmax) : xs_qjson_raw(out, "null");
	r = r ? r : xs_qjson_raw(out, ",\"items\":[");
	for (size_t i = 0; i < m && r == XS_OK; i++) {
		r = xs_qjson_raw(out, i ? ",{\"uuid\":" : "{\"uuid\":");
		r = r ? r : xs_qjson_str(out, heap[i]->uuid);
		r = r ? r : xs_qjson_raw(out, ",\"name\":");
		r = r ? r : xs_qjson_str(out, heap[i]->name);
		r = r ? r : xs_qjson_raw(out, ",\"pool\":");
		r = r ? r : xs_qjson_str(out, heap[i]->pool);
		r = r ? r : xs_qjson_raw(out, ",\"host\":");
		r = r ? r : xs_qjson_str(out, top_host_of(heap[i]));
		r = r ? r : xs_qjson_raw(out, ",\"value\":");
		r = r ? r : xs_qjson_num(out, heap[i]->value[metric]);
		r = r ? r : xs_qjson_raw(out, "}");
	}
	return r ? r : xs_qjson_raw(out, "]}");
}

/* The answers to q's metrics (q->want) into outs[m], one pass over the objects. */
static enum xs_err top_run(const struct xs_estate *e, const struct top_req *q,
			   struct xs_buf *const outs[XS_TOP_METRICS], char *err)
{
	struct top_item *items, **heap;
	struct top_ctx *ctx;
	size_t total = 0, count = 0, seen = 0;
	int64_t tmax[XS_TOP_METRICS];
	bool pool_seen = false;
	enum xs_err r = XS_OK;

	for (size_t p = 0; p < e->npools; p++)
		if (e->pools[p].topo)
			total += xs_topo_count(e->pools[p].topo, q->vms ? XS_TOPO_VM : XS_TOPO_HOST);
	items = xs_xmalloc((total + 1) * sizeof(*items));
	ctx = xs_xcalloc(1, sizeof(*ctx)); /* the memos (about 2.3 KiB each) zeroed: empty */
	ctx->s = e->store;
	for (size_t p = 0; p < e->npools; p++) {
		const struct xs_topo_pool *tp;

		if (!e->pools[p].topo)
			continue;
		tp = xs_topo_pool(e->pools[p].topo);
		if (q->pool && (!tp || strcmp(tp->uuid, q->pool)))
			continue;
		pool_seen = true;
		count += top_collect(e, q, p, ctx, items + count, &seen);
	}
	free(ctx);
	if (q->pool && !pool_seen) {
		free(items);
		return xs_err_set(err, XS_QUERY_NOT_FOUND, "pool: no pool %s is known", q->pool);
	}
	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		tmax[m] = INT64_MIN;
		for (size_t i = 0; i < count; i++)
			if ((items[i].has & TOP_BIT(m)) && items[i].t[m] > tmax[m])
				tmax[m] = items[i].t[m];
	}
	top_mark_stale(e, items, count, tmax, &seen);
	heap = xs_xmalloc((q->n + 1) * sizeof(*heap));
	for (size_t m = 0; m < XS_TOP_METRICS && r == XS_OK; m++) {
		size_t k;

		if (!(q->want & TOP_BIT(m)))
			continue;
		k = top_select(items, count, (enum top_metric)m, heap, q->n);
		r = top_write(q->vms ? "vm" : "host", (enum top_metric)m, tmax[m], heap, k, outs[m]);
	}
	free(heap);
	free(items);
	if (r)
		xs_err_set(err, r, "reply: %s", xs_strerror(r));
	return r;
}

enum xs_err xs_query_top(const struct xs_estate *e, const char *kind, const char *metric, long n,
			 const char *pool, struct xs_buf *out, char *err)
{
	struct xs_buf *outs[XS_TOP_METRICS] = { NULL };
	struct top_req q = { 0 };
	enum xs_err r;

	*err = '\0';
	r = top_parse(kind, metric, n, pool, &q, err);
	if (r)
		return r;
	outs[q.metric] = out;
	return top_run(e, &q, outs, err);
}

enum xs_err xs_query_top_each(const struct xs_estate *e, const char *kind, long n,
			      const char *pool, struct xs_buf *const outs[XS_TOP_METRICS], char *err)
{
	struct top_req q = { 0 };
	enum xs_err r;

	*err = '\0';
	r = top_parse(kind, top_metrics[0], n, pool, &q, err);
	if (r)
		return r;
	q.want = 0;
	for (size_t m = 0; m < XS_TOP_METRICS; m++)
		if (outs[m])
			q.want |= TOP_BIT(m);
	return q.want ? top_run(e, &q, outs, err) : XS_OK;
}

const char *xs_top_metric_name(size_t m)
{
	return m < XS_TOP_METRICS ? top_metrics[m] : NULL;
}

int xs_top_metric_index(const char *name)
{
	for (size_t m = 0; m < XS_TOP_METRICS; m++)
		if (name && !strcmp(name, top_metrics[m]))
			return (int)m;
	return -1;
}
