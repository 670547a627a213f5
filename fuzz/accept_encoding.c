/*
 * libFuzzer target: Accept-Encoding request headers (src/http/accept_encoding.c,
 * xs_http_accepts_gzip).
 *
 * Invariants, for any header h up to the cap: the answer is the same twice;
 * h + ",gzip" takes gzip and h + ",gzip;q=0" does not (the last weight given
 * counts); a header naming neither gzip nor '*' takes nothing; past
 * XS_ACCEPT_ENCODING_MAX bytes nothing is taken. Any other outcome aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/accept_encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_names_gzip_or_any(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p == '*' || strncasecmp(p, "gzip", 4) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 16);
	bool took;

	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	took = xs_http_accepts_gzip(h);
	if (took != xs_http_accepts_gzip(h))
		abort();
	if (strlen(h) > XS_ACCEPT_ENCODING_MAX && took)
		abort();
	if (took && !fuzz_names_gzip_or_any(h))
		abort();
	if (strlen(h) + 10 <= XS_ACCEPT_ENCODING_MAX) {
		size_t n = strlen(h);

		memcpy(h + n, ",gzip", 6);
		if (!xs_http_accepts_gzip(h))
			abort();
		memcpy(h + n, ",gzip;q=0", 10);
		if (xs_http_accepts_gzip(h))
			abort();
	}
	free(h);
	return 0;
}
