/*
 * http.c - the HTTP/1.1 server of xapi-sim (see http.h).
 *
 * Every connection is a small state machine driven by the event loop:
 *
 *   HANDSHAKE -> READ              (TLS only: SSL_accept until it completes)
 *   READ  -> (request complete, handler called) -> DEFER? -> DELAY? -> WRITE
 *   WRITE -> READ again (keep-alive) | CLOSE_NOTIFY? -> DRAIN (the response
 *            ends the connection)
 *   CLOSE_NOTIFY -> DRAIN: TLS sends its close_notify alert, so a body that
 *            ends with the connection (HTTP/1.0 style) ends cleanly for the
 *            client; a cut body skips it, like a transfer that broke
 *   DRAIN -> freed: the write side is shut down and the client's leftovers are
 *            read and dropped until it closes (or SIM_HTTP_DRAIN_SECS pass), so
 *            a close never turns into a reset that would eat the response.
 *
 * Invariants: conn->in holds unparsed request bytes (never more than
 * SIM_HTTP_MAX_HEAD + SIM_HTTP_MAX_BODY); while a response is pending,
 * conn->req_len is the size of the request it answers, dropped from `in` once
 * the response is written. The body of a response is moved, not copied, from
 * the handler's buffer. Each callback does bounded work: one read, at most
 * SIM_HTTP_WRITE_BUDGET bytes written, one request handled; a pipelined
 * request already buffered is picked up by a zero-delay timer.
 *
 * Deferred responses: the response a handler fills lives in its connection
 * (conn->res), so sim_http_defer() finds the connection from the pointer.
 * A deferred connection (DEFER) keeps reading, but only into `in` (so a
 * client that hangs up is noticed and freed, which kills the id); requests
 * read meanwhile wait their turn until the deferred response is written. Ids
 * come from a per-server counter and are never reused.
 *
 * TLS: all I/O goes through http_io_read/http_io_write. Over TLS a read may
 * need the socket writable and a write may need it readable (WANT_READ /
 * WANT_WRITE): the connection then watches what OpenSSL asked for (io_wait)
 * and the state's own handler simply retries on the next event. OpenSSL
 * talks to the socket through a tiny BIO of ours that uses send(MSG_NOSIGNAL),
 * so a client gone mid-write is an error, not SIGPIPE.
 *
 * Requests: Content-Length bodies only (Transfer-Encoding gets 501), no
 * obsolete line folding; lines may end in CRLF or LF.
 *
 * The handler may call sim_http_unlisten() (a host going down), even for the
 * listener of the request it is answering: that connection is closed once the
 * handler returns.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/xmalloc.h"

#define SIM_HTTP_READ_CHUNK (64 * 1024)      /* bytes read per recv */
#define SIM_HTTP_WRITE_BUDGET (1024 * 1024)  /* bytes written per callback */
#define SIM_HTTP_PACE_BYTES 4096             /* body bytes per step of a paced answer */
#define SIM_HTTP_ACCEPT_BUDGET 16            /* connections accepted per callback */
#define SIM_HTTP_MAX_CONNS 4096              /* open connections per server */
#define SIM_HTTP_DRAIN_SECS 2.0              /* how long a closing connection is drained */
#define SIM_HTTP_BACKLOG 128
#define SIM_HTTP_MAX_CHAIN 8                 /* certificates after the first in tls_cert_pem */

/* http_io_read / http_io_write results besides a byte count > 0 */
#define HTTP_IO_EOF 0     /* the peer closed (TLS: close_notify, or a bare FIN) */
#define HTTP_IO_AGAIN -1  /* would block: retry on the next event */
#define HTTP_IO_ERROR -2  /* reset, TLS failure: give the connection up */

enum http_state {
	HTTP_HANDSHAKE,
	HTTP_READ,
	HTTP_DEFER,
	HTTP_DELAY,
	HTTP_WRITE,
	HTTP_CLOSE_NOTIFY,
	HTTP_DRAIN,
};

struct http_listener {
	struct sim_http_server *s;
	int id;                     /* given to sim_http_listen */
	int fd;
	uint16_t port;              /* bound port */
	struct http_listener *next;
};

struct http_conn {
	struct sim_http_server *s;
	int id;                     /* listener id */
	int fd;
	SSL *ssl;                   /* NULL on plain HTTP */
	enum http_state state;
	unsigned events;            /* what the loop watches for fd */
	unsigned io_wait;           /* TLS asked for this instead of the state's events, 0 = no */
	struct xs_buf in;           /* request bytes not yet answered */
	size_t req_len;             /* bytes of `in` the pending response answers */
	struct sim_http_response res; /* what the handler fills (kept while deferred) */
	uint64_t defer_id;          /* id given by sim_http_defer, 0 = not deferred */
	bool keepalive;             /* of the pending request: the client keeps the connection */
	bool head_only;             /* the pending request is a HEAD */
	int minor;                  /* the pending request's HTTP minor version */
	struct xs_buf head;         /* status line and headers to send */
	struct xs_buf body;         /* body to send (moved from the response) */
	size_t body_send;           /* body bytes to send so far (a paced body grows it step by step) */
	size_t body_end;            /* body bytes to send in all (cut_at, or 0 for HEAD) */
	unsigned pace_ms;           /* between steps of a paced body, 0 = not paced */
	size_t sent;                /* bytes of head + body sent */
	bool close_after;           /* end the connection after this response */
	bool abrupt;                /* the body was cut: no TLS close_notify */
	bool in_handler;            /* the handler is running for this connection */
	bool doomed;                /* closed while in the handler: free afterwards */
	uint64_t timer;             /* delay or drain timer, 0 = none */
	uint64_t resume;            /* timer picking up a pipelined request, 0 = none */
	struct http_conn *prev, *next;
};

