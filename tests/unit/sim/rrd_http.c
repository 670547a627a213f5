/*
 * Tests of sim/rrd_http.c and sim/rrd_docs.c: the RRD endpoints of a
 * simulated host called directly with constructed requests (no sockets).
 *
 * Every document served is read back with the project's reader (format
 * auto-detected) and each cell is compared with what the model holds
 * (sim_rrd_value, float32): exactly in the %0.15g era, and as the era's
 * f_to_s text of that value in the %0.4f and %0.5g eras. Also: each
 * /rrd_updates parameter (SPEC §1.2), the format rules (§1.4), legend order
 * (§2.4), the zero-row failure of JSON variant A, /vm_rrd routing (§1.3),
 * authentication (§1.1) and every per-host fault.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../../sim/rrd_docs.h"
#include "../../../sim/sim.h"
#include "rrd/rrd_reader.h"
#include "test.h"

#define T0 1700000000
#define BASIC_OK "Basic cm9vdDpzZWNyZXQ=" /* root:secret */
#define MAX_COLS 4096
#define MAX_ROWS 400
#define MAX_RRAS 16

/* ---- fixture ---------------------------------------------------------- */

static void fx_advance(struct sim *s, double seconds)
{
	sim_clock_advance(&s->clock, seconds);
	s->world->now = sim_clock_now(&s->clock);
	sim_rrd_model_advance(s->model, (int64_t)sim_clock_now(&s->clock));
}

static void fx_init(struct sim *s, const char *version, int pools)
{
	struct sim_world_params p = { .pools = pools, .hosts_per_pool = 2, .vms_per_host = 2,
				      .seed = 42, .addr_base = 9, .now = T0 };

	memset(s, 0, sizeof(*s));
	s->opt.user = "root";
	s->opt.password = "secret";
	s->opt.port = 8080;
	snprintf(s->opt.version_text, sizeof(s->opt.version_text), "%s", version);
	if (!sim_xapi_version_parse(version, &s->opt.version))
		abort();
	s->world = sim_world_new(&p);
	s->model = sim_rrd_model_new(s->world, T0, 2);
	s->sessions = sim_sessions_new(42);
	sim_clock_init(&s->clock, true, T0);
	fx_advance(s, 900);
}

static void fx_free(struct sim *s)
{
	sim_sessions_free(&s->sessions);
	sim_rrd_model_free(&s->model);
	sim_world_free(&s->world);
}

static void res_init(struct sim_http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	xs_buf_init(&res->headers, SIM_HTTP_MAX_HEAD);
	xs_buf_init(&res->body, SIM_HTTP_MAX_RESPONSE);
}

static void res_free(struct sim_http_response *res)
{
	xs_buf_free(&res->headers);
	xs_buf_free(&res->body);
}

static struct sim_http_slice sl(const char *s)
{
	return (struct sim_http_slice){ s, strlen(s) };
}

/* GET path?query at host with headers (name, value, ..., NULL); NULL headers
 * means Basic auth with the right credentials. res is initialised here. */
static void get(struct sim *s, int host, const char *path, const char *query,
		const char *const *headers, struct sim_http_response *res)
{
	static const char *const basic[] = { "Authorization", BASIC_OK, NULL };
	struct sim_http_request req;

	memset(&req, 0, sizeof(req));
	req.method = sl("GET");
	req.path = sl(path);
	req.query = sl(query);
	req.listener = host;
	req.minor_version = 1;
	for (const char *const *h = headers ? headers : basic; *h && h[1]; h += 2) {
		req.headers[req.nheaders].name = sl(h[0]);
		req.headers[req.nheaders].value = sl(h[1]);
		req.nheaders++;
	}
	res_init(res);
	sim_rrd_http_handle(s, &req, res);
}

static bool has_header(const struct sim_http_response *res, const char *line)
{
	return res->headers.data && strstr(res->headers.data, line);
}

/* ---- reading documents back ------------------------------------------- */

struct drra {
	char cf[16];
	uint64_t ppr, rows;
	int64_t period, newest;
	double *v;        /* rows * nds, oldest first */
	size_t nrows;
};

struct doc {
	char *legend[MAX_COLS];
	size_t ncols;
	struct xs_rrd_updates_meta meta;
	int64_t times[MAX_ROWS];
	double *vals;     /* MAX_ROWS * MAX_COLS */
	size_t rows;
	struct xs_rrd_dump_header hdr;
	char *dsn[MAX_COLS];
	size_t nds;
	struct drra rra[MAX_RRAS];
	size_t nrra;
	bool ended;
};

static char *dup_slice(struct xs_slice s)
{
	char *p = malloc(s.len + 1);

	memcpy(p, s.ptr, s.len);
	p[s.len] = '\0';
	return p;
}

static int on_col(void *ctx, size_t i, const struct xs_rrd_legend *e)
{
	struct doc *d = ctx;

	if (i >= MAX_COLS)
		return 1;
	d->legend[i] = dup_slice(e->entry);
	d->ncols = i + 1;
	return 0;
}

static int on_meta(void *ctx, const struct xs_rrd_updates_meta *m)
{
	((struct doc *)ctx)->meta = *m;
	return 0;
}

static int on_row(void *ctx, int64_t t, const double *v, size_t n)
{
	struct doc *d = ctx;

	if (d->rows >= MAX_ROWS || n != d->ncols)
		return 1;
	d->times[d->rows] = t;
	memcpy(d->vals + d->rows * MAX_COLS, v, n * sizeof(*v));
	d->rows++;
	return 0;
}

static int on_header(void *ctx, const struct xs_rrd_dump_header *h)
{
	((struct doc *)ctx)->hdr = *h;
	return 0;
}

static int on_ds(void *ctx, size_t i, const struct xs_rrd_dump_ds *ds)
{
	struct doc *d = ctx;

	if (i >= MAX_COLS)
		return 1;
	d->dsn[i] = dup_slice(ds->name);
	d->nds = i + 1;
	return 0;
}

