/*
 * control.c - the control interface of xapi-sim, under /sim/ on every pool
 * master (routed by route.c): tests and demos change the estate, switch a
 * host's faults or a pool's event and login faults (kept by rpc.c), move the manual
 * clock and read a summary, with plain HTTP.
 *
 * Actions are POST, with their parameters in the query string or in a form
 * body (application/x-www-form-urlencoded); the summary is GET /sim/state.
 * Objects are named by uuid (vm=, host=, pool=, vif=, vbd=). Every answer
 * is JSON: {"ok":true,...} with 200, or {"ok":false,"error":CODE,
 * "message":...} with 400 (the XAPI error code a world function gave, or
 * BAD_PARAMETER / UNKNOWN_PARAMETER / CLOCK_NOT_MANUAL for a bad request),
 * 404 for an unknown path, 405 for the wrong method.
 *
 * Invariants: a request either applies completely or changes nothing
 * (parameters are all read and checked before anything is touched); after
 * every change of the world the RRD model is re-derived (sim_rrd_model_sync)
 * and waiting event.from calls are woken (sim_rpc_notify). Before a change
 * the model is advanced to the present, so the steps before the change are
 * recorded with the old state.
 *
 * The interface acts on the whole simulator, not only on the pool of the
 * master it is reached through. Taking down the host a request arrived at
 * closes its connection: that answer is lost, the change is made.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "lib/num.h"
#include "sim.h"

#define SIM_CONTROL_VAL_LEN 128               /* longest parameter value kept */
#define SIM_CONTROL_MSG_LEN 256
#define SIM_CONTROL_MAX_SLOW_MS 600000u        /* /sim/host/slow: 10 minutes */
#define SIM_CONTROL_MAX_PACE_MS 60000u         /* /sim/host/pace: a minute per 4 KiB */
#define SIM_CONTROL_MAX_COUNT 1000000u         /* fail / truncate / malformed */
#define SIM_CONTROL_MAX_SKEW (10LL * 366 * 86400) /* seconds either way */
#define SIM_CONTROL_MAX_ADVANCE 86400.0        /* seconds per /sim/clock/advance:
						* the model records every 5 s step */

/* One request being answered. */
struct ctl {
	struct sim *sim;
	const struct sim_http_request *req;
	struct sim_http_request form;    /* the body seen as a query string */
	const char *params;              /* accepted parameter names, ",a,b," */
	struct sim_json j;               /* the answer, after {"ok":true */
	const char *code;                /* error code, NULL while fine */
	char msg[SIM_CONTROL_MSG_LEN];   /* what is wrong */
	int status;                      /* HTTP status of an error */
};

typedef int (*ctl_fn)(struct ctl *c);

enum ctl_kind {
	CTL_READ,    /* GET, changes nothing */
	CTL_FAULT,   /* POST, changes faults, sessions or the clock only */
	CTL_WORLD,   /* POST, changes the world: model sync and RPC notify after */
};

struct ctl_route {
	const char *path;
	const char *params;              /* ",a,b,": what the endpoint accepts */
	enum ctl_kind kind;
	ctl_fn fn;
};

