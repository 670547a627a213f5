/*
 * objects.h - the body of GET /api/v1/objects: every pool, host, VM and SR the
 * estate knows, with names, uuids, relations, power state, tags and per-host
 * collection status (docs/API.md, "## Objects").
 *
 *   {"pools":[{"uuid","name","name_label","master","connected"}],
 *    "hosts":[{"uuid","name","pool","address","live","enabled","cpus","memory",
 *              "collection":{"state","health","last_success","last_error","latency","lag"}|null,
 *              "pifs":[{"device","network"}]}],
 *    "vms":[{"uuid","name","pool","host","power_state","tags","vcpus","memory",
 *            "guest_tools","is_control_domain",
 *            "vifs":[{"device","network"}],"vbds":[{"device","vdi","sr"}]}],
 *    "srs":[{"uuid","name","type","shared","pool","hosts":[...]}]}
 *
 * "pool" fields are pool uuids; "name" of a pool is its configured name (the
 * one /metrics and /status use), "name_label" XAPI's. Templates and snapshots
 * are left out; control domains are included with is_control_domain true.
 * Objects come in the topology's order (by uuid) within each pool, pools in
 * configuration order. A pool never loaded appears with uuid null and
 * "connected": false, and contributes no other object; a duplicate (estate.h:
 * another configured pool collects the same pool) is left out.
 *
 * vifs, vbds and pifs list the devices the object's stored series name
 * (vif_<N>_..., vbd_<dev>_..., pif_<dev>_... but pif_aggr_*; device rules as
 * query/series_map.h), each once, in natural order (xs_smap_dev_cmp); names
 * come from the topology: network name_label, VDI name_label, SR uuid ("" or
 * null when the topology does not know them). No store: empty arrays.
 */
#ifndef XS_QUERY_OBJECTS_H
#define XS_QUERY_OBJECTS_H

#include "lib/buf.h"
#include "lib/err.h"
#include "query/estate.h"

/*
 * Appends the objects JSON to out (caller-owned, initialised with its cap).
 * Returns XS_OK, or XS_ERR_TOO_LARGE (out freed, per xs_buf) with err
 * (XS_ERR_LEN bytes) set. Reads the topologies, e->status and the store's index
 * of series by object (e->store may be NULL).
 */
enum xs_err xs_query_objects(const struct xs_estate *e, struct xs_buf *out, char *err)
	__attribute__((warn_unused_result));

#endif
