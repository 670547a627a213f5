/*
 * rpc_client.h - one XAPI call over HTTP POST to a pool master (SPEC §4.1),
 * asynchronous, on the event loop's struct xs_http.
 *
 * Protocol choice, remembered per connection (one connection per pool):
 * until it is known, a call goes to POST <base>/jsonrpc as JSON-RPC 2.0. A
 * 2xx answer with content-type application/json settles JSON-RPC. A 2xx
 * answer of any other type or none (old hosts answer XML-RPC there, as
 * text/xml; Xen Orchestra falls back on anything but application/json), a
 * text/xml answer of any status, or a 404 settles XML-RPC, and the call is
 * sent again, once, to POST <base>/ as XML-RPC. Any other answer (transport
 * error, other status) leaves the choice open. The same holds for a
 * JSON-RPC call on a settled connection (its master moved to an older host).
 *
 * Response bodies are capped (max_body); an HTTP status other than 200, a
 * wrong content type or a body that does not decode is a clear error naming
 * the method and the URL (never its user-info), never a crash.
 */
#ifndef XS_XAPI_RPC_CLIENT_H
#define XS_XAPI_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "xapi/http_client.h"
#include "xapi/rpc_value.h"

#define XS_RPC_MAX_RESPONSE (512u << 20) /* default cap of one reply body, bytes */
#define XS_RPC_URL_LEN 512               /* longest base URL */

enum xs_rpc_proto { XS_RPC_PROTO_UNKNOWN, XS_RPC_PROTO_JSON, XS_RPC_PROTO_XML };

/* What a call ended with; valid only during the callback. */
struct xs_rpc_result {
	enum xs_err rc;              /* XS_OK: reply holds XAPI's answer (success or failure) */
	char error[XS_ERR_LEN];      /* rc != XS_OK: transport, HTTP or decoding error */
	struct xs_rpc_reply reply;   /* rc == XS_OK; values live in the call's arena */
	const char *method;
	double seconds;              /* wall time of the call (both attempts) */
	double started;              /* xs_evloop_now() when the call was submitted */
};

typedef void (*xs_rpc_done_cb)(void *arg, const struct xs_rpc_result *res);

struct xs_rpc_conn;

/*
 * A connection to base_url ("http[s]://host[:port]", no path, no user-info)
 * through http; tls may be NULL (system CAs) and is copied. max_body 0 means
 * XS_RPC_MAX_RESPONSE. Returns NULL with err for a URL longer than
 * XS_RPC_URL_LEN.
 */
struct xs_rpc_conn *xs_rpc_conn_new(struct xs_http *http, const char *base_url,
				    const struct xs_tls_opts *tls, size_t max_body, char *err);
/* Cancels every call (no callbacks) and frees; *c = NULL. Accepts NULL. */
void xs_rpc_conn_free(struct xs_rpc_conn **c);

/* Points later calls at another host (HOST_IS_SLAVE). The protocol choice stays. */
enum xs_err xs_rpc_conn_set_base(struct xs_rpc_conn *c, const char *base_url, char *err);
const char *xs_rpc_conn_base(const struct xs_rpc_conn *c);
enum xs_rpc_proto xs_rpc_conn_proto(const struct xs_rpc_conn *c);
/* Forces a protocol (tests, configuration); UNKNOWN restarts detection. */
void xs_rpc_conn_set_proto(struct xs_rpc_conn *c, enum xs_rpc_proto p);

/*
 * Calls method with params (an ARRAY or NULL; encoded at once, so it may be
 * freed after the call returns). timeout: seconds for the whole exchange
 * (0 = 60). done runs exactly once, on the loop, unless the call is
 * cancelled; the result's values are freed when it returns. Returns a call
 * id > 0, or 0 with err (encoding failed, or the HTTP layer refused).
 */
uint64_t xs_rpc_call(struct xs_rpc_conn *c, const char *method, const struct xs_rpc_value *params,
		     double timeout, xs_rpc_done_cb done, void *arg, char *err);
/* Cancels a call: its callback does not run. Unknown ids are ignored. */
void xs_rpc_cancel(struct xs_rpc_conn *c, uint64_t id);
/* Calls in flight. */
size_t xs_rpc_pending(const struct xs_rpc_conn *c);

#endif
