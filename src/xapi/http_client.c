/*
 * http_client.c - libcurl multi on the event loop (see http_client.h).
 *
 * libcurl owns the connections; the loop owns the waiting. curl tells us
 * which sockets to watch (hc_socket_cb → xs_evloop_add/mod/del_fd) and when
 * to wake it (hc_timer_cb → one evloop timer); every wake-up is one
 * hc_curl->multi_socket_action() followed by reading the finished transfers.
 *
 * Guard: the loop's callbacks here are XS_EV_UNGUARDED (lib/evloop.h):
 * libcurl's own socket and protocol work runs without the loop's guard (in
 * xapistat serve, the lock the API thread waits for), and only on_data and
 * on_done enter it, when called from those callbacks.
 *
 * Re-entrancy: user code runs in two places. on_data runs inside
 * hc_curl->multi_socket_action(), where libcurl forbids adding or removing
 * handles, so a submit or cancel made there only marks the request
 * (added == false / cancelled) and hc_after_curl() finishes the job once
 * curl has returned. on_done runs from hc_collect(), outside libcurl, where
 * both are done at once. on_done is never called from xs_http_submit():
 * a request that curl rejects later still completes from the loop.
 *
 * Credentials: the user-info is cut out of the URL and given to curl as
 * CURLOPT_USERNAME/PASSWORD (Basic), so curl never sees it in the URL, and
 * every message names `safe_url` (no user-info, no query, no fragment). As a
 * last guard a detail that still contains the password or the query is
 * replaced by curl's generic text for the error code.
 *
 * Pinning (tls->pins, a list: xapi/tls_pins.h): curl's own chain and name
 * checks are off, and the SHA-256 of the leaf certificate (its DER, as
 * `openssl x509 -fingerprint -sha256` prints) must be one of the request's
 * pins. It is checked twice:
 *   - at the handshake, by the certificate-verify callback set on the
 *     connection's SSL_CTX (CURLOPT_SSL_CTX_FUNCTION), so a wrong server
 *     fails before a byte of the request is sent;
 *   - before every request, new or reused connection (CURLOPT_PREREQFUNCTION),
 *     because curl matches reusable connections and cached TLS sessions on
 *     its own settings, which are the same for every pin list (verification
 *     off): a connection made under another pin list, or under `insecure`,
 *     carries this request only if its leaf is in this request's list.
 * The handshake callback keeps a pointer to its request: it runs only while
 * that request owns the connection being set up (renegotiation is disabled,
 * so it cannot run again later on a pooled connection).
 */
#include "xapi/http_client.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "xapi/curl_dl.h"
#include "lib/xmalloc.h"

/* libcurl's functions (xapi/curl_dl.h): set by the first xs_http_new(), never changed after. */
static const struct xs_curl_api *hc_curl;

#define HC_DEFAULT_CONNECT_TIMEOUT 10.0 /* seconds, when the request says 0 */
#define HC_DEFAULT_TIMEOUT 60.0         /* seconds, whole request */
#define HC_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define HC_MAX_TIMEOUT 86400.0          /* longer timeouts are clamped to a day */
#define HC_MAX_HEADER_VALUE 8192        /* Content-Type / Accept / Cookie from the caller */
#define HC_MSG_URL_MAX 96               /* URL characters quoted in an error message */
#define HC_SCRUB_MIN 4                  /* shorter passwords are not searched for in messages */
#define HC_SHA256_LEN 32
#define HC_USER_AGENT "xapistat"

struct hc_req {
	struct hc_req *prev, *next; /* h->head .. h->tail, in submit order */
	struct xs_http *h;
	uint64_t id;
	CURL *easy;
	struct curl_slist *headers;
	const char *method;                   /* "GET" or "POST" (static) */
	char *safe_url;                       /* scheme://host[:port]/path, for messages */
	char *query;                          /* raw query, never shown; NULL if none */
	char *password;                       /* from the user-info, never shown; NULL if none */
	struct xs_buf body;                   /* accumulated response body */
	size_t max_body;
	double start;                         /* xs_evloop_now() at submit */
	char *pins;                           /* canonical list of accepted leaves; NULL = no pinning */
	char peer_fp[XS_TLS_FP_LEN];          /* the server's fingerprint, once seen */
	char errbuf[CURL_ERROR_SIZE];         /* curl's detail of a failure */
	int (*on_data)(void *arg, const char *data, size_t len);
	void (*on_done)(void *arg, const struct xs_http_response *res);
	void *arg;
	bool added;                           /* in the multi handle */
	bool cancelled;                       /* cancelled inside a curl callback */
	bool streamed;                        /* body bytes went to on_data */
	bool too_large;                       /* body passed max_body */
	bool aborted;                         /* on_data returned non-zero */
	bool pin_failed;                      /* the leaf matched none of pins */
};

