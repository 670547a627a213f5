/*
 * store_checkpoint.c - syncs and checkpoints: the catalog and wal buffers written and
 * fsynced (xs_store_sync), sealed blocks written into segments as new index runs,
 * the wal replaced by one of the next generation, recovery of an interrupted
 * checkpoint, and the retirement of series that stopped.
 */
#include "store/store_internal.h"

static enum xs_err st_sync(struct xs_store *s, char *err);

/* One sealed block waiting for its segment, with its sort key. */
struct st_ck {
	uint8_t tier;
	int64_t no;
	uint32_t series;
	int64_t t0;
	size_t pend;
};

static int st_ck_cmp(const void *a, const void *b)
{
	const struct st_ck *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->no != y->no)
		return x->no < y->no ? -1 : 1;
	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

/* The ranges of series of ck[0 .. n) (sorted by series) into r, when worth keeping. */
static void st_run_ranges(struct st_run *r, const struct st_ck *ck, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !i || ck[i].series > ck[i - 1].series + 1;
	if (!k || k > n / ST_RNG_MIN)
		return;
	r->rng = xs_xmalloc(2 * k * sizeof(*r->rng));
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!i || ck[i].series > ck[i - 1].series + 1)
			r->rng[2 * k++] = ck[i].series;
		r->rng[2 * k - 1] = ck[i].series + 1;
	}
	r->nrng = (uint32_t)k;
}

/* What st_seg_write wrote, for st_seg_commit to apply to the segment. */
struct st_seg_out {
	size_t first, n;            /* its blocks: ck[first .. first + n) of the checkpoint */
	struct st_seg *g;
	struct st_run run;
	uint64_t data_end, idx_end; /* the segment's new ends */
	int ifd;                    /* the index, opened for writing (-1 after commit) */
};

/*
 * Cuts a segment's files back to their committed ends, dropping what a checkpoint
 * that failed wrote past them (ifd: its index opened for writing, or -1): readers
 * never look there and the next checkpoint would overwrite it, but until then it
 * would hold the space a full disk lacks, and the wal's appends would fail for it
 * (the checkpoint is retried only after a sync that succeeds). Best effort.
 */
static void st_seg_cut(const struct st_seg *g, int ifd)
{
	if (g->fd >= 0 && g->writable && ftruncate(g->fd, (off_t)g->data_end) < 0) {
		/* the next checkpoint truncates it first anyway */
	}
	if (ifd >= 0 && ftruncate(ifd, (off_t)g->idx_end) < 0) {
		/* runs tagged above the wal's generation are not read; ckpt names the file */
	}
}

/*
 * Appends the blocks ck[o->first ..] of one segment (o->g, its data file open for
 * writing) to the segment's files and one run to its index, and says what it
 * wrote in *o; the segment itself is left as it was (readers on another thread
 * may use it meanwhile: see xs_store_options.io_begin) until st_seg_commit.
 */
static enum xs_err st_seg_write(struct xs_store *s, const struct st_ck *ck_all, uint64_t gen,
				struct st_seg_out *o, char *err)
{
	struct st_seg *g = o->g;
	const struct st_ck *ck = ck_all + o->first;
	size_t n = o->n;
	struct st_bytes data = { 0 }, idx = { 0 }, dir = { 0 };
	size_t nd = st_dir_chunks(n);
	struct st_run run = { gen, n, 0, xs_xmalloc(nd * 2 * sizeof(uint32_t)), 0, 0,
			      xs_xmalloc(nd * sizeof(uint32_t)), NULL, 0 };
	enum xs_err e = XS_OK;
	char name[64];
	uint8_t h[ST_RUN_HDR];
	int ifd = -1;
	uint64_t flushed = 0; /* bytes of data already written after g->data_end */

