/*
 * credentials.c - pool credentials from a file, the URL or the environment
 * (see credentials.h).
 *
 * Every buffer that held a password is wiped with explicit_bzero() before it
 * is freed or goes out of scope, so a core dump taken later holds fewer
 * copies. Error messages name sources (the path, "the URL"), never contents.
 */
#include "xapi/credentials.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

static int cred_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into a new string; what names the part for errors. */
static enum xs_err cred_decode(const char *s, size_t n, const char *what, char **out, char *err)
{
	char *d;
	size_t j = 0;

	*out = NULL;
	if (n > XS_CRED_MAX)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "the URL's %s is longer than %d bytes",
				  what, XS_CRED_MAX);
	d = xs_xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		hi = i + 2 < n ? cred_hex(s[i + 1]) : -1;
		lo = hi >= 0 ? cred_hex(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			explicit_bzero(d, n + 1);
			free(d);
			return xs_err_set(err, XS_ERR_ARG, "the URL's %s has a bad percent escape",
					  what);
		}
		d[j++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	return XS_OK;
}

enum xs_err xs_cred_split_url(const char *url, char *clean, size_t cap, char **user,
			      char **password, char *err)
{
	const char *scheme_end = strstr(url, "://");
	const char *host, *auth_end = NULL, *colon;
	size_t head, rest;
	enum xs_err rc;

	*user = NULL;
	*password = NULL;
	if (scheme_end == NULL || scheme_end == url)
		return xs_err_set(err, XS_ERR_ARG, "the pool URL must start with http:// or https://");
	host = scheme_end + 3;
	/* user-info ends at the last '@' before the path (a password may hold '@' unescaped) */
	for (const char *p = host; *p && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			auth_end = p;
	if (xs_cred_url_at_after_host(url))
		return xs_err_set(err, XS_ERR_ARG, "the pool URL: %s", XS_CRED_AT_AFTER_HOST);
	head = (size_t)(host - url);
	rest = strlen(auth_end ? auth_end + 1 : host);
	if (head + rest + 1 > cap)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "the pool URL is longer than %zu bytes",
				  cap - 1);
	if (rest == 0 || (auth_end ? auth_end[1] : host[0]) == '/')
		return xs_err_set(err, XS_ERR_ARG, "the pool URL has no host");
	memcpy(clean, url, head);
	memcpy(clean + head, auth_end ? auth_end + 1 : host, rest + 1);
	for (size_t i = 0; i + 3 < head; i++) /* a scheme is case-free: "HTTPS://" is https */
		clean[i] = (char)tolower((unsigned char)clean[i]);
	if (auth_end == NULL)
		return XS_OK;
	colon = memchr(host, ':', (size_t)(auth_end - host));
	rc = cred_decode(host, (size_t)((colon ? colon : auth_end) - host), "user name", user, err);
	if (rc == XS_OK && colon)
		rc = cred_decode(colon + 1, (size_t)(auth_end - colon - 1), "password", password,
				 err);
	if (rc) {
		free(*user);
		*user = NULL;
	}
	return rc;
}

enum xs_err xs_cred_read_file(const char *path, char **password, char *err)
{
	char buf[XS_CRED_MAX + 3]; /* the line, "\r\n" and a byte to see it is too long */
	size_t n = 0;
	FILE *f;
	enum xs_err rc = XS_OK;
	int c;

	*password = NULL;
	f = fopen(path, "r");
	if (f == NULL)
		return xs_err_set(err, XS_ERR_IO, "password file %s: %s", path, strerror(errno));
	while ((c = getc(f)) != EOF && c != '\n') {
		if (n == sizeof(buf) - 1) {
			rc = xs_err_set(err, XS_ERR_TOO_LARGE,
					"password file %s: the first line is longer than %d bytes",
					path, XS_CRED_MAX);
			goto out;
		}
		buf[n++] = (char)c;
	}
	if (ferror(f)) {
		rc = xs_err_set(err, XS_ERR_IO, "password file %s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\0', n)) {
		rc = xs_err_set(err, XS_ERR_ARG, "password file %s: a NUL byte in the password", path);
		goto out;
	}
	if (n > XS_CRED_MAX) {
		rc = xs_err_set(err, XS_ERR_TOO_LARGE,
				"password file %s: the first line is longer than %d bytes", path,
				XS_CRED_MAX);
		goto out;
	}
	*password = xs_xstrndup(buf, n);
out:
	explicit_bzero(buf, sizeof(buf));
	fclose(f);
	return rc;
}

static void cred_wipe_free(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

enum xs_err xs_cred_resolve(const char *url, const char *user, const char *password_file,
			    const char *env, char *clean, size_t cap, struct xs_cred *c, char *err)
{
	char *url_user = NULL, *url_pass = NULL;
	enum xs_err rc;

	memset(c, 0, sizeof(*c));
	rc = xs_cred_split_url(url, clean, cap, &url_user, &url_pass, err);
	if (rc)
		return rc;
	if (user && strlen(user) > XS_CRED_MAX) {
		rc = xs_err_set(err, XS_ERR_TOO_LARGE, "--user is longer than %d bytes",
				XS_CRED_MAX);
		goto out;
	}
	if (password_file) {
		rc = xs_cred_read_file(password_file, &c->password, err);
		if (rc)
			goto out;
	} else if (url_pass) {
		c->password = url_pass;
		url_pass = NULL;
	} else if (env) {
		if (strlen(env) > XS_CRED_MAX) {
			rc = xs_err_set(err, XS_ERR_TOO_LARGE, "%s is longer than %d bytes",
					XS_CRED_ENV, XS_CRED_MAX);
			goto out;
		}
		c->password = xs_xstrndup(env, strlen(env));
	} else {
		rc = xs_err_set(err, XS_ERR_ARG,
				"no password: give it in the URL (https://USER:PASSWORD@HOST), a "
				"password file (password_file in the configuration, --password-file "
				"for inventory) or the environment variable " XS_CRED_ENV);
		goto out;
	}
	if (user) {
		c->user = xs_xstrndup(user, strlen(user));
	} else if (url_user && url_user[0]) {
		c->user = url_user;
		url_user = NULL;
	} else {
		c->user = xs_xstrndup(XS_CRED_DEFAULT_USER, strlen(XS_CRED_DEFAULT_USER));
	}
out:
	cred_wipe_free(&url_user);
	cred_wipe_free(&url_pass);
	if (rc)
		xs_cred_cleanup(c);
	return rc;
}

bool xs_cred_url_at_after_host(const char *url)
{
	const char *scheme = strstr(url, "://"), *auth = scheme ? scheme + 3 : url;

	return strchr(auth + strcspn(auth, "/?#"), '@') != NULL;
}

void xs_cred_mask_url(char *url)
{
	char *host = strstr(url, "://"), *at = NULL, *colon;

	if (host == NULL)
		return;
	host += 3;
	/* the URL's last '@', as xs_log_url: a password may hold an unencoded '/', '?' or '#' */
	at = strrchr(host, '@');
	if (at == NULL)
		return;
	colon = memchr(host, ':', (size_t)(at - host));
	if (colon)
		memset(colon + 1, '*', (size_t)(at - colon - 1));
}

void xs_cred_cleanup(struct xs_cred *c)
{
	if (c == NULL)
		return;
	cred_wipe_free(&c->user);
	cred_wipe_free(&c->password);
}
