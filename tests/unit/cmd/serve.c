/*
 * Tests of `xapistat serve` (src/cmd_serve.c): $XS_BIN_DIR/xapistat run
 * against xapi-sim (--manual-clock, private 127.x base, always stopped):
 * - a configuration error names FILE:LINE and the daemon does not start;
 *   no pool or no data dir is refused; a bad flag is a usage error;
 * - SIGTERM flushes and exits 0; the store holds the host's whole 5 s archive;
 * - kill -9 during ingest, 15 minutes pass, restart: the store opens, the
 *   5 s archive is there, the hole is backfilled at 1 min, values equal
 *   what the simulator serves;
 * - SIGHUP reloads the pool list from the file (a second pool added);
 * - a pool with ca_file kept by a reload still connects (its TLS options
 *   outlive the configuration they were read from);
 * - SIGHUP reads the files again: a password file fixed starts its given-up pool
 *   again, a new token_file's token is the only one accepted, an unreadable one
 *   keeps the configuration, a new listen address is a warning, an empty password
 *   file is said;
 * - one pool configured twice (its master's and a member's address) is collected
 *   once: one pool in objects, each host once, the other section's status and a
 *   single log line say why; a reload dropping the section that collects it lets
 *   the other take over at once;
 * - --check: exit 0 and one line for a configuration serve would start with (nothing
 *   bound, no store made), exit 1 naming the problem for a password file, a data
 *   directory, a token file or a TLS certificate that serve would refuse;
 * - the limit of open files: a soft limit under the hard one is raised at start,
 *   and one too low for the estate is a warning naming what it needs;
 * - the store's syncs failing (RLIMIT_FSIZE, a full disk) show in the log, in
 *   /api/v1/status and in /metrics, and their recovery too.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "store/store.h"
#include "support/run_cmd.h"
#include "support/sim_proc.h"
#include "test.h"

#define S_CLOCK 1750000000LL

/* pools pools of hosts hosts (vms VMs each) on 127.base.x.x, the manual clock at S_CLOCK;
 * user root, password pw. */
static bool sim_start_estate(struct sim_proc *s, int base, int pools, int hosts, int vms)
{
	char listen[32], clock[32], np[16], nh[16], nv[16];
	const char *argv[] = { run_cmd_bin("xapi-sim"), "--pools", np, "--hosts", nh,
			       "--vms-per-host", nv, "--listen", listen, "--user", "root",
			       "--password", "pw", "--manual-clock", clock, NULL };

	snprintf(np, sizeof(np), "%d", pools);
	snprintf(nh, sizeof(nh), "%d", hosts);
	snprintf(nv, sizeof(nv), "%d", vms);
	snprintf(listen, sizeof(listen), "127.%d.0.1", base);
	snprintf(clock, sizeof(clock), "%lld", S_CLOCK);
	return sim_proc_start(s, argv) && sim_proc_ready(s, false, pools);
}

/* Two pools of one host on 127.base.x.x. */
static bool sim_start(struct sim_proc *s, int base)
{
	return sim_start_estate(s, base, 2, 1, 2);
}

static void proc_stop(pid_t *pid, int sig)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, &status, 0);
	*pid = -1;
}

/* The uuid of pool-0's host (from /sim/state). */
static bool sim_host_uuid(struct sim_proc *s, char *uuid)
{
	static char ans[1 << 16];
	const char *h;

	if (sim_proc_http(s->addr[0], s->port, "GET", "/sim/state", NULL, NULL, ans,
			  sizeof(ans)) != 200)
		return false;
	h = strstr(ans, "\"hosts\":[{\"uuid\":\"");
	return h && sscanf(h + 18, "%36[0-9a-f-]", uuid) == 1;
}

struct daemon {
	pid_t pid;
	char errpath[256];
	rlim_t nofile_soft, nofile_hard; /* the child's RLIMIT_NOFILE when not 0 */
	rlim_t fsize; /* when not 0: the child's RLIMIT_FSIZE (SIGXFSZ ignored), a full disk */
};

