/*
 * xmalloc.c - aborting allocators for small internal objects.
 */
#include "lib/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xmalloc_die(size_t size)
{
	fprintf(stderr, "xapistat: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xs_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		xmalloc_die(size);
	return p;
}

void *xs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		xmalloc_die(n * size);
	return p;
}

void *xs_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q)
		xmalloc_die(size);
	return q;
}

char *xs_xstrndup(const char *s, size_t n)
{
	char *d = xs_xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}
