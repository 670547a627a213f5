/*
 * rrd_http.c - the RRD endpoints of a simulated host (SPEC §1): GET
 * /rrd_updates, /host_rrd, /vm_rrd, /sr_rrd (and the legacy /host_rrds,
 * /vm_rrds), with xapi's authentication, routing, status codes and headers
 * for the xapi version the simulator plays (sim->opt.version).
 *
 * What a host holds, as xcp-rrdd does: its own RRD and those of the VMs
 * resident on it; the pool master also holds the RRDs of the pool's shared
 * SRs and the archived RRDs of halted VMs. Documents are built by rrd_docs.c
 * in the host's own (possibly skewed) time.
 *
 * Faults (world.h struct sim_host_faults): slow_ms and http500 concern every
 * answer and are also applied by sim_route(); applying them here too is
 * idempotent (the delay is a maximum; a request answered 500 by the router
 * never reaches this handler) and keeps the handler whole when called alone.
 * truncate and malformed concern 200 RRD bodies only, and are counted down
 * per body.
 *
 * Everything runs on the event loop; nothing is kept between requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"
#include "rrd_docs.h"
#include "sim.h"

#define RRD_HTTP_KEY_LEN 64     /* query keys we care about are short */
#define RRD_HTTP_VAL_LEN 256    /* query values: uuids, refs, integers */
#define RRD_HTTP_ACCEPT_LEN 512 /* Accept header kept for the format rule */
#define RRD_HTTP_CRED_LEN 512   /* decoded "user:password" of Basic auth */
#define RRD_HTTP_REALM "xapi"
#define RRD_HTTP_GARBLE_KEEP 3  /* a malformed body keeps 1/3 of the document */

enum rrd_http_endpoint { RRD_EP_NONE, RRD_EP_UPDATES, RRD_EP_HOST, RRD_EP_VM, RRD_EP_SR };

/* One request being answered. */
struct rrd_http_ctx {
	struct sim *sim;
	const struct sim_http_request *req;
	struct sim_http_response *res;
	struct sim_host *h;          /* the host asked (listener) */
	bool master;                 /* it is its pool's master */
	int64_t skew;                /* its clock minus the simulator's, seconds */
	struct sim_xapi_version v;
	struct sim_rrd_era era;
	bool accept_rule;            /* >= 23.17.0: Accept header, Content-Type everywhere */
	const char *accept;          /* Accept header (NUL-terminated copy) or NULL */
	char accept_buf[RRD_HTTP_ACCEPT_LEN];
};

/* ---- answers ----------------------------------------------------------- */

static void rrd_http_header(struct sim_http_response *res, const char *line)
{
	/* a handful of short lines against a 16 KiB cap: cannot fail */
	if (xs_buf_append_str(&res->headers, line))
		res->status = 500;
}

/* An error page as xapi's Http_svr writes them (text/html). */
static void rrd_http_error(struct sim_http_response *res, int status, const char *title,
			   const char *detail)
{
	res->status = status;
	res->cut_at = 0;
	xs_buf_reset(&res->body);
	rrd_http_header(res, "Content-Type: text/html\r\n");
	if (xs_buf_printf(&res->body, "<html><body><h1>HTTP %d %s</h1>%s</body></html>", status,
			  title, detail))
		res->status = 500;
}

static void rrd_http_unauthorised(struct sim_http_response *res)
{
	rrd_http_header(res, "WWW-Authenticate: Basic realm=\"" RRD_HTTP_REALM "\"\r\n");
	rrd_http_error(res, 401, "unauthorised",
		       "Authorization is required for " RRD_HTTP_REALM);
}

static void rrd_http_internal(struct sim_http_response *res, const char *why)
{
	rrd_http_error(res, 500, "internal server error", why);
}

/* Keeps the first third of the body and appends bytes no RRD reader accepts. */
static void rrd_http_garble(struct xs_buf *body)
{
	static const char junk[] = "\x01\xfe<<garbage>>}]\"";
	size_t len = 0;
	char *doc = xs_buf_take(body, &len);

	if (xs_buf_append(body, doc, len / RRD_HTTP_GARBLE_KEEP) ||
	    xs_buf_append(body, junk, sizeof(junk) - 1))
		xs_buf_reset(body); /* cannot happen: smaller than what was there */
	free(doc);
}

