/*
 * libFuzzer target: the store's own files as xs_store_open() reads them
 * (src/store/: catalog, wal, dormant, ckpt, segment .idx and .seg), which a
 * crash, a bad disk or a stray file can leave in any state.
 *
 * Input: u8 flags, then files, each u8 name length (1..40), the name
 * (letters, digits, '.', '-', '_'; not "LOCK", not starting with '.';
 * anything else ends the input), u32 LE length (cut to what is left), the
 * bytes. They are written to a fresh directory under /dev/shm (or $TMPDIR),
 * which the store opens. Flags make the checksums right before a file is
 * written, so that mutations reach the parsers behind them: bit 0 the record
 * frames of series, wal and dormant; bit 1 the wal header's; bit 2 the run
 * headers and directory chunks of every .idx. Without them the input tests
 * the checks themselves (damage, torn tails).
 *
 * Invariants: an open that fails leaves a message; an open that succeeds
 * lists its series (each found again by xs_store_find), reads the first ones
 * at every tier (ascending times), expires what retention no longer keeps,
 * closes without error, and the directory it leaves opens again with the same
 * number of series. Any other outcome aborts.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"
#include "store/store.h"
#include "store/store_codec.h"

#define FUZZ_MAX_FILES 24
#define FUZZ_READ_SERIES 16
#define FUZZ_READ_CAP 4096
#define FUZZ_NOW 1800000000 /* the clock expire is given (2027) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_list {
	const struct xs_store *s;
	size_t n;
	xs_series_id ids[FUZZ_READ_SERIES];
};

static bool fuzz_name_ok(const char *name, size_t len)
{
	if (len == 0 || name[0] == '.' || (len == 4 && !memcmp(name, "LOCK", 4)))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fuzz_w32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Record frames (u32 len, u32 crc32c, payload) after the 16-byte header. */
static void fuzz_fix_frames(uint8_t *b, size_t len)
{
	for (size_t pos = 16; len - pos >= 8 && pos < len;) {
		uint32_t n = fuzz_le32(b + pos);

		if (n == 0 || n > len - pos - 8)
			break;
		fuzz_w32(b + pos + 4, xs_crc32c(0, b + pos + 8, n));
		pos += 8 + (size_t)n;
	}
}

/* Index runs: 32-byte header (CRC at 24 over 0..24, 28..32 if XSR3, and the directory),
 * n 16-byte entries, a directory of (u32 first series, u32 CRC) per 128 entries. */
static void fuzz_fix_idx(uint8_t *b, size_t len)
{
	for (size_t pos = 0; len - pos >= 32 && pos < len;) {
		uint8_t *h = b + pos;
		uint64_t n = fuzz_le32(h + 4), nd = (n + 127) / 128, bytes = 32 + n * 16 + nd * 8;
		uint8_t *ent = h + 32, *dir = ent + n * 16;
		uint32_t crc;

		if (n == 0 || bytes > len - pos)
			break;
		for (uint64_t k = 0; k < nd; k++) {
			uint64_t m = n - k * 128 > 128 ? 128 : n - k * 128;

			fuzz_w32(dir + k * 8 + 4, xs_crc32c(0, ent + k * 128 * 16, (size_t)m * 16));
		}
		crc = xs_crc32c(0, h, 24);
		if (fuzz_le32(h) == 0x33525358u) /* "XSR3" */
			crc = xs_crc32c(crc, h + 28, 4);
		fuzz_w32(h + 24, xs_crc32c(crc, dir, (size_t)nd * 8));
		pos += (size_t)bytes;
	}
}

static void fuzz_fix(unsigned flags, const char *name, uint8_t *b, size_t len)
{
	size_t nl = strlen(name);

	if ((flags & 1) && (!strcmp(name, "series") || !strcmp(name, "wal") || !strcmp(name, "dormant")))
		fuzz_fix_frames(b, len);
	if ((flags & 2) && !strcmp(name, "wal") && len >= 16)
		fuzz_w32(b + 4, xs_crc32c(xs_crc32c(0, b, 4), b + 8, 8));
	if ((flags & 4) && nl > 4 && !strcmp(name + nl - 4, ".idx"))
		fuzz_fix_idx(b, len);
}

