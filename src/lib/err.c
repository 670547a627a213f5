/*
 * err.c - names of enum xs_err and formatting of error details.
 */
#include "lib/err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

const char *xs_strerror(enum xs_err e)
{
	switch (e) {
	case XS_OK: return "success";
	case XS_ERR_NOMEM: return "out of memory";
	case XS_ERR_TOO_LARGE: return "input exceeds a limit";
	case XS_ERR_PARSE: return "malformed input";
	case XS_ERR_IO: return "input/output error";
	case XS_ERR_UPSTREAM: return "remote peer error";
	case XS_ERR_ARG: return "invalid argument";
	case XS_ERR_TRUNCATED: return "input ended early";
	case XS_ERR_ABORTED: return "stopped by caller";
	}
	return "unknown error";
}

enum xs_err xs_err_at(char *err, enum xs_err code, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return code;
	n = snprintf(err, XS_ERR_LEN, "byte %" PRIu64 ": ", offset);
	if (n < 0 || n >= XS_ERR_LEN)
		return code;
	va_start(ap, fmt);
	vsnprintf(err + n, (size_t)(XS_ERR_LEN - n), fmt, ap);
	va_end(ap);
	return code;
}

enum xs_err xs_err_set(char *err, enum xs_err code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err, XS_ERR_LEN, fmt, ap);
	va_end(ap);
	return code;
}
