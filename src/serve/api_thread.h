/*
 * api_thread.h - the HTTP API's own thread, so that no request waits for the
 * daemon's loop (a fetch being parsed, the store's fsync or checkpoint).
 *
 * The thread runs a second event loop (xs_api_thread_loop(), where the
 * caller starts its xs_api). One lock orders the two threads: the API takes
 * it around each request handler and stream tick (xs_api_thread_enter and
 * _leave, the xs_api provider's hooks; the sockets' work runs outside it),
 * the owner's loop around its callbacks (so everything the API reads - the
 * store, the topology, the collector's status - changes only while the API
 * waits), except libcurl's socket work, where only the HTTP client's on_data
 * and on_done take it, and let it go when they return (XS_EV_UNGUARDED,
 * xapi/http_client.c). The lock is fair (first come, first served), and the
 * owner keeps it across the callbacks of one loop turn unless the API waits
 * and the owner has held it for XS_API_THREAD_SLICE_MS: a request waits for at
 * most one slice plus one callback. Under a flood of requests ingest still
 * gets a slice between two of them, or one chunk of a host's reply (about
 * 0.1 ms; the 20,000-VM bench kept every host's fetches on time at 32
 * connections). Long owner work lets the API in at points where nothing it
 * reads is half changed: the store's file writes (the io hooks below, see
 * xs_store_options.io_begin), its checkpoint's passes over every series
 * (xs_store_options.yield), the collector's rows (xs_api_thread_yield,
 * xs_collector_config.yield) and the objects of a deferred top-N
 * (xs_api_thread_defer, the API provider's yield). At such a point a request
 * may refresh the estate's collection status (cmd_serve.c serve_status) in
 * place while the owner holds pointers into it: it writes the same values,
 * since only the owner changes what they are made from.
 *
 * Use: _new (guards the owner's loop), start the xs_api on _loop(), _start;
 * at exit _stop (joins the thread), free the xs_api, then _free. Only the
 * owner's thread calls these, _stop and _free outside its loop's callbacks;
 * io_begin / io_end only from inside those callbacks (elsewhere they do
 * nothing).
 */
#ifndef XS_SERVE_API_THREAD_H
#define XS_SERVE_API_THREAD_H

#include "lib/err.h"
#include "lib/evloop.h"

#define XS_API_THREAD_SLICE_MS 2.0 /* the owner's shortest hold when the API waits */

struct xs_api_thread;

/* The lock and the API's loop; the owner's loop gets the guard. NULL with err on failure. */
struct xs_api_thread *xs_api_thread_new(struct xs_evloop *owner, char *err);
/* The API's loop (not running until _start). */
struct xs_evloop *xs_api_thread_loop(struct xs_api_thread *t);
/* Starts the thread (every signal blocked in it: they go to the owner). */
enum xs_err xs_api_thread_start(struct xs_api_thread *t, char *err);
/* Stops the API's loop and joins the thread (within about 0.1 s); idempotent. */
void xs_api_thread_stop(struct xs_api_thread *t);
/* Stops if needed, removes the owner's guard and frees (NULL allowed; *tp = NULL). */
void xs_api_thread_free(struct xs_api_thread **tp);

/* How long the two sides waited for and held the lock. Counters run from
 * the start; the maxima are those since the previous call with reset_max. */
struct xs_api_thread_stats {
	unsigned long long api_entries;     /* handlers and ticks that took the lock */
	unsigned long long api_waits_1ms;   /* ... of which waited 1 ms or more */
	unsigned long long api_waits_5ms;   /* ... of which waited 5 ms or more */
	double api_wait_max_ms;             /* the API's longest wait */
	double owner_hold_max_ms;           /* the owner's longest hold (io phases excluded) */
	double defer_wait_max_ms;           /* deferred work's longest wait to run (defer) */
};

/* The owner's thread only (the API's counters are read under the lock's mutex). */
void xs_api_thread_stats(struct xs_api_thread *t, struct xs_api_thread_stats *st, int reset_max);

/* Around the API's handlers (arg: the xs_api_thread), on the API's thread. */
void xs_api_thread_enter(void *arg);
void xs_api_thread_leave(void *arg);
/* From any thread (arg: the xs_api_thread): fn(fn_arg) runs once, soon, on the
 * owner's thread inside the lock, between two of its callbacks: work that reads
 * what the owner changes but should not hold up the API's thread (a top-N
 * answer over every VM). One slot: a call before the previous fn ran replaces
 * it; fn NULL cancels (e.g. before fn_arg is freed, on the owner's thread). */
void xs_api_thread_defer(void *arg, void (*fn)(void *fn_arg), void *fn_arg);

/* The store's io hooks (arg: the xs_api_thread): the owner's callback lets the
 * API run until io_end; also for the owner's own work that changes nothing the
 * API reads (e.g. malloc_trim). */
void xs_api_thread_io_begin(void *arg);
void xs_api_thread_io_end(void *arg);

/* From inside the owner's callbacks, at a point where what the API reads is
 * consistent (the collector: between the rows of a reply): when the API waits
 * and the owner has held the lock for a slice, lets the API's handler run,
 * then takes the lock back. Costs one atomic load otherwise. */
void xs_api_thread_yield(void *arg);

#endif
