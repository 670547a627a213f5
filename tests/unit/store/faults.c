/*
 * tests/unit/store/faults.c - the store when the system fails it: a catalog
 * write cut short by a full disk (then space comes back), and a read error
 * while open() reads the catalog or the write-ahead log. Nothing synced may be
 * lost: a short write is retried in place, a read error refuses the open
 * instead of being taken for a torn tail and truncated away.
 *
 * A read error on a segment's index, at first use or while an interrupted
 * checkpoint is recovered, is not taken for its end (a write there would cut
 * the runs after it).
 *
 * Also: a row of more samples than a wal record may hold is cut into several
 * records that replay whole; a damaged catalog record in the middle loses only
 * its own series' name, a damaged index run only its own blocks, and wal
 * bytes that do not replay are kept aside (and, on a full disk, said not to be). A checkpoint that fails on a full disk
 * (pwrite faked over a quota: fault_disk) gives back the space it took; a wal
 * write cut short leaves no partial record for the next open to drop.
 *
 * The store is included whole (store_whole.h) so that its pread can be made to
 * fail once (fault_pread) and its rows cut in records of 7 samples
 * (ST_ROW_MAX_ENTRIES).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/tmp_dir.h"
#include "test.h"

static const char *fault_file; /* the next pread of a file whose path ends so fails with EIO */
static bool fault_sticky;      /* ... and every one after it, counted in fault_hits */
static int fault_hits;

static ssize_t fault_pread(int fd, void *buf, size_t n, off_t off)
{
	char link[64], path[512];
	ssize_t k;

	if (fault_file) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		k = readlink(link, path, sizeof(path) - 1);
		if (k > 0) {
			size_t want = strlen(fault_file);

			path[k] = '\0';
			if ((size_t)k >= want && !strcmp(path + k - want, fault_file)) {
				if (!fault_sticky)
					fault_file = NULL;
				fault_hits++;
				errno = EIO;
				return -1;
			}
		}
	}
	return pread(fd, buf, n, off);
}

/* Armed: the first fsync of a directory after a successful rename fails with EIO,
 * once (test_wal_dir_fsync). */
static bool fault_dir_fsync;
static bool fault_renamed;

static int fault_renameat(int from_dir, const char *from, int to_dir, const char *to)
{
	int r = renameat(from_dir, from, to_dir, to);

	fault_renamed = fault_dir_fsync && r == 0;
	return r;
}

static ino_t fault_watch_ino;   /* fsyncs of the file with this inode are counted */
static int fault_watch_fsyncs;

static int fault_fsync(int fd)
{
	struct stat sb;

	if (fault_renamed && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fault_renamed = fault_dir_fsync = false;
		errno = EIO;
		return -1;
	}
	if (fault_watch_ino && fstat(fd, &sb) == 0 && sb.st_ino == fault_watch_ino)
		fault_watch_fsyncs++;
	return fsync(fd);
}

static const char *fault_open_file; /* the next openat of a path ending so fails, EMFILE */
static int fault_open_mode = O_RDONLY; /* ... opened with this access mode */

static int fault_openat(int dir, const char *path, int flags, ...)
{
	size_t n = strlen(path), want = fault_open_file ? strlen(fault_open_file) : 0;
	mode_t mode = 0;
	va_list ap;

	if (fault_open_file && (flags & O_ACCMODE) == fault_open_mode && n >= want &&
	    !strcmp(path + n - want, fault_open_file)) {
		fault_open_file = NULL;
		errno = EMFILE;
		return -1;
	}
	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	return openat(dir, path, flags, mode);
}

static char test_dir[TMP_DIR_LEN];

/* When not 0: the bytes the files of test_dir may hold in all, a disk that fills up. A
 * write that would pass it writes what fits (a short write), then fails with ENOSPC. */
static uint64_t fault_disk;

static uint64_t fault_disk_used(void)
{
	DIR *d = opendir(test_dir);
	struct dirent *de;
	uint64_t used = 0;

	while (d && (de = readdir(d))) {
		struct stat sb;

		if (fstatat(dirfd(d), de->d_name, &sb, 0) == 0 && S_ISREG(sb.st_mode))
			used += (uint64_t)sb.st_size;
	}
	if (d)
		closedir(d);
	return used;
}

static ssize_t fault_pwrite(int fd, const void *p, size_t n, off_t off)
{
	struct stat sb;

	if (fault_disk && fstat(fd, &sb) == 0 && (uint64_t)off + n > (uint64_t)sb.st_size) {
		uint64_t used = fault_disk_used(), grow = (uint64_t)off + n - (uint64_t)sb.st_size;
		uint64_t room = used < fault_disk ? fault_disk - used : 0;

		if (grow > room) {
			if (grow - room >= n) {
				errno = ENOSPC;
				return -1;
			}
			n -= (size_t)(grow - room);
		}
	}
	return pwrite(fd, p, n, off);
}

static int64_t fault_now = 1000; /* the store's clock in seconds (the checkpoints' back-off) */
#define ST_NOW_SECONDS() fault_now

#define ST_ROW_MAX_ENTRIES 7 /* rows cut in records of 7 samples: test_row_records */
#define pread fault_pread
#define renameat fault_renameat
#define fsync fault_fsync
#define openat fault_openat
#define pwrite fault_pwrite
#include "store/store_whole.h"
#undef pwrite
#undef pread
#undef renameat
#undef fsync
#undef openat

#define T0 1700006400 /* a UTC midnight */

static struct xs_store *faults_open(char *err)
{
	struct xs_store_options o = { .dir = test_dir };
	struct xs_store *s = NULL;

	err[0] = '\0';
	return xs_store_open(&o, &s, err) == XS_OK ? s : NULL;
}

static xs_series_id faults_series(struct xs_store *s, int i)
{
	char uuid[40], err[XS_ERR_LEN];
	xs_series_id id = UINT32_MAX;

	snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-000000000000", i);
	if (xs_store_series(s, XS_OBJ_VM, uuid, "cpu0", "(fraction)", &id, err) != XS_OK)
		fprintf(stderr, "# series %d: %s\n", i, err);
	return id;
}

/* A sample's value: seconds since T0, the series' index, or the index + seconds / 8. */
enum faults_value { FAULTS_SECONDS, FAULTS_SERIES, FAULTS_BOTH };

static float faults_value(enum faults_value how, xs_series_id i, int64_t t)
{
	return how == FAULTS_SECONDS ? (float)(t - T0)
	       : how == FAULTS_SERIES ? (float)i
				       : (float)i + (float)(t - T0) / 8;
}

/* Rows of series 0..n-1 (made when new) for t in [from, to), 5 s apart, synced after
 * every row when sync_each; false when a sync fails. */
static bool faults_rows(struct xs_store *s, int n, int64_t from, int64_t to, enum faults_value how,
			bool sync_each)
{
	char err[XS_ERR_LEN];

	for (int i = 0; i < n; i++)
		faults_series(s, i);
	for (int64_t t = from; t < to; t += 5) {
		for (xs_series_id i = 0; i < (xs_series_id)n; i++)
			xs_store_append(s, i, t, faults_value(how, i, t), err);
		if (sync_each && xs_store_sync(s, err) != XS_OK)
			return false;
	}
	return true;
}

/* A child process opens the store, writes rows of n series over [T0, T0 + span)
 * (faults_rows; one sync at the end unless sync_each) and dies without closing,
 * as kill -9 after its last sync does; false if it failed. */
