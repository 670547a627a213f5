/*
 * buf.h - the one growable byte buffer of xapistat, with a mandatory cap.
 *
 * A buffer never holds more than `limit` bytes: an append that would pass it
 * fails with XS_ERR_TOO_LARGE, and (like curl's dynbuf) a buffer that fails
 * frees its memory and is left empty but usable, so a caller that gives up on
 * the error leaks nothing. After any successful call, data (when not NULL) is
 * NUL-terminated at data[len], so text can be used as a C string.
 *
 * The struct is exposed so callers can embed it or put it on the stack; its
 * fields may be read, but MUST only be changed through these functions
 * (except that a reader may write into the room given by xs_buf_reserve() and
 * then call xs_buf_commit()). Zero-filled, a buffer is valid with limit 0.
 */
#ifndef XS_LIB_BUF_H
#define XS_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/err.h"

#define XS_BUF_MIN_ALLOC 64 /* first allocation, in bytes */

#define XS_BUF_WARN_UNUSED __attribute__((warn_unused_result))

struct xs_buf {
	char *data;   /* NULL until the first append; NUL at data[len] otherwise */
	size_t len;   /* bytes held */
	size_t cap;   /* bytes allocated (room for len plus the NUL) */
	size_t limit; /* hard cap on len */
};

/* Prepares an empty buffer that may grow to `limit` bytes. Allocates nothing. */
void xs_buf_init(struct xs_buf *b, size_t limit);

/* Frees the memory (b may be NULL); b stays initialised with the same limit. */
void xs_buf_free(struct xs_buf *b);

/* Empties the buffer but keeps its memory for reuse. */
void xs_buf_reset(struct xs_buf *b);

/*
 * Appends n bytes from p (p may be NULL when n is 0). Returns XS_OK, or
 * XS_ERR_TOO_LARGE when len + n would pass the limit; on failure the buffer is
 * freed (see above).
 */
enum xs_err xs_buf_append(struct xs_buf *b, const void *p, size_t n) XS_BUF_WARN_UNUSED;

/* Appends the NUL-terminated string s (without its NUL). As xs_buf_append(). */
enum xs_err xs_buf_append_str(struct xs_buf *b, const char *s) XS_BUF_WARN_UNUSED;

/*
 * Appends printf-formatted text. XS_ERR_TOO_LARGE past the limit, XS_ERR_ARG
 * if the format fails to expand; on failure the buffer is freed.
 */
enum xs_err xs_buf_printf(struct xs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) XS_BUF_WARN_UNUSED;
enum xs_err xs_buf_vprintf(struct xs_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0))) XS_BUF_WARN_UNUSED;

/*
 * Makes room for at least n more bytes at data + len, for a reader (recv, a
 * decoder) to write into directly; follow with xs_buf_commit(). The room may
 * be larger than n but never passes the limit: see xs_buf_room(). Returns
 * XS_OK, or XS_ERR_TOO_LARGE (buffer freed) when len + n passes the limit.
 */
enum xs_err xs_buf_reserve(struct xs_buf *b, size_t n) XS_BUF_WARN_UNUSED;

/* Bytes that may be written at data + len right now without passing the limit. */
size_t xs_buf_room(const struct xs_buf *b);

/* Adds n bytes written at data + len to the content (n <= xs_buf_room()). */
void xs_buf_commit(struct xs_buf *b, size_t n);

/* Drops the first n bytes (all of them if n >= len), moving the rest to the front. */
void xs_buf_consume(struct xs_buf *b, size_t n);

/*
 * Hands the content over: returns data (NUL-terminated; NULL if nothing was
 * ever appended) and stores the length in *len (if len is not NULL). The
 * caller has ownership and frees it with free(); the buffer is left empty.
 */
char *xs_buf_take(struct xs_buf *b, size_t *len);

#endif
