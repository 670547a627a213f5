/*
 * libFuzzer target: XML-RPC replies (src/xapi/xmlrpc.c).
 *
 * Invariants: a body that fails names its byte offset; a body that decodes
 * re-encodes, and the encoding decodes to the same reply (ok flag and value
 * tree), and encodes again to the same bytes. Any difference aborts.
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
	struct xs_rpc_reply r1, r2;
	struct xs_buf b1, b2;
	char err[XS_ERR_LEN];

	xs_buf_init(&b1, FUZZ_OUT_CAP);
	xs_buf_init(&b2, FUZZ_OUT_CAP);
	if (xs_xmlrpc_decode_reply((const char *)data, size, a, &r1, err) != XS_OK) {
		if (strncmp(err, "byte ", 5) != 0 || r1.value != NULL)
			abort();
		goto out;
	}
	if (r1.value == NULL || xs_xmlrpc_encode_reply(&b1, &r1) != XS_OK)
		abort();
	if (xs_xmlrpc_decode_reply(b1.data, b1.len, a, &r2, err) != XS_OK)
		abort();
	if (r1.ok != r2.ok || !xs_rpc_equal(r1.value, r2.value))
		abort();
	if (xs_xmlrpc_encode_reply(&b2, &r2) != XS_OK || b1.len != b2.len ||
	    memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
out:
	xs_buf_free(&b1);
	xs_buf_free(&b2);
	xs_rpc_arena_free(&a);
	return 0;
}
