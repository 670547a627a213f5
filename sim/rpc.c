/*
 * rpc.c - XAPI's RPC in xapi-sim: XML-RPC at POST / and /RPC2, JSON-RPC (v1
 * and v2) at POST /jsonrpc, on the master of each pool (SPEC §4).
 *
 * One request is one arena: the call is decoded into it, the reply built in
 * it, encoded into the response and the arena freed. A member host answers
 * every call HOST_IS_SLAVE [master address], as xapi does for logins.
 *
 * Events. The world keeps a ring of the last SIM_EVENT_LOG_CAP events with
 * consecutive generation ids, and every object the generation of its last
 * event (gen_modified). event.from(token = generation g) reports each object
 * touched after g once, at its latest event (the one whose id equals the
 * object's gen_modified), as xapi's database does: "del" if it is gone, "add"
 * if it was created after g, else "mod", with the snapshot of its current
 * record. A token older than the ring gives EVENTS_LOST; the empty token
 * gives every live object as "add". Tokens are "%020llu,%020llu" (generation,
 * message generation 0), which compare lexicographically like the numbers.
 *
 * Waiting. An event.from with nothing to report and a timeout, or an
 * event.next with nothing queued, becomes a waiter: the HTTP response is
 * deferred (sim_http_defer) and the request's arena kept. sim_rpc_notify(),
 * called after the world changed, answers the waiters that now have events;
 * an event loop timer answers an event.from at its timeout with an empty
 * batch. Without an HTTP server (unit tests) calls never wait.
 *
 * Legacy events: event.register keeps, per session, a class mask and a
 * cursor (the generation it has seen); event.next returns every matching
 * event after the cursor (not merged per object), and EVENTS_LOST when more
 * than RPC_LEGACY_QUEUE events arrived since, or the ring lost some.
 *
 * Event faults, per pool, switched by the control interface: "lose" makes
 * the next N event.from / event.next calls answer EVENTS_LOST (the waiting
 * ones at once, then new ones), as xapi does when a token is older than its
 * event buffer; "legacy" imitates a xapi older than 6.0 (boston): event.inject
 * and event.from are MESSAGE_METHOD_UNKNOWN, absent from system.listMethods,
 * and event.from calls waiting when it is switched on get that error at once.
 *
 * Login fault, per pool: "old_login" imitates a xapi before XenServer 6.2,
 * whose session.login_with_password has no originator: 4 parameters answer
 * MESSAGE_PARAMETER_COUNT_MISMATCH [method, 3, 4] (counted, so a test can
 * tell a client that retries every time from one that remembers).
 *
 * Password switch, per pool: "passwords" replaces --password for the pool's
 * logins with a comma-separated list, any of which is accepted (sessions
 * already open stay valid): two clients with different passwords can both
 * log in, and one of them can then be refused while the other is not.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "rpc_records.h"
#include "sim.h"
#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

#define RPC_MAX_WAITERS 4096     /* pending event.from / event.next; more answer at once */
#define RPC_MAX_FILTER_OBJS 64   /* "class/ref" entries kept from one event.from */
#define RPC_LEGACY_QUEUE 500     /* xapi's max_stored_events for event.next */
#define RPC_MAX_TIMEOUT 86400.0  /* longest event.from wait honoured, seconds */
#define RPC_TOKEN_LEN 48         /* "%020llu,%020llu" and NUL */
#define RPC_NUM_LEN 24
#define RPC_ALL_CLASSES ((1u << SIM_NCLASSES) - 1)
#define RPC_LOGIN_MIN_PARAMS 2   /* uname, pwd */
#define RPC_LOGIN_MAX_PARAMS 4   /* and version, originator (XenServer 6.2 and later) */
#define RPC_OLD_LOGIN_PARAMS 3   /* before 6.2: no originator */

static const char rpc_html_500[] =
	"<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; "
	"please wait a while and try again. If the problem persists, please contact your "
	"support representative.</body></html>";

/* Which objects an event.from or event.next wants. */
struct rpc_filter {
	unsigned mask;                          /* bit per enum sim_class: all its objects */
	struct { enum sim_class cls; int index; } objs[RPC_MAX_FILTER_OBJS]; /* "class/ref" */
	size_t nobjs;
};

/* A deferred event.from / event.next. */
struct rpc_waiter {
	struct sim *sim;
	uint64_t defer_id;                      /* the HTTP response it owes */
	uint64_t timer;                         /* event.from timeout, 0 for none */
	struct xs_rpc_arena *a;                 /* the request's arena: call and filter live on */
	struct xs_rpc_call call;                /* for the JSON-RPC id and version */
	bool legacy;                            /* event.next */
	int pool;
	char session[SIM_REF_LEN];
	struct rpc_filter filter;
	uint64_t since;                         /* event.from token generation */
};

/* The event and login faults of one pool (see the top). */
struct rpc_pool_faults {
	unsigned lose;                          /* calls still to answer EVENTS_LOST */
	bool legacy;                            /* no event.inject / event.from */
	bool old_login;                         /* login_with_password takes 3 params at most */
	unsigned refused_logins;                /* logins old_login refused */
	char *passwords;                        /* accepted, comma-separated; NULL: --password */
};