static bool serve_spawn(struct daemon *dm, const char *const *args, const char *errname)
{
	const char *argv[16] = { run_cmd_bin("xapistat"), "serve" };
	size_t n = 2;

	run_cmd_file(errname, "", 0);
	snprintf(dm->errpath, sizeof(dm->errpath), "%s/%s", run_cmd_dir, errname);
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	dm->pid = fork();
	if (dm->pid == 0) {
		int e = open(dm->errpath, O_WRONLY | O_TRUNC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(e, 2);
		if (dm->nofile_soft) {
			struct rlimit rl = { .rlim_cur = dm->nofile_soft, .rlim_max = dm->nofile_hard };

			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(126);
		}
		if (dm->fsize) {
			struct rlimit rl;

			getrlimit(RLIMIT_FSIZE, &rl);
			rl.rlim_cur = dm->fsize;
			if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
				_exit(126);
			signal(SIGXFSZ, SIG_IGN); /* an ignored signal stays so across exec */
		}
		run_cmd_exec(argv);
		_exit(127);
	}
	return dm->pid > 0;
}

/* Waits until the daemon's stderr contains text (or secs pass). */
static bool serve_log_has(struct daemon *dm, const char *text, double secs)
{
	double end = sim_proc_now() + secs;

	for (;;) {
		char *log = run_cmd_read(dm->errpath);
		bool has = strstr(log, text) != NULL;

		free(log);
		if (has || sim_proc_now() > end)
			return has;
		usleep(50000);
	}
}

/* Waits until the daemon's stderr contains text after the first marker (or secs pass). */
static bool serve_log_after(struct daemon *dm, const char *marker, const char *text, double secs)
{
	double end = sim_proc_now() + secs;

	for (;;) {
		char *log = run_cmd_read(dm->errpath);
		const char *m = strstr(log, marker);
		bool has = m && strstr(m, text) != NULL;

		free(log);
		if (has || sim_proc_now() > end)
			return has;
		usleep(50000);
	}
}

/* `serve -c NAME` with text as NAME (in run_cmd_dir): its exit status; its stderr in *err
 * (the caller frees it). */
static int serve_with_conf(const char *name, const char *text, char **err)
{
	const char *conf = run_cmd_file(name, text, strlen(text));
	const char *argv[] = { run_cmd_bin("xapistat"), "serve", "-c", conf, NULL };
	char *out = NULL;
	int rc = run_cmd(argv, NULL, 0, &out, err);

	free(out);
	return rc;
}

/* --- configuration errors --- */

static void test_config_errors(void)
{
	const char *conf = run_cmd_file("bad.conf",
					"data = /tmp/nowhere\n"
					"[pool a]\n"
					"url = http://127.0.0.1:1\n"
					"colour = blue\n", 60);
	char expect[300], *out = NULL, *err = NULL;
	const char *argv1[] = { run_cmd_bin("xapistat"), "serve", "-c", conf, NULL };
	const char *argv2[] = { run_cmd_bin("xapistat"), "serve", "--data", "/tmp/x", NULL };
	const char *argv3[] = { run_cmd_bin("xapistat"), "serve", "--pool", "http://h", NULL };
	const char *argv4[] = { run_cmd_bin("xapistat"), "serve", "--frobnicate", NULL };
	int rc;

	snprintf(expect, sizeof(expect), "%s:4:", conf);
	rc = run_cmd(argv1, NULL, 0, &out, &err);
	ok(rc == 1 && strstr(err, expect), "bad key: exit %d, names FILE:4: %s", rc, err);
	ok(err && !strncmp(err, "<3>", 3), "stderr not a terminal: journald's error priority: %s", err);
	free(out);
	free(err);
	rc = run_cmd(argv2, NULL, 0, &out, &err);
	ok(rc == 1 && strstr(err, "pool"), "no pool: exit %d: %s", rc, err);
	free(out);
	free(err);
	rc = run_cmd(argv3, NULL, 0, &out, &err);
	ok(rc == 1 && strstr(err, "data"), "no data dir: exit %d: %s", rc, err);
	free(out);
	free(err);
	rc = run_cmd(argv4, NULL, 0, &out, &err);
	ok(rc == 2 && strstr(err, "unknown argument '--frobnicate'"), "unknown flag: exit %d: %s", rc,
	   err);
	free(out);
	free(err);
	{
		/* "--pool=URL" is not a flag; it is refused without showing its password */
		const char *argv5[] = { run_cmd_bin("xapistat"), "serve", "--data", "/tmp/x",
					"--pool=https://root:hunter2@127.86.0.1", NULL };

		rc = run_cmd(argv5, NULL, 0, &out, &err);
		ok(rc == 2 && strstr(err, "unknown argument '--pool=https://127.86.0.1'") &&
			   !strstr(err, "hunter2"),
		   "--pool=URL: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		/* usage errors, exit 2: a flag without its value, a flag's bad value */
		static const char *const cases[][9] = {
			{ "--data", NULL },
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--listen", "foo", NULL },
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--log-level", "loud", NULL },
			{ "--data", "/tmp/x", "--pool", "ftp://h", NULL },
			/* read as the file's listen is: no blank, no sign, IPv6 in brackets */
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--listen", "127.0.0.1: 8080", NULL },
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--listen", "127.0.0.1:+80", NULL },
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--listen", "::1:8080", NULL },
			/* a name the HTTP server could not bind: refused before the store opens */
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--listen", "myhost:8080", NULL },
			/* the TLS flags of --pool pools */
			{ "--data", "/tmp/x", "--pool", "https://u:p@h", "--pin", "AB:CD", NULL },
			{ "--data", "/tmp/x", "--pool", "https://u:p@h", "--insecure", "--ca-file", "c",
			  NULL },
			{ "--data", "/tmp/x", "--pool", "http://u:p@h", "--insecure", NULL },
			{ "--data", "/tmp/x", "--insecure", NULL },
			{ "--data", "/tmp/x", "--pool", "https://u:p@h", "--pin", NULL },
		};
		static const char *const want[] = { "missing value after '--data'", "--listen: 'foo'",
						     "--log-level: 'loud'", "ftp://h",
						     "--listen: '127.0.0.1: 8080'", "--listen: '127.0.0.1:+80'",
						     "--listen: '::1:8080'", "--listen: 'myhost:8080'",
						     "--pin: 'AB:CD' is not a SHA-256 fingerprint",
						     "--ca-file, --pin and --insecure exclude each other",
						     "--pool http://h: --ca-file, --pin and --insecure need an https:// URL",
						     "apply to the pools of --pool flags",
						     "missing value after '--pin'" };

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *argv[12] = { run_cmd_bin("xapistat"), "serve" };

			for (size_t k = 0; cases[i][k]; k++)
				argv[2 + k] = cases[i][k];
			rc = run_cmd(argv, NULL, 0, &out, &err);
			ok(rc == 2 && strstr(err, want[i]), "usage %zu: exit %d: %s", i, rc, err);
			free(out);
			free(err);
		}
	}
	{
		/* a CA file that is missing or holds no certificate stops the start; files read
		 * after parsing (CA, password, token) name the line that gave them */
		const char *notpem = run_cmd_file("notpem.txt", "hello\n", 6);
		char conf_text[400];

		snprintf(conf_text, sizeof(conf_text), "data = %s/data-ca\n[pool a]\n"
			 "url = https://root:pw@127.85.0.2:1\nca_file = /nonexistent/ca.pem\n",
			 run_cmd_dir);
		rc = serve_with_conf("ca1.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "ca1.conf:4: pool a: ca_file /nonexistent/ca.pem: No such file"),
		   "missing ca_file: exit %d, names FILE:LINE: %s", rc, err);
		free(err);
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-ca\n[pool a]\n"
			 "url = https://root:pw@127.85.0.2:1\nca_file = %s\n", run_cmd_dir, notpem);
		rc = serve_with_conf("ca2.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "ca2.conf:4: pool a: ca_file") &&
		   strstr(err, "no PEM certificate in it"),
		   "ca_file without a certificate: exit %d: %s", rc, err);
		free(err);
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-pw\n[pool b]\n"
			 "url = https://127.85.0.3:1\n\npassword_file = /nonexistent/pw\n",
			 run_cmd_dir);
		rc = serve_with_conf("pw.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "pw.conf:5: pool b: ") && strstr(err, "/nonexistent/pw"),
		   "missing password_file: exit %d, names FILE:LINE: %s", rc, err);
		free(err);
		/* a bad escape in the URL's user name, with a password_file: the url's line */
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-pw\n[pool b]\n"
			 "url = https://ro%%zzot@127.85.0.3:1\n\npassword_file = /nonexistent/pw\n",
			 run_cmd_dir);
		rc = serve_with_conf("pw.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "pw.conf:3: pool b: ") && strstr(err, "user name"),
		   "a bad URL beside a password_file: exit %d, names the url's line: %s", rc, err);
		free(err);
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-tok\n# the API's token\n"
			 "token_file = /nonexistent/token\n[pool c]\nurl = http://root:pw@127.85.0.4:1\n",
			 run_cmd_dir);
		rc = serve_with_conf("tok.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "tok.conf:3: token_file /nonexistent/token: No such file"),
		   "missing token_file: exit %d, names FILE:LINE: %s", rc, err);
		free(err);
		/* a token_file that cannot be read is not "empty": the reason is named */
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-tok\n"
			 "token_file = %s\n[pool c]\nurl = http://root:pw@127.85.0.4:1\n",
			 run_cmd_dir, run_cmd_dir);
		rc = serve_with_conf("tokdir.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "tokdir.conf:2: token_file ") && strstr(err, "Is a directory") &&
			   !strstr(err, "empty"),
		   "token_file a directory: exit %d, says why: %s", rc, err);
		free(err);
		/* a token on two lines: no client could send it */
		run_cmd_file("two-lines.token", "abc\ndef\n", 8);
		snprintf(conf_text, sizeof(conf_text), "data = %s/data-tok\n"
			 "token_file = %s/two-lines.token\n[pool c]\nurl = http://root:pw@127.85.0.4:1\n",
			 run_cmd_dir, run_cmd_dir);
		rc = serve_with_conf("tok2.conf", conf_text, &err);
		ok(rc == 1 && strstr(err, "tok2.conf:2: token_file ") && strstr(err, "byte 4 is 0x0a"),
		   "a token on two lines: exit %d, refused: %s", rc, err);
		free(err);
		/* libcurl that cannot be loaded: the reason is said, not only "cannot start" */
		{
			char libdir[200];
			const char *old_path = getenv("LD_LIBRARY_PATH");
			char *saved = old_path ? strdup(old_path) : NULL;

			run_cmd_file("libcurl.so.4", "", 0);
			snprintf(libdir, sizeof(libdir), "%s", run_cmd_dir);
			setenv("LD_LIBRARY_PATH", libdir, 1);
			snprintf(conf_text, sizeof(conf_text), "data = %s/data-curl\n[pool c]\n"
				 "url = http://root:pw@127.85.0.4:1\n", run_cmd_dir);
			rc = serve_with_conf("curl.conf", conf_text, &err);
			if (saved)
				setenv("LD_LIBRARY_PATH", saved, 1);
			else
				unsetenv("LD_LIBRARY_PATH");
			free(saved);
			ok(rc == 1 && strstr(err, "libcurl: cannot load libcurl.so.4"),
			   "libcurl missing: exit %d, says so: %s", rc, err);
			free(err);
		}
	}
}

