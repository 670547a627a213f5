/*
 * accept_encoding.c - Accept-Encoding: is gzip acceptable (see accept_encoding.h).
 *
 * One pass over the elements between commas; each is "token *( OWS ';' OWS
 * param )" where only the param "q" is understood. The answer is decided at
 * the end, from the last weight seen for gzip (or x-gzip) and for "*".
 */
#include "http/accept_encoding.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* A weight seen: none yet, zero, or above zero. */
enum ae_weight { AE_ABSENT, AE_ZERO, AE_POSITIVE };

static bool ae_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static bool ae_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* p[0..n) trimmed of optional white space on both ends. */
static void ae_trim(const char **p, size_t *n)
{
	while (*n && ae_ows(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && ae_ows((*p)[*n - 1]))
		(*n)--;
}

/* A qvalue: "0" or "1" with up to three decimals ("0.000" to "1.000"). */
static bool ae_qvalue(const char *p, size_t n, enum ae_weight *w)
{
	bool nonzero = false;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return false;
	if (n > 1 && (p[1] != '.' || n > 5))
		return false;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (p[0] == '1' && p[i] != '0')
			return false;
		nonzero |= p[i] != '0';
	}
	*w = p[0] == '1' || nonzero ? AE_POSITIVE : AE_ZERO;
	return true;
}

/* One element (between commas), p[0..n): its coding name in *name (*name_len bytes), its
 * weight in *w (AE_POSITIVE without a q). False when it is malformed. */
static bool ae_element(const char *p, size_t n, const char **name, size_t *name_len,
		       enum ae_weight *w)
{
	const char *semi = memchr(p, ';', n);
	const char *tok = p, *par;
	size_t tok_n = semi ? (size_t)(semi - p) : n, par_n;

	ae_trim(&tok, &tok_n);
	if (tok_n == 0)
		return false;
	for (size_t i = 0; i < tok_n; i++)
		if (!ae_tchar(tok[i]))
			return false;
	*name = tok;
	*name_len = tok_n;
	*w = AE_POSITIVE;
	if (!semi)
		return true;
	par = semi + 1;
	par_n = n - (size_t)(par - p);
	ae_trim(&par, &par_n);
	/* the one parameter understood: q=qvalue (a second ';' fails the qvalue) */
	if (par_n < 2 || (par[0] != 'q' && par[0] != 'Q') || par[1] != '=')
		return false;
	return ae_qvalue(par + 2, par_n - 2, w);
}

static bool ae_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

bool xs_http_accepts_gzip(const char *accept_encoding)
{
	enum ae_weight gzip = AE_ABSENT, any = AE_ABSENT;
	const char *p = accept_encoding;

	if (!p || strnlen(p, XS_ACCEPT_ENCODING_MAX + 1) > XS_ACCEPT_ENCODING_MAX)
		return false;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *name;
		size_t name_n;
		enum ae_weight w;

		if (ae_element(p, n, &name, &name_n, &w)) {
			if (ae_is(name, name_n, "gzip") || ae_is(name, name_n, "x-gzip"))
				gzip = w;
			else if (ae_is(name, name_n, "*"))
				any = w;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (gzip != AE_ABSENT)
		return gzip == AE_POSITIVE;
	return any == AE_POSITIVE;
}
