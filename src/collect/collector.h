/*
 * collector.h - background collection of every live host of every pool into
 * the store (issue 5, points 1-3).
 *
 * Per host (one struct per live host of each pool's topology, kept in step
 * with it once a second):
 *
 *   5 s fetch  GET <scheme>://<host.address>:<port>/rrd_updates?start=S&host=true
 *              &cf=AVERAGE&interval=5&session_id=<pool session>, Accept: text/xml,
 *              streamed into xs_rrd_reader; rows (newest first in the document)
 *              are appended ascending once the document is complete, so a
 *              truncated or malformed body stores nothing and is fetched again.
 *              S = the oldest "newest stored 5 s time + 5" of the host and the
 *              objects in its legend (resident VMs, including one that just
 *              migrated in); when that is older than the host's 5 s archive,
 *              S = -599 (relative to the host's last update: the whole archive,
 *              whatever our clock says). The legend is checked before any row
 *              is read: an object that needs older rows aborts the transfer and
 *              the fetch starts again from the right S. A reply of another step
 *              (the host chose a coarser archive) is refetched whole.
 *              Timed on the host's clock (pool client offsets) and on the
 *              phase at which the host makes its rows (learnt: a reply
 *              without the expected row raises it and is retried after
 *              `retry` seconds; each timely reply lowers it a little), so a
 *              row is fetched within about `retry` + `delay` of its making.
 *   backfill   when an object of the reply had nothing stored, or its rows
 *              between the newest stored and the oldest the host still has at
 *              5 s were lost: interval=60 start=-7199, 3600 start=-604799,
 *              86400 start=-31622399 (whole archives; no cf: AVERAGE for VMs,
 *              AVERAGE/MIN/MAX for hosts) into xs_store_backfill() at tiers
 *              1 m / 1 h / 1 d. A row at t covers (t - step, t]: the store gets
 *              the period start t - step. The store ignores periods it has.
 *              At most `backfills` hosts fetch coarse archives at once, and
 *              as many a whole 5 s archive; a host waiting for a coarse turn
 *              goes on with its 5 s fetches and asks again after each.
 *   errors     per host: timeout, exponential backoff with jitter; a host that
 *              is not live is not asked. One slow host delays no other: every
 *              request is its own on the shared event loop. HTTP 401 (the
 *              session refused) is reported to the pool client
 *              (xs_pool_client_session_failed: a re-login at once, at most
 *              every 30 s), and a host backing off for it is asked again as
 *              soon as the pool has a new session or was loaded again (at once
 *              if the 401 came for an older session); other backoffs run on.
 *
 * Series: (kind, uuid, ds) of each legend entry AVERAGE|MIN|MAX:kind:uuid:ds
 * (kind host, vm or sr), created with the unit of units.h. Halted and deleted
 * VMs' series stay in the store (retention removes them).
 *
 * Single-threaded, on the loop given; every callback does bounded work.
 */
#ifndef XS_COLLECT_COLLECTOR_H
#define XS_COLLECT_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/evloop.h"
#include "store/store.h"
#include "xapi/http_client.h"
#include "xapi/pool_client.h"

#define XS_COLLECT_PERIOD 5           /* seconds between rows at the finest archive */
#define XS_COLLECT_MAX_BODY (256u << 20) /* cap of an error body (streamed bodies are not held) */
#define XS_COLLECT_MAX_VALUES (32u << 20) /* values one reply may make us hold (rows x columns) */
#define XS_COLLECT_NAME_LEN 128

enum xs_collect_log { XS_COLLECT_LOG_DEBUG, XS_COLLECT_LOG_INFO, XS_COLLECT_LOG_WARN,
		      XS_COLLECT_LOG_ERROR };

/* Log sink: one line, no newline. */
typedef void (*xs_collect_log_cb)(void *arg, enum xs_collect_log level, const char *msg);

