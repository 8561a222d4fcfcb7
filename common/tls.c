/*
 * TLS 1.3 over libuv through a BIO of our own.
 *
 * Ciphertext from the socket is read into rx_cipher, which the BIO's read
 * side serves to OpenSSL; ciphertext OpenSSL produces is appended by the
 * BIO's write side to one of two output buffers, and that buffer is handed
 * to uv_write as it is. While one buffer is being written the other
 * collects, so everything produced during one loop iteration leaves in one
 * write. Plaintext to send collects in tx_plain and is encrypted in one
 * SSL_write from a prepare handle, just before the loop polls.
 */
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/tls.h"

#define RX_CIPHER_MAX	(256 * 1024)
#define RX_READ_CHUNK	(64 * 1024)
#define RX_PLAIN_MAX	(256 * 1024)
#define TX_PLAIN_MAX	(QH_TLS_OUT_MAX)
#define TX_CIPHER_MAX	(QH_TLS_OUT_MAX + 64 * 1024)
#define CLOSE_LINGER_MS 2000

struct qh_tls_ctx {
	SSL_CTX *ssl;
	int server;
	int allow_expired; /* qh_tls_ctx_allow_expired */
};

enum tls_state {
	TLS_NEW,       /* handle created, not connected yet */
	TLS_HANDSHAKE, /* handshake in progress */
	TLS_READY,     /* peer verified, application data flows */
	TLS_CLOSING,   /* flushing close_notify, handles not closed yet */
	TLS_DEAD,      /* handles closing; only close callbacks remain */
};

struct qh_tls_conn {
	uv_tcp_t own;  /* accepted into; replaced by a dialled handle */
	uv_tcp_t *tcp; /* the connection's socket: &own, or the dialled one */
	uv_prepare_t flusher;
	uv_timer_t timer;
	uv_write_t wreq[2];
	uv_shutdown_t sreq;
	int open_handles;

	enum tls_state state;
	enum qh_tls_mode mode;
	SSL *ssl;
	struct qh_tls_ctx *ctx;
	const struct qh_tls_ops *ops;
	void *arg;

	struct qh_buf rx_cipher;    /* ciphertext read, not yet decrypted */
	size_t rx_reserved;	    /* bytes lent to libuv by alloc_cb */
	struct qh_buf rx_plain;	    /* decrypted, not yet consumed */
	struct qh_buf tx_plain;	    /* plaintext waiting for SSL_write */
	struct qh_buf tx_cipher[2]; /* ciphertext: one collecting, one in flight */
	int tx_cur;		    /* index of the collecting buffer */
	int tx_busy[2];		    /* buffer i is owned by a uv_write */
	int above_high;		    /* on_drain is owed (queued reached high water) */
	int flush_scheduled;

	uint64_t last_rx_ms, idle_ms, dead_ms;
	uint64_t last_idle_ms; /* when on_idle last ran */
	int close_err;

	struct qh_dial *dial; /* while qh_tls_dial runs */
	char *dial_why;	      /* the caller's buffer for its failure */
	size_t dial_whylen;

	char host[256];
	char pin[65];
	char addr[64];
	struct qh_identity peer;
	struct qh_tls_stats stats;
};

static BIO_METHOD *bio_method;

static void tls_fail(struct qh_tls_conn *conn, int err, const char *why);
static void start_write(struct qh_tls_conn *conn);
static void note_queued(struct qh_tls_conn *conn);
static void start_keepalive(struct qh_tls_conn *conn);

/* The BIO: OpenSSL reads ciphertext from rx_cipher and writes into tx_cipher. */

static int
bio_write(BIO *b, const char *data, int len)
{
	struct qh_tls_conn *conn = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (qh_buf_put(&conn->tx_cipher[conn->tx_cur], data, (size_t)len) != 0)
		return -1; /* over the hard bound: the connection fails */
	/*
	 * Records add headers and tags, so plaintext under the high-water mark
	 * can become ciphertext above it: noted here, where every ciphertext
	 * byte enters the queue, so that on_drain follows whenever
	 * qh_tls_writable() said no (writers wait for it).
	 */
	note_queued(conn);
	return len;
}

