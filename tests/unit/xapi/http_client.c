/*
 * Tests of src/xapi/http_client.c against a real server: xapi-sim's HTTP
 * server (sim/http.c, included) runs on a second thread with its own event
 * loop, listening on 127.0.0.2-6 (plain, five "hosts", the fifth answering
 * late) and 127.0.0.7 (TLS with a certificate from sim/tls_cert.c). The
 * client runs on the main thread's loop. Covered: GET/POST round trips with
 * headers and bodies, Basic auth from the URL, the body cap, a body cut
 * short, streaming and aborting (a non-2xx body is not streamed), a redirect that is reported and not followed, a refused
 * connection, a server that never answers (the whole timeout, and the stall
 * timeout long before it), 50 concurrent requests where one
 * slow host does not hold up the others, cancel and re-entrant callbacks,
 * freeing with requests running, TLS (pin right and wrong, a list of two
 * pins whose second matches and one where none does, on fresh and reused
 * connections, system CAs, insecure, a CA file), and that no error message
 * carries the password or the query.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "../../../sim/http.c"
#include "../../../sim/tls_cert.c"
#include "test.h"
#include "xapi/http_client.h"

#define NHOSTS 5            /* plain listeners 1..5 on 127.0.0.2..6 */
#define TLS_ID 7            /* TLS listener on 127.0.0.7 */
#define SLOW_HOST 5         /* answers every request after SLOW_MS */
#define SLOW_MS 800
#define NCONCURRENT 50
#define SECRET "s3cr@t-pw"  /* a password that must never show up */
#define SECRET_ENC "s3cr%40t-pw"
#define SESSION "OpaqueRef:c0ffee-session"

/* ---- the server thread -------------------------------------------------- */

struct srv {
	struct xs_evloop *loop;
	struct sim_http_server *http, *tls;
	pthread_t thread;
	int wake[2];
	uint16_t port[TLS_ID + 1];  /* by listener id */
	atomic_int tls_requests;    /* handler calls over TLS */
	atomic_int targets;         /* requests for /target (a followed redirect) */
	atomic_int requests;
};

static struct srv S;
static struct sim_tls_cert cert;

static bool path_is(const struct sim_http_request *req, const char *p)
{
	return req->path.len == strlen(p) && !memcmp(req->path.ptr, p, req->path.len);
}

static void hdr(const struct sim_http_request *req, const char *name, char *out, size_t cap)
{
	struct sim_http_slice v;

	if (sim_http_header(req, name, &v))
		snprintf(out, cap, "%.*s", (int)v.len, v.ptr);
	else
		snprintf(out, cap, "-");
}

static enum xs_err srv_echo(const struct sim_http_request *req, struct sim_http_response *res)
{
	char ct[128], accept[128], cookie[128], auth[128];
	enum xs_err rc;

	hdr(req, "Content-Type", ct, sizeof(ct));
	hdr(req, "Accept", accept, sizeof(accept));
	hdr(req, "Cookie", cookie, sizeof(cookie));
	hdr(req, "Authorization", auth, sizeof(auth));
	rc = xs_buf_append_str(&res->headers, "Content-Type: text/plain; charset=utf-8\r\n");
	if (!rc)
		rc = xs_buf_printf(&res->body,
				   "method=%.*s ct=%s accept=%s cookie=%s auth=%s query=%.*s len=%zu body=",
				   (int)req->method.len, req->method.ptr, ct, accept, cookie, auth,
				   (int)req->query.len, req->query.ptr, req->body.len);
	if (!rc)
		rc = xs_buf_append(&res->body, req->body.ptr, req->body.len);
	return rc;
}

static enum xs_err srv_size(const struct sim_http_request *req, struct sim_http_response *res)
{
	char val[32];
	size_t n = 0;
	enum xs_err rc;

	if (sim_http_query_get(req, "n", val, sizeof(val)))
		n = (size_t)strtoul(val, NULL, 10);
	rc = xs_buf_reserve(&res->body, n + 1);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		res->body.data[i] = (char)('a' + i % 26);
	xs_buf_commit(&res->body, n);
	return XS_OK;
}

static void srv_handler(void *ctx, const struct sim_http_request *req, struct sim_http_response *res)
{
	struct srv *v = ctx;
	enum xs_err rc = XS_OK;

	atomic_fetch_add(&v->requests, 1);
	if (req->tls)
		atomic_fetch_add(&v->tls_requests, 1);
	if (req->listener == SLOW_HOST)
		res->delay_ms = SLOW_MS;
	if (path_is(req, "/echo")) {
		rc = srv_echo(req, res);
	} else if (path_is(req, "/size")) {
		rc = srv_size(req, res);
	} else if (path_is(req, "/host")) {
		rc = xs_buf_printf(&res->body, "host %d", req->listener);
	} else if (path_is(req, "/tls")) {
		rc = xs_buf_printf(&res->body, "tls=%d", req->tls);
	} else if (path_is(req, "/tls-close")) { /* and no connection to reuse after it */
		rc = xs_buf_printf(&res->body, "tls=%d", req->tls);
		res->close = true;
	} else if (path_is(req, "/redirect")) {
		res->status = 302;
		rc = xs_buf_append_str(&res->headers, "Location: /target?session_id=abc\r\n");
		if (!rc)
			rc = xs_buf_append_str(&res->body, "moved");
	} else if (path_is(req, "/target")) {
		atomic_fetch_add(&v->targets, 1);
		rc = xs_buf_append_str(&res->body, "target");
	} else if (path_is(req, "/cut")) {
		rc = srv_size(req, res);
		res->cut_at = 100; /* then the connection closes mid-body */
	} else if (path_is(req, "/never")) {
		sim_http_defer(res); /* never completed: the client gives up */
	} else {
		res->status = 404;
		rc = xs_buf_append_str(&res->body, "no such page");
	}
	if (rc)
		res->status = 500;
}

