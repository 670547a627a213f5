/*
 * tests/unit/query/prom.c - GET /metrics (src/query/prom.c, prom_classify.c,
 * prom_number.c): a temporary store and a hand-built topology, the output
 * parsed back and checked: one HELP and TYPE per family and its samples
 * contiguous, names and label names valid,
 * label escaping of a VM named with quotes, a backslash and a newline, unit
 * conversions (KiB, µs, MiB/s), device labels (vCPU, VIF → network, VBD →
 * VDI and SR, PIF, per-SR host data sources by prefix), stale and NaN series
 * skipped, a deleted VM exported by uuid, self-metrics and collector status,
 * the shortest float formatting, the cap, a catalog whose objects' series
 * interleave (device labels still per VM, one entry per device), a host's
 * CPUs parked by smt=0 left out as the stats routes do, HA's statefile
 * latency with its VDI as a label (not in the name) and HA's latencies in seconds
 * with the units the collector records (collect/units.c), the collector
 * families' host labels those of the host's series (an empty or long name), no gauge
 * named as a histogram's series (_count, _sum, _bucket).
 * `promtool check metrics` is run on the output when /usr/bin/promtool exists.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/units.h"
#include "query/prom.c"
#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a multiple of 5 */
#define NOW (T0 + 12.0)

#define H1 "OpaqueRef:host-1"
#define H1_UUID "aaaaaaaa-0000-0000-0000-000000000001"
#define H2 "OpaqueRef:host-2"
#define H2_UUID "aaaaaaaa-0000-0000-0000-000000000002"
#define VM_WEIRD_UUID "11111111-0000-0000-0000-000000000001"
#define VM_WEB_UUID "22222222-0000-0000-0000-000000000002"
#define VM_GONE_UUID "deadbeef-0000-0000-0000-000000000009"
#define VM_MOVED_UUID "33333333-0000-0000-0000-000000000003"
#define SR_LOCAL_UUID "5e3f2a11-1111-2222-3333-444455556666"
#define SR_NFS_UUID "99999999-aaaa-bbbb-cccc-dddddddddddd"
#define WEIRD_NAME "we\"ird\\name\nx"
#define STATEFILE_UUID "5a7ef11e-0000-4000-8000-00000000000f"

static char test_dir[TMP_DIR_LEN];
static struct xs_rpc_arena *A;

/* ---- fixture: topology ---- */

static struct xs_rpc_value *S(const char *s)
{
	return xs_rpc_cstring(A, s);
}

static struct xs_rpc_value *B(bool b)
{
	return xs_rpc_bool(A, b);
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

static struct xs_rpc_value *refs(int n)
{
	struct xs_rpc_value *arr = xs_rpc_array(A);

	for (int i = 0; i < n; i++)
		xs_rpc_array_push(A, arr, S("OpaqueRef:cpu"));
	return arr;
}

static struct xs_topo *world_new(void)
{
	struct xs_topo *t = xs_topo_new();

