/*
 * prom_number.c - numbers as /metrics writes them (prom_number.h): exact
 * shortest round-trip decimals without printf in the common case.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "query/prom_number.h"

/* v's digits and a NUL. */
static size_t prom_u64(char *buf, uint64_t v)
{
	size_t n = xs_num_utoa(v, buf);

	buf[n] = '\0';
	return n;
}

static size_t prom_ndigits(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Writes digits m (no trailing zeros) with decimal exponent e (of its first digit). */
static size_t prom_digits(char *buf, uint64_t m, int e)
{
	char d[24];
	size_t nd = prom_u64(d, m), n = 0, i;

	if (e >= 0 && e < 16) {
		for (i = 0; i < nd || (int)i <= e; i++) {
			if ((int)i == e + 1)
				buf[n++] = '.';
			buf[n++] = i < nd ? d[i] : '0';
		}
	} else if (e < 0 && e >= -5) {
		buf[n++] = '0';
		buf[n++] = '.';
		for (i = 0; (int)i < -e - 1; i++)
			buf[n++] = '0';
		memcpy(buf + n, d, nd);
		n += nd;
	} else {
		buf[n++] = d[0];
		if (nd > 1) {
			buf[n++] = '.';
			memcpy(buf + n, d + 1, nd - 1);
			n += nd - 1;
		}
		n += (size_t)snprintf(buf + n, 8, "e%+03d", e);
	}
	buf[n] = '\0';
	return n;
}

/*
 * The shortest decimal that reads back (strtof) as f, into buf (>= 48 bytes);
 * "+Inf"/"-Inf"; never called with NaN. Integers below 1e16 print as
 * integers. The candidate of p significant digits is checked in double
 * arithmetic (exact scale up to 1e22, one rounding each way): a candidate
 * that fails only costs one more digit; past that range (|f| under about
 * 1e-14 or over 1e22) snprintf("%.Pg") + strtof find it, slowly.
 */
size_t prom_float(char *buf, float f)
{
	double d = f;
	size_t n = 0;
	int e10;

	if (isinf(f))
		return (size_t)snprintf(buf, 8, "%s", f < 0 ? "-Inf" : "+Inf");
	if (d < 0) {
		buf[n++] = '-';
		d = -d;
		f = -f;
	}
	if (d < 1e16 && d == floor(d))
		return n + prom_u64(buf + n, (uint64_t)d);
	e10 = (int)floor(log10(d));
	for (int p = 1; p <= 9; p++) {
		int k = p - 1 - e10;
		double m, back;

		if (k > XS_NUM_POW10_MAX || k < -XS_NUM_POW10_MAX)
			break;
		m = k >= 0 ? nearbyint(d * xs_num_pow10[k]) : nearbyint(d / xs_num_pow10[-k]);
		back = k >= 0 ? m / xs_num_pow10[k] : m * xs_num_pow10[-k];
		if ((float)back != f)
			continue;
		uint64_t mi = (uint64_t)m;
		int e = (int)prom_ndigits(mi) - 1 - k; /* exact even when log10 was off by one */

		while (mi && mi % 10 == 0)
			mi /= 10;
		return n + prom_digits(buf + n, mi, e);
	}
	/* beyond 1e±22 of scale (tiny or huge values): the slow, exact way */
	for (int p = 1; p <= 9; p++) {
		snprintf(buf + n, 40, "%.*g", p, d);
		if (strtof(buf + n, NULL) == f)
			break;
	}
	return n + strlen(buf + n);
}

/* A double (self-metrics): integers as such, else the shortest round-trip %g. */
size_t prom_double(char *buf, double d)
{
	if (fabs(d) < 1e15 && d == floor(d))
		return (size_t)snprintf(buf, 32, "%lld", (long long)d);
	return xs_num_format(buf, XS_NUM_FMT_LEN, d);
}