static void srv_wake(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	xs_evloop_stop(loop);
}

static void *srv_main(void *arg)
{
	struct srv *v = arg;

	xs_evloop_run(v->loop, NULL);
	return NULL;
}

static bool srv_start(struct srv *v)
{
	const char *addrs[] = { "127.0.0.7" };
	char err[XS_ERR_LEN] = "";
	char addr[32];

	memset(v, 0, sizeof(*v));
	if (sim_tls_cert_generate(&cert, addrs, 1, err)) {
		fprintf(stderr, "cert: %s\n", err);
		return false;
	}
	v->loop = xs_evloop_new();
	if (!v->loop || pipe(v->wake))
		return false;
	v->http = sim_http_server_new(v->loop, srv_handler, v, NULL, NULL, err);
	v->tls = sim_http_server_new(v->loop, srv_handler, v, cert.cert_pem, cert.key_pem, err);
	if (!v->http || !v->tls) {
		fprintf(stderr, "server: %s\n", err);
		return false;
	}
	for (int id = 1; id <= NHOSTS; id++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", id + 1);
		if (sim_http_listen(v->http, id, addr, 0, err)) {
			fprintf(stderr, "listen %s: %s\n", addr, err);
			return false;
		}
		v->port[id] = sim_http_listen_port(v->http, id);
	}
	if (sim_http_listen(v->tls, TLS_ID, "127.0.0.7", 0, err)) {
		fprintf(stderr, "listen tls: %s\n", err);
		return false;
	}
	v->port[TLS_ID] = sim_http_listen_port(v->tls, TLS_ID);
	return !xs_evloop_add_fd(v->loop, v->wake[0], XS_EV_READ, srv_wake, v) &&
	       !pthread_create(&v->thread, NULL, srv_main, v);
}

static void srv_stop(struct srv *v)
{
	if (write(v->wake[1], "x", 1) == 1)
		pthread_join(v->thread, NULL);
	xs_evloop_del_fd(v->loop, v->wake[0]);
	close(v->wake[0]);
	close(v->wake[1]);
	sim_http_server_free(&v->http);
	sim_http_server_free(&v->tls);
	xs_evloop_free(&v->loop);
	sim_tls_cert_cleanup(&cert);
}

/* ---- the client side ----------------------------------------------------- */

struct run {
	struct xs_evloop *loop;
	struct xs_http *h;
	int pending;                /* on_done calls still expected; 0 stops the loop */
	bool timed_out;
};

struct result {
	struct run *run;
	int done;                   /* on_done calls */
	enum xs_err rc;
	long status;
	char error[XS_ERR_LEN];
	char ctype[128];
	char location[256];
	char body[8192];
	size_t body_len;
	bool body_null;
	double seconds;
	double at;                  /* loop clock at completion */
	/* streaming */
	size_t streamed;
	int chunks;
	int abort_after;            /* > 0: on_data returns 1 at this chunk */
	/* re-entrancy */
	uint64_t cancel_id;         /* cancelled from on_done / on_data */
	struct result *chain;       /* on_done submits chain_req with this result */
	struct xs_http_request *chain_req;
	uint64_t chain_id;
};

static void on_done(void *arg, const struct xs_http_response *res)
{
	struct result *r = arg;

	r->done++;
	r->rc = res->rc;
	r->status = res->status;
	snprintf(r->error, sizeof(r->error), "%s", res->error);
	snprintf(r->ctype, sizeof(r->ctype), "%s", res->content_type);
	snprintf(r->location, sizeof(r->location), "%s", res->location);
	r->body_null = res->body == NULL;
	r->body_len = res->body_len;
	if (res->body) {
		size_t n = res->body_len < sizeof(r->body) ? res->body_len : sizeof(r->body) - 1;

		memcpy(r->body, res->body, n);
		r->body[n] = '\0';
	}
	r->seconds = res->seconds;
	r->at = xs_evloop_now();
	if (r->cancel_id)
		xs_http_cancel(r->run->h, r->cancel_id);
	if (r->chain) {
		char err[XS_ERR_LEN] = "";

		r->chain_id = xs_http_submit(r->run->h, r->chain_req, err);
		if (r->chain_id)
			r->run->pending++;
	}
	if (--r->run->pending == 0)
		xs_evloop_stop(r->run->loop);
}

static int on_data(void *arg, const char *data, size_t len)
{
	struct result *r = arg;

	(void)data;
	r->streamed += len;
	r->chunks++;
	if (r->cancel_id) {
		xs_http_cancel(r->run->h, r->cancel_id);
		r->cancel_id = 0;
	}
	return r->abort_after && r->chunks >= r->abort_after;
}

static void run_guard(struct xs_evloop *loop, void *arg)
{
	struct run *run = arg;

	run->timed_out = true;
	xs_evloop_stop(loop);
}

static void run_init(struct run *run)
{
	char err[XS_ERR_LEN] = "";

	memset(run, 0, sizeof(*run));
	run->loop = xs_evloop_new();
	run->h = run->loop ? xs_http_new(run->loop, err) : NULL;
	if (!run->h)
		fprintf(stderr, "client: %s\n", err);
}

/* Runs the loop until every expected on_done came, or `seconds` passed. */
static bool run_loop(struct run *run, double seconds)
{
	uint64_t guard = xs_evloop_add_timer(run->loop, seconds, run_guard, run);

	run->timed_out = false;
	if (run->pending > 0)
		xs_evloop_run(run->loop, NULL);
	xs_evloop_cancel_timer(run->loop, guard);
	return !run->timed_out && run->pending == 0;
}

