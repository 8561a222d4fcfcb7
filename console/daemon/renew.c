/*
 * Certificate renewal over a peer's own connection (certs/README.md). An
 * agent renews its certificate when two thirds of its life have passed, a
 * technician or accountant when `qh-console tech renew` asks: the peer
 * sends a CSR for a key it has just made, and the console issues a
 * certificate for exactly the identity the peer authenticated as (role,
 * CN, agent id) with the lifetime console.conf gives the role. Only the
 * CSR's public key is used, after its self-signature and curve are
 * checked, and it must differ from the key of the certificate in use. The
 * certificate in use stays valid until the new one first authenticates a
 * connection (peer.c, db_cert_used); how many certificates one identity
 * may be issued a day is bounded (DB_RENEWALS_PER_DAY).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "store/store.h"
#include "renew.h"
#include "reply.h"

/* Refuses the renewal: the channel gets the reason, the log a line. */
static void
refuse(struct qh_chan *ch, const char *code, const char *text)
{
	qh_warn("peer %s: renewal refused: %s", qh_mux_name(qh_chan_mux(ch)), text);
	qh_chan_refuse(ch, code, text);
}

void
renew_request(struct server *srv, const struct qh_identity *id, struct qh_chan *ch,
    const struct qh_msg *m)
{
	static const struct qh_chan_ops reply_ops = { 0 };
	struct qh_identity nid;
	EVP_PKEY *pub = NULL, *cakey = NULL;
	X509 *ca = NULL, *cert = NULL;
	char *csr = NULL, *cert_pem = NULL, *ca_pem = NULL;
	char keyhash[65], expires[32];
	int r;

	if (qh_msg_get_str(m, QH_K_CSR, &csr) != 0) {
		refuse(ch, "renew", "a renewal needs a certificate request");
		goto out;
	}
	if (qh_pki_csr_parse(csr, strlen(csr), &pub) != 0 ||
	    qh_pki_key_sha256(pub, keyhash) != 0) {
		refuse(ch, "csr", "the certificate request is invalid");
		goto out;
	}
	if (strcmp(keyhash, id->key_sha256) == 0) {
		refuse(ch, "csr", "a renewal needs a new key, not the one in use");
		goto out;
	}
	if ((r = state_load_ca(srv->state_dir, &ca, &cakey)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, pub, id->role, id->id,
		 id->role == QH_ROLE_AGENT ? id->agent_id : NULL,
		 (int)srv->conf.cert_days, &cert)) != 0 ||
	    (r = qh_pki_identity(cert, &nid)) != 0 ||
	    (r = qh_pki_cert_pem(cert, &cert_pem)) != 0 ||
	    (r = qh_pki_cert_pem(ca, &ca_pem)) != 0) {
		qh_error("peer %s: renewal failed: %s", qh_mux_name(qh_chan_mux(ch)),
		    qh_strerror(r));
		qh_chan_refuse(ch, "internal",
		    "the console could not issue a certificate; see its log");
		goto out;
	}
	if ((r = db_cert_record_renewal(srv->db, cert)) != 0) {
		if (r == QH_ERR_LIMIT)
			refuse(ch, "limit",
			    "too many renewals in the last 24 hours; try again "
			    "tomorrow");
		else if (r == QH_ERR_BUSY)
			refuse(ch, "busy", "the console is busy; try again in a minute");
		else
			refuse(ch, "internal",
			    "the console could not record the certificate; see its "
			    "log");
		goto out;
	}
	qh_clock_format_utc(nid.not_after, expires, sizeof(expires));
	qh_info("peer %s: renewed: certificate %s, expires %s; %s retires when it is "
		"used",
	    qh_mux_name(qh_chan_mux(ch)), nid.serial, expires, id->serial);
	qh_chan_accept(ch, 0, &reply_ops, NULL);
	reply_cert(ch, cert_pem, ca_pem);
out:
	free(csr);
	free(cert_pem);
	free(ca_pem);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(pub);
}
