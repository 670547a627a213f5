/*
 * pool_client.h - one XAPI session per configured pool, kept alive on the
 * event loop (issue 4, points 2, 4, 5, 7): login, initial load of the
 * topology, live events, host clock offsets, logout.
 *
 * Every pool client of a process shares one struct xs_evloop and one struct
 * xs_http; nothing blocks and there are no threads, so a slow or dead pool
 * delays no other. States:
 *
 *   CONNECTING  logging in and loading the topology (again after a resync)
 *   CONNECTED   topology loaded; events are being followed (unless cfg.events
 *               is false: then nothing more happens until stop)
 *   BACKOFF     the last attempt failed (reason says why); a timer retries,
 *               exponential from backoff_min to backoff_max, with jitter
 *   FAILED      gave up: the login was refused, or max_attempts ran out
 *   STOPPED     after xs_pool_client_stop() and the logout ended
 *
 * Session handling (SPEC §4.3): login_with_password(user, pwd, "1.0",
 * "xapistat"); a xapi older than XenServer 6.2 has no originator parameter
 * and answers MESSAGE_PARAMETER_COUNT_MISMATCH: the login is sent again at
 * once with (user, pwd) only, and every later login of the pool client
 * sends those two. HOST_IS_SLAVE [addr] moves to that master (same scheme
 * and port) at once, when addr can be a URL's host (a name or an IP address;
 * else it backs off); SESSION_INVALID logs in again and retries the call;
 * SESSION_AUTHENTICATION_FAILED (wrong user or password: retrying could lock
 * the account) and SESSION_AUTHORIZATION_FAILED (the user, e.g. from Active
 * Directory, has no RBAC role) are FAILED: no retry can succeed.
 * After a transport failure with a loaded topology, the retries go round the
 * known hosts' addresses too, so a pool whose master moved while it was
 * unreachable is found again through a member's HOST_IS_SLAVE.
 *
 * Events: the token is event.inject("pool", pool_ref) taken before the
 * get_all_records of every class topology.h keeps, then event.from(classes,
 * token, event_timeout) loops, each batch applied at once (add/mod replace a
 * record, del removes it), so a change is visible as soon as the master
 * reports it. EVENTS_LOST reloads everything (a second loss before any
 * batch got through backs off first, so a host that keeps losing events is
 * not hammered with reloads). When event.inject or event.from is
 * MESSAGE_METHOD_UNKNOWN the legacy event.register/event.next pair is used
 * instead; SESSION_NOT_REGISTERED from event.next (a registration lost with
 * an expired session) registers again and reloads.
 *
 * Admission: when cfg.admit is set, it is asked at every load (the first,
 * and each reload after a resync or a reconnection) as soon as the pool's
 * uuid is known: after pool.get_all_records, before any other class is
 * loaded. A refusal logs the session out, forgets the topology and the clocks
 * (xs_pool_client_loaded() is false again, the topology empty) and backs off
 * with the refusal as reason, like any failure: each retry asks again, so the
 * pool is loaded once admit says yes. The caller owns the rule (cmd_serve.c:
 * one configured section per pool uuid).
 *
 * A session can also die between two calls of the chain (another tool's
 * logout, xapi's session GC, the master's xapi restarted), while event.from
 * waits up to event_timeout with it: a collector that gets HTTP 401 with the
 * current session says so (xs_pool_client_session_failed), and the client
 * logs in again at once through the SESSION_INVALID path above (the wait is
 * cancelled; an event.from token is kept, a legacy registration made again).
 *
 * Host time: host.get_servertime of every host after each load, then
 * every servertime_interval seconds, and sooner when a collector finds a
 * host's rows where its offset does not put them (xs_pool_client_check_clocks:
 * a clock set since, at most every 30 s; never per request); the offset is the
 * host's clock minus ours at the middle of the exchange (±1 s: xapi's
 * datetime has whole seconds).
 *
 * Credentials are copied and wiped at free; no message of this module holds
 * the password.
 */
#ifndef XS_XAPI_POOL_CLIENT_H
#define XS_XAPI_POOL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/evloop.h"
#include "xapi/http_client.h"
#include "xapi/rpc_client.h"
#include "xapi/topology.h"

#define XS_POOL_ORIGINATOR "xapistat"
#define XS_POOL_API_VERSION "1.0"
#define XS_POOL_REASON_LEN 320

enum xs_pool_state {
	XS_POOL_CONNECTING, XS_POOL_CONNECTED, XS_POOL_BACKOFF, XS_POOL_FAILED, XS_POOL_STOPPED
};

/* What an on_change call reports (a bit set). */
#define XS_POOL_CHANGE_STATE 1u    /* state or reason changed */
#define XS_POOL_CHANGE_TOPO 2u     /* the topology changed (a load or an event batch) */
#define XS_POOL_CHANGE_OFFSETS 4u  /* a host's clock offset was measured */

struct xs_pool_client;

typedef void (*xs_pool_change_cb)(void *arg, struct xs_pool_client *pc, unsigned what);

/*
 * Whether the pool of uuid pool_uuid may be loaded by pc (see Admission above).
 * false refuses it; why (XS_POOL_REASON_LEN bytes, "" on entry) then says why,
 * and becomes the reason of the BACKOFF that follows ("refused" if left empty).
 * Called on the loop, with cfg.arg; must not stop or free pc.
 */
typedef bool (*xs_pool_admit_cb)(void *arg, struct xs_pool_client *pc, const char *pool_uuid,
				 char *why);