static int
bio_read(BIO *b, char *out, int len)
{
	struct qh_tls_conn *conn = BIO_get_data(b);
	size_t n = qh_buf_len(&conn->rx_cipher);

	BIO_clear_retry_flags(b);
	if (n == 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (n > (size_t)len)
		n = (size_t)len;
	(void)qh_buf_get(&conn->rx_cipher, out, n);
	return (int)n;
}

static long
bio_ctrl(BIO *b QH_UNUSED, int cmd, long num QH_UNUSED, void *ptr QH_UNUSED)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
bio_setup(void)
{
	if (bio_method != NULL)
		return 0;
	bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "qh-uv");
	if (bio_method == NULL || !BIO_meth_set_write(bio_method, bio_write) ||
	    !BIO_meth_set_read(bio_method, bio_read) ||
	    !BIO_meth_set_ctrl(bio_method, bio_ctrl) ||
	    !BIO_meth_set_create(bio_method, bio_create))
		return QH_ERR_TLS;
	return 0;
}

/* Contexts. */

static int
ctx_common(SSL_CTX *ssl)
{
	if (!SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION))
		return QH_ERR_TLS;
	/* AES-128-GCM first: it is what the CPUs here accelerate best. */
	if (!SSL_CTX_set_ciphersuites(ssl,
		"TLS_AES_128_GCM_SHA256:"
		"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"))
		return QH_ERR_TLS;
	SSL_CTX_set_options(ssl,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	return 0;
}

int
qh_tls_ctx_server(struct qh_tls_ctx **ctxp, X509 *cert, EVP_PKEY *key, X509 *ca)
{
	struct qh_tls_ctx *ctx = NULL;
	int r = QH_ERR_TLS;

	*ctxp = NULL;
	if ((r = bio_setup()) != 0)
		goto out;
	r = QH_ERR_NOMEM;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		goto out;
	ctx->server = 1;
	r = QH_ERR_TLS;
	if ((ctx->ssl = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	if ((r = ctx_common(ctx->ssl)) != 0)
		goto out;
	r = QH_ERR_TLS;
	if (!SSL_CTX_use_certificate(ctx->ssl, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx->ssl, key) ||
	    !SSL_CTX_check_private_key(ctx->ssl) ||
	    !SSL_CTX_add1_chain_cert(ctx->ssl, ca) ||
	    !X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->ssl), ca) ||
	    !SSL_CTX_add_client_CA(ctx->ssl, ca))
		goto out;
	/* A certificate is asked for, not required: joining agents have none. */
	SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, NULL);
	SSL_CTX_set_verify_depth(ctx->ssl, 2);
	SSL_CTX_set_num_tickets(ctx->ssl, 0);
	*ctxp = ctx;
	ctx = NULL;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "server context");
	qh_tls_ctx_free(ctx);
	return r;
}

/* A client's certificate that is only past its notAfter still verifies. */
static int
verify_allow_expired(int ok, X509_STORE_CTX *x)
{
	if (!ok && X509_STORE_CTX_get_error(x) == X509_V_ERR_CERT_HAS_EXPIRED &&
	    X509_STORE_CTX_get_error_depth(x) == 0)
		return 1; /* SSL_get_verify_result keeps saying so */
	return ok;
}

void
qh_tls_ctx_allow_expired(struct qh_tls_ctx *ctx)
{
	assert(ctx->server);
	ctx->allow_expired = 1;
	SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
	    verify_allow_expired);
}

int
qh_tls_ctx_server_cert(struct qh_tls_ctx *ctx, X509 *cert, EVP_PKEY *key, X509 *ca)
{
	STACK_OF(X509) *chain = NULL;
	int r = QH_ERR_TLS;

	if (X509_check_private_key(cert, key) != 1)
		goto out;
	if ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, ca))
		goto out;
	/* One call: cert, key and chain change together or not at all. */
	if (SSL_CTX_use_cert_and_key(ctx->ssl, cert, key, chain, 1) != 1)
		goto out;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "server certificate");
	sk_X509_free(chain); /* the certificates were not ours to free */
	return r;
}

