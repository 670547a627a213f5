/*
 * runbench.c - time a command the way the benchmarks in bench/ report it.
 *
 * usage: runbench [-n RUNS] [-i INPUTFILE] -- cmd args...
 *
 * Runs cmd RUNS times (default RUNBENCH_DEFAULT_RUNS), one after the other,
 * each with stdin from INPUTFILE (default /dev/null), stdout to /dev/null and
 * stderr inherited. Each run is timed from just before fork() to the return of
 * wait4() with CLOCK_MONOTONIC, so the figure is the whole process: exec,
 * start-up, reading, exit. The peak RSS is the child's ru_maxrss from wait4()
 * (KiB on Linux). Prints one line:
 *
 *   median_s=M min_s=T max_rss_kib=R
 *
 * M and T are the median and the fastest wall time in seconds, R the largest
 * peak RSS over the runs. A run that exits non-zero or dies of a signal is an
 * error: runbench says which run and exits 1 without printing the line.
 * Exit: 0 ok, 1 a run failed or a system call failed, 2 usage.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNBENCH_DEFAULT_RUNS 5
#define RUNBENCH_MAX_RUNS 1000
#define RUNBENCH_EXIT_EXEC 127 /* child status when exec or a redirection fails */

struct runbench_opts {
	long runs;          /* how many times to run the command */
	const char *input;  /* file opened as the command's stdin */
	char **argv;        /* the command, NULL-terminated */
};

static void runbench_usage(void)
{
	fprintf(stderr, "usage: runbench [-n RUNS] [-i INPUTFILE] -- cmd args...\n");
}

/* Parse the command line into *o; 0 on success. */
static int runbench_parse_args(int argc, char **argv, struct runbench_opts *o)
{
	int i = 1;

	o->runs = RUNBENCH_DEFAULT_RUNS;
	o->input = "/dev/null";
	o->argv = NULL;
	while(i < argc && strcmp(argv[i], "--") != 0) {
		if(strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			char *end;

			errno = 0;
			o->runs = strtol(argv[i + 1], &end, 10);
			if(errno || end == argv[i + 1] || *end || o->runs < 1 ||
			   o->runs > RUNBENCH_MAX_RUNS) {
				fprintf(stderr, "runbench: -n wants 1..%d\n", RUNBENCH_MAX_RUNS);
				return -1;
			}
			i += 2;
		}
		else if(strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
			o->input = argv[i + 1];
			i += 2;
		}
		else {
			return -1;
		}
	}
	if(i + 1 >= argc)
		return -1;
	o->argv = argv + i + 1;
	return 0;
}

static double runbench_seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* In the child: redirect stdin/stdout and exec; never returns. */
static void runbench_child(const struct runbench_opts *o)
{
	int in = open(o->input, O_RDONLY);
	int out = open("/dev/null", O_WRONLY);

	if(in < 0 || out < 0) {
		fprintf(stderr, "runbench: open %s: %s\n", in < 0 ? o->input : "/dev/null",
		        strerror(errno));
		_exit(RUNBENCH_EXIT_EXEC);
	}
	if(dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0) {
		fprintf(stderr, "runbench: dup2: %s\n", strerror(errno));
		_exit(RUNBENCH_EXIT_EXEC);
	}
	close(in);
	close(out);
	execvp(o->argv[0], o->argv);
	fprintf(stderr, "runbench: exec %s: %s\n", o->argv[0], strerror(errno));
	_exit(RUNBENCH_EXIT_EXEC);
}

/* Run the command once; store its wall time and peak RSS. 0 on success. */
static int runbench_once(const struct runbench_opts *o, long run, double *secs, long *rss_kib)
{
	struct timespec t0, t1;
	struct rusage ru;
	int wstatus;
	pid_t pid, got;

	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if(pid < 0) {
		fprintf(stderr, "runbench: fork: %s\n", strerror(errno));
		return -1;
	}
	if(pid == 0)
		runbench_child(o);
	do {
		got = wait4(pid, &wstatus, 0, &ru);
	} while(got < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if(got < 0) {
		fprintf(stderr, "runbench: wait4: %s\n", strerror(errno));
		return -1;
	}
	if(WIFSIGNALED(wstatus)) {
		fprintf(stderr, "runbench: run %ld of %s: killed by signal %d\n", run + 1,
		        o->argv[0], WTERMSIG(wstatus));
		return -1;
	}
	if(!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
		fprintf(stderr, "runbench: run %ld of %s: exit status %d\n", run + 1, o->argv[0],
		        WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
		return -1;
	}
	*secs = runbench_seconds(&t0, &t1);
	*rss_kib = ru.ru_maxrss;
	return 0;
}

static int runbench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct runbench_opts o;
	double *secs = NULL;
	double median;
	long max_rss = 0;
	int status = 1;

	if(runbench_parse_args(argc, argv, &o) != 0) {
		runbench_usage();
		return 2;
	}
	secs = calloc((size_t)o.runs, sizeof(*secs));
	if(!secs) {
		fprintf(stderr, "runbench: out of memory\n");
		goto out;
	}
	for(long r = 0; r < o.runs; r++) {
		long rss = 0;

		if(runbench_once(&o, r, &secs[r], &rss) != 0)
			goto free_secs;
		if(rss > max_rss)
			max_rss = rss;
	}
	qsort(secs, (size_t)o.runs, sizeof(*secs), runbench_cmp_double);
	if(o.runs % 2)
		median = secs[o.runs / 2];
	else
		median = (secs[o.runs / 2 - 1] + secs[o.runs / 2]) / 2;
	printf("median_s=%.6f min_s=%.6f max_rss_kib=%ld\n", median, secs[0], max_rss);
	status = 0;
free_secs:
	free(secs);
out:
	if(fflush(stdout) != 0)
		status = 1;
	return status;
}
