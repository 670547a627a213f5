/*
 * config.c - loading, checking and formatting the configuration of
 * `xapistat serve` (format: docs/CONFIG.md; contract: config.h).
 *
 * The parser works line by line on a slice, never on a NUL-terminated copy
 * of the file, and fills a temporary struct xs_config that replaces the
 * caller's only at the end: the one point where a file becomes the running
 * configuration. Every limit (file, line, value, name, pools) is a named
 * constant in config.h, so a hostile or broken file costs bounded memory.
 * Messages quote names and durations, never a URL's user-info: URLs are
 * quoted through xs_log_url(). Every key is given once per section but
 * `pin`, whose values add up (a pool has one certificate per host).
 */
#include "serve/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"
#include "xapi/credentials.h"
#include "xapi/tls_pins.h"

#define XS_CONFIG_QUOTE_MAX 48 /* bytes of a bad value quoted back in a message */

enum xs_config_section {
	XS_CONFIG_SEC_TOP,       /* before the first [section] */
	XS_CONFIG_SEC_RETENTION, /* [retention] */
	XS_CONFIG_SEC_POOL,      /* [pool NAME]: fills pools[npools - 1] */
};

enum xs_config_kind {
	XS_CONFIG_KIND_STRING,   /* a char * field, copied as is */
	XS_CONFIG_KIND_LISTEN,   /* HOST:PORT or [V6]:PORT */
	XS_CONFIG_KIND_LOGLEVEL, /* error / warn / info / debug */
	XS_CONFIG_KIND_URL,      /* http(s)://HOST... */
	XS_CONFIG_KIND_PIN,      /* SHA-256 fingerprints, added to the list (repeatable) */
	XS_CONFIG_KIND_BOOL,     /* a bool field */
	XS_CONFIG_KIND_COUNT,    /* an unsigned field, 1..XS_CONFIG_CONNECTIONS_MAX */
	XS_CONFIG_KIND_REFUSED,  /* a key we know and refuse (password) */
};

struct xs_config_key {
	const char *name;
	enum xs_config_kind kind;
	size_t offset; /* of the field in struct xs_config or struct xs_config_pool */
	size_t line_offset; /* of an unsigned field the key's line goes to; 0: none */
};

static const struct xs_config_key xs_config_top_keys[] = {
	{ "listen", XS_CONFIG_KIND_LISTEN, 0, 0 },
	{ "data", XS_CONFIG_KIND_STRING, offsetof(struct xs_config, data_dir), 0 },
	{ "log_level", XS_CONFIG_KIND_LOGLEVEL, 0, 0 },
	{ "token_file", XS_CONFIG_KIND_STRING, offsetof(struct xs_config, token_file),
	  offsetof(struct xs_config, token_file_line) },
	{ "tls_cert", XS_CONFIG_KIND_STRING, offsetof(struct xs_config, tls_cert_file), 0 },
	{ "tls_key", XS_CONFIG_KIND_STRING, offsetof(struct xs_config, tls_key_file), 0 },
	{ "web", XS_CONFIG_KIND_STRING, offsetof(struct xs_config, web_dir), 0 },
	{ "max_connections", XS_CONFIG_KIND_COUNT, offsetof(struct xs_config, max_connections), 0 },
	{ "max_connections_per_ip", XS_CONFIG_KIND_COUNT,
	  offsetof(struct xs_config, max_connections_per_ip), 0 },
};

static const struct xs_config_key xs_config_pool_keys[] = {
	{ "url", XS_CONFIG_KIND_URL, offsetof(struct xs_config_pool, url),
	  offsetof(struct xs_config_pool, url_line) },
	{ "user", XS_CONFIG_KIND_STRING, offsetof(struct xs_config_pool, user), 0 },
	{ "password_file", XS_CONFIG_KIND_STRING, offsetof(struct xs_config_pool, password_file),
	  offsetof(struct xs_config_pool, password_file_line) },
	{ "ca_file", XS_CONFIG_KIND_STRING, offsetof(struct xs_config_pool, ca_file),
	  offsetof(struct xs_config_pool, ca_file_line) },
	{ "pin", XS_CONFIG_KIND_PIN, offsetof(struct xs_config_pool, pins), 0 },
	{ "insecure", XS_CONFIG_KIND_BOOL, offsetof(struct xs_config_pool, insecure), 0 },
	{ "password", XS_CONFIG_KIND_REFUSED, 0, 0 },
};

/* Keys of [retention], by tier, and each tier's step in seconds. */
static const char *const xs_config_tier_keys[XS_CONFIG_TIERS] = { "5s", "1m", "1h", "1d" };
static const int64_t xs_config_tier_step[XS_CONFIG_TIERS] = { 5, 60, 3600, 86400 };
static const int64_t xs_config_tier_default[XS_CONFIG_TIERS] = {
	2LL * 86400, 60LL * 86400, 2LL * 365 * 86400, 10LL * 365 * 86400
};

struct xs_config_parser {
	struct xs_config *cfg;           /* the temporary being filled */
	const char *name;                /* the file, for messages */
	unsigned line;                   /* current line, from 1 */
	enum xs_config_section section;
	unsigned top_seen;               /* bit i: xs_config_top_keys[i] given */
	unsigned retention_seen;         /* bit i: tier i given */
	unsigned retention_line;         /* line of the [retention] header, 0: none yet */
	unsigned pool_seen;              /* bit i: xs_config_pool_keys[i] given in this pool */
	char *err;                       /* XS_ERR_LEN, caller's */
};

static enum xs_err xs_config_fail_at(struct xs_config_parser *p, unsigned line, enum xs_err code,
				     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum xs_err xs_config_fail_at(struct xs_config_parser *p, unsigned line, enum xs_err code,
				     const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err)
		return code;
	n = snprintf(p->err, XS_ERR_LEN, "%s:%u: ", p->name, line);
	if (n < 0 || n >= XS_ERR_LEN)
		return code;
	va_start(ap, fmt);
	vsnprintf(p->err + n, (size_t)(XS_ERR_LEN - n), fmt, ap);
	va_end(ap);
	return code;
}

