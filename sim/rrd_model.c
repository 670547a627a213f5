/*
 * rrd_model.c - per-object RRDs of xapi-sim (see rrd_model.h).
 *
 * Time rules (all in simulator time, seconds, steps at multiples of 5):
 *  - history: rows in (hist_from, hist_to] are synthesised from the workload
 *    for data sources that existed when the model was made;
 *  - live: each step the object is live is recorded into the 5 s ring and the
 *    consolidations in progress; a coarse row is written when its period ends;
 *  - anything else is unknown (NaN).
 * The coarse consolidations in progress at start are seeded with the part of
 * their period that lies in the history, so the first live rows are whole.
 */
#include "rrd_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

const struct sim_archive sim_rrd_archives[SIM_RRD_ARCHIVES] = {
	{ 1, 120 }, { 12, 120 }, { 720, 168 }, { 17280, 366 },
};

#define MODEL_HALTED_HISTORY_MAX_H 48 /* a VM halted at start stopped up to 2 days before */

struct sim_rrd_model {
	struct sim_world *w;
	int64_t start;       /* first step recorded live */
	int64_t hist_from;   /* history begins after this time */
	int64_t last_step;   /* last step advanced to */
	struct sim_rrd *rrds[SIM_NCLASSES]; /* per class (host, VM, SR), by object index */
	size_t nrrds[SIM_NCLASSES];
	int64_t *hist_to[SIM_NCLASSES];     /* end of each object's history */
	size_t bytes;        /* held by rings */
};

static int64_t model_period(int a)
{
	return (int64_t)sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP;
}

/* --- data-source definitions derived from devices --- */

struct ds_def {
	char name[SIM_DS_NAME_LEN];
	const char *type, *units;
	double min, max;
	enum sim_metric metric;
	double scale;
};

struct ds_list {
	struct ds_def *v;
	size_t n, cap;
};

static void ds_add(struct ds_list *l, const char *type, const char *units, double min,
		   double max, enum sim_metric metric, double scale, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

#include <stdarg.h>
static void ds_add(struct ds_list *l, const char *type, const char *units, double min,
		   double max, enum sim_metric metric, double scale, const char *fmt, ...)
{
	struct ds_def *d;
	va_list ap;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xs_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	d = &l->v[l->n++];
	va_start(ap, fmt);
	vsnprintf(d->name, sizeof(d->name), fmt, ap);
	va_end(ap);
	d->type = type;
	d->units = units;
	d->min = min;
	d->max = max;
	d->metric = metric;
	d->scale = scale;
}

#define GIB (1024.0 * 1024 * 1024)

static void ds_vbd(struct ds_list *l, const char *dev)
{
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 200e6, "vbd_%s_read", dev);
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 200e6, "vbd_%s_write", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_read_latency", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_write_latency", dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 4000, "vbd_%s_iops_read", dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 4000, "vbd_%s_iops_write",
	       dev);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "vbd_%s_iops_total",
	       dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 200,
	       "vbd_%s_io_throughput_read", dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 200,
	       "vbd_%s_io_throughput_write", dev);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "vbd_%s_io_throughput_total", dev);
	ds_add(l, "ABSOLUTE", "s/s", 0, INFINITY, SIM_M_IOWAIT, 2, "vbd_%s_iowait", dev);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 64, "vbd_%s_inflight", dev);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 4000, "vbd_%s_latency", dev);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 64, "vbd_%s_avgqu_sz", dev);
}

static void ds_vm(const struct sim_world *w, const struct sim_vm *vm, struct ds_list *l)
{
	double mem = (double)vm->memory_target;

	for (int c = 0; c < vm->vcpus; c++)
		ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu%d", c);
	ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu_usage");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, mem, "memory");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, mem, "memory_target");
	if (vm->guest_tools)
		ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_FREE_KIB, mem / 1024 * 0.8,
		       "memory_internal_free");
	for (size_t i = 0; i < vm->nvifs; i++) {
		const struct sim_vif *vif = SIM_GET(w, SIM_VIF, sim_vif, vm->vifs[i]);

		if (!vif || vif->o.deleted)
			continue;
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 12.5e6, "vif_%s_rx", vif->device);
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 12.5e6, "vif_%s_tx", vif->device);
	}
	for (size_t i = 0; i < vm->nvbds; i++) {
		const struct sim_vbd *vbd = SIM_GET(w, SIM_VBD, sim_vbd, vm->vbds[i]);

		if (vbd && !vbd->o.deleted && !vbd->is_cd)
			ds_vbd(l, vbd->device);
	}
}

