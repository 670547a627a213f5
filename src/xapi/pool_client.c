/*
 * pool_client.c - the life of one pool's XAPI session (see pool_client.h).
 *
 * One chain of calls at a time drives the pool: login → pool.get_all →
 * event.inject (or event.register) → <class>.get_all_records for every class
 * → event.from loop (once the pool record is loaded, cfg.admit may refuse the
 * pool: session.logout, then back off). `step` says which call of the chain
 * is in flight and pc_on_chain() moves to the next one; every error of the
 * chain goes through pc_chain_error(), which knows what each XAPI error code
 * asks for. Beside the chain, a second, independent sequence measures the
 * hosts' clocks (host.get_servertime, one host at a time), so a long
 * event.from wait never delays it and a failing host only costs a warning.
 *
 * Every callback does a bounded amount of work: one reply decoded, applied,
 * and the next call submitted.
 */
#include "xapi/pool_client.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"

#define PC_CALL_TIMEOUT 30.0
#define PC_CALL_TIMEOUT_GROWTH 10.0 /* the call timeout grows to at most this many times the set one */
#define PC_EVENT_TIMEOUT 30.0
#define PC_BACKOFF_MIN 1.0
#define PC_BACKOFF_MAX 300.0
#define PC_SERVERTIME_INTERVAL 600.0
#define PC_CLOCK_RECHECK 30.0  /* xs_pool_client_check_clocks: seconds between sequences */
#define PC_LOGOUT_TIMEOUT 5.0
#define PC_MAX_REDIRECTS 5    /* HOST_IS_SLAVE hops in a row before backing off */
#define PC_MAX_RELOGINS 3     /* SESSION_INVALID right after a login, in a row */
#define PC_SESSION_FAILED_INTERVAL 30.0 /* xs_pool_client_session_failed: seconds between re-logins */
#define PC_REF_LEN 128
#define PC_TOKEN_LEN 128
#define PC_UUID_LEN 48
#define PC_JITTER 0.25        /* ± fraction of a backoff delay */
#define PC_LOGIN_PARAMS 4     /* user, password, version, originator */
#define PC_SHORT_LOGIN_PARAMS 2 /* user, password: xapi before XenServer 6.2 */

/* The classes the topology keeps: XAPI's name (get_all_records) and event name. */
static const struct {
	enum xs_topo_class cls;
	const char *api;         /* "<api>.get_all_records" */
	const char *event;       /* event.from class name */
} pc_classes[] = {
	{ XS_TOPO_POOL, "pool", "pool" },
	{ XS_TOPO_HOST, "host", "host" },
	{ XS_TOPO_HOST_METRICS, "host_metrics", "host_metrics" },
	{ XS_TOPO_NETWORK, "network", "network" },
	{ XS_TOPO_PIF, "PIF", "pif" },
	{ XS_TOPO_SR, "SR", "sr" },
	{ XS_TOPO_PBD, "PBD", "pbd" },
	{ XS_TOPO_VDI, "VDI", "vdi" },
	{ XS_TOPO_VM, "VM", "vm" },
	{ XS_TOPO_VM_METRICS, "VM_metrics", "vm_metrics" },
	{ XS_TOPO_VM_GUEST_METRICS, "VM_guest_metrics", "vm_guest_metrics" },
	{ XS_TOPO_VBD, "VBD", "vbd" },
	{ XS_TOPO_VIF, "VIF", "vif" },
};
#define PC_NCLASSES (sizeof(pc_classes) / sizeof(pc_classes[0]))

enum pc_step {
	PC_IDLE, PC_LOGIN, PC_POOL_REFS, PC_INJECT, PC_REGISTER, PC_LOAD, PC_EVENTS, PC_LOGOUT,
	PC_DROP      /* session.logout after admit refused the pool, then back off */
};

struct pc_offset {
	char uuid[PC_UUID_LEN];
	double offset;
	double measured_at;     /* loop time (xs_evloop_now) of the exchange's end */
};

struct xs_pool_client {
	struct xs_evloop *loop;
	struct xs_http *http;
	struct xs_rpc_conn *conn;
	struct xs_pool_config cfg;    /* strings below replace cfg's pointers */
	char *name, *url, *user, *password;
	char scheme[8];               /* "http" / "https" */
	char port[8];                 /* ":443" or "" */
	char master[XS_RPC_URL_LEN];  /* the master's base URL as last known */
	double call_timeout;          /* ordinary calls' timeout now: see pc_grow_timeout */
	double slowest;               /* the slowest ordinary call answered since the last load */
	char session[PC_REF_LEN];
	char pool_ref[PC_REF_LEN];
	char token[PC_TOKEN_LEN];
	enum xs_pool_state state;
	char reason[XS_POOL_REASON_LEN];
	char warning[XS_POOL_REASON_LEN];
	char refused[XS_POOL_REASON_LEN]; /* admit's why, the reason of the backoff after PC_DROP */
	struct xs_topo *topo;
	bool loaded, legacy, stopping;
	bool short_login;             /* logins send user and password only */
	bool retry_after_drop;        /* xs_pool_client_retry() during PC_DROP: retry once it ends */
	enum pc_step step;            /* the chain call in flight */
	enum pc_step after_login;     /* PC_EVENTS: resume events; else reload */
	size_t load_index;            /* pc_classes entry being loaded */
	uint64_t call;                /* the chain call's id */
	uint64_t retry_timer;
	unsigned attempts;            /* failures in a row */
	unsigned redirects, relogins;
	unsigned lost_in_row;         /* EVENTS_LOST with no event batch between */
	double failed_at;             /* loop time of the last re-login asked by
				       * xs_pool_client_session_failed, 0: never */
	unsigned seed;                /* jitter */
	/* clocks */
	uint64_t st_call, st_timer;
	double st_began;              /* loop time the last sequence started, 0: never */
	size_t st_index;
	char st_uuid[PC_UUID_LEN];
	struct pc_offset *offsets;
	size_t noffsets, capoffsets;
	struct xs_pool_stats stats;
};

