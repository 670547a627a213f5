/*
 * store_codec.h - the bit-level codecs of the store (format in docs/STORE.md):
 * CRC-32C, and the Gorilla-style block encoding of one series' points.
 *
 * A block holds up to XS_BLOCK_MAX_POINTS points of one tier, ascending in
 * time, each with 1 channel (5 s tier: the sample) or 3 (avg, min, max).
 * Times are stored as delta-of-delta in units of the tier step (one bit per
 * point at a regular step); each channel's float32 bits are XORed with the
 * previous value of that channel and written as leading/trailing-zero windows
 * (one bit for a repeated value). The block header (on disk) carries t0, the
 * number of points and the channel count; the payload is only the bit stream.
 *
 * The encoder state lives in struct xs_block, which callers may put anywhere:
 * zero it with xs_block_init() before use and release with xs_block_cleanup().
 * Fields are read by the store; they MUST NOT be changed except through this API.
 */
#ifndef XS_STORE_CODEC_H
#define XS_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_BLOCK_MAX_POINTS 4096 /* hard cap a decoder accepts (windows hold 120 or fewer) */
#define XS_BLOCK_MAX_CH 3        /* avg, min, max */

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t xs_crc32c(uint32_t crc, const void *p, size_t len);

/* A growable bit stream, MSB first, kept zeroed beyond nbits. Zero-fill to start. */
struct xs_bits {
	uint8_t *buf;  /* owned; free() it */
	size_t nbits;  /* bits written */
	size_t cap;    /* bytes allocated */
};
/* Appends the low n (<= 64) bits of v. Aborts on out-of-memory. */
void xs_bits_put(struct xs_bits *w, uint64_t v, unsigned n);

/* Reads a bit stream of nbits bits at p. */
struct xs_bitr {
	const uint8_t *p;
	size_t nbits;  /* total */
	size_t pos;    /* next bit */
};
/* Reads n (<= 64) bits into *out; false (and nothing read) past the end. */
bool xs_bitr_get(struct xs_bitr *r, unsigned n, uint64_t *out);

struct xs_block {
	int64_t t0;                       /* time of the first point */
	int64_t tlast;                    /* time of the last point */
	int64_t dprev;                    /* previous delta, in steps */
	int64_t step;                     /* seconds per step of the tier */
	uint32_t n;                       /* points so far */
	uint8_t nch;                      /* channels per point: 1 or 3 */
	uint8_t lead[XS_BLOCK_MAX_CH];    /* previous XOR window (lead 0xff: none) */
	uint8_t trail[XS_BLOCK_MAX_CH];
	uint32_t vprev[XS_BLOCK_MAX_CH];  /* previous value bits of each channel */
	struct xs_bits bits;              /* the payload; owned */
};

/* Prepares b for a new block of nch channels at tier step seconds. */
void xs_block_init(struct xs_block *b, int64_t step, unsigned nch);
/* Frees b's buffer (b may be reused after xs_block_init). */
void xs_block_cleanup(struct xs_block *b);
/* Appends the point at t (after tlast, a multiple of step) with nch values. */
void xs_block_put(struct xs_block *b, int64_t t, const float *v);
/* Bytes of the payload (nbits rounded up). */
size_t xs_block_bytes(const struct xs_block *b);

/*
 * Decodes a payload of len bytes holding n points of nch channels starting at
 * t0 with step seconds. Writes at most cap points into t[] and v[] (nch values
 * per point, v[i * nch + c]). Returns the number of points decoded (n), or -1
 * if the payload is malformed (runs out of bits, time not ascending, n or nch
 * out of range). Never reads outside p[0..len).
 */
long xs_block_decode(const uint8_t *p, size_t len, int64_t t0, int64_t step, unsigned n,
		     unsigned nch, int64_t *t, float *v, size_t cap);

#endif