/* An event.register subscription. */
struct rpc_reg {
	char session[SIM_REF_LEN];
	unsigned mask;
	uint64_t cursor;                        /* newest generation event.next has seen */
};

struct sim_rpc {
	struct sim *sim;
	struct rpc_waiter **waiters;
	size_t nwaiters, capwaiters;
	struct rpc_reg *regs;
	size_t nregs, capregs;
	struct rpc_pool_faults *faults;         /* indexed by pool, grown on demand */
	size_t nfaults;
};

/* One call being answered. */
struct rpc_req {
	struct sim_rpc_ctx ctx;
	struct xs_rpc_call call;
	struct xs_rpc_reply reply;
	struct sim_http_response *res;          /* to defer, when the call waits */
	size_t nparams;                         /* params, the session included */
	bool deferred;                          /* the arena now belongs to a waiter */
};

typedef void (*rpc_method_fn)(struct rpc_req *r);

struct rpc_method {
	const char *name;
	rpc_method_fn fn;
	int nparams;                            /* exact count, the session included */
};

struct sim_rpc *sim_rpc_new(struct sim *sim)
{
	struct sim_rpc *rpc = xs_xcalloc(1, sizeof(*rpc));

	rpc->sim = sim;
	return rpc;
}

static void rpc_waiter_free(struct sim *sim, struct rpc_waiter *w)
{
	if (w->timer && sim->loop)
		xs_evloop_cancel_timer(sim->loop, w->timer);
	xs_rpc_arena_free(&w->a);
	free(w);
}

void sim_rpc_free(struct sim_rpc **rpc)
{
	if (rpc == NULL || *rpc == NULL)
		return;
	for (size_t i = 0; i < (*rpc)->nwaiters; i++)
		rpc_waiter_free((*rpc)->sim, (*rpc)->waiters[i]);
	free((*rpc)->waiters);
	free((*rpc)->regs);
	for (size_t i = 0; i < (*rpc)->nfaults; i++)
		free((*rpc)->faults[i].passwords);
	free((*rpc)->faults);
	free(*rpc);
	*rpc = NULL;
}

/* --- small helpers --- */

static const char *rpc_param_str(const struct rpc_req *r, size_t i)
{
	const struct xs_rpc_value *v = xs_rpc_at(r->call.params, i);

	return v && (v->type == XS_RPC_STRING || v->type == XS_RPC_DATETIME) ? v->u.str.ptr : NULL;
}

static void rpc_ok(struct rpc_req *r, struct xs_rpc_value *v)
{
	r->reply.ok = true;
	r->reply.value = v;
}

static void rpc_fail(struct rpc_req *r, const char *code, const char *p1, const char *p2)
{
	sim_rpc_fail(&r->ctx, &r->reply, code, p1, p2, NULL);
}

static void rpc_token(uint64_t gen, char *out)
{
	snprintf(out, RPC_TOKEN_LEN, "%020llu,%020llu", (unsigned long long)gen, 0ull);
}

static double rpc_now(const struct sim *sim)
{
	return sim_clock_now(&sim->clock);
}

static struct rpc_reg *rpc_reg_find(struct sim_rpc *rpc, const char *session)
{
	for (size_t i = 0; i < rpc->nregs; i++)
		if (strcmp(rpc->regs[i].session, session) == 0)
			return &rpc->regs[i];
	return NULL;
}

static void rpc_reg_drop(struct sim_rpc *rpc, const char *session)
{
	struct rpc_reg *g = rpc_reg_find(rpc, session);

	if (g != NULL)
		*g = rpc->regs[--rpc->nregs];
}

/* The faults of pool; NULL for a bad pool, or one never switched unless grow. */
static struct rpc_pool_faults *rpc_faults(struct sim_rpc *rpc, int pool, bool grow)
{
	size_t n;

	if (rpc == NULL || pool < 0 || (size_t)pool >= sim_world_count(rpc->sim->world, SIM_POOL))
		return NULL;
	if ((size_t)pool >= rpc->nfaults) {
		if (!grow)
			return NULL;
		n = (size_t)pool + 1;
		rpc->faults = xs_xrealloc(rpc->faults, n * sizeof(*rpc->faults));
		memset(rpc->faults + rpc->nfaults, 0, (n - rpc->nfaults) * sizeof(*rpc->faults));
		rpc->nfaults = n;
	}
	return &rpc->faults[pool];
}

/* Takes one pending EVENTS_LOST of pool; false if none is pending. */
static bool rpc_lose_take(struct sim_rpc *rpc, int pool)
{
	struct rpc_pool_faults *pf = rpc_faults(rpc, pool, false);

	if (pf == NULL || pf->lose == 0)
		return false;
	pf->lose--;
	return true;
}

static bool rpc_is_legacy(struct sim_rpc *rpc, int pool)
{
	const struct rpc_pool_faults *pf = rpc_faults(rpc, pool, false);

	return pf != NULL && pf->legacy;
}

/* --- class sets --- */

/*
 * Parses a set of class names ("vm", "*", "vm/OpaqueRef:...") into f. Names
 * are case-insensitive; unknown ones are ignored, as xapi does.
 */