/* Also runs the loop a little longer, to see that nothing else is called back. */
static void run_idle(struct run *run, double seconds)
{
	xs_evloop_add_timer(run->loop, seconds, run_guard, run);
	xs_evloop_run(run->loop, NULL);
}

static void run_cleanup(struct run *run)
{
	xs_http_free(&run->h);
	ok(run->h == NULL, "free sets the pointer to NULL");
	xs_evloop_free(&run->loop);
}

static uint64_t submit(struct run *run, struct xs_http_request *req, struct result *r)
{
	char err[XS_ERR_LEN] = "";
	uint64_t id;

	r->run = run;
	req->on_done = on_done;
	req->arg = r;
	id = xs_http_submit(run->h, req, err);
	ok(id > 0, "submit %s: %s", req->url, err);
	if (id)
		run->pending++;
	ok(r->done == 0, "on_done is not called from inside submit");
	return id;
}

static void url(char *out, size_t cap, int id, const char *rest)
{
	snprintf(out, cap, "%s://127.0.0.%d:%u%s", id == TLS_ID ? "https" : "http",
		 id == TLS_ID ? 7 : id + 1, S.port[id], rest);
}

static bool no_secrets(const char *msg)
{
	return !strstr(msg, "s3cr") && !strstr(msg, "session_id") && !strstr(msg, "OpaqueRef") &&
	       !strstr(msg, "alice");
}

/* ---- tests ---------------------------------------------------------------- */

static void test_get_post(void)
{
	struct run run;
	struct result get = { 0 }, post = { 0 }, big = { 0 }, missing = { 0 };
	char u[128], body[] = "hello\0world", *large;
	struct xs_http_request req = { 0 };
	const size_t large_len = 300000;

	run_init(&run);
	fail_unless(run.h, "client");
	url(u, sizeof(u), 1, "/echo?a=1&b=two");
	req = (struct xs_http_request){ .method = "GET", .url = u, .accept = "application/json",
					.cookie = "session_id=abc" };
	submit(&run, &req, &get);
	req = (struct xs_http_request){ .method = "POST", .url = u, .content_type = "text/xml",
					.body = body, .body_len = sizeof(body) - 1 };
	submit(&run, &req, &post);
	memcpy(body, "HELLO", 5); /* the body was copied at submit */
	large = malloc(large_len);
	fail_unless(large, "malloc");
	memset(large, 'z', large_len);
	req = (struct xs_http_request){ .method = "POST", .url = u, .body = large,
					.body_len = large_len, .max_body = 1 << 20 };
	submit(&run, &req, &big);
	free(large);
	url(u, sizeof(u), 2, "/nothing-here");
	req = (struct xs_http_request){ .url = u };
	submit(&run, &req, &missing);
	ok(xs_http_active(run.h) == 4, "4 requests active: %zu", xs_http_active(run.h));
	ok(run_loop(&run, 10), "all done");

	ok(get.done == 1 && get.rc == XS_OK && get.status == 200, "GET: rc %d status %ld %s", get.rc,
	   get.status, get.error);
	ok(strstr(get.body, "method=GET ") && strstr(get.body, "accept=application/json ") &&
		   strstr(get.body, "cookie=session_id=abc ") && strstr(get.body, "query=a=1&b=two ") &&
		   strstr(get.body, "auth=- ") && strstr(get.body, "len=0 "),
	   "GET reached the server with its headers and query: %s", get.body);
	ok(!strcmp(get.ctype, "text/plain; charset=utf-8"), "content type: %s", get.ctype);
	ok(!strcmp(get.location, ""), "no location");
	ok(!get.body_null && get.body_len == strlen(get.body), "accumulated body, NUL-terminated");
	ok(get.seconds > 0 && get.seconds < 5, "seconds %g", get.seconds);

	ok(post.done == 1 && post.rc == XS_OK && post.status == 200, "POST: %s", post.error);
	ok(strstr(post.body, "method=POST ct=text/xml ") && strstr(post.body, "len=11 body=hello"),
	   "POST body and content type: %s", post.body);
	ok(post.body_len > 11 && !memcmp(post.body + post.body_len - 11, "hello\0world", 11),
	   "the body went out as copied at submit, NUL included");

	ok(big.done == 1 && big.rc == XS_OK && strstr(big.body, "len=300000 ") &&
		   big.body_len > large_len,
	   "large POST echoed: %s (%zu bytes)", big.error, big.body_len);
	ok(missing.done == 1 && missing.rc == XS_OK && missing.status == 404 &&
		   !strcmp(missing.body, "no such page"),
	   "a 404 is a response, not an error: rc %d status %ld", missing.rc, missing.status);
	ok(xs_http_active(run.h) == 0, "nothing active");
	run_cleanup(&run);
}

