/*
 * updates_build.h - the meaning of an /rrd_updates document, shared by its
 * XML and JSON readers.
 *
 * A reader turns syntax into calls here; this module checks the document's
 * semantics (legend before data, every row with a time and exactly one value
 * per legend entry, rows strictly newest first, counts matching <meta>), keeps
 * the row being read, and calls the sink. Errors name the byte offset the
 * reader passes in.
 *
 * The struct is exposed so readers can embed it; use it only through these
 * functions (and set meta.syntax before data begins).
 */
#ifndef XS_RRD_UPDATES_BUILD_H
#define XS_RRD_UPDATES_BUILD_H

#include "lib/err.h"
#include "rrd/rrd_sink.h"

enum xs_updates_field {
	XS_UPDATES_START,
	XS_UPDATES_STEP,
	XS_UPDATES_END,
	XS_UPDATES_ROWS,
	XS_UPDATES_COLUMNS,
};

struct xs_updates_build {
	const struct xs_rrd_sink *sink;
	void *ctx;
	struct xs_rrd_updates_meta meta; /* fields read so far; syntax set by the reader */
	bool meta_sent;                  /* updates_meta called: no more legend */
	double *row;                     /* values of the row being read */
	size_t row_cap;                  /* allocated doubles in row */
	size_t nvalues;                  /* values in the current row */
	bool in_row, has_t;
	int64_t t;                       /* time of the current row */
	bool has_prev_t;
	int64_t prev_t;                  /* time of the previous row */
	uint64_t rows_seen;
};

void xs_updates_build_init(struct xs_updates_build *b, const struct xs_rrd_sink *sink, void *ctx);
void xs_updates_build_cleanup(struct xs_updates_build *b);

/* A <meta> integer given as text (quoted or not, without the quotes). */
enum xs_err xs_updates_build_meta_field(struct xs_updates_build *b, enum xs_updates_field f,
					const char *s, size_t n, uint64_t off, char *err);

/* One legend entry, unescaped. */
enum xs_err xs_updates_build_legend(struct xs_updates_build *b, const char *s, size_t n,
				    uint64_t off, char *err);

/* The data section starts: the legend is complete, updates_meta is called. */
enum xs_err xs_updates_build_data_begin(struct xs_updates_build *b, uint64_t off, char *err);

enum xs_err xs_updates_build_row_begin(struct xs_updates_build *b, uint64_t off, char *err);
enum xs_err xs_updates_build_row_time(struct xs_updates_build *b, const char *s, size_t n,
				      uint64_t off, char *err);
enum xs_err xs_updates_build_row_end(struct xs_updates_build *b, uint64_t off, char *err);

/* The document ended well-formed: final checks, then the sink's end. */
enum xs_err xs_updates_build_finish(struct xs_updates_build *b, uint64_t off, char *err);

enum xs_err xs_updates_build_too_many(struct xs_updates_build *b, uint64_t off, char *err);

/* One value of the current row (the hot path: inline). */
static inline enum xs_err xs_updates_build_value(struct xs_updates_build *b, double v,
						 uint64_t off, char *err)
{
	if (b->nvalues >= b->meta.legend_len || !b->in_row)
		return xs_updates_build_too_many(b, off, err);
	b->row[b->nvalues++] = v;
	return XS_OK;
}

#endif
