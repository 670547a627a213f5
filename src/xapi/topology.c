/*
 * topology.c - the in-memory model of one pool (topology.h): objects of every
 * class in hash indexes, a lazily sorted view per class, and the queries that
 * turn data-source names into names people know.
 *
 * Indexes: per class, by ref (unique), by uuid, and by a class key (VIF/VBD:
 * VM ref + device, PIF: host ref + device name, PBD: SR + host, SR: 8-char
 * uuid prefix, control-domain VM: its host). They are chained hash tables
 * whose links live in the objects themselves, so linking costs no
 * allocation and every lookup is O(1), whatever the size of the estate.
 *
 * Links between objects are refs kept as written and resolved when asked:
 * records arrive in any order (an event may name a VBD before its VDI), and
 * nothing has to be patched when the other side appears or goes. Derived
 * fields of the public host / VM structs (live, memory_total, guest_tools,
 * vcpus) are resolved when the struct is handed out, once per version.
 *
 * The version moves only when something kept changes: a "mod" event about a
 * field we ignore (current_operations, say) re-parses the record, compares
 * it equal and leaves everything as it was.
 *
 * The *_at views are sorted by uuid (then ref) and rebuilt on first use after
 * a change of their class; the const accessors write only that cache and the
 * derived fields, reached through pointers the struct holds.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "xapi/topology_int.h"

#define TOPO_MAP_MIN 16 /* buckets of a map's first allocation */
#define TOPO_KEY_MAX (2 * XS_TOPO_MAX_STR + 32) /* a composite key being looked up */

struct topo_map {
	struct topo_obj **b; /* bucket heads, NULL until the first insert */
	size_t nb, n;        /* buckets (a power of 2), objects */
};

struct topo_sorted {
	struct topo_obj **v; /* the class by uuid, valid when !stale */
	size_t n, cap;
	bool stale;
};

struct xs_topo {
	struct topo_map map[XS_TOPO_NCLASSES][TOPO_NIX];
	struct topo_sorted *sorted; /* [XS_TOPO_NCLASSES], a cache the readers refresh */
	uint64_t version;
};

/* ---- hash indexes ---- */

