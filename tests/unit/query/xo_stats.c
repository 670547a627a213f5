/*
 * tests/unit/query/xo_stats.c - XO-shaped stats (src/query/xo_stats.c and
 * series_map.c): a temp store with known values for two VMs (one running, one
 * halted), a deleted VM, two hosts and an SR on both, under a hand-built
 * topology; checked: keys, unit conversions, point counts and null padding,
 * NaN -> null, endTimestamp, granularity vs range tier choice, min/max bands,
 * every other key of XO-STATS.md's tables (runstate*, memoryTarget, vbdInflight,
 * a host's hostload, latency.total, ...), a known host with nothing stored,
 * halted and deleted history, SR sums with one host missing, an SR without
 * series keeping its fixed keys (nulls, iowait {}), the pool's
 * per-host map with a failing host, a stopped host on the pool's window and
 * live ones on their own, bad parameters and unknown objects;
 * devices found from the object's own series whatever their names (xvdaa,
 * nvme0n1, vif 70, PIFs eth0.100 and xenbr1, an SR the topology does not
 * know) in natural order; the name parser and device order as tables;
 * and the number formatter's float32 round trip.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "query/series_map.h"
#include "query/xo_stats.h"
#include "support/tmp_dir.h"
#include "test.h"
#include "xapi/rpc_value.h"

#define T0 1700006400 /* a UTC midnight */
#define TEND (T0 + 7200) /* samples cover (T0, TEND] */
#define POOL_UUID "99999999-0000-0000-0000-000000000000"
#define H1_UUID "aaaaaaaa-0000-0000-0000-000000000001"
#define H2_UUID "aaaaaaaa-0000-0000-0000-000000000002"
#define H3_UUID "aaaaaaaa-0000-0000-0000-000000000003"
#define H4_UUID "aaaaaaaa-0000-0000-0000-000000000004" /* its samples end 30 s before TEND */
#define H5_UUID "aaaaaaaa-0000-0000-0000-000000000005" /* 35 s before */
#define H6_UUID "aaaaaaaa-0000-0000-0000-000000000006" /* smt=0: 2 CPUs, cpu1 and cpu3 parked */
#define H7_UUID "aaaaaaaa-0000-0000-0000-000000000007" /* 2 CPUs, 4 cpuN, 3 of them at 1 */
#define H8_UUID "aaaaaaaa-0000-0000-0000-000000000008" /* live, its clock 60 s behind */
#define VM1_UUID "11111111-0000-0000-0000-000000000001"
#define VM2_UUID "11111111-0000-0000-0000-000000000002"
#define VM3_UUID "11111111-0000-0000-0000-000000000003" /* deleted: store only */
#define VM4_UUID "11111111-0000-0000-0000-000000000004" /* store only: the keys VM1 lacks */
#define H9_UUID "aaaaaaaa-0000-0000-0000-000000000009" /* store only: the keys host 1 lacks */
#define SR_UUID "5e3f2a11-1111-2222-3333-444455556666"
#define SR8 "5e3f2a11"
#define SR2_UUID "7a7a7a7a-1111-2222-3333-444455556666" /* on host 1, no series of it */

static char test_dir[TMP_DIR_LEN];
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

static struct xs_rpc_value *cpus(int n)
{
	struct xs_rpc_value *arr = xs_rpc_array(A);

	for (int i = 0; i < n; i++)
		xs_rpc_array_push(A, arr, S("OpaqueRef:cpu"));
	return arr;
}

static void put(struct xs_topo *t, enum xs_topo_class c, const char *ref, struct xs_rpc_value *r)
{
	char err[XS_ERR_LEN];

	ok(xs_topo_apply(t, c, ref, r, err) == XS_OK, "apply %s: %s", ref, err);
}

static struct xs_topo *topo_build(void)
{
	struct xs_topo *t = xs_topo_new();

