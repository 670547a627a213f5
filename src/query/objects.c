/*
 * objects.c - GET /api/v1/objects (objects.h): pools, hosts, VMs and SRs of
 * every pool's topology, with per-host collection status merged by host uuid.
 *
 * JSON is written by the small oj_* writer below (one place, to be replaced
 * by src/lib/json_out once it exists): commas tracked per nesting level,
 * strings escaped (quotes, backslashes, control characters; invalid UTF-8
 * becomes U+FFFD), null for NaN, infinities and absent values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/num.h"
#include "query/objects.h"
#include "query/status.h"

#define OJ_DEPTH 8 /* nesting the bodies here need */

/* ---- the JSON writer (one place) ---- */

struct oj {
	struct xs_buf *b;
	enum xs_err rc;        /* first error */
	int depth;
	bool first[OJ_DEPTH];  /* no member written yet at this level */
	bool after_key;        /* the next value follows a key: no comma */
};

static void oj_put(struct oj *w, const char *s, size_t n)
{
	if (w->rc == XS_OK)
		w->rc = xs_buf_append(w->b, s, n);
}

static void oj_value(struct oj *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		oj_put(w, ",", 1);
	w->first[w->depth] = false;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t oj_utf8_len(const unsigned char *s, size_t n)
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

static void oj_escaped(struct oj *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;
	char esc[8];

	oj_put(w, "\"", 1);
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
		} else if (u[i] >= 0x80 && (l = oj_utf8_len(u + i, n - i)) == 0) {
			rep = "\\ufffd";
		}
		if (rep == NULL) {
			i += l;
			continue;
		}
		oj_put(w, s + run, i - run);
		oj_put(w, rep, strlen(rep));
		i++;
		run = i;
	}
	oj_put(w, s + run, n - run);
	oj_put(w, "\"", 1);
}

static void oj_key(struct oj *w, const char *k)
{
	oj_value(w);
	oj_escaped(w, k, strlen(k));
	oj_put(w, ":", 1);
	w->after_key = true;
}

/* A string value; NULL writes null. */
static void oj_str(struct oj *w, const char *s)
{
	oj_value(w);
	if (s == NULL)
		oj_put(w, "null", 4);
	else
		oj_escaped(w, s, strlen(s));
}

static void oj_null(struct oj *w)
{
	oj_value(w);
	oj_put(w, "null", 4);
}

static void oj_bool(struct oj *w, bool v)
{
	oj_value(w);
	oj_put(w, v ? "true" : "false", v ? 4 : 5);
}

static void oj_u64(struct oj *w, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	oj_value(w);
	oj_put(w, num, (size_t)n);
}

/* A number: integers as such, else the shortest round-trip form; NaN and infinities → null. */
static void oj_num(struct oj *w, double v)
{
	char num[XS_NUM_FMT_LEN];
	size_t n;

	if (!isfinite(v)) {
		oj_null(w);
		return;
	}
	oj_value(w);
	if (fabs(v) < 1e15 && v == floor(v))
		n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)v);
	else
		n = xs_num_format(num, sizeof(num), v);
	oj_put(w, num, n);
}

