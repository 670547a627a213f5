/*
 * Tests of the control interface (sim/control.c), the router (sim/route.c),
 * sim_host_now (sim/sim.c) and the JSON writer (sim/json_out.c).
 *
 * struct sim is put together by hand: a small world, its RRD model, sessions,
 * a manual clock, and a real HTTP server whose listeners are bound (so host
 * down/up can be seen as refused / accepted connections) but whose loop never
 * runs: requests are handed to sim_route() directly. The RPC and RRD handlers
 * are stubs here; sim_rpc_notify counts its calls, the event faults
 * (sim_rpc_lose_events / sim_rpc_set_legacy) are kept per pool by stubs that
 * pretend one call of each pool is waiting, and the login fault
 * (sim_rpc_set_old_login) by a stub that reports 5 refused logins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../sim/sim.h"
#include "../../../sim/json_out.h"
#include "test.h"

#define T_START 1700000000.0
#define T_ADDR_BASE 77

static int notified;

void sim_rpc_notify(struct sim *sim)
{
	(void)sim;
	notified++;
}

/* The event faults as the stubs below keep them, per pool. */
static unsigned t_lose[4];
static bool t_legacy[4];
static int t_fault_calls;

size_t sim_rpc_lose_events(struct sim *sim, int pool, unsigned count)
{
	(void)sim;
	t_fault_calls++;
	if (pool < 0 || pool >= 4)
		return 0;
	t_lose[pool] = count ? count - 1 : 0; /* one waiting call took the first */
	return count ? 1 : 0;
}

size_t sim_rpc_set_legacy(struct sim *sim, int pool, bool on)
{
	(void)sim;
	t_fault_calls++;
	if (pool < 0 || pool >= 4)
		return 0;
	t_legacy[pool] = on;
	return on ? 1 : 0;
}

void sim_rpc_event_faults(const struct sim *sim, int pool, unsigned *lose, bool *legacy)
{
	(void)sim;
	*lose = pool >= 0 && pool < 4 ? t_lose[pool] : 0;
	*legacy = pool >= 0 && pool < 4 && t_legacy[pool];
}

static bool t_old_login[4];

void sim_rpc_set_old_login(struct sim *sim, int pool, bool on)
{
	(void)sim;
	t_fault_calls++;
	if (pool >= 0 && pool < 4)
		t_old_login[pool] = on;
}

void sim_rpc_login_faults(const struct sim *sim, int pool, bool *old_login, unsigned *refused)
{
	(void)sim;
	*old_login = pool >= 0 && pool < 4 && t_old_login[pool];
	*refused = 5;
}

static char t_passwords[4][64];

size_t sim_rpc_set_passwords(struct sim *sim, int pool, const char *list)
{
	(void)sim;
	t_fault_calls++;
	if (pool < 0 || pool >= 4)
		return 0;
	snprintf(t_passwords[pool], sizeof(t_passwords[pool]), "%s", list ? list : "");
	return 3;
}

void sim_rpc_handle(struct sim *sim, const struct sim_http_request *req,
		    struct sim_http_response *res)
{
	(void)sim;
	(void)req;
	if (xs_buf_append_str(&res->body, "rpc"))
		res->status = 500;
}

void sim_rrd_http_handle(struct sim *sim, const struct sim_http_request *req,
			 struct sim_http_response *res)
{
	(void)sim;
	(void)req;
	if (xs_buf_append_str(&res->body, "rrd"))
		res->status = 500;
}

struct t {
	struct sim sim;
	struct sim_http_response res;
	char body[64 * 1024];   /* the last answer, NUL-terminated */
};

static struct t *t_new(bool manual)
{
	struct t *t = calloc(1, sizeof(*t));
	struct sim_world_params wp = { .pools = 2, .hosts_per_pool = 2, .vms_per_host = 4,
				       .seed = 7, .addr_base = T_ADDR_BASE, .now = T_START };
	char err[XS_ERR_LEN];
	struct sim *s;

	if (!t)
		abort();
	s = &t->sim;
	s->opt.pools = 2;
	s->opt.hosts_per_pool = 2;
	s->opt.vms_per_host = 4;
	snprintf(s->opt.version_text, sizeof(s->opt.version_text), "25.6.0");
	sim_clock_init(&s->clock, manual, T_START);
	s->world = sim_world_new(&wp);
	s->model = sim_rrd_model_new(s->world, (int64_t)T_START, 1);
	s->sessions = sim_sessions_new(7);
	s->loop = xs_evloop_new();
	s->http = sim_http_server_new(s->loop, sim_route, s, NULL, NULL, err);
	if (!s->loop || !s->http)
		abort();
	for (int i = 0; i < (int)sim_world_count(s->world, SIM_HOST); i++) {
		const struct sim_host *h = SIM_GET(s->world, SIM_HOST, sim_host, i);

		if (sim_http_listen(s->http, i, h->address, s->opt.port, err)) {
			fprintf(stderr, "listen %s: %s\n", h->address, err);
			abort();
		}
		s->opt.port = sim_http_listen_port(s->http, i);
	}
	return t;
}

