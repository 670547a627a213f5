/*
 * store_codec.c - CRC-32C and the block codec (see store_codec.h).
 *
 * Time stream (only when XS_BLOCK_IRREGULAR): the first point is t0 (in the
 * block header); each next point writes dod = delta - previous delta (in
 * steps; the previous delta starts at 1):
 *   '0'                dod == 0
 *   '10'   + 7 bits    -64 .. 63
 *   '110'  + 12 bits   -2048 .. 2047
 *   '1110' + 20 bits
 *   '1111' + 64 bits   anything else
 * The stream is padded to a byte; the value stream follows.
 * Value stream: per point, per channel c, the float32 bits u. Each channel has
 * a context: after a delta (below) the tree starts '0' delta, '10' repeat;
 * after anything else (and at the start) '0' repeat, '10' delta. Then:
 *   repeat             u == the channel's previous value (all start at 0)
 *   delta + w bits     d = u - ref (mod 2^32), ref = the channel's last
 *                      non-zero value (starts at 0), z = zig-zag(d >> sh)
 *                      (arithmetic shift); fits when the sh low bits of d
 *                      are 0 and z < 2^w: the w bits of z. After
 *                      CODEC_LOW_RUN deltas in a row two bits or more under
 *                      w, w narrows by one.
 *   '110'              u == +0.0
 *   '1110' + 5 bits b - 1 + 5 bits sh + b - 1 bits   a delta that does not
 *                      fit: sh = the trailing zeros of d when at least
 *                      XS_BLOCK_MIN_SHIFT (integers stored as floats), else 0,
 *                      b = the bit length of z = zig-zag(d >> sh), the bits
 *                      are z below its top bit; the new window is (b, sh),
 *                      except when ref was 0 (a first value says nothing
 *                      about the noise: the window stays)
 *   '1111'  (c == 0)   u == ref
 *   '11110' (c > 0)    u == ref
 *   '11111' (c > 0)    u == channel 0 of the point (a min or max equal to the avg)
 * A non-zero u becomes the channel's ref. The decoder checks every read
 * against the payload length, so a corrupt block can only decode to garbage
 * (which its CRC already rejected) or -1.
 */
#include "store/store_codec.h"

#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

static uint32_t codec_crc_table[8][256];
static int codec_crc_ready;

static void codec_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		codec_crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			codec_crc_table[k][i] = (codec_crc_table[k - 1][i] >> 8) ^
						codec_crc_table[0][codec_crc_table[k - 1][i] & 0xff];
	codec_crc_ready = 1;
}

#if defined(__x86_64__)
/* The SSE4.2 instruction: about 10 times the table's speed. */
__attribute__((target("sse4.2"))) static uint32_t codec_crc32c_hw(uint32_t crc, const uint8_t *s,
								  size_t len)
{
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		c = __builtin_ia32_crc32di(c, w);
		s += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *s++);
	return ~(uint32_t)c;
}
#endif

/* Slicing-by-8 (about 1.5 GB/s) where the CPU has no CRC32C instruction. */
uint32_t xs_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *s = p;

#if defined(__x86_64__)
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (hw)
		return codec_crc32c_hw(crc, s, len);
#endif
	if (!codec_crc_ready)
		codec_crc_init();
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
				     (uint32_t)s[3] << 24);
		crc = codec_crc_table[7][lo & 0xff] ^ codec_crc_table[6][(lo >> 8) & 0xff] ^
		      codec_crc_table[5][(lo >> 16) & 0xff] ^ codec_crc_table[4][lo >> 24] ^
		      codec_crc_table[3][s[4]] ^ codec_crc_table[2][s[5]] ^ codec_crc_table[1][s[6]] ^
		      codec_crc_table[0][s[7]];
		s += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ codec_crc_table[0][(crc ^ *s++) & 0xff];
	return ~crc;
}

void xs_block_init(struct xs_block *b, int64_t step, unsigned nch)
{
	struct xs_bits bits = b->bits, *tbits = b->tbits;

	memset(b, 0, sizeof(*b));
	if (bits.buf)
		memset(bits.buf, 0, bits.cap);
	b->bits.buf = bits.buf;
	b->bits.cap = bits.cap;
	if (tbits) { /* kept, emptied: a block irregular once tends to be again */
		if (tbits->buf)
			memset(tbits->buf, 0, tbits->cap);
		tbits->nbits = 0;
		b->tbits = tbits;
	}
	b->step = (int32_t)step;
	b->nch = (uint8_t)nch;
	b->dprev = 1;
}

