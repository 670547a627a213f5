/*
 * log.c - leveled logging to stderr (see log.h for the line format).
 *
 * Each message is formatted into a stack buffer and written with one write(2):
 * stdio's stderr is unbuffered and would split a line into several writes,
 * which journald (and other threads) could see interleaved. The prefix style
 * is decided per message: isatty() and getenv() cost nothing next to a log
 * line, and deciding late keeps the module free of a second global (and lets
 * a test redirect stderr between messages).
 */
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The one global (log.h): read and written atomically, relaxed is enough. */
static int xs_log_min = XS_LOG_INFO;

#define XS_LOG_ELLIPSIS "..."
#define XS_LOG_PREFIX_MAX 40 /* "YYYY-MM-DD HH:MM:SS DEBUG " with room to spare */

void xs_log_set_level(enum xs_log_level level)
{
	__atomic_store_n(&xs_log_min, (int)level, __ATOMIC_RELAXED);
}

enum xs_log_level xs_log_get_level(void)
{
	return (enum xs_log_level)__atomic_load_n(&xs_log_min, __ATOMIC_RELAXED);
}

bool xs_log_enabled(enum xs_log_level level)
{
	return (int)level <= __atomic_load_n(&xs_log_min, __ATOMIC_RELAXED);
}

bool xs_log_level_from_name(const char *name, enum xs_log_level *out)
{
	static const struct {
		const char *name;
		enum xs_log_level level;
	} names[] = {
		{ "error", XS_LOG_ERROR }, { "warn", XS_LOG_WARN }, { "warning", XS_LOG_WARN },
		{ "info", XS_LOG_INFO },   { "debug", XS_LOG_DEBUG },
	};

	if (!name)
		return false;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return true;
		}
	}
	return false;
}

const char *xs_log_level_name(enum xs_log_level level)
{
	switch (level) {
	case XS_LOG_ERROR: return "error";
	case XS_LOG_WARN: return "warn";
	case XS_LOG_INFO: return "info";
	case XS_LOG_DEBUG: return "debug";
	}
	return "?";
}

static const char *xs_log_level_word(enum xs_log_level level)
{
	switch (level) {
	case XS_LOG_ERROR: return "ERROR";
	case XS_LOG_WARN: return "WARN";
	case XS_LOG_INFO: return "INFO";
	case XS_LOG_DEBUG: return "DEBUG";
	}
	return "?";
}

/* Journald reads the "<N>" prefix from a stream it owns (JOURNAL_STREAM), and
 * any non-terminal is most likely a supervisor's pipe or a file. */
static bool xs_log_use_priority_prefix(void)
{
	if (getenv("JOURNAL_STREAM"))
		return true;
	return !isatty(STDERR_FILENO);
}

