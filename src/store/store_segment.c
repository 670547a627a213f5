/*
 * store_segment.c - segment files (<tier>-<n>.seg, .idx): their names, the index runs
 * and their parse, opening a segment on demand, block CRCs, and the read cache of
 * index chunks.
 */
#include "store/store_internal.h"

#include <string.h>

void st_seg_name(char *buf, size_t n, int tier, int64_t no, const char *ext)
{
	snprintf(buf, n, "%s-%lld.%s", st_tier_name[tier], (long long)no, ext);
}

/* Frees what a run owns (its directory and chunk ends); the run may be reused. */
void st_run_free(struct st_run *r)
{
	free(r->dir);
	free(r->last);
	free(r->rng);
	r->dir = NULL;
	r->last = NULL;
	r->rng = NULL;
	r->nrng = 0;
}

/* Whether run r may hold series id (true when its ranges are not known). */
bool st_run_may_hold(const struct st_run *r, uint32_t id)
{
	size_t lo = 0, hi = r->nrng;

	if (!r->rng)
		return true;
	while (lo < hi) { /* the first range starting above id */
		size_t mid = (lo + hi) / 2;

		if (r->rng[2 * mid] <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && id < r->rng[2 * (lo - 1) + 1];
}

void st_seg_free(struct st_seg *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nruns; i++)
		st_run_free(&g->runs[i]);
	free(g->runs);
	if (g->fd >= 0)
		close(g->fd);
	if (g->ifd >= 0)
		close(g->ifd);
	free(g);
}

size_t st_dir_chunks(size_t n)
{
	return (n + ST_DIR_STRIDE - 1) / ST_DIR_STRIDE;
}

/* Bytes of a run of n entries: header, entries, directory. */
static uint64_t st_run_bytes(size_t n)
{
	return ST_RUN_HDR + (uint64_t)n * ST_ENT + (uint64_t)st_dir_chunks(n) * ST_DIR_ENT;
}

enum st_run_state { ST_RUN_OK, ST_RUN_DAMAGED, ST_RUN_UNREAD };

/*
 * Reads the run at pos of the index file fd (size len, ST_RUN_HDR bytes at least
 * past pos): its header into h and, when the run passes (its magic, a count that
 * fits, the CRC over the header and the directory), its directory into *dbuf,
 * which the caller frees. ST_RUN_DAMAGED when it does not (damage, or the torn
 * tail: st_idx_resync tells), ST_RUN_UNREAD on a read error (the file's size says
 * the bytes are there).
 */
static enum st_run_state st_run_read(int fd, uint64_t len, uint64_t pos, uint8_t h[ST_RUN_HDR],
				     uint8_t **dbuf)
{
	uint32_t n, crc;
	size_t nd;
	bool ranged;

	*dbuf = NULL;
	if (!st_pread_all(fd, h, ST_RUN_HDR, pos))
		return ST_RUN_UNREAD;
	n = st_le32(h + 4);
	ranged = st_le32(h) == ST_MAGIC_RUN;
	if ((!ranged && st_le32(h) != ST_MAGIC_RUN2) || n == 0 || st_run_bytes(n) > len - pos)
		return ST_RUN_DAMAGED;
	crc = xs_crc32c(0, h, 24);
	if (ranged)
		crc = xs_crc32c(crc, h + 28, 4);
	nd = st_dir_chunks(n);
	*dbuf = xs_xmalloc(nd * ST_DIR_ENT);
	if (!st_pread_all(fd, *dbuf, nd * ST_DIR_ENT, pos + ST_RUN_HDR + (uint64_t)n * ST_ENT)) {
		free(*dbuf);
		*dbuf = NULL;
		return ST_RUN_UNREAD;
	}
	if (xs_crc32c(crc, *dbuf, nd * ST_DIR_ENT) != st_le32(h + 24)) {
		free(*dbuf);
		*dbuf = NULL;
		return ST_RUN_DAMAGED;
	}
	return ST_RUN_OK;
}

/* Whether a run that passes starts at pos of the index file fd (size len): the resync's
 * test of a magic it found. */
static bool st_run_at(int fd, uint64_t len, uint64_t pos, bool *read_error)
{
	uint8_t h[ST_RUN_HDR], *dbuf;
	enum st_run_state r;

	if (len - pos < ST_RUN_HDR)
		return false;
	r = st_run_read(fd, len, pos, h, &dbuf);
	free(dbuf);
	*read_error = *read_error || r == ST_RUN_UNREAD;
	return r == ST_RUN_OK;
}

/*
 * After damage at `from` of the index file fd (size len): the offset of the
 * next run that passes (st_run_at), or len when none follows (a torn
 * tail). Looks for the run magics in 64 KiB reads; only damage pays for it.
 */
static uint64_t st_idx_resync(int fd, uint64_t len, uint64_t from, bool *read_error)
{
	static const uint8_t m3[4] = { 'X', 'S', 'R', '3' }, m2[4] = { 'X', 'S', 'R', '2' };
	uint8_t buf[65536];

	while (from + ST_RUN_HDR <= len && !*read_error) {
		size_t want = len - from < sizeof(buf) ? (size_t)(len - from) : sizeof(buf);

		if (!st_pread_all(fd, buf, want, from)) {
			*read_error = true;
			break;
		}
		for (size_t i = 0; i + 4 <= want; i++) {
			if ((memcmp(buf + i, m3, 4) == 0 || memcmp(buf + i, m2, 4) == 0) &&
			    st_run_at(fd, len, from + i, read_error))
				return from + i;
		}
		from += want > 3 ? want - 3 : 1; /* a magic across two reads */
	}
	return len;
}

/*
 * Parses the run headers and directories of an index file read by fd (size
 * len) into g; returns the end of the last valid run (where the next run goes:
 * what follows is a torn or uncommitted tail). Damage is skipped and the runs
 * after it still load (a later checkpoint would otherwise cut them away with
 * their blocks): a run whose header has its shape (magic, a count that fits)
 * but fails its CRC, and so does one without that shape (a flipped magic or
 * count) when a valid run follows it somewhere (st_idx_resync: the damaged
 * run's blocks are lost, and each such stretch counts one in *damaged, the
 * store's damaged_blocks); with none after it, it is the torn tail.
 * Parsing stops there, or at a valid run of a generation above max_gen (a
 * checkpoint not committed). Entries are not read: each chunk is checked
 * against its directory CRC when a read loads it.
 */
uint64_t st_idx_parse(int fd, uint64_t len, uint64_t max_gen, struct st_seg *g,
		      bool *read_error, uint64_t *damaged)
{
	uint64_t pos = 0, good_end = 0;
	uint8_t h[ST_RUN_HDR];

	while (len - pos >= ST_RUN_HDR) {
		uint32_t n;
		uint64_t gen, data_end;
		size_t nd;
		uint8_t *dbuf;
		struct st_run run;

		enum st_run_state r = st_run_read(fd, len, pos, h, &dbuf);

		if (r == ST_RUN_UNREAD) {
			*read_error = true;
			break;
		}
		if (r == ST_RUN_DAMAGED) {
			/* its blocks are lost; the runs after it are not (found again by their
			 * magic: the count itself may be what is damaged) */
			uint64_t next = st_idx_resync(fd, len, pos + 1, read_error);

			if (next >= len)
				break; /* the torn tail */
			++*damaged;
			pos = next;
			continue;
		}
		n = st_le32(h + 4);
		gen = st_le64(h + 8);
		data_end = st_le64(h + 16);
		bool ranged = st_le32(h) == ST_MAGIC_RUN;
		int64_t base = g->no * st_span[g->tier], w = st_window[g->tier];
		int64_t wlo = h[28] | h[29] << 8, whi = h[30] | h[31] << 8;

		nd = st_dir_chunks(n);
		if (gen > max_gen || data_end < g->data_end ||
		    (ranged && (wlo > whi || whi >= st_span[g->tier] / w))) {
			free(dbuf);
			break;
		}
		run.tmin = ranged ? base + wlo * w : base;
		run.tmax = ranged ? base + whi * w + w - 1 : base + st_span[g->tier] - 1;
		run.gen = gen;
		run.n = n;
		run.at = pos + ST_RUN_HDR;
		run.last = NULL;
		run.rng = NULL;
		run.nrng = 0;
		run.dir = xs_xmalloc(nd * 2 * sizeof(*run.dir));
		for (size_t i = 0; i < nd; i++) {
			run.dir[2 * i] = st_le32(dbuf + i * ST_DIR_ENT);
			run.dir[2 * i + 1] = st_le32(dbuf + i * ST_DIR_ENT + 4);
		}
		free(dbuf);
		g->runs = xs_xrealloc(g->runs, (g->nruns + 1) * sizeof(*g->runs));
		g->runs[g->nruns++] = run;
		g->data_end = data_end;
		pos += st_run_bytes(n);
		good_end = pos;
	}
	return good_end;
}

/*
 * (Re)loads g's runs from its .idx: on first use, and again after a read error
 * (or an .idx that exists but could not be opened: EMFILE, EIO, ...) cut that
 * short (idx_unread): the runs past it hold committed blocks, and a write at the
 * short end would cut them away. 0 (no .idx: an empty segment), or -1 with
 * errno and idx_unread set (a checkpoint that must write g fails, and is tried
 * again). Again by the owner where no reader runs, or by the reader, never on a
 * segment a checkpoint is writing (those were loaded whole before its io
 * phase). The read cache's slots stay valid: a run's chunks at the same place
 * are the same bytes.
 */
int st_seg_load(struct xs_store *s, struct st_seg *g)
{
	char name[64];
	struct stat sb;
	bool unread = false;

	for (size_t i = 0; i < g->nruns; i++)
		st_run_free(&g->runs[i]);
	g->nruns = 0;
	g->data_end = g->idx_end = 0;
	st_seg_name(name, sizeof(name), g->tier, g->no, "idx");
	if (g->ifd < 0)
		g->ifd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (g->ifd < 0 && errno == ENOENT) {
		g->idx_unread = false;
		return 0;
	}
	if (g->ifd < 0 || fstat(g->ifd, &sb) < 0)
		unread = true;
	else
		g->idx_end = st_idx_parse(g->ifd, (uint64_t)sb.st_size, s->gen, g, &unread,
					  &s->st.damaged_blocks);
	g->idx_unread = unread;
	return unread ? -1 : 0;
}

/* The segment (tier, no), loaded into the cache on first use. */
struct st_seg *st_seg_get(struct xs_store *s, int tier, int64_t no)
{
	struct st_seg *g;

	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i]->tier == tier && s->segs[i]->no == no)
			return s->segs[i];
	g = xs_xcalloc(1, sizeof(*g));
	g->tier = tier;
	g->no = no;
	g->fd = g->ifd = -1;
	st_seg_load(s, g);
	s->segs = xs_xrealloc(s->segs, (s->nsegs + 1) * sizeof(*s->segs));
	s->segs[s->nsegs++] = g;
	return g;
}