static void rpc_filter_parse(const struct sim_world *w, const struct xs_rpc_value *set,
			     struct rpc_filter *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; set && set->type == XS_RPC_ARRAY && i < set->u.arr.n; i++) {
		const struct xs_rpc_value *v = set->u.arr.items[i];
		const char *s, *slash;
		enum sim_class c;

		if (v->type != XS_RPC_STRING)
			continue;
		s = v->u.str.ptr;
		if (strcmp(s, "*") == 0) {
			f->mask = RPC_ALL_CLASSES;
			continue;
		}
		slash = strchr(s, '/');
		if (!sim_rpc_class_lookup(s, slash ? (size_t)(slash - s) : strlen(s), true, &c))
			continue;
		if (slash == NULL) {
			f->mask |= 1u << c;
		} else if (f->nobjs < RPC_MAX_FILTER_OBJS) {
			const struct sim_obj *o = sim_world_by_ref(w, slash + 1);

			if (o != NULL && o->cls == c) {
				f->objs[f->nobjs].cls = c;
				f->objs[f->nobjs].index = o->index;
				f->nobjs++;
			}
		}
	}
}

static bool rpc_filter_match(const struct rpc_filter *f, enum sim_class c, int index)
{
	if (f->mask & (1u << c))
		return true;
	for (size_t i = 0; i < f->nobjs; i++)
		if (f->objs[i].cls == c && f->objs[i].index == index)
			return true;
	return false;
}

/* --- events --- */

static struct xs_rpc_value *rpc_event_record(struct sim_rpc_ctx *ctx, uint64_t id,
					     const struct sim_obj *o, const char *op)
{
	struct xs_rpc_value *ev = xs_rpc_struct(ctx->a);
	char num[RPC_NUM_LEN];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	xs_rpc_struct_cset(ctx->a, ev, "id", xs_rpc_cstring(ctx->a, num));
	xs_rpc_struct_cset(ctx->a, ev, "timestamp", xs_rpc_cstring(ctx->a, "0.0"));
	xs_rpc_struct_cset(ctx->a, ev, "class", xs_rpc_cstring(ctx->a, sim_class_name(o->cls)));
	xs_rpc_struct_cset(ctx->a, ev, "operation", xs_rpc_cstring(ctx->a, op));
	xs_rpc_struct_cset(ctx->a, ev, "ref", xs_rpc_cstring(ctx->a, o->ref));
	if (strcmp(op, "del") != 0)
		xs_rpc_struct_cset(ctx->a, ev, "snapshot", sim_rpc_record(ctx, o->cls, o->index));
	return ev;
}

/* Every live object of the filter as "add" (the empty token). */
static void rpc_events_all(struct sim_rpc_ctx *ctx, const struct rpc_filter *f,
			   struct xs_rpc_value *events)
{
	const struct sim_world *w = ctx->sim->world;

	for (int c = 0; c < SIM_NCLASSES; c++) {
		size_t n = sim_world_count(w, (enum sim_class)c);

		for (size_t i = 0; i < n; i++) {
			const struct sim_obj *o = sim_world_get(w, (enum sim_class)c, (int)i);

			if (o->deleted || !rpc_filter_match(f, o->cls, o->index) ||
			    sim_rpc_obj_pool(w, o->cls, o->index) != ctx->pool)
				continue;
			xs_rpc_array_push(ctx->a, events,
					  rpc_event_record(ctx, o->gen_modified, o, "add"));
		}
	}
}

/* Objects touched after since, once each at their latest event (see the top). */
static void rpc_events_since(struct sim_rpc_ctx *ctx, const struct rpc_filter *f, uint64_t since,
			     struct xs_rpc_value *events)
{
	const struct sim_world *w = ctx->sim->world;
	uint64_t first = since + 1 > w->oldest_kept ? since + 1 : w->oldest_kept;

	for (uint64_t id = first; id <= w->generation; id++) {
		const struct sim_event *e = sim_world_event_at(w, id);
		const struct sim_obj *o = e ? sim_world_get(w, e->cls, e->index) : NULL;
		const char *op;

		if (o == NULL || o->gen_modified != id || !rpc_filter_match(f, e->cls, e->index) ||
		    sim_rpc_obj_pool(w, e->cls, e->index) != ctx->pool)
			continue;
		op = o->deleted ? "del" : o->gen_created > since ? "add" : "mod";
		xs_rpc_array_push(ctx->a, events, rpc_event_record(ctx, id, o, op));
	}
}

static struct xs_rpc_value *rpc_ref_counts(struct sim_rpc_ctx *ctx, const struct rpc_filter *f)
{
	const struct sim_world *w = ctx->sim->world;
	struct xs_rpc_value *st = xs_rpc_struct(ctx->a);
	unsigned mask = f->mask;

	for (size_t i = 0; i < f->nobjs; i++)
		mask |= 1u << f->objs[i].cls;
	for (int c = 0; c < SIM_NCLASSES; c++) {
		size_t n = sim_world_count(w, (enum sim_class)c);
		int64_t live = 0;

		if (!(mask & (1u << c)))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct sim_obj *o = sim_world_get(w, (enum sim_class)c, (int)i);

			live += !o->deleted && sim_rpc_obj_pool(w, o->cls, o->index) == ctx->pool;
		}
		xs_rpc_struct_cset(ctx->a, st, sim_class_name((enum sim_class)c),
				   xs_rpc_int(ctx->a, live));
	}
	return st;
}

