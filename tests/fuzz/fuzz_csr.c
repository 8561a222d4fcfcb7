/*
 * Fuzz target for the CSR parser: a joining agent's CSR is the one piece of
 * PKI input that comes from a peer before it has authenticated (DESIGN §3).
 * Also runs the certificate parser over the same bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "qh/log.h"
#include "qh/pki.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	static int init;

	if (!init) {
		qh_log_init("fuzz_csr", QH_LOG_ERROR);
		init = 1;
	}
	if (qh_pki_csr_parse((const char *)data, size, &key) == 0)
		EVP_PKEY_free(key);
	if (qh_pki_cert_parse((const char *)data, size, &cert) == 0) {
		struct qh_identity id;

		(void)qh_pki_identity(cert, &id);
		X509_free(cert);
	}
	return 0;
}
