/*
 * sim_proc.h - test support: run xapi-sim as a child process, read the lines it
 * prints when it is ready, talk HTTP to it, and stop it.
 *
 * Ownership: the test that calls sim_proc_start() stops the child with
 * sim_proc_stop() on every path, failure paths included. sim_proc_start()
 * starts by zeroing the struct (pid -1, out -1), so sim_proc_stop() is safe
 * after a failed start and when called twice; a struct never started must be
 * { .pid = -1, .out = -1 } before it is stopped. The child also gets SIGTERM
 * if the test process dies first (PR_SET_PDEATHSIG), so a crashed test
 * leaves no simulator behind. The struct owns nothing else: no allocation.
 *
 * Addresses: the argv is the test's own. Each test passes --listen 127.B.0.1
 * with its own private B, so tests that run at the same time do not collide,
 * and the simulator binds only on loopback.
 *
 * Limits: one child per struct; at most SIM_PROC_POOLS pool lines are kept;
 * plain HTTP only, one request per connection (Connection: close), and an
 * answer is cut at the caller's cap (SIM_PROC_ANSWER_CAP for sim_proc_post).
 * Linux only (pipe2, prctl). The exec is run_cmd_exec() of run_cmd.h.
 */
#ifndef XS_TEST_SIM_PROC_H
#define XS_TEST_SIM_PROC_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/run_cmd.h"

#define SIM_PROC_POOLS 4         /* pool lines kept */
#define SIM_PROC_START_SECS 30   /* ASan start-up and the estate's generation */
#define SIM_PROC_STOP_SECS 15    /* SIGTERM to exit, then SIGKILL */
#define SIM_PROC_IO_SECS 10      /* one HTTP exchange, per read or write */
#define SIM_PROC_LINE_CAP 256    /* one line of its stdout */
#define SIM_PROC_ANSWER_CAP 4096 /* the body of a control answer */

/* On the test's stack; filled by sim_proc_start() and sim_proc_ready(). */
struct sim_proc {
	pid_t pid;                         /* the child, or -1 */
	int out;                           /* read end of its stdout, or -1 */
	int npools;                        /* pool lines read */
	char url[SIM_PROC_POOLS][128];     /* master URL of each pool */
	char addr[SIM_PROC_POOLS][32];     /* master address of each pool */
	unsigned port;                     /* the one port every address listens on */
	char fingerprint[128];             /* --tls: SHA-256 of the certificate */
	char answer[SIM_PROC_ANSWER_CAP];  /* body of the last sim_proc_post() answer */
};

/* Monotonic seconds; deadlines are sim_proc_now() + secs. */
__attribute__((unused)) static double sim_proc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Starts argv (argv[0] the binary, e.g. run_cmd_bin("xapi-sim"); at most 31
 * arguments) with its stdout on a pipe; stderr stays the test's. Zeroes p
 * first. Returns false if argv[0] is not executable or pipe/fork failed;
 * p->pid > 0 means a child runs and the caller must sim_proc_stop() it.
 */
__attribute__((unused)) static bool sim_proc_start(struct sim_proc *p, const char *const argv[])
{
	int fds[2];

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->out = -1;
	if (access(argv[0], X_OK) != 0 || pipe2(fds, O_CLOEXEC))
		return false;
	p->pid = fork();
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		run_cmd_exec(argv);
		_exit(127);
	}
	close(fds[1]);
	if (p->pid < 0) {
		close(fds[0]);
		return false;
	}
	p->out = fds[0];
	return true;
}

/*
 * Reads one line of the child's stdout into line (without the newline,
 * NUL-terminated, cut at cap - 1). False at end of file, on an error, or
 * when the monotonic time `deadline` passes first.
 */
__attribute__((unused)) static bool sim_proc_read_line(struct sim_proc *p, char *line, size_t cap,
							double deadline)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd pfd = { p->out, POLLIN, 0 };
		int left = (int)((deadline - sim_proc_now()) * 1000);
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

/*
 * Takes one "pool NAME URL" line into the next pool slot: url, the master
 * address and the port (from SCHEME://ADDR:PORT). name (64 bytes) receives
 * NAME unless NULL. False if the line is not such a line or the slots are
 * full; p->npools counts the lines taken.
 */
__attribute__((unused)) static bool sim_proc_add_pool(struct sim_proc *p, const char *line,
						       char *name)
{
	char own[64];
	const char *host;
	int i = p->npools;

	if (i >= SIM_PROC_POOLS ||
	    sscanf(line, "pool %63s %127s", name ? name : own, p->url[i]) != 2)
		return false;
	host = strstr(p->url[i], "://");
	if (!host || sscanf(host + 3, "%31[0-9.]:%u", p->addr[i], &p->port) != 2)
		return false;
	p->npools++;
	return true;
}

/*
 * Reads what a started xapi-sim prints when it is ready, within
 * SIM_PROC_START_SECS: with tls, the "tls-fingerprint FP" line first, then
 * npools pool lines (sim_proc_add_pool). False if a line is missing or
 * malformed; the child still runs then.
 */
