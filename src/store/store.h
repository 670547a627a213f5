/*
 * store.h - xapistat's own history: an embedded, crash-safe, compressed
 * time-series store on local disk (issue 5; format in docs/STORE.md).
 *
 * A series is (object kind, uuid, data source) with its unit. Samples arrive
 * every 5 s (host time, multiples of 5) as float32, NaN for unknown. Four
 * tiers: 5 s raw, and 1 min / 1 h / 1 d rollups keeping avg, min and max
 * (rolled up from the 5 s samples as periods complete, or backfilled from a
 * host's own coarse archives where the store has nothing). Retention per
 * tier removes whole segments, so disk use is bounded by retention.
 *
 * Durability: appends go to a write-ahead log synced by xs_store_sync()
 * (the daemon calls it every second or so); `kill -9` loses at most what was
 * appended since the last sync, never corrupts: every block and log record
 * carries a checksum, and a torn tail is detected and dropped on open.
 *
 * Single-threaded: one owner calls everything (the daemon's event loop).
 * Memory: per series a small state (open blocks of each tier); no sample
 * history is held in memory beyond the open blocks.
 */
#ifndef XS_STORE_STORE_H
#define XS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum xs_tier { XS_TIER_5S, XS_TIER_1M, XS_TIER_1H, XS_TIER_1D, XS_NTIERS };

/* Seconds per point of each tier: 5, 60, 3600, 86400. */
extern const int64_t xs_tier_step[XS_NTIERS];
/* Default retention of each tier in seconds: 2 days, 60 days, 2 years, 10 years. */
extern const int64_t xs_tier_default_retention[XS_NTIERS];

enum xs_obj_kind { XS_OBJ_HOST, XS_OBJ_VM, XS_OBJ_SR, XS_NOBJ_KINDS };

#define XS_STORE_MAX_DS 256   /* bytes of a data-source name */
#define XS_STORE_MAX_UNIT 32  /* bytes of a unit */

typedef uint32_t xs_series_id;

struct xs_store_options {
	const char *dir;                     /* created if missing */
	int64_t retention[XS_NTIERS];        /* seconds; 0 = the default */
	uint64_t wal_max;                    /* log bytes between checkpoints; 0 = 256 MiB */
	uint64_t backlog_max;                /* xs_store_backlogged's bound; 0 = XS_STORE_BACKLOG_MAX */
	/*
	 * Optional, for an owner that lets another thread read: io_begin(io_arg)
	 * and io_end(io_arg) bracket the store's long file writes and syncs (the
	 * once-a-second sync of the log, the bulk of a checkpoint), during which
	 * the store changes nothing the read functions use. Between the two, one
	 * other thread may call xs_store_read, _read_partial, _find, _latest,
	 * _last, _each_of, _each and _stats; at any other time the owner must
	 * keep readers out (e.g. by a lock released in io_begin, taken back in
	 * io_end). Called from xs_store_sync, _close and _open too.
	 *
	 * yield(io_arg), optional too: called every XS_STORE_YIELD_EVERY series
	 * of the passes over every series that a checkpoint makes outside
	 * io_begin/io_end (retiring the series that stopped, sealing backfill
	 * blocks: tens of ms at 600k series), at a point where the store is as
	 * consistent as between two appends. The owner may let the readers above
	 * run there and take the lock back before returning (e.g.
	 * xs_api_thread_yield), so a reader waits for a slice of the pass, not
	 * all of it.
	 */
	void (*io_begin)(void *io_arg);
	void (*io_end)(void *io_arg);
	void (*yield)(void *io_arg);
	void *io_arg;
};

#define XS_STORE_YIELD_EVERY 4096 /* series between two calls of xs_store_options.yield */

struct xs_point {
	int64_t t;            /* start of the point's period (5 s: the sample time) */
	float avg, min, max;  /* 5 s tier: all three equal the sample */
};

struct xs_store_stats {
	uint64_t series;
	uint64_t samples;        /* 5 s samples accepted since open */
	uint64_t duplicates;     /* appends ignored: at or before the series' last time */
	uint64_t bytes_on_disk;  /* data segments, index and log */
	uint64_t log_bytes;      /* of which the write-ahead log */
	uint64_t index_reads;    /* 2 KiB index chunks read from disk by xs_store_read since open */
	uint64_t index_cached;   /* ... and found already decoded in its read cache instead */
	uint64_t damaged_blocks; /* blocks reads dropped since open: their checksum, tier or channel
				  * count wrong (damage on disk), or not readable (.seg cut short,
				  * removed, a read error); their points read as missing. Also
				  * one for each damaged stretch of an index skipped when it is
				  * loaded (docs/STORE.md): the blocks of its runs are lost */
	uint64_t unread_blocks;  /* blocks reads skipped since open because the .seg could not be
				  * opened for want of a descriptor or memory (EMFILE, ENFILE,
				  * ENOMEM): not damage, the next read tries again; their points
				  * read as missing that time */
	uint64_t wal_dropped_bytes; /* bytes at the end of the wal that did not replay at open (a
				     * torn tail, or damage): copied to DIR/wal.dropped, then cut */
	int wal_dropped_errno;      /* 0, or why that copy failed (a full disk): the bytes are
				     * lost, wal.dropped holds part of them or none */
	uint64_t retired;        /* series retired since open: stopped (no sample for an hour of the
				  * daemon's clock, a day behind the newest data), their rollups
				  * in progress emitted and open blocks written out */
	uint64_t dormant;        /* series holding no in-memory state but their names and times:
				  * never written since open, retired with every rollup emitted and
				  * every block written, or backfilled only and written
				  * (docs/STORE.md, Dormant series) */
	uint64_t dormant_bytes;  /* of bytes_on_disk, the dormant file: their times, a record each */
	uint64_t dormant_damaged; /* its records found damaged at open (skipped: those series open
				   * without their times) */
	uint64_t dormant_compactions; /* rewrites of it without its stale records, since open */
	uint64_t dormant_compact_failures; /* ... that failed (the old file kept, as valid) */
	uint64_t dormant_lost;   /* 1: the dormant file was missing beside a wal that has one (the
				  * series dormant since their last checkpoint lost their times) */
	uint64_t lost_series;    /* series whose catalog record was found damaged at open: kept as
				  * placeholders "lost-series-ID" (kind VM, ds "lost") so that no id
				  * is reused; their data is no longer reachable by name */
};

