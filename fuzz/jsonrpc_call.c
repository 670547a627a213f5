/*
 * libFuzzer target: JSON-RPC calls (src/xapi/jsonrpc.c).
 *
 * Invariants: a body that fails names its byte offset; a body that decodes
 * re-encodes (same version, method, params and id), the encoding decodes to
 * the same call, and encodes again to the same bytes. Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/jsonrpc.h"

#define FUZZ_OUT_CAP (64u << 20) /* encodings of a 64 KiB input stay far below */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_rpc_arena *a = xs_rpc_arena_new();
	struct xs_rpc_call c1, c2;
	struct xs_buf b1, b2;
	char err[XS_ERR_LEN];

	xs_buf_init(&b1, FUZZ_OUT_CAP);
	xs_buf_init(&b2, FUZZ_OUT_CAP);
	if (xs_jsonrpc_decode_call((const char *)data, size, a, &c1, err) != XS_OK) {
		if (strncmp(err, "byte ", 5) != 0 || c1.method != NULL)
			abort();
		goto out;
	}
	if (c1.method == NULL || c1.params == NULL || (c1.jsonrpc != 1 && c1.jsonrpc != 2))
		abort();
	if (xs_jsonrpc_encode_call_id(&b1, c1.jsonrpc, c1.method, c1.params, c1.id) != XS_OK)
		abort();
	if (xs_jsonrpc_decode_call(b1.data, b1.len, a, &c2, err) != XS_OK)
		abort();
	if (c1.jsonrpc != c2.jsonrpc || strcmp(c1.method, c2.method) != 0 ||
	    !xs_rpc_equal(c1.params, c2.params) || !xs_rpc_equal(c1.id, c2.id))
		abort();
	if (xs_jsonrpc_encode_call_id(&b2, c2.jsonrpc, c2.method, c2.params, c2.id) != XS_OK ||
	    b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
out:
	xs_buf_free(&b1);
	xs_buf_free(&b2);
	xs_rpc_arena_free(&a);
	return 0;
}
