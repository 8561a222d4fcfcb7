/*
 * The deployment's PKI with OpenSSL 3: P-256 keys, a self-signed CA, leaf
 * certificates whose subject the console builds itself (O=quarterhour,
 * OU=<role>, CN=<identity>, UID=<agent id> for agents), identities read
 * back from them, CSRs, and SHA-256 pins. The files they live in are
 * pem.c's; host names and addresses are addr.c's.
 *
 * A role can only come from the CA key: qh_pki_identity() accepts nothing
 * but the exact profile written by qh_pki_issue(). Key material is never
 * logged. certs/README.md documents the profile.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"

#define PKI_ORG	     "quarterhour"
#define PKI_CA_DAYS  3650
#define PKI_BACKDATE 3600	 /* notBefore this many seconds ago */
#define PKI_PEM_MAX  (64 * 1024) /* bound on one PEM object we parse */
#define PKI_CN_MAX   64		 /* ub-common-name, RFC 5280 */

static const char *const role_names[] = {
	[QH_ROLE_NONE] = "none",
	[QH_ROLE_AGENT] = "agent",
	[QH_ROLE_TECHNICIAN] = "technician",
	[QH_ROLE_ACCOUNTING] = "accounting",
	[QH_ROLE_CONSOLE] = "console",
};

const char *
qh_role_name(enum qh_role role)
{
	if ((unsigned)role >= sizeof(role_names) / sizeof(role_names[0]))
		return "none";
	return role_names[role];
}

enum qh_role
qh_role_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return QH_ROLE_NONE;
	for (i = QH_ROLE_AGENT; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum qh_role)i;
	return QH_ROLE_NONE;
}

int
qh_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= QH_ID_MAX)
			return 0;
		if (!isascii((unsigned char)s[i]) ||
		    (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' &&
			s[i] != '-'))
			return 0;
	}
	return 1;
}

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
static void
hex_encode(const unsigned char *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
qh_sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		/* Only fails when OpenSSL is broken; never hand out a usable pin. */
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "SHA-256");
		memset(out, 0, 65);
		return;
	}
	hex_encode(md, mdlen, out);
}

/* The SHA-256 of a SubjectPublicKeyInfo that an i2d call gave (len <= 0: it failed). */
static int
spki_sha256(unsigned char *der, int len, char out[65])
{
	if (len <= 0) {
		ERR_clear_error();
		return QH_ERR_CRYPTO;
	}
	qh_sha256_hex(der, (size_t)len, out);
	OPENSSL_free(der);
	return 0;
}

int
qh_pki_key_sha256(EVP_PKEY *key, char out[65])
{
	unsigned char *der = NULL;
	int len = key != NULL ? i2d_PUBKEY(key, &der) : 0;

	return spki_sha256(der, len, out);
}

/*
 * qh_pki_key_sha256 of the certificate's key, hashed from the
 * SubjectPublicKeyInfo as the certificate holds it: the same DER, without
 * OpenSSL 3's encoder lookup for the key (a tenth of a handshake's CPU).
 */
static int
cert_key_sha256(X509 *cert, char out[65])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

	return spki_sha256(der, len, out);
}

int
qh_pki_fingerprint(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (cert == NULL)
		return QH_ERR_ARG;
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "X509_digest");
		return QH_ERR_CRYPTO;
	}
	hex_encode(md, mdlen, out);
	return 0;
}

/*
 * Copies the single entry nid of name into buf as UTF-8; QH_ERR_NOT_FOUND if
 * absent, QH_ERR_FORMAT if repeated, too long or holding a NUL.
 */
static int
name_entry(const X509_NAME *name, int nid, char *buf, size_t buflen)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int i, len, r = QH_ERR_FORMAT;

	if ((i = X509_NAME_get_index_by_NID(name, nid, -1)) < 0)
		return QH_ERR_NOT_FOUND;
	if (X509_NAME_get_index_by_NID(name, nid, i) >= 0)
		return QH_ERR_FORMAT;
	e = X509_NAME_get_entry(name, i);
	if ((len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) < 0) {
		ERR_clear_error();
		return QH_ERR_FORMAT;
	}
	if ((size_t)len >= buflen || strlen((char *)utf8) != (size_t)len)
		goto out;
	memcpy(buf, utf8, (size_t)len + 1);
	r = 0;
out:
	OPENSSL_free(utf8);
	return r;
}

/* Unix seconds of an ASN1_TIME. */
static int
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t tt;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return QH_ERR_FORMAT;
	if ((tt = timegm(&tm)) == (time_t)-1)
		return QH_ERR_FORMAT;
	*out = (int64_t)tt;
	return 0;
}

