/*
 * Tests of sim/rpc.c and sim/rpc_records.c: a struct sim built by hand (world,
 * sessions, RRD model, manual clock) answers calls given straight to
 * sim_rpc_handle, in both encodings: logins (good, bad, on a member),
 * get_all_records of every class against the world, get_record /
 * get_by_uuid / getters and their errors, servertime with skew,
 * get_data_sources, event.inject + event.from, EVENTS_LOST, the legacy
 * event.register / event.next, logout, unknown methods and bad bodies, the
 * event faults (EVENTS_LOST on demand, a legacy xapi without event.from),
 * the login fault (a xapi before 6.2 without the originator parameter).
 * The last tests run a real sim/http server on 127.0.0.x to check that
 * event.from waits until an event arrives, or until its timeout, and that
 * the control interface's event faults answer waiting calls at once.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../../sim/rpc_records.h"
#include "../../../sim/sim.h"
#include "test.h"
#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

#define T0 1700000000.0
#define T_USER "root"
#define T_PASS "secret"
#define T_POOLS 2
#define T_HOSTS 3
#define T_VMS 4

static struct xs_rpc_arena *t_arena; /* replies and params of the current check */

static struct sim *t_sim_new(void)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	struct sim_world_params p = { .pools = T_POOLS, .hosts_per_pool = T_HOSTS,
				      .vms_per_host = T_VMS, .seed = 42, .addr_base = 77,
				      .now = T0 };

	sim->opt.pools = T_POOLS;
	sim->opt.hosts_per_pool = T_HOSTS;
	sim->opt.vms_per_host = T_VMS;
	sim->opt.user = T_USER;
	sim->opt.password = T_PASS;
	sim->opt.seed = 42;
	snprintf(sim->opt.version_text, sizeof(sim->opt.version_text), "25.6.0");
	sim_xapi_version_parse("25.6.0", &sim->opt.version);
	sim->opt.manual_clock = true;
	sim_clock_init(&sim->clock, true, T0);
	sim->world = sim_world_new(&p);
	sim->sessions = sim_sessions_new(42);
	sim->model = sim_rrd_model_new(sim->world, (int64_t)T0, 0);
	sim->rpc = sim_rpc_new(sim);
	return sim;
}

static void t_sim_free(struct sim *sim)
{
	sim_rpc_free(&sim->rpc);
	sim_rrd_model_free(&sim->model);
	sim_sessions_free(&sim->sessions);
	sim_world_free(&sim->world);
	free(sim);
}

/* The raw response of one request with body to host `listener`. */
static void t_raw(struct sim *sim, int listener, bool json, const char *body, size_t len,
		  struct sim_http_response *res)
{
	struct sim_http_request req;

	memset(&req, 0, sizeof(req));
	req.method.ptr = "POST";
	req.method.len = 4;
	req.path.ptr = json ? "/jsonrpc" : "/RPC2";
	req.path.len = strlen(req.path.ptr);
	req.query.ptr = "";
	req.body.ptr = body;
	req.body.len = len;
	req.listener = listener;
	req.minor_version = 1;
	memset(res, 0, sizeof(*res));
	res->status = 200;
	xs_buf_init(&res->headers, SIM_HTTP_MAX_HEAD);
	xs_buf_init(&res->body, SIM_HTTP_MAX_RESPONSE);
	sim_rpc_handle(sim, &req, res);
}

static void t_res_free(struct sim_http_response *res)
{
	xs_buf_free(&res->headers);
	xs_buf_free(&res->body);
}

/* Last raw body, for checks on the wire form. */
static char t_last_body[1 << 16];

/* Calls method with params (an ARRAY in t_arena, or NULL) on host listener. */
static struct xs_rpc_reply t_call(struct sim *sim, int listener, bool json, const char *method,
				  struct xs_rpc_value *params)
{
	struct xs_buf body;
	struct sim_http_response res;
	struct xs_rpc_reply reply = { false, NULL };
	char err[XS_ERR_LEN];
	enum xs_err rc;
	const char *ct = json ? "Content-Type: application/json\r\n" : "Content-Type: text/xml\r\n";

	xs_buf_init(&body, SIM_HTTP_MAX_BODY);
	rc = json ? xs_jsonrpc_encode_call(&body, 2, method, params, 7)
		  : xs_xmlrpc_encode_call(&body, method, params);
	if (!ok(rc == XS_OK, "encode %s", method))
		return reply;
	t_raw(sim, listener, json, body.data, body.len, &res);
	xs_buf_free(&body);
	ok(res.status == 200, "%s: status %d", method, res.status);
	ok(res.headers.data && strstr(res.headers.data, ct), "%s: content type", method);
	snprintf(t_last_body, sizeof(t_last_body), "%s", res.body.data ? res.body.data : "");
	rc = json ? xs_jsonrpc_decode_reply(res.body.data ? res.body.data : "", res.body.len,
					    t_arena, &reply, err)
		  : xs_xmlrpc_decode_reply(res.body.data ? res.body.data : "", res.body.len,
					   t_arena, &reply, err);
	ok(rc == XS_OK, "%s: decode reply: %s", method, rc ? err : "");
	t_res_free(&res);
	return reply;
}

/* Params from a list of C strings (NULL-terminated); "" entries included. */
static struct xs_rpc_value *t_strs(const char *first, ...)
{
	struct xs_rpc_value *arr = xs_rpc_array(t_arena);
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		xs_rpc_array_push(t_arena, arr, xs_rpc_cstring(t_arena, s));
	va_end(ap);
	return arr;
}

static bool t_login(struct sim *sim, bool json, char *ref)
{
	struct xs_rpc_reply r =
		t_call(sim, 0, json, "session.login_with_password",
		       t_strs(T_USER, T_PASS, "1.0", "test", NULL));

	if (!r.ok || r.value == NULL || r.value->type != XS_RPC_STRING)
		return false;
	snprintf(ref, SIM_REF_LEN, "%s", r.value->u.str.ptr);
	return strncmp(ref, "OpaqueRef:", 10) == 0;
}

static bool t_code(const struct xs_rpc_reply *r, const char *code)
{
	return !r->ok && strcmp(xs_rpc_reply_code(r), code) == 0;
}

static const char *t_param(const struct xs_rpc_reply *r, size_t i)
{
	const char *p = xs_rpc_reply_param(r, i);

	return p ? p : "(none)";
}

static void t_begin(void)
{
	xs_rpc_arena_free(&t_arena);
	t_arena = xs_rpc_arena_new();
}

/* Live objects of class c in pool. */
static size_t t_count(const struct sim_world *w, enum sim_class c, int pool)
{
	size_t n = 0;

	for (size_t i = 0; i < sim_world_count(w, c); i++) {
		const struct sim_obj *o = sim_world_get(w, c, (int)i);

		n += !o->deleted && sim_rpc_obj_pool(w, c, (int)i) == pool;
	}
	return n;
}