static uint64_t topo_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void topo_map_grow(struct topo_map *m, int ix)
{
	size_t nb = m->nb ? m->nb * 2 : TOPO_MAP_MIN, i;
	struct topo_obj **b = xs_xcalloc(nb, sizeof(*b));

	for (i = 0; i < m->nb; i++) {
		struct topo_obj *o = m->b[i], *next;

		for (; o != NULL; o = next) {
			size_t k = (size_t)(o->ixhash[ix] & (nb - 1));

			next = o->ixnext[ix];
			o->ixnext[ix] = b[k];
			b[k] = o;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* Links o under o->ixkey[ix] (duplicates allowed: the newest is found first). */
static void topo_map_insert(struct topo_map *m, int ix, struct topo_obj *o)
{
	size_t k;

	if (o->ixkey[ix] == NULL)
		return;
	if (m->n >= m->nb)
		topo_map_grow(m, ix);
	o->ixhash[ix] = topo_hash(o->ixkey[ix]);
	k = (size_t)(o->ixhash[ix] & (m->nb - 1));
	o->ixnext[ix] = m->b[k];
	m->b[k] = o;
	m->n++;
}

static void topo_map_unlink(struct topo_map *m, int ix, struct topo_obj *o)
{
	struct topo_obj **pp;

	if (o->ixkey[ix] == NULL || m->nb == 0)
		return;
	for (pp = &m->b[o->ixhash[ix] & (m->nb - 1)]; *pp != NULL; pp = &(*pp)->ixnext[ix]) {
		if (*pp == o) {
			*pp = o->ixnext[ix];
			o->ixnext[ix] = NULL;
			m->n--;
			return;
		}
	}
}

/* The first object of the chain of hash h whose key is key, starting after `after`. */
static struct topo_obj *topo_map_next(const struct topo_map *m, int ix, const char *key,
				      uint64_t h, const struct topo_obj *after)
{
	struct topo_obj *o;

	if (m->nb == 0)
		return NULL;
	o = after != NULL ? after->ixnext[ix] : m->b[h & (m->nb - 1)];
	for (; o != NULL; o = o->ixnext[ix])
		if (o->ixhash[ix] == h && strcmp(o->ixkey[ix], key) == 0)
			return o;
	return NULL;
}

static struct topo_obj *topo_find(const struct xs_topo *t, enum xs_topo_class c, int ix,
				  const char *key)
{
	if (key == NULL || key[0] == '\0')
		return NULL;
	return topo_map_next(&t->map[c][ix], ix, key, topo_hash(key), NULL);
}

/* "<a>\x1f<b>" into buf (TOPO_KEY_MAX); false when it does not fit or a part is empty. */
static bool topo_key2(char *buf, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na == 0 || nb == 0 || na + nb + 2 > TOPO_KEY_MAX)
		return false;
	memcpy(buf, a, na);
	buf[na] = TOPO_KEY_SEP;
	memcpy(buf + na + 1, b, nb + 1);
	return true;
}

/* ---- objects in and out ---- */

static void topo_link(struct xs_topo *t, struct topo_obj *o)
{
	int ix;

	for (ix = 0; ix < TOPO_NIX; ix++)
		topo_map_insert(&t->map[o->cls][ix], ix, o);
	t->sorted[o->cls].stale = true;
}

static void topo_unlink_free(struct xs_topo *t, struct topo_obj *o)
{
	int ix;

	for (ix = 0; ix < TOPO_NIX; ix++)
		topo_map_unlink(&t->map[o->cls][ix], ix, o);
	t->sorted[o->cls].stale = true;
	topo_obj_free(o);
}

/* Every object of class c, freed; the class's indexes emptied (their buckets kept). */
static void topo_clear_class(struct xs_topo *t, enum xs_topo_class c)
{
	struct topo_map *refs = &t->map[c][TOPO_IX_REF];
	size_t i;
	int ix;

	for (i = 0; i < refs->nb; i++) {
		struct topo_obj *o = refs->b[i], *next;

		for (; o != NULL; o = next) {
			next = o->ixnext[TOPO_IX_REF];
			topo_obj_free(o);
		}
	}
	for (ix = 0; ix < TOPO_NIX; ix++) {
		if (t->map[c][ix].nb > 0)
			memset(t->map[c][ix].b, 0, t->map[c][ix].nb * sizeof(t->map[c][ix].b[0]));
		t->map[c][ix].n = 0;
	}
	t->sorted[c].stale = true;
	t->sorted[c].n = 0;
}

struct xs_topo *xs_topo_new(void)
{
	struct xs_topo *t = xs_xcalloc(1, sizeof(*t));
	int c;

	t->sorted = xs_xcalloc(XS_TOPO_NCLASSES, sizeof(t->sorted[0]));
	for (c = 0; c < XS_TOPO_NCLASSES; c++)
		t->sorted[c].stale = true;
	return t;
}

void xs_topo_free(struct xs_topo **tp)
{
	struct xs_topo *t;
	int c, ix;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	for (c = 0; c < XS_TOPO_NCLASSES; c++) {
		topo_clear_class(t, (enum xs_topo_class)c);
		for (ix = 0; ix < TOPO_NIX; ix++)
			free(t->map[c][ix].b);
		free(t->sorted[c].v);
	}
	free(t->sorted);
	free(t);
	*tp = NULL;
}

static enum xs_err topo_check_ref(enum xs_topo_class c, const char *ref, char *err)
{
	if (ref == NULL || ref[0] == '\0' || strcmp(ref, "OpaqueRef:NULL") == 0)
		return xs_err_set(err, XS_ERR_ARG, "%s: no ref", xs_topo_class_name(c));
	if (strlen(ref) > XS_TOPO_MAX_STR)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "%s %.80s...: ref too long",
				  xs_topo_class_name(c), ref);
	return XS_OK;
}

enum xs_err xs_topo_apply(struct xs_topo *t, enum xs_topo_class c, const char *ref,
			  const struct xs_rpc_value *record, char *err)
{
	char scratch[XS_ERR_LEN];
	struct topo_obj *o, *old;
	enum xs_err r;

	if (err == NULL)
		err = scratch;
	if (t == NULL || (unsigned)c >= XS_TOPO_NCLASSES)
		return xs_err_set(err, XS_ERR_ARG, "no such class");
	r = topo_check_ref(c, ref, err);
	if (r != XS_OK)
		return r;
	r = topo_record_parse(c, ref, record, &o, err);
	if (r != XS_OK)
		return r;
	old = topo_find(t, c, TOPO_IX_REF, ref);
	if (old != NULL && topo_obj_equal(old, o)) {
		topo_obj_free(o);
		return XS_OK;
	}
	if (old == NULL && t->map[c][TOPO_IX_REF].n >= XS_TOPO_MAX_OBJECTS) {
		topo_obj_free(o);
		return xs_err_set(err, XS_ERR_TOO_LARGE, "%s: more than %u objects",
				  xs_topo_class_name(c), XS_TOPO_MAX_OBJECTS);
	}
	if (old != NULL)
		topo_unlink_free(t, old);
	topo_link(t, o);
	t->version++;
	return XS_OK;
}

void xs_topo_remove(struct xs_topo *t, enum xs_topo_class c, const char *ref)
{
	struct topo_obj *o;

	if (t == NULL || (unsigned)c >= XS_TOPO_NCLASSES)
		return;
	o = topo_find(t, c, TOPO_IX_REF, ref);
	if (o == NULL)
		return;
	topo_unlink_free(t, o);
	t->version++;
}

/* Whether the parsed records objs[0..n) differ from what class c holds now. */
static bool topo_class_differs(const struct xs_topo *t, enum xs_topo_class c,
			       struct topo_obj *const *objs, size_t n)
{
	size_t i;

	if (n != t->map[c][TOPO_IX_REF].n)
		return true;
	for (i = 0; i < n; i++) {
		const struct topo_obj *old = topo_find(t, c, TOPO_IX_REF, objs[i]->ref);

		if (old == NULL || !topo_obj_equal(old, objs[i]))
			return true;
	}
	return false;
}

/* Parses every record of map into objs (n of them); on error frees what it made. */
static enum xs_err topo_parse_all(enum xs_topo_class c, const struct xs_rpc_value *map,
				  struct topo_obj **objs, char *err)
{
	enum xs_err r = XS_OK;
	size_t i, j;

	for (i = 0; i < map->u.st.n && r == XS_OK; i++) {
		const struct xs_rpc_member *m = &map->u.st.members[i];

		r = topo_check_ref(c, m->key, err);
		if (r == XS_OK)
			r = topo_record_parse(c, m->key, m->value, &objs[i], err);
	}
	if (r != XS_OK)
		for (j = 0; j < i; j++)
			topo_obj_free(objs[j]);
	return r;
}

enum xs_err xs_topo_load_all(struct xs_topo *t, enum xs_topo_class c,
			     const struct xs_rpc_value *map, char *err)
{
	char scratch[XS_ERR_LEN];
	struct topo_obj **objs;
	enum xs_err r;
	size_t i, n;

	if (err == NULL)
		err = scratch;
	if (t == NULL || (unsigned)c >= XS_TOPO_NCLASSES)
		return xs_err_set(err, XS_ERR_ARG, "no such class");
	if (map == NULL || map->type != XS_RPC_STRUCT)
		return xs_err_set(err, XS_ERR_PARSE, "%s: not a map of records", xs_topo_class_name(c));
	n = map->u.st.n;
	if (n > XS_TOPO_MAX_OBJECTS)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "%s: %zu objects, more than %u",
				  xs_topo_class_name(c), n, XS_TOPO_MAX_OBJECTS);
	objs = xs_xcalloc(n ? n : 1, sizeof(objs[0]));
	r = topo_parse_all(c, map, objs, err);
	if (r != XS_OK)
		goto out;
	if (!topo_class_differs(t, c, objs, n)) {
		for (i = 0; i < n; i++)
			topo_obj_free(objs[i]);
		goto out;
	}
	topo_clear_class(t, c);
	for (i = 0; i < n; i++) {
		struct topo_obj *dup = topo_find(t, c, TOPO_IX_REF, objs[i]->ref);

		if (dup != NULL) /* a ref twice in the map: the last one wins */
			topo_unlink_free(t, dup);
		topo_link(t, objs[i]);
	}
	t->version++;
out:
	free(objs);
	return r;
}

