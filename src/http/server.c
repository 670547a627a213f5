/*
 * server.c - libmicrohttpd on the daemon's event loop (see server.h).
 *
 * Driving MHD: it runs in "external epoll" mode: its epoll fd is watched for
 * reading by our loop and MHD_run() is called when it is readable, or when the
 * timer set from MHD_get_timeout() after every run fires. MHD's ITC (needed
 * for suspend/resume) is inside that epoll set, so a connection resumed from
 * any callback wakes the loop by itself.
 *
 * One request = one struct xs_http_request, created by the URI log callback
 * (so it sees the raw target before MHD decodes it, and so even requests that
 * never reach the handler are completed and freed by NOTIFY_COMPLETED), and
 * freed on completion. Not quite all: MHD 0.9.75 never completes a request
 * whose request line it could not fit in its connection's memory pool (a query
 * of a thousand '&' within max_url: it sends nothing and closes the connection
 * at its timeout), so the connection (struct http_conn, MHD's socket context)
 * holds its request until completion, and its close ends one never completed. The whole reply decision (414, 413, 401, 400, route,
 * 404/405, static files) is made in one access-handler call: the second one,
 * once the request is whole, for a request without a body (a reply queued in
 * the first call makes MHD close the connection after it); the first one for
 * a request with a body or an Expect header, which is refused or answered
 * before any body is read, and its connection closed. There is no upload state.
 *
 * Connections stay open between requests. MHD stops watching its listening
 * socket while max_connections are open and watches it again in a later run:
 * every closed connection asks for that run at once (http_notify_cb), or a
 * client waiting for a slot would wait until some other event.
 *
 * Streams: MHD pulls the body through a content-reader callback. With
 * nothing queued the reader suspends the connection (MHD then ignores the
 * socket and never times it out) and we watch the socket ourselves, only to
 * notice a client that goes away: a suspended MHD connection would not. A
 * write resumes the connection. A stream is referenced by the response (freed
 * by MHD's free callback) and by the request (until completion): it is freed
 * when both are gone, so neither order of MHD's callbacks can leave a dangling
 * pointer. The owner's on_close runs from completion, once.
 *
 * Parked requests (xs_http_park): the handler suspends the connection and the
 * request goes on the server's list; xs_http_unpark() takes it off, resumes
 * the connection and marks it, so that MHD's next access-handler call for it
 * calls the route's handler again. The request is freed on completion as any
 * other; the server's free resumes what is still parked before stopping MHD.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/static_files.h"
#include "lib/json_out.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define HTTP_STREAM_BLOCK (16u * 1024)    /* bytes MHD asks a stream reader for at most */
#define HTTP_PULL_BLOCK (256u * 1024)     /* bytes MHD asks a pulled body for at most */
#define HTTP_STREAM_KEEP_MEM (64u * 1024) /* a drained stream queue larger than this is freed */
#define HTTP_ERROR_CAP (8u * 1024)        /* JSON error body cap (escaped message) */
#define HTTP_TOKEN_PARAM "access_token" /* the token as a query parameter */
#define HTTP_ALLOW_LEN 128                /* bytes of an Allow header */
#define HTTP_MHD_MSG_LEN 256              /* last MHD log message kept for start errors */
/* GnuTLS priorities of the HTTPS API: TLS 1.2 and 1.3 only (RFC 8996), forward-secret key
 * exchanges and AEAD ciphers (no static RSA, no CBC); libmicrohttpd's default, "NORMAL",
 * also accepts TLS 1.0 and 1.1, RSA key exchange and CBC with SHA-1. */
#define HTTP_TLS_PRIORITIES                                                                          \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-CIPHER-ALL:+CHACHA20-POLY1305:"            \
	"+AES-256-GCM:+AES-128-GCM"
/* Content-Security-Policy of the web UI's files: its own scripts, styles (and the style
 * attributes its tables set), images and API only; no framing (clickjacking), no plug-ins. */
#define HTTP_CSP_UI                                                                                 \
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                  \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "              \
	"form-action 'self'; frame-ancestors 'none'"
/* ... and of every other reply (JSON, metrics, events): nothing to run, nothing to frame */
#define HTTP_CSP_API "default-src 'none'; frame-ancestors 'none'"

struct http_route {
	char *method;
	char *path;
	size_t path_len;
	bool prefix;
	xs_http_handler handler;
	void *arg;
};

struct http_header {
	char *name;
	char *value;
};

/* A connection's own state (MHD's socket context, from NOTIFY_CONNECTION STARTED to CLOSED). */
struct http_conn {
	struct xs_http_request *open; /* its request from the URI callback to completion */
};

struct xs_http_request {
	struct xs_http_server *srv;
	struct MHD_Connection *conn;
	struct http_conn *hc;    /* its connection's, while it is hc->open */
	unsigned token_gen;      /* srv->token_gen when its token was checked */
	const char *method;      /* MHD's string, valid for the request */
	char *target;            /* raw request target; NULL when longer than max_url */
	size_t target_len;       /* its full length */
	char *path;              /* decoded path */
	const char *rest;        /* remainder after a prefix route, or "" */
	struct xs_qs qs;         /* decoded query */
	struct http_header hdrs[XS_HTTP_MAX_EXTRA_HEADERS]; /* for the reply */
	size_t nhdrs;
	unsigned status;         /* 0 until a reply was queued */
	bool head;               /* HEAD request: no body goes out */
	bool seen;               /* the access handler ran once (the headers are in) */
	const char *framing;     /* http_framing_error(), found when the headers are in */
	bool dispatched;         /* http_dispatch() ran: its reply is queued, or it is parked */
	bool parked;             /* xs_http_park(): suspended, no reply yet, on srv->parked */
	bool unparked;           /* xs_http_unpark() ran: xs_http_unparked(), no second park */
	bool call_again;         /* ... and its handler is not yet called again */
	const struct http_route *route; /* the route that answers it */
	struct xs_http_request *hprev, *hnext; /* srv->parked, while parked */
	uint64_t bytes;          /* body bytes handed to MHD */
	double t0;               /* xs_evloop_now() at the request line */
	struct xs_http_stream *stream; /* when the reply is a stream */
	struct http_pull *pull;  /* when the reply is a pulled body */
};

/*
 * A reply body being sent whose client must read it at pull_min_rate on average once
 * pull_grace_s has passed, or be cut (http_watch_check): a pulled body, whose progress is
 * counted (bytes), or a held one over XS_HTTP_HELD_SMALL, whose progress MHD does not show
 * (len: cut if still held once its whole length would have gone at that rate). Embedded
 * in its owner; on srv->watched from http_watch_start to http_watch_stop.
 */
struct http_watch {
	struct xs_http_server *srv;  /* NULL: not watched */
	int fd;                      /* its connection's socket, -1 unknown */
	double t0;                   /* xs_evloop_now() when queued */
	uint64_t bytes;              /* pulled: handed to MHD */
	size_t len;                  /* held: its whole length; 0 for a pulled one */
	bool cut;                    /* read under the rate: its socket shut down */
	struct http_watch *prev, *next;
};

/* A pulled body (xs_http_reply_pull): owned by MHD's response. */
struct http_pull {
	xs_http_pull_cb pull;
	xs_http_pull_free_cb free_arg;
	void *arg;
	struct xs_http_request *req; /* for its byte count; NULL after completion */
	struct http_watch w;
};

