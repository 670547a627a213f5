/*
 * tests/unit/query/top.c - top N now (src/query/top.c): two pools, VMs and
 * hosts with known newest samples; checked: order and values per metric
 * (cpu_usage or the mean of cpuN, memory with and without guest tools,
 * network and disk sums over every device the object has: vif 70, xvdaa,
 * nvme0n1, PIFs eth0.100 and xenbr1, an SR the topology does not know; names
 * that only look like devices left out), stale objects left out (each against its
 * own host's clock: one host minutes ahead leaves out no other's), templates not ranked, n
 * bounds and default, the pool filter, bad parameters; several metrics at
 * once (xs_query_top_each): every subset gives each metric the same bytes as
 * asking it alone, each judged fresh against its own newest sample, its
 * errors; then 20,000 VMs
 * x 30 series: top-10 by CPU (and the estate's yield called every
 * XS_ESTATE_YIELD_EVERY VMs, the answer unchanged) and one VM's stats, their
 * times printed for information (this build runs under ASan).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/top.h"
#include "query/xo_stats.h"
#include "test.h"
#include "xapi/rpc_value.h"

#define T1 1700006400
#define PA_UUID "99999999-0000-0000-0000-00000000000a"
#define PB_UUID "99999999-0000-0000-0000-00000000000b"

static char test_dir[64];
static struct xs_rpc_arena *A;

static struct xs_rpc_value *S(const char *s)
{
	return xs_rpc_cstring(A, s);
}

static struct xs_rpc_value *rec(const char *key, ...)
{
	struct xs_rpc_value *st = xs_rpc_struct(A);
	va_list ap;

	va_start(ap, key);
	for (; key != NULL; key = va_arg(ap, const char *))
		xs_rpc_struct_cset(A, st, key, va_arg(ap, struct xs_rpc_value *));
	va_end(ap);
	return st;
}

static void put(struct xs_topo *t, enum xs_topo_class c, const char *ref, struct xs_rpc_value *r)
{
	char err[XS_ERR_LEN];

	if (xs_topo_apply(t, c, ref, r, err) != XS_OK)
		fprintf(stderr, "# apply %s: %s\n", ref, err);
}

static void put_vm(struct xs_topo *t, const char *ref, const char *uuid, const char *name,
		   const char *host, bool template)
{
	put(t, XS_TOPO_VM, ref,
	    rec("uuid", S(uuid), "name_label", S(name), "power_state", S("Running"), "resident_on",
		S(host), "VCPUs_at_startup", S("2"), "is_a_template", xs_rpc_bool(A, template),
		NULL));
}

static struct xs_store *store_open(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN];

	snprintf(test_dir, sizeof(test_dir), "/tmp/xs-top-XXXXXX");
	if (!mkdtemp(test_dir) || xs_store_open(&o, &s, err) != XS_OK)
		abort();
	return s;
}

static void store_done(struct xs_store **s)
{
	char err[XS_ERR_LEN], cmd[128];

	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", test_dir);
}

static void set(struct xs_store *s, enum xs_obj_kind k, const char *uuid, const char *ds,
		int64_t t, float v)
{
	char err[XS_ERR_LEN];
	xs_series_id id;

	if (xs_store_series(s, k, uuid, ds, "", &id, err) != XS_OK ||
	    xs_store_append(s, id, t, v, err) != XS_OK)
		fprintf(stderr, "# %s: %s\n", ds, err);
}

#define VA "aaaaaaaa-0000-0000-0000-00000000000"
#define HA "hhhhhhhh-0000-0000-0000-00000000000"

/* Host h3 (OpaqueRef:h3, uuid HA "3") into t, running with smt=0: 2 CPUs in use
 * (host_CPUs), so of 4 cpuN, cpu1 and cpu3 are parked. */
static void put_host_smt0(struct xs_topo *t)
{
	struct xs_rpc_value *cpus = xs_rpc_array(A);

	xs_rpc_array_push(A, cpus, S("OpaqueRef:c0"));
	xs_rpc_array_push(A, cpus, S("OpaqueRef:c2"));
	put(t, XS_TOPO_HOST, "OpaqueRef:h3",
	    rec("uuid", S(HA "3"), "name_label", S("h3"), "host_CPUs", cpus, NULL));
}

static struct xs_estate_pool PP[2];
static struct xs_estate E;

static char *top(const char *kind, const char *metric, long n, const char *pool,
		 enum xs_err *code, char *err)
{
	struct xs_buf b;

	xs_buf_init(&b, 1 << 20);
	*code = xs_query_top(&E, kind, metric, n, pool, &b, err);
	if (*code) {
		xs_buf_free(&b);
		return NULL;
	}
	return xs_buf_take(&b, NULL);
}

/* The uuids of the items in order, last character only ("1", "2", ...), e.g. "312". */
static void order(const char *j, char *o, size_t cap)
{
	size_t n = 0;

	for (const char *p = j ? strstr(j, "{\"uuid\":\"") : NULL; p && n + 1 < cap;
	     p = strstr(p + 1, "{\"uuid\":\"")) {
		const char *q = strchr(p + 9, '"');

		o[n++] = q[-1];
	}
	o[n] = '\0';
}

