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
	unsigned http500;          /* the next N HTTP requests get 500 */
	unsigned truncate;         /* the next N RRD bodies are cut in half */
	unsigned malformed;        /* the next N RRD bodies are garbage */
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
	int *pifs;                  /* PIF indexes */
	size_t npifs;
	struct sim_host_faults faults;
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
	bool guest_tools;           /* reports memory_internal_free */
	int vcpus;
	uint64_t memory_static_max, memory_dynamic_max, memory_dynamic_min, memory_target;
	char tags[SIM_MAX_TAGS][SIM_NAME_LEN];
	size_t ntags;
	int metrics;                /* VM_metrics index */
	int guest_metrics;          /* VM_guest_metrics index, -1 without tools */
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
	char device[16];            /* "eth0", "bond0", "eth1.100"... */
	bool is_bond;               /* a bond master over two ethN */
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
	enum { SIM_EV_ADD, SIM_EV_MOD, SIM_EV_DEL } op;
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
	uint64_t generation;                 /* id of the newest event */
	uint64_t oldest_kept;                /* id of the oldest event still in the ring */
};

/* Sizes of the estate to generate. */
struct sim_world_params {
	int pools, hosts_per_pool, vms_per_host;
	uint64_t seed;
	uint8_t addr_base;                  /* second octet of host addresses: 127.<base>.x.y */
};

/* Generates the estate. Aborts on out-of-memory. */
struct sim_world *sim_world_new(const struct sim_world_params *p);
void sim_world_free(struct sim_world **w);

/* Typed access; NULL if out of range. Deleted objects are returned (check o.deleted). */
#define SIM_GET(w, C, type, i) ((struct type *)sim_world_get((w), (C), (i)))
void *sim_world_get(const struct sim_world *w, enum sim_class c, int index);
size_t sim_world_count(const struct sim_world *w, enum sim_class c);

/* Looks an object up by ref or uuid; NULL if unknown or deleted. */
struct sim_obj *sim_world_by_ref(const struct sim_world *w, const char *ref);
struct sim_obj *sim_world_by_uuid(const struct sim_world *w, enum sim_class c, const char *uuid);

/* Records an event on an object (bumps the generation). */
void sim_world_event(struct sim_world *w, enum sim_class c, int index, int op);

/* Lifecycle, each recording the events XAPI would (vm mod, vm_metrics mod, ...).
 * Return 0, or -1 with a XAPI error code in *code (static string, e.g.
 * "VM_BAD_POWER_STATE", "HOST_OFFLINE"). */
int sim_vm_start(struct sim_world *w, int vm, int host, const char **code);
int sim_vm_stop(struct sim_world *w, int vm, const char **code);
int sim_vm_migrate(struct sim_world *w, int vm, int host, const char **code);
int sim_vm_create(struct sim_world *w, int pool, const char *name, int *vm, const char **code);
int sim_vm_destroy(struct sim_world *w, int vm, const char **code);
int sim_vm_add_vif(struct sim_world *w, int vm, int *vif, const char **code);
int sim_vm_add_vbd(struct sim_world *w, int vm, int *vbd, const char **code);
int sim_host_set_live(struct sim_world *w, int host, bool live, const char **code);
int sim_pool_set_master(struct sim_world *w, int pool, int host, const char **code);

#endif