#define xs_config_fail(p, code, ...) xs_config_fail_at((p), (p)->line, (code), __VA_ARGS__)

static int xs_config_quote_len(size_t n)
{
	return n > XS_CONFIG_QUOTE_MAX ? XS_CONFIG_QUOTE_MAX : (int)n;
}

void xs_config_defaults(struct xs_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->listen_host = xs_xstrndup(XS_CONFIG_DEFAULT_LISTEN_HOST, strlen(XS_CONFIG_DEFAULT_LISTEN_HOST));
	cfg->listen_port = XS_CONFIG_DEFAULT_LISTEN_PORT;
	cfg->log_level = XS_LOG_INFO;
	cfg->max_connections = XS_CONFIG_DEFAULT_MAX_CONNECTIONS;
	cfg->max_connections_per_ip = XS_CONFIG_DEFAULT_MAX_PER_IP;
	for (int i = 0; i < XS_CONFIG_TIERS; i++)
		cfg->retention[i] = xs_config_tier_default[i];
}

static void xs_config_pool_free(struct xs_config_pool *pool)
{
	free(pool->name);
	free(pool->url);
	free(pool->user);
	free(pool->password_file);
	free(pool->ca_file);
	free(pool->pins);
	memset(pool, 0, sizeof *pool);
}

void xs_config_free(struct xs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->npools; i++)
		xs_config_pool_free(&cfg->pools[i]);
	free(cfg->pools);
	free(cfg->listen_host);
	free(cfg->data_dir);
	free(cfg->token_file);
	free(cfg->tls_cert_file);
	free(cfg->tls_key_file);
	free(cfg->web_dir);
	free(cfg->source);
	memset(cfg, 0, sizeof *cfg);
}

/* ---- values ---- */

bool xs_config_parse_duration(const char *s, size_t n, int64_t *seconds)
{
	static const char units[] = "smhdwy";
	static const int64_t mult[] = { 1, 60, 3600, 86400, 7 * 86400, 365 * 86400 };
	int64_t total = 0;
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		int64_t v = 0;
		size_t digits = 0;
		const char *u;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (v > XS_CONFIG_DURATION_MAX)
				return false;
			v = v * 10 + (s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || i == n || s[i] == '\0')
			return false;
		u = strchr(units, s[i]);
		if (!u)
			return false;
		i++;
		if (v > XS_CONFIG_DURATION_MAX / mult[u - units])
			return false;
		total += v * mult[u - units];
		if (total > XS_CONFIG_DURATION_MAX)
			return false;
	}
	if (total <= 0)
		return false;
	*seconds = total;
	return true;
}

static bool xs_config_word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