static int on_rra_begin(void *ctx, size_t i, const struct xs_rrd_dump_rra *rra)
{
	struct doc *d = ctx;

	if (i >= MAX_RRAS || rra->cf.len >= sizeof(d->rra[i].cf))
		return 1;
	memcpy(d->rra[i].cf, rra->cf.ptr, rra->cf.len);
	d->rra[i].ppr = rra->pdp_per_row;
	d->rra[i].v = calloc(MAX_ROWS * (d->nds + 1), sizeof(double));
	d->nrra = i + 1;
	return 0;
}

static int on_drow(void *ctx, size_t a, size_t row, const double *v, size_t n)
{
	struct doc *d = ctx;

	if (a >= d->nrra || row >= MAX_ROWS || n != d->nds)
		return 1;
	memcpy(d->rra[a].v + row * d->nds, v, n * sizeof(*v));
	d->rra[a].nrows = row + 1;
	return 0;
}

static int on_rra_end(void *ctx, size_t i, const struct xs_rrd_dump_rra *rra)
{
	struct doc *d = ctx;

	d->rra[i].rows = rra->rows;
	d->rra[i].period = rra->period;
	d->rra[i].newest = rra->newest;
	return 0;
}

static int on_end(void *ctx, enum xs_rrd_kind kind)
{
	(void)kind;
	((struct doc *)ctx)->ended = true;
	return 0;
}

static const struct xs_rrd_sink doc_sink = {
	.updates_column = on_col, .updates_meta = on_meta, .updates_row = on_row,
	.dump_header = on_header, .dump_ds = on_ds, .dump_rra_begin = on_rra_begin,
	.dump_row = on_drow, .dump_rra_end = on_rra_end, .end = on_end,
};

static void doc_free(struct doc *d)
{
	for (size_t i = 0; i < d->ncols; i++)
		free(d->legend[i]);
	for (size_t i = 0; i < d->nds; i++)
		free(d->dsn[i]);
	for (size_t i = 0; i < d->nrra; i++)
		free(d->rra[i].v);
	free(d->vals);
	free(d);
}

/* Reads body[0..len) with an auto-detecting reader; NULL if it fails. */
static struct doc *doc_read(const char *body, size_t len)
{
	struct doc *d = calloc(1, sizeof(*d));
	struct xs_rrd_reader *r = xs_rrd_reader_new(&doc_sink, d);
	enum xs_err rc;

	d->vals = calloc((size_t)MAX_ROWS * MAX_COLS, sizeof(double));
	rc = xs_rrd_reader_push(r, body, len);
	if (!rc)
		rc = xs_rrd_reader_finish(r);
	xs_rrd_reader_free(&r);
	if (rc || !d->ended) {
		doc_free(d);
		return NULL;
	}
	return d;
}

static struct doc *res_doc(const struct sim_http_response *res)
{
	return res->body.data ? doc_read(res->body.data, res->body.len) : NULL;
}

/* ---- comparing with the model ----------------------------------------- */

/* Whether a value read back is the era's rendering of the model's cell. */
static bool cell_ok(double got, float want, enum xs_rrd_numfmt nf)
{
	char text[XS_RRD_NUM_LEN];

	if (isnan(want))
		return isnan(got);
	xs_rrd_num_format(text, (double)want, nf);
	if (strtod(text, NULL) != got)
		return false;
	return nf != XS_NUMFMT_G15 || (float)got == want;
}

static int archive_of_period(int64_t period)
{
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
		if ((int64_t)sim_rrd_archives[a].pdp_per_row * SIM_RRD_STEP == period)
			return a;
	return -1;
}

static enum sim_cf cf_of(const char *s)
{
	return !strncmp(s, "MIN", 3) ? SIM_CF_MIN : !strncmp(s, "MAX", 3) ? SIM_CF_MAX
									   : SIM_CF_AVERAGE;
}

static int ds_index(const struct sim_rrd *r, const char *name)
{
	for (size_t i = 0; i < r->nds; i++)
		if (!strcmp(r->ds[i].name, name))
			return (int)i;
	return -1;
}

/* The RRD a legend entry names; *ds its data source, *cf its CF. */
static const struct sim_rrd *legend_rrd(const struct sim *s, const char *entry, int *ds,
					enum sim_cf *cf)
{
	char cfs[16], kind[8], uuid[SIM_UUID_LEN];
	const char *p = entry, *q;
	const struct sim_obj *o;
	enum sim_class c;
	const struct sim_rrd *r;

	q = strchr(p, ':');
	if (!q || (size_t)(q - p) >= sizeof(cfs))
		return NULL;
	memcpy(cfs, p, (size_t)(q - p));
	cfs[q - p] = '\0';
	p = q + 1;
	q = strchr(p, ':');
	if (!q || (size_t)(q - p) >= sizeof(kind))
		return NULL;
	memcpy(kind, p, (size_t)(q - p));
	kind[q - p] = '\0';
	p = q + 1;
	q = strchr(p, ':');
	if (!q || (size_t)(q - p) >= sizeof(uuid))
		return NULL;
	memcpy(uuid, p, (size_t)(q - p));
	uuid[q - p] = '\0';
	c = !strcmp(kind, "host") ? SIM_HOST : !strcmp(kind, "vm") ? SIM_VM : SIM_SR;
	o = sim_world_by_uuid(s->world, c, uuid);
	r = o ? sim_rrd_model_get(s->model, c, o->index) : NULL;
	*ds = r ? ds_index(r, q + 1) : -1;
	*cf = cf_of(cfs);
	return *ds < 0 ? NULL : r;
}

/* Every cell of an /rrd_updates document against the model. Returns the
 * number of mismatches; *known counts the cells that are numbers. */
