/*
 * server.h - the HTTP server of `xapistat serve`: libmicrohttpd driven by the
 * daemon's event loop, with routes, JSON errors, a Bearer token, optional
 * TLS, static files and streams (Server-Sent Events).
 *
 * Threading: everything runs on the thread of the xs_evloop given to
 * xs_http_server_start(): MHD has no thread of its own (MHD_USE_EPOLL, its
 * epoll fd is watched by the loop and a timer follows MHD_get_timeout()).
 * Handlers, stream callbacks and the access log callback are all called on
 * that thread, so handlers may read the daemon's state without locks; they
 * must do bounded work and never block (DESIGN.md: no request waits on a host).
 *
 * Limits (all with named defaults, see struct xs_http_server_config):
 *   - request target longer than max_url                → 414
 *   - more than max_params query parameters, a bad
 *     escape, a duplicate or empty name, NUL in the path  → 400
 *   - any request body (Content-Length > 0 or
 *     Transfer-Encoding)                                  → 413
 *   - more than max_per_ip open connections from one address: MHD closes the
 *     new one at once (one client holding every slot, e.g. by sending a header
 *     line every few seconds, would lock everyone else out);
 *   - more than max_connections open connections: MHD refuses the accept;
 *     idle connections close after timeout_s (streams excepted: see below);
 *     a client that hangs up mid-request may be noticed only then
 *   - a stream's unsent bytes past stream_max_queue: the stream is closed
 *     (an owner that keeps within xs_http_stream_room() cuts a client that
 *     reads nothing itself: xs_http_stream_cut()).
 *   - reply bodies queued and not yet sent (clients that read slowly or not at
 *     all pin them, until MHD's idle timeout, or until cut for reading under
 *     pull_min_rate): a body over XS_HTTP_HELD_SMALL
 *     that would take such bodies past max_held is refused with 503 and
 *     Retry-After: 1. Bodies up to XS_HTTP_HELD_SMALL are never refused and
 *     not counted against the cap (1,024 connections pin 16 MiB of them at
 *     most); a big body when no other big one is held is always sent.
 * Errors are JSON: {"error":"message"} with Content-Type application/json.
 * Unknown path → 404; known path, other method → 405 with an Allow header;
 * HEAD is answered for every GET route (headers only: the same Content-Length,
 * none for a body of unknown length, a stream or a pulled one).
 *
 * Safety: xs_http_server_start() refuses (XS_ERR_ARG) a listen host that is
 * not loopback (127.0.0.0/8, ::1, "localhost") when no token is set. Without a
 * token, a request whose Host header names neither localhost nor a loopback
 * address is refused with 403 (DNS rebinding: a web page whose name resolves
 * to 127.0.0.1 would otherwise read the API through its visitor's browser). With a
 * token, every route needs the header "Authorization: Bearer <token>" or the
 * parameter access_token=<token> (for a browser's EventSource, which cannot
 * send headers; the parameter is removed before handlers run), compared in
 * constant time; otherwise 401 with "WWW-Authenticate: Bearer". Existing
 * static files (the web UI: code, no data) are served without it.
 *
 * Ownership: the server owns the MHD daemon, its routes and open streams;
 * handler arguments stay the caller's. xs_http_server_free() closes every
 * connection (calling stream on_close callbacks) before it returns.
 */
#ifndef XS_HTTP_SERVER_H
#define XS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/query_string.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/evloop.h"

#define XS_HTTP_DEFAULT_MAX_URL 16384 /* bytes of request target (path and query): a stream's
					* 256 uuids and a token fit */
#define XS_HTTP_DEFAULT_MAX_PARAMS 64         /* query parameters per request */
#define XS_HTTP_DEFAULT_MAX_CONNECTIONS 1024  /* open connections, streams included */
#define XS_HTTP_DEFAULT_MAX_PER_IP 128        /* of them from one client address */
#define XS_HTTP_DEFAULT_TIMEOUT_S 30          /* idle connection timeout, seconds */
#define XS_HTTP_DEFAULT_STREAM_QUEUE (1u << 20) /* unsent bytes per stream before it is cut */
#define XS_HTTP_DEFAULT_PULL_GRACE_S 30.0      /* see xs_http_server_config.pull_grace_s */
#define XS_HTTP_DEFAULT_PULL_MIN_RATE 16384.0  /* bytes/s: a 173 MB /metrics in under 3 h */
#define XS_HTTP_DEFAULT_MAX_HELD (64u << 20)  /* reply bytes queued and unsent, all connections */
#define XS_HTTP_HELD_SMALL (16u * 1024)       /* bodies this small are never refused for it */
#define XS_HTTP_MAX_ROUTES 128                /* routes per server */
#define XS_HTTP_MAX_TLS_FILE (1u << 20)       /* bytes of a PEM certificate or key file */
#define XS_HTTP_MAX_ERROR_MSG 512             /* bytes of an error message in a reply */
#define XS_HTTP_MAX_EXTRA_HEADERS 8           /* xs_http_set_header() calls per reply */
#define XS_HTTP_JSON "application/json"