/* Hex of a certificate's serial number into out[65]. */
static int
serial_hex(X509 *cert, char out[65])
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(cert);
	BIGNUM *bn = NULL;
	unsigned char bin[32];
	int len, r = QH_ERR_FORMAT;

	if (ai == NULL || (bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		goto out;
	if (BN_is_negative(bn) || BN_is_zero(bn) || (len = BN_num_bytes(bn)) > 32)
		goto out;
	if (BN_bn2bin(bn, bin) != len)
		goto out;
	hex_encode(bin, (size_t)len, out);
	r = 0;
out:
	BN_free(bn);
	ERR_clear_error();
	return r;
}

/* Accepts exactly the profile qh_pki_issue() writes; anything else is QH_ERR_AUTH. */
int
qh_pki_identity(X509 *cert, struct qh_identity *out)
{
	const X509_NAME *subj;
	char buf[256];
	struct qh_identity id;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&id, 0, sizeof(id));
	if (cert == NULL || (subj = X509_get_subject_name(cert)) == NULL)
		return QH_ERR_AUTH;
	if (name_entry(subj, NID_organizationName, buf, sizeof(buf)) != 0 ||
	    strcmp(buf, PKI_ORG) != 0)
		return QH_ERR_AUTH;
	if (name_entry(subj, NID_organizationalUnitName, buf, sizeof(buf)) != 0 ||
	    (id.role = qh_role_parse(buf)) == QH_ROLE_NONE)
		return QH_ERR_AUTH;
	if (name_entry(subj, NID_commonName, id.id, sizeof(id.id)) != 0)
		return QH_ERR_AUTH;
	if (id.role == QH_ROLE_CONSOLE ? !qh_pki_host_valid(id.id) : !qh_id_valid(id.id))
		return QH_ERR_AUTH;
	if (id.role == QH_ROLE_AGENT) {
		if (name_entry(subj, NID_userId, id.agent_id, sizeof(id.agent_id)) != 0 ||
		    !qh_id_valid(id.agent_id))
			return QH_ERR_AUTH;
	} else if (X509_NAME_get_index_by_NID(subj, NID_userId, -1) >= 0)
		return QH_ERR_AUTH;
	if (serial_hex(cert, id.serial) != 0)
		return QH_ERR_AUTH;
	if ((r = qh_pki_fingerprint(cert, id.fingerprint)) != 0 ||
	    (r = cert_key_sha256(cert, id.key_sha256)) != 0)
		return r;
	if (asn1_time_unix(X509_get0_notBefore(cert), &id.not_before) != 0 ||
	    asn1_time_unix(X509_get0_notAfter(cert), &id.not_after) != 0 ||
	    id.not_after < id.not_before)
		return QH_ERR_AUTH;
	*out = id;
	return 0;
}

int64_t
qh_pki_renew_at(const struct qh_identity *id)
{
	return id->not_before + (id->not_after - id->not_before) / 3 * 2;
}

int
qh_pki_key_new(EVP_PKEY **keyp)
{
	EVP_PKEY *key;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "P-256 key generation");
		return QH_ERR_CRYPTO;
	}
	*keyp = key;
	return 0;
}

/* Sets a random, positive, non-zero 128-bit serial number. */
static int
set_random_serial(X509 *cert)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int r = QH_ERR_CRYPTO;

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			goto out;
		BN_free(bn);
		if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(cert, ai) != 1)
		goto out;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "serial number");
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return r;
}

/* Sets version 3, a random serial and the validity: one hour back, days ahead. */
static int
set_basics(X509 *cert, int days)
{
	if (X509_set_version(cert, X509_VERSION_3) != 1 || set_random_serial(cert) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -PKI_BACKDATE) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) == NULL)
		return QH_ERR_CRYPTO;
	return 0;
}

/* Adds one extension from its OpenSSL configuration text (a constant). */
static int
add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return QH_ERR_CRYPTO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : QH_ERR_CRYPTO;
}

/* Adds subjectAltName with one DNS name or IP address. */
static int
add_san(X509 *cert, const char *host)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	int r = QH_ERR_CRYPTO;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	if (qh_addr_family(host) != 0) {
		if ((gen = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_IPADD, host, 0)) ==
		    NULL)
			goto out;
	} else {
		if ((gen = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, host, (int)strlen(host)) != 1)
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		ia5 = NULL;
	}
	if (sk_GENERAL_NAME_push(gens, gen) <= 0)
		goto out;
	gen = NULL;
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) !=
	    1)
		goto out;
	r = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return r;
}

/* Appends one UTF-8 entry to a name. */
static int
name_add(X509_NAME *name, int nid, const char *value)
{
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
		(const unsigned char *)value, -1, -1, 0) != 1)
		return QH_ERR_CRYPTO;
	return 0;
}

