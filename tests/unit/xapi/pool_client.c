/*
 * Tests of src/xapi/pool_client.c and rpc_client.c against xapi-sim
 * ($XS_BIN_DIR/xapi-sim, started here on a private 127.x address base and
 * always stopped): discovery counts equal the simulator's, host clock
 * offsets (one host skewed), a migration seen within 1 s, a host down (the
 * pool stays connected, the host's live flag drops), session expiry
 * (re-login), a master change (HOST_IS_SLAVE followed), a refused login, an
 * unreachable pool backing off then failing, TLS with the right and a wrong
 * pin, the event faults: EVENTS_LOST (a resync, once or twice in a row) and a
 * xapi without event.from (the legacy event.register/event.next pair, found
 * at connection and in the middle of an event.from wait), a xapi before 6.2
 * (a login with an originator refused once, then user and password only,
 * also after a re-login), a host's 401 reported (xs_pool_client_session_failed:
 * a re-login at once, not when event.from returns; an older session and a second
 * report within 30 s ignored), admission (cfg.admit refusing: logout, backoff, asked
 * again; a resync refused forgets the topology). The JSON-RPC → XML-RPC
 * fallback (404 at /jsonrpc, or a 2xx that is not application/json:
 * text/xml, text/html, no type), JSON-RPC settled by a 2xx application/json, a malformed reply and
 * SESSION_AUTHORIZATION_FAILED (FAILED, not retried) are tested against a
 * tiny in-process HTTP server.
 *
 * Everything runs on one event loop; loop_wait(t_loop, ) turns it until a
 * condition holds or a deadline passes.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/loop_wait.h"
#include "support/run_cmd.h"
#include "support/sim_proc.h"
#include "test.h"
#include "xapi/pool_client.h"
#include "xapi/rpc_client.h"

#define T_ANSWER_CAP (1 << 20)

static struct xs_evloop *t_loop;
static struct xs_http *t_http;
static double t_event_timeout = 5; /* event_timeout of the clients made next */

/* --- the simulator process --- */

/* pools pools on 127.base.x.x, root / pw, seed 7; tls: --tls. */
static bool sim_start(struct sim_proc *s, int pools, const char *hosts, const char *vms, bool tls,
		      int base)
{
	char listen[32], npools[8];
	const char *argv[] = { run_cmd_bin("xapi-sim"), "--pools", npools, "--hosts", hosts,
			       "--vms-per-host", vms, "--listen", listen, "--user", "root",
			       "--password", "pw", "--seed", "7", tls ? "--tls" : NULL, NULL };

	snprintf(listen, sizeof(listen), "127.%d.0.1", base);
	snprintf(npools, sizeof(npools), "%d", pools);
	return sim_proc_start(s, argv) && sim_proc_ready(s, tls, pools);
}

/* GET target of the control interface of pool 0's master into ans (T_ANSWER_CAP). */
static int sim_get(struct sim_proc *s, const char *target, char *ans)
{
	return sim_proc_http(s->addr[0], s->port, "GET", target, NULL, NULL, ans, T_ANSWER_CAP);
}

/* The value of the first `"key":` number after `from` in a JSON text, or -1. */
static long json_num_after(const char *from, const char *key)
{
	char needle[64];
	const char *at;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	at = from ? strstr(from, needle) : NULL;
	return at ? strtol(at + strlen(needle), NULL, 10) : -1;
}

/* --- conditions for loop_wait --- */

static bool is_loaded(void *arg)
{
	struct xs_pool_client *pc = arg;

	return xs_pool_client_state(pc) == XS_POOL_CONNECTED && xs_pool_client_loaded(pc);
}

static bool is_failed(void *arg)
{
	return xs_pool_client_state(arg) == XS_POOL_FAILED;
}

static bool is_backoff(void *arg)
{
	return xs_pool_client_state(arg) == XS_POOL_BACKOFF;
}

static bool is_stopped(void *arg)
{
	return xs_pool_client_state(arg) == XS_POOL_STOPPED;
}

static struct xs_pool_client *client_new_timeout(const char *url, const char *password,
						  const struct xs_tls_opts *tls, unsigned attempts,
						  double call_timeout)
{
	struct xs_pool_config cfg = { 0 };
	char err[XS_ERR_LEN];
	struct xs_pool_client *pc;

	cfg.url = url;
	cfg.user = "root";
	cfg.password = password;
	if (tls)
		cfg.tls = *tls;
	cfg.call_timeout = call_timeout;
	cfg.event_timeout = t_event_timeout;
	cfg.backoff_min = 0.05;
	cfg.backoff_max = 0.2;
	cfg.max_attempts = attempts;
	pc = xs_pool_client_new(t_loop, t_http, &cfg, err);
	if (pc)
		xs_pool_client_start(pc);
	else
		fprintf(stderr, "client_new: %s\n", err);
	return pc;
}

static struct xs_pool_client *client_new(const char *url, const char *password,
					  const struct xs_tls_opts *tls, unsigned attempts)
{
	return client_new_timeout(url, password, tls, attempts, 10);
}

static void client_stop(struct xs_pool_client **pc)
{
	if (*pc) {
		xs_pool_client_stop(*pc);
		ok(loop_wait(t_loop, is_stopped, *pc, 6), "stopped after logout");
	}
	xs_pool_client_free(pc);
}

/* Counts the topology's non-template VMs. */
static size_t topo_vms(const struct xs_topo *t)
{
	size_t n = 0;

	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_VM); i++) {
		const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

		n += vm && !vm->is_template && !vm->is_snapshot;
	}
	return n;
}

/* --- the tests on one simulator --- */

struct migrate_wait {
	const struct xs_topo *t;
	const char *vm_uuid, *host_ref;
};

static bool vm_moved(void *arg)
{
	struct migrate_wait *m = arg;
	const struct xs_topo_vm *vm = xs_topo_vm_by_uuid(m->t, m->vm_uuid);

	return vm && !strcmp(vm->resident_on, m->host_ref);
}

/* A running guest VM of t not on host h, and a host other than its own. */
static bool pick_migration(const struct xs_topo *t, char vm_uuid[64], char host_uuid[64],
			   char host_ref[128])
{
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_VM); i++) {
		const struct xs_topo_vm *vm = xs_topo_vm_at(t, i);

		if (!vm || vm->is_control_domain || vm->power != XS_POWER_RUNNING)
			continue;
		for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++) {
			const struct xs_topo_host *host = xs_topo_host_at(t, h);

			if (strcmp(host->ref, vm->resident_on) && host->live) {
				snprintf(vm_uuid, 64, "%s", vm->uuid);
				snprintf(host_uuid, 64, "%s", host->uuid);
				snprintf(host_ref, 128, "%s", host->ref);
				return true;
			}
		}
	}
	return false;
}

/* Migrates a VM through /sim/ and checks the client sees it within 1 s. */
static void check_migration(struct sim_proc *s, int pool, struct xs_pool_client *pc, const char *what)
{
	const struct xs_topo *t = xs_pool_client_topo(pc);
	char vm[64], host[64], ref[128], q[256], *ans = malloc(T_ANSWER_CAP);
	struct migrate_wait m = { t, vm, ref };
	double t0;
	int st;

	if (!ok(pick_migration(t, vm, host, ref), "%s: a VM to migrate", what))
		goto out;
	snprintf(q, sizeof(q), "/sim/vm/migrate?vm=%s&host=%s", vm, host);
	st = sim_proc_http(s->addr[pool], s->port, "POST", q, NULL, NULL, ans, T_ANSWER_CAP);
	t0 = sim_proc_now();
	if (!ok(st == 200, "%s: migrate answered %d: %.200s", what, st, ans))
		goto out;
	ok(loop_wait(t_loop, vm_moved, &m, 1.0), "%s: migration seen within 1 s", what);
	ok(sim_proc_now() - t0 < 1.0, "%s: %.3f s", what, sim_proc_now() - t0);
out:
	free(ans);
}

