/*
 * estate.h - the store benches' estate: xapi-sim's own series for HOSTS hosts.
 *
 * sim/world.c generates HOSTS hosts with ESTATE_VMS_PER_HOST VMs each (world
 * seed 1, created at ESTATE_T0) and sim/rrd_model.c derives the data sources
 * of every running host, running VM and shared SR with their sim_series
 * parameters, device seeds included, so an idle disk or NIC reads exactly 0 in
 * all of its data sources at once as the simulator serves it. The order is the
 * simulator's: hosts, then VMs, then SRs, each object's data sources in turn.
 * Used by store_bench.c (stores the values) and store_floor.c (bounds what
 * storing them must cost).
 */
#ifndef BENCH_ESTATE_H
#define BENCH_ESTATE_H

#include <stddef.h>

#include "rrd_model.h"
#include "store/store.h"
#include "workload.h"
#include "world.h"

#define ESTATE_T0 1700006400 /* a UTC midnight: the estate's creation, the benches' start */
#define ESTATE_VMS_PER_HOST 20

struct estate_series {
	enum xs_obj_kind kind;        /* host, VM or SR */
	char uuid[SIM_UUID_LEN];      /* the object's */
	char ds[SIM_DS_NAME_LEN];     /* data source name ("cpu0", "vbd_xvda_read") */
	char unit[XS_STORE_MAX_UNIT]; /* as the RRD declares it */
	struct sim_series p;          /* what sim_workload_value needs */
};

/* Plain data; zero-fill, then estate_init. */
struct estate {
	struct estate_series *s;          /* n series; owned */
	size_t n, cap;
	size_t per_kind[XS_NOBJ_KINDS];   /* series of hosts, VMs, SRs */
};

/* Fills e (zero-filled) with the series of an estate of `hosts` hosts. Exits
 * the process with a message when memory runs out (a bench has no way on). */
void estate_init(struct estate *e, int hosts);

/* Frees what estate_init allocated; e may then be initialised again. */
void estate_cleanup(struct estate *e);

#endif
