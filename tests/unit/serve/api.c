/*
 * Tests of src/serve/api.c around the provider's lock: which requests enter
 * it. The API on 127.0.0.1, port 0, on an xs_evloop in this thread, over an
 * empty estate (no pool, no store); each request is made by a client thread
 * with a blocking socket while the loop runs here.
 *   - a top-N answer remembered for XS_API_TOP_TTL is served without the
 *     lock (a hit never waits for the collector); a miss takes it once;
 *     with a provider that defers, no request computes one while the
 *     provider answers: an answer past its TTL is served again to a busy
 *     question while the provider's thread computes the next, any other
 *     request is parked until it has (test_top_refresh, test_top_parked);
 *     one run answers every metric of a question wanted at once (the web
 *     UI's four cards of a kind), not the other kind's (test_top_siblings);
 *   - /metrics takes it once for its first pass and streams the rest;
 *   - a refused parameter never takes it; enter and leave always pair;
 *   - /metrics bodies in flight are capped: while a client that does not
 *     read holds one, the next /metrics is a 503 with Retry-After; once it
 *     has read its (whole, chunked) body, /metrics answers again;
 *   - every 400 of the stats, top and stream routes starts with the
 *     parameter's name and ": ";
 *   - a stats reply past XS_API_MAX_STATS_BODY is a 400 naming points;
 *   - the stream's event id, a cursor of every object's last time sent
 *     (its parser: tests/unit/serve/stream_request.c): a client reconnecting with
 *     the last id it saw gets, per object, the rows after the ones it has,
 *     whichever object's event came last; an integer id means what it did;
 *   - a catch-up past the stream's queue goes out over several ticks as the
 *     client reads, in events of at most 12 rows; a client that reads
 *     nothing is cut after stream_stall;
 *   - the stream: an object only the store knows is streamed, one nobody
 *     knows gets `event: gone` (200, the others kept), past
 *     XS_API_MAX_STREAMS a 200 with `retry:` that ends; a HEAD of it is its
 *     headers alone (no chunk either) and starts no stream.
 * What the answers hold is tested against xapi-sim in tests/e2e/api_test.py.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/xmalloc.h"
#include "serve/api.c" /* the internals: the answers, the parked list, the streams */
#include "serve/api_stream.c"
#include "serve/api_top.c"
#include "store/store.h"
#include "support/loop_wait.h"
#include "support/tmp_dir.h"
#include "test.h"
#include "xapi/rpc_value.h"
#include "xapi/topology.h"

#define T_RESP_MAX (64 * 1024)
#define T_TIMEOUT_S 10.0

struct t_lock {
	int enters, leaves;
	bool inside, nested;
	/* the defer hook: what it was given last, how often, how often with NULL */
	void (*fn)(void *);
	void *fn_arg;
	int defers, cancels;
	int yields;             /* the yield hook, called inside the hold */
};

struct t_client {
	uint16_t port;
	const char *target;
	char resp[T_RESP_MAX + 1];
	size_t len;
	atomic_int done;
};

/* The topology of the one pool the estate shows, when a test sets it. */
static struct xs_topo *t_topo;
static struct xs_estate_pool t_pool = { .name = "pool-t" };

static int t_estates; /* estate views asked for */

/* arg: the store to show, or NULL */
static void t_estate(void *arg, struct xs_estate *e, bool with_status)
{
	(void)with_status;
	t_estates++;
	e->store = arg;
	e->now = (double)time(NULL);
	if (t_topo) {
		t_pool.topo = t_topo;
		e->pools = &t_pool;
		e->npools = 1;
	}
}

static void t_self(void *arg, struct xs_prom_self *st)
{
	(void)arg;
	st->uptime = 1;
}

static void t_enter(void *arg)
{
	struct t_lock *l = arg;

	l->nested |= l->inside;
	l->inside = true;
	l->enters++;
}

/* The provider's defer: kept for the test to run as the collector's thread would. */
static void t_defer(void *arg, void (*fn)(void *), void *fn_arg)
{
	struct t_lock *l = arg;

	l->fn = fn;
	l->fn_arg = fn_arg;
	if (fn)
		l->defers++;
	else
		l->cancels++;
}

static struct xs_api *t_evict_api; /* set: the next yield fills its top-N cache */

/* 16 new answers in the API's top-N cache, as API requests at a yield would store them. */
static void t_fill_top_cache(struct xs_api *a)
{
	struct xs_buf body;

	xs_buf_init(&body, 64);
	if (!ok(xs_buf_append(&body, "{}", 2) == XS_OK, "a body for the cache")) {
		xs_buf_free(&body);
		return;
	}
	for (long i = 0; i < XS_API_TOP_CACHE; i++) {
		struct api_top_q q = { .kind = "vm", .metric = "cpu", .n = 100 + i };

		api_top_remember(a, &q, &body, true);
	}
	xs_buf_free(&body);
}

static void t_yield(void *arg)
{
	struct t_lock *l = arg;

	l->yields += l->inside;
	l->nested |= !l->inside; /* outside a hold: counted as a fault */
	if (t_evict_api) {
		t_fill_top_cache(t_evict_api);
		t_evict_api = NULL;
	}
}

/* Runs what was deferred, inside the lock as the provider's thread does. */
static void t_run_deferred(struct t_lock *l)
{
	void (*fn)(void *) = l->fn;

	l->fn = NULL;
	l->nested |= l->inside;
	l->inside = true;
	if (fn)
		fn(l->fn_arg);
	l->inside = false;
}

static void t_leave(void *arg)
{
	struct t_lock *l = arg;

	l->inside = false;
	l->leaves++;
}

static void *t_thread(void *arg)
{
	struct t_client *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	struct timeval tv = { .tv_sec = 5 };
	char req[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
			 c->target);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
		ssize_t k;

		while (c->len < T_RESP_MAX && (k = recv(fd, c->resp + c->len, T_RESP_MAX - c->len, 0)) > 0)
			c->len += (size_t)k;
	}
	c->resp[c->len] = '\0';
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, 1);
	return NULL;
}

static bool t_flag_set(void *flag)
{
	return atomic_load((atomic_int *)flag) != 0;
}

static bool t_never(void *arg)
{
	(void)arg;
	return false;
}

/* One GET of target; the reply lands in c; its status, or -1. */
static int t_get(struct xs_evloop *loop, struct xs_api *a, struct t_client *c, const char *target)
{
	pthread_t th;
	int status = -1;

	memset(c, 0, sizeof(*c));
	c->port = xs_api_port(a);
	c->target = target;
	pthread_create(&th, NULL, t_thread, c);
	loop_wait(loop, t_flag_set, &c->done, T_TIMEOUT_S);
	pthread_join(th, NULL);
	/* a little more: the request's completion, after the client's last byte */
	loop_wait(loop, t_never, NULL, 0.02);
	if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

static const char *t_body(const struct t_client *c)
{
	const char *p = strstr(c->resp, "\r\n\r\n");

	return p ? p + 4 : "";
}

static void test_lock(void)
{
	static struct t_client c;
	static char first[T_RESP_MAX + 1];
	struct t_lock lock = { 0 };
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = { .estate = t_estate, .self = t_self, .enter = t_enter,
				     .leave = t_leave, .lock_arg = &lock };
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "";

	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);

	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=cpu") == 200, "top: %s", c.resp);
	snprintf(first, sizeof(first), "%s", t_body(&c));
	ok(lock.enters == 1, "top, first time: the lock once (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=cpu") == 200 && !strcmp(t_body(&c), first),
	   "top again: the same answer");
	ok(lock.enters == 1, "top again, within its TTL: not the lock (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?kind=vm&metric=memory") == 200 && lock.enters == 2,
	   "another top question: the lock (%d)", lock.enters);
	ok(t_get(loop, a, &c, "/api/v1/top?n=0") == 400 && lock.enters == 2,
	   "a refused parameter: 400, not the lock (%d)", lock.enters);

	ok(t_get(loop, a, &c, "/metrics") == 200 && strstr(t_body(&c), "xapistat_uptime_seconds"),
	   "metrics: %.200s", c.resp);
	ok(strstr(c.resp, "text/plain; version=0.0.4; charset=utf-8") != NULL, "metrics content type");
	ok(lock.enters == 3, "metrics: the lock once (%d)", lock.enters);
	/* a shard of it (pool, kind: query/prom.h); the rest of its parameters refused */
	ok(t_get(loop, a, &c, "/metrics?kind=self") == 200 &&
		   strstr(t_body(&c), "xapistat_uptime_seconds 1\n"),
	   "metrics?kind=self: %.200s", c.resp);
	ok(t_get(loop, a, &c, "/metrics?kind=vm,host") == 200 &&
		   !strstr(t_body(&c), "xapistat_uptime_seconds"),
	   "metrics?kind=vm,host: not the daemon's figures: %.200s", c.resp);
	ok(t_get(loop, a, &c, "/metrics?kind=disk") == 400 &&
		   strstr(t_body(&c), "{\"error\":\"kind: \\\"disk\\\" is not host, vm, sr or self"),
	   "metrics?kind=disk: 400: %.300s", c.resp);
	ok(t_get(loop, a, &c, "/metrics?pool=") == 400 &&
		   strstr(t_body(&c), "{\"error\":\"pool: empty"),
	   "metrics?pool= (empty): 400: %.300s", c.resp);
	ok(t_get(loop, a, &c, "/metrics?pool=nope") == 404 &&
		   strstr(t_body(&c), "{\"error\":\"pool: no pool is named \\\"nope\\\""),
	   "metrics?pool=nope: 404: %.300s", c.resp);
	ok(t_get(loop, a, &c, "/metrics?match=x") == 400 &&
		   strstr(t_body(&c), "{\"error\":\"match: unknown parameter"),
	   "metrics?match=x: 400: %.300s", c.resp);

	ok(lock.enters == lock.leaves && !lock.inside && !lock.nested, "enter and leave pair (%d, %d)",
	   lock.enters, lock.leaves);
	xs_api_free(&a);
	ok(a == NULL, "free clears the pointer");
	xs_evloop_free(&loop);
}

static struct xs_topo *t_big_topo(void);
static struct xs_store *t_host_store(const char *dir, const char *uuid, int n, int64_t t);

/* A topology of one pool, uuid bbbbbbbb-...-1. */
static struct xs_topo *t_pool_topo(void)
{
	struct xs_rpc_arena *arena = xs_rpc_arena_new();
	struct xs_topo *t = xs_topo_new();
	struct xs_rpc_value *r = xs_rpc_struct(arena);
	char err[XS_ERR_LEN];

	xs_rpc_struct_cset(arena, r, "uuid", xs_rpc_cstring(arena, "bbbbbbbb-0000-4000-8000-000000000001"));
	xs_rpc_struct_cset(arena, r, "name_label", xs_rpc_cstring(arena, "p"));
	if (xs_topo_apply(t, XS_TOPO_POOL, "OpaqueRef:pool-1", r, err) != XS_OK)
		fprintf(stderr, "# apply pool: %s\n", err);
	xs_rpc_arena_free(&arena);
	return t;
}

