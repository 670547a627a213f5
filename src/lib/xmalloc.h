/*
 * xmalloc.h - allocation for small internal objects: aborts on failure.
 *
 * Sizes driven by a remote peer never come here: they have a hard cap and return
 * XS_ERR_TOO_LARGE / XS_ERR_NOMEM instead (see STYLE.md §14).
 */
#ifndef XS_LIB_XMALLOC_H
#define XS_LIB_XMALLOC_H

#include <stddef.h>

void *xs_xmalloc(size_t size);
void *xs_xcalloc(size_t n, size_t size);
void *xs_xrealloc(void *p, size_t size);
char *xs_xstrndup(const char *s, size_t n);

#endif
