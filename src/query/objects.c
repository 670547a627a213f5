/*
 * objects.c - GET /api/v1/objects (objects.h): pools, hosts, VMs and SRs of
 * every pool's topology, with per-host collection status merged by host uuid,
 * and the network devices and disks of each VM and host: the devices its
 * stored series name (one xs_store_each_of() walk per object), named from the
 * topology.
 *
 * JSON is written with lib/json_out (struct xs_json): strings escaped
 * (invalid UTF-8 becomes U+FFFD), null for NaN and infinities; absent values
 * are written as null here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_out.h"
#include "lib/xmalloc.h"
#include "query/objects.h"
#include "query/series_map.h"
#include "query/status.h"

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
static void objects_nets(struct xs_json *w, const struct xs_topo *t, const struct objects_devs *d,
			 enum objects_dev_class c, const char *owner)
{
	xs_json_arr_begin(w);
	for (size_t i = 0; i < d->n[c]; i++) {
		const char *dev = d->dev[c][i];

		xs_json_obj_begin(w);
		xs_json_field_str(w, "device", dev);
		xs_json_key(w, "network");
		xs_json_str(w, c == OBJ_VIF ? xs_topo_vif_network(t, owner, dev)
				       : xs_topo_pif_network(t, owner, dev));
		xs_json_obj_end(w);
	}
	xs_json_arr_end(w);
}

/* The VBDs of VM vm_uuid: [{"device":..,"vdi":..,"sr":<uuid>|null}]. */
static void objects_vbds(struct xs_json *w, const struct xs_topo *t, const struct objects_devs *d,
			 const char *vm_uuid)
{
	xs_json_arr_begin(w);
	for (size_t i = 0; i < d->n[OBJ_VBD]; i++) {
		const struct xs_topo_sr *sr = NULL;
		const char *dev = d->dev[OBJ_VBD][i];
		const char *vdi = xs_topo_vbd_vdi(t, vm_uuid, dev, &sr);

		xs_json_obj_begin(w);
		xs_json_field_str(w, "device", dev);
		xs_json_field_str(w, "vdi", vdi);
		xs_json_field_str(w, "sr", sr ? sr->uuid : NULL);
		xs_json_obj_end(w);
	}
	xs_json_arr_end(w);
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

static void objects_pool(struct xs_json *w, const struct xs_estate_pool *p)
{
	const struct xs_topo_pool *tp = p->topo ? xs_topo_pool(p->topo) : NULL;
	const struct xs_topo_host *master = tp ? xs_topo_host_by_ref(p->topo, tp->master) : NULL;

	xs_json_obj_begin(w);
	xs_json_field_str(w, "uuid", tp ? tp->uuid : NULL);
	xs_json_field_str(w, "name", p->name ? p->name : "");
	xs_json_field_str(w, "name_label", tp ? tp->name : NULL);
	xs_json_field_str(w, "master", master ? master->uuid : NULL);
	xs_json_field_bool(w, "connected", p->topo != NULL);
	xs_json_obj_end(w);
}

static void objects_collection(struct xs_json *w, const struct xs_collect_host_status *st,
			       double now)
{
	xs_json_key(w, "collection");
	if (st == NULL) {
		xs_json_null(w);
		return;
	}
	xs_json_obj_begin(w);
	xs_json_field_str(w, "state", xs_collect_state_name(st->state));
	xs_json_field_str(w, "health", xs_status_health_name(xs_status_host_health(st, now)));
	xs_json_key(w, "last_success");
	if (st->last_success > 0)
		xs_json_double(w, st->last_success);
	else
		xs_json_null(w);
	xs_json_key(w, "last_error");
	if (st->last_error[0])
		xs_json_str_n(w, st->last_error, strnlen(st->last_error, sizeof(st->last_error)));
	else
		xs_json_null(w);
	xs_json_field_double(w, "latency", st->latency);
	xs_json_key(w, "lag");
	if (st->lag >= 0)
		xs_json_double(w, st->lag);
	else
		xs_json_null(w);
	xs_status_clock_fields(w, st);
	xs_json_obj_end(w);
}

static void objects_hosts(struct xs_json *w, const struct xs_estate *e, const struct xs_topo *t,
			  const struct xs_status_index *ix, struct objects_devs *d)
{
	const struct xs_topo_host *h;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (h = xs_topo_host_at(t, i)) != NULL; i++) {
		xs_json_obj_begin(w);
		xs_json_field_str(w, "uuid", h->uuid);
		xs_json_field_str(w, "name", h->name);
		xs_json_field_str(w, "pool", pool);
		xs_json_field_str(w, "address", h->address);
		xs_json_field_bool(w, "live", h->live);
		xs_json_field_bool(w, "enabled", h->enabled);
		xs_json_field_uint(w, "cpus", h->cpus > 0 ? (uint64_t)h->cpus : 0);
		xs_json_field_uint(w, "memory", h->memory_total);
		objects_collection(w, xs_status_index_find(ix, h->uuid), e->now);
		objects_devs_of(d, e->store, XS_OBJ_HOST, h->uuid);
		xs_json_key(w, "pifs");
		objects_nets(w, t, d, OBJ_PIF, h->uuid);
		xs_json_obj_end(w);
	}
}

