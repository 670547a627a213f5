/*
 * rrd_numfmt.c - xapi's number formats without printf (see rrd_numfmt.h).
 *
 * Why not snprintf: xapi-sim writes every value of 1,000 hosts' documents
 * each 5 s, and glibc's "%0.15g" costs a few hundred ns per value. Here a
 * finite non-zero double v = m * 2^e (m an integer) is turned into the exact
 * integer D = round_half_even(|v| * 10^s) with 128-bit arithmetic, which is
 * what printf computes from the exact binary value. That holds for any double
 * whose m * 5^|s| and shifts fit 127 bits; anything else (huge or subnormal
 * values, extreme exponents) goes to snprintf, so the output always equals
 * printf's.
 *
 * "%0.Pg": X = the decimal exponent of v after rounding to P digits; the
 * digits of D = round(|v| * 10^(P-1-X)) are printed in exponent form when
 * X < -4 or X >= P, else in fixed form, trailing zeros (and a bare '.')
 * removed. "%0.4f": D = round(|v| * 10^4), printed as D/10^4 "." D%10^4.
 */
#include "rrd/rrd_numfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef unsigned __int128 numfmt_u128;

#define NUMFMT_MAX_POW5 54     /* 5^54 < 2^126: the largest power of 5 used */
#define NUMFMT_POW5_U64 27     /* 5^27 is the largest power of 5 in a uint64_t */
#define NUMFMT_BITS 127        /* headroom kept below 128 bits */
#define NUMFMT_F4_DIGITS 4

static const uint64_t numfmt_pow10[] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
};

static const uint64_t numfmt_pow5_tab[NUMFMT_POW5_U64 + 1] = {
	1ull, 5ull, 25ull, 125ull,
	625ull, 3125ull, 15625ull, 78125ull,
	390625ull, 1953125ull, 9765625ull, 48828125ull,
	244140625ull, 1220703125ull, 6103515625ull, 30517578125ull,
	152587890625ull, 762939453125ull, 3814697265625ull, 19073486328125ull,
	95367431640625ull, 476837158203125ull, 2384185791015625ull, 11920928955078125ull,
	59604644775390625ull, 298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull,
};

static numfmt_u128 numfmt_pow5(int k)
{
	numfmt_u128 r;

	if (k <= NUMFMT_POW5_U64)
		return numfmt_pow5_tab[k];
	r = numfmt_pow5_tab[NUMFMT_POW5_U64];
	return r * numfmt_pow5_tab[k - NUMFMT_POW5_U64];
}

static int numfmt_bits(numfmt_u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;

	if (hi)
		return 128 - __builtin_clzll(hi);
	return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* |v| = m * 2^e, m odd; false for zero, subnormal, NaN, infinity. */
static bool numfmt_split(double v, uint64_t *m, int *e)
{
	uint64_t bits;
	int exp_field, tz;

	memcpy(&bits, &v, sizeof(bits));
	exp_field = (int)((bits >> 52) & 0x7ff);
	if (exp_field == 0 || exp_field == 0x7ff)
		return false;
	*m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	*e = exp_field - 1075;
	tz = __builtin_ctzll(*m);
	*m >>= tz;
	*e += tz;
	return true;
}

/* *out = round_half_even(m * 2^e * 10^s); false when it does not fit. */
static bool numfmt_scaled(uint64_t m, int e, int s, uint64_t *out)
{
	numfmt_u128 num = m, den = 1, q, r;
	int bin = e + s;

	if (s > NUMFMT_MAX_POW5 || s < -NUMFMT_MAX_POW5)
		return false;
	if (s >= 0) {
		numfmt_u128 p = numfmt_pow5(s);

		if (numfmt_bits(num) + numfmt_bits(p) > NUMFMT_BITS)
			return false;
		num *= p;
	} else {
		den = numfmt_pow5(-s);
	}
	if (bin >= 0) {
		if (numfmt_bits(num) + bin > NUMFMT_BITS)
			return false;
		num <<= bin;
	} else if (den == 1) {
		/* dividing by a power of two: shifts, not a 128-bit division */
		int k = -bin;
		numfmt_u128 half;

		if (k >= NUMFMT_BITS)
			return false;
		q = num >> k;
		r = num & (((numfmt_u128)1 << k) - 1);
		half = (numfmt_u128)1 << (k - 1);
		if (r > half || (r == half && (q & 1)))
			q++;
		goto done;
	} else {
		if (numfmt_bits(den) - bin > NUMFMT_BITS - 1)
			return false;
		den <<= -bin;
	}
	q = num / den;
	r = num - q * den;
	if (2 * r > den || (2 * r == den && (q & 1)))
		q++;
done:
	if (q > UINT64_MAX)
		return false;
	*out = (uint64_t)q;
	return true;
}

/* Writes the decimal digits of x (at least `width`, zero-padded) at p. */
static size_t numfmt_u64(char *p, uint64_t x, int width)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + x % 10);
		x /= 10;
	} while (x || (int)n < width);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