struct xs_store;

/* Opens (or creates) the store in o->dir, replaying its log. err names the file and problem. */
enum xs_err xs_store_open(const struct xs_store_options *o, struct xs_store **out, char *err);
/* Seals and syncs everything, frees; *s = NULL. Accepts NULL. */
enum xs_err xs_store_close(struct xs_store **s, char *err);

/* The id of (kind, uuid, ds), created if new; the unit is recorded (and updated if it changed). */
enum xs_err xs_store_series(struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
			    const char *ds, const char *unit, xs_series_id *id, char *err);
/* The id of an existing series; false if unknown. */
bool xs_store_find(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
		   const char *ds, xs_series_id *id);

/*
 * Appends the 5 s sample at t (a multiple of 5). A sample at or before the
 * series' last 5 s time is ignored (counted in duplicates): overlapping
 * fetches, a VM's migration between hosts and backfill never duplicate.
 * Rollup points are written as their periods complete.
 */
enum xs_err xs_store_append(struct xs_store *s, xs_series_id id, int64_t t, float v, char *err);

/* A point of a coarse tier (1 min, 1 h, 1 d) from a host archive, for a period the store has
 * nothing at that tier (older than its first point of the tier, or inside a hole); ignored otherwise.
 * An accepted point also joins the coarser rollups in progress that contain it (docs/STORE.md,
 * Cascade), so the first hour and day after a gap count the whole period. */
enum xs_err xs_store_backfill(struct xs_store *s, xs_series_id id, enum xs_tier tier, int64_t t,
			      float avg, float min, float max, char *err);

/* Time of the last point of a tier (0 if none). */
int64_t xs_store_last(const struct xs_store *s, xs_series_id id, enum xs_tier tier);
/* The newest 5 s sample; false if none. */
bool xs_store_latest(const struct xs_store *s, xs_series_id id, int64_t *t, float *v);

/* Points of tier with from <= t <= to, ascending, written to out (at most cap); returns how
 * many there are (more than cap: call again with a larger buffer). */
size_t xs_store_read(struct xs_store *s, xs_series_id id, enum xs_tier tier, int64_t from,
		     int64_t to, struct xs_point *out, size_t cap);

/*
 * The rollup period in progress of tier (1 min, 1 h, 1 d): the avg, min and max
 * of the 5 s samples appended so far in it and of the finer points backfilled
 * into it (docs/STORE.md, Cascade), t = the period's start. xs_store_read
 * never returns it (its points are complete periods only). False for the 5 s tier,
 * when the series has no period in progress, or when a point of the tier already
 * holds that period (backfilled). All three values are NaN when every sample so far
 * is NaN.
 */
bool xs_store_read_partial(const struct xs_store *s, xs_series_id id, enum xs_tier tier,
			   struct xs_point *out);

/* Makes every append so far durable (write-ahead log fsync). */
enum xs_err xs_store_sync(struct xs_store *s, char *err);
/* The checkpoints that failed in a row (a full disk, an unreadable index; 0 after one that
 * succeeds): a sync that returns XS_OK may still not have tried the checkpoint it owes
 * (tried again after a back-off), so its success does not end such a failure. */
unsigned xs_store_checkpoint_failures(const struct xs_store *s);
/*
 * What the store holds in memory that is not on disk yet: rows and catalog
 * records not yet written (their syncs fail: a full or read-only disk) and
 * sealed blocks not yet checkpointed (checkpoints fail). It grows without bound
 * while the disk refuses writes (about 0.8 MB/s at 658k series), so the
 * collector stops fetching while xs_store_backlogged() (past backlog_max) and
 * backfills the gap from the hosts once the disk takes the backlog. Normal
 * operation stays far below: a sync each second, a checkpoint past 48 MiB.
 */
#define XS_STORE_BACKLOG_MAX (UINT64_C(256) << 20)
uint64_t xs_store_backlog(const struct xs_store *s);
bool xs_store_backlogged(const struct xs_store *s);
/* Removes what retention no longer keeps at time now (whole segments). now is taken
 * as at most a day past the newest data the store holds, so a clock far ahead of
 * the data (a wrong clock at boot) removes nothing the data's own times keep. */
enum xs_err xs_store_expire(struct xs_store *s, int64_t now, char *err);

/* Series of one object: calls cb(arg, id, ds, unit) for each, newest series first; the cost is
 * that of the object's own series (an index by object), not of the whole catalog. */
void xs_store_each_of(const struct xs_store *s, enum xs_obj_kind kind, const char *uuid,
		      void (*cb)(void *arg, xs_series_id id, const char *ds, const char *unit),
		      void *arg);
/* Every series: cb(arg, id, kind, uuid, ds, unit). */
void xs_store_each(const struct xs_store *s,
		   void (*cb)(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
			      const char *ds, const char *unit),
		   void *arg);

void xs_store_stats(const struct xs_store *s, struct xs_store_stats *st);

#endif