/*
 * The answer of event.from for (filter, since) now. Returns false (reply
 * untouched) if there is nothing to report and the caller may wait.
 */
static bool rpc_from_eval(struct sim_rpc_ctx *ctx, const struct rpc_filter *f, uint64_t since,
			  bool final, struct xs_rpc_reply *reply)
{
	const struct sim_world *w = ctx->sim->world;
	struct xs_rpc_value *events, *st;
	char token[RPC_TOKEN_LEN];

	if (since != 0 && since + 1 < w->oldest_kept) {
		sim_rpc_fail(ctx, reply, "EVENTS_LOST", NULL, NULL, NULL);
		return true;
	}
	events = xs_rpc_array(ctx->a);
	if (since == 0)
		rpc_events_all(ctx, f, events);
	else
		rpc_events_since(ctx, f, since, events);
	if (events->u.arr.n == 0 && !final)
		return false;
	st = xs_rpc_struct(ctx->a);
	rpc_token(w->generation, token);
	xs_rpc_struct_cset(ctx->a, st, "events", events);
	xs_rpc_struct_cset(ctx->a, st, "valid_ref_counts", rpc_ref_counts(ctx, f));
	xs_rpc_struct_cset(ctx->a, st, "token", xs_rpc_cstring(ctx->a, token));
	reply->ok = true;
	reply->value = st;
	return true;
}

/* The answer of event.next for session now; false if nothing is queued yet. */
static bool rpc_next_eval(struct sim_rpc_ctx *ctx, struct sim_rpc *rpc, const char *session,
			  struct xs_rpc_reply *reply)
{
	const struct sim_world *w = ctx->sim->world;
	struct rpc_reg *g = rpc_reg_find(rpc, session);
	struct xs_rpc_value *events;
	struct rpc_filter f;

	if (g == NULL) {
		sim_rpc_fail(ctx, reply, "SESSION_NOT_REGISTERED", session, NULL, NULL);
		return true;
	}
	if (w->generation - g->cursor > RPC_LEGACY_QUEUE || g->cursor + 1 < w->oldest_kept ||
	    rpc_lose_take(rpc, ctx->pool)) {
		g->cursor = w->generation;
		sim_rpc_fail(ctx, reply, "EVENTS_LOST", NULL, NULL, NULL);
		return true;
	}
	memset(&f, 0, sizeof(f));
	f.mask = g->mask;
	events = xs_rpc_array(ctx->a);
	for (uint64_t id = g->cursor + 1; id <= w->generation; id++) {
		const struct sim_event *e = sim_world_event_at(w, id);
		const struct sim_obj *o = e ? sim_world_get(w, e->cls, e->index) : NULL;
		static const char *const ops[] = { "add", "mod", "del" };

		if (o == NULL || !rpc_filter_match(&f, e->cls, e->index) ||
		    sim_rpc_obj_pool(w, e->cls, e->index) != ctx->pool)
			continue;
		xs_rpc_array_push(ctx->a, events,
				  rpc_event_record(ctx, id, o, o->deleted ? "del" : ops[e->op]));
	}
	g->cursor = w->generation;
	if (events->u.arr.n == 0)
		return false;
	reply->ok = true;
	reply->value = events;
	return true;
}

/* --- waiting --- */

static void rpc_waiter_remove(struct sim_rpc *rpc, struct rpc_waiter *w)
{
	for (size_t i = 0; i < rpc->nwaiters; i++) {
		if (rpc->waiters[i] == w) {
			rpc->waiters[i] = rpc->waiters[--rpc->nwaiters];
			return;
		}
	}
}

static enum xs_err rpc_encode(struct sim_http_response *res, const struct xs_rpc_call *call,
			      const struct xs_rpc_reply *reply)
{
	enum xs_err rc;

	if (call->jsonrpc) {
		rc = xs_buf_append_str(&res->headers, "Content-Type: application/json\r\n");
		if (!rc)
			rc = xs_jsonrpc_encode_reply(&res->body, call, reply);
	} else {
		rc = xs_buf_append_str(&res->headers, "Content-Type: text/xml\r\n");
		if (!rc)
			rc = xs_xmlrpc_encode_reply(&res->body, reply);
	}
	if (rc) {
		xs_buf_free(&res->headers);
		xs_buf_free(&res->body);
		res->status = 500;
		res->close = true;
	}
	return rc;
}

/* Answers w if it has something to say (or final: its timeout), and frees it. */
static bool rpc_waiter_try(struct sim_rpc *rpc, struct rpc_waiter *w, bool final)
{
	struct sim *sim = rpc->sim;
	struct sim_http_response *res = sim->http ? sim_http_deferred(sim->http, w->defer_id) : NULL;
	struct sim_rpc_ctx ctx = { sim, w->a, w->pool, NULL };
	struct xs_rpc_reply reply = { false, NULL };
	bool done;

	if (res == NULL) {
		rpc_waiter_remove(rpc, w);
		rpc_waiter_free(sim, w);
		return true;
	}
	if (w->legacy)
		done = rpc_next_eval(&ctx, rpc, w->session, &reply);
	else
		done = rpc_from_eval(&ctx, &w->filter, w->since, final, &reply);
	if (!done) {
		sim_rpc_ctx_cleanup(&ctx);
		return false;
	}
	rpc_encode(res, &w->call, &reply);
	sim_rpc_ctx_cleanup(&ctx);
	rpc_waiter_remove(rpc, w);
	sim_http_send_deferred(sim->http, w->defer_id);
	rpc_waiter_free(sim, w);
	return true;
}