/* The API's address taken: exit 1 naming it, the store it opened closed (no leak under ASan). */
static void test_listen_taken(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char dir[300], listen_at[64], *out = NULL, *err = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	a.sin_addr.s_addr = htonl(0x7f520001); /* 127.82.0.1 */
	if (!ok(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !listen(fd, 1) &&
		!getsockname(fd, (struct sockaddr *)&a, &alen), "a port taken on 127.82.0.1")) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/data-taken", run_cmd_dir);
	snprintf(listen_at, sizeof(listen_at), "127.82.0.1:%d", ntohs(a.sin_port));
	{
		const char *argv[] = { run_cmd_bin("xapistat"), "serve", "--data", dir, "--listen",
				       listen_at, "--pool", "http://root:pw@127.82.0.2:1", NULL };

		rc = run_cmd(argv, NULL, 0, &out, &err);
	}
	ok(rc == 1 && strstr(err, listen_at) && !strstr(err, "Sanitizer"),
	   "exit %d, names %s, nothing leaked: %s", rc, listen_at, err);
	free(out);
	free(err);
	close(fd);
}

/* A pool never reached: the daemon serves, and its status and objects say not connected. */
static void test_unreached_pool(void)
{
	static char ans[1 << 14];
	struct daemon dm = { .pid = -1 };
	char dir[300], listen_at[64];
	const char *args[] = { "--data", dir, "--listen", listen_at, "--pool",
			       "http://root:pw@127.84.0.2:1", NULL };
	int port = 20000 + (int)(getpid() % 20000);
	int st = 0;

	snprintf(dir, sizeof(dir), "%s/data-unreached", run_cmd_dir);
	snprintf(listen_at, sizeof(listen_at), "127.84.0.1:%d", port);
	if (!ok(serve_spawn(&dm, args, "unreached.err") && serve_log_has(&dm, "serving", 10),
		"serving"))
		goto out;
	st = sim_proc_http("127.84.0.1", (unsigned)port, "GET", "/api/v1/status", NULL, NULL, ans,
			   sizeof(ans));
	ok(st == 200 && strstr(ans, "\"connected\":false") && !strstr(ans, "\"connected\":true"),
	   "status: not connected (%d %.300s)", st, ans);
	st = sim_proc_http("127.84.0.1", (unsigned)port, "GET", "/api/v1/objects", NULL, NULL, ans,
			   sizeof(ans));
	ok(st == 200 && strstr(ans, "\"connected\":false"), "objects: not connected (%d %.300s)",
	   st, ans);
out:
	proc_stop(&dm.pid, SIGTERM);
}

/* `serve --check` of a configuration whose text is printf(fmt, run_cmd_dir...): its exit
 * status, stdout in *out and stderr in *err (the caller frees both). */
static int serve_check_conf(const char *text, char **out, char **err)
{
	const char *conf = run_cmd_file("check.conf", text, strlen(text));
	const char *argv[] = { run_cmd_bin("xapistat"), "serve", "-c", conf, "--check", NULL };

	*out = *err = NULL;
	return run_cmd(argv, NULL, 0, out, err);
}

