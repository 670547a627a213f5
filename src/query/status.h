/*
 * status.h - the body of GET /api/v1/status: collection health per pool and
 * per host, and the daemon's own figures (the same as its self-metrics).
 *
 * Health of a collected host (xs_status_host_health), shared with /metrics
 * (xapistat_collector_up is 1 unless the host is down) so every endpoint
 * agrees:
 *   down        state DOWN (not live, no session) or BACKOFF (last attempt failed),
 *               or a last complete fetch older than XS_STATUS_UP_SECONDS;
 *   late        otherwise, when no fetch has completed yet (starting), or the lag
 *               is unknown or over XS_STATUS_LATE_LAG seconds, or the host's clock is
 *               more than that behind the newest row stored from it (set back:
 *               collector.h, ahead);
 *   collecting  otherwise.
 * A host of a pool's topology that the collector does not list counts as down.
 */
#ifndef XS_QUERY_STATUS_H
#define XS_QUERY_STATUS_H

#include "collect/collector.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "query/estate.h"
#include "query/prom.h"

#define XS_STATUS_LATE_LAG 10.0   /* seconds of lag over which a host is late */
#define XS_STATUS_UP_SECONDS 60.0 /* a host with no complete fetch for longer is down */

enum xs_status_health { XS_HEALTH_COLLECTING, XS_HEALTH_LATE, XS_HEALTH_DOWN };

/* The health of host h at time now (unix seconds, our clock). */
enum xs_status_health xs_status_host_health(const struct xs_collect_host_status *h, double now);

/* "collecting", "late", "down". */
const char *xs_status_health_name(enum xs_status_health h);

/* Seconds host h's rows are behind its clock at now (our clock), as far as the status
 * tells: the longer of the time since its last complete fetch and the lag that fetch
 * measured (top-N and /metrics judge staleness by it). */
double xs_status_host_behind(const struct xs_collect_host_status *h, double now);

/* The host's clock offset as the API gives it: seconds to a tenth (measured to ±1 s);
 * NAN until measured. */
double xs_status_clock_offset(const struct xs_collect_host_status *h);

struct xs_json;
/* The host's clock fields of a status or an object's collection: "clock_offset"
 * (xs_status_clock_offset, null until measured) and "ahead" (collector.h). */
void xs_status_clock_fields(struct xs_json *w, const struct xs_collect_host_status *h);

/* e->status indexed by host uuid, for lookups while a body is built. */
struct xs_status_index {
	const struct xs_collect_host_status **by_uuid; /* sorted; owned */
	size_t n;
};

/* Builds the index of e->status (which must outlive it); free with xs_status_index_cleanup(). */
void xs_status_index_init(struct xs_status_index *ix, const struct xs_estate *e);
/* The status of host uuid, or NULL. */
const struct xs_collect_host_status *xs_status_index_find(const struct xs_status_index *ix,
							  const char *uuid);
void xs_status_index_cleanup(struct xs_status_index *ix);

/*
 * Appends the status JSON to out (caller-owned, initialised with its cap):
 *   {"now":..,"daemon":{..self..},"pools":[{"name","uuid","connected","hosts",
 *    "collecting","late","down","error"}],"hosts":[{...per-host status...}]}
 * (docs/API.md "## Status"). self may be NULL ("daemon": null). Returns XS_OK, or
 * XS_ERR_TOO_LARGE (out freed) with err (XS_ERR_LEN bytes) set.
 */
enum xs_err xs_query_status(const struct xs_estate *e, const struct xs_prom_self *self,
			    struct xs_buf *out, char *err) __attribute__((warn_unused_result));

#endif
