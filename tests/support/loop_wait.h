/*
 * loop_wait.h - test support: turn an event loop until a condition holds or
 * a deadline passes.
 *
 * The condition is tested inside the loop (first on its first turn, then
 * every LOOP_WAIT_TICK_S seconds), so the loop always turns at least once:
 * loop_wait(loop, NULL, NULL, secs) runs one turn and lets the loop handle
 * what is ready. Ownership: nothing is allocated; no timer of it is left
 * behind when it returns, even if something else stopped the loop first (it
 * then returns false). Limits: the loop must not be running already.
 */
#ifndef XS_TEST_LOOP_WAIT_H
#define XS_TEST_LOOP_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/evloop.h"

#define LOOP_WAIT_TICK_S 0.002

struct loop_wait_ctx {
	bool (*cond)(void *arg); /* NULL: holds at once */
	void *arg;
	double deadline;         /* xs_evloop_now() seconds */
	uint64_t timer;          /* the pending tick */
	bool held, stopped;      /* cond held; the tick stopped the loop */
};

static void loop_wait_tick(struct xs_evloop *loop, void *arg)
{
	struct loop_wait_ctx *w = arg;

	if (!w->cond || w->cond(w->arg)) {
		w->held = w->stopped = true;
		xs_evloop_stop(loop);
	} else if (xs_evloop_now() > w->deadline) {
		w->stopped = true;
		xs_evloop_stop(loop);
	} else {
		w->timer = xs_evloop_add_timer(loop, LOOP_WAIT_TICK_S, loop_wait_tick, w);
	}
}

/* Runs loop until cond(arg) holds (NULL: one turn) or secs pass; whether it held. */
__attribute__((unused)) static bool loop_wait(struct xs_evloop *loop, bool (*cond)(void *arg),
					      void *arg, double secs)
{
	struct loop_wait_ctx w = { cond, arg, xs_evloop_now() + secs, 0, false, false };

	w.timer = xs_evloop_add_timer(loop, 0, loop_wait_tick, &w);
	xs_evloop_run(loop, NULL);
	if (!w.stopped)
		xs_evloop_cancel_timer(loop, w.timer);
	return w.held;
}

#endif
