/*
 * tls_pins.h - lists of pinned TLS certificates: the SHA-256 fingerprints of
 * the leaf certificates xapistat accepts for one pool.
 *
 * xapi serves its RPC and its RRD endpoints on every host of a pool (SPEC
 * §1), each host with its own self-signed certificate (SPEC §5), so a pool
 * needs one fingerprint per host: a connection is accepted when the leaf
 * matches any fingerprint of the list (xapi/http_client.h).
 *
 * Syntax (configuration `pin`, `xapistat inventory --pin`): fingerprints
 * separated by commas and/or blanks (space, tab). A fingerprint is 32 bytes
 * in hex, as `openssl x509 -noout -fingerprint -sha256` prints it
 * ("AB:CD:..."): case is free and colons may be anywhere or absent. The
 * canonical form of a list is "AB:CD:...,EF:01:..." (upper case, a colon
 * between bytes, one comma between fingerprints, nothing else).
 */
#ifndef XS_XAPI_TLS_PINS_H
#define XS_XAPI_TLS_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define XS_TLS_FP_LEN 96      /* "AB:CD:...:EF" of a SHA-256 (95 characters) and NUL */
/* Fingerprints in one list: a pool has at most 64 hosts, and each may be listed
 * twice while its certificate is being replaced. */
#define XS_TLS_PINS_MAX 128
#define XS_TLS_PINS_LEN (XS_TLS_PINS_MAX * XS_TLS_FP_LEN) /* a full canonical list and NUL */

/*
 * Parses the list in[0..len) and appends its fingerprints, in canonical form,
 * to the canonical list in out (XS_TLS_PINS_LEN bytes; "" for none yet).
 * *count (may be NULL) receives the number of fingerprints out then holds.
 * Errors, out unchanged: XS_ERR_ARG when an entry is not a SHA-256
 * fingerprint (err quotes the entry, which is no secret) or when in holds no
 * fingerprint at all; XS_ERR_TOO_LARGE past XS_TLS_PINS_MAX fingerprints.
 */
enum xs_err xs_tls_pins_add(char *out, const char *in, size_t len, size_t *count, char *err)
	__attribute__((warn_unused_result));

/* Whether fp (canonical "AB:CD:...") is one of the canonical list pins. */
bool xs_tls_pins_match(const char *pins, const char *fp);

/* The number of fingerprints in the canonical list pins. */
size_t xs_tls_pins_count(const char *pins);

#endif
