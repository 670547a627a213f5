/*
 * static_files.h - files of the web UI under one root directory, looked up by
 * URL path with no way out of the root.
 *
 * A lookup takes the decoded URL path (what the server routes on) and
 * refuses, as "not found", any path that:
 *   - does not start with '/', or contains a NUL byte or a backslash,
 *   - has a "." or ".." segment, or a segment starting with '.' (dotfiles),
 *   - is longer than XS_STATIC_MAX_PATH,
 *   - resolves (realpath: symlinks followed) outside the root,
 *   - is not a regular file after open (a directory, a FIFO, ...).
 * "/" and any path ending in '/' mean that directory's index.html.
 * The file is opened with O_NOFOLLOW on the resolved path and checked with
 * fstat, so what is served is what was checked.
 *
 * Threading: a root is immutable after xs_static_open(); lookups may run on
 * any thread. Lookups do blocking file-system calls (local disk only).
 */
#ifndef XS_HTTP_STATIC_FILES_H
#define XS_HTTP_STATIC_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_STATIC_MAX_PATH 1024 /* longest URL path looked up */

struct xs_static;

/*
 * Opens the root directory dir (must exist and be a directory). Returns
 * XS_OK and *out (free with xs_static_free), or XS_ERR_IO / XS_ERR_ARG with
 * a message in err (XS_ERR_LEN bytes).
 */
enum xs_err xs_static_open(const char *dir, struct xs_static **out, char *err)
	__attribute__((warn_unused_result));

/* Frees the root (NULL allowed) and sets *sp = NULL. */
void xs_static_free(struct xs_static **sp);

/*
 * Looks up the decoded URL path path[0..len). On XS_OK, *fd is an open,
 * read-only descriptor of a regular file (the caller owns and closes it),
 * *size its size and *ctype its content type (a static string). Otherwise
 * XS_ERR_ARG (a refused path) or XS_ERR_IO (no such file): both mean 404.
 */
enum xs_err xs_static_lookup(const struct xs_static *st, const char *path, size_t len, int *fd,
			     uint64_t *size, const char **ctype) __attribute__((warn_unused_result));

/* Content type by the file name's extension (case-insensitive):
 * "application/octet-stream" for unknown ones. Never NULL. */
const char *xs_static_content_type(const char *name);

#endif