/* Builds the self-signed CA: O=quarterhour, CN="quarterhour CA <name>", no OU. */
int
qh_pki_ca_new(EVP_PKEY *key, const char *name, X509 **certp)
{
	X509 *cert = NULL;
	X509_NAME *subj = NULL;
	X509V3_CTX ctx;
	char cn[PKI_CN_MAX + 1];
	int r = QH_ERR_CRYPTO;

	if (key == NULL || name == NULL || name[0] == '\0')
		return QH_ERR_ARG;
	/* The CN is informational; keep it inside ub-common-name. */
	snprintf(cn, sizeof(cn), "quarterhour CA %s", name);
	if ((cert = X509_new()) == NULL || (subj = X509_NAME_new()) == NULL)
		goto out;
	if (set_basics(cert, PKI_CA_DAYS) != 0 ||
	    name_add(subj, NID_organizationName, PKI_ORG) != 0 ||
	    name_add(subj, NID_commonName, cn) != 0 ||
	    X509_set_subject_name(cert, subj) != 1 ||
	    X509_set_issuer_name(cert, subj) != 1 || X509_set_pubkey(cert, key) != 1)
		goto out;
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
	    add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_ext(cert, &ctx, NID_subject_key_identifier, "hash") != 0)
		goto out;
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		goto out;
	*certp = cert;
	cert = NULL;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "CA certificate");
	X509_NAME_free(subj);
	X509_free(cert);
	return r;
}

/* Builds the subject from role and id alone: nothing a requester sent goes in. */
int
qh_pki_issue(X509 *ca, EVP_PKEY *cakey, EVP_PKEY *pubkey, enum qh_role role,
    const char *id, const char *agent_id, int days, X509 **certp)
{
	X509 *cert = NULL;
	X509_NAME *subj = NULL;
	X509V3_CTX ctx;
	int r = QH_ERR_ARG;

	if (ca == NULL || cakey == NULL || pubkey == NULL || id == NULL || days <= 0)
		return QH_ERR_ARG;
	switch (role) {
	case QH_ROLE_CONSOLE:
		if (!qh_pki_host_valid(id))
			return QH_ERR_ARG;
		break;
	case QH_ROLE_AGENT:
		if (!qh_id_valid(id) || agent_id == NULL || !qh_id_valid(agent_id))
			return QH_ERR_ARG;
		break;
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		if (!qh_id_valid(id))
			return QH_ERR_ARG;
		break;
	default:
		return QH_ERR_ARG;
	}
	if (X509_check_private_key(ca, cakey) != 1) {
		ERR_clear_error();
		qh_error("the CA key does not belong to the CA certificate");
		return QH_ERR_ARG;
	}

	r = QH_ERR_CRYPTO;
	if ((cert = X509_new()) == NULL || (subj = X509_NAME_new()) == NULL)
		goto out;
	if (set_basics(cert, days) != 0 ||
	    name_add(subj, NID_organizationName, PKI_ORG) != 0 ||
	    name_add(subj, NID_organizationalUnitName, qh_role_name(role)) != 0 ||
	    name_add(subj, NID_commonName, id) != 0 ||
	    (role == QH_ROLE_AGENT && name_add(subj, NID_userId, agent_id) != 0) ||
	    X509_set_subject_name(cert, subj) != 1 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(ca)) != 1 ||
	    X509_set_pubkey(cert, pubkey) != 1)
		goto out;
	X509V3_set_ctx(&ctx, ca, cert, NULL, NULL, 0);
	if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(cert, &ctx, NID_ext_key_usage,
		role == QH_ROLE_CONSOLE ? "serverAuth" : "clientAuth") != 0 ||
	    add_ext(cert, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always") != 0)
		goto out;
	if (role == QH_ROLE_CONSOLE && add_san(cert, id) != 0)
		goto out;
	if (X509_sign(cert, cakey, EVP_sha256()) <= 0)
		goto out;
	*certp = cert;
	cert = NULL;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "issuing a certificate");
	X509_NAME_free(subj);
	X509_free(cert);
	return r;
}

/* Copies a memory BIO's contents into a new NUL-terminated string. */
static int
bio_to_string(BIO *bio, char **sp)
{
	char *data, *s;
	long len;

	if ((len = BIO_get_mem_data(bio, &data)) <= 0)
		return QH_ERR_CRYPTO;
	if ((s = malloc((size_t)len + 1)) == NULL)
		return QH_ERR_NOMEM;
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	*sp = s;
	return 0;
}

int
qh_pki_csr_new(EVP_PKEY *key, char **pemp)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	BIO *bio = NULL;
	int r = QH_ERR_CRYPTO;

	if (key == NULL)
		return QH_ERR_ARG;
	if ((req = X509_REQ_new()) == NULL || (subj = X509_NAME_new()) == NULL)
		goto out;
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    name_add(subj, NID_commonName, "quarterhour-agent") != 0 ||
	    X509_REQ_set_subject_name(req, subj) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	r = bio_to_string(bio, pemp);