static void test_check_mode(void)
{
	char text[2048], data[300], *out, *err;
	struct stat stt;
	int rc;

	run_cmd_file("check.pw", "pw\n", 3);
	run_cmd_file("check.token", "t0ken\n", 6);
	run_cmd_file("not-a-cert.pem", "hello\n", 6);
	snprintf(data, sizeof(data), "%s/check-data", run_cmd_dir);
	/* the address of another daemon's API (or a taken port) is no reason to fail */
	snprintf(text, sizeof(text),
		 "data = %s\nlisten = 127.0.0.1:1\ntoken_file = %s/check.token\n"
		 "[pool a]\nurl = http://127.0.0.1:1\npassword_file = %s/check.pw\n",
		 data, run_cmd_dir, run_cmd_dir);
	rc = serve_check_conf(text, &out, &err);
	ok(rc == 0 && strstr(out, "configuration OK: 1 pool, store ") &&
		   strstr(out, "API http://127.0.0.1:1/ (token)"),
	   "a good configuration: exit %d: %s%s", rc, out, err);
	ok(stat(data, &stt) < 0, "the data directory is not made");
	free(out);
	free(err);
	/* "DIR/" as serve takes it: mkdir makes DIR in its parent */
	snprintf(text, sizeof(text),
		 "data = %s/\n[pool a]\nurl = http://127.0.0.1:1\npassword_file = %s/check.pw\n", data,
		 run_cmd_dir);
	rc = serve_check_conf(text, &out, &err);
	ok(rc == 0 && strstr(out, "configuration OK: "),
	   "a data directory to make, written with a trailing '/': exit %d: %s%s", rc, out, err);
	free(out);
	free(err);
	{
		static const char *const bad[][2] = {
			{ "data = %s/check-data\n[pool a]\nurl = http://127.0.0.1:1\n"
			  "password_file = %s/nowhere.pw\n", "check.conf:4: pool a: password file " },
			{ "data = %s/check.pw\n[pool a]\nurl = http://127.0.0.1:1\n"
			  "password_file = %s/check.pw\n", "check.pw: not a directory" },
			{ "data = %s/no/check-data\n[pool a]\nurl = http://127.0.0.1:1\n"
			  "password_file = %s/check.pw\n", "check-data: cannot be made: " },
			{ "data = %s/check-data\ntoken_file = %s/nowhere.token\n[pool a]\n"
			  "url = http://127.0.0.1:1\npassword_file = %s/check.pw\n",
			  "check.conf:2: " },
			{ "data = %s/check-data\ntls_cert = %s/not-a-cert.pem\ntls_key = %s/check.pw\n"
			  "[pool a]\nurl = http://127.0.0.1:1\npassword_file = %s/check.pw\n",
			  "not-a-cert.pem: no PEM certificate in it" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(text, sizeof(text), bad[i][0], run_cmd_dir, run_cmd_dir, run_cmd_dir,
				 run_cmd_dir);
#pragma GCC diagnostic pop
			rc = serve_check_conf(text, &out, &err);
			ok(rc == 1 && strstr(err, bad[i][1]) && !strstr(out, "OK"),
			   "bad %zu: exit %d, says '%s': %s", i, rc, bad[i][1], err);
			free(out);
			free(err);
		}
	}
}

/* --- the daemon against the simulator --- */

/* Counts the 5 s points of (host, ds) in [from, to] and checks they are every 5 s. */
static size_t store_points(struct xs_store *st, const char *host, const char *ds,
			   enum xs_tier tier, int64_t from, int64_t to, bool *contiguous)
{
	static struct xs_point pts[4096];
	xs_series_id id;
	size_t n;

	*contiguous = false;
	if (!xs_store_find(st, XS_OBJ_HOST, host, ds, &id))
		return 0;
	n = xs_store_read(st, id, tier, from, to, pts, 4096);
	*contiguous = n > 0 && n <= 4096;
	for (size_t i = 1; i < n && i < 4096; i++)
		if (pts[i].t != pts[i - 1].t + xs_tier_step[tier])
			*contiguous = false;
	return n;
}

static void test_kill_restart_reload(void)
{
	struct sim_proc s;
	struct daemon dm = { .pid = -1 };
	char dir[256], conf_text[1024], pool_url[200], host[64];
	const char *conf;
	struct xs_store *st = NULL;
	struct xs_store_options so = { 0 };
	char err[XS_ERR_LEN];
	bool contiguous;
	size_t n;
	int rc;

	if (!ok(sim_start(&s, 81), "simulator"))
		goto out;
	if (!ok(sim_host_uuid(&s, host), "host uuid"))
		goto out;
	run_cmd_file("x", "", 0);
	snprintf(dir, sizeof(dir), "%s/data", run_cmd_dir);
	snprintf(pool_url, sizeof(pool_url), "http://root:pw@%s", strstr(s.url[0], "://") + 3);
	/* a private API address: 127.0.0.1:8080 may be taken by another xapistat */
	snprintf(conf_text, sizeof(conf_text),
		 "data = %s\nlog_level = debug\nlisten = 127.81.0.2:8080\n[pool p0]\nurl = %s\n", dir,
		 pool_url);
	conf = run_cmd_file("serve.conf", conf_text, strlen(conf_text));
	{
		const char *args[] = { "-c", conf, NULL };

		if (!ok(serve_spawn(&dm, args, "serve1.err"), "spawn"))
			goto out;
	}
	ok(serve_log_has(&dm, "backfilling", 20), "first contact backfills");
	/* ingest runs: a few seconds of 5 s fetches, then kill -9 */
	usleep(1500000);
	proc_stop(&dm.pid, SIGKILL);
	ok(sim_proc_post(&s, "/sim/clock/advance?seconds=900") == 200, "15 min pass");
	{
		const char *args[] = { "-c", conf, NULL };

		if (!ok(serve_spawn(&dm, args, "serve2.err"), "respawn"))
			goto out;
	}
	ok(serve_log_has(&dm, "serving 1 pool,", 20), "restarted: the store opened");
	ok(serve_log_has(&dm, "backfilling", 20), "the gap is backfilled");
	usleep(1500000);
	/* SIGHUP: a second pool in the file */
	snprintf(pool_url, sizeof(pool_url), "http://root:pw@%s", strstr(s.url[1], "://") + 3);
	snprintf(conf_text + strlen(conf_text), sizeof(conf_text) - strlen(conf_text),
		 "[pool p1]\nurl = %s\n", pool_url);
	conf = run_cmd_file("serve.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: 2 pools (1 kept, 1 added, 0 removed)", 10), "SIGHUP reload");
	run_cmd_file("serve.conf", "data = x\nbogus\n", 15);
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "serve.conf:2:", 10), "a bad reload names FILE:LINE, keeps running");
	rc = sim_proc_kill(&dm.pid); /* SIGTERM; SIGKILL and -1 after 15 s */
	ok(rc == 0, "SIGTERM: exit %d", rc);
	ok(serve_log_has(&dm, "stopped", 1), "stopped cleanly");
	so.dir = dir;
	if (!ok(xs_store_open(&so, &st, err) == XS_OK, "store opens after kill -9: %s", err))
		goto out;
	n = store_points(st, host, "cpu_avg", XS_TIER_5S, S_CLOCK + 900 - 595, S_CLOCK + 900,
			 &contiguous);
	ok(n == 120 && contiguous, "5 s: the host's archive after the restart, %zu rows", n);
	n = store_points(st, host, "cpu_avg", XS_TIER_5S, S_CLOCK - 595, S_CLOCK, &contiguous);
	ok(n == 120 && contiguous, "5 s: the rows before kill -9 survived, %zu rows", n);
	n = store_points(st, host, "cpu_avg", XS_TIER_1M, S_CLOCK + 60, S_CLOCK + 900 - 660,
			 &contiguous);
	ok(n >= 3 && contiguous, "1 min: the hole backfilled, %zu points", n);
	ok(xs_store_close(&st, err) == XS_OK, "store closes");
out:
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
	sim_proc_stop(&s);
}

/*
 * A pool kept by a reload keeps its TLS options: its ca_file must not point
 * into the configuration the reload replaced (freed). Nobody listens on the
 * pool's port, so every attempt fails and backs off; the attempt after the
 * reload still reads ca_file (under ASan a dangling read aborts the daemon).
 */
/* A self-signed certificate in PEM at path (a CA file serve accepts); false on failure. */
static bool write_self_signed(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = NULL;
	bool done = false;

	if (key && x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) &&
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				       (const unsigned char *)"xapistat test", -1, -1, 0) &&
	    X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_set_pubkey(x, key) &&
	    X509_sign(x, key, EVP_sha256()) && (f = fopen(path, "w")) != NULL)
		done = PEM_write_X509(f, x) == 1;
	if (f && fclose(f))
		done = false;
	X509_free(x);
	EVP_PKEY_free(key);
	return done;
}

static void test_reload_keeps_tls(void)
{
	struct daemon dm = { .pid = -1 };
	char dir[256], conf_text[512];
	const char *ca = run_cmd_file("ca.pem", "", 0), *conf;
	int rc;

	/* a real certificate (serve refuses a CA file without one); nobody listens on the pool's
	 * port, so every attempt fails and backs off all the same */
	if (!ok(write_self_signed(ca), "a CA file"))
		return;

	snprintf(dir, sizeof(dir), "%s/data-tls", run_cmd_dir);
	snprintf(conf_text, sizeof(conf_text),
		 "data = %s\nlisten = 127.81.0.3:8080\n[pool t]\nurl = https://root:pw@127.0.0.1:1\n"
		 "ca_file = %s\n",
		 dir, ca);
	conf = run_cmd_file("tls.conf", conf_text, strlen(conf_text));
	{
		const char *args[] = { "-c", conf, NULL };

		if (!ok(serve_spawn(&dm, args, "tls.err"), "spawn"))
			return;
	}
	ok(serve_log_has(&dm, "pool t: backing off", 10), "the pool backs off");
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: 1 pool (1 kept, 0 added, 0 removed)", 10), "kept by SIGHUP");
	ok(serve_log_after(&dm, "reload: 1 pool (", "pool t: backing off", 15),
	   "the next attempt after the reload ran and failed as before");
	/* the CA file replaced in place (a new CA for new host certificates): the pool starts
	 * again, as for a password file's new content */
	if (ok(write_self_signed(ca), "another CA in the same file")) {
		kill(dm.pid, SIGHUP);
		ok(serve_log_has(&dm, "reload: 1 pool (0 kept, 1 added, 1 removed)", 10),
		   "the CA file's content changed: the pool starts again");
	}
	rc = sim_proc_kill(&dm.pid);
	ok(rc == 0, "SIGTERM: exit %d", rc);
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
}

