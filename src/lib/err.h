/*
 * err.h - the one error enum of xapistat, and the detail buffer that travels with it.
 *
 * Action functions return enum xs_err; predicates return bool. Detail (what was
 * expected, at which byte) goes into a caller-provided char err[XS_ERR_LEN]: there
 * is no global last-error.
 */
#ifndef XS_LIB_ERR_H
#define XS_LIB_ERR_H

#include <stdint.h>

#define XS_ERR_LEN 256 /* size of every error-detail buffer */

enum xs_err {
	XS_OK = 0,
	XS_ERR_NOMEM,     /* an allocation failed */
	XS_ERR_TOO_LARGE, /* input exceeded a named cap */
	XS_ERR_PARSE,     /* input is not what the format says */
	XS_ERR_IO,        /* read/write failed */
	XS_ERR_UPSTREAM,  /* a remote peer misbehaved */
	XS_ERR_ARG,       /* bad argument from a caller or user */
	XS_ERR_TRUNCATED, /* input ended before the document did */
	XS_ERR_ABORTED,   /* a callback asked to stop */
};

/* Returns a static, human-readable name of e. Never NULL. */
const char *xs_strerror(enum xs_err e);

/* Formats "byte OFFSET: MESSAGE" into err (XS_ERR_LEN bytes) and returns code.
 * Used by every parser so error messages name the byte offset the same way. */
enum xs_err xs_err_at(char *err, enum xs_err code, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Formats MESSAGE into err (XS_ERR_LEN bytes) and returns code. */
enum xs_err xs_err_set(char *err, enum xs_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
