/*
 * store_wal.c - the write-ahead log (file "wal"): row and backfill records as they
 * are accepted, the carry records a checkpoint writes ('C', 'D'), the wal's
 * header, its rewrite at a checkpoint, and its replay at open.
 */
#include "store/store_internal.h"

static void st_zz_put(struct xs_bits *w, int64_t d)
{
	uint64_t z = ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
	unsigned nb;

	if (!z) {
		xs_bits_put(w, 0, 1);
		return;
	}
	nb = 64 - (unsigned)__builtin_clzll(z);
	xs_bits_put(w, 1, 1);
	xs_bits_put(w, nb - 1, 6);
	xs_bits_put(w, z, nb);
}

static bool st_zz_get(struct xs_bitr *r, int64_t *d)
{
	uint64_t f, nb, z;

	if (!xs_bitr_get(r, 1, &f))
		return false;
	if (!f) {
		*d = 0;
		return true;
	}
	if (!xs_bitr_get(r, 6, &nb) || !xs_bitr_get(r, (unsigned)nb + 1, &z))
		return false;
	*d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	return true;
}

/* Closes the row being collected into one wal record:
 * 'R', i64 t, u32 n, bits: per sample the id delta - 1 (zigzag) and the XOR. */
/* One 'R' record of row entries [from, to): each record starts its id deltas afresh,
 * so a row may be cut anywhere. */
static void st_row_record(struct xs_store *s, size_t from, size_t to)
{
	struct xs_bits w = { 0 };
	struct st_bytes r = { 0 };
	int64_t prev = -1;

	for (size_t i = from; i < to; i++) {
		uint32_t x = s->row[i].x;

		st_zz_put(&w, (int64_t)s->row[i].id - prev - 1);
		prev = s->row[i].id;
		if (!x) {
			xs_bits_put(&w, 0, 1);
		} else {
			unsigned lead = (unsigned)__builtin_clz(x), trail = (unsigned)__builtin_ctz(x);
			unsigned len = 32 - lead - trail;

			xs_bits_put(&w, 1, 1);
			xs_bits_put(&w, lead, 5);
			xs_bits_put(&w, len - 1, 5);
			xs_bits_put(&w, x >> trail, len);
		}
	}
	st_put_u8(&r, 'R');
	st_put_u64(&r, (uint64_t)s->row_t);
	st_put_u32(&r, (uint32_t)(to - from));
	st_put(&r, w.buf, (w.nbits + 7) / 8);
	st_frame(&s->walbuf, r.p, r.len);
	s->wal_appended += r.len + 8;
	free(r.p);
	free(w.buf);
}

/* Writes the open row's entries so far to the wal buffer, in records of at most
 * ST_ROW_MAX_ENTRIES entries (a record over ST_MAX_RECORD would be refused at
 * replay, and the wal cut there); the row stays open. xs_store_append calls it
 * each time the row reaches ST_ROW_MAX_ENTRIES. */
void st_row_flush(struct xs_store *s)
{
	for (size_t i = 0; i < s->nrow; i += ST_ROW_MAX_ENTRIES)
		st_row_record(s, i, s->nrow - i > ST_ROW_MAX_ENTRIES ? i + ST_ROW_MAX_ENTRIES : s->nrow);
	s->nrow = 0;
}

/* Writes the rest of the open row to the wal buffer, and closes it. */
void st_row_close(struct xs_store *s)
{
	if (!s->row_open)
		return;
	s->row_open = false;
	st_row_flush(s);
}

/*
 * A row record: read whole first, then applied. A record that fails part-way (an id
 * past the catalog's, after damage to it) changes nothing: the replay stops before it
 * and the wal is cut there, so a half-applied record would leave the series' last
 * values ahead of the wal, and every row coded against them after it would read back
 * wrong once replayed.
 */