/* The truncate and malformed faults, on a 200 RRD body (interval: of an /rrd_updates
 * reply, 0 for a dump). */
static void rrd_http_body_faults(struct sim_host *h, struct sim_http_response *res,
				 int64_t interval)
{
	if (h->faults.spoil_interval && h->faults.spoil_interval != interval)
		return;
	if (h->faults.malformed > 0) {
		h->faults.malformed--;
		rrd_http_garble(&res->body);
	}
	if (h->faults.truncate > 0) {
		h->faults.truncate--;
		res->cut_at = res->body.len > 1 ? res->body.len / 2 : 1;
	}
}

/* ---- authentication (SPEC §1.1) ---------------------------------------- */

static int rrd_http_b64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 s[0..n) into out (cap bytes); false if invalid or too long. */
static bool rrd_http_b64_decode(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = rrd_http_b64(s[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return false;
			out[o++] = (char)((acc >> bits) & 0xFFu);
		}
	}
	*len = o;
	return true;
}

/* Authorization: Basic with the simulator's user and password. */
static bool rrd_http_basic_ok(const struct sim *sim, const struct sim_http_request *req)
{
	const char *user = sim->opt.user ? sim->opt.user : "";
	const char *pass = sim->opt.password ? sim->opt.password : "";
	struct sim_http_slice v;
	char cred[RRD_HTTP_CRED_LEN];
	const char *colon;
	size_t n, ulen = strlen(user), plen = strlen(pass);

	if (!sim_http_header(req, "authorization", &v) || v.len < 6 ||
	    strncasecmp(v.ptr, "basic ", 6))
		return false;
	while (v.len > 6 && v.ptr[6] == ' ') {
		v.ptr++;
		v.len--;
	}
	if (!rrd_http_b64_decode(v.ptr + 6, v.len - 6, cred, sizeof(cred), &n))
		return false;
	colon = memchr(cred, ':', n);
	return colon && (size_t)(colon - cred) == ulen && !memcmp(cred, user, ulen) &&
	       n - ulen - 1 == plen && !memcmp(colon + 1, pass, plen);
}

/* session_id (cookie first, then query) of this pool, else Basic auth. */
static bool rrd_http_authorised(const struct rrd_http_ctx *x)
{
	char ref[RRD_HTTP_VAL_LEN];

	if (sim_http_cookie(x->req, "session_id", ref, sizeof(ref)) ||
	    sim_http_query_get(x->req, "session_id", ref, sizeof(ref)))
		return x->sim->sessions &&
		       sim_session_check(x->sim->sessions, ref, sim_clock_now(&x->sim->clock)) ==
			       x->h->pool;
	return rrd_http_basic_ok(x->sim, x->req);
}

/* ---- /rrd_updates (SPEC §1.2, §1.4, §2.1, §2.2) ------------------------ */

/* Slot of a parameter xcp-rrdd reads with List.assoc (the first one wins), or -1. */
static int rrd_http_param_slot(const char *key)
{
	static const char *const keys[] = { "start", "interval", "cf", "host", "vm_uuid",
					    "sr_uuid" };

	for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++)
		if (!strcmp(key, keys[i]))
			return i;
	return -1;
}

#define RRD_HTTP_SLOT_VM 4 /* vm_uuid and sr_uuid may repeat from 26.7.0 */

/* Reads the query as xcp-rrdd does; false (400) for a bad start. */
static bool rrd_http_query(const struct rrd_http_ctx *x, struct sim_rrd_query *q)
{
	bool repeated = sim_xapi_version_cmp(x->v, 26, 7, 0) >= 0;
	bool seen[6] = { false };
	char key[RRD_HTTP_KEY_LEN], val[RRD_HTTP_VAL_LEN];
	size_t pos = 0;

	sim_rrd_query_init(q);
	while (sim_http_query_next(x->req, &pos, key, sizeof(key), val, sizeof(val))) {
		int slot = rrd_http_param_slot(key);
		const char *err = NULL;

		if (slot >= 0) {
			if (seen[slot] && !(repeated && slot >= RRD_HTTP_SLOT_VM))
				continue;
			seen[slot] = true;
		}
		if (!sim_rrd_query_param(q, x->v, key, val, &err))
			return false;
	}
	sim_rrd_query_format(q, x->v, x->accept);
	return true;
}