static bool faults_killed_after(int n, int64_t span, enum faults_value how, bool sync_each)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		char err[XS_ERR_LEN];
		struct xs_store *s = faults_open(err);

		_exit(s && faults_rows(s, n, T0, T0 + span, how, sync_each) &&
				      xs_store_sync(s, err) == XS_OK
			      ? 0
			      : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* Whether series 0..n-1 all have their newest sample at t, as faults_rows wrote it
 * (FAULTS_SECONDS). */
static bool faults_all_latest(struct xs_store *s, int n, int64_t t)
{
	for (xs_series_id i = 0; i < (xs_series_id)n; i++) {
		int64_t lt = 0;
		float v = 0;

		if (!xs_store_latest(s, i, &lt, &v) || lt != t || v != faults_value(FAULTS_SECONDS, i, t))
			return false;
	}
	return true;
}

/* The exit code of child pid, waited for; -1 when it did not exit (a signal). */
static int faults_child_exit(pid_t pid)
{
	int status = 0;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static off_t faults_size(const char *name)
{
	char path[128];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	return stat(path, &sb) ? -1 : sb.st_size;
}

/*
 * A child makes 2,000 series and syncs; then the catalog may grow only 100 more
 * bytes (RLIMIT_FSIZE, SIGXFSZ ignored: a full disk) while 100 more series are
 * made and one of them gets a sample; that sync must fail; with the limit back,
 * the next syncs succeed and the child dies without closing (kill -9). Reopened:
 * all 2,100 series under their names, the samples synced after the failure too.
 */
static void test_catalog_short_write(void)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;
	int status = 0;
	pid_t pid;

	tmp_dir_new(test_dir, "faults");
	pid = fork();
	fail_unless(pid >= 0, "fork");
	if (pid == 0) {
		struct rlimit old, tight;
		int rc = 0;

		signal(SIGXFSZ, SIG_IGN);
		s = faults_open(err);
		if (!s)
			_exit(10);
		for (int i = 0; i < 2000; i++)
			faults_series(s, i);
		if (xs_store_sync(s, err) != XS_OK)
			_exit(11);
		getrlimit(RLIMIT_FSIZE, &old);
		tight = old;
		tight.rlim_cur = (rlim_t)faults_size("series") + 100;
		setrlimit(RLIMIT_FSIZE, &tight);
		for (int i = 2000; i < 2100; i++)
			faults_series(s, i);
		xs_store_append(s, 2050, T0, 1.0f, err);
		if (xs_store_sync(s, err) == XS_OK)
			rc = 12; /* the limit did not bite: the test would prove nothing */
		else if (!strstr(err, "series") || strstr(err, "No such file"))
			rc = 13; /* the message must name the file and the real reason */
		setrlimit(RLIMIT_FSIZE, &old);
		if (!rc && xs_store_sync(s, err) != XS_OK)
			rc = 14;
		for (int64_t t = T0 + 5; !rc && t < T0 + 600; t += 5)
			xs_store_append(s, 2050, t, 2.0f, err);
		if (!rc && xs_store_sync(s, err) != XS_OK)
			rc = 15;
		_exit(rc); /* no close: as kill -9 after the sync */
	}
	status = faults_child_exit(pid);
	ok(status == 0, "child: a full disk fails the sync naming the catalog, the syncs after it succeed (exit %d)",
	   status);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	{
		struct xs_store_stats st;
		xs_series_id id = UINT32_MAX;
		int64_t t = 0;
		float v = 0;
		bool names = true;

		xs_store_stats(s, &st);
		ok(st.series == 2100, "every series survives the short write: %llu of 2100",
		   (unsigned long long)st.series);
		for (int i = 0; i < 2100 && names; i++) {
			char uuid[40];

			snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-000000000000", i);
			names = xs_store_find(s, XS_OBJ_VM, uuid, "cpu0", &id) && id == (xs_series_id)i;
		}
		ok(names, "each series keeps its name and id (first wrong: %u)", id);
		ok(xs_store_latest(s, 2050, &t, &v) && t == T0 + 595 && v == 2.0f,
		   "the samples synced after the failure are there: latest %lld, %g",
		   (long long)(t - T0), (double)v);
	}
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * 50 series, 30 minutes of rows synced one by one, then a kill -9; one pread
 * of file fails with EIO at the reopen: the open is refused naming the file
 * and the error; the next open (the disk fine again) has every synced row.
 */
static void test_read_error(const char *file)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(50, 1800, FAULTS_SECONDS, true), "child wrote the store");
	fault_file = file;
	s = faults_open(err);
	ok(!s && strstr(err, file) && strstr(err, strerror(EIO)),
	   "%s: a read error at open refuses the open: %s", file, err);
	fault_file = NULL;
	if (s)
		xs_store_close(&s, err);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	{
		struct xs_store_stats st;

		xs_store_stats(s, &st);
		ok(st.series == 50 && faults_all_latest(s, 50, T0 + 1795),
		   "%s: then every series and its last synced row (%llu series)", file,
		   (unsigned long long)st.series);
	}
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

static void test_read_error_wal(void)
{
	test_read_error("/wal");
}

static void test_read_error_catalog(void)
{
	test_read_error("/series");
}

/* 'R' records in the wal of test_dir (frames after the 16-byte header). */
static int faults_row_records(void)
{
	uint8_t *buf = NULL;
	size_t len = 0, pos = ST_FILE_HDR;
	struct st_cur rec;
	int dirfd = open(test_dir, O_RDONLY | O_DIRECTORY), rows = 0;

	if (dirfd < 0 || st_read_file(dirfd, "wal", &buf, &len) != XS_OK) {
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	close(dirfd);
	while (buf && len >= ST_FILE_HDR && st_unframe(buf, len, &pos, &rec))
		rows += rec.len && rec.p[0] == 'R';
	free(buf);
	return rows;
}

/*
 * Two rows of 50 samples, synced, then kill -9: with 7 samples a record, 8
 * records a row (a row past 16 MiB, ~1M series, would otherwise be refused at
 * replay and the wal cut there); the reopen replays every sample of both.
 */
static void test_row_records(void)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(50, 10, FAULTS_BOTH, false), "child wrote the store");
	ok(faults_row_records() == 16, "2 rows of 50 samples: %d records of at most 7 (want 16)",
	   faults_row_records());
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	{
		bool all = true;
		xs_series_id i;

		for (i = 0; i < 50 && all; i++) {
			static struct xs_point p[4];

			all = xs_store_read(s, i, XS_TIER_5S, T0, T0 + 5, p, 4) == 2 &&
			      p[0].avg == (float)i && p[1].avg == (float)i + 0.625f;
		}
		ok(all, "every sample of both rows replayed (first wrong: series %u)", i - 1);
	}
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* The catalog, opened read-write (-1 if not), and the offset of its record k (from 0)
 * in *off. */
static int faults_catalog_at(int k, off_t *off)
{
	char path[128];
	uint8_t h[8];
	int fd;

	snprintf(path, sizeof(path), "%s/series", test_dir);
	fd = open(path, O_RDWR);
	*off = ST_FILE_HDR;
	for (int i = 0; fd >= 0 && i < k && pread(fd, h, 8, *off) == 8; i++)
		*off += 8 + (off_t)st_le32(h);
	return fd;
}

/* Flips one byte of the payload of catalog record k (from 0): false if there is none. */
static bool faults_damage_record(int k)
{
	uint8_t h[8], c;
	off_t off;
	int fd = faults_catalog_at(k, &off);
	bool done = false;

	if (fd < 0)
		return false;
	if (pread(fd, h, 8, off) == 8 && pread(fd, &c, 1, off + 8 + 6) == 1) {
		c ^= 0x01; /* a byte of the uuid */
		done = pwrite(fd, &c, 1, off + 8 + 6) == 1;
	}
	close(fd);
	return done;
}

/*
 * 10 series with 20 minutes of synced rows, then kill -9; one byte of the 6th
 * catalog record (id 5) flipped. Reopened: the other 9 keep their names, ids and
 * rows, id 5 is a placeholder (lost_series 1), and a new series gets id 10 and
 * reads nothing of series 5's rows (the ids after the damage used to be dropped
 * and handed out again, so a new series read another's data). The same after a
 * second reopen.
 */
static void test_catalog_damage(void)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(10, 1200, FAULTS_SERIES, false), "child wrote the store");
	fail_unless(faults_damage_record(5), "damage record 5");
	for (int round = 0; round < 2; round++) {
		struct xs_store_stats st;
		xs_series_id id = UINT32_MAX, fresh;
		bool kept = true;
		int i;

		s = faults_open(err);
		fail_unless(s != NULL, "reopen %d: %s", round, err);
		xs_store_stats(s, &st);
		ok(st.series == (round ? 11u : 10u) && st.lost_series == 1,
		   "reopen %d: %llu series, %llu lost", round, (unsigned long long)st.series,
		   (unsigned long long)st.lost_series);
		for (i = 0; i < 10 && kept; i++) {
			char uuid[40];
			int64_t t = 0;
			float v = -1;

			if (i == 5)
				continue;
			snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-000000000000", i);
			kept = xs_store_find(s, XS_OBJ_VM, uuid, "cpu0", &id) && id == (xs_series_id)i &&
			       xs_store_latest(s, id, &t, &v) && t == T0 + 1195 && v == (float)i;
		}
		ok(kept, "reopen %d: the other series keep name, id and rows (first wrong: %d)", round,
		   i - 1);
		fresh = faults_series(s, 77);
		{
			static struct xs_point p[300];
			size_t n = xs_store_read(s, fresh, XS_TIER_5S, 0, INT64_MAX, p, 300);

			ok(fresh == 10 && n == 0, "reopen %d: a new series gets id %u, reads %zu points",
			   round, fresh, n);
		}
		xs_store_sync(s, err);
		xs_store_close(&s, err);
	}
	tmp_dir_remove(test_dir);
}

