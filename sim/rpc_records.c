/*
 * rpc_records.c - XAPI records of the simulated estate and the per-class
 * calls of xapi-sim's RPC (see rpc_records.h).
 *
 * Records carry the fields real xapi has (datamodel names and types, SPEC
 * §4.3), with values from the world where it models them and xapi's defaults
 * elsewhere. Relations the world keeps only one way (a VM's resident_on, but
 * not a host's resident_VMs) are inverted once per request into a compact
 * index (offsets + items per parent), so get_all_records stays linear.
 *
 * Generic getters: <class>.get_<field> builds the record and returns the
 * field, which gives every getter real xapi has for the fields modelled here.
 */
#include "rpc_records.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/xmalloc.h"

#define REC_NUM_LEN 24        /* an int64 in decimal and NUL */
#define REC_MTU 1500
#define REC_API_MAJOR 2
#define REC_API_MINOR 21      /* XenServer 8 / XCP-ng 8.3 */
#define REC_SR_LOCAL_SIZE (2ull << 40)  /* physical_size of a local SR: 2 TiB */
#define REC_SR_SHARED_SIZE (16ull << 40) /* of a shared SR: 16 TiB */
#define REC_HOST_OVERHEAD 141529088ull  /* memory_overhead of a host (a real one's) */
#define REC_VM_OVERHEAD_PER_GIB 1048576ull

static const char *const rec_class_names[SIM_NCLASSES] = {
	[SIM_POOL] = "pool", [SIM_HOST] = "host", [SIM_HOST_METRICS] = "host_metrics",
	[SIM_VM] = "VM", [SIM_VM_METRICS] = "VM_metrics",
	[SIM_VM_GUEST_METRICS] = "VM_guest_metrics", [SIM_VIF] = "VIF", [SIM_VBD] = "VBD",
	[SIM_VDI] = "VDI", [SIM_PIF] = "PIF", [SIM_SR] = "SR", [SIM_PBD] = "PBD",
	[SIM_NETWORK] = "network",
};

const char *sim_rpc_class_api_name(enum sim_class c)
{
	return (unsigned)c < SIM_NCLASSES ? rec_class_names[c] : "";
}

bool sim_rpc_class_lookup(const char *name, size_t len, bool nocase, enum sim_class *c)
{
	for (int i = 0; i < SIM_NCLASSES; i++) {
		const char *n = rec_class_names[i];

		if (strlen(n) != len)
			continue;
		if (nocase ? strncasecmp(n, name, len) == 0 : memcmp(n, name, len) == 0) {
			*c = (enum sim_class)i;
			return true;
		}
	}
	return false;
}

int sim_rpc_obj_pool(const struct sim_world *w, enum sim_class c, int index)
{
	const void *o = sim_world_get(w, c, index);

	if (o == NULL)
		return -1;
	switch (c) {
	case SIM_POOL: return index;
	case SIM_HOST: return ((const struct sim_host *)o)->pool;
	case SIM_HOST_METRICS:
		return sim_rpc_obj_pool(w, SIM_HOST, ((const struct sim_host_metrics *)o)->host);
	case SIM_VM: return ((const struct sim_vm *)o)->pool;
	case SIM_VM_METRICS:
		return sim_rpc_obj_pool(w, SIM_VM, ((const struct sim_vm_metrics *)o)->vm);
	case SIM_VM_GUEST_METRICS:
		return sim_rpc_obj_pool(w, SIM_VM, ((const struct sim_vm_guest_metrics *)o)->vm);
	case SIM_VIF: return sim_rpc_obj_pool(w, SIM_VM, ((const struct sim_vif *)o)->vm);
	case SIM_VBD: return sim_rpc_obj_pool(w, SIM_VM, ((const struct sim_vbd *)o)->vm);
	case SIM_VDI: return sim_rpc_obj_pool(w, SIM_SR, ((const struct sim_vdi *)o)->sr);
	case SIM_PIF: return sim_rpc_obj_pool(w, SIM_HOST, ((const struct sim_pif *)o)->host);
	case SIM_SR: return ((const struct sim_sr *)o)->pool;
	case SIM_PBD: return sim_rpc_obj_pool(w, SIM_HOST, ((const struct sim_pbd *)o)->host);
	case SIM_NETWORK: return ((const struct sim_network *)o)->pool;
	default: return -1;
	}
}

void sim_rpc_datetime(double t, char *out)
{
	time_t s = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, SIM_RPC_DATE_LEN, "%Y%m%dT%H:%M:%SZ", &tm);
}

/* --- the reverse index --- */

enum rec_rel {
	REC_HOST_VMS,   /* VMs resident on a host */
	REC_HOST_PBDS,
	REC_NET_VIFS,
	REC_NET_PIFS,
	REC_SR_VDIS,
	REC_VDI_VBDS,
	REC_NRELS
};

static const enum sim_class rec_rel_child[REC_NRELS] = {
	[REC_HOST_VMS] = SIM_VM, [REC_HOST_PBDS] = SIM_PBD, [REC_NET_VIFS] = SIM_VIF,
	[REC_NET_PIFS] = SIM_PIF, [REC_SR_VDIS] = SIM_VDI, [REC_VDI_VBDS] = SIM_VBD,
};
static const enum sim_class rec_rel_parent[REC_NRELS] = {
	[REC_HOST_VMS] = SIM_HOST, [REC_HOST_PBDS] = SIM_HOST, [REC_NET_VIFS] = SIM_NETWORK,
	[REC_NET_PIFS] = SIM_NETWORK, [REC_SR_VDIS] = SIM_SR, [REC_VDI_VBDS] = SIM_VDI,
};

struct rec_list {
	size_t *off;                 /* parent i's children are items[off[i] .. off[i+1]) */
	int *items;
};

struct sim_rpc_index {
	struct rec_list rel[REC_NRELS];
};

/* The parent of a live child in a relation, or -1. */
static int rec_rel_parent_of(const struct sim_world *w, enum rec_rel r, int child)
{
	const struct sim_obj *o = sim_world_get(w, rec_rel_child[r], child);

	if (o == NULL || o->deleted)
		return -1;
	switch (r) {
	case REC_HOST_VMS: return ((const struct sim_vm *)o)->resident_on;
	case REC_HOST_PBDS: return ((const struct sim_pbd *)o)->host;
	case REC_NET_VIFS: return ((const struct sim_vif *)o)->network;
	case REC_NET_PIFS: return ((const struct sim_pif *)o)->network;
	case REC_SR_VDIS: return ((const struct sim_vdi *)o)->sr;
	case REC_VDI_VBDS: return ((const struct sim_vbd *)o)->vdi;
	default: return -1;
	}
}

