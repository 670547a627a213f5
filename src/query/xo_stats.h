/*
 * xo_stats.h - statistics of one VM, host, SR or pool in Xen Orchestra's reply
 * shape (../shared/xapi/XO-STATS.md; docs/API.md "## Stats"), from the store
 * and the topologies of an estate.
 *
 * Two kinds of request:
 *   granularity  seconds | minutes | hours | days: XO's step x point count
 *                (5 x 120, 60 x 120, 3600 x 168, 86400 x 366), the window
 *                ending at the object's newest point of that tier (in a
 *                pool's reply, a host that has stopped answering by the
 *                collector's status ends at its own clock's now instead);
 *                always exactly that many points, null-padded at the old end.
 *   range        from..to (unix seconds, host clock) with a point budget: the
 *                finest tier that keeps `from` (retention) and needs at most
 *                `points` points, or a coarser one when only that holds data in
 *                the range's first half (a young store; not for a pool's hosts);
 *                rollup tiers add "statsMin"/"statsMax".
 * On the 1 min / 1 h / 1 d tiers the period in progress is the newest point
 * (the average of the 5 s samples so far; xs_store_read_partial()).
 *
 * Errors: XS_ERR_ARG for a bad parameter (err starts with its name: "kind:",
 * "uuid:", "granularity:", "from:", "to:", "points:"), and for a reply that
 * would pass out's limit (the client asked for too much: err starts with
 * "points:" for a range, "granularity:" otherwise); XS_QUERY_NOT_FOUND for an
 * object no topology knows and the store has no series of. On any error
 * nothing useful is in out.
 */
#ifndef XS_QUERY_XO_STATS_H
#define XS_QUERY_XO_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "query/estate.h"

/*
 * lib/err.h has no "not found" code yet: until the lead adds XS_ERR_NOT_FOUND,
 * the query layer returns this (a code nothing else in a query returns) and
 * the HTTP layer maps it to 404. Switch this one line when err.h gains it.
 */
#define XS_QUERY_NOT_FOUND XS_ERR_ABORTED

#define XS_STATS_DEFAULT_POINTS 1000 /* range requests' point budget when none is given */
#define XS_STATS_MAX_POINTS 10000    /* the largest budget accepted */

enum xs_stats_granularity {
	XS_STATS_RANGE,    /* use from, to and points */
	XS_STATS_SECONDS,  /* 5 s x 120 */
	XS_STATS_MINUTES,  /* 60 s x 120 */
	XS_STATS_HOURS,    /* 3600 s x 168 */
	XS_STATS_DAYS,     /* 86400 s x 366 */
};

/* Zero-fill, then set; zero fields take the defaults named. */
struct xs_stats_request {
	enum xs_stats_granularity granularity;
	int64_t from, to;              /* range: unix seconds, from <= to */
	unsigned points;               /* range: budget, 1..XS_STATS_MAX_POINTS (0 = default) */
	int64_t retention[XS_NTIERS];  /* seconds each tier keeps (0 = xs_tier_default_retention) */
	bool no_partial;               /* leave out the period in progress */
	bool at_5s;                    /* range: the 5 s tier whatever the span and age, no
					* coarser tier for a young store (the stream's new rows) */
};

/* "seconds" | "minutes" | "hours" | "days" -> *g; XS_ERR_ARG naming "granularity" otherwise. */
enum xs_err xs_stats_granularity_parse(const char *s, enum xs_stats_granularity *g, char *err);

/*
 * The stats reply of object uuid of kind ("vms" | "hosts" | "srs" | "pools")
 * appended to out (JSON, see docs/API.md):
 *   VM, host, SR: {"endTimestamp": N, "interval": N, "stats": {...}
 *                  [, "statsMin": {...}, "statsMax": {...}]}
 *   pool:         {"<host uuid>": <host reply> | {"error": "..."}, ...}
 * A VM or host the topologies no longer know is served from its stored series.
 * err (XS_ERR_LEN bytes) gets the detail of an error.
 */
enum xs_err xs_query_stats(const struct xs_estate *e, const char *kind, const char *uuid,
			   const struct xs_stats_request *r, struct xs_buf *out, char *err)
	__attribute__((warn_unused_result));

#endif