struct sim_http_server {
	struct xs_evloop *loop;
	sim_http_handler handler;
	void *ctx;
	struct http_listener *listeners;
	struct http_conn *conns;    /* every open connection */
	size_t nconns;
	uint64_t last_defer_id;     /* ids of deferred responses count up from 1 */
	SSL_CTX *tls;               /* NULL = plain HTTP */
	BIO_METHOD *bio_method;     /* our socket BIO (send with MSG_NOSIGNAL) */
};

/* A request that cannot be handled: the status to answer with, then close. */
struct http_reject {
	int status;
	const char *why;
};

static const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

/* ---- request parsing ------------------------------------------------- */

static bool http_is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool http_slice_eq(struct sim_http_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !strncasecmp(s.ptr, lit, n);
}

/*
 * The next line of buf[*pos..len) without its CRLF or LF. Returns false if no
 * line end is buffered yet.
 */
static bool http_next_line(const char *buf, size_t len, size_t *pos, struct sim_http_slice *line)
{
	const char *nl = memchr(buf + *pos, '\n', len - *pos);
	size_t end;

	if (!nl)
		return false;
	end = (size_t)(nl - buf);
	line->ptr = buf + *pos;
	line->len = end - *pos;
	if (line->len && line->ptr[line->len - 1] == '\r')
		line->len--;
	*pos = end + 1;
	return true;
}

/* "METHOD SP target SP HTTP/1.x" */
static bool http_parse_request_line(struct sim_http_slice line, struct sim_http_request *req,
				    struct http_reject *rj)
{
	const char *p = line.ptr, *end = line.ptr + line.len, *t, *q;

	rj->status = 400;
	rj->why = "malformed request line";
	while (p < end && http_is_tchar((unsigned char)*p))
		p++;
	if (p == line.ptr || p == end || *p != ' ')
		return false;
	req->method = (struct sim_http_slice){ line.ptr, (size_t)(p - line.ptr) };
	t = ++p;
	while (p < end && *p != ' ' && (unsigned char)*p > 0x20 && *p != 0x7f)
		p++;
	if (p == t || p == end || *p != ' ')
		return false;
	if (end - (p + 1) != 8 || memcmp(p + 1, "HTTP/", 5) || p[7] != '.' ||
	    p[6] < '0' || p[6] > '9' || p[8] < '0' || p[8] > '9')
		return false;
	if (p[6] != '1' || (p[8] != '0' && p[8] != '1')) {
		rj->status = 505;
		rj->why = "HTTP version not supported";
		return false;
	}
	req->minor_version = p[8] - '0';
	/* absolute-form "http://host/path": keep only the path */
	if (*t != '/' && (q = memchr(t, ':', (size_t)(p - t))) && q + 3 <= p && !memcmp(q, "://", 3)) {
		t = memchr(q + 3, '/', (size_t)(p - (q + 3)));
		if (!t)
			return false;
	}
	q = memchr(t, '?', (size_t)(p - t));
	req->path = (struct sim_http_slice){ t, (size_t)((q ? q : p) - t) };
	req->query = q ? (struct sim_http_slice){ q + 1, (size_t)(p - (q + 1)) }
		       : (struct sim_http_slice){ "", 0 };
	return true;
}

/* "name: value" with optional whitespace around the value. */
static bool http_parse_header(struct sim_http_slice line, struct sim_http_header *h)
{
	const char *p = line.ptr, *end = line.ptr + line.len;

	while (p < end && http_is_tchar((unsigned char)*p))
		p++;
	if (p == line.ptr || p == end || *p != ':')
		return false;
	h->name = (struct sim_http_slice){ line.ptr, (size_t)(p - line.ptr) };
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	h->value = (struct sim_http_slice){ p, (size_t)(end - p) };
	return true;
}

/* Content-Length: digits only, at most SIM_HTTP_MAX_BODY. */
static bool http_content_length(struct sim_http_slice v, size_t *out, struct http_reject *rj)
{
	size_t n = 0;

	rj->status = 400;
	rj->why = "bad Content-Length";
	if (!v.len)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return false;
		n = n * 10 + (size_t)(v.ptr[i] - '0');
		if (n > SIM_HTTP_MAX_BODY) {
			rj->status = 413;
			rj->why = "request body too large";
			return false;
		}
	}
	*out = n;
	return true;
}

/* Checks the headers that frame the body; stores its length in *body_len. */
static bool http_body_framing(const struct sim_http_request *req, size_t *body_len,
			      struct http_reject *rj)
{
	bool seen = false;

	*body_len = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sim_http_header *h = &req->headers[i];
		size_t n;

