/*
 * Tests of src/lib/log.c: the priority prefixes with stderr on a file and on
 * a pseudo-terminal, JOURNAL_STREAM, the minimum level, one line per message
 * (control characters, truncation), level names, rate limiting, and URL
 * masking.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "test.h"

/* stderr captured into a temporary file between capture_start and capture_end */
static int saved_stderr = -1;
static int capture_fd = -1;

static void capture_start(void)
{
	char path[] = "/tmp/xs_log_test_XXXXXX";

	capture_fd = mkstemp(path);
	unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	dup2(capture_fd, STDERR_FILENO);
}

/* Restores stderr and returns what was written (static buffer). */
static const char *capture_end(void)
{
	static char out[8192];
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	lseek(capture_fd, 0, SEEK_SET);
	n = read(capture_fd, out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	close(capture_fd);
	return out;
}

static void test_prefixes_on_a_file(void)
{
	const char *out;

	unsetenv("JOURNAL_STREAM");
	xs_log_set_level(XS_LOG_DEBUG);
	capture_start();
	xs_log_error("e %d", 1);
	xs_log_warn("w %s", "x");
	xs_log_info("i");
	xs_log_debug("d");
	xs_log(XS_LOG_WARN, "generic");
	out = capture_end();
	ok(strcmp(out, "<3>e 1\n<4>w x\n<6>i\n<7>d\n<4>generic\n") == 0, "got [%s]", out);
	xs_log_set_level(XS_LOG_INFO);
}

static void test_minimum_level(void)
{
	const char *out;

	xs_log_set_level(XS_LOG_WARN);
	ok(xs_log_get_level() == XS_LOG_WARN, "get");
	ok(xs_log_enabled(XS_LOG_ERROR) && xs_log_enabled(XS_LOG_WARN), "enabled");
	ok(!xs_log_enabled(XS_LOG_INFO) && !xs_log_enabled(XS_LOG_DEBUG), "disabled");
	capture_start();
	xs_log_error("a");
	xs_log_warn("b");
	xs_log_info("c");
	xs_log_debug("d");
	out = capture_end();
	ok(strcmp(out, "<3>a\n<4>b\n") == 0, "got [%s]", out);
	xs_log_set_level(XS_LOG_ERROR);
	capture_start();
	xs_log_warn("b");
	out = capture_end();
	ok(out[0] == '\0', "warn dropped at error level: [%s]", out);
	xs_log_set_level(XS_LOG_INFO);
}

static void test_one_line_per_message(void)
{
	char big[XS_LOG_LINE_MAX * 2];
	const char *out;
	size_t n;

	capture_start();
	xs_log_info("a\nb\rc\x1b[31md");
	out = capture_end();
	ok(strcmp(out, "<6>a?b?c?[31md\n") == 0, "control characters: [%s]", out);

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	capture_start();
	xs_log_info("%s", big);
	out = capture_end();
	n = strlen(out);
	ok(n == XS_LOG_LINE_MAX - 1, "cut at the line cap: %zu", n);
	ok(n > 5 && strcmp(out + n - 4, "...\n") == 0, "ends with ...");
	ok(strncmp(out, "<6>xxx", 6) == 0, "prefix kept");
}

static void test_journal_stream(void)
{
	int master, slave;

	/* a pseudo-terminal stands for an interactive stderr */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	fail_unless(master >= 0, "posix_openpt");
	fail_unless(grantpt(master) == 0 && unlockpt(master) == 0, "pty");
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	fail_unless(slave >= 0, "open slave");
	saved_stderr = dup(STDERR_FILENO);

	unsetenv("JOURNAL_STREAM");
	dup2(slave, STDERR_FILENO);
	xs_log_warn("to a terminal");
	setenv("JOURNAL_STREAM", "8:12345", 1);
	xs_log_warn("to the journal");
	unsetenv("JOURNAL_STREAM");
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	{
		char buf[512];
		size_t got = 0;
		char *second;

		/* the two lines may come out of the pty in separate reads */
		buf[0] = '\0';
		for (int i = 0; i < 50 && !strstr(buf, "journal"); i++) {
			struct pollfd pfd = { .fd = master, .events = POLLIN };
			ssize_t n;

			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(master, buf + got, sizeof buf - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
		}
		/* the terminal turns "\n" into "\r\n" */
		ok(strstr(buf, " WARN to a terminal\r\n") != NULL, "readable level: [%s]", buf);
		ok(buf[0] >= '2' && buf[4] == '-' && buf[10] == ' ' && buf[13] == ':', "timestamp: [%s]", buf);
		second = strstr(buf, "\r\n");
		ok(second && strncmp(second + 2, "<4>to the journal", 17) == 0, "JOURNAL_STREAM: [%s]",
		   buf);
	}
	close(slave);
	close(master);
}

static void test_level_names(void)
{
	enum xs_log_level l = XS_LOG_ERROR;

	ok(xs_log_level_from_name("info", &l) && l == XS_LOG_INFO, "info");
	ok(xs_log_level_from_name("DEBUG", &l) && l == XS_LOG_DEBUG, "DEBUG");
	ok(xs_log_level_from_name("warning", &l) && l == XS_LOG_WARN, "warning");
	ok(xs_log_level_from_name("warn", &l) && l == XS_LOG_WARN, "warn");
	ok(xs_log_level_from_name("error", &l) && l == XS_LOG_ERROR, "error");
	ok(!xs_log_level_from_name("verbose", &l) && l == XS_LOG_ERROR, "unknown leaves out alone");
	ok(!xs_log_level_from_name("", &l), "empty");
	ok(!xs_log_level_from_name(NULL, &l), "NULL");
	ok(strcmp(xs_log_level_name(XS_LOG_WARN), "warn") == 0, "name warn");
	ok(strcmp(xs_log_level_name(XS_LOG_DEBUG), "debug") == 0, "name debug");
	ok(strcmp(xs_log_level_name((enum xs_log_level)5), "?") == 0, "name ?");
}

static void test_rate_limit(void)
{
	struct xs_log_limit lim = { 0 };
	uint64_t dropped = 99;
	const char *out;

	ok(xs_log_limit_pass(&lim, 10, 0, &dropped) && dropped == 0, "first passes (even at t=0)");
	ok(!xs_log_limit_pass(&lim, 10, 1000, &dropped), "1 s later: dropped");
	ok(!xs_log_limit_pass(&lim, 10, 9999, &dropped), "9.999 s later: dropped");
	ok(xs_log_limit_pass(&lim, 10, 10000, &dropped) && dropped == 2, "10 s later: passes, 2 dropped");
	ok(xs_log_limit_pass(&lim, 10, 30000, &dropped) && dropped == 0, "none dropped since");

	memset(&lim, 0, sizeof lim);
	capture_start();
	for (int i = 0; i < 5; i++)
		xs_log_every(&lim, 3600, XS_LOG_WARN, "host %d down", i);
	lim.next_ms = 1; /* the window is over */
	xs_log_every(&lim, 3600, XS_LOG_WARN, "host %d down", 5);
	xs_log_every(&lim, 3600, XS_LOG_DEBUG, "below the level: not counted");
	out = capture_end();
	ok(strcmp(out, "<4>host 0 down\n<4>host 5 down (4 similar messages suppressed)\n") == 0,
	   "got [%s]", out);
	ok(lim.suppressed == 0, "debug not counted");
}

static void test_url_masking(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "https://root:secret@10.0.0.1/rrd_updates?session_id=OpaqueRef:abc&start=1",
		  "https://10.0.0.1/rrd_updates" },
		{ "https://root@10.0.0.1:8443/", "https://10.0.0.1:8443/" },
		{ "https://u:p@ss@host/x", "https://host/x" },
		{ "http://host?session_id=x", "http://host" },
		{ "http://host#frag", "http://host" },
		{ "https://[::1]:443/a/b", "https://[::1]:443/a/b" },
		{ "user:pw@host/path?q", "host/path" },
		/* the URL's last '@' ends the user-info wherever it is: a password holding an
		 * unencoded '/', '?' or '#' ends the authority early, and is hidden all the same */
		{ "https://root:ab/cd@10.0.0.1", "https://10.0.0.1" },
		{ "https://root:pa?ss@10.0.0.1/x?session_id=S", "https://10.0.0.1/x" },
		{ "https://root:pa#ss@10.0.0.1", "https://10.0.0.1" },
		{ "https://root:2024/Spring@10.0.0.1", "https://10.0.0.1" },
		{ "https://host/p@th?x=1", "https://th" },
		{ "https://host/p@th?x=@", "https://" },
		{ "", "" },
		{ NULL, "(null)" },
	};
	char buf[XS_LOG_URL_LEN];
	char small[16];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *r = xs_log_url(buf, sizeof buf, cases[i].in);

		ok(r == buf && strcmp(buf, cases[i].out) == 0, "case %zu: [%s]", i, buf);
	}
	xs_log_url(small, sizeof small, "https://root:pw@averyveryverylonghost/x?s=1");
	ok(strcmp(small, "https://aver...") == 0 && strlen(small) == sizeof small - 1, "cut: [%s]", small);
	xs_log_url(small, 4, "https://x");
	ok(strcmp(small, "...") == 0, "tiny: [%s]", small);
	xs_log_url(small, sizeof small, "https://a:b@cde.f");
	ok(strcmp(small, "https://cde.f") == 0, "fits exactly-ish: [%s]", small);
	ok(strcmp(xs_log_url(small, 0, "x"), "") == 0, "cap 0");
}

int main(void)
{
	TEST_RUN(test_prefixes_on_a_file);
	TEST_RUN(test_minimum_level);
	TEST_RUN(test_one_line_per_message);
	TEST_RUN(test_journal_stream);
	TEST_RUN(test_level_names);
	TEST_RUN(test_rate_limit);
	TEST_RUN(test_url_masking);
	return test_summary();
}
