/*
 * Tests of sim/world.c: the generated estate (counts, links, addresses),
 * determinism per seed, ref and uuid lookups, the lifecycle functions with
 * the events and XAPI error codes they give, and the event log cap.
 */
#include <string.h>

#include "../../../sim/world.c"
#include "test.h"

static struct sim_world *world(int pools, int hosts, int vms, uint64_t seed)
{
	struct sim_world_params p = { .pools = pools, .hosts_per_pool = hosts,
				      .vms_per_host = vms, .seed = seed, .addr_base = 7,
				      .now = 1700000000 };

	return sim_world_new(&p);
}

static size_t count_if_vm(const struct sim_world *w, bool dom0)
{
	size_t n = 0;

	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++)
		n += SIM_GET(w, SIM_VM, sim_vm, (int)i)->is_control_domain == dom0;
	return n;
}

static void test_counts(void)
{
	struct sim_world *w = world(2, 3, 4, 42);
	size_t vifs = 0, vbds = 0, cds = 0, gms = 0;

	ok(sim_world_count(w, SIM_POOL) == 2, "pools");
	ok(sim_world_count(w, SIM_HOST) == 6, "hosts");
	ok(sim_world_count(w, SIM_HOST_METRICS) == 6, "host_metrics");
	ok(sim_world_count(w, SIM_VM) == 2 * 3 * (4 + 1), "VMs incl. control domains: %zu",
	   sim_world_count(w, SIM_VM));
	ok(count_if_vm(w, true) == 6 && count_if_vm(w, false) == 24, "6 dom0, 24 guests");
	ok(sim_world_count(w, SIM_VM_METRICS) == 30, "VM_metrics");
	ok(sim_world_count(w, SIM_NETWORK) == 8, "4 networks per pool");
	ok(sim_world_count(w, SIM_PIF) == 24, "4 PIFs per host");
	ok(sim_world_count(w, SIM_SR) == 2 * (1 + 3), "one shared SR per pool, one local per host");
	ok(sim_world_count(w, SIM_PBD) == 12, "two PBDs per host");
	ok(sim_world_count(w, (enum sim_class)SIM_NCLASSES) == 0, "out of range class");
	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);

		if (vm->is_control_domain)
			continue;
		ok(vm->nvifs >= 1 && vm->nvifs <= 2, "VM %zu has 1-2 VIFs", i);
		ok(vm->nvbds >= 2 && vm->nvbds <= 3, "VM %zu has 1-2 disks and a CD", i);
		vifs += vm->nvifs;
		vbds += vm->nvbds;
		for (size_t k = 0; k < vm->nvbds; k++) {
			const struct sim_vbd *b = SIM_GET(w, SIM_VBD, sim_vbd, vm->vbds[k]);

			ok(b->vm == (int)i, "VBD back-pointer");
			cds += b->is_cd;
			ok(b->is_cd ? b->vdi == -1 && !strcmp(b->device, "xvdd") : b->vdi >= 0,
			   "CD empty on xvdd, disks on a VDI");
		}
		if (vm->guest_metrics >= 0) {
			gms++;
			ok(vm->guest_tools &&
				   SIM_GET(w, SIM_VM_GUEST_METRICS, sim_vm_guest_metrics,
					   vm->guest_metrics)
						   ->vm == (int)i,
			   "guest metrics back-pointer");
		}
		ok(vm->power == SIM_RUNNING ? vm->resident_on == vm->affinity && vm->domid > 0
					    : vm->resident_on == -1 && vm->domid == -1,
		   "VM %zu power %s resident_on %d domid %d", i, sim_power_name(vm->power),
		   vm->resident_on, vm->domid);
	}
	ok(sim_world_count(w, SIM_VIF) == vifs, "every VIF belongs to a VM");
	ok(sim_world_count(w, SIM_VBD) == vbds && cds == 24, "every VBD belongs to a VM");
	ok(sim_world_count(w, SIM_VDI) == vbds - cds, "one VDI per disk");
	ok(sim_world_count(w, SIM_VM_GUEST_METRICS) == gms, "guest metrics only with tools");
	sim_world_free(&w);
	ok(w == NULL, "free sets NULL");
	sim_world_free(&w);
	sim_world_free(NULL);
}