		if (http_slice_eq(h->name, "transfer-encoding")) {
			rj->status = 501;
			rj->why = "Transfer-Encoding is not supported";
			return false;
		}
		if (!http_slice_eq(h->name, "content-length"))
			continue;
		if (!http_content_length(h->value, &n, rj))
			return false;
		if (seen && n != *body_len) {
			rj->status = 400;
			rj->why = "conflicting Content-Length";
			return false;
		}
		seen = true;
		*body_len = n;
	}
	return true;
}

/*
 * Parses one request from buf[0..len). Returns the bytes it takes (head and
 * body), 0 if more bytes are needed, or -1 with *rj filled in.
 */
static ptrdiff_t http_parse_request(const char *buf, size_t len, struct sim_http_request *req,
				    struct http_reject *rj)
{
	struct sim_http_slice line;
	size_t pos = 0, body_len;

	/* tolerate empty lines before a request (RFC 9112 §2.2) */
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (!http_next_line(buf, len, &pos, &line))
		goto partial;
	if (!http_parse_request_line(line, req, rj))
		return -1;
	req->nheaders = 0;
	for (;;) {
		if (!http_next_line(buf, len, &pos, &line))
			goto partial;
		if (!line.len)
			break;
		if (req->nheaders == SIM_HTTP_MAX_HEADERS) {
			*rj = (struct http_reject){ 431, "too many headers" };
			return -1;
		}
		if (!http_parse_header(line, &req->headers[req->nheaders++])) {
			*rj = (struct http_reject){ 400, "malformed header line" };
			return -1;
		}
	}
	if (pos > SIM_HTTP_MAX_HEAD) {
		*rj = (struct http_reject){ 431, "request head too large" };
		return -1;
	}
	if (!http_body_framing(req, &body_len, rj))
		return -1;
	if (len - pos < body_len)
		return 0;
	req->body = (struct sim_http_slice){ buf + pos, body_len };
	return (ptrdiff_t)(pos + body_len);
partial:
	if (len > SIM_HTTP_MAX_HEAD) {
		*rj = (struct http_reject){ 431, "request head too large" };
		return -1;
	}
	return 0;
}

/* Whether the comma-separated list v holds token tok (case-insensitive). */
static bool http_has_token(struct sim_http_slice v, const char *tok)
{
	const char *p = v.ptr, *end = v.ptr + v.len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (http_slice_eq((struct sim_http_slice){ p, (size_t)(e - p) }, tok))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

/* Whether the client lets the connection stay open after answering req. */
static bool http_wants_keepalive(const struct sim_http_request *req)
{
	struct sim_http_slice v;
	bool have = sim_http_header(req, "connection", &v);

	if (have && http_has_token(v, "close"))
		return false;
	if (req->minor_version == 0)
		return have && http_has_token(v, "keep-alive");
	return true;
}

/* ---- connections ----------------------------------------------------- */

static void http_conn_on_event(struct xs_evloop *loop, int fd, unsigned events, void *arg);
static void http_conn_read(struct http_conn *c);

static void http_response_init(struct sim_http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	xs_buf_init(&res->headers, SIM_HTTP_MAX_HEAD);
	xs_buf_init(&res->body, SIM_HTTP_MAX_RESPONSE);
}

static void http_response_cleanup(struct sim_http_response *res)
{
	xs_buf_free(&res->headers);
	xs_buf_free(&res->body);
}

static void http_conn_free(struct http_conn *c)
{
	struct sim_http_server *s = c->s;

	if (c->in_handler) {
		c->doomed = true; /* the handler still holds slices of c->in */
		return;
	}
	xs_evloop_del_fd(s->loop, c->fd);
	SSL_free(c->ssl); /* no close_notify: this is an abort */
	close(c->fd);
	if (c->timer)
		xs_evloop_cancel_timer(s->loop, c->timer);
	if (c->resume)
		xs_evloop_cancel_timer(s->loop, c->resume);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	xs_buf_free(&c->in);
	xs_buf_free(&c->head);
	xs_buf_free(&c->body);
	http_response_cleanup(&c->res); /* a deferred response dies with its connection */
	free(c);
}

/* What a state watches when OpenSSL asks for nothing else. */
static unsigned http_conn_state_events(const struct http_conn *c)
{
	switch (c->state) {
	case HTTP_HANDSHAKE:
	case HTTP_READ:
	case HTTP_DRAIN:
		return XS_EV_READ;
	case HTTP_DEFER:
		/* a full buffer stops reading; then only a hang-up or an error wakes us */
		return c->in.len < c->in.limit ? XS_EV_READ : 0;
	case HTTP_DELAY:
		return 0;
	case HTTP_WRITE:
	case HTTP_CLOSE_NOTIFY:
		return XS_EV_WRITE;
	}
	return 0;
}

/* Changes what the loop watches; false if epoll refused (the caller frees c). */
static bool http_conn_watch(struct http_conn *c, unsigned events)
{
	if (c->events == events)
		return true;
	if (xs_evloop_mod_fd(c->s->loop, c->fd, events))
		return false;
	c->events = events;
	return true;
}

/* Enters state; false if c was freed (epoll refused a registered fd). */
static bool http_conn_set_state(struct http_conn *c, enum http_state state)
{
	c->state = state;
	c->io_wait = 0;
	if (!http_conn_watch(c, http_conn_state_events(c))) {
		http_conn_free(c); /* nothing sane is left */
		return false;
	}
	return true;
}

/* ---- transport: plain sockets or TLS ----------------------------------- */

/* The socket BIO under OpenSSL: send() with MSG_NOSIGNAL, recv(). */
static int http_bio_write(BIO *bio, const char *buf, int n)
{
	const struct http_conn *c = BIO_get_data(bio);
	ssize_t w = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL);

	BIO_clear_retry_flags(bio);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(bio);
	return (int)w;
}