int
qh_tls_ctx_client(struct qh_tls_ctx **ctxp, X509 *cert, EVP_PKEY *key, X509 *ca)
{
	struct qh_tls_ctx *ctx = NULL;
	int r;

	*ctxp = NULL;
	if ((r = bio_setup()) != 0)
		goto out;
	r = QH_ERR_NOMEM;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		goto out;
	r = QH_ERR_TLS;
	if ((ctx->ssl = SSL_CTX_new(TLS_client_method())) == NULL)
		goto out;
	if ((r = ctx_common(ctx->ssl)) != 0)
		goto out;
	r = QH_ERR_TLS;
	if (cert != NULL &&
	    (!SSL_CTX_use_certificate(ctx->ssl, cert) ||
		!SSL_CTX_use_PrivateKey(ctx->ssl, key) ||
		!SSL_CTX_check_private_key(ctx->ssl)))
		goto out;
	if (ca != NULL) {
		if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->ssl), ca))
			goto out;
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_verify_depth(ctx->ssl, 2);
	*ctxp = ctx;
	ctx = NULL;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "client context");
	qh_tls_ctx_free(ctx);
	return r;
}

void
qh_tls_ctx_free(struct qh_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

/* Connection lifetime. */

static void
on_handle_closed(uv_handle_t *h)
{
	struct qh_tls_conn *conn = h->data;

	if (h != (uv_handle_t *)&conn->own && h == (uv_handle_t *)conn->tcp)
		free(h); /* dialled: allocated by qh_dial */
	if (--conn->open_handles > 0)
		return;
	if (conn->ops->on_close != NULL)
		conn->ops->on_close(conn, conn->close_err);
	SSL_free(conn->ssl);
	qh_buf_release(&conn->rx_cipher);
	qh_buf_release(&conn->rx_plain);
	qh_buf_release(&conn->tx_plain);
	qh_buf_release(&conn->tx_cipher[0]);
	qh_buf_release(&conn->tx_cipher[1]);
	free(conn);
}

static void
close_handles(struct qh_tls_conn *conn)
{
	if (conn->state == TLS_DEAD)
		return;
	conn->state = TLS_DEAD;
	qh_dial_cancel(conn->dial);
	conn->dial = NULL;
	uv_close((uv_handle_t *)conn->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&conn->flusher, on_handle_closed);
	uv_close((uv_handle_t *)&conn->timer, on_handle_closed);
}

struct qh_tls_conn *
qh_tls_new(uv_loop_t *loop, struct qh_tls_ctx *ctx, enum qh_tls_mode mode,
    const char *host, const char *pin, const struct qh_tls_ops *ops, void *arg)
{
	struct qh_tls_conn *conn;
	BIO *bio = NULL;

	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return NULL;
	conn->ctx = ctx;
	conn->mode = mode;
	conn->ops = ops;
	conn->arg = arg;
	conn->tx_cur = 0;
	qh_buf_init(&conn->rx_cipher, RX_CIPHER_MAX);
	qh_buf_init(&conn->rx_plain, RX_PLAIN_MAX);
	qh_buf_init(&conn->tx_plain, TX_PLAIN_MAX);
	qh_buf_init(&conn->tx_cipher[0], TX_CIPHER_MAX);
	qh_buf_init(&conn->tx_cipher[1], TX_CIPHER_MAX);
	snprintf(conn->host, sizeof(conn->host), "%s", host ? host : "");
	snprintf(conn->pin, sizeof(conn->pin), "%s", pin ? pin : "");
	snprintf(conn->addr, sizeof(conn->addr), "?");

	if ((conn->ssl = SSL_new(ctx->ssl)) == NULL ||
	    (bio = BIO_new(bio_method)) == NULL) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "SSL_new");
		BIO_free(bio);
		SSL_free(conn->ssl);
		free(conn);
		return NULL;
	}
	BIO_set_data(bio, conn);
	SSL_set_bio(conn->ssl, bio, bio); /* one reference, used both ways */
	if (mode == QH_TLS_SERVER)
		SSL_set_accept_state(conn->ssl);
	else
		SSL_set_connect_state(conn->ssl);

	uv_tcp_init(loop, &conn->own);
	conn->tcp = &conn->own;
	uv_prepare_init(loop, &conn->flusher);
	uv_timer_init(loop, &conn->timer);
	conn->own.data = conn->flusher.data = conn->timer.data = conn;
	conn->open_handles = 3;
	conn->state = TLS_NEW;
	return conn;
}