static void test_hosts(void)
{
	struct sim_world *w = world(2, 3, 2, 7);

	for (int p = 0; p < 2; p++) {
		const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, p);

		ok(pool->nhosts == 3 && pool->master == pool->hosts[0], "pool %d master", p);
		for (int k = 0; k < 3; k++) {
			const struct sim_host *h = SIM_GET(w, SIM_HOST, sim_host, pool->hosts[k]);
			const struct sim_vm *dom0 = SIM_GET(w, SIM_VM, sim_vm, h->control_domain);
			const struct sim_host_metrics *hm =
				SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
			char want[32];
			int bonds = 0, slaves = 0, mgmt = 0;
			uint64_t used = 0;

			snprintf(want, sizeof(want), "127.7.%d.%d", p + 1, k + 1);
			ok(!strcmp(h->address, want), "address %s, want %s", h->address, want);
			ok(h->pool == p && h->enabled, "host pool");
			ok(dom0->is_control_domain && dom0->resident_on == h->o.index &&
				   dom0->domid == 0 && dom0->power == SIM_RUNNING &&
				   dom0->guest_metrics == -1 && dom0->guest_tools,
			   "control domain of host %d", h->o.index);
			ok(!strncmp(dom0->name, "Control domain on host: ", 24), "dom0 name");
			ok(hm->live && hm->host == h->o.index && hm->memory_total == h->memory_total,
			   "host_metrics");
			for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
				const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);

				if (vm->resident_on == h->o.index)
					used += vm->memory_target;
			}
			ok(hm->memory_free == h->memory_total - used, "memory_free = total - used");
			for (size_t i = 0; i < h->npifs; i++) {
				const struct sim_pif *pif = SIM_GET(w, SIM_PIF, sim_pif, h->pifs[i]);

				bonds += pif->is_bond;
				slaves += pif->bond_slave_of >= 0;
				mgmt += pif->management;
				ok(pif->host == h->o.index && pif->vlan == -1, "PIF host");
			}
			ok(bonds == 1 && slaves == 2 && mgmt == 1, "bond0 over eth1+eth2, eth0 mgmt");
		}
	}
	sim_world_free(&w);

	/* more than 254 hosts in a pool: numbered over all hosts */
	w = world(1, 300, 0, 1);
	ok(!strcmp(SIM_GET(w, SIM_HOST, sim_host, 0)->address, "127.7.1.1"), "first");
	ok(!strcmp(SIM_GET(w, SIM_HOST, sim_host, 253)->address, "127.7.1.254"), "254th");
	ok(!strcmp(SIM_GET(w, SIM_HOST, sim_host, 254)->address, "127.7.2.1"), "255th");
	sim_world_free(&w);
}

static bool uuid_well_formed(const char *u)
{
	if (strlen(u) != 36 || u[14] != '4' || !strchr("89ab", u[19]))
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !strchr("0123456789abcdef", u[i]))
			return false;
	}
	return true;
}

static void test_determinism(void)
{
	struct sim_world *a = world(2, 2, 3, 99), *b = world(2, 2, 3, 99), *c = world(2, 2, 3, 100);
	bool same = true, differs = false, formed = true;

	for (int k = 0; k < SIM_NCLASSES; k++) {
		ok(sim_world_count(a, k) == sim_world_count(b, k), "class %s count",
		   sim_class_name(k));
		for (size_t i = 0; i < sim_world_count(a, k); i++) {
			const struct sim_obj *x = sim_world_get(a, k, (int)i);
			const struct sim_obj *y = sim_world_get(b, k, (int)i);
			const struct sim_obj *z = sim_world_get(c, k, (int)i);

			same = same && !strcmp(x->uuid, y->uuid) && !strcmp(x->ref, y->ref);
			differs = differs || (z && !strcmp(x->uuid, z->uuid));
			formed = formed && uuid_well_formed(x->uuid) &&
				 !strncmp(x->ref, "OpaqueRef:", 10) && uuid_well_formed(x->ref + 10) &&
				 strcmp(x->ref + 10, x->uuid);
		}
	}
	ok(same, "same seed, same uuids and refs");
	ok(!differs, "another seed, other uuids");
	ok(formed, "uuids are version 4, refs OpaqueRef:<another uuid>");
	for (size_t i = 0; i < sim_world_count(a, SIM_VM); i++) {
		const struct sim_vm *x = SIM_GET(a, SIM_VM, sim_vm, (int)i);
		const struct sim_vm *y = SIM_GET(b, SIM_VM, sim_vm, (int)i);

		same = same && !strcmp(x->name, y->name) && x->power == y->power &&
		       x->vcpus == y->vcpus && x->memory_target == y->memory_target &&
		       x->workload_seed == y->workload_seed && x->nvifs == y->nvifs;
	}
	ok(same, "same seed, same VMs");
	for (size_t i = 0; i < sim_world_count(a, SIM_VIF); i++) {
		const struct sim_vif *x = SIM_GET(a, SIM_VIF, sim_vif, (int)i);

		ok(strlen(x->mac) == 17 && (strtoul(x->mac, NULL, 16) & 3) == 2,
		   "MAC %s locally administered unicast", x->mac);
	}
	sim_world_free(&a);
	sim_world_free(&b);
	sim_world_free(&c);
}

