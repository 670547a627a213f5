/*
 * series_map.c - XO-STATS.md's key tables, series discovery from the store's
 * per-object index, and the query layer's JSON output helpers (series_map.h).
 *
 * Discovery walks the object's own series once (xs_store_each_of(), ~30 for a
 * VM, a few hundred for a host) and parses each name against the table, so no
 * device name is ever guessed. The store lists series newest first; the leaves
 * are sorted afterwards, so a reply does not depend on creation order.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_out.h"
#include "lib/num.h"
#include "lib/xmalloc.h"
#include "query/series_map.h"

#define SMAP_MIB 1048576.0

static const struct xs_smap_spec smap_vm[] = {
	{ "cpus", NULL, "cpu", "", XS_SMAP_DEV_CPU, 100 },
	{ "cpuUsage", NULL, "cpu_usage", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstateFullrun", NULL, "runstate_fullrun", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstateFullContention", NULL, "runstate_full_contention", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstateConcurrencyHazard", NULL, "runstate_concurrency_hazard", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstateBlocked", NULL, "runstate_blocked", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstatePartialRun", NULL, "runstate_partial_run", "", XS_SMAP_DEV_NONE, 100 },
	{ "runstatePartialContention", NULL, "runstate_partial_contention", "", XS_SMAP_DEV_NONE, 100 },
	{ "memory", NULL, "memory", "", XS_SMAP_DEV_NONE, 1 },
	{ "memoryTarget", NULL, "memory_target", "", XS_SMAP_DEV_NONE, 1 },
	{ "memoryFree", NULL, "memory_internal_free", "", XS_SMAP_DEV_NONE, 1024 },
	{ "vifs", "rx", "vif_", "_rx", XS_SMAP_DEV_VIF, 1 },
	{ "vifs", "tx", "vif_", "_tx", XS_SMAP_DEV_VIF, 1 },
	{ "vifErrors", "rx", "vif_", "_rx_errors", XS_SMAP_DEV_VIF, 1 },
	{ "vifErrors", "tx", "vif_", "_tx_errors", XS_SMAP_DEV_VIF, 1 },
	{ "xvds", "r", "vbd_", "_read", XS_SMAP_DEV_VBD, 1 },
	{ "xvds", "w", "vbd_", "_write", XS_SMAP_DEV_VBD, 1 },
	{ "iops", "r", "vbd_", "_iops_read", XS_SMAP_DEV_VBD, 1 },
	{ "iops", "w", "vbd_", "_iops_write", XS_SMAP_DEV_VBD, 1 },
	{ "iops", "total", "vbd_", "_iops_total", XS_SMAP_DEV_VBD, 1 },
	{ "vbdLatency", "r", "vbd_", "_read_latency", XS_SMAP_DEV_VBD, 0.001 },
	{ "vbdLatency", "w", "vbd_", "_write_latency", XS_SMAP_DEV_VBD, 0.001 },
	{ "ioThroughput", "r", "vbd_", "_io_throughput_read", XS_SMAP_DEV_VBD, SMAP_MIB },
	{ "ioThroughput", "w", "vbd_", "_io_throughput_write", XS_SMAP_DEV_VBD, SMAP_MIB },
	{ "ioThroughput", "total", "vbd_", "_io_throughput_total", XS_SMAP_DEV_VBD, SMAP_MIB },
	{ "vbdIowait", NULL, "vbd_", "_iowait", XS_SMAP_DEV_VBD, 100 },
	{ "vbdInflight", NULL, "vbd_", "_inflight", XS_SMAP_DEV_VBD, 1 },
	{ "vbdAvgquSz", NULL, "vbd_", "_avgqu_sz", XS_SMAP_DEV_VBD, 1 },
};

static const struct xs_smap_spec smap_host[] = {
	{ "cpus", NULL, "cpu", "", XS_SMAP_DEV_CPU, 100 },
	{ "load", NULL, "loadavg", "", XS_SMAP_DEV_NONE, 1 },
	{ "memory", NULL, "memory_total_kib", "", XS_SMAP_DEV_NONE, 1024 },
	{ "memoryFree", NULL, "memory_free_kib", "", XS_SMAP_DEV_NONE, 1024 },
	{ "pifs", "rx", "pif_", "_rx", XS_SMAP_DEV_PIF, 1 },
	{ "pifs", "tx", "pif_", "_tx", XS_SMAP_DEV_PIF, 1 },
	{ "pifsAggr", "rx", "pif_aggr_rx", "", XS_SMAP_DEV_NONE, 1 },
	{ "pifsAggr", "tx", "pif_aggr_tx", "", XS_SMAP_DEV_NONE, 1 },
	{ "iops", "r", "iops_read_", "", XS_SMAP_DEV_SR, 1 },
	{ "iops", "w", "iops_write_", "", XS_SMAP_DEV_SR, 1 },
	{ "iops", "total", "iops_total_", "", XS_SMAP_DEV_SR, 1 },
	{ "ioThroughput", "r", "io_throughput_read_", "", XS_SMAP_DEV_SR, SMAP_MIB },
	{ "ioThroughput", "w", "io_throughput_write_", "", XS_SMAP_DEV_SR, SMAP_MIB },
	{ "ioThroughput", "total", "io_throughput_total_", "", XS_SMAP_DEV_SR, SMAP_MIB },
	{ "latency", "r", "read_latency_", "", XS_SMAP_DEV_SR, 0.001 },
	{ "latency", "w", "write_latency_", "", XS_SMAP_DEV_SR, 0.001 },
	{ "latency", "total", "latency_", "", XS_SMAP_DEV_SR, 0.001 },
	{ "iowait", NULL, "iowait_", "", XS_SMAP_DEV_SR, 1 },
	{ "hostload", NULL, "hostload", "", XS_SMAP_DEV_NONE, 1 },
	{ "runningVcpus", NULL, "running_vcpus", "", XS_SMAP_DEV_NONE, 1 },
};

const struct xs_smap_spec *xs_smap_specs(enum xs_obj_kind kind, size_t *n)
{
	switch (kind) {
	case XS_OBJ_VM:
		*n = sizeof(smap_vm) / sizeof(smap_vm[0]);
		return smap_vm;
	case XS_OBJ_HOST:
		*n = sizeof(smap_host) / sizeof(smap_host[0]);
		return smap_host;
	default:
		*n = 0;
		return NULL;
	}
}

static bool smap_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool smap_hex(char ch)
{
	return smap_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Whether dev (len bytes, not NUL-terminated) is a device of class cls (series_map.h). */
