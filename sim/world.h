/*
 * world.h - the simulated estate of xapi-sim: pools, hosts, VMs and their
 * devices, as XAPI would hold them, plus the event log that event.from and
 * event.next read.
 *
 * Everything is generated deterministically from a seed (uuids too), so two
 * runs with the same flags describe the same estate. Objects live in arrays
 * and are never freed before the world is: a destroyed object keeps its slot
 * with `deleted` set, so its ref answers HANDLE_INVALID. Indexes into the
 * arrays are stable and are how objects point at each other (-1 = none).
 *
 * Single-threaded: only the event loop touches the world.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_UUID_LEN 37      /* 36 characters and NUL */
#define SIM_REF_LEN 48       /* "OpaqueRef:" + uuid and NUL */
#define SIM_NAME_LEN 64
#define SIM_ADDR_LEN 16      /* "127.255.255.255" and NUL */
#define SIM_MAX_TAGS 4
#define SIM_EVENT_LOG_CAP 10000 /* events kept for event.from; older ones are lost */
#define SIM_VM_MAX_VIFS 7       /* VIF devices "0".."6" (xapi's allowed_VIF_devices) */
#define SIM_VM_MAX_VBDS 16      /* VBD devices "xvda".."xvdp" */

/* The XAPI classes the simulator holds (event.from class names are their lower case). */
enum sim_class {
	SIM_POOL, SIM_HOST, SIM_HOST_METRICS, SIM_VM, SIM_VM_METRICS, SIM_VM_GUEST_METRICS,
	SIM_VIF, SIM_VBD, SIM_VDI, SIM_PIF, SIM_SR, SIM_PBD, SIM_NETWORK, SIM_NCLASSES
};

enum sim_power { SIM_HALTED, SIM_RUNNING, SIM_PAUSED, SIM_SUSPENDED };

/* What every object has. */
struct sim_obj {
	enum sim_class cls;
	int index;                 /* in its class array */
	char uuid[SIM_UUID_LEN];
	char ref[SIM_REF_LEN];     /* "OpaqueRef:<uuid of the ref>" */
	bool deleted;
	uint64_t gen_created;      /* generation that added it (xapi's db __ctime) */
	uint64_t gen_modified;     /* generation of its last event, add/mod/del (__mtime) */
};

struct sim_pool {
	struct sim_obj o;
	char name[SIM_NAME_LEN];
	int master;                /* host index */
	int *hosts;                /* host indexes */
	size_t nhosts;
};

/* Per-host behaviour switched through the control interface (/sim/). */
struct sim_host_faults {
	bool down;                 /* not listening: connections refused */
	unsigned slow_ms;          /* delay before every answer */
	unsigned pace_ms;          /* every answer's body in 4 KiB steps this long apart */
	unsigned http500;          /* the next N HTTP requests get 500 */
	unsigned truncate;         /* the next N RRD bodies are cut in half */
	unsigned malformed;        /* the next N RRD bodies are garbage */
	int64_t spoil_interval;    /* truncate / malformed spoil only /rrd_updates bodies of this
				    * interval (0: every RRD body) */
	int64_t skew;              /* seconds added to this host's clock */
};

struct sim_host {
	struct sim_obj o;
	int pool;
	char name[SIM_NAME_LEN];
	char address[SIM_ADDR_LEN]; /* its own loopback address: host.address */
	int cpus;
	uint64_t memory_total;      /* bytes */
	bool enabled;
	int metrics;                /* host_metrics index */
	int control_domain;         /* VM index of its dom0 */
	int next_domid;             /* domid for the next VM started here (dom0 is 0) */
	int *pifs;                  /* PIF indexes */
	size_t npifs;
	struct sim_host_faults faults;
	int *resident;              /* VMs with resident_on == this host, ascending index;
				     * kept by the lifecycle functions (read only) */
	size_t nresident;
};

struct sim_host_metrics {
	struct sim_obj o;
	int host;
	bool live;
	uint64_t memory_total, memory_free;
};

struct sim_vm {
	struct sim_obj o;
	int pool;
	char name[SIM_NAME_LEN];
	enum sim_power power;
	int resident_on;            /* host index, -1 when halted */
	int affinity;               /* host it starts on */
	bool is_control_domain;
	bool guest_tools;           /* reports memory_internal_free (dom0 too, from /proc) */
	int vcpus;
	uint64_t memory_static_max, memory_dynamic_max, memory_dynamic_min, memory_target;
	char tags[SIM_MAX_TAGS][SIM_NAME_LEN];
	size_t ntags;
	int metrics;                /* VM_metrics index */
	int guest_metrics;          /* VM_guest_metrics index, -1 without tools and for dom0 */
	int *vifs, *vbds;
	size_t nvifs, nvbds;
	int domid;                  /* -1 when halted */
	uint32_t workload_seed;     /* picks its workload shape (idle, busy, bursty...) */
};

