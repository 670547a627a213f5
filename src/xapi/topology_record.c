/*
 * topology_record.c - XAPI records → topology objects: one field table per
 * class says which record members are kept, their kind and where they go.
 *
 * One pass over a record's members (a VM record has ~90, we keep ~18): each
 * member is matched against the class table, type-checked and copied.
 * Strings are appended to one growable block (offsets while it grows,
 * pointers once it is final), so an object is a handful of allocations and
 * its strings are freed together. A member of the wrong type is an error;
 * a missing member leaves the field's default. Duplicated members: the last
 * wins, as in xs_rpc_get().
 *
 * Bounds: XS_TOPO_MAX_STR bytes per string (cut on a UTF-8 boundary),
 * XS_TOPO_MAX_TAGS tags; the rest of a longer value is dropped. Refs are
 * identities, so a longer ref is refused rather than cut.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/num.h"
#include "lib/xmalloc.h"
#include "xapi/topology_int.h"

#define TOPO_NULL_REF "OpaqueRef:NULL"
#define TOPO_MAX_FIELDS 20           /* fields of the largest class table */
#define TOPO_UNSET ((size_t)-1)      /* string field not seen: "" */

enum topo_kind {
	TK_STR,      /* string (NIL → "") */
	TK_REF,      /* string, OpaqueRef:NULL → "" */
	TK_BOOL,     /* bool, or "true" / "false" */
	TK_I64,      /* int64: INT, decimal string ("" → default), integral double */
	TK_U64,      /* as TK_I64, negative → 0 */
	TK_INT,      /* as TK_I64, must fit an int */
	TK_POWER,    /* power_state string → enum xs_power */
	TK_TAGS,     /* set of strings → tagv / pub.tags + ntags */
	TK_COUNT,    /* a set → its size (int) */
	TK_MAPSTR,   /* map → the string of one of its keys */
};

struct topo_field {
	const char *name;            /* record member */
	enum topo_kind kind;
	size_t off;                  /* of the value in struct topo_obj */
	int64_t dflt;                /* numeric default when missing */
	const char *sub;             /* TK_MAPSTR: the key inside the map */
};

struct topo_class_desc {
	const char *name;            /* XAPI's spelling */
	const struct topo_field *fields;
	size_t nfields;
	size_t pub_ref, pub_uuid;    /* where a public struct wants ref / uuid, or 0 */
};

#define OFF(m) offsetof(struct topo_obj, m)
#define F(n, k, m) { n, k, OFF(m), 0, NULL }
#define FD(n, k, m, d) { n, k, OFF(m), d, NULL }
#define UUID F("uuid", TK_STR, uuid)