/* Answers w with the error code [p1] now (a fault), and frees it. */
static void rpc_waiter_fail(struct sim_rpc *rpc, struct rpc_waiter *w, const char *code,
			    const char *p1)
{
	struct sim *sim = rpc->sim;
	struct sim_http_response *res = sim->http ? sim_http_deferred(sim->http, w->defer_id) : NULL;
	struct sim_rpc_ctx ctx = { sim, w->a, w->pool, NULL };
	struct xs_rpc_reply reply = { false, NULL };

	rpc_waiter_remove(rpc, w);
	if (res != NULL) {
		sim_rpc_fail(&ctx, &reply, code, p1, NULL, NULL);
		rpc_encode(res, &w->call, &reply);
		sim_http_send_deferred(sim->http, w->defer_id);
	}
	sim_rpc_ctx_cleanup(&ctx);
	rpc_waiter_free(sim, w);
}

static void rpc_waiter_timeout(struct xs_evloop *loop, void *arg)
{
	struct rpc_waiter *w = arg;

	(void)loop;
	w->timer = 0;
	rpc_waiter_try(w->sim->rpc, w, true);
}

/* Turns r into a waiter; false if it cannot wait (the caller answers at once). */
static bool rpc_wait(struct rpc_req *r, const struct rpc_filter *f, uint64_t since,
		     double timeout, bool legacy)
{
	struct sim *sim = r->ctx.sim;
	struct sim_rpc *rpc = sim->rpc;
	struct rpc_waiter *w;
	const char *session = rpc_param_str(r, 0);
	uint64_t defer_id;

	if (sim->http == NULL || sim->loop == NULL || r->res == NULL ||
	    rpc->nwaiters >= RPC_MAX_WAITERS)
		return false;
	defer_id = sim_http_defer(r->res);
	if (defer_id == 0)
		return false; /* not a live connection's response */
	w = xs_xcalloc(1, sizeof(*w));
	w->sim = sim;
	w->defer_id = defer_id;
	w->a = r->ctx.a;
	w->call = r->call;
	w->legacy = legacy;
	w->pool = r->ctx.pool;
	snprintf(w->session, sizeof(w->session), "%s", session ? session : "");
	if (f != NULL)
		w->filter = *f;
	w->since = since;
	if (rpc->nwaiters == rpc->capwaiters) {
		rpc->capwaiters = rpc->capwaiters ? 2 * rpc->capwaiters : 16;
		rpc->waiters = xs_xrealloc(rpc->waiters, rpc->capwaiters * sizeof(*rpc->waiters));
	}
	rpc->waiters[rpc->nwaiters++] = w;
	if (!legacy)
		w->timer = xs_evloop_add_timer(sim->loop, timeout, rpc_waiter_timeout, w);
	r->deferred = true;
	return true;
}

void sim_rpc_notify(struct sim *sim)
{
	struct sim_rpc *rpc = sim->rpc;
	size_t i = 0;

	if (rpc == NULL)
		return;
	while (i < rpc->nwaiters) {
		/* an answered waiter is swapped out: look at slot i again */
		if (!rpc_waiter_try(rpc, rpc->waiters[i], false))
			i++;
	}
}

/* Answers up to max waiters of pool (event.next ones too, or not) with code [p1]. */
static size_t rpc_fail_waiters(struct sim_rpc *rpc, int pool, bool legacy_too, size_t max,
			       const char *code, const char *p1)
{
	size_t i = 0, n = 0;

	while (i < rpc->nwaiters && n < max) {
		struct rpc_waiter *w = rpc->waiters[i];

		if (w->pool != pool || (w->legacy && !legacy_too)) {
			i++;
			continue;
		}
		if (w->legacy) {
			struct rpc_reg *g = rpc_reg_find(rpc, w->session);

			if (g != NULL) /* as after an overflow: the queue starts again */
				g->cursor = rpc->sim->world->generation;
		}
		rpc_waiter_fail(rpc, w, code, p1); /* swapped out: look at slot i again */
		n++;
	}
	return n;
}

size_t sim_rpc_lose_events(struct sim *sim, int pool, unsigned count)
{
	struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, true);
	size_t woken;

	if (pf == NULL)
		return 0;
	woken = rpc_fail_waiters(sim->rpc, pool, true, count, "EVENTS_LOST", NULL);
	pf->lose = count - (unsigned)woken;
	return woken;
}

size_t sim_rpc_set_legacy(struct sim *sim, int pool, bool on)
{
	struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, true);

	if (pf == NULL)
		return 0;
	pf->legacy = on;
	if (!on)
		return 0;
	return rpc_fail_waiters(sim->rpc, pool, false, SIZE_MAX, "MESSAGE_METHOD_UNKNOWN",
				"event.from");
}

