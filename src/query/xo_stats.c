/*
 * xo_stats.c - Xen Orchestra-shaped stats of VMs, hosts, SRs and pools
 * (xo_stats.h; the reply is documented in docs/API.md "## Stats").
 *
 * A reply is a list of leaves (key path + the series feeding it + how they
 * combine), a window (tier, first and last slot, point count) and one pass per
 * rendered tree (avg, and min and max for bands). Each pass reads a leaf's
 * series straight into per-slot accumulators: a request allocates its leaf list
 * and three arrays of the window's size, never per point. A VM's or host's
 * series come from the store's per-object index (series_map.c, one walk of
 * that object's series); an SR's are its hosts' "<ds>_<sr8>", fixed names
 * looked up directly.
 *
 * In a pool's reply a host that has stopped answering (the collector's status)
 * gets a window that ends at its clock's now, not at its last row, so clients that
 * chart hosts point by point see the same times; live hosts keep their own windows
 * (xq_stopped_end: hosts' clocks differ, so nothing compares one host's times
 * with another's).
 *
 * Times: the store keeps a rollup point at its period's start, XO (and xapi)
 * stamp a row with its period's end, so endTimestamp = last slot + step on
 * the rollup tiers; a 5 s sample's time is already xapi's row time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "query/series_map.h"
#include "query/xo_stats.h"

#define XQ_UUID_MAX 64 /* bytes of a uuid parameter */
/* seconds without a complete fetch before a pool's host counts as stopped (2 intervals at least) */
#define XQ_POOL_LAG_MIN 30

enum xq_pass { XQ_AVG, XQ_MIN, XQ_MAX };

/* One array of the reply: stats.key[.sub][.dev], from the series ids combined. */
struct xq_leaf {
	const char *key, *sub;   /* sub NULL: none */
	const char *dev;         /* "": none */
	double scale;            /* stored unit -> XO's */
	bool mean;               /* several ids: mean of those with a value (else sum) */
	bool empty_map;          /* no array: the device map "key": {} (an SR's iowait without hosts) */
	const xs_series_id *ids;
	size_t nids;
};

struct xq_window {
	enum xs_tier tier;
	int64_t step, first, last; /* slot starts */
	size_t n;
	bool bands, partial;
};

struct xq_ctx {
	const struct xs_estate *e;
	const struct xs_stats_request *r;
	struct xq_window w;
	struct xs_point *pts;    /* w.n + 1 */
	unsigned npass;          /* passes of one read: 3 with bands (avg, min, max), else 1 */
	double *sum;             /* npass x w.n: pass p's slots at p x w.n */
	unsigned *cnt;           /* npass x w.n */
};

static const int64_t xq_gran_points[] = { 0, 120, 120, 168, 366 };

enum xs_err xs_stats_granularity_parse(const char *s, enum xs_stats_granularity *g, char *err)
{
	static const char *const names[] = { NULL, "seconds", "minutes", "hours", "days" };

	for (int i = XS_STATS_SECONDS; i <= XS_STATS_DAYS; i++)
		if (s && !strcmp(s, names[i])) {
			*g = (enum xs_stats_granularity)i;
			return XS_OK;
		}
	return xs_err_set(err, XS_ERR_ARG,
			  "granularity: \"%.32s\" is not seconds, minutes, hours or days", s ? s : "");
}

/* ---- window ----------------------------------------------------------------------- */

static int64_t xq_floor(int64_t t, int64_t step)
{
	int64_t q = t / step;

	if (t % step < 0)
		q--;
	return q * step;
}

/* Start of the newest point of id at the window's tier (partial included); false if none. */
static bool xq_newest(const struct xq_ctx *c, xs_series_id id, int64_t *t)
{
	struct xs_point p;
	int64_t last;

	if (c->w.partial && c->w.tier != XS_TIER_5S &&
	    xs_store_read_partial(c->e->store, id, c->w.tier, &p)) {
		*t = p.t;
		return true;
	}
	last = xs_store_last(c->e->store, id, c->w.tier);
	if (!last)
		return false;
	*t = last;
	return true;
}

/* Tier, step, point count of a granularity request; xq_window_gran() sets the end. */
static void xq_window_tier(struct xq_window *w, const struct xs_stats_request *r)
{
	w->tier = (enum xs_tier)(r->granularity - 1);
	w->step = xs_tier_step[w->tier];
	w->n = (size_t)xq_gran_points[r->granularity];
	w->partial = !r->no_partial;
	w->bands = false;
}

/* Start of the newest point of the leaves' series at the window's tier; INT64_MIN if none. */
static int64_t xq_leaves_newest(const struct xq_ctx *c, const struct xq_leaf *lv, size_t n)
{
	int64_t newest = INT64_MIN, t;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < lv[i].nids; k++)
			if (xq_newest(c, lv[i].ids[k], &t) && t > newest)
				newest = t;
	return newest;
}