static const struct topo_field topo_pool_fields[] = {
	UUID, F("name_label", TK_STR, u.pool.name), F("master", TK_REF, u.pool.master),
};
static const struct topo_field topo_host_fields[] = {
	UUID,
	F("name_label", TK_STR, u.host.pub.name),
	F("hostname", TK_STR, u.host.pub.hostname),
	F("address", TK_STR, u.host.pub.address),
	F("host_CPUs", TK_COUNT, u.host.pub.cpus),
	F("enabled", TK_BOOL, u.host.pub.enabled),
	F("control_domain", TK_REF, u.host.pub.control_domain),
	{ "software_version", TK_MAPSTR, OFF(u.host.pub.product_version), 0, "product_version" },
	F("metrics", TK_REF, u.host.metrics),
};
static const struct topo_field topo_host_metrics_fields[] = {
	UUID, F("live", TK_BOOL, u.hm.live), F("memory_total", TK_U64, u.hm.memory_total),
};
static const struct topo_field topo_vm_fields[] = {
	UUID,
	F("name_label", TK_STR, u.vm.pub.name),
	FD("power_state", TK_POWER, u.vm.pub.power, XS_POWER_UNKNOWN),
	F("resident_on", TK_REF, u.vm.pub.resident_on),
	F("is_control_domain", TK_BOOL, u.vm.pub.is_control_domain),
	F("is_a_template", TK_BOOL, u.vm.pub.is_template),
	F("is_a_snapshot", TK_BOOL, u.vm.pub.is_snapshot),
	F("VCPUs_at_startup", TK_INT, u.vm.vcpus_at_startup),
	F("memory_static_max", TK_U64, u.vm.pub.memory_static_max),
	F("memory_dynamic_min", TK_U64, u.vm.pub.memory_dynamic_min),
	F("memory_dynamic_max", TK_U64, u.vm.pub.memory_dynamic_max),
	F("memory_target", TK_U64, u.vm.pub.memory_target),
	F("tags", TK_TAGS, u.vm.pub.tags),
	FD("domid", TK_I64, u.vm.pub.domid, -1),
	F("metrics", TK_REF, u.vm.metrics),
	F("guest_metrics", TK_REF, u.vm.guest_metrics),
};
static const struct topo_field topo_vm_metrics_fields[] = {
	UUID, F("VCPUs_number", TK_INT, u.vmm.vcpus), F("memory_actual", TK_U64, u.vmm.memory_actual),
};
static const struct topo_field topo_guest_metrics_fields[] = { UUID };
static const struct topo_field topo_sr_fields[] = {
	UUID, F("name_label", TK_STR, u.sr.name), F("type", TK_STR, u.sr.type),
	F("shared", TK_BOOL, u.sr.shared),
};
static const struct topo_field topo_pbd_fields[] = {
	UUID, F("host", TK_REF, u.pbd.host), F("SR", TK_REF, u.pbd.sr),
	F("currently_attached", TK_BOOL, u.pbd.attached),
};
static const struct topo_field topo_vdi_fields[] = {
	UUID, F("name_label", TK_STR, u.vdi.name), F("SR", TK_REF, u.vdi.sr),
};
static const struct topo_field topo_vbd_fields[] = {
	UUID, F("VM", TK_REF, u.vbd.vm), F("VDI", TK_REF, u.vbd.vdi), F("device", TK_STR, u.vbd.device),
};
static const struct topo_field topo_vif_fields[] = {
	UUID, F("VM", TK_REF, u.vif.vm), F("network", TK_REF, u.vif.network),
	F("device", TK_STR, u.vif.device),
};
static const struct topo_field topo_pif_fields[] = {
	UUID, F("device", TK_STR, u.pif.device), F("host", TK_REF, u.pif.host),
	F("network", TK_REF, u.pif.network), FD("VLAN", TK_I64, u.pif.vlan, -1),
};
static const struct topo_field topo_network_fields[] = {
	UUID, F("name_label", TK_STR, u.net.name), F("bridge", TK_STR, u.net.bridge),
};

#define CLASS(n, f, r, u) { n, f, sizeof(f) / sizeof(f[0]), r, u }

static const struct topo_class_desc topo_classes[XS_TOPO_NCLASSES] = {
	[XS_TOPO_POOL] = CLASS("pool", topo_pool_fields, OFF(u.pool.ref), OFF(u.pool.uuid)),
	[XS_TOPO_HOST] = CLASS("host", topo_host_fields, OFF(u.host.pub.ref), OFF(u.host.pub.uuid)),
	[XS_TOPO_HOST_METRICS] = CLASS("host_metrics", topo_host_metrics_fields, 0, 0),
	[XS_TOPO_VM] = CLASS("VM", topo_vm_fields, OFF(u.vm.pub.ref), OFF(u.vm.pub.uuid)),
	[XS_TOPO_VM_METRICS] = CLASS("VM_metrics", topo_vm_metrics_fields, 0, 0),
	[XS_TOPO_VM_GUEST_METRICS] = CLASS("VM_guest_metrics", topo_guest_metrics_fields, 0, 0),
	[XS_TOPO_SR] = CLASS("SR", topo_sr_fields, OFF(u.sr.ref), OFF(u.sr.uuid)),
	[XS_TOPO_PBD] = CLASS("PBD", topo_pbd_fields, 0, 0),
	[XS_TOPO_VDI] = CLASS("VDI", topo_vdi_fields, 0, 0),
	[XS_TOPO_VBD] = CLASS("VBD", topo_vbd_fields, 0, 0),
	[XS_TOPO_VIF] = CLASS("VIF", topo_vif_fields, 0, 0),
	[XS_TOPO_PIF] = CLASS("PIF", topo_pif_fields, 0, 0),
	[XS_TOPO_NETWORK] = CLASS("network", topo_network_fields, 0, 0),
};