uint64_t xs_topo_version(const struct xs_topo *t)
{
	return t != NULL ? t->version : 0;
}

size_t xs_topo_count(const struct xs_topo *t, enum xs_topo_class c)
{
	if (t == NULL || (unsigned)c >= XS_TOPO_NCLASSES)
		return 0;
	return t->map[c][TOPO_IX_REF].n;
}

/* ---- readers ---- */

/* Derived fields of a host or VM, from the objects they name, once per version. */
static void topo_resolve(const struct xs_topo *t, struct topo_obj *o)
{
	const struct topo_obj *m;

	if (o->epoch == t->version)
		return;
	o->epoch = t->version;
	if (o->cls == XS_TOPO_HOST) {
		m = topo_find(t, XS_TOPO_HOST_METRICS, TOPO_IX_REF, o->u.host.metrics);
		o->u.host.pub.live = m != NULL && m->u.hm.live;
		o->u.host.pub.memory_total = m != NULL ? m->u.hm.memory_total : 0;
	} else if (o->cls == XS_TOPO_VM) {
		struct topo_vm *vm = &o->u.vm;

		vm->pub.guest_tools =
			topo_find(t, XS_TOPO_VM_GUEST_METRICS, TOPO_IX_REF, vm->guest_metrics) != NULL;
		vm->pub.vcpus = vm->vcpus_at_startup;
		m = topo_find(t, XS_TOPO_VM_METRICS, TOPO_IX_REF, vm->metrics);
		if (vm->pub.power == XS_POWER_RUNNING && m != NULL && m->u.vmm.vcpus > 0)
			vm->pub.vcpus = m->u.vmm.vcpus;
	}
}