	if (g->fd < 0 || !g->writable || ftruncate(g->fd, (off_t)g->data_end) < 0) {
		st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
		st_run_free(&run);
		return st_errno(err, "write", s, name);
	}
	for (size_t i = 0; i < n; i++) {
		const struct st_sealed *b = s->pend[ck[i].pend].b;
		size_t plen, at;
		uint8_t bh[ST_BLOCK_HDR] = { 0 };
		uint64_t off;

		/* the blocks go out ST_WAL_CHUNK at a time: a 5 s segment's new blocks at 658k
		 * series are 200 MB, never held whole */
		if (data.len >= ST_WAL_CHUNK) {
			if (st_write_all(g->fd, data.p, data.len, g->data_end + flushed)) {
				st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
				e = st_errno(err, "write", s, name);
				goto out;
			}
			flushed += data.len;
			data.len = 0;
		}
		plen = b->len;
		at = data.len;
		off = g->data_end + flushed + at;

		bh[4] = (uint8_t)b->n;
		bh[5] = (uint8_t)(b->n >> 8);
		bh[6] = ck[i].tier;
		bh[7] = b->flags;
		st_put(&data, bh, sizeof(bh));
		st_put(&data, b->payload, plen);
		st_w32(data.p + at,
		       st_block_crc(ck[i].series, ck[i].tier, b->t0, data.p + at, ST_BLOCK_HDR + plen));
		if (i % ST_DIR_STRIDE == 0)
			run.dir[2 * (i / ST_DIR_STRIDE)] = ck[i].series;
		if (i % ST_DIR_STRIDE == ST_DIR_STRIDE - 1 || i == n - 1)
			run.last[i / ST_DIR_STRIDE] = ck[i].series + 1;
		st_put_u32(&idx, ck[i].series);
		st_put_u32(&idx, (uint32_t)(b->t0 - g->no * st_span[g->tier]));
		st_put_u64(&idx, off << ST_LEN_BITS | (ST_BLOCK_HDR + plen));
	}
	for (size_t k = 0; k < nd; k++) {
		size_t cn = n - k * ST_DIR_STRIDE < ST_DIR_STRIDE ? n - k * ST_DIR_STRIDE : ST_DIR_STRIDE;

		run.dir[2 * k + 1] = xs_crc32c(0, idx.p + k * ST_DIR_STRIDE * ST_ENT, cn * ST_ENT);
		st_put_u32(&dir, run.dir[2 * k]);
		st_put_u32(&dir, run.dir[2 * k + 1]);
	}
	st_put(&idx, dir.p, dir.len);
	{
		int64_t base = g->no * st_span[g->tier], lo = INT64_MAX, hi = INT64_MIN;

		for (size_t i = 0; i < n; i++) {
			lo = ck[i].t0 < lo ? ck[i].t0 : lo;
			hi = ck[i].t0 > hi ? ck[i].t0 : hi;
		}
		run.tmin = lo;
		run.tmax = hi;
		/* windows of the segment the blocks start in, as u16 each (at most 480) */
		h[28] = (uint8_t)((lo - base) / st_window[g->tier]);
		h[29] = (uint8_t)(((lo - base) / st_window[g->tier]) >> 8);
		h[30] = (uint8_t)((hi - base) / st_window[g->tier]);
		h[31] = (uint8_t)(((hi - base) / st_window[g->tier]) >> 8);
	}
	st_w32(h, ST_MAGIC_RUN);
	st_w32(h + 4, (uint32_t)n);
	st_w64(h + 8, gen);
	st_w64(h + 16, g->data_end + flushed + data.len);
	st_w32(h + 24, xs_crc32c(xs_crc32c(xs_crc32c(0, h, 24), h + 28, 4), dir.p, dir.len));
	st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
	if (st_write_all(g->fd, data.p, data.len, g->data_end + flushed) || fdatasync(g->fd) < 0) {
		e = st_errno(err, "write", s, name);
		goto out;
	}
	st_seg_name(name, sizeof(name), g->tier, g->no, "idx");
	ifd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ifd < 0 || ftruncate(ifd, (off_t)g->idx_end) < 0 ||
	    st_write_all(ifd, h, sizeof(h), g->idx_end) ||
	    st_write_all(ifd, idx.p, idx.len, g->idx_end + sizeof(h)) || fdatasync(ifd) < 0) {
		e = st_errno(err, "write", s, name);
		goto out;
	}
	run.at = g->idx_end + ST_RUN_HDR;
	st_run_ranges(&run, ck, n);
	o->run = run;
	run.dir = NULL; /* o->run owns them now */
	run.last = NULL;
	run.rng = NULL;
	o->data_end = g->data_end + flushed + data.len;
	o->idx_end = g->idx_end + sizeof(h) + idx.len;
	o->ifd = ifd;
	ifd = -1;