/* A guest VM of pool 0 in the given power state, or -1. */
static int t_find_vm(const struct sim_world *w, enum sim_power power)
{
	for (size_t i = 0; i < sim_world_count(w, SIM_VM); i++) {
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, (int)i);

		if (vm->pool == 0 && !vm->is_control_domain && vm->power == power && !vm->o.deleted)
			return (int)i;
	}
	return -1;
}

/* ---- tests ---- */

static void test_login(void)
{
	struct sim *sim = t_sim_new();

	t_begin();
	for (int json = 0; json < 2; json++) {
		char ref[SIM_REF_LEN];
		struct xs_rpc_reply r;
		const struct sim_host *h1 = SIM_GET(sim->world, SIM_HOST, sim_host, 1);
		const struct sim_host *h0 = SIM_GET(sim->world, SIM_HOST, sim_host, 0);

		ok(t_login(sim, json, ref), "login (json %d)", json);
		r = t_call(sim, 0, json, "session.login_with_password",
			   t_strs(T_USER, "wrong", NULL));
		ok(t_code(&r, "SESSION_AUTHENTICATION_FAILED"), "bad password: %s",
		   xs_rpc_reply_code(&r));
		ok(strcmp(t_param(&r, 0), T_USER) == 0, "auth failure names the user");
		r = t_call(sim, 0, json, "session.login_with_password", t_strs(T_USER, NULL));
		ok(t_code(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH"), "one param: %s",
		   xs_rpc_reply_code(&r));
		/* host 1 is a member of pool 0 */
		fail_unless(h1->pool == 0 && h0->pool == 0, "hosts 0 and 1 in pool 0");
		r = t_call(sim, 1, json, "session.login_with_password",
			   t_strs(T_USER, T_PASS, NULL));
		ok(t_code(&r, "HOST_IS_SLAVE"), "member: %s", xs_rpc_reply_code(&r));
		ok(strcmp(t_param(&r, 0), h0->address) == 0, "HOST_IS_SLAVE names %s: %s",
		   h0->address, t_param(&r, 0));
		r = t_call(sim, 1, json, "VM.get_all", t_strs(ref, NULL));
		ok(t_code(&r, "HOST_IS_SLAVE"), "member, any call: %s", xs_rpc_reply_code(&r));
		/* a session of pool 0 is not valid on pool 1's master */
		r = t_call(sim, T_HOSTS, json, "VM.get_all", t_strs(ref, NULL));
		ok(t_code(&r, "SESSION_INVALID"), "other pool: %s", xs_rpc_reply_code(&r));
		/* logout, then the session is gone */
		r = t_call(sim, 0, json, "session.logout", t_strs(ref, NULL));
		ok(r.ok, "logout");
		r = t_call(sim, 0, json, "VM.get_all", t_strs(ref, NULL));
		ok(t_code(&r, "SESSION_INVALID") && strcmp(t_param(&r, 0), ref) == 0,
		   "after logout: %s", xs_rpc_reply_code(&r));
	}
	ok(sim_sessions_count(sim->sessions) == 0, "no session left");
	t_sim_free(sim);
}

static void test_all_records(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];

	t_begin();
	for (int json = 0; json < 2; json++) {
		fail_unless(t_login(sim, json, ref), "login");
		for (int c = 0; c < SIM_NCLASSES; c++) {
			char m[64];
			struct xs_rpc_reply r;
			size_t want = t_count(sim->world, (enum sim_class)c, 0);

			snprintf(m, sizeof(m), "%s.get_all_records",
				 sim_rpc_class_api_name((enum sim_class)c));
			r = t_call(sim, 0, json, m, t_strs(ref, NULL));
			ok(r.ok && r.value && r.value->type == XS_RPC_STRUCT, "%s", m);
			ok(r.value && r.value->u.st.n == want && want > 0, "%s: %zu records, want %zu",
			   m, r.value ? r.value->u.st.n : 0, want);
			for (size_t i = 0; r.ok && i < r.value->u.st.n; i++) {
				const struct xs_rpc_member *mb = &r.value->u.st.members[i];
				const struct sim_obj *o = sim_world_by_ref(sim->world, mb->key);

				if (!ok(o && (int)o->cls == c &&
						strcmp(xs_rpc_get_str(mb->value, "uuid"), o->uuid) == 0,
					"%s: key %s is its object", m, mb->key))
					break;
			}
		}
	}
	t_sim_free(sim);
}

