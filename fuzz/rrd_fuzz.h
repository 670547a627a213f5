/*
 * rrd_fuzz.h - the libFuzzer driver shared by the RRD reader targets.
 *
 * Invariant checked on every input: reading it in one piece and reading it in
 * chunks whose sizes come from a generator seeded by the input give the same
 * recording of callbacks, the same result and the same error text; an error
 * always names its byte offset. Any difference aborts (a finding).
 * A target defines RRD_FUZZ_CLASS (a parser class, or NULL for detection)
 * and includes this file.
 */
#ifndef XS_FUZZ_RRD_FUZZ_H
#define XS_FUZZ_RRD_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/rrd_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data;
	enum xs_err rc1, rc2;
	char err1[XS_ERR_LEN], err2[XS_ERR_LEN];
	unsigned seed = 0;
	char *whole, *split;

	for (size_t i = 0; i < size && i < 16; i++)
		seed = seed * 31 + data[i];
	whole = rec_read(RRD_FUZZ_CLASS, doc, size, 0, &rc1, err1);
	split = rec_read_random(RRD_FUZZ_CLASS, doc, size, seed, 1 + seed % 97, &rc2, err2);
	if (rc1 != rc2 || strcmp(whole, split) || strcmp(err1, err2))
		abort();
	if (rc1 != XS_OK && strncmp(err1, "byte ", 5))
		abort();
	free(whole);
	free(split);
	return 0;
}

#endif
