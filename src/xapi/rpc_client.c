/*
 * rpc_client.c - XAPI calls over HTTP with JSON-RPC or XML-RPC (see
 * rpc_client.h).
 *
 * A call is one struct rpc_pending, linked into its connection until its
 * HTTP request ends. Both encodings are made at submit time (XAPI calls'
 * params are small), so an XML-RPC retry — even after JSON-RPC had been
 * settled, when the master moved to an older host — needs none of the
 * caller's values, which may be gone by then. The pending
 * call is unlinked before the user's callback runs, so the callback may
 * cancel other calls, submit new ones or free the connection.
 */
#include "xapi/rpc_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

#define RPC_MAX_REQUEST (64u << 20) /* an encoded call, bytes */
#define RPC_DEFAULT_TIMEOUT 60.0
#define RPC_CONNECT_TIMEOUT 10.0

struct rpc_pending {
	struct rpc_pending *next;
	struct xs_rpc_conn *conn;
	uint64_t id;                 /* our call id */
	uint64_t http_id;            /* the request running now */
	char *method;
	struct xs_buf json, xml;     /* encoded bodies (json empty once XML-RPC is settled) */
	bool json_attempt;           /* the running request is the JSON-RPC one */
	double timeout, started;
	xs_rpc_done_cb done;
	void *arg;
};

struct xs_rpc_conn {
	struct xs_http *http;
	char base[XS_RPC_URL_LEN];
	struct xs_tls_opts tls;
	bool has_tls;
	size_t max_body;
	enum xs_rpc_proto proto;
	struct rpc_pending *pending; /* calls in flight */
	uint64_t next_id;
	int64_t next_json_id;
};

static enum xs_err rpc_check_base(const char *base_url, char *err)
{
	if (strlen(base_url) >= XS_RPC_URL_LEN)
		return xs_err_set(err, XS_ERR_TOO_LARGE, "base URL longer than %d bytes",
				  XS_RPC_URL_LEN - 1);
	if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
		return xs_err_set(err, XS_ERR_ARG, "base URL must start with http:// or https://");
	return XS_OK;
}

struct xs_rpc_conn *xs_rpc_conn_new(struct xs_http *http, const char *base_url,
				    const struct xs_tls_opts *tls, size_t max_body, char *err)
{
	struct xs_rpc_conn *c;

	if (rpc_check_base(base_url, err))
		return NULL;
	c = xs_xcalloc(1, sizeof(*c));
	c->http = http;
	snprintf(c->base, sizeof(c->base), "%s", base_url);
	if (tls) {
		c->tls = *tls;
		c->has_tls = true;
	}
	c->max_body = max_body ? max_body : XS_RPC_MAX_RESPONSE;
	c->next_id = 1;
	c->next_json_id = 1;
	return c;
}

static void rpc_pending_free(struct rpc_pending *p)
{
	free(p->method);
	xs_buf_free(&p->json);
	xs_buf_free(&p->xml);
	free(p);
}