static int http_bio_read(BIO *bio, char *buf, int n)
{
	const struct http_conn *c = BIO_get_data(bio);
	ssize_t r = recv(c->fd, buf, (size_t)n, 0);

	BIO_clear_retry_flags(bio);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(bio);
	return (int)r;
}

static long http_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH; /* nothing is buffered: every write goes to the socket */
}

/* Maps an OpenSSL failure of r to HTTP_IO_*; on WANT_* watches what it wants. */
static ssize_t http_tls_result(struct http_conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->io_wait = e == SSL_ERROR_WANT_READ ? XS_EV_READ : XS_EV_WRITE;
		return http_conn_watch(c, c->io_wait) ? HTTP_IO_AGAIN : HTTP_IO_ERROR;
	}
	ERR_clear_error(); /* the queue is per thread: leave nothing behind */
	return e == SSL_ERROR_ZERO_RETURN ? HTTP_IO_EOF : HTTP_IO_ERROR;
}

/* A TLS call succeeded: watch the state's own events again if it had asked otherwise. */
static ssize_t http_tls_progress(struct http_conn *c, int n)
{
	if (!c->io_wait)
		return n;
	c->io_wait = 0;
	return http_conn_watch(c, http_conn_state_events(c)) ? n : HTTP_IO_ERROR;
}