static void codec_bits_free(struct xs_bits **w)
{
	if (*w)
		free((*w)->buf);
	free(*w);
	*w = NULL;
}

void xs_block_cleanup(struct xs_block *b)
{
	free(b->bits.buf);
	memset(&b->bits, 0, sizeof(b->bits));
	codec_bits_free(&b->tbits);
	b->n = 0;
}

static size_t codec_bytes(const struct xs_bits *w)
{
	return (w->nbits + 7) / 8;
}

/* Whether b has a time stream (some point was not one step after the one before). */
static bool codec_irregular(const struct xs_block *b)
{
	return b->tbits && b->tbits->nbits;
}

size_t xs_block_bytes(const struct xs_block *b)
{
	return (codec_irregular(b) ? codec_bytes(b->tbits) : 0) + codec_bytes(&b->bits);
}

unsigned xs_block_flags(const struct xs_block *b)
{
	return b->nch | (codec_irregular(b) ? XS_BLOCK_IRREGULAR : 0u);
}

const uint8_t *xs_block_payload_view(const struct xs_block *b)
{
	return codec_irregular(b) ? NULL : b->bits.buf;
}

void xs_block_payload(const struct xs_block *b, uint8_t *out)
{
	size_t tb = codec_irregular(b) ? codec_bytes(b->tbits) : 0;

	if (tb)
		memcpy(out, b->tbits->buf, tb);
	if (b->bits.nbits)
		memcpy(out + tb, b->bits.buf, codec_bytes(&b->bits));
}

static void codec_shrink(struct xs_bits *w)
{
	size_t need = codec_bytes(w);

	if (!w->buf || need == w->cap)
		return;
	if (!need) {
		free(w->buf);
		memset(w, 0, sizeof(*w));
		return;
	}
	w->buf = xs_xrealloc(w->buf, need);
	w->cap = (uint32_t)need;
}

void xs_block_shrink(struct xs_block *b)
{
	codec_shrink(&b->bits);
	if (b->tbits && !b->tbits->nbits)
		codec_bits_free(&b->tbits);
	else if (b->tbits)
		codec_shrink(b->tbits);
}

/*
 * Grows by an eighth (at least 24 bytes): the open blocks of every series are
 * most of the store's memory, and at a window's end (when all of them are full
 * at once: the memory peak) a buffer holds at most an eighth more than its
 * bits; growing by half left a fifth unused on average. The buffer always has
 * 8 bytes of room past the last written byte, so up to 56 bits go in with one
 * 64-bit big-endian read-modify-write.
 */
void xs_bits_put(struct xs_bits *b, uint64_t v, unsigned n)
{
	size_t byte;
	unsigned used;
	uint64_t w;

	if (n > 56) {
		xs_bits_put(b, v >> 32, n - 32);
		xs_bits_put(b, v & 0xffffffffu, 32);
		return;
	}
	if (!n)
		return;
	if (((b->nbits + n) >> 3) + 8 > b->cap) {
		size_t cap = b->cap + b->cap / 8 + 24;

		while (((b->nbits + n) >> 3) + 8 > cap)
			cap += cap / 8 + 24;
		if (cap > UINT32_MAX / 8)
			abort(); /* 512 MiB in one block: a caller bug, never data */
		b->buf = xs_xrealloc(b->buf, cap);
		memset(b->buf + b->cap, 0, cap - b->cap);
		b->cap = (uint32_t)cap;
	}
	v &= ((uint64_t)1 << n) - 1;
	byte = b->nbits >> 3;
	used = (unsigned)(b->nbits & 7);
	memcpy(&w, b->buf + byte, 8);
	w = __builtin_bswap64(w) | (v << (64 - used - n));
	w = __builtin_bswap64(w);
	memcpy(b->buf + byte, &w, 8);
	b->nbits += n;
}

static uint32_t codec_fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

#define CODEC_LOW_RUN 8 /* deltas two bits under the window in a row before it narrows */