struct xs_http_server;
struct xs_http_request;
struct xs_http_stream;

/*
 * A handler answers one request: it calls exactly one of xs_http_reply(),
 * xs_http_reply_json_error(), xs_http_stream_start() or xs_http_park() (the
 * reply comes later: see there) before returning, and returns XS_OK. If it returns without replying, the client gets a 500 JSON
 * error naming xs_strerror() of the returned code. The request is only valid
 * during the call.
 */
typedef enum xs_err (*xs_http_handler)(struct xs_http_request *req, void *arg);

/* One finished request, for an access log. Strings are valid during the call. */
struct xs_http_access {
	const char *method;
	const char *target;   /* raw request target (path and query), "(too long)" past max_url;
			       * without its query when that holds access_token, in any encoding */
	unsigned status;      /* 0 when the connection ended before a reply */
	uint64_t bytes;       /* body bytes handed to MHD (headers not counted) */
	double seconds;       /* from request line to completion */
};
typedef void (*xs_http_access_cb)(const struct xs_http_access *a, void *arg);

struct xs_http_server_config {
	const char *host;          /* numeric IPv4/IPv6 or "localhost"; NULL = "127.0.0.1" */
	uint16_t port;             /* 0 = any free port (see xs_http_server_port) */
	const char *token;         /* Bearer token; NULL or "" = none (loopback only) */
	const char *tls_cert_file; /* PEM; both set = HTTPS, both NULL = HTTP */
	const char *tls_key_file;
	const char *static_dir;    /* root of static files; NULL = none */
	size_t max_url;            /* 0 = XS_HTTP_DEFAULT_MAX_URL */
	size_t max_params;         /* 0 = XS_HTTP_DEFAULT_MAX_PARAMS */
	unsigned max_connections;  /* 0 = XS_HTTP_DEFAULT_MAX_CONNECTIONS */
	unsigned max_per_ip;       /* 0 = XS_HTTP_DEFAULT_MAX_PER_IP */
	unsigned timeout_s;        /* 0 = XS_HTTP_DEFAULT_TIMEOUT_S */
	size_t stream_max_queue;   /* 0 = XS_HTTP_DEFAULT_STREAM_QUEUE */
	size_t max_held;           /* 0 = XS_HTTP_DEFAULT_MAX_HELD */
	double pull_grace_s;       /* a pulled body (xs_http_reply_pull: /metrics), or a held one
				    * over XS_HTTP_HELD_SMALL, may take this long before its rate
				    * counts; 0 = XS_HTTP_DEFAULT_PULL_GRACE_S */
	double pull_min_rate;      /* bytes/s its client must average after that, or it is cut
				    * (a client reading a few bytes a while would hold a /metrics
				    * slot, or max_held, for hours); 0 = XS_HTTP_DEFAULT_PULL_MIN_RATE */
	xs_http_access_cb access_cb; /* NULL = no access log */
	void *access_arg;
};

/* Counters since start, for the daemon's self-metrics. */
struct xs_http_stats {
	uint64_t requests;       /* requests completed */
	uint64_t status_2xx;     /* replies by status class */
	uint64_t status_3xx;
	uint64_t status_4xx;
	uint64_t status_5xx;
	uint64_t bytes_out;      /* body bytes handed to MHD */
	uint64_t streams_open;   /* streams open now */
	uint64_t streams_total;  /* streams started */
	uint64_t streams_cut;    /* streams closed because the client did not read */
	uint64_t pulls_cut;      /* pulled bodies, and held ones over XS_HTTP_HELD_SMALL, cut because
				  * their client read under pull_min_rate */
	uint64_t connections_open; /* TCP connections open now (MHD's count) */
	uint64_t held_bytes;     /* reply bodies queued and not sent yet (xs_http_reply), all sizes */
	uint64_t held_refused;   /* replies refused with 503 because held_bytes was at max_held */
	uint64_t stream_queued_bytes; /* events queued in open streams, not read yet (not in
				       * held_bytes: each stream has its own cap, stream_max_queue) */
};

/* ---- server ------------------------------------------------------------- */

