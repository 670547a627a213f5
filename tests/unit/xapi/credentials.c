/*
 * Tests of src/xapi/credentials.c: URL user-info split and percent-decoded,
 * the password file's first line, the precedence file > URL > environment,
 * the default user, argv masking, and errors that never quote a password.
 */
#include <string.h>

#include "support/run_cmd.h"
#include "test.h"
#include "xapi/credentials.h"

static void test_split(void)
{
	static const struct {
		const char *url, *clean, *user, *pass; /* user/pass NULL: absent */
		enum xs_err rc;
	} cases[] = {
		{ "http://host", "http://host", NULL, NULL, XS_OK },
		{ "https://h:443/", "https://h:443/", NULL, NULL, XS_OK },
		{ "http://root@h", "http://h", "root", NULL, XS_OK },
		{ "http://root:pw@h:80", "http://h:80", "root", "pw", XS_OK },
		{ "http://ro%6Ft:p%40ss%3Aw@h", "http://h", "root", "p@ss:w", XS_OK },
		{ "http://u:p@ss@h/x", "http://h/x", "u", "p@ss", XS_OK },
		{ "http://u:@h", "http://h", "u", "", XS_OK },
		{ "HTTPS://u:p@Host", "https://Host", "u", "p", XS_OK }, /* the scheme is case-free */
		{ "http://u:p%4@h", "", NULL, NULL, XS_ERR_ARG },
		{ "http://u:p%00@h", "", NULL, NULL, XS_ERR_ARG },
		{ "host:80", "", NULL, NULL, XS_ERR_ARG },
		{ "http://", "", NULL, NULL, XS_ERR_ARG },
		{ "http://u:p@", "", NULL, NULL, XS_ERR_ARG },
		/* a password's unencoded '/', '?' or '#' ends the authority early: refused */
		{ "http://root:ab/cd@h", "", NULL, NULL, XS_ERR_ARG },
		{ "http://root:pa?ss@h", "", NULL, NULL, XS_ERR_ARG },
		{ "http://root:pa#ss@h", "", NULL, NULL, XS_ERR_ARG },
		{ "http://root:2024/Spring@h", "", NULL, NULL, XS_ERR_ARG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char clean[128] = "", err[XS_ERR_LEN] = "", *user, *pass;
		enum xs_err rc = xs_cred_split_url(cases[i].url, clean, sizeof(clean), &user, &pass,
						   err);

		ok(rc == cases[i].rc, "%s: rc %d", cases[i].url, rc);
		if (rc == XS_OK) {
			ok(!strcmp(clean, cases[i].clean), "%s: clean %s", cases[i].url, clean);
			ok(cases[i].user ? user && !strcmp(user, cases[i].user) : !user, "%s: user",
			   cases[i].url);
			ok(cases[i].pass ? pass && !strcmp(pass, cases[i].pass) : !pass,
			   "%s: password", cases[i].url);
		} else {
			ok(!user && !pass, "%s: nothing returned", cases[i].url);
			ok(!strstr(err, "p%4") && !strstr(err, "u:p"), "%s: error quotes nothing: %s",
			   cases[i].url, err);
		}
		free(user);
		free(pass);
	}
}

static void test_file(void)
{
	const char *a = run_cmd_file("pw1", "s3cret\nsecond line\n", 19);
	const char *b = run_cmd_file("pw2", "crlf\r\n", 6);
	const char *c = run_cmd_file("pw3", "no-newline", 10);
	char big[XS_CRED_MAX + 10], err[XS_ERR_LEN], *pw;

	ok(xs_cred_read_file(a, &pw, err) == XS_OK && !strcmp(pw, "s3cret"), "first line");
	free(pw);
	ok(xs_cred_read_file(b, &pw, err) == XS_OK && !strcmp(pw, "crlf"), "CR LF stripped");
	free(pw);
	ok(xs_cred_read_file(c, &pw, err) == XS_OK && !strcmp(pw, "no-newline"), "no newline");
	free(pw);
	memset(big, 'x', sizeof(big));
	ok(xs_cred_read_file(run_cmd_file("pw4", big, sizeof(big)), &pw, err) == XS_ERR_TOO_LARGE &&
		   !pw,
	   "too long: %s", err);
	ok(xs_cred_read_file("/nonexistent/pw", &pw, err) == XS_ERR_IO && strstr(err, "/nonexistent/pw"),
	   "missing file named: %s", err);
	ok(xs_cred_read_file(run_cmd_file("pw5", "ab\0cd\n", 6), &pw, err) == XS_ERR_ARG && !pw &&
		   strstr(err, "NUL"),
	   "a NUL byte is refused, not a password cut short: %s", err);
}

static void test_resolve(void)
{
	const char *f = run_cmd_file("pwf", "from-file\n", 10);
	char clean[128], err[XS_ERR_LEN];
	struct xs_cred c;

	ok(xs_cred_resolve("http://u:from-url@h", NULL, f, "from-env", clean, sizeof(clean), &c,
			   err) == XS_OK &&
		   !strcmp(c.password, "from-file") && !strcmp(c.user, "u") &&
		   !strcmp(clean, "http://h"),
	   "the file wins");
	xs_cred_cleanup(&c);
	ok(!c.user && !c.password, "cleanup zeroes");
	ok(xs_cred_resolve("http://u:from-url@h", "admin", NULL, "from-env", clean, sizeof(clean),
			   &c, err) == XS_OK &&
		   !strcmp(c.password, "from-url") && !strcmp(c.user, "admin"),
	   "then the URL; --user wins over the URL's user");
	xs_cred_cleanup(&c);
	ok(xs_cred_resolve("http://h", NULL, NULL, "from-env", clean, sizeof(clean), &c, err) ==
			   XS_OK &&
		   !strcmp(c.password, "from-env") && !strcmp(c.user, "root"),
	   "then the environment; user root");
	xs_cred_cleanup(&c);
	ok(xs_cred_resolve("http://h", NULL, NULL, NULL, clean, sizeof(clean), &c, err) ==
			   XS_ERR_ARG &&
		   strstr(err, "XAPISTAT_PASSWORD"),
	   "no password: %s", err);
	ok(xs_cred_resolve("http://u:pw@h", NULL, "/nonexistent", NULL, clean, sizeof(clean), &c,
			   err) == XS_ERR_IO && !c.password,
	   "unreadable file: %s", err);
	xs_cred_cleanup(NULL);
}

static void test_mask(void)
{
	char a[] = "https://root:hunter2@host:443/x", b[] = "http://host", c[] = "http://u@h";

	xs_cred_mask_url(a);
	xs_cred_mask_url(b);
	xs_cred_mask_url(c);
	ok(!strcmp(a, "https://root:*******@host:443/x"), "masked: %s", a);
	ok(!strcmp(b, "http://host") && !strcmp(c, "http://u@h"), "nothing to mask");
	{
		/* a password holding an unencoded '/' or '#': masked up to the URL's last '@' */
		char d[] = "https://root:ab/cd@h", e[] = "https://root:pa#ss@h:443";

		xs_cred_mask_url(d);
		xs_cred_mask_url(e);
		ok(!strcmp(d, "https://root:*****@h") && !strcmp(e, "https://root:*****@h:443"),
		   "masked past '/' and '#': %s %s", d, e);
	}
}

int main(void)
{
	TEST_RUN(test_split);
	TEST_RUN(test_file);
	TEST_RUN(test_resolve);
	TEST_RUN(test_mask);
	run_cmd_cleanup();
	return test_summary();
}
