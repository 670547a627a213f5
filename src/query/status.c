/*
 * status.c - GET /api/v1/status (status.h): collection health per pool and
 * host, and the daemon's own figures.
 *
 * JSON is written by the small sj_* writer below (one place, to be replaced
 * by src/lib/json_out once it exists): it tracks commas per nesting level,
 * escapes strings (quotes, backslashes, control characters; invalid UTF-8
 * becomes U+FFFD) and writes null for NaN, infinities and absent values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "query/status.h"

#define SJ_DEPTH 8 /* nesting the bodies here need */

/* ---- the JSON writer (one place) ---- */

struct sj {
	struct xs_buf *b;
	enum xs_err rc;        /* first error */
	int depth;
	bool first[SJ_DEPTH];  /* no member written yet at this level */
	bool after_key;        /* the next value follows a key: no comma */
};

static void sj_put(struct sj *w, const char *s, size_t n)
{
	if (w->rc == XS_OK)
		w->rc = xs_buf_append(w->b, s, n);
}

static void sj_value(struct sj *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		sj_put(w, ",", 1);
	w->first[w->depth] = false;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t sj_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void sj_escaped(struct sj *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;
	char esc[8];

	sj_put(w, "\"", 1);
	while (i < n) {
		const char *rep = NULL;
		size_t l = 1;

		if (u[i] == '"')
			rep = "\\\"";
		else if (u[i] == '\\')
			rep = "\\\\";
		else if (u[i] == '\n')
			rep = "\\n";
		else if (u[i] == '\r')
			rep = "\\r";
		else if (u[i] == '\t')
			rep = "\\t";
		else if (u[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			rep = esc;
		} else if (u[i] >= 0x80 && (l = sj_utf8_len(u + i, n - i)) == 0) {
			rep = "\\ufffd";
		}
		if (rep == NULL) {
			i += l;
			continue;
		}
		sj_put(w, s + run, i - run);
		sj_put(w, rep, strlen(rep));
		i++;
		run = i;
	}
	sj_put(w, s + run, n - run);
	sj_put(w, "\"", 1);
}

static void sj_key(struct sj *w, const char *k)
{
	sj_value(w);
	sj_escaped(w, k, strlen(k));
	sj_put(w, ":", 1);
	w->after_key = true;
}

/* A string value; NULL writes null. */
static void sj_str(struct sj *w, const char *s)
{
	sj_value(w);
	if (s == NULL)
		sj_put(w, "null", 4);
	else
		sj_escaped(w, s, strlen(s));
}

static void sj_null(struct sj *w)
{
	sj_value(w);
	sj_put(w, "null", 4);
}

static void sj_bool(struct sj *w, bool v)
{
	sj_value(w);
	sj_put(w, v ? "true" : "false", v ? 4 : 5);
}

static void sj_u64(struct sj *w, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	sj_value(w);
	sj_put(w, num, (size_t)n);
}

/* A number: integers as such, else the shortest round-trip form; NaN and infinities → null. */
static void sj_num(struct sj *w, double v)
{
	char num[XS_NUM_FMT_LEN];
	size_t n;

	if (!isfinite(v)) {
		sj_null(w);
		return;
	}
	sj_value(w);
	if (fabs(v) < 1e15 && v == floor(v))
		n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)v);
	else
		n = xs_num_format(num, sizeof(num), v);
	sj_put(w, num, n);
}