static void pc_connect(struct xs_pool_client *pc);
static void pc_begin_load(struct xs_pool_client *pc);
static void pc_events_next(struct xs_pool_client *pc);
static void pc_st_start(struct xs_pool_client *pc);

/* --- small helpers --- */

/* snprintf for messages that may be cut (reasons, warnings). */
__attribute__((format(printf, 3, 4))) static void pc_fmt(char *out, size_t cap, const char *fmt,
							  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

static char *pc_strdup(const char *s)
{
	return xs_xstrndup(s ? s : "", s ? strlen(s) : 0);
}

static void pc_notify(struct xs_pool_client *pc, unsigned what)
{
	if (pc->cfg.on_change)
		pc->cfg.on_change(pc->cfg.arg, pc, what);
}

static void pc_set_state(struct xs_pool_client *pc, enum xs_pool_state s, const char *reason)
{
	bool changed = pc->state != s || strcmp(pc->reason, reason ? reason : "") != 0;

	pc->state = s;
	snprintf(pc->reason, sizeof(pc->reason), "%s", reason ? reason : "");
	if (changed)
		pc_notify(pc, XS_POOL_CHANGE_STATE);
}

static double pc_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Splits a base URL into scheme and port (the host part is replaced on HOST_IS_SLAVE). */
static enum xs_err pc_parse_url(struct xs_pool_client *pc, const char *url, char *err)
{
	const char *host = strstr(url, "://"), *end, *colon = NULL;
	size_t n;

	if (host == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return xs_err_set(err, XS_ERR_ARG, "pool URL must start with http:// or https://");
	snprintf(pc->scheme, sizeof(pc->scheme), "%.*s", (int)(host - url), url);
	host += 3;
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return xs_err_set(err, XS_ERR_ARG, "pool URL: no host, or user-info left in it");
	/* the port follows the last ':' outside an IPv6 literal's brackets */
	for (const char *p = host; p < end; p++) {
		if (*p == ']')
			colon = NULL;
		else if (*p == ':')
			colon = p;
	}
	if (colon && (size_t)(end - colon) < sizeof(pc->port))
		snprintf(pc->port, sizeof(pc->port), "%.*s", (int)(end - colon), colon);
	n = (size_t)(end - url);
	if (n >= sizeof(pc->master))
		return xs_err_set(err, XS_ERR_TOO_LARGE, "pool URL longer than %zu bytes",
				  sizeof(pc->master) - 1);
	snprintf(pc->master, sizeof(pc->master), "%.*s", (int)n, url);
	return XS_OK;
}

/*
 * The base URL of address on the pool's scheme and port; false (out "") when address
 * cannot be a URL's host or the URL would not fit. address comes from the wire (a
 * HOST_IS_SLAVE parameter, a host record): a '/', '?', '#' or '@' in it would move the
 * pool's port into a path or the host into user-info, and a cut URL would lose the port.
 * Taken: a name or an IPv4 address (letters, digits, '-', '.', '_'), or an IPv6 address
 * (with ':' and a '%' zone; bracketed here when it is not already).
 */
static bool pc_url_of(const struct xs_pool_client *pc, const char *address, char *out,
		      size_t cap)
{
	static const char host_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ-._:%";
	size_t n = strlen(address);
	bool bracketed = n > 2 && address[0] == '[' && address[n - 1] == ']';
	bool v6 = strchr(address, ':') != NULL && !bracketed;
	int len;

	out[0] = '\0';
	if (n == 0 || strspn(address + bracketed, host_chars) != n - 2 * bracketed)
		return false;
	len = snprintf(out, cap, "%s://%s%s%s%s", pc->scheme, v6 ? "[" : "", address,
		       v6 ? "]" : "", pc->port);
	if (len < 0 || (size_t)len >= cap) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* A one-line description of a failed reply: "CODE param param (method)". */
static void pc_describe(const struct xs_rpc_result *res, char *out, size_t cap)
{
	size_t n;

	if (res->rc != XS_OK) {
		snprintf(out, cap, "%s", res->error);
		return;
	}
	n = (size_t)snprintf(out, cap, "%s", xs_rpc_reply_code(&res->reply));
	for (size_t i = 0; i < 3 && n < cap; i++) {
		const char *p = xs_rpc_reply_param(&res->reply, i);

		if (p == NULL)
			break;
		n += (size_t)snprintf(out + n, cap - n, " %s", p);
	}
	if (n < cap)
		snprintf(out + n, cap - n, " (%s)", res->method);
}

/* --- calls --- */

static void pc_on_chain(void *arg, const struct xs_rpc_result *res);

/* Submits a chain call; params is built in a (freed by the caller). */
static void pc_chain_call(struct xs_pool_client *pc, enum pc_step step, const char *method,
			  const struct xs_rpc_value *params, double timeout);

static struct xs_rpc_value *pc_params(struct xs_rpc_arena *a, const char *const *strs, size_t n)
{
	struct xs_rpc_value *arr = xs_rpc_array(a);

	for (size_t i = 0; i < n; i++)
		xs_rpc_array_push(a, arr, xs_rpc_cstring(a, strs[i]));
	return arr;
}

static void pc_chain_strs(struct xs_pool_client *pc, enum pc_step step, const char *method,
			  const char *const *strs, size_t n, double timeout)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();

	pc_chain_call(pc, step, method, pc_params(a, strs, n), timeout);
	xs_rpc_arena_free(&a);
}

/* --- backoff and failure --- */

static void pc_retry(struct xs_evloop *loop, void *arg)
{
	struct xs_pool_client *pc = arg;
	size_t nhosts = xs_topo_count(pc->topo, XS_TOPO_HOST);

	(void)loop;
	pc->retry_timer = 0;
	/* after the master failed twice, try the members too: one of them names the new master */
	if (pc->attempts >= 2 && nhosts > 0) {
		size_t k = (pc->attempts - 1) % (nhosts + 1);
		const struct xs_topo_host *h = k ? xs_topo_host_at(pc->topo, k - 1) : NULL;
		char url[XS_RPC_URL_LEN];

		if (h && h->address && h->address[0]) {
			if (!pc_url_of(pc, h->address, url, sizeof(url)) ||
			    xs_rpc_conn_set_base(pc->conn, url, NULL) != XS_OK)
				xs_rpc_conn_set_base(pc->conn, pc->master, NULL);
		} else {
			xs_rpc_conn_set_base(pc->conn, pc->master, NULL);
		}
	} else {
		xs_rpc_conn_set_base(pc->conn, pc->master, NULL);
	}
	pc_connect(pc);
}

static void pc_fail(struct xs_pool_client *pc, const char *reason)
{
	pc_set_state(pc, XS_POOL_FAILED, reason);
}

/* A transient failure: back off, or give up after max_attempts. */
static void pc_backoff(struct xs_pool_client *pc, const char *reason)
{
	double delay, jitter;
	char msg[XS_POOL_REASON_LEN];

	pc->stats.failures++;
	pc->attempts++;
	pc->step = PC_IDLE;
	if (pc->cfg.max_attempts && pc->attempts >= pc->cfg.max_attempts) {
		pc_fail(pc, reason);
		return;
	}
	delay = pc->cfg.backoff_min * pow(2.0, (double)(pc->attempts - 1));
	if (delay > pc->cfg.backoff_max)
		delay = pc->cfg.backoff_max;
	jitter = ((double)rand_r(&pc->seed) / (double)RAND_MAX * 2.0 - 1.0) * PC_JITTER;
	delay *= 1.0 + jitter;
	pc_fmt(msg, sizeof(msg), "%s; retrying in %.1f s", reason, delay);
	pc->retry_timer = xs_evloop_add_timer(pc->loop, delay, pc_retry, pc);
	pc_set_state(pc, XS_POOL_BACKOFF, msg);
}

/* --- the chain --- */

static void pc_chain_call(struct xs_pool_client *pc, enum pc_step step, const char *method,
			  const struct xs_rpc_value *params, double timeout)
{
	char err[XS_ERR_LEN];

	pc->step = step;
	pc->call = xs_rpc_call(pc->conn, method, params, timeout, pc_on_chain, pc, err);
	if (pc->call == 0)
		pc_backoff(pc, err);
}

static void pc_login(struct xs_pool_client *pc)
{
	const char *args[] = { pc->user, pc->password, XS_POOL_API_VERSION, XS_POOL_ORIGINATOR };

	pc_chain_strs(pc, PC_LOGIN, "session.login_with_password", args,
		      pc->short_login ? PC_SHORT_LOGIN_PARAMS : PC_LOGIN_PARAMS, pc->call_timeout);
}

static void pc_connect(struct xs_pool_client *pc)
{
	if (pc->state != XS_POOL_CONNECTING)
		pc_set_state(pc, XS_POOL_CONNECTING, NULL);
	if (pc->session[0])
		pc_begin_load(pc);
	else
		pc_login(pc);
}

static void pc_begin_load(struct xs_pool_client *pc)
{
	const char *args[] = { pc->session };

	if (pc->state != XS_POOL_CONNECTING)
		pc_set_state(pc, XS_POOL_CONNECTING, NULL);
	pc_chain_strs(pc, PC_POOL_REFS, "pool.get_all", args, 1, pc->call_timeout);
}

static void pc_load_next(struct xs_pool_client *pc)
{
	const char *args[] = { pc->session };
	char method[64];

	snprintf(method, sizeof(method), "%s.get_all_records", pc_classes[pc->load_index].api);
	pc_chain_strs(pc, PC_LOAD, method, args, 1, pc->call_timeout);
}

static struct xs_rpc_value *pc_event_classes(struct xs_rpc_arena *a)
{
	struct xs_rpc_value *arr = xs_rpc_array(a);

	for (size_t i = 0; i < PC_NCLASSES; i++)
		xs_rpc_array_push(a, arr, xs_rpc_cstring(a, pc_classes[i].event));
	return arr;
}

/* After pool.get_all: take the event token (or register), then load. */
static void pc_start_events(struct xs_pool_client *pc)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_value *params = xs_rpc_array(a);

	xs_rpc_array_push(a, params, xs_rpc_cstring(a, pc->session));
	if (pc->legacy) {
		xs_rpc_array_push(a, params, pc_event_classes(a));
		pc_chain_call(pc, PC_REGISTER, "event.register", params, pc->call_timeout);
	} else {
		xs_rpc_array_push(a, params, xs_rpc_cstring(a, "pool"));
		xs_rpc_array_push(a, params, xs_rpc_cstring(a, pc->pool_ref));
		pc_chain_call(pc, PC_INJECT, "event.inject", params, pc->call_timeout);
	}
	xs_rpc_arena_free(&a);
}

static void pc_events_next(struct xs_pool_client *pc)
{
	struct xs_rpc_arena *a;
	struct xs_rpc_value *params;
	double timeout = pc->cfg.event_timeout + pc->cfg.call_timeout;

	if (pc->legacy) {
		const char *args[] = { pc->session };

		pc_chain_strs(pc, PC_EVENTS, "event.next", args, 1, timeout);
		return;
	}
	a = xs_rpc_arena_new();
	params = xs_rpc_array(a);
	xs_rpc_array_push(a, params, xs_rpc_cstring(a, pc->session));
	xs_rpc_array_push(a, params, pc_event_classes(a));
	xs_rpc_array_push(a, params, xs_rpc_cstring(a, pc->token));
	xs_rpc_array_push(a, params, xs_rpc_double(a, pc->cfg.event_timeout));
	pc_chain_call(pc, PC_EVENTS, "event.from", params, timeout);
	xs_rpc_arena_free(&a);
}

/* Applies one event record; problems become the warning. */
static bool pc_apply_event(struct xs_pool_client *pc, const struct xs_rpc_value *ev)
{
	const char *cls = xs_rpc_get_str(ev, "class"), *op = xs_rpc_get_str(ev, "operation");
	const char *ref = xs_rpc_get_str(ev, "ref");
	const struct xs_rpc_value *snap = xs_rpc_get(ev, "snapshot");
	enum xs_topo_class c;
	char err[XS_ERR_LEN];

	if (cls == NULL || op == NULL || ref == NULL || !xs_topo_class_of(cls, &c))
		return false;
	if (strcmp(op, "del") == 0) {
		xs_topo_remove(pc->topo, c, ref);
		return true;
	}
	if (snap == NULL || snap->type != XS_RPC_STRUCT)
		return false;
	if (xs_topo_apply(pc->topo, c, ref, snap, err) != XS_OK) {
		pc_fmt(pc->warning, sizeof(pc->warning), "event %s %s: %s", op, cls, err);
		return false;
	}
	return true;
}

static void pc_on_events(struct xs_pool_client *pc, const struct xs_rpc_value *v)
{
	const struct xs_rpc_value *events = pc->legacy ? v : xs_rpc_get(v, "events");
	const char *token = pc->legacy ? NULL : xs_rpc_get_str(v, "token");
	uint64_t before = xs_topo_version(pc->topo);

	if (events == NULL || events->type != XS_RPC_ARRAY || (!pc->legacy && token == NULL)) {
		pc_backoff(pc, pc->legacy ? "event.next: not an array of events"
					  : "event.from: reply without events or token");
		return;
	}
	if (token) {
		if (strlen(token) >= sizeof(pc->token)) {
			pc_backoff(pc, "event.from: token too long");
			return;
		}
		snprintf(pc->token, sizeof(pc->token), "%s", token);
	}
	pc->stats.event_batches++;
	pc->lost_in_row = 0;
	for (size_t i = 0; i < events->u.arr.n; i++)
		if (pc_apply_event(pc, events->u.arr.items[i]))
			pc->stats.events++;
	if (xs_topo_version(pc->topo) != before)
		pc_notify(pc, XS_POOL_CHANGE_TOPO);
	if (pc->step == PC_EVENTS) /* on_change may have stopped us */
		pc_events_next(pc);
}

/*
 * The timeout of ordinary calls adapts to the master: a call that ran out of
 * time (no answer, or one still coming, after the whole timeout) doubles it for
 * the calls after it, so a pool whose get_all_records takes longer than the
 * configured timeout (tens of thousands of VMs, a slow master) loads instead of
 * timing out and starting over for ever; once a load completes it comes back
 * to twice the slowest call since the previous load (the configured one at
 * least), so a master that later hangs is given up on as soon as before. Always
 * between the configured timeout and PC_CALL_TIMEOUT_GROWTH times it.
 */
static double pc_clamp_timeout(const struct xs_pool_client *pc, double t)
{
	double max = pc->cfg.call_timeout * PC_CALL_TIMEOUT_GROWTH;

	return t < pc->cfg.call_timeout ? pc->cfg.call_timeout : t > max ? max : t;
}

static void pc_grow_timeout(struct xs_pool_client *pc, enum pc_step step,
			    const struct xs_rpc_result *res)
{
	if (step == PC_EVENTS || step == PC_LOGOUT)
		return;
	if (res->rc == XS_OK) {
		if (res->seconds > pc->slowest)
			pc->slowest = res->seconds;
		return;
	}
	if (res->seconds >= 0.9 * pc->call_timeout)
		pc->call_timeout = pc_clamp_timeout(pc, 2 * pc->call_timeout);
}

/* The timeout ordinary calls run with now (see pc_grow_timeout). */
double xs_pool_client_call_timeout(const struct xs_pool_client *pc)
{
	return pc->call_timeout;
}

static void pc_loaded(struct xs_pool_client *pc)
{
	pc->loaded = true;
	pc->stats.loads++;
	pc->call_timeout = pc_clamp_timeout(pc, 2 * pc->slowest);
	pc->slowest = 0;
	/* a retry may have reached the master through a member's address */
	snprintf(pc->master, sizeof(pc->master), "%s", xs_rpc_conn_base(pc->conn));
	pc->attempts = 0;
	pc->redirects = 0;
	pc->step = PC_IDLE;
	pc_set_state(pc, XS_POOL_CONNECTED, NULL);
	pc_notify(pc, XS_POOL_CHANGE_TOPO);
	if (pc->state != XS_POOL_CONNECTED || pc->stopping)
		return;
	if (pc->st_timer) {
		xs_evloop_cancel_timer(pc->loop, pc->st_timer);
		pc->st_timer = 0;
	}
	if (pc->cfg.no_events)
		return;
	pc_st_start(pc);
	pc_events_next(pc);
}

/* Stops the clock measurements (host.get_servertime): the call in flight and the timer. */
static void pc_cancel_servertime(struct xs_pool_client *pc)
{
	if (pc->st_call) {
		xs_rpc_cancel(pc->conn, pc->st_call);
		pc->st_call = 0;
	}
	if (pc->st_timer) {
		xs_evloop_cancel_timer(pc->loop, pc->st_timer);
		pc->st_timer = 0;
	}
}

/* Drops the topology and the clocks: what a refused pool client showed is not its own. */
static void pc_forget(struct xs_pool_client *pc)
{
	pc_cancel_servertime(pc);
	xs_topo_free(&pc->topo);
	pc->topo = xs_topo_new();
	pc->noffsets = 0;
	pc->loaded = false;
	pc_notify(pc, XS_POOL_CHANGE_TOPO);
}

/*
 * Asks cfg.admit about the pool whose record was just loaded (pool_client.h,
 * Admission); true to go on loading. On a refusal the session is logged out
 * (xapi keeps a session until it expires: a retry every few minutes would
 * pile them up) and the reply of that logout backs off (pc_on_chain, PC_DROP).
 */
static bool pc_admit(struct xs_pool_client *pc)
{
	const struct xs_topo_pool *p = xs_topo_pool(pc->topo);
	char why[XS_POOL_REASON_LEN] = "", err[XS_ERR_LEN];
	const char *args[1];
	struct xs_rpc_arena *a;

	if (pc->cfg.admit == NULL || p == NULL || pc->cfg.admit(pc->cfg.arg, pc, p->uuid, why))
		return true;
	snprintf(pc->refused, sizeof(pc->refused), "%s", why[0] ? why : "refused");
	/* the attempt reached the pool's master: its HOST_IS_SLAVE hops end here, as at a
	 * load (a client refused for months must still follow the master's moves) */
	pc->redirects = 0;
	pc_forget(pc);
	args[0] = pc->session;
	a = xs_rpc_arena_new();
	pc->step = PC_DROP;
	pc->call = xs_rpc_call(pc->conn, "session.logout", pc_params(a, args, 1), PC_LOGOUT_TIMEOUT,
			       pc_on_chain, pc, err);
	xs_rpc_arena_free(&a);
	if (pc->call == 0) {
		pc->session[0] = '\0';
		pc_backoff(pc, pc->refused);
	}
	return false;
}

static void pc_on_load(struct xs_pool_client *pc, const struct xs_rpc_value *map)
{
	enum xs_topo_class c = pc_classes[pc->load_index].cls;
	char err[XS_ERR_LEN];

	if (map == NULL || map->type != XS_RPC_STRUCT) {
		char msg[XS_POOL_REASON_LEN];

		pc_fmt(msg, sizeof(msg), "%s.get_all_records: not a map",
			 pc_classes[pc->load_index].api);
		pc_backoff(pc, msg);
		return;
	}
	if (xs_topo_load_all(pc->topo, c, map, err) != XS_OK) {
		/* keep what can be kept: the records that apply, one by one */
		pc_fmt(pc->warning, sizeof(pc->warning), "%s", err);
		for (size_t i = 0; i < map->u.st.n; i++) {
			const struct xs_rpc_member *m = &map->u.st.members[i];

			if (xs_topo_apply(pc->topo, c, m->key, m->value, err) != XS_OK)
				pc_fmt(pc->warning, sizeof(pc->warning), "%s", err);
		}
	}
	if (c == XS_TOPO_POOL && !pc_admit(pc))
		return;
	if (++pc->load_index < PC_NCLASSES)
		pc_load_next(pc);
	else
		pc_loaded(pc);
}

/* Login faults: retries with user and password only, or gives up (FAILED) when
 * no retry can succeed. False when code is none of these. */
static bool pc_login_error(struct xs_pool_client *pc, enum pc_step step, const char *code)
{
	char msg[XS_POOL_REASON_LEN];

	if (!strcmp(code, "MESSAGE_PARAMETER_COUNT_MISMATCH") && step == PC_LOGIN &&
	    !pc->short_login) {
		/* xapi before XenServer 6.2: no originator parameter; remembered for the pool */
		pc->short_login = true;
		pc_login(pc);
		return true;
	}
	if (!strcmp(code, "SESSION_AUTHENTICATION_FAILED"))
		pc_fmt(msg, sizeof(msg), "login refused for user '%.64s': wrong user name or password (%s)",
		       pc->user, code);
	else if (!strcmp(code, "SESSION_AUTHORIZATION_FAILED"))
		pc_fmt(msg, sizeof(msg),
		       "login refused for user '%.64s': authenticated, but the user has no role that "
		       "may use the API; give it an RBAC role, e.g. read-only (%s)",
		       pc->user, code);
	else
		return false;
	pc->step = PC_IDLE;
	pc_fail(pc, msg);
	return true;
}

/* The session died during step (SESSION_INVALID, or a 401 a collector reported): log in
 * again, then resume what step was doing. */
static void pc_relogin(struct xs_pool_client *pc, enum pc_step step)
{
	pc->relogins++;
	pc->session[0] = '\0';
	/* an event.from token outlives its session; an event.register does not */
	pc->after_login = step == PC_EVENTS && !pc->legacy ? PC_EVENTS : PC_POOL_REFS;
	pc_login(pc);
}

/* What an XAPI error of the chain asks for. */
static void pc_chain_error(struct xs_pool_client *pc, enum pc_step step,
			   const struct xs_rpc_result *res)
{
	const char *code = res->rc == XS_OK ? xs_rpc_reply_code(&res->reply) : "";
	const char *p0 = res->rc == XS_OK ? xs_rpc_reply_param(&res->reply, 0) : NULL;
	char msg[XS_POOL_REASON_LEN];

	pc_describe(res, msg, sizeof(msg));
	if (step == PC_LOGOUT)
		return;
	if (!strcmp(code, "HOST_IS_SLAVE") && p0 && p0[0] && pc->redirects < PC_MAX_REDIRECTS) {
		char url[XS_RPC_URL_LEN];

		pc->redirects++;
		pc->stats.redirects++;
		if (pc_url_of(pc, p0, url, sizeof(url)) &&
		    xs_rpc_conn_set_base(pc->conn, url, NULL) == XS_OK) {
			snprintf(pc->master, sizeof(pc->master), "%s", url);
			pc_connect(pc);
			return;
		}
	} else if (!strcmp(code, "SESSION_INVALID") && step != PC_LOGIN &&
		   pc->relogins < PC_MAX_RELOGINS) {
		pc_relogin(pc, step);
		return;
	} else if (!strcmp(code, "SESSION_INVALID") && step != PC_LOGIN) {
		/* re-logged in PC_MAX_RELOGINS times in a row and the session still died: back off,
		 * then log in again (the session we hold is known to be invalid) */
		pc->relogins = 0;
		pc->session[0] = '\0';
		pc->after_login = PC_POOL_REFS;
	} else if (pc_login_error(pc, step, code)) {
		return;
	} else if (!strcmp(code, "EVENTS_LOST") ||
		   (!strcmp(code, "SESSION_NOT_REGISTERED") && step == PC_EVENTS)) {
		pc->stats.resyncs++;
		/* once at once; again before any batch came through: not in a tight loop */
		if (++pc->lost_in_row > 1)
			pc_backoff(pc, msg);
		else
			pc_begin_load(pc);
		return;
	} else if (!strcmp(code, "MESSAGE_METHOD_UNKNOWN") && !pc->legacy &&
		   (step == PC_INJECT || step == PC_EVENTS)) {
		pc->legacy = true;
		pc_begin_load(pc);
		return;
	}
	pc_backoff(pc, msg);
}

static void pc_on_chain(void *arg, const struct xs_rpc_result *res)
{
	struct xs_pool_client *pc = arg;
	enum pc_step step = pc->step;
	const struct xs_rpc_value *v = res->reply.value;

	pc->call = 0;
	if (step == PC_LOGOUT) {
		pc->step = PC_IDLE;
		pc->session[0] = '\0';
		pc_set_state(pc, XS_POOL_STOPPED, NULL);
		return;
	}
	if (step == PC_DROP) { /* whatever the logout's outcome: the session is not used again */
		bool retry = pc->retry_after_drop;

		pc->retry_after_drop = false;
		pc->session[0] = '\0';
		pc_backoff(pc, pc->refused);
		if (retry) /* asked while logging out: the reason of the refusal may be gone */
			xs_pool_client_retry(pc);
		return;
	}
	if (step == PC_EVENTS && pc->legacy && res->rc != XS_OK &&
	    res->seconds >= 0.9 * (pc->cfg.event_timeout + pc->cfg.call_timeout)) {
		/* event.next has no timeout of its own: ours ended a quiet wait */
		pc_events_next(pc);
		return;
	}
	pc_grow_timeout(pc, step, res);
	if (res->rc != XS_OK || !res->reply.ok) {
		pc_chain_error(pc, step, res);
		return;
	}
	if (step != PC_LOGIN)
		pc->relogins = 0;
	switch (step) {
	case PC_LOGIN:
		if (v == NULL || v->type != XS_RPC_STRING || v->u.str.len >= sizeof(pc->session)) {
			pc_backoff(pc, "session.login_with_password: no session ref in the reply");
			return;
		}
		snprintf(pc->session, sizeof(pc->session), "%s", v->u.str.ptr);
		pc->stats.logins++;
		if (pc->after_login == PC_EVENTS && pc->loaded) {
			pc->after_login = PC_IDLE;
			/* a new session ref; and connected again if the way here backed off or
			 * followed HOST_IS_SLAVE (pc_connect said CONNECTING): the topology is
			 * whole and events go on from the token, as after a load */
			if (pc->state != XS_POOL_CONNECTED)
				pc_set_state(pc, XS_POOL_CONNECTED, NULL);
			else
				pc_notify(pc, XS_POOL_CHANGE_STATE);
			if (pc->state != XS_POOL_CONNECTED || pc->stopping)
				return; /* on_change stopped us */
			pc_events_next(pc);
		} else {
			pc_begin_load(pc);
		}
		return;
	case PC_POOL_REFS: {
		const struct xs_rpc_value *ref = xs_rpc_at(v, 0);

		if (ref == NULL || ref->type != XS_RPC_STRING ||
		    ref->u.str.len >= sizeof(pc->pool_ref)) {
			pc_backoff(pc, "pool.get_all: no pool ref in the reply");
			return;
		}
		snprintf(pc->pool_ref, sizeof(pc->pool_ref), "%s", ref->u.str.ptr);
		pc_start_events(pc);
		return;
	}
	case PC_INJECT:
		if (v == NULL || v->type != XS_RPC_STRING || v->u.str.len >= sizeof(pc->token)) {
			pc_backoff(pc, "event.inject: no token in the reply");
			return;
		}
		snprintf(pc->token, sizeof(pc->token), "%s", v->u.str.ptr);
		/* fall through */
	case PC_REGISTER:
		pc->load_index = 0;
		pc_load_next(pc);
		return;
	case PC_LOAD:
		pc_on_load(pc, v);
		return;
	case PC_EVENTS:
		pc_on_events(pc, v);
		return;
	default:
		return;
	}
}

/* --- host clocks --- */

static void pc_st_next(struct xs_pool_client *pc);

static void pc_st_timer(struct xs_evloop *loop, void *arg)
{
	struct xs_pool_client *pc = arg;

	(void)loop;
	pc->st_timer = 0;
	pc_st_start(pc);
}

static void pc_st_start(struct xs_pool_client *pc)
{
	if (pc->st_call)
		return; /* a sequence is running; it re-arms the timer when done */
	pc->st_began = xs_evloop_now();
	pc->st_index = 0;
	pc_st_next(pc);
}

void xs_pool_client_check_clocks(struct xs_pool_client *pc)
{
	if (pc->stopping || !pc->loaded || pc->cfg.no_events || pc->st_call || !pc->session[0] ||
	    (pc->st_began > 0 && xs_evloop_now() - pc->st_began < PC_CLOCK_RECHECK))
		return;
	if (pc->st_timer) {
		xs_evloop_cancel_timer(pc->loop, pc->st_timer);
		pc->st_timer = 0;
	}
	pc_st_start(pc);
}

/* "20240131T12:34:56Z" (or with dashes, or a "+00:00" / no suffix) → unix seconds. */
static bool pc_parse_datetime(const char *s, double *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d%2d%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 &&
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (double)timegm(&tm);
	return true;
}

static void pc_set_offset(struct xs_pool_client *pc, const char *uuid, double offset)
{
	for (size_t i = 0; i < pc->noffsets; i++) {
		if (!strcmp(pc->offsets[i].uuid, uuid)) {
			pc->offsets[i].offset = offset;
			pc->offsets[i].measured_at = xs_evloop_now();
			return;
		}
	}
	if (pc->noffsets == pc->capoffsets) {
		pc->capoffsets = pc->capoffsets ? 2 * pc->capoffsets : 16;
		pc->offsets = xs_xrealloc(pc->offsets, pc->capoffsets * sizeof(*pc->offsets));
	}
	snprintf(pc->offsets[pc->noffsets].uuid, PC_UUID_LEN, "%s", uuid);
	pc->offsets[pc->noffsets].measured_at = xs_evloop_now();
	pc->offsets[pc->noffsets++].offset = offset;
}

static void pc_on_servertime(void *arg, const struct xs_rpc_result *res)
{
	struct xs_pool_client *pc = arg;
	const struct xs_rpc_value *v = res->reply.value;
	double t;

	pc->st_call = 0;
	if (res->rc == XS_OK && res->reply.ok && v &&
	    (v->type == XS_RPC_DATETIME || v->type == XS_RPC_STRING) &&
	    pc_parse_datetime(v->u.str.ptr, &t)) {
		/* our clock at the middle of the exchange */
		double mid = pc_wall_now() - res->seconds / 2.0;

		pc_set_offset(pc, pc->st_uuid, t - mid);
		pc_notify(pc, XS_POOL_CHANGE_OFFSETS);
	} else {
		char msg[XS_POOL_REASON_LEN];

		pc_describe(res, msg, sizeof(msg));
		pc_fmt(pc->warning, sizeof(pc->warning), "host %s: %s", pc->st_uuid, msg);
	}
	pc->st_index++;
	pc_st_next(pc);
}

static void pc_st_next(struct xs_pool_client *pc)
{
	const struct xs_topo_host *h = xs_topo_host_at(pc->topo, pc->st_index);
	struct xs_rpc_arena *a;
	const char *args[2];
	char err[XS_ERR_LEN];

	if (pc->stopping || !pc->session[0] || h == NULL) {
		if (!pc->stopping && !pc->st_timer)
			pc->st_timer = xs_evloop_add_timer(pc->loop, pc->cfg.servertime_interval,
							   pc_st_timer, pc);
		return;
	}
	snprintf(pc->st_uuid, sizeof(pc->st_uuid), "%s", h->uuid);
	args[0] = pc->session;
	args[1] = h->ref;
	a = xs_rpc_arena_new();
	pc->st_call = xs_rpc_call(pc->conn, "host.get_servertime", pc_params(a, args, 2),
				  pc->cfg.call_timeout, pc_on_servertime, pc, err);
	xs_rpc_arena_free(&a);
	if (pc->st_call == 0) {
		pc_fmt(pc->warning, sizeof(pc->warning), "host.get_servertime: %s", err);
		pc->st_timer = xs_evloop_add_timer(pc->loop, pc->cfg.servertime_interval,
						   pc_st_timer, pc);
	}
}

/* --- public --- */

struct xs_pool_client *xs_pool_client_new(struct xs_evloop *loop, struct xs_http *http,
					  const struct xs_pool_config *cfg, char *err)
{
	struct xs_pool_client *pc;

	if (cfg->url == NULL || cfg->user == NULL || cfg->user[0] == '\0') {
		xs_err_set(err, XS_ERR_ARG, "a pool needs a URL and a user");
		return NULL;
	}
	pc = xs_xcalloc(1, sizeof(*pc));
	pc->loop = loop;
	pc->http = http;
	pc->cfg = *cfg;
	if (pc_parse_url(pc, cfg->url, err) != XS_OK) {
		free(pc);
		return NULL;
	}
	pc->conn = xs_rpc_conn_new(http, pc->master, &cfg->tls, cfg->max_body, err);
	if (pc->conn == NULL) {
		free(pc);
		return NULL;
	}
	pc->name = pc_strdup(cfg->name && cfg->name[0] ? cfg->name : pc->master);
	pc->url = pc_strdup(cfg->url);
	pc->user = pc_strdup(cfg->user);
	pc->password = pc_strdup(cfg->password);
	pc->cfg.name = pc->name;
	pc->cfg.url = pc->url;
	pc->cfg.user = pc->user;
	pc->cfg.password = NULL; /* only pc->password holds it */
	if (pc->cfg.call_timeout <= 0)
		pc->cfg.call_timeout = PC_CALL_TIMEOUT;
	pc->call_timeout = pc->cfg.call_timeout;
	if (pc->cfg.event_timeout <= 0)
		pc->cfg.event_timeout = PC_EVENT_TIMEOUT;
	if (pc->cfg.backoff_min <= 0)
		pc->cfg.backoff_min = PC_BACKOFF_MIN;
	if (pc->cfg.backoff_max <= 0)
		pc->cfg.backoff_max = PC_BACKOFF_MAX;
	if (pc->cfg.backoff_max < pc->cfg.backoff_min)
		pc->cfg.backoff_max = pc->cfg.backoff_min;
	if (pc->cfg.servertime_interval <= 0)
		pc->cfg.servertime_interval = PC_SERVERTIME_INTERVAL;
	pc->topo = xs_topo_new();
	pc->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)pc;
	pc->state = XS_POOL_CONNECTING;
	return pc;
}