/*
 * A pool given by flags alone whose host has a self-signed certificate (a stock host):
 * with --pin of another fingerprint the connection is refused, the log naming the
 * host's fingerprint to add; with --pin of that one it connects; with --insecure too.
 * Before, these were keys of a configuration file only.
 */
static void test_tls_flags(void)
{
	struct sim_proc s;
	const char *sim_argv[] = { run_cmd_bin("xapi-sim"), "--pools", "1", "--hosts", "1",
				   "--vms-per-host", "1", "--listen", "127.89.0.1", "--user", "root",
				   "--password", "pw", "--tls", NULL };
	char dir[256], url[256], wrong[128], want[200], connected[128];
	int rc;

	if (!ok(sim_proc_start(&s, sim_argv) && sim_proc_ready(&s, true, 1), "xapi-sim --tls")) {
		sim_proc_stop(&s);
		return;
	}
	run_cmd_file("tls-flags.err", "", 0); /* makes run_cmd_dir */
	snprintf(dir, sizeof(dir), "%s/data-tls-flags", run_cmd_dir);
	snprintf(url, sizeof(url), "https://root:pw@%s", strstr(s.url[0], "://") + 3);
	/* the pool's name is its URL's host */
	snprintf(connected, sizeof(connected), "pool %.*s: connected",
		 (int)strcspn(strstr(s.url[0], "://") + 3, ":/"), strstr(s.url[0], "://") + 3);
	snprintf(wrong, sizeof(wrong), "%s", s.fingerprint);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	snprintf(want, sizeof(want), "fingerprint is %s", s.fingerprint);
	for (int i = 0; i < 3; i++) {
		struct daemon dm = { .pid = -1 };
		const char *args[] = { "--data", dir, "--listen", "127.89.0.9:8080", "--pool", url,
				       i == 2 ? "--insecure" : "--pin", i == 0 ? wrong : s.fingerprint,
				       NULL };

		if (i == 2)
			args[7] = NULL;
		if (!ok(serve_spawn(&dm, args, "tls-flags.err"), "spawn %d", i))
			break;
		if (i == 0)
			ok(serve_log_has(&dm, "pin did not match", 15) && serve_log_has(&dm, want, 1),
			   "--pin of another certificate: refused, the host's fingerprint named");
		else
			ok(serve_log_has(&dm, connected, 15),
			   "%s: connected", i == 1 ? "--pin of the host's certificate" : "--insecure");
		rc = sim_proc_kill(&dm.pid);
		ok(rc == 0, "SIGTERM: exit %d", rc);
		if (dm.pid > 0)
			proc_stop(&dm.pid, SIGKILL);
	}
	ok(sim_proc_stop(&s) == 0, "xapi-sim --tls stopped cleanly");
}

/* GET /api/v1/status of the daemon at 127.83.0.2:8080 with access_token=token: the status. */
static int api_status(const char *token)
{
	static char ans[1 << 16];
	char target[256];

	snprintf(target, sizeof(target), "/api/v1/status?access_token=%s", token);
	return sim_proc_http("127.83.0.2", 8080, "GET", target, NULL, NULL, ans, sizeof(ans));
}

/*
 * SIGHUP reads the files again: a pool refused for a wrong password connects once its
 * password file is right (it had given up: kept as it was, it never would), and the
 * API token is the new one from then on; a token file that cannot be read keeps the
 * old configuration, and a setting only a restart changes is named in a warning.
 */
static void test_reload_files(void)
{
	struct sim_proc s;
	struct daemon dm = { .pid = -1 };
	char dir[256], conf_text[2048], url[200];
	const char *conf, *pw, *tok;
	int rc;

	if (!ok(sim_start(&s, 83), "simulator"))
		goto out;
	pw = run_cmd_file("p.pw", "wrong\n", 6);
	tok = run_cmd_file("api.tok", "old-token\n", 10);
	snprintf(dir, sizeof(dir), "%s/data-reload", run_cmd_dir);
	snprintf(url, sizeof(url), "http://%s", strstr(s.url[0], "://") + 3);
#define T_RELOAD_CONF "data = %s\nlisten = %s\ntoken_file = %s\n[pool p]\nurl = %s\nuser = root\n" \
		      "password_file = %s\n"
	snprintf(conf_text, sizeof(conf_text), T_RELOAD_CONF, dir, "127.83.0.2:8080", tok, url, pw);
	conf = run_cmd_file("reload.conf", conf_text, strlen(conf_text));
	{
		const char *args[] = { "-c", conf, NULL };

		if (!ok(serve_spawn(&dm, args, "reload.err"), "spawn"))
			goto out;
	}
	ok(serve_log_has(&dm, "pool p: failed", 15), "a wrong password: the pool gives up");
	ok(api_status("old-token") == 200 && api_status("new-token") == 401, "the token of the file");

	run_cmd_file("p.pw", "pw\n", 3);
	run_cmd_file("api.tok", "new-token\n", 10);
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: 1 pool (0 kept, 1 added, 1 removed)", 10),
	   "the password file changed: the pool starts again");
	ok(serve_log_after(&dm, "reload: 1 pool (", "pool p: connected", 15), "and connects");
	ok(api_status("new-token") == 200 && api_status("old-token") == 401,
	   "the new token only, from the reload on");
	/* a token file that cannot be read: nothing changes */
	snprintf(conf_text, sizeof(conf_text), T_RELOAD_CONF, dir, "127.83.0.2:8080",
		 "/nonexistent/api.tok", url, pw);
	run_cmd_file("reload.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload.conf:3: token_file /nonexistent/api.tok", 10) &&
		   serve_log_has(&dm, "(configuration kept)", 1),
	   "an unreadable token file names its line; the configuration is kept");
	ok(api_status("new-token") == 200, "the token still in force");
	/* a listen address only a restart changes */
	snprintf(conf_text, sizeof(conf_text), T_RELOAD_CONF, dir, "127.83.0.3:8080", tok, url, pw);
	run_cmd_file("reload.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: listen changes only at restart", 10), "listen: a warning");
	/* the warning names the key as the file spells it */
	{
		char moved[400];

		snprintf(moved, sizeof(moved), "%s-moved", dir);
		snprintf(conf_text, sizeof(conf_text), T_RELOAD_CONF, moved, "127.83.0.3:8080", tok, url,
			 pw);
	}
	run_cmd_file("reload.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: data changes only at restart", 10), "data: a warning naming 'data'");
	ok(serve_log_after(&dm, "reload: data changes only at restart",
			   "reload: listen changes only at restart", 10),
	   "listen: warned again, since it is still not in effect");
	ok(serve_log_has(&dm, "reload: 1 pool (1 kept, 0 added, 0 removed)", 10),
	   "the connected pool kept");
	ok(api_status("new-token") == 200, "still on the old address");
	/* an empty password file: allowed, but said */
	run_cmd_file("p.pw", "\n", 1);
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "pool p: the password is empty (from ", 10), "an empty password is said");
	/* the API's connection caps: a restart too (run_cmd_file's paths share one buffer) */
	{
		char tok_path[256], pw_path[256];

		snprintf(tok_path, sizeof(tok_path), "%s", run_cmd_file("api.tok", "new-token\n", 10));
		snprintf(pw_path, sizeof(pw_path), "%s", run_cmd_file("p.pw", "pw\n", 3));
		snprintf(conf_text, sizeof(conf_text), "max_connections_per_ip = 5\n" T_RELOAD_CONF, dir,
			 "127.83.0.2:8080", tok_path, url, pw_path);
	}
	run_cmd_file("reload.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: max_connections / max_connections_per_ip change only at restart",
			 10),
	   "max_connections_per_ip: a warning");
