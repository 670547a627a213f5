/*
 * xml_dump.c - reader of full RRD dumps in XML (/host_rrd, /vm_rrd, /sr_rrd;
 * rrdtool dump; SPEC §2.5).
 *
 *   <rrd><version/><step/><lastupdate/><ds><name/><type/><minimal_heartbeat/>
 *   <min/><max/><last_ds/><value/><unknown_sec/></ds>... <rra><cf/><pdp_per_row/>
 *   <params><xff/></params><cdp_prep>...</cdp_prep><database><row><v/>...</row>
 *   ...</database></rra>...</rrd>
 *
 * Also accepted: the old key spelling <minimal_hearbeat> and the dom0-internal
 * <last_updated> of each ds (flip_flop.xml). <cdp_prep> is consolidation state
 * of no use to a reader and is skipped. Rows are oldest first; dump_build.c
 * gives them their times.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "rrd/dump_build.h"
#include "rrd/rrd_parser.h"
#include "rrd/xml_walk.h"

enum xd_state { XD_START, XD_RRD, XD_DS, XD_RRA, XD_PARAMS, XD_DATABASE, XD_ROW, XD_NSTATES };

enum { XD_F_V = 100 }; /* a row value, beyond enum xs_dump_field */

struct xml_dump {
	struct xs_dump_build b;
	struct xs_xml_walk walk;
};

static const struct xs_xml_rule xd_rules[] = {
	{ XD_START, "rrd", XD_RRD, 0 },
	{ XD_RRD, "version", XS_XW_FIELD, XS_DUMP_VERSION },
	{ XD_RRD, "step", XS_XW_FIELD, XS_DUMP_STEP },
	{ XD_RRD, "lastupdate", XS_XW_FIELD, XS_DUMP_LASTUPDATE },
	{ XD_RRD, "ds", XD_DS, 0 },
	{ XD_RRD, "rra", XD_RRA, 0 },
	{ XD_DS, "name", XS_XW_FIELD, XS_DUMP_DS_NAME },
	{ XD_DS, "type", XS_XW_FIELD, XS_DUMP_DS_TYPE },
	{ XD_DS, "minimal_heartbeat", XS_XW_FIELD, XS_DUMP_DS_HEARTBEAT },
	{ XD_DS, "minimal_hearbeat", XS_XW_FIELD, XS_DUMP_DS_HEARTBEAT },
	{ XD_DS, "min", XS_XW_FIELD, XS_DUMP_DS_MIN },
	{ XD_DS, "max", XS_XW_FIELD, XS_DUMP_DS_MAX },
	{ XD_DS, "last_ds", XS_XW_FIELD, XS_DUMP_DS_LAST_DS },
	{ XD_DS, "value", XS_XW_FIELD, XS_DUMP_DS_VALUE },
	{ XD_DS, "unknown_sec", XS_XW_FIELD, XS_DUMP_DS_UNKNOWN_SEC },
	{ XD_DS, "last_updated", XS_XW_FIELD, XS_DUMP_DS_LAST_UPDATED },
	{ XD_RRA, "cf", XS_XW_FIELD, XS_DUMP_RRA_CF },
	{ XD_RRA, "pdp_per_row", XS_XW_FIELD, XS_DUMP_RRA_PDP_PER_ROW },
	{ XD_RRA, "params", XD_PARAMS, 0 },
	{ XD_RRA, "database", XD_DATABASE, 0 },
	{ XD_PARAMS, "xff", XS_XW_FIELD, XS_DUMP_RRA_XFF },
	{ XD_DATABASE, "row", XD_ROW, 0 },
	{ XD_ROW, "v", XS_XW_FIELD, XD_F_V },
};

static const char *const xd_expected[XD_NSTATES] = {
	[XD_START] = "<rrd>",
	[XD_RRD] = "<version>, <step>, <lastupdate>, <ds>, <rra> or </rrd>",
	[XD_DS] = "a data-source field or </ds>",
	[XD_RRA] = "<cf>, <pdp_per_row>, <params>, <cdp_prep>, <database> or </rra>",
	[XD_PARAMS] = "<xff> or </params>",
	[XD_DATABASE] = "<row> or </database>",
	[XD_ROW] = "<v> or </row>",
};

