/*
 * stream_request.h - the two texts a client gives GET /api/v1/stream: the
 * objects list (`objects=uuid,uuid,...`) and the Last-Event-ID header (the
 * cursor the stream wrote as each event's id); and the folding of a uuid to
 * lower case, which every route applies to the uuids it is given. Pure functions of their text,
 * no I/O: fuzz/stream_request.c runs them on anything.
 *
 * The cursor: a browser keeps one "last event ID" per EventSource (the id of
 * the newest event it got) and sends it back alone when it reconnects, but each
 * object has its own newest time sent (hosts fetched at different moments,
 * clocks apart), so the id holds them all, in the order of the objects list:
 * "v1.<base>.<delta>...", base 36 in lower case, base the smallest time and
 * each delta an object's time less it, each number 1 to 8 digits and at most
 * XS_STREAM_CURSOR_MAX_TIME. 256 objects a few seconds apart take a few hundred
 * bytes. The stream appends "-<tag>" (xs_stream_cursor_tag): the objects list's
 * tag, so that a cursor of another list (or another order) of as many objects is
 * not taken for one of this list. Before the cursor, the id was one unix time for
 * every object (an integer): xs_stream_id_integer() reads those.
 */
#ifndef XS_SERVE_STREAM_REQUEST_H
#define XS_SERVE_STREAM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_STREAM_UUID_MAX 64 /* bytes of a uuid of the list, its NUL included */
#define XS_STREAM_CURSOR_MAX_TIME (INT64_C(1) << 40) /* largest time a cursor holds: 8 base-36 digits */
#define XS_STREAM_CURSOR_DIGITS 8                    /* base-36 digits of a number of a cursor, at most */
/* bytes of a cursor of n objects: "v1.", the base, a "." and a delta per object, the NUL */
#define XS_STREAM_CURSOR_LEN(n) (3 + (XS_STREAM_CURSOR_DIGITS + 1) * ((size_t)(n) + 1) + 1)
#define XS_STREAM_TAG_LEN 8 /* bytes xs_stream_cursor_tag appends: "-" and 1 to 7 base-36 digits */
#define XS_STREAM_TAG_INIT UINT32_C(2166136261) /* the tag of an empty list */

/*
 * Folds the ASCII capitals of a uuid a client gave to lower case, in place (every
 * route that takes a uuid: stats, top's pool, the objects list below): XAPI writes
 * uuids in lower case, and RFC 4122 reads them in either.
 */
void xs_uuid_fold(char *uuid);

/*
 * Splits list ("uuid,uuid,...", one trailing comma allowed) into uuids[0..*n),
 * at most cap of them. A uuid is 1 to XS_STREAM_UUID_MAX - 1 bytes of letters,
 * digits and '-' (what the stats routes accept), its capitals folded to lower
 * case (XAPI writes uuids in lower case); nothing more is checked here.
 * Returns false with a message in err (XS_ERR_LEN bytes) that starts with
 * "objects: ": an empty or overlong uuid, or a bad character (each with its
 * byte), a uuid given twice (after folding), more than cap uuids, or none at all.
 */
bool xs_stream_objects_parse(const char *list, char (*uuids)[XS_STREAM_UUID_MAX], size_t cap, size_t *n,
			     char *err);

/* Writes the cursor of last[0..n) into out (XS_STREAM_CURSOR_LEN(n) bytes, NUL
 * terminated); each time is clamped to [0, XS_STREAM_CURSOR_MAX_TIME]. */
void xs_stream_cursor_format(const int64_t *last, size_t n, char *out);

/* Reads a cursor of exactly n objects (n > 0) into last[0..n); false, last
 * partly written, when id is not one. Each time read is at most
 * 2 x XS_STREAM_CURSOR_MAX_TIME (a base and a delta each at the maximum). */
bool xs_stream_cursor_parse(const char *id, size_t n, int64_t *last);

/* The tag of a list with uuid added at its end (tag: the list's so far, XS_STREAM_TAG_INIT
 * at first): FNV-1a of the uuids, each followed by a ','. */
uint32_t xs_stream_tag_add(uint32_t tag, const char *uuid);

/* Appends "-<tag>" (base 36) to the cursor id, which has XS_STREAM_TAG_LEN bytes of room. */
void xs_stream_cursor_tag(char *id, uint32_t tag);

/* Whether id ends with "-<tag>" of this tag; if so the tag is cut off, in place, so that
 * xs_stream_cursor_parse() reads the rest. */
bool xs_stream_cursor_untag(char *id, uint32_t tag);

/* Reads an id of before the cursor: a decimal integer, nothing else, in
 * [1, INT64_MAX]; false otherwise. */
bool xs_stream_id_integer(const char *id, int64_t *t);

#endif