/* The RRDs this host holds that the query selects: host, VMs, SRs. */
static size_t rrd_http_parts(const struct rrd_http_ctx *x, const struct sim_rrd_query *q,
			     struct sim_rrd_part *parts)
{
	const struct sim_world *w = x->sim->world;
	const struct sim_rrd_model *m = x->sim->model;
	size_t n = 0;

	if (q->host) {
		const struct sim_rrd *r = sim_rrd_model_get(m, SIM_HOST, x->h->o.index);

		if (r)
			parts[n++] = (struct sim_rrd_part){ r, "host", x->h->o.uuid };
	}
	for (size_t i = 0; i < x->h->nresident; i++) { /* the world keeps the list */
		const struct sim_vm *vm = SIM_GET(w, SIM_VM, sim_vm, x->h->resident[i]);
		const struct sim_rrd *r;

		if (!vm || vm->o.deleted || vm->resident_on != x->h->o.index ||
		    !sim_rrd_query_wants_vm(q, vm->o.uuid))
			continue;
		r = sim_rrd_model_get(m, SIM_VM, vm->o.index);
		if (r)
			parts[n++] = (struct sim_rrd_part){ r, "vm", vm->o.uuid };
	}
	for (size_t i = 0; x->master && i < sim_world_count(w, SIM_SR); i++) {
		const struct sim_sr *sr = SIM_GET(w, SIM_SR, sim_sr, (int)i);
		const struct sim_rrd *r;

		if (!sr || sr->o.deleted || sr->pool != x->h->pool ||
		    !sim_rrd_query_wants_sr(q, sr->o.uuid))
			continue;
		r = sim_rrd_model_get(m, SIM_SR, (int)i);
		if (r)
			parts[n++] = (struct sim_rrd_part){ r, "sr", sr->o.uuid };
	}
	return n;
}

static void rrd_http_updates(struct rrd_http_ctx *x)
{
	const struct sim_world *w = x->sim->world;
	struct sim_rrd_query *q = xs_xmalloc(sizeof(*q));
	struct sim_rrd_part *parts = xs_xcalloc(1 + x->h->nresident +
							(x->master ? sim_world_count(w, SIM_SR) : 0),
						sizeof(*parts));
	struct sim_http_response *res = x->res;
	enum xs_err rc;
	size_t n;

	if (!rrd_http_query(x, q) || !q->has_start) {
		rrd_http_error(res, 400, "bad request",
			       "The HTTP request was malformed: start must be an integer.");
		goto out_free;
	}
	n = rrd_http_parts(x, q, parts);
	rc = sim_rrd_updates_build(x->sim->model, parts, n, q, x->skew,
				   q->json ? x->era.updates_json : XS_RRD_XML, x->era.nf,
				   &res->body);
	if (rc) {
		rrd_http_internal(res, rc == XS_ERR_ARG ? "No_RRA_Available"
							: "the answer passed the body cap");
		goto out_free;
	}
	rrd_http_header(res, "Cache-Control: no-cache, no-store\r\n");
	if (!q->json)
		rrd_http_header(res, "Content-Type: text/xml\r\n");
	else if (x->accept_rule)
		rrd_http_header(res, "Content-Type: application/json\r\n");
	rrd_http_header(res, "Access-Control-Allow-Origin: *\r\n"
			     "Access-Control-Allow-Headers: X-Requested-With\r\n");
	res->close = true; /* xapi marks the request close before handing it to rrdd */
	rrd_http_body_faults(x->h, res, q->interval);
out_free:
	free(parts);
	free(q);
}

/* ---- dumps (SPEC §1.3, §2.5) ------------------------------------------- */

/* Serves r whole: HTTP/1.0, no Content-Length, closed after the body.
 * json_ok: whether this endpoint of this version can answer JSON at all;
 * acao: whether it sent Access-Control-Allow-Origin before 23.17.0. */
