/*
 * Tests of the pool topology (src/xapi/topology*.c): the real XenServer 6.2
 * host and VM captures decoded and loaded (counts checked against the raw
 * values), then hand-built records for the names data sources need (VIF →
 * network, VBD → VDI and SR, PIF with bonds and VLANs, SR prefixes and their
 * collisions), records in any order, removal, atomic load_all, wrong-shaped
 * records, bounds and version bumps; last, every record of a small
 * xapi-sim world (sim/world.c and sim/rpc_records.c are included: this
 * program links libxs.a only), its names checked against the raw records.
 * Captures are read at run time from $XS_SHARED_DIR (else ../shared),
 * never copied into the repository.
 */
#include <stdarg.h>
#include <string.h>

#include "test.h"
#include "support/shared_file.h"
#include "xapi/topology.h"
#include "xapi/xmlrpc.h"

#include "../../../sim/rpc_records.c"
#include "../../../sim/world.c"

/* What sim/rpc_records.c needs beyond records: only clock and RRD calls (not made here). */
double sim_host_now(const struct sim *sim, int host)
{
	(void)sim;
	(void)host;
	return 1700000000.0;
}

const struct sim_rrd *sim_rrd_model_get(const struct sim_rrd_model *m, enum sim_class cls,
					int index)
{
	(void)m;
	(void)cls;
	(void)index;
	return NULL;
}

float sim_rrd_value(const struct sim_rrd_model *m, const struct sim_rrd *r, int archive,
		    enum sim_cf cf, size_t ds, int64_t t)
{
	(void)m;
	(void)r;
	(void)archive;
	(void)cf;
	(void)ds;
	(void)t;
	return 0;
}

static struct xs_rpc_arena *A; /* the arena of the hand-built records */

static struct xs_rpc_value *S(const char *s)
{
	return xs_rpc_cstring(A, s);
}

static struct xs_rpc_value *B(bool b)
{
	return xs_rpc_bool(A, b);
}

static struct xs_rpc_value *I(int64_t i)
{
	return xs_rpc_int(A, i);
}

/* A record from (key, value) pairs, ended by a NULL key. */
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

static struct xs_rpc_value *strings(size_t n, const char *const *v)
{
	struct xs_rpc_value *arr = xs_rpc_array(A);
	size_t i;

	for (i = 0; i < n; i++)
		xs_rpc_array_push(A, arr, S(v[i]));
	return arr;
}

#define SAMPLES "xapi/samples/real-xmlrpc-xenserver62/"

/* The Value of a capture's reply, decoded into A; NULL if missing or bad. */
static const struct xs_rpc_value *capture(const char *file)
{
	char path[256], err[XS_ERR_LEN];
	struct xs_rpc_reply r;
	size_t len;
	char *body;
	enum xs_err e;

	snprintf(path, sizeof(path), SAMPLES "%s", file);
	body = shared_slurp(path, &len);
	if (body == NULL)
		return NULL;
	e = xs_xmlrpc_decode_reply(body, len, A, &r, err);
	free(body);
	return e == XS_OK && r.ok ? r.value : NULL;
}

static bool raw_bool(const struct xs_rpc_value *v, const char *key)
{
	bool b = false;

	return xs_rpc_get_bool(v, key, &b) && b;
}

static void test_classes(void)
{
	enum xs_topo_class c = XS_TOPO_NCLASSES;

	ok(xs_topo_class_of("vm", &c) && c == XS_TOPO_VM, "vm");
	ok(xs_topo_class_of("VM_guest_metrics", &c) && c == XS_TOPO_VM_GUEST_METRICS, "guest metrics");
	ok(xs_topo_class_of("vm_metrics", &c) && c == XS_TOPO_VM_METRICS, "vm_metrics");
	ok(xs_topo_class_of("HOST_METRICS", &c) && c == XS_TOPO_HOST_METRICS, "any case");
	ok(xs_topo_class_of("network", &c) && c == XS_TOPO_NETWORK, "network");
	ok(xs_topo_class_of("pif", &c) && c == XS_TOPO_PIF, "pif");
	ok(!xs_topo_class_of("task", &c) && !xs_topo_class_of("", &c) && !xs_topo_class_of(NULL, &c),
	   "unknown classes");
	ok(!strcmp(xs_topo_class_name(XS_TOPO_VM), "VM") &&
		   !strcmp(xs_topo_class_name(XS_TOPO_HOST_METRICS), "host_metrics") &&
		   !strcmp(xs_topo_class_name(XS_TOPO_NCLASSES), "?"),
	   "class names");
}

/* ---- the real captures ---- */

struct raw_counts {
	size_t n, templates, control, snapshots, running, halted, plain_running;
};

static struct raw_counts count_raw(const struct xs_rpc_value *vms)
{
	struct raw_counts k = { 0 };
	size_t i;

	for (i = 0; i < vms->u.st.n; i++) {
		const struct xs_rpc_value *v = vms->u.st.members[i].value;
		const char *ps = xs_rpc_get_str(v, "power_state");
		bool running = ps != NULL && !strcmp(ps, "Running");

		k.n++;
		k.templates += raw_bool(v, "is_a_template");
		k.control += raw_bool(v, "is_control_domain");
		k.snapshots += raw_bool(v, "is_a_snapshot");
		k.running += running;
		k.halted += ps != NULL && !strcmp(ps, "Halted");
		k.plain_running += running && !raw_bool(v, "is_control_domain");
	}
	return k;
}

static struct raw_counts count_topo(const struct xs_topo *t)
{
	struct raw_counts k = { 0 };
	const struct xs_topo_vm *vm;
	size_t i;

	for (i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		k.n++;
		k.templates += vm->is_template;
		k.control += vm->is_control_domain;
		k.snapshots += vm->is_snapshot;
		k.running += vm->power == XS_POWER_RUNNING;
		k.halted += vm->power == XS_POWER_HALTED;
		k.plain_running += vm->power == XS_POWER_RUNNING && !vm->is_control_domain;
	}
	return k;
}

static void check_real_hosts(struct xs_topo *t, const struct xs_rpc_value *hosts)
{
	const struct xs_topo_host *h04, *h02, *h;
	size_t i;

	ok(xs_topo_count(t, XS_TOPO_HOST) == 2 && hosts->u.st.n == 2, "2 hosts");
	h04 = xs_topo_host_by_uuid(t, "54a17e93-a7f6-4c62-b8f9-9e81ad3ade1c");
	h02 = xs_topo_host_by_ref(t, "OpaqueRef:1500e92a-ff9c-119f-de60-541ed4ba565e");
	fail_unless(h04 != NULL && h02 != NULL, "both hosts found");
	ok(!strcmp(h04->name, "xenserver-04") && !strcmp(h04->address, "192.168.10.4") &&
		   !strcmp(h04->hostname, "xenserver-04") &&
		   !strcmp(h04->ref, "OpaqueRef:bec8439d-edfb-6acd-e1e9-7dbc5306e630"),
	   "xenserver-04");
	ok(!strcmp(h02->name, "xenserver-02") && !strcmp(h02->address, "192.168.10.2") &&
		   !strcmp(h02->uuid, "68c603c4-4dde-482d-84f5-86f8cdfa6a89"),
	   "xenserver-02");
	ok(h04->cpus == (int)xs_rpc_get(xs_rpc_get(hosts, h04->ref), "host_CPUs")->u.arr.n &&
		   h04->cpus == 4,
	   "host_CPUs counted (%d)", h04->cpus);
	ok(h04->enabled && !strcmp(h04->product_version, "6.2.0"), "enabled, product_version");
	ok(!strcmp(h04->control_domain, "") && !h04->live && h04->memory_total == 0,
	   "6.2: no control_domain field; no host_metrics yet");
	/* sorted by uuid: 54a1... before 68c6... */
	ok(xs_topo_host_at(t, 0) == h04 && xs_topo_host_at(t, 1) == h02 && xs_topo_host_at(t, 2) == NULL,
	   "hosts by uuid");
	for (i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++)
		ok(xs_topo_host_by_uuid(t, h->uuid) == h && xs_topo_host_by_ref(t, h->ref) == h,
		   "host %zu by uuid and ref", i);
}

