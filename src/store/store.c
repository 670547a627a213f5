/*
 * store.c - the embedded time-series store (contract in store.h, format in
 * docs/STORE.md).
 *
 * Files under the store directory:
 *   series            catalog: one CRC'd record per series (and per unit change)
 *   wal               write-ahead log of generation G (in a CRC'd header): carry
 *                     records (the open state of every series at the last
 *                     checkpoint; a dormant one's times alone), then rows of
 *                     samples and backfilled points appended since
 *   <tier>-<n>.seg    sealed blocks of one tier and time span n
 *   <tier>-<n>.idx    sorted runs of (series, t0, offset, length), one run per
 *                     checkpoint that wrote to the segment, tagged with its G
 *   ckpt              the segments a checkpoint writes: present while it does, after
 *                     it failed, and until the directory fsync of its wal's rename
 *                     succeeded
 *
 * Invariants:
 *   - Everything accepted since the last checkpoint is in the wal (or in the
 *     wal buffer, until xs_store_sync); sealed blocks wait in memory (pend)
 *     and reach segments only at a checkpoint, so segments never hold data the
 *     wal of the committed generation would replay a second time.
 *   - A checkpoint writes segments, then atomically replaces the wal (rename)
 *     by one of generation G+1. Runs of a generation above the wal's are
 *     leftovers of an interrupted checkpoint: removed on open (ckpt names them).
 *   - Per series and tier, live points are strictly ascending; backfilled
 *     points fill only periods with no point, so a read merges and never sees
 *     two points at one time.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmalloc.h"
#include "store/store_codec.h"

const int64_t xs_tier_step[XS_NTIERS] = { 5, 60, 3600, 86400 };
const int64_t xs_tier_default_retention[XS_NTIERS] = { 2 * 86400, 60 * 86400, 2 * 365 * 86400,
							10 * 365 * 86400 };

/* A block holds the points of one window; a segment file the blocks of one span. */
static const int64_t st_window[XS_NTIERS] = { 600, 1800, 86400, 864000 };
static const int64_t st_span[XS_NTIERS] = { 86400, 864000, 8640000, 86400000 };
static const char *const st_tier_name[XS_NTIERS] = { "5s", "1m", "1h", "1d" };

#define ST_WAL_MAX (256u << 20)    /* default wal bytes appended before a checkpoint */
#define ST_WAL_CHUNK (4u << 20)    /* bytes of carry records written at once */
#define ST_PEND_MAX (24u << 20)    /* bytes of sealed blocks held before a checkpoint (twice: forced) */
#define ST_BF_BYTES 320            /* what a backfill block being filled holds, about */
#define ST_BYTES_KEEP (4u << 20)   /* a written catalog buffer larger than this is freed */
#define ST_MAX_UUID 128            /* bytes of a uuid */
#define ST_MAX_RECORD (16u << 20)  /* largest wal or catalog record */
#define ST_CAT_MIN_RECORD 16       /* bytes of the smallest catalog record, framed */
#define ST_CAT_MAX_RECORD 1024     /* bytes a catalog record's payload never passes */
#ifndef ST_ROW_MAX_ENTRIES           /* (a test sets a small one) */
#define ST_ROW_MAX_ENTRIES 500000    /* samples of a row per wal record: at most 15 bytes each */
#endif
#define ST_BLOCK_HDR 8             /* bytes of a block header on disk */
#define ST_RUN_HDR 32              /* bytes of an index run header */
#define ST_ENT 16                  /* bytes of an index entry */
#define ST_DIR_STRIDE 128          /* index entries per directory chunk (2 KiB) */
#define ST_DIR_ENT 8               /* bytes of a directory entry */
#define ST_LEN_BITS 24             /* index entry: block length bits below the offset */
#define ST_FILE_HDR 16             /* bytes of the catalog and wal headers */
#define ST_MAGIC_CAT 0x31435358u   /* "XSC1" */
#define ST_MAGIC_WAL 0x32575358u   /* "XSW2": a header CRC, 'D' records ("XSW1" readers lack both) */
#define ST_MAGIC_WAL1 0x31575358u  /* "XSW1": read, never written */
#define ST_MAGIC_RUN2 0x32525358u  /* "XSR2": a run without its time range */
#define ST_MAGIC_RUN 0x33525358u   /* "XSR3": with the windows its blocks start in */
#define ST_NONE INT64_MIN          /* no period / no point */
#define ST_EXPIRE_SLACK 86400      /* expire: now is at most this past the newest data (s) */
#define ST_RETIRE_DATA 86400       /* retire: a series' newest sample this far behind the newest (s) */
#define ST_RETIRE_IDLE 60          /* ... and no sample for this many minutes of this process */
#ifndef ST_NOW_MINUTES             /* (a test sets its own clock) */
#define ST_NOW_MINUTES() st_mono_minutes()
#endif
#ifndef ST_NOW_SECONDS             /* the same, in seconds: the checkpoints' back-off */
#define ST_NOW_SECONDS() st_mono_seconds()
#endif
#define ST_CKPT_BACKOFF_MAX 300    /* seconds between tries of a checkpoint that keeps failing */

struct st_acc {
	int64_t period;  /* start of the period being summed; ST_NONE: none */
	double sum;      /* of known samples */
	uint32_t count;  /* known samples */
	float min, max;
};

/*
 * Which periods of a coarse tier hold a point, as far as this process knows, so
 * that backfill (whole host archives, hundreds of points per series) rarely
 * has to read the disk to learn whether a period is free. In periods (t / step)
 * of the tier, with L the newest point (tier_last):
 *   - no point before `first`;
 *   - every period in [dense, L] holds a point, except those strictly between
 *     hole_lo and hole_hi (the newest gap: empty when hole_hi <= hole_lo + 1);
 *   - [first, dense) is unknown: a backfill there reads the store.
 * `tracked` is false for a series loaded from disk until its first backfill at
 * or before L, which scans the tier's last ST_SCAN_PERIODS periods once.
 */
struct st_known {
	int32_t first, dense, hole_lo, hole_hi;
	bool tracked;
};

/* A sealed block as it will be written: its payload only (no coder state). */
struct st_sealed {
	int64_t t0, tlast;
	uint32_t len;            /* payload bytes */
	uint16_t n;              /* points */
	uint8_t flags;
	uint8_t payload[];
};

/*
 * The block of one series and tier still being filled (NULL: none). The 5 s and
 * 1 min tiers keep a live encoder (struct xs_block, 88 bytes, and its growing bit
 * buffer). The tiers from ST_FROZEN_TIER on take a point an hour or a day: they keep
 * the payload alone, as a sealed block holds it (24 bytes and the payload), and each
 * new point decodes it and encodes it again with the store's thaw scratch (a few µs
 * an hour per series). At 658k series that is ~35 MiB a tier instead of ~80.
 */
#define ST_FROZEN_TIER XS_TIER_1H
union st_open {
	struct xs_block *live;      /* tier < ST_FROZEN_TIER; owned */
	struct st_sealed *frozen;   /* tier >= ST_FROZEN_TIER; owned */
};

/*
 * What a series needs only while it takes points (224 bytes): its rollups in
 * progress, its open and backfill blocks, its newest sealed unwritten block and
 * what backfill knows. A series never written since open, or whose st_active holds
 * none of these at a checkpoint (retired, every rollup emitted and every block
 * written; or backfilled only: st_retire) is dormant: it holds no st_active, its
 * carry record is its times alone ('D'), and the first point that reaches it takes
 * one from the store's pool again (st_act). That is what a stopped series costs an
 * estate that creates and deletes VMs by the thousand: its struct st_series (72
 * bytes), its catalog names and a 32-byte carry record (with its frame) per
 * checkpoint, where it kept all 296 bytes and a 177-byte record. The pool's pages
 * (ST_ACT_PAGE each) never move: a pointer to an st_active stays valid until the
 * series is made dormant.
 */