static void rec_rel_build(const struct sim_world *w, enum rec_rel r, struct rec_list *l)
{
	size_t np = sim_world_count(w, rec_rel_parent[r]);
	size_t nc = sim_world_count(w, rec_rel_child[r]);
	size_t *fill;

	l->off = xs_xcalloc(np + 2, sizeof(*l->off));
	l->items = xs_xmalloc((nc ? nc : 1) * sizeof(*l->items));
	for (size_t i = 0; i < nc; i++) {
		int p = rec_rel_parent_of(w, r, (int)i);

		if (p >= 0 && (size_t)p < np)
			l->off[p + 2]++;
	}
	for (size_t i = 2; i < np + 2; i++)
		l->off[i] += l->off[i - 1];
	fill = l->off + 1; /* fill[p] counts up from off[p] */
	for (size_t i = 0; i < nc; i++) {
		int p = rec_rel_parent_of(w, r, (int)i);

		if (p >= 0 && (size_t)p < np)
			l->items[fill[p]++] = (int)i;
	}
}

/* The children of parent in relation r (built on first use). */
static const int *rec_children(struct sim_rpc_ctx *ctx, enum rec_rel r, int parent, size_t *n)
{
	struct rec_list *l;

	if (ctx->idx == NULL)
		ctx->idx = xs_xcalloc(1, sizeof(*ctx->idx));
	l = &ctx->idx->rel[r];
	if (l->off == NULL)
		rec_rel_build(ctx->sim->world, r, l);
	*n = l->off[parent + 1] - l->off[parent];
	return l->items + l->off[parent];
}

void sim_rpc_ctx_cleanup(struct sim_rpc_ctx *ctx)
{
	if (ctx->idx == NULL)
		return;
	for (int r = 0; r < REC_NRELS; r++) {
		free(ctx->idx->rel[r].off);
		free(ctx->idx->rel[r].items);
	}
	free(ctx->idx);
	ctx->idx = NULL;
}

/* --- field helpers --- */

static void rec_str(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key,
		    const char *v)
{
	xs_rpc_struct_cset(ctx->a, st, key, xs_rpc_cstring(ctx->a, v));
}

static void rec_i64(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key, int64_t v)
{
	char num[REC_NUM_LEN];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	rec_str(ctx, st, key, num);
}

static void rec_bool(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key, bool v)
{
	xs_rpc_struct_cset(ctx->a, st, key, xs_rpc_bool(ctx->a, v));
}

static void rec_double(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key,
		       double v)
{
	xs_rpc_struct_cset(ctx->a, st, key, xs_rpc_double(ctx->a, v));
}

static void rec_date(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key, double t)
{
	char d[SIM_RPC_DATE_LEN];

	sim_rpc_datetime(t, d);
	xs_rpc_struct_cset(ctx->a, st, key, xs_rpc_datetime(ctx->a, d, strlen(d)));
}

static const char *rec_ref_of(const struct sim_world *w, enum sim_class c, int index)
{
	const struct sim_obj *o = index >= 0 ? sim_world_get(w, c, index) : NULL;

	return o != NULL && !o->deleted ? o->ref : SIM_RPC_NULL_REF;
}

static void rec_ref(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key,
		    enum sim_class c, int index)
{
	rec_str(ctx, st, key, rec_ref_of(ctx->sim->world, c, index));
}

/* A set of refs to the live objects among v[0..n). */
static void rec_refs(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const char *key,
		     enum sim_class c, const int *v, size_t n)
{
	struct xs_rpc_value *arr = xs_rpc_array(ctx->a);

	for (size_t i = 0; i < n; i++) {
		const struct sim_obj *o = sim_world_get(ctx->sim->world, c, v[i]);

		if (o != NULL && !o->deleted)
			xs_rpc_array_push(ctx->a, arr, xs_rpc_cstring(ctx->a, o->ref));
	}
	xs_rpc_struct_cset(ctx->a, st, key, arr);
}

static struct xs_rpc_value *rec_map(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
				    const char *key)
{
	struct xs_rpc_value *m = xs_rpc_struct(ctx->a);

	xs_rpc_struct_cset(ctx->a, st, key, m);
	return m;
}

static struct xs_rpc_value *rec_set(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
				    const char *key)
{
	struct xs_rpc_value *s = xs_rpc_array(ctx->a);

	xs_rpc_struct_cset(ctx->a, st, key, s);
	return s;
}

/* Empty maps and sets, by name, NULL-terminated lists. */
static void rec_empty(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
		      const char *const *maps, const char *const *sets)
{
	for (; maps && *maps; maps++)
		rec_map(ctx, st, *maps);
	for (; sets && *sets; sets++)
		rec_set(ctx, st, *sets);
}

static void rec_push_str(struct sim_rpc_ctx *ctx, struct xs_rpc_value *arr, const char *s)
{
	xs_rpc_array_push(ctx->a, arr, xs_rpc_cstring(ctx->a, s));
}

static struct xs_rpc_value *rec_new(struct sim_rpc_ctx *ctx, const struct sim_obj *o)
{
	struct xs_rpc_value *st = xs_rpc_struct(ctx->a);

	rec_str(ctx, st, "uuid", o->uuid);
	return st;
}

/* The pool's shared SR, or -1. */
static int rec_pool_shared_sr(const struct sim_world *w, int pool)
{
	size_t n = sim_world_count(w, SIM_SR);

	for (size_t i = 0; i < n; i++) {
		const struct sim_sr *sr = SIM_GET(w, SIM_SR, sim_sr, (int)i);

		if (!sr->o.deleted && sr->pool == pool && sr->shared)
			return (int)i;
	}
	return -1;
}

/* The host's local (unshared) SR, or -1. */
static int rec_host_local_sr(struct sim_rpc_ctx *ctx, int host)
{
	size_t n;
	const int *pbds = rec_children(ctx, REC_HOST_PBDS, host, &n);

	for (size_t i = 0; i < n; i++) {
		const struct sim_pbd *pbd = SIM_GET(ctx->sim->world, SIM_PBD, sim_pbd, pbds[i]);
		const struct sim_sr *sr = SIM_GET(ctx->sim->world, SIM_SR, sim_sr, pbd->sr);

		if (sr != NULL && !sr->shared)
			return pbd->sr;
	}
	return -1;
}

/* --- records, one builder per class --- */

static struct xs_rpc_value *rec_pool(struct sim_rpc_ctx *ctx, const struct sim_pool *p)
{
	static const char *const maps[] = { "current_operations", "other_config", "gui_config",
					    "health_check_config", "ha_configuration", "blobs",
					    "restrictions", "cpu_info", "guest_agent_config",
					    "license_server", NULL };
	static const char *const sets[] = { "allowed_operations", "ha_statefiles", "tags",
					    "metadata_VDIs", "repositories", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &p->o);
	int sr = rec_pool_shared_sr(ctx->sim->world, p->o.index);