struct xs_http {
	struct xs_evloop *loop;
	CURLM *multi;
	uint64_t timer;               /* evloop timer standing for curl's timeout, 0 = none */
	uint64_t next_id;             /* id of the next request */
	struct hc_req *head, *tail;   /* requests submitted and not finished */
	size_t active;                /* of those, the ones not cancelled */
	int *fds;                     /* sockets watched for curl */
	size_t nfds, fds_cap;
	int in_curl;                  /* > 0 inside hc_curl->multi_socket_action() */
	bool unguarded;               /* in hc_drive (the loop's unguarded callbacks): user code takes the guard */
	bool deferred;                /* submit/cancel inside curl left work for later */
};

static void hc_drive(struct xs_http *h, curl_socket_t s, int flags);

/* hc_drive runs from the loop's unguarded callbacks (XS_EV_UNGUARDED): only
 * the user's on_data and on_done enter the loop's guard. */
static void hc_user_enter(struct xs_http *h)
{
	if (h->unguarded)
		xs_evloop_guard_enter(h->loop);
}

static void hc_user_leave(struct xs_http *h)
{
	if (h->unguarded)
		xs_evloop_guard_leave(h->loop);
}

/* ---- sockets and timers ------------------------------------------------ */

static void hc_fds_add(struct xs_http *h, int fd)
{
	if (h->nfds == h->fds_cap) {
		h->fds_cap = h->fds_cap ? h->fds_cap * 2 : 16;
		h->fds = xs_xrealloc(h->fds, h->fds_cap * sizeof(*h->fds));
	}
	h->fds[h->nfds++] = fd;
}

static void hc_fds_remove(struct xs_http *h, int fd)
{
	for (size_t i = 0; i < h->nfds; i++) {
		if (h->fds[i] == fd) {
			h->fds[i] = h->fds[--h->nfds];
			return;
		}
	}
}

static void hc_fd_cb(struct xs_evloop *loop, int fd, unsigned events, void *arg)
{
	int flags = 0;

	(void)loop;
	if (events & XS_EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & XS_EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	hc_drive(arg, fd, flags);
}

/* CURLMOPT_SOCKETFUNCTION: socketp is non-NULL once the socket is watched. */
static int hc_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct xs_http *h = userp;
	unsigned events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			xs_evloop_del_fd(h->loop, s);
			hc_fds_remove(h, s);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= XS_EV_READ;
	if (what & CURL_POLL_OUT)
		events |= XS_EV_WRITE;
	if (socketp)
		return xs_evloop_mod_fd(h->loop, s, events) ? -1 : 0;
	if (xs_evloop_add_fd(h->loop, s, events | XS_EV_UNGUARDED, hc_fd_cb, h))
		return -1;
	hc_fds_add(h, s);
	hc_curl->multi_assign(h->multi, s, h);
	return 0;
}