__attribute__((format(printf, 3, 4))) static int ctl_fail(struct ctl *c, const char *code,
							   const char *fmt, ...)
{
	va_list ap;

	c->code = code;
	c->status = 400;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* --- parameters --- */

/* Rejects a parameter the endpoint does not know (a typo would otherwise be
 * silently ignored and the default used). */
static int ctl_check_params(struct ctl *c, const struct sim_http_request *src)
{
	char key[64], val[SIM_CONTROL_VAL_LEN], pat[70];
	size_t pos = 0;

	while (sim_http_query_next(src, &pos, key, sizeof(key), val, sizeof(val))) {
		snprintf(pat, sizeof(pat), ",%s,", key);
		if (!strstr(c->params, pat))
			return ctl_fail(c, "UNKNOWN_PARAMETER", "unknown parameter '%s'", key);
	}
	return 0;
}

/* The value of parameter key, from the query string or else the form body. */
static bool ctl_param(struct ctl *c, const char *key, char *val, size_t cap)
{
	return sim_http_query_get(c->req, key, val, cap) ||
	       sim_http_query_get(&c->form, key, val, cap);
}

/* An object of class cls named by the uuid in parameter key. With optional
 * set, an absent or empty parameter gives -1. */
static int ctl_object(struct ctl *c, const char *key, enum sim_class cls, bool optional,
		      int *index)
{
	char val[SIM_CONTROL_VAL_LEN];
	const struct sim_obj *o;

	*index = -1;
	if (!ctl_param(c, key, val, sizeof(val)) || !val[0]) {
		if (optional)
			return 0;
		return ctl_fail(c, "BAD_PARAMETER", "missing parameter '%s' (a %s uuid)", key,
				sim_class_name(cls));
	}
	o = sim_world_by_uuid(c->sim->world, cls, val);
	if (!o)
		return ctl_fail(c, "HANDLE_INVALID", "no %s with uuid '%s'", sim_class_name(cls),
				val);
	*index = o->index;
	return 0;
}

/* The pool named by parameter "pool", else the pool of the master asked. */
static int ctl_pool(struct ctl *c, int *pool)
{
	const struct sim_host *h = SIM_GET(c->sim->world, SIM_HOST, sim_host, c->req->listener);

	if (ctl_object(c, "pool", SIM_POOL, true, pool))
		return -1;
	if (*pool < 0 && h)
		*pool = h->pool;
	if (*pool < 0)
		return ctl_fail(c, "BAD_PARAMETER", "missing parameter 'pool' (a pool uuid)");
	return 0;
}

/* An integer parameter in [min, max]; def when absent. */
static int ctl_int(struct ctl *c, const char *key, int64_t min, int64_t max, int64_t def,
		   int64_t *out)
{
	char val[SIM_CONTROL_VAL_LEN];

	*out = def;
	if (!ctl_param(c, key, val, sizeof(val)))
		return 0;
	if (!xs_num_i64_from_slice(val, strlen(val), out) || *out < min || *out > max)
		return ctl_fail(c, "BAD_PARAMETER", "parameter '%s' must be an integer from %lld to %lld",
				key, (long long)min, (long long)max);
	return 0;
}

/* --- helpers of the answers --- */

static const char *ctl_uuid(const struct sim *sim, enum sim_class cls, int index)
{
	const struct sim_obj *o = index >= 0 ? sim_world_get(sim->world, cls, index) : NULL;

	return o ? o->uuid : NULL;
}

static void ctl_vm_answer(struct ctl *c, int vm)
{
	const struct sim_vm *v = SIM_GET(c->sim->world, SIM_VM, sim_vm, vm);

	sim_json_str(&c->j, "vm", v->o.uuid);
	sim_json_str(&c->j, "power_state", sim_power_name(v->power));
	sim_json_str(&c->j, "resident_on", ctl_uuid(c->sim, SIM_HOST, v->resident_on));
	sim_json_int(&c->j, "domid", v->domid);
}

/* The result rc of a world function: 0, or its XAPI error. (Call the
 * function first: code is only set once it has returned.) */
static int ctl_world_result(struct ctl *c, int rc, const char *code, const char *what)
{
	if (rc)
		return ctl_fail(c, code ? code : "INTERNAL_ERROR", "%s refused", what);
	return 0;
}

/* --- /sim/vm/... --- */

static int ctl_vm_start(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vm, host;

	if (ctl_object(c, "vm", SIM_VM, false, &vm) || ctl_object(c, "host", SIM_HOST, true, &host))
		return -1;
	rc = sim_vm_start(c->sim->world, vm, host, &code);
	if (ctl_world_result(c, rc, code, "VM.start"))
		return -1;
	ctl_vm_answer(c, vm);
	return 0;
}

static int ctl_vm_stop(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vm;

	if (ctl_object(c, "vm", SIM_VM, false, &vm))
		return -1;
	rc = sim_vm_stop(c->sim->world, vm, &code);
	if (ctl_world_result(c, rc, code, "VM.hard_shutdown"))
		return -1;
	ctl_vm_answer(c, vm);
	return 0;
}

static int ctl_vm_migrate(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vm, host;

	if (ctl_object(c, "vm", SIM_VM, false, &vm) || ctl_object(c, "host", SIM_HOST, false, &host))
		return -1;
	rc = sim_vm_migrate(c->sim->world, vm, host, &code);
	if (ctl_world_result(c, rc, code, "VM.pool_migrate"))
		return -1;
	ctl_vm_answer(c, vm);
	return 0;
}

static int ctl_vm_create(struct ctl *c)
{
	char name[SIM_NAME_LEN];
	const char *code = NULL;
	int rc;
	int pool, vm;

	if (ctl_pool(c, &pool))
		return -1;
	if (!ctl_param(c, "name", name, sizeof(name)))
		snprintf(name, sizeof(name), "sim-created");
	rc = sim_vm_create(c->sim->world, pool, name, &vm, &code);
	if (ctl_world_result(c, rc, code, "VM.create"))
		return -1;
	ctl_vm_answer(c, vm);
	sim_json_str(&c->j, "ref", SIM_GET(c->sim->world, SIM_VM, sim_vm, vm)->o.ref);
	return 0;
}

static int ctl_vm_destroy(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vm;

	if (ctl_object(c, "vm", SIM_VM, false, &vm))
		return -1;
	rc = sim_vm_destroy(c->sim->world, vm, &code);
	if (ctl_world_result(c, rc, code, "VM.destroy"))
		return -1;
	sim_json_str(&c->j, "vm", ctl_uuid(c->sim, SIM_VM, vm));
	return 0;
}

static int ctl_vm_add_vif(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	const struct sim_vif *f;
	int vm, vif;

	if (ctl_object(c, "vm", SIM_VM, false, &vm))
		return -1;
	rc = sim_vm_add_vif(c->sim->world, vm, &vif, &code);
	if (ctl_world_result(c, rc, code, "VIF.create"))
		return -1;
	f = SIM_GET(c->sim->world, SIM_VIF, sim_vif, vif);
	sim_json_str(&c->j, "vm", ctl_uuid(c->sim, SIM_VM, vm));
	sim_json_str(&c->j, "vif", f->o.uuid);
	sim_json_str(&c->j, "device", f->device);
	return 0;
}

static int ctl_vm_add_vbd(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	const struct sim_vbd *b;
	int vm, vbd;

	if (ctl_object(c, "vm", SIM_VM, false, &vm))
		return -1;
	rc = sim_vm_add_vbd(c->sim->world, vm, &vbd, &code);
	if (ctl_world_result(c, rc, code, "VBD.create"))
		return -1;
	b = SIM_GET(c->sim->world, SIM_VBD, sim_vbd, vbd);
	sim_json_str(&c->j, "vm", ctl_uuid(c->sim, SIM_VM, vm));
	sim_json_str(&c->j, "vbd", b->o.uuid);
	sim_json_str(&c->j, "device", b->device);
	sim_json_str(&c->j, "vdi", ctl_uuid(c->sim, SIM_VDI, b->vdi));
	return 0;
}

static int ctl_vif_destroy(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vif;

	if (ctl_object(c, "vif", SIM_VIF, false, &vif))
		return -1;
	rc = sim_vif_destroy(c->sim->world, vif, &code);
	if (ctl_world_result(c, rc, code, "VIF.destroy"))
		return -1;
	sim_json_str(&c->j, "vif", ctl_uuid(c->sim, SIM_VIF, vif));
	return 0;
}

static int ctl_vbd_destroy(struct ctl *c)
{
	const char *code = NULL;
	int rc;
	int vbd;

	if (ctl_object(c, "vbd", SIM_VBD, false, &vbd))
		return -1;
	rc = sim_vbd_destroy(c->sim->world, vbd, &code);
	if (ctl_world_result(c, rc, code, "VBD.destroy"))
		return -1;
	sim_json_str(&c->j, "vbd", ctl_uuid(c->sim, SIM_VBD, vbd));
	return 0;
}

/* --- /sim/host/... --- */

/* A host's liveness and faults, its uuid as member `key`. */
static void ctl_host_answer(struct ctl *c, const struct sim_host *h, const char *key)
{
	const struct sim_host_metrics *hm =
		SIM_GET(c->sim->world, SIM_HOST_METRICS, sim_host_metrics, h->metrics);

	sim_json_str(&c->j, key, h->o.uuid);
	sim_json_bool(&c->j, "live", hm && hm->live);
	sim_json_object(&c->j, "faults");
	sim_json_bool(&c->j, "down", h->faults.down);
	sim_json_uint(&c->j, "slow_ms", h->faults.slow_ms);
	sim_json_uint(&c->j, "pace_ms", h->faults.pace_ms);
	sim_json_uint(&c->j, "fail", h->faults.http500);
	sim_json_uint(&c->j, "truncate", h->faults.truncate);
	sim_json_uint(&c->j, "malformed", h->faults.malformed);
	sim_json_int(&c->j, "spoil_interval", h->faults.spoil_interval);
	sim_json_int(&c->j, "skew", h->faults.skew);
	sim_json_end(&c->j);
}

static int ctl_host(struct ctl *c, struct sim_host **h)
{
	int host;

	if (ctl_object(c, "host", SIM_HOST, false, &host))
		return -1;
	*h = SIM_GET(c->sim->world, SIM_HOST, sim_host, host);
	return 0;
}

static int ctl_host_down(struct ctl *c)
{
	struct sim_host *h;
	const char *code = NULL;
	int rc;

	if (ctl_host(c, &h))
		return -1;
	rc = sim_host_set_live(c->sim->world, h->o.index, false, &code);
	if (ctl_world_result(c, rc, code, "host down"))
		return -1;
	if (c->sim->http)
		sim_http_unlisten(c->sim->http, h->o.index);
	ctl_host_answer(c, h, "host");
	return 0;
}

static int ctl_host_up(struct ctl *c)
{
	struct sim_host *h;
	const char *code = NULL;
	int rc;
	char err[XS_ERR_LEN];

	if (ctl_host(c, &h))
		return -1;
	if (c->sim->http && !sim_http_listen_port(c->sim->http, h->o.index) &&
	    sim_http_listen(c->sim->http, h->o.index, h->address, c->sim->opt.port, err)) {
		c->status = 500;
		c->code = "LISTEN_FAILED";
		snprintf(c->msg, sizeof(c->msg), "%s", err);
		return -1;
	}
	rc = sim_host_set_live(c->sim->world, h->o.index, true, &code);
	if (ctl_world_result(c, rc, code, "host up"))
		return -1;
	ctl_host_answer(c, h, "host");
	return 0;
}

/* slow, pace: the host's fault in ms (parameter ms, 0..max, def when absent) set. */
static int ctl_host_ms(struct ctl *c, int64_t max, int64_t def, bool pace)
{
	struct sim_host *h;
	int64_t ms;

	if (ctl_host(c, &h) || ctl_int(c, "ms", 0, max, def, &ms))
		return -1;
	*(pace ? &h->faults.pace_ms : &h->faults.slow_ms) = (unsigned)ms;
	ctl_host_answer(c, h, "host");
	return 0;
}

static int ctl_host_slow(struct ctl *c)
{
	return ctl_host_ms(c, SIM_CONTROL_MAX_SLOW_MS, 1000, false);
}

static int ctl_host_pace(struct ctl *c)
{
	return ctl_host_ms(c, SIM_CONTROL_MAX_PACE_MS, 200, true);
}

enum ctl_counter { CTL_FAIL, CTL_TRUNCATE, CTL_MALFORMED };

/* fail, truncate, malformed: how many of the next requests or bodies to spoil. */
static int ctl_host_count(struct ctl *c, enum ctl_counter which)
{
	struct sim_host *h;
	int64_t n, iv = 0;

	if (ctl_host(c, &h) || ctl_int(c, "count", 0, SIM_CONTROL_MAX_COUNT, 1, &n) ||
	    (which != CTL_FAIL && ctl_int(c, "interval", 0, 86400, 0, &iv)))
		return -1;
	if (which != CTL_FAIL)
		h->faults.spoil_interval = iv;
	if (which == CTL_FAIL)
		h->faults.http500 = (unsigned)n;
	else if (which == CTL_TRUNCATE)
		h->faults.truncate = (unsigned)n;
	else
		h->faults.malformed = (unsigned)n;
	ctl_host_answer(c, h, "host");
	return 0;
}

static int ctl_host_fail(struct ctl *c)
{
	return ctl_host_count(c, CTL_FAIL);
}

static int ctl_host_truncate(struct ctl *c)
{
	return ctl_host_count(c, CTL_TRUNCATE);
}

static int ctl_host_malformed(struct ctl *c)
{
	return ctl_host_count(c, CTL_MALFORMED);
}

static int ctl_host_skew(struct ctl *c)
{
	struct sim_host *h;
	int64_t s;

	if (ctl_host(c, &h) ||
	    ctl_int(c, "seconds", -SIM_CONTROL_MAX_SKEW, SIM_CONTROL_MAX_SKEW, 0, &s))
		return -1;
	h->faults.skew = s;
	ctl_host_answer(c, h, "host");
	return 0;
}

/* --- pool, sessions, clock --- */

static int ctl_pool_master(struct ctl *c)
{
	struct sim_host *h;
	const char *code = NULL;
	int rc;

	if (ctl_host(c, &h))
		return -1;
	rc = sim_pool_set_master(c->sim->world, h->pool, h->o.index, &code);
	if (ctl_world_result(c, rc, code, "pool.designate_new_master"))
		return -1;
	sim_json_str(&c->j, "pool", ctl_uuid(c->sim, SIM_POOL, h->pool));
	sim_json_str(&c->j, "master", h->o.uuid);
	sim_json_str(&c->j, "address", h->address);
	return 0;
}

static int ctl_sessions_expire(struct ctl *c)
{
	size_t n = sim_sessions_count(c->sim->sessions);

	sim_sessions_expire_all(c->sim->sessions);
	sim_json_uint(&c->j, "expired", n);
	return 0;
}

static int ctl_clock_advance(struct ctl *c)
{
	char val[SIM_CONTROL_VAL_LEN];
	double s = SIM_RRD_STEP, now;

	if (ctl_param(c, "seconds", val, sizeof(val)) &&
	    (!xs_num_from_slice(val, strlen(val), &s) || !(s >= 0 && s <= SIM_CONTROL_MAX_ADVANCE)))
		return ctl_fail(c, "BAD_PARAMETER", "parameter 'seconds' must be a number from 0 to %.0f",
				SIM_CONTROL_MAX_ADVANCE);
	if (!sim_clock_advance(&c->sim->clock, s))
		return ctl_fail(c, "CLOCK_NOT_MANUAL",
				"the clock is real time (start xapi-sim with --manual-clock)");
	now = sim_clock_now(&c->sim->clock);
	c->sim->world->now = now;
	sim_rrd_model_advance(c->sim->model, (int64_t)now);
	sim_json_double(&c->j, "now", now);
	return 0;
}

/* --- /sim/events/... --- */

static void ctl_events_answer(struct ctl *c, int pool, size_t woken)
{
	unsigned lose;
	bool legacy;

	sim_rpc_event_faults(c->sim, pool, &lose, &legacy);
	sim_json_str(&c->j, "pool", ctl_uuid(c->sim, SIM_POOL, pool));
	sim_json_uint(&c->j, "woken", woken);
	sim_json_uint(&c->j, "lose", lose);
	sim_json_bool(&c->j, "legacy", legacy);
}

/* The next `count` event.from / event.next calls (waiting ones first) get EVENTS_LOST. */
static int ctl_events_lose(struct ctl *c)
{
	int pool;
	int64_t n;

	if (ctl_pool(c, &pool) || ctl_int(c, "count", 0, SIM_CONTROL_MAX_COUNT, 1, &n))
		return -1;
	ctl_events_answer(c, pool, sim_rpc_lose_events(c->sim, pool, (unsigned)n));
	return 0;
}

/* on=1: the pool's xapi has no event.inject / event.from (older than 6.0). */
static int ctl_events_legacy(struct ctl *c)
{
	int pool;
	int64_t on;

	if (ctl_pool(c, &pool) || ctl_int(c, "on", 0, 1, 1, &on))
		return -1;
	ctl_events_answer(c, pool, sim_rpc_set_legacy(c->sim, pool, on == 1));
	return 0;
}

/* on=1: the pool's xapi predates XenServer 6.2: a login with an originator
 * (4 params) answers MESSAGE_PARAMETER_COUNT_MISMATCH. */
static int ctl_pool_old_login(struct ctl *c)
{
	int pool;
	int64_t on;
	bool old;
	unsigned refused;

	if (ctl_pool(c, &pool) || ctl_int(c, "on", 0, 1, 1, &on))
		return -1;
	sim_rpc_set_old_login(c->sim, pool, on == 1);
	sim_rpc_login_faults(c->sim, pool, &old, &refused);
	sim_json_str(&c->j, "pool", ctl_uuid(c->sim, SIM_POOL, pool));
	sim_json_bool(&c->j, "old_login", old);
	sim_json_uint(&c->j, "refused_logins", refused);
	return 0;
}

/* list=a,b,...: the pool's logins take any of these passwords instead of
 * --password (empty: --password again); open sessions stay valid. */
static int ctl_pool_passwords(struct ctl *c)
{
	int pool;
	char list[1024] = "";

	if (ctl_pool(c, &pool))
		return -1;
	if (ctl_param(c, "list", list, sizeof(list)) && strlen(list) >= sizeof(list) - 1)
		return ctl_fail(c, "BAD_PARAMETER", "list: at most %zu bytes", sizeof(list) - 2);
	sim_json_str(&c->j, "pool", ctl_uuid(c->sim, SIM_POOL, pool));
	sim_json_uint(&c->j, "passwords", sim_rpc_set_passwords(c->sim, pool, list));
	return 0;
}

/* --- GET /sim/state --- */

struct ctl_counts {
	size_t total, running, halted, other, control_domains;
};

static void ctl_count_vms(const struct sim_world *w, int pool, struct ctl_counts *n)
{
	memset(n, 0, sizeof(*n));
	for (size_t i = 0; i < w->cls[SIM_VM].n; i++) {
		const struct sim_vm *v = w->cls[SIM_VM].items[i];

		if (v->o.deleted || v->pool != pool)
			continue;
		if (v->is_control_domain) {
			n->control_domains++;
			continue;
		}
		n->total++;
		if (v->power == SIM_RUNNING)
			n->running++;
		else if (v->power == SIM_HALTED)
			n->halted++;
		else
			n->other++;
	}
}

static size_t ctl_resident_guests(const struct sim_world *w, int host)
{
	size_t n = 0;

	for (size_t i = 0; i < w->cls[SIM_VM].n; i++) {
		const struct sim_vm *v = w->cls[SIM_VM].items[i];

		n += !v->o.deleted && !v->is_control_domain && v->resident_on == host;
	}
	return n;
}

static void ctl_state_host(struct ctl *c, const struct sim_pool *p, const struct sim_host *h)
{
	sim_json_object(&c->j, NULL);
	ctl_host_answer(c, h, "uuid");
	sim_json_str(&c->j, "name", h->name);
	sim_json_str(&c->j, "address", h->address);
	sim_json_bool(&c->j, "master", p->master == h->o.index);
	sim_json_bool(&c->j, "enabled", h->enabled);
	sim_json_uint(&c->j, "port", c->sim->http ? sim_http_listen_port(c->sim->http, h->o.index)
						  : 0);
	sim_json_double(&c->j, "now", sim_host_now(c->sim, h->o.index));
	sim_json_uint(&c->j, "vms_resident", ctl_resident_guests(c->sim->world, h->o.index));
	sim_json_end(&c->j);
}

static void ctl_state_vms(struct ctl *c, int pool)
{
	const struct sim_world *w = c->sim->world;

	sim_json_array(&c->j, "vm_list");
	for (size_t i = 0; i < w->cls[SIM_VM].n; i++) {
		const struct sim_vm *v = w->cls[SIM_VM].items[i];

		if (v->o.deleted || v->pool != pool || v->is_control_domain)
			continue;
		sim_json_object(&c->j, NULL);
		sim_json_str(&c->j, "uuid", v->o.uuid);
		sim_json_str(&c->j, "name", v->name);
		sim_json_str(&c->j, "power_state", sim_power_name(v->power));
		sim_json_str(&c->j, "resident_on", ctl_uuid(c->sim, SIM_HOST, v->resident_on));
		sim_json_end(&c->j);
	}
	sim_json_end(&c->j);
}

static void ctl_state_pool(struct ctl *c, const struct sim_pool *p, bool list_vms)
{
	const struct sim_host *m = SIM_GET(c->sim->world, SIM_HOST, sim_host, p->master);
	struct ctl_counts n;
	unsigned lose, refused;
	bool legacy, old_login;

	sim_json_object(&c->j, NULL);
	sim_json_str(&c->j, "uuid", p->o.uuid);
	sim_json_str(&c->j, "name", p->name);
	sim_json_str(&c->j, "master", m ? m->o.uuid : NULL);
	sim_json_str(&c->j, "master_address", m ? m->address : NULL);
	sim_json_array(&c->j, "hosts");
	for (size_t i = 0; i < p->nhosts; i++) {
		const struct sim_host *h = SIM_GET(c->sim->world, SIM_HOST, sim_host, p->hosts[i]);

		if (h && !h->o.deleted)
			ctl_state_host(c, p, h);
	}
	sim_json_end(&c->j);
	ctl_count_vms(c->sim->world, p->o.index, &n);
	sim_json_object(&c->j, "vms");
	sim_json_uint(&c->j, "total", n.total);
	sim_json_uint(&c->j, "running", n.running);
	sim_json_uint(&c->j, "halted", n.halted);
	sim_json_uint(&c->j, "other", n.other);
	sim_json_uint(&c->j, "control_domains", n.control_domains);
	sim_json_end(&c->j);
	sim_rpc_event_faults(c->sim, p->o.index, &lose, &legacy);
	sim_json_object(&c->j, "events");
	sim_json_uint(&c->j, "lose", lose);
	sim_json_bool(&c->j, "legacy", legacy);
	sim_json_end(&c->j);
	sim_rpc_login_faults(c->sim, p->o.index, &old_login, &refused);
	sim_json_object(&c->j, "login");
	sim_json_bool(&c->j, "old", old_login);
	sim_json_uint(&c->j, "refused", refused);
	sim_json_end(&c->j);
	if (list_vms)
		ctl_state_vms(c, p->o.index);
	sim_json_end(&c->j);
}

static int ctl_state(struct ctl *c)
{
	const struct sim_world *w = c->sim->world;
	int64_t vms;

	if (ctl_int(c, "vms", 0, 1, 0, &vms))
		return -1;
	sim_json_uint(&c->j, "generation", w->generation);
	sim_json_double(&c->j, "now", sim_clock_now(&c->sim->clock));
	sim_json_bool(&c->j, "manual_clock", c->sim->clock.manual);
	sim_json_str(&c->j, "xapi_version", c->sim->opt.version_text);
	sim_json_uint(&c->j, "sessions", c->sim->sessions ? sim_sessions_count(c->sim->sessions) : 0);
	sim_json_array(&c->j, "pools");
	for (size_t i = 0; i < w->cls[SIM_POOL].n; i++) {
		const struct sim_pool *p = w->cls[SIM_POOL].items[i];

		if (!p->o.deleted)
			ctl_state_pool(c, p, vms == 1);
	}
	sim_json_end(&c->j);
	return 0;
}

/* --- dispatch --- */

static const struct ctl_route ctl_routes[] = {
	{ "/sim/state", ",vms,", CTL_READ, ctl_state },
	{ "/sim/vm/start", ",vm,host,", CTL_WORLD, ctl_vm_start },
	{ "/sim/vm/stop", ",vm,", CTL_WORLD, ctl_vm_stop },
	{ "/sim/vm/migrate", ",vm,host,", CTL_WORLD, ctl_vm_migrate },
	{ "/sim/vm/create", ",pool,name,", CTL_WORLD, ctl_vm_create },
	{ "/sim/vm/destroy", ",vm,", CTL_WORLD, ctl_vm_destroy },
	{ "/sim/vm/add_vif", ",vm,", CTL_WORLD, ctl_vm_add_vif },
	{ "/sim/vm/add_vbd", ",vm,", CTL_WORLD, ctl_vm_add_vbd },
	{ "/sim/vif/destroy", ",vif,", CTL_WORLD, ctl_vif_destroy },
	{ "/sim/vbd/destroy", ",vbd,", CTL_WORLD, ctl_vbd_destroy },
	{ "/sim/host/down", ",host,", CTL_WORLD, ctl_host_down },
	{ "/sim/host/up", ",host,", CTL_WORLD, ctl_host_up },
	{ "/sim/host/slow", ",host,ms,", CTL_FAULT, ctl_host_slow },
	{ "/sim/host/pace", ",host,ms,", CTL_FAULT, ctl_host_pace },
	{ "/sim/host/fail", ",host,count,", CTL_FAULT, ctl_host_fail },
	{ "/sim/host/truncate", ",host,count,interval,", CTL_FAULT, ctl_host_truncate },
	{ "/sim/host/malformed", ",host,count,interval,", CTL_FAULT, ctl_host_malformed },
	{ "/sim/host/skew", ",host,seconds,", CTL_FAULT, ctl_host_skew },
	{ "/sim/pool/master", ",host,", CTL_WORLD, ctl_pool_master },
	{ "/sim/pool/old_login", ",pool,on,", CTL_FAULT, ctl_pool_old_login },
	{ "/sim/pool/passwords", ",pool,list,", CTL_FAULT, ctl_pool_passwords },
	{ "/sim/sessions/expire", ",", CTL_FAULT, ctl_sessions_expire },
	{ "/sim/events/lose", ",pool,count,", CTL_FAULT, ctl_events_lose },
	{ "/sim/events/legacy", ",pool,on,", CTL_FAULT, ctl_events_legacy },
	{ "/sim/clock/advance", ",seconds,", CTL_FAULT, ctl_clock_advance },
};

static const struct ctl_route *ctl_find(struct sim_http_slice path)
{
	for (size_t i = 0; i < sizeof(ctl_routes) / sizeof(ctl_routes[0]); i++) {
		size_t n = strlen(ctl_routes[i].path);

		if (path.len == n && !memcmp(path.ptr, ctl_routes[i].path, n))
			return &ctl_routes[i];
	}
	return NULL;
}

static bool ctl_method_is(const struct sim_http_request *req, const char *m)
{
	size_t n = strlen(m);

	return req->method.len == n && !memcmp(req->method.ptr, m, n);
}

/* Checks the method and parameters, then runs the endpoint. */
static int ctl_run(struct ctl *c, const struct ctl_route *r)
{
	bool read = r->kind == CTL_READ;
	double now;

	if (read ? !(ctl_method_is(c->req, "GET") || ctl_method_is(c->req, "HEAD"))
		 : !ctl_method_is(c->req, "POST")) {
		ctl_fail(c, "METHOD_NOT_ALLOWED", "%s wants %s", r->path, read ? "GET" : "POST");
		c->status = 405;
		return -1;
	}
	c->params = r->params;
	if (ctl_check_params(c, c->req) || ctl_check_params(c, &c->form))
		return -1;
	if (r->kind == CTL_WORLD) {
		now = sim_clock_now(&c->sim->clock);
		c->sim->world->now = now;
		if (c->sim->model)
			sim_rrd_model_advance(c->sim->model, (int64_t)now);
	}
	if (r->fn(c))
		return -1;
	if (r->kind == CTL_WORLD) {
		if (c->sim->model)
			sim_rrd_model_sync(c->sim->model);
		sim_rpc_notify(c->sim);
	}
	return 0;
}

/* The error answer, replacing whatever the endpoint had started to write. */
static void ctl_error(struct ctl *c, struct sim_http_response *res)
{
	xs_buf_reset(&res->body);
	sim_json_init(&c->j, &res->body);
	sim_json_object(&c->j, NULL);
	sim_json_bool(&c->j, "ok", false);
	sim_json_str(&c->j, "error", c->code);
	sim_json_str(&c->j, "message", c->msg);
	sim_json_end(&c->j);
	res->status = c->status;
	if (sim_json_finish(&c->j))
		res->status = 500;
}

void sim_control_handle(struct sim *sim, const struct sim_http_request *req,
			struct sim_http_response *res)
{
	const struct ctl_route *r = ctl_find(req->path);
	struct ctl c;

	memset(&c, 0, sizeof(c));
	c.sim = sim;
	c.req = req;
	c.form.query = req->body; /* a form body reads like a query string */
	if (xs_buf_append_str(&res->headers, "Content-Type: application/json\r\n")) {
		res->status = 500;
		return;
	}
	sim_json_init(&c.j, &res->body);
	sim_json_object(&c.j, NULL);
	sim_json_bool(&c.j, "ok", true);
	if (!r) {
		ctl_fail(&c, "NOT_FOUND", "no control endpoint %.*s", (int)req->path.len,
			 req->path.ptr);
		c.status = 404;
	} else if (!ctl_run(&c, r)) {
		sim_json_end(&c.j);
		if (sim_json_finish(&c.j)) {
			ctl_fail(&c, "INTERNAL_ERROR", "answer too large");
			c.status = 500;
		}
	}
	if (c.code)
		ctl_error(&c, res);
	if (xs_buf_append(&res->body, "\n", 1))
		res->status = 500;
}