/*
 * The end of the window of a pool's host that has stopped (in its own clock),
 * or INT64_MIN while it goes on (or the collector has no status of it). Stopped:
 * no complete fetch for more than two intervals (XQ_POOL_LAG_MIN seconds at
 * least) unless it is backfilling (a chain of archives, no 5 s fetch meanwhile),
 * or fetches that bring no new row (its rows that far behind what it should
 * have made: the collector's lag). The end: its newest row plus whichever is
 * longer, our clock's time since that fetch or that lag. A host not fetched
 * since we started, down or failing, ends at our clock.
 */
static int64_t xq_stopped_end(const struct xs_estate *e, const char *uuid, int64_t step)
{
	double lag = 2 * step > XQ_POOL_LAG_MIN ? 2 * step : XQ_POOL_LAG_MIN, silent, behind;

	for (size_t i = 0; i < e->nstatus; i++) {
		const struct xs_collect_host_status *st = &e->status[i];

		if (strcmp(st->uuid, uuid))
			continue;
		if (st->last_success <= 0 || st->newest <= 0)
			return st->state == XS_COLLECT_DOWN || st->failures ? (int64_t)e->now
									     : INT64_MIN;
		silent = st->state == XS_COLLECT_BACKFILL ? 0 : e->now - st->last_success;
		behind = st->lag > silent ? st->lag : silent;
		if (behind <= lag)
			return INT64_MIN;
		return st->newest + (int64_t)behind;
	}
	return INT64_MIN;
}

/*
 * The window of a granularity request ends at the object's newest point (now when it
 * has none); for a pool's host that stopped (stopped_end: xq_stopped_end, a time,
 * INT64_MIN otherwise), at the period holding that time, so its entry ends with nulls.
 */
static void xq_window_gran(struct xq_ctx *c, const struct xq_leaf *lv, size_t n,
			   int64_t stopped_end)
{
	struct xq_window *w = &c->w;
	int64_t newest;

	xq_window_tier(w, c->r);
	if (stopped_end != INT64_MIN && w->tier == XS_TIER_5S)
		newest = stopped_end;
	else if (stopped_end != INT64_MIN) /* a 5 s row at t is in the rollup period of (t - 5, t] */
		newest = xq_floor(stopped_end - XS_COLLECT_PERIOD, w->step) -
			 (w->partial ? 0 : w->step); /* without the period in progress */
	else
		newest = xq_leaves_newest(c, lv, n);
	if (newest == INT64_MIN)
		newest = xq_floor((int64_t)c->e->now, w->step);
	w->last = xq_floor(newest, w->step);
	w->first = w->last - (int64_t)(w->n - 1) * w->step;
}

static void xq_window_at(struct xq_ctx *c, enum xs_tier k);

static enum xs_err xq_window_range(struct xq_ctx *c, char *err)
{
	const struct xs_stats_request *r = c->r;
	unsigned budget = r->points ? r->points : XS_STATS_DEFAULT_POINTS;
	int chosen = -1, fits = -1;

	if (r->points > XS_STATS_MAX_POINTS)
		return xs_err_set(err, XS_ERR_ARG, "points: %u is over the maximum %d", r->points,
				  XS_STATS_MAX_POINTS);
	if (r->from < 0)
		return xs_err_set(err, XS_ERR_ARG, "from: %lld is negative", (long long)r->from);
	if (r->to < r->from)
		return xs_err_set(err, XS_ERR_ARG, "to: %lld is before from (%lld)", (long long)r->to,
				  (long long)r->from);
	for (int k = 0; k < XS_NTIERS && chosen < 0; k++) {
		int64_t step = xs_tier_step[k];
		int64_t n = (xq_floor(r->to, step) - xq_floor(r->from, step)) / step + 1;
		int64_t keep = r->retention[k] ? r->retention[k] : xs_tier_default_retention[k];

		if (n > (int64_t)budget)
			continue;
		fits = k;
		if ((double)r->from >= c->e->now - (double)keep)
			chosen = k;
	}
	if (r->at_5s) {
		if (xq_floor(r->to, xs_tier_step[XS_TIER_5S]) - xq_floor(r->from, xs_tier_step[XS_TIER_5S]) >=
		    (int64_t)XS_STATS_MAX_POINTS * xs_tier_step[XS_TIER_5S])
			return xs_err_set(err, XS_ERR_ARG, "points: from..to needs more than %d points at 5 s",
					  XS_STATS_MAX_POINTS);
		xq_window_at(c, XS_TIER_5S);
		return XS_OK;
	}
	if (fits < 0)
		return xs_err_set(err, XS_ERR_ARG,
				  "points: from..to needs more than %u points even at 1 d", budget);
	if (chosen < 0)
		chosen = fits; /* nothing keeps `from` any more: the coarsest that fits */
	xq_window_at(c, (enum xs_tier)chosen);
	return XS_OK;
}

/* The window of a range at tier k (every tier from the one chosen fits the budget). */
static void xq_window_at(struct xq_ctx *c, enum xs_tier k)
{
	const struct xs_stats_request *r = c->r;
	struct xq_window *w = &c->w;

	w->tier = k;
	w->step = xs_tier_step[k];
	w->first = xq_floor(r->from, w->step);
	w->last = xq_floor(r->to, w->step);
	w->n = (size_t)((w->last - w->first) / w->step + 1);
	w->partial = !r->no_partial;
	w->bands = w->tier != XS_TIER_5S;
}