static void hc_timer_fire(struct xs_evloop *loop, void *arg)
{
	struct xs_http *h = arg;

	(void)loop;
	h->timer = 0;
	hc_drive(h, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: one timer at a time; -1 removes it. */
static int hc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct xs_http *h = userp;

	(void)multi;
	if (h->timer)
		xs_evloop_cancel_timer(h->loop, h->timer);
	h->timer = 0;
	if (timeout_ms >= 0)
		h->timer = xs_evloop_add_timer_unguarded(h->loop, (double)timeout_ms / 1000.0,
							 hc_timer_fire, h);
	return 0;
}

/* ---- requests: bookkeeping --------------------------------------------- */

static void hc_link(struct xs_http *h, struct hc_req *req)
{
	req->prev = h->tail;
	if (h->tail)
		h->tail->next = req;
	else
		h->head = req;
	h->tail = req;
}

static void hc_unlink(struct xs_http *h, struct hc_req *req)
{
	if (req->prev)
		req->prev->next = req->next;
	else
		h->head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	else
		h->tail = req->prev;
	req->prev = req->next = NULL;
}

/* Frees a request that is no longer linked; takes it out of curl first. */
static void hc_req_free(struct hc_req *req)
{
	if (!req)
		return;
	if (req->easy) {
		if (req->added)
			hc_curl->multi_remove_handle(req->h->multi, req->easy);
		hc_curl->easy_cleanup(req->easy);
	}
	hc_curl->slist_free_all(req->headers);
	xs_buf_free(&req->body);
	free(req->safe_url);
	free(req->query);
	free(req->pins);
	if (req->password) {
		memset(req->password, 0, strlen(req->password));
		free(req->password);
	}
	free(req);
}

static struct hc_req *hc_find(const struct xs_http *h, uint64_t id)
{
	for (struct hc_req *r = h->head; r; r = r->next) {
		if (r->id == id)
			return r->cancelled ? NULL : r;
	}
	return NULL;
}

/* ---- TLS files ---------------------------------------------------------- */

enum xs_err xs_tls_ca_file_check(const char *path, unsigned char digest[XS_TLS_FILE_DIGEST_LEN],
				 char *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n = 0, cap = 0;
	enum xs_err rc = XS_OK;
	BIO *b = NULL;
	X509 *cert = NULL;

	if (!f)
		return xs_err_set(err, XS_ERR_ARG, "%s: %s", path, strerror(errno));
	do {
		if (n == cap) {
			if (cap >= XS_TLS_CA_FILE_MAX) {
				if (fgetc(f) == EOF)
					break; /* exactly XS_TLS_CA_FILE_MAX bytes */
				rc = xs_err_set(err, XS_ERR_ARG, "%s: larger than %d MiB", path,
						XS_TLS_CA_FILE_MAX >> 20);
				goto out;
			}
			cap = cap ? 2 * cap : 64 * 1024;
			text = xs_xrealloc(text, cap);
		}
		n += fread(text + n, 1, cap - n, f);
	} while (n == cap);
	if (ferror(f)) {
		rc = xs_err_set(err, XS_ERR_ARG, "%s: %s", path, strerror(errno));
		goto out;
	}
	b = BIO_new_mem_buf(text, (int)n);
	cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!cert) {
		rc = xs_err_set(err, XS_ERR_ARG, "%s: no PEM certificate in it", path);
		goto out;
	}
	if (digest && !EVP_Digest(text, n, digest, NULL, EVP_sha256(), NULL))
		rc = xs_err_set(err, XS_ERR_ARG, "%s: cannot hash it", path);
out:
	X509_free(cert);
	BIO_free(b);
	ERR_clear_error();
	free(text);
	fclose(f);
	return rc;
}

/* ---- TLS pinning ------------------------------------------------------- */

static void hc_fingerprint(X509 *cert, char out[XS_TLS_FP_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o = 0;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != HC_SHA256_LEN)
		return;
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			out[o++] = ':';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

/* True if cert is one of the pinned; remembers the server's fingerprint either way. */
static bool hc_pin_check(struct hc_req *req, X509 *cert)
{
	if (!cert) {
		snprintf(req->peer_fp, sizeof(req->peer_fp), "(no certificate)");
		req->pin_failed = true;
		return false;
	}
	hc_fingerprint(cert, req->peer_fp);
	if (!xs_tls_pins_match(req->pins, req->peer_fp)) {
		req->pin_failed = true;
		return false;
	}
	return true;
}

/* Replaces OpenSSL's chain verification: only the leaf's fingerprint counts. */
static int hc_cert_verify(X509_STORE_CTX *store, void *arg)
{
	if (hc_pin_check(arg, X509_STORE_CTX_get0_cert(store)))
		return 1;
	X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
	return 0;
}

/* CURLOPT_SSL_CTX_FUNCTION: called once per new connection, before SSL_new(). */
static CURLcode hc_ssl_ctx(CURL *easy, void *sslctx, void *arg)
{
	SSL_CTX *ctx = sslctx;

	(void)easy;
	/* curl set SSL_VERIFY_NONE (its verification is off): the result of ours
	 * must fail the handshake */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, hc_cert_verify, arg);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	return CURLE_OK;
}