static void t_free(struct t *t)
{
	sim_http_server_free(&t->sim.http);
	xs_evloop_free(&t->sim.loop);
	sim_sessions_free(&t->sim.sessions);
	sim_rrd_model_free(&t->sim.model);
	sim_world_free(&t->sim.world);
	free(t);
}

static struct sim_http_slice t_slice(const char *s)
{
	struct sim_http_slice v = { s, strlen(s) };

	return v;
}

/* Sends one request to host `host` through sim_route(); returns the status,
 * the body is in t->body and the response in t->res. */
static int t_call(struct t *t, int host, const char *method, const char *path, const char *query,
		  const char *body)
{
	struct sim_http_request req;

	memset(&req, 0, sizeof(req));
	req.method = t_slice(method);
	req.path = t_slice(path);
	req.query = t_slice(query ? query : "");
	req.body = t_slice(body ? body : "");
	req.listener = host;
	req.minor_version = 1;
	xs_buf_free(&t->res.headers);
	xs_buf_free(&t->res.body);
	memset(&t->res, 0, sizeof(t->res));
	t->res.status = 200;
	xs_buf_init(&t->res.headers, SIM_HTTP_MAX_HEAD);
	xs_buf_init(&t->res.body, SIM_HTTP_MAX_RESPONSE);
	sim_route(&t->sim, &req, &t->res);
	snprintf(t->body, sizeof(t->body), "%s", t->res.body.data ? t->res.body.data : "");
	xs_buf_free(&t->res.headers);
	xs_buf_free(&t->res.body);
	return t->res.status;
}

/* POST path?fmt... on the master of pool 0 (host 0 unless moved). */
__attribute__((format(printf, 4, 5))) static int t_post(struct t *t, int host, const char *path,
							 const char *fmt, ...)
{
	char q[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	return t_call(t, host, "POST", path, q, NULL);
}

static struct sim_vm *t_vm(struct t *t, int i)
{
	return SIM_GET(t->sim.world, SIM_VM, sim_vm, i);
}

static struct sim_host *t_host(struct t *t, int i)
{
	return SIM_GET(t->sim.world, SIM_HOST, sim_host, i);
}

/* The first guest VM of pool `pool` in power state p, or -1. */
static int t_find_vm(struct t *t, int pool, enum sim_power p)
{
	for (size_t i = 0; i < sim_world_count(t->sim.world, SIM_VM); i++) {
		const struct sim_vm *v = t_vm(t, (int)i);

		if (!v->o.deleted && !v->is_control_domain && v->pool == pool && v->power == p)
			return (int)i;
	}
	return -1;
}

static bool t_has(const struct t *t, const char *needle)
{
	return strstr(t->body, needle) != NULL;
}

/* Whether a TCP connect to addr:port succeeds. */
static bool t_connects(const char *addr, uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void test_state(void)
{
	struct t *t = t_new(true);
	const struct sim_pool *p0 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 0);
	const struct sim_pool *p1 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 1);
	char want[128];
	int vm = t_find_vm(t, 0, SIM_RUNNING);

	fail_unless(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 200, "state: %s", t->body);
	ok(t_has(t, "\"ok\":true"), "ok member: %s", t->body);
	ok(t_has(t, p0->o.uuid) && t_has(t, p1->o.uuid), "both pools listed");
	ok(t_has(t, "\"generation\":"), "generation");
	ok(t_has(t, "\"manual_clock\":true"), "manual clock shown");
	snprintf(want, sizeof(want), "\"address\":\"127.%d.1.2\"", T_ADDR_BASE);
	ok(t_has(t, want), "host address: %s", want);
	ok(t_has(t, "\"running\":") && t_has(t, "\"live\":true"), "counts and live");
	ok(!t_has(t, "vm_list"), "no VM list by default");
	ok(t->body[strlen(t->body) - 1] == '\n', "answer ends with a newline");
	fail_unless(t_call(t, 2, "GET", "/sim/state", "vms=1", NULL) == 200, "state on pool 1");
	ok(t_has(t, "vm_list") && t_has(t, t_vm(t, vm)->o.uuid), "VM list with vms=1");
	ok(t_call(t, 0, "POST", "/sim/state", NULL, NULL) == 405, "POST state is 405");
	ok(t_has(t, "METHOD_NOT_ALLOWED"), "405 code: %s", t->body);
	ok(t_call(t, 0, "GET", "/sim/state", "vms=2", NULL) == 400, "vms=2 refused");
	t_free(t);
}