static void test_lookup(void)
{
	struct sim_world *w = world(2, 2, 5, 3);
	bool all = true, unique = true;
	size_t total = 0;

	for (int k = 0; k < SIM_NCLASSES; k++) {
		for (size_t i = 0; i < sim_world_count(w, k); i++) {
			struct sim_obj *o = sim_world_get(w, k, (int)i);

			total++;
			all = all && o->cls == (enum sim_class)k && o->index == (int)i &&
			      sim_world_by_ref(w, o->ref) == o &&
			      sim_world_by_uuid(w, k, o->uuid) == o &&
			      sim_world_by_uuid(w, (k + 1) % SIM_NCLASSES, o->uuid) == NULL &&
			      o->gen_created == 1 && o->gen_modified == 1;
		}
	}
	ok(all, "every one of %zu objects found by ref and uuid, of its class only", total);
	ok(w->map_used == total, "indexes hold every object");
	for (size_t i = 1; i < sim_world_count(w, SIM_VM); i++)
		unique = unique && strcmp(SIM_GET(w, SIM_VM, sim_vm, (int)i)->o.uuid,
					  SIM_GET(w, SIM_VM, sim_vm, (int)i - 1)->o.uuid);
	ok(unique, "distinct uuids");
	ok(!sim_world_by_ref(w, "OpaqueRef:NULL"), "OpaqueRef:NULL");
	ok(!sim_world_by_ref(w, ""), "empty ref");
	ok(!sim_world_by_ref(w, NULL), "NULL ref");
	ok(!sim_world_by_uuid(w, SIM_VM, "00000000-0000-4000-8000-000000000000"), "unknown uuid");
	ok(!sim_world_get(w, SIM_VM, -1) && !sim_world_get(w, SIM_VM, 10000), "get out of range");
	ok(!strcmp(sim_class_name(SIM_VM_GUEST_METRICS), "vm_guest_metrics") &&
		   !strcmp(sim_class_name(SIM_HOST_METRICS), "host_metrics") &&
		   !strcmp(sim_class_name(SIM_PBD), "pbd"),
	   "event.from class names");
	ok(!strcmp(sim_power_name(SIM_RUNNING), "Running") &&
		   !strcmp(sim_power_name(SIM_SUSPENDED), "Suspended"),
	   "power_state names");
	sim_world_free(&w);
}

/* Checks that the events since `from` are exactly the n given (class, op). */
static bool events_are(const struct sim_world *w, uint64_t from, size_t n,
		       const enum sim_class *cls, const int *ops)
{
	if (w->generation != from + n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct sim_event *e = sim_world_event_at(w, from + 1 + i);

		if (!e || e->id != from + 1 + i || e->cls != cls[i] || (int)e->op != ops[i])
			return false;
	}
	return true;
}

/* A running guest of pool 0 whose disks another host of the pool sees. */
static int running_guest(const struct sim_world *w, int *other)
{
	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);
		const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, 0);

		if (vm->is_control_domain || vm->power != SIM_RUNNING || vm->pool != 0)
			continue;
		for (size_t k = 0; k < pool->nhosts; k++) {
			if (pool->hosts[k] != vm->resident_on &&
			    world_host_sees_disks(w, vm, pool->hosts[k])) {
				*other = pool->hosts[k];
				return (int)i;
			}
		}
	}
	return -1;
}

