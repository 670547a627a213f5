/*
 * Tests of sim/workload.c: values are deterministic, stay inside each data
 * source's range, and look like load (CPUs are rarely pegged, disks mostly
 * idle, memory in plateaus); sim_workload_spread describes exactly the range
 * and the odds the values are drawn from.
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

/* A series of every metric for the spread tests: gated metrics with and without a device. */
static struct sim_series spread_series(enum sim_metric m, uint64_t seed, bool device)
{
	double scale = m == SIM_M_CPU ? 1 : m == SIM_M_COUNT ? 40 : 1e6;
	struct sim_series s = series(m, sim_hash2(seed, m), scale, m == SIM_M_CPU ? 1 : INFINITY);

	s.device = device ? sim_hash2(seed, 0xDE5) | 1 : 0;
	return s;
}

/* Where v lies in [lo, hi), as a share of the interval. */
static double spread_position(double v, double lo, double hi)
{
	return (v - lo) / (hi - lo);
}

struct spread_tally {
	size_t steps, bad_kind, bad_busy, bad_zero, outside, off_noise, moved, idle;
	double pos_min, pos_max;
};

/* Checks one step of s against its spread; the tally keeps the failures. */
static void spread_check_step(const struct sim_series *s, int64_t t, struct spread_tally *y)
{
	struct sim_spread sp;
	double v = sim_workload_value(s, t), noise = wl_noise(s, t);
	bool gated = wl_gated(s), idle = gated && !wl_device_busy(s, t);

	sim_workload_spread(s, t, &sp);
	y->steps++;
	y->bad_busy += gated ? !(sp.p_busy > 0 && sp.p_busy < 1) : sp.p_busy != 1;
	y->bad_zero += (v == 0) != idle;
	y->idle += idle;
	y->bad_kind += sp.p_max != 0 || sp.period != (s->metric == SIM_M_COUNT ? 60 : 5);
	switch (sp.kind) {
	case SIM_SPREAD_CONST:
		y->bad_kind += s->metric != SIM_M_MEM_BYTES && s->metric != SIM_M_MEM_TOTAL_KIB;
		y->outside += !(v == sp.lo && sp.lo == sp.hi);
		return;
	case SIM_SPREAD_FLOOR:
		y->bad_kind += s->metric != SIM_M_MEM_FREE_KIB && s->metric != SIM_M_COUNT;
		y->outside += !(v == floor(v) && v >= floor(sp.lo) && v <= floor(sp.hi));
		y->moved += s->metric == SIM_M_COUNT && v != sim_workload_value(s, t - t % 60);
		break;
	case SIM_SPREAD_NOISY:
		y->bad_kind += sp.affine != (s->metric != SIM_M_CPU) || !(sp.lo < sp.hi);
		if (idle)
			return;
		y->outside += !(v >= sp.lo && v <= sp.hi && v > 0);
		y->off_noise += v != sim_workload_noisy(s, t, noise);
		/* an affine value sits in its interval where its noise sits in [-0.5, 0.5) */
		y->off_noise +=
			sp.affine && fabs(spread_position(v, sp.lo, sp.hi) - (noise + 0.5)) > 1e-9;
		break;
	}
	/* a whole number v stands for u in [v, v + 1) */
	if (spread_position(v, sp.lo, sp.hi) < y->pos_min)
		y->pos_min = spread_position(v, sp.lo, sp.hi);
	v += sp.kind == SIM_SPREAD_FLOOR;
	if (spread_position(v, sp.lo, sp.hi) > y->pos_max)
		y->pos_max = spread_position(v, sp.lo, sp.hi);
}

/* For a day of 5 s steps of every metric: each value is inside its spread (0 exactly when the
 * device is idle), the values reach both ends of it (it is not too wide), and idle steps come
 * as often as p_busy says. */