static bool st_replay_row(struct xs_store *s, struct st_cur *c)
{
	int64_t t = (int64_t)st_get_u64(c);
	uint32_t n = st_get_u32(c);
	struct xs_bitr r;

	if (c->bad || !st_t_ok(t, false))
		return false;
	for (int apply = 0; apply < 2; apply++) {
		int64_t id = -1;

		r.p = c->p + c->pos;
		r.nbits = (c->len - c->pos) * 8;
		r.pos = 0;
		for (uint32_t i = 0; i < n; i++) {
			int64_t d;
			uint64_t f, lead, len, m;
			uint32_t x = 0;

			if (!st_zz_get(&r, &d))
				return false;
			id += d + 1;
			if (id < 0 || id >= s->nser || !xs_bitr_get(&r, 1, &f))
				return false;
			if (f) {
				if (!xs_bitr_get(&r, 5, &lead) || !xs_bitr_get(&r, 5, &len))
					return false;
				if (lead + len + 1 > 32 || !xs_bitr_get(&r, (unsigned)len + 1, &m))
					return false;
				x = (uint32_t)(m << (32 - lead - len - 1));
			}
			if (apply)
				st_append_core(s, (uint32_t)id, t,
					       st_bitsf(st_fbits(s->ser[id].last_v) ^ x));
		}
	}
	return true;
}

/* An open block in a carry record: u8 present, then u8 flags, u16 n, i64 t0, u32 payload
 * length and the payload. The encoder state is not stored: replay re-encodes the points,
 * which gives back the same stream and state. */
static void st_put_block(struct st_bytes *r, int tier, const union st_open *o)
{
	const struct xs_block *b = st_frozen(tier) ? NULL : o->live;
	const struct st_sealed *f = st_frozen(tier) ? o->frozen : NULL;
	unsigned n = b ? b->n : f ? f->n : 0;
	size_t len;

	if (!n) {
		st_put_u8(r, 0);
		return;
	}
	len = b ? xs_block_bytes(b) : f->len;
	st_put_u8(r, 1);
	st_put_u8(r, (uint8_t)(b ? xs_block_flags(b) : f->flags));
	st_put_u8(r, (uint8_t)n);
	st_put_u8(r, (uint8_t)(n >> 8));
	st_put_u64(r, (uint64_t)(b ? b->t0 : f->t0));
	st_put_u32(r, (uint32_t)len);
	if (r->len + len > r->cap)
		st_reserve(r, len);
	if (b)
		xs_block_payload(b, r->p + r->len);
	else
		memcpy(r->p + r->len, f->payload, len);
	r->len += len;
}

static bool st_get_block(struct st_cur *c, int tier, union st_open *out)
{
	unsigned flags, n;
	int64_t t0;
	uint32_t len;
	const uint8_t *p;
	int64_t *t;
	float *v;
	long got;

	if (!st_get_u8(c))
		return !c->bad;
	flags = st_get_u8(c);
	n = st_get_u8(c);
	n |= (unsigned)st_get_u8(c) << 8;
	t0 = (int64_t)st_get_u64(c);
	len = st_get_u32(c);
	p = st_take(c, len);
	if (!p || (flags & XS_BLOCK_NCH_MASK) != st_nch(tier) || n == 0 || n > XS_BLOCK_MAX_POINTS ||
	    !st_t_ok(t0, false)) {
		c->bad = true;
		return false;
	}
	t = xs_xmalloc(n * sizeof(*t));
	v = xs_xmalloc(n * XS_BLOCK_MAX_CH * sizeof(*v));
	got = xs_block_decode(p, len, t0, xs_tier_step[tier], n, flags, t, v, n);
	if (got == (long)n) {
		struct xs_block *b = xs_xcalloc(1, sizeof(*b));

		xs_block_init(b, xs_tier_step[tier], st_nch(tier));
		for (unsigned i = 0; i < n; i++)
			xs_block_put(b, t[i], v + (size_t)i * st_nch(tier));
		if (st_frozen(tier)) {
			out->frozen = st_sealed_of(b, NULL);
			xs_block_cleanup(b);
			free(b);
		} else {
			out->live = b;
		}
	} else {
		c->bad = true;
	}
	free(t);
	free(v);
	return !c->bad;
}

