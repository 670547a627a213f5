/*
 * rrd_record.h - test support: a sink that records every callback of an RRD
 * reader as text, and helpers that read a document in chunks of any size.
 *
 * The recording is the canonical form tests compare: two ways of feeding the
 * same document (whole, one byte at a time, random splits) must give the same
 * text, and table tests compare it with an expected string.
 *
 * Lines:  col I CF|KIND|UUID|DS           (updates_column)
 *         meta S start step end rows cols legend   (-1 for absent fields)
 *         row T v1 v2 ...                 (updates_row)
 *         header VERSION STEP LASTUPDATE  (dump_header)
 *         ds I NAME TYPE HB MIN MAX LAST_DS VALUE UNKNOWN_SEC [LAST_UPDATED]
 *         rra I CF PPR XFF PERIOD         (dump_rra_begin)
 *         drow A I v1 v2 ...              (dump_row)
 *         rra_end I ROWS NEWEST           (dump_rra_end)
 *         end updates|dump
 * Numbers are written with xs_num_format (shortest round trip, NaN, Infinity).
 */
#ifndef XS_TEST_RRD_RECORD_H
#define XS_TEST_RRD_RECORD_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "rrd/rrd_reader.h"

struct rec {
	char *buf;
	size_t len, cap;
	int stop_after; /* > 0: the n-th callback returns non-zero (abort test) */
	int calls;
};

__attribute__((format(printf, 2, 3))) static void rec_printf(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->buf) { /* NULL + 0 is undefined: start with a real buffer */
		r->cap = 256;
		r->buf = malloc(r->cap);
		if (!r->buf)
			abort();
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < r->cap - r->len)
			break;
		r->cap = r->cap * 2 + (size_t)n + 64;
		r->buf = realloc(r->buf, r->cap);
		if (!r->buf)
			abort();
	}
	r->len += (size_t)n;
}

static void rec_num(struct rec *r, double v)
{
	char b[XS_NUM_FMT_LEN];

	xs_num_format(b, sizeof(b), v);
	rec_printf(r, " %s", b);
}

static int rec_tick(struct rec *r)
{
	r->calls++;
	return r->stop_after > 0 && r->calls >= r->stop_after;
}

static int rec_col(void *ctx, size_t i, const struct xs_rrd_legend *e)
{
	struct rec *r = ctx;

	if (e->odd) {
		rec_printf(r, "col %zu odd %.*s\n", i, (int)e->entry.len, e->entry.ptr);
		return rec_tick(r);
	}
	rec_printf(r, "col %zu %.*s|%.*s|%.*s|%.*s\n", i, (int)e->cf.len, e->cf.ptr,
		   (int)e->kind.len, e->kind.ptr, (int)e->uuid.len, e->uuid.ptr, (int)e->ds.len,
		   e->ds.ptr);
	return rec_tick(r);
}

static int rec_meta(void *ctx, const struct xs_rrd_updates_meta *m)
{
	struct rec *r = ctx;

	rec_printf(r, "meta %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %zu\n",
		   (int)m->syntax, m->has_start ? m->start : -1, m->has_step ? m->step : -1,
		   m->has_end ? m->end : -1, m->has_rows ? (int64_t)m->rows : -1,
		   m->has_columns ? (int64_t)m->columns : -1, m->legend_len);
	return rec_tick(r);
}

static int rec_row(void *ctx, int64_t t, const double *v, size_t n)
{
	struct rec *r = ctx;

	rec_printf(r, "row %" PRId64, t);
	for (size_t i = 0; i < n; i++)
		rec_num(r, v[i]);
	rec_printf(r, "\n");
	return rec_tick(r);
}

static int rec_header(void *ctx, const struct xs_rrd_dump_header *h)
{
	struct rec *r = ctx;

	rec_printf(r, "header %.*s %" PRId64, (int)h->version.len,
		   h->version.ptr ? h->version.ptr : "", h->step);
	rec_num(r, h->lastupdate);
	if (h->lastupdate_doubt)
		rec_printf(r, " doubt %d", h->lastupdate_doubt);
	rec_printf(r, "\n");
	return rec_tick(r);
}

static int rec_ds(void *ctx, size_t i, const struct xs_rrd_dump_ds *ds)
{
	struct rec *r = ctx;

	rec_printf(r, "ds %zu %.*s %.*s", i, (int)ds->name.len, ds->name.ptr, (int)ds->type.len,
		   ds->type.ptr ? ds->type.ptr : "");
	rec_num(r, ds->heartbeat);
	rec_num(r, ds->min);
	rec_num(r, ds->max);
	rec_num(r, ds->last_ds);
	rec_num(r, ds->value);
	rec_num(r, ds->unknown_sec);
	if (ds->has_last_updated)
		rec_num(r, ds->last_updated);
	rec_printf(r, "\n");
	return rec_tick(r);
}

