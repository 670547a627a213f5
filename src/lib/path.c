/*
 * path.c - the parent directory of a path (see path.h).
 */
#include "lib/path.h"

#include <string.h>

size_t xs_path_parent_len(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/') /* "/a/b/" is b in /a */
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n;
}
