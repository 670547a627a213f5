/*
 * estate.h - what the query layer reads: the store and, per pool, its name and
 * topology, plus the collector's per-host status. A plain view the daemon fills
 * before each request (nothing here is owned: every pointer belongs to the
 * daemon and stays valid for the duration of one call).
 *
 * Series in the store are named as the collector names them (collect/collector.h):
 * kind XS_OBJ_HOST / XS_OBJ_VM / XS_OBJ_SR, the object's uuid, and the data-source
 * name exactly as the host's legend has it ("cpu0", "memory_internal_free",
 * "vif_0_rx", "iops_read_3f2a9b1c", ...), in the host's units (collect/units.h).
 * Per-SR host data sources (iops_*_<sr8>, io_throughput_*_<sr8>, latency_<sr8>,
 * iowait_<sr8>) are stored under the HOST that served them.
 * Times are host unix seconds; a rollup point's t is its period's START.
 *
 * Read under the daemon's lock by one thread at a time: the API's, or the
 * collector's for a deferred top-N (serve/api.h), whose yield lets the API's
 * thread read the same view meanwhile.
 */
#ifndef XS_QUERY_ESTATE_H
#define XS_QUERY_ESTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "collect/collector.h"
#include "store/store.h"
#include "xapi/topology.h"

struct xs_estate_pool {
	const char *name;              /* the configured pool name */
	const struct xs_topo *topo;    /* NULL until the pool's first load, and for a duplicate */
	const char *error;             /* what is wrong with the pool's session (its last attempt
					* failed, or it is a duplicate), NULL if nothing */
	bool duplicate;                /* another configured pool collects the same pool (error
					* says which): only the status lists this one */
};

struct xs_estate {
	struct xs_store *store;
	const struct xs_estate_pool *pools;
	size_t npools;
	const struct xs_collect_host_status *status; /* one per collected host */
	size_t nstatus;
	double now;                    /* our clock, unix seconds */
	/* Optional: a query over every VM or host (top-N) calls yield(yield_arg) once
	 * every XS_ESTATE_YIELD_EVERY objects it visits, counted over all pools and
	 * both of its passes (values; then, of those with a value, freshness); the daemon may
	 * let other readers of this view run meanwhile, never a writer (nothing here
	 * changes across it). */
	void (*yield)(void *yield_arg);
	void *yield_arg;
};

#define XS_ESTATE_YIELD_EVERY 256

enum xs_estate_kind { XS_ESTATE_NONE, XS_ESTATE_POOL, XS_ESTATE_HOST, XS_ESTATE_VM,
		      XS_ESTATE_SR };

/* Which pool knows uuid and as what (pool uuid, host, VM or SR); XS_ESTATE_NONE if none.
 * *pool (may be NULL) is set to the pool's index. */
enum xs_estate_kind xs_estate_find(const struct xs_estate *e, const char *uuid, size_t *pool);

#endif