static void check_real_vms(struct xs_topo *t, const struct xs_rpc_value *vms)
{
	struct raw_counts raw = count_raw(vms), got = count_topo(t);
	const struct xs_topo_vm *vm, *prev = NULL;
	size_t i, sorted = 0;

	printf("# capture: %zu VMs, %zu templates, %zu control domains, %zu snapshots, "
	       "%zu running (%zu not dom0), %zu halted\n",
	       raw.n, raw.templates, raw.control, raw.snapshots, raw.running, raw.plain_running,
	       raw.halted);
	ok(xs_topo_count(t, XS_TOPO_VM) == 74 && got.n == 74 && raw.n == 74, "74 VMs");
	ok(got.templates == raw.templates && raw.templates == 67, "67 templates (%zu)", got.templates);
	ok(got.control == raw.control && raw.control == 2, "2 control domains (%zu)", got.control);
	ok(got.snapshots == raw.snapshots && raw.snapshots == 2, "2 snapshots (%zu)", got.snapshots);
	ok(got.running == raw.running && raw.running == 3, "3 running (%zu)", got.running);
	ok(got.halted == raw.halted && raw.halted == 71, "71 halted (%zu)", got.halted);
	ok(got.plain_running == raw.plain_running && raw.plain_running == 1, "1 running guest");
	for (i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		sorted += prev == NULL || strcmp(prev->uuid, vm->uuid) < 0;
		ok(xs_topo_vm_by_uuid(t, vm->uuid) == vm && xs_topo_vm_by_ref(t, vm->ref) == vm &&
			   !strcmp(vm->name, xs_rpc_get_str(xs_rpc_get(vms, vm->ref), "name_label")),
		   "VM %zu by uuid, by ref, name", i);
		prev = vm;
	}
	ok(sorted == 74, "VMs by uuid");
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:2a9b32e7-7f13-8f2b-dd85-37ab7fd596a7");
	fail_unless(vm != NULL, "vm-teste");
	ok(!strcmp(vm->name, "vm-teste") && vm->power == XS_POWER_RUNNING && vm->domid == 2 &&
		   !strcmp(vm->resident_on, "OpaqueRef:1500e92a-ff9c-119f-de60-541ed4ba565e") &&
		   vm->memory_static_max == 536870912 && vm->vcpus == 1 && vm->ntags == 0 &&
		   !vm->guest_tools,
	   "vm-teste fields");
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:c2466b5e-6ef6-44af-d79d-7206eb701a34");
	ok(vm != NULL && !strcmp(vm->name, "Puppet Master") && vm->power == XS_POWER_HALTED &&
		   !strcmp(vm->resident_on, "") && vm->domid == -1,
	   "halted VM: resident_on OpaqueRef:NULL is \"\", domid -1");
}

static void check_real_dom0(struct xs_topo *t)
{
	const struct xs_topo_host *h;
	const struct xs_topo_vm *d;
	size_t i;

	for (i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++) {
		d = xs_topo_host_dom0(t, h);
		ok(d != NULL && d->is_control_domain && !strcmp(d->resident_on, h->ref) &&
			   !strncmp(d->name, "Control domain on host: ", 24) &&
			   !strcmp(d->name + 24, h->name),
		   "dom0 of %s", h->name);
	}
	h = xs_topo_host_by_uuid(t, "54a17e93-a7f6-4c62-b8f9-9e81ad3ade1c");
	d = xs_topo_host_dom0(t, h);
	ok(d != NULL && !strcmp(d->uuid, "0bd244b0-f175-4c1d-ad64-fd9b222e6d98"), "dom0 uuid");
}

/* Metrics that arrive later fill the derived fields of hosts and VMs. */
static void check_real_metrics(struct xs_topo *t)
{
	char err[XS_ERR_LEN];
	const struct xs_topo_host *h;
	const struct xs_topo_vm *vm;
	uint64_t v;

	v = xs_topo_version(t);
	ok(xs_topo_apply(t, XS_TOPO_HOST_METRICS, "OpaqueRef:c35882e4-34cd-e84a-ad35-40652ad2178c",
			 rec("uuid", S("hm-04"), "live", B(true), "memory_total", S("34359738368"),
			     "memory_free", S("1"), NULL),
			 err) == XS_OK,
	   "host_metrics: %s", err);
	ok(xs_topo_version(t) == v + 1, "version bumped");
	h = xs_topo_host_by_uuid(t, "54a17e93-a7f6-4c62-b8f9-9e81ad3ade1c");
	ok(h->live && h->memory_total == 34359738368ULL, "host ↔ host_metrics");
	h = xs_topo_host_by_uuid(t, "68c603c4-4dde-482d-84f5-86f8cdfa6a89");
	ok(!h->live && h->memory_total == 0, "the other host has none");

	vm = xs_topo_vm_by_ref(t, "OpaqueRef:2a9b32e7-7f13-8f2b-dd85-37ab7fd596a7");
	ok(xs_topo_apply(t, XS_TOPO_VM_METRICS, "OpaqueRef:8431b752-ea59-2774-2d0c-4ec586f90bd8",
			 rec("uuid", S("m1"), "VCPUs_number", S("2"), NULL), err) == XS_OK &&
		   xs_topo_apply(t, XS_TOPO_VM_GUEST_METRICS,
				 "OpaqueRef:bbe8e7ec-ad8b-963b-a5a3-66fe7aaa4a7e",
				 rec("uuid", S("g1"), NULL), err) == XS_OK,
	   "VM metrics: %s", err);
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:2a9b32e7-7f13-8f2b-dd85-37ab7fd596a7");
	ok(vm->vcpus == 2 && vm->guest_tools, "VM ↔ VM_metrics, VM_guest_metrics");
	xs_topo_remove(t, XS_TOPO_VM_GUEST_METRICS, "OpaqueRef:bbe8e7ec-ad8b-963b-a5a3-66fe7aaa4a7e");
	vm = xs_topo_vm_by_uuid(t, "92d00a04-6696-1517-5ba9-59cca3407c28");
	ok(vm != NULL && !vm->guest_tools, "guest_metrics gone: no tools");
	/* a halted VM keeps its static VCPUs even with a metrics record */
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:86de85ee-60e8-5656-461f-9df533524413");
	ok(xs_topo_apply(t, XS_TOPO_VM_METRICS, "OpaqueRef:66769e6f-55db-f611-cdcd-5884e57b15ab",
			 rec("uuid", S("m2"), "VCPUs_number", S("7"), NULL), err) == XS_OK &&
		   (vm = xs_topo_vm_by_ref(t, "OpaqueRef:86de85ee-60e8-5656-461f-9df533524413")) != NULL &&
		   vm->vcpus == 2,
	   "halted: VCPUs_at_startup");
}