static void test_basic_auth(void)
{
	struct run run;
	struct result r = { 0 }, bad = { 0 };
	char u[256], err[XS_ERR_LEN] = "";
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	snprintf(u, sizeof(u), "http://alice:%s@127.0.0.2:%u/echo?session_id=" SESSION, SECRET_ENC,
		 S.port[1]);
	req.url = u;
	submit(&run, &req, &r);
	ok(run_loop(&run, 10), "done");
	ok(r.rc == XS_OK && strstr(r.body, "auth=Basic YWxpY2U6czNjckB0LXB3 "),
	   "user-info became Basic auth (decoded): %s", r.body);
	ok(strstr(r.body, "query=session_id=" SESSION " "), "the query still went out: %s", r.body);

	/* bad requests are refused at submit, without quoting the URL */
	req.url = "http://alice:" SECRET "@[::1/x?session_id=" SESSION;
	req.on_done = on_done;
	req.arg = &bad;
	ok(xs_http_submit(run.h, &req, err) == 0 && no_secrets(err), "bad URL: %s", err);
	req.url = "ftp://alice:" SECRET_ENC "@127.0.0.2/x";
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "scheme") && no_secrets(err),
	   "ftp refused: %s", err);
	req.url = u;
	req.method = "DELETE";
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "method") && no_secrets(err),
	   "method refused: %s", err);
	req.method = NULL;
	req.cookie = "a=b\r\nX-Injected: 1";
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "Cookie") && no_secrets(err),
	   "header injection refused: %s", err);
	req.cookie = NULL;
	req.on_done = NULL;
	ok(xs_http_submit(run.h, &req, err) == 0, "on_done is required: %s", err);
	ok(bad.done == 0 && xs_http_active(run.h) == 0, "refused requests never call back");
	run_cleanup(&run);
}

static void test_body_cap(void)
{
	struct run run;
	struct result fits = { 0 }, over = { 0 }, over404 = { 0 }, cut = { 0 };
	char u[128], u2[128], u3[128], u4[128];
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	url(u, sizeof(u), 1, "/size?n=4096");
	url(u2, sizeof(u2), 1, "/size?n=4097");
	url(u3, sizeof(u3), 2, "/size?n=100000");
	req = (struct xs_http_request){ .url = u, .max_body = 4096 };
	submit(&run, &req, &fits);
	req.url = u2;
	submit(&run, &req, &over);
	req.url = u3;
	submit(&run, &req, &over404);
	url(u4, sizeof(u4), 3, "/cut?n=1000");
	req.url = u4;
	submit(&run, &req, &cut);
	ok(run_loop(&run, 10), "done");
	ok(cut.rc == XS_ERR_TRUNCATED && cut.status == 200 && !strstr(cut.error, "n=1000"),
	   "a body cut short: %d %s", cut.rc, cut.error);
	ok(fits.rc == XS_OK && fits.body_len == 4096 && fits.body[4095] == 'a' + 4095 % 26,
	   "exactly the cap fits: %s", fits.error);
	ok(over.rc == XS_ERR_TOO_LARGE && strstr(over.error, "larger than 4096") &&
		   strstr(over.error, "GET http://127.0.0.2:") && !strstr(over.error, "n=4097"),
	   "one byte more: %d %s", over.rc, over.error);
	ok(over404.rc == XS_ERR_TOO_LARGE, "much more: %s", over404.error);
	run_cleanup(&run);
}

static void test_streaming(void)
{
	struct run run;
	struct result all = { 0 }, aborted = { 0 }, notfound = { 0 };
	char u[128], u2[128];
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	url(u, sizeof(u), 1, "/size?n=3000000");
	url(u2, sizeof(u2), 3, "/nothing");
	/* max_body does not apply to a streamed body */
	req = (struct xs_http_request){ .url = u, .on_data = on_data, .max_body = 1000 };
	submit(&run, &req, &all);
	aborted.abort_after = 1;
	submit(&run, &req, &aborted);
	req.url = u2;
	submit(&run, &req, &notfound);
	ok(run_loop(&run, 20), "done");
	ok(all.done == 1 && all.rc == XS_OK && all.streamed == 3000000 && all.body_null &&
		   all.chunks > 1,
	   "3 MB streamed in %d chunks, body NULL: %s", all.chunks, all.error);
	ok(aborted.done == 1 && aborted.rc == XS_ERR_ABORTED && aborted.chunks == 1 &&
		   strstr(aborted.error, "aborted"),
	   "on_data returning non-zero aborts: %d %s", aborted.rc, aborted.error);
	ok(notfound.rc == XS_OK && notfound.status == 404 && notfound.chunks == 0 &&
		   !notfound.body_null && !strcmp(notfound.body, "no such page"),
	   "a 404 body is not streamed but accumulated: %d chunks, '%s'", notfound.chunks,
	   notfound.body);
	run_cleanup(&run);
}

/* The loop's guard (a lock in xapistat serve): curl's socket work runs outside
 * it, on_data and on_done inside, entered once each (never nested). */
static struct {
	int inside, nested, enters, user_calls, outside;
} G;

static void g_enter(void *arg)
{
	(void)arg;
	G.nested += G.inside;
	G.inside = 1;
	G.enters++;
}

static void g_leave(void *arg)
{
	(void)arg;
	G.inside = 0; /* as if the other side always waited */
}

static int g_on_data(void *arg, const char *data, size_t len)
{
	G.user_calls++;
	G.outside += !G.inside;
	return on_data(arg, data, len);
}

static void g_on_done(void *arg, const struct xs_http_response *res)
{
	G.user_calls++;
	G.outside += !G.inside;
	on_done(arg, res);
}

static void test_guard(void)
{
	struct run run;
	struct result a = { 0 }, b = { 0 };
	char u[128], u2[128], err[XS_ERR_LEN] = "";
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	memset(&G, 0, sizeof(G));
	xs_evloop_set_guard(run.loop, g_enter, g_leave, g_leave, NULL);
	url(u, sizeof(u), 1, "/size?n=300000");
	url(u2, sizeof(u2), 2, "/size?n=10");
	a.run = b.run = &run;
	req = (struct xs_http_request){ .url = u, .on_data = g_on_data, .on_done = g_on_done,
					.arg = &a };
	ok(xs_http_submit(run.h, &req, err) > 0, "submit: %s", err);
	req.url = u2;
	req.arg = &b;
	ok(xs_http_submit(run.h, &req, err) > 0, "submit: %s", err);
	run.pending = 2;
	ok(run_loop(&run, 20), "done");
	ok(a.done == 1 && a.streamed == 300000 && b.done == 1 && b.streamed == 10, "both done");
	ok(G.user_calls > 2 && G.outside == 0, "on_data / on_done inside the guard: %d of %d outside",
	   G.outside, G.user_calls);
	ok(G.nested == 0, "the guard is never entered twice (%d)", G.nested);
	xs_evloop_set_guard(run.loop, NULL, NULL, NULL, NULL);
	run_cleanup(&run);
}

