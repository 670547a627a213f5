/*
 * clock.c - simulator time (see clock.h).
 */
#include "clock.h"

#include <time.h>

static double clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sim_clock_init(struct sim_clock *c, bool manual, double start)
{
	c->manual = manual;
	c->offset = 0;
	c->now = manual ? start : 0;
}

double sim_clock_now(const struct sim_clock *c)
{
	return c->manual ? c->now : clock_wall() + c->offset;
}

bool sim_clock_advance(struct sim_clock *c, double seconds)
{
	if (!c->manual || seconds < 0)
		return false;
	c->now += seconds;
	return true;
}
