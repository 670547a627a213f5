/*
 * prom.h - the body of GET /metrics: Prometheus text exposition format 0.0.4
 * (served as "text/plain; version=0.0.4; charset=utf-8"), no timestamps.
 *
 * What is exported (naming and labels in docs/API.md, "## /metrics"):
 *   - the latest 5 s sample of every series in the store, converted from the
 *     host's units (collect/units.h) to base units (bytes, seconds, ratios),
 *     one gauge family per metric, e.g. xapistat_vm_cpu_usage_ratio,
 *     xapistat_vm_network_receive_bytes_per_second{vif="0",network="..."};
 *     data sources without a specific rule keep a generic name
 *     xapistat_<kind>_<sanitised ds>_<unit>, so nothing is lost;
 *   - per collected host: xapistat_collector_up, _lag_seconds and
 *     _last_success_timestamp_seconds;
 *   - the daemon's own figures (struct xs_prom_self).
 * Skipped: a series whose latest sample is NaN, or older than
 * XS_PROM_STALE_SECONDS on e->now (halted VMs, hosts down: Prometheus marks
 * them stale itself), and every series of an object no pool's topology knows
 * (a deleted VM, any object before its pool's topology is loaded), as
 * docs/API.md says. A host two collectors list (it moved pools) has its
 * collector series once, from the entry fetched last.
 * Two DS names of one object that make the same family and labels ("cpu_usage"
 * and "cpu.usage") are exported once: the first in the store's catalog.
 *
 * Every family's HELP, TYPE and samples are contiguous. Reads the store and
 * the topologies without changing them.
 */
#ifndef XS_QUERY_PROM_H
#define XS_QUERY_PROM_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "query/estate.h"

/*
 * Which series are exported (the latest value of each, no timestamps, so a
 * value kept after its source stopped would be read as current): those of a
 * collected host and its resident VMs whose newest sample is at most
 * XS_PROM_FRESH_GRACE older than the host's newest stored row (host clock; a
 * halted VM, a removed device stop at once) and at most XS_PROM_FUTURE_GRACE
 * past the host's clock now (a VM's series stuck at the clock of a host ahead
 * of this one, which it left: not current), none of a host not fetched for
 * XS_PROM_STALE_SECONDS; the rest (SRs, objects no topology knows, hosts with
 * no row yet) while their newest sample is at most XS_PROM_STALE_SECONDS
 * before e->now. Nothing more than XS_PROM_STALE_MAX before e->now.
 */
#define XS_PROM_STALE_SECONDS 300
#define XS_PROM_FRESH_GRACE 10
#define XS_PROM_FUTURE_GRACE 60 /* seconds past its host's clock a sample may be and be current */
#define XS_PROM_STALE_MAX 86400

/* The daemon's own figures, filled by the daemon before each call (zero-fill what it lacks). */
struct xs_prom_self {
	double uptime;                /* seconds since the daemon started */
	uint64_t store_series;        /* series in the store */
	uint64_t store_dormant;       /* of which dormant: stopped, holding no write state (STORE.md) */
	uint64_t store_bytes;         /* bytes the store uses on disk (segments, index, log) */
	uint64_t store_damaged_blocks_total; /* blocks reads dropped as damaged (xs_store_stats) */
	uint64_t store_unread_blocks_total; /* blocks reads skipped for want of a descriptor or
					     * memory (xs_store_stats.unread_blocks) */
	uint64_t store_sync_failures_total; /* store syncs that failed since start (a full or
					     * read-only disk): rows not on disk yet */
	char store_error[XS_ERR_LEN]; /* the last failed sync's error while syncs fail; "" once
				       * one succeeds */
	uint64_t samples_total;       /* 5 s samples ingested since start */
	uint64_t fetches_total;       /* collector fetches since start */
	uint64_t fetch_errors_total;  /* of which failed */
	uint64_t backfills_total;     /* coarse-archive (backfill) fetches since start */
	uint64_t hosts_collecting;    /* hosts collected in time (xs_status_host_health) */
	uint64_t hosts_late;          /* hosts collected, but lagging */
	uint64_t hosts_down;          /* hosts not collected (not live, failing) */
	uint64_t http_requests_total; /* HTTP requests served since start */
	uint64_t http_held_bytes;     /* reply bodies waiting for their clients to read them */
	uint64_t http_stream_queued_bytes; /* live stream events waiting for their clients */
	uint64_t http_busy_total;     /* replies refused (503) because too many bytes waited */
	uint64_t http_connections_open; /* the API's TCP connections open now, streams included */
	uint64_t http_max_connections;  /* their cap (max_connections): one past it is closed */
	uint64_t resident_bytes;      /* the process's resident memory (VmRSS) */
	double cpu_seconds;           /* the process's CPU time since start, user + system */
	double start_time;            /* when the daemon started, unix seconds */
	uint64_t open_fds;            /* file descriptors open (serve/open_files.h) */
	uint64_t max_fds;             /* their limit (RLIMIT_NOFILE, soft) */
};