	put(t, XS_TOPO_POOL, "OpaqueRef:pool",
	    rec("uuid", S(POOL_UUID), "name_label", S("lab"), "master", S("OpaqueRef:h1"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h1",
	    rec("uuid", S(H1_UUID), "name_label", S("h1"), "host_CPUs", cpus(2), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h2",
	    rec("uuid", S(H2_UUID), "name_label", S("h2"), "host_CPUs", cpus(2), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h3",
	    rec("uuid", S(H3_UUID), "name_label", S("h3 (never collected)"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h4", rec("uuid", S(H4_UUID), "name_label", S("h4"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h5", rec("uuid", S(H5_UUID), "name_label", S("h5"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h6",
	    rec("uuid", S(H6_UUID), "name_label", S("h6"), "host_CPUs", cpus(2), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h8", rec("uuid", S(H8_UUID), "name_label", S("h8"), NULL));
	put(t, XS_TOPO_HOST, "OpaqueRef:h7",
	    rec("uuid", S(H7_UUID), "name_label", S("h7"), "host_CPUs", cpus(2), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:vm1",
	    rec("uuid", S(VM1_UUID), "name_label", S("web"), "power_state", S("Running"),
		"resident_on", S("OpaqueRef:h1"), "VCPUs_at_startup", S("2"), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:vm2",
	    rec("uuid", S(VM2_UUID), "name_label", S("old"), "power_state", S("Halted"), NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr",
	    rec("uuid", S(SR_UUID), "name_label", S("nfs"), "type", S("nfs"), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd1",
	    rec("uuid", S("pbd1"), "host", S("OpaqueRef:h1"), "SR", S("OpaqueRef:sr"), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd2",
	    rec("uuid", S("pbd2"), "host", S("OpaqueRef:h2"), "SR", S("OpaqueRef:sr"), NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr2",
	    rec("uuid", S(SR2_UUID), "name_label", S("local"), "type", S("ext"), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd3",
	    rec("uuid", S("pbd3"), "host", S("OpaqueRef:h1"), "SR", S("OpaqueRef:sr2"), NULL));
	return t;
}

/* A series and the value it holds at t (NAN: none, -1: not appended). */
struct fx_series {
	enum xs_obj_kind kind;
	const char *uuid, *ds;
	float (*value)(int64_t t);
	xs_series_id id;
};

static float v_quarter(int64_t t) { (void)t; return 0.25f; }
static float v_alt(int64_t t) { return (t / 5) % 2 ? 0.4f : 0.2f; }
static float v_half_nan_last(int64_t t) { return t == TEND ? NAN : 0.5f; }
static float v_gib(int64_t t) { (void)t; return 1073741824.0f; }
static float v_512mib_kib(int64_t t) { (void)t; return 524288.0f; }
static float v_1000(int64_t t) { (void)t; return 1000.0f; }
static float v_2048(int64_t t) { (void)t; return 2048.0f; }
static float v_1_5(int64_t t) { (void)t; return 1.5f; }
static float v_1500(int64_t t) { (void)t; return 1500.0f; }
static float v_0_02(int64_t t) { (void)t; return 0.02f; }
static float v_first_30min(int64_t t) { return t <= T0 + 1800 ? 0.75f : -1.0f; }
static float v_10(int64_t t) { (void)t; return 10.0f; }
static float v_0_1(int64_t t) { (void)t; return 0.1f; }
static float v_0_3(int64_t t) { (void)t; return 0.3f; }
static float v_1gib_kib(int64_t t) { (void)t; return 1048576.0f; }
static float v_2(int64_t t) { (void)t; return 2.0f; }
static float v_1(int64_t t) { (void)t; return 1.0f; }
static float v_3000(int64_t t) { (void)t; return 3000.0f; }
/* host 2: present the first hour only, NaN for one minute of it */
static float v_h2_iops(int64_t t)
{
	if (t > T0 + 3600)
		return -1.0f;
	return t > T0 + 600 && t <= T0 + 660 ? NAN : 4.0f;
}
static float v_h2_lat(int64_t t) { return t <= T0 + 3600 ? 1000.0f : -1.0f; }
static float v_h4(int64_t t) { return t <= TEND - 30 ? 0.5f : -1.0f; }
static float v_h5(int64_t t) { return t <= TEND - 35 ? 0.5f : -1.0f; }
static float v_h8(int64_t t) { return t <= TEND - 60 ? 0.5f : -1.0f; }

static struct fx_series fx[] = {
	{ XS_OBJ_VM, VM1_UUID, "cpu0", v_quarter, 0 },
	{ XS_OBJ_VM, VM1_UUID, "cpu1", v_alt, 0 },
	{ XS_OBJ_VM, VM1_UUID, "cpu_usage", v_half_nan_last, 0 },
	{ XS_OBJ_VM, VM1_UUID, "memory", v_gib, 0 },
	{ XS_OBJ_VM, VM1_UUID, "memory_internal_free", v_512mib_kib, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vif_0_rx", v_1000, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vif_0_tx", v_2048, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvda_read", v_1000, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvda_io_throughput_read", v_1_5, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvda_iowait", v_0_02, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvdaa_write", v_2048, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_hda_read", v_10, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_hda_read_latency", v_1500, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_nvme0n1_read", v_2, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvdb_write", v_10, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vbd_xvda_iops_read", v_3000, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vif_70_rx", v_1_5, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vif_70_rx_errors", v_2, 0 },
	{ XS_OBJ_VM, VM1_UUID, "vif_x_rx", v_2, 0 },      /* not a VIF number: no key */
	{ XS_OBJ_VM, VM1_UUID, "cpu_other", v_2, 0 },     /* not cpuN */
	{ XS_OBJ_VM, VM2_UUID, "cpu0", v_first_30min, 0 },
	{ XS_OBJ_VM, VM2_UUID, "memory", v_first_30min, 0 },
	{ XS_OBJ_VM, VM3_UUID, "cpu0", v_first_30min, 0 },
	{ XS_OBJ_HOST, H1_UUID, "cpu0", v_0_1, 0 },
	{ XS_OBJ_HOST, H1_UUID, "cpu1", v_0_3, 0 },
	{ XS_OBJ_HOST, H1_UUID, "loadavg", v_1_5, 0 },
	{ XS_OBJ_HOST, H1_UUID, "memory_total_kib", v_1gib_kib, 0 },
	{ XS_OBJ_HOST, H1_UUID, "memory_free_kib", v_512mib_kib, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_eth0_rx", v_1000, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_bond0_tx", v_2048, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_aggr_rx", v_1000, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_eth0.100_rx", v_10, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_eth10_rx", v_2, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_eth2_rx", v_1_5, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_xenbr1_tx", v_3000, 0 },
	{ XS_OBJ_HOST, H1_UUID, "pif_eth0_rx_errors", v_2, 0 }, /* no such key */
	{ XS_OBJ_HOST, H1_UUID, "iops_read_0badc0de", v_2, 0 }, /* an SR no topology knows */
	{ XS_OBJ_HOST, H1_UUID, "iops_read_xyz", v_2, 0 },      /* not an SR prefix */
	{ XS_OBJ_HOST, H1_UUID, "iops_read_" SR8, v_10, 0 },
	{ XS_OBJ_HOST, H1_UUID, "io_throughput_write_" SR8, v_2, 0 },
	{ XS_OBJ_HOST, H1_UUID, "iops_total_" SR8, v_10, 0 }, /* a host's, not an SR's key */
	{ XS_OBJ_HOST, H1_UUID, "read_latency_" SR8, v_3000, 0 },
	{ XS_OBJ_HOST, H1_UUID, "iowait_" SR8, v_0_1, 0 },
	{ XS_OBJ_HOST, H2_UUID, "cpu0", v_h2_lat, 0 },
	{ XS_OBJ_HOST, H2_UUID, "iops_read_" SR8, v_h2_iops, 0 },
	{ XS_OBJ_HOST, H2_UUID, "read_latency_" SR8, v_h2_lat, 0 },
	{ XS_OBJ_HOST, H2_UUID, "iowait_" SR8, v_h2_lat, 0 },
	{ XS_OBJ_HOST, H4_UUID, "cpu0", v_h4, 0 },
	{ XS_OBJ_HOST, H5_UUID, "cpu0", v_h5, 0 },
	{ XS_OBJ_HOST, H8_UUID, "cpu0", v_h8, 0 },
	{ XS_OBJ_HOST, H6_UUID, "cpu0", v_0_1, 0 },
	{ XS_OBJ_HOST, H6_UUID, "cpu1", v_1, 0 },
	{ XS_OBJ_HOST, H6_UUID, "cpu2", v_0_3, 0 },
	{ XS_OBJ_HOST, H6_UUID, "cpu3", v_1, 0 },
	{ XS_OBJ_HOST, H7_UUID, "cpu0", v_1, 0 },
	{ XS_OBJ_HOST, H7_UUID, "cpu1", v_1, 0 },
	{ XS_OBJ_HOST, H7_UUID, "cpu2", v_1, 0 },
	{ XS_OBJ_HOST, H7_UUID, "cpu3", v_0_3, 0 },
	/* every XO-STATS.md key the objects above do not have */
	{ XS_OBJ_VM, VM4_UUID, "runstate_fullrun", v_quarter, 0 },
	{ XS_OBJ_VM, VM4_UUID, "runstate_full_contention", v_0_02, 0 },
	{ XS_OBJ_VM, VM4_UUID, "runstate_concurrency_hazard", v_0_1, 0 },
	{ XS_OBJ_VM, VM4_UUID, "runstate_blocked", v_half_nan_last, 0 },
	{ XS_OBJ_VM, VM4_UUID, "runstate_partial_run", v_1, 0 },
	{ XS_OBJ_VM, VM4_UUID, "runstate_partial_contention", v_2, 0 },
	{ XS_OBJ_VM, VM4_UUID, "memory_target", v_gib, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vif_1_tx_errors", v_2, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_iops_write", v_10, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_iops_total", v_3000, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_write_latency", v_1500, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_io_throughput_write", v_1_5, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_io_throughput_total", v_2, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_inflight", v_2, 0 },
	{ XS_OBJ_VM, VM4_UUID, "vbd_xvdb_avgqu_sz", v_1_5, 0 },
	{ XS_OBJ_HOST, H9_UUID, "hostload", v_1_5, 0 },
	{ XS_OBJ_HOST, H9_UUID, "running_vcpus", v_10, 0 },
	{ XS_OBJ_HOST, H9_UUID, "pif_aggr_tx", v_2048, 0 },
	{ XS_OBJ_HOST, H9_UUID, "iops_write_" SR8, v_10, 0 },
	{ XS_OBJ_HOST, H9_UUID, "io_throughput_read_" SR8, v_1_5, 0 },
	{ XS_OBJ_HOST, H9_UUID, "io_throughput_total_" SR8, v_2, 0 },
	{ XS_OBJ_HOST, H9_UUID, "write_latency_" SR8, v_3000, 0 },
	{ XS_OBJ_HOST, H9_UUID, "latency_" SR8, v_1500, 0 },
};
#define NFX (sizeof(fx) / sizeof(fx[0]))

static struct xs_store *store_fill(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "query");
	if (xs_store_open(&o, &s, err) != XS_OK) {
		fprintf(stderr, "open: %s\n", err);
		abort();
	}
	for (size_t i = 0; i < NFX; i++)
		ok(xs_store_series(s, fx[i].kind, fx[i].uuid, fx[i].ds, "", &fx[i].id, err) == XS_OK,
		   "series %s", err);
	for (int64_t t = T0 + 5; t <= TEND; t += 5) /* rows cover (t - 5, t]: periods from T0 */
		for (size_t i = 0; i < NFX; i++) {
			float v = fx[i].value(t);

			if (v != -1.0f && xs_store_append(s, fx[i].id, t, v, err) != XS_OK)
				fprintf(stderr, "append: %s\n", err);
		}
	return s;
}

static struct xs_store *S_store;
static struct xs_topo *S_topo;
static struct xs_estate_pool S_pool;
static struct xs_estate S_e;
/* The collector's view (our clock: S_e.now = TEND + 2; newest in each host's clock): h2
 * stopped answering an hour ago; h4 backfilling for a minute (its 5 s fetch waits: not
 * stopped); h5 answering but its rows 37 s behind what it should have made (stopped); h8
 * live with its clock 60 s behind ours; the others have no status (their own windows). */
static const struct xs_collect_host_status S_status[] = {
	{ .uuid = H2_UUID, .state = XS_COLLECT_BACKOFF, .last_success = TEND + 2 - 3600,
	  .newest = T0 + 3600, .failures = 700, .lag = -1 },
	{ .uuid = H4_UUID, .state = XS_COLLECT_BACKFILL, .last_success = TEND + 2 - 60,
	  .newest = TEND - 30, .lag = 0 },
	{ .uuid = H5_UUID, .state = XS_COLLECT_IDLE, .last_success = TEND, .newest = TEND - 35,
	  .lag = 37 },
	{ .uuid = H8_UUID, .state = XS_COLLECT_IDLE, .last_success = TEND, .newest = TEND - 60,
	  .lag = 0 },
};

/* ---- reply helpers -------------------------------------------------------------------- */

static char *query(const char *kind, const char *uuid, const struct xs_stats_request *r,
		   enum xs_err *code, char *err)
{
	struct xs_buf b;

	xs_buf_init(&b, 64u << 20);
	*code = xs_query_stats(&S_e, kind, uuid, r, &b, err);
	if (*code != XS_OK) {
		xs_buf_free(&b);
		return NULL;
	}
	return xs_buf_take(&b, NULL);
}

static char *gran(const char *kind, const char *uuid, enum xs_stats_granularity g)
{
	struct xs_stats_request r = { .granularity = g };
	char err[XS_ERR_LEN];
	enum xs_err code;
	char *j = query(kind, uuid, &r, &code, err);

	ok(j != NULL, "%s %s: %s", kind, uuid, err);
	return j;
}

/* The array right after the text `path` (the rendered key sequence) as its elements
 * copied into el (up to max, each up to 31 bytes); returns how many, -1 if not there. */
static int arr(const char *json, const char *path, char el[][32], int max)
{
	const char *p = json ? strstr(json, path) : NULL;
	int n = 0;

	if (!p)
		return -1;
	p += strlen(path);
	if (*p != '[')
		return -1;
	p++;
	while (*p && *p != ']') {
		size_t k = strcspn(p, ",]");

		if (n < max)
			snprintf(el[n], 32, "%.*s", (int)k, p);
		n++;
		p += k;
		if (*p == ',')
			p++;
	}
	return n;
}

static bool has(const char *json, const char *s)
{
	return json && strstr(json, s) != NULL;
}

static char EL[500][32];

/* ---- tests ---------------------------------------------------------------------------- */

static void test_vm_seconds(void)
{
	char *j = gran("vms", VM1_UUID, XS_STATS_SECONDS);
	char want[64];
	int n;

	fail_unless(j, "reply");
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":5,\"stats\":{", TEND);
	ok(!strncmp(j, want, strlen(want)), "envelope: %.80s", j);
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "25") && !strcmp(EL[119], "25"), "cpus.0: %d x 25 (%s)", n,
	   n > 0 ? EL[0] : "");
	n = arr(j, "],\"1\":", EL, 400);
	ok(n == 120 && (!strcmp(EL[0], "40") || !strcmp(EL[0], "20")), "cpus.1 in %%: %s", EL[0]);
	n = arr(j, "\"cpuUsage\":", EL, 400);
	ok(n == 120 && !strcmp(EL[118], "50") && !strcmp(EL[119], "null"), "NaN -> null (%s %s)",
	   EL[118], EL[119]);
	ok(arr(j, "\"memory\":", EL, 400) == 120 && !strcmp(EL[5], "1073741824"), "memory bytes");
	ok(arr(j, "\"memoryFree\":", EL, 400) == 120 && !strcmp(EL[5], "536870912"),
	   "memoryFree KiB x 1024 (%s)", EL[5]);
	ok(!has(j, "memoryTarget") && !has(j, "runstate"), "absent data sources: no key");
	ok(arr(j, "\"vifs\":{\"rx\":{\"0\":", EL, 400) == 120 && !strcmp(EL[0], "1000"), "vifs.rx.0");
	ok(arr(j, "\"tx\":{\"0\":", EL, 400) == 120 && !strcmp(EL[0], "2048"), "vifs.tx.0");
	ok(has(j, "\"xvds\":{\"r\":{\"hda\":[10,") && has(j, "],\"nvme0n1\":[2,") &&
		   has(j, "],\"xvda\":[1000,") && has(j, "\"w\":{\"xvdb\":[10,") &&
		   has(j, "],\"xvdaa\":[2048,"),
	   "xvds: every VBD device (hda, nvme0n1, xvda; xvdb before xvdaa)");
	ok(has(j, "\"iops\":{\"r\":{\"xvda\":[3000,") && !has(j, "xvda_iops") &&
		   !has(j, "xvda_io_"),
	   "vbd_xvda_iops_read is iops.r.xvda, not a device \"xvda_iops\"");
	ok(has(j, "\"vifs\":{\"rx\":{\"0\":[1000,") && has(j, "],\"70\":[1.5,") &&
		   has(j, "\"vifErrors\":{\"rx\":{\"70\":[2,") && !has(j, "\"x\":") &&
		   !has(j, "\"other\""),
	   "vif 70 found; vif_x and cpu_other are no devices");
	ok(arr(j, "\"ioThroughput\":{\"r\":{\"xvda\":", EL, 400) == 120 && !strcmp(EL[0], "1572864"),
	   "MiB/s x 2^20 (%s)", EL[0]);
	ok(arr(j, "\"vbdLatency\":{\"r\":{\"hda\":", EL, 400) == 120 && !strcmp(EL[0], "1.5"),
	   "latency us / 1000 (%s)", EL[0]);
	ok(arr(j, "\"vbdIowait\":{\"xvda\":", EL, 400) == 120 && !strcmp(EL[0], "2"),
	   "iowait x 100 (%s)", EL[0]);
	ok(!has(j, "statsMin"), "no bands for granularity requests");
	free(j);
}

static void test_vm_coarse(void)
{
	struct xs_stats_request r = { .granularity = XS_STATS_MINUTES };
	char err[XS_ERR_LEN], want[64];
	enum xs_err code;
	char *j = gran("vms", VM1_UUID, XS_STATS_MINUTES);
	int n;

	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":60,", TEND);
	ok(j && !strncmp(j, want, strlen(want)), "minutes: the period in progress ends at %d: %.60s",
	   TEND, j ? j : "");
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	ok(n == 120 && !strcmp(EL[119], "25") && !strcmp(EL[0], "25"), "120 minutes, full");
	n = arr(j, "\"cpuUsage\":", EL, 400);
	ok(n == 120 && !strcmp(EL[119], "50"), "a NaN sample leaves the minute's average (%s)",
	   EL[119]);
	free(j);
	r.no_partial = true;
	j = query("vms", VM1_UUID, &r, &code, err);
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":60,", TEND - 60);
	ok(j && !strncmp(j, want, strlen(want)), "complete periods only: %.60s", j ? j : "");
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "null") && !strcmp(EL[1], "25"),
	   "null-padded at the old end (%s %s)", EL[0], EL[1]);
	free(j);
	j = gran("vms", VM1_UUID, XS_STATS_HOURS);
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":3600,", TEND);
	ok(j && !strncmp(j, want, strlen(want)) && n == 168 && !strcmp(EL[165], "null") &&
		   !strcmp(EL[166], "25") && !strcmp(EL[167], "25"),
	   "hours: 168 points, the last two hours known: %.60s", j ? j : "");
	free(j);
	j = gran("vms", VM1_UUID, XS_STATS_DAYS);
	n = arr(j, "],\"1\":", EL, 400);
	ok(n == 366 && !strcmp(EL[364], "null") && !strcmp(EL[365], "30.000002"),
	   "days: 366 points, today in progress (%s)", n > 0 ? EL[365] : "");
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":86400,", T0 + 86400);
	ok(j && !strncmp(j, want, strlen(want)),
	   "days: interval 86400, today's point stamped with its end, tonight: %.60s", j ? j : "");
	free(j);
}

static void test_range(void)
{
	struct xs_stats_request r = { .from = T0, .to = TEND - 1, .points = 1000 };
	char err[XS_ERR_LEN];
	enum xs_err code;
	char *j = query("vms", VM1_UUID, &r, &code, err);
	int n;

	ok(has(j, "\"interval\":60,") && has(j, "\"statsMin\":{") && has(j, "\"statsMax\":{"),
	   "1440 5 s points > 1000: the 1 min tier, with bands");
	n = arr(strstr(j ? j : "", "\"stats\":"), "\"1\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "30.000002"), "avg of 0.2/0.4 = float32(100 x 0.3f) (%s, %d)",
	   EL[0], n);
	n = arr(strstr(j ? j : "", "\"statsMin\":"), "\"1\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "20"), "min 20 (%s)", EL[0]);
	n = arr(strstr(j ? j : "", "\"statsMax\":"), "\"1\":", EL, 400);
	ok(n == 120 && !strcmp(EL[119], "40"), "max 40 (%s)", EL[119]);
	free(j);
	r.points = 2000;
	j = query("vms", VM1_UUID, &r, &code, err);
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	ok(has(j, "\"interval\":5,") && !has(j, "statsMin") && n == 1440, "budget 2000: 5 s (%d)", n);
	free(j);
	r = (struct xs_stats_request){ .from = T0, .to = T0 + 600 };
	j = query("vms", VM1_UUID, &r, &code, err);
	ok(has(j, "\"interval\":5,") && has(j, "\"endTimestamp\":1700007000,"), "10 min: 5 s, %.40s",
	   j ? j : "");
	free(j);
	r.retention[XS_TIER_5S] = 3600; /* the 5 s tier no longer holds T0 */
	j = query("vms", VM1_UUID, &r, &code, err);
	ok(has(j, "\"interval\":60,") && has(j, "\"endTimestamp\":1700007060,") &&
		   arr(j, "\"cpus\":{\"0\":", EL, 400) == 11,
	   "retention: the 1 min tier, 11 points, period end (%.40s)", j ? j : "");
	free(j);
	r = (struct xs_stats_request){ .from = T0 - 86400 * 400, .to = TEND - 1, .points = 500 };
	j = query("vms", VM1_UUID, &r, &code, err);
	n = arr(j, "],\"1\":", EL, 500);
	ok(has(j, "\"interval\":86400,") && n == 401 && !strcmp(EL[0], "null") &&
		   !strcmp(EL[400], "30.000002"),
	   "400 days: 1 d, partial day included (%d)", n);
	free(j);
}

/*
 * A young store: a VM with the hours of the last week and the days of a year, as a
 * host's archives give them at first contact. A month's range fits the 1 h tier, but
 * that holds nothing of its first half: the 1 d tier, which does, answers. With a month
 * of hours stored, the 1 h tier; with nothing anywhere, the tier chosen as before.
 */
static void test_range_young_store(void)
{
	char dir[TMP_DIR_LEN], err[XS_ERR_LEN] = "";
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	struct xs_estate e = S_e;
	xs_series_id young, old, none;
	const int64_t now = T0 + 400 * 86400;
	const struct xs_stats_request r = { .from = now - 30 * 86400, .to = now, .points = 1000 };
	struct xs_buf b;
	enum xs_err code;

	tmp_dir_new(dir, "young");
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	fail_unless(xs_store_series(s, XS_OBJ_VM, "0000000a-0000-4000-8000-000000000001", "cpu0", "",
				    &young, err) == XS_OK &&
			    xs_store_series(s, XS_OBJ_VM, "0000000a-0000-4000-8000-000000000002", "cpu0",
					    "", &old, err) == XS_OK &&
			    xs_store_series(s, XS_OBJ_VM, "0000000a-0000-4000-8000-000000000003", "cpu0",
					    "", &none, err) == XS_OK,
		    "series: %s", err);
	for (int64_t t = now - 365 * 86400; t < now; t += 86400) {
		(void)xs_store_backfill(s, young, XS_TIER_1D, t, 0.5f, 0.5f, 0.5f, err);
		(void)xs_store_backfill(s, old, XS_TIER_1D, t, 0.5f, 0.5f, 0.5f, err);
	}
	for (int64_t t = now - 7 * 86400; t < now; t += 3600)
		(void)xs_store_backfill(s, young, XS_TIER_1H, t, 0.25f, 0.25f, 0.25f, err);
	for (int64_t t = now - 40 * 86400; t < now; t += 3600)
		(void)xs_store_backfill(s, old, XS_TIER_1H, t, 0.25f, 0.25f, 0.25f, err);
	e.store = s;
	e.now = (double)now;
	{
		static const char *const uuids[] = { "0000000a-0000-4000-8000-000000000001",
						      "0000000a-0000-4000-8000-000000000002",
						      "0000000a-0000-4000-8000-000000000003" };
		static const char *const want[] = { "\"interval\":86400,", "\"interval\":3600,",
						     "\"interval\":3600," };
		static const char *const why[] = { "a week of hours, a year of days: 1 d",
						   "40 days of hours: 1 h", "no data: 1 h as before" };

		for (int i = 0; i < 3; i++) {
			xs_buf_init(&b, 64u << 20);
			code = xs_query_stats(&e, "vms", uuids[i], &r, &b, err);
			ok(code == XS_OK && b.data && strstr(b.data, want[i]), "%s: %.60s", why[i],
			   b.data ? b.data : err);
			xs_buf_free(&b);
		}
	}
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(dir);
}

/* A VM started in the range (a gap of its own, not a young store): its 5 s samples answer
 * a 1 h range, not the hourly rollup of those same samples (which starts before `from`). */
static void test_range_started_vm(void)
{
	char dir[TMP_DIR_LEN], err[XS_ERR_LEN] = "";
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	struct xs_estate e = S_e;
	xs_series_id id;
	const int64_t base = T0 + 100 * 86400 + 10 * 3600; /* 10:00 */
	const int64_t start = base + 52 * 60, now = base + 3600 + 20 * 60; /* the VM from 10:52, now 11:20 */
	const struct xs_stats_request r = { .from = now - 3600, .to = now, .points = 1000 };
	struct xs_buf b;

	tmp_dir_new(dir, "started");
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	fail_unless(xs_store_series(s, XS_OBJ_VM, "0000000b-0000-4000-8000-000000000001", "cpu0", "",
				    &id, err) == XS_OK,
		    "series: %s", err);
	for (int64_t t = start; t <= now; t += 5)
		(void)xs_store_append(s, id, t, 0.5f, err);
	e.store = s;
	e.now = (double)now;
	xs_buf_init(&b, 64u << 20);
	ok(xs_query_stats(&e, "vms", "0000000b-0000-4000-8000-000000000001", &r, &b, err) == XS_OK &&
		   b.data && strstr(b.data, "\"interval\":5,"),
	   "the 5 s tier (the hour 10:00 is complete, and its rollup is no older data): %.80s",
	   b.data ? b.data : err);
	xs_buf_free(&b);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(dir);
}

static void test_halted_deleted(void)
{
	char *j = gran("vms", VM2_UUID, XS_STATS_SECONDS);
	char want[64];
	int n;

	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":5,", T0 + 1800);
	ok(j && !strncmp(j, want, strlen(want)), "halted: ends at its last sample (%.50s)",
	   j ? j : "");
	n = arr(j, "\"cpus\":{\"0\":", EL, 400);
	ok(n == 120 && !strcmp(EL[119], "75"), "halted: its history");
	free(j);
	j = gran("vms", VM3_UUID, XS_STATS_SECONDS);
	ok(arr(j, "\"cpus\":{\"0\":", EL, 400) == 120 && !strcmp(EL[0], "75") && !has(j, "memory"),
	   "deleted VM: served from the store");
	free(j);
}

static void test_host(void)
{
	char *j = gran("hosts", H1_UUID, XS_STATS_SECONDS);

	ok(arr(j, "\"cpus\":{\"0\":", EL, 400) == 120 && !strcmp(EL[0], "10"), "host cpus.0 (%s)",
	   EL[0]);
	ok(arr(j, "],\"1\":", EL, 400) == 120 && !strcmp(EL[0], "30.000002"),
	   "host cpus.1: float32 of 100 x 0.3f (%s)", EL[0]);
	ok(arr(j, "\"load\":", EL, 400) == 120 && !strcmp(EL[0], "1.5"), "load");
	ok(arr(j, "\"memory\":", EL, 400) == 120 && !strcmp(EL[0], "1073741824"), "memory KiB x 1024");
	ok(arr(j, "\"memoryFree\":", EL, 400) == 120 && !strcmp(EL[0], "536870912"), "memoryFree");
	ok(has(j, "\"pifs\":{\"rx\":{\"0\":[1000,") && has(j, "\"tx\":{\"bond0\":[2048,"),
	   "pifs: ethN keyed N, as XO's (its clients read pifs.rx['0']); the rest by device");
	ok(has(j, "\"pifs\":{\"rx\":{\"0\":[1000,") && has(j, "],\"2\":[1.5,") &&
		   has(j, "],\"10\":[2,") && has(j, "],\"eth0.100\":[10,") &&
		   has(j, "],\"xenbr1\":[3000,") && !has(j, "\"eth0\"") && !has(j, "\"eth2\"") &&
		   !has(j, "eth0_rx") && !has(j, "errors"),
	   "every PIF (VLAN, bridge) in natural order: 0, 2, 10, eth0.100; bond0, xenbr1");
	ok(has(j, "\"pifsAggr\":{\"rx\":[1000,") && !has(j, "\"aggr\""), "pifsAggr, not a PIF");
	ok(has(j, "\"iops\":{\"r\":{\"0badc0de\":[2,") && has(j, "],\"" SR8 "\":[10,") &&
		   !has(j, "xyz"),
	   "iops per sr8, every SR prefix the host has");
	ok(has(j, "\"ioThroughput\":{\"w\":{\"" SR8 "\":[2097152,"), "throughput x 2^20");
	ok(has(j, "\"iops\":{\"r\":{") && has(j, "},\"total\":{\"" SR8 "\":[10,"),
	   "a host's iops.total per sr8");
	ok(has(j, "\"latency\":{\"r\":{\"" SR8 "\":[3,"), "latency ms");
	ok(has(j, "\"iowait\":{\"" SR8 "\":[0.1,"), "iowait as is");
	free(j);
}

static void test_sr(void)
{
	char *j = gran("srs", SR_UUID, XS_STATS_SECONDS);
	int n;

	ok(arr(j, "\"iops\":{\"r\":", EL, 400) == 120 && !strcmp(EL[0], "10"),
	   "host 2 offline: the sum over host 1 (%s)", EL[0]);
	ok(arr(strstr(j ? j : "", "\"iops\":"), "],\"w\":", EL, 400) == 120 && !strcmp(EL[0], "null") &&
		   !strcmp(EL[119], "null"),
	   "no host has iops_write: iops.w is 120 nulls, not left out");
	ok(arr(j, "\"ioThroughput\":{\"r\":", EL, 400) == 120 && !strcmp(EL[0], "null"),
	   "ioThroughput.r: nulls");
	ok(has(strstr(j ? j : "", "\"ioThroughput\":{\"r\":["), "],\"w\":[2097152,"),
	   "throughput summed, x 2^20");
	ok(!has(j, "total"),
	   "r and w only, as xo-server's sr.stats: XO's web UI charts every sub-key and sums them "
	   "all in its \"All\" line, which a total (host 1 has iops_total) would double");
	ok(has(j, "\"iowait\":{\"" H1_UUID "\":[0.1,") && has(j, "\"" H2_UUID "\":[null,"),
	   "iowait per host uuid");
	free(j);
	j = gran("srs", SR_UUID, XS_STATS_MINUTES);
	n = arr(j, "\"iops\":{\"r\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "14") && !strcmp(EL[10], "10") && !strcmp(EL[60], "10"),
	   "minutes: 10 + 4 while both, 10 when host 2 is NaN or gone (%s %s %s)", EL[0], EL[10],
	   EL[60]);
	n = arr(j, "\"latency\":{\"r\":", EL, 400);
	ok(n == 120 && !strcmp(EL[0], "2") && !strcmp(EL[119], "3"), "latency: mean of hosts (%s %s)",
	   EL[0], EL[119]);
	free(j);
}

/* An SR whose hosts have none of its series: the fixed keys, arrays of nulls, iowait {}. */
static void test_sr_no_series(void)
{
	static const char *const keys[] = { "iops", "ioThroughput", "latency" };
	struct xs_stats_request r = { .from = T0, .to = TEND - 1, .points = 1000 };
	char *j = gran("srs", SR2_UUID, XS_STATS_MINUTES), path[64], err[XS_ERR_LEN];
	enum xs_err code;
	int bad = 0;

	for (size_t k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "\"%s\":{\"r\":", keys[k]);
		bad += arr(j, path, EL, 400) != 120 || strcmp(EL[0], "null") || strcmp(EL[119], "null");
		snprintf(path, sizeof(path), "\"%s\":{", keys[k]);
		bad += arr(strstr(j ? j : "", path), "],\"w\":", EL, 400) != 120;
	}
	ok(bad == 0 && !has(j, "total") && has(j, ",\"iowait\":{}}}"),
	   "no series: iops, ioThroughput, latency with r and w of 120 nulls; iowait {}: %.120s",
	   j ? j : "");
	free(j);
	j = query("srs", SR2_UUID, &r, &code, err);
	ok(j && has(j, "\"statsMin\":{\"iops\":{\"r\":[null,") &&
		   has(j, "\"statsMax\":{\"iops\":{\"r\":[null,") &&
		   has(j, "\"iowait\":{}},\"statsMin\"") && has(j, "\"iowait\":{}},\"statsMax\"") &&
		   has(j, "\"iowait\":{}}}"),
	   "range on the 1 min tier: the bands have the same keys: %s", err);
	free(j);
}

/*
 * The keys of XO-STATS.md's tables that VM1 and host 1 lack, each with its
 * conversion; and a host the topology knows with nothing stored: the envelope
 * with an empty "stats", as xo-server answers when it has no data.
 */
static void test_other_keys(void)
{
	char *j = gran("vms", VM4_UUID, XS_STATS_SECONDS), want[80];

	ok(has(j, "\"runstateFullrun\":[25,") && has(j, "\"runstateFullContention\":[2,") &&
		   has(j, "\"runstateConcurrencyHazard\":[10,") &&
		   has(j, "\"runstatePartialRun\":[100,") &&
		   has(j, "\"runstatePartialContention\":[200,"),
	   "runstate_* x 100 under XO's names: %.200s", j ? j : "");
	ok(arr(j, "\"runstateBlocked\":", EL, 400) == 120 && !strcmp(EL[0], "50") &&
		   !strcmp(EL[119], "null"),
	   "runstateBlocked x 100, NaN -> null (%s %s)", EL[0], EL[119]);
	ok(has(j, "\"memoryTarget\":[1073741824,") && !has(j, "\"memory\":") &&
		   !has(j, "memoryFree"),
	   "memoryTarget in bytes, as is; no memory or memoryFree without their data sources");
	ok(has(j, "\"vifErrors\":{\"tx\":{\"1\":[2,") && !has(j, "\"vifs\""),
	   "vifErrors.tx, errors/s as is");
	ok(has(j, "\"iops\":{\"w\":{\"xvdb\":[10,") && has(j, "\"total\":{\"xvdb\":[3000,"),
	   "iops.w and iops.total, requests/s as is");
	ok(has(j, "\"vbdLatency\":{\"w\":{\"xvdb\":[1.5,"), "vbdLatency.w: us / 1000");
	ok(has(j, "\"ioThroughput\":{\"w\":{\"xvdb\":[1572864,") &&
		   has(j, "\"total\":{\"xvdb\":[2097152,"),
	   "ioThroughput.w and .total: MiB/s x 2^20");
	ok(has(j, "\"vbdInflight\":{\"xvdb\":[2,") && has(j, "\"vbdAvgquSz\":{\"xvdb\":[1.5,"),
	   "vbdInflight and vbdAvgquSz as is");
	free(j);
	j = gran("hosts", H9_UUID, XS_STATS_SECONDS);
	ok(arr(j, "\"hostload\":", EL, 400) == 120 && !strcmp(EL[0], "1.5") &&
		   arr(j, "\"runningVcpus\":", EL, 400) == 120 && !strcmp(EL[0], "10"),
	   "hostload and runningVcpus as is: %.200s", j ? j : "");
	ok(has(j, "\"pifsAggr\":{\"tx\":[2048,") && !has(j, "\"pifs\""), "pifsAggr.tx alone");
	ok(has(j, "\"iops\":{\"w\":{\"" SR8 "\":[10,"), "host iops.w per sr8");
	ok(has(j, "\"ioThroughput\":{\"r\":{\"" SR8 "\":[1572864,") &&
		   has(j, "\"total\":{\"" SR8 "\":[2097152,"),
	   "host ioThroughput.r and .total: MiB/s x 2^20");
	ok(has(j, "\"latency\":{\"w\":{\"" SR8 "\":[3,") &&
		   has(j, "\"total\":{\"" SR8 "\":[1.5,"),
	   "host latency.w and .total (latency_<sr8>): us / 1000");
	free(j);
	j = gran("hosts", H3_UUID, XS_STATS_SECONDS);
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":5,\"stats\":{}}", TEND);
	ok(j && !strcmp(j, want), "known, nothing stored: %s", j ? j : "");
	free(j);
}

/* The entry of key uuid in a pool reply (the object after "uuid":), malloc'd; NULL if none. */
static char *entry(const char *json, const char *uuid)
{
	char key[64];
	const char *p, *q;
	int depth = 0;

	snprintf(key, sizeof(key), "\"%s\":", uuid);
	p = json ? strstr(json, key) : NULL;
	if (!p)
		return NULL;
	p += strlen(key);
	for (q = p; *q; q++) {
		depth += *q == '{' ? 1 : *q == '}' ? -1 : 0;
		if (!depth)
			break;
	}
	return *q ? strndup(p, (size_t)(q + 1 - p)) : NULL;
}

/* The entry of uuid in the pool's reply is the host's own reply. */
static bool pool_entry_is_own(const char *pool, const char *uuid, enum xs_stats_granularity g)
{
	char *own = gran("hosts", uuid, g), *ent = entry(pool, uuid);
	bool same = own && ent && !strcmp(own, ent);

	free(own);
	free(ent);
	return same;
}

/* A host with smt=0 (XO-STATS: hyper-threading-off CPU counts): its parked CPUs are left out. */
static void test_host_smt_off(void)
{
	char *j = gran("hosts", H6_UUID, XS_STATS_SECONDS), *p;

	ok(arr(j, "\"cpus\":{\"0\":", EL, 400) == 120 && !strcmp(EL[0], "10") &&
		   arr(j, "],\"2\":", EL, 400) == 120 && !strcmp(EL[0], "30.000002") &&
		   !has(j, "\"1\":[") && !has(j, "\"3\":["),
	   "2 CPUs in use of 4 cpuN: cpus 0 and 2, not the parked 1 and 3: %.120s", j ? j : "");
	free(j);
	j = gran("hosts", H7_UUID, XS_STATS_SECONDS);
	ok(has(j, "\"cpus\":{\"0\":[100,") && has(j, "],\"1\":[100,") &&
		   has(j, "],\"2\":[100,") && has(j, "],\"3\":[30.000002,"),
	   "3 at exactly 1 for a surplus of 2: not clear, every cpuN kept: %.120s", j ? j : "");
	free(j);
	j = gran("pools", POOL_UUID, XS_STATS_SECONDS);
	p = entry(j, H6_UUID);
	ok(p && has(p, "\"cpus\":{\"0\":[10,") && !has(p, "\"3\":["),
	   "the same in the pool's reply: %.80s", p ? p : "");
	free(p);
	free(j);
}

static void test_pool(void)
{
	char *j = gran("pools", POOL_UUID, XS_STATS_SECONDS), *h, want[64];
	int n;

	ok(j && j[0] == '{' && has(j, "{\"" H1_UUID "\":{\"endTimestamp\":") &&
		   has(j, ",\"" H2_UUID "\":{\"endTimestamp\":") &&
		   has(j, ",\"" H3_UUID "\":{\"error\":\"no statistics stored for this host\"}"),
	   "pool: per-host map, the failing host in its entry: %.200s", j ? j : "");
	ok(pool_entry_is_own(j, H1_UUID, XS_STATS_SECONDS), "host 1: its own reply");
	ok(pool_entry_is_own(j, H4_UUID, XS_STATS_SECONDS),
	   "host 4, backfilling for a minute: not stopped, its own window");
	ok(pool_entry_is_own(j, H8_UUID, XS_STATS_SECONDS) &&
		   pool_entry_is_own(j, H1_UUID, XS_STATS_SECONDS),
	   "host 8, live with its clock 60 s behind: its own window (host 1's too)");
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":5,", TEND);
	h = entry(j, H2_UUID);
	n = arr(h, "\"cpus\":{\"0\":", EL, 400);
	ok(h && !strncmp(h, want, strlen(want)) && n == 120 && !strcmp(EL[0], "null") &&
		   !strcmp(EL[119], "null") && has(h, "\"iowait\":{\"" SR8 "\":[null,"),
	   "host 2, stopped an hour ago: the pool's window, all null, not its own: %.60s",
	   h ? h : "");
	free(h);
	h = entry(j, H5_UUID);
	n = arr(h, "\"cpus\":{\"0\":", EL, 400);
	ok(h && !strncmp(h, want, strlen(want)) && n == 120 && !strcmp(EL[112], "50") &&
		   !strcmp(EL[113], "null") && !strcmp(EL[119], "null"),
	   "host 5, answering with rows 37 s behind: stopped, 7 nulls at the end (%.60s %s %s)", h ? h : "",
	   EL[112], EL[113]);
	free(h);
	free(j);

	j = gran("pools", POOL_UUID, XS_STATS_MINUTES);
	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":60,", TEND);
	h = entry(j, H2_UUID);
	n = arr(h, "\"cpus\":{\"0\":", EL, 400);
	ok(h && !strncmp(h, want, strlen(want)) && n == 120 && !strcmp(EL[0], "100000") &&
		   !strcmp(EL[58], "100000") && !strcmp(EL[61], "null") && !strcmp(EL[119], "null"),
	   "minutes, host 2: the pool's end, its first hour then trailing nulls (%.60s %s %s %s)",
	   h ? h : "", EL[0], EL[58], EL[61]);
	free(h);
	ok(pool_entry_is_own(j, H1_UUID, XS_STATS_MINUTES), "minutes, host 1: its own reply");
	h = gran("hosts", H2_UUID, XS_STATS_MINUTES);
	ok(h && strncmp(h, want, strlen(want)), "asked alone, host 2 keeps its own window: %.60s",
	   h ? h : "");
	free(h);
	free(j);
}

/* A range: every host of the pool has the window asked, stopped or not. */
static void test_pool_range(void)
{
	struct xs_stats_request r = { .from = T0 + 605, .to = TEND, .points = 2000 };
	static const char *const hosts[] = { H1_UUID, H2_UUID, H4_UUID, H5_UUID };
	char err[XS_ERR_LEN], want[64];
	enum xs_err code;
	char *j = query("pools", POOL_UUID, &r, &code, err);
	int bad = 0;

	snprintf(want, sizeof(want), "{\"endTimestamp\":%d,\"interval\":5,", TEND);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		char *h = entry(j, hosts[i]);

		bad += !h || strncmp(h, want, strlen(want)) || arr(h, "\"cpus\":{\"0\":", EL, 400) != 1320;
		free(h);
	}
	ok(j && bad == 0, "range: every host ends at %d with 1320 points (%d bad): %s", TEND, bad, err);
	free(j);
}

/*
 * A pool's range on a young store: hosts h1 and h2 with a week of hours and a year of
 * days (their archives at first contact). A month's range fits the 1 h tier, which
 * holds nothing of its first half: every host gets the 1 d tier, as each alone would;
 * before, a pool's hosts kept the budget's tier, half nulls. When h2 has 40 days of
 * hours and h1 still a week, both get h1's 1 d: a pool's hosts share the coarsest tier
 * their own replies would have, so none gets a range of nulls.
 */
static void test_pool_range_young_store(void)
{
	char dir[TMP_DIR_LEN], err[XS_ERR_LEN] = "";
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	struct xs_estate e = S_e;
	xs_series_id h1, h2;
	const int64_t now = T0 + 400 * 86400;
	const struct xs_stats_request r = { .from = now - 30 * 86400, .to = now, .points = 1000 };
	struct xs_buf b;
	char *one, *two;

	tmp_dir_new(dir, "pool-young");
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	fail_unless(xs_store_series(s, XS_OBJ_HOST, H1_UUID, "cpu0", "", &h1, err) == XS_OK &&
			    xs_store_series(s, XS_OBJ_HOST, H2_UUID, "cpu0", "", &h2, err) == XS_OK,
		    "series: %s", err);
	for (int64_t t = now - 365 * 86400; t < now; t += 86400) {
		(void)xs_store_backfill(s, h1, XS_TIER_1D, t, 0.5f, 0.5f, 0.5f, err);
		(void)xs_store_backfill(s, h2, XS_TIER_1D, t, 0.5f, 0.5f, 0.5f, err);
	}
	for (int64_t t = now - 7 * 86400; t < now; t += 3600) {
		(void)xs_store_backfill(s, h1, XS_TIER_1H, t, 0.25f, 0.25f, 0.25f, err);
		(void)xs_store_backfill(s, h2, XS_TIER_1H, t, 0.25f, 0.25f, 0.25f, err);
	}
	e.store = s;
	e.now = (double)now;
	e.nstatus = 0;
	xs_buf_init(&b, 64u << 20);
	ok(xs_query_stats(&e, "pools", POOL_UUID, &r, &b, err) == XS_OK, "pool: %s", err);
	one = entry(b.data, H1_UUID);
	two = entry(b.data, H2_UUID);
	ok(one && two && strstr(one, "\"interval\":86400,") && strstr(two, "\"interval\":86400,"),
	   "young store: both hosts at 1 d: %.60s | %.60s", one ? one : "-", two ? two : "-");
	free(one);
	free(two);
	xs_buf_free(&b);
	for (int64_t t = now - 40 * 86400; t < now - 7 * 86400; t += 3600)
		(void)xs_store_backfill(s, h2, XS_TIER_1H, t, 0.25f, 0.25f, 0.25f, err);
	xs_buf_init(&b, 64u << 20);
	ok(xs_query_stats(&e, "hosts", H2_UUID, &r, &b, err) == XS_OK &&
		   strstr(b.data, "\"interval\":3600,"),
	   "h2 alone: 1 h now: %.60s", b.data ? b.data : err);
	xs_buf_reset(&b);
	ok(xs_query_stats(&e, "pools", POOL_UUID, &r, &b, err) == XS_OK, "pool: %s", err);
	one = entry(b.data, H1_UUID);
	two = entry(b.data, H2_UUID);
	ok(one && two && strstr(one, "\"interval\":86400,") && strstr(two, "\"interval\":86400,"),
	   "h1 young, h2 not: both at h1's 1 d: %.60s | %.60s", one ? one : "-", two ? two : "-");
	free(one);
	free(two);
	xs_buf_free(&b);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(dir);
}

static void test_errors(void)
{
	struct xs_stats_request r = { .granularity = XS_STATS_SECONDS };
	char err[XS_ERR_LEN];
	enum xs_err code;
	enum xs_stats_granularity g;

	ok(!query("vm", VM1_UUID, &r, &code, err) && code == XS_ERR_ARG && !strncmp(err, "kind:", 5),
	   "bad kind: %s", err);
	ok(!query("vms", "", &r, &code, err) && code == XS_ERR_ARG && !strncmp(err, "uuid:", 5),
	   "empty uuid: %s", err);
	ok(!query("vms", "../etc", &r, &code, err) && code == XS_ERR_ARG, "odd uuid: %s", err);
	ok(!query("vms", "12345678-dead-beef-0000-000000000000", &r, &code, err) &&
		   code == XS_QUERY_NOT_FOUND,
	   "unknown VM: %s", err);
	ok(!query("vms", H1_UUID, &r, &code, err) && code == XS_QUERY_NOT_FOUND,
	   "a host asked as a VM: %s", err);
	ok(!query("srs", VM1_UUID, &r, &code, err) && code == XS_QUERY_NOT_FOUND, "not an SR");
	ok(!query("pools", H1_UUID, &r, &code, err) && code == XS_QUERY_NOT_FOUND, "not a pool");
	ok(!query("hosts", "aaaaaaaa-9999-0000-0000-000000000000", &r, &code, err) &&
		   code == XS_QUERY_NOT_FOUND,
	   "unknown host");
	r = (struct xs_stats_request){ .from = T0, .to = T0 - 1 };
	ok(!query("vms", VM1_UUID, &r, &code, err) && code == XS_ERR_ARG && !strncmp(err, "to:", 3),
	   "to before from: %s", err);
	r = (struct xs_stats_request){ .from = T0, .to = T0 + 60, .points = 10001 };
	ok(!query("vms", VM1_UUID, &r, &code, err) && code == XS_ERR_ARG &&
		   !strncmp(err, "points:", 7),
	   "points over the cap: %s", err);
	r = (struct xs_stats_request){ .from = 0, .to = TEND, .points = 10 };
	ok(!query("vms", VM1_UUID, &r, &code, err) && code == XS_ERR_ARG &&
		   !strncmp(err, "points:", 7),
	   "54 years in 10 points: %s", err);
	r = (struct xs_stats_request){ .from = -5, .to = 0 };
	ok(!query("vms", VM1_UUID, &r, &code, err) && code == XS_ERR_ARG &&
		   !strncmp(err, "from:", 5),
	   "negative from: %s", err);
	r = (struct xs_stats_request){ .from = T0, .to = T0 + 1 };
	ok(!query("vms", "12345678-dead-beef-0000-000000000000", &r, &code, err) &&
		   code == XS_QUERY_NOT_FOUND,
	   "range, unknown VM");
	ok(xs_stats_granularity_parse("hours", &g, err) == XS_OK && g == XS_STATS_HOURS, "parse");
	ok(xs_stats_granularity_parse("weeks", &g, err) == XS_ERR_ARG &&
		   !strncmp(err, "granularity:", 12),
	   "bad granularity: %s", err);
	ok(xs_stats_granularity_parse(NULL, &g, err) == XS_ERR_ARG, "no granularity");
	/* a reply over the buffer's cap: the client asked for too much, a 400 naming what */
	{
		struct xs_buf b;
		size_t len;

		r = (struct xs_stats_request){ .granularity = XS_STATS_DAYS };
		xs_buf_init(&b, 100);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &b, err) == XS_ERR_ARG && b.len == 0 &&
			   !strcmp(err, "granularity: the reply would pass 100 bytes; ask a range with "
					"fewer points (from, to, points)"),
		   "too large, granularity: %s", err);
		xs_buf_free(&b);
		r = (struct xs_stats_request){ .from = T0, .to = TEND - 1, .points = 2000 };
		xs_buf_init(&b, 16 << 10);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &b, err) == XS_ERR_ARG &&
			   !strcmp(err, "points: the reply would pass 16 KiB; ask fewer points or a "
					"shorter range"),
		   "too large, range: %s", err);
		xs_buf_free(&b);
		r = (struct xs_stats_request){ .granularity = XS_STATS_SECONDS };
		xs_buf_init(&b, 1 << 20);
		ok(xs_query_stats(&S_e, "pools", POOL_UUID, &r, &b, err) == XS_OK, "pool: %s", err);
		len = b.len;
		xs_buf_free(&b);
		xs_buf_init(&b, len - 1);
		ok(xs_query_stats(&S_e, "pools", POOL_UUID, &r, &b, err) == XS_ERR_ARG &&
			   !strncmp(err, "granularity: the reply would pass ", 34),
		   "too large, pool (each host fits, not all): %s", err);
		xs_buf_free(&b);
	}
	/* arrays are written in one reservation, or number by number near the cap:
	 * the same bytes, and the cap met to the byte */
	{
		struct xs_buf big, tight;
		size_t len;

		r = (struct xs_stats_request){ .granularity = XS_STATS_SECONDS };
		xs_buf_init(&big, 1 << 24);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &big, err) == XS_OK && big.len > 1000,
		   "seconds: %s", err);
		len = big.len;
		xs_buf_init(&tight, len);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &tight, err) == XS_OK && tight.len == len &&
			   !memcmp(tight.data, big.data, len),
		   "a cap of exactly the reply's size: the same %zu bytes (%zu)", len, tight.len);
		xs_buf_free(&tight);
		xs_buf_init(&tight, len - 1);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &tight, err) == XS_ERR_ARG &&
			   !strncmp(err, "granularity: the reply would pass", 33),
		   "one byte less is too large: %s", err);
		xs_buf_free(&tight);
		xs_buf_free(&big);
	}
	/* the same for a range with bands (their trees are made beside the reply's and
	 * appended): the cap met to the byte */
	{
		struct xs_buf big, tight;
		size_t len;

		r = (struct xs_stats_request){ .from = T0, .to = TEND - 1, .points = 1000 };
		xs_buf_init(&big, 1 << 24);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &big, err) == XS_OK &&
			   big.data && strstr(big.data, "\"statsMax\":{"),
		   "a range with bands: %s", err);
		len = big.len;
		xs_buf_init(&tight, len);
		ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &tight, err) == XS_OK && tight.len == len &&
			   !memcmp(tight.data, big.data, len),
		   "bands, a cap of exactly the reply's size: the same %zu bytes (%zu)", len, tight.len);
		xs_buf_free(&tight);
		for (size_t less = 1; less <= len / 2; less += len / 7) {
			xs_buf_init(&tight, len - less);
			ok(xs_query_stats(&S_e, "vms", VM1_UUID, &r, &tight, err) == XS_ERR_ARG &&
				   !strncmp(err, "points: the reply would pass", 28),
			   "bands, %zu bytes less is too large: %s", less, err);
			xs_buf_free(&tight);
		}
		xs_buf_free(&big);
	}
}

