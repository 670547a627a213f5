/*
 * objects.c - GET /api/v1/objects (objects.h): pools, hosts, VMs and SRs of
 * every pool's topology, with per-host collection status merged by host uuid,
 * and the network devices and disks of each VM and host: the devices its
 * stored series name (one xs_store_each_of() walk per object), named from the
 * topology.
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
#include "lib/xmalloc.h"
#include "query/objects.h"
#include "query/series_map.h"
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

/* Bytes oj_escaped() passes through as they are: printable ASCII but '"' and '\\'. */
static bool oj_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
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

		if (oj_plain(u[i])) {
			i++;
			continue;
		}
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
		} else if ((l = oj_utf8_len(u + i, n - i)) == 0) {
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

/* A key: k is the literal "\"name\":" (names here never need escaping); see OJ_KEY. */
static void oj_key_lit(struct oj *w, const char *k, size_t n)
{
	oj_value(w);
	oj_put(w, k, n);
	w->after_key = true;
}

/* "name": for a string literal name. */
#define OJ_KEY(w, name) oj_key_lit((w), "\"" name "\":", sizeof(name) + 2)

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

/* ---- devices of an object, from its stored series ---- */

enum objects_dev_class { OBJ_VIF, OBJ_VBD, OBJ_PIF, OBJ_NCLASSES };

typedef char objects_dev_name[XS_SMAP_DEV_LEN];

/* The devices of one object per class; the arrays are reused from object to object. */
struct objects_devs {
	objects_dev_name *dev[OBJ_NCLASSES];
	size_t n[OBJ_NCLASSES], cap[OBJ_NCLASSES];
};

/* PIF data sources: pif_<dev><suffix> (so a device may hold '_'; longest suffixes first). */
static const char *const objects_pif_suffix[] = { "_rx_errors", "_tx_errors", "_rx", "_tx" };

static void objects_dev_add(struct objects_devs *d, enum objects_dev_class c, const char *dev,
			    size_t len)
{
	if (len == 0 || len >= XS_SMAP_DEV_LEN)
		return; /* as series_map.h: a longer device is not shown */
	/* the series of one device mostly come together: skip a repeat of the last one */
	if (d->n[c] > 0 && !strncmp(d->dev[c][d->n[c] - 1], dev, len) &&
	    d->dev[c][d->n[c] - 1][len] == '\0')
		return;
	if (d->n[c] == d->cap[c]) {
		d->cap[c] = d->cap[c] ? 2 * d->cap[c] : 8;
		d->dev[c] = xs_xrealloc(d->dev[c], d->cap[c] * sizeof(*d->dev[c]));
	}
	memcpy(d->dev[c][d->n[c]], dev, len);
	d->dev[c][d->n[c]][len] = '\0';
	d->n[c]++;
}

/* vif_<digits>_... and vbd_<dev without '_'>_... of a VM (as series_map.h parses them). */
static void objects_vm_series(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct objects_devs *d = arg;
	enum objects_dev_class c;
	size_t len = 0;

	(void)id;
	(void)unit;
	/* most of a VM's series are neither: decided on the first bytes */
	if (ds[0] == 'v' && ds[1] == 'i' && ds[2] == 'f' && ds[3] == '_')
		c = OBJ_VIF;
	else if (ds[0] == 'v' && ds[1] == 'b' && ds[2] == 'd' && ds[3] == '_')
		c = OBJ_VBD;
	else
		return;
	ds += 4;
	if (c == OBJ_VIF)
		while (ds[len] >= '0' && ds[len] <= '9')
			len++;
	else
		while (ds[len] != '\0' && ds[len] != '_')
			len++;
	if (ds[len] == '_' && ds[len + 1] != '\0')
		objects_dev_add(d, c, ds, len);
}

/* pif_<dev>_rx / _tx / _rx_errors / _tx_errors of a host, but pif_aggr_* (the sum). */
static void objects_host_series(void *arg, xs_series_id id, const char *ds, const char *unit)
{
	struct objects_devs *d = arg;
	size_t n, sl;

	(void)id;
	(void)unit;
	if (ds[0] != 'p' || ds[1] != 'i' || ds[2] != 'f' || ds[3] != '_')
		return;
	n = strlen(ds);
	for (size_t i = 0; i < sizeof(objects_pif_suffix) / sizeof(objects_pif_suffix[0]); i++) {
		sl = strlen(objects_pif_suffix[i]);
		if (n > 4 + sl && !memcmp(ds + n - sl, objects_pif_suffix[i], sl)) {
			if (!(n - 4 - sl == 4 && !memcmp(ds + 4, "aggr", 4)))
				objects_dev_add(d, OBJ_PIF, ds + 4, n - 4 - sl);
			return;
		}
	}
	/* another measurement: the device runs to the first '_' */
	sl = strcspn(ds + 4, "_");
	if (ds[4 + sl] == '_' && ds[5 + sl] != '\0' && !(sl == 4 && !memcmp(ds + 4, "aggr", 4)))
		objects_dev_add(d, OBJ_PIF, ds + 4, sl);
}

static int objects_dev_cmp(const void *a, const void *b)
{
	return xs_smap_dev_cmp(a, b);
}

/* Each device once, in natural order (xs_smap_dev_cmp: vif 2 before 10, eth2 before eth10). */
static void objects_dev_sort(struct objects_devs *d, enum objects_dev_class c)
{
	size_t i, k;

	if (d->n[c] < 2)
		return;
	qsort(d->dev[c], d->n[c], sizeof(*d->dev[c]), objects_dev_cmp);
	for (i = 1, k = 1; i < d->n[c]; i++)
		if (strcmp(d->dev[c][i], d->dev[c][k - 1]))
			memmove(d->dev[c][k++], d->dev[c][i], sizeof(*d->dev[c]));
	d->n[c] = k;
}

/* The devices of (kind, uuid) from the store's index by object (its ~30 series, not the catalog). */
static void objects_devs_of(struct objects_devs *d, const struct xs_store *s, enum xs_obj_kind kind,
			    const char *uuid)
{
	for (int c = 0; c < OBJ_NCLASSES; c++)
		d->n[c] = 0;
	if (s == NULL)
		return;
	xs_store_each_of(s, kind, uuid, kind == XS_OBJ_VM ? objects_vm_series : objects_host_series, d);
	for (int c = 0; c < OBJ_NCLASSES; c++)
		objects_dev_sort(d, (enum objects_dev_class)c);
}

static void objects_devs_free(struct objects_devs *d)
{
	for (int c = 0; c < OBJ_NCLASSES; c++)
		free(d->dev[c]);
}

/* The VIFs of a VM or the PIFs of a host: [{"device":..,"network":..}]. */
static void objects_nets(struct oj *w, const struct xs_topo *t, const struct objects_devs *d,
			 enum objects_dev_class c, const char *owner)
{
	oj_open(w, '[');
	for (size_t i = 0; i < d->n[c]; i++) {
		const char *dev = d->dev[c][i];

		oj_open(w, '{');
		OJ_KEY(w, "device");
		oj_str(w, dev);
		OJ_KEY(w, "network");
		oj_str(w, c == OBJ_VIF ? xs_topo_vif_network(t, owner, dev)
				       : xs_topo_pif_network(t, owner, dev));
		oj_close(w, '}');
	}
	oj_close(w, ']');
}

/* The VBDs of VM vm_uuid: [{"device":..,"vdi":..,"sr":<uuid>|null}]. */
static void objects_vbds(struct oj *w, const struct xs_topo *t, const struct objects_devs *d,
			 const char *vm_uuid)
{
	oj_open(w, '[');
	for (size_t i = 0; i < d->n[OBJ_VBD]; i++) {
		const struct xs_topo_sr *sr = NULL;
		const char *dev = d->dev[OBJ_VBD][i];
		const char *vdi = xs_topo_vbd_vdi(t, vm_uuid, dev, &sr);

		oj_open(w, '{');
		OJ_KEY(w, "device");
		oj_str(w, dev);
		OJ_KEY(w, "vdi");
		oj_str(w, vdi);
		OJ_KEY(w, "sr");
		oj_str(w, sr ? sr->uuid : NULL);
		oj_close(w, '}');
	}
	oj_close(w, ']');
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
	OJ_KEY(w, "uuid");
	oj_str(w, tp ? tp->uuid : NULL);
	OJ_KEY(w, "name");
	oj_str(w, p->name ? p->name : "");
	OJ_KEY(w, "name_label");
	oj_str(w, tp ? tp->name : NULL);
	OJ_KEY(w, "master");
	oj_str(w, master ? master->uuid : NULL);
	OJ_KEY(w, "connected");
	oj_bool(w, p->topo != NULL);
	oj_close(w, '}');
}

static void objects_collection(struct oj *w, const struct xs_collect_host_status *st, double now)
{
	OJ_KEY(w, "collection");
	if (st == NULL) {
		oj_null(w);
		return;
	}
	oj_open(w, '{');
	OJ_KEY(w, "state");
	oj_str(w, xs_collect_state_name(st->state));
	OJ_KEY(w, "health");
	oj_str(w, xs_status_health_name(xs_status_host_health(st, now)));
	OJ_KEY(w, "last_success");
	if (st->last_success > 0)
		oj_num(w, st->last_success);
	else
		oj_null(w);
	OJ_KEY(w, "last_error");
	if (st->last_error[0]) {
		oj_value(w);
		oj_escaped(w, st->last_error, strnlen(st->last_error, sizeof(st->last_error)));
	} else {
		oj_null(w);
	}
	OJ_KEY(w, "latency");
	oj_num(w, st->latency);
	OJ_KEY(w, "lag");
	if (st->lag >= 0)
		oj_num(w, st->lag);
	else
		oj_null(w);
	oj_close(w, '}');
}

static void objects_hosts(struct oj *w, const struct xs_estate *e, const struct xs_topo *t,
			  const struct xs_status_index *ix, struct objects_devs *d)
{
	const struct xs_topo_host *h;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++) {
		oj_open(w, '{');
		OJ_KEY(w, "uuid");
		oj_str(w, h->uuid);
		OJ_KEY(w, "name");
		oj_str(w, h->name);
		OJ_KEY(w, "pool");
		oj_str(w, pool);
		OJ_KEY(w, "address");
		oj_str(w, h->address);
		OJ_KEY(w, "live");
		oj_bool(w, h->live);
		OJ_KEY(w, "enabled");
		oj_bool(w, h->enabled);
		OJ_KEY(w, "cpus");
		oj_u64(w, h->cpus > 0 ? (uint64_t)h->cpus : 0);
		OJ_KEY(w, "memory");
		oj_u64(w, h->memory_total);
		objects_collection(w, xs_status_index_find(ix, h->uuid), e->now);
		objects_devs_of(d, e->store, XS_OBJ_HOST, h->uuid);
		OJ_KEY(w, "pifs");
		objects_nets(w, t, d, OBJ_PIF, h->uuid);
		oj_close(w, '}');
	}
}

