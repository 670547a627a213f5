/*
 * tmp_dir.h - test support: a fresh directory under /tmp for one test's files
 * ("/tmp/xs-NAME-XXXXXX"), and its removal with everything in it.
 *
 * Ownership: the caller's buffer (TMP_DIR_LEN bytes) holds the path. Limits:
 * tmp_dir_new() aborts when mkdtemp fails (a test without its directory
 * proves nothing); tmp_dir_remove() only reports a failure.
 */
#ifndef XS_TEST_TMP_DIR_H
#define XS_TEST_TMP_DIR_H

#include <stdio.h>
#include <stdlib.h>

#define TMP_DIR_LEN 64

__attribute__((unused)) static void tmp_dir_new(char *dir, const char *name)
{
	snprintf(dir, TMP_DIR_LEN, "/tmp/xs-%s-XXXXXX", name);
	if (!mkdtemp(dir))
		abort();
}

__attribute__((unused)) static void tmp_dir_remove(const char *dir)
{
	char cmd[TMP_DIR_LEN + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

#endif
