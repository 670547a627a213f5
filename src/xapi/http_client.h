/*
 * http_client.h - asynchronous HTTP(S) requests on the event loop, for every
 * pool and host at once (libcurl multi driven by src/lib/evloop.h).
 *
 * One struct xs_http per process (per event loop). Requests run concurrently
 * on the loop's thread; a slow or dead host only delays its own requests
 * (per-request connect and total timeouts). Connections are reused per host.
 * The body either accumulates (capped: a larger one fails with
 * XS_ERR_TOO_LARGE) or streams to an on_data callback (the RRD readers).
 *
 * TLS (issue 4, point 6): verified against the system CAs by default; per
 * request a CA file, or a list of pins (SHA-256 fingerprints of leaf
 * certificates, "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it
 * and xapi-sim reports; the chain is then not checked, the leaf must match
 * one of them: every xapi host has its own self-signed certificate, and one
 * pool's requests go to all its hosts), or insecure (no check at all).
 * Credentials never appear in errors or logs: messages name the URL without
 * its user-info and query.
 */
#ifndef XS_XAPI_HTTP_CLIENT_H
#define XS_XAPI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/evloop.h"
#include "xapi/tls_pins.h"

struct xs_tls_opts {
	const char *ca_file;       /* PEM bundle to verify with instead of the system CAs */
	char pins[XS_TLS_PINS_LEN]; /* "" = no pin; else a pin list (xapi/tls_pins.h syntax) */
	bool insecure;             /* no verification at all (explicit opt-in) */
};

#define XS_TLS_FILE_DIGEST_LEN 32      /* SHA-256 */
#define XS_TLS_CA_FILE_MAX (16 << 20)   /* bytes of a ca_file, at most */
#define XS_HTTP_CA_CACHE_S 0            /* seconds libcurl may keep a ca_file's store: none */

/* Whether path is a readable PEM file holding at least one certificate, as ca_file must
 * be: XS_OK, or an error (errno's text, "no PEM certificate in it") in err. digest (may
 * be NULL) gets the SHA-256 of the file's bytes, which tells a reload that it changed. */
enum xs_err xs_tls_ca_file_check(const char *path, unsigned char digest[XS_TLS_FILE_DIGEST_LEN],
				 char *err);

struct xs_http_response {
	enum xs_err rc;            /* XS_OK when an HTTP response was received (any status) */
	char error[XS_ERR_LEN];    /* what failed when rc != XS_OK */
	long status;               /* HTTP status, 0 if none */
	const char *content_type;  /* "" if none; valid during the callback */
	const char *location;      /* Location of a 3xx, resolved against the request URL; "" if none */
	const char *body;          /* accumulated body (NUL-terminated, "" if empty), NULL when streamed */
	size_t body_len;
	double seconds;            /* from start to completion */
};

struct xs_http_request {
	const char *method;        /* "GET" or "POST" */
	const char *url;           /* full URL; user-info is used for Basic auth, never logged */
	const char *content_type;  /* of the body (POST), NULL for none */
	const char *body;          /* copied at submit */
	size_t body_len;
	const char *accept;        /* Accept header, NULL for none */
	const char *cookie;        /* Cookie header value, NULL for none */
	const struct xs_tls_opts *tls; /* NULL = verify with the system CAs */
	double connect_timeout;    /* seconds, 0 = 10 */
	double timeout;            /* whole request, seconds, 0 = 60 */
	double stall_timeout;      /* seconds without a byte received that end the request
				    * ("timed out" too), whole seconds, rounded up; 0 = none:
				    * a long download then needs a long timeout, not a dead peer */
	size_t max_body;           /* cap on an accumulated body, 0 = 64 MiB */
	/* Streaming: when set, body bytes go here as they arrive (nothing accumulates);
	 * return non-zero to abort the request (rc XS_ERR_ABORTED). Only a 2xx body
	 * is streamed: any other (an error page, a redirect) accumulates as without
	 * on_data, capped by max_body, so it never reaches a document reader. */
	int (*on_data)(void *arg, const char *data, size_t len);
	/* Called exactly once, on the loop's thread, unless the request is cancelled. */
	void (*on_done)(void *arg, const struct xs_http_response *res);
	void *arg;
};

struct xs_http;

/*
 * Details of the request contract:
 * - Only "GET" (also for NULL) and "POST" are accepted; http and https URLs
 *   only. The URL's user-info (percent-decoded) becomes Basic auth; header
 *   values must be single lines. Redirects are never followed: the caller
 *   reads status and location and decides.
 * - Errors (err of submit, res->error) read "METHOD scheme://host:port/path:
 *   what failed"; they never contain the user-info, the query or the
 *   fragment, nor the URL at all when it does not parse.
 * - rc of a completed request: XS_OK (any HTTP status), XS_ERR_IO (connect,
 *   timeout, reset...), XS_ERR_UPSTREAM (TLS verification or pin mismatch, a
 *   malformed reply), XS_ERR_TRUNCATED (the body ended before its length),
 *   XS_ERR_TOO_LARGE, XS_ERR_ABORTED, XS_ERR_ARG (unreadable ca_file),
 *   XS_ERR_NOMEM. status is filled in whenever a status line arrived.
 * - TLS options apply to https URLs and are ignored for http. insecure wins
 *   over pins, pins over ca_file. pins lists fingerprints "AB:CD:..." (case
 *   and colons free, 32 bytes) separated by commas and/or blanks; the leaf
 *   certificate must match one of them. It is checked at every handshake and
 *   again before each request on a reused connection, so nothing is sent to
 *   a server whose certificate is not in this request's list; the error then
 *   gives the server's fingerprint (to add to the list).
 * - Re-entrancy: on_data and on_done may submit new requests and cancel any
 *   request (their own included); on_done is never called from inside
 *   xs_http_submit(). xs_http_free() must not be called from a callback of
 *   the same client.
 * - req and the strings it points to need only live during the submit call.
 * - The loop's guard (xs_evloop_set_guard) is not entered around libcurl's
 *   own work, only around on_data and on_done (the client's loop callbacks
 *   are XS_EV_UNGUARDED).
 */

/* A client on loop; NULL with err on failure (libcurl could not start). */
struct xs_http *xs_http_new(struct xs_evloop *loop, char *err);
/* Cancels every request (no callbacks), closes pooled connections and frees;
 * *h = NULL. Accepts NULL. */
void xs_http_free(struct xs_http **h);

/* Starts a request; returns its id (> 0), or 0 with err set (bad URL, method,
 * header value or pin list: XS_ERR_ARG cases; nothing is called back then). */
uint64_t xs_http_submit(struct xs_http *h, const struct xs_http_request *req, char *err);
/* Cancels a running request: its on_done is not called. Unknown or finished
 * ids are ignored. */
void xs_http_cancel(struct xs_http *h, uint64_t id);
/* Requests running now. */
size_t xs_http_active(const struct xs_http *h);

#endif