static void rrd_http_dump(struct rrd_http_ctx *x, const struct sim_rrd *r, bool json_ok,
			  bool acao)
{
	struct sim_http_response *res = x->res;
	struct sim_rrd_query q;
	char val[RRD_HTTP_VAL_LEN];
	enum xs_err rc;

	sim_rrd_query_init(&q);
	q.json_key = sim_http_query_get(x->req, "json", val, sizeof(val));
	sim_rrd_query_format(&q, x->v, x->accept);
	q.json = q.json && (json_ok || x->accept_rule);
	rc = sim_rrd_dump_build(x->sim->model, r, x->skew, q.json ? x->era.dump_json : XS_RRD_XML,
				x->era.nf, &res->body);
	if (rc) {
		rrd_http_internal(res, "the answer passed the body cap");
		return;
	}
	res->http10 = true;
	rrd_http_header(res, "Cache-Control: no-cache, no-store\r\n");
	if (x->accept_rule)
		rrd_http_header(res, q.json ? "Content-Type: application/json\r\n"
					    : "Content-Type: text/xml\r\n");
	if (x->accept_rule || acao)
		rrd_http_header(res, "Access-Control-Allow-Origin: *\r\n");
	rrd_http_body_faults(x->h, res, 0);
}

/* 302 to host `target`, same path and query (SPEC §1.3). xapi always says
 * https on the default port; the simulator names its own scheme and port so
 * the Location can be followed. */
static void rrd_http_redirect(struct rrd_http_ctx *x, int target, bool unarchive)
{
	const struct sim_host *th = SIM_GET(x->sim->world, SIM_HOST, sim_host, target);
	struct sim_http_response *res = x->res;
	bool tls = x->sim->opt.tls;
	uint16_t port = x->sim->http ? sim_http_listen_port(x->sim->http, target) : 0;
	const struct sim_http_slice *path = &x->req->path, *query = &x->req->query;
	enum xs_err rc;

	if (!th) {
		rrd_http_internal(res, "the resident host is unknown");
		return;
	}
	if (!port)
		port = x->sim->opt.port;
	rc = xs_buf_printf(&res->headers, "Location: %s://%s", tls ? "https" : "http",
			   th->address);
	if (!rc && port && port != (tls ? 443 : 80))
		rc = xs_buf_printf(&res->headers, ":%u", (unsigned)port);
	if (!rc)
		rc = xs_buf_printf(&res->headers, "%.*s?%.*s%s%s\r\n", (int)path->len, path->ptr,
				   (int)query->len, query->ptr,
				   unarchive && query->len ? "&" : "",
				   unarchive ? "rrd_unarchive=" : "");
	if (rc) {
		rrd_http_internal(res, "the query is too long to redirect");
		return;
	}
	res->status = 302;
	res->close = true;
	rrd_http_header(res, "Cache-Control: no-cache, no-store\r\n");
}

static void rrd_http_vm(struct rrd_http_ctx *x)
{
	const struct sim_world *w = x->sim->world;
	const struct sim_pool *pool = SIM_GET(w, SIM_POOL, sim_pool, x->h->pool);
	char uuid[RRD_HTTP_VAL_LEN];
	const struct sim_obj *o;
	const struct sim_vm *vm;
	const struct sim_rrd *r;

	if (!sim_http_query_get(x->req, "uuid", uuid, sizeof(uuid))) {
		rrd_http_error(x->res, 400, "bad request", "Missing parameter: uuid");
		return;
	}
	o = sim_world_by_uuid(w, SIM_VM, uuid);
	vm = o ? SIM_GET(w, SIM_VM, sim_vm, o->index) : NULL;
	if (!vm || vm->pool != x->h->pool) {
		rrd_http_error(x->res, 404, "not found", "The VM is unknown.");
		return;
	}
	r = sim_rrd_model_get(x->sim->model, SIM_VM, vm->o.index);
	if (vm->resident_on >= 0 && vm->resident_on != x->h->o.index) {
		rrd_http_redirect(x, vm->resident_on, false);
	} else if (vm->resident_on < 0 && !x->master) {
		rrd_http_redirect(x, pool ? pool->master : x->h->o.index, true);
	} else if (!r) {
		rrd_http_error(x->res, 404, "not found", "The VM has no RRD.");
	} else if (vm->resident_on >= 0) {
		rrd_http_dump(x, r, false, false); /* the local rrdd holds it */
	} else {
		rrd_http_dump(x, r, false, true); /* the master unarchives it */
	}
}

