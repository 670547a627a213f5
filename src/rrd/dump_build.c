/*
 * dump_build.c - semantic checks and sink calls for RRD dumps (see dump_build.h).
 *
 * Row times: dumps carry none. Rows are oldest first and the newest row's time
 * is floor(lastupdate / period) * period (SPEC §2.5), so a row's time is known
 * once the archive's row count is, at rra_end.
 */
#include "rrd/dump_build.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"

#define DUMP_MAX_STEP (366LL * 86400) /* a step beyond a year is not an RRD of xapi's */
#define DUMP_MAX_PDP_PER_ROW 100000000ULL

void xs_dump_build_init(struct xs_dump_build *b, const struct xs_rrd_sink *sink, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->sink = sink;
	b->ctx = ctx;
	b->hdr.syntax = XS_RRD_XML;
}

void xs_dump_build_cleanup(struct xs_dump_build *b)
{
	free(b->row);
	b->row = NULL;
}

static enum xs_err dump_aborted(uint64_t off, char *err)
{
	return xs_err_at(err, XS_ERR_ABORTED, off, "stopped by the consumer");
}

static enum xs_err dump_copy(char *dst, size_t cap, struct xs_slice *slot, const char *s,
			     size_t n, const char *what, uint64_t off, char *err)
{
	if (n >= cap)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "%s longer than %zu bytes", what, cap - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
	*slot = (struct xs_slice){ dst, n };
	return XS_OK;
}

static enum xs_err dump_number(const char *s, size_t n, double *out, const char *what,
			       uint64_t off, char *err)
{
	if (!xs_num_from_slice(s, n, out))
		return xs_err_at(err, XS_ERR_PARSE, off, "expected a number in %s", what);
	return XS_OK;
}

/*
 * The power of ten of the doubt on a number as written, in whole units: 0 when
 * it is given to the unit or finer. xapi-rrd's %0.5g era wrote the JSON
 * lastupdate as "1.7e+09" (SPEC §2.3): 5 significant digits, 10^5 s (a day).
 */
static int dump_coarse_digits(const char *s, size_t n, double v)
{
	int sig = 0, lead;
	bool started = false;
	size_t i;

	for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] < '0' || s[i] > '9')
			continue;
		started = started || s[i] != '0';
		sig += started;
	}
	/* %g drops trailing zeros: "1.7e+09" of %0.5g is 1.7000e+09, 5 digits */
	if (i < n && sig < 5)
		sig = 5;
	if (!sig || v < 1)
		return 0;
	lead = (int)floor(log10(v));
	return lead - (sig - 1) > 0 ? lead - (sig - 1) : 0;
}

static enum xs_err dump_header_field(struct xs_dump_build *b, enum xs_dump_field f,
				     const char *s, size_t n, uint64_t off, char *err)
{
	double v;
	int64_t step;

	if (b->hdr_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "a header field after the data sources");
	switch (f) {
	case XS_DUMP_VERSION:
		return dump_copy(b->version, sizeof(b->version), &b->hdr.version, s, n,
				 "version", off, err);
	case XS_DUMP_STEP:
		if (!xs_num_i64_from_slice(s, n, &step) || step <= 0 || step > DUMP_MAX_STEP)
			return xs_err_at(err, XS_ERR_PARSE, off, "expected a step of 1 to %lld seconds",
					 DUMP_MAX_STEP);
		b->hdr.step = step;
		b->has_step = true;
		return XS_OK;
	default:
		if (dump_number(s, n, &v, "lastupdate", off, err))
			return XS_ERR_PARSE;
		if (!isfinite(v) || v < 0 || v > 1e15)
			return xs_err_at(err, XS_ERR_PARSE, off, "lastupdate out of range");
		b->hdr.lastupdate_doubt = dump_coarse_digits(s, n, v);
		b->hdr.lastupdate = v;
		b->has_lastupdate = true;
		return XS_OK;
	}
}

