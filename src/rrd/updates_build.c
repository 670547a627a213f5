/*
 * updates_build.c - semantic checks and sink calls for /rrd_updates (see
 * updates_build.h). Memory held: one row of doubles, growing with the legend
 * up to XS_RRD_MAX_COLUMNS.
 */
#include "rrd/updates_build.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"

/* Times a document may carry (s): the bound of a dump's lastupdate (dump_build.c), either
 * side of 0. Further out, the store's time arithmetic (floors, periods, segment numbers)
 * would overflow. */
#define UPDATES_MAX_TIME 1000000000000000LL

void xs_updates_build_init(struct xs_updates_build *b, const struct xs_rrd_sink *sink, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->sink = sink;
	b->ctx = ctx;
	b->meta.syntax = XS_RRD_XML;
}

void xs_updates_build_cleanup(struct xs_updates_build *b)
{
	free(b->row);
	b->row = NULL;
	b->row_cap = 0;
}

static enum xs_err build_aborted(uint64_t off, char *err)
{
	return xs_err_at(err, XS_ERR_ABORTED, off, "stopped by the consumer");
}

enum xs_err xs_updates_build_meta_field(struct xs_updates_build *b, enum xs_updates_field f,
					const char *s, size_t n, uint64_t off, char *err)
{
	static const char *const names[] = { "start", "step", "end", "rows", "columns" };
	int64_t v;

	if (!xs_num_i64_from_slice(s, n, &v))
		return xs_err_at(err, XS_ERR_PARSE, off, "expected an integer in meta %s", names[f]);
	if ((f == XS_UPDATES_ROWS || f == XS_UPDATES_COLUMNS || f == XS_UPDATES_STEP) && v < 0)
		return xs_err_at(err, XS_ERR_PARSE, off, "meta %s is negative", names[f]);
	if ((f == XS_UPDATES_START || f == XS_UPDATES_END || f == XS_UPDATES_STEP) &&
	    (v > UPDATES_MAX_TIME || v < -UPDATES_MAX_TIME))
		return xs_err_at(err, XS_ERR_PARSE, off, "meta %s out of range", names[f]);
	switch (f) {
	case XS_UPDATES_START: b->meta.start = v; b->meta.has_start = true; break;
	case XS_UPDATES_STEP: b->meta.step = v; b->meta.has_step = true; break;
	case XS_UPDATES_END: b->meta.end = v; b->meta.has_end = true; break;
	case XS_UPDATES_ROWS: b->meta.rows = (uint64_t)v; b->meta.has_rows = true; break;
	case XS_UPDATES_COLUMNS: b->meta.columns = (uint64_t)v; b->meta.has_columns = true; break;
	}
	return XS_OK;
}

/* Splits "CF:kind:uuid:ds" on its first three colons; any other entry is odd (rrd_sink.h). */
static void build_split_legend(const char *s, size_t n, struct xs_rrd_legend *e)
{
	struct xs_slice *part[3] = { &e->cf, &e->kind, &e->uuid };
	const char *p = s, *end = s + n;

	*e = (struct xs_rrd_legend){ .entry = { s, n } };
	for (int i = 0; i < 3; i++) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		if (!c || c == p)
			break;
		*part[i] = (struct xs_slice){ p, (size_t)(c - p) };
		p = c + 1;
		if (i == 2 && p < end) {
			e->ds = (struct xs_slice){ p, (size_t)(end - p) };
			return;
		}
	}
	*e = (struct xs_rrd_legend){ .entry = { s, n }, .odd = true };
}

