/*
 * store_floor.c - the oracle floor of the store's bytes per sample on
 * xapi-sim's workload: what any lossless per-series coder must spend.
 *
 * usage: store_floor [HOSTS [HOURS [MEASURED_5S MEASURED_1M MEASURED_ALL]]]
 *   HOSTS, HOURS  the estate of bench/estate.c (default 5 hosts x 20 VMs) and
 *                 HOURS of 5 s steps from ESTATE_T0, as bench/store_bench.c
 *   MEASURED_*    store_bench's bytes per 5 s sample (5 s segments, 1 min
 *                 segments, all files), to print the gaps next to the floor
 * Prints "key value" lines for bench/store_bench.sh; lines starting with '#'
 * state the method.
 *
 * The oracle knows everything sim/workload.c knows but the dice: every level,
 * plateau, busy probability and the shape of the noise, as
 * sim_workload_spread reports them; what is left is the entropy of the
 * float32 value each step stores. Values of different series and steps are
 * independent given their spreads (a count keeps its draw for a minute; a
 * device's data sources share its busy/idle draw, which a per-series coder
 * cannot see: the shared figure is printed apart).
 *
 * 5 s tier, exact but for the two partial float32 patterns at an interval's
 * ends: an idle-or-busy indicator, -p log p - (1-p) log (1-p), then given busy
 *   - a noisy value: noise uniform on [-0.5, 0.5) mapped onto [lo, hi); a
 *     uniform part [a, b) of mass m holds m * log2(n_i / m_i) bits summed over
 *     the binades it crosses (n_i float32 patterns and mass m_i in binade i);
 *     a CPU's saturation is cut into pieces that are uniform to 0.2 %, and a
 *     clamp's share at max is one more pattern;
 *   - memory free, counts: the exact distribution of (float)floor(u) (a large
 *     memory figure loses its low bits to float32, so less than 8 bits);
 *     a count's draw is charged once a minute; constants cost nothing.
 * 1 min tier (avg, min, max as float32; avg = (float)(sum / 12)), an
 * ESTIMATE per series-minute, the level taken as constant in the minute:
 *   - noisy: K ~ Binomial(12, p) busy steps; the K visible through avg (and
 *     through min > 0 for K = 12, avg = 0 for K = 0) plus, given K: avg as
 *     lo*K/12 + W/12 * (Irwin-Hall sum of K uniforms), max of K uniforms
 *     (Beta(K, 1)), min of 12 when K = 12 (Beta(1, 12)), each a differential
 *     entropy minus log2 of the float32 ulp where it lies. It ignores the
 *     dependence between avg, min and max (about 0.4 bits a minute for an
 *     ungated series: given min and max the avg's spread is ~0.77 of its own),
 *     the K information in the max, and a CPU's saturation (uniform on
 *     [lo, hi)). So it leans high by about 1 %.
 *   - memory free: min and max exact from the float32 distribution; avg exact
 *     (12-fold convolution) when the draw has at most FLOOR_CONV_MAX float32
 *     values, else the Irwin-Hall sum on the coarser of the 1/12 lattice and
 *     the avg's ulp; counts: the minute's one value; constants nothing.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "estate.h"
#include "workload.h"

#define FLOOR_STEP 5             /* seconds between samples */
#define FLOOR_PER_MIN 12         /* 5 s samples in a 1 min point */
#define FLOOR_PMF_MAX 4096       /* whole numbers one floor(u) draw may span */
#define FLOOR_CONV_MAX 64        /* float32 values up to which a minute's avg is convolved */
#define FLOOR_BEND 0.002         /* midpoint bend under which a piece counts as uniform */
#define FLOOR_MAX_DEPTH 16       /* halvings of a saturated noise interval, at most */
#define FLOOR_IH_STEP 1e-3       /* grid of the Irwin-Hall densities, in noise widths */
#define FLOOR_NMETRICS (SIM_M_KIB + 1)

static const char *const floor_metric_name[FLOOR_NMETRICS] = {
	"cpu",     "load",    "mem_bytes", "mem_free_kib", "mem_total_kib", "net",   "disk",
	"latency", "iops",    "throughput", "iowait",      "queue",         "count", "kib",
};

static void floor_die(const char *what)
{
	fprintf(stderr, "store_floor: %s\n", what);
	exit(1);
}

/* --- float32 quantisation --- */