struct st_active {
	struct st_acc acc[XS_NTIERS - 1]; /* rollups in progress of tiers 1..3: ST_ACC(a, k) */
	union st_open open[XS_NTIERS];   /* live block being filled */
	union st_open bf[XS_NTIERS];     /* backfill block being filled */
	int32_t pend;                    /* newest sealed, unwritten block; -1: none (in the
					  * pool's free list: the next free one, as uint32_t) */
	struct st_known known[XS_NTIERS - 1]; /* of tiers 1 m, 1 h, 1 d: see st_known */
};

#define ST_ACT_PAGE 4096          /* st_active per page of the pool */
#define ST_DORMANT UINT32_MAX     /* st_series.act of a series holding none */

struct st_series {
	uint64_t name_off;               /* arena: uuid NUL ds NUL */
	uint64_t unit_off;               /* arena: unit NUL */
	int64_t last_t;                  /* newest 5 s sample; ST_NONE: none */
	int64_t tier_last[XS_NTIERS];    /* newest point of each tier; ST_NONE: none */
	float last_v;                    /* its value, also the wal XOR base */
	uint32_t obj_next;               /* next series of the same object; UINT32_MAX: none */
	uint32_t act;                    /* its st_active in the pool; ST_DORMANT: none */
	uint16_t seen;                   /* now_min of its last sample (or of its load), mod 2^16 */
	uint8_t kind;
};

/* The rollup in progress of tier k (1..3) of a series' st_active a. */
#define ST_ACC(a, k) (&(a)->acc[(k) - 1])

struct st_pend {
	uint32_t series;
	uint8_t tier;
	int32_t next;            /* older block of the same series; -1: none */
	struct st_sealed *b;     /* owned */
};

struct st_ent {
	uint32_t series;
	uint32_t len;            /* bytes of the block, header included */
	int64_t t0;
	uint64_t off;
};

/* A run of the .idx: only its directory is in memory; entries are read a chunk at a
 * time (and checked against the chunk's CRC) when a read needs them. */
struct st_run {
	uint64_t gen;
	size_t n;                /* entries */
	uint64_t at;             /* offset of the first entry in the .idx */
	uint32_t *dir;           /* per chunk: series of its first entry, CRC of its entries; owned */
	int64_t tmin, tmax;      /* every block's t0 is in [tmin, tmax] (XSR3; XSR2: the whole span) */
	uint32_t *last;          /* per chunk: series of its last entry + 1, 0 while unknown (learnt
				  * when a read loads the chunk, known for runs written since open);
				  * NULL until needed; owned. A read skips a chunk that ends below
				  * its series: a run that lacks it costs no pread */
	uint32_t *rng;           /* for runs written since open: the series it holds, as nrng
				  * ascending ranges (lo, hi + 1 pairs); NULL when not known or
				  * not worth it (ST_RNG_MIN entries a range). A read skips a run
				  * whose ranges miss its series: a first backfill's run holds some
				  * hosts' series, and the chunk spanning another host's ids would
				  * be read for nothing; owned */
	uint32_t nrng;
};

#define ST_RNG_MIN 8 /* entries a range at the least on average, else a run keeps no ranges */

struct st_seg {
	int tier;
	int64_t no;
	struct st_run *runs;
	size_t nruns;
	uint64_t data_end;       /* committed bytes of the .seg */
	uint64_t idx_end;        /* committed bytes of the .idx */
	bool idx_unread;         /* a read error stopped the .idx's parse: its runs past that point are
				  * unknown, so it is parsed again before a write (st_seg_load) */
	int fd;                  /* .seg, opened on demand; -1 */
	int ifd;                 /* .idx, opened for reading on demand; -1 */
	bool writable;           /* fd is open for writing */
};

/*
 * A decoded index chunk kept for the next reads (struct xs_store.chunks): the
 * series of one object have neighbouring ids, so the reads of a VM's twenty
 * series need the same chunk of each run, which is read and checked once
 * instead of twenty times. Committed runs never change; a slot names its
 * segment by address, so the slots of a segment are emptied when it is freed
 * (st_chunks_forget).
 */
#define ST_CHUNK_SLOTS 256 /* direct-mapped; about 3 KiB each, allocated on first read */
struct st_chunk_slot {
	const struct st_seg *g;  /* NULL: empty */
	uint64_t at;             /* its run's first entry in the .idx */
	size_t k;                /* chunk of the run */
	size_t n;                /* entries */
	struct st_ent e[ST_DIR_STRIDE];
};

struct st_bytes {
	uint8_t *p;
	size_t len, cap;
};

struct st_rowent {
	uint32_t id;
	uint32_t x;              /* value bits XOR the series' previous value */
};

struct xs_store {
	char *dir;
	void (*io_begin)(void *arg); /* xs_store_options' hooks, or NULL */
	void (*io_end)(void *arg);
	void *io_arg;
	int dirfd;
	int lockfd;
	int64_t retention[XS_NTIERS];
	uint64_t wal_max;        /* wal bytes appended before a checkpoint */
	struct st_series *ser;
	uint32_t nser, capser;
	struct st_active **act_pages; /* the pool of st_active: pages of ST_ACT_PAGE, never moved */
	uint32_t act_npages;
	uint32_t act_used;       /* handed out at least once: the pool's high-water mark */
	uint32_t act_free;       /* head of the released ones, linked through .pend; ST_DORMANT: none */
	uint32_t act_live;       /* series holding one */
	char *arena;
	uint64_t arena_len, arena_cap;
	uint64_t *hash;          /* open addressing: series id | hash bits << 32; UINT64_MAX empty */
	uint64_t hcap;
	uint32_t *ohash;         /* open addressing of objects: id of its newest series; UINT32_MAX empty */
	uint64_t ohcap, nobj;
	int cat_fd;
	uint64_t lost_series;    /* placeholders for series of damaged catalog records */
	uint64_t cat_size;       /* bytes of the catalog written and synced: the next write's offset */
	struct st_bytes catbuf;  /* catalog records not yet written */
	int wal_fd;
	uint64_t gen;            /* committed generation (the wal's) */
	uint64_t wal_appended;   /* bytes of rows and backfill since the checkpoint */
	uint64_t wal_size;
	struct st_bytes walbuf;  /* wal records not yet written */
	bool row_open;
	int64_t row_t;
	struct st_rowent *row;
	size_t nrow, caprow;
	struct st_pend *pend;
	size_t npend, cappend;
	uint64_t pend_bytes;     /* memory of the sealed blocks in pend */
	uint64_t pend_seen;      /* pend_bytes at the previous xs_store_sync */
	uint64_t nbf;            /* backfill blocks being filled (sealed and freed at checkpoints) */
	struct st_seg **segs;
	size_t nsegs;
	int64_t seg_lo[XS_NTIERS];  /* lowest segment number on disk of each tier */
	int64_t seg_hi[XS_NTIERS];  /* highest */
	uint16_t now_min;        /* this process's monotonic clock in minutes, mod 2^16, as of the
				  * last sync or new row (ST_NOW_MINUTES) */
	bool replaying;
	bool dir_unsynced;       /* the wal's rename awaits a directory fsync that failed */
	unsigned ckpt_fails;     /* checkpoints failed in a row (xs_store_sync backs off) */
	int64_t ckpt_next;       /* ST_NOW_SECONDS before which xs_store_sync tries none again */
	struct xs_store_stats st;
	struct xs_block thaw;    /* write scratch: a frozen block being appended to */
	int64_t *thaw_t;         /* its points (XS_BLOCK_MAX_POINTS), allocated on first use */
	float *thaw_v;
	struct st_chunk_slot *chunks; /* read cache of index chunks (ST_CHUNK_SLOTS); NULL until a read */
	int64_t *rt;             /* read scratch: times */
	float *rv;               /* read scratch: 3 values per time */
	size_t rcap;
};

/* ---- little helpers -------------------------------------------------------- */

/* Makes room for n more bytes. */
static void st_reserve(struct st_bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;

	if (b->len + n <= b->cap)
		return;
	while (cap < b->len + n)
		cap *= 2;
	b->p = xs_xrealloc(b->p, cap);
	b->cap = cap;
}