static void test_record_fields(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];
	int vm = t_find_vm(sim->world, SIM_RUNNING);
	const struct sim_vm *v = SIM_GET(sim->world, SIM_VM, sim_vm, vm);
	const struct sim_host *host = SIM_GET(sim->world, SIM_HOST, sim_host, v->resident_on);

	t_begin();
	for (int json = 0; json < 2; json++) {
		struct xs_rpc_reply r;
		const struct xs_rpc_value *rec, *f;
		int64_t i64;

		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 0, json, "VM.get_record", t_strs(ref, v->o.ref, NULL));
		fail_unless(r.ok, "VM.get_record: %s", xs_rpc_reply_code(&r));
		rec = r.value;
		ok(strcmp(xs_rpc_get_str(rec, "power_state"), "Running") == 0, "power_state");
		ok(strcmp(xs_rpc_get_str(rec, "resident_on"), host->o.ref) == 0, "resident_on");
		ok(strcmp(xs_rpc_get_str(rec, "name_label"), v->name) == 0, "name_label");
		f = xs_rpc_get(rec, "memory_target");
		ok(f && f->type == XS_RPC_STRING, "int64 memory_target is a string");
		ok(xs_rpc_get_i64(rec, "memory_target", &i64) && (uint64_t)i64 == v->memory_target,
		   "memory_target value");
		ok(xs_rpc_get_i64(rec, "domid", &i64) && i64 == v->domid, "domid");
		f = xs_rpc_get(rec, "VIFs");
		ok(f && f->type == XS_RPC_ARRAY && f->u.arr.n == v->nvifs, "VIFs set");
		f = xs_rpc_get(rec, "other_config");
		ok(f && f->type == XS_RPC_STRUCT, "other_config map");
		f = xs_rpc_get(rec, "is_control_domain");
		ok(f && f->type == XS_RPC_BOOL && !f->u.b, "is_control_domain bool");
		ok(strcmp(xs_rpc_get_str(rec, "suspend_VDI"), SIM_RPC_NULL_REF) == 0,
		   "OpaqueRef:NULL for none");
		if (!json)
			ok(strstr(t_last_body, "<name>memory_target</name><value>") != NULL &&
				   strstr(t_last_body, "<name>memory_target</name><value><i") == NULL,
			   "XML-RPC int64 untyped string");
		/* getters, get_by_uuid, get_all */
		r = t_call(sim, 0, json, "VM.get_uuid", t_strs(ref, v->o.ref, NULL));
		ok(r.ok && strcmp(r.value->u.str.ptr, v->o.uuid) == 0, "VM.get_uuid");
		r = t_call(sim, 0, json, "VM.get_power_state", t_strs(ref, v->o.ref, NULL));
		ok(r.ok && strcmp(r.value->u.str.ptr, "Running") == 0, "VM.get_power_state");
		r = t_call(sim, 0, json, "VM.get_by_uuid", t_strs(ref, v->o.uuid, NULL));
		ok(r.ok && strcmp(r.value->u.str.ptr, v->o.ref) == 0, "VM.get_by_uuid");
		r = t_call(sim, 0, json, "VM.get_all", t_strs(ref, NULL));
		ok(r.ok && r.value->u.arr.n == t_count(sim->world, SIM_VM, 0), "VM.get_all");
		r = t_call(sim, 0, json, "host.get_uuid", t_strs(ref, host->o.ref, NULL));
		ok(r.ok && strcmp(r.value->u.str.ptr, host->o.uuid) == 0, "host.get_uuid");
		r = t_call(sim, 0, json, "host.get_all", t_strs(ref, NULL));
		ok(r.ok && r.value->u.arr.n == T_HOSTS, "host.get_all");
		r = t_call(sim, 0, json, "host.get_record", t_strs(ref, host->o.ref, NULL));
		ok(r.ok && strcmp(xs_rpc_get_str(r.value, "address"), host->address) == 0,
		   "host.address");
		f = r.ok ? xs_rpc_get(r.value, "resident_VMs") : NULL;
		ok(f && f->type == XS_RPC_ARRAY && f->u.arr.n >= 2, "resident_VMs (dom0 + guests)");
		/* errors */
		r = t_call(sim, 0, json, "VM.get_record", t_strs(ref, "OpaqueRef:nope", NULL));
		ok(t_code(&r, "HANDLE_INVALID") && strcmp(t_param(&r, 0), "VM") == 0 &&
			   strcmp(t_param(&r, 1), "OpaqueRef:nope") == 0,
		   "HANDLE_INVALID [VM, ref]: %s %s", xs_rpc_reply_code(&r), t_param(&r, 0));
		r = t_call(sim, 0, json, "VM.get_record", t_strs(ref, host->o.ref, NULL));
		ok(t_code(&r, "HANDLE_INVALID"), "a host ref to VM.get_record");
		r = t_call(sim, 0, json, "VM.get_by_uuid", t_strs(ref, "no-such-uuid", NULL));
		ok(t_code(&r, "UUID_INVALID"), "UUID_INVALID: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "VM.get_record", t_strs(ref, NULL));
		ok(t_code(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH") &&
			   strcmp(t_param(&r, 1), "2") == 0 && strcmp(t_param(&r, 2), "1") == 0,
		   "count mismatch [method, 2, 1]");
		r = t_call(sim, 0, json, "VM.frobnicate", t_strs(ref, NULL));
		ok(t_code(&r, "MESSAGE_METHOD_UNKNOWN") &&
			   strcmp(t_param(&r, 0), "VM.frobnicate") == 0,
		   "MESSAGE_METHOD_UNKNOWN: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "nosuch.call", t_strs(ref, NULL));
		ok(t_code(&r, "MESSAGE_METHOD_UNKNOWN"), "unknown class");
		r = t_call(sim, 0, json, "system.listMethods", NULL);
		ok(r.ok && r.value->type == XS_RPC_ARRAY && r.value->u.arr.n > 100,
		   "system.listMethods");
		for (size_t i = 0, found = 0; r.ok && i < r.value->u.arr.n && !found; i++) {
			found = strcmp(r.value->u.arr.items[i]->u.str.ptr, "VM.get_all_records") == 0;
			if (i + 1 == r.value->u.arr.n)
				ok(found, "listMethods has VM.get_all_records");
		}
		/* another pool's object is invisible */
		{
			const struct sim_host *other = SIM_GET(sim->world, SIM_HOST, sim_host, T_HOSTS);

			r = t_call(sim, 0, json, "host.get_record", t_strs(ref, other->o.ref, NULL));
			ok(t_code(&r, "HANDLE_INVALID"), "host of another pool");
		}
	}
	t_sim_free(sim);
}

static void test_servertime(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];
	struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, 2);

	t_begin();
	h->faults.skew = 3600 + 5;
	for (int json = 0; json < 2; json++) {
		struct xs_rpc_reply r;
		char want[SIM_RPC_DATE_LEN];

		fail_unless(t_login(sim, json, ref), "login");
		sim_rpc_datetime(T0 + 3605, want);
		r = t_call(sim, 0, json, "host.get_servertime", t_strs(ref, h->o.ref, NULL));
		ok(r.ok && r.value && strcmp(r.value->u.str.ptr, want) == 0,
		   "servertime %s, want %s", r.ok ? r.value->u.str.ptr : "-", want);
		ok(json || (r.value && r.value->type == XS_RPC_DATETIME), "dateTime.iso8601 in XML");
		ok(strcmp(want, "20231114T23:13:25Z") == 0, "basic format: %s", want);
	}
	t_sim_free(sim);
}

static void test_data_sources(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];
	int vm = t_find_vm(sim->world, SIM_RUNNING);
	const struct sim_rrd *hr = sim_rrd_model_get(sim->model, SIM_HOST, 0);
	const struct sim_rrd *vr = sim_rrd_model_get(sim->model, SIM_VM, vm);

	t_begin();
	fail_unless(hr && vr, "model has RRDs");
	for (int json = 0; json < 2; json++) {
		struct xs_rpc_reply r;
		const struct xs_rpc_value *ds;
		const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, 0);
		const struct sim_vm *v = SIM_GET(sim->world, SIM_VM, sim_vm, vm);
		double d;
		bool b;

		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 0, json, "host.get_data_sources", t_strs(ref, h->o.ref, NULL));
		ok(r.ok && r.value->type == XS_RPC_ARRAY && r.value->u.arr.n == hr->nds,
		   "host data sources: %zu, want %zu", r.ok ? r.value->u.arr.n : 0, hr->nds);
		ds = r.ok ? xs_rpc_at(r.value, 0) : NULL;
		ok(ds && strcmp(xs_rpc_get_str(ds, "name_label"), hr->ds[0].name) == 0, "name_label");
		ok(ds && xs_rpc_get_bool(ds, "enabled", &b) && b, "enabled");
		ok(ds && xs_rpc_get_bool(ds, "standard", &b), "standard");
		ok(ds && xs_rpc_get_str(ds, "units") && xs_rpc_get_str(ds, "name_description"),
		   "units, name_description");
		ok(ds && xs_rpc_get(ds, "value") && xs_rpc_get(ds, "min") && xs_rpc_get(ds, "max"),
		   "value, min, max");
		d = ds && xs_rpc_get(ds, "max") ? xs_rpc_get(ds, "max")->u.d : NAN;
		ok(isfinite(d), "max is finite");
		r = t_call(sim, 0, json, "VM.get_data_sources", t_strs(ref, v->o.ref, NULL));
		ok(r.ok && r.value->u.arr.n == vr->nds, "VM data sources: %zu, want %zu",
		   r.ok ? r.value->u.arr.n : 0, vr->nds);
	}
	t_sim_free(sim);
}