/* Distance between float32 patterns at x >= 0 (subnormal spacing below 2^-126). */
static double floor_ulp(double x)
{
	int e;

	x = fabs(x);
	if (x < 0x1p-126)
		return 0x1p-149;
	frexp(x, &e); /* x in [2^(e-1), 2^e) */
	return ldexp(1.0, e - 24);
}

/* Bits of mass m spread uniformly on [a, b) (0 <= a), rounded to float32: the
 * sum over binades of m_i * log2(n_i / m_i). A piece narrower than a pattern
 * counts as one pattern. */
static double floor_uniform_bits(double a, double b, double m)
{
	double h = 0;

	if (!(m > 0))
		return 0;
	if (!(b > a))
		return -m * log2(m);
	for (double x = a; x < b;) {
		double end = 0x1p-126, ulp = 0x1p-149, seg, mi, n;
		int e;

		if (x >= 0x1p-126) {
			frexp(x, &e);
			end = ldexp(1.0, e);
			ulp = ldexp(1.0, e - 24);
		}
		seg = (end < b ? end : b) - x;
		mi = m * seg / (b - a);
		n = seg / ulp;
		h += mi * log2((n > 1 ? n : 1) / mi);
		x = end;
	}
	return h;
}

/* Bits of the noise interval [na, nb) of a noisy value whose ends map to va, vb:
 * halved until the map bends less than FLOOR_BEND of its rise (a quadratic
 * bend d costs about 3.9 d^2 bits when ignored: 1.5e-5 here). */
static double floor_piece_bits(const struct sim_series *s, int64_t t, double na, double nb,
			       double va, double vb, int depth)
{
	double nm = 0.5 * (na + nb), vm = sim_workload_noisy(s, t, nm);

	if (depth >= FLOOR_MAX_DEPTH || fabs(vm - 0.5 * (va + vb)) <= FLOOR_BEND * (vb - va))
		return floor_uniform_bits(va, vb, nb - na);
	return floor_piece_bits(s, t, na, nm, va, vm, depth + 1) +
	       floor_piece_bits(s, t, nm, nb, vm, vb, depth + 1);
}

/* Bits of a busy noisy value: the clamp's share at max as one pattern, the rest
 * uniform in the noise. */
static double floor_noisy_bits(const struct sim_series *s, int64_t t, const struct sim_spread *sp)
{
	double pm = sp->p_max, h = pm > 0 ? -pm * log2(pm) : 0, cut = 0.5 - pm;

	if (!(cut > -0.5))
		return h;
	if (sp->affine)
		return h + floor_uniform_bits(sp->lo, pm > 0 ? s->max : sp->hi, 1 - pm);
	return h + floor_piece_bits(s, t, -0.5, cut, sp->lo, sim_workload_noisy(s, t, cut), 0);
}

static double floor_h2(double p)
{
	return p > 0 && p < 1 ? -p * log2(p) - (1 - p) * log2(1 - p) : 0;
}

/* --- floor(u) draws: memory free, counts --- */

/* The float32 distribution of a floor(u) draw, with the 1 min figures it implies. */
struct floor_pmf {
	double lo, hi, max;          /* the draw described (a cache key) */
	size_t n;                    /* distinct float32 values */
	double v[FLOOR_PMF_MAX + 1]; /* ascending */
	double m[FLOOR_PMF_MAX + 1]; /* their probabilities */
	double bits;                 /* entropy of one draw */
	double bits_minute;          /* of a minute's avg, min and max; < 0 until computed */
};

static void floor_pmf_add(struct floor_pmf *p, double x, double m)
{
	double f = (double)(float)x;

	if (p->n && p->v[p->n - 1] == f) {
		p->m[p->n - 1] += m;
		return;
	}
	p->v[p->n] = f;
	p->m[p->n++] = m;
}

/* The distribution of clamp(floor(u)) into [0, max] for u uniform on [lo, hi),
 * kept in p until the draw changes. */
