/*
 * open_files.h - the daemon's limit of open files (RLIMIT_NOFILE).
 *
 * Every live host holds up to two connections (its 5 s fetch and a backfill
 * download), every pool two more (its event.from call and its other calls),
 * and the API up to XS_HTTP_DEFAULT_MAX_CONNECTIONS. The soft limit a shell
 * or systemd gives a service is 1,024 while the hard one is far higher
 * (systemd: 524,288), so `xapistat serve` raises its soft limit to the hard one
 * at start, as servers of many connections do. A limit still too low (a hard
 * limit an admin set) makes connections fail with libcurl's "Couldn't connect
 * to server", which names no cause: the daemon compares the limit with what
 * its estate needs and logs a warning that does.
 *
 * Only epoll is used (src/lib/evloop.c, MHD_USE_EPOLL, libcurl's socket
 * callback), so descriptors above FD_SETSIZE are safe.
 */
#ifndef XS_SERVE_OPEN_FILES_H
#define XS_SERVE_OPEN_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the soft limit is never raised past this (a hard limit of "unlimited" cannot be set) */
#define XS_OPEN_FILES_CEILING (UINT64_C(1) << 20)
/* descriptors besides connections: the store's files, logs, the loop's, libcurl's resolver */
#define XS_OPEN_FILES_SPARE 128

/* What xs_open_files_raise did. */
struct xs_open_files {
	uint64_t before; /* the soft limit found */
	uint64_t after;  /* the soft limit now */
	int error;       /* errno of a getrlimit/setrlimit that failed, else 0 */
};

/* Raises the soft RLIMIT_NOFILE to the hard one (at most XS_OPEN_FILES_CEILING). */
void xs_open_files_raise(struct xs_open_files *res);

/* The descriptors an estate of `hosts` hosts in `pools` pools needs, with the API's `connections`. */
uint64_t xs_open_files_needed(size_t hosts, size_t pools, unsigned connections);

/* The soft limit now (UINT64_MAX when unlimited or unknown). */
uint64_t xs_open_files_limit(void);

/* The descriptors open now (the entries of /proc/self/fd), 0 when they cannot be listed.
 * For the self-metrics: an admin can watch it come near the limit. */
uint64_t xs_open_files_count(void);

#endif
