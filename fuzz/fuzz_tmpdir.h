/*
 * fuzz_tmpdir.h - the scratch directory of the fuzz targets that need files
 * (a store, a web root): one per process, made once under /dev/shm (else
 * $TMPDIR, else /tmp) as xs-fuzz-TAG-XXXXXX, emptied between inputs by the
 * target when it wants, and removed with everything in it at exit (libFuzzer's
 * time is up). A run that crashes leaves it behind, with the input.
 * Included by the target (one .c per target); everything here is static.
 */
#ifndef XS_FUZZ_TMPDIR_H
#define XS_FUZZ_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[256];

static int fuzz_tmpdir_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0 && remove(path) != 0)
		abort();
	return 0;
}

/* Removes everything in fuzz_dir (symbolic links themselves, not what they name). */
__attribute__((unused)) static void fuzz_tmpdir_empty(void)
{
	if (nftw(fuzz_dir, fuzz_tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS) != 0)
		abort();
}

static void fuzz_tmpdir_cleanup(void)
{
	nftw(fuzz_dir, fuzz_tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(fuzz_dir);
}

/* Makes fuzz_dir for tag the first time (later calls do nothing); aborts when it cannot. */
static void fuzz_tmpdir_make(const char *tag)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	if (fuzz_dir[0])
		return;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/xs-fuzz-%s-XXXXXX", base ? base : "/tmp", tag);
	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_tmpdir_cleanup);
}

#endif