static void floor_pmf_make(struct floor_pmf *p, const struct sim_spread *sp, double max)
{
	double w = sp->hi - sp->lo, k0 = floor(sp->lo), k1 = floor(sp->hi);

	if (p->n && p->lo == sp->lo && p->hi == sp->hi && p->max == max)
		return;
	p->lo = sp->lo;
	p->hi = sp->hi;
	p->max = max;
	p->n = 0;
	p->bits = 0;
	p->bits_minute = -1;
	if (!(w > 0)) {
		floor_pmf_add(p, fmin(fmax(k0, 0), max), 1);
		return;
	}
	if (k1 - k0 > FLOOR_PMF_MAX)
		floor_die("a floor(u) draw spans too many whole numbers");
	for (double k = k0; k <= k1; k++) {
		double m = (fmin(k + 1, sp->hi) - fmax(k, sp->lo)) / w;

		if (m > 0)
			floor_pmf_add(p, fmin(fmax(k, 0), max), m);
	}
	for (size_t j = 0; j < p->n; j++)
		p->bits -= p->m[j] * log2(p->m[j]);
}

/* Bits of the min (top false) or the max of 12 draws: P(min = v_j) is
 * P(X >= v_j)^12 - P(X > v_j)^12, the max mirrored. */
static double floor_pmf_extreme_bits(const struct floor_pmf *p, bool top)
{
	double h = 0, tail = 1;

	for (size_t i = 0; i < p->n; i++) {
		size_t j = top ? p->n - 1 - i : i;
		double next = fmax(tail - p->m[j], 0);
		double q = pow(tail, FLOOR_PER_MIN) - pow(next, FLOOR_PER_MIN);

		if (q > 0)
			h -= q * log2(q);
		tail = next;
	}
	return h;
}

/* --- Irwin-Hall sums and binomial busy counts --- */

/* Density of the sum of k uniforms on [0, 1) at x. */
static double floor_ih_pdf(int k, double x)
{
	double f = 0, c = 1, fact = 1;

	if (x <= 0 || x >= k)
		return 0;
	if (x > k / 2.0)
		x = k - x; /* symmetric; the alternating sum is better conditioned on the left */
	for (int j = 1; j < k; j++)
		fact *= j;
	for (int j = 0; j <= (int)x; j++) {
		f += (j & 1 ? -c : c) * pow(x - j, k - 1);
		c = c * (k - j) / (j + 1);
	}
	return f / fact;
}

/* Tables computed once: the Irwin-Hall densities on the grid and their entropies. */
struct floor_ih {
	double *pdf[FLOOR_PER_MIN + 1]; /* pdf[k][i] at (i + 0.5) * FLOOR_IH_STEP, i < k / step */
	size_t len[FLOOR_PER_MIN + 1];
	double h[FLOOR_PER_MIN + 1];    /* differential entropy of the sum of k, nats */
};

static void floor_ih_init(struct floor_ih *ih)
{
	for (int k = 1; k <= FLOOR_PER_MIN; k++) {
		ih->len[k] = (size_t)lround(k / FLOOR_IH_STEP);
		ih->pdf[k] = malloc(ih->len[k] * sizeof(double));
		if (!ih->pdf[k])
			floor_die("out of memory");
		ih->h[k] = 0;
		for (size_t i = 0; i < ih->len[k]; i++) {
			double f = floor_ih_pdf(k, ((double)i + 0.5) * FLOOR_IH_STEP);

			ih->pdf[k][i] = f;
			if (f > 0)
				ih->h[k] -= f * log(f) * FLOOR_IH_STEP;
		}
	}
}

static void floor_ih_cleanup(struct floor_ih *ih)
{
	for (int k = 1; k <= FLOOR_PER_MIN; k++)
		free(ih->pdf[k]);
}

static void floor_binomial(double p, double pk[FLOOR_PER_MIN + 1])
{
	double c = 1;

	for (int k = 0; k <= FLOOR_PER_MIN; k++) {
		pk[k] = c * pow(p, k) * pow(1 - p, FLOOR_PER_MIN - k);
		c = c * (FLOOR_PER_MIN - k) / (k + 1);
	}
}

/* Bits of K (busy steps in the minute) that avg, min and max show: K = 0 (avg 0) and
 * K = 12 (min > 0) fully; between, what the avg tells of K. With busy values lo + W*U,
 * 12 * avg / W = r*K + IH(K), r = lo / W: H(K) - P(0 < K < 12) H(K | avg, 0 < K < 12). */
