/*
 * Tests of sim/http.c: the server runs its event loop on a second thread and
 * the tests talk to it with plain blocking sockets on 127.0.0.x, checking
 * keep-alive, pipelining, bodies, the faults (delay, cut body, HTTP/1.0
 * close-delimited), the caps, unlisten, and the query/cookie helpers;
 * deferred responses (completed from a timer on the loop, client gone,
 * unlisten meanwhile, pipelined requests waiting their turn); and TLS with an
 * OpenSSL client (verification against the generated certificate, the peer's
 * fingerprint, the faults over TLS, a plain-HTTP client on the TLS port).
 * Every test starts its own server and stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../../../sim/http.c"
#include "../../../sim/tls_cert.h"
#include "test.h"

#define BIG_BODY (4u << 20) /* /big: more than the socket buffers hold, so writes block */
#define PACED_BODY 10000    /* /paced: 3 steps of SIM_HTTP_PACE_BYTES, 100 ms apart */

struct srv {
	struct xs_evloop *loop;
	struct sim_http_server *http;
	pthread_t thread;
	int wake[2];          /* writing to wake[1] stops the loop */
	int last_listener;    /* req->listener of the last request */
	int requests;         /* handler calls */
	double defer_after;   /* /defer: seconds until the loop completes it */
	double down_after;    /* /defer: > 0 = unlisten 1 this many seconds after deferring */
	uint64_t defer_id;    /* id of the last deferred response */
	char log[512];        /* what the handler and the timers saw, in order */
};

static void srv_log(struct srv *v, const char *what)
{
	size_t n = strlen(v->log);

	snprintf(v->log + n, sizeof(v->log) - n, "%s;", what);
}

/* Timer on the loop: completes the deferred response, if its client is still there. */
static void srv_complete(struct xs_evloop *loop, void *arg)
{
	struct srv *v = arg;
	struct sim_http_response *res = sim_http_deferred(v->http, v->defer_id);

	(void)loop;
	if (!res) {
		sim_http_send_deferred(v->http, v->defer_id); /* a dead id is ignored */
		srv_log(v, "gone");
		return;
	}
	if (xs_buf_printf(&res->body, "deferred %" PRIu64, v->defer_id))
		res->status = 500;
	sim_http_send_deferred(v->http, v->defer_id);
	srv_log(v, sim_http_deferred(v->http, v->defer_id) ? "still-there" : "complete");
}

/* Timer on the loop: the host goes down while a response is deferred. */
static void srv_down(struct xs_evloop *loop, void *arg)
{
	struct srv *v = arg;

	(void)loop;
	sim_http_unlisten(v->http, 1);
	srv_log(v, sim_http_deferred(v->http, v->defer_id) ? "down-alive" : "down-dead");
}

static void srv_defer(struct srv *v, struct sim_http_response *res)
{
	uint64_t id = sim_http_defer(res);

	if (!id || id <= v->defer_id) {
		srv_log(v, "bad-id");
		return;
	}
	v->defer_id = id;
	xs_evloop_add_timer(v->loop, v->defer_after, srv_complete, v);
	if (v->down_after > 0)
		xs_evloop_add_timer(v->loop, v->down_after, srv_down, v);
}