static void test_real_captures(void)
{
	struct xs_topo *t;
	const struct xs_rpc_value *hosts, *vms;
	char err[XS_ERR_LEN];
	uint64_t v;

	hosts = capture("get_all_hosts.0.host.get_all_records.response.xml");
	vms = capture("builtin_templates.0.VM.get_all_records.response.xml");
	fail_unless(hosts != NULL && vms != NULL, "captures not found (XS_SHARED_DIR)");
	t = xs_topo_new();
	ok(xs_topo_version(t) == 0 && xs_topo_count(t, XS_TOPO_VM) == 0 && xs_topo_vm_at(t, 0) == NULL,
	   "empty");
	ok(xs_topo_load_all(t, XS_TOPO_HOST, hosts, err) == XS_OK, "hosts: %s", err);
	ok(xs_topo_load_all(t, XS_TOPO_VM, vms, err) == XS_OK, "VMs: %s", err);
	ok(xs_topo_version(t) == 2, "one bump per load_all");
	check_real_hosts(t, hosts);
	check_real_vms(t, vms);
	check_real_dom0(t);
	/* the same records again: nothing moved */
	v = xs_topo_version(t);
	ok(xs_topo_load_all(t, XS_TOPO_VM, vms, err) == XS_OK && xs_topo_version(t) == v,
	   "identical load_all: no bump");
	ok(xs_topo_apply(t, XS_TOPO_VM, vms->u.st.members[5].key, vms->u.st.members[5].value, err) ==
			   XS_OK &&
		   xs_topo_version(t) == v,
	   "identical apply: no bump");
	check_real_metrics(t);
	xs_topo_free(&t);
	ok(t == NULL, "free clears the pointer");
	xs_topo_free(&t);
	xs_topo_free(NULL);
}

/* ---- hand-built records ---- */

#define VM1 "OpaqueRef:vm-1"
#define VM1_UUID "11111111-0000-0000-0000-000000000001"
#define H1 "OpaqueRef:host-1"
#define H1_UUID "aaaaaaaa-0000-0000-0000-000000000001"
#define H2 "OpaqueRef:host-2"
#define H2_UUID "aaaaaaaa-0000-0000-0000-000000000002"

static enum xs_err put(struct xs_topo *t, enum xs_topo_class c, const char *ref,
		       struct xs_rpc_value *r)
{
	char err[XS_ERR_LEN];
	enum xs_err e = xs_topo_apply(t, c, ref, r, err);

	if (e != XS_OK)
		fprintf(stderr, "# apply %s: %s\n", ref, err);
	return e;
}

static void put_vm(struct xs_topo *t, const char *ref, const char *uuid, const char *name)
{
	put(t, XS_TOPO_VM, ref,
	    rec("uuid", S(uuid), "name_label", S(name), "power_state", S("Running"), "resident_on",
		S(H1), "domid", S("5"), NULL));
}

static void test_vif_vbd_names(void)
{
	struct xs_topo *t = xs_topo_new();
	const struct xs_topo_sr *sr = (const void *)&sr;

	put_vm(t, VM1, VM1_UUID, "web");
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-0",
	    rec("uuid", S("n0"), "name_label", S("Pool-wide network associated with eth0"),
		"bridge", S("xenbr0"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-0",
	    rec("uuid", S("vif0"), "VM", S(VM1), "network", S("OpaqueRef:net-0"), "device", S("0"),
		NULL));
	put(t, XS_TOPO_SR, "OpaqueRef:sr-1",
	    rec("uuid", S("5e3f2a11-1111-2222-3333-444455556666"), "name_label", S("Local storage"),
		"type", S("lvm"), "shared", B(false), NULL));
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-1",
	    rec("uuid", S("vdi1"), "name_label", S("web root"), "SR", S("OpaqueRef:sr-1"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-1",
	    rec("uuid", S("vbd1"), "VM", S(VM1), "VDI", S("OpaqueRef:vdi-1"), "device", S("xvda"),
		"type", S("Disk"), NULL));
	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-cd",
	    rec("uuid", S("vbd2"), "VM", S(VM1), "VDI", S("OpaqueRef:NULL"), "device", S("xvdd"),
		"type", S("CD"), NULL));
	ok(!strcmp(xs_topo_vif_network(t, VM1_UUID, "0"), "Pool-wide network associated with eth0"),
	   "vif_0 → network");
	ok(!strcmp(xs_topo_vif_network(t, VM1_UUID, "1"), ""), "vif_1: none");
	ok(!strcmp(xs_topo_vif_network(t, "nope", "0"), ""), "unknown VM");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "web root") && sr != NULL &&
		   !strcmp(sr->name, "Local storage") && !strcmp(sr->type, "lvm") && !sr->shared,
	   "vbd_xvda → VDI, SR");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", NULL), "web root"), "sr may be NULL");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvdd", &sr), "") && sr == NULL, "empty CD drive");
	sr = (const void *)&sr;
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvdb", &sr), "") && sr == NULL, "no such VBD");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "", &sr), "") &&
		   !strcmp(xs_topo_vif_network(t, VM1_UUID, NULL), ""),
	   "empty / NULL device");
	/* a VIF moved to another network: the name follows */
	put(t, XS_TOPO_NETWORK, "OpaqueRef:net-1",
	    rec("uuid", S("n1"), "name_label", S("DMZ"), NULL));
	put(t, XS_TOPO_VIF, "OpaqueRef:vif-0",
	    rec("uuid", S("vif0"), "VM", S(VM1), "network", S("OpaqueRef:net-1"), "device", S("0"),
		NULL));
	ok(!strcmp(xs_topo_vif_network(t, VM1_UUID, "0"), "DMZ"), "VIF replaced");
	ok(xs_topo_count(t, XS_TOPO_VIF) == 1 && xs_topo_count(t, XS_TOPO_VBD) == 2, "counts");
	xs_topo_free(&t);
}

/* Records arrive in any order: lookups resolve when asked. */
static void test_any_order(void)
{
	struct xs_topo *t = xs_topo_new();
	const struct xs_topo_sr *sr;
	uint64_t v;

	put(t, XS_TOPO_VBD, "OpaqueRef:vbd-1",
	    rec("uuid", S("vbd1"), "VM", S(VM1), "VDI", S("OpaqueRef:vdi-1"), "device", S("xvda"),
		NULL));
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "") && sr == NULL, "VBD alone");
	put_vm(t, VM1, VM1_UUID, "db");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "") && sr == NULL, "no VDI yet");
	put(t, XS_TOPO_VDI, "OpaqueRef:vdi-1",
	    rec("uuid", S("vdi1"), "name_label", S("data"), "SR", S("OpaqueRef:sr-9"), NULL));
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "data") && sr == NULL,
	   "VDI known, SR not yet");
	put(t, XS_TOPO_SR, "OpaqueRef:sr-9",
	    rec("uuid", S("99999999-aaaa-bbbb-cccc-dddddddddddd"), "name_label", S("NFS"),
		"shared", B(true), NULL));
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "data") && sr != NULL &&
		   !strcmp(sr->name, "NFS") && sr->shared,
	   "and the SR");
	v = xs_topo_version(t);
	xs_topo_remove(t, XS_TOPO_VDI, "OpaqueRef:vdi-1");
	ok(xs_topo_version(t) == v + 1 && xs_topo_count(t, XS_TOPO_VDI) == 0, "VDI removed");
	ok(!strcmp(xs_topo_vbd_vdi(t, VM1_UUID, "xvda", &sr), "") && sr == NULL, "name gone with it");
	xs_topo_remove(t, XS_TOPO_VDI, "OpaqueRef:vdi-1");
	xs_topo_remove(t, XS_TOPO_VM, "OpaqueRef:unknown");
	xs_topo_remove(t, XS_TOPO_VM, NULL);
	xs_topo_remove(t, XS_TOPO_NCLASSES, VM1);
	ok(xs_topo_version(t) == v + 1, "removing the unknown changes nothing");
	/* the VM goes and comes back under another uuid: VBDs follow the ref */
	xs_topo_remove(t, XS_TOPO_VM, VM1);
	ok(xs_topo_vm_by_ref(t, VM1) == NULL && xs_topo_vm_by_uuid(t, VM1_UUID) == NULL &&
		   xs_topo_vm_at(t, 0) == NULL && xs_topo_count(t, XS_TOPO_VM) == 0,
	   "VM removed from every index");
	xs_topo_free(&t);
}

