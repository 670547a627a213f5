/*
 * rrd_parser.h - the interface every concrete RRD reader implements.
 *
 * One file per (syntax, document kind) exports one const class: the XML and
 * JSON readers of /rrd_updates and of RRD dumps. rrd_reader.c picks one by
 * looking at the first bytes of a document and drives it through struct
 * xs_feed, so a class only parses whole units of a contiguous buffer (see
 * xs_feed_parse_fn in lib/feed.h for the exact contract).
 */
#ifndef XS_RRD_PARSER_H
#define XS_RRD_PARSER_H

#include "lib/feed.h"
#include "rrd/rrd_sink.h"

struct xs_rrd_parser_class {
	const char *name;       /* "rrd_updates XML", ... */
	enum xs_rrd_kind kind;
	/* Returns a new parser reporting to sink/ctx (both outlive it). Aborts on OOM. */
	void *(*create)(const struct xs_rrd_sink *sink, void *ctx);
	xs_feed_parse_fn parse; /* the unit parser (lib/feed.h) */
	void (*destroy)(void *parser); /* accepts NULL */
};

extern const struct xs_rrd_parser_class xs_rrd_xml_updates_class;
extern const struct xs_rrd_parser_class xs_rrd_xml_dump_class;
extern const struct xs_rrd_parser_class xs_rrd_json_updates_class;
extern const struct xs_rrd_parser_class xs_rrd_json_dump_class;

#endif
