/*
 * prom_classify.h - what a data source becomes in /metrics (prom.c): its rule
 * (which labels its device gets), its family stem, where the device is in its
 * name, the unit's factor to base units and its name suffix, and the family
 * name these make. Pure functions of (kind, DS name, unit): prom.c calls them
 * once per distinct DS name, not per series. The names and labels they give
 * are documented in docs/API.md ("## /metrics").
 */
#ifndef XS_QUERY_PROM_CLASSIFY_H
#define XS_QUERY_PROM_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define PROM_NAME_MAX 512 /* bytes of a family name (DS names are at most 256) */
#define PROM_SR8 8        /* the SR uuid prefix of per-SR host data sources */

/* How a DS name turns into family and labels. */
enum prom_rule {
	PROM_GENERIC,      /* xapistat_<kind>_<ds>_<unit>, object labels only */
	PROM_VM_VCPU,      /* cpuN → vcpu="N" */
	PROM_VM_VIF,       /* vif_N_rx... → vif="N", network */
	PROM_VM_VBD,       /* vbd_D_read... → device, vdi, sr, sr_uuid */
	PROM_HOST_CPU,     /* cpuN, CPUN-avg-freq → cpu="N" */
	PROM_HOST_CSTATE,  /* cpuN-CK / -PK → cpu="N", state="CK" */
	PROM_HOST_PIF,     /* pif_D_rx... → device, network */
	PROM_HOST_SR,      /* read_<sr8>..., sr_<uuid>_cache_* → sr, sr_uuid */
	PROM_HOST_STATEFILE, /* statefile/<vdi uuid>/latency (HA) → vdi_uuid */
};

struct prom_class {
	enum prom_rule rule;
	const char *stem;          /* family stem after "xapistat_<kind>_"; NULL: generic */
	uint16_t dev_off, dev_len; /* the device part of the DS name */
	uint16_t aux_off, aux_len; /* C-/P-state */
};

struct prom_unit {
	const char *unit, *suffix; /* as stored (collect/units.c), metric-name suffix */
	double factor;             /* to base units */
};

/* Classifies DS name ds (n bytes) of an object of kind into *cl. */
void prom_classify(enum xs_obj_kind kind, const char *ds, size_t n, struct prom_class *cl);

/* The table's entry of unit as the collector stores it (collect/units.c); NULL: none. */
const struct prom_unit *prom_unit_known(const char *unit);

/* "xapistat_<kind>_<stem or sanitised ds><unit suffix>" into name (PROM_NAME_MAX
 * bytes); its length. */
size_t prom_family_name(char *name, enum xs_obj_kind kind, const struct prom_class *cl,
			const char *ds, size_t n, const struct prom_unit *u);

#endif