out:
	if (e) /* the space this try took goes back (a full disk): see st_checkpoint */
		st_seg_cut(g, ifd);
	if (ifd >= 0)
		close(ifd);
	st_run_free(&run);
	free(data.p);
	free(idx.p);
	free(dir.p);
	return e;
}

/* Applies what st_seg_write wrote to its segment (owner's thread, readers excluded). */
static void st_seg_commit(struct xs_store *s, struct st_seg_out *o)
{
	struct st_seg *g = o->g;

	g->runs = xs_xrealloc(g->runs, (g->nruns + 1) * sizeof(*g->runs));
	g->runs[g->nruns++] = o->run;
	o->run.dir = NULL;
	o->run.last = NULL;
	o->run.rng = NULL;
	g->data_end = o->data_end;
	g->idx_end = o->idx_end;
	if (g->ifd < 0) /* the reads' descriptor: the index exists now */
		g->ifd = o->ifd;
	else
		close(o->ifd);
	o->ifd = -1;
	st_seg_range(s, g->tier, g->no);
}

/* Cuts the data file of g (its runs parsed) to the last committed run's end: the
 * blocks past it are an unfinished checkpoint's, never read, but they hold space (a
 * checkpoint that failed on a full disk, then kill -9). Best effort: the next
 * checkpoint of the segment truncates it there too. */
static void st_ckpt_recover_seg(struct xs_store *s, const struct st_seg *g)
{
	char name[64];
	struct stat sb;
	int fd;

	st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
	fd = openat(s->dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > g->data_end &&
	    ftruncate(fd, (off_t)g->data_end) < 0) {
		/* kept: overwritten by the next checkpoint of the segment */
	}
	close(fd);
}

/* Removes index runs a checkpoint that did not finish left behind (named by ckpt), the
 * bytes it appended to their data files, and its wal.tmp. */
enum xs_err st_ckpt_recover(struct xs_store *s, char *err)
{
	uint8_t *buf;
	size_t len;

	if (st_read_file(s->dirfd, "ckpt", &buf, &len))
		return st_errno(err, "read", s, "ckpt");
	for (size_t pos = 0; buf && pos + 9 <= len; pos += 9) {
		struct st_seg g = { .fd = -1, .ifd = -1 };
		char name[64];
		const char *fail = NULL; /* what failed on name */
		uint64_t keep;
		bool unread = false;
		struct stat sb;
		int fd;

		if (buf[pos] >= XS_NTIERS)
			break;
		g.tier = buf[pos]; /* the run checks depend on the tier's span and window */
		g.no = (int64_t)st_le64(buf + pos + 1);
		if (!st_seg_no_ok(g.tier, g.no))
			continue; /* no segment of the store: a checkpoint never wrote it */
		st_seg_name(name, sizeof(name), buf[pos], (int64_t)st_le64(buf + pos + 1), "idx");
		fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			/* no run committed: the data file's bytes are the failed try's */
			st_ckpt_recover_seg(s, &g);
			continue;
		}
		if (fd < 0 || fstat(fd, &sb) < 0) {
			fail = "open"; /* its uncommitted runs would stay */
		} else {
			keep = st_idx_parse(fd, (uint64_t)sb.st_size, s->gen, &g, &unread,
					    &s->st.damaged_blocks);
			for (size_t i = 0; i < g.nruns; i++)
				st_run_free(&g.runs[i]);
			free(g.runs);
			if (unread) /* not a torn end: truncating there would cut committed runs */
				fail = "read";
			else if (keep < (uint64_t)sb.st_size &&
				 (ftruncate(fd, (off_t)keep) < 0 || fsync(fd) < 0))
				fail = "truncate";
			else
				st_ckpt_recover_seg(s, &g);
		}
		if (fail) {
			int saved = errno;

			if (fd >= 0)
				close(fd);
			free(buf);
			errno = saved;
			return st_errno(err, fail, s, name);
		}
		close(fd);
	}
	free(buf);
	unlinkat(s->dirfd, "ckpt", 0);
	unlinkat(s->dirfd, "wal.tmp", 0); /* never replayed: the wal is the store's */
	return XS_OK;
}

