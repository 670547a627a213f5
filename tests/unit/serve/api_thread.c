/*
 * Tests of src/serve/api_thread.c: while the owner's loop runs a callback no
 * API handler (enter/leave) runs, between io_begin and io_end and while the
 * owner's loop is idle they do, at the owner's yields they do, the API thread has every signal blocked, the
 * io hooks do nothing outside the owner's callbacks, stop joins the thread, and
 * deferred work runs once on the owner's thread inside the lock, its wait in the
 * stats.
 *
 * The pauses (100 ms) only give a broken lock the chance to show itself; a
 * correct one passes however the threads are scheduled.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "serve/api_thread.h"
#include "test.h"

static atomic_int api_ticks;      /* callbacks run on the API's loop */
static atomic_int api_sig_blocked = -1;

/* What an API handler does: enter, work, leave. */
static void api_tick(struct xs_evloop *loop, void *arg)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	atomic_store(&api_sig_blocked, sigismember(&cur, SIGTERM) && sigismember(&cur, SIGHUP));
	xs_api_thread_enter(arg);
	atomic_fetch_add(&api_ticks, 1);
	xs_api_thread_leave(arg);
	xs_evloop_add_timer(loop, 0.001, api_tick, arg);
}

struct probe {
	struct xs_api_thread *t;
	int at_first;      /* API callbacks counted by the first owner callback */
	int while_idle;    /* ... while the owner's loop slept 200 ms */
	int while_held;    /* API callbacks during 100 ms of the owner's callback */
	int while_io;      /* ... between io_begin and io_end (waited for, up to 5 s) */
	int after_io;      /* ... in 100 ms after io_end */
};

static void pause_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void owner_first(struct xs_evloop *loop, void *arg)
{
	struct probe *p = arg;

	(void)loop;
	p->at_first = atomic_load(&api_ticks);
}

static void owner_cb(struct xs_evloop *loop, void *arg)
{
	struct probe *p = arg;
	int before = atomic_load(&api_ticks);

	p->while_idle = before - p->at_first;
	pause_ms(100);
	p->while_held = atomic_load(&api_ticks) - before;
	xs_api_thread_io_begin(p->t);
	before = atomic_load(&api_ticks);
	for (int i = 0; i < 5000 && atomic_load(&api_ticks) == before; i++)
		pause_ms(1);
	p->while_io = atomic_load(&api_ticks) - before;
	xs_api_thread_io_end(p->t);
	before = atomic_load(&api_ticks);
	pause_ms(100);
	p->after_io = atomic_load(&api_ticks) - before;
	xs_evloop_stop(loop);
}

/* One owner callback of a long turn: 3 ms of work. */
static int turn_first = -1, turn_last;

static void owner_busy(struct xs_evloop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	if (turn_first < 0)
		turn_first = atomic_load(&api_ticks);
	pause_ms(3);
	turn_last = atomic_load(&api_ticks);
}

static void owner_end(struct xs_evloop *loop, void *arg)
{
	(void)arg;
	xs_evloop_stop(loop);
}

/* A started API thread guarding owner, its loop ticking api_tick; NULL (and a
 * failed check) if it cannot be made or started. */
static struct xs_api_thread *api_started(struct xs_evloop *owner)
{
	char err[XS_ERR_LEN] = "";
	struct xs_api_thread *t = xs_api_thread_new(owner, err);

	if (!ok(t != NULL, "new: %s", err))
		return NULL;
	xs_evloop_add_timer(xs_api_thread_loop(t), 0, api_tick, t);
	if (!ok(xs_api_thread_start(t, err) == XS_OK, "start: %s", err))
		xs_api_thread_free(&t);
	return t;
}

/* 40 callbacks due at once run in one turn of the owner's loop; the API, waiting,
 * gets the lock between them after each slice rather than after the turn. */