/* Whether series id has a complete point at tier k from the range's start to end
 * (only that stretch is read). */
static bool xq_range_has(const struct xq_ctx *c, xs_series_id id, enum xs_tier k, int64_t end)
{
	struct xs_point p;
	int64_t step = xs_tier_step[k], lo = xq_floor(c->r->from, step);

	return end >= lo && xs_store_read(c->e->store, id, k, lo, xq_floor(end, step), &p, 1) > 0;
}

/*
 * The range's tier for the data the object has (a young store): when the chosen tier
 * holds nothing of the range's first half for the object's first series while a coarser
 * one holds a period of it that ends before the chosen tier's data begins, the finest
 * such coarser tier (it fits the budget too: fewer points). A host's archives give a
 * week of hours but a year of days, so a fresh store's month would otherwise be three
 * weeks of nulls at 1 h. A gap of the object's own (a VM started in the range, a host
 * rebooted) is no reason: its coarser points are the rollups of the same samples, so
 * none of them ends before the chosen tier's first one. A pool's hosts share one tier:
 * the coarsest their probes give (xq_pool_tier).
 */
static void xq_window_probe(struct xq_ctx *c, const struct xq_leaf *lv, size_t n)
{
	const xs_series_id *id = NULL;
	const enum xs_tier chosen = c->w.tier;
	int64_t half = c->r->from + (c->r->to - c->r->from) / 2, first = INT64_MAX;
	struct xs_point p;

	for (size_t i = 0; i < n && !id; i++)
		if (lv[i].nids)
			id = &lv[i].ids[0];
	if (!id || xq_range_has(c, *id, chosen, half))
		return;
	/* where the chosen tier's data begins in the second half (none: no bound) */
	if (xs_store_read(c->e->store, *id, chosen, xq_floor(half, c->w.step), c->w.last, &p, 1))
		first = p.t;
	for (int k = chosen + 1; k < XS_NTIERS; k++) {
		int64_t step = xs_tier_step[k], end = half;

		if (first != INT64_MAX && first - step < end)
			end = first - step; /* periods that end by the chosen tier's first point */
		if (xq_range_has(c, *id, (enum xs_tier)k, end)) {
			xq_window_at(c, (enum xs_tier)k);
			return;
		}
	}
}

/* ---- values ----------------------------------------------------------------------- */

/* Point p into the slots of every pass (a NaN channel counts nowhere). */
static void xq_add(struct xq_ctx *c, const struct xs_point *p)
{
	const struct xq_window *w = &c->w;
	const float v[3] = { p->avg, p->min, p->max };
	size_t i;

	if (p->t < w->first || p->t > w->last || (p->t - w->first) % w->step)
		return;
	i = (size_t)((p->t - w->first) / w->step);
	for (unsigned k = 0; k < c->npass; k++, i += w->n) {
		if (isnan(v[k]))
			continue;
		c->sum[i] += (double)v[k];
		c->cnt[i]++;
	}
}

/* Every pass's slots of leaf l, from one read of each of its series. */
static void xq_fill(struct xq_ctx *c, const struct xq_leaf *l)
{
	struct xs_store *s = c->e->store;
	const struct xq_window *w = &c->w;
	struct xs_point p;

	memset(c->sum, 0, c->npass * w->n * sizeof(*c->sum));
	memset(c->cnt, 0, c->npass * w->n * sizeof(*c->cnt));
	for (size_t k = 0; k < l->nids; k++) {
		size_t m = xs_store_read(s, l->ids[k], w->tier, w->first, w->last, c->pts, w->n + 1);

		if (m > w->n + 1)
			m = w->n + 1;
		for (size_t j = 0; j < m; j++)
			xq_add(c, &c->pts[j]);
		if (w->partial && w->tier != XS_TIER_5S &&
		    xs_store_read_partial(s, l->ids[k], w->tier, &p))
			xq_add(c, &p);
	}
}

/* The values of leaf l's array of a pass (xq_fill done): (sum or mean) x scale, null
 * where empty. */
static double xq_value(const struct xq_ctx *c, const struct xq_leaf *l, enum xq_pass pass,
		       size_t i)
{
	i += (size_t)pass * c->w.n;
	if (!c->cnt[i])
		return NAN;
	return (l->mean ? c->sum[i] / c->cnt[i] : c->sum[i]) * l->scale;
}

static enum xs_err xq_array_slow(struct xq_ctx *c, const struct xq_leaf *l, enum xq_pass pass,
				 struct xs_buf *out)
{
	enum xs_err r = xs_qjson_raw(out, "[");

	for (size_t i = 0; i < c->w.n && r == XS_OK; i++) {
		if (i)
			r = xs_buf_append(out, ",", 1);
		if (r == XS_OK)
			r = xs_qjson_num(out, xq_value(c, l, pass, i));
	}
	return r ? r : xs_qjson_raw(out, "]");
}

static enum xs_err xq_array(struct xq_ctx *c, const struct xq_leaf *l, enum xq_pass pass,
			    struct xs_buf *out)
{
	enum xs_err r;
	size_t need;
	char *start, *p;