/* Windows (10 min, from the segment's start) of series 0 that read whole: bit w set. */
static uint64_t faults_windows(struct xs_store *s)
{
	static struct xs_point p[2000];
	uint64_t got = 0;

	for (int w = 0; w < 12; w++) {
		int64_t from = T0 + (int64_t)w * 600;

		if (xs_store_read(s, 0, XS_TIER_5S, from, from + 595, p, 2000) == 120)
			got |= 1ull << w;
	}
	return got;
}

enum faults_idx_hit { FAULTS_IDX_DIR, FAULTS_IDX_MAGIC, FAULTS_IDX_COUNT, FAULTS_IDX_COUNT_FITS };

/*
 * 4 series, 2 h of rows, a checkpoint every 4 KiB of wal: several index runs in
 * the day's .idx. One byte of the 2nd run damaged (hit: a byte of its directory,
 * of its magic, a count past the file's end, a count that still fits but is
 * wrong): its windows are lost, the windows of every other run still read, and
 * still do after more rows and another checkpoint (before, the runs after the
 * damaged one were not loaded and the next checkpoint cut them and their blocks
 * away; for a damaged magic or count, until the runs were found by their magic).
 */
static void faults_index_damage(enum faults_idx_hit hit)
{
	struct xs_store_options o = { .wal_max = 4 << 10 };
	char err[XS_ERR_LEN] = "", path[128];
	struct xs_store *s = NULL;
	uint64_t others = 0, pos = 0, all;
	uint8_t h[ST_RUN_HDR];
	int fd, runs = 0;

	tmp_dir_new(test_dir, "faults");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	fail_unless(faults_rows(s, 4, T0, T0 + 7200, FAULTS_SECONDS, true), "2 h of rows");
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	/* the runs' windows; damage the 2nd run's directory */
	snprintf(path, sizeof(path), "%s/5s-19676.idx", test_dir);
	fd = open(path, O_RDWR);
	fail_unless(fd >= 0, "%s", path);
	while (pread(fd, h, sizeof(h), (off_t)pos) == (ssize_t)sizeof(h)) {
		uint32_t n = st_le32(h + 4);
		uint64_t lo = h[28] | h[29] << 8, hi = h[30] | h[31] << 8;

		if (runs == 1) {
			static const uint8_t flip[] = { 0x40, 0x01, 0x01, 0x01 };
			uint8_t c;
			off_t at = hit == FAULTS_IDX_DIR ? (off_t)(pos + ST_RUN_HDR + (uint64_t)n * ST_ENT)
				   : hit == FAULTS_IDX_MAGIC ? (off_t)pos
				   : hit == FAULTS_IDX_COUNT ? (off_t)(pos + 7)  /* n + 2^24 */
							     : (off_t)(pos + 4); /* n +- 1 */

			if (pread(fd, &c, 1, at) == 1) {
				c ^= flip[hit];
				if (pwrite(fd, &c, 1, at) != 1)
					break;
			}
		} else {
			for (uint64_t w = lo; w <= hi && w < 12; w++)
				others |= 1ull << w;
		}
		runs++;
		pos += st_run_bytes(n);
	}
	close(fd);
	fail_unless(runs >= 3, "a run after the damaged one (%d runs)", runs);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	all = faults_windows(s);
	ok((all & others) == others, "hit %d: the other runs' windows read (%#llx of %#llx)", (int)hit,
	   (unsigned long long)all, (unsigned long long)others);
	{
		struct xs_store_stats st;

		xs_store_stats(s, &st);
		ok(st.damaged_blocks >= 1, "hit %d: the damage counted (damaged_blocks %llu)", (int)hit,
		   (unsigned long long)st.damaged_blocks);
	}
	faults_rows(s, 4, T0 + 7200, T0 + 7800, FAULTS_SECONDS, false);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	all = faults_windows(s);
	ok((all & others) == others, "hit %d: and after another checkpoint (%#llx of %#llx)", (int)hit,
	   (unsigned long long)all, (unsigned long long)others);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

static void test_index_damage(void)
{
	faults_index_damage(FAULTS_IDX_DIR);
	faults_index_damage(FAULTS_IDX_MAGIC);
	faults_index_damage(FAULTS_IDX_COUNT);
	faults_index_damage(FAULTS_IDX_COUNT_FITS);
}

/* Cuts the catalog before record k (from 0), as a damaged tail would leave it. */
static bool faults_cut_catalog(int k)
{
	off_t off;
	int fd = faults_catalog_at(k, &off);
	bool done;

	if (fd < 0)
		return false;
	done = ftruncate(fd, off) == 0;
	close(fd);
	return done;
}

/*
 * 10 series, 10 minutes of rows synced one by one, kill -9; the catalog then loses
 * its last record (series 9), so the wal's first row record names an id past it.
 * Reopened, the replay stops there without applying any of that record; a second
 * life writes 5 more minutes of series 0..8 and dies too; reopened, those rows read
 * back as written. (The record used to be applied up to id 9 before the replay
 * stopped and the wal was cut before it: the second life coded its rows against
 * values the wal no longer had, and they read back wrong.)
 */
static void test_wal_half_record(void)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;
	int status = 0, wrong = 0;
	pid_t pid;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(10, 600, FAULTS_BOTH, true), "child wrote the store");
	fail_unless(faults_cut_catalog(9), "catalog cut before series 9");
	pid = fork();
	if (pid == 0) { /* the second life: opens (the replay stops), writes, dies */
		s = faults_open(err);
		if (!s)
			_exit(2);
		for (int64_t t = T0 + 600; t < T0 + 900; t += 5) {
			for (xs_series_id i = 0; i < 9; i++)
				xs_store_append(s, i, t, faults_value(FAULTS_BOTH, i, t), err);
			if (xs_store_sync(s, err) != XS_OK)
				_exit(1);
		}
		_exit(0);
	}
	fail_unless(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0,
		    "second life wrote its rows");
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	for (xs_series_id i = 0; i < 9; i++) {
		static struct xs_point p[200];
		size_t n = xs_store_read(s, i, XS_TIER_5S, T0 + 600, T0 + 895, p, 200);

		for (size_t k = 0; k < n && k < 200; k++)
			wrong += p[k].avg != faults_value(FAULTS_BOTH, i, p[k].t);
		wrong += n != 60;
	}
	ok(wrong == 0, "the second life's rows read back as written (%d wrong)", wrong);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * 3 series, 10 minutes of rows synced one by one, kill -9; one byte of the 20th
 * wal record flipped. Reopened: the rows before it replay, the bytes from it on
 * are counted (wal_dropped_bytes) and kept in wal.dropped, byte for byte.
 */
