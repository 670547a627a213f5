/*
 * api.c - the routes of the HTTP API and the live stream (see api.h).
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
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "query/objects.h"
#include "query/status.h"
#include "query/top.h"
#include "query/xo_stats.h"
#include "serve/api.h"
#include "serve/stream_request.h"

#define API_STREAM_TICK 0.5        /* seconds between looks for new rows */
#define API_STREAM_KEEPALIVE 15.0  /* seconds of silence before a comment line */
#define API_STREAM_BACK 600        /* seconds a reconnecting client may catch up */
#define API_STREAM_RETRY_MS 2000   /* reconnection delay suggested to clients */
#define API_STREAM_BUSY_RETRY_MS 5000 /* the same, to a client turned away (too many streams) */
#define API_STREAM_EVENT_ROWS 12   /* 5 s rows of one object in one event, at most (a minute) */
#define API_STREAM_TICK_BYTES (256u * 1024) /* event bytes a stream queues in one tick, about */
#define API_CURSOR_LEN XS_STREAM_CURSOR_LEN(XS_API_MAX_STREAM_OBJECTS)
#define API_UUID_MAX XS_STREAM_UUID_MAX
#define API_KNOWN_LEN 128          /* bytes of a route's parameter list in an error */
#define API_TOP_PARKED_MAX 64      /* top-N requests parked at once; past it, computed by the request */
#define API_TOP_PARK_MAX 1.0       /* seconds a parked top-N request waits for its answer at most */
#define API_TOP_PARK_CHECK 0.25    /* seconds between looks at parked requests' time */

static const char *const api_kinds[] = { "vms", "hosts", "srs", "pools" };

struct api_route {
	struct xs_api *api;
	const char *kind;  /* "vms", "hosts", "srs", "pools" */
};

/* A route's handler, called between the provider's enter and leave. */
struct api_guarded {
	struct xs_api *api;
	xs_http_handler fn;
	void *arg;
};

#define API_ROUTES 9

struct api_sub {
	char uuid[API_UUID_MAX];
	enum xs_obj_kind kind;  /* XS_OBJ_VM or XS_OBJ_HOST */
	bool gone;              /* nobody knows it: told once with `event: gone`, never sent */
	int64_t last;           /* newest 5 s time sent */
	int64_t newest;         /* newest 5 s time stored, as of this tick */
};

struct api_stream {
	struct xs_api *api;
	struct xs_http_stream *hs;
	struct api_sub *subs;
	size_t nsubs;
	size_t next;            /* the sub served first next tick */
	double last_write;
	double waiting;         /* loop time since an event waits for room and nothing was read; 0 = none */
	size_t wait_pending;    /* the bytes pending then */
	bool cut;               /* cut (a write failed, or it stalled): on_close comes from the loop */
};

/* A top-N question, as asked (kind and metric are short names when valid). */
struct api_top_q {
	char kind[17], metric[17], pool[65];
	long n;
};

/* A top-N question and its answer, reused for XS_API_TOP_TTL seconds, and for up to
 * XS_API_TOP_STALE while the provider's thread computes the next one (api_top). */
struct api_top {
	struct api_top_q q;   /* the question */
	bool used;            /* the slot holds q (with an answer or waiting for one) */
	double at;            /* loop time the answer was stored; 0 = none yet */
	double asked;         /* loop time of the latest request for it */
	bool wanted;          /* a new answer is asked of the provider's defer */
	struct xs_buf body;
};

/* A top-N request parked until the provider's thread has answered its question. */
struct api_top_parked {
	struct xs_http_request *req;
	struct api_top_q q;
	double since;         /* loop time it was parked */
};

struct xs_api {
	struct xs_evloop *loop;
	/* The remembered top-N answers: read by the API's thread, written by it and
	 * by the deferred refresh on the provider's thread, under top_mu. */
	pthread_mutex_t top_mu;
	struct api_top top[XS_API_TOP_CACHE];
	size_t top_next;      /* the slot the next answer replaces */
	/* top-N requests waiting for the provider's thread (the API's thread only), the
	 * eventfd that thread writes once it stored or forgot an answer, a timer while
	 * any waits */
	struct api_top_parked parked[API_TOP_PARKED_MAX];
	size_t nparked;
	int top_fd;
	uint64_t park_timer;
	struct xs_http_server *srv;
	struct xs_api_provider p;
	int64_t retention[XS_NTIERS];
	struct api_route routes[4];
	struct api_guarded guarded[API_ROUTES];
	size_t nguarded;
	struct api_stream **streams;
	size_t nstreams;
	unsigned metrics_max;     /* /metrics bodies allowed in flight */
	unsigned metrics_sending; /* bodies started and not yet let go of by the server */
	double stream_stall;      /* seconds a stream may wait on a client that reads nothing */
	uint64_t timer;
};