	/* the whole array in one reservation (tens of thousands of numbers a reply);
	 * near the body's limit, number by number, so the limit is met exactly */
	need = c->w.n * (XS_QJSON_NUM_MAX + 1) + 2;
	if (need > out->limit - out->len)
		return xq_array_slow(c, l, pass, out);
	r = xs_buf_reserve(out, need);
	if (r)
		return r;
	start = p = out->data + out->len;
	*p++ = '[';
	for (size_t i = 0; i < c->w.n; i++) {
		if (i)
			*p++ = ',';
		p += xs_qjson_num_fmt(p, xq_value(c, l, pass, i));
	}
	*p++ = ']';
	xs_buf_commit(out, (size_t)(p - start));
	return XS_OK;
}

/* ---- rendering -------------------------------------------------------------------- */

struct xq_tree_state {
	const char *key, *sub;
	bool open_key, open_sub;  /* the key / sub level is an object */
	bool first0, first1, first2;
};

static enum xs_err xq_comma(struct xs_buf *out, bool *first)
{
	if (*first) {
		*first = false;
		return XS_OK;
	}
	return xs_buf_append(out, ",", 1);
}

static enum xs_err xq_close(struct xs_buf *out, bool *open)
{
	if (!*open)
		return XS_OK;
	*open = false;
	return xs_buf_append(out, "}", 1);
}

/* Opens the levels leaf l needs after the previous leaf's. */
static enum xs_err xq_open(struct xq_tree_state *st, const struct xq_leaf *l, struct xs_buf *out)
{
	bool newkey = !st->key || strcmp(st->key, l->key);
	enum xs_err r = XS_OK;

	if (newkey) {
		r = xq_close(out, &st->open_sub);
		r = r ? r : xq_close(out, &st->open_key);
		r = r ? r : xq_comma(out, &st->first0);
		r = r ? r : xs_qjson_key(out, l->key);
		if (!r && (l->sub || *l->dev || l->empty_map)) {
			r = xs_qjson_raw(out, "{");
			st->open_key = true;
			st->first1 = true;
		}
		st->key = l->key;
		st->sub = NULL;
	}
	if (!r && l->sub && (!st->sub || strcmp(st->sub, l->sub))) {
		r = xq_close(out, &st->open_sub);
		r = r ? r : xq_comma(out, &st->first1);
		r = r ? r : xs_qjson_key(out, l->sub);
		if (!r && *l->dev) {
			r = xs_qjson_raw(out, "{");
			st->open_sub = true;
			st->first2 = true;
		}
		st->sub = l->sub;
	}
	if (!r && *l->dev) {
		r = xq_comma(out, l->sub ? &st->first2 : &st->first1);
		r = r ? r : xs_qjson_key(out, l->dev);
	}
	return r;
}

/* {"key": [...], "key": {"sub": {"dev": [...]}}} of each pass into its own buffer
 * (out[0] avg, out[1] min, out[2] max; c->npass of them): one read of each leaf serves
 * them all. */
static enum xs_err xq_tree(struct xq_ctx *c, const struct xq_leaf *lv, size_t n,
			   struct xs_buf *const *out)
{
	struct xq_tree_state st[3] = { { .first0 = true }, { .first0 = true }, { .first0 = true } };
	enum xs_err r = XS_OK;

	for (unsigned k = 0; k < c->npass && r == XS_OK; k++)
		r = xs_qjson_raw(out[k], "{");
	for (size_t i = 0; i < n && r == XS_OK; i++) {
		for (unsigned k = 0; k < c->npass && r == XS_OK; k++)
			r = xq_open(&st[k], &lv[i], out[k]);
		if (lv[i].empty_map)
			continue;
		xq_fill(c, &lv[i]);
		for (unsigned k = 0; k < c->npass && r == XS_OK; k++)
			r = xq_array(c, &lv[i], (enum xq_pass)k, out[k]);
	}
	for (unsigned k = 0; k < c->npass && r == XS_OK; k++) {
		r = xq_close(out[k], &st[k].open_sub);
		r = r ? r : xq_close(out[k], &st[k].open_key);
		r = r ? r : xs_qjson_raw(out[k], "}");
	}
	return r;
}
#define XQ_TIER_PROBE (-1) /* xq_reply: a range's tier follows the object's data */

/* The envelope of one object: window from the leaves (stopped_end: see xq_window_gran;
 * tier: XQ_TIER_PROBE, or the tier of a range given (a pool's, xq_pool_tier), coarser
 * than the budget's or the same), then the trees. */
static enum xs_err xq_reply(const struct xs_estate *e, const struct xs_stats_request *rq,
			    const struct xq_leaf *lv, size_t n, int64_t stopped_end, int tier,
			    struct xs_buf *out, char *err)
{
	struct xq_ctx c = { .e = e, .r = rq };
	struct xs_buf min, max;
	struct xs_buf *const trees[3] = { out, &min, &max };
	enum xs_err r;