static void test_top(void)
{
	struct xs_store *s = store_open();
	struct xs_topo *ta = xs_topo_new(), *tb = xs_topo_new();
	char err[XS_ERR_LEN], o[32];
	enum xs_err code;
	char *j;

	put(ta, XS_TOPO_POOL, "OpaqueRef:pa", rec("uuid", S(PA_UUID), "name_label", S("A"), NULL));
	put(tb, XS_TOPO_POOL, "OpaqueRef:pb", rec("uuid", S(PB_UUID), "name_label", S("B"), NULL));
	put(ta, XS_TOPO_HOST, "OpaqueRef:h1", rec("uuid", S(HA "1"), "name_label", S("h1"), NULL));
	put(ta, XS_TOPO_HOST, "OpaqueRef:h2", rec("uuid", S(HA "2"), "name_label", S("h2"), NULL));
	put_host_smt0(tb); /* h3 */
	put(ta, XS_TOPO_SR, "OpaqueRef:sr", rec("uuid", S("5e3f2a11-0000-0000-0000-000000000000"), NULL));
	put_vm(ta, "OpaqueRef:v1", VA "1", "one \"quoted\"", "OpaqueRef:h1", false);
	put_vm(ta, "OpaqueRef:v2", VA "2", "two", "OpaqueRef:h2", false);
	put_vm(ta, "OpaqueRef:v3", VA "3", "three (stale)", "OpaqueRef:h1", false);
	put_vm(ta, "OpaqueRef:v4", VA "4", "template", "OpaqueRef:NULL", true);
	put_vm(tb, "OpaqueRef:v5", VA "5", "five", "OpaqueRef:h3", false);
	/* cpu: v1 cpu_usage 0.5, v2 mean(cpu0, cpu1) = 0.7, v3 stale 0.9, v4 template, v5 0.1 */
	set(s, XS_OBJ_VM, VA "1", "cpu_usage", T1, 0.5f);
	set(s, XS_OBJ_VM, VA "1", "cpu0", T1, 0.99f);
	set(s, XS_OBJ_VM, VA "2", "cpu0", T1 - 5, 0.6f);
	set(s, XS_OBJ_VM, VA "2", "cpu1", T1 - 5, 0.8f);
	set(s, XS_OBJ_VM, VA "3", "cpu_usage", T1 - 65, 0.9f);
	set(s, XS_OBJ_VM, VA "4", "cpu_usage", T1, 1.0f);
	set(s, XS_OBJ_VM, VA "5", "cpu_usage", T1 - 30, 0.1f);
	/* memory: v1 4 GiB with 1 GiB free (KiB), v2 2 GiB without tools, v5 8 GiB */
	set(s, XS_OBJ_VM, VA "1", "memory", T1, 4294967296.0f);
	set(s, XS_OBJ_VM, VA "1", "memory_internal_free", T1, 1048576.0f);
	set(s, XS_OBJ_VM, VA "2", "memory", T1, 2147483648.0f);
	set(s, XS_OBJ_VM, VA "5", "memory", T1, 8589934592.0f);
	/* network: v1 vif_0 + vif_2 (a gap), v2 NaN rx and 5 tx */
	set(s, XS_OBJ_VM, VA "1", "vif_0_rx", T1, 100);
	set(s, XS_OBJ_VM, VA "1", "vif_0_tx", T1, 50);
	set(s, XS_OBJ_VM, VA "1", "vif_2_rx", T1, 1);
	set(s, XS_OBJ_VM, VA "2", "vif_0_rx", T1, NAN);
	set(s, XS_OBJ_VM, VA "2", "vif_0_tx", T1, 5);
	set(s, XS_OBJ_VM, VA "1", "vif_70_tx", T1, 9);
	set(s, XS_OBJ_VM, VA "1", "vif_70_rx_errors", T1, 1e6f); /* not traffic */
	/* disk: v2 xvda + xvdd, v5 hda */
	set(s, XS_OBJ_VM, VA "2", "vbd_xvda_read", T1, 1000);
	set(s, XS_OBJ_VM, VA "2", "vbd_xvdd_write", T1, 24);
	set(s, XS_OBJ_VM, VA "5", "vbd_hda_read", T1, 7);
	/* v1: xvdaa + nvme0n1; its io_throughput and iops are no disk devices of their own */
	set(s, XS_OBJ_VM, VA "1", "vbd_xvdaa_read", T1, 300);
	set(s, XS_OBJ_VM, VA "1", "vbd_nvme0n1_write", T1, 200);
	set(s, XS_OBJ_VM, VA "1", "vbd_xvdaa_io_throughput_read", T1, 1e6f);
	set(s, XS_OBJ_VM, VA "1", "vbd_xvdaa_iops_write", T1, 1e6f);
	/* hosts: cpu means 0.2, 0.4, 0.3; memory; network aggr vs PIFs; disk per SR */
	set(s, XS_OBJ_HOST, HA "1", "cpu0", T1, 0.2f);
	set(s, XS_OBJ_HOST, HA "1", "cpu_avg", T1, 0.9f); /* not cpuN */
	set(s, XS_OBJ_HOST, HA "2", "cpu0", T1, 0.3f);
	set(s, XS_OBJ_HOST, HA "2", "cpu1", T1, 0.5f);
	set(s, XS_OBJ_HOST, HA "3", "cpu0", T1, 0.3f);
	set(s, XS_OBJ_HOST, HA "3", "cpu1", T1, 1.0f); /* parked: exactly 1 */
	set(s, XS_OBJ_HOST, HA "3", "cpu2", T1, NAN);  /* in use, no number now: counts as a cpuN */
	set(s, XS_OBJ_HOST, HA "3", "cpu3", T1, 1.0f);
	set(s, XS_OBJ_HOST, HA "1", "memory_total_kib", T1, 1000);
	set(s, XS_OBJ_HOST, HA "1", "memory_free_kib", T1, 250);
	set(s, XS_OBJ_HOST, HA "1", "pif_aggr_rx", T1, 10);
	set(s, XS_OBJ_HOST, HA "1", "pif_aggr_tx", T1, 20);
	set(s, XS_OBJ_HOST, HA "1", "pif_eth0_rx", T1, 1e6f);
	set(s, XS_OBJ_HOST, HA "2", "pif_eth0_rx", T1, 100);
	set(s, XS_OBJ_HOST, HA "2", "pif_bond0_tx", T1, 1);
	set(s, XS_OBJ_HOST, HA "2", "pif_eth0.100_rx", T1, 1000);
	set(s, XS_OBJ_HOST, HA "2", "pif_xenbr1_tx", T1, 10000);
	set(s, XS_OBJ_HOST, HA "2", "pif_eth0_rx_errors", T1, 1e6f); /* not traffic */
	set(s, XS_OBJ_HOST, HA "2", "io_throughput_total_5e3f2a11", T1, 0.5f);
	set(s, XS_OBJ_HOST, HA "2", "io_throughput_total_0badc0de", T1, 0.25f); /* SR not in topo */
	set(s, XS_OBJ_HOST, HA "2", "io_throughput_read_0badc0de", T1, 1e6f);
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = ta };
	PP[1] = (struct xs_estate_pool){ .name = "B", .topo = tb };
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 2, .now = T1 + 3 };

	j = top("vm", "cpu", 0, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "215"), "cpu: v2 (mean of cpuN), v1 (cpu_usage), v5; stale and template out: %s",
	   o);
	ok(j && !strncmp(j, "{\"kind\":\"vm\",\"metric\":\"cpu\",\"unit\":\"%\",\"time\":1700006400,"
			    "\"items\":[{\"uuid\":\"" VA "2\",\"name\":\"two\",\"pool\":\"" PA_UUID
			    "\",\"host\":\"" HA "2\",\"value\":70}", 170),
	   "shape: %.220s", j ? j : "");
	ok(j && strstr(j, "\"name\":\"one \\\"quoted\\\"\"") && strstr(j, "\"value\":50}"),
	   "escaped name, cpu_usage x 100");
	free(j);
	j = top("vm", "cpu", 2, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "21"), "n = 2: %s", o);
	free(j);
	j = top("vm", "cpu", 10, PB_UUID, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "5") && strstr(j, "\"value\":10"), "pool filter: %s", o);
	free(j);
	j = top("vm", "memory", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "512") && strstr(j, "\"value\":3221225472") && strstr(j, "\"unit\":\"B\""),
	   "memory: used = memory - free x 1024 with tools: %s", o);
	free(j);
	j = top("vm", "network", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "12") && strstr(j, "\"value\":160}") && strstr(j, "\"value\":5}"),
	   "network: rx + tx over every VIF (0, 2, 70), NaN skipped: %s", j);
	free(j);
	j = top("vm", "disk", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "215") && strstr(j, "\"value\":1024}") && strstr(j, "\"value\":500}") &&
		   strstr(j, "\"value\":7}"),
	   "disk: read + write over every VBD (xvdaa, nvme0n1, hda): %s", j);
	free(j);
	j = top("host", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "231") && strstr(j, "\"value\":40") && strstr(j, "\"value\":30"),
	   "hosts by cpu mean; h3 (smt=0) without its 2 parked CPUs: %s", j);
	free(j);
	j = top("host", "memory", 10, NULL, &code, err);
	ok(j && strstr(j, "\"value\":768000}"), "host memory (total - free) x 1024");
	free(j);
	j = top("host", "network", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "21") && strstr(j, "\"value\":11101}") && strstr(j, "\"value\":30}"),
	   "host network: aggr, else every PIF (eth0, bond0, eth0.100, xenbr1): %s", j);
	free(j);
	j = top("host", "disk", 10, NULL, &code, err);
	ok(j && strstr(j, "\"value\":786432}"),
	   "host disk: every SR prefix the host has, MiB/s x 2^20: %s", j);
	free(j);
	ok(!top("vms", "cpu", 10, NULL, &code, err) && code == XS_ERR_ARG && !strncmp(err, "kind:", 5),
	   "bad kind: %s", err);
	ok(!top("vm", "iops", 10, NULL, &code, err) && code == XS_ERR_ARG &&
		   !strncmp(err, "metric:", 7),
	   "bad metric: %s", err);
	ok(!top("vm", "cpu", 1001, NULL, &code, err) && code == XS_ERR_ARG && !strncmp(err, "n:", 2),
	   "n over 1000: %s", err);
	ok(!top("vm", "cpu", -1, NULL, &code, err) && code == XS_ERR_ARG, "negative n");
	j = top("vm", "cpu", 1000, NULL, &code, err);
	ok(j != NULL, "n = 1000");
	free(j);
	ok(!top("vm", "cpu", 10, "x y", &code, err) && code == XS_ERR_ARG &&
		   !strncmp(err, "pool:", 5),
	   "bad pool: %s", err);
	ok(!top("vm", "cpu", 10, "99999999-0000-0000-0000-0000000000ff", &code, err) &&
		   code == XS_QUERY_NOT_FOUND,
	   "unknown pool: %s", err);
	xs_topo_free(&ta);
	xs_topo_free(&tb);
	store_done(&s);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define BIG_VMS 20000