/* ---- helpers ---- */

static void api_enter(const struct xs_api *a)
{
	if (a->p.enter)
		a->p.enter(a->p.lock_arg);
}

static void api_leave(const struct xs_api *a)
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

static enum xs_err api_fail(struct xs_http_request *req, enum xs_err rc, const char *err)
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
static bool api_params_known(struct xs_http_request *req, const char *const *allowed)
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

static void api_estate(const struct xs_api *a, struct xs_estate *e, bool with_status)
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
	st->http_busy_total = hs.held_refused;
}

static enum xs_err api_reply_buf(struct xs_http_request *req, const char *type, struct xs_buf *b,
				 enum xs_err rc, const char *err)
{
	if (rc) {
		xs_buf_free(b);
		return api_fail(req, rc, err);
	}
	return xs_http_reply(req, 200, type, b);
}

/* The answer remembered for q, or NULL; under top_mu. */
static struct api_top *api_top_find(struct xs_api *a, const struct api_top_q *q)
{
	for (size_t i = 0; i < XS_API_TOP_CACHE; i++) {
		const struct api_top_q *t = &a->top[i].q;

		if (a->top[i].used && t->n == q->n && !strcmp(t->kind, q->kind) &&
		    !strcmp(t->metric, q->metric) && !strcmp(t->pool, q->pool))
			return &a->top[i];
	}
	return NULL;
}

/* The slot that takes a new question, in place of the oldest (round robin): emptied,
 * asked now; under top_mu. */
static struct api_top *api_top_take_slot(struct xs_api *a)
{
	struct api_top *t = &a->top[a->top_next];

	a->top_next = (a->top_next + 1) % XS_API_TOP_CACHE;
	t->used = t->wanted = false;
	t->at = 0;
	t->asked = xs_evloop_now();
	xs_buf_free(&t->body);
	xs_buf_init(&t->body, XS_API_MAX_STATS_BODY);
	return t;
}

/* Keeps a copy of body as the answer to q in q's slot, or if it has none and insert,
 * in a slot taken for it (api_top_take_slot); body NULL forgets q (slot and answer). */
static void api_top_remember(struct xs_api *a, const struct api_top_q *q, const struct xs_buf *body,
			     bool insert)
{
	struct api_top *t;

	pthread_mutex_lock(&a->top_mu);
	t = api_top_find(a, q);
	if (!t && body && insert)
		t = api_top_take_slot(a);
	if (t) {
		t->used = t->wanted = false;
		t->at = 0;
		xs_buf_free(&t->body);
		xs_buf_init(&t->body, XS_API_MAX_STATS_BODY);
	}
	if (t && body && !xs_buf_append(&t->body, body->data, body->len)) {
		t->q = *q;
		t->used = true;
		t->at = xs_evloop_now();
	}
	pthread_mutex_unlock(&a->top_mu);
}

/* The answer into b under the lock (the caller's); *b initialized here. deferred: on the
 * provider's thread, which may let the API's handlers run now and then (its yield). */
static enum xs_err api_top_compute(struct xs_api *a, const char *kind, const char *metric, long n,
				   const char *pool, bool deferred, struct xs_buf *b, char *err)
{
	struct xs_estate e;

	xs_buf_init(b, XS_API_MAX_STATS_BODY);
	api_estate(a, &e, false);
	if (deferred) {
		e.yield = a->p.yield;
		e.yield_arg = a->p.lock_arg;
	}
	return xs_query_top(&e, kind, metric, n, pool && *pool ? pool : NULL, b, err);
}

/*
 * The provider's deferred work (its thread, inside the lock): a new answer to one
 * wanted question (a request parked for it, or one that found its answer past
 * XS_API_TOP_TTL), then asked again for the next such question, if any, so that
 * the provider's own work runs in between. An answer whose slot was taken
 * meanwhile is dropped; one that fails now is forgotten, so that the next
 * request asks it afresh and gets the error. Then the API's thread is woken to
 * let parked requests go (api_top_woken).
 */