uv_tcp_t *
qh_tls_tcp(struct qh_tls_conn *conn)
{
	return conn->tcp;
}

void *
qh_tls_arg(struct qh_tls_conn *conn)
{
	return conn->arg;
}

const char *
qh_tls_peer_addr(const struct qh_tls_conn *conn)
{
	return conn->addr;
}

const struct qh_identity *
qh_tls_peer(const struct qh_tls_conn *conn)
{
	return &conn->peer;
}

struct qh_buf *
qh_tls_outbuf(struct qh_tls_conn *conn)
{
	return &conn->tx_plain;
}

size_t
qh_tls_queued(const struct qh_tls_conn *conn)
{
	return qh_buf_len(&conn->tx_plain) + qh_buf_len(&conn->tx_cipher[0]) +
	    qh_buf_len(&conn->tx_cipher[1]);
}

int
qh_tls_writable(struct qh_tls_conn *conn)
{
	if (conn->state > TLS_READY)
		return 0;
	if (qh_tls_queued(conn) < QH_TLS_HIGH_WATER)
		return 1;
	/*
	 * Whoever hears "no" waits for on_drain, so it is owed now, whatever
	 * made the queue grow (a kick sees only the plaintext it appends).
	 */
	conn->above_high = 1;
	return 0;
}

void
qh_tls_stats(const struct qh_tls_conn *conn, struct qh_tls_stats *st)
{
	*st = conn->stats;
}

static void
note_queued(struct qh_tls_conn *conn)
{
	size_t q = qh_tls_queued(conn);

	if (q > conn->stats.queued_max)
		conn->stats.queued_max = q;
	if (q >= QH_TLS_HIGH_WATER)
		conn->above_high = 1;
}

/* Output. */

static void
on_write(uv_write_t *req, int status)
{
	struct qh_tls_conn *conn = req->data;
	int i = req == &conn->wreq[0] ? 0 : 1;

	qh_buf_reset(&conn->tx_cipher[i]);
	conn->tx_busy[i] = 0;
	if (conn->state >= TLS_CLOSING)
		return;
	if (status < 0) {
		tls_fail(conn, qh_err_from_uv(status), uv_strerror(status));
		return;
	}
	start_write(conn);
	if (conn->above_high && qh_tls_queued(conn) < QH_TLS_LOW_WATER) {
		conn->above_high = 0;
		if (conn->ops->on_drain != NULL && conn->state == TLS_READY)
			conn->ops->on_drain(conn);
	}
}

/* Hands the collecting ciphertext buffer to libuv unless a write is in flight. */
static void
start_write(struct qh_tls_conn *conn)
{
	int i = conn->tx_cur, r;
	uv_buf_t b;

	if (conn->state == TLS_DEAD || conn->tx_busy[i ^ 1] ||
	    qh_buf_len(&conn->tx_cipher[i]) == 0)
		return;
	b = uv_buf_init((char *)qh_buf_ptr(&conn->tx_cipher[i]),
	    (unsigned int)qh_buf_len(&conn->tx_cipher[i]));
	conn->wreq[i].data = conn;
	conn->stats.bytes_out += b.len;
	if ((r = uv_write(&conn->wreq[i], (uv_stream_t *)conn->tcp, &b, 1, on_write)) !=
	    0) {
		qh_buf_reset(&conn->tx_cipher[i]);
		tls_fail(conn, qh_err_from_uv(r), uv_strerror(r));
		return;
	}
	conn->tx_busy[i] = 1;
	conn->tx_cur = i ^ 1;
}

