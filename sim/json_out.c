/*
 * json_out.c - the control interface's JSON writer (see json_out.h).
 *
 * Every public call goes through json_prefix(), which writes the comma and
 * the key the position needs; that is the only place punctuation between
 * values is decided, so a caller cannot produce "[,1]" or "{1}".
 */
#include "json_out.h"

#include <math.h>
#include <stdio.h>

#include "lib/num.h"

void sim_json_init(struct sim_json *j, struct xs_buf *out)
{
	j->out = out;
	j->rc = XS_OK;
	j->depth = 0;
	for (int i = 0; i < SIM_JSON_MAX_DEPTH; i++)
		j->want_comma[i] = false;
}

static void json_put(struct sim_json *j, const char *p, size_t n)
{
	if (!j->rc)
		j->rc = xs_buf_append(j->out, p, n);
}

static void json_put_str(struct sim_json *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	json_put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		json_put(j, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			json_put(j, esc, 2);
		} else if (c == '\n') {
			json_put(j, "\\n", 2);
		} else {
			json_put(j, esc, sizeof(esc));
		}
		run = s + 1;
	}
	json_put(j, run, (size_t)(s - run));
	json_put(j, "\"", 1);
}

/* The comma before a value at this level, and its key inside an object. */
static void json_prefix(struct sim_json *j, const char *key)
{
	if (j->depth > 0 && j->want_comma[j->depth - 1])
		json_put(j, ",", 1);
	if (j->depth > 0)
		j->want_comma[j->depth - 1] = true;
	if (key) {
		json_put_str(j, key);
		json_put(j, ":", 1);
	}
}

static void json_open(struct sim_json *j, const char *key, char open, char close)
{
	if (j->rc)
		return;
	if (j->depth >= SIM_JSON_MAX_DEPTH) {
		j->rc = XS_ERR_ARG;
		return;
	}
	json_prefix(j, key);
	json_put(j, &open, 1);
	j->closer[j->depth] = close;
	j->want_comma[j->depth++] = false;
}

void sim_json_object(struct sim_json *j, const char *key)
{
	json_open(j, key, '{', '}');
}

void sim_json_array(struct sim_json *j, const char *key)
{
	json_open(j, key, '[', ']');
}

void sim_json_end(struct sim_json *j)
{
	if (j->rc)
		return;
	if (j->depth == 0) {
		j->rc = XS_ERR_ARG;
		return;
	}
	j->depth--;
	json_put(j, &j->closer[j->depth], 1);
}

void sim_json_str(struct sim_json *j, const char *key, const char *val)
{
	if (!val) {
		sim_json_null(j, key);
		return;
	}
	json_prefix(j, key);
	json_put_str(j, val);
}

void sim_json_int(struct sim_json *j, const char *key, int64_t val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)val);

	json_prefix(j, key);
	json_put(j, num, (size_t)n);
}

void sim_json_uint(struct sim_json *j, const char *key, uint64_t val)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)val);

	json_prefix(j, key);
	json_put(j, num, (size_t)n);
}

void sim_json_double(struct sim_json *j, const char *key, double val)
{
	char num[XS_NUM_FMT_LEN];
	size_t n;

	if (!isfinite(val)) {
		sim_json_null(j, key);
		return;
	}
	n = xs_num_format(num, sizeof(num), val);
	json_prefix(j, key);
	json_put(j, num, n);
}

void sim_json_bool(struct sim_json *j, const char *key, bool val)
{
	json_prefix(j, key);
	json_put(j, val ? "true" : "false", val ? 4 : 5);
}

void sim_json_null(struct sim_json *j, const char *key)
{
	json_prefix(j, key);
	json_put(j, "null", 4);
}

enum xs_err sim_json_finish(struct sim_json *j)
{
	if (!j->rc && j->depth != 0)
		j->rc = XS_ERR_ARG;
	return j->rc;
}
