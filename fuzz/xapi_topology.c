/*
 * libFuzzer target: the pool topology kept from XAPI records (src/xapi/topology*.c),
 * what a pool master's get_all_records maps and event.from snapshots feed it.
 *
 * Input: u8 mode, then an RPC reply body, XML-RPC when bit 0 of mode is set,
 * else JSON-RPC. Its value, (mode >> 1) % (classes + 1) = c:
 *   c < classes: a get_all_records map (ref → record) loaded as class c;
 *   c = classes: a struct whose members named by a class ("VM", "host", ...)
 *     are such maps, loaded in order, and whose member "events" is an array
 *     of event.from events ({class, operation, ref, snapshot}) applied in
 *     order ("del" removes).
 *
 * Invariants: a load or apply that fails leaves a message naming the class;
 * then every object listed is found again by its ref, its strings are
 * readable, a lookup by its uuid (not empty) finds an object with that uuid, an SR's own
 * 8-character prefix names it or is ambiguous, and every name query returns
 * a string. Any other outcome aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/jsonrpc.h"
#include "xapi/topology.h"
#include "xapi/xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_err_ok(enum xs_err rc, const char *err)
{
	if (rc != XS_OK && (!err[0] || strlen(err) >= XS_ERR_LEN))
		abort();
}

static void fuzz_events(struct xs_topo *t, const struct xs_rpc_value *events)
{
	char err[XS_ERR_LEN];

	if (!events || events->type != XS_RPC_ARRAY)
		return;
	for (size_t i = 0; i < events->u.arr.n; i++) {
		const struct xs_rpc_value *ev = events->u.arr.items[i];
		const char *cls = xs_rpc_get_str(ev, "class"), *op = xs_rpc_get_str(ev, "operation");
		const char *ref = xs_rpc_get_str(ev, "ref");
		enum xs_topo_class c;

		if (!cls || !op || !ref || !xs_topo_class_of(cls, &c))
			continue;
		if (!strcmp(op, "del")) {
			xs_topo_remove(t, c, ref);
		} else {
			err[0] = '\0';
			fuzz_err_ok(xs_topo_apply(t, c, ref, xs_rpc_get(ev, "snapshot"), err), err);
		}
	}
}

static void fuzz_load(struct xs_topo *t, unsigned mode, const struct xs_rpc_value *v)
{
	char err[XS_ERR_LEN];
	unsigned c = mode % (XS_TOPO_NCLASSES + 1);

	if (c < XS_TOPO_NCLASSES) {
		err[0] = '\0';
		fuzz_err_ok(xs_topo_load_all(t, (enum xs_topo_class)c, v, err), err);
		return;
	}
	if (v->type != XS_RPC_STRUCT)
		return;
	for (size_t i = 0; i < v->u.st.n; i++) {
		const struct xs_rpc_member *m = &v->u.st.members[i];
		enum xs_topo_class k;

		if (!strcmp(m->key, "events")) {
			fuzz_events(t, m->value);
		} else if (xs_topo_class_of(m->key, &k)) {
			err[0] = '\0';
			fuzz_err_ok(xs_topo_load_all(t, k, m->value, err), err);
		}
	}
}

static void fuzz_str(const char *s)
{
	if (!s || strlen(s) > XS_TOPO_MAX_STR)
		abort();
}

static void fuzz_collision(void *arg, const char *prefix8, size_t nsrs)
{
	(void)arg;
	if (strlen(prefix8) != 8 || nsrs < 2)
		abort();
}

static void fuzz_query(const struct xs_topo *t)
{
	const struct xs_topo_pool *p = xs_topo_pool(t);
	size_t nh = xs_topo_count(t, XS_TOPO_HOST), nv = xs_topo_count(t, XS_TOPO_VM);
	size_t ns = xs_topo_count(t, XS_TOPO_SR);

	if (p) {
		fuzz_str(p->ref);
		fuzz_str(p->uuid);
		fuzz_str(p->name);
		fuzz_str(p->master);
	}
	if (xs_topo_host_at(t, nh) || xs_topo_vm_at(t, nv) || xs_topo_sr_at(t, ns))
		abort();
	for (size_t i = 0; i < nh; i++) {
		const struct xs_topo_host *h = xs_topo_host_at(t, i), *u;

		if (!h || xs_topo_host_by_ref(t, h->ref) != h)
			abort();
		fuzz_str(h->uuid);
		fuzz_str(h->name);
		fuzz_str(h->hostname);
		fuzz_str(h->address);
		fuzz_str(h->control_domain);
		fuzz_str(h->product_version);
		u = xs_topo_host_by_uuid(t, h->uuid);
		if (h->uuid[0] && (!u || strcmp(u->uuid, h->uuid)))
			abort();
		(void)xs_topo_host_dom0(t, h);
		fuzz_str(xs_topo_pif_network(t, h->uuid, "eth0"));
		fuzz_str(xs_topo_pif_network(t, h->uuid, "eth0.100"));
		for (size_t k = 0; k < ns; k++)
			(void)xs_topo_sr_on_host(t, xs_topo_sr_at(t, k), h);
	}
	for (size_t i = 0; i < nv; i++) {
		const struct xs_topo_vm *v = xs_topo_vm_at(t, i), *u;
		const struct xs_topo_sr *sr = NULL;

		if (!v || xs_topo_vm_by_ref(t, v->ref) != v)
			abort();
		fuzz_str(v->uuid);
		fuzz_str(v->name);
		fuzz_str(v->resident_on);
		if (v->ntags > XS_TOPO_MAX_TAGS)
			abort();
		for (size_t k = 0; k < v->ntags; k++)
			fuzz_str(v->tags[k]);
		u = xs_topo_vm_by_uuid(t, v->uuid);
		if (v->uuid[0] && (!u || strcmp(u->uuid, v->uuid)))
			abort();
		fuzz_str(xs_topo_vif_network(t, v->uuid, "0"));
		fuzz_str(xs_topo_vbd_vdi(t, v->uuid, "xvda", &sr));
	}
	for (size_t i = 0; i < ns; i++) {
		const struct xs_topo_sr *s = xs_topo_sr_at(t, i), *u, *by = NULL;
		char prefix[9];
		enum xs_topo_match m;

		if (!s || xs_topo_sr_by_ref(t, s->ref) != s)
			abort();
		fuzz_str(s->name);
		fuzz_str(s->type);
		u = xs_topo_sr_by_uuid(t, s->uuid);
		if (s->uuid[0] && (!u || strcmp(u->uuid, s->uuid)))
			abort();
		if (strlen(s->uuid) >= 8) {
			memcpy(prefix, s->uuid, 8);
			prefix[8] = '\0';
			m = xs_topo_sr_by_prefix(t, prefix, &by);
			if (m == XS_TOPO_NONE || (m == XS_TOPO_ONE && strncmp(by->uuid, prefix, 8)))
				abort();
		}
	}
	xs_topo_sr_collisions(t, fuzz_collision, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_rpc_arena *a;
	struct xs_rpc_reply r;
	struct xs_topo *t;
	char err[XS_ERR_LEN];
	enum xs_err rc;

	if (size < 1)
		return 0;
	a = xs_rpc_arena_new();
	if (data[0] & 1)
		rc = xs_xmlrpc_decode_reply((const char *)data + 1, size - 1, a, &r, err);
	else
		rc = xs_jsonrpc_decode_reply((const char *)data + 1, size - 1, a, &r, err);
	if (rc == XS_OK && r.ok && r.value) {
		t = xs_topo_new();
		fuzz_load(t, data[0] >> 1, r.value);
		fuzz_query(t);
		xs_topo_free(&t);
	}
	xs_rpc_arena_free(&a);
	return 0;
}