/*
 * Encrypts all queued plaintext into the collecting buffer. The records'
 * overhead (22 bytes in 16 KiB) can lift the queue over the high-water
 * mark that the plaintext stayed under.
 */
static int
encrypt_pending(struct qh_tls_conn *conn)
{
	size_t written;

	while (qh_buf_len(&conn->tx_plain) > 0) {
		if (SSL_write_ex(conn->ssl, qh_buf_ptr(&conn->tx_plain),
			qh_buf_len(&conn->tx_plain), &written) != 1) {
			qh_log_ssl_errors(QH_LOG_WARN, __func__, conn->addr);
			return QH_ERR_TLS;
		}
		(void)qh_buf_consume(&conn->tx_plain, written);
	}
	return 0;
}

static void
on_flush(uv_prepare_t *h)
{
	struct qh_tls_conn *conn = h->data;
	int r;

	uv_prepare_stop(&conn->flusher);
	conn->flush_scheduled = 0;
	if (conn->state != TLS_READY)
		return;
	if ((r = encrypt_pending(conn)) != 0) {
		tls_fail(conn, r, "encryption failed");
		return;
	}
	note_queued(conn);
	start_write(conn);
}

void
qh_tls_kick(struct qh_tls_conn *conn)
{
	note_queued(conn);
	if (conn->flush_scheduled || conn->state != TLS_READY)
		return;
	conn->flush_scheduled = 1;
	uv_prepare_start(&conn->flusher, on_flush);
}

/* Closing. */

static void
on_shutdown(uv_shutdown_t *req, int status QH_UNUSED)
{
	close_handles(req->data);
}

static void
on_linger_timeout(uv_timer_t *t)
{
	close_handles(t->data);
}

void
qh_tls_close(struct qh_tls_conn *conn, int err)
{
	int i;

	if (conn->state >= TLS_CLOSING)
		return;
	conn->close_err = err;
	if (conn->state == TLS_NEW) {
		close_handles(conn);
		return;
	}
	if (conn->state == TLS_READY) {
		/* Last words (an error message, say) and close_notify. */
		(void)encrypt_pending(conn);
		(void)SSL_shutdown(conn->ssl);
		ERR_clear_error();
	}
	conn->state = TLS_CLOSING;
	uv_read_stop((uv_stream_t *)conn->tcp);
	/* Both buffers may hold data now; libuv queues the writes in order. */
	for (i = 0; i < 2; i++) {
		int k = conn->tx_cur ^ 1 ^ i; /* the older buffer first */
		uv_buf_t b;

		if (conn->tx_busy[k] || qh_buf_len(&conn->tx_cipher[k]) == 0)
			continue;
		b = uv_buf_init((char *)qh_buf_ptr(&conn->tx_cipher[k]),
		    (unsigned int)qh_buf_len(&conn->tx_cipher[k]));
		conn->wreq[k].data = conn;
		if (uv_write(&conn->wreq[k], (uv_stream_t *)conn->tcp, &b, 1, on_write) ==
		    0)
			conn->tx_busy[k] = 1;
	}
	conn->sreq.data = conn;
	if (uv_shutdown(&conn->sreq, (uv_stream_t *)conn->tcp, on_shutdown) != 0) {
		close_handles(conn);
		return;
	}
	uv_timer_stop(&conn->timer);
	uv_timer_start(&conn->timer, on_linger_timeout, CLOSE_LINGER_MS, 0);
}

