/*
 * tls_cert.h - the self-signed certificate xapi-sim serves HTTPS with.
 *
 * `xapi-sim --tls` makes a fresh key and certificate at start (nothing is
 * written to disk) and prints its SHA-256 fingerprint, which clients pin
 * (curl --pinnedpubkey, or xapistat's fingerprint option) the way one pins
 * a real pool's self-signed certificate. The certificate: EC P-256 key,
 * subject and issuer CN "xapi-sim", valid from a day ago for
 * SIM_TLS_CERT_DAYS, X.509 v3 with subjectAltName DNS:xapi-sim,
 * DNS:localhost and one IP entry per address given (each simulated host
 * listens on its own 127.x.y.z; a SAN cannot name a range),
 * extendedKeyUsage serverAuth, CA:FALSE, and no keyUsage (which OpenSSL
 * would then require to include keyCertSign for the certificate to count as
 * its own issuer when a client trusts it directly with --cacert).
 */
#ifndef SIM_TLS_CERT_H
#define SIM_TLS_CERT_H

#include <stddef.h>

#include "lib/err.h"

#define SIM_TLS_FINGERPRINT_LEN 96 /* "AB:CD:...": 32 bytes as hex pairs with ':' and a NUL */
#define SIM_TLS_CERT_DAYS 3650     /* validity after issue */
#define SIM_TLS_MAX_SAN_ADDRS 65536 /* IP entries in subjectAltName */

/*
 * A generated certificate. Exposed so callers can keep it on the stack:
 * fill it with sim_tls_cert_generate(), release it with
 * sim_tls_cert_cleanup(); do not change the fields.
 */
struct sim_tls_cert {
	char *cert_pem;                            /* "-----BEGIN CERTIFICATE-----..." */
	char *key_pem;                             /* PKCS#8 "-----BEGIN PRIVATE KEY-----..." */
	char fingerprint[SIM_TLS_FINGERPRINT_LEN]; /* SHA-256 of the DER, "AB:CD:..." */
};

/*
 * Generates a key and a self-signed certificate whose subjectAltName lists
 * addrs[0..naddrs) (IPv4 or IPv6 text; naddrs may be 0, addrs then may be
 * NULL). On XS_OK *out holds both PEM texts (caller owns them: free with
 * sim_tls_cert_cleanup). On error (XS_ERR_ARG for a bad address or too many,
 * XS_ERR_NOMEM/XS_ERR_IO when OpenSSL fails) err says why and *out is empty.
 */
enum xs_err sim_tls_cert_generate(struct sim_tls_cert *out, const char *const *addrs,
				  size_t naddrs, char *err) __attribute__((warn_unused_result));

/* Frees the PEM texts and empties *c (NULL allowed). */
void sim_tls_cert_cleanup(struct sim_tls_cert *c);

/*
 * SHA-256 fingerprint of the first certificate in cert_pem, formatted as
 * `openssl x509 -fingerprint -sha256` prints it (upper-case hex pairs joined
 * by ':') into out. XS_ERR_PARSE with err filled in if there is none.
 */
enum xs_err sim_tls_fingerprint(const char *cert_pem, char out[SIM_TLS_FINGERPRINT_LEN],
				char *err) __attribute__((warn_unused_result));

#endif