static void test_discovery_and_events(struct sim_proc *s)
{
	struct xs_pool_client *pc[2] = { NULL, NULL };
	char *state = malloc(T_ANSWER_CAP), q[256];
	const char *pools_at[2];
	struct xs_pool_stats st;

	fail_unless(sim_get(s, "/sim/state", state) == 200, "sim state");
	/* skew pool-1's second host by -120 s before connecting */
	{
		const char *p1 = strstr(state, "\"name\":\"pool-1\"");
		const char *h2 = p1 ? strstr(p1, "\"name\":\"xcp-1-02\"") : NULL;
		const char *u = h2;

		while (u && u > p1 && strncmp(u, "{\"uuid\":\"", 9))
			u--;
		fail_unless(u && u > p1, "uuid of xcp-1-02 in the state");
		ok(sim_proc_post(s, "/sim/host/skew?host=%.36s&seconds=-120", u + 9) == 200,
		   "skew: %.200s", s->answer);
		fail_unless(sim_get(s, "/sim/state", state) == 200, "sim state");
	}
	pools_at[0] = strstr(state, "\"name\":\"pool-0\"");
	pools_at[1] = strstr(state, "\"name\":\"pool-1\"");
	for (int i = 0; i < 2; i++)
		pc[i] = client_new(s->url[i], "pw", NULL, 0);
	fail_unless(pc[0] && pc[1], "clients");
	ok(loop_wait(t_loop, is_loaded, pc[0], 10), "pool-0 loaded: %s", xs_pool_client_reason(pc[0]));
	ok(loop_wait(t_loop, is_loaded, pc[1], 10), "pool-1 loaded: %s", xs_pool_client_reason(pc[1]));
	for (int i = 0; i < 2; i++) {
		const struct xs_topo *t = xs_pool_client_topo(pc[i]);
		long guests = json_num_after(pools_at[i], "total");
		long dom0s = json_num_after(pools_at[i], "control_domains");

		ok(xs_topo_count(t, XS_TOPO_HOST) == 3, "pool %d: 3 hosts, %zu", i,
		   xs_topo_count(t, XS_TOPO_HOST));
		ok(dom0s == 3 && (long)topo_vms(t) == guests + dom0s,
		   "pool %d: VMs %zu = sim's %ld + %ld control domains", i, topo_vms(t), guests,
		   dom0s);
		ok(xs_topo_count(t, XS_TOPO_SR) == 4, "pool %d: 3 local SRs + 1 shared, %zu", i,
		   xs_topo_count(t, XS_TOPO_SR));
		ok(xs_topo_pool(t) && xs_topo_pool(t)->name && !strcmp(xs_topo_pool(t)->name,
									 i ? "pool-1" : "pool-0"),
		   "pool %d named", i);
		ok(!strncmp(xs_pool_client_session(pc[i]), "OpaqueRef:", 10), "pool %d session", i);
		ok(!strcmp(xs_pool_client_master_url(pc[i]), s->url[i]), "pool %d master url %s", i,
		   xs_pool_client_master_url(pc[i]));
	}
	/* host clocks: every host measured, the skewed one 120 s behind */
	{
		const struct xs_topo *t = xs_pool_client_topo(pc[1]);
		bool all = true;

		for (int tries = 0; tries < 100 && all; tries++) {
			all = true;
			for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++) {
				double off;

				all = all && xs_pool_client_host_offset(pc[1], xs_topo_host_at(t, h)->uuid,
									&off);
			}
			if (all)
				break;
			all = true;
			loop_wait(t_loop, is_failed, pc[1], 0.02); /* just turn the loop */
		}
		for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++) {
			const struct xs_topo_host *host = xs_topo_host_at(t, h);
			double off = 1e9;
			bool skewed = !strcmp(host->name, "xcp-1-02");

			ok(xs_pool_client_host_offset(pc[1], host->uuid, &off) &&
				   fabs(off - (skewed ? -120.0 : 0.0)) < 2.0,
			   "offset of %s: %.2f", host->name, off);
		}
	}

	check_migration(s, 0, pc[0], "migration");

	/* a member down: the pool stays connected, the host's live flag drops */
	{
		const struct xs_topo *t = xs_pool_client_topo(pc[0]);
		const struct xs_topo_host *member = NULL;
		struct { const struct xs_topo *t; char uuid[64]; } hw;

		for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++)
			if (strcmp(xs_topo_host_at(t, h)->address, s->addr[0]))
				member = xs_topo_host_at(t, h);
		fail_unless(member, "a member host");
		hw.t = t;
		snprintf(hw.uuid, sizeof(hw.uuid), "%s", member->uuid);
		ok(sim_proc_post(s, "/sim/host/down?host=%s", hw.uuid) == 200, "host down: %.200s",
		   s->answer);
		{
			double t0 = sim_proc_now();
			bool seen = false;

			while (!seen && sim_proc_now() - t0 < 2.0) {
				const struct xs_topo_host *h = xs_topo_host_by_uuid(t, hw.uuid);

				seen = h && !h->live;
				if (!seen)
					loop_wait(t_loop, is_failed, pc[0], 0.01);
			}
			ok(seen, "the down host's live flag is false within 2 s");
		}
		ok(xs_pool_client_state(pc[0]) == XS_POOL_CONNECTED, "the pool stays connected: %s",
		   xs_pool_state_name(xs_pool_client_state(pc[0])));
		ok(sim_proc_post(s, "/sim/host/up?host=%s", hw.uuid) == 200, "host up");
	}

	/* session expiry: the next call gets SESSION_INVALID, the client logs in again */
	{
		double t0 = sim_proc_now();

		xs_pool_client_stats(pc[0], &st);
		ok(st.logins == 1, "one login so far: %llu", (unsigned long long)st.logins);
		ok(sim_proc_post(s, "/sim/sessions/expire") == 200, "expire sessions");
		check_migration(s, 0, pc[0], "migration after expiry");
		while (sim_proc_now() - t0 < 8) {
			xs_pool_client_stats(pc[0], &st);
			if (st.logins >= 2)
				break;
			loop_wait(t_loop, is_failed, pc[0], 0.02);
		}
		ok(st.logins >= 2, "logged in again: %llu", (unsigned long long)st.logins);
		ok(xs_pool_client_state(pc[0]) == XS_POOL_CONNECTED, "connected after re-login");
		check_migration(s, 0, pc[0], "migration after re-login");
	}

	/* master change in pool-1: the old master answers HOST_IS_SLAVE, the client follows */
	{
		const struct xs_topo *t = xs_pool_client_topo(pc[1]);
		const struct xs_topo_host *newm = NULL;
		char want[128];
		double t0;

		for (size_t h = 0; h < xs_topo_count(t, XS_TOPO_HOST); h++)
			if (strcmp(xs_topo_host_at(t, h)->address, s->addr[1]))
				newm = xs_topo_host_at(t, h);
		fail_unless(newm, "a member of pool-1");
		snprintf(want, sizeof(want), "http://%s:%u", newm->address, s->port);
		snprintf(q, sizeof(q), "/sim/pool/master?host=%s", newm->uuid);
		ok(sim_proc_http(s->addr[1], s->port, "POST", q, NULL, NULL, state, T_ANSWER_CAP) ==
			   200,
		   "master change: %.200s", state);
		t0 = sim_proc_now();
		while (sim_proc_now() - t0 < 10 && (strcmp(xs_pool_client_master_url(pc[1]), want) ||
					     !is_loaded(pc[1])))
			loop_wait(t_loop, is_failed, pc[1], 0.02);
		xs_pool_client_stats(pc[1], &st);
		ok(!strcmp(xs_pool_client_master_url(pc[1]), want), "follows the new master: %s",
		   xs_pool_client_master_url(pc[1]));
		ok(st.redirects >= 1, "HOST_IS_SLAVE followed %llu times",
		   (unsigned long long)st.redirects);
		ok(is_loaded(pc[1]), "connected to the new master: %s",
		   xs_pool_client_reason(pc[1]));
		ok(xs_topo_pool(t) && xs_topo_host_by_ref(t, xs_topo_pool(t)->master) &&
			   !strcmp(xs_topo_host_by_ref(t, xs_topo_pool(t)->master)->address,
				   newm->address),
		   "the topology names the new master");
		snprintf(s->addr[1], sizeof(s->addr[1]), "%s", newm->address);
	}
	for (int i = 0; i < 2; i++)
		client_stop(&pc[i]);
	free(state);
}

