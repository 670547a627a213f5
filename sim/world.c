/*
 * world.c - the simulated estate of xapi-sim (see world.h).
 *
 * Invariants:
 *  - every object is allocated once and never moves, so pointers taken from
 *    sim_world_get stay valid until sim_world_free; o.index is its slot;
 *  - everything random (uuids, refs, MACs, sizes, shapes) comes from one
 *    splitmix64 stream seeded by the seed, drawn in creation order, so the same
 *    parameters and the same sequence of lifecycle calls give the same estate;
 *  - event ids are consecutive generations, so event id g lives in ring slot
 *    g % SIM_EVENT_LOG_CAP and the ring needs no head index;
 *  - host_metrics.memory_free is recomputed from the VMs resident on the host
 *    whenever one arrives or leaves;
 *  - lifecycle functions check everything before they change anything.
 */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define WORLD_GIB (1024ull * 1024 * 1024)
#define WORLD_MAX_ADDR_HOSTS 254  /* hosts per /24 in the loopback numbering */
#define WORLD_HALTED_ONE_IN 10    /* about one guest VM in ten starts halted */
#define WORLD_LOCAL_DISK_ONE_IN 8 /* about one guest in eight has its disks on local storage */
#define WORLD_TOOLS_PERCENT 80    /* guests with the guest agent */
#define WORLD_DOM0_VCPUS_MAX 16
#define WORLD_DOM0_MEMORY (4 * WORLD_GIB)
#define WORLD_NEW_VDI_SIZE (20 * WORLD_GIB)
#define WORLD_MAX_UPTIME (30 * 86400) /* initial VMs started up to 30 days ago */
#define WORLD_NETWORKS 4          /* eth0, eth1, eth2, bond */
#define WORLD_NET_BOND 3          /* network of the bond, after the three ethN */

static const size_t world_obj_size[SIM_NCLASSES] = {
	[SIM_POOL] = sizeof(struct sim_pool),
	[SIM_HOST] = sizeof(struct sim_host),
	[SIM_HOST_METRICS] = sizeof(struct sim_host_metrics),
	[SIM_VM] = sizeof(struct sim_vm),
	[SIM_VM_METRICS] = sizeof(struct sim_vm_metrics),
	[SIM_VM_GUEST_METRICS] = sizeof(struct sim_vm_guest_metrics),
	[SIM_VIF] = sizeof(struct sim_vif),
	[SIM_VBD] = sizeof(struct sim_vbd),
	[SIM_VDI] = sizeof(struct sim_vdi),
	[SIM_PIF] = sizeof(struct sim_pif),
	[SIM_SR] = sizeof(struct sim_sr),
	[SIM_PBD] = sizeof(struct sim_pbd),
	[SIM_NETWORK] = sizeof(struct sim_network),
};

static const char *const world_class_names[SIM_NCLASSES] = {
	[SIM_POOL] = "pool",
	[SIM_HOST] = "host",
	[SIM_HOST_METRICS] = "host_metrics",
	[SIM_VM] = "vm",
	[SIM_VM_METRICS] = "vm_metrics",
	[SIM_VM_GUEST_METRICS] = "vm_guest_metrics",
	[SIM_VIF] = "vif",
	[SIM_VBD] = "vbd",
	[SIM_VDI] = "vdi",
	[SIM_PIF] = "pif",
	[SIM_SR] = "sr",
	[SIM_PBD] = "pbd",
	[SIM_NETWORK] = "network",
};

const char *sim_class_name(enum sim_class c)
{
	return (unsigned)c < SIM_NCLASSES ? world_class_names[c] : "";
}

const char *sim_power_name(enum sim_power p)
{
	switch (p) {
	case SIM_HALTED:
		return "Halted";
	case SIM_RUNNING:
		return "Running";
	case SIM_PAUSED:
		return "Paused";
	case SIM_SUSPENDED:
		return "Suspended";
	}
	return "Halted";
}

/* --- randomness --- */

static uint64_t world_rand(struct sim_world *w)
{
	uint64_t z = (w->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A number in [0, n). */
static unsigned world_below(struct sim_world *w, unsigned n)
{
	return (unsigned)(world_rand(w) % n);
}

/* A version-4 uuid. */
static void world_uuid(struct sim_world *w, char out[SIM_UUID_LEN])
{
	uint64_t hi = world_rand(w), lo = world_rand(w);

	hi = (hi & ~0xF000ull) | 0x4000ull;
	lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
	snprintf(out, SIM_UUID_LEN, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)(hi >> 16) & 0xFFFFu, (unsigned)hi & 0xFFFFu,
		 (unsigned)(lo >> 48) & 0xFFFFu, (unsigned long long)(lo & 0xFFFFFFFFFFFFull));
}

/* A locally administered unicast MAC, as xapi generates them. */
static void world_mac(struct sim_world *w, char out[18])
{
	uint64_t r = world_rand(w);
	unsigned b0 = ((unsigned)r & 0xFEu) | 0x02u;

	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b0, (unsigned)(r >> 8) & 0xFFu,
		 (unsigned)(r >> 16) & 0xFFu, (unsigned)(r >> 24) & 0xFFu,
		 (unsigned)(r >> 32) & 0xFFu, (unsigned)(r >> 40) & 0xFFu);
}

