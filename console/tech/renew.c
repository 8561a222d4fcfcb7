/*
 * qh-console tech renew --out FILE, run by a technician or accountant with
 * their bundle: a new key is made here and only its CSR goes to the
 * console, over the bundle's own connection (REQUEST{cmd="renew", csr}).
 * The console answers REPLY{cert, ca} with a certificate for the same
 * login and role; it is checked (our key, signed by the bundle's CA, the
 * same identity) and written with the key, the CA and the console's
 * address into FILE: a new file, or the bundle in use, replaced in one
 * step. The old certificate stops working once the new one is used.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "client.h"
#include "tech.h"

struct renew {
	const char *out;
	int replace;	 /* out is the bundle in use */
	EVP_PKEY *key;	 /* the new key, made here */
	X509 *cert, *ca; /* from the console's REPLY */
};

static void
renew_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct renew *rn = tech_arg(t);
	const uint8_t *p;
	size_t len;

	if (m->type != QH_MSG_REPLY || rn->cert != NULL)
		return;
	if (qh_msg_get(m, QH_K_CERT, &p, &len) != 0 ||
	    qh_pki_cert_parse((const char *)p, len, &rn->cert) != 0 ||
	    qh_msg_get(m, QH_K_CA, &p, &len) != 0 ||
	    qh_pki_cert_parse((const char *)p, len, &rn->ca) != 0)
		qh_debug("the console's reply holds no readable certificate");
}

/* 1 if the certificate is for our key, from the bundle's CA, for the same person. */
static int
renewal_valid(struct tech *t, struct renew *rn, struct qh_identity *nid)
{
	const struct qh_bundle *b = tech_bundle(t);
	struct qh_identity old;
	char fp[65], cafp[65];
	int ok;

	ok = rn->cert != NULL && rn->ca != NULL &&
	    X509_check_private_key(rn->cert, rn->key) == 1 &&
	    qh_pki_fingerprint(rn->ca, fp) == 0 && qh_pki_fingerprint(b->ca, cafp) == 0 &&
	    strcmp(fp, cafp) == 0 &&
	    X509_verify(rn->cert, X509_get0_pubkey(b->ca)) == 1 &&
	    qh_pki_identity(b->cert, &old) == 0 && qh_pki_identity(rn->cert, nid) == 0 &&
	    nid->role == old.role && strcmp(nid->id, old.id) == 0;
	ERR_clear_error();
	return ok;
}

/* The channel ended: check the certificate and write the bundle. */
static int
renew_on_end(struct tech *t)
{
	struct renew *rn = tech_arg(t);
	struct qh_bundle nb;
	struct qh_identity nid;
	char expires[32];
	int r;

	if (rn->cert == NULL) {
		tech_say(t, "the console sent no certificate");
		return QH_EXIT_FAIL;
	}
	if (!renewal_valid(t, rn, &nid)) {
		tech_say(t,
		    "the console's certificate is not for this bundle's login and "
		    "key, or not from its CA; nothing was written");
		return QH_EXIT_FAIL;
	}
	memset(&nb, 0, sizeof(nb));
	snprintf(nb.console, sizeof(nb.console), "%s", tech_bundle(t)->console);
	nb.cert = rn->cert;
	nb.key = rn->key;
	nb.ca = tech_bundle(t)->ca;
	r = rn->replace ? qh_bundle_replace(rn->out, &nb) : qh_bundle_write(rn->out, &nb);
	if (r != 0) {
		tech_say(t, "cannot write %s: %s", rn->out, qh_strerror(r));
		return QH_EXIT_FAIL;
	}
	qh_clock_format_utc(nid.not_after, expires, sizeof(expires));
	printf("%s %s renewed: certificate %s, expires %s\n", qh_role_name(nid.role),
	    nid.id, nid.serial, expires);
	printf("bundle %s; the old certificate stops working once this one is used\n",
	    rn->out);
	return QH_EXIT_OK;
}

static const struct tech_ops renew_ops = {
	.on_msg = renew_on_msg,
	.on_end = renew_on_end,
};

int
tech_renew_self(struct qh_cli *c)
{
	struct renew rn;
	struct tech *t = NULL;
	struct stat so, sb;
	struct qh_buf req;
	char *csr = NULL;
	int status;

	memset(&rn, 0, sizeof(rn));
	qh_buf_init(&req, 16384);
	if ((rn.out = qh_cli_opt(c, "out")) == NULL || *rn.out == '\0')
		return qh_cli_usage(c, "--out FILE is required");
	if ((status = tech_new(c, &renew_ops, &rn, &t)) != 0)
		goto out;
	status = QH_EXIT_FAIL;
	if (stat(rn.out, &so) == 0) {
		/* The bundle in use may be replaced; any other file stays. */
		if (stat(tech_bundle_path(t), &sb) != 0 || so.st_dev != sb.st_dev ||
		    so.st_ino != sb.st_ino) {
			tech_say(t, "%s exists; refusing to overwrite it", rn.out);
			goto out;
		}
		rn.replace = 1;
	}
	if (qh_pki_key_new(&rn.key) != 0 || qh_pki_csr_new(rn.key, &csr) != 0) {
		tech_say(t, "cannot make a key and its certificate request");
		goto out;
	}
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "renew") != 0 ||
	    qh_msg_put_str(&req, QH_K_CSR, csr) != 0) {
		tech_say(t, "cannot build the request");
		goto out;
	}
	status = tech_run(t, &req);
out:
	tech_free(t);
	qh_buf_release(&req);
	free(csr);
	X509_free(rn.cert);
	X509_free(rn.ca);
	EVP_PKEY_free(rn.key);
	return status;
}
