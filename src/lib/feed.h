/*
 * feed.h - turns arbitrary network chunks into calls of a unit parser.
 *
 * Parsers in xapistat are written for one contiguous buffer: they consume whole
 * units (an XML tag, a text run, a JSON token) and stop before a unit that is
 * not complete yet. struct xs_feed keeps the unconsumed tail of one chunk (at
 * most XS_FEED_CARRY bytes) and joins it with the next, so a document split
 * anywhere, even one byte at a time, is parsed exactly as if it came in one
 * piece. Only that tail is ever copied; full units are parsed in place.
 *
 * A parser must consume every complete unit it is given, and must reject on
 * its own any unit that grows past its cap (which must be below
 * XS_FEED_CARRY / 2), so that the carry always makes progress.
 *
 * The struct is exposed so readers can embed it; it MUST only be used through
 * these functions.
 */
#ifndef XS_LIB_FEED_H
#define XS_LIB_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_FEED_CARRY 8192 /* bytes of an incomplete unit kept between chunks */

/*
 * Parses complete units of buf[0..len); offset is the absolute stream offset of
 * buf[0]; eof is true when no byte follows buf. Returns the bytes consumed
 * (0..len) or -1 after writing "byte N: ..." into err (XS_ERR_LEN bytes) and
 * storing the error code in *code. With eof true it must consume everything
 * or fail.
 */
typedef ptrdiff_t (*xs_feed_parse_fn)(void *parser, const char *buf, size_t len,
				      uint64_t offset, bool eof, enum xs_err *code,
				      char *err);

struct xs_feed {
	xs_feed_parse_fn parse; /* the unit parser */
	void *parser;           /* its state, passed back */
	uint64_t offset;        /* stream offset of carry[0] (or of the next byte) */
	size_t carry_len;       /* bytes held in carry */
	bool failed;            /* a parse error happened; every later call fails */
	enum xs_err code;       /* the error, once failed */
	char err[XS_ERR_LEN];   /* its detail, "byte N: ..." */
	char carry[XS_FEED_CARRY];
};

/* Prepares f to drive parse(parser, ...). */
void xs_feed_init(struct xs_feed *f, xs_feed_parse_fn parse, void *parser);

/* Feeds the next len bytes of the stream. Returns XS_OK, or the parser's error
 * (detail in f->err via xs_feed_error()). */
enum xs_err xs_feed_push(struct xs_feed *f, const char *data, size_t len);

/* Signals end of input; the parser sees eof = true. */
enum xs_err xs_feed_finish(struct xs_feed *f);

/* The detail of the last error ("byte N: ..."), or "" when none. */
const char *xs_feed_error(const struct xs_feed *f);

/* Bytes of the stream consumed so far (whole units). */
uint64_t xs_feed_offset(const struct xs_feed *f);

#endif