	put(t, XS_TOPO_POOL, "OpaqueRef:pool",
	    rec("uuid", S("0f0f0f0f-0000-0000-0000-000000000000"), "name_label", S("Pool A"), "master",
		S(H1), NULL));
	put(t, XS_TOPO_HOST, H1,
	    rec("uuid", S(H1_UUID), "name_label", S("host-1"), "address", S("10.0.0.1"), "enabled",
		B(true), "metrics", S("OpaqueRef:hm-1"), NULL));
	put(t, XS_TOPO_HOST_METRICS, "OpaqueRef:hm-1",
	    rec("uuid", S("hm1"), "live", B(true), "memory_total", S("68719476736"), NULL));
	/* host-2 has smt=0: 2 CPUs in use, cpu1 and cpu3 parked (they read 1) */
	put(t, XS_TOPO_HOST, H2,
	    rec("uuid", S(H2_UUID), "name_label", S("host-2"), "host_CPUs", refs(2), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:vm-weird",
	    rec("uuid", S(VM_WEIRD_UUID), "name_label", S(WEIRD_NAME), "power_state", S("Running"),
		"resident_on", S(H1), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:vm-web",
	    rec("uuid", S(VM_WEB_UUID), "name_label", S("web"), "power_state", S("Running"),
		"resident_on", S(H1), NULL));
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-0",
	    rec("uuid", S("n0"), "name_label", S("Pool-wide network"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-0",
	    rec("uuid", S("vif0"), "VM", S("OpaqueRef:vm-web"), "network", S("OpaqueRef:net-0"),
		"device", S("0"), NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr-local",
	    rec("uuid", S(SR_LOCAL_UUID), "name_label", S("Local storage"), "type", S("lvm"), NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr-nfs",
	    rec("uuid", S(SR_NFS_UUID), "name_label", S("NFS"), "type", S("nfs"), "shared", B(true),
		NULL));
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-1",
	    rec("uuid", S("vdi1"), "name_label", S("web root"), "SR", S("OpaqueRef:sr-local"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-1",
	    rec("uuid", S("vbd1"), "VM", S("OpaqueRef:vm-web"), "VDI", S("OpaqueRef:vdi-1"), "device",
		S("xvda"), NULL));
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-eth0",
	    rec("uuid", S("ne0"), "name_label", S("Network 0"), NULL));
	put(t, XS_TOPO_PIF, "OpaqueRef:pif-eth0",
	    rec("uuid", S("pif0"), "device", S("eth0"), "host", S(H1), "network",
		S("OpaqueRef:net-eth0"), "VLAN", S("-1"), NULL));
	return t;
}

/* ---- fixture: store ---- */

static struct xs_store *store_open(void)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "";

	ok(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	return s;
}

/* A series of one sample v at t. */
static void add(struct xs_store *s, enum xs_obj_kind kind, const char *uuid, const char *ds,
		const char *unit, int64_t t, float v)
{
	char err[XS_ERR_LEN] = "";
	xs_series_id id;

	if (xs_store_series(s, kind, uuid, ds, unit, &id, err) != XS_OK ||
	    xs_store_append(s, id, t, v, err) != XS_OK)
		fprintf(stderr, "# series %s %s: %s\n", uuid, ds, err);
}

/* A series of one sample v at t with the unit the collector gives ds (collect/units.c). */
static void add_collected(struct xs_store *s, enum xs_obj_kind kind, const char *uuid, const char *ds,
			  int64_t t, float v)
{
	add(s, kind, uuid, ds, xs_collect_unit(kind, ds, strlen(ds)), t, v);
}

/* The fixture's series, interleaved so that families are not in catalog order. */
static void fill(struct xs_store *s)
{
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu_usage", "(fraction)", T0, 0.25f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu0", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "memory", "B", T0, 1073741824.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "memory_internal_free", "KiB", T0, 1000.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_rx", "B/s", T0, 1234.5f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_rx_errors", "err/s", T0, 0.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_read_latency", "\xce\xbcs", T0, 1500.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_io_throughput_read", "MiB/s", T0, 2.5f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_read", "B/s", T0, 4096.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_iops_read", "requests/s", T0, 3.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "memory_target", "B", T0 - 1000, 5.0f); /* stale */
	add(s, XS_OBJ_VM, VM_WEB_UUID, "runstate_fullrun", "(fraction)", T0, NAN);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "memory", "B", T0, 42.0f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "cpu_usage", "(fraction)", T0, 0.1f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "cpu1", "(fraction)", T0, 0.75f);
	add(s, XS_OBJ_VM, VM_GONE_UUID, "memory", "B", T0, 7.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "cpu0", "(fraction)", T0, 0.125f);
	add(s, XS_OBJ_HOST, H1_UUID, "cpu_avg", "(fraction)", T0, 0.3f);
	add(s, XS_OBJ_HOST, H1_UUID, "memory_total_kib", "KiB", T0, 100.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "pif_eth0_rx", "B/s", T0, 10.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "pif_aggr_rx", "B/s", T0, 11.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "read_latency_5e3f2a11", "\xce\xbcs", T0, 250.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "iops_read_5e3f2a11", "requests/s", T0, 9.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "iops_read_0badc0de", "requests/s", T0, 1.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "cpu0-C1", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_HOST, H1_UUID, "cpu0-P2", "(fraction)", T0, 0.25f);
	add(s, XS_OBJ_HOST, H1_UUID, "CPU0-avg-freq", "Hz", T0, 2.4e9f);
	add(s, XS_OBJ_HOST, H1_UUID, "Tapdisks_in_low_memory_mode", "", T0, 0.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "DCMI-power-reading", "W", T0, 180.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "sr_" SR_NFS_UUID "_cache_size", "B", T0, 512.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "odd.name-X", "furlongs", T0, -1.5f);
	/* HA's latencies with the unit the collector records for them (xcp-rrdd: "s") */
	add_collected(s, XS_OBJ_HOST, H1_UUID, "statefile/" STATEFILE_UUID "/latency", T0, 0.004f);
	add_collected(s, XS_OBJ_HOST, H1_UUID, "network/latency", T0, 0.5f);
	add_collected(s, XS_OBJ_HOST, H1_UUID, "xapi_healthcheck/latency", T0, 0.25f);
	add(s, XS_OBJ_HOST, H1_UUID, "pool_session_count", "", T0, 12.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "pool_task_count", "", T0, 3.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "gc_count", "", T0, 7.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "wait_sum", "s", T0, 2.0f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu0", "(fraction)", T0, 0.0625f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu1", "(fraction)", T0, 1.0f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu2", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu3", "(fraction)", T0, 1.0f);
	add(s, XS_OBJ_HOST, H1_UUID, "cpu1", "(fraction)", T0, 1.0f); /* host_CPUs unknown: kept */
	add(s, XS_OBJ_SR, SR_NFS_UUID, "size", "B", T0, 1e12f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu1", "(fraction)", T0, 0.0078125f);
}

static const struct xs_collect_host_status test_status[] = {
	{ .pool = "pool-a", .uuid = H1_UUID, .name = "host-1", .state = XS_COLLECT_IDLE,
	  .last_success = NOW - 2, .lag = 1.5, .latency = 0.02, .newest = T0, .clock_offset = -0.46,
	  .ahead = 0 },
	{ .pool = "pool-a", .uuid = H2_UUID, .name = "host-2", .state = XS_COLLECT_DOWN,
	  .last_success = 0, .lag = -1, .last_error = "not live", .clock_offset = NAN },
};

/* ---- a parser of the output ---- */

#define P_MAX_SAMPLES 512
#define P_MAX_LABELS 12
#define P_MAX_FAMILIES 256

struct p_sample {
	char name[PROM_NAME_MAX];
	char key[P_MAX_LABELS][64];
	char val[P_MAX_LABELS][256];
	int nlabels;
	double value;
	char text[64]; /* the value as written */
};

struct p_doc {
	struct p_sample s[P_MAX_SAMPLES];
	int n;
	char fam[P_MAX_FAMILIES][PROM_NAME_MAX];
	int help[P_MAX_FAMILIES], type[P_MAX_FAMILIES], closed[P_MAX_FAMILIES];
	int nfam;
	int errors;
};

static bool p_name_ok(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static int p_family(struct p_doc *d, const char *name, size_t n)
{
	for (int i = 0; i < d->nfam; i++)
		if (strlen(d->fam[i]) == n && !memcmp(d->fam[i], name, n))
			return i;
	if (d->nfam == P_MAX_FAMILIES || n >= PROM_NAME_MAX)
		return -1;
	memcpy(d->fam[d->nfam], name, n);
	d->fam[d->nfam][n] = '\0';
	return d->nfam++;
}

static int p_current = -1; /* the family whose lines are being read */

static void p_enter(struct p_doc *d, int f, const char *line)
{
	if (f < 0)
		return;
	if (f != p_current) {
		if (d->closed[f]) {
			fprintf(stderr, "# family %s not contiguous at: %s\n", d->fam[f], line);
			d->errors++;
		}
		if (p_current >= 0)
			d->closed[p_current] = 1;
		p_current = f;
	}
}

/* Parses label set at *pp (after '{'); false on a syntax error. */
static bool p_labels(struct p_sample *s, const char **pp)
{
	const char *p = *pp;

	while (*p != '}') {
		const char *k = p;
		size_t vn = 0;

		while (*p && *p != '=')
			p++;
		if (*p != '=' || p[1] != '"' || s->nlabels == P_MAX_LABELS || (size_t)(p - k) >= 64 ||
		    !p_name_ok(k, (size_t)(p - k), false))
			return false;
		memcpy(s->key[s->nlabels], k, (size_t)(p - k));
		s->key[s->nlabels][p - k] = '\0';
		for (p += 2; *p != '"'; p++) {
			char c = *p;

			if (c == '\0' || c == '\n' || vn + 1 >= 256)
				return false;
			if (c == '\\') {
				p++;
				c = *p == 'n' ? '\n' : *p == '\\' ? '\\' : *p == '"' ? '"' : 0;
				if (c == 0)
					return false;
			}
			s->val[s->nlabels][vn++] = c;
		}
		s->val[s->nlabels][vn] = '\0';
		s->nlabels++;
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return false;
	}
	*pp = p + 1;
	return true;
}

static void p_line(struct p_doc *d, const char *line)
{
	const char *p = line, *sp;
	struct p_sample *s;
	char *end;
	int f;

	if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
		bool help = line[2] == 'H';

		sp = strchr(line + 7, ' ');
		f = sp ? p_family(d, line + 7, (size_t)(sp - line - 7)) : -1;
		if (f < 0 || !p_name_ok(line + 7, (size_t)(sp - line - 7), true)) {
			fprintf(stderr, "# bad comment: %s\n", line);
			d->errors++;
			return;
		}
		p_enter(d, f, line);
		(help ? d->help : d->type)[f]++;
		if (!help && strcmp(sp + 1, "gauge") && strcmp(sp + 1, "counter"))
			d->errors++;
		return;
	}
	for (sp = p; *sp && *sp != '{' && *sp != ' '; sp++)
		;
	f = p_family(d, p, (size_t)(sp - p));
	if (f < 0 || d->n == P_MAX_SAMPLES || !p_name_ok(p, (size_t)(sp - p), true)) {
		fprintf(stderr, "# bad sample name: %s\n", line);
		d->errors++;
		return;
	}
	p_enter(d, f, line);
	if (!d->help[f] || !d->type[f]) {
		fprintf(stderr, "# sample before HELP/TYPE: %s\n", line);
		d->errors++;
	}
	s = &d->s[d->n++];
	memset(s, 0, sizeof(*s));
	memcpy(s->name, p, (size_t)(sp - p));
	p = sp;
	if (*p == '{') {
		p++;
		if (!p_labels(s, &p)) {
			fprintf(stderr, "# bad labels: %s\n", line);
			d->errors++;
			return;
		}
	}
	if (*p != ' ') {
		d->errors++;
		return;
	}
	snprintf(s->text, sizeof(s->text), "%s", p + 1);
	s->value = strtod(p + 1, &end);
	if (*end != '\0' || isnan(s->value) || strchr(p + 1, ' ')) {
		fprintf(stderr, "# bad value (or a timestamp): %s\n", line);
		d->errors++;
	}
}

static void p_parse(struct p_doc *d, char *text)
{
	char *line = text, *nl;

	memset(d, 0, sizeof(*d));
	p_current = -1;
	while ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		if (*line)
			p_line(d, line);
		else
			d->errors++;
		line = nl + 1;
	}
	if (*line)
		d->errors++; /* the last line ends with a newline */
}

static const char *p_label(const struct p_sample *s, const char *key)
{
	for (int i = 0; i < s->nlabels; i++)
		if (!strcmp(s->key[i], key))
			return s->val[i];
	return NULL;
}

/* The sample of family name whose labels include key=val (key NULL: the first). */
static const struct p_sample *p_find(const struct p_doc *d, const char *name, const char *key,
				     const char *val)
{
	for (int i = 0; i < d->n; i++) {
		const char *v;

		if (strcmp(d->s[i].name, name))
			continue;
		v = key ? p_label(&d->s[i], key) : NULL;
		if (!key || (v && !strcmp(v, val)))
			return &d->s[i];
	}
	return NULL;
}

static int p_count(const struct p_doc *d, const char *name)
{
	int n = 0;

	for (int i = 0; i < d->n; i++)
		n += !strcmp(d->s[i].name, name);
	return n;
}

/* ---- tests ---- */

static struct p_doc doc;

static char *run_metrics(struct xs_store *s, struct xs_topo *t, const struct xs_prom_self *self,
			 size_t *len)
{
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t }, { .name = "never", .topo = NULL } };
	struct xs_estate e = { .store = s, .pools = pools, .npools = 2, .status = test_status,
			       .nstatus = 2, .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	xs_buf_init(&out, 1 << 24);
	rc = xs_query_metrics(&e, self, NULL, &out, err);
	ok(rc == XS_OK, "metrics: %s", err);
	return xs_buf_take(&out, len);
}

static void check_structure(void)
{
	ok(doc.errors == 0, "no parse errors (%d)", doc.errors);
	for (int f = 0; f < doc.nfam; f++)
		ok(doc.help[f] == 1 && doc.type[f] == 1, "%s: one HELP (%d) and one TYPE (%d)",
		   doc.fam[f], doc.help[f], doc.type[f]);
}

static void check_value(const char *name, const char *key, const char *val, double want)
{
	const struct p_sample *s = p_find(&doc, name, key, val);

	/* values are float32 at the source: "0.1" stands for 0.1f */
	ok(s != NULL && (s->value == want || strtof(s->text, NULL) == (float)want), "%s{%s=%s} = %.17g (got %s)", name, key ? key : "",
	   val ? val : "", want, s ? s->text : "none");
}

static void check_vm(void)
{
	const struct p_sample *s;

	check_value("xapistat_vm_cpu_usage_ratio", "vm", "web", 0.25);
	s = p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm", "web");
	ok(s && !strcmp(p_label(s, "pool"), "pool-a") && !strcmp(p_label(s, "vm_uuid"), VM_WEB_UUID) &&
		   !strcmp(p_label(s, "host"), "host-1") && !strcmp(p_label(s, "host_uuid"), H1_UUID),
	   "VM labels");
	check_value("xapistat_vm_vcpu_usage_ratio", "vcpu", "0", 0.5);
	check_value("xapistat_vm_vcpu_usage_ratio", "vcpu", "1", 0.75); /* the weird VM's cpu1 */
	ok(p_count(&doc, "xapistat_vm_vcpu_usage_ratio") == 3, "3 vCPUs");
	check_value("xapistat_vm_memory_bytes", "vm", "web", 1073741824.0);
	check_value("xapistat_vm_memory_internal_free_bytes", "vm", "web", 1024000.0); /* KiB */
	check_value("xapistat_vm_network_receive_bytes_per_second", "vif", "0", 1234.5);
	s = p_find(&doc, "xapistat_vm_network_receive_bytes_per_second", "vif", "0");
	ok(s && !strcmp(p_label(s, "network"), "Pool-wide network"), "vif network label");
	check_value("xapistat_vm_network_receive_errors_per_second", "vif", "0", 0);
	check_value("xapistat_vm_disk_read_latency_seconds", "device", "xvda", 0.0015); /* µs */
	s = p_find(&doc, "xapistat_vm_disk_read_latency_seconds", "device", "xvda");
	ok(s && !strcmp(s->text, "0.0015"), "µs → s written shortest (%s)", s ? s->text : "");
	ok(s && !strcmp(p_label(s, "vdi"), "web root") && !strcmp(p_label(s, "sr"), "Local storage") &&
		   !strcmp(p_label(s, "sr_uuid"), SR_LOCAL_UUID),
	   "vbd labels");
	check_value("xapistat_vm_disk_io_throughput_read_bytes_per_second", "device", "xvda",
		    2.5 * 1048576); /* MiB/s */
	check_value("xapistat_vm_disk_read_bytes_per_second", "device", "xvda", 4096);
	check_value("xapistat_vm_disk_read_requests_per_second", "device", "xvda", 3);
	ok(p_find(&doc, "xapistat_vm_memory_target_bytes", NULL, NULL) == NULL, "stale series skipped");
	ok(p_find(&doc, "xapistat_vm_runstate_fullrun_ratio", NULL, NULL) == NULL, "NaN series skipped");
	/* escaping: the parser unescapes; the raw text has \" \\ \n */
	s = p_find(&doc, "xapistat_vm_memory_bytes", "vm_uuid", VM_WEIRD_UUID);
	ok(s && !strcmp(p_label(s, "vm"), WEIRD_NAME) && s->value == 42, "weird name round trip");
	check_value("xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEIRD_UUID, (double)0.1f);
	s = p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEIRD_UUID);
	ok(s && !strcmp(s->text, "0.1"), "float32 0.1 written as 0.1 (%s)", s ? s->text : "");
	/* a VM no topology knows (deleted) is not exported: with empty name labels it would be
	 * another series than the one it had under its names */
	ok(!p_find(&doc, "xapistat_vm_memory_bytes", "vm_uuid", VM_GONE_UUID), "deleted VM left out");
}

static void check_host(void)
{
	const struct p_sample *s;

	check_value("xapistat_host_cpu_usage_ratio", "host", "host-1", 0.125);
	check_value("xapistat_host_cpu_usage_ratio", "host", "host-2", 0.0625);
	{
		int h1 = 0, h2 = 0;
		bool parked = false;

		for (int i = 0; i < doc.n; i++) {
			const char *h = p_label(&doc.s[i], "host"), *cpu = p_label(&doc.s[i], "cpu");

			if (strcmp(doc.s[i].name, "xapistat_host_cpu_usage_ratio") || !h || !cpu)
				continue;
			h1 += !strcmp(h, "host-1");
			h2 += !strcmp(h, "host-2");
			parked |= !strcmp(h, "host-2") && (!strcmp(cpu, "1") || !strcmp(cpu, "3"));
		}
		ok(h2 == 2 && !parked && h1 == 2,
		   "smt=0: host-2's parked cpu1 and cpu3 left out (%d CPUs, parked %d); host-1 without "
		   "host_CPUs keeps its 2 (%d)", h2, parked, h1);
	}
	s = p_find(&doc, "xapistat_host_cpu_usage_ratio", "host", "host-1");
	ok(s && !strcmp(p_label(s, "cpu"), "0") && !strcmp(p_label(s, "host_uuid"), H1_UUID) &&
		   !strcmp(p_label(s, "pool"), "pool-a"),
	   "host labels");
	check_value("xapistat_host_cpu_avg_ratio", NULL, NULL, (double)0.3f);
	check_value("xapistat_host_memory_total_bytes", NULL, NULL, 102400); /* KiB, _kib dropped */
	check_value("xapistat_host_network_receive_bytes_per_second", "device", "eth0", 10);
	s = p_find(&doc, "xapistat_host_network_receive_bytes_per_second", "device", "eth0");
	ok(s && !strcmp(p_label(s, "network"), "Network 0"), "pif network");
	check_value("xapistat_host_network_aggregate_receive_bytes_per_second", NULL, NULL, 11);
	check_value("xapistat_host_sr_read_latency_seconds", "sr_uuid", SR_LOCAL_UUID, 0.00025);
	s = p_find(&doc, "xapistat_host_sr_read_latency_seconds", "sr_uuid", SR_LOCAL_UUID);
	ok(s && !strcmp(p_label(s, "sr"), "Local storage"), "per-SR: sr name from the prefix");
	check_value("xapistat_host_sr_read_requests_per_second", "sr_uuid", SR_LOCAL_UUID, 9);
	check_value("xapistat_host_sr_read_requests_per_second", "sr_uuid", "0badc0de", 1);
	check_value("xapistat_host_cpu_cstate_residency_ratio", "state", "C1", 0.5);
	check_value("xapistat_host_cpu_pstate_residency_ratio", "state", "P2", 0.25);
	check_value("xapistat_host_cpu_average_frequency_hertz", "cpu", "0", (double)2.4e9f);
	check_value("xapistat_host_tapdisks_in_low_memory_mode", NULL, NULL, 0);
	check_value("xapistat_host_dcmi_power_reading_watts", NULL, NULL, 180);
	check_value("xapistat_host_sr_cache_size_bytes", "sr", "NFS", 512);
	check_value("xapistat_host_odd_name_x_furlongs", NULL, NULL, -1.5);
	/* _count, _sum, _bucket end histograms' series only (promtool) */
	check_value("xapistat_host_ha_statefile_latency_seconds", "vdi_uuid", STATEFILE_UUID, (double)0.004f);
	check_value("xapistat_host_network_latency_seconds", NULL, NULL, 0.5);
	check_value("xapistat_host_xapi_healthcheck_latency_seconds", NULL, NULL, 0.25);
	check_value("xapistat_host_pool_sessions", NULL, NULL, 12);
	check_value("xapistat_host_pool_tasks", NULL, NULL, 3);
	check_value("xapistat_host_gc_count_value", NULL, NULL, 7);
	check_value("xapistat_host_wait_sum_seconds", NULL, NULL, 2);
	check_value("xapistat_sr_size_bytes", "sr", "NFS", 1e12f);
	s = p_find(&doc, "xapistat_sr_size_bytes", "sr", "NFS");
	ok(s && !strcmp(p_label(s, "sr_uuid"), SR_NFS_UUID) && !strcmp(p_label(s, "pool"), "pool-a"),
	   "SR labels");
}

static void check_self(bool with_self)
{
	const struct p_sample *s;

	check_value("xapistat_collector_up", "host", "host-1", 1);
	check_value("xapistat_collector_up", "host", "host-2", 0);
	check_value("xapistat_collector_lag_seconds", "host", "host-1", 1.5);
	ok(p_find(&doc, "xapistat_collector_lag_seconds", "host", "host-2") == NULL, "unknown lag");
	check_value("xapistat_collector_last_success_timestamp_seconds", "host_uuid", H1_UUID, NOW - 2);
	check_value("xapistat_collector_clock_offset_seconds", "host", "host-1", -0.5);
	ok(p_find(&doc, "xapistat_collector_clock_offset_seconds", "host", "host-2") == NULL,
	   "an offset not measured: no sample");
	check_value("xapistat_collector_ahead_of_clock_seconds", "host", "host-1", 0);
	ok(p_find(&doc, "xapistat_collector_ahead_of_clock_seconds", "host", "host-2") == NULL,
	   "no row stored: no sample of ahead");
	s = p_find(&doc, "xapistat_uptime_seconds", NULL, NULL);
	if (!with_self) {
		ok(s == NULL, "no self-metrics without self");
		return;
	}
	check_value("xapistat_uptime_seconds", NULL, NULL, 12.5);
	check_value("xapistat_store_dormant_series", NULL, NULL, 7);
	check_value("xapistat_store_damaged_blocks_total", NULL, NULL, 4);
	check_value("xapistat_store_unread_blocks_total", NULL, NULL, 6);
	check_value("xapistat_store_samples_ingested_total", NULL, NULL, 123456789);
	check_value("xapistat_process_resident_memory_bytes", NULL, NULL, 50331648);
	check_value("xapistat_process_cpu_seconds_total", NULL, NULL, 42.25);
	check_value("xapistat_process_start_time_seconds", NULL, NULL, 1700000000);
	check_value("xapistat_process_open_fds", NULL, NULL, 2100);
	check_value("xapistat_process_max_fds", NULL, NULL, 65536);
	check_value("xapistat_http_requests_total", NULL, NULL, 3);
	check_value("xapistat_http_held_reply_bytes", NULL, NULL, 65536);
	check_value("xapistat_http_stream_queued_bytes", NULL, NULL, 4096);
	check_value("xapistat_http_busy_refusals_total", NULL, NULL, 2);
	check_value("xapistat_http_connections_open", NULL, NULL, 17);
	check_value("xapistat_http_max_connections", NULL, NULL, 1024);
}

static void promtool(const char *text, size_t len)
{
	char path[128], cmd[256];
	FILE *f;
	int rc;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		printf("# promtool not installed: skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/metrics.txt", test_dir);
	f = fopen(path, "w");
	fail_unless(f != NULL && fwrite(text, 1, len, f) == len, "write %s", path);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < '%s' 1>&2", path);
	rc = system(cmd);
	ok(rc == 0, "promtool check metrics (exit %d)", rc);
}

static void test_metrics(void)
{
	struct xs_topo *t = world_new();
	struct xs_store *s;
	struct xs_prom_self self = { .uptime = 12.5, .store_series = 33, .store_dormant = 7,
				     .store_damaged_blocks_total = 4, .store_unread_blocks_total = 6,
				     .samples_total = 123456789,
				     .resident_bytes = 50331648, .http_requests_total = 3,
				     .http_held_bytes = 65536, .http_stream_queued_bytes = 4096,
				     .http_busy_total = 2,
				     .http_connections_open = 17, .http_max_connections = 1024,
				     .cpu_seconds = 42.25, .start_time = 1700000000,
				     .open_fds = 2100, .max_fds = 65536 };
	char err[XS_ERR_LEN];
	char *text;
	size_t len;

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	fill(s);
	text = run_metrics(s, t, &self, &len);
	fail_unless(text != NULL, "output");
	ok(strstr(text, "vm=\"we\\\"ird\\\\name\\nx\"") != NULL, "label escaped as \\\" \\\\ \\n");
	promtool(text, len);
	p_parse(&doc, text);
	check_structure();
	check_vm();
	check_host();
	check_self(true);
	free(text);
	text = run_metrics(s, t, NULL, &len);
	p_parse(&doc, text);
	check_structure();
	check_self(false);
	free(text);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
	xs_topo_free(&t);
}

/* The body of a filter over the test world, or NULL with *rc (err set). */
static char *run_filtered(struct xs_store *s, struct xs_topo *t, const struct xs_prom_self *self,
			  const char *pool, unsigned kinds, enum xs_err *rc, char *err)
{
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t }, { .name = "never", .topo = NULL } };
	struct xs_estate e = { .store = s, .pools = pools, .npools = 2, .status = test_status,
			       .nstatus = 2, .now = NOW };
	struct xs_prom_filter f = { pool, kinds };
	struct xs_buf out;