/* Zero-fill, then set what you need; zero fields take the defaults named. */
struct xs_pool_config {
	const char *name;           /* for messages; "" = the URL */
	const char *url;            /* "http[s]://host[:port]" without user-info (credentials.h) */
	const char *user, *password;/* copied */
	struct xs_tls_opts tls;     /* copied */
	double call_timeout;        /* one ordinary call, seconds (0 = 30); grows after timeouts */
	double event_timeout;       /* event.from wait, seconds (0 = 30) */
	double backoff_min;         /* first retry delay, seconds (0 = 1) */
	double backoff_max;         /* cap of the delay (0 = 300) */
	double servertime_interval; /* host.get_servertime refresh, seconds (0 = 600) */
	unsigned max_attempts;      /* failures in a row before FAILED (0 = never give up) */
	bool no_events;             /* load once, then follow nothing: no events, no clocks */
	size_t max_body;            /* reply cap (0 = XS_RPC_MAX_RESPONSE) */
	xs_pool_change_cb on_change;/* may be NULL; called on the loop */
	xs_pool_admit_cb admit;     /* may be NULL: every pool is admitted; called with arg */
	void *arg;
};

/*
 * A client for one pool; nothing happens before xs_pool_client_start().
 * loop and http must outlive it. NULL with err for a bad configuration
 * (URL not http/https or too long, no user).
 */
struct xs_pool_client *xs_pool_client_new(struct xs_evloop *loop, struct xs_http *http,
					  const struct xs_pool_config *cfg, char *err);
/* Cancels everything without logging out (see stop) and frees; *pc = NULL. Accepts NULL. */
void xs_pool_client_free(struct xs_pool_client **pc);

/* Replaces the on_change callback and its argument (fn may be NULL). */
void xs_pool_client_set_on_change(struct xs_pool_client *pc, xs_pool_change_cb fn, void *arg);

/* Starts connecting (state CONNECTING). */
void xs_pool_client_start(struct xs_pool_client *pc);
/* Stops following the pool: cancels calls and timers, logs the session out
 * (at most a few seconds), then the state becomes STOPPED (on_change says
 * so). Run the loop until xs_pool_client_state() is STOPPED, then free. */
void xs_pool_client_stop(struct xs_pool_client *pc);

/* In BACKOFF: retries now instead of when the timer ends (e.g. the reason of a
 * refusal by admit went away); while a refusal's session.logout is in flight, as
 * soon as it ends (the BACKOFF it leads to is cut short); otherwise nothing. */
void xs_pool_client_retry(struct xs_pool_client *pc);

enum xs_pool_state xs_pool_client_state(const struct xs_pool_client *pc);
const char *xs_pool_state_name(enum xs_pool_state s);
/* Why the pool is BACKOFF or FAILED ("" otherwise): valid until the next change. */
const char *xs_pool_client_reason(const struct xs_pool_client *pc);
/* The last non-fatal problem (a record the topology refused, a failed
 * get_servertime...), "" if none. */
const char *xs_pool_client_warning(const struct xs_pool_client *pc);
/* Whether the topology has been loaded at least once (it is kept while reconnecting). */
bool xs_pool_client_loaded(const struct xs_pool_client *pc);
/* The pool model; valid until free; changes only in the loop's callbacks. */
const struct xs_topo *xs_pool_client_topo(const struct xs_pool_client *pc);
/* The session ref ("" when not logged in) and the master's base URL, for the
 * RRD fetches; valid until the next change (on_change). */
const char *xs_pool_client_session(const struct xs_pool_client *pc);
const char *xs_pool_client_master_url(const struct xs_pool_client *pc);
const char *xs_pool_client_name(const struct xs_pool_client *pc);
/* The clock offset of a host (its time minus ours, seconds); false if not measured. */
bool xs_pool_client_host_offset(const struct xs_pool_client *pc, const char *host_uuid,
				double *offset);
/* The same, and the loop time (xs_evloop_now) it was measured at, if measured_at. */
bool xs_pool_client_host_offset_at(const struct xs_pool_client *pc, const char *host_uuid,
				   double *offset, double *measured_at);
/* Measures every host's clock again now, unless a measurement is running or
 * started less than 30 s ago: a host's rows are not where its offset puts them
 * (its clock was set since, or it could not be measured). */
void xs_pool_client_check_clocks(struct xs_pool_client *pc);
/*
 * A host answered HTTP 401 to a request made with session (a collector's
 * /rrd_updates): if session is still the current one, the client is connected,
 * and its chain is idle or waiting for events, the session is given up (the
 * wait cancelled, the session logged out in case only that host refused it)
 * and the client logs in again now; on_change reports the new session ref
 * (XS_POOL_CHANGE_STATE). At most one such re-login per 30 s per
 * pool client (a host refusing every session for another reason must not make
 * a login storm): a report within that time is ignored, and the event wait then
 * finds a dead session out by itself within event_timeout. A report with an
 * older session (the request began before the last login) is ignored. Returns
 * whether a login started.
 */
bool xs_pool_client_session_failed(struct xs_pool_client *pc, const char *session);
/* Whether the legacy event.register/next pair is in use. */
bool xs_pool_client_legacy_events(const struct xs_pool_client *pc);
/* Whether logins send user and password only (the pool's xapi refused the
 * originator: older than XenServer 6.2). */
bool xs_pool_client_short_login(const struct xs_pool_client *pc);
/* Counters for tests and the status page. */
struct xs_pool_stats {
	uint64_t logins, loads, event_batches, events, resyncs, redirects, failures;
};
void xs_pool_client_stats(const struct xs_pool_client *pc, struct xs_pool_stats *out);
/* The timeout of ordinary calls now: call_timeout, doubled after each call that ran out of it,
 * up to 10 times it (a large pool's loads on a slow master). */
double xs_pool_client_call_timeout(const struct xs_pool_client *pc);

#endif
