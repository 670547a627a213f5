/*
 * gzip_pull.h - a pulled reply body (xs_http_pull_cb) compressed with gzip as
 * it is sent, for clients whose Accept-Encoding takes it (accept_encoding.h).
 *
 * The wrapper owns the inner body: xs_gzip_pull_free() calls the inner
 * free_arg once. Memory: a zlib deflate state (~270 KiB at the settings used)
 * plus XS_GZIP_PULL_IN bytes of input, whatever the body's length. Level 1,
 * the fastest: a /metrics body compresses about 7.5:1 at ~5 ns of CPU per
 * input byte (docs/BENCHMARKS.md). An error of the inner pull is passed on (the server
 * cuts the reply); so is a zlib failure, as XS_ERR_NOMEM or XS_ERR_IO.
 */
#ifndef XS_HTTP_GZIP_PULL_H
#define XS_HTTP_GZIP_PULL_H

#include "http/server.h"

#define XS_GZIP_PULL_IN (64u * 1024) /* input bytes asked of the inner body at a time */
#define XS_GZIP_PULL_LEVEL 1         /* zlib level */

struct xs_gzip_pull;

/* A gzip body over (pull, free_arg, arg), or NULL when zlib cannot start (out of
 * memory); either way arg is taken over (free_arg(arg) has run on NULL). */
struct xs_gzip_pull *xs_gzip_pull_new(xs_http_pull_cb pull, xs_http_pull_free_cb free_arg,
				      void *arg);

/* The xs_http_pull_cb and xs_http_pull_free_cb of a struct xs_gzip_pull. */
enum xs_err xs_gzip_pull(void *gz, char *buf, size_t max, size_t *n);
void xs_gzip_pull_free(void *gz);

#endif