static void api_top_refresh(void *arg)
{
	struct xs_api *a = arg;
	struct api_top_q q;
	char err[XS_ERR_LEN] = "";
	struct xs_buf b;
	size_t wanted = 0;
	enum xs_err rc;

	/* the first wanted question, and whether others wait (one wanted later comes with
	 * its own defer) */
	pthread_mutex_lock(&a->top_mu);
	for (size_t i = 0; i < XS_API_TOP_CACHE; i++) {
		if (!(a->top[i].used && a->top[i].wanted))
			continue;
		if (wanted++ == 0)
			q = a->top[i].q;
	}
	pthread_mutex_unlock(&a->top_mu);
	if (!wanted)
		return;
	rc = api_top_compute(a, q.kind, q.metric, q.n, q.pool, true, &b, err);
	api_top_remember(a, &q, rc ? NULL : &b, false);
	xs_buf_free(&b);
	if (wanted > 1)
		a->p.defer(a->p.lock_arg, api_top_refresh, a);
	if (a->top_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(a->top_fd, &one, sizeof(one)); /* EAGAIN: a wake-up is pending */

		(void)w;
	}
}

/*
 * Lets parked requests go whose question is no longer wanted (answered, failed
 * or its slot taken: the handler, called again, serves the answer or computes
 * it) or that waited API_TOP_PARK_MAX (all of them when all). The API's thread.
 */
static void api_top_unpark(struct xs_api *a, bool all)
{
	struct xs_http_request *go[API_TOP_PARKED_MAX];
	double now = xs_evloop_now();
	size_t ngo = 0, keep = 0;

	pthread_mutex_lock(&a->top_mu);
	for (size_t i = 0; i < a->nparked; i++) {
		const struct api_top *t = api_top_find(a, &a->parked[i].q);

		if (!all && t && t->wanted && now - a->parked[i].since < API_TOP_PARK_MAX)
			a->parked[keep++] = a->parked[i];
		else
			go[ngo++] = a->parked[i].req;
	}
	a->nparked = keep;
	pthread_mutex_unlock(&a->top_mu);
	for (size_t i = 0; i < ngo; i++)
		xs_http_unpark(go[i]);
}

static void api_top_woken(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof(n)); /* EAGAIN: read by an earlier wake-up */

	(void)loop;
	(void)events;
	(void)r;
	api_top_unpark(arg, false);
}

static void api_top_park_timer(struct xs_evloop *loop, void *arg)
{
	struct xs_api *a = arg;

	a->park_timer = 0;
	api_top_unpark(a, false);
	if (a->nparked)
		a->park_timer = xs_evloop_add_timer(loop, API_TOP_PARK_CHECK, api_top_park_timer, a);
}

/* Parks req until the provider's thread has answered q (asking it when ask); false
 * when it cannot be parked (then the request computes the answer itself). */
static bool api_top_park(struct xs_api *a, struct xs_http_request *req, const struct api_top_q *q,
			 bool ask)
{
	bool parked = a->nparked < API_TOP_PARKED_MAX && xs_http_park(req) == XS_OK;

	if (parked) {
		pthread_mutex_lock(&a->top_mu);
		a->parked[a->nparked++] = (struct api_top_parked){ req, *q, xs_evloop_now() };
		pthread_mutex_unlock(&a->top_mu);
		if (!a->park_timer)
			a->park_timer = xs_evloop_add_timer(a->loop, API_TOP_PARK_CHECK,
							    api_top_park_timer, a);
	}
	if (ask) /* even when not parked: the question is marked wanted */
		a->p.defer(a->p.lock_arg, api_top_refresh, a);
	return parked;
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
				     const struct xs_estate *e, const struct xs_prom_self *self)
{
	struct api_metrics_body *m;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (a->metrics_sending >= a->metrics_max) {
		xs_http_set_header(req, "Retry-After", "1");
		return xs_http_reply_json_error(req, 503, "/metrics: %u answers are being sent already",
						a->metrics_sending);
	}
	m = xs_xcalloc(1, sizeof(*m));
	m->api = a;
	if (xs_http_is_head(req)) { /* the headers alone: no body to make */
		a->metrics_sending++;
		return xs_http_reply_pull(req, 200, "text/plain; version=0.0.4; charset=utf-8",
					  api_metrics_pull, api_metrics_free, m);
	}
	rc = xs_prom_body_start(e, self, &m->body, err);
	if (rc) {
		free(m);
		return api_fail(req, rc, err);
	}
	a->metrics_sending++;
	return xs_http_reply_pull(req, 200, "text/plain; version=0.0.4; charset=utf-8", api_metrics_pull,
				  api_metrics_free, m);
}

/* The three whole-estate views: no parameters, the estate with its collection status. */
enum api_view { API_OBJECTS, API_STATUS, API_METRICS };