/*
 * Which part of the body a scrape asks for (GET /metrics?pool=&kind=, so that a
 * large estate can be scraped in shards: docs/API.md). A series is exported when
 * its object is of a kind asked for and, with a pool, that pool's topology knows
 * it; the collector_* families go with the hosts' kind and pool; the daemon's own
 * figures are of no pool: they come with XS_PROM_KIND_SELF, pool or not.
 */
#define XS_PROM_KIND_HOST 1u  /* hosts' series and the collector_* families */
#define XS_PROM_KIND_VM 2u
#define XS_PROM_KIND_SR 4u
#define XS_PROM_KIND_SELF 8u  /* xapistat_* figures of the daemon (struct xs_prom_self) */
#define XS_PROM_KIND_ALL 15u
#define XS_PROM_POOL_MAX 256  /* bytes of a pool name or uuid in a filter */

struct xs_prom_filter {
	const char *pool;  /* a configured pool name, or a pool's uuid (any case); NULL or "": every pool */
	unsigned kinds;    /* XS_PROM_KIND_* bits; 0: all */
};

/* kinds from "host,vm,sr,self" (any of them, once each, comma-separated): XS_ERR_ARG
 * naming "kind" otherwise. */
enum xs_err xs_prom_kinds_parse(const char *s, unsigned *kinds, char *err)
	__attribute__((warn_unused_result));

/* The index in e->pools of f's pool into *pool (-1 when f asks for every pool);
 * XS_QUERY_NOT_FOUND (xo_stats.h) naming "pool" when no pool has that name or uuid. */
enum xs_err xs_prom_filter_pool(const struct xs_estate *e, const struct xs_prom_filter *f,
				long *pool, char *err) __attribute__((warn_unused_result));

/*
 * The body made piece by piece, for a reply that streams it:
 * xs_prom_body_start() does everything that reads the store and the estate
 * (the first pass over the catalog, the topology lookups: about a third of
 * the work) and keeps what the lines need; xs_prom_body_read() then makes the
 * lines as they are asked for, from the body's own memory only, so it needs
 * no lock on the store and may run on another thread than the start (one
 * thread at a time). Memory: about 40 bytes per exported series plus the
 * label texts and one chunk of 256 KiB, whatever the body's size.
 */
struct xs_prom_body;

/* XS_OK and *out, or an error with a message in err (*out NULL; a filter's unknown pool:
 * XS_QUERY_NOT_FOUND). self and filter may be NULL (no self-metrics; everything). */
enum xs_err xs_prom_body_start(const struct xs_estate *e, const struct xs_prom_self *self,
			       const struct xs_prom_filter *filter, struct xs_prom_body **out,
			       char *err) __attribute__((warn_unused_result));
/* Copies the next bytes, at most max, to buf: *n of them, 0 at the end. XS_OK or an error. */
enum xs_err xs_prom_body_read(struct xs_prom_body *b, char *buf, size_t max, size_t *n)
	__attribute__((warn_unused_result));
/* Frees the body; *b = NULL. Accepts NULL. */
void xs_prom_body_free(struct xs_prom_body **b);

/*
 * The whole body appended to out (which the caller owns and initialised with
 * its cap). self and filter may be NULL (no self-metrics; everything). Returns XS_OK, or
 * XS_ERR_TOO_LARGE when out's limit is reached (out is then freed, per
 * xs_buf), with a message in err (XS_ERR_LEN bytes). Cost: one pass over the
 * store's catalog plus a counting sort; topology lookups once per object and
 * per (object, device), not per series.
 */
enum xs_err xs_query_metrics(const struct xs_estate *e, const struct xs_prom_self *self,
			     const struct xs_prom_filter *filter, struct xs_buf *out, char *err)
	__attribute__((warn_unused_result));
#endif
