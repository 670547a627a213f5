/*
 * Tests of sim/rrd_model.c: data sources derived from devices (SPEC §3),
 * the four archives and their consolidation functions (SPEC §1.5), float32
 * cells, consolidation AVERAGE / MIN / MAX against values computed here from
 * the workload, the xff rule, NaN after a gap beyond the 300 s heartbeat,
 * and history synthesised before the start.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../../sim/workload.c"
#include "../../../sim/world.c"
#include "../../../sim/rrd_model.c"
#include "test.h"

#define T0 1700000000 /* start = 1700000005; 1700006400 is a day boundary */

static struct sim_world *world(int hosts, int vms)
{
	struct sim_world_params p = { .pools = 1, .hosts_per_pool = hosts, .vms_per_host = vms,
				      .seed = 77, .addr_base = 3, .now = T0 };

	return sim_world_new(&p);
}

static int ds_find(const struct sim_rrd *r, const char *name)
{
	for (size_t i = 0; i < r->nds; i++)
		if (!strcmp(r->ds[i].name, name))
			return (int)i;
	return -1;
}

static const struct sim_ds *ds_named(const struct sim_rrd *r, const char *name)
{
	int i = ds_find(r, name);

	return i < 0 ? NULL : &r->ds[i];
}

static float wl(const struct sim_ds *d, int64_t t)
{
	return (float)sim_workload_value(&d->series, t);
}

/* AVERAGE, MIN and MAX of the 5 s values in (from, to], as xcp-rrdd consolidates them. */
static void consolidate(const struct sim_ds *d, int64_t from, int64_t to, float out[SIM_NCF])
{
	double sum = 0;
	float min = INFINITY, max = -INFINITY;
	int n = 0;

	for (int64_t t = from + SIM_RRD_STEP; t <= to; t += SIM_RRD_STEP, n++) {
		float v = wl(d, t);

		sum += v;
		min = v < min ? v : min;
		max = v > max ? v : max;
	}
	out[SIM_CF_AVERAGE] = (float)(sum / n);
	out[SIM_CF_MIN] = min;
	out[SIM_CF_MAX] = max;
}

static int guest_on(const struct sim_world *w, int host)
{
	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);

		if (!vm->is_control_domain && vm->power == SIM_RUNNING && vm->resident_on == host)
			return (int)i;
	}
	return -1;
}

static void test_archives(void)
{
	struct sim_world *w = world(1, 3);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	const struct sim_rrd *v = sim_rrd_model_get(m, SIM_VM, guest_on(w, 0));
	static const struct sim_archive want[] = { { 1, 120 }, { 12, 120 }, { 720, 168 },
						   { 17280, 366 } };

	for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
		ok(sim_rrd_archives[a].pdp_per_row == want[a].pdp_per_row &&
			   sim_rrd_archives[a].rows == want[a].rows,
		   "archive %d: %d x %d", a, sim_rrd_archives[a].rows,
		   sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP);
	fail_unless(h && v, "host and VM RRDs");
	ok(h->minmax && !v->minmax, "min/max on hosts only");
	ok(sim_rrd_has_cf(h, 0, SIM_CF_AVERAGE) && !sim_rrd_has_cf(h, 0, SIM_CF_MIN) &&
		   !sim_rrd_has_cf(h, 0, SIM_CF_MAX),
	   "host: AVERAGE only at 5 s");
	for (int a = 1; a < SIM_RRD_ARCHIVES; a++)
		ok(sim_rrd_has_cf(h, a, SIM_CF_AVERAGE) && sim_rrd_has_cf(h, a, SIM_CF_MIN) &&
			   sim_rrd_has_cf(h, a, SIM_CF_MAX),
		   "host: AVERAGE, MIN, MAX on archive %d", a);
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
		ok(sim_rrd_has_cf(v, a, SIM_CF_AVERAGE) && !sim_rrd_has_cf(v, a, SIM_CF_MIN) &&
			   !sim_rrd_has_cf(v, a, SIM_CF_MAX),
		   "VM: AVERAGE only on archive %d", a);
	ok(sizeof(h->ds[0].ring[0][0]) == 4, "float32 cells");
	sim_rrd_model_free(&m);
	ok(!m, "free sets NULL");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

static size_t count_prefix(const struct sim_rrd *r, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nds; i++)
		n += !strncmp(r->ds[i].name, prefix, strlen(prefix));
	return n;
}