static void test_spread_holds_values(void)
{
	size_t bad_idle_share = 0, loose = 0, nseries = 0;
	struct spread_tally y = { 0 };

	for (int m = SIM_M_CPU; m <= SIM_M_KIB; m++) {
		for (uint64_t seed = 1; seed <= 4; seed++) {
			for (int dev = 0; dev < 2; dev++) {
				struct sim_series s = spread_series((enum sim_metric)m, seed, dev);
				struct sim_spread sp;
				size_t idle0 = y.idle;

				y.pos_min = 1e300;
				y.pos_max = -1e300;
				for (int64_t t = 1700006400; t < 1700006400 + 86400; t += 5)
					spread_check_step(&s, t, &y);
				sim_workload_spread(&s, 1700006400, &sp);
				bad_idle_share +=
					fabs((double)(y.idle - idle0) / 17280 - (1 - sp.p_busy)) > 0.02;
				if (sp.kind != SIM_SPREAD_CONST)
					loose += !(y.pos_min < 0.02 && y.pos_max > 0.98);
				nseries++;
			}
		}
	}
	ok(y.bad_kind == 0, "%zu steps with the wrong kind, period, p_max or interval", y.bad_kind);
	ok(y.bad_busy == 0, "%zu steps whose p_busy is not in (0, 1) exactly for gated series",
	   y.bad_busy);
	ok(y.bad_zero == 0 && y.idle > 0,
	   "%zu steps read 0 but were busy, or were idle but not 0 (%zu idle)", y.bad_zero, y.idle);
	ok(y.outside == 0, "%zu of %zu values outside their spread", y.outside, y.steps);
	ok(y.off_noise == 0, "%zu values not where their noise puts them", y.off_noise);
	ok(y.moved == 0, "%zu counts changed inside a minute", y.moved);
	ok(loose == 0, "%zu of %zu series whose values do not reach both ends of the spread", loose,
	   nseries);
	ok(bad_idle_share == 0, "%zu series whose idle share is off 1 - p_busy by more than 0.02",
	   bad_idle_share);
}

/* Steps of s where the clamp pins the value at max, and steps where p_max disagrees: the value
 * is pinned exactly when its noise lies in the top p_max of [-0.5, 0.5) (the cut is found by
 * bisection, so noises within 1e-9 of it are not judged). */
static void spread_check_clamp(const struct sim_series *s, size_t *pinned, size_t *wrong)
{
	for (int64_t t = 1700006400; t < 1700006400 + 3 * 86400; t += 5) {
		struct sim_spread sp;
		double v = sim_workload_value(s, t), above;

		sim_workload_spread(s, t, &sp);
		above = wl_noise(s, t) + 0.5 - (1 - sp.p_max);
		*pinned += v == s->max;
		*wrong += v > s->max || (sp.p_max > 0 && sp.hi != s->max) ||
			  (fabs(above) > 1e-9 && (v == s->max) != (above > 0));
	}
}

/* A clamp that bites: p_max is the share of the noise whose values are pinned at max (NIC,
 * CPU) and, for a count, the share of draws above max, which the clamp folds into max's own
 * share (checked against 30 days of minutes within 5 standard deviations, the variance of a
 * sum of independent draws being at most its mean). */
static void test_spread_clamp(void)
{
	struct sim_series nic = series(SIM_M_NET, 777, 1e6, 6e5);
	struct sim_series cpu = series(SIM_M_CPU, 778, 1, 0.2);
	struct sim_series cnt = series(SIM_M_COUNT, 779, 40, 45);
	size_t pinned = 0, wrong = 0, pinned_cpu = 0, wrong_cpu = 0, pinned_cnt = 0, minutes = 0;
	double want_cnt = 0;

	spread_check_clamp(&nic, &pinned, &wrong);
	spread_check_clamp(&cpu, &pinned_cpu, &wrong_cpu);
	ok(pinned > 1000 && wrong == 0, "NIC: %zu steps at max, %zu disagree with p_max", pinned,
	   wrong);
	ok(pinned_cpu > 100 && wrong_cpu == 0, "CPU: %zu steps at max, %zu disagree with p_max",
	   pinned_cpu, wrong_cpu);
	for (int64_t t = 1700006400; t < 1700006400 + 30 * 86400; t += 60) {
		struct sim_spread sp;

		sim_workload_spread(&cnt, t, &sp);
		want_cnt += sp.p_max + 1 / (sp.hi - sp.lo); /* pinned, or drawn as 45 */
		pinned_cnt += sim_workload_value(&cnt, t) == cnt.max;
		minutes++;
	}
	ok(fabs((double)pinned_cnt - want_cnt) < 5 * sqrt(want_cnt),
	   "count at max in %zu of %zu minutes, p_max says %.0f", pinned_cnt, minutes, want_cnt);
}

int main(void)
{
	TEST_RUN(test_idle_devices);
	TEST_RUN(test_cpu_range_and_saturation);
	TEST_RUN(test_deterministic);
	TEST_RUN(test_summary_range);
	TEST_RUN(test_spread_holds_values);
	TEST_RUN(test_spread_clamp);
	return test_summary();
}
