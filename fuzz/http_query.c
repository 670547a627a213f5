/*
 * libFuzzer target: query strings of HTTP requests (src/http/query_string.c,
 * xs_qs_parse) and the typed readers on what it yields.
 *
 * Invariants: a parse that fails leaves the set empty and a message that
 * names the query (string or parameter) and fits XS_ERR_LEN. A parse that succeeds gives at
 * most the cap of pairs, each name non-empty, names unique, no NUL inside a
 * name or value (the lengths equal strlen), decoded text never longer than the
 * input, each name found by xs_qs_get with its own value; and re-encoding
 * every pair (%XX for every byte but unreserved ones) parses back to the same
 * pairs. The typed readers never fail on absent names and return a value in
 * range when they succeed. Any other outcome aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/query_string.h"

#define FUZZ_MAX_PARAMS 16
#define FUZZ_MAX_LEN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_encode(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

static void fuzz_round_trip(const struct xs_qs *qs, size_t size)
{
	char err[XS_ERR_LEN];
	struct xs_qs again = { 0 };
	char *enc = malloc(size * 3 + 2 * qs->n + 1);
	size_t o = 0;

	if (!enc)
		return;
	for (size_t i = 0; i < qs->n; i++) {
		if (i)
			enc[o++] = '&';
		o += fuzz_encode(enc + o, qs->params[i].name, qs->params[i].name_len);
		enc[o++] = '=';
		o += fuzz_encode(enc + o, qs->params[i].value, qs->params[i].value_len);
	}
	if (xs_qs_parse(&again, enc, o, FUZZ_MAX_PARAMS, o, err) != XS_OK || again.n != qs->n)
		abort();
	for (size_t i = 0; i < qs->n; i++) {
		const struct xs_qs_param *a = &qs->params[i], *b = &again.params[i];

		if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len) ||
		    a->value_len != b->value_len || memcmp(a->value, b->value, a->value_len))
			abort();
	}
	xs_qs_free(&again);
	free(enc);
}

static void fuzz_typed(const struct xs_qs *qs)
{
	static const char *const choices[] = { "seconds", "minutes", "hours", "days" };
	char err[XS_ERR_LEN];
	int64_t v;
	size_t idx;
	bool b;

	if (!xs_qs_get(qs, "absent-name") &&
	    (xs_qs_get_i64(qs, "absent-name", -5, 5, 3, &v, err) != XS_OK || v != 3))
		abort();
	for (size_t i = 0; i < qs->n; i++) {
		const char *name = qs->params[i].name;

		if (xs_qs_get_i64(qs, name, -1000, 1000, 0, &v, err) == XS_OK && (v < -1000 || v > 1000))
			abort();
		if (xs_qs_get_choice(qs, name, choices, 4, 0, &idx, err) == XS_OK && idx >= 4)
			abort();
		(void)xs_qs_get_bool(qs, name, false, &b, err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[XS_ERR_LEN];
	struct xs_qs qs = { 0 };
	char *text;
	size_t total = 0;

	/* an exact-size copy, not NUL-terminated: ASan sees any read past the end */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	err[0] = '\0';
	if (xs_qs_parse(&qs, text, size, FUZZ_MAX_PARAMS, FUZZ_MAX_LEN, err) != XS_OK) {
		/* "NAME: ..." for a parameter, "query ..." / "too many query ..." for the rest */
		if (qs.n != 0 || qs.mem != NULL || (!strstr(err, ": ") && !strstr(err, "query")) ||
		    strlen(err) >= XS_ERR_LEN)
			abort();
		goto out;
	}
	if (qs.n > FUZZ_MAX_PARAMS)
		abort();
	for (size_t i = 0; i < qs.n; i++) {
		const struct xs_qs_param *p = &qs.params[i];

		if (p->name_len == 0 || strlen(p->name) != p->name_len || strlen(p->value) != p->value_len)
			abort();
		if (xs_qs_get(&qs, p->name) != p->value)
			abort();
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(qs.params[k].name, p->name))
				abort();
		}
		total += p->name_len + p->value_len;
	}
	if (total > size)
		abort();
	fuzz_round_trip(&qs, size);
	fuzz_typed(&qs);
out:
	xs_qs_free(&qs);
	free(text);
	return 0;
}
