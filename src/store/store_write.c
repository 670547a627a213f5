/*
 * store_write.c - the write path: each series' st_active (taken from the pool, made
 * dormant again), blocks being filled and sealed into pend, the rollups of the
 * 1 min, 1 h and 1 d tiers, what backfill knows without reading (st_known), and
 * xs_store_append / xs_store_backfill.
 */
#include "store/store_internal.h"

/* ---- the pool of st_active ---------------------------------------------------- */

/* What a dormant series holds: nothing (read through st_peek, never written). */
const struct st_active st_dormant_state = {
	.acc = { { ST_NONE, 0, 0, 0, 0 }, { ST_NONE, 0, 0, 0, 0 }, { ST_NONE, 0, 0, 0, 0 } },
	.pend = -1,
};

/* Series id's st_active to change, taken from the pool while it is dormant: no
 * rollup in progress, no block, and backfill knows what a series loaded from disk
 * knows (a tier that holds points is scanned at its first backfill at or before
 * them). Aborts on out-of-memory. */
struct st_active *st_act(struct xs_store *s, uint32_t id)
{
	struct st_series *se = &s->ser[id];
	struct st_active *a;
	uint32_t i;

	if (se->act != ST_DORMANT)
		return st_act_at(s, se->act);
	if (s->act_free != ST_DORMANT) {
		i = s->act_free;
		s->act_free = (uint32_t)st_act_at(s, i)->pend;
	} else {
		if (s->act_used == (uint64_t)s->act_npages * ST_ACT_PAGE) {
			if (s->act_used >= ST_DORMANT - ST_ACT_PAGE)
				abort(); /* more series than ids */
			s->act_pages = xs_xrealloc(s->act_pages,
						   (s->act_npages + 1) * sizeof(*s->act_pages));
			s->act_pages[s->act_npages++] = xs_xmalloc(ST_ACT_PAGE * sizeof(struct st_active));
		}
		i = s->act_used++;
	}
	a = st_act_at(s, i);
	*a = st_dormant_state;
	if (se->times_saved && !s->replaying && st_has_times(se)) {
		/* its rows in the wal are coded against its last value, and its backfills
		 * decided by its times: the wal gets them too, so that its replay does not
		 * depend on the dormant file (a damaged record there would corrupt every
		 * row of it, where a damaged wal record stops the replay) */
		size_t before = s->walbuf.len;

		st_carry_dormant(s, id, &s->walbuf);
		s->wal_appended += s->walbuf.len - before;
	}
	se->times_saved = false; /* its record in the dormant file, if any, is stale from now on */
	for (int k = 1; k < XS_NTIERS; k++)
		a->known[k - 1].tracked = se->tier_last[k] == ST_NONE;
	se->act = i;
	s->act_live++;
	return a;
}

/* ---- blocks in memory --------------------------------------------------------- */

/* A compact copy of b's payload, in *reuse (reallocated) or a new allocation. */
struct st_sealed *st_sealed_of(const struct xs_block *b, struct st_sealed *reuse)
{
	size_t len = xs_block_bytes(b);
	struct st_sealed *sb = xs_xrealloc(reuse, sizeof(*sb) + len + 1);

	sb->t0 = b->t0;
	sb->tlast = b->tlast;
	sb->len = (uint32_t)len;
	sb->n = (uint16_t)b->n;
	sb->flags = (uint8_t)xs_block_flags(b);
	xs_block_payload(b, sb->payload);
	return sb;
}

/* Adds the sealed block sb (ownership taken) to pend, newest of series id. */
static void st_pend_push(struct xs_store *s, uint32_t id, int tier, struct st_sealed *sb)
{
	struct st_pend *p;

	if (s->npend == s->cappend) {
		s->cappend = s->cappend ? s->cappend * 2 : 1024;
		s->pend = xs_xrealloc(s->pend, s->cappend * sizeof(*s->pend));
	}
	p = &s->pend[s->npend];
	p->series = id;
	p->tier = (uint8_t)tier;
	p->next = st_pend_head(s, id);
	p->b = sb;
	st_act(s, id)->pend = (int32_t)s->npend++;
	s->pend_bytes += sizeof(*sb) + sb->len;
}

/* Frees the block in *slot, if any. */
static void st_open_free(int tier, union st_open *slot)
{
	if (st_frozen(tier)) {
		free(slot->frozen);
		slot->frozen = NULL;
		return;
	}
	if (slot->live)
		xs_block_cleanup(slot->live);
	free(slot->live);
	slot->live = NULL;
}