static void test_long_turn(void)
{
	struct xs_evloop *owner = xs_evloop_new();
	struct xs_api_thread *t;

	fail_unless(owner, "owner loop");
	t = api_started(owner);
	fail_unless(t, "API thread");
	for (int i = 0; i < 40; i++)
		xs_evloop_add_timer(owner, 0.05, owner_busy, NULL);
	xs_evloop_add_timer(owner, 0.05, owner_end, NULL);
	ok(xs_evloop_run(owner, NULL) == XS_OK, "owner loop ran");
	ok(turn_last - turn_first >= 10, "API handlers within the owner's 120 ms turn: %d",
	   turn_last - turn_first);
	xs_api_thread_free(&t);
	xs_evloop_free(&owner);
}

/* One long owner callback (40 x 3 ms) that yields between its steps: the API,
 * waiting, runs inside it; without the yields it would not (test_lock). */
static int yield_ticks = -1;

static void owner_yielding(struct xs_evloop *loop, void *arg)
{
	int before = atomic_load(&api_ticks);

	for (int i = 0; i < 40; i++) {
		pause_ms(3);
		xs_api_thread_yield(arg);
	}
	yield_ticks = atomic_load(&api_ticks) - before;
	xs_evloop_stop(loop);
}

static void test_yield(void)
{
	struct xs_evloop *owner = xs_evloop_new();
	struct xs_api_thread *t;

	fail_unless(owner, "owner loop");
	t = api_started(owner);
	fail_unless(t, "API thread");
	xs_api_thread_yield(t); /* outside the owner's callbacks: nothing */
	xs_evloop_add_timer(owner, 0.05, owner_yielding, t);
	ok(xs_evloop_run(owner, NULL) == XS_OK, "owner loop ran");
	ok(yield_ticks >= 10, "API handlers at the yields of one 120 ms callback: %d", yield_ticks);
	xs_api_thread_free(&t);
	xs_evloop_free(&owner);
}

/* What a deferred fn saw: run on the owner's thread, the API kept out while it ran. */
struct deferred {
	struct xs_api_thread *t;
	struct xs_evloop *owner;
	pthread_t owner_thread;
	int runs, which;       /* times run; the last fn_arg's tag */
	bool on_owner;         /* it ran on the owner's thread */
	int ticks_during;      /* API callbacks while it ran (100 ms) */
};

struct deferred_arg {
	struct deferred *d;
	int tag;
};

static void deferred_fn(void *arg)
{
	struct deferred_arg *da = arg;
	struct deferred *d = da->d;
	int before = atomic_load(&api_ticks);

	pause_ms(100);
	d->ticks_during = atomic_load(&api_ticks) - before;
	d->on_owner = pthread_equal(pthread_self(), d->owner_thread);
	d->runs++;
	d->which = da->tag;
	xs_evloop_stop(d->owner);
}

static struct deferred_arg da_one, da_two;

/* Another thread asks twice: the second replaces the first. */
static void *defer_thread(void *arg)
{
	struct deferred *d = arg;

	xs_api_thread_defer(d->t, deferred_fn, &da_one);
	xs_api_thread_defer(d->t, deferred_fn, &da_two);
	return NULL;
}

static void owner_stop(struct xs_evloop *loop, void *arg)
{
	(void)arg;
	xs_evloop_stop(loop);
}

/* xs_api_thread_defer from another thread: fn runs once on the owner's thread,
 * inside the lock (no API callback meanwhile); a second call before it ran
 * replaces the first; fn NULL cancels. The stats give the longest wait of work
 * asked (from the first ask: 50 ms and more here), 0 after their reset. */
