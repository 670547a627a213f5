/*
 * sim.h - one xapi-sim process: its options and everything it simulates, and
 * the entry points of its request handlers.
 *
 * struct sim is created by sim/main.c and passed to every handler; there are
 * no globals. Requests reach sim_route() (route.c), which sends them on by
 * path: POST / and /RPC2 → sim_rpc_handle (XML-RPC), POST /jsonrpc →
 * sim_rpc_handle (JSON-RPC), /rrd_updates, /host_rrd, /vm_rrd, /sr_rrd →
 * sim_rrd_http_handle, /sim/... on a master → sim_control_handle. The
 * listener id of a request is the host index it arrived at.
 * Single-threaded: everything runs on sim->loop.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "http.h"
#include "rrd_model.h"
#include "rrd_query.h"
#include "session.h"
#include "world.h"

#define SIM_VERSION_LEN 32

struct sim_options {
	int pools, hosts_per_pool, vms_per_host;
	const char *listen;               /* "127.0.0.1": its second octet is the address base */
	uint16_t port;                    /* shared by every host */
	const char *user, *password;      /* accepted credentials */
	uint64_t seed;
	int history_days;                 /* archives filled at start */
	char version_text[SIM_VERSION_LEN]; /* --xapi-version as given, e.g. "25.3.0" */
	struct sim_xapi_version version;  /* parsed: picks number format, JSON variant, Accept rule */
	bool tls;
	bool manual_clock;                /* time moves only through /sim/clock/advance */
	double start_time;                /* manual clock start (unix seconds) */
};

struct sim_rpc; /* RPC state: pending event.from calls, event.register queues (sim/rpc.c) */

struct sim {
	struct sim_options opt;
	struct sim_world *world;
	struct sim_rrd_model *model;
	struct sim_sessions *sessions;
	struct sim_rpc *rpc;
	struct sim_clock clock;
	struct xs_evloop *loop;
	struct sim_http_server *http;
	char tls_fingerprint[96];         /* "AB:CD:..." SHA-256 of the certificate, if TLS */
};

/* Simulated time of host (the clock plus the host's skew), unix seconds. */
double sim_host_now(const struct sim *sim, int host);

/* The one handler given to the HTTP server: dispatches by path (sim.c). */
void sim_route(void *sim, const struct sim_http_request *req, struct sim_http_response *res);

/* RPC at POST /, /RPC2 (XML-RPC) and /jsonrpc (JSON-RPC) (sim/rpc.c). */
struct sim_rpc *sim_rpc_new(struct sim *sim);
void sim_rpc_free(struct sim_rpc **rpc);
void sim_rpc_handle(struct sim *sim, const struct sim_http_request *req,
		    struct sim_http_response *res);
/* Called after the world changed (events recorded): wakes waiting event.from calls. */
void sim_rpc_notify(struct sim *sim);
/*
 * Event faults of one pool (index), for the control interface. lose: the
 * next count event.from / event.next calls of the pool answer EVENTS_LOST;
 * the calls waiting now take theirs first (answered at once), the rest of
 * count is kept for the next calls (0 clears). set_legacy: with on, the
 * pool imitates a xapi before 6.0: event.inject and event.from answer
 * MESSAGE_METHOD_UNKNOWN and system.listMethods omits them; event.from
 * calls waiting now get that error at once. Both return how many waiting
 * calls they answered; a bad pool or a sim without RPC changes nothing.
 */
size_t sim_rpc_lose_events(struct sim *sim, int pool, unsigned count);
size_t sim_rpc_set_legacy(struct sim *sim, int pool, bool on);
/* The pool's pending EVENTS_LOST answers and its legacy switch. */
void sim_rpc_event_faults(const struct sim *sim, int pool, unsigned *lose, bool *legacy);
/*
 * Login fault of one pool (index): with on, the pool imitates a xapi before
 * XenServer 6.2, whose session.login_with_password has no originator: a
 * login with 4 parameters answers MESSAGE_PARAMETER_COUNT_MISMATCH
 * [session.login_with_password, 3, 4]. login_faults reads the switch and how
 * many logins it refused. A bad pool changes nothing.
 */
void sim_rpc_set_old_login(struct sim *sim, int pool, bool on);
void sim_rpc_login_faults(const struct sim *sim, int pool, bool *old_login, unsigned *refused);
/* The passwords the pool's logins accept from now on: list, comma-separated
 * (copied); NULL or "" goes back to --password. Sessions open stay valid.
 * Returns how many passwords the pool accepts; 0 for a bad pool. */
size_t sim_rpc_set_passwords(struct sim *sim, int pool, const char *list);

/* /rrd_updates, /host_rrd, /vm_rrd, /sr_rrd (sim/rrd_http.c). */
void sim_rrd_http_handle(struct sim *sim, const struct sim_http_request *req,
			 struct sim_http_response *res);

/* /sim/... control interface, on a pool master (sim/control.c). */
void sim_control_handle(struct sim *sim, const struct sim_http_request *req,
			struct sim_http_response *res);

#endif