static void st_put(struct st_bytes *b, const void *p, size_t n)
{
	st_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void st_put_u8(struct st_bytes *b, uint8_t v)
{
	st_put(b, &v, 1);
}

static void st_put_u32(struct st_bytes *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	st_put(b, x, 4);
}

static void st_put_u64(struct st_bytes *b, uint64_t v)
{
	st_put_u32(b, (uint32_t)v);
	st_put_u32(b, (uint32_t)(v >> 32));
}

static uint32_t st_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t st_le64(const uint8_t *p)
{
	return st_le32(p) | (uint64_t)st_le32(p + 4) << 32;
}

static void st_w32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void st_w64(uint8_t *p, uint64_t v)
{
	st_w32(p, (uint32_t)v);
	st_w32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t st_fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static float st_bitsf(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

/* This process's monotonic clock in seconds. */
static inline int64_t st_mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* This process's monotonic clock in minutes, mod 2^16 (differences of up to 45 days hold). */
static inline uint16_t st_mono_minutes(void)
{
	return (uint16_t)(st_mono_seconds() / 60);
}

static int64_t st_floor(int64_t t, int64_t m)
{
	int64_t q = t / m;

	if (t % m && t < 0)
		q--;
	return q * m;
}

/* A cursor over a record payload; reads fail (and stick) past the end. */
struct st_cur {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *st_take(struct st_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->bad || n > c->len - c->pos) {
		c->bad = true;
		return NULL;
	}
	p = c->p + c->pos;
	c->pos += n;
	return p;
}

static uint8_t st_get_u8(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 1);

	return p ? p[0] : 0;
}

static uint32_t st_get_u32(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 4);

	return p ? st_le32(p) : 0;
}

static uint64_t st_get_u64(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 8);

	return p ? st_le64(p) : 0;
}

static enum xs_err st_errno(char *err, const char *what, const struct xs_store *s, const char *file)
{
	return xs_err_set(err, XS_ERR_IO, "%s %s/%s: %s", what, s->dir, file, strerror(errno));
}

static enum xs_err st_write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *q = p;

	while (n) {
		ssize_t w = pwrite(fd, q, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO; /* no progress and no reason given: st_errno must not name a stale one */
		if (w <= 0)
			return XS_ERR_IO;
		q += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return XS_OK;
}

/* Reads a whole file into *out (caller frees); a missing file reads as empty. A read
 * error (or a file shorter than fstat said) is XS_ERR_IO with errno set, never a
 * short read: the loaders truncate files at what they read, so a transient EIO
 * taken for a torn tail would destroy what follows it. */
static enum xs_err st_read_file(int dirfd, const char *name, uint8_t **out, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? XS_OK : XS_ERR_IO;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return XS_ERR_IO;
	}
	*out = xs_xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t r = pread(fd, *out + got, (size_t)sb.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;

			close(fd);
			free(*out);
			*out = NULL;
			errno = e;
			return XS_ERR_IO;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return XS_OK;
}

/* Appends a framed record (u32 len, u32 crc, payload) to b. */
static void st_frame(struct st_bytes *b, const uint8_t *payload, size_t len)
{
	st_put_u32(b, (uint32_t)len);
	st_put_u32(b, xs_crc32c(0, payload, len));
	st_put(b, payload, len);
}

/* The next framed record at *pos of buf, or false at a torn or corrupt one. */
static bool st_unframe(const uint8_t *buf, size_t len, size_t *pos, struct st_cur *rec)
{
	uint32_t n, crc;

	if (len - *pos < 8)
		return false;
	n = st_le32(buf + *pos);
	crc = st_le32(buf + *pos + 4);
	if (n == 0 || n > ST_MAX_RECORD || n > len - *pos - 8)
		return false;
	if (xs_crc32c(0, buf + *pos + 8, n) != crc)
		return false;
	rec->p = buf + *pos + 8;
	rec->len = n;
	rec->pos = 0;
	rec->bad = false;
	*pos += 8 + n;
	return true;
}

/* ---- series catalog ------------------------------------------------------------- */

static uint64_t st_hash(unsigned kind, const char *uuid, const char *ds)
{
	uint64_t h = 0xCBF29CE484222325ull ^ kind;

	for (; *uuid; uuid++)
		h = (h ^ (unsigned char)*uuid) * 0x100000001B3ull;
	h = (h ^ 0xff) * 0x100000001B3ull;
	for (; *ds; ds++)
		h = (h ^ (unsigned char)*ds) * 0x100000001B3ull;
	return h ^ (h >> 29);
}

static uint64_t st_arena_add(struct xs_store *s, const char *a, size_t na, const char *b, size_t nb)
{
	uint64_t off = s->arena_len;
	uint64_t need = na + 1 + (b ? nb + 1 : 0);

	if (s->arena_len + need > s->arena_cap) {
		uint64_t cap = s->arena_cap ? s->arena_cap : 1 << 16;

		while (cap < s->arena_len + need)
			cap *= 2;
		s->arena = xs_xrealloc(s->arena, cap);
		s->arena_cap = cap;
	}
	memcpy(s->arena + off, a, na);
	s->arena[off + na] = 0;
	if (b) {
		memcpy(s->arena + off + na + 1, b, nb);
		s->arena[off + na + 1 + nb] = 0;
	}
	s->arena_len += need;
	return off;
}

static const char *st_uuid(const struct xs_store *s, const struct st_series *se)
{
	return s->arena + se->name_off;
}

static const char *st_ds(const struct xs_store *s, const struct st_series *se)
{
	const char *u = s->arena + se->name_off;

	return u + strlen(u) + 1;
}

static uint64_t st_slot(const struct xs_store *s, unsigned kind, const char *uuid, const char *ds)
{
	uint64_t h = st_hash(kind, uuid, ds), i = h & (s->hcap - 1);
	uint64_t tag = h >> 32;

	for (;; i = (i + 1) & (s->hcap - 1)) {
		uint64_t x = s->hash[i];
		const struct st_series *se;

		if (x == UINT64_MAX)
			return i;
		if (x >> 32 != tag) /* most other series differ here: no name is read */
			continue;
		se = &s->ser[(uint32_t)x];
		if (se->kind == kind && !strcmp(st_uuid(s, se), uuid) && !strcmp(st_ds(s, se), ds))
			return i;
	}
}

static uint64_t st_hash_entry(const struct xs_store *s, uint32_t id)
{
	const struct st_series *se = &s->ser[id];

	return (st_hash(se->kind, st_uuid(s, se), st_ds(s, se)) >> 32 << 32) | id;
}

static void st_hash_grow(struct xs_store *s)
{
	uint64_t cap = s->hcap ? s->hcap * 2 : 1024;

	free(s->hash);
	s->hash = xs_xmalloc(cap * sizeof(*s->hash));
	memset(s->hash, 0xff, cap * sizeof(*s->hash));
	s->hcap = cap;
	for (uint32_t id = 0; id < s->nser; id++) {
		const struct st_series *se = &s->ser[id];

		s->hash[st_slot(s, se->kind, st_uuid(s, se), st_ds(s, se))] = st_hash_entry(s, id);
	}
}

/* ---- objects: (kind, uuid) -> its series, newest first ---- */

static uint64_t st_obj_hash(unsigned kind, const char *uuid)
{
	return st_hash(kind, uuid, "");
}

static uint64_t st_obj_slot(const struct xs_store *s, unsigned kind, const char *uuid)
{
	uint64_t i = st_obj_hash(kind, uuid) & (s->ohcap - 1);

	for (;; i = (i + 1) & (s->ohcap - 1)) {
		uint32_t id = s->ohash[i];

		if (id == UINT32_MAX ||
		    (s->ser[id].kind == kind && !strcmp(st_uuid(s, &s->ser[id]), uuid)))
			return i;
	}
}

static void st_obj_link(struct xs_store *s, uint32_t id)
{
	struct st_series *se = &s->ser[id];
	uint64_t slot = st_obj_slot(s, se->kind, st_uuid(s, se));

	if (s->ohash[slot] == UINT32_MAX) {
		se->obj_next = UINT32_MAX;
		s->nobj++;
	} else {
		se->obj_next = s->ohash[slot];
	}
	s->ohash[slot] = id;
}

static void st_obj_grow(struct xs_store *s)
{
	uint64_t cap = s->ohcap ? s->ohcap * 2 : 1024;

	free(s->ohash);
	s->ohash = xs_xmalloc(cap * sizeof(*s->ohash));
	memset(s->ohash, 0xff, cap * sizeof(*s->ohash));
	s->ohcap = cap;
	s->nobj = 0;
	for (uint32_t id = 0; id < s->nser; id++)
		st_obj_link(s, id);
}

/* ---- the pool of st_active ---------------------------------------------------- */

static struct st_active *st_act_at(const struct xs_store *s, uint32_t i)
{
	return &s->act_pages[i / ST_ACT_PAGE][i % ST_ACT_PAGE];
}

/* What a dormant series holds: nothing (read through st_peek, never written). */
static const struct st_active st_dormant_state = {
	.acc = { { ST_NONE, 0, 0, 0, 0 }, { ST_NONE, 0, 0, 0, 0 }, { ST_NONE, 0, 0, 0, 0 } },
	.pend = -1,
};

/* Series id's st_active to read: its own, or the empty one while it is dormant. */
static const struct st_active *st_peek(const struct xs_store *s, uint32_t id)
{
	uint32_t a = s->ser[id].act;

	return a == ST_DORMANT ? &st_dormant_state : st_act_at(s, a);
}

/* Series id's st_active to change, taken from the pool while it is dormant: no
 * rollup in progress, no block, and backfill knows what a series loaded from disk
 * knows (a tier that holds points is scanned at its first backfill at or before
 * them). Aborts on out-of-memory. */
static struct st_active *st_act(struct xs_store *s, uint32_t id)
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
	for (int k = 1; k < XS_NTIERS; k++)
		a->known[k - 1].tracked = se->tier_last[k] == ST_NONE;
	se->act = i;
	s->act_live++;
	return a;
}

