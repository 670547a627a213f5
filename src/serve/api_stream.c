/*
 * api_stream.c - GET /api/v1/stream: Server-Sent Events of new 5 s rows of the
 * subscribed VMs and hosts (docs/API.md "Stream"). One timer (a->timer, every
 * API_STREAM_TICK while any stream is open) looks for new rows of every
 * stream's objects and queues events, within each client's room; a client
 * that reconnects with its last event id catches up on what it missed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "query/xo_stats.h"
#include "serve/api_internal.h"

/* ---- the live stream ---- */

static void api_stream_drop(struct xs_api *a, struct api_stream *st)
{
	for (size_t i = 0; i < a->nstreams; i++)
		if (a->streams[i] == st) {
			a->streams[i] = a->streams[--a->nstreams];
			break;
		}
	free(st->subs);
	free(st);
	if (!a->nstreams && a->timer) {
		xs_evloop_cancel_timer(a->loop, a->timer);
		a->timer = 0;
	}
}

static void api_stream_closed(struct xs_http_stream *hs, void *arg)
{
	struct api_stream *st = arg;

	(void)hs;
	api_stream_drop(st->api, st);
}

struct api_newest {
	const struct xs_store *store;
	int64_t t;
};

static void api_newest_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct api_newest *n = arg;
	int64_t t;
	float v;

	(void)ds;
	(void)unit;
	if (xs_store_latest(n->store, id, &t, &v) && t > n->t)
		n->t = t;
}

/* Newest 5 s time stored of the object; 0 if none (or gone). */
static int64_t api_newest(const struct xs_store *store, const struct api_sub *sub)
{
	struct api_newest n = { store, 0 };

	if (store && !sub->gone)
		xs_store_each_of(store, sub->kind, sub->uuid, api_newest_cb, &n);
	return n.t;
}

struct api_first {
	struct xs_store *store;
	int64_t after, to, t;
};

static void api_first_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct api_first *f = arg;
	struct xs_point p;

	(void)ds;
	(void)unit;
	if (xs_store_read(f->store, id, XS_TIER_5S, f->after + 1, f->to, &p, 1) && p.t < f->t)
		f->t = p.t;
}

/* The first 5 s row time of sub's object after `after` and at most `to` (to if none):
 * where its next event starts, over a gap (a VM halted or rebooted, a host away, a
 * stream opened before the object's first row) rather than at after + 5 with an event
 * of nulls for every minute of the gap. */
static int64_t api_first_after(struct xs_store *store, const struct api_sub *sub, int64_t after,
			       int64_t to)
{
	struct api_first f = { store, after, to, to };

	/* the usual case, the newest row right after the last one sent: nothing to look for */
	if (store && !sub->gone && to - after > 5)
		xs_store_each_of(store, sub->kind, sub->uuid, api_first_cb, &f);
	return f.t;
}

static void api_count_cb(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	(void)id;
	(void)ds;
	(void)unit;
	(*(size_t *)arg)++;
}

/* Whether the store holds series of uuid as kind (a VM deleted from the topology, a
 * host before its pool's topology is loaded). */
static bool api_stored(const struct xs_store *store, enum xs_obj_kind kind, const char *uuid)
{
	size_t n = 0;

	if (store)
		xs_store_each_of(store, kind, uuid, api_count_cb, &n);
	return n > 0;
}

/* The stream's cursor (stream_request.h) of st's subs into out (API_CURSOR_LEN bytes). */
static void api_cursor_format(const struct api_stream *st, char *out)
{
	int64_t last[XS_API_MAX_STREAM_OBJECTS];

	for (size_t k = 0; k < st->nsubs; k++)
		last[k] = st->subs[k].last;
	xs_stream_cursor_format(last, st->nsubs, out);
	xs_stream_cursor_tag(out, st->tag);
}

/* Sets every sub's last: after the client's last event, or (none, or an id that
 * means nothing here: a cursor of another objects list) before the object's newest row. */
