/*
 * store_read.c - the read path: a series' points of one tier from the segments, the
 * sealed blocks still in memory and its open blocks, merged in time order
 * (xs_store_read, xs_store_read_partial, xs_store_latest).
 */
#include "store/store_internal.h"

/* Reads and checks one block of series id; appends its points to the read scratch. */
static void st_scratch_need(struct xs_store *s, size_t n)
{
	if (n <= s->rcap)
		return;
	while (s->rcap < n)
		s->rcap = s->rcap ? s->rcap * 2 : 1024;
	s->rt = xs_xrealloc(s->rt, s->rcap * sizeof(*s->rt));
	s->rv = xs_xrealloc(s->rv, s->rcap * 3 * sizeof(*s->rv));
	s->mt = xs_xrealloc(s->mt, s->rcap * sizeof(*s->mt));
	s->mv = xs_xrealloc(s->mv, s->rcap * 3 * sizeof(*s->mv));
}

static size_t st_decode_into(struct xs_store *s, size_t m, const uint8_t *p, size_t len, int64_t t0,
			     int tier, unsigned n, unsigned flags)
{
	long got;

	st_scratch_need(s, m + n);
	got = xs_block_decode(p, len, t0, xs_tier_step[tier], n, flags, s->rt + m, s->rv + m * 3, n);
	if (got < 0)
		return m;
	if (st_nch(tier) == 1) /* spread 1-channel values to the 3-wide layout, from the end */
		for (long i = got - 1; i >= 0; i--)
			s->rv[(m + (size_t)i) * 3] = s->rv[m * 3 + (size_t)i];
	return m + (size_t)got;
}

/* Checks one block read into h (its entry e) and decodes it; a corrupt or
 * misplaced block is dropped, never decoded. */
static size_t st_read_block_at(struct xs_store *s, const struct st_seg *g, const struct st_ent *e,
			       uint32_t id, size_t m, const uint8_t *h)
{
	if (h[6] != g->tier || (h[7] & XS_BLOCK_NCH_MASK) != st_nch(g->tier) ||
	    st_block_crc(id, g->tier, e->t0, h, e->len) != st_le32(h)) {
		s->st.damaged_blocks++;
		return m;
	}
	return st_decode_into(s, m, h + ST_BLOCK_HDR, e->len - ST_BLOCK_HDR, e->t0, g->tier,
			      (unsigned)(h[4] | h[5] << 8), h[7]);
}

/* Reads the blocks of entries e[0..n) (one series, ascending t0) with one pread
 * when they are adjacent in the .seg (the usual case), else, or when that pread
 * comes short, one each. */
static size_t st_read_disk_blocks(struct xs_store *s, struct st_seg *g, const struct st_ent *e,
				  size_t n, uint32_t id, size_t m, uint8_t **tmp, size_t *tmpcap)
{
	uint64_t span = e[0].len;
	size_t i;

	for (i = 1; i < n && e[i].off == e[i - 1].off + e[i - 1].len; i++)
		span += e[i].len;
	if (i < n) { /* not adjacent: one at a time */
		for (i = 0; i < n; i++)
			m = st_read_disk_blocks(s, g, &e[i], 1, id, m, tmp, tmpcap);
		return m;
	}
	if (span > *tmpcap) {
		*tmpcap = span;
		*tmp = xs_xrealloc(*tmp, *tmpcap);
	}
	if (pread(g->fd, *tmp, span, (off_t)e[0].off) != (ssize_t)span) {
		/* a .seg cut short (or a read error): the blocks before the cut still read; one
		 * that does not is counted, as a damaged one is (its points read as missing:
		 * the count tells damage from a gap); unless the .seg could not be opened for
		 * want of a descriptor or memory, which is no damage and passes */
		bool starved = g->fd < 0 && (g->fd_errno == EMFILE || g->fd_errno == ENFILE ||
					     g->fd_errno == ENOMEM);

		if (n == 1 && starved)
			s->st.unread_blocks++;
		else if (n == 1)
			s->st.damaged_blocks++;
		for (i = 0; n > 1 && i < n; i++)
			m = st_read_disk_blocks(s, g, &e[i], 1, id, m, tmp, tmpcap);
		return m;
	}
	for (i = 0; i < n; i++)
		m = st_read_block_at(s, g, &e[i], id, m, *tmp + (e[i].off - e[0].off));
	return m;
}

/* Blocks of series id with t0 in [wfrom, to] in one run: the directory names the
 * chunks that can hold the series; only those are read. */