static void test_routing(void)
{
	struct t *t = t_new(true);

	ok(t_call(t, 1, "GET", "/sim/state", NULL, NULL) == 404, "no control on a member");
	ok(t_call(t, 0, "GET", "/sim/nothing", NULL, NULL) == 404, "unknown endpoint 404");
	ok(t_has(t, "NOT_FOUND"), "404 code: %s", t->body);
	ok(t_call(t, 1, "POST", "/", NULL, "x") == 200 && !strcmp(t->body, "rpc"), "POST / to RPC");
	ok(t_call(t, 1, "POST", "/RPC2", NULL, "x") == 200 && !strcmp(t->body, "rpc"), "/RPC2");
	ok(t_call(t, 0, "POST", "/jsonrpc", NULL, "x") == 200 && !strcmp(t->body, "rpc"), "/jsonrpc");
	ok(t_call(t, 1, "GET", "/", NULL, NULL) == 404, "GET / is not RPC");
	ok(t_call(t, 1, "GET", "/rrd_updates", "start=0", NULL) == 200 && !strcmp(t->body, "rrd"),
	   "/rrd_updates");
	ok(t_call(t, 1, "GET", "/host_rrd", NULL, NULL) == 200 && !strcmp(t->body, "rrd"), "/host_rrd");
	ok(t_call(t, 1, "GET", "/vm_rrd", NULL, NULL) == 200 && !strcmp(t->body, "rrd"), "/vm_rrd");
	ok(t_call(t, 1, "GET", "/sr_rrd", NULL, NULL) == 200 && !strcmp(t->body, "rrd"), "/sr_rrd");
	ok(t_call(t, 1, "GET", "/other", NULL, NULL) == 404, "other paths 404");
	ok(t_call(t, 0, "GET", "/simx", NULL, NULL) == 404 && !t_has(t, "\"ok\""),
	   "/simx is not the control interface");
	t_free(t);
}

static void test_vm_lifecycle(void)
{
	struct t *t = t_new(true);
	int vm = t_find_vm(t, 0, SIM_RUNNING);
	const char *uuid, *h1 = t_host(t, 1)->o.uuid, *h0 = t_host(t, 0)->o.uuid;
	uint64_t gen = t->sim.world->generation;
	int n = notified;

	fail_unless(vm >= 0, "a running VM in pool 0");
	uuid = t_vm(t, vm)->o.uuid;
	fail_unless(t_post(t, 0, "/sim/vm/stop", "vm=%s", uuid) == 200, "stop: %s", t->body);
	ok(t_vm(t, vm)->power == SIM_HALTED, "halted");
	ok(t_has(t, "\"power_state\":\"Halted\"") && t_has(t, "\"resident_on\":null"),
	   "answer: %s", t->body);
	ok(t->sim.world->generation > gen, "events recorded");
	ok(notified == n + 1, "notified once");
	ok(t_post(t, 0, "/sim/vm/stop", "vm=%s", uuid) == 400, "stopping again is refused");
	ok(t_has(t, "\"error\":\"VM_BAD_POWER_STATE\""), "code: %s", t->body);
	ok(notified == n + 1, "no notify on failure");

	fail_unless(t_post(t, 0, "/sim/vm/start", "vm=%s&host=%s", uuid, h1) == 200, "start: %s",
		    t->body);
	ok(t_vm(t, vm)->power == SIM_RUNNING && t_vm(t, vm)->resident_on == 1, "running on host 1");
	ok(t_has(t, h1), "answer names the host");
	fail_unless(t_post(t, 0, "/sim/vm/migrate", "vm=%s&host=%s", uuid, h0) == 200, "migrate: %s",
		    t->body);
	ok(t_vm(t, vm)->resident_on == 0, "migrated to host 0");
	ok(t_post(t, 0, "/sim/vm/migrate", "vm=%s", uuid) == 400 && t_has(t, "BAD_PARAMETER"),
	   "migrate needs a host: %s", t->body);
	ok(t_post(t, 0, "/sim/vm/migrate", "vm=%s&host=%s", uuid, t_host(t, 2)->o.uuid) == 400 &&
		   t_has(t, "HANDLE_INVALID"),
	   "host of another pool: %s", t->body);
	ok(t_post(t, 0, "/sim/vm/stop", "%s", "") == 400 && t_has(t, "missing parameter 'vm'"),
	   "stop without vm: %s", t->body);
	ok(t_post(t, 0, "/sim/vm/stop", "vm=nope") == 400 && t_has(t, "HANDLE_INVALID"),
	   "unknown uuid: %s", t->body);
	ok(t_post(t, 0, "/sim/vm/stop", "uuid=%s", uuid) == 400 && t_has(t, "UNKNOWN_PARAMETER"),
	   "unknown parameter: %s", t->body);
	ok(t_call(t, 0, "GET", "/sim/vm/stop", NULL, NULL) == 405, "GET on an action is 405");
	ok(t_post(t, 0, "/sim/vm/stop", "vm=%s", t_vm(t, t_host(t, 0)->control_domain)->o.uuid) ==
		   400 && t_has(t, "OPERATION_NOT_ALLOWED"),
	   "dom0 cannot be stopped: %s", t->body);
	/* start with no host: the affinity or the first host that takes it */
	fail_unless(t_post(t, 0, "/sim/vm/stop", "vm=%s", uuid) == 200, "stop again");
	ok(t_post(t, 0, "/sim/vm/start", "vm=%s", uuid) == 200 && t_vm(t, vm)->resident_on >= 0,
	   "start without host: %s", t->body);
	t_free(t);
}