#define BIG_ROWS 12

/* 20,000 VMs x 30 series, BIG_ROWS rows each: top-10 by CPU and a VM's stats, timed. */
static int yields;

static void count_yield(void *arg)
{
	++*(int *)arg;
}

static void test_scale(void)
{
	static const char *const ds[30] = {
		"cpu0", "cpu1", "cpu_usage", "memory", "memory_target", "memory_internal_free",
		"vif_0_rx", "vif_0_tx", "vif_1_rx", "vif_1_tx", "vbd_xvda_read", "vbd_xvda_write",
		"vbd_xvda_read_latency", "vbd_xvda_write_latency", "vbd_xvda_iops_read",
		"vbd_xvda_iops_write", "vbd_xvda_iops_total", "vbd_xvda_io_throughput_read",
		"vbd_xvda_io_throughput_write", "vbd_xvda_io_throughput_total", "vbd_xvda_iowait",
		"vbd_xvda_inflight", "vbd_xvda_avgqu_sz", "vbd_xvdb_read", "vbd_xvdb_write",
		"vbd_xvdb_iops_read", "vbd_xvdb_iops_write", "vbd_xvdb_iops_total",
		"vbd_xvdb_inflight", "vbd_xvdb_avgqu_sz",
	};
	struct xs_store *s = store_open();
	struct xs_topo *t = xs_topo_new();
	static xs_series_id ids[BIG_VMS][30];
	char uuid[64], ref[64], err[XS_ERR_LEN];
	struct xs_buf b;
	double t0, best_top = 1e9, best_stats = 1e9;
	enum xs_err code = XS_OK;

	put(t, XS_TOPO_POOL, "OpaqueRef:p", rec("uuid", S(PA_UUID), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h", rec("uuid", S(HA "1"), NULL));
	for (int v = 0; v < BIG_VMS; v++) {
		snprintf(uuid, sizeof(uuid), "%08x-0000-0000-0000-%012d", v * 2654435761u, v);
		snprintf(ref, sizeof(ref), "OpaqueRef:v%d", v);
		put_vm(t, ref, uuid, "vm", "OpaqueRef:h", false);
		for (int k = 0; k < 30; k++)
			if (xs_store_series(s, XS_OBJ_VM, uuid, ds[k], "", &ids[v][k], err) != XS_OK)
				abort();
	}
	for (int r = 0; r < BIG_ROWS; r++)
		for (int v = 0; v < BIG_VMS; v++)
			for (int k = 0; k < 30; k++)
				(void)xs_store_append(s, ids[v][k], T1 + 5 * r,
						      (float)((v * 7 + k + r) % 1000) / 1000.0f, err);
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 1, .now = T1 + 60 };
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = t };
	xs_buf_init(&b, 64u << 20);
	for (int i = 0; i < 5 && !code; i++) {
		xs_buf_reset(&b);
		t0 = now_ms();
		code = xs_query_top(&E, "vm", "cpu", 10, NULL, &b, err);
		if (now_ms() - t0 < best_top)
			best_top = now_ms() - t0;
	}
	ok(code == XS_OK && strstr(b.data, "\"value\":99.9"), "top-10 over 20,000 VMs: %s", err);
	{
		struct xs_buf y;

		xs_buf_init(&y, 64u << 20);
		E.yield = count_yield;
		E.yield_arg = &yields;
		code = xs_query_top(&E, "vm", "cpu", 10, NULL, &y, err);
		E.yield = NULL;
		/* each VM is visited twice: for its value, then for its freshness */
		ok(code == XS_OK && yields == 2 * BIG_VMS / XS_ESTATE_YIELD_EVERY && y.len == b.len &&
			   !memcmp(y.data, b.data, b.len),
		   "with a yield: called every %d VMs visited (%d times), the same answer",
		   XS_ESTATE_YIELD_EVERY, yields);
		xs_buf_free(&y);
	}
	for (int i = 0; i < 20 && !code; i++) {
		struct xs_stats_request rq = { .granularity = (enum xs_stats_granularity)(1 + i % 4) };

		snprintf(uuid, sizeof(uuid), "%08x-0000-0000-0000-%012d", (i * 997) * 2654435761u,
			 i * 997);
		xs_buf_reset(&b);
		t0 = now_ms();
		code = xs_query_stats(&E, "vms", uuid, &rq, &b, err);
		if (now_ms() - t0 < best_stats)
			best_stats = now_ms() - t0;
	}
	ok(code == XS_OK, "VM stats at 20,000 VMs: %s", err);
	/* information only: speed is the benchmarks' (docs/BENCHMARKS.md) */
	printf("# 20,000 VMs x 30 series (ASan build): top-10 by cpu %.2f ms, VM stats %.2f ms\n",
	       best_top, best_stats);
	xs_buf_free(&b);
	xs_topo_free(&t);
	store_done(&s);
}

