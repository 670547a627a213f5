/*
 * session.h - the sessions of xapi-sim, shared by XML-RPC, JSON-RPC and the
 * HTTP handlers (SPEC §1.1: session_id in the query or a cookie; §4.3).
 *
 * A session belongs to one pool (it was made on that pool's master) and is
 * valid on every host of the pool. Refs are "OpaqueRef:<uuid>", generated
 * from the simulator's seed. Sessions idle longer than the expiry (24 h in
 * xapi) are invalid; the control interface can expire them all at once.
 * At most SIM_SESSIONS_MAX live at a time; the oldest idle one is dropped
 * first, as xapi does past its per-user limit.
 */
#ifndef SIM_SESSION_H
#define SIM_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "world.h"

#define SIM_SESSIONS_MAX 5000
#define SIM_SESSION_EXPIRY (24.0 * 3600) /* seconds idle before a session is invalid */

struct sim_sessions;

struct sim_sessions *sim_sessions_new(uint64_t seed);
void sim_sessions_free(struct sim_sessions **s);

/* A new session on pool; its ref is written to ref (SIM_REF_LEN bytes). */
void sim_session_create(struct sim_sessions *s, int pool, const char *user,
			const char *originator, double now, char *ref);
/* The pool of a valid session (and marks it active at now), or -1. */
int sim_session_check(struct sim_sessions *s, const char *ref, double now);
/* Ends a session; false if it was not valid. */
bool sim_session_destroy(struct sim_sessions *s, const char *ref);
/* Invalidates every session (the "session expiry" fault). */
void sim_sessions_expire_all(struct sim_sessions *s);
/* Live sessions. */
size_t sim_sessions_count(const struct sim_sessions *s);

#endif