/* Seals the block in *slot (if it has points) into pend and empties the slot: a
 * frozen block is moved, a live one copied and its struct freed. */
void st_open_seal(struct xs_store *s, uint32_t id, int tier, union st_open *slot)
{
	if (st_frozen(tier)) {
		if (slot->frozen)
			st_pend_push(s, id, tier, slot->frozen);
		slot->frozen = NULL;
		return;
	}
	if (slot->live && slot->live->n)
		st_pend_push(s, id, tier, st_sealed_of(slot->live, NULL));
	st_open_free(tier, slot);
}

/* Appends a point to a frozen block (tier >= ST_FROZEN_TIER): its points and t go
 * through the thaw scratch encoder, which gives the same bits a live block would. */
static void st_frozen_put(struct xs_store *s, int tier, struct st_sealed **fp, int64_t t,
			  const float *v)
{
	struct st_sealed *f = *fp;
	struct xs_block *b = &s->thaw;
	unsigned nch = st_nch(tier);

	if (!s->thaw_t) {
		s->thaw_t = xs_xmalloc(XS_BLOCK_MAX_POINTS * sizeof(*s->thaw_t));
		s->thaw_v = xs_xmalloc(XS_BLOCK_MAX_POINTS * XS_BLOCK_MAX_CH * sizeof(*s->thaw_v));
	}
	xs_block_init(b, xs_tier_step[tier], nch);
	if (f) {
		/* the payload came from this encoder, or from a carry record that
		 * decoded whole when it was replayed: a failure is memory corruption */
		if (xs_block_decode(f->payload, f->len, f->t0, xs_tier_step[tier], f->n, f->flags,
				    s->thaw_t, s->thaw_v, XS_BLOCK_MAX_POINTS) != (long)f->n)
			abort();
		for (unsigned i = 0; i < f->n; i++)
			xs_block_put(b, s->thaw_t[i], s->thaw_v + (size_t)i * nch);
	}
	xs_block_put(b, t, v);
	*fp = st_sealed_of(b, f);
}

/* Whether a point at t cannot join the block of [t0, tlast]: another window, or not later. */
static bool st_needs_seal(int tier, int64_t t, int64_t t0, int64_t tlast)
{
	return st_floor(t, st_window[tier]) != st_floor(t0, st_window[tier]) || t <= tlast;
}

/* Puts a point into *slot, sealing the block there first if t is outside its window
 * or not after its last point. A backfill slot counts in nbf once while it holds a
 * block, across its seals. */
static void st_block_add(struct xs_store *s, uint32_t id, int tier, union st_open *slot, int64_t t,
			 const float *v)
{
	if (!st_open_has(tier, slot) && slot == &st_act(s, id)->bf[tier])
		s->nbf++;
	if (st_frozen(tier)) {
		struct st_sealed *f = slot->frozen;

		if (f && st_needs_seal(tier, t, f->t0, f->tlast)) {
			st_pend_push(s, id, tier, f);
			slot->frozen = NULL;
		}
		st_frozen_put(s, tier, &slot->frozen, t, v);
		return;
	}
	if (!slot->live) {
		slot->live = xs_xcalloc(1, sizeof(*slot->live));
		xs_block_init(slot->live, xs_tier_step[tier], st_nch(tier));
	} else if (st_needs_seal(tier, t, slot->live->t0, slot->live->tlast)) {
		st_pend_push(s, id, tier, st_sealed_of(slot->live, NULL));
		/* the struct is reused; the buffer starts small again (a full window's
		 * buffer kept by every series would cost more than its reallocations) */
		xs_block_cleanup(slot->live);
		xs_block_init(slot->live, xs_tier_step[tier], st_nch(tier));
	}
	xs_block_put(slot->live, t, v);
}

/* ---- what backfill knows without reading (struct st_known) --------------------- */

#define ST_SCAN_PERIODS 512   /* periods a first scan covers: more than any host archive */

static int32_t st_period(int64_t t, int tier)
{
	return (int32_t)(t / xs_tier_step[tier]);
}

/* Notes a point added at time t of coarse tier k of series se (its st_active a),
 * before tier_last moves. */