static size_t check_updates(const struct sim *s, const struct doc *d, enum xs_rrd_numfmt nf,
			    int64_t skew, size_t *known)
{
	int a = archive_of_period(d->meta.step);
	size_t bad = 0;

	*known = 0;
	if (a < 0 || d->meta.columns != d->ncols || d->meta.rows != d->rows)
		return 1;
	for (size_t c = 0; c < d->ncols; c++) {
		int ds;
		enum sim_cf cf;
		const struct sim_rrd *r = legend_rrd(s, d->legend[c], &ds, &cf);

		if (!r) {
			bad++;
			continue;
		}
		for (size_t i = 0; i < d->rows; i++) {
			int64_t t = sim_rrd_doc_model_time(d->times[i], skew, d->meta.step);
			float want = sim_rrd_value(s->model, r, a, cf, (size_t)ds, t);
			double got = d->vals[i * MAX_COLS + c];

			if (!cell_ok(got, want, nf)) {
				if (bad++ < 3)
					fprintf(stderr, "  %s t=%lld got %.17g want %.9g\n",
						d->legend[c], (long long)d->times[i], got,
						(double)want);
			}
			*known += !isnan(got);
		}
	}
	for (size_t i = 1; i < d->rows; i++)
		bad += d->times[i] != d->times[i - 1] - d->meta.step;
	if (d->rows)
		bad += d->times[0] != d->meta.end;
	return bad;
}

/* Every row of a dump against the model's RRD r. */
static size_t check_dump(const struct sim *s, const struct sim_rrd *r, const struct doc *d,
			 enum xs_rrd_numfmt nf, int64_t skew, size_t *known)
{
	size_t bad = 0, want_rras = 0;

	*known = 0;
	for (int a = 0; a < SIM_RRD_ARCHIVES; a++)
		for (int cf = 0; cf < SIM_NCF; cf++)
			want_rras += sim_rrd_has_cf(r, a, (enum sim_cf)cf);
	if (d->nds != r->nds || d->nrra != want_rras)
		return 1;
	/* JSON prints lastupdate with f_to_s ("1.7e+09" in the %0.5g era), XML as an integer */
	{
		char text[XS_RRD_NUM_LEN];
		double lu = (double)(r->last_update + skew);

		xs_rrd_num_format(text, lu, nf);
		if (d->hdr.lastupdate != (d->hdr.syntax == XS_RRD_XML ? lu : strtod(text, NULL)))
			return 1;
	}
	for (size_t k = 0; k < d->nds; k++)
		bad += strcmp(d->dsn[k], r->ds[k].name) != 0;
	for (size_t i = 0; i < d->nrra; i++) {
		const struct drra *x = &d->rra[i];
		int a = archive_of_period(x->period);
		/* row times from the model's lastupdate: a %0.5g one is too coarse */
		struct xs_rrd_dump_rra info = {
			.period = x->period, .rows = x->rows,
			.newest = (r->last_update + skew) / x->period * x->period };

		if (a < 0 || x->rows != (uint64_t)sim_rrd_archives[a].rows || x->nrows != x->rows ||
		    (d->hdr.syntax == XS_RRD_XML && x->newest != info.newest)) {
			bad++;
			continue;
		}
		for (size_t j = 0; j < x->nrows; j++) {
			int64_t t = sim_rrd_doc_model_time(xs_rrd_dump_row_time(&info, j), skew,
							   x->period);

			for (size_t k = 0; k < d->nds; k++) {
				float want = sim_rrd_value(s->model, r, a, cf_of(x->cf), k, t);
				double got = x->v[j * d->nds + k];

				bad += !cell_ok(got, want, nf);
				*known += !isnan(got);
			}
		}
	}
	return bad;
}

/* ---- helpers on the estate -------------------------------------------- */