/*
 * Retires the series that stopped: no sample for ST_RETIRE_IDLE minutes of this
 * process's clock, and a newest sample ST_RETIRE_DATA behind the newest any
 * series holds (a VM halted or deleted, a VIF unplugged, a host gone). Their open
 * blocks are sealed into pend, so that they hold no memory, no carry record
 * carries their points, and retention removes their last blocks with their
 * segments. A rollup period in progress is emitted (as a later sample would have
 * done) once the series has been idle for the period's length of this process's
 * clock (the minute's and the hour's at retirement, the day's a day later, at a
 * later checkpoint): the host's clock has then passed its end too, so a sample
 * that resumes the series cannot fall into it. Both tests: a live host whose
 * clock lags the others by days still sends every 5 s, and a halted VM still
 * "idle" after a restart of this process has data as old as before. Backfill
 * blocks are not looked at: every checkpoint seals them. Any series whose st_active
 * holds nothing any more goes dormant (a retired one once its blocks were written by an
 * earlier checkpoint and its day emitted; one that had backfill points only, once
 * they were written). Returns the series whose open blocks were sealed.
 */
uint64_t st_retire(struct xs_store *s)
{
	int64_t newest = ST_NONE;
	uint64_t n = 0;

	for (uint32_t id = 0; id < s->nser; id++) {
		st_yield_at(s, id);
		if (s->ser[id].last_t > newest)
			newest = s->ser[id].last_t;
	}
	for (uint32_t id = 0; id < s->nser; id++) {
		struct st_series *se = &s->ser[id];
		unsigned idle = (uint16_t)(s->now_min - se->seen);
		struct st_active *act;
		bool open = false;

		st_yield_at(s, id);
		if (se->act == ST_DORMANT)
			continue;
		/* nothing to keep: retired at an earlier checkpoint and all written since, woken
		 * by backfill points that were all written (or not taken), or backfilled only
		 * (no 5 s sample: never retired); dormant, such a series replays the same */
		if (st_act_idle(s, id)) {
			st_act_release(s, id);
			continue;
		}
		if (se->last_t == ST_NONE || se->last_t > newest - ST_RETIRE_DATA || idle < ST_RETIRE_IDLE)
			continue;
		act = st_act(s, id);
		for (int k = 0; k < XS_NTIERS; k++)
			open |= st_open_has(k, &act->open[k]);
		for (int k = 1; k < XS_NTIERS; k++) {
			struct st_acc *a = ST_ACC(act, k);

			if (a->period == ST_NONE || idle < xs_tier_step[k] / 60)
				continue;
			st_acc_emit(s, id, k);
			*a = (struct st_acc){ ST_NONE, 0, 0, 0, 0 };
		}
		for (int k = 0; k < XS_NTIERS; k++)
			st_open_seal(s, id, k, &act->open[k]);
		n += open;
	}
	return n;
}

/*
 * Writes every sealed block to its segment, then replaces the wal by carry records
 * of generation gen + 1 (see the invariants at the top). Whatever only reads the
 * store or writes files runs between io_begin and io_end, where readers on another
 * thread may run: listing and sorting the blocks, the file writes, freeing the
 * written blocks. Between those: moving backfill blocks to the sealed list,
 * looking up and opening the segments, and applying the new runs and wal.
 */
enum xs_err st_checkpoint(struct xs_store *s, char *err)
{
	struct st_ck *ck = NULL;
	struct st_seg_out *outs = NULL;
	struct st_bytes list = { 0 };
	uint64_t gen = s->gen + 1, wal_size = 0, live = 0;
	size_t nout = 0, npend;
	enum xs_err e;
	int fd, wal_fd = -1;