static void test_vm_devices(void)
{
	struct t *t = t_new(true);
	size_t nvms = sim_world_count(t->sim.world, SIM_VM);
	struct sim_vm *v;
	char uuid[SIM_UUID_LEN], vif[SIM_UUID_LEN], vbd[SIM_UUID_LEN];
	const struct sim_obj *o;

	fail_unless(t_call(t, 2, "POST", "/sim/vm/create", NULL, "name=created+one") == 200,
		    "create: %s", t->body);
	fail_unless(sim_world_count(t->sim.world, SIM_VM) == nvms + 1, "one more VM");
	v = t_vm(t, (int)nvms);
	ok(v->pool == 1, "created in the pool of the master asked");
	ok(!strcmp(v->name, "created one"), "form body name decoded: %s", v->name);
	ok(v->power == SIM_HALTED && t_has(t, v->o.uuid) && t_has(t, v->o.ref), "answer: %s",
	   t->body);
	snprintf(uuid, sizeof(uuid), "%s", v->o.uuid);

	fail_unless(t_post(t, 0, "/sim/vm/add_vif", "vm=%s", uuid) == 200, "add_vif: %s", t->body);
	ok(t_has(t, "\"device\":\"0\""), "first VIF is device 0: %s", t->body);
	ok(v->nvifs == 1, "VM has a VIF");
	snprintf(vif, sizeof(vif), "%s", SIM_GET(t->sim.world, SIM_VIF, sim_vif, v->vifs[0])->o.uuid);
	fail_unless(t_post(t, 0, "/sim/vm/add_vbd", "vm=%s", uuid) == 200, "add_vbd: %s", t->body);
	ok(t_has(t, "\"device\":\"xvda\"") && t_has(t, "\"vdi\":\""), "first VBD xvda: %s", t->body);
	ok(v->nvbds == 1, "VM has a VBD");
	snprintf(vbd, sizeof(vbd), "%s", SIM_GET(t->sim.world, SIM_VBD, sim_vbd, v->vbds[0])->o.uuid);
	ok(sim_rrd_model_get(t->sim.model, SIM_VM, (int)nvms) == NULL, "halted new VM has no RRD");

	fail_unless(t_post(t, 0, "/sim/vm/start", "vm=%s", uuid) == 200, "start new VM: %s",
		    t->body);
	ok(sim_rrd_model_get(t->sim.model, SIM_VM, (int)nvms) != NULL, "model synced: VM has an RRD");
	ok(t_post(t, 0, "/sim/vm/destroy", "vm=%s", uuid) == 400 && t_has(t, "VM_BAD_POWER_STATE"),
	   "running VM cannot be destroyed");
	fail_unless(t_post(t, 0, "/sim/vm/stop", "vm=%s", uuid) == 200, "stop");

	fail_unless(t_post(t, 0, "/sim/vif/destroy", "vif=%s", vif) == 200, "vif destroy: %s",
		    t->body);
	o = sim_world_by_uuid(t->sim.world, SIM_VIF, vif);
	ok(!o && v->nvifs == 0, "VIF gone");
	fail_unless(t_post(t, 0, "/sim/vbd/destroy", "vbd=%s", vbd) == 200, "vbd destroy: %s",
		    t->body);
	ok(v->nvbds == 0, "VBD gone");
	fail_unless(t_post(t, 0, "/sim/vm/destroy", "vm=%s", uuid) == 200, "destroy: %s", t->body);
	ok(v->o.deleted && !sim_world_by_uuid(t->sim.world, SIM_VM, uuid), "VM deleted");
	ok(t_post(t, 0, "/sim/vm/destroy", "vm=%s", uuid) == 400 && t_has(t, "HANDLE_INVALID"),
	   "destroyed VM is unknown");
	ok(t_post(t, 0, "/sim/vm/create", "pool=%s",
		  SIM_GET(t->sim.world, SIM_POOL, sim_pool, 0)->o.uuid) == 200 &&
		   t_vm(t, (int)nvms + 1)->pool == 0,
	   "create in a named pool");
	t_free(t);
}

