/*
 * rrd_reader.h - read any RRD document a XAPI host serves, fed in chunks.
 *
 * The reader recognises the document from its first bytes: /rrd_updates or a
 * full dump (/host_rrd, /vm_rrd, /sr_rrd), XML or JSON, every era of SPEC §2,
 * and reports it through struct xs_rrd_sink. Chunks may be split anywhere.
 * Memory is bounded by the caps in rrd_sink.h, lib/feed.h and lib/num.h
 * whatever the input; hostile input ends in an error naming the byte offset.
 *
 *   struct xs_rrd_reader *r = xs_rrd_reader_new(&sink, ctx);
 *   while ((n = read(fd, buf, sizeof buf)) > 0)
 *           if (xs_rrd_reader_push(r, buf, n)) break;
 *   rc = xs_rrd_reader_finish(r);  // checks the document ended complete
 *   ... xs_rrd_reader_error(r) ...
 *   xs_rrd_reader_free(&r);
 */
#ifndef XS_RRD_READER_H
#define XS_RRD_READER_H

#include <stddef.h>

#include "lib/err.h"
#include "rrd/rrd_parser.h"
#include "rrd/rrd_sink.h"

/* Bytes the reader may look at before it knows what document it reads. */
#define XS_RRD_DETECT_MAX 4096

struct xs_rrd_reader;

/* A reader that detects the document kind and syntax. sink and ctx must outlive it.
 * Aborts on OOM (small, fixed allocation). */
struct xs_rrd_reader *xs_rrd_reader_new(const struct xs_rrd_sink *sink, void *ctx);

/* A reader for one known class (no detection). */
struct xs_rrd_reader *xs_rrd_reader_new_for(const struct xs_rrd_parser_class *cls,
					    const struct xs_rrd_sink *sink, void *ctx);

/* Feeds the next bytes. After an error every later call returns it again. */
enum xs_err xs_rrd_reader_push(struct xs_rrd_reader *r, const char *data, size_t len);

/* End of input: XS_OK only if a complete document was read. */
enum xs_err xs_rrd_reader_finish(struct xs_rrd_reader *r);

/* "byte N: what was expected" for the last error, "" when none. */
const char *xs_rrd_reader_error(const struct xs_rrd_reader *r);

/* The class in use, or NULL while still detecting. */
const struct xs_rrd_parser_class *xs_rrd_reader_class(const struct xs_rrd_reader *r);

/* Frees *r (NULL allowed) and sets *r = NULL. */
void xs_rrd_reader_free(struct xs_rrd_reader **r);

#endif
