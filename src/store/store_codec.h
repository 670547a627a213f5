/*
 * store_codec.h - the bit-level codecs of the store (format in docs/STORE.md):
 * CRC-32C, and the Gorilla-style block encoding of one series' points.
 *
 * A block holds up to XS_BLOCK_MAX_POINTS points of one tier, ascending in
 * time, each with 1 channel (5 s tier: the sample) or 3 (avg, min, max).
 *
 * Times: a block whose points are all one step apart (the usual case) spends
 * no bit on them: the flag XS_BLOCK_IRREGULAR is clear. Otherwise the payload
 * starts with a time stream (delta-of-delta codes, padded to a byte).
 * Values: per channel, a repeat of the previous value costs 1 bit, +0.0
 * costs 3, a min or max equal to the point's avg 3; any other value is the
 * 32-bit difference of its bit pattern from the channel's last non-zero value
 * (zig-zag, "ulp distance"), written with an adaptive bit length: float32
 * noise of width W costs about log2(W) + 3 bits, where XOR codes spend 5-8
 * more. Every bit pattern (NaN payloads, ±Inf, -0.0) round-trips exactly.
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
#define XS_BLOCK_MAX_STEP 86400  /* seconds per step, at most (the 1 d tier) */
#define XS_BLOCK_MAX_GAP INT32_MAX /* steps between two points of a block, at most */

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
uint32_t xs_crc32c(uint32_t crc, const void *p, size_t len);

/* A growable bit stream, MSB first, kept zeroed beyond nbits. Zero-fill to start. */
struct xs_bits {
	uint8_t *buf;    /* owned; free() it */
	uint32_t nbits;  /* bits written (a block's stream stays far below 2^32) */
	uint32_t cap;    /* bytes allocated */
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

#define XS_BLOCK_IRREGULAR 0x80 /* flags: the payload begins with a time stream */
#define XS_BLOCK_NCH_MASK 0x0f  /* flags: the channel count */
#define XS_BLOCK_MIN_SHIFT 4    /* trailing zero bits a new delta window starts dropping */

struct xs_block {
	int64_t t0;                       /* time of the first point */
	int64_t tlast;                    /* time of the last point */
	struct xs_bits bits;              /* the value stream; owned */
	struct xs_bits *tbits;            /* the time stream, NULL while regular; owned */
	int32_t dprev;                    /* previous delta in steps (time stream) */
	int32_t step;                     /* seconds per step of the tier */
	uint16_t n;                       /* points so far */
	uint8_t nch;                      /* channels per point: 1 or 3 */
	uint32_t prev[XS_BLOCK_MAX_CH];   /* previous value bits of each channel */
	uint32_t ref[XS_BLOCK_MAX_CH];    /* last non-zero value bits: the delta base */
	uint8_t w[XS_BLOCK_MAX_CH];       /* bit-length window of each channel's deltas */
	uint8_t sh[XS_BLOCK_MAX_CH];      /* trailing zero bits the window drops */
	uint8_t low[XS_BLOCK_MAX_CH];     /* deltas in a row well under the window */
	uint8_t ctx[XS_BLOCK_MAX_CH];     /* 1: the last code was a delta */
};

/*
 * Prepares b for a new block of nch channels at tier step seconds (1 to
 * XS_BLOCK_MAX_STEP; buffers kept). The struct is 88 bytes: one per open 5 s and
 * 1 min block of every series, so its size is the store's memory (2 x 660k of them at
 * 20,000 VMs).
 */
void xs_block_init(struct xs_block *b, int64_t step, unsigned nch);
/* Frees b's buffers (b may be reused after xs_block_init). */
void xs_block_cleanup(struct xs_block *b);
/* Appends the point at t (after tlast by a multiple of step, at most
 * XS_BLOCK_MAX_GAP steps; XS_BLOCK_MAX_POINTS points in all) with nch values. */
void xs_block_put(struct xs_block *b, int64_t t, const float *v);
/* Bytes of the payload xs_block_payload writes. */
size_t xs_block_bytes(const struct xs_block *b);
/* The flags byte of the block: nch, and XS_BLOCK_IRREGULAR when it has a time stream. */
unsigned xs_block_flags(const struct xs_block *b);
/* Writes the payload (xs_block_bytes(b) bytes) to out, which the caller provides. */
void xs_block_payload(const struct xs_block *b, uint8_t *out);
/* The payload in place when it is b's value stream alone (a regular block: the usual
 * case), valid until b's next put, shrink or cleanup; NULL when it has a time stream
 * too (then xs_block_payload() joins the two). */
const uint8_t *xs_block_payload_view(const struct xs_block *b);
/* Gives back the slack of b's buffers (for blocks that stay in memory a while). */
void xs_block_shrink(struct xs_block *b);

/*
 * Decodes a payload of len bytes holding n points starting at t0 with step
 * seconds; flags is xs_block_flags() of the encoder (channel count and
 * XS_BLOCK_IRREGULAR). Writes at most cap points into t[] and v[] (nch values
 * per point, v[i * nch + c]). Returns the number of points decoded (n), or -1
 * if the payload is malformed (runs out of bits, time not ascending, n or nch
 * out of range). Never reads outside p[0..len).
 */
long xs_block_decode(const uint8_t *p, size_t len, int64_t t0, int64_t step, unsigned n,
		     unsigned flags, int64_t *t, float *v, size_t cap);

#endif
