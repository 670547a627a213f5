/*
 * static_files.c - web UI files under a root, with no path escape (see
 * static_files.h).
 *
 * Two independent guards: the URL path is checked segment by segment before
 * anything touches the file system, and the joined path is then resolved with
 * realpath() and must still lie under the resolved root. The first stops
 * ".." and dotfiles whatever the disk holds; the second stops a symlink
 * inside the root that points outside it. A symlink that stays inside the
 * root is followed (a build tool may link assets).
 */
#include "http/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/xmalloc.h"

#define STATIC_INDEX "index.html"

struct xs_static {
	char *root;      /* realpath of the root, no trailing '/' (except "/") */
	size_t root_len;
};

static const struct {
	const char *ext;
	const char *type;
} static_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "ico", "image/x-icon" },
	{ "woff2", "font/woff2" },
};

const char *xs_static_content_type(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');

	if (dot) {
		for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++) {
			if (!strcasecmp(dot + 1, static_types[i].ext))
				return static_types[i].type;
		}
	}
	return "application/octet-stream";
}

enum xs_err xs_static_open(const char *dir, struct xs_static **out, char *err)
{
	struct xs_static *st;
	struct stat sb;
	char *real;

	*out = NULL;
	if (!dir || !*dir)
		return xs_err_set(err, XS_ERR_ARG, "static files: empty directory name");
	real = realpath(dir, NULL);
	if (!real)
		return xs_err_set(err, XS_ERR_IO, "static files: %s: %s", dir, strerror(errno));
	if (stat(real, &sb) || !S_ISDIR(sb.st_mode)) {
		free(real);
		return xs_err_set(err, XS_ERR_ARG, "static files: %s: not a directory", dir);
	}
	st = xs_xcalloc(1, sizeof(*st));
	st->root = real;
	st->root_len = strlen(real);
	*out = st;
	return XS_OK;
}

void xs_static_free(struct xs_static **sp)
{
	struct xs_static *st = sp ? *sp : NULL;

	if (!st)
		return;
	free(st->root);
	free(st);
	*sp = NULL;
}

/* True when the URL path is acceptable before any file-system access. */
static bool static_path_ok(const char *path, size_t len)
{
	size_t i = 1;

	if (len == 0 || len > XS_STATIC_MAX_PATH || path[0] != '/')
		return false;
	if (memchr(path, '\0', len) || memchr(path, '\\', len))
		return false;
	while (i < len) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t seg = slash ? (size_t)(slash - (path + i)) : len - i;

		if (seg == 0 && slash) /* "//" */
			return false;
		if (seg > 0 && path[i] == '.') /* ".", "..", dotfiles */
			return false;
		i += seg + 1;
	}
	return true;
}

/* True when real (a resolved path) is the root or lies under it. */
static bool static_under_root(const struct xs_static *st, const char *real)
{
	if (st->root_len == 1) /* root is "/" */
		return real[0] == '/';
	return !strncmp(real, st->root, st->root_len) &&
	       (real[st->root_len] == '/' || real[st->root_len] == '\0');
}

enum xs_err xs_static_lookup(const struct xs_static *st, const char *path, size_t len, int *fd,
			     uint64_t *size, const char **ctype)
{
	char joined[PATH_MAX];
	char *real = NULL;
	struct stat sb;
	int n, f;
	enum xs_err rc = XS_ERR_IO;

	*fd = -1;
	if (!static_path_ok(path, len))
		return XS_ERR_ARG;
	n = snprintf(joined, sizeof(joined), "%s%.*s%s", st->root_len == 1 ? "" : st->root, (int)len, path,
		     path[len - 1] == '/' ? STATIC_INDEX : "");
	if (n < 0 || (size_t)n >= sizeof(joined))
		return XS_ERR_ARG;
	real = realpath(joined, NULL);
	if (!real)
		return XS_ERR_IO;
	if (!static_under_root(st, real)) {
		rc = XS_ERR_ARG;
		goto out_real;
	}
	f = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (f < 0)
		goto out_real;
	if (fstat(f, &sb) || !S_ISREG(sb.st_mode)) {
		close(f);
		goto out_real;
	}
	*fd = f;
	*size = (uint64_t)sb.st_size;
	*ctype = xs_static_content_type(real);
	rc = XS_OK;
out_real:
	free(real);
	return rc;
}