static void test_redirect(void)
{
	struct run run;
	struct result r = { 0 };
	char u[128], want[128];
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	url(u, sizeof(u), 1, "/redirect");
	url(want, sizeof(want), 1, "/target?session_id=abc");
	req.url = u;
	submit(&run, &req, &r);
	ok(run_loop(&run, 10), "done");
	ok(r.rc == XS_OK && r.status == 302 && !strcmp(r.body, "moved"), "302 reported: %ld %s",
	   r.status, r.error);
	ok(!strcmp(r.location, want), "location resolved: %s", r.location);
	run_idle(&run, 0.2);
	ok(atomic_load(&S.targets) == 0, "the redirect was not followed");
	run_cleanup(&run);
}

static void test_refused_and_timeout(void)
{
	struct run run;
	struct result refused = { 0 }, never = { 0 }, stalled = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char u[256];
	struct xs_http_request req = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: bind, learn it, close */
	sa.sin_addr.s_addr = inet_addr("127.0.0.8");
	fail_unless(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
			    !getsockname(fd, (struct sockaddr *)&sa, &sl),
		    "closed port");
	close(fd);
	run_init(&run);
	fail_unless(run.h, "client");
	snprintf(u, sizeof(u), "http://alice:%s@127.0.0.8:%u/x?session_id=" SESSION, SECRET_ENC,
		 ntohs(sa.sin_port));
	req = (struct xs_http_request){ .url = u, .timeout = 5 };
	submit(&run, &req, &refused);
	snprintf(u, sizeof(u), "http://alice:%s@127.0.0.3:%u/never?session_id=" SESSION, SECRET_ENC,
		 S.port[2]);
	req = (struct xs_http_request){ .url = u, .timeout = 0.5 };
	submit(&run, &req, &never);
	/* no byte for a second ends a request whose whole timeout is far off */
	req = (struct xs_http_request){ .url = u, .timeout = 60, .stall_timeout = 0.4 };
	submit(&run, &req, &stalled);
	ok(run_loop(&run, 10), "done");
	ok(refused.done == 1 && refused.rc == XS_ERR_IO && refused.seconds < 1 &&
		   strstr(refused.error, "GET http://127.0.0.8:") && strstr(refused.error, "/x: "),
	   "refused quickly (%.3f s): %s", refused.seconds, refused.error);
	ok(no_secrets(refused.error), "no password or query: %s", refused.error);
	ok(never.done == 1 && never.rc == XS_ERR_IO && never.seconds >= 0.45 && never.seconds < 2 &&
		   strstr(never.error, "timed out"),
	   "timed out (%.3f s): %s", never.seconds, never.error);
	ok(no_secrets(never.error), "no password or query: %s", never.error);
	ok(stalled.done == 1 && stalled.rc == XS_ERR_IO && stalled.seconds >= 0.9 &&
		   stalled.seconds < 5 && strstr(stalled.error, "too slow"),
	   "stalled for 1 s (0.4 rounded up), ended at %.3f s: %s", stalled.seconds, stalled.error);
	ok(no_secrets(stalled.error), "no password or query: %s", stalled.error);
	run_cleanup(&run);
}

static void test_concurrent(void)
{
	struct run run;
	static struct result r[NCONCURRENT];
	struct xs_http_request req = { 0 };
	char u[NCONCURRENT][128];
	double t0, fast_last = 0, slow_first = 1e9;
	int good = 0;

	memset(r, 0, sizeof(r));
	run_init(&run);
	fail_unless(run.h, "client");
	t0 = xs_evloop_now();
	for (int i = 0; i < NCONCURRENT; i++) {
		url(u[i], sizeof(u[i]), 1 + i % NHOSTS, "/host");
		req = (struct xs_http_request){ .url = u[i] };
		submit(&run, &req, &r[i]);
	}
	ok(xs_http_active(run.h) == NCONCURRENT, "all active");
	ok(run_loop(&run, 10), "all done");
	for (int i = 0; i < NCONCURRENT; i++) {
		int host = 1 + i % NHOSTS;
		char want[16];

		snprintf(want, sizeof(want), "host %d", host);
		good += r[i].done == 1 && r[i].rc == XS_OK && !strcmp(r[i].body, want);
		if (host == SLOW_HOST && r[i].at < slow_first)
			slow_first = r[i].at;
		if (host != SLOW_HOST && r[i].at > fast_last)
			fast_last = r[i].at;
	}
	ok(good == NCONCURRENT, "%d of %d right", good, NCONCURRENT);
	ok(fast_last < slow_first, "the fast hosts all finished before the slow one");
	ok(fast_last - t0 < SLOW_MS / 2000.0, "fast hosts took %.3f s", fast_last - t0);
	ok(slow_first - t0 >= SLOW_MS / 1000.0 - 0.05, "slow host took %.3f s", slow_first - t0);
	run_cleanup(&run);
}

