/*
 * tests/unit/store/dormant.c - dormant series (docs/STORE.md, Dormant series): a
 * series whose write state holds nothing at a checkpoint (retired, its blocks and
 * day written; or backfilled only) gives it back to the store's pool and carries a
 * short 'D' record in the wal:
 *   - not before its day is written (nor at the retry of a failed checkpoint that
 *     writes it), and a new series reuses the released state;
 *   - the 'D' record round-trips every time value and refuses damage;
 *   - after a reopen it is still dormant with the same times and value, rejects a
 *     point at or before its last one, takes a later one (woken), and reads every
 *     point back; backfill does not overwrite what it holds and fills what it lacks;
 *   - kill -9 (a copy of the directory) after 'D' records, with rows and backfills
 *     reaching dormant series, replays to the same state and points;
 *   - an "XSW1" wal (before 'D' records) still opens; an "XSW2" one whose header
 *     (generation, checksum) is damaged refuses the open and is left as it was;
 *   - the dormant file: a series' record is written once, not at every checkpoint,
 *     and again only when it wakes and sleeps; stale records are compacted away;
 *     a damaged record loses that series' times only (the last one too, not taken
 *     for a torn tail, which is cut), a series woken since the last checkpoint
 *     replays from the wal alone, a missing file is reported; an "XSW2" wal's
 *     'D' records (a store of before the file) move to it.
 * The store is included whole (store_whole.h) for its process clock
 * (ST_NOW_MINUTES, set here) and to look at a series' state.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint16_t test_minutes = 1000; /* the store's clock, in minutes */
#define ST_NOW_MINUTES() test_minutes
#define ST_DORMANT_SLACK 4 /* the dormant file is compacted within these tests' few records */
#include "store/store_whole.h"

#include "support/tmp_dir.h"
#include "test.h"

#define T0 1700006400 /* a UTC midnight */

static char test_dir[TMP_DIR_LEN];

#include "clock_store.h"

#define DORMANT_N 40 /* stopped series */

/* Counts the carry records of file name (the wal, or the dormant file): 'D' ones (and the
 * largest), 'C' ones. */
static void dormant_records(struct xs_store *s, const char *name, size_t *nd, size_t *dmax, size_t *nc)
{
	uint8_t *buf = NULL;
	size_t len = 0, pos = ST_FILE_HDR;
	struct st_cur rec;
	bool wal = !strcmp(name, "wal");

	*nd = *dmax = *nc = 0;
	fail_unless(st_read_file(s->dirfd, name, &buf, &len) == XS_OK && len >= ST_FILE_HDR, "read %s", name);
	ok(st_le32(buf) == (wal ? ST_MAGIC_WAL : ST_MAGIC_DORMANT), "%s: an %s one", name,
	   wal ? "XSW3" : "XSD1");
	while (st_unframe(buf, len, &pos, &rec)) {
		if (rec.p[0] == 'D') {
			(*nd)++;
			*dmax = rec.len > *dmax ? rec.len : *dmax;
		}
		*nc += rec.p[0] == 'C';
	}
	free(buf);
}

/* Series i's value at t: a ramp, so that a lost or misplaced point shows. */
static float dormant_value(size_t i, int64_t t)
{
	return (float)i + (float)((t - T0) / 5) / 1024.0f;
}

/* Whether stopped series ids[i] still reads its hour of 5 s points, minutes, hour and day. */
static bool dormant_reads(struct xs_store *s, const xs_series_id *ids, size_t i)
{
	static struct xs_point pt[800];
	size_t n = xs_store_read(s, ids[i], XS_TIER_5S, T0, T0 + 3600, pt, 800), bad = 0;

	for (size_t j = 0; j < n; j++)
		bad += pt[j].t != T0 + 5 * (int64_t)(j + 1) || pt[j].avg != dormant_value(i, pt[j].t);
	return n == 720 && !bad && xs_store_read(s, ids[i], XS_TIER_1M, T0, T0 + 3600, pt, 800) == 60 &&
	       xs_store_read(s, ids[i], XS_TIER_1H, T0, T0 + 3600, pt, 800) == 1 &&
	       xs_store_read(s, ids[i], XS_TIER_1D, T0, T0 + 3600, pt, 800) == 1;
}

/*
 * Series that stopped a day ago go dormant once retired with every rollup emitted
 * and every block written: they give their st_active back to the pool (a new series
 * reuses it), their carry record is a short 'D' one, and after a reopen they still
 * reject a point at or before their last one, take a later one, keep what backfill
 * must not overwrite, and read every point back.
 */