/* --- the ref and uuid indexes --- */

static uint64_t world_hash(const char *s)
{
	uint64_t h = 0xCBF29CE484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
	return h ^ (h >> 29);
}

static void world_map_put(struct sim_obj **map, size_t cap, const char *key, struct sim_obj *o)
{
	size_t i = (size_t)(world_hash(key) & (cap - 1));

	while (map[i])
		i = (i + 1) & (cap - 1);
	map[i] = o;
}

static void world_map_grow(struct sim_world *w)
{
	size_t cap = w->map_cap ? w->map_cap * 2 : 1024;

	free(w->map_ref);
	free(w->map_uuid);
	w->map_ref = xs_xcalloc(cap, sizeof(*w->map_ref));
	w->map_uuid = xs_xcalloc(cap, sizeof(*w->map_uuid));
	w->map_cap = cap;
	for (int c = 0; c < SIM_NCLASSES; c++) {
		for (size_t i = 0; i < w->cls[c].n; i++) {
			struct sim_obj *o = w->cls[c].items[i];

			world_map_put(w->map_ref, cap, o->ref, o);
			world_map_put(w->map_uuid, cap, o->uuid, o);
		}
	}
}

/* Adds o to the indexes; the table stays at most half full. */
static void world_map_add(struct sim_world *w, struct sim_obj *o)
{
	if (2 * (w->map_used + 1) > w->map_cap) {
		world_map_grow(w); /* rehashes every object, o included */
	} else {
		world_map_put(w->map_ref, w->map_cap, o->ref, o);
		world_map_put(w->map_uuid, w->map_cap, o->uuid, o);
	}
	w->map_used++;
}

static struct sim_obj *world_map_find(struct sim_obj *const *map, size_t cap, const char *key,
				      bool by_ref)
{
	size_t i;

	if (!cap || !key)
		return NULL;
	i = (size_t)(world_hash(key) & (cap - 1));
	for (; map[i]; i = (i + 1) & (cap - 1)) {
		const char *k = by_ref ? map[i]->ref : map[i]->uuid;

		if (!strcmp(k, key))
			return map[i];
	}
	return NULL;
}

struct sim_obj *sim_world_by_ref(const struct sim_world *w, const char *ref)
{
	struct sim_obj *o = world_map_find(w->map_ref, w->map_cap, ref, true);

	return o && !o->deleted ? o : NULL;
}

struct sim_obj *sim_world_by_uuid(const struct sim_world *w, enum sim_class c, const char *uuid)
{
	struct sim_obj *o = world_map_find(w->map_uuid, w->map_cap, uuid, false);

	return o && !o->deleted && o->cls == c ? o : NULL;
}

/* --- objects --- */

void *sim_world_get(const struct sim_world *w, enum sim_class c, int index)
{
	if ((unsigned)c >= SIM_NCLASSES || index < 0 || (size_t)index >= w->cls[c].n)
		return NULL;
	return w->cls[c].items[index];
}

size_t sim_world_count(const struct sim_world *w, enum sim_class c)
{
	return (unsigned)c < SIM_NCLASSES ? w->cls[c].n : 0;
}

/* A new object of class c with fresh uuid and ref, stamped with the current
 * generation. The caller fills in the class fields. */
static void *world_new_obj(struct sim_world *w, enum sim_class c)
{
	struct sim_objs *a = &w->cls[c];
	struct sim_obj *o = xs_xcalloc(1, world_obj_size[c]);
	char refid[SIM_UUID_LEN];

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->items = xs_xrealloc(a->items, a->cap * sizeof(*a->items));
	}
	o->cls = c;
	o->index = (int)a->n;
	world_uuid(w, o->uuid);
	world_uuid(w, refid);
	snprintf(o->ref, sizeof(o->ref), "OpaqueRef:%s", refid);
	o->gen_created = o->gen_modified = w->generation;
	a->items[a->n++] = o;
	world_map_add(w, o);
	return o;
}

static void world_push(int **v, size_t *n, int x)
{
	*v = xs_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = x;
}

static void world_remove(int *v, size_t *n, int x)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == x) {
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
	}
}

/* Adds vm to host's resident list, keeping it ascending (requests list VMs
 * in index order). */
static void world_resident_add(struct sim_world *w, int host, int vm)
{
	struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);
	size_t i;

	if (!h)
		return;
	world_push(&h->resident, &h->nresident, vm);
	for (i = h->nresident - 1; i > 0 && h->resident[i - 1] > vm; i--)
		h->resident[i] = h->resident[i - 1];
	h->resident[i] = vm;
}

static void world_resident_remove(struct sim_world *w, int host, int vm)
{
	struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);

	if (h)
		world_remove(h->resident, &h->nresident, vm);
}

/* --- events --- */

void sim_world_event(struct sim_world *w, enum sim_class c, int index, int op)
{
	struct sim_obj *o = sim_world_get(w, c, index);
	struct sim_event *e;

	w->generation++;
	e = &w->events[w->generation % SIM_EVENT_LOG_CAP];
	e->id = w->generation;
	e->cls = c;
	e->index = index;
	e->op = (enum sim_event_op)op;
	if (w->nevents < SIM_EVENT_LOG_CAP)
		w->nevents++;
	w->oldest_kept = w->generation - w->nevents + 1;
	if (o) {
		o->gen_modified = w->generation;
		if (op == SIM_EV_ADD)
			o->gen_created = w->generation;
	}
}

