/*
 * The deployment's PKI: a CA, certificates that carry an identity and a
 * role, certificate requests and SHA-256 pins. The files they live in are
 * qh/pem.h's; host names and addresses (the console's too) qh/addr.h's.
 *
 * Certificate profile (see certs/README.md): subject O=quarterhour,
 * OU=<role>, CN=<identity>; agent certificates add UID=<agent id>. The
 * console builds the subject itself (a CSR's subject is ignored), so a
 * role can only come from the CA key. Every certificate is issued with
 * notBefore one hour in the past.
 */
#ifndef QH_PKI_H
#define QH_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum qh_role {
	QH_ROLE_NONE = 0,   /* no certificate, or none we accept */
	QH_ROLE_AGENT,	    /* a customer's PC */
	QH_ROLE_TECHNICIAN, /* works on sessions */
	QH_ROLE_ACCOUNTING, /* reads the ledger */
	QH_ROLE_CONSOLE,    /* the console's server certificate */
};

#define QH_ID_MAX 64 /* longest customer id, login or agent id */

/* The verified identity a certificate carries. */
struct qh_identity {
	enum qh_role role;
	char id[QH_ID_MAX + 1];	      /* customer id, login, or console name */
	char agent_id[QH_ID_MAX + 1]; /* agents only */
	char serial[65];	      /* certificate serial, hex */
	char fingerprint[65];	      /* SHA-256 of the DER, hex */
	char key_sha256[65];	      /* SHA-256 of its SubjectPublicKeyInfo, hex */
	int64_t not_before;	      /* start of validity, Unix seconds */
	int64_t not_after;	      /* expiry, Unix seconds */
};

const char *qh_role_name(enum qh_role role);
/* Returns the role named s, or QH_ROLE_NONE. */
enum qh_role qh_role_parse(const char *s);

/* Returns 1 if s is a valid identity: 1..64 of [A-Za-z0-9._-], not starting with '-' or
 * '.'. */
int qh_id_valid(const char *s);

/* Reads role and identity from a certificate; QH_ERR_AUTH if it has no valid role. */
int qh_pki_identity(X509 *cert, struct qh_identity *out);

/*
 * When a certificate is due for renewal: once two thirds of its life
 * (notBefore to notAfter) have passed. Unix seconds.
 */
int64_t qh_pki_renew_at(const struct qh_identity *id);

/* New P-256 key. */
int qh_pki_key_new(EVP_PKEY **keyp);

/* New self-signed CA certificate for key, named "quarterhour CA <name>", valid 10 years.
 */
int qh_pki_ca_new(EVP_PKEY *key, const char *name, X509 **certp);

/*
 * Issues a certificate for pubkey signed by the CA. For QH_ROLE_CONSOLE, id
 * is the host name or IP address and goes into subjectAltName too. agent_id
 * is required for QH_ROLE_AGENT and ignored otherwise.
 */
int qh_pki_issue(X509 *ca, EVP_PKEY *cakey, EVP_PKEY *pubkey, enum qh_role role,
    const char *id, const char *agent_id, int days, X509 **certp);

/* A CSR for key (subject CN=quarterhour-agent); PEM text owned by the caller. */
int qh_pki_csr_new(EVP_PKEY *key, char **pemp);

/* Parses a PEM CSR and checks its self-signature; returns its public key. */
int qh_pki_csr_parse(const char *pem, size_t len, EVP_PKEY **pubkeyp);

/* Hex SHA-256 of the certificate's DER encoding (the pin of DESIGN §3). */
int qh_pki_fingerprint(X509 *cert, char out[65]);

/* Hex SHA-256 of a public key's DER SubjectPublicKeyInfo (what a key is known by). */
int qh_pki_key_sha256(EVP_PKEY *key, char out[65]);

/* Hex SHA-256 of len bytes. */
void qh_sha256_hex(const void *p, size_t len, char out[65]);

/*
 * Checks that leaf is issued by a certificate in chain whose fingerprint is
 * pin, and that leaf is valid for host. On success *cap holds a reference
 * to the pinned CA.
 */
int qh_pki_verify_pinned(X509 *leaf, STACK_OF(X509) * chain, const char *pin,
    const char *host, X509 **cap);

/* PEM text of a certificate; owned by the caller. */
int qh_pki_cert_pem(X509 *cert, char **pemp);
/* Parses one PEM certificate from len bytes. */
int qh_pki_cert_parse(const char *pem, size_t len, X509 **certp);

#endif