static void ds_sr_on_host(struct ds_list *l, const char *sr8)
{
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 400e6, "read_%s", sr8);
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 400e6, "write_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "read_latency_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "write_latency_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "io_throughput_read_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 400,
	       "io_throughput_write_%s", sr8);
	ds_add(l, "ABSOLUTE", "MiB/s", 0, INFINITY, SIM_M_THROUGHPUT, 800,
	       "io_throughput_total_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "iops_read_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 8000, "iops_write_%s", sr8);
	ds_add(l, "ABSOLUTE", "requests/s", 0, INFINITY, SIM_M_IOPS, 16000, "iops_total_%s", sr8);
	ds_add(l, "ABSOLUTE", "s/s", 0, INFINITY, SIM_M_IOWAIT, 4, "iowait_%s", sr8);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 128, "inflight_%s", sr8);
	ds_add(l, "GAUGE", "μs", 0, INFINITY, SIM_M_LATENCY, 3000, "latency_%s", sr8);
	ds_add(l, "GAUGE", "requests", 0, INFINITY, SIM_M_QUEUE, 128, "avgqu_sz_%s", sr8);
}

static void ds_host(const struct sim_world *w, const struct sim_host *h, struct ds_list *l)
{
	const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, h->pool);
	double kib = (double)h->memory_total / 1024;

	for (int c = 0; c < h->cpus; c++)
		ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu%d", c);
	ds_add(l, "DERIVE", "(fraction)", 0, 1, SIM_M_CPU, 1, "cpu_avg");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_LOAD, 2, "loadavg");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_LOAD, 1, "hostload");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 40, "running_vcpus");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 20, "running_domains");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_TOTAL_KIB, kib, "memory_total_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_MEM_FREE_KIB, kib * 0.6, "memory_free_kib");
	ds_add(l, "GAUGE", "B", -INFINITY, INFINITY, SIM_M_MEM_FREE_KIB, 512e6, "memory_reclaimed");
	ds_add(l, "GAUGE", "B", -INFINITY, INFINITY, SIM_M_MEM_FREE_KIB, 2e9, "memory_reclaimed_max");
	for (size_t i = 0; i < h->npifs; i++) {
		const struct sim_pif *pif = SIM_GET(w, SIM_PIF, sim_pif, h->pifs[i]);

		if (!pif || pif->o.deleted)
			continue;
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 1.25e8, "pif_%s_rx", pif->device);
		ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 1.25e8, "pif_%s_tx", pif->device);
	}
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 5e8, "pif_aggr_rx");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_NET, 5e8, "pif_aggr_tx");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 400000, "xapi_memory_usage_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 200000, "xapi_free_memory_kib");
	ds_add(l, "GAUGE", "KiB", 0, INFINITY, SIM_M_KIB, 150000, "xapi_live_memory_kib");
	ds_add(l, "DERIVE", "KiB/s", 0, INFINITY, SIM_M_KIB, 5000, "xapi_allocation_kib");
	ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 60, "xapi_open_fds");
	if (pool && pool->master == h->o.index) {
		ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 10, "pool_session_count");
		ds_add(l, "GAUGE", "", 0, INFINITY, SIM_M_COUNT, 3, "pool_task_count");
	}
	for (size_t i = 0; i < sim_world_count(w, SIM_PBD); i++) {
		const struct sim_pbd *pbd = SIM_GET(w, SIM_PBD, sim_pbd, (int)i);
		const struct sim_sr *sr;
		char sr8[9];

		if (!pbd || pbd->o.deleted || pbd->host != h->o.index)
			continue;
		sr = SIM_GET(w, SIM_SR, sim_sr, pbd->sr);
		if (!sr || sr->o.deleted)
			continue;
		memcpy(sr8, sr->o.uuid, 8);
		sr8[8] = '\0';
		ds_sr_on_host(l, sr8);
	}
}

static void ds_sr(const struct sim_sr *sr, struct ds_list *l)
{
	(void)sr;
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_BYTES, 2e12, "size");
	ds_add(l, "GAUGE", "B", 0, INFINITY, SIM_M_MEM_FREE_KIB, 1.2e12, "physical_utilisation");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 800e6, "read");
	ds_add(l, "DERIVE", "B/s", 0, INFINITY, SIM_M_DISK, 800e6, "write");
}

