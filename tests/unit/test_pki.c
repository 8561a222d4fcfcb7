/*
 * Unit tests for common/pki.c: the certificate profile (a CA, an agent
 * certificate issued from a CSR, the identity read back), what the
 * identity check refuses, pinned verification and identity names. Key
 * and bundle files are test_pem.c's, host names test_addr.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"

struct fixture {
	EVP_PKEY *cakey;
	X509 *ca;
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(qh_pki_key_new(&f->cakey), 0);
	assert_int_equal(qh_pki_ca_new(f->cakey, "test.example", &f->ca), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/qh-test-pki.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	X509_free(f->ca);
	EVP_PKEY_free(f->cakey);
	free(f);
	return 0;
}

/* Builds a certificate signed by the CA with an arbitrary subject. */
static X509 *
forge(struct fixture *f, const char *o, const char *ou, const char *cn)
{
	X509 *cert = X509_new();
	X509_NAME *n = X509_NAME_new();
	EVP_PKEY *key = NULL;

	assert_int_equal(qh_pki_key_new(&key), 0);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 12345);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	if (o != NULL)
		X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
		    (const unsigned char *)o, -1, -1, 0);
	if (ou != NULL)
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
		    (const unsigned char *)ou, -1, -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(cert, n);
	X509_set_issuer_name(cert, X509_get_subject_name(f->ca));
	X509_set_pubkey(cert, key);
	assert_true(X509_sign(cert, f->cakey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	EVP_PKEY_free(key);
	return cert;
}

static void
test_ca_profile(void **state)
{
	struct fixture *f = *state;
	struct qh_identity id;
	EVP_PKEY *pub = X509_get0_pubkey(f->ca);

	assert_int_equal(X509_verify(f->ca, pub), 1);
	assert_int_equal(X509_check_ca(f->ca), 1);
	/* A CA carries no role: it cannot pass as a peer. */
	assert_int_equal(qh_pki_identity(f->ca, &id), QH_ERR_AUTH);
	assert_int_equal(id.role, QH_ROLE_NONE);
}

static void
test_agent_from_csr(void **state)
{
	struct fixture *f = *state;
	struct qh_identity id;
	EVP_PKEY *key = NULL, *pub = NULL;
	X509 *cert = NULL;
	char *csr = NULL, fp[65];
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(qh_pki_key_new(&key), 0);
	assert_int_equal(qh_pki_csr_new(key, &csr), 0);
	assert_non_null(strstr(csr, "BEGIN CERTIFICATE REQUEST"));
	assert_int_equal(qh_pki_csr_parse(csr, strlen(csr), &pub), 0);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);

	assert_int_equal(qh_pki_issue(f->ca, f->cakey, pub, QH_ROLE_AGENT, "acme",
			     "pc-0042", 30, &cert),
	    0);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(f->ca)), 1);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(X509_check_ca(cert), 0);

	assert_int_equal(qh_pki_identity(cert, &id), 0);
	assert_int_equal(id.role, QH_ROLE_AGENT);
	assert_string_equal(id.id, "acme");
	assert_string_equal(id.agent_id, "pc-0042");
	assert_true(strlen(id.serial) >= 2 && strlen(id.serial) <= 32);
	assert_int_equal(qh_pki_fingerprint(cert, fp), 0);
	assert_string_equal(id.fingerprint, fp);
	assert_int_equal(strlen(fp), 64);
	assert_true(id.not_after > now + 30 * 86400 - 120);
	assert_true(id.not_after < now + 30 * 86400 + 120);
	/* notBefore lies an hour back, for skewed and accelerated clocks. */
	assert_true(
	    X509_cmp_time(X509_get0_notBefore(cert), &(time_t){ now - 3000 }) < 0);
	assert_true(id.not_before > now - 3600 - 120 && id.not_before < now - 3600 + 120);
	/* Renewal is due once two thirds of the life have passed. */
	assert_int_equal(qh_pki_renew_at(&id),
	    id.not_before + (id.not_after - id.not_before) / 3 * 2);
	assert_true(qh_pki_renew_at(&id) > now + 19 * 86400);
	assert_true(qh_pki_renew_at(&id) < now + 20 * 86400);
	/* The key is known by the hash of its public half, the CSR's and the cert's
	 * alike. */
	assert_int_equal(qh_pki_key_sha256(pub, fp), 0);
	assert_string_equal(id.key_sha256, fp);
	assert_int_equal(qh_pki_key_sha256(key, fp), 0);
	assert_string_equal(id.key_sha256, fp);
	/* ... and so is a certificate as a peer's handshake decodes it. */
	{
		struct qh_identity peer;
		unsigned char *der = NULL;
		const unsigned char *p;
		X509 *decoded;
		int len = i2d_X509(cert, &der);

		assert_true(len > 0);
		p = der;
		assert_non_null(decoded = d2i_X509(NULL, &p, len));
		assert_int_equal(qh_pki_identity(decoded, &peer), 0);
		assert_string_equal(peer.key_sha256, fp);
		X509_free(decoded);
		OPENSSL_free(der);
	}

	/* An agent certificate needs an agent id. */
	X509_free(cert);
	cert = NULL;
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, pub, QH_ROLE_AGENT, "acme", NULL,
			     30, &cert),
	    QH_ERR_ARG);
	assert_null(cert);

	free(csr);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