struct sim_vm_metrics {
	struct sim_obj o;
	int vm;
	uint64_t memory_actual;
	int vcpus_number;
	double start_time;          /* unix seconds */
};

struct sim_vm_guest_metrics {
	struct sim_obj o;
	int vm;
	char os_version[SIM_NAME_LEN];
};

struct sim_vif {
	struct sim_obj o;
	int vm, network;
	char device[8];             /* "0", "1": vif_<device>_rx */
	char mac[18];
};

struct sim_vdi {
	struct sim_obj o;
	int sr;
	char name[SIM_NAME_LEN];
	uint64_t virtual_size;
};

struct sim_vbd {
	struct sim_obj o;
	int vm, vdi;                /* vdi -1 for an empty CD drive */
	char device[8];             /* "xvda", "hda": vbd_<device>_read */
	bool is_cd;
};

struct sim_network {
	struct sim_obj o;
	int pool;
	char name[SIM_NAME_LEN];
	char bridge[16];
};

struct sim_pif {
	struct sim_obj o;
	int host, network;
	char device[16];            /* "eth0", "bond0"... */
	bool is_bond;               /* a bond master over two ethN */
	int bond_slave_of;          /* PIF index of the bond master it belongs to, -1 */
	bool management;            /* carries host.address */
	int vlan;                   /* -1 when none */
};

struct sim_sr {
	struct sim_obj o;
	int pool;
	char name[SIM_NAME_LEN];
	char type[16];              /* "lvm", "nfs", "ext" */
	bool shared;
	int *pbds;
	size_t npbds;
};

struct sim_pbd {
	struct sim_obj o;
	int host, sr;
	bool attached;
};

/* One entry of the event log (XAPI's "event" record, without the snapshot: that
 * is the object's state when event.from returns). */
struct sim_event {
	uint64_t id;                /* generation, strictly increasing */
	enum sim_class cls;
	int index;
	enum sim_event_op { SIM_EV_ADD, SIM_EV_MOD, SIM_EV_DEL } op;
};

/* A growable array of object pointers of one class. */
struct sim_objs {
	void **items;
	size_t n, cap;
};

struct sim_world {
	uint64_t seed;
	uint64_t rng;                        /* state of the uuid / choice generator */
	struct sim_objs cls[SIM_NCLASSES];   /* every object, by class */
	struct sim_event *events;            /* ring of the last SIM_EVENT_LOG_CAP events */
	size_t nevents;                      /* entries in the ring */
	uint64_t generation;                 /* id of the newest event (1 once generated) */
	uint64_t oldest_kept;                /* id of the oldest event still in the ring;
					      * generation + 1 while the ring is empty */
	double now;                          /* unix seconds; the owner keeps it current
					      * (VM_metrics.start_time of started VMs) */
	struct sim_obj **map_ref, **map_uuid; /* open-addressing indexes of every object */
	size_t map_cap, map_used;
};

/* Sizes of the estate to generate. */
struct sim_world_params {
	int pools, hosts_per_pool, vms_per_host;
	uint64_t seed;
	uint8_t addr_base;                  /* second octet of host addresses: 127.<base>.x.y */
	double now;                         /* unix seconds the estate is generated at */
};

/*
 * Generates the estate. Per pool: the pool, four networks (eth0, eth1, eth2
 * and the bond over eth1+eth2), one shared "nfs" SR; per host: the host, its
 * host_metrics, PIFs eth0 (management), eth1, eth2 and bond0, a local "lvm"
 * SR, PBDs to both SRs, and its control domain (VM + VM_metrics, domid 0);
 * per guest VM: VM_metrics, VM_guest_metrics when it has tools, one or two
 * VIFs, one or two disks (VBD + VDI) and an empty CD drive "xvdd". About one
 * guest in ten is halted. The first host of a pool is its master.
 *
 * Host h of pool p gets 127.<addr_base>.<p+1>.<h+1> when pools and hosts per
 * pool are both at most 254; otherwise host number g (over all pools, from
 * 0) gets 127.<addr_base>.<1 + g / 254>.<1 + g % 254>. Estates with more
 * than 254 * 255 hosts abort. The initial objects carry generation 1 and
 * record no events: the event log starts empty.
 * Aborts on out-of-memory. The caller owns the result (sim_world_free).
 */