/* Puts the first two codes of the channel's tree: after a delta the delta comes first
 * ('0' delta, '10' repeat), after anything else the repeat ('0' repeat, '10' delta). */
static void codec_put_head(struct xs_block *b, unsigned c, bool delta)
{
	bool first_delta = b->ctx[c];

	xs_bits_put(&b->bits, delta == first_delta ? 0 : 2, delta == first_delta ? 1 : 2);
}

static uint32_t codec_zz(uint32_t d, unsigned sh)
{
	uint32_t q = (uint32_t)((int32_t)d >> sh);

	return (q << 1) ^ (uint32_t)-(int32_t)(q >> 31);
}

static unsigned codec_len(uint32_t z)
{
	return z ? 32 - (unsigned)__builtin_clz(z) : 0;
}

/* d != 0: u - ref. A delta off ref 0 (the channel's first non-zero value) sets no
 * window: it says nothing about the noise. */
static void codec_put_delta(struct xs_block *b, unsigned c, uint32_t d, bool from_zero)
{
	unsigned sh = b->sh[c], w = b->w[c], len, tz = (unsigned)__builtin_ctz(d);
	uint32_t z;

	if (w && tz >= sh && codec_len(codec_zz(d, sh)) <= w) {
		z = codec_zz(d, sh);
		codec_put_head(b, c, true);
		xs_bits_put(&b->bits, z, w);
		len = codec_len(z);
		if (len + 2 <= w && ++b->low[c] == CODEC_LOW_RUN) {
			b->w[c]--;
			b->low[c] = 0;
		} else if (len + 2 > w) {
			b->low[c] = 0;
		}
		b->ctx[c] = 1;
		return;
	}
	/* a new window: small trailing-zero runs are not worth a shift that the next value
	 * may break; integers stored as floats have long ones */
	sh = tz >= XS_BLOCK_MIN_SHIFT ? tz : 0;
	z = codec_zz(d, sh);
	len = codec_len(z);
	xs_bits_put(&b->bits, 14, 4); /* '1110' */
	xs_bits_put(&b->bits, len - 1, 5);
	xs_bits_put(&b->bits, sh, 5);
	xs_bits_put(&b->bits, z, len - 1);
	if (!from_zero) {
		b->sh[c] = (uint8_t)sh;
		b->w[c] = (uint8_t)len;
	}
	b->low[c] = 0;
	b->ctx[c] = 1;
}

static void codec_put_value(struct xs_block *b, unsigned c, uint32_t u, uint32_t avg)
{
	uint32_t d;

	if (u == b->prev[c]) {
		codec_put_head(b, c, false);
		b->ctx[c] = 0;
		return;
	}
	b->prev[c] = u;
	if (!u) {
		xs_bits_put(&b->bits, 6, 3); /* '110' */
		b->ctx[c] = 0;
		return;
	}
	if (u == b->ref[c]) {
		xs_bits_put(&b->bits, c ? 30 : 15, c ? 5 : 4); /* '1111', '11110' */
		b->ctx[c] = 0;
		return;
	}
	if (c && u == avg) {
		xs_bits_put(&b->bits, 31, 5); /* '11111' */
		b->ref[c] = u;
		b->ctx[c] = 0;
		return;
	}
	d = u - b->ref[c];
	codec_put_delta(b, c, d, !b->ref[c]);
	b->ref[c] = u;
}

static void codec_put_dod(struct xs_bits *w, int64_t dod)
{
	if (dod == 0) {
		xs_bits_put(w, 0, 1);
	} else if (dod >= -64 && dod < 64) {
		xs_bits_put(w, 2, 2);
		xs_bits_put(w, (uint64_t)dod, 7);
	} else if (dod >= -2048 && dod < 2048) {
		xs_bits_put(w, 6, 3);
		xs_bits_put(w, (uint64_t)dod, 12);
	} else if (dod >= -(1 << 19) && dod < (1 << 19)) {
		xs_bits_put(w, 14, 4);
		xs_bits_put(w, (uint64_t)dod, 20);
	} else {
		xs_bits_put(w, 15, 4);
		xs_bits_put(w, (uint64_t)dod, 64);
	}
}

