/*
 * http.h - the HTTP/1.1 server of xapi-sim: every simulated host listens on
 * its own loopback address, plain or TLS, and one handler answers all.
 *
 * The server parses requests (with caps on the request line, headers and
 * body), calls the handler, and writes the response the handler filled in,
 * including the faults a real host shows: a delay before answering, a body cut
 * off after some bytes, HTTP/1.0 responses without Content-Length that end by
 * closing the connection (what xapi does for RRD dumps).
 */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/evloop.h"

#define SIM_HTTP_MAX_HEADERS 64
#define SIM_HTTP_MAX_HEAD (16 * 1024)      /* request line and headers */
#define SIM_HTTP_MAX_BODY (4 * 1024 * 1024) /* request body (RPC calls) */
#define SIM_HTTP_MAX_RESPONSE (256u << 20) /* response body cap */

struct sim_http_slice {
	const char *ptr;
	size_t len;
};

struct sim_http_header {
	struct sim_http_slice name, value;
};

/* A parsed request; every slice points into the connection's buffer and is
 * valid during the handler call only. */
struct sim_http_request {
	struct sim_http_slice method;   /* "GET", "POST" */
	struct sim_http_slice path;     /* "/rrd_updates", without the query */
	struct sim_http_slice query;    /* raw text after '?', "" if none */
	struct sim_http_header headers[SIM_HTTP_MAX_HEADERS];
	size_t nheaders;
	struct sim_http_slice body;
	int listener;                   /* id given to sim_http_listen (the host index) */
	bool tls;
	int minor_version;              /* 0 or 1 */
};

/* What the handler fills in. The server initialises it to 200 OK, empty body. */
struct sim_http_response {
	int status;
	const char *reason;             /* static string, NULL = the usual one */
	struct xs_buf headers;          /* extra header lines, each ending in "\r\n" */
	struct xs_buf body;
	bool http10;                    /* "HTTP/1.0", no Content-Length, close after the body */
	bool close;                     /* close after this response */
	unsigned delay_ms;              /* wait this long before writing anything */
	unsigned pace_ms;               /* > 0: the body goes out SIM_HTTP_PACE_BYTES at a time,
					 * this long apart (a slow link or a slow producer) */
	size_t cut_at;                  /* > 0: write only this many body bytes, then close */
};

typedef void (*sim_http_handler)(void *ctx, const struct sim_http_request *req,
				 struct sim_http_response *res);

struct sim_http_server;

/*
 * A server on loop calling handler(ctx, ...). tls_cert_pem / tls_key_pem: PEM
 * text of a certificate and key to serve HTTPS with, or NULL for plain HTTP.
 * Returns NULL with err filled in on failure.
 */
struct sim_http_server *sim_http_server_new(struct xs_evloop *loop, sim_http_handler handler,
					    void *ctx, const char *tls_cert_pem,
					    const char *tls_key_pem, char *err);
void sim_http_server_free(struct sim_http_server **s);
/*
 * TLS, when tls_cert_pem / tls_key_pem are given (both, or neither: else
 * NULL with err): every listener of the server speaks HTTPS (TLS 1.2 and
 * 1.3 through OpenSSL, no renegotiation). tls_cert_pem may carry chain
 * certificates after the server's own. err then says why it failed: no PEM
 * certificate or private key in the text, or a key that does not fit the
 * certificate. A client that does not speak TLS (plain HTTP on
 * the HTTPS port) fails its handshake and is dropped; nothing reaches the
 * handler. The faults work the same over TLS; a response that ends the
 * connection ends with a TLS close_notify, except a cut body (cut_at), which
 * ends without one, like a transfer that broke. A failed TLS call leaves
 * nothing in the calling thread's OpenSSL error queue.
 */

/* Listens on addr:port (SO_REUSEADDR) for listener `id`. 0 or -1 with err. */
int sim_http_listen(struct sim_http_server *s, int id, const char *addr, uint16_t port, char *err);
/* The port listener `id` is bound to (useful after asking for port 0), or 0 if it is not listening. */
uint16_t sim_http_listen_port(const struct sim_http_server *s, int id);
/* Stops listening for `id` and closes its open connections (a host going down). */
void sim_http_unlisten(struct sim_http_server *s, int id);

/*
 * Deferred responses, for long polls (event.from waits up to its timeout):
 * the handler calls sim_http_defer(res) and returns without filling res; the
 * connection then waits, reading no further request. Later the owner gets
 * the response to fill with sim_http_deferred() (NULL if the client has gone
 * or the listener was closed; the id is then dead) and writes it with
 * sim_http_send_deferred(). Ids are never reused.
 */
uint64_t sim_http_defer(struct sim_http_response *res);
struct sim_http_response *sim_http_deferred(struct sim_http_server *s, uint64_t id);
void sim_http_send_deferred(struct sim_http_server *s, uint64_t id);
/*
 * Details of the deferred-response contract:
 * - sim_http_defer() takes the res the handler was given, during that handler
 *   call (anything else is undefined); a second call returns the same id; it
 *   returns 0 once the handler has returned. Ids start at 1 per server.
 * - The response keeps what the handler put in it (200, empty body if
 *   nothing); the owner may change every field, delay and faults included.
 * - The pointer from sim_http_deferred() belongs to the server and is valid
 *   until sim_http_send_deferred() or until control returns to the event
 *   loop (the client may hang up then): look it up again each time.
 * - The id dies when the response is sent, the client closes or resets the
 *   connection, or sim_http_unlisten() closes it; sim_http_deferred() then
 *   returns NULL and sim_http_send_deferred() does nothing. The response's
 *   memory is freed with its connection: the owner frees nothing.
 * - While deferred, bytes the client sends are buffered (up to the request
 *   caps) and handled, in order, after the deferred response is written.
 * - Lookups scan the open connections (at most 4096 per server).
 */

/* Helpers for handlers. */
/* Value of header `name` (case-insensitive), or false. */
bool sim_http_header(const struct sim_http_request *req, const char *name,
		     struct sim_http_slice *value);
/*
 * Iterates query parameters: *pos starts at 0; each call decodes the next
 * "key=value" (percent-decoding and '+' into key/val, NUL-terminated, capped by
 * the given sizes). Returns false at the end.
 */
bool sim_http_query_next(const struct sim_http_request *req, size_t *pos, char *key,
			 size_t key_cap, char *val, size_t val_cap);
/* First value of query parameter `key`, decoded; false if absent. */
bool sim_http_query_get(const struct sim_http_request *req, const char *key, char *val,
			size_t val_cap);
/* Value of cookie `name` (from the Cookie header), or false. */
bool sim_http_cookie(const struct sim_http_request *req, const char *name, char *val,
		     size_t val_cap);

#endif