/* --- event faults --- */

/* Connected, loaded, and the counters at least these, legacy as asked. */
struct stats_wait {
	struct xs_pool_client *pc;
	uint64_t loads, resyncs, logins;
	bool legacy;
};

static bool stats_reached(void *arg)
{
	struct stats_wait *w = arg;
	struct xs_pool_stats st;

	xs_pool_client_stats(w->pc, &st);
	return is_loaded(w->pc) && st.loads >= w->loads && st.resyncs >= w->resyncs &&
	       st.logins >= w->logins && xs_pool_client_legacy_events(w->pc) == w->legacy;
}

/* Waits until pc has had `loads` loads etc.; the wait's own checks named by what. */
static bool wait_stats(struct xs_pool_client *pc, uint64_t loads, uint64_t resyncs,
		       uint64_t logins, bool legacy, const char *what)
{
	struct stats_wait w = { pc, loads, resyncs, logins, legacy };
	struct xs_pool_stats st;
	bool met = loop_wait(t_loop, stats_reached, &w, 10);

	xs_pool_client_stats(pc, &st);
	return ok(met, "%s: loads %llu resyncs %llu logins %llu legacy %d (%s)", what,
		  (unsigned long long)st.loads, (unsigned long long)st.resyncs,
		  (unsigned long long)st.logins, xs_pool_client_legacy_events(pc),
		  xs_pool_client_reason(pc));
}

/* The topology still matches the sim's pool 0 (hosts, guests + control domains, SRs). */
static void check_topology(struct sim_proc *s, struct xs_pool_client *pc, const char *what)
{
	const struct xs_topo *t = xs_pool_client_topo(pc);
	char *state = malloc(T_ANSWER_CAP);
	const char *p0;
	long guests, dom0s;

	fail_unless(sim_get(s, "/sim/state", state) == 200, "sim state");
	p0 = strstr(state, "\"name\":\"pool-0\"");
	guests = json_num_after(p0, "total");
	dom0s = json_num_after(p0, "control_domains");
	ok(xs_topo_count(t, XS_TOPO_HOST) == 3 && xs_topo_count(t, XS_TOPO_SR) == 4 &&
		   (long)topo_vms(t) == guests + dom0s,
	   "%s: topology right: %zu hosts, %zu SRs, %zu VMs = %ld + %ld", what,
	   xs_topo_count(t, XS_TOPO_HOST), xs_topo_count(t, XS_TOPO_SR), topo_vms(t), guests,
	   dom0s);
	free(state);
}

/* POST target on pool 0's control interface; the number `key` of its answer. */
static long sim_control(struct sim_proc *s, const char *target, const char *key)
{
	int st = sim_proc_post(s, "%s", target);

	ok(st == 200, "%s: %d %.200s", target, st, s->answer);
	return json_num_after(s->answer, key);
}

/* Lets the client's event.from (or event.next) reach the sim and wait there. */
static void settle(struct xs_pool_client *pc)
{
	loop_wait(t_loop, is_failed, pc, 0.2);
}

static void test_events_lost(struct sim_proc *s)
{
	struct xs_pool_client *pc = client_new(s->url[0], "pw", NULL, 0);
	struct xs_pool_stats st;

	fail_unless(pc, "client");
	fail_unless(wait_stats(pc, 1, 0, 1, false, "loaded"), "loaded");
	settle(pc);
	ok(sim_control(s, "/sim/events/lose", "woken") == 1, "the waiting event.from took it");
	wait_stats(pc, 2, 1, 1, false, "EVENTS_LOST: resynced");
	xs_pool_client_stats(pc, &st);
	ok(st.resyncs == 1 && st.loads == 2 && st.failures == 0 && st.logins == 1,
	   "one resync, one more load, no failure, same session: %llu %llu %llu %llu",
	   (unsigned long long)st.resyncs, (unsigned long long)st.loads,
	   (unsigned long long)st.failures, (unsigned long long)st.logins);
	check_topology(s, pc, "after EVENTS_LOST");
	check_migration(s, 0, pc, "migration after EVENTS_LOST");

	/* twice in a row: the second loss backs off once instead of reloading in a loop */
	settle(pc);
	ok(sim_control(s, "/sim/events/lose?count=2", "woken") == 1, "lose twice");
	wait_stats(pc, 4, 3, 1, false, "EVENTS_LOST twice: resynced");
	xs_pool_client_stats(pc, &st);
	ok(st.resyncs == 3 && st.failures == 1, "the second in a row backed off: %llu %llu",
	   (unsigned long long)st.resyncs, (unsigned long long)st.failures);
	check_topology(s, pc, "after EVENTS_LOST twice");
	check_migration(s, 0, pc, "migration after EVENTS_LOST twice");

	/* legacy switched on while event.from waits: MESSAGE_METHOD_UNKNOWN → event.next */
	settle(pc);
	ok(sim_control(s, "/sim/events/legacy?on=1", "woken") == 1,
	   "the waiting event.from is answered MESSAGE_METHOD_UNKNOWN");
	wait_stats(pc, 5, 3, 1, true, "event.from unknown: legacy events");
	check_topology(s, pc, "after the switch to legacy events");
	check_migration(s, 0, pc, "migration with event.next (switched)");
	client_stop(&pc);
	sim_control(s, "/sim/events/legacy?on=0", "woken");
}

static void test_legacy_events(struct sim_proc *s)
{
	struct xs_pool_client *pc;
	struct xs_pool_stats st, st2;

	sim_control(s, "/sim/events/legacy?on=1", "woken");
	pc = client_new(s->url[0], "pw", NULL, 0);
	fail_unless(pc, "client");
	/* event.inject is MESSAGE_METHOD_UNKNOWN: one load attempt, then register + load */
	wait_stats(pc, 1, 0, 1, true, "legacy: loaded");
	xs_pool_client_stats(pc, &st);
	ok(xs_pool_client_legacy_events(pc) && st.failures == 0,
	   "uses event.register/event.next, no failure: %llu", (unsigned long long)st.failures);
	check_topology(s, pc, "legacy");
	check_migration(s, 0, pc, "migration with event.next");
	check_migration(s, 0, pc, "a second migration with event.next");

	/* EVENTS_LOST from event.next: a resync, still legacy */
	settle(pc);
	ok(sim_control(s, "/sim/events/lose", "woken") == 1, "the waiting event.next took it");
	wait_stats(pc, 2, 1, 1, true, "legacy EVENTS_LOST: resynced");
	check_topology(s, pc, "legacy after EVENTS_LOST");
	check_migration(s, 0, pc, "legacy: migration after EVENTS_LOST");

	/* session expiry: a registration is per session, so log in, register and load again */
	settle(pc);
	xs_pool_client_stats(pc, &st);
	sim_control(s, "/sim/sessions/expire", "expired");
	check_migration(s, 0, pc, "legacy: migration right after expiry");
	wait_stats(pc, st.loads + 1, st.resyncs, st.logins + 1, true, "legacy: logged in again");
	xs_pool_client_stats(pc, &st2);
	ok(st2.failures == st.failures && st2.resyncs == st.resyncs,
	   "re-login without a failure or a lost-event resync: %llu %llu",
	   (unsigned long long)st2.failures, (unsigned long long)st2.resyncs);
	check_migration(s, 0, pc, "legacy: migration after re-login");
	client_stop(&pc);
	sim_control(s, "/sim/events/legacy?on=0", "woken");
}