/* CURLOPT_PREREQFUNCTION: the connection is ready (new or reused), nothing sent yet. */
static int hc_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct hc_req *req = arg;
	const struct curl_tlssessioninfo *ti = NULL;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (hc_curl->easy_getinfo(req->easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || !ti ||
	    ti->backend != CURLSSLBACKEND_OPENSSL || !ti->internals) {
		snprintf(req->peer_fp, sizeof(req->peer_fp), "(no TLS session)");
		req->pin_failed = true;
		return CURL_PREREQFUNC_ABORT;
	}
	if (!hc_pin_check(req, SSL_get0_peer_certificate(ti->internals)))
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

/* ---- requests: setup --------------------------------------------------- */

/* Gets part of u into a malloc'ed copy (NULL if absent or empty). */
static char *hc_url_part(CURLU *u, CURLUPart part, unsigned int flags)
{
	char *s = NULL, *copy = NULL;

	if (hc_curl->url_get(u, part, &s, flags) == CURLUE_OK && s && s[0])
		copy = xs_xstrndup(s, strlen(s));
	hc_curl->free(s);
	return copy;
}

/*
 * Splits url: sets CURLOPT_URL without user-info, CURLOPT_USERNAME/PASSWORD
 * from it, and req->safe_url / req->query. *https tells the scheme.
 */
static enum xs_err hc_url_setup(struct hc_req *req, const char *url, bool *https, char *err)
{
	CURLU *u = hc_curl->url();
	CURLUcode uc;
	char *user = NULL, *full = NULL, *scheme = NULL;
	enum xs_err rc = XS_OK;

	if (!u)
		return xs_err_set(err, XS_ERR_NOMEM, "out of memory parsing a URL");
	/* the URL itself is never quoted here: it may hold a password */
	uc = hc_curl->url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		rc = xs_err_set(err, XS_ERR_ARG, "invalid URL: %s", hc_curl->url_strerror(uc));
		goto out_url;
	}
	scheme = hc_url_part(u, CURLUPART_SCHEME, 0);
	if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = xs_err_set(err, XS_ERR_ARG, "invalid URL: the scheme must be http or https");
		goto out_url;
	}
	*https = !strcmp(scheme, "https");
	user = hc_url_part(u, CURLUPART_USER, CURLU_URLDECODE);
	req->password = hc_url_part(u, CURLUPART_PASSWORD, CURLU_URLDECODE);
	hc_curl->url_set(u, CURLUPART_USER, NULL, 0);
	hc_curl->url_set(u, CURLUPART_PASSWORD, NULL, 0);
	hc_curl->url_set(u, CURLUPART_OPTIONS, NULL, 0);
	hc_curl->url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	full = hc_url_part(u, CURLUPART_URL, 0);
	req->query = hc_url_part(u, CURLUPART_QUERY, 0);
	hc_curl->url_set(u, CURLUPART_QUERY, NULL, 0);
	req->safe_url = hc_url_part(u, CURLUPART_URL, 0);
	if (!full || !req->safe_url) {
		rc = xs_err_set(err, XS_ERR_NOMEM, "out of memory parsing a URL");
		goto out_url;
	}
	if (hc_curl->easy_setopt(req->easy, CURLOPT_URL, full) != CURLE_OK ||
	    ((user || req->password) &&
	     (hc_curl->easy_setopt(req->easy, CURLOPT_USERNAME, user ? user : "") != CURLE_OK ||
	      hc_curl->easy_setopt(req->easy, CURLOPT_PASSWORD,
			       req->password ? req->password : "") != CURLE_OK ||
	      hc_curl->easy_setopt(req->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK)))
		rc = xs_err_set(err, XS_ERR_NOMEM, "%s: cannot set the URL", req->safe_url);
out_url:
	free(scheme);
	free(user);
	free(full);
	hc_curl->url_cleanup(u);
	return rc;
}

/* Appends "Name: value" to req->headers; value must be one line. */
static enum xs_err hc_header_add(struct hc_req *req, const char *name, const char *value, char *err)
{
	char line[HC_MAX_HEADER_VALUE + 64];
	struct curl_slist *l;

	if (strlen(value) > HC_MAX_HEADER_VALUE || strpbrk(value, "\r\n"))
		return xs_err_set(err, XS_ERR_ARG, "%s: bad %s header value (a line of at most %d bytes)",
				  req->safe_url, name, HC_MAX_HEADER_VALUE);
	snprintf(line, sizeof(line), "%s: %s", name, value);
	l = hc_curl->slist_append(req->headers, line);
	if (!l)
		return xs_err_set(err, XS_ERR_NOMEM, "%s: out of memory", req->safe_url);
	req->headers = l;
	return XS_OK;
}

