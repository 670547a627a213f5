/*
 * tests/unit/query/objects.c - GET /api/v1/objects (src/query/objects.c) and
 * GET /api/v1/status (src/query/status.c) on a hand-built topology: the
 * output parsed back by a strict JSON parser (below) and checked: the keys,
 * templates and snapshots excluded, control domains flagged, a halted VM
 * with host null, collection status merged by host uuid, string escaping
 * (quotes, backslash, newline, control characters, invalid UTF-8), pool
 * health counts and errors (a duplicate pool: left out of objects, listed by
 * status with why), host health rules, the cap; and the devices of VMs and hosts
 * (vifs, vbds, pifs) found in a store's series and named from the topology:
 * each device once, natural order, unknown names "", no series: [].
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_scan.h"
#include "query/objects.h"
#include "query/status.h"
#include "test.h"

#define NOW 1700006412.0
#define H1 "OpaqueRef:host-1"
#define H1_UUID "aaaaaaaa-0000-0000-0000-000000000001"
#define H2 "OpaqueRef:host-2"
#define H2_UUID "aaaaaaaa-0000-0000-0000-000000000002"
#define H3 "OpaqueRef:host-3"
#define H3_UUID "aaaaaaaa-0000-0000-0000-000000000003"
#define POOL_UUID "0f0f0f0f-0000-0000-0000-000000000000"
#define WEIRD_NAME "we\"ird\\name\nx\x01\xff"
#define WEIRD_JSON "we\\\"ird\\\\name\\nx\\u0001\xef\xbf\xbd"
#define VM_WEB_UUID "22222222-0000-0000-0000-000000000002"
#define VM_WEIRD_UUID "11111111-0000-0000-0000-000000000001"
#define VM_DB_UUID "33333333-0000-0000-0000-000000000003"
#define SR_LOCAL_UUID "5e3f2a11-1111-2222-3333-444455556666"

static struct xs_rpc_arena *A;

/* ---- fixture ---- */

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

static struct xs_rpc_value *strings(const char *a, const char *b)
{
	struct xs_rpc_value *arr = xs_rpc_array(A);

	if (a)
		xs_rpc_array_push(A, arr, S(a));
	if (b)
		xs_rpc_array_push(A, arr, S(b));
	return arr;
}

static void put(struct xs_topo *t, enum xs_topo_class c, const char *ref, struct xs_rpc_value *r)
{
	char err[XS_ERR_LEN];

	if (xs_topo_apply(t, c, ref, r, err) != XS_OK)
		fprintf(stderr, "# apply %s: %s\n", ref, err);
}

static void put_vm(struct xs_topo *t, const char *ref, const char *uuid, const char *name,
		   const char *power, const char *host, const char *flag)
{
	struct xs_rpc_value *r = rec("uuid", S(uuid), "name_label", S(name), "power_state", S(power),
				     "resident_on", S(host), "VCPUs_at_startup", S("2"),
				     "memory_static_max", S("2147483648"), NULL);

	if (flag != NULL)
		xs_rpc_struct_cset(A, r, flag, B(true));
	put(t, XS_TOPO_VM, ref, r);
}

static struct xs_topo *world_new(void)
{
	struct xs_topo *t = xs_topo_new();

