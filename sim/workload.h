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