static enum xs_err hc_method_setup(struct hc_req *req, const struct xs_http_request *r, char *err)
{
	CURL *e = req->easy;
	enum xs_err rc = XS_OK;

	if (!r->method || !strcmp(r->method, "GET")) {
		req->method = "GET";
		return hc_curl->easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK
			       ? XS_OK
			       : xs_err_set(err, XS_ERR_ARG, "%s: cannot set GET", req->safe_url);
	}
	if (strcmp(r->method, "POST") != 0)
		return xs_err_set(err, XS_ERR_ARG, "%s: method must be GET or POST", req->safe_url);
	req->method = "POST";
	if (r->body_len && !r->body)
		return xs_err_set(err, XS_ERR_ARG, "%s: body_len without body", req->safe_url);
	/* POSTFIELDSIZE first: COPYPOSTFIELDS then copies exactly that many bytes */
	if (hc_curl->easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    hc_curl->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) != CURLE_OK ||
	    hc_curl->easy_setopt(e, CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "") != CURLE_OK)
		return xs_err_set(err, XS_ERR_NOMEM, "%s: cannot copy the body", req->safe_url);
	/* no "Expect: 100-continue" round trip: XAPI answers the body directly */
	rc = hc_header_add(req, "Expect", "", err);
	if (!rc && r->content_type)
		rc = hc_header_add(req, "Content-Type", r->content_type, err);
	return rc;
}

static enum xs_err hc_headers_setup(struct hc_req *req, const struct xs_http_request *r, char *err)
{
	enum xs_err rc = XS_OK;

	if (r->accept)
		rc = hc_header_add(req, "Accept", r->accept, err);
	if (!rc && r->cookie)
		rc = hc_header_add(req, "Cookie", r->cookie, err);
	if (!rc && req->headers &&
	    hc_curl->easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK)
		rc = xs_err_set(err, XS_ERR_NOMEM, "%s: cannot set headers", req->safe_url);
	return rc;
}

/* Keeps the canonical form of the pin list in req->pins. */
static enum xs_err hc_pins_setup(struct hc_req *req, const char *list, char *err)
{
	char canon[XS_TLS_PINS_LEN] = "", why[XS_ERR_LEN];
	size_t len = strnlen(list, XS_TLS_PINS_LEN);

	if (len == XS_TLS_PINS_LEN)
		return xs_err_set(err, XS_ERR_ARG, "%s: TLS pin list not terminated", req->safe_url);
	if (xs_tls_pins_add(canon, list, len, NULL, why))
		return xs_err_set(err, XS_ERR_ARG, "%s: TLS pin list: %s", req->safe_url, why);
	req->pins = xs_xstrndup(canon, strlen(canon));
	return XS_OK;
}

static enum xs_err hc_tls_setup(struct hc_req *req, const struct xs_tls_opts *tls, bool https,
				char *err)
{
	CURL *e = req->easy;
	bool bad = false;

	if (!tls || !https)
		return XS_OK; /* curl's defaults: verify peer and name with the system CAs */
	if (tls->insecure) {
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
	} else if (tls->pins[0]) {
		if (hc_pins_setup(req, tls->pins, err))
			return XS_ERR_ARG;
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, hc_ssl_ctx) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_SSL_CTX_DATA, req) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_PREREQFUNCTION, hc_prereq) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_PREREQDATA, req) != CURLE_OK;
	} else if (tls->ca_file) {
		bad |= hc_curl->easy_setopt(e, CURLOPT_CAINFO, tls->ca_file) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK;
		/* libcurl 7.87+ keeps the store it built from the file for 24 h by default: a CA
		 * file replaced (hosts given new certificates) would fail new connections that
		 * long. Off: a new connection (rare: they are kept alive) reads the file again.
		 * An older libcurl has no such cache and refuses the option: fine. */
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87.0: headers that know the option */
		(void)hc_curl->easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, (long)XS_HTTP_CA_CACHE_S);
#endif
	}
	if (bad)
		return xs_err_set(err, XS_ERR_ARG, "%s: TLS options not supported by this libcurl "
				  "(pinning needs its OpenSSL flavour)", req->safe_url);
	return XS_OK;
}

