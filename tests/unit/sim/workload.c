/*
 * Tests of sim/workload.c: values are deterministic, stay inside each data
 * source's range, and look like load (CPUs are rarely pegged, disks mostly
 * idle, memory in plateaus).
 */
#include <math.h>

#include "../../../sim/workload.c"
#include "test.h"

static struct sim_series series(enum sim_metric m, uint64_t seed, double scale, double max)
{
	struct sim_series s = { .metric = m, .seed = seed, .scale = scale, .max = max };
	return s;
}

/* Over a day of 5 s steps for 200 CPUs: always in [0, 1], pegged (>= 0.95) almost never. */
static void test_cpu_range_and_saturation(void)
{
	size_t steps = 0, pegged = 0, out = 0, busy = 0;

	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct sim_series s = series(SIM_M_CPU, sim_hash2(seed, 42), 1, 1);

		for (int64_t t = 1700000000; t < 1700000000 + 86400; t += 5) {
			double v = sim_workload_value(&s, t);

			steps++;
			out += !(v >= 0 && v <= 1);
			pegged += v >= 0.95;
			busy += v >= 0.5;
		}
	}
	ok(out == 0, "%zu values outside [0, 1]", out);
	ok(pegged * 100 < steps, "%zu of %zu steps at 95%% or more", pegged, steps);
	ok(busy > 0, "some CPUs are busy at times (%zu steps >= 50%%)", busy);
}

static void test_deterministic(void)
{
	struct sim_series s = series(SIM_M_NET, 1234, 1e6, 1.25e8);
	bool same = true;

	for (int64_t t = 0; t < 3600; t += 5)
		same = same && sim_workload_value(&s, t) == sim_workload_value(&s, t);
	ok(same, "the same (seed, time) gives the same value");
	ok(sim_hash_str(1, "cpu0") == sim_hash_str(1, "cpu0") &&
		   sim_hash_str(1, "cpu0") != sim_hash_str(1, "cpu1"),
	   "name hashes are stable and distinct");
}

/* Summaries of history stay in range and are ordered min <= avg <= max. */
static void test_summary_range(void)
{
	size_t bad = 0;
	static const enum sim_metric metrics[] = { SIM_M_CPU, SIM_M_NET, SIM_M_DISK,
						   SIM_M_MEM_FREE_KIB, SIM_M_COUNT };

	for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		for (uint64_t seed = 1; seed <= 50; seed++) {
			double max = metrics[m] == SIM_M_CPU ? 1 : 1e9;
			struct sim_series s = series(metrics[m], seed * 77, metrics[m] == SIM_M_CPU ? 1 : 1e6, max);

			for (int64_t t = 1700000000; t < 1700000000 + 7 * 86400; t += 3600) {
				double avg, mn, mx;

				sim_workload_summary(&s, t, 3600, &avg, &mn, &mx);
				bad += !(mn >= 0 && mn <= avg + 1e-9 && avg <= mx + 1e-9 && mx <= max);
			}
		}
	}
	ok(bad == 0, "%zu summaries out of order or range", bad);
}

/* A disk is idle (exactly 0 in every one of its data sources at once) in most steps, busy in some. */
static void test_idle_devices(void)
{
	uint64_t obj = 99;
	uint64_t dev = sim_workload_device(obj, "vbd_xvda_read");
	struct sim_series rd = series(SIM_M_DISK, sim_hash_str(obj, "vbd_xvda_read"), 200e6, 1e300);
	struct sim_series io = series(SIM_M_IOPS, sim_hash_str(obj, "vbd_xvda_iops_read"), 4000, 1e300);
	size_t steps = 0, idle = 0, disagree = 0;

	ok(dev != 0 && dev == sim_workload_device(obj, "vbd_xvda_iops_total"), "one device seed per disk");
	ok(dev != sim_workload_device(obj, "vbd_xvdb_read"), "another disk, another seed");
	ok(sim_workload_device(obj, "vif_0_rx") == sim_workload_device(obj, "vif_0_tx"), "per VIF");
	ok(sim_workload_device(obj, "read_0a1b2c3d") == sim_workload_device(obj, "iops_total_0a1b2c3d"),
	   "per SR");
	ok(sim_workload_device(obj, "cpu0") == 0 && sim_workload_device(obj, "memory") == 0,
	   "no device for cpu and memory");
	rd.device = io.device = dev;
	for (int64_t t = 1700000000; t < 1700000000 + 86400; t += 5) {
		double a = sim_workload_value(&rd, t), b = sim_workload_value(&io, t);

		steps++;
		idle += a == 0;
		disagree += (a == 0) != (b == 0);
	}
	ok(idle > steps / 3 && idle < steps, "%zu of %zu steps idle", idle, steps);
	ok(disagree == 0, "%zu steps where the disk's data sources disagree on idleness", disagree);
}

int main(void)
{
	TEST_RUN(test_idle_devices);
	TEST_RUN(test_cpu_range_and_saturation);
	TEST_RUN(test_deterministic);
	TEST_RUN(test_summary_range);
	return test_summary();
}