void xs_block_put(struct xs_block *b, int64_t t, const float *v)
{
	uint32_t avg = codec_fbits(v[0]);

	if (b->n == 0) {
		b->t0 = t;
	} else {
		int64_t d = (t - b->tlast) / b->step;

		if (d != 1 && !codec_irregular(b)) { /* the first irregular point: earlier ones were regular */
			if (!b->tbits)
				b->tbits = xs_xcalloc(1, sizeof(*b->tbits));
			for (uint32_t i = 1; i < b->n; i++)
				xs_bits_put(b->tbits, 0, 1);
		}
		if (codec_irregular(b) || d != 1)
			codec_put_dod(b->tbits, d - b->dprev);
		b->dprev = (int32_t)d;
	}
	b->tlast = t;
	for (unsigned c = 0; c < b->nch; c++)
		codec_put_value(b, c, codec_fbits(v[c]), avg);
	b->n++;
}
/* xs_bitr_get without moving on (peek) or with (take); inline for the decoder's loop. */
static inline bool codec_peek(const struct xs_bitr *r, unsigned n, uint64_t *out)
{
	uint64_t v = 0;

	if (n > r->nbits - r->pos)
		return false;
	if (n && n <= 56 && (r->pos >> 3) + 8 <= (r->nbits + 7) >> 3) {
		/* 8 whole bytes from the one holding pos: n bits in one big-endian read */
		uint64_t w;

		memcpy(&w, r->p + (r->pos >> 3), 8);
		w = __builtin_bswap64(w) << (r->pos & 7);
		*out = w >> (64 - n);
		return true;
	}
	for (size_t pos = r->pos; n;) { /* near the end of the stream, or n > 56: a byte at a time */
		unsigned used = (unsigned)(pos & 7);
		unsigned room = 8 - used;
		unsigned take = n < room ? n : room;
		unsigned byte = r->p[pos >> 3];

		v = (v << take) | ((byte >> (room - take)) & ((1u << take) - 1));
		pos += take;
		n -= take;
	}
	*out = v;
	return true;
}

static inline bool codec_take(struct xs_bitr *r, unsigned n, uint64_t *out)
{
	if (!codec_peek(r, n, out))
		return false;
	r->pos += n;
	return true;
}

bool xs_bitr_get(struct xs_bitr *r, unsigned n, uint64_t *out)
{
	return codec_take(r, n, out);
}

/* Sign-extends the low n bits of v. */
static int64_t codec_sext(uint64_t v, unsigned n)
{
	uint64_t m = (uint64_t)1 << (n - 1);

	return (int64_t)((v ^ m) - m);
}

static bool codec_get_dod(struct xs_bitr *r, int64_t *dod)
{
	static const unsigned widths[4] = { 7, 12, 20, 64 };
	uint64_t bit, v;
	unsigned k = 0;

	for (;;) {
		if (!codec_take(r, 1, &bit))
			return false;
		if (!bit)
			break;
		if (++k == 4)
			break;
	}
	if (k == 0) {
		*dod = 0;
		return true;
	}
	if (!codec_take(r, widths[k - 1], &v))
		return false;
	*dod = widths[k - 1] == 64 ? (int64_t)v : codec_sext(v, widths[k - 1]);
	return true;
}

struct codec_ch {
	uint32_t prev, ref;
	uint8_t w, sh, low, ctx;
};

static bool codec_get_delta(struct xs_bitr *r, struct codec_ch *ch, bool escape)
{
	uint64_t len, z, shift;
	unsigned sh = ch->sh;
	uint32_t q;

	if (escape) {
		if (!codec_take(r, 5, &len) || !codec_take(r, 5, &shift))
			return false;
		len++;
		if (!codec_take(r, (unsigned)len - 1, &z))
			return false;
		z |= (uint64_t)1 << (len - 1);
		sh = (unsigned)shift;
		if (ch->ref) {
			ch->w = (uint8_t)len;
			ch->sh = (uint8_t)shift;
		}
		ch->low = 0;
	} else {
		if (!ch->w || !codec_take(r, ch->w, &z) || !z)
			return false;
		len = 64 - (unsigned)__builtin_clzll(z);
		if (len + 2 <= ch->w && ++ch->low == CODEC_LOW_RUN) {
			ch->w--;
			ch->low = 0;
		} else if (len + 2 > ch->w) {
			ch->low = 0;
		}
	}
	q = ((uint32_t)z >> 1) ^ (uint32_t)-(int32_t)(z & 1);
	ch->prev = ch->ref + (q << sh);
	ch->ref = ch->prev;
	ch->ctx = 1;
	return true;
}