static void st_known_add(const struct st_series *se, struct st_active *a, int k, int64_t t)
{
	struct st_known *kn = &a->known[k - 1];
	int32_t p = st_period(t, k), last;

	if (!kn->tracked)
		return;
	if (se->tier_last[k] == ST_NONE) {
		kn->first = kn->dense = p;
		kn->hole_lo = kn->hole_hi = 0;
		return;
	}
	last = st_period(se->tier_last[k], k);
	if (p > last) {
		if (p > last + 1) {
			if (kn->hole_hi > kn->hole_lo + 1)
				kn->dense = kn->hole_hi; /* the older gap becomes unknown */
			kn->hole_lo = last;
			kn->hole_hi = p;
		}
	} else if (p > kn->hole_lo && p < kn->hole_hi) {
		if (p != kn->hole_lo + 1)
			kn->dense = p; /* (hole_lo, p) stays empty: unknown from now */
		kn->hole_lo = p;
	} else if (p < kn->first) {
		if (kn->dense == kn->first && p == kn->first - 1) {
			kn->dense = p;
		} else if (kn->dense == kn->first && kn->hole_hi <= kn->hole_lo + 1) {
			kn->hole_lo = p;
			kn->hole_hi = kn->first;
			kn->dense = p;
		}
		kn->first = p;
	}
	if (kn->hole_hi <= kn->hole_lo + 1)
		kn->hole_lo = kn->hole_hi = 0;
}

/* Learns a loaded series' tier k from its last ST_SCAN_PERIODS periods. */
static void st_known_scan(struct xs_store *s, uint32_t id, int k)
{
	struct st_series *se = &s->ser[id];
	struct st_known *kn = &st_act(s, id)->known[k - 1]; /* the read below moves no st_active */
	int64_t step = xs_tier_step[k], last = se->tier_last[k];
	struct xs_point *pt = xs_xmalloc(ST_SCAN_PERIODS * sizeof(*pt));
	size_t n = xs_store_read(s, id, (enum xs_tier)k, last - (ST_SCAN_PERIODS - 1) * step, last,
				 pt, ST_SCAN_PERIODS);
	size_t i;

	if (n > ST_SCAN_PERIODS)
		n = ST_SCAN_PERIODS;
	kn->first = INT32_MIN; /* nothing is known before the scan */
	kn->dense = st_period(last, k) + 1;
	kn->hole_lo = kn->hole_hi = 0;
	/* newest run of consecutive periods, the gap under it, the run under that */
	for (i = n; i > 1 && st_period(pt[i - 2].t, k) == st_period(pt[i - 1].t, k) - 1; i--)
		;
	if (n) {
		kn->dense = st_period(pt[i - 1].t, k);
		if (i > 1) {
			kn->hole_lo = st_period(pt[i - 2].t, k);
			kn->hole_hi = kn->dense;
			for (i--; i > 1 && st_period(pt[i - 2].t, k) == st_period(pt[i - 1].t, k) - 1; i--)
				;
			kn->dense = st_period(pt[i - 1].t, k);
		}
	}
	kn->tracked = true;
	free(pt);
}

enum st_verdict { ST_TAKE, ST_SKIP, ST_LOOK };

/* Whether a backfilled point at t of coarse tier k is new, present, or must be looked up. */
static enum st_verdict st_known_verdict(struct xs_store *s, uint32_t id, int k, int64_t t)
{
	struct st_series *se = &s->ser[id];
	struct st_known *kn = &st_act(s, id)->known[k - 1];
	int32_t p = st_period(t, k);

	if (se->tier_last[k] == ST_NONE || t > se->tier_last[k])
		return ST_TAKE;
	if (!kn->tracked)
		st_known_scan(s, id, k);
	if ((p > kn->hole_lo && p < kn->hole_hi) || p < kn->first)
		return ST_TAKE;
	return p >= kn->dense ? ST_SKIP : ST_LOOK;
}

/* ---- rollups, append, backfill ------------------------------------------------- */

/* Puts a point of coarse tier k at t into its backfill block if the period holds none
 * (as backfill knows it, else read); false if it holds one. */
static bool st_bf_put(struct xs_store *s, uint32_t id, int k, int64_t t, const float *v)
{
	struct st_series *se = &s->ser[id];
	struct st_active *act;
	struct xs_point p;

	switch (st_known_verdict(s, id, k, t)) {
	case ST_SKIP:
		return false;
	case ST_LOOK:
		if (xs_store_read(s, id, (enum xs_tier)k, t, t, &p, 1))
			return false;
		break;
	case ST_TAKE:
		break;
	}
	act = st_act(s, id);
	st_block_add(s, id, k, &act->bf[k], t, v);
	st_known_add(se, act, k, t);
	if (se->tier_last[k] == ST_NONE || t > se->tier_last[k])
		se->tier_last[k] = t;
	return true;
}