void sim_rpc_event_faults(const struct sim *sim, int pool, unsigned *lose, bool *legacy)
{
	const struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, false);

	*lose = pf ? pf->lose : 0;
	*legacy = pf ? pf->legacy : false;
}

void sim_rpc_set_old_login(struct sim *sim, int pool, bool on)
{
	struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, true);

	if (pf != NULL)
		pf->old_login = on;
}

size_t sim_rpc_set_passwords(struct sim *sim, int pool, const char *list)
{
	struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, true);
	size_t n = 1;

	if (pf == NULL)
		return 0;
	free(pf->passwords);
	pf->passwords = list && list[0] ? xs_xstrndup(list, strlen(list)) : NULL;
	for (const char *p = pf->passwords; p && *p; p++)
		n += *p == ',';
	return n;
}

/* Whether pwd opens a session of pool: one of its password list, else --password. */
static bool rpc_password_ok(const struct sim *sim, int pool, const char *pwd)
{
	const struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, false);
	size_t n = strlen(pwd);

	if (pf == NULL || pf->passwords == NULL)
		return strcmp(pwd, sim->opt.password ? sim->opt.password : "") == 0;
	for (const char *p = pf->passwords;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !memcmp(p, pwd, n))
			return true;
		if (!end)
			return false;
		p = end + 1;
	}
}

void sim_rpc_login_faults(const struct sim *sim, int pool, bool *old_login, unsigned *refused)
{
	const struct rpc_pool_faults *pf = rpc_faults(sim->rpc, pool, false);

	*old_login = pf ? pf->old_login : false;
	*refused = pf ? pf->refused_logins : 0;
}

/* --- methods --- */

static void rpc_m_list_methods(struct rpc_req *r);

static void rpc_m_login(struct rpc_req *r)
{
	const char *user = rpc_param_str(r, 0), *pwd = rpc_param_str(r, 1);
	const char *originator = rpc_param_str(r, 3);
	const struct sim_options *opt = &r->ctx.sim->opt;
	char ref[SIM_REF_LEN];

	if (user == NULL || pwd == NULL || strcmp(user, opt->user ? opt->user : "") != 0 ||
	    !rpc_password_ok(r->ctx.sim, r->ctx.pool, pwd)) {
		rpc_fail(r, "SESSION_AUTHENTICATION_FAILED", user ? user : "",
			 "Authentication failure");
		return;
	}
	sim_session_create(r->ctx.sim->sessions, r->ctx.pool, user, originator, rpc_now(r->ctx.sim),
			   ref);
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, ref));
}

static void rpc_m_logout(struct rpc_req *r)
{
	const char *session = rpc_param_str(r, 0);

	rpc_reg_drop(r->ctx.sim->rpc, session);
	sim_session_destroy(r->ctx.sim->sessions, session);
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, ""));
}

static void rpc_m_inject(struct rpc_req *r)
{
	struct sim_world *w = r->ctx.sim->world;
	const char *cls = rpc_param_str(r, 1), *ref = rpc_param_str(r, 2);
	const struct sim_obj *o = ref ? sim_world_by_ref(w, ref) : NULL;
	enum sim_class c;
	char token[RPC_TOKEN_LEN];

	if (cls == NULL || !sim_rpc_class_lookup(cls, strlen(cls), true, &c)) {
		rpc_fail(r, "HANDLE_INVALID", cls ? cls : "", ref ? ref : "");
		return;
	}
	if (o == NULL || o->cls != c || sim_rpc_obj_pool(w, c, o->index) != r->ctx.pool) {
		rpc_fail(r, "HANDLE_INVALID", sim_rpc_class_api_name(c), ref ? ref : "");
		return;
	}
	/* xapi touches the row and returns the token just before that generation */
	sim_world_event(w, c, o->index, SIM_EV_MOD);
	rpc_token(w->generation - 1, token);
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, token));
	sim_rpc_notify(r->ctx.sim);
}

/* A token "<generation>,<message generation>" ("" = 0); false if malformed. */
static bool rpc_token_parse(const char *s, uint64_t *gen)
{
	char *end;
	unsigned long long g;

	*gen = 0;
	if (*s == '\0')
		return true;
	if (*s < '0' || *s > '9')
		return false;
	g = strtoull(s, &end, 10);
	if (*end != ',' || end[1] < '0' || end[1] > '9')
		return false;
	(void)strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return false;
	*gen = g;
	return true;
}

/* A float parameter: only a float, as the ocaml-rpc of older xapis reads it (float_of_rpc
 * takes Float alone; later ones take Int and String too). Clients must send <double> (SPEC
 * §4.3, event.from), so the strict reading is the one a client is tested against. */
static bool rpc_param_double(const struct xs_rpc_value *v, double *out)
{
	if (v == NULL || v->type != XS_RPC_DOUBLE)
		return false;
	*out = v->u.d;
	return isfinite(*out) || *out > 0;
}

