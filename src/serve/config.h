/*
 * config.h - the configuration of `xapistat serve`: a file (-c FILE, format in
 * docs/CONFIG.md) and the flags of the simple case (--data DIR --pool URL...).
 *
 * Order of use (cmd_serve): xs_config_defaults(), then xs_config_load_file()
 * when -c is given, then the flags (xs_config_add_pool_url() per --pool, plain
 * assignments for the rest), then xs_config_validate() before anything starts.
 * A SIGHUP reload does the same into a fresh struct and swaps on success.
 *
 * Loading is all or nothing: the file is parsed into a temporary and cfg is
 * replaced only when the whole file is valid, so the daemon never runs
 * half-configured. Every load error reads "FILE:LINE: problem".
 *
 * Secrets: no password is ever held here except through password_file. A
 * --pool URL may carry user:password@ (the collector resolves it with
 * xapi/credentials.h); it is kept as given, so print it only through
 * xs_log_url() - xs_config_format() does that already.
 *
 * struct xs_config is exposed so cmd_serve can keep it on the stack and read
 * its fields; every string is owned by the struct (heap, freed by
 * xs_config_free()). A caller that replaces a string frees the old one and
 * stores a malloc'd copy.
 */
#ifndef XS_SERVE_CONFIG_H
#define XS_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"

#define XS_CONFIG_FILE_MAX (1024 * 1024) /* largest configuration file read, bytes */
#define XS_CONFIG_LINE_MAX 4096          /* longest line, bytes (without the newline) */
#define XS_CONFIG_VALUE_MAX 2048         /* longest value (path, URL), bytes */
#define XS_CONFIG_NAME_MAX 64            /* longest pool name: [A-Za-z0-9._-]+ */
#define XS_CONFIG_POOLS_MAX 1000         /* most pools in one configuration */
#define XS_CONFIG_DURATION_MAX (100LL * 365 * 86400) /* longest duration: 100 years, s */

#define XS_CONFIG_DEFAULT_LISTEN_HOST "127.0.0.1"
#define XS_CONFIG_DEFAULT_LISTEN_PORT 8080
#define XS_CONFIG_DEFAULT_MAX_CONNECTIONS 1024 /* = XS_HTTP_DEFAULT_MAX_CONNECTIONS */
#define XS_CONFIG_DEFAULT_MAX_PER_IP 128       /* = XS_HTTP_DEFAULT_MAX_PER_IP */
#define XS_CONFIG_CONNECTIONS_MAX 1000000      /* most max_connections takes */

/* The store tiers retention applies to, by step. */
enum xs_config_tier {
	XS_CONFIG_TIER_5S = 0, /* raw 5 s samples; key "5s", default 2 days */
	XS_CONFIG_TIER_1M,     /* key "1m", default 60 days */
	XS_CONFIG_TIER_1H,     /* key "1h", default 2 years */
	XS_CONFIG_TIER_1D,     /* key "1d", default 10 years */
	XS_CONFIG_TIERS
};

struct xs_config_pool {
	char *name;          /* unique, [A-Za-z0-9._-], at most XS_CONFIG_NAME_MAX bytes */
	char *url;           /* "http(s)://[user[:pass]@]host[:port][/path]", as given */
	char *user;          /* NULL: the URL's user, else "root" (xapi/credentials.h) */
	char *password_file; /* NULL: the URL's password or XAPISTAT_PASSWORD */
	char *ca_file;       /* NULL: system CAs; at most one of ca_file, pins, insecure */
	char *pins;          /* NULL or the `pin` keys' fingerprints, a canonical list
			      * (xapi/tls_pins.h: "AB:CD:...,EF:...", at most XS_TLS_PINS_MAX) */
	bool insecure;       /* no TLS verification at all (explicit opt-in) */
	unsigned line;       /* line of its [pool NAME] header; 0 when from --pool */
	unsigned url_line, password_file_line, ca_file_line; /* their keys' lines; 0: not in the file */
};

struct xs_config {
	char *listen_host;   /* "127.0.0.1", "::1" (no brackets), "0.0.0.0", "localhost": no other name */
	uint16_t listen_port;
	char *data_dir;      /* NULL until set: required by xs_config_validate() */
	enum xs_log_level log_level;
	char *token_file;    /* API bearer token file; required when listen is not loopback */
	char *tls_cert_file; /* API over HTTPS: PEM certificate and key (both or neither) */
	char *tls_key_file;
	char *web_dir;       /* the web UI's files; NULL = the built-in default (see cmd_serve.c) */
	unsigned token_file_line; /* its key's line; 0: not in the file */
	unsigned max_connections;        /* the API's open connections, 1..XS_CONFIG_CONNECTIONS_MAX */
	unsigned max_connections_per_ip; /* ... from one client address, 1..max_connections */
	int64_t retention[XS_CONFIG_TIERS]; /* seconds, > 0, at least the tier's step */
	struct xs_config_pool *pools; /* npools entries, in file / flag order */
	size_t npools;
	char *source;        /* the file loaded (for messages and reload), or NULL */
};