enum xs_err xs_updates_build_legend(struct xs_updates_build *b, const char *s, size_t n,
				    uint64_t off, char *err)
{
	struct xs_rrd_legend e;
	size_t index = b->meta.legend_len;

	if (b->meta_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "legend entry after the data started");
	if (n > XS_RRD_MAX_NAME)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "legend entry longer than %d bytes",
				 XS_RRD_MAX_NAME);
	build_split_legend(s, n, &e);
	if (index >= XS_RRD_MAX_COLUMNS)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "more than %u legend entries",
				 XS_RRD_MAX_COLUMNS);
	if (index == b->row_cap) {
		size_t cap = b->row_cap ? b->row_cap * 2 : 64;
		double *row = realloc(b->row, cap * sizeof(*row));

		if (!row)
			return xs_err_at(err, XS_ERR_NOMEM, off, "out of memory for %zu columns", cap);
		b->row = row;
		b->row_cap = cap;
	}
	b->meta.legend_len++;
	if (b->sink->updates_column && b->sink->updates_column(b->ctx, index, &e))
		return build_aborted(off, err);
	return XS_OK;
}

enum xs_err xs_updates_build_data_begin(struct xs_updates_build *b, uint64_t off, char *err)
{
	if (b->meta_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "a second data section");
	if (b->meta.has_columns && b->meta.columns != b->meta.legend_len)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "meta columns is %" PRIu64 " but the legend has %zu entries",
				 b->meta.columns, b->meta.legend_len);
	b->meta_sent = true;
	if (b->sink->updates_meta && b->sink->updates_meta(b->ctx, &b->meta))
		return build_aborted(off, err);
	return XS_OK;
}

enum xs_err xs_updates_build_row_begin(struct xs_updates_build *b, uint64_t off, char *err)
{
	if (!b->meta_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "a row outside the data section");
	b->in_row = true;
	b->has_t = false;
	b->nvalues = 0;
	return XS_OK;
}

enum xs_err xs_updates_build_row_time(struct xs_updates_build *b, const char *s, size_t n,
				      uint64_t off, char *err)
{
	int64_t t;

	if (b->has_t)
		return xs_err_at(err, XS_ERR_PARSE, off, "a row with two times");
	if (!xs_num_i64_from_slice(s, n, &t))
		return xs_err_at(err, XS_ERR_PARSE, off, "expected an integer row time");
	if (t > UPDATES_MAX_TIME || t < -UPDATES_MAX_TIME)
		return xs_err_at(err, XS_ERR_PARSE, off, "row time out of range");
	b->t = t;
	b->has_t = true;
	return XS_OK;
}

enum xs_err xs_updates_build_too_many(struct xs_updates_build *b, uint64_t off, char *err)
{
	if (!b->in_row)
		return xs_err_at(err, XS_ERR_PARSE, off, "a value outside a row");
	return xs_err_at(err, XS_ERR_PARSE, off, "row %" PRIu64 " has more values than the %zu legend entries",
			 b->rows_seen, b->meta.legend_len);
}

enum xs_err xs_updates_build_row_end(struct xs_updates_build *b, uint64_t off, char *err)
{
	if (!b->has_t)
		return xs_err_at(err, XS_ERR_PARSE, off, "row %" PRIu64 " has no time", b->rows_seen);
	if (b->nvalues != b->meta.legend_len)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "row %" PRIu64 " has %zu values, the legend %zu entries",
				 b->rows_seen, b->nvalues, b->meta.legend_len);
	if (b->has_prev_t && b->t >= b->prev_t)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "row time %" PRId64 " is not older than the row before (%" PRId64 ")",
				 b->t, b->prev_t);
	b->in_row = false;
	b->has_prev_t = true;
	b->prev_t = b->t;
	b->rows_seen++;
	if (b->sink->updates_row && b->sink->updates_row(b->ctx, b->t, b->row, b->nvalues))
		return build_aborted(off, err);
	return XS_OK;
}

enum xs_err xs_updates_build_finish(struct xs_updates_build *b, uint64_t off, char *err)
{
	enum xs_err rc;

	if (!b->meta_sent) {
		rc = xs_updates_build_data_begin(b, off, err);
		if (rc)
			return rc;
	}
	if (b->meta.has_rows && b->meta.rows != b->rows_seen)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "meta rows is %" PRIu64 " but the data has %" PRIu64 " rows",
				 b->meta.rows, b->rows_seen);
	if (b->sink->end && b->sink->end(b->ctx, XS_RRD_UPDATES))
		return build_aborted(off, err);
	return XS_OK;
}
