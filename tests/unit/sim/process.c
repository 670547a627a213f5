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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "support/run_cmd.h"
#include "test.h"

#define P_START_SECS 30     /* ASan start-up and the estate's generation */
#define P_STOP_SECS 15      /* SIGTERM to exit */
#define P_IO_SECS 10        /* one HTTP exchange */
#define P_POOLS 2
#define P_ANSWER_CAP (1 << 20)

struct proc {
	pid_t pid;
	int out;                      /* read end of the child's stdout */
	char lines[P_POOLS][256];     /* "pool <name> <url>" */
	char addr[P_POOLS][32];       /* master address of each pool */
	unsigned port;
	int base;                     /* second octet of every address */
};

static double p_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts xapi-sim with its stdout on a pipe; stderr stays the test's. */
static bool p_spawn(struct proc *p, const char *const argv[])
{
	int fds[2];

	if (pipe(fds))
		return false;
	p->pid = fork();
	if (p->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		run_cmd_exec(argv);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
	return p->pid > 0;
}

/* Reads one line of the child's stdout, waiting until `deadline`. */
static bool p_read_line(struct proc *p, char *line, size_t cap, double deadline)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd pfd = { p->out, POLLIN, 0 };
		int left = (int)((deadline - p_now()) * 1000);
		char c;

		if (left <= 0 || poll(&pfd, 1, left) <= 0 || read(p->out, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return true;
}

/* SIGTERM, then SIGKILL if it does not end; returns the exit status, or
 * 128 + signal, or -1. */
static int p_stop(struct proc *p)
{
	double deadline = p_now() + P_STOP_SECS;
	int status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid)
			break;
		if (r < 0 || p_now() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->pid = -1;
			return -1;
		}
		usleep(20000);
	}
	p->pid = -1;
	close(p->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* One HTTP/1.1 exchange (Connection: close). Returns the status or -1; the
 * body (after the head) is in ans, NUL-terminated. */
static int p_http(const char *addr, unsigned port, const char *method, const char *target,
		  const char *ctype, const char *body, char *ans, size_t cap)
{
	struct sockaddr_in sa;
	struct timeval tv = { P_IO_SECS, 0 };
	char head[512];
	size_t len = 0, blen = body ? strlen(body) : 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	const char *sep;
	ssize_t n;

	ans[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 method, target, addr, ctype, blen);
	if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
	    (blen && write(fd, body, blen) != (ssize_t)blen))
		goto out;
	while (len + 1 < cap && (n = read(fd, ans + len, cap - len - 1)) > 0)
		len += (size_t)n;
	ans[len] = '\0';
	if (sscanf(ans, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	sep = strstr(ans, "\r\n\r\n");
	if (sep)
		memmove(ans, sep + 4, strlen(sep + 4) + 1);
out:
	close(fd);
	return status;
}

static bool p_connects(const char *addr, unsigned port)
{
	char ans[64];

	return p_http(addr, port, "GET", "/nothing", "text/plain", NULL, ans, sizeof(ans)) > 0;
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
	return p_http(addr, port, "POST", "/", "text/xml", call, ans, P_ANSWER_CAP);
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

static void p_checks(struct proc *p, char *ans)
{
	char member[32], uuid[37], q[128];
	double deadline = p_now() + P_START_SECS;

	for (int i = 0; i < P_POOLS; i++) {
		char name[64];

		fail_unless(p_read_line(p, p->lines[i], sizeof(p->lines[i]), deadline),
			    "pool line %d within %d s", i, P_START_SECS);
		fail_unless(sscanf(p->lines[i], "pool %63s http://%31[0-9.]:%u", name, p->addr[i],
				   &p->port) == 3,
			    "pool line: '%s'", p->lines[i]);
		ok(!strcmp(name, i ? "pool-1" : "pool-0"), "pool name %s", name);
	}
	snprintf(member, sizeof(member), "127.%d.1.1", p->base);
	ok(!strcmp(p->addr[0], member), "master of pool 0 at %s: %s", member, p->addr[0]);
	ok(p->port > 0 && p->port < 65536, "a port was chosen");
	snprintf(member, sizeof(member), "127.%d.1.2", p->base);

	fail_unless(p_login(p->addr[0], p->port, "root", "pw", ans) == 200, "login answers 200");
	ok(strstr(ans, "Success") && strstr(ans, "OpaqueRef:"), "login succeeds: %.300s", ans);
	ok(p_login(p->addr[0], p->port, "root", "wrong", ans) == 200 &&
		   strstr(ans, "SESSION_AUTHENTICATION_FAILED"),
	   "bad password refused: %.300s", ans);
	ok(p_login(member, p->port, "root", "pw", ans) == 200 && strstr(ans, "HOST_IS_SLAVE") &&
		   strstr(ans, p->addr[0]),
	   "member answers HOST_IS_SLAVE: %.300s", ans);

	fail_unless(p_http(p->addr[1], p->port, "GET", "/sim/state", "text/plain", NULL, ans,
			   P_ANSWER_CAP) == 200,
		    "state: %.300s", ans);
	ok(strstr(ans, "\"pool-0\"") && strstr(ans, "\"pool-1\""), "state lists the pools");
	ok(strstr(ans, "\"manual_clock\":true") && strstr(ans, "\"now\":1700000000"),
	   "manual clock at its start");
	ok(strstr(ans, "\"sessions\":1"), "one session: %.200s", ans);
	fail_unless(p_host_uuid(ans, member, uuid), "uuid of %s in the state", member);
	ok(p_http(member, p->port, "GET", "/sim/state", "text/plain", NULL, ans, P_ANSWER_CAP) ==
		   404,
	   "no control interface on a member");

	ok(p_http(p->addr[0], p->port, "POST", "/sim/clock/advance", "application/x-www-form-urlencoded",
		  "seconds=10", ans, P_ANSWER_CAP) == 200 && strstr(ans, "\"now\":1700000010"),
	   "clock advanced: %s", ans);
	snprintf(q, sizeof(q), "/sim/host/down?host=%s", uuid);
	ok(p_http(p->addr[0], p->port, "POST", q, "text/plain", NULL, ans, P_ANSWER_CAP) == 200,
	   "host down: %s", ans);
	ok(!p_connects(member, p->port), "a down host refuses connections");
	snprintf(q, sizeof(q), "/sim/host/up?host=%s", uuid);
	ok(p_http(p->addr[0], p->port, "POST", q, "text/plain", NULL, ans, P_ANSWER_CAP) == 200,
	   "host up: %s", ans);
	ok(p_connects(member, p->port), "it listens again");
	ok(p_http(p->addr[0], p->port, "POST", "/sim/nothing", "text/plain", NULL, ans,
		  P_ANSWER_CAP) == 404,
	   "unknown control endpoint");
}

static void test_run(void)
{
	struct proc p = { .pid = -1, .out = -1 };
	char listen[32], *ans = malloc(P_ANSWER_CAP);
	const char *bin = run_cmd_bin("xapi-sim");

	/* a private address base: concurrent runs of the tests do not collide */
	p.base = 100 + (int)(getpid() % 150);
	snprintf(listen, sizeof(listen), "127.%d.0.1", p.base);
	{
		const char *argv[] = { bin, "--pools", "2", "--hosts", "2", "--vms-per-host", "3",
				       "--listen", listen, "--port", "0", "--user", "root",
				       "--password", "pw", "--seed", "5", "--manual-clock",
				       "1700000000", "--history", "2", NULL };

		fail_unless(ans && access(bin, X_OK) == 0, "%s is built", bin);
		fail_unless(p_spawn(&p, argv), "fork");
	}
	p_checks(&p, ans);
	ok(p_stop(&p) == 0, "SIGTERM stops it cleanly (exit 0)");
	free(ans);
}

/* --tls: the fingerprint line first, then https pool lines. */
static void test_tls(void)
{
	struct proc p = { .pid = -1, .out = -1 };
	char listen[32], line[256], fp[128], url[128];
	const char *bin = run_cmd_bin("xapi-sim");
	double deadline = p_now() + P_START_SECS;
	int colons = 0;

	p.base = 100 + (int)((getpid() + 77) % 150);
	snprintf(listen, sizeof(listen), "127.%d.0.1", p.base);
	{
		const char *argv[] = { bin, "--pools", "1", "--hosts", "2", "--vms-per-host", "1",
				       "--listen", listen, "--tls", NULL };

		fail_unless(p_spawn(&p, argv), "fork");
	}
	if (ok(p_read_line(&p, line, sizeof(line), deadline), "fingerprint line") &&
	    ok(sscanf(line, "tls-fingerprint %127s", fp) == 1, "fingerprint: '%s'", line)) {
		for (const char *c = fp; *c; c++)
			colons += *c == ':';
		ok(strlen(fp) == 95 && colons == 31, "32 hex pairs: %s", fp);
	}
	if (ok(p_read_line(&p, line, sizeof(line), deadline), "pool line"))
		ok(sscanf(line, "pool pool-0 %127s", url) == 1 && !strncmp(url, "https://127.", 12),
		   "https pool line: '%s'", line);
	ok(p_stop(&p) == 0, "SIGTERM stops it cleanly");
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

		ok(run_cmd(argv, NULL, 0, &out, &err) == 2 && strstr(err, "--pools"),
		   "--pools is required: %s", err);
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