bool xs_config_parse_bool(const char *s, size_t n, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (xs_config_word_is(s, n, yes[i])) {
			*out = true;
			return true;
		}
		if (xs_config_word_is(s, n, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* A whole number 1..max in decimal digits only (no sign, no blank), into *out. */
static bool xs_config_parse_count(const char *s, size_t n, unsigned max, unsigned *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < 1 || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool xs_config_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v;

	if (n > 5 || !xs_config_parse_count(s, n, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * Splits an authority "host[:port]" / "[v6][:port]" (no user-info) into the
 * host (without brackets) and whether a valid port followed. want_port: a
 * port is required (listen) rather than optional (URL).
 */
static bool xs_config_split_hostport(const char *s, size_t n, bool want_port, const char **host,
				     size_t *hostlen, uint16_t *port)
{
	const char *rest;
	size_t restlen;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1)
			return false;
		*host = s + 1;
		*hostlen = (size_t)(close - s - 1);
		rest = close + 1;
	} else {
		const char *colon = memchr(s, ':', n);

		*host = s;
		*hostlen = colon ? (size_t)(colon - s) : n;
		rest = s + *hostlen;
		if (colon && memchr(colon + 1, ':', n - *hostlen - 1))
			return false; /* a bare IPv6 literal: brackets required */
	}
	restlen = n - (size_t)(rest - s);
	if (*hostlen == 0)
		return false;
	for (size_t i = 0; i < *hostlen; i++) {
		unsigned char c = (unsigned char)(*host)[i];

		if (c <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '[' || c == ']')
			return false;
	}
	if (restlen == 0)
		return !want_port;
	if (rest[0] != ':')
		return false;
	return xs_config_port(rest + 1, restlen - 1, port);
}

/* A URL refused for an '@' after its host (xs_cred_url_at_after_host), and what to do. */
static const char xs_config_url_at_message[] =
	XS_CRED_AT_AFTER_HOST " (or come from password_file or XAPISTAT_PASSWORD)";

/* The parts of an http(s) URL: host, port (0: none given), path (from the '/', '?' or '#' on,
 * to url + n, url NUL-terminated); false when it is not one (or has an '@' after its
 * host). */
static bool xs_config_url_parts(const char *url, size_t n, const char **host, size_t *hostlen,
				bool *https, uint16_t *port, const char **path)
{
	const char *auth, *auth_end, *at;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	if (n >= 8 && strncasecmp(url, "https://", 8) == 0) {
		*https = true;
		auth = url + 8;
	} else if (n >= 7 && strncasecmp(url, "http://", 7) == 0) {
		*https = false;
		auth = url + 7;
	} else {
		return false;
	}
	auth_end = auth;
	while (auth_end < url + n && !strchr("/?#", *auth_end))
		auth_end++;
	if (xs_cred_url_at_after_host(url))
		return false;
	at = NULL;
	for (const char *p = auth; p < auth_end; p++) {
		if (*p == '@')
			at = p;
	}
	if (at)
		auth = at + 1;
	*port = 0;
	*path = auth_end;
	return xs_config_split_hostport(auth, (size_t)(auth_end - auth), false, host, hostlen, port);
}

/* Finds the host of an http(s) URL; false when it is not one. */
static bool xs_config_url_host(const char *url, size_t n, const char **host, size_t *hostlen,
			       bool *https)
{
	const char *path;
	uint16_t port;

	return xs_config_url_parts(url, n, host, hostlen, https, &port, &path);
}

static bool xs_config_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > XS_CONFIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

const struct xs_config_pool *xs_config_find_pool(const struct xs_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		if (strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	}
	return NULL;
}

/*
 * Where an http(s) URL leads, as a comparable key into out (cap bytes):
 * "https://host:443/path", the scheme and host in lower case, the default port
 * written out, the user info dropped and a path of "/" taken as none, so
 * http://h, HTTP://root@H:80/ and http://h/ are one pool. False when url is not
 * one (the caller compares the texts then).
 */
static bool xs_config_url_key(const char *url, char *out, size_t cap)
{
	size_t n = strlen(url), hostlen, pathlen, o;
	const char *host, *path;
	uint16_t port;
	bool https;

	if (!xs_config_url_parts(url, n, &host, &hostlen, &https, &port, &path))
		return false;
	pathlen = (size_t)(url + n - path);
	if (pathlen == 1 && path[0] == '/')
		pathlen = 0;
	o = (size_t)snprintf(out, cap, "%s://", https ? "https" : "http");
	if (o + hostlen + 16 + pathlen >= cap)
		return false;
	for (size_t i = 0; i < hostlen && o + 1 < cap; i++)
		out[o++] = (char)tolower((unsigned char)host[i]);
	if (o < cap)
		snprintf(out + o, cap - o, ":%u%.*s", port ? port : https ? 443u : 80u, (int)pathlen,
			 path);
	return true;
}

static bool xs_config_same_url(const char *a, const char *b)
{
	char ka[XS_CONFIG_VALUE_MAX + 16], kb[XS_CONFIG_VALUE_MAX + 16];

	if (xs_config_url_key(a, ka, sizeof(ka)) && xs_config_url_key(b, kb, sizeof(kb)))
		return strcmp(ka, kb) == 0;
	return strcmp(a, b) == 0;
}

static const struct xs_config_pool *xs_config_find_url(const struct xs_config *cfg, const char *url,
						       const struct xs_config_pool *except)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		if (&cfg->pools[i] != except && cfg->pools[i].url &&
		    xs_config_same_url(cfg->pools[i].url, url))
			return &cfg->pools[i];
	}
	return NULL;
}

/* Appends a zero-filled pool named name[0..n) (the caller checked the cap). */
static struct xs_config_pool *xs_config_pool_push(struct xs_config *cfg, const char *name, size_t n)
{
	struct xs_config_pool *pool;

	/* grow by powers of two: at most XS_CONFIG_POOLS_MAX entries anyway */
	if ((cfg->npools & (cfg->npools - 1)) == 0) {
		size_t want = cfg->npools ? cfg->npools * 2 : 4;

		cfg->pools = xs_xrealloc(cfg->pools, want * sizeof *cfg->pools);
	}
	pool = &cfg->pools[cfg->npools++];
	memset(pool, 0, sizeof *pool);
	pool->name = xs_xstrndup(name, n);
	return pool;
}

/* ---- the parser ---- */

static bool xs_config_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether a value's text at s (after "key =", so s[-1] exists) starts a comment: '#' or ';'
 * after a blank ("data=#x" is the value "#x", as CONFIG.md says). */
static bool xs_config_is_comment(const char *s)
{
	return (*s == '#' || *s == ';') && xs_config_is_space(s[-1]);
}

/* True when s..e holds only blanks, up to an optional comment. */
static bool xs_config_rest_empty(const char *s, const char *e)
{
	while (s < e && xs_config_is_space(*s))
		s++;
	return s == e || *s == '#' || *s == ';';
}

/*
 * Extracts the value in s..e (after "key ="), unquoting it, into out
 * (XS_CONFIG_VALUE_MAX + 1 bytes). *outlen gets its length.
 */
static enum xs_err xs_config_value(struct xs_config_parser *p, const char *s, const char *e, char *out,
				   size_t *outlen)
{
	size_t n = 0;

	while (s < e && xs_config_is_space(*s))
		s++;
	if (s < e && (*s == '"' || *s == '\'')) {
		char q = *s++;

		for (;; s++) {
			if (s == e)
				return xs_config_fail(p, XS_ERR_PARSE, "unterminated quoted value");
			if (*s == q)
				break;
			if (q == '"' && *s == '\\' && s + 1 < e && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (n == XS_CONFIG_VALUE_MAX)
				return xs_config_fail(p, XS_ERR_TOO_LARGE, "value too long (max %d bytes)",
						      XS_CONFIG_VALUE_MAX);
			out[n++] = *s;
		}
		if (!xs_config_rest_empty(s + 1, e))
			return xs_config_fail(p, XS_ERR_PARSE, "text after the closing quote");
	} else {
		const char *v = s;

		while (s < e && !xs_config_is_comment(s))
			s++;
		while (s > v && xs_config_is_space(s[-1]))
			s--;
		n = (size_t)(s - v);
		if (n > XS_CONFIG_VALUE_MAX)
			return xs_config_fail(p, XS_ERR_TOO_LARGE, "value too long (max %d bytes)",
					      XS_CONFIG_VALUE_MAX);
		memcpy(out, v, n);
	}
	out[n] = '\0';
	*outlen = n;
	return XS_OK;
}

static struct xs_config_pool *xs_config_cur_pool(struct xs_config_parser *p)
{
	return &p->cfg->pools[p->cfg->npools - 1];
}

/* Checks a finished [pool] section; line is that of its header. */
static enum xs_err xs_config_pool_close(struct xs_config_parser *p)
{
	struct xs_config_pool *pool;
	const char *host;
	size_t hostlen;
	bool https = false;

	if (p->section != XS_CONFIG_SEC_POOL)
		return XS_OK;
	pool = xs_config_cur_pool(p);
	if (!pool->url)
		return xs_config_fail_at(p, pool->line, XS_ERR_PARSE, "pool '%s' has no url", pool->name);
	xs_config_url_host(pool->url, strlen(pool->url), &host, &hostlen, &https);
	if (!https && (pool->ca_file || pool->pins || pool->insecure))
		return xs_config_fail_at(p, pool->line, XS_ERR_PARSE,
					 "pool '%s': TLS options (ca_file, pin, insecure) need an https:// url",
					 pool->name);
	return XS_OK;
}

static enum xs_err xs_config_section_pool(struct xs_config_parser *p, const char *s, size_t n)
{
	struct xs_config_pool *pool;

	while (n > 0 && xs_config_is_space(*s)) {
		s++;
		n--;
	}
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (!xs_config_name_valid(s, n))
		return xs_config_fail(p, XS_ERR_PARSE,
				      "bad pool name '%.*s' (1 to %d of A-Z a-z 0-9 . _ -)",
				      xs_config_quote_len(n), s, XS_CONFIG_NAME_MAX);
	for (size_t i = 0; i < p->cfg->npools; i++) {
		if (strlen(p->cfg->pools[i].name) == n && memcmp(p->cfg->pools[i].name, s, n) == 0)
			return xs_config_fail(p, XS_ERR_PARSE, "duplicate pool name '%.*s' (first on line %u)",
					      (int)n, s, p->cfg->pools[i].line);
	}
	if (p->cfg->npools >= XS_CONFIG_POOLS_MAX)
		return xs_config_fail(p, XS_ERR_TOO_LARGE, "too many pools (max %d)", XS_CONFIG_POOLS_MAX);
	pool = xs_config_pool_push(p->cfg, s, n);
	pool->line = p->line;
	p->section = XS_CONFIG_SEC_POOL;
	p->pool_seen = 0;
	return XS_OK;
}

/* "[retention]" or "[pool NAME]" (NAME may be in double quotes). */
static enum xs_err xs_config_section(struct xs_config_parser *p, const char *s, const char *e)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	const char *name;
	size_t n;
	enum xs_err rc;

	if (!close)
		return xs_config_fail(p, XS_ERR_PARSE, "section header without ']'");
	if (!xs_config_rest_empty(close + 1, e))
		return xs_config_fail(p, XS_ERR_PARSE, "text after the section header");
	rc = xs_config_pool_close(p);
	if (rc)
		return rc;
	name = s + 1;
	while (name < close && xs_config_is_space(*name))
		name++;
	n = (size_t)(close - name);
	while (n > 0 && xs_config_is_space(name[n - 1]))
		n--;
	if (n == 9 && memcmp(name, "retention", 9) == 0) {
		if (p->retention_line)
			return xs_config_fail(p, XS_ERR_PARSE,
					      "duplicate section [retention] (first on line %u)",
					      p->retention_line);
		p->retention_line = p->line;
		p->section = XS_CONFIG_SEC_RETENTION;
		return XS_OK;
	}
	if (n > 4 && memcmp(name, "pool", 4) == 0 && xs_config_is_space(name[4]))
		return xs_config_section_pool(p, name + 5, n - 5);
	return xs_config_fail(p, XS_ERR_PARSE, "unknown section [%.*s] (expected [retention] or [pool NAME])",
			      xs_config_quote_len(n), name);
}

/* Whether host (n bytes, no brackets) is what the HTTP server can bind: a numeric IPv4 or
 * IPv6 address, or "localhost" (src/http/server.c http_resolve); a name is refused here,
 * at its file and line, rather than when the server starts. */
static bool xs_config_listen_host_ok(const char *host, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char a[16];

	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, host, n);
	tmp[n] = '\0';
	return strcasecmp(tmp, "localhost") == 0 || inet_pton(AF_INET, tmp, a) == 1 ||
	       inet_pton(AF_INET6, tmp, a) == 1;
}

bool xs_config_listen_set(struct xs_config *cfg, const char *text)
{
	const char *host;
	size_t hostlen;
	uint16_t port = 0;

	if (!xs_config_split_hostport(text, strlen(text), true, &host, &hostlen, &port) ||
	    !xs_config_listen_host_ok(host, hostlen))
		return false;
	free(cfg->listen_host);
	cfg->listen_host = xs_xstrndup(host, hostlen);
	cfg->listen_port = port;
	return true;
}

/* v: the value, NUL-terminated, n bytes */
static enum xs_err xs_config_set_listen(struct xs_config_parser *p, const char *v, size_t n)
{
	if (!xs_config_listen_set(p->cfg, v))
		return xs_config_fail(p, XS_ERR_PARSE,
				      "listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT "
				      "(a numeric address), got '%.*s'",
				      xs_config_quote_len(n), v);
	return XS_OK;
}

static enum xs_err xs_config_set_url(struct xs_config_parser *p, char **field, const char *v, size_t n)
{
	char masked[XS_LOG_URL_LEN];
	const char *host;
	size_t hostlen;
	bool https;
	const struct xs_config_pool *other;

	if (xs_cred_url_at_after_host(v))
		return xs_config_fail(p, XS_ERR_PARSE, "url: %s", xs_config_url_at_message);
	if (!xs_config_url_host(v, n, &host, &hostlen, &https))
		return xs_config_fail(p, XS_ERR_PARSE, "url: expected http(s)://HOST[:PORT][/PATH], got '%s'",
				      xs_log_url(masked, sizeof masked, v));
	other = xs_config_find_url(p->cfg, v, xs_config_cur_pool(p));
	if (other)
		return xs_config_fail(p, XS_ERR_PARSE, "url already used by pool '%s'", other->name);
	*field = xs_xstrndup(v, n);
	return XS_OK;
}

/* A `pin` value: its fingerprints are added to the pool's list. */
static enum xs_err xs_config_add_pins(struct xs_config_parser *p, char **field, const char *v,
				      size_t n)
{
	char list[XS_TLS_PINS_LEN], why[XS_ERR_LEN];
	enum xs_err rc;

	snprintf(list, sizeof list, "%s", *field ? *field : "");
	rc = xs_tls_pins_add(list, v, n, NULL, why);
	if (rc)
		return xs_config_fail(p, rc == XS_ERR_TOO_LARGE ? rc : XS_ERR_PARSE, "pin: %s", why);
	free(*field);
	*field = xs_xstrndup(list, strlen(list));
	return XS_OK;
}

/* Sets one key of the table entry k; base is the struct its offset refers to. */
static enum xs_err xs_config_set(struct xs_config_parser *p, const struct xs_config_key *k, void *base,
				 const char *v, size_t n)
{
	char **field = (char **)(void *)((char *)base + k->offset);
	enum xs_log_level level;

	switch (k->kind) {
	case XS_CONFIG_KIND_LISTEN: return xs_config_set_listen(p, v, n);
	case XS_CONFIG_KIND_LOGLEVEL:
		if (!xs_log_level_from_name(v, &level))
			return xs_config_fail(p, XS_ERR_PARSE,
					      "log_level: expected error, warn, info or debug, got '%.*s'",
					      xs_config_quote_len(n), v);
		p->cfg->log_level = level;
		return XS_OK;
	case XS_CONFIG_KIND_URL:
		if (k->line_offset)
			*(unsigned *)(void *)((char *)base + k->line_offset) = p->line;
		return xs_config_set_url(p, field, v, n);
	case XS_CONFIG_KIND_PIN: return xs_config_add_pins(p, field, v, n);
	case XS_CONFIG_KIND_BOOL:
		if (!xs_config_parse_bool(v, n, (bool *)(void *)((char *)base + k->offset)))
			return xs_config_fail(p, XS_ERR_PARSE, "%s: expected true or false, got '%.*s'",
					      k->name, xs_config_quote_len(n), v);
		return XS_OK;
	case XS_CONFIG_KIND_COUNT:
		if (!xs_config_parse_count(v, n, XS_CONFIG_CONNECTIONS_MAX,
					   (unsigned *)(void *)((char *)base + k->offset)))
			return xs_config_fail(p, XS_ERR_PARSE,
					      "%s: expected a whole number from 1 to %u, got '%.*s'", k->name,
					      XS_CONFIG_CONNECTIONS_MAX, xs_config_quote_len(n), v);
		return XS_OK;
	case XS_CONFIG_KIND_REFUSED:
		return xs_config_fail(p, XS_ERR_PARSE,
				      "passwords are not accepted in the configuration: use password_file");
	case XS_CONFIG_KIND_STRING: break;
	}
	if (k->line_offset)
		*(unsigned *)(void *)((char *)base + k->line_offset) = p->line;
	free(*field);
	*field = xs_xstrndup(v, n);
	return XS_OK;
}

static enum xs_err xs_config_tls_check(struct xs_config_parser *p)
{
	const struct xs_config_pool *pool = xs_config_cur_pool(p);

	if ((pool->ca_file != NULL) + (pool->pins != NULL) + pool->insecure > 1)
		return xs_config_fail(p, XS_ERR_PARSE,
				      "pool '%s': conflicting TLS options: ca_file, pin and insecure = true "
				      "exclude each other",
				      pool->name);
	return XS_OK;
}

/* Looks key up in table; sets it unless seen before (bit in *seen) and not repeatable. */
static enum xs_err xs_config_table(struct xs_config_parser *p, const struct xs_config_key *table,
				   size_t count, unsigned *seen, void *base, const char *key,
				   const char *v, size_t n)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(table[i].name, key) != 0)
			continue;
		if ((*seen & (1u << i)) && table[i].kind != XS_CONFIG_KIND_PIN)
			return xs_config_fail(p, XS_ERR_PARSE, "duplicate key '%s'", key);
		*seen |= 1u << i;
		return xs_config_set(p, &table[i], base, v, n);
	}
	return XS_ERR_ABORTED; /* not in this table */
}