/* Runs what was deferred until nothing is; returns how many runs. */
static int t_run_all_deferred(struct t_lock *l)
{
	int runs = 0;

	for (; l->fn && runs < 100; runs++)
		t_run_deferred(l);
	return runs;
}

/* A provider with the lock, defer and yield hooks of lock (arg: no store). */
static struct xs_api_provider t_deferring_provider(struct t_lock *lock)
{
	return (struct xs_api_provider){ .estate = t_estate, .self = t_self, .enter = t_enter,
					 .leave = t_leave, .lock_arg = lock, .defer = t_defer,
					 .yield = t_yield };
}

#define T_HALF_TTL (XS_API_TOP_TTL * 0.55) /* two of these apart: past the TTL, asked within it */

struct t_deferring {
	struct t_lock *lock;
	struct t_client *c;
	int runs;             /* deferred runs made while waiting */
};

/* The client's done; meanwhile what is deferred runs, as the provider's thread would. */
static bool t_done_deferring(void *arg)
{
	struct t_deferring *d = arg;

	if (d->lock->fn) {
		t_run_deferred(d->lock);
		d->runs++;
	}
	return atomic_load(&d->c->done) != 0;
}

/* t_get, running what is deferred while the request waits; *runs: how many runs. */
static int t_get_deferring(struct xs_evloop *loop, struct xs_api *a, struct t_client *c,
			   const char *target, struct t_lock *lock, int *runs)
{
	struct t_deferring d = { lock, c, 0 };
	pthread_t th;
	int status = -1;

	memset(c, 0, sizeof(*c));
	c->port = xs_api_port(a);
	c->target = target;
	pthread_create(&th, NULL, t_thread, c);
	loop_wait(loop, t_done_deferring, &d, T_TIMEOUT_S);
	pthread_join(th, NULL);
	loop_wait(loop, t_never, NULL, 0.02);
	*runs = d.runs;
	if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

/*
 * With a provider that defers, no request computes a ranking while the
 * provider answers in time: a first question, one not asked within
 * XS_API_TOP_TTL, or an answer past XS_API_TOP_STALE parks the request, the
 * provider's thread computes the answer (one deferred run) and the request is
 * served it. A busy question (asked again within XS_API_TOP_TTL) past its TTL
 * gets the same answer at once (no lock, no estate) and a new one is asked
 * of the provider's thread, once; the refresh computes one question per run
 * and asks again for the next; it replaces the answer (the next request a
 * fresh hit); one that fails forgets the answer, so the next request, parked
 * and called again without an answer, computes it and gets the error. A
 * parked request whose answer has not come after API_TOP_PARK_MAX gets the
 * last answer under XS_API_TOP_STALE old, else computes it itself. The
 * refresh yields every XS_ESTATE_YIELD_EVERY VMs, a request never; a slot
 * being computed is not given to the answers stored at a yield, so the
 * refreshed answer is kept; xs_api_free cancels what is deferred.
 */
static void test_top_refresh(void)
{
	static struct t_client c;
	static char first[T_RESP_MAX + 1];
	static const char cpu[] = "/api/v1/top?kind=vm&metric=cpu";
	static const char pooled[] = "/api/v1/top?kind=vm&pool=bbbbbbbb-0000-4000-8000-000000000001";
	static const char net[] = "/api/v1/top?kind=vm&metric=network";
	struct t_lock lock = { 0 };
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = t_deferring_provider(&lock);
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "", dir[TMP_DIR_LEN];
	int estates, runs = 0, served_stale = 0, status;
	double t0;

	tmp_dir_new(dir, "api");
	p.arg = t_host_store(dir, "aaaaaaaa-0000-4000-8000-000000000001", 0, 0); /* empty */
	fail_unless(p.arg != NULL, "store");
	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);
	t_topo = t_pool_topo();
	estates = t_estates;
	status = t_get_deferring(loop, a, &c, cpu, &lock, &runs);
	ok(status == 200 && lock.enters == 0 && lock.defers == 1 && runs == 1 &&
		   t_estates == estates + 1 && !lock.nested,
	   "top, first time: parked, computed once by the deferred run, served (%d; enters %d, "
	   "defers %d, runs %d, estates +%d)", status, lock.enters, lock.defers, runs,
	   t_estates - estates);
	snprintf(first, sizeof(first), "%s", t_body(&c));
	status = t_get_deferring(loop, a, &c, pooled, &lock, &runs);
	ok(status == 200 && lock.enters == 0 && lock.defers == 2 && runs == 1,
	   "top of a pool, first time: parked, deferred (%d; enters %d, defers %d): %s", status,
	   lock.enters, lock.defers, t_body(&c));
	loop_wait(loop, t_never, NULL, T_HALF_TTL);
	estates = t_estates;
	ok(t_get(loop, a, &c, cpu) == 200 && t_get(loop, a, &c, pooled) == 200 && lock.defers == 2 &&
		   t_estates == estates,
	   "both again within the TTL: remembered (defers %d, estates +%d)", lock.defers,
	   t_estates - estates);
	loop_wait(loop, t_never, NULL, T_HALF_TTL);
	ok(t_get(loop, a, &c, cpu) == 200 && !strcmp(t_body(&c), first) && lock.enters == 0 &&
		   t_estates == estates && lock.defers == 3,
	   "busy, past its TTL: the answer again, no lock, a refresh deferred (enters %d, estates +%d, "
	   "defers %d)", lock.enters, t_estates - estates, lock.defers);
	ok(t_get(loop, a, &c, cpu) == 200 && lock.enters == 0 && lock.defers == 3,
	   "again before the refresh ran: the answer, the refresh asked once (enters %d, defers %d)",
	   lock.enters, lock.defers);
	ok(t_get(loop, a, &c, pooled) == 200 && lock.enters == 0 && lock.defers == 4,
	   "the pool's question, busy too: a refresh deferred (enters %d, defers %d)", lock.enters,
	   lock.defers);

	xs_topo_free(&t_topo); /* the pool is gone: its refresh fails */
	estates = t_estates;
	runs = t_run_all_deferred(&lock);
	ok(runs == 2 && t_estates == estates + 2 && lock.enters == 0 && lock.defers == 5 && !lock.nested,
	   "the refresh: one question per run, asked again for the other, inside the provider's hold "
	   "(runs %d, estates +%d, enters %d, defers %d)", runs, t_estates - estates, lock.enters,
	   lock.defers);
	estates = t_estates;
	ok(t_get(loop, a, &c, cpu) == 200 && lock.enters == 0 && lock.defers == 5 && t_estates == estates,
	   "after the refresh: a fresh answer (enters %d, defers %d, estates +%d)", lock.enters,
	   lock.defers, t_estates - estates);
	status = t_get_deferring(loop, a, &c, pooled, &lock, &runs);
	ok(status == 404 && lock.enters == 1 && lock.defers == 6 && runs == 1,
	   "a refresh that failed forgot its answer: parked, its refresh fails again, the request "
	   "then computes: 404 (%d; enters %d, defers %d, runs %d): %s", status, lock.enters,
	   lock.defers, runs, t_body(&c));

	/* an answer that goes bad is never served again after the error */
	t_topo = t_pool_topo();
	ok(t_get_deferring(loop, a, &c, pooled, &lock, &runs) == 200 && lock.enters == 1 &&
		   lock.defers == 7,
	   "the pool again: 200, from the provider's run (enters %d, defers %d)", lock.enters,
	   lock.defers);
	loop_wait(loop, t_never, NULL, XS_API_TOP_TTL + 0.1);
	xs_topo_free(&t_topo);
	ok(t_get_deferring(loop, a, &c, pooled, &lock, &runs) == 404 && lock.enters == 2 &&
		   lock.defers == 8,
	   "not busy, the pool gone: parked, the refresh fails, the request computes: 404 (enters %d, "
	   "defers %d)", lock.enters, lock.defers);
	t0 = xs_evloop_now();
	status = t_get(loop, a, &c, pooled);
	ok(status == 404 && lock.enters == 3 && lock.defers == 9 &&
		   xs_evloop_now() - t0 >= API_TOP_PARK_MAX,
	   "at once again, the provider never answering: parked for API_TOP_PARK_MAX, then computed by "
	   "the request: 404, not the old answer (%d after %.2f s; enters %d, defers %d): %s", status,
	   xs_evloop_now() - t0, lock.enters, lock.defers, t_body(&c));
	lock.fn = NULL; /* as if the provider had cancelled it */

	loop_wait(loop, t_never, NULL, XS_API_TOP_TTL + 0.1);
	estates = t_estates;
	status = t_get_deferring(loop, a, &c, cpu, &lock, &runs);
	ok(status == 200 && lock.enters == 3 && lock.defers == 10 && runs == 1 &&
		   t_estates == estates + 1,
	   "not asked within the TTL: parked, a fresh answer from the provider's run (enters %d, "
	   "defers %d, runs %d)", lock.enters, lock.defers, runs);
	snprintf(first, sizeof(first), "%s", t_body(&c));
	loop_wait(loop, t_never, NULL, XS_API_TOP_TTL + 0.1);
	t0 = xs_evloop_now();
	status = t_get(loop, a, &c, cpu);
	ok(status == 200 && !strcmp(t_body(&c), first) && lock.enters == 3 && lock.defers == 11 &&
		   xs_evloop_now() - t0 >= API_TOP_PARK_MAX,
	   "again, the provider never answering: parked for API_TOP_PARK_MAX, then the last answer "
	   "(under XS_API_TOP_STALE), not computed (%d after %.2f s; enters %d, defers %d)", status,
	   xs_evloop_now() - t0, lock.enters, lock.defers);
	runs = t_run_all_deferred(&lock); /* the provider's run, late */
	ok(runs == 1 && lock.enters == 3, "the late run computes it (runs %d)", runs);
	loop_wait(loop, t_never, NULL, XS_API_TOP_TTL + 0.1);
	ok(t_get_deferring(loop, a, &c, cpu, &lock, &runs) == 200 && lock.enters == 3 &&
		   lock.defers == 12 && runs == 1,
	   "and again: a fresh answer from the provider's run (enters %d, defers %d, runs %d)",
	   lock.enters, lock.defers, runs);
	/* busy from now on, the refresh never run: same answer until XS_API_TOP_STALE, then
	 * parked, and computed by the request after API_TOP_PARK_MAX */
	t0 = xs_evloop_now();
	while (lock.enters == 3 && xs_evloop_now() - t0 < XS_API_TOP_STALE + API_TOP_PARK_MAX + 2) {
		loop_wait(loop, t_never, NULL, T_HALF_TTL);
		if (t_get(loop, a, &c, cpu) != 200)
			break;
		served_stale += lock.enters == 3 && xs_evloop_now() - t0 > XS_API_TOP_TTL;
	}
	ok(lock.enters == 4 && lock.defers == 13 && served_stale >= 5 &&
		   xs_evloop_now() - t0 >= XS_API_TOP_STALE,
	   "busy, the refresh not done: the answer again %d times, then parked and computed by the "
	   "request past XS_API_TOP_STALE (after %.1f s; enters %d, defers %d)", served_stale,
	   xs_evloop_now() - t0, lock.enters, lock.defers);
	lock.fn = NULL;

	/* 5,000 VMs: the refresh yields every XS_ESTATE_YIELD_EVERY of them, a request never */
	t_topo = t_big_topo();
	ok(t_get(loop, a, &c, net) == 200 && lock.yields == 0 && lock.enters == 5 && lock.defers == 14,
	   "5,000 VMs, parked, no run in API_TOP_PARK_MAX: computed by the request, no yield (%d, "
	   "enters %d)", lock.yields, lock.enters);
	lock.fn = NULL;
	loop_wait(loop, t_never, NULL, T_HALF_TTL);
	ok(t_get(loop, a, &c, net) == 200, "asked again");
	loop_wait(loop, t_never, NULL, T_HALF_TTL);
	ok(t_get(loop, a, &c, net) == 200 && lock.defers == 15, "busy, past its TTL: deferred (%d)",
	   lock.defers);
	t_evict_api = a; /* at its first yield, 16 new answers ask for every slot */
	runs = t_run_all_deferred(&lock);
	ok(runs == 1 && lock.yields == 5000 / XS_ESTATE_YIELD_EVERY,
	   "the refresh (%d run) yielded %d times, inside the hold", runs, lock.yields);
	{
		struct api_top_q q = { .kind = "vm", .metric = "network", .n = 10 };
		const struct api_top *t;
		int kept = 0;

		pthread_mutex_lock(&a->top_mu);
		t = api_top_find(a, &q);
		ok(t && t->at > 0 && !t->wanted,
		   "its slot, wanted, not given to the 16 answers stored meanwhile: the refreshed "
		   "answer kept");
		for (long i = 0; i < XS_API_TOP_CACHE; i++) {
			q = (struct api_top_q){ .kind = "vm", .metric = "cpu", .n = 100 + i };
			kept += api_top_find(a, &q) != NULL;
		}
		pthread_mutex_unlock(&a->top_mu);
		ok(kept == XS_API_TOP_CACHE - 1, "... which took the 15 other slots (%d of 16 kept)",
		   kept);
	}
	xs_topo_free(&t_topo);

	ok(lock.enters == lock.leaves && !lock.inside && !lock.nested, "enter and leave pair (%d, %d)",
	   lock.enters, lock.leaves);
	xs_api_free(&a);
	ok(lock.cancels == 1 && lock.fn == NULL, "free cancels the deferred work (%d)", lock.cancels);
	xs_evloop_free(&loop);
	{
		struct xs_store *s = p.arg;

		ok(xs_store_close(&s, err) == XS_OK, "store closes: %s", err);
	}
	tmp_dir_remove(dir);
}

