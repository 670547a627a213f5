/*
 * libFuzzer target: what a client gives GET /api/v1/stream
 * (src/serve/stream_request.c): the objects list and the Last-Event-ID id.
 *
 * Input: the first byte picks the number of objects a cursor must hold
 * (1..256); the rest up to the first newline is the objects list, what
 * follows it the id (both NUL-terminated copies, as the server hands them).
 *
 * Invariants: a list is taken exactly when it is 1..cap runs of 1..63 bytes
 * of letters, digits and '-' between commas (one trailing comma allowed), no
 * two of them equal but for case, as
 * this file decides on its own; a refused list leaves a message that starts
 * with "objects: " and fits XS_ERR_LEN; a taken one gives uuids in lower case
 * that, joined by commas, are the list (less one trailing comma) but for the
 * case of its letters. A cursor taken holds times in [0, 2^41]; written again
 * (clamped to 2^40) it fits XS_STREAM_CURSOR_LEN(n) and reads back as the
 * clamped times; tagged with the list's tag (xs_stream_cursor_tag) it fits
 * XS_STREAM_TAG_LEN more and comes back untagged whole. An id the tag check
 * takes ends with "-<that tag>", and what is left of it, tagged again, is the
 * id. An integer id taken is positive and prints as the id (less leading
 * zeros). Any other outcome aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/err.h"
#include "serve/stream_request.h"

#define FUZZ_CAP 8   /* uuids a list may hold here (the API's is 256) */
#define FUZZ_MAX_OBJECTS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether list is 1..FUZZ_CAP runs of 1..63 uuid bytes between commas, one trailing comma
 * allowed, no two runs the same but for the case of their letters. */
static bool fuzz_list_valid(const char *list)
{
	size_t runs = 0, len = strlen(list), i = 0, start[FUZZ_CAP], rlen[FUZZ_CAP];

	while (i < len) {
		size_t r = strspn(list + i, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");

		if (r < 1 || r >= XS_STREAM_UUID_MAX || runs == FUZZ_CAP)
			return false;
		for (size_t k = 0; k < runs; k++)
			if (rlen[k] == r && !strncasecmp(list + start[k], list + i, r))
				return false;
		start[runs] = i;
		rlen[runs++] = r;
		i += r;
		if (i < len && list[i] != ',')
			return false;
		i += i < len;
	}
	return runs > 0;
}

static void fuzz_objects(const char *list)
{
	char uuids[FUZZ_CAP][XS_STREAM_UUID_MAX], err[XS_ERR_LEN] = "", *joined;
	size_t n = 0, o = 0, len = strlen(list);
	bool taken = xs_stream_objects_parse(list, uuids, FUZZ_CAP, &n, err);

	if (taken != fuzz_list_valid(list))
		abort();
	if (!taken) {
		if (strncmp(err, "objects: ", 9) || strnlen(err, XS_ERR_LEN) == XS_ERR_LEN)
			abort();
		return;
	}
	if (n < 1 || n > FUZZ_CAP)
		abort();
	joined = malloc(len + 1);
	if (!joined)
		return;
	for (size_t k = 0; k < n; k++) {
		size_t ul = strnlen(uuids[k], XS_STREAM_UUID_MAX);

		if (ul < 1 || ul >= XS_STREAM_UUID_MAX ||
		    strspn(uuids[k], "0123456789abcdefghijklmnopqrstuvwxyz-") != ul || o + ul + (k > 0) > len)
			abort();
		if (k)
			joined[o++] = ',';
		memcpy(joined + o, uuids[k], ul);
		o += ul;
	}
	if (!(o == len || (o + 1 == len && list[o] == ',')) || strncasecmp(joined, list, o))
		abort();
	free(joined);
}

static int64_t fuzz_clamp(int64_t t)
{
	return t > XS_STREAM_CURSOR_MAX_TIME ? XS_STREAM_CURSOR_MAX_TIME : t;
}

/* The tag check on an id from outside: taken only as "<rest>-<tag>", rest kept. */
static void fuzz_untag(const char *id, uint32_t tag)
{
	size_t len = strlen(id);
	char *copy = strdup(id), *again = malloc(len + XS_STREAM_TAG_LEN + 1);

	if (copy && again && xs_stream_cursor_untag(copy, tag)) {
		memcpy(again, copy, strlen(copy) + 1);
		xs_stream_cursor_tag(again, tag);
		if (strlen(copy) >= len || strcmp(again, id))
			abort();
	}
	free(copy);
	free(again);
}

static void fuzz_cursor(const char *id, size_t n, uint32_t tag)
{
	static int64_t last[FUZZ_MAX_OBJECTS], back[FUZZ_MAX_OBJECTS];
	static char again[XS_STREAM_CURSOR_LEN(FUZZ_MAX_OBJECTS) + XS_STREAM_TAG_LEN];

	fuzz_untag(id, tag);
	if (!xs_stream_cursor_parse(id, n, last))
		return;
	for (size_t k = 0; k < n; k++)
		if (last[k] < 0 || last[k] > 2 * XS_STREAM_CURSOR_MAX_TIME)
			abort();
	xs_stream_cursor_format(last, n, again);
	if (strlen(again) >= XS_STREAM_CURSOR_LEN(n))
		abort();
	xs_stream_cursor_tag(again, tag);
	if (strlen(again) >= XS_STREAM_CURSOR_LEN(n) + XS_STREAM_TAG_LEN ||
	    !xs_stream_cursor_untag(again, tag) || !xs_stream_cursor_parse(again, n, back))
		abort();
	for (size_t k = 0; k < n; k++)
		if (back[k] != fuzz_clamp(last[k]))
			abort();
}

static void fuzz_integer(const char *id)
{
	char text[32];
	int64_t t = 0;

	if (!xs_stream_id_integer(id, &t))
		return;
	snprintf(text, sizeof(text), "%lld", (long long)t);
	if (t < 1 || strcmp(text, id + strspn(id, "0")))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *list, *id;
	size_t n, ll;

	if (size < 1)
		return 0;
	n = 1 + (size_t)data[0] % FUZZ_MAX_OBJECTS;
	data++;
	size--;
	nl = memchr(data, '\n', size);
	ll = nl ? (size_t)(nl - data) : size;
	list = strndup((const char *)data, ll);
	id = nl ? strndup((const char *)nl + 1, size - ll - 1) : strdup("");
	if (list && id) {
		fuzz_objects(list);
		fuzz_cursor(id, n, xs_stream_tag_add(XS_STREAM_TAG_INIT, list));
		fuzz_integer(id);
	}
	free(list);
	free(id);
	return 0;
}
