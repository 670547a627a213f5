/*
 * xmlrpc.h - XML-RPC as XAPI speaks it (SPEC §4.1, §4.2): calls and XAPI's
 * Status/Value/ErrorDescription reply envelope, both directions (the
 * xapistat client encodes calls and decodes replies; xapi-sim the reverse).
 *
 * Decoding takes a whole body (the HTTP layer caps its size) and accepts every
 * value form of SPEC §4.2: untyped <value>text</value> as a string, <value/>,
 * <string>, <i4>/<int>, <i8>, <boolean>, <double>, <dateTime.iso8601>,
 * <struct/>, <data/>, <nil/>, with or without the XML declaration. A
 * malformed body is an error naming the byte offset, never a crash. Encoding
 * writes what current xapi writes: the declaration, strings untyped
 * (<value>text</value>), escaped & < > " and control characters dropped.
 *
 * Details of this implementation:
 *  - decoded text never holds control characters other than TAB, LF, CR
 *    (dropped, as the encoder drops them), so encode(decode(x)) decodes to
 *    the same tree; white space is kept as written (only numbers, booleans
 *    and the method name are trimmed);
 *  - XS_RPC_MAX_DEPTH counts every <array> and <struct> of the document, the
 *    reply envelope's struct included; deeper is XS_ERR_TOO_LARGE; the
 *    encoders refuse (XS_ERR_TOO_LARGE) what the decoders would refuse;
 *  - ints are written <i4> when they fit 32 bits, else <i8>; doubles in the
 *    shortest form that reads back the same (NaN, Infinity, -Infinity too);
 *    <base64> and other types are refused;
 *  - a reply must be XAPI's envelope (a struct with Status); a NULL value is
 *    written as xapi's void result "" (or an empty ErrorDescription);
 *  - on failure *call / *reply are zeroed; what was allocated stays in the arena.
 * Errors: XS_ERR_PARSE, XS_ERR_TRUNCATED, XS_ERR_TOO_LARGE (decoding);
 * XS_ERR_TOO_LARGE (out's cap, or nesting), XS_ERR_ARG (encoding).
 */
#ifndef XS_XAPI_XMLRPC_H
#define XS_XAPI_XMLRPC_H

#include "lib/buf.h"
#include "lib/err.h"
#include "xapi/rpc_value.h"

/* <methodCall> → call (everything in arena a). err: "byte N: ..." */
enum xs_err xs_xmlrpc_decode_call(const char *body, size_t len, struct xs_rpc_arena *a,
				  struct xs_rpc_call *call, char *err);
/* <methodResponse> with XAPI's envelope (or an XML-RPC <fault>, as a failed reply
 * whose code is the faultString) → reply. */
enum xs_err xs_xmlrpc_decode_reply(const char *body, size_t len, struct xs_rpc_arena *a,
				   struct xs_rpc_reply *reply, char *err);

/* Appends a <methodCall> of method with params (an ARRAY, or NULL for none). */
enum xs_err xs_xmlrpc_encode_call(struct xs_buf *out, const char *method,
				  const struct xs_rpc_value *params);
/* Appends a <methodResponse>: {Status: Success, Value: v} or {Status: Failure,
 * ErrorDescription: [...]} */
enum xs_err xs_xmlrpc_encode_reply(struct xs_buf *out, const struct xs_rpc_reply *reply);
/* Appends one <value> (used by both of the above). */
enum xs_err xs_xmlrpc_encode_value(struct xs_buf *out, const struct xs_rpc_value *v);

#endif