/* Cancels the timer that bounds parked requests' wait: only the provider's wake-up lets
 * them go. */
static void t_no_park_timer(struct xs_evloop *loop, struct xs_api *a)
{
	xs_evloop_cancel_timer(loop, a->park_timer);
	a->park_timer = 0;
}

static bool t_parked_n(const struct xs_api *a, size_t n)
{
	return a->nparked == n;
}

static bool t_parked_one(void *arg)
{
	return t_parked_n(arg, 1);
}

static bool t_parked_two(void *arg)
{
	return t_parked_n(arg, 2);
}

/*
 * Two requests for the same new question while the provider's thread is busy:
 * both parked, one run deferred; /api/v1/status is served meanwhile; one run
 * answers both with the same body, its wake-up letting them go (the timer that
 * bounds their wait cancelled). With API_TOP_PARKED_MAX parked, a new question
 * is computed by its request, and so is a parked one's question, which then
 * lets the parked one go with that answer. A malformed question is a 400 at once and takes
 * no slot; with every slot wanted by other questions, a new one is computed by
 * its request. The refresh answers the question wanted longest first, and wakes
 * the API's thread even when it finds nothing wanted.
 */
static void test_top_parked(void)
{
	static struct t_client c1, c2, st;
	static const char mem[] = "/api/v1/top?kind=vm&metric=memory&n=3";
	struct t_lock lock = { 0 };
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = t_deferring_provider(&lock);
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "";
	pthread_t th1, th2;
	int estates, s1 = -1, s2 = -1;

	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);
	t_topo = t_pool_topo();
	c1 = (struct t_client){ .port = xs_api_port(a), .target = mem };
	c2 = c1;
	pthread_create(&th1, NULL, t_thread, &c1);
	pthread_create(&th2, NULL, t_thread, &c2);
	ok(loop_wait(loop, t_parked_two, a, T_TIMEOUT_S) && lock.defers == 1 && lock.enters == 0,
	   "both parked, one run deferred, no lock (defers %d, enters %d)", lock.defers, lock.enters);
	ok(t_get(loop, a, &st, "/api/v1/status") == 200 && !atomic_load(&c1.done) &&
		   !atomic_load(&c2.done),
	   "status served while they wait: %.60s", t_body(&st));
	estates = t_estates;
	t_no_park_timer(loop, a); /* only the provider's wake-up lets them go */
	t_run_deferred(&lock);
	loop_wait(loop, t_flag_set, &c1.done, T_TIMEOUT_S);
	loop_wait(loop, t_flag_set, &c2.done, T_TIMEOUT_S);
	pthread_join(th1, NULL);
	pthread_join(th2, NULL);
	sscanf(c1.resp, "HTTP/1.%*d %d", &s1);
	sscanf(c2.resp, "HTTP/1.%*d %d", &s2);
	ok(s1 == 200 && s2 == 200 && !strcmp(t_body(&c1), t_body(&c2)) && t_estates == estates + 1 &&
		   lock.enters == 1 && lock.fn == NULL && a->nparked == 0,
	   "one run answered both (%d %d, estates +%d, enters %d = status's)", s1, s2,
	   t_estates - estates, lock.enters);

	/* API_TOP_PARKED_MAX parked: the next new question is computed by its request
	 * (the list filled with copies of one real parked request, unparked once) */
	{
		static struct t_client held;
		pthread_t th;

		held = (struct t_client){ .port = xs_api_port(a),
					  .target = "/api/v1/top?kind=vm&metric=network&n=4" };
		pthread_create(&th, NULL, t_thread, &held);
		ok(loop_wait(loop, t_parked_one, a, T_TIMEOUT_S) && lock.defers == 2,
		   "one more question parked (defers %d)", lock.defers);
		while (a->nparked < API_TOP_PARKED_MAX)
			a->parked[a->nparked++] = a->parked[0];
		ok(t_get(loop, a, &st, "/api/v1/top?kind=vm&metric=disk&n=4") == 200 &&
			   lock.enters == 2 && lock.defers == 2 && a->nparked == API_TOP_PARKED_MAX,
		   "%d parked: a new question computed by its request (enters %d, defers %d)",
		   API_TOP_PARKED_MAX, lock.enters, lock.defers);
		/* the parked one's own question, computed by a request: it lets the parked
		 * one go (the timer that bounds its wait cancelled, the provider's run not
		 * made) */
		t_no_park_timer(loop, a);
		ok(t_get(loop, a, &st, held.target) == 200 && lock.enters == 3 && lock.fn != NULL,
		   "the parked one's question, asked with %d parked: computed by its request "
		   "(enters %d)", API_TOP_PARKED_MAX, lock.enters);
		loop_wait(loop, t_flag_set, &held.done, T_TIMEOUT_S);
		pthread_join(th, NULL);
		ok(strstr(held.resp, "HTTP/1.1 200") && a->nparked == 0 && lock.fn != NULL &&
			   !strcmp(t_body(&held), t_body(&st)),
		   "... which let the parked one go with that answer, before the provider's run");
		t_run_all_deferred(&lock);
	}

	/* a malformed question: a 400 at once, no slot taken, nothing deferred */
	{
		int used = 0;

		ok(t_get(loop, a, &st, "/api/v1/top?kind=vm&metric=cpuu") == 400 &&
			   strstr(t_body(&st), "metric:") && lock.defers == 2 && lock.enters == 3,
		   "a malformed question: 400, not parked, no lock (defers %d): %s", lock.defers,
		   t_body(&st));
		for (size_t i = 0; i < XS_API_TOP_CACHE; i++)
			used += a->top[i].used;
		ok(used == 3, "... and no slot taken (%d used)", used);
	}

	/* every slot wanted by other questions: a new one is computed by its request */
	pthread_mutex_lock(&a->top_mu);
	for (long i = 0; i < XS_API_TOP_CACHE; i++) {
		struct api_top *t = &a->top[i];

		t->q = (struct api_top_q){ .kind = "vm", .metric = "disk", .n = 200 + i };
		t->used = t->wanted = true;
		t->at = 0;
	}
	pthread_mutex_unlock(&a->top_mu);
	ok(t_get(loop, a, &st, "/api/v1/top?kind=host&metric=cpu") == 200 && lock.enters == 4 &&
		   lock.defers == 2 && a->nparked == 0,
	   "every slot wanted: computed by the request, not parked (enters %d, defers %d)",
	   lock.enters, lock.defers);

	/* the refresh takes the question wanted longest, whatever its slot */
	pthread_mutex_lock(&a->top_mu);
	a->top[5].wanted_since = a->top[0].wanted_since - 1;
	for (long i = 0; i < XS_API_TOP_CACHE; i++)
		a->top[i].wanted = i == 0 || i == 5;
	pthread_mutex_unlock(&a->top_mu);
	t_run_deferred(&(struct t_lock){ .fn = api_top_refresh, .fn_arg = a });
	ok(a->top[5].at > 0 && !a->top[5].wanted && a->top[0].wanted && lock.defers == 3,
	   "the refresh answered the question wanted longest (slot 5), asked again for the other");
	lock.fn = NULL;
	{
		uint64_t n = 0;

		while (read(a->top_fd, &n, sizeof(n)) > 0) /* the wake-ups so far */
			;
		pthread_mutex_lock(&a->top_mu);
		for (long i = 0; i < XS_API_TOP_CACHE; i++)
			a->top[i].wanted = false;
		pthread_mutex_unlock(&a->top_mu);
		n = 0;
		api_top_refresh(a);
		ok(read(a->top_fd, &n, sizeof(n)) == sizeof(n) && n == 1,
		   "a refresh that finds nothing wanted (settled on the API's thread) still wakes it");
	}
	xs_topo_free(&t_topo);
	xs_api_free(&a);
	xs_evloop_free(&loop);
}

struct t_parked_wait {
	const struct xs_api *a;
	size_t n;
};

static bool t_parked_reached(void *arg)
{
	const struct t_parked_wait *w = arg;

	return t_parked_n(w->a, w->n);
}

/* Starts a client of each target in turn (c[i], th[i]), each parked before the next
 * starts, so that they are wanted in this order; true when all are parked. */
static bool t_park_in_turn(struct xs_evloop *loop, struct xs_api *a, struct t_client *c,
			   pthread_t *th, const char *const *targets, size_t n)
{
	size_t before = a->nparked;

	for (size_t i = 0; i < n; i++) {
		struct t_parked_wait w = { a, before + i + 1 };

		c[i] = (struct t_client){ .port = xs_api_port(a), .target = targets[i] };
		pthread_create(&th[i], NULL, t_thread, &c[i]);
		loop_wait(loop, t_parked_reached, &w, T_TIMEOUT_S);
	}
	return a->nparked == before + n;
}

