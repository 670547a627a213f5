/*
 * xml_walk.h - table-driven walk of an XML document, shared by the XML RRD
 * readers.
 *
 * A reader describes its document as rules "in state P, element <name> leads
 * to state S" (or holds the text of a field) and gets callbacks when a known
 * element opens or closes and when a field's text is complete. Unknown
 * elements below the root are skipped whole (forward compatibility); white
 * space, comments and processing instructions are ignored between elements.
 * State 0 is "before the root element". Everything is checked against the
 * rules: a misplaced element or stray text is an error naming the byte offset
 * and what the current state expects.
 *
 * struct xs_xml_walk is exposed to be embedded in a reader; use it only
 * through these functions.
 */
#ifndef XS_RRD_XML_WALK_H
#define XS_RRD_XML_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/xml_scan.h"

#define XS_XW_FIELD 255          /* rule.state of an element that holds field text */
#define XS_XW_MAX_DEPTH 16       /* nesting of known elements */
#define XS_XW_MAX_SKIP_DEPTH 256 /* nesting inside a skipped unknown element */

struct xs_xml_rule {
	unsigned char parent; /* state in which the element is recognised */
	const char *name;     /* its name */
	unsigned char state;  /* state inside it, or XS_XW_FIELD */
	int field;            /* for XS_XW_FIELD: passed to the field callback */
};

struct xs_xml_schema {
	const struct xs_xml_rule *rules;
	size_t nrules;
	const char *const *expected; /* per state: what may come next, for messages */
	/* A known element of `state` opened / closed (NULL: nothing to do). */
	enum xs_err (*enter)(void *doc, unsigned state, uint64_t off, char *err);
	enum xs_err (*leave)(void *doc, unsigned state, uint64_t off, char *err);
	/* A field's text, decoded and trimmed ("" for an empty element). */
	enum xs_err (*field)(void *doc, int field, const char *s, size_t n, uint64_t off,
			     char *err);
	/* The input ended after the root element closed. */
	enum xs_err (*finish)(void *doc, uint64_t off, char *err);
	/* Optional hot path, tried at every token boundary: take what it can at p
	 * in `state` and return the first byte not taken (p if none). */
	const char *(*fast)(void *doc, unsigned state, const char *p, const char *end,
			    uint64_t off_p, enum xs_err *rc, char *err);
};

struct xs_xml_walk {
	const struct xs_xml_schema *schema;
	void *doc;                           /* the reader, passed to callbacks */
	unsigned depth;                      /* known elements open */
	unsigned short stack[XS_XW_MAX_DEPTH]; /* their rule indexes */
	unsigned skip_depth;                 /* > 0 inside an unknown element */
	bool field_text;                     /* the open field had its text */
	bool done;                           /* the root element closed */
	char text[XS_XML_MAX_TEXT];          /* field text with entities decoded */
};

void xs_xml_walk_init(struct xs_xml_walk *w, const struct xs_xml_schema *schema, void *doc);

/* The state the walk is in (0 before the root; XS_XW_FIELD inside a field). */
unsigned xs_xml_walk_state(const struct xs_xml_walk *w);

/* A unit parser in the shape of xs_feed_parse_fn (lib/feed.h), walk as its state. */
ptrdiff_t xs_xml_walk_parse(struct xs_xml_walk *w, const char *buf, size_t len, uint64_t off,
			    bool eof, enum xs_err *code, char *err);

#endif
