/*
 * api_top.c - GET /api/v1/top: the remembered top-N answers, their refresh on
 * the provider's thread, and the requests parked until it has answered (see
 * api_top() for who gets what, docs/API.md "Top" for the promise).
 *
 * Threads: the handler, the parking and the unparking run on the API's thread;
 * api_top_refresh runs on the provider's thread inside its lock (the provider's
 * defer hook) and wakes the API's thread through top_fd each time it ran. The
 * answers (a->top) are shared under top_mu; the parked list (a->parked) is
 * the API thread's alone.
 *
 * One refresh answers every wanted question that differs from the one wanted
 * longest only by its metric, in one pass (the web UI asks a kind's four
 * metrics at once).
 *
 * A slot being computed or waited for (wanted) is never given to another
 * question, so a request parked for it is never left to compute it itself
 * because other questions came; with every slot wanted, a new question is
 * computed by its request (more than XS_API_TOP_CACHE questions at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/xmalloc.h"
#include "query/top.h"
#include "serve/api_internal.h"
#include "serve/stream_request.h"

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

/* Empties slot t: no question, no answer. Under top_mu. */
static void api_top_clear(struct api_top *t)
{
	t->used = t->wanted = false;
	t->at = 0;
	xs_buf_free(&t->body);
	xs_buf_init(&t->body, XS_API_MAX_STATS_BODY);
}

/* Marks slot t wanted at now; true when it was not (then a refresh must be asked).
 * Under top_mu. */
static bool api_top_want(struct api_top *t, double now)
{
	if (t->wanted)
		return false;
	t->wanted = true;
	t->wanted_since = now;
	return true;
}

/* The slot that takes a new question: an empty one, else the one asked longest ago
 * of those not wanted; emptied, asked now. NULL when every slot is wanted. Under
 * top_mu. */
static struct api_top *api_top_take_slot(struct xs_api *a)
{
	struct api_top *t = NULL;

	for (size_t i = 0; i < XS_API_TOP_CACHE; i++) {
		struct api_top *c = &a->top[i];

		if (!c->used) {
			t = c;
			break;
		}
		if (!c->wanted && (!t || c->asked < t->asked))
			t = c;
	}
	if (!t)
		return NULL;
	api_top_clear(t);
	t->asked = xs_evloop_now();
	return t;
}

/* Keeps a copy of body as the answer to q in q's slot, or if it has none and insert,
 * in a slot taken for it (api_top_take_slot: none when all are wanted); body NULL
 * forgets q (slot and answer). */
static void api_top_remember(struct xs_api *a, const struct api_top_q *q, const struct xs_buf *body,
			     bool insert)
{
	struct api_top *t;

	pthread_mutex_lock(&a->top_mu);
	t = api_top_find(a, q);
	if (!t && body && insert)
		t = api_top_take_slot(a);
	if (t)
		api_top_clear(t);
	if (t && body && !xs_buf_append(&t->body, body->data, body->len)) {
		t->q = *q;
		t->used = true;
		t->at = xs_evloop_now();
	}
	pthread_mutex_unlock(&a->top_mu);
}

/* The answer into b under the lock (the caller's: a request's enter); *b initialized here. */
static enum xs_err api_top_compute(struct xs_api *a, const char *kind, const char *metric, long n,
				   const char *pool, struct xs_buf *b, char *err)
{
	struct xs_estate e;

	xs_buf_init(b, XS_API_MAX_STATS_BODY);
	api_estate(a, &e, true); /* "now" is judged against each host's clock (top.h) */
	return xs_query_top(&e, kind, metric, n, pool, b, err); /* pool "": every pool */
}

/* Whether a and b ask the same but for the metric. */
static bool api_top_siblings(const struct api_top_q *a, const struct api_top_q *b)
{
	return a->n == b->n && !strcmp(a->kind, b->kind) && !strcmp(a->pool, b->pool);
}

/*
 * The answers to q's kind, n and pool for every metric m whose bit is in want, in
 * one pass (xs_query_top_each), kept in their slots: the provider's thread, inside
 * the lock. An error (an unknown pool, common to them all) forgets every one of
 * them. An answer whose slot is gone meanwhile (a request computed it and failed)
 * is dropped.
 */
