/*
 * query_string.h - the query string of an HTTP request target, parsed into
 * decoded name/value pairs, and bounded readers of typed parameters.
 *
 * Syntax (application/x-www-form-urlencoded, as browsers write it): pairs
 * separated by '&'; "name=value" or a bare "name" (value ""); empty pieces
 * ("a=1&&b=2", a trailing '&') are skipped. Percent escapes are decoded and
 * '+' means a space, in names and values.
 *
 * Rejected, with a message that starts with the parameter's name and ": "
 * (its raw text, cut to XS_QS_NAME_SHOW bytes, non-printable bytes shown as
 * '?'; "a: given more than once"), except for the empty name and the caps:
 *   - a bad escape ('%' not followed by two hex digits),
 *   - a decoded NUL byte (names and values are C strings),
 *   - an empty name ("=x"),
 *   - a name given twice ("a=1&a=2"): there is no "first wins" or "last wins"
 *     for a client and a proxy to disagree on; lists are comma-separated
 *     values of one parameter,
 *   - more than max_params pairs, or a query string longer than max_len.
 * Values are bytes: no UTF-8 check (the JSON writer repairs what it echoes).
 *
 * Ownership: xs_qs_parse() makes one allocation holding every decoded string;
 * xs_qs_free() releases it. The struct may live on the stack; zero-filled (or
 * after a failed parse) it is a valid empty set. Not thread-safe per object.
 */
#ifndef XS_HTTP_QUERY_STRING_H
#define XS_HTTP_QUERY_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define XS_QS_DEFAULT_MAX_PARAMS 64  /* pairs per request */
#define XS_QS_DEFAULT_MAX_LEN 4096   /* bytes of query string */
#define XS_QS_NAME_SHOW 40           /* bytes of a name quoted in an error */

struct xs_qs_param {
	const char *name;  /* decoded, NUL-terminated, non-empty */
	size_t name_len;
	const char *value; /* decoded, NUL-terminated, may be "" */
	size_t value_len;
};

struct xs_qs {
	struct xs_qs_param *params; /* n entries, in the order given */
	size_t n;
	char *mem;                  /* the one allocation (params and strings) */
};

/*
 * Parses s[0..len) (the text after '?', without any '#fragment') into qs,
 * which is reset first. Returns XS_OK; XS_ERR_TOO_LARGE (too long, too many
 * pairs) or XS_ERR_PARSE (the rules above) with a message in err
 * (XS_ERR_LEN bytes), qs left empty.
 */
enum xs_err xs_qs_parse(struct xs_qs *qs, const char *s, size_t len, size_t max_params, size_t max_len,
			char *err) __attribute__((warn_unused_result));

/* Frees what xs_qs_parse() allocated (qs may be NULL); qs is left empty. */
void xs_qs_free(struct xs_qs *qs);

/* The decoded value of `name`, or NULL when it is absent. */
const char *xs_qs_get(const struct xs_qs *qs, const char *name);

/*
 * Typed readers: when `name` is absent, *out = def and XS_OK. Otherwise the
 * value must be a decimal integer (optional '-', no spaces, no '+') within
 * [min, max], else XS_ERR_ARG with "name: ..." in err (every reader's
 * message starts with the parameter's name).
 */
enum xs_err xs_qs_get_i64(const struct xs_qs *qs, const char *name, int64_t min, int64_t max, int64_t def,
			  int64_t *out, char *err) __attribute__((warn_unused_result));

/*
 * The value must be one of choices[0..n) (exact, case-sensitive): *out is its
 * index. Absent: *out = def. Else XS_ERR_ARG naming the allowed values.
 */
enum xs_err xs_qs_get_choice(const struct xs_qs *qs, const char *name, const char *const *choices,
			     size_t n, size_t def, size_t *out, char *err) __attribute__((warn_unused_result));

/* "1", "true", "yes" → true; "0", "false", "no" → false; "" (a bare name) →
 * true; absent → def; anything else XS_ERR_ARG. */
enum xs_err xs_qs_get_bool(const struct xs_qs *qs, const char *name, bool def, bool *out, char *err)
	__attribute__((warn_unused_result));

/*
 * Percent-decodes src[0..len) into dst (room for len bytes; dst may equal
 * src), '+' as a space when plus_is_space. Returns the decoded length, or -1
 * on a bad escape. Decoded NUL bytes are kept: callers that need C strings
 * check with memchr.
 */
long xs_pct_decode(char *dst, const char *src, size_t len, bool plus_is_space);

#endif
