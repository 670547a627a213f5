/*
 * api.c - the routes of the HTTP API (see api.h), its helpers, start and free;
 * top-N is in api_top.c, the live stream in api_stream.c (api_internal.h).
 *
 * Each handler validates its parameters (an unknown parameter is a 400 naming
 * it: a typo never silently means "default"; every 400 message starts with the
 * parameter's name and ": ", as docs/API.md promises), asks the daemon for the estate
 * view, runs one query into a capped buffer and replies. Query errors map to
 * statuses in api_fail(): XS_ERR_ARG 400, XS_QUERY_NOT_FOUND 404, the rest 500.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/accept_encoding.h"
#include "http/gzip_pull.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "query/objects.h"
#include "query/status.h"
#include "query/xo_stats.h"
#include "serve/api_internal.h"
#include "serve/stream_request.h"

static const char *const api_kinds[] = { "vms", "hosts", "srs", "pools" };

/* ---- helpers ---- */

void api_enter(const struct xs_api *a)
{
	if (a->p.enter)
		a->p.enter(a->p.lock_arg);
}

void api_leave(const struct xs_api *a)
{
	if (a->p.leave)
		a->p.leave(a->p.lock_arg);
}

static enum xs_err api_guarded_cb(struct xs_http_request *req, void *arg)
{
	const struct api_guarded *g = arg;
	enum xs_err rc;

	api_enter(g->api);
	rc = g->fn(req, g->arg);
	api_leave(g->api);
	return rc;
}

enum xs_err api_fail(struct xs_http_request *req, enum xs_err rc, const char *err)
{
	unsigned status = rc == XS_ERR_ARG ? 400 : rc == XS_QUERY_NOT_FOUND ? 404 : 500;

	return xs_http_reply_json_error(req, status, "%s", err[0] ? err : xs_strerror(rc));
}