static void
test_csr_garbage(void **state QH_UNUSED)
{
	static const char junk[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
				   "AAAA\n-----END CERTIFICATE REQUEST-----\n";
	EVP_PKEY *pub = NULL;

	assert_int_equal(qh_pki_csr_parse("hello", 5, &pub), QH_ERR_FORMAT);
	assert_int_equal(qh_pki_csr_parse(junk, sizeof(junk) - 1, &pub), QH_ERR_FORMAT);
	assert_null(pub);
}

static void
test_roles(void **state)
{
	struct fixture *f = *state;
	struct qh_identity id;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	assert_int_equal(qh_pki_key_new(&key), 0);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_TECHNICIAN, "alice",
			     "ignored", 10, &cert),
	    0);
	assert_int_equal(qh_pki_identity(cert, &id), 0);
	assert_int_equal(id.role, QH_ROLE_TECHNICIAN);
	assert_string_equal(id.id, "alice");
	assert_string_equal(id.agent_id, "");
	X509_free(cert);

	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_ACCOUNTING, "bob",
			     NULL, 10, &cert),
	    0);
	assert_int_equal(qh_pki_identity(cert, &id), 0);
	assert_int_equal(id.role, QH_ROLE_ACCOUNTING);
	X509_free(cert);
	cert = NULL;

	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_NONE, "x", NULL, 10,
			     &cert),
	    QH_ERR_ARG);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_TECHNICIAN, "-bad",
			     NULL, 10, &cert),
	    QH_ERR_ARG);
	/* The CA key must match the CA certificate. */
	assert_int_equal(qh_pki_issue(f->ca, key, key, QH_ROLE_TECHNICIAN, "alice", NULL,
			     10, &cert),
	    QH_ERR_ARG);
	assert_null(cert);

	assert_string_equal(qh_role_name(QH_ROLE_CONSOLE), "console");
	assert_int_equal(qh_role_parse("accounting"), QH_ROLE_ACCOUNTING);
	assert_int_equal(qh_role_parse("none"), QH_ROLE_NONE);
	assert_int_equal(qh_role_parse("admin"), QH_ROLE_NONE);
	EVP_PKEY_free(key);
}

static void
test_identity_rejects(void **state)
{
	struct fixture *f = *state;
	struct qh_identity id;
	X509 *cert;

	/* Without a role (no OU). */
	cert = forge(f, "quarterhour", NULL, "alice");
	assert_int_equal(qh_pki_identity(cert, &id), QH_ERR_AUTH);
	X509_free(cert);
	/* An unknown role. */
	cert = forge(f, "quarterhour", "admin", "alice");
	assert_int_equal(qh_pki_identity(cert, &id), QH_ERR_AUTH);
	X509_free(cert);
	/* Another organisation. */
	cert = forge(f, "evil", "technician", "alice");
	assert_int_equal(qh_pki_identity(cert, &id), QH_ERR_AUTH);
	X509_free(cert);
	/* An invalid identity. */
	cert = forge(f, "quarterhour", "technician", "al ice");
	assert_int_equal(qh_pki_identity(cert, &id), QH_ERR_AUTH);
	X509_free(cert);
	/* An agent without UID. */
	cert = forge(f, "quarterhour", "agent", "acme");
	assert_int_equal(qh_pki_identity(cert, &id), QH_ERR_AUTH);
	X509_free(cert);
	/* The profile itself passes. */
	cert = forge(f, "quarterhour", "technician", "alice");
	assert_int_equal(qh_pki_identity(cert, &id), 0);
	assert_int_equal(id.role, QH_ROLE_TECHNICIAN);
	X509_free(cert);
	assert_int_equal(qh_pki_identity(NULL, &id), QH_ERR_AUTH);
}