static enum xs_err api_view(struct xs_http_request *req, struct xs_api *a, enum api_view v)
{
	static const char *const allowed[] = { NULL };
	struct xs_prom_self self;
	struct xs_estate e;
	struct xs_buf b;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (!api_params_known(req, allowed))
		return XS_OK;
	api_estate(a, &e, true);
	if (v != API_OBJECTS)
		api_self(a, &self);
	if (v == API_METRICS)
		return api_metrics_reply(req, a, &e, &self);
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

/*
 * Runs outside the lock (registered unguarded): a remembered answer is the
 * API's own memory, so a hit never waits for the collector. With a provider
 * that defers, no ranking runs on this thread (over 20,000 VMs one takes
 * 14-40 ms, during which every other request would wait):
 *   - an answer under XS_API_TOP_TTL old is served;
 *   - past that, a busy question (asked again within XS_API_TOP_TTL of the
 *     previous request for it) gets the same answer for up to
 *     XS_API_TOP_STALE while a new one is computed on the provider's thread;
 *   - otherwise (a first question, one asked less often, an answer past
 *     that) the request is parked while the provider's thread computes the
 *     answer, and served it then, so an occasional poller always gets a
 *     fresh answer. It computes the answer itself only when called again
 *     without one (the computation failed, or its slot was taken), after
 *     API_TOP_PARK_MAX, or with API_TOP_PARKED_MAX requests parked already.
 * Without defer, the request computes the answer under the lock.
 */
static enum xs_err api_top(struct xs_http_request *req, void *arg)
{
	static const char *const allowed[] = { "kind", "metric", "n", "pool", NULL };
	struct xs_api *a = arg;
	const char *kind = xs_http_param(req, "kind"), *metric = xs_http_param(req, "metric");
	const char *pool = xs_http_param(req, "pool");
	struct api_top_q q = { 0 };
	struct api_top *slot;
	struct xs_buf b;
	char err[XS_ERR_LEN] = "";
	bool ask = false, serve = false, park, cacheable;
	int64_t n;
	enum xs_err rc;

	if (!api_params_known(req, allowed))
		return XS_OK;
	rc = xs_qs_get_i64(xs_http_params(req), "n", 1, XS_TOP_MAX_N, XS_TOP_DEFAULT_N, &n, err);
	if (rc)
		return api_fail(req, rc, err);
	kind = kind ? kind : "vm";
	metric = metric ? metric : "cpu";
	pool = pool ? pool : "";
	/* a question too long for q is no valid one: answered (its error) but not remembered */
	cacheable = strlen(kind) < sizeof(q.kind) && strlen(metric) < sizeof(q.metric) &&
		    strlen(pool) < sizeof(q.pool);
	if (cacheable) {
		snprintf(q.kind, sizeof(q.kind), "%s", kind);
		snprintf(q.metric, sizeof(q.metric), "%s", metric);
		snprintf(q.pool, sizeof(q.pool), "%s", pool);
		q.n = (long)n;
	}
	pthread_mutex_lock(&a->top_mu);
	slot = cacheable ? api_top_find(a, &q) : NULL;
	if (slot) {
		double now = xs_evloop_now(), age = now - slot->at;
		bool busy = now - slot->asked < XS_API_TOP_TTL;

		slot->asked = now;
		serve = slot->at > 0 &&
			(age < XS_API_TOP_TTL || (a->p.defer && busy && age < XS_API_TOP_STALE));
		if (serve && age >= XS_API_TOP_TTL && !slot->wanted)
			ask = slot->wanted = true;
	}
	if (serve) {
		rc = xs_http_reply_copy(req, 200, XS_HTTP_JSON, slot->body.data, slot->body.len);
		pthread_mutex_unlock(&a->top_mu);
		if (ask)
			a->p.defer(a->p.lock_arg, api_top_refresh, a);
		return rc;
	}
	park = cacheable && a->p.defer && !xs_http_unparked(req) && a->nparked < API_TOP_PARKED_MAX;
	if (park) {
		if (!slot) {
			slot = api_top_take_slot(a);
			slot->q = q;
			slot->used = true;
		}
		if (!slot->wanted)
			ask = slot->wanted = true;
	}
	pthread_mutex_unlock(&a->top_mu);
	if (park && api_top_park(a, req, &q, ask))
		return XS_OK;
	api_enter(a);
	rc = api_top_compute(a, kind, metric, (long)n, pool, false, &b, err);
	api_leave(a);
	if (cacheable) /* a failure forgets the old answer: never served again after an error */
		api_top_remember(a, &q, rc ? NULL : &b, !rc);
	return api_reply_buf(req, XS_HTTP_JSON, &b, rc, err);
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