/* Reads up to n bytes: a count > 0 or HTTP_IO_EOF / _AGAIN / _ERROR. */
static ssize_t http_io_read(struct http_conn *c, void *buf, size_t n)
{
	ssize_t r;
	int tr;

	if (!c->ssl) {
		r = recv(c->fd, buf, n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return HTTP_IO_AGAIN;
		return r < 0 ? HTTP_IO_ERROR : r;
	}
	ERR_clear_error();
	tr = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	return tr > 0 ? http_tls_progress(c, tr) : http_tls_result(c, tr);
}

/* Writes from buf (at most n bytes): a count > 0 or HTTP_IO_AGAIN / _ERROR. */
static ssize_t http_tls_write(struct http_conn *c, const void *buf, size_t n)
{
	int w;

	ERR_clear_error();
	/* a retry after WANT_WRITE passes the same bytes again (the moving-buffer mode allows a new address) */
	w = SSL_write(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	if (w > 0)
		return http_tls_progress(c, w);
	w = (int)http_tls_result(c, w);
	return w == HTTP_IO_EOF ? HTTP_IO_ERROR : w;
}

/* Writes the next part of head + body; same results as http_tls_write. */
static ssize_t http_io_write(struct http_conn *c)
{
	size_t boff = c->sent > c->head.len ? c->sent - c->head.len : 0;
	struct iovec iov[2];
	struct msghdr msg;
	ssize_t w;

	if (c->ssl && c->sent < c->head.len)
		return http_tls_write(c, c->head.data + c->sent, c->head.len - c->sent);
	if (c->ssl)
		return http_tls_write(c, c->body.data + boff, c->body_send - boff);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	if (c->sent < c->head.len) {
		iov[0].iov_base = c->head.data + c->sent;
		iov[0].iov_len = c->head.len - c->sent;
		msg.msg_iovlen++;
	}
	if (c->body_send > boff) {
		iov[msg.msg_iovlen].iov_base = c->body.data + boff;
		iov[msg.msg_iovlen].iov_len = c->body_send - boff;
		msg.msg_iovlen++;
	}
	w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return HTTP_IO_AGAIN;
	return w <= 0 ? HTTP_IO_ERROR : w;
}

/* ---- responses --------------------------------------------------------- */

/* Status line and headers into c->head; false if they pass its cap. */
static bool http_build_head(struct http_conn *c, const struct sim_http_response *res, bool close,
			    int minor)
{
	const char *reason = res->reason ? res->reason : http_reason(res->status);
	enum xs_err rc;

	xs_buf_reset(&c->head);
	rc = xs_buf_printf(&c->head, "HTTP/1.%d %d %s\r\n", res->http10 ? 0 : 1, res->status,
			   reason);
	if (!rc)
		rc = xs_buf_append(&c->head, res->headers.data, res->headers.len);
	if (!rc && !res->http10)
		rc = xs_buf_printf(&c->head, "Content-Length: %zu\r\n", res->body.len);
	if (!rc && close)
		rc = xs_buf_append_str(&c->head, "Connection: close\r\n");
	else if (!rc && minor == 0)
		rc = xs_buf_append_str(&c->head, "Connection: keep-alive\r\n");
	if (!rc)
		rc = xs_buf_append_str(&c->head, "\r\n");
	return rc == XS_OK;
}

static void http_conn_delay_done(struct xs_evloop *loop, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	c->timer = 0;
	http_conn_set_state(c, HTTP_WRITE);
}

/* The next SIM_HTTP_PACE_BYTES of a paced body. */
static void http_conn_pace_step(struct xs_evloop *loop, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	c->timer = 0;
	c->body_send = c->body_end - c->body_send > SIM_HTTP_PACE_BYTES
			       ? c->body_send + SIM_HTTP_PACE_BYTES
			       : c->body_end;
	http_conn_set_state(c, HTTP_WRITE);
}

/* Takes over res (its body is moved to c) and starts sending it. */
static void http_respond(struct http_conn *c, struct sim_http_response *res, bool keepalive,
			 bool head_only, int minor)
{
	bool close = !keepalive || res->close || res->http10 || res->cut_at > 0;
	size_t send = res->body.len;

	if (!http_build_head(c, res, close, minor)) {
		static const char fallback[] = "HTTP/1.1 500 Internal Server Error\r\n"
					       "Content-Length: 0\r\nConnection: close\r\n\r\n";

		xs_buf_init(&c->head, sizeof(fallback));
		if (xs_buf_append(&c->head, fallback, sizeof(fallback) - 1))
			abort(); /* fits by construction */
		xs_buf_free(&res->body);
		close = true;
		send = 0;
	}
	c->abrupt = res->cut_at > 0 && res->cut_at < send;
	if (c->abrupt)
		send = res->cut_at;
	xs_buf_free(&c->body);
	c->body = res->body; /* moved, not copied: it may be a large RRD dump */
	xs_buf_init(&res->body, 0);
	http_response_cleanup(res);
	c->body_end = head_only ? 0 : send;
	c->pace_ms = res->pace_ms;
	c->body_send = c->pace_ms && c->body_end > SIM_HTTP_PACE_BYTES ? SIM_HTTP_PACE_BYTES
									 : c->body_end;
	c->sent = 0;
	c->close_after = close;
	if (res->delay_ms) {
		c->timer = xs_evloop_add_timer(c->s->loop, res->delay_ms / 1000.0,
					       http_conn_delay_done, c);
		http_conn_set_state(c, HTTP_DELAY);
		return;
	}
	http_conn_set_state(c, HTTP_WRITE);
}

/* Answers a request that cannot be handled, then closes. */
static void http_reject(struct http_conn *c, const struct http_reject *rj)
{
	struct sim_http_response res;

	http_response_init(&res);
	res.status = rj->status;
	res.close = true;
	if (xs_buf_append_str(&res.headers, "Content-Type: text/plain\r\n") ||
	    xs_buf_printf(&res.body, "%s\n", rj->why))
		abort(); /* short literals, far below the caps */
	c->req_len = c->in.len;
	http_respond(c, &res, false, false, 1);
}

/* Parses and answers the request at the front of c->in, if complete. */
static void http_conn_process(struct http_conn *c)
{
	struct sim_http_request req;
	struct http_reject rj = { 400, "bad request" };
	ptrdiff_t n;

	memset(&req, 0, sizeof(req));
	n = http_parse_request(c->in.data ? c->in.data : "", c->in.len, &req, &rj);
	if (n == 0)
		return;
	if (n < 0) {
		http_reject(c, &rj);
		return;
	}
	req.listener = c->id;
	req.tls = c->ssl != NULL;
	c->req_len = (size_t)n;
	c->keepalive = http_wants_keepalive(&req);
	c->head_only = http_slice_eq(req.method, "HEAD");
	c->minor = req.minor_version;
	http_response_init(&c->res);
	c->in_handler = true;
	c->s->handler(c->s->ctx, &req, &c->res);
	c->in_handler = false;
	if (c->doomed) {
		c->doomed = false;
		http_conn_free(c);
		return;
	}
	if (c->defer_id) {
		http_conn_set_state(c, HTTP_DEFER); /* the owner answers later */
		return;
	}
	http_respond(c, &c->res, c->keepalive, c->head_only, c->minor);
}

/*
 * Decrypted bytes OpenSSL holds for us. Epoll cannot see them. (Raw bytes of
 * a partial record are not counted: the rest of it will wake epoll.)
 */
static bool http_conn_tls_pending(const struct http_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

/* Whether input waits where epoll cannot see it: in `in`, or inside OpenSSL. */
static bool http_conn_has_input(const struct http_conn *c)
{
	return c->in.len || http_conn_tls_pending(c);
}

static void http_conn_resume(struct xs_evloop *loop, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	c->resume = 0;
	if (c->state != HTTP_READ)
		return;
	if (http_conn_tls_pending(c) && c->in.len < c->in.limit)
		http_conn_read(c); /* then processes */
	else
		http_conn_process(c);
}

static void http_conn_kick(struct http_conn *c)
{
	if (!c->resume)
		c->resume = xs_evloop_add_timer(c->s->loop, 0, http_conn_resume, c);
}

static void http_conn_timeout(struct xs_evloop *loop, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	c->timer = 0;
	http_conn_free(c);
}

/* Shuts down our side and waits for the client's (bounded by the drain timer). */
static void http_conn_drain_start(struct http_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	http_conn_set_state(c, HTTP_DRAIN);
}

/* TLS: sends close_notify (retried while the socket is full), then drains. */
static void http_conn_close_notify(struct http_conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_shutdown(c->ssl);
	if (r < 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE)
		return; /* CLOSE_NOTIFY watches for writable */
	ERR_clear_error();
	http_conn_drain_start(c);
}

/* The response ends the connection. */
static void http_conn_drain(struct http_conn *c)
{
	xs_buf_free(&c->in);
	c->timer = xs_evloop_add_timer(c->s->loop, SIM_HTTP_DRAIN_SECS, http_conn_timeout, c);
	if (!c->ssl || c->abrupt) {
		http_conn_drain_start(c);
		return;
	}
	if (http_conn_set_state(c, HTTP_CLOSE_NOTIFY))
		http_conn_close_notify(c);
}

static void http_conn_done(struct http_conn *c)
{
	xs_buf_free(&c->body);
	xs_buf_reset(&c->head);
	if (c->close_after) {
		http_conn_drain(c);
		return;
	}
	xs_buf_consume(&c->in, c->req_len);
	c->req_len = 0;
	if (!http_conn_set_state(c, HTTP_READ))
		return;
	/* a pipelined request is already buffered: epoll will not say so again */
	if (http_conn_has_input(c))
		http_conn_kick(c);
}

static void http_conn_write(struct http_conn *c)
{
	size_t total = c->head.len + c->body_send, budget = SIM_HTTP_WRITE_BUDGET;

	while (c->sent < total && budget) {
		ssize_t w = http_io_write(c);

		if (w == HTTP_IO_AGAIN)
			return;
		if (w < 0) {
			http_conn_free(c); /* the client went away */
			return;
		}
		c->sent += (size_t)w;
		budget -= (size_t)w < budget ? (size_t)w : budget;
	}
	if (c->sent < total)
		return;
	if (c->body_send < c->body_end) { /* paced: the next step after pace_ms */
		c->timer = xs_evloop_add_timer(c->s->loop, c->pace_ms / 1000.0, http_conn_pace_step, c);
		http_conn_set_state(c, HTTP_DELAY);
		return;
	}
	http_conn_done(c);
}

/* One read into `in`: processed in READ, only buffered in DEFER. */
static void http_conn_read(struct http_conn *c)
{
	size_t want = c->in.limit - c->in.len;
	ssize_t r;

	if (want > SIM_HTTP_READ_CHUNK)
		want = SIM_HTTP_READ_CHUNK;
	/* READ: the parser rejects a request before `in` can fill up; DEFER: a
	 * full buffer watches nothing, so only a hang-up or an error gets here */
	if (!want || xs_buf_reserve(&c->in, want)) {
		http_conn_free(c);
		return;
	}
	r = http_io_read(c, c->in.data + c->in.len, want);
	if (r == HTTP_IO_AGAIN)
		return;
	if (r <= 0) {
		http_conn_free(c); /* closed by the client, or reset */
		return;
	}
	xs_buf_commit(&c->in, (size_t)r);
	if (c->state == HTTP_DEFER) {
		if (!http_conn_watch(c, http_conn_state_events(c))) /* stops at a full buffer */
			http_conn_free(c);
		return;
	}
	/* decrypted bytes left inside OpenSSL: epoll will not report them */
	if (http_conn_tls_pending(c))
		http_conn_kick(c);
	http_conn_process(c);
}

static void http_conn_drain_read(struct http_conn *c)
{
	char sink[4096];
	ssize_t r = recv(c->fd, sink, sizeof(sink), 0); /* TLS too: the bytes are dropped unread */

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0)
		http_conn_free(c);
}

static void http_conn_handshake(struct http_conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_accept(c->ssl);
	if (r == 1) {
		if (http_conn_set_state(c, HTTP_READ))
			http_conn_read(c); /* the request may have come with the handshake */
		return;
	}
	if (http_tls_result(c, r) != HTTP_IO_AGAIN)
		http_conn_free(c); /* not TLS (a plain HTTP client), or a failed handshake */
}

static void http_conn_on_event(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct http_conn *c = arg;

	(void)loop;
	(void)fd;
	(void)events;
	switch (c->state) {
	case HTTP_HANDSHAKE:
		http_conn_handshake(c);
		break;
	case HTTP_READ:
	case HTTP_DEFER:
		http_conn_read(c);
		break;
	case HTTP_DELAY:
		http_conn_free(c); /* nothing is watched: only a hang-up or an error gets here */
		break;
	case HTTP_WRITE:
		http_conn_write(c);
		break;
	case HTTP_CLOSE_NOTIFY:
		http_conn_close_notify(c);
		break;
	case HTTP_DRAIN:
		http_conn_drain_read(c);
		break;
	}
}

/* Puts an OpenSSL session on c, talking through our BIO. */
static bool http_conn_tls_init(struct http_conn *c)
{
	BIO *bio;

	c->ssl = SSL_new(c->s->tls);
	bio = c->ssl ? BIO_new(c->s->bio_method) : NULL;
	if (!bio) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
		return false;
	}
	BIO_set_data(bio, c);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio); /* the session owns the BIO */
	SSL_set_accept_state(c->ssl);
	return true;
}