/*
 * Two VMs of 600 network series: vif_K_rx (1 each, counted) and vif_K_rx_errors (5
 * each, not traffic), K < 300: more distinct names than the per-query memo of name
 * matches holds, so its slots collide and fill; the second VM reads the memo. Both
 * sums must be exactly 300.
 */
static void test_name_memo(void)
{
	struct xs_store *s = store_open();
	struct xs_topo *t = xs_topo_new();
	char uuid[64], ref[64], ds[32], err[XS_ERR_LEN];
	struct xs_buf b;
	enum xs_err rc = XS_OK;

	put(t, XS_TOPO_POOL, "OpaqueRef:p", rec("uuid", S(PA_UUID), NULL));
	for (int v = 0; v < 2 && !rc; v++) {
		snprintf(uuid, sizeof(uuid), "0000000%d-0000-0000-0000-000000000000", v);
		snprintf(ref, sizeof(ref), "OpaqueRef:v%d", v);
		put_vm(t, ref, uuid, "vm", "OpaqueRef:h", false);
		for (int k = 0; k < 600 && !rc; k++) {
			xs_series_id id;

			snprintf(ds, sizeof(ds), k % 2 ? "vif_%d_rx_errors" : "vif_%d_rx", k / 2);
			rc = xs_store_series(s, XS_OBJ_VM, uuid, ds, "B/s", &id, err);
			rc = rc ? rc : xs_store_append(s, id, T1, k % 2 ? 5.0f : 1.0f, err);
		}
	}
	fail_unless(rc == XS_OK, "store: %s", err);
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = t };
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 1, .now = T1 + 60 };
	xs_buf_init(&b, 1u << 20);
	rc = xs_query_top(&E, "vm", "network", 10, NULL, &b, err);
	ok(rc == XS_OK && strstr(b.data, "00000000-0000-0000-0000-000000000000\",\"name\":\"vm\","
					 "\"pool\":\"" PA_UUID "\",\"host\":null,\"value\":300}") &&
		   strstr(b.data, "00000001-0000-0000-0000-000000000000\",\"name\":\"vm\","
				  "\"pool\":\"" PA_UUID "\",\"host\":null,\"value\":300}"),
	   "600 names, 300 of them traffic, twice: %s", rc ? err : b.data);
	xs_buf_free(&b);
	E = (struct xs_estate){ 0 };
	xs_topo_free(&t);
	store_done(&s);
}