struct xs_http_stream {
	struct xs_http_server *srv;
	struct MHD_Connection *conn;
	struct xs_http_request *req; /* until completion, then NULL */
	struct xs_buf q;             /* queued bytes; q.data[off..len) unsent */
	size_t off;
	xs_http_stream_close_cb on_close;
	void *arg;
	int fd;                      /* the connection's socket */
	int refs;                    /* response + request */
	unsigned token_gen;          /* its request's: a stream outlives a token replaced by a reload
				      * only until its next write */
	bool suspended;              /* MHD connection suspended by the reader */
	bool watching;               /* fd registered on the loop */
	bool owner_closed;           /* owner called close, or on_close ran */
	bool cut;                    /* queue cap passed */
	bool gone;                   /* client hung up (or sent bytes) while idle */
	bool ended;                  /* the request completed */
	struct xs_http_stream *prev, *next; /* server's list of live streams */
};

struct xs_http_server {
	struct xs_evloop *loop;
	struct MHD_Daemon *mhd;
	int epfd;                    /* MHD's epoll fd, watched on loop */
	uint64_t timer;              /* loop timer from MHD_get_timeout, 0 = none */
	bool in_run;                 /* inside MHD_run (no re-entry) */
	bool kick;                   /* a connection was resumed or closed: run MHD at once */
	bool stopping;               /* xs_http_server_free is running */
	uint16_t port;
	bool tls;
	char *token;                 /* NULL = no token; under token_mu (a reload replaces it from
				      * another thread, xs_http_server_set_token) */
	size_t token_len;
	pthread_mutex_t token_mu;
	unsigned token_gen;          /* under token_mu: raised when a reload sets a new token, so
				      * the streams let in by the one before end (xs_http_stream_write) */
	bool loopback;               /* listening on a loopback address: a token may be removed */
	char *cert, *key;            /* PEM text, kept for MHD's lifetime */
	size_t max_url, max_params, stream_max_queue, max_held;
	uint64_t held_big;           /* the part of stats.held_bytes in bodies over XS_HTTP_HELD_SMALL */
	xs_http_access_cb access_cb;
	void *access_arg;
	struct xs_static *files;     /* NULL = no static files */
	struct http_route routes[XS_HTTP_MAX_ROUTES];
	size_t nroutes;
	struct xs_http_stats stats;
	struct xs_http_stream *streams;
	struct xs_http_request *parked; /* requests parked by their handlers (xs_http_park) */
	struct http_watch *watched;  /* bodies being sent at a minimum rate (struct http_watch) */
	uint64_t watch_timer;        /* http_watch_check, while any is watched; 0 = none */
	double pull_grace_s, pull_min_rate;
	char mhd_msg[HTTP_MHD_MSG_LEN]; /* last MHD log line (start-up errors) */
};

/* ---- driving MHD from the loop ---------------------------------------------- */

static void http_run(struct xs_http_server *srv);

static void http_timer_cb(struct xs_evloop *loop, void *arg)
{
	struct xs_http_server *srv = arg;

	(void)loop;
	srv->timer = 0;
	http_run(srv);
}

static void http_schedule(struct xs_http_server *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (srv->timer)
		xs_evloop_cancel_timer(srv->loop, srv->timer);
	srv->timer = 0;
	if (srv->kick)
		ms = 0;
	else if (MHD_get_timeout(srv->mhd, &ms) != MHD_YES)
		return;
	srv->kick = false;
	srv->timer = xs_evloop_add_timer(srv->loop, (double)ms / 1000.0, http_timer_cb, srv);
}

static void http_request_end(struct xs_http_server *srv, struct xs_http_request *req);

/*
 * A connection opened: its struct http_conn. Closed: a request MHD never completed
 * (see the top of this file: it never reached the access handler, so no reply, stream
 * or park refers to it) is ended here, and MHD is run again at once, so that it
 * watches its listening socket again if it stopped at max_connections.
 */
static void http_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
			   enum MHD_ConnectionNotificationCode code)
{
	struct xs_http_server *srv = cls;
	struct http_conn *hc = *socket_context;

	(void)conn;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = xs_xcalloc(1, sizeof(struct http_conn));
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	srv->kick = true;
	*socket_context = NULL;
	if (!hc)
		return;
	if (hc->open && !hc->open->seen) {
		hc->open->hc = NULL;
		http_request_end(srv, hc->open);
	} else if (hc->open) {
		hc->open->hc = NULL; /* seen: MHD completes it (not seen to happen) */
	}
	free(hc);
}

static void http_run(struct xs_http_server *srv)
{
	if (srv->in_run)
		return;
	srv->in_run = true;
	MHD_run(srv->mhd);
	srv->in_run = false;
	http_schedule(srv);
}

static void http_epoll_cb(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	http_run(arg);
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct xs_http_server *srv = cls;
	va_list ap2;
	size_t n;

	va_copy(ap2, ap);
	vsnprintf(srv->mhd_msg, sizeof(srv->mhd_msg), fmt, ap2);
	va_end(ap2);
	n = strlen(srv->mhd_msg);
	while (n && (srv->mhd_msg[n - 1] == '\n' || srv->mhd_msg[n - 1] == '.'))
		srv->mhd_msg[--n] = '\0';
	xs_log(XS_LOG_DEBUG, "http: %s", srv->mhd_msg);
}

/* ---- streams -------------------------------------------------------------- */

static void http_stream_unref(struct xs_http_stream *s)
{
	if (--s->refs > 0)
		return;
	xs_buf_free(&s->q);
	free(s);
}

static void http_stream_unwatch(struct xs_http_stream *s)
{
	if (s->watching)
		xs_evloop_del_fd(s->srv->loop, s->fd);
	s->watching = false;
}

/* Resumes a suspended connection (a stream's or a parked request's). */
static void http_resume(struct xs_http_server *srv, struct MHD_Connection *conn)
{
	MHD_resume_connection(conn);
	/* MHD's ITC wakes its epoll fd too; the zero timer makes sure the
	 * resumed connection is run even when the resume came from outside
	 * MHD_run and no socket event follows */
	srv->kick = true;
	if (!srv->in_run && !srv->stopping)
		http_schedule(srv);
}

static void http_stream_resume(struct xs_http_stream *s)
{
	if (!s->suspended)
		return;
	http_stream_unwatch(s);
	s->suspended = false;
	http_resume(s->srv, s->conn);
}

/* The client's socket became readable while the stream was idle: it hung up
 * (or sent bytes an event-stream client never sends). End the stream. */
static void http_stream_fd_cb(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	struct xs_http_stream *s = arg;

	(void)loop;
	(void)fd;
	(void)events;
	s->gone = true;
	http_stream_resume(s);
}

static void http_stream_suspend(struct xs_http_stream *s)
{
	MHD_suspend_connection(s->conn);
	s->suspended = true;
	if (s->fd >= 0 && !s->watching)
		s->watching = xs_evloop_add_fd(s->srv->loop, s->fd, XS_EV_READ, http_stream_fd_cb, s) == XS_OK;
}

static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct xs_http_stream *s = cls;
	size_t avail = s->q.len - s->off, n;

	(void)pos;
	if (s->cut || s->gone)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (avail == 0) {
		if (s->owner_closed || s->srv->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		http_stream_suspend(s);
		return 0;
	}
	n = avail < max ? avail : max;
	memcpy(buf, s->q.data + s->off, n);
	s->off += n;
	if (s->off == s->q.len) {
		s->off = 0;
		if (s->q.cap > HTTP_STREAM_KEEP_MEM)
			xs_buf_free(&s->q);
		else
			xs_buf_reset(&s->q);
	}
	s->srv->stats.bytes_out += n;
	if (s->req)
		s->req->bytes += n;
	return (ssize_t)n;
}

static void http_stream_response_freed(void *cls)
{
	http_stream_unref(cls);
}

