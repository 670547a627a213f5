/*
 * num.c - number parsing and formatting (see num.h).
 *
 * Parsing gathers the digits into a uint64 (8 at a time where the machine is
 * little-endian) and a power of ten.
 * When the digits fit 2^53 and the power is within 10^22, one IEEE multiplication
 * or division of two exact doubles is correctly rounded (Clinger 1990); xapi's
 * numbers (at most 17 significant digits, small exponents) nearly always take
 * that path. Anything else is copied into a bounded buffer and given to strtod.
 * xapistat never calls setlocale(), so strtod and printf use the "C" locale.
 */
#include "lib/num.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX_SIG_DIGITS 19         /* decimal digits that always fit a uint64 */
#define NUM_EXACT_MANTISSA (1ULL << 53) /* largest integer every double holds exactly */
#define NUM_MAX_EXP_DIGITS 6          /* exponents beyond 10^999999 are saturated */

const double xs_num_pow10[XS_NUM_POW10_MAX + 1] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int num_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Matches "nan", "inf" or "infinity" (any case) at p. Returns the end, end when the
 * word may continue past the buffer, or NULL. */
static const char *num_parse_word(const char *p, const char *end, bool neg, double *out)
{
	static const char nan_word[] = "nan";
	static const char inf_word[] = "infinity";
	const char *word = num_lower(*p) == 'n' ? nan_word : inf_word;
	size_t wlen = strlen(word);
	size_t i = 0;

	while (i < wlen && p + i < end && num_lower(p[i]) == word[i])
		i++;
	if (p + i == end && i < wlen)
		return end; /* could still become a word */
	if (word == nan_word) {
		if (i != wlen)
			return NULL;
		*out = neg ? -NAN : NAN;
		return p + i;
	}
	if (i != 3 && i != wlen)
		return NULL;
	/* "inf" followed by more of "inity" that stopped early is not a number */
	if (i == 3 && p + i < end && num_lower(p[i]) == 'i')
		return NULL;
	*out = neg ? -INFINITY : INFINITY;
	return p + i;
}

static double num_slow(const char *p, size_t n)
{
	char tmp[XS_NUM_MAX_LEN + 1];

	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return strtod(tmp, NULL);
}

static bool num_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NUM_SWAR 1
#else
#define NUM_SWAR 0
#endif

/* The value of 8 ASCII digits loaded little-endian (first digit in the low byte):
 * pairs, then quads, then the whole, each step a multiply-add of lanes. */