static void srv_handler(void *ctx, const struct sim_http_request *req, struct sim_http_response *res)
{
	struct srv *v = ctx;
	enum xs_err rc = XS_OK;
	char val[64];
	size_t pos = 0;
	char key[64];

	v->requests++;
	v->last_listener = req->listener;
	if (req->path.len < 64) {
		char what[64];

		snprintf(what, sizeof(what), "%.*s", (int)req->path.len, req->path.ptr);
		srv_log(v, what);
	}
	if (http_slice_eq(req->path, "/defer")) {
		srv_defer(v, res);
	} else if (http_slice_eq(req->path, "/tls")) {
		rc = xs_buf_printf(&res->body, "tls=%d", req->tls);
	} else if (http_slice_eq(req->path, "/big")) {
		rc = xs_buf_reserve(&res->body, BIG_BODY);
		if (!rc) {
			for (size_t i = 0; i < BIG_BODY; i++)
				res->body.data[i] = (char)('a' + i % 26);
			xs_buf_commit(&res->body, BIG_BODY);
		}
	} else if (http_slice_eq(req->path, "/hello")) {
		rc = xs_buf_printf(&res->body, "hello %.*s %d", (int)req->method.len, req->method.ptr,
				   req->listener);
	} else if (http_slice_eq(req->path, "/echo")) {
		rc = xs_buf_append(&res->body, req->body.ptr, req->body.len);
	} else if (http_slice_eq(req->path, "/delay")) {
		res->delay_ms = 200;
		rc = xs_buf_append_str(&res->body, "late");
	} else if (http_slice_eq(req->path, "/paced")) {
		for (int i = 0; i < PACED_BODY && !rc; i++)
			rc = xs_buf_append(&res->body, "p", 1);
		res->pace_ms = 100;
	} else if (http_slice_eq(req->path, "/cut")) {
		for (int i = 0; i < 1000 && !rc; i++)
			rc = xs_buf_append(&res->body, "x", 1);
		res->cut_at = 100;
	} else if (http_slice_eq(req->path, "/old")) {
		res->http10 = true;
		rc = xs_buf_append_str(&res->body, "old-style body");
	} else if (http_slice_eq(req->path, "/close")) {
		res->close = true;
		res->status = 404;
		rc = xs_buf_append_str(&res->headers, "X-Test: yes\r\n");
	} else if (http_slice_eq(req->path, "/down")) {
		sim_http_unlisten(v->http, req->listener);
	} else if (http_slice_eq(req->path, "/query")) {
		while (!rc && sim_http_query_next(req, &pos, key, sizeof(key), val, sizeof(val)))
			rc = xs_buf_printf(&res->body, "%s=%s;", key, val);
		if (!rc && sim_http_cookie(req, "session_id", val, sizeof(val)))
			rc = xs_buf_printf(&res->body, "cookie=%s", val);
	} else {
		res->status = 404;
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

/* Starts a server (TLS if cert_pem) with listener id 1 on 127.0.0.2; returns its port, or 0. */
static uint16_t srv_start_with(struct srv *v, const char *cert_pem, const char *key_pem)
{
	char err[XS_ERR_LEN] = "";

	memset(v, 0, sizeof(*v));
	v->defer_after = 0.2;
	v->loop = xs_evloop_new();
	if (!v->loop || pipe(v->wake))
		return 0;
	v->http = sim_http_server_new(v->loop, srv_handler, v, cert_pem, key_pem, err);
	if (!v->http || sim_http_listen(v->http, 1, "127.0.0.2", 0, err)) {
		fprintf(stderr, "srv_start: %s\n", err);
		return 0;
	}
	if (xs_evloop_add_fd(v->loop, v->wake[0], XS_EV_READ, srv_wake, v) ||
	    pthread_create(&v->thread, NULL, srv_main, v))
		return 0;
	return sim_http_listen_port(v->http, 1);
}

static uint16_t srv_start(struct srv *v)
{
	return srv_start_with(v, NULL, NULL);
}

static void srv_stop(struct srv *v)
{
	if (write(v->wake[1], "x", 1) == 1)
		pthread_join(v->thread, NULL);
	xs_evloop_del_fd(v->loop, v->wake[0]);
	close(v->wake[0]);
	close(v->wake[1]);
	sim_http_server_free(&v->http);
	xs_evloop_free(&v->loop);
}

static int cli_connect(const char *addr, uint16_t port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 3, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

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

static bool cli_send(int fd, const char *s)
{
	size_t n = strlen(s);

	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Reads up to n bytes: a count, 0 at EOF, -1 on a timeout or error. */
typedef ssize_t (*cli_reader)(void *arg, char *buf, size_t n);

static ssize_t cli_recv(void *arg, char *buf, size_t n)
{
	return recv(*(int *)arg, buf, n, 0);
}

/*
 * Reads one response into out (NUL-terminated): up to the end of its
 * Content-Length body, or to EOF if it has none. Returns its length, -1 on a
 * timeout or error. *eof says whether the server closed the connection.
 */
static ssize_t cli_response_via(cli_reader rd, void *arg, char *out, size_t cap, bool *eof)
{
	size_t len = 0;

	*eof = false;
	for (;;) {
		char *end;
		ssize_t r;

		out[len] = '\0';
		end = len ? strstr(out, "\r\n\r\n") : NULL;
		if (end) {
			char *cl = strcasestr(out, "content-length:");
			size_t head = (size_t)(end + 4 - out);

			if (cl && cl < end && len >= head + strtoul(cl + 15, NULL, 10))
				return (ssize_t)len;
		}
		if (len + 1 >= cap)
			return -1;
		r = rd(arg, out + len, cap - 1 - len);
		if (r == 0) {
			*eof = true;
			return (ssize_t)len;
		}
		if (r < 0)
			return -1;
		len += (size_t)r;
		out[len] = '\0';
	}
}

static ssize_t cli_response(int fd, char *out, size_t cap, bool *eof)
{
	return cli_response_via(cli_recv, &fd, out, cap, eof);
}

/* Whether the server closes fd (EOF within the receive timeout). */
static bool cli_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

static const char *body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	return p ? p + 4 : "";
}

static void test_keepalive_and_pipelining(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	size_t n;
	bool eof;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	ok(fd >= 0, "connect");
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), "send 1");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !eof, "response 1, still open");
	ok(!strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), "status line: %.20s", buf);
	ok(strstr(buf, "Content-Length: 11\r\n") && !strcmp(body_of(buf), "hello GET 1"),
	   "body of response 1: %s", buf);
	ok(cli_send(fd, "GET /hello?x=1 HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\n"
			"Content-Length: 3\r\n\r\nabc"),
	   "two pipelined requests in one write");
	n = 0;
	buf[0] = '\0';
	while (n < sizeof(buf) - 1 && !strstr(buf, "abc")) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	ok(!strcmp(buf, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello GET 1"
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
	   "both pipelined responses, in order: %s", buf);
	ok(v.requests == 3, "three handler calls (%d)", v.requests);
	close(fd);
	srv_stop(&v);
}