static size_t hc_write_cb(char *ptr, size_t size, size_t n, void *arg);

/* Seconds → curl milliseconds, with 0 (or nonsense) meaning `dflt`. */
static long hc_ms(double seconds, double dflt)
{
	long ms;

	if (!(seconds > 0)) /* also NaN */
		seconds = dflt;
	if (seconds > HC_MAX_TIMEOUT)
		seconds = HC_MAX_TIMEOUT;
	ms = (long)(seconds * 1000.0 + 0.5);
	return ms > 0 ? ms : 1; /* curl reads 0 as "no timeout" */
}

static enum xs_err hc_common_setup(struct hc_req *req, const struct xs_http_request *r, char *err)
{
	CURL *e = req->easy;
	bool bad = false;

	bad |= hc_curl->easy_setopt(e, CURLOPT_PRIVATE, req) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_USERAGENT, HC_USER_AGENT) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
				hc_ms(r->connect_timeout, HC_DEFAULT_CONNECT_TIMEOUT)) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_TIMEOUT_MS, hc_ms(r->timeout, HC_DEFAULT_TIMEOUT)) !=
	       CURLE_OK;
	if (r->stall_timeout > 0) { /* under 1 byte a second for that long (curl counts whole seconds) */
		double st = r->stall_timeout < HC_MAX_TIMEOUT ? ceil(r->stall_timeout) : HC_MAX_TIMEOUT;

		bad |= hc_curl->easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK;
		bad |= hc_curl->easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)st) != CURLE_OK;
	}
	bad |= hc_curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, hc_write_cb) != CURLE_OK;
	bad |= hc_curl->easy_setopt(e, CURLOPT_WRITEDATA, req) != CURLE_OK;
	/* refuse early when Content-Length already says the body will not fit */
	if (!r->on_data)
		bad |= hc_curl->easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_body) !=
		       CURLE_OK;
	if (bad)
		return xs_err_set(err, XS_ERR_ARG, "%s: libcurl refused an option", req->safe_url);
	return XS_OK;
}

static enum xs_err hc_req_setup(struct hc_req *req, const struct xs_http_request *r, char *err)
{
	bool https = false;
	enum xs_err rc;

	req->easy = hc_curl->easy_init();
	if (!req->easy)
		return xs_err_set(err, XS_ERR_NOMEM, "cannot create a libcurl handle");
	rc = hc_url_setup(req, r->url, &https, err);
	if (!rc)
		rc = hc_common_setup(req, r, err);
	if (!rc)
		rc = hc_method_setup(req, r, err);
	if (!rc)
		rc = hc_headers_setup(req, r, err);
	if (!rc)
		rc = hc_tls_setup(req, r->tls, https, err);
	return rc;
}

/* ---- requests: running and completing ---------------------------------- */

/* Whether body bytes go to on_data now: only a 2xx body is streamed. */
static bool hc_streams(struct hc_req *req)
{
	long status = 0;

	if (!req->on_data)
		return false;
	hc_curl->easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	return status >= 200 && status < 300;
}

/* CURLOPT_WRITEFUNCTION; returning less than given fails the transfer. */
static size_t hc_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct hc_req *req = arg;
	size_t len = size * n;

	if (req->cancelled)
		return 0;
	if (hc_streams(req)) {
		int rc;

		req->streamed = true;
		hc_user_enter(req->h);
		rc = req->on_data(req->arg, ptr, len);
		hc_user_leave(req->h);
		if (rc != 0) {
			req->aborted = true;
			return 0;
		}
		return len;
	}
	if (xs_buf_append(&req->body, ptr, len)) {
		req->too_large = true;
		return 0;
	}
	return len;
}

static enum xs_err hc_rc_of(CURLcode cc)
{
	switch (cc) {
	case CURLE_OUT_OF_MEMORY:
		return XS_ERR_NOMEM;
	case CURLE_FILESIZE_EXCEEDED:
		return XS_ERR_TOO_LARGE;
	case CURLE_PARTIAL_FILE:
		return XS_ERR_TRUNCATED;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return XS_ERR_ARG;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_GOT_NOTHING:
		return XS_ERR_UPSTREAM;
	default:
		return XS_ERR_IO;
	}
}