/*
 * Starts listening and serving on loop. Returns XS_OK and *out, or
 * XS_ERR_ARG (bad host, non-loopback without a token, TLS files given but
 * not both, TLS unsupported by this libmicrohttpd, bad static_dir) or
 * XS_ERR_IO (files unreadable, bind failed) with a message in err
 * (XS_ERR_LEN bytes). cfg's strings are copied.
 */
enum xs_err xs_http_server_start(struct xs_evloop *loop, const struct xs_http_server_config *cfg,
				 struct xs_http_server **out, char *err) __attribute__((warn_unused_result));

/* What xs_http_server_start checks of cfg's TLS files (both or none, readable PEM,
 * the key the certificate's), without starting: XS_OK or the error in err. */
enum xs_err xs_http_server_check_tls(const struct xs_http_server_config *cfg, char *err);

/* Stops listening, closes every connection (stream on_close callbacks run),
 * frees the server (NULL allowed) and sets *sp = NULL. Call on the loop thread,
 * not from a handler or callback of this server. */
void xs_http_server_free(struct xs_http_server **sp);

/* The port bound (the real one when cfg.port was 0). */
uint16_t xs_http_server_port(const struct xs_http_server *srv);

/* True when the server speaks HTTPS. */
bool xs_http_server_tls(const struct xs_http_server *srv);

/* Copies the counters into *st. */
void xs_http_server_stats(const struct xs_http_server *srv, struct xs_http_stats *st);

/* Replaces the Bearer token (NULL or "": none) for the requests that follow; any thread
 * (the check takes a mutex). XS_ERR_ARG, the token unchanged, when none is given and the
 * server listens on a non-loopback address. */
enum xs_err xs_http_server_set_token(struct xs_http_server *srv, const char *token, char *err);

/* True when this libmicrohttpd was built with TLS. */
bool xs_http_tls_supported(void);

/*
 * Adds a route. method: "GET", "POST", ... (a GET route also answers HEAD).
 * xs_http_server_route: path matches exactly. xs_http_server_route_prefix:
 * path (which should end in '/') matches any longer path; the handler reads
 * the remainder with xs_http_path_rest(). An exact route wins over a prefix,
 * a longer prefix over a shorter one. Returns XS_ERR_ARG for a path not
 * starting with '/', a duplicate (method, path, kind), or past
 * XS_HTTP_MAX_ROUTES. method and path are copied.
 */
enum xs_err xs_http_server_route(struct xs_http_server *srv, const char *method, const char *path,
				 xs_http_handler handler, void *arg) __attribute__((warn_unused_result));
enum xs_err xs_http_server_route_prefix(struct xs_http_server *srv, const char *method, const char *path,
					xs_http_handler handler, void *arg)
	__attribute__((warn_unused_result));

/* ---- requests (valid during the handler call only) ------------------------ */

const char *xs_http_method(const struct xs_http_request *req); /* "GET", "HEAD", ... */
/* The decoded path (percent-escapes decoded, no query). */
const char *xs_http_path(const struct xs_http_request *req);
/* For a prefix route: the decoded path after the prefix ("" for none); for an
 * exact route: "". */
const char *xs_http_path_rest(const struct xs_http_request *req);
/* A decoded query parameter, or NULL. Duplicates were refused with 400. */
const char *xs_http_param(const struct xs_http_request *req, const char *name);
/* All parameters, for the typed readers of query_string.h. */
const struct xs_qs *xs_http_params(const struct xs_http_request *req);
/* Whether the request is a HEAD (the reply's body is not sent: a handler may skip
 * making it). */
bool xs_http_is_head(const struct xs_http_request *req);

/* A request header (case-insensitive name), or NULL. */
const char *xs_http_header(const struct xs_http_request *req, const char *name);

/*
 * Adds a header to the reply about to be made (copied; at most
 * XS_HTTP_MAX_EXTRA_HEADERS). XS_ERR_ARG past the limit, for a name or value
 * with CR/LF, or after the reply.
 */
enum xs_err xs_http_set_header(struct xs_http_request *req, const char *name, const char *value);

/*
 * Replies with status and body (Content-Length set; content_type NULL means
 * application/json). The body's memory is taken over: body is left empty
 * (even on failure). XS_ERR_ARG if the request was already answered, XS_ERR_NOMEM
 * if MHD cannot queue it.
 */
enum xs_err xs_http_reply(struct xs_http_request *req, unsigned status, const char *content_type,
			  struct xs_buf *body);

/* Replies with a copy of len bytes at data. As xs_http_reply(). */
enum xs_err xs_http_reply_copy(struct xs_http_request *req, unsigned status, const char *content_type,
			       const void *data, size_t len);