	if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof(uuid) || strcmp(slash, "/stats"))
		return xs_http_reply_json_error(req, 404, "no such path: /api/v1/%s/UUID/stats is served",
						rt->kind);
	memcpy(uuid, rest, (size_t)(slash - rest));
	uuid[slash - rest] = '\0';
	if (!api_stats_request(rt->api, req, &r))
		return XS_OK;
	/* a pool's reply needs the collector's status: which hosts stopped answering */
	api_estate(rt->api, &e, !strcmp(rt->kind, "pools"));
	xs_buf_init(&b, XS_API_MAX_STATS_BODY);
	rc = xs_query_stats(&e, rt->kind, uuid, &r, &b, err);
	return api_reply_buf(req, XS_HTTP_JSON, &b, rc, err);
}

/* ---- the live stream ---- */

static void api_stream_drop(struct xs_api *a, struct api_stream *st)
{
	for (size_t i = 0; i < a->nstreams; i++)
		if (a->streams[i] == st) {
			a->streams[i] = a->streams[--a->nstreams];
			break;
		}
	free(st->subs);
	free(st);
	if (!a->nstreams && a->timer) {
		xs_evloop_cancel_timer(a->loop, a->timer);
		a->timer = 0;
	}
}

static void api_stream_closed(struct xs_http_stream *hs, void *arg)
{
	struct api_stream *st = arg;

	(void)hs;
	api_stream_drop(st->api, st);
}

struct api_newest {
	const struct xs_store *store;
	int64_t t;
};

static void api_newest_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct api_newest *n = arg;
	int64_t t;
	float v;

	(void)ds;
	(void)unit;
	if (xs_store_latest(n->store, id, &t, &v) && t > n->t)
		n->t = t;
}

/* Newest 5 s time stored of the object; 0 if none (or gone). */
static int64_t api_newest(const struct xs_store *store, const struct api_sub *sub)
{
	struct api_newest n = { store, 0 };

	if (store && !sub->gone)
		xs_store_each_of(store, sub->kind, sub->uuid, api_newest_cb, &n);
	return n.t;
}

static void api_count_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	(void)id;
	(void)ds;
	(void)unit;
	(*(size_t *)arg)++;
}

/* Whether the store holds series of uuid as kind (a VM deleted from the topology, a
 * host before its pool's topology is loaded). */
static bool api_stored(const struct xs_store *store, enum xs_obj_kind kind, const char *uuid)
{
	size_t n = 0;

	if (store)
		xs_store_each_of(store, kind, uuid, api_count_cb, &n);
	return n > 0;
}

/* The stream's cursor (stream_request.h) of st's subs into out (API_CURSOR_LEN bytes). */
static void api_cursor_format(const struct api_stream *st, char *out)
{
	int64_t last[XS_API_MAX_STREAM_OBJECTS];

	for (size_t k = 0; k < st->nsubs; k++)
		last[k] = st->subs[k].last;
	xs_stream_cursor_format(last, st->nsubs, out);
}

/* Sets every sub's last: after the client's last event, or (none, or an id that
 * means nothing here) before the object's newest row. */
static void api_stream_resume(struct api_stream *st, const struct xs_store *store, const char *leid)
{
	int64_t *cur = xs_xcalloc(st->nsubs, sizeof(*cur));
	bool cursor = leid && xs_stream_cursor_parse(leid, st->nsubs, cur);
	int64_t id = 0;
	bool integer = leid && !cursor && xs_stream_id_integer(leid, &id);

	for (size_t k = 0; k < st->nsubs; k++) {
		int64_t newest = api_newest(store, &st->subs[k]);

		if (cursor) /* what this client has, even past what the store holds now */
			st->subs[k].last = cur[k];
		else if (integer && id <= newest)
			st->subs[k].last = id; /* an integer id (older daemons): one time for all */
		else
			st->subs[k].last = newest ? newest - 5 : 0;
	}
	free(cur);
}

/*
 * The event of sub's rows from..to into ev (its limit: the stream's whole queue),
 * its id the cursor with sub->last = to (what the client has once it got it);
 * sub->last itself is left as it was. XS_ERR_TOO_LARGE past ev's limit, or the
 * query's error.
 */
static enum xs_err api_stream_event(struct api_stream *st, const struct xs_estate *e, struct api_sub *sub,
				    int64_t from, int64_t to, struct xs_buf *ev, char *err)
{
	struct xs_stats_request r;
	struct xs_buf body;
	char id[API_CURSOR_LEN];
	int64_t last = sub->last;
	enum xs_err rc;

	memset(&r, 0, sizeof(r));
	memcpy(r.retention, st->api->retention, sizeof(r.retention));
	r.granularity = XS_STATS_RANGE;
	r.from = from;
	r.to = to;
	r.points = XS_STATS_MAX_POINTS;
	xs_buf_init(&body, ev->limit);
	sub->last = to;
	api_cursor_format(st, id);
	sub->last = last;
	rc = xs_query_stats(e, sub->kind == XS_OBJ_VM ? "vms" : "hosts", sub->uuid, &r, &body, err);
	if (!rc && (body.len < 2 || body.data[0] != '{'))
		rc = xs_err_set(err, XS_ERR_PARSE, "not an object");
	if (!rc && (xs_buf_printf(ev, "event: stats\nid: %s\ndata: {\"uuid\":\"%s\",\"kind\":\"%s\",", id,
				  sub->uuid, sub->kind == XS_OBJ_VM ? "vm" : "host") ||
		    xs_buf_append(ev, body.data + 1, body.len - 1) || xs_buf_append_str(ev, "\n\n")))
		rc = xs_err_set(err, XS_ERR_TOO_LARGE, "the event would pass %zu bytes", ev->limit);
	xs_buf_free(&body);
	return rc;
}