/* The request of s completed (any reason): unlink, tell the owner, drop a ref. */
static void http_stream_end(struct xs_http_stream *s)
{
	struct xs_http_server *srv = s->srv;

	if (s->ended)
		return;
	s->ended = true;
	s->req = NULL;
	http_stream_unwatch(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->stats.streams_open--;
	if (!s->owner_closed) {
		s->owner_closed = true;
		if (s->on_close)
			s->on_close(s, s->arg);
	}
	http_stream_unref(s);
}

static void http_stream_drop(struct xs_http_stream *s);

/* Whether the token that let s in is still the server's (not replaced by a reload). */
static bool http_stream_token_current(struct xs_http_stream *s)
{
	unsigned gen;

	pthread_mutex_lock(&s->srv->token_mu);
	gen = s->srv->token_gen;
	pthread_mutex_unlock(&s->srv->token_mu);
	return gen == s->token_gen;
}

enum xs_err xs_http_stream_write(struct xs_http_stream *s, const void *data, size_t len)
{
	if (s->ended || s->owner_closed || s->cut || s->gone)
		return XS_ERR_IO;
	if (!http_stream_token_current(s)) {
		http_stream_drop(s); /* the client comes back with the new token, or gets a 401 */
		return XS_ERR_IO;
	}
	if (s->off && (s->off >= s->q.len / 2 || s->q.len + len > s->q.limit)) {
		xs_buf_consume(&s->q, s->off);
		s->off = 0;
	}
	if (xs_buf_append(&s->q, data, len) != XS_OK) {
		xs_http_stream_cut(s); /* past stream_max_queue: a client that does not read */
		return XS_ERR_TOO_LARGE;
	}
	http_stream_resume(s);
	return XS_OK;
}

size_t xs_http_stream_pending(const struct xs_http_stream *s)
{
	return s->q.len - s->off;
}

size_t xs_http_stream_room(const struct xs_http_stream *s)
{
	if (s->ended || s->owner_closed || s->cut || s->gone)
		return 0;
	return s->q.limit - (s->q.len - s->off);
}

/* Ends s now, queued bytes dropped (its owner hears of it in on_close, at completion). */
static void http_stream_drop(struct xs_http_stream *s)
{
	if (s->ended || s->owner_closed || s->cut || s->gone)
		return;
	s->cut = true;
	xs_buf_free(&s->q);
	s->off = 0;
	/* MHD asks the reader (which ends the reply) only once the socket takes more,
	 * which a client that reads nothing never lets happen: the socket's own
	 * error ends the connection instead (MHD still closes the fd) */
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	http_stream_resume(s);
}

void xs_http_stream_cut(struct xs_http_stream *s)
{
	if (s->ended || s->owner_closed || s->cut || s->gone)
		return;
	http_stream_drop(s);
	s->srv->stats.streams_cut++;
}

void xs_http_stream_close(struct xs_http_stream *s)
{
	if (!s || s->owner_closed)
		return;
	s->owner_closed = true;
	http_stream_resume(s);
}

/* ---- replies ---------------------------------------------------------------- */

static enum xs_err http_queue(struct xs_http_request *req, unsigned status, struct MHD_Response *resp,
			      const char *ctype, uint64_t bytes, bool file)
{
	enum MHD_Result ok = MHD_YES;

	if (!resp)
		return XS_ERR_NOMEM;
	if (ctype)
		ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ok &= MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ok &= MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	ok &= MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ok &= MHD_add_response_header(resp, "Content-Security-Policy", file ? HTTP_CSP_UI : HTTP_CSP_API);
	/* the API's replies (the estate, behind the token) stay out of every cache, the browser's disk
	 * included; a stream's no-cache stays */
	if (!file && !MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
		ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (size_t i = 0; i < req->nhdrs; i++)
		ok &= MHD_add_response_header(resp, req->hdrs[i].name, req->hdrs[i].value);
	if (ok == MHD_YES)
		ok = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	if (ok != MHD_YES)
		return XS_ERR_NOMEM;
	req->status = status;
	req->bytes = req->head ? 0 : req->bytes + bytes; /* a pulled body counts as it goes */
	return XS_OK;
}

/* The socket of conn, -1 if MHD does not say. */
static int http_conn_fd(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

/* Whether w's client read under the server's rate (see struct http_watch). */
static bool http_watch_due(const struct xs_http_server *srv, const struct http_watch *w,
			   double now)
{
	double age = now - w->t0;

	if (w->len)
		return age >= srv->pull_grace_s + (double)w->len / srv->pull_min_rate;
	return age >= srv->pull_grace_s && (double)w->bytes < age * srv->pull_min_rate;
}

/*
 * Once a second while bodies are watched: one whose client has read under pull_min_rate
 * is cut (its socket shut down; MHD ends the reply at its next write, or a pulled body's
 * reader does). A client reading a few bytes now and then keeps MHD's idle timeout from
 * firing and, at /metrics, one of its few slots for hours; big held replies it pins fill
 * max_held, and every other big reply gets a 503.
 */
static void http_watch_check(struct xs_evloop *loop, void *arg)
{
	struct xs_http_server *srv = arg;
	double now = xs_evloop_now();

	srv->watch_timer = 0;
	for (struct http_watch *w = srv->watched; w; w = w->next) {
		if (w->cut || !http_watch_due(srv, w, now))
			continue;
		w->cut = true;
		srv->stats.pulls_cut++;
		if (w->fd >= 0)
			shutdown(w->fd, SHUT_RDWR);
	}
	if (srv->watched && !srv->stopping)
		srv->watch_timer = xs_evloop_add_timer(loop, 1.0, http_watch_check, srv);
}

/* Watches the body of req (len: a held one's length, 0 for a pulled one) from now on. */
static void http_watch_start(struct http_watch *w, struct xs_http_request *req, size_t len)
{
	struct xs_http_server *srv = req->srv;

	*w = (struct http_watch){ .srv = srv, .fd = http_conn_fd(req->conn),
				  .t0 = xs_evloop_now(), .len = len, .next = srv->watched };
	if (w->next)
		w->next->prev = w;
	srv->watched = w;
	if (!srv->watch_timer)
		srv->watch_timer = xs_evloop_add_timer(srv->loop, 1.0, http_watch_check, srv);
}

/* Its body is freed: w leaves the list (nothing if never watched). */
static void http_watch_stop(struct http_watch *w)
{
	if (!w->srv)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		w->srv->watched = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->srv = NULL;
}

/* MHD wants a non-const pointer even for a persistent empty body; never written. */
static char http_empty[1];

/* A reply body handed to MHD, counted in held_bytes (and, when over
 * XS_HTTP_HELD_SMALL, in held_big, and watched: struct http_watch) until MHD frees it:
 * sent, or its connection closed (MHD's 30 s idle timeout included, or cut). */
struct http_held {
	struct xs_http_server *srv;
	char *data;
	size_t len;
	struct http_watch w;     /* over XS_HTTP_HELD_SMALL */
};

static void http_held_free(void *cls)
{
	struct http_held *h = cls;

	h->srv->stats.held_bytes -= h->len;
	if (h->len > XS_HTTP_HELD_SMALL)
		h->srv->held_big -= h->len;
	http_watch_stop(&h->w);
	free(h->data);
	free(h);
}

/* Forgets the headers a handler set for the reply it can no longer send. */
static void http_drop_headers(struct xs_http_request *req)
{
	for (size_t i = 0; i < req->nhdrs; i++) {
		free(req->hdrs[i].name);
		free(req->hdrs[i].value);
	}
	req->nhdrs = 0;
}

static enum xs_err http_reply_body(struct xs_http_request *req, unsigned status,
				   const char *content_type, struct xs_buf *body, bool may_refuse)
{
	struct xs_http_server *srv = req->srv;
	struct MHD_Response *resp;
	struct http_held *h;
	size_t len = body ? body->len : 0;
	char *data;

	if (req->status || req->stream) {
		xs_buf_free(body);
		return XS_ERR_ARG;
	}
	/* only big bodies count against the cap: small ones, never refused, would
	 * otherwise keep a big reply out whenever any of them is in flight */
	if (may_refuse && !req->head && len > XS_HTTP_HELD_SMALL && srv->held_big &&
	    srv->held_big + len > srv->max_held) {
		xs_buf_free(body);
		srv->stats.held_refused++;
		http_drop_headers(req);
		xs_http_set_header(req, "Retry-After", "1");
		return xs_http_reply_json_error(req, 503,
						"busy: %llu KiB of replies wait for clients to read them "
						"(at most %zu KiB); retry later",
						(unsigned long long)(srv->held_big >> 10),
						srv->max_held >> 10);
	}
	data = body ? xs_buf_take(body, &len) : NULL;
	if (!data) {
		resp = MHD_create_response_from_buffer(0, http_empty, MHD_RESPMEM_PERSISTENT);
		return http_queue(req, status, resp, content_type ? content_type : XS_HTTP_JSON, 0, false);
	}
	h = xs_xcalloc(1, sizeof(*h));
	*h = (struct http_held){ .srv = srv, .data = data, .len = len };
	srv->stats.held_bytes += len;
	if (len > XS_HTTP_HELD_SMALL) {
		/* read at pull_min_rate, or cut: slow readers would hold max_held, and every
		 * big reply meanwhile get a 503 */
		srv->held_big += len;
		http_watch_start(&h->w, req, len);
	}
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, data, http_held_free, h);
	if (!resp)
		http_held_free(h);
	return http_queue(req, status, resp, content_type ? content_type : XS_HTTP_JSON, len, false);
}

enum xs_err xs_http_reply(struct xs_http_request *req, unsigned status, const char *content_type,
			  struct xs_buf *body)
{
	return http_reply_body(req, status, content_type, body, true);
}

enum xs_err xs_http_reply_copy(struct xs_http_request *req, unsigned status, const char *content_type,
			       const void *data, size_t len)
{
	struct xs_buf b;

	xs_buf_init(&b, len);
	if (xs_buf_append(&b, data, len) != XS_OK)
		return XS_ERR_TOO_LARGE;
	return xs_http_reply(req, status, content_type, &b);
}

static ssize_t http_pull_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_pull *p = cls;
	size_t n = 0;

	(void)pos;
	if (p->w.cut || p->pull(p->arg, buf, max, &n) != XS_OK)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (p->req)
		p->req->bytes += n;
	p->w.bytes += n;
	return (ssize_t)n;
}

static void http_pull_freed(void *cls)
{
	struct http_pull *p = cls;

	http_watch_stop(&p->w);
	if (p->req)
		p->req->pull = NULL;
	p->free_arg(p->arg);
	free(p);
}

static ssize_t http_head_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

/*
 * The headers of a reply whose length is not known in advance (a stream, a
 * pulled body) and no content, for a HEAD: neither chunks (MHD 0.9.75 would
 * send the last one) nor a Content-Length (0 would be false, RFC 9110 §8.6);
 * the connection closes after it. no_cache adds Cache-Control: no-cache.
 */
static enum xs_err http_head_unsized(struct xs_http_request *req, unsigned status,
				     const char *content_type, bool no_cache)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, http_head_read, NULL,
						 NULL);
	if (!resp)
		return XS_ERR_NOMEM;
	if (MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END) != MHD_YES ||
	    (no_cache &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES)) {
		MHD_destroy_response(resp);
		return XS_ERR_NOMEM;
	}
	return http_queue(req, status, resp, content_type ? content_type : XS_HTTP_JSON, 0, false);
}

