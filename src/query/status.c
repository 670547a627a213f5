/*
 * status.c - GET /api/v1/status (status.h): collection health per pool and
 * host, and the daemon's own figures.
 *
 * JSON is written with lib/json_out (struct xs_json): it escapes strings
 * (invalid UTF-8 becomes U+FFFD) and writes NaN and infinities as null; absent
 * values are written as null here.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_out.h"
#include "lib/xmalloc.h"
#include "query/status.h"

/* ---- health ---- */

enum xs_status_health xs_status_host_health(const struct xs_collect_host_status *h, double now)
{
	if (h->state == XS_COLLECT_DOWN || h->state == XS_COLLECT_BACKOFF)
		return XS_HEALTH_DOWN;
	if (h->last_success <= 0)
		return XS_HEALTH_LATE; /* the first fetch has not completed */
	if (now - h->last_success > XS_STATUS_UP_SECONDS)
		return XS_HEALTH_DOWN;
	if (!(h->lag >= 0) || h->lag > XS_STATUS_LATE_LAG || h->ahead > XS_STATUS_LATE_LAG)
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

double xs_status_host_behind(const struct xs_collect_host_status *h, double now)
{
	double since = h->last_success > 0 && now > h->last_success ? now - h->last_success : 0;

	return h->lag > since ? h->lag : since;
}

double xs_status_clock_offset(const struct xs_collect_host_status *h)
{
	return isfinite(h->clock_offset) ? round(h->clock_offset * 10) / 10 : NAN;
}

void xs_status_clock_fields(struct xs_json *w, const struct xs_collect_host_status *h)
{
	double off = xs_status_clock_offset(h);

	xs_json_key(w, "clock_offset");
	if (isnan(off))
		xs_json_null(w);
	else
		xs_json_double(w, off);
	xs_json_field_double(w, "ahead", h->ahead > 0 ? h->ahead : 0);
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

static void status_daemon(struct xs_json *w, const struct xs_prom_self *s)
{
	xs_json_key(w, "daemon");
	if (s == NULL) {
		xs_json_null(w);
		return;
	}
	xs_json_obj_begin(w);
	xs_json_field_double(w, "uptime", s->uptime);
	xs_json_field_uint(w, "store_series", s->store_series);
	xs_json_field_uint(w, "store_dormant_series", s->store_dormant);
	xs_json_field_uint(w, "store_bytes", s->store_bytes);
	xs_json_field_uint(w, "store_damaged_blocks_total", s->store_damaged_blocks_total);
	xs_json_field_uint(w, "store_unread_blocks_total", s->store_unread_blocks_total);
	xs_json_field_uint(w, "store_sync_failures_total", s->store_sync_failures_total);
	xs_json_key(w, "store_error");
	if (s->store_error[0])
		xs_json_str(w, s->store_error);
	else
		xs_json_null(w);
	xs_json_field_uint(w, "samples_total", s->samples_total);
	xs_json_field_uint(w, "fetches_total", s->fetches_total);
	xs_json_field_uint(w, "fetch_errors_total", s->fetch_errors_total);
	xs_json_field_uint(w, "backfills_total", s->backfills_total);
	xs_json_field_uint(w, "hosts_collecting", s->hosts_collecting);
	xs_json_field_uint(w, "hosts_late", s->hosts_late);
	xs_json_field_uint(w, "hosts_down", s->hosts_down);
	xs_json_field_uint(w, "http_requests_total", s->http_requests_total);
	xs_json_field_uint(w, "http_held_bytes", s->http_held_bytes);
	xs_json_field_uint(w, "http_stream_queued_bytes", s->http_stream_queued_bytes);
	xs_json_field_uint(w, "http_busy_total", s->http_busy_total);
	xs_json_field_uint(w, "http_connections_open", s->http_connections_open);
	xs_json_field_uint(w, "http_max_connections", s->http_max_connections);
	xs_json_field_uint(w, "resident_bytes", s->resident_bytes);
	xs_json_field_double(w, "cpu_seconds", s->cpu_seconds);
	xs_json_field_double(w, "start_time", s->start_time);
	xs_json_field_uint(w, "open_fds", s->open_fds);
	xs_json_field_uint(w, "max_fds", s->max_fds);
	xs_json_obj_end(w);
}

/* Health counts of pool p: its topology's hosts (no status = down), else the statuses naming it. */
static void status_pool(struct xs_json *w, const struct xs_estate *e,
			const struct xs_estate_pool *p, const struct xs_status_index *ix)
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
	xs_json_obj_begin(w);
	xs_json_field_str(w, "name", name);
	xs_json_field_str(w, "uuid", tp ? tp->uuid : NULL);
	xs_json_field_bool(w, "connected", p->topo != NULL);
	xs_json_field_uint(w, "hosts", total);
	xs_json_field_uint(w, "collecting", n[XS_HEALTH_COLLECTING]);
	xs_json_field_uint(w, "late", n[XS_HEALTH_LATE]);
	xs_json_field_uint(w, "down", n[XS_HEALTH_DOWN]);
	xs_json_field_str(w, "error", p->error);
	xs_json_obj_end(w);
}

/* A bounded char array of the status struct as a JSON string (key NULL: the value only). */
static void status_field(struct xs_json *w, const char *key, const char *s, size_t cap)
{
	if (key != NULL)
		xs_json_key(w, key);
	xs_json_str_n(w, s, strnlen(s, cap));
}

static void status_host(struct xs_json *w, const struct xs_collect_host_status *h, double now)
{
	xs_json_obj_begin(w);
	status_field(w, "pool", h->pool, sizeof(h->pool));
	status_field(w, "uuid", h->uuid, sizeof(h->uuid));
	status_field(w, "name", h->name, sizeof(h->name));
	xs_json_field_str(w, "state", xs_collect_state_name(h->state));
	xs_json_field_str(w, "health", xs_status_health_name(xs_status_host_health(h, now)));
	xs_json_key(w, "last_success");
	if (h->last_success > 0)
		xs_json_double(w, h->last_success);
	else
		xs_json_null(w);
	xs_json_key(w, "last_error");
	if (h->last_error[0])
		status_field(w, NULL, h->last_error, sizeof(h->last_error));
	else
		xs_json_null(w);
	xs_json_key(w, "last_error_time");
	if (h->last_error_time > 0)
		xs_json_double(w, h->last_error_time);
	else
		xs_json_null(w);
	xs_json_field_double(w, "latency", h->latency);
	xs_json_key(w, "lag");
	if (h->lag >= 0)
		xs_json_double(w, h->lag);
	else
		xs_json_null(w);
	xs_json_key(w, "newest");
	if (h->newest > 0)
		xs_json_double(w, (double)h->newest);
	else
		xs_json_null(w);
	xs_status_clock_fields(w, h);
	xs_json_field_uint(w, "failures", h->failures);
	xs_json_field_uint(w, "fetches", h->fetches);
	xs_json_field_uint(w, "rows", h->rows);
	xs_json_field_uint(w, "samples", h->samples);
	xs_json_field_uint(w, "errors", h->errors);
	xs_json_field_uint(w, "backfills", h->backfills);
	xs_json_obj_end(w);
}

enum xs_err xs_query_status(const struct xs_estate *e, const struct xs_prom_self *self,
			    struct xs_buf *out, char *err)
{
	struct xs_json w;
	struct xs_status_index ix;
	enum xs_err rc;

	xs_json_init(&w, out);
	xs_status_index_init(&ix, e);
	xs_json_obj_begin(&w);
	xs_json_key(&w, "now");
	xs_json_double(&w, e->now);
	status_daemon(&w, self);
	xs_json_key(&w, "pools");
	xs_json_arr_begin(&w);
	for (size_t i = 0; i < e->npools; i++)
		status_pool(&w, e, &e->pools[i], &ix);
	xs_json_arr_end(&w);
	xs_json_key(&w, "hosts");
	xs_json_arr_begin(&w);
	for (size_t i = 0; i < e->nstatus; i++)
		status_host(&w, &e->status[i], e->now);
	xs_json_arr_end(&w);
	xs_json_obj_end(&w);
	xs_status_index_cleanup(&ix);
	rc = xs_json_error(&w);
	if (rc != XS_OK)
		return xs_err_set(err, rc, "status: %s (body over %zu bytes)", xs_strerror(rc),
				  out->limit);
	return XS_OK;
}
