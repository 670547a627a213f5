/*
 * json_scan.h - a small incremental, zero-copy, lenient JSON tokenizer.
 *
 * Enough JSON for what XAPI hosts send, every era (SPEC §2.2): strict JSON,
 * and the legacy "JSON" of xapi <= ~23.25 with unquoted keys and bare NaN /
 * Infinity / -Infinity. Any run of letters, digits and "+-._$" outside a
 * string is one BARE token (a number, true/false/null, NaN, an unquoted key);
 * what it means is the caller's business. Strings are returned raw (escapes
 * not decoded) as slices of the caller's buffer; xs_json_unescape() decodes.
 * A UTF-8 byte-order mark at stream offset 0 is skipped as white space.
 *
 * xs_json_next() reads one token from a contiguous buffer and follows the
 * unit contract of lib/feed.h: an incomplete token at the buffer end is not
 * consumed (returns 0) unless eof; strings and bare words are capped
 * (XS_JSON_MAX_*), so the caller's carry always makes progress. Whether a
 * token is accepted, and every error message, depend only on the bytes, never
 * on where the buffer ends.
 */
#ifndef XS_LIB_JSON_SCAN_H
#define XS_LIB_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_JSON_MAX_STRING 2048 /* raw bytes between the quotes of one string */
#define XS_JSON_MAX_BARE 512    /* bytes of one bare word (numbers: see lib/num.h) */
#define XS_JSON_MAX_SPACE 1024  /* white space is returned in runs of at most this */

enum xs_json_kind {
	XS_JSON_OBJECT_BEGIN, /* { */
	XS_JSON_OBJECT_END,   /* } */
	XS_JSON_ARRAY_BEGIN,  /* [ */
	XS_JSON_ARRAY_END,    /* ] */
	XS_JSON_COLON,        /* : */
	XS_JSON_COMMA,        /* , */
	XS_JSON_STRING,       /* "..." : text is between the quotes, raw */
	XS_JSON_BARE,         /* an unquoted word: 12, -1.5e+07, NaN, true, meta */
	XS_JSON_SPACE,        /* white space (or the BOM): nothing to see */
};

struct xs_json_token {
	enum xs_json_kind kind;
	const char *text; /* STRING (without quotes), BARE */
	size_t len;
	bool escaped;     /* STRING holds a backslash: decode with xs_json_unescape() */
};

/*
 * Reads the token at buf[0..len); off is the stream offset of buf[0] (for
 * messages, and to recognise the BOM). Returns the bytes it spans (> 0), 0
 * when it is incomplete and more input may follow (never with eof), or -1
 * with *code and err set ("byte N: ...").
 */
ptrdiff_t xs_json_next(const char *buf, size_t len, bool eof, uint64_t off,
		       struct xs_json_token *tok, enum xs_err *code, char *err);

/* True if the token (STRING or BARE) is exactly the NUL-terminated word. */
bool xs_json_text_is(const struct xs_json_token *tok, const char *word);

/*
 * Decodes the escapes of raw string text s[0..n) into out (cap bytes, no NUL
 * added): \" \\ \/ \b \f \n \r \t and \uXXXX (surrogate pairs joined, written
 * as UTF-8). Returns the decoded length, or -1 if an escape is malformed (a
 * lone surrogate included) or out is too small.
 */
ptrdiff_t xs_json_unescape(const char *s, size_t n, char *out, size_t cap);

#endif