static enum xs_err dump_ds_field(struct xs_dump_build *b, enum xs_dump_field f,
				 const char *s, size_t n, uint64_t off, char *err)
{
	static const char *const names[] = {
		[XS_DUMP_DS_HEARTBEAT] = "minimal_heartbeat", [XS_DUMP_DS_MIN] = "min",
		[XS_DUMP_DS_MAX] = "max", [XS_DUMP_DS_LAST_DS] = "last_ds",
		[XS_DUMP_DS_VALUE] = "value", [XS_DUMP_DS_UNKNOWN_SEC] = "unknown_sec",
		[XS_DUMP_DS_LAST_UPDATED] = "last_updated",
	};
	double *slot[] = {
		[XS_DUMP_DS_HEARTBEAT] = &b->ds.heartbeat, [XS_DUMP_DS_MIN] = &b->ds.min,
		[XS_DUMP_DS_MAX] = &b->ds.max, [XS_DUMP_DS_LAST_DS] = &b->ds.last_ds,
		[XS_DUMP_DS_VALUE] = &b->ds.value, [XS_DUMP_DS_UNKNOWN_SEC] = &b->ds.unknown_sec,
		[XS_DUMP_DS_LAST_UPDATED] = &b->ds.last_updated,
	};

	if (!b->in_ds)
		return xs_err_at(err, XS_ERR_PARSE, off, "a data-source field outside a ds");
	if (f == XS_DUMP_DS_NAME)
		return dump_copy(b->ds_name, sizeof(b->ds_name), &b->ds.name, s, n, "ds name",
				 off, err);
	if (f == XS_DUMP_DS_TYPE)
		return dump_copy(b->ds_type, sizeof(b->ds_type), &b->ds.type, s, n, "ds type",
				 off, err);
	if (f == XS_DUMP_DS_LAST_UPDATED)
		b->ds.has_last_updated = true;
	return dump_number(s, n, slot[f], names[f], off, err);
}

static enum xs_err dump_rra_field(struct xs_dump_build *b, enum xs_dump_field f,
				  const char *s, size_t n, uint64_t off, char *err)
{
	int64_t ppr;

	if (!b->in_rra || b->rra_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "an archive field outside an rra header");
	switch (f) {
	case XS_DUMP_RRA_CF:
		return dump_copy(b->rra_cf, sizeof(b->rra_cf), &b->rra.cf, s, n, "cf", off, err);
	case XS_DUMP_RRA_PDP_PER_ROW:
		if (!xs_num_i64_from_slice(s, n, &ppr) || ppr <= 0 ||
		    (uint64_t)ppr > DUMP_MAX_PDP_PER_ROW)
			return xs_err_at(err, XS_ERR_PARSE, off, "expected a positive pdp_per_row");
		b->rra.pdp_per_row = (uint64_t)ppr;
		b->has_ppr = true;
		return XS_OK;
	default:
		return dump_number(s, n, &b->rra.xff, "xff", off, err);
	}
}

enum xs_err xs_dump_build_field(struct xs_dump_build *b, enum xs_dump_field f,
				const char *s, size_t n, uint64_t off, char *err)
{
	if (f <= XS_DUMP_LASTUPDATE)
		return dump_header_field(b, f, s, n, off, err);
	if (f <= XS_DUMP_DS_LAST_UPDATED)
		return dump_ds_field(b, f, s, n, off, err);
	return dump_rra_field(b, f, s, n, off, err);
}

static enum xs_err dump_send_header(struct xs_dump_build *b, uint64_t off, char *err)
{
	if (b->hdr_sent)
		return XS_OK;
	if (!b->has_step || !b->has_lastupdate)
		return xs_err_at(err, XS_ERR_PARSE, off, "expected step and lastupdate before %s",
				 b->nds || b->in_ds ? "the data sources" : "this point");
	b->hdr_sent = true;
	if (b->sink->dump_header && b->sink->dump_header(b->ctx, &b->hdr))
		return dump_aborted(off, err);
	return XS_OK;
}

enum xs_err xs_dump_build_ds_begin(struct xs_dump_build *b, uint64_t off, char *err)
{
	enum xs_err rc;

	if (b->in_ds || b->in_rra || b->nrra)
		return xs_err_at(err, XS_ERR_PARSE, off, "a ds after the archives started");
	if (b->nds >= XS_RRD_MAX_COLUMNS)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "more than %u data sources",
				 XS_RRD_MAX_COLUMNS);
	b->in_ds = true; /* the header error below names "the data sources" */
	rc = dump_send_header(b, off, err);
	if (rc)
		return rc;
	memset(&b->ds, 0, sizeof(b->ds));
	b->ds.heartbeat = b->ds.min = b->ds.max = NAN;
	b->ds.last_ds = b->ds.value = b->ds.unknown_sec = b->ds.last_updated = NAN;
	return XS_OK;
}

enum xs_err xs_dump_build_ds_end(struct xs_dump_build *b, uint64_t off, char *err)
{
	if (!b->ds.name.ptr)
		return xs_err_at(err, XS_ERR_PARSE, off, "ds %zu has no name", b->nds);
	b->in_ds = false;
	if (b->sink->dump_ds && b->sink->dump_ds(b->ctx, b->nds, &b->ds))
		return dump_aborted(off, err);
	b->nds++;
	return XS_OK;
}