/* Three pools of 200 VMs: the yield counts VMs over every pool, not per pool. */
static void test_yield_pools(void)
{
	struct xs_store *s = store_open();
	struct xs_estate_pool pools[3];
	struct xs_topo *t[3];
	char uuid[64], ref[64], err[XS_ERR_LEN];
	struct xs_buf b;
	int n = 0;

	for (int p = 0; p < 3; p++) {
		t[p] = xs_topo_new();
		for (int v = 0; v < 200; v++) {
			snprintf(uuid, sizeof(uuid), "%08d-0000-0000-0000-%012d", p, v);
			snprintf(ref, sizeof(ref), "OpaqueRef:v%d", v);
			put_vm(t[p], ref, uuid, "vm", "OpaqueRef:h", false);
		}
		pools[p] = (struct xs_estate_pool){ .name = "P", .topo = t[p] };
	}
	E = (struct xs_estate){ .store = s, .pools = pools, .npools = 3, .now = T1 + 60,
				.yield = count_yield, .yield_arg = &n };
	xs_buf_init(&b, 1u << 20);
	ok(xs_query_top(&E, "vm", "cpu", 10, NULL, &b, err) == XS_OK && n == 600 / XS_ESTATE_YIELD_EVERY,
	   "600 VMs in pools of 200: %d yields", n);
	xs_buf_free(&b);
	E = (struct xs_estate){ 0 };
	for (int p = 0; p < 3; p++)
		xs_topo_free(&t[p]);
	store_done(&s);
}

/*
 * Hosts' clocks differ: h2 runs 300 s ahead of h1, h3 stopped answering 10 minutes
 * ago (the collector's status). Each object is "now" against its own host's clock:
 * h1's VMs are not left out because of h2's, h3 and its VM are, and so is a halted VM
 * (on no host) whose last sample is old by the newest of all, and a VM on h1 whose last
 * sample is an hour past h1's clock (it came from a host that far ahead).
 */
