/*
 * workload.h - believable, deterministic metric values for xapi-sim.
 *
 * Every data source of every object follows a shape picked from its seed:
 * daily cycles, steady load, idle, bursts, memory plateaus, mostly idle disks
 * with bursts. A value is a pure function of (seed, data source, time), so
 * the same flags give the same numbers, any step can be computed without the
 * ones before it, and archive history can be synthesised at start.
 */
#ifndef SIM_WORKLOAD_H
#define SIM_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

/* What a data source measures: decides its shape, range, DS type and unit. */
enum sim_metric {
	SIM_M_CPU,          /* fraction 0..1 (vCPU, pCPU, cpu_avg, cpu_usage) */
	SIM_M_LOAD,         /* loadavg, hostload */
	SIM_M_MEM_BYTES,    /* VM memory, memory_target: constant while running */
	SIM_M_MEM_FREE_KIB, /* memory_internal_free, memory_free_kib: plateaus */
	SIM_M_MEM_TOTAL_KIB,
	SIM_M_NET,          /* bytes/s */
	SIM_M_DISK,         /* bytes/s, mostly idle with bursts */
	SIM_M_LATENCY,      /* µs */
	SIM_M_IOPS,         /* requests/s */
	SIM_M_THROUGHPUT,   /* MiB/s */
	SIM_M_IOWAIT,       /* s/s */
	SIM_M_QUEUE,        /* inflight, avgqu_sz */
	SIM_M_COUNT,        /* small gauges: open fds, sessions, tasks, running vcpus */
	SIM_M_KIB,          /* xapi memory figures */
};

/* Parameters of one data source's values. */
struct sim_series {
	enum sim_metric metric;
	uint64_t seed;      /* from the object's seed and the DS name */
	double scale;       /* typical magnitude (memory size, link speed...) */
	double max;         /* upper bound (max of the DS); values never exceed it */
	uint64_t device;    /* shared by the data sources of one disk or NIC, 0 if none:
			     * an idle device reads exactly 0 in all of them at once */
};

/* The 5 s value at time t (a multiple of 5). */
double sim_workload_value(const struct sim_series *s, int64_t t);

/* What chance decides in a value, given everything else the model knows. */
enum sim_spread_kind {
	SIM_SPREAD_CONST, /* the value is lo (== hi) at every step: memory sizes */
	SIM_SPREAD_FLOOR, /* floor(u), u uniform on [lo, hi), clamped into [0, max]:
			   * memory free (a draw per step), counts (a draw per minute) */
	SIM_SPREAD_NOISY, /* sim_workload_noisy(s, t, noise), noise uniform on [-0.5, 0.5):
			   * every other metric (level times 1 + 0.4 * noise) */
};

/* The uncertainty of the value of a series at one step: what a coder that
 * knows every level, plateau and busy probability of the model still cannot
 * predict. Filled by sim_workload_spread; plain data, callers keep it on the
 * stack. */
struct sim_spread {
	enum sim_spread_kind kind;
	double p_busy;  /* probability the step is busy; an idle step of a gated series
			 * (disk, NIC) reads exactly 0, drawn anew every 5 s step and
			 * shared by the device's data sources; 1 for ungated series */
	double lo, hi;  /* CONST: the value. FLOOR: the interval u is uniform on (hi is
			 * reached only by rounding). NOISY: the busy value at noise -0.5
			 * and at noise +0.5 (the supremum), after saturation and clamp */
	double p_max;   /* probability (given busy) that the clamp pins the value at max:
			 * FLOOR P(floor(u) > max), NOISY the share of the noise range whose
			 * value would exceed max; 0 when hi stays below max, as in every
			 * data source of xapi-sim (max is 1 for CPUs, else infinite) */
	int64_t period; /* seconds one draw lasts: 5, or 60 for counts (aligned minutes) */
	bool affine;    /* NOISY: the value is affine in the noise, i.e. uniform on [lo, hi)
			 * up to the clamp; false for CPUs, whose soft saturation packs the
			 * upper values closer (use sim_workload_noisy for the density) */
};

/* The spread of the value of s at time t (a multiple of 5) into *out.
 * sim_workload_value(s, t) is 0 in an idle step, else: CONST lo; FLOOR a whole
 * number in [floor(lo), floor(hi)] (or max when pinned); NOISY a value in
 * [lo, hi], equal to sim_workload_noisy(s, t, noise) at the step's own noise.
 * Consecutive steps are independent given their spreads, except that a count
 * keeps its value for the whole minute. Costs about two sim_workload_value
 * calls (one more bisection when the clamp can bite). */
void sim_workload_spread(const struct sim_series *s, int64_t t, struct sim_spread *out);

/* The busy value of a SIM_SPREAD_NOISY series at time t if the step's noise
 * were `noise` (in [-0.5, 0.5]): non-decreasing in noise, saturated and
 * clamped as sim_workload_value does. Meaningless for the other kinds. */
double sim_workload_noisy(const struct sim_series *s, int64_t t, double noise);

/* A consolidated value for a period [t - period, t): the mean the 5 s values
 * would have, and a believable min and max around it, computed without
 * visiting the steps (for history before the simulator started). */
void sim_workload_summary(const struct sim_series *s, int64_t t, int64_t period, double *avg,
			  double *min, double *max);

/* The device seed of a data-source name under object seed `seed`: "vbd_xvda_read"
 * → the disk xvda, "vif_0_rx" → VIF 0, "read_<sr8>" → the SR, else 0. */
uint64_t sim_workload_device(uint64_t seed, const char *ds);

/* A 64-bit hash of a string, to derive seeds from names. */
uint64_t sim_hash_str(uint64_t seed, const char *s);
/* A 64-bit mix of two numbers (splitmix64 finaliser). */
uint64_t sim_hash2(uint64_t a, uint64_t b);

#endif