	e = st_sync(s, err);
	if (e)
		goto out;
	s->st.retired += st_retire(s);
	/* backfill blocks go to their segments now rather than waiting in memory (and
	 * in every carry record) for a point of another window */
	for (uint32_t id = 0; s->nbf && id < s->nser; id++) {
		st_yield_at(s, id);
		if (s->ser[id].act == ST_DORMANT)
			continue;
		for (int k = 1; k < XS_NTIERS; k++) {
			union st_open *o = &st_act(s, id)->bf[k];

			if (!st_open_has(k, o))
				continue;
			st_open_seal(s, id, k, o);
			s->nbf--;
		}
	}
	npend = s->npend;
	ck = xs_xmalloc((npend + 1) * sizeof(*ck));
	st_io_begin(s);
	for (size_t i = 0; i < npend; i++) {
		const struct st_sealed *b = s->pend[i].b;

		ck[i] = (struct st_ck){ s->pend[i].tier, 0, s->pend[i].series, b->t0, i };
		ck[i].no = st_floor(b->t0, st_span[ck[i].tier]) / st_span[ck[i].tier];
	}
	qsort(ck, npend, sizeof(*ck), st_ck_cmp);
	for (size_t i = 0; i < npend; i++)
		nout += !i || ck[i].tier != ck[i - 1].tier || ck[i].no != ck[i - 1].no;
	outs = xs_xcalloc(nout + 1, sizeof(*outs)); /* one per segment */
	for (size_t i = 0, k = 0; i < npend; k++) {
		size_t j = i + 1;

		while (j < npend && ck[j].tier == ck[i].tier && ck[j].no == ck[i].no)
			j++;
		outs[k] = (struct st_seg_out){ .first = i, .n = j - i, .ifd = -1 };
		st_put_u8(&list, ck[i].tier);
		st_put_u64(&list, (uint64_t)ck[i].no);
		i = j;
	}
	st_io_end(s);
	/* the segments, looked up and opened for writing now: readers grow the segment
	 * cache and open read-only descriptors, so not while they may run */
	for (size_t k = 0; k < nout; k++) {
		const struct st_ck *c = &ck[outs[k].first];
		char name[64];

		outs[k].g = st_seg_get(s, c->tier, c->no);
		if (outs[k].g->idx_unread && st_seg_load(s, outs[k].g) < 0) {
			st_seg_name(name, sizeof(name), c->tier, c->no, "idx");
			e = st_errno(err, "read", s, name);
			goto out;
		}
		if (st_seg_fd(s, outs[k].g, true) < 0) {
			st_seg_name(name, sizeof(name), c->tier, c->no, "seg");
			e = st_errno(err, "write", s, name);
			goto out;
		}
	}
	st_io_begin(s);
	if (list.len) {
		fd = openat(s->dirfd, "ckpt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || st_write_all(fd, list.p, list.len, 0) || fsync(fd) < 0 ||
		    fsync(s->dirfd) < 0) {
			if (fd >= 0)
				close(fd);
			e = st_errno(err, "write", s, "ckpt");
		} else {
			close(fd);
		}
	}
	for (size_t k = 0; !e && k < nout; k++)
		e = st_seg_write(s, ck, gen, &outs[k], err);
	if (!e && list.len && fsync(s->dirfd) < 0)
		e = st_errno(err, "sync", s, ".");
	if (!e) /* before the wal that no longer carries their times */
		e = st_dormant_append(s, &live, err);
	if (!e)
		e = st_wal_write(s, gen, &wal_fd, &wal_size, err);
	st_io_end(s);
	if (e)
		goto out;
	for (size_t k = 0; k < nout; k++)
		st_seg_commit(s, &outs[k]);
	wal_fd = st_wal_swap(s, wal_fd, wal_size, gen); /* now the old one */
	/* the written blocks leave the list (series heads go stale: st_pend_head), and
	 * are freed where readers may run: they cannot reach them any more */
	s->npend = 0;
	s->pend_bytes = s->pend_seen = 0;
	st_io_begin(s);
	if (!s->dir_unsynced) /* else kept until the rename is known to be on disk (st_sync) */
		unlinkat(s->dirfd, "ckpt", 0);
	if (wal_fd >= 0)
		close(wal_fd);
	for (size_t i = 0; i < npend; i++)
		free(s->pend[i].b);
	st_dormant_compact(s, live);
	st_io_end(s);
out:
	/* after a failure nothing was applied: the next checkpoint writes over it, and the
	 * segments written meanwhile give their new bytes back (st_seg_cut; wal.tmp is
	 * removed by st_wal_write) */
	for (size_t k = 0; outs && k < nout; k++) {
		if (e && outs[k].ifd >= 0)
			st_seg_cut(outs[k].g, outs[k].ifd);
		if (outs[k].ifd >= 0)
			close(outs[k].ifd);
		st_run_free(&outs[k].run);
	}
	free(outs);
	free(list.p);
	free(ck);
	return e;
}

static enum xs_err st_sync(struct xs_store *s, char *err)
{
	enum xs_err e = XS_OK;