const struct sim_event *sim_world_event_at(const struct sim_world *w, uint64_t id)
{
	if (!w->nevents || id < w->oldest_kept || id > w->generation)
		return NULL;
	return &w->events[id % SIM_EVENT_LOG_CAP];
}

/* --- generation --- */

static const char *const world_os[] = {
	"Debian GNU/Linux 12 (bookworm)", "Ubuntu 22.04.4 LTS", "Rocky Linux 9.3 (Blue Onyx)",
	"Microsoft Windows Server 2022 Standard", "CentOS Linux 7 (Core)", "Alpine Linux v3.19",
};
static const char *const world_roles[] = { "web", "db", "cache", "build", "mail",
					   "proxy", "app", "backup" };
static const char *const world_tags[] = { "prod", "dev", "backup", "web", "db", "ha" };
static const unsigned world_vcpus[] = { 1, 2, 2, 4, 4, 8 };
static const unsigned world_mem_gib[] = { 1, 2, 2, 4, 8, 16 };
static const unsigned world_host_cpus[] = { 8, 16, 24, 32, 48 };
static const unsigned world_host_gib[] = { 64, 128, 256, 384 };

#define WORLD_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct world_gen {
	const struct sim_world_params *p;
	int net[WORLD_NETWORKS]; /* networks of the pool being generated */
	int shared_sr;           /* its shared SR */
	int local_sr;            /* local SR of the host being generated */
	int vm_serial;           /* guest VMs generated so far, for names */
};

static int world_network(struct sim_world *w, int pool, const char *name, const char *bridge)
{
	struct sim_network *n = world_new_obj(w, SIM_NETWORK);

	n->pool = pool;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
	return n->o.index;
}

static int world_sr(struct sim_world *w, int pool, const char *name, const char *type,
		    bool shared)
{
	struct sim_sr *sr = world_new_obj(w, SIM_SR);

	sr->pool = pool;
	snprintf(sr->name, sizeof(sr->name), "%s", name);
	snprintf(sr->type, sizeof(sr->type), "%s", type);
	sr->shared = shared;
	return sr->o.index;
}

static void world_pbd(struct sim_world *w, int host, int sr_index)
{
	struct sim_pbd *pbd = world_new_obj(w, SIM_PBD);
	struct sim_sr *sr = SIM_GET(w, SIM_SR, sim_sr, sr_index);

	pbd->host = host;
	pbd->sr = sr_index;
	pbd->attached = true;
	world_push(&sr->pbds, &sr->npbds, pbd->o.index);
}

static int world_pif(struct sim_world *w, struct sim_host *h, const char *device, int network)
{
	struct sim_pif *pif = world_new_obj(w, SIM_PIF);

	pif->host = h->o.index;
	pif->network = network;
	snprintf(pif->device, sizeof(pif->device), "%s", device);
	pif->bond_slave_of = -1;
	pif->vlan = -1;
	world_push(&h->pifs, &h->npifs, pif->o.index);
	return pif->o.index;
}

static void world_host_pifs(struct sim_world *w, struct sim_host *h, const struct world_gen *g)
{
	int eth1, eth2, bond;

	SIM_GET(w, SIM_PIF, sim_pif, world_pif(w, h, "eth0", g->net[0]))->management = true;
	eth1 = world_pif(w, h, "eth1", g->net[1]);
	eth2 = world_pif(w, h, "eth2", g->net[2]);
	bond = world_pif(w, h, "bond0", g->net[WORLD_NET_BOND]);
	SIM_GET(w, SIM_PIF, sim_pif, bond)->is_bond = true;
	SIM_GET(w, SIM_PIF, sim_pif, eth1)->bond_slave_of = bond;
	SIM_GET(w, SIM_PIF, sim_pif, eth2)->bond_slave_of = bond;
}

static void world_host_address(const struct sim_world_params *p, int pool, int h, int global,
			       char out[SIM_ADDR_LEN])
{
	int x, y;

	if (p->pools <= WORLD_MAX_ADDR_HOSTS && p->hosts_per_pool <= WORLD_MAX_ADDR_HOSTS) {
		x = pool + 1;
		y = h + 1;
	} else {
		x = 1 + global / WORLD_MAX_ADDR_HOSTS;
		y = 1 + global % WORLD_MAX_ADDR_HOSTS;
		if (x > 255) {
			fprintf(stderr, "xapi-sim: too many hosts for 127.%u.x.y addresses\n",
				(unsigned)p->addr_base);
			abort();
		}
	}
	snprintf(out, SIM_ADDR_LEN, "127.%u.%u.%u", (unsigned)p->addr_base, (unsigned)x & 0xFFu,
		 (unsigned)y & 0xFFu);
}

static struct sim_vm *world_vm_obj(struct sim_world *w, int pool, const char *name)
{
	struct sim_vm *vm = world_new_obj(w, SIM_VM);
	struct sim_vm_metrics *vmm = world_new_obj(w, SIM_VM_METRICS);