enum api_sent { API_SENT, API_WAIT, API_CUT };

/*
 * Queues sub's next event: its rows after sub->last, at most
 * API_STREAM_EVENT_ROWS of them, so a catch-up of many rows goes in several
 * events, each moving the client's cursor. API_WAIT when the queue has no room
 * for it yet (the next tick builds it again); an event that could never fit
 * even the empty queue (one row too large) is left out, and the client is
 * told nothing of those rows but a gap in times.
 */
static enum api_sent api_stream_send(struct api_stream *st, const struct xs_estate *e, struct api_sub *sub,
				     size_t *sent)
{
	size_t room = xs_http_stream_room(st->hs), cap = room + xs_http_stream_pending(st->hs);
	int64_t from = sub->last + 5 > sub->newest - API_STREAM_BACK + 5 ? sub->last + 5
									 : sub->newest - API_STREAM_BACK + 5;
	int64_t rows = API_STREAM_EVENT_ROWS, to;
	char err[XS_ERR_LEN] = "";
	enum api_sent res = API_SENT;
	struct xs_buf ev;
	enum xs_err rc;

	if (!room)
		return API_WAIT; /* a full queue, or a stream ending */
	for (;;) {
		to = from + 5 * (rows - 1) < sub->newest ? from + 5 * (rows - 1) : sub->newest;
		xs_buf_init(&ev, cap);
		rc = api_stream_event(st, e, sub, from, to, &ev, err);
		if (!rc || rows == 1)
			break;
		rows = 1; /* too large a minute, or a query error: try the first row alone */
	}
	if (rc) {
		xs_log_warn("stream: %s: rows %lld to %lld left out: %s", sub->uuid, (long long)from,
			    (long long)to, err);
	} else if (ev.len > room) {
		res = API_WAIT;
	} else {
		res = xs_http_stream_write(st->hs, ev.data, ev.len) == XS_OK ? API_SENT : API_CUT;
		st->last_write = xs_evloop_now();
		st->waiting = 0;
		*sent += ev.len;
	}
	if (res != API_WAIT)
		sub->last = to;
	xs_buf_free(&ev);
	return res;
}

/*
 * An event of st waits for room: a client that has read nothing for
 * stream_stall seconds since is cut (it would hold its queue and its slot of
 * XS_API_MAX_STREAMS for good; a browser reconnects, and its cursor resumes
 * it). True if it was cut.
 */
static bool api_stream_stalled(struct api_stream *st)
{
	size_t pending = xs_http_stream_pending(st->hs);
	double now = xs_evloop_now();

	if (!st->waiting || pending < st->wait_pending) {
		st->waiting = now;
		st->wait_pending = pending;
		return false;
	}
	if (now - st->waiting <= st->api->stream_stall)
		return false;
	xs_log_info("stream: cut, its client read nothing for %.0f s", now - st->waiting);
	xs_http_stream_cut(st->hs);
	st->cut = true;
	return true;
}

/*
 * One tick of a stream: one event per object that has new rows, round after
 * round while some have more (a catch-up), until the queue has no room or
 * API_STREAM_TICK_BYTES went out; the object that waited goes first next tick,
 * so every object gets its turn. False if the stream was cut.
 */
static bool api_stream_tick(struct api_stream *st, const struct xs_estate *e)
{
	size_t sent = 0, k0 = st->next;
	bool more = true;

	for (size_t k = 0; k < st->nsubs; k++)
		st->subs[k].newest = api_newest(e->store, &st->subs[k]);
	while (more && sent < API_STREAM_TICK_BYTES) {
		more = false;
		for (size_t i = 0; i < st->nsubs && sent < API_STREAM_TICK_BYTES; i++) {
			size_t k = (k0 + i) % st->nsubs;
			struct api_sub *sub = &st->subs[k];
			enum api_sent res;

			if (sub->newest <= sub->last)
				continue;
			res = api_stream_send(st, e, sub, &sent);
			if (res == API_CUT) {
				st->cut = true;
				return false;
			}
			if (res == API_WAIT) {
				st->next = k;
				return !api_stream_stalled(st);
			}
			more |= sub->newest > sub->last;
			st->next = (k + 1) % st->nsubs;
		}
		k0 = st->next;
	}
	return true;
}

