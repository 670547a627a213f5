/*
 * bench/proc_status.h - a figure of this process from /proc/self/status, for
 * the benches that report their own memory (store_bench.c, store_churn.c).
 */
#ifndef XS_BENCH_PROC_STATUS_H
#define XS_BENCH_PROC_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A line of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable. */
static inline long bench_status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

#endif