size_t xs_rrd_i64_format(char *buf, int64_t v)
{
	size_t n = 0;
	uint64_t u = (uint64_t)v;

	if (v < 0) {
		buf[n++] = '-';
		u = 0 - u;
	}
	n += numfmt_u64(buf + n, u, 1);
	buf[n] = '\0';
	return n;
}

static size_t numfmt_f4(char *buf, double v, uint64_t m, int e)
{
	uint64_t d;
	size_t n = 0;

	if (!numfmt_scaled(m, e, NUMFMT_F4_DIGITS, &d))
		return 0;
	if (v < 0)
		buf[n++] = '-';
	n += numfmt_u64(buf + n, d / numfmt_pow10[NUMFMT_F4_DIGITS], 1);
	buf[n++] = '.';
	n += numfmt_u64(buf + n, d % numfmt_pow10[NUMFMT_F4_DIGITS], NUMFMT_F4_DIGITS);
	buf[n] = '\0';
	return n;
}

/* The P digits of d (10^(P-1) <= d < 10^P) with exponent x, as "%.Pg" does. */
static size_t numfmt_g_digits(char *buf, bool neg, uint64_t d, int p, int x)
{
	char dig[24];
	size_t n = 0;
	int nd = p;

	numfmt_u64(dig, d, p);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (neg)
		buf[n++] = '-';
	if (x < -4 || x >= p) {
		buf[n++] = dig[0];
		if (nd > 1) {
			buf[n++] = '.';
			memcpy(buf + n, dig + 1, (size_t)nd - 1);
			n += (size_t)nd - 1;
		}
		buf[n++] = 'e';
		buf[n++] = x < 0 ? '-' : '+';
		n += numfmt_u64(buf + n, (uint64_t)(x < 0 ? -x : x), 2);
	} else if (x >= 0) {
		int ip = x + 1; /* digits before the point, all within dig[] since x < p */

		memcpy(buf + n, dig, (size_t)ip);
		n += (size_t)ip;
		if (nd > ip) {
			buf[n++] = '.';
			memcpy(buf + n, dig + ip, (size_t)(nd - ip));
			n += (size_t)(nd - ip);
		}
	} else {
		buf[n++] = '0';
		buf[n++] = '.';
		for (int i = 0; i < -x - 1; i++)
			buf[n++] = '0';
		memcpy(buf + n, dig, (size_t)nd);
		n += (size_t)nd;
	}
	buf[n] = '\0';
	return n;
}

static size_t numfmt_g(char *buf, double v, uint64_t m, int e, int p)
{
	int b = e + numfmt_bits(m) - 1; /* 2^b <= |v| < 2^(b+1) */
	int x = (b * 78913) >> 18;      /* floor(b * log10(2)): X or X - 1 */

	for (int tries = 0; tries < 3; tries++) {
		uint64_t d;

		if (!numfmt_scaled(m, e, p - 1 - x, &d))
			return 0;
		if (d >= numfmt_pow10[p]) {
			x++;
			continue;
		}
		if (d < numfmt_pow10[p - 1]) {
			x--;
			continue;
		}
		return numfmt_g_digits(buf, v < 0, d, p, x);
	}
	return 0;
}

size_t xs_rrd_num_format(char *buf, double v, enum xs_rrd_numfmt f)
{
	uint64_t m;
	int e, n;
	size_t len = 0;

	if (f != XS_NUMFMT_F4 && f != XS_NUMFMT_G5)
		f = XS_NUMFMT_G15;
	if (isnan(v)) {
		memcpy(buf, "NaN", 4);
		return 3;
	}
	if (isinf(v)) {
		if (v > 0) {
			memcpy(buf, "Infinity", 9);
			return 8;
		}
		memcpy(buf, "-Infinity", 10);
		return 9;
	}
	if (v == 0) {
		memcpy(buf, "0.0", 4);
		return 3;
	}
	if (numfmt_split(v, &m, &e)) {
		if (f == XS_NUMFMT_F4)
			len = numfmt_f4(buf, v, m, e);
		else
			len = numfmt_g(buf, v, m, e, f == XS_NUMFMT_G5 ? 5 : 15);
		if (len)
			return len;
	}
	/* outside the exact integer range: printf itself (literal formats, -Wformat=2) */
	if (f == XS_NUMFMT_F4)
		n = snprintf(buf, XS_RRD_NUM_LEN, "%0.4f", v);
	else if (f == XS_NUMFMT_G5)
		n = snprintf(buf, XS_RRD_NUM_LEN, "%0.5g", v);
	else
		n = snprintf(buf, XS_RRD_NUM_LEN, "%0.15g", v);
	return n < 0 ? 0 : (size_t)n;
}