/* The event of class cls and ref in an event.from result, or NULL. */
static const struct xs_rpc_value *t_event(const struct xs_rpc_value *res, const char *cls,
					  const char *ref)
{
	const struct xs_rpc_value *evs = xs_rpc_get(res, "events");

	for (size_t i = 0; evs && i < evs->u.arr.n; i++) {
		const struct xs_rpc_value *e = evs->u.arr.items[i];

		if (strcmp(xs_rpc_get_str(e, "class"), cls) == 0 &&
		    strcmp(xs_rpc_get_str(e, "ref"), ref) == 0)
			return e;
	}
	return NULL;
}

static struct xs_rpc_value *t_from_params(const char *ref, struct xs_rpc_value *classes,
					  const char *token, double timeout)
{
	struct xs_rpc_value *p = t_strs(ref, NULL);

	xs_rpc_array_push(t_arena, p, classes);
	xs_rpc_array_push(t_arena, p, xs_rpc_cstring(t_arena, token));
	xs_rpc_array_push(t_arena, p, xs_rpc_double(t_arena, timeout));
	return p;
}

static void test_event_from(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];

	t_begin();
	for (int json = 0; json < 2; json++) {
		const struct sim_pool *pool = SIM_GET(sim->world, SIM_POOL, sim_pool, 0);
		int vm = t_find_vm(sim->world, SIM_HALTED);
		const struct sim_vm *v;
		struct xs_rpc_reply r;
		const struct xs_rpc_value *e, *snap, *counts;
		struct xs_rpc_value *p;
		char token[64], tok2[64];
		int64_t n;

		if (vm < 0) /* the first round destroyed it: a new one, with a disk to start */
			fail_unless(sim_vm_create(sim->world, 0, "new", &vm, NULL) == 0 &&
					    sim_vm_add_vbd(sim->world, vm, NULL, NULL) == 0,
				    "a halted VM");
		v = SIM_GET(sim->world, SIM_VM, sim_vm, vm);
		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL));
		fail_unless(r.ok && strlen(r.value->u.str.ptr) == 41, "event.inject token: %s",
			    r.ok ? r.value->u.str.ptr : xs_rpc_reply_code(&r));
		snprintf(token, sizeof(token), "%s", r.value->u.str.ptr);
		fail_unless(sim_vm_start(sim->world, vm, -1, NULL) == 0, "start the VM");
		sim_rpc_notify(sim);
		r = t_call(sim, 0, json, "event.from",
			   t_from_params(ref, t_strs("vm", NULL), token, 0.0));
		fail_unless(r.ok, "event.from: %s", xs_rpc_reply_code(&r));
		e = t_event(r.value, "vm", v->o.ref);
		ok(e && strcmp(xs_rpc_get_str(e, "operation"), "mod") == 0, "vm mod event");
		snap = e ? xs_rpc_get(e, "snapshot") : NULL;
		ok(snap && strcmp(xs_rpc_get_str(snap, "power_state"), "Running") == 0,
		   "snapshot power_state Running");
		ok(t_event(r.value, "pool", pool->o.ref) == NULL, "pool event filtered out");
		counts = xs_rpc_get(r.value, "valid_ref_counts");
		ok(counts && xs_rpc_get(counts, "vm") && xs_rpc_get(counts, "vm")->type == XS_RPC_INT &&
			   xs_rpc_get_i64(counts, "vm", &n) && (size_t)n == t_count(sim->world, SIM_VM, 0),
		   "valid_ref_counts vm");
		snprintf(tok2, sizeof(tok2), "%s", xs_rpc_get_str(r.value, "token"));
		ok(strlen(tok2) == 41 && strcmp(tok2, token) > 0, "token advances: %s > %s", tok2,
		   token);
		/* "*" sees the injected pool event too */
		r = t_call(sim, 0, json, "event.from", t_from_params(ref, t_strs("*", NULL), token, 0));
		ok(r.ok && t_event(r.value, "pool", pool->o.ref) && t_event(r.value, "vm", v->o.ref),
		   "\"*\" sees pool and vm");
		/* class/ref */
		{
			char one[128];

			snprintf(one, sizeof(one), "pool/%s", pool->o.ref);
			r = t_call(sim, 0, json, "event.from",
				   t_from_params(ref, t_strs(one, NULL), token, 0));
			ok(r.ok && xs_rpc_get(r.value, "events")->u.arr.n == 1 &&
				   t_event(r.value, "pool", pool->o.ref),
			   "class/ref filter");
		}
		/* nothing new, timeout 0: empty batch, same token */
		r = t_call(sim, 0, json, "event.from", t_from_params(ref, t_strs("vm", NULL), tok2, 0));
		ok(r.ok && xs_rpc_get(r.value, "events")->u.arr.n == 0 &&
			   strcmp(xs_rpc_get_str(r.value, "token"), tok2) == 0,
		   "empty batch on timeout");
		/* stop: a del-free mod; destroy: del without snapshot */
		fail_unless(sim_vm_stop(sim->world, vm, NULL) == 0, "stop");
		fail_unless(sim_vm_destroy(sim->world, vm, NULL) == 0, "destroy");
		r = t_call(sim, 0, json, "event.from", t_from_params(ref, t_strs("vm", NULL), tok2, 0));
		e = r.ok ? t_event(r.value, "vm", v->o.ref) : NULL;
		ok(e && strcmp(xs_rpc_get_str(e, "operation"), "del") == 0 &&
			   xs_rpc_get(e, "snapshot") == NULL,
		   "del without snapshot");
		/* the empty token: every object as add */
		r = t_call(sim, 0, json, "event.from", t_from_params(ref, t_strs("host", NULL), "", 0));
		ok(r.ok && xs_rpc_get(r.value, "events")->u.arr.n == T_HOSTS, "empty token: all hosts");
		e = r.ok ? xs_rpc_at(xs_rpc_get(r.value, "events"), 0) : NULL;
		ok(e && strcmp(xs_rpc_get_str(e, "operation"), "add") == 0, "as add");
		/* errors */
		r = t_call(sim, 0, json, "event.from",
			   t_from_params(ref, t_strs("vm", NULL), "garbage", 0));
		ok(t_code(&r, "EVENT_FROM_TOKEN_PARSE_FAILURE") &&
			   strcmp(t_param(&r, 0), "garbage") == 0,
		   "EVENT_FROM_TOKEN_PARSE_FAILURE: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "event.from", t_from_params("OpaqueRef:bad",
								     t_strs("vm", NULL), tok2, 0));
		ok(t_code(&r, "SESSION_INVALID"), "event.from SESSION_INVALID");
		/* the timeout is a float: an int or a string is refused, as the ocaml-rpc of
		 * xapis that only take Float does (SPEC §4.3: sent as <double>) */
		p = t_strs(ref, NULL);
		xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
		xs_rpc_array_push(t_arena, p, xs_rpc_cstring(t_arena, tok2));
		xs_rpc_array_push(t_arena, p, xs_rpc_int(t_arena, 0));
		r = t_call(sim, 0, json, "event.from", p);
		ok(t_code(&r, "FIELD_TYPE_ERROR"), "event.from with an int timeout: %s",
		   xs_rpc_reply_code(&r));
		p = t_strs(ref, NULL);
		xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
		xs_rpc_array_push(t_arena, p, xs_rpc_cstring(t_arena, tok2));
		xs_rpc_array_push(t_arena, p, xs_rpc_cstring(t_arena, "0.0"));
		r = t_call(sim, 0, json, "event.from", p);
		ok(t_code(&r, "FIELD_TYPE_ERROR"), "event.from with a string timeout: %s",
		   xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "VM", "OpaqueRef:x", NULL));
		ok(t_code(&r, "HANDLE_INVALID"), "inject on a bad ref");
	}
	t_sim_free(sim);
}