static int topo_cmp_uuid(const void *pa, const void *pb)
{
	const struct topo_obj *a = *(struct topo_obj *const *)pa;
	const struct topo_obj *b = *(struct topo_obj *const *)pb;
	int r = strcmp(a->uuid, b->uuid);

	return r != 0 ? r : strcmp(a->ref, b->ref);
}

static void topo_sort(const struct xs_topo *t, enum xs_topo_class c)
{
	const struct topo_map *refs = &t->map[c][TOPO_IX_REF];
	struct topo_sorted *s = &t->sorted[c];
	size_t i;

	if (s->cap < refs->n) {
		s->cap = refs->n;
		s->v = xs_xrealloc(s->v, s->cap * sizeof(s->v[0]));
	}
	s->n = 0;
	for (i = 0; i < refs->nb; i++) {
		struct topo_obj *o;

		for (o = refs->b[i]; o != NULL; o = o->ixnext[TOPO_IX_REF])
			s->v[s->n++] = o;
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(s->v[0]), topo_cmp_uuid);
	s->stale = false;
}

static struct topo_obj *topo_at(const struct xs_topo *t, enum xs_topo_class c, size_t i)
{
	struct topo_obj *o;

	if (t == NULL)
		return NULL;
	if (t->sorted[c].stale)
		topo_sort(t, c);
	if (i >= t->sorted[c].n)
		return NULL;
	o = t->sorted[c].v[i];
	topo_resolve(t, o);
	return o;
}

/* As topo_find, derived fields resolved. */
static struct topo_obj *topo_get(const struct xs_topo *t, enum xs_topo_class c, int ix,
				 const char *key)
{
	struct topo_obj *o = t != NULL ? topo_find(t, c, ix, key) : NULL;

	if (o != NULL)
		topo_resolve(t, o);
	return o;
}