const char *xs_topo_class_name(enum xs_topo_class c)
{
	return (unsigned)c < XS_TOPO_NCLASSES ? topo_classes[c].name : "?";
}

bool xs_topo_class_of(const char *name, enum xs_topo_class *c)
{
	size_t i;

	for (i = 0; name != NULL && i < XS_TOPO_NCLASSES; i++) {
		if (strcasecmp(name, topo_classes[i].name) == 0) {
			*c = (enum xs_topo_class)i;
			return true;
		}
	}
	return false;
}

/* ---- building one object ---- */

/* Bytes of an object of class c: the common part and its own member of the union
 * alone (a VBD, VIF, VDI or VM_metrics needs 16-24 of the 136 a VM does: 17 MiB at
 * 20,000 VMs). Nothing copies or compares whole objects, only their class's fields. */
static size_t topo_obj_size(enum xs_topo_class c)
{
	static const size_t member[XS_TOPO_NCLASSES] = {
		[XS_TOPO_POOL] = sizeof(struct xs_topo_pool),
		[XS_TOPO_HOST] = sizeof(struct topo_host),
		[XS_TOPO_HOST_METRICS] = sizeof(struct topo_host_metrics),
		[XS_TOPO_VM] = sizeof(struct topo_vm),
		[XS_TOPO_VM_METRICS] = sizeof(struct topo_vm_metrics),
		[XS_TOPO_VM_GUEST_METRICS] = 0, /* its uuid alone, in the common part */
		[XS_TOPO_SR] = sizeof(struct xs_topo_sr),
		[XS_TOPO_PBD] = sizeof(struct topo_pbd),
		[XS_TOPO_VDI] = sizeof(struct topo_vdi),
		[XS_TOPO_VBD] = sizeof(struct topo_vbd),
		[XS_TOPO_VIF] = sizeof(struct topo_vif),
		[XS_TOPO_PIF] = sizeof(struct topo_pif),
		[XS_TOPO_NETWORK] = sizeof(struct topo_network),
	};

	return offsetof(struct topo_obj, u) + member[c];
}

struct topo_build {
	struct topo_obj *o;
	const struct topo_class_desc *d;
	char *buf;                         /* the future strs block */
	size_t len, cap;
	size_t soff[TOPO_MAX_FIELDS];      /* text offset of each string field, or TOPO_UNSET */
	size_t toff[XS_TOPO_MAX_TAGS];     /* text offsets of the tags */
	size_t ntags;
	size_t refoff, keyoff;             /* the ref; the KEY index key (TOPO_UNSET: none) */
};

static void *topo_at_off(struct topo_obj *o, size_t off)
{
	return (char *)o + off;
}

static const void *topo_at_coff(const struct topo_obj *o, size_t off)
{
	return (const char *)o + off;
}

/* Appends s[0..n) and a NUL, cut to XS_TOPO_MAX_STR bytes on a character boundary. */
static size_t topo_build_put(struct topo_build *b, const char *s, size_t n)
{
	size_t at = b->len;

	if (n > XS_TOPO_MAX_STR) {
		n = XS_TOPO_MAX_STR;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->buf = xs_xrealloc(b->buf, b->cap);
	}
	if (n > 0)
		memcpy(b->buf + b->len, s, n);
	b->buf[b->len + n] = '\0';
	b->len += n + 1;
	return at;
}

static bool topo_is_int_double(double x)
{
	return x == x && x >= -9.2e18 && x <= 9.2e18 && x == (double)(int64_t)x;
}

/* Integer kinds: NULL, or what is wrong with v. */
static const char *topo_get_i64(const struct xs_rpc_value *v, int64_t dflt, int64_t *out)
{
	switch (v->type) {
	case XS_RPC_INT:
		*out = v->u.i;
		return NULL;
	case XS_RPC_DOUBLE:
		if (!topo_is_int_double(v->u.d))
			return "not an integer";
		*out = (int64_t)v->u.d;
		return NULL;
	case XS_RPC_STRING:
		if (v->u.str.len == 0) {
			*out = dflt;
			return NULL;
		}
		return xs_num_i64_from_slice(v->u.str.ptr, v->u.str.len, out) ? NULL
										: "not an integer";
	default:
		return "expected an integer";
	}
}

