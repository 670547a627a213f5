/*
 * jsonrpc.h - JSON-RPC as XAPI speaks it at POST /jsonrpc (SPEC §4.1, §4.2),
 * versions 1.0 and 2.0, both directions.
 *
 * Request: {"jsonrpc":"2.0","method":"...","params":[...],"id":1} (v1: no
 * "jsonrpc" member). Reply v2: {"jsonrpc":"2.0","result":...,"id":1} or
 * "error":{"code":1,"message":"CODE","data":[params...]}; v1: "result" and
 * "error":["CODE",params...] with the other null. Ints are JSON numbers,
 * floats numbers, datetimes strings. Decoding takes a whole body and fails
 * with "byte N: ..." on anything malformed.
 *
 * Details of this implementation:
 *  - numbers: an integer that fits int64 is INT, anything else DOUBLE; the
 *    encoder writes doubles so they stay doubles ("60.0"), and NaN, Infinity,
 *    -Infinity as bare words (not strict JSON; this decoder accepts them);
 *  - call: "jsonrpc" "2.0" → 2, absent or "1.0" → 1, anything else an error;
 *    "params" must be an array (absent or null: none); call->id is the "id"
 *    member as sent (a NIL value for "id":null) or NULL when absent;
 *  - reply: a non-null "error" makes a failed reply: a v1 array as is, a v2
 *    object as [message, data...], a bare string as [string]; otherwise
 *    "result" (required) is the value; "id" is not checked;
 *  - XS_RPC_MAX_DEPTH counts every array and object, the envelope included;
 *  - on failure *call / *reply are zeroed; what was allocated stays in the arena.
 */
#ifndef XS_XAPI_JSONRPC_H
#define XS_XAPI_JSONRPC_H

#include "lib/buf.h"
#include "lib/err.h"
#include "xapi/rpc_value.h"

enum xs_err xs_jsonrpc_decode_call(const char *body, size_t len, struct xs_rpc_arena *a,
				   struct xs_rpc_call *call, char *err);
enum xs_err xs_jsonrpc_decode_reply(const char *body, size_t len, struct xs_rpc_arena *a,
				    struct xs_rpc_reply *reply, char *err);

/* version 1 or 2; id is written as given (an INT or STRING value). */
enum xs_err xs_jsonrpc_encode_call(struct xs_buf *out, int version, const char *method,
				   const struct xs_rpc_value *params, int64_t id);
/* As above with any id value (INT, STRING, NIL...); id NULL writes no "id"
 * member (a v2 notification). Lets a decoded call be written back exactly. */
enum xs_err xs_jsonrpc_encode_call_id(struct xs_buf *out, int version, const char *method,
				      const struct xs_rpc_value *params,
				      const struct xs_rpc_value *id);
/* The reply to call (its version and id). */
enum xs_err xs_jsonrpc_encode_reply(struct xs_buf *out, const struct xs_rpc_call *call,
				    const struct xs_rpc_reply *reply);
/* Appends one value as JSON. */
enum xs_err xs_jsonrpc_encode_value(struct xs_buf *out, const struct xs_rpc_value *v);

#endif
