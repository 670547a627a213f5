/*
 * Tests of `xapistat inventory` (src/cmd_inventory.c): $XS_BIN_DIR/xapistat
 * run against xapi-sim (started on a private 127.x base, always stopped):
 * text and --json listings with the simulator's counts, two pools at once,
 * the password from a file, the URL and the environment, a refused login
 * (exit 1, the password in no output), an unreachable pool (exit 1), usage
 * errors (exit 2), TLS with the right and a wrong pin, and a pin list (two
 * in one --pin, or --pin twice) where the second matches, and a xapi before
 * XenServer 6.2 (a login with an originator refused: listed all the same).
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "support/run_cmd.h"
#include "support/sim_proc.h"
#include "test.h"

/* npools pools of 3 hosts on 127.base.x.x, password "pw"; tls: --tls. */
static bool sim_start(struct sim_proc *s, int npools, bool tls, int base)
{
	char listen[32], pools[8];
	const char *argv[] = { run_cmd_bin("xapi-sim"), "--pools", pools, "--hosts", "3",
			       "--vms-per-host", "4", "--listen", listen, "--password", "pw",
			       tls ? "--tls" : NULL, NULL };

	snprintf(listen, sizeof(listen), "127.%d.0.1", base);
	snprintf(pools, sizeof(pools), "%d", npools);
	return sim_proc_start(s, argv) && sim_proc_ready(s, tls, npools);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Runs xapistat inventory with up to 12 arguments; *out / *err malloc'd. */
static int inv(const char *const *args, char **out, char **err)
{
	const char *argv[16] = { run_cmd_bin("xapistat"), "inventory" };
	size_t n = 2;

	for (; args[n - 2] && n < 15; n++)
		argv[n] = args[n - 2];
	argv[n] = NULL;
	return run_cmd(argv, NULL, 0, out, err);
}

static void test_text_and_json(struct sim_proc *s)
{
	const char *pwf = run_cmd_file("pw", "pw\n", 3);
	char *out, *err;
	int rc;

	{
		const char *a[] = { "--pool", s->url[0], "--password-file", pwf, NULL };

		rc = inv(a, &out, &err);
		ok(rc == 0, "text: exit %d: %s", rc, err);
		ok(strstr(out, "pool pool-0 (") != NULL, "pool line: %.200s", out);
		ok(strstr(out, ": 3 hosts, 15 VMs (3 control domains") != NULL, "counts: %.300s", out);
		ok(strstr(out, ", 4 SRs\n") != NULL, "SRs counted");
		ok(count(out, "\n  host ") == 3, "3 host lines");
		ok(count(out, "\n    vm ") == 15, "15 VM lines");
		ok(count(out, "[control domain]") == 3, "3 control domains");
		ok(count(out, "\n  sr ") == 4, "4 SR lines");
		ok(strstr(out, " live") && strstr(out, ", master,"), "live and master shown");
		ok(strstr(out, "  halted VMs:\n") && strstr(out, ") halted\n"), "halted VMs listed");
		ok(strstr(out, " running\n") != NULL, "power states");
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s->url[0], "--pool", s->url[1], "--json",
				    "--password-file", pwf, NULL };

		rc = inv(a, &out, &err);
		ok(rc == 0, "json: exit %d: %s", rc, err);
		ok(!strncmp(out, "{\"pools\":[{", 11), "json shape: %.100s", out);
		ok(count(out, "\"state\":\"connected\"") == 2, "two pools connected");
		ok(count(out, "\"power_state\"") == 30, "30 VMs: %zu", count(out, "\"power_state\""));
		ok(count(out, "\"control_domain\":true") == 6, "6 control domains");
		ok(count(out, "\"live\":true") == 6, "6 live hosts");
		ok(count(out, "\"shared\":") == 8, "8 SRs");
		ok(count(out, "\"halted_vms\":[") == 2, "halted_vms arrays");
		ok(out[strlen(out) - 1] == '\n' && out[strlen(out) - 2] == '}', "ends with }\\n");
		free(out);
		free(err);
	}
	{
		char url[200];
		const char *a[] = { "--pool", url, NULL };

		snprintf(url, sizeof(url), "http://root:pw@%s", strstr(s->url[0], "://") + 3);
		rc = inv(a, &out, &err);
		ok(rc == 0 && strstr(out, "15 VMs"), "password in the URL: exit %d %s", rc, err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s->url[0], "--user", "root", NULL };

		setenv("XAPISTAT_PASSWORD", "pw", 1);
		rc = inv(a, &out, &err);
		unsetenv("XAPISTAT_PASSWORD");
		ok(rc == 0 && strstr(out, "15 VMs"), "password from the environment: exit %d %s", rc,
		   err);
		free(out);
		free(err);
	}
}

/* A xapi before 6.2 refuses the originator: inventory logs in without it. */
static void test_old_login(struct sim_proc *s)
{
	const char *a[] = { "--pool", s->url[0], NULL };
	char *out, *err;
	int rc;

	ok(sim_proc_post(s, "/sim/pool/old_login?on=1") == 200, "old login on: %s", s->answer);
	setenv("XAPISTAT_PASSWORD", "pw", 1);
	rc = inv(a, &out, &err);
	unsetenv("XAPISTAT_PASSWORD");
	ok(rc == 0 && strstr(out, "15 VMs"), "listed: exit %d: %s", rc, err);
	free(out);
	free(err);
	ok(sim_proc_post(s, "/sim/pool/old_login?on=0") == 200 &&
		   strstr(s->answer, "\"refused_logins\":1"),
	   "one login was refused: %s", s->answer);
}

