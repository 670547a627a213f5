/*
 * workload.c - deterministic metric values (see workload.h).
 *
 * A value is  level(t) * (1 + noise)  clamped into [0, max], where level is
 * the series' base (scale times a shape factor chosen by the seed) times a
 * daily cycle, plus bursts that switch on for whole 5-minute windows with a
 * seed-dependent probability. Noise comes from hashing (seed, step). Memory
 * figures move in plateaus of a few hours instead.
 *
 * sim_workload_value and sim_workload_spread share the helpers that turn a
 * noise into a value, so the spread's bounds are those very formulas at the
 * noise's ends and cannot drift from the values served.
 */
#include "workload.h"

#include <math.h>
#include <string.h>

#define WL_DAY 86400
#define WL_BURST_WINDOW 300  /* seconds a burst lasts */
#define WL_PLATEAU 10800     /* seconds a memory plateau lasts */

uint64_t sim_hash2(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t sim_workload_device(uint64_t seed, const char *ds)
{
	const char *us;
	size_t n;
	char key[64];

	if (!strncmp(ds, "vbd_", 4) || !strncmp(ds, "vif_", 4) || !strncmp(ds, "pif_", 4)) {
		us = strchr(ds + 4, '_');
		n = us ? (size_t)(us - ds) : strlen(ds);
	} else {
		/* SR statistics of a host end in "_<first 8 characters of the SR uuid>" */
		us = strrchr(ds, '_');
		if (!us || strlen(us + 1) != 8 || strspn(us + 1, "0123456789abcdef") != 8)
			return 0;
		ds = us + 1;
		n = 8;
	}
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	memcpy(key, ds, n);
	key[n] = '\0';
	return sim_hash_str(seed, key) | 1; /* never 0: 0 means "no device" */
}

uint64_t sim_hash_str(uint64_t seed, const char *s)
{
	uint64_t h = seed ^ 0xCBF29CE484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
	return sim_hash2(h, seed);
}

/* A uniform number in [0, 1) from a hash. */
static double wl_unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* The daily cycle in [1 - depth, 1 + depth], peaking at the series' hour. */
static double wl_daily(const struct sim_series *s, int64_t t)
{
	double phase = wl_unit(sim_hash2(s->seed, 1)) * 2 * M_PI;
	double depth = 0.2 + 0.6 * wl_unit(sim_hash2(s->seed, 2));
	double x = 2 * M_PI * (double)(t % WL_DAY) / WL_DAY;

	return 1.0 + depth * sin(x - phase);
}

/* The shape factor of a series: idle, light, steady or busy. */
static double wl_base(const struct sim_series *s)
{
	double u = wl_unit(sim_hash2(s->seed, 3));

	switch (s->metric) {
	case SIM_M_CPU:
		return u < 0.3 ? 0.01 + 0.03 * u : u < 0.8 ? 0.05 + 0.3 * u : 0.3 + 0.5 * u;
	case SIM_M_DISK:
	case SIM_M_IOPS:
	case SIM_M_THROUGHPUT:
	case SIM_M_IOWAIT:
	case SIM_M_QUEUE:
		return 0.005 + 0.05 * u; /* mostly idle disks */
	default:
		return 0.1 + 0.6 * u;
	}
}

/* Probability of a burst in a given window, and its height (times the level). */
static double wl_burst(const struct sim_series *s, int64_t t)
{
	uint64_t w = sim_hash2(s->seed ^ 0xB0B0, (uint64_t)(t / WL_BURST_WINDOW));
	double p = s->metric == SIM_M_DISK || s->metric == SIM_M_IOPS ||
				   s->metric == SIM_M_THROUGHPUT
			   ? 0.08
			   : 0.03;

	if (wl_unit(w) >= p)
		return 0.0;
	return 2.0 + 8.0 * wl_unit(sim_hash2(w, 7));
}

/* Devices that only carry traffic now and then: disks, and NICs. */
static bool wl_gated(const struct sim_series *s)
{
	switch (s->metric) {
	case SIM_M_DISK:
	case SIM_M_IOPS:
	case SIM_M_THROUGHPUT:
	case SIM_M_IOWAIT:
	case SIM_M_QUEUE:
	case SIM_M_LATENCY:
	case SIM_M_NET:
		return s->device != 0;
	default:
		return false;
	}
}

/* Fraction of 5 s steps in which a device does any I/O: disks 10-50%, NICs 50-95%. */
static double wl_activity(const struct sim_series *s)
{
	double u = wl_unit(sim_hash2(s->device, 5));

	return s->metric == SIM_M_NET ? 0.5 + 0.45 * u : 0.1 + 0.4 * u;
}

/* Whether the device is busy in the 5 s step at t (every data source of it agrees). */
static bool wl_device_busy(const struct sim_series *s, int64_t t)
{
	return wl_unit(sim_hash2(s->device ^ 0xD15C, (uint64_t)(t / 5))) < wl_activity(s);
}

static double wl_clamp(double v, double max)
{
	if (v < 0)
		return 0;
	return v > max ? max : v;
}

/* A busy CPU approaches 100% without sitting on it: soft saturation, about
 * the identity below 0.5 (0.3 → 0.29, 0.8 → 0.65, 2 → 0.89, 10 → 0.95). */
static double wl_cpu_saturate(double level)
{
	return level <= 0 ? 0 : 0.95 * (1.0 - exp(-level / 0.95));
}

/* Memory that moves in plateaus between 30% and 90% of scale. */
static double wl_plateau(const struct sim_series *s, int64_t t)
{
	double u = wl_unit(sim_hash2(s->seed, (uint64_t)(t / WL_PLATEAU)));

	return s->scale * (0.3 + 0.6 * u);
}

/* The noise of the step at t, uniform in [-0.5, 0.5). */
static double wl_noise(const struct sim_series *s, int64_t t)
{
	return wl_unit(sim_hash2(s->seed, (uint64_t)t)) - 0.5;
}

/* Memory free before flooring: the plateau plus 256 KiB of noise. */
static double wl_free_u(const struct sim_series *s, int64_t t, double noise)
{
	return wl_plateau(s, t) + 256.0 * noise;
}

/* A count before flooring, from the minute's draw u in [0, 1). */
static double wl_count_u(const struct sim_series *s, double u)
{
	return s->scale * (0.5 + u);
}

/* A noisy value before the clamp: the level with its cycle and burst, times the noise. */
static double wl_noisy_raw(const struct sim_series *s, int64_t t, double noise)
{
	double level = s->scale * wl_base(s) * wl_daily(s, t);

	level *= 1.0 + wl_burst(s, t);
	level *= 1.0 + 0.4 * noise;
	if (s->metric == SIM_M_CPU)
		level = wl_cpu_saturate(level);
	return level;
}

double sim_workload_noisy(const struct sim_series *s, int64_t t, double noise)
{
	return wl_clamp(wl_noisy_raw(s, t, noise), s->max);
}

double sim_workload_value(const struct sim_series *s, int64_t t)
{
	double noise = wl_noise(s, t);

	switch (s->metric) {
	case SIM_M_MEM_BYTES:
	case SIM_M_MEM_TOTAL_KIB:
		return s->scale;
	case SIM_M_MEM_FREE_KIB:
		return wl_clamp(floor(wl_free_u(s, t, noise)), s->max);
	case SIM_M_COUNT:
		return floor(wl_clamp(wl_count_u(s, wl_unit(sim_hash2(s->seed, (uint64_t)t / 60))),
				      s->max));
	default:
		break;
	}
	if (wl_gated(s) && !wl_device_busy(s, t))
		return 0.0; /* an idle disk or NIC reads exactly 0, as xcp-rrdd reports it */
	return sim_workload_noisy(s, t, noise);
}

/* Share of [lo, hi) where floor(u) exceeds max, i.e. u >= floor(max) + 1. */
static double wl_floor_p_max(double lo, double hi, double max)
{
	double cut = floor(max) + 1;

	if (!(hi > lo))
		return floor(lo) > max ? 1.0 : 0.0;
	if (cut <= lo)
		return 1.0;
	return hi > cut ? (hi - cut) / (hi - lo) : 0.0;
}

/* Share of the noise range whose raw value exceeds max. The raw value grows with
 * the noise, so the cut is found by bisection; 60 halvings reach the noise's
 * own resolution. */
static double wl_noisy_p_max(const struct sim_series *s, int64_t t)
{
	double a = -0.5, b = 0.5;

	if (!(wl_noisy_raw(s, t, b) > s->max))
		return 0.0;
	if (wl_noisy_raw(s, t, a) > s->max)
		return 1.0;
	for (int i = 0; i < 60; i++) {
		double m = 0.5 * (a + b);

		if (wl_noisy_raw(s, t, m) > s->max)
			b = m;
		else
			a = m;
	}
	return 0.5 - b;
}

void sim_workload_spread(const struct sim_series *s, int64_t t, struct sim_spread *out)
{
	memset(out, 0, sizeof(*out));
	out->p_busy = wl_gated(s) ? wl_activity(s) : 1.0;
	out->period = 5;
	switch (s->metric) {
	case SIM_M_MEM_BYTES:
	case SIM_M_MEM_TOTAL_KIB:
		out->kind = SIM_SPREAD_CONST;
		out->lo = out->hi = s->scale;
		return;
	case SIM_M_MEM_FREE_KIB:
		out->kind = SIM_SPREAD_FLOOR;
		out->lo = wl_free_u(s, t, -0.5);
		out->hi = wl_free_u(s, t, 0.5);
		out->p_max = wl_floor_p_max(out->lo, out->hi, s->max);
		return;
	case SIM_M_COUNT:
		out->kind = SIM_SPREAD_FLOOR;
		out->lo = wl_count_u(s, 0.0);
		out->hi = wl_count_u(s, 1.0);
		out->p_max = wl_floor_p_max(out->lo, out->hi, s->max);
		out->period = 60;
		return;
	default:
		break;
	}
	out->kind = SIM_SPREAD_NOISY;
	out->lo = sim_workload_noisy(s, t, -0.5);
	out->hi = sim_workload_noisy(s, t, 0.5);
	out->p_max = wl_noisy_p_max(s, t);
	out->affine = s->metric != SIM_M_CPU;
}

void sim_workload_summary(const struct sim_series *s, int64_t t, int64_t period, double *avg,
			  double *min, double *max)
{
	int64_t mid = t - period / 2;

	switch (s->metric) {
	case SIM_M_MEM_BYTES:
	case SIM_M_MEM_TOTAL_KIB:
		*avg = *min = *max = s->scale;
		return;
	case SIM_M_MEM_FREE_KIB:
		*avg = wl_plateau(s, mid);
		*min = wl_clamp(*avg * 0.9, s->max);
		*max = wl_clamp(*avg * 1.1, s->max);
		return;
	case SIM_M_COUNT:
		*avg = wl_clamp(s->scale, s->max);
		*min = floor(*avg * 0.5);
		*max = floor(wl_clamp(*avg * 1.5, s->max));
		return;
	default:
		break;
	}
	*avg = wl_clamp(s->scale * wl_base(s) * wl_daily(s, mid), s->max);
	*min = *avg * 0.8;
	/* over a long period some burst is likely: the max shows it */
	*max = wl_clamp(*avg * (period >= WL_BURST_WINDOW ? 3.0 : 1.2), s->max);
	if (wl_gated(s)) {
		*avg *= wl_activity(s); /* idle steps count as 0 */
		*min = 0;
	}
	if (s->metric == SIM_M_CPU) {
		*avg = wl_cpu_saturate(*avg);
		*min = wl_cpu_saturate(*min);
		*max = wl_cpu_saturate(*max);
	}
}