static bool smap_dev_ok(enum xs_smap_dev cls, const char *dev, size_t len)
{
	if (!len || len >= XS_SMAP_DEV_LEN)
		return false;
	switch (cls) {
	case XS_SMAP_DEV_CPU:
	case XS_SMAP_DEV_VIF:
		for (size_t i = 0; i < len; i++)
			if (!smap_digit(dev[i]))
				return false;
		return true;
	case XS_SMAP_DEV_VBD:
		/* a VBD suffix may itself start like another ("_read" / "_read_latency") */
		return !memchr(dev, '_', len);
	case XS_SMAP_DEV_PIF:
		return !(len == 4 && !memcmp(dev, "aggr", 4)); /* pif_aggr_*: the sum, a fixed name */
	case XS_SMAP_DEV_SR:
		if (len != XS_SMAP_SR_PREFIX)
			return false;
		for (size_t i = 0; i < len; i++)
			if (!smap_hex(dev[i]))
				return false;
		return true;
	default:
		return false;
	}
}

/* The device part of ds (len bytes) as prefix + dev + suffix; NULL if ds is not so. */
static const char *smap_split(const char *ds, size_t len, const char *prefix,
			      enum xs_smap_dev cls, const char *suffix, size_t *dlen)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);

	if (len <= lp + ls || memcmp(ds, prefix, lp) || memcmp(ds + len - ls, suffix, ls) ||
	    !smap_dev_ok(cls, ds + lp, len - lp - ls))
		return NULL;
	*dlen = len - lp - ls;
	return ds + lp;
}

bool xs_smap_cpus_parked(size_t ncpu, size_t ones, int host_cpus)
{
	return host_cpus > 0 && ncpu > (size_t)host_cpus && ones == ncpu - (size_t)host_cpus;
}

bool xs_smap_is(const char *ds, const char *prefix, enum xs_smap_dev cls, const char *suffix)
{
	size_t dlen;

	return smap_split(ds, strlen(ds), prefix, cls, suffix, &dlen) != NULL;
}