static double floor_k_visible_bits(const struct floor_ih *ih, const double pk[], double r)
{
	double mid = 0, hk = 0, hcond = 0, w[FLOOR_PER_MIN];
	long off[FLOOR_PER_MIN], end;

	for (int k = 0; k <= FLOOR_PER_MIN; k++)
		hk -= pk[k] > 0 ? pk[k] * log2(pk[k]) : 0;
	for (int k = 1; k < FLOOR_PER_MIN; k++)
		mid += pk[k];
	if (!(mid > 0))
		return hk;
	for (int k = 1; k < FLOOR_PER_MIN; k++) {
		w[k] = pk[k] / mid;
		off[k] = lround(r * k / FLOOR_IH_STEP);
	}
	end = off[FLOOR_PER_MIN - 1] + (long)ih->len[FLOOR_PER_MIN - 1];
	for (long i = off[1]; i < end; i++) {
		double mix = 0, part[FLOOR_PER_MIN];

		for (int k = 1; k < FLOOR_PER_MIN; k++) {
			long j = i - off[k];

			part[k] = j >= 0 && j < (long)ih->len[k] ? w[k] * ih->pdf[k][j] : 0;
			mix += part[k];
		}
		for (int k = 1; k < FLOOR_PER_MIN; k++)
			if (part[k] > 0)
				hcond -= part[k] * FLOOR_IH_STEP * log2(part[k] / mix);
	}
	return hk - mid * hcond;
}

/* --- 1 min tier estimates --- */

/* Bits of a float32 figure at x whose differential entropy is h nats: h / ln 2 - log2 ulp. */
static double floor_cont_bits(double h, double x)
{
	double b = h / M_LN2 - log2(floor_ulp(x));

	return b > 0 ? b : 0;
}

/* Differential entropy (nats) of the max of k uniforms on [0, 1): Beta(k, 1); the min mirrored. */
static double floor_beta_h(int k)
{
	return -log(k) + 1 - 1.0 / k;
}

/* The K-visibility of one busy probability and noise shape, kept between series. */
struct floor_kcache {
	double p, r, bits;
};

/* Estimated bits of a noisy series' minute (see the file's comment). */
static double floor_minute_noisy_bits(const struct floor_ih *ih, struct floor_kcache *kc,
				      const struct sim_spread *sp)
{
	double w = sp->hi - sp->lo, pk[FLOOR_PER_MIN + 1], h;

	if (!(w > 0))
		return 0;
	floor_binomial(sp->p_busy, pk);
	if (sp->p_busy >= 1) {
		h = 0;
	} else {
		if (kc->p != sp->p_busy || fabs(kc->r - sp->lo / w) > 1e-6) {
			kc->p = sp->p_busy;
			kc->r = sp->lo / w;
			kc->bits = floor_k_visible_bits(ih, pk, kc->r);
		}
		h = kc->bits;
	}
	for (int k = 1; k <= FLOOR_PER_MIN; k++) {
		double avg = k * 0.5 * (sp->lo + sp->hi) / FLOOR_PER_MIN;

		if (!(pk[k] > 0))
			continue;
		h += pk[k] * floor_cont_bits(ih->h[k] + log(w / FLOOR_PER_MIN), avg);
		h += pk[k] * floor_cont_bits(floor_beta_h(k) + log(w), sp->hi - w / (k + 1));
	}
	h += pk[FLOOR_PER_MIN] * floor_cont_bits(floor_beta_h(FLOOR_PER_MIN) + log(w),
						 sp->lo + w / (FLOOR_PER_MIN + 1));
	return h;
}

/* Bits of the avg of 12 draws: exact by convolution on the values' lattice when
 * there are few values, else the Irwin-Hall sum of the draw's width W. */