static void test_body_split(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	bool eof;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "POST /echo HTTP/1.1\r\nContent-Len"), "part 1");
	usleep(20000);
	ok(cli_send(fd, "gth:  5 \r\n\r\nhel"), "part 2");
	usleep(20000);
	ok(v.requests == 0, "no handler call before the body is complete");
	ok(cli_send(fd, "lo"), "part 3");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello"),
	   "body joined across writes: %s", buf);
	close(fd);
	srv_stop(&v);
}

static void test_faults(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	double t0;
	bool eof;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	t0 = xs_evloop_now();
	ok(cli_send(fd, "GET /delay HTTP/1.1\r\n\r\n"), "send /delay");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "late"),
	   "delayed response");
	ok(xs_evloop_now() - t0 >= 0.19, "delay honoured (%.3f s)", xs_evloop_now() - t0);
	ok(cli_send(fd, "GET /cut HTTP/1.1\r\n\r\n"), "send /cut");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && eof, "cut response ends in EOF");
	ok(strstr(buf, "Content-Length: 1000\r\n") && strlen(body_of(buf)) == 100,
	   "Content-Length 1000 but 100 bytes (%zu)", strlen(body_of(buf)));
	close(fd);

	fd = cli_connect("127.0.0.2", port);
	{
		static char paced[PACED_BODY + 1024];

		t0 = xs_evloop_now();
		ok(cli_send(fd, "GET /paced HTTP/1.1\r\n\r\n"), "send /paced");
		ok(cli_response(fd, paced, sizeof(paced), &eof) > 0 &&
			   strspn(body_of(paced), "p") == PACED_BODY && !eof,
		   "paced body whole (%zu bytes), connection kept",
		   strspn(body_of(paced), "p"));
		ok(xs_evloop_now() - t0 >= 0.19, "two pauses of 100 ms (%.3f s)",
		   xs_evloop_now() - t0);
	}
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\n\r\n") &&
		   cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strncmp(body_of(buf), "hello", 5),
	   "the next request on that connection: %s", body_of(buf));
	close(fd);

	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /old HTTP/1.1\r\n\r\n"), "send /old");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && eof, "HTTP/1.0 response ends in EOF");
	ok(!strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) && !strcasestr(buf, "content-length") &&
		   !strcmp(body_of(buf), "old-style body"),
	   "close-delimited body: %s", buf);
	close(fd);

	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /close HTTP/1.1\r\n\r\n"), "send /close");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0, "close response");
	ok(!strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) && strstr(buf, "X-Test: yes\r\n") &&
		   strstr(buf, "Connection: close\r\n"),
	   "status, extra header, Connection: close: %s", buf);
	ok(cli_closed(fd), "server closed");
	close(fd);
	srv_stop(&v);
}