/* The n-th guest VM (not dom0) resident on host, or -1. */
static int guest_on(const struct sim *s, int host, int n)
{
	for (size_t i = 0; i < sim_world_count(s->world, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(s->world, SIM_VM, sim_vm, (int)i);

		if (vm->resident_on == host && !vm->is_control_domain && n-- == 0)
			return (int)i;
	}
	return -1;
}

static const char *vm_uuid(const struct sim *s, int vm)
{
	return SIM_GET(s->world, SIM_VM, sim_vm, vm)->o.uuid;
}

/* The pool's shared SR. */
static int shared_sr(const struct sim *s)
{
	for (size_t i = 0; i < sim_world_count(s->world, SIM_SR); i++)
		if (SIM_GET(s->world, SIM_SR, sim_sr, (int)i)->shared)
			return (int)i;
	return -1;
}

static size_t count_prefix(const struct doc *d, const char *prefix)
{
	size_t n = 0;

	for (size_t c = 0; c < d->ncols; c++)
		n += !strncmp(d->legend[c], prefix, strlen(prefix));
	return n;
}

static size_t count_sub(const struct doc *d, const char *sub)
{
	size_t n = 0;

	for (size_t c = 0; c < d->ncols; c++)
		n += strstr(d->legend[c], sub) != NULL;
	return n;
}

/* GET /rrd_updates and read it; NULL unless 200 and readable. */
static struct doc *updates(struct sim *s, int host, const char *query, const char *const *hdrs,
			   struct sim_http_response *res)
{
	get(s, host, "/rrd_updates", query, hdrs, res);
	return res->status == 200 ? res_doc(res) : NULL;
}

/* ---- tests ------------------------------------------------------------ */

static void test_eras(void)
{
	static const struct {
		const char *version;
		enum xs_rrd_numfmt nf;
		enum xs_rrd_syntax json;
	} eras[] = {
		{ "1.249.3", XS_NUMFMT_F4, XS_RRD_JSON_LEGACY },
		{ "23.30.0", XS_NUMFMT_G5, XS_RRD_JSON_NESTED },
		{ "24.20.0", XS_NUMFMT_G5, XS_RRD_JSON },
		{ "25.6.0", XS_NUMFMT_G15, XS_RRD_JSON },
	};
	static const char *const queries[] = {
		"start=-595&host=true&sr_uuid=all",
		"start=-600&host=true&sr_uuid=all&json=true",
		"start=-300&interval=5&host=true&sr_uuid=all&json=1",
		"start=-7200&interval=60&host=true&sr_uuid=all&json",
		"start=-86400&interval=3600&host=true&sr_uuid=all",
	};

	for (size_t e = 0; e < sizeof(eras) / sizeof(eras[0]); e++) {
		struct sim s;

		fx_init(&s, eras[e].version, 1);
		for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
			struct sim_http_response res;
			struct doc *d = updates(&s, 0, queries[k], NULL, &res);
			bool json = strstr(queries[k], "json") != NULL;
			size_t known = 0, bad;

			ok(d != NULL, "%s %s: 200 (%d) and readable", eras[e].version, queries[k],
			   res.status);
			if (!d) {
				res_free(&res);
				continue;
			}
			ok(d->meta.syntax == (json ? eras[e].json : XS_RRD_XML),
			   "%s %s: syntax %d", eras[e].version, queries[k], (int)d->meta.syntax);
			bad = check_updates(&s, d, eras[e].nf, 0, &known);
			ok(bad == 0 && known > d->ncols && d->rows > 0,
			   "%s %s: %zu cells of %zu cols x %zu rows match (%zu bad, %zu known)",
			   eras[e].version, queries[k], d->ncols * d->rows, d->ncols, d->rows, bad,
			   known);
			ok(!res.http10 && res.close && res.cut_at == 0 && res.delay_ms == 0,
			   "rrd_updates: HTTP/1.1 with Content-Length, closed after");
			ok(has_header(&res, "Access-Control-Allow-Origin: *\r\n") &&
				   has_header(&res, "Cache-Control: no-cache, no-store\r\n"),
			   "rrd_updates headers");
			doc_free(d);
			res_free(&res);
		}
		{
			/* dumps: host, a VM on this host, the shared SR (on the master) */
			struct sim_http_response res;
			char q[128];
			int vm = guest_on(&s, 0, 0), sr = shared_sr(&s);
			struct {
				const char *path;
				enum sim_class cls;
				int index;
				const char *uuid;
			} dumps[] = {
				{ "/host_rrd", SIM_HOST, 0, "" },
				{ "/vm_rrd", SIM_VM, vm, vm_uuid(&s, vm) },
				{ "/sr_rrd", SIM_SR, sr, SIM_GET(s.world, SIM_SR, sim_sr, sr)->o.uuid },
			};

			for (size_t k = 0; k < 3; k++) {
				for (int json = 0; json < 2; json++) {
					const struct sim_rrd *r = sim_rrd_model_get(
						s.model, dumps[k].cls, dumps[k].index);
					struct doc *d;
					size_t known = 0, bad;

					snprintf(q, sizeof(q), "uuid=%s%s", dumps[k].uuid,
						 json ? "&json=true" : "");
					get(&s, 0, dumps[k].path, q, NULL, &res);
					d = res.status == 200 ? res_doc(&res) : NULL;
					ok(d && res.http10, "%s %s%s: HTTP/1.0 200 (%d), readable",
					   eras[e].version, dumps[k].path, json ? " json" : "",
					   res.status);
					if (d) {
						bad = check_dump(&s, r, d, eras[e].nf, 0, &known);
						ok(bad == 0 && known > 0,
						   "%s %s%s: every row matches (%zu bad, %zu known)",
						   eras[e].version, dumps[k].path,
						   json ? " json" : "", bad, known);
						doc_free(d);
					}
					res_free(&res);
				}
			}
		}
		fx_free(&s);
	}
}

static void test_content_types(void)
{
	struct sim s;
	struct sim_http_response res;
	static const char *const accept_any[] = { "Authorization", BASIC_OK, "Accept", "*/*",
						  NULL };
	static const char *const accept_xml[] = { "Authorization", BASIC_OK, "Accept",
						  "text/xml", NULL };
	struct doc *d;

	fx_init(&s, "25.6.0", 1);
	d = updates(&s, 0, "start=-60&host=true", accept_any, &res);
	ok(d && d->meta.syntax == XS_RRD_JSON &&
		   has_header(&res, "Content-Type: application/json\r\n"),
	   "25.6.0 Accept */*: JSON with its Content-Type");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-60&host=true&json=true", accept_xml, &res);
	ok(d && d->meta.syntax == XS_RRD_XML && has_header(&res, "Content-Type: text/xml\r\n"),
	   "25.6.0 Accept text/xml wins over json");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/host_rrd", "json=true", NULL, &res);
	ok(res.http10 && has_header(&res, "Content-Type: application/json\r\n") &&
		   has_header(&res, "Access-Control-Allow-Origin: *\r\n"),
	   "25.6.0 host_rrd JSON: Content-Type and CORS");
	res_free(&res);
	fx_free(&s);

	fx_init(&s, "23.16.0", 1);
	d = updates(&s, 0, "start=-60&host=true", accept_any, &res);
	ok(d && d->meta.syntax == XS_RRD_XML, "23.16.0 ignores Accept");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-60&host=true&json=false", NULL, &res);
	ok(d && d->meta.syntax == XS_RRD_JSON_LEGACY && !has_header(&res, "Content-Type"),
	   "23.16.0 json=false: variant A, no Content-Type");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/vm_rrd", "json=true&uuid=", NULL, &res);
	res_free(&res);
	{
		char q[96];

		snprintf(q, sizeof(q), "uuid=%s&json=true", vm_uuid(&s, guest_on(&s, 0, 0)));
		get(&s, 0, "/vm_rrd", q, NULL, &res);
		d = res_doc(&res);
		ok(d && d->hdr.syntax == XS_RRD_XML && !has_header(&res, "Content-Type") &&
			   !has_header(&res, "Access-Control"),
		   "23.16.0 vm_rrd: XML only, no Content-Type, no CORS");
		if (d)
			doc_free(d);
		res_free(&res);
	}
	get(&s, 0, "/host_rrd", "json", NULL, &res);
	d = res_doc(&res);
	ok(d && d->hdr.syntax != XS_RRD_XML && has_header(&res, "Access-Control-Allow-Origin"),
	   "23.16.0 host_rrd json: JSON (old keys) with CORS");
	if (d)
		doc_free(d);
	res_free(&res);
	fx_free(&s);
}