static void test_login_refused(struct sim_proc *s)
{
	struct xs_pool_client *pc = client_new(s->url[0], "not-the-password", NULL, 0);

	fail_unless(pc, "client");
	ok(loop_wait(t_loop, is_failed, pc, 10), "failed: %s",
	   xs_pool_state_name(xs_pool_client_state(pc)));
	ok(strstr(xs_pool_client_reason(pc), "SESSION_AUTHENTICATION_FAILED") != NULL,
	   "reason: %s", xs_pool_client_reason(pc));
	ok(strstr(xs_pool_client_reason(pc), "not-the-password") == NULL, "no password in it");
	ok(!xs_pool_client_loaded(pc), "nothing loaded");
	client_stop(&pc);
}

/* A xapi before 6.2: the first login is refused for its originator, the
 * client logs in with user and password and keeps doing so. */
static void test_old_login(struct sim_proc *s)
{
	struct xs_pool_client *pc;
	struct xs_pool_stats st, st2;

	ok(sim_control(s, "/sim/pool/old_login?on=1", "refused_logins") == 0, "old login on");
	pc = client_new(s->url[0], "pw", NULL, 1); /* one attempt: the retry is not a failure */
	fail_unless(pc, "client");
	fail_unless(wait_stats(pc, 1, 0, 1, false, "old login: loaded"), "loaded");
	xs_pool_client_stats(pc, &st);
	ok(xs_pool_client_short_login(pc) && st.failures == 0 && st.logins == 1,
	   "logged in with 2 params, no failure: %d %llu %llu", xs_pool_client_short_login(pc),
	   (unsigned long long)st.failures, (unsigned long long)st.logins);
	ok(sim_control(s, "/sim/pool/old_login?on=1", "refused_logins") == 1,
	   "one login refused by the sim");
	check_topology(s, pc, "old login");
	/* a re-login after expiry sends 2 params at once */
	settle(pc);
	sim_control(s, "/sim/sessions/expire", "expired");
	check_migration(s, 0, pc, "old login: migration right after expiry");
	wait_stats(pc, st.loads, st.resyncs, st.logins + 1, false, "old login: logged in again");
	xs_pool_client_stats(pc, &st2);
	ok(st2.logins == 2 && st2.failures == 0, "re-login, no failure: %llu %llu",
	   (unsigned long long)st2.logins, (unsigned long long)st2.failures);
	ok(sim_control(s, "/sim/pool/old_login?on=1", "refused_logins") == 1,
	   "the re-login was not refused: 2 params remembered");
	client_stop(&pc);
	sim_control(s, "/sim/pool/old_login?on=0", "refused_logins");
}

static long sim_sessions(struct sim_proc *s);

/*
 * A collector's 401 reported while event.from waits 30 s with the session: the
 * client logs in again at once and follows events with the same token (no
 * reload); the collector test has the sessions expired. A session that is not the current one, and a second report within
 * 30 s, start no login. A session reported that the master still holds (a host
 * refused it for another reason) is logged out.
 */
static void test_session_failed(struct sim_proc *s)
{
	struct xs_pool_client *pc;
	struct xs_pool_stats st;
	struct stats_wait w;
	char first[128];
	double t0;
	long sessions;

	t_event_timeout = 30;
	pc = client_new(s->url[0], "pw", NULL, 0);
	t_event_timeout = 5;
	fail_unless(pc, "client");
	fail_unless(wait_stats(pc, 1, 0, 1, false, "session failed: loaded"), "loaded");
	settle(pc);
	snprintf(first, sizeof(first), "%s", xs_pool_client_session(pc));
	ok(!xs_pool_client_session_failed(pc, "OpaqueRef:not-ours"), "another session: ignored");
	settle(pc);
	xs_pool_client_stats(pc, &st);
	ok(st.logins == 1 && !strcmp(xs_pool_client_session(pc), first),
	   "no login for another session: %llu", (unsigned long long)st.logins);

	/* the session is still valid on the master (as when one host refuses it): only the
	 * report can end the wait, and the session given up must be logged out */
	sessions = sim_sessions(s);
	t0 = sim_proc_now();
	ok(xs_pool_client_session_failed(pc, first), "the current session: a login starts");
	w = (struct stats_wait){ pc, 1, 0, 2, false };
	ok(loop_wait(t_loop, stats_reached, &w, 3),
	   "logged in again within 3 s (event.from waits 30 s): %.2f s", sim_proc_now() - t0);
	settle(pc);
	ok(sessions >= 1 && sim_sessions(s) == sessions,
	   "the session given up was logged out: %ld sessions, %ld before", sim_sessions(s),
	   sessions);
	xs_pool_client_stats(pc, &st);
	ok(st.logins == 2 && st.loads == 1 && st.failures == 0 && st.resyncs == 0,
	   "one login, the event token kept (no reload), no failure: %llu %llu %llu %llu",
	   (unsigned long long)st.logins, (unsigned long long)st.loads,
	   (unsigned long long)st.failures, (unsigned long long)st.resyncs);
	ok(xs_pool_client_session(pc)[0] && strcmp(xs_pool_client_session(pc), first),
	   "a new session");
	check_migration(s, 0, pc, "session failed: migration after the re-login");

	/* the old session again (a fetch that began before the login), then the new one
	 * within 30 s (a host that refuses every session): no login */
	settle(pc);
	ok(!xs_pool_client_session_failed(pc, first), "the old session: ignored");
	ok(!xs_pool_client_session_failed(pc, xs_pool_client_session(pc)),
	   "the new session within 30 s: ignored");
	settle(pc);
	xs_pool_client_stats(pc, &st);
	ok(st.logins == 2 && is_loaded(pc), "still 2 logins, connected: %llu",
	   (unsigned long long)st.logins);
	check_migration(s, 0, pc, "session failed: events still followed");
	client_stop(&pc);
}

/* Logins counted, whatever the state (stats_reached wants CONNECTED too). */
static bool logins_reached(void *arg)
{
	struct stats_wait *w = arg;
	struct xs_pool_stats st;

	xs_pool_client_stats(w->pc, &st);
	return st.logins >= w->logins;
}

/*
 * A collector's 401 reported, and the re-login fails once (the master's xapi restarting:
 * the next requests to it answer 500): the client backs off, logs in at the retry and
 * follows events with its token again; it is CONNECTED again, not CONNECTING for ever
 * (where a later 401 would be ignored: session_failed wants CONNECTED).
 */
static void test_session_failed_login_fails(struct sim_proc *s)
{
	struct xs_pool_client *pc;
	struct xs_pool_stats st;
	struct stats_wait w;
	const struct xs_topo *t;
	const char *master = NULL;
	char first[128];

	t_event_timeout = 30;
	pc = client_new(s->url[0], "pw", NULL, 0);
	t_event_timeout = 5;
	fail_unless(pc, "client");
	fail_unless(loop_wait(t_loop, is_loaded, pc, 10), "loaded");
	settle(pc);
	t = xs_pool_client_topo(pc);
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++)
		if (!strcmp(xs_topo_host_at(t, i)->address, s->addr[0]))
			master = xs_topo_host_at(t, i)->uuid;
	fail_unless(master, "the master's uuid");
	xs_pool_client_stats(pc, &st);
	snprintf(first, sizeof(first), "%s", xs_pool_client_session(pc));
	/* the logout of the session given up and the login both answered 500 */
	ok(sim_proc_post(s, "/sim/host/fail?host=%s&count=2", master) == 200, "fail: %.200s",
	   s->answer);
	ok(xs_pool_client_session_failed(pc, first), "the current session: a login starts");
	w = (struct stats_wait){ pc, 0, 0, st.logins + 1, false };
	ok(loop_wait(t_loop, logins_reached, &w, 5), "logged in again after a backoff");
	settle(pc);
	ok(xs_pool_client_state(pc) == XS_POOL_CONNECTED,
	   "connected again after the re-login's retry: %s (%s)",
	   xs_pool_state_name(xs_pool_client_state(pc)), xs_pool_client_reason(pc));
	check_migration(s, 0, pc, "session failed, login retried: events followed");
	client_stop(&pc);
}