	xs_buf_init(&out, 1 << 24);
	*rc = xs_query_metrics(&e, self, &f, &out, err);
	if (*rc)
		return NULL;
	return out.data ? xs_buf_take(&out, NULL) : strdup(""); /* an empty body holds nothing */
}

/* Whether every family of doc starts with one of the prefixes (a NULL-ended list). */
static bool families_only(const struct p_doc *d, const char *const *prefixes)
{
	for (int f = 0; f < d->nfam; f++) {
		bool in = false;

		for (const char *const *p = prefixes; *p && !in; p++)
			in = !strncmp(d->fam[f], *p, strlen(*p));
		if (!in)
			return false;
	}
	return true;
}

/*
 * A shard of the body (GET /metrics?pool=&kind=): the pool by its section's
 * name or its uuid in any case (the whole body again here: every object is of
 * pool-a), a pool with no topology (nothing but the daemon's figures), an
 * unknown pool (XS_QUERY_NOT_FOUND naming it); each kind alone (the collector
 * families with the hosts); kinds parsed from "host,vm,sr,self".
 */
static void test_filter(void)
{
	static const char *const vm_only[] = { "xapistat_vm_", NULL };
	static const char *const host_only[] = { "xapistat_host_", "xapistat_collector_up",
						 "xapistat_collector_lag_",
						 "xapistat_collector_last_success_",
						 "xapistat_collector_clock_offset_",
						 "xapistat_collector_ahead_of_clock_", NULL };
	static const char *const self_only[] = { "xapistat_uptime", "xapistat_store_",
						 "xapistat_collector_backfills", "xapistat_collector_fetch",
						 "xapistat_collector_hosts_", "xapistat_http_",
						 "xapistat_process_", NULL };
	static const char *const sr_only[] = { "xapistat_sr_", NULL };
	struct xs_topo *t = world_new();
	struct xs_prom_self self = { .uptime = 1, .store_series = 3 };
	char err[XS_ERR_LEN] = "";
	char *all, *text;
	unsigned kinds;
	enum xs_err rc;
	size_t len;
	struct xs_store *s;

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	fill(s);
	all = run_metrics(s, t, &self, &len);
	fail_unless(all != NULL, "the whole body");
	text = run_filtered(s, t, &self, "pool-a", 0, &rc, err);
	ok(text && !strcmp(text, all), "pool by its section's name: the whole body here (%s)", err);
	free(text);
	text = run_filtered(s, t, &self, "0F0F0F0F-0000-0000-0000-000000000000", XS_PROM_KIND_ALL, &rc,
			    err);
	ok(text && !strcmp(text, all), "pool by its uuid, capitals too: the same (%s)", err);
	free(text);
	text = run_filtered(s, t, &self, "never", 0, &rc, err);
	fail_unless(text != NULL, "never: %s", err);
	p_parse(&doc, text);
	ok(doc.nfam > 10 && families_only(&doc, self_only),
	   "a pool with no topology: the daemon's figures alone (%d families)", doc.nfam);
	free(text);
	text = run_filtered(s, t, &self, "nope", 0, &rc, err);
	ok(!text && rc == XS_QUERY_NOT_FOUND &&
		   !strcmp(err, "pool: no pool is named \"nope\" (a pool section's name, or a pool's uuid)"),
	   "an unknown pool: not found (%s)", err);

	text = run_filtered(s, t, &self, NULL, XS_PROM_KIND_VM, &rc, err);
	fail_unless(text != NULL, "vm: %s", err);
	p_parse(&doc, text);
	check_structure();
	ok(doc.nfam > 3 && families_only(&doc, vm_only), "kind vm: VM families alone");
	ok(p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEB_UUID) != NULL,
	   "kind vm: a VM's sample");
	free(text);
	text = run_filtered(s, t, &self, "pool-a", XS_PROM_KIND_HOST, &rc, err);
	fail_unless(text != NULL, "host: %s", err);
	p_parse(&doc, text);
	check_structure();
	ok(families_only(&doc, host_only) && p_count(&doc, "xapistat_collector_up") == 2 &&
		   p_find(&doc, "xapistat_host_memory_total_bytes", "host_uuid", H1_UUID) != NULL,
	   "kind host: the hosts' families and the collector's (%d families)", doc.nfam);
	free(text);
	text = run_filtered(s, t, &self, NULL, XS_PROM_KIND_SR, &rc, err);
	fail_unless(text != NULL, "sr: %s", err);
	p_parse(&doc, text);
	ok(doc.nfam > 0 && families_only(&doc, sr_only), "kind sr: SR families alone");
	free(text);
	text = run_filtered(s, t, &self, NULL, XS_PROM_KIND_SELF, &rc, err);
	fail_unless(text != NULL, "self: %s", err);
	p_parse(&doc, text);
	ok(doc.nfam > 10 && families_only(&doc, self_only) &&
		   p_count(&doc, "xapistat_uptime_seconds") == 1,
	   "kind self: the daemon's figures alone (%d families)", doc.nfam);
	free(text);
	text = run_filtered(s, t, NULL, NULL, XS_PROM_KIND_SELF, &rc, err);
	ok(text && !*text, "kind self without figures: an empty body (%s)", text ? text : err);
	free(text);