static void test_stop_start_migrate(void)
{
	struct sim_world *w = world(2, 3, 4, 5);
	const char *code = NULL;
	int other = -1, vm = running_guest(w, &other), home;
	struct sim_vm *v;
	struct sim_host_metrics *hm_home, *hm_other;
	uint64_t g, free_home, free_other;

	fail_unless(vm >= 0, "a running guest with shared disks");
	v = SIM_GET(w, SIM_VM, sim_vm, vm);
	home = v->resident_on;
	hm_home = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics,
			  SIM_GET(w, SIM_HOST, sim_host, home)->metrics);
	hm_other = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics,
			   SIM_GET(w, SIM_HOST, sim_host, other)->metrics);
	free_home = hm_home->memory_free;
	free_other = hm_other->memory_free;

	ok(sim_vm_start(w, vm, other, &code) == -1 && !strcmp(code, "VM_BAD_POWER_STATE"),
	   "start a running VM");
	g = w->generation;
	ok(sim_vm_stop(w, vm, &code) == 0, "stop");
	ok(v->power == SIM_HALTED && v->resident_on == -1 && v->domid == -1, "halted");
	ok(SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics)->memory_actual == 0,
	   "memory_actual 0");
	ok(hm_home->memory_free == free_home + v->memory_target, "memory given back");
	{
		static const enum sim_class c[] = { SIM_VM, SIM_VM_METRICS, SIM_HOST,
						    SIM_HOST_METRICS };
		static const int o[] = { SIM_EV_MOD, SIM_EV_MOD, SIM_EV_MOD, SIM_EV_MOD };

		ok(events_are(w, g, 4, c, o), "stop: vm, vm_metrics, host, host_metrics mod");
	}
	ok(v->o.gen_modified == g + 1 && v->o.gen_created == 1, "stamps");
	ok(sim_vm_stop(w, vm, &code) == -1 && !strcmp(code, "VM_BAD_POWER_STATE"), "stop twice");

	w->now = 1700000500;
	g = w->generation;
	{
		int domid = SIM_GET(w, SIM_HOST, sim_host, other)->next_domid;

		ok(sim_vm_start(w, vm, other, &code) == 0, "start on another host");
		ok(v->power == SIM_RUNNING && v->resident_on == other && v->domid == domid,
		   "running there with domid %d", v->domid);
	}
	ok(SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics)->start_time == 1700000500,
	   "start_time = now");
	ok(hm_other->memory_free == free_other - v->memory_target, "memory taken");
	ok(w->generation == g + 4, "start: 4 events");

	g = w->generation;
	ok(sim_vm_migrate(w, vm, home, &code) == 0 && v->resident_on == home, "migrate home");
	{
		static const enum sim_class c[] = { SIM_VM, SIM_HOST, SIM_HOST_METRICS, SIM_HOST,
						    SIM_HOST_METRICS };
		static const int o[] = { SIM_EV_MOD, SIM_EV_MOD, SIM_EV_MOD, SIM_EV_MOD,
					 SIM_EV_MOD };

		ok(events_are(w, g, 5, c, o), "migrate: vm, both hosts and their metrics");
		ok(sim_world_event_at(w, g + 2)->index == other &&
			   sim_world_event_at(w, g + 4)->index == home,
		   "source first, then destination");
	}
	ok(hm_home->memory_free == free_home && hm_other->memory_free == free_other,
	   "memory back as generated");
	ok(SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics)->start_time == 1700000500,
	   "migration keeps start_time");
	ok(sim_vm_migrate(w, vm, home, &code) == 0 && v->resident_on == home,
	   "localhost migration");
	ok(sim_vm_migrate(w, vm, SIM_GET(w, SIM_POOL, sim_pool, 1)->hosts[0], &code) == -1 &&
		   !strcmp(code, "HANDLE_INVALID"),
	   "a host of another pool is unknown to this one");
	ok(sim_vm_migrate(w, vm, 1000, &code) == -1 && !strcmp(code, "HANDLE_INVALID"),
	   "no such host");

	sim_world_free(&w);
}