static enum xs_err xd_enter(void *doc, unsigned state, uint64_t off, char *err)
{
	struct xml_dump *x = doc;

	switch (state) {
	case XD_DS: return xs_dump_build_ds_begin(&x->b, off, err);
	case XD_RRA: return xs_dump_build_rra_begin(&x->b, off, err);
	case XD_DATABASE: return xs_dump_build_database_begin(&x->b, off, err);
	case XD_ROW: return xs_dump_build_row_begin(&x->b, off, err);
	default: return XS_OK;
	}
}

static enum xs_err xd_leave(void *doc, unsigned state, uint64_t off, char *err)
{
	struct xml_dump *x = doc;

	switch (state) {
	case XD_DS: return xs_dump_build_ds_end(&x->b, off, err);
	case XD_RRA: return xs_dump_build_rra_end(&x->b, off, err);
	case XD_ROW: return xs_dump_build_row_end(&x->b, off, err);
	default: return XS_OK;
	}
}

static enum xs_err xd_field(void *doc, int field, const char *s, size_t n, uint64_t off,
			    char *err)
{
	struct xml_dump *x = doc;
	double v;

	if (field != XD_F_V)
		return xs_dump_build_field(&x->b, (enum xs_dump_field)field, s, n, off, err);
	if (!xs_num_from_slice(s, n, &v))
		return xs_err_at(err, XS_ERR_PARSE, off, "expected a number in <v>");
	return xs_dump_build_value(&x->b, v, off, err);
}

static enum xs_err xd_finish(void *doc, uint64_t off, char *err)
{
	struct xml_dump *x = doc;

	return xs_dump_build_finish(&x->b, off, err);
}

/* The hot path: "<v>NUMBER</v>" repeated inside a row, parsed in place. */
static const char *xd_fast(void *doc, unsigned state, const char *p, const char *end,
			   uint64_t off_p, enum xs_err *rc, char *err)
{
	struct xml_dump *x = doc;
	const char *start = p;

	if (state != XD_ROW)
		return p;
	while (end - p >= 8 && p[0] == '<' && p[1] == 'v' && p[2] == '>') {
		double v;
		const char *q = xs_num_parse(p + 3, end, &v);

		if (!q || end - q < 4 || memcmp(q, "</v>", 4))
			break;
		*rc = xs_dump_build_value(&x->b, v, off_p + (uint64_t)(p + 3 - start), err);
		if (*rc)
			return p;
		p = q + 4;
	}
	return p;
}

static const struct xs_xml_schema xd_schema = {
	.rules = xd_rules,
	.nrules = sizeof(xd_rules) / sizeof(xd_rules[0]),
	.expected = xd_expected,
	.enter = xd_enter,
	.leave = xd_leave,
	.field = xd_field,
	.finish = xd_finish,
	.fast = xd_fast,
};

static ptrdiff_t xml_dump_parse(void *parser, const char *buf, size_t len, uint64_t off,
				bool eof, enum xs_err *code, char *err)
{
	struct xml_dump *x = parser;

	return xs_xml_walk_parse(&x->walk, buf, len, off, eof, code, err);
}

static void *xml_dump_create(const struct xs_rrd_sink *sink, void *ctx)
{
	struct xml_dump *x = xs_xcalloc(1, sizeof(*x));

	xs_dump_build_init(&x->b, sink, ctx);
	x->b.hdr.syntax = XS_RRD_XML;
	xs_xml_walk_init(&x->walk, &xd_schema, x);
	return x;
}

static void xml_dump_destroy(void *parser)
{
	struct xml_dump *x = parser;

	if (!x)
		return;
	xs_dump_build_cleanup(&x->b);
	free(x);
}

const struct xs_rrd_parser_class xs_rrd_xml_dump_class = {
	.name = "RRD dump XML",
	.kind = XS_RRD_DUMP,
	.create = xml_dump_create,
	.parse = xml_dump_parse,
	.destroy = xml_dump_destroy,
};