/* An unsigned LEB128 number (at most 10 bytes). */
static void st_put_uvar(struct st_bytes *b, uint64_t v)
{
	while (v >= 0x80) {
		st_put_u8(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	st_put_u8(b, (uint8_t)v);
}

static uint64_t st_get_uvar(struct st_cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t x = st_get_u8(c);

		if (c->bad || (shift == 63 && x > 1)) { /* past 64 bits: not this writer's */
			c->bad = true;
			return 0;
		}
		v |= (uint64_t)(x & 0x7f) << shift;
		if (!(x & 0x80))
			return v;
	}
	c->bad = true; /* an 11th byte */
	return 0;
}

/*
 * 'D': the state of a dormant series at a checkpoint: u32 id, i64 last_t, u32
 * last_v's bits, u8 mask of the tiers holding a point, then for each of those
 * the zig-zag LEB128 of tier_last - last_t (mod 2^64). About 24 bytes (32 with its
 * frame), where a 'C' record takes 169 (177).
 */
void st_carry_dormant(const struct xs_store *s, uint32_t id, struct st_bytes *out)
{
	const struct st_series *se = &s->ser[id];
	struct st_bytes r = { 0 };
	uint8_t mask = 0;

	st_put_u8(&r, 'D');
	st_put_u32(&r, id);
	st_put_u64(&r, (uint64_t)se->last_t);
	st_put_u32(&r, st_fbits(se->last_v));
	for (int k = 0; k < XS_NTIERS; k++)
		mask |= (uint8_t)((se->tier_last[k] != ST_NONE) << k);
	st_put_u8(&r, mask);
	for (int k = 0; k < XS_NTIERS; k++) {
		uint64_t d = (uint64_t)se->tier_last[k] - (uint64_t)se->last_t;

		if (mask & 1u << k)
			st_put_uvar(&r, d << 1 ^ (uint64_t)((int64_t)d >> 63));
	}
	st_frame(out, r.p, r.len);
	free(r.p);
}

/* 'C': the state of one series at a checkpoint ('D' for a dormant one). */
static void st_carry(struct xs_store *s, uint32_t id, struct st_bytes *out)
{
	struct st_series *se = &s->ser[id];
	const struct st_active *act;
	struct st_bytes r = { 0 };

	if (se->act == ST_DORMANT) {
		st_carry_dormant(s, id, out);
		return;
	}
	act = st_peek(s, id);
	st_put_u8(&r, 'C');
	st_put_u32(&r, id);
	st_put_u64(&r, (uint64_t)se->last_t);
	st_put_u32(&r, st_fbits(se->last_v));
	for (int k = 0; k < XS_NTIERS; k++) {
		/* the 5 s tier has no rollup: its fields are written empty */
		const struct st_acc none = { ST_NONE, 0, 0, 0, 0 };
		const struct st_acc *a = k ? ST_ACC(act, k) : &none;
		uint64_t u;

		st_put_u64(&r, (uint64_t)se->tier_last[k]);
		st_put_u64(&r, (uint64_t)a->period);
		memcpy(&u, &a->sum, 8);
		st_put_u64(&r, u);
		st_put_u32(&r, a->count);
		st_put_u32(&r, st_fbits(a->min));
		st_put_u32(&r, st_fbits(a->max));
		st_put_block(&r, k, &act->open[k]);
		st_put_block(&r, k, &act->bf[k]);
	}
	st_frame(out, r.p, r.len);
	free(r.p);
}

static bool st_replay_carry(struct xs_store *s, struct st_cur *c)
{
	uint32_t id = st_get_u32(c);
	struct st_series *se;
	struct st_active *act;

	if (c->bad || id >= s->nser)
		return false;
	se = &s->ser[id];
	act = st_act(s, id);
	st_series_drop_blocks(s, act);
	se->last_t = (int64_t)st_get_u64(c);
	se->last_v = st_bitsf(st_get_u32(c));
	if (!st_t_ok(se->last_t, true))
		return false;
	for (int k = 0; k < XS_NTIERS; k++) {
		struct st_acc skip, *a = k ? ST_ACC(act, k) : &skip;
		uint64_t u;

		se->tier_last[k] = (int64_t)st_get_u64(c);
		a->period = (int64_t)st_get_u64(c);
		u = st_get_u64(c);
		memcpy(&a->sum, &u, 8);
		a->count = st_get_u32(c);
		a->min = st_bitsf(st_get_u32(c));
		a->max = st_bitsf(st_get_u32(c));
		if (!st_t_ok(se->tier_last[k], true) || !st_t_ok(a->period, true) ||
		    !st_get_block(c, k, &act->open[k]) || !st_get_block(c, k, &act->bf[k]))
			return false;
		s->nbf += st_open_has(k, &act->bf[k]);
		if (k)
			act->known[k - 1].tracked = se->tier_last[k] == ST_NONE;
	}
	return !c->bad;
}

/* 'D' (st_carry_dormant): the series is dormant, with these times; saved: read from the
 * dormant file (a wal's 'D' record, of an XSW2 wal, must go to the file at the next
 * checkpoint). */
bool st_replay_dormant(struct xs_store *s, struct st_cur *c, bool saved)
{
	uint32_t id = st_get_u32(c);
	int64_t last_t = (int64_t)st_get_u64(c), tier_last[XS_NTIERS];
	uint32_t last_v = st_get_u32(c);
	unsigned mask = st_get_u8(c);

	for (int k = 0; k < XS_NTIERS; k++) {
		uint64_t z = mask & 1u << k ? st_get_uvar(c) : 0;
		uint64_t d = z >> 1 ^ (uint64_t)-(int64_t)(z & 1);

		tier_last[k] = mask & 1u << k ? (int64_t)((uint64_t)last_t + d) : ST_NONE;
	}
	if (c->bad || id >= s->nser || mask >> XS_NTIERS || c->pos != c->len)
		return false;
	/* a 'D' record comes before any record that wakes the series (a carry record, or the
	 * wake of a dormant one), or after a failed checkpoint released it idle: releasing
	 * loses nothing */
	st_act_release(s, id);
	s->ser[id].last_t = last_t;
	s->ser[id].last_v = st_bitsf(last_v);
	memcpy(s->ser[id].tier_last, tier_last, sizeof(tier_last));
	s->ser[id].times_saved = saved;
	return true;
}

static bool st_replay_backfill(struct xs_store *s, struct st_cur *c)
{
	uint32_t id = st_get_u32(c);
	unsigned tier = st_get_u8(c);
	int64_t t = (int64_t)st_get_u64(c);
	float v[3];

	for (int k = 0; k < 3; k++)
		v[k] = st_bitsf(st_get_u32(c));
	if (c->bad || id >= s->nser || tier < 1 || tier >= XS_NTIERS || !st_t_ok(t, false))
		return false;
	st_backfill_core(s, id, (int)tier, t, v);
	return true;
}

/* The CRC-32C of an XSW2 wal header's magic and generation (bytes 0..4, 8..16). */
static uint32_t st_wal_hdr_crc(const uint8_t *h)
{
	return xs_crc32c(xs_crc32c(0, h, 4), h + 8, 8);
}

/*
 * Writes a wal of generation gen (carry records of every series with data) to
 * wal.tmp and renames it to wal; its descriptor and size into *fd, *size. The
 * store's state is only read (see st_wal_swap).
 */
enum xs_err st_wal_write(struct xs_store *s, uint64_t gen, int *fdp, uint64_t *size,
			 char *err)
{
	struct st_bytes b = { 0 };
	uint8_t h[ST_FILE_HDR] = { 0 };
	uint64_t off = 0;
	enum xs_err e;
	int fd;

	fd = openat(s->dirfd, "wal.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errno(err, "create", s, "wal.tmp");
	st_w32(h, ST_MAGIC_WAL);
	st_w64(h + 8, gen);
	st_w32(h + 4, st_wal_hdr_crc(h));
	st_put(&b, h, sizeof(h));
	/* written ST_WAL_CHUNK at a time: the carry records of a million series are
	 * hundreds of megabytes, never held whole */
	for (uint32_t id = 0; id <= s->nser; id++) {
		if (id < s->nser && st_has_times(&s->ser[id]) &&
		    !(s->ser[id].act == ST_DORMANT && s->ser[id].times_saved))
			st_carry(s, id, &b);
		if (b.len >= ST_WAL_CHUNK || (id == s->nser && b.len)) {
			if (st_write_all(fd, b.p, b.len, off)) {
				e = st_errno(err, "write", s, "wal.tmp");
				close(fd);
				free(b.p);
				unlinkat(s->dirfd, "wal.tmp", 0); /* its space back (a full disk) */
				return e;
			}
			off += b.len;
			b.len = 0;
		}
	}
	free(b.p);
	if (fsync(fd) || renameat(s->dirfd, "wal.tmp", s->dirfd, "wal")) {
		e = st_errno(err, "write", s, "wal");
		close(fd);
		unlinkat(s->dirfd, "wal.tmp", 0);
		return e;
	}
	/* renamed, it is the wal whatever comes next: rows must go to it, not to the old
	 * one's unlinked inode. The directory's fsync (for a power cut) is retried by the
	 * next syncs until it succeeds. */
	s->dir_unsynced = fsync(s->dirfd) != 0;
	*fdp = fd;
	*size = off;
	return XS_OK;
}

/* The wal of generation gen that st_wal_write wrote becomes the store's; returns the
 * old one's descriptor, for the caller to close (the last close of the replaced,
 * unlinked file frees its blocks: tens of milliseconds for a large wal). */
int st_wal_swap(struct xs_store *s, int fd, uint64_t size, uint64_t gen)
{
	int old = s->wal_fd;

	s->wal_fd = fd;
	s->wal_size = size;
	s->gen = gen;
	s->wal_appended = 0;
	return old;
}

static enum xs_err st_wal_rewrite(struct xs_store *s, uint64_t gen, char *err)
{
	uint64_t size;
	int fd;
	enum xs_err e = st_wal_write(s, gen, &fd, &size, err);

	if (!e) {
		int old = st_wal_swap(s, fd, size, gen);

		if (old >= 0)
			close(old);
	}
	return e;
}

/*
 * The wal's bytes that did not replay (a torn tail after a crash, or damage with
 * records after it: rows after a bad one cannot be replayed, their values are
 * coded against the rows before) are copied to wal.dropped (replacing an older
 * one) before the wal is cut, and counted in the stats: never lost unseen. Best
 * effort: a failure to copy does not stop the open.
 */
static void st_wal_keep_dropped(struct xs_store *s, const uint8_t *p, size_t n)
{
	int fd = openat(s->dirfd, "wal.dropped", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	s->st.wal_dropped_bytes = n;
	if (fd < 0 || st_write_all(fd, p, n, 0) != XS_OK || fsync(fd) < 0) {
		/* kept what could be: the count still says how much did not replay, and the
		 * error that they are not all in wal.dropped (serve must not say they are) */
		s->st.wal_dropped_errno = errno ? errno : EIO;
	}
	if (fd >= 0)
		close(fd);
}

/* The highest generation of a valid index run in any .idx of the store (0: none) into
 * *gen; an error naming the file when one cannot be listed, opened or read (a run hidden
 * by it might hold a higher generation, whose runs would then be cut as uncommitted). */
static enum xs_err st_runs_max_gen(struct xs_store *s, uint64_t *gen, char *err)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	enum xs_err e = XS_OK;

	*gen = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return st_errno(err, "list", s, ".");
	}
	rewinddir(d); /* the dup shares the directory offset another scan left at its end */
	while (!e && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct st_seg *g;
		struct stat sb;
		bool unread = false;
		int tier;
		int64_t no;

		if (l < 4 || strcmp(de->d_name + l - 4, ".idx") || !st_seg_parse(de->d_name, &tier, &no))
			continue;
		g = xs_xcalloc(1, sizeof(*g));
		g->tier = tier;
		g->no = no;
		g->fd = -1;
		g->ifd = openat(s->dirfd, de->d_name, O_RDONLY | O_CLOEXEC);
		if (g->ifd < 0 || fstat(g->ifd, &sb) < 0)
			unread = true;
		else
			st_idx_parse(g->ifd, (uint64_t)sb.st_size, UINT64_MAX, g, &unread,
				     &s->st.damaged_blocks);
		if (unread)
			e = st_errno(err, "read", s, de->d_name);
		for (size_t i = 0; i < g->nruns; i++)
			*gen = g->runs[i].gen > *gen ? g->runs[i].gen : *gen;
		st_seg_free(g);
	}
	closedir(d);
	return e;
}

enum xs_err st_wal_load(struct xs_store *s, char *err)
{
	uint8_t *buf;
	size_t len, pos = ST_FILE_HDR;
	struct st_cur rec;
	bool good = true;

	if (st_read_file(s->dirfd, "wal", &buf, &len))
		return st_errno(err, "read", s, "wal");
	if (len < ST_FILE_HDR) {
		free(buf);
		/* a new store, or a wal lost or cut to nothing: its generation is at least
		 * that of every valid run on disk, or those runs would read as uncommitted
		 * and the next checkpoint would cut them and their blocks away */
		uint64_t gen;

		return st_runs_max_gen(s, &gen, err) ? XS_ERR_IO : st_wal_rewrite(s, gen, err);
	}
	if (st_le32(buf) != ST_MAGIC_WAL && st_le32(buf) != ST_MAGIC_WAL2 &&
	    st_le32(buf) != ST_MAGIC_WAL1) {
		free(buf);
		return xs_err_set(err, XS_ERR_PARSE, "%s/wal: not a write-ahead log", s->dir);
	}
	if (st_le32(buf) != ST_MAGIC_WAL1 && st_le32(buf + 4) != st_wal_hdr_crc(buf)) {
		/* a wrong generation would take committed runs for uncommitted ones (cut at
		 * the next checkpoint) or the reverse: nothing is guessed */
		free(buf);
		return xs_err_set(err, XS_ERR_PARSE,
				  "%s/wal: header damaged (checksum mismatch); moving the file away "
				  "opens the store from its segments, without the rows since the last "
				  "checkpoint",
				  s->dir);
	}
	s->gen = st_le64(buf + 8);
	s->st.dormant_lost = s->dormant_made && st_le32(buf) == ST_MAGIC_WAL;
	if (st_ckpt_recover(s, err)) {
		free(buf);
		return XS_ERR_IO;
	}
	s->replaying = true;
	while (good && st_unframe(buf, len, &pos, &rec)) {
		size_t start = pos - rec.len - 8;

		switch (st_get_u8(&rec)) {
		case 'R': good = st_replay_row(s, &rec); break;
		case 'C': good = st_replay_carry(s, &rec); break;
		case 'D': good = st_replay_dormant(s, &rec, false); break;
		case 'B': good = st_replay_backfill(s, &rec); break;
		default: good = false; break;
		}
		if (!good)
			pos = start;
	}
	s->replaying = false;
	if (pos < len)
		st_wal_keep_dropped(s, buf + pos, len - pos);
	free(buf);
	s->wal_fd = openat(s->dirfd, "wal", O_RDWR | O_CLOEXEC);
	if (s->wal_fd < 0)
		return st_errno(err, "open", s, "wal");
	/* a torn tail goes: later records would replay against the wrong state */
	if (ftruncate(s->wal_fd, (off_t)pos) < 0 || fsync(s->wal_fd) < 0)
		return st_errno(err, "truncate", s, "wal");
	s->wal_size = pos;
	s->wal_appended = pos;
	return XS_OK;
}