static void check_vm_ds(const struct sim_world *w, const struct sim_rrd *r, int index)
{
	const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, index);
	size_t disks = 0, want;
	char name[SIM_DS_NAME_LEN];

	for (size_t i = 0; i < vm->nvbds; i++) {
		const struct sim_vbd *b = SIM_GET(w, SIM_VBD, sim_vbd, vm->vbds[i]);

		if (b->is_cd) {
			snprintf(name, sizeof(name), "vbd_%s_read", b->device);
			ok(ds_find(r, name) < 0, "no data sources for the CD drive %s", b->device);
			continue;
		}
		disks++;
		snprintf(name, sizeof(name), "vbd_%s_io_throughput_read", b->device);
		ok(ds_named(r, name) && !strcmp(ds_named(r, name)->type, "ABSOLUTE") &&
			   !strcmp(ds_named(r, name)->units, "MiB/s"),
		   "%s ABSOLUTE MiB/s", name);
		snprintf(name, sizeof(name), "vbd_%s_read_latency", b->device);
		ok(ds_named(r, name) && !strcmp(ds_named(r, name)->type, "GAUGE"), "%s GAUGE", name);
	}
	for (size_t i = 0; i < vm->nvifs; i++) {
		const struct sim_vif *f = SIM_GET(w, SIM_VIF, sim_vif, vm->vifs[i]);

		snprintf(name, sizeof(name), "vif_%s_rx", f->device);
		ok(ds_named(r, name) && !strcmp(ds_named(r, name)->type, "DERIVE") &&
			   !strcmp(ds_named(r, name)->units, "B/s"),
		   "%s DERIVE B/s", name);
	}
	for (int c = 0; c < vm->vcpus; c++) {
		snprintf(name, sizeof(name), "cpu%d", c);
		ok(ds_named(r, name) && ds_named(r, name)->max == 1, "%s fraction", name);
	}
	want = (size_t)vm->vcpus + 3 + vm->guest_tools + 2 * vm->nvifs + 14 * disks;
	ok(r->nds == want, "VM %d: %zu data sources, want %zu", index, r->nds, want);
	ok(ds_find(r, "cpu_usage") >= 0 && ds_find(r, "memory") >= 0 &&
		   ds_find(r, "memory_target") >= 0,
	   "cpu_usage, memory, memory_target");
	ok((ds_find(r, "memory_internal_free") >= 0) == vm->guest_tools,
	   "memory_internal_free only with tools");
	ok(count_prefix(r, "vbd_") == 14 * disks && count_prefix(r, "vif_") == 2 * vm->nvifs,
	   "14 per disk, 2 per VIF");
}

static void check_host_ds(const struct sim_world *w, const struct sim_rrd *r, int index)
{
	const struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, index);
	const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, h->pool);
	char name[SIM_DS_NAME_LEN];
	size_t srs = 0;

	ok(count_prefix(r, "cpu") == (size_t)h->cpus + 1, "cpuN per pCPU and cpu_avg");
	snprintf(name, sizeof(name), "cpu%d", h->cpus - 1);
	ok(ds_find(r, name) >= 0, "%s", name);
	ok(ds_named(r, "memory_total_kib") && !strcmp(ds_named(r, "memory_total_kib")->units, "KiB"),
	   "memory_total_kib in KiB");
	ok(ds_named(r, "memory_total_kib") &&
		   sim_workload_value(&ds_named(r, "memory_total_kib")->series, T0) ==
			   (double)h->memory_total / 1024,
	   "memory_total_kib is the host's memory");
	for (size_t i = 0; i < h->npifs; i++) {
		const struct sim_pif *pif = SIM_GET(w, SIM_PIF, sim_pif, h->pifs[i]);

		snprintf(name, sizeof(name), "pif_%s_tx", pif->device);
		ok(ds_find(r, name) >= 0, "%s", name);
	}
	ok(ds_find(r, "pif_bond0_rx") >= 0 && ds_find(r, "pif_aggr_rx") >= 0, "bond and aggr");
	ok((ds_find(r, "pool_session_count") >= 0) == (pool->master == index),
	   "pool_session_count on the master only");
	for (size_t i = 0; i < sim_world_count(w, SIM_PBD); i++) {
		const struct sim_pbd *pbd = SIM_GET(w, SIM_PBD, sim_pbd, (int)i);
		const struct sim_sr *sr = SIM_GET(w, SIM_SR, sim_sr, pbd->sr);

		if (pbd->host != index)
			continue;
		srs++;
		snprintf(name, sizeof(name), "iops_total_%.8s", sr->o.uuid);
		ok(ds_find(r, name) >= 0, "%s", name);
		snprintf(name, sizeof(name), "io_throughput_read_%.8s", sr->o.uuid);
		ok(ds_named(r, name) && !strcmp(ds_named(r, name)->units, "MiB/s"), "%s", name);
	}
	ok(srs == 2 && count_prefix(r, "avgqu_sz_") == 2, "local and shared SR statistics");
}