static void objects_vms(struct xs_json *w, const struct xs_store *s, const struct xs_topo *t,
			struct objects_devs *d)
{
	const struct xs_topo_vm *vm;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (vm = xs_topo_vm_at(t, i)) != NULL; i++) {
		const struct xs_topo_host *h;

		if (vm->is_template || vm->is_snapshot)
			continue;
		h = *vm->resident_on ? xs_topo_host_by_ref(t, vm->resident_on) : NULL;
		xs_json_obj_begin(w);
		xs_json_field_str(w, "uuid", vm->uuid);
		xs_json_field_str(w, "name", vm->name);
		xs_json_field_str(w, "pool", pool);
		xs_json_field_str(w, "host", h ? h->uuid : NULL);
		xs_json_field_str(w, "power_state", objects_power_name(vm->power));
		xs_json_key(w, "tags");
		xs_json_arr_begin(w);
		for (size_t k = 0; k < vm->ntags; k++)
			xs_json_str(w, vm->tags[k]);
		xs_json_arr_end(w);
		xs_json_field_uint(w, "vcpus", vm->vcpus > 0 ? (uint64_t)vm->vcpus : 0);
		xs_json_field_uint(w, "memory", vm->memory_static_max);
		xs_json_field_bool(w, "guest_tools", vm->guest_tools);
		xs_json_field_bool(w, "is_control_domain", vm->is_control_domain);
		objects_devs_of(d, s, XS_OBJ_VM, vm->uuid);
		xs_json_key(w, "vifs");
		objects_nets(w, t, d, OBJ_VIF, vm->uuid);
		xs_json_key(w, "vbds");
		objects_vbds(w, t, d, vm->uuid);
		xs_json_obj_end(w);
	}
}

/* SRs with the hosts that have a PBD for them (pools hold at most 64 hosts: SRs x hosts lookups). */
static void objects_srs(struct xs_json *w, const struct xs_topo *t)
{
	const struct xs_topo_sr *sr;
	const char *pool = objects_pool_uuid(t);

	for (size_t i = 0; (sr = xs_topo_sr_at(t, i)) != NULL; i++) {
		const struct xs_topo_host *h;

		xs_json_obj_begin(w);
		xs_json_field_str(w, "uuid", sr->uuid);
		xs_json_field_str(w, "name", sr->name);
		xs_json_field_str(w, "type", sr->type);
		xs_json_field_bool(w, "shared", sr->shared);
		xs_json_field_str(w, "pool", pool);
		xs_json_key(w, "hosts");
		xs_json_arr_begin(w);
		for (size_t k = 0; (h = xs_topo_host_at(t, k)) != NULL; k++)
			if (xs_topo_sr_on_host(t, sr, h))
				xs_json_str(w, h->uuid);
		xs_json_arr_end(w);
		xs_json_obj_end(w);
	}
}

enum xs_err xs_query_objects(const struct xs_estate *e, struct xs_buf *out, char *err)
{
	struct xs_json w;
	struct objects_devs devs = { 0 };
	struct xs_status_index ix;
	enum xs_err rc;
	size_t i;

	xs_json_init(&w, out);
	xs_status_index_init(&ix, e);
	xs_json_obj_begin(&w);
	xs_json_key(&w, "pools");
	xs_json_arr_begin(&w);
	for (i = 0; i < e->npools; i++)
		if (!e->pools[i].duplicate) /* its pool is listed under the name that collects it */
			objects_pool(&w, &e->pools[i]);
	xs_json_arr_end(&w);
	xs_json_key(&w, "hosts");
	xs_json_arr_begin(&w);
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_hosts(&w, e, e->pools[i].topo, &ix, &devs);
	xs_json_arr_end(&w);
	xs_json_key(&w, "vms");
	xs_json_arr_begin(&w);
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_vms(&w, e->store, e->pools[i].topo, &devs);
	xs_json_arr_end(&w);
	xs_json_key(&w, "srs");
	xs_json_arr_begin(&w);
	for (i = 0; i < e->npools; i++)
		if (e->pools[i].topo != NULL)
			objects_srs(&w, e->pools[i].topo);
	xs_json_arr_end(&w);
	xs_json_obj_end(&w);
	xs_status_index_cleanup(&ix);
	objects_devs_free(&devs);
	rc = xs_json_error(&w);
	if (rc != XS_OK)
		return xs_err_set(err, rc, "objects: %s (body over %zu bytes)", xs_strerror(rc),
				  out->limit);
	return XS_OK;
}
