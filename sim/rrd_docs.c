/*
 * rrd_docs.c - /rrd_updates and full RRD dumps built from the RRD model (see
 * rrd_docs.h).
 *
 * The documents are described as the plain arrays src/rrd/rrd_write.h takes
 * (legend, times, values row-major) and written straight into the response
 * body. Values are read cell by cell with sim_rrd_value(), so the model's
 * float32 cells reach the writer unchanged (widened to double exactly).
 */
#include "rrd_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "rrd/rrd_write.h"

#define DOCS_XFF_MINMAX 1.0 /* xcp-rrdd create_rras: xff of archives with MIN/MAX */

static const char *const docs_cf_names[SIM_NCF] = { "AVERAGE", "MIN", "MAX" };

/* One column of an /rrd_updates answer. */
struct docs_col {
	const struct sim_rrd *rrd;
	enum sim_cf cf;
	size_t ds;
	int64_t newest;       /* host time of this RRD's newest row in the archive */
};

void sim_rrd_era_of(struct sim_xapi_version v, struct sim_rrd_era *era)
{
	if (sim_xapi_version_cmp(v, 23, 26, 0) < 0) {
		era->nf = XS_NUMFMT_F4;
		era->updates_json = XS_RRD_JSON_LEGACY;
		era->dump_json = XS_RRD_JSON_LEGACY;
	} else if (sim_xapi_version_cmp(v, 24, 11, 0) < 0) {
		era->nf = XS_NUMFMT_G5;
		era->updates_json = XS_RRD_JSON_NESTED;
		era->dump_json = XS_RRD_JSON_NESTED;
	} else {
		era->nf = sim_xapi_version_cmp(v, 25, 3, 0) < 0 ? XS_NUMFMT_G5 : XS_NUMFMT_G15;
		era->updates_json = XS_RRD_JSON;
		era->dump_json = XS_RRD_JSON;
	}
}

int64_t sim_rrd_doc_model_time(int64_t t, int64_t skew, int64_t period)
{
	int64_t d = t - skew;
	int64_t q = d / period;

	if (d % period != 0 && d < 0)
		q--;
	return q * period;
}

static int docs_out(void *ctx, const char *p, size_t n)
{
	return xs_buf_append(ctx, p, n) == XS_OK ? 0 : -1;
}

/* Which archives of r keep cf (-1: every CF counts; 3, LAST: none does). */
static bool docs_has_cf(const struct sim_rrd *r, int cf, bool has[SIM_RRD_ARCHIVES])
{
	bool any = false;

	for (int a = 0; a < SIM_RRD_ARCHIVES; a++) {
		has[a] = cf < 0 || (cf < SIM_NCF && sim_rrd_has_cf(r, a, (enum sim_cf)cf));
		any = any || has[a];
	}
	return any;
}

/* find_best_rras on one RRD (rrd_query.h), with start already absolute. */
static void docs_plan(const struct sim_rrd_query *q, int64_t start, const struct sim_rrd *r,
		      int64_t skew, struct sim_rrd_plan *plan)
{
	struct sim_rrd_query one;
	int ppr[SIM_RRD_ARCHIVES], rows[SIM_RRD_ARCHIVES];
	bool has[SIM_RRD_ARCHIVES];

	sim_rrd_query_init(&one);
	one.start = start;
	one.start_absolute = true;
	one.has_start = true;
	one.interval = q->interval;
	one.cf = q->cf;
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++) {
		ppr[a] = sim_rrd_archives[a].pdp_per_row;
		rows[a] = sim_rrd_archives[a].rows;
	}
	docs_has_cf(r, q->cf, has);
	sim_rrd_query_plan(&one, r->last_update + skew, SIM_RRD_STEP, ppr, rows, has,
			   SIM_RRD_ARCHIVES, plan);
}

/* The columns of the answer (cols may be NULL to count them). */
static size_t docs_columns(const struct sim_rrd_part *parts, size_t nparts, const bool *keep,
			   int cf_asked, int archive, int64_t step, int64_t skew,
			   struct docs_col *cols)
{
	size_t n = 0;