int xs_smap_match(enum xs_obj_kind kind, const char *ds, char *dev)
{
	size_t n, len = strlen(ds), best_suffix = 0, best_len = 0;
	const struct xs_smap_spec *specs = xs_smap_specs(kind, &n);
	const char *best_dev = NULL;
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (specs[i].dev == XS_SMAP_DEV_NONE && !strcmp(ds, specs[i].prefix)) {
			*dev = '\0';
			return (int)i;
		}
	for (size_t i = 0; i < n; i++) {
		const struct xs_smap_spec *sp = &specs[i];
		size_t dlen, ls = strlen(sp->suffix);
		const char *d;

		if (sp->dev == XS_SMAP_DEV_NONE || (best >= 0 && ls <= best_suffix))
			continue;
		d = smap_split(ds, len, sp->prefix, sp->dev, sp->suffix, &dlen);
		if (!d)
			continue;
		best = (int)i;
		best_suffix = ls;
		best_dev = d;
		best_len = dlen;
	}
	if (best >= 0) {
		memcpy(dev, best_dev, best_len);
		dev[best_len] = '\0';
	}
	return best;
}

/* Length of the run starting at s: digits or other bytes. */
static size_t smap_run(const char *s)
{
	bool dig = smap_digit(*s);
	size_t n = 0;

	while (s[n] && smap_digit(s[n]) == dig)
		n++;
	return n;
}

/* Two digit runs by value (leading zeros ignored), without overflow. */
static int smap_num_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c;

	while (la > 1 && *a == '0') {
		a++;
		la--;
	}
	while (lb > 1 && *b == '0') {
		b++;
		lb--;
	}
	if (la != lb)
		return la < lb ? -1 : 1;
	c = memcmp(a, b, la);
	return c < 0 ? -1 : c > 0;
}

int xs_smap_dev_cmp(const char *a, const char *b)
{
	const char *p = a, *q = b;

	while (*p && *q) {
		size_t lp = smap_run(p), lq = smap_run(q);
		bool dp = smap_digit(*p), dq = smap_digit(*q);
		int c;

		if (dp != dq)
			return dp ? -1 : 1;
		if (dp) {
			c = smap_num_cmp(p, lp, q, lq);
		} else if (lp != lq) {
			c = lp < lq ? -1 : 1;
		} else {
			c = memcmp(p, q, lp);
			c = c < 0 ? -1 : c > 0;
		}
		if (c)
			return c;
		p += lp;
		q += lq;
	}
	if (*p || *q)
		return *p ? 1 : -1;
	/* equal runs ("01" and "1"): bytes decide, so the order stays total */
	return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
}

/* ---- discovery -------------------------------------------------------------------- */

struct smap_walk {
	enum xs_obj_kind kind;
	struct xs_smap_leaf *leaves;
	size_t n, cap;
};

/*
 * The key of device dev (class cls) in its map: Xen Orchestra's where XO has one, so that
 * its clients find it: a PIF ethN is "N", as xo-server's pif_eth(\d+)_rx match makes it
 * (XO's web UI names it "Pif" + key; XO 6's host network chart reads pifs.rx['0']). Any
 * other device, which XO leaves out, keeps its name: bond0, eth0.100, xenbr1.
 */
static const char *smap_dev_key(enum xs_smap_dev cls, const char *dev)
{
	if (cls != XS_SMAP_DEV_PIF || strncmp(dev, "eth", 3) || !dev[3])
		return dev;
	for (const char *p = dev + 3; *p; p++)
		if (!smap_digit(*p))
			return dev;
	return dev + 3;
}

static void smap_walk_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct smap_walk *w = arg;
	char dev[XS_SMAP_DEV_LEN];
	int spec = xs_smap_match(w->kind, ds, dev);
	size_t nspec;
	const char *key;

	(void)unit;
	if (spec < 0)
		return;
	key = smap_dev_key(xs_smap_specs(w->kind, &nspec)[spec].dev, dev);
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->leaves = xs_xrealloc(w->leaves, w->cap * sizeof(*w->leaves));
	}
	w->leaves[w->n].spec = (uint16_t)spec;
	memmove(w->leaves[w->n].dev, key, strlen(key) + 1);
	w->leaves[w->n].id = id;
	w->n++;
}