static bool timeout_configured(void *arg)
{
	return xs_pool_client_call_timeout(arg) == 0.4;
}

static bool is_loaded_any(void *arg)
{
	return xs_pool_client_loaded(arg);
}

/* A master that answers each call after 0.7 s, calls given 0.4 s: the timeout doubles after
 * the first call that ran out of it, and the pool loads (with a fixed one it never would). */
static void test_slow_master(struct sim_proc *s)
{
	struct xs_pool_client *pc = client_new(s->url[0], "pw", NULL, 0);
	const struct xs_topo *t;
	char master[64] = "";

	if (!ok(pc && loop_wait(t_loop, is_loaded, pc, 10), "loaded")) {
		client_stop(&pc);
		return;
	}
	t = xs_pool_client_topo(pc);
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++)
		if (xs_topo_host_at(t, i) && !strcmp(xs_topo_host_at(t, i)->address, s->addr[0]))
			snprintf(master, sizeof(master), "%s", xs_topo_host_at(t, i)->uuid);
	client_stop(&pc);
	fail_unless(master[0], "the master's uuid");
	ok(sim_proc_post(s, "/sim/host/slow?host=%s&ms=700", master) == 200, "master slow");
	pc = client_new_timeout(s->url[0], "pw", NULL, 0, 0.4);
	fail_unless(pc, "client");
	ok(loop_wait(t_loop, is_loaded_any, pc, 20), "loaded from a slow master: %s",
	   xs_pool_client_reason(pc));
	ok(xs_pool_client_call_timeout(pc) >= 0.8 && xs_pool_client_call_timeout(pc) <= 4.0,
	   "timeout grew from 0.4 s to %.1f s (at most 10 x)", xs_pool_client_call_timeout(pc));
	/* fast again: the next load brings it back to the configured 0.4 s */
	ok(sim_proc_post(s, "/sim/host/slow?host=%s&ms=0", master) == 200, "master fast again");
	settle(pc);
	sim_proc_post(s, "/sim/events/lose");
	ok(loop_wait(t_loop, timeout_configured, pc, 20), "after a fast load: %.1f s",
	   xs_pool_client_call_timeout(pc));
	client_stop(&pc);
}

static void test_unreachable(struct sim_proc *s)
{
	char url[128];
	struct xs_pool_client *pc;

	/* an address of the base nobody listens on */
	snprintf(url, sizeof(url), "http://%.*s250.250:%u",
		 (int)(strrchr(s->addr[0], '.') - s->addr[0] - 1), s->addr[0], s->port);
	pc = client_new(url, "pw", NULL, 3);
	fail_unless(pc, "client %s", url);
	ok(loop_wait(t_loop, is_backoff, pc, 5), "backing off: %s", xs_pool_client_reason(pc));
	ok(strstr(xs_pool_client_reason(pc), "retrying in") != NULL, "reason: %s",
	   xs_pool_client_reason(pc));
	ok(loop_wait(t_loop, is_failed, pc, 5), "failed after 3 attempts: %s", xs_pool_client_reason(pc));
	{
		struct xs_pool_stats st;

		xs_pool_client_stats(pc, &st);
		ok(st.failures == 3, "3 failures: %llu", (unsigned long long)st.failures);
	}
	client_stop(&pc);
}

/* The sessions the simulator holds now (-1 if /sim/state did not answer). */
static long sim_sessions(struct sim_proc *s)
{
	char *ans = malloc(T_ANSWER_CAP);
	long n = ans && sim_get(s, "/sim/state", ans) == 200 ? json_num_after(ans, "sessions") : -1;

	free(ans);
	return n;
}

/* cfg.admit of test_admit: refuses while refuse is true, counting the questions. */
struct admit_rule {
	bool refuse;
	unsigned asked;
	char uuid[64];   /* the last pool uuid asked about */
	unsigned baseline; /* asked_again: asked past this */
};

static bool admit_cb(void *arg, struct xs_pool_client *pc, const char *uuid, char *why)
{
	struct admit_rule *r = arg;

	(void)pc;
	r->asked++;
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	if (r->refuse)
		snprintf(why, XS_POOL_REASON_LEN, "pool %s refused by the test", uuid);
	return !r->refuse;
}

/* admit asked at least once. */
static bool admit_asked(void *arg)
{
	return ((const struct admit_rule *)arg)->asked > 0;
}

static bool asked_again(void *arg)
{
	const struct admit_rule *r = arg;

	return r->asked > r->baseline;
}

/* A client of the simulator's first pool whose admit is r's rule, backing off `backoff`
 * seconds, started; NULL (the reason on stderr) if it cannot be made. */
static struct xs_pool_client *admit_client(struct sim_proc *s, struct admit_rule *r, double backoff)
{
	struct xs_pool_config cfg = { 0 };
	struct xs_pool_client *pc;
	char err[XS_ERR_LEN];

	cfg.url = s->url[0];
	cfg.user = "root";
	cfg.password = "pw";
	cfg.event_timeout = 5;
	cfg.backoff_min = backoff;
	cfg.backoff_max = backoff;
	cfg.admit = admit_cb;
	cfg.arg = r;
	pc = xs_pool_client_new(t_loop, t_http, &cfg, err);
	if (pc)
		xs_pool_client_start(pc);
	else
		fprintf(stderr, "# admit client: %s\n", err);
	return pc;
}

static bool is_refused(void *arg)
{
	struct xs_pool_client *pc = arg;

	return xs_pool_client_state(pc) == XS_POOL_BACKOFF &&
	       strstr(xs_pool_client_reason(pc), "refused by the test") != NULL;
}

/*
 * cfg.admit: a refused pool backs off with the refusal as reason, its session logged
 * out and nothing loaded; each retry asks again; admitted, it loads. Refused at a
 * resync, a loaded pool forgets its topology.
 */
static void test_admit(struct sim_proc *s)
{
	struct admit_rule r = { .refuse = true };
	struct xs_pool_client *pc;
	long sessions = sim_sessions(s);
	unsigned asked;

	pc = admit_client(s, &r, 0.3);
	fail_unless(pc, "client");
	ok(loop_wait(t_loop, is_refused, pc, 10), "refused: backing off: %s",
	   xs_pool_client_reason(pc));
	ok(!strncmp(xs_pool_client_reason(pc), "pool ", 5) &&
		   strstr(xs_pool_client_reason(pc), "; retrying in ") && r.uuid[0],
	   "the refusal is the reason: %s", xs_pool_client_reason(pc));
	ok(!xs_pool_client_loaded(pc) &&
		   xs_topo_count(xs_pool_client_topo(pc), XS_TOPO_HOST) == 0 &&
		   xs_topo_pool(xs_pool_client_topo(pc)) == NULL,
	   "nothing loaded, nothing kept");
	asked = r.asked;
	loop_wait(t_loop, is_loaded_any, pc, 1.5); /* a few retries, each refused */
	ok(r.asked > asked && !xs_pool_client_loaded(pc), "each retry asks again (%u)", r.asked);
	/* counted between two tries: a try in flight holds its session until its logout */
	ok(loop_wait(t_loop, is_refused, pc, 5), "backing off again");
	ok(sim_sessions(s) == sessions, "every refused session logged out: %ld, %ld before",
	   sim_sessions(s), sessions);
	r.refuse = false;
	xs_pool_client_retry(pc);
	ok(loop_wait(t_loop, is_loaded, pc, 10) &&
		   xs_topo_count(xs_pool_client_topo(pc), XS_TOPO_HOST) == 3,
	   "admitted: loaded (%s)", xs_pool_client_reason(pc));
	/* a resync refused: the topology goes */
	settle(pc);
	r.refuse = true;
	sim_proc_post(s, "/sim/events/lose");
	ok(loop_wait(t_loop, is_refused, pc, 10) && !xs_pool_client_loaded(pc) &&
		   xs_topo_count(xs_pool_client_topo(pc), XS_TOPO_HOST) == 0,
	   "refused at a resync: topology forgotten (%s)", xs_pool_client_reason(pc));
	client_stop(&pc);
}