static double floor_pmf_avg_bits(const struct floor_pmf *p, const struct floor_ih *ih)
{
	double g = INFINITY, mean = 0, h = 0, run = 0, prev = NAN;
	size_t span, len, at[FLOOR_CONV_MAX];
	double *cur, *nxt;

	for (size_t j = 0; j < p->n; j++)
		mean += p->m[j] * p->v[j];
	if (p->n == 1)
		return 0;
	if (p->n > FLOOR_CONV_MAX) {
		/* whole numbers (or coarser float32 steps) summed: the avg's lattice is
		 * 1/12 of theirs, unless its own ulp is coarser */
		double lat = fmax(fmax(1, floor_ulp(mean)) / FLOOR_PER_MIN, floor_ulp(mean));
		double b = (ih->h[FLOOR_PER_MIN] + log((p->hi - p->lo) / FLOOR_PER_MIN)) / M_LN2 -
			   log2(lat);

		return b > 0 ? b : 0;
	}
	for (size_t j = 1; j < p->n; j++)
		g = fmin(g, p->v[j] - p->v[j - 1]);
	for (size_t j = 0; j < p->n; j++) /* every value is a multiple of the finest step */
		at[j] = (size_t)llround((p->v[j] - p->v[0]) / g);
	span = at[p->n - 1];
	len = FLOOR_PER_MIN * span + 1;
	cur = calloc(len, sizeof(double));
	nxt = calloc(len, sizeof(double));
	if (!cur || !nxt)
		floor_die("out of memory");
	cur[0] = 1;
	for (int d = 0; d < FLOOR_PER_MIN; d++) {
		memset(nxt, 0, len * sizeof(double));
		for (size_t i = 0; i < len; i++)
			if (cur[i] > 0)
				for (size_t j = 0; j < p->n; j++)
					nxt[i + at[j]] += cur[i] * p->m[j];
		memcpy(cur, nxt, len * sizeof(double));
	}
	for (size_t i = 0; i < len; i++) { /* the sums in order; avg is monotone in the sum */
		double sum = FLOOR_PER_MIN * p->v[0] + (double)i * g;
		double avg = (double)(float)(sum / FLOOR_PER_MIN);

		if (avg != prev && run > 0) {
			h -= run * log2(run);
			run = 0;
		}
		run += cur[i];
		prev = avg;
	}
	if (run > 0)
		h -= run * log2(run);
	free(cur);
	free(nxt);
	return h;
}

/* --- the walk --- */

struct floor_tally {
	size_t series;
	double bits_5s;   /* all samples' */
	double bits_idle; /* of which the busy/idle indicators */
	double bits_1m;   /* all minutes' (estimate) */
};

struct floor_walk {
	struct floor_ih ih;
	struct floor_kcache kc;
	struct floor_pmf pmf;
	struct floor_tally kind[FLOOR_NMETRICS];
	double shared_idle; /* busy/idle bits paid once per device */
	size_t rows;
};

/* Bits of one series' 5 s samples and 1 min points over the walk's rows. */
static void floor_series(struct floor_walk *fw, const struct sim_series *s)
{
	struct floor_tally *k = &fw->kind[s->metric];

	k->series++;
	for (size_t r = 0; r < fw->rows; r++) {
		int64_t t = ESTATE_T0 + FLOOR_STEP * (int64_t)r;
		struct sim_spread sp;

		sim_workload_spread(s, t, &sp);
		if (sp.kind == SIM_SPREAD_NOISY) {
			k->bits_idle += floor_h2(sp.p_busy);
			k->bits_5s += floor_h2(sp.p_busy) + sp.p_busy * floor_noisy_bits(s, t, &sp);
		} else if (sp.kind == SIM_SPREAD_FLOOR && t % sp.period == 0) { /* a new draw */
			floor_pmf_make(&fw->pmf, &sp, s->max);
			k->bits_5s += fw->pmf.bits;
		}
		if (r % FLOOR_PER_MIN)
			continue;
		/* the minute's level: its middle step (bursts and plateaus hold whole minutes) */
		sim_workload_spread(s, t + 30, &sp);
		if (sp.kind == SIM_SPREAD_NOISY) {
			k->bits_1m += floor_minute_noisy_bits(&fw->ih, &fw->kc, &sp);
		} else if (sp.kind == SIM_SPREAD_FLOOR) {
			floor_pmf_make(&fw->pmf, &sp, s->max);
			if (sp.period > FLOOR_STEP) {
				k->bits_1m += fw->pmf.bits; /* one draw: avg = min = max */
				continue;
			}
			if (fw->pmf.bits_minute < 0)
				fw->pmf.bits_minute = floor_pmf_avg_bits(&fw->pmf, &fw->ih) +
						      floor_pmf_extreme_bits(&fw->pmf, false) +
						      floor_pmf_extreme_bits(&fw->pmf, true);
			k->bits_1m += fw->pmf.bits_minute;
		}
	}
}

/* A gated device and its busy probability (its data sources all agree on both). */
struct floor_dev {
	uint64_t id;
	double p_busy;
};

static int floor_dev_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct floor_dev *)a)->id, y = ((const struct floor_dev *)b)->id;

	return x < y ? -1 : x > y;
}

