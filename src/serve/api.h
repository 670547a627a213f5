/*
 * api.h - the HTTP API of `xapistat serve` (issue 6): the routes of
 * docs/API.md on an http/server.h server, answered from the store and the
 * topologies in memory (no request waits on a host), and the live stream.
 *
 *   GET /api/v1/objects                          query/objects.h
 *   GET /api/v1/status                           query/status.h
 *   GET /api/v1/{vms,hosts,srs,pools}/UUID/stats query/xo_stats.h
 *   GET /api/v1/top                              query/top.h
 *   GET /api/v1/stream?objects=UUID,...          Server-Sent Events (below)
 *   GET /metrics                                 query/prom.h
 *   GET /...                                     static files of the web UI
 *
 * The stream (docs/API.md "Stream"): every API_STREAM_TICK seconds each
 * subscribed VM or host whose newest stored 5 s time moved gets an event
 * `stats` whose data is the stats reply (XO shape, query/xo_stats.h) of exactly
 * its new rows plus "uuid" and "kind". The event id is a cursor, opaque to clients, of the newest time sent
 * of every object of the stream (a browser sends back only the last id it
 * saw), so a client that reconnects with Last-Event-ID gets, per object, the
 * rows after the ones it has (at most the last 10 minutes); an id that is no
 * cursor of this objects list starts afresh, an integer (older daemons' id)
 * is taken as one time for every object. A catch-up goes out in events of at
 * most a minute of rows each (every one moves the cursor), only as the stream's
 * queue (http/server.h stream_max_queue) has room, over as many ticks as the
 * client needs to read it; a client that reads nothing for stream_stall
 * seconds while an event waits is cut (a browser reconnects and resumes).
 * A comment line keeps idle streams alive. The stream answers 200 whatever its
 * objects (a browser's EventSource gives up for good on any other status):
 * a VM or host a topology knows, or one the store holds series of, is
 * streamed; a well-formed uuid nobody knows gets one `event: gone`, data
 * {"uuid":"..."}, and nothing more. Past XS_API_MAX_STREAMS the reply is a
 * `retry:` and a comment, and ends (the browser comes back after it). Only a
 * malformed request is a 400.
 *
 * The daemon owns the data: before each request the API asks it, through the
 * callbacks given, for the estate view (query/estate.h) and its own figures.
 * Everything runs on the loop given to xs_api_start (the API's thread in
 * serve), except the deferred top-N refresh (the provider's defer hook), which
 * runs on the provider's thread inside its lock (the estate view, the store),
 * and shares the remembered answers with the API's thread under their own mutex.
 */
#ifndef XS_SERVE_API_H
#define XS_SERVE_API_H

#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"
#include "lib/err.h"
#include "lib/evloop.h"
#include "query/estate.h"
#include "query/prom.h"
#include "store/store.h"

#define XS_API_MAX_STREAM_OBJECTS 256  /* objects one stream may subscribe to */
#define XS_API_MAX_STREAMS 512         /* streams open at once */
#define XS_API_MAX_STATS_BODY (64u << 20)   /* bytes of one stats / top / objects reply */
#define XS_API_TOP_TTL 1.0                  /* seconds a top-N answer is reused (rows come every 5 s) */
#define XS_API_TOP_STALE 5.0                /* ... and to a busy question while a new one is computed */
#define XS_API_METRICS_IN_FLIGHT 4          /* /metrics bodies being sent at once; past it, 503 */
#define XS_API_TOP_CACHE 16                 /* distinct top-N questions remembered */
/* One tick of the streams (every 0.5 s) queues at most about this many event bytes over all
 * of them (many clients catching up at once, after a restart: the next tick goes on from the
 * stream where this one stopped), and lets the provider's thread take the lock after holding
 * it this long, between two events: the tick runs under the lock, which ingest needs. */
#define XS_API_STREAM_TICK_BYTES (8u * 1024 * 1024)
#define XS_API_STREAM_TICK_SLICE 0.005
#define XS_API_STREAM_STALL 60.0            /* seconds a stream's client may read nothing while
						 * an event waits for room; then the stream is cut */

struct xs_api_provider {
	/* Fills *e for one request (pointers valid until the handler returns); the
	 * per-host collection status only when with_status (it costs every host). */
	void (*estate)(void *arg, struct xs_estate *e, bool with_status);
	/* Fills the daemon's own figures (the HTTP counters are added by the API). */
	void (*self)(void *arg, struct xs_prom_self *st);
	void *arg;
	/* Optional: called before and after every request handler and stream tick
	 * (everything that reads the store or the estate), e.g. to take a lock.
	 * Not around what reads neither: a top-N answer remembered for
	 * XS_API_TOP_TTL, the /metrics lines sent after its first pass. */
	void (*enter)(void *lock_arg);
	void (*leave)(void *lock_arg);
	void *lock_arg;
	/* Optional: runs fn(fn_arg) soon on another thread, inside the lock (enter and
	 * leave are not called around it); fn NULL cancels what was asked and did not
	 * run yet (xs_api_free does). With it, top-N answers are computed by fn,
	 * not on the API's own thread, which would spend 14-40 ms on a question
	 * over 20,000 VMs while other requests wait: a busy question (asked again
	 * within XS_API_TOP_TTL) past XS_API_TOP_TTL gets the same answer for up to
	 * XS_API_TOP_STALE meanwhile, other requests are parked until fn answers
	 * (api_top.c). */
	void (*defer)(void *lock_arg, void (*fn)(void *fn_arg), void *fn_arg);
	/* Optional, with defer: called by fn between objects (every
	 * XS_ESTATE_YIELD_EVERY VMs or hosts of a top-N, query/estate.h), on the
	 * provider's thread; it may let the API's handlers run meanwhile, which only
	 * read. */
	void (*yield)(void *lock_arg);
};

struct xs_api_config {
	struct xs_http_server_config http;  /* host, port, token, TLS, static_dir */
	int64_t retention[XS_NTIERS];       /* seconds; 0 = the store's default */
	unsigned metrics_in_flight;         /* 0 = XS_API_METRICS_IN_FLIGHT */
	double stream_stall;                /* seconds; 0 = XS_API_STREAM_STALL */
	size_t stream_tick_bytes;           /* 0 = XS_API_STREAM_TICK_BYTES */
	double stream_tick_slice;           /* seconds; 0 = XS_API_STREAM_TICK_SLICE */
};

struct xs_api;

/* Starts serving; err names the problem (bind, TLS files, non-loopback without a token). */
enum xs_err xs_api_start(struct xs_evloop *loop, const struct xs_api_config *cfg,
			 const struct xs_api_provider *p, struct xs_api **out, char *err);
/* Closes every connection and stream, frees; *a = NULL. Accepts NULL. */
void xs_api_free(struct xs_api **a);
/* Replaces the Bearer token (NULL: none) from now on: xs_http_server_set_token. */
enum xs_err xs_api_set_token(struct xs_api *a, const char *token, char *err);
/* The port bound (for tests that listen on port 0). */
uint16_t xs_api_port(const struct xs_api *a);
void xs_api_http_stats(const struct xs_api *a, struct xs_http_stats *st);

#endif