static void test_cancel_and_reentry(void)
{
	struct run run;
	struct result never = { 0 }, never2 = { 0 }, never3 = { 0 }, first = { 0 };
	struct result streamer = { 0 }, chained = { 0 };
	char un[128], ue[128], us[128];
	struct xs_http_request req = { 0 }, chain_req = { 0 };
	uint64_t id;

	run_init(&run);
	fail_unless(run.h, "client");
	url(un, sizeof(un), 2, "/never");
	url(ue, sizeof(ue), 1, "/echo");
	url(us, sizeof(us), 3, "/size?n=2000000");

	/* plain cancel, right after submit */
	req.url = un;
	id = submit(&run, &req, &never);
	xs_http_cancel(run.h, id);
	run.pending--;
	ok(xs_http_active(run.h) == 0, "cancelled: nothing active");
	xs_http_cancel(run.h, id);
	xs_http_cancel(run.h, 999999);
	ok(xs_http_active(run.h) == 0, "unknown and repeated cancels are ignored");

	/* on_done of `first` cancels never2 and submits `chained` */
	first.cancel_id = submit(&run, &req, &never2);
	run.pending--; /* never2 will not call back */
	chain_req = (struct xs_http_request){ .url = ue, .on_done = on_done, .arg = &chained };
	chained.run = &run;
	first.chain = &chained;
	first.chain_req = &chain_req;
	req.url = ue;
	submit(&run, &req, &first);

	/* on_data of `streamer` (inside curl) cancels never3 */
	req.url = un;
	streamer.cancel_id = submit(&run, &req, &never3);
	run.pending--; /* never3 will not call back */
	req = (struct xs_http_request){ .url = us, .on_data = on_data };
	submit(&run, &req, &streamer);
	ok(xs_http_active(run.h) == 4, "4 active: %zu", xs_http_active(run.h));

	ok(run_loop(&run, 10), "done (pending %d)", run.pending);
	ok(first.done == 1 && first.rc == XS_OK, "first: %s", first.error);
	ok(chained.done == 1 && chained.rc == XS_OK && first.chain_id > 0 &&
		   strstr(chained.body, "method=GET"),
	   "a request submitted from on_done ran: %s", chained.error);
	ok(streamer.done == 1 && streamer.rc == XS_OK && streamer.streamed == 2000000,
	   "streamer: %s", streamer.error);
	ok(never.done == 0 && never2.done == 0 && never3.done == 0,
	   "no callback for cancelled requests (%d %d %d)", never.done, never2.done, never3.done);
	ok(xs_http_active(run.h) == 0, "nothing active: %zu", xs_http_active(run.h));
	run_idle(&run, 0.2);
	ok(never.done == 0 && never2.done == 0 && never3.done == 0, "still none later");
	run_cleanup(&run);
}

/* on_data submits a request (inside curl: it starts once curl has returned) */
static int on_data_submit(void *arg, const char *data, size_t len)
{
	struct result *r = arg;

	if (!r->chunks++ && r->chain) {
		char err[XS_ERR_LEN] = "";

		r->chain_id = xs_http_submit(r->run->h, r->chain_req, err);
		if (r->chain_id)
			r->run->pending++;
		r->chain = NULL; /* once: on_done must not submit it again */
	}
	(void)data;
	r->streamed += len;
	return 0;
}

static void test_submit_in_on_data(void)
{
	struct run run;
	struct result s = { 0 }, inner = { 0 };
	char us[128], ue[128];
	struct xs_http_request req = { 0 }, inner_req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	url(us, sizeof(us), 4, "/size?n=1000000");
	url(ue, sizeof(ue), 4, "/echo");
	inner_req = (struct xs_http_request){ .url = ue, .on_done = on_done, .arg = &inner };
	inner.run = &run;
	s.chain = &inner;
	s.chain_req = &inner_req;
	req = (struct xs_http_request){ .url = us, .on_data = on_data_submit };
	submit(&run, &req, &s);
	ok(run_loop(&run, 10), "done");
	ok(s.rc == XS_OK && s.streamed == 1000000, "streamed: %s", s.error);
	ok(s.chain_id > 0 && inner.done == 1 && inner.rc == XS_OK,
	   "request submitted from on_data ran: id %llu done %d rc %d %s",
	   (unsigned long long)s.chain_id, inner.done, inner.rc, inner.error);
	run_cleanup(&run);
}

static void test_cancel_self_in_on_data(void)
{
	struct run run;
	struct result self = { 0 };
	char us[128];
	struct xs_http_request req = { 0 };
	uint64_t id;

	run_init(&run);
	fail_unless(run.h, "client");
	url(us, sizeof(us), 4, "/size?n=2000000");
	req = (struct xs_http_request){ .url = us, .on_data = on_data };
	id = submit(&run, &req, &self);
	self.cancel_id = id;
	run.pending--;
	run_idle(&run, 0.5);
	ok(self.chunks == 1 && self.done == 0 && xs_http_active(run.h) == 0,
	   "cancelled itself from on_data: %d chunks, %d done", self.chunks, self.done);
	run_cleanup(&run);
}

static void test_free_running(void)
{
	struct run run;
	struct result a = { 0 }, b = { 0 }, c = { 0 };
	char un[128], us[128];
	struct xs_http_request req = { 0 };

	run_init(&run);
	fail_unless(run.h, "client");
	url(un, sizeof(un), 2, "/never");
	url(us, sizeof(us), 5, "/host");
	req.url = un;
	submit(&run, &req, &a);
	submit(&run, &req, &b);
	req.url = us;
	submit(&run, &req, &c);
	run_idle(&run, 0.2); /* connected, waiting for answers */
	ok(xs_http_active(run.h) == 3, "3 running");
	xs_http_free(&run.h);
	ok(!run.h && a.done == 0 && b.done == 0 && c.done == 0, "freed with no callbacks");
	run_idle(&run, 0.2); /* no stale watcher or timer fires */
	ok(a.done == 0 && b.done == 0 && c.done == 0, "nothing later either");
	xs_evloop_free(&run.loop);
}

