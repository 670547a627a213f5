/*
 * top.h - the top N VMs or hosts of an estate by CPU, memory, network or disk
 * "now" (docs/API.md "## Top").
 *
 * "Now" is each object's newest 5 s sample (xs_store_latest()); objects whose
 * newest sample is more than XS_TOP_STALE seconds behind their host's clock are
 * left out (halted VMs, hosts down). A host's clock is its newest row plus our
 * time since that fetch (e->status); an object without a host the collector has
 * a row of (a halted VM) is compared with the newest sample of that metric of
 * all objects considered instead. VMs are those of
 * the topologies: templates, snapshots and control domains are not ranked.
 */
#ifndef XS_QUERY_TOP_H
#define XS_QUERY_TOP_H

#include "lib/buf.h"
#include "lib/err.h"
#include "query/estate.h"

#define XS_TOP_DEFAULT_N 10  /* items when n is 0 */
#define XS_TOP_MAX_N 1000    /* the most items asked for */
#define XS_TOP_STALE 60      /* seconds behind the newest sample that still count as now */
#define XS_TOP_METRICS 4     /* cpu, memory, network, disk (xs_top_metric_name) */

/*
 * Appends to out {"kind", "metric", "unit", "time", "items": [{"uuid", "name",
 * "pool", "host", "value"}, ...]}, items by value, largest first.
 *   kind    "vm" | "host"
 *   metric  "cpu" (%) | "memory" (used bytes) | "network" (rx + tx bytes/s)
 *           | "disk" (read + write bytes/s)
 *   n       1..XS_TOP_MAX_N, 0 = XS_TOP_DEFAULT_N
 *   pool    a pool uuid to rank only its objects, NULL or "" for all
 * Errors: XS_ERR_ARG naming "kind", "metric", "n" or "pool" (not a uuid);
 * XS_QUERY_NOT_FOUND (xo_stats.h) for a pool no topology knows;
 * XS_ERR_TOO_LARGE past out's limit. err: XS_ERR_LEN bytes of detail.
 */
enum xs_err xs_query_top(const struct xs_estate *e, const char *kind, const char *metric, long n,
			 const char *pool, struct xs_buf *out, char *err)
	__attribute__((warn_unused_result));

/*
 * Several metrics of one question at once, in one pass over the objects (the
 * web UI asks a kind's four together): for every m with outs[m] not NULL,
 * appends to outs[m] what xs_query_top(e, kind, xs_top_metric_name(m), n,
 * pool, outs[m], err) would. Each object's series are walked once for all of
 * them. Errors as xs_query_top's, for all of them; after one, what outs hold is
 * unspecified. Every outs[m] NULL: XS_OK, nothing done.
 */
enum xs_err xs_query_top_each(const struct xs_estate *e, const char *kind, long n,
			      const char *pool, struct xs_buf *const outs[XS_TOP_METRICS], char *err)
	__attribute__((warn_unused_result));

/* Metric m's name (0 <= m < XS_TOP_METRICS: "cpu", "memory", "network", "disk"), else NULL. */
const char *xs_top_metric_name(size_t m);

/* The m whose name is name, or -1. */
int xs_top_metric_index(const char *name);

/* The XS_ERR_ARG checks of xs_query_top() alone (no estate needed): XS_OK when the
 * question is well formed, whether or not its pool exists. */
enum xs_err xs_query_top_check(const char *kind, const char *metric, long n, const char *pool,
			       char *err) __attribute__((warn_unused_result));

#endif