/* --- rings --- */

static size_t ring_slot(int a, int64_t t)
{
	return (size_t)((t / model_period(a)) % sim_rrd_archives[a].rows);
}

static void ring_write(struct sim_rrd_model *m, struct sim_ds *d, int a, int ncf,
		       int64_t t, const float *v)
{
	int rows = sim_rrd_archives[a].rows;
	int64_t p = model_period(a);

	if (!d->ring[a][0]) {
		for (int c = 0; c < ncf; c++) {
			d->ring[a][c] = xs_xmalloc((size_t)rows * sizeof(float));
			for (int r = 0; r < rows; r++)
				d->ring[a][c][r] = NAN;
		}
		m->bytes += (size_t)ncf * (size_t)rows * sizeof(float);
		d->ring_first[a] = t;
		d->ring_last[a] = t - p;
	}
	/* rows skipped since the last one written are unknown; only the last
	 * rows - 1 of them share the ring with t, older slots are overwritten
	 * or cleared here all the same */
	int64_t from = d->ring_last[a] + p;

	if (from < t - (int64_t)(rows - 1) * p)
		from = t - (int64_t)(rows - 1) * p;
	for (int64_t s = from; s < t; s += p)
		for (int c = 0; c < ncf; c++)
			d->ring[a][c][ring_slot(a, s)] = NAN;
	for (int c = 0; c < ncf; c++)
		d->ring[a][c][ring_slot(a, t)] = v[c];
	d->ring_last[a] = t;
}

/* --- recording steps --- */

static void cdp_reset(struct sim_ds *d, int a)
{
	d->cdp_sum[a] = 0;
	d->cdp_min[a] = INFINITY;
	d->cdp_max[a] = -INFINITY;
	d->cdp_known[a] = 0;
	d->cdp_steps[a] = 0;
}

/* Ends the consolidation of archive a at t: writes its row (NaN when more
 * than xff of its steps were unknown) and starts the next. */
static void cdp_finish(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d, int a,
		       int64_t t)
{
	int ppr = sim_rrd_archives[a].pdp_per_row;
	float row[SIM_NCF];

	if ((double)(ppr - d->cdp_known[a]) / ppr > SIM_RRD_XFF) {
		row[0] = row[1] = row[2] = NAN;
	} else {
		row[SIM_CF_AVERAGE] = (float)(d->cdp_sum[a] / d->cdp_known[a]);
		row[SIM_CF_MIN] = d->cdp_min[a];
		row[SIM_CF_MAX] = d->cdp_max[a];
	}
	ring_write(m, d, a, r->minmax ? SIM_NCF : 1, t, row);
	cdp_reset(d, a);
}

/* Records step t of d: its workload value, or unknown. */
static void ds_step(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d, int64_t t,
		    bool known)
{
	float v = known ? (float)sim_workload_value(&d->series, t) : NAN;

	ring_write(m, d, 0, 1, t, &v);
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		d->cdp_steps[a]++;
		if (known) {
			d->cdp_sum[a] += v;
			d->cdp_known[a]++;
			if (v < d->cdp_min[a])
				d->cdp_min[a] = v;
			if (v > d->cdp_max[a])
				d->cdp_max[a] = v;
		}
		if (t % model_period(a) == 0)
			cdp_finish(m, r, d, a, t);
	}
}

/*
 * The steps strictly between last and t are unknown (a gap beyond the
 * heartbeat), in O(archives): the consolidation in progress ends at its
 * boundary with what it had; whole rows inside the gap become NaN when the
 * next row is written (ring_write); the 5 s rows likewise.
 */
static void ds_skip(struct sim_rrd_model *m, const struct sim_rrd *r, struct sim_ds *d,
		    int64_t last, int64_t t)
{
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		int64_t p = model_period(a);
		int64_t boundary = (last / p + 1) * p;

		if (boundary < t && d->created <= last)
			cdp_finish(m, r, d, a, boundary);
		if (boundary < t)
			cdp_reset(d, a);
	}
}

