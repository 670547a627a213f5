/*
 * tls_cert.c - the self-signed certificate of xapi-sim (see tls_cert.h).
 *
 * Everything is built with OpenSSL's X509 API in memory. Every OpenSSL object
 * is freed before returning; the only things handed out are the two PEM
 * strings, copied into xs_xmalloc'd memory so the caller frees them with
 * free() like any other string of ours. OpenSSL's error queue is cleared on
 * the way out so a failure here leaves nothing for an unrelated later call.
 */
#include "tls_cert.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/xmalloc.h"

#define TLS_CERT_CN "xapi-sim"
#define TLS_CERT_SERIAL_BYTES 16 /* random serial, top bit cleared (positive) */

/* Appends DNS:name to gens. */
static int tls_cert_add_dns(GENERAL_NAMES *gens, const char *name)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (!g || !s || !ASN1_STRING_set(s, name, (int)strlen(name)))
		goto free_both;
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return 0;
	}
	return 1;
free_both:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(g);
	return 0;
}

/* Appends IP:addr to gens; -1 if addr is not an address, 0 if OpenSSL fails. */
static int tls_cert_add_ip(GENERAL_NAMES *gens, const char *addr)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(addr);
	GENERAL_NAME *g;

	if (!ip)
		return -1;
	g = GENERAL_NAME_new();
	if (!g) {
		ASN1_OCTET_STRING_free(ip);
		return 0;
	}
	GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return 0;
	}
	return 1;
}

static enum xs_err tls_cert_add_san(X509 *x, const char *const *addrs, size_t naddrs, char *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	enum xs_err rc = XS_ERR_NOMEM;

	if (!gens || !tls_cert_add_dns(gens, TLS_CERT_CN) || !tls_cert_add_dns(gens, "localhost")) {
		xs_err_set(err, rc, "certificate: cannot build subjectAltName");
		goto free_gens;
	}
	for (size_t i = 0; i < naddrs; i++) {
		int r = tls_cert_add_ip(gens, addrs[i]);

		if (r < 0) {
			rc = xs_err_set(err, XS_ERR_ARG, "certificate: '%s' is not an IP address",
					addrs[i]);
			goto free_gens;
		}
		if (!r) {
			xs_err_set(err, rc, "certificate: cannot build subjectAltName");
			goto free_gens;
		}
	}
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT)) {
		xs_err_set(err, rc, "certificate: cannot add subjectAltName");
		goto free_gens;
	}
	rc = XS_OK;
free_gens:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* One extension given in openssl's config syntax ("critical,CA:FALSE"). */
static bool tls_cert_add_conf_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool added;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return false;
	added = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return added;
}

/* Version, serial, names, validity and the fixed extensions. */
static bool tls_cert_fill(X509 *x, EVP_PKEY *key)
{
	unsigned char serial[TLS_CERT_SERIAL_BYTES];
	BIGNUM *bn;
	ASN1_INTEGER *ai = NULL;
	X509_NAME *name = X509_get_subject_name(x);
	bool good;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return false;
	serial[0] &= 0x7f;
	serial[0] |= 0x01; /* positive, and no leading zero byte to strip */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	good = ai && X509_set_version(x, X509_VERSION_3) && X509_set_serialNumber(x, ai) &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					  (const unsigned char *)TLS_CERT_CN, -1, -1, 0) &&
	       X509_set_issuer_name(x, name) &&
	       X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) &&
	       X509_gmtime_adj(X509_getm_notAfter(x), (long)SIM_TLS_CERT_DAYS * 24 * 3600) &&
	       X509_set_pubkey(x, key) &&
	       tls_cert_add_conf_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	       tls_cert_add_conf_ext(x, NID_ext_key_usage, "serverAuth") &&
	       tls_cert_add_conf_ext(x, NID_subject_key_identifier, "hash");
	ASN1_INTEGER_free(ai);
	return good;
}

/* The contents of a memory BIO as a NUL-terminated xs_xmalloc'd string. */
static char *tls_cert_bio_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	return n > 0 ? xs_xstrndup(data, (size_t)n) : NULL;
}

static void tls_cert_format_fingerprint(const unsigned char *md, unsigned len,
					char out[SIM_TLS_FINGERPRINT_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (unsigned i = 0; i < len && o + 3 <= SIM_TLS_FINGERPRINT_LEN; i++) {
		if (i)
			out[o++] = ':';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

static bool tls_cert_digest(X509 *x, char out[SIM_TLS_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!X509_digest(x, EVP_sha256(), md, &len))
		return false;
	tls_cert_format_fingerprint(md, len, out);
	return true;
}

/* PEM texts and fingerprint of a finished certificate into out. */
static enum xs_err tls_cert_export(X509 *x, EVP_PKEY *key, struct sim_tls_cert *out, char *err)
{
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	enum xs_err rc = XS_ERR_NOMEM;

	if (!cb || !kb || !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !tls_cert_digest(x, out->fingerprint)) {
		xs_err_set(err, rc, "certificate: cannot encode it");
		goto free_bios;
	}
	out->cert_pem = tls_cert_bio_string(cb);
	out->key_pem = tls_cert_bio_string(kb);
	if (!out->cert_pem || !out->key_pem) {
		sim_tls_cert_cleanup(out);
		xs_err_set(err, rc, "certificate: empty PEM output");
		goto free_bios;
	}
	rc = XS_OK;
free_bios:
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

enum xs_err sim_tls_cert_generate(struct sim_tls_cert *out, const char *const *addrs,
				  size_t naddrs, char *err)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	enum xs_err rc = XS_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	if (naddrs > SIM_TLS_MAX_SAN_ADDRS) {
		return xs_err_set(err, XS_ERR_ARG, "certificate: %zu addresses, at most %d",
				  naddrs, SIM_TLS_MAX_SAN_ADDRS);
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (!key || !x || !tls_cert_fill(x, key)) {
		xs_err_set(err, rc, "certificate: cannot make the key or fill the certificate");
		goto free_all;
	}
	rc = tls_cert_add_san(x, addrs, naddrs, err);
	if (rc)
		goto free_all;
	if (!X509_sign(x, key, EVP_sha256())) {
		rc = xs_err_set(err, XS_ERR_IO, "certificate: cannot sign it");
		goto free_all;
	}
	rc = tls_cert_export(x, key, out, err);
free_all:
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

void sim_tls_cert_cleanup(struct sim_tls_cert *c)
{
	if (!c)
		return;
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

enum xs_err sim_tls_fingerprint(const char *cert_pem, char out[SIM_TLS_FINGERPRINT_LEN],
				char *err)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	enum xs_err rc = XS_OK;

	if (!x || !tls_cert_digest(x, out))
		rc = xs_err_set(err, XS_ERR_PARSE, "no PEM certificate to take a fingerprint of");
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}