/* Why a host refuses a VM, and what control domains refuse. */
static void test_refusals(void)
{
	struct sim_world *w = world(2, 3, 4, 5);
	const char *code = NULL;
	int other = -1, vm = running_guest(w, &other), home;
	struct sim_vm *v;
	struct sim_host_metrics *hm_other;
	uint64_t g;

	fail_unless(vm >= 0, "a running guest with shared disks");
	v = SIM_GET(w, SIM_VM, sim_vm, vm);
	home = v->resident_on;
	hm_other = SIM_GET(w, SIM_HOST_METRICS, sim_host_metrics,
			   SIM_GET(w, SIM_HOST, sim_host, other)->metrics);
	g = w->generation;
	ok(sim_host_set_live(w, other, false, &code) == 0 && !hm_other->live &&
		   SIM_GET(w, SIM_HOST, sim_host, other)->faults.down,
	   "host down");
	ok(w->generation == g + 1 && sim_world_event_at(w, g + 1)->cls == SIM_HOST_METRICS,
	   "host_metrics mod");
	ok(sim_host_set_live(w, other, false, &code) == 0 && w->generation == g + 1,
	   "no event when nothing changes");
	ok(sim_vm_migrate(w, vm, other, &code) == -1 && !strcmp(code, "HOST_OFFLINE"),
	   "migrate to an offline host");
	sim_host_set_live(w, other, true, NULL);
	SIM_GET(w, SIM_HOST, sim_host, other)->enabled = false;
	ok(sim_vm_migrate(w, vm, other, &code) == -1 && !strcmp(code, "HOST_DISABLED"),
	   "migrate to a disabled host");
	SIM_GET(w, SIM_HOST, sim_host, other)->enabled = true;
	hm_other->memory_free = v->memory_target - 1;
	ok(sim_vm_migrate(w, vm, other, &code) == -1 &&
		   !strcmp(code, "HOST_NOT_ENOUGH_FREE_MEMORY"),
	   "not enough memory");
	world_host_recompute(w, other);

	/* control domains */
	ok(sim_vm_stop(w, SIM_GET(w, SIM_HOST, sim_host, home)->control_domain, &code) == -1 &&
		   !strcmp(code, "OPERATION_NOT_ALLOWED"),
	   "dom0 cannot be stopped");
	ok(sim_vm_migrate(w, SIM_GET(w, SIM_HOST, sim_host, home)->control_domain, other,
			  &code) == -1 &&
		   !strcmp(code, "OPERATION_NOT_ALLOWED"),
	   "dom0 cannot be migrated");

	/* a halted VM and paused one */
	v->power = SIM_PAUSED;
	ok(sim_vm_migrate(w, vm, other, &code) == -1 && !strcmp(code, "VM_BAD_POWER_STATE"),
	   "migrate a paused VM");
	ok(sim_vm_stop(w, vm, &code) == 0 && v->power == SIM_HALTED, "hard shutdown when paused");
	ok(sim_vm_start(w, vm, -1, &code) == 0 && v->resident_on == v->affinity,
	   "host -1 starts on the affinity host");
	sim_world_free(&w);
}

static void test_local_disks(void)
{
	struct sim_world *w = world(1, 2, 12, 11);
	const char *code = NULL;
	int found = -1;

	for (size_t i = 0; i < sim_world_count(w, SIM_VM) && found < 0; i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);
		const struct sim_vbd *b = SIM_GET(w, SIM_VBD, sim_vbd, vm->nvbds ? vm->vbds[0] : 0);

		if (!vm->is_control_domain && vm->power == SIM_RUNNING && b->vdi >= 0 &&
		    !SIM_GET(w, SIM_SR, sim_sr, SIM_GET(w, SIM_VDI, sim_vdi, b->vdi)->sr)->shared)
			found = (int)i;
	}
	fail_unless(found >= 0, "a guest on local storage");
	{
		struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, found);
		const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, 0);
		int away = pool->hosts[0] == vm->resident_on ? pool->hosts[1] : pool->hosts[0];

		ok(sim_vm_migrate(w, found, away, &code) == -1 && !strcmp(code, "VM_REQUIRES_SR"),
		   "local disks pin a VM to its host");
		ok(sim_vm_stop(w, found, &code) == 0, "stop");
		sim_host_set_live(w, vm->affinity, false, NULL);
		ok(sim_vm_start(w, found, -1, &code) == -1 && !strcmp(code, "NO_HOSTS_AVAILABLE"),
		   "no host can take it while its own is down");
	}
	sim_world_free(&w);
}