/* True if secret (when long enough to matter) occurs in text. */
static bool hc_leaks(const char *text, const char *secret, size_t min)
{
	return secret && strlen(secret) >= min && strstr(text, secret);
}

/* Fills res->rc / res->error for a failed transfer (xs_err_set truncates quietly). */
static void hc_fail(struct hc_req *req, CURLcode cc, struct xs_http_response *res)
{
	const char *curl_text = req->errbuf[0] ? req->errbuf : hc_curl->easy_strerror(cc);
	enum xs_err rc = hc_rc_of(cc);
	char detail[XS_ERR_LEN];

	if (req->pin_failed)
		rc = xs_err_set(detail, XS_ERR_UPSTREAM,
				"TLS certificate pin did not match: the server's SHA-256 fingerprint is %s",
				req->peer_fp);
	else if (req->too_large || cc == CURLE_FILESIZE_EXCEEDED)
		rc = xs_err_set(detail, XS_ERR_TOO_LARGE, "response body larger than %zu bytes",
				req->max_body);
	else if (req->aborted)
		rc = xs_err_set(detail, XS_ERR_ABORTED, "aborted by the receiver of the body");
	else if (cc == CURLE_PEER_FAILED_VERIFICATION)
		xs_err_set(detail, rc, "TLS verification failed: %s", curl_text);
	else
		xs_err_set(detail, rc, "%s", curl_text);
	if (hc_leaks(detail, req->query, 1) || hc_leaks(detail, req->password, HC_SCRUB_MIN))
		xs_err_set(detail, rc, "%s", hc_curl->easy_strerror(cc));
	res->rc = xs_err_set(res->error, rc, "%s %.*s: %s", req->method, HC_MSG_URL_MAX,
			     req->safe_url, detail);
}

/* The transfer of req ended with cc: report it once, then free it. */
static void hc_finish(struct xs_http *h, struct hc_req *req, CURLcode cc)
{
	struct xs_http_response res;
	char *ctype = NULL, *location = NULL;

	memset(&res, 0, sizeof(res));
	hc_curl->easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &res.status);
	hc_curl->easy_getinfo(req->easy, CURLINFO_CONTENT_TYPE, &ctype);
	hc_curl->easy_getinfo(req->easy, CURLINFO_REDIRECT_URL, &location);
	res.content_type = ctype ? ctype : "";
	res.location = location ? location : "";
	if (cc == CURLE_OK)
		res.rc = XS_OK;
	else
		hc_fail(req, cc, &res);
	if (req->streamed && !req->body.data) {
		res.body = NULL;
	} else {
		res.body = req->body.data ? req->body.data : "";
		res.body_len = req->body.len;
	}
	res.seconds = xs_evloop_now() - req->start;
	hc_unlink(h, req);
	h->active--;
	/* out of curl before user code runs: on_done may submit or cancel */
	hc_curl->multi_remove_handle(h->multi, req->easy);
	req->added = false;
	hc_user_enter(h);
	req->on_done(req->arg, &res);
	hc_user_leave(h);
	hc_req_free(req);
}

/* Puts req into curl; on failure reports it through on_done (never from submit). */
static void hc_start(struct xs_http *h, struct hc_req *req)
{
	CURLMcode mc = hc_curl->multi_add_handle(h->multi, req->easy);

	if (mc == CURLM_OK) {
		req->added = true;
		return;
	}
	snprintf(req->errbuf, sizeof(req->errbuf), "cannot start: %s", hc_curl->multi_strerror(mc));
	hc_finish(h, req, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
}

/* Work that callbacks inside curl could not do: removals, then additions. */
static void hc_deferred_run(struct xs_http *h)
{
	struct hc_req *req = h->head;

	while (req) {
		struct hc_req *next = req->next;

		if (req->cancelled) {
			hc_unlink(h, req);
			hc_req_free(req);
		} else if (!req->added) {
			hc_start(h, req);
			/* a failed start ran on_done, which may have changed the list */
			next = h->head;
		}
		req = next;
	}
}

static void hc_collect(struct xs_http *h)
{
	for (;;) {
		int left = 0;
		CURLMsg *m = hc_curl->multi_info_read(h->multi, &left);
		struct hc_req *req = NULL;
		CURLcode cc;

		if (!m)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		cc = m->data.result; /* m dies with the handle's removal */
		hc_curl->easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &req);
		if (req)
			hc_finish(h, req, cc);
	}
}