static void test_defer(void)
{
	struct xs_evloop *owner = xs_evloop_new();
	struct deferred d = { .owner = owner, .owner_thread = pthread_self() };
	struct xs_api_thread_stats st;
	pthread_t th;
	uint64_t stop;

	fail_unless(owner, "owner loop");
	d.t = api_started(owner);
	fail_unless(d.t, "API thread");
	da_one = (struct deferred_arg){ .d = &d, .tag = 1 };
	da_two = (struct deferred_arg){ .d = &d, .tag = 2 };
	for (int i = 0; i < 5000 && atomic_load(&api_ticks) == 0; i++)
		pause_ms(1);
	fail_unless(pthread_create(&th, NULL, defer_thread, &d) == 0, "thread");
	pthread_join(th, NULL);
	pause_ms(50); /* the work waits before the owner's loop runs */
	stop = xs_evloop_add_timer(owner, 5.0, owner_stop, NULL);
	ok(xs_evloop_run(owner, NULL) == XS_OK, "owner loop ran");
	xs_evloop_cancel_timer(owner, stop);
	ok(d.runs == 1 && d.which == 2, "the second ask ran, once (runs %d, which %d)", d.runs, d.which);
	xs_api_thread_stats(d.t, &st, 1);
	ok(st.defer_wait_max_ms >= 50 && st.defer_wait_max_ms < 5000,
	   "its wait in the stats, from the first ask: %.1f ms", st.defer_wait_max_ms);
	xs_api_thread_stats(d.t, &st, 0);
	ok(st.defer_wait_max_ms == 0, "reset: %.1f ms", st.defer_wait_max_ms);
	ok(d.on_owner, "on the owner's thread");
	ok(d.ticks_during == 0, "inside the lock: no API callback while it ran (%d)", d.ticks_during);

	xs_api_thread_defer(d.t, deferred_fn, &da_one);
	xs_api_thread_defer(d.t, NULL, NULL);
	xs_evloop_add_timer(owner, 0.2, owner_stop, NULL);
	ok(xs_evloop_run(owner, NULL) == XS_OK, "owner loop ran again");
	ok(d.runs == 1, "cancelled: not run (runs %d)", d.runs);
	xs_api_thread_free(&d.t);
	xs_evloop_free(&owner);
}

static void test_lock(void)
{
	struct xs_evloop *owner = xs_evloop_new();
	struct probe p = { 0 };

	fail_unless(owner, "owner loop");
	p.t = api_started(owner);
	fail_unless(p.t, "API thread");
	for (int i = 0; i < 5000 && atomic_load(&api_ticks) == 0; i++)
		pause_ms(1);
	ok(atomic_load(&api_ticks) > 0, "the API's loop runs on its own");
	ok(atomic_load(&api_sig_blocked) == 1, "signals are blocked in the API's thread");

	/* outside the owner's callbacks the hooks do nothing (no lock is held) */
	xs_api_thread_io_begin(p.t);
	xs_api_thread_io_end(p.t);

	xs_evloop_add_timer(owner, 0, owner_first, &p);
	xs_evloop_add_timer(owner, 0.2, owner_cb, &p);
	ok(xs_evloop_run(owner, NULL) == XS_OK, "owner loop ran");
	ok(p.while_idle > 0, "API handlers while the owner's loop is idle (%d)", p.while_idle);
	ok(p.while_held == 0, "no API callback while the owner's callback holds the lock (%d)",
	   p.while_held);
	ok(p.while_io > 0, "API callbacks between io_begin and io_end (%d)", p.while_io);
	ok(p.after_io == 0, "none after io_end (%d)", p.after_io);

	xs_api_thread_stop(p.t);
	{
		int n = atomic_load(&api_ticks);

		pause_ms(20);
		ok(atomic_load(&api_ticks) == n, "stop joined the thread: no callback after it");
	}
	xs_api_thread_free(&p.t);
	ok(p.t == NULL, "free clears the pointer");
	xs_api_thread_free(&p.t);
	xs_evloop_free(&owner);
}

int main(void)
{
	TEST_RUN(test_lock);
	TEST_RUN(test_long_turn);
	TEST_RUN(test_yield);
	TEST_RUN(test_defer);
	return test_summary();
}
