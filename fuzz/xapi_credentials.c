/*
 * libFuzzer target: pool credentials (src/xapi/credentials.c): the --pool URL's
 * user-info (xs_cred_split_url, xs_cred_mask_url), the password file
 * (xs_cred_read_file) and the resolution of the three sources (xs_cred_resolve).
 *
 * Input: u8 flags, then the URL up to the first '\n' (cut at a NUL, as argv
 * would), then the password file's bytes (anything, NULs too), written to a
 * memfd read through /proc/self/fd/N. Flags: bit 0 gives --user, bit 1 the
 * password file, bit 2 the environment variable (the file's bytes up to a
 * NUL); bits 3-4 pick the clean URL's cap (16, 64, 256, XS_CRED_URL_MAX).
 *
 * Invariants, each decided here on its own:
 *   split   an error leaves user and password NULL and a message that fits
 *           XS_ERR_LEN; a success gives a clean URL that fits the cap, is
 *           the URL less its user-info (scheme in lower case) and, with the
 *           user and password percent-encoded back in, splits to the same
 *           three again; the masked URL keeps its length, changes only the
 *           password's bytes (to '*') and splits to the same user and clean URL.
 *   file    the password is the first line less one trailing '\r'; a NUL in it
 *           is XS_ERR_ARG, more than XS_CRED_MAX bytes XS_ERR_TOO_LARGE; an
 *           error names the path and never holds the line.
 *   resolve the file, else the URL's password, else the environment; the
 *           user given, else the URL's (if not empty), else "root"; on error
 *           both strings NULL.
 * Any other outcome aborts.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xapi/credentials.h"

#define FUZZ_USER "admin"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t fuzz_caps[4] = { 16, 64, 256, XS_CRED_URL_MAX };

static void fuzz_msg_ok(const char *err)
{
	if (!err[0] || strnlen(err, XS_ERR_LEN) == XS_ERR_LEN)
		abort();
}

/* The user-info of url as split would find it: [*a, *b) between "://" and the last '@'. */
static bool fuzz_userinfo(const char *url, const char **a, const char **b)
{
	const char *s = strstr(url, "://"), *at = NULL;

	if (!s)
		return false;
	s += 3;
	for (const char *p = s; *p && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	*a = s;
	*b = at;
	return at != NULL;
}

/* s percent-encoded but for letters and digits, appended at out; its new end. */
static char *fuzz_encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c)) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