	ok(xs_prom_kinds_parse("host,vm,sr,self", &kinds, err) == XS_OK && kinds == XS_PROM_KIND_ALL,
	   "kinds: all four (%s)", err);
	ok(xs_prom_kinds_parse("sr", &kinds, err) == XS_OK && kinds == XS_PROM_KIND_SR, "kinds: sr");
	ok(xs_prom_kinds_parse("vm,host", &kinds, err) == XS_OK &&
		   kinds == (XS_PROM_KIND_VM | XS_PROM_KIND_HOST),
	   "kinds: any order");
	ok(xs_prom_kinds_parse("vm,vm", &kinds, err) == XS_ERR_ARG && !strcmp(err, "kind: vm given twice"),
	   "kinds twice: %s", err);
	ok(xs_prom_kinds_parse("vm,", &kinds, err) == XS_ERR_ARG &&
		   !strcmp(err, "kind: \"\" is not host, vm, sr or self (comma-separated)"),
	   "kinds, an empty one: %s", err);
	ok(xs_prom_kinds_parse("VM", &kinds, err) == XS_ERR_ARG, "kinds are lower case: %s", err);
	ok(xs_prom_kinds_parse("pool", &kinds, err) == XS_ERR_ARG &&
		   !strcmp(err, "kind: \"pool\" is not host, vm, sr or self (comma-separated)"),
	   "kinds, another word: %s", err);
	ok(xs_prom_kinds_parse("", &kinds, err) == XS_ERR_ARG, "kinds: empty");
	free(all);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
	xs_topo_free(&t);
}

