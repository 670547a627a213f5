/*
 * rrd_write.c - writers of /rrd_updates and full RRD dumps as xcp-rrdd serves
 * them (see rrd_write.h; SPEC §2).
 *
 * The bytes follow xapi-rrd's serialisers, era by era:
 *   XML      Xmlm: declaration + '\n', then one line; empty elements as
 *            "<x/>" (so zero rows is "<data/>"); text escapes < > & and '"'.
 *   JSON A   hand-written printf of xapi-rrd <= 1.9.2: unquoted keys, one
 *            space after "meta:", bare numbers, legend quoted but not escaped.
 *   JSON B/C every number a string; B puts "data" inside "meta".
 *   dumps    current Yojson form, or the older Ezjsonm one (key
 *            "minimal_hearbeat", "%.2f" zeros, no last_updated).
 * Output goes through a XS_RRD_WRITE_CHUNK staging buffer on the stack, so
 * the callback sees few large pieces and nothing is allocated. Once the
 * callback fails, loops stop at the next row.
 */
#include "rrd/rrd_write.h"

#include <stdio.h>
#include <string.h>

#define RW_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define RW_FIXED2_LEN 64 /* "%.2f" of the small counts and zeros it prints */

struct rrd_writer {
	xs_rrd_out out;
	void *ctx;
	enum xs_rrd_numfmt nf;
	bool failed;                   /* the callback returned non-zero */
	size_t len;                    /* bytes staged in buf */
	char buf[XS_RRD_WRITE_CHUNK];
};

static void rw_flush(struct rrd_writer *w)
{
	if (w->len && !w->failed && w->out(w->ctx, w->buf, w->len))
		w->failed = true;
	w->len = 0;
}

/* Room for n more bytes (n <= XS_RRD_WRITE_CHUNK). */
static inline char *rw_room(struct rrd_writer *w, size_t n)
{
	if (w->len + n > sizeof(w->buf))
		rw_flush(w);
	return w->buf + w->len;
}

static void rw_mem(struct rrd_writer *w, const char *p, size_t n)
{
	while (n > sizeof(w->buf)) {
		rw_flush(w);
		if (!w->failed && w->out(w->ctx, p, sizeof(w->buf)))
			w->failed = true;
		p += sizeof(w->buf);
		n -= sizeof(w->buf);
	}
	memcpy(rw_room(w, n), p, n);
	w->len += n;
}

/* s must be a string literal ("" s refuses anything else at compile time) */
#define RW_LIT(w, s) rw_mem((w), "" s, sizeof(s) - 1)

static inline void rw_char(struct rrd_writer *w, char c)
{
	*rw_room(w, 1) = c;
	w->len++;
}

static void rw_str(struct rrd_writer *w, const char *s)
{
	rw_mem(w, s ? s : "", s ? strlen(s) : 0);
}

static inline void rw_num(struct rrd_writer *w, double v)
{
	char *p = rw_room(w, XS_RRD_NUM_LEN);

	w->len += xs_rrd_num_format(p, v, w->nf);
}

static void rw_i64(struct rrd_writer *w, int64_t v)
{
	char *p = rw_room(w, XS_RRD_I64_LEN);

	w->len += xs_rrd_i64_format(p, v);
}

/* OCaml's int_of_float then "%d": truncation toward zero. */
static void rw_trunc(struct rrd_writer *w, double v)
{
	rw_i64(w, v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v);
}

/* "%.2f" (old Ezjsonm dumps only: zeros and small counts, so printf is fine). */
static void rw_fixed2(struct rrd_writer *w, double v)
{
	char *p = rw_room(w, RW_FIXED2_LEN);
	int n = snprintf(p, RW_FIXED2_LEN, "%.2f", v);

	if (n > 0 && n < RW_FIXED2_LEN)
		w->len += (size_t)n;
}

/* Xmlm's text escaping. */
static void rw_xml_text(struct rrd_writer *w, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *e;

		switch (*s) {
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '&': e = "&amp;"; break;
		case '"': e = "&quot;"; break;
		default: continue;
		}
		rw_mem(w, run, (size_t)(s - run));
		rw_str(w, e);
		run = s + 1;
	}
	rw_mem(w, run, (size_t)(s - run));
}