static void test_versions_and_head(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	bool eof;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /hello HTTP/1.0\r\n\r\n"), "HTTP/1.0 request");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && strstr(buf, "Connection: close\r\n"),
	   "HTTP/1.0 without keep-alive closes: %s", buf);
	ok(eof || cli_closed(fd), "closed");
	close(fd);

	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "HEAD /hello HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), "HEAD 1.0 ka");
	memset(buf, 0, sizeof(buf));
	ok(recv(fd, buf, sizeof(buf) - 1, 0) > 0, "head received");
	ok(strstr(buf, "Content-Length: 12\r\n") && strstr(buf, "Connection: keep-alive\r\n") &&
		   !strcmp(body_of(buf), ""),
	   "HEAD: length but no body, kept alive: %s", buf);
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n"),
	   "same connection, asks to close");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 1"),
	   "answered");
	ok(eof || cli_closed(fd), "then closed");
	close(fd);
	srv_stop(&v);
}

struct reject_case {
	const char *req;
	const char *status; /* expected status line prefix */
};

static void test_rejects(void)
{
	static char big[SIM_HTTP_MAX_HEAD + 100];
	static char many[SIM_HTTP_MAX_HEADERS * 8 + 64];
	const struct reject_case cases[] = {
		{ "GARBAGE\r\n\r\n", "HTTP/1.1 400 " },
		{ "GET /hello HTTP/2.0\r\n\r\n", "HTTP/1.1 505 " },
		{ "GET /hello HTTP/1.1\r\nno colon\r\n\r\n", "HTTP/1.1 400 " },
		{ "POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413 " },
		{ "POST /echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "HTTP/1.1 400 " },
		{ "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		  "HTTP/1.1 400 " },
		{ "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 501 " },
		{ big, "HTTP/1.1 431 " },
		{ many, "HTTP/1.1 431 " },
	};
	struct srv v;
	uint16_t port = srv_start(&v);
	size_t n;

	fail_unless(port, "server started");
	n = (size_t)snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'a', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= SIM_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "H%d: 1\r\n", i % 10);
	snprintf(many + n, sizeof(many) - n, "\r\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[4096];
		bool eof;
		int fd = cli_connect("127.0.0.2", port);

		ok(cli_send(fd, cases[i].req), "case %zu sent", i);
		ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 &&
			   !strncmp(buf, cases[i].status, strlen(cases[i].status)),
		   "case %zu: want %s, got %.40s", i, cases[i].status, buf);
		ok(eof || cli_closed(fd), "case %zu: connection closed", i);
		close(fd);
	}
	ok(v.requests == 0, "no rejected request reached the handler");
	srv_stop(&v);
}

