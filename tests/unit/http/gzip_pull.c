/*
 * Tests of src/http/gzip_pull.c: bodies of several sizes pulled through the
 * gzip wrapper with buffers of 1 byte to 64 KiB inflate back to the same
 * bytes; 0 bytes only at the end; an error of the inner body is passed on;
 * the inner body is freed once, pulled or not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/gzip_pull.h"
#include "test.h"

/* An inner body of len bytes of metric-like lines, given in pieces of at most step. */
struct inner {
	size_t len, pos, step;
	int fail_at;  /* the call that fails (XS_ERR_IO), 0 = none */
	int calls;
	int *freed;
};

static char inner_byte(size_t i)
{
	static const char line[] = "xapistat_vm_cpu_ratio{vm=\"web-01\",cpu=\"0\"} 0.0123\n";

	return (i / (sizeof(line) - 1)) % 7 == 3 ? (char)('0' + (char)(i * 2654435761u % 10))
						 : line[i % (sizeof(line) - 1)];
}

static enum xs_err inner_pull(void *arg, char *buf, size_t max, size_t *n)
{
	struct inner *in = arg;
	size_t k = in->len - in->pos;

	if (++in->calls == in->fail_at)
		return XS_ERR_IO;
	k = k < max ? k : max;
	k = k < in->step ? k : in->step;
	for (size_t i = 0; i < k; i++)
		buf[i] = inner_byte(in->pos + i);
	in->pos += k;
	*n = k;
	return XS_OK;
}

static void inner_free(void *arg)
{
	struct inner *in = arg;

	(*in->freed)++;
	free(in);
}

static struct inner *inner_new(size_t len, size_t step, int *freed)
{
	struct inner *in = calloc(1, sizeof(*in));

	if (!in)
		abort();
	in->len = len;
	in->step = step;
	in->freed = freed;
	return in;
}

/* Pulls all of gz with buffers of max bytes; returns the inflated length, or
 * (size_t)-1 when the stream is bad or the bytes differ; *zeros counts the
 * calls that returned 0 bytes before the end. */
static size_t pull_all(struct xs_gzip_pull *gz, size_t max, size_t want, int *zeros, size_t *packed)
{
	char *buf = malloc(max);
	unsigned char out[65536];
	z_stream z = { 0 };
	size_t got = 0;
	int rc = Z_OK;
	bool bad = false;

	if (!buf || inflateInit2(&z, 15 + 16) != Z_OK)
		abort();
	*zeros = 0;
	*packed = 0;
	for (;;) {
		size_t n = 0;

		if (xs_gzip_pull(gz, buf, max, &n) != XS_OK) {
			bad = true;
			break;
		}
		if (n == 0)
			break;
		*packed += n;
		z.next_in = (unsigned char *)buf;
		z.avail_in = (uInt)n;
		while (z.avail_in && rc == Z_OK) {
			z.next_out = out;
			z.avail_out = sizeof(out);
			rc = inflate(&z, Z_NO_FLUSH);
			for (size_t i = 0; i < sizeof(out) - z.avail_out; i++)
				bad |= got + i >= want || (char)out[i] != inner_byte(got + i);
			got += sizeof(out) - z.avail_out;
		}
		if (rc != Z_OK && rc != Z_STREAM_END)
			bad = true;
	}
	{
		size_t n = 1;

		/* after the end: 0 again */
		*zeros += xs_gzip_pull(gz, buf, max, &n) != XS_OK || n != 0;
	}
	bad |= rc != Z_STREAM_END;
	inflateEnd(&z);
	free(buf);
	return bad ? (size_t)-1 : got;
}

static void test_round_trip(void)
{
	static const size_t lens[] = { 0, 1, 100, 65536, 65537, 3u << 20 };
	static const size_t maxes[] = { 1, 7, 4096, 65536 };
	static const size_t steps[] = { 1, 1000, 1u << 20 };

	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				int freed = 0, zeros;
				size_t packed, got;
				struct xs_gzip_pull *gz;

				/* 1-byte buffers over megabytes: slow under ASan, and nothing new */
				if (lens[l] > 100000 && (maxes[m] < 4096 || steps[s] == 1))
					continue;
				gz = xs_gzip_pull_new(inner_pull, inner_free, inner_new(lens[l], steps[s], &freed));
				fail_unless(gz != NULL, "new");
				got = pull_all(gz, maxes[m], lens[l], &zeros, &packed);
				xs_gzip_pull_free(gz);
				ok(got == lens[l] && zeros == 0 && freed == 1,
				   "%zu bytes, buffers of %zu, inner pieces of %zu: %zu back, %zu packed, "
				   "%d early ends, freed %d",
				   lens[l], maxes[m], steps[s], got, packed, zeros, freed);
				if (lens[l] == (3u << 20) && maxes[m] == 65536 && steps[s] == 1000)
					ok(packed * 5 < lens[l], "3 MiB of lines packed to %zu bytes", packed);
			}
}

static void test_errors_and_free(void)
{
	int freed = 0;
	struct inner *in = inner_new(1u << 20, 65536, &freed);
	struct xs_gzip_pull *gz;
	char buf[4096];
	size_t n = 0;
	enum xs_err e = XS_OK;

	in->fail_at = 3;
	gz = xs_gzip_pull_new(inner_pull, inner_free, in);
	fail_unless(gz != NULL, "new");
	for (int i = 0; i < 1000 && e == XS_OK; i++)
		e = xs_gzip_pull(gz, buf, sizeof(buf), &n);
	ok(e == XS_ERR_IO, "the inner body's error is passed on: %d", e);
	xs_gzip_pull_free(gz);
	ok(freed == 1, "inner freed once after an error: %d", freed);

	freed = 0;
	gz = xs_gzip_pull_new(inner_pull, inner_free, inner_new(100, 100, &freed));
	fail_unless(gz != NULL, "new");
	xs_gzip_pull_free(gz);
	ok(freed == 1, "inner freed once, never pulled (a HEAD): %d", freed);
	xs_gzip_pull_free(NULL);
	ok(1, "free(NULL) does nothing");
}

/* A max past what zlib's avail_out holds (4 GiB) is clamped: *n must still count the
 * bytes written, not max less what was left of the clamped window. The body is small,
 * so its whole gzip stream fits in the real buffer whatever max says. */
static void test_huge_max(void)
{
	int freed = 0;
	struct xs_gzip_pull *gz = xs_gzip_pull_new(inner_pull, inner_free, inner_new(100, 100, &freed));
	static char buf[65536];
	unsigned char out[256];
	z_stream z = { 0 };
	size_t n = 0;
	enum xs_err e;
	int rc;

	fail_unless(gz != NULL && inflateInit2(&z, 15 + 16) == Z_OK, "new");
	e = xs_gzip_pull(gz, buf, (size_t)UINT32_MAX + 4096, &n);
	ok(e == XS_OK && n > 0 && n < 1000, "max past 4 GiB: %zu bytes counted for a 100-byte body (%d)",
	   n, e);
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)(n < sizeof(buf) ? n : sizeof(buf));
	z.next_out = out;
	z.avail_out = sizeof(out);
	rc = inflate(&z, Z_FINISH);
	ok(rc == Z_STREAM_END && z.avail_in == 0 && sizeof(out) - z.avail_out == 100,
	   "... and they are the whole stream, nothing after it (%d, %u left)", rc, z.avail_in);
	inflateEnd(&z);
	xs_gzip_pull_free(gz);
}

int main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_huge_max);
	TEST_RUN(test_errors_and_free);
	return test_summary();
}
