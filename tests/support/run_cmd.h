/*
 * run_cmd.h - test support: run a program with given stdin, capture its
 * stdout and stderr, return its exit status. Files live in a private
 * temporary directory removed by run_cmd_cleanup().
 */
#ifndef XS_TEST_RUN_CMD_H
#define XS_TEST_RUN_CMD_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char run_cmd_dir[64];

/* Writes data to a file in the test's temp dir; returns its path (static buffer per call slot). */
__attribute__((unused)) static const char *run_cmd_file(const char *name, const char *data,
							size_t len)
{
	static char paths[8][128];
	static int slot;
	char *path = paths[slot++ % 8];
	FILE *f;

	if (!run_cmd_dir[0]) {
		snprintf(run_cmd_dir, sizeof(run_cmd_dir), "/tmp/xs-test-XXXXXX");
		if (!mkdtemp(run_cmd_dir))
			abort();
	}
	snprintf(path, 128, "%s/%s", run_cmd_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
	return path;
}

static char *run_cmd_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);

	if (!f || !buf)
		abort();
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* execv() wants mutable strings: the child copies argv (at most 31 arguments). */
static void run_cmd_exec(const char *const argv[])
{
	char *copy[32];
	size_t n = 0;

	for (; argv[n] && n < 31; n++)
		copy[n] = strdup(argv[n]);
	copy[n] = NULL;
	execv(copy[0], copy);
}

/* Runs argv with stdin from `in` (may be NULL); *out / *err receive malloc'd text. */
__attribute__((unused)) static int run_cmd(const char *const argv[], const char *in, size_t in_len,
					   char **out, char **errout)
{
	const char *inp = run_cmd_file("stdin", in ? in : "", in ? in_len : 0);
	char outp[128], errp[128];
	int status = -1;
	pid_t pid;

	snprintf(outp, sizeof(outp), "%s/stdout", run_cmd_dir);
	snprintf(errp, sizeof(errp), "%s/stderr", run_cmd_dir);
	pid = fork();
	if (pid == 0) {
		int i = open(inp, O_RDONLY), o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (i < 0 || o < 0 || e < 0)
			_exit(127);
		dup2(i, 0);
		dup2(o, 1);
		dup2(e, 2);
		run_cmd_exec(argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		abort();
	*out = run_cmd_read(outp);
	*errout = run_cmd_read(errp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Path of a program of the build (XS_BIN_DIR, set by tests/run.sh). */
__attribute__((unused)) static const char *run_cmd_bin(const char *name)
{
	static char path[4096];
	const char *dir = getenv("XS_BIN_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/asan", name);
	return path;
}

__attribute__((unused)) static void run_cmd_cleanup(void)
{
	char cmd[160];

	if (run_cmd_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_cmd_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", run_cmd_dir);
	}
}

#endif