/* Seeds the consolidations in progress at the model's start with history. */
static void ds_seed_cdp(const struct sim_rrd_model *m, struct sim_ds *d, int64_t hist_to)
{
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++) {
		int64_t p = model_period(a);
		/* the row step `start` belongs to covers (begin, begin + p] */
		int64_t begin = ((m->start - SIM_RRD_STEP) / p) * p;
		int64_t steps = (m->start - begin) / SIM_RRD_STEP; /* history steps + 1 */
		double avg, min, max;

		cdp_reset(d, a);
		if (steps <= 1 || begin < m->hist_from || m->start - SIM_RRD_STEP > hist_to)
			continue;
		if (a == 1) {
			for (int64_t t = begin + SIM_RRD_STEP; t < m->start; t += SIM_RRD_STEP) {
				float v = (float)sim_workload_value(&d->series, t);

				d->cdp_sum[a] += v;
				d->cdp_known[a]++;
				d->cdp_min[a] = v < d->cdp_min[a] ? v : d->cdp_min[a];
				d->cdp_max[a] = v > d->cdp_max[a] ? v : d->cdp_max[a];
			}
			d->cdp_steps[a] = d->cdp_known[a];
			continue;
		}
		/* the same summary a synthesised row ending at begin + p has */
		sim_workload_summary(&d->series, begin + p, p, &avg, &min, &max);
		d->cdp_steps[a] = d->cdp_known[a] = (int)(steps - 1);
		d->cdp_sum[a] = avg * (double)(steps - 1);
		d->cdp_min[a] = (float)min;
		d->cdp_max[a] = (float)max;
	}
}

/* --- sync: data sources from devices --- */

static struct sim_rrd *model_slot(struct sim_rrd_model *m, enum sim_class c, int index)
{
	if ((size_t)index >= m->nrrds[c]) {
		size_t n = (size_t)index + 1 + m->nrrds[c];

		m->rrds[c] = xs_xrealloc(m->rrds[c], n * sizeof(*m->rrds[c]));
		m->hist_to[c] = xs_xrealloc(m->hist_to[c], n * sizeof(*m->hist_to[c]));
		memset(m->rrds[c] + m->nrrds[c], 0, (n - m->nrrds[c]) * sizeof(*m->rrds[c]));
		for (size_t i = m->nrrds[c]; i < n; i++)
			m->hist_to[c][i] = INT64_MIN;
		m->nrrds[c] = n;
	}
	return &m->rrds[c][index];
}

static void ds_free_rings(struct sim_rrd_model *m, struct sim_ds *d, bool minmax)
{
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++) {
		if (d->ring[a][0])
			m->bytes -= (size_t)(a && minmax ? SIM_NCF : 1) *
				    (size_t)sim_rrd_archives[a].rows * sizeof(float);
		for (int c = 0; c < SIM_NCF; c++) {
			free(d->ring[a][c]);
			d->ring[a][c] = NULL;
		}
	}
}

static void rrd_apply(struct sim_rrd_model *m, struct sim_rrd *r, const struct sim_obj *o,
		      const struct ds_list *want, bool at_start)
{
	for (size_t i = 0; i < r->nds; i++)
		r->ds[i].seen = false;
	for (size_t k = 0; k < want->n; k++) {
		const struct ds_def *def = &want->v[k];
		struct sim_ds *d = NULL;

		if (k < r->nds && !strcmp(r->ds[k].name, def->name))
			d = &r->ds[k];
		for (size_t i = 0; !d && i < r->nds; i++)
			if (!strcmp(r->ds[i].name, def->name))
				d = &r->ds[i];
		if (!d) {
			if (r->nds == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 32;
				r->ds = xs_xrealloc(r->ds, r->cap * sizeof(*r->ds));
			}
			d = &r->ds[r->nds++];
			memset(d, 0, sizeof(*d));
			snprintf(d->name, sizeof(d->name), "%s", def->name);
			d->created = at_start ? m->start : m->last_step + SIM_RRD_STEP;
			for (int a = 1; a < SIM_RRD_ARCHIVES; a++)
				cdp_reset(d, a);
		}
		d->type = def->type;
		d->units = def->units;
		d->min = def->min;
		d->max = def->max;
		d->series.metric = def->metric;
		d->series.scale = def->scale;
		d->series.max = isinf(def->max) ? 1e300 : def->max;
		d->series.seed = sim_hash_str(sim_hash_str(m->w->seed, o->uuid), def->name);
		d->seen = true;
		if (at_start)
			ds_seed_cdp(m, d, m->hist_to[o->cls][o->index]);
	}
	for (size_t i = 0; i < r->nds;) {
		if (r->ds[i].seen) {
			i++;
			continue;
		}
		ds_free_rings(m, &r->ds[i], r->minmax);
		memmove(&r->ds[i], &r->ds[i + 1], (r->nds - i - 1) * sizeof(*r->ds));
		r->nds--;
	}
}