static void api_stream_resume(struct api_stream *st, const struct xs_store *store, const char *leid)
{
	int64_t *cur = xs_xcalloc(st->nsubs, sizeof(*cur));
	char untagged[API_CURSOR_LEN];
	bool cursor = leid && strlen(leid) < sizeof(untagged) &&
		      xs_stream_cursor_untag(memcpy(untagged, leid, strlen(leid) + 1), st->tag) &&
		      xs_stream_cursor_parse(untagged, st->nsubs, cur);
	int64_t id = 0;
	bool integer = leid && !cursor && xs_stream_id_integer(leid, &id);

	for (size_t k = 0; k < st->nsubs; k++) {
		int64_t newest = api_newest(store, &st->subs[k]);

		if (cursor) /* what this client has, even past what the store holds now */
			st->subs[k].last = cur[k];
		else if (integer && id <= newest)
			st->subs[k].last = id; /* an integer id (older daemons): one time for all */
		else
			st->subs[k].last = newest ? newest - 5 : 0;
	}
	free(cur);
}

/*
 * The event of sub's rows from..to into ev (its limit: the stream's whole queue),
 * its id the cursor with sub->last = to (what the client has once it got it);
 * sub->last itself is left as it was. XS_ERR_TOO_LARGE past ev's limit, or the
 * query's error.
 */
static enum xs_err api_stream_event(struct api_stream *st, const struct xs_estate *e, struct api_sub *sub,
				    int64_t from, int64_t to, struct xs_buf *ev, char *err)
{
	struct xs_stats_request r;
	struct xs_buf body;
	char id[API_CURSOR_LEN];
	int64_t last = sub->last;
	enum xs_err rc;

	memset(&r, 0, sizeof(r));
	memcpy(r.retention, st->api->retention, sizeof(r.retention));
	r.granularity = XS_STATS_RANGE;
	r.from = from;
	r.to = to;
	r.points = XS_STATS_MAX_POINTS;
	r.at_5s = true; /* rows, even after a gap or past a short 5 s retention */
	xs_buf_init(&body, ev->limit);
	sub->last = to;
	api_cursor_format(st, id);
	sub->last = last;
	rc = xs_query_stats(e, sub->kind == XS_OBJ_VM ? "vms" : "hosts", sub->uuid, &r, &body, err);
	if (!rc && (body.len < 2 || body.data[0] != '{'))
		rc = xs_err_set(err, XS_ERR_PARSE, "not an object");
	if (!rc && (xs_buf_printf(ev, "event: stats\nid: %s\ndata: {\"uuid\":\"%s\",\"kind\":\"%s\",", id,
				  sub->uuid, sub->kind == XS_OBJ_VM ? "vm" : "host") ||
		    xs_buf_append(ev, body.data + 1, body.len - 1) || xs_buf_append_str(ev, "\n\n")))
		rc = xs_err_set(err, XS_ERR_TOO_LARGE, "the event would pass %zu bytes", ev->limit);
	xs_buf_free(&body);
	return rc;
}

enum api_sent { API_SENT, API_WAIT, API_CUT };

/*
 * Queues sub's next event: its rows after sub->last, at most
 * API_STREAM_EVENT_ROWS of them, so a catch-up of many rows goes in several
 * events, each moving the client's cursor. API_WAIT when the queue has no room
 * for it yet (the next tick builds it again); an event that could never fit
 * even the empty queue (one row too large) is left out, and the client is
 * told nothing of those rows but a gap in times.
 */