/* Zero-fill, then set; zero fields take the defaults named. */
struct xs_collector_config {
	double delay;          /* after the row is expected, seconds (0 = 0.1) */
	double retry;          /* retry of an early fetch, seconds (0 = 0.3) */
	double timeout;        /* one 5 s fetch, seconds (0 = 10); an archive (backfill) ends
				* after this long without a byte, or after 600 s in all */
	double backoff_min;    /* first retry after a failure (0 = 1) */
	double backoff_max;    /* cap of the retry delay (0 = 60) */
	unsigned backfills;    /* hosts fetching whole 5 s archives at once, and coarse ones (0 = 16 each) */
	double backfill_retry; /* a coarse archive that failed is asked again after this (0 = 30 s),
				* doubled at each failure in a row up to 1800 s (the 1 min archive
				* spans 2 h); the 5 s fetches go on meanwhile */
	bool manual;           /* no timers: fetch only on xs_collector_poll() (tests) */
	xs_collect_log_cb log; /* may be NULL */
	void *log_arg;
	/* Called after each row of a reply is stored (may be NULL): a reply of many
	 * rows (a backfill) lets readers on another thread in between its rows, and
	 * they never see a row half stored (serve: xs_api_thread_yield). */
	void (*yield)(void *arg);
	void *yield_arg;
};

enum xs_collect_state {
	XS_COLLECT_IDLE,      /* waiting for the next boundary */
	XS_COLLECT_FETCHING,  /* a 5 s fetch runs */
	XS_COLLECT_BACKFILL,  /* a coarse-archive fetch runs */
	XS_COLLECT_BACKOFF,   /* the last attempt failed; retry scheduled */
	XS_COLLECT_DOWN,      /* the host is not live (topology) or no session yet */
};

/* Status of one host, for the API. Times are unix seconds (our clock), 0 = never. */
struct xs_collect_host_status {
	char pool[XS_COLLECT_NAME_LEN];
	char uuid[64];
	char name[XS_COLLECT_NAME_LEN];
	enum xs_collect_state state;
	double last_success;   /* end of the last complete fetch */
	double last_error_time;
	char last_error[XS_ERR_LEN]; /* "" if none since the last success */
	double latency;        /* seconds the last complete fetch took */
	double lag;            /* seconds our newest row is behind the host's newest (estimated; -1 unknown) */
	int64_t newest;        /* host time of the newest row stored from this host (0 none) */
	double row_phase;      /* seconds after t the host makes row t, as learnt */
	double clock_offset;   /* the host's clock minus ours, seconds, as last measured (NAN: not yet) */
	double ahead;          /* seconds the newest stored row is ahead of the host's clock: it was
				* set back, and its rows until it passes that row are not collected
				* (their times are stored already); 0 when not, and until a
				* measurement of its clock newer than that row confirms it */
	unsigned failures;     /* in a row */
	uint64_t fetches, rows, samples, errors, backfills;
};

struct xs_collector_stats {
	uint64_t fetches, rows, samples, errors, aborts, refetches, backfills, backfill_points;
	size_t hosts, busy;
	size_t backfilling;     /* hosts fetching their coarse archives now */
	size_t backfill_waiting; /* hosts whose backfill waits for a slot */
	size_t bytes;           /* heap the collector holds (hosts, columns, objects, rows); not libcurl's */
};

struct xs_collector;

/* A collector writing into store; loop, http and store must outlive it. Never NULL. */
struct xs_collector *xs_collector_new(struct xs_evloop *loop, struct xs_http *http,
				      struct xs_store *store, const struct xs_collector_config *cfg);
/* Cancels every request and timer and frees; *c = NULL. Accepts NULL. Rows of
 * replies not yet complete are dropped (they are fetched again next time). */
void xs_collector_free(struct xs_collector **c);

/* Collects the hosts of pool pc (which must outlive its removal); tls is copied
 * (NULL = verify with the system CAs). Adding a pool twice is ignored. */
void xs_collector_add_pool(struct xs_collector *c, struct xs_pool_client *pc,
			   const struct xs_tls_opts *tls);
/* Stops collecting pool pc: its requests are cancelled, its hosts forgotten. */
void xs_collector_remove_pool(struct xs_collector *c, struct xs_pool_client *pc);

/* Brings the host lists in step with the topologies now (otherwise done every second). */
void xs_collector_sync(struct xs_collector *c);
/* Starts a 5 s fetch of every idle live host now (and, in manual mode, any
 * backfill it leads to). */
void xs_collector_poll(struct xs_collector *c);
/* Whether no request is running (tests wait for it after a poll). */
bool xs_collector_idle(const struct xs_collector *c);

/* The status of up to cap hosts into out; returns how many hosts there are. */
size_t xs_collector_status(const struct xs_collector *c, struct xs_collect_host_status *out,
			   size_t cap);
void xs_collector_stats(const struct xs_collector *c, struct xs_collector_stats *out);
const char *xs_collect_state_name(enum xs_collect_state s);

#endif