/* Logs why the connection fails and closes it. */
static void
tls_fail(struct qh_tls_conn *conn, int err, const char *why)
{
	if (conn->state >= TLS_CLOSING)
		return;
	if (conn->state == TLS_READY && conn->peer.role != QH_ROLE_NONE)
		qh_info("peer %s (%s %s): closing: %s", conn->addr,
		    qh_role_name(conn->peer.role), conn->peer.id, why);
	else
		qh_info("peer %s: closing: %s", conn->addr, why);
	qh_tls_close(conn, err);
}

/* Input. */

static void
ssl_fail(struct qh_tls_conn *conn, const char *stage)
{
	char why[512];
	unsigned long e = ERR_peek_last_error();
	long vr = SSL_get_verify_result(conn->ssl);

	if (vr != X509_V_OK)
		snprintf(why, sizeof(why), "%s failed: certificate verify failed: %s",
		    stage, X509_verify_cert_error_string(vr));
	else if (e != 0)
		snprintf(why, sizeof(why), "%s failed: %s", stage,
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e)
					       : "TLS error");
	else
		snprintf(why, sizeof(why), "%s failed", stage);
	ERR_clear_error();
	tls_fail(conn, QH_ERR_TLS, why);
}

/* The handshake is complete: establish who the peer is. */
static int
handshake_done(struct qh_tls_conn *conn)
{
	X509 *cert = SSL_get0_peer_certificate(conn->ssl), *pinned = NULL;
	char why[256];
	int r;

	if (SSL_version(conn->ssl) != TLS1_3_VERSION) {
		tls_fail(conn, QH_ERR_TLS, "not TLS 1.3");
		return QH_ERR_TLS;
	}
	switch (conn->mode) {
	case QH_TLS_SERVER:
		if (cert == NULL) {
			conn->peer.role = QH_ROLE_NONE;
			break;
		}
		/* Expiry alone passed only where the context allows it. */
		if (SSL_get_verify_result(conn->ssl) != X509_V_OK &&
		    !(SSL_get_verify_result(conn->ssl) == X509_V_ERR_CERT_HAS_EXPIRED &&
			conn->ctx->allow_expired)) {
			ssl_fail(conn, "handshake");
			return QH_ERR_AUTH;
		}
		if ((r = qh_pki_identity(cert, &conn->peer)) != 0 ||
		    conn->peer.role == QH_ROLE_CONSOLE) {
			memset(&conn->peer, 0, sizeof(conn->peer));
			tls_fail(conn, QH_ERR_AUTH, "certificate carries no valid role");
			return QH_ERR_AUTH;
		}
		break;
	case QH_TLS_CLIENT:
		if (cert == NULL || qh_pki_identity(cert, &conn->peer) != 0 ||
		    conn->peer.role != QH_ROLE_CONSOLE) {
			tls_fail(conn, QH_ERR_AUTH,
			    "server is not a quarterhour console");
			return QH_ERR_AUTH;
		}
		break;
	case QH_TLS_CLIENT_PINNED:
		if (cert == NULL ||
		    qh_pki_verify_pinned(cert, SSL_get_peer_cert_chain(conn->ssl),
			conn->pin, conn->host, &pinned) != 0 ||
		    qh_pki_identity(cert, &conn->peer) != 0 ||
		    conn->peer.role != QH_ROLE_CONSOLE) {
			X509_free(pinned);
			snprintf(why, sizeof(why),
			    "console's certificate does not "
			    "match the pinned CA");
			tls_fail(conn, QH_ERR_AUTH, why);
			return QH_ERR_AUTH;
		}
		X509_free(pinned);
		break;
	}
	conn->state = TLS_READY;
	qh_debug("peer %s: TLS ready (%s, role %s %s)", conn->addr,
	    SSL_get_cipher_name(conn->ssl), qh_role_name(conn->peer.role), conn->peer.id);
	conn->last_idle_ms = uv_now(conn->tcp->loop);
	start_keepalive(conn);
	if (conn->ops->on_ready != NULL &&
	    (r = conn->ops->on_ready(conn, &conn->peer)) != 0) {
		qh_tls_close(conn, r);
		return r;
	}
	if (qh_buf_len(&conn->tx_plain) > 0)
		qh_tls_kick(conn);
	return 0;
}