	put(t, XS_TOPO_POOL, "OpaqueRef:pool",
	    rec("uuid", S(POOL_UUID), "name_label", S("Pool A"), "master", S(H1), NULL));
	put(t, XS_TOPO_HOST, H1,
	    rec("uuid", S(H1_UUID), "name_label", S("host-1"), "address", S("10.0.0.1"), "enabled",
		B(true), "metrics", S("OpaqueRef:hm-1"), "host_CPUs", strings("c0", "c1"), NULL));
	put(t, XS_TOPO_HOST_METRICS, "OpaqueRef:hm-1",
	    rec("uuid", S("hm1"), "live", B(true), "memory_total", S("68719476736"), NULL));
	put(t, XS_TOPO_HOST, H2, rec("uuid", S(H2_UUID), "name_label", S("host-2"), NULL));
	put(t, XS_TOPO_HOST, H3, rec("uuid", S(H3_UUID), "name_label", S("host-3"), NULL));
	put_vm(t, "OpaqueRef:vm-web", "22222222-0000-0000-0000-000000000002", "web", "Running", H1, NULL);
	put(t, XS_TOPO_VM, "OpaqueRef:vm-weird",
	    rec("uuid", S("11111111-0000-0000-0000-000000000001"), "name_label", S(WEIRD_NAME),
		"power_state", S("Paused"), "resident_on", S(H2), "tags",
		strings("prod", "a \"quoted\" tag"), "guest_metrics", S("OpaqueRef:gm"), NULL));
	put(t, XS_TOPO_VM_GUEST_METRICS, "OpaqueRef:gm", rec("uuid", S("gm"), NULL));
	put_vm(t, "OpaqueRef:vm-halted", "33333333-0000-0000-0000-000000000003", "db", "Halted",
	       "OpaqueRef:NULL", NULL);
	put_vm(t, "OpaqueRef:tmpl", "44444444-0000-0000-0000-000000000004", "a template", "Halted",
	       "OpaqueRef:NULL", "is_a_template");
	put_vm(t, "OpaqueRef:snap", "55555555-0000-0000-0000-000000000005", "a snapshot", "Halted",
	       "OpaqueRef:NULL", "is_a_snapshot");
	put_vm(t, "OpaqueRef:dom0", "00000000-0000-0000-0000-00000000d000", "Control domain on host: host-1",
	       "Running", H1, "is_control_domain");
	put(t, XS_TOPO_SR, "OpaqueRef:sr-local",
	    rec("uuid", S("5e3f2a11-1111-2222-3333-444455556666"), "name_label", S("Local storage"),
		"type", S("lvm"), NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr-nfs",
	    rec("uuid", S("99999999-aaaa-bbbb-cccc-dddddddddddd"), "name_label", S("NFS"), "type",
		S("nfs"), "shared", B(true), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd-1",
	    rec("uuid", S("p1"), "host", S(H1), "SR", S("OpaqueRef:sr-local"), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd-2",
	    rec("uuid", S("p2"), "host", S(H1), "SR", S("OpaqueRef:sr-nfs"), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd-3",
	    rec("uuid", S("p3"), "host", S(H2), "SR", S("OpaqueRef:sr-nfs"), NULL));
	return t;
}

static const struct xs_collect_host_status fixture_status[] = {
	{ .pool = "pool-a", .uuid = H2_UUID, .name = "host-2", .state = XS_COLLECT_DOWN,
	  .last_success = 0, .lag = -1, .last_error = "not \"live\"", .last_error_time = NOW - 1,
	  .clock_offset = NAN },
	{ .pool = "pool-a", .uuid = H1_UUID, .name = "host-1", .state = XS_COLLECT_IDLE,
	  .last_success = NOW - 2, .lag = 1.5, .latency = 0.25, .fetches = 7, .newest = 1700006400,
	  .clock_offset = 72.04, .ahead = 5 },
	{ .pool = "never", .uuid = "bbbbbbbb-0000-0000-0000-000000000001", .name = "far",
	  .state = XS_COLLECT_FETCHING, .lag = -1 },
};

/* ---- a strict JSON parser, into a small tree ---- */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jt type;
	double num;       /* J_NUM, J_BOOL (0/1) */
	char *str;        /* J_STR (decoded) */
	struct jv **item; /* J_ARR, J_OBJ */
	char **key;       /* J_OBJ */
	size_t n;
};

static void jv_free(struct jv *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->item[i]);
		if (v->key)
			free(v->key[i]);
	}
	free(v->item);
	free(v->key);
	free(v->str);
	free(v);
}

static void j_ws(const char **p)
{
	while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
		(*p)++;
}

static char *j_string(const char **p)
{
	const char *s = ++*p;
	char *out;
	ptrdiff_t n;

	while (**p != '"') {
		if ((unsigned char)**p < 0x20)
			return NULL;
		if (**p == '\\')
			(*p)++;
		(*p)++;
	}
	out = malloc((size_t)(*p - s) * 4 + 1);
	n = xs_json_unescape(s, (size_t)(*p - s), out, (size_t)(*p - s) * 4);
	(*p)++;
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

static struct jv *j_value(const char **p);

static bool j_members(struct jv *v, const char **p, bool obj)
{
	char close = obj ? '}' : ']';

	(*p)++;
	j_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		char *k = NULL;
		struct jv *m;

		j_ws(p);
		if (obj) {
			if (**p != '"' || (k = j_string(p)) == NULL)
				return false;
			j_ws(p);
			if (**p != ':') {
				free(k);
				return false;
			}
			(*p)++;
		}
		m = j_value(p);
		v->item = realloc(v->item, (v->n + 1) * sizeof(*v->item));
		if (obj)
			v->key = realloc(v->key, (v->n + 1) * sizeof(*v->key));
		v->item[v->n] = m;
		if (obj)
			v->key[v->n] = k;
		v->n++;
		if (m == NULL)
			return false;
		j_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		if (**p != ',')
			return false;
		(*p)++;
	}
}

static struct jv *j_value(const char **p)
{
	struct jv *v = calloc(1, sizeof(*v));
	char *end;

