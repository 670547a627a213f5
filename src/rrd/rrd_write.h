/*
 * rrd_write.h - write RRD documents byte for byte as xcp-rrdd serves them
 * (SPEC §2), for xapi-sim and for tests of the readers.
 *
 *   /rrd_updates:  xs_rrd_write_updates()  XML (§2.1) or JSON variant A, B, C (§2.2)
 *   full dump:     xs_rrd_write_dump()     XML or JSON (§2.5), old or current keys
 *
 * Each takes a plain description of the document (arrays the caller owns and
 * keeps valid during the call; nothing is retained) and the number era of
 * SPEC §2.3 (rrd_numfmt.h), and hands the bytes to a caller's callback in
 * pieces of at most XS_RRD_WRITE_CHUNK bytes. The writers allocate nothing
 * (a XS_RRD_WRITE_CHUNK staging buffer lives on their stack) and hold no
 * state between calls: safe to call from any thread.
 *
 *   static int to_buf(void *ctx, const char *p, size_t n) { ...append...; return 0; }
 *   rc = xs_rrd_write_updates(&doc, XS_RRD_JSON, XS_NUMFMT_G15, to_buf, &mybuf);
 */
#ifndef XS_RRD_WRITE_H
#define XS_RRD_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "rrd/rrd_numfmt.h"
#include "rrd/rrd_sink.h"

/* Largest piece passed to the output callback at once. */
#define XS_RRD_WRITE_CHUNK 16384

/* Receives the next n bytes of the document (p valid during the call only).
 * Returns 0 to go on; anything else stops the writer with XS_ERR_ABORTED. */
typedef int (*xs_rrd_out)(void *ctx, const char *p, size_t n);

/* An /rrd_updates document. All counts may be zero except as noted below. */
struct xs_rrd_updates_doc {
	int64_t start;              /* meta start: floor(start/step)*step + step */
	int64_t step;               /* seconds per row */
	int64_t end;                /* meta end: time of the newest row */
	const char *const *legend;  /* columns entries "CF:kind:uuid:ds", NUL-terminated */
	size_t columns;
	const int64_t *times;       /* rows times, newest first */
	const double *values;       /* rows * columns, row-major, same order as legend */
	size_t rows;
};

/*
 * Writes doc in syntax (XS_RRD_XML, XS_RRD_JSON_LEGACY = variant A,
 * XS_RRD_JSON_NESTED = variant B, XS_RRD_JSON = variant C) with numbers of
 * era nf. meta rows and columns are written from doc->rows and doc->columns.
 * Legend entries are escaped as Xmlm / Yojson do; in variant A they are
 * written raw, as xapi did.
 * Returns XS_OK; XS_ERR_ARG for an unknown syntax or for variant A with zero
 * rows (xapi's generator fails there: answer HTTP 500 to emulate it);
 * XS_ERR_ABORTED when out returned non-zero (the document is then partial).
 */
enum xs_err xs_rrd_write_updates(const struct xs_rrd_updates_doc *doc, enum xs_rrd_syntax syntax,
				 enum xs_rrd_numfmt nf, xs_rrd_out out, void *ctx)
	__attribute__((warn_unused_result));

/* How a data source's last_ds is printed (xapi's VT_Float, VT_Int64, VT_Unknown). */
enum xs_rrd_last_ds {
	XS_RRD_LAST_DS_FLOAT,   /* f_to_s of last_ds */
	XS_RRD_LAST_DS_INT,     /* "%Ld" of (int64_t)last_ds */
	XS_RRD_LAST_DS_UNKNOWN, /* "0.0" ("0.00" in old JSON) */
};

struct xs_rrd_write_ds {
	const char *name;          /* NUL-terminated */
	const char *type;          /* "GAUGE", "ABSOLUTE", "DERIVE" */
	double heartbeat;          /* minimal_heartbeat, 300 on xcp-rrdd */
	double min, max;
	enum xs_rrd_last_ds last_ds_kind;
	double last_ds;
	double value;
	double unknown_sec;        /* printed as an integer (truncated) except in current JSON */
	bool has_last_updated;     /* the dom0-internal variant only */
	double last_updated;
};

struct xs_rrd_write_rra {
	const char *cf;            /* "AVERAGE", "MIN", "MAX", "LAST" */
	unsigned pdp_per_row;
	double xff;
	const double *cdp_value;   /* nds values of <cdp_prep>, NULL = all 0 */
	const unsigned *cdp_unknown; /* nds unknown_datapoints, NULL = all 0 */
	const double *data;        /* rows * nds, row-major, oldest row first */
	size_t rows;
};

/* A full RRD (/host_rrd, /vm_rrd, /sr_rrd). */
struct xs_rrd_dump_doc {
	int64_t step;              /* seconds per primary data point (5) */
	double lastupdate;         /* XML prints it truncated to an integer */
	const struct xs_rrd_write_ds *ds;
	size_t nds;
	const struct xs_rrd_write_rra *rra;
	size_t nrra;
};

/*
 * Writes doc as XS_RRD_XML (Xmlm, one line after the declaration), as
 * XS_RRD_JSON (current Yojson form: "minimal_heartbeat", every number a
 * string via f_to_s, unknown_datapoints "%d") or, for any other JSON syntax,
 * as the old Ezjsonm form of xapi-rrd <= 1.11 ("minimal_hearbeat",
 * primary/secondary values and unknown_datapoints as "%.2f"). Numbers of era nf.
 * Returns XS_OK, XS_ERR_ARG (unknown syntax) or XS_ERR_ABORTED (out returned
 * non-zero).
 */
enum xs_err xs_rrd_write_dump(const struct xs_rrd_dump_doc *doc, enum xs_rrd_syntax syntax,
			      enum xs_rrd_numfmt nf, xs_rrd_out out, void *ctx)
	__attribute__((warn_unused_result));

#endif