/* Decrypts what arrived and hands the plaintext on. */
static void
process_input(struct qh_tls_conn *conn)
{
	size_t got, room;
	uint8_t *p;
	int r, e;

	if (conn->state == TLS_HANDSHAKE) {
		r = SSL_do_handshake(conn->ssl);
		start_write(conn);
		if (r != 1) {
			e = SSL_get_error(conn->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return;
			ssl_fail(conn, "handshake");
			return;
		}
		if (handshake_done(conn) != 0)
			return;
	}
	while (conn->state == TLS_READY) {
		room = qh_buf_room(&conn->rx_plain);
		if (room == 0) {
			tls_fail(conn, QH_ERR_INTERNAL, "input not consumed");
			return;
		}
		if (room > RX_READ_CHUNK)
			room = RX_READ_CHUNK;
		if (qh_buf_reserve(&conn->rx_plain, room, &p) != 0) {
			tls_fail(conn, QH_ERR_NOMEM, "out of memory");
			return;
		}
		r = SSL_read_ex(conn->ssl, p, room, &got);
		qh_buf_unreserve(&conn->rx_plain, r == 1 ? room - got : room);
		if (r != 1) {
			e = SSL_get_error(conn->ssl, 0);
			start_write(conn); /* post-handshake replies */
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_ZERO_RETURN) {
				qh_debug("peer %s: close_notify", conn->addr);
				qh_tls_close(conn, 0);
				return;
			}
			ssl_fail(conn, "read");
			return;
		}
		if ((r = conn->ops->on_plaintext(conn, &conn->rx_plain)) != 0) {
			qh_tls_close(conn, r);
			return;
		}
	}
}

static void
on_alloc(uv_handle_t *h, size_t suggested QH_UNUSED, uv_buf_t *buf)
{
	struct qh_tls_conn *conn = h->data;
	size_t room = qh_buf_room(&conn->rx_cipher);
	uint8_t *p;

	*buf = uv_buf_init(NULL, 0);
	if (room > RX_READ_CHUNK)
		room = RX_READ_CHUNK;
	if (room == 0 || qh_buf_reserve(&conn->rx_cipher, room, &p) != 0)
		return; /* libuv reports UV_ENOBUFS to on_read */
	conn->rx_reserved = room;
	*buf = uv_buf_init((char *)p, (unsigned int)room);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf QH_UNUSED)
{
	struct qh_tls_conn *conn = s->data;

	if (conn->rx_reserved > 0) {
		qh_buf_unreserve(&conn->rx_cipher,
		    conn->rx_reserved - (nread > 0 ? (size_t)nread : 0));
		conn->rx_reserved = 0;
	}
	if (conn->state >= TLS_CLOSING)
		return;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			tls_fail(conn, QH_ERR_CLOSED, "connection closed by peer");
		else
			tls_fail(conn, qh_err_from_uv((int)nread),
			    uv_strerror((int)nread));
		return;
	}
	conn->stats.bytes_in += (uint64_t)nread;
	conn->last_rx_ms = uv_now(s->loop);
	process_input(conn);
}

static void
on_timer(uv_timer_t *t)
{
	struct qh_tls_conn *conn = t->data;
	uint64_t quiet;

	if (conn->state == TLS_HANDSHAKE) {
		tls_fail(conn, QH_ERR_TIMEOUT, "handshake timed out");
		return;
	}
	if (conn->state != TLS_READY)
		return;
	quiet = uv_now(t->loop) - conn->last_rx_ms;
	if (conn->dead_ms > 0 && quiet >= conn->dead_ms) {
		tls_fail(conn, QH_ERR_TIMEOUT, "keepalive timed out");
		return;
	}
	/* Once per idle interval while the peer stays quiet. */
	if (conn->idle_ms > 0 && quiet >= conn->idle_ms &&
	    uv_now(t->loop) - conn->last_idle_ms >= conn->idle_ms &&
	    conn->ops->on_idle != NULL) {
		conn->last_idle_ms = uv_now(t->loop);
		conn->ops->on_idle(conn);
	}
}

