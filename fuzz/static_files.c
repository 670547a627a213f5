/*
 * libFuzzer target: URL paths looked up in the web UI's root
 * (src/http/static_files.c, xs_static_lookup), the decoded path a client's
 * request names.
 *
 * Set-up, once: under /dev/shm (or $TMPDIR) a directory holding `secret` and
 * `root/`, the root served: index.html, app.js, sub/index.html, sub/x.css, a
 * dotfile .hidden, and two symbolic links that lead out, `out` (to ../secret)
 * and `sub/up` (to ..). Input: the path's bytes (NUL included, cut to what
 * fits).
 *
 * Invariants: a lookup that succeeds gives a descriptor of one of the four
 * served files (by device and inode), never the secret, the dotfile or a
 * directory, for a path that starts with '/', has no NUL, backslash, '.'
 * segment or dotfile segment, and is at most XS_STATIC_MAX_PATH bytes; its size
 * is the file's and its content type not NULL. A refusal is XS_ERR_ARG or
 * XS_ERR_IO. Any other outcome aborts.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"
#include "http/static_files.h"

#define FUZZ_SERVED 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xs_static *fuzz_root;
static struct stat fuzz_served[FUZZ_SERVED];

static void fuzz_write(const char *rel, const char *text, struct stat *sb)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, rel);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	if (sb && stat(path, sb) < 0)
		abort();
}

static void fuzz_link(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, rel);
	if (symlink(target, path) < 0)
		abort();
}

static void fuzz_once(void)
{
	char path[512], err[XS_ERR_LEN];

	fuzz_tmpdir_make("static");
	snprintf(path, sizeof(path), "%s/root", fuzz_dir);
	if (mkdir(path, 0755) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/root/sub", fuzz_dir);
	if (mkdir(path, 0755) < 0)
		abort();
	fuzz_write("secret", "secret\n", NULL);
	fuzz_write("root/index.html", "<!doctype html>\n", &fuzz_served[0]);
	fuzz_write("root/app.js", "export {};\n", &fuzz_served[1]);
	fuzz_write("root/sub/index.html", "<p>sub</p>\n", &fuzz_served[2]);
	fuzz_write("root/sub/x.css", "p{}\n", &fuzz_served[3]);
	fuzz_write("root/.hidden", "dotfile\n", NULL);
	fuzz_link("../secret", "root/out");
	fuzz_link("..", "root/sub/up");
	snprintf(path, sizeof(path), "%s/root", fuzz_dir);
	if (xs_static_open(path, &fuzz_root, err) != XS_OK)
		abort();
}

/* Whether the path could be served: the rules of static_files.h that need no file system. */
static int fuzz_path_ok(const char *p, size_t n)
{
	if (n == 0 || n > XS_STATIC_MAX_PATH || p[0] != '/' || memchr(p, '\0', n) || memchr(p, '\\', n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '/' && i + 1 < n && p[i + 1] == '.')
			return 0; /* ".", "..", or a dotfile segment */
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ctype = NULL;
	uint64_t fsize = 0;
	struct stat sb;
	enum xs_err rc;
	int fd = -1, served = -1;

	if (!fuzz_root)
		fuzz_once();
	if (size > XS_STATIC_MAX_PATH + 16)
		size = XS_STATIC_MAX_PATH + 16;
	rc = xs_static_lookup(fuzz_root, (const char *)data, size, &fd, &fsize, &ctype);
	if (rc != XS_OK) {
		if (rc != XS_ERR_ARG && rc != XS_ERR_IO)
			abort();
		return 0;
	}
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || !ctype ||
	    fsize != (uint64_t)sb.st_size || !fuzz_path_ok((const char *)data, size))
		abort();
	for (int i = 0; i < FUZZ_SERVED; i++)
		if (sb.st_dev == fuzz_served[i].st_dev && sb.st_ino == fuzz_served[i].st_ino)
			served = i;
	if (served < 0)
		abort(); /* the secret, the dotfile, or anything else */
	close(fd);
	return 0;
}
