/*
 * json_walk.h - table-driven walk of a JSON document, shared by the JSON RRD
 * readers (the counterpart of xml_walk.h).
 *
 * A reader describes its document as rules "in the object (or array) of state
 * P, member `key` (or every element) is a container of state S" or "is a
 * scalar field", and gets callbacks when a known container opens or closes
 * and when a field's value is read. Members with unknown keys are skipped
 * whole, whatever they hold (forward compatibility). The grammar is JSON's,
 * leniently tokenized (lib/json_scan.h): keys quoted or not, scalars quoted or
 * bare, so every era of SPEC §2.2 walks the same way. Anything misplaced is an
 * error naming the byte offset and what was expected; after the root value
 * closes, only white space may follow.
 *
 * struct xs_json_walk is exposed to be embedded in a reader; use it only
 * through these functions.
 */
#ifndef XS_RRD_JSON_WALK_H
#define XS_RRD_JSON_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/json_scan.h"
#include "lib/num.h"

#define XS_JW_FIELD 255          /* rule.state of a member that is a scalar field */
#define XS_JW_MAX_DEPTH 16       /* nesting of known containers */
#define XS_JW_MAX_SKIP_DEPTH 256 /* nesting inside a skipped value */

struct xs_json_rule {
	unsigned char parent; /* state of the enclosing object or array */
	const char *key;      /* the member's key; NULL: every element of an array state */
	unsigned char state;  /* state of the container it holds, or XS_JW_FIELD */
	int field;            /* for XS_JW_FIELD: passed to the field callback */
};

struct xs_json_schema {
	const struct xs_json_rule *rules;
	size_t nrules;
	unsigned char root;                 /* state of the top-level value (an object) */
	const bool *is_array;               /* per state: an array (else an object) */
	const char *const *what;            /* per state: what it is, for messages */
	/* A known container of `state` opened / closed (NULL: nothing to do). */
	enum xs_err (*enter)(void *doc, unsigned state, uint64_t off, char *err);
	enum xs_err (*leave)(void *doc, unsigned state, uint64_t off, char *err);
	/* A field's value: a string's text unescaped, or a bare word; off is the token's. */
	enum xs_err (*field)(void *doc, int field, const char *s, size_t n, uint64_t off,
			     char *err);
	/* The input ended after the root value closed. */
	enum xs_err (*finish)(void *doc, uint64_t off, char *err);
	/*
	 * Optional hot path, tried where an element of an array of `state` is
	 * due: take complete "element," pairs at p (never the last element, never
	 * white space) exactly as the general path would, and return the first
	 * byte not taken (p if none).
	 */
	const char *(*fast)(void *doc, unsigned state, const char *p, const char *end,
			    uint64_t off_p, enum xs_err *rc, char *err);
};

struct xs_json_frame {
	unsigned char state; /* of this container */
	unsigned char phase; /* what may come next (json_walk.c) */
	short pending;       /* rule of the member whose value is due; -1: skip it */
	short element;       /* arrays: the rule of every element; -1: skip them */
};

struct xs_json_walk {
	const struct xs_json_schema *schema;
	void *doc;                                /* the reader, passed to callbacks */
	unsigned depth;                           /* known containers open */
	struct xs_json_frame stack[XS_JW_MAX_DEPTH];
	unsigned skip_depth;                      /* > 0 inside a skipped container */
	unsigned char skip_kinds[XS_JW_MAX_SKIP_DEPTH / 8]; /* bit set: that level is an array */
	bool started, done;                       /* the root value opened / closed */
	bool bare_keys;                           /* an unquoted key was seen (legacy syntax) */
	char text[XS_JSON_MAX_STRING];            /* a string with its escapes decoded */
};

void xs_json_walk_init(struct xs_json_walk *w, const struct xs_json_schema *schema, void *doc);

/* The state of the innermost known container (the root's before it opens). */
unsigned xs_json_walk_state(const struct xs_json_walk *w);

/* The state of the container around the innermost one, or the root's. */
unsigned xs_json_walk_parent_state(const struct xs_json_walk *w);

/* A unit parser in the shape of xs_feed_parse_fn (lib/feed.h), walk as its state. */
ptrdiff_t xs_json_walk_parse(struct xs_json_walk *w, const char *buf, size_t len, uint64_t off,
			     bool eof, enum xs_err *code, char *err);

/*
 * The unit of a fast path over an array of numbers: `"NUMBER",` or `NUMBER,`
 * at p, the number filling its whole string or bare word and the comma right
 * after it: exactly what the general path reads as one element. Returns the
 * byte after the comma, or NULL when p holds anything else (or too little).
 */
static inline const char *xs_json_number_element(const char *p, const char *end, double *v)
{
	const char *q;

	if (*p == '"') {
		q = xs_num_parse(p + 1, end, v);
		return q && end - q >= 2 && q[0] == '"' && q[1] == ',' ? q + 2 : NULL;
	}
	q = xs_num_parse(p, end, v);
	return q && q != end && *q == ',' ? q + 1 : NULL;
}

#endif