/*
 * xs_pool_client_retry() while a refusal's session.logout is in flight (what
 * cmd_serve.c does when the section holding the pool fails or a reload drops it,
 * whatever the refused client is doing): the retry is not lost, the client tries
 * again as soon as the logout is answered, not after its whole backoff.
 */
static void test_admit_retry_in_drop(struct sim_proc *s)
{
	struct admit_rule r = { .refuse = true };
	struct xs_pool_client *pc;
	const struct xs_topo *t;
	char master[64] = "";
	bool asked;

	/* the master's uuid, to slow it down: the refusal's logout then takes 0.3 s */
	pc = client_new(s->url[0], "pw", NULL, 0);
	fail_unless(pc && loop_wait(t_loop, is_loaded, pc, 10), "loaded");
	t = xs_pool_client_topo(pc);
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST); i++)
		if (xs_topo_host_at(t, i) && !strcmp(xs_topo_host_at(t, i)->address, s->addr[0]))
			snprintf(master, sizeof(master), "%s", xs_topo_host_at(t, i)->uuid);
	client_stop(&pc);
	fail_unless(master[0], "the master's uuid");
	ok(sim_proc_post(s, "/sim/host/slow?host=%s&ms=300", master) == 200, "master slow");
	pc = admit_client(s, &r, 60);
	fail_unless(pc, "client");
	asked = loop_wait(t_loop, admit_asked, &r, 10);
	ok(asked && xs_pool_client_state(pc) == XS_POOL_CONNECTING, "refused, logging out");
	r.refuse = false;
	xs_pool_client_retry(pc); /* e.g. the section holding the pool failed */
	ok(loop_wait(t_loop, is_loaded, pc, 8),
	   "a retry during the refusal's logout: loaded soon, not after 60 s (%s: %s)",
	   xs_pool_state_name(xs_pool_client_state(pc)), xs_pool_client_reason(pc));
	ok(sim_proc_post(s, "/sim/host/slow?host=%s&ms=0", master) == 200, "master fast again");
	client_stop(&pc);
}

/*
 * A refused client follows the master wherever it goes: each refusal ends an
 * attempt, so the HOST_IS_SLAVE hops of one attempt are not added to those of
 * the next (PC_MAX_REDIRECTS is per attempt: "in a row"). Refused for months (a
 * duplicate section, cmd_serve.c), a pool whose master moved a few times must
 * still be reached once admit says yes.
 */
static void test_admit_master_moves(struct sim_proc *s)
{
	struct admit_rule r = { .refuse = true };
	struct xs_pool_client *pc;
	char uuids[8][64], addrs[8][64];
	size_t nhosts = 0, cur = 0;
	const struct xs_topo *t;
	int moved = 0;

	pc = client_new(s->url[0], "pw", NULL, 0);
	fail_unless(pc && loop_wait(t_loop, is_loaded, pc, 10), "loaded");
	t = xs_pool_client_topo(pc);
	for (size_t i = 0; i < xs_topo_count(t, XS_TOPO_HOST) && nhosts < 8; i++) {
		snprintf(uuids[nhosts], sizeof(uuids[0]), "%s", xs_topo_host_at(t, i)->uuid);
		snprintf(addrs[nhosts], sizeof(addrs[0]), "%s", xs_topo_host_at(t, i)->address);
		if (!strcmp(addrs[nhosts], s->addr[0]))
			cur = nhosts;
		nhosts++;
	}
	client_stop(&pc);
	fail_unless(nhosts >= 2, "hosts: %zu", nhosts);
	pc = admit_client(s, &r, 0.2);
	fail_unless(pc, "client");
	ok(loop_wait(t_loop, admit_asked, &r, 10), "refused");
	for (int k = 0; k < 7; k++) {
		size_t next = (cur + 1) % nhosts;
		unsigned asked = r.asked;
		char q[160];

		snprintf(q, sizeof(q), "/sim/pool/master?host=%s", uuids[next]);
		if (sim_proc_http(addrs[cur], s->port, "POST", q, NULL, NULL, s->answer,
				  sizeof(s->answer)) != 200)
			break;
		cur = next;
		snprintf(s->addr[0], sizeof(s->addr[0]), "%s", addrs[cur]);
		r.baseline = asked;
		loop_wait(t_loop, asked_again, &r, 5);
		if (r.asked == asked)
			break;
		moved++;
	}
	ok(moved == 7, "refused again at each of 7 master moves: %d (%s)", moved,
	   xs_pool_client_reason(pc));
	r.refuse = false;
	xs_pool_client_retry(pc);
	ok(loop_wait(t_loop, is_loaded, pc, 5), "then admitted: loaded (%s)",
	   xs_pool_client_reason(pc));
	client_stop(&pc);
}

static void test_on_sim(void)
{
	struct sim_proc s;
	int base = 100 + (int)(getpid() % 150);

	if (!ok(sim_start(&s, 2, "3", "4", false, base), "xapi-sim started")) {
		sim_proc_stop(&s);
		return;
	}
	test_discovery_and_events(&s);
	test_events_lost(&s);
	test_legacy_events(&s);
	test_login_refused(&s);
	test_old_login(&s);
	test_session_failed(&s);
	test_session_failed_login_fails(&s);
	test_slow_master(&s);
	test_unreachable(&s);
	test_admit(&s);
	test_admit_retry_in_drop(&s);
	test_admit_master_moves(&s);
	ok(sim_proc_stop(&s) == 0, "xapi-sim stopped cleanly");
}

static void test_tls(void)
{
	struct sim_proc s;
	struct xs_tls_opts tls = { 0 };
	struct xs_pool_client *pc;
	int base = 100 + (int)((getpid() + 61) % 150);
	char *c;

	if (!ok(sim_start(&s, 1, "2", "1", true, base), "xapi-sim --tls started")) {
		sim_proc_stop(&s);
		return;
	}
	snprintf(tls.pins, sizeof(tls.pins), "%.95s", s.fingerprint);
	pc = client_new(s.url[0], "pw", &tls, 1);
	ok(pc && loop_wait(t_loop, is_loaded, pc, 10), "the right pin: connected (%s)",
	   pc ? xs_pool_client_reason(pc) : "");
	ok(pc && xs_topo_count(xs_pool_client_topo(pc), XS_TOPO_HOST) == 2, "2 hosts over TLS");
	client_stop(&pc);

	c = tls.pins;
	c[0] = c[0] == 'A' ? 'B' : 'A';
	pc = client_new(s.url[0], "pw", &tls, 1);
	ok(pc && loop_wait(t_loop, is_failed, pc, 10), "a wrong pin: failed");
	ok(pc && !xs_pool_client_loaded(pc), "nothing loaded with a wrong pin");
	if (pc)
		fprintf(stderr, "# wrong pin: %s\n", xs_pool_client_reason(pc));
	client_stop(&pc);

	memset(&tls, 0, sizeof(tls));
	pc = client_new(s.url[0], "pw", &tls, 1);
	ok(pc && loop_wait(t_loop, is_failed, pc, 10), "no pin, self-signed: refused");
	client_stop(&pc);
	ok(sim_proc_stop(&s) == 0, "xapi-sim --tls stopped cleanly");
}

/* --- the JSON-RPC → XML-RPC fallback, against a tiny in-process server --- */