int st_seg_fd(struct xs_store *s, struct st_seg *g, bool create)
{
	char name[64];

	if (g->fd >= 0 && create && !g->writable) {
		close(g->fd);
		g->fd = -1;
	}
	if (g->fd < 0) {
		st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
		g->fd = openat(s->dirfd, name, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
		g->fd_errno = g->fd < 0 ? errno : 0;
		g->writable = create;
	}
	return g->fd;
}

/* The CRC of a block: its key (series, tier, t0), then header bytes 4..8 and payload. */
uint32_t st_block_crc(uint32_t series, int tier, int64_t t0, const uint8_t *h, size_t len)
{
	uint8_t key[13];

	st_w32(key, series);
	key[4] = (uint8_t)tier;
	st_w64(key + 5, (uint64_t)t0);
	return xs_crc32c(xs_crc32c(0, key, sizeof(key)), h + 4, len - 4);
}

/* Loads chunk k of a run into e[] (at most ST_DIR_STRIDE entries); 0 if it is unreadable,
 * fails its CRC, or is not sorted and inside the segment. */
static size_t st_chunk_load(const struct st_seg *g, const struct st_run *run, size_t k,
			    struct st_ent *e)
{
	uint8_t buf[ST_DIR_STRIDE * ST_ENT];
	size_t n = run->n - k * ST_DIR_STRIDE;
	int64_t base = g->no * st_span[g->tier];

	if (n > ST_DIR_STRIDE)
		n = ST_DIR_STRIDE;
	if (pread(g->ifd, buf, n * ST_ENT, (off_t)(run->at + k * ST_DIR_STRIDE * ST_ENT)) !=
		    (ssize_t)(n * ST_ENT) ||
	    xs_crc32c(0, buf, n * ST_ENT) != run->dir[2 * k + 1])
		return 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + i * ST_ENT;
		uint64_t ol = st_le64(p + 8);

		e[i].series = st_le32(p);
		e[i].t0 = base + st_le32(p + 4);
		e[i].len = (uint32_t)(ol & ((1u << ST_LEN_BITS) - 1));
		e[i].off = ol >> ST_LEN_BITS;
		if (e[i].len < ST_BLOCK_HDR || e[i].off + e[i].len > g->data_end ||
		    (i && (e[i].series < e[i - 1].series ||
			   (e[i].series == e[i - 1].series && e[i].t0 <= e[i - 1].t0))))
			return 0;
	}
	return n;
}