/* Adds series nser (the catalog decides ids: dense, in creation order). */
static uint32_t st_series_add(struct xs_store *s, unsigned kind, const char *uuid, const char *ds,
			      const char *unit)
{
	struct st_series *se;

	if (s->nser == s->capser) {
		s->capser = s->capser ? s->capser * 2 : 256;
		s->ser = xs_xrealloc(s->ser, s->capser * sizeof(*s->ser));
	}
	se = &s->ser[s->nser];
	memset(se, 0, sizeof(*se));
	se->kind = (uint8_t)kind;
	se->seen = s->now_min;
	se->name_off = st_arena_add(s, uuid, strlen(uuid), ds, strlen(ds));
	se->unit_off = st_arena_add(s, unit, strlen(unit), NULL, 0);
	se->last_t = ST_NONE;
	se->act = ST_DORMANT; /* until its first point */
	for (int k = 0; k < XS_NTIERS; k++)
		se->tier_last[k] = ST_NONE;
	s->nser++;
	if ((uint64_t)s->nser * 2 > s->hcap)
		st_hash_grow(s);
	else
		s->hash[st_slot(s, kind, uuid, ds)] = st_hash_entry(s, s->nser - 1);
	if ((s->nobj + 1) * 2 > s->ohcap)
		st_obj_grow(s); /* links every series, the new one included */
	else
		st_obj_link(s, s->nser - 1);
	return s->nser - 1;
}

static void st_cat_record(struct xs_store *s, uint32_t id, unsigned kind, const char *uuid,
			  const char *ds, const char *unit)
{
	struct st_bytes r = { 0 };

	st_put_u32(&r, id);
	st_put_u8(&r, (uint8_t)kind);
	st_put(&r, uuid, strlen(uuid) + 1);
	st_put(&r, ds, strlen(ds) + 1);
	st_put(&r, unit, strlen(unit) + 1);
	st_frame(&s->catbuf, r.p, r.len);
	free(r.p);
}

static const char *st_get_str(struct st_cur *c, size_t max)
{
	const char *p = (const char *)c->p + c->pos;
	const void *z;

	if (c->bad)
		return NULL;
	z = memchr(p, 0, c->len - c->pos < max ? c->len - c->pos : max);
	if (!z) {
		c->bad = true;
		return NULL;
	}
	c->pos += (size_t)((const char *)z - p) + 1;
	return p;
}

/* One catalog record at rec: a new series (id == nser) or a unit change (id < nser);
 * false if it is neither or does not parse. */
static bool st_cat_apply(struct xs_store *s, struct st_cur *rec)
{
	uint32_t id = st_get_u32(rec);
	unsigned kind = st_get_u8(rec);
	const char *uuid = st_get_str(rec, ST_MAX_UUID);
	const char *ds = st_get_str(rec, XS_STORE_MAX_DS);
	const char *unit = st_get_str(rec, XS_STORE_MAX_UNIT);

	if (rec->bad || kind >= XS_NOBJ_KINDS || id > s->nser)
		return false;
	if (id == s->nser)
		st_series_add(s, kind, uuid, ds, unit);
	else
		s->ser[id].unit_off = st_arena_add(s, unit, strlen(unit), NULL, 0);
	return true;
}

/*
 * After a damaged catalog record at buf[from..): the next offset holding a valid
 * record (CRC, and an id the damaged bytes could have held: at most one series per
 * ST_CAT_MIN_RECORD bytes skipped); 0 if none (a torn tail). The ids skipped get
 * placeholder series ("lost-series-ID"), so that no id is handed out again and the
 * log's rows of the lost series go to them, not to a later series.
 */
static size_t st_cat_resync(struct xs_store *s, const uint8_t *buf, size_t len, size_t from)
{
	for (size_t q = from + 1; q + 8 <= len; q++) {
		size_t at = q;
		struct st_cur rec;
		uint32_t id;

		if (st_le32(buf + q) > ST_CAT_MAX_RECORD || !st_unframe(buf, len, &at, &rec))
			continue;
		id = st_get_u32(&rec);
		if (rec.bad || id < s->nser || id - s->nser > (q - from) / ST_CAT_MIN_RECORD)
			continue;
		while (s->nser < id) {
			char name[32];

			snprintf(name, sizeof(name), "lost-series-%u", s->nser);
			st_series_add(s, XS_OBJ_VM, name, "lost", "");
			s->lost_series++;
		}
		return q;
	}
	return 0;
}

static enum xs_err st_cat_load(struct xs_store *s, char *err)
{
	uint8_t *buf;
	size_t len, pos = ST_FILE_HDR, end;
	struct st_cur rec;

	if (st_read_file(s->dirfd, "series", &buf, &len))
		return st_errno(err, "read", s, "series");
	if (len < ST_FILE_HDR || st_le32(buf) != ST_MAGIC_CAT) {
		if (len >= ST_FILE_HDR) {
			free(buf);
			return xs_err_set(err, XS_ERR_PARSE, "%s/series: not a series catalog", s->dir);
		}
		pos = 0; /* new (or torn while being created): start it over */
	}
	/* records up to the torn tail; a damaged one with valid records after it is
	 * skipped (st_cat_resync), and the file is cut after the last valid record */
	end = pos;
	while (pos && pos < len) {
		size_t at = pos, next;

		if (st_unframe(buf, len, &at, &rec) && st_cat_apply(s, &rec)) {
			pos = end = at;
			continue;
		}
		next = st_cat_resync(s, buf, len, pos);
		if (!next)
			break;
		pos = next;
	}
	pos = end;
	free(buf);
	s->cat_fd = openat(s->dirfd, "series", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->cat_fd < 0)
		return st_errno(err, "open", s, "series");
	if (pos == 0) {
		uint8_t h[ST_FILE_HDR] = { 0 };

		st_w32(h, ST_MAGIC_CAT);
		st_w32(h + 4, 1);
		if (st_write_all(s->cat_fd, h, sizeof(h), 0) || fsync(s->cat_fd))
			return st_errno(err, "write", s, "series");
		pos = ST_FILE_HDR;
	}
	if (ftruncate(s->cat_fd, (off_t)pos) < 0)
		return st_errno(err, "truncate", s, "series");
	s->cat_size = pos;
	return XS_OK;
}