/* The cap: XS_ERR_TOO_LARGE, message set, nothing leaked. */
static void test_cap(void)
{
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .status = test_status, .nstatus = 2,
			       .now = NOW };
	struct xs_store *s;
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	fill(s);
	e.store = s;
	xs_buf_init(&out, 1000);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_ERR_TOO_LARGE && out.len == 0 && *err,
	   "over the cap: %s", err);
	xs_buf_free(&out);
	e.store = NULL; /* no store: the collector families only */
	xs_buf_init(&out, 1 << 20);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK && strstr(out.data, "xapistat_collector_up{"),
	   "no store");
	xs_buf_free(&out);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
	xs_topo_free(&t);
}

static void check_float(float f, const char *want)
{
	char buf[48];

	prom_float(buf, f);
	ok(!strcmp(buf, want), "%.9g → %s (got %s)", (double)f, want, buf);
}

static void test_float(void)
{
	char buf[48];
	uint32_t bits = 0x12345678;
	int bad = 0;

	check_float(0.0f, "0");
	check_float(-0.0f, "0");
	check_float(1.0f, "1");
	check_float(-3.0f, "-3");
	check_float(0.1f, "0.1");
	check_float(0.3f, "0.3");
	check_float(1234.5f, "1234.5");
	check_float(0.0015f, "0.0015");
	check_float(1e-10f, "1e-10");
	check_float(1.5e-5f, "0.000015");
	check_float(1.5e-6f, "1.5e-06");
	check_float(1.5e15f, "1500000014041088"); /* integers exactly: bytes stay bytes */
	check_float(1.5e16f, "1.5e+16");
	check_float(-1.2298726e+18f, "-1.2298726e+18");
	check_float(3.4028235e38f, "3.4028235e+38");
	check_float(1.17549435e-38f, "1.1754944e-38");
	check_float(1e-45f, "1e-45");
	check_float(16777216.0f, "16777216");
	check_float(0.099999994f, "0.099999994");
	check_float(INFINITY, "+Inf");
	check_float(-INFINITY, "-Inf");
	/* random bit patterns: strtof reads every output back to the same float */
	for (int i = 0; i < 200000; i++) {
		float f;

		bits ^= bits << 13;
		bits ^= bits >> 17;
		bits ^= bits << 5;
		memcpy(&f, &bits, sizeof(f));
		if (isnan(f) || isinf(f))
			continue;
		prom_float(buf, f);
		if (strtof(buf, NULL) != f || strlen(buf) > 18) {
			if (bad++ < 5)
				fprintf(stderr, "# %.9g → %s\n", (double)f, buf);
		}
	}
	ok(bad == 0, "round trip of random floats (%d bad)", bad);
}