/* The name parser (series_map.h's device rules) and the device order, as tables. */
static void test_names(void)
{
	static const struct {
		enum xs_obj_kind kind;
		const char *ds, *key, *sub, *dev; /* key NULL: no row maps ds */
	} m[] = {
		{ XS_OBJ_VM, "cpu12", "cpus", NULL, "12" },
		{ XS_OBJ_VM, "cpu_usage", "cpuUsage", NULL, "" },
		{ XS_OBJ_VM, "cpu", NULL, NULL, NULL },
		{ XS_OBJ_VM, "cpu1x", NULL, NULL, NULL },
		{ XS_OBJ_VM, "vif_70_tx", "vifs", "tx", "70" },
		{ XS_OBJ_VM, "vif_3_tx_errors", "vifErrors", "tx", "3" },
		{ XS_OBJ_VM, "vif__rx", NULL, NULL, NULL },
		{ XS_OBJ_VM, "vif_eth0_rx", NULL, NULL, NULL },
		{ XS_OBJ_VM, "vbd_xvdaa_read", "xvds", "r", "xvdaa" },
		{ XS_OBJ_VM, "vbd_nvme0n1_write", "xvds", "w", "nvme0n1" },
		{ XS_OBJ_VM, "vbd_sdb_read_latency", "vbdLatency", "r", "sdb" },
		{ XS_OBJ_VM, "vbd_hda_io_throughput_total", "ioThroughput", "total", "hda" },
		{ XS_OBJ_VM, "vbd_xvda_iops_write", "iops", "w", "xvda" },
		{ XS_OBJ_VM, "vbd_xvda_avgqu_sz", "vbdAvgquSz", NULL, "xvda" },
		{ XS_OBJ_VM, "vbd__read", NULL, NULL, NULL },
		{ XS_OBJ_VM, "vbd_xvda_foo_read", NULL, NULL, NULL },
		{ XS_OBJ_VM, "vbd_0123456789012345678901234567890123456789_read", NULL, NULL, NULL },
		{ XS_OBJ_VM, "memory_internal_free", "memoryFree", NULL, "" },
		{ XS_OBJ_VM, "pif_eth0_rx", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "pif_eth0.100_rx", "pifs", "rx", "eth0.100" },
		{ XS_OBJ_HOST, "pif_xenbr1_tx", "pifs", "tx", "xenbr1" },
		{ XS_OBJ_HOST, "pif_aggr_tx", "pifsAggr", "tx", "" },
		{ XS_OBJ_HOST, "pif_eth0_rx_errors", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "iops_total_0badc0de", "iops", "total", "0badc0de" },
		{ XS_OBJ_HOST, "read_latency_5E3F2A11", "latency", "r", "5E3F2A11" },
		{ XS_OBJ_HOST, "latency_5e3f2a11", "latency", "total", "5e3f2a11" },
		{ XS_OBJ_HOST, "iowait_5e3f2a1", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "iowait_5e3f2a11x", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "iowait_5e3f2g11", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "cpu3", "cpus", NULL, "3" },
		{ XS_OBJ_HOST, "cpu_avg", NULL, NULL, NULL },
		{ XS_OBJ_HOST, "vbd_xvda_read", NULL, NULL, NULL },
		{ XS_OBJ_SR, "iops_read", NULL, NULL, NULL },
	};
	/* each strictly before the next (classes mixed only to check the order is total) */
	static const char *const order[] = {
		"0", "1", "2", "10", "100", "eth0", "eth0.100", "eth0.200", "eth1", "eth2", "eth10",
		"hda", "hdb", "sda", "bond0", "bond1", "nvme0n1", "nvme0n2", "nvme0n10", "nvme1n1",
		"xvda", "xvdb", "xvdz", "xenbr0", "xenbr1", "xvdaa", "xvdab", "xvdba",
	};
	size_t n;
	const struct xs_smap_spec *sp = xs_smap_specs(XS_OBJ_VM, &n);
	const struct xs_smap_spec *hp = xs_smap_specs(XS_OBJ_HOST, &n);
	char dev[XS_SMAP_DEV_LEN];

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		int k = xs_smap_match(m[i].kind, m[i].ds, dev);
		const struct xs_smap_spec *row = k < 0 ? NULL : m[i].kind == XS_OBJ_VM ? &sp[k] : &hp[k];

		if (!m[i].key) {
			ok(k < 0, "%s: no key (got %s %s)", m[i].ds, row ? row->key : "", dev);
			continue;
		}
		ok(row && !strcmp(row->key, m[i].key) &&
			   (m[i].sub ? row->sub && !strcmp(row->sub, m[i].sub) : !row->sub) &&
			   !strcmp(dev, m[i].dev),
		   "%s -> %s.%s[%s] (got %s.%s[%s])", m[i].ds, m[i].key, m[i].sub ? m[i].sub : "",
		   m[i].dev, row ? row->key : "-", row && row->sub ? row->sub : "", row ? dev : "");
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			int c = xs_smap_dev_cmp(order[i], order[k]);
			int want = i < k ? -1 : i > k;

			ok(c == want, "dev_cmp(%s, %s) = %d, want %d", order[i], order[k], c, want);
		}
	ok(xs_smap_dev_cmp("01", "1") != 0 && xs_smap_dev_cmp("01", "1") == -xs_smap_dev_cmp("1", "01"),
	   "equal values, different bytes: still ordered");
	ok(xs_smap_dev_cmp("99999999999999999999999", "100000000000000000000000") < 0,
	   "long digit runs compare by value without overflow");
}