const struct xs_topo_pool *xs_topo_pool(const struct xs_topo *t)
{
	const struct topo_obj *o = topo_at(t, XS_TOPO_POOL, 0);

	return o != NULL ? &o->u.pool : NULL;
}

#define TOPO_PUB(o, member) ((o) != NULL ? &(o)->u.member : NULL)

const struct xs_topo_host *xs_topo_host_at(const struct xs_topo *t, size_t i)
{
	const struct topo_obj *o = topo_at(t, XS_TOPO_HOST, i);

	return TOPO_PUB(o, host.pub);
}

const struct xs_topo_vm *xs_topo_vm_at(const struct xs_topo *t, size_t i)
{
	const struct topo_obj *o = topo_at(t, XS_TOPO_VM, i);

	return TOPO_PUB(o, vm.pub);
}

const struct xs_topo_sr *xs_topo_sr_at(const struct xs_topo *t, size_t i)
{
	const struct topo_obj *o = topo_at(t, XS_TOPO_SR, i);

	return TOPO_PUB(o, sr);
}

const struct xs_topo_host *xs_topo_host_by_ref(const struct xs_topo *t, const char *ref)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_HOST, TOPO_IX_REF, ref);

	return TOPO_PUB(o, host.pub);
}

const struct xs_topo_host *xs_topo_host_by_uuid(const struct xs_topo *t, const char *uuid)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_HOST, TOPO_IX_UUID, uuid);

	return TOPO_PUB(o, host.pub);
}

const struct xs_topo_vm *xs_topo_vm_by_ref(const struct xs_topo *t, const char *ref)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_VM, TOPO_IX_REF, ref);

	return TOPO_PUB(o, vm.pub);
}

const struct xs_topo_vm *xs_topo_vm_by_uuid(const struct xs_topo *t, const char *uuid)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_VM, TOPO_IX_UUID, uuid);

	return TOPO_PUB(o, vm.pub);
}

const struct xs_topo_sr *xs_topo_sr_by_ref(const struct xs_topo *t, const char *ref)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_SR, TOPO_IX_REF, ref);

	return TOPO_PUB(o, sr);
}

const struct xs_topo_sr *xs_topo_sr_by_uuid(const struct xs_topo *t, const char *uuid)
{
	const struct topo_obj *o = topo_get(t, XS_TOPO_SR, TOPO_IX_UUID, uuid);

	return TOPO_PUB(o, sr);
}

const struct xs_topo_vm *xs_topo_host_dom0(const struct xs_topo *t, const struct xs_topo_host *h)
{
	const struct topo_obj *o;

	if (t == NULL || h == NULL)
		return NULL;
	o = topo_get(t, XS_TOPO_VM, TOPO_IX_REF, h->control_domain);
	if (o == NULL || !o->u.vm.pub.is_control_domain)
		o = topo_get(t, XS_TOPO_VM, TOPO_IX_KEY, h->ref); /* old xapi: the resident dom0 */
	return TOPO_PUB(o, vm.pub);
}

/* The object of class c keyed "<ref of owner>\x1f<part>", owner found by uuid in class oc. */
static const struct topo_obj *topo_by_owner(const struct xs_topo *t, enum xs_topo_class oc,
					    const char *owner_uuid, enum xs_topo_class c,
					    const char *part)
{
	const struct topo_obj *owner;
	char key[TOPO_KEY_MAX];

	if (t == NULL || part == NULL)
		return NULL;
	owner = topo_find(t, oc, TOPO_IX_UUID, owner_uuid);
	if (owner == NULL || !topo_key2(key, owner->ref, part))
		return NULL;
	return topo_find(t, c, TOPO_IX_KEY, key);
}