/* Emits the finished rollup period of tier k. */
void st_acc_emit(struct xs_store *s, uint32_t id, int k)
{
	struct st_series *se = &s->ser[id];
	struct st_active *act = st_act(s, id);
	struct st_acc *a = ST_ACC(act, k);
	float v[3];

	if (a->period == ST_NONE)
		return;
	if (a->count) {
		v[0] = (float)(a->sum / a->count);
		v[1] = a->min;
		v[2] = a->max;
	} else {
		v[0] = v[1] = v[2] = NAN;
	}
	if (se->tier_last[k] != ST_NONE && a->period <= se->tier_last[k]) {
		/* A backfilled point holds the period, or a later one came before these rows
		 * (an archive of a series with no rows yet, or retired). The period, if free,
		 * takes its rollup in the backfill block: its rows are in the coarser rollups
		 * already, so no host point may take it later (st_cascade would count them
		 * twice). */
		if (a->period < se->tier_last[k])
			st_bf_put(s, id, k, a->period, v);
		return;
	}
	st_block_add(s, id, k, &act->open[k], a->period, v);
	st_known_add(se, act, k, a->period);
	se->tier_last[k] = a->period;
}

bool st_append_core(struct xs_store *s, uint32_t id, int64_t t, float v)
{
	struct st_series *se = &s->ser[id];
	struct st_active *act;

	if (se->last_t != ST_NONE && t <= se->last_t) {
		s->st.duplicates++;
		return false;
	}
	act = st_act(s, id);
	st_block_add(s, id, XS_TIER_5S, &act->open[XS_TIER_5S], t, &v);
	se->seen = s->now_min;
	se->last_t = t;
	se->last_v = v;
	se->tier_last[XS_TIER_5S] = t;
	for (int k = 1; k < XS_NTIERS; k++) {
		struct st_acc *a = ST_ACC(act, k);
		int64_t p = st_floor(t - 5, xs_tier_step[k]); /* a 5 s row covers (t - 5, t] */

		if (a->period != p) {
			st_acc_emit(s, id, k);
			a->period = p;
			a->sum = 0;
			a->count = 0;
		}
		if (isnan(v))
			continue;
		if (!a->count || v < a->min)
			a->min = v;
		if (!a->count || v > a->max)
			a->max = v;
		a->sum += v;
		a->count++;
	}
	s->st.samples++;
	return true;
}

/* Frees the open and backfill blocks of a series' st_active a (nbf follows). */
void st_series_drop_blocks(struct xs_store *s, struct st_active *a)
{
	for (int k = 0; k < XS_NTIERS; k++) {
		s->nbf -= st_open_has(k, &a->bf[k]);
		st_open_free(k, &a->open[k]);
		st_open_free(k, &a->bf[k]);
	}
}

/* Makes series id dormant: its st_active (blocks freed, if any) goes back to the
 * pool. Sealed blocks still in pend stay there: callers release only series
 * whose pend head is gone (st_act_idle), or replay, before any block is sealed. */
void st_act_release(struct xs_store *s, uint32_t id)
{
	struct st_series *se = &s->ser[id];
	struct st_active *a;

	if (se->act == ST_DORMANT)
		return;
	a = st_act_at(s, se->act);
	st_series_drop_blocks(s, a);
	a->pend = (int32_t)s->act_free;
	s->act_free = se->act;
	se->act = ST_DORMANT;
	s->act_live--;
}

/* Whether series id's st_active holds nothing a checkpoint must keep: no block open or
 * sealed and unwritten, no rollup in progress. */
bool st_act_idle(const struct xs_store *s, uint32_t id)
{
	const struct st_active *a = st_peek(s, id);

	if (st_pend_head(s, id) >= 0)
		return false;
	for (int k = 0; k < XS_NTIERS; k++)
		if (st_open_has(k, &a->open[k]) || st_open_has(k, &a->bf[k]))
			return false;
	for (int k = 1; k < XS_NTIERS; k++)
		if (ST_ACC(a, k)->period != ST_NONE)
			return false;
	return true;
}

enum xs_err xs_store_append(struct xs_store *s, xs_series_id id, int64_t t, float v, char *err)
{
	uint32_t x;

	if (id >= s->nser || t % 5 || !st_t_ok(t, false))
		return xs_err_set(err, XS_ERR_ARG, "store: bad series %u or time %lld", id,
				  (long long)t);
	x = st_fbits(v) ^ st_fbits(s->ser[id].last_v);
	if (!s->row_open || s->row_t != t)
		s->now_min = ST_NOW_MINUTES(); /* once a row: what st_append_core marks as seen */
	if (!st_append_core(s, id, t, v))
		return XS_OK;
	if (!s->row_open || s->row_t != t) {
		st_row_close(s);
		s->row_open = true;
		s->row_t = t;
	}
	if (s->nrow == s->caprow) {
		s->caprow = s->caprow ? s->caprow * 2 : 1024;
		s->row = xs_xrealloc(s->row, s->caprow * sizeof(*s->row));
	}
	s->row[s->nrow++] = (struct st_rowent){ id, x };
	if (s->nrow >= ST_ROW_MAX_ENTRIES)
		st_row_flush(s);
	return XS_OK;
}