enum xs_err xs_http_reply_pull(struct xs_http_request *req, unsigned status, const char *content_type,
			       xs_http_pull_cb pull, xs_http_pull_free_cb free_arg, void *arg)
{
	struct MHD_Response *resp;
	struct http_pull *p;

	if (req->status || req->stream) {
		free_arg(arg);
		return XS_ERR_ARG;
	}
	if (req->head) { /* headers only, of unknown length: http_head_unsized */
		free_arg(arg);
		return http_head_unsized(req, status, content_type, false);
	}
	p = xs_xcalloc(1, sizeof(*p));
	*p = (struct http_pull){ .pull = pull, .free_arg = free_arg, .arg = arg, .req = req };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_PULL_BLOCK, http_pull_read, p,
						 http_pull_freed);
	if (!resp) {
		http_pull_freed(p);
		return XS_ERR_NOMEM;
	}
	req->pull = p;
	http_watch_start(&p->w, req, 0);
	/* http_queue drops our handle: MHD frees p with the response, queued or not */
	return http_queue(req, status, resp, content_type ? content_type : XS_HTTP_JSON, 0, false);
}

enum xs_err xs_http_reply_json_error(struct xs_http_request *req, unsigned status, const char *fmt, ...)
{
	char msg[XS_HTTP_MAX_ERROR_MSG];
	struct xs_buf b;
	struct xs_json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xs_buf_init(&b, HTTP_ERROR_CAP);
	xs_json_init(&j, &b);
	xs_json_obj_begin(&j);
	xs_json_key(&j, "error");
	xs_json_str(&j, msg);
	xs_json_obj_end(&j);
	if (xs_json_error(&j)) /* cannot happen: 6 x 512 < cap */
		return xs_http_reply_copy(req, status, XS_HTTP_JSON, "{\"error\":\"?\"}", 13);
	return http_reply_body(req, status, XS_HTTP_JSON, &b, false);
}

bool xs_http_is_head(const struct xs_http_request *req)
{
	return req->head;
}

enum xs_err xs_http_set_header(struct xs_http_request *req, const char *name, const char *value)
{
	if (req->status || req->stream || req->nhdrs >= XS_HTTP_MAX_EXTRA_HEADERS)
		return XS_ERR_ARG;
	if (!*name || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return XS_ERR_ARG;
	req->hdrs[req->nhdrs].name = xs_xstrndup(name, strlen(name));
	req->hdrs[req->nhdrs].value = xs_xstrndup(value, strlen(value));
	req->nhdrs++;
	return XS_OK;
}

struct xs_http_stream *xs_http_stream_start(struct xs_http_request *req, const char *content_type,
					    xs_http_stream_close_cb on_close, void *arg)
{
	struct xs_http_server *srv = req->srv;
	struct MHD_Response *resp;
	struct xs_http_stream *s;

	if (req->status || req->stream)
		return NULL;
	if (req->head) { /* the headers alone (RFC 9110 §9.3.2): http_head_unsized */
		http_head_unsized(req, MHD_HTTP_OK, content_type ? content_type : "text/event-stream", true);
		return NULL;
	}
	s = xs_xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->conn = req->conn;
	s->req = req;
	xs_buf_init(&s->q, srv->stream_max_queue);
	s->on_close = on_close;
	s->arg = arg;
	s->token_gen = req->token_gen;
	s->fd = http_conn_fd(req->conn);
	s->refs = 1; /* the response's, from here on */
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, http_stream_read, s,
						 http_stream_response_freed);
	if (!resp) {
		http_stream_unref(s);
		return NULL;
	}
	/* http_queue destroys our handle of resp: if it was not queued, MHD's
	 * free callback drops the response's ref and s is freed */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	if (http_queue(req, MHD_HTTP_OK, resp, content_type ? content_type : "text/event-stream", 0, false))
		return NULL;
	s->refs++; /* the request's */
	req->stream = s;
	s->next = srv->streams;
	if (s->next)
		s->next->prev = s;
	srv->streams = s;
	srv->stats.streams_open++;
	srv->stats.streams_total++;
	return s;
}

