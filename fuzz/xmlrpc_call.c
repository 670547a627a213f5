/*
 * libFuzzer target: XML-RPC calls (src/xapi/xmlrpc.c).
 *
 * Invariants: a body that fails names its byte offset; a body that decodes
 * re-encodes, and the encoding decodes to the same method and params, and
 * encodes again to the same bytes. Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xapi/xmlrpc.h"

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
	if (xs_xmlrpc_decode_call((const char *)data, size, a, &c1, err) != XS_OK) {
		if (strncmp(err, "byte ", 5) != 0)
			abort();
		goto out;
	}
	if (c1.method == NULL || c1.params == NULL || c1.id != NULL || c1.jsonrpc != 0)
		abort();
	if (xs_xmlrpc_encode_call(&b1, c1.method, c1.params) != XS_OK)
		abort();
	if (xs_xmlrpc_decode_call(b1.data, b1.len, a, &c2, err) != XS_OK)
		abort();
	if (strcmp(c1.method, c2.method) != 0 || !xs_rpc_equal(c1.params, c2.params))
		abort();
	if (xs_xmlrpc_encode_call(&b2, c2.method, c2.params) != XS_OK || b1.len != b2.len ||
	    memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
out:
	xs_buf_free(&b1);
	xs_buf_free(&b2);
	xs_rpc_arena_free(&a);
	return 0;
}