	st_row_close(s);
	s->now_min = ST_NOW_MINUTES();
	if (!s->catbuf.len && !s->walbuf.len && !s->dir_unsynced)
		return XS_OK;
	st_io_begin(s);
	if (s->catbuf.len) {
		/* at the synced size, so a retry after a short write (disk full) writes the
		 * same records at the same place instead of after a half frame */
		if (st_write_all(s->cat_fd, s->catbuf.p, s->catbuf.len, s->cat_size) ||
		    fdatasync(s->cat_fd) < 0) {
			int saved = errno;

			if (ftruncate(s->cat_fd, (off_t)s->cat_size) < 0) {
				/* the retry overwrites the partial bytes anyway */
			}
			errno = saved;
			e = st_errno(err, "write", s, "series");
		} else {
			s->cat_size += s->catbuf.len;
			st_bytes_written(&s->catbuf);
		}
	}
	if (!e && s->walbuf.len) {
		if (st_write_all(s->wal_fd, s->walbuf.p, s->walbuf.len, s->wal_size) ||
		    fdatasync(s->wal_fd) < 0) {
			int saved = errno;

			/* as the catalog's: a part written past the synced size would read as a
			 * torn tail at the next open (kept aside in wal.dropped, and warned of)
			 * if the disk stays full until the daemon stops */
			if (ftruncate(s->wal_fd, (off_t)s->wal_size) < 0) {
				/* the retry overwrites the partial bytes anyway */
			}
			errno = saved;
			e = st_errno(err, "write", s, "wal");
		} else {
			s->wal_size += s->walbuf.len;
			/* kept (every row's records go through it, ~3 MB at 658k series) unless a
			 * burst of backfill records grew it past ST_WALBUF_KEEP */
			s->walbuf.len = 0;
			if (s->walbuf.cap > ST_WALBUF_KEEP) {
				free(s->walbuf.p);
				s->walbuf = (struct st_bytes){ 0 };
			}
		}
	}
	/* after the rows, which a failing directory must not hold back */
	if (s->dir_unsynced) {
		if (fsync(s->dirfd) == 0) {
			s->dir_unsynced = false;
			unlinkat(s->dirfd, "ckpt", 0); /* the checkpoint's rename is on disk now */
		} else if (!e)
			e = st_errno(err, "sync", s, ".");
	}
	st_io_end(s);
	return e;
}

unsigned xs_store_checkpoint_failures(const struct xs_store *s)
{
	return s->ckpt_fails;
}

uint64_t xs_store_backlog(const struct xs_store *s)
{
	return s->walbuf.len + s->catbuf.len + s->pend_bytes;
}

bool xs_store_backlogged(const struct xs_store *s)
{
	return xs_store_backlog(s) > s->backlog_max;
}

enum xs_err xs_store_sync(struct xs_store *s, char *err)
{
	enum xs_err e = st_sync(s, err);

	/* A checkpoint when the log is long, or when sealed blocks hold memory and no
	 * more were sealed since the last call (a block boundary's wave of seals,
	 * spread over one round of fetches, is over: the open blocks carried are
	 * then nearly empty). */
	uint64_t held = s->pend_bytes + s->nbf * ST_BF_BYTES;

	if (!e && (s->wal_appended > s->wal_max ||
		   (held > ST_PEND_MAX && s->pend_bytes == s->pend_seen) ||
		   held > 2 * (uint64_t)ST_PEND_MAX)) {
		/* a checkpoint that failed (an .idx that cannot be read, a full disk) is tried
		 * again after 2, 4, ... up to ST_CKPT_BACKOFF_MAX seconds, not at every sync:
		 * each try lists and sorts every sealed block */
		int64_t now = ST_NOW_SECONDS();

		if (!s->ckpt_fails || now >= s->ckpt_next) {
			e = st_checkpoint(s, err);
			if (e) {
				unsigned k = s->ckpt_fails < 8 ? s->ckpt_fails + 1 : 9;
				int64_t wait = (int64_t)1 << k;

				s->ckpt_fails++;
				s->ckpt_next = now + (wait < ST_CKPT_BACKOFF_MAX ? wait : ST_CKPT_BACKOFF_MAX);
			} else {
				s->ckpt_fails = 0;
			}
		}
	}
	s->pend_seen = s->pend_bytes;
	return e;
}
