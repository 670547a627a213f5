/*
 * Tests of src/serve/open_files.c: the soft limit of open files is raised to
 * the hard one (a limit of 64 becomes the hard limit, capped), a soft limit
 * already at the hard one stays, and the need of an estate counts two
 * descriptors a host and a pool, the API's connections and the spare. Each
 * case runs in a child, whose limits die with it.
 */
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve/open_files.h"
#include "test.h"

/* Runs fn in a child with RLIMIT_NOFILE (soft, hard); true if it exited 0. */
static bool in_child(rlim_t soft, rlim_t hard, int (*fn)(rlim_t soft, rlim_t hard))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(90);
		_exit(fn(soft, hard));
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static int raised(rlim_t soft, rlim_t hard)
{
	struct xs_open_files of;
	uint64_t want = hard > XS_OPEN_FILES_CEILING ? XS_OPEN_FILES_CEILING : hard;

	xs_open_files_raise(&of);
	if (of.error || of.before != soft)
		return 1;
	if (of.after != want || xs_open_files_limit() != want)
		return 2;
	return 0;
}

static int kept(rlim_t soft, rlim_t hard)
{
	struct xs_open_files of;

	(void)hard;
	xs_open_files_raise(&of);
	return of.error || of.before != soft || of.after != soft || xs_open_files_limit() != soft;
}

static void test_raise(void)
{
	struct rlimit rl;

	fail_unless(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= 64) {
		ok(1, "hard limit %llu: nothing to raise", (unsigned long long)rl.rlim_max);
		return;
	}
	ok(in_child(64, rl.rlim_max, raised), "a soft limit of 64 is raised to the hard one");
	ok(in_child(48, 64, raised), "to a hard limit below the ceiling");
	ok(in_child(64, 64, kept), "a soft limit at the hard one stays");
}

static void test_needed(void)
{
	ok(xs_open_files_needed(0, 0, 0) == XS_OPEN_FILES_SPARE, "nothing: the spare");
	ok(xs_open_files_needed(1000, 20, 1024) == 2000 + 40 + 1024 + XS_OPEN_FILES_SPARE,
	   "1,000 hosts in 20 pools and 1,024 connections");
}

/* The count follows the descriptors opened and closed (the listing's own not counted). */
static void test_count(void)
{
	uint64_t before = xs_open_files_count();
	int fds[10];

	ok(before >= 3, "stdin, stdout, stderr at least: %llu", (unsigned long long)before);
	for (int i = 0; i < 10; i++)
		fds[i] = dup(2);
	ok(xs_open_files_count() == before + 10, "10 more: %llu after %llu",
	   (unsigned long long)xs_open_files_count(), (unsigned long long)before);
	for (int i = 0; i < 10; i++)
		close(fds[i]);
	ok(xs_open_files_count() == before, "closed again: %llu", (unsigned long long)xs_open_files_count());
}

int main(void)
{
	TEST_RUN(test_raise);
	TEST_RUN(test_needed);
	TEST_RUN(test_count);
	return test_summary();
}