const char *xs_topo_vif_network(const struct xs_topo *t, const char *vm_uuid, const char *device)
{
	const struct topo_obj *vif = topo_by_owner(t, XS_TOPO_VM, vm_uuid, XS_TOPO_VIF, device);
	const struct topo_obj *net;

	if (vif == NULL)
		return "";
	net = topo_find(t, XS_TOPO_NETWORK, TOPO_IX_REF, vif->u.vif.network);
	return net != NULL ? net->u.net.name : "";
}

const char *xs_topo_vbd_vdi(const struct xs_topo *t, const char *vm_uuid, const char *device,
			    const struct xs_topo_sr **sr)
{
	const struct topo_obj *vbd = topo_by_owner(t, XS_TOPO_VM, vm_uuid, XS_TOPO_VBD, device);
	const struct topo_obj *vdi = NULL, *o = NULL;

	if (vbd != NULL)
		vdi = topo_find(t, XS_TOPO_VDI, TOPO_IX_REF, vbd->u.vbd.vdi);
	if (vdi != NULL)
		o = topo_find(t, XS_TOPO_SR, TOPO_IX_REF, vdi->u.vdi.sr);
	if (sr != NULL)
		*sr = TOPO_PUB(o, sr);
	return vdi != NULL ? vdi->u.vdi.name : "";
}

const char *xs_topo_pif_network(const struct xs_topo *t, const char *host_uuid,
				const char *device)
{
	const struct topo_obj *pif = topo_by_owner(t, XS_TOPO_HOST, host_uuid, XS_TOPO_PIF, device);
	const struct topo_obj *net;

	if (pif == NULL)
		return "";
	net = topo_find(t, XS_TOPO_NETWORK, TOPO_IX_REF, pif->u.pif.network);
	return net != NULL ? net->u.net.name : "";
}

bool xs_topo_sr_on_host(const struct xs_topo *t, const struct xs_topo_sr *sr,
			const struct xs_topo_host *h)
{
	char key[TOPO_KEY_MAX];

	if (t == NULL || sr == NULL || h == NULL || !topo_key2(key, sr->ref, h->ref))
		return false;
	return topo_find(t, XS_TOPO_PBD, TOPO_IX_KEY, key) != NULL;
}

enum xs_topo_match xs_topo_sr_by_prefix(const struct xs_topo *t, const char *prefix8,
					const struct xs_topo_sr **sr)
{
	const struct topo_map *m;
	const struct topo_obj *first, *second;
	uint64_t h;

	if (sr != NULL)
		*sr = NULL;
	if (t == NULL || prefix8 == NULL || strnlen(prefix8, 9) != 8)
		return XS_TOPO_NONE;
	m = &t->map[XS_TOPO_SR][TOPO_IX_KEY];
	h = topo_hash(prefix8);
	first = topo_map_next(m, TOPO_IX_KEY, prefix8, h, NULL);
	if (first == NULL)
		return XS_TOPO_NONE;
	second = topo_map_next(m, TOPO_IX_KEY, prefix8, h, first);
	if (second != NULL)
		return XS_TOPO_AMBIGUOUS;
	if (sr != NULL)
		*sr = &first->u.sr;
	return XS_TOPO_ONE;
}

void xs_topo_sr_collisions(const struct xs_topo *t,
			   void (*cb)(void *arg, const char *prefix8, size_t nsrs), void *arg)
{
	const struct topo_sorted *s;
	size_t i, j;

	if (t == NULL || cb == NULL)
		return;
	if (t->sorted[XS_TOPO_SR].stale)
		topo_sort(t, XS_TOPO_SR);
	s = &t->sorted[XS_TOPO_SR];
	/* sorted by uuid: the SRs sharing a prefix are neighbours */
	for (i = 0; i < s->n; i = j) {
		const char *key = s->v[i]->ixkey[TOPO_IX_KEY];

		for (j = i + 1; j < s->n && key != NULL && s->v[j]->ixkey[TOPO_IX_KEY] != NULL &&
				strcmp(s->v[j]->ixkey[TOPO_IX_KEY], key) == 0;
		     j++)
			;
		if (j - i > 1)
			cb(arg, key, j - i);
	}
}