static void tls_req(struct xs_http_request *req, struct xs_tls_opts *tls, const char *u)
{
	*req = (struct xs_http_request){ .url = u, .tls = tls, .timeout = 5 };
}

struct pins {
	struct xs_tls_opts right, wrong, lower, insecure;
	struct xs_tls_opts second; /* "wrong, right": the second of two matches */
	struct xs_tls_opts none;   /* "wrong,wrong2": two, neither matches */
};

static void pins_init(struct pins *p)
{
	size_t o = 0;
	char wrong2[XS_TLS_FP_LEN];

	memset(p, 0, sizeof(*p));
	p->insecure.insecure = true;
	snprintf(p->right.pins, sizeof(p->right.pins), "%s", cert.fingerprint);
	p->wrong = p->right;
	p->wrong.pins[0] = p->wrong.pins[0] == 'A' ? 'B' : 'A';
	for (const char *c = cert.fingerprint; *c; c++) {
		if (*c != ':')
			p->lower.pins[o++] = (char)tolower((unsigned char)*c);
	}
	snprintf(p->second.pins, sizeof(p->second.pins), "%.95s, %.95s", p->wrong.pins, p->lower.pins);
	snprintf(wrong2, sizeof(wrong2), "%s", cert.fingerprint);
	wrong2[1] = wrong2[1] == 'A' ? 'B' : 'A';
	snprintf(p->none.pins, sizeof(p->none.pins), "%.95s,%.95s", p->wrong.pins, wrong2);
}

/* A fresh client for every check group: the handshake itself is tested. */
static void test_tls_fresh(void)
{
	struct run run;
	struct result right = { 0 }, wrong = { 0 }, sys = { 0 }, insecure = { 0 }, ca = { 0 };
	struct result lower = { 0 }, second = { 0 }, none = { 0 };
	struct pins p;
	struct xs_tls_opts t_ca = { 0 };
	struct xs_http_request req;
	char u[128], ca_path[] = "/tmp/xs-http-ca-XXXXXX";
	int before, fd = mkstemp(ca_path);

	fail_unless(fd >= 0, "temp file");
	ok(write(fd, cert.cert_pem, strlen(cert.cert_pem)) == (ssize_t)strlen(cert.cert_pem),
	   "CA file written");
	close(fd);
	pins_init(&p);
	t_ca.ca_file = ca_path;
	url(u, sizeof(u), TLS_ID, "/tls");
	run_init(&run);
	before = atomic_load(&S.tls_requests);
	tls_req(&req, &p.wrong, u);
	submit(&run, &req, &wrong);
	tls_req(&req, &p.right, u);
	submit(&run, &req, &right);
	tls_req(&req, NULL, u);
	submit(&run, &req, &sys);
	tls_req(&req, &p.insecure, u);
	submit(&run, &req, &insecure);
	tls_req(&req, &t_ca, u);
	submit(&run, &req, &ca);
	tls_req(&req, &p.lower, u);
	submit(&run, &req, &lower);
	tls_req(&req, &p.second, u);
	submit(&run, &req, &second);
	tls_req(&req, &p.none, u);
	submit(&run, &req, &none);
	ok(run_loop(&run, 15), "done");
	ok(right.rc == XS_OK && !strcmp(right.body, "tls=1"), "right pin: %s", right.error);
	ok(lower.rc == XS_OK, "pin in lower case without colons: %s", lower.error);
	ok(wrong.rc == XS_ERR_UPSTREAM && strstr(wrong.error, "pin did not match") &&
		   strstr(wrong.error, cert.fingerprint),
	   "wrong pin: %s", wrong.error);
	ok(second.rc == XS_OK && !strcmp(second.body, "tls=1"), "two pins, the second matches: %s",
	   second.error);
	ok(none.rc == XS_ERR_UPSTREAM && strstr(none.error, "pin did not match") &&
		   strstr(none.error, cert.fingerprint),
	   "two pins, none matches: the error names the server's: %s", none.error);
	ok(sys.rc == XS_ERR_UPSTREAM && strstr(sys.error, "TLS verification failed"),
	   "self-signed against the system CAs: %d %s", sys.rc, sys.error);
	ok(insecure.rc == XS_OK && !strcmp(insecure.body, "tls=1"), "insecure: %s", insecure.error);
	ok(ca.rc == XS_OK && !strcmp(ca.body, "tls=1"), "CA file: %s", ca.error);
	ok(atomic_load(&S.tls_requests) - before == 5, "the failed ones sent no request: %d",
	   atomic_load(&S.tls_requests) - before);
	run_cleanup(&run);
	unlink(ca_path);

	/* a CA file that does not exist */
	run_init(&run);
	memset(&ca, 0, sizeof(ca));
	t_ca.ca_file = "/nonexistent/ca.pem";
	tls_req(&req, &t_ca, u);
	submit(&run, &req, &ca);
	ok(run_loop(&run, 5) && ca.rc == XS_ERR_ARG && ca.error[0], "missing CA file: %d %s", ca.rc,
	   ca.error);
	run_cleanup(&run);
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool done = f && fputs(text, f) >= 0;

	return (f && !fclose(f)) && done;
}

/*
 * A CA file replaced while the client runs (hosts given certificates of a new CA): a new
 * connection verifies with what the file holds now, not with libcurl's store built from
 * it before (kept 24 h by default). One client: a request with the right CA, whose
 * connection the server closes after it; then the file holds another certificate, and
 * the next request, on a new connection, fails verification. (Two requests at once,
 * meant to need a second connection, ran one after the other on a loaded machine.)
 */