static void test_events_lost(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];

	t_begin();
	for (int json = 0; json < 2; json++) {
		const struct sim_pool *pool = SIM_GET(sim->world, SIM_POOL, sim_pool, 0);
		struct xs_rpc_reply r;
		char token[64];

		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL));
		fail_unless(r.ok, "inject");
		snprintf(token, sizeof(token), "%s", r.value->u.str.ptr);
		for (int i = 0; i < SIM_EVENT_LOG_CAP + 10; i++)
			sim_world_event(sim->world, SIM_POOL, 0, SIM_EV_MOD);
		r = t_call(sim, 0, json, "event.from", t_from_params(ref, t_strs("vm", NULL), token, 0));
		ok(t_code(&r, "EVENTS_LOST"), "EVENTS_LOST: %s", xs_rpc_reply_code(&r));
	}
	t_sim_free(sim);
}

static void test_legacy(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];

	t_begin();
	for (int json = 0; json < 2; json++) {
		int vm = t_find_vm(sim->world, SIM_RUNNING);
		const struct sim_vm *v = SIM_GET(sim->world, SIM_VM, sim_vm, vm);
		struct xs_rpc_reply r;
		bool seen = false;

		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(t_code(&r, "SESSION_NOT_REGISTERED"), "next before register: %s",
		   xs_rpc_reply_code(&r));
		{
			struct xs_rpc_value *p = t_strs(ref, NULL);

			xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
			r = t_call(sim, 0, json, "event.register", p);
		}
		ok(r.ok, "event.register");
		fail_unless(sim_vm_stop(sim->world, vm, NULL) == 0, "stop");
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		fail_unless(r.ok && r.value->type == XS_RPC_ARRAY, "event.next: %s",
			    xs_rpc_reply_code(&r));
		for (size_t i = 0; i < r.value->u.arr.n; i++) {
			const struct xs_rpc_value *e = r.value->u.arr.items[i];

			ok(strcmp(xs_rpc_get_str(e, "class"), "vm") == 0, "only vm events");
			seen |= strcmp(xs_rpc_get_str(e, "ref"), v->o.ref) == 0 &&
				strcmp(xs_rpc_get_str(e, "operation"), "mod") == 0;
		}
		ok(seen, "the stopped VM's mod");
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(r.ok && r.value->u.arr.n == 0, "nothing queued (no server: empty at once)");
		for (int i = 0; i < 600; i++)
			sim_world_event(sim->world, SIM_VM, vm, SIM_EV_MOD);
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(t_code(&r, "EVENTS_LOST"), "queue overflow: %s", xs_rpc_reply_code(&r));
		fail_unless(sim_vm_start(sim->world, vm, -1, NULL) == 0, "start again");
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(r.ok && r.value->u.arr.n > 0, "events again after EVENTS_LOST");
		{
			struct xs_rpc_value *p = t_strs(ref, NULL);

			xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
			r = t_call(sim, 0, json, "event.unregister", p);
		}
		ok(r.ok, "event.unregister");
		sim_world_event(sim->world, SIM_VM, vm, SIM_EV_MOD);
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(r.ok && r.value->u.arr.n == 0, "nothing after unregister");
	}
	t_sim_free(sim);
}

static bool t_lists(const struct xs_rpc_reply *r, const char *method)
{
	for (size_t i = 0; r->ok && r->value && i < r->value->u.arr.n; i++)
		if (strcmp(r->value->u.arr.items[i]->u.str.ptr, method) == 0)
			return true;
	return false;
}

static void test_event_faults(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN], ref1[SIM_REF_LEN], token[64];
	unsigned lose;
	bool legacy;

	t_begin();
	for (int json = 0; json < 2; json++) {
		const struct sim_pool *pool = SIM_GET(sim->world, SIM_POOL, sim_pool, 0);
		const struct sim_pool *pool1 = SIM_GET(sim->world, SIM_POOL, sim_pool, 1);
		struct xs_rpc_reply r;
		struct xs_rpc_value *p;

		fail_unless(t_login(sim, json, ref), "login");
		r = t_call(sim, 3, json, "session.login_with_password",
			   t_strs(T_USER, T_PASS, "1.0", "test", NULL));
		fail_unless(r.ok, "login on pool 1");
		snprintf(ref1, sizeof(ref1), "%s", r.value->u.str.ptr);
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL));
		fail_unless(r.ok, "inject");
		snprintf(token, sizeof(token), "%s", r.value->u.str.ptr);

		/* lose: the next 2 calls of pool 0 answer EVENTS_LOST, pool 1 is untouched */
		ok(sim_rpc_lose_events(sim, 0, 2) == 0, "nothing waiting (no server)");
		sim_rpc_event_faults(sim, 0, &lose, &legacy);
		ok(lose == 2 && !legacy, "2 pending");
		r = t_call(sim, 3, json, "event.inject", t_strs(ref1, "pool", pool1->o.ref, NULL));
		r = t_call(sim, 3, json, "event.from",
			   t_from_params(ref1, t_strs("pool", NULL), r.value->u.str.ptr, 0));
		ok(r.ok, "pool 1's event.from unaffected: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "event.from",
			   t_from_params(ref, t_strs("pool", NULL), token, 0));
		ok(t_code(&r, "EVENTS_LOST") && xs_rpc_reply_param(&r, 0) == NULL,
		   "event.from: EVENTS_LOST []: %s", xs_rpc_reply_code(&r));
		p = t_strs(ref, NULL);
		xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
		ok(t_call(sim, 0, json, "event.register", p).ok, "event.register");
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(t_code(&r, "EVENTS_LOST"), "event.next: EVENTS_LOST: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "event.from",
			   t_from_params(ref, t_strs("pool", NULL), token, 0));
		ok(r.ok && xs_rpc_get(r.value, "events")->u.arr.n == 1, "used up: events again: %s",
		   xs_rpc_reply_code(&r));
		sim_rpc_event_faults(sim, 0, &lose, &legacy);
		ok(lose == 0, "none pending");
		ok(sim_rpc_lose_events(sim, 7, 1) == 0, "a bad pool: nothing");

		/* legacy: event.inject and event.from unknown on pool 0 only */
		r = t_call(sim, 0, json, "system.listMethods", NULL);
		ok(t_lists(&r, "event.from") && t_lists(&r, "event.inject"), "listed at first");
		ok(sim_rpc_set_legacy(sim, 0, true) == 0, "legacy on");
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL));
		ok(t_code(&r, "MESSAGE_METHOD_UNKNOWN") && !strcmp(t_param(&r, 0), "event.inject"),
		   "event.inject: MESSAGE_METHOD_UNKNOWN [%s]", t_param(&r, 0));
		r = t_call(sim, 0, json, "event.from",
			   t_from_params(ref, t_strs("pool", NULL), token, 0));
		ok(t_code(&r, "MESSAGE_METHOD_UNKNOWN") && !strcmp(t_param(&r, 0), "event.from"),
		   "event.from: MESSAGE_METHOD_UNKNOWN [%s]", t_param(&r, 0));
		r = t_call(sim, 0, json, "event.from", t_strs(ref, NULL));
		ok(t_code(&r, "MESSAGE_METHOD_UNKNOWN"), "whatever the params: %s",
		   xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "system.listMethods", NULL);
		ok(!t_lists(&r, "event.from") && !t_lists(&r, "event.inject") &&
			   t_lists(&r, "event.next") && t_lists(&r, "VM.get_all_records"),
		   "listMethods omits them, keeps the rest");
		sim_world_event(sim->world, SIM_POOL, 0, SIM_EV_MOD);
		r = t_call(sim, 0, json, "event.next", t_strs(ref, NULL));
		ok(r.ok, "event.next still works: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 3, json, "event.inject", t_strs(ref1, "pool", pool1->o.ref, NULL));
		ok(r.ok, "pool 1 still has event.inject");
		sim_rpc_event_faults(sim, 0, &lose, &legacy);
		ok(legacy, "reported on");
		sim_rpc_set_legacy(sim, 0, false);
		r = t_call(sim, 0, json, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL));
		ok(r.ok, "off again: event.inject answers");
	}
	t_sim_free(sim);
}

