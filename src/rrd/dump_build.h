/*
 * dump_build.h - the meaning of a full RRD dump (/host_rrd, /vm_rrd, /sr_rrd),
 * shared by its XML and JSON readers (SPEC §2.5).
 *
 * Readers turn syntax into calls here; this module parses the scalar fields,
 * checks the structure (header before data sources, data sources before
 * archives, one value per data source in every row) and calls the sink.
 * Memory held: one row of doubles (one per data source, at most
 * XS_RRD_MAX_COLUMNS) and the current DS name.
 *
 * The struct is exposed so readers can embed it; use it only through these
 * functions.
 */
#ifndef XS_RRD_DUMP_BUILD_H
#define XS_RRD_DUMP_BUILD_H

#include "lib/err.h"
#include "rrd/rrd_sink.h"

enum xs_dump_field {
	XS_DUMP_VERSION,      /* <rrd> header */
	XS_DUMP_STEP,
	XS_DUMP_LASTUPDATE,
	XS_DUMP_DS_NAME,      /* inside <ds> */
	XS_DUMP_DS_TYPE,
	XS_DUMP_DS_HEARTBEAT, /* minimal_heartbeat, or the old minimal_hearbeat */
	XS_DUMP_DS_MIN,
	XS_DUMP_DS_MAX,
	XS_DUMP_DS_LAST_DS,
	XS_DUMP_DS_VALUE,
	XS_DUMP_DS_UNKNOWN_SEC,
	XS_DUMP_DS_LAST_UPDATED, /* dom0-internal files only */
	XS_DUMP_RRA_CF,       /* inside <rra> */
	XS_DUMP_RRA_PDP_PER_ROW,
	XS_DUMP_RRA_XFF,
};

struct xs_dump_build {
	const struct xs_rrd_sink *sink;
	void *ctx;
	struct xs_rrd_dump_header hdr;
	bool has_step, has_lastupdate, hdr_sent;
	char version[XS_RRD_MAX_SHORT];
	struct xs_rrd_dump_ds ds;       /* the data source being read */
	char ds_name[XS_RRD_MAX_NAME];
	char ds_type[XS_RRD_MAX_SHORT];
	bool in_ds;
	size_t nds;                     /* data sources read */
	struct xs_rrd_dump_rra rra;     /* the archive being read */
	char rra_cf[XS_RRD_MAX_SHORT];
	bool in_rra, rra_sent, has_ppr;
	size_t nrra;                    /* archives finished */
	double *row;                    /* values of the row being read (nds of them) */
	size_t nvalues;
	bool in_row;
};

void xs_dump_build_init(struct xs_dump_build *b, const struct xs_rrd_sink *sink, void *ctx);
void xs_dump_build_cleanup(struct xs_dump_build *b);

/* A scalar field as text (unquoted, unescaped). Fields of <ds> only inside ds_begin/ds_end,
 * fields of <rra> only inside rra_begin/rra_end. */
enum xs_err xs_dump_build_field(struct xs_dump_build *b, enum xs_dump_field f,
				const char *s, size_t n, uint64_t off, char *err);

enum xs_err xs_dump_build_ds_begin(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_ds_end(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_rra_begin(struct xs_dump_build *b, uint64_t off, char *err);
/* The archive's rows start (its cf and pdp_per_row are known). */
enum xs_err xs_dump_build_database_begin(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_row_begin(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_row_end(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_rra_end(struct xs_dump_build *b, uint64_t off, char *err);
enum xs_err xs_dump_build_finish(struct xs_dump_build *b, uint64_t off, char *err);

enum xs_err xs_dump_build_too_many(struct xs_dump_build *b, uint64_t off, char *err);

/* One value of the current row (the hot path: inline). */
static inline enum xs_err xs_dump_build_value(struct xs_dump_build *b, double v,
					      uint64_t off, char *err)
{
	if (!b->in_row || b->nvalues >= b->nds)
		return xs_dump_build_too_many(b, off, err);
	b->row[b->nvalues++] = v;
	return XS_OK;
}

#endif