static int rec_rra(void *ctx, size_t i, const struct xs_rrd_dump_rra *a)
{
	struct rec *r = ctx;

	rec_printf(r, "rra %zu %.*s %" PRIu64, i, (int)a->cf.len, a->cf.ptr, a->pdp_per_row);
	rec_num(r, a->xff);
	rec_printf(r, " %" PRId64 "\n", a->period);
	return rec_tick(r);
}

static int rec_drow(void *ctx, size_t a, size_t i, const double *v, size_t n)
{
	struct rec *r = ctx;

	rec_printf(r, "drow %zu %zu", a, i);
	for (size_t k = 0; k < n; k++)
		rec_num(r, v[k]);
	rec_printf(r, "\n");
	return rec_tick(r);
}

static int rec_rra_end(void *ctx, size_t i, const struct xs_rrd_dump_rra *a)
{
	struct rec *r = ctx;

	rec_printf(r, "rra_end %zu %" PRIu64 " %" PRId64 "\n", i, a->rows, a->newest);
	return rec_tick(r);
}

static int rec_end(void *ctx, enum xs_rrd_kind kind)
{
	struct rec *r = ctx;

	rec_printf(r, "end %s\n", kind == XS_RRD_UPDATES ? "updates" : "dump");
	return rec_tick(r);
}

static const struct xs_rrd_sink rec_sink = {
	.updates_column = rec_col,
	.updates_meta = rec_meta,
	.updates_row = rec_row,
	.dump_header = rec_header,
	.dump_ds = rec_ds,
	.dump_rra_begin = rec_rra,
	.dump_row = rec_drow,
	.dump_rra_end = rec_rra_end,
	.end = rec_end,
};

/*
 * Reads doc[0..len) with an auto-detecting reader (or cls when not NULL), in
 * chunks of `chunk` bytes (0 = one piece). Returns the recording (malloc'd,
 * caller frees), *rc the result and err the reader's error text.
 */
__attribute__((unused)) static char *rec_read(const struct xs_rrd_parser_class *cls,
					      const char *doc, size_t len, size_t chunk,
					      enum xs_err *rc, char err[XS_ERR_LEN])
{
	struct rec r = { 0 };
	struct xs_rrd_reader *rd = cls ? xs_rrd_reader_new_for(cls, &rec_sink, &r)
				       : xs_rrd_reader_new(&rec_sink, &r);
	size_t step = chunk ? chunk : (len ? len : 1);

	*rc = XS_OK;
	rec_printf(&r, "%s", "");
	for (size_t off = 0; off < len && *rc == XS_OK; off += step) {
		size_t n = len - off < step ? len - off : step;
		/* each chunk in its own allocation, so ASan sees any read past it */
		char *piece = malloc(n ? n : 1);

		memcpy(piece, doc + off, n);
		*rc = xs_rrd_reader_push(rd, piece, n);
		free(piece);
	}
	if (*rc == XS_OK)
		*rc = xs_rrd_reader_finish(rd);
	snprintf(err, XS_ERR_LEN, "%s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);
	return r.buf;
}

/* Same as rec_read with chunk sizes drawn from a seeded generator (1..max). */
__attribute__((unused)) static char *rec_read_random(const struct xs_rrd_parser_class *cls,
						     const char *doc, size_t len, unsigned seed,
						     size_t max, enum xs_err *rc,
						     char err[XS_ERR_LEN])
{
	struct rec r = { 0 };
	struct xs_rrd_reader *rd = cls ? xs_rrd_reader_new_for(cls, &rec_sink, &r)
				       : xs_rrd_reader_new(&rec_sink, &r);
	uint64_t x = seed * 2654435761u + 1;

	*rc = XS_OK;
	rec_printf(&r, "%s", "");
	for (size_t off = 0; off < len && *rc == XS_OK;) {
		size_t n;
		char *piece;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = 1 + (size_t)(x % max);
		if (n > len - off)
			n = len - off;
		piece = malloc(n);
		memcpy(piece, doc + off, n);
		*rc = xs_rrd_reader_push(rd, piece, n);
		free(piece);
		off += n;
	}
	if (*rc == XS_OK)
		*rc = xs_rrd_reader_finish(rd);
	snprintf(err, XS_ERR_LEN, "%s", xs_rrd_reader_error(rd));
	xs_rrd_reader_free(&rd);
	return r.buf;
}

#endif