/* ---- blocks in memory --------------------------------------------------------- */

static unsigned st_nch(int tier)
{
	return tier == XS_TIER_5S ? 1 : 3;
}

static bool st_frozen(int tier)
{
	return tier >= ST_FROZEN_TIER;
}

/* The newest sealed block of series id, or -1. A checkpoint empties the pend array
 * without visiting every series: a head is valid only if it still names id's entry
 * (entries of one checkpoint's lifetime never change, and chains only point back). */
static int32_t st_pend_head(const struct xs_store *s, uint32_t id)
{
	int32_t h = st_peek(s, id)->pend;

	return h >= 0 && (size_t)h < s->npend && s->pend[h].series == id ? h : -1;
}

/* A compact copy of b's payload, in *reuse (reallocated) or a new allocation. */
static struct st_sealed *st_sealed_of(const struct xs_block *b, struct st_sealed *reuse)
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
static void st_open_seal(struct xs_store *s, uint32_t id, int tier, union st_open *slot)
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

/* Whether the slot of tier holds a block. */
static bool st_open_has(int tier, const union st_open *o)
{
	return st_frozen(tier) ? o->frozen != NULL : o->live != NULL;
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

/* Emits the finished rollup period of tier k. */
static void st_acc_emit(struct xs_store *s, uint32_t id, int k)
{
	struct st_series *se = &s->ser[id];
	struct st_active *act = st_act(s, id);
	struct st_acc *a = ST_ACC(act, k);
	float v[3];

	if (a->period == ST_NONE)
		return;
	if (se->tier_last[k] != ST_NONE && a->period <= se->tier_last[k])
		return; /* a backfilled point already holds the period (or a later one) */
	if (a->count) {
		v[0] = (float)(a->sum / a->count);
		v[1] = a->min;
		v[2] = a->max;
	} else {
		v[0] = v[1] = v[2] = NAN;
	}
	st_block_add(s, id, k, &act->open[k], a->period, v);
	st_known_add(se, act, k, a->period);
	se->tier_last[k] = a->period;
}

static bool st_append_core(struct xs_store *s, uint32_t id, int64_t t, float v)
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

/* ---- write-ahead log ------------------------------------------------------------- */

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

/* Writes the open row to the wal buffer, in records of at most ST_ROW_MAX_ENTRIES
 * entries: a record over ST_MAX_RECORD would be refused at replay, and the wal cut
 * there. */
static void st_row_close(struct xs_store *s)
{
	if (!s->row_open)
		return;
	s->row_open = false;
	for (size_t i = 0; i < s->nrow; i += ST_ROW_MAX_ENTRIES)
		st_row_record(s, i, s->nrow - i > ST_ROW_MAX_ENTRIES ? i + ST_ROW_MAX_ENTRIES : s->nrow);
	s->nrow = 0;
}

static bool st_replay_row(struct xs_store *s, struct st_cur *c)
{
	int64_t t = (int64_t)st_get_u64(c);
	uint32_t n = st_get_u32(c);
	struct xs_bitr r;
	int64_t id = -1;

	if (c->bad)
		return false;
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
		st_append_core(s, (uint32_t)id, t,
			       st_bitsf(st_fbits(s->ser[id].last_v) ^ x));
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
	if (!p || (flags & XS_BLOCK_NCH_MASK) != st_nch(tier) || n == 0 || n > XS_BLOCK_MAX_POINTS) {
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
static void st_carry_dormant(const struct xs_store *s, uint32_t id, struct st_bytes *out)
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

/* Frees the open and backfill blocks of a series' st_active a (nbf follows). */
static void st_series_drop_blocks(struct xs_store *s, struct st_active *a)
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
static void st_act_release(struct xs_store *s, uint32_t id)
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
static bool st_act_idle(const struct xs_store *s, uint32_t id)
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
		if (!st_get_block(c, k, &act->open[k]) || !st_get_block(c, k, &act->bf[k]))
			return false;
		s->nbf += st_open_has(k, &act->bf[k]);
		if (k)
			act->known[k - 1].tracked = se->tier_last[k] == ST_NONE;
	}
	return !c->bad;
}

/* 'D' (st_carry_dormant): the series is dormant, with these times. */
static bool st_replay_dormant(struct xs_store *s, struct st_cur *c)
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
	st_act_release(s, id); /* a wal names a series once, before its rows: nothing to lose */
	s->ser[id].last_t = last_t;
	s->ser[id].last_v = st_bitsf(last_v);
	memcpy(s->ser[id].tier_last, tier_last, sizeof(tier_last));
	return true;
}

static enum xs_err st_backfill_core(struct xs_store *s, uint32_t id, int tier, int64_t t,
				    const float *v);
static enum xs_err st_ckpt_recover(struct xs_store *s, char *err);

static bool st_replay_backfill(struct xs_store *s, struct st_cur *c)
{
	uint32_t id = st_get_u32(c);
	unsigned tier = st_get_u8(c);
	int64_t t = (int64_t)st_get_u64(c);
	float v[3];

	for (int k = 0; k < 3; k++)
		v[k] = st_bitsf(st_get_u32(c));
	if (c->bad || id >= s->nser || tier < 1 || tier >= XS_NTIERS)
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
static enum xs_err st_wal_write(struct xs_store *s, uint64_t gen, int *fdp, uint64_t *size,
				char *err)
{
	struct st_bytes b = { 0 };
	uint8_t h[ST_FILE_HDR] = { 0 };
	uint64_t off = 0;
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
		if (id < s->nser && (s->ser[id].tier_last[XS_TIER_5S] != ST_NONE ||
				     s->ser[id].tier_last[1] != ST_NONE ||
				     s->ser[id].tier_last[2] != ST_NONE ||
				     s->ser[id].tier_last[3] != ST_NONE))
			st_carry(s, id, &b);
		if (b.len >= ST_WAL_CHUNK || (id == s->nser && b.len)) {
			if (st_write_all(fd, b.p, b.len, off)) {
				close(fd);
				free(b.p);
				return st_errno(err, "write", s, "wal.tmp");
			}
			off += b.len;
			b.len = 0;
		}
	}
	free(b.p);
	if (fsync(fd) || renameat(s->dirfd, "wal.tmp", s->dirfd, "wal")) {
		close(fd);
		return st_errno(err, "write", s, "wal");
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
static int st_wal_swap(struct xs_store *s, int fd, uint64_t size, uint64_t gen)
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
	if (fd < 0)
		return;
	if (st_write_all(fd, p, n, 0) != XS_OK || fsync(fd) < 0) {
		/* kept what could be: the count still says how much did not replay */
	}
	close(fd);
}

static bool st_seg_parse(const char *name, int *tier, int64_t *no);
static uint64_t st_idx_parse(int fd, uint64_t len, uint64_t max_gen, struct st_seg *g,
			     bool *read_error);
static void st_seg_free(struct st_seg *g);

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
			st_idx_parse(g->ifd, (uint64_t)sb.st_size, UINT64_MAX, g, &unread);
		if (unread)
			e = st_errno(err, "read", s, de->d_name);
		for (size_t i = 0; i < g->nruns; i++)
			*gen = g->runs[i].gen > *gen ? g->runs[i].gen : *gen;
		st_seg_free(g);
	}
	closedir(d);
	return e;
}