static void test_data_sources(void)
{
	struct sim_world *w = world(2, 3);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 1);
	const struct sim_host *h0 = SIM_GET(w, SIM_HOST, sim_host, 0);
	const struct sim_rrd *r;
	int vm = guest_on(w, 1), created = -1, vif = -1;
	size_t before;

	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		r = sim_rrd_model_get(m, SIM_VM, (int)i);
		fail_unless(r, "every VM at start has an RRD, halted ones too");
		check_vm_ds(w, r, (int)i);
	}
	r = sim_rrd_model_get(m, SIM_VM, h0->control_domain);
	ok(ds_find(r, "memory_internal_free") >= 0 && ds_find(r, "vif_0_rx") < 0,
	   "dom0: memory_internal_free from /proc, no VIFs");
	for (int i = 0; i < 2; i++)
		check_host_ds(w, sim_rrd_model_get(m, SIM_HOST, i), i);
	for (size_t i = 0; i < sim_world_count(w, SIM_SR); i++) {
		const struct sim_sr *sr = SIM_GET(w, SIM_SR, sim_sr, (int)i);

		ok(!sim_rrd_model_get(m, SIM_SR, (int)i) == !sr->shared, "SR %zu RRD iff shared", i);
	}
	ok(!sim_rrd_model_get(m, SIM_VM, -1) && !sim_rrd_model_get(m, SIM_VM, 1000), "range");

	/* devices added and removed */
	fail_unless(vm >= 0, "a guest on host 1");
	r = sim_rrd_model_get(m, SIM_VM, vm);
	before = r->nds;
	sim_rrd_model_advance(m, T0 + 60);
	ok(sim_vm_add_vif(w, vm, &vif, NULL) == 0, "add VIF");
	ok(sim_vm_add_vbd(w, vm, NULL, NULL) == 0, "add VBD");
	sim_rrd_model_sync(m);
	r = sim_rrd_model_get(m, SIM_VM, vm);
	ok(r->nds == before + 2 + 14, "a VIF adds 2, a disk 14: %zu -> %zu", before, r->nds);
	check_vm_ds(w, r, vm);
	{
		char name[SIM_DS_NAME_LEN];
		const struct sim_ds *d;

		snprintf(name, sizeof(name), "vif_%s_rx", SIM_GET(w, SIM_VIF, sim_vif, vif)->device);
		d = ds_named(r, name);
		fail_unless(d, "new VIF's data source");
		ok(d->created == T0 + 65, "created at the next step");
		ok(isnan(sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, (size_t)ds_find(r, name), T0 - 5)),
		   "no history for a new data source");
		sim_rrd_model_advance(m, T0 + 70);
		ok(sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, (size_t)ds_find(r, name), T0 + 70) ==
			   wl(d, T0 + 70),
		   "recorded from then on");
	}
	sim_vif_destroy(w, vif, NULL);
	sim_rrd_model_sync(m);
	ok(r->nds == before + 14, "destroying the VIF removes its data sources");

	/* the master's pool counters move with the master */
	sim_pool_set_master(w, 0, 1, NULL);
	sim_rrd_model_sync(m);
	ok(ds_find(sim_rrd_model_get(m, SIM_HOST, 1), "pool_task_count") >= 0 &&
		   ds_find(sim_rrd_model_get(m, SIM_HOST, 0), "pool_task_count") < 0,
	   "pool_task_count follows the master");

	/* a new VM has no RRD until it runs */
	sim_vm_create(w, 0, "fresh", &created, NULL);
	sim_vm_add_vbd(w, created, NULL, NULL);
	sim_rrd_model_sync(m);
	ok(!sim_rrd_model_get(m, SIM_VM, created), "created, halted: no RRD");
	ok(sim_vm_start(w, created, 0, NULL) == 0, "start it");
	sim_rrd_model_sync(m);
	r = sim_rrd_model_get(m, SIM_VM, created);
	ok(r && r->nds == 1 + 3 + 14, "running: cpu0, cpu_usage, memory x2, one disk");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* Live recording with no history: 5 s rows, minute and hour rows against
 * values consolidated here, xff, and the daily row that is mostly unknown. */