	vm->pool = pool;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->power = SIM_HALTED;
	vm->resident_on = -1;
	vm->affinity = -1;
	vm->metrics = vmm->o.index;
	vm->guest_metrics = -1;
	vm->domid = -1;
	vm->workload_seed = (uint32_t)world_rand(w);
	vmm->vm = vm->o.index;
	return vm;
}

static void world_vm_memory(struct sim_vm *vm, uint64_t bytes)
{
	vm->memory_static_max = vm->memory_dynamic_max = vm->memory_target = bytes;
	vm->memory_dynamic_min = bytes / 2;
}

/* Makes vm Running on host (checks done by the caller); records no events. */
static void world_place(struct sim_world *w, struct sim_vm *vm, int host, double start_time)
{
	struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);
	struct sim_vm_metrics *vmm = SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, vm->metrics);

	if (vm->resident_on >= 0 && vm->resident_on != host)
		world_resident_remove(w, vm->resident_on, vm->o.index);
	if (vm->resident_on != host)
		world_resident_add(w, host, vm->o.index);
	vm->power = SIM_RUNNING;
	vm->resident_on = host;
	vm->domid = h->next_domid++;
	vmm->memory_actual = vm->memory_target;
	vmm->vcpus_number = vm->vcpus;
	vmm->start_time = start_time;
}

static void world_host_dom0(struct sim_world *w, struct sim_host *h)
{
	char name[SIM_NAME_LEN];
	struct sim_vm *vm;

	snprintf(name, sizeof(name), "Control domain on host: %.32s", h->name);
	vm = world_vm_obj(w, h->pool, name);
	vm->is_control_domain = true;
	vm->guest_tools = true;
	vm->vcpus = h->cpus < WORLD_DOM0_VCPUS_MAX ? h->cpus : WORLD_DOM0_VCPUS_MAX;
	world_vm_memory(vm, WORLD_DOM0_MEMORY);
	vm->affinity = h->o.index;
	h->control_domain = vm->o.index;
	h->next_domid = 0;
	world_place(w, vm, h->o.index, w->now - WORLD_MAX_UPTIME - 3600);
}

static void world_vdi_vbd(struct sim_world *w, struct sim_vm *vm, int sr, const char *device,
			  uint64_t size)
{
	struct sim_vbd *vbd = world_new_obj(w, SIM_VBD);
	struct sim_vdi *vdi = world_new_obj(w, SIM_VDI);

	vdi->sr = sr;
	snprintf(vdi->name, sizeof(vdi->name), "%.48s %.7s", vm->name, device);
	vdi->virtual_size = size;
	vbd->vm = vm->o.index;
	vbd->vdi = vdi->o.index;
	snprintf(vbd->device, sizeof(vbd->device), "%s", device);
	world_push(&vm->vbds, &vm->nvbds, vbd->o.index);
}

static void world_vif(struct sim_world *w, struct sim_vm *vm, int device, int network)
{
	struct sim_vif *vif = world_new_obj(w, SIM_VIF);

	vif->vm = vm->o.index;
	vif->network = network;
	snprintf(vif->device, sizeof(vif->device), "%u", (unsigned)device & 0xFFu);
	world_mac(w, vif->mac);
	world_push(&vm->vifs, &vm->nvifs, vif->o.index);
}

static void world_guest_devices(struct sim_world *w, struct sim_vm *vm, const struct world_gen *g)
{
	int nvifs = 1 + (int)world_below(w, 2), ndisks = 1 + (int)world_below(w, 2);
	int sr = world_below(w, WORLD_LOCAL_DISK_ONE_IN) ? g->shared_sr : g->local_sr;
	struct sim_vbd *cd;

	for (int i = 0; i < nvifs; i++)
		world_vif(w, vm, i, i ? g->net[WORLD_NET_BOND] : g->net[0]);
	for (int i = 0; i < ndisks; i++) {
		char dev[8];

		snprintf(dev, sizeof(dev), "xvd%c", 'a' + i);
		world_vdi_vbd(w, vm, sr, dev, (uint64_t)(10 + 10 * world_below(w, 10)) * WORLD_GIB);
	}
	cd = world_new_obj(w, SIM_VBD);
	cd->vm = vm->o.index;
	cd->vdi = -1;
	cd->is_cd = true;
	snprintf(cd->device, sizeof(cd->device), "xvdd");
	world_push(&vm->vbds, &vm->nvbds, cd->o.index);
}