	for (size_t k = 0; k < nparts; k++) {
		const struct sim_rrd *r = parts[k].rrd;

		if (!keep[k])
			continue;
		for (int cf = 0; cf < SIM_NCF; cf++) {
			if ((cf_asked >= 0 && cf_asked != cf) ||
			    !sim_rrd_has_cf(r, archive, (enum sim_cf)cf))
				continue;
			for (size_t d = 0; d < r->nds; d++, n++) {
				if (!cols)
					continue;
				cols[n].rrd = r;
				cols[n].cf = (enum sim_cf)cf;
				cols[n].ds = d;
				cols[n].newest = (r->last_update + skew) / step * step;
			}
		}
	}
	return n;
}

/* Legend entries of the columns, "CF:kind:uuid:ds", in one allocation each. */
static char **docs_legend(const struct sim_rrd_part *parts, size_t nparts, const bool *keep,
			  const struct docs_col *cols, size_t ncols)
{
	char **legend = xs_xcalloc(ncols ? ncols : 1, sizeof(*legend));
	size_t c = 0;

	for (size_t k = 0; k < nparts; k++) {
		if (!keep[k])
			continue;
		for (; c < ncols && cols[c].rrd == parts[k].rrd; c++) {
			const char *cf = docs_cf_names[cols[c].cf];
			const char *name = parts[k].rrd->ds[cols[c].ds].name;
			size_t len = strlen(cf) + strlen(parts[k].kind) + strlen(parts[k].uuid) +
				     strlen(name) + 4;

			legend[c] = xs_xmalloc(len);
			snprintf(legend[c], len, "%s:%s:%s:%s", cf, parts[k].kind, parts[k].uuid,
				 name);
		}
	}
	return legend;
}

static void docs_legend_free(char **legend, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(legend[i]);
	free(legend);
}

/* Start made absolute as create_multi does: a negative start is relative to
 * each RRD's last update, and the earliest of those wins; before xapi-rrd's
 * 2015 change (q->start_absolute) it is a time like any other. */
static int64_t docs_start(const struct sim_rrd_query *q, const struct sim_rrd_part *parts,
			  size_t nparts, int64_t skew)
{
	int64_t start = INT64_MAX;

	if (q->start >= 0 || q->start_absolute)
		return q->start;
	for (size_t k = 0; k < nparts; k++) {
		int64_t s = q->start + parts[k].rrd->last_update + skew;

		start = s < start ? s : start;
	}
	return start;
}

enum xs_err sim_rrd_updates_build(const struct sim_rrd_model *m, const struct sim_rrd_part *parts,
				  size_t nparts, const struct sim_rrd_query *q, int64_t skew,
				  enum xs_rrd_syntax syntax, enum xs_rrd_numfmt nf,
				  struct xs_buf *out)
{
	struct sim_rrd_plan plan, other;
	struct xs_rrd_updates_doc doc;
	struct docs_col *cols;
	char **legend;
	int64_t *times;
	double *values;
	bool *keep;
	int64_t start;
	size_t ncols;
	enum xs_err rc;

	if (nparts == 0)
		return XS_ERR_ARG; /* No_RRA_Available */
	for (size_t k = 0; k < nparts; k++) {
		bool has[SIM_RRD_ARCHIVES];

		if (!docs_has_cf(parts[k].rrd, q->cf, has))
			return XS_ERR_ARG; /* find_best_rras raises for any RRD lacking the CF */
	}
	start = docs_start(q, parts, nparts, skew);
	keep = xs_xcalloc(nparts, sizeof(*keep));
	docs_plan(q, start, parts[0].rrd, skew, &plan);
	for (size_t k = 0; k < nparts; k++) {
		docs_plan(q, start, parts[k].rrd, skew, &other);
		keep[k] = other.archive == plan.archive; /* the homogeneous rule */
	}
	ncols = docs_columns(parts, nparts, keep, q->cf, plan.archive, plan.step, skew, NULL);
	cols = xs_xcalloc(ncols ? ncols : 1, sizeof(*cols));
	docs_columns(parts, nparts, keep, q->cf, plan.archive, plan.step, skew, cols);
	legend = docs_legend(parts, nparts, keep, cols, ncols);
	times = xs_xcalloc(plan.rows ? plan.rows : 1, sizeof(*times));
	values = xs_xcalloc(plan.rows * ncols + 1, sizeof(*values));
	for (size_t i = 0; i < plan.rows; i++) {
		int64_t back = (int64_t)i * plan.step;

		times[i] = plan.end - back;
		for (size_t c = 0; c < ncols; c++) {
			int64_t t = sim_rrd_doc_model_time(cols[c].newest - back, skew, plan.step);

			values[i * ncols + c] = sim_rrd_value(m, cols[c].rrd, plan.archive,
							      cols[c].cf, cols[c].ds, t);
		}
	}
	doc = (struct xs_rrd_updates_doc){
		.start = plan.meta_start, .step = plan.step, .end = plan.end,
		.legend = (const char *const *)legend, .columns = ncols,
		.times = times, .values = values, .rows = plan.rows,
	};
	rc = xs_rrd_write_updates(&doc, syntax, nf, docs_out, out);
	if (rc == XS_ERR_ABORTED)
		rc = XS_ERR_TOO_LARGE;
	free(values);
	free(times);
	docs_legend_free(legend, ncols);
	free(cols);
	free(keep);
	return rc;
}

