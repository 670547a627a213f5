/*
 * xml_scan.h - a small incremental, zero-copy XML tokenizer.
 *
 * Enough XML for what XAPI hosts send (RRD documents, XML-RPC): elements,
 * attributes (skipped), text, CDATA, the five predefined entities and
 * character references, comments and processing instructions (skipped).
 * DOCTYPE is refused, so no entity can expand. Nothing is allocated: tokens
 * are slices of the caller's buffer, valid until it changes.
 *
 * xs_xml_next() reads one token from a contiguous buffer and follows the unit
 * contract of lib/feed.h: an incomplete token at the buffer end is not
 * consumed (returns 0) unless eof; every token is capped (XS_XML_MAX_*), so
 * the caller's carry always makes progress.
 */
#ifndef XS_LIB_XML_SCAN_H
#define XS_LIB_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_XML_MAX_TAG 1024    /* bytes of one tag, attributes included */
#define XS_XML_MAX_TEXT 2048   /* bytes of one text run or CDATA section */
#define XS_XML_MAX_MARKUP 2048 /* bytes of one comment or processing instruction */

enum xs_xml_kind {
	XS_XML_OPEN,  /* <name ...> */
	XS_XML_CLOSE, /* </name> */
	XS_XML_EMPTY, /* <name .../> */
	XS_XML_TEXT,  /* character data up to the next '<' (raw, entities not decoded) */
	XS_XML_SPACE, /* white space only, or a comment / PI / declaration: nothing to see */
};

struct xs_xml_token {
	enum xs_xml_kind kind;
	const char *name; /* OPEN, CLOSE, EMPTY */
	size_t name_len;
	const char *text; /* TEXT */
	size_t text_len;
	bool raw;         /* TEXT from CDATA: no entities to decode */
};

/*
 * Reads the token at buf[0..len); off is the stream offset of buf[0] (for
 * messages). Returns the bytes it spans (> 0), 0 when it is incomplete and
 * more input may follow (never with eof), or -1 with *code and err set
 * ("byte N: ...").
 */
ptrdiff_t xs_xml_next(const char *buf, size_t len, bool eof, uint64_t off,
		      struct xs_xml_token *tok, enum xs_err *code, char *err);

/* True if the token's name is the NUL-terminated name. */
bool xs_xml_name_is(const struct xs_xml_token *tok, const char *name);

/*
 * Decodes entities of text s[0..n) into out (cap bytes, no NUL added).
 * Returns the decoded length, or -1 if an entity is malformed or out is too
 * small.
 */
ptrdiff_t xs_xml_unescape(const char *s, size_t n, char *out, size_t cap);

/* Trims XML white space from both ends of *s / *n. */
void xs_xml_trim(const char **s, size_t *n);

#endif