/* The 1s a value's code begins with, before its 0 or at most 4 ('1111' has no 0),
 * read with one peek; false when the stream ends first. */
static inline bool codec_get_ones(struct xs_bitr *r, unsigned *ones)
{
	static const uint8_t lead[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4 };
	size_t left = r->nbits - r->pos;
	unsigned k = left < 4 ? (unsigned)left : 4;
	uint64_t w;

	if (!k || !codec_peek(r, k, &w))
		return false;
	*ones = lead[(w << (4 - k)) & 15];
	if (*ones >= k && k < 4) /* 1s up to the end: the code is cut */
		return false;
	r->pos += *ones < 4 ? *ones + 1 : 4;
	return true;
}

static bool codec_get_value(struct xs_bitr *r, unsigned c, struct codec_ch *ch, uint32_t avg)
{
	uint64_t b1;
	unsigned ones;

	if (!codec_get_ones(r, &ones))
		return false;
	switch (ones) {
	case 0: /* '0': the first of the context; a repeat keeps ctx 0 */
		return ch->ctx ? codec_get_delta(r, ch, false) : true;
	case 1: /* '10': the second */
		if (!ch->ctx)
			return codec_get_delta(r, ch, false);
		ch->ctx = 0;
		return true;
	case 2: /* '110' */
		ch->prev = 0;
		ch->ctx = 0;
		return true;
	case 3: /* '1110' */
		return codec_get_delta(r, ch, true);
	default:
		break;
	}
	ch->ctx = 0;
	if (!c) { /* '1111' */
		ch->prev = ch->ref;
		return ch->prev != 0;
	}
	if (!codec_take(r, 1, &b1))
		return false;
	ch->prev = b1 ? avg : ch->ref;
	ch->ref = ch->prev;
	return ch->prev != 0;
}

long xs_block_decode(const uint8_t *p, size_t len, int64_t t0, int64_t step, unsigned n,
		     unsigned flags, int64_t *t, float *v, size_t cap)
{
	struct xs_bitr tr = { p, len * 8, 0 }, r;
	struct codec_ch ch[XS_BLOCK_MAX_CH];
	unsigned nch = flags & XS_BLOCK_NCH_MASK;
	bool irregular = flags & XS_BLOCK_IRREGULAR;
	int64_t tc = t0, d = 1;

	if (n == 0 || n > XS_BLOCK_MAX_POINTS || nch == 0 || nch > XS_BLOCK_MAX_CH || step <= 0 ||
	    (flags & ~(unsigned)(XS_BLOCK_IRREGULAR | XS_BLOCK_NCH_MASK)) || len > SIZE_MAX / 8)
		return -1;
	memset(ch, 0, sizeof(ch));
	if (irregular) { /* the times first, to find where the values begin */
		for (unsigned i = 1; i < n; i++) {
			int64_t dod;

			if (!codec_get_dod(&tr, &dod))
				return -1;
			if (dod > (int64_t)1 << 40 || dod < -((int64_t)1 << 40))
				return -1;
			d += dod;
			if (d <= 0 || d > XS_BLOCK_MAX_GAP || d > ((int64_t)1 << 40) / step)
				return -1;
			tc += d * step;
			if (i < cap)
				t[i] = tc;
		}
		tr.pos = (tr.pos + 7) & ~(size_t)7;
	} else {
		if ((int64_t)n > (((int64_t)1 << 40) / step))
			return -1;
		for (unsigned i = 1; i < n && i < cap; i++)
			t[i] = t0 + (int64_t)i * step;
	}
	if (cap)
		t[0] = t0;
	r = (struct xs_bitr){ p + tr.pos / 8, len * 8 - tr.pos, 0 };
	for (unsigned i = 0; i < n; i++) {
		for (unsigned c = 0; c < nch; c++)
			if (!codec_get_value(&r, c, &ch[c], ch[0].prev))
				return -1;
		if (i < cap)
			for (unsigned c = 0; c < nch; c++)
				memcpy(&v[i * nch + c], &ch[c].prev, sizeof(float));
	}
	return (long)n;
}
