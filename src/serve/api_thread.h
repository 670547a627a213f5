/*
 * api_thread.h - the HTTP API's own thread, so that no request waits for the
 * daemon's loop (a fetch being parsed, the store's fsync or checkpoint).
 *
 * The thread runs a second event loop (xs_api_thread_loop(), where the
 * caller starts its xs_api). One writer-preferring read-write lock orders
 * the two loops: the owner's loop holds it for writing around each of its
 * callbacks (so everything the API reads - the store, the topology, the
 * collector's status - is changed only while the API thread waits), the API
 * loop holds it for reading around each of its callbacks. The store lets
 * readers in during its long file writes through the io hooks below, which
 * release the owner's hold and take it back (see xs_store_options.io_begin).
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

struct xs_api_thread;

/* The lock and the API's loop; owner's loop gets the write guard. NULL with err on failure. */
struct xs_api_thread *xs_api_thread_new(struct xs_evloop *owner, char *err);
/* The API's loop (not running until _start). */
struct xs_evloop *xs_api_thread_loop(struct xs_api_thread *t);
/* Starts the thread (every signal blocked in it: they go to the owner). */
enum xs_err xs_api_thread_start(struct xs_api_thread *t, char *err);
/* Stops the API's loop and joins the thread (within about 0.1 s); idempotent. */
void xs_api_thread_stop(struct xs_api_thread *t);
/* Stops if needed, removes the owner's guard and frees (NULL allowed; *tp = NULL). */
void xs_api_thread_free(struct xs_api_thread **tp);

/* The store's io hooks (arg: the xs_api_thread). */
void xs_api_thread_io_begin(void *arg);
void xs_api_thread_io_end(void *arg);

#endif