static void put_pif(struct xs_topo *t, const char *ref, const char *host, const char *device,
		    struct xs_rpc_value *vlan, const char *net)
{
	struct xs_rpc_value *r = rec("uuid", S(ref + 10), "device", S(device), "host", S(host),
				     "network", S(net), "physical", B(vlan == NULL), NULL);

	if (vlan != NULL)
		xs_rpc_struct_cset(A, r, "VLAN", vlan);
	put(t, XS_TOPO_PIF, ref, r);
}

static void test_pifs(void)
{
	struct xs_topo *t = xs_topo_new();
	static const struct {
		const char *net, *name;
	} nets[] = {
		{ "OpaqueRef:n-eth0", "Network 0" }, { "OpaqueRef:n-eth1", "Network 1" },
		{ "OpaqueRef:n-bond", "Bond 0+1" },   { "OpaqueRef:n-v100", "VLAN 100" },
		{ "OpaqueRef:n-v200", "VLAN 200" },   { "OpaqueRef:n-h2", "Storage" },
	};
	size_t i;

	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		put(t, XS_TOPO_NETWORK, nets[i].net,
		    rec("uuid", S(nets[i].net + 10), "name_label", S(nets[i].name), NULL));
	put(t, XS_TOPO_HOST, H1, rec("uuid", S(H1_UUID), "name_label", S("h1"), NULL));
	put(t, XS_TOPO_HOST, H2, rec("uuid", S(H2_UUID), "name_label", S("h2"), NULL));
	put_pif(t, "OpaqueRef:pif-eth0", H1, "eth0", S("-1"), "OpaqueRef:n-eth0");
	put_pif(t, "OpaqueRef:pif-eth1", H1, "eth1", NULL, "OpaqueRef:n-eth1"); /* no VLAN field */
	put_pif(t, "OpaqueRef:pif-bond", H1, "bond0", S("-1"), "OpaqueRef:n-bond");
	put_pif(t, "OpaqueRef:pif-v100", H1, "eth0", S("100"), "OpaqueRef:n-v100");
	put_pif(t, "OpaqueRef:pif-v200", H1, "bond0", I(200), "OpaqueRef:n-v200"); /* JSON number */
	put_pif(t, "OpaqueRef:pif-h2", H2, "eth0", S("-1"), "OpaqueRef:n-h2");
	ok(xs_topo_count(t, XS_TOPO_PIF) == 6, "6 PIFs");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "eth0"), "Network 0"), "pif_eth0");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "eth1"), "Network 1"), "no VLAN field: -1");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "bond0"), "Bond 0+1"), "bond master: bond0");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "eth0.100"), "VLAN 100"), "VLAN eth0.100");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "bond0.200"), "VLAN 200"), "VLAN on a bond");
	ok(!strcmp(xs_topo_pif_network(t, H2_UUID, "eth0"), "Storage"), "per host");
	ok(!strcmp(xs_topo_pif_network(t, H2_UUID, "eth1"), "") &&
		   !strcmp(xs_topo_pif_network(t, "nope", "eth0"), "") &&
		   !strcmp(xs_topo_pif_network(t, H1_UUID, "eth0.-1"), ""),
	   "unknown PIFs");
	/* the VLAN moves to tag 101 */
	put_pif(t, "OpaqueRef:pif-v100", H1, "eth0", S("101"), "OpaqueRef:n-v100");
	ok(!strcmp(xs_topo_pif_network(t, H1_UUID, "eth0.100"), "") &&
		   !strcmp(xs_topo_pif_network(t, H1_UUID, "eth0.101"), "VLAN 100"),
	   "re-keyed on change");
	xs_topo_free(&t);
}

struct collisions {
	char prefix[4][9];
	size_t n[4], calls;
};

static void on_collision(void *arg, const char *prefix8, size_t nsrs)
{
	struct collisions *c = arg;

	if (c->calls < 4) {
		snprintf(c->prefix[c->calls], sizeof(c->prefix[0]), "%s", prefix8);
		c->n[c->calls] = nsrs;
	}
	c->calls++;
}

static void put_sr(struct xs_topo *t, const char *ref, const char *uuid, const char *name)
{
	put(t, XS_TOPO_SR, ref, rec("uuid", S(uuid), "name_label", S(name), "type", S("nfs"), NULL));
}

static void test_sr_prefix(void)
{
	struct xs_topo *t = xs_topo_new();
	const struct xs_topo_sr *sr = NULL;
	struct collisions col;
	const struct xs_topo_host *h1;

	put_sr(t, "OpaqueRef:sr-a", "abcd1234-0000-0000-0000-000000000001", "A");
	put_sr(t, "OpaqueRef:sr-b", "abcd1234-ffff-0000-0000-000000000002", "B");
	put_sr(t, "OpaqueRef:sr-c", "0123abcd-0000-0000-0000-000000000003", "C");
	put_sr(t, "OpaqueRef:sr-d", "short", "D");
	ok(xs_topo_sr_by_prefix(t, "0123abcd", &sr) == XS_TOPO_ONE && sr != NULL &&
		   !strcmp(sr->name, "C"),
	   "one SR");
	ok(xs_topo_sr_by_prefix(t, "abcd1234", &sr) == XS_TOPO_AMBIGUOUS && sr == NULL, "ambiguous");
	ok(xs_topo_sr_by_prefix(t, "ffffffff", &sr) == XS_TOPO_NONE && sr == NULL, "none");
	ok(xs_topo_sr_by_prefix(t, "0123abc", &sr) == XS_TOPO_NONE &&
		   xs_topo_sr_by_prefix(t, "0123abcd-", &sr) == XS_TOPO_NONE &&
		   xs_topo_sr_by_prefix(t, "short", &sr) == XS_TOPO_NONE &&
		   xs_topo_sr_by_prefix(t, NULL, &sr) == XS_TOPO_NONE,
	   "only 8 characters name an SR");
	ok(xs_topo_sr_by_prefix(t, "0123abcd", NULL) == XS_TOPO_ONE, "sr may be NULL");
	memset(&col, 0, sizeof(col));
	xs_topo_sr_collisions(t, on_collision, &col);
	ok(col.calls == 1 && !strcmp(col.prefix[0], "abcd1234") && col.n[0] == 2,
	   "one collision reported (%zu)", col.calls);
	ok(!strcmp(xs_topo_sr_at(t, 0)->name, "C") && !strcmp(xs_topo_sr_at(t, 1)->name, "A") &&
		   !strcmp(xs_topo_sr_at(t, 2)->name, "B") && !strcmp(xs_topo_sr_at(t, 3)->name, "D") &&
		   xs_topo_sr_at(t, 4) == NULL,
	   "SRs by uuid");
	ok(xs_topo_sr_by_uuid(t, "short") == xs_topo_sr_at(t, 3) &&
		   xs_topo_sr_by_ref(t, "OpaqueRef:sr-a") == xs_topo_sr_at(t, 1),
	   "SR by uuid and ref");
	put_sr(t, "OpaqueRef:sr-e", "abcd1234-eeee-0000-0000-000000000005", "E");
	memset(&col, 0, sizeof(col));
	xs_topo_sr_collisions(t, on_collision, &col);
	ok(col.calls == 1 && col.n[0] == 3, "three share it");
	xs_topo_remove(t, XS_TOPO_SR, "OpaqueRef:sr-b");
	xs_topo_remove(t, XS_TOPO_SR, "OpaqueRef:sr-e");
	ok(xs_topo_sr_by_prefix(t, "abcd1234", &sr) == XS_TOPO_ONE && !strcmp(sr->name, "A"),
	   "unique again after removal");
	memset(&col, 0, sizeof(col));
	xs_topo_sr_collisions(t, on_collision, &col);
	ok(col.calls == 0, "no collision left");
	/* PBDs: which hosts see an SR */
	put(t, XS_TOPO_HOST, H1, rec("uuid", S(H1_UUID), NULL));
	put(t, XS_TOPO_PBD, "OpaqueRef:pbd-1",
	    rec("uuid", S("pbd1"), "host", S(H1), "SR", S("OpaqueRef:sr-a"), "currently_attached",
		B(true), NULL));
	h1 = xs_topo_host_by_ref(t, H1);
	ok(xs_topo_sr_on_host(t, xs_topo_sr_by_ref(t, "OpaqueRef:sr-a"), h1) &&
		   !xs_topo_sr_on_host(t, xs_topo_sr_by_ref(t, "OpaqueRef:sr-c"), h1) &&
		   !xs_topo_sr_on_host(t, NULL, h1),
	   "PBD links SR and host");
	xs_topo_free(&t);
}