static void test_failures(struct sim_proc *s)
{
	const char *bad = run_cmd_file("bad", "Wr0ngPassw0rd\n", 14);
	char *out, *err, url[200];
	int rc;

	{
		const char *a[] = { "--pool", s->url[0], "--password-file", bad, NULL };

		rc = inv(a, &out, &err);
		ok(rc == 1, "bad password: exit %d", rc);
		ok(strstr(err, "login refused") != NULL, "clear message: %s", err);
		ok(!strstr(err, "Wr0ngPassw0rd") && !strstr(out, "Wr0ngPassw0rd"), "no password shown");
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", url, "--json", NULL };

		snprintf(url, sizeof(url), "http://root:Wr0ngPassw0rd@%s",
			 strstr(s->url[0], "://") + 3);
		rc = inv(a, &out, &err);
		ok(rc == 1 && !strstr(err, "Wr0ngPassw0rd") && !strstr(out, "Wr0ngPassw0rd"),
		   "bad password in the URL: exit %d, not shown: %s", rc, err);
		ok(strstr(out, "\"state\":\"failed\"") != NULL, "json says failed: %s", out);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", "http://127.0.0.1:1", "--timeout", "5", NULL };

		setenv("XAPISTAT_PASSWORD", "pw", 1);
		rc = inv(a, &out, &err);
		unsetenv("XAPISTAT_PASSWORD");
		ok(rc == 1 && strstr(err, "127.0.0.1:1"), "unreachable: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		static const char *const usage[][6] = {
			{ NULL },
			{ "--pool", NULL },
			{ "--pool", "http://h", "--bogus", NULL },
			{ "--pool", "http://h", "--timeout", "x", NULL },
			{ "--pool", "http://h", "--insecure", "--pin", "AB", NULL },
			{ "--pool", "h:80", NULL },
			{ "--pool", "http://h", NULL }, /* no password anywhere */
			{ "--pool", "https://root:pw@h", "--ca-file", "/nonexistent/ca.pem", NULL },
		};

		for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
			rc = inv(usage[i], &out, &err);
			ok(rc == 2, "usage %zu: exit %d: %s", i, rc, err);
			ok(out[0] == '\0', "usage %zu: nothing on stdout", i);
			free(out);
			free(err);
		}
	}
}

static void test_tls(void)
{
	struct sim_proc s;
	char pin[128], list[300], *out, *err;
	int rc;

	if (!ok(sim_start(&s, 1, true, 100 + (int)((getpid() + 31) % 150)), "xapi-sim --tls")) {
		sim_proc_stop(&s);
		return;
	}
	setenv("XAPISTAT_PASSWORD", "pw", 1);
	{
		const char *a[] = { "--pool", s.url[0], "--pin", s.fingerprint, NULL };

		rc = inv(a, &out, &err);
		ok(rc == 0 && strstr(out, "15 VMs"), "right pin: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s.url[0], "--pin", pin, NULL };

		snprintf(pin, sizeof(pin), "%s", s.fingerprint);
		pin[0] = pin[0] == 'A' ? 'B' : 'A';
		rc = inv(a, &out, &err);
		ok(rc == 1 && strstr(err, "pin"), "wrong pin: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s.url[0], "--pin", list, NULL };

		snprintf(list, sizeof(list), "%s, %s", pin, s.fingerprint);
		rc = inv(a, &out, &err);
		ok(rc == 0 && strstr(out, "15 VMs"), "a list, the second matches: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s.url[0], "--pin", pin, "--pin", s.fingerprint, NULL };

		rc = inv(a, &out, &err);
		ok(rc == 0 && strstr(out, "15 VMs"), "--pin twice, the second matches: exit %d: %s", rc,
		   err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s.url[0], "--pin", pin, "--pin", "AB:CD", NULL };

		rc = inv(a, &out, &err);
		ok(rc == 2 && strstr(err, "--pin: 'AB:CD' is not a SHA-256 fingerprint"),
		   "a bad pin is a usage error naming it: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	{
		const char *a[] = { "--pool", s.url[0], "--insecure", NULL };

		rc = inv(a, &out, &err);
		ok(rc == 0, "--insecure: exit %d: %s", rc, err);
		free(out);
		free(err);
	}
	unsetenv("XAPISTAT_PASSWORD");
	ok(sim_proc_stop(&s) == 0, "xapi-sim --tls stopped cleanly");
}

static void test_on_sim(void)
{
	struct sim_proc s;

	if (!ok(sim_start(&s, 2, false, 100 + (int)(getpid() % 150)), "xapi-sim started")) {
		sim_proc_stop(&s);
		return;
	}
	test_text_and_json(&s);
	test_failures(&s);
	test_old_login(&s);
	ok(sim_proc_stop(&s) == 0, "xapi-sim stopped cleanly");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	unsetenv("XAPISTAT_PASSWORD");
	TEST_RUN(test_on_sim);
	TEST_RUN(test_tls);
	run_cmd_cleanup();
	return test_summary();
}
