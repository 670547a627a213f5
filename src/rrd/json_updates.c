/*
 * json_updates.c - reader of /rrd_updates JSON, all three eras (SPEC §2.2):
 *
 *   A legacy:  {meta: {start:1,...,legend:["..."]},data:[{t:1,values:[0.1411,NaN]}]}
 *   B nested:  {"meta":{"start":"1",...,"legend":[...],"data":[{"t":"1","values":["0.14111"]}]}}
 *   C current: {"meta":{"start":"1",...,"legend":[...]},"data":[{"t":"1","values":["0.1433"]}]}
 *
 * One schema covers them: keys quoted or not, numbers quoted or bare, `data`
 * at the top level or inside `meta`, members in any order (`t` before or
 * after `values`), unknown members skipped (json_walk.c). The era is told to
 * the consumer in meta.syntax. The common case of a row, `"0.1433",` (or
 * `0.1433,`) repeated, is parsed straight from the buffer. Semantics (counts,
 * order) are checked by updates_build.c.
 */
#include <stdlib.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "rrd/json_walk.h"
#include "rrd/rrd_parser.h"
#include "rrd/updates_build.h"

enum ju_state { JU_NONE, JU_TOP, JU_META, JU_LEGEND, JU_DATA, JU_ROW, JU_VALUES, JU_NSTATES };

/* Fields beyond the meta ones of enum xs_updates_field. */
enum { JU_F_ENTRY = 100, JU_F_T, JU_F_V };

struct json_updates {
	struct xs_updates_build b;
	struct xs_json_walk walk;
	bool in_meta; /* inside the meta object (variant B puts data there) */
};

static const struct xs_json_rule ju_rules[] = {
	{ JU_TOP, "meta", JU_META, 0 },
	{ JU_TOP, "data", JU_DATA, 0 },
	{ JU_META, "start", XS_JW_FIELD, XS_UPDATES_START },
	{ JU_META, "step", XS_JW_FIELD, XS_UPDATES_STEP },
	{ JU_META, "end", XS_JW_FIELD, XS_UPDATES_END },
	{ JU_META, "rows", XS_JW_FIELD, XS_UPDATES_ROWS },
	{ JU_META, "columns", XS_JW_FIELD, XS_UPDATES_COLUMNS },
	{ JU_META, "legend", JU_LEGEND, 0 },
	{ JU_META, "data", JU_DATA, 0 },
	{ JU_LEGEND, NULL, XS_JW_FIELD, JU_F_ENTRY },
	{ JU_DATA, NULL, JU_ROW, 0 },
	{ JU_ROW, "t", XS_JW_FIELD, JU_F_T },
	{ JU_ROW, "values", JU_VALUES, 0 },
	{ JU_VALUES, NULL, XS_JW_FIELD, JU_F_V },
};

static const bool ju_is_array[JU_NSTATES] = {
	[JU_LEGEND] = true, [JU_DATA] = true, [JU_VALUES] = true,
};

static const char *const ju_what[JU_NSTATES] = {
	[JU_NONE] = "the document",
	[JU_TOP] = "the top-level object",
	[JU_META] = "the meta object",
	[JU_LEGEND] = "the legend array",
	[JU_DATA] = "the data array",
	[JU_ROW] = "a row object",
	[JU_VALUES] = "the values array",
};

/* The era, as far as the document has shown it. */
static void ju_set_syntax(struct json_updates *x)
{
	if (x->walk.bare_keys)
		x->b.meta.syntax = XS_RRD_JSON_LEGACY;
	else if (x->in_meta)
		x->b.meta.syntax = XS_RRD_JSON_NESTED;
	else
		x->b.meta.syntax = XS_RRD_JSON;
}

static enum xs_err ju_enter(void *doc, unsigned state, uint64_t off, char *err)
{
	struct json_updates *x = doc;