	rec_str(ctx, st, "name_label", p->name);
	rec_str(ctx, st, "name_description", "");
	rec_ref(ctx, st, "master", SIM_HOST, p->master);
	rec_ref(ctx, st, "default_SR", SIM_SR, sr);
	rec_ref(ctx, st, "suspend_image_SR", SIM_SR, sr);
	rec_ref(ctx, st, "crash_dump_SR", SIM_SR, sr);
	rec_bool(ctx, st, "ha_enabled", false);
	rec_i64(ctx, st, "ha_host_failures_to_tolerate", 0);
	rec_i64(ctx, st, "ha_plan_exists_for", 0);
	rec_bool(ctx, st, "ha_allow_overcommit", false);
	rec_bool(ctx, st, "ha_overcommitted", false);
	rec_bool(ctx, st, "wlb_enabled", false);
	rec_str(ctx, st, "wlb_url", "");
	rec_str(ctx, st, "redo_log_enabled", "false");
	rec_ref(ctx, st, "redo_log_vdi", SIM_VDI, -1);
	rec_str(ctx, st, "vswitch_controller", "");
	rec_bool(ctx, st, "policy_no_vendor_device", false);
	rec_bool(ctx, st, "live_patching_disabled", false);
	rec_bool(ctx, st, "igmp_snooping_enabled", false);
	rec_bool(ctx, st, "tls_verification_enabled", false);
	rec_bool(ctx, st, "is_psr_pending", false);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static void rec_host_software(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
			      const struct sim_host *h)
{
	struct xs_rpc_value *m = rec_map(ctx, st, "software_version");
	const char *v = ctx->sim->opt.version_text[0] ? ctx->sim->opt.version_text : "25.6.0";
	char xapi[SIM_VERSION_LEN];
	const struct sim_xapi_version *pv = &ctx->sim->opt.version;

	snprintf(xapi, sizeof(xapi), "%d.%d", pv->major, pv->minor);
	rec_str(ctx, m, "product_version", "8.3.0");
	rec_str(ctx, m, "product_version_text", "8.3");
	rec_str(ctx, m, "product_version_text_short", "8.3");
	rec_str(ctx, m, "platform_name", "XCP");
	rec_str(ctx, m, "platform_version", "3.4.0");
	rec_str(ctx, m, "product_brand", "XCP-ng");
	rec_str(ctx, m, "build_number", "release/yangtze/master/58");
	rec_str(ctx, m, "hostname", h->name);
	rec_str(ctx, m, "date", "2024-10-01");
	rec_str(ctx, m, "xapi", xapi);
	rec_str(ctx, m, "xapi_build", v);
	rec_str(ctx, m, "xen", "4.17.5-3");
	rec_str(ctx, m, "linux", "4.19.0+1");
	rec_str(ctx, m, "xencenter_min", "2.21");
	rec_str(ctx, m, "xencenter_max", "2.21");
	rec_str(ctx, m, "network_backend", "openvswitch");
	rec_str(ctx, m, "db_schema", "5.780");
}

static void rec_host_cpus(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
			  const struct sim_host *h)
{
	struct xs_rpc_value *cpus = rec_set(ctx, st, "host_CPUs");
	struct xs_rpc_value *info = rec_map(ctx, st, "cpu_info");
	char num[REC_NUM_LEN];

	/* host_cpu objects are not simulated: stable refs derived from the host's uuid */
	for (int i = 0; i < h->cpus; i++) {
		char ref[SIM_REF_LEN];

		snprintf(ref, sizeof(ref), "OpaqueRef:%.32s%04x", h->o.uuid, (unsigned)i & 0xFFFFu);
		rec_push_str(ctx, cpus, ref);
	}
	snprintf(num, sizeof(num), "%d", h->cpus);
	rec_str(ctx, info, "cpu_count", num);
	rec_str(ctx, info, "socket_count", h->cpus > 16 ? "2" : "1");
	rec_str(ctx, info, "vendor", "GenuineIntel");
	rec_str(ctx, info, "speed", "2394.454");
	rec_str(ctx, info, "modelname", "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz");
	rec_str(ctx, info, "family", "6");
	rec_str(ctx, info, "model", "85");
	rec_str(ctx, info, "stepping", "4");
}

static struct xs_rpc_value *rec_host(struct sim_rpc_ctx *ctx, const struct sim_host *h)
{
	static const char *const maps[] = { "current_operations", "API_version_vendor_implementation",
					    "other_config", "logging", "license_params", "blobs",
					    "external_auth_configuration", "license_server",
					    "bios_strings", "power_on_config", "chipset_info",
					    "guest_VCPUs_params", "tls_verification_enabled_map",
					    NULL };
	static const char *const sets[] = { "capabilities", "crashdumps", "patches", "updates",
					    "ha_statefiles", "ha_network_peers", "tags", "PCIs",
					    "PGPUs", "PUSBs", "features", "virtual_hardware_platform_versions",
					    "updates_requiring_reboot", "certificates", "editions",
					    "pending_guidances", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &h->o);
	struct xs_rpc_value *ops;
	size_t n;
	const int *v;
	int local = rec_host_local_sr(ctx, h->o.index);