static void objects_vms(struct oj *w, const struct xs_store *s, const struct xs_topo *t,
			struct objects_devs *d)
{
	const struct xs_topo_vm *vm;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		const struct xs_topo_host *h;

		if (vm->is_template || vm->is_snapshot)
			continue;
		h = *vm->resident_on ? xs_topo_host_by_ref(t, vm->resident_on) : NULL;
		oj_open(w, '{');
		OJ_KEY(w, "uuid");
		oj_str(w, vm->uuid);
		OJ_KEY(w, "name");
		oj_str(w, vm->name);
		OJ_KEY(w, "pool");
		oj_str(w, pool);
		OJ_KEY(w, "host");
		oj_str(w, h ? h->uuid : NULL);
		OJ_KEY(w, "power_state");
		oj_str(w, objects_power_name(vm->power));
		OJ_KEY(w, "tags");
		oj_open(w, '[');
		for (size_t k = 0; k < vm->ntags; k++)
			oj_str(w, vm->tags[k]);
		oj_close(w, ']');
		OJ_KEY(w, "vcpus");
		oj_u64(w, vm->vcpus > 0 ? (uint64_t)vm->vcpus : 0);
		OJ_KEY(w, "memory");
		oj_u64(w, vm->memory_static_max);
		OJ_KEY(w, "guest_tools");
		oj_bool(w, vm->guest_tools);
		OJ_KEY(w, "is_control_domain");
		oj_bool(w, vm->is_control_domain);
		objects_devs_of(d, s, XS_OBJ_VM, vm->uuid);
		OJ_KEY(w, "vifs");
		objects_nets(w, t, d, OBJ_VIF, vm->uuid);
		OJ_KEY(w, "vbds");
		objects_vbds(w, t, d, vm->uuid);
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
		OJ_KEY(w, "uuid");
		oj_str(w, sr->uuid);
		OJ_KEY(w, "name");
		oj_str(w, sr->name);
		OJ_KEY(w, "type");
		oj_str(w, sr->type);
		OJ_KEY(w, "shared");
		oj_bool(w, sr->shared);
		OJ_KEY(w, "pool");
		oj_str(w, pool);
		OJ_KEY(w, "hosts");
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
	struct objects_devs devs = { 0 };
	struct xs_status_index ix;
	size_t i;

	xs_status_index_init(&ix, e);
	oj_open(&w, '{');
	OJ_KEY(&w, "pools");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		objects_pool(&w, &e->pools[i]);
	oj_close(&w, ']');
	OJ_KEY(&w, "hosts");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_hosts(&w, e, e->pools[i].topo, &ix, &devs);
	oj_close(&w, ']');
	OJ_KEY(&w, "vms");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_vms(&w, e->store, e->pools[i].topo, &devs);
	oj_close(&w, ']');
	OJ_KEY(&w, "srs");
	oj_open(&w, '[');
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_srs(&w, e->pools[i].topo);
	oj_close(&w, ']');
	oj_close(&w, '}');
	xs_status_index_cleanup(&ix);
	objects_devs_free(&devs);
	if (w.rc != XS_OK)
		return xs_err_set(err, w.rc, "objects: %s (body over %zu bytes)", xs_strerror(w.rc),
				  out->limit);
	return XS_OK;
}