static void test_consolidation(void)
{
	struct sim_world *w = world(1, 2);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	const struct sim_rrd *v = sim_rrd_model_get(m, SIM_VM, guest_on(w, 0));
	int hc = ds_find(h, "loadavg"), vd = ds_find(v, "vbd_xvda_read");
	const int64_t start = T0 + 5, end = 1700006400 + 30;
	float want[SIM_NCF];
	bool same = true;

	fail_unless(hc >= 0 && vd >= 0, "loadavg and vbd_xvda_read");
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, T0)), "nothing before start");
	sim_rrd_model_advance(m, end);

	for (int k = 0; k < 120; k++) {
		int64_t t = end - 5 * k;

		same = same && sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, t) ==
				       wl(&h->ds[hc], t) &&
		       sim_rrd_value(m, v, 0, SIM_CF_AVERAGE, (size_t)vd, t) == wl(&v->ds[vd], t);
	}
	ok(same, "the last 120 5 s rows are the workload's values as float32");
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, end - 600)),
	   "the 121st row back is gone");
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, end - 2)), "off-step time");

	/* the first minute row holds 8 live steps of 12: known */
	consolidate(&h->ds[hc], start - 5, 1700000040, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1700000040) == want[0] &&
		   sim_rrd_value(m, h, 1, SIM_CF_MIN, (size_t)hc, 1700000040) == want[1] &&
		   sim_rrd_value(m, h, 1, SIM_CF_MAX, (size_t)hc, 1700000040) == want[2],
	   "first minute row: average, min, max of its 8 known steps");
	same = true;
	for (int64_t t = 1700000100; t <= 1700006400; t += 60) {
		consolidate(&h->ds[hc], t - 60, t, want);
		for (int cf = 0; cf < SIM_NCF; cf++)
			same = same && sim_rrd_value(m, h, 1, cf, (size_t)hc, t) == want[cf];
		consolidate(&v->ds[vd], t - 60, t, want);
		same = same && sim_rrd_value(m, v, 1, SIM_CF_AVERAGE, (size_t)vd, t) == want[0] &&
		       isnan(sim_rrd_value(m, v, 1, SIM_CF_MIN, (size_t)vd, t));
	}
	ok(same, "every whole minute row: host AVERAGE/MIN/MAX, VM AVERAGE, as computed here");
	ok(isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1699999980)),
	   "the minute row before the start is unknown");

	/* hours: 560 of 720 steps known, then a whole hour */
	consolidate(&h->ds[hc], start - 5, 1700002800, want);
	ok(sim_rrd_value(m, h, 2, SIM_CF_AVERAGE, (size_t)hc, 1700002800) == want[0] &&
		   sim_rrd_value(m, h, 2, SIM_CF_MAX, (size_t)hc, 1700002800) == want[2],
	   "first hour row: 560 known steps");
	consolidate(&h->ds[hc], 1700002800, 1700006400, want);
	ok(sim_rrd_value(m, h, 2, SIM_CF_AVERAGE, (size_t)hc, 1700006400) == want[0] &&
		   sim_rrd_value(m, h, 2, SIM_CF_MIN, (size_t)hc, 1700006400) == want[1] &&
		   sim_rrd_value(m, h, 2, SIM_CF_MAX, (size_t)hc, 1700006400) == want[2],
	   "a whole hour row");
	consolidate(&v->ds[vd], 1700002800, 1700006400, want);
	ok(sim_rrd_value(m, v, 2, SIM_CF_AVERAGE, (size_t)vd, 1700006400) == want[0],
	   "VM hour row");

	/* the day ending 1700006400 had 1280 of 17280 steps: beyond xff */
	ok(isnan(sim_rrd_value(m, h, 3, SIM_CF_AVERAGE, (size_t)hc, 1700006400)) &&
		   isnan(sim_rrd_value(m, h, 3, SIM_CF_MIN, (size_t)hc, 1700006400)) &&
		   isnan(sim_rrd_value(m, h, 3, SIM_CF_MAX, (size_t)hc, 1700006400)),
	   "mostly unknown day row is NaN");
	ok(sim_rrd_model_bytes(m) > 0, "rings held: %zu bytes", sim_rrd_model_bytes(m));
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* xff 0.5: a row is unknown when MORE than half its steps are. */
static void xff_case(int64_t now, int64_t until, int archive, int64_t row, bool known,
		     const char *what)
{
	struct sim_world *w = world(1, 0);
	struct sim_rrd_model *m = sim_rrd_model_new(w, now, 0);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	int k = ds_find(h, "loadavg");
	float want[SIM_NCF], got;

	sim_rrd_model_advance(m, until);
	consolidate(&h->ds[k], (now / 5) * 5, row, want);
	got = sim_rrd_value(m, h, archive, SIM_CF_AVERAGE, (size_t)k, row);
	ok(known ? got == want[0] : isnan(got), "%s: %g (want %g)", what, (double)got,
	   known ? (double)want[0] : NAN);
	ok(known ? sim_rrd_value(m, h, archive, SIM_CF_MIN, (size_t)k, row) == want[1]
		 : isnan(sim_rrd_value(m, h, archive, SIM_CF_MIN, (size_t)k, row)),
	   "%s: MIN", what);
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

static void test_xff(void)
{
	const int64_t minute = 1700006400 + 600, day = 1700006400 + 86400;

	xff_case(minute - 30, minute + 5, 1, minute, true, "6 of 12 steps known");
	xff_case(minute - 25, minute + 5, 1, minute, false, "5 of 12 steps known");
	xff_case(day - 43200, day, 3, day, true, "8640 of 17280 steps known");
	xff_case(day - 43195, day, 3, day, false, "8639 of 17280 steps known");
}

#define M 1700000640 /* a minute boundary after the start */

/* Whether archive 0 of ds k is NaN over (from, to] and the workload's values
 * over (to, until]. */
static bool gap_then_known(const struct sim_rrd_model *m, const struct sim_rrd *r, int k,
			   int64_t from, int64_t to, int64_t until)
{
	for (int64_t t = from + 5; t <= until; t += 5) {
		float v = sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, (size_t)k, t);

		if (t <= to ? !isnan(v) : v != wl(&r->ds[k], t))
			return false;
	}
	return true;
}