	if (rq->granularity == XS_STATS_RANGE) {
		r = xq_window_range(&c, err);
		if (r)
			return r;
		if (!rq->at_5s && tier == XQ_TIER_PROBE)
			xq_window_probe(&c, lv, n);
		else if (!rq->at_5s && tier > (int)c.w.tier && tier < XS_NTIERS)
			xq_window_at(&c, (enum xs_tier)tier);
	} else {
		xq_window_gran(&c, lv, n, stopped_end);
	}
	c.npass = c.w.bands ? 3 : 1;
	c.pts = xs_xmalloc((c.w.n + 1) * sizeof(*c.pts));
	c.sum = xs_xmalloc(c.npass * c.w.n * sizeof(*c.sum));
	c.cnt = xs_xmalloc(c.npass * c.w.n * sizeof(*c.cnt));
	/* the bands' trees beside the reply's, appended to it after: each may take what
	 * the reply has left, the sum is checked as they are appended */
	xs_buf_init(&min, out->limit - out->len);
	xs_buf_init(&max, out->limit - out->len);
	r = xs_qjson_raw(out, "{\"endTimestamp\":");
	r = r ? r : xs_qjson_int(out, c.w.last + (c.w.tier == XS_TIER_5S ? 0 : c.w.step));
	r = r ? r : xs_qjson_raw(out, ",\"interval\":");
	r = r ? r : xs_qjson_int(out, c.w.step);
	r = r ? r : xs_qjson_raw(out, ",\"stats\":");
	r = r ? r : xq_tree(&c, lv, n, trees);
	if (c.w.bands) {
		r = r ? r : xs_qjson_raw(out, ",\"statsMin\":");
		r = r ? r : xs_buf_append(out, min.data, min.len);
		r = r ? r : xs_qjson_raw(out, ",\"statsMax\":");
		r = r ? r : xs_buf_append(out, max.data, max.len);
	}
	r = r ? r : xs_qjson_raw(out, "}");
	xs_buf_free(&min);
	xs_buf_free(&max);
	free(c.pts);
	free(c.sum);
	free(c.cnt);
	if (r)
		xs_err_set(err, r, "reply: %s", xs_strerror(r));
	return r;
}

/* ---- VM and host ------------------------------------------------------------------ */

/* A host's leaves without the cpuN of CPUs smt=0 parked (xs_smap_cpus_parked); returns
 * how many are left. */
static size_t xq_drop_parked_cpus(const struct xs_estate *e, int host_cpus, struct xq_leaf *lv,
				  size_t n)
{
	size_t ncpu = 0, nparked = 0, kept = 0;
	bool *parked;

	if (host_cpus <= 0)
		return n; /* no count to compare with: skip the reads */
	parked = xs_xcalloc(n ? n : 1, sizeof(*parked));
	for (size_t i = 0; i < n; i++) {
		int64_t t;
		float v;

		if (strcmp(lv[i].key, "cpus"))
			continue;
		ncpu++;
		parked[i] = xs_store_latest(e->store, lv[i].ids[0], &t, &v) && v == 1.0f;
		nparked += parked[i];
	}
	if (xs_smap_cpus_parked(ncpu, nparked, host_cpus)) {
		for (size_t i = 0; i < n; i++)
			if (!parked[i])
				lv[kept++] = lv[i];
		n = kept;
	}
	free(parked);
	return n;
}

/* Leaves of a VM or host from its series; returns how many. host_cpus: a host's host_CPUs
 * count (0: unknown, or a VM). The caller frees *sl and *lv (both set, even when there are
 * none). */
static size_t xq_object_leaves(const struct xs_estate *e, enum xs_obj_kind kind, const char *uuid,
			       int host_cpus, struct xs_smap_leaf **sl, struct xq_leaf **lv)
{
	size_t nspec, n = xs_smap_discover(e->store, kind, uuid, sl);
	const struct xs_smap_spec *specs = xs_smap_specs(kind, &nspec);

	*lv = xs_xcalloc(n ? n : 1, sizeof(**lv));
	for (size_t i = 0; i < n; i++) {
		const struct xs_smap_spec *sp = &specs[(*sl)[i].spec];

		(*lv)[i] = (struct xq_leaf){ .key = sp->key, .sub = sp->sub, .dev = (*sl)[i].dev,
					     .scale = sp->scale, .ids = &(*sl)[i].id, .nids = 1 };
	}
	return kind == XS_OBJ_HOST ? xq_drop_parked_cpus(e, host_cpus, *lv, n) : n;
}

/* The reply of a VM or host; XS_QUERY_NOT_FOUND when unknown and without series. */
static enum xs_err xq_object(const struct xs_estate *e, enum xs_obj_kind kind, const char *uuid,
			     bool known, int host_cpus, const struct xs_stats_request *rq,
			     struct xs_buf *out, char *err)
{
	struct xs_smap_leaf *sl = NULL;
	struct xq_leaf *lv = NULL;
	size_t n = xq_object_leaves(e, kind, uuid, host_cpus, &sl, &lv);
	enum xs_err r;