static void test_escape(void)
{
	struct xs_buf b;

	xs_buf_init(&b, 1024);
	ok(prom_escape(&b, "a\"b\\c\nd", 7, false) == XS_OK && !strcmp(b.data, "a\\\"b\\\\c\\nd"),
	   "label: %s", b.data);
	xs_buf_reset(&b);
	ok(prom_escape(&b, "a\"b\\c\nd", 7, true) == XS_OK && !strcmp(b.data, "a\"b\\\\c\\nd"),
	   "help keeps quotes: %s", b.data);
	xs_buf_reset(&b);
	ok(prom_escape(&b, "x\xffy\xc3\xa9z\xe2\x82", 9, false) == XS_OK &&
		   !strcmp(b.data, "x\xef\xbf\xbdy\xc3\xa9z\xef\xbf\xbd\xef\xbf\xbd"),
	   "invalid UTF-8 → U+FFFD, valid kept");
	xs_buf_free(&b);
}

/* A sample of family name for object vm_uuid whose label key is val. */
static const struct p_sample *p_find_vm(const char *name, const char *vm_uuid, const char *key,
					const char *val)
{
	for (int i = 0; i < doc.n; i++) {
		const struct p_sample *x = &doc.s[i];
		const char *u = p_label(x, "vm_uuid"), *v = p_label(x, key);

		if (!strcmp(x->name, name) && u && !strcmp(u, vm_uuid) && v && !strcmp(v, val))
			return x;
	}
	return NULL;
}

/*
 * Device labels are resolved once per (object, device) and remembered per
 * device name for the object seen last; a catalog whose objects' series
 * interleave (a VIF hot-plugged later, series of two VMs alternating) must
 * still give each VM its own network and VDI, with one entry per device.
 */
static void test_scattered(void)
{
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .now = NOW };
	const struct p_sample *x;
	struct xs_prom_body *b;
	const struct prom_ctx *c;
	struct xs_buf out;
	struct xs_store *s;
	char err[XS_ERR_LEN] = "", piece[4096];
	size_t n;

	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-b",
	    rec("uuid", S("nb"), "name_label", S("Backup network"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-w0",
	    rec("uuid", S("vifw0"), "VM", S("OpaqueRef:vm-weird"), "network", S("OpaqueRef:net-b"),
		"device", S("0"), NULL));
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-w",
	    rec("uuid", S("vdiw"), "name_label", S("weird root"), "SR", S("OpaqueRef:sr-nfs"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-w",
	    rec("uuid", S("vbdw"), "VM", S("OpaqueRef:vm-weird"), "VDI", S("OpaqueRef:vdi-w"),
		"device", S("xvda"), NULL));
	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_rx", "B/s", T0, 1.0f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "vif_0_rx", "B/s", T0, 2.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_tx", "B/s", T0, 3.0f);   /* web again: scattered */
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "vbd_xvda_read", "B/s", T0, 4.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_read", "B/s", T0, 5.0f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "vif_0_tx", "B/s", T0, 6.0f); /* weird again */
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "vbd_xvda_write", "B/s", T0, 7.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xvda_write", "B/s", T0, 8.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu0", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "cpu0", "(fraction)", T0, 0.25f);
	e.store = s;

	/* the working state, to count the device entries */
	ok(xs_prom_body_start(&e, NULL, NULL, &b, err) == XS_OK, "start: %s", err);
	c = &b->c;
	ok(c->rc == XS_OK && c->nsmp == 10, "10 samples (%zu)", c->nsmp);
	ok(c->ndev == 5, "one entry per (VM, device) and one per vCPU name (%zu)", c->ndev);
	ok(c->nobj == 2 && c->obj[0].scattered && c->obj[1].scattered, "both VMs scattered");
	xs_buf_init(&out, 1 << 20);
	while (xs_prom_body_read(b, piece, sizeof(piece), &n) == XS_OK && n > 0 &&
	       xs_buf_append(&out, piece, n) == XS_OK)
		;
	xs_prom_body_free(&b);
	p_parse(&doc, out.data);
	check_structure();
	for (int i = 0; i < 2; i++) {
		const char *vm = i ? VM_WEIRD_UUID : VM_WEB_UUID;
		const char *net = i ? "Backup network" : "Pool-wide network";
		const char *vdi = i ? "weird root" : "web root", *sr = i ? "NFS" : "Local storage";

		x = p_find_vm("xapistat_vm_network_receive_bytes_per_second", vm, "vif", "0");
		ok(x && !strcmp(p_label(x, "network"), net) && x->value == (i ? 2 : 1), "rx network %d", i);
		x = p_find_vm("xapistat_vm_network_transmit_bytes_per_second", vm, "vif", "0");
		ok(x && !strcmp(p_label(x, "network"), net) && x->value == (i ? 6 : 3), "tx network %d", i);
		x = p_find_vm("xapistat_vm_disk_read_bytes_per_second", vm, "device", "xvda");
		ok(x && !strcmp(p_label(x, "vdi"), vdi) && !strcmp(p_label(x, "sr"), sr) &&
			   x->value == (i ? 4 : 5), "read vdi %d", i);
		x = p_find_vm("xapistat_vm_disk_write_bytes_per_second", vm, "device", "xvda");
		ok(x && !strcmp(p_label(x, "vdi"), vdi) && x->value == (i ? 7 : 8), "write vdi %d", i);
		x = p_find_vm("xapistat_vm_vcpu_usage_ratio", vm, "vcpu", "0");
		ok(x && x->value == (i ? 0.25 : 0.5), "vcpu %d", i);
	}
	xs_buf_free(&out);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
	xs_topo_free(&t);
}

/* Many VMs: every series comes out once, in contiguous families; the time is printed. */
/* Every "# HELP name " line of body names a different family. */
static void check_heads_once(const char *body)
{
	int heads = 0, repeated = 0;

	for (const char *p = strstr(body, "# HELP "); p; p = strstr(p + 1, "# HELP ")) {
		size_t n = strcspn(p + 7, " ") + 8;

		heads++;
		for (const char *q = strstr(p + 1, "# HELP "); q; q = strstr(q + 1, "# HELP "))
			repeated += !strncmp(p, q, n);
	}
	ok(heads > 0 && repeated == 0, "%d families, each head once (%d repeated)", heads, repeated);
}

/*
 * The body read through xs_prom_body_read in pieces of 1 to 4,999 bytes is
 * want, byte for byte, although the store is closed and the topology freed
 * before the first read: after the start nothing reads them.
 */
static void check_pieces(const struct xs_estate *e, struct xs_store **s, struct xs_topo **t,
			 const struct xs_buf *want)
{
	struct xs_prom_body *b;
	struct xs_buf got;
	char err[XS_ERR_LEN] = "", piece[5000];
	size_t n, max = 1, reads = 0, over = 0;
	enum xs_err rc;

	ok(xs_prom_body_start(e, NULL, NULL, &b, err) == XS_OK, "body start: %s", err);
	ok(xs_store_close(s, err) == XS_OK, "close: %s", err);
	xs_topo_free(t);
	xs_buf_init(&got, 1u << 30);
	while ((rc = xs_prom_body_read(b, piece, max, &n)) == XS_OK && n > 0) {
		over += n > max;
		if (xs_buf_append(&got, piece, n))
			break;
		reads++;
		max = max * 7 % 4999 + 1;
	}
	ok(rc == XS_OK && got.len == want->len && !memcmp(got.data, want->data, want->len),
	   "the same body in %zu pieces (%zu of %zu bytes)", reads, got.len, want->len);
	ok(over == 0, "no read gives more than asked (%zu did)", over);
	ok(xs_prom_body_read(b, piece, sizeof(piece), &n) == XS_OK && n == 0, "still at the end");
	xs_prom_body_free(&b);
	ok(b == NULL, "free clears the pointer");
	xs_buf_free(&got);
}

