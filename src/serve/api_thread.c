/*
 * api_thread.c - the HTTP API's own thread and loop, and the lock that orders
 * it against the daemon's loop (see api_thread.h).
 *
 * The lock prefers writers (glibc's PREFER_WRITER_NONRECURSIVE): a steady
 * stream of requests cannot starve ingest; a request waits at most for the
 * owner's current callback. Neither side takes it recursively: the loop
 * guards never nest, and the io hooks run inside an owner's callback only.
 */
#include "serve/api_thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

#define API_THREAD_STOP_CHECK 0.1 /* seconds between looks at the stop flag */

struct xs_api_thread {
	pthread_rwlock_t lock;
	struct xs_evloop *owner, *loop;
	pthread_t thread;
	bool running;
	atomic_int stop;
	/* the owner's thread only: */
	bool held;     /* it holds the lock for writing (inside a callback) */
	bool released; /* io_begin released that hold */
};

static void at_write_enter(void *arg)
{
	struct xs_api_thread *t = arg;

	pthread_rwlock_wrlock(&t->lock);
	t->held = true;
}

static void at_write_leave(void *arg)
{
	struct xs_api_thread *t = arg;

	t->held = false;
	pthread_rwlock_unlock(&t->lock);
}

static void at_read_enter(void *arg)
{
	pthread_rwlock_rdlock(&((struct xs_api_thread *)arg)->lock);
}

static void at_read_leave(void *arg)
{
	pthread_rwlock_unlock(&((struct xs_api_thread *)arg)->lock);
}

void xs_api_thread_io_begin(void *arg)
{
	struct xs_api_thread *t = arg;

	if (t->held) {
		t->released = true;
		at_write_leave(t);
	}
}

void xs_api_thread_io_end(void *arg)
{
	struct xs_api_thread *t = arg;

	if (t->released) {
		t->released = false;
		at_write_enter(t);
	}
}

struct xs_api_thread *xs_api_thread_new(struct xs_evloop *owner, char *err)
{
	struct xs_api_thread *t = xs_xcalloc(1, sizeof(*t));
	pthread_rwlockattr_t attr;

	t->loop = xs_evloop_new();
	if (!t->loop) {
		xs_err_set(err, XS_ERR_IO, "cannot make the API's event loop: %s", strerror(errno));
		free(t);
		return NULL;
	}
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	t->owner = owner;
	xs_evloop_set_guard(owner, at_write_enter, at_write_leave, t);
	xs_evloop_set_guard(t->loop, at_read_enter, at_read_leave, t);
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
	if (!t || !t->running)
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
	xs_api_thread_stop(t);
	xs_evloop_set_guard(t->owner, NULL, NULL, NULL);
	xs_evloop_free(&t->loop);
	pthread_rwlock_destroy(&t->lock);
	free(t);
	*tp = NULL;
}