	if (!n && !known)
		r = xs_err_set(err, XS_QUERY_NOT_FOUND, "uuid: no %s %s is known or stored",
			       kind == XS_OBJ_VM ? "VM" : "host", uuid);
	else
		r = xq_reply(e, rq, lv, n, INT64_MIN, XQ_TIER_PROBE, out, err);
	free(sl);
	free(lv);
	return r;
}

static enum xs_err xq_vm(const struct xs_estate *e, const char *uuid,
			 const struct xs_stats_request *rq, struct xs_buf *out, char *err)
{
	size_t pi = 0;
	enum xs_estate_kind k = xs_estate_find(e, uuid, &pi);

	if (k != XS_ESTATE_VM && k != XS_ESTATE_NONE)
		return xs_err_set(err, XS_QUERY_NOT_FOUND, "uuid: %s is not a VM", uuid);
	return xq_object(e, XS_OBJ_VM, uuid, k == XS_ESTATE_VM, 0, rq, out, err);
}

static enum xs_err xq_host(const struct xs_estate *e, const char *uuid,
			   const struct xs_stats_request *rq, struct xs_buf *out, char *err)
{
	size_t pi = 0;
	enum xs_estate_kind k = xs_estate_find(e, uuid, &pi);
	const struct xs_topo_host *h = NULL;

	if (k != XS_ESTATE_HOST && k != XS_ESTATE_NONE)
		return xs_err_set(err, XS_QUERY_NOT_FOUND, "uuid: %s is not a host", uuid);
	if (k == XS_ESTATE_HOST)
		h = xs_topo_host_by_uuid(e->pools[pi].topo, uuid);
	return xq_object(e, XS_OBJ_HOST, uuid, h != NULL, h ? h->cpus : 0, rq, out, err);
}

/* ---- SR --------------------------------------------------------------------------- */

/*
 * Host data sources per SR that an SR reply sums (or averages), XO-STATS.md: r and w only,
 * as xo-server's sr.stats. XO's web UI charts every sub-key of iops, ioThroughput and
 * latency as a series and sums them all into its "All" line, so a "total" beside r and w
 * would be an extra series and double that line.
 */
static const struct {
	const char *key, *sub, *prefix;
	double scale;
	bool mean;
} xq_sr_keys[] = {
	{ "iops", "r", "iops_read_", 1, false },
	{ "iops", "w", "iops_write_", 1, false },
	{ "ioThroughput", "r", "io_throughput_read_", 1048576.0, false },
	{ "ioThroughput", "w", "io_throughput_write_", 1048576.0, false },
	{ "latency", "r", "read_latency_", 0.001, true },
	{ "latency", "w", "write_latency_", 0.001, true },
};
#define XQ_SR_NKEYS (sizeof(xq_sr_keys) / sizeof(xq_sr_keys[0]))

/*
 * Leaves of an SR: the summed and averaged keys of xq_sr_keys, each with its r and w always
 * (from no ids: an array of nulls; XO's web UI reads them unconditionally), then
 * iowait per host that has it, or an empty map. ids holds (XQ_SR_NKEYS + 1) x nh slots,
 * lv XQ_SR_NKEYS + nh + 1 leaves; returns the number of leaves.
 */
static size_t xq_sr_leaves(const struct xs_estate *e, const char *uuid,
			   const struct xs_topo_host *const *hosts, size_t nh, xs_series_id *ids,
			   struct xq_leaf *lv)
{
	size_t nl = 0, nid = 0;
	char ds[XS_STORE_MAX_DS];

	for (size_t k = 0; k < XQ_SR_NKEYS; k++) {
		struct xq_leaf *l = &lv[nl++];

		*l = (struct xq_leaf){ .key = xq_sr_keys[k].key, .sub = xq_sr_keys[k].sub, .dev = "",
				       .scale = xq_sr_keys[k].scale, .mean = xq_sr_keys[k].mean,
				       .ids = &ids[nid] };
		snprintf(ds, sizeof(ds), "%s%.8s", xq_sr_keys[k].prefix, uuid);
		for (size_t h = 0; h < nh; h++)
			if (xs_store_find(e->store, XS_OBJ_HOST, hosts[h]->uuid, ds, &ids[nid])) {
				nid++;
				l->nids++;
			}
	}
	snprintf(ds, sizeof(ds), "iowait_%.8s", uuid);
	for (size_t h = 0; h < nh; h++) {
		if (!xs_store_find(e->store, XS_OBJ_HOST, hosts[h]->uuid, ds, &ids[nid]))
			continue;
		lv[nl++] = (struct xq_leaf){ .key = "iowait", .dev = hosts[h]->uuid, .scale = 1,
					     .ids = &ids[nid++], .nids = 1 };
	}
	if (nl == XQ_SR_NKEYS)
		lv[nl++] = (struct xq_leaf){ .key = "iowait", .dev = "", .empty_map = true };
	return nl;
}