static void rpc_m_event_from(struct rpc_req *r)
{
	const struct xs_rpc_value *classes = xs_rpc_at(r->call.params, 1);
	const char *token = rpc_param_str(r, 2);
	struct rpc_filter f;
	uint64_t since;
	double timeout;

	if (classes == NULL || classes->type != XS_RPC_ARRAY) {
		rpc_fail(r, "FIELD_TYPE_ERROR", "classes", NULL);
		return;
	}
	if (!rpc_param_double(xs_rpc_at(r->call.params, 3), &timeout)) {
		rpc_fail(r, "FIELD_TYPE_ERROR", "timeout", NULL);
		return;
	}
	if (token == NULL || !rpc_token_parse(token, &since)) {
		rpc_fail(r, "EVENT_FROM_TOKEN_PARSE_FAILURE", token ? token : "", NULL);
		return;
	}
	if (rpc_lose_take(r->ctx.sim->rpc, r->ctx.pool)) {
		rpc_fail(r, "EVENTS_LOST", NULL, NULL);
		return;
	}
	rpc_filter_parse(r->ctx.sim->world, classes, &f);
	if (rpc_from_eval(&r->ctx, &f, since, false, &r->reply))
		return;
	if (timeout > RPC_MAX_TIMEOUT)
		timeout = RPC_MAX_TIMEOUT;
	if (timeout > 0 && rpc_wait(r, &f, since, timeout, false))
		return;
	rpc_from_eval(&r->ctx, &f, since, true, &r->reply);
}

static void rpc_m_register(struct rpc_req *r)
{
	struct sim_rpc *rpc = r->ctx.sim->rpc;
	const char *session = rpc_param_str(r, 0);
	struct rpc_reg *g = rpc_reg_find(rpc, session);
	struct rpc_filter f;

	rpc_filter_parse(r->ctx.sim->world, xs_rpc_at(r->call.params, 1), &f);
	if (g == NULL) {
		if (rpc->nregs == rpc->capregs) {
			rpc->capregs = rpc->capregs ? 2 * rpc->capregs : 16;
			rpc->regs = xs_xrealloc(rpc->regs, rpc->capregs * sizeof(*rpc->regs));
		}
		g = &rpc->regs[rpc->nregs++];
		memset(g, 0, sizeof(*g));
		snprintf(g->session, sizeof(g->session), "%s", session);
		g->cursor = r->ctx.sim->world->generation;
	}
	g->mask |= f.mask;
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, ""));
}

static void rpc_m_unregister(struct rpc_req *r)
{
	struct rpc_reg *g = rpc_reg_find(r->ctx.sim->rpc, rpc_param_str(r, 0));
	struct rpc_filter f;

	rpc_filter_parse(r->ctx.sim->world, xs_rpc_at(r->call.params, 1), &f);
	if (g != NULL)
		g->mask &= ~f.mask;
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, ""));
}

static void rpc_m_next(struct rpc_req *r)
{
	const char *session = rpc_param_str(r, 0);

	if (rpc_next_eval(&r->ctx, r->ctx.sim->rpc, session, &r->reply))
		return;
	if (rpc_wait(r, NULL, 0, 0, true))
		return;
	rpc_ok(r, xs_rpc_array(r->ctx.a));
}

static void rpc_m_current_id(struct rpc_req *r)
{
	char num[RPC_NUM_LEN];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->ctx.sim->world->generation);
	rpc_ok(r, xs_rpc_cstring(r->ctx.a, num));
}

static const struct rpc_method rpc_methods[] = {
	{ "system.listMethods", rpc_m_list_methods, 0 },
	{ "session.login_with_password", rpc_m_login, -1 }, /* RPC_LOGIN_MIN/MAX_PARAMS */
	{ "session.logout", rpc_m_logout, 1 },
	{ "event.inject", rpc_m_inject, 3 },
	{ "event.from", rpc_m_event_from, 4 },
	{ "event.register", rpc_m_register, 2 },
	{ "event.unregister", rpc_m_unregister, 2 },
	{ "event.next", rpc_m_next, 1 },
	{ "event.get_current_id", rpc_m_current_id, 1 },
};

/* Whether the pool's xapi lacks method (the legacy fault: before 6.0). */
static bool rpc_method_hidden(const struct rpc_req *r, const char *method)
{
	return (strcmp(method, "event.from") == 0 || strcmp(method, "event.inject") == 0) &&
	       rpc_is_legacy(r->ctx.sim->rpc, r->ctx.pool);
}

static void rpc_m_list_methods(struct rpc_req *r)
{
	struct xs_rpc_value *arr = xs_rpc_array(r->ctx.a);

	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++)
		if (!rpc_method_hidden(r, rpc_methods[i].name))
			xs_rpc_array_push(r->ctx.a, arr,
					  xs_rpc_cstring(r->ctx.a, rpc_methods[i].name));
	sim_rpc_class_methods(&r->ctx, arr);
	rpc_ok(r, arr);
}

/* --- dispatch --- */

/* Whether r has as many params as e takes; else fails r with
 * MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, given]. */
