/*
 * libFuzzer target: the API bearer-token file of `xapistat serve`
 * (token_file; serve_read_token in src/cmd_serve.c, reached by including the
 * .c, which shadows its member of build/fuzz/libxs.a).
 *
 * Input: the file's bytes, written to a memfd read through /proc/self/fd/N.
 *
 * Invariants, decided here on the whole file: a file of more than 1023 bytes
 * is refused; otherwise, with leading and trailing newlines, carriage
 * returns, blanks and tabs removed, what is left (T) is
 * taken exactly when it is 1..1021 bytes of visible ASCII (0x21..0x7e), and
 * the token is T. A refusal's message is "token_file <path>: " and "empty",
 * "longer than 1 KiB" or "byte N is 0xHH (...)" naming T's first byte that
 * is not visible ASCII (so it never holds T), and fits XS_ERR_LEN. Any other
 * outcome aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmd_serve.c"

#define FUZZ_FILE_MAX 1023 /* bytes serve_read_token reads */
#define FUZZ_TOKEN_MAX 1021

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* T (see above) as [*a, *b) of data; whether the file may hold a token at all. */
static bool fuzz_expect(const uint8_t *data, size_t size, size_t *a, size_t *b)
{
	size_t s = 0, e = size;

	while (e > 0 && strchr("\n\r \t", data[e - 1]) && data[e - 1])
		e--;
	while (s < e && (data[s] == ' ' || data[s] == '\t' || data[s] == '\n' || data[s] == '\r'))
		s++;
	*a = s;
	*b = e;
	if (size > FUZZ_FILE_MAX || e == s || e - s > FUZZ_TOKEN_MAX)
		return false;
	for (size_t i = s; i < e; i++)
		if (data[i] <= ' ' || data[i] >= 0x7f)
			return false;
	return true;
}

/* The reason of a refusal is one of the three, and a byte named is T's first bad one. */
static bool fuzz_why_ok(const char *why, const uint8_t *data, size_t size, size_t a, size_t b)
{
	char again[128];
	size_t k = 0;
	unsigned x = 0;

	if (!strcmp(why, "empty"))
		return a == b && size <= FUZZ_FILE_MAX;
	if (!strcmp(why, "longer than 1 KiB"))
		return size > FUZZ_FILE_MAX || b - a > FUZZ_TOKEN_MAX;
	if (sscanf(why, "byte %zu is 0x%2x", &k, &x) != 2 || k < 1 || k > b - a ||
	    data[a + k - 1] != x || (x > ' ' && x < 0x7f))
		return false;
	for (size_t i = a; i < a + k - 1; i++)
		if (data[i] <= ' ' || data[i] >= 0x7f)
			return false;
	snprintf(again, sizeof(again), "byte %zu is 0x%02x (a token is one word of visible ASCII)", k, x);
	return !strcmp(why, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], prefix[96], err[XS_ERR_LEN] = "", *token;
	size_t a, b;
	bool want = fuzz_expect(data, size, &a, &b);
	int fd = memfd_create("fuzz-token", 0);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(prefix, sizeof(prefix), "token_file %s: ", path);
	token = serve_read_token(path, err);
	if ((token != NULL) != want)
		abort();
	if (token) {
		if (strlen(token) != b - a || memcmp(token, data + a, b - a))
			abort();
		serve_token_free(&token);
	} else if (strncmp(err, prefix, strlen(prefix)) || strnlen(err, XS_ERR_LEN) == XS_ERR_LEN ||
		   !fuzz_why_ok(err + strlen(prefix), data, size, a, b)) {
		abort();
	}
	close(fd);
	return 0;
}