/* Busy/idle bits if each device's indicator were paid once, not once per data source. */
static double floor_shared_idle(const struct estate *e, size_t rows)
{
	struct floor_dev *dev = calloc(e->n + 1, sizeof(*dev));
	size_t n = 0;
	double bits = 0;

	if (!dev)
		floor_die("out of memory");
	for (size_t i = 0; i < e->n; i++) {
		struct sim_spread sp;

		sim_workload_spread(&e->s[i].p, ESTATE_T0, &sp);
		if (sp.p_busy < 1) {
			dev[n].id = e->s[i].p.device;
			dev[n++].p_busy = sp.p_busy;
		}
	}
	qsort(dev, n, sizeof(*dev), floor_dev_cmp);
	for (size_t i = 0; i < n; i++)
		if (!i || dev[i].id != dev[i - 1].id)
			bits += floor_h2(dev[i].p_busy) * (double)rows;
	free(dev);
	return bits;
}

static double floor_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void floor_report(const struct floor_walk *fw, const struct estate *e, int argc,
			 char **argv)
{
	double samples = (double)(e->n * fw->rows), b5 = 0, bi = 0, b1 = 0;

	for (int m = 0; m < FLOOR_NMETRICS; m++) {
		const struct floor_tally *k = &fw->kind[m];
		double ks = (double)(k->series * fw->rows);

		b5 += k->bits_5s;
		bi += k->bits_idle;
		b1 += k->bits_1m;
		if (!k->series)
			continue;
		printf("kind_%s_series %zu\n", floor_metric_name[m], k->series);
		printf("kind_%s_5s_bits_per_sample %.3f\n", floor_metric_name[m], k->bits_5s / ks);
		printf("kind_%s_5s_bytes_per_sample %.4f\n", floor_metric_name[m],
		       k->bits_5s / 8 / samples);
		printf("kind_%s_1m_bits_per_minute %.3f\n", floor_metric_name[m],
		       k->bits_1m / ks * FLOOR_PER_MIN);
		printf("kind_%s_1m_bytes_per_sample %.4f\n", floor_metric_name[m],
		       k->bits_1m / 8 / samples);
	}
	printf("floor_5s_busy_idle_bytes_per_sample %.3f\n", bi / 8 / samples);
	printf("floor_5s_busy_idle_shared_bytes_per_sample %.3f\n", fw->shared_idle / 8 / samples);
	printf("floor_5s_bytes_per_sample %.3f\n", b5 / 8 / samples);
	printf("floor_1m_est_bytes_per_sample %.3f\n", b1 / 8 / samples);
	printf("floor_all_est_bytes_per_sample %.3f\n", (b5 + b1) / 8 / samples);
	if (argc > 5) {
		static const char *const tier[] = { "5s", "1m", "all" };
		double est[] = { b5 / 8 / samples, b1 / 8 / samples, (b5 + b1) / 8 / samples };

		for (int i = 0; i < 3; i++) {
			double got = strtod(argv[3 + i], NULL);

			printf("measured_%s_bytes_per_sample %.3f\n", tier[i], got);
			printf("gap_%s_bytes_per_sample %.3f\n", tier[i], got - est[i]);
		}
	}
}

int main(int argc, char **argv)
{
	int hosts = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
	int hours = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 24;
	struct floor_walk fw = { 0 };
	struct estate e = { 0 };
	double t0 = floor_now();

	if (hosts <= 0 || hours <= 0 || argc == 4 || argc == 5 || argc > 6) {
		fprintf(stderr, "usage: store_floor [HOSTS [HOURS [MEASURED_5S MEASURED_1M "
				"MEASURED_ALL]]]\n");
		return 2;
	}
	estate_init(&e, hosts);
	floor_ih_init(&fw.ih);
	fw.rows = (size_t)hours * 3600 / FLOOR_STEP;
	fw.kc.p = -1;
	for (size_t i = 0; i < e.n; i++)
		floor_series(&fw, &e.s[i].p);
	fw.shared_idle = floor_shared_idle(&e, fw.rows);
	printf("# oracle floor: entropy of each stored float32 given the model's levels, "
	       "busy probabilities and noise (sim_workload_spread)\n");
	printf("# 5 s tier exact; 1 min tier an estimate (level constant in a minute, avg, min and "
	       "max as if independent given the busy count: leans high by ~1 %%)\n");
	printf("hosts %d\nhours %d\nseries %zu\nsamples %zu\n", hosts, hours, e.n, e.n * fw.rows);
	floor_report(&fw, &e, argc, argv);
	printf("elapsed_s %.1f\n", floor_now() - t0);
	floor_ih_cleanup(&fw.ih);
	estate_cleanup(&e);
	return 0;
}