/* Writes the input's files; the number written. */
static int fuzz_write_files(const uint8_t *data, size_t size)
{
	size_t pos = 1;
	int files = 0;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];

	while (files < FUZZ_MAX_FILES && pos < size) {
		char name[48], path[320];
		size_t nl = data[pos++], len;
		int fd;

		if (nl == 0 || nl > 40 || size - pos < nl + 4 || !fuzz_name_ok((const char *)data + pos, nl))
			break;
		memcpy(name, data + pos, nl);
		name[nl] = '\0';
		pos += nl;
		len = fuzz_le32(data + pos);
		pos += 4;
		if (len > size - pos)
			len = size - pos;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			abort();
		if (len) {
			uint8_t *b = malloc(len);

			memcpy(b, data + pos, len);
			fuzz_fix(flags, name, b, len);
			if (write(fd, b, len) != (ssize_t)len)
				abort();
			free(b);
		}
		close(fd);
		pos += len;
		files++;
	}
	return files;
}

static void fuzz_each(void *arg, xs_series_id id, enum xs_obj_kind kind, const char *uuid,
		      const char *ds, const char *unit)
{
	struct fuzz_list *l = arg;
	xs_series_id found;

	(void)unit;
	/* a lost series' placeholder and a series whose unit changed are found too */
	if (!xs_store_find(l->s, kind, uuid, ds, &found))
		abort();
	if (l->n < FUZZ_READ_SERIES)
		l->ids[l->n++] = id;
}

static void fuzz_read(struct xs_store *s, const struct fuzz_list *l)
{
	static struct xs_point pts[FUZZ_READ_CAP];

	for (size_t i = 0; i < l->n; i++) {
		for (int tier = 0; tier < XS_NTIERS; tier++) {
			int64_t last = xs_store_last(s, l->ids[i], (enum xs_tier)tier);
			/* the span a client may ask for: up to 10 years before the newest point */
			int64_t to = last > 0 ? last : 0, from = to - 10 * 365 * 86400LL;
			size_t n = xs_store_read(s, l->ids[i], (enum xs_tier)tier, from, to, pts,
						 FUZZ_READ_CAP);
			struct xs_point part;

			for (size_t k = 1; k < n && k < FUZZ_READ_CAP; k++)
				if (pts[k].t <= pts[k - 1].t)
					abort();
			(void)xs_store_read_partial(s, l->ids[i], (enum xs_tier)tier, &part);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_store_options o = { 0 };
	struct xs_store *s = NULL;
	struct xs_store_stats st;
	struct fuzz_list l = { 0 };
	char err[XS_ERR_LEN];
	uint64_t nser;

	fuzz_tmpdir_make("store");
	fuzz_tmpdir_empty();
	fuzz_write_files(data, size);
	o.dir = fuzz_dir;
	err[0] = '\0';
	if (xs_store_open(&o, &s, err) != XS_OK) {
		if (s != NULL || !err[0])
			abort();
		return 0;
	}
	l.s = s;
	xs_store_each(s, fuzz_each, &l);
	fuzz_read(s, &l);
	/* what the daemon does every so often: now is taken as at most a day past the data */
	if (xs_store_expire(s, FUZZ_NOW, err) != XS_OK)
		abort();
	xs_store_stats(s, &st);
	nser = st.series;
	if (xs_store_close(&s, err) != XS_OK)
		abort();
	/* what close left is a store, with the same series */
	if (xs_store_open(&o, &s, err) != XS_OK)
		abort();
	xs_store_stats(s, &st);
	if (st.series != nser)
		abort();
	if (xs_store_close(&s, err) != XS_OK)
		abort();
	return 0;
}