static void world_guest(struct sim_world *w, struct sim_host *h, struct world_gen *g)
{
	char name[SIM_NAME_LEN];
	struct sim_vm *vm;
	unsigned ntags;

	snprintf(name, sizeof(name), "%s-%d-%03d",
		 world_roles[world_below(w, WORLD_NELEMS(world_roles))], h->pool, g->vm_serial++);
	vm = world_vm_obj(w, h->pool, name);
	vm->affinity = h->o.index;
	vm->vcpus = (int)world_vcpus[world_below(w, WORLD_NELEMS(world_vcpus))];
	world_vm_memory(vm, world_mem_gib[world_below(w, WORLD_NELEMS(world_mem_gib))] * WORLD_GIB);
	ntags = world_below(w, 3);
	for (unsigned i = 0; i < ntags; i++)
		snprintf(vm->tags[vm->ntags++], SIM_NAME_LEN, "%s",
			 world_tags[world_below(w, WORLD_NELEMS(world_tags))]);
	if (world_below(w, 100) < WORLD_TOOLS_PERCENT) {
		struct sim_vm_guest_metrics *gm = world_new_obj(w, SIM_VM_GUEST_METRICS);

		gm->vm = vm->o.index;
		snprintf(gm->os_version, sizeof(gm->os_version), "%s",
			 world_os[world_below(w, WORLD_NELEMS(world_os))]);
		vm->guest_metrics = gm->o.index;
		vm->guest_tools = true;
	}
	world_guest_devices(w, vm, g);
	if (world_below(w, WORLD_HALTED_ONE_IN))
		world_place(w, vm, h->o.index, w->now - 60 - world_below(w, WORLD_MAX_UPTIME));
}

/* memory_free of a host: its total minus what its resident domains hold. */
static void world_host_recompute(struct sim_world *w, int host)
{
	struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, host);
	struct sim_host_metrics *hm;
	uint64_t used = 0;

	if (!h)
		return;
	hm = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
	for (size_t i = 0; i < w->cls[SIM_VM].n; i++) {
		const struct sim_vm *vm = w->cls[SIM_VM].items[i];

		if (!vm->o.deleted && vm->resident_on == host)
			used += vm->memory_target;
	}
	hm->memory_total = h->memory_total;
	hm->memory_free = h->memory_total > used ? h->memory_total - used : 0;
}

/* Grows a host's memory if its initial guests would not fit with a margin. */
static void world_host_fit(struct sim_world *w, struct sim_host *h)
{
	uint64_t used = 0;

	for (size_t i = 0; i < w->cls[SIM_VM].n; i++) {
		const struct sim_vm *vm = w->cls[SIM_VM].items[i];

		if (vm->affinity == h->o.index)
			used += vm->memory_target;
	}
	used += used / 4;
	if (used > h->memory_total)
		h->memory_total = (used + 64 * WORLD_GIB - 1) / (64 * WORLD_GIB) * (64 * WORLD_GIB);
}

static void world_host(struct sim_world *w, struct sim_pool *pool, int hi, int global,
		       struct world_gen *g)
{
	struct sim_host *h = world_new_obj(w, SIM_HOST);
	struct sim_host_metrics *hm = world_new_obj(w, SIM_HOST_METRICS);
	char name[SIM_NAME_LEN];

	h->pool = pool->o.index;
	snprintf(h->name, sizeof(h->name), "xcp-%d-%02d", pool->o.index, hi + 1);
	world_host_address(g->p, pool->o.index, hi, global, h->address);
	h->cpus = (int)world_host_cpus[world_below(w, WORLD_NELEMS(world_host_cpus))];
	h->memory_total = world_host_gib[world_below(w, WORLD_NELEMS(world_host_gib))] * WORLD_GIB;
	h->enabled = true;
	h->metrics = hm->o.index;
	hm->host = h->o.index;
	hm->live = true;
	world_push(&pool->hosts, &pool->nhosts, h->o.index);
	world_host_pifs(w, h, g);
	snprintf(name, sizeof(name), "Local storage on %.40s", h->name);
	g->local_sr = world_sr(w, pool->o.index, name, "lvm", false);
	world_pbd(w, h->o.index, g->local_sr);
	world_pbd(w, h->o.index, g->shared_sr);
	world_host_dom0(w, h);
	for (int v = 0; v < g->p->vms_per_host; v++)
		world_guest(w, h, g);
	world_host_fit(w, h);
	world_host_recompute(w, h->o.index);
}

static void world_pool(struct sim_world *w, int pi, struct world_gen *g)
{
	struct sim_pool *pool = world_new_obj(w, SIM_POOL);

	snprintf(pool->name, sizeof(pool->name), "pool-%d", pi);
	pool->master = -1;
	g->net[0] = world_network(w, pool->o.index, "Pool-wide network associated with eth0",
				  "xenbr0");
	g->net[1] = world_network(w, pool->o.index, "Pool-wide network associated with eth1",
				  "xenbr1");
	g->net[2] = world_network(w, pool->o.index, "Pool-wide network associated with eth2",
				  "xenbr2");
	g->net[WORLD_NET_BOND] = world_network(w, pool->o.index, "Bond 1+2", "xapi1");
	g->shared_sr = world_sr(w, pool->o.index, "NFS virtual disk storage", "nfs", true);
	for (int h = 0; h < g->p->hosts_per_pool; h++)
		world_host(w, pool, h, pi * g->p->hosts_per_pool + h, g);
	if (pool->nhosts)
		pool->master = pool->hosts[0];
}

struct sim_world *sim_world_new(const struct sim_world_params *p)
{
	struct sim_world *w = xs_xcalloc(1, sizeof(*w));
	struct sim_world_params q = *p;
	struct world_gen g = { .p = &q };

