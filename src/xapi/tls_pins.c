/*
 * tls_pins.c - parsing and matching lists of certificate fingerprints (see
 * tls_pins.h).
 *
 * The canonical form has fixed-size entries (95 characters, then a comma or
 * the end), so a list of XS_TLS_PINS_MAX entries always fits XS_TLS_PINS_LEN
 * and matching is a walk over commas. A list is appended to only when all
 * of the new text is valid: a caller's list never holds half a line.
 */
#include "xapi/tls_pins.h"

#include <ctype.h>
#include <string.h>

#define TP_SHA256_LEN 32  /* bytes of a SHA-256 */
#define TP_QUOTE_MAX 48   /* characters of a bad entry quoted back */

static bool tp_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* One fingerprint s[0..n) ("ab:CD...", 64 hex digits, colons anywhere) into
 * out (XS_TLS_FP_LEN bytes) as "AB:CD:...". False if it is not one. */
static bool tp_canon(const char *s, size_t n, char *out)
{
	size_t digits = 0, o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':')
			continue;
		if (!isxdigit((unsigned char)s[i]) || digits == 2 * TP_SHA256_LEN)
			return false;
		if (digits && digits % 2 == 0)
			out[o++] = ':';
		out[o++] = (char)toupper((unsigned char)s[i]);
		digits++;
	}
	out[o] = '\0';
	return digits == 2 * TP_SHA256_LEN;
}

size_t xs_tls_pins_count(const char *pins)
{
	size_t n = 0;

	if (!pins || !pins[0])
		return 0;
	for (const char *p = pins; *p; p++)
		n += *p == ',';
	return n + 1;
}

/* Appends the canonical fp to the canonical list out, *o bytes long. */
static void tp_append(char *out, size_t *o, const char *fp)
{
	if (*o)
		out[(*o)++] = ',';
	memcpy(out + *o, fp, XS_TLS_FP_LEN - 1);
	*o += XS_TLS_FP_LEN - 1;
	out[*o] = '\0';
}

enum xs_err xs_tls_pins_add(char *out, const char *in, size_t len, size_t *count, char *err)
{
	char fp[XS_TLS_FP_LEN];
	size_t n = xs_tls_pins_count(out), old = strlen(out), o = old, i = 0;
	enum xs_err rc = XS_OK;

	while (i < len) {
		size_t start;

		while (i < len && tp_is_sep(in[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !tp_is_sep(in[i]))
			i++;
		if (!tp_canon(in + start, i - start, fp)) {
			rc = xs_err_set(err, XS_ERR_ARG,
					"'%.*s' is not a SHA-256 fingerprint (AB:CD:..., 32 bytes in hex)",
					(int)(i - start > TP_QUOTE_MAX ? TP_QUOTE_MAX : i - start),
					in + start);
			goto out_restore;
		}
		if (n == XS_TLS_PINS_MAX) {
			rc = xs_err_set(err, XS_ERR_TOO_LARGE, "more than %d fingerprints",
					XS_TLS_PINS_MAX);
			goto out_restore;
		}
		tp_append(out, &o, fp);
		n++;
	}
	if (o == old) {
		rc = xs_err_set(err, XS_ERR_ARG, "no fingerprint given");
		goto out_restore;
	}
	if (count)
		*count = n;
	return XS_OK;
out_restore:
	out[old] = '\0';
	return rc;
}

bool xs_tls_pins_match(const char *pins, const char *fp)
{
	size_t n = strlen(fp);

	if (!pins || n != XS_TLS_FP_LEN - 1)
		return false;
	for (const char *p = pins; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !memcmp(p, fp, n))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}
