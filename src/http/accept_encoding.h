/*
 * accept_encoding.h - does a request's Accept-Encoding header take gzip?
 *
 * RFC 9110 section 12.5.3: a comma-separated list of codings, each with an
 * optional weight ";q=0.5" (0 to 1, at most three decimals); codings are
 * case-insensitive. gzip is taken when "gzip" or "x-gzip" is listed with a
 * weight above 0, or when neither is listed and "*" is, with a weight above 0.
 * A coding listed twice counts with its last weight. Anything malformed
 * (a bad weight, an empty or odd coding name, other parameters) only makes
 * that element count as absent: a client's odd header costs it compression,
 * never its reply. An absent header (NULL) takes nothing.
 */
#ifndef XS_HTTP_ACCEPT_ENCODING_H
#define XS_HTTP_ACCEPT_ENCODING_H

#include <stdbool.h>

#define XS_ACCEPT_ENCODING_MAX 1024 /* bytes of header looked at; a longer one takes nothing */

bool xs_http_accepts_gzip(const char *accept_encoding);

#endif
