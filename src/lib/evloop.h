/*
 * evloop.h - a small single-threaded event loop: file descriptors (epoll) and
 * one-shot timers, on the monotonic clock.
 *
 * Callbacks run on the loop's thread and must do bounded work (STYLE.md §24).
 * A callback may add or remove any watcher or timer, its own included.
 * A loop is used by one thread only; a process may run one loop per thread,
 * with a guard (e.g. a lock shared by the loops) entered around every callback.
 */
#ifndef XS_LIB_EVLOOP_H
#define XS_LIB_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_EV_READ 1u  /* fd readable (or hung up / error) */
#define XS_EV_WRITE 2u /* fd writable */
/* At xs_evloop_add_fd only: the guard (below) is not entered around this
 * watcher's callback, which enters it itself (xs_evloop_guard_enter/_leave)
 * around the parts that touch what the guard protects; any hold is let go
 * (the idle function) before such a callback and after it. For code that does much work
 * of its own between short calls into the rest (libcurl's socket handling). */
#define XS_EV_UNGUARDED 4u

struct xs_evloop;

typedef void (*xs_ev_fd_cb)(struct xs_evloop *loop, int fd, unsigned events, void *arg);
typedef void (*xs_ev_timer_cb)(struct xs_evloop *loop, void *arg);

/* A new loop, or NULL (errno set) when epoll cannot be created. */
struct xs_evloop *xs_evloop_new(void);
/* Frees the loop (NULL allowed; sets *loop = NULL); fds are not closed. */
void xs_evloop_free(struct xs_evloop **loop);

/* Watches fd for events (XS_EV_READ | XS_EV_WRITE); one watcher per fd. */
enum xs_err xs_evloop_add_fd(struct xs_evloop *loop, int fd, unsigned events, xs_ev_fd_cb cb,
			     void *arg);
enum xs_err xs_evloop_mod_fd(struct xs_evloop *loop, int fd, unsigned events);
/* Stops watching fd (does not close it). Unknown fds are ignored. */
void xs_evloop_del_fd(struct xs_evloop *loop, int fd);

/* Calls cb once, `after` seconds from now (>= 0). Returns an id > 0 for cancel. */
uint64_t xs_evloop_add_timer(struct xs_evloop *loop, double after, xs_ev_timer_cb cb, void *arg);
/* The same for a callback that enters the guard itself (see XS_EV_UNGUARDED). */
uint64_t xs_evloop_add_timer_unguarded(struct xs_evloop *loop, double after, xs_ev_timer_cb cb,
				       void *arg);
/* Cancels a timer that has not fired yet (unknown ids are ignored). */
void xs_evloop_cancel_timer(struct xs_evloop *loop, uint64_t id);

/* Runs until xs_evloop_stop() or until *stop_flag becomes non-zero (for signal
 * handlers; may be NULL). Returns XS_OK, or XS_ERR_IO if epoll fails. */
enum xs_err xs_evloop_run(struct xs_evloop *loop, volatile int *stop_flag);
void xs_evloop_stop(struct xs_evloop *loop);

/* enter(arg) before and leave(arg) after every callback of loop, idle(arg)
 * before the loop waits for events (each may be NULL): e.g. a lock the loop's
 * thread holds while its callbacks run, released when it goes idle. */
typedef void (*xs_ev_guard_fn)(void *arg);
void xs_evloop_set_guard(struct xs_evloop *loop, xs_ev_guard_fn enter, xs_ev_guard_fn leave,
			 xs_ev_guard_fn idle, void *arg);

/* The guard's enter / leave, for the callbacks of XS_EV_UNGUARDED watchers and
 * unguarded timers (they do nothing when no guard is set); pairs never nest.
 * Leave then lets go of any hold (the idle function): what such a callback does
 * after it runs outside the guard, as its start did. */
void xs_evloop_guard_enter(struct xs_evloop *loop);
void xs_evloop_guard_leave(struct xs_evloop *loop);
/* Seconds on the monotonic clock (the loop's time base). */
double xs_evloop_now(void);

#endif
