/*
 * route.c - sim_route(), the one handler of xapi-sim's HTTP server (sim.h):
 * picks the handler by path and applies the faults that concern every answer
 * of a host.
 *
 *   POST /, /RPC2, /jsonrpc                  sim_rpc_handle
 *   /rrd_updates, /host_rrd, /vm_rrd, /sr_rrd sim_rrd_http_handle
 *   /sim/...   (pool masters only)           sim_control_handle
 *   anything else                            404
 *
 * Faults applied here: slow_ms (a delay before the answer), pace_ms (the body
 * in 4 KiB steps) and http500 (the next N requests answer 500 without reaching
 * a handler). The RRD-body faults
 * (truncate, malformed) belong to sim_rrd_http_handle, which knows where the
 * body is. The control interface is exempt from every fault, so a test can
 * always switch them off again. A host that is down (faults.down) is not
 * listening, so its requests never get here.
 */
#include <string.h>

#include "sim.h"

static bool route_is(struct sim_http_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !memcmp(s.ptr, lit, n);
}

static bool route_has_prefix(struct sim_http_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len >= n && !memcmp(s.ptr, lit, n);
}

/* Whether the host a request arrived at is the master of its pool. */
static bool route_on_master(const struct sim *sim, int host)
{
	const struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, host);
	const struct sim_pool *p = h ? SIM_GET(sim->world, SIM_POOL, sim_pool, h->pool) : NULL;

	return p && p->master == host;
}

static void route_plain(struct sim_http_response *res, int status, const char *text)
{
	res->status = status;
	if (xs_buf_append_str(&res->headers, "Content-Type: text/plain\r\n") ||
	    xs_buf_append_str(&res->body, text))
		res->status = 500; /* the literals are far below the caps */
}

void sim_route(void *ctx, const struct sim_http_request *req, struct sim_http_response *res)
{
	struct sim *sim = ctx;
	struct sim_host *h = SIM_GET(sim->world, SIM_HOST, sim_host, req->listener);
	struct sim_http_slice p = req->path;
	bool post = route_is(req->method, "POST");

	if (route_is(p, "/sim") || route_has_prefix(p, "/sim/")) {
		if (route_on_master(sim, req->listener))
			sim_control_handle(sim, req, res);
		else
			route_plain(res, 404, "the control interface is on pool masters only\n");
		return;
	}
	if (h && h->faults.http500 > 0) {
		h->faults.http500--;
		route_plain(res, 500, "Internal Server Error (simulated)\n");
		res->close = true;
	} else if (post && (route_is(p, "/") || route_is(p, "/RPC2") || route_is(p, "/jsonrpc"))) {
		sim_rpc_handle(sim, req, res);
	} else if (route_is(p, "/rrd_updates") || route_is(p, "/host_rrd") ||
		   route_is(p, "/vm_rrd") || route_is(p, "/sr_rrd")) {
		sim_rrd_http_handle(sim, req, res);
	} else {
		route_plain(res, 404, "not found\n");
	}
	if (h && h->faults.slow_ms > res->delay_ms)
		res->delay_ms = h->faults.slow_ms;
	if (h && h->faults.pace_ms)
		res->pace_ms = h->faults.pace_ms;
}