enum xs_err xs_dump_build_rra_begin(struct xs_dump_build *b, uint64_t off, char *err)
{
	enum xs_err rc;

	if (b->in_ds || b->in_rra)
		return xs_err_at(err, XS_ERR_PARSE, off, "an rra inside another element");
	if (b->nrra >= XS_RRD_MAX_RRAS)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "more than %d archives", XS_RRD_MAX_RRAS);
	rc = dump_send_header(b, off, err);
	if (rc)
		return rc;
	if (!b->row && b->nds) {
		b->row = malloc(b->nds * sizeof(*b->row));
		if (!b->row)
			return xs_err_at(err, XS_ERR_NOMEM, off, "out of memory for %zu data sources",
					 b->nds);
	}
	memset(&b->rra, 0, sizeof(b->rra));
	b->rra.xff = NAN;
	b->in_rra = true;
	b->rra_sent = false;
	b->has_ppr = false;
	return XS_OK;
}

enum xs_err xs_dump_build_database_begin(struct xs_dump_build *b, uint64_t off, char *err)
{
	int64_t period;

	if (!b->in_rra || b->rra_sent)
		return xs_err_at(err, XS_ERR_PARSE, off, "a database outside an rra");
	if (!b->rra.cf.ptr || !b->has_ppr)
		return xs_err_at(err, XS_ERR_PARSE, off, "expected cf and pdp_per_row before the database");
	if ((uint64_t)b->hdr.step > (uint64_t)INT64_MAX / 4 / b->rra.pdp_per_row)
		return xs_err_at(err, XS_ERR_PARSE, off, "step * pdp_per_row is too large");
	period = b->hdr.step * (int64_t)b->rra.pdp_per_row;
	b->rra.period = period;
	b->rra.newest = ((int64_t)floor(b->hdr.lastupdate) / period) * period;
	b->rra_sent = true;
	if (b->sink->dump_rra_begin && b->sink->dump_rra_begin(b->ctx, b->nrra, &b->rra))
		return dump_aborted(off, err);
	return XS_OK;
}

enum xs_err xs_dump_build_row_begin(struct xs_dump_build *b, uint64_t off, char *err)
{
	if (!b->rra_sent || b->in_row)
		return xs_err_at(err, XS_ERR_PARSE, off, "a row outside a database");
	b->in_row = true;
	b->nvalues = 0;
	return XS_OK;
}

enum xs_err xs_dump_build_too_many(struct xs_dump_build *b, uint64_t off, char *err)
{
	if (!b->in_row)
		return xs_err_at(err, XS_ERR_PARSE, off, "a value outside a row");
	return xs_err_at(err, XS_ERR_PARSE, off, "a row with more values than the %zu data sources",
			 b->nds);
}

enum xs_err xs_dump_build_row_end(struct xs_dump_build *b, uint64_t off, char *err)
{
	if (b->nvalues != b->nds)
		return xs_err_at(err, XS_ERR_PARSE, off,
				 "row %" PRIu64 " of rra %zu has %zu values, expected %zu",
				 b->rra.rows, b->nrra, b->nvalues, b->nds);
	if (b->rra.rows >= (uint64_t)INT32_MAX)
		return xs_err_at(err, XS_ERR_TOO_LARGE, off, "too many rows");
	b->in_row = false;
	if (b->sink->dump_row &&
	    b->sink->dump_row(b->ctx, b->nrra, b->rra.rows, b->row, b->nvalues))
		return dump_aborted(off, err);
	b->rra.rows++;
	return XS_OK;
}

enum xs_err xs_dump_build_rra_end(struct xs_dump_build *b, uint64_t off, char *err)
{
	enum xs_err rc;

	if (!b->in_rra)
		return xs_err_at(err, XS_ERR_PARSE, off, "an rra end outside an rra");
	if (!b->rra_sent) {
		rc = xs_dump_build_database_begin(b, off, err); /* an archive without rows */
		if (rc)
			return rc;
	}
	b->in_rra = false;
	if (b->sink->dump_rra_end && b->sink->dump_rra_end(b->ctx, b->nrra, &b->rra))
		return dump_aborted(off, err);
	b->nrra++;
	return XS_OK;
}

enum xs_err xs_dump_build_finish(struct xs_dump_build *b, uint64_t off, char *err)
{
	enum xs_err rc = dump_send_header(b, off, err);

	if (rc)
		return rc;
	if (b->sink->end && b->sink->end(b->ctx, XS_RRD_DUMP))
		return dump_aborted(off, err);
	return XS_OK;
}