static void test_create_destroy(void)
{
	struct sim_world *w = world(2, 2, 1, 8);
	const char *code = NULL;
	int vm = -1, vif = -1, vbd = -1;
	uint64_t g = w->generation;
	size_t nvms = sim_world_count(w, SIM_VM);
	struct sim_vm *v;

	ok(sim_vm_create(w, 5, "x", &vm, &code) == -1 && !strcmp(code, "HANDLE_INVALID"),
	   "create in no pool");
	ok(sim_vm_create(w, 1, "new-vm", &vm, &code) == 0 && vm == (int)nvms, "create");
	v = SIM_GET(w, SIM_VM, sim_vm, vm);
	ok(!strcmp(v->name, "new-vm") && v->power == SIM_HALTED && v->resident_on == -1 &&
		   v->pool == 1 && v->vcpus == 1 && v->nvifs == 0 && v->nvbds == 0,
	   "a bare halted VM");
	{
		static const enum sim_class c[] = { SIM_VM_METRICS, SIM_VM };
		static const int o[] = { SIM_EV_ADD, SIM_EV_ADD };

		ok(events_are(w, g, 2, c, o), "create: vm_metrics add, vm add");
	}
	ok(v->o.gen_created == g + 2 && sim_world_by_ref(w, v->o.ref) == &v->o, "found by ref");

	for (int i = 0; i < SIM_VM_MAX_VIFS; i++)
		ok(sim_vm_add_vif(w, vm, &vif, &code) == 0, "add VIF %d", i);
	ok(!strcmp(SIM_GET(w, SIM_VIF, sim_vif, vif)->device, "6"), "devices 0..6");
	ok(sim_vm_add_vif(w, vm, &vif, &code) == -1 && !strcmp(code, "INVALID_DEVICE"),
	   "an eighth VIF");
	vif = v->vifs[2];
	g = w->generation;
	ok(sim_vif_destroy(w, vif, &code) == 0 && v->nvifs == 6, "destroy VIF 2");
	ok(SIM_GET(w, SIM_VIF, sim_vif, vif)->o.deleted && w->generation == g + 2 &&
		   sim_world_event_at(w, g + 1)->op == SIM_EV_DEL,
	   "vif del, vm mod");
	ok(sim_vif_destroy(w, vif, &code) == -1 && !strcmp(code, "HANDLE_INVALID"), "twice");
	ok(sim_vm_add_vif(w, vm, &vif, &code) == 0 &&
		   !strcmp(SIM_GET(w, SIM_VIF, sim_vif, vif)->device, "2"),
	   "the freed device is reused");
	ok(SIM_GET(w, SIM_VIF, sim_vif, vif)->network == world_pool_network(w, 1),
	   "on the pool's management network");

	g = w->generation;
	ok(sim_vm_add_vbd(w, vm, &vbd, &code) == 0, "add VBD");
	{
		const struct sim_vbd *b = SIM_GET(w, SIM_VBD, sim_vbd, vbd);
		const struct sim_vdi *d = SIM_GET(w, SIM_VDI, sim_vdi, b->vdi);
		static const enum sim_class c[] = { SIM_VDI, SIM_VBD, SIM_VM };
		static const int o[] = { SIM_EV_ADD, SIM_EV_ADD, SIM_EV_MOD };

		ok(!strcmp(b->device, "xvda") && !b->is_cd && b->vm == vm, "xvda");
		ok(SIM_GET(w, SIM_SR, sim_sr, d->sr)->shared &&
			   SIM_GET(w, SIM_SR, sim_sr, d->sr)->pool == 1,
		   "on the pool's shared SR");
		ok(events_are(w, g, 3, c, o), "vdi add, vbd add, vm mod");
	}
	ok(sim_vm_add_vbd(w, vm, &vbd, &code) == 0 &&
		   !strcmp(SIM_GET(w, SIM_VBD, sim_vbd, vbd)->device, "xvdb"),
	   "xvdb");

	ok(sim_vm_start(w, vm, -1, &code) == 0 &&
		   v->resident_on == SIM_GET(w, SIM_POOL, sim_pool, 1)->hosts[0],
	   "no affinity: first host of the pool");
	ok(sim_vm_destroy(w, vm, &code) == -1 && !strcmp(code, "VM_BAD_POWER_STATE"),
	   "destroy a running VM");
	ok(sim_vm_stop(w, vm, &code) == 0, "stop");
	g = w->generation;
	ok(sim_vm_destroy(w, vm, &code) == 0, "destroy");
	ok(w->generation == g + 7 + 2 + 2, "7 VIF + 2 VBD + metrics + VM dels: %llu",
	   (unsigned long long)(w->generation - g));
	ok(v->o.deleted && SIM_GET(w, SIM_VM_METRICS, sim_vm_metrics, v->metrics)->o.deleted,
	   "VM and metrics deleted");
	ok(!sim_world_by_ref(w, v->o.ref) && !sim_world_by_uuid(w, SIM_VM, v->o.uuid) &&
		   sim_world_get(w, SIM_VM, vm) == v,
	   "deleted: unknown by ref, slot kept");
	ok(!SIM_GET(w, SIM_VDI, sim_vdi, SIM_GET(w, SIM_VBD, sim_vbd, vbd)->vdi)->o.deleted,
	   "VDIs survive");
	ok(sim_world_event_at(w, w->generation)->cls == SIM_VM &&
		   sim_world_event_at(w, w->generation)->op == SIM_EV_DEL,
	   "vm del last");
	ok(sim_vm_destroy(w, vm, &code) == -1 && !strcmp(code, "HANDLE_INVALID"), "twice");
	ok(sim_vm_start(w, vm, -1, &code) == -1 && !strcmp(code, "HANDLE_INVALID"),
	   "start a destroyed VM");
	ok(sim_vm_add_vif(w, vm, NULL, &code) == -1 && !strcmp(code, "HANDLE_INVALID"),
	   "add a VIF to a destroyed VM");

	/* a VM too big for any host */
	ok(sim_vm_create(w, 0, "huge", &vm, NULL) == 0, "create huge");
	world_vm_memory(SIM_GET(w, SIM_VM, sim_vm, vm), 4096 * WORLD_GIB);
	ok(sim_vm_start(w, vm, 0, &code) == -1 && !strcmp(code, "HOST_NOT_ENOUGH_FREE_MEMORY"),
	   "huge on host 0");
	ok(sim_vm_start(w, vm, -1, &code) == -1 && !strcmp(code, "NO_HOSTS_AVAILABLE"),
	   "huge anywhere");
	ok(sim_vm_destroy(w, SIM_GET(w, SIM_HOST, sim_host, 0)->control_domain, &code) == -1 &&
		   !strcmp(code, "OPERATION_NOT_ALLOWED"),
	   "dom0 cannot be destroyed");
	sim_world_free(&w);
}