	rec_str(ctx, st, "name_label", h->name);
	rec_str(ctx, st, "name_description", "Default install");
	rec_i64(ctx, st, "memory_overhead", (int64_t)REC_HOST_OVERHEAD);
	ops = rec_set(ctx, st, "allowed_operations");
	rec_push_str(ctx, ops, "vm_migrate");
	rec_push_str(ctx, ops, "provision");
	rec_push_str(ctx, ops, "vm_resume");
	rec_push_str(ctx, ops, "evacuate");
	rec_push_str(ctx, ops, "vm_start");
	rec_i64(ctx, st, "API_version_major", REC_API_MAJOR);
	rec_i64(ctx, st, "API_version_minor", REC_API_MINOR);
	rec_str(ctx, st, "API_version_vendor", "XenSource");
	rec_bool(ctx, st, "enabled", h->enabled);
	rec_host_software(ctx, st, h);
	rec_str(ctx, st, "sched_policy", "credit");
	ops = rec_set(ctx, st, "supported_bootloaders");
	rec_push_str(ctx, ops, "pygrub");
	rec_push_str(ctx, ops, "eliloader");
	v = rec_children(ctx, REC_HOST_VMS, h->o.index, &n);
	rec_refs(ctx, st, "resident_VMs", SIM_VM, v, n);
	rec_refs(ctx, st, "PIFs", SIM_PIF, h->pifs, h->npifs);
	rec_ref(ctx, st, "suspend_image_sr", SIM_SR, local);
	rec_ref(ctx, st, "crash_dump_sr", SIM_SR, local);
	v = rec_children(ctx, REC_HOST_PBDS, h->o.index, &n);
	rec_refs(ctx, st, "PBDs", SIM_PBD, v, n);
	rec_host_cpus(ctx, st, h);
	rec_str(ctx, st, "hostname", h->name);
	rec_str(ctx, st, "address", h->address);
	rec_ref(ctx, st, "metrics", SIM_HOST_METRICS, h->metrics);
	rec_str(ctx, st, "external_auth_type", "");
	rec_str(ctx, st, "external_auth_service_name", "");
	rec_str(ctx, st, "edition", "xcp-ng");
	rec_str(ctx, st, "power_on_mode", "");
	rec_ref(ctx, st, "local_cache_sr", SIM_SR, -1);
	rec_bool(ctx, st, "ssl_legacy", false);
	rec_ref(ctx, st, "control_domain", SIM_VM, h->control_domain);
	rec_bool(ctx, st, "display", true);
	rec_bool(ctx, st, "multipathing", false);
	rec_str(ctx, st, "uefi_certificates", "");
	rec_bool(ctx, st, "tls_verification_enabled", false);
	rec_bool(ctx, st, "https_only", false);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_host_metrics(struct sim_rpc_ctx *ctx,
					     const struct sim_host_metrics *m)
{
	struct xs_rpc_value *st = rec_new(ctx, &m->o);

	rec_i64(ctx, st, "memory_total", (int64_t)m->memory_total);
	rec_i64(ctx, st, "memory_free", (int64_t)m->memory_free);
	rec_bool(ctx, st, "live", m->live);
	rec_date(ctx, st, "last_updated", ctx->sim->world->now);
	rec_map(ctx, st, "other_config");
	return st;
}

static void rec_vm_memory(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st,
			  const struct sim_vm *vm)
{
	rec_i64(ctx, st, "memory_overhead",
		(int64_t)((vm->memory_static_max >> 30) * REC_VM_OVERHEAD_PER_GIB + (1u << 20)));
	rec_i64(ctx, st, "memory_target", (int64_t)vm->memory_target);
	rec_i64(ctx, st, "memory_static_max", (int64_t)vm->memory_static_max);
	rec_i64(ctx, st, "memory_dynamic_max", (int64_t)vm->memory_dynamic_max);
	rec_i64(ctx, st, "memory_dynamic_min", (int64_t)vm->memory_dynamic_min);
	rec_i64(ctx, st, "memory_static_min", (int64_t)vm->memory_dynamic_min);
}

static void rec_vm_ops(struct sim_rpc_ctx *ctx, struct xs_rpc_value *st, const struct sim_vm *vm)
{
	struct xs_rpc_value *ops = rec_set(ctx, st, "allowed_operations");

	if (vm->is_control_domain)
		return;
	if (vm->power == SIM_HALTED) {
		rec_push_str(ctx, ops, "start");
		rec_push_str(ctx, ops, "start_on");
		rec_push_str(ctx, ops, "destroy");
		rec_push_str(ctx, ops, "export");
	} else {
		rec_push_str(ctx, ops, "hard_shutdown");
		rec_push_str(ctx, ops, "pool_migrate");
		rec_push_str(ctx, ops, "hard_reboot");
		if (vm->power == SIM_RUNNING) {
			rec_push_str(ctx, ops, "clean_shutdown");
			rec_push_str(ctx, ops, "clean_reboot");
			rec_push_str(ctx, ops, "suspend");
			rec_push_str(ctx, ops, "pause");
		}
	}
}

static struct xs_rpc_value *rec_vm(struct sim_rpc_ctx *ctx, const struct sim_vm *vm)
{
	static const char *const maps[] = { "current_operations", "VCPUs_params", "HVM_boot_params",
					    "other_config", "last_boot_CPU_flags", "xenstore_data",
					    "blobs", "blocked_operations", "snapshot_info",
					    "bios_strings", "NVRAM", NULL };
	static const char *const sets[] = { "consoles", "crash_dumps", "VTPMs", "VUSBs",
					    "snapshots", "children", "VGPUs", "attached_PCIs",
					    "pending_guidances", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &vm->o);
	struct xs_rpc_value *m;
	/* a suspended VM has no domain and no host either */
	bool halted = vm->power == SIM_HALTED || vm->power == SIM_SUSPENDED;