/*
 * Parks the request instead of replying: the handler returns XS_OK without a
 * reply, MHD leaves the connection alone (no timeout either), and the request
 * stays valid until its owner calls xs_http_unpark(req) on the loop thread.
 * Then the route's handler is called again with the same request,
 * xs_http_unparked() true, and must reply that time: a request is parked once
 * at most. XS_ERR_ARG after a reply or a stream, outside a route's handler, or
 * on the second call. A client that hangs up while parked is noticed after
 * the unpark. xs_http_server_free() lets parked requests complete unanswered,
 * their handlers not called again: their owner must forget them by then.
 */
enum xs_err xs_http_park(struct xs_http_request *req);
void xs_http_unpark(struct xs_http_request *req);
/* Whether the handler runs again, after xs_http_unpark(). */
bool xs_http_unparked(const struct xs_http_request *req);

/*
 * A body made as it is sent: pull copies the next bytes, at most max, to buf
 * and sets *n (0 at the end). It runs on the loop thread from MHD's send path,
 * outside any handler (so outside the API's lock), until the body ends or
 * the client goes; an error from it closes the connection (the client sees a
 * cut body). free_arg runs once, when MHD lets go of the reply.
 */
typedef enum xs_err (*xs_http_pull_cb)(void *arg, char *buf, size_t max, size_t *n);
typedef void (*xs_http_pull_free_cb)(void *arg);

/*
 * Replies with status and a body pulled from pull (chunked on HTTP/1.1, no
 * Content-Length). arg is taken over: free_arg(arg) runs even when this
 * fails. A HEAD request gets the headers and an empty body, pull is not called. XS_ERR_ARG if the request was already answered, XS_ERR_NOMEM if MHD
 * cannot queue it.
 */
enum xs_err xs_http_reply_pull(struct xs_http_request *req, unsigned status, const char *content_type,
			       xs_http_pull_cb pull, xs_http_pull_free_cb free_arg, void *arg);

/* Replies {"error":"<message>"} (JSON-escaped) with the given status. */
enum xs_err xs_http_reply_json_error(struct xs_http_request *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- streams -------------------------------------------------------------- */

/*
 * Called once when a stream ends for a reason other than the owner's
 * xs_http_stream_close(): client gone, queue cap passed, server freed. The
 * stream is freed right after the callback returns: the owner drops its
 * pointer and must not call any stream function on it (not even close).
 */
typedef void (*xs_http_stream_close_cb)(struct xs_http_stream *s, void *arg);

/*
 * From a handler: answers 200 with content_type (NULL: "text/event-stream"),
 * "Cache-Control: no-cache" and a body of unknown length that the owner
 * writes later (chunked on HTTP/1.1). Returns the stream, or NULL if the
 * request was already answered or MHD failed (then nothing was sent; the
 * handler may still reply with an error). A HEAD request is answered here
 * with the headers alone (no Content-Length, no body; the connection closes
 * after them) and no stream starts: NULL, on_close is never called, and the
 * handler, which can tell by xs_http_is_head(), returns XS_OK.
 *
 * The stream stays open until the owner closes it or on_close is called.
 * While it has nothing to send, the connection is suspended and its socket is
 * watched by the loop: when the client hangs up (or sends anything, which an
 * SSE client never does) the stream ends and on_close is called. Idle streams
 * never time out: owners send keep-alives (an SSE comment) as they see fit.
 */
struct xs_http_stream *xs_http_stream_start(struct xs_http_request *req, const char *content_type,
					    xs_http_stream_close_cb on_close, void *arg);

/*
 * Queues len bytes (copied) for the client. XS_OK; XS_ERR_TOO_LARGE when the
 * unsent bytes would pass stream_max_queue: the stream is then cut (on_close
 * follows from the loop); XS_ERR_IO when the stream is already ending. May be
 * called from anywhere on the loop thread, handlers of other requests included.
 */
enum xs_err xs_http_stream_write(struct xs_http_stream *s, const void *data, size_t len);

/* Bytes queued and not yet handed to MHD. */
size_t xs_http_stream_pending(const struct xs_http_stream *s);

/* Bytes one xs_http_stream_write() may queue now without cutting the stream:
 * stream_max_queue less the bytes pending (0 once the stream is ending). An
 * owner with more to say than that keeps it for later. */
size_t xs_http_stream_room(const struct xs_http_stream *s);

/*
 * The owner gives up on a client that does not read: as a write past
 * stream_max_queue does, drops the queued bytes, closes the connection and
 * counts the stream in streams_cut; on_close follows from the loop.
 */
void xs_http_stream_cut(struct xs_http_stream *s);

/*
 * The owner ends the stream: queued bytes are still sent, then the response
 * ends. on_close is not called; s must not be used after the call.
 */
void xs_http_stream_close(struct xs_http_stream *s);

#endif