static int smap_leaf_cmp(const void *a, const void *b)
{
	const struct xs_smap_leaf *x = a, *y = b;

	if (x->spec != y->spec)
		return x->spec < y->spec ? -1 : 1;
	return xs_smap_dev_cmp(x->dev, y->dev);
}

size_t xs_smap_discover(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
			struct xs_smap_leaf **leaves)
{
	struct smap_walk w = { .kind = kind };

	if (kind == XS_OBJ_VM || kind == XS_OBJ_HOST)
		xs_store_each_of(s, kind, uuid, smap_walk_cb, &w);
	if (w.n > 1)
		qsort(w.leaves, w.n, sizeof(*w.leaves), smap_leaf_cmp);
	if (w.n > XS_SMAP_MAX_LEAVES)
		w.n = XS_SMAP_MAX_LEAVES;
	if (!w.n) {
		free(w.leaves);
		w.leaves = NULL;
	}
	*leaves = w.leaves;
	return w.n;
}

/* ---- JSON output ------------------------------------------------------------------ */

enum xs_err xs_qjson_raw(struct xs_buf *b, const char *s)
{
	return xs_buf_append_str(b, s);
}

/* A signed integer's digits into out (at most 20 bytes); returns their length. */
static size_t smap_itoa(int64_t v, char *out)
{
	if (v >= 0)
		return xs_num_utoa((uint64_t)v, out);
	out[0] = '-';
	return 1 + xs_num_utoa(0 - (uint64_t)v, out + 1);
}

enum xs_err xs_qjson_int(struct xs_buf *b, int64_t v)
{
	char tmp[24];

	return xs_buf_append(b, tmp, smap_itoa(v, tmp));
}

/* a x 10^sh and m x 10^-sh with exact powers only; false when |sh| is too large. */
static bool smap_scale(double a, int sh, double *out)
{
	if (sh > XS_NUM_POW10_MAX || sh < -XS_NUM_POW10_MAX)
		return false;
	*out = sh >= 0 ? a * xs_num_pow10[sh] : a / xs_num_pow10[-sh];
	return true;
}

static bool smap_unscale(double m, int sh, double *out)
{
	if (sh > XS_NUM_POW10_MAX || sh < -XS_NUM_POW10_MAX)
		return false;
	*out = sh >= 0 ? m / xs_num_pow10[sh] : m * xs_num_pow10[-sh];
	return true;
}

/* floor(log10(a)) for a > 0 (a float's value: a normal double), from a's binary
 * exponent and the exact powers of ten. */
static int smap_exp10(double a)
{
	uint64_t bits;
	int be, e;

	memcpy(&bits, &a, sizeof(bits));
	be = (int)((bits >> 52) & 0x7ff) - 1022; /* frexp's: a in [2^(be-1), 2^be) */
	/* floor(log10(2^(be-1))), e or one less than a's: 78913 / 2^18 is log10(2) closely
	 * enough for |be| < 1650 (>> of a negative int floors on every compiler we build with) */
	e = ((be - 1) * 78913) >> 18;
	if (e < -XS_NUM_POW10_MAX || e + 1 > XS_NUM_POW10_MAX)
		return (int)floor(log10(a));
	if (e + 1 >= 0 ? a >= xs_num_pow10[e + 1] : a * xs_num_pow10[-(e + 1)] >= 1.0)
		e++;
	return e;
}

/* x rounded to the nearest integer, ties to even (nearbyint's result in the default
 * rounding mode, without its call), for 0 <= x < 2^52: adding 2^52 leaves no bits
 * for a fraction, so the sum rounds, and subtracting 2^52 back is exact. */
static double smap_round(double x)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)
	return (x + 0x1p52) - 0x1p52;
#else /* excess precision (x87) or reassociation would keep the fraction */
	return nearbyint(x);
#endif
}

/* Digits of |f| (p significant) and the exponent of the first: false if out of fast range. */
static bool smap_digits(float f, uint64_t *m, int *e10, int *p)
{
	double a = fabs((double)f), x, back;
	int e = smap_exp10(a);

	for (int prec = 6; prec <= 9; prec++) {
		for (int guard = 0; guard < 3; guard++) {
			int sh = prec - 1 - e;

			if (!smap_scale(a, sh, &x))
				return false;
			x = smap_round(x);
			if (x >= xs_num_pow10[prec])
				e++;
			else if (x < xs_num_pow10[prec - 1])
				e--;
			else
				break;
		}
		if (!smap_unscale(x, prec - 1 - e, &back))
			return false;
		if ((float)back == (float)a) {
			*m = (uint64_t)x;
			*e10 = e;
			*p = prec;
			return true;
		}
	}
	return false;
}