static void test_listeners(void)
{
	struct srv v;
	struct xs_evloop *loop;
	uint16_t port, port3;
	char err[XS_ERR_LEN] = "";
	char buf[4096];
	bool eof;
	int fd, fd3;

	/* listeners are added before the loop thread starts: the server is not thread-safe */
	memset(&v, 0, sizeof(v));
	v.loop = xs_evloop_new();
	v.http = sim_http_server_new(v.loop, srv_handler, &v, NULL, NULL, err);
	fail_unless(v.http, "server");
	ok(sim_http_listen(v.http, 1, "127.0.0.2", 0, err) == 0, "listen 1");
	ok(sim_http_listen(v.http, 1, "127.0.0.4", 0, err) == -1 && strstr(err, "already"),
	   "duplicate id: %s", err);
	ok(sim_http_listen(v.http, 5, "localhost", 0, err) == -1 && strstr(err, "IPv4"),
	   "not an address: %s", err);
	ok(sim_http_listen(v.http, 3, "127.0.0.3", 0, err) == 0, "listen 3");
	ok(sim_http_listen(v.http, 6, "127.0.0.3", sim_http_listen_port(v.http, 3), err) == -1,
	   "port in use: %s", err);
	ok(sim_http_listen_port(v.http, 9) == 0, "no port for an unknown id");
	port = sim_http_listen_port(v.http, 1);
	port3 = sim_http_listen_port(v.http, 3);
	fail_unless(pipe(v.wake) == 0, "pipe");
	fail_unless(!xs_evloop_add_fd(v.loop, v.wake[0], XS_EV_READ, srv_wake, &v) &&
			    !pthread_create(&v.thread, NULL, srv_main, &v),
		    "thread");

	fd3 = cli_connect("127.0.0.3", port3);
	ok(cli_send(fd3, "GET /hello HTTP/1.1\r\n\r\n"), "send to listener 3");
	ok(cli_response(fd3, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 3"),
	   "listener id reaches the handler: %s", body_of(buf));
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\n\r\n"), "send to listener 1");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 1"),
	   "listener 1");
	/* host 3 goes down from inside its own request: the open connection is closed */
	ok(cli_send(fd3, "GET /down HTTP/1.1\r\n\r\n"), "send /down");
	ok(cli_closed(fd3), "connection of the unlistened host closed without an answer");
	close(fd3);
	ok(cli_connect("127.0.0.3", port3) < 0 && errno == ECONNREFUSED, "host 3 refuses now");
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\n\r\n"), "host 1 still up");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 1"),
	   "host 1 answers");
	close(fd);
	srv_stop(&v);

	loop = xs_evloop_new();
	ok(!sim_http_server_new(loop, srv_handler, NULL, "cert", "key", err) &&
		   strstr(err, "certificate"),
	   "TLS with text that is no PEM: %s", err);
	ok(!sim_http_server_new(loop, srv_handler, NULL, "cert", NULL, err) && strstr(err, "key"),
	   "TLS needs a key too: %s", err);
	xs_evloop_free(&loop);
}

static struct sim_http_request req_with(const char *query, const char *cookie)
{
	struct sim_http_request r;

	memset(&r, 0, sizeof(r));
	r.query = (struct sim_http_slice){ query, strlen(query) };
	if (cookie) {
		r.headers[0].name = (struct sim_http_slice){ "Cookie", 6 };
		r.headers[0].value = (struct sim_http_slice){ cookie, strlen(cookie) };
		r.nheaders = 1;
	}
	return r;
}

static void test_helpers(void)
{
	struct sim_http_request r = req_with("a=1&&b=x%20y+z&flag&c=%zz&d=%41", "x=1; session_id=\"OpaqueRef:abc\" ");
	struct sim_http_slice s;
	char k[8], val[8], small[4];
	size_t pos = 0;
	char all[128] = "";

	while (sim_http_query_next(&r, &pos, k, sizeof(k), val, sizeof(val))) {
		size_t n = strlen(all);

		snprintf(all + n, sizeof(all) - n, "%s=%s;", k, val);
	}
	ok(!strcmp(all, "a=1;b=x y z;flag=;c=%zz;d=A;"), "query iteration: %s", all);
	ok(sim_http_query_get(&r, "b", val, sizeof(val)) && !strcmp(val, "x y z"), "get b");
	ok(!sim_http_query_get(&r, "nope", val, sizeof(val)) && val[0] == '\0', "get missing");
	ok(sim_http_query_get(&r, "b", small, sizeof(small)) && !strcmp(small, "x y"),
	   "values are capped: '%s'", small);
	ok(sim_http_cookie(&r, "session_id", all, sizeof(all)) && !strcmp(all, "OpaqueRef:abc"),
	   "cookie, quotes removed: %s", all);
	ok(sim_http_cookie(&r, "x", val, sizeof(val)) && !strcmp(val, "1"), "first cookie");
	ok(!sim_http_cookie(&r, "session", val, sizeof(val)), "no prefix match");
	ok(sim_http_header(&r, "COOKIE", &s) && s.len == strlen(r.headers[0].value.ptr),
	   "header names are case-insensitive");
	ok(!sim_http_header(&r, "Host", &s), "missing header");
	r = req_with("", NULL);
	pos = 0;
	ok(!sim_http_query_next(&r, &pos, k, sizeof(k), val, sizeof(val)), "empty query");
}

