/*
 * rrd_sink.h - what an RRD reader tells its consumer.
 *
 * Every reader in src/rrd/ (XML or JSON, /rrd_updates or a full RRD dump, any
 * xapi era) reports the document through the same callbacks, so consumers
 * (rrd2csv, the collector) never see the syntax. Slices passed to a callback
 * are valid only during the call: copy what you keep. Any callback may be
 * NULL. A callback returns 0 to go on; anything else stops the reader, which
 * then fails with XS_ERR_ABORTED.
 *
 * /rrd_updates (SPEC §2.1, §2.2):  updates_column* updates_meta updates_row* end
 *   Rows arrive as in the document: newest first.
 * Dumps /host_rrd, /vm_rrd, /sr_rrd (SPEC §2.5):
 *   dump_header dump_ds* (dump_rra_begin dump_row* dump_rra_end)* end
 *   Rows arrive oldest first; a row's time is only known at dump_rra_end, when
 *   the row count is: use xs_rrd_dump_row_time().
 */
#ifndef XS_RRD_SINK_H
#define XS_RRD_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what a document may make a reader hold (all named, STYLE.md §14). */
#define XS_RRD_MAX_COLUMNS (1u << 20) /* legend entries / data sources per document */
#define XS_RRD_MAX_NAME 1024          /* bytes of one legend entry or DS name */
#define XS_RRD_MAX_SHORT 64           /* bytes of cf, type, version fields */
#define XS_RRD_MAX_RRAS 64            /* archives in one dump */

enum xs_rrd_kind {
	XS_RRD_UPDATES, /* /rrd_updates (rrdtool xport) */
	XS_RRD_DUMP,    /* /host_rrd, /vm_rrd, /sr_rrd (rrdtool dump) */
};

enum xs_rrd_syntax {
	XS_RRD_XML,         /* XML, every era */
	XS_RRD_JSON_LEGACY, /* variant A: unquoted keys, bare NaN (xapi <= ~23.25) */
	XS_RRD_JSON_NESTED, /* variant B: strict JSON, "data" inside "meta" */
	XS_RRD_JSON,        /* variant C: current strict JSON (dumps: any JSON) */
};

struct xs_slice {
	const char *ptr;
	size_t len;
};

/*
 * One legend entry "CF:kind:uuid:ds", split on its first three colons. An entry
 * that is not of that form (SPEC §2.4 says none is; XO skips such a column) is
 * still passed on, with odd set and cf, kind, uuid and ds empty: its column's
 * values are read like any other's, and a sink skips them, not the document.
 */
struct xs_rrd_legend {
	struct xs_slice entry; /* verbatim */
	struct xs_slice cf;    /* AVERAGE, MIN, MAX, LAST */
	struct xs_slice kind;  /* host, vm, sr */
	struct xs_slice uuid;
	struct xs_slice ds;    /* the rest: may hold '-', '/', even ':' */
	bool odd;              /* not CF:kind:uuid:ds */
};

/* The <meta> of /rrd_updates. has_* tells which fields the document gave. */
struct xs_rrd_updates_meta {
	enum xs_rrd_syntax syntax;
	int64_t start, step, end;
	uint64_t rows, columns;
	bool has_start, has_step, has_end, has_rows, has_columns;
	size_t legend_len; /* legend entries read = values per row */
};

struct xs_rrd_dump_header {
	enum xs_rrd_syntax syntax;
	struct xs_slice version; /* "0003" */
	int64_t step;            /* seconds per primary data point */
	double lastupdate;       /* integer in XML, may have a fraction in JSON */
	int lastupdate_doubt;    /* known to 10^doubt seconds only, 0: to the second or better; the
				  * JSON dump of xapi-rrd's %0.5g era writes "1.7e+09" (SPEC §2.3),
				  * (5 digits: 5), and its rows' times are off by as much */
};

struct xs_rrd_dump_ds {
	struct xs_slice name;
	struct xs_slice type;     /* GAUGE, ABSOLUTE, DERIVE */
	double heartbeat;         /* minimal_heartbeat (or old "minimal_hearbeat") */
	double min, max;
	double last_ds, value;
	double unknown_sec;
	double last_updated;      /* dom0-internal files only */
	bool has_last_updated;
};

struct xs_rrd_dump_rra {
	struct xs_slice cf;
	uint64_t pdp_per_row;
	double xff;
	int64_t period;    /* seconds per row: step * pdp_per_row */
	/* known at dump_rra_end only: */
	uint64_t rows;
	int64_t newest;    /* time of the last row: floor(lastupdate / period) * period */
};

struct xs_rrd_sink {
	int (*updates_column)(void *ctx, size_t index, const struct xs_rrd_legend *e);
	int (*updates_meta)(void *ctx, const struct xs_rrd_updates_meta *m);
	int (*updates_row)(void *ctx, int64_t t, const double *values, size_t n);

	int (*dump_header)(void *ctx, const struct xs_rrd_dump_header *h);
	int (*dump_ds)(void *ctx, size_t index, const struct xs_rrd_dump_ds *ds);
	int (*dump_rra_begin)(void *ctx, size_t index, const struct xs_rrd_dump_rra *rra);
	int (*dump_row)(void *ctx, size_t rra, size_t row, const double *values, size_t n);
	int (*dump_rra_end)(void *ctx, size_t index, const struct xs_rrd_dump_rra *rra);

	int (*end)(void *ctx, enum xs_rrd_kind kind);
};

/* Time of row `row` (0 = oldest) of an archive, once dump_rra_end has told rows. */
static inline int64_t xs_rrd_dump_row_time(const struct xs_rrd_dump_rra *rra, uint64_t row)
{
	return rra->newest - (int64_t)(rra->rows - 1 - row) * rra->period;
}

#endif