/* The archives of a dump in file order, with their rows (oldest first). */
static size_t docs_dump_rras(const struct sim_rrd_model *m, const struct sim_rrd *r, int64_t skew,
			     double lastupdate, struct xs_rrd_write_rra *rra)
{
	size_t n = 0;

	for (int a = 0; a < SIM_RRD_ARCHIVES; a++) {
		int64_t period = (int64_t)sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP;
		size_t rows = (size_t)sim_rrd_archives[a].rows;
		int64_t newest = (int64_t)lastupdate / period * period;

		for (int cf = 0; cf < SIM_NCF; cf++) {
			double *data;

			if (!sim_rrd_has_cf(r, a, (enum sim_cf)cf))
				continue;
			data = xs_xcalloc(rows * r->nds + 1, sizeof(*data));
			for (size_t j = 0; j < rows; j++) {
				int64_t t = newest - (int64_t)(rows - 1 - j) * period;
				int64_t mt = sim_rrd_doc_model_time(t, skew, period);

				for (size_t d = 0; d < r->nds; d++)
					data[j * r->nds + d] =
						sim_rrd_value(m, r, a, (enum sim_cf)cf, d, mt);
			}
			rra[n++] = (struct xs_rrd_write_rra){
				.cf = docs_cf_names[cf],
				.pdp_per_row = (unsigned)sim_rrd_archives[a].pdp_per_row,
				.xff = a > 0 && r->minmax ? DOCS_XFF_MINMAX : SIM_RRD_XFF,
				.data = data,
				.rows = rows,
			};
		}
	}
	return n;
}

enum xs_err sim_rrd_dump_build(const struct sim_rrd_model *m, const struct sim_rrd *r,
			       int64_t skew, enum xs_rrd_syntax syntax, enum xs_rrd_numfmt nf,
			       struct xs_buf *out)
{
	struct xs_rrd_write_rra rra[SIM_RRD_ARCHIVES * SIM_NCF];
	struct xs_rrd_write_ds *ds = xs_xcalloc(r->nds ? r->nds : 1, sizeof(*ds));
	double lastupdate = (double)(r->last_update + skew);
	int64_t last5 = sim_rrd_doc_model_time(r->last_update + skew, skew, SIM_RRD_STEP);
	struct xs_rrd_dump_doc doc;
	size_t nrra;
	enum xs_err rc;

	for (size_t d = 0; d < r->nds; d++) {
		ds[d] = (struct xs_rrd_write_ds){
			.name = r->ds[d].name,
			.type = r->ds[d].type,
			.heartbeat = SIM_RRD_HEARTBEAT,
			.min = r->ds[d].min,
			.max = r->ds[d].max,
			.last_ds_kind = XS_RRD_LAST_DS_FLOAT,
			.last_ds = sim_rrd_value(m, r, 0, SIM_CF_AVERAGE, d, last5),
			.value = 0.0,
			.unknown_sec = 0.0,
		};
	}
	nrra = docs_dump_rras(m, r, skew, lastupdate, rra);
	doc = (struct xs_rrd_dump_doc){
		.step = SIM_RRD_STEP, .lastupdate = lastupdate,
		.ds = ds, .nds = r->nds, .rra = rra, .nrra = nrra,
	};
	rc = xs_rrd_write_dump(&doc, syntax, nf, docs_out, out);
	if (rc == XS_ERR_ABORTED)
		rc = XS_ERR_TOO_LARGE;
	for (size_t i = 0; i < nrra; i++)
		free((void *)(uintptr_t)rra[i].data);
	free(ds);
	return rc;
}