static void oj_open(struct oj *w, char c)
{
	oj_value(w);
	oj_put(w, &c, 1);
	if (w->depth + 1 < OJ_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void oj_close(struct oj *w, char c)
{
	oj_put(w, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

/* ---- the body ---- */

static const char *objects_power_name(enum xs_power p)
{
	switch (p) {
	case XS_POWER_HALTED: return "Halted";
	case XS_POWER_RUNNING: return "Running";
	case XS_POWER_PAUSED: return "Paused";
	case XS_POWER_SUSPENDED: return "Suspended";
	case XS_POWER_UNKNOWN: break;
	}
	return "Unknown";
}

static const char *objects_pool_uuid(const struct xs_topo *t)
{
	const struct xs_topo_pool *p = xs_topo_pool(t);

	return p ? p->uuid : NULL;
}

static void objects_pool(struct oj *w, const struct xs_estate_pool *p)
{
	const struct xs_topo_pool *tp = p->topo ? xs_topo_pool(p->topo) : NULL;
	const struct xs_topo_host *master = tp ? xs_topo_host_by_ref(p->topo, tp->master) : NULL;

	oj_open(w, '{');
	oj_key(w, "uuid");
	oj_str(w, tp ? tp->uuid : NULL);
	oj_key(w, "name");
	oj_str(w, p->name ? p->name : "");
	oj_key(w, "name_label");
	oj_str(w, tp ? tp->name : NULL);
	oj_key(w, "master");
	oj_str(w, master ? master->uuid : NULL);
	oj_key(w, "connected");
	oj_bool(w, p->topo != NULL);
	oj_close(w, '}');
}

static void objects_collection(struct oj *w, const struct xs_collect_host_status *st, double now)
{
	oj_key(w, "collection");
	if (st == NULL) {
		oj_null(w);
		return;
	}
	oj_open(w, '{');
	oj_key(w, "state");
	oj_str(w, xs_collect_state_name(st->state));
	oj_key(w, "health");
	oj_str(w, xs_status_health_name(xs_status_host_health(st, now)));
	oj_key(w, "last_success");
	if (st->last_success > 0)
		oj_num(w, st->last_success);
	else
		oj_null(w);
	oj_key(w, "last_error");
	if (st->last_error[0]) {
		oj_value(w);
		oj_escaped(w, st->last_error, strnlen(st->last_error, sizeof(st->last_error)));
	} else {
		oj_null(w);
	}
	oj_key(w, "latency");
	oj_num(w, st->latency);
	oj_key(w, "lag");
	if (st->lag >= 0)
		oj_num(w, st->lag);
	else
		oj_null(w);
	oj_close(w, '}');
}

static void objects_hosts(struct oj *w, const struct xs_estate *e, const struct xs_topo *t,
			  const struct xs_status_index *ix)
{
	const struct xs_topo_host *h;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++) {
		oj_open(w, '{');
		oj_key(w, "uuid");
		oj_str(w, h->uuid);
		oj_key(w, "name");
		oj_str(w, h->name);
		oj_key(w, "pool");
		oj_str(w, pool);
		oj_key(w, "address");
		oj_str(w, h->address);
		oj_key(w, "live");
		oj_bool(w, h->live);
		oj_key(w, "enabled");
		oj_bool(w, h->enabled);
		oj_key(w, "cpus");
		oj_u64(w, h->cpus > 0 ? (uint64_t)h->cpus : 0);
		oj_key(w, "memory");
		oj_u64(w, h->memory_total);
		objects_collection(w, xs_status_index_find(ix, h->uuid), e->now);
		oj_close(w, '}');
	}
}

static void objects_vms(struct oj *w, const struct xs_topo *t)
{
	const struct xs_topo_vm *vm;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		const struct xs_topo_host *h;

		if (vm->is_template || vm->is_snapshot)
			continue;
		h = *vm->resident_on ? xs_topo_host_by_ref(t, vm->resident_on) : NULL;
		oj_open(w, '{');
		oj_key(w, "uuid");
		oj_str(w, vm->uuid);
		oj_key(w, "name");
		oj_str(w, vm->name);
		oj_key(w, "pool");
		oj_str(w, pool);
		oj_key(w, "host");
		oj_str(w, h ? h->uuid : NULL);
		oj_key(w, "power_state");
		oj_str(w, objects_power_name(vm->power));
		oj_key(w, "tags");
		oj_open(w, '[');
		for (size_t k = 0; k < vm->ntags; k++)
			oj_str(w, vm->tags[k]);
		oj_close(w, ']');
		oj_key(w, "vcpus");
		oj_u64(w, vm->vcpus > 0 ? (uint64_t)vm->vcpus : 0);
		oj_key(w, "memory");
		oj_u64(w, vm->memory_static_max);
		oj_key(w, "guest_tools");
		oj_bool(w, vm->guest_tools);
		oj_key(w, "is_control_domain");
		oj_bool(w, vm->is_control_domain);
		oj_close(w, '}');
	}
}

/* SRs with the hosts that have a PBD for them (pools hold at most 64 hosts: SRs x hosts lookups). */
static void objects_srs(struct oj *w, const struct xs_topo *t)
{
	const struct xs_topo_sr *sr;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (sr = xs_topo_sr_at(t, i)) != NULL; i++) {
		const struct xs_topo_host *h;

		oj_open(w, '{');
		oj_key(w, "uuid");
		oj_str(w, sr->uuid);
		oj_key(w, "name");
		oj_str(w, sr->name);
		oj_key(w, "type");
		oj_str(w, sr->type);
		oj_key(w, "shared");
		oj_bool(w, sr->shared);
		oj_key(w, "pool");
		oj_str(w, pool);
		oj_key(w, "hosts");
		oj_open(w, '[');
		for (size_t k = 0; (h = xs_topo_host_at(t, k)) != NULL; k++)
			if (xs_topo_sr_on_host(t, sr, h))
				oj_str(w, h->uuid);
		oj_close(w, ']');
		oj_close(w, '}');
	}
}

enum xs_err xs_query_objects(const struct xs_estate *e, struct xs_buf *out, char *err)
{
	struct oj w = { .b = out, .first = { true } };
	struct xs_status_index ix;
	size_t i;

	xs_status_index_init(&ix, e);
	oj_open(&w, '{');
	oj_key(&w, "pools");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		objects_pool(&w, &e->pools[i]);
	oj_close(&w, ']');
	oj_key(&w, "hosts");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_hosts(&w, e, e->pools[i].topo, &ix);
	oj_close(&w, ']');
	oj_key(&w, "vms");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_vms(&w, e->pools[i].topo);
	oj_close(&w, ']');
	oj_key(&w, "srs");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_srs(&w, e->pools[i].topo);
	oj_close(&w, ']');
	oj_close(&w, '}');
	xs_status_index_cleanup(&ix);
	if (w.rc != XS_OK)
		return xs_err_set(err, w.rc, "objects: %s (body over %zu bytes)", xs_strerror(w.rc),
				  out->limit);
	return XS_OK;
}