out:
	if (r == QH_ERR_CRYPTO)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "CSR");
	BIO_free(bio);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return r;
}

/* 1 if key is an EC key on P-256, the only kind we certify. */
static int
key_is_p256(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		sizeof(group), &glen) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Takes only the public key from a CSR, after its self-signature and curve check out. */
int
qh_pki_csr_parse(const char *pem, size_t len, EVP_PKEY **pubkeyp)
{
	X509_REQ *req = NULL;
	EVP_PKEY *key;
	BIO *bio = NULL;
	int r = QH_ERR_FORMAT;

	if (pem == NULL || len == 0)
		return QH_ERR_FORMAT;
	if (len > PKI_PEM_MAX)
		return QH_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		r = QH_ERR_NOMEM;
		goto out;
	}
	if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	if ((key = X509_REQ_get0_pubkey(req)) == NULL)
		goto out;
	if (X509_REQ_verify(req, key) != 1) {
		r = QH_ERR_AUTH;
		goto out;
	}
	if (!key_is_p256(key)) {
		r = QH_ERR_REFUSED;
		goto out;
	}
	if (EVP_PKEY_up_ref(key) != 1) {
		r = QH_ERR_CRYPTO;
		goto out;
	}
	*pubkeyp = key;
	r = 0;
out:
	/* The input came from a peer: its errors are not ours to log loudly. */
	ERR_clear_error();
	X509_REQ_free(req);
	BIO_free(bio);
	return r;
}

/* Normalises a hex pin to lowercase; QH_ERR_FORMAT unless it is 64 hex digits. */
static int
pin_normalise(const char *pin, char out[65])
{
	size_t i;

	if (pin == NULL || strlen(pin) != 64)
		return QH_ERR_FORMAT;
	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)pin[i]))
			return QH_ERR_FORMAT;
		out[i] = (char)tolower((unsigned char)pin[i]);
	}
	out[64] = '\0';
	return 0;
}

/* Trusts exactly the pinned certificate from the chain and verifies the leaf against it.
 */
int
qh_pki_verify_pinned(X509 *leaf, STACK_OF(X509) * chain, const char *pin,
    const char *host, X509 **cap)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	X509 *ca = NULL, *c;
	char want[65], fp[65], leaffp[65];
	int i, r = QH_ERR_AUTH;

	if (leaf == NULL || cap == NULL)
		return QH_ERR_ARG;
	if (pin_normalise(pin, want) != 0) {
		qh_warn("the pin is not a SHA-256 fingerprint");
		return QH_ERR_ARG;
	}
	if (qh_pki_fingerprint(leaf, leaffp) != 0)
		return QH_ERR_CRYPTO;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		c = sk_X509_value(chain, i);
		if (qh_pki_fingerprint(c, fp) == 0 && strcmp(fp, want) == 0) {
			ca = c;
			break;
		}
	}
	if (ca == NULL) {
		qh_warn("no certificate in the peer's chain matches the pin");
		return QH_ERR_AUTH;
	}
	/* The pinned CA must have issued the leaf, not be the leaf. */
	if (strcmp(leaffp, want) == 0) {
		qh_warn("the peer presented the pinned CA as its own certificate");
		return QH_ERR_AUTH;
	}

	if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, ca) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "verify setup");
		r = QH_ERR_CRYPTO;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	if (host != NULL) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
		if (qh_addr_family(host) != 0
			? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
			: X509_VERIFY_PARAM_set1_host(param, host, 0) != 1) {
			qh_log_ssl_errors(QH_LOG_ERROR, __func__, "verify host");
			r = QH_ERR_ARG;
			goto out;
		}
	}
	if (X509_verify_cert(ctx) != 1) {
		qh_warn("the peer's certificate does not verify against the "
			"pinned CA: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		ERR_clear_error();
		r = QH_ERR_AUTH;
		goto out;
	}
	if (X509_up_ref(ca) != 1) {
		r = QH_ERR_CRYPTO;
		goto out;
	}
	*cap = ca;
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

int
qh_pki_cert_pem(X509 *cert, char **pemp)
{
	BIO *bio = NULL;
	int r = QH_ERR_CRYPTO;

	if (cert == NULL)
		return QH_ERR_ARG;
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(bio, cert) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "PEM");
		goto out;
	}
	r = bio_to_string(bio, pemp);
out:
	BIO_free(bio);
	return r;
}

int
qh_pki_cert_parse(const char *pem, size_t len, X509 **certp)
{
	BIO *bio = NULL;
	X509 *cert;
	int r = QH_ERR_FORMAT;

	if (pem == NULL || len == 0)
		return QH_ERR_FORMAT;
	if (len > PKI_PEM_MAX)
		return QH_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return QH_ERR_NOMEM;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		*certp = cert;
		r = 0;
	}
	ERR_clear_error();
	BIO_free(bio);
	return r;
}
