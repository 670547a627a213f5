/*
 * feed.c - chunk joining for unit parsers (see feed.h).
 *
 * Invariant: carry holds the bytes from `offset` on that the parser has not
 * consumed; once the carry is empty, chunks are parsed in place.
 */
#include "lib/feed.h"

#include <string.h>

void xs_feed_init(struct xs_feed *f, xs_feed_parse_fn parse, void *parser)
{
	f->parse = parse;
	f->parser = parser;
	f->offset = 0;
	f->carry_len = 0;
	f->failed = false;
	f->code = XS_OK;
	f->err[0] = '\0';
}

static enum xs_err feed_fail(struct xs_feed *f, enum xs_err code)
{
	f->failed = true;
	f->code = code;
	return code;
}

static enum xs_err feed_too_long(struct xs_feed *f)
{
	xs_err_at(f->err, XS_ERR_TOO_LARGE, f->offset,
		  "a token longer than %d bytes", XS_FEED_CARRY);
	return feed_fail(f, XS_ERR_TOO_LARGE);
}

/* Runs the parser; returns consumed bytes or -1 with the feed marked failed. */
static ptrdiff_t feed_parse(struct xs_feed *f, const char *buf, size_t len, bool eof)
{
	enum xs_err code = XS_ERR_PARSE;
	ptrdiff_t n = f->parse(f->parser, buf, len, f->offset, eof, &code, f->err);

	if (n < 0 || (size_t)n > len) {
		if (code == XS_OK)
			code = XS_ERR_PARSE;
		feed_fail(f, code);
		return -1;
	}
	f->offset += (uint64_t)n;
	return n;
}

/* Joins the carry with the head of data until the carry is used up. */
static enum xs_err feed_drain_carry(struct xs_feed *f, const char **data, size_t *len)
{
	while (f->carry_len > 0 && *len > 0) {
		size_t old = f->carry_len;
		size_t take = sizeof(f->carry) - old;
		ptrdiff_t n;

		if (take > *len)
			take = *len;
		memcpy(f->carry + old, *data, take);
		f->carry_len += take;
		n = feed_parse(f, f->carry, f->carry_len, false);
		if (n < 0)
			return f->code;
		if ((size_t)n >= old) {
			/* consumed into the new bytes: go on from data in place */
			*data += (size_t)n - old;
			*len -= (size_t)n - old;
			f->carry_len = 0;
			return XS_OK;
		}
		memmove(f->carry, f->carry + n, f->carry_len - (size_t)n);
		f->carry_len -= (size_t)n;
		*data += take;
		*len -= take;
		if (n == 0 && f->carry_len == sizeof(f->carry))
			return feed_too_long(f);
	}
	return XS_OK;
}

enum xs_err xs_feed_push(struct xs_feed *f, const char *data, size_t len)
{
	ptrdiff_t n;
	size_t rest;

	if (f->failed)
		return f->code;
	if (feed_drain_carry(f, &data, &len) != XS_OK)
		return f->code;
	if (len == 0)
		return XS_OK;
	n = feed_parse(f, data, len, false);
	if (n < 0)
		return f->code;
	rest = len - (size_t)n;
	if (rest > sizeof(f->carry))
		return feed_too_long(f);
	memcpy(f->carry, data + n, rest);
	f->carry_len = rest;
	return XS_OK;
}

enum xs_err xs_feed_finish(struct xs_feed *f)
{
	ptrdiff_t n;

	if (f->failed)
		return f->code;
	n = feed_parse(f, f->carry, f->carry_len, true);
	if (n < 0)
		return f->code;
	if ((size_t)n != f->carry_len) {
		xs_err_at(f->err, XS_ERR_TRUNCATED, f->offset, "unexpected end of input");
		return feed_fail(f, XS_ERR_TRUNCATED);
	}
	f->carry_len = 0;
	return XS_OK;
}

const char *xs_feed_error(const struct xs_feed *f)
{
	return f->err;
}

uint64_t xs_feed_offset(const struct xs_feed *f)
{
	return f->offset;
}