static void test_host_faults(void)
{
	struct t *t = t_new(true);
	struct sim_host *h = t_host(t, 1);
	char form[128];

	fail_unless(t_post(t, 0, "/sim/host/slow", "host=%s&ms=250", h->o.uuid) == 200, "slow: %s",
		    t->body);
	ok(h->faults.slow_ms == 250 && t_has(t, "\"slow_ms\":250"), "slow_ms set: %s", t->body);
	fail_unless(t_post(t, 0, "/sim/host/fail", "host=%s&count=2", h->o.uuid) == 200, "fail");
	ok(h->faults.http500 == 2, "http500 set");
	ok(t_call(t, 1, "GET", "/rrd_updates", NULL, NULL) == 500 && t->res.delay_ms == 250,
	   "first request fails, slowly");
	ok(t_call(t, 1, "POST", "/", NULL, "x") == 500, "second request fails");
	ok(t_call(t, 1, "POST", "/", NULL, "x") == 200 && t->res.delay_ms == 250,
	   "third succeeds, slowly");
	ok(h->faults.http500 == 0, "counter used up");
	ok(t_call(t, 0, "POST", "/", NULL, "x") == 200 && t->res.delay_ms == 0, "host 0 is fast");
	fail_unless(t_post(t, 0, "/sim/host/pace", "host=%s&ms=50", t_host(t, 0)->o.uuid) == 200,
		    "pace: %s", t->body);
	ok(t_host(t, 0)->faults.pace_ms == 50 && t_call(t, 0, "POST", "/", NULL, "x") == 200 &&
		   t->res.pace_ms == 50,
	   "pace: every answer paced");
	ok(t_post(t, 0, "/sim/host/pace", "host=%s&ms=600001", t_host(t, 0)->o.uuid) != 200 &&
		   t_host(t, 0)->faults.pace_ms == 50,
	   "pace over a minute refused, unchanged");
	fail_unless(t_post(t, 0, "/sim/host/pace", "host=%s&ms=0", t_host(t, 0)->o.uuid) == 200,
		    "pace off");
	ok(t_call(t, 0, "POST", "/", NULL, "x") == 200 && t->res.pace_ms == 0, "pace off: not paced");

	fail_unless(t_post(t, 0, "/sim/host/fail", "host=%s", t_host(t, 0)->o.uuid) == 200, "fail 0");
	ok(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 200, "control is exempt from faults");
	ok(t_host(t, 0)->faults.http500 == 1, "control did not use the counter");

	snprintf(form, sizeof(form), "host=%s&count=3", h->o.uuid);
	fail_unless(t_call(t, 0, "POST", "/sim/host/truncate", NULL, form) == 200, "truncate (form)");
	ok(h->faults.truncate == 3, "truncate set from a form body");
	fail_unless(t_post(t, 0, "/sim/host/malformed", "host=%s", h->o.uuid) == 200, "malformed");
	ok(h->faults.malformed == 1 && h->faults.spoil_interval == 0,
	   "malformed defaults to 1, any interval");
	fail_unless(t_post(t, 0, "/sim/host/malformed", "host=%s&count=2&interval=60", h->o.uuid) ==
			    200,
		    "malformed, interval 60: %s", t->body);
	ok(h->faults.malformed == 2 && h->faults.spoil_interval == 60, "malformed with an interval");
	ok(t_post(t, 0, "/sim/host/truncate", "host=%s&interval=-5", h->o.uuid) != 200 &&
		   h->faults.spoil_interval == 60 && h->faults.truncate == 3,
	   "a bad interval changes nothing: %s", t->body);
	fail_unless(t_post(t, 0, "/sim/host/malformed", "host=%s", h->o.uuid) == 200, "malformed");
	ok(h->faults.spoil_interval == 0, "interval back to any");
	fail_unless(t_post(t, 0, "/sim/host/skew", "host=%s&seconds=-30", h->o.uuid) == 200,
		    "skew: %s", t->body);
	ok(h->faults.skew == -30, "skew set");
	ok(sim_host_now(&t->sim, 1) == T_START - 30 && sim_host_now(&t->sim, 0) == T_START,
	   "sim_host_now adds the skew");
	ok(t_post(t, 0, "/sim/host/slow", "host=%s&ms=abc", h->o.uuid) == 400 &&
		   t_has(t, "'ms' must be an integer"),
	   "bad ms: %s", t->body);
	ok(t_post(t, 0, "/sim/host/fail", "host=%s&count=-1", h->o.uuid) == 400, "negative count");
	ok(t_post(t, 0, "/sim/host/skew", "host=%s&seconds=1e99", h->o.uuid) == 400, "huge skew");
	ok(h->faults.skew == -30, "a refused request changes nothing");
	ok(t_post(t, 0, "/sim/host/slow", "ms=5") == 400, "slow needs a host");
	fail_unless(t_post(t, 0, "/sim/host/slow", "host=%s&ms=0", h->o.uuid) == 200, "slow off");
	ok(t_call(t, 1, "POST", "/", NULL, "x") == 200 && t->res.delay_ms == 0, "fast again");
	t_free(t);
}