/* ---- request accessors ---------------------------------------------------- */

const char *xs_http_method(const struct xs_http_request *req) { return req->method; }
const char *xs_http_path(const struct xs_http_request *req) { return req->path; }
const char *xs_http_path_rest(const struct xs_http_request *req) { return req->rest ? req->rest : ""; }
const struct xs_qs *xs_http_params(const struct xs_http_request *req) { return &req->qs; }

const char *xs_http_param(const struct xs_http_request *req, const char *name)
{
	return xs_qs_get(&req->qs, name);
}

const char *xs_http_header(const struct xs_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* ---- dispatch ---------------------------------------------------------------- */

static bool http_method_matches(const struct http_route *r, const char *method)
{
	return !strcmp(r->method, method) || (!strcmp(method, "HEAD") && !strcmp(r->method, "GET"));
}

/* Adds m to the comma-separated list allow (HTTP_ALLOW_LEN) unless present. */
static void http_allow_add(char *allow, const char *m)
{
	size_t n = strlen(allow), l = strlen(m);
	const char *p = allow;

	while ((p = strstr(p, m))) {
		if ((p == allow || p[-1] == ' ') && (p[l] == ',' || p[l] == '\0'))
			return;
		p += l;
	}
	if (n + l + 3 > HTTP_ALLOW_LEN)
		return;
	if (n) {
		memcpy(allow + n, ", ", 2);
		n += 2;
	}
	memcpy(allow + n, m, l + 1);
}

/*
 * Finds the route for req->path: exact routes first, else the longest
 * prefix. *known tells whether any route has that path (for 405 vs 404), and
 * allow collects the methods those routes accept.
 */
static const struct http_route *http_route_find(const struct xs_http_server *srv, const char *path,
						const char *method, bool *known, char *allow)
{
	const struct http_route *hit = NULL;
	size_t plen = strlen(path), best = 0;

	*known = false;
	allow[0] = '\0';
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];

		if (r->prefix || r->path_len != plen || memcmp(r->path, path, plen))
			continue;
		*known = true;
		http_allow_add(allow, r->method);
		if (!strcmp(r->method, "GET"))
			http_allow_add(allow, "HEAD");
		if (!hit && http_method_matches(r, method))
			hit = r;
	}
	if (*known)
		return hit;
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];

		if (r->prefix && r->path_len <= plen && r->path_len > best && !memcmp(r->path, path, r->path_len))
			best = r->path_len;
	}
	for (size_t i = 0; best && i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];

		if (!r->prefix || r->path_len != best || memcmp(r->path, path, best))
			continue;
		*known = true;
		http_allow_add(allow, r->method);
		if (!strcmp(r->method, "GET"))
			http_allow_add(allow, "HEAD");
		if (!hit && http_method_matches(r, method))
			hit = r;
	}
	return hit;
}

/* Whether s (len bytes) is the token: constant time in the token, whatever matches. */
static bool http_token_eq(const struct xs_http_server *srv, const char *s, size_t n)
{
	unsigned char diff = n != srv->token_len;

	for (size_t i = 0; i < srv->token_len; i++)
		diff |= (unsigned char)(srv->token[i] ^ (i < n ? s[i] : 0));
	return diff == 0;
}

static bool http_token_ok(const struct xs_http_server *srv, const char *hdr)
{
	if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
		return false;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	return http_token_eq(srv, hdr, strlen(hdr));
}

/*
 * Whether the request may reach a route: no token configured, the header
 * "Authorization: Bearer <token>", or the parameter access_token=<token> (for
 * what cannot send headers: a browser's EventSource, a link). The parameter is
 * removed so that handlers never see it, with a token or without: a client that
 * still sends one (a token removed by a reload, a UI that kept it) is ignored
 * like the header, not refused with a 400 its EventSource would never retry.
 */
static bool http_authorized(struct xs_http_request *req)
{
	struct xs_http_server *srv = req->srv;
	struct xs_qs *qs = &req->qs;
	bool ok;

	pthread_mutex_lock(&srv->token_mu);
	req->token_gen = srv->token_gen;
	ok = !srv->token || http_token_ok(srv, xs_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION));
	for (size_t i = 0; i < qs->n; i++)
		if (!strcmp(qs->params[i].name, HTTP_TOKEN_PARAM)) {
			ok = ok || http_token_eq(srv, qs->params[i].value, qs->params[i].value_len);
			memmove(&qs->params[i], &qs->params[i + 1], (qs->n - i - 1) * sizeof(*qs->params));
			qs->n--;
			break;
		}
	pthread_mutex_unlock(&srv->token_mu);
	return ok;
}

/* Overwrites and frees a token (NULL: nothing). */
static void http_token_free(char *token)
{
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
}

enum xs_err xs_http_server_set_token(struct xs_http_server *srv, const char *token, char *err)
{
	char *fresh = NULL, *old;
	size_t len = token ? strlen(token) : 0;

	if (!len && !srv->loopback)
		return xs_err_set(err, XS_ERR_ARG,
				  "a Bearer token is required: the API listens on a non-loopback address");
	if (len)
		fresh = xs_xstrndup(token, len);
	pthread_mutex_lock(&srv->token_mu);
	old = srv->token;
	if (fresh && (!old || strcmp(old, fresh)))
		srv->token_gen++; /* a new token: the streams of the old one, or of none, end */
	srv->token = fresh;
	srv->token_len = len;
	pthread_mutex_unlock(&srv->token_mu);
	http_token_free(old);
	return XS_OK;
}

static void http_unauthorized(struct xs_http_request *req)
{
	xs_http_set_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"xapistat\"");
	xs_http_reply_json_error(req, MHD_HTTP_UNAUTHORIZED, "a valid Bearer token is required");
}

/* Whether the Host header value host names localhost or a loopback address (any port). */
static bool http_host_loopback(const char *host)
{
	char name[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	struct in_addr a4;
	const char *end;
	size_t n;

	if (host[0] == '[') {
		end = strchr(host, ']');
		n = end ? (size_t)(end - host - 1) : sizeof(name);
		if (n >= sizeof(name) || (end[1] && end[1] != ':'))
			return false;
		memcpy(name, host + 1, n);
		name[n] = '\0';
		return inet_pton(AF_INET6, name, &a6) == 1 &&
		       (IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127));
	}
	n = strcspn(host, ":");
	if (n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (!strcasecmp(name, "localhost"))
		return true;
	return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * Whether req may be served under its Host. Without a token (a loopback listener) only
 * localhost and loopback addresses are: any other name is a DNS rebinding (a web page whose
 * name now resolves to 127.0.0.1 would read the estate with the visitor's browser). With a
 * token, any name: the page of another name has no token. No Host (HTTP/1.0): no browser.
 */
static bool http_host_allowed(struct xs_http_request *req)
{
	struct xs_http_server *srv = req->srv;
	const char *host;
	bool token;

	pthread_mutex_lock(&srv->token_mu);
	token = srv->token != NULL;
	pthread_mutex_unlock(&srv->token_mu);
	host = xs_http_header(req, MHD_HTTP_HEADER_HOST);
	return token || !host || http_host_loopback(host);
}

struct http_framing {
	unsigned content_lengths; /* Content-Length fields */
	unsigned hosts;           /* Host fields */
	bool blank_in_name;       /* a field name with a blank in it ("Transfer-Encoding :") */
};

static enum MHD_Result http_framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct http_framing *f = cls;

	(void)kind;
	(void)value;
	f->content_lengths += !strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH);
	f->hosts += !strcasecmp(key, MHD_HTTP_HEADER_HOST);
	f->blank_in_name |= strpbrk(key, " \t") != NULL;
	return MHD_YES;
}

/*
 * Why the request's framing is ambiguous, or NULL: two Content-Length fields, two
 * Host fields (RFC 9112 3.2: 400; the Host check reads the first), or a
 * field name with a blank (RFC 9112 5.1: rejected with 400). MHD reads the first
 * Content-Length and takes "Transfer-Encoding :" for another field; a proxy in front
 * might read them otherwise and send the bytes after as a body we take for a request.
 */
static const char *http_framing_error(const struct xs_http_request *req)
{
	struct http_framing f = { 0 };

	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_framing_cb, &f);
	if (f.content_lengths > 1)
		return "ambiguous request: more than one Content-Length";
	if (f.hosts > 1)
		return "ambiguous request: more than one Host";
	if (f.blank_in_name)
		return "ambiguous request: a blank in a header name";
	return NULL;
}

