/*
 * store_dormant.c - the dormant file ("dormant"): the times of dormant series,
 * written once when a series goes dormant instead of in every checkpoint's wal.
 *
 * An estate that creates and deletes VMs by the thousand accumulates dormant
 * series for as long as retention keeps their data (years at the 1 d tier). A
 * 'D' carry record each in every checkpoint's wal made each checkpoint write
 * 32 bytes per series ever stopped; here a series costs one record when it goes
 * dormant, and again only if it wakes and sleeps again.
 *
 * Format: a 16-byte header ("XSD1", u32 version 1, 8 zero bytes), then CRC-framed
 * 'D' records as the wal's (st_carry_dormant). The last record of a series wins.
 * Loaded at open before the wal, whose 'C' records and rows then override the
 * state of any series that was awake at its checkpoint.
 *
 * Crash safety: the records of the series a checkpoint makes dormant are
 * appended and fdatasync'ed before that checkpoint writes its wal (which has no
 * record of them); until the new wal is in place the old one carries them as
 * awake, and its 'C' records override the file's. Stale records (of series that
 * woke since) are dropped only by a compaction, which rewrites the file from the
 * series dormant now, after a checkpoint whose wal's rename is on disk: every
 * series awake then has a 'C' record in the committed wal.
 *
 * Damage: a record that fails its CRC or does not parse is skipped (the next
 * valid frame is searched for byte by byte); its series opens without its times,
 * as after a damaged wal. A torn tail is cut.
 */
#include "store/store_internal.h"

static enum xs_err st_dormant_create(struct xs_store *s, const char *name, int *fdp, char *err)
{
	uint8_t h[ST_FILE_HDR] = { 0 };
	int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	st_w32(h, ST_MAGIC_DORMANT);
	st_w32(h + 4, 1);
	if (fd < 0 || st_write_all(fd, h, sizeof(h), 0) || fsync(fd) < 0) {
		enum xs_err e = st_errno(err, "write", s, name);

		if (fd >= 0)
			close(fd);
		return e;
	}
	*fdp = fd;
	return XS_OK;
}

#define ST_DORMANT_MAX_RECORD 64 /* bytes of a 'D' record at most (58) */

/* Whether a whole 'D' frame with a valid CRC starts at buf[at]. */
static bool st_frame_at(const uint8_t *buf, size_t len, size_t at)
{
	struct st_cur rec;

	return len - at >= 8 && st_le32(buf + at) <= ST_DORMANT_MAX_RECORD && st_unframe(buf, len, &at, &rec);
}

/* The frames that lead from buf[from] to buf[to] exactly by their lengths; 0 if they do not. */
static size_t st_frames_between(const uint8_t *buf, size_t from, size_t to)
{
	size_t n = 0;

	while (from < to) {
		uint32_t len = to - from >= 8 ? st_le32(buf + from) : 0;

		if (!len || len > to - from - 8)
			return 0;
		from += 8 + len;
		n++;
	}
	return n;
}

/* Applies the 'D' record rec of the dormant file; false if it does not parse or names
 * no series of the catalog. */
static bool st_dormant_apply(struct xs_store *s, struct st_cur *rec)
{
	return st_get_u8(rec) == 'D' && st_replay_dormant(s, rec, true);
}

enum xs_err st_dormant_load(struct xs_store *s, char *err)
{
	uint8_t *buf;
	size_t len, pos = ST_FILE_HDR, end = ST_FILE_HDR;
	struct st_cur rec;

	if (st_read_file(s->dirfd, "dormant", &buf, &len))
		return st_errno(err, "read", s, "dormant");
	if (len >= ST_FILE_HDR && st_le32(buf) != ST_MAGIC_DORMANT) {
		free(buf);
		return xs_err_set(err, XS_ERR_PARSE,
				  "%s/dormant: not a dormant series file (header damaged); moving the "
				  "file away opens the store, the series dormant since their last sample "
				  "without their last times (their points stay readable)",
				  s->dir);
	}
	if (len < ST_FILE_HDR) { /* none yet (a store of an older version), or torn at creation */
		free(buf);
		s->dormant_size = ST_FILE_HDR;
		s->dormant_made = true; /* st_wal_load: lost, if the wal is of a version that has one */
		if (st_dormant_create(s, "dormant", &s->dormant_fd, err))
			return XS_ERR_IO;
		return fsync(s->dirfd) < 0 ? st_errno(err, "sync", s, ".") : XS_OK;
	}
	while (pos < len) {
		size_t at = pos, n;

		if (st_unframe(buf, len, &at, &rec)) {
			s->dormant_records++;
			if (!st_dormant_apply(s, &rec))
				s->st.dormant_damaged++;
			pos = end = at;
			continue;
		}
		/* damage or the torn tail: reading goes on at the next valid frame, searched for
		 * byte by byte; the records skipped are counted by their lengths when these lead
		 * to it exactly, else as one. Nothing valid after it: a tail whose frames are all
		 * there is damage (its last records), one cut short the torn tail of an append;
		 * either way it is cut. */
		for (at = pos + 1; at + 8 <= len && !st_frame_at(buf, len, at); at++)
			;
		if (at + 8 > len)
			at = len;
		n = st_frames_between(buf, pos, at);
		if (at == len) {
			s->st.dormant_damaged += n;
			break;
		}
		s->st.dormant_damaged += n ? n : 1;
		pos = at;
	}
	free(buf);
	s->dormant_fd = openat(s->dirfd, "dormant", O_RDWR | O_CLOEXEC);
	if (s->dormant_fd < 0)
		return st_errno(err, "open", s, "dormant");
	if (ftruncate(s->dormant_fd, (off_t)end) < 0)
		return st_errno(err, "truncate", s, "dormant");
	s->dormant_size = end;
	return XS_OK;
}