static bool fuzz_streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The URL again with user and password encoded back in: splits to the same. */
static void fuzz_round_trip(const char *clean, size_t cap, const char *user, const char *password)
{
	size_t head = (size_t)(strstr(clean, "://") + 3 - clean);
	size_t ul = user ? strlen(user) : 0, pl = password ? strlen(password) : 0;
	char *url = malloc(strlen(clean) + 3 * (ul + pl) + 3), *p, *again = malloc(cap);
	char *u2 = NULL, *p2 = NULL, err[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (!url || !again)
		abort();
	memcpy(url, clean, head);
	p = fuzz_encode(url + head, user);
	if (password) {
		*p++ = ':';
		p = fuzz_encode(p, password);
	}
	*p++ = '@';
	memcpy(p, clean + head, strlen(clean + head) + 1);
	rc = xs_cred_split_url(url, again, cap, &u2, &p2, err);
	if (rc == XS_ERR_TOO_LARGE && 3 * (ul > pl ? ul : pl) > XS_CRED_MAX)
		goto out; /* encoding made a part too long */
	if (rc != XS_OK || strcmp(again, clean) || !fuzz_streq(u2, user) || !fuzz_streq(p2, password))
		abort();
out:
	free(u2);
	free(p2);
	free(url);
	free(again);
}

static void fuzz_mask(const char *url, size_t cap, const char *clean, const char *user,
		      const char *password)
{
	char *m = strdup(url), *again = malloc(cap), *u2 = NULL, *p2 = NULL, err[XS_ERR_LEN] = "";
	const char *a, *b, *colon = NULL;
	size_t len = strlen(url);

	if (!m || !again)
		abort();
	xs_cred_mask_url(m);
	if (strlen(m) != len)
		abort();
	if (fuzz_userinfo(url, &a, &b))
		colon = memchr(a, ':', (size_t)(b - a));
	for (size_t i = 0; i < len; i++) {
		bool in_pass = colon && url + i > colon && url + i < b;

		if (m[i] != (in_pass ? '*' : url[i]))
			abort();
	}
	if (xs_cred_split_url(m, again, cap, &u2, &p2, err) != XS_OK || strcmp(again, clean) ||
	    !fuzz_streq(u2, user) || (password == NULL) != (p2 == NULL))
		abort();
	if (p2 && (strspn(p2, "*") != strlen(p2) || strlen(p2) != (size_t)(b - colon - 1)))
		abort();
	free(u2);
	free(p2);
	free(m);
	free(again);
}

static void fuzz_split(const char *url, size_t cap)
{
	char *clean = malloc(cap), *user = (char *)1, *password = (char *)1, err[XS_ERR_LEN] = "";
	const char *a, *b, *rest;
	size_t head;

	if (!clean)
		abort();
	if (xs_cred_split_url(url, clean, cap, &user, &password, err) != XS_OK) {
		fuzz_msg_ok(err);
		if (user || password)
			abort();
		goto out;
	}
	if (strlen(clean) >= cap || !strstr(url, "://"))
		abort();
	head = (size_t)(strstr(url, "://") + 3 - url);
	rest = fuzz_userinfo(url, &a, &b) ? b + 1 : url + head;
	if (strncmp(clean + head, rest, strlen(rest) + 1) || (b == NULL) != (user == NULL))
		abort();
	for (size_t i = 0; i < head; i++)
		if (clean[i] != (i + 3 < head ? (char)tolower((unsigned char)url[i]) : url[i]))
			abort();
	if (password && !user)
		abort();
	if (user)
		fuzz_round_trip(clean, cap, user, password);
	fuzz_mask(url, cap, clean, user, password);
out:
	free(user);
	free(password);
	free(clean);
}

/* What xs_cred_read_file must make of the file's bytes: the rc, and the password's length. */
static enum xs_err fuzz_file_expect(const uint8_t *f, size_t n, size_t *len)
{
	const uint8_t *nl = memchr(f, '\n', n);
	size_t line = nl ? (size_t)(nl - f) : n;

	if (line > XS_CRED_MAX + 2)
		return XS_ERR_TOO_LARGE;
	*len = line - (line > 0 && f[line - 1] == '\r');
	if (memchr(f, '\0', *len))
		return XS_ERR_ARG;
	return *len > XS_CRED_MAX ? XS_ERR_TOO_LARGE : XS_OK;
}

static void fuzz_file(const char *path, const uint8_t *f, size_t n)
{
	char *password = (char *)1, err[XS_ERR_LEN] = "";
	size_t len = 0;
	enum xs_err want = fuzz_file_expect(f, n, &len), rc;

	rc = xs_cred_read_file(path, &password, err);
	if (rc != want)
		abort();
	if (rc != XS_OK) {
		fuzz_msg_ok(err);
		if (password || !strstr(err, path) || (len >= 8 && memmem(err, strlen(err), f, len)))
			abort();
		return;
	}
	if (!password || strlen(password) != len || memcmp(password, f, len))
		abort();
	explicit_bzero(password, len);
	free(password);
}

static void fuzz_resolve(const char *url, size_t cap, unsigned flags, const char *path,
			 const uint8_t *f, size_t n)
{
	char *clean = malloc(cap), *uu = NULL, *up = NULL, *fp = NULL, err[XS_ERR_LEN] = "";
	char *env = (flags & 4) ? strndup((const char *)f, n) : NULL;
	const char *user = (flags & 1) ? FUZZ_USER : NULL, *file = (flags & 2) ? path : NULL;
	const char *want;
	struct xs_cred c;
	enum xs_err rc;

	if (!clean || ((flags & 4) && !env))
		abort();
	rc = xs_cred_resolve(url, user, file, env, clean, cap, &c, err);
	if (rc != XS_OK) {
		fuzz_msg_ok(err);
		if (c.user || c.password)
			abort();
		goto out;
	}
	if (xs_cred_split_url(url, clean, cap, &uu, &up, err) != XS_OK)
		abort();
	if (file) {
		if (xs_cred_read_file(file, &fp, err) != XS_OK)
			abort();
		want = fp;
	} else {
		want = up ? up : env;
	}
	if (!want || !c.password || strcmp(c.password, want))
		abort();
	want = user ? user : (uu && uu[0]) ? uu : XS_CRED_DEFAULT_USER;
	if (!c.user || strcmp(c.user, want))
		abort();
	xs_cred_cleanup(&c);
	if (c.user || c.password)
		abort();
out:
	free(uu);
	free(up);
	free(fp);
	free(env);
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl, *f;
	size_t ul, n, cap;
	char *url, path[64];
	unsigned flags;
	int fd;

	if (size < 1)
		return 0;
	flags = data[0];
	cap = fuzz_caps[(flags >> 3) & 3];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	ul = nl ? (size_t)(nl - data) : size;
	f = nl ? nl + 1 : data + size;
	n = size - (size_t)(f - data);
	url = strndup((const char *)data, ul);
	fd = memfd_create("fuzz-password", 0);
	if (!url || fd < 0 || (n && write(fd, f, n) != (ssize_t)n))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fuzz_split(url, cap);
	fuzz_file(path, f, n);
	fuzz_resolve(url, cap, flags, path, f, n);
	close(fd);
	free(url);
	return 0;
}