enum fake_mode {
	FAKE_404,        /* /jsonrpc: 404 */
	FAKE_TEXT_XML,   /* /jsonrpc: 200 text/xml (an XML-RPC reply) */
	FAKE_HTML,       /* /jsonrpc: 200 text/html */
	FAKE_NO_CTYPE,   /* /jsonrpc: 200 without a content type */
	FAKE_JSON,       /* /jsonrpc: 200 application/json, a JSON-RPC reply */
	FAKE_JSON_201,   /* /jsonrpc: 201 application/json, a JSON-RPC reply */
	FAKE_GARBAGE,    /* /: a cut XML-RPC reply */
	FAKE_AUTHZ,      /* every reply: SESSION_AUTHORIZATION_FAILED */
	FAKE_WIPED,      /* logins succeed; the first FAKE_WIPED_LOGINS sessions are wiped at once
			  * (SESSION_INVALID), later ones are valid */
};

#define FAKE_WIPED_LOGINS 5

struct fake {
	int lfd;
	unsigned port;
	enum fake_mode mode;
	unsigned json_hits, xml_hits;
	unsigned logins;      /* FAKE_WIPED: sessions handed out */
	unsigned valid_calls; /* FAKE_WIPED: calls made with a valid session */
	char reply[512];
};

static const char fake_xml_ok[] =
	"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
	"<member><name>Status</name><value>Success</value></member>"
	"<member><name>Value</name><value>OpaqueRef:fake</value></member>"
	"</struct></value></param></params></methodResponse>";

static const char fake_xml_authz[] =
	"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
	"<member><name>Status</name><value>Failure</value></member>"
	"<member><name>ErrorDescription</name><value><array><data>"
	"<value>SESSION_AUTHORIZATION_FAILED</value><value>root</value>"
	"<value>no role</value></data></array></value></member>"
	"</struct></value></param></params></methodResponse>";

static const char fake_json_ok[] = "{\"jsonrpc\":\"2.0\",\"result\":\"OpaqueRef:fake\",\"id\":1}";

/* What /jsonrpc answers in mode f->mode: status, content type (NULL: none), body. */
static void fake_jsonrpc(const struct fake *f, const char **status, const char **ctype,
			 const char **body)
{
	switch (f->mode) {
	case FAKE_404:
		*status = "404 Not Found";
		*ctype = "text/plain";
		*body = "not found";
		break;
	case FAKE_HTML:
		*ctype = "text/html";
		*body = "<html><body>XenServer</body></html>";
		break;
	case FAKE_NO_CTYPE:
		*ctype = NULL;
		*body = "XenServer";
		break;
	case FAKE_JSON:
		*ctype = "application/json";
		*body = fake_json_ok;
		break;
	case FAKE_JSON_201:
		*status = "201 Created";
		*ctype = "application/json";
		*body = fake_json_ok;
		break;
	default:
		break;
	}
}

/* FAKE_WIPED over XML-RPC: a new session per login; a call with one of the first
 * FAKE_WIPED_LOGINS sessions fails SESSION_INVALID, any other fails HOST_STILL_BOOTING. */
static const char *fake_wiped(struct fake *f, const char *req)
{
	const char *head = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>";
	const char *tail = "</struct></value></param></params></methodResponse>";
	const char *ref = strstr(req, "OpaqueRef:s");
	unsigned n = ref ? (unsigned)strtoul(ref + 11, NULL, 10) : 0;

	if (strstr(req, "<methodName>session.login_with_password</methodName>")) {
		snprintf(f->reply, sizeof(f->reply),
			 "%s<member><name>Status</name><value>Success</value></member>"
			 "<member><name>Value</name><value>OpaqueRef:s%u</value></member>%s",
			 head, ++f->logins, tail);
	} else {
		f->valid_calls += n > FAKE_WIPED_LOGINS;
		snprintf(f->reply, sizeof(f->reply),
			 "%s<member><name>Status</name><value>Failure</value></member>"
			 "<member><name>ErrorDescription</name><value><array><data>"
			 "<value>%s</value><value>OpaqueRef:s%u</value></data></array></value>"
			 "</member>%s",
			 head, n > FAKE_WIPED_LOGINS ? "HOST_STILL_BOOTING" : "SESSION_INVALID", n,
			 tail);
	}
	return f->reply;
}

static void fake_answer(struct fake *f, int fd, const char *req)
{
	bool json = strstr(req, "POST /jsonrpc ") == req;
	const char *status = "200 OK", *ctype = "text/xml";
	const char *body = f->mode == FAKE_AUTHZ ? fake_xml_authz : fake_xml_ok;
	char head[256], type[64] = "";

	if (json) {
		f->json_hits++;
		fake_jsonrpc(f, &status, &ctype, &body);
	} else {
		f->xml_hits++;
		if (f->mode == FAKE_GARBAGE)
			body = "<methodResponse><params><param><value><struct><member>";
		if (f->mode == FAKE_WIPED)
			body = fake_wiped(f, req);
	}
	if (ctype)
		snprintf(type, sizeof(type), "Content-Type: %s\r\n", ctype);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, type, strlen(body));
	if (write(fd, head, strlen(head)) < 0 || write(fd, body, strlen(body)) < 0)
		fprintf(stderr, "fake: write failed\n");
}

static void fake_on_client(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	char req[8192];
	ssize_t n;

	(void)events;
	/* requests are small and arrive at once on loopback: read head and body */
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n > 0) {
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n")) {
			usleep(2000); /* let the body follow */
			(void)!recv(fd, req + n, sizeof(req) - 1 - (size_t)n, MSG_DONTWAIT);
			fake_answer(arg, fd, req);
		}
	}
	xs_evloop_del_fd(loop, fd);
	close(fd);
}

static void fake_on_accept(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	int c = accept(fd, NULL, NULL);

	(void)events;
	if (c >= 0 && xs_evloop_add_fd(loop, c, XS_EV_READ, fake_on_client, arg) != XS_OK)
		close(c);
}

static bool fake_start(struct fake *f)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 16) ||
	    getsockname(f->lfd, (struct sockaddr *)&sa, &len))
		return false;
	f->port = ntohs(sa.sin_port);
	return xs_evloop_add_fd(t_loop, f->lfd, XS_EV_READ, fake_on_accept, f) == XS_OK;
}

struct call_out {
	bool done;
	enum xs_err rc;
	bool ok;
	char value[64];
	char error[XS_ERR_LEN];
};

static void call_done(void *arg, const struct xs_rpc_result *res)
{
	struct call_out *o = arg;

	o->done = true;
	o->rc = res->rc;
	o->ok = res->rc == XS_OK && res->reply.ok;
	snprintf(o->error, sizeof(o->error), "%s", res->error);
	if (o->ok && res->reply.value && res->reply.value->type == XS_RPC_STRING)
		snprintf(o->value, sizeof(o->value), "%s", res->reply.value->u.str.ptr);
}

static bool call_finished(void *arg)
{
	return ((struct call_out *)arg)->done;
}

