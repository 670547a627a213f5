/*
 * gzip_pull.c - gzip over a pulled body (see gzip_pull.h).
 *
 * Each call fills the caller's whole buffer from deflate (the inner body is
 * made on demand, so there is nothing to wait for), feeding it XS_GZIP_PULL_IN
 * bytes of the inner body whenever its input runs dry, and Z_FINISH once the
 * inner body has ended. So a call returns 0 bytes only when the gzip stream is
 * complete, as the server reads 0 as "end".
 */
#include "http/gzip_pull.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "lib/xmalloc.h"

#define GZ_WINDOW_BITS (15 + 16) /* a 32 KiB window, with the gzip header and trailer */
#define GZ_MEM_LEVEL 8           /* zlib's default */

struct xs_gzip_pull {
	xs_http_pull_cb pull;
	xs_http_pull_free_cb free_arg;
	void *arg;
	z_stream z;
	bool inner_done; /* the inner body returned its end */
	bool done;       /* deflate returned Z_STREAM_END */
	unsigned char in[XS_GZIP_PULL_IN];
};

struct xs_gzip_pull *xs_gzip_pull_new(xs_http_pull_cb pull, xs_http_pull_free_cb free_arg,
				      void *arg)
{
	struct xs_gzip_pull *g = xs_xcalloc(1, sizeof(*g));

	g->pull = pull;
	g->free_arg = free_arg;
	g->arg = arg;
	if (deflateInit2(&g->z, XS_GZIP_PULL_LEVEL, Z_DEFLATED, GZ_WINDOW_BITS, GZ_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		if (free_arg)
			free_arg(arg);
		free(g);
		return NULL;
	}
	return g;
}

enum xs_err xs_gzip_pull(void *gz, char *buf, size_t max, size_t *n)
{
	struct xs_gzip_pull *g = gz;
	/* zlib's avail_out is 32 bits: a larger max is clamped, and *n counted against that */
	uInt cap = max > UINT32_MAX ? UINT32_MAX : (uInt)max;

	*n = 0;
	if (g->done || max == 0)
		return XS_OK;
	g->z.next_out = (unsigned char *)buf;
	g->z.avail_out = cap;
	while (g->z.avail_out > 0 && !g->done) {
		int rc;

		if (g->z.avail_in == 0 && !g->inner_done) {
			size_t got = 0;
			enum xs_err e = g->pull(g->arg, (char *)g->in, sizeof(g->in), &got);

			if (e)
				return e;
			if (got > sizeof(g->in))
				return XS_ERR_ARG;
			g->inner_done = got == 0;
			g->z.next_in = g->in;
			g->z.avail_in = (uInt)got;
		}
		rc = deflate(&g->z, g->inner_done ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			g->done = true;
		else if (rc == Z_MEM_ERROR)
			return XS_ERR_NOMEM;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			return XS_ERR_IO;
	}
	*n = cap - g->z.avail_out;
	return XS_OK;
}

void xs_gzip_pull_free(void *gz)
{
	struct xs_gzip_pull *g = gz;

	if (!g)
		return;
	deflateEnd(&g->z);
	if (g->free_arg)
		g->free_arg(g->arg);
	free(g);
}