static struct xs_rpc_value *vm_map(size_t n, const char *bad_field, struct xs_rpc_value *bad)
{
	struct xs_rpc_value *map = xs_rpc_struct(A);
	char ref[64], uuid[64];
	size_t i;

	for (i = 0; i < n; i++) {
		struct xs_rpc_value *r;

		snprintf(ref, sizeof(ref), "OpaqueRef:new-%zu", i);
		snprintf(uuid, sizeof(uuid), "22222222-0000-0000-0000-%012zu", i);
		r = rec("uuid", S(uuid), "name_label", S("new"), "power_state", S("Halted"), NULL);
		if (i == n - 1 && bad_field != NULL)
			xs_rpc_struct_cset(A, r, bad_field, bad);
		xs_rpc_struct_cset(A, map, ref, r);
	}
	return map;
}

static void test_load_all_atomic(void)
{
	struct xs_topo *t = xs_topo_new();
	char err[XS_ERR_LEN];
	struct xs_rpc_value *map;
	uint64_t v;

	put_vm(t, VM1, VM1_UUID, "old");
	put_vm(t, "OpaqueRef:vm-2", "11111111-0000-0000-0000-000000000002", "old too");
	v = xs_topo_version(t);
	err[0] = '\0';
	ok(xs_topo_load_all(t, XS_TOPO_VM, vm_map(5, "power_state", I(1)), err) == XS_ERR_PARSE,
	   "a bad record fails the whole map");
	ok(!strcmp(err, "VM OpaqueRef:new-4: field power_state: expected a string"), "err: %s", err);
	ok(xs_topo_count(t, XS_TOPO_VM) == 2 && xs_topo_vm_by_ref(t, VM1) != NULL &&
		   xs_topo_vm_by_ref(t, "OpaqueRef:new-0") == NULL && xs_topo_version(t) == v,
	   "nothing changed");
	ok(xs_topo_load_all(t, XS_TOPO_VM, S("x"), err) == XS_ERR_PARSE &&
		   !strcmp(err, "VM: not a map of records"),
	   "not a map: %s", err);
	map = xs_rpc_struct(A);
	xs_rpc_struct_cset(A, map, "OpaqueRef:x", S("not a record"));
	ok(xs_topo_load_all(t, XS_TOPO_VM, map, err) == XS_ERR_PARSE &&
		   !strcmp(err, "VM OpaqueRef:x: not a record (a struct)"),
	   "not a record: %s", err);
	map = xs_rpc_struct(A);
	xs_rpc_struct_cset(A, map, "OpaqueRef:NULL", rec("uuid", S("u"), NULL));
	ok(xs_topo_load_all(t, XS_TOPO_VM, map, err) == XS_ERR_ARG, "a NULL ref: %s", err);
	ok(xs_topo_count(t, XS_TOPO_VM) == 2 && xs_topo_version(t) == v, "still nothing changed");

	ok(xs_topo_load_all(t, XS_TOPO_VM, vm_map(5, NULL, NULL), err) == XS_OK, "good map: %s", err);
	ok(xs_topo_count(t, XS_TOPO_VM) == 5 && xs_topo_vm_by_ref(t, VM1) == NULL &&
		   xs_topo_vm_by_uuid(t, VM1_UUID) == NULL &&
		   xs_topo_vm_by_ref(t, "OpaqueRef:new-4") != NULL && xs_topo_version(t) == v + 1,
	   "replaced, one bump");
	ok(!strcmp(xs_topo_vm_at(t, 0)->ref, "OpaqueRef:new-0") &&
		   !strcmp(xs_topo_vm_at(t, 4)->ref, "OpaqueRef:new-4") && xs_topo_vm_at(t, 5) == NULL,
	   "sorted view rebuilt");
	/* a duplicate ref in the map: the last one wins */
	map = xs_rpc_struct(A);
	xs_rpc_struct_cset(A, map, "OpaqueRef:d", rec("uuid", S("d1"), "name_label", S("first"), NULL));
	xs_rpc_struct_cset(A, map, "OpaqueRef:d", rec("uuid", S("d2"), "name_label", S("last"), NULL));
	ok(xs_topo_load_all(t, XS_TOPO_VM, map, err) == XS_OK && xs_topo_count(t, XS_TOPO_VM) == 1 &&
		   !strcmp(xs_topo_vm_by_ref(t, "OpaqueRef:d")->name, "last") &&
		   xs_topo_vm_by_uuid(t, "d1") == NULL,
	   "duplicate ref");
	ok(xs_topo_load_all(t, XS_TOPO_VM, xs_rpc_struct(A), err) == XS_OK &&
		   xs_topo_count(t, XS_TOPO_VM) == 0 && xs_topo_vm_at(t, 0) == NULL,
	   "an empty map empties the class");
	ok(xs_topo_load_all(t, XS_TOPO_NCLASSES, xs_rpc_struct(A), err) == XS_ERR_ARG, "bad class");
	xs_topo_free(&t);
}

struct bad_case {
	const char *field;
	int kind; /* 0 string, 1 int, 2 bool, 3 array, 4 struct */
	const char *text;
	const char *expect;
};

static struct xs_rpc_value *bad_value(const struct bad_case *c)
{
	switch (c->kind) {
	case 1: return I(7);
	case 2: return B(true);
	case 3: return xs_rpc_array(A);
	case 4: return xs_rpc_struct(A);
	default: return S(c->text);
	}
}

