/*
 * json_dump.c - reader of full RRD dumps in JSON (/host_rrd, /vm_rrd,
 * /sr_rrd with json=true; SPEC §2.5):
 *
 *   {"version":"0003","step":"5","lastupdate":"1700000000.326",
 *    "ds":[{"name":..,"type":..,"minimal_heartbeat":..,"min":..,"max":..,
 *           "last_ds":..,"value":..,"unknown_sec":..,"last_updated":..}],
 *    "rra":[{"cf":..,"pdp_per_row":"1","params":{"xff":..},"cdp_prep":{..},
 *            "database":[["v","v",..],..]}]}
 *
 * Numbers quoted or bare; the old key spelling "minimal_hearbeat" and the
 * optional "last_updated" are accepted; "cdp_prep" (consolidation state) and
 * unknown members are skipped (json_walk.c). Rows are oldest first;
 * dump_build.c gives them their times.
 */
#include <stdlib.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "rrd/dump_build.h"
#include "rrd/json_walk.h"
#include "rrd/rrd_parser.h"

enum jd_state {
	JD_NONE, JD_TOP, JD_DS_LIST, JD_DS, JD_RRA_LIST, JD_RRA, JD_PARAMS, JD_DATABASE, JD_ROW,
	JD_NSTATES
};

enum { JD_F_V = 100 }; /* a row value, beyond enum xs_dump_field */

struct json_dump {
	struct xs_dump_build b;
	struct xs_json_walk walk;
};

static const struct xs_json_rule jd_rules[] = {
	{ JD_TOP, "version", XS_JW_FIELD, XS_DUMP_VERSION },
	{ JD_TOP, "step", XS_JW_FIELD, XS_DUMP_STEP },
	{ JD_TOP, "lastupdate", XS_JW_FIELD, XS_DUMP_LASTUPDATE },
	{ JD_TOP, "ds", JD_DS_LIST, 0 },
	{ JD_TOP, "rra", JD_RRA_LIST, 0 },
	{ JD_DS_LIST, NULL, JD_DS, 0 },
	{ JD_DS, "name", XS_JW_FIELD, XS_DUMP_DS_NAME },
	{ JD_DS, "type", XS_JW_FIELD, XS_DUMP_DS_TYPE },
	{ JD_DS, "minimal_heartbeat", XS_JW_FIELD, XS_DUMP_DS_HEARTBEAT },
	{ JD_DS, "minimal_hearbeat", XS_JW_FIELD, XS_DUMP_DS_HEARTBEAT },
	{ JD_DS, "min", XS_JW_FIELD, XS_DUMP_DS_MIN },
	{ JD_DS, "max", XS_JW_FIELD, XS_DUMP_DS_MAX },
	{ JD_DS, "last_ds", XS_JW_FIELD, XS_DUMP_DS_LAST_DS },
	{ JD_DS, "value", XS_JW_FIELD, XS_DUMP_DS_VALUE },
	{ JD_DS, "unknown_sec", XS_JW_FIELD, XS_DUMP_DS_UNKNOWN_SEC },
	{ JD_DS, "last_updated", XS_JW_FIELD, XS_DUMP_DS_LAST_UPDATED },
	{ JD_RRA_LIST, NULL, JD_RRA, 0 },
	{ JD_RRA, "cf", XS_JW_FIELD, XS_DUMP_RRA_CF },
	{ JD_RRA, "pdp_per_row", XS_JW_FIELD, XS_DUMP_RRA_PDP_PER_ROW },
	{ JD_RRA, "params", JD_PARAMS, 0 },
	{ JD_RRA, "database", JD_DATABASE, 0 },
	{ JD_PARAMS, "xff", XS_JW_FIELD, XS_DUMP_RRA_XFF },
	{ JD_DATABASE, NULL, JD_ROW, 0 },
	{ JD_ROW, NULL, XS_JW_FIELD, JD_F_V },
};

static const bool jd_is_array[JD_NSTATES] = {
	[JD_DS_LIST] = true, [JD_RRA_LIST] = true, [JD_DATABASE] = true, [JD_ROW] = true,
};