static void test_clock_skew(void)
{
	struct xs_store *s = store_open();
	struct xs_topo *t = xs_topo_new();
	struct xs_collect_host_status st[3] = { 0 };
	double now = T1 + 3;
	char err[XS_ERR_LEN], o[32];
	enum xs_err code;
	char *j;

	put(t, XS_TOPO_POOL, "OpaqueRef:pa", rec("uuid", S(PA_UUID), "name_label", S("A"), NULL));
	for (int i = 1; i <= 3; i++) {
		char ref[32], uuid[64], name[16];

		snprintf(ref, sizeof(ref), "OpaqueRef:h%d", i);
		snprintf(uuid, sizeof(uuid), HA "%d", i);
		snprintf(name, sizeof(name), "h%d", i);
		put(t, XS_TOPO_HOST, ref, rec("uuid", S(uuid), "name_label", S(name), NULL));
		snprintf(st[i - 1].uuid, sizeof(st[i - 1].uuid), "%s", uuid);
		st[i - 1].last_success = now - 2;
		st[i - 1].newest = T1;
	}
	st[1].newest = T1 + 300;         /* h2: 5 minutes ahead */
	st[2].last_success = now - 600; /* h3: no fetch for 10 minutes */
	put_vm(t, "OpaqueRef:v1", VA "1", "one", "OpaqueRef:h1", false);
	put_vm(t, "OpaqueRef:v2", VA "2", "two", "OpaqueRef:h2", false);
	put_vm(t, "OpaqueRef:v3", VA "3", "three", "OpaqueRef:h1", false);
	put_vm(t, "OpaqueRef:v4", VA "4", "four", "OpaqueRef:h3", false);
	put_vm(t, "OpaqueRef:v5", VA "5", "five", "OpaqueRef:NULL", false);
	put_vm(t, "OpaqueRef:v6", VA "6", "six", "OpaqueRef:h1", false);
	set(s, XS_OBJ_VM, VA "1", "cpu_usage", T1, 0.5f);
	set(s, XS_OBJ_VM, VA "2", "cpu_usage", T1 + 300, 0.7f);
	set(s, XS_OBJ_VM, VA "3", "cpu_usage", T1 - 65, 0.9f); /* stale on h1's clock */
	set(s, XS_OBJ_VM, VA "4", "cpu_usage", T1, 0.8f);      /* its host stopped */
	set(s, XS_OBJ_VM, VA "5", "cpu_usage", T1, 0.6f);      /* halted, on no host */
	set(s, XS_OBJ_VM, VA "6", "cpu_usage", T1 + 3600, 0.95f); /* came from a host 1 h ahead */
	set(s, XS_OBJ_HOST, HA "1", "cpu0", T1, 0.2f);
	set(s, XS_OBJ_HOST, HA "2", "cpu0", T1 + 300, 0.3f);
	set(s, XS_OBJ_HOST, HA "3", "cpu0", T1, 0.9f);
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = t };
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 1, .status = st, .nstatus = 3,
				.now = now };
	j = top("vm", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "21"),
	   "VMs of h1 and of h2 (300 s ahead); stale, stopped host, halted, an hour ahead of its "
	   "host's clock out: %s", o);
	free(j);
	j = top("host", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "21"), "hosts h2 and h1; h3 (stopped answering) out: %s", o);
	free(j);
	/* without the collector's status: the newest sample of all decides, as before */
	E.nstatus = 0;
	j = top("vm", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "6"), "no status: against the newest of all: %s", o);
	free(j);
	xs_topo_free(&t);
	store_done(&s);
}

/*
 * Hosts whose fetches succeed (last success 1 s ago) while their rows lag: h1's
 * clock, measured, is ours and its newest row 120 s old (a hung xcp-rrdd behind a
 * working xapi); h2's clock is not measured and its rows come 70 s behind (back after
 * an outage); h3 is current. Only h3 and its VM are "now"; before, a host's clock was
 * its newest row plus our time since its last success alone, so h1 and h2 stayed in.
 */
static void test_rows_lag(void)
{
	struct xs_store *s = store_open();
	struct xs_topo *t = xs_topo_new();
	struct xs_collect_host_status st[3] = { 0 };
	double now = T1 + 3;
	char err[XS_ERR_LEN], o[32];
	enum xs_err code;
	char *j;

	put(t, XS_TOPO_POOL, "OpaqueRef:pa", rec("uuid", S(PA_UUID), "name_label", S("A"), NULL));
	for (int i = 1; i <= 3; i++) {
		char ref[32], uuid[64], vref[32], vuuid[64], name[16];

		snprintf(ref, sizeof(ref), "OpaqueRef:h%d", i);
		snprintf(uuid, sizeof(uuid), HA "%d", i);
		snprintf(name, sizeof(name), "h%d", i);
		put(t, XS_TOPO_HOST, ref, rec("uuid", S(uuid), "name_label", S(name), NULL));
		snprintf(vref, sizeof(vref), "OpaqueRef:v%d", i);
		snprintf(vuuid, sizeof(vuuid), VA "%d", i);
		put_vm(t, vref, vuuid, name, ref, false);
		snprintf(st[i - 1].uuid, sizeof(st[i - 1].uuid), "%s", uuid);
		st[i - 1].last_success = now - 1;
		st[i - 1].clock_offset = NAN;
	}
	st[0].newest = T1 - 120;
	st[0].clock_offset = 0;
	st[1].newest = T1 - 70;
	st[1].lag = 70;
	st[2].newest = T1;
	set(s, XS_OBJ_VM, VA "1", "cpu_usage", T1 - 120, 0.9f);
	set(s, XS_OBJ_VM, VA "2", "cpu_usage", T1 - 70, 0.8f);
	set(s, XS_OBJ_VM, VA "3", "cpu_usage", T1, 0.1f);
	set(s, XS_OBJ_HOST, HA "1", "cpu0", T1 - 120, 0.9f);
	set(s, XS_OBJ_HOST, HA "2", "cpu0", T1 - 70, 0.8f);
	set(s, XS_OBJ_HOST, HA "3", "cpu0", T1, 0.1f);
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = t };
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 1, .status = st, .nstatus = 3,
				.now = now };
	j = top("vm", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "3"), "VMs: of h1 (rows stopped) and h2 (rows 70 s behind) out: %s", o);
	free(j);
	j = top("host", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "3"), "hosts: h1 and h2 out: %s", o);
	free(j);
	st[0].clock_offset = -125; /* h1's clock 125 s behind ours: its row is current */
	st[1].lag = 5;
	j = top("vm", "cpu", 10, NULL, &code, err);
	order(j, o, sizeof(o));
	ok(!strcmp(o, "123"), "all in when h1's clock is that far behind and h2's rows current: %s",
	   o);
	free(j);
	xs_topo_free(&t);
	store_done(&s);
}