/* Chunk k of run in segment g, decoded: from the read cache, else read, checked and
 * kept. *n its entries (0: unreadable or damaged, not kept). */
const struct st_ent *st_chunk_get(struct xs_store *s, const struct st_seg *g,
				  const struct st_run *run, size_t k, size_t *n)
{
	uint64_t h = ((uint64_t)(uintptr_t)g >> 4) ^ (run->at / ST_ENT) ^ ((uint64_t)k << 7);
	struct st_chunk_slot *c;

	if (!s->chunks)
		s->chunks = xs_xcalloc(ST_CHUNK_SLOTS, sizeof(*s->chunks));
	h *= 0x9e3779b97f4a7c15ull;
	c = &s->chunks[h >> 56 & (ST_CHUNK_SLOTS - 1)];
	if (c->g == g && c->at == run->at && c->k == k) {
		s->st.index_cached++;
		*n = c->n;
		return c->e;
	}
	s->st.index_reads++;
	c->n = *n = st_chunk_load(g, run, k, c->e);
	c->g = *n ? g : NULL;
	c->at = run->at;
	c->k = k;
	return c->e;
}

/* Empties the read cache's slots of segment g, before g is freed. */
void st_chunks_forget(struct xs_store *s, const struct st_seg *g)
{
	for (size_t i = 0; s->chunks && i < ST_CHUNK_SLOTS; i++)
		if (s->chunks[i].g == g)
			s->chunks[i].g = NULL;
}