static void test_host_down_up(void)
{
	struct t *t = t_new(true);
	struct sim_host *h = t_host(t, 1);
	const struct sim_host_metrics *hm =
		SIM_GET(t->sim.world, SIM_HOST_METRICS, sim_host_metrics, h->metrics);
	uint16_t port = t->sim.opt.port;
	int n = notified;

	ok(t_connects(h->address, port), "host 1 listens at first");
	fail_unless(t_post(t, 0, "/sim/host/down", "host=%s", h->o.uuid) == 200, "down: %s",
		    t->body);
	ok(!hm->live && h->faults.down, "not live, down");
	ok(t_has(t, "\"live\":false") && t_has(t, "\"down\":true"), "answer: %s", t->body);
	ok(sim_http_listen_port(t->sim.http, 1) == 0, "unlistened");
	ok(!t_connects(h->address, port), "connections refused");
	ok(notified == n + 1, "notified");
	ok(t_post(t, 0, "/sim/pool/master", "host=%s", h->o.uuid) == 400 &&
		   t_has(t, "HOST_OFFLINE"),
	   "a down host cannot become master: %s", t->body);
	ok(t_post(t, 0, "/sim/vm/start", "vm=%s&host=%s",
		  t_vm(t, t_find_vm(t, 0, SIM_HALTED) >= 0 ? t_find_vm(t, 0, SIM_HALTED) : 0)->o.uuid,
		  h->o.uuid) == 400,
	   "nothing starts on a down host: %s", t->body);
	fail_unless(t_post(t, 0, "/sim/host/up", "host=%s", h->o.uuid) == 200, "up: %s", t->body);
	ok(hm->live && !h->faults.down, "live again");
	ok(sim_http_listen_port(t->sim.http, 1) == port, "listening on the same port");
	ok(t_connects(h->address, port), "connections accepted");
	ok(t_post(t, 0, "/sim/host/up", "host=%s", h->o.uuid) == 200, "up twice is fine");
	t_free(t);
}

static void test_pool_master(void)
{
	struct t *t = t_new(true);
	const struct sim_pool *p0 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 0);

	fail_unless(t_post(t, 0, "/sim/pool/master", "host=%s", t_host(t, 1)->o.uuid) == 200,
		    "master: %s", t->body);
	ok(p0->master == 1, "host 1 is master");
	ok(t_has(t, t_host(t, 1)->address), "answer has the address: %s", t->body);
	ok(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 404, "host 0 is no longer master");
	ok(t_call(t, 1, "GET", "/sim/state", NULL, NULL) == 200, "host 1 answers /sim/");
	ok(t_post(t, 2, "/sim/pool/master", "host=%s", t_host(t, 0)->o.uuid) == 200 &&
		   p0->master == 0,
	   "any master controls every pool");
	t_free(t);
}

