/*
 * store_internal.h - what the files of the store (src/store/) share: its limits,
 * its in-memory structures (struct xs_store and the rest), little inline helpers, and
 * the functions one file of the store calls in another. Not for use outside
 * src/store/ (and the store's own tests, which include store_whole.h).
 *
 * The embedded time-series store (contract in store.h, format in
 * docs/STORE.md).
 *
 * Files under the store directory:
 *   series            catalog: one CRC'd record per series (and per unit change)
 *   wal               write-ahead log of generation G (in a CRC'd header): carry
 *                     records (the open state of every series awake at the last
 *                     checkpoint), then rows of
 *                     samples and backfilled points appended since
 *   <tier>-<n>.seg    sealed blocks of one tier and time span n
 *   <tier>-<n>.idx    sorted runs of (series, t0, offset, length), one run per
 *                     checkpoint that wrote to the segment, tagged with its G
 *   dormant           the times of dormant series, a CRC'd record each, appended when
 *                     they go dormant (the wal carries none of them)
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
 *
 * Files of the code (each says more in its own header comment):
 *   store.c             open, close, expire, figures
 *   store_io.c          CRC-framed records, whole-file reads, writes and reads that
 *                       never return short, directory fsyncs, the owner's I/O hooks
 *   store_catalog.c     the series catalog: ids, names, the hashes, the public lookups
 *   store_write.c       append and backfill: st_active, open blocks, rollups, st_known
 *   store_wal.c         the wal: row and backfill records, carry records, replay
 *   store_dormant.c     the dormant file: dormant series' times, appended, compacted
 *   store_segment.c     .seg and .idx files: index runs, their parse, the chunk cache
 *   store_read.c        xs_store_read and friends: segments, pend and open blocks merged
 *   store_checkpoint.c  syncs, checkpoints, their recovery, retirement
 *   store_whole.h       all of the above as one translation unit, for the store's tests
 */
#ifndef XS_STORE_INTERNAL_H
#define XS_STORE_INTERNAL_H

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
#include "store/store.h"
#include "store/store_codec.h"

/* A block holds the points of one window; a segment file the blocks of one span (store.c). */
extern const int64_t st_window[XS_NTIERS];
extern const int64_t st_span[XS_NTIERS];
extern const char *const st_tier_name[XS_NTIERS];

#define ST_WAL_MAX (256u << 20)    /* default wal bytes appended before a checkpoint */
#define ST_WAL_CHUNK (4u << 20)    /* bytes of carry records written at once */
#define ST_PEND_MAX (24u << 20)    /* bytes of sealed blocks held before a checkpoint (twice: forced) */
#define ST_BF_BYTES 320            /* what a backfill block being filled holds, about */
#define ST_BYTES_KEEP (4u << 20)   /* a written catalog buffer larger than this is freed */
#define ST_WALBUF_KEEP (16u << 20) /* ... and a written wal buffer (a first backfill grew it to 64 MiB) */
#define ST_MAX_UUID 128            /* bytes of a uuid */
#define ST_MAX_RECORD (16u << 20)  /* largest wal or catalog record */
#define ST_CAT_MIN_RECORD 16       /* bytes of the smallest catalog record, framed */
#define ST_CAT_MAX_RECORD 1024     /* bytes a catalog record's payload never passes */
#ifndef ST_ROW_MAX_ENTRIES           /* (a test sets a small one) */
#define ST_ROW_MAX_ENTRIES 8192      /* samples of a row per wal record (at most 15 bytes
					* each, far under ST_MAX_RECORD): the row is written
					* out as it grows, a record's worth at a time, so that
					* no append or sync encodes a whole row at once (a
					* reader waits for it: 10-30 ms at 600k series) */