/* "<tag>text</tag>" (Xmlm writes "<tag></tag>" for empty text: only an
 * element without any child is "<tag/>"). */
static void rw_xml_el(struct rrd_writer *w, const char *tag, const char *text)
{
	rw_char(w, '<');
	rw_str(w, tag);
	rw_char(w, '>');
	rw_xml_text(w, text ? text : "");
	RW_LIT(w, "</");
	rw_str(w, tag);
	rw_char(w, '>');
}

/* A JSON string with Yojson's escapes. */
static void rw_json_str(struct rrd_writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	rw_char(w, '"');
	for (run = s = s ? s : ""; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7] = "\\u00";
		size_t n = 2;

		if (c == '"' || c == '\\')
			esc[1] = (char)c;
		else if (c == '\n')
			esc[1] = 'n';
		else if (c == '\r')
			esc[1] = 'r';
		else if (c == '\t')
			esc[1] = 't';
		else if (c == '\b')
			esc[1] = 'b';
		else if (c == '\f')
			esc[1] = 'f';
		else if (c < 0x20 || c == 0x7f) {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		} else
			continue;
		rw_mem(w, run, (size_t)(s - run));
		rw_mem(w, esc, n);
		run = s + 1;
	}
	rw_mem(w, run, (size_t)(s - run));
	rw_char(w, '"');
}

static inline void rw_qnum(struct rrd_writer *w, double v)
{
	rw_char(w, '"');
	rw_num(w, v);
	rw_char(w, '"');
}

static void rw_qi64(struct rrd_writer *w, int64_t v)
{
	rw_char(w, '"');
	rw_i64(w, v);
	rw_char(w, '"');
}

static void rw_init(struct rrd_writer *w, enum xs_rrd_numfmt nf, xs_rrd_out out, void *ctx)
{
	w->out = out;
	w->ctx = ctx;
	w->nf = nf;
	w->failed = false;
	w->len = 0;
}

static enum xs_err rw_finish(struct rrd_writer *w)
{
	rw_flush(w);
	return w->failed ? XS_ERR_ABORTED : XS_OK;
}

/* ---- /rrd_updates -------------------------------------------------------- */

static void updates_xml_int(struct rrd_writer *w, const char *open, const char *close,
			    int64_t v)
{
	rw_str(w, open);
	rw_i64(w, v);
	rw_str(w, close);
}

static void updates_xml(struct rrd_writer *w, const struct xs_rrd_updates_doc *d)
{
	RW_LIT(w, RW_DECL "<xport><meta>");
	updates_xml_int(w, "<start>", "</start>", d->start);
	updates_xml_int(w, "<step>", "</step>", d->step);
	updates_xml_int(w, "<end>", "</end>", d->end);
	updates_xml_int(w, "<rows>", "</rows>", (int64_t)d->rows);
	updates_xml_int(w, "<columns>", "</columns>", (int64_t)d->columns);
	if (!d->columns) {
		RW_LIT(w, "<legend/>");
	} else {
		RW_LIT(w, "<legend>");
		for (size_t c = 0; c < d->columns; c++)
			rw_xml_el(w, "entry", d->legend[c]);
		RW_LIT(w, "</legend>");
	}
	RW_LIT(w, "</meta>");
	if (!d->rows) {
		RW_LIT(w, "<data/></xport>");
		return;
	}
	RW_LIT(w, "<data>");
	for (size_t r = 0; r < d->rows && !w->failed; r++) {
		const double *v = d->values + r * d->columns;

		updates_xml_int(w, "<row><t>", "</t>", d->times[r]);
		for (size_t c = 0; c < d->columns; c++) {
			RW_LIT(w, "<v>");
			rw_num(w, v[c]);
			RW_LIT(w, "</v>");
		}
		RW_LIT(w, "</row>");
	}
	RW_LIT(w, "</data></xport>");
}

