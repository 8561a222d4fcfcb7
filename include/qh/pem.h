/*
 * The PEM files of the deployment's PKI: a key or a certificate per file,
 * and bundles. A file holding a key is created with mode 0600 and O_EXCL
 * (QH_ERR_EXISTS if it is there), synced before the writer returns 0 and
 * removed when writing fails; on load it is refused (QH_ERR_PERM, logged)
 * when group or others may read or write it. Failures are logged with the
 * path; key material never is.
 */
#ifndef QH_PEM_H
#define QH_PEM_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Writes key (PKCS#8, unencrypted: the mode protects it) to a new 0600 file. */
int qh_pki_write_key(const char *path, EVP_PKEY *key);

/* Writes cert to a new 0644 file. */
int qh_pki_write_cert(const char *path, X509 *cert);

/* Loads a PEM private key, refusing a file group or others may read or write. */
int qh_pki_load_key(const char *path, EVP_PKEY **keyp);

/* Loads the first PEM certificate of a regular file. */
int qh_pki_load_cert(const char *path, X509 **certp);

/*
 * A bundle is one PEM file (mode 0600): first line "# console: HOST:PORT",
 * then the certificate, its key and the CA certificate. Technician bundles
 * use it; the agent keeps the same layout in its config directory.
 */
struct qh_bundle {
	char console[300]; /* HOST:PORT */
	X509 *cert;
	EVP_PKEY *key;
	X509 *ca;
};

/*
 * Writes b to a new 0600 file. QH_ERR_ARG unless every part is there, the
 * console address is HOST:PORT and the key belongs to the certificate.
 */
int qh_bundle_write(const char *path, const struct qh_bundle *b);

/*
 * Writes b over path in one step (a temporary file beside it, synced and
 * renamed over it, mode 0600): a reader finds the old bundle or the new
 * one, never part of either. QH_ERR_ARG as qh_bundle_write.
 */
int qh_bundle_replace(const char *path, const struct qh_bundle *b);

/* The same for a key (0600) and a certificate (0644) in a file of their own. */
int qh_pki_replace_key(const char *path, EVP_PKEY *key);
int qh_pki_replace_cert(const char *path, X509 *cert);

/*
 * Loads a bundle (at most 64 KiB), refusing one readable by group or
 * others, one whose first line is not a HOST:PORT, and one whose key does
 * not belong to its certificate. On failure b holds nothing to free.
 */
int qh_bundle_load(const char *path, struct qh_bundle *b);

/* Frees what b holds and clears it; NULL is fine. */
void qh_bundle_free(struct qh_bundle *b);

#endif