static void test_gap(void)
{
	struct sim_world *w = world(2, 2);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	int vm = guest_on(w, 1);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 1);
	const struct sim_rrd *v = sim_rrd_model_get(m, SIM_VM, vm);
	const struct sim_rrd *h0 = sim_rrd_model_get(m, SIM_HOST, 0);
	int hc = ds_find(h, "loadavg"), vc = ds_find(v, "cpu0"), h0c = ds_find(h0, "loadavg");
	float want[SIM_NCF];

	fail_unless(vm >= 0 && hc >= 0 && vc >= 0, "host 1, a VM on it");
	sim_rrd_model_advance(m, M);
	ok(gap_then_known(m, h, hc, M - 100, M - 100, M), "host: known up to the gap");
	sim_host_set_live(w, 1, false, NULL);
	sim_rrd_model_advance(m, M + 400);
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, M + 5)),
	   "nothing recorded while down");
	sim_host_set_live(w, 1, true, NULL);
	sim_rrd_model_advance(m, M + 600);
	ok(gap_then_known(m, h, hc, M, M + 400, M + 600), "host: 400 s gap NaN, then known");
	ok(gap_then_known(m, v, vc, M, M + 400, M + 600), "VM on it: the same");
	ok(gap_then_known(m, h0, h0c, M, M, M + 600), "the other host is unaffected");
	consolidate(&h->ds[hc], M - 60, M, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, M) == want[0], "minute before");
	ok(isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, M + 120)) &&
		   isnan(sim_rrd_value(m, h, 1, SIM_CF_MIN, (size_t)hc, M + 120)) &&
		   isnan(sim_rrd_value(m, h, 1, SIM_CF_MAX, (size_t)hc, M + 120)) &&
		   isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, M + 360)),
	   "minute rows inside the gap are NaN");
	ok(isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, M + 420)),
	   "4 known steps of 12: NaN");
	consolidate(&h->ds[hc], M + 420, M + 480, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, M + 480) == want[0] &&
		   sim_rrd_value(m, h, 1, SIM_CF_MAX, (size_t)hc, M + 480) == want[2],
	   "the first whole minute after");

	/* a gap within the heartbeat is filled in */
	sim_host_set_live(w, 1, false, NULL);
	sim_rrd_model_advance(m, M + 800);
	sim_host_set_live(w, 1, true, NULL);
	sim_rrd_model_advance(m, M + 900);
	ok(gap_then_known(m, h, hc, M + 600, M + 600, M + 900), "200 s gap: every step known");

	/* a VM halted for 400 s */
	ok(sim_vm_stop(w, vm, NULL) == 0, "stop the VM");
	sim_rrd_model_advance(m, M + 1300);
	ok(sim_vm_start(w, vm, 1, NULL) == 0, "start it again");
	sim_rrd_model_sync(m);
	sim_rrd_model_advance(m, M + 1500);
	ok(gap_then_known(m, v, vc, M + 900, M + 1300, M + 1500), "halted 400 s: NaN, then known");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* A gap longer than a whole ring leaves no stale rows behind. */
static void test_long_gap(void)
{
	struct sim_world *w = world(2, 0);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 1);
	int hc = ds_find(h, "loadavg");
	const int64_t back = M + 3 * 3600;
	bool nan = true;

	sim_rrd_model_advance(m, M);
	sim_host_set_live(w, 1, false, NULL);
	sim_rrd_model_advance(m, back);
	sim_host_set_live(w, 1, true, NULL);
	sim_rrd_model_advance(m, back + 60);
	ok(gap_then_known(m, h, hc, back + 60 - 595, back, back + 60),
	   "3 h gap: the 5 s rows of the gap are NaN, not the rows of 3 h ago");
	for (int64_t t = back + 60 - 119 * 60; t <= back; t += 60)
		nan = nan && isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, t)) &&
		      isnan(sim_rrd_value(m, h, 1, SIM_CF_MAX, (size_t)hc, t));
	ok(nan, "the minute rows of the gap are NaN");
	ok(!isnan(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, back + 60)), "then known");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

static void test_history(void)
{
	struct sim_world *w = world(1, 8);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 2);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	int hc = ds_find(h, "loadavg");
	const struct sim_ds *d = &h->ds[hc];
	float want[SIM_NCF];
	double avg, min, max;
	bool same = true;

	for (int k = 0; k < 120; k++)
		same = same && sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, T0 - 5 * k) ==
				       wl(d, T0 - 5 * k);
	ok(same, "5 s history: the workload's values");
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, T0 - 600)),
	   "older than the 5 s archive's 120 rows");
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, T0 + 5)), "nothing ahead");
	consolidate(d, 1699999920, 1699999980, want);
	for (int cf = 0; cf < SIM_NCF; cf++)
		ok(sim_rrd_value(m, h, 1, cf, (size_t)hc, 1699999980) == want[cf],
		   "minute history cf %d", cf);
	sim_workload_summary(&d->series, 1699999200, 3600, &avg, &min, &max);
	ok(sim_rrd_value(m, h, 2, SIM_CF_AVERAGE, (size_t)hc, 1699999200) == (float)avg &&
		   sim_rrd_value(m, h, 2, SIM_CF_MIN, (size_t)hc, 1699999200) == (float)min &&
		   sim_rrd_value(m, h, 2, SIM_CF_MAX, (size_t)hc, 1699999200) == (float)max,
	   "hour history from the workload summary");
	ok(!isnan(sim_rrd_value(m, h, 3, SIM_CF_AVERAGE, (size_t)hc, 1699920000)),
	   "the day before is in the 2-day history");
	ok(isnan(sim_rrd_value(m, h, 3, SIM_CF_AVERAGE, (size_t)hc, 1699833600)),
	   "a day starting before the history is NaN");
	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);
		const struct sim_rrd *r = sim_rrd_model_get(m, SIM_VM, (int)i);

		if (vm->power != SIM_HALTED)
			continue;
		ok(isnan(sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, 0, T0)) &&
			   r->last_update < T0 - 3600 &&
			   sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, 0, r->last_update) ==
				   wl(&r->ds[0], r->last_update),
		   "a VM halted at start stopped some hours before");
	}

	/* once the simulator has run an hour, the 5 s history has scrolled away */
	sim_rrd_model_advance(m, T0 + 3600);
	ok(isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, T0)),
	   "5 s history older than 10 min is gone");
	consolidate(d, 1699999920, 1699999980, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1699999980) == want[0],
	   "minute history within 2 h is still there");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* The rows in progress at the start are seeded with the history part. */