static void test_old_login(void)
{
	struct sim *sim = t_sim_new();
	bool old;
	unsigned refused;

	t_begin();
	sim_rpc_set_old_login(sim, 0, true);
	for (int json = 0; json < 2; json++) {
		struct xs_rpc_reply r;

		r = t_call(sim, 0, json, "session.login_with_password",
			   t_strs(T_USER, T_PASS, "1.0", "test", NULL));
		ok(t_code(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH") &&
			   !strcmp(t_param(&r, 0), "session.login_with_password") &&
			   !strcmp(t_param(&r, 1), "3") && !strcmp(t_param(&r, 2), "4"),
		   "4 params: MESSAGE_PARAMETER_COUNT_MISMATCH [%s, %s, %s]", t_param(&r, 0),
		   t_param(&r, 1), t_param(&r, 2));
		r = t_call(sim, 0, json, "session.login_with_password",
			   t_strs(T_USER, T_PASS, "1.0", NULL));
		ok(r.ok, "3 params: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "session.login_with_password", t_strs(T_USER, T_PASS, NULL));
		ok(r.ok && r.value && r.value->type == XS_RPC_STRING, "2 params: %s",
		   xs_rpc_reply_code(&r));
		r = t_call(sim, T_HOSTS, json, "session.login_with_password",
			   t_strs(T_USER, T_PASS, "1.0", "test", NULL));
		ok(r.ok, "pool 1 takes 4: %s", xs_rpc_reply_code(&r));
		r = t_call(sim, 0, json, "session.login_with_password", t_strs(T_USER, NULL));
		ok(t_code(&r, "MESSAGE_PARAMETER_COUNT_MISMATCH"), "one param still refused");
	}
	sim_rpc_login_faults(sim, 0, &old, &refused);
	ok(old && refused == 2, "on, 2 logins refused for their originator: %u", refused);
	sim_rpc_login_faults(sim, 1, &old, &refused);
	ok(!old && refused == 0, "pool 1 untouched");
	sim_rpc_set_old_login(sim, 0, false);
	ok(t_call(sim, 0, 0, "session.login_with_password",
		  t_strs(T_USER, T_PASS, "1.0", "test", NULL)).ok,
	   "off: 4 params again");
	sim_rpc_set_old_login(sim, 9, true);
	t_sim_free(sim);
}

/* A pool's password list: any of its passwords logs in, --password no longer
 * (unless listed), open sessions stay valid, other pools keep --password, and
 * an empty list goes back to --password. */
static void test_passwords(void)
{
	struct sim *sim = t_sim_new();
	char ref[SIM_REF_LEN];

	t_begin();
	fail_unless(t_login(sim, false, ref), "login before");
	ok(sim_rpc_set_passwords(sim, 0, "one,two") == 2, "two passwords");
	for (int json = 0; json < 2; json++) {
		const char *good[] = { "one", "two" }, *bad[] = { T_PASS, "on", "one,two", "" };

		for (size_t i = 0; i < 2; i++)
			ok(t_call(sim, 0, json, "session.login_with_password",
				  t_strs(T_USER, good[i], "1.0", "test", NULL)).ok,
			   "'%s' logs in (json %d)", good[i], json);
		for (size_t i = 0; i < 4; i++) {
			struct xs_rpc_reply r = t_call(sim, 0, json, "session.login_with_password",
						       t_strs(T_USER, bad[i], "1.0", "test", NULL));

			ok(t_code(&r, "SESSION_AUTHENTICATION_FAILED"), "'%s' refused (json %d)",
			   bad[i], json);
		}
		ok(t_call(sim, T_HOSTS, json, "session.login_with_password",
			  t_strs(T_USER, T_PASS, "1.0", "test", NULL)).ok,
		   "pool 1 keeps --password (json %d)", json);
	}
	ok(t_call(sim, 0, 0, "VM.get_all", t_strs(ref, NULL)).ok, "the open session stays valid");
	ok(sim_rpc_set_passwords(sim, 0, "") == 1 && t_login(sim, true, ref),
	   "an empty list: --password again");
	ok(sim_rpc_set_passwords(sim, 9, "x") == 0, "a bad pool: 0");
	t_sim_free(sim);
}

static void test_bad_bodies(void)
{
	struct sim *sim = t_sim_new();
	struct sim_http_response res;
	static const char bad_xml[] = "<methodCall><methodName>VM.get_all</methodName><params>";
	static const char bad_json[] = "{\"jsonrpc\":\"2.0\",\"method\":";
	struct xs_rpc_reply reply;
	char err[XS_ERR_LEN];

	t_begin();
	t_raw(sim, 0, false, bad_xml, sizeof(bad_xml) - 1, &res);
	ok(res.status == 500, "malformed XML-RPC: HTTP 500 (%d)", res.status);
	ok(res.body.data && strstr(res.body.data, "<html>"), "HTML body");
	t_res_free(&res);
	t_raw(sim, 0, true, bad_json, sizeof(bad_json) - 1, &res);
	ok(res.status == 200, "malformed JSON-RPC: 200 with an error envelope");
	ok(res.body.data &&
		   xs_jsonrpc_decode_reply(res.body.data, res.body.len, t_arena, &reply, err) == 0 &&
		   !reply.ok,
	   "error envelope: %s", res.body.data ? res.body.data : "");
	t_res_free(&res);
	/* a GET is not an RPC */
	{
		struct sim_http_request req;

		memset(&req, 0, sizeof(req));
		req.method.ptr = "GET";
		req.method.len = 3;
		req.path.ptr = "/";
		req.path.len = 1;
		memset(&res, 0, sizeof(res));
		res.status = 200;
		xs_buf_init(&res.headers, SIM_HTTP_MAX_HEAD);
		xs_buf_init(&res.body, SIM_HTTP_MAX_RESPONSE);
		sim_rpc_handle(sim, &req, &res);
		ok(res.status == 405, "GET /: 405");
		t_res_free(&res);
	}
	/* JSON-RPC v1 envelope */
	{
		static const char v1[] = "{\"method\":\"session.login_with_password\","
					 "\"params\":[\"root\",\"bad\"],\"id\":3}";

		t_raw(sim, 0, true, v1, sizeof(v1) - 1, &res);
		ok(res.body.data && strstr(res.body.data, "\"error\":[\"SESSION_AUTHENTICATION_FAILED\""),
		   "v1 error envelope: %s", res.body.data ? res.body.data : "");
		ok(res.body.data && strstr(res.body.data, "\"id\":3"), "v1 id");
		t_res_free(&res);
	}
	t_sim_free(sim);
}

/* ---- waiting event.from over a real server ---- */

struct t_srv {
	struct sim *sim;
	pthread_t thread;
	int wake[2];
	uint16_t port;
};

static void t_srv_handler(void *ctx, const struct sim_http_request *req,
			  struct sim_http_response *res)
{
	if (req->path.len > 5 && memcmp(req->path.ptr, "/sim/", 5) == 0)
		sim_control_handle(ctx, req, res); /* on the server's thread */
	else
		sim_rpc_handle(ctx, req, res);
}

static void t_srv_wake(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	xs_evloop_stop(loop);
}

static void *t_srv_main(void *arg)
{
	struct t_srv *v = arg;

	xs_evloop_run(v->sim->loop, NULL);
	return NULL;
}

static bool t_srv_start(struct t_srv *v, const char *addr)
{
	char err[XS_ERR_LEN];

	v->sim->loop = xs_evloop_new();
	if (v->sim->loop == NULL || pipe(v->wake))
		return false;
	v->sim->http = sim_http_server_new(v->sim->loop, t_srv_handler, v->sim, NULL, NULL, err);
	if (v->sim->http == NULL || sim_http_listen(v->sim->http, 0, addr, 0, err))
		return false;
	v->port = sim_http_listen_port(v->sim->http, 0);
	if (xs_evloop_add_fd(v->sim->loop, v->wake[0], XS_EV_READ, t_srv_wake, v))
		return false;
	return pthread_create(&v->thread, NULL, t_srv_main, v) == 0;
}

static void t_srv_stop(struct t_srv *v)
{
	if (write(v->wake[1], "x", 1) != 1)
		abort();
	pthread_join(v->thread, NULL);
	sim_rpc_free(&v->sim->rpc); /* before the server: the waiters' timers */
	sim_http_server_free(&v->sim->http);
	xs_evloop_free(&v->sim->loop);
	close(v->wake[0]);
	close(v->wake[1]);
}

static int t_connect(const char *addr, uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 10, 0 };

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool t_send_call(int fd, const char *method, const struct xs_rpc_value *params)
{
	struct xs_buf body, msg;
	bool good;

	xs_buf_init(&body, SIM_HTTP_MAX_BODY);
	xs_buf_init(&msg, SIM_HTTP_MAX_BODY);
	good = xs_xmlrpc_encode_call(&body, method, params) == 0 &&
	       xs_buf_printf(&msg, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
				   "Content-Length: %zu\r\n\r\n%s",
			     body.len, body.data) == 0 &&
	       write(fd, msg.data, msg.len) == (ssize_t)msg.len;
	xs_buf_free(&body);
	xs_buf_free(&msg);
	return good;
}

/* Reads one response and decodes its body; false on error or timeout. */
static bool t_read_reply(int fd, struct xs_rpc_reply *reply)
{
	static char buf[1 << 20];
	size_t len = 0;
	char err[XS_ERR_LEN];

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *end, *cl;

		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "Content-Length:");
		if (end && cl && len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			return xs_xmlrpc_decode_reply(end + 4, strtoul(cl + 15, NULL, 10), t_arena,
						      reply, err) == 0;
	}
}

/* POST target to the control interface on a new connection; the answer's body. */
static bool t_control(const char *addr, uint16_t port, const char *target, char *ans, size_t cap)
{
	int fd = t_connect(addr, port);
	char head[256];
	size_t len = 0;
	ssize_t n;
	char *body;

	ans[0] = '\0';
	if (fd < 0)
		return false;
	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		 target);
	if (write(fd, head, strlen(head)) == (ssize_t)strlen(head))
		while (len + 1 < cap && (n = read(fd, ans + len, cap - 1 - len)) > 0)
			len += (size_t)n;
	ans[len] = '\0';
	close(fd);
	body = strstr(ans, "\r\n\r\n");
	if (body == NULL || strncmp(ans, "HTTP/1.1 200", 12) != 0)
		return false;
	memmove(ans, body + 4, strlen(body + 4) + 1);
	return true;
}

