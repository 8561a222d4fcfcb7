/*
 * Enrolment on the console's side: the one message a peer without a
 * certificate may send (DESIGN §3). A JOIN carries the secret of a join
 * token and a CSR; a valid, unspent, unexpired token buys one agent
 * certificate, issued for the token's customer with a new agent id. The
 * token is bound to the CSR's public key in the transaction that records
 * the agent, so a retry with the same key (the answer was lost) gets the
 * same certificate again and any other key is refused; it is spent when
 * the agent first connects with that certificate (peer.c). Addresses that
 * keep failing are answered ever more slowly (limit.c), never as slowly as
 * the agent's own timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "qh/clock.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/text.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "store/store.h"
#include "join.h"
#include "limit.h"

/* A JOIN held back because its address failed too often. */
struct delayed {
	uv_timer_t timer;
	struct server *srv;
	struct qh_mux *mux; /* NULL once the peer is gone */
	char *token, *csr, *host;
	enum qh_lang lang;
	LIST_ENTRY(delayed) link;
};

static LIST_HEAD(, delayed) delays = LIST_HEAD_INITIALIZER(delays);

/* Refuses the join: the log in English, the customer reads text (a msgid) in lang. */
static int
refuse(struct qh_mux *mux, uint64_t ip, const char *code, const char *text,
    enum qh_lang lang)
{
	limit_fail(ip);
	qh_warn("peer %s: join refused: %s", qh_mux_name(mux), text);
	(void)qh_mux_send_error(mux, code, qh_tr(lang, text));
	qh_mux_close(mux, QH_ERR_REFUSED, NULL);
	return 0;
}

/*
 * Issues a certificate for pub under a new agent id (into agent_id) and
 * records it with the token bound to pub, in one transaction.
 */
static int
issue(struct server *srv, X509 *ca, EVP_PKEY *cakey, const char *hash,
    const struct join_token *t, const char *keyhash, EVP_PKEY *pub, const char *host,
    char *agent_id, size_t idlen, char **cert_pem)
{
	unsigned char rnd[6];
	X509 *cert = NULL;
	size_t i;
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return QH_ERR_CRYPTO;
	snprintf(agent_id, idlen, "a-");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(agent_id + 2 + 2 * i, 3, "%02x", rnd[i]);
	if ((r = qh_pki_issue(ca, cakey, pub, QH_ROLE_AGENT, t->customer, agent_id,
		 (int)srv->conf.cert_days, &cert)) == 0 &&
	    (r = qh_pki_cert_pem(cert, cert_pem)) == 0)
		r = db_join_record(srv->db, hash, t->customer, agent_id, host ? host : "",
		    keyhash, cert, *cert_pem);
	X509_free(cert);
	return r;
}

static int
join_now(struct server *srv, struct qh_mux *mux, const char *secret, const char *csr,
    const char *host, enum qh_lang lang)
{
	char hash[65], keyhash[65], name[DAEMON_NAME_MAX + 1];
	char agent_id[QH_ID_MAX + 1], code[QH_SHORT_LEN + 1];
	const char *why;
	struct join_token t;
	EVP_PKEY *pub = NULL, *cakey = NULL;
	X509 *ca = NULL;
	char *cert_pem = NULL, *ca_pem = NULL;
	uint64_t ip = limit_key_text(qh_mux_peer_addr(mux));
	struct qh_buf b;
	int r, again;

	memset(&t, 0, sizeof(t));
	if (host != NULL && !qh_display_clean(host, strlen(host)))
		return refuse(mux, ip, "host",
		    N_("the host name has control characters; rename the PC"), lang);
	if (strlen(secret) == QH_SHORT_LEN) {
		/* A short code: checked (and a wrong one counted) by its row. */
		if (qh_short_parse(secret, code, sizeof(code)) != 0 ||
		    strcmp(code, secret) != 0)
			return refuse(mux, ip, "token", N_("malformed join code"), lang);
		if ((why = db_short_check(srv->db, code, hash)) != NULL)
			return refuse(mux, ip, "token", why, lang);
	} else if (strlen(secret) != QH_TOKEN_SECRET_LEN)
		return refuse(mux, ip, "token", N_("malformed join token"), lang);
	else
		qh_sha256_hex(secret, strlen(secret), hash);
	if (qh_pki_csr_parse(csr, strlen(csr), &pub) != 0 ||
	    qh_pki_key_sha256(pub, keyhash) != 0) {
		EVP_PKEY_free(pub);
		return refuse(mux, ip, "csr", N_("the certificate request is invalid"),
		    lang);
	}
	if ((why = db_token_check(srv->db, hash, keyhash, &t)) != NULL) {
		EVP_PKEY_free(pub);
		return refuse(mux, ip, "token", why, lang);
	}
	if (!db_customer_name(srv->db, t.customer, name, sizeof(name))) {
		r = refuse(mux, ip, "customer",
		    N_("the token's customer no longer exists"), lang);
		goto done;
	}
	if ((r = state_load_ca(srv->state_dir, &ca, &cakey)) != 0 ||
	    (r = qh_pki_cert_pem(ca, &ca_pem)) != 0)
		goto out;
	if ((again = t.cert_pem != NULL)) {
		/* A retry: the answer to the first request with this key was lost. */
		snprintf(agent_id, sizeof(agent_id), "%s", t.agent_id);
		cert_pem = t.cert_pem;
		t.cert_pem = NULL;
	} else if ((r = issue(srv, ca, cakey, hash, &t, keyhash, pub, host, agent_id,
			sizeof(agent_id), &cert_pem)) == QH_ERR_REFUSED) {
		r = refuse(mux, ip, "token",
		    N_("this join token was already used; ask for a new one"), lang);
		goto done;
	} else if (r != 0)
		goto out;
	qh_buf_init(&b, 65536);
	if ((r = qh_msg_begin(&b, QH_MSG_JOIN_OK)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CERT, cert_pem)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CA, ca_pem)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CUSTOMER, t.customer)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_NAME, name)) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	if (again)
		qh_info("peer %s: sent agent %s of customer %s its certificate again "
			"(a retry with the same key)",
		    qh_mux_name(mux), agent_id, t.customer);
	else
		qh_info("peer %s: enrolled agent %s for customer %s (host %s)",
		    qh_mux_name(mux), agent_id, t.customer, host ? host : "?");
	qh_mux_close(mux, 0, NULL);