static void test_seeded_start(void)
{
	struct sim_world *w = world(1, 1);
	struct sim_rrd_model *m = sim_rrd_model_new(w, 1699999975, 1); /* start on a minute */
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	int hc = ds_find(h, "loadavg");
	float want[SIM_NCF];
	double avg, min, max, sum;
	float lo, hi;

	sim_rrd_model_advance(m, 1700000040);
	consolidate(&h->ds[hc], 1699999920, 1699999980, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1699999980) == want[0] &&
		   sim_rrd_value(m, h, 1, SIM_CF_MIN, (size_t)hc, 1699999980) == want[1],
	   "start on a minute: 11 history steps + 1 live");
	consolidate(&h->ds[hc], 1699999980, 1700000040, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1700000040) == want[0],
	   "then a live minute");
	sim_rrd_model_free(&m);

	m = sim_rrd_model_new(w, T0, 1);
	h = sim_rrd_model_get(m, SIM_HOST, 0);
	sim_rrd_model_advance(m, 1700002800);
	consolidate(&h->ds[hc], 1699999980, 1700000040, want);
	ok(sim_rrd_value(m, h, 1, SIM_CF_AVERAGE, (size_t)hc, 1700000040) == want[0] &&
		   sim_rrd_value(m, h, 1, SIM_CF_MAX, (size_t)hc, 1700000040) == want[2],
	   "mid-minute start: 4 history steps + 8 live");
	/* the hour: 160 steps from the workload summary, then 560 live ones */
	sim_workload_summary(&h->ds[hc].series, 1700002800, 3600, &avg, &min, &max);
	sum = avg * 160;
	lo = (float)min;
	hi = (float)max;
	for (int64_t t = T0 + 5; t <= 1700002800; t += 5) {
		float v = wl(&h->ds[hc], t);

		sum += v;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ok(sim_rrd_value(m, h, 2, SIM_CF_AVERAGE, (size_t)hc, 1700002800) == (float)(sum / 720) &&
		   sim_rrd_value(m, h, 2, SIM_CF_MIN, (size_t)hc, 1700002800) == lo &&
		   sim_rrd_value(m, h, 2, SIM_CF_MAX, (size_t)hc, 1700002800) == hi,
	   "hour in progress at start: summary of its history part plus the live steps");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* Every row archive a holds or synthesises for ds k of r, from its newest
 * back over the archive's rows, equals the one of r2 (NaN equal NaN). */
static bool same_rows(const struct sim_rrd_model *m, const struct sim_rrd *r,
		      const struct sim_rrd_model *m2, const struct sim_rrd *r2, int a)
{
	int64_t p = (int64_t)sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP;
	int64_t newest = r->last_update / p * p;

	if (r->last_update != r2->last_update || r->nds != r2->nds)
		return false;
	for (size_t k = 0; k < r->nds; k++)
		for (int cf = 0; cf < SIM_NCF; cf++)
			for (int64_t i = -1; i <= sim_rrd_archives[a].rows; i++) {
				float x = sim_rrd_value(m, r, a, cf, k, newest - i * p);
				float y = sim_rrd_value(m2, r2, a, cf, k, newest - i * p);

				if (!(x == y || (isnan(x) && isnan(y))))
					return false;
			}
	return true;
}

/* The 5 s ring grows 4, 8, 12, 20, ... 120 rows; after each step every held
 * row is the workload's value and the rows before the start keep their
 * history; once full it wraps. */
static void test_ring_growth(void)
{
	struct sim_world *w = world(1, 1);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 1);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	int hc = ds_find(h, "loadavg");
	const struct sim_ds *d = &h->ds[hc];
	static const unsigned caps[] = { 4, 8, 12, 20, 32, 48, 72, 108, 120 };
	unsigned seen[16] = { 0 }, nseen = 0;
	bool same = true, hist = true;

	fail_unless(hc >= 0, "loadavg");
	ok(!d->ring[0] && sim_rrd_model_bytes(m) == 0, "no ring before the first live row");
	for (int64_t t = T0 + 5; t <= T0 + 5 * 130; t += 5) {
		sim_rrd_model_advance(m, t);
		if (!nseen || seen[nseen - 1] != d->ring_cap[0])
			seen[nseen++] = d->ring_cap[0];
		for (int k = 0; k < 120; k++) {
			int64_t s = t - 5 * k;
			float v = sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, s);

			/* live rows from the workload; before the start the
			 * synthesised history: the same values */
			if (s > T0)
				same = same && v == wl(d, s);
			else
				hist = hist && v == wl(d, s);
		}
		same = same && isnan(sim_rrd_value(m, h, 0, SIM_CF_AVERAGE, (size_t)hc, t - 600));
	}
	ok(same, "every live row right after every growth step, and none beyond 120");
	ok(hist, "history before the start is read around the growing ring");
	ok(nseen == sizeof(caps) / sizeof(caps[0]), "%u capacities", nseen);
	for (unsigned i = 0; i < nseen && i < sizeof(caps) / sizeof(caps[0]); i++)
		ok(seen[i] == caps[i], "capacity %u: %u rows", i, seen[i]);
	ok(d->ring_rows[0] == 120 && d->ring_cap[0] == 120, "full: 120 rows, wraps from here");
	ok(d->ring_cap[1] == 12 && d->ring_rows[1] == 11, "1 min ring: 11 rows in 12 slots");
	ok(d->ring_cap[2] == 0 && !d->ring[2], "no hour row yet: no ring");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* Cells of every ring of the model, from the capacities. */