static enum xs_err xs_config_retention(struct xs_config_parser *p, const char *key, const char *v,
				       size_t n)
{
	int64_t secs;

	for (int i = 0; i < XS_CONFIG_TIERS; i++) {
		if (strcmp(xs_config_tier_keys[i], key) != 0)
			continue;
		if (p->retention_seen & (1u << i))
			return xs_config_fail(p, XS_ERR_PARSE, "duplicate key '%s'", key);
		p->retention_seen |= 1u << i;
		if (!xs_config_parse_duration(v, n, &secs))
			return xs_config_fail(p, XS_ERR_PARSE,
					      "bad duration '%.*s' (a number and s, m, h, d, w or y; "
					      "at most 100y)",
					      xs_config_quote_len(n), v);
		if (secs < xs_config_tier_step[i])
			return xs_config_fail(p, XS_ERR_PARSE, "retention of the %s tier shorter than %s",
					      key, key);
		p->cfg->retention[i] = secs;
		return XS_OK;
	}
	return xs_config_fail(p, XS_ERR_PARSE, "unknown key '%s' in [retention] (expected 5s, 1m, 1h, 1d)",
			      key);
}

static enum xs_err xs_config_keyvalue(struct xs_config_parser *p, const char *key, const char *v,
				      size_t n)
{
	enum xs_err rc;

	if (n == 0)
		return xs_config_fail(p, XS_ERR_PARSE, "empty value for '%s'", key);
	if (memchr(v, '\0', n))
		return xs_config_fail(p, XS_ERR_PARSE, "NUL byte in the value of '%s'", key);
	switch (p->section) {
	case XS_CONFIG_SEC_RETENTION: return xs_config_retention(p, key, v, n);
	case XS_CONFIG_SEC_TOP:
		rc = xs_config_table(p, xs_config_top_keys,
				     sizeof xs_config_top_keys / sizeof xs_config_top_keys[0],
				     &p->top_seen, p->cfg, key, v, n);
		if (rc == XS_ERR_ABORTED)
			return xs_config_fail(p, XS_ERR_PARSE, "unknown key '%s'", key);
		return rc;
	case XS_CONFIG_SEC_POOL:
		rc = xs_config_table(p, xs_config_pool_keys,
				     sizeof xs_config_pool_keys / sizeof xs_config_pool_keys[0],
				     &p->pool_seen, xs_config_cur_pool(p), key, v, n);
		if (rc == XS_ERR_ABORTED)
			return xs_config_fail(p, XS_ERR_PARSE,
					      "unknown key '%s' in [pool %s] (top-level keys go before "
					      "the first section)",
					      key, xs_config_cur_pool(p)->name);
		return rc ? rc : xs_config_tls_check(p);
	}
	return XS_ERR_PARSE;
}