/* Variant A: xapi-rrd <= 1.9.2's printf output (not JSON). */
static void updates_json_legacy(struct rrd_writer *w, const struct xs_rrd_updates_doc *d)
{
	updates_xml_int(w, "{meta: {start:", ",step:", d->start);
	updates_xml_int(w, "", ",end:", d->step);
	updates_xml_int(w, "", ",rows:", d->end);
	updates_xml_int(w, "", ",columns:", (int64_t)d->rows);
	updates_xml_int(w, "", ",legend:[", (int64_t)d->columns);
	for (size_t c = 0; c < d->columns; c++) {
		if (c)
			rw_char(w, ',');
		rw_char(w, '"');
		rw_str(w, d->legend[c]);
		rw_char(w, '"');
	}
	RW_LIT(w, "]},data:[");
	for (size_t r = 0; r < d->rows && !w->failed; r++) {
		const double *v = d->values + r * d->columns;

		updates_xml_int(w, r ? ",{t:" : "{t:", ",values:[", d->times[r]);
		for (size_t c = 0; c < d->columns; c++) {
			if (c)
				rw_char(w, ',');
			rw_num(w, v[c]);
		}
		RW_LIT(w, "]}");
	}
	RW_LIT(w, "]}");
}

/* Variants B and C: strict JSON, every number a string. */
static void updates_json(struct rrd_writer *w, const struct xs_rrd_updates_doc *d, bool nested)
{
	RW_LIT(w, "{\"meta\":{\"start\":");
	rw_qi64(w, d->start);
	RW_LIT(w, ",\"step\":");
	rw_qi64(w, d->step);
	RW_LIT(w, ",\"end\":");
	rw_qi64(w, d->end);
	RW_LIT(w, ",\"rows\":");
	rw_qi64(w, (int64_t)d->rows);
	RW_LIT(w, ",\"columns\":");
	rw_qi64(w, (int64_t)d->columns);
	RW_LIT(w, ",\"legend\":[");
	for (size_t c = 0; c < d->columns; c++) {
		if (c)
			rw_char(w, ',');
		rw_json_str(w, d->legend[c]);
	}
	if (nested)
		RW_LIT(w, "],\"data\":[");
	else
		RW_LIT(w, "]},\"data\":[");
	for (size_t r = 0; r < d->rows && !w->failed; r++) {
		const double *v = d->values + r * d->columns;

		rw_str(w, r ? ",{\"t\":" : "{\"t\":");
		rw_qi64(w, d->times[r]);
		RW_LIT(w, ",\"values\":[");
		for (size_t c = 0; c < d->columns; c++) {
			if (c)
				rw_char(w, ',');
			rw_qnum(w, v[c]);
		}
		RW_LIT(w, "]}");
	}
	if (nested)
		RW_LIT(w, "]}}");
	else
		RW_LIT(w, "]}");
}

enum xs_err xs_rrd_write_updates(const struct xs_rrd_updates_doc *doc, enum xs_rrd_syntax syntax,
				 enum xs_rrd_numfmt nf, xs_rrd_out out, void *ctx)
{
	struct rrd_writer w;

	switch (syntax) {
	case XS_RRD_XML:
	case XS_RRD_JSON_NESTED:
	case XS_RRD_JSON:
		break;
	case XS_RRD_JSON_LEGACY:
		if (!doc->rows)
			return XS_ERR_ARG; /* xapi indexes data.(-1) and fails */
		break;
	default:
		return XS_ERR_ARG;
	}
	rw_init(&w, nf, out, ctx);
	if (syntax == XS_RRD_XML)
		updates_xml(&w, doc);
	else if (syntax == XS_RRD_JSON_LEGACY)
		updates_json_legacy(&w, doc);
	else
		updates_json(&w, doc, syntax == XS_RRD_JSON_NESTED);
	return rw_finish(&w);
}

/* ---- full dumps ---------------------------------------------------------- */

static void dump_xml_num(struct rrd_writer *w, const char *tag, double v)
{
	rw_char(w, '<');
	rw_str(w, tag);
	rw_char(w, '>');
	rw_num(w, v);
	RW_LIT(w, "</");
	rw_str(w, tag);
	rw_char(w, '>');
}

static void dump_xml_trunc(struct rrd_writer *w, const char *tag, double v)
{
	rw_char(w, '<');
	rw_str(w, tag);
	rw_char(w, '>');
	rw_trunc(w, v);
	RW_LIT(w, "</");
	rw_str(w, tag);
	rw_char(w, '>');
}

