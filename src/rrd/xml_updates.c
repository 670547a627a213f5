/*
 * xml_updates.c - reader of /rrd_updates XML (rrdtool xport; SPEC §2.1).
 *
 *   <xport><meta><start/><step/><end/><rows/><columns/><legend><entry/>...</legend></meta>
 *   <data><row><t/><v/>...</row>...</data></xport>
 *
 * Xmlm writes it on one line without white space; white space, comments and
 * unknown elements are accepted too (xml_walk.c). The common case of a row,
 * "<v>0.1411</v>" repeated, is parsed by a fast path straight from the
 * buffer. Semantics (counts, order) are checked by updates_build.c.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "rrd/rrd_parser.h"
#include "rrd/updates_build.h"
#include "rrd/xml_walk.h"

enum xu_state { XU_START, XU_XPORT, XU_META, XU_LEGEND, XU_DATA, XU_ROW, XU_NSTATES };

/* Fields beyond the meta ones of enum xs_updates_field. */
enum { XU_F_ENTRY = 100, XU_F_T, XU_F_V };

struct xml_updates {
	struct xs_updates_build b;
	struct xs_xml_walk walk;
};

static const struct xs_xml_rule xu_rules[] = {
	{ XU_START, "xport", XU_XPORT, 0 },
	{ XU_XPORT, "meta", XU_META, 0 },
	{ XU_XPORT, "data", XU_DATA, 0 },
	{ XU_META, "start", XS_XW_FIELD, XS_UPDATES_START },
	{ XU_META, "step", XS_XW_FIELD, XS_UPDATES_STEP },
	{ XU_META, "end", XS_XW_FIELD, XS_UPDATES_END },
	{ XU_META, "rows", XS_XW_FIELD, XS_UPDATES_ROWS },
	{ XU_META, "columns", XS_XW_FIELD, XS_UPDATES_COLUMNS },
	{ XU_META, "legend", XU_LEGEND, 0 },
	{ XU_LEGEND, "entry", XS_XW_FIELD, XU_F_ENTRY },
	{ XU_DATA, "row", XU_ROW, 0 },
	{ XU_ROW, "v", XS_XW_FIELD, XU_F_V },
	{ XU_ROW, "t", XS_XW_FIELD, XU_F_T },
};

static const char *const xu_expected[XU_NSTATES] = {
	[XU_START] = "<xport>",
	[XU_XPORT] = "<meta>, <data> or </xport>",
	[XU_META] = "a meta field, <legend> or </meta>",
	[XU_LEGEND] = "<entry> or </legend>",
	[XU_DATA] = "<row> or </data>",
	[XU_ROW] = "<t>, <v> or </row>",
};

static enum xs_err xu_enter(void *doc, unsigned state, uint64_t off, char *err)
{
	struct xml_updates *x = doc;

	if (state == XU_DATA)
		return xs_updates_build_data_begin(&x->b, off, err);
	if (state == XU_ROW)
		return xs_updates_build_row_begin(&x->b, off, err);
	return XS_OK;
}

static enum xs_err xu_leave(void *doc, unsigned state, uint64_t off, char *err)
{
	struct xml_updates *x = doc;

	return state == XU_ROW ? xs_updates_build_row_end(&x->b, off, err) : XS_OK;
}

static enum xs_err xu_field(void *doc, int field, const char *s, size_t n, uint64_t off,
			    char *err)
{
	struct xml_updates *x = doc;
	double v;

	switch (field) {
	case XU_F_ENTRY:
		return xs_updates_build_legend(&x->b, s, n, off, err);
	case XU_F_T:
		return xs_updates_build_row_time(&x->b, s, n, off, err);
	case XU_F_V:
		if (!xs_num_from_slice(s, n, &v))
			return xs_err_at(err, XS_ERR_PARSE, off, "expected a number in <v>");
		return xs_updates_build_value(&x->b, v, off, err);
	default:
		return xs_updates_build_meta_field(&x->b, (enum xs_updates_field)field, s, n, off,
						   err);
	}
}

static enum xs_err xu_finish(void *doc, uint64_t off, char *err)
{
	struct xml_updates *x = doc;

	return xs_updates_build_finish(&x->b, off, err);
}

/* The hot path: "<v>NUMBER</v>" repeated inside a row, parsed in place; the
 * first thing that is not exactly that is left to the general path. */
static const char *xu_fast(void *doc, unsigned state, const char *p, const char *end,
			   uint64_t off_p, enum xs_err *rc, char *err)
{
	struct xml_updates *x = doc;
	const char *start = p;

	if (state != XU_ROW)
		return p;
	while (end - p >= 8 && p[0] == '<' && p[1] == 'v' && p[2] == '>') {
		double v;
		const char *q = xs_num_parse(p + 3, end, &v);

		if (!q || end - q < 4 || memcmp(q, "</v>", 4))
			break;
		*rc = xs_updates_build_value(&x->b, v, off_p + (uint64_t)(p + 3 - start), err);
		if (*rc)
			return p;
		p = q + 4;
	}
	return p;
}

static const struct xs_xml_schema xu_schema = {
	.rules = xu_rules,
	.nrules = sizeof(xu_rules) / sizeof(xu_rules[0]),
	.expected = xu_expected,
	.enter = xu_enter,
	.leave = xu_leave,
	.field = xu_field,
	.finish = xu_finish,
	.fast = xu_fast,
};

static ptrdiff_t xml_updates_parse(void *parser, const char *buf, size_t len, uint64_t off,
				   bool eof, enum xs_err *code, char *err)
{
	struct xml_updates *x = parser;

	return xs_xml_walk_parse(&x->walk, buf, len, off, eof, code, err);
}

static void *xml_updates_create(const struct xs_rrd_sink *sink, void *ctx)
{
	struct xml_updates *x = xs_xcalloc(1, sizeof(*x));

	xs_updates_build_init(&x->b, sink, ctx);
	x->b.meta.syntax = XS_RRD_XML;
	xs_xml_walk_init(&x->walk, &xu_schema, x);
	return x;
}

static void xml_updates_destroy(void *parser)
{
	struct xml_updates *x = parser;

	if (!x)
		return;
	xs_updates_build_cleanup(&x->b);
	free(x);
}

const struct xs_rrd_parser_class xs_rrd_xml_updates_class = {
	.name = "rrd_updates XML",
	.kind = XS_RRD_UPDATES,
	.create = xml_updates_create,
	.parse = xml_updates_parse,
	.destroy = xml_updates_destroy,
};