	j_ws(p);
	if (**p == '{' || **p == '[') {
		v->type = **p == '{' ? J_OBJ : J_ARR;
		if (!j_members(v, p, v->type == J_OBJ)) {
			jv_free(v);
			return NULL;
		}
	} else if (**p == '"') {
		v->type = J_STR;
		v->str = j_string(p);
		if (v->str == NULL) {
			jv_free(v);
			return NULL;
		}
	} else if (!strncmp(*p, "null", 4)) {
		*p += 4;
	} else if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
		v->type = J_BOOL;
		v->num = **p == 't';
		*p += **p == 't' ? 4 : 5;
	} else if (**p == '-' || (**p >= '0' && **p <= '9')) {
		v->type = J_NUM;
		v->num = strtod(*p, &end);
		*p = end;
	} else {
		jv_free(v);
		return NULL;
	}
	return v;
}

static struct jv *j_parse(const char *text)
{
	const char *p = text;
	struct jv *v = j_value(&p);

	j_ws(&p);
	if (v != NULL && *p != '\0') {
		jv_free(v);
		return NULL;
	}
	return v;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (o == NULL || o->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return o->item[i];
	return NULL;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_STR ? v->str : NULL;
}

static bool jis(const struct jv *o, const char *key, const char *want)
{
	const char *s = jstr(o, key);

	return s != NULL && !strcmp(s, want);
}

static bool jnull(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v != NULL && v->type == J_NULL;
}

static double jnum(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && (v->type == J_NUM || v->type == J_BOOL) ? v->num : NAN;
}

/* Whether o[key] is an empty array. */
static bool jempty(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v != NULL && v->type == J_ARR && v->n == 0;
}

/* The element of array arr whose key equals val. */
static const struct jv *jfind(const struct jv *arr, const char *key, const char *val)
{
	if (arr == NULL || arr->type != J_ARR)
		return NULL;
	for (size_t i = 0; i < arr->n; i++)
		if (jis(arr->item[i], key, val))
			return arr->item[i];
	return NULL;
}

/* Exactly these keys, in this order. */
static bool jkeys(const struct jv *o, const char *const *keys)
{
	size_t i;

	if (o == NULL || o->type != J_OBJ)
		return false;
	for (i = 0; keys[i] != NULL; i++)
		if (i >= o->n || strcmp(o->key[i], keys[i]))
			return false;
	return i == o->n;
}

/* ---- objects ---- */

static char *body(enum xs_err (*fn)(const struct xs_estate *, const struct xs_prom_self *,
				     struct xs_buf *, char *),
		  const struct xs_estate *e, const struct xs_prom_self *self)
{
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";

	xs_buf_init(&out, 1 << 20);
	ok(fn(e, self, &out, err) == XS_OK, "body: %s", err);
	return xs_buf_take(&out, NULL);
}

static enum xs_err objects_fn(const struct xs_estate *e, const struct xs_prom_self *self,
			      struct xs_buf *out, char *err)
{
	(void)self;
	return xs_query_objects(e, out, err);
}

static void check_pools_hosts(const struct jv *root)
{
	static const char *const pool_keys[] = { "uuid", "name", "name_label", "master", "connected", NULL };
	static const char *const host_keys[] = { "uuid", "name", "pool", "address", "live", "enabled",
						 "cpus", "memory", "collection", "pifs", NULL };
	static const char *const coll_keys[] = { "state", "health", "last_success", "last_error",
						 "latency", "lag", "clock_offset", "ahead", NULL };
	const struct jv *pools = jget(root, "pools"), *hosts = jget(root, "hosts"), *p, *h, *c;

	fail_unless(pools && pools->type == J_ARR && pools->n == 2, "2 pools");
	p = pools->item[0];
	ok(jkeys(p, pool_keys) && jis(p, "uuid", POOL_UUID) && jis(p, "name", "pool-a") &&
		   jis(p, "name_label", "Pool A") && jis(p, "master", H1_UUID) && jnum(p, "connected") == 1,
	   "pool-a");
	p = pools->item[1];
	ok(jnull(p, "uuid") && jis(p, "name", "never") && jnull(p, "master") && jnum(p, "connected") == 0,
	   "a pool never loaded");
	fail_unless(hosts && hosts->type == J_ARR && hosts->n == 3, "3 hosts");
	h = jfind(hosts, "uuid", H1_UUID);
	ok(jkeys(h, host_keys) && jis(h, "name", "host-1") && jis(h, "pool", POOL_UUID) &&
		   jis(h, "address", "10.0.0.1") && jnum(h, "live") == 1 && jnum(h, "enabled") == 1 &&
		   jnum(h, "cpus") == 2 && jnum(h, "memory") == 68719476736.0,
	   "host-1");
	c = jget(h, "collection");
	ok(jkeys(c, coll_keys) && jis(c, "state", "idle") && jis(c, "health", "collecting") &&
		   jnum(c, "last_success") == NOW - 2 && jnull(c, "last_error") &&
		   jnum(c, "latency") == 0.25 && jnum(c, "lag") == 1.5 && jnum(c, "clock_offset") == 72 &&
		   jnum(c, "ahead") == 5,
	   "host-1 collection merged by uuid");
	c = jget(jfind(hosts, "uuid", H2_UUID), "collection");
	ok(jis(c, "state", "down") && jis(c, "health", "down") && jnull(c, "last_success") &&
		   jis(c, "last_error", "not \"live\"") && jnull(c, "lag") && jnull(c, "clock_offset"),
	   "host-2 down");
	ok(jnull(jfind(hosts, "uuid", H3_UUID), "collection"), "host-3: no status, collection null");
	ok(jempty(h, "pifs"), "no store: pifs []");
}

static void check_vms_srs(const struct jv *root, const char *text)
{
	static const char *const vm_keys[] = { "uuid", "name", "pool", "host", "power_state", "tags",
					       "vcpus", "memory", "guest_tools", "is_control_domain",
					       "vifs", "vbds", NULL };
	const struct jv *vms = jget(root, "vms"), *srs = jget(root, "srs"), *v, *tags, *s, *hs;

	fail_unless(vms && vms->type == J_ARR && vms->n == 4, "4 VMs: no template, no snapshot");
	ok(!jfind(vms, "name", "a template") && !jfind(vms, "name", "a snapshot"), "excluded");
	v = jfind(vms, "name", "web");
	ok(jkeys(v, vm_keys) && jis(v, "host", H1_UUID) && jis(v, "pool", POOL_UUID) &&
		   jis(v, "power_state", "Running") && jnum(v, "vcpus") == 2 &&
		   jnum(v, "memory") == 2147483648.0 && jnum(v, "guest_tools") == 0 &&
		   jnum(v, "is_control_domain") == 0,
	   "web");
	v = jfind(vms, "name", "db");
	ok(v && jnull(v, "host") && jis(v, "power_state", "Halted"), "halted VM: host null");
	ok(jempty(v, "vifs") && jempty(v, "vbds"), "no store: vifs and vbds []");
	v = jfind(vms, "uuid", "00000000-0000-0000-0000-00000000d000");
	ok(v && jnum(v, "is_control_domain") == 1, "control domain flagged");
	v = jfind(vms, "uuid", "11111111-0000-0000-0000-000000000001");
	ok(v && jis(v, "name", "we\"ird\\name\nx\x01\xef\xbf\xbd") && jis(v, "power_state", "Paused") &&
		   jis(v, "host", H2_UUID) && jnum(v, "guest_tools") == 1,
	   "weird name round trip, Paused, tools");
	ok(strstr(text, "\"" WEIRD_JSON "\"") != NULL, "escaped as %s", WEIRD_JSON);
	tags = jget(v, "tags");
	ok(tags && tags->type == J_ARR && tags->n == 2 && !strcmp(tags->item[1]->str, "a \"quoted\" tag"),
	   "tags");
	fail_unless(srs && srs->type == J_ARR && srs->n == 2, "2 SRs");
	s = jfind(srs, "name", "NFS");
	hs = jget(s, "hosts");
	ok(jis(s, "type", "nfs") && jnum(s, "shared") == 1 && jis(s, "pool", POOL_UUID) && hs &&
		   hs->n == 2 && !strcmp(hs->item[0]->str, H1_UUID) && !strcmp(hs->item[1]->str, H2_UUID),
	   "NFS on two hosts");
	hs = jget(jfind(srs, "name", "Local storage"), "hosts");
	ok(hs && hs->n == 1 && !strcmp(hs->item[0]->str, H1_UUID), "local SR on host-1");
}

#define T_DUP_ERROR "the pool " POOL_UUID " is already collected as [pool pool-a] (same pool, " \
	"another address): not collected twice"

static void test_objects(void)
{
	struct xs_topo *t = world_new();
	/* a duplicate is left out: 2 pools (check_pools_hosts) */
	struct xs_estate_pool pools[] = {
		{ .name = "pool-a", .topo = t }, { .name = "never" },
		{ .name = "dup", .error = T_DUP_ERROR, .duplicate = true } };
	struct xs_estate e = { .pools = pools, .npools = 3, .status = fixture_status, .nstatus = 3,
			       .now = NOW };
	char *text = body(objects_fn, &e, NULL);
	struct jv *root = text ? j_parse(text) : NULL;
	static const char *const top[] = { "pools", "hosts", "vms", "srs", NULL };

	ok(root != NULL, "valid JSON");
	ok(jkeys(root, top), "top-level keys");
	if (root != NULL) {
		check_pools_hosts(root);
		check_vms_srs(root, text);
	}
	jv_free(root);
	free(text);
	/* empty estate */
	e.npools = 0;
	e.nstatus = 0;
	text = body(objects_fn, &e, NULL);
	ok(text && !strcmp(text, "{\"pools\":[],\"hosts\":[],\"vms\":[],\"srs\":[]}"), "empty: %s", text);
	free(text);
	xs_topo_free(&t);
}

/* ---- devices: vifs, vbds, pifs ---- */

static char test_dir[64];

static void add(struct xs_store *s, enum xs_obj_kind kind, const char *uuid, const char *ds)
{
	char err[XS_ERR_LEN] = "";
	xs_series_id id;

	if (xs_store_series(s, kind, uuid, ds, "", &id, err) != XS_OK ||
	    xs_store_append(s, id, 1700006400, 1.0f, err) != XS_OK)
		fprintf(stderr, "# series %s %s: %s\n", uuid, ds, err);
}

/* Networks, VIFs, VDIs, VBDs and PIFs on top of world_new(). */
static void world_devices(struct xs_topo *t)
{
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-a",
	    rec("uuid", S("na"), "name_label", S("Pool-wide \"net\""), NULL));
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-w", rec("uuid", S("nw"), "name_label", S(WEIRD_NAME), NULL));
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-bond",
	    rec("uuid", S("nb"), "name_label", S("Bond network"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-0",
	    rec("uuid", S("v0"), "VM", S("OpaqueRef:vm-web"), "network", S("OpaqueRef:net-a"), "device",
		S("0"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-2",
	    rec("uuid", S("v2"), "VM", S("OpaqueRef:vm-web"), "network", S("OpaqueRef:net-w"), "device",
		S("2"), NULL));
	/* VIF 10 of web: no record; VIF 0 of the weird VM: a record, but no series */
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-weird",
	    rec("uuid", S("vw"), "VM", S("OpaqueRef:vm-weird"), "network", S("OpaqueRef:net-a"),
		"device", S("0"), NULL));
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-root",
	    rec("uuid", S("d1"), "name_label", S("web root"), "SR", S("OpaqueRef:sr-local"), NULL));
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-lost",
	    rec("uuid", S("d2"), "name_label", S("scratch"), "SR", S("OpaqueRef:sr-gone"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-a",
	    rec("uuid", S("b1"), "VM", S("OpaqueRef:vm-web"), "VDI", S("OpaqueRef:vdi-root"), "device",
		S("xvda"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-b",
	    rec("uuid", S("b2"), "VM", S("OpaqueRef:vm-web"), "VDI", S("OpaqueRef:vdi-lost"), "device",
		S("xvdb"), NULL));
	/* xvdaa of web: no VBD */
	put(t, XS_TOPO_PIF, "OpaqueRef:pif-eth2",
	    rec("uuid", S("p2"), "device", S("eth2"), "host", S(H1), "network", S("OpaqueRef:net-a"), NULL));
	put(t, XS_TOPO_PIF, "OpaqueRef:pif-bond0",
	    rec("uuid", S("pb"), "device", S("bond0"), "host", S(H1), "network",
		S("OpaqueRef:net-bond"), NULL));
}

/* Series in an order that is not the answer's: devices interleaved and repeated. */
static void fill_devices(struct xs_store *s)
{
	static const char *const web[] = {
		"cpu_usage", "vif_10_rx", "vif_2_tx", "vbd_xvdb_read", "vif_2_rx", "vbd_xvdaa_read",
		"vbd_xvda_write", "vif_10_tx", "vif_0_rx_errors", "vbd_xvda_read_latency",
		"vbd_xvda_io_throughput_total", "vbd_xvdb_write", "memory", "vif_x_rx", "vif__rx",
		"vbd_xvdc", "vif_3", "cpu0",
	};
	static const char *const host[] = {
		"pif_eth10_rx", "pif_eth2_tx", "pif_aggr_rx", "pif_eth2_rx", "pif_eth0.100_rx_errors",
		"cpu0", "pif_bond0_tx", "pif_aggr_tx", "pif_eth10_tx", "memory_free_kib",
	};

	for (size_t i = 0; i < sizeof(web) / sizeof(web[0]); i++)
		add(s, XS_OBJ_VM, VM_WEB_UUID, web[i]);
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		add(s, XS_OBJ_HOST, H1_UUID, host[i]);
	add(s, XS_OBJ_VM, VM_DB_UUID, "vif_0_rx");          /* halted: history only */
	add(s, XS_OBJ_HOST, H2_UUID, "vif_1_rx");           /* not a PIF */
	add(s, XS_OBJ_SR, SR_LOCAL_UUID, "vbd_xvda_read");  /* not a VM */
	add(s, XS_OBJ_HOST, VM_WEIRD_UUID, "vif_0_rx");     /* the weird VM's uuid, as a host */
}

/* arr's items have exactly keys, and their "device" fields are devs (NULL-terminated). */
static bool jdevices(const struct jv *arr, const char *const *keys, const char *const *devs)
{
	size_t i;

	if (arr == NULL || arr->type != J_ARR)
		return false;
	for (i = 0; devs[i] != NULL; i++)
		if (i >= arr->n || !jkeys(arr->item[i], keys) || !jis(arr->item[i], "device", devs[i]))
			return false;
	return i == arr->n;
}

static void check_devices(const struct jv *root, const char *text)
{
	static const char *const net_keys[] = { "device", "network", NULL };
	static const char *const vbd_keys[] = { "device", "vdi", "sr", NULL };
	static const char *const vifs_web[] = { "0", "2", "10", NULL };
	static const char *const vbds_web[] = { "xvda", "xvdb", "xvdaa", NULL };
	static const char *const pifs_h1[] = { "eth0.100", "eth2", "eth10", "bond0", NULL };
	static const char *const one[] = { "0", NULL };
	static const char *const none[] = { NULL };
	const struct jv *vms = jget(root, "vms"), *hosts = jget(root, "hosts"), *v, *a;

	v = jfind(vms, "uuid", VM_WEB_UUID);
	a = jget(v, "vifs");
	ok(jdevices(a, net_keys, vifs_web), "web: vifs 0, 2, 10: each once, digits by value");
	if (a && a->n == 3)
		ok(jis(a->item[0], "network", "Pool-wide \"net\"") &&
			   jis(a->item[1], "network", "we\"ird\\name\nx\x01\xef\xbf\xbd") &&
			   jis(a->item[2], "network", ""),
		   "web: VIF networks, unknown VIF \"\"");
	ok(strstr(text, "\"network\":\"Pool-wide \\\"net\\\"\"") != NULL &&
		   strstr(text, "\"network\":\"" WEIRD_JSON "\"") != NULL,
	   "network names escaped");
	a = jget(v, "vbds");
	ok(jdevices(a, vbd_keys, vbds_web), "web: vbds xvda, xvdb, xvdaa in natural order");
	if (a && a->n == 3) {
		ok(jis(a->item[0], "vdi", "web root") && jis(a->item[0], "sr", SR_LOCAL_UUID),
		   "xvda: VDI and SR");
		ok(jis(a->item[1], "vdi", "scratch") && jnull(a->item[1], "sr"), "xvdb: SR unknown, null");
		ok(jis(a->item[2], "vdi", "") && jnull(a->item[2], "sr"), "xvdaa: no VBD: \"\", null");
	}
	v = jfind(vms, "uuid", VM_WEIRD_UUID);
	ok(jempty(v, "vifs") && jempty(v, "vbds"), "a VM without series: [] (whatever its VIFs)");
	v = jfind(vms, "uuid", VM_DB_UUID);
	a = jget(v, "vifs");
	ok(jdevices(a, net_keys, one) && jis(a->item[0], "network", "") && jempty(v, "vbds"),
	   "halted VM: its stored VIF, network unknown");
	v = jfind(vms, "uuid", "00000000-0000-0000-0000-00000000d000");
	ok(jempty(v, "vifs") && jempty(v, "vbds"), "dom0 without series");
	a = jget(jfind(hosts, "uuid", H1_UUID), "pifs");
	ok(jdevices(a, net_keys, pifs_h1), "host-1: pifs in natural order, no aggr");
	if (a && a->n == 4)
		ok(jis(a->item[0], "network", "") && jis(a->item[1], "network", "Pool-wide \"net\"") &&
			   jis(a->item[2], "network", "") && jis(a->item[3], "network", "Bond network"),
		   "host-1: PIF networks");
	ok(jdevices(jget(jfind(hosts, "uuid", H2_UUID), "pifs"), net_keys, none),
	   "host-2: a VM-like series is no PIF");
	ok(jempty(jfind(hosts, "uuid", H3_UUID), "pifs"), "host-3: no series, []");
}

static void test_devices(void)
{
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .now = NOW };
	struct xs_store_options o = { .dir = test_dir };
	char err[XS_ERR_LEN] = "", cmd[128];
	struct xs_store *s = NULL;
	struct jv *root;
	char *text;

	snprintf(test_dir, sizeof(test_dir), "/tmp/xs-objects-XXXXXX");
	fail_unless(mkdtemp(test_dir) != NULL, "mkdtemp");
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	world_devices(t);
	fill_devices(s);
	e.store = s;
	text = body(objects_fn, &e, NULL);
	root = text ? j_parse(text) : NULL;
	ok(root != NULL, "valid JSON");
	if (root != NULL)
		check_devices(root, text);
	jv_free(root);
	free(text);
	/* the same store, no topology: devices, names unknown */
	pools[0].topo = NULL;
	text = body(objects_fn, &e, NULL);
	ok(text && !strcmp(text, "{\"pools\":[{\"uuid\":null,\"name\":\"pool-a\",\"name_label\":null,"
				 "\"master\":null,\"connected\":false}],\"hosts\":[],\"vms\":[],\"srs\":[]}"),
	   "no topology: no objects: %s", text);
	free(text);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", test_dir);
	xs_topo_free(&t);
}

/* ---- status ---- */

static void test_health(void)
{
	struct xs_collect_host_status h = { .state = XS_COLLECT_IDLE, .last_success = NOW - 5, .lag = 2 };

	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_COLLECTING, "collecting");
	h.lag = 10.5;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_LATE, "lag over 10 s: late");
	h.lag = -1;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_LATE, "lag unknown: late");
	h.lag = 0;
	h.last_success = 0;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_LATE, "no fetch yet: late");
	h.last_success = NOW - 61;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_DOWN, "no success for a minute: down");
	h.last_success = NOW;
	h.state = XS_COLLECT_BACKOFF;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_DOWN, "backoff: down");
	h.state = XS_COLLECT_DOWN;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_DOWN, "not live: down");
	h.state = XS_COLLECT_BACKFILL;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_COLLECTING, "backfilling collects");
	h.ahead = 10;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_COLLECTING, "stored rows 10 s ahead of its clock");
	h.ahead = 15;
	ok(xs_status_host_health(&h, NOW) == XS_HEALTH_LATE,
	   "its clock set back 15 s behind the rows stored: late");
	ok(!strcmp(xs_status_health_name(XS_HEALTH_LATE), "late"), "names");
}