static enum api_sent api_stream_send(struct api_stream *st, const struct xs_estate *e, struct api_sub *sub,
				     size_t *sent)
{
	size_t room = xs_http_stream_room(st->hs), cap = room + xs_http_stream_pending(st->hs);
	int64_t after = sub->last > sub->newest - API_STREAM_BACK ? sub->last
								   : sub->newest - API_STREAM_BACK;
	/* the next row stored, not after + 5: a gap gives no event of nulls, and a cursor
	 * not on a multiple of 5 (hand-made) skips no row */
	int64_t from = api_first_after(e->store, sub, after, sub->newest);
	int64_t rows = API_STREAM_EVENT_ROWS, to;
	char err[XS_ERR_LEN] = "";
	enum api_sent res = API_SENT;
	struct xs_buf ev;
	enum xs_err rc;

	if (!room)
		return API_WAIT; /* a full queue, or a stream ending */
	for (;;) {
		to = from + 5 * (rows - 1) < sub->newest ? from + 5 * (rows - 1) : sub->newest;
		xs_buf_init(&ev, cap);
		rc = api_stream_event(st, e, sub, from, to, &ev, err);
		if (!rc || rows == 1)
			break;
		rows = 1; /* too large a minute, or a query error: try the first row alone */
	}
	if (rc) {
		xs_log_warn("stream: %s: rows %lld to %lld left out: %s", sub->uuid, (long long)from,
			    (long long)to, err);
	} else if (ev.len > room) {
		res = API_WAIT;
	} else {
		res = xs_http_stream_write(st->hs, ev.data, ev.len) == XS_OK ? API_SENT : API_CUT;
		st->last_write = xs_evloop_now();
		st->waiting = 0;
		*sent += ev.len;
	}
	if (res != API_WAIT)
		sub->last = to;
	xs_buf_free(&ev);
	return res;
}

/*
 * An event of st waits for room: a client that has read nothing for
 * stream_stall seconds since is cut (it would hold its queue and its slot of
 * XS_API_MAX_STREAMS for good; a browser reconnects, and its cursor resumes
 * it). True if it was cut.
 */
static bool api_stream_stalled(struct api_stream *st)
{
	size_t pending = xs_http_stream_pending(st->hs);
	double now = xs_evloop_now();

	if (!st->waiting || pending < st->wait_pending) {
		st->waiting = now;
		st->wait_pending = pending;
		return false;
	}
	if (now - st->waiting <= st->api->stream_stall)
		return false;
	xs_log_info("stream: cut, its client read nothing for %.0f s", now - st->waiting);
	xs_http_stream_cut(st->hs);
	st->cut = true;
	return true;
}

/* One tick over every stream: the estate, the lock held since, the bytes queued. */
struct api_tick_run {
	struct xs_api *a;
	struct xs_estate e;
	double held_since;
	size_t sent;
};

/* Between two events: past the slice, lets the provider's thread take the lock (its
 * ticket comes first if it waits), then takes it back and the estate afresh. */
static void api_tick_pause(struct api_tick_run *run)
{
	double now = xs_evloop_now();

	if (now - run->held_since < run->a->stream_tick_slice)
		return;
	api_leave(run->a);
	api_enter(run->a);
	api_estate(run->a, &run->e, false);
	run->held_since = xs_evloop_now();
}

/* Whether stream st may queue more this tick: its share, and the tick's budget over all. */
static bool api_tick_room(const struct api_tick_run *run, size_t sent)
{
	return sent < API_STREAM_TICK_BYTES && run->sent + sent < run->a->stream_tick_bytes;
}

/*
 * One tick of a stream: one event per object that has new rows, round after
 * round while some have more (a catch-up), until the queue has no room,
 * API_STREAM_TICK_BYTES went out, or the tick's budget over all streams
 * (xs_api_config.stream_tick_bytes) is spent; the object that waited goes first
 * next tick, so every object gets its turn. False if the stream was cut.
 */
static bool api_stream_tick(struct api_stream *st, struct api_tick_run *run)
{
	size_t sent = 0, k0 = st->next;
	bool more = true;

	for (size_t k = 0; k < st->nsubs; k++)
		st->subs[k].newest = api_newest(run->e.store, &st->subs[k]);
	while (more && api_tick_room(run, sent)) {
		more = false;
		for (size_t i = 0; i < st->nsubs && api_tick_room(run, sent); i++) {
			size_t k = (k0 + i) % st->nsubs;
			struct api_sub *sub = &st->subs[k];
			enum api_sent res;

			if (sub->newest <= sub->last)
				continue;
			api_tick_pause(run);
			res = api_stream_send(st, &run->e, sub, &sent);
			if (res == API_CUT) {
				run->sent += sent;
				st->cut = true;
				return false;
			}
			if (res == API_WAIT) {
				run->sent += sent;
				st->next = k;
				return !api_stream_stalled(st);
			}
			more |= sub->newest > sub->last;
			st->next = (k + 1) % st->nsubs;
		}
		k0 = st->next;
	}
	run->sent += sent;
	return true;
}