/* c's reply is a 200 whose body starts with the kind and metric given. */
static bool t_top_reply(const struct t_client *c, const char *kind, const char *metric)
{
	char want[64];

	snprintf(want, sizeof(want), "{\"kind\":\"%s\",\"metric\":\"%s\",", kind, metric);
	return strstr(c->resp, "HTTP/1.1 200") && !strncmp(t_body(c), want, strlen(want));
}

/*
 * The web UI's cards ask a kind's four metrics at once: parked, the four VM
 * questions (n=5) are answered by one deferred run (one estate, one pass), each
 * with its own metric, while the host's question parked meanwhile waits for the
 * next run, which that run asks for. Two questions of different metrics that
 * differ also by n, pool or kind are no siblings: one run answers the first and
 * asks for another.
 */
static void test_top_siblings(void)
{
	static struct t_client c[5];
	static const char *const five[5] = {
		"/api/v1/top?kind=vm&metric=cpu&n=5",     "/api/v1/top?kind=vm&metric=memory&n=5",
		"/api/v1/top?kind=vm&metric=network&n=5", "/api/v1/top?kind=vm&metric=disk&n=5",
		"/api/v1/top?kind=host&metric=cpu&n=5",
	};
	static const char *const pairs[3][2] = {
		{ "/api/v1/top?kind=vm&metric=cpu&n=7", "/api/v1/top?kind=vm&metric=memory&n=8" },
		{ "/api/v1/top?kind=vm&metric=cpu&n=9",
		  "/api/v1/top?kind=vm&metric=memory&n=9&pool=bbbbbbbb-0000-4000-8000-000000000001" },
		{ "/api/v1/top?kind=vm&metric=cpu&n=10", "/api/v1/top?kind=host&metric=memory&n=10" },
	};
	static const char *const pair_differ[3] = { "n", "pool", "kind" };
	struct t_lock lock = { 0 };
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = t_deferring_provider(&lock);
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "";
	pthread_t th[5];
	int estates, answered = 0;

	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);
	t_topo = t_pool_topo();
	ok(t_park_in_turn(loop, a, c, th, five, 5) && lock.enters == 0 && lock.defers == 5,
	   "five questions parked, each asked of the provider, no lock (defers %d, enters %d)",
	   lock.defers, lock.enters);
	t_no_park_timer(loop, a); /* only the provider's wake-ups let them go */
	estates = t_estates;
	t_run_deferred(&lock);
	for (int i = 0; i < 4; i++) {
		loop_wait(loop, t_flag_set, &c[i].done, T_TIMEOUT_S);
		answered += t_top_reply(&c[i], "vm", xs_top_metric_name((size_t)i));
	}
	ok(answered == 4 && t_estates == estates + 1 && lock.enters == 0,
	   "one run answered the four VM questions, each its own metric (%d answered, estates +%d, "
	   "enters %d)", answered, t_estates - estates, lock.enters);
	ok(!atomic_load(&c[4].done) && a->nparked == 1 && lock.fn == api_top_refresh,
	   "the host's question still parked, the next run asked (parked %zu)", a->nparked);
	t_run_deferred(&lock);
	loop_wait(loop, t_flag_set, &c[4].done, T_TIMEOUT_S);
	ok(t_top_reply(&c[4], "host", "cpu") && t_estates == estates + 2 && lock.fn == NULL &&
		   a->nparked == 0,
	   "the next run answered it, and asked for no other (estates +%d, parked %zu): %.60s",
	   t_estates - estates, a->nparked, t_body(&c[4]));
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);

	for (int k = 0; k < 3; k++) {
		const char *what = pair_differ[k];
		bool parked = t_park_in_turn(loop, a, c, th, pairs[k], 2);

		t_no_park_timer(loop, a);
		t_run_deferred(&lock);
		loop_wait(loop, t_flag_set, &c[0].done, T_TIMEOUT_S);
		ok(parked && t_top_reply(&c[0], "vm", "cpu") && !atomic_load(&c[1].done) &&
			   a->nparked == 1 && lock.fn == api_top_refresh,
		   "another %s: no sibling; one run answered the first, asked for the other (parked "
		   "%zu)", what, a->nparked);
		t_run_deferred(&lock);
		loop_wait(loop, t_flag_set, &c[1].done, T_TIMEOUT_S);
		ok(t_top_reply(&c[1], k == 2 ? "host" : "vm", "memory") && a->nparked == 0 &&
			   lock.fn == NULL,
		   "another %s: the next run answered the other", what);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
	}

	/* siblings of a pool nobody knows: one run fails for both and forgets both; woken,
	 * each computes its own and gets the 404 */
	{
		static const char *const gone[2] = {
			"/api/v1/top?kind=vm&metric=cpu&pool=bbbbbbbb-0000-4000-8000-0000000000ff",
			"/api/v1/top?kind=vm&metric=disk&pool=bbbbbbbb-0000-4000-8000-0000000000ff",
		};
		bool parked = t_park_in_turn(loop, a, c, th, gone, 2);
		int enters = lock.enters, found = 0;

		t_no_park_timer(loop, a);
		estates = t_estates;
		t_run_deferred(&lock);
		for (int i = 0; i < 2; i++) {
			loop_wait(loop, t_flag_set, &c[i].done, T_TIMEOUT_S);
			pthread_join(th[i], NULL);
			found += !!strstr(c[i].resp, "HTTP/1.1 404");
		}
		for (size_t i = 0; i < XS_API_TOP_CACHE; i++)
			found += 10 * (a->top[i].used && !strcmp(a->top[i].q.pool, strstr(gone[0], "pool=") + 5));
		ok(parked && found == 2 && t_estates == estates + 3 && lock.enters == enters + 2 &&
			   lock.fn == NULL,
		   "an unknown pool: one run for both, both forgotten, each a 404 of its own "
		   "(found %d, estates +%d, enters +%d)", found, t_estates - estates,
		   lock.enters - enters);
	}
	xs_topo_free(&t_topo);
	xs_api_free(&a);
	xs_evloop_free(&loop);
}

/* A client of /metrics with a 4 KiB receive buffer that stops reading after the headers. */
struct t_slow {
	uint16_t port;
	atomic_int headers;   /* the reply's headers came */
	atomic_int release;   /* read the rest */
	atomic_int done;
	size_t len;
	bool whole;           /* the chunked body ended with its last chunk */
	char head[512];
};

static void *t_slow_thread(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	struct t_slow *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	struct timeval tv = { .tv_sec = 10 };
	int small = 4096, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[65536], tail[5] = "";
	ssize_t k;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1)) {
		k = recv(fd, c->head, sizeof(c->head) - 1, 0);
		c->len = k > 0 ? (size_t)k : 0;
		atomic_store(&c->headers, 1);
		while (!atomic_load(&c->release))
			usleep(1000);
		while ((k = recv(fd, buf, sizeof(buf), 0)) > 0 || (k < 0 && errno == EINTR)) {
			if (k <= 0)
				continue;
			c->len += (size_t)k;
			if (k >= 5) {
				memcpy(tail, buf + k - 5, 5);
			} else {
				memmove(tail, tail + k, (size_t)(5 - k));
				memcpy(tail + 5 - k, buf, (size_t)k);
			}
		}
		c->whole = !memcmp(tail, "0\r\n\r\n", 5);
	}
	if (fd >= 0)
		close(fd);
	atomic_store(&c->headers, 1);
	atomic_store(&c->done, 1);
	return NULL;
}

/* A topology of t_big_store's 5,000 running VMs: /metrics exports only what a
 * topology knows. */
static struct xs_topo *t_big_topo(void)
{
	struct xs_rpc_arena *arena = xs_rpc_arena_new();
	struct xs_topo *t = xs_topo_new();
	char err[XS_ERR_LEN], uuid[40], ref[40];

	for (int v = 0; v < 5000; v++) {
		struct xs_rpc_value *r = xs_rpc_struct(arena);

		snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-%012d", v, v);
		snprintf(ref, sizeof(ref), "OpaqueRef:vm-%d", v);
		xs_rpc_struct_cset(arena, r, "uuid", xs_rpc_cstring(arena, uuid));
		xs_rpc_struct_cset(arena, r, "name_label", xs_rpc_cstring(arena, ref + 10));
		xs_rpc_struct_cset(arena, r, "power_state", xs_rpc_cstring(arena, "Running"));
		if (xs_topo_apply(t, XS_TOPO_VM, ref, r, err) != XS_OK)
			fprintf(stderr, "# apply %s: %s\n", ref, err);
	}
	xs_rpc_arena_free(&arena);
	return t;
}

/* 150,000 series, one sample each: a /metrics body of about 20 MB. */
static struct xs_store *t_big_store(const char *dir)
{
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "", uuid[40], ds[16];
	int64_t t = (int64_t)time(NULL) / 5 * 5;

	if (xs_store_open(&o, &s, err) != XS_OK)
		return NULL;
	for (int v = 0; v < 5000; v++) {
		snprintf(uuid, sizeof(uuid), "%08d-0000-4000-8000-%012d", v, v);
		for (int k = 0; k < 30; k++) {
			xs_series_id id;

			snprintf(ds, sizeof(ds), "cpu%d", k);
			if (xs_store_series(s, XS_OBJ_VM, uuid, ds, "(fraction)", &id, err) != XS_OK ||
			    xs_store_append(s, id, t, 0.125f * (float)k, err) != XS_OK)
				return s;
		}
	}
	return s;
}