static void test_params(void)
{
	struct sim s;
	struct sim_http_response res;
	const struct sim_rrd *hr;
	struct doc *d;
	char q[256];

	fx_init(&s, "25.6.0", 1);
	hr = sim_rrd_model_get(s.model, SIM_HOST, 0);

	get(&s, 0, "/rrd_updates", "host=true", NULL, &res);
	ok(res.status == 400, "no start: 400 (%d)", res.status);
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=soon&host=true", NULL, &res);
	ok(res.status == 400, "start not an integer: 400");
	res_free(&res);

	d = updates(&s, 0, "start=-600&interval=5&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 60,
	   "start=-600 is not after the 5 s archive's span (t > last - 600): 60 s rows");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-595&interval=5&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 5 && d->rows == 120 && d->meta.end == hr->last_update &&
		   d->times[d->rows - 1] == hr->last_update - 595,
	   "start=-600: 5 s rows back from the last update (step %lld rows %zu end %lld lu %lld)",
	   d ? (long long)d->meta.step : 0, d ? d->rows : 0, d ? (long long)d->meta.end : 0,
	   (long long)hr->last_update);
	if (d)
		doc_free(d);
	res_free(&res);
	snprintf(q, sizeof(q), "start=%lld&host=true&vm_uuid=none",
		 (long long)(hr->last_update - 50));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && d->rows == 11 && d->times[10] == hr->last_update - 50 &&
		   d->meta.start == hr->last_update - 45,
	   "absolute start: the row at start is included, meta.start one step later");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-60&start=-600&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->rows == 13, "repeated start: the first wins (%zu rows)", d ? d->rows : 0);
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-3000&interval=60&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 60, "interval=60: the 60 s archive");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-86400&interval=bad&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 3600, "bad interval reads as 0; a day back: the hourly archive");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-864000&interval=5&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 86400, "10 days back: the daily archive");
	if (d)
		doc_free(d);
	res_free(&res);

	fx_free(&s);
}

static void test_params_cf(void)
{
	struct sim s;
	struct sim_http_response res;
	const struct sim_rrd *hr;
	struct doc *d;

	fx_init(&s, "25.6.0", 1);
	hr = sim_rrd_model_get(s.model, SIM_HOST, 0);
	d = updates(&s, 0, "start=-600&interval=60&host=true&vm_uuid=none", NULL, &res);
	ok(d && count_prefix(d, "AVERAGE:host:") == hr->nds &&
		   count_prefix(d, "MIN:host:") == hr->nds &&
		   count_prefix(d, "MAX:host:") == hr->nds && !strncmp(d->legend[0], "AVERAGE:", 8) &&
		   !strncmp(d->legend[hr->nds], "MIN:", 4) &&
		   !strncmp(d->legend[2 * hr->nds], "MAX:", 4),
	   "no cf at 60 s: AVERAGE, MIN, MAX groups in that order");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-595&interval=5&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->ncols == hr->nds, "no cf at 5 s: AVERAGE only");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-595&interval=5&cf=MAX&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->meta.step == 60 && count_prefix(d, "MAX:host:") == d->ncols && d->ncols,
	   "cf=MAX interval=5: the 60 s archive, MAX only");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-600&interval=60&cf=average&host=true&vm_uuid=none", NULL, &res);
	ok(d && d->ncols == 3 * hr->nds, "cf=average is ignored: every CF");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=-600&cf=MAX&host=true", NULL, &res);
	ok(res.status == 500, "cf=MAX with VMs (AVERAGE only): No_RRA_Available, 500");
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=-600&cf=LAST&host=true", NULL, &res);
	ok(res.status == 500, "cf=LAST: no such archive, 500");
	res_free(&res);

	fx_free(&s);
}