	q.pools = q.pools > 0 ? q.pools : 0;
	q.hosts_per_pool = q.hosts_per_pool > 0 ? q.hosts_per_pool : 0;
	q.vms_per_host = q.vms_per_host > 0 ? q.vms_per_host : 0;
	w->seed = p->seed;
	w->rng = p->seed ^ 0x5EED5EED5EED5EEDull;
	w->now = p->now;
	w->events = xs_xcalloc(SIM_EVENT_LOG_CAP, sizeof(*w->events));
	w->generation = 1;
	w->oldest_kept = 2;
	for (int i = 0; i < q.pools; i++)
		world_pool(w, i, &g);
	return w;
}

void sim_world_free(struct sim_world **wp)
{
	struct sim_world *w = wp ? *wp : NULL;

	if (!w)
		return;
	for (int c = 0; c < SIM_NCLASSES; c++) {
		for (size_t i = 0; i < w->cls[c].n; i++) {
			void *o = w->cls[c].items[i];

			if (c == SIM_POOL)
				free(((struct sim_pool *)o)->hosts);
			else if (c == SIM_HOST) {
				free(((struct sim_host *)o)->pifs);
				free(((struct sim_host *)o)->resident);
			}
			else if (c == SIM_VM) {
				free(((struct sim_vm *)o)->vifs);
				free(((struct sim_vm *)o)->vbds);
			} else if (c == SIM_SR)
				free(((struct sim_sr *)o)->pbds);
			free(o);
		}
		free(w->cls[c].items);
	}
	free(w->map_ref);
	free(w->map_uuid);
	free(w->events);
	free(w);
	*wp = NULL;
}

/* --- lifecycle --- */

static int world_fail(const char **code, const char *what)
{
	if (code)
		*code = what;
	return -1;
}

static void *world_live(const struct sim_world *w, enum sim_class c, int index)
{
	struct sim_obj *o = sim_world_get(w, c, index);

	return o && !o->deleted ? o : NULL;
}

/* Whether host can see every SR holding one of vm's disks. */
static bool world_host_sees_disks(const struct sim_world *w, const struct sim_vm *vm, int host)
{
	for (size_t i = 0; i < vm->nvbds; i++) {
		const struct sim_vbd *vbd = world_live(w, SIM_VBD, vm->vbds[i]);
		const struct sim_vdi *vdi = vbd ? world_live(w, SIM_VDI, vbd->vdi) : NULL;
		const struct sim_sr *sr = vdi ? world_live(w, SIM_SR, vdi->sr) : NULL;
		bool seen = false;

		if (!sr)
			continue;
		for (size_t k = 0; k < sr->npbds && !seen; k++) {
			const struct sim_pbd *pbd = world_live(w, SIM_PBD, sr->pbds[k]);

			seen = pbd && pbd->attached && pbd->host == host;
		}
		if (!seen)
			return false;
	}
	return true;
}

/* NULL if vm can run on host, else the XAPI error why not. A VM already
 * resident there does not count against the host's free memory. */
static const char *world_host_refuses(const struct sim_world *w, const struct sim_vm *vm,
				      int host)
{
	const struct sim_host *h = world_live(w, SIM_HOST, host);
	const struct sim_host_metrics *hm;
	uint64_t free_mem;

	if (!h || h->pool != vm->pool)
		return "HANDLE_INVALID";
	hm = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
	if (!hm || !hm->live)
		return "HOST_OFFLINE";
	if (!h->enabled)
		return "HOST_DISABLED";
	if (!world_host_sees_disks(w, vm, host))
		return "VM_REQUIRES_SR";
	free_mem = hm->memory_free + (vm->resident_on == host ? vm->memory_target : 0);
	if (free_mem < vm->memory_target)
		return "HOST_NOT_ENOUGH_FREE_MEMORY";
	return NULL;
}

/* The host a VM started with no host goes to: its affinity, else the first
 * host of its pool that takes it; -1 if none. */
static int world_pick_host(const struct sim_world *w, const struct sim_vm *vm)
{
	const struct sim_pool *pool = world_live(w, SIM_POOL, vm->pool);

	if (vm->affinity >= 0 && !world_host_refuses(w, vm, vm->affinity))
		return vm->affinity;
	for (size_t i = 0; pool && i < pool->nhosts; i++)
		if (!world_host_refuses(w, vm, pool->hosts[i]))
			return pool->hosts[i];
	return -1;
}

/* A guest VM (not a control domain) or NULL with *why set. */
static struct sim_vm *world_guest_vm(struct sim_world *w, int vm, const char **why)
{
	struct sim_vm *v = world_live(w, SIM_VM, vm);

	*why = NULL;
	if (!v)
		*why = "HANDLE_INVALID";
	else if (v->is_control_domain)
		*why = "OPERATION_NOT_ALLOWED";
	return *why ? NULL : v;
}

/* The events of a host whose resident set changed. */
static void world_host_changed(struct sim_world *w, int host)
{
	struct sim_host *h = world_live(w, SIM_HOST, host);

	if (!h)
		return;
	world_host_recompute(w, host);
	sim_world_event(w, SIM_HOST, host, SIM_EV_MOD);
	sim_world_event(w, SIM_HOST_METRICS, h->metrics, SIM_EV_MOD);
}

