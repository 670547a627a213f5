/*
 * query_string.c - query string parsing and typed parameters (see query_string.h).
 *
 * One pass counts the pairs (for the cap and the allocation size), a second
 * decodes each name and value into one block laid out as
 *   [n x struct xs_qs_param][name\0value\0 ...]
 * The decoded text is never longer than the raw text, so len + 2 per pair
 * bytes of string room always suffice. Duplicate names are found by a linear
 * scan: n is capped (64 by default), and the scan stays cheaper than a hash
 * for such counts.
 */
#include "http/query_string.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

static int qs_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long xs_pct_decode(char *dst, const char *src, size_t len, bool plus_is_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = qs_hex((unsigned char)src[i + 1]);
			lo = qs_hex((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			dst[o++] = ' ';
		} else {
			dst[o++] = (char)c;
		}
	}
	return (long)o;
}

/* Copies the raw name of a pair into show (XS_QS_NAME_SHOW + 4 bytes) for an error. */
static const char *qs_show(char *show, const char *raw, size_t len)
{
	size_t n = len < XS_QS_NAME_SHOW ? len : XS_QS_NAME_SHOW;

	for (size_t i = 0; i < n; i++)
		show[i] = isprint((unsigned char)raw[i]) ? raw[i] : '?';
	if (n < len) {
		memcpy(show + n, "...", 4);
		return show;
	}
	show[n] = '\0';
	return show;
}

void xs_qs_free(struct xs_qs *qs)
{
	if (!qs)
		return;
	free(qs->mem);
	qs->mem = NULL;
	qs->params = NULL;
	qs->n = 0;
}

/* Pairs in s (non-empty pieces between '&'). */
static size_t qs_count(const char *s, size_t len)
{
	size_t n = 0;
	bool in_piece = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '&') {
			in_piece = false;
		} else if (!in_piece) {
			in_piece = true;
			n++;
		}
	}
	return n;
}

/* Decodes raw[0..len) to *out (NUL-terminated); returns its length or -1. */
static long qs_decode_part(char **out, const char *raw, size_t len)
{
	long n = xs_pct_decode(*out, raw, len, true);

	if (n < 0 || memchr(*out, '\0', (size_t)n))
		return -1;
	(*out)[n] = '\0';
	return n;
}

/* Decodes one pair raw[0..len) into p, strings at *room. */
static enum xs_err qs_pair(struct xs_qs *qs, struct xs_qs_param *p, const char *raw, size_t len,
			   char **room, char *err)
{
	const char *eq = memchr(raw, '=', len);
	size_t nlen = eq ? (size_t)(eq - raw) : len;
	char show[XS_QS_NAME_SHOW + 4];
	long n;

	if (nlen == 0)
		return xs_err_set(err, XS_ERR_PARSE, "query parameter with an empty name");
	p->name = *room;
	n = qs_decode_part(room, raw, nlen);
	if (n < 0)
		goto bad;
	p->name_len = (size_t)n;
	*room += n + 1;
	p->value = *room;
	n = eq ? qs_decode_part(room, eq + 1, len - nlen - 1) : 0;
	if (n < 0)
		goto bad;
	(*room)[n] = '\0';
	p->value_len = (size_t)n;
	*room += n + 1;
	for (size_t i = 0; i < qs->n; i++) {
		if (qs->params[i].name_len == p->name_len && !memcmp(qs->params[i].name, p->name, p->name_len))
			return xs_err_set(err, XS_ERR_PARSE, "%s: given more than once",
					  qs_show(show, raw, nlen));
	}
	return XS_OK;
bad:
	return xs_err_set(err, XS_ERR_PARSE, "%s: bad percent-escape or NUL byte",
			  qs_show(show, raw, nlen));
}

enum xs_err xs_qs_parse(struct xs_qs *qs, const char *s, size_t len, size_t max_params, size_t max_len,
			char *err)
{
	size_t n, i = 0;
	char *room;
	enum xs_err rc = XS_OK;

	xs_qs_free(qs);
	if (len > max_len)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "query string too long (max %zu bytes)", max_len);
	n = qs_count(s, len);
	if (n > max_params)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "too many query parameters (max %zu)", max_params);
	if (n == 0)
		return XS_OK;
	qs->mem = xs_xmalloc(n * sizeof(struct xs_qs_param) + len + 2 * n);
	qs->params = (struct xs_qs_param *)(void *)qs->mem;
	room = qs->mem + n * sizeof(struct xs_qs_param);
	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t plen = amp ? (size_t)(amp - (s + i)) : len - i;

		if (plen) {
			rc = qs_pair(qs, &qs->params[qs->n], s + i, plen, &room, err);
			if (rc)
				break;
			qs->n++;
		}
		i += plen + 1;
	}
	if (rc)
		xs_qs_free(qs);
	return rc;
}

const char *xs_qs_get(const struct xs_qs *qs, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < qs->n; i++) {
		if (qs->params[i].name_len == len && !memcmp(qs->params[i].name, name, len))
			return qs->params[i].value;
	}
	return NULL;
}

/* Strict decimal: optional '-', digits only, no overflow. */
static bool qs_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	s += neg;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

enum xs_err xs_qs_get_i64(const struct xs_qs *qs, const char *name, int64_t min, int64_t max, int64_t def,
			  int64_t *out, char *err)
{
	const char *v = xs_qs_get(qs, name);
	int64_t x;

	if (!v) {
		*out = def;
		return XS_OK;
	}
	if (!qs_i64(v, &x))
		return xs_err_set(err, XS_ERR_ARG, "%s: not an integer", name);
	if (x < min || x > max)
		return xs_err_set(err, XS_ERR_ARG, "%s: %lld is out of range [%lld, %lld]", name,
				  (long long)x, (long long)min, (long long)max);
	*out = x;
	return XS_OK;
}

enum xs_err xs_qs_get_choice(const struct xs_qs *qs, const char *name, const char *const *choices,
			     size_t n, size_t def, size_t *out, char *err)
{
	const char *v = xs_qs_get(qs, name);
	char list[XS_ERR_LEN / 2];
	size_t o = 0;

	if (!v) {
		*out = def;
		return XS_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v, choices[i])) {
			*out = i;
			return XS_OK;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < n && o + 2 < sizeof(list); i++) {
		size_t l = strlen(choices[i]);

		if (o + l + 2 >= sizeof(list))
			break;
		if (i)
			list[o++] = '|';
		memcpy(list + o, choices[i], l);
		o += l;
		list[o] = '\0';
	}
	return xs_err_set(err, XS_ERR_ARG, "%s: must be one of %s", name, list);
}

enum xs_err xs_qs_get_bool(const struct xs_qs *qs, const char *name, bool def, bool *out, char *err)
{
	static const char *const yes[] = { "", "1", "true", "yes" };
	static const char *const no[] = { "0", "false", "no" };
	const char *v = xs_qs_get(qs, name);

	if (!v) {
		*out = def;
		return XS_OK;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return XS_OK;
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (!strcmp(v, no[i])) {
			*out = false;
			return XS_OK;
		}
	}
	return xs_err_set(err, XS_ERR_ARG, "%s: must be true or false", name);
}