/* host, vm_uuid, sr_uuid; legend order; zero rows; halted VMs */
static void test_params_select(void)
{
	struct sim s;
	struct sim_http_response res;
	const struct sim_rrd *hr;
	struct doc *d;
	char q[256];
	int vm0, vm1;

	fx_init(&s, "25.6.0", 1);
	hr = sim_rrd_model_get(s.model, SIM_HOST, 0);
	vm0 = guest_on(&s, 0, 0);
	vm1 = guest_on(&s, 1, 0);
	d = updates(&s, 0, "start=-60&host=1", NULL, &res);
	ok(d && count_sub(d, ":host:") == 0 && count_sub(d, ":vm:") > 0, "host=1: no host");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=-60&vm_uuid=none", NULL, &res);
	ok(res.status == 500, "nothing selected: No_RRA_Available, 500");
	res_free(&res);
	d = updates(&s, 0, "start=-60&host=true&sr_uuid=all", NULL, &res);
	if (d) {
		size_t last_host = 0, first_vm = d->ncols, last_vm = 0, first_sr = d->ncols;
		int dom0 = SIM_GET(s.world, SIM_HOST, sim_host, 0)->control_domain;

		for (size_t c = 0; c < d->ncols; c++) {
			if (strstr(d->legend[c], ":host:"))
				last_host = c;
			if (strstr(d->legend[c], ":vm:")) {
				first_vm = c < first_vm ? c : first_vm;
				last_vm = c;
			}
			if (strstr(d->legend[c], ":sr:"))
				first_sr = c < first_sr ? c : first_sr;
		}
		ok(last_host < first_vm && last_vm < first_sr && first_sr < d->ncols,
		   "legend order: host, VMs, SRs");
		ok(count_sub(d, vm_uuid(&s, dom0)) > 0 && count_sub(d, vm_uuid(&s, vm0)) > 0 &&
			   count_sub(d, vm_uuid(&s, vm1)) == 0,
		   "all VMs resident here, dom0 included, none of the other host's");
		doc_free(d);
	} else {
		ok(0, "host+VMs+SRs");
	}
	res_free(&res);
	snprintf(q, sizeof(q), "start=-60&vm_uuid=%s", vm_uuid(&s, vm0));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && count_sub(d, vm_uuid(&s, vm0)) == d->ncols && d->ncols > 0, "vm_uuid=<one>");
	if (d)
		doc_free(d);
	res_free(&res);
	snprintf(q, sizeof(q), "start=-60&host=true&vm_uuid=%s", vm_uuid(&s, vm1));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && count_sub(d, ":vm:") == 0, "vm_uuid of a VM on another host: nothing of it");
	if (d)
		doc_free(d);
	res_free(&res);
	snprintf(q, sizeof(q), "start=-60&vm_uuid=%s&vm_uuid=none", vm_uuid(&s, vm0));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && count_sub(d, vm_uuid(&s, vm0)) > 0, "before 26.7.0 the first vm_uuid wins");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 1, "start=-60&host=true&sr_uuid=all", NULL, &res);
	ok(d && count_sub(d, ":sr:") == 0, "a member holds no SR RRD");
	if (d)
		doc_free(d);
	res_free(&res);

	/* zero rows */
	snprintf(q, sizeof(q), "start=%lld&host=true", (long long)(hr->last_update + 100));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && d->rows == 0 && d->ncols > 0, "start after the last row: XML with zero rows");
	if (d)
		doc_free(d);
	res_free(&res);
	snprintf(q, sizeof(q), "start=%lld&host=true&json", (long long)(hr->last_update + 100));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && d->rows == 0, "zero rows in variant C is fine");
	if (d)
		doc_free(d);
	res_free(&res);

	/* a halted VM leaves /rrd_updates */
	ok(sim_vm_stop(s.world, vm0, NULL) == 0, "stop a VM");
	fx_advance(&s, 10);
	d = updates(&s, 0, "start=-60&host=true", NULL, &res);
	ok(d && count_sub(d, vm_uuid(&s, vm0)) == 0, "halted VMs never appear");
	if (d)
		doc_free(d);
	res_free(&res);
	fx_free(&s);

	fx_free(&s);
}

/* variant A fails on zero rows; 26.7.0 reads repeated literal uuids */
static void test_params_versions(void)
{
	struct sim s;
	struct sim_http_response res;
	const struct sim_rrd *hr;
	struct doc *d;
	char q[256];
	int vm0;

	fx_init(&s, "1.249.3", 1);
	hr = sim_rrd_model_get(s.model, SIM_HOST, 0);
	snprintf(q, sizeof(q), "start=%lld&host=true&json", (long long)(hr->last_update + 100));
	get(&s, 0, "/rrd_updates", q, NULL, &res);
	ok(res.status == 500, "variant A with zero rows: 500 like xapi (%d)", res.status);
	res_free(&res);
	fx_free(&s);
	fx_init(&s, "26.7.0", 1);
	vm0 = guest_on(&s, 0, 0);
	snprintf(q, sizeof(q), "start=-60&vm_uuid=%s&vm_uuid=%s", vm_uuid(&s, vm0),
		 vm_uuid(&s, guest_on(&s, 0, 1)));
	d = updates(&s, 0, q, NULL, &res);
	ok(d && count_sub(d, vm_uuid(&s, vm0)) > 0 &&
		   count_sub(d, vm_uuid(&s, guest_on(&s, 0, 1))) > 0 &&
		   count_sub(d, ":vm:") ==
			   count_sub(d, vm_uuid(&s, vm0)) +
				   count_sub(d, vm_uuid(&s, guest_on(&s, 0, 1))),
	   "26.7.0: repeated vm_uuid selects each");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-60&host=true&vm_uuid=all", NULL, &res);
	ok(d && count_sub(d, ":vm:") == 0, "26.7.0: vm_uuid=all is a literal uuid");
	if (d)
		doc_free(d);
	res_free(&res);
	fx_free(&s);
}

/* The homogeneous rule, on the builder directly: an RRD whose best archive
 * differs from the first RRD's contributes no column. */
static void test_homogeneous(void)
{
	struct sim s;
	struct sim_rrd other;
	struct sim_rrd_part parts[2];
	struct sim_rrd_query q;
	struct xs_buf out;
	struct doc *d;

	fx_init(&s, "25.6.0", 1);
	parts[0] = (struct sim_rrd_part){ sim_rrd_model_get(s.model, SIM_HOST, 0), "host", "h" };
	other = *sim_rrd_model_get(s.model, SIM_VM, guest_on(&s, 0, 0));
	parts[1] = (struct sim_rrd_part){ &other, "vm", "v" };
	sim_rrd_query_init(&q);
	q.start = parts[0].rrd->last_update - 300;
	q.interval = 5;
	xs_buf_init(&out, SIM_HTTP_MAX_RESPONSE);
	ok(sim_rrd_updates_build(s.model, parts, 2, &q, 0, XS_RRD_XML, XS_NUMFMT_G15, &out) == 0,
	   "build");
	d = doc_read(out.data, out.len);
	ok(d && d->ncols == parts[0].rrd->nds + other.nds, "same archives: both RRDs");
	if (d)
		doc_free(d);
	xs_buf_reset(&out);
	other.last_update += 3000; /* its 5 s archive no longer reaches start */
	ok(sim_rrd_updates_build(s.model, parts, 2, &q, 0, XS_RRD_XML, XS_NUMFMT_G15, &out) == 0,
	   "build");
	d = doc_read(out.data, out.len);
	ok(d && d->ncols == parts[0].rrd->nds && d->meta.step == 5,
	   "an RRD with another best archive is dropped");
	if (d)
		doc_free(d);
	xs_buf_free(&out);
	ok(sim_rrd_doc_model_time(1000, 7, 5) == 990 && sim_rrd_doc_model_time(-3, 0, 5) == -5,
	   "model time of a host row floors");
	fx_free(&s);
}