/* Every 400 of the stats, top and stream routes starts with the parameter's name and ": ". */
static void test_param_errors(void)
{
	static const struct {
		const char *target, *want; /* want: how the "error" string starts */
	} cases[] = {
		{ "/api/v1/vms/x/stats?granularity=seconds&foo=1",
		  "foo: unknown parameter (known: granularity, from, to, points)" },
		{ "/api/v1/vms/x/stats?granularity=hours&from=1&to=2",
		  "granularity: give either granularity or from and to, not both" },
		{ "/api/v1/vms/x/stats?from=1", "to: missing (a range needs from and to)" },
		{ "/api/v1/vms/x/stats?to=1", "from: missing (a range needs from and to)" },
		{ "/api/v1/vms/x/stats?from=2000&to=1000", "from: 2000 is after to (1000)" },
		{ "/api/v1/vms/x/stats?from=x&to=1000", "from: not an integer" },
		{ "/api/v1/vms/x/stats?from=1&to=-5", "to: -5 is out of range [0, " },
		{ "/api/v1/vms/x/stats?from=1&to=5&points=0", "points: 0 is out of range [1, 10000]" },
		{ "/api/v1/vms/x/stats?from=0&to=1099511627776&points=10", "points: from..to needs more" },
		{ "/api/v1/vms/x/stats?points=10", "points: only with from and to" },
		{ "/api/v1/vms/x/stats?granularity=weeks", "granularity: \\\"weeks\\\" is not seconds" },
		{ "/api/v1/vms/x/stats?from=1&from=2", "from: given more than once" },
		{ "/api/v1/vms/x/stats?fr%zzom=1", "fr%zzom: bad percent-escape" },
		{ "/api/v1/top?kind=vm&limit=3", "limit: unknown parameter (known: kind, metric, n, pool)" },
		{ "/api/v1/top?n=ten", "n: not an integer" },
		{ "/api/v1/top?n=0", "n: 0 is out of range [1, 1000]" },
		{ "/api/v1/top?kind=sr", "kind: " },
		{ "/api/v1/top?metric=heat", "metric: " },
		{ "/api/v1/top?pool=..", "pool: " },
		{ "/api/v1/top?kind=vm&pool=", "pool: empty" },
		{ "/api/v1/stream?objects=a&since=1", "since: unknown parameter (known: objects)" },
		{ "/api/v1/stream", "objects: missing (a list of VM and host uuids)" },
		{ "/api/v1/stream?objects=,a", "objects: empty uuid at byte 0" },
		{ "/api/v1/stream?objects=aaaaaaaa-0000-4000-8000-000000000001aaaaaaaa-0000-4000-8000-"
		  "000000000001", "objects: overlong uuid at byte 0" },
		{ "/api/v1/stream?objects=a,bb%22c", "objects: bad character at byte 4 (a uuid has letters, "
		  "digits and '-')" },
		{ "/api/v1/objects?x=1", "x: unknown parameter (known: none)" },
	};
	static struct t_client c;
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_api_provider p = { .estate = t_estate, .self = t_self };
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_api *a = NULL;
	char err[XS_ERR_LEN] = "", want[256];

	fail_unless(xs_api_start(loop, &cfg, &p, &a, err) == XS_OK, "api starts: %s", err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = t_get(loop, a, &c, cases[i].target);

		snprintf(want, sizeof(want), "{\"error\":\"%s", cases[i].want);
		ok(status == 400 && !strncmp(t_body(&c), want, strlen(want)), "%s: %d %s", cases[i].target,
		   status, t_body(&c));
	}
	xs_api_free(&a);
	xs_evloop_free(&loop);
}

/* A host of n cpuN series, one sample each at t. */
static struct xs_store *t_host_store(const char *dir, const char *uuid, int n, int64_t t)
{
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	char err[XS_ERR_LEN] = "", ds[16];

	if (xs_store_open(&o, &s, err) != XS_OK)
		return NULL;
	for (int k = 0; k < n; k++) {
		xs_series_id id;

		snprintf(ds, sizeof(ds), "cpu%d", k);
		if (xs_store_series(s, XS_OBJ_HOST, uuid, ds, "(fraction)", &id, err) != XS_OK ||
		    xs_store_append(s, id, t, 0.5f, err) != XS_OK)
			break;
	}
	return s;
}

/* The end of a test that started an API on a store in dir: both stopped, dir removed. */
/* Starts the API on loop with cfg, its provider the test's estate over store s. */
static enum xs_err t_api_on(struct xs_evloop *loop, const struct xs_api_config *cfg, struct xs_store *s,
			    struct xs_api **a, char *err)
{
	struct xs_api_provider p = { .estate = t_estate, .self = t_self, .arg = s };

	return xs_api_start(loop, cfg, &p, a, err);
}

static void t_teardown(struct xs_api **a, struct xs_evloop **loop, struct xs_store **s, const char *dir)
{
	char err[XS_ERR_LEN] = "";

	xs_api_free(a);
	xs_evloop_free(loop);
	ok(xs_store_close(s, err) == XS_OK, "store closes: %s", err);
	tmp_dir_remove(dir);
}

/* A stats reply past XS_API_MAX_STATS_BODY: the client asked too much, a 400 naming points. */
static void test_stats_too_large(void)
{
	static struct t_client c;
	static const char uuid[] = "aaaaaaaa-0000-4000-8000-000000000001";
	static const char want[] = "{\"error\":\"points: the reply would pass 64 MiB; ask fewer "
				   "points or a shorter range\"}";
	char dir[TMP_DIR_LEN], target[160], err[XS_ERR_LEN] = "";
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5;
	struct xs_store *s;
	struct xs_api *a = NULL;

	tmp_dir_new(dir, "api");
	/* 1,400 arrays of 10,000 5 s points, "null," each: 70 MB */
	s = t_host_store(dir, uuid, 1400, t);
	fail_unless(s != NULL, "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	snprintf(target, sizeof(target), "/api/v1/hosts/%s/stats?from=%lld&to=%lld&points=10000", uuid,
		 (long long)(t - 5 * 9999), (long long)t);
	ok(t_get(loop, a, &c, target) == 400 && !strcmp(t_body(&c), want), "10,000 points of 1,400 series: %.300s",
	   c.resp);
	snprintf(target, sizeof(target), "/api/v1/hosts/%s/stats?from=%lld&to=%lld&points=10000", uuid,
		 (long long)(t - 5 * 999), (long long)t);
	ok(t_get(loop, a, &c, target) == 200, "1,000 of them: 200 (%.100s)", c.resp);
	t_teardown(&a, &loop, &s, dir);
}

static void test_metrics_in_flight(void)
{
	static struct t_client c;
	static struct t_slow slow;
	char dir[TMP_DIR_LEN], err[XS_ERR_LEN] = "";
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" }, .metrics_in_flight = 1 };
	struct xs_evloop *loop = xs_evloop_new();
	struct xs_store *s;
	struct xs_api *a = NULL;
	pthread_t th;

	tmp_dir_new(dir, "api");
	s = t_big_store(dir);
	fail_unless(s != NULL, "store");
	t_topo = t_big_topo();
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	memset(&slow, 0, sizeof(slow));
	slow.port = xs_api_port(a);
	pthread_create(&th, NULL, t_slow_thread, &slow);
	loop_wait(loop, t_flag_set, &slow.headers, T_TIMEOUT_S);
	ok(strncmp(slow.head, "HTTP/1.1 200", 12) == 0, "the slow client's reply: %.40s", slow.head);

	ok(t_get(loop, a, &c, "/metrics") == 503 && strstr(c.resp, "Retry-After: 1") &&
		   strstr(t_body(&c), "being sent"),
	   "a second /metrics while one is in flight: %.300s", c.resp);
	ok(t_get(loop, a, &c, "/api/v1/top") == 200, "the rest still answers");

	atomic_store(&slow.release, 1);
	loop_wait(loop, t_flag_set, &slow.done, T_TIMEOUT_S);
	pthread_join(th, NULL);
	ok(slow.whole && slow.len > (8u << 20), "the slow client got its whole body (%zu bytes)", slow.len);
	ok(t_get(loop, a, &c, "/metrics") == 200 && strstr(t_body(&c), "xapistat_uptime_seconds"),
	   "then /metrics answers again: %.100s", c.resp);

	xs_api_free(&a);
	xs_evloop_free(&loop);
	xs_topo_free(&t_topo);
	ok(xs_store_close(&s, err) == XS_OK, "store closes: %s", err);
	tmp_dir_remove(dir);
}

/* ---- the stream ---- */

#define T_SSE_MAX (8u << 20)   /* bytes of a stream reply kept */
#define T_SSE_EVENTS 4096      /* events parsed from one */
#define T_ID_MAX 4096          /* bytes of an event id */

/* A stream client: sends req, reads until `until` was seen `until_n` times, EOF or `seconds`. */
struct t_sse {
	uint16_t port;
	char req[T_ID_MAX + 512];
	const char *until;
	int until_n;
	double seconds;
	char *resp;            /* T_SSE_MAX + 1 bytes */
	size_t len;
	bool eof;              /* the server ended the reply (or the connection) */
	atomic_int done;
};

struct t_event {
	char name[16];
	char id[T_ID_MAX];
	const char *data;      /* into the dechunked body */
};

static int t_count(const char *s, size_t len, const char *what)
{
	size_t wl = strlen(what);
	int n = 0;

	for (size_t i = 0; i + wl <= len; i++)
		if (!memcmp(s + i, what, wl))
			n++;
	return n;
}

static double t_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether resp[0, len) holds a whole reply: its Content-Length of body, or a chunked
 * body's last chunk (the server keeps the connection open after it). */
static bool t_reply_whole(const char *resp, size_t len)
{
	const char *hend = memmem(resp, len, "\r\n\r\n", 4), *cl;
	size_t head;

	if (!hend)
		return false;
	head = (size_t)(hend - resp) + 4;
	cl = memmem(resp, head, "\r\nContent-Length: ", 18);
	if (cl)
		return len >= head + strtoul(cl + 18, NULL, 10);
	return len >= head + 5 && !memcmp(resp + len - 5, "0\r\n\r\n", 5) &&
	       (len == head + 5 || !memcmp(resp + len - 7, "\r\n", 2));
}

static void *t_sse_thread(void *arg)
{
	struct t_sse *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	struct timeval tv = { .tv_usec = 100 * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double end = t_mono() + c->seconds;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, c->req, strlen(c->req), MSG_NOSIGNAL) == (ssize_t)strlen(c->req)) {
		while (c->len < T_SSE_MAX && t_mono() < end) {
			ssize_t k = recv(fd, c->resp + c->len, T_SSE_MAX - c->len, 0);

			if (k == 0) {
				c->eof = true;
				break;
			}
			if (k < 0)
				continue;
			c->len += (size_t)k;
			if (c->until && t_count(c->resp, c->len, c->until) >= c->until_n)
				break;
			if (t_reply_whole(c->resp, c->len)) {
				c->eof = true;
				break;
			}
		}
	}
	c->resp[c->len] = '\0';
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, 1);
	return NULL;
}

/* One stream request (leid: a Last-Event-ID, or NULL), read as struct t_sse says (c->resp is
 * allocated on first use; the caller frees it); its status. */