__attribute__((unused)) static bool sim_proc_ready(struct sim_proc *p, bool tls, int npools)
{
	char line[SIM_PROC_LINE_CAP];
	double deadline = sim_proc_now() + SIM_PROC_START_SECS;

	if (tls && (!sim_proc_read_line(p, line, sizeof(line), deadline) ||
		    sscanf(line, "tls-fingerprint %127s", p->fingerprint) != 1))
		return false;
	for (int i = 0; i < npools; i++)
		if (!sim_proc_read_line(p, line, sizeof(line), deadline) ||
		    !sim_proc_add_pool(p, line, NULL))
			return false;
	return true;
}

/*
 * One plain HTTP/1.1 exchange with addr:port (Connection: close). ctype and
 * body may be NULL (no Content-Type, an empty body). The Accept header is
 * accept (the RRD endpoints of xapi >= 23.17.0 choose their format by it).
 * Returns the status, or -1 if the exchange failed; ans (cap bytes, caller's)
 * receives the body after the head, NUL-terminated, cut at cap - 1.
 */
__attribute__((unused)) static int sim_proc_http_accept(const char *addr, unsigned port,
							const char *method, const char *target,
							const char *ctype, const char *body,
							const char *accept, char *ans, size_t cap)
{
	struct sockaddr_in sa;
	struct timeval tv = { SIM_PROC_IO_SECS, 0 };
	char head[2048];
	size_t len = 0, blen = body ? strlen(body) : 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1, hlen;
	const char *sep;
	ssize_t n;

	ans[0] = '\0';
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	hlen = snprintf(head, sizeof(head),
			"%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sAccept: %s\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n",
			method, target, addr, ctype ? "Content-Type: " : "", ctype ? ctype : "",
			ctype ? "\r\n" : "", accept, blen);
	if (hlen < 0 || (size_t)hlen >= sizeof(head) || write(fd, head, (size_t)hlen) != hlen ||
	    (blen && write(fd, body, blen) != (ssize_t)blen))
		goto out;
	while (len + 1 < cap && (n = read(fd, ans + len, cap - len - 1)) > 0)
		len += (size_t)n;
	ans[len] = '\0';
	if (sscanf(ans, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	sep = strstr(ans, "\r\n\r\n");
	if (sep)
		memmove(ans, sep + 4, len - (size_t)(sep + 4 - ans) + 1);
out:
	close(fd);
	return status;
}

/* sim_proc_http_accept() with Accept: text/xml (the RRD endpoints answer XML). */
__attribute__((unused)) static int sim_proc_http(const char *addr, unsigned port,
						 const char *method, const char *target,
						 const char *ctype, const char *body, char *ans,
						 size_t cap)
{
	return sim_proc_http_accept(addr, port, method, target, ctype, body, "text/xml", ans, cap);
}

__attribute__((format(printf, 2, 3), unused)) static int sim_proc_post(struct sim_proc *p,
									  const char *fmt, ...);

/*
 * POSTs the target fmt, ... (e.g. "/sim/host/down?host=%s") with an empty
 * body to the control interface of pool 0's master. Returns the HTTP status
 * or -1; the answer's body is in p->answer until the next call. Writes a
 * "# POST" line to stderr unless the status is 200.
 */
static int sim_proc_post(struct sim_proc *p, const char *fmt, ...)
{
	char target[512];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(target, sizeof(target), fmt, ap);
	va_end(ap);
	status = sim_proc_http(p->addr[0], p->port, "POST", target, NULL, NULL, p->answer,
			       sizeof(p->answer));
	if (status != 200)
		fprintf(stderr, "# POST %s: %d %.200s\n", target, status, p->answer);
	return status;
}

/*
 * Stops the child *pid: SIGTERM, then SIGKILL if it has not exited within
 * SIM_PROC_STOP_SECS. Sets *pid to -1. Returns its exit status, 128 + the
 * signal that ended it, or -1 (no child, or it had to be killed).
 */
__attribute__((unused)) static int sim_proc_kill(pid_t *pid)
{
	double deadline = sim_proc_now() + SIM_PROC_STOP_SECS;
	int status;

	if (*pid <= 0)
		return -1;
	kill(*pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(*pid, &status, WNOHANG);

		if (r == *pid)
			break;
		if (r < 0 || sim_proc_now() > deadline) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &status, 0);
			*pid = -1;
			return -1;
		}
		usleep(20000);
	}
	*pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Stops the simulator (sim_proc_kill) and closes its stdout. Returns what
 * sim_proc_kill() returns: 0 when SIGTERM ended it cleanly (under ASan: no
 * leak found). Safe to call again.
 */
__attribute__((unused)) static int sim_proc_stop(struct sim_proc *p)
{
	int rc = sim_proc_kill(&p->pid);

	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	return rc;
}

#endif