static enum xs_err st_wal_load(struct xs_store *s, char *err)
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
	if (st_le32(buf) != ST_MAGIC_WAL && st_le32(buf) != ST_MAGIC_WAL1) {
		free(buf);
		return xs_err_set(err, XS_ERR_PARSE, "%s/wal: not a write-ahead log", s->dir);
	}
	if (st_le32(buf) == ST_MAGIC_WAL && st_le32(buf + 4) != st_wal_hdr_crc(buf)) {
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
		case 'D': good = st_replay_dormant(s, &rec); break;
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

/* ---- segments ------------------------------------------------------------------- */

static void st_seg_name(char *buf, size_t n, int tier, int64_t no, const char *ext)
{
	snprintf(buf, n, "%s-%lld.%s", st_tier_name[tier], (long long)no, ext);
}

/* Frees what a run owns (its directory and chunk ends); the run may be reused. */
static void st_run_free(struct st_run *r)
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
static bool st_run_may_hold(const struct st_run *r, uint32_t id)
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

static void st_seg_free(struct st_seg *g)
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

static size_t st_dir_chunks(size_t n)
{
	return (n + ST_DIR_STRIDE - 1) / ST_DIR_STRIDE;
}

/* Bytes of a run of n entries: header, entries, directory. */
static uint64_t st_run_bytes(size_t n)
{
	return ST_RUN_HDR + (uint64_t)n * ST_ENT + (uint64_t)st_dir_chunks(n) * ST_DIR_ENT;
}

/* n bytes at off, all of them; false with errno set (EIO for a short read) otherwise. */
static bool st_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(fd, buf, n, (off_t)off);

	if (r >= 0 && (size_t)r != n)
		errno = EIO;
	return r >= 0 && (size_t)r == n;
}

/*
 * Parses the run headers and directories of an index file read by fd (size
 * len) into g; returns the end of the last valid run (where the next run goes:
 * what follows is a torn or uncommitted tail). A run whose header has its
 * shape (magic, a count that fits) but fails its CRC is damage: skipped, and
 * the runs after it still load (a later checkpoint would otherwise cut them
 * away with their blocks). Parsing stops at a header without that shape, or a
 * valid run of a generation above max_gen (a checkpoint not committed).
 * Entries are not read: each chunk is checked against its directory CRC when
 * a read loads it.
 */