static void api_top_refresh_each(struct xs_api *a, const struct api_top_q *q, unsigned want)
{
	struct xs_buf bodies[XS_TOP_METRICS], *outs[XS_TOP_METRICS] = { NULL };
	char err[XS_ERR_LEN] = "";
	struct xs_estate e;
	enum xs_err rc;

	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		if (!(want & (1u << m)))
			continue;
		xs_buf_init(&bodies[m], XS_API_MAX_STATS_BODY);
		outs[m] = &bodies[m];
	}
	api_estate(a, &e, true); /* "now" is judged against each host's clock (top.h) */
	e.yield = a->p.yield;
	e.yield_arg = a->p.lock_arg;
	rc = xs_query_top_each(&e, q->kind, q->n, q->pool, outs, err); /* pool "": every pool */
	for (size_t m = 0; m < XS_TOP_METRICS; m++) {
		struct api_top_q qm = *q;

		if (!outs[m])
			continue;
		snprintf(qm.metric, sizeof(qm.metric), "%s", xs_top_metric_name(m));
		api_top_remember(a, &qm, rc ? NULL : outs[m], false);
		xs_buf_free(outs[m]);
	}
}

/*
 * The provider's deferred work (its thread, inside the lock): new answers to the
 * question wanted longest (a request parked for it, or one that found its answer
 * past XS_API_TOP_TTL) and to every other metric of it wanted too (the web UI asks a
 * kind's four at once), in one pass (api_top_refresh_each); then asked again for
 * the next such question, if any, so that the provider's own work runs in between.
 * One that fails now is forgotten, so that the next request asks it afresh and gets
 * the error. Then, even when nothing was wanted any more, the API's thread is woken
 * to let parked requests go (api_top_woken).
 */
static void api_top_refresh(void *arg)
{
	struct xs_api *a = arg;
	const struct api_top *first = NULL;
	struct api_top_q q;
	size_t wanted = 0, answered = 0;
	unsigned want = 0;

	/* the question wanted longest, its siblings wanted too, and whether others wait
	 * (one wanted later comes with its own defer) */
	pthread_mutex_lock(&a->top_mu);
	for (size_t i = 0; i < XS_API_TOP_CACHE; i++) {
		if (!(a->top[i].used && a->top[i].wanted))
			continue;
		wanted++;
		if (!first || a->top[i].wanted_since < first->wanted_since)
			first = &a->top[i];
	}
	if (first) {
		q = first->q;
		for (size_t i = 0; i < XS_API_TOP_CACHE; i++) { /* first among them */
			const struct api_top *t = &a->top[i];
			int m = xs_top_metric_index(t->q.metric);

			if (t->used && t->wanted && m >= 0 && api_top_siblings(&t->q, &q) &&
			    !(want & (1u << m))) {
				want |= 1u << m;
				answered++;
			}
		}
	}
	pthread_mutex_unlock(&a->top_mu);
	if (first && !want) { /* never: its metric was checked when asked; forgotten, not
			       * asked forever */
		api_top_remember(a, &q, NULL, false);
		answered = 1;
	}
	if (want)
		api_top_refresh_each(a, &q, want);
	if (wanted > answered)
		a->p.defer(a->p.lock_arg, api_top_refresh, a);
	if (a->top_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(a->top_fd, &one, sizeof(one)); /* EAGAIN: a wake-up is pending */

		(void)w;
	}
}

/*
 * Lets parked requests go whose question is no longer wanted (answered, or
 * failed: the handler, called again, serves the answer or computes it, and
 * gets the error) or that waited API_TOP_PARK_MAX. The API's thread.
 */