static bool model_host_live(const struct sim_world *w, int host)
{
	const struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);
	const struct sim_host_metrics *hm = h ? SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics,
							 h->metrics)
					      : NULL;

	return h && !h->o.deleted && hm && hm->live;
}

static bool model_live(const struct sim_world *w, enum sim_class c, int index)
{
	if (c == SIM_HOST)
		return model_host_live(w, index);
	if (c == SIM_VM) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, index);
		return vm && !vm->o.deleted && vm->power == SIM_RUNNING &&
		       model_host_live(w, vm->resident_on);
	}
	for (size_t i = 0; i < sim_world_count(w, SIM_PBD); i++) {
		const struct sim_pbd *pbd = SIM_GET(w, SIM_PBD, sim_pbd, (int)i);
		if (pbd && !pbd->o.deleted && pbd->sr == index && model_host_live(w, pbd->host))
			return true;
	}
	return false;
}

static void model_sync(struct sim_rrd_model *m, bool at_start)
{
	static const enum sim_class classes[] = { SIM_HOST, SIM_VM, SIM_SR };
	struct ds_list want = { 0 };

	for (size_t k = 0; k < 3; k++) {
		enum sim_class c = classes[k];

		for (size_t i = 0; i < sim_world_count(m->w, c); i++) {
			struct sim_obj *o = sim_world_get(m->w, c, (int)i);
			struct sim_rrd *r = model_slot(m, c, (int)i);

			if (!o || o->deleted)
				continue; /* a deleted object keeps its rows until it is gone */
			if (c == SIM_SR && !((struct sim_sr *)(void *)o)->shared)
				continue; /* only shared SRs have SR statistics */
			if (c == SIM_VM && !r->exists && !at_start && !model_live(m->w, c, (int)i))
				continue; /* a VM gets an RRD when it first runs */
			if (!r->exists) {
				r->exists = true;
				r->cls = c;
				r->index = (int)i;
				r->minmax = c == SIM_HOST;
				r->last_update = at_start ? m->start : m->last_step;
			}
			if (at_start) {
				int64_t to = m->start - SIM_RRD_STEP;
				if (c == SIM_VM && !model_live(m->w, c, (int)i))
					to -= 3600 * (int64_t)(1 + sim_hash2(m->w->seed, i) %
									MODEL_HALTED_HISTORY_MAX_H);
				m->hist_to[c][i] = to;
				r->last_update = to;
			}
			want.n = 0;
			if (c == SIM_HOST)
				ds_host(m->w, (struct sim_host *)(void *)o, &want);
			else if (c == SIM_VM)
				ds_vm(m->w, (struct sim_vm *)(void *)o, &want);
			else
				ds_sr((struct sim_sr *)(void *)o, &want);
			rrd_apply(m, r, o, &want, at_start);
		}
	}
	free(want.v);
}

struct sim_rrd_model *sim_rrd_model_new(struct sim_world *w, int64_t now, int history_days)
{
	struct sim_rrd_model *m = xs_xcalloc(1, sizeof(*m));

	m->w = w;
	m->start = (now / SIM_RRD_STEP) * SIM_RRD_STEP + SIM_RRD_STEP;
	m->hist_from = m->start - SIM_RRD_STEP - (int64_t)history_days * 86400;
	m->last_step = m->start - SIM_RRD_STEP;
	model_sync(m, true);
	return m;
}

void sim_rrd_model_sync(struct sim_rrd_model *m)
{
	model_sync(m, false);
}

void sim_rrd_model_free(struct sim_rrd_model **mp)
{
	struct sim_rrd_model *m = mp ? *mp : NULL;

	if (!m)
		return;
	for (int c = 0; c < SIM_NCLASSES; c++) {
		for (size_t i = 0; i < m->nrrds[c]; i++) {
			struct sim_rrd *r = &m->rrds[c][i];
			for (size_t k = 0; k < r->nds; k++)
				ds_free_rings(m, &r->ds[k], r->minmax);
			free(r->ds);
		}
		free(m->rrds[c]);
		free(m->hist_to[c]);
	}
	free(m);
	*mp = NULL;
}