static void test_dormant(void)
{
	struct xs_store *s;
	xs_series_id ids[DORMANT_N], live, fresh;
	int64_t lt = T0 + 2 * 86400, tl[XS_NTIERS];
	size_t nd, dmax, nc, dormant = 0, reads = 0;
	uint32_t used;
	struct xs_store_stats st;
	struct xs_point p;
	char err[XS_ERR_LEN] = "", name[16];

	tmp_dir_new(test_dir, "dormant");
	test_minutes = 1000;
	s = r_open(test_dir);
	for (size_t i = 0; i < DORMANT_N; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		ids[i] = r_series(s, name);
		for (int64_t t = T0 + 5; t <= T0 + 3600; t += 5)
			r_append(s, ids[i], t, dormant_value(i, t));
	}
	live = r_series(s, "live");
	r_append(s, live, lt, 1.0f);
	r_sync(s);
	r_tick(s, 1061, live, &lt); /* retired: blocks sealed, minute and hour emitted */
	ok(s->ser[ids[0]].act != ST_DORMANT, "retired, its day still in progress: not dormant");
	r_tick(s, 1061 + 1440, live, &lt); /* the day emitted and written */
	ok(s->ser[ids[0]].act != ST_DORMANT, "its day written at this checkpoint: not dormant yet");
	r_tick(s, 1061 + 1441, live, &lt);
	for (size_t i = 0; i < DORMANT_N; i++)
		dormant += s->ser[ids[i]].act == ST_DORMANT;
	ok(dormant == DORMANT_N && s->act_live == 1, "every stopped series is dormant (%zu), the live one not (%u held)",
	   dormant, s->act_live);
	dormant_records(s, "wal", &nd, &dmax, &nc);
	ok(nd == 0 && nc == 1, "the wal carries no 'D' record (%zu), one 'C' (%zu)", nd, nc);
	dormant_records(s, "dormant", &nd, &dmax, &nc);
	ok(nd == DORMANT_N && dmax <= 24 && nc == 0,
	   "the dormant file holds %zu 'D' records of at most %zu bytes (24 with the frame: 32)", nd, dmax);
	for (size_t i = 0; i < DORMANT_N; i++)
		reads += dormant_reads(s, ids, i);
	ok(reads == DORMANT_N, "dormant: %zu of %d series read every point back", reads, DORMANT_N);
	used = s->act_used;
	fresh = r_series(s, "fresh");
	r_append(s, fresh, lt + 5, 2.0f);
	ok(s->act_used == used && s->ser[fresh].act != ST_DORMANT,
	   "a new series takes a released st_active (pool %u, was %u)", s->act_used, used);
	memcpy(tl, s->ser[ids[1]].tier_last, sizeof(tl));

	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	s = r_open(test_dir);
	fail_unless(s != NULL, "reopen");
	dormant = reads = 0;
	for (size_t i = 0; i < DORMANT_N; i++) {
		dormant += s->ser[ids[i]].act == ST_DORMANT;
		reads += dormant_reads(s, ids, i);
	}
	ok(dormant == DORMANT_N && reads == DORMANT_N, "reopened: %zu dormant, %zu read every point back", dormant,
	   reads);
	ok(!memcmp(tl, s->ser[ids[1]].tier_last, sizeof(tl)) && s->ser[ids[1]].last_t == T0 + 3600 &&
		   s->ser[ids[1]].last_v == dormant_value(1, T0 + 3600),
	   "reopened: its last times and value are the ones before");

	/* backfill: a period it holds is not overwritten, an empty one is taken */
	ok(xs_store_backfill(s, ids[2], XS_TIER_1M, T0 + 60, 9.0f, 9.0f, 9.0f, err) == XS_OK &&
		   xs_store_backfill(s, ids[2], XS_TIER_1M, T0 - 60, 7.0f, 7.0f, 7.0f, err) == XS_OK,
	   "backfill: %s", err);
	ok(xs_store_read(s, ids[2], XS_TIER_1M, T0 + 60, T0 + 60, &p, 1) == 1 && p.avg != 9.0f,
	   "a dormant series' minute is not overwritten by backfill (%g)", p.avg);
	ok(xs_store_read(s, ids[2], XS_TIER_1M, T0 - 60, T0 - 60, &p, 1) == 1 && p.avg == 7.0f,
	   "an empty minute before it is backfilled (%g)", p.avg);

	xs_store_stats(s, &st);
	r_append(s, ids[3], T0 + 3600, 5.0f);
	ok(s->st.duplicates == st.duplicates + 1 && s->ser[ids[3]].act == ST_DORMANT,
	   "a point at its last time is a duplicate, and wakes nothing");
	r_append(s, ids[3], lt + 5, 5.0f);
	ok(s->ser[ids[3]].act != ST_DORMANT && xs_store_read(s, ids[3], XS_TIER_5S, lt, lt + 5, &p, 1) == 1 &&
		   p.avg == 5.0f,
	   "a later point wakes it and reads back");
	ok(dormant_reads(s, ids, 3), "woken, it still reads its old points");
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

/* A wal written before 'D' records ("XSW1", 'C' records only) still opens. */
static void test_wal_v1(void)
{
	struct xs_store *s;
	xs_series_id id;
	char err[XS_ERR_LEN] = "";
	struct xs_point pt[10];
	int fd;

	tmp_dir_new(test_dir, "walv1");
	s = r_open(test_dir);
	id = r_series(s, "a");
	for (int64_t t = T0 + 5; t <= T0 + 50; t += 5)
		r_append(s, id, t, (float)t);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	fd = openat(AT_FDCWD, test_dir, O_RDONLY | O_DIRECTORY);
	fail_unless(fd >= 0, "open %s", test_dir);
	{
		uint8_t magic[4];
		int wfd = openat(fd, "wal", O_RDWR);

		fail_unless(wfd >= 0 && pread(wfd, magic, 4, 0) == 4 && st_le32(magic) == ST_MAGIC_WAL, "wal");
		st_w32(magic, ST_MAGIC_WAL1);
		fail_unless(pwrite(wfd, magic, 4, 0) == 4, "patch the wal");
		close(wfd);
	}
	close(fd);
	s = r_open(test_dir);
	ok(s && xs_store_read(s, id, XS_TIER_5S, T0, T0 + 50, pt, 10) == 10 && pt[9].avg == (float)(T0 + 50),
	   "an XSW1 wal replays");
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	tmp_dir_remove(test_dir);
}

/* Flips bit `bit` of byte `at` of DIR/wal. */
static void wal_flip(size_t at, unsigned bit)
{
	char path[TMP_DIR_LEN + 8];
	uint8_t x;
	int fd;

	snprintf(path, sizeof(path), "%s/wal", test_dir);
	fd = open(path, O_RDWR);
	fail_unless(fd >= 0 && pread(fd, &x, 1, (off_t)at) == 1, "read %s", path);
	x ^= (uint8_t)(1u << bit);
	fail_unless(pwrite(fd, &x, 1, (off_t)at) == 1, "write %s", path);
	close(fd);
}

/* The wal header's generation decides which index runs are committed: a damaged header
 * (generation or checksum) refuses the open and leaves the file as it was; moved away,
 * the store opens from its segments. */
static void test_wal_header(void)
{
	struct xs_store_options o = { .dir = NULL };
	struct xs_store *s;
	xs_series_id id;
	char err[XS_ERR_LEN] = "", path[TMP_DIR_LEN + 8], moved[TMP_DIR_LEN + 16];
	static struct xs_point pt[200];
	uint8_t *before = NULL, *after = NULL;
	size_t nb = 0, na = 0, n, bad = 0;
	int dfd;

	tmp_dir_new(test_dir, "walhdr");
	o.dir = test_dir;
	s = r_open(test_dir);
	id = r_series(s, "a");
	for (int64_t t = T0 + 5; t <= T0 + 650; t += 5) /* the first 10-minute block is sealed */
		r_append(s, id, t, (float)(t - T0));
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	dfd = open(test_dir, O_RDONLY | O_DIRECTORY);
	fail_unless(dfd >= 0 && st_read_file(dfd, "wal", &before, &nb) == XS_OK, "read the wal");
	for (int k = 0; k < 2; k++) {
		size_t at = k ? 4 : 8; /* the checksum, the generation */

		wal_flip(at, 3);
		err[0] = 0;
		s = NULL;
		ok(xs_store_open(&o, &s, err) == XS_ERR_PARSE && !s && strstr(err, "/wal: header damaged"),
		   "a bit flipped in the wal header's %s refuses the open: %s", k ? "checksum" : "generation", err);
		if (s) /* opened all the same: closed, so that the next open is not refused by its lock */
			xs_store_close(&s, NULL);
		fail_unless(st_read_file(dfd, "wal", &after, &na) == XS_OK, "read the wal");
		before[at] ^= 1u << 3;
		ok(na == nb && !memcmp(after, before, nb), "... and leaves the wal as it was");
		before[at] ^= 1u << 3;
		free(after);
		wal_flip(at, 3);
	}
	s = r_open(test_dir);
	ok(s && xs_store_read(s, id, XS_TIER_5S, T0, T0 + 650, pt, 200) == 130, "repaired: every point");
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	snprintf(moved, sizeof(moved), "%s/wal.bad", test_dir);
	fail_unless(rename(path, moved) == 0, "move the wal away");
	s = r_open(test_dir);
	n = s ? xs_store_read(s, id, XS_TIER_5S, T0, T0 + 650, pt, 200) : 0;
	for (size_t i = 0; i < n; i++)
		bad += pt[i].t != T0 + 5 * (int64_t)(i + 1) || pt[i].avg != (float)(pt[i].t - T0);
	ok(n >= 119 && !bad, "the wal moved away: the sealed block's points read back (%zu, %zu wrong)", n, bad);
	ok(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	free(before);
	close(dfd);
	tmp_dir_remove(test_dir);
}

/* The 'D' record round-trips every int64 value, ST_NONE included; a number past 64 bits
 * is refused. */
static void test_codec(void)
{
	static const int64_t v[] = { ST_NONE, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 0, -1, 1, T0, -T0,
				     (int64_t)1 << 62, -((int64_t)1 << 62), 63, 64, -64, -65 };
	size_t nv = sizeof(v) / sizeof(v[0]), bad = 0, n = 0;
	struct xs_store *s;
	xs_series_id id;

	tmp_dir_new(test_dir, "drv-codec");
	s = r_open(test_dir);
	id = r_series(s, "a");
	for (size_t i = 0; i < nv; i++)
		for (size_t j = 0; j < nv; j++)
			for (size_t k = 0; k < nv; k += 3) {
				struct st_bytes out = { 0 };
				struct st_cur c;
				int64_t tl[XS_NTIERS] = { v[j], v[k], ST_NONE, v[(j + k) % nv] };
				size_t pos = 0;

				s->ser[id].last_t = v[i];
				s->ser[id].last_v = (float)i;
				memcpy(s->ser[id].tier_last, tl, sizeof(tl));
				st_carry_dormant(s, id, &out);
				s->ser[id].last_t = 12345;
				for (int q = 0; q < XS_NTIERS; q++)
					s->ser[id].tier_last[q] = 777;
				if (!st_unframe(out.p, out.len, &pos, &c) || st_get_u8(&c) != 'D' ||
				    !st_replay_dormant(s, &c, false) || s->ser[id].last_t != v[i] ||
				    memcmp(s->ser[id].tier_last, tl, sizeof(tl)) || s->ser[id].last_v != (float)i)
					bad++;
				n++;
				free(out.p);
			}
	ok(bad == 0, "'D' round trip: %zu of %zu bad", bad, n);

	/* malformed: a 10-byte LEB128 whose last byte has bits above bit 63 */
	{
		uint8_t rec[64];
		size_t len = 0;
		struct st_cur c;
		bool accepted;

		rec[len++] = 'D';
		st_w32(rec + len, id); len += 4;
		st_w64(rec + len, (uint64_t)T0); len += 8;
		st_w32(rec + len, 0); len += 4;
		rec[len++] = 1; /* mask: tier 0 */
		for (int q = 0; q < 9; q++)
			rec[len++] = 0x80;
		rec[len++] = 0x7e; /* bits 64..69: do not fit */
		c = (struct st_cur){ rec + 1, len - 1, 0, false };
		accepted = st_replay_dormant(s, &c, false);
		ok(!accepted, "a varint overflowing 64 bits is rejected (accepted: %d, tier_last[0] %lld)", accepted,
		   (long long)s->ser[id].tier_last[0]);
	}
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* A new store in test_dir (named name) with the clock at minute 1000, series a (named an)
 * and live: the test's stopped and live series. */
static struct xs_store *r_two(const char *name, const char *an, xs_series_id *a, xs_series_id *live)
{
	struct xs_store *s;

	tmp_dir_new(test_dir, name);
	test_minutes = 1000;
	s = r_open(test_dir);
	if (!s)
		abort(); /* r_open reported it; nothing below could run */
	*a = r_series(s, an);
	*live = r_series(s, "live");
	return s;
}

/* A series that only ever got backfill (no 5 s sample: never retired) goes dormant. */
static void test_backfill_only(void)
{
	struct xs_store *s;
	xs_series_id a, live;
	int64_t lt = T0 + 3 * 86400;
	char err[XS_ERR_LEN] = "";

	s = r_two("drv-bfonly", "bf-only", &a, &live);
	r_append(s, live, lt, 1.0f);
	for (int64_t t = T0; t < T0 + 3600; t += 60)
		ok(xs_store_backfill(s, a, XS_TIER_1M, t, 1, 1, 1, err) == XS_OK, "bf %s", err);
	r_sync(s);
	for (unsigned m = 1061; m < 1061 + 3 * 1441; m += 720)
		r_tick(s, m, live, &lt);
	ok(s->ser[a].act == ST_DORMANT, "a backfill-only series, stopped 3 days, is dormant (act %u, live %u)",
	   s->ser[a].act, s->act_live);
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* A backfill point that a dormant series already holds (nothing stored) wakes it until
 * the next checkpoint only, after a reopen too (its process clock then starts again). */
static void test_skip_wakes(void)
{
	struct xs_store *s;
	xs_series_id a, live;
	int64_t lt = T0 + 2 * 86400;
	char err[XS_ERR_LEN] = "";
	uint32_t live0;

	s = r_two("drv-skip", "a", &a, &live);
	for (int64_t t = T0 + 5; t <= T0 + 3600; t += 5)
		r_append(s, a, t, 1.0f);
	r_append(s, live, lt, 1.0f);
	r_sync(s);
	r_tick(s, 1061, live, &lt);
	r_tick(s, 1061 + 1440, live, &lt);
	r_tick(s, 1061 + 1441, live, &lt);
	ok(s->ser[a].act == ST_DORMANT, "dormant");
	live0 = s->act_live;
	ok(xs_store_backfill(s, a, XS_TIER_1M, T0 + 600, 9, 9, 9, err) == XS_OK, "bf: %s", err);
	ok(s->act_live == live0 + 1, "a backfill point it already holds wakes it (act_live %u, was %u)",
	   s->act_live, live0);
	r_tick(s, 1061 + 1442, live, &lt);
	ok(s->ser[a].act == ST_DORMANT, "released again at the next checkpoint (act %u)", s->ser[a].act);
	xs_store_close(&s, NULL);
	test_minutes = 5000;
	s = r_open(test_dir);
	ok(s->ser[a].act == ST_DORMANT, "reopened: dormant");
	ok(xs_store_backfill(s, a, XS_TIER_1M, T0 + 600, 9, 9, 9, err) == XS_OK, "bf: %s", err);
	r_tick(s, 5001, live, &lt);
	ok(s->ser[a].act == ST_DORMANT, "after a reopen, a skipped backfill point: dormant at the next checkpoint (act %u)", s->ser[a].act);
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}


/* A series' whole state, dormant or not, as bytes (a rollup's sum, min, max only when it counts). */
static void r_state(struct xs_store *s, xs_series_id id, struct st_bytes *r)
{
	const struct st_series *se = &s->ser[id];
	const struct st_active *a = st_peek(s, id);

	st_put_u64(r, (uint64_t)se->last_t);
	st_put_u32(r, st_fbits(se->last_v));
	for (int k = 0; k < XS_NTIERS; k++) {
		st_put_u64(r, (uint64_t)se->tier_last[k]);
		if (k) {
			const struct st_acc *c = ST_ACC(a, k);
			uint64_t u;

			st_put_u64(r, (uint64_t)c->period);
			memcpy(&u, &c->sum, 8);
			st_put_u64(r, c->count ? u : 0);
			st_put_u32(r, c->count);
			st_put_u32(r, c->count ? st_fbits(c->min) : 0);
			st_put_u32(r, c->count ? st_fbits(c->max) : 0);
		}
		st_put_block(r, k, &a->open[k]);
		st_put_block(r, k, &a->bf[k]);
	}
}

static size_t r_points(struct xs_store *s, xs_series_id id, struct st_bytes *r)
{
	static struct xs_point pt[4000];
	size_t tot = 0;

	for (int k = 0; k < XS_NTIERS; k++) {
		size_t n = xs_store_read(s, id, (enum xs_tier)k, T0 - 10 * 86400, T0 + 10 * 86400, pt, 4000);

		st_put(r, pt, n * sizeof(*pt));
		tot += n;
	}
	return tot;
}

/* Flips a bit of the last_t of series id's last record in DIR/dormant; false if it has none. */
static bool r_damage_record(const char *dir, xs_series_id id)
{
	char path[TMP_DIR_LEN + 16];
	uint8_t *buf = NULL;
	size_t len = 0, pos = ST_FILE_HDR, at = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY), fd;

	if (dfd < 0 || st_read_file(dfd, "dormant", &buf, &len) != XS_OK) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	close(dfd);
	/* by the frames' lengths, not their CRCs: a record damaged before still counts */
	while (pos + 8 <= len && st_le32(buf + pos) >= 5 && st_le32(buf + pos) <= len - pos - 8) {
		if (buf[pos + 8] == 'D' && st_le32(buf + pos + 9) == id)
			at = pos + 8 + 6;
		pos += 8 + st_le32(buf + pos);
	}
	snprintf(path, sizeof(path), "%s/dormant", dir);
	fd = at ? open(path, O_WRONLY) : -1;
	if (fd >= 0) {
		buf[at] ^= 0x10;
		if (pwrite(fd, buf + at, 1, (off_t)at) != 1)
			at = 0;
		close(fd);
	}
	free(buf);
	return at != 0;
}

/* kill -9 now (a copy of test_dir), the dormant file's records of dmg[0..ndmg) then
 * damaged: the copy opens to the same state and points of every series, and counts the
 * damage. */
static void r_compare_damaged(struct xs_store *s, size_t nser, const char *what, const xs_series_id *dmg,
			      size_t ndmg)
{
	char copy[TMP_DIR_LEN + 8], cmd[3 * TMP_DIR_LEN + 64];
	struct xs_store *c;
	struct xs_store_stats st;
	size_t bad_state = 0, bad_pts = 0;

	snprintf(copy, sizeof(copy), "%s-copy", test_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'; cp -a '%s' '%s'", copy, test_dir, copy);
	fail_unless(system(cmd) == 0, "copy");
	for (size_t i = 0; i < ndmg; i++)
		fail_unless(r_damage_record(copy, dmg[i]), "damage series %u's record", dmg[i]);
	c = r_open(copy);
	fail_unless(c != NULL, "open the copy");
	xs_store_stats(c, &st);
	ok(st.dormant_damaged == ndmg, "%s: %llu damaged records counted, %zu made", what,
	   (unsigned long long)st.dormant_damaged, ndmg);
	for (xs_series_id id = 0; id < nser; id++) {
		struct st_bytes a = { 0 }, b = { 0 };

		r_state(s, id, &a);
		r_state(c, id, &b);
		if (a.len != b.len || memcmp(a.p, b.p, a.len)) {
			bad_state++;
			fprintf(stderr, "# %s: series %u state differs (act %u / %u)\n", what, id, s->ser[id].act, c->ser[id].act);
		}
		a.len = b.len = 0;
		r_points(s, id, &a);
		r_points(c, id, &b);
		if (a.len != b.len || memcmp(a.p, b.p, a.len)) {
			bad_pts++;
			fprintf(stderr, "# %s: series %u points differ (%zu / %zu bytes)\n", what, id, a.len, b.len);
		}
		free(a.p);
		free(b.p);
	}
	ok(!bad_state && !bad_pts, "%s: replay after kill -9 gives the same state (%zu bad) and points (%zu bad)",
	   what, bad_state, bad_pts);
	xs_store_close(&c, NULL);
	tmp_dir_remove(copy);
}

static void r_compare(struct xs_store *s, size_t nser, const char *what)
{
	r_compare_damaged(s, nser, what, NULL, 0);
}

#define EQ_N 6

/* In test_dir, a store with the clock at minute 1000, EQ_N series a[] with an hour of
 * samples from T0 and a live one two days later, then a checkpoint at minute 1061 that
 * retires a[] (sealed; their day still in progress). */
static struct xs_store *r_stopped_hour(xs_series_id *a, xs_series_id *live, int64_t *lt)
{
	struct xs_store *s;

	test_minutes = 1000;
	s = r_open(test_dir);
	if (!s)
		abort(); /* r_open reported it; nothing below could run */
	for (int i = 0; i < EQ_N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "a%d", i);
		a[i] = r_series(s, name);
		for (int64_t t = T0 + 5; t <= T0 + 3600; t += 5)
			r_append(s, a[i], t, (float)i + (float)(t % 37));
	}
	*live = r_series(s, "live");
	r_append(s, *live, *lt, 1.0f);
	r_sync(s);
	r_tick(s, 1061, *live, lt);
	return s;
}

/* kill -9 after a checkpoint that wrote 'D' records (fail: the release checkpoint
 * fails), then rows and backfills reaching dormant series: the replay gives the
 * same state and points. */
static void eq_run(bool fail)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	char err[XS_ERR_LEN] = "", path[TMP_DIR_LEN + 16];

	tmp_dir_new(test_dir, "drv-eq");
	s = r_stopped_hour(a, &live, &lt);
	r_tick(s, 1061 + 1440, live, &lt);
	snprintf(path, sizeof(path), "%s/wal.tmp", test_dir);
	if (fail)
		fail_unless(mkdir(path, 0755) == 0, "mkdir wal.tmp");
	test_minutes = 1061 + 1441;
	lt += 5;
	r_append(s, live, lt, 0.5f);
	ok((xs_store_sync(s, err) != XS_OK) == fail, "release checkpoint %s: %s", fail ? "fails" : "ok", err);
	if (fail)
		rmdir(path);
	ok(s->ser[a[0]].act == ST_DORMANT, "dormant");
	s->wal_max = UINT64_MAX; /* no checkpoint from now on: the wal keeps what follows */
	/* a0 resumes */
	for (int64_t t = lt - 600; t <= lt; t += 5)
		r_append(s, a[0], t, 3.25f + (float)(t % 11));
	/* a1: backfill a held minute (skipped), an empty one before (taken) */
	xs_store_backfill(s, a[1], XS_TIER_1M, T0 + 600, 9, 9, 9, err);
	xs_store_backfill(s, a[1], XS_TIER_1M, T0 - 600, 7, 6, 8, err);
	/* a2: backfill after its last hour */
	xs_store_backfill(s, a[2], XS_TIER_1H, T0 + 5 * 3600, 4, 3, 5, err);
	/* a3: backfill then samples */
	xs_store_backfill(s, a[3], XS_TIER_1D, T0 - 86400, 2, 1, 3, err);
	for (int64_t t = lt - 300; t <= lt; t += 5)
		r_append(s, a[3], t, 1.5f);
	lt += 5;
	r_append(s, live, lt, 0.5f);
	r_sync(s);
	{
		struct xs_point q;

		ok(xs_store_read(s, a[1], XS_TIER_1M, T0 - 600, T0 - 600, &q, 1) == 1 && q.avg == 7 &&
			   xs_store_read(s, a[1], XS_TIER_1M, T0 + 600, T0 + 600, &q, 1) == 1 && q.avg != 9 &&
			   xs_store_read(s, a[2], XS_TIER_1H, T0 + 5 * 3600, T0 + 5 * 3600, &q, 1) == 1 &&
			   xs_store_read(s, a[3], XS_TIER_1D, T0 - 86400, T0 - 86400, &q, 1) == 1,
		   "backfills taken / skipped");
	}
	r_compare(s, EQ_N + 1, fail ? "failed release checkpoint" : "release checkpoint");
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

static void test_equiv(void)
{
	eq_run(false);
	eq_run(true);
}


/* The checkpoint that writes the day fails: the series stays active with its day in
 * pend, is not released at the retry that writes it, is released after; then kill -9. */
static void test_day_ckpt_fails(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	char err[XS_ERR_LEN] = "", path[TMP_DIR_LEN + 16];
	struct xs_point q;
	size_t good = 0;

	tmp_dir_new(test_dir, "drv-dayf");
	s = r_stopped_hour(a, &live, &lt);
	snprintf(path, sizeof(path), "%s/wal.tmp", test_dir);
	fail_unless(mkdir(path, 0755) == 0, "mkdir wal.tmp");
	test_minutes = 1061 + 1440;
	lt += 5;
	r_append(s, live, lt, 0.5f);
	ok(xs_store_sync(s, err) != XS_OK, "the day's checkpoint fails: %s", err);
	rmdir(path);
	ok(s->ser[a[0]].act != ST_DORMANT && st_pend_head(s, a[0]) >= 0, "its day waits in pend");
	s->ckpt_next = 0;
	r_tick(s, 1061 + 1441, live, &lt); /* retry: writes the day */
	ok(s->ser[a[0]].act != ST_DORMANT, "not released at the retry");
	r_tick(s, 1061 + 1442, live, &lt);
	ok(s->ser[a[0]].act == ST_DORMANT, "released after");
	for (int i = 0; i < EQ_N; i++)
		good += xs_store_read(s, a[i], XS_TIER_1D, T0, T0, &q, 1) == 1;
	ok(good == EQ_N, "every day reads back (%zu)", good);
	s->wal_max = UINT64_MAX;
	for (int64_t t = lt - 600; t <= lt; t += 5)
		r_append(s, a[0], t, 3.25f + (float)(t % 11));
	r_sync(s);
	r_compare(s, EQ_N + 1, "day ckpt failed");
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* In test_dir, r_stopped_hour's series, dormant: their day written (two more checkpoints). */
static struct xs_store *r_dormant_six(xs_series_id *a, xs_series_id *live, int64_t *lt)
{
	struct xs_store *s = r_stopped_hour(a, live, lt);
	size_t dormant = 0;

	r_tick(s, 1061 + 1440, *live, lt);
	r_tick(s, 1061 + 1441, *live, lt);
	for (int i = 0; i < EQ_N; i++)
		dormant += s->ser[a[i]].act == ST_DORMANT;
	ok(dormant == EQ_N, "%zu of %d dormant", dormant, EQ_N);
	return s;
}

/*
 * A dormant series' record is written once: more checkpoints add nothing to the
 * dormant file and no 'D' record to the wal. Woken and asleep again (a backfill point
 * it holds), it adds one; when stale records pass twice the live ones and
 * ST_DORMANT_SLACK, a checkpoint rewrites the file with the live ones alone, and a
 * kill -9 then replays every series' state and points.
 */
static void test_file_once(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	uint64_t size0, records0;
	size_t nd, dmax, nc;
	unsigned m = 1061 + 1442;
	char err[XS_ERR_LEN] = "";
	struct stat sb;
	char path[TMP_DIR_LEN + 16];

	tmp_dir_new(test_dir, "drv-once");
	s = r_dormant_six(a, &live, &lt);
	size0 = s->dormant_size;
	records0 = s->dormant_records;
	ok(records0 == EQ_N, "one record a series (%llu)", (unsigned long long)records0);
	for (int k = 0; k < 5; k++)
		r_tick(s, m++, live, &lt);
	dormant_records(s, "wal", &nd, &dmax, &nc);
	ok(s->dormant_size == size0 && s->dormant_records == records0 && nd == 0,
	   "5 checkpoints later: the file as it was (%llu bytes, was %llu), no 'D' in the wal (%zu)",
	   (unsigned long long)s->dormant_size, (unsigned long long)size0, nd);
	for (int k = 0; k < 12; k++) {
		ok(xs_store_backfill(s, a[k % 2], XS_TIER_1M, T0 + 600, 9, 9, 9, err) == XS_OK, "bf: %s", err);
		r_tick(s, m++, live, &lt);
		if (k == 0)
			ok(s->dormant_records == records0 + 1 && s->ser[a[0]].act == ST_DORMANT,
			   "woken and asleep again: one record more (%llu)",
			   (unsigned long long)s->dormant_records);
	}
	ok(s->st.dormant_compactions >= 1 && s->dormant_records <= 2 * EQ_N + ST_DORMANT_SLACK,
	   "compacted (%llu times): %llu records", (unsigned long long)s->st.dormant_compactions,
	   (unsigned long long)s->dormant_records);
	snprintf(path, sizeof(path), "%s/dormant", test_dir);
	ok(stat(path, &sb) == 0 && (uint64_t)sb.st_size == s->dormant_size,
	   "the file's size is the one kept (%lld, %llu)", (long long)sb.st_size,
	   (unsigned long long)s->dormant_size);
	dormant_records(s, "dormant", &nd, &dmax, &nc);
	ok(nd == s->dormant_records, "it holds them (%zu)", nd);
	r_compare(s, EQ_N + 1, "after compactions");
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* Reads DIR/name whole into *buf (caller frees); its length. */
static size_t r_slurp(const char *name, uint8_t **buf)
{
	int dfd = open(test_dir, O_RDONLY | O_DIRECTORY);
	size_t len = 0;

	*buf = NULL;
	if (dfd < 0 || st_read_file(dfd, name, buf, &len) != XS_OK)
		ok(0, "read %s", name);
	if (dfd >= 0)
		close(dfd);
	return len;
}

/* Writes buf (n bytes) as DIR/name. */
static void r_spill(const char *name, const uint8_t *buf, size_t n)
{
	char path[TMP_DIR_LEN + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && st_write_all(fd, buf, n, 0) == XS_OK, "write %s", path);
	if (fd >= 0)
		close(fd);
}

/* A record of the dormant file that fails its CRC is skipped and counted: its series opens
 * without its times (its points still read back), the others with theirs; a torn tail
 * is cut and costs nothing. */
static void test_file_damage(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	uint8_t *buf;
	size_t len, pos = ST_FILE_HDR, at = 0, good = 0;
	struct st_cur rec;
	struct xs_store_stats st;
	static struct xs_point pt[800];

	tmp_dir_new(test_dir, "drv-damage");
	s = r_dormant_six(a, &live, &lt);
	xs_store_close(&s, NULL);
	len = r_slurp("dormant", &buf);
	for (int i = 0; i < 3 && st_unframe(buf, len, &pos, &rec); i++)
		if (i == 2)
			at = (size_t)(rec.p - buf) + 6; /* the third record's last_t */
	fail_unless(at, "three records");
	buf[at] ^= 0x10;
	buf = xs_xrealloc(buf, len + 5);
	memcpy(buf + len, "\x09\0\0\0D", 5); /* a torn frame */
	r_spill("dormant", buf, len + 5);
	s = r_open(test_dir);
	fail_unless(s, "reopen");
	xs_store_stats(s, &st);
	ok(st.dormant_damaged == 1, "one damaged record counted (%llu)", (unsigned long long)st.dormant_damaged);
	for (int i = 0; i < EQ_N; i++)
		good += s->ser[a[i]].last_t == T0 + 3600;
	ok(s->ser[a[2]].last_t == ST_NONE && good == EQ_N - 1,
	   "the damaged one has no times, the %zu others theirs", good);
	ok(xs_store_read(s, a[2], XS_TIER_5S, T0, T0 + 3600, pt, 800) == 720, "its points still read back");
	ok(s->dormant_size == len, "the torn tail is cut (%llu, %zu)", (unsigned long long)s->dormant_size, len);
	xs_store_close(&s, NULL);
	free(buf);
	tmp_dir_remove(test_dir);
}

/*
 * Series woken since the last checkpoint (a[0] by rows, a[1] by a backfill point taken, a[2]
 * by one it already holds) replay from the wal alone: with their records in the dormant
 * file damaged, a kill -9 still replays every value (rows are coded against the last
 * value, which the wal carries from the wake on) and every series' state.
 */
static void test_file_damage_woken(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	char err[XS_ERR_LEN] = "";

	tmp_dir_new(test_dir, "drv-dmgwoken");
	s = r_dormant_six(a, &live, &lt);
	s->wal_max = UINT64_MAX; /* no checkpoint from now on: the wal keeps what follows */
	for (int64_t t = lt - 600; t <= lt; t += 5)
		r_append(s, a[0], t, 3.25f + (float)(t % 11));
	ok(xs_store_backfill(s, a[1], XS_TIER_1H, T0 + 5 * 3600, 4, 3, 5, err) == XS_OK &&
		   xs_store_backfill(s, a[2], XS_TIER_1M, T0 + 600, 9, 9, 9, err) == XS_OK,
	   "backfill: %s", err);
	lt += 5;
	r_append(s, live, lt, 0.5f);
	r_sync(s);
	r_compare_damaged(s, EQ_N + 1, "woken series, records damaged", a, 3);
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* The dormant file's last record damaged (all its bytes there) is counted, not taken for a
 * torn tail; a missing dormant file beside an XSW3 wal is reported (dormant_lost). */
static void test_file_damage_last(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400;
	struct xs_store_stats st;
	char path[TMP_DIR_LEN + 16];

	tmp_dir_new(test_dir, "drv-dmglast");
	s = r_dormant_six(a, &live, &lt);
	xs_store_close(&s, NULL);
	fail_unless(r_damage_record(test_dir, a[EQ_N - 1]), "damage the last record");
	s = r_open(test_dir);
	fail_unless(s, "reopen");
	xs_store_stats(s, &st);
	ok(st.dormant_damaged == 1 && s->ser[a[EQ_N - 1]].last_t == ST_NONE && s->ser[a[0]].last_t == T0 + 3600,
	   "the last record damaged: counted (%llu), its series without times",
	   (unsigned long long)st.dormant_damaged);
	ok(st.dormant_lost == 0, "the file is there (dormant_lost %llu)", (unsigned long long)st.dormant_lost);
	xs_store_close(&s, NULL);
	snprintf(path, sizeof(path), "%s/dormant", test_dir);
	fail_unless(unlink(path) == 0, "unlink %s", path);
	s = r_open(test_dir);
	fail_unless(s, "open without the dormant file");
	xs_store_stats(s, &st);
	ok(st.dormant_lost == 1 && s->ser[a[0]].last_t == ST_NONE,
	   "a missing dormant file beside an XSW3 wal is reported (%llu)", (unsigned long long)st.dormant_lost);
	xs_store_close(&s, NULL);
	tmp_dir_remove(test_dir);
}

/* A store of before the dormant file: an "XSW2" wal carrying 'D' records and no "dormant".
 * It opens with every dormant series' times, and its next checkpoint moves them to the
 * dormant file (the wal keeps none). */
static void test_wal_v2(void)
{
	struct xs_store *s;
	xs_series_id a[EQ_N], live;
	int64_t lt = T0 + 2 * 86400, tl[XS_NTIERS];
	uint8_t *wal, *dorm, *old;
	size_t nw, ndm, nd, dmax, nc, good = 0;
	char path[TMP_DIR_LEN + 16];

	tmp_dir_new(test_dir, "drv-walv2");
	s = r_dormant_six(a, &live, &lt);
	memcpy(tl, s->ser[a[1]].tier_last, sizeof(tl));
	xs_store_close(&s, NULL);
	nw = r_slurp("wal", &wal);
	ndm = r_slurp("dormant", &dorm);
	fail_unless(nw >= ST_FILE_HDR && ndm >= ST_FILE_HDR, "wal and dormant");
	old = xs_xmalloc(nw + ndm);
	memcpy(old, wal, ST_FILE_HDR);
	st_w32(old, ST_MAGIC_WAL2);
	st_w32(old + 4, st_wal_hdr_crc(old));
	memcpy(old + ST_FILE_HDR, dorm + ST_FILE_HDR, ndm - ST_FILE_HDR); /* 'D' first, as XSW2 wrote */
	memcpy(old + ndm, wal + ST_FILE_HDR, nw - ST_FILE_HDR);
	r_spill("wal", old, nw + ndm - ST_FILE_HDR);
	snprintf(path, sizeof(path), "%s/dormant", test_dir);
	fail_unless(unlink(path) == 0, "unlink %s", path);
	test_minutes = 1061 + 1441;
	s = r_open(test_dir);
	fail_unless(s, "open the XSW2 store");
	for (int i = 0; i < EQ_N; i++)
		good += s->ser[a[i]].act == ST_DORMANT && s->ser[a[i]].last_t == T0 + 3600 &&
			!s->ser[a[i]].times_saved;
	ok(good == EQ_N && !memcmp(tl, s->ser[a[1]].tier_last, sizeof(tl)),
	   "the XSW2 wal's dormant series, with their times (%zu), not yet in the file", good);
	ok(s->st.dormant_lost == 0, "no dormant file beside an XSW2 wal is no loss");
	r_tick(s, 1061 + 1442, live, &lt);
	dormant_records(s, "dormant", &nd, &dmax, &nc);
	ok(nd == EQ_N, "the next checkpoint writes them to the dormant file (%zu)", nd);
	dormant_records(s, "wal", &nd, &dmax, &nc);
	ok(nd == 0, "and the new wal (XSW3) none (%zu)", nd);
	xs_store_close(&s, NULL);
	s = r_open(test_dir);
	fail_unless(s, "reopen");
	ok(!memcmp(tl, s->ser[a[1]].tier_last, sizeof(tl)) && s->ser[a[1]].last_t == T0 + 3600,
	   "reopened: the times are the ones before");
	xs_store_close(&s, NULL);
	free(wal);
	free(dorm);
	free(old);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_dormant);
	TEST_RUN(test_wal_v1);
	TEST_RUN(test_wal_header);
	TEST_RUN(test_codec);
	TEST_RUN(test_backfill_only);
	TEST_RUN(test_skip_wakes);
	TEST_RUN(test_equiv);
	TEST_RUN(test_day_ckpt_fails);
	TEST_RUN(test_file_once);
	TEST_RUN(test_file_damage);
	TEST_RUN(test_file_damage_woken);
	TEST_RUN(test_file_damage_last);
	TEST_RUN(test_wal_v2);
	return test_summary();
}