static void hc_after_curl(struct xs_http *h)
{
	if (h->deferred) {
		h->deferred = false;
		hc_deferred_run(h);
	}
	hc_collect(h);
}

static void hc_drive(struct xs_http *h, curl_socket_t s, int flags)
{
	int running = 0;
	bool was = h->unguarded;

	h->unguarded = true;
	h->in_curl++;
	hc_curl->multi_socket_action(h->multi, s, flags, &running);
	h->in_curl--;
	if (!h->in_curl)
		hc_after_curl(h);
	h->unguarded = was;
}

/* ---- the API ----------------------------------------------------------- */

struct xs_http *xs_http_new(struct xs_evloop *loop, char *err)
{
	struct xs_http *h;
	CURLcode cc;

	if (!loop) {
		xs_err_set(err, XS_ERR_ARG, "no event loop");
		return NULL;
	}
	if (!hc_curl && !(hc_curl = xs_curl_load(err)))
		return NULL;
	/* reference-counted by libcurl, and thread-safe since 7.84 */
	cc = hc_curl->global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK) {
		xs_err_set(err, XS_ERR_IO, "libcurl: %s", hc_curl->easy_strerror(cc));
		return NULL;
	}
	h = xs_xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->next_id = 1;
	h->multi = hc_curl->multi_init();
	if (!h->multi || hc_curl->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, hc_socket_cb) ||
	    hc_curl->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) ||
	    hc_curl->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, hc_timer_cb) ||
	    hc_curl->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h)) {
		xs_err_set(err, XS_ERR_IO, "libcurl: cannot create a multi handle");
		hc_curl->multi_cleanup(h->multi);
		free(h);
		hc_curl->global_cleanup();
		return NULL;
	}
	return h;
}

void xs_http_free(struct xs_http **hp)
{
	struct xs_http *h = hp ? *hp : NULL;

	if (!h)
		return;
	while (h->head) {
		struct hc_req *req = h->head;

		hc_unlink(h, req);
		hc_req_free(req);
	}
	/* closing the pooled connections may still call the socket and timer callbacks */
	hc_curl->multi_cleanup(h->multi);
	if (h->timer)
		xs_evloop_cancel_timer(h->loop, h->timer);
	for (size_t i = 0; i < h->nfds; i++)
		xs_evloop_del_fd(h->loop, h->fds[i]);
	free(h->fds);
	free(h);
	hc_curl->global_cleanup();
	*hp = NULL;
}

uint64_t xs_http_submit(struct xs_http *h, const struct xs_http_request *r, char *err)
{
	struct hc_req *req;

	if (!h || !r || !r->url || !r->on_done) {
		xs_err_set(err, XS_ERR_ARG, "a request needs a client, a URL and on_done");
		return 0;
	}
	req = xs_xcalloc(1, sizeof(*req));
	req->h = h;
	req->max_body = r->max_body ? r->max_body : HC_DEFAULT_MAX_BODY;
	xs_buf_init(&req->body, req->max_body);
	req->on_data = r->on_data;
	req->on_done = r->on_done;
	req->arg = r->arg;
	req->start = xs_evloop_now();
	if (hc_req_setup(req, r, err) != XS_OK) {
		hc_req_free(req);
		return 0;
	}
	req->id = h->next_id++;
	hc_link(h, req);
	h->active++;
	if (h->in_curl) {
		h->deferred = true; /* added once curl returns (hc_deferred_run) */
		return req->id;
	}
	if (hc_curl->multi_add_handle(h->multi, req->easy) != CURLM_OK) {
		hc_unlink(h, req);
		h->active--;
		hc_req_free(req);
		xs_err_set(err, XS_ERR_NOMEM, "libcurl: cannot start the request");
		return 0;
	}
	req->added = true;
	return req->id;
}

void xs_http_cancel(struct xs_http *h, uint64_t id)
{
	struct hc_req *req = h ? hc_find(h, id) : NULL;

	if (!req)
		return;
	h->active--;
	if (h->in_curl) {
		/* curl forbids removing a handle from its own callback: later */
		req->cancelled = true;
		h->deferred = true;
		return;
	}
	hc_unlink(h, req);
	hc_req_free(req);
}

size_t xs_http_active(const struct xs_http *h)
{
	return h ? h->active : 0;
}