/* Records step t for r, first making the steps it missed unknown (a gap
 * beyond the heartbeat) or recording them (a shorter one). */
static void rrd_record(struct sim_rrd_model *m, struct sim_rrd *r, int64_t t)
{
	int64_t last = r->last_update;
	bool lost = t - last > SIM_RRD_HEARTBEAT;

	for (size_t k = 0; k < r->nds; k++) {
		struct sim_ds *d = &r->ds[k];

		if (d->created > t)
			continue;
		if (lost)
			ds_skip(m, r, d, last, t);
		else
			for (int64_t s = last + SIM_RRD_STEP; s < t; s += SIM_RRD_STEP)
				if (d->created <= s)
					ds_step(m, r, d, s, true);
		ds_step(m, r, d, t, true);
	}
	r->last_update = t;
}

void sim_rrd_model_advance(struct sim_rrd_model *m, int64_t now)
{
	int64_t target = (now / SIM_RRD_STEP) * SIM_RRD_STEP;
	static const enum sim_class classes[] = { SIM_HOST, SIM_VM, SIM_SR };

	for (int64_t t = m->last_step + SIM_RRD_STEP; t <= target; t += SIM_RRD_STEP) {
		for (size_t k = 0; k < 3; k++) {
			enum sim_class c = classes[k];

			for (size_t i = 0; i < m->nrrds[c]; i++) {
				struct sim_rrd *r = &m->rrds[c][i];

				if (r->exists && model_live(m->w, c, (int)i))
					rrd_record(m, r, t);
			}
		}
		m->last_step = t;
	}
}

const struct sim_rrd *sim_rrd_model_get(const struct sim_rrd_model *m, enum sim_class cls,
					int index)
{
	if (index < 0 || (size_t)index >= m->nrrds[cls] || !m->rrds[cls][index].exists)
		return NULL;
	return &m->rrds[cls][index];
}

bool sim_rrd_has_cf(const struct sim_rrd *r, int archive, enum sim_cf cf)
{
	return cf == SIM_CF_AVERAGE || (r->minmax && archive > 0);
}

/* A history cell, synthesised from the workload. */
static float model_synth(const struct sim_ds *d, int archive, enum sim_cf cf, int64_t t)
{
	int64_t p = model_period(archive);
	double avg = 0, min = INFINITY, max = -INFINITY;

	if (archive == 0)
		return (float)sim_workload_value(&d->series, t);
	if (archive == 1) {
		for (int64_t s = t - p + SIM_RRD_STEP; s <= t; s += SIM_RRD_STEP) {
			float v = (float)sim_workload_value(&d->series, s);
			avg += v;
			min = v < min ? v : min;
			max = v > max ? v : max;
		}
		avg /= (double)sim_rrd_archives[1].pdp_per_row;
	} else {
		sim_workload_summary(&d->series, t, p, &avg, &min, &max);
	}
	return (float)(cf == SIM_CF_AVERAGE ? avg : cf == SIM_CF_MIN ? min : max);
}

float sim_rrd_value(const struct sim_rrd_model *m, const struct sim_rrd *r, int archive,
		    enum sim_cf cf, size_t ds, int64_t t)
{
	const struct sim_ds *d;
	int64_t p = model_period(archive);
	int rows = sim_rrd_archives[archive].rows;
	int64_t hist_to;

	int64_t newest = (r->last_update / p) * p; /* the archive's newest row */

	if (ds >= r->nds || !sim_rrd_has_cf(r, archive, cf) || t % p)
		return NAN;
	if (t > newest || newest - t >= rows * p)
		return NAN; /* not (or no longer) one of the archive's rows */
	d = &r->ds[ds];
	if (d->ring[archive][0] && t >= d->ring_first[archive] && t <= d->ring_last[archive] &&
	    d->ring_last[archive] - t < rows * p)
		return d->ring[archive][archive ? cf : 0][ring_slot(archive, t)];
	hist_to = m->hist_to[r->cls][r->index];
	if (d->created == m->start && t > m->hist_from + (archive ? p - SIM_RRD_STEP : 0) &&
	    t <= hist_to)
		return model_synth(d, archive, cf, t);
	return NAN;
}

size_t sim_rrd_model_bytes(const struct sim_rrd_model *m)
{
	return m->bytes;
}