static void test_status(void)
{
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = {
		{ .name = "pool-a", .topo = t }, { .name = "never", .error = "connection refused" },
		{ .name = "dup", .error = T_DUP_ERROR, .duplicate = true } };
	struct xs_estate e = { .pools = pools, .npools = 3, .status = fixture_status, .nstatus = 3,
			       .now = NOW };
	struct xs_prom_self self = { .uptime = 99.5, .store_series = 12, .store_dormant = 4,
				     .store_damaged_blocks_total = 2, .store_unread_blocks_total = 3,
				     .samples_total = 1000,
				     .hosts_collecting = 1, .hosts_down = 1, .resident_bytes = 4096,
				     .http_held_bytes = 70000, .http_stream_queued_bytes = 8192,
				     .http_busy_total = 5,
				     .http_connections_open = 9, .http_max_connections = 4096,
				     .cpu_seconds = 3.5, .start_time = 1700000000.25, .open_fds = 40,
				     .max_fds = 1024 };
	static const char *const top[] = { "now", "daemon", "pools", "hosts", NULL };
	static const char *const pool_keys[] = { "name", "uuid", "connected", "hosts", "collecting",
						 "late", "down", "error", NULL };
	char *text = body(xs_query_status, &e, &self);
	struct jv *root = text ? j_parse(text) : NULL;
	const struct jv *p, *h, *d;

	ok(root != NULL, "valid JSON");
	ok(jkeys(root, top) && jnum(root, "now") == NOW, "top-level keys");
	d = jget(root, "daemon");
	ok(jnum(d, "uptime") == 99.5 && jnum(d, "store_series") == 12 && jnum(d, "store_dormant_series") == 4 &&
		   jnum(d, "store_damaged_blocks_total") == 2 && jnum(d, "store_unread_blocks_total") == 3 &&
		   jnum(d, "samples_total") == 1000 &&
		   jnum(d, "hosts_collecting") == 1 && jnum(d, "resident_bytes") == 4096 &&
		   jnum(d, "http_held_bytes") == 70000 && jnum(d, "http_stream_queued_bytes") == 8192 &&
		   jnum(d, "http_busy_total") == 5 &&
		   jnum(d, "http_connections_open") == 9 && jnum(d, "http_max_connections") == 4096 &&
		   jnum(d, "cpu_seconds") == 3.5 && jnum(d, "start_time") == 1700000000.25 &&
		   jnum(d, "open_fds") == 40 && jnum(d, "max_fds") == 1024,
	   "daemon figures");
	p = jfind(jget(root, "pools"), "name", "pool-a");
	ok(jkeys(p, pool_keys) && jis(p, "uuid", POOL_UUID) && jnum(p, "connected") == 1 &&
		   jnum(p, "hosts") == 3 && jnum(p, "collecting") == 1 && jnum(p, "late") == 0 &&
		   jnum(p, "down") == 2 && jnull(p, "error"),
	   "pool-a: 3 hosts, 1 collecting, 2 down (one without status)");
	p = jfind(jget(root, "pools"), "name", "never");
	ok(p && jnull(p, "uuid") && jnum(p, "connected") == 0 && jnum(p, "hosts") == 1 &&
		   jnum(p, "late") == 1 && jis(p, "error", "connection refused"),
	   "a pool never loaded: its statuses and why");
	p = jfind(jget(root, "pools"), "name", "dup");
	ok(jkeys(p, pool_keys) && jnull(p, "uuid") && jnum(p, "connected") == 0 &&
		   jnum(p, "hosts") == 0 && jis(p, "error", T_DUP_ERROR),
	   "a duplicate: listed by the status, with why");
	h = jfind(jget(root, "hosts"), "uuid", H1_UUID);
	ok(h && jis(h, "pool", "pool-a") && jis(h, "name", "host-1") && jis(h, "state", "idle") &&
		   jis(h, "health", "collecting") && jnum(h, "lag") == 1.5 && jnum(h, "fetches") == 7 &&
		   jnum(h, "newest") == 1700006400 && jnull(h, "last_error") &&
		   jnum(h, "clock_offset") == 72 && jnum(h, "ahead") == 5,
	   "host-1 status");
	h = jfind(jget(root, "hosts"), "uuid", H2_UUID);
	ok(h && jis(h, "last_error", "not \"live\"") && jnum(h, "last_error_time") == NOW - 1 &&
		   jnull(h, "last_success") && jnull(h, "lag") && jis(h, "health", "down") &&
		   jnull(h, "clock_offset") && jnum(h, "ahead") == 0,
	   "host-2 status");
	jv_free(root);
	free(text);
	text = body(xs_query_status, &e, NULL);
	root = text ? j_parse(text) : NULL;
	ok(root && jnull(root, "daemon"), "no self: daemon null");
	jv_free(root);
	free(text);
	xs_topo_free(&t);
}

static void test_cap(void)
{
	struct xs_topo *t = world_new();
	struct xs_estate_pool pools[] = { { .name = "pool-a", .topo = t } };
	struct xs_estate e = { .pools = pools, .npools = 1, .status = fixture_status, .nstatus = 3,
			       .now = NOW };
	struct xs_buf out;
	char err[XS_ERR_LEN] = "";

	xs_buf_init(&out, 100);
	ok(xs_query_objects(&e, &out, err) == XS_ERR_TOO_LARGE && out.len == 0 && *err, "objects: %s", err);
	xs_buf_free(&out);
	*err = '\0';
	ok(xs_query_status(&e, NULL, &out, err) == XS_ERR_TOO_LARGE && out.len == 0 && *err, "status: %s", err);
	xs_buf_free(&out);
	xs_topo_free(&t);
}

int main(void)
{
	A = xs_rpc_arena_new();
	TEST_RUN(test_objects);
	TEST_RUN(test_devices);
	TEST_RUN(test_health);
	TEST_RUN(test_status);
	TEST_RUN(test_cap);
	xs_rpc_arena_free(&A);
	return test_summary();
}