static double t_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_event_from_waits(void)
{
	struct t_srv v = { .sim = t_sim_new() };
	const char *addr = "127.77.1.1";
	char ref[SIM_REF_LEN], token[64];
	const struct sim_pool *pool = SIM_GET(v.sim->world, SIM_POOL, sim_pool, 0);
	struct xs_rpc_reply r;
	int a, b;
	double t;

	t_begin();
	fail_unless(t_srv_start(&v, addr), "server on %s", addr);
	a = t_connect(addr, v.port);
	b = t_connect(addr, v.port);
	fail_unless(a >= 0 && b >= 0, "connect");
	fail_unless(t_send_call(a, "session.login_with_password", t_strs(T_USER, T_PASS, NULL)) &&
			    t_read_reply(a, &r) && r.ok,
		    "login");
	snprintf(ref, sizeof(ref), "%s", r.value->u.str.ptr);
	fail_unless(t_send_call(a, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL)) &&
			    t_read_reply(a, &r) && r.ok,
		    "inject");
	snprintf(token, sizeof(token), "%s", r.value->u.str.ptr);
	/* consume the injected event, so the next event.from has nothing */
	fail_unless(t_send_call(a, "event.from", t_from_params(ref, t_strs("pool", NULL), token, 0)) &&
			    t_read_reply(a, &r) && r.ok,
		    "first from");
	snprintf(token, sizeof(token), "%s", xs_rpc_get_str(r.value, "token"));
	/* a waits up to 10 s; b's inject wakes it */
	t = t_mono();
	fail_unless(t_send_call(a, "event.from",
				t_from_params(ref, t_strs("pool", NULL), token, 10.0)),
		    "send waiting from");
	usleep(200 * 1000);
	fail_unless(t_send_call(b, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL)) &&
			    t_read_reply(b, &r) && r.ok,
		    "inject from b");
	ok(t_read_reply(a, &r) && r.ok && xs_rpc_get(r.value, "events")->u.arr.n == 1,
	   "waiting event.from answered with the event");
	t = t_mono() - t;
	ok(t >= 0.15 && t < 5, "it waited for the event (%.2f s)", t);
	snprintf(token, sizeof(token), "%s", r.ok ? xs_rpc_get_str(r.value, "token") : "");
	/* nothing arrives: the timeout answers with an empty batch */
	t = t_mono();
	ok(t_send_call(a, "event.from", t_from_params(ref, t_strs("pool", NULL), token, 0.3)) &&
		   t_read_reply(a, &r) && r.ok && xs_rpc_get(r.value, "events")->u.arr.n == 0,
	   "timeout: empty batch");
	t = t_mono() - t;
	ok(t >= 0.25 && t < 5, "after the timeout (%.2f s)", t);
	/* a client that hangs up while waiting is forgotten */
	ok(t_send_call(b, "event.from", t_from_params(ref, t_strs("pool", NULL), token, 30.0)),
	   "send a wait to b");
	usleep(100 * 1000);
	close(b);
	usleep(100 * 1000);
	ok(t_send_call(a, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL)) &&
		   t_read_reply(a, &r) && r.ok,
	   "inject after b left");
	close(a);
	t_srv_stop(&v);
	t_sim_free(v.sim);
}