static void dump_last_ds(struct rrd_writer *w, const struct xs_rrd_write_ds *ds, bool old_json)
{
	if (ds->last_ds_kind == XS_RRD_LAST_DS_INT)
		rw_trunc(w, ds->last_ds);
	else if (ds->last_ds_kind == XS_RRD_LAST_DS_FLOAT)
		rw_num(w, ds->last_ds);
	else if (old_json)
		RW_LIT(w, "0.00");
	else
		RW_LIT(w, "0.0");
}

static void dump_xml_ds(struct rrd_writer *w, const struct xs_rrd_write_ds *ds)
{
	RW_LIT(w, "<ds>");
	rw_xml_el(w, "name", ds->name);
	rw_xml_el(w, "type", ds->type);
	dump_xml_num(w, "minimal_heartbeat", ds->heartbeat);
	dump_xml_num(w, "min", ds->min);
	dump_xml_num(w, "max", ds->max);
	RW_LIT(w, "<last_ds>");
	dump_last_ds(w, ds, false);
	RW_LIT(w, "</last_ds>");
	dump_xml_num(w, "value", ds->value);
	dump_xml_trunc(w, "unknown_sec", ds->unknown_sec);
	if (ds->has_last_updated)
		dump_xml_num(w, "last_updated", ds->last_updated);
	RW_LIT(w, "</ds>");
}

static void dump_xml_rra(struct rrd_writer *w, const struct xs_rrd_write_rra *a, size_t nds)
{
	RW_LIT(w, "<rra>");
	rw_xml_el(w, "cf", a->cf);
	updates_xml_int(w, "<pdp_per_row>", "</pdp_per_row>", a->pdp_per_row);
	RW_LIT(w, "<params>");
	dump_xml_num(w, "xff", a->xff);
	RW_LIT(w, "</params>");
	if (!nds)
		RW_LIT(w, "<cdp_prep/>");
	else
		RW_LIT(w, "<cdp_prep>");
	for (size_t i = 0; i < nds; i++) {
		RW_LIT(w, "<ds><primary_value>0.0</primary_value><secondary_value>0.0"
			  "</secondary_value>");
		dump_xml_num(w, "value", a->cdp_value ? a->cdp_value[i] : 0.0);
		updates_xml_int(w, "<unknown_datapoints>", "</unknown_datapoints></ds>",
				a->cdp_unknown ? a->cdp_unknown[i] : 0);
	}
	if (nds)
		RW_LIT(w, "</cdp_prep>");
	/* xapi writes no row when the archive has no data source */
	if (!nds || !a->rows) {
		RW_LIT(w, "<database/></rra>");
		return;
	}
	RW_LIT(w, "<database>");
	for (size_t r = 0; r < a->rows && !w->failed; r++) {
		const double *v = a->data + r * nds;

		RW_LIT(w, "<row>");
		for (size_t c = 0; c < nds; c++) {
			RW_LIT(w, "<v>");
			rw_num(w, v[c]);
			RW_LIT(w, "</v>");
		}
		RW_LIT(w, "</row>");
	}
	RW_LIT(w, "</database></rra>");
}

static void dump_xml(struct rrd_writer *w, const struct xs_rrd_dump_doc *d)
{
	RW_LIT(w, RW_DECL "<rrd><version>0003</version>");
	updates_xml_int(w, "<step>", "</step>", d->step);
	dump_xml_trunc(w, "lastupdate", d->lastupdate);
	for (size_t i = 0; i < d->nds; i++)
		dump_xml_ds(w, &d->ds[i]);
	for (size_t i = 0; i < d->nrra && !w->failed; i++)
		dump_xml_rra(w, &d->rra[i], d->nds);
	RW_LIT(w, "</rrd>");
}

/* ",\"key\":" */
static void dump_json_key(struct rrd_writer *w, const char *key)
{
	RW_LIT(w, ",\"");
	rw_str(w, key);
	RW_LIT(w, "\":");
}