/*
 * Adds a backfilled point (v: avg, min, max) of tier k at period start t to the
 * coarser rollups in progress that contain it, weighted by the 5 s samples it
 * stands for (12 a minute, 720 an hour). No 5 s sample of its period reached
 * those rollups: its period holds no point, and every period whose rows were
 * summed gets one (st_acc_emit, into the backfill block if a later point came
 * first); and tier k sums a later period, so no row of it is still to come.
 * Without this, the first
 * hour and day after a gap (first contact, daemon down, host unreachable) would
 * be summed from the 5 s rows alone, a part of the period, and the host's whole
 * value refused later because the period then holds a point.
 *
 * A rollup of tier j takes it only through a chain: every tier between k and j
 * is summing the period that contains it (and so took it too). That keeps each
 * sample counted once: a tier between that is not summing that period may still
 * take it from the host's archive, whose point would then reach tier j as well.
 */
static void st_cascade(struct xs_store *s, uint32_t id, int k, int64_t t, const float *v)
{
	struct st_active *act = st_act(s, id);
	uint32_t w = (uint32_t)(xs_tier_step[k] / xs_tier_step[XS_TIER_5S]);
	float mn = isnan(v[1]) ? v[0] : v[1], mx = isnan(v[2]) ? v[0] : v[2];

	/* Only while tier k sums a later period: then no row to come falls in this one
	 * (rows come after the series' last, whose period tier k is summing). With none
	 * in progress (rows not begun, or retired), rows of this period may still come,
	 * and reach the coarser rollups themselves. */
	if (isnan(v[0]) || ST_ACC(act, k)->period == ST_NONE)
		return;
	for (int j = k + 1; j < XS_NTIERS; j++) {
		struct st_acc *a = ST_ACC(act, j);

		if (a->period == ST_NONE || st_floor(t, xs_tier_step[j]) != a->period)
			return;
		if (!a->count || mn < a->min)
			a->min = mn;
		if (!a->count || mx > a->max)
			a->max = mx;
		a->sum += (double)v[0] * w;
		a->count += w;
	}
}

/* Accepts the point if its period is complete and holds nothing; XS_ERR_ABORTED if ignored.
 * An accepted point also joins the coarser rollups in progress (st_cascade). */
enum xs_err st_backfill_core(struct xs_store *s, uint32_t id, int tier, int64_t t,
			     const float *v)
{
	const struct st_acc *acc = ST_ACC(st_peek(s, id), tier);

	if (acc->period != ST_NONE && t >= acc->period)
		return XS_ERR_ABORTED;
	if (!st_bf_put(s, id, tier, t, v))
		return XS_ERR_ABORTED;
	st_cascade(s, id, tier, t, v);
	return XS_OK;
}

enum xs_err xs_store_backfill(struct xs_store *s, xs_series_id id, enum xs_tier tier, int64_t t,
			      float avg, float min, float max, char *err)
{
	float v[3] = { avg, min, max };
	struct st_bytes r = { 0 };

	if (id >= s->nser || tier <= XS_TIER_5S || tier >= XS_NTIERS || t % xs_tier_step[tier] ||
	    !st_t_ok(t, false))
		return xs_err_set(err, XS_ERR_ARG, "store: bad backfill series %u tier %d time %lld",
				  id, (int)tier, (long long)t);
	st_row_close(s); /* the wal keeps the order of rows and backfills */
	if (st_backfill_core(s, id, (int)tier, t, v))
		return XS_OK;
	st_put_u8(&r, 'B');
	st_put_u32(&r, id);
	st_put_u8(&r, (uint8_t)tier);
	st_put_u64(&r, (uint64_t)t);
	for (int k = 0; k < 3; k++)
		st_put_u32(&r, st_fbits(v[k]));
	st_frame(&s->walbuf, r.p, r.len);
	s->wal_appended += r.len + 8;
	free(r.p);
	return XS_OK;
}

int64_t xs_store_last(const struct xs_store *s, xs_series_id id, enum xs_tier tier)
{
	if (id >= s->nser || (unsigned)tier >= XS_NTIERS || s->ser[id].tier_last[tier] == ST_NONE)
		return 0;
	return s->ser[id].tier_last[tier];
}