#endif
#define ST_BLOCK_HDR 8             /* bytes of a block header on disk */
#define ST_RUN_HDR 32              /* bytes of an index run header */
#define ST_ENT 16                  /* bytes of an index entry */
#define ST_DIR_STRIDE 128          /* index entries per directory chunk (2 KiB) */
#define ST_DIR_ENT 8               /* bytes of a directory entry */
#define ST_LEN_BITS 24             /* index entry: block length bits below the offset */
#define ST_FILE_HDR 16             /* bytes of the catalog and wal headers */
#define ST_MAGIC_CAT 0x31435358u   /* "XSC1" */
#define ST_MAGIC_WAL 0x33575358u   /* "XSW3": a dormant series' times are in "dormant", not here */
#define ST_MAGIC_WAL2 0x32575358u  /* "XSW2": a header CRC, 'D' records; read, never written */
#define ST_MAGIC_WAL1 0x31575358u  /* "XSW1": neither; read, never written */
#define ST_MAGIC_DORMANT 0x31445358u /* "XSD1" */
#ifndef ST_DORMANT_SLACK            /* (a test sets a small one) */
#define ST_DORMANT_SLACK 65536      /* stale records the dormant file may hold beyond as many as live */
#endif
#define ST_MAGIC_RUN2 0x32525358u  /* "XSR2": a run without its time range */
#define ST_MAGIC_RUN 0x33525358u   /* "XSR3": with the windows its blocks start in */
#define ST_NONE INT64_MIN          /* no period / no point */
#define ST_T_MAX ((int64_t)1 << 50) /* |time| the store takes (s); its sums, floors and segment
				     * numbers never overflow within it */
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
	uint32_t uuid_off;               /* arena: its object's uuid (interned: see xs_store.arena) */
	uint32_t ds_off;                 /* arena: its data source's name */
	uint32_t unit_off;               /* arena: its unit */
	int64_t last_t;                  /* newest 5 s sample; ST_NONE: none */
	int64_t tier_last[XS_NTIERS];    /* newest point of each tier; ST_NONE: none */
	float last_v;                    /* its value, also the wal XOR base */
	uint32_t obj_next;               /* next series of the same object; UINT32_MAX: none */
	uint32_t act;                    /* its st_active in the pool; ST_DORMANT: none */
	uint16_t seen;                   /* now_min of its last sample (or of its load), mod 2^16 */
	uint8_t kind;
	bool times_saved;                /* while dormant: its times are in the dormant file (or it
					  * has none), so the wal carries no record of it */
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
	int fd_errno;            /* why the last open of the .seg failed (fd -1), else 0 */
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
	void (*yield)(void *arg);
	void *io_arg;
	int dirfd;
	int lockfd;
	int64_t retention[XS_NTIERS];
	uint64_t wal_max;        /* wal bytes appended before a checkpoint */
	uint64_t backlog_max;    /* xs_store_backlogged's bound (store.h) */
	struct st_series *ser;
	uint32_t nser, capser;
	struct st_active **act_pages; /* the pool of st_active: pages of ST_ACT_PAGE, never moved */
	uint32_t act_npages;
	uint32_t act_used;       /* handed out at least once: the pool's high-water mark */
	uint32_t act_free;       /* head of the released ones, linked through .pend; ST_DORMANT: none */
	uint32_t act_live;       /* series holding one */
	char *arena;             /* every distinct uuid, data source name and unit once, NUL-ended:
				  * the ~30 series of a VM share its uuid and most names recur in
				  * every VM (about 55 bytes a series saved against a copy each) */
	uint32_t arena_len, arena_cap;
	uint32_t *strhash;       /* open addressing of the arena's strings: offset; UINT32_MAX empty */
	uint32_t strhcap, nstr;
	uint64_t *hash;          /* open addressing: series id | hash bits << 32; UINT64_MAX empty */
	uint64_t hcap;
	uint32_t *ohash;         /* open addressing of objects: id of its newest series; UINT32_MAX empty */
	uint64_t ohcap, nobj;
	int cat_fd;
	uint64_t lost_series;    /* placeholders for series of damaged catalog records */
	uint64_t cat_size;       /* bytes of the catalog written and synced: the next write's offset */
	struct st_bytes catbuf;  /* catalog records not yet written */
	int dormant_fd;          /* "dormant" (store_dormant.c) */
	uint64_t dormant_size;   /* its bytes written and synced: the next write's offset */
	uint64_t dormant_records; /* records in it, stale ones included */
	bool dormant_tail;       /* a failed append left bytes past dormant_size (cut at the next) */
	bool dormant_made;       /* st_dormant_load made it: none was there */
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
	int64_t *mt;             /* merge scratch (st_scratch_sort), swapped with rt/rv */
	float *mv;
	size_t rcap;             /* points each of the four holds */
};

