/*
 * shared_file.h - test support: reading a file of ../shared (the XAPI samples
 * and fixtures beside the project; tests/run.sh sets XS_SHARED_DIR to it).
 *
 * Ownership: shared_path() returns a static buffer (valid until the next call);
 * file_slurp() and shared_slurp() return a malloc'd, NUL-terminated copy the
 * caller frees, or NULL when the file cannot be read (a test then says which).
 */
#ifndef XS_TEST_SHARED_FILE_H
#define XS_TEST_SHARED_FILE_H

#include <stdio.h>
#include <stdlib.h>

/* Path of rel under XS_SHARED_DIR (default ../shared). */
__attribute__((unused)) static const char *shared_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("XS_SHARED_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "../shared", rel);
	return path;
}

/* The whole file at path, NUL-terminated, its length in *len; NULL if it cannot be read. */
__attribute__((unused)) static char *file_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* file_slurp() of rel under ../shared. */
__attribute__((unused)) static char *shared_slurp(const char *rel, size_t *len)
{
	return file_slurp(shared_path(rel), len);
}

#endif