static void test_vm_rrd(void)
{
	struct sim s;
	struct sim_http_response res;
	char q[128], want[256];
	int vm0, vm1;
	const struct sim_host *h0, *h1;
	struct doc *d;
	size_t known;

	fx_init(&s, "25.6.0", 1);
	h0 = SIM_GET(s.world, SIM_HOST, sim_host, 0);
	h1 = SIM_GET(s.world, SIM_HOST, sim_host, 1);
	vm0 = guest_on(&s, 0, 0);
	vm1 = guest_on(&s, 1, 0);

	snprintf(q, sizeof(q), "uuid=%s&json=true", vm_uuid(&s, vm1));
	get(&s, 0, "/vm_rrd", q, NULL, &res);
	snprintf(want, sizeof(want), "Location: http://%s:8080/vm_rrd?%s\r\n", h1->address, q);
	ok(res.status == 302 && has_header(&res, want) && res.close &&
		   has_header(&res, "Cache-Control: no-cache, no-store"),
	   "vm_rrd on the wrong host: 302 to its host (%d)", res.status);
	res_free(&res);
	get(&s, 1, "/vm_rrd", q, NULL, &res);
	d = res_doc(&res);
	ok(res.status == 200 && res.http10 && d && d->hdr.syntax == XS_RRD_JSON &&
		   check_dump(&s, sim_rrd_model_get(s.model, SIM_VM, vm1), d, XS_NUMFMT_G15, 0,
			      &known) == 0,
	   "vm_rrd on its host: the dump");
	if (d)
		doc_free(d);
	res_free(&res);

	ok(sim_vm_stop(s.world, vm0, NULL) == 0, "stop a VM");
	fx_advance(&s, 600);
	snprintf(q, sizeof(q), "uuid=%s", vm_uuid(&s, vm0));
	get(&s, 1, "/vm_rrd", q, NULL, &res);
	snprintf(want, sizeof(want), "Location: http://%s:8080/vm_rrd?%s&rrd_unarchive=\r\n",
		 h0->address, q);
	ok(res.status == 302 && has_header(&res, want),
	   "halted VM asked on a member: 302 to the master with rrd_unarchive");
	res_free(&res);
	get(&s, 0, "/vm_rrd", q, NULL, &res);
	d = res_doc(&res);
	ok(res.status == 200 && d &&
		   check_dump(&s, sim_rrd_model_get(s.model, SIM_VM, vm0), d, XS_NUMFMT_G15, 0,
			      &known) == 0 &&
		   known > 0,
	   "halted VM on the master: its archived RRD");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/vm_rrd", "uuid=00000000-0000-0000-0000-000000000000", NULL, &res);
	ok(res.status == 404, "unknown VM: 404");
	res_free(&res);
	get(&s, 0, "/vm_rrd", "json=true", NULL, &res);
	ok(res.status == 400, "no uuid: 400");
	res_free(&res);

	get(&s, 1, "/sr_rrd", "", NULL, &res);
	ok(res.status == 400, "sr_rrd without uuid: 400");
	res_free(&res);
	snprintf(q, sizeof(q), "uuid=%s", SIM_GET(s.world, SIM_SR, sim_sr, shared_sr(&s))->o.uuid);
	get(&s, 1, "/sr_rrd", q, NULL, &res);
	ok(res.status == 500, "sr_rrd on a member (no RRD there): 500");
	res_free(&res);
	get(&s, 0, "/sr_rrd", q, NULL, &res);
	ok(res.status == 200 && res.http10, "sr_rrd on the master: 200");
	res_free(&res);
	get(&s, 0, "/nope", "", NULL, &res);
	ok(res.status == 404, "unknown path: 404");
	res_free(&res);
	fx_free(&s);
}

static void test_auth(void)
{
	struct sim s, other;
	struct sim_http_response res;
	char ref[SIM_REF_LEN], q[128], cookie[96];
	static const char *const none[] = { NULL };
	static const char *const wrong[] = { "Authorization", "Basic cm9vdDp3cm9uZw==", NULL };
	static const char *const junk[] = { "Authorization", "Basic !!!", NULL };

	fx_init(&s, "25.6.0", 2);
	get(&s, 0, "/rrd_updates", "start=-60&host=true", none, &res);
	ok(res.status == 401 && has_header(&res, "WWW-Authenticate: Basic realm=\"xapi\"") &&
		   has_header(&res, "Content-Type: text/html"),
	   "no credentials: 401 with WWW-Authenticate");
	res_free(&res);
	get(&s, 0, "/host_rrd", "", wrong, &res);
	ok(res.status == 401, "wrong password: 401");
	res_free(&res);
	get(&s, 0, "/host_rrd", "", junk, &res);
	ok(res.status == 401, "broken Basic: 401");
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.status == 200, "Basic root:secret: 200");
	res_free(&res);

	sim_session_create(s.sessions, 0, "root", "test", sim_clock_now(&s.clock), ref);
	snprintf(q, sizeof(q), "start=-60&host=true&session_id=%s", ref);
	get(&s, 1, "/rrd_updates", q, none, &res);
	ok(res.status == 200, "session_id in the query, on a member: 200");
	res_free(&res);
	snprintf(cookie, sizeof(cookie), "foo=bar; session_id=%s", ref);
	{
		const char *const hdrs[] = { "Cookie", cookie, NULL };

		get(&s, 0, "/host_rrd", "", hdrs, &res);
		ok(res.status == 200, "session_id cookie: 200");
		res_free(&res);
		get(&s, 0, "/host_rrd", "session_id=OpaqueRef:nope", hdrs, &res);
		ok(res.status == 200, "the cookie is looked at first");
		res_free(&res);
	}
	get(&s, 0, "/host_rrd", "session_id=OpaqueRef:nope", NULL, &res);
	ok(res.status == 401, "invalid session: 401 even with Basic");
	res_free(&res);
	{
		int h2 = SIM_GET(s.world, SIM_POOL, sim_pool, 1)->master;

		snprintf(q, sizeof(q), "session_id=%s", ref);
		get(&s, h2, "/host_rrd", q, none, &res);
		ok(res.status == 401, "a session of another pool: 401");
		res_free(&res);
	}
	sim_sessions_expire_all(s.sessions);
	snprintf(q, sizeof(q), "session_id=%s", ref);
	get(&s, 0, "/host_rrd", q, none, &res);
	ok(res.status == 401, "expired session: 401");
	res_free(&res);
	(void)other;
	fx_free(&s);
}