/* Every float32 written reads back as the same float32. */
static void test_numbers(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },         { -0.0, "0" },         { 25, "25" },       { 1.5, "1.5" },
		{ 0.1, "0.1" },     { 12.5e-3, "0.0125" }, { -3.25, "-3.25" }, { 1e20, "1e20" },
		{ 3e-7, "3e-7" },   { NAN, "null" },       { INFINITY, "null" }, { 1e39, "null" },
		{ 1073741824, "1073741824" }, { 100.0 * 0.3f, "30.000002" }, { -3, "-3" },
		{ -999999986991104.0, "-999999986991104" }, { -1.40129846e-45, "-1.4013e-45" },
		{ -1.00003235e-5f, "-0.0000100003235" },
	};
	struct xs_buf b;
	unsigned bad = 0;
	uint32_t x = 12345;

	xs_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xs_buf_reset(&b);
		ok(xs_qjson_num(&b, cases[i].v) == XS_OK && !strcmp(b.data, cases[i].want),
		   "%g -> %s (want %s)", cases[i].v, b.data, cases[i].want);
	}
	for (int i = 0; i < 200000; i++) {
		float f, back;

		x = x * 1664525u + 1013904223u;
		memcpy(&f, &x, sizeof(f));
		if (!isfinite(f))
			continue;
		xs_buf_reset(&b);
		if (xs_qjson_num(&b, f) != XS_OK)
			bad++;
		back = strtof(b.data, NULL);
		if (back != f && !(f == 0 && back == 0)) {
			if (bad++ < 5)
				fprintf(stderr, "# %.9g -> %s\n", (double)f, b.data);
		}
		if (strlen(b.data) > 16)
			bad++;
	}
	ok(bad == 0, "random float32 round trips (%u bad)", bad);
	xs_buf_reset(&b);
	ok(xs_qjson_str(&b, "a\"b\\c\n\x01") == XS_OK &&
		   !strcmp(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\""),
	   "string escapes: %s", b.data);
	xs_buf_reset(&b);
	/* é and U+10000 as they are; 0xff, a stray continuation, a cut sequence, an overlong
	 * and a surrogate each a U+FFFD per byte */
	ok(xs_qjson_str(&b, "\xc3\xa9\xf0\x90\x80\x80|\xff|\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80") ==
			   XS_OK &&
		   !strcmp(b.data, "\"\xc3\xa9\xf0\x90\x80\x80|\xef\xbf\xbd|\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
	   "not UTF-8: U+FFFD per byte: %s", b.data);
	xs_buf_free(&b);
}