/* A record of the wrong shape is an error naming class, ref and field; the old one stays. */
static void test_wrong_shape(void)
{
	static const struct bad_case cases[] = {
		{ "memory_static_max", 0, "lots", "field memory_static_max: not an integer" },
		{ "memory_target", 2, NULL, "field memory_target: expected an integer" },
		{ "is_a_template", 0, "yes", "field is_a_template: expected a boolean" },
		{ "is_control_domain", 1, NULL, "field is_control_domain: expected a boolean" },
		{ "power_state", 3, NULL, "field power_state: expected a string" },
		{ "name_label", 1, NULL, "field name_label: expected a string" },
		{ "resident_on", 4, NULL, "field resident_on: expected a string" },
		{ "tags", 0, "a", "field tags: expected a set" },
		{ "VCPUs_at_startup", 0, "99999999999", "field VCPUs_at_startup: out of range" },
		{ "domid", 0, "1.5", "field domid: not an integer" },
	};
	struct xs_topo *t = xs_topo_new();
	char err[XS_ERR_LEN], want[XS_ERR_LEN];
	struct xs_rpc_value *r, *tags;
	const struct xs_topo_vm *vm;
	uint64_t v;
	size_t i;

	put_vm(t, VM1, VM1_UUID, "keep me");
	v = xs_topo_version(t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = rec("uuid", S(VM1_UUID), "name_label", S("changed"), NULL);
		xs_rpc_struct_cset(A, r, cases[i].field, bad_value(&cases[i]));
		snprintf(want, sizeof(want), "VM " VM1 ": %s", cases[i].expect);
		err[0] = '\0';
		ok(xs_topo_apply(t, XS_TOPO_VM, VM1, r, err) == XS_ERR_PARSE && !strcmp(err, want),
		   "%s: %s", cases[i].field, err);
	}
	tags = xs_rpc_array(A);
	xs_rpc_array_push(A, tags, I(1));
	ok(xs_topo_apply(t, XS_TOPO_VM, VM1, rec("tags", tags, NULL), err) == XS_ERR_PARSE &&
		   !strcmp(err, "VM " VM1 ": field tags: expected a set of strings"),
	   "tags of ints: %s", err);
	ok(xs_topo_apply(t, XS_TOPO_HOST, H1, rec("software_version", S("6.2"), NULL), err) ==
			   XS_ERR_PARSE &&
		   !strcmp(err, "host " H1 ": field software_version: expected a map"),
	   "map: %s", err);
	ok(xs_topo_apply(t, XS_TOPO_HOST, H1, rec("host_CPUs", S("4"), NULL), err) == XS_ERR_PARSE,
	   "host_CPUs must be a set");
	ok(xs_topo_apply(t, XS_TOPO_VM, VM1, NULL, err) == XS_ERR_PARSE, "no record");
	vm = xs_topo_vm_by_ref(t, VM1);
	ok(vm != NULL && !strcmp(vm->name, "keep me") && vm->domid == 5 &&
		   xs_topo_version(t) == v && xs_topo_count(t, XS_TOPO_HOST) == 0,
	   "the old record is kept, no bump");
	ok(xs_topo_apply(t, XS_TOPO_VM, "", rec(NULL), err) == XS_ERR_ARG &&
		   xs_topo_apply(t, XS_TOPO_VM, NULL, rec(NULL), err) == XS_ERR_ARG &&
		   xs_topo_apply(t, XS_TOPO_NCLASSES, VM1, rec(NULL), err) == XS_ERR_ARG &&
		   xs_topo_apply(t, XS_TOPO_VM, "OpaqueRef:NULL", rec(NULL), NULL) == XS_ERR_ARG,
	   "bad refs and classes");
	xs_topo_free(&t);
}

