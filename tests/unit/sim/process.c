/*
 * Process-level tests of xapi-sim (sim/main.c): bad flags exit 2 naming the
 * flag; a real run on a private 127.x address base with --port 0 prints its
 * pool lines, answers an XML-RPC login on the master (and HOST_IS_SLAVE on a
 * member), serves /sim/state and the manual clock, takes a host down and up,
 * and stops cleanly on SIGTERM (exit 0, so ASan found no leak); with --tls
 * it prints the certificate's fingerprint and https URLs.
 *
 * The binary is $XS_BIN_DIR/xapi-sim (tests/run.sh sets it). The child is
 * always stopped: every check runs between the fork and sim_proc_stop(),
 * which sends SIGTERM and, if that does not end it in time, SIGKILL.
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "support/run_cmd.h"
#include "support/sim_proc.h"
#include "test.h"

#define P_POOLS 2
#define P_ANSWER_CAP (1 << 20)

static bool p_connects(const char *addr, unsigned port)
{
	char ans[64];

	return sim_proc_http(addr, port, "GET", "/nothing", "text/plain", NULL, ans, sizeof(ans)) >
	       0;
}

static const char p_login_fmt[] =
	"<?xml version=\"1.0\"?><methodCall><methodName>session.login_with_password"
	"</methodName><params><param><value><string>%s</string></value></param>"
	"<param><value><string>%s</string></value></param>"
	"<param><value><string>1.0</string></value></param>"
	"<param><value><string>process-test</string></value></param></params></methodCall>";

static int p_login(const char *addr, unsigned port, const char *user, const char *pw, char *ans)
{
	char call[1024];

	snprintf(call, sizeof(call), p_login_fmt, user, pw);
	return sim_proc_http(addr, port, "POST", "/", "text/xml", call, ans, P_ANSWER_CAP);
}

/* The uuid of the host with address addr, from a /sim/state answer. */
static bool p_host_uuid(const char *state, const char *addr, char uuid[37])
{
	char needle[64];
	const char *at, *u;

	snprintf(needle, sizeof(needle), "\"address\":\"%s\"", addr);
	at = strstr(state, needle);
	if (!at)
		return false;
	/* host entries start {"uuid":"...", the nearest one before the address */
	for (u = at; u > state && strncmp(u, "{\"uuid\":\"", 9); u--)
		;
	if (strncmp(u, "{\"uuid\":\"", 9))
		return false;
	snprintf(uuid, 37, "%.36s", u + 9);
	return true;
}

/* base: the second octet of every address of the run. */
static void p_checks(struct sim_proc *p, int base, char *ans)
{
	char member[32], uuid[37];
	double deadline = sim_proc_now() + SIM_PROC_START_SECS;

	for (int i = 0; i < P_POOLS; i++) {
		char line[SIM_PROC_LINE_CAP], name[64];

		fail_unless(sim_proc_read_line(p, line, sizeof(line), deadline),
			    "pool line %d within %d s", i, SIM_PROC_START_SECS);
		fail_unless(sim_proc_add_pool(p, line, name) && !strncmp(p->url[i], "http://", 7),
			    "pool line: '%s'", line);
		ok(!strcmp(name, i ? "pool-1" : "pool-0"), "pool name %s", name);
	}
	snprintf(member, sizeof(member), "127.%d.1.1", base);
	ok(!strcmp(p->addr[0], member), "master of pool 0 at %s: %s", member, p->addr[0]);
	ok(p->port > 0 && p->port < 65536, "a port was chosen");
	snprintf(member, sizeof(member), "127.%d.1.2", base);

	fail_unless(p_login(p->addr[0], p->port, "root", "pw", ans) == 200, "login answers 200");
	ok(strstr(ans, "Success") && strstr(ans, "OpaqueRef:"), "login succeeds: %.300s", ans);
	ok(p_login(p->addr[0], p->port, "root", "wrong", ans) == 200 &&
		   strstr(ans, "SESSION_AUTHENTICATION_FAILED"),
	   "bad password refused: %.300s", ans);
	ok(p_login(member, p->port, "root", "pw", ans) == 200 && strstr(ans, "HOST_IS_SLAVE") &&
		   strstr(ans, p->addr[0]),
	   "member answers HOST_IS_SLAVE: %.300s", ans);

	fail_unless(sim_proc_http(p->addr[1], p->port, "GET", "/sim/state", "text/plain", NULL,
				  ans, P_ANSWER_CAP) == 200,
		    "state: %.300s", ans);
	ok(strstr(ans, "\"pool-0\"") && strstr(ans, "\"pool-1\""), "state lists the pools");
	ok(strstr(ans, "\"manual_clock\":true") && strstr(ans, "\"now\":1700000000"),
	   "manual clock at its start");
	ok(strstr(ans, "\"sessions\":1"), "one session: %.200s", ans);
	fail_unless(p_host_uuid(ans, member, uuid), "uuid of %s in the state", member);
	ok(sim_proc_http(member, p->port, "GET", "/sim/state", "text/plain", NULL, ans,
			 P_ANSWER_CAP) == 404,
	   "no control interface on a member");

	ok(sim_proc_http(p->addr[0], p->port, "POST", "/sim/clock/advance",
			 "application/x-www-form-urlencoded", "seconds=10", ans,
			 P_ANSWER_CAP) == 200 &&
		   strstr(ans, "\"now\":1700000010"),
	   "clock advanced: %s", ans);
	ok(sim_proc_post(p, "/sim/host/down?host=%s", uuid) == 200, "host down: %s", p->answer);
	ok(!p_connects(member, p->port), "a down host refuses connections");
	ok(sim_proc_post(p, "/sim/host/up?host=%s", uuid) == 200, "host up: %s", p->answer);
	ok(p_connects(member, p->port), "it listens again");
	ok(sim_proc_http(p->addr[0], p->port, "POST", "/sim/nothing", "text/plain", NULL, ans,
			 P_ANSWER_CAP) == 404,
	   "unknown control endpoint");
}