static void test_faults(void)
{
	struct sim s;
	struct sim_http_response res, plain;
	struct sim_host *h;
	struct doc *d, *d0;
	size_t known;

	fx_init(&s, "25.6.0", 1);
	h = SIM_GET(s.world, SIM_HOST, sim_host, 0);

	h->faults.http500 = 2;
	get(&s, 0, "/rrd_updates", "start=-60&host=true", NULL, &res);
	ok(res.status == 500 && h->faults.http500 == 1, "http500: first request 500");
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.status == 500 && h->faults.http500 == 0, "http500: second request 500");
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.status == 200, "http500: then 200");
	res_free(&res);

	h->faults.slow_ms = 250;
	get(&s, 0, "/rrd_updates", "start=-60&host=true", NULL, &res);
	ok(res.status == 200 && res.delay_ms == 250, "slow_ms: delay_ms");
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=-60", (const char *const[]){ NULL }, &res);
	ok(res.status == 401 && res.delay_ms == 250, "slow_ms applies to errors too");
	res_free(&res);
	h->faults.slow_ms = 0;

	h->faults.truncate = 1;
	get(&s, 0, "/rrd_updates", "start=-60&host=true", NULL, &res);
	ok(res.status == 200 && res.cut_at == res.body.len / 2 && res.cut_at > 0 &&
		   h->faults.truncate == 0,
	   "truncate: the body is cut in half");
	d = doc_read(res.body.data, res.cut_at);
	ok(d == NULL, "the cut body does not read");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.cut_at == 0, "truncate: only the next N bodies");
	res_free(&res);
	h->faults.truncate = 1;
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.http10 && res.cut_at == res.body.len / 2, "truncate: dumps too");
	res_free(&res);

	h->faults.malformed = 1;
	get(&s, 0, "/rrd_updates", "start=-60&host=true&json", NULL, &res);
	d = res_doc(&res);
	ok(res.status == 200 && d == NULL && h->faults.malformed == 0 && res.body.len > 0,
	   "malformed: a garbage body");
	if (d)
		doc_free(d);
	res_free(&res);
	d = updates(&s, 0, "start=-60&host=true", NULL, &res);
	ok(d != NULL, "malformed: only the next N bodies");
	if (d)
		doc_free(d);
	res_free(&res);
	/* spoil_interval: only /rrd_updates of that interval count (a coarse archive) */
	h->faults.malformed = 1;
	h->faults.spoil_interval = 60;
	d = updates(&s, 0, "start=-60&host=true&interval=5", NULL, &res);
	ok(d != NULL && h->faults.malformed == 1, "spoil_interval 60: a 5 s reply is whole");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	ok(res.status == 200 && h->faults.malformed == 1, "spoil_interval 60: a dump is whole");
	res_free(&res);
	get(&s, 0, "/rrd_updates", "start=-7199&host=true&interval=60", NULL, &res);
	d = res_doc(&res);
	ok(res.status == 200 && d == NULL && h->faults.malformed == 0,
	   "spoil_interval 60: the 60 s reply is garbage");
	if (d)
		doc_free(d);
	res_free(&res);
	h->faults.spoil_interval = 0;

	/* skew: host times move, the cells stay */
	d0 = updates(&s, 0, "start=-600&host=true", NULL, &plain);
	h->faults.skew = 3600;
	d = updates(&s, 0, "start=-600&host=true", NULL, &res);
	ok(d && d0 && d->meta.end == d0->meta.end + 3600 && d->rows == d0->rows &&
		   d->ncols == d0->ncols &&
		   !memcmp(d->vals, d0->vals, d->rows * MAX_COLS * sizeof(double)) &&
		   check_updates(&s, d, XS_NUMFMT_G15, 3600, &known) == 0,
	   "skew 3600: times shifted by an hour, same values");
	if (d)
		doc_free(d);
	if (d0)
		doc_free(d0);
	res_free(&res);
	res_free(&plain);
	h->faults.skew = -7;
	d = updates(&s, 0, "start=-600&host=true", NULL, &res);
	ok(d && d->meta.end % 5 == 0 && check_updates(&s, d, XS_NUMFMT_G15, -7, &known) == 0,
	   "skew -7: rows still on step boundaries of the host's clock");
	if (d)
		doc_free(d);
	res_free(&res);
	get(&s, 0, "/host_rrd", "", NULL, &res);
	d = res_doc(&res);
	ok(d && check_dump(&s, sim_rrd_model_get(s.model, SIM_HOST, 0), d, XS_NUMFMT_G15, -7,
			   &known) == 0,
	   "skew -7: the dump's lastupdate and rows in host time");
	if (d)
		doc_free(d);
	res_free(&res);
	fx_free(&s);
}

int main(void)
{
	TEST_RUN(test_eras);
	TEST_RUN(test_content_types);
	TEST_RUN(test_params);
	TEST_RUN(test_params_cf);
	TEST_RUN(test_params_select);
	TEST_RUN(test_params_versions);
	TEST_RUN(test_homogeneous);
	TEST_RUN(test_vm_rrd);
	TEST_RUN(test_auth);
	TEST_RUN(test_faults);
	return test_summary();
}