static bool rpc_check_count(struct rpc_req *r, const struct rpc_method *e)
{
	struct rpc_pool_faults *pf = rpc_faults(r->ctx.sim->rpc, r->ctx.pool, false);
	bool login = e->nparams < 0, old = login && pf != NULL && pf->old_login;
	size_t max = old ? RPC_OLD_LOGIN_PARAMS : login ? RPC_LOGIN_MAX_PARAMS : (size_t)e->nparams;
	size_t min = login ? RPC_LOGIN_MIN_PARAMS : max;

	if (r->nparams >= min && r->nparams <= max)
		return true;
	if (old && r->nparams > max && r->nparams <= RPC_LOGIN_MAX_PARAMS)
		pf->refused_logins++;
	sim_rpc_fail_count(&r->ctx, &r->reply, e->name, max, r->nparams);
	return false;
}

/* The session is params[0] and valid for this pool; else fails r and returns false. */
static bool rpc_check_session(struct rpc_req *r)
{
	const char *session = rpc_param_str(r, 0);

	if (session == NULL ||
	    sim_session_check(r->ctx.sim->sessions, session, rpc_now(r->ctx.sim)) != r->ctx.pool) {
		rpc_fail(r, "SESSION_INVALID", session ? session : "", NULL);
		return false;
	}
	return true;
}

static void rpc_dispatch(struct rpc_req *r)
{
	const char *m = r->call.method ? r->call.method : "";
	const char *dot = strchr(m, '.');
	enum sim_class c;

	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++) {
		const struct rpc_method *e = &rpc_methods[i];

		if (strcmp(m, e->name) != 0)
			continue;
		if (rpc_method_hidden(r, m))
			break; /* MESSAGE_METHOD_UNKNOWN below */
		if (!rpc_check_count(r, e))
			return;
		if (e->nparams > 0 && !rpc_check_session(r))
			return;
		e->fn(r);
		return;
	}
	if (dot != NULL && !rpc_method_hidden(r, m) &&
	    sim_rpc_class_lookup(m, (size_t)(dot - m), false, &c)) {
		if (r->nparams < 1) {
			sim_rpc_fail_count(&r->ctx, &r->reply, m, 1, 0);
			return;
		}
		if (!rpc_check_session(r))
			return;
		if (sim_rpc_class_call(&r->ctx, c, m, dot + 1, r->call.params, r->nparams - 1,
				       &r->reply))
			return;
	}
	rpc_fail(r, "MESSAGE_METHOD_UNKNOWN", m, NULL);
}

static bool rpc_slice_eq(struct sim_http_slice s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* A body that does not decode: HTTP 500 for XML-RPC, an error envelope for JSON-RPC. */
static void rpc_bad_body(struct xs_rpc_arena *a, bool json, const char *err,
			 struct sim_http_response *res)
{
	struct xs_rpc_call call = { "", NULL, NULL, 2 };
	struct xs_rpc_reply reply = { false, xs_rpc_array(a) };

	if (!json) {
		res->status = 500;
		res->close = true;
		if (xs_buf_append_str(&res->headers, "Content-Type: text/html\r\n") ||
		    xs_buf_append_str(&res->body, rpc_html_500))
			res->status = 500; /* the headers and body were freed: an empty 500 */
		return;
	}
	call.id = xs_rpc_nil(a);
	xs_rpc_array_push(a, reply.value, xs_rpc_cstring(a, "INTERNAL_ERROR"));
	xs_rpc_array_push(a, reply.value, xs_rpc_cstring(a, err));
	rpc_encode(res, &call, &reply);
}

void sim_rpc_handle(struct sim *sim, const struct sim_http_request *req,
		    struct sim_http_response *res)
{
	bool json = rpc_slice_eq(req->path, "/jsonrpc");
	const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, req->listener);
	const struct sim_pool *pool = h ? SIM_GET(sim->world, SIM_POOL, sim_pool, h->pool) : NULL;
	struct rpc_req r;
	char err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (!rpc_slice_eq(req->method, "POST")) {
		res->status = 405;
		if (xs_buf_append_str(&res->headers, "Allow: POST\r\n"))
			res->status = 500;
		return;
	}
	if (pool == NULL) {
		res->status = 500;
		return;
	}
	memset(&r, 0, sizeof(r));
	r.ctx.sim = sim;
	r.ctx.a = xs_rpc_arena_new();
	r.ctx.pool = pool->o.index;
	r.res = res;
	if (json)
		rc = xs_jsonrpc_decode_call(req->body.ptr ? req->body.ptr : "", req->body.len,
					    r.ctx.a, &r.call, err);
	else
		rc = xs_xmlrpc_decode_call(req->body.ptr ? req->body.ptr : "", req->body.len,
					   r.ctx.a, &r.call, err);
	if (rc) {
		rpc_bad_body(r.ctx.a, json, err, res);
		goto out;
	}
	r.nparams = r.call.params && r.call.params->type == XS_RPC_ARRAY ? r.call.params->u.arr.n : 0;
	if (pool->master != h->o.index) {
		const struct sim_host *m = SIM_GET(sim->world, SIM_HOST, sim_host, pool->master);

		rpc_fail(&r, "HOST_IS_SLAVE", m ? m->address : "", NULL);
	} else {
		rpc_dispatch(&r);
	}
	if (r.deferred) {
		sim_rpc_ctx_cleanup(&r.ctx);
		return; /* the waiter owns the arena now */
	}
	rpc_encode(res, &r.call, &r.reply);
out:
	sim_rpc_ctx_cleanup(&r.ctx);
	xs_rpc_arena_free(&r.ctx.a);
}