static size_t xs_log_prefix(char *buf, size_t cap, enum xs_log_level level)
{
	struct tm tm;
	time_t now;
	int n;

	if (xs_log_use_priority_prefix()) {
		n = snprintf(buf, cap, "<%d>", (int)level);
	} else {
		now = time(NULL);
		localtime_r(&now, &tm);
		n = snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d %s ", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     xs_log_level_word(level));
	}
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Writes all of buf[0..len), retrying on EINTR and short writes. */
static void xs_log_write(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

/* Formats "PREFIX TEXT[SUFFIX]\n" into line and writes it. suffix may be NULL. */
static void xs_log_emit(enum xs_log_level level, const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void xs_log_emit(enum xs_log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[XS_LOG_LINE_MAX];
	size_t room = sizeof line - 1; /* keep one byte for the '\n' */
	size_t len, start;
	int n;

	len = xs_log_prefix(line, room, level);
	start = len;
	n = vsnprintf(line + len, room - len, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= room - len) {
		len = room - 1;
		memcpy(line + len - (sizeof XS_LOG_ELLIPSIS - 1), XS_LOG_ELLIPSIS,
		       sizeof XS_LOG_ELLIPSIS - 1);
	} else {
		len += (size_t)n;
		if (suffix) {
			n = snprintf(line + len, room - len, "%s", suffix);
			if (n > 0)
				len += (size_t)n < room - len ? (size_t)n : room - len - 1;
		}
	}
	/* one message is one line: no newline or terminal escape from upstream text */
	for (size_t i = start; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\n';
	xs_log_write(line, len);
}

void xs_log_v(enum xs_log_level level, const char *fmt, va_list ap)
{
	if (!xs_log_enabled(level))
		return;
	xs_log_emit(level, NULL, fmt, ap);
}

void xs_log(enum xs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_log_v(level, fmt, ap);
	va_end(ap);
}

void xs_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_log_v(XS_LOG_ERROR, fmt, ap);
	va_end(ap);
}

void xs_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_log_v(XS_LOG_WARN, fmt, ap);
	va_end(ap);
}

void xs_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_log_v(XS_LOG_INFO, fmt, ap);
	va_end(ap);
}

void xs_log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_log_v(XS_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

bool xs_log_limit_pass(struct xs_log_limit *lim, unsigned seconds, int64_t now_ms,
		       uint64_t *suppressed)
{
	if (lim->next_ms != 0 && now_ms < lim->next_ms) {
		lim->suppressed++;
		return false;
	}
	if (suppressed)
		*suppressed = lim->suppressed;
	lim->suppressed = 0;
	/* a zero next_ms means "never logged": keep it non-zero once used */
	lim->next_ms = now_ms + (int64_t)seconds * 1000;
	if (lim->next_ms == 0)
		lim->next_ms = 1;
	return true;
}

static int64_t xs_log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void xs_log_every(struct xs_log_limit *lim, unsigned seconds, enum xs_log_level level,
		  const char *fmt, ...)
{
	char suffix[64];
	uint64_t dropped = 0;
	va_list ap;

	if (!xs_log_enabled(level))
		return;
	if (!xs_log_limit_pass(lim, seconds, xs_log_now_ms(), &dropped))
		return;
	suffix[0] = '\0';
	if (dropped > 0)
		snprintf(suffix, sizeof suffix, " (%llu similar messages suppressed)",
			 (unsigned long long)dropped);
	va_start(ap, fmt);
	xs_log_emit(level, dropped > 0 ? suffix : NULL, fmt, ap);
	va_end(ap);
}

/* Copies src[0..n) to buf at *len, cutting with "..." when buf is full.
 * Returns false once cut. */
static bool xs_log_url_put(char *buf, size_t cap, size_t *len, const char *src, size_t n)
{
	const size_t ell = sizeof XS_LOG_ELLIPSIS - 1;

	if (*len + n < cap) {
		memcpy(buf + *len, src, n);
		*len += n;
		buf[*len] = '\0';
		return true;
	}
	/* fill what is left, then end with "..." over the last bytes */
	memcpy(buf + *len, src, cap - 1 - *len);
	*len = cap - 1 >= ell ? cap - 1 - ell : 0;
	memcpy(buf + *len, XS_LOG_ELLIPSIS, cap - 1 - *len);
	*len = cap - 1;
	buf[*len] = '\0';
	return false;
}

const char *xs_log_url(char *buf, size_t cap, const char *url)
{
	const char *auth, *at, *end, *scheme;
	size_t len = 0;

	if (!buf || cap == 0)
		return "";
	buf[0] = '\0';
	if (!url)
		url = "(null)";
	scheme = strstr(url, "://");
	auth = scheme ? scheme + 3 : url;
	/* The user-info ends at the last '@' of the whole URL, not only of the authority: a
	 * password holding an unencoded '/', '?' or '#' would otherwise end the authority inside
	 * itself and be printed ("https://root:ab/cd@h" is user "root", password "ab/cd" to its
	 * writer). An '@' in a path or query is hidden with what comes before it: this is a log. */
	at = strrchr(auth, '@');
	if (!xs_log_url_put(buf, cap, &len, url, (size_t)(auth - url)))
		return buf;
	if (at)
		auth = at + 1;
	/* everything from the first '?' or '#' on goes: the query and the fragment */
	end = auth + strcspn(auth, "?#");
	xs_log_url_put(buf, cap, &len, auth, (size_t)(end - auth));
	return buf;
}