static void pc_cancel_all(struct xs_pool_client *pc)
{
	if (pc->call) {
		xs_rpc_cancel(pc->conn, pc->call);
		pc->call = 0;
	}
	if (pc->retry_timer) {
		xs_evloop_cancel_timer(pc->loop, pc->retry_timer);
		pc->retry_timer = 0;
	}
	pc_cancel_servertime(pc);
	pc->step = PC_IDLE;
	pc->retry_after_drop = false;
}

void xs_pool_client_free(struct xs_pool_client **pcp)
{
	struct xs_pool_client *pc = pcp ? *pcp : NULL;

	if (pc == NULL)
		return;
	pc_cancel_all(pc);
	xs_rpc_conn_free(&pc->conn);
	xs_topo_free(&pc->topo);
	explicit_bzero(pc->password, strlen(pc->password));
	explicit_bzero(pc->session, sizeof(pc->session));
	free(pc->password);
	free(pc->user);
	free(pc->url);
	free(pc->name);
	free(pc->offsets);
	free(pc);
	*pcp = NULL;
}

void xs_pool_client_set_on_change(struct xs_pool_client *pc, xs_pool_change_cb fn, void *arg)
{
	pc->cfg.on_change = fn;
	pc->cfg.arg = arg;
}

void xs_pool_client_start(struct xs_pool_client *pc)
{
	if (pc->stopping || pc->step != PC_IDLE || pc->retry_timer)
		return;
	pc->state = XS_POOL_FAILED; /* so pc_connect reports CONNECTING */
	pc_connect(pc);
}