static void test_parser_partial(void)
{
	static const char full[] = "POST /echo?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
	struct sim_http_request req;
	struct http_reject rj;
	size_t bad = 0;

	/* every truncation point is partial, the whole is complete */
	for (size_t n = 0; n < sizeof(full) - 1; n++)
		if (http_parse_request(full, n, &req, &rj) != 0)
			bad++;
	ok(bad == 0, "%zu truncation points not reported as partial", bad);
	ok(http_parse_request(full, sizeof(full) - 1, &req, &rj) == (ptrdiff_t)sizeof(full) - 1,
	   "complete request");
	ok(http_slice_eq(req.path, "/echo") && http_slice_eq(req.query, "q=1") &&
		   http_slice_eq(req.body, "body") && req.nheaders == 2 && req.minor_version == 1,
	   "fields");
	ok(http_parse_request("GET http://h:80/p?x HTTP/1.1\n\n", 30, &req, &rj) == 30 &&
		   http_slice_eq(req.path, "/p") && http_slice_eq(req.query, "x"),
	   "absolute form and bare LF");
}

/* Reads from fd until `needle` has been seen `times` times (or EOF/timeout); returns the length. */
static size_t cli_read_until(int fd, char *buf, size_t cap, const char *needle, int times)
{
	size_t n = 0;

	buf[0] = '\0';
	for (;;) {
		int seen = 0;
		ssize_t r;

		for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
			seen++;
		if (seen >= times || n + 1 >= cap)
			return n;
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			return n;
		n += (size_t)r;
		buf[n] = '\0';
	}
}

static void test_defer_complete(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	double t0;
	bool eof;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	t0 = xs_evloop_now();
	ok(cli_send(fd, "GET /defer HTTP/1.1\r\n\r\n"), "send /defer");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !eof, "deferred response, still open");
	ok(xs_evloop_now() - t0 >= 0.19, "answered when the timer completed it (%.3f s)",
	   xs_evloop_now() - t0);
	ok(!strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) && !strcmp(body_of(buf), "deferred 1"),
	   "filled by the owner: %s", buf);
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\n\r\n"), "keep-alive after it");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 1"),
	   "next request answered");
	v.defer_after = 0.01;
	ok(cli_send(fd, "GET /defer HTTP/1.1\r\n\r\n"), "defer again");
	ok(cli_response(fd, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "deferred 2"),
	   "a new id: %s", body_of(buf));
	close(fd);
	srv_stop(&v);
	ok(!strcmp(v.log, "/defer;complete;/hello;/defer;complete;"),
	   "ids live until sent, then dead: %s", v.log);
}

static void test_defer_client_gone(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	int fd;

	fail_unless(port, "server started");
	v.defer_after = 0.3;
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /defer HTTP/1.1\r\n\r\n"), "send /defer");
	usleep(100000);
	close(fd); /* gone before the owner answers */
	usleep(400000);
	srv_stop(&v); /* LeakSanitizer checks the response died with its connection */
	ok(!strcmp(v.log, "/defer;gone;"), "the id is dead when the owner comes: %s", v.log);
}

static void test_defer_unlisten(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	int fd;

	fail_unless(port, "server started");
	v.down_after = 0.05;
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /defer HTTP/1.1\r\n\r\n"), "send /defer");
	ok(cli_closed(fd), "host going down closes the waiting connection without an answer");
	close(fd);
	usleep(300000);
	srv_stop(&v);
	ok(!strcmp(v.log, "/defer;down-dead;gone;"), "unlisten kills the id: %s", v.log);
}

static void test_defer_pipelined(void)
{
	struct srv v;
	uint16_t port = srv_start(&v);
	char buf[4096];
	const char *d, *h;
	int fd;

	fail_unless(port, "server started");
	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /defer HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"),
	   "a request pipelined behind the deferred one");
	usleep(50000);
	ok(cli_send(fd, "GET /hello?again HTTP/1.1\r\n\r\n"), "one more sent while deferred");
	cli_read_until(fd, buf, sizeof(buf), "hello GET 1", 2);
	d = strstr(buf, "deferred 1");
	h = strstr(buf, "hello GET 1");
	ok(d && h && d < h && strstr(h + 1, "hello GET 1"), "three answers, in order: %s", buf);
	close(fd);
	srv_stop(&v);
	ok(!strcmp(v.log, "/defer;complete;/hello;/hello;"),
	   "the pipelined requests reached the handler only after the answer: %s", v.log);
}

/* ---- TLS --------------------------------------------------------------- */