/* Runs the keepalive check once a second (or each idle interval if shorter). */
static void
start_keepalive(struct qh_tls_conn *conn)
{
	uint64_t tick = conn->idle_ms < 1000 ? conn->idle_ms : 1000;

	uv_timer_stop(&conn->timer);
	if (conn->idle_ms > 0 || conn->dead_ms > 0)
		uv_timer_start(&conn->timer, on_timer, tick ? tick : 1000,
		    tick ? tick : 1000);
}

void
qh_tls_set_keepalive(struct qh_tls_conn *conn, uint64_t idle_ms, uint64_t dead_ms)
{
	conn->idle_ms = idle_ms;
	conn->dead_ms = dead_ms;
	if (conn->state == TLS_READY)
		start_keepalive(conn);
}

int
qh_tls_start(struct qh_tls_conn *conn)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	int len = sizeof(ss), r, port = 0;

	if (uv_tcp_getpeername(conn->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			uv_ip4_name(sin, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			uv_ip6_name(sin6, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
	}
	snprintf(conn->addr, sizeof(conn->addr), "%s:%d", ip, port);
	uv_tcp_nodelay(conn->tcp, 1);

	if (conn->mode != QH_TLS_SERVER && conn->host[0] != '\0') {
		unsigned char bin[16];
		int is_ip = inet_pton(AF_INET, conn->host, bin) == 1 ||
		    inet_pton(AF_INET6, conn->host, bin) == 1;

		if (!is_ip)
			SSL_set_tlsext_host_name(conn->ssl, conn->host);
		if (conn->mode == QH_TLS_CLIENT) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(conn->ssl);

			if (is_ip)
				X509_VERIFY_PARAM_set1_ip_asc(vp, conn->host);
			else
				SSL_set1_host(conn->ssl, conn->host);
		}
	}
	conn->state = TLS_HANDSHAKE;
	conn->last_rx_ms = uv_now(conn->tcp->loop);
	uv_timer_start(&conn->timer, on_timer, QH_TLS_HANDSHAKE_MS, 0);
	if ((r = uv_read_start((uv_stream_t *)conn->tcp, on_alloc, on_read)) != 0) {
		tls_fail(conn, qh_err_from_uv(r), uv_strerror(r));
		return qh_err_from_uv(r);
	}
	if (conn->mode != QH_TLS_SERVER)
		process_input(conn); /* sends the ClientHello */
	return 0;
}

/* The dial ended: start TLS on the connected socket, or close with its error. */
static void
tls_dialed(struct qh_dial *d QH_UNUSED, uv_tcp_t *tcp, int err, const char *why,
    void *arg)
{
	struct qh_tls_conn *conn = arg;

	conn->dial = NULL;
	if (err != 0) {
		if (conn->dial_why != NULL)
			snprintf(conn->dial_why, conn->dial_whylen, "%s", why);
		qh_tls_close(conn, err);
		return;
	}
	/* The dialled handle replaces our own, which never held a socket. */
	tcp->data = conn;
	conn->open_handles++;
	uv_close((uv_handle_t *)&conn->own, on_handle_closed);
	conn->tcp = tcp;
	(void)qh_tls_start(conn); /* a failure closes the connection */
}

int
qh_tls_dial(struct qh_tls_conn *conn, const char *host, int port, uint64_t deadline_ms,
    char *why, size_t whylen)
{
	int r;

	if (conn->state != TLS_NEW || conn->dial != NULL)
		return QH_ERR_ARG;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	conn->dial_why = why;
	conn->dial_whylen = whylen;
	if ((r = qh_dial_start(conn->tcp->loop, host, port, QH_DIAL_ATTEMPT_MS,
		 deadline_ms, tls_dialed, conn, &conn->dial)) != 0) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s", qh_strerror(r));
		qh_tls_close(conn, r);
		return r;
	}
	return 0;
}