void xs_pool_client_retry(struct xs_pool_client *pc)
{
	if (pc->stopping)
		return;
	if (pc->step == PC_DROP) { /* refused, logging out: not backing off yet, but will */
		pc->retry_after_drop = true;
		return;
	}
	if (pc->state != XS_POOL_BACKOFF || !pc->retry_timer)
		return;
	xs_evloop_cancel_timer(pc->loop, pc->retry_timer);
	pc_retry(pc->loop, pc); /* clears retry_timer */
}

/* The answer to the logout of a session given up (xs_pool_client_session_failed): none matters. */
static void pc_on_dropped(void *arg, const struct xs_rpc_result *res)
{
	(void)arg;
	(void)res;
}

/*
 * A host refused `session` (HTTP 401 to /rrd_updates): most likely it was destroyed
 * behind our back (another tool's logout, xapi's session GC, a master's xapi
 * restarted), and the event.from parked with it would only say so after
 * event_timeout. Only an idle chain or an event wait is cut short: any other call
 * of the chain is about to find out by itself (SESSION_INVALID), and a login in
 * flight already gave the session up (it is no longer the current one).
 */
bool xs_pool_client_session_failed(struct xs_pool_client *pc, const char *session)
{
	double now = xs_evloop_now();
	enum pc_step step = pc->step;
	const char *args[1];
	struct xs_rpc_arena *a;
	char err[XS_ERR_LEN];

	if (pc->stopping || session == NULL || !pc->session[0] || strcmp(session, pc->session))
		return false; /* an older session: the fetch began before the last login */
	if (pc->state != XS_POOL_CONNECTED || (step != PC_EVENTS && step != PC_IDLE))
		return false;
	/* a host answering 401 for another reason must not make us log in at every fetch */
	if (pc->failed_at > 0 && now - pc->failed_at < PC_SESSION_FAILED_INTERVAL)
		return false;
	pc->failed_at = now;
	if (pc->call) {
		xs_rpc_cancel(pc->conn, pc->call);
		pc->call = 0;
	}
	/* if the host refused it for another reason, the session is still open on the master
	 * and would stay so until it expires (24 h): it is logged out, whatever the answer */
	args[0] = pc->session;
	a = xs_rpc_arena_new();
	if (xs_rpc_call(pc->conn, "session.logout", pc_params(a, args, 1), PC_LOGOUT_TIMEOUT,
			pc_on_dropped, NULL, err) == 0)
		pc_fmt(pc->warning, sizeof(pc->warning), "session.logout: %s", err);
	xs_rpc_arena_free(&a);
	pc_relogin(pc, step);
	return true;
}

