/*
 * store.c - opening and closing a store, retention (expire) and its figures.
 *
 * The store's other files are listed in store_internal.h.
 */
#include "store/store_internal.h"

/* A block holds the points of one window; a segment file the blocks of one span. */
const int64_t st_window[XS_NTIERS] = { 600, 1800, 86400, 864000 };
const int64_t st_span[XS_NTIERS] = { 86400, 864000, 8640000, 86400000 };
const char *const st_tier_name[XS_NTIERS] = { "5s", "1m", "1h", "1d" };

const int64_t xs_tier_step[XS_NTIERS] = { 5, 60, 3600, 86400 };
const int64_t xs_tier_default_retention[XS_NTIERS] = { 2 * 86400, 60 * 86400, 2 * 365 * 86400,
							10 * 365 * 86400 };

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
	if (s->dormant_fd >= 0)
		close(s->dormant_fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->segs);
	free(s->pend);
	free(s->row);
	free(s->ser);
	free(s->arena);
	free(s->strhash);
	free(s->hash);
	free(s->ohash);
	free(s->catbuf.p);
	free(s->walbuf.p);
	free(s->rt);
	free(s->rv);
	free(s->mt);
	free(s->mv);
	xs_block_cleanup(&s->thaw);
	free(s->thaw_t);
	free(s->thaw_v);
	free(s->dir);
	free(s);
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
	s->cat_fd = s->wal_fd = s->dormant_fd = s->lockfd = -1;
	s->act_free = ST_DORMANT;
	for (int k = 0; k < XS_NTIERS; k++)
		s->retention[k] = o->retention[k] > 0 ? o->retention[k] : xs_tier_default_retention[k];
	s->wal_max = o->wal_max ? o->wal_max : ST_WAL_MAX;
	s->backlog_max = o->backlog_max ? o->backlog_max : XS_STORE_BACKLOG_MAX;
	s->io_begin = o->io_begin;
	s->io_end = o->io_end;
	s->yield = o->yield;
	s->io_arg = o->io_arg;
	s->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		e = xs_err_set(err, XS_ERR_IO, "open %s: %s", o->dir, strerror(errno));
		goto out_free;
	}
	s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lockfd < 0) { /* a read-only file system, a directory of another user */
		e = xs_err_set(err, XS_ERR_IO, "%s/LOCK: cannot create or open it: %s", o->dir,
			       strerror(errno));
		goto out_free;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		e = xs_err_set(err, XS_ERR_IO, "%s/LOCK: %s%s", o->dir, strerror(errno),
			       errno == EWOULDBLOCK ? " (another xapistat uses this store)" : "");
		goto out_free;
	}
	s->now_min = ST_NOW_MINUTES();
	st_hash_grow(s);
	st_obj_grow(s);
	st_seg_scan(s);
	e = st_cat_load(s, err);
	if (!e)
		e = st_dormant_load(s, err);
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
	if (newest != INT64_MIN && newest <= INT64_MAX - ST_EXPIRE_SLACK && now > newest + ST_EXPIRE_SLACK)
		now = newest + ST_EXPIRE_SLACK; /* (a 'D' record carries any int64) */
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
	st->dormant_bytes = s->dormant_size;
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