	rec_vm_ops(ctx, st, vm);
	rec_str(ctx, st, "power_state", sim_power_name(vm->power));
	rec_str(ctx, st, "name_label", vm->name);
	rec_str(ctx, st, "name_description", "");
	rec_i64(ctx, st, "user_version", 1);
	rec_bool(ctx, st, "is_a_template", false);
	rec_bool(ctx, st, "is_default_template", false);
	rec_ref(ctx, st, "suspend_VDI", SIM_VDI, -1);
	rec_ref(ctx, st, "resident_on", SIM_HOST, halted ? -1 : vm->resident_on);
	rec_ref(ctx, st, "scheduled_to_be_resident_on", SIM_HOST, -1);
	rec_ref(ctx, st, "affinity", SIM_HOST, vm->is_control_domain ? -1 : vm->affinity);
	rec_vm_memory(ctx, st, vm);
	rec_i64(ctx, st, "VCPUs_max", vm->vcpus);
	rec_i64(ctx, st, "VCPUs_at_startup", vm->vcpus);
	rec_str(ctx, st, "actions_after_shutdown", "destroy");
	rec_str(ctx, st, "actions_after_reboot", "restart");
	rec_str(ctx, st, "actions_after_crash", "restart");
	rec_refs(ctx, st, "VIFs", SIM_VIF, vm->vifs, vm->nvifs);
	rec_refs(ctx, st, "VBDs", SIM_VBD, vm->vbds, vm->nvbds);
	rec_str(ctx, st, "PV_bootloader", "");
	rec_str(ctx, st, "PV_kernel", "");
	rec_str(ctx, st, "PV_ramdisk", "");
	rec_str(ctx, st, "PV_args", "");
	rec_str(ctx, st, "PV_bootloader_args", "");
	rec_str(ctx, st, "PV_legacy_args", "");
	rec_str(ctx, st, "HVM_boot_policy", vm->is_control_domain ? "" : "BIOS order");
	rec_double(ctx, st, "HVM_shadow_multiplier", 1.0);
	m = rec_map(ctx, st, "platform");
	if (!vm->is_control_domain) {
		rec_str(ctx, m, "acpi", "1");
		rec_str(ctx, m, "apic", "true");
		rec_str(ctx, m, "pae", "true");
		rec_str(ctx, m, "nx", "true");
		rec_str(ctx, m, "viridian", "true");
	}
	rec_str(ctx, st, "PCI_bus", "");
	rec_i64(ctx, st, "domid", halted ? -1 : vm->domid);
	rec_str(ctx, st, "domarch", halted ? "" : "x64");
	rec_bool(ctx, st, "is_control_domain", vm->is_control_domain);
	rec_ref(ctx, st, "metrics", SIM_VM_METRICS, vm->metrics);
	rec_ref(ctx, st, "guest_metrics", SIM_VM_GUEST_METRICS, vm->guest_metrics);
	rec_str(ctx, st, "last_booted_record", "");
	rec_str(ctx, st, "recommendations", "");
	rec_bool(ctx, st, "ha_always_run", false);
	rec_str(ctx, st, "ha_restart_priority", "");
	rec_bool(ctx, st, "is_a_snapshot", false);
	rec_ref(ctx, st, "snapshot_of", SIM_VM, -1);
	rec_date(ctx, st, "snapshot_time", 0);
	rec_str(ctx, st, "transportable_snapshot_id", "");
	m = rec_set(ctx, st, "tags");
	for (size_t i = 0; i < vm->ntags; i++)
		rec_push_str(ctx, m, vm->tags[i]);
	rec_str(ctx, st, "snapshot_metadata", "");
	rec_ref(ctx, st, "parent", SIM_VM, -1);
	rec_ref(ctx, st, "protection_policy", SIM_VM, -1);
	rec_bool(ctx, st, "is_snapshot_from_vmpp", false);
	rec_ref(ctx, st, "snapshot_schedule", SIM_VM, -1);
	rec_bool(ctx, st, "is_vmss_snapshot", false);
	rec_ref(ctx, st, "appliance", SIM_VM, -1);
	rec_i64(ctx, st, "start_delay", 0);
	rec_i64(ctx, st, "shutdown_delay", 0);
	rec_i64(ctx, st, "order", 0);
	rec_ref(ctx, st, "suspend_SR", SIM_SR, -1);
	rec_i64(ctx, st, "version", 0);
	rec_str(ctx, st, "generation_id", "");
	rec_i64(ctx, st, "hardware_platform_version", 0);
	rec_bool(ctx, st, "has_vendor_device", false);
	rec_bool(ctx, st, "requires_reboot", false);
	rec_str(ctx, st, "reference_label", "");
	rec_str(ctx, st, "domain_type", vm->is_control_domain ? "pv" : "hvm");
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_vm_metrics(struct sim_rpc_ctx *ctx, const struct sim_vm_metrics *m)
{
	static const char *const maps[] = { "VCPUs_CPU", "VCPUs_params", "VCPUs_flags",
					    "other_config", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &m->o);
	const struct sim_vm *vm = SIM_GET(ctx->sim->world, SIM_VM, sim_vm, m->vm);
	bool running = vm != NULL && vm->power != SIM_HALTED;
	struct xs_rpc_value *util;

	rec_i64(ctx, st, "memory_actual", running ? (int64_t)m->memory_actual : 0);
	rec_i64(ctx, st, "VCPUs_number", running ? m->vcpus_number : 0);
	util = rec_map(ctx, st, "VCPUs_utilisation");
	for (int i = 0; running && i < m->vcpus_number; i++) {
		char k[REC_NUM_LEN];

		snprintf(k, sizeof(k), "%d", i);
		xs_rpc_struct_cset(ctx->a, util, k, xs_rpc_double(ctx->a, 0.0));
	}
	rec_set(ctx, st, "state");
	rec_date(ctx, st, "start_time", m->start_time);
	rec_date(ctx, st, "install_time", m->start_time);
	rec_date(ctx, st, "last_updated", 0);
	rec_bool(ctx, st, "hvm", vm != NULL && !vm->is_control_domain);
	rec_bool(ctx, st, "nested_virt", false);
	rec_bool(ctx, st, "nomigrate", false);
	rec_str(ctx, st, "current_domain_type",
		!running ? "unspecified" : vm->is_control_domain ? "pv" : "hvm");
	rec_empty(ctx, st, maps, NULL);
	return st;
}

static struct xs_rpc_value *rec_vm_guest_metrics(struct sim_rpc_ctx *ctx,
						 const struct sim_vm_guest_metrics *g)
{
	static const char *const maps[] = { "memory", "disks", "networks", "other",
					    "other_config", "netbios_name", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &g->o);
	struct xs_rpc_value *m = rec_map(ctx, st, "os_version");

	rec_str(ctx, m, "name", g->os_version);
	rec_str(ctx, m, "uname", "5.10.0-amd64");
	m = rec_map(ctx, st, "PV_drivers_version");
	rec_str(ctx, m, "major", "8");
	rec_str(ctx, m, "minor", "3");
	rec_str(ctx, m, "micro", "0");
	rec_str(ctx, m, "build", "1");
	rec_bool(ctx, st, "PV_drivers_up_to_date", true);
	rec_date(ctx, st, "last_updated", ctx->sim->world->now);
	rec_bool(ctx, st, "live", true);
	rec_str(ctx, st, "can_use_hotplug_vbd", "yes");
	rec_str(ctx, st, "can_use_hotplug_vif", "yes");
	rec_bool(ctx, st, "PV_drivers_detected", true);
	rec_empty(ctx, st, maps, NULL);
	return st;
}

static bool rec_vm_running(const struct sim_world *w, int vm)
{
	const struct sim_vm *v = SIM_GET(w, SIM_VM, sim_vm, vm);

	return v != NULL && !v->o.deleted && v->power != SIM_HALTED;
}

static struct xs_rpc_value *rec_vif(struct sim_rpc_ctx *ctx, const struct sim_vif *v)
{
	static const char *const maps[] = { "current_operations", "other_config",
					    "runtime_properties", "qos_algorithm_params", NULL };
	static const char *const sets[] = { "allowed_operations", "qos_supported_algorithms",
					    "ipv4_allowed", "ipv6_allowed", "ipv4_addresses",
					    "ipv6_addresses", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &v->o);