void xs_pool_client_stop(struct xs_pool_client *pc)
{
	const char *args[1];
	struct xs_rpc_arena *a;
	char err[XS_ERR_LEN];

	if (pc->stopping)
		return;
	pc->stopping = true;
	pc_cancel_all(pc);
	if (!pc->session[0]) {
		pc_set_state(pc, XS_POOL_STOPPED, NULL);
		return;
	}
	args[0] = pc->session;
	a = xs_rpc_arena_new();
	pc->step = PC_LOGOUT;
	pc->call = xs_rpc_call(pc->conn, "session.logout", pc_params(a, args, 1), PC_LOGOUT_TIMEOUT,
			       pc_on_chain, pc, err);
	xs_rpc_arena_free(&a);
	if (pc->call == 0) {
		pc->step = PC_IDLE;
		pc->session[0] = '\0';
		pc_set_state(pc, XS_POOL_STOPPED, NULL);
	}
}

enum xs_pool_state xs_pool_client_state(const struct xs_pool_client *pc)
{
	return pc->state;
}

const char *xs_pool_state_name(enum xs_pool_state s)
{
	switch (s) {
	case XS_POOL_CONNECTING: return "connecting";
	case XS_POOL_CONNECTED: return "connected";
	case XS_POOL_BACKOFF: return "backing off";
	case XS_POOL_FAILED: return "failed";
	case XS_POOL_STOPPED: return "stopped";
	}
	return "unknown";
}