static void rpc_unlink(struct xs_rpc_conn *c, struct rpc_pending *p)
{
	for (struct rpc_pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

void xs_rpc_conn_free(struct xs_rpc_conn **cp)
{
	struct xs_rpc_conn *c = cp ? *cp : NULL;

	if (c == NULL)
		return;
	while (c->pending) {
		struct rpc_pending *p = c->pending;

		c->pending = p->next;
		xs_http_cancel(c->http, p->http_id);
		rpc_pending_free(p);
	}
	free(c);
	*cp = NULL;
}

enum xs_err xs_rpc_conn_set_base(struct xs_rpc_conn *c, const char *base_url, char *err)
{
	if (rpc_check_base(base_url, err))
		return XS_ERR_ARG;
	snprintf(c->base, sizeof(c->base), "%s", base_url);
	return XS_OK;
}

const char *xs_rpc_conn_base(const struct xs_rpc_conn *c)
{
	return c->base;
}

enum xs_rpc_proto xs_rpc_conn_proto(const struct xs_rpc_conn *c)
{
	return c->proto;
}

void xs_rpc_conn_set_proto(struct xs_rpc_conn *c, enum xs_rpc_proto p)
{
	c->proto = p;
}

size_t xs_rpc_pending(const struct xs_rpc_conn *c)
{
	size_t n = 0;

	for (const struct rpc_pending *p = c->pending; p; p = p->next)
		n++;
	return n;
}

static bool rpc_ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype && strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static void rpc_on_http(void *arg, const struct xs_http_response *res);

/* Submits the current attempt of p; XS_OK or an error in err. */
static enum xs_err rpc_submit(struct rpc_pending *p, char *err)
{
	struct xs_rpc_conn *c = p->conn;
	char url[XS_RPC_URL_LEN + 16];
	struct xs_http_request req = { 0 };
	const struct xs_buf *body = p->json_attempt ? &p->json : &p->xml;

	snprintf(url, sizeof(url), "%s%s", c->base, p->json_attempt ? "/jsonrpc" : "/");
	req.method = "POST";
	req.url = url;
	req.content_type = p->json_attempt ? "application/json" : "text/xml";
	req.body = body->data;
	req.body_len = body->len;
	req.tls = c->has_tls ? &c->tls : NULL;
	req.connect_timeout = RPC_CONNECT_TIMEOUT < p->timeout ? RPC_CONNECT_TIMEOUT : p->timeout;
	req.timeout = p->timeout;
	req.max_body = c->max_body;
	req.on_done = rpc_on_http;
	req.arg = p;
	p->http_id = xs_http_submit(c->http, &req, err);
	return p->http_id ? XS_OK : XS_ERR_IO;
}

uint64_t xs_rpc_call(struct xs_rpc_conn *c, const char *method, const struct xs_rpc_value *params,
		     double timeout, xs_rpc_done_cb done, void *arg, char *err)
{
	struct rpc_pending *p = xs_xcalloc(1, sizeof(*p));
	enum xs_err rc = XS_OK;

	p->conn = c;
	p->method = xs_xstrndup(method, strlen(method));
	p->timeout = timeout > 0 ? timeout : RPC_DEFAULT_TIMEOUT;
	p->started = xs_evloop_now();
	p->done = done;
	p->arg = arg;
	xs_buf_init(&p->json, RPC_MAX_REQUEST);
	xs_buf_init(&p->xml, RPC_MAX_REQUEST);
	if (c->proto != XS_RPC_PROTO_XML)
		rc = xs_jsonrpc_encode_call(&p->json, 2, method, params, c->next_json_id++);
	if (!rc)
		rc = xs_xmlrpc_encode_call(&p->xml, method, params);
	if (rc) {
		xs_err_set(err, rc, "%s: cannot encode the call: %s", method, xs_strerror(rc));
		goto fail;
	}
	p->json_attempt = c->proto != XS_RPC_PROTO_XML;
	p->id = c->next_id++;
	p->next = c->pending;
	c->pending = p;
	if (rpc_submit(p, err) == XS_OK)
		return p->id;
	rpc_unlink(c, p);
fail:
	rpc_pending_free(p);
	return 0;
}

void xs_rpc_cancel(struct xs_rpc_conn *c, uint64_t id)
{
	for (struct rpc_pending *p = c->pending; p; p = p->next) {
		if (p->id == id) {
			rpc_unlink(c, p);
			xs_http_cancel(c->http, p->http_id);
			rpc_pending_free(p);
			return;
		}
	}
}

static bool rpc_is_2xx(long status)
{
	return status >= 200 && status < 300;
}

/* Whether a JSON-RPC attempt's answer says "this host speaks XML-RPC only":
 * a 404, text/xml, or a 2xx that is not application/json. */
static bool rpc_wants_xml(const struct xs_http_response *res)
{
	bool json = rpc_ctype_is(res->content_type, "application/json");

	return res->status == 404 || rpc_ctype_is(res->content_type, "text/xml") ||
	       (rpc_is_2xx(res->status) && !json);
}

/* Decodes res into out (arena a); the error names the method and URL. */
static void rpc_decode(const struct rpc_pending *p, const struct xs_http_response *res,
		       struct xs_rpc_arena *a, struct xs_rpc_result *out)
{
	const char *path = p->json_attempt ? "/jsonrpc" : "/";
	const char *proto = p->json_attempt ? "JSON-RPC" : "XML-RPC";
	char derr[XS_ERR_LEN] = "";
	enum xs_err rc;

	if (res->rc != XS_OK) {
		out->rc = res->rc;
		xs_err_set(out->error, XS_OK, "%s: %s", p->method, res->error);
		return;
	}
	if (res->status != 200) {
		out->rc = XS_ERR_UPSTREAM;
		xs_err_set(out->error, XS_OK, "%s: HTTP %ld from %s%s", p->method,
			 res->status, p->conn->base, path);
		return;
	}
	if (p->json_attempt && !rpc_ctype_is(res->content_type, "application/json")) {
		out->rc = XS_ERR_UPSTREAM;
		xs_err_set(out->error, XS_OK, "%s: %s%s answered content-type '%.60s'",
			 p->method, p->conn->base, path, res->content_type ? res->content_type : "");
		return;
	}
	if (p->json_attempt)
		rc = xs_jsonrpc_decode_reply(res->body ? res->body : "", res->body_len, a,
					     &out->reply, derr);
	else
		rc = xs_xmlrpc_decode_reply(res->body ? res->body : "", res->body_len, a,
					    &out->reply, derr);
	out->rc = rc;
	if (rc)
		xs_err_set(out->error, XS_OK, "%s: malformed %s reply from %s%s: %s",
			 p->method, proto, p->conn->base, path, derr);
	else if (!out->reply.ok && (out->reply.value == NULL ||
				    out->reply.value->type != XS_RPC_ARRAY)) {
		out->rc = XS_ERR_UPSTREAM;
		xs_err_set(out->error, XS_OK, "%s: %s error without a description",
			 p->method, proto);
	}
}

static void rpc_on_http(void *arg, const struct xs_http_response *res)
{
	struct rpc_pending *p = arg;
	struct xs_rpc_conn *c = p->conn;
	struct xs_rpc_result out;
	struct xs_rpc_arena *a;

	if (p->json_attempt && res->rc == XS_OK && rpc_wants_xml(res)) {
		char err[XS_ERR_LEN];

		c->proto = XS_RPC_PROTO_XML;
		p->json_attempt = false;
		if (rpc_submit(p, err) == XS_OK)
			return;
		memset(&out, 0, sizeof(out));
		out.rc = XS_ERR_IO;
		xs_err_set(out.error, XS_OK, "%s: XML-RPC retry: %s", p->method, err);
		a = NULL;
		goto deliver;
	}
	/* settled on a reply rpc_decode() accepts: 200 and JSON */
	if (p->json_attempt && res->rc == XS_OK && res->status == 200 &&
	    rpc_ctype_is(res->content_type, "application/json"))
		c->proto = XS_RPC_PROTO_JSON;
	memset(&out, 0, sizeof(out));
	a = xs_rpc_arena_new();
	rpc_decode(p, res, a, &out);
deliver:
	out.method = p->method;
	out.started = p->started;
	out.seconds = xs_evloop_now() - p->started;
	rpc_unlink(c, p);
	if (p->done)
		p->done(p->arg, &out);
	xs_rpc_arena_free(&a);
	rpc_pending_free(p);
}
