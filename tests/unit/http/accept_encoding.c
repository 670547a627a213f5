/*
 * Tests of src/http/accept_encoding.c: a table of Accept-Encoding headers and
 * whether each takes gzip (RFC 9110 12.5.3: weights, "*", case, malformed
 * elements ignored, the length cap).
 */
#include <stdlib.h>
#include <string.h>

#include "http/accept_encoding.h"
#include "test.h"

static void test_table(void)
{
	static const struct {
		const char *in;
		bool gzip;
		const char *note;
	} cases[] = {
		{ "gzip", true, "gzip alone" },
		{ "gzip, deflate, br", true, "curl --compressed, browsers" },
		{ "GZip", true, "case-insensitive" },
		{ "x-gzip", true, "x-gzip is gzip" },
		{ "deflate, gzip;q=0.5", true, "weighted" },
		{ "gzip ; q=1.000", true, "white space, three decimals" },
		{ "gzip;Q=0.001", true, "the smallest positive weight" },
		{ "gzip;q=0", false, "refused" },
		{ "gzip;q=0.000", false, "refused, three decimals" },
		{ "*;q=0.1, gzip;q=0", false, "refused explicitly, * does not bring it back" },
		{ "*", true, "any coding" },
		{ "identity, *;q=0.5", true, "any, weighted" },
		{ "*;q=0", false, "any refused" },
		{ "identity", false, "identity only" },
		{ "deflate, br", false, "others only" },
		{ "", false, "empty" },
		{ " , ,", false, "empty elements" },
		{ "gzip;q=0, gzip", true, "the last weight counts" },
		{ "gzip, x-gzip;q=0", false, "x-gzip's weight is gzip's" },
		{ "gzip;q=1.5", false, "weight above 1: malformed, ignored" },
		{ "gzip;q=1.001", false, "weight above 1 by a decimal" },
		{ "gzip;q=0.0001", false, "four decimals" },
		{ "gzip;q=", false, "empty weight" },
		{ "gzip;q=abc", false, "not a number" },
		{ "gzip;level=9", false, "an unknown parameter" },
		{ "gzip;q=1;q=0", false, "two parameters" },
		{ "gz ip", false, "a space inside the name" },
		{ "gzip\x01", false, "a control byte" },
		{ "gzip;q=0.5, *;q=0", true, "gzip listed wins over *" },
		{ "br;q=1, gzip;q=0.2, deflate", true, "gzip among others" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(xs_http_accepts_gzip(cases[i].in) == cases[i].gzip, "%s: \"%s\" -> %s", cases[i].note,
		   cases[i].in, cases[i].gzip ? "gzip" : "none");
	ok(!xs_http_accepts_gzip(NULL), "no header: none");
}

/* A header over XS_ACCEPT_ENCODING_MAX bytes is not looked at; one at the cap is. */
static void test_cap(void)
{
	char *h = malloc(XS_ACCEPT_ENCODING_MAX + 2);

	fail_unless(h != NULL, "malloc");
	memset(h, ' ', XS_ACCEPT_ENCODING_MAX + 1);
	memcpy(h + XS_ACCEPT_ENCODING_MAX - 4, "gzip", 4);
	h[XS_ACCEPT_ENCODING_MAX] = '\0';
	ok(xs_http_accepts_gzip(h), "%d bytes: read", XS_ACCEPT_ENCODING_MAX);
	memcpy(h + XS_ACCEPT_ENCODING_MAX - 3, "gzip", 4);
	h[XS_ACCEPT_ENCODING_MAX + 1] = '\0';
	ok(!xs_http_accepts_gzip(h), "%d bytes: not read", XS_ACCEPT_ENCODING_MAX + 1);
	free(h);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_cap);
	return test_summary();
}