static bool http_has_body(const struct xs_http_request *req)
{
	const char *cl = xs_http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (xs_http_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return cl && strspn(cl, "0") != strlen(cl);
}

/* Splits and decodes the target; replies 400 itself on failure (returns false). */
static bool http_parse_target(struct xs_http_request *req)
{
	struct xs_http_server *srv = req->srv;
	char err[XS_ERR_LEN];
	size_t plen = strcspn(req->target, "?#"), qlen = 0;
	const char *q = NULL;
	long n;

	if (req->target[plen] == '?') {
		q = req->target + plen + 1;
		qlen = strcspn(q, "#");
	}
	req->path = xs_xmalloc(plen + 1);
	n = xs_pct_decode(req->path, req->target, plen, false);
	if (n < 0 || memchr(req->path, '\0', (size_t)n)) {
		req->path[0] = '\0';
		xs_http_reply_json_error(req, MHD_HTTP_BAD_REQUEST, "bad percent-escape or NUL byte in path");
		return false;
	}
	req->path[n] = '\0';
	if (req->path[0] != '/') {
		xs_http_reply_json_error(req, MHD_HTTP_BAD_REQUEST, "request target must be an absolute path");
		return false;
	}
	if (q && xs_qs_parse(&req->qs, q, qlen, srv->max_params, srv->max_url, err) != XS_OK) {
		xs_http_reply_json_error(req, MHD_HTTP_BAD_REQUEST, "%s", err);
		return false;
	}
	return true;
}

/* Calls req's route handler: the first time, or again after xs_http_unpark(). */
static void http_call(struct xs_http_request *req)
{
	enum xs_err rc = req->route->handler(req, req->route->arg);

	if (!req->status && !req->stream && !req->parked)
		xs_http_reply_json_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error: %s",
					 xs_strerror(rc ? rc : XS_ERR_ARG));
}

static void http_dispatch(struct xs_http_request *req)
{
	struct xs_http_server *srv = req->srv;
	const struct http_route *r;
	char allow[HTTP_ALLOW_LEN];
	bool known;

	if (!req->target) {
		xs_http_reply_json_error(req, MHD_HTTP_URI_TOO_LONG, "request target too long (max %zu bytes)",
					 srv->max_url);
		return;
	}
	if (req->framing) {
		xs_http_reply_json_error(req, MHD_HTTP_BAD_REQUEST, "%s", req->framing);
		return;
	}
	if (http_has_body(req)) {
		xs_http_reply_json_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are not accepted");
		return;
	}
	if (!http_host_allowed(req)) {
		xs_http_reply_json_error(req, MHD_HTTP_FORBIDDEN,
					 "Host %.64s refused: without a token only localhost and loopback "
					 "addresses are served (set a token to serve other names)",
					 xs_http_header(req, MHD_HTTP_HEADER_HOST));
		return;
	}
	if (!http_parse_target(req))
		return;
	r = http_route_find(srv, req->path, req->method, &known, allow);
	/* the web UI's files hold no data: served without the token (the UI asks for it);
	 * another method on one of them is a 405, as on a route */
	if (!r && !known && srv->files) {
		const char *ctype;
		uint64_t size;
		int fd;

		if (xs_static_lookup(srv->files, req->path, strlen(req->path), &fd, &size, &ctype) ==
		    XS_OK) {
			if (strcmp(req->method, "GET") && !req->head) {
				close(fd);
				xs_http_set_header(req, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
				xs_http_reply_json_error(req, MHD_HTTP_METHOD_NOT_ALLOWED,
							 "method %s not allowed (allowed: GET, HEAD)",
							 req->method);
			} else if (http_queue(req, MHD_HTTP_OK, MHD_create_response_from_fd64(size, fd),
					      ctype, size, true) != XS_OK && !req->status) {
				xs_http_reply_json_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
							 "cannot send file");
			}
			return;
		}
	}
	if (!http_authorized(req)) {
		http_unauthorized(req);
		return;
	}
	if (r) {
		req->rest = r->prefix ? req->path + r->path_len : "";
		req->route = r;
		http_call(req);
		return;
	}
	if (known) {
		xs_http_set_header(req, MHD_HTTP_HEADER_ALLOW, allow);
		xs_http_reply_json_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed (allowed: %s)",
					 req->method, allow);
		return;
	}
	xs_http_reply_json_error(req, MHD_HTTP_NOT_FOUND, "no such path: %s", req->path);
}

static void *http_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct xs_http_server *srv = cls;
	struct xs_http_request *req = xs_xcalloc(1, sizeof(*req));
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;

	req->srv = srv;
	req->conn = conn;
	req->t0 = xs_evloop_now();
	req->target_len = strlen(uri);
	if (req->target_len <= srv->max_url)
		req->target = xs_xstrndup(uri, req->target_len);
	if (hc && hc->open && !hc->open->seen) { /* the connection's last, never completed */
		hc->open->hc = NULL;
		http_request_end(srv, hc->open);
		hc->open = NULL;
	}
	if (hc && !hc->open) {
		hc->open = req;
		req->hc = hc;
	}
	return req;
}

static enum MHD_Result http_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version, const char *upload_data,
				      size_t *upload_data_size, void **req_cls)
{
	struct xs_http_request *req = *req_cls;

	(void)url;
	(void)version;
	(void)upload_data;
	if (!req) { /* no URI callback (cannot happen): make the context here */
		req = http_uri_cb(cls, url, conn);
		*req_cls = req;
	}
	if (!req->seen) {
		req->seen = true;
		req->conn = conn;
		req->method = method;
		req->head = !strcmp(method, "HEAD");
		/* A reply queued in this first call, with the headers alone read, makes MHD
		 * close the connection after it (0.9.7x: discard_request, "Connection:
		 * close"). A request without a body is answered at the next call, once it is
		 * whole, and its connection stays open for the next one; one with a body is
		 * refused now, which discards the body. So is one with an Expect header: MHD
		 * may call again while it answers "100 Continue", when no reply can be queued.
		 * An ambiguous one (http_framing_error) is refused now too, and closed. */
		req->framing = http_framing_error(req);
		if (!http_has_body(req) && !xs_http_header(req, MHD_HTTP_HEADER_EXPECT) && !req->framing)
			return MHD_YES;
	}
	if (!req->dispatched) {
		req->dispatched = true;
		http_dispatch(req);
		return req->status || req->parked ? MHD_YES : MHD_NO;
	}
	if (req->call_again && !req->status && !req->stream) {
		/* unparked: its handler again, which must reply now */
		req->call_again = false;
		if (req->srv->stopping)
			return MHD_NO;
		http_call(req);
		return req->status || req->stream ? MHD_YES : MHD_NO;
	}
	*upload_data_size = 0; /* a body after the reply: dropped */
	return MHD_YES;
}

