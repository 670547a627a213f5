/*
 * stream_request.c - the objects list and the Last-Event-ID cursor of a
 * stream request, and the folding of a client's uuid (see stream_request.h).
 */
#include <string.h>

#include "lib/err.h"
#include "serve/stream_request.h"

/* The offset of the first byte of uuid[0, len) that no uuid has (letters,
 * digits and '-', as the stats routes accept), or len. */
static size_t sr_uuid_bad(const char *uuid, size_t len)
{
	size_t i = 0;

	while (i < len && ((uuid[i] >= '0' && uuid[i] <= '9') || (uuid[i] >= 'a' && uuid[i] <= 'z') ||
			   (uuid[i] >= 'A' && uuid[i] <= 'Z') || uuid[i] == '-'))
		i++;
	return i;
}

void xs_uuid_fold(char *uuid)
{
	for (; *uuid; uuid++)
		if (*uuid >= 'A' && *uuid <= 'Z')
			*uuid = (char)(*uuid - 'A' + 'a');
}

bool xs_stream_objects_parse(const char *list, char (*uuids)[XS_STREAM_UUID_MAX], size_t cap, size_t *n,
			     char *err)
{
	const char *p = list;

	*n = 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p), bad;

		if (!len || len >= XS_STREAM_UUID_MAX) {
			xs_err_set(err, XS_ERR_ARG, "objects: %s uuid at byte %zu", len ? "overlong" : "empty",
				   (size_t)(p - list));
			return false;
		}
		bad = sr_uuid_bad(p, len);
		if (bad < len) {
			xs_err_set(err, XS_ERR_ARG,
				   "objects: bad character at byte %zu (a uuid has letters, digits and '-')",
				   (size_t)(p - list) + bad);
			return false;
		}
		if (*n == cap) {
			xs_err_set(err, XS_ERR_ARG, "objects: more than %zu objects", cap);
			return false;
		}
		memcpy(uuids[*n], p, len);
		uuids[*n][len] = '\0';
		xs_uuid_fold(uuids[*n]);
		for (size_t k = 0; k < *n; k++) /* at most cap^2/2 compares: 32k at the API's 256 */
			if (!strcmp(uuids[k], uuids[*n])) {
				xs_err_set(err, XS_ERR_ARG, "objects: %s given twice (at byte %zu)", uuids[k],
					   (size_t)(p - list));
				return false;
			}
		(*n)++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*n) {
		xs_err_set(err, XS_ERR_ARG, "objects: missing (a list of VM and host uuids)");
		return false;
	}
	return true;
}

static void sr_cursor_num(char *out, size_t *o, int64_t v)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char tmp[XS_STREAM_CURSOR_DIGITS];
	size_t k = 0;

	do {
		tmp[k++] = digits[v % 36];
		v /= 36;
	} while (v && k < sizeof(tmp));
	while (k)
		out[(*o)++] = tmp[--k];
}

static int64_t sr_cursor_time(int64_t t)
{
	return t < 0 ? 0 : t > XS_STREAM_CURSOR_MAX_TIME ? XS_STREAM_CURSOR_MAX_TIME : t;
}

void xs_stream_cursor_format(const int64_t *last, size_t n, char *out)
{
	int64_t base = XS_STREAM_CURSOR_MAX_TIME;
	size_t o = 3;

	for (size_t k = 0; k < n; k++)
		if (sr_cursor_time(last[k]) < base)
			base = sr_cursor_time(last[k]);
	memcpy(out, "v1.", 3);
	sr_cursor_num(out, &o, base);
	for (size_t k = 0; k < n; k++) {
		out[o++] = '.';
		sr_cursor_num(out, &o, sr_cursor_time(last[k]) - base);
	}
	out[o] = '\0';
}

/* One base-36 number of 1..XS_STREAM_CURSOR_DIGITS digits at *p, at most
 * XS_STREAM_CURSOR_MAX_TIME; *p moves past it. */
static bool sr_cursor_read(const char **p, int64_t *v)
{
	size_t k = 0;

	*v = 0;
	for (;; k++) {
		char c = (*p)[k];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;

		if (d < 0)
			break;
		if (k == XS_STREAM_CURSOR_DIGITS)
			return false;
		*v = *v * 36 + d;
	}
	*p += k;
	return k > 0 && *v <= XS_STREAM_CURSOR_MAX_TIME;
}

bool xs_stream_cursor_parse(const char *id, size_t n, int64_t *last)
{
	const char *p = id;
	int64_t base, d;

	if (strncmp(p, "v1.", 3))
		return false;
	p += 3;
	if (!sr_cursor_read(&p, &base))
		return false;
	for (size_t k = 0; k < n; k++) {
		if (*p++ != '.' || !sr_cursor_read(&p, &d))
			return false;
		last[k] = base + d;
	}
	return n > 0 && !*p;
}

bool xs_stream_id_integer(const char *id, int64_t *t)
{
	int64_t v = 0;
	size_t k = 0;

	for (; id[k] >= '0' && id[k] <= '9'; k++) {
		if (v > (INT64_MAX - (id[k] - '0')) / 10)
			return false;
		v = v * 10 + (id[k] - '0');
	}
	if (!k || id[k] || !v)
		return false;
	*t = v;
	return true;
}

uint32_t xs_stream_tag_add(uint32_t tag, const char *uuid)
{
	for (; *uuid; uuid++)
		tag = (tag ^ (unsigned char)*uuid) * UINT32_C(16777619);
	return (tag ^ (unsigned char)',') * UINT32_C(16777619);
}

void xs_stream_cursor_tag(char *id, uint32_t tag)
{
	size_t o = strlen(id);

	id[o++] = '-';
	sr_cursor_num(id, &o, (int64_t)tag);
	id[o] = '\0';
}

bool xs_stream_cursor_untag(char *id, uint32_t tag)
{
	char *dash = strrchr(id, '-'), want[XS_STREAM_TAG_LEN + 1];
	size_t o = 0;

	if (!dash)
		return false;
	want[o++] = '-';
	sr_cursor_num(want, &o, (int64_t)tag);
	want[o] = '\0';
	if (strcmp(dash, want))
		return false;
	*dash = '\0';
	return true;
}
