/*
 * Unit tests for common/pem.c: key and certificate files (their modes, no
 * overwriting, keys others may read refused, missing files), and bundles
 * written and read back whole, with their first line and their mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/qh-test-pem.XXXXXX");
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

static void
test_key_files(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *key = NULL, *back = NULL;
	X509 *cert = NULL;
	char path[128], certpath[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/key.pem", f->dir);
	assert_int_equal(qh_pki_key_new(&key), 0);
	assert_int_equal(qh_pki_write_key(path, key), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(qh_pki_write_key(path, key), QH_ERR_EXISTS);
	assert_int_equal(qh_pki_load_key(path, &back), 0);
	assert_int_equal(EVP_PKEY_eq(key, back), 1);
	EVP_PKEY_free(back);
	back = NULL;

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(qh_pki_load_key(path, &back), QH_ERR_PERM);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(qh_pki_load_key(path, &back), QH_ERR_PERM);
	assert_null(back);
	snprintf(path, sizeof(path), "%s/missing.pem", f->dir);
	assert_int_equal(qh_pki_load_key(path, &back), QH_ERR_NOT_FOUND);

	snprintf(certpath, sizeof(certpath), "%s/ca.pem", f->dir);
	assert_int_equal(qh_pki_write_cert(certpath, f->ca), 0);
	assert_int_equal(stat(certpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(qh_pki_load_cert(certpath, &cert), 0);
	assert_int_equal(X509_cmp(cert, f->ca), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void
test_bundle(void **state)
{
	struct fixture *f = *state;
	struct qh_bundle b, back;
	char path[128], line[128], fp1[65], fp2[65];
	struct stat st;
	FILE *fp;

	memset(&b, 0, sizeof(b));
	snprintf(b.console, sizeof(b.console), "console.test:7443");
	assert_int_equal(qh_pki_key_new(&b.key), 0);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, b.key, QH_ROLE_TECHNICIAN, "alice",
			     NULL, 10, &b.cert),
	    0);
	b.ca = f->ca;
	snprintf(path, sizeof(path), "%s/alice.pem", f->dir);
	assert_int_equal(qh_bundle_write(path, &b), 0);
	assert_int_equal(qh_bundle_write(path, &b), QH_ERR_EXISTS);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, "# console: console.test:7443\n");

	assert_int_equal(qh_bundle_load(path, &back), 0);
	assert_string_equal(back.console, "console.test:7443");
	assert_int_equal(EVP_PKEY_eq(back.key, b.key), 1);
	assert_int_equal(qh_pki_fingerprint(back.cert, fp1), 0);
	assert_int_equal(qh_pki_fingerprint(b.cert, fp2), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(X509_cmp(back.ca, f->ca), 0);
	qh_bundle_free(&back);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(qh_bundle_load(path, &back), QH_ERR_PERM);
	assert_null(back.cert);

	X509_free(b.cert);
	EVP_PKEY_free(b.key);
}

/* A renewal replaces a bundle, a key or a certificate in one step, mode kept right. */
static void
test_replace(void **state)
{
	struct fixture *f = *state;
	struct qh_bundle b, back;
	EVP_PKEY *key2 = NULL;
	X509 *cert2 = NULL, *cert = NULL;
	char path[128];
	struct stat st;

	memset(&b, 0, sizeof(b));
	snprintf(b.console, sizeof(b.console), "console.test:7443");
	assert_int_equal(qh_pki_key_new(&b.key), 0);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, b.key, QH_ROLE_AGENT, "acme",
			     "pc-1", 10, &b.cert),
	    0);
	b.ca = f->ca;
	snprintf(path, sizeof(path), "%s/agent.pem", f->dir);
	/* Nothing there yet: replacing writes it. */
	assert_int_equal(qh_bundle_replace(path, &b), 0);
	assert_int_equal(qh_pki_key_new(&key2), 0);
	assert_int_equal(qh_pki_issue(f->ca, f->cakey, key2, QH_ROLE_AGENT, "acme",
			     "pc-1", 10, &cert2),
	    0);
	/* A key that is not the certificate's is refused, the file left alone. */
	X509_free(b.cert);
	b.cert = cert2;
	assert_int_equal(qh_bundle_replace(path, &b), QH_ERR_ARG);
	assert_int_equal(chmod(path, 0644), 0);
	EVP_PKEY_free(b.key);
	b.key = key2;
	assert_int_equal(qh_bundle_replace(path, &b), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(qh_bundle_load(path, &back), 0);
	assert_int_equal(EVP_PKEY_eq(back.key, key2), 1);
	assert_int_equal(X509_cmp(back.cert, cert2), 0);
	qh_bundle_free(&back);

	snprintf(path, sizeof(path), "%s/console-key.pem", f->dir);
	assert_int_equal(qh_pki_write_key(path, b.key), 0);
	assert_int_equal(qh_pki_replace_key(path, f->cakey), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/console.pem", f->dir);
	assert_int_equal(qh_pki_replace_cert(path, f->ca), 0);
	assert_int_equal(qh_pki_replace_cert(path, cert2), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(qh_pki_load_cert(path, &cert), 0);
	assert_int_equal(X509_cmp(cert, cert2), 0);
	X509_free(cert);
	X509_free(cert2);
	EVP_PKEY_free(key2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
	};

	/* The refusals tested here log errors on stderr; that is expected. */
	qh_log_init("test_pem",
	    getenv("QH_TEST_VERBOSE") != NULL ? QH_LOG_DEBUG : QH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