/*
 * xs_query_top_each for the metrics of mask (bit m: xs_top_metric_name(m)) against
 * xs_query_top of each alone: true when every answer has the same bytes. got[m]
 * (may be NULL) receives each answer of each's, owned by the caller.
 */
static bool each_same(const char *kind, long n, const char *pool, unsigned mask,
		      char *got[XS_TOP_METRICS])
{
	struct xs_buf bufs[XS_TOP_METRICS], *outs[XS_TOP_METRICS] = { NULL };
	char err[XS_ERR_LEN] = "";
	bool same;

	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		if (!(mask & (1u << m)))
			continue;
		xs_buf_init(&bufs[m], 1 << 20);
		outs[m] = &bufs[m];
	}
	same = xs_query_top_each(&E, kind, n, pool, outs, err) == XS_OK;
	if (!same)
		fprintf(stderr, "# each %s %x: %s\n", kind, mask, err);
	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		enum xs_err code;
		char *alone, *each;

		if (!outs[m])
			continue;
		alone = top(kind, xs_top_metric_name(m), n, pool, &code, err);
		each = xs_buf_take(outs[m], NULL);
		if (!alone || !each || strcmp(alone, each)) {
			fprintf(stderr, "# %s %s in %x:\n#  alone %s\n#  each  %s\n", kind,
				xs_top_metric_name(m), mask, alone ? alone : "(none)", each ? each : "");
			same = false;
		}
		free(alone);
		if (got)
			got[m] = each;
		else
			free(each);
	}
	return same;
}

/*
 * Several metrics at once: hosts h1 (collected, clock T1) and h2 (no status), VMs
 * v1 on h1, v2 on h2 and v3 halted, each metric with its own newest sample. The
 * objects without a host clock are judged against their metric's newest sample of
 * all: cpu's is an hour ahead (v2's), memory's is T1, so v2 and v3 stay in memory's
 * ranking while v3 is stale in cpu's; v1's disk is stale while its other metrics
 * are not. Host h3 runs with smt=0 (2 CPUs in use of 4 cpuN, cpu1 and cpu3 parked).
 */
