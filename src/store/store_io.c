/*
 * store_io.c - the store's file I/O: CRC-framed records, whole-file reads, positioned
 * writes and reads that never return short, directory fsyncs, the owner's I/O hooks.
 */
#include "store/store_internal.h"
#include "lib/path.h"

enum xs_err st_errno(char *err, const char *what, const struct xs_store *s, const char *file)
{
	return xs_err_set(err, XS_ERR_IO, "%s %s/%s: %s", what, s->dir, file, strerror(errno));
}

enum xs_err st_write_all(int fd, const void *p, size_t n, uint64_t off)
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
enum xs_err st_read_file(int dirfd, const char *name, uint8_t **out, size_t *len)
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
void st_frame(struct st_bytes *b, const uint8_t *payload, size_t len)
{
	st_put_u32(b, (uint32_t)len);
	st_put_u32(b, xs_crc32c(0, payload, len));
	st_put(b, payload, len);
}

/* The next framed record at *pos of buf, or false at a torn or corrupt one. */
bool st_unframe(const uint8_t *buf, size_t len, size_t *pos, struct st_cur *rec)
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

/* n bytes at off, all of them; false with errno set (EIO for a short read) otherwise. */
bool st_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(fd, buf, n, (off_t)off);

	if (r >= 0 && (size_t)r != n)
		errno = EIO;
	return r >= 0 && (size_t)r == n;
}

/* The owner's io_begin / io_end hooks, if any (see xs_store_options). */
void st_io_begin(struct xs_store *s)
{
	if (s->io_begin)
		s->io_begin(s->io_arg);
}

void st_io_end(struct xs_store *s)
{
	if (s->io_end)
		s->io_end(s->io_arg);
}

/* In a pass over every series, before series id: the owner's yield hook every
 * XS_STORE_YIELD_EVERY series (see xs_store_options.yield). */
void st_yield_at(struct xs_store *s, uint32_t id)
{
	if (s->yield && id && id % XS_STORE_YIELD_EVERY == 0)
		s->yield(s->io_arg);
}

/* The catalog buffer after its bytes were written: emptied, and freed when a
 * burst (a thousand hosts' series created at once) grew it past ST_BYTES_KEEP.
 * Not for the wal's buffer: every row fills it again, about 3 MB at 658k series (st_sync
 * frees it past ST_WALBUF_KEEP). */
void st_bytes_written(struct st_bytes *b)
{
	b->len = 0;
	if (b->cap > ST_BYTES_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

/* fsync of the directory that holds path (a new store's directory, made by mkdir: its
 * entry must survive a power cut as the files in it will); 0, or -1 with errno. */
int st_fsync_parent(const char *path)
{
	size_t n = xs_path_parent_len(path);
	char *parent;
	int fd, rc, saved;

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