static void test_run(void)
{
	struct sim_proc p = { .pid = -1, .out = -1 };
	char listen[32], *ans = malloc(P_ANSWER_CAP);
	const char *bin = run_cmd_bin("xapi-sim");
	/* a private address base: concurrent runs of the tests do not collide */
	int base = 100 + (int)(getpid() % 150);

	snprintf(listen, sizeof(listen), "127.%d.0.1", base);
	{
		const char *argv[] = { bin, "--pools", "2", "--hosts", "2", "--vms-per-host", "3",
				       "--listen", listen, "--port", "0", "--user", "root",
				       "--password", "pw", "--seed", "5", "--manual-clock",
				       "1700000000", "--history", "2", NULL };

		fail_unless(ans && access(bin, X_OK) == 0, "%s is built", bin);
		fail_unless(sim_proc_start(&p, argv), "fork");
	}
	p_checks(&p, base, ans);
	ok(sim_proc_stop(&p) == 0, "SIGTERM stops it cleanly (exit 0)");
	free(ans);
}

/* --tls: the fingerprint line first, then https pool lines. */
static void test_tls(void)
{
	struct sim_proc p = { .pid = -1, .out = -1 };
	char listen[32], line[SIM_PROC_LINE_CAP], fp[128], url[128];
	const char *bin = run_cmd_bin("xapi-sim");
	double deadline = sim_proc_now() + SIM_PROC_START_SECS;
	int colons = 0;

	snprintf(listen, sizeof(listen), "127.%d.0.1", 100 + (int)((getpid() + 77) % 150));
	{
		const char *argv[] = { bin, "--pools", "1", "--hosts", "2", "--vms-per-host", "1",
				       "--listen", listen, "--tls", NULL };

		fail_unless(sim_proc_start(&p, argv), "fork");
	}
	if (ok(sim_proc_read_line(&p, line, sizeof(line), deadline), "fingerprint line") &&
	    ok(sscanf(line, "tls-fingerprint %127s", fp) == 1, "fingerprint: '%s'", line)) {
		for (const char *c = fp; *c; c++)
			colons += *c == ':';
		ok(strlen(fp) == 95 && colons == 31, "32 hex pairs: %s", fp);
	}
	if (ok(sim_proc_read_line(&p, line, sizeof(line), deadline), "pool line"))
		ok(sscanf(line, "pool pool-0 %127s", url) == 1 && !strncmp(url, "https://127.", 12),
		   "https pool line: '%s'", line);
	ok(sim_proc_stop(&p) == 0, "SIGTERM stops it cleanly");
}

static void test_bad_flags(void)
{
	static const struct {
		const char *flag, *val; /* val NULL: the flag alone */
	} cases[] = {
		{ "--pools", "0" },          { "--hosts", "x" },
		{ "--vms-per-host", "-1" },  { "--listen", "10.0.0.1" },
		{ "--port", "70000" },       { "--history", "400" },
		{ "--xapi-version", "25" },  { "--manual-clock", "soon" },
		{ "--bogus", "1" },          { "--seed", NULL },
	};
	const char *bin = run_cmd_bin("xapi-sim");
	char *out, *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12] = { bin, "--pools", "1", "--hosts", "1", "--vms-per-host", "1" };
		int rc;

		argv[7] = cases[i].flag;
		argv[8] = cases[i].val;
		rc = run_cmd(argv, NULL, 0, &out, &err);
		ok(rc == 2, "%s %s: exit %d", cases[i].flag, cases[i].val ? cases[i].val : "", rc);
		ok(strstr(err, cases[i].flag) != NULL, "message names %s: %s", cases[i].flag, err);
		ok(out[0] == '\0', "nothing on stdout");
		free(out);
		free(err);
	}
	{
		const char *argv[] = { bin, "--hosts", "1", "--vms-per-host", "1", NULL };
		int status = run_cmd(argv, NULL, 0, &out, &err); /* before ok() reads err */

		ok(status == 2 && strstr(err, "--pools"), "--pools is required: %s", err);
		free(out);
		free(err);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	TEST_RUN(test_bad_flags);
	TEST_RUN(test_run);
	TEST_RUN(test_tls);
	run_cmd_cleanup();
	return test_summary();
}