struct sim_world *sim_world_new(const struct sim_world_params *p);
/* Frees *w and every object in it, and sets *w to NULL. Accepts NULL. */
void sim_world_free(struct sim_world **w);

/* Lower-case class name as event.from uses it ("vm", "vm_guest_metrics"...). */
const char *sim_class_name(enum sim_class c);
/* XAPI power_state ("Halted", "Running", "Paused", "Suspended"). */
const char *sim_power_name(enum sim_power p);

/* Typed access; NULL if out of range. Deleted objects are returned (check o.deleted). */
#define SIM_GET(w, C, type, i) ((struct type *)sim_world_get((w), (C), (i)))
void *sim_world_get(const struct sim_world *w, enum sim_class c, int index);
size_t sim_world_count(const struct sim_world *w, enum sim_class c);

/* Looks an object up by ref or uuid; NULL if unknown or deleted. */
struct sim_obj *sim_world_by_ref(const struct sim_world *w, const char *ref);
struct sim_obj *sim_world_by_uuid(const struct sim_world *w, enum sim_class c, const char *uuid);

/* Records an event on an object (bumps the generation, stamps the object's
 * gen_modified, and gen_created for SIM_EV_ADD). When the ring holds
 * SIM_EVENT_LOG_CAP events the oldest is dropped. op is an enum sim_event_op. */
void sim_world_event(struct sim_world *w, enum sim_class c, int index, int op);
/* The logged event with generation id, or NULL if it is not (or no longer) kept. */
const struct sim_event *sim_world_event_at(const struct sim_world *w, uint64_t id);

/*
 * Lifecycle, each recording the events XAPI would (vm mod, vm_metrics mod, ...).
 * Return 0, or -1 with a XAPI error code in *code (static string, e.g.
 * "VM_BAD_POWER_STATE", "HOST_OFFLINE"; code may be NULL). Nothing changes on
 * failure. Common codes: HANDLE_INVALID (unknown or deleted object, or a host
 * of another pool), OPERATION_NOT_ALLOWED (on a control domain).
 *
 * start: a Halted VM onto host, or with host -1 onto its affinity, else the
 *   first host of its pool that can take it (NO_HOSTS_AVAILABLE). The host
 *   must be live (HOST_OFFLINE), enabled (HOST_DISABLED), see the SRs of the
 *   VM's disks (VM_REQUIRES_SR) and have memory_target free
 *   (HOST_NOT_ENOUGH_FREE_MEMORY). New domid, start_time = w->now.
 * stop: hard shutdown of a Running, Paused or Suspended VM.
 * migrate: a Running VM to host of its pool (same checks as start; the same
 *   host is a localhost migration). New domid; start_time kept.
 * create: a Halted VM (1 vCPU, 1 GiB) with its VM_metrics, no devices.
 * destroy: a Halted VM with its VM_metrics, guest metrics, VIFs and VBDs (not
 *   its VDIs).
 * add_vif: the lowest free device "0".."6" (INVALID_DEVICE when none left)
 *   on the pool's management network.
 * add_vbd: a new 20 GiB VDI on the pool's shared SR and a disk VBD on the
 *   lowest free device xvda..xvdp (INVALID_DEVICE when none left).
 * vif_destroy / vbd_destroy: unplugs and destroys the device (the VDI stays).
 * host_set_live: host_metrics.live; also sets faults.down to !live.
 * pool_set_master: the new master must be a live host of the pool.
 */
int sim_vm_start(struct sim_world *w, int vm, int host, const char **code);
int sim_vm_stop(struct sim_world *w, int vm, const char **code);
int sim_vm_migrate(struct sim_world *w, int vm, int host, const char **code);
int sim_vm_create(struct sim_world *w, int pool, const char *name, int *vm, const char **code);
int sim_vm_destroy(struct sim_world *w, int vm, const char **code);
int sim_vm_add_vif(struct sim_world *w, int vm, int *vif, const char **code);
int sim_vm_add_vbd(struct sim_world *w, int vm, int *vbd, const char **code);
int sim_vif_destroy(struct sim_world *w, int vif, const char **code);
int sim_vbd_destroy(struct sim_world *w, int vbd, const char **code);
int sim_host_set_live(struct sim_world *w, int host, bool live, const char **code);
int sim_pool_set_master(struct sim_world *w, int pool, int host, const char **code);

#endif