static enum xs_err xq_sr(const struct xs_estate *e, const char *uuid,
			 const struct xs_stats_request *rq, struct xs_buf *out, char *err)
{
	size_t pi = 0, nh = 0, nl;
	const struct xs_topo *t;
	const struct xs_topo_sr *sr;
	const struct xs_topo_host **hosts;
	xs_series_id *ids;
	struct xq_leaf *lv;
	enum xs_err r;

	if (xs_estate_find(e, uuid, &pi) != XS_ESTATE_SR)
		return xs_err_set(err, XS_QUERY_NOT_FOUND, "uuid: no SR %s is known", uuid);
	t = e->pools[pi].topo;
	sr = xs_topo_sr_by_uuid(t, uuid);
	hosts = xs_xcalloc(xs_topo_count(t, XS_TOPO_HOST) + 1, sizeof(*hosts));
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++) {
		const struct xs_topo_host *h = xs_topo_host_at(t, i);

		if (h && xs_topo_sr_on_host(t, sr, h))
			hosts[nh++] = h;
	}
	ids = xs_xcalloc((XQ_SR_NKEYS + 1) * nh + 1, sizeof(*ids));
	lv = xs_xcalloc(XQ_SR_NKEYS + nh + 1, sizeof(*lv));
	nl = xq_sr_leaves(e, uuid, hosts, nh, ids, lv);
	r = xq_reply(e, rq, lv, nl, INT64_MIN, XQ_TIER_PROBE, out, err);
	free(hosts);
	free(ids);
	free(lv);
	return r;
}

/* ---- pool ------------------------------------------------------------------------- */

/* A host of a pool reply and its leaves (n 0: nothing stored). */
struct xq_pool_host {
	const struct xs_topo_host *h;  /* NULL: no host at this index */
	struct xs_smap_leaf *sl;       /* its series, as xq_object_leaves() found them */
	struct xq_leaf *lv;            /* their leaves */
	size_t n;                      /* leaves; 0: nothing stored, an error entry */
	int64_t stopped_end;           /* xq_stopped_end(); INT64_MIN: its own window */
};

/*
 * The leaves of t's nh hosts into hs, and for a granularity request where the
 * window of each host that stopped answering ends (a range's window is the one
 * asked for, every host's). The caller frees each hs[i].sl and .lv.
 */
static void xq_pool_leaves(const struct xs_estate *e, const struct xs_topo *t, size_t nh,
			   const struct xs_stats_request *rq, struct xq_pool_host *hs)
{
	struct xq_window w = { 0 };

	if (rq->granularity != XS_STATS_RANGE)
		xq_window_tier(&w, rq);
	for (size_t i = 0; i < nh; i++) {
		hs[i].h = xs_topo_host_at(t, i);
		hs[i].stopped_end = INT64_MIN;
		if (!hs[i].h)
			continue;
		hs[i].n = xq_object_leaves(e, XS_OBJ_HOST, hs[i].h->uuid, hs[i].h->cpus, &hs[i].sl,
					   &hs[i].lv);
		if (rq->granularity != XS_STATS_RANGE)
			hs[i].stopped_end = xq_stopped_end(e, hs[i].h->uuid, w.step);
	}
}

/*
 * The tier of a pool's range: the coarsest its hosts' probes give (xq_window_probe).
 * On a young store they give the same; where they differ, every host gets data
 * rather than one host a range of nulls. XQ_TIER_PROBE when no host has leaves
 * or for a range at 5 s; an error of the range itself (from, to, points) as is.
 */
static enum xs_err xq_pool_tier(const struct xs_estate *e, const struct xs_stats_request *rq,
				const struct xq_pool_host *hs, size_t nh, int *tier, char *err)
{
	struct xq_ctx budget = { .e = e, .r = rq };
	enum xs_err r;

	*tier = XQ_TIER_PROBE;
	if (rq->granularity != XS_STATS_RANGE || rq->at_5s)
		return XS_OK;
	r = xq_window_range(&budget, err); /* the budget's tier: every host's before its probe */
	if (r)
		return r;
	for (size_t i = 0; i < nh; i++) {
		struct xq_ctx c = budget;

		if (!hs[i].h || !hs[i].n)
			continue;
		xq_window_probe(&c, hs[i].lv, hs[i].n);
		if ((int)c.w.tier > *tier)
			*tier = (int)c.w.tier;
	}
	return XS_OK;
}

/* "uuid": <host reply> | {"error": ...} of one host into out (one: scratch, out's limit;
 * tier: xq_pool_tier's). */
static enum xs_err xq_pool_entry(const struct xs_estate *e, const struct xs_stats_request *rq,
				 const struct xq_pool_host *ph, int tier, bool first,
				 struct xs_buf *one, struct xs_buf *out, char *err)
{
	char herr[XS_ERR_LEN] = "";
	enum xs_err hr = XS_QUERY_NOT_FOUND, r;

	xs_buf_reset(one);
	if (ph->n)
		hr = xq_reply(e, rq, ph->lv, ph->n, ph->stopped_end, tier, one, herr);
	if (hr == XS_ERR_TOO_LARGE)
		return xs_err_set(err, hr, "%s", herr);
	r = first ? XS_OK : xs_buf_append(out, ",", 1);
	r = r ? r : xs_qjson_key(out, ph->h->uuid);
	if (!r && hr == XS_OK)
		return xs_buf_append(out, one->data, one->len);
	r = r ? r : xs_qjson_raw(out, "{\"error\":");
	r = r ? r : xs_qjson_str(out, ph->n ? herr : "no statistics stored for this host");
	return r ? r : xs_qjson_raw(out, "}");
}