static void http_conn_new(struct sim_http_server *s, int id, int fd)
{
	struct http_conn *c = xs_xcalloc(1, sizeof(*c));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s = s;
	c->id = id;
	c->fd = fd;
	c->state = s->tls ? HTTP_HANDSHAKE : HTTP_READ;
	c->events = XS_EV_READ;
	xs_buf_init(&c->in, SIM_HTTP_MAX_HEAD + SIM_HTTP_MAX_BODY);
	xs_buf_init(&c->head, 2 * SIM_HTTP_MAX_HEAD);
	xs_buf_init(&c->body, 0);
	if ((s->tls && !http_conn_tls_init(c)) ||
	    xs_evloop_add_fd(s->loop, fd, XS_EV_READ, http_conn_on_event, c)) {
		SSL_free(c->ssl);
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
}

/* ---- listeners and the server ---------------------------------------- */

static void http_listener_on_event(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct http_listener *l = arg;

	(void)loop;
	(void)events;
	for (int i = 0; i < SIM_HTTP_ACCEPT_BUDGET; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			return;
		if (l->s->nconns >= SIM_HTTP_MAX_CONNS) {
			close(cfd);
			continue;
		}
		http_conn_new(l->s, l->id, cfd);
	}
}

static struct http_listener *http_listener_find(const struct sim_http_server *s, int id)
{
	for (struct http_listener *l = s->listeners; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

/* Loads the certificate (plus any chain after it) and the key from PEM text. */
static bool http_tls_load(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, char *err)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	bool good = false;

	if (!x || !key) {
		xs_err_set(err, XS_ERR_PARSE, "http server: no PEM %s", x ? "private key" : "certificate");
		goto free_all;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		xs_err_set(err, XS_ERR_ARG, "http server: the key does not fit the certificate");
		goto free_all;
	}
	for (int i = 0; i < SIM_HTTP_MAX_CHAIN; i++) {
		X509 *ca = PEM_read_bio_X509(cb, NULL, NULL, NULL);

		if (!ca)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			xs_err_set(err, XS_ERR_NOMEM, "http server: cannot add a chain certificate");
			goto free_all;
		}
	}
	good = true;
free_all:
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	ERR_clear_error(); /* reading past the last chain certificate leaves an error */
	return good;
}

/* The server's TLS context and our socket BIO method. */
static bool http_tls_init(struct sim_http_server *s, const char *cert_pem, const char *key_pem,
			  char *err)
{
	s->tls = SSL_CTX_new(TLS_server_method());
	s->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sim-http-socket");
	if (!s->tls || !s->bio_method || !BIO_meth_set_write(s->bio_method, http_bio_write) ||
	    !BIO_meth_set_read(s->bio_method, http_bio_read) ||
	    !BIO_meth_set_ctrl(s->bio_method, http_bio_ctrl)) {
		ERR_clear_error();
		xs_err_set(err, XS_ERR_NOMEM, "http server: cannot set up TLS");
		return false;
	}
	/* xapi's stunnel speaks TLS 1.2 and 1.3; nothing older */
	SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION);
	SSL_CTX_set_options(s->tls, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(s->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return http_tls_load(s->tls, cert_pem, key_pem, err);
}

struct sim_http_server *sim_http_server_new(struct xs_evloop *loop, sim_http_handler handler,
					    void *ctx, const char *tls_cert_pem,
					    const char *tls_key_pem, char *err)
{
	struct sim_http_server *s;

	if (!loop || !handler) {
		xs_err_set(err, XS_ERR_ARG, "http server: no loop or no handler");
		return NULL;
	}
	if (!tls_cert_pem != !tls_key_pem) {
		xs_err_set(err, XS_ERR_ARG, "http server: TLS needs both a certificate and a key");
		return NULL;
	}
	s = xs_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->handler = handler;
	s->ctx = ctx;
	if (tls_cert_pem && !http_tls_init(s, tls_cert_pem, tls_key_pem, err))
		sim_http_server_free(&s);
	return s;
}

static void http_listener_close(struct sim_http_server *s, struct http_listener *l)
{
	struct http_listener **pp = &s->listeners;

	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
	xs_evloop_del_fd(s->loop, l->fd);
	close(l->fd);
	free(l);
}

void sim_http_server_free(struct sim_http_server **sp)
{
	struct sim_http_server *s = sp ? *sp : NULL;

	if (!s)
		return;
	while (s->listeners)
		http_listener_close(s, s->listeners);
	while (s->conns)
		http_conn_free(s->conns);
	SSL_CTX_free(s->tls);
	BIO_meth_free(s->bio_method);
	free(s);
	*sp = NULL;
}

int sim_http_listen(struct sim_http_server *s, int id, const char *addr, uint16_t port, char *err)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct http_listener *l;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		xs_err_set(err, XS_ERR_ARG, "listen: '%s' is not an IPv4 address", addr);
		return -1;
	}
	if (http_listener_find(s, id)) {
		xs_err_set(err, XS_ERR_ARG, "listen: listener %d is already listening", id);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xs_err_set(err, XS_ERR_IO, "listen: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, SIM_HTTP_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen)) {
		xs_err_set(err, XS_ERR_IO, "listen on %s:%u: %s", addr, (unsigned)port,
			   strerror(errno));
		goto close_fd;
	}
	l = xs_xcalloc(1, sizeof(*l));
	l->s = s;
	l->id = id;
	l->fd = fd;
	l->port = ntohs(sa.sin_port);
	if (xs_evloop_add_fd(s->loop, fd, XS_EV_READ, http_listener_on_event, l)) {
		xs_err_set(err, XS_ERR_IO, "listen on %s:%u: cannot watch the socket", addr,
			   (unsigned)port);
		free(l);
		goto close_fd;
	}
	l->next = s->listeners;
	s->listeners = l;
	return 0;
close_fd:
	close(fd);
	return -1;
}

uint16_t sim_http_listen_port(const struct sim_http_server *s, int id)
{
	const struct http_listener *l = http_listener_find(s, id);

	return l ? l->port : 0;
}

void sim_http_unlisten(struct sim_http_server *s, int id)
{
	struct http_listener *l = http_listener_find(s, id);
	struct http_conn *c, *next;

	if (l)
		http_listener_close(s, l);
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->id == id)
			http_conn_free(c);
	}
}