/* One line without its newline, s..e. */
static enum xs_err xs_config_line(struct xs_config_parser *p, const char *s, const char *e)
{
	char key[XS_CONFIG_NAME_MAX + 1];
	char value[XS_CONFIG_VALUE_MAX + 1];
	const char *k;
	size_t n;
	enum xs_err rc;

	while (s < e && xs_config_is_space(*s))
		s++;
	if (s == e || *s == '#' || *s == ';')
		return XS_OK;
	if (*s == '[')
		return xs_config_section(p, s, e);
	k = s;
	while (s < e && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
			 *s == '_'))
		s++;
	n = (size_t)(s - k);
	while (s < e && xs_config_is_space(*s))
		s++;
	if (n == 0 || s == e || *s != '=')
		return xs_config_fail(p, XS_ERR_PARSE, "expected KEY = VALUE, [retention] or [pool NAME]");
	if (n > XS_CONFIG_NAME_MAX)
		return xs_config_fail(p, XS_ERR_PARSE, "unknown key '%.*s...'", XS_CONFIG_QUOTE_MAX, k);
	memcpy(key, k, n);
	key[n] = '\0';
	rc = xs_config_value(p, s + 1, e, value, &n);
	if (rc)
		return rc;
	return xs_config_keyvalue(p, key, value, n);
}

