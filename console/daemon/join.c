/*
 * Enrolment on the console's side: the one message a peer without a
 * certificate may send (DESIGN §3). A JOIN carries the secret of a join
 * token and a CSR; a valid, unused, unexpired token buys one agent
 * certificate, issued for the token's customer with a new agent id, and
 * the token is spent in the same transaction that records the agent.
 * Addresses that keep failing are answered ever more slowly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "qh/clock.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "store/store.h"
#include "join.h"

#define LIMIT_SLOTS	64
#define LIMIT_FREE	3 /* failures answered at once */
#define LIMIT_MAX_MS	30000
#define LIMIT_FORGET_MS (10 * 60 * 1000)

/* Recent failures per address: a small table, the oldest slot reused. */
static struct {
	char ip[64];
	int fails;
	uint64_t last_ms;
} limits[LIMIT_SLOTS];

/* A JOIN held back because its address failed too often. */
struct delayed {
	uv_timer_t timer;
	struct server *srv;
	struct qh_mux *mux; /* NULL once the peer is gone */
	char *token, *csr, *host;
	LIST_ENTRY(delayed) link;
};

static LIST_HEAD(, delayed) delays = LIST_HEAD_INITIALIZER(delays);

static void
addr_ip(const char *addr, char *ip, size_t len)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon != NULL ? (size_t)(colon - addr) : strlen(addr);

	if (n >= len)
		n = len - 1;
	memcpy(ip, addr, n);
	ip[n] = '\0';
}

static int
limit_slot(const char *ip, int create)
{
	uint64_t now = qh_clock_mono_ms(), oldest = UINT64_MAX;
	int i, victim = 0;

	for (i = 0; i < LIMIT_SLOTS; i++) {
		if (limits[i].ip[0] != '\0' && now - limits[i].last_ms > LIMIT_FORGET_MS)
			limits[i].ip[0] = '\0';
		if (limits[i].ip[0] != '\0' && strcmp(limits[i].ip, ip) == 0)
			return i;
		if (limits[i].last_ms < oldest) {
			oldest = limits[i].last_ms;
			victim = i;
		}
	}
	if (!create)
		return -1;
	snprintf(limits[victim].ip, sizeof(limits[victim].ip), "%s", ip);
	limits[victim].fails = 0;
	limits[victim].last_ms = now;
	return victim;
}

/* How long to hold a JOIN from this address: doubling after LIMIT_FREE failures. */
static uint64_t
limit_delay(const char *ip)
{
	int i = limit_slot(ip, 0), n;
	uint64_t ms = 1000;

	if (i < 0 || limits[i].fails < LIMIT_FREE)
		return 0;
	for (n = LIMIT_FREE; n < limits[i].fails && ms < LIMIT_MAX_MS; n++)
		ms *= 2;
	return ms < LIMIT_MAX_MS ? ms : LIMIT_MAX_MS;
}

static void
limit_fail(const char *ip)
{
	int i = limit_slot(ip, 1);

	limits[i].fails++;
	limits[i].last_ms = qh_clock_mono_ms();
}

static int
refuse(struct qh_mux *mux, const char *ip, const char *code, const char *text)
{
	limit_fail(ip);
	qh_warn("peer %s: join refused: %s", qh_mux_name(mux), text);
	(void)qh_mux_send_error(mux, code, text);
	qh_mux_close(mux, QH_ERR_REFUSED, NULL);
	return 0;
}

static int
join_now(struct server *srv, struct qh_mux *mux, const char *secret, const char *csr,
    const char *host)
{
	char ip[64], hash[65], customer[QH_ID_MAX + 1], name[DAEMON_NAME_MAX + 1];
	char agent_id[QH_ID_MAX + 1];
	const char *why;
	unsigned char rnd[6];
	EVP_PKEY *pub = NULL, *cakey = NULL;
	X509 *ca = NULL, *cert = NULL;
	char *cert_pem = NULL, *ca_pem = NULL;
	struct qh_buf b;
	size_t i;
	int r;

	addr_ip(qh_mux_peer_addr(mux), ip, sizeof(ip));
	if (host != NULL && !qh_display_clean(host, strlen(host)))
		return refuse(mux, ip, "host",
		    "the host name has control characters; rename the PC");
	if (strlen(secret) != QH_TOKEN_SECRET_LEN)
		return refuse(mux, ip, "token", "malformed join token");
	qh_sha256_hex(secret, strlen(secret), hash);
	if ((why = db_token_check(srv->db, hash, customer, sizeof(customer))) != NULL)
		return refuse(mux, ip, "token", why);
	if (qh_pki_csr_parse(csr, strlen(csr), &pub) != 0)
		return refuse(mux, ip, "csr", "the certificate request is invalid");
	if (!db_customer_name(srv->db, customer, name, sizeof(name))) {
		EVP_PKEY_free(pub);
		return refuse(mux, ip, "customer",
		    "the token's customer no longer exists");
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = QH_ERR_CRYPTO;
		goto out;
	}
	snprintf(agent_id, sizeof(agent_id), "a-");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(agent_id + 2 + 2 * i, 3, "%02x", rnd[i]);
	if ((r = state_load_ca(srv->state_dir, &ca, &cakey)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, pub, QH_ROLE_AGENT, customer, agent_id,
		 (int)srv->conf.cert_days, &cert)) != 0 ||
	    (r = qh_pki_cert_pem(cert, &cert_pem)) != 0 ||
	    (r = qh_pki_cert_pem(ca, &ca_pem)) != 0)
		goto out;
	if ((r = db_join_record(srv->db, hash, customer, agent_id, host ? host : "",
		 cert)) != 0) {
		if (r == QH_ERR_REFUSED) {
			r = 0;
			refuse(mux, ip, "token",
			    "this join token was already used; "
			    "ask for a new one");
		}
		goto out;
	}
	qh_buf_init(&b, 65536);
	if ((r = qh_msg_begin(&b, QH_MSG_JOIN_OK)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CERT, cert_pem)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CA, ca_pem)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CUSTOMER, customer)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_NAME, name)) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	qh_info("peer %s: enrolled agent %s for customer %s (host %s)", qh_mux_name(mux),
	    agent_id, customer, host ? host : "?");
	qh_mux_close(mux, 0, NULL);
out:
	if (r != 0) {
		qh_error("peer %s: join failed: %s", qh_mux_name(mux), qh_strerror(r));
		(void)qh_mux_send_error(mux, "internal",
		    "the console could not "
		    "complete the enrolment; see its log");
		qh_mux_close(mux, r, NULL);
	}
	free(cert_pem);
	free(ca_pem);
	X509_free(cert);
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
		(void)join_now(d->srv, d->mux, d->token, d->csr, d->host);
		d->mux = NULL;
	}
	uv_close((uv_handle_t *)t, delayed_freed);
}

int
join_handle(struct server *srv, struct qh_mux *mux, const struct qh_msg *m)
{
	struct delayed *d;
	char ip[64], *token = NULL, *csr = NULL, *host = NULL;
	uint64_t ms;
	int r;

	if (qh_msg_get_str(m, QH_K_TOKEN, &token) != 0 ||
	    qh_msg_get_str(m, QH_K_CSR, &csr) != 0) {
		free(token);
		return QH_ERR_NOMEM;
	}
	(void)qh_msg_get_str(m, QH_K_HOST, &host);
	addr_ip(qh_mux_peer_addr(mux), ip, sizeof(ip));
	if ((ms = limit_delay(ip)) == 0) {
		r = join_now(srv, mux, token, csr, host);
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