static const char *topo_put_number(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	const struct topo_field *f = &b->d->fields[fi];
	const char *bad;
	int64_t x = 0;

	bad = topo_get_i64(v, f->dflt, &x);
	if (bad != NULL)
		return bad;
	if (f->kind == TK_I64) {
		*(int64_t *)topo_at_off(b->o, f->off) = x;
	} else if (f->kind == TK_U64) {
		*(uint64_t *)topo_at_off(b->o, f->off) = x < 0 ? 0 : (uint64_t)x;
	} else {
		if (x < INT_MIN || x > INT_MAX)
			return "out of range";
		*(int *)topo_at_off(b->o, f->off) = (int)x;
	}
	return NULL;
}

static const char *topo_put_bool(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	bool *p = topo_at_off(b->o, b->d->fields[fi].off);

	if (v->type == XS_RPC_BOOL) {
		*p = v->u.b;
		return NULL;
	}
	if (v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "true") == 0)
		*p = true;
	else if (v->type == XS_RPC_STRING && strcmp(v->u.str.ptr, "false") == 0)
		*p = false;
	else
		return "expected a boolean";
	return NULL;
}

static const char *topo_put_power(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	static const char *const names[] = { "Halted", "Running", "Paused", "Suspended" };
	enum xs_power *p = topo_at_off(b->o, b->d->fields[fi].off);
	size_t i;

	if (v->type != XS_RPC_STRING)
		return "expected a string";
	*p = XS_POWER_UNKNOWN; /* a state newer than this code */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(v->u.str.ptr, names[i]) == 0)
			*p = (enum xs_power)i;
	return NULL;
}

static const char *topo_put_tags(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	size_t i;

	(void)fi;
	if (v->type != XS_RPC_ARRAY)
		return "expected a set";
	for (i = 0; i < v->u.arr.n; i++)
		if (v->u.arr.items[i]->type != XS_RPC_STRING)
			return "expected a set of strings";
	b->ntags = 0; /* a repeated member replaces */
	for (i = 0; i < v->u.arr.n && i < XS_TOPO_MAX_TAGS; i++)
		b->toff[b->ntags++] =
			topo_build_put(b, v->u.arr.items[i]->u.str.ptr, v->u.arr.items[i]->u.str.len);
	return NULL;
}

static const char *topo_put_count(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	if (v->type != XS_RPC_ARRAY)
		return "expected a set";
	*(int *)topo_at_off(b->o, b->d->fields[fi].off) = v->u.arr.n > INT_MAX ? INT_MAX
										 : (int)v->u.arr.n;
	return NULL;
}

static const char *topo_put_string(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	const struct topo_field *f = &b->d->fields[fi];
	const char *s;
	size_t n;

	if (f->kind == TK_MAPSTR) {
		if (v->type != XS_RPC_STRUCT)
			return "expected a map";
		v = xs_rpc_get(v, f->sub);
		if (v == NULL || v->type == XS_RPC_NIL) {
			b->soff[fi] = TOPO_UNSET;
			return NULL;
		}
	}
	if (v->type != XS_RPC_STRING)
		return "expected a string";
	s = v->u.str.ptr;
	n = v->u.str.len;
	if (f->kind == TK_REF && n == sizeof(TOPO_NULL_REF) - 1 && memcmp(s, TOPO_NULL_REF, n) == 0)
		n = 0;
	b->soff[fi] = topo_build_put(b, s, n);
	return NULL;
}

typedef const char *(*topo_put_fn)(struct topo_build *b, size_t fi, const struct xs_rpc_value *v);

static const topo_put_fn topo_putters[] = {
	[TK_STR] = topo_put_string, [TK_REF] = topo_put_string,  [TK_BOOL] = topo_put_bool,
	[TK_I64] = topo_put_number, [TK_U64] = topo_put_number,  [TK_INT] = topo_put_number,
	[TK_POWER] = topo_put_power, [TK_TAGS] = topo_put_tags,  [TK_COUNT] = topo_put_count,
	[TK_MAPSTR] = topo_put_string,
};

/* One member of the record into field fi: NULL, or what is wrong with it. */
static const char *topo_put_field(struct topo_build *b, size_t fi, const struct xs_rpc_value *v)
{
	if (v == NULL || v->type == XS_RPC_NIL)
		return NULL; /* JSON null: as if missing */
	return topo_putters[b->d->fields[fi].kind](b, fi, v);
}