int main(void)
{
	A = xs_rpc_arena_new();
	S_topo = topo_build();
	S_store = store_fill();
	S_pool = (struct xs_estate_pool){ .name = "lab", .topo = S_topo };
	S_e = (struct xs_estate){ .store = S_store, .pools = &S_pool, .npools = 1, .now = TEND + 2,
				  .status = S_status, .nstatus = sizeof(S_status) / sizeof(S_status[0]) };
	TEST_RUN(test_vm_seconds);
	TEST_RUN(test_vm_coarse);
	TEST_RUN(test_range);
	TEST_RUN(test_range_young_store);
	TEST_RUN(test_pool_range_young_store);
	TEST_RUN(test_range_started_vm);
	TEST_RUN(test_halted_deleted);
	TEST_RUN(test_host);
	TEST_RUN(test_host_smt_off);
	TEST_RUN(test_other_keys);
	TEST_RUN(test_sr);
	TEST_RUN(test_sr_no_series);
	TEST_RUN(test_pool);
	TEST_RUN(test_pool_range);
	TEST_RUN(test_errors);
	TEST_RUN(test_names);
	TEST_RUN(test_numbers);
	{
		char err[XS_ERR_LEN];

		ok(xs_store_close(&S_store, err) == XS_OK, "close: %s", err);
	}
	xs_topo_free(&S_topo);
	xs_rpc_arena_free(&A);
	tmp_dir_remove(test_dir);
	return test_summary();
}