static void fallback_case(enum fake_mode mode, const char *what)
{
	struct fake f = { .mode = mode };
	struct xs_rpc_conn *c;
	struct call_out o = { 0 };
	char url[64], err[XS_ERR_LEN];
	uint64_t id;

	fail_unless(fake_start(&f), "%s: fake server", what);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
	c = xs_rpc_conn_new(t_http, url, NULL, 0, err);
	fail_unless(c, "%s: conn: %s", what, err);
	ok(xs_rpc_conn_proto(c) == XS_RPC_PROTO_UNKNOWN, "%s: protocol unknown at first", what);
	id = xs_rpc_call(c, "session.login_with_password", NULL, 5, call_done, &o, err);
	ok(id > 0, "%s: call submitted: %s", what, err);
	ok(loop_wait(t_loop, call_finished, &o, 5), "%s: call done", what);
	if (mode == FAKE_GARBAGE) {
		ok(o.rc == XS_ERR_PARSE || o.rc == XS_ERR_TRUNCATED, "%s: a decoding error: %s", what,
		   o.error);
		ok(strstr(o.error, "malformed XML-RPC reply") != NULL, "%s: clear message: %s", what,
		   o.error);
	} else {
		ok(o.ok && !strcmp(o.value, "OpaqueRef:fake"), "%s: XML-RPC answer: %s", what,
		   o.error);
	}
	ok(xs_rpc_conn_proto(c) == XS_RPC_PROTO_XML, "%s: XML-RPC remembered", what);
	ok(f.json_hits == 1 && f.xml_hits == 1, "%s: one try each: %u %u", what, f.json_hits,
	   f.xml_hits);
	/* the choice is remembered: the next call goes straight to XML-RPC */
	memset(&o, 0, sizeof(o));
	f.mode = FAKE_404;
	ok(xs_rpc_call(c, "session.logout", NULL, 5, call_done, &o, err) > 0, "second call");
	ok(loop_wait(t_loop, call_finished, &o, 5) && o.ok, "%s: second call ok: %s", what, o.error);
	ok(f.json_hits == 1 && f.xml_hits == 2, "%s: second call is XML-RPC only", what);
	xs_rpc_conn_free(&c);
	xs_evloop_del_fd(t_loop, f.lfd);
	close(f.lfd);
}

/* Starts the fake server f, a connection to it, and a login call; waits for its answer in o.
 * NULL (nothing left open) when the server or the connection cannot be made. */
static struct xs_rpc_conn *fake_login(struct fake *f, struct call_out *o)
{
	struct xs_rpc_conn *c;
	char url[64], err[XS_ERR_LEN];

	if (!ok(fake_start(f), "fake server"))
		return NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", f->port);
	c = xs_rpc_conn_new(t_http, url, NULL, 0, err);
	if (!ok(c != NULL, "conn: %s", err)) {
		xs_evloop_del_fd(t_loop, f->lfd);
		close(f->lfd);
		return NULL;
	}
	ok(xs_rpc_call(c, "session.login_with_password", NULL, 5, call_done, o, err) > 0,
	   "call: %s", err);
	loop_wait(t_loop, call_finished, o, 5);
	return c;
}

static void fake_close(struct fake *f, struct xs_rpc_conn **c)
{
	xs_rpc_conn_free(c);
	xs_evloop_del_fd(t_loop, f->lfd);
	close(f->lfd);
}

/* A 2xx application/json at /jsonrpc settles JSON-RPC: XML-RPC is never tried. */
static void test_json_settled(void)
{
	struct fake f = { .mode = FAKE_JSON };
	struct call_out o = { 0 };
	struct xs_rpc_conn *c = fake_login(&f, &o);
	char err[XS_ERR_LEN];

	if (!c)
		return;
	ok(call_finished(&o) && o.ok && !strcmp(o.value, "OpaqueRef:fake"), "JSON-RPC answer: %s",
	   o.error);
	ok(xs_rpc_conn_proto(c) == XS_RPC_PROTO_JSON, "JSON-RPC remembered");
	memset(&o, 0, sizeof(o));
	ok(xs_rpc_call(c, "session.logout", NULL, 5, call_done, &o, err) > 0, "second call");
	ok(loop_wait(t_loop, call_finished, &o, 5) && o.ok, "second call ok: %s", o.error);
	ok(f.json_hits == 2 && f.xml_hits == 0, "JSON-RPC only: %u %u", f.json_hits, f.xml_hits);
	fake_close(&f, &c);
}

/* A JSON reply with a status other than 200 is an error, and settles nothing: the next call
 * asks JSON-RPC again. */
static void test_json_not_200(void)
{
	struct fake f = { .mode = FAKE_JSON_201 };
	struct call_out o = { 0 };
	struct xs_rpc_conn *c = fake_login(&f, &o);

	if (!c)
		return;
	ok(call_finished(&o) && !o.ok && strstr(o.error, "HTTP 201"),
	   "201 JSON: an error naming it: %s", o.error);
	ok(xs_rpc_conn_proto(c) == XS_RPC_PROTO_UNKNOWN, "nothing settled: %d", xs_rpc_conn_proto(c));
	fake_close(&f, &c);
}

static void test_fallback(void)
{
	fallback_case(FAKE_404, "404 at /jsonrpc");
	fallback_case(FAKE_TEXT_XML, "text/xml at /jsonrpc");
	fallback_case(FAKE_HTML, "200 text/html at /jsonrpc");
	fallback_case(FAKE_NO_CTYPE, "200 without content type at /jsonrpc");
	fallback_case(FAKE_GARBAGE, "malformed XML-RPC");
	test_json_settled();
	test_json_not_200();
}

/* SESSION_AUTHORIZATION_FAILED (no RBAC role) is final: FAILED, no retry. */
static void test_authorization_failed(void)
{
	struct fake f = { .mode = FAKE_AUTHZ };
	struct xs_pool_client *pc;
	char url[64];
	unsigned hits;

	fail_unless(fake_start(&f), "fake server");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
	pc = client_new(url, "pw", NULL, 0); /* never gives up on what may pass */
	fail_unless(pc, "client");
	ok(loop_wait(t_loop, is_failed, pc, 5), "failed: %s (%s)",
	   xs_pool_state_name(xs_pool_client_state(pc)), xs_pool_client_reason(pc));
	ok(strstr(xs_pool_client_reason(pc), "SESSION_AUTHORIZATION_FAILED") &&
		   strstr(xs_pool_client_reason(pc), "'root'") &&
		   strstr(xs_pool_client_reason(pc), "RBAC role"),
	   "the reason names the user and what to do: %s", xs_pool_client_reason(pc));
	hits = f.xml_hits;
	loop_wait(t_loop, is_stopped, pc, 0.5); /* a retry would come within backoff_max */
	ok(xs_pool_client_state(pc) == XS_POOL_FAILED && f.xml_hits == hits && hits == 1,
	   "not retried: %u login(s)", f.xml_hits);
	xs_pool_client_free(&pc);
	xs_evloop_del_fd(t_loop, f.lfd);
	close(f.lfd);
}

static bool fake_valid_call(void *arg)
{
	return ((const struct fake *)arg)->valid_calls > 0;
}

/* SESSION_INVALID right after every login, more times in a row than the client re-logs in at
 * once (a pool whose sessions are wiped while its master changes): once the client has backed
 * off, it must log in again, not retry for ever with the session it knows is invalid. */
static void test_sessions_wiped(void)
{
	struct fake f = { .mode = FAKE_WIPED };
	struct xs_pool_client *pc;
	char url[64];

	fail_unless(fake_start(&f), "fake server");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
	pc = client_new(url, "pw", NULL, 0);
	fail_unless(pc, "client");
	bool used = loop_wait(t_loop, fake_valid_call, &f, 5);

	ok(used, "a valid session is used in the end: %u login(s), state %s (%s)", f.logins,
	   xs_pool_state_name(xs_pool_client_state(pc)), xs_pool_client_reason(pc));
	ok(f.logins == FAKE_WIPED_LOGINS + 1, "logged in %u times", f.logins);
	xs_pool_client_free(&pc);
	xs_evloop_del_fd(t_loop, f.lfd);
	close(f.lfd);
}

int main(void)
{
	char err[XS_ERR_LEN];

	signal(SIGPIPE, SIG_IGN);
	t_loop = xs_evloop_new();
	t_http = t_loop ? xs_http_new(t_loop, err) : NULL;
	if (t_http == NULL) {
		fprintf(stderr, "cannot start: %s\n", err);
		return 1;
	}
	TEST_RUN(test_fallback);
	TEST_RUN(test_authorization_failed);
	TEST_RUN(test_sessions_wiped);
	TEST_RUN(test_on_sim);
	TEST_RUN(test_tls);
	xs_http_free(&t_http);
	xs_evloop_free(&t_loop);
	run_cmd_cleanup();
	return test_summary();
}