/* ---- deferred responses ---------------------------------------------- */

uint64_t sim_http_defer(struct sim_http_response *res)
{
	/* res is the conn->res given to the handler (the contract in http.h) */
	struct http_conn *c = (struct http_conn *)(void *)((char *)res -
							    offsetof(struct http_conn, res));

	if (!c->in_handler)
		return 0;
	if (!c->defer_id)
		c->defer_id = ++c->s->last_defer_id;
	return c->defer_id;
}

/* The live connection waiting with deferred response id, or NULL. */
static struct http_conn *http_deferred_conn(const struct sim_http_server *s, uint64_t id)
{
	if (!id)
		return NULL;
	for (struct http_conn *c = s->conns; c; c = c->next)
		if (c->defer_id == id)
			return c->doomed ? NULL : c;
	return NULL;
}

struct sim_http_response *sim_http_deferred(struct sim_http_server *s, uint64_t id)
{
	struct http_conn *c = http_deferred_conn(s, id);

	return c ? &c->res : NULL;
}

void sim_http_send_deferred(struct sim_http_server *s, uint64_t id)
{
	struct http_conn *c = http_deferred_conn(s, id);

	if (!c)
		return;
	c->defer_id = 0;
	if (c->in_handler)
		return; /* still inside the handler: it answers when the handler returns */
	http_respond(c, &c->res, c->keepalive, c->head_only, c->minor);
}

