/*
 * topology.h - what one pool looks like, kept from XAPI records (SPEC §4.3):
 * the pool, hosts (with their metrics), VMs (with metrics and guest
 * metrics), SRs, and the names data sources need: VIF device → network,
 * VBD device → VDI and SR, PIF device → network (bonds, VLANs), and the
 * 8-character SR uuid prefix that host data-source names carry → SR, with
 * collisions detected and reported, never guessed.
 *
 * Fed by get_all_records maps and by event.from snapshots (add/mod replace a
 * record, del removes it); it never talks to the network. Records are
 * copied: strings the topology returns are owned by it and valid until the
 * object changes or is removed. Unknown fields are ignored, missing ones take
 * neutral values ("" / 0 / false), a record of the wrong shape is an error
 * naming the class, ref and field, and leaves the old record in place.
 * Links (host → host_metrics, VBD → VDI → SR, ...) are refs resolved at
 * query time, so records may arrive in any order; the derived fields of a
 * host or VM struct (live, memory_total, vcpus, guest_tools) are resolved
 * when a lookup returns it: look it up again after a change.
 * Single-threaded; one struct xs_topo per pool.
 */
#ifndef XS_XAPI_TOPOLOGY_H
#define XS_XAPI_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "xapi/rpc_value.h"

/* Bounds on what one record may cost (remote-driven sizes, STYLE.md §14). */
#define XS_TOPO_MAX_STR 4096             /* bytes kept of a string field; longer ones are cut
					  * (on a UTF-8 boundary); a longer ref is refused */
#define XS_TOPO_MAX_TAGS 64              /* VM tags kept; the rest are dropped */
#define XS_TOPO_MAX_OBJECTS (1u << 20)   /* objects per class; more is XS_ERR_TOO_LARGE */

enum xs_topo_class {
	XS_TOPO_POOL, XS_TOPO_HOST, XS_TOPO_HOST_METRICS, XS_TOPO_VM, XS_TOPO_VM_METRICS,
	XS_TOPO_VM_GUEST_METRICS, XS_TOPO_SR, XS_TOPO_PBD, XS_TOPO_VDI, XS_TOPO_VBD, XS_TOPO_VIF,
	XS_TOPO_PIF, XS_TOPO_NETWORK, XS_TOPO_NCLASSES
};

enum xs_power { XS_POWER_HALTED, XS_POWER_RUNNING, XS_POWER_PAUSED, XS_POWER_SUSPENDED,
		XS_POWER_UNKNOWN };

struct xs_topo_pool {
	const char *ref, *uuid, *name;
	const char *master;          /* host ref */
};

struct xs_topo_host {
	const char *ref, *uuid, *name, *hostname;
	const char *address;         /* management IP: where its HTTP endpoints are */
	int cpus;                    /* host_CPUs count */
	uint64_t memory_total;       /* bytes, from host_metrics ("" → 0) */
	bool enabled, live;          /* live from host_metrics */
	const char *control_domain;  /* VM ref, "" on old xapi (then: the resident dom0) */
	const char *product_version; /* software_version["product_version"], "" if none */
};

struct xs_topo_vm {
	const char *ref, *uuid, *name;
	enum xs_power power;
	const char *resident_on;     /* host ref, "" when none (OpaqueRef:NULL) */
	bool is_control_domain, is_template, is_snapshot;
	int vcpus;                   /* VCPUs_at_startup (VM_metrics VCPUs_number when running) */
	uint64_t memory_static_max, memory_dynamic_min, memory_dynamic_max, memory_target;
	const char *const *tags;     /* ntags strings */
	size_t ntags;
	bool guest_tools;            /* guest_metrics is a real ref to a known record */
	int64_t domid;               /* -1 when halted */
};

struct xs_topo_sr {
	const char *ref, *uuid, *name, *type;
	bool shared;
};

/* The SR an 8-character uuid prefix names (host data sources "..._<sr8>"). */
enum xs_topo_match { XS_TOPO_NONE, XS_TOPO_ONE, XS_TOPO_AMBIGUOUS };

struct xs_topo;

struct xs_topo *xs_topo_new(void);
void xs_topo_free(struct xs_topo **t);

/* Class of a XAPI class name, case-insensitive ("VM", "vm", "host_metrics"...); false if unknown. */
bool xs_topo_class_of(const char *name, enum xs_topo_class *c);

