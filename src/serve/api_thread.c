/*
 * api_thread.c - the HTTP API's own thread and loop, and the lock that orders
 * it against the daemon's loop (see api_thread.h).
 *
 * The lock is a ticket lock (a mutex and a condition variable): whoever asks
 * first gets it next, so neither thread can starve the other. The owner's
 * loop guard takes it before a callback if not already held, and after a
 * callback lets it go only when the API is waiting and the owner has held it
 * for a slice; the idle hook lets it go before the loop sleeps. Neither side
 * takes it recursively: guards never nest, the API's enter/leave pairs wrap
 * handlers that do not nest, and the io hooks run inside an owner's callback.
 *
 * Deferred work (xs_api_thread_defer): one slot (fn, arg) under the mutex and
 * an eventfd the owner's loop watches; its callback is guarded, so fn runs
 * inside the lock, on the owner's thread. The stats give the longest wait from
 * a first ask to the run.
 */
#include "serve/api_thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/xmalloc.h"

#define API_THREAD_STOP_CHECK 0.1 /* seconds between looks at the stop flag */

struct xs_api_thread {
	pthread_mutex_t m;
	pthread_cond_t turn;
	uint64_t next, serving;  /* tickets: handed out, now served (under m) */
	atomic_int api_waiting;  /* the API thread asked for the lock */
	struct xs_evloop *owner, *loop;
	pthread_t thread;
	bool running;
	atomic_int stop;
	/* the owner's thread only: */
	bool held;      /* it holds the lock */
	bool released;  /* io_begin let it go inside a callback */
	double since;   /* when it took it (xs_evloop_now) */
	double hold_max;        /* longest hold since the last reset, seconds */
	/* the API's figures (under m): */
	unsigned long long entries, waits_1ms, waits_5ms;
	double wait_max;        /* seconds, since the last reset */
	/* deferred work (under m), and the eventfd that wakes the owner's loop for it */
	void (*work_fn)(void *arg);
	void *work_arg;
	double work_since;      /* when work_fn was set from none (xs_evloop_now) */
	int work_fd;
	double work_wait_max;   /* longest wait of deferred work, since the last reset (owner's) */
};

static void at_lock(struct xs_api_thread *t)
{
	uint64_t mine;

	pthread_mutex_lock(&t->m);
	mine = t->next++;
	while (t->serving != mine)
		pthread_cond_wait(&t->turn, &t->m);
	pthread_mutex_unlock(&t->m);
}

static void at_unlock(struct xs_api_thread *t)
{
	pthread_mutex_lock(&t->m);
	t->serving++;
	pthread_cond_broadcast(&t->turn);
	pthread_mutex_unlock(&t->m);
}

/* ---- the owner's side ---- */

static void at_owner_take(struct xs_api_thread *t)
{
	at_lock(t);
	t->held = true;
	t->since = xs_evloop_now();
}

static void at_owner_drop(struct xs_api_thread *t)
{
	double held = xs_evloop_now() - t->since;

	if (held > t->hold_max)
		t->hold_max = held;
	t->held = false;
	at_unlock(t);
}

/* Takes the deferred work (*fn NULL if none) and notes how long it waited. The owner's
 * thread. */
static void at_take_work(struct xs_api_thread *t, void (**fn)(void *), void **fn_arg)
{
	double waited;

	pthread_mutex_lock(&t->m);
	*fn = t->work_fn;
	*fn_arg = t->work_arg;
	waited = xs_evloop_now() - t->work_since;
	t->work_fn = NULL;
	t->work_arg = NULL;
	pthread_mutex_unlock(&t->m);
	if (*fn && waited > t->work_wait_max)
		t->work_wait_max = waited;
}

static void at_owner_enter(void *arg)
{
	struct xs_api_thread *t = arg;

	if (!t->held)
		at_owner_take(t);
}

/* The owner holds the lock, the API waits for it, and the owner's slice is over. */
static bool at_owner_should_yield(const struct xs_api_thread *t)
{
	return t->held && atomic_load(&t->api_waiting) &&
	       (xs_evloop_now() - t->since) * 1000.0 >= XS_API_THREAD_SLICE_MS;
}

static void at_owner_leave(void *arg)
{
	struct xs_api_thread *t = arg;

	if (at_owner_should_yield(t))
		at_owner_drop(t);
}

static void at_owner_idle(void *arg)
{
	struct xs_api_thread *t = arg;

	if (t->held)
		at_owner_drop(t);
}

void xs_api_thread_io_begin(void *arg)
{
	struct xs_api_thread *t = arg;

	if (t->held) {
		t->released = true;
		at_owner_drop(t);
	}
}

void xs_api_thread_io_end(void *arg)
{
	struct xs_api_thread *t = arg;

	if (t->released) {
		t->released = false;
		at_owner_take(t);
	}
}

void xs_api_thread_yield(void *arg)
{
	struct xs_api_thread *t = arg;

	if (at_owner_should_yield(t)) {
		at_owner_drop(t);
		at_owner_take(t);
	}
}

/* ---- the API's side ---- */

