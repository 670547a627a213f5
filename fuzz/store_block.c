/*
 * libFuzzer target: the store's block decoder (src/store/store_codec.c), the
 * part of the segment loader that interprets payload bits.
 * Input: u8 flags (channels (b % 3) + 1, XS_BLOCK_IRREGULAR from bit 7), u16 LE
 * point count, payload.
 * Invariants: never reads outside the payload, returns -1 or exactly n points,
 * times strictly ascending; re-encoding a decoded block decodes to the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t t[XS_BLOCK_MAX_POINTS], t2[XS_BLOCK_MAX_POINTS];
	static float v[XS_BLOCK_MAX_POINTS * 3], v2[XS_BLOCK_MAX_POINTS * 3];
	unsigned nch, n, flags;
	uint8_t *copy;
	long got;

	if (size < 3)
		return 0;
	nch = (data[0] & 0x7f) % 3 + 1;
	flags = nch | (data[0] & XS_BLOCK_IRREGULAR);
	n = (unsigned)(data[1] | data[2] << 8) % (XS_BLOCK_MAX_POINTS + 2);
	copy = malloc(size > 3 ? size - 3 : 1); /* an exact-size heap copy: ASan sees any overread */
	memcpy(copy, data + 3, size - 3);
	got = xs_block_decode(copy, size - 3, 1000, 5, n, flags, t, v, XS_BLOCK_MAX_POINTS);
	if (got >= 0) {
		struct xs_block b = { 0 };

		if ((unsigned long)got != n)
			abort();
		xs_block_init(&b, 5, nch);
		for (long i = 0; i < got; i++) {
			if (i && t[i] <= t[i - 1])
				abort();
			xs_block_put(&b, t[i], &v[i * nch]);
		}
		free(copy);
		copy = malloc(xs_block_bytes(&b) ? xs_block_bytes(&b) : 1);
		xs_block_payload(&b, copy);
		if (xs_block_decode(copy, xs_block_bytes(&b), 1000, 5, n, xs_block_flags(&b), t2, v2,
				    XS_BLOCK_MAX_POINTS) != got ||
		    memcmp(t, t2, (size_t)got * sizeof(*t)) || memcmp(v, v2, (size_t)got * nch * 4))
			abort();
		xs_block_cleanup(&b);
	}
	free(copy);
	return 0;
}