void st_seg_range(struct xs_store *s, int tier, int64_t no)
{
	if (no < s->seg_lo[tier])
		s->seg_lo[tier] = no;
	if (no > s->seg_hi[tier])
		s->seg_hi[tier] = no;
}

/* The range of segment numbers on disk, from the directory. */
void st_seg_scan(struct xs_store *s)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	for (int k = 0; k < XS_NTIERS; k++) {
		s->seg_lo[k] = INT64_MAX;
		s->seg_hi[k] = INT64_MIN;
	}
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int tier;
		int64_t no;

		if (st_seg_parse(de->d_name, &tier, &no))
			st_seg_range(s, tier, no);
	}
	closedir(d);
}

/* Parses "<tier>-<no>.seg" or ".idx"; false for any other name. */
bool st_seg_parse(const char *name, int *tier, int64_t *no)
{
	char *end;
	long long n;

	for (int k = 0; k < XS_NTIERS; k++) {
		size_t l = strlen(st_tier_name[k]);

		if (strncmp(name, st_tier_name[k], l) || name[l] != '-')
			continue;
		errno = 0;
		n = strtoll(name + l + 1, &end, 10);
		if (errno || end == name + l + 1 || (strcmp(end, ".seg") && strcmp(end, ".idx")) ||
		    !st_seg_no_ok(k, n))
			return false;
		*tier = k;
		*no = n;
		return true;
	}
	return false;
}