static void test_wal_dropped(void)
{
	char err[XS_ERR_LEN], path[128];
	struct xs_store *s;
	int dirfd;
	uint8_t *before = NULL, *kept = NULL, h[8];
	size_t blen = 0, klen = 0;
	off_t off = ST_FILE_HDR;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(3, 600, FAULTS_SECONDS, true), "child wrote the store");
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	{
		int fd = open(path, O_RDWR);
		uint8_t c;

		fail_unless(fd >= 0, "%s", path);
		for (int i = 0; i < 20 && pread(fd, h, 8, off) == 8; i++)
			off += 8 + (off_t)st_le32(h);
		if (pread(fd, &c, 1, off + 8) == 1) {
			c ^= 0x10;
			if (pwrite(fd, &c, 1, off + 8) != 1)
				c = 0;
		}
		close(fd);
	}
	dirfd = open(test_dir, O_RDONLY | O_DIRECTORY);
	fail_unless(dirfd >= 0 && st_read_file(dirfd, "wal", &before, &blen) == XS_OK, "read wal");
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	{
		struct xs_store_stats st;
		int64_t t = 0;
		float v;

		xs_store_stats(s, &st);
		ok(st.wal_dropped_bytes == blen - (size_t)off, "dropped %llu bytes, want %zu",
		   (unsigned long long)st.wal_dropped_bytes, blen - (size_t)off);
		ok(xs_store_latest(s, 0, &t, &v) && t > T0 && t < T0 + 595,
		   "the rows before the damage replay (latest %lld)", (long long)(t - T0));
	}
	ok(st_read_file(dirfd, "wal.dropped", &kept, &klen) == XS_OK && klen == blen - (size_t)off &&
		   kept && !memcmp(kept, before + off, klen),
	   "wal.dropped holds those bytes (%zu)", klen);
	free(before);
	free(kept);
	close(dirfd);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * The same damage, reopened on a full disk: wal.dropped cannot hold the bytes. The
 * open goes on (the store serves what replayed), but the stats say why the copy
 * failed, so that serve does not claim they are kept in wal.dropped.
 */
