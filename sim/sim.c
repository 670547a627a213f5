/*
 * sim.c - what every part of xapi-sim asks of struct sim: a host's time.
 *
 * Kept apart from the request routing (route.c) on purpose: the RPC and RRD
 * handlers need a host's time, and linking them must not pull in every other
 * handler through sim_route().
 */
#include "sim.h"

double sim_host_now(const struct sim *sim, int host)
{
	const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, host);
	double now = sim_clock_now(&sim->clock);

	return h ? now + (double)h->faults.skew : now;
}