static void test_master(void)
{
	struct sim_world *w = world(2, 3, 0, 4);
	const struct sim_pool *p0 = SIM_GET(w, SIM_POOL, sim_pool, 0);
	int h1 = p0->hosts[1];
	const char *code = NULL;
	uint64_t g = w->generation;

	ok(sim_pool_set_master(w, 0, SIM_GET(w, SIM_POOL, sim_pool, 1)->hosts[0], &code) == -1 &&
		   !strcmp(code, "HANDLE_INVALID"),
	   "a host of another pool");
	sim_host_set_live(w, h1, false, NULL);
	g = w->generation;
	ok(sim_pool_set_master(w, 0, h1, &code) == -1 && !strcmp(code, "HOST_OFFLINE"),
	   "an offline host");
	sim_host_set_live(w, h1, true, NULL);
	g = w->generation;
	ok(sim_pool_set_master(w, 0, h1, &code) == 0 && p0->master == h1, "new master");
	ok(w->generation == g + 1 && sim_world_event_at(w, g + 1)->cls == SIM_POOL &&
		   sim_world_event_at(w, g + 1)->index == 0,
	   "pool mod");
	ok(sim_pool_set_master(w, 0, h1, &code) == 0 && w->generation == g + 1, "already master");
	sim_world_free(&w);
}