static void api_tick(struct xs_evloop *loop, void *arg)
{
	static const char ka[] = ": keep-alive\n\n";
	struct xs_api *a = arg;
	struct api_tick_run run = { .a = a };
	double now = xs_evloop_now();
	size_t i0 = a->nstreams ? a->tick_next % a->nstreams : 0;

	(void)loop;
	a->timer = 0;
	api_enter(a);
	api_estate(a, &run.e, false);
	run.held_since = xs_evloop_now();
	/* from where the last tick's budget ran out, so every stream gets its turn */
	for (size_t j = 0; j < a->nstreams; j++) {
		size_t i = (i0 + j) % a->nstreams;
		struct api_stream *st = a->streams[i];

		if (run.sent >= a->stream_tick_bytes) {
			a->tick_next = i;
			break;
		}
		/* a cut stream gets its on_close later, from the loop: nothing to do here */
		if (!st->cut && api_stream_tick(st, &run) && now - st->last_write > API_STREAM_KEEPALIVE &&
		    xs_http_stream_room(st->hs) >= sizeof(ka) - 1) {
			xs_http_stream_write(st->hs, ka, sizeof(ka) - 1);
			st->last_write = now;
		}
	}
	api_leave(a);
	if (a->nstreams)
		a->timer = xs_evloop_add_timer(a->loop, API_STREAM_TICK, api_tick, a);
}

/*
 * What sub->uuid is: a VM or host of a topology, else one the store holds series
 * of (as the stats routes accept it), else gone; false once a 400 is sent (a pool
 * or an SR). A uuid nobody knows is no error: the stream is a browser's
 * EventSource, which any status but 200 stops for good (WHATWG HTML, "fail the
 * connection"), so the other objects would stop with it.
 */
static bool api_stream_sub_kind(struct xs_http_request *req, const struct xs_estate *e,
				struct api_sub *sub)
{
	enum xs_estate_kind k = xs_estate_find(e, sub->uuid, NULL);

	if (k == XS_ESTATE_VM || k == XS_ESTATE_HOST) {
		sub->kind = k == XS_ESTATE_VM ? XS_OBJ_VM : XS_OBJ_HOST;
	} else if (k != XS_ESTATE_NONE) {
		xs_http_reply_json_error(req, 400,
					 "objects: %s is not a VM or host (stream the hosts "
					 "of a pool or SR)", sub->uuid);
		return false;
	} else if (api_stored(e->store, XS_OBJ_VM, sub->uuid)) {
		sub->kind = XS_OBJ_VM;
	} else if (api_stored(e->store, XS_OBJ_HOST, sub->uuid)) {
		sub->kind = XS_OBJ_HOST;
	} else {
		sub->gone = true;
	}
	return true;
}

/* Parses "uuid,uuid,..." into st->subs; false once a reply is sent. */
static bool api_stream_subs(struct xs_http_request *req, const struct xs_estate *e, const char *list,
			    struct api_stream *st)
{
	char (*uuids)[XS_STREAM_UUID_MAX] = xs_xcalloc(XS_API_MAX_STREAM_OBJECTS, sizeof(*uuids));
	char err[XS_ERR_LEN];
	size_t n;
	bool ok = xs_stream_objects_parse(list, uuids, XS_API_MAX_STREAM_OBJECTS, &n, err);

	if (!ok)
		xs_http_reply_json_error(req, 400, "%s", err);
	st->subs = xs_xcalloc(XS_API_MAX_STREAM_OBJECTS, sizeof(*st->subs));
	for (size_t k = 0; ok && k < n; k++) {
		memcpy(st->subs[k].uuid, uuids[k], sizeof(uuids[k]));
		ok = api_stream_sub_kind(req, e, &st->subs[k]);
		st->nsubs += ok;
	}
	free(uuids);
	return ok;
}