static enum xs_err xs_config_parse(struct xs_config_parser *p, const char *text, size_t len)
{
	const char *s = text, *end = text + len;
	enum xs_err rc;

	if (len > XS_CONFIG_FILE_MAX) {
		if (p->err)
			snprintf(p->err, XS_ERR_LEN, "%s: file too large (max %d bytes)", p->name,
				 XS_CONFIG_FILE_MAX);
		return XS_ERR_TOO_LARGE;
	}
	/* invisible in an editor, it would otherwise read "expected KEY = VALUE" on line 1 */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		return xs_config_fail_at(p, 1, XS_ERR_PARSE,
					 "the file starts with a UTF-8 byte order mark (EF BB BF): "
					 "save it without one");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		p->line++;
		if (e > s && e[-1] == '\r')
			e--;
		if (e - s > XS_CONFIG_LINE_MAX)
			return xs_config_fail(p, XS_ERR_TOO_LARGE, "line too long (max %d bytes)",
					      XS_CONFIG_LINE_MAX);
		if (memchr(s, '\0', (size_t)(e - s)))
			return xs_config_fail(p, XS_ERR_PARSE, "NUL byte");
		if (memchr(s, '\r', (size_t)(e - s)))
			return xs_config_fail(p, XS_ERR_PARSE,
					      "carriage return without a line feed (lines end with "
					      "\\n or \\r\\n)");
		rc = xs_config_line(p, s, e);
		if (rc)
			return rc;
		s = nl ? nl + 1 : end;
	}
	return xs_config_pool_close(p);
}

enum xs_err xs_config_load_string(struct xs_config *cfg, const char *text, size_t len,
				  const char *name, char *err)
{
	struct xs_config tmp;
	struct xs_config_parser p;
	enum xs_err rc;

	if (!name)
		name = "(config)";
	xs_config_defaults(&tmp);
	memset(&p, 0, sizeof p);
	p.cfg = &tmp;
	p.name = name;
	p.err = err;
	rc = xs_config_parse(&p, text ? text : "", text ? len : 0);
	if (rc) {
		xs_config_free(&tmp);
		return rc;
	}
	tmp.source = xs_xstrndup(name, strlen(name));
	xs_config_free(cfg);
	*cfg = tmp;
	return XS_OK;
}

enum xs_err xs_config_load_file(struct xs_config *cfg, const char *path, char *err)
{
	struct xs_buf b;
	char chunk[8192];
	enum xs_err rc = XS_OK;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (!f)
		return xs_err_set(err, XS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	/* one byte past the cap, so "too large" is told apart from "exactly the cap" */
	xs_buf_init(&b, XS_CONFIG_FILE_MAX + 1);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		rc = xs_buf_append(&b, chunk, n);
		if (rc) {
			rc = xs_err_set(err, XS_ERR_TOO_LARGE, "%s: file too large (max %d bytes)", path,
					XS_CONFIG_FILE_MAX);
			goto out_close;
		}
	}
	if (ferror(f)) {
		rc = xs_err_set(err, XS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
		goto out_close;
	}
	rc = xs_config_load_string(cfg, b.data ? b.data : "", b.len, path, err);
out_close:
	fclose(f);
	xs_buf_free(&b);
	return rc;
}

/* Derives a free pool name from host[0..n): invalid characters become '-'. */
static void xs_config_pool_name(const struct xs_config *cfg, const char *host, size_t n, char *name)
{
	char base[XS_CONFIG_NAME_MAX + 1];
	size_t len = n > XS_CONFIG_NAME_MAX - 8 ? XS_CONFIG_NAME_MAX - 8 : n; /* room for "-NNNN" */

	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		base[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == '.' || c == '_' || c == '-')
				  ? c
				  : '-';
	}
	base[len] = '\0';
	snprintf(name, XS_CONFIG_NAME_MAX + 1, "%s", base);
	/* at most XS_CONFIG_POOLS_MAX names are taken, so k stays below 5 digits */
	for (unsigned k = 2; xs_config_find_pool(cfg, name) && k <= XS_CONFIG_POOLS_MAX + 1; k++)
		snprintf(name, XS_CONFIG_NAME_MAX + 1, "%.*s-%u", (int)len, base, k % 100000);
}