int sim_vm_start(struct sim_world *w, int vm, int host, const char **code)
{
	const char *why;
	struct sim_vm *v = world_guest_vm(w, vm, &why);

	if (!v)
		return world_fail(code, why);
	if (v->power != SIM_HALTED)
		return world_fail(code, "VM_BAD_POWER_STATE");
	if (host < 0) {
		host = world_pick_host(w, v);
		if (host < 0)
			return world_fail(code, "NO_HOSTS_AVAILABLE");
	} else {
		why = world_host_refuses(w, v, host);
		if (why)
			return world_fail(code, why);
	}
	world_place(w, v, host, w->now);
	sim_world_event(w, SIM_VM, vm, SIM_EV_MOD);
	sim_world_event(w, SIM_VM_METRICS, v->metrics, SIM_EV_MOD);
	world_host_changed(w, host);
	return 0;
}

int sim_vm_stop(struct sim_world *w, int vm, const char **code)
{
	const char *why;
	struct sim_vm *v = world_guest_vm(w, vm, &why);
	struct sim_vm_metrics *vmm;
	int old;

	if (!v)
		return world_fail(code, why);
	if (v->power == SIM_HALTED)
		return world_fail(code, "VM_BAD_POWER_STATE");
	old = v->resident_on;
	if (old >= 0)
		world_resident_remove(w, old, vm);
	v->power = SIM_HALTED;
	v->resident_on = -1;
	v->domid = -1;
	vmm = SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics);
	vmm->memory_actual = 0;
	sim_world_event(w, SIM_VM, vm, SIM_EV_MOD);
	sim_world_event(w, SIM_VM_METRICS, v->metrics, SIM_EV_MOD);
	if (old >= 0)
		world_host_changed(w, old);
	return 0;
}

int sim_vm_migrate(struct sim_world *w, int vm, int host, const char **code)
{
	const char *why;
	struct sim_vm *v = world_guest_vm(w, vm, &why);
	struct sim_host *h;
	int old;

	if (!v)
		return world_fail(code, why);
	if (v->power != SIM_RUNNING)
		return world_fail(code, "VM_BAD_POWER_STATE");
	why = world_host_refuses(w, v, host);
	if (why)
		return world_fail(code, why);
	old = v->resident_on;
	h = SIM_GET(w, SIM_HOST, sim_host, host);
	if (old != host) {
		if (old >= 0)
			world_resident_remove(w, old, vm);
		world_resident_add(w, host, vm);
	}
	v->resident_on = host;
	v->domid = h->next_domid++;
	sim_world_event(w, SIM_VM, vm, SIM_EV_MOD);
	if (old >= 0 && old != host)
		world_host_changed(w, old);
	world_host_changed(w, host);
	return 0;
}

int sim_vm_create(struct sim_world *w, int pool, const char *name, int *vm, const char **code)
{
	struct sim_vm *v;

	if (!world_live(w, SIM_POOL, pool))
		return world_fail(code, "HANDLE_INVALID");
	v = world_vm_obj(w, pool, name ? name : "");
	v->vcpus = 1;
	world_vm_memory(v, WORLD_GIB);
	SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics)->vcpus_number = 1;
	sim_world_event(w, SIM_VM_METRICS, v->metrics, SIM_EV_ADD);
	sim_world_event(w, SIM_VM, v->o.index, SIM_EV_ADD);
	if (vm)
		*vm = v->o.index;
	return 0;
}

static void world_delete(struct sim_world *w, enum sim_class c, int index)
{
	struct sim_obj *o = world_live(w, c, index);

	if (!o)
		return;
	o->deleted = true;
	sim_world_event(w, c, index, SIM_EV_DEL);
}

int sim_vm_destroy(struct sim_world *w, int vm, const char **code)
{
	const char *why;
	struct sim_vm *v = world_guest_vm(w, vm, &why);

	if (!v)
		return world_fail(code, why);
	if (v->power != SIM_HALTED)
		return world_fail(code, "VM_BAD_POWER_STATE");
	for (size_t i = 0; i < v->nvifs; i++)
		world_delete(w, SIM_VIF, v->vifs[i]);
	for (size_t i = 0; i < v->nvbds; i++)
		world_delete(w, SIM_VBD, v->vbds[i]);
	if (v->guest_metrics >= 0)
		world_delete(w, SIM_VM_GUEST_METRICS, v->guest_metrics);
	world_delete(w, SIM_VM_METRICS, v->metrics);
	world_delete(w, SIM_VM, vm);
	return 0;
}

/* The pool's management network (its first), or -1. */
static int world_pool_network(const struct sim_world *w, int pool)
{
	for (size_t i = 0; i < w->cls[SIM_NETWORK].n; i++) {
		const struct sim_network *n = w->cls[SIM_NETWORK].items[i];

		if (!n->o.deleted && n->pool == pool)
			return n->o.index;
	}
	return -1;
}

/* The pool's first shared SR, or -1. */
static int world_pool_shared_sr(const struct sim_world *w, int pool)
{
	for (size_t i = 0; i < w->cls[SIM_SR].n; i++) {
		const struct sim_sr *sr = w->cls[SIM_SR].items[i];

		if (!sr->o.deleted && sr->pool == pool && sr->shared)
			return sr->o.index;
	}
	return -1;
}