/* XAPI's spelling of the class ("VM", "host_metrics", "network"), "?" if out of range. */
const char *xs_topo_class_name(enum xs_topo_class c);

/* Adds or replaces the record of ref. err: "VM OpaqueRef:..: field power_state: ..." */
enum xs_err xs_topo_apply(struct xs_topo *t, enum xs_topo_class c, const char *ref,
			  const struct xs_rpc_value *record, char *err);
/* Errors: XS_ERR_PARSE (wrong shape), XS_ERR_ARG (no ref, OpaqueRef:NULL, bad class),
 * XS_ERR_TOO_LARGE (ref over XS_TOPO_MAX_STR, class over XS_TOPO_MAX_OBJECTS). err may be NULL. */
/* Removes ref (unknown refs are ignored). */
void xs_topo_remove(struct xs_topo *t, enum xs_topo_class c, const char *ref);
/* Replaces every object of class c by the records of a get_all_records map (ref → record).
 * On error nothing of c changes. */
enum xs_err xs_topo_load_all(struct xs_topo *t, enum xs_topo_class c,
			     const struct xs_rpc_value *map, char *err);

/* Bumped by every change: a consumer compares it to know something moved. A record
 * re-applied with only fields the topology does not keep changed is no change. */
uint64_t xs_topo_version(const struct xs_topo *t);

size_t xs_topo_count(const struct xs_topo *t, enum xs_topo_class c);
/* The i-th object (0..count-1) of each kind, in a stable order (by uuid), or NULL. */
const struct xs_topo_pool *xs_topo_pool(const struct xs_topo *t); /* NULL before it is known */
const struct xs_topo_host *xs_topo_host_at(const struct xs_topo *t, size_t i);
const struct xs_topo_vm *xs_topo_vm_at(const struct xs_topo *t, size_t i);
const struct xs_topo_sr *xs_topo_sr_at(const struct xs_topo *t, size_t i);

const struct xs_topo_host *xs_topo_host_by_ref(const struct xs_topo *t, const char *ref);
const struct xs_topo_host *xs_topo_host_by_uuid(const struct xs_topo *t, const char *uuid);
const struct xs_topo_vm *xs_topo_vm_by_ref(const struct xs_topo *t, const char *ref);
const struct xs_topo_vm *xs_topo_vm_by_uuid(const struct xs_topo *t, const char *uuid);
const struct xs_topo_sr *xs_topo_sr_by_ref(const struct xs_topo *t, const char *ref);
const struct xs_topo_sr *xs_topo_sr_by_uuid(const struct xs_topo *t, const char *uuid);

/* The control domain of host (its control_domain field, else the resident dom0), or NULL. */
const struct xs_topo_vm *xs_topo_host_dom0(const struct xs_topo *t, const struct xs_topo_host *h);

/* Names data sources need ("" when unknown). */
/* vif_<device>: the network name_label of VM vm_uuid's VIF on device. */
const char *xs_topo_vif_network(const struct xs_topo *t, const char *vm_uuid, const char *device);
/* vbd_<device>: the VDI name and the SR of VM vm_uuid's VBD on device (sr may be NULL). */
const char *xs_topo_vbd_vdi(const struct xs_topo *t, const char *vm_uuid, const char *device,
			    const struct xs_topo_sr **sr);
/* pif_<device> on host: its network name (bonds: the bond's network; VLANs: device "eth0.100"). */
const char *xs_topo_pif_network(const struct xs_topo *t, const char *host_uuid,
				const char *device);
/* Whether a PBD links sr and host h (the hosts whose per-SR data sources count for sr). */
bool xs_topo_sr_on_host(const struct xs_topo *t, const struct xs_topo_sr *sr,
			const struct xs_topo_host *h);
/* The SR whose uuid starts with prefix8 (exactly 8 characters, else XS_TOPO_NONE);
 * XS_TOPO_AMBIGUOUS when several do (*sr = NULL). sr may be NULL. */
enum xs_topo_match xs_topo_sr_by_prefix(const struct xs_topo *t, const char *prefix8,
					const struct xs_topo_sr **sr);
/* Calls cb for every 8-character prefix that names more than one SR (for reports). */
void xs_topo_sr_collisions(const struct xs_topo *t,
			   void (*cb)(void *arg, const char *prefix8, size_t nsrs), void *arg);

#endif
