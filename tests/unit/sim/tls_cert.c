/*
 * Tests of sim/tls_cert.c: the generated certificate and key parse back, the
 * key matches the certificate, the names and extensions are what clients
 * expect, and the reported fingerprint equals SHA-256 of the DER recomputed
 * here with OpenSSL's API.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../sim/tls_cert.c"
#include "test.h"

static X509 *parse_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* SHA-256 of the DER encoding, formatted independently of tls_cert.c. */
static void der_fingerprint(X509 *x, char *out, size_t cap)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int n = i2d_X509(x, &der);
	size_t o = 0;

	out[0] = '\0';
	if (n <= 0 || !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return;
	}
	for (unsigned i = 0; i < mdlen && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
	OPENSSL_free(der);
}

/* Whether the certificate's subjectAltName holds IP address `ip` (4 bytes). */
static bool san_has_ip(X509 *x, const unsigned char ip[4])
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4 &&
		    !memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip, 4))
			found = true;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static void test_generate(void)
{
	const char *addrs[] = { "127.0.0.2", "127.1.2.3" };
	const unsigned char ip1[4] = { 127, 0, 0, 2 }, ip2[4] = { 127, 1, 2, 3 };
	const unsigned char ip3[4] = { 127, 0, 0, 9 };
	struct sim_tls_cert c;
	char err[XS_ERR_LEN] = "", fp[SIM_TLS_FINGERPRINT_LEN], cn[64];
	X509 *x;
	EVP_PKEY *k;

	fail_unless(sim_tls_cert_generate(&c, addrs, 2, err) == XS_OK, "generate: %s", err);
	ok(!strncmp(c.cert_pem, "-----BEGIN CERTIFICATE-----\n", 28), "cert PEM");
	ok(!strncmp(c.key_pem, "-----BEGIN PRIVATE KEY-----\n", 28), "key PEM");
	ok(strlen(c.fingerprint) == 95, "fingerprint length %zu", strlen(c.fingerprint));
	x = parse_cert(c.cert_pem);
	k = parse_key(c.key_pem);
	fail_unless(x && k, "both PEM texts parse");
	ok(X509_check_private_key(x, k) == 1, "key matches the certificate");
	ok(EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_bits(k) == 256, "EC P-256 key");
	der_fingerprint(x, fp, sizeof(fp));
	ok(!strcmp(fp, c.fingerprint), "fingerprint %s equals the DER's SHA-256 %s",
	   c.fingerprint, fp);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	ok(!strcmp(cn, "xapi-sim"), "CN %s", cn);
	ok(X509_get_extension_flags(x) & EXFLAG_SS, "self-signed (as OpenSSL sees it)");
	ok(X509_verify(x, k) == 1, "self-signed with its key");
	ok(X509_get_version(x) == X509_VERSION_3, "v3");
	ok(san_has_ip(x, ip1) && san_has_ip(x, ip2) && !san_has_ip(x, ip3), "IP SANs");
	ok(X509_check_ip_asc(x, "127.1.2.3", 0) == 1 && X509_check_host(x, "localhost", 0, 0, NULL) == 1,
	   "host checks pass for a listed IP and localhost");
	ok(X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
		   X509_cmp_current_time(X509_get0_notAfter(x)) > 0,
	   "valid now");
	ok(sim_tls_fingerprint(c.cert_pem, fp, err) == XS_OK && !strcmp(fp, c.fingerprint),
	   "fingerprint of the PEM again");
	X509_free(x);
	EVP_PKEY_free(k);
	sim_tls_cert_cleanup(&c);
	ok(!c.cert_pem && !c.key_pem && !c.fingerprint[0], "cleanup empties");
	sim_tls_cert_cleanup(&c);
	sim_tls_cert_cleanup(NULL);
}

static void test_distinct_and_errors(void)
{
	const char *bad[] = { "127.0.0.1", "not-an-ip" };
	struct sim_tls_cert a, b;
	char err[XS_ERR_LEN] = "", fp[SIM_TLS_FINGERPRINT_LEN];

	fail_unless(sim_tls_cert_generate(&a, NULL, 0, err) == XS_OK, "no addresses: %s", err);
	fail_unless(sim_tls_cert_generate(&b, NULL, 0, err) == XS_OK, "again: %s", err);
	ok(strcmp(a.fingerprint, b.fingerprint) && strcmp(a.key_pem, b.key_pem),
	   "each start makes a new key and certificate");
	sim_tls_cert_cleanup(&a);
	sim_tls_cert_cleanup(&b);
	ok(sim_tls_cert_generate(&a, bad, 2, err) == XS_ERR_ARG && strstr(err, "not-an-ip") &&
		   !a.cert_pem,
	   "bad address: %s", err);
	ok(sim_tls_fingerprint("garbage", fp, err) == XS_ERR_PARSE, "no certificate: %s", err);
	ok(sim_tls_fingerprint("", fp, err) == XS_ERR_PARSE, "empty text");
}

int main(void)
{
	TEST_RUN(test_generate);
	TEST_RUN(test_distinct_and_errors);
	return test_summary();
}