static uint64_t st_idx_parse(int fd, uint64_t len, uint64_t max_gen, struct st_seg *g,
			     bool *read_error)
{
	uint64_t pos = 0, good_end = 0;
	uint8_t h[ST_RUN_HDR];

	while (len - pos >= ST_RUN_HDR) {
		uint32_t n;
		uint64_t gen, data_end;
		size_t nd;
		uint8_t *dbuf;
		struct st_run run;

		if (!st_pread_all(fd, h, sizeof(h), pos)) {
			*read_error = true; /* the file's size says the bytes are there */
			break;
		}
		n = st_le32(h + 4);
		gen = st_le64(h + 8);
		data_end = st_le64(h + 16);
		bool ranged = st_le32(h) == ST_MAGIC_RUN;
		uint32_t crc = xs_crc32c(0, h, 24);
		int64_t base = g->no * st_span[g->tier], w = st_window[g->tier];
		int64_t wlo = h[28] | h[29] << 8, whi = h[30] | h[31] << 8;

		if ((!ranged && st_le32(h) != ST_MAGIC_RUN2) || n == 0 || st_run_bytes(n) > len - pos)
			break;
		if (ranged)
			crc = xs_crc32c(crc, h + 28, 4);
		nd = st_dir_chunks(n);
		dbuf = xs_xmalloc(nd * ST_DIR_ENT);
		if (!st_pread_all(fd, dbuf, nd * ST_DIR_ENT, pos + ST_RUN_HDR + (uint64_t)n * ST_ENT)) {
			free(dbuf);
			*read_error = true;
			break;
		}
		if (xs_crc32c(crc, dbuf, nd * ST_DIR_ENT) != st_le32(h + 24)) {
			free(dbuf); /* its blocks are lost; the runs after it are not */
			pos += st_run_bytes(n);
			continue;
		}
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
static int st_seg_load(struct xs_store *s, struct st_seg *g)
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
		g->idx_end = st_idx_parse(g->ifd, (uint64_t)sb.st_size, s->gen, g, &unread);
	g->idx_unread = unread;
	return unread ? -1 : 0;
}

/* The segment (tier, no), loaded into the cache on first use. */
static struct st_seg *st_seg_get(struct xs_store *s, int tier, int64_t no)
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

static int st_seg_fd(struct xs_store *s, struct st_seg *g, bool create)
{
	char name[64];

	if (g->fd >= 0 && create && !g->writable) {
		close(g->fd);
		g->fd = -1;
	}
	if (g->fd < 0) {
		st_seg_name(name, sizeof(name), g->tier, g->no, "seg");
		g->fd = openat(s->dirfd, name, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
		g->writable = create;
	}
	return g->fd;
}

/* Reads and checks one block of series id; appends its points to the read scratch. */
static void st_scratch_need(struct xs_store *s, size_t n)
{
	if (n <= s->rcap)
		return;
	while (s->rcap < n)
		s->rcap = s->rcap ? s->rcap * 2 : 1024;
	s->rt = xs_xrealloc(s->rt, s->rcap * sizeof(*s->rt));
	s->rv = xs_xrealloc(s->rv, s->rcap * 3 * sizeof(*s->rv));
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

/* The CRC of a block: its key (series, tier, t0), then header bytes 4..8 and payload. */
static uint32_t st_block_crc(uint32_t series, int tier, int64_t t0, const uint8_t *h, size_t len)
{
	uint8_t key[13];

	st_w32(key, series);
	key[4] = (uint8_t)tier;
	st_w64(key + 5, (uint64_t)t0);
	return xs_crc32c(xs_crc32c(0, key, sizeof(key)), h + 4, len - 4);
}

/* Checks one block read into h (its entry e) and decodes it; a corrupt or
 * misplaced block is dropped, never decoded. */
static size_t st_read_block_at(struct xs_store *s, const struct st_seg *g, const struct st_ent *e,
			       uint32_t id, size_t m, const uint8_t *h)
{
	if (h[6] != g->tier || (h[7] & XS_BLOCK_NCH_MASK) != st_nch(g->tier) ||
	    st_block_crc(id, g->tier, e->t0, h, e->len) != st_le32(h))
		return m;
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
		/* a .seg cut short (or a read error): the blocks before the cut still read */
		for (i = 0; n > 1 && i < n; i++)
			m = st_read_disk_blocks(s, g, &e[i], 1, id, m, tmp, tmpcap);
		return m;
	}
	for (i = 0; i < n; i++)
		m = st_read_block_at(s, g, &e[i], id, m, *tmp + (e[i].off - e[0].off));
	return m;
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
static const struct st_ent *st_chunk_get(struct xs_store *s, const struct st_seg *g,
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
static void st_chunks_forget(struct xs_store *s, const struct st_seg *g)
{
	for (size_t i = 0; s->chunks && i < ST_CHUNK_SLOTS; i++)
		if (s->chunks[i].g == g)
			s->chunks[i].g = NULL;
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
		for (size_t i = 0; i < n; i++)
			if (e[i].series == id && e[i].t0 >= wfrom && e[i].t0 <= to) {
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
		if (!g->nruns || g->ifd < 0 || st_seg_fd(s, g, false) < 0)
			continue;
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
	size_t len;
	uint8_t *p;

	if (f)
		return f->t0 > to || f->tlast < from
			       ? m
			       : st_decode_into(s, m, f->payload, f->len, f->t0, tier, f->n, f->flags);
	if (!b || !b->n || b->t0 > to || b->tlast < from)
		return m;
	len = xs_block_bytes(b);
	p = xs_xmalloc(len + 1);
	xs_block_payload(b, p);
	m = st_decode_into(s, m, p, len, b->t0, tier, b->n, xs_block_flags(b));
	free(p);
	return m;
}

struct st_sortpt {
	int64_t t;
	size_t seq;       /* position before sorting: equal times keep the first */
	float v[3];
};

static int st_sortpt_cmp(const void *a, const void *b)
{
	const struct st_sortpt *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the scratch by time (blocks come in order, so usually a no-op) and drops repeats. */
static size_t st_scratch_sort(struct xs_store *s, size_t m)
{
	size_t w = 0, i;

	for (i = 1; i < m && s->rt[i - 1] < s->rt[i]; i++)
		;
	if (i >= m)
		return m;
	{
		struct st_sortpt *a = xs_xmalloc(m * sizeof(*a));

		for (i = 0; i < m; i++) {
			a[i].t = s->rt[i];
			a[i].seq = i;
			memcpy(a[i].v, &s->rv[i * 3], sizeof(a[i].v));
		}
		qsort(a, m, sizeof(*a), st_sortpt_cmp);
		for (i = 0; i < m; i++) {
			if (w && s->rt[w - 1] == a[i].t)
				continue;
			s->rt[w] = a[i].t;
			memcpy(&s->rv[w * 3], a[i].v, sizeof(a[i].v));
			w++;
		}
		free(a);
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

/* ---- checkpoint ----------------------------------------------------------------- */
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

static void st_seg_range(struct xs_store *s, int tier, int64_t no)
{
	if (no < s->seg_lo[tier])
		s->seg_lo[tier] = no;
	if (no > s->seg_hi[tier])
		s->seg_hi[tier] = no;
}

static bool st_seg_parse(const char *name, int *tier, int64_t *no);

/* The range of segment numbers on disk, from the directory. */
static void st_seg_scan(struct xs_store *s)
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

/* Removes index runs a checkpoint that did not finish left behind (named by ckpt). */
static enum xs_err st_ckpt_recover(struct xs_store *s, char *err)
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
		st_seg_name(name, sizeof(name), buf[pos], (int64_t)st_le64(buf + pos + 1), "idx");
		fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* never written: nothing to cut */
		if (fd < 0 || fstat(fd, &sb) < 0) {
			fail = "open"; /* its uncommitted runs would stay */
		} else {
			keep = st_idx_parse(fd, (uint64_t)sb.st_size, s->gen, &g, &unread);
			for (size_t i = 0; i < g.nruns; i++)
				st_run_free(&g.runs[i]);
			free(g.runs);
			if (unread) /* not a torn end: truncating there would cut committed runs */
				fail = "read";
			else if (keep < (uint64_t)sb.st_size &&
				 (ftruncate(fd, (off_t)keep) < 0 || fsync(fd) < 0))
				fail = "truncate";
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
	return XS_OK;
}

static enum xs_err st_sync(struct xs_store *s, char *err);

/* The owner's io_begin / io_end hooks, if any (see xs_store_options). */
static void st_io_begin(struct xs_store *s)
{
	if (s->io_begin)
		s->io_begin(s->io_arg);
}

static void st_io_end(struct xs_store *s)
{
	if (s->io_end)
		s->io_end(s->io_arg);
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
static uint64_t st_retire(struct xs_store *s)
{
	int64_t newest = ST_NONE;
	uint64_t n = 0;

	for (uint32_t id = 0; id < s->nser; id++)
		if (s->ser[id].last_t > newest)
			newest = s->ser[id].last_t;
	for (uint32_t id = 0; id < s->nser; id++) {
		struct st_series *se = &s->ser[id];
		unsigned idle = (uint16_t)(s->now_min - se->seen);
		struct st_active *act;
		bool open = false;

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
static enum xs_err st_checkpoint(struct xs_store *s, char *err)
{
	struct st_ck *ck = NULL;
	struct st_seg_out *outs = NULL;
	struct st_bytes list = { 0 };
	uint64_t gen = s->gen + 1, wal_size = 0;
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
	st_io_end(s);
out:
	/* after a failure nothing was applied: the next checkpoint writes over it */
	for (size_t k = 0; outs && k < nout; k++) {
		if (outs[k].ifd >= 0)
			close(outs[k].ifd);
		st_run_free(&outs[k].run);
	}
	free(outs);
	free(list.p);
	free(ck);
	return e;
}

/* ---- the API ---------------------------------------------------------------------- */

/* The catalog buffer after its bytes were written: emptied, and freed when a
 * burst (a thousand hosts' series created at once) grew it past ST_BYTES_KEEP.
 * Not for the wal's buffer: every row fills it again, about 3 MB at 658k series. */
static void st_bytes_written(struct st_bytes *b)
{
	b->len = 0;
	if (b->cap > ST_BYTES_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
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
			e = st_errno(err, "write", s, "wal");
		} else {
			s->wal_size += s->walbuf.len;
			s->walbuf.len = 0; /* kept: every row's records go through it */
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

static void st_free(struct xs_store *s)
{
	for (uint32_t i = 0; i < s->nser; i++)
		st_act_release(s, i);
	for (uint32_t i = 0; i < s->act_npages; i++)
		free(s->act_pages[i]);
	free(s->act_pages);
	for (size_t i = 0; i < s->npend; i++) {
		free(s->pend[i].b);
	}
	for (size_t i = 0; i < s->nsegs; i++)
		st_seg_free(s->segs[i]);
	free(s->chunks);
	if (s->cat_fd >= 0)
		close(s->cat_fd);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->segs);
	free(s->pend);
	free(s->row);
	free(s->ser);
	free(s->arena);
	free(s->hash);
	free(s->ohash);
	free(s->catbuf.p);
	free(s->walbuf.p);
	free(s->rt);
	free(s->rv);
	xs_block_cleanup(&s->thaw);
	free(s->thaw_t);
	free(s->thaw_v);
	free(s->dir);
	free(s);
}

/* fsync of the directory that holds path (a new store's directory, made by mkdir: its
 * entry must survive a power cut as the files in it will); 0, or -1 with errno. */
static int st_fsync_parent(const char *path)
{
	size_t n = strlen(path);
	char *parent;
	int fd, rc, saved;

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	parent = n ? xs_xstrndup(path, n) : xs_xstrndup(".", 1);
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(parent);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc < 0 ? -1 : 0;
}

enum xs_err xs_store_open(const struct xs_store_options *o, struct xs_store **out, char *err)
{
	struct xs_store *s;
	enum xs_err e;

	*out = NULL;
	if (!o || !o->dir || !*o->dir)
		return xs_err_set(err, XS_ERR_ARG, "store: no directory");
	if (mkdir(o->dir, 0755) == 0) {
		if (st_fsync_parent(o->dir) < 0)
			return xs_err_set(err, XS_ERR_IO, "sync the directory holding %s: %s", o->dir,
					  strerror(errno));
	} else if (errno != EEXIST) {
		return xs_err_set(err, XS_ERR_IO, "mkdir %s: %s", o->dir, strerror(errno));
	}
	s = xs_xcalloc(1, sizeof(*s));
	s->dir = xs_xstrndup(o->dir, strlen(o->dir));
	s->cat_fd = s->wal_fd = s->lockfd = -1;
	s->act_free = ST_DORMANT;
	for (int k = 0; k < XS_NTIERS; k++)
		s->retention[k] = o->retention[k] > 0 ? o->retention[k] : xs_tier_default_retention[k];
	s->wal_max = o->wal_max ? o->wal_max : ST_WAL_MAX;
	s->io_begin = o->io_begin;
	s->io_end = o->io_end;
	s->io_arg = o->io_arg;
	s->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		e = xs_err_set(err, XS_ERR_IO, "open %s: %s", o->dir, strerror(errno));
		goto out_free;
	}
	s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		e = xs_err_set(err, XS_ERR_IO, "%s/LOCK: %s (another xapistat uses this store?)",
			       o->dir, strerror(errno));
		goto out_free;
	}
	s->now_min = ST_NOW_MINUTES();
	st_hash_grow(s);
	st_obj_grow(s);
	st_seg_scan(s);
	e = st_cat_load(s, err);
	if (!e)
		e = st_wal_load(s, err);
	if (e)
		goto out_free;
	*out = s;
	return XS_OK;
out_free:
	st_free(s);
	return e;
}

enum xs_err xs_store_close(struct xs_store **sp, char *err)
{
	enum xs_err e = XS_OK;

	if (!sp || !*sp)
		return XS_OK;
	e = st_checkpoint(*sp, err);
	st_free(*sp);
	*sp = NULL;
	return e;
}

static bool st_name_ok(const char *s, size_t max)
{
	return s && strnlen(s, max) < max;
}

enum xs_err xs_store_series(struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
			    const char *ds, const char *unit, xs_series_id *id, char *err)
{
	uint64_t slot;
	uint32_t i;

	if ((unsigned)kind >= XS_NOBJ_KINDS || !st_name_ok(uuid, ST_MAX_UUID) ||
	    !st_name_ok(ds, XS_STORE_MAX_DS) || !st_name_ok(unit, XS_STORE_MAX_UNIT))
		return xs_err_set(err, XS_ERR_ARG, "store: bad series key or unit");
	if (s->nser == UINT32_MAX - 1)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "store: too many series");
	slot = st_slot(s, kind, uuid, ds);
	if (s->hash[slot] == UINT64_MAX) {
		i = st_series_add(s, kind, uuid, ds, unit);
		st_cat_record(s, i, kind, uuid, ds, unit);
		*id = i;
		return XS_OK;
	}
	i = (uint32_t)s->hash[slot];
	if (strcmp(s->arena + s->ser[i].unit_off, unit)) {
		s->ser[i].unit_off = st_arena_add(s, unit, strlen(unit), NULL, 0);
		st_cat_record(s, i, kind, uuid, ds, unit);
	}
	*id = i;
	return XS_OK;
}

bool xs_store_find(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid, const char *ds,
		   xs_series_id *id)
{
	uint64_t x;

	if ((unsigned)kind >= XS_NOBJ_KINDS || !uuid || !ds)
		return false;
	x = s->hash[st_slot(s, kind, uuid, ds)];
	if (x == UINT64_MAX)
		return false;
	*id = (uint32_t)x;
	return true;
}

enum xs_err xs_store_append(struct xs_store *s, xs_series_id id, int64_t t, float v, char *err)
{
	uint32_t x;

	if (id >= s->nser || t % 5)
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
	return XS_OK;
}

/* Accepts the point if its period is complete and holds nothing; XS_ERR_ABORTED if ignored. */
static enum xs_err st_backfill_core(struct xs_store *s, uint32_t id, int tier, int64_t t,
				    const float *v)
{
	struct st_series *se = &s->ser[id];
	const struct st_acc *acc = ST_ACC(st_peek(s, id), tier);
	struct st_active *act;
	struct xs_point p;

	if (acc->period != ST_NONE && t >= acc->period)
		return XS_ERR_ABORTED;
	switch (st_known_verdict(s, id, tier, t)) {
	case ST_SKIP:
		return XS_ERR_ABORTED;
	case ST_LOOK:
		if (xs_store_read(s, id, (enum xs_tier)tier, t, t, &p, 1))
			return XS_ERR_ABORTED;
		break;
	case ST_TAKE:
		break;
	}
	act = st_act(s, id);
	st_block_add(s, id, tier, &act->bf[tier], t, v);
	st_known_add(se, act, tier, t);
	if (se->tier_last[tier] == ST_NONE || t > se->tier_last[tier])
		se->tier_last[tier] = t;
	return XS_OK;
}

enum xs_err xs_store_backfill(struct xs_store *s, xs_series_id id, enum xs_tier tier, int64_t t,
			      float avg, float min, float max, char *err)
{
	float v[3] = { avg, min, max };
	struct st_bytes r = { 0 };

	if (id >= s->nser || tier <= XS_TIER_5S || tier >= XS_NTIERS || t % xs_tier_step[tier])
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

/* Parses "<tier>-<no>.seg" or ".idx"; false for any other name. */
static bool st_seg_parse(const char *name, int *tier, int64_t *no)
{
	char *end;
	long long n;

	for (int k = 0; k < XS_NTIERS; k++) {
		size_t l = strlen(st_tier_name[k]);

		if (strncmp(name, st_tier_name[k], l) || name[l] != '-')
			continue;
		errno = 0;
		n = strtoll(name + l + 1, &end, 10);
		if (errno || end == name + l + 1 || (strcmp(end, ".seg") && strcmp(end, ".idx")))
			return false;
		*tier = k;
		*no = n;
		return true;
	}
	return false;
}

/* The newest time the store holds data at, or after: the newest point any series knows
 * (every tier) and the start of the newest segment of any tier (seg_hi). */
static int64_t st_newest(const struct xs_store *s)
{
	int64_t newest = INT64_MIN;

	for (uint32_t i = 0; i < s->nser; i++) {
		const struct st_series *se = &s->ser[i];

		if (se->last_t != ST_NONE && se->last_t > newest)
			newest = se->last_t;
		for (int t = 0; t < XS_NTIERS; t++)
			if (se->tier_last[t] != ST_NONE && se->tier_last[t] > newest)
				newest = se->tier_last[t];
	}
	for (int k = 0; k < XS_NTIERS; k++)
		if (s->seg_hi[k] != INT64_MIN && s->seg_hi[k] * st_span[k] > newest)
			newest = s->seg_hi[k] * st_span[k];
	return newest;
}

enum xs_err xs_store_expire(struct xs_store *s, int64_t now, char *err)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int64_t newest;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return st_errno(err, "list", s, ".");
	}
	/* a clock far ahead (a wrong RTC at boot, a bad NTP step) must not delete what the
	 * data's own times still keep: now is at most a day past the newest data */
	newest = st_newest(s);
	if (newest != INT64_MIN && now > newest + ST_EXPIRE_SLACK)
		now = newest + ST_EXPIRE_SLACK;
	rewinddir(d);
	while ((de = readdir(d))) {
		int tier;
		int64_t no;

		if (!st_seg_parse(de->d_name, &tier, &no) ||
		    (no + 1) * st_span[tier] > now - s->retention[tier])
			continue;
		for (size_t i = 0; i < s->nsegs; i++) {
			if (s->segs[i]->tier != tier || s->segs[i]->no != no)
				continue;
			st_chunks_forget(s, s->segs[i]);
			st_seg_free(s->segs[i]);
			s->segs[i] = s->segs[--s->nsegs];
			break;
		}
		if (unlinkat(s->dirfd, de->d_name, 0) < 0 && errno != ENOENT) {
			closedir(d);
			return st_errno(err, "remove", s, de->d_name);
		}
	}
	closedir(d);
	return XS_OK;
}

void xs_store_each_of(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
		      void (*cb)(void *arg, xs_series_id id, const char *ds, const char *unit),
		      void *arg)
{
	uint32_t i;

	if (!s->ohcap)
		return;
	for (i = s->ohash[st_obj_slot(s, kind, uuid)]; i != UINT32_MAX; i = s->ser[i].obj_next)
		cb(arg, i, st_ds(s, &s->ser[i]), s->arena + s->ser[i].unit_off);
}

void xs_store_each(const struct xs_store *s,
		   void (*cb)(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
			      const char *ds, const char *unit),
		   void *arg)
{
	for (uint32_t i = 0; i < s->nser; i++) {
		const struct st_series *se = &s->ser[i];

		cb(arg, i, (enum xs_obj_kind)se->kind, st_uuid(s, se), st_ds(s, se),
		   s->arena + se->unit_off);
	}
}

void xs_store_stats(const struct xs_store *s, struct xs_store_stats *st)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct stat sb;

	*st = s->st;
	st->series = s->nser;
	st->dormant = s->nser - s->act_live;
	st->lost_series = s->lost_series;
	st->bytes_on_disk = 0;
	st->log_bytes = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || fstatat(s->dirfd, de->d_name, &sb, 0) < 0)
			continue;
		st->bytes_on_disk += (uint64_t)sb.st_size;
		if (!strcmp(de->d_name, "wal"))
			st->log_bytes = (uint64_t)sb.st_size;
	}
	closedir(d);
}