out:
	if (r != 0) {
		qh_error("peer %s: join failed: %s", qh_mux_name(mux), qh_strerror(r));
		(void)qh_mux_send_error(mux, "internal",
		    qh_tr(lang,
			"the support server could not complete the "
			"enrolment; please call your support vendor"));
		qh_mux_close(mux, r, NULL);
	}
done:
	free(t.cert_pem);
	free(cert_pem);
	free(ca_pem);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(pub);
	return 0;
}

static void
delayed_freed(uv_handle_t *h)
{
	struct delayed *d = h->data;

	LIST_REMOVE(d, link);
	free(d->token);
	free(d->csr);
	free(d->host);
	free(d);
}

static void
on_delay(uv_timer_t *t)
{
	struct delayed *d = t->data;

	if (d->mux != NULL) {
		(void)join_now(d->srv, d->mux, d->token, d->csr, d->host, d->lang);
		d->mux = NULL;
	}
	uv_close((uv_handle_t *)t, delayed_freed);
}

int
join_handle(struct server *srv, struct qh_mux *mux, const struct qh_msg *m)
{
	struct delayed *d;
	char *token = NULL, *csr = NULL, *host = NULL, *langname = NULL;
	enum qh_lang lang = QH_LANG_EN;
	uint64_t ms;
	int r;

	if (qh_msg_get_str(m, QH_K_TOKEN, &token) != 0 ||
	    qh_msg_get_str(m, QH_K_CSR, &csr) != 0) {
		free(token);
		return QH_ERR_NOMEM;
	}
	(void)qh_msg_get_str(m, QH_K_HOST, &host);
	/* The customer's language for a refusal; another or none: English. */
	if (qh_msg_get_str(m, QH_K_LANG, &langname) == 0 &&
	    (strcmp(langname, "de") == 0 || strcmp(langname, "en") == 0))
		(void)qh_lang_parse(langname, &lang);
	free(langname);
	if ((ms = limit_fail_delay_ms(limit_key_text(qh_mux_peer_addr(mux)))) == 0) {
		r = join_now(srv, mux, token, csr, host, lang);
		free(token);
		free(csr);
		free(host);
		return r;
	}
	qh_warn("peer %s: repeated failed joins; answering in %llu ms", qh_mux_name(mux),
	    (unsigned long long)ms);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		free(token);
		free(csr);
		free(host);
		return QH_ERR_NOMEM;
	}
	d->srv = srv;
	d->mux = mux;
	d->token = token;
	d->csr = csr;
	d->host = host;
	d->lang = lang;
	uv_timer_init(srv->loop, &d->timer);
	d->timer.data = d;
	uv_timer_start(&d->timer, on_delay, ms, 0);
	LIST_INSERT_HEAD(&delays, d, link);
	return 0;
}

void
join_peer_gone(struct qh_mux *mux)
{
	struct delayed *d;

	LIST_FOREACH (d, &delays, link)
		if (d->mux == mux)
			d->mux = NULL; /* the timer still fires and frees it */
}