static void api_top_unpark(struct xs_api *a)
{
	struct xs_http_request *go[API_TOP_PARKED_MAX];
	double now = xs_evloop_now();
	size_t ngo = 0, keep = 0;

	pthread_mutex_lock(&a->top_mu);
	for (size_t i = 0; i < a->nparked; i++) {
		const struct api_top *t = api_top_find(a, &a->parked[i].q);

		if (t && t->wanted && now - a->parked[i].since < API_TOP_PARK_MAX)
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
	api_top_unpark(arg);
}

static void api_top_park_timer(struct xs_evloop *loop, void *arg)
{
	struct xs_api *a = arg;

	a->park_timer = 0;
	api_top_unpark(a);
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
		a->parked[a->nparked++] = (struct api_top_parked){ req, *q, xs_evloop_now() };
		if (!a->park_timer)
			a->park_timer = xs_evloop_add_timer(a->loop, API_TOP_PARK_CHECK,
							    api_top_park_timer, a);
	}
	if (ask) /* even when not parked: the question is marked wanted */
		a->p.defer(a->p.lock_arg, api_top_refresh, a);
	return parked;
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
 *     fresh answer. Let go after API_TOP_PARK_MAX without a new answer, it
 *     gets the last one if under XS_API_TOP_STALE old. It computes the
 *     answer itself only when called again without one (the computation
 *     failed), with API_TOP_PARKED_MAX requests parked already, or with every
 *     slot wanted by other questions.
 * A malformed question is a 400 at once (xs_query_top_check), taking no slot.
 * Without defer, the request computes the answer under the lock.
 */
enum xs_err api_top(struct xs_http_request *req, void *arg)
{
	static const char *const allowed[] = { "kind", "metric", "n", "pool", NULL };
	struct xs_api *a = arg;
	const char *kind = xs_http_param(req, "kind"), *metric = xs_http_param(req, "metric");
	const char *pool = xs_http_param(req, "pool");
	struct api_top_q q = { 0 };
	struct api_top *slot;
	struct xs_buf b;
	char err[XS_ERR_LEN] = "";
	bool ask = false, serve = false, park;
	int64_t n;
	enum xs_err rc;

	if (!api_params_known(req, allowed))
		return XS_OK;
	rc = xs_qs_get_i64(xs_http_params(req), "n", 1, XS_TOP_MAX_N, XS_TOP_DEFAULT_N, &n, err);
	if (rc)
		return api_fail(req, rc, err);
	if (pool && !*pool) /* pool= given empty: not "every pool", which is pool left out */
		return xs_http_reply_json_error(req, 400, "pool: empty (a pool uuid, or no pool for every "
						"pool)");
	kind = kind ? kind : "vm";
	metric = metric ? metric : "cpu";
	pool = pool ? pool : "";
	rc = xs_query_top_check(kind, metric, (long)n, pool, err);
	if (rc)
		return api_fail(req, rc, err);
	/* well formed, it fits q: a kind or metric name, a pool uuid of 64 bytes at most */
	snprintf(q.kind, sizeof(q.kind), "%s", kind);
	snprintf(q.metric, sizeof(q.metric), "%s", metric);
	snprintf(q.pool, sizeof(q.pool), "%s", pool);
	xs_uuid_fold(q.pool);
	pool = q.pool;
	q.n = (long)n;
	pthread_mutex_lock(&a->top_mu);
	slot = api_top_find(a, &q);
	if (slot) {
		double now = xs_evloop_now(), age = now - slot->at;
		bool busy = now - slot->asked < XS_API_TOP_TTL;

		slot->asked = now;
		serve = slot->at > 0 &&
			(age < XS_API_TOP_TTL ||
			 (a->p.defer && (busy || xs_http_unparked(req)) && age < XS_API_TOP_STALE));
		if (serve && age >= XS_API_TOP_TTL)
			ask = api_top_want(slot, now);
	}
	if (serve) {
		rc = xs_http_reply_copy(req, 200, XS_HTTP_JSON, slot->body.data, slot->body.len);
		pthread_mutex_unlock(&a->top_mu);
		if (ask)
			a->p.defer(a->p.lock_arg, api_top_refresh, a);
		return rc;
	}
	park = a->p.defer && !xs_http_unparked(req) && a->nparked < API_TOP_PARKED_MAX;
	if (park && !slot) {
		slot = api_top_take_slot(a);
		if (slot) {
			slot->q = q;
			slot->used = true;
		}
	}
	park = park && slot;
	if (park)
		ask = api_top_want(slot, xs_evloop_now());
	pthread_mutex_unlock(&a->top_mu);
	if (park && api_top_park(a, req, &q, ask))
		return XS_OK;
	api_enter(a);
	rc = api_top_compute(a, kind, metric, (long)n, pool, &b, err);
	api_leave(a);
	/* a failure forgets the old answer: never served again after an error */
	api_top_remember(a, &q, rc ? NULL : &b, !rc);
	if (a->nparked) /* others parked for the same question: theirs is settled now */
		api_top_unpark(a);
	return api_reply_buf(req, XS_HTTP_JSON, &b, rc, err);
}

void api_top_init(struct xs_api *a)
{
	a->top_fd = -1;
	pthread_mutex_init(&a->top_mu, NULL);
}

enum xs_err api_top_start(struct xs_api *a, char *err)
{
	a->top_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->top_fd < 0)
		return xs_err_set(err, XS_ERR_IO, "api: cannot make its eventfd");
	if (xs_evloop_add_fd(a->loop, a->top_fd, XS_EV_READ, api_top_woken, a)) {
		close(a->top_fd);
		a->top_fd = -1;
		return xs_err_set(err, XS_ERR_IO, "api: cannot watch its eventfd");
	}
	return XS_OK;
}

void api_top_free(struct xs_api *a)
{
	a->nparked = 0;
	if (a->park_timer)
		xs_evloop_cancel_timer(a->loop, a->park_timer);
	a->park_timer = 0;
	if (a->top_fd >= 0) {
		xs_evloop_del_fd(a->loop, a->top_fd);
		close(a->top_fd);
		a->top_fd = -1;
	}
	for (size_t i = 0; i < XS_API_TOP_CACHE; i++)
		xs_buf_free(&a->top[i].body);
	pthread_mutex_destroy(&a->top_mu);
}