static void api_tick(struct xs_evloop *loop, void *arg)
{
	static const char ka[] = ": keep-alive\n\n";
	struct xs_api *a = arg;
	struct xs_estate e;
	double now = xs_evloop_now();

	(void)loop;
	a->timer = 0;
	api_enter(a);
	api_estate(a, &e, false);
	for (size_t i = 0; i < a->nstreams; i++) {
		struct api_stream *st = a->streams[i];

		/* a cut stream gets its on_close later, from the loop: nothing to do here */
		if (!st->cut && api_stream_tick(st, &e) && now - st->last_write > API_STREAM_KEEPALIVE &&
		    xs_http_stream_room(st->hs) >= sizeof(ka) - 1) {
			xs_http_stream_write(st->hs, ka, sizeof(ka) - 1);
			st->last_write = now;
		}
	}
	api_leave(a);
	if (a->nstreams)
		a->timer = xs_evloop_add_timer(a->loop, API_STREAM_TICK, api_tick, a);
}

/*
 * What sub->uuid is: a VM or host of a topology, else one the store holds series
 * of (as the stats routes accept it), else gone; false once a 400 is sent (a pool
 * or an SR). A uuid nobody knows is no error: the stream is a browser's
 * EventSource, which any status but 200 stops for good (WHATWG HTML, "fail the
 * connection"), so the other objects would stop with it.
 */
static bool api_stream_sub_kind(struct xs_http_request *req, const struct xs_estate *e,
				struct api_sub *sub)
{
	enum xs_estate_kind k = xs_estate_find(e, sub->uuid, NULL);

	if (k == XS_ESTATE_VM || k == XS_ESTATE_HOST) {
		sub->kind = k == XS_ESTATE_VM ? XS_OBJ_VM : XS_OBJ_HOST;
	} else if (k != XS_ESTATE_NONE) {
		xs_http_reply_json_error(req, 400,
					 "objects: %s is not a VM or host (stream the hosts "
					 "of a pool or SR)", sub->uuid);
		return false;
	} else if (api_stored(e->store, XS_OBJ_VM, sub->uuid)) {
		sub->kind = XS_OBJ_VM;
	} else if (api_stored(e->store, XS_OBJ_HOST, sub->uuid)) {
		sub->kind = XS_OBJ_HOST;
	} else {
		sub->gone = true;
	}
	return true;
}

/* Parses "uuid,uuid,..." into st->subs; false once a reply is sent. */
static bool api_stream_subs(struct xs_http_request *req, const struct xs_estate *e, const char *list,
			    struct api_stream *st)
{
	char (*uuids)[XS_STREAM_UUID_MAX] = xs_xcalloc(XS_API_MAX_STREAM_OBJECTS, sizeof(*uuids));
	char err[XS_ERR_LEN];
	size_t n;
	bool ok = xs_stream_objects_parse(list, uuids, XS_API_MAX_STREAM_OBJECTS, &n, err);

	if (!ok)
		xs_http_reply_json_error(req, 400, "%s", err);
	st->subs = xs_xcalloc(XS_API_MAX_STREAM_OBJECTS, sizeof(*st->subs));
	for (size_t k = 0; ok && k < n; k++) {
		memcpy(st->subs[k].uuid, uuids[k], sizeof(uuids[k]));
		ok = api_stream_sub_kind(req, e, &st->subs[k]);
		st->nsubs += ok;
	}
	free(uuids);
	return ok;
}

/*
 * Past XS_API_MAX_STREAMS: a 200 that says when to come back and ends, for the
 * same reason as api_stream_sub_kind (a 503 would stop the browser for good;
 * an ended stream makes it reconnect after `retry`).
 */
static enum xs_err api_stream_busy(struct xs_http_request *req)
{
	struct xs_http_stream *hs = xs_http_stream_start(req, "text/event-stream", NULL, NULL);
	char msg[128];
	int n;

	if (!hs) {
		if (xs_http_is_head(req))
			return XS_OK;
		xs_http_set_header(req, "Retry-After", "5");
		return xs_http_reply_json_error(req, 503, "too many streams open (%d)", XS_API_MAX_STREAMS);
	}
	n = snprintf(msg, sizeof(msg), "retry: %d\n: too many streams open (%d)\n\n", API_STREAM_BUSY_RETRY_MS,
		     XS_API_MAX_STREAMS);
	xs_http_stream_write(hs, msg, (size_t)n);
	xs_http_stream_close(hs);
	return XS_OK;
}