static void test_wal_dropped_full_disk(void)
{
	char err[XS_ERR_LEN], path[128];
	struct xs_store *s;
	struct xs_store_stats st;
	uint8_t h[8], c = 0;
	off_t off = ST_FILE_HDR;
	int fd;

	tmp_dir_new(test_dir, "faults");
	fail_unless(faults_killed_after(3, 600, FAULTS_SECONDS, true), "child wrote the store");
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	fd = open(path, O_RDWR);
	fail_unless(fd >= 0, "%s", path);
	for (int i = 0; i < 20 && pread(fd, h, 8, off) == 8; i++)
		off += 8 + (off_t)st_le32(h);
	fail_unless(pread(fd, &c, 1, off + 8) == 1, "read the 20th record");
	c ^= 0x10;
	fail_unless(pwrite(fd, &c, 1, off + 8) == 1, "flip a byte of it");
	close(fd);
	fault_disk = fault_disk_used(); /* not a byte more */
	s = faults_open(err);
	fault_disk = 0;
	fail_unless(s != NULL, "reopen: %s", err);
	xs_store_stats(s, &st);
	ok(st.wal_dropped_bytes > 0 && st.wal_dropped_errno == ENOSPC,
	   "the bytes that did not replay are counted (%llu), and why wal.dropped lacks them: %s",
	   (unsigned long long)st.wal_dropped_bytes, strerror(st.wal_dropped_errno));
	ok(faults_size("wal.dropped") <= 0, "wal.dropped is empty (%lld)", (long long)faults_size("wal.dropped"));
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * A wal write cut short by a full disk that stays full until the store closes
 * (the daemon stopped meanwhile) leaves no partial record behind: the reopen has
 * nothing to drop (before, it kept the bytes aside in wal.dropped and the
 * daemon warned of "the last unsynced rows of a crash, or damage").
 */
static void test_wal_short_write(void)
{
	char err[XS_ERR_LEN];
	struct xs_store *s;
	struct xs_store_stats st;
	off_t size;

	tmp_dir_new(test_dir, "faults");
	s = faults_open(err);
	fail_unless(s != NULL, "open: %s", err);
	fail_unless(faults_rows(s, 8, T0, T0 + 60, FAULTS_SECONDS, true), "a minute of rows");
	size = faults_size("wal");
	fault_disk = fault_disk_used() + 40; /* room for part of a row's record */
	ok(!faults_rows(s, 8, T0 + 60, T0 + 65, FAULTS_SECONDS, true), "the next sync fails");
	ok(faults_size("wal") == size, "the wal is back at its synced size (%lld, %lld)",
	   (long long)faults_size("wal"), (long long)size);
	ok(xs_store_close(&s, err) != XS_OK, "close fails too: %s", err);
	fault_disk = 0;
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	xs_store_stats(s, &st);
	ok(st.wal_dropped_bytes == 0, "nothing to drop: %llu bytes",
	   (unsigned long long)st.wal_dropped_bytes);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * The wal lost (deleted by mistake, or a file system that lost it) after several
 * checkpoints: the reopen starts a new wal at the generation of the runs on disk,
 * so every window in the segments still reads (the open block of the last one
 * lived in the wal), and still does after another
 * checkpoint (before, the new wal took generation 0, every run read as
 * uncommitted, and the next checkpoint cut them all away).
 */
static void test_wal_lost(void)
{
	struct xs_store_options o = { .wal_max = 4 << 10 };
	char err[XS_ERR_LEN] = "", path[128];
	struct xs_store *s = NULL;
	uint64_t before, after;

	tmp_dir_new(test_dir, "faults");
	o.dir = test_dir;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	fail_unless(faults_rows(s, 4, T0, T0 + 7200, FAULTS_SECONDS, true), "2 h of rows");
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	before = faults_windows(s);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	fail_unless(unlink(path) == 0, "remove %s", path);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open without a wal: %s", err);
	after = faults_windows(s);
	/* the last window's block was still open: it lived in the wal, lost with it */
	ok(before == 0xfff && after == 0x7ff, "every window in the segments still reads (%#llx of %#llx)",
	   (unsigned long long)after, (unsigned long long)before);
	faults_rows(s, 4, T0 + 7200, T0 + 7800, FAULTS_SECONDS, false);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "reopen: %s", err);
	after = faults_windows(s);
	ok((after & 0x7ff) == 0x7ff, "and after another checkpoint (%#llx)", (unsigned long long)after);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/*
 * The directory's fsync fails right after the checkpoint renamed its new wal into
 * place: the new wal is the store's all the same (the checkpoint is done, its sync
 * succeeds), rows go to it and not to the old one's unlinked inode, and the next
 * syncs retry the directory's fsync; `ckpt` stays until that succeeds. A child does
 * this, then syncs more rows and dies without closing: reopened, every row is there.
 */
static void test_wal_dir_fsync(void)
{
	char err[XS_ERR_LEN] = "";
	struct xs_store *s;
	int status = 0;
	pid_t pid;

	tmp_dir_new(test_dir, "faults");
	pid = fork();
	fail_unless(pid >= 0, "fork");
	if (pid == 0) {
		struct xs_store_options o = { .dir = test_dir, .wal_max = 4 << 10 };
		struct stat before, after;
		char path[128];
		int rc = 0;

		snprintf(path, sizeof(path), "%s/wal", test_dir);
		if (xs_store_open(&o, &s, err) != XS_OK)
			_exit(10);
		if (!faults_rows(s, 4, T0, T0 + 600, FAULTS_SECONDS, true) || stat(path, &before))
			_exit(11);
		fault_dir_fsync = true;
		for (int64_t t = T0 + 600; !rc && fault_dir_fsync && t < T0 + 1800; t += 5) {
			for (xs_series_id i = 0; i < 4; i++)
				xs_store_append(s, i, t, faults_value(FAULTS_SECONDS, i, t), err);
			if (xs_store_sync(s, err) != XS_OK)
				rc = 12; /* the checkpoint whose directory fsync failed must count */
		}
		if (!rc && (fault_dir_fsync || stat(path, &after) || after.st_ino == before.st_ino))
			rc = 13; /* no checkpoint happened: the test would prove nothing */
		if (!rc && (!s->dir_unsynced || s->wal_appended > o.wal_max))
			rc = 14; /* the failure went unnoted, or the wal is not the new one */
		if (!rc && faults_size("ckpt") < 0)
			rc = 17; /* ckpt must stay while the rename may not be on disk */
		if (!rc && (xs_store_sync(s, err) != XS_OK || s->dir_unsynced))
			rc = 16; /* the next sync did not retry the directory's fsync */
		if (!rc && faults_size("ckpt") >= 0)
			rc = 18; /* ... and removes ckpt once it is */
		if (!rc && !faults_rows(s, 4, T0 + 1800, T0 + 1900, FAULTS_SECONDS, true))
			rc = 15;
		_exit(rc); /* no close: as kill -9 after the sync */
	}
	status = faults_child_exit(pid);
	ok(status == 0, "child: a failed directory fsync after the wal's rename does not fail the checkpoint (exit %d)",
	   status);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	ok(faults_all_latest(s, 4, T0 + 1895), "reopened after kill -9: every series has its last synced row");
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* Points of series 0..3 at 5 s over [from, to]: their sum. */
static size_t faults_points(struct xs_store *s, int64_t from, int64_t to)
{
	static struct xs_point pt[2000];
	size_t n = 0;

	for (xs_series_id i = 0; i < 4; i++)
		n += xs_store_read(s, i, XS_TIER_5S, from, to, pt, 2000);
	return n;
}

/* A set-up step of a helper that returns a value: a failure is recorded, then the test
 * program stops (what follows would prove nothing). */
#define faults_require(cond, ...)                \
	do {                                     \
		if (!ok(cond, __VA_ARGS__))      \
			abort();                 \
	} while (0)

static struct xs_store *faults_reopen(const struct xs_store_options *o)
{
	char err[XS_ERR_LEN] = "";
	struct xs_store *s = NULL;

	faults_require(xs_store_open(o, &s, err) == XS_OK, "reopen: %s", err);
	return s;
}

static void faults_close(struct xs_store **s)
{
	char err[XS_ERR_LEN] = "";

	faults_require(xs_store_close(s, err) == XS_OK, "close: %s", err);
}

/* A new store (*o) of 4 series with an hour of rows from T0, a checkpoint every few
 * rows (several runs in the day's 5 s segment), closed. */
static void faults_hour(struct xs_store_options *o)
{
	struct xs_store *s;

	tmp_dir_new(test_dir, "faults");
	*o = (struct xs_store_options){ .dir = test_dir, .wal_max = 4 << 10 };
	s = faults_reopen(o);
	faults_require(faults_rows(s, 4, T0, T0 + 3600, FAULTS_SECONDS, true), "an hour of rows");
	faults_close(&s);
}

/* Reopens, arms *fault with name (the next read or open of T0's .idx fails once), writes
 * 10 more minutes, closes and reopens: the points of [T0, T0 + 4195] then (4 x 840 when
 * nothing was lost). *armed: whether the fault was met. */
static size_t faults_ten_more(const struct xs_store_options *o, const char **fault, const char *name,
			      bool *armed)
{
	struct xs_store *s = faults_reopen(o);
	size_t n;

	*fault = name;
	faults_require(faults_rows(s, 4, T0 + 3600, T0 + 4200, FAULTS_SECONDS, true), "10 more minutes");
	*armed = *fault == NULL;
	*fault = NULL;
	faults_close(&s);
	s = faults_reopen(o);
	n = faults_points(s, T0, T0 + 4195);
	faults_close(&s);
	return n;
}

/* faults_hour, then a `ckpt` naming T0's 5 s segment, as a checkpoint interrupted
 * after writing it leaves. */
static void faults_hour_ckpt(struct xs_store_options *o)
{
	uint8_t list[9] = { XS_TIER_5S };
	char path[128];
	FILE *f;

	faults_hour(o);
	st_w64(list + 1, T0 / 86400);
	snprintf(path, sizeof(path), "%s/ckpt", test_dir);
	f = fopen(path, "wb");
	faults_require(f && fwrite(list, 1, sizeof(list), f) == sizeof(list) && fclose(f) == 0, "write ckpt");
}

/* After an open that had to be refused (*s closed if it opened all the same): the next
 * open reads `want` points of the hour; then the store's directory is removed. */
static void faults_then_points(const struct xs_store_options *o, struct xs_store **s, size_t want)
{
	size_t n;

	if (*s)
		faults_close(s);
	*s = faults_reopen(o);
	n = faults_points(*s, T0, T0 + 3595);
	ok(n == want, "then every point is there (%zu of %zu)", n, want);
	faults_close(s);
	tmp_dir_remove(test_dir);
}

/*
 * A read error on a segment's .idx, the first time it is parsed: the parse stops
 * there, but the runs after it are committed data. The checkpoint that next
 * writes to the segment parses it again (the error was once) and appends after
 * every run, where it used to cut the file at the error and lose them; a
 * reopen then reads every point.
 */
static void test_idx_read_error(void)
{
	struct xs_store_options o;
	struct xs_store *s;
	size_t before, after;
	bool met;

	faults_hour(&o);
	s = faults_reopen(&o);
	before = faults_points(s, T0, T0 + 3595);
	faults_close(&s);
	after = faults_ten_more(&o, &fault_file, "/5s-19676.idx", &met); /* T0's day */
	ok(met && before == 4 * 720 && after == 4 * 840,
	   "a read error once: every point of the hour before and the 10 minutes after (%zu of %d, "
	   "%zu of %d)", before, 4 * 720, after, 4 * 840);
	tmp_dir_remove(test_dir);
}

/* Opens o's store while every read of 5s-19676.idx fails with EIO: the open must be
 * refused, naming the file and the error (what: the check's message). */
static void faults_open_eio(struct xs_store_options *o, struct xs_store **s, const char *what)
{
	char err[XS_ERR_LEN] = "";

	fault_file = "/5s-19676.idx";
	ok(xs_store_open(o, s, err) != XS_OK && strstr(err, "5s-19676.idx") && strstr(err, strerror(EIO)),
	   "%s: %s", what, err);
	fault_file = NULL;
}

/* The same error while open() recovers an interrupted checkpoint (a `ckpt` file names
 * the segment): the open is refused, naming the .idx, instead of cutting it at the
 * error; the next open recovers and keeps every run. */
static void test_idx_read_error_recover(void)
{
	struct xs_store_options o;
	struct xs_store *s = NULL;

	faults_hour_ckpt(&o);
	faults_open_eio(&o, &s, "a read error while recovering refuses the open");
	faults_then_points(&o, &s, 4 * 720);
}

/*
 * The .idx of a segment cannot be opened at its first use (EMFILE: the API's
 * connections hold the descriptors): the segment is not taken for an empty one.
 * The read that met the error opens it again, and a checkpoint that meets it
 * appends after its runs (it cut both files to nothing, losing the hour before).
 */
static void test_idx_open_error(void)
{
	struct xs_store_options o;
	struct xs_store *s;
	size_t first, after;
	bool met;

	faults_hour(&o);
	s = faults_reopen(&o);
	fault_open_file = "5s-19676.idx";
	first = faults_points(s, T0, T0 + 3595);
	ok(fault_open_file == NULL && first == 4 * 720,
	   "a read whose .idx could not be opened at first tries again: %zu of %d points", first, 4 * 720);
	faults_close(&s);
	after = faults_ten_more(&o, &fault_open_file, "5s-19676.idx", &met); /* at the checkpoint's first use */
	ok(met && after == 4 * 840, "every point of the hour before and the 10 minutes after: %zu of %d", after,
	   4 * 840);
	tmp_dir_remove(test_dir);
}

/* A lost wal: the store restarts at the highest run generation on disk; a read error
 * on an .idx then refuses the open (a run it hides might hold a higher generation,
 * and runs above the one chosen would be cut as uncommitted). */
static void test_idx_read_error_wal_lost(void)
{
	struct xs_store_options o;
	char path[128];
	struct xs_store *s = NULL;

	faults_hour(&o);
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	fail_unless(unlink(path) == 0, "remove %s", path);
	faults_open_eio(&o, &s, "without a wal, a read error on an .idx refuses the open");
	/* the last window's blocks were still open: they lived in the wal, lost with it */
	faults_then_points(&o, &s, 4 * 600);
}

/*
 * A .seg cut short (a disk that lost its tail): the blocks of one series in one run
 * are read with one pread, which then comes short; the blocks before the cut still
 * read, one by one (the whole group was dropped), and the one that does not is
 * counted in damaged_blocks, as is every block of a .seg that was removed. An hour of 4 series, one
 * checkpoint at close (its run holds each series' first five 10-minute blocks, in
 * series order; the sixth is carried in the wal), then 10 bytes cut off the .seg:
 * the last series loses its fifth block only.
 */
static void test_seg_cut(void)
{
	char err[XS_ERR_LEN] = "", path[128];
	struct xs_store *s;
	size_t n[4];
	off_t size;

	tmp_dir_new(test_dir, "faults");
	s = faults_open(err);
	fail_unless(s && faults_rows(s, 4, T0, T0 + 3600, FAULTS_SECONDS, false), "an hour of rows: %s", err);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	size = faults_size("5s-19676.seg");
	snprintf(path, sizeof(path), "%s/5s-19676.seg", test_dir);
	fail_unless(size > 10 && truncate(path, size - 10) == 0, "cut %s", path);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	for (xs_series_id i = 0; i < 4; i++) {
		static struct xs_point pt[1000];

		n[i] = xs_store_read(s, i, XS_TIER_5S, T0, T0 + 3595, pt, 1000);
	}
	ok(n[0] == 720 && n[1] == 720 && n[2] == 720 && n[3] == 600,
	   "the last series loses the cut block only: %zu %zu %zu %zu points (720 720 720 600)", n[0], n[1],
	   n[2], n[3]);
	{
		struct xs_store_stats st;

		xs_store_stats(s, &st);
		ok(st.damaged_blocks == 1, "the cut block is counted as damaged (%llu), not a silent gap",
		   (unsigned long long)st.damaged_blocks);
	}
	xs_store_close(&s, err);
	/* the .seg removed (or a read error opening it): every block the index names is
	 * counted; the last 10 minutes, carried in the wal, still read */
	fail_unless(unlink(path) == 0, "remove %s", path);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	{
		static struct xs_point pt[1000];
		struct xs_store_stats st;
		size_t got = 0;

		for (xs_series_id i = 0; i < 4; i++)
			got += xs_store_read(s, i, XS_TIER_5S, T0, T0 + 3595, pt, 1000);
		xs_store_stats(s, &st);
		ok(got == 4 * 120 && st.damaged_blocks == 4 * 5,
		   "a missing .seg: its 20 blocks are counted as damaged (%llu), the wal's points read (%zu)",
		   (unsigned long long)st.damaged_blocks, got);
	}
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* A .seg that cannot be opened for want of a descriptor (EMFILE): its blocks are
 * skipped that time and counted as unread, not damaged, and the next read opens it
 * and gets every point. */
static void test_seg_emfile(void)
{
	static struct xs_point pt[1000];
	char err[XS_ERR_LEN] = "";
	struct xs_store_stats st;
	struct xs_store *s;
	size_t first, again;

	tmp_dir_new(test_dir, "faults");
	s = faults_open(err);
	fail_unless(s && faults_rows(s, 4, T0, T0 + 3600, FAULTS_SECONDS, false), "an hour of rows: %s", err);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	fault_open_file = "5s-19676.seg";
	fault_open_mode = O_RDONLY;
	first = xs_store_read(s, 0, XS_TIER_5S, T0, T0 + 3595, pt, 1000);
	fault_open_file = NULL;
	xs_store_stats(s, &st);
	ok(first == 120 && st.unread_blocks == 5 && st.damaged_blocks == 0,
	   "EMFILE: the wal's 120 points (%zu), 5 blocks unread (%llu), none damaged (%llu)", first,
	   (unsigned long long)st.unread_blocks, (unsigned long long)st.damaged_blocks);
	again = xs_store_read(s, 0, XS_TIER_5S, T0, T0 + 3595, pt, 1000);
	xs_store_stats(s, &st);
	ok(again == 720 && st.unread_blocks == 5 && st.damaged_blocks == 0,
	   "the next read opens it: %zu points (720), counts unchanged", again);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* Stray files whose names number a segment beyond what an int64 time can reach (a
 * segment's span times its number overflowed): not segments of the store. Expire
 * (the newest segment's time), a lost wal (its generation from every .idx) and a
 * `ckpt` naming one such segment all pass over them. */
static void faults_put(const char *name, const void *p, size_t n)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static void test_seg_name_range(void)
{
	static const uint8_t ck[9] = { 0, 0xff, 0x7f, 0xc6, 0xa4, 0x7e, 0x8d, 0x03, 0 }; /* 5s, 999999999999999 */
	uint8_t run[ST_RUN_HDR + ST_ENT + ST_DIR_ENT] = "XSR3"; /* a valid run of one entry */
	char err[XS_ERR_LEN] = "", path[128];
	struct xs_store *s;
	int64_t t;
	float v;

	tmp_dir_new(test_dir, "faults");
	s = faults_open(err);
	fail_unless(s && faults_rows(s, 4, T0, T0 + 3600, FAULTS_SECONDS, true), "an hour of rows: %s", err);
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	run[4] = 1;
	st_w32(run + 24, xs_crc32c(xs_crc32c(xs_crc32c(0, run, 24), run + 28, 4), run + ST_RUN_HDR + ST_ENT,
				   ST_DIR_ENT));
	faults_put("1d-999999999999999.seg", "", 0);
	faults_put("5s-999999999999999.idx", run, sizeof(run));
	faults_put("ckpt", ck, sizeof(ck));
	s = faults_open(err);
	fail_unless(s != NULL, "open beside the stray files: %s", err);
	ok(xs_store_expire(s, T0 + 7200, err) == XS_OK, "expire: %s", err);
	ok(xs_store_latest(s, 0, &t, &v) && t == T0 + 3595, "the rows read");
	fail_unless(xs_store_close(&s, err) == XS_OK, "close: %s", err);
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	fail_unless(unlink(path) == 0, "remove %s", path);
	s = faults_open(err);
	ok(s != NULL, "open without a wal, the generation from the .idx files: %s", err);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* Appends one CRC-framed wal record (payload r) to the store's wal. */
static void faults_wal_append(const struct st_bytes *r)
{
	struct st_bytes b = { 0 };
	char path[TMP_DIR_LEN + 8];
	FILE *f;

	st_frame(&b, r->p, r->len);
	snprintf(path, sizeof(path), "%s/wal", test_dir);
	f = fopen(path, "ab");
	if (!f || fwrite(b.p, 1, b.len, f) != b.len)
		abort();
	fclose(f);
	free(b.p);
}

/*
 * Times beyond what the store's arithmetic holds (a host's row time, a wal record
 * that passes its CRC): appends and backfills at them are refused, and wal records
 * carrying them are damage (the wal is cut there). They overflowed floors, sums and
 * the newest time expire computes.
 */
static void test_time_bounds(void)
{
	static const int64_t far[] = { INT64_MAX - 2, INT64_MIN + 3, ST_T_MAX + 7200 };
	char err[XS_ERR_LEN] = "";
	struct xs_store_stats st;
	struct st_bytes r = { 0 };
	struct xs_store *s;
	int64_t t;
	float v;

	tmp_dir_new(test_dir, "faults");
	s = faults_open(err);
	fail_unless(s && faults_rows(s, 2, T0, T0 + 600, FAULTS_SECONDS, true), "rows: %s", err);
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		int64_t ft = far[i] - far[i] % 5, fh = far[i] - far[i] % 3600;

		ok(xs_store_append(s, 0, ft, 1.0f, err) == XS_ERR_ARG, "append at %lld refused", (long long)ft);
		ok(xs_store_backfill(s, 1, XS_TIER_1H, fh, 1.0f, 1.0f, 1.0f, err) == XS_ERR_ARG,
		   "backfill at %lld refused", (long long)fh);
	}
	fail_unless(xs_store_sync(s, err) == XS_OK, "sync: %s", err);
	xs_store_close(&s, err);
	/* a row at INT64_MAX - 2 (a multiple of 5), then a backfill near INT64_MIN */
	st_put_u8(&r, 'R');
	st_put_u64(&r, (uint64_t)(INT64_MAX - 2));
	st_put_u32(&r, 1);
	st_put_u8(&r, 0); /* series 0, the same value */
	faults_wal_append(&r);
	r.len = 0;
	st_put_u8(&r, 'B');
	st_put_u32(&r, 1);
	st_put_u8(&r, XS_TIER_1H);
	st_put_u64(&r, (uint64_t)(INT64_MIN + 1808) /* a multiple of 3600 */);
	for (int k = 0; k < 3; k++)
		st_put_u32(&r, st_fbits(1.0f));
	faults_wal_append(&r);
	free(r.p);
	s = faults_open(err);
	fail_unless(s != NULL, "open: %s", err);
	xs_store_stats(s, &st);
	ok(st.wal_dropped_bytes > 0, "the records are damage: %llu bytes dropped",
	   (unsigned long long)st.wal_dropped_bytes);
	ok(xs_store_latest(s, 0, &t, &v) && t == T0 + 595, "series 0 ends at its last row (%lld)", (long long)t);
	ok(xs_store_expire(s, T0 + 86400, err) == XS_OK, "expire: %s", err);
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

/* A `ckpt` names a segment whose .idx exists but cannot be opened for writing (EIO):
 * the open is refused, naming it (its uncommitted runs would have stayed, unnamed);
 * the next open recovers and keeps every point. */
static void test_ckpt_recover_open_error(void)
{
	struct xs_store_options o;
	char err[XS_ERR_LEN] = "";
	struct xs_store *s = NULL;

	faults_hour_ckpt(&o);
	fault_open_mode = O_RDWR;
	fault_open_file = "5s-19676.idx";
	ok(xs_store_open(&o, &s, err) != XS_OK && strstr(err, "5s-19676.idx") && fault_open_file == NULL,
	   "a listed .idx that cannot be opened refuses the open: %s", err);
	fault_open_file = NULL;
	fault_open_mode = O_RDONLY;
	faults_then_points(&o, &s, 4 * 720);
}

/* Appends n zero bytes to (or makes) the file name of test_dir. */
static void faults_grow(const char *name, size_t n)
{
	static const uint8_t zero[4096];
	char path[128];
	FILE *f;
	bool good;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	f = fopen(path, "ab");
	good = f != NULL;
	for (size_t k = 0; good && k < n; k += sizeof(zero))
		good = fwrite(zero, 1, n - k < sizeof(zero) ? n - k : sizeof(zero), f) > 0;
	faults_require(good && fclose(f) == 0, "grow %s", name);
}

/*
 * A checkpoint killed (or failed on a full disk, then the process ended) after it wrote
 * blocks to its segments and part of wal.tmp: the open gives that space back, the
 * blocks past the last committed run's end and wal.tmp going (a full disk stayed full
 * otherwise, the daemon's syncs failing, until the segment's next checkpoint); every
 * point is still there.
 */
static void test_ckpt_recover_space(void)
{
	struct xs_store_options o;
	struct xs_store *s = NULL;
	off_t seg;

	faults_hour_ckpt(&o);
	seg = faults_size("5s-19676.seg");
	faults_grow("5s-19676.seg", 100000);
	faults_grow("1m-1967.seg", 50000); /* named by no ckpt: left alone */
	faults_grow("wal.tmp", 100000);
	s = faults_reopen(&o);
	ok(faults_size("5s-19676.seg") == seg && faults_size("wal.tmp") < 0,
	   "the unfinished checkpoint's bytes are gone (.seg %lld of %lld, wal.tmp %lld)",
	   (long long)faults_size("5s-19676.seg"), (long long)seg, (long long)faults_size("wal.tmp"));
	ok(faults_size("1m-1967.seg") >= 50000, "a segment ckpt does not name keeps its bytes");
	faults_then_points(&o, &s, 4 * 720);
}

/*
 * A checkpoint that keeps failing (an .idx that cannot be read) is tried again after
 * a back-off (2, 4, ... s), not at every sync: 400 syncs in the same second (the
 * log passes wal_max early on) try it once. Once the clock passes the back-off and
 * the disk reads again, it succeeds, and every point is there after a reopen.
 */
static void test_ckpt_backoff(void)
{
	struct xs_store_options o;
	struct xs_store *s;
	char err[XS_ERR_LEN] = "";
	int tries;

	faults_hour(&o);
	s = faults_reopen(&o);
	fault_file = "/5s-19676.idx";
	fault_sticky = true;
	fault_hits = 0;
	for (int64_t t = T0 + 3600; t < T0 + 5600; t += 5) { /* 400 rows, a sync each */
		for (xs_series_id i = 0; i < 4; i++)
			xs_store_append(s, i, t, faults_value(FAULTS_SECONDS, i, t), err);
		xs_store_sync(s, err);
	}
	tries = fault_hits;
	fault_file = NULL;
	fault_sticky = false;
	ok(tries >= 1 && tries <= 2, "400 syncs, one checkpoint try (%d reads of the .idx failed)", tries);
	ok(s->ckpt_fails == 1 && s->npend > 0, "it failed once; the sealed blocks wait (%u, %zu)", s->ckpt_fails,
	   s->npend);
	ok(xs_store_sync(s, err) == XS_OK && xs_store_checkpoint_failures(s) == 1,
	   "a sync before the next try succeeds, the failure is still told");
	fault_now += 3;
	ok(xs_store_sync(s, err) == XS_OK && s->ckpt_fails == 0 && s->npend == 0 &&
		   xs_store_checkpoint_failures(s) == 0,
	   "after the back-off it succeeds: %s", err);
	faults_close(&s);
	s = faults_reopen(&o);
	ok(faults_points(s, T0, T0 + 5595) == 4 * 1120, "every point is there (%zu)",
	   faults_points(s, T0, T0 + 5595));
	faults_close(&s);
	tmp_dir_remove(test_dir);
}

/*
 * A checkpoint that fails on a full disk gives back the space it took. 200 series,
 * 40 minutes of rows; then the disk has 24 KiB left, room for many rows but not
 * for the checkpoint's blocks and new wal. The checkpoint fails, naming the file;
 * the rows after it sync (its partial segments and wal.tmp used to keep the space,
 * and every sync failed until an operator freed some, the checkpoint being retried
 * only after a sync that succeeds). A child does this and dies without closing:
 * reopened, every row is there, and nothing is left past the segments' ends.
 */
static void test_ckpt_full_disk_room(uint64_t room, const char *file)
{
	char err[XS_ERR_LEN] = "";
	struct xs_store *s;
	pid_t pid;
	int status;

	tmp_dir_new(test_dir, "faults");
	pid = fork();
	fail_unless(pid >= 0, "fork");
	if (pid == 0) {
		struct xs_store_options o = { .dir = test_dir };
		int rc = 0;

		if (xs_store_open(&o, &s, err) != XS_OK)
			_exit(10);
		if (!faults_rows(s, 200, T0, T0 + 2400, FAULTS_BOTH, true))
			_exit(11);
		fault_disk = fault_disk_used() + room;
		s->wal_max = 0; /* the next sync checkpoints */
		faults_rows(s, 200, T0 + 2400, T0 + 2405, FAULTS_BOTH, false);
		if (xs_store_sync(s, err) == XS_OK || s->ckpt_fails != 1)
			rc = 12; /* the checkpoint fit: the test would prove nothing */
		else if (!strstr(err, strerror(ENOSPC)) || !strstr(err, file))
			rc = 13; /* not the file whose write this case is about */
		s->wal_max = ST_WAL_MAX; /* and no other try (its back-off is 2 s anyway) */
		if (!rc && faults_size("wal.tmp") >= 0)
			rc = 14;
		for (int64_t t = T0 + 2405; !rc && t < T0 + 2505; t += 5) {
			for (xs_series_id i = 0; i < 200; i++)
				xs_store_append(s, i, t, faults_value(FAULTS_SECONDS, i, t), err);
			if (xs_store_sync(s, err) != XS_OK)
				rc = 15; /* the failed checkpoint's bytes hold the space */
		}
		_exit(rc); /* no close: as kill -9 after the sync */
	}
	status = faults_child_exit(pid);
	ok(status == 0, "child: a checkpoint failed writing %s on a full disk, the syncs after it succeed (exit %d)",
	   file, status);
	s = faults_open(err);
	fail_unless(s != NULL, "reopen: %s", err);
	ok(faults_all_latest(s, 200, T0 + 2500), "reopened after kill -9: every series has its last synced row");
	ok(faults_size("5s-19676.seg") <= 0 && faults_size("5s-19676.idx") <= 0 && faults_size("wal.tmp") < 0,
	   "nothing of it is left (.seg %lld, .idx %lld bytes)", (long long)faults_size("5s-19676.seg"),
	   (long long)faults_size("5s-19676.idx"));
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}





static void test_ckpt_full_disk(void)
{
	/* the rooms where the 5 s segment's blocks, its index run, the new wal fail */
	test_ckpt_full_disk_room(24 << 10, "5s-19676.seg");
	test_ckpt_full_disk_room(80 << 10, "5s-19676.idx");
	test_ckpt_full_disk_room(140 << 10, "wal.tmp");
}

/* A new store's directory is made by open(), and the directory holding it is fsynced, so
 * that its entry survives a power cut as the files in it will. */
static void test_new_dir_synced(void)
{
	char err[XS_ERR_LEN] = "", dir[TMP_DIR_LEN + 16];
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	struct stat sb;

	tmp_dir_new(test_dir, "faults");
	snprintf(dir, sizeof(dir), "%s/store", test_dir);
	fail_unless(stat(test_dir, &sb) == 0, "stat %s", test_dir);
	fault_watch_ino = sb.st_ino;
	fault_watch_fsyncs = 0;
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "open: %s", err);
	ok(fault_watch_fsyncs >= 1, "the directory holding a new store was synced (%d)", fault_watch_fsyncs);
	fault_watch_ino = 0;
	xs_store_close(&s, err);
	tmp_dir_remove(test_dir);
}

int main(void)
{
	TEST_RUN(test_catalog_short_write);
	TEST_RUN(test_read_error_wal);
	TEST_RUN(test_read_error_catalog);
	TEST_RUN(test_row_records);
	TEST_RUN(test_catalog_damage);
	TEST_RUN(test_index_damage);
	TEST_RUN(test_wal_half_record);
	TEST_RUN(test_wal_dropped);
	TEST_RUN(test_wal_dropped_full_disk);
	TEST_RUN(test_wal_short_write);
	TEST_RUN(test_wal_lost);
	TEST_RUN(test_wal_dir_fsync);
	TEST_RUN(test_idx_read_error);
	TEST_RUN(test_idx_read_error_recover);
	TEST_RUN(test_idx_open_error);
	TEST_RUN(test_idx_read_error_wal_lost);
	TEST_RUN(test_new_dir_synced);
	TEST_RUN(test_seg_cut);
	TEST_RUN(test_seg_emfile);
	TEST_RUN(test_seg_name_range);
	TEST_RUN(test_time_bounds);
	TEST_RUN(test_ckpt_recover_open_error);
	TEST_RUN(test_ckpt_backoff);
	TEST_RUN(test_ckpt_full_disk);
	TEST_RUN(test_ckpt_recover_space);
	return test_summary();
}