/*
 * Which series are current, by each host's own clock: host-1's clock is 400 s
 * behind ours (its rows still export), a VIF of the web VM removed a minute
 * before the host's newest row does not, nor the series of a VM the topology
 * says is halted though its last sample is recent; host-2, not fetched for
 * 400 s of our clock, exports nothing though its clock says its sample is new.
 * Then host-1's fetches go on succeeding with its rows 400 s behind its clock (a
 * hung xcp-rrdd behind a working xapi): it and its VMs export nothing.
 */
static void test_fresh(void)
{
	const int64_t behind = 400, hnew = (int64_t)NOW - 400 - 2; /* host-1's newest row */
	struct xs_collect_host_status status[] = {
		{ .pool = "pool-a", .uuid = H1_UUID, .name = "host-1", .state = XS_COLLECT_IDLE,
		  .last_success = NOW - 2, .lag = 0, .newest = hnew },
		{ .pool = "pool-a", .uuid = H2_UUID, .name = "host-2", .state = XS_COLLECT_DOWN,
		  .last_success = NOW - behind, .lag = -1, .newest = T0 - 5 },
	};
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .status = status, .nstatus = 2,
			       .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";
	struct xs_store *s;
	char *text;

	put(t, XS_TOPO_VM, "OpaqueRef:vm-off",
	    rec("uuid", S(VM_GONE_UUID), "name_label", S("off"), "power_state", S("Halted"), NULL));
	/* migrated to host-1 from a host an hour ahead: its series is stuck at that clock */
	put(t, XS_TOPO_VM, "OpaqueRef:vm-moved",
	    rec("uuid", S(VM_MOVED_UUID), "name_label", S("moved"), "power_state", S("Running"),
		"resident_on", S(H1), NULL));
	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	add(s, XS_OBJ_HOST, H1_UUID, "cpu0", "(fraction)", hnew, 0.125f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu_usage", "(fraction)", hnew, 0.25f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_rx", "B/s", hnew - 60, 1234.5f); /* VIF removed */
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "cpu_usage", "(fraction)", hnew - 5, 0.5f); /* in grace */
	add(s, XS_OBJ_VM, VM_GONE_UUID, "cpu_usage", "(fraction)", T0 - 5, 0.75f);
	add(s, XS_OBJ_VM, VM_MOVED_UUID, "cpu_usage", "(fraction)", hnew + 3600, 0.375f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu0", "(fraction)", T0 - 5, 0.0625f);
	add(s, XS_OBJ_SR, SR_NFS_UUID, "size", "B", T0 - 280, 1e12f); /* our clock: 292 s */
	add(s, XS_OBJ_SR, SR_LOCAL_UUID, "size", "B", T0 - 300, 2e12f); /* 312 s */
	e.store = s;
	xs_buf_init(&out, 1 << 24);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK, "metrics: %s", err);
	text = xs_buf_take(&out, NULL);
	p_parse(&doc, text);
	check_value("xapistat_host_cpu_usage_ratio", "host", "host-1", 0.125);
	check_value("xapistat_vm_cpu_usage_ratio", "vm", "web", 0.25);
	check_value("xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEIRD_UUID, 0.5);
	ok(!p_find(&doc, "xapistat_vm_network_receive_bytes_per_second", NULL, NULL),
	   "a VIF a minute older than its host's newest row is not exported");
	ok(!p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_GONE_UUID),
	   "a halted VM's recent sample is not exported");
	ok(!p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_MOVED_UUID),
	   "a sample an hour past its host's clock (another host's) is not exported");
	ok(!p_find(&doc, "xapistat_host_cpu_usage_ratio", "host", "host-2"),
	   "a host not fetched for %lld s exports nothing", (long long)behind);
	ok(p_find(&doc, "xapistat_sr_size_bytes", "sr_uuid", SR_NFS_UUID) &&
		   !p_find(&doc, "xapistat_sr_size_bytes", "sr_uuid", SR_LOCAL_UUID),
	   "an SR goes by our clock: 292 s old exported, 312 s not");
	free(text);
	status[0].lag = behind;
	xs_buf_init(&out, 1 << 24);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK, "metrics: %s", err);
	text = xs_buf_take(&out, NULL);
	p_parse(&doc, text);
	ok(!p_find(&doc, "xapistat_host_cpu_usage_ratio", "host", "host-1") &&
		   !p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm", "web") &&
		   p_find(&doc, "xapistat_collector_up", "host", "host-1"),
	   "a host whose rows are %lld s behind its clock exports none of its series, its "
	   "collector's still", (long long)behind);
	free(text);
	xs_store_close(&s, err);
	xs_topo_free(&t);
	tmp_dir_remove(test_dir);
}

/*
 * A host two pools' collectors list (moved to pool-b while pool-a, whose topology
 * still has it, was disconnected): its collector series once, from the entry fetched
 * last, and its own series exported by that entry's freshness (the stale entry, never
 * fetched, would have hidden them).
 */
static void test_host_twice(void)
{
	const int64_t hnew = (int64_t)NOW - 2;
	struct xs_collect_host_status status[] = {
		{ .pool = "pool-b", .uuid = H1_UUID, .name = "host-1", .state = XS_COLLECT_IDLE,
		  .last_success = NOW - 2, .lag = 0, .newest = hnew, .clock_offset = NAN },
		{ .pool = "pool-a", .uuid = H1_UUID, .name = "host-1", .state = XS_COLLECT_DOWN,
		  .last_success = NOW - 900, .lag = -1, .newest = hnew - 900, .clock_offset = NAN },
	};
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .status = status, .nstatus = 2,
			       .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";
	struct xs_store *s;
	char *text;

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	add(s, XS_OBJ_HOST, H1_UUID, "cpu0", "(fraction)", hnew, 0.125f);
	e.store = s;
	for (int order = 0; order < 2; order++) {
		if (order) { /* the other order of the status list: the same answer */
			struct xs_collect_host_status tmp = status[0];

			status[0] = status[1];
			status[1] = tmp;
		}
		xs_buf_init(&out, 1 << 24);
		ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK, "metrics: %s", err);
		text = xs_buf_take(&out, NULL);
		p_parse(&doc, text);
		ok(doc.errors == 0, "order %d: a valid document (%d errors)", order, doc.errors);
		ok(p_count(&doc, "xapistat_collector_up") == 1 &&
			   p_count(&doc, "xapistat_collector_last_success_timestamp_seconds") == 1,
		   "order %d: the host's collector series once (up %d)", order,
		   p_count(&doc, "xapistat_collector_up"));
		check_value("xapistat_collector_up", "host_uuid", H1_UUID, 1);
		check_value("xapistat_host_cpu_usage_ratio", "host", "host-1", 0.125);
		free(text);
	}
	xs_store_close(&s, err);
	xs_topo_free(&t);
	tmp_dir_remove(test_dir);
}

/*
 * The collector families name a host as its own series do (pool and host from
 * the topology): a host whose name is empty (the collector's status says its
 * uuid instead) and one whose name is longer than the status keeps (cut at
 * XS_COLLECT_NAME_LEN - 1 bytes) join their series on pool, host and host_uuid.
 */