/* Takes req off the server's list of parked requests. */
static void http_unlink_parked(struct xs_http_request *req)
{
	if (!req->parked)
		return;
	if (req->hprev)
		req->hprev->hnext = req->hnext;
	else
		req->srv->parked = req->hnext;
	if (req->hnext)
		req->hnext->hprev = req->hprev;
	req->hprev = req->hnext = NULL;
	req->parked = false;
}

enum xs_err xs_http_park(struct xs_http_request *req)
{
	struct xs_http_server *srv = req->srv;

	if (req->status || req->stream || req->parked || !req->route || req->unparked)
		return XS_ERR_ARG;
	MHD_suspend_connection(req->conn);
	req->parked = true;
	req->hprev = NULL;
	req->hnext = srv->parked;
	if (srv->parked)
		srv->parked->hprev = req;
	srv->parked = req;
	return XS_OK;
}

void xs_http_unpark(struct xs_http_request *req)
{
	if (!req->parked)
		return;
	http_unlink_parked(req);
	req->unparked = true;
	req->call_again = true;
	http_resume(req->srv, req->conn);
}

bool xs_http_unparked(const struct xs_http_request *req)
{
	return req->unparked;
}

static void http_request_free(struct xs_http_request *req)
{
	http_unlink_parked(req);
	http_drop_headers(req);
	xs_qs_free(&req->qs);
	free(req->path);
	free(req->target);
	free(req);
}

/*
 * Cuts the query off target, for the access log, when it may carry the token: when it holds
 * access_token once decoded (the query parser decodes names too: access%5Ftoken is the token
 * parameter), or cannot be decoded.
 */
static void http_log_target(char *target)
{
	char *q = strchr(target, '?'), *dec;
	size_t n;
	long m;

	if (!q)
		return;
	n = strlen(q + 1);
	dec = xs_xmalloc(n + 1);
	m = xs_pct_decode(dec, q + 1, n, true);
	if (m < 0 || memmem(dec, (size_t)m, HTTP_TOKEN_PARAM, strlen(HTTP_TOKEN_PARAM)))
		*q = '\0';
	free(dec);
}

/* A request's end: counted, logged, its stream and pulled body let go, freed. */
static void http_request_end(struct xs_http_server *srv, struct xs_http_request *req)
{
	struct xs_http_access a;

	if (req->hc && req->hc->open == req)
		req->hc->open = NULL;
	srv->stats.requests++;
	if (req->status >= 200 && req->status < 300)
		srv->stats.status_2xx++;
	else if (req->status >= 300 && req->status < 400)
		srv->stats.status_3xx++;
	else if (req->status >= 400 && req->status < 500)
		srv->stats.status_4xx++;
	else if (req->status >= 500)
		srv->stats.status_5xx++;
	if (!req->stream)
		srv->stats.bytes_out += req->bytes;
	if (srv->access_cb) {
		a.method = req->method ? req->method : "-";
		if (req->target)
			http_log_target(req->target);
		a.target = req->target ? req->target : "(too long)";
		a.status = req->status;
		a.bytes = req->bytes;
		a.seconds = xs_evloop_now() - req->t0;
		srv->access_cb(&a, srv->access_arg);
	}
	if (req->stream)
		http_stream_end(req->stream);
	if (req->pull)
		req->pull->req = NULL;
	http_request_free(req);
}

static void http_done_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct xs_http_request *req = *req_cls;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	*req_cls = NULL;
	http_request_end(cls, req);
}

/* ---- routes ------------------------------------------------------------------ */

static enum xs_err http_route_add(struct xs_http_server *srv, const char *method, const char *path,
				  bool prefix, xs_http_handler handler, void *arg)
{
	struct http_route *r;

	if (!method || !*method || !path || path[0] != '/' || !handler || srv->nroutes >= XS_HTTP_MAX_ROUTES)
		return XS_ERR_ARG;
	for (size_t i = 0; i < srv->nroutes; i++) {
		r = &srv->routes[i];
		if (r->prefix == prefix && !strcmp(r->method, method) && !strcmp(r->path, path))
			return XS_ERR_ARG;
	}
	r = &srv->routes[srv->nroutes++];
	r->method = xs_xstrndup(method, strlen(method));
	r->path = xs_xstrndup(path, strlen(path));
	r->path_len = strlen(path);
	r->prefix = prefix;
	r->handler = handler;
	r->arg = arg;
	return XS_OK;
}

enum xs_err xs_http_server_route(struct xs_http_server *srv, const char *method, const char *path,
				 xs_http_handler handler, void *arg)
{
	return http_route_add(srv, method, path, false, handler, arg);
}

enum xs_err xs_http_server_route_prefix(struct xs_http_server *srv, const char *method, const char *path,
					xs_http_handler handler, void *arg)
{
	return http_route_add(srv, method, path, true, handler, arg);
}

/* ---- start and stop ------------------------------------------------------------ */

bool xs_http_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/*
 * Parses the listen host: numeric IPv4, numeric IPv6 (brackets allowed) or
 * "localhost" (127.0.0.1). Sets *loopback for 127.0.0.0/8, ::1 and
 * ::ffff:127.0.0.0/104.
 */
static enum xs_err http_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
				bool *loopback, char *err)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (!host || !*host || !strcasecmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
		return XS_OK;
	}
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		const uint8_t *b = s6->sin6_addr.s6_addr;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
			    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127);
		return XS_OK;
	}
	return xs_err_set(err, XS_ERR_ARG,
			  "listen host '%s': must be a numeric IPv4 or IPv6 address or 'localhost'", host);
}

