/*
 * path.h - the parent directory of a path, as mkdir(2) and open(2) read it.
 */
#ifndef XS_LIB_PATH_H
#define XS_LIB_PATH_H

#include <stddef.h>

/* Bytes of path that name its parent directory: "/a/b/" and "/a//b" give "/a" (2), "/b"
 * gives "/" (1), "b" gives 0 (the parent is "."). */
size_t xs_path_parent_len(const char *path);

#endif