static void test_each(void)
{
	struct xs_store *s = store_open();
	struct xs_topo *t = xs_topo_new();
	struct xs_collect_host_status st[1] = { 0 };
	struct xs_buf none[XS_TOP_METRICS], *outs[XS_TOP_METRICS];
	char err[XS_ERR_LEN], o[32], *got[XS_TOP_METRICS] = { NULL };
	const char *const kinds[] = { "vm", "host" };
	bool all_same = true;

	put(t, XS_TOPO_POOL, "OpaqueRef:pa", rec("uuid", S(PA_UUID), "name_label", S("A"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h1", rec("uuid", S(HA "1"), "name_label", S("h1"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h2", rec("uuid", S(HA "2"), "name_label", S("h2"), NULL));
	put_host_smt0(t); /* h3 */
	snprintf(st[0].uuid, sizeof(st[0].uuid), "%s", HA "1");
	st[0].last_success = T1 + 1;
	st[0].newest = T1;
	put_vm(t, "OpaqueRef:v1", VA "1", "one", "OpaqueRef:h1", false);
	put_vm(t, "OpaqueRef:v2", VA "2", "two", "OpaqueRef:h2", false);
	put_vm(t, "OpaqueRef:v3", VA "3", "three", "OpaqueRef:NULL", false);
	set(s, XS_OBJ_VM, VA "1", "cpu_usage", T1, 0.5f);
	set(s, XS_OBJ_VM, VA "1", "memory", T1, 4294967296.0f);
	set(s, XS_OBJ_VM, VA "1", "vif_0_rx", T1, 10);
	set(s, XS_OBJ_VM, VA "1", "vbd_xvda_read", T1 - 120, 1e6f); /* stale on h1's clock */
	set(s, XS_OBJ_VM, VA "2", "cpu_usage", T1 + 3600, 0.9f);
	set(s, XS_OBJ_VM, VA "2", "memory", T1, 2147483648.0f);
	set(s, XS_OBJ_VM, VA "2", "vif_0_tx", T1, 5);
	set(s, XS_OBJ_VM, VA "2", "vbd_xvda_write", T1, 100);
	set(s, XS_OBJ_VM, VA "3", "cpu0", T1, 0.3f); /* a mean of cpuN: walked */
	set(s, XS_OBJ_VM, VA "3", "cpu1", T1, 0.1f);
	set(s, XS_OBJ_VM, VA "3", "memory", T1, 1073741824.0f);
	set(s, XS_OBJ_VM, VA "3", "vbd_xvdb_read", T1, 7);
	set(s, XS_OBJ_HOST, HA "1", "cpu0", T1, 0.2f);
	set(s, XS_OBJ_HOST, HA "1", "memory_total_kib", T1, 1000);
	set(s, XS_OBJ_HOST, HA "1", "memory_free_kib", T1, 250);
	set(s, XS_OBJ_HOST, HA "1", "pif_eth0_rx", T1, 100);
	set(s, XS_OBJ_HOST, HA "1", "io_throughput_total_5e3f2a11", T1, 0.5f);
	set(s, XS_OBJ_HOST, HA "2", "cpu0", T1, 0.4f);
	set(s, XS_OBJ_HOST, HA "2", "cpu1", T1, 0.6f);
	set(s, XS_OBJ_HOST, HA "2", "pif_aggr_rx", T1, 30);
	set(s, XS_OBJ_HOST, HA "2", "pif_eth1_tx", T1, 1e6f); /* aggr given: PIFs not walked */
	set(s, XS_OBJ_HOST, HA "2", "io_throughput_total_0badc0de", T1 - 600, 0.25f); /* stale */
	set(s, XS_OBJ_HOST, HA "3", "cpu0", T1, 0.75f);
	set(s, XS_OBJ_HOST, HA "3", "cpu1", T1, 1.0f); /* parked: exactly 1 */
	set(s, XS_OBJ_HOST, HA "3", "cpu2", T1, 0.5f);
	set(s, XS_OBJ_HOST, HA "3", "cpu3", T1, 1.0f);
	set(s, XS_OBJ_HOST, HA "3", "memory_total_kib", T1, 4000);
	set(s, XS_OBJ_HOST, HA "3", "memory_free_kib", T1, 1000);
	PP[0] = (struct xs_estate_pool){ .name = "A", .topo = t };
	E = (struct xs_estate){ .store = s, .pools = PP, .npools = 1, .status = st, .nstatus = 1,
				.now = T1 + 3 };

	for (size_t k = 0; k < 2; k++)
		for (unsigned mask = 1; mask < (1u << XS_TOP_METRICS); mask++)
			all_same &= each_same(kinds[k], 10, NULL, mask, NULL) &&
				    each_same(kinds[k], 1, PA_UUID, mask, NULL);
	ok(all_same, "every subset of metrics, VMs and hosts, every pool and one, n 10 and 1: "
		     "each answer the same bytes as asked alone");

	ok(each_same("vm", 10, NULL, 0xf, got), "the four VM metrics at once");
	order(got[0], o, sizeof(o));
	ok(!strcmp(o, "21") && strstr(got[0], "\"time\":1700010000,"),
	   "cpu: v2 (an hour ahead, no host clock) and v1; v3 behind cpu's newest of all: %s", o);
	order(got[1], o, sizeof(o));
	ok(!strcmp(o, "123") && strstr(got[1], "\"time\":1700006400,"),
	   "memory: v3 judged against memory's own newest sample, not cpu's: %s", o);
	order(got[2], o, sizeof(o));
	ok(!strcmp(o, "12"), "network: %s", o);
	order(got[3], o, sizeof(o));
	ok(!strcmp(o, "23"), "disk: v1's stale disk out, its other metrics in: %s", o);
	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		free(got[m]);
		got[m] = NULL;
	}
	ok(each_same("host", 10, NULL, 0xf, got), "the four host metrics at once");
	order(got[0], o, sizeof(o));
	ok(!strcmp(o, "321") && strstr(got[0], "\"value\":62.5}"),
	   "host cpu: h3 the mean of its 2 CPUs in use, not of its 4 cpuN: %s", got[0]);
	order(got[2], o, sizeof(o));
	ok(!strcmp(o, "12") && strstr(got[2], "\"value\":100}") && strstr(got[2], "\"value\":30}"),
	   "host network: h1 by its PIFs, h2 by its aggr alone: %s", got[2]);
	order(got[3], o, sizeof(o));
	ok(!strcmp(o, "1"), "host disk: h2's stale SR out: %s", o);
	for (size_t m = 0; m < XS_TOP_METRICS; m++)
		free(got[m]);

	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		xs_buf_init(&none[m], 64);
		outs[m] = &none[m];
	}
	ok(xs_query_top_each(&E, "vms", 10, NULL, outs, err) == XS_ERR_ARG &&
		   !strncmp(err, "kind:", 5),
	   "each, bad kind: %s", err);
	ok(xs_query_top_each(&E, "vm", 1001, NULL, outs, err) == XS_ERR_ARG && !strncmp(err, "n:", 2),
	   "each, n over 1000: %s", err);
	ok(xs_query_top_each(&E, "vm", 10, PB_UUID, outs, err) == XS_QUERY_NOT_FOUND &&
		   !strncmp(err, "pool:", 5),
	   "each, unknown pool: %s", err);
	ok(xs_query_top_each(&E, "vm", 10, NULL, outs, err) == XS_ERR_TOO_LARGE &&
		   !strncmp(err, "reply:", 6),
	   "each, an answer past its buffer's cap: %s", err);
	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		xs_buf_free(&none[m]);
		outs[m] = NULL;
	}
	ok(xs_query_top_each(&E, "vm", 10, NULL, outs, err) == XS_OK, "each, no metric: nothing to do");
	ok(!strcmp(xs_top_metric_name(2), "network") && !xs_top_metric_name(XS_TOP_METRICS) &&
		   xs_top_metric_index("disk") == 3 && xs_top_metric_index("iops") == -1 &&
		   xs_top_metric_index(NULL) == -1,
	   "metric names and indexes");
	xs_topo_free(&t);
	store_done(&s);
}

int main(void)
{
	A = xs_rpc_arena_new();
	TEST_RUN(test_top);
	TEST_RUN(test_scale);
	TEST_RUN(test_yield_pools);
	TEST_RUN(test_name_memo);
	TEST_RUN(test_clock_skew);
	TEST_RUN(test_rows_lag);
	TEST_RUN(test_each);
	xs_rpc_arena_free(&A);
	return test_summary();
}
