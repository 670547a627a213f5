/*
 * topology_int.h - private to src/xapi/topology*.c: the object every XAPI
 * record becomes, and the record parser shared by topology.c (the store,
 * its hash indexes and the queries) and topology_record.c (field tables,
 * parsing, equality).
 *
 * Invariants: every string of an object lives in its one `strs` block (or is
 * the static ""), so freeing an object is three free() calls; an object's
 * fields are only written by the parser, except the derived fields of the
 * public host / VM structs, which topology.c resolves when they are read.
 */
#ifndef XS_XAPI_TOPOLOGY_INT_H
#define XS_XAPI_TOPOLOGY_INT_H

#include "xapi/topology.h"

/* The indexes an object can be in: by ref, by uuid, by a class-specific key. */
enum { TOPO_IX_REF, TOPO_IX_UUID, TOPO_IX_KEY, TOPO_NIX };

/* Separates the parts of a composite key ("<VM ref>\x1f<device>"). */
#define TOPO_KEY_SEP '\x1f'

struct topo_host {
	struct xs_topo_host pub;
	const char *metrics;         /* host_metrics ref, "" if none */
};

struct topo_vm {
	struct xs_topo_vm pub;
	const char *metrics;         /* VM_metrics ref */
	const char *guest_metrics;   /* VM_guest_metrics ref */
	int vcpus_at_startup;
};

struct topo_host_metrics {
	bool live;
	uint64_t memory_total;
};

struct topo_vm_metrics {
	int vcpus;                   /* VCPUs_number */
	uint64_t memory_actual;
};

struct topo_pbd {
	const char *host, *sr;       /* refs */
	bool attached;               /* currently_attached */
};

struct topo_vdi {
	const char *name, *sr;       /* name_label, SR ref */
};

struct topo_vbd {
	const char *vm, *vdi;        /* refs ("" for an empty CD drive) */
	const char *device;          /* "xvda"; "" until plugged once */
};

struct topo_vif {
	const char *vm, *network;    /* refs */
	const char *device;          /* "0" */
};

struct topo_pif {
	const char *host, *network;  /* refs */
	const char *device;          /* "eth0", "bond0" */
	int64_t vlan;                /* -1: not a VLAN */
};

struct topo_network {
	const char *name, *bridge;
};

struct topo_obj {
	enum xs_topo_class cls;
	const char *ref, *uuid;             /* in strs (uuid "" when the record has none) */
	char *strs;                         /* every string of the object, one block */
	const char **tagv;                  /* VM tags (texts in strs), NULL when none */
	char *keymem;                       /* the KEY index key when it had to be built */
	const char *ixkey[TOPO_NIX];        /* key in each index, NULL: not in it */
	uint64_t ixhash[TOPO_NIX];          /* hash of ixkey */
	struct topo_obj *ixnext[TOPO_NIX];  /* next in the index's bucket chain */
	uint64_t epoch;                     /* topology version the derived fields were resolved at */
	union {
		struct xs_topo_pool pool;
		struct topo_host host;
		struct topo_host_metrics hm;
		struct topo_vm vm;
		struct topo_vm_metrics vmm;
		struct xs_topo_sr sr;
		struct topo_pbd pbd;
		struct topo_vdi vdi;
		struct topo_vbd vbd;
		struct topo_vif vif;
		struct topo_pif pif;
		struct topo_network net;
	} u;
};

/*
 * Parses record (of ref, class c) into a new object, its KEY index key
 * included. On error returns it with err "VM <ref>: field f: ..." and *out =
 * NULL. The caller owns *out (topo_obj_free).
 */
enum xs_err topo_record_parse(enum xs_topo_class c, const char *ref,
			      const struct xs_rpc_value *record, struct topo_obj **out, char *err);
/* True when a and b (same class) hold the same record fields (derived ones aside). */
bool topo_obj_equal(const struct topo_obj *a, const struct topo_obj *b);
/* Frees o (NULL accepted). */
void topo_obj_free(struct topo_obj *o);

#endif