static void test_tls_ca_replaced(void)
{
	const char *addrs[] = { "127.0.0.7" };
	struct sim_tls_cert other = { 0 };
	struct result first = { 0 }, a = { 0 };
	struct xs_tls_opts t_ca = { 0 };
	struct xs_http_request req;
	struct run run;
	char u[128], ca_path[] = "/tmp/xs-http-ca2-XXXXXX", err[XS_ERR_LEN] = "";
	int fd = mkstemp(ca_path);

	fail_unless(fd >= 0, "temp file");
	close(fd);
	fail_unless(!sim_tls_cert_generate(&other, addrs, 1, err), "another certificate: %s", err);
	ok(write_file(ca_path, cert.cert_pem), "CA file written");
	t_ca.ca_file = ca_path;
	url(u, sizeof(u), TLS_ID, "/tls-close");
	run_init(&run);
	tls_req(&req, &t_ca, u);
	submit(&run, &req, &first);
	ok(run_loop(&run, 10) && first.rc == XS_OK, "the right CA: %s", first.error);
	ok(write_file(ca_path, other.cert_pem), "the CA file now holds another certificate");
	tls_req(&req, &t_ca, u);
	submit(&run, &req, &a);
	ok(run_loop(&run, 10), "done");
	ok(a.rc == XS_ERR_UPSTREAM && strstr(a.error, "TLS verification failed"),
	   "a new connection verifies with the file's new content: %d %s", a.rc, a.error);
	run_cleanup(&run);
	sim_tls_cert_cleanup(&other);
	unlink(ca_path);
}

/* Pooled connections made under the right pin, or insecure, then a wrong pin,
 * or another list. */
static void test_tls_reused(void)
{
	struct run run;
	struct result right = { 0 }, wrong = { 0 }, insecure = { 0 }, wrong2 = { 0 };
	struct result none = { 0 }, second = { 0 };
	struct pins p;
	struct xs_http_request req;
	char u[128], err[XS_ERR_LEN] = "";
	int before;

	pins_init(&p);
	url(u, sizeof(u), TLS_ID, "/tls");
	run_init(&run);
	fail_unless(run.h, "client");
	tls_req(&req, &p.right, u);
	submit(&run, &req, &right);
	ok(run_loop(&run, 5) && right.rc == XS_OK, "right pin: %s", right.error);
	before = atomic_load(&S.tls_requests);
	tls_req(&req, &p.wrong, u);
	submit(&run, &req, &wrong);
	ok(run_loop(&run, 5) && wrong.rc == XS_ERR_UPSTREAM &&
		   strstr(wrong.error, "pin did not match"),
	   "wrong pin on the pooled connection: %s", wrong.error);
	tls_req(&req, &p.insecure, u);
	submit(&run, &req, &insecure);
	ok(run_loop(&run, 5) && insecure.rc == XS_OK, "insecure: %s", insecure.error);
	tls_req(&req, &p.wrong, u);
	submit(&run, &req, &wrong2);
	ok(run_loop(&run, 5) && wrong2.rc == XS_ERR_UPSTREAM &&
		   strstr(wrong2.error, "pin did not match"),
	   "wrong pin after insecure: %s", wrong2.error);
	ok(atomic_load(&S.tls_requests) - before == 1, "only the insecure one was sent: %d",
	   atomic_load(&S.tls_requests) - before);
	/* a connection made under one list carries another list's request only if it matches */
	tls_req(&req, &p.none, u);
	submit(&run, &req, &none);
	ok(run_loop(&run, 5) && none.rc == XS_ERR_UPSTREAM && strstr(none.error, cert.fingerprint),
	   "a list without the leaf on the pooled connection: %s", none.error);
	tls_req(&req, &p.second, u);
	submit(&run, &req, &second);
	ok(run_loop(&run, 5) && second.rc == XS_OK, "a list with it: %s", second.error);
	ok(atomic_load(&S.tls_requests) - before == 2, "the one without was not sent: %d",
	   atomic_load(&S.tls_requests) - before);

	/* bad pins are refused at submit */
	snprintf(p.wrong.pins, sizeof(p.wrong.pins), "AB:CD");
	tls_req(&req, &p.wrong, u);
	req.on_done = on_done;
	req.arg = &wrong;
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "pin"), "short pin: %s", err);
	snprintf(p.wrong.pins, sizeof(p.wrong.pins), "%s", cert.fingerprint);
	p.wrong.pins[1] = 'x';
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "pin"), "not hex: %s", err);
	snprintf(p.wrong.pins, sizeof(p.wrong.pins), "%s,AB:CD", cert.fingerprint);
	ok(xs_http_submit(run.h, &req, err) == 0 && strstr(err, "pin list: 'AB:CD'"),
	   "a bad second pin is named: %s", err);
	run_cleanup(&run);
}

int main(void)
{
	if (!srv_start(&S)) {
		fprintf(stderr, "could not start the server\n");
		return 1;
	}
	TEST_RUN(test_get_post);
	TEST_RUN(test_basic_auth);
	TEST_RUN(test_body_cap);
	TEST_RUN(test_streaming);
	TEST_RUN(test_guard);
	TEST_RUN(test_redirect);
	TEST_RUN(test_refused_and_timeout);
	TEST_RUN(test_concurrent);
	TEST_RUN(test_cancel_and_reentry);
	TEST_RUN(test_submit_in_on_data);
	TEST_RUN(test_cancel_self_in_on_data);
	TEST_RUN(test_free_running);
	TEST_RUN(test_tls_fresh);
	TEST_RUN(test_tls_reused);
	TEST_RUN(test_tls_ca_replaced);
	srv_stop(&S);
	return test_summary();
}