struct tcli {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	bool clean_eof;       /* the last EOF came with close_notify */
};

static ssize_t tcli_read(void *arg, char *buf, size_t n)
{
	struct tcli *t = arg;
	int r = SSL_read(t->ssl, buf, (int)n);
	int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);

	if (r > 0)
		return r;
	ERR_clear_error();
	t->clean_eof = e == SSL_ERROR_ZERO_RETURN;
	if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1; /* the receive timeout */
	return 0; /* close_notify, or the connection simply ended */
}

static bool tcli_write(struct tcli *t, const char *s, size_t n)
{
	return SSL_write(t->ssl, s, (int)n) == (int)n;
}

/*
 * Connects with TLS over a blocking socket; with ca_pem, the server's
 * certificate must verify against it and name 127.0.0.2.
 */
static bool tcli_connect(struct tcli *t, uint16_t port, const char *ca_pem)
{
	struct sockaddr_in sa;
	struct timeval tv = { 3, 0 };
	int small = 64 * 1024; /* a fixed, small window: big responses fill the socket */

	memset(t, 0, sizeof(*t));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return false;
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return false;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx)
		return false;
	if (ca_pem) {
		BIO *b = BIO_new_mem_buf(ca_pem, -1);
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

		X509_STORE_add_cert(SSL_CTX_get_cert_store(t->ctx), x);
		X509_free(x);
		BIO_free(b);
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	}
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || !SSL_set_fd(t->ssl, t->fd))
		return false;
	if (ca_pem)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), "127.0.0.2");
	return SSL_connect(t->ssl) == 1;
}