/*
 * Fills cfg with the defaults (listen 127.0.0.1:8080, log level info,
 * retention 2d / 60d / 2y / 10y, 1,024 API connections and 128 per client
 * address, no data dir, no token file, no pool).
 * cfg is overwritten without being freed: call it on a new struct only.
 */
void xs_config_defaults(struct xs_config *cfg);

/*
 * Reads the file at path (at most XS_CONFIG_FILE_MAX bytes) and, when it is
 * entirely valid, replaces cfg by the defaults plus the file: cfg's previous
 * contents are freed (cfg must be initialised by xs_config_defaults() or
 * zero-filled). On error cfg is untouched and err (XS_ERR_LEN) reads
 * "PATH:LINE: problem" (or "PATH: problem" for a file that cannot be read).
 * Errors: XS_ERR_IO (cannot read), XS_ERR_TOO_LARGE (file, line or value too
 * long, too many pools or pins), XS_ERR_PARSE (everything else: unknown key or
 * section, bad duration or boolean, duplicate key or pool name, pool without
 * url, conflicting TLS options, ...).
 */
enum xs_err xs_config_load_file(struct xs_config *cfg, const char *path, char *err)
	__attribute__((warn_unused_result));

/*
 * The same from text[0..len) (need not be NUL-terminated; a NUL byte is an
 * error); name stands for the file in messages and becomes cfg->source.
 */
enum xs_err xs_config_load_string(struct xs_config *cfg, const char *text, size_t len,
				  const char *name, char *err) __attribute__((warn_unused_result));

/*
 * Adds a pool for a --pool URL (http:// or https://, user-info allowed): its
 * name is the URL's host (brackets of an IPv6 literal dropped, other
 * characters outside [A-Za-z0-9._-] replaced by '-'), with "-2", "-3", ...
 * appended when taken. XS_ERR_ARG (err says why, never quoting the user-info)
 * for a URL that is not http(s)://HOST..., a URL already configured, or too
 * many pools; XS_ERR_TOO_LARGE past XS_CONFIG_VALUE_MAX. cfg is unchanged on error.
 */
enum xs_err xs_config_add_pool_url(struct xs_config *cfg, const char *url, char *err)
	__attribute__((warn_unused_result));

/*
 * Checks what only the whole configuration can tell: at least one pool, a
 * data dir, a token_file when listen_host is not loopback, a per-address
 * connection cap no larger than the whole one. XS_ERR_ARG with
 * err set (naming the flag or key to use) otherwise.
 */
enum xs_err xs_config_validate(const struct xs_config *cfg, char *err)
	__attribute__((warn_unused_result));

/* The flags --ca-file FILE, --pin (pins: a canonical list, xapi/tls_pins.h) and --insecure
 * given to the pools cfg->pools[first..] (those of --pool flags): at most one of them, and
 * only with https:// URLs; XS_ERR_ARG naming the flag otherwise. None given: nothing. */
enum xs_err xs_config_flag_tls(struct xs_config *cfg, size_t first, const char *ca_file,
			       const char *pins, bool insecure, char *err)
	__attribute__((warn_unused_result));

/*
 * Where a file named by the configuration was given, for the error of
 * reading it later: "SOURCE:LINE: " when line (a *_line field above) is
 * not 0 and cfg was loaded from a file, "" otherwise (a flag, a --pool URL).
 * Written to buf (n bytes, at least 1); returns buf.
 */
const char *xs_config_where(const struct xs_config *cfg, unsigned line, char *buf, size_t n);

/* Sets cfg's listen address from "HOST:PORT" or "[IPV6]:PORT" (the --listen flag), read as
 * the file's `listen` is; false, cfg unchanged, when text is not one or HOST is neither a
 * numeric address nor "localhost" (what the HTTP server can bind). */
bool xs_config_listen_set(struct xs_config *cfg, const char *text);

/* True for "localhost", 127.0.0.0/8 and ::1. */
bool xs_config_listen_is_loopback(const struct xs_config *cfg);

/* The pool named name, or NULL. */
const struct xs_config_pool *xs_config_find_pool(const struct xs_config *cfg, const char *name);

/*
 * Parses a duration "90s", "5m", "2h", "2d", "1w", "10y" (y = 365 d; parts
 * may be chained: "1d12h") from s[0..n) into *seconds. False for anything
 * else, zero, or more than XS_CONFIG_DURATION_MAX.
 */
bool xs_config_parse_duration(const char *s, size_t n, int64_t *seconds);

/* Parses true/false, yes/no, on/off, 1/0 (case-insensitive). */
bool xs_config_parse_bool(const char *s, size_t n, bool *out);

/*
 * Appends cfg in the file syntax to out, loadable again with the same result,
 * except that URLs are written through xs_log_url() (no user-info, no query):
 * safe to log. Returns what xs_buf_printf() returns.
 */
enum xs_err xs_config_format(const struct xs_config *cfg, struct xs_buf *out)
	__attribute__((warn_unused_result));

/* Frees every string and the pool array; cfg is left zero-filled. Accepts NULL. */
void xs_config_free(struct xs_config *cfg);

#endif