enum xs_err xs_config_add_pool_url(struct xs_config *cfg, const char *url, char *err)
{
	char masked[XS_LOG_URL_LEN];
	char name[XS_CONFIG_NAME_MAX + 1];
	struct xs_config_pool *pool;
	const char *host;
	size_t hostlen, n = strlen(url);
	bool https;

	if (n > XS_CONFIG_VALUE_MAX)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "--pool: URL too long (max %d bytes)",
				  XS_CONFIG_VALUE_MAX);
	if (xs_cred_url_at_after_host(url))
		return xs_err_set(err, XS_ERR_ARG, "--pool %s: %s", xs_log_url(masked, sizeof masked, url),
				  xs_config_url_at_message);
	if (!xs_config_url_host(url, n, &host, &hostlen, &https))
		return xs_err_set(err, XS_ERR_ARG, "--pool %s: expected http(s)://HOST[:PORT][/PATH]",
				  xs_log_url(masked, sizeof masked, url));
	if (xs_config_find_url(cfg, url, NULL))
		return xs_err_set(err, XS_ERR_ARG, "--pool %s: pool given twice",
				  xs_log_url(masked, sizeof masked, url));
	if (cfg->npools >= XS_CONFIG_POOLS_MAX)
		return xs_err_set(err, XS_ERR_ARG, "--pool: too many pools (max %d)", XS_CONFIG_POOLS_MAX);
	xs_config_pool_name(cfg, host, hostlen, name);
	pool = xs_config_pool_push(cfg, name, strlen(name));
	pool->url = xs_xstrndup(url, n);
	return XS_OK;
}

enum xs_err xs_config_flag_tls(struct xs_config *cfg, size_t first, const char *ca_file,
			       const char *pins, bool insecure, char *err)
{
	char masked[XS_LOG_URL_LEN];

	if (!ca_file && !pins && !insecure)
		return XS_OK;
	if ((ca_file != NULL) + (pins != NULL) + insecure > 1)
		return xs_err_set(err, XS_ERR_ARG, "--ca-file, --pin and --insecure exclude each other");
	if (first >= cfg->npools)
		return xs_err_set(err, XS_ERR_ARG,
				  "--ca-file, --pin and --insecure apply to the pools of --pool flags: "
				  "give one (a [pool] section of the file takes ca_file, pin or insecure)");
	for (size_t i = first; i < cfg->npools; i++) {
		struct xs_config_pool *pool = &cfg->pools[i];
		const char *host;
		size_t hostlen;
		bool https = false;

		xs_config_url_host(pool->url, strlen(pool->url), &host, &hostlen, &https);
		if (!https)
			return xs_err_set(err, XS_ERR_ARG,
					  "--pool %s: --ca-file, --pin and --insecure need an https:// URL",
					  xs_log_url(masked, sizeof masked, pool->url));
		if (ca_file)
			pool->ca_file = xs_xstrndup(ca_file, strlen(ca_file));
		if (pins)
			pool->pins = xs_xstrndup(pins, strlen(pins));
		pool->insecure = insecure;
	}
	return XS_OK;
}

const char *xs_config_where(const struct xs_config *cfg, unsigned line, char *buf, size_t n)
{
	if (line && cfg->source)
		snprintf(buf, n, "%s:%u: ", cfg->source, line);
	else
		buf[0] = '\0';
	return buf;
}

bool xs_config_listen_is_loopback(const struct xs_config *cfg)
{
	unsigned char a[16];
	const char *h = cfg->listen_host;

	if (!h)
		return false;
	if (strcasecmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, h, a) == 1) {
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		static const unsigned char loop6[16] = { [15] = 1 };

		return memcmp(a, loop6, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
	}
	return false;
}

enum xs_err xs_config_validate(const struct xs_config *cfg, char *err)
{
	if (cfg->npools == 0)
		return xs_err_set(err, XS_ERR_ARG,
				  "no pool configured: give --pool URL or a [pool NAME] section");
	if (!cfg->data_dir || !cfg->data_dir[0])
		return xs_err_set(err, XS_ERR_ARG,
				  "no data directory: give --data DIR or 'data = DIR' in the configuration");
	if (!cfg->listen_host || cfg->listen_port == 0)
		return xs_err_set(err, XS_ERR_ARG, "no listen address: give 'listen = HOST:PORT'");
	if (!cfg->tls_cert_file != !cfg->tls_key_file)
		return xs_err_set(err, XS_ERR_ARG,
				  "%s without %s: HTTPS for the API needs both 'tls_cert' and 'tls_key'",
				  cfg->tls_cert_file ? "tls_cert" : "tls_key",
				  cfg->tls_cert_file ? "tls_key" : "tls_cert");
	if (!xs_config_listen_is_loopback(cfg) && (!cfg->token_file || !cfg->token_file[0]))
		return xs_err_set(err, XS_ERR_ARG,
				  "listen address %.64s is not loopback: an API token is required "
				  "('token_file = FILE', or --token-file FILE)",
				  cfg->listen_host);
	if (cfg->max_connections < 1 || cfg->max_connections > XS_CONFIG_CONNECTIONS_MAX)
		return xs_err_set(err, XS_ERR_ARG, "max_connections out of range (1 to %u)",
				  XS_CONFIG_CONNECTIONS_MAX);
	if (cfg->max_connections_per_ip < 1)
		return xs_err_set(err, XS_ERR_ARG, "max_connections_per_ip out of range (1 to %u)",
				  cfg->max_connections);
	if (cfg->max_connections_per_ip > cfg->max_connections)
		return xs_err_set(err, XS_ERR_ARG,
				  "max_connections_per_ip (%u) is more than max_connections (%u): "
				  "lower it, or raise max_connections",
				  cfg->max_connections_per_ip, cfg->max_connections);
	for (int i = 0; i < XS_CONFIG_TIERS; i++) {
		if (cfg->retention[i] < xs_config_tier_step[i] || cfg->retention[i] > XS_CONFIG_DURATION_MAX)
			return xs_err_set(err, XS_ERR_ARG, "retention of the %s tier out of range",
					  xs_config_tier_keys[i]);
	}
	return XS_OK;
}

