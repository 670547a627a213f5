/*
 * num.c - number parsing and formatting (see num.h).
 *
 * Parsing gathers up to 19 significant digits into a uint64 and a power of ten.
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

#define NUM_MAX_SIG_DIGITS 19         /* significant digits that fit a uint64 */
#define NUM_EXACT_MANTISSA (1ULL << 53) /* largest integer every double holds exactly */
#define NUM_MAX_EXP_DIGITS 6          /* exponents beyond 10^999999 are saturated */

static const double num_pow10[] = {
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

const char *xs_num_parse(const char *p, const char *end, double *out)
{
	const char *s = p;
	uint64_t mant = 0;
	int sig = 0;         /* significant digits gathered into mant */
	long exp10 = 0;      /* value = mant * 10^exp10 (when nothing was dropped) */
	bool dropped = false; /* a non-zero digit did not fit mant */
	bool any = false;
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

	for (; s < end && num_is_digit(*s); s++) {
		any = true;
		if (sig < NUM_MAX_SIG_DIGITS) {
			mant = mant * 10 + (uint64_t)(*s - '0');
			if (mant)
				sig++;
		} else {
			exp10++;
			dropped |= *s != '0';
		}
	}
	if (s < end && *s == '.') {
		s++;
		for (; s < end && num_is_digit(*s); s++) {
			any = true;
			if (sig < NUM_MAX_SIG_DIGITS) {
				mant = mant * 10 + (uint64_t)(*s - '0');
				exp10--;
				if (mant)
					sig++;
			} else {
				dropped |= *s != '0';
			}
		}
	}
	if (!any)
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
		exp10 += eneg ? -e : e;
	}
	if (s == end)
		return end;
	if ((size_t)(s - p) > XS_NUM_MAX_LEN)
		return NULL;

	if (!dropped && mant <= NUM_EXACT_MANTISSA) {
		double v = (double)mant;

		if (mant == 0) {
			*out = neg ? -0.0 : 0.0;
			return s;
		}
		if (exp10 >= -22 && exp10 <= 22) {
			v = exp10 < 0 ? v / num_pow10[-exp10] : v * num_pow10[exp10];
			*out = neg ? -v : v;
			return s;
		}
		if (exp10 > 22 && exp10 <= 22 + 15) {
			double w = v * num_pow10[exp10 - 22]; /* exact while below 2^53 */
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