static size_t st_read_run(struct xs_store *s, struct st_seg *g, struct st_run *run, uint32_t id,
			  int64_t wfrom, int64_t to, size_t m, uint8_t **tmp, size_t *tmpcap)
{
	size_t nd = st_dir_chunks(run->n), lo = 0, hi = nd;

	if (!st_run_may_hold(run, id))
		return m;
	while (lo < hi) { /* the first chunk whose first series is >= id */
		size_t mid = (lo + hi) / 2;

		if (run->dir[2 * mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo ? lo - 1 : 0; k < nd && (k < lo || run->dir[2 * k] <= id); k++) {
		const struct st_ent *e;
		size_t n, first = 0, cnt = 0;

		if (run->last && run->last[k] && run->last[k] <= id)
			continue; /* the chunk ends below the series */
		e = st_chunk_get(s, g, run, k, &n);
		if (!n)
			continue;
		if (!run->last)
			run->last = xs_xcalloc(nd, sizeof(*run->last));
		run->last[k] = e[n - 1].series + 1;
		/* entries ascend by series, then t0 (written so, st_ck_cmp; st_chunk_load refuses
		 * a chunk out of order): the series' ones from the first >= id */
		for (size_t b = n; first < b;) {
			size_t mid = (first + b) / 2;

			if (e[mid].series < id)
				first = mid + 1;
			else
				b = mid;
		}
		for (size_t i = first; i < n && e[i].series == id; i++)
			if (e[i].t0 >= wfrom && e[i].t0 <= to) {
				if (!cnt)
					first = i;
				cnt++;
			}
		if (cnt)
			m = st_read_disk_blocks(s, g, e + first, cnt, id, m, tmp, tmpcap);
		if (e[n - 1].series > id)
			break;
	}
	return m;
}

static size_t st_read_disk(struct xs_store *s, uint32_t id, int tier, int64_t from, int64_t to,
			   size_t m)
{
	int64_t wfrom = st_floor(from, st_window[tier]);
	uint8_t *tmp = NULL;
	size_t tmpcap = 0;

	int64_t nlo = st_floor(wfrom, st_span[tier]) / st_span[tier];
	int64_t nhi = st_floor(to, st_span[tier]) / st_span[tier];

	if (nlo < s->seg_lo[tier])
		nlo = s->seg_lo[tier];
	if (nhi > s->seg_hi[tier])
		nhi = s->seg_hi[tier];
	for (int64_t no = nlo; no <= nhi; no++) {
		struct st_seg *g = st_seg_get(s, tier, no);

		if (g->idx_unread) /* a read error cut its parse short: try again (not a segment a
				    * checkpoint writes now: those were parsed whole before) */
			st_seg_load(s, g);
		if (!g->nruns || g->ifd < 0)
			continue;
		/* a .seg that cannot be opened (removed, EIO) while its index names blocks:
		 * their reads fail (fd -1) and are counted, not skipped unseen */
		st_seg_fd(s, g, false);
		for (size_t r = 0; r < g->nruns; r++)
			if (g->runs[r].tmax >= wfrom && g->runs[r].tmin <= to)
				m = st_read_run(s, g, &g->runs[r], id, wfrom, to, m, &tmp, &tmpcap);
	}
	free(tmp);
	return m;
}

static size_t st_read_mem(struct xs_store *s, const union st_open *o, int tier, int64_t from,
			  int64_t to, size_t m)
{
	const struct xs_block *b = st_frozen(tier) ? NULL : o->live;
	const struct st_sealed *f = st_frozen(tier) ? o->frozen : NULL;
	const uint8_t *view;
	size_t len;
	uint8_t *p;

	if (f)
		return f->t0 > to || f->tlast < from
			       ? m
			       : st_decode_into(s, m, f->payload, f->len, f->t0, tier, f->n, f->flags);
	if (!b || !b->n || b->t0 > to || b->tlast < from)
		return m;
	len = xs_block_bytes(b);
	view = xs_block_payload_view(b);
	if (view && len) /* decoded where it is: no copy */
		return st_decode_into(s, m, view, len, b->t0, tier, b->n, xs_block_flags(b));
	p = xs_xmalloc(len + 1);
	xs_block_payload(b, p);
	m = st_decode_into(s, m, p, len, b->t0, tier, b->n, xs_block_flags(b));
	free(p);
	return m;
}

/* End of the ascending (non-decreasing) run of the scratch from i, i < m. */
static size_t st_run_end(const struct xs_store *s, size_t i, size_t m)
{
	while (++i < m && s->rt[i - 1] <= s->rt[i])
		;
	return i;
}

/* Merges the scratch's adjacent runs [a, b) and [b, c) into the merge scratch at a;
 * on equal times the left run's point goes first (the merge is stable). */
static void st_merge_runs(struct xs_store *s, size_t a, size_t b, size_t c)
{
	size_t i = a, j = b, w = a;

	while (i < b || j < c) {
		size_t k = j >= c || (i < b && s->rt[i] <= s->rt[j]) ? i++ : j++;

		s->mt[w] = s->rt[k];
		memcpy(&s->mv[w * 3], &s->rv[k * 3], 3 * sizeof(*s->mv));
		w++;
	}
}

/* Sorts the scratch by time and drops repeats (the first read of a time wins: the
 * segments', then pend's, the open block's, the backfill's). The sources are each in
 * time order, so the scratch is a few ascending runs (usually one; two when a backfill
 * block holds times before the open block's): a stable merge of adjacent runs, pass
 * after pass, costs O(m log runs). */
static size_t st_scratch_sort(struct xs_store *s, size_t m)
{
	size_t w = 0, i;

	for (i = 1; i < m && s->rt[i - 1] < s->rt[i]; i++)
		;
	if (i >= m)
		return m;
	for (;;) {
		size_t runs = 0;
		int64_t *t;
		float *v;

		for (size_t a = 0; a < m; runs++) {
			size_t b = st_run_end(s, a, m), c = b < m ? st_run_end(s, b, m) : m;

			st_merge_runs(s, a, b, c);
			a = c;
		}
		t = s->rt, s->rt = s->mt, s->mt = t;
		v = s->rv, s->rv = s->mv, s->mv = v;
		if (runs == 1)
			break;
	}
	for (i = 0; i < m; i++) {
		if (w && s->rt[w - 1] == s->rt[i])
			continue;
		s->rt[w] = s->rt[i];
		memmove(&s->rv[w * 3], &s->rv[i * 3], 3 * sizeof(*s->rv));
		w++;
	}
	return w;
}

/* Sealed blocks of the chain from p, oldest first (the chain runs newest first). */
static void st_read_pend(struct xs_store *s, int32_t p, int tier, int64_t from, int64_t to, size_t *m)
{
	if (p < 0)
		return;
	st_read_pend(s, s->pend[p].next, tier, from, to, m);
	if (s->pend[p].tier == tier) {
		const struct st_sealed *sb = s->pend[p].b;

		if (sb->t0 <= to && sb->tlast >= from)
			*m = st_decode_into(s, *m, sb->payload, sb->len, sb->t0, tier, sb->n, sb->flags);
	}
}

size_t xs_store_read(struct xs_store *s, xs_series_id id, enum xs_tier tier, int64_t from,
		     int64_t to, struct xs_point *out, size_t cap)
{
	const struct st_active *a;
	size_t m, n = 0;

	if (!s || id >= s->nser || (unsigned)tier >= XS_NTIERS || from > to)
		return 0;
	a = st_peek(s, id);
	m = st_read_disk(s, id, tier, from, to, 0);
	st_read_pend(s, st_pend_head(s, id), tier, from, to, &m);
	m = st_read_mem(s, &a->open[tier], tier, from, to, m);
	m = st_read_mem(s, &a->bf[tier], tier, from, to, m);
	m = st_scratch_sort(s, m);
	for (size_t i = 0; i < m; i++) {
		if (s->rt[i] < from || s->rt[i] > to)
			continue;
		if (n < cap) {
			out[n].t = s->rt[i];
			out[n].avg = s->rv[i * 3];
			out[n].min = tier == XS_TIER_5S ? s->rv[i * 3] : s->rv[i * 3 + 1];
			out[n].max = tier == XS_TIER_5S ? s->rv[i * 3] : s->rv[i * 3 + 2];
		}
		n++;
	}
	return n;
}

bool xs_store_read_partial(const struct xs_store *s, xs_series_id id, enum xs_tier tier,
			   struct xs_point *out)
{
	const struct st_series *se;
	const struct st_acc *a;

	if (!s || id >= s->nser || tier <= XS_TIER_5S || tier >= XS_NTIERS)
		return false;
	se = &s->ser[id];
	a = ST_ACC(st_peek(s, id), tier);
	if (a->period == ST_NONE || (se->tier_last[tier] != ST_NONE && a->period <= se->tier_last[tier]))
		return false;
	out->t = a->period;
	if (a->count) {
		out->avg = (float)(a->sum / a->count);
		out->min = a->min;
		out->max = a->max;
	} else {
		out->avg = out->min = out->max = NAN;
	}
	return true;
}

bool xs_store_latest(const struct xs_store *s, xs_series_id id, int64_t *t, float *v)
{
	if (id >= s->nser || s->ser[id].last_t == ST_NONE)
		return false;
	*t = s->ser[id].last_t;
	*v = s->ser[id].last_v;
	return true;
}