	rec_str(ctx, st, "device", v->device);
	rec_ref(ctx, st, "network", SIM_NETWORK, v->network);
	rec_ref(ctx, st, "VM", SIM_VM, v->vm);
	rec_str(ctx, st, "MAC", v->mac);
	rec_i64(ctx, st, "MTU", REC_MTU);
	rec_bool(ctx, st, "currently_attached", rec_vm_running(ctx->sim->world, v->vm));
	rec_i64(ctx, st, "status_code", 0);
	rec_str(ctx, st, "status_detail", "");
	rec_str(ctx, st, "qos_algorithm_type", "");
	rec_ref(ctx, st, "metrics", SIM_VIF, -1);
	rec_bool(ctx, st, "MAC_autogenerated", true);
	rec_str(ctx, st, "locking_mode", "network_default");
	rec_str(ctx, st, "ipv4_configuration_mode", "None");
	rec_str(ctx, st, "ipv4_gateway", "");
	rec_str(ctx, st, "ipv6_configuration_mode", "None");
	rec_str(ctx, st, "ipv6_gateway", "");
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_vbd(struct sim_rpc_ctx *ctx, const struct sim_vbd *v)
{
	static const char *const maps[] = { "current_operations", "other_config",
					    "runtime_properties", "qos_algorithm_params", NULL };
	static const char *const sets[] = { "allowed_operations", "qos_supported_algorithms",
					    NULL };
	struct xs_rpc_value *st = rec_new(ctx, &v->o);
	char user[REC_NUM_LEN];
	size_t len = strlen(v->device);

	/* userdevice: the position of the last letter, xvda → 0, xvdd → 3 */
	snprintf(user, sizeof(user), "%d", len ? v->device[len - 1] - 'a' : 0);
	rec_ref(ctx, st, "VM", SIM_VM, v->vm);
	rec_ref(ctx, st, "VDI", SIM_VDI, v->vdi);
	rec_str(ctx, st, "device", v->device);
	rec_str(ctx, st, "userdevice", user);
	rec_bool(ctx, st, "bootable", !v->is_cd && strcmp(user, "0") == 0);
	rec_str(ctx, st, "mode", v->is_cd ? "RO" : "RW");
	rec_str(ctx, st, "type", v->is_cd ? "CD" : "Disk");
	rec_bool(ctx, st, "unpluggable", false);
	rec_bool(ctx, st, "storage_lock", false);
	rec_bool(ctx, st, "empty", v->vdi < 0);
	rec_bool(ctx, st, "currently_attached", rec_vm_running(ctx->sim->world, v->vm));
	rec_i64(ctx, st, "status_code", 0);
	rec_str(ctx, st, "status_detail", "");
	rec_str(ctx, st, "qos_algorithm_type", "");
	rec_ref(ctx, st, "metrics", SIM_VBD, -1);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_vdi(struct sim_rpc_ctx *ctx, const struct sim_vdi *v)
{
	static const char *const maps[] = { "current_operations", "other_config",
					    "xenstore_data", "sm_config", NULL };
	static const char *const sets[] = { "crash_dumps", "snapshots", "tags", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &v->o);
	struct xs_rpc_value *ops;
	size_t n;
	const int *vbds = rec_children(ctx, REC_VDI_VBDS, v->o.index, &n);

	rec_str(ctx, st, "name_label", v->name);
	rec_str(ctx, st, "name_description", "");
	ops = rec_set(ctx, st, "allowed_operations");
	rec_push_str(ctx, ops, "snapshot");
	rec_push_str(ctx, ops, "clone");
	rec_push_str(ctx, ops, "copy");
	rec_ref(ctx, st, "SR", SIM_SR, v->sr);
	rec_refs(ctx, st, "VBDs", SIM_VBD, vbds, n);
	rec_i64(ctx, st, "virtual_size", (int64_t)v->virtual_size);
	rec_i64(ctx, st, "physical_utilisation", (int64_t)(v->virtual_size / 2));
	rec_str(ctx, st, "type", "user");
	rec_bool(ctx, st, "sharable", false);
	rec_bool(ctx, st, "read_only", false);
	rec_bool(ctx, st, "storage_lock", false);
	rec_str(ctx, st, "location", v->o.uuid);
	rec_bool(ctx, st, "managed", true);
	rec_bool(ctx, st, "missing", false);
	rec_ref(ctx, st, "parent", SIM_VDI, -1);
	rec_bool(ctx, st, "is_a_snapshot", false);
	rec_ref(ctx, st, "snapshot_of", SIM_VDI, -1);
	rec_date(ctx, st, "snapshot_time", 0);
	rec_bool(ctx, st, "allow_caching", false);
	rec_str(ctx, st, "on_boot", "persist");
	rec_ref(ctx, st, "metadata_of_pool", SIM_POOL, -1);
	rec_bool(ctx, st, "metadata_latest", false);
	rec_bool(ctx, st, "is_tools_iso", false);
	rec_bool(ctx, st, "cbt_enabled", false);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_pif(struct sim_rpc_ctx *ctx, const struct sim_pif *p)
{
	static const char *const maps[] = { "other_config", "properties", NULL };
	static const char *const sets[] = { "bond_master_of", "VLAN_slave_of",
					    "tunnel_access_PIF_of", "tunnel_transport_PIF_of",
					    "IPv6", "capabilities", "sriov_physical_PIF_of",
					    "sriov_logical_PIF_of", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &p->o);
	const struct sim_host *h = SIM_GET(ctx->sim->world, SIM_HOST, sim_host, p->host);
	const char *u = p->o.uuid;
	char mac[18];

	/* PIFs have no MAC in the world: a stable locally administered one from the uuid */
	snprintf(mac, sizeof(mac), "02:%c%c:%c%c:%c%c:%c%c:%c%c", u[0], u[1], u[2], u[3], u[4],
		 u[5], u[6], u[7], u[9], u[10]);
	rec_str(ctx, st, "device", p->device);
	rec_ref(ctx, st, "network", SIM_NETWORK, p->network);
	rec_ref(ctx, st, "host", SIM_HOST, p->host);
	rec_str(ctx, st, "MAC", mac);
	rec_i64(ctx, st, "MTU", REC_MTU);
	rec_i64(ctx, st, "VLAN", p->vlan);
	rec_ref(ctx, st, "metrics", SIM_PIF, -1);
	rec_bool(ctx, st, "physical", !p->is_bond);
	rec_bool(ctx, st, "currently_attached", true);
	rec_str(ctx, st, "ip_configuration_mode", p->management ? "Static" : "None");
	rec_str(ctx, st, "IP", p->management && h ? h->address : "");
	rec_str(ctx, st, "netmask", p->management ? "255.0.0.0" : "");
	rec_str(ctx, st, "gateway", "");
	rec_str(ctx, st, "DNS", "");
	/* Bond objects are not simulated: bond_slave_of stays NULL */
	rec_ref(ctx, st, "bond_slave_of", SIM_PIF, -1);
	rec_ref(ctx, st, "VLAN_master_of", SIM_PIF, -1);
	rec_bool(ctx, st, "management", p->management);
	rec_bool(ctx, st, "disallow_unplug", p->management);
	rec_str(ctx, st, "ipv6_configuration_mode", "None");
	rec_str(ctx, st, "ipv6_gateway", "");
	rec_str(ctx, st, "primary_address_type", "IPv4");
	rec_bool(ctx, st, "managed", true);
	rec_str(ctx, st, "igmp_snooping_status", "unknown");
	rec_ref(ctx, st, "PCI", SIM_PIF, -1);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_sr(struct sim_rpc_ctx *ctx, const struct sim_sr *sr)
{
	static const char *const maps[] = { "current_operations", "other_config", "sm_config",
					    "blobs", NULL };
	static const char *const sets[] = { "tags", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &sr->o);
	struct xs_rpc_value *ops;
	size_t n;
	const int *vdis = rec_children(ctx, REC_SR_VDIS, sr->o.index, &n);
	uint64_t alloc = 0;

	for (size_t i = 0; i < n; i++)
		alloc += SIM_GET(ctx->sim->world, SIM_VDI, sim_vdi, vdis[i])->virtual_size;
	rec_str(ctx, st, "name_label", sr->name);
	rec_str(ctx, st, "name_description", "");
	ops = rec_set(ctx, st, "allowed_operations");
	rec_push_str(ctx, ops, "vdi_create");
	rec_push_str(ctx, ops, "vdi_destroy");
	rec_push_str(ctx, ops, "scan");
	rec_push_str(ctx, ops, "vdi_snapshot");
	rec_refs(ctx, st, "VDIs", SIM_VDI, vdis, n);
	rec_refs(ctx, st, "PBDs", SIM_PBD, sr->pbds, sr->npbds);
	rec_i64(ctx, st, "virtual_allocation", (int64_t)alloc);
	rec_i64(ctx, st, "physical_utilisation", (int64_t)(alloc / 2));
	rec_i64(ctx, st, "physical_size",
		(int64_t)(sr->shared ? REC_SR_SHARED_SIZE : REC_SR_LOCAL_SIZE));
	rec_str(ctx, st, "type", sr->type);
	rec_str(ctx, st, "content_type", "user");
	rec_bool(ctx, st, "shared", sr->shared);
	rec_bool(ctx, st, "local_cache_enabled", false);
	rec_ref(ctx, st, "introduced_by", SIM_SR, -1);
	rec_bool(ctx, st, "clustered", false);
	rec_bool(ctx, st, "is_tools_sr", false);
	rec_empty(ctx, st, maps, sets);
	return st;
}

static struct xs_rpc_value *rec_pbd(struct sim_rpc_ctx *ctx, const struct sim_pbd *p)
{
	struct xs_rpc_value *st = rec_new(ctx, &p->o);

	rec_ref(ctx, st, "host", SIM_HOST, p->host);
	rec_ref(ctx, st, "SR", SIM_SR, p->sr);
	rec_map(ctx, st, "device_config");
	rec_bool(ctx, st, "currently_attached", p->attached);
	rec_map(ctx, st, "other_config");
	return st;
}

static struct xs_rpc_value *rec_network(struct sim_rpc_ctx *ctx, const struct sim_network *n)
{
	static const char *const maps[] = { "current_operations", "other_config", "blobs",
					    "assigned_ips", NULL };
	static const char *const sets[] = { "allowed_operations", "tags", "purpose", NULL };
	struct xs_rpc_value *st = rec_new(ctx, &n->o);
	size_t cnt;
	const int *v;

	rec_str(ctx, st, "name_label", n->name);
	rec_str(ctx, st, "name_description", "");
	v = rec_children(ctx, REC_NET_VIFS, n->o.index, &cnt);
	rec_refs(ctx, st, "VIFs", SIM_VIF, v, cnt);
	v = rec_children(ctx, REC_NET_PIFS, n->o.index, &cnt);
	rec_refs(ctx, st, "PIFs", SIM_PIF, v, cnt);
	rec_i64(ctx, st, "MTU", REC_MTU);
	rec_str(ctx, st, "bridge", n->bridge);
	rec_bool(ctx, st, "managed", true);
	rec_str(ctx, st, "default_locking_mode", "unlocked");
	rec_empty(ctx, st, maps, sets);
	return st;
}

struct xs_rpc_value *sim_rpc_record(struct sim_rpc_ctx *ctx, enum sim_class c, int index)
{
	const void *o = sim_world_get(ctx->sim->world, c, index);

	if (o == NULL)
		return xs_rpc_struct(ctx->a);
	switch (c) {
	case SIM_POOL: return rec_pool(ctx, o);
	case SIM_HOST: return rec_host(ctx, o);
	case SIM_HOST_METRICS: return rec_host_metrics(ctx, o);
	case SIM_VM: return rec_vm(ctx, o);
	case SIM_VM_METRICS: return rec_vm_metrics(ctx, o);
	case SIM_VM_GUEST_METRICS: return rec_vm_guest_metrics(ctx, o);
	case SIM_VIF: return rec_vif(ctx, o);
	case SIM_VBD: return rec_vbd(ctx, o);
	case SIM_VDI: return rec_vdi(ctx, o);
	case SIM_PIF: return rec_pif(ctx, o);
	case SIM_SR: return rec_sr(ctx, o);
	case SIM_PBD: return rec_pbd(ctx, o);
	case SIM_NETWORK: return rec_network(ctx, o);
	default: return xs_rpc_struct(ctx->a);
	}
}

/* --- errors --- */

void sim_rpc_fail(struct sim_rpc_ctx *ctx, struct xs_rpc_reply *reply, const char *code,
		  const char *p1, const char *p2, const char *p3)
{
	const char *params[3] = { p1, p2, p3 };

	reply->ok = false;
	reply->value = xs_rpc_array(ctx->a);
	rec_push_str(ctx, reply->value, code);
	for (int i = 0; i < 3 && params[i] != NULL; i++)
		rec_push_str(ctx, reply->value, params[i]);
}

void sim_rpc_fail_count(struct sim_rpc_ctx *ctx, struct xs_rpc_reply *reply, const char *method,
			size_t expected, size_t got)
{
	char e[REC_NUM_LEN], g[REC_NUM_LEN];

	snprintf(e, sizeof(e), "%zu", expected);
	snprintf(g, sizeof(g), "%zu", got);
	sim_rpc_fail(ctx, reply, "MESSAGE_PARAMETER_COUNT_MISMATCH", method, e, g);
}

/* --- per-class calls --- */

/* The live object of class c in ctx's pool that ref names, or NULL. */
static const struct sim_obj *rec_lookup(struct sim_rpc_ctx *ctx, enum sim_class c,
					const struct xs_rpc_value *ref)
{
	const struct sim_obj *o;

	if (ref == NULL || ref->type != XS_RPC_STRING)
		return NULL;
	o = sim_world_by_ref(ctx->sim->world, ref->u.str.ptr);
	if (o == NULL || o->cls != c || o->deleted ||
	    sim_rpc_obj_pool(ctx->sim->world, c, o->index) != ctx->pool)
		return NULL;
	return o;
}

static void rec_ok(struct xs_rpc_reply *reply, struct xs_rpc_value *v)
{
	reply->ok = true;
	reply->value = v;
}

/* The live objects of class c in the pool, as a struct ref → record or an array of refs. */
static struct xs_rpc_value *rec_all(struct sim_rpc_ctx *ctx, enum sim_class c, bool records)
{
	const struct sim_world *w = ctx->sim->world;
	struct xs_rpc_value *out = records ? xs_rpc_struct(ctx->a) : xs_rpc_array(ctx->a);
	size_t n = sim_world_count(w, c);

	for (size_t i = 0; i < n; i++) {
		const struct sim_obj *o = sim_world_get(w, c, (int)i);

		if (o->deleted || sim_rpc_obj_pool(w, c, (int)i) != ctx->pool)
			continue;
		if (records)
			xs_rpc_struct_cset(ctx->a, out, o->ref, sim_rpc_record(ctx, c, (int)i));
		else
			rec_push_str(ctx, out, o->ref);
	}
	return out;
}

static void rec_by_uuid(struct sim_rpc_ctx *ctx, enum sim_class c,
			const struct xs_rpc_value *uuid, struct xs_rpc_reply *reply)
{
	const char *u = uuid && uuid->type == XS_RPC_STRING ? uuid->u.str.ptr : "";
	const struct sim_obj *o = sim_world_by_uuid(ctx->sim->world, c, u);

	if (o == NULL || sim_rpc_obj_pool(ctx->sim->world, c, o->index) != ctx->pool) {
		sim_rpc_fail(ctx, reply, "UUID_INVALID", sim_rpc_class_api_name(c), u, NULL);
		return;
	}
	rec_ok(reply, xs_rpc_cstring(ctx->a, o->ref));
}

static void rec_by_name(struct sim_rpc_ctx *ctx, enum sim_class c,
			const struct xs_rpc_value *label, struct xs_rpc_reply *reply)
{
	const struct sim_world *w = ctx->sim->world;
	struct xs_rpc_value *out = xs_rpc_array(ctx->a);
	const char *want = label && label->type == XS_RPC_STRING ? label->u.str.ptr : "";
	size_t n = sim_world_count(w, c);

	for (size_t i = 0; i < n; i++) {
		const struct sim_obj *o = sim_world_get(w, c, (int)i);
		const char *name;

		if (o->deleted || sim_rpc_obj_pool(w, c, (int)i) != ctx->pool)
			continue;
		name = xs_rpc_get_str(sim_rpc_record(ctx, c, (int)i), "name_label");
		if (name != NULL && strcmp(name, want) == 0)
			rec_push_str(ctx, out, o->ref);
	}
	rec_ok(reply, out);
}

/* The latest value of each data source (0 while unknown: JSON has no NaN). */
static void rec_data_sources(struct sim_rpc_ctx *ctx, enum sim_class c, int index,
			     struct xs_rpc_reply *reply)
{
	struct xs_rpc_value *out = xs_rpc_array(ctx->a);
	const struct sim_rrd *r =
		ctx->sim->model ? sim_rrd_model_get(ctx->sim->model, c, index) : NULL;
	int64_t t = r ? r->last_update / SIM_RRD_STEP * SIM_RRD_STEP : 0;

	for (size_t i = 0; r != NULL && i < r->nds; i++) {
		const struct sim_ds *ds = &r->ds[i];
		struct xs_rpc_value *st = xs_rpc_struct(ctx->a);
		double v = sim_rrd_value(ctx->sim->model, r, 0, SIM_CF_AVERAGE, i, t);

		rec_str(ctx, st, "name_label", ds->name);
		rec_str(ctx, st, "name_description", ds->name);
		rec_bool(ctx, st, "enabled", true);
		rec_bool(ctx, st, "standard", true);
		rec_str(ctx, st, "units", ds->units ? ds->units : "");
		rec_double(ctx, st, "min", isfinite(ds->min) ? ds->min : 0.0);
		/* xapi's max is often infinity, which neither encoding can carry portably */
		rec_double(ctx, st, "max", isfinite(ds->max) ? ds->max : 1.7976931348623157e308);
		rec_double(ctx, st, "value", isfinite(v) ? v : 0.0);
		xs_rpc_array_push(ctx->a, out, st);
	}
	rec_ok(reply, out);
}

static void rec_servertime(struct sim_rpc_ctx *ctx, int host, struct xs_rpc_reply *reply)
{
	char d[SIM_RPC_DATE_LEN];

	sim_rpc_datetime(sim_host_now(ctx->sim, host), d);
	rec_ok(reply, xs_rpc_datetime(ctx->a, d, strlen(d)));
}

/* Operations that take one ref: get_record, get_<field>, get_data_sources, get_servertime. */
static bool rec_ref_call(struct sim_rpc_ctx *ctx, enum sim_class c, const char *method,
			 const char *op, const struct xs_rpc_value *ref,
			 struct xs_rpc_reply *reply)
{
	const struct sim_obj *o;
	struct xs_rpc_value *rec;
	const struct xs_rpc_value *field = NULL;
	bool servertime = c == SIM_HOST && strcmp(op, "get_servertime") == 0;
	bool sources = (c == SIM_HOST || c == SIM_VM) && strcmp(op, "get_data_sources") == 0;

	(void)method;
	if (!servertime && !sources && strcmp(op, "get_record") != 0 && strncmp(op, "get_", 4) != 0)
		return false;
	o = rec_lookup(ctx, c, ref);
	if (o == NULL) {
		sim_rpc_fail(ctx, reply, "HANDLE_INVALID", sim_rpc_class_api_name(c),
			     ref && ref->type == XS_RPC_STRING ? ref->u.str.ptr : "", NULL);
		return true;
	}
	if (servertime) {
		rec_servertime(ctx, o->index, reply);
		return true;
	}
	if (sources) {
		rec_data_sources(ctx, c, o->index, reply);
		return true;
	}
	rec = sim_rpc_record(ctx, c, o->index);
	if (strcmp(op, "get_record") == 0) {
		rec_ok(reply, rec);
		return true;
	}
	field = xs_rpc_get(rec, op + 4);
	if (field == NULL)
		return false;
	rec_ok(reply, (struct xs_rpc_value *)(uintptr_t)field);
	return true;
}

bool sim_rpc_class_call(struct sim_rpc_ctx *ctx, enum sim_class c, const char *method,
			const char *op, const struct xs_rpc_value *params, size_t nparams,
			struct xs_rpc_reply *reply)
{
	bool noarg = strcmp(op, "get_all_records") == 0 || strcmp(op, "get_all") == 0;
	bool byname = strcmp(op, "get_by_name_label") == 0 && c != SIM_PBD && c != SIM_VIF &&
		      c != SIM_VBD && c != SIM_PIF && c != SIM_HOST_METRICS &&
		      c != SIM_VM_METRICS && c != SIM_VM_GUEST_METRICS;

	if (noarg) {
		if (nparams != 0)
			sim_rpc_fail_count(ctx, reply, method, 1, nparams + 1);
		else
			rec_ok(reply, rec_all(ctx, c, op[7] == '_'));
		return true;
	}
	if (strncmp(op, "get_", 4) != 0)
		return false;
	if (nparams != 1) {
		/* unknown getters answer MESSAGE_METHOD_UNKNOWN whatever the count */
		if (strcmp(op, "get_record") != 0 && strcmp(op, "get_by_uuid") != 0 && !byname &&
		    strcmp(op, "get_servertime") != 0 && strcmp(op, "get_data_sources") != 0 &&
		    strcmp(op, "get_uuid") != 0)
			return false;
		sim_rpc_fail_count(ctx, reply, method, 2, nparams + 1);
		return true;
	}
	if (strcmp(op, "get_by_uuid") == 0) {
		rec_by_uuid(ctx, c, xs_rpc_at(params, 1), reply);
		return true;
	}
	if (byname) {
		rec_by_name(ctx, c, xs_rpc_at(params, 1), reply);
		return true;
	}
	if (strcmp(op, "get_by_name_label") == 0)
		return false;
	return rec_ref_call(ctx, c, method, op, xs_rpc_at(params, 1), reply);
}

static void rec_method(struct sim_rpc_ctx *ctx, struct xs_rpc_value *arr, enum sim_class c,
		       const char *op)
{
	char name[SIM_NAME_LEN * 2];

	snprintf(name, sizeof(name), "%s.%s", sim_rpc_class_api_name(c), op);
	rec_push_str(ctx, arr, name);
}

void sim_rpc_class_methods(struct sim_rpc_ctx *ctx, struct xs_rpc_value *arr)
{
	const struct sim_world *w = ctx->sim->world;

	for (int c = 0; c < SIM_NCLASSES; c++) {
		size_t n = sim_world_count(w, (enum sim_class)c);
		const struct xs_rpc_value *rec = NULL;

		rec_method(ctx, arr, (enum sim_class)c, "get_all_records");
		rec_method(ctx, arr, (enum sim_class)c, "get_all");
		rec_method(ctx, arr, (enum sim_class)c, "get_record");
		rec_method(ctx, arr, (enum sim_class)c, "get_by_uuid");
		if (c == SIM_HOST)
			rec_method(ctx, arr, SIM_HOST, "get_servertime");
		if (c == SIM_HOST || c == SIM_VM)
			rec_method(ctx, arr, (enum sim_class)c, "get_data_sources");
		/* one getter per field, from any object of the class */
		for (size_t i = 0; i < n && rec == NULL; i++)
			if (!((const struct sim_obj *)sim_world_get(w, (enum sim_class)c, (int)i))->deleted)
				rec = sim_rpc_record(ctx, (enum sim_class)c, (int)i);
		for (size_t i = 0; rec != NULL && i < rec->u.st.n; i++) {
			char op[SIM_NAME_LEN + 8];

			snprintf(op, sizeof(op), "get_%s", rec->u.st.members[i].key);
			rec_method(ctx, arr, (enum sim_class)c, op);
		}
		if (rec != NULL && xs_rpc_get(rec, "name_label") != NULL)
			rec_method(ctx, arr, (enum sim_class)c, "get_by_name_label");
	}
}