static size_t ring_bytes(const struct sim_rrd_model *m)
{
	size_t n = 0;

	for (int c = 0; c < 3; c++) {
		enum sim_class cls = model_classes[c];

		for (size_t i = 0; i < m->nrrds[cls]; i++) {
			const struct sim_rrd *r = &m->rrds[cls][i];

			for (size_t k = 0; k < r->nds; k++)
				for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
					n += (size_t)(a && r->minmax ? 3 : 1) * r->ds[k].ring_cap[a] *
					     sizeof(float);
		}
	}
	return n;
}

/* The hour ring over two days: 4, 8, 12, 20, 32, 48, 72 slots; every row the
 * consolidation of its steps, MIN and MAX too, whatever the capacity. */
static void test_ring_growth_hours(void)
{
	struct sim_world *w = world(1, 0);
	struct sim_rrd_model *m = sim_rrd_model_new(w, 1700006400 - 5, 0); /* start at a day */
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	int hc = ds_find(h, "loadavg");
	const struct sim_ds *d = &h->ds[hc];
	float want[SIM_NCF];
	bool same = true;
	size_t at_day1 = 0;

	fail_unless(hc >= 0, "loadavg");
	for (int hour = 1; hour <= 49; hour++) {
		int64_t end = 1700006400 + 3600 * (int64_t)hour;

		sim_rrd_model_advance(m, end);
		for (int64_t t = 1700006400 + 3600; t <= end; t += 3600) {
			consolidate(d, t - 3600, t, want);
			for (int cf = 0; cf < SIM_NCF; cf++)
				same = same && sim_rrd_value(m, h, 2, cf, (size_t)hc, t) == want[cf];
		}
		if (hour == 24)
			at_day1 = sim_rrd_model_bytes(m);
	}
	ok(same, "every hour row after every growth step: AVERAGE, MIN, MAX");
	ok(d->ring_rows[2] == 50 && d->ring_cap[2] == 72, "50 hour rows in 72 slots");
	ok(d->ring_rows[3] == 3 && d->ring_cap[3] == 4, "3 day rows in 4 slots");
	ok(sim_rrd_model_bytes(m) > at_day1, "the second day added rows: %zu -> %zu bytes", at_day1,
	   sim_rrd_model_bytes(m));
	ok(sim_rrd_model_bytes(m) == ring_bytes(m), "bytes: what the capacities hold");
	ok(sim_rrd_model_slab_bytes(m) >= sim_rrd_model_bytes(m), "in slabs");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* A gap longer than the ring grows it to the archive's rows at once; the
 * rows of the gap are NaN and the ring wraps from there. */
static void test_ring_gap_growth(void)
{
	struct sim_world *w = world(2, 0);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 1);
	int hc = ds_find(h, "loadavg");
	const struct sim_ds *d = &h->ds[hc];

	sim_rrd_model_advance(m, T0 + 30);
	ok(d->ring_cap[0] == 8, "6 rows: 8 slots");
	sim_host_set_live(w, 1, false, NULL);
	sim_rrd_model_advance(m, T0 + 2000);
	sim_host_set_live(w, 1, true, NULL);
	sim_rrd_model_advance(m, T0 + 2010);
	ok(d->ring_cap[0] == 120 && d->ring_rows[0] == 120, "a 33 min gap: the whole ring");
	ok(gap_then_known(m, h, hc, T0 + 2010 - 600, T0 + 2000, T0 + 2010),
	   "NaN over the gap, then known; nothing from before the gap");
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* Advancing in slices of any budget gives the same rows as at once; between
 * slices each RRD is whole, at its old or its new step. */
static void test_advance_slices(void)
{
	struct sim_world *w = world(2, 3), *w2 = world(2, 3);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 1), *m2 = sim_rrd_model_new(w2, T0, 1);
	const struct sim_rrd *h = sim_rrd_model_get(m, SIM_HOST, 0);
	size_t calls = 0, nvm = sim_world_count(w, SIM_VM);
	bool whole = true, same = true;

	ok(sim_rrd_model_advance_some(m, T0, 1), "nothing to do: done");
	while (!sim_rrd_model_advance_some(m, T0 + 400, 1)) {
		calls++;
		for (int c = 0; c < 3; c++) {
			enum sim_class cls = model_classes[c];

			for (size_t i = 0; i < m->nrrds[cls]; i++) {
				const struct sim_rrd *r = sim_rrd_model_get(m, cls, (int)i);

				whole = whole && (!r || r->last_update == T0 + 400 ||
						  r->last_update <= T0);
			}
		}
	}
	ok(calls >= 2 + nvm, "budget 1: one RRD per call (%zu calls)", calls);
	ok(whole, "between slices every RRD is at its old or its new step");
	ok(h->last_update == T0 + 400, "done: the host at the new step");
	/* a budget of one host's steps, over a boundary of every coarse archive */
	while (!sim_rrd_model_advance_some(m, 1700006400 + 10, 2000))
		;
	sim_rrd_model_advance(m2, 1700006400 + 10);
	for (int c = 0; c < 3; c++) {
		enum sim_class cls = model_classes[c];

		for (size_t i = 0; i < m->nrrds[cls]; i++) {
			const struct sim_rrd *r = sim_rrd_model_get(m, cls, (int)i);
			const struct sim_rrd *r2 = sim_rrd_model_get(m2, cls, (int)i);

			if (!r || !r2) {
				same = same && !r && !r2;
				continue;
			}
			for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
				same = same && same_rows(m, r, m2, r2, a);
		}
	}
	ok(same, "sliced and whole advances hold the same rows, every archive, every RRD");
	/* a pass in progress is finished by a sync */
	ok(!sim_rrd_model_advance_some(m, 1700006400 + 100, 1), "a slice of the next pass");
	sim_rrd_model_sync(m);
	ok(!m->pass && sim_rrd_model_get(m, SIM_HOST, 1)->last_update == 1700006400 + 100,
	   "sync finished the pass first");
	sim_rrd_model_free(&m);
	sim_rrd_model_free(&m2);
	sim_world_free(&w);
	sim_world_free(&w2);
}