/* JSON-RPC shapes (numbers, real booleans, null), defaults, and unknown states. */
static void test_value_forms(void)
{
	struct xs_topo *t = xs_topo_new();
	const struct xs_topo_vm *vm;
	const struct xs_topo_host *h;
	const struct xs_topo_pool *p;
	uint64_t v;

	ok(xs_topo_pool(t) == NULL, "no pool yet");
	put(t, XS_TOPO_VM, VM1,
	    rec("uuid", S(VM1_UUID), "power_state", S("Running"), "memory_static_max",
		I(8589934592LL), "memory_dynamic_min", xs_rpc_double(A, 1073741824.0),
		"memory_target", S(""), "VCPUs_at_startup", I(4), "domid", I(12),
		"is_a_template", S("false"), "is_a_snapshot", B(false), "name_label",
		xs_rpc_nil(A), "future_field", xs_rpc_double(A, 0.5), NULL));
	vm = xs_topo_vm_by_ref(t, VM1);
	fail_unless(vm != NULL, "JSON-shaped VM");
	ok(vm->memory_static_max == 8589934592ULL && vm->memory_dynamic_min == 1073741824ULL &&
		   vm->memory_target == 0 && vm->vcpus == 4 && vm->domid == 12 && !vm->is_template &&
		   !strcmp(vm->name, ""),
	   "ints as numbers, \"\" → 0, null → \"\"");
	put(t, XS_TOPO_VM, "OpaqueRef:vm-2", rec("uuid", S("u2"), NULL));
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:vm-2");
	ok(vm != NULL && vm->power == XS_POWER_UNKNOWN && vm->domid == -1 && vm->vcpus == 0 &&
		   !strcmp(vm->resident_on, "") && vm->ntags == 0 && !vm->is_control_domain,
	   "missing fields: neutral values");
	put(t, XS_TOPO_VM, "OpaqueRef:vm-3",
	    rec("uuid", S("u3"), "power_state", S("Crashed"), "memory_static_max", S("-5"), NULL));
	vm = xs_topo_vm_by_ref(t, "OpaqueRef:vm-3");
	ok(vm->power == XS_POWER_UNKNOWN && vm->memory_static_max == 0, "unknown state, negative");
	put(t, XS_TOPO_VM, "OpaqueRef:vm-4", rec("uuid", S("u4"), "power_state", S("Suspended"), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:vm-5", rec("uuid", S("u5"), "power_state", S("Paused"), NULL));
	ok(xs_topo_vm_by_uuid(t, "u4")->power == XS_POWER_SUSPENDED &&
		   xs_topo_vm_by_uuid(t, "u5")->power == XS_POWER_PAUSED,
	   "suspended, paused");
	put(t, XS_TOPO_HOST_METRICS, "OpaqueRef:hm",
	    rec("uuid", S("hm"), "live", S("true"), "memory_total", S(""), NULL));
	put(t, XS_TOPO_HOST, H1,
	    rec("uuid", S(H1_UUID), "metrics", S("OpaqueRef:hm"), "host_CPUs", xs_rpc_array(A),
		"software_version", rec("xapi", S("1.3"), NULL), NULL));
	h = xs_topo_host_by_ref(t, H1);
	ok(h->live && h->memory_total == 0 && h->cpus == 0 && !strcmp(h->product_version, ""),
	   "host_metrics memory_total \"\" → 0; no product_version");
	/* a "mod" about a field not kept moves nothing; one about a kept field does */
	v = xs_topo_version(t);
	put(t, XS_TOPO_VM, "OpaqueRef:vm-4",
	    rec("uuid", S("u4"), "power_state", S("Suspended"), "current_operations",
		rec("x", S("clean_shutdown"), NULL), NULL));
	ok(xs_topo_version(t) == v, "ignored field: no bump");
	put(t, XS_TOPO_VM, "OpaqueRef:vm-4", rec("uuid", S("u4"), "power_state", S("Halted"), NULL));
	ok(xs_topo_version(t) == v + 1 && xs_topo_vm_by_uuid(t, "u4")->power == XS_POWER_HALTED,
	   "power_state: bump");
	v = xs_topo_version(t);
	put(t, XS_TOPO_POOL, "OpaqueRef:pool",
	    rec("uuid", S("p-uuid"), "name_label", S("prod"), "master", S(H1), NULL));
	p = xs_topo_pool(t);
	ok(p != NULL && !strcmp(p->name, "prod") && !strcmp(p->master, H1) &&
		   !strcmp(p->ref, "OpaqueRef:pool") && !strcmp(p->uuid, "p-uuid") &&
		   xs_topo_version(t) == v + 1 && xs_topo_count(t, XS_TOPO_POOL) == 1,
	   "pool");
	xs_topo_free(&t);
}

/* The control_domain field of newer xapi wins over the resident dom0. */
static void test_control_domain(void)
{
	struct xs_topo *t = xs_topo_new();
	const struct xs_topo_host *h;

	put(t, XS_TOPO_VM, "OpaqueRef:d0",
	    rec("uuid", S("d0"), "is_control_domain", B(true), "resident_on", S(H1), NULL));
	put(t, XS_TOPO_VM, "OpaqueRef:d1",
	    rec("uuid", S("d1"), "is_control_domain", B(true), "resident_on", S(H1), NULL));
	put(t, XS_TOPO_HOST, H1,
	    rec("uuid", S(H1_UUID), "control_domain", S("OpaqueRef:d1"), NULL));
	put(t, XS_TOPO_HOST, H2, rec("uuid", S(H2_UUID), NULL));
	h = xs_topo_host_by_ref(t, H1);
	ok(!strcmp(xs_topo_host_dom0(t, h)->uuid, "d1"), "control_domain field");
	h = xs_topo_host_by_ref(t, H2);
	ok(xs_topo_host_dom0(t, h) == NULL && xs_topo_host_dom0(t, NULL) == NULL, "no dom0");
	put(t, XS_TOPO_VM, "OpaqueRef:d2",
	    rec("uuid", S("d2"), "is_control_domain", B(true), "resident_on", S(H2), NULL));
	ok(!strcmp(xs_topo_host_dom0(t, h)->uuid, "d2"), "resident dom0 appears later");
	put(t, XS_TOPO_VM, "OpaqueRef:d2",
	    rec("uuid", S("d2"), "is_control_domain", B(false), "resident_on", S(H2), NULL));
	ok(xs_topo_host_dom0(t, h) == NULL, "not a control domain any more");
	xs_topo_free(&t);
}

/* Strings are cut at XS_TOPO_MAX_STR on a character boundary; tags at XS_TOPO_MAX_TAGS. */
static void test_bounds(void)
{
	static char big[XS_TOPO_MAX_STR * 2 + 2];
	static const char *tagv[100];
	struct xs_topo *t = xs_topo_new();
	char err[XS_ERR_LEN];
	const struct xs_topo_vm *vm;
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	for (i = 0; i < 100; i++)
		tagv[i] = i % 2 ? "odd" : "even";
	put(t, XS_TOPO_VM, VM1,
	    rec("uuid", S(VM1_UUID), "name_label", S(big), "tags", strings(100, tagv), NULL));
	vm = xs_topo_vm_by_ref(t, VM1);
	ok(strlen(vm->name) == XS_TOPO_MAX_STR, "cut at %d", XS_TOPO_MAX_STR);
	ok(vm->ntags == XS_TOPO_MAX_TAGS && !strcmp(vm->tags[0], "even") &&
		   !strcmp(vm->tags[63], "odd"),
	   "64 tags kept");
	/* "é" (2 bytes) straddling the cut: dropped whole */
	big[XS_TOPO_MAX_STR - 1] = (char)0xc3;
	big[XS_TOPO_MAX_STR] = (char)0xa9;
	put(t, XS_TOPO_VM, VM1, rec("uuid", S(VM1_UUID), "name_label", S(big), NULL));
	vm = xs_topo_vm_by_ref(t, VM1);
	ok(strlen(vm->name) == XS_TOPO_MAX_STR - 1 && vm->ntags == 0, "cut on a UTF-8 boundary");
	big[XS_TOPO_MAX_STR + 1] = '\0';
	memcpy(big, "OpaqueRef:", 10);
	ok(xs_topo_apply(t, XS_TOPO_VM, big, rec(NULL), err) == XS_ERR_TOO_LARGE, "long ref: %s",
	   err);
	xs_topo_free(&t);
}

/* An estate-sized class: every lookup through the indexes. */
static void test_many(void)
{
	enum { N = 20000 };
	struct xs_topo *t = xs_topo_new();
	char ref[64], uuid[64];
	const struct xs_topo_vm *vm;
	size_t i, found = 0, sorted = 0;

	for (i = 0; i < N; i++) {
		snprintf(ref, sizeof(ref), "OpaqueRef:%zu", i * 7919 % N);
		snprintf(uuid, sizeof(uuid), "%08zx-0000-0000-0000-000000000000", i * 7919 % N);
		put(t, XS_TOPO_VM, ref, rec("uuid", S(uuid), "power_state", S("Running"), NULL));
	}
	ok(xs_topo_count(t, XS_TOPO_VM) == N && xs_topo_version(t) == N, "%d VMs", N);
	for (i = 0; i < N; i++) {
		snprintf(uuid, sizeof(uuid), "%08zx-0000-0000-0000-000000000000", i);
		vm = xs_topo_vm_by_uuid(t, uuid);
		snprintf(ref, sizeof(ref), "OpaqueRef:%zu", i);
		found += vm != NULL && !strcmp(vm->ref, ref) && xs_topo_vm_by_ref(t, ref) == vm;
		vm = xs_topo_vm_at(t, i);
		sorted += vm != NULL && !strcmp(vm->uuid, uuid);
	}
	ok(found == N && sorted == N, "found %zu, in order %zu", found, sorted);
	for (i = 0; i < N; i += 2) {
		snprintf(ref, sizeof(ref), "OpaqueRef:%zu", i);
		xs_topo_remove(t, XS_TOPO_VM, ref);
	}
	ok(xs_topo_count(t, XS_TOPO_VM) == N / 2 && xs_topo_vm_by_ref(t, "OpaqueRef:2") == NULL &&
		   xs_topo_vm_by_ref(t, "OpaqueRef:3") != NULL &&
		   !strcmp(xs_topo_vm_at(t, 0)->ref, "OpaqueRef:1"),
	   "half removed");
	xs_topo_free(&t);
}

/* ---- records of xapi-sim ---- */

/* get_all_records of sim class c for pool 0, as the simulator answers it. */
static struct xs_rpc_value *sim_all(struct sim_rpc_ctx *ctx, enum sim_class c)
{
	struct xs_rpc_value *map = xs_rpc_struct(ctx->a);
	size_t i, n = sim_world_count(ctx->sim->world, c);

	for (i = 0; i < n; i++) {
		const struct sim_obj *o = sim_world_get(ctx->sim->world, c, (int)i);

		if (!o->deleted && sim_rpc_obj_pool(ctx->sim->world, c, (int)i) == ctx->pool)
			xs_rpc_struct_cset(ctx->a, map, o->ref, sim_rpc_record(ctx, c, (int)i));
	}
	return map;
}

/* The name_label of the record of ref in the class map, "" if none. */
static const char *raw_name(const struct xs_rpc_value *map, const char *ref)
{
	const char *s = xs_rpc_get_str(xs_rpc_get(map, ref), "name_label");

	return s != NULL ? s : "";
}

static const char *raw_uuid(const struct xs_rpc_value *map, const char *ref)
{
	const char *s = xs_rpc_get_str(xs_rpc_get(map, ref), "uuid");

	return s != NULL ? s : "";
}

/* Every VIF, VBD and PIF of the raw records names what the topology says. */
static void check_sim_names(const struct xs_topo *t, struct xs_rpc_value *const *raw)
{
	const struct xs_rpc_value *m;
	size_t i, good = 0, all = 0;
	int64_t vlan;
	char dev[128];

	for (m = raw[SIM_VIF], i = 0; i < m->u.st.n; i++, all++) {
		const struct xs_rpc_value *r = m->u.st.members[i].value;

		good += !strcmp(xs_topo_vif_network(t, raw_uuid(raw[SIM_VM], xs_rpc_get_str(r, "VM")),
						    xs_rpc_get_str(r, "device")),
				raw_name(raw[SIM_NETWORK], xs_rpc_get_str(r, "network")));
	}
	for (m = raw[SIM_VBD], i = 0; i < m->u.st.n; i++, all++) {
		const struct xs_rpc_value *r = m->u.st.members[i].value;
		const char *vdi = xs_rpc_get_str(r, "VDI");
		const struct xs_topo_sr *sr;
		const char *want_sr = xs_rpc_get_str(xs_rpc_get(raw[SIM_VDI], vdi), "SR");

		good += !strcmp(xs_topo_vbd_vdi(t, raw_uuid(raw[SIM_VM], xs_rpc_get_str(r, "VM")),
						xs_rpc_get_str(r, "device"), &sr),
				raw_name(raw[SIM_VDI], vdi)) &&
			(sr == NULL ? want_sr == NULL || !strcmp(want_sr, "OpaqueRef:NULL")
				    : !strcmp(sr->ref, want_sr));
	}
	for (m = raw[SIM_PIF], i = 0; i < m->u.st.n; i++, all++) {
		const struct xs_rpc_value *r = m->u.st.members[i].value;

		if (xs_rpc_get_i64(r, "VLAN", &vlan) && vlan >= 0)
			snprintf(dev, sizeof(dev), "%s.%lld", xs_rpc_get_str(r, "device"), (long long)vlan);
		else
			snprintf(dev, sizeof(dev), "%s", xs_rpc_get_str(r, "device"));
		good += !strcmp(xs_topo_pif_network(t, raw_uuid(raw[SIM_HOST], xs_rpc_get_str(r, "host")),
						    dev),
				raw_name(raw[SIM_NETWORK], xs_rpc_get_str(r, "network")));
	}
	ok(all > 0 && good == all, "VIF, VBD, PIF names: %zu of %zu", good, all);
	ok(!strcmp(xs_topo_pif_network(t, xs_topo_host_at(t, 0)->uuid, "bond0"), "Bond 1+2"),
	   "pif_bond0: %s", xs_topo_pif_network(t, xs_topo_host_at(t, 0)->uuid, "bond0"));
}

static void check_sim_objects(const struct xs_topo *t, struct xs_rpc_value *const *raw)
{
	const struct xs_topo_host *h;
	const struct xs_topo_vm *vm, *dom0;
	const struct xs_topo_sr *sr;
	size_t i, dom0s = 0, live = 0, vms = 0, srs = 0, attached = 0;

	for (i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++) {
		dom0 = xs_topo_host_dom0(t, h);
		dom0s += dom0 != NULL && dom0->is_control_domain && h->control_domain[0] != '\0' &&
			 !strcmp(dom0->ref, h->control_domain) && !strcmp(dom0->resident_on, h->ref);
		live += h->live && h->memory_total > 0 && h->address[0] != '\0';
		for (sr = NULL, srs = 0; (sr = xs_topo_sr_at(t, srs)) != NULL; srs++)
			attached += xs_topo_sr_on_host(t, sr, h);
	}
	ok(dom0s == 3 && live == 3, "3 hosts, each with its dom0 (%zu) and metrics (%zu)", dom0s, live);
	ok(srs == 4 && attached == 6, "1 shared + 3 local SRs, 2 PBDs per host (%zu, %zu)", srs,
	   attached);
	for (i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		const char *ps = xs_rpc_get_str(xs_rpc_get(raw[SIM_VM], vm->ref), "power_state");

		vms += (vm->power == XS_POWER_RUNNING) == !strcmp(ps, "Running") &&
		       (vm->power == XS_POWER_RUNNING) == (vm->domid >= 0) &&
		       vm->guest_tools == (xs_rpc_get(raw[SIM_VM_GUEST_METRICS],
						      xs_rpc_get_str(xs_rpc_get(raw[SIM_VM], vm->ref),
								     "guest_metrics")) != NULL);
	}
	ok(vms == raw[SIM_VM]->u.st.n && vms == 3 + 3 * 4, "VM power, domid, tools (%zu)", vms);
	for (i = 0; (sr = xs_topo_sr_at(t, i)) != NULL; i++) {
		char p8[9];
		const struct xs_topo_sr *by;

		snprintf(p8, sizeof(p8), "%s", sr->uuid);
		ok(xs_topo_sr_by_prefix(t, p8, &by) == XS_TOPO_ONE && by == sr, "SR %s by prefix", p8);
	}
}

static void test_sim_world(void)
{
	struct sim_world_params p = { .pools = 2, .hosts_per_pool = 3, .vms_per_host = 4,
				      .seed = 7, .addr_base = 90, .now = 1700000000.0 };
	struct sim sim;
	struct sim_rpc_ctx ctx;
	struct xs_rpc_value *raw[SIM_NCLASSES];
	struct xs_topo *t = xs_topo_new();
	enum xs_topo_class tc;
	char err[XS_ERR_LEN];
	int c;

	memset(&sim, 0, sizeof(sim));
	sim.world = sim_world_new(&p);
	fail_unless(sim.world != NULL, "sim world");
	memset(&ctx, 0, sizeof(ctx));
	ctx.sim = &sim;
	ctx.a = A;
	ctx.pool = 1;
	for (c = 0; c < SIM_NCLASSES; c++) {
		const char *name = sim_rpc_class_api_name((enum sim_class)c);

		raw[c] = sim_all(&ctx, (enum sim_class)c);
		ok(xs_topo_class_of(name, &tc), "class %s", name);
		ok(xs_topo_load_all(t, tc, raw[c], err) == XS_OK && xs_topo_count(t, tc) == raw[c]->u.st.n,
		   "load %s: %s", name, err);
	}
	ok(xs_topo_count(t, XS_TOPO_HOST) == 3 && xs_topo_count(t, XS_TOPO_POOL) == 1 &&
		   !strcmp(xs_topo_pool(t)->master, xs_topo_host_by_ref(t, xs_topo_pool(t)->master)->ref),
	   "one pool of 3 hosts, master known");
	check_sim_objects(t, raw);
	check_sim_names(t, raw);
	sim_rpc_ctx_cleanup(&ctx);
	sim_world_free(&sim.world);
	xs_topo_free(&t);
}

int main(void)
{
	A = xs_rpc_arena_new();
	TEST_RUN(test_classes);
	TEST_RUN(test_real_captures);
	TEST_RUN(test_vif_vbd_names);
	TEST_RUN(test_any_order);
	TEST_RUN(test_pifs);
	TEST_RUN(test_sr_prefix);
	TEST_RUN(test_load_all_atomic);
	TEST_RUN(test_wrong_shape);
	TEST_RUN(test_value_forms);
	TEST_RUN(test_control_domain);
	TEST_RUN(test_bounds);
	TEST_RUN(test_many);
	TEST_RUN(test_sim_world);
	xs_rpc_arena_free(&A);
	return test_summary();
}