const char *xs_pool_client_reason(const struct xs_pool_client *pc)
{
	return pc->reason;
}

const char *xs_pool_client_warning(const struct xs_pool_client *pc)
{
	return pc->warning;
}

bool xs_pool_client_loaded(const struct xs_pool_client *pc)
{
	return pc->loaded;
}

const struct xs_topo *xs_pool_client_topo(const struct xs_pool_client *pc)
{
	return pc->topo;
}

const char *xs_pool_client_session(const struct xs_pool_client *pc)
{
	return pc->session;
}

const char *xs_pool_client_master_url(const struct xs_pool_client *pc)
{
	return pc->master;
}

const char *xs_pool_client_name(const struct xs_pool_client *pc)
{
	return pc->name;
}

bool xs_pool_client_host_offset(const struct xs_pool_client *pc, const char *host_uuid,
				double *offset)
{
	return xs_pool_client_host_offset_at(pc, host_uuid, offset, NULL);
}

bool xs_pool_client_host_offset_at(const struct xs_pool_client *pc, const char *host_uuid,
				   double *offset, double *measured_at)
{
	for (size_t i = 0; i < pc->noffsets; i++) {
		if (!strcmp(pc->offsets[i].uuid, host_uuid)) {
			*offset = pc->offsets[i].offset;
			if (measured_at)
				*measured_at = pc->offsets[i].measured_at;
			return true;
		}
	}
	return false;
}

bool xs_pool_client_legacy_events(const struct xs_pool_client *pc)
{
	return pc->legacy;
}

bool xs_pool_client_short_login(const struct xs_pool_client *pc)
{
	return pc->short_login;
}

void xs_pool_client_stats(const struct xs_pool_client *pc, struct xs_pool_stats *out)
{
	*out = pc->stats;
}
