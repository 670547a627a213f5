/*
 * clock.h - simulator time.
 *
 * In real mode the simulated estate lives on the wall clock. In manual mode
 * (tests) time stands still until the control interface advances it, so a
 * test can step the RRDs exactly. Per-host clock skew is added by whoever
 * reports a host's time (host.get_servertime, RRD timestamps).
 */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct sim_clock {
	bool manual;      /* time moves only through sim_clock_advance */
	double offset;    /* real mode: seconds added to the wall clock */
	double now;       /* manual mode: the current time */
};

/* Real-time clock, or a manual one starting at `start` (unix seconds). */
void sim_clock_init(struct sim_clock *c, bool manual, double start);
/* Unix seconds in simulated time. */
double sim_clock_now(const struct sim_clock *c);
/* Moves a manual clock forward (seconds >= 0); returns false on a real clock. */
bool sim_clock_advance(struct sim_clock *c, double seconds);

#endif