/*
 * Past XS_API_MAX_STREAMS: a 200 that says when to come back and ends, for the
 * same reason as api_stream_sub_kind (a 503 would stop the browser for good;
 * an ended stream makes it reconnect after `retry`).
 */
static enum xs_err api_stream_busy(struct xs_http_request *req)
{
	struct xs_http_stream *hs = xs_http_stream_start(req, "text/event-stream", NULL, NULL);
	char msg[128];
	int n;

	if (!hs) {
		if (xs_http_is_head(req))
			return XS_OK;
		xs_http_set_header(req, "Retry-After", "5");
		return xs_http_reply_json_error(req, 503, "too many streams open (%d)", XS_API_MAX_STREAMS);
	}
	n = snprintf(msg, sizeof(msg), "retry: %d\n: too many streams open (%d)\n\n", API_STREAM_BUSY_RETRY_MS,
		     XS_API_MAX_STREAMS);
	xs_http_stream_write(hs, msg, (size_t)n);
	xs_http_stream_close(hs);
	return XS_OK;
}

/* Tells the client, once, which of its objects nobody knows. */
static void api_stream_gone(struct api_stream *st)
{
	char ev[API_UUID_MAX + 64];

	for (size_t k = 0; k < st->nsubs; k++) {
		int n;

		if (!st->subs[k].gone)
			continue;
		n = snprintf(ev, sizeof(ev), "event: gone\ndata: {\"uuid\":\"%s\"}\n\n", st->subs[k].uuid);
		if (xs_http_stream_write(st->hs, ev, (size_t)n) != XS_OK)
			return;
	}
}

enum xs_err api_stream(struct xs_http_request *req, void *arg)
{
	static const char *const allowed[] = { "objects", NULL };
	struct xs_api *a = arg;
	const char *list = xs_http_param(req, "objects"), *leid = xs_http_header(req, "Last-Event-ID");
	struct api_stream *st;
	struct xs_estate e;
	char hello[64];
	int n;

	if (!api_params_known(req, allowed))
		return XS_OK;
	api_estate(a, &e, false);
	st = xs_xcalloc(1, sizeof(*st));
	st->api = a;
	if (!api_stream_subs(req, &e, list ? list : "", st)) {
		free(st->subs);
		free(st);
		return XS_OK;
	}
	/* only after the request is checked: a malformed one is a 400 even when busy */
	if (a->nstreams == XS_API_MAX_STREAMS) {
		free(st->subs);
		free(st);
		return api_stream_busy(req);
	}
	st->hs = xs_http_stream_start(req, "text/event-stream", api_stream_closed, st);
	if (!st->hs) {
		free(st->subs);
		free(st);
		/* a HEAD got the headers alone (RFC 9110 §9.3.2): no stream to run */
		if (xs_http_is_head(req))
			return XS_OK;
		return xs_http_reply_json_error(req, 500, "cannot start the stream");
	}
	st->tag = XS_STREAM_TAG_INIT;
	for (size_t k = 0; k < st->nsubs; k++)
		st->tag = xs_stream_tag_add(st->tag, st->subs[k].uuid);
	api_stream_resume(st, e.store, leid);
	a->streams = xs_xrealloc(a->streams, (a->nstreams + 1) * sizeof(*a->streams));
	a->streams[a->nstreams++] = st;
	n = snprintf(hello, sizeof(hello), "retry: %d\n\n", API_STREAM_RETRY_MS);
	xs_http_stream_write(st->hs, hello, (size_t)n);
	api_stream_gone(st);
	st->last_write = xs_evloop_now();
	if (!a->timer)
		a->timer = xs_evloop_add_timer(a->loop, 0, api_tick, a);
	return XS_OK;
}

void api_stream_free(struct xs_api *a)
{
	while (a->nstreams)
		api_stream_drop(a, a->streams[0]);
	if (a->timer)
		xs_evloop_cancel_timer(a->loop, a->timer);
	a->timer = 0;
	free(a->streams);
	a->streams = NULL;
}