	switch (state) {
	case JU_META:
		x->in_meta = true;
		return XS_OK;
	case JU_DATA:
		ju_set_syntax(x);
		return xs_updates_build_data_begin(&x->b, off, err);
	case JU_ROW:
		return xs_updates_build_row_begin(&x->b, off, err);
	default:
		return XS_OK;
	}
}

static enum xs_err ju_leave(void *doc, unsigned state, uint64_t off, char *err)
{
	struct json_updates *x = doc;

	if (state == JU_META)
		x->in_meta = false;
	return state == JU_ROW ? xs_updates_build_row_end(&x->b, off, err) : XS_OK;
}

static enum xs_err ju_field(void *doc, int field, const char *s, size_t n, uint64_t off,
			    char *err)
{
	struct json_updates *x = doc;
	double v;

	switch (field) {
	case JU_F_ENTRY:
		return xs_updates_build_legend(&x->b, s, n, off, err);
	case JU_F_T:
		return xs_updates_build_row_time(&x->b, s, n, off, err);
	case JU_F_V:
		if (!xs_num_from_slice(s, n, &v))
			return xs_err_at(err, XS_ERR_PARSE, off, "expected a number in values");
		return xs_updates_build_value(&x->b, v, off, err);
	default:
		return xs_updates_build_meta_field(&x->b, (enum xs_updates_field)field, s, n, off,
						   err);
	}
}

static enum xs_err ju_finish(void *doc, uint64_t off, char *err)
{
	struct json_updates *x = doc;

	if (!x->b.meta_sent)
		ju_set_syntax(x);
	return xs_updates_build_finish(&x->b, off, err);
}

/* The hot path: `"NUMBER",` or `NUMBER,` repeated inside values, parsed in place.
 * Only a number filling its whole string (or bare word) and followed directly
 * by a comma is taken: exactly what the general path would read. */
static const char *ju_fast(void *doc, unsigned state, const char *p, const char *end,
			   uint64_t off_p, enum xs_err *rc, char *err)
{
	struct json_updates *x = doc;
	const char *start = p;

	if (state != JU_VALUES)
		return p;
	while (end - p >= 3) {
		double v;
		const char *q = xs_json_number_element(p, end, &v);

		if (!q)
			break;
		*rc = xs_updates_build_value(&x->b, v, off_p + (uint64_t)(p - start), err);
		if (*rc)
			return p;
		p = q;
	}
	return p;
}

static const struct xs_json_schema ju_schema = {
	.rules = ju_rules,
	.nrules = sizeof(ju_rules) / sizeof(ju_rules[0]),
	.root = JU_TOP,
	.is_array = ju_is_array,
	.what = ju_what,
	.enter = ju_enter,
	.leave = ju_leave,
	.field = ju_field,
	.finish = ju_finish,
	.fast = ju_fast,
};

static ptrdiff_t json_updates_parse(void *parser, const char *buf, size_t len, uint64_t off,
				    bool eof, enum xs_err *code, char *err)
{
	struct json_updates *x = parser;

	return xs_json_walk_parse(&x->walk, buf, len, off, eof, code, err);
}

static void *json_updates_create(const struct xs_rrd_sink *sink, void *ctx)
{
	struct json_updates *x = xs_xcalloc(1, sizeof(*x));

	xs_updates_build_init(&x->b, sink, ctx);
	x->b.meta.syntax = XS_RRD_JSON;
	xs_json_walk_init(&x->walk, &ju_schema, x);
	return x;
}

static void json_updates_destroy(void *parser)
{
	struct json_updates *x = parser;

	if (!x)
		return;
	xs_updates_build_cleanup(&x->b);
	free(x);
}

const struct xs_rrd_parser_class xs_rrd_json_updates_class = {
	.name = "rrd_updates JSON",
	.kind = XS_RRD_UPDATES,
	.create = json_updates_create,
	.parse = json_updates_parse,
	.destroy = json_updates_destroy,
};