/* "a, b, c" of allowed (NULL-terminated) into s, or "none". */
static void api_params_list(const char *const *allowed, char *s, size_t size)
{
	size_t o = 0;

	snprintf(s, size, "none");
	for (size_t k = 0; allowed[k] && o < size; k++) {
		int n = snprintf(s + o, size - o, "%s%s", k ? ", " : "", allowed[k]);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* 400 for any parameter not in allowed (NULL-terminated); true when all are known. */
bool api_params_known(struct xs_http_request *req, const char *const *allowed)
{
	const struct xs_qs *qs = xs_http_params(req);
	char known[API_KNOWN_LEN];

	for (size_t i = 0; qs && i < qs->n; i++) {
		size_t k = 0;

		while (allowed[k] && strcmp(allowed[k], qs->params[i].name))
			k++;
		if (!allowed[k]) {
			api_params_list(allowed, known, sizeof(known));
			xs_http_reply_json_error(req, 400, "%.64s: unknown parameter (known: %s)",
						 qs->params[i].name, known);
			return false;
		}
	}
	return true;
}

void api_estate(const struct xs_api *a, struct xs_estate *e, bool with_status)
{
	memset(e, 0, sizeof(*e));
	a->p.estate(a->p.arg, e, with_status);
}

static void api_self(const struct xs_api *a, struct xs_prom_self *st)
{
	struct xs_http_stats hs;

	memset(st, 0, sizeof(*st));
	if (a->p.self)
		a->p.self(a->p.arg, st);
	xs_http_server_stats(a->srv, &hs);
	st->http_requests_total = hs.requests;
	st->http_held_bytes = hs.held_bytes;
	st->http_stream_queued_bytes = hs.stream_queued_bytes;
	st->http_busy_total = hs.held_refused;
	st->http_connections_open = hs.connections_open;
	st->http_max_connections = a->max_connections;
}

enum xs_err api_reply_buf(struct xs_http_request *req, const char *type, struct xs_buf *b,
			  enum xs_err rc, const char *err)
{
	if (rc) {
		xs_buf_free(b);
		return api_fail(req, rc, err);
	}
	return xs_http_reply(req, 200, type, b);
}

/* ---- handlers ---- */

/* A /metrics body on its way: what the pulled reply owns. */
struct api_metrics_body {
	struct xs_api *api;
	struct xs_prom_body *body;
};

static enum xs_err api_metrics_pull(void *arg, char *buf, size_t max, size_t *n)
{
	struct api_metrics_body *m = arg;

	return xs_prom_body_read(m->body, buf, max, n);
}

static void api_metrics_free(void *arg)
{
	struct api_metrics_body *m = arg;

	m->api->metrics_sending--;
	xs_prom_body_free(&m->body);
	free(m);
}

/*
 * /metrics: what reads the store and the estate runs here, inside the lock;
 * the lines (about two thirds of the work, 170 MB at 20,000 VMs) are made
 * as the client takes them, outside it (query/prom.h). A body holds about
 * 40 bytes per series until its client has read it all, so only
 * metrics_max of them are sent at once: a client that reads slowly (or not
 * at all) cannot make the daemon hold one per connection.
 */
static enum xs_err api_metrics_reply(struct xs_http_request *req, struct xs_api *a,
				     const struct xs_estate *e, const struct xs_prom_self *self,
				     const struct xs_prom_filter *filter)
{
	static const char type[] = "text/plain; version=0.0.4; charset=utf-8";
	bool gzip = xs_http_accepts_gzip(xs_http_header(req, "Accept-Encoding"));
	struct api_metrics_body *m;
	struct xs_gzip_pull *gz;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;
	long pool;

	/* a pool no section names: 404, for a HEAD too */
	rc = xs_prom_filter_pool(e, filter, &pool, err);
	if (rc)
		return api_fail(req, rc, err);
	if (a->metrics_sending >= a->metrics_max) {
		xs_http_set_header(req, "Retry-After", "1");
		return xs_http_reply_json_error(req, 503, "/metrics: %u answers are being sent already",
						a->metrics_sending);
	}
	m = xs_xcalloc(1, sizeof(*m));
	m->api = a;
	/* the headers alone for a HEAD: no body to make */
	rc = xs_http_is_head(req) ? XS_OK : xs_prom_body_start(e, self, filter, &m->body, err);
	if (rc) {
		free(m);
		return api_fail(req, rc, err);
	}
	a->metrics_sending++;
	xs_http_set_header(req, "Vary", "Accept-Encoding");
	if (gzip && xs_http_is_head(req)) /* the same headers as the GET, no zlib state */
		xs_http_set_header(req, "Content-Encoding", "gzip");
	if (!gzip || xs_http_is_head(req))
		return xs_http_reply_pull(req, 200, type, api_metrics_pull, api_metrics_free, m);
	/* gzip (Prometheus and vmagent ask for it): 173 MB become about 23 at 20,000 VMs,
	 * for about 1 s more of this thread's CPU, outside the lock */
	gz = xs_gzip_pull_new(api_metrics_pull, api_metrics_free, m);
	if (!gz)
		return xs_http_reply_json_error(req, 503, "/metrics: out of memory for gzip");
	xs_http_set_header(req, "Content-Encoding", "gzip");
	return xs_http_reply_pull(req, 200, type, xs_gzip_pull, xs_gzip_pull_free, gz);
}

/* The three whole-estate views: the estate with its collection status; no parameters
 * but /metrics' pool and kind (a shard of it). */
enum api_view { API_OBJECTS, API_STATUS, API_METRICS };

static enum xs_err api_view(struct xs_http_request *req, struct xs_api *a, enum api_view v)
{
	static const char *const none[] = { NULL };
	static const char *const shard[] = { "pool", "kind", NULL }; /* /metrics: prom.h */
	struct xs_prom_filter filter = { xs_http_param(req, "pool"), 0 };
	const char *kind = xs_http_param(req, "kind");
	struct xs_prom_self self;
	struct xs_estate e;
	struct xs_buf b;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (!api_params_known(req, v == API_METRICS ? shard : none))
		return XS_OK;
	if (v == API_METRICS && kind && xs_prom_kinds_parse(kind, &filter.kinds, err))
		return xs_http_reply_json_error(req, 400, "%s", err);
	if (v == API_METRICS && filter.pool && (!*filter.pool || strlen(filter.pool) > XS_PROM_POOL_MAX))
		return xs_http_reply_json_error(req, 400, "pool: %s (a pool section's name, or a "
						"pool's uuid)", *filter.pool ? "too long" : "empty");
	api_estate(a, &e, true);
	if (v != API_OBJECTS)
		api_self(a, &self);
	if (v == API_METRICS)
		return api_metrics_reply(req, a, &e, &self, &filter);
	xs_buf_init(&b, XS_API_MAX_STATS_BODY);
	if (v == API_OBJECTS)
		rc = xs_query_objects(&e, &b, err);
	else
		rc = xs_query_status(&e, &self, &b, err);
	return api_reply_buf(req, XS_HTTP_JSON, &b, rc, err);
}

static enum xs_err api_objects(struct xs_http_request *req, void *arg)
{
	return api_view(req, arg, API_OBJECTS);
}

static enum xs_err api_status(struct xs_http_request *req, void *arg)
{
	return api_view(req, arg, API_STATUS);
}

static enum xs_err api_metrics(struct xs_http_request *req, void *arg)
{
	return api_view(req, arg, API_METRICS);
}

/* The stats request of a stats URL's parameters; false once a 400 is sent. */
static bool api_stats_request(const struct xs_api *a, struct xs_http_request *req,
			      struct xs_stats_request *r)
{
	static const char *const allowed[] = { "granularity", "from", "to", "points", NULL };
	const struct xs_qs *qs = xs_http_params(req);
	const char *g = xs_http_param(req, "granularity");
	bool range = xs_http_param(req, "from") || xs_http_param(req, "to");
	char err[XS_ERR_LEN] = "";
	int64_t points = 0;

	if (!api_params_known(req, allowed))
		return false;
	memset(r, 0, sizeof(*r));
	memcpy(r->retention, a->retention, sizeof(r->retention));
	if (range) {
		if (g) {
			xs_http_reply_json_error(req, 400, "granularity: give either granularity or from and to, "
						 "not both");
			return false;
		}
		if (!xs_http_param(req, "from") || !xs_http_param(req, "to")) {
			xs_http_reply_json_error(req, 400, "%s: missing (a range needs from and to)",
						 xs_http_param(req, "from") ? "to" : "from");
			return false;
		}
		r->granularity = XS_STATS_RANGE;
		if (xs_qs_get_i64(qs, "from", 0, INT64_C(1) << 40, 0, &r->from, err) ||
		    xs_qs_get_i64(qs, "to", 0, INT64_C(1) << 40, 0, &r->to, err) ||
		    xs_qs_get_i64(qs, "points", 1, XS_STATS_MAX_POINTS, XS_STATS_DEFAULT_POINTS, &points,
				  err)) {
			xs_http_reply_json_error(req, 400, "%s", err);
			return false;
		}
		if (r->from > r->to) {
			xs_http_reply_json_error(req, 400, "from: %lld is after to (%lld)", (long long)r->from,
						 (long long)r->to);
			return false;
		}
		r->points = (unsigned)points;
		return true;
	}
	if (xs_http_param(req, "points")) {
		xs_http_reply_json_error(req, 400, "points: only with from and to");
		return false;
	}
	if (xs_stats_granularity_parse(g ? g : "seconds", &r->granularity, err)) {
		xs_http_reply_json_error(req, 400, "%s", err);
		return false;
	}
	return true;
}

static enum xs_err api_object(struct xs_http_request *req, void *arg)
{
	const struct api_route *rt = arg;
	const char *rest = xs_http_path_rest(req), *slash = strchr(rest, '/');
	char uuid[API_UUID_MAX];
	struct xs_stats_request r;
	struct xs_estate e;
	struct xs_buf b;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (!slash || slash == rest || strcmp(slash, "/stats"))
		return xs_http_reply_json_error(req, 404, "no such path: /api/v1/%s/UUID/stats is served",
						rt->kind);
	if ((size_t)(slash - rest) >= sizeof(uuid))
		return xs_http_reply_json_error(req, 400, "uuid: %zu bytes, over the %zu a uuid may have",
						(size_t)(slash - rest), sizeof(uuid) - 1);
	memcpy(uuid, rest, (size_t)(slash - rest));
	uuid[slash - rest] = '\0';
	xs_uuid_fold(uuid);
	if (!api_stats_request(rt->api, req, &r))
		return XS_OK;
	/* a pool's reply needs the collector's status: which hosts stopped answering */
	api_estate(rt->api, &e, !strcmp(rt->kind, "pools"));
	xs_buf_init(&b, XS_API_MAX_STATS_BODY);
	rc = xs_query_stats(&e, rt->kind, uuid, &r, &b, err);
	return api_reply_buf(req, XS_HTTP_JSON, &b, rc, err);
}

/* ---- life ---- */

static void api_access(const struct xs_http_access *acc, void *arg)
{
	/* a token given as a parameter never reaches the log: the server cut the query off */
	(void)arg;
	xs_log_debug("http %s %s %u %llu bytes %.1f ms", acc->method, acc->target, acc->status,
		     (unsigned long long)acc->bytes, acc->seconds * 1e3);
}

/* Adds a GET route (a prefix one when prefix) whose handler runs between enter and leave. */
static enum xs_err api_route_add(struct xs_api *a, const char *path, bool prefix, xs_http_handler fn,
				 void *arg)
{
	struct api_guarded *g;

	if (a->nguarded == API_ROUTES)
		return XS_ERR_ARG;
	g = &a->guarded[a->nguarded++];
	*g = (struct api_guarded){ a, fn, arg };
	return prefix ? xs_http_server_route_prefix(a->srv, "GET", path, api_guarded_cb, g)
		      : xs_http_server_route(a->srv, "GET", path, api_guarded_cb, g);
}

enum xs_err xs_api_start(struct xs_evloop *loop, const struct xs_api_config *cfg,
			 const struct xs_api_provider *p, struct xs_api **out, char *err)
{
	struct xs_api *a = xs_xcalloc(1, sizeof(*a));
	struct xs_http_server_config hc = cfg->http;
	enum xs_err rc;

	a->loop = loop;
	api_top_init(a);
	a->p = *p;
	a->metrics_max = cfg->metrics_in_flight ? cfg->metrics_in_flight : XS_API_METRICS_IN_FLIGHT;
	a->max_connections = cfg->http.max_connections ? cfg->http.max_connections
						       : XS_HTTP_DEFAULT_MAX_CONNECTIONS;
	a->stream_stall = cfg->stream_stall > 0 ? cfg->stream_stall : XS_API_STREAM_STALL;
	a->stream_tick_bytes = cfg->stream_tick_bytes ? cfg->stream_tick_bytes : XS_API_STREAM_TICK_BYTES;
	a->stream_tick_slice = cfg->stream_tick_slice > 0 ? cfg->stream_tick_slice
							  : XS_API_STREAM_TICK_SLICE;
	memcpy(a->retention, cfg->retention, sizeof(a->retention));
	if (!hc.access_cb) {
		hc.access_cb = api_access;
		hc.access_arg = a;
	}
	rc = xs_http_server_start(loop, &hc, &a->srv, err);
	if (rc) {
		api_top_free(a);
		free(a);
		return rc;
	}
	if (a->p.defer) { /* the provider's thread wakes this one when it answered a top-N */
		rc = api_top_start(a, err);
		if (rc) {
			xs_api_free(&a);
			return rc;
		}
	}
	for (int k = 0; k < 4; k++) {
		char path[32];

		a->routes[k] = (struct api_route){ a, api_kinds[k] };
		snprintf(path, sizeof(path), "/api/v1/%s/", api_kinds[k]);
		rc = api_route_add(a, path, true, api_object, &a->routes[k]);
		if (rc)
			break;
	}
	if (!rc)
		rc = api_route_add(a, "/api/v1/objects", false, api_objects, a);
	if (!rc)
		rc = api_route_add(a, "/api/v1/status", false, api_status, a);
	if (!rc)
		rc = xs_http_server_route(a->srv, "GET", "/api/v1/top", api_top, a); /* locks itself */
	if (!rc)
		rc = api_route_add(a, "/api/v1/stream", false, api_stream, a);
	if (!rc)
		rc = api_route_add(a, "/metrics", false, api_metrics, a);
	if (rc) {
		xs_err_set(err, rc, "api: cannot add its routes");
		xs_api_free(&a);
		return rc;
	}
	*out = a;
	return XS_OK;
}

enum xs_err xs_api_set_token(struct xs_api *a, const char *token, char *err)
{
	return xs_http_server_set_token(a->srv, token, err);
}

void xs_api_free(struct xs_api **ap)
{
	struct xs_api *a = ap ? *ap : NULL;

	if (!a)
		return;
	if (a->p.defer) /* a refresh asked for and not yet run would find a freed a */
		a->p.defer(a->p.lock_arg, NULL, NULL);
	/* the server calls every stream's on_close, which drops it, and lets parked
	 * requests complete */
	xs_http_server_free(&a->srv);
	api_stream_free(a);
	api_top_free(a);
	free(a);
	*ap = NULL;
}

uint16_t xs_api_port(const struct xs_api *a)
{
	return xs_http_server_port(a->srv);
}

void xs_api_http_stats(const struct xs_api *a, struct xs_http_stats *st)
{
	xs_http_server_stats(a->srv, st);
}
