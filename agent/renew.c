/*
 * The agent renews its own certificate (certs/README.md). Once two thirds
 * of its life have passed, at a connection or later on a long one (a
 * timer), it makes a new key here and sends only its CSR over its own
 * mutually authenticated connection (REQUEST{cmd="renew", csr}); the
 * console answers REPLY{cert, ca} with a certificate for the same customer
 * and agent id. It is checked (our new key, signed by our CA, the same
 * identity) and stored with the key in agent.pem in one step, and the
 * next connection uses it: at once when nothing is going on, else once
 * the session has closed. The console retires the old certificate when it
 * first sees the new one.
 *
 * A certificate that has expired still opens a connection, which is for
 * renewing only: no HELLO, the renewal, then a new connection. The console
 * allows that for a year after the expiry (an attended PC that calls every
 * few months) and refuses with the reason after that.
 */
#include <limits.h>
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
#include "qh/text.h"
#include "run.h"

#define RENEW_CHECK_MAX_MS (86400 * 1000ULL) /* a long wait is re-checked daily */
#define RENEW_RETRY_MS	   (3600 * 1000ULL)  /* after a failed renewal */

struct renew {
	char path[PATH_MAX + 16];   /* agent.pem */
	uv_timer_t timer;	    /* when a renewal is due on a long connection */
	struct qh_chan *ch;	    /* the renewal in flight, or NULL */
	EVP_PKEY *key;		    /* its new key */
	struct qh_tls_ctx *old_ctx; /* the connection's context, until it closes */
	int tried;		    /* a renewal ran on this connection */
	int only;		    /* the certificate expired: this connection renews */
	int waiting;		    /* a new certificate waits for the next connection */
	int give_up;		    /* the expired certificate cannot be renewed: leave */
};

static void renew_start(struct agent *a);
static void on_renew_timer(uv_timer_t *t);

/* A renewal failed on a connection that goes on: another try in a while. */
static void
retry_later(struct agent *a)
{
	struct renew *r = a->renew;

	r->tried = 0;
	uv_timer_start(&r->timer, on_renew_timer, RENEW_RETRY_MS, 0);
}

/* The certificate in use, as the console will see it. */
static int
current_identity(struct agent *a, struct qh_identity *id)
{
	return qh_pki_identity(a->bundle.cert, id);
}

/*
 * On the loop turn after a channel callback (which must not see its
 * connection torn down): leaves when the expired certificate could not be
 * renewed, else takes the new certificate into use with a new connection.
 */
static void
on_switch(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct renew *r = a->renew;

	if (r->give_up) {
		r->give_up = 0;
		agent_stop(a, 1);
		return;
	}
	if (a->mux == NULL || a->stopping)
		return;
	qh_info("console %s:%d: reconnecting with the renewed certificate", a->host,
	    a->port);
	a->reconnect_now = 1;
	qh_mux_close(a->mux, 0, NULL);
}

/* Takes the new certificate into use, or leaves (give_up), on the next loop turn. */
static void
switch_now(struct agent *a)
{
	a->renew->waiting = 0;
	uv_timer_start(&a->renew->timer, on_switch, 0, 0);
}

/* Nothing the customer or a technician would lose to a reconnect. */
static int
idle(const struct agent *a)
{
	return !a->session_open && a->nconsents == 0 && task_count(&a->tasks) == 0;
}

/* 1 if cert is an agent certificate for key, from our CA, for the same PC. */
static int
renewal_valid(struct agent *a, X509 *cert, EVP_PKEY *key, struct qh_identity *nid)
{
	struct qh_identity old;
	int ok;

	ok = X509_check_private_key(cert, key) == 1 &&
	    X509_verify(cert, X509_get0_pubkey(a->bundle.ca)) == 1 &&
	    current_identity(a, &old) == 0 && qh_pki_identity(cert, nid) == 0 &&
	    nid->role == QH_ROLE_AGENT && strcmp(nid->id, old.id) == 0 &&
	    strcmp(nid->agent_id, old.agent_id) == 0;
	ERR_clear_error();
	return ok;
}

/* Stores the new certificate with its key and makes the next connection use it. */
static int
renew_store(struct agent *a, X509 *cert)
{
	struct renew *r = a->renew;
	struct qh_bundle nb;
	struct qh_identity nid;
	struct qh_tls_ctx *ctx = NULL;
	char until[32];
	int rc;

	if (!renewal_valid(a, cert, r->key, &nid)) {
		qh_warn("console %s:%d: the renewed certificate is not this PC's, for "
			"our new key, from our CA; not stored",
		    a->host, a->port);
		return QH_ERR_AUTH;
	}
	memset(&nb, 0, sizeof(nb));
	snprintf(nb.console, sizeof(nb.console), "%s", a->bundle.console);
	nb.cert = cert;
	nb.key = r->key;
	nb.ca = a->bundle.ca;
	if ((rc = qh_tls_ctx_client(&ctx, cert, r->key, a->bundle.ca)) != 0)
		return rc;
	if ((rc = qh_bundle_replace(r->path, &nb)) != 0) {
		qh_tls_ctx_free(ctx);
		qh_say(_("cannot store the renewed certificate in %s: %s"), r->path,
		    qh_strerror(rc));
		return rc;
	}
	/* The connection made with the old context keeps it until it closes. */
	r->old_ctx = a->ctx;
	a->ctx = ctx;
	X509_free(a->bundle.cert);
	EVP_PKEY_free(a->bundle.key);
	X509_up_ref(cert);
	a->bundle.cert = cert;
	a->bundle.key = r->key;
	r->key = NULL;
	qh_clock_format_utc(nid.not_after, until, sizeof(until));
	qh_info("certificate renewed: %s, expires %s", nid.serial, until);
	until[10] = '\0'; /* the date is enough for people */
	ui_line(_("This PC's certificate was renewed; it is valid until %s."), until);
	return 0;
}

