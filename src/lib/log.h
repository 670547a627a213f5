/*
 * log.h - leveled logging to stderr, readable on a terminal and by journald.
 *
 * Every message is one line written with a single write(2), so lines from
 * several threads never interleave (up to PIPE_BUF bytes) and journald sees
 * one record per line. Its start depends on where stderr goes:
 *   - not a terminal, or JOURNAL_STREAM set (systemd): the sd-daemon priority
 *     prefix "<3>" error, "<4>" warning, "<6>" info, "<7>" debug, then the text;
 *   - a terminal: "YYYY-MM-DD HH:MM:SS LEVEL " (local time; LEVEL one of
 *     ERROR, WARN, INFO, DEBUG), then the text.
 * Control characters in the text (a newline in an upstream error) are written
 * as '?' so one message stays one line; lines are cut at XS_LOG_LINE_MAX bytes
 * with "..." at the end.
 *
 * The minimum level is the one global of this module: set it once at start-up
 * (xs_log_set_level) before threads start; reading it is atomic anyway.
 * Default: XS_LOG_INFO.
 *
 * Secrets: never pass a pool URL as it is; pass xs_log_url(), which drops the
 * user-info (user:password@) and the query (session_id travels there).
 */
#ifndef XS_LIB_LOG_H
#define XS_LIB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS_LOG_LINE_MAX 2048 /* longest line written, prefix and '\n' included */
#define XS_LOG_URL_LEN 512   /* a good size for xs_log_url() buffers */

/* Values are the syslog priorities, as the sd-daemon prefix carries them. */
enum xs_log_level {
	XS_LOG_ERROR = 3, /* something failed that an operator should look at */
	XS_LOG_WARN = 4,  /* degraded but going on (a host unreachable, a retry) */
	XS_LOG_INFO = 6,  /* start, stop, reload, a host coming back */
	XS_LOG_DEBUG = 7, /* per-request detail */
};

/* Sets the minimum level written; messages of a higher number are dropped. */
void xs_log_set_level(enum xs_log_level level);
enum xs_log_level xs_log_get_level(void);

/* True when a message of this level would be written (to skip costly formatting). */
bool xs_log_enabled(enum xs_log_level level);

/*
 * Parses a level name: "error", "warn" / "warning", "info", "debug"
 * (case-insensitive) into *out. Returns false (and leaves *out alone) for
 * anything else, NULL included.
 */
bool xs_log_level_from_name(const char *name, enum xs_log_level *out);

/* "error", "warn", "info", "debug"; "?" for a value outside the enum. */
const char *xs_log_level_name(enum xs_log_level level);

/* Writes one message at `level` (see the top of this file). Never fails visibly. */
void xs_log(enum xs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xs_log_v(enum xs_log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

void xs_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xs_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xs_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xs_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Rate limiting of repeated messages from one source (a host that keeps
 * failing): the caller owns one struct xs_log_limit per source, zero-filled
 * before first use, and keeps it next to the source (e.g. in its per-host
 * state), so 1,000 failing hosts each get their own line while one host
 * failing every 5 s does not flood the journal. Not thread-safe: one limiter
 * belongs to one thread.
 */
struct xs_log_limit {
	int64_t next_ms;     /* monotonic ms before which messages are suppressed */
	uint64_t suppressed; /* messages dropped since the last one written */
};

/*
 * Pure decision for xs_log_every(), exposed for tests: returns true when a
 * message may be written at monotonic time now_ms, and then stores in
 * *suppressed (if not NULL) how many were dropped since the last one and
 * starts a new window of `seconds`; returns false and counts a drop otherwise.
 */
bool xs_log_limit_pass(struct xs_log_limit *lim, unsigned seconds, int64_t now_ms,
		       uint64_t *suppressed);

/*
 * Writes the message at most once every `seconds` for this limiter; the
 * message that ends a window of drops gets " (N similar messages suppressed)"
 * appended. Messages below the minimum level are neither written nor counted.
 */
void xs_log_every(struct xs_log_limit *lim, unsigned seconds, enum xs_log_level level,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Writes into buf (cap bytes, cap >= 4; XS_LOG_URL_LEN is plenty) the URL
 * without its user-info ("user:pass@"), query ("?session_id=...") and
 * fragment: "https://root:pw@10.0.0.1:443/rrd_updates?session_id=S" becomes
 * "https://10.0.0.1:443/rrd_updates". The user-info is everything up to the
 * URL's last '@', wherever it is, so a password holding an unencoded '/', '?'
 * or '#' is hidden too. Text too long for buf is cut and ends in "...". url
 * NULL gives "(null)". Returns buf, so it can be a printf argument.
 */
const char *xs_log_url(char *buf, size_t cap, const char *url);

#endif