static void
test_pinned(void **state)
{
	struct fixture *f = *state;
	STACK_OF(X509) *chain = sk_X509_new_null();
	EVP_PKEY *key = NULL, *otherkey = NULL;
	X509 *leaf = NULL, *ipleaf = NULL, *other = NULL, *got = NULL;
	struct qh_identity id;
	char pin[65], upper[65], otherpin[65];
	size_t i;

	assert_int_equal(qh_pki_key_new(&key), 0);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_CONSOLE,
			     "console.test", NULL, 10, &leaf),
	    0);
	assert_int_equal(qh_pki_identity(leaf, &id), 0);
	assert_int_equal(id.role, QH_ROLE_CONSOLE);
	assert_string_equal(id.id, "console.test");
	assert_int_equal(qh_pki_fingerprint(f->ca, pin), 0);
	sk_X509_push(chain, leaf);
	sk_X509_push(chain, f->ca);

	assert_int_equal(qh_pki_verify_pinned(leaf, chain, pin, "console.test", &got), 0);
	assert_ptr_equal(got, f->ca);
	X509_free(got);
	got = NULL;
	for (i = 0; i < 64; i++)
		upper[i] = (char)(pin[i] >= 'a' && pin[i] <= 'f' ? pin[i] - 32 : pin[i]);
	upper[64] = '\0';
	assert_int_equal(qh_pki_verify_pinned(leaf, chain, upper, "console.test", &got),
	    0);
	X509_free(got);
	got = NULL;

	/* A bad pin, a wrong host, the CA posing as the leaf. */
	memcpy(otherpin, pin, sizeof(pin));
	otherpin[0] = otherpin[0] == '0' ? '1' : '0';
	assert_int_equal(qh_pki_verify_pinned(leaf, chain, otherpin, "console.test",
			     &got),
	    QH_ERR_AUTH);
	assert_int_equal(qh_pki_verify_pinned(leaf, chain, pin, "other.test", &got),
	    QH_ERR_AUTH);
	assert_int_equal(qh_pki_verify_pinned(f->ca, chain, pin, NULL, &got),
	    QH_ERR_AUTH);
	assert_int_equal(qh_pki_verify_pinned(leaf, chain, "xyz", "console.test", &got),
	    QH_ERR_ARG);
	assert_int_equal(qh_pki_verify_pinned(leaf, NULL, pin, "console.test", &got),
	    QH_ERR_AUTH);
	assert_null(got);

	/* Another CA in the chain matches its own pin but did not issue the leaf. */
	assert_int_equal(qh_pki_key_new(&otherkey), 0);
	assert_int_equal(qh_pki_ca_new(otherkey, "other", &other), 0);
	assert_int_equal(qh_pki_fingerprint(other, otherpin), 0);
	sk_X509_push(chain, other);
	assert_int_equal(qh_pki_verify_pinned(leaf, chain, otherpin, "console.test",
			     &got),
	    QH_ERR_AUTH);
	assert_null(got);

	/* An IP address name goes into subjectAltName as an IP. */
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key, QH_ROLE_CONSOLE, "127.0.0.1",
			     NULL, 10, &ipleaf),
	    0);
	assert_int_equal(qh_pki_verify_pinned(ipleaf, chain, pin, "127.0.0.1", &got), 0);
	X509_free(got);
	got = NULL;
	assert_int_equal(qh_pki_verify_pinned(ipleaf, chain, pin, "127.0.0.2", &got),
	    QH_ERR_AUTH);

	sk_X509_free(chain);
	X509_free(ipleaf);
	X509_free(other);
	X509_free(leaf);
	EVP_PKEY_free(otherkey);
	EVP_PKEY_free(key);
}

static void
test_names(void **state QH_UNUSED)
{
	char longid[80];

	assert_true(qh_id_valid("alice"));
	assert_true(qh_id_valid("a.b_c-d9"));
	assert_false(qh_id_valid(""));
	assert_false(qh_id_valid("-x"));
	assert_false(qh_id_valid(".x"));
	assert_false(qh_id_valid("a b"));
	assert_false(qh_id_valid("a/b"));
	assert_false(qh_id_valid("\xc3\xa4"));
	memset(longid, 'a', sizeof(longid));
	longid[64] = '\0';
	assert_true(qh_id_valid(longid));
	longid[64] = 'a';
	longid[65] = '\0';
	assert_false(qh_id_valid(longid));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_from_csr, setup, teardown),
		cmocka_unit_test(test_csr_garbage),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned, setup, teardown),
		cmocka_unit_test(test_names),
	};

	/* The refusals tested here log errors on stderr; that is expected. */
	qh_log_init("test_pki",
	    getenv("QH_TEST_VERBOSE") != NULL ? QH_LOG_DEBUG : QH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