/* Makes room for n more bytes. */
static inline void st_reserve(struct st_bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;

	if (b->len + n <= b->cap)
		return;
	while (cap < b->len + n)
		cap *= 2;
	b->p = xs_xrealloc(b->p, cap);
	b->cap = cap;
}

static inline void st_put(struct st_bytes *b, const void *p, size_t n)
{
	st_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void st_put_u8(struct st_bytes *b, uint8_t v)
{
	st_put(b, &v, 1);
}

static inline void st_put_u32(struct st_bytes *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	st_put(b, x, 4);
}

static inline void st_put_u64(struct st_bytes *b, uint64_t v)
{
	st_put_u32(b, (uint32_t)v);
	st_put_u32(b, (uint32_t)(v >> 32));
}

static inline uint32_t st_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t st_le64(const uint8_t *p)
{
	return st_le32(p) | (uint64_t)st_le32(p + 4) << 32;
}

static inline void st_w32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void st_w64(uint8_t *p, uint64_t v)
{
	st_w32(p, (uint32_t)v);
	st_w32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t st_fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static inline float st_bitsf(uint32_t u)
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

static inline int64_t st_floor(int64_t t, int64_t m)
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

static inline const uint8_t *st_take(struct st_cur *c, size_t n)
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

static inline uint8_t st_get_u8(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 1);

	return p ? p[0] : 0;
}

static inline uint32_t st_get_u32(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 4);

	return p ? st_le32(p) : 0;
}

static inline uint64_t st_get_u64(struct st_cur *c)
{
	const uint8_t *p = st_take(c, 8);

	return p ? st_le64(p) : 0;
}

/* What a dormant series holds: nothing (read through st_peek, never written; store_write.c). */
extern const struct st_active st_dormant_state;

static inline struct st_active *st_act_at(const struct xs_store *s, uint32_t i)
{
	return &s->act_pages[i / ST_ACT_PAGE][i % ST_ACT_PAGE];
}

/* Series id's st_active to read: its own, or the empty one while it is dormant. */
static inline const struct st_active *st_peek(const struct xs_store *s, uint32_t id)
{
	uint32_t a = s->ser[id].act;

	return a == ST_DORMANT ? &st_dormant_state : st_act_at(s, a);
}

/* Whether no may number a segment of tier: (no + 1) * span, the end of its span, fits an
 * int64 either side of 0. A name beyond (a stray file) is no segment of the store. */
static inline bool st_seg_no_ok(int tier, int64_t no)
{
	int64_t max = INT64_MAX / st_span[tier] - 1;

	return no <= max && no >= -max;
}

/* Whether t is a time the store takes; none (ST_NONE) too when none_ok. */
static inline bool st_t_ok(int64_t t, bool none_ok)
{
	return (t >= -ST_T_MAX && t <= ST_T_MAX) || (none_ok && t == ST_NONE);
}

/* Values a point of tier has: 1 (5 s) or 3 (avg, min, max). */
static inline unsigned st_nch(int tier)
{
	return tier == XS_TIER_5S ? 1 : 3;
}

/* Whether tier keeps its open blocks frozen (union st_open). */
static inline bool st_frozen(int tier)
{
	return tier >= ST_FROZEN_TIER;
}

/* The newest sealed block of series id, or -1. A checkpoint empties the pend array
 * without visiting every series: a head is valid only if it still names id's entry
 * (entries of one checkpoint's lifetime never change, and chains only point back). */
static inline int32_t st_pend_head(const struct xs_store *s, uint32_t id)
{
	int32_t h = st_peek(s, id)->pend;

	return h >= 0 && (size_t)h < s->npend && s->pend[h].series == id ? h : -1;
}

/* Whether the slot of tier holds a block. */
static inline bool st_open_has(int tier, const union st_open *o)
{
	return st_frozen(tier) ? o->frozen != NULL : o->live != NULL;
}

/* Whether series se holds a point in some tier (a carry record is written for it). */
static inline bool st_has_times(const struct st_series *se)
{
	for (int k = 0; k < XS_NTIERS; k++)
		if (se->tier_last[k] != ST_NONE)
			return true;
	return false;
}