/* Appends the records of every dormant series whose times the file lacks, and syncs
 * the file; *live: the dormant series with times, all in the file now. On an error
 * the file is cut back to what it held: the checkpoint fails and is tried again. */
enum xs_err st_dormant_append(struct xs_store *s, uint64_t *live, char *err)
{
	struct st_bytes b = { 0 };
	uint64_t n = 0;
	enum xs_err e = XS_OK;

	*live = 0;
	for (uint32_t id = 0; id < s->nser; id++) {
		const struct st_series *se = &s->ser[id];

		if (se->act != ST_DORMANT || !st_has_times(se))
			continue;
		(*live)++;
		if (!se->times_saved) {
			st_carry_dormant(s, id, &b);
			n++;
		}
	}
	if (!b.len)
		return XS_OK;
	if (st_write_all(s->dormant_fd, b.p, b.len, s->dormant_size) || fdatasync(s->dormant_fd) < 0 ||
	    (s->dormant_tail && ftruncate(s->dormant_fd, (off_t)(s->dormant_size + b.len)) < 0)) {
		e = st_errno(err, "write", s, "dormant");
		/* whole frames of this try left past the end would come after a later, shorter
		 * append's and win at open: cut them, or at the next append that succeeds */
		s->dormant_tail = ftruncate(s->dormant_fd, (off_t)s->dormant_size) < 0;
	} else {
		s->dormant_tail = false;
		s->dormant_size += b.len;
		s->dormant_records += n;
		for (uint32_t id = 0; id < s->nser; id++)
			if (s->ser[id].act == ST_DORMANT)
				s->ser[id].times_saved = true;
	}
	free(b.p);
	return e;
}

/*
 * Rewrites the file with the records of the `live` dormant series alone when it holds
 * more than twice as many records and ST_DORMANT_SLACK more. Call only after a
 * checkpoint whose wal's rename is on disk (see the top). Best effort: on a failure
 * the old file stays, as valid as before, and the next checkpoint tries again.
 */
void st_dormant_compact(struct xs_store *s, uint64_t live)
{
	struct st_bytes b = { 0 };
	uint64_t off = ST_FILE_HDR;
	int fd;
	bool good;

	if (s->dormant_records <= 2 * live + ST_DORMANT_SLACK || s->dir_unsynced)
		return;
	if (st_dormant_create(s, "dormant.tmp", &fd, NULL))
		return;
	good = true;
	for (uint32_t id = 0; good && id <= s->nser; id++) {
		if (id < s->nser && s->ser[id].act == ST_DORMANT && s->ser[id].times_saved &&
		    st_has_times(&s->ser[id]))
			st_carry_dormant(s, id, &b);
		if (b.len >= ST_WAL_CHUNK || (id == s->nser && b.len)) {
			good = st_write_all(fd, b.p, b.len, off) == XS_OK;
			off += b.len;
			b.len = 0;
		}
	}
	free(b.p);
	if (!good || fdatasync(fd) < 0 || renameat(s->dirfd, "dormant.tmp", s->dirfd, "dormant") < 0) {
		close(fd);
		unlinkat(s->dirfd, "dormant.tmp", 0);
		s->st.dormant_compact_failures++;
		return;
	}
	/* renamed: the old file's records are gone whether or not the directory's fsync
	 * succeeds (if it does not, a power cut may bring the old, still valid, file back) */
	if (fsync(s->dirfd) < 0)
		s->dir_unsynced = true;
	close(s->dormant_fd);
	s->dormant_fd = fd;
	s->dormant_size = off;
	s->dormant_records = live;
	s->st.dormant_compactions++;
}