static void test_event_faults(void)
{
	struct t *t = t_new(true);
	const struct sim_pool *p0 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 0);
	const struct sim_pool *p1 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 1);
	int n = notified, calls;

	memset(t_lose, 0, sizeof(t_lose));
	memset(t_legacy, 0, sizeof(t_legacy));
	fail_unless(t_post(t, 0, "/sim/events/lose", "%s", "") == 200, "lose: %s", t->body);
	ok(t_has(t, p0->o.uuid) && t_has(t, "\"woken\":1") && t_has(t, "\"lose\":0") &&
		   t_has(t, "\"legacy\":false"),
	   "count 1 on the master's pool, taken by the waiting call: %s", t->body);
	fail_unless(t_post(t, 0, "/sim/events/lose", "pool=%s&count=3", p1->o.uuid) == 200,
		    "lose on pool 1: %s", t->body);
	ok(t_lose[1] == 2 && t_has(t, p1->o.uuid) && t_has(t, "\"lose\":2"),
	   "pool 1: 2 left after the waiting call: %s", t->body);
	ok(notified == n, "a fault is no world change: nothing notified");
	ok(t_call(t, 0, "POST", "/sim/events/lose", NULL, "count=0") == 200 && t_lose[0] == 0 &&
		   t_has(t, "\"woken\":0"),
	   "count=0 (form body) clears: %s", t->body);
	fail_unless(t_post(t, 2, "/sim/events/legacy", "%s", "") == 200, "legacy: %s", t->body);
	ok(t_legacy[1] && !t_legacy[0] && t_has(t, "\"legacy\":true") && t_has(t, p1->o.uuid),
	   "on by default, on the pool of the master asked (pool 1): %s", t->body);
	fail_unless(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 200, "state");
	ok(t_has(t, "\"events\":{\"lose\":0,\"legacy\":false}") &&
		   t_has(t, "\"events\":{\"lose\":2,\"legacy\":true}"),
	   "state shows each pool's event faults: %s", t->body);
	ok(t_post(t, 0, "/sim/events/legacy", "pool=%s&on=0", p1->o.uuid) == 200 && !t_legacy[1],
	   "on=0 switches it off: %s", t->body);
	calls = t_fault_calls;
	ok(t_post(t, 0, "/sim/events/legacy", "on=2") == 400 && t_has(t, "BAD_PARAMETER"),
	   "on=2 refused: %s", t->body);
	ok(t_post(t, 0, "/sim/events/lose", "count=-1") == 400, "negative count refused");
	ok(t_post(t, 0, "/sim/events/lose", "pool=nope") == 400 && t_has(t, "HANDLE_INVALID"),
	   "unknown pool: %s", t->body);
	ok(t_post(t, 0, "/sim/events/lose", "host=x") == 400 && t_has(t, "UNKNOWN_PARAMETER"),
	   "unknown parameter: %s", t->body);
	ok(t_call(t, 0, "GET", "/sim/events/lose", NULL, NULL) == 405, "GET is 405");
	ok(t_fault_calls == calls, "refused requests change nothing");
	t_free(t);
}

static void test_login_fault(void)
{
	struct t *t = t_new(true);
	const struct sim_pool *p1 = SIM_GET(t->sim.world, SIM_POOL, sim_pool, 1);
	int calls;

	memset(t_old_login, 0, sizeof(t_old_login));
	fail_unless(t_post(t, 0, "/sim/pool/old_login", "%s", "") == 200, "old_login: %s", t->body);
	ok(t_old_login[0] && !t_old_login[1] && t_has(t, "\"old_login\":true") &&
		   t_has(t, "\"refused_logins\":5"),
	   "on by default, on the master's pool: %s", t->body);
	fail_unless(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 200, "state");
	ok(t_has(t, "\"login\":{\"old\":true,\"refused\":5}") &&
		   t_has(t, "\"login\":{\"old\":false,\"refused\":5}"),
	   "state shows each pool's login fault: %s", t->body);
	ok(t_post(t, 0, "/sim/pool/old_login", "pool=%s&on=1", p1->o.uuid) == 200 && t_old_login[1],
	   "another pool by uuid: %s", t->body);
	ok(t_post(t, 0, "/sim/pool/old_login", "on=0") == 200 && !t_old_login[0] &&
		   t_has(t, "\"old_login\":false"),
	   "on=0 switches it off: %s", t->body);
	calls = t_fault_calls;
	ok(t_post(t, 0, "/sim/pool/old_login", "on=yes") == 400 && t_has(t, "BAD_PARAMETER"),
	   "on=yes refused: %s", t->body);
	ok(t_post(t, 0, "/sim/pool/old_login", "count=1") == 400 && t_has(t, "UNKNOWN_PARAMETER"),
	   "unknown parameter: %s", t->body);
	ok(t_fault_calls == calls, "refused requests change nothing");
	/* the password list */
	ok(t_post(t, 0, "/sim/pool/passwords", "list=a%%2Cb,c") == 200 &&
		   !strcmp(t_passwords[0], "a,b,c") && t_has(t, "\"passwords\":3"),
	   "passwords on the master's pool, decoded: %s '%s'", t->body, t_passwords[0]);
	ok(t_post(t, 0, "/sim/pool/passwords", "pool=%s&list=", p1->o.uuid) == 200 &&
		   t_passwords[1][0] == '\0' && !strcmp(t_passwords[0], "a,b,c"),
	   "another pool by uuid, an empty list: %s", t->body);
	calls = t_fault_calls;
	ok(t_post(t, 0, "/sim/pool/passwords", "on=1") == 400 && t_has(t, "UNKNOWN_PARAMETER"),
	   "unknown parameter: %s", t->body);
	ok(t_fault_calls == calls, "a refused request changes nothing");
	t_free(t);
}