/* ---- formatting ---- */

/* Appends ` = "VALUE"\n`, escaping '"' and '\\' as the parser reads them. */
static enum xs_err xs_config_format_string(struct xs_buf *out, const char *key, const char *v)
{
	enum xs_err rc = xs_buf_printf(out, "%s = \"", key);

	for (; rc == XS_OK && *v; v++) {
		if (*v == '"' || *v == '\\')
			rc = xs_buf_append(out, "\\", 1);
		if (rc == XS_OK)
			rc = xs_buf_append(out, v, 1);
	}
	return rc ? rc : xs_buf_append_str(out, "\"\n");
}

static enum xs_err xs_config_format_duration(struct xs_buf *out, const char *key, int64_t secs)
{
	static const char units[] = "ywdhm";
	static const int64_t mult[] = { 365 * 86400, 7 * 86400, 86400, 3600, 60 };

	for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
		if (secs % mult[i] == 0)
			return xs_buf_printf(out, "%s = %" PRId64 "%c\n", key, secs / mult[i], units[i]);
	}
	return xs_buf_printf(out, "%s = %" PRId64 "s\n", key, secs);
}

/* One `pin = FP` line per fingerprint: a whole list would pass the line limit. */
static enum xs_err xs_config_format_pins(struct xs_buf *out, const char *pins)
{
	enum xs_err rc = XS_OK;

	for (const char *p = pins; rc == XS_OK && *p;) {
		size_t len = strcspn(p, ",");

		rc = xs_buf_printf(out, "pin = %.*s\n", (int)len, p);
		p += len + (p[len] == ',');
	}
	return rc;
}

static enum xs_err xs_config_format_pool(struct xs_buf *out, const struct xs_config_pool *pool)
{
	char masked[XS_LOG_URL_LEN];
	enum xs_err rc;

	rc = xs_buf_printf(out, "\n[pool %s]\n", pool->name);
	if (rc == XS_OK && pool->url)
		rc = xs_config_format_string(out, "url", xs_log_url(masked, sizeof masked, pool->url));
	if (rc == XS_OK && pool->user)
		rc = xs_config_format_string(out, "user", pool->user);
	if (rc == XS_OK && pool->password_file)
		rc = xs_config_format_string(out, "password_file", pool->password_file);
	if (rc == XS_OK && pool->ca_file)
		rc = xs_config_format_string(out, "ca_file", pool->ca_file);
	if (rc == XS_OK && pool->pins)
		rc = xs_config_format_pins(out, pool->pins);
	if (rc == XS_OK && pool->insecure)
		rc = xs_buf_append_str(out, "insecure = true\n");
	return rc;
}

enum xs_err xs_config_format(const struct xs_config *cfg, struct xs_buf *out)
{
	const char *h = cfg->listen_host ? cfg->listen_host : "";
	char listen[XS_CONFIG_VALUE_MAX + 16];
	enum xs_err rc;

	/* quoted like every string: a host may start with a quote character */
	snprintf(listen, sizeof listen, strchr(h, ':') ? "[%s]:%u" : "%s:%u", h,
		 (unsigned)cfg->listen_port);
	rc = xs_config_format_string(out, "listen", listen);
	if (rc == XS_OK && cfg->data_dir)
		rc = xs_config_format_string(out, "data", cfg->data_dir);
	if (rc == XS_OK)
		rc = xs_buf_printf(out, "log_level = %s\n", xs_log_level_name(cfg->log_level));
	if (rc == XS_OK && cfg->token_file)
		rc = xs_config_format_string(out, "token_file", cfg->token_file);
	if (rc == XS_OK && cfg->tls_cert_file)
		rc = xs_config_format_string(out, "tls_cert", cfg->tls_cert_file);
	if (rc == XS_OK && cfg->tls_key_file)
		rc = xs_config_format_string(out, "tls_key", cfg->tls_key_file);
	if (rc == XS_OK && cfg->web_dir)
		rc = xs_config_format_string(out, "web", cfg->web_dir);
	if (rc == XS_OK)
		rc = xs_buf_printf(out, "max_connections = %u\nmax_connections_per_ip = %u\n",
				   cfg->max_connections, cfg->max_connections_per_ip);
	if (rc == XS_OK)
		rc = xs_buf_append_str(out, "\n[retention]\n");
	for (int i = 0; rc == XS_OK && i < XS_CONFIG_TIERS; i++)
		rc = xs_config_format_duration(out, xs_config_tier_keys[i], cfg->retention[i]);
	for (size_t i = 0; rc == XS_OK && i < cfg->npools; i++)
		rc = xs_config_format_pool(out, &cfg->pools[i]);
	return rc;
}