/* store_io.c */
enum xs_err st_errno(char *err, const char *what, const struct xs_store *s, const char *file);
enum xs_err st_write_all(int fd, const void *p, size_t n, uint64_t off);
enum xs_err st_read_file(int dirfd, const char *name, uint8_t **out, size_t *len);
void st_frame(struct st_bytes *b, const uint8_t *payload, size_t len);
bool st_unframe(const uint8_t *buf, size_t len, size_t *pos, struct st_cur *rec);
bool st_pread_all(int fd, void *buf, size_t n, uint64_t off);
void st_io_begin(struct xs_store *s);
void st_yield_at(struct xs_store *s, uint32_t id);
void st_io_end(struct xs_store *s);
void st_bytes_written(struct st_bytes *b);
int st_fsync_parent(const char *path);

/* store_catalog.c */
void st_hash_grow(struct xs_store *s);
void st_obj_grow(struct xs_store *s);
enum xs_err st_cat_load(struct xs_store *s, char *err);

/* store_write.c */
struct st_active *st_act(struct xs_store *s, uint32_t id);
struct st_sealed *st_sealed_of(const struct xs_block *b, struct st_sealed *reuse);
void st_open_seal(struct xs_store *s, uint32_t id, int tier, union st_open *slot);
void st_acc_emit(struct xs_store *s, uint32_t id, int k);
bool st_append_core(struct xs_store *s, uint32_t id, int64_t t, float v);
void st_series_drop_blocks(struct xs_store *s, struct st_active *a);
void st_act_release(struct xs_store *s, uint32_t id);
bool st_act_idle(const struct xs_store *s, uint32_t id);
enum xs_err st_backfill_core(struct xs_store *s, uint32_t id, int tier, int64_t t,
			     const float *v);

/* store_wal.c */
void st_carry_dormant(const struct xs_store *s, uint32_t id, struct st_bytes *out);
bool st_replay_dormant(struct xs_store *s, struct st_cur *c, bool saved);
void st_row_flush(struct xs_store *s);
void st_row_close(struct xs_store *s);
enum xs_err st_wal_write(struct xs_store *s, uint64_t gen, int *fdp, uint64_t *size,
			 char *err);
int st_wal_swap(struct xs_store *s, int fd, uint64_t size, uint64_t gen);
enum xs_err st_wal_load(struct xs_store *s, char *err);

/* store_segment.c */
void st_seg_name(char *buf, size_t n, int tier, int64_t no, const char *ext);
void st_run_free(struct st_run *r);
bool st_run_may_hold(const struct st_run *r, uint32_t id);
void st_seg_free(struct st_seg *g);
size_t st_dir_chunks(size_t n);
uint64_t st_idx_parse(int fd, uint64_t len, uint64_t max_gen, struct st_seg *g,
		      bool *read_error, uint64_t *damaged);
int st_seg_load(struct xs_store *s, struct st_seg *g);
struct st_seg *st_seg_get(struct xs_store *s, int tier, int64_t no);
int st_seg_fd(struct xs_store *s, struct st_seg *g, bool create);
uint32_t st_block_crc(uint32_t series, int tier, int64_t t0, const uint8_t *h, size_t len);
const struct st_ent *st_chunk_get(struct xs_store *s, const struct st_seg *g,
				  const struct st_run *run, size_t k, size_t *n);
void st_chunks_forget(struct xs_store *s, const struct st_seg *g);
void st_seg_range(struct xs_store *s, int tier, int64_t no);
void st_seg_scan(struct xs_store *s);
bool st_seg_parse(const char *name, int *tier, int64_t *no);

/* store_dormant.c */
enum xs_err st_dormant_load(struct xs_store *s, char *err);
enum xs_err st_dormant_append(struct xs_store *s, uint64_t *live, char *err);
void st_dormant_compact(struct xs_store *s, uint64_t live);

/* store_checkpoint.c */
enum xs_err st_ckpt_recover(struct xs_store *s, char *err);
uint64_t st_retire(struct xs_store *s);
enum xs_err st_checkpoint(struct xs_store *s, char *err);

#endif