static void test_host_names(void)
{
	char longname[200];
	struct xs_collect_host_status status[2] = {
		{ .pool = "pool-a", .uuid = H1_UUID, .name = H1_UUID, .state = XS_COLLECT_IDLE,
		  .last_success = NOW - 2, .lag = 0, .newest = T0 },
		{ .pool = "pool-a", .uuid = H2_UUID, .state = XS_COLLECT_IDLE,
		  .last_success = NOW - 2, .lag = 0, .newest = T0 },
	};
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .status = status, .nstatus = 2,
			       .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";
	struct xs_store *s;
	char *text;

	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(status[1].name, longname, sizeof(status[1].name) - 1); /* cut, as the collector does */
	put(t, XS_TOPO_HOST, H1, rec("uuid", S(H1_UUID), "name_label", S(""), NULL));
	put(t, XS_TOPO_HOST, H2, rec("uuid", S(H2_UUID), "name_label", S(longname), NULL));
	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	add(s, XS_OBJ_HOST, H1_UUID, "cpu_avg", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_HOST, H2_UUID, "cpu_avg", "(fraction)", T0, 0.25f);
	e.store = s;
	xs_buf_init(&out, 1 << 24);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK, "metrics: %s", err);
	text = xs_buf_take(&out, NULL);
	p_parse(&doc, text);
	check_structure();
	for (int i = 0; i < 2; i++) {
		const char *uuid = i ? H2_UUID : H1_UUID, *want = i ? longname : "";
		const struct p_sample *h = p_find(&doc, "xapistat_host_cpu_avg_ratio", "host_uuid", uuid);
		const struct p_sample *up = p_find(&doc, "xapistat_collector_up", "host_uuid", uuid);
		const char *hn = h ? p_label(h, "host") : NULL, *un = up ? p_label(up, "host") : NULL;

		ok(hn && un && !strcmp(hn, want) && !strcmp(un, want) &&
			   !strcmp(p_label(up, "pool"), p_label(h, "pool")),
		   "host %s: collector_up host=\"%.20s\" (%zu bytes), its series host=\"%.20s\" (%zu bytes)",
		   uuid, un ? un : "(none)", un ? strlen(un) : 0, hn ? hn : "(none)", hn ? strlen(hn) : 0);
	}
	free(text);
	xs_store_close(&s, err);
	xs_topo_free(&t);
	tmp_dir_remove(test_dir);
}

/*
 * DS names a family name cannot tell apart (cpu_usage and cpu.usage of one VM)
 * made the same series twice with two values, which Prometheus refuses (found
 * by fuzz/prom_metrics.c): the first in the catalog is kept, for every object
 * that has both; an object with one of them keeps it. Two devices of one
 * family (vif 0 and 1) stay two series; two whose names differ only in bytes
 * that are not UTF-8 (labels show U+FFFD for each) are one.
 */
static void test_same_series(void)
{
	struct xs_topo *t = world_new();
	struct xs_store *s;
	char *text, err[XS_ERR_LEN] = "";
	size_t len, web = 0, weird = 0, vif = 0, vbd = 0;
	const struct p_sample *p;

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu_usage", "(fraction)", T0, 0.25f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_0_rx", "B/s", T0, 10.0f);
	add(s, XS_OBJ_VM, VM_WEIRD_UUID, "cpu.usage", "(fraction)", T0, 0.75f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "cpu.usage", "(fraction)", T0, 0.5f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "VIF_0_RX", "B/s", T0, 20.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vif_1_rx", "B/s", T0, 30.0f);
	/* two devices whose names differ only in bytes that are not UTF-8: one label, one device */
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xv\xff_read", "B/s", T0, 1.0f);
	add(s, XS_OBJ_VM, VM_WEB_UUID, "vbd_xv\xfe_read", "B/s", T0, 2.0f);
	text = run_metrics(s, t, NULL, &len);
	p_parse(&doc, text);
	check_structure();
	for (int i = 0; i < doc.n; i++) {
		const char *vm = p_label(&doc.s[i], "vm_uuid");

		if (!strcmp(doc.s[i].name, "xapistat_vm_cpu_usage_ratio") && vm) {
			web += !strcmp(vm, VM_WEB_UUID);
			weird += !strcmp(vm, VM_WEIRD_UUID);
		}
		vif += !strcmp(doc.s[i].name, "xapistat_vm_network_receive_bytes_per_second");
		vbd += !strcmp(doc.s[i].name, "xapistat_vm_disk_read_bytes_per_second");
	}
	ok(web == 1 && weird == 1, "cpu_usage ratio: web %zu line(s), weird %zu", web, weird);
	p = p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEB_UUID);
	ok(p && p->value == 0.25, "web keeps the first: %g", p ? p->value : -1.0);
	p = p_find(&doc, "xapistat_vm_cpu_usage_ratio", "vm_uuid", VM_WEIRD_UUID);
	ok(p && p->value == 0.75, "weird keeps its only one: %g", p ? p->value : -1.0);
	ok(vif == 2, "vif 0 once, vif 1 once: %zu lines", vif);
	ok(vbd == 1, "vbd xv\\xff and xv\\xfe (both xv\\uFFFD) once: %zu lines", vbd);
	free(text);
	xs_store_close(&s, err);
	xs_topo_free(&t);
	tmp_dir_remove(test_dir);
}

static void test_many(void)
{
	enum { NVM = 2000 };
	static const char *const ds[] = { "cpu0", "cpu1", "cpu_usage", "memory", "vif_0_rx", "vif_0_tx",
					  "vbd_xvda_read", "vbd_xvda_write", "vbd_xvda_read_latency" };
	static const char *const unit[] = { "(fraction)", "(fraction)", "(fraction)", "B", "B/s",
					    "B/s", "B/s", "B/s", "\xce\xbcs" };
	struct xs_topo *t = xs_topo_new();
	struct xs_store *s;
	struct xs_estate_pool pools[] = { { .name = "big", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "", uuid[64], ref[64];
	struct timespec a, b;
	size_t lines = 0;

	tmp_dir_new(test_dir, "prom");
	s = store_open();
	fail_unless(s != NULL, "store");
	for (int v = 0; v < NVM; v++) {
		snprintf(uuid, sizeof(uuid), "%08x-0000-0000-0000-%012d", v * 2654435761u, v);
		snprintf(ref, sizeof(ref), "OpaqueRef:vm-%d", v);
		put(t, XS_TOPO_VM, ref, rec("uuid", S(uuid), "name_label", S(ref + 10), NULL));
		for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++)
			add(s, XS_OBJ_VM, uuid, ds[k], unit[k], T0, (float)(v + k));
	}
	e.store = s;
	xs_buf_init(&out, 1u << 30);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ok(xs_query_metrics(&e, NULL, NULL, &out, err) == XS_OK, "metrics: %s", err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("# %d series: %.1f ms, %zu bytes (ASan build)\n", NVM * 9,
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6, out.len);
	for (size_t i = 0; i < out.len; i++)
		lines += (i == 0 || out.data[i - 1] == '\n') && out.data[i] != '#';
	ok(lines == (size_t)NVM * 9, "every series once (%zu sample lines)", lines);
	ok(strstr(out.data, "# TYPE xapistat_vm_vcpu_usage_ratio gauge\n") != NULL, "family");
	check_heads_once(out.data);
	check_pieces(&e, &s, &t, &out);
	xs_buf_free(&out);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	A = xs_rpc_arena_new();
	TEST_RUN(test_float);
	TEST_RUN(test_escape);
	TEST_RUN(test_metrics);
	TEST_RUN(test_filter);
	TEST_RUN(test_cap);
	TEST_RUN(test_scattered);
	TEST_RUN(test_many);
	TEST_RUN(test_fresh);
	TEST_RUN(test_host_twice);
	TEST_RUN(test_host_names);
	TEST_RUN(test_same_series);
	xs_rpc_arena_free(&A);
	return test_summary();
}