static void test_event_log(void)
{
	struct sim_world *w = world(1, 1, 1, 2);
	const struct sim_event *e;
	bool ordered = true;

	ok(w->generation == 1 && w->nevents == 0 && w->oldest_kept == 2, "starts empty at 1");
	ok(!sim_world_event_at(w, 1) && !sim_world_event_at(w, 0) && !sim_world_event_at(w, 2),
	   "nothing logged");
	sim_world_event(w, SIM_VM, 1, SIM_EV_MOD);
	e = sim_world_event_at(w, 2);
	ok(e && e->id == 2 && e->cls == SIM_VM && e->index == 1 && e->op == SIM_EV_MOD &&
		   w->oldest_kept == 2 && w->nevents == 1,
	   "first event is generation 2");
	ok(SIM_GET(w, SIM_VM, sim_vm, 1)->o.gen_modified == 2, "object stamped");
	for (int i = 0; i < SIM_EVENT_LOG_CAP + 4; i++)
		sim_world_event(w, SIM_HOST, i % 3 == 0 ? 0 : 5, SIM_EV_MOD);
	ok(w->nevents == SIM_EVENT_LOG_CAP, "ring full: %zu", w->nevents);
	ok(w->generation == 2 + SIM_EVENT_LOG_CAP + 4, "generation %llu",
	   (unsigned long long)w->generation);
	ok(w->oldest_kept == w->generation - SIM_EVENT_LOG_CAP + 1, "oldest kept %llu",
	   (unsigned long long)w->oldest_kept);
	ok(!sim_world_event_at(w, w->oldest_kept - 1), "older ones are lost");
	ok(!sim_world_event_at(w, 2), "the first one is lost");
	ok(!sim_world_event_at(w, w->generation + 1), "none from the future");
	for (uint64_t id = w->oldest_kept; id <= w->generation; id++) {
		e = sim_world_event_at(w, id);
		ordered = ordered && e && e->id == id && e->cls == SIM_HOST;
	}
	ok(ordered, "every kept event answers with its own id");
	ok(SIM_GET(w, SIM_HOST, sim_host, 0)->o.gen_modified <= w->generation &&
		   SIM_GET(w, SIM_HOST, sim_host, 0)->o.gen_modified >= w->generation - 3,
	   "host stamped recently");
	sim_world_event(w, SIM_VM, 99999, SIM_EV_ADD);
	ok(sim_world_event_at(w, w->generation)->index == 99999, "events on unknown indexes log");
	sim_world_free(&w);
}

/* Whether every host's resident list is the VMs with resident_on == it, ascending. */
static bool residents_match(const struct sim_world *w)
{
	for (size_t h = 0; h < sim_world_count(w, SIM_HOST); h++) {
		const struct sim_host *host = SIM_GET(w, SIM_HOST, sim_host, (int)h);
		size_t k = 0;

		for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
			const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);

			if (vm->resident_on != (int)h)
				continue;
			if (k >= host->nresident || host->resident[k] != (int)i)
				return false;
			k++;
		}
		if (k != host->nresident)
			return false;
	}
	return true;
}

/* The per-host resident lists follow start, stop, migrate, create + start. */
static void test_resident_lists(void)
{
	struct sim_world *w = world(2, 3, 4, 5);
	int other = -1, vm = running_guest(w, &other), home, fresh = -1;
	const struct sim_host *h;

	fail_unless(vm >= 0, "a running guest with shared disks");
	ok(residents_match(w), "as generated: dom0 and the running guests");
	h = SIM_GET(w, SIM_HOST, sim_host, 0);
	ok(h->nresident >= 1 && h->resident[0] == h->control_domain, "dom0 listed first");
	home = SIM_GET(w, SIM_VM, sim_vm, vm)->resident_on;
	ok(sim_vm_migrate(w, vm, other, NULL) == 0 && residents_match(w), "after a migration");
	ok(sim_vm_migrate(w, vm, other, NULL) == 0 && residents_match(w),
	   "after a localhost migration");
	ok(sim_vm_stop(w, vm, NULL) == 0 && residents_match(w), "after a stop");
	ok(sim_vm_start(w, vm, home, NULL) == 0 && residents_match(w), "after a start");
	ok(sim_vm_create(w, 0, "fresh", &fresh, NULL) == 0 && residents_match(w), "created: halted");
	ok(sim_vm_add_vbd(w, fresh, NULL, NULL) == 0 && sim_vm_start(w, fresh, home, NULL) == 0 &&
		   residents_match(w),
	   "a new VM started: listed last (highest index)");
	ok(sim_vm_stop(w, fresh, NULL) == 0 && sim_vm_destroy(w, fresh, NULL) == 0 &&
		   residents_match(w),
	   "stopped and destroyed");
	sim_world_free(&w);
}

int main(void)
{
	TEST_RUN(test_counts);
	TEST_RUN(test_hosts);
	TEST_RUN(test_determinism);
	TEST_RUN(test_lookup);
	TEST_RUN(test_stop_start_migrate);
	TEST_RUN(test_refusals);
	TEST_RUN(test_local_disks);
	TEST_RUN(test_create_destroy);
	TEST_RUN(test_master);
	TEST_RUN(test_event_log);
	TEST_RUN(test_resident_lists);
	return test_summary();
}