/* Waiting event.from / event.next calls answered at once by the control interface's faults. */
static void test_event_faults_wake(void)
{
	struct t_srv v = { .sim = t_sim_new() };
	const char *addr = "127.77.1.1";
	char ref[SIM_REF_LEN], token[64], ans[4096];
	const struct sim_pool *pool = SIM_GET(v.sim->world, SIM_POOL, sim_pool, 0);
	struct xs_rpc_value *p;
	struct xs_rpc_reply r;
	int a, b;
	double t;

	t_begin();
	fail_unless(t_srv_start(&v, addr), "server on %s", addr);
	a = t_connect(addr, v.port);
	b = t_connect(addr, v.port);
	fail_unless(a >= 0 && b >= 0, "connect");
	fail_unless(t_send_call(a, "session.login_with_password", t_strs(T_USER, T_PASS, NULL)) &&
			    t_read_reply(a, &r) && r.ok,
		    "login");
	snprintf(ref, sizeof(ref), "%s", r.value->u.str.ptr);
	fail_unless(t_send_call(a, "event.inject", t_strs(ref, "pool", pool->o.ref, NULL)) &&
			    t_read_reply(a, &r) && r.ok,
		    "inject");
	fail_unless(t_send_call(a, "event.from", t_from_params(ref, t_strs("pool", NULL),
							      r.value->u.str.ptr, 0)) &&
			    t_read_reply(a, &r) && r.ok,
		    "first from");
	snprintf(token, sizeof(token), "%s", xs_rpc_get_str(r.value, "token"));
	p = t_strs(ref, NULL);
	xs_rpc_array_push(t_arena, p, t_strs("vm", NULL));
	fail_unless(t_send_call(b, "event.register", p) && t_read_reply(b, &r) && r.ok, "register");

	/* a waits in event.from, b in event.next: lose count=3 answers both, keeps 1 */
	t = t_mono();
	fail_unless(t_send_call(a, "event.from",
				t_from_params(ref, t_strs("pool", NULL), token, 10.0)) &&
			    t_send_call(b, "event.next", t_strs(ref, NULL)),
		    "send waiting calls");
	usleep(200 * 1000);
	ok(t_control(addr, v.port, "/sim/events/lose?count=3", ans, sizeof(ans)) &&
		   strstr(ans, "\"woken\":2") && strstr(ans, "\"lose\":1"),
	   "lose: %s", ans);
	ok(t_read_reply(a, &r) && t_code(&r, "EVENTS_LOST"), "waiting event.from: EVENTS_LOST");
	ok(t_read_reply(b, &r) && t_code(&r, "EVENTS_LOST"), "waiting event.next: EVENTS_LOST");
	ok(t_mono() - t < 5, "at once (%.2f s)", t_mono() - t);
	ok(t_send_call(a, "event.from", t_from_params(ref, t_strs("pool", NULL), token, 10.0)) &&
		   t_read_reply(a, &r) && t_code(&r, "EVENTS_LOST"),
	   "the third: the next call");

	/* legacy on: a waiting event.from gets MESSAGE_METHOD_UNKNOWN, event.next keeps waiting */
	t = t_mono();
	fail_unless(t_send_call(a, "event.from",
				t_from_params(ref, t_strs("pool", NULL), token, 10.0)) &&
			    t_send_call(b, "event.next", t_strs(ref, NULL)),
		    "send waiting calls again");
	usleep(200 * 1000);
	ok(t_control(addr, v.port, "/sim/events/legacy?on=1", ans, sizeof(ans)) &&
		   strstr(ans, "\"woken\":1") && strstr(ans, "\"legacy\":true"),
	   "legacy: %s", ans);
	ok(t_read_reply(a, &r) && t_code(&r, "MESSAGE_METHOD_UNKNOWN") &&
		   !strcmp(t_param(&r, 0), "event.from"),
	   "waiting event.from: MESSAGE_METHOD_UNKNOWN [%s]", t_param(&r, 0));
	ok(t_mono() - t < 5, "at once (%.2f s)", t_mono() - t);
	ok(t_control(addr, v.port, "/sim/events/lose", ans, sizeof(ans)) &&
		   strstr(ans, "\"woken\":1") && strstr(ans, "\"lose\":0"),
	   "the waiting event.next took the next loss: %s", ans);
	ok(t_read_reply(b, &r) && t_code(&r, "EVENTS_LOST"), "event.next: EVENTS_LOST");
	close(a);
	close(b);
	t_srv_stop(&v);
	t_sim_free(v.sim);
}

int main(void)
{
	TEST_RUN(test_login);
	TEST_RUN(test_all_records);
	TEST_RUN(test_record_fields);
	TEST_RUN(test_servertime);
	TEST_RUN(test_data_sources);
	TEST_RUN(test_event_from);
	TEST_RUN(test_events_lost);
	TEST_RUN(test_legacy);
	TEST_RUN(test_old_login);
	TEST_RUN(test_passwords);
	TEST_RUN(test_bad_bodies);
	TEST_RUN(test_event_from_waits);
	TEST_RUN(test_event_faults);
	TEST_RUN(test_event_faults_wake);
	xs_rpc_arena_free(&t_arena);
	return test_summary();
}