static enum xs_err xq_pool(const struct xs_estate *e, const char *uuid,
			   const struct xs_stats_request *rq, struct xs_buf *out, char *err)
{
	size_t pi = 0, nh;
	const struct xs_topo *t;
	struct xq_pool_host *hs;
	struct xs_buf one;
	bool first = true;
	int tier;
	enum xs_err r;

	if (xs_estate_find(e, uuid, &pi) != XS_ESTATE_POOL)
		return xs_err_set(err, XS_QUERY_NOT_FOUND, "uuid: no pool %s is known", uuid);
	t = e->pools[pi].topo;
	nh = xs_topo_count(t, XS_TOPO_HOST);
	hs = xs_xcalloc(nh + 1, sizeof(*hs));
	xq_pool_leaves(e, t, nh, rq, hs);
	r = xq_pool_tier(e, rq, hs, nh, &tier, err);
	r = r ? r : xs_qjson_raw(out, "{");
	xs_buf_init(&one, out->limit);
	for (size_t i = 0; r == XS_OK && i < nh; i++) {
		if (!hs[i].h)
			continue;
		r = xq_pool_entry(e, rq, &hs[i], tier, first, &one, out, err);
		first = false;
	}
	xs_buf_free(&one);
	for (size_t i = 0; i < nh; i++) {
		free(hs[i].sl);
		free(hs[i].lv);
	}
	free(hs);
	r = r ? r : xs_qjson_raw(out, "}");
	if (r && !*err)
		xs_err_set(err, r, "reply: %s", xs_strerror(r));
	return r;
}

/* ---- entry ------------------------------------------------------------------------ */

static bool xq_uuid_ok(const char *u)
{
	size_t n = 0;

	if (!u)
		return false;
	for (; u[n]; n++)
		if (n >= XQ_UUID_MAX ||
		    !((u[n] >= '0' && u[n] <= '9') || (u[n] >= 'a' && u[n] <= 'z') ||
		      (u[n] >= 'A' && u[n] <= 'Z') || u[n] == '-'))
			return false;
	return n > 0;
}

/* "64 MiB", "16 KiB" or "100 bytes": a reply cap in an error message. */
static void xq_size_text(size_t n, char *s, size_t size)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(s, size, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(s, size, "%zu KiB", n / 1024);
	else
		snprintf(s, size, "%zu bytes", n);
}

/*
 * A reply past the body's cap (limit): the client asked for too much, so it is
 * XS_ERR_ARG (a 400) naming the parameter to ask less of, not a server error.
 */
static enum xs_err xq_too_large(const struct xs_stats_request *r, size_t limit, char *err)
{
	char size[32];

	xq_size_text(limit, size, sizeof(size));
	if (r->granularity == XS_STATS_RANGE)
		return xs_err_set(err, XS_ERR_ARG,
				  "points: the reply would pass %s; ask fewer points or a shorter range", size);
	return xs_err_set(err, XS_ERR_ARG,
			  "granularity: the reply would pass %s; ask a range with fewer points (from, to, "
			  "points)", size);
}

static enum xs_err xq_kind(const struct xs_estate *e, const char *kind, const char *uuid,
			   const struct xs_stats_request *r, struct xs_buf *out, char *err)
{
	if (!strcmp(kind, "vms"))
		return xq_vm(e, uuid, r, out, err);
	if (!strcmp(kind, "hosts"))
		return xq_host(e, uuid, r, out, err);
	if (!strcmp(kind, "srs"))
		return xq_sr(e, uuid, r, out, err);
	return xq_pool(e, uuid, r, out, err);
}

enum xs_err xs_query_stats(const struct xs_estate *e, const char *kind, const char *uuid,
			   const struct xs_stats_request *r, struct xs_buf *out, char *err)
{
	size_t limit = out->limit;
	enum xs_err rc;

	*err = '\0';
	if (!kind || (strcmp(kind, "vms") && strcmp(kind, "hosts") && strcmp(kind, "srs") &&
		      strcmp(kind, "pools")))
		return xs_err_set(err, XS_ERR_ARG, "kind: \"%.16s\" is not vms, hosts, srs or pools",
				  kind ? kind : "");
	if (!xq_uuid_ok(uuid))
		return xs_err_set(err, XS_ERR_ARG, "uuid: not a uuid");
	if ((unsigned)r->granularity > XS_STATS_DAYS)
		return xs_err_set(err, XS_ERR_ARG, "granularity: out of range");
	if (r->granularity == XS_STATS_RANGE) {
		struct xq_ctx c = { .e = e, .r = r };
		enum xs_err v = xq_window_range(&c, err); /* parameters first: 400 before 404 */

		if (v)
			return v;
	}
	rc = xq_kind(e, kind, uuid, r, out, err);
	if (rc == XS_ERR_TOO_LARGE)
		rc = xq_too_large(r, limit, err);
	return rc;
}