void xs_api_thread_enter(void *arg)
{
	struct xs_api_thread *t = arg;
	double start = xs_evloop_now(), waited;

	atomic_store(&t->api_waiting, 1);
	at_lock(t);
	atomic_store(&t->api_waiting, 0);
	waited = xs_evloop_now() - start;
	pthread_mutex_lock(&t->m);
	t->entries++;
	t->waits_1ms += waited >= 0.001;
	t->waits_5ms += waited >= 0.005;
	if (waited > t->wait_max)
		t->wait_max = waited;
	pthread_mutex_unlock(&t->m);
}

void xs_api_thread_leave(void *arg)
{
	at_unlock(arg);
}

void xs_api_thread_defer(void *arg, void (*fn)(void *fn_arg), void *fn_arg)
{
	struct xs_api_thread *t = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&t->m);
	if (fn && !t->work_fn)
		t->work_since = xs_evloop_now();
	t->work_fn = fn;
	t->work_arg = fn_arg;
	pthread_mutex_unlock(&t->m);
	/* EAGAIN (a counter at 2^64 - 2) cannot happen: each wake-up reads it back to 0 */
	if (fn && write(t->work_fd, &one, sizeof(one)) < 0)
		abort();
}

/* The owner's loop, inside the lock: runs the deferred work, if any is left. */
static void at_work_cb(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct xs_api_thread *t = arg;
	void (*fn)(void *);
	void *fn_arg;
	uint64_t n;

	(void)loop;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		abort();
	at_take_work(t, &fn, &fn_arg);
	if (fn)
		fn(fn_arg);
}

void xs_api_thread_stats(struct xs_api_thread *t, struct xs_api_thread_stats *st, int reset_max)
{
	pthread_mutex_lock(&t->m);
	st->api_entries = t->entries;
	st->api_waits_1ms = t->waits_1ms;
	st->api_waits_5ms = t->waits_5ms;
	st->api_wait_max_ms = t->wait_max * 1000.0;
	if (reset_max)
		t->wait_max = 0;
	pthread_mutex_unlock(&t->m);
	st->owner_hold_max_ms = t->hold_max * 1000.0;
	st->defer_wait_max_ms = t->work_wait_max * 1000.0;
	if (reset_max)
		t->hold_max = t->work_wait_max = 0;
}

/* ---- the thread ---- */

struct xs_api_thread *xs_api_thread_new(struct xs_evloop *owner, char *err)
{
	struct xs_api_thread *t = xs_xcalloc(1, sizeof(*t));

	t->loop = xs_evloop_new();
	if (!t->loop) {
		xs_err_set(err, XS_ERR_IO, "cannot make the API's event loop: %s", strerror(errno));
		free(t);
		return NULL;
	}
	t->work_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->work_fd < 0 || xs_evloop_add_fd(owner, t->work_fd, XS_EV_READ, at_work_cb, t)) {
		xs_err_set(err, XS_ERR_IO, "cannot make the API's wake-up eventfd: %s", strerror(errno));
		if (t->work_fd >= 0)
			close(t->work_fd);
		xs_evloop_free(&t->loop);
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->m, NULL);
	pthread_cond_init(&t->turn, NULL);
	t->owner = owner;
	xs_evloop_set_guard(owner, at_owner_enter, at_owner_leave, at_owner_idle, t);
	return t;
}

struct xs_evloop *xs_api_thread_loop(struct xs_api_thread *t)
{
	return t->loop;
}

static void at_stop_check(struct xs_evloop *loop, void *arg)
{
	struct xs_api_thread *t = arg;

	if (atomic_load(&t->stop))
		xs_evloop_stop(loop);
	else
		xs_evloop_add_timer(loop, API_THREAD_STOP_CHECK, at_stop_check, t);
}

static void *at_main(void *arg)
{
	struct xs_api_thread *t = arg;

	xs_evloop_run(t->loop, NULL);
	return NULL;
}

enum xs_err xs_api_thread_start(struct xs_api_thread *t, char *err)
{
	sigset_t all, old;
	int rc;

	xs_evloop_add_timer(t->loop, API_THREAD_STOP_CHECK, at_stop_check, t);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->thread, NULL, at_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return xs_err_set(err, XS_ERR_IO, "cannot start the API's thread: %s", strerror(rc));
	t->running = true;
	return XS_OK;
}

void xs_api_thread_stop(struct xs_api_thread *t)
{
	if (!t)
		return;
	if (t->held) /* the owner's loop stopped after a callback: the API may be waiting */
		at_owner_drop(t);
	if (!t->running)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	t->running = false;
}

void xs_api_thread_free(struct xs_api_thread **tp)
{
	struct xs_api_thread *t = tp ? *tp : NULL;

	if (!t)
		return;
	xs_api_thread_stop(t); /* also lets go of the owner's hold */
	xs_evloop_set_guard(t->owner, NULL, NULL, NULL, NULL);
	xs_evloop_del_fd(t->owner, t->work_fd);
	close(t->work_fd);
	xs_evloop_free(&t->loop);
	pthread_cond_destroy(&t->turn);
	pthread_mutex_destroy(&t->m);
	free(t);
	*tp = NULL;
}
