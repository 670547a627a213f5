/*
 * floor_memchr.c - the "floor" of the issue-2 benchmark (bench/rrd_readers.sh).
 *
 * Reads FILE (or stdin for "-") with read() in FLOOR_CHUNK pieces into one
 * reused buffer and counts the '<' bytes with repeated memchr() calls, the way
 * a scanner looking for the next tag would, then prints the count. This is the
 * least any process reading the document must do: read every byte and look at
 * it once. `xapistat rrd2csv --summary` is meant to stay within 1.5x of it.
 *
 * usage: floor_memchr FILE|-
 * Output: one line, the number of '<' bytes. Exit: 0 ok, 1 I/O error, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLOOR_CHUNK (1024 * 1024) /* bytes per read() */

/* Count '<' in (p, len) one memchr() hop at a time, as a tag scanner would. */
static unsigned long long floor_count_lt(const char *p, size_t len)
{
	const char *end = p + len;
	unsigned long long n = 0;

	for(;;) {
		const char *hit = memchr(p, '<', (size_t)(end - p));

		if(!hit)
			break;
		n++;
		p = hit + 1;
	}
	return n;
}

/* Read fd to its end; on success store the count in *count and return 0. */
static int floor_scan_fd(int fd, const char *name, unsigned long long *count)
{
	char *buf = malloc(FLOOR_CHUNK);
	unsigned long long n = 0;
	int result = -1;

	if(!buf) {
		fprintf(stderr, "floor_memchr: out of memory\n");
		goto out;
	}
	for(;;) {
		ssize_t got = read(fd, buf, FLOOR_CHUNK);

		if(got < 0) {
			if(errno == EINTR)
				continue;
			fprintf(stderr, "floor_memchr: read %s: %s\n", name, strerror(errno));
			goto free_buf;
		}
		if(got == 0)
			break;
		n += floor_count_lt(buf, (size_t)got);
	}
	*count = n;
	result = 0;
free_buf:
	free(buf);
out:
	return result;
}

int main(int argc, char **argv)
{
	unsigned long long count = 0;
	int fd = STDIN_FILENO;
	int status = 1;

	if(argc != 2) {
		fprintf(stderr, "usage: floor_memchr FILE|-\n");
		return 2;
	}
	if(strcmp(argv[1], "-") != 0) {
		fd = open(argv[1], O_RDONLY);
		if(fd < 0) {
			fprintf(stderr, "floor_memchr: open %s: %s\n", argv[1], strerror(errno));
			goto out;
		}
	}
	if(floor_scan_fd(fd, argv[1], &count) != 0)
		goto close_fd;
	printf("%llu\n", count);
	status = 0;
close_fd:
	if(fd != STDIN_FILENO)
		close(fd);
out:
	if(fflush(stdout) != 0)
		status = 1;
	return status;
}