/* Whether vm has a live device named dev among its VIFs (vbd false) or VBDs. */
static bool world_device_used(const struct sim_world *w, const struct sim_vm *vm, bool vbd,
			      const char *dev)
{
	size_t n = vbd ? vm->nvbds : vm->nvifs;

	for (size_t i = 0; i < n; i++) {
		const char *d;

		if (vbd) {
			const struct sim_vbd *b = world_live(w, SIM_VBD, vm->vbds[i]);
			d = b ? b->device : NULL;
		} else {
			const struct sim_vif *f = world_live(w, SIM_VIF, vm->vifs[i]);
			d = f ? f->device : NULL;
		}
		if (d && !strcmp(d, dev))
			return true;
	}
	return false;
}

int sim_vm_add_vif(struct sim_world *w, int vm, int *vif, const char **code)
{
	struct sim_vm *v = world_live(w, SIM_VM, vm);
	int network = v ? world_pool_network(w, v->pool) : -1;

	if (!v || network < 0)
		return world_fail(code, "HANDLE_INVALID");
	for (int i = 0; i < SIM_VM_MAX_VIFS; i++) {
		char dev[8];

		snprintf(dev, sizeof(dev), "%u", (unsigned)i & 0xFFu);
		if (world_device_used(w, v, false, dev))
			continue;
		world_vif(w, v, i, network);
		sim_world_event(w, SIM_VIF, v->vifs[v->nvifs - 1], SIM_EV_ADD);
		sim_world_event(w, SIM_VM, vm, SIM_EV_MOD);
		if (vif)
			*vif = v->vifs[v->nvifs - 1];
		return 0;
	}
	return world_fail(code, "INVALID_DEVICE");
}

int sim_vm_add_vbd(struct sim_world *w, int vm, int *vbd, const char **code)
{
	struct sim_vm *v = world_live(w, SIM_VM, vm);
	int sr = v ? world_pool_shared_sr(w, v->pool) : -1;

	if (!v || sr < 0)
		return world_fail(code, "HANDLE_INVALID");
	for (int i = 0; i < SIM_VM_MAX_VBDS; i++) {
		char dev[8];
		const struct sim_vbd *b;

		snprintf(dev, sizeof(dev), "xvd%c", 'a' + i);
		if (world_device_used(w, v, true, dev))
			continue;
		world_vdi_vbd(w, v, sr, dev, WORLD_NEW_VDI_SIZE);
		b = SIM_GET(w, SIM_VBD, sim_vbd, v->vbds[v->nvbds - 1]);
		sim_world_event(w, SIM_VDI, b->vdi, SIM_EV_ADD);
		sim_world_event(w, SIM_VBD, b->o.index, SIM_EV_ADD);
		sim_world_event(w, SIM_VM, vm, SIM_EV_MOD);
		if (vbd)
			*vbd = b->o.index;
		return 0;
	}
	return world_fail(code, "INVALID_DEVICE");
}

int sim_vif_destroy(struct sim_world *w, int vif, const char **code)
{
	struct sim_vif *f = world_live(w, SIM_VIF, vif);
	struct sim_vm *v;

	if (!f)
		return world_fail(code, "HANDLE_INVALID");
	v = SIM_GET(w, SIM_VM, sim_vm, f->vm);
	world_remove(v->vifs, &v->nvifs, vif);
	world_delete(w, SIM_VIF, vif);
	sim_world_event(w, SIM_VM, f->vm, SIM_EV_MOD);
	return 0;
}

int sim_vbd_destroy(struct sim_world *w, int vbd, const char **code)
{
	struct sim_vbd *b = world_live(w, SIM_VBD, vbd);
	struct sim_vm *v;

	if (!b)
		return world_fail(code, "HANDLE_INVALID");
	v = SIM_GET(w, SIM_VM, sim_vm, b->vm);
	world_remove(v->vbds, &v->nvbds, vbd);
	world_delete(w, SIM_VBD, vbd);
	sim_world_event(w, SIM_VM, b->vm, SIM_EV_MOD);
	return 0;
}

int sim_host_set_live(struct sim_world *w, int host, bool live, const char **code)
{
	struct sim_host *h = world_live(w, SIM_HOST, host);
	struct sim_host_metrics *hm;

	if (!h)
		return world_fail(code, "HANDLE_INVALID");
	hm = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
	h->faults.down = !live;
	if (hm->live == live)
		return 0;
	hm->live = live;
	sim_world_event(w, SIM_HOST_METRICS, h->metrics, SIM_EV_MOD);
	return 0;
}

int sim_pool_set_master(struct sim_world *w, int pool, int host, const char **code)
{
	struct sim_pool *p = world_live(w, SIM_POOL, pool);
	const struct sim_host *h = world_live(w, SIM_HOST, host);
	const struct sim_host_metrics *hm;

	if (!p || !h || h->pool != pool)
		return world_fail(code, "HANDLE_INVALID");
	hm = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
	if (!hm->live)
		return world_fail(code, "HOST_OFFLINE");
	if (p->master == host)
		return 0;
	p->master = host;
	sim_world_event(w, SIM_POOL, pool, SIM_EV_MOD);
	return 0;
}