static void sj_open(struct sj *w, char c)
{
	sj_value(w);
	sj_put(w, &c, 1);
	if (w->depth + 1 < SJ_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void sj_close(struct sj *w, char c)
{
	sj_put(w, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

/* ---- health ---- */

enum xs_status_health xs_status_host_health(const struct xs_collect_host_status *h, double now)
{
	if (h->state == XS_COLLECT_DOWN || h->state == XS_COLLECT_BACKOFF)
		return XS_HEALTH_DOWN;
	if (h->last_success <= 0)
		return XS_HEALTH_LATE; /* the first fetch has not completed */
	if (now - h->last_success > XS_STATUS_UP_SECONDS)
		return XS_HEALTH_DOWN;
	if (!(h->lag >= 0) || h->lag > XS_STATUS_LATE_LAG)
		return XS_HEALTH_LATE;
	return XS_HEALTH_COLLECTING;
}

const char *xs_status_health_name(enum xs_status_health h)
{
	switch (h) {
	case XS_HEALTH_COLLECTING: return "collecting";
	case XS_HEALTH_LATE: return "late";
	case XS_HEALTH_DOWN: return "down";
	}
	return "down";
}

/* ---- the index by uuid ---- */

static int status_cmp(const void *a, const void *b)
{
	const struct xs_collect_host_status *const *x = a, *const *y = b;

	return strncmp((*x)->uuid, (*y)->uuid, sizeof((*x)->uuid));
}

void xs_status_index_init(struct xs_status_index *ix, const struct xs_estate *e)
{
	ix->n = e->nstatus;
	ix->by_uuid = NULL;
	if (ix->n == 0)
		return;
	ix->by_uuid = xs_xmalloc(ix->n * sizeof(*ix->by_uuid));
	for (size_t i = 0; i < ix->n; i++)
		ix->by_uuid[i] = &e->status[i];
	qsort(ix->by_uuid, ix->n, sizeof(*ix->by_uuid), status_cmp);
}

const struct xs_collect_host_status *xs_status_index_find(const struct xs_status_index *ix,
							  const char *uuid)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(ix->by_uuid[mid]->uuid, uuid, sizeof(ix->by_uuid[mid]->uuid));

		if (c == 0)
			return ix->by_uuid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void xs_status_index_cleanup(struct xs_status_index *ix)
{
	free(ix->by_uuid);
	ix->by_uuid = NULL;
	ix->n = 0;
}

/* ---- the body ---- */

static void status_daemon(struct sj *w, const struct xs_prom_self *s)
{
	sj_key(w, "daemon");
	if (s == NULL) {
		sj_null(w);
		return;
	}
	sj_open(w, '{');
	sj_key(w, "uptime");
	sj_num(w, s->uptime);
	sj_key(w, "store_series");
	sj_u64(w, s->store_series);
	sj_key(w, "store_bytes");
	sj_u64(w, s->store_bytes);
	sj_key(w, "samples_total");
	sj_u64(w, s->samples_total);
	sj_key(w, "fetches_total");
	sj_u64(w, s->fetches_total);
	sj_key(w, "fetch_errors_total");
	sj_u64(w, s->fetch_errors_total);
	sj_key(w, "backfills_total");
	sj_u64(w, s->backfills_total);
	sj_key(w, "hosts_collecting");
	sj_u64(w, s->hosts_collecting);
	sj_key(w, "hosts_late");
	sj_u64(w, s->hosts_late);
	sj_key(w, "hosts_down");
	sj_u64(w, s->hosts_down);
	sj_key(w, "http_requests_total");
	sj_u64(w, s->http_requests_total);
	sj_key(w, "resident_bytes");
	sj_u64(w, s->resident_bytes);
	sj_close(w, '}');
}

/* Health counts of pool p: its topology's hosts (no status = down), else the statuses naming it. */
static void status_pool(struct sj *w, const struct xs_estate *e, const struct xs_estate_pool *p,
			const struct xs_status_index *ix)
{
	size_t n[3] = { 0, 0, 0 }, total = 0;
	const struct xs_topo_pool *tp = p->topo ? xs_topo_pool(p->topo) : NULL;
	const char *name = p->name ? p->name : "";

	if (p->topo != NULL) {
		const struct xs_topo_host *h;

		for (size_t i = 0; (h = xs_topo_host_at(p->topo, i)) != NULL; i++) {
			const struct xs_collect_host_status *st = xs_status_index_find(ix, h->uuid);

			n[st ? xs_status_host_health(st, e->now) : XS_HEALTH_DOWN]++;
			total++;
		}
	} else {
		for (size_t i = 0; i < e->nstatus; i++)
			if (!strncmp(e->status[i].pool, name, sizeof(e->status[i].pool))) {
				n[xs_status_host_health(&e->status[i], e->now)]++;
				total++;
			}
	}
	sj_open(w, '{');
	sj_key(w, "name");
	sj_str(w, name);
	sj_key(w, "uuid");
	sj_str(w, tp ? tp->uuid : NULL);
	sj_key(w, "connected");
	sj_bool(w, p->topo != NULL);
	sj_key(w, "hosts");
	sj_u64(w, total);
	sj_key(w, "collecting");
	sj_u64(w, n[XS_HEALTH_COLLECTING]);
	sj_key(w, "late");
	sj_u64(w, n[XS_HEALTH_LATE]);
	sj_key(w, "down");
	sj_u64(w, n[XS_HEALTH_DOWN]);
	sj_close(w, '}');
}

/* A bounded char array of the status struct as a JSON string (key NULL: the value only). */
static void status_field(struct sj *w, const char *key, const char *s, size_t cap)
{
	if (key != NULL)
		sj_key(w, key);
	sj_value(w);
	sj_escaped(w, s, strnlen(s, cap));
}

static void status_host(struct sj *w, const struct xs_collect_host_status *h, double now)
{
	sj_open(w, '{');
	status_field(w, "pool", h->pool, sizeof(h->pool));
	status_field(w, "uuid", h->uuid, sizeof(h->uuid));
	status_field(w, "name", h->name, sizeof(h->name));
	sj_key(w, "state");
	sj_str(w, xs_collect_state_name(h->state));
	sj_key(w, "health");
	sj_str(w, xs_status_health_name(xs_status_host_health(h, now)));
	sj_key(w, "last_success");
	if (h->last_success > 0)
		sj_num(w, h->last_success);
	else
		sj_null(w);
	sj_key(w, "last_error");
	if (h->last_error[0])
		status_field(w, NULL, h->last_error, sizeof(h->last_error));
	else
		sj_null(w);
	sj_key(w, "last_error_time");
	if (h->last_error_time > 0)
		sj_num(w, h->last_error_time);
	else
		sj_null(w);
	sj_key(w, "latency");
	sj_num(w, h->latency);
	sj_key(w, "lag");
	if (h->lag >= 0)
		sj_num(w, h->lag);
	else
		sj_null(w);
	sj_key(w, "newest");
	if (h->newest > 0)
		sj_num(w, (double)h->newest);
	else
		sj_null(w);
	sj_key(w, "failures");
	sj_u64(w, h->failures);
	sj_key(w, "fetches");
	sj_u64(w, h->fetches);
	sj_key(w, "rows");
	sj_u64(w, h->rows);
	sj_key(w, "samples");
	sj_u64(w, h->samples);
	sj_key(w, "errors");
	sj_u64(w, h->errors);
	sj_key(w, "backfills");
	sj_u64(w, h->backfills);
	sj_close(w, '}');
}

enum xs_err xs_query_status(const struct xs_estate *e, const struct xs_prom_self *self,
			    struct xs_buf *out, char *err)
{
	struct sj w = { .b = out, .first = { true } };
	struct xs_status_index ix;

	xs_status_index_init(&ix, e);
	sj_open(&w, '{');
	sj_key(&w, "now");
	sj_num(&w, e->now);
	status_daemon(&w, self);
	sj_key(&w, "pools");
	sj_open(&w, '[');
	for (size_t i = 0; i < e->npools; i++)
		status_pool(&w, e, &e->pools[i], &ix);
	sj_close(&w, ']');
	sj_key(&w, "hosts");
	sj_open(&w, '[');
	for (size_t i = 0; i < e->nstatus; i++)
		status_host(&w, &e->status[i], e->now);
	sj_close(&w, ']');
	sj_close(&w, '}');
	xs_status_index_cleanup(&ix);
	if (w.rc != XS_OK)
		return xs_err_set(err, w.rc, "status: %s (body over %zu bytes)", xs_strerror(w.rc),
				  out->limit);
	return XS_OK;
}