static void tcli_close(struct tcli *t)
{
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	ERR_clear_error();
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

/* SHA-256 fingerprint of the server's certificate, "AB:CD:...". */
static void tcli_peer_fingerprint(struct tcli *t, char *out, size_t cap)
{
	X509 *peer = SSL_get1_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	size_t o = 0;

	out[0] = '\0';
	if (peer && X509_digest(peer, EVP_sha256(), md, &len))
		for (unsigned i = 0; i < len && o + 3 < cap; i++)
			o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
	X509_free(peer);
}

static ssize_t tcli_request(struct tcli *t, const char *req, char *buf, size_t cap, bool *eof)
{
	if (!tcli_write(t, req, strlen(req)))
		return -1;
	return cli_response_via(tcli_read, t, buf, cap, eof);
}

static void test_tls_requests(struct srv *v, uint16_t port, const struct sim_tls_cert *cert)
{
	static char big[BIG_BODY + 4096];
	char buf[4096], fp[SIM_TLS_FINGERPRINT_LEN];
	struct tcli t;
	bool eof;

	ok(tcli_connect(&t, port, cert->cert_pem), "TLS handshake, certificate verified for 127.0.0.2");
	ok(SSL_get_verify_result(t.ssl) == X509_V_OK, "verify result");
	tcli_peer_fingerprint(&t, fp, sizeof(fp));
	ok(!strcmp(fp, cert->fingerprint), "peer fingerprint %s is the one reported", fp);
	ok(tcli_request(&t, "GET /tls HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 && !eof &&
		   !strcmp(body_of(buf), "tls=1"),
	   "request over TLS, req->tls set: %s", buf);
	ok(tcli_request(&t, "GET /hello HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
			buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "hello GET 1"),
	   "first of two pipelined requests");
	ok(cli_response_via(tcli_read, &t, buf, sizeof(buf), &eof) > 0 && !strcmp(body_of(buf), "abc"),
	   "second of them: %s", buf);
	/* the client waits before reading: the server's writes hit a full socket (WANT_WRITE) */
	ok(tcli_write(&t, "GET /big HTTP/1.1\r\n\r\n", 21), "send /big");
	usleep(300000);
	ok(cli_response_via(tcli_read, &t, big, sizeof(big), &eof) > 0 &&
		   strlen(body_of(big)) == BIG_BODY && body_of(big)[BIG_BODY - 1] == 'a' + (BIG_BODY - 1) % 26,
	   "a %u-byte body through partial writes (%zu)", BIG_BODY, strlen(body_of(big)));
	v->defer_after = 0.05;
	ok(tcli_request(&t, "GET /defer HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 &&
		   !strncmp(body_of(buf), "deferred ", 9),
	   "deferred response over TLS: %s", buf);
	ok(tcli_request(&t, "GET /delay HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 &&
		   !strcmp(body_of(buf), "late"),
	   "delayed response over TLS");
	ok(tcli_request(&t, "GET /cut HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 && eof &&
		   strstr(buf, "Content-Length: 1000\r\n") && strlen(body_of(buf)) == 100,
	   "cut body over TLS: 100 of 1000 bytes, then EOF (%zu)", strlen(body_of(buf)));
	ok(!t.clean_eof, "a cut body ends without close_notify, like a broken transfer");
	tcli_close(&t);

	ok(tcli_connect(&t, port, NULL), "second connection");
	ok(tcli_request(&t, "GET /old HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 && eof &&
		   !strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) && !strcmp(body_of(buf), "old-style body"),
	   "HTTP/1.0 close-delimited body over TLS: %s", buf);
	ok(t.clean_eof, "and it ends with close_notify");
	tcli_close(&t);
}

static void test_tls_plain_client(uint16_t port, const struct sim_tls_cert *cert)
{
	char buf[4096], fp[SIM_TLS_FINGERPRINT_LEN];
	ssize_t r, total = 0;
	struct tcli t;
	bool eof;
	int fd;

	fd = cli_connect("127.0.0.2", port);
	ok(cli_send(fd, "GET /hello HTTP/1.1\r\n\r\n"), "plain HTTP to the TLS port");
	while ((r = recv(fd, buf + total, sizeof(buf) - 1 - (size_t)total, 0)) > 0)
		total += r;
	buf[total] = '\0';
	ok(r == 0 || errno == ECONNRESET, "the server ends it (EOF or reset), no hang (errno %d)",
	   r < 0 ? errno : 0);
	ok(strncmp(buf, "HTTP/", 5) != 0, "no HTTP answer over plain text");
	close(fd);
	fd = cli_connect("127.0.0.2", port);
	close(fd); /* connects and leaves without a byte */
	ok(tcli_connect(&t, port, cert->cert_pem), "the server still takes TLS clients");
	tcli_peer_fingerprint(&t, fp, sizeof(fp));
	ok(!strcmp(fp, cert->fingerprint), "same certificate");
	ok(tcli_request(&t, "GET /hello HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof) > 0 &&
		   !strcmp(body_of(buf), "hello GET 1"),
	   "and answers them");
	tcli_close(&t);
}

static void test_tls(void)
{
	const char *addrs[] = { "127.0.0.2" };
	struct sim_tls_cert cert;
	char err[XS_ERR_LEN] = "";
	struct srv v;
	uint16_t port;

	fail_unless(sim_tls_cert_generate(&cert, addrs, 1, err) == XS_OK, "certificate: %s", err);
	port = srv_start_with(&v, cert.cert_pem, cert.key_pem);
	if (!port)
		sim_tls_cert_cleanup(&cert);
	fail_unless(port, "TLS server started");
	/* accepted sockets inherit a small send buffer: big writes block (EAGAIN, WANT_WRITE) */
	ok(!setsockopt(http_listener_find(v.http, 1)->fd, SOL_SOCKET, SO_SNDBUF, &(int){ 32768 },
		       sizeof(int)),
	   "small send buffer");
	test_tls_requests(&v, port, &cert);
	test_tls_plain_client(port, &cert);
	srv_stop(&v);
	ok(!strcmp(v.log, "/tls;/hello;/echo;/big;/defer;complete;/delay;/cut;/old;/hello;"),
	   "every TLS request reached the handler, the plain one none: %s", v.log);
	sim_tls_cert_cleanup(&cert);
}

int main(void)
{
	TEST_RUN(test_helpers);
	TEST_RUN(test_parser_partial);
	TEST_RUN(test_keepalive_and_pipelining);
	TEST_RUN(test_body_split);
	TEST_RUN(test_faults);
	TEST_RUN(test_versions_and_head);
	TEST_RUN(test_rejects);
	TEST_RUN(test_listeners);
	TEST_RUN(test_defer_complete);
	TEST_RUN(test_defer_client_gone);
	TEST_RUN(test_defer_unlisten);
	TEST_RUN(test_defer_pipelined);
	TEST_RUN(test_tls);
	return test_summary();
}