static void topo_build_defaults(struct topo_build *b)
{
	size_t i;

	for (i = 0; i < b->d->nfields; i++) {
		const struct topo_field *f = &b->d->fields[i];

		b->soff[i] = TOPO_UNSET;
		if (f->kind == TK_I64)
			*(int64_t *)topo_at_off(b->o, f->off) = f->dflt;
		else if (f->kind == TK_POWER)
			*(enum xs_power *)topo_at_off(b->o, f->off) = (enum xs_power)f->dflt;
	}
}

/* The field of the class table named key[0..len), or -1. */
static int topo_field_find(const struct topo_class_desc *d, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < d->nfields; i++) {
		const char *name = d->fields[i].name;

		if (name[0] == key[0] && strlen(name) == len && memcmp(name, key, len) == 0)
			return (int)i;
	}
	return -1;
}

static bool topo_key_part(struct topo_build *b, const char *s, size_t *at, bool first)
{
	size_t n = strlen(s);

	if (n == 0)
		return false;
	if (b->len + n + 2 > b->cap) {
		b->cap = (b->len + n + 2) * 2;
		b->buf = xs_xrealloc(b->buf, b->cap);
	}
	if (first) {
		*at = b->len;
	} else {
		b->len--; /* over the previous part's NUL */
		b->buf[b->len++] = TOPO_KEY_SEP;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n + 1;
	return true;
}

/*
 * The KEY index key, built from the final fields into keymem: VBD and VIF
 * "<VM ref>\x1f<device>", PIF "<host ref>\x1f<device>[.<VLAN>]", PBD
 * "<SR ref>\x1f<host ref>", SR the 8-character uuid prefix. A VM that is a
 * control domain is keyed by its resident_on (no copy needed).
 */
static void topo_build_key(struct topo_build *b)
{
	struct topo_obj *o = b->o;
	const char *a = NULL, *c = NULL;
	char dev[XS_TOPO_MAX_STR + 24];
	size_t at = 0;

	switch (o->cls) {
	case XS_TOPO_VM:
		if (o->u.vm.pub.is_control_domain && o->u.vm.pub.resident_on[0] != '\0')
			o->ixkey[TOPO_IX_KEY] = o->u.vm.pub.resident_on;
		return;
	case XS_TOPO_SR:
		if (strlen(o->uuid) >= 8) {
			o->keymem = xs_xstrndup(o->uuid, 8);
			o->ixkey[TOPO_IX_KEY] = o->keymem;
		}
		return;
	case XS_TOPO_VBD: a = o->u.vbd.vm; c = o->u.vbd.device; break;
	case XS_TOPO_VIF: a = o->u.vif.vm; c = o->u.vif.device; break;
	case XS_TOPO_PBD: a = o->u.pbd.sr; c = o->u.pbd.host; break;
	case XS_TOPO_PIF:
		a = o->u.pif.host;
		c = o->u.pif.device;
		if (o->u.pif.vlan >= 0 && c[0] != '\0') {
			snprintf(dev, sizeof(dev), "%s.%lld", c, (long long)o->u.pif.vlan);
			c = dev;
		}
		break;
	default:
		return;
	}
	b->len = 0;
	if (topo_key_part(b, a, &at, true) && topo_key_part(b, c, &at, false)) {
		o->keymem = xs_xstrndup(b->buf + at, b->len - at - 1);
		o->ixkey[TOPO_IX_KEY] = o->keymem;
	}
}

/* Offsets → pointers, now that the block has its final address; then the key. */
static void topo_build_finish(struct topo_build *b)
{
	struct topo_obj *o = b->o;
	size_t i;

	o->strs = xs_xrealloc(b->buf, b->len ? b->len : 1); /* no growth slack kept */
	o->ref = o->strs + b->refoff;
	for (i = 0; i < b->d->nfields; i++) {
		const struct topo_field *f = &b->d->fields[i];

		if (f->kind == TK_STR || f->kind == TK_REF || f->kind == TK_MAPSTR)
			*(const char **)topo_at_off(o, f->off) =
				b->soff[i] == TOPO_UNSET ? "" : o->strs + b->soff[i];
	}
	if (o->cls == XS_TOPO_VM && b->ntags > 0) {
		o->tagv = xs_xcalloc(b->ntags, sizeof(o->tagv[0]));
		for (i = 0; i < b->ntags; i++)
			o->tagv[i] = o->strs + b->toff[i];
		o->u.vm.pub.tags = o->tagv;
		o->u.vm.pub.ntags = b->ntags;
	}
	if (b->d->pub_ref != 0) {
		*(const char **)topo_at_off(o, b->d->pub_ref) = o->ref;
		*(const char **)topo_at_off(o, b->d->pub_uuid) = o->uuid;
	}
	o->ixkey[TOPO_IX_REF] = o->ref;
	o->ixkey[TOPO_IX_UUID] = o->uuid[0] != '\0' ? o->uuid : NULL;
	/* the key is built in a scratch block: strs must not move any more */
	b->buf = NULL;
	b->cap = 0;
	topo_build_key(b);
	free(b->buf);
}

enum xs_err topo_record_parse(enum xs_topo_class c, const char *ref,
			      const struct xs_rpc_value *record, struct topo_obj **out, char *err)
{
	struct topo_build b;
	const char *bad = NULL;
	const char *field = "";
	size_t i;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	b.d = &topo_classes[c];
	if (record == NULL || record->type != XS_RPC_STRUCT)
		return xs_err_set(err, XS_ERR_PARSE, "%s %.80s: not a record (a struct)", b.d->name, ref);
	b.o = xs_xcalloc(1, topo_obj_size(c));
	b.o->cls = c;
	b.o->epoch = UINT64_MAX;
	topo_build_defaults(&b);
	b.refoff = topo_build_put(&b, ref, strlen(ref));
	for (i = 0; i < record->u.st.n && bad == NULL; i++) {
		const struct xs_rpc_member *m = &record->u.st.members[i];
		int fi = m->key_len > 0 ? topo_field_find(b.d, m->key, m->key_len) : -1;

		if (fi >= 0) {
			field = b.d->fields[fi].name;
			bad = topo_put_field(&b, (size_t)fi, m->value);
		}
	}
	if (bad != NULL) {
		free(b.buf);
		free(b.o);
		return xs_err_set(err, XS_ERR_PARSE, "%s %.80s: field %s: %s", b.d->name, ref, field,
				  bad);
	}
	topo_build_finish(&b);
	*out = b.o;
	return XS_OK;
}

/* Bytes a scalar kind occupies in the object; 0 for strings and tags. */
static size_t topo_kind_size(enum topo_kind k)
{
	switch (k) {
	case TK_BOOL:
		return sizeof(bool);
	case TK_I64:
	case TK_U64:
		return sizeof(int64_t);
	case TK_INT:
	case TK_COUNT:
		return sizeof(int);
	case TK_POWER:
		return sizeof(enum xs_power);
	default:
		return 0;
	}
}

static bool topo_tags_equal(const struct xs_topo_vm *a, const struct xs_topo_vm *b)
{
	size_t i;

	if (a->ntags != b->ntags)
		return false;
	for (i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			return false;
	return true;
}

static bool topo_field_equal(const struct topo_field *f, const struct topo_obj *a,
			     const struct topo_obj *b)
{
	const void *pa = topo_at_coff(a, f->off), *pb = topo_at_coff(b, f->off);

	if (f->kind == TK_TAGS)
		return topo_tags_equal(&a->u.vm.pub, &b->u.vm.pub);
	if (topo_kind_size(f->kind) == 0) /* strings; bools are 0 / 1, so bytes compare */
		return strcmp(*(const char *const *)pa, *(const char *const *)pb) == 0;
	return memcmp(pa, pb, topo_kind_size(f->kind)) == 0;
}

bool topo_obj_equal(const struct topo_obj *a, const struct topo_obj *b)
{
	const struct topo_class_desc *d = &topo_classes[a->cls];
	size_t i;

	if (a->cls != b->cls || strcmp(a->ref, b->ref) != 0)
		return false;
	for (i = 0; i < d->nfields; i++)
		if (!topo_field_equal(&d->fields[i], a, b))
			return false;
	return true;
}

void topo_obj_free(struct topo_obj *o)
{
	if (o == NULL)
		return;
	free(o->strs);
	free(o->tagv);
	free(o->keymem);
	free(o);
}
