/*
 * libFuzzer target: JSON-RPC replies (src/xapi/jsonrpc.c).
 *
 * Invariants: a body that fails names its byte offset; a body that decodes
 * re-encodes as version 1 and decodes to the same reply exactly. Encoded as
 * version 2 it decodes to the same reply too, except where v2 cannot say it:
 * an error ARRAY that does not start with a STRING code (v2's "message"),
 * or nesting pushed past the cap by v2's extra error object. Any other
 * difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/jsonrpc.h"

#define FUZZ_OUT_CAP (64u << 20) /* encodings of a 64 KiB input stay far below */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes r as version `version`, decodes it back into *back. */
static enum xs_err fuzz_again(struct xs_rpc_arena *a, const struct xs_rpc_reply *r, int version,
			      struct xs_rpc_reply *back)
{
	struct xs_rpc_call call = { "x", NULL, NULL, version };
	char err[XS_ERR_LEN];
	struct xs_buf b;
	enum xs_err rc;

	xs_buf_init(&b, FUZZ_OUT_CAP);
	call.id = xs_rpc_int(a, 1);
	rc = xs_jsonrpc_encode_reply(&b, &call, r);
	if (rc == XS_OK && xs_jsonrpc_decode_reply(b.data, b.len, a, back, err) != XS_OK)
		abort();
	xs_buf_free(&b);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_reply r1, r2;
	const struct xs_rpc_value *code;
	char err[XS_ERR_LEN];
	enum xs_err rc;

	if (xs_jsonrpc_decode_reply((const char *)data, size, a, &r1, err) != XS_OK) {
		if (strncmp(err, "byte ", 5) != 0 || r1.value != NULL)
			abort();
		goto out;
	}
	if (r1.value == NULL || (!r1.ok && r1.value->type != XS_RPC_ARRAY))
		abort();
	if (fuzz_again(a, &r1, 1, &r2) != XS_OK)
		abort();
	if (r1.ok != r2.ok || !xs_rpc_equal(r1.value, r2.value))
		abort();
	rc = fuzz_again(a, &r1, 2, &r2);
	if (rc == XS_ERR_TOO_LARGE && !r1.ok)
		goto out;
	if (rc != XS_OK || r1.ok != r2.ok)
		abort();
	code = xs_rpc_at(r1.value, 0);
	if (!r1.ok && (code == NULL || code->type != XS_RPC_STRING))
		goto out;
	if (!xs_rpc_equal(r1.value, r2.value))
		abort();
out:
	xs_rpc_arena_free(&a);
	return 0;
}