static enum xs_err http_read_pem(const char *path, char **out, char *err)
{
	struct xs_buf b;
	ssize_t n;
	int fd;
	enum xs_err rc = XS_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xs_err_set(err, XS_ERR_IO, "TLS file %s: %s", path, strerror(errno));
	xs_buf_init(&b, XS_HTTP_MAX_TLS_FILE);
	for (;;) {
		rc = xs_buf_reserve(&b, 4096);
		if (rc) {
			xs_err_set(err, rc, "TLS file %s: larger than %u bytes", path, XS_HTTP_MAX_TLS_FILE);
			break;
		}
		n = read(fd, b.data + b.len, xs_buf_room(&b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = xs_err_set(err, XS_ERR_IO, "TLS file %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		xs_buf_commit(&b, (size_t)n);
	}
	close(fd);
	if (!rc && b.len == 0)
		rc = xs_err_set(err, XS_ERR_ARG, "TLS file %s: empty", path);
	if (rc)
		xs_buf_free(&b);
	else
		*out = xs_buf_take(&b, NULL);
	return rc;
}

/* A passphrase callback that gives none: an encrypted key is refused, never prompted for. */
static int http_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/*
 * Checks the PEM texts cert and key (NUL-terminated, read from cfg's files) before
 * libmicrohttpd gets them: it only says "Failed to initialize TLS support", naming
 * neither the file nor the problem.
 */
static enum xs_err http_check_pem(const struct xs_http_server_config *cfg, const char *cert,
				  const char *key, char *err)
{
	BIO *b = BIO_new_mem_buf(cert, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, http_no_passphrase, NULL) : NULL;
	EVP_PKEY *k = NULL;
	enum xs_err rc = XS_OK;

	BIO_free(b);
	if (!x) {
		rc = xs_err_set(err, XS_ERR_ARG, "TLS certificate %s: no PEM certificate in it",
				cfg->tls_cert_file);
		goto out;
	}
	b = BIO_new_mem_buf(key, -1);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, http_no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		rc = xs_err_set(err, XS_ERR_ARG,
				"TLS key %s: no unencrypted PEM private key in it", cfg->tls_key_file);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1)
		rc = xs_err_set(err, XS_ERR_ARG, "TLS key %s does not match the certificate %s",
				cfg->tls_key_file, cfg->tls_cert_file);
out:
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

/* Reads and checks cfg's TLS certificate and key into *cert and *key (the caller frees them). */
static enum xs_err http_load_tls(const struct xs_http_server_config *cfg, char **cert, char **key,
				 char *err)
{
	enum xs_err rc;

	if (!cfg->tls_cert_file != !cfg->tls_key_file)
		return xs_err_set(err, XS_ERR_ARG, "TLS needs both a certificate and a key file");
	if (!cfg->tls_cert_file)
		return XS_OK;
	if (!xs_http_tls_supported())
		return xs_err_set(err, XS_ERR_ARG, "this libmicrohttpd was built without TLS");
	rc = http_read_pem(cfg->tls_cert_file, cert, err);
	if (!rc)
		rc = http_read_pem(cfg->tls_key_file, key, err);
	if (!rc)
		rc = http_check_pem(cfg, *cert, *key, err);
	return rc;
}

enum xs_err xs_http_server_check_tls(const struct xs_http_server_config *cfg, char *err)
{
	char *cert = NULL, *key = NULL;
	enum xs_err rc = http_load_tls(cfg, &cert, &key, err);

	free(cert);
	free(key);
	return rc;
}

static enum xs_err http_setup(struct xs_http_server *srv, const struct xs_http_server_config *cfg,
			      char *err)
{
	enum xs_err rc;

	srv->max_url = cfg->max_url ? cfg->max_url : XS_HTTP_DEFAULT_MAX_URL;
	srv->max_params = cfg->max_params ? cfg->max_params : XS_HTTP_DEFAULT_MAX_PARAMS;
	srv->stream_max_queue = cfg->stream_max_queue ? cfg->stream_max_queue : XS_HTTP_DEFAULT_STREAM_QUEUE;
	srv->pull_grace_s = cfg->pull_grace_s > 0 ? cfg->pull_grace_s : XS_HTTP_DEFAULT_PULL_GRACE_S;
	srv->pull_min_rate = cfg->pull_min_rate > 0 ? cfg->pull_min_rate : XS_HTTP_DEFAULT_PULL_MIN_RATE;
	srv->max_held = cfg->max_held ? cfg->max_held : XS_HTTP_DEFAULT_MAX_HELD;
	srv->access_cb = cfg->access_cb;
	srv->access_arg = cfg->access_arg;
	if (cfg->token && *cfg->token) {
		srv->token_len = strlen(cfg->token);
		srv->token = xs_xstrndup(cfg->token, srv->token_len);
	}
	rc = http_load_tls(cfg, &srv->cert, &srv->key, err);
	if (rc)
		return rc;
	srv->tls = cfg->tls_cert_file != NULL;
	if (cfg->static_dir)
		return xs_static_open(cfg->static_dir, &srv->files, err);
	return XS_OK;
}

static enum xs_err http_start_mhd(struct xs_http_server *srv, const struct xs_http_server_config *cfg,
				  const struct sockaddr_storage *ss, char *err)
{
	struct MHD_OptionItem tls[4] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)HTTP_TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls)
		flags |= MHD_USE_TLS;
	srv->mhd = MHD_start_daemon(
		flags, cfg->port, NULL, NULL, http_access_cb, srv, MHD_OPTION_SOCK_ADDR, ss,
		MHD_OPTION_URI_LOG_CALLBACK, http_uri_cb, srv, MHD_OPTION_NOTIFY_COMPLETED, http_done_cb, srv,
		MHD_OPTION_NOTIFY_CONNECTION, http_notify_cb, srv,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(cfg->max_connections ? cfg->max_connections : XS_HTTP_DEFAULT_MAX_CONNECTIONS),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(cfg->max_per_ip ? cfg->max_per_ip : XS_HTTP_DEFAULT_MAX_PER_IP),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s ? cfg->timeout_s : XS_HTTP_DEFAULT_TIMEOUT_S),
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv, MHD_OPTION_ARRAY, srv->tls ? tls : tls + 3,
		MHD_OPTION_END);
	if (!srv->mhd)
		return xs_err_set(err, XS_ERR_IO, "cannot listen on %s port %u: %s", cfg->host ? cfg->host : "127.0.0.1",
				  (unsigned)cfg->port, srv->mhd_msg[0] ? srv->mhd_msg : "libmicrohttpd failed to start");
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return xs_err_set(err, XS_ERR_IO, "libmicrohttpd has no epoll fd");
	srv->epfd = info->epoll_fd;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->port;
	if (xs_evloop_add_fd(srv->loop, srv->epfd, XS_EV_READ, http_epoll_cb, srv) != XS_OK)
		return xs_err_set(err, XS_ERR_IO, "cannot watch libmicrohttpd's epoll fd");
	http_schedule(srv);
	return XS_OK;
}

enum xs_err xs_http_server_start(struct xs_evloop *loop, const struct xs_http_server_config *cfg,
				 struct xs_http_server **out, char *err)
{
	struct xs_http_server *srv;
	struct sockaddr_storage ss;
	bool loopback = false;
	enum xs_err rc;

	*out = NULL;
	rc = http_resolve(cfg->host, cfg->port, &ss, &loopback, err);
	if (rc)
		return rc;
	if (!loopback && !(cfg->token && *cfg->token))
		return xs_err_set(err, XS_ERR_ARG,
				  "refusing to listen on non-loopback address '%s' without a Bearer token "
				  "(set a token, or listen on 127.0.0.1)",
				  cfg->host);
	srv = xs_xcalloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->epfd = -1;
	srv->loopback = loopback;
	pthread_mutex_init(&srv->token_mu, NULL);
	rc = http_setup(srv, cfg, err);
	if (!rc)
		rc = http_start_mhd(srv, cfg, &ss, err);
	if (rc) {
		xs_http_server_free(&srv);
		return rc;
	}
	*out = srv;
	return XS_OK;
}

void xs_http_server_free(struct xs_http_server **sp)
{
	struct xs_http_server *srv = sp ? *sp : NULL;

	if (!srv)
		return;
	srv->stopping = true;
	/* MHD must not be stopped with suspended connections: resume them all;
	 * their readers now end the streams. */
	for (struct xs_http_stream *s = srv->streams; s; s = s->next)
		http_stream_resume(s);
	while (srv->parked) /* completed unanswered: their handlers are not called again */
		xs_http_unpark(srv->parked);
	if (srv->timer)
		xs_evloop_cancel_timer(srv->loop, srv->timer);
	if (srv->watch_timer)
		xs_evloop_cancel_timer(srv->loop, srv->watch_timer);
	srv->watch_timer = 0;
	if (srv->epfd >= 0)
		xs_evloop_del_fd(srv->loop, srv->epfd);
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	for (size_t i = 0; i < srv->nroutes; i++) {
		free(srv->routes[i].method);
		free(srv->routes[i].path);
	}
	xs_static_free(&srv->files);
	http_token_free(srv->token);
	pthread_mutex_destroy(&srv->token_mu);
	free(srv->cert);
	free(srv->key);
	free(srv);
	*sp = NULL;
}

uint16_t xs_http_server_port(const struct xs_http_server *srv)
{
	return srv->port;
}

bool xs_http_server_tls(const struct xs_http_server *srv)
{
	return srv->tls;
}

void xs_http_server_stats(const struct xs_http_server *srv, struct xs_http_stats *st)
{
	const union MHD_DaemonInfo *info;

	*st = srv->stats;
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	st->connections_open = info ? info->num_connections : 0;
	st->stream_queued_bytes = 0;
	for (const struct xs_http_stream *s = srv->streams; s; s = s->next)
		st->stream_queued_bytes += xs_http_stream_pending(s);
}