/* ---- helpers for handlers -------------------------------------------- */

bool sim_http_header(const struct sim_http_request *req, const char *name,
		     struct sim_http_slice *value)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		if (http_slice_eq(req->headers[i].name, name)) {
			*value = req->headers[i].value;
			return true;
		}
	}
	return false;
}

static int http_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes (and '+' to space) src[0..n) into dst, truncated to cap - 1 bytes and NUL. */
static void http_decode(const char *src, size_t n, char *dst, size_t cap)
{
	size_t o = 0;

	if (!cap)
		return;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = src[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && http_hex(src[i + 1]) >= 0 &&
			   http_hex(src[i + 2]) >= 0) {
			c = (char)(http_hex(src[i + 1]) * 16 + http_hex(src[i + 2]));
			i += 2;
		}
		dst[o++] = c;
	}
	dst[o] = '\0';
}

bool sim_http_query_next(const struct sim_http_request *req, size_t *pos, char *key,
			 size_t key_cap, char *val, size_t val_cap)
{
	const char *q = req->query.ptr;
	size_t len = req->query.len;

	while (*pos < len) {
		size_t start = *pos;
		const char *amp = memchr(q + start, '&', len - start);
		size_t end = amp ? (size_t)(amp - q) : len;
		const char *eq = memchr(q + start, '=', end - start);
		size_t kend = eq ? (size_t)(eq - q) : end;

		*pos = amp ? end + 1 : len;
		if (end == start)
			continue; /* "a=1&&b=2" */
		http_decode(q + start, kend - start, key, key_cap);
		http_decode(eq ? eq + 1 : "", eq ? end - kend - 1 : 0, val, val_cap);
		return true;
	}
	return false;
}

bool sim_http_query_get(const struct sim_http_request *req, const char *key, char *val,
			size_t val_cap)
{
	char k[256];
	size_t pos = 0;

	while (sim_http_query_next(req, &pos, k, sizeof(k), val, val_cap))
		if (!strcmp(k, key))
			return true;
	if (val_cap)
		val[0] = '\0';
	return false;
}

/* Looks for cookie `name` in one Cookie header value "a=b; c=d". */
static bool http_cookie_in(struct sim_http_slice v, const char *name, char *val, size_t val_cap)
{
	const char *p = v.ptr, *end = v.ptr + v.len;
	size_t nlen = strlen(name);

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi ? semi : end;
		const char *eq;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq && (size_t)(eq - p) == nlen && !memcmp(p, name, nlen)) {
			const char *vs = eq + 1, *ve = e;
			size_t n;

			while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
				vs++;
				ve--;
			}
			n = (size_t)(ve - vs);
			if (val_cap) {
				n = n < val_cap - 1 ? n : val_cap - 1;
				memcpy(val, vs, n);
				val[n] = '\0';
			}
			return true;
		}
		p = semi ? semi + 1 : end;
	}
	return false;
}

bool sim_http_cookie(const struct sim_http_request *req, const char *name, char *val,
		     size_t val_cap)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		if (http_slice_eq(req->headers[i].name, "cookie") &&
		    http_cookie_in(req->headers[i].value, name, val, val_cap))
			return true;
	}
	return false;
}