static uint64_t num_eight_value(uint64_t v)
{
	v -= 0x3030303030303030ull;
	v = (v * 10) + (v >> 8);                                  /* 2-digit lanes */
	v = (((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
	     (((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
	return v;
}

static const uint64_t num_pow10_u64[] = {
	1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
};

/* Bytes of v (little-endian) that are digits before the first non-digit, 0..8. */
static unsigned num_leading_digits(uint64_t v)
{
	uint64_t nondigit = ((v & 0xF0F0F0F0F0F0F0F0ull) |
			     (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ^
			    0x3333333333333333ull;

	/* a carry out of a non-digit byte can only disturb bytes above it */
	return nondigit ? (unsigned)__builtin_ctzll(nondigit) / 8 : 8;
}

/*
 * Gathers the digits at *s into *mant (wrapping silently past 19 digits: the
 * caller counts them and takes the slow path then). Returns how many. Where
 * 8 bytes can be read, digits are taken 8 at a time and the last 1..7 of a
 * run in one step, their bytes shifted up and padded with '0'.
 */
static inline __attribute__((always_inline)) size_t num_digits(const char **s, const char *end,
							      uint64_t *mant)
{
	const char *p = *s;
	uint64_t m = *mant;
	size_t n;

	if (NUM_SWAR) {
		while (end - p >= 8) {
			uint64_t v;
			unsigned k;

			memcpy(&v, p, sizeof(v));
			k = num_leading_digits(v);
			if (k == 8) {
				m = m * 100000000u + num_eight_value(v);
				p += 8;
				continue;
			}
			if (k) {
				v = (v << (8 * (8 - k))) | (0x3030303030303030ull >> (8 * k));
				m = m * num_pow10_u64[k] + num_eight_value(v);
				p += k;
			}
			goto done;
		}
	}
	while (p < end && num_is_digit(*p))
		m = m * 10 + (uint64_t)(*p++ - '0');
done:
	*mant = m;
	n = (size_t)(p - *s);
	*s = p;
	return n;
}

const char *xs_num_parse(const char *p, const char *end, double *out)
{
	const char *s = p;
	uint64_t mant = 0;
	size_t ndigits, nfrac = 0;
	long exp10 = 0;
	bool neg = false;

	if (s == end)
		return end;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
		if (s == end)
			return end;
	}
	if (num_lower(*s) == 'n' || num_lower(*s) == 'i')
		return num_parse_word(s, end, neg, out);

	ndigits = num_digits(&s, end, &mant);
	if (s < end && *s == '.') {
		s++;
		nfrac = num_digits(&s, end, &mant);
		ndigits += nfrac;
	}
	if (!ndigits)
		return s == end ? end : NULL;
	if (s < end && (*s == 'e' || *s == 'E')) {
		long e = 0;
		int edigits = 0;
		bool eneg = false;

		s++;
		if (s < end && (*s == '-' || *s == '+')) {
			eneg = *s == '-';
			s++;
		}
		for (; s < end && num_is_digit(*s); s++, edigits++)
			if (edigits < NUM_MAX_EXP_DIGITS)
				e = e * 10 + (*s - '0');
		if (s == end)
			return end;
		if (!edigits)
			return NULL;
		exp10 = eneg ? -e : e;
	}
	if (s == end)
		return end;
	if ((size_t)(s - p) > XS_NUM_MAX_LEN)
		return NULL;
	exp10 -= (long)nfrac;

	/* Exact digits (19 fit a uint64, leading zeros included) and an exact
	 * power of ten: one correctly rounded IEEE operation. */
	if (ndigits <= NUM_MAX_SIG_DIGITS && mant <= NUM_EXACT_MANTISSA) {
		double v = (double)mant;

		if (mant == 0) {
			*out = neg ? -0.0 : 0.0;
			return s;
		}
		if (exp10 >= -22 && exp10 <= 22) {
			v = exp10 < 0 ? v / xs_num_pow10[-exp10] : v * xs_num_pow10[exp10];
			*out = neg ? -v : v;
			return s;
		}
		if (exp10 > 22 && exp10 <= 22 + 15) {
			double w = v * xs_num_pow10[exp10 - 22]; /* exact while below 2^53 */
			if (w <= (double)NUM_EXACT_MANTISSA) {
				w *= 1e22;
				*out = neg ? -w : w;
				return s;
			}
		}
	}
	*out = num_slow(p, (size_t)(s - p));
	return s;
}

const char *xs_num_parse_i64(const char *p, const char *end, int64_t *out)
{
	const char *s = p;
	uint64_t v = 0;
	uint64_t limit;
	bool neg = false;

	if (s == end)
		return end;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (s == end)
		return end;
	if (!num_is_digit(*s))
		return NULL;
	for (; s < end && num_is_digit(*s); s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (limit - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (s == end)
		return end;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return s;
}

bool xs_num_from_slice(const char *s, size_t n, double *out)
{
	/* A complete slice: parse it as if a delimiter followed. */
	char tmp[XS_NUM_MAX_LEN + 2];

	if (n == 0 || n > XS_NUM_MAX_LEN)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = ' ';
	return xs_num_parse(tmp, tmp + n + 1, out) == tmp + n;
}

bool xs_num_i64_from_slice(const char *s, size_t n, int64_t *out)
{
	char tmp[32];

	if (n == 0 || n >= sizeof(tmp) - 1)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = ' ';
	return xs_num_parse_i64(tmp, tmp + n + 1, out) == tmp + n;
}

size_t xs_num_format(char *buf, size_t cap, double v)
{
	int n = 0;

	if (isnan(v))
		return (size_t)snprintf(buf, cap, "NaN");
	if (isinf(v))
		return (size_t)snprintf(buf, cap, v < 0 ? "-Infinity" : "Infinity");
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	return n < 0 ? 0 : (size_t)n;
}

/* "00" .. "99": two digits per division (the replies' numbers are mostly 6 to 9 digits). */
static const char num_pairs[201] = "00010203040506070809101112131415161718192021222324"
				   "25262728293031323334353637383940414243444546474849"
				   "50515253545556575859606162636465666768697071727374"
				   "75767778798081828384858687888990919293949596979899";

size_t xs_num_utoa(uint64_t v, char *out)
{
	size_t n = 1;
	char *p;

	/* the digit count first, so the digits go straight to out, from the end (no copy:
	 * a libc memcpy of a few bytes was a tenth of a number's time) */
	for (uint64_t ten = 10; n < 20 && v >= ten; ten *= 10) /* 2^64 has 20 digits */
		n++;
	p = out + n;
	while (v >= 100) {
		p -= 2;
		memcpy(p, num_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, num_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return n;
}