static int t_sse_run(struct xs_evloop *loop, struct xs_api *a, struct t_sse *c, const char *method,
		     const char *target, const char *leid)
{
	pthread_t th;
	int status = -1;

	if (!c->resp)
		c->resp = xs_xmalloc(T_SSE_MAX + 1);
	c->len = 0;
	c->eof = false;
	atomic_store(&c->done, 0);
	c->port = xs_api_port(a);
	snprintf(c->req, sizeof(c->req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%s\r\n", method, target,
		 leid ? "Last-Event-ID: " : "", leid ? leid : "", leid ? "\r\n" : "");
	pthread_create(&th, NULL, t_sse_thread, c);
	loop_wait(loop, t_flag_set, &c->done, c->seconds + T_TIMEOUT_S);
	pthread_join(th, NULL);
	/* the server notices the client has gone */
	loop_wait(loop, t_never, NULL, 0.05);
	if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

/* The body of a chunked reply, in place; its length, or -1 when malformed. */
static long t_dechunk(struct t_sse *c)
{
	char *p = strstr(c->resp, "\r\n\r\n"), *out, *end = c->resp + c->len;

	if (!p)
		return -1;
	p += 4;
	out = p;
	while (p < end) {
		char *e;
		unsigned long n = strtoul(p, &e, 16);

		if (e == p || e + 2 > end || memcmp(e, "\r\n", 2))
			return -1;
		p = e + 2;
		if (n == 0 || p + n > end)
			break; /* the last chunk, or one cut by the client leaving */
		memmove(out, p, n);
		out += n;
		p += n + 2;
	}
	*out = '\0';
	return out - (strstr(c->resp, "\r\n\r\n") + 4);
}

/* The complete events of c's body (dechunked in place) into ev; how many. */
static size_t t_events(struct t_sse *c, struct t_event *ev, size_t max)
{
	char *p = strstr(c->resp, "\r\n\r\n");
	size_t n = 0;

	if (!p || t_dechunk(c) < 0)
		return 0;
	p += 4;
	while (n < max) {
		char *end = strstr(p, "\n\n"), *line = p;

		if (!end)
			break;
		*end = '\0';
		memset(&ev[n], 0, sizeof(ev[n]));
		while (line && *line) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			if (!strncmp(line, "event: ", 7))
				snprintf(ev[n].name, sizeof(ev[n].name), "%s", line + 7);
			else if (!strncmp(line, "id: ", 4))
				snprintf(ev[n].id, sizeof(ev[n].id), "%s", line + 4);
			else if (!strncmp(line, "data: ", 6))
				ev[n].data = line + 6;
			line = nl ? nl + 1 : NULL;
		}
		if (ev[n].data)
			n++;
		p = end + 2;
	}
	return n;
}

/* A stats event's uuid (into uuid), newest time and row count; false if it has none. */
static bool t_rows(const struct t_event *ev, char *uuid, size_t size, int64_t *end, int *n)
{
	const char *u = ev->data ? strstr(ev->data, "\"uuid\":\"") : NULL;
	const char *t = ev->data ? strstr(ev->data, "\"endTimestamp\":") : NULL;
	const char *st = ev->data ? strstr(ev->data, "\"stats\":") : NULL;
	const char *arr = st ? strchr(st, '[') : NULL;

	if (!u || !t || !arr || strcmp(ev->name, "stats"))
		return false;
	snprintf(uuid, size, "%.*s", (int)strcspn(u + 8, "\""), u + 8);
	*end = strtoll(t + 15, NULL, 10);
	*n = arr[1] == ']' ? 0 : 1;
	for (const char *q = arr + 1; *q && *q != ']'; q++)
		*n += *q == ',';
	return true;
}

/* Adds rows at t0, t0 + 5, ..., t1 to every cpuN series of the host uuid. */
static bool t_host_rows(struct xs_store *s, const char *uuid, int n, int64_t t0, int64_t t1)
{
	char err[XS_ERR_LEN] = "", ds[16];

	for (int k = 0; k < n; k++) {
		xs_series_id id;

		snprintf(ds, sizeof(ds), "cpu%d", k);
		if (xs_store_series(s, XS_OBJ_HOST, uuid, ds, "(fraction)", &id, err) != XS_OK)
			return false;
		for (int64_t t = t0; t <= t1; t += 5)
			if (xs_store_append(s, id, t, 0.25f, err) != XS_OK)
				return false;
	}
	return true;
}

static bool t_streams_full(void *arg)
{
	struct xs_http_stats st;

	xs_api_http_stats(arg, &st);
	return st.streams_open == XS_API_MAX_STREAMS;
}

static bool t_streams_none(void *arg)
{
	struct xs_http_stats st;

	xs_api_http_stats(arg, &st);
	return st.streams_open == 0;
}

static const char t_h1[] = "aaaaaaaa-0000-4000-8000-000000000001";
static const char t_h2[] = "aaaaaaaa-0000-4000-8000-000000000002";
static const char t_nobody[] = "aaaaaaaa-0000-4000-8000-000000000009";

/*
 * An object the store knows and no topology (the daemon just started; a
 * deleted VM) is streamed; one nobody knows is a 200 with `event: gone` for
 * it, the others streamed still.
 */
static void test_stream_gone(void)
{
	static struct t_sse c;
	static struct t_event ev[8];
	char dir[TMP_DIR_LEN], cmd[64], target[256], err[XS_ERR_LEN] = "", uuid[64];
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5, end = 0;
	struct xs_store *s;
	struct xs_api *a = NULL;
	size_t n;
	int rows = 0, status;

	tmp_dir_new(dir, "api");
	s = t_host_store(dir, t_h1, 2, t - 10);
	fail_unless(s != NULL && t_host_rows(s, t_h1, 2, t - 5, t), "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);

	snprintf(target, sizeof(target), "/api/v1/stream?objects=%s,%s", t_nobody, t_h1);
	c = (struct t_sse){ .until = "event: stats", .until_n = 1, .seconds = 5 };
	status = t_sse_run(loop, a, &c, "GET", target, NULL);
	ok(status == 200, "a stream with an unknown uuid: 200 (%.200s)", c.resp);
	n = t_events(&c, ev, 8);
	snprintf(cmd, sizeof(cmd), "{\"uuid\":\"%s\"}", t_nobody);
	ok(n == 2 && !strcmp(ev[0].name, "gone") && !strcmp(ev[0].data, cmd) && !*ev[0].id,
	   "first `gone` for it: %zu, %s %s", n, n ? ev[0].name : "", n ? ev[0].data : "");
	ok(n == 2 && t_rows(&ev[1], uuid, sizeof(uuid), &end, &rows) && !strcmp(uuid, t_h1) && end == t &&
	   rows == 1 && strstr(ev[1].data, "\"kind\":\"host\""),
	   "then the stats of the host only the store knows: %s", n > 1 ? ev[1].data : "");

	snprintf(target, sizeof(target), "/api/v1/stream?objects=%s", t_nobody);
	c.until = "event: gone";
	status = t_sse_run(loop, a, &c, "GET", target, NULL);
	ok(status == 200 && t_events(&c, ev, 8) == 1 && !strcmp(ev[0].name, "gone"),
	   "only an unknown uuid: 200 and `gone` (%.200s)", c.resp);
	free(c.resp);
	c.resp = NULL;

	t_teardown(&a, &loop, &s, dir);
}

/* HEAD of a stream: its headers, no content, no stream started; a bad one is the GET's 400;
 * HEAD of /metrics likewise. */
static void test_stream_head(void)
{
	static struct t_sse c;
	char dir[TMP_DIR_LEN], target[256], err[XS_ERR_LEN] = "";
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5;
	struct xs_http_stats st;
	struct xs_store *s;
	struct xs_api *a = NULL;
	const char *body;
	int status;

	tmp_dir_new(dir, "api");
	s = t_host_store(dir, t_h1, 1, t);
	fail_unless(s != NULL, "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	snprintf(target, sizeof(target), "/api/v1/stream?objects=%s", t_h1);
	c = (struct t_sse){ .seconds = 3 };
	status = t_sse_run(loop, a, &c, "HEAD", target, NULL);
	body = strstr(c.resp, "\r\n\r\n");
	ok(status == 200 && strstr(c.resp, "Content-Type: text/event-stream\r\n"), "HEAD: 200, its type: %s",
	   c.resp);
	ok(body && !body[4] && c.eof, "HEAD: the headers alone, then the end (%zu bytes after them)",
	   body ? strlen(body + 4) : 0);
	ok(!strstr(c.resp, "Transfer-Encoding") && !strstr(c.resp, "Content-Length"),
	   "HEAD: neither chunks nor a length announced");
	loop_wait(loop, t_never, NULL, 0.6); /* a tick would write to a stream */
	xs_api_http_stats(a, &st);
	ok(st.streams_total == 0 && st.streams_open == 0, "HEAD: no stream started (%llu)",
	   (unsigned long long)st.streams_total);
	status = t_sse_run(loop, a, &c, "HEAD", "/api/v1/stream?objects=a%22", NULL);
	ok(status == 400 && !strstr(c.resp, "\"error\""), "HEAD of a bad stream: 400, no body: %s", c.resp);
	free(c.resp);
	c.resp = NULL;
	/* /metrics, a pulled body of unknown length: the same (it claimed Content-Length: 0) */
	c = (struct t_sse){ .seconds = 3 };
	status = t_sse_run(loop, a, &c, "HEAD", "/metrics", NULL);
	body = c.resp ? strstr(c.resp, "\r\n\r\n") : NULL;
	ok(status == 200 && strstr(c.resp, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") &&
		   body && !body[4] && c.eof,
	   "HEAD /metrics: 200, its type, the headers alone: %s", c.resp);
	ok(!strstr(c.resp, "Transfer-Encoding") && !strstr(c.resp, "Content-Length"),
	   "HEAD /metrics: neither chunks nor a length announced");
	free(c.resp);
	c.resp = NULL;
	/* a shard of an unknown pool: the GET's 404, for a HEAD too */
	c = (struct t_sse){ .seconds = 3 };
	status = t_sse_run(loop, a, &c, "HEAD", "/metrics?pool=nope", NULL);
	ok(status == 404 && !strstr(c.resp, "\"error\""), "HEAD /metrics?pool=nope: 404, no body: %s",
	   c.resp);
	free(c.resp);
	c.resp = NULL;

	t_teardown(&a, &loop, &s, dir);
}

struct t_seen {
	const char *uuid;
	int64_t first, last; /* rows received, first and last time; 0 = none */
	int rows;
	bool contiguous;     /* each event's rows came right after the previous ones */
};

/* Adds the rows of c's stats events to seen[0..n); the id of the last event into id. */
static size_t t_take(struct t_sse *c, struct t_seen *seen, size_t n, char *id, size_t size)
{
	static struct t_event ev[T_SSE_EVENTS];
	size_t ne = t_events(c, ev, T_SSE_EVENTS), got = 0;

	for (size_t i = 0; i < ne; i++) {
		char uuid[64];
		int64_t end;
		int rows;

		if (!t_rows(&ev[i], uuid, sizeof(uuid), &end, &rows))
			continue;
		got++;
		snprintf(id, size, "%s", ev[i].id);
		for (size_t k = 0; k < n; k++) {
			if (strcmp(uuid, seen[k].uuid))
				continue;
			if (seen[k].last && end - 5 * (rows - 1) != seen[k].last + 5)
				seen[k].contiguous = false;
			if (!seen[k].first)
				seen[k].first = end - 5 * (rows - 1);
			seen[k].last = end;
			seen[k].rows += rows;
		}
	}
	return got;
}

/*
 * Two hosts whose newest rows differ (the second's clock 30 s behind): the
 * client reconnects with the last id it saw and gets, per host, the rows right
 * after the ones it has, whichever host's event came last (both orders).
 */
static void test_stream_resume(void)
{
	static struct t_sse c;
	char dir[TMP_DIR_LEN], cmd[64], target[256], err[XS_ERR_LEN] = "", id[T_ID_MAX];
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5 - 300, t1 = t, t2 = t - 30;
	struct xs_store *s;
	struct xs_api *a = NULL;

	tmp_dir_new(dir, "api");
	s = t_host_store(dir, t_h1, 2, t1 - 20);
	fail_unless(s != NULL && t_host_rows(s, t_h1, 2, t1 - 15, t1) && t_host_rows(s, t_h2, 2, t2 - 20, t2),
		    "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	for (int order = 0; order < 2; order++) {
		const char *first = order ? t_h2 : t_h1, *second = order ? t_h1 : t_h2;
		struct t_seen seen[2] = { { first, 0, 0, 0, true }, { second, 0, 0, 0, true } };
		int64_t had[2];
		size_t got;
		int status;

		snprintf(target, sizeof(target), "/api/v1/stream?objects=%s,%s", first, second);
		c = (struct t_sse){ .until = "event: stats", .until_n = 2, .seconds = 5, .resp = c.resp };
		status = t_sse_run(loop, a, &c, "GET", target, NULL);
		got = t_take(&c, seen, 2, id, sizeof(id));
		ok(status == 200 && got == 2 && seen[0].rows == 1 && seen[1].rows == 1 && !strncmp(id, "v1.", 3),
		   "order %d: a fresh stream, the newest row of each (%d, %d), id %s", order, seen[0].rows,
		   seen[1].rows, id);
		had[0] = seen[0].last;
		had[1] = seen[1].last;
		/* while the client is away, three rows each */
		ok(t_host_rows(s, t_h1, 2, t1 + 5, t1 + 15) && t_host_rows(s, t_h2, 2, t2 + 5, t2 + 15),
		   "rows added");
		t1 += 15;
		t2 += 15;
		memset(seen, 0, sizeof(seen));
		seen[0] = (struct t_seen){ first, 0, had[0], 0, true };
		seen[1] = (struct t_seen){ second, 0, had[1], 0, true };
		status = t_sse_run(loop, a, &c, "GET", target, id);
		got = t_take(&c, seen, 2, id, sizeof(id));
		ok(status == 200 && got == 2, "order %d: reconnected: %zu events", order, got);
		for (int k = 0; k < 2; k++)
			ok(seen[k].contiguous && seen[k].rows == 3 && seen[k].last == had[k] + 15,
			   "order %d, %s: the 3 rows after %lld, no repeat, no gap (%d rows from %lld to %lld)",
			   order, seen[k].uuid, (long long)had[k], seen[k].rows, (long long)seen[k].first,
			   (long long)seen[k].last);
	}
	{
		/* an id that is no cursor of this list: a fresh start, the newest row of each */
		struct t_seen seen[2] = { { t_h1, 0, 0, 0, true }, { t_h2, 0, 0, 0, true } };
		char other[T_ID_MAX];
		size_t got;
		int status;

		/* id is the cursor of the list in the other order (h2,h1), as many objects */
		snprintf(other, sizeof(other), "%s", id);
		snprintf(target, sizeof(target), "/api/v1/stream?objects=%s,%s", t_h1, t_h2);
		status = t_sse_run(loop, a, &c, "GET", target, other);
		got = t_take(&c, seen, 2, id, sizeof(id));
		ok(status == 200 && got == 2 && seen[0].rows == 1 && seen[0].last == t1 && seen[1].rows == 1 &&
		   seen[1].last == t2,
		   "a cursor of the list in another order (%s): the newest rows (%d to %lld, %d to %lld)", other,
		   seen[0].rows, (long long)seen[0].last, seen[1].rows, (long long)seen[1].last);
		memset(seen, 0, sizeof(seen));
		seen[0] = (struct t_seen){ t_h1, 0, 0, 0, true };
		seen[1] = (struct t_seen){ t_h2, 0, 0, 0, true };
		status = t_sse_run(loop, a, &c, "GET", target, "v1.0.0");
		got = t_take(&c, seen, 2, id, sizeof(id));
		ok(status == 200 && got == 2 && seen[0].rows == 1 && seen[0].last == t1 && seen[1].rows == 1 &&
		   seen[1].last == t2,
		   "a cursor of one object for two: the newest rows (%d, %d)", seen[0].rows, seen[1].rows);

		/* an integer id (an older daemon's) keeps its meaning: one time for every object,
		 * an object that has nothing after it starts with its newest row */
		snprintf(cmd, sizeof(cmd), "%lld", (long long)(t1 - 10));
		memset(seen, 0, sizeof(seen));
		seen[0] = (struct t_seen){ t_h1, 0, 0, 0, true };
		seen[1] = (struct t_seen){ t_h2, 0, 0, 0, true };
		status = t_sse_run(loop, a, &c, "GET", target, cmd);
		got = t_take(&c, seen, 2, id, sizeof(id));
		ok(status == 200 && got == 2 && seen[0].rows == 2 && seen[0].last == t1 && seen[1].rows == 1 &&
		   seen[1].last == t2,
		   "an integer id: rows after it (%d, %d)", seen[0].rows, seen[1].rows);
	}
	free(c.resp);
	c.resp = NULL;

	t_teardown(&a, &loop, &s, dir);
}

#define T_CATCHUP_HOSTS 24
#define T_CATCHUP_SERIES 12

/* A client that reads the reply's head, then nothing until released. */
struct t_stall {
	uint16_t port;
	char req[4096];
	atomic_int head, release, done;
};

static void *t_stall_thread(void *arg)
{
	struct t_stall *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	int small = 4096, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[256];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, c->req, strlen(c->req), MSG_NOSIGNAL) == (ssize_t)strlen(c->req) &&
	    recv(fd, buf, sizeof(buf), 0) > 0)
		atomic_store(&c->head, 1);
	while (!atomic_load(&c->release))
		usleep(1000);
	if (fd >= 0)
		close(fd);
	atomic_store(&c->head, 1);
	atomic_store(&c->done, 1);
	return NULL;
}

/*
 * A catch-up larger than the stream's queue (here 32 KiB: 24 hosts reconnecting
 * 590 s back, about 200 KB of rows) goes out over several ticks, in events of at
 * most 12 rows, as the client reads: every host gets all its rows, in order, and
 * the stream is never cut.
 */
/* The catch-up below, with cfg and, when lock is not NULL, a provider with its lock hooks;
 * returns the seconds it took. */
static double t_catchup(const struct xs_api_config *cfg, struct t_lock *lock)
{
	static struct t_sse c;
	static char uuids[T_CATCHUP_HOSTS][40];
	char dir[TMP_DIR_LEN], cmd[64], target[64 * T_CATCHUP_HOSTS], err[XS_ERR_LEN] = "";
	char id[T_ID_MAX];
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5;
	struct t_seen seen[T_CATCHUP_HOSTS];
	struct xs_store_options o = { .dir = dir };
	struct xs_http_stats st;
	struct xs_store *s = NULL;
	struct xs_api *a = NULL;
	size_t o_len = 0, got;
	int status, whole = 0;
	double took = 0;

	tmp_dir_new(dir, "api");
	if (!ok(xs_store_open(&o, &s, err) == XS_OK, "store: %s", err))
		return 0;
	o_len = (size_t)snprintf(target, sizeof(target), "/api/v1/stream?objects=");
	for (int h = 0; h < T_CATCHUP_HOSTS; h++) {
		snprintf(uuids[h], sizeof(uuids[h]), "bbbbbbbb-0000-4000-8000-%012d", h);
		if (!ok(t_host_rows(s, uuids[h], T_CATCHUP_SERIES, t - 595, t), "rows of host %d", h))
			return 0;
		o_len += (size_t)snprintf(target + o_len, sizeof(target) - o_len, "%s%s", h ? "," : "",
					  uuids[h]);
		seen[h] = (struct t_seen){ uuids[h], 0, 0, 0, true };
	}
	if (lock) {
		struct xs_api_provider p = { .estate = t_estate, .self = t_self, .enter = t_enter,
					     .leave = t_leave, .lock_arg = lock, .arg = s };

		if (!ok(xs_api_start(loop, cfg, &p, &a, err) == XS_OK, "api starts: %s", err))
			return 0;
	} else {
		if (!ok(t_api_on(loop, cfg, s, &a, err) == XS_OK, "api starts: %s", err))
			return 0;
	}

	snprintf(cmd, sizeof(cmd), "%lld", (long long)(t - 590));
	/* 118 rows each: 9 events of 12 rows and one of 10 */
	c = (struct t_sse){ .until = "event: stats", .until_n = 10 * T_CATCHUP_HOSTS, .seconds = 30 };
	took = t_mono();
	status = t_sse_run(loop, a, &c, "GET", target, cmd);
	took = t_mono() - took;
	got = t_take(&c, seen, T_CATCHUP_HOSTS, id, sizeof(id));
	ok(status == 200 && got == 10 * T_CATCHUP_HOSTS, "%d hosts 590 s back: %zu events (%zu bytes)",
	   T_CATCHUP_HOSTS, got, c.len);
	for (int h = 0; h < T_CATCHUP_HOSTS; h++)
		whole += seen[h].contiguous && seen[h].rows == 118 && seen[h].first == t - 585 && seen[h].last == t;
	ok(whole == T_CATCHUP_HOSTS, "every host got its 118 rows, in order (%d of %d; the first: %d rows, "
	   "%lld to %lld)", whole, T_CATCHUP_HOSTS, seen[0].rows, (long long)seen[0].first,
	   (long long)seen[0].last);
	xs_api_http_stats(a, &st);
	ok(st.streams_cut == 0 && st.streams_open == 0, "the stream was never cut (%llu)",
	   (unsigned long long)st.streams_cut);

	free(c.resp);
	c.resp = NULL;

	t_teardown(&a, &loop, &s, dir);
	return took;
}

static void test_stream_catchup(void)
{
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1", .stream_max_queue = 32 * 1024 } };

	t_catchup(&cfg, NULL);
}

/*
 * The same catch-up with a tick's budget over all streams of 16 KiB and a slice
 * of the lock of 1 ns: every row still comes, in order (the next tick goes on),
 * and the tick lets the provider's thread in between two events (the lock taken
 * again after each, never nested).
 */
static void test_stream_tick_budget(void)
{
	/* the stream's own queue (1 MiB) and tick share (256 KiB) would take it all at once */
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" }, .stream_tick_bytes = 16384,
				     .stream_tick_slice = 1e-9 };
	struct t_lock lock = { 0 };
	double took = t_catchup(&cfg, &lock);

	/* a lower bound: ticks are 0.5 s apart, and ~190 KB of events at 16 KiB a tick take 12 */
	ok(took >= 3 * API_STREAM_TICK, "the budget spread it over ticks: %.1f s", took);
	ok(lock.leaves >= 10 * T_CATCHUP_HOSTS && lock.enters == lock.leaves && !lock.nested,
	   "the lock let go between events: %d enters, %d leaves (%d events)", lock.enters,
	   lock.leaves, 10 * T_CATCHUP_HOSTS);
}

/*
 * A gap in a host's rows (t-295 to t-205 missing, across minute boundaries whose
 * 1 min points the rows before it closed): a client resuming right before it gets
 * the rows after it, at 5 s, from the first row after the gap: no event of nulls,
 * no 1 min event of rows it already has (a range's probe for a young store would
 * have taken the gap for one).
 */
static void test_stream_gap(void)
{
	static struct t_sse c;
	static struct t_event ev[T_SSE_EVENTS];
	char dir[TMP_DIR_LEN], cmd[64], target[128], err[XS_ERR_LEN] = "";
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1" } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5, first = 0, end = 0, last = 0;
	struct xs_store_options o = { .dir = dir };
	struct xs_store *s = NULL;
	struct xs_api *a = NULL;
	int status, rows = 0, total = 0, fine = 0;
	size_t ne;
	char uuid[64];

	tmp_dir_new(dir, "api");
	fail_unless(xs_store_open(&o, &s, err) == XS_OK, "store: %s", err);
	fail_unless(t_host_rows(s, t_h1, 2, t - 595, t - 300) && t_host_rows(s, t_h1, 2, t - 200, t),
		    "rows with a gap");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	snprintf(target, sizeof(target), "/api/v1/stream?objects=%s", t_h1);
	snprintf(cmd, sizeof(cmd), "%lld", (long long)(t - 300)); /* the client has t-300 */
	/* 41 rows after the gap: events of 12, 12, 12 and 5 */
	c = (struct t_sse){ .until = "event: stats", .until_n = 4, .seconds = 10 };
	status = t_sse_run(loop, a, &c, "GET", target, cmd);
	ne = t_events(&c, ev, T_SSE_EVENTS);
	for (size_t i = 0; i < ne; i++) {
		if (!t_rows(&ev[i], uuid, sizeof(uuid), &end, &rows))
			continue;
		if (!first)
			first = end - 5 * (rows - 1);
		else if (end - 5 * (rows - 1) != last + 5)
			first = -1; /* not contiguous */
		last = end;
		total += rows;
		fine += strstr(ev[i].data, "\"interval\":5,") && !strstr(ev[i].data, "statsMin") &&
			!strstr(ev[i].data, "null");
	}
	ok(status == 200 && first == t - 200 && last == t && total == 41,
	   "the rows after the gap, from its first: %lld to %lld (t-200 to t), %d rows (41)",
	   (long long)(first - t), (long long)(last - t), total);
	ok(fine == 4, "%d of 4 events at 5 s, without bands or nulls: %.300s", fine,
	   ne ? (ev[0].data ? ev[0].data : "") : "(none)");
	free(c.resp);
	c.resp = NULL;
	xs_api_free(&a);

	/* a 5 s retention of 5 minutes (`5s = 5m`): a catch-up from before it is rows still,
	 * not the 1 min points a range that old is answered with */
	cfg.retention[XS_TIER_5S] = 300;
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts again: %s", err);
	snprintf(cmd, sizeof(cmd), "%lld", (long long)(t - 500));
	c = (struct t_sse){ .until = "event: stats", .until_n = 1, .seconds = 10 };
	status = t_sse_run(loop, a, &c, "GET", target, cmd);
	ne = t_events(&c, ev, T_SSE_EVENTS);
	ok(status == 200 && ne >= 1 && t_rows(&ev[0], uuid, sizeof(uuid), &end, &rows) &&
		   end - 5 * (rows - 1) == t - 495 && rows == 12 && strstr(ev[0].data, "\"interval\":5,"),
	   "older than the 5 s retention: 12 rows from t-495 at 5 s: %.200s",
	   ne && ev[0].data ? ev[0].data : "(none)");
	free(c.resp);
	c.resp = NULL;
	t_teardown(&a, &loop, &s, dir);
}

static bool t_first_sent(void *arg)
{
	const struct api_stream *st = arg;

	return st->subs[0].last == st->subs[0].newest && st->subs[0].last > 0;
}

static bool t_stall_gone(void *arg)
{
	struct xs_http_stats st;

	xs_api_http_stats(arg, &st);
	return st.streams_cut == 1 && st.streams_open == 0;
}

/*
 * A client that reads nothing: once its queue is full (the kernel's buffers
 * first, then the stream's, filled here with comments) and an event has waited
 * stream_stall (1 s here) for room, the stream is cut, as the queue's cap cut
 * it before events waited for room.
 */
static void test_stream_stall(void)
{
	static struct t_stall stall;
	static char fill[16 * 1024];
	char dir[TMP_DIR_LEN], err[XS_ERR_LEN] = "";
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1", .stream_max_queue = 64 * 1024 },
				     .stream_stall = 1.0 };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5;
	struct xs_http_stream *hs;
	struct xs_http_stats st;
	struct xs_store *s;
	struct xs_api *a = NULL;
	uint64_t out = 0;
	double t0;
	int still = 0;
	pthread_t th;

	tmp_dir_new(dir, "api");
	s = t_host_store(dir, t_h1, 1, t);
	fail_unless(s != NULL, "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	memset(&stall, 0, sizeof(stall));
	stall.port = xs_api_port(a);
	snprintf(stall.req, sizeof(stall.req), "GET /api/v1/stream?objects=%s HTTP/1.1\r\nHost: localhost\r\n\r\n", t_h1);
	pthread_create(&th, NULL, t_stall_thread, &stall);
	loop_wait(loop, t_flag_set, &stall.head, T_TIMEOUT_S);
	fail_unless(a->nstreams == 1, "the stream is open");
	loop_wait(loop, t_first_sent, a->streams[0], T_TIMEOUT_S);
	fail_unless(a->streams[0]->subs[0].last == t, "its first event is out");
	hs = a->streams[0]->hs;
	/* fill the kernel's buffers (until nothing more goes out for 0.3 s), then the queue */
	memset(fill, 'x', sizeof(fill));
	fill[0] = ':';
	fill[sizeof(fill) - 1] = '\n';
	for (int i = 0; i < 2000 && still < 6; i++) {
		while (xs_http_stream_room(hs) >= sizeof(fill))
			xs_http_stream_write(hs, fill, sizeof(fill));
		loop_wait(loop, t_never, NULL, 0.05);
		xs_api_http_stats(a, &st);
		still = st.bytes_out == out ? still + 1 : 0;
		out = st.bytes_out;
	}
	fail_unless(still >= 6, "the client's buffers are full (%llu bytes out)", (unsigned long long)out);
	xs_http_stream_write(hs, fill + sizeof(fill) - xs_http_stream_room(hs), xs_http_stream_room(hs));
	xs_api_http_stats(a, &st);
	ok(xs_http_stream_room(hs) == 0 && st.streams_cut == 0, "the queue is full, the stream open");
	ok(st.stream_queued_bytes == xs_http_stream_pending(hs) && st.stream_queued_bytes > 0 &&
		   st.held_bytes == 0,
	   "its queue in stream_queued_bytes (%llu of %zu), not in held_bytes",
	   (unsigned long long)st.stream_queued_bytes, xs_http_stream_pending(hs));

	ok(t_host_rows(s, t_h1, 1, t + 5, t + 5), "a new row");
	t0 = xs_evloop_now();
	ok(loop_wait(loop, t_stall_gone, a, T_TIMEOUT_S) && xs_evloop_now() - t0 >= 1.0,
	   "its event waits 1 s, then the stream is cut (after %.1f s)", xs_evloop_now() - t0);
	xs_api_http_stats(a, &st);
	ok(st.stream_queued_bytes == 0, "cut: nothing queued (%llu)",
	   (unsigned long long)st.stream_queued_bytes);
	atomic_store(&stall.release, 1);
	pthread_join(th, NULL);

	t_teardown(&a, &loop, &s, dir);
}

/* XS_API_MAX_STREAMS clients that connect and wait. */
struct t_crowd {
	uint16_t port;
	const char *target;
	int fds[XS_API_MAX_STREAMS];
	atomic_int connected, release, done;
};

static void *t_crowd_thread(void *arg)
{
	struct t_crowd *c = arg;
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", c->target);

	for (int i = 0; i < XS_API_MAX_STREAMS; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c->fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fds[i] >= 0 && connect(c->fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    send(c->fds[i], req, (size_t)n, MSG_NOSIGNAL) == n)
			atomic_fetch_add(&c->connected, 1);
	}
	while (!atomic_load(&c->release))
		usleep(1000);
	for (int i = 0; i < XS_API_MAX_STREAMS; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	atomic_store(&c->done, 1);
	return NULL;
}

/* Past XS_API_MAX_STREAMS: a 200 that says `retry:` and ends, so a browser comes back. */
static void test_stream_busy(void)
{
	static struct t_crowd crowd;
	static struct t_sse c;
	char dir[TMP_DIR_LEN], target[256], err[XS_ERR_LEN] = "";
	/* the crowd connects from one address: past the per-address cap (this test is the streams') */
	struct xs_api_config cfg = { .http = { .host = "127.0.0.1", .max_per_ip = 1024 } };
	struct xs_evloop *loop = xs_evloop_new();
	int64_t t = (int64_t)time(NULL) / 5 * 5;
	struct xs_store *s;
	struct xs_api *a = NULL;
	pthread_t th;
	int status;

	tmp_dir_new(dir, "api");
	s = t_host_store(dir, t_h1, 1, t);
	fail_unless(s != NULL, "store");
	fail_unless(t_api_on(loop, &cfg, s, &a, err) == XS_OK, "api starts: %s", err);
	snprintf(target, sizeof(target), "/api/v1/stream?objects=%s", t_h1);
	memset(&crowd, 0, sizeof(crowd));
	crowd.port = xs_api_port(a);
	crowd.target = target;
	pthread_create(&th, NULL, t_crowd_thread, &crowd);
	ok(loop_wait(loop, t_streams_full, a, 4 * T_TIMEOUT_S), "%d streams open",
	   XS_API_MAX_STREAMS);

	c = (struct t_sse){ .seconds = 5 };
	status = t_sse_run(loop, a, &c, "GET", target, NULL);
	ok(status == 200 && c.eof, "one more: 200, and it ends (%.300s)", c.resp);
	ok(strstr(c.resp, "text/event-stream") && strstr(c.resp, "retry: 5000\n") &&
	   strstr(c.resp, ": too many streams open (512)\n") && !strstr(c.resp, "event:"),
	   "it says when to come back, and sends no event: %.300s", c.resp);
	free(c.resp);
	c.resp = NULL;
	/* a malformed request is still a 400, not a "come back later" */
	c = (struct t_sse){ .seconds = 5 };
	status = t_sse_run(loop, a, &c, "GET", "/api/v1/stream", NULL);
	ok(status == 400 && strstr(c.resp, "objects"), "busy, objects missing: 400 (%.300s)", c.resp);
	free(c.resp);
	c = (struct t_sse){ .seconds = 5 };
	status = t_sse_run(loop, a, &c, "GET", "/api/v1/stream?objects=a%22", NULL);
	ok(status == 400 && strstr(c.resp, "bad character"), "busy, a bad uuid: 400 (%.300s)", c.resp);
	free(c.resp);
	c.resp = NULL;

	atomic_store(&crowd.release, 1);
	loop_wait(loop, t_flag_set, &crowd.done, T_TIMEOUT_S);
	pthread_join(th, NULL);
	ok(loop_wait(loop, t_streams_none, a, T_TIMEOUT_S), "then every stream closes");
	t_teardown(&a, &loop, &s, dir);
}

int main(void)
{
	TEST_RUN(test_lock);
	TEST_RUN(test_top_refresh);
	TEST_RUN(test_top_parked);
	TEST_RUN(test_top_siblings);
	TEST_RUN(test_param_errors);
	TEST_RUN(test_metrics_in_flight);
	TEST_RUN(test_stats_too_large);
	TEST_RUN(test_stream_gone);
	TEST_RUN(test_stream_busy);
	TEST_RUN(test_stream_head);
	TEST_RUN(test_stream_resume);
	TEST_RUN(test_stream_catchup);
	TEST_RUN(test_stream_gap);
	TEST_RUN(test_stream_tick_budget);
	TEST_RUN(test_stream_stall);
	return test_summary();
}