static void rrd_http_sr(struct rrd_http_ctx *x)
{
	const struct sim_world *w = x->sim->world;
	char uuid[RRD_HTTP_VAL_LEN];
	const struct sim_obj *o;
	const struct sim_sr *sr;
	const struct sim_rrd *r = NULL;

	if (!sim_http_query_get(x->req, "uuid", uuid, sizeof(uuid))) {
		rrd_http_error(x->res, 400, "bad request", "Missing parameter: uuid");
		return;
	}
	o = sim_world_by_uuid(w, SIM_SR, uuid);
	sr = o ? SIM_GET(w, SIM_SR, sim_sr, o->index) : NULL;
	if (sr && sr->pool == x->h->pool && x->master)
		r = sim_rrd_model_get(x->sim->model, SIM_SR, sr->o.index);
	if (!r) {
		rrd_http_internal(x->res, "No SR RRD available!");
		return;
	}
	rrd_http_dump(x, r, false, false);
}

static void rrd_http_host(struct rrd_http_ctx *x)
{
	const struct sim_rrd *r = sim_rrd_model_get(x->sim->model, SIM_HOST, x->h->o.index);

	if (!r) {
		rrd_http_internal(x->res, "No host RRD available!");
		return;
	}
	rrd_http_dump(x, r, true, true);
}

/* ---- entry ------------------------------------------------------------- */

static bool rrd_http_is(struct sim_http_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !memcmp(s.ptr, lit, n);
}

static enum rrd_http_endpoint rrd_http_endpoint_of(struct sim_http_slice path)
{
	if (rrd_http_is(path, "/rrd_updates"))
		return RRD_EP_UPDATES;
	if (rrd_http_is(path, "/host_rrd") || rrd_http_is(path, "/host_rrds"))
		return RRD_EP_HOST;
	if (rrd_http_is(path, "/vm_rrd") || rrd_http_is(path, "/vm_rrds"))
		return RRD_EP_VM;
	if (rrd_http_is(path, "/sr_rrd"))
		return RRD_EP_SR;
	return RRD_EP_NONE;
}

static void rrd_http_ctx_init(struct rrd_http_ctx *x, struct sim *sim,
			      const struct sim_http_request *req, struct sim_http_response *res,
			      struct sim_host *h)
{
	const struct sim_pool *pool = SIM_GET(sim->world, SIM_POOL, sim_pool, h->pool);
	struct sim_http_slice accept;
	double skew = sim_host_now(sim, h->o.index) - sim_clock_now(&sim->clock);

	memset(x, 0, sizeof(*x));
	x->sim = sim;
	x->req = req;
	x->res = res;
	x->h = h;
	x->master = pool && pool->master == h->o.index;
	x->skew = (int64_t)(skew < 0 ? skew - 0.5 : skew + 0.5);
	x->v = sim->opt.version;
	sim_rrd_era_of(x->v, &x->era);
	x->accept_rule = sim_xapi_version_cmp(x->v, 23, 17, 0) >= 0;
	if (sim_http_header(req, "accept", &accept)) {
		size_t n = accept.len < sizeof(x->accept_buf) ? accept.len
							       : sizeof(x->accept_buf) - 1;

		memcpy(x->accept_buf, accept.ptr, n);
		x->accept_buf[n] = '\0';
		x->accept = x->accept_buf;
	}
}

void sim_rrd_http_handle(struct sim *sim, const struct sim_http_request *req,
			 struct sim_http_response *res)
{
	struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, req->listener);
	enum rrd_http_endpoint ep = rrd_http_endpoint_of(req->path);
	struct rrd_http_ctx x;

	if (!h || h->o.deleted) {
		rrd_http_error(res, 404, "not found", "No such host.");
		return;
	}
	if (h->faults.slow_ms > res->delay_ms)
		res->delay_ms = h->faults.slow_ms;
	if (h->faults.http500 > 0) {
		h->faults.http500--;
		rrd_http_internal(res, "simulated fault");
		return;
	}
	if (ep == RRD_EP_NONE ||
	    !(rrd_http_is(req->method, "GET") || rrd_http_is(req->method, "HEAD"))) {
		rrd_http_error(res, 404, "not found", "The URI requested could not be found.");
		return;
	}
	rrd_http_ctx_init(&x, sim, req, res, h);
	if (!rrd_http_authorised(&x)) {
		rrd_http_unauthorised(res);
		return;
	}
	switch (ep) {
	case RRD_EP_UPDATES:
		rrd_http_updates(&x);
		break;
	case RRD_EP_HOST:
		rrd_http_host(&x);
		break;
	case RRD_EP_VM:
		rrd_http_vm(&x);
		break;
	case RRD_EP_SR:
		rrd_http_sr(&x);
		break;
	case RRD_EP_NONE:
		break;
	}
}