static void dump_json_ds(struct rrd_writer *w, const struct xs_rrd_write_ds *ds, bool old)
{
	RW_LIT(w, "{\"name\":");
	rw_json_str(w, ds->name);
	dump_json_key(w, "type");
	rw_json_str(w, ds->type);
	dump_json_key(w, old ? "minimal_hearbeat" : "minimal_heartbeat");
	rw_qnum(w, ds->heartbeat);
	dump_json_key(w, "min");
	rw_qnum(w, ds->min);
	dump_json_key(w, "max");
	rw_qnum(w, ds->max);
	dump_json_key(w, "last_ds");
	rw_char(w, '"');
	dump_last_ds(w, ds, old);
	rw_char(w, '"');
	dump_json_key(w, "value");
	rw_qnum(w, ds->value);
	dump_json_key(w, "unknown_sec");
	if (old) {
		rw_char(w, '"');
		rw_trunc(w, ds->unknown_sec);
		rw_char(w, '"');
	} else {
		rw_qnum(w, ds->unknown_sec);
	}
	if (ds->has_last_updated && !old) {
		dump_json_key(w, "last_updated");
		rw_qnum(w, ds->last_updated);
	}
	rw_char(w, '}');
}

static void dump_json_cdp(struct rrd_writer *w, const struct xs_rrd_write_rra *a, size_t i,
			  bool old)
{
	unsigned unknown = a->cdp_unknown ? a->cdp_unknown[i] : 0;

	if (old)
		RW_LIT(w, "{\"primary_value\":\"0.00\",\"secondary_value\":\"0.00\",\"value\":");
	else
		RW_LIT(w, "{\"primary_value\":\"0.0\",\"secondary_value\":\"0.0\",\"value\":");
	rw_qnum(w, a->cdp_value ? a->cdp_value[i] : 0.0);
	RW_LIT(w, ",\"unknown_datapoints\":\"");
	if (old)
		rw_fixed2(w, unknown);
	else
		rw_i64(w, unknown);
	RW_LIT(w, "\"}");
}

static void dump_json_rra(struct rrd_writer *w, const struct xs_rrd_write_rra *a, size_t nds,
			  bool old)
{
	RW_LIT(w, "{\"cf\":");
	rw_json_str(w, a->cf);
	dump_json_key(w, "pdp_per_row");
	rw_qi64(w, a->pdp_per_row);
	RW_LIT(w, ",\"params\":{\"xff\":");
	rw_qnum(w, a->xff);
	RW_LIT(w, "},\"cdp_prep\":{\"ds\":[");
	for (size_t i = 0; i < nds; i++) {
		if (i)
			rw_char(w, ',');
		dump_json_cdp(w, a, i, old);
	}
	RW_LIT(w, "]},\"database\":[");
	for (size_t r = 0; nds && r < a->rows && !w->failed; r++) {
		const double *v = a->data + r * nds;

		rw_str(w, r ? ",[" : "[");
		for (size_t c = 0; c < nds; c++) {
			if (c)
				rw_char(w, ',');
			rw_qnum(w, v[c]);
		}
		rw_char(w, ']');
	}
	RW_LIT(w, "]}");
}

static void dump_json(struct rrd_writer *w, const struct xs_rrd_dump_doc *d, bool old)
{
	RW_LIT(w, "{\"version\":\"0003\",\"step\":");
	rw_qi64(w, d->step);
	RW_LIT(w, ",\"lastupdate\":");
	rw_qnum(w, d->lastupdate);
	RW_LIT(w, ",\"ds\":[");
	for (size_t i = 0; i < d->nds; i++) {
		if (i)
			rw_char(w, ',');
		dump_json_ds(w, &d->ds[i], old);
	}
	RW_LIT(w, "],\"rra\":[");
	for (size_t i = 0; i < d->nrra && !w->failed; i++) {
		if (i)
			rw_char(w, ',');
		dump_json_rra(w, &d->rra[i], d->nds, old);
	}
	RW_LIT(w, "]}");
}

enum xs_err xs_rrd_write_dump(const struct xs_rrd_dump_doc *doc, enum xs_rrd_syntax syntax,
			      enum xs_rrd_numfmt nf, xs_rrd_out out, void *ctx)
{
	struct rrd_writer w;

	if (syntax != XS_RRD_XML && syntax != XS_RRD_JSON && syntax != XS_RRD_JSON_LEGACY &&
	    syntax != XS_RRD_JSON_NESTED)
		return XS_ERR_ARG;
	rw_init(&w, nf, out, ctx);
	if (syntax == XS_RRD_XML)
		dump_xml(&w, doc);
	else
		dump_json(&w, doc, syntax != XS_RRD_JSON);
	return rw_finish(&w);
}