#undef T_RELOAD_CONF
	rc = sim_proc_kill(&dm.pid);
	ok(rc == 0, "SIGTERM: exit %d", rc);
out:
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
	sim_proc_stop(&s);
}

/* --- one pool under two sections --- */

#define D_BASE 86
#define D_API "127.86.0.2"

/* One pool of two hosts (master 127.86.1.1, member 127.86.1.2) on D_BASE. */
static bool sim_start_dup(struct sim_proc *s)
{
	return sim_start_estate(s, D_BASE, 1, 2, 1);
}

/* The pool uuid and both host uuids of the simulator (from /sim/state). */
static bool sim_uuids(struct sim_proc *s, char *pool, char hosts[2][64])
{
	static char ans[1 << 16];
	const char *p, *h;

	if (sim_proc_http(s->addr[0], s->port, "GET", "/sim/state", NULL, NULL, ans,
			  sizeof(ans)) != 200)
		return false;
	p = strstr(ans, "\"pools\":[{");
	p = p ? strstr(p, "\"uuid\":\"") : NULL;
	h = strstr(ans, "\"hosts\":[{\"uuid\":\"");
	if (!p || !h || sscanf(p + 8, "%36[0-9a-f-]", pool) != 1 ||
	    sscanf(h + 18, "%36[0-9a-f-]", hosts[0]) != 1)
		return false;
	h = strstr(h + 18, "{\"uuid\":\"");
	return h && sscanf(h + 9, "%36[0-9a-f-]", hosts[1]) == 1;
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* GET target of the daemon's API into ans (1 MiB): the status. */
static int dup_get(const char *target, char *ans)
{
	return sim_proc_http(D_API, 8080, "GET", target, NULL, NULL, ans, 1 << 20);
}

/* The objects of the daemon whose API is at api:8080 list one pool, uuid pool, named
 * name and connected, and each host once (within 20 s). */
static bool objects_once(const char *api, char *ans, const char *pool, char hosts[2][64],
			 const char *name)
{
	char want[128], h0[80], h1[80];
	double end = sim_proc_now() + 20;

	snprintf(want, sizeof(want), "{\"uuid\":\"%s\",\"name\":\"%s\"", pool, name);
	snprintf(h0, sizeof(h0), "\"uuid\":\"%s\"", hosts[0]);
	snprintf(h1, sizeof(h1), "\"uuid\":\"%s\"", hosts[1]);
	for (;;) {
		bool good = sim_proc_http(api, 8080, "GET", "/api/v1/objects", NULL, NULL, ans,
					  1 << 20) == 200 &&
			    strstr(ans, want) && count_of(ans, "\"connected\":") == 1 &&
			    count_of(ans, "\"connected\":true") == 1 && count_of(ans, h0) == 1 &&
			    count_of(ans, h1) == 1;

		if (good || sim_proc_now() > end)
			return good;
		usleep(100000);
	}
}

/* From the daemon's log text: the section refused as a duplicate (loser) and the one it
 * was refused for (winner), names of up to 7 of 'a' and '2'; whether both differ. */
static bool refusal_who(const char *log, char *winner, char *loser)
{
	const char *at = strstr(log, "is already collected as [pool ");

	if (!at)
		return false;
	while (at > log && at[-1] != '\n')
		at--;
	return sscanf(strstr(at, "pool "), "pool %7[a2]: ", loser) == 1 &&
	       sscanf(strstr(at, "[pool "), "[pool %7[a2]]", winner) == 1 && strcmp(winner, loser);
}

/* The status lists each host once (the collector's host lists follow within 1 s). */
static bool dup_status_once(char *ans, char hosts[2][64])
{
	double end = sim_proc_now() + 10;

	for (;;) {
		bool good = dup_get("/api/v1/status", ans) == 200 && count_of(ans, hosts[0]) == 1 &&
			    count_of(ans, hosts[1]) == 1;

		if (good || sim_proc_now() > end)
			return good;
		usleep(100000);
	}
}

/*
 * [pool a] at the master's address and [pool a2] at a member's (HOST_IS_SLAVE to the
 * master) are one pool: the first section to load it collects it, the other is
 * refused (not collected, not in objects), its status and one warning saying why.
 * A reload that drops the first: the second takes over without a restart.
 */
static void test_duplicate_pool(void)
{
	static char ans[1 << 20];
	struct sim_proc s;
	struct daemon dm = { .pid = -1 };
	char dir[256], conf_text[1024], pool[64], hosts[2][64], member[64], line[512];
	char winner[8] = "", loser[8] = "", *log = NULL, *at;
	const char *conf;
	int rc;

	if (!ok(sim_start_dup(&s), "simulator") || !ok(sim_uuids(&s, pool, hosts), "uuids"))
		goto out;
	snprintf(member, sizeof(member), "127.%d.1.2:%u", D_BASE, s.port);
	snprintf(dir, sizeof(dir), "%s/data-dup", run_cmd_dir);
#define T_DUP_CONF "data = %s\nlisten = " D_API ":8080\n%s%s"
#define T_DUP_A "[pool a]\nurl = http://root:pw@%s\n"
#define T_DUP_A2 "[pool a2]\nurl = http://root:pw@%s\n"
	{
		char a[200], a2[200];

		snprintf(a, sizeof(a), T_DUP_A, strstr(s.url[0], "://") + 3);
		snprintf(a2, sizeof(a2), T_DUP_A2, member);
		snprintf(conf_text, sizeof(conf_text), T_DUP_CONF, dir, a, a2);
		conf = run_cmd_file("dup.conf", conf_text, strlen(conf_text));
		{
			const char *args[] = { "-c", conf, NULL };

			if (!ok(serve_spawn(&dm, args, "dup.err"), "spawn"))
				goto out;
		}
		if (!ok(serve_log_has(&dm, "is already collected as [pool ", 20),
			"a refusal logged"))
			goto out;
		log = run_cmd_read(dm.errpath);
		ok(refusal_who(log, winner, loser), "who: [pool %s] collects, [pool %s] refused",
		   winner, loser);
		snprintf(line, sizeof(line),
			 "pool %s: the pool %s is already collected as [pool %s] (same pool, "
			 "another address): not collected twice", loser, pool, winner);
		at = strstr(log, line);
		ok(at && at - log >= 3 && !strncmp(at - 3, "<4>", 3), "the warning: %.300s", log);
		free(log);
		log = NULL;
		/* the winner now collects both hosts, each once */
		ok(objects_once(D_API, ans, pool, hosts, winner),
		   "objects: one pool, each host once: %.600s", ans);
		ok(dup_status_once(ans, hosts), "status: each host collected once: %.600s", ans);
		snprintf(line, sizeof(line),
			 "{\"name\":\"%s\",\"uuid\":null,\"connected\":false,\"hosts\":0,"
			 "\"collecting\":0,\"late\":0,\"down\":0,\"error\":\"the pool %s is "
			 "already collected as [pool %s] (same pool, another address): not "
			 "collected twice\"}",
			 loser, pool, winner);
		ok(strstr(ans, line) != NULL, "status of the refused section: %.900s", ans);
		/* its retries (after 1 s, 2 s...) are refused again, silently */
		usleep(3500000);
		log = run_cmd_read(dm.errpath);
		ok(count_of(log, "is already collected as") == 1 &&
			   count_of(log, "backing off") == 0,
		   "said once, however many retries");
		free(log);
		log = NULL;
		/* a reload drops the winner: the other section takes over */
		snprintf(conf_text, sizeof(conf_text), T_DUP_CONF, dir,
			 !strcmp(loser, "a") ? a : a2, "");
	}
#undef T_DUP_CONF
#undef T_DUP_A
#undef T_DUP_A2
	run_cmd_file("dup.conf", conf_text, strlen(conf_text));
	kill(dm.pid, SIGHUP);
	ok(serve_log_has(&dm, "reload: 1 pool (1 kept, 0 added, 1 removed)", 10), "reload");
	snprintf(line, sizeof(line),
		 "pool %s: collecting the pool %s (no longer collected as [pool %s])", loser, pool,
		 winner);
	ok(serve_log_after(&dm, "reload: 1 pool (", line, 10), "take-over said");
	ok(objects_once(D_API, ans, pool, hosts, loser), "objects after the take-over: %.600s", ans);
	snprintf(line, sizeof(line), "{\"name\":\"%s\",\"uuid\":\"%s\",\"connected\":true", loser,
		 pool);
	ok(dup_get("/api/v1/status", ans) == 200 && strstr(ans, line) &&
		   strstr(ans, "\"error\":null"),
	   "status after the take-over: %.600s", ans);
	rc = sim_proc_kill(&dm.pid);
	ok(rc == 0, "SIGTERM: exit %d", rc);
out:
	free(log);
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
	sim_proc_stop(&s);
}

#define T_BASE 91
#define T_API "127.91.0.2"

/*
 * The holder of a pool fails for good (its password is refused after its session
 * died): the section refused as its duplicate takes the pool over without a reload,
 * the failed one leaves the collector, and the log and status say who collects it.
 * [pool a] logs in at the master with password pw, [pool a2] at a member with pw2;
 * the simulator takes both until the test keeps only the refused section's.
 */
static void test_duplicate_takeover(void)
{
	static char ans[1 << 20];
	struct sim_proc s;
	struct daemon dm = { .pid = -1 };
	char dir[256], conf_text[1024], pool[64], hosts[2][64], line[512];
	char winner[8] = "", loser[8] = "", *log = NULL;
	const char *conf, *args[] = { "-c", NULL, NULL };
	int rc;

	if (!ok(sim_start_estate(&s, T_BASE, 1, 2, 1), "simulator") ||
	    !ok(sim_uuids(&s, pool, hosts), "uuids") ||
	    !ok(sim_proc_post(&s, "/sim/pool/passwords?list=pw,pw2") == 200, "both passwords: %s",
		s.answer))
		goto out;
	snprintf(dir, sizeof(dir), "%s/data-takeover", run_cmd_dir);
	snprintf(conf_text, sizeof(conf_text),
		 "data = %s\nlisten = " T_API ":8080\n[pool a]\nurl = http://root:pw@%s\n"
		 "[pool a2]\nurl = http://root:pw2@127.%d.1.2:%u\n",
		 dir, strstr(s.url[0], "://") + 3, T_BASE, s.port);
	conf = run_cmd_file("takeover.conf", conf_text, strlen(conf_text));
	args[1] = conf;
	if (!ok(serve_spawn(&dm, args, "takeover.err"), "spawn") ||
	    !ok(serve_log_has(&dm, "is already collected as [pool ", 20), "a refusal logged"))
		goto out;
	log = run_cmd_read(dm.errpath);
	if (!ok(refusal_who(log, winner, loser), "who: [pool %s] collects, [pool %s] refused",
		winner, loser))
		goto out;
	free(log);
	log = NULL;
	ok(objects_once(T_API, ans, pool, hosts, winner), "the holder collects: %.600s", ans);
	/* only the refused section's password from now on; the holder's session dies, and
	 * its event wait is answered at once (EVENTS_LOST) so it notices now */
	ok(sim_proc_post(&s, "/sim/pool/passwords?list=%s", !strcmp(loser, "a") ? "pw" : "pw2") ==
			   200 &&
		   sim_proc_post(&s, "/sim/sessions/expire") == 200 &&
		   sim_proc_post(&s, "/sim/events/lose") == 200,
	   "the holder's password refused, sessions expired: %s", s.answer);
	snprintf(line, sizeof(line), "pool %s: failed: login refused for user 'root'", winner);
	ok(serve_log_has(&dm, line, 20), "the holder fails: %s", line);
	snprintf(line, sizeof(line),
		 "pool %s: collecting the pool %s (no longer collected as [pool %s])", loser, pool,
		 winner);
	ok(serve_log_has(&dm, line, 20), "the duplicate takes over: %s", line);
	snprintf(line, sizeof(line),
		 "pool %s: the pool %s is collected as [pool %s] since this section failed "
		 "(login refused for user 'root'",
		 winner, pool, loser);
	ok(serve_log_has(&dm, line, 5), "the failed holder is said to be replaced: %s", line);
	ok(objects_once(T_API, ans, pool, hosts, loser), "objects after the take-over: %.600s",
	   ans);
	/* the status: the section that took over collects each host once (the collector's
	 * host lists follow within 1 s), the failed one holds nothing and says why */
	{
		char taker[160], failed[160];
		double end = sim_proc_now() + 10;
		bool good;

		snprintf(taker, sizeof(taker), "{\"name\":\"%s\",\"uuid\":\"%s\",\"connected\":true",
			 loser, pool);
		snprintf(failed, sizeof(failed),
			 "{\"name\":\"%s\",\"uuid\":null,\"connected\":false,\"hosts\":0,", winner);
		do {
			usleep(100000);
			good = sim_proc_http(T_API, 8080, "GET", "/api/v1/status", NULL, NULL, ans,
					     sizeof(ans)) == 200 &&
			       strstr(ans, taker) && strstr(ans, failed) &&
			       count_of(ans, hosts[0]) == 1 && count_of(ans, hosts[1]) == 1;
		} while (!good && sim_proc_now() < end);
		ok(good, "status: [pool %s] collects each host once, [pool %s] nothing: %s", loser,
		   winner, ans);
	}
	rc = sim_proc_kill(&dm.pid);
	ok(rc == 0, "SIGTERM: exit %d", rc);
out:
	free(log);
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
	sim_proc_stop(&s);
}
#undef T_BASE
#undef T_API

/* The soft limit of open files is raised to the hard one at start; a hard
 * limit too low for the estate (2 hosts, 1,024 API connections) is a warning
 * naming the need and the limit, logged once. */
static void test_open_files(void)
{
	struct sim_proc s;
	struct daemon dm = { .pid = -1, .nofile_soft = 200 };
	char dir[300], pool_url[200], listen_at[64], limits[64], line[128];
	const char *args[] = { "--data", dir, "--listen", listen_at, "--pool", pool_url, NULL };
	struct rlimit rl;
	char *log = NULL;
	FILE *f;

	if (!ok(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit") ||
	    !ok(sim_start_estate(&s, 87, 1, 2, 1), "simulator"))
		return;
	snprintf(dir, sizeof(dir), "%s/data-nofile", run_cmd_dir);
	snprintf(pool_url, sizeof(pool_url), "http://root:pw@%s", strstr(s.url[0], "://") + 3);
	snprintf(listen_at, sizeof(listen_at), "127.87.0.100:8080");
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 200) {
		dm.nofile_hard = rl.rlim_max;
		if (!ok(serve_spawn(&dm, args, "nofile1.err") && serve_log_has(&dm, "serving", 10),
			"serving"))
			goto out;
		ok(serve_log_has(&dm, "open files: limit (RLIMIT_NOFILE) raised from 200 to ", 1),
		   "the raise is logged");
		snprintf(limits, sizeof(limits), "/proc/%d/limits", (int)dm.pid);
		f = fopen(limits, "r");
		rl.rlim_cur = 0;
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Max open files", 14))
				rl.rlim_cur = strtoull(line + 14, NULL, 10);
		if (f)
			fclose(f);
		ok(rl.rlim_cur > 200, "the soft limit is now %llu", (unsigned long long)rl.rlim_cur);
		ok(!serve_log_has(&dm, "need about", 0.5), "no warning when the limit is enough");
		proc_stop(&dm.pid, SIGTERM);
	}
	dm.nofile_soft = dm.nofile_hard = 300;
	if (!ok(serve_spawn(&dm, args, "nofile2.err") &&
		serve_log_has(&dm, "open files: 2 hosts (1 pool) and up to 1024 API connections "
			      "need about 1158 descriptors, but the limit (RLIMIT_NOFILE) is 300", 15),
		"the warning names the need and the limit"))
		goto out;
	ok(!serve_log_has(&dm, "raised from", 0), "a limit at its hard one is not raised");
	usleep(2500000); /* more sync ticks */
	log = run_cmd_read(dm.errpath);
	ok(count_of(log, "need about") == 1, "warned once: %s", log);
out:
	free(log);
	proc_stop(&dm.pid, SIGTERM);
	sim_proc_stop(&s);
}

/* --- the store's syncs failing --- */

#define F_BASE 88
#define F_API "127.88.0.2"

/* GET target of the daemon at F_API:8080 into ans (cap bytes): the HTTP status. */
static int f_get(const char *target, char *ans, size_t cap)
{
	return sim_proc_http(F_API, 8080, "GET", target, NULL, NULL, ans, cap);
}

/* Waits until GET target holds text (or secs pass). */
static bool f_get_has(const char *target, const char *text, double secs)
{
	static char ans[1 << 18];
	double end = sim_proc_now() + secs;

	for (;;) {
		bool has = f_get(target, ans, sizeof(ans)) == 200 && strstr(ans, text) != NULL;

		if (has || sim_proc_now() > end)
			return has;
		usleep(100000);
	}
}

/*
 * The store's syncs fail (files may not grow: RLIMIT_FSIZE, as a full disk): the log
 * says so, and so do /api/v1/status (store_sync_failures_total, store_error naming the
 * file and the reason) and /metrics (xapistat_store_sync_failing 1), which kept saying
 * nothing while rows went unsynced. Once the files may grow again, a line says the
 * syncs succeed again, store_error is null and the gauge 0.
 */
static void test_sync_fails(void)
{
	struct sim_proc s;
	struct daemon dm = { .pid = -1, .fsize = 4096 };
	char dir[256], pool_url[200], listen[32];
	struct rlimit r;

	if (!ok(sim_start_estate(&s, F_BASE, 1, 1, 2), "simulator"))
		goto out;
	run_cmd_file("x", "", 0);
	snprintf(dir, sizeof(dir), "%s/data-full", run_cmd_dir);
	snprintf(pool_url, sizeof(pool_url), "http://root:pw@%s", strstr(s.url[0], "://") + 3);
	snprintf(listen, sizeof(listen), "%s:8080", F_API);
	{
		const char *args[] = { "--data", dir, "--pool", pool_url, "--listen", listen, NULL };

		if (!ok(serve_spawn(&dm, args, "serve-full.err"), "spawn"))
			goto out;
	}
	ok(serve_log_has(&dm, "store: sync: write ", 20) && serve_log_has(&dm, "File too large", 1),
	   "the failing sync is logged, naming the reason");
	ok(f_get_has("/api/v1/status", "\"store_error\":\"write ", 10) &&
		   f_get_has("/api/v1/status", "File too large", 1) &&
		   !f_get_has("/api/v1/status", "\"store_sync_failures_total\":0,", 0),
	   "/api/v1/status: store_error names it, store_sync_failures_total counts it");
	ok(f_get_has("/metrics", "\nxapistat_store_sync_failing 1\n", 10), "/metrics: xapistat_store_sync_failing 1");
	getrlimit(RLIMIT_FSIZE, &r);
	r.rlim_cur = r.rlim_max;
	ok(prlimit(dm.pid, RLIMIT_FSIZE, &r, NULL) == 0, "the files may grow again");
	ok(serve_log_has(&dm, "store: syncs succeed again", 10), "the recovery is logged");
	ok(f_get_has("/api/v1/status", "\"store_error\":null", 10), "/api/v1/status: store_error null again");
	ok(f_get_has("/metrics", "\nxapistat_store_sync_failing 0\n", 10), "/metrics: xapistat_store_sync_failing 0");
	ok(sim_proc_kill(&dm.pid) == 0, "SIGTERM: exit 0");
out:
	if (dm.pid > 0)
		proc_stop(&dm.pid, SIGKILL);
	sim_proc_stop(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	TEST_RUN(test_config_errors);
	TEST_RUN(test_listen_taken);
	TEST_RUN(test_unreached_pool);
	TEST_RUN(test_check_mode);
	TEST_RUN(test_kill_restart_reload);
	TEST_RUN(test_reload_keeps_tls);
	TEST_RUN(test_tls_flags);
	TEST_RUN(test_reload_files);
	TEST_RUN(test_duplicate_pool);
	TEST_RUN(test_duplicate_takeover);
	TEST_RUN(test_open_files);
	TEST_RUN(test_sync_fails);
	run_cmd_cleanup();
	return test_summary();
}