static size_t smap_fmt(float f, uint64_t m, int e, char *out)
{
	char dg[24];
	size_t k = xs_num_utoa(m, dg), n = 0;

	while (k > 1 && dg[k - 1] == '0')
		k--;
	if (f < 0)
		out[n++] = '-';
	if (e >= 0 && e < 15) {
		for (int i = 0; i <= e; i++)
			out[n++] = (size_t)i < k ? dg[i] : '0';
		if (k > (size_t)e + 1) {
			out[n++] = '.';
			for (size_t i = (size_t)e + 1; i < k; i++)
				out[n++] = dg[i];
		}
	} else if (e < 0 && e >= -5) {
		out[n++] = '0';
		out[n++] = '.';
		for (int i = -1; i > e; i--)
			out[n++] = '0';
		for (size_t i = 0; i < k; i++)
			out[n++] = dg[i];
	} else {
		out[n++] = dg[0];
		if (k > 1) {
			out[n++] = '.';
			for (size_t i = 1; i < k; i++)
				out[n++] = dg[i];
		}
		out[n++] = 'e';
		if (e < 0)
			out[n++] = '-';
		n += xs_num_utoa((uint64_t)(e < 0 ? -e : e), out + n);
	}
	return n;
}

size_t xs_qjson_num_fmt(char *out, double v)
{
	char tmp[48];
	float f;
	uint64_t m;
	int e, p;
	size_t n;

	f = (float)v;
	if (!isfinite(v) || !isfinite(f)) {
		memcpy(out, "null", 4);
		return 4;
	}
	if (f == 0) {
		out[0] = '0';
		return 1;
	}
	if ((double)f == floor((double)f) && fabs((double)f) < 1e15)
		return smap_itoa((int64_t)f, out);
	if (smap_digits(f, &m, &e, &p))
		return smap_fmt(f, m, e, out);
	/* subnormal or huge: the slow, always-right way */
	for (p = 6; p < 9; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, (double)f);
		if (strtof(tmp, NULL) == f)
			break;
	}
	if (p == 9)
		snprintf(tmp, sizeof(tmp), "%.9g", (double)f);
	n = strlen(tmp);
	memcpy(out, tmp, n);
	return n;
}

enum xs_err xs_qjson_num(struct xs_buf *b, double v)
{
	char tmp[XS_QJSON_NUM_MAX];

	return xs_buf_append(b, tmp, xs_qjson_num_fmt(tmp, v));
}

enum xs_err xs_qjson_str(struct xs_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	enum xs_err r;
	const char *run;

	if (!s)
		return xs_buf_append(b, "null", 4);
	r = xs_buf_append(b, "\"", 1);
	for (run = s; r == XS_OK && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };

		if (ch >= 0x80) { /* a well-formed sequence as is, else U+FFFD for the byte */
			size_t u = xs_utf8_len((const unsigned char *)s, 4); /* stops at the NUL */

			if (u) {
				s += u - 1;
				continue;
			}
			r = xs_buf_append(b, run, (size_t)(s - run));
			if (r == XS_OK)
				r = xs_buf_append(b, "\xEF\xBF\xBD", 3);
			run = s + 1;
			continue;
		}
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		r = xs_buf_append(b, run, (size_t)(s - run));
		if (r == XS_OK && (ch == '"' || ch == '\\')) {
			esc[1] = (char)ch;
			r = xs_buf_append(b, esc, 2);
		} else if (r == XS_OK) {
			r = xs_buf_append(b, esc, 6);
		}
		run = s + 1;
	}
	if (r == XS_OK)
		r = xs_buf_append(b, run, (size_t)(s - run));
	if (r == XS_OK)
		r = xs_buf_append(b, "\"", 1);
	return r;
}

enum xs_err xs_qjson_key(struct xs_buf *b, const char *key)
{
	enum xs_err r = xs_qjson_str(b, key);

	return r ? r : xs_buf_append(b, ":", 1);
}
