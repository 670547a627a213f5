/*
 * buf.c - growable byte buffer with a hard cap (see buf.h).
 *
 * Invariants: len <= limit; cap == 0 exactly when data == NULL; otherwise
 * len < cap and data[len] == '\0'. Growth doubles (bounded by limit + 1) so
 * appends are amortised O(1); consume moves the tail down, which is cheap for
 * the small unparsed remainders it is used for.
 */
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

void xs_buf_init(struct xs_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void xs_buf_free(struct xs_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void xs_buf_reset(struct xs_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* A failed buffer frees itself, so callers can bail out without cleanup. */
static enum xs_err buf_fail(struct xs_buf *b, enum xs_err code)
{
	xs_buf_free(b);
	return code;
}

enum xs_err xs_buf_reserve(struct xs_buf *b, size_t n)
{
	size_t need, cap;

	if (n > b->limit || b->len > b->limit - n || b->len + n == SIZE_MAX)
		return buf_fail(b, XS_ERR_TOO_LARGE);
	need = b->len + n + 1;
	if (need <= b->cap)
		return XS_OK;
	cap = b->cap ? b->cap : XS_BUF_MIN_ALLOC;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->limit + 1 && b->limit < SIZE_MAX)
		cap = b->limit + 1;
	if (cap < need)
		cap = need;
	b->data = xs_xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';
	return XS_OK;
}

size_t xs_buf_room(const struct xs_buf *b)
{
	size_t room;

	if (!b->cap)
		return 0;
	room = b->cap - 1 - b->len;
	if (room > b->limit - b->len)
		room = b->limit - b->len;
	return room;
}

void xs_buf_commit(struct xs_buf *b, size_t n)
{
	if (n > xs_buf_room(b))
		abort(); /* a caller bug: it wrote past the room it was given */
	b->len += n;
	b->data[b->len] = '\0';
}

enum xs_err xs_buf_append(struct xs_buf *b, const void *p, size_t n)
{
	enum xs_err rc;

	if (!n)
		return XS_OK;
	rc = xs_buf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return XS_OK;
}

enum xs_err xs_buf_append_str(struct xs_buf *b, const char *s)
{
	return xs_buf_append(b, s, strlen(s));
}

enum xs_err xs_buf_vprintf(struct xs_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	enum xs_err rc;
	size_t room;
	int n;

	/* First try in the room we already have; most lines fit. */
	room = b->cap ? b->cap - b->len : 0;
	va_copy(ap2, ap);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return buf_fail(b, XS_ERR_ARG);
	if ((size_t)n < room) {
		if ((size_t)n > b->limit - b->len) {
			b->data[b->len] = '\0';
			return buf_fail(b, XS_ERR_TOO_LARGE);
		}
		b->len += (size_t)n;
		return XS_OK;
	}
	if (room)
		b->data[b->len] = '\0'; /* undo the partial write */
	rc = xs_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		return buf_fail(b, XS_ERR_ARG);
	b->len += (size_t)n;
	return XS_OK;
}

enum xs_err xs_buf_printf(struct xs_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum xs_err rc;

	va_start(ap, fmt);
	rc = xs_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void xs_buf_consume(struct xs_buf *b, size_t n)
{
	if (n >= b->len) {
		xs_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *xs_buf_take(struct xs_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