static void test_sessions(void)
{
	struct t *t = t_new(true);
	char ref[SIM_REF_LEN];

	for (int i = 0; i < 3; i++)
		sim_session_create(t->sim.sessions, 0, "root", "test", T_START, ref);
	fail_unless(t_post(t, 0, "/sim/sessions/expire", "%s", "") == 200, "expire: %s", t->body);
	ok(t_has(t, "\"expired\":3"), "three expired: %s", t->body);
	ok(sim_sessions_count(t->sim.sessions) == 0, "none left");
	ok(sim_session_check(t->sim.sessions, ref, T_START) < 0, "the last one is invalid");
	t_free(t);
}

static void test_clock(void)
{
	struct t *t = t_new(true);
	const struct sim_rrd *r;

	fail_unless(t_post(t, 0, "/sim/clock/advance", "seconds=60") == 200, "advance: %s",
		    t->body);
	ok(sim_clock_now(&t->sim.clock) == T_START + 60, "clock moved");
	ok(t->sim.world->now == T_START + 60, "world time follows");
	r = sim_rrd_model_get(t->sim.model, SIM_HOST, 0);
	ok(r && r->last_update == (int64_t)(T_START + 60) / 5 * 5, "model stepped: %lld",
	   r ? (long long)r->last_update : -1LL);
	ok(t_has(t, "\"now\":1700000060"), "answer has now: %s", t->body);
	ok(t_post(t, 0, "/sim/clock/advance", "%s", "") == 200 &&
		   sim_clock_now(&t->sim.clock) == T_START + 65,
	   "default is one step");
	ok(t_post(t, 0, "/sim/clock/advance", "seconds=-1") == 400, "negative refused");
	ok(t_post(t, 0, "/sim/clock/advance", "seconds=100000") == 400, "too far refused");
	ok(t_post(t, 0, "/sim/clock/advance", "seconds=x") == 400 && t_has(t, "BAD_PARAMETER"),
	   "not a number");
	t_free(t);

	t = t_new(false);
	ok(t_post(t, 0, "/sim/clock/advance", "seconds=5") == 400 && t_has(t, "CLOCK_NOT_MANUAL"),
	   "real clock refuses: %s", t->body);
	ok(t_call(t, 0, "GET", "/sim/state", NULL, NULL) == 200 &&
		   t_has(t, "\"manual_clock\":false"),
	   "state shows a real clock");
	t_free(t);
}

static void test_json_out(void)
{
	struct xs_buf b;
	struct sim_json j;

	xs_buf_init(&b, 1024);
	sim_json_init(&j, &b);
	sim_json_object(&j, NULL);
	sim_json_str(&j, "s", "a\"b\\c\nd\x01");
	sim_json_array(&j, "a");
	sim_json_int(&j, NULL, -3);
	sim_json_uint(&j, NULL, 18446744073709551615ull);
	sim_json_double(&j, NULL, 0.5);
	sim_json_double(&j, NULL, NAN);
	sim_json_bool(&j, NULL, true);
	sim_json_str(&j, NULL, NULL);
	sim_json_object(&j, NULL);
	sim_json_end(&j);
	sim_json_end(&j);
	sim_json_end(&j);
	ok(sim_json_finish(&j) == XS_OK, "finished");
	ok(b.data && !strcmp(b.data, "{\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"a\":[-3,"
				     "18446744073709551615,0.5,null,true,null,{}]}"),
	   "json: %s", b.data ? b.data : "(null)");
	xs_buf_reset(&b);
	sim_json_init(&j, &b);
	sim_json_object(&j, NULL);
	ok(sim_json_finish(&j) == XS_ERR_ARG, "unclosed object is an error");
	sim_json_init(&j, &b);
	sim_json_end(&j);
	ok(sim_json_finish(&j) == XS_ERR_ARG, "unbalanced end is an error");
	xs_buf_free(&b);
	xs_buf_init(&b, 8);
	sim_json_init(&j, &b);
	sim_json_str(&j, NULL, "longer than eight");
	ok(sim_json_finish(&j) == XS_ERR_TOO_LARGE, "cap reached");
	xs_buf_free(&b);
}

int main(void)
{
	TEST_RUN(test_json_out);
	TEST_RUN(test_state);
	TEST_RUN(test_routing);
	TEST_RUN(test_vm_lifecycle);
	TEST_RUN(test_vm_devices);
	TEST_RUN(test_host_faults);
	TEST_RUN(test_host_down_up);
	TEST_RUN(test_pool_master);
	TEST_RUN(test_sessions);
	TEST_RUN(test_event_faults);
	TEST_RUN(test_login_fault);
	TEST_RUN(test_clock);
	return test_summary();
}