static void
renew_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct agent *a = qh_chan_arg(ch);
	struct renew *r = a->renew;
	char *text = NULL;

	if (err == 0)
		return;
	r->ch = NULL; /* the mux frees it */
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	ui_sanitize(text);
	qh_warn("console %s:%d: renewal refused: %s", a->host, a->port,
	    text != NULL ? text : "no reason given");
	if (r->only) {
		qh_say(_("cannot renew this PC's certificate: %s"),
		    text != NULL ? text : _("the console refused"));
		free(text);
		r->give_up = 1; /* retrying cannot help */
		switch_now(a);
		return;
	}
	free(text);
	retry_later(a);
}

static void
renew_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct agent *a = qh_chan_arg(ch);
	struct renew *r = a->renew;
	const uint8_t *p;
	size_t len;
	X509 *cert = NULL;

	if (m->type != QH_MSG_REPLY || r->key == NULL)
		return;
	if (qh_msg_get(m, QH_K_CERT, &p, &len) != 0 ||
	    qh_pki_cert_parse((const char *)p, len, &cert) != 0 ||
	    renew_store(a, cert) != 0) {
		X509_free(cert);
		if (r->only) {
			qh_say(
			    _("cannot renew this PC's certificate: the console's answer "
			      "is unusable"));
			r->give_up = 1;
			switch_now(a);
		} else
			retry_later(a);
		return;
	}
	X509_free(cert);
	if (r->only || idle(a))
		switch_now(a);
	else
		r->waiting = 1;
}

static void
renew_chan_close(struct qh_chan *ch)
{
	struct agent *a = qh_chan_arg(ch);

	a->renew->ch = NULL;
}

static const struct qh_chan_ops renew_chan_ops = {
	.on_open_result = renew_open_result,
	.on_msg = renew_msg,
	.on_close = renew_chan_close,
};

/* Sends the CSR of a new key on a channel of its own. */
static void
renew_start(struct agent *a)
{
	struct renew *r = a->renew;
	struct qh_buf req;
	char *csr = NULL;

	if (a->mux == NULL || r->ch != NULL || r->tried)
		return;
	r->tried = 1;
	EVP_PKEY_free(r->key);
	r->key = NULL;
	qh_buf_init(&req, 16384);
	if (qh_pki_key_new(&r->key) != 0 || qh_pki_csr_new(r->key, &csr) != 0 ||
	    qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "renew") != 0 ||
	    qh_msg_put_str(&req, QH_K_CSR, csr) != 0 ||
	    (r->ch = qh_chan_open(a->mux, &req, 0, &renew_chan_ops, a)) == NULL)
		qh_warn("console %s:%d: cannot ask for a renewal", a->host, a->port);
	else
		qh_info("console %s:%d: renewing the certificate", a->host, a->port);
	qh_buf_release(&req);
	free(csr);
}

/* The renewal is due now, or the timer waits for it (at most a day at a time). */
static void
on_renew_timer(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct renew *r = a->renew;
	struct qh_identity id;
	int64_t now = qh_clock_now(), due;
	uint64_t ms;

	if (a->mux == NULL || a->stopping || current_identity(a, &id) != 0)
		return;
	if ((due = qh_pki_renew_at(&id)) <= now) {
		renew_start(a);
		return;
	}
	ms = (uint64_t)(due - now) * 1000;
	uv_timer_start(&r->timer, on_renew_timer,
	    ms < RENEW_CHECK_MAX_MS ? ms : RENEW_CHECK_MAX_MS, 0);
}

int
renew_init(struct agent *a, const char *path)
{
	struct renew *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return QH_ERR_NOMEM;
	if (snprintf(r->path, sizeof(r->path), "%s", path) >= (int)sizeof(r->path)) {
		free(r);
		return QH_ERR_TOO_LARGE;
	}
	uv_timer_init(a->loop, &r->timer);
	r->timer.data = a;
	a->renew = r;
	return 0;
}

int
renew_on_ready(struct agent *a)
{
	struct renew *r = a->renew;
	struct qh_identity id;
	char when[32];

	r->tried = 0;
	r->only = 0;
	if (current_identity(a, &id) != 0)
		return 0; /* the console will say what is wrong with it */
	if (id.not_after > qh_clock_now()) {
		on_renew_timer(&r->timer);
		return 0;
	}
	qh_clock_format_utc(id.not_after, when, sizeof(when));
	when[10] = '\0';
	ui_line(_("This PC's certificate expired on %s; renewing it..."), when);
	r->only = 1;
	renew_start(a);
	return 1;
}

void
renew_on_close(struct agent *a)
{
	struct renew *r = a->renew;

	if (r == NULL)
		return;
	if (!r->give_up)
		uv_timer_stop(&r->timer);
	r->ch = NULL;
	qh_tls_ctx_free(r->old_ctx);
	r->old_ctx = NULL;
}

void
renew_on_idle(struct agent *a)
{
	if (a->renew != NULL && a->renew->waiting && idle(a))
		switch_now(a);
}

/* The timer is closed: what renewal holds goes with it. */
static void
renew_freed(uv_handle_t *h)
{
	struct renew *r = h->data;

	EVP_PKEY_free(r->key);
	qh_tls_ctx_free(r->old_ctx);
	free(r);
}

void
renew_free(struct agent *a)
{
	struct renew *r = a->renew;

	if (r == NULL)
		return;
	a->renew = NULL;
	r->timer.data = r;
	uv_close((uv_handle_t *)&r->timer, renew_freed);
}
