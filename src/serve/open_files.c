/*
 * open_files.c - raising and checking the limit of open files (see open_files.h).
 */
#include "serve/open_files.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

void xs_open_files_raise(struct xs_open_files *res)
{
	struct rlimit rl;
	rlim_t want;

	res->error = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		res->error = errno;
		res->before = res->after = UINT64_MAX;
		return;
	}
	res->before = res->after = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	want = rl.rlim_max;
	if (want == RLIM_INFINITY || (uint64_t)want > XS_OPEN_FILES_CEILING)
		want = (rlim_t)XS_OPEN_FILES_CEILING;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		res->error = errno;
		return;
	}
	res->after = (uint64_t)want;
}

uint64_t xs_open_files_needed(size_t hosts, size_t pools, unsigned connections)
{
	return 2 * (uint64_t)hosts + 2 * (uint64_t)pools + connections + XS_OPEN_FILES_SPARE;
}

uint64_t xs_open_files_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)rl.rlim_cur;
}

uint64_t xs_open_files_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *de;
	uint64_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0; /* less the directory's own descriptor */
}