/* Tells the client, once, which of its objects nobody knows. */
static void api_stream_gone(struct api_stream *st)
{
	char ev[API_UUID_MAX + 64];

	for (size_t k = 0; k < st->nsubs; k++) {
		int n;

		if (!st->subs[k].gone)
			continue;
		n = snprintf(ev, sizeof(ev), "event: gone\ndata: {\"uuid\":\"%s\"}\n\n", st->subs[k].uuid);
		if (xs_http_stream_write(st->hs, ev, (size_t)n) != XS_OK)
			return;
	}
}

static enum xs_err api_stream(struct xs_http_request *req, void *arg)
{
	static const char *const allowed[] = { "objects", NULL };
	struct xs_api *a = arg;
	const char *list = xs_http_param(req, "objects"), *leid = xs_http_header(req, "Last-Event-ID");
	struct api_stream *st;
	struct xs_estate e;
	char hello[64];
	int n;

	if (!api_params_known(req, allowed))
		return XS_OK;
	if (a->nstreams == XS_API_MAX_STREAMS)
		return api_stream_busy(req);
	api_estate(a, &e, false);
	st = xs_xcalloc(1, sizeof(*st));
	st->api = a;
	if (!api_stream_subs(req, &e, list ? list : "", st)) {
		free(st->subs);
		free(st);
		return XS_OK;
	}
	st->hs = xs_http_stream_start(req, "text/event-stream", api_stream_closed, st);
	if (!st->hs) {
		free(st->subs);
		free(st);
		/* a HEAD got the headers alone (RFC 9110 §9.3.2): no stream to run */
		if (xs_http_is_head(req))
			return XS_OK;
		return xs_http_reply_json_error(req, 500, "cannot start the stream");
	}
	api_stream_resume(st, e.store, leid);
	a->streams = xs_xrealloc(a->streams, (a->nstreams + 1) * sizeof(*a->streams));
	a->streams[a->nstreams++] = st;
	n = snprintf(hello, sizeof(hello), "retry: %d\n\n", API_STREAM_RETRY_MS);
	xs_http_stream_write(st->hs, hello, (size_t)n);
	api_stream_gone(st);
	st->last_write = xs_evloop_now();
	if (!a->timer)
		a->timer = xs_evloop_add_timer(a->loop, 0, api_tick, a);
	return XS_OK;
}

/* ---- life ---- */

static void api_access(const struct xs_http_access *acc, void *arg)
{
	/* a token given as a parameter never reaches the log */
	int len = strstr(acc->target, "access_token") ? (int)strcspn(acc->target, "?") : INT_MAX;

	(void)arg;
	xs_log_debug("http %s %.*s %u %llu bytes %.1f ms", acc->method, len, acc->target, acc->status,
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
	a->top_fd = -1;
	pthread_mutex_init(&a->top_mu, NULL);
	a->p = *p;
	a->metrics_max = cfg->metrics_in_flight ? cfg->metrics_in_flight : XS_API_METRICS_IN_FLIGHT;
	a->stream_stall = cfg->stream_stall > 0 ? cfg->stream_stall : XS_API_STREAM_STALL;
	memcpy(a->retention, cfg->retention, sizeof(a->retention));
	if (!hc.access_cb) {
		hc.access_cb = api_access;
		hc.access_arg = a;
	}
	rc = xs_http_server_start(loop, &hc, &a->srv, err);
	if (rc) {
		pthread_mutex_destroy(&a->top_mu);
		free(a);
		return rc;
	}
	if (a->p.defer) { /* the provider's thread wakes this one when it answered a top-N */
		a->top_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (a->top_fd < 0 || xs_evloop_add_fd(loop, a->top_fd, XS_EV_READ, api_top_woken, a)) {
			xs_err_set(err, XS_ERR_IO, "api: cannot make its eventfd");
			xs_api_free(&a);
			return XS_ERR_IO;
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
	a->nparked = 0;
	if (a->park_timer)
		xs_evloop_cancel_timer(a->loop, a->park_timer);
	if (a->top_fd >= 0) {
		xs_evloop_del_fd(a->loop, a->top_fd);
		close(a->top_fd);
	}
	while (a->nstreams)
		api_stream_drop(a, a->streams[0]);
	if (a->timer)
		xs_evloop_cancel_timer(a->loop, a->timer);
	free(a->streams);
	for (size_t i = 0; i < XS_API_TOP_CACHE; i++)
		xs_buf_free(&a->top[i].body);
	pthread_mutex_destroy(&a->top_mu);
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