/* Data-source names are the model's, shared by every RRD. */
static void test_interned_names(void)
{
	struct sim_world *w = world(2, 2);
	struct sim_rrd_model *m = sim_rrd_model_new(w, T0, 0);
	const struct sim_rrd *a = sim_rrd_model_get(m, SIM_HOST, 0);
	const struct sim_rrd *b = sim_rrd_model_get(m, SIM_HOST, 1);
	int ia = ds_find(a, "loadavg"), ib = ds_find(b, "loadavg");

	fail_unless(ia >= 0 && ib >= 0, "loadavg on both hosts");
	ok(a->ds[ia].name == b->ds[ib].name, "one copy of \"loadavg\"");
	ok(model_intern(m, "loadavg") == a->ds[ia].name, "interning finds it");
	ok(m->names_used < 200, "%zu distinct names", m->names_used);
	sim_rrd_model_free(&m);
	sim_world_free(&w);
}

/* The slab pool: blocks of one size share slabs; a slab emptied becomes the
 * spare (one per size), the next one emptied is unmapped, a trim unmaps the
 * spare. */
static void test_ring_pool(void)
{
	struct ring_pool p;
	enum { N = 3000, SIZE = 1464 }; /* 366 float32 cells: 716 a slab */
	void **b = calloc(N, sizeof(*b));
	size_t per = (RING_SLAB_SIZE - RING_SLAB_HDR) / SIZE;
	bool distinct = true;

	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < N; i++) {
		b[i] = ring_alloc(&p, SIZE);
		memset(b[i], 0xA5, SIZE);
	}
	ok(p.mapped == (N + per - 1) / per * RING_SLAB_SIZE, "%zu slabs for %d blocks",
	   p.mapped / RING_SLAB_SIZE, N);
	for (size_t i = 1; i < N; i++)
		distinct = distinct && (char *)b[i] != (char *)b[i - 1];
	ok(distinct, "distinct blocks");
	for (size_t i = 0; i < per; i++)
		ring_release(&p, b[i]);
	ok(p.mapped == (N + per - 1) / per * RING_SLAB_SIZE && p.cls[0].spare,
	   "the first slab emptied is kept as the spare");
	b[0] = ring_alloc(&p, SIZE);
	ok(ring_slab_of(b[0]) == ring_slab_of(b[1]) && !p.cls[0].spare, "and reused");
	ring_release(&p, b[0]);
	for (size_t i = per; i < 2 * per; i++)
		ring_release(&p, b[i]);
	ok(p.mapped == ((N + per - 1) / per - 1) * RING_SLAB_SIZE, "a second empty slab is unmapped");
	ring_pool_trim(&p);
	ok(p.mapped == ((N + per - 1) / per - 2) * RING_SLAB_SIZE, "trim unmaps the spare");
	b[0] = ring_alloc(&p, 16);
	ok(p.nclasses == 2, "another size, another class");
	ring_release(&p, b[0]);
	ring_pool_cleanup(&p);
	ok(p.mapped == 0, "cleanup unmaps every slab");
	free(b);
}

int main(void)
{
	TEST_RUN(test_archives);
	TEST_RUN(test_data_sources);
	TEST_RUN(test_consolidation);
	TEST_RUN(test_xff);
	TEST_RUN(test_gap);
	TEST_RUN(test_long_gap);
	TEST_RUN(test_history);
	TEST_RUN(test_seeded_start);
	TEST_RUN(test_ring_growth);
	TEST_RUN(test_ring_growth_hours);
	TEST_RUN(test_ring_gap_growth);
	TEST_RUN(test_advance_slices);
	TEST_RUN(test_interned_names);
	TEST_RUN(test_ring_pool);
	return test_summary();
}