static const char *const jd_what[JD_NSTATES] = {
	[JD_NONE] = "the document",
	[JD_TOP] = "the top-level object",
	[JD_DS_LIST] = "the ds array",
	[JD_DS] = "a ds object",
	[JD_RRA_LIST] = "the rra array",
	[JD_RRA] = "an rra object",
	[JD_PARAMS] = "the params object",
	[JD_DATABASE] = "the database array",
	[JD_ROW] = "a database row array",
};

static enum xs_err jd_enter(void *doc, unsigned state, uint64_t off, char *err)
{
	struct json_dump *x = doc;

	switch (state) {
	case JD_DS: return xs_dump_build_ds_begin(&x->b, off, err);
	case JD_RRA: return xs_dump_build_rra_begin(&x->b, off, err);
	case JD_DATABASE: return xs_dump_build_database_begin(&x->b, off, err);
	case JD_ROW: return xs_dump_build_row_begin(&x->b, off, err);
	default: return XS_OK;
	}
}

static enum xs_err jd_leave(void *doc, unsigned state, uint64_t off, char *err)
{
	struct json_dump *x = doc;

	switch (state) {
	case JD_DS: return xs_dump_build_ds_end(&x->b, off, err);
	case JD_RRA: return xs_dump_build_rra_end(&x->b, off, err);
	case JD_ROW: return xs_dump_build_row_end(&x->b, off, err);
	default: return XS_OK;
	}
}

static enum xs_err jd_field(void *doc, int field, const char *s, size_t n, uint64_t off,
			    char *err)
{
	struct json_dump *x = doc;
	double v;

	if (field != JD_F_V)
		return xs_dump_build_field(&x->b, (enum xs_dump_field)field, s, n, off, err);
	if (!xs_num_from_slice(s, n, &v))
		return xs_err_at(err, XS_ERR_PARSE, off, "expected a number in a database row");
	return xs_dump_build_value(&x->b, v, off, err);
}

static enum xs_err jd_finish(void *doc, uint64_t off, char *err)
{
	struct json_dump *x = doc;

	return xs_dump_build_finish(&x->b, off, err);
}

/* The hot path: `"NUMBER",` (or bare) repeated inside a database row. */
static const char *jd_fast(void *doc, unsigned state, const char *p, const char *end,
			   uint64_t off_p, enum xs_err *rc, char *err)
{
	struct json_dump *x = doc;
	const char *start = p;

	if (state != JD_ROW)
		return p;
	while (end - p >= 3) {
		double v;
		const char *q = xs_json_number_element(p, end, &v);

		if (!q)
			break;
		*rc = xs_dump_build_value(&x->b, v, off_p + (uint64_t)(p - start), err);
		if (*rc)
			return p;
		p = q;
	}
	return p;
}

static const struct xs_json_schema jd_schema = {
	.rules = jd_rules,
	.nrules = sizeof(jd_rules) / sizeof(jd_rules[0]),
	.root = JD_TOP,
	.is_array = jd_is_array,
	.what = jd_what,
	.enter = jd_enter,
	.leave = jd_leave,
	.field = jd_field,
	.finish = jd_finish,
	.fast = jd_fast,
};

static ptrdiff_t json_dump_parse(void *parser, const char *buf, size_t len, uint64_t off,
				 bool eof, enum xs_err *code, char *err)
{
	struct json_dump *x = parser;

	return xs_json_walk_parse(&x->walk, buf, len, off, eof, code, err);
}

static void *json_dump_create(const struct xs_rrd_sink *sink, void *ctx)
{
	struct json_dump *x = xs_xcalloc(1, sizeof(*x));

	xs_dump_build_init(&x->b, sink, ctx);
	x->b.hdr.syntax = XS_RRD_JSON;
	xs_json_walk_init(&x->walk, &jd_schema, x);
	return x;
}

static void json_dump_destroy(void *parser)
{
	struct json_dump *x = parser;

	if (!x)
		return;
	xs_dump_build_cleanup(&x->b);
	free(x);
}

const struct xs_rrd_parser_class xs_rrd_json_dump_class = {
	.name = "RRD dump JSON",
	.kind = XS_RRD_DUMP,
	.create = json_dump_create,
	.parse = json_dump_parse,
	.destroy = json_dump_destroy,
};
