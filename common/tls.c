/*
 * TLS 1.3 over libuv through a BIO of our own: a connection's life, its
 * input and its output. Contexts, tickets and the BIO are in tls_ctx.c;
 * what the connections of a loop share is in tls_loop.c.
 *
 * Ciphertext from the socket is read straight into a scratch buffer that
 * all connections of a loop share, and the BIO's read side serves it to
 * OpenSSL from there; only an incomplete record's bytes are copied into
 * the connection's own rx_cipher, to wait for the rest. Plaintext is
 * decrypted into a second scratch buffer and handed on from there; only
 * an incomplete frame stays behind in rx_plain. So an idle connection
 * owns no receive buffer at all, and OpenSSL's record buffers go back
 * too (SSL_MODE_RELEASE_BUFFERS).
 *
 * Ciphertext OpenSSL produces is appended by the BIO's write side to one
 * of two output buffers, and that buffer is handed to uv_write as it is.
 * While one buffer is being written the other collects, so everything
 * produced during one loop iteration leaves in one write. Plaintext to
 * send collects in tx_plain and is encrypted in one SSL_write per
 * connection when the loop flushes (tls_loop.c). Deadlines (handshake,
 * keepalive, the close's linger, giving back idle buffers) come from the
 * loop's timer wheel as tls__tick.
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

#include "qh/compat.h"
#include "qh/clock.h"
#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/tls.h"

#include "tls_int.h"

static void tls_fail(struct qh_tls_conn *conn, int err, const char *why);
static void start_write(struct qh_tls_conn *conn);
static void start_keepalive(struct qh_tls_conn *conn);
static void note_io(struct qh_tls_conn *conn, uint64_t now);

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
	tls__wheel_remove(conn);
	tls__loop_put(conn->tl);
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
	tls__wheel_remove(conn);
	tls__flush_remove(conn);
	uv_close((uv_handle_t *)conn->tcp, on_handle_closed);
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
	conn->slot = SLOT_NONE;
	qh_buf_init(&conn->rx_cipher, RX_CIPHER_MAX);
	conn->rx_src = &conn->rx_cipher;
	qh_buf_init(&conn->rx_plain, RX_PLAIN_MAX);
	qh_buf_init(&conn->tx_plain, TX_PLAIN_MAX);
	qh_buf_init(&conn->tx_cipher[0], TX_CIPHER_MAX);
	qh_buf_init(&conn->tx_cipher[1], TX_CIPHER_MAX);
	snprintf(conn->host, sizeof(conn->host), "%s", host ? host : "");
	snprintf(conn->pin, sizeof(conn->pin), "%s", pin ? pin : "");
	snprintf(conn->addr, sizeof(conn->addr), "?");

	if ((conn->tl = tls__loop_get(loop)) == NULL) {
		free(conn);
		return NULL;
	}
	if ((conn->ssl = SSL_new(ctx->ssl)) == NULL ||
	    (bio = tls__bio_new(conn)) == NULL) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "SSL_new");
		BIO_free(bio);
		SSL_free(conn->ssl);
		tls__loop_put(conn->tl);
		free(conn);
		return NULL;
	}
	SSL_set_bio(conn->ssl, bio, bio); /* one reference, used both ways */
	if (mode == QH_TLS_SERVER)
		SSL_set_accept_state(conn->ssl);
	else
		SSL_set_connect_state(conn->ssl);
	if (mode == QH_TLS_CLIENT && ctx->resume && ctx->session != NULL &&
	    SSL_SESSION_is_resumable(ctx->session))
		(void)SSL_set_session(conn->ssl, ctx->session);

	uv_tcp_init(loop, &conn->own);
	conn->tcp = &conn->own;
	conn->own.data = conn;
	conn->open_handles = 1;
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

void
tls__note_queued(struct qh_tls_conn *conn)
{
	size_t q = qh_tls_queued(conn);

	if (q > conn->stats.queued_max)
		conn->stats.queued_max = q;
	if (q >= QH_TLS_HIGH_WATER)
		conn->above_high = 1;
}

/* Output. */

/* A writer that heard "no" from qh_tls_writable goes on once under the low mark. */
static void
drain(struct qh_tls_conn *conn)
{
	if (!conn->above_high || qh_tls_queued(conn) >= QH_TLS_LOW_WATER)
		return;
	conn->above_high = 0;
	if (conn->ops->on_drain != NULL && conn->state == TLS_READY)
		conn->ops->on_drain(conn);
}

static void
on_write(uv_write_t *req, int status)
{
	struct qh_tls_conn *conn = req->data;
	int i = req == &conn->wreq[0] ? 0 : 1;

	qh_buf_reset(&conn->tx_cipher[i]);
	conn->tx_busy[i] = 0;
	if (conn->state >= TLS_CLOSING)
		return;
	conn->last_io_ms = uv_now(conn->tcp->loop);
	if (status < 0) {
		tls_fail(conn, qh_err_from_uv(status), uv_strerror(status));
		return;
	}
	start_write(conn);
	drain(conn);
}

/*
 * Writes the collecting ciphertext buffer unless a write is in flight:
 * straight into the socket when it takes it all (no request, no callback
 * a loop turn later, and no epoll_ctl that libuv makes after every
 * completed request), else what is left through uv_write.
 */
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
	conn->stats.bytes_out += b.len;
	if ((r = uv_try_write((uv_stream_t *)conn->tcp, &b, 1)) == (int)b.len) {
		qh_buf_reset(&conn->tx_cipher[i]);
		conn->last_io_ms = uv_now(conn->tcp->loop);
		if (conn->above_high)
			tls__flush_add(conn); /* drain() from the loop's flush */
		return;
	}
	if (r > 0) {
		(void)qh_buf_consume(&conn->tx_cipher[i], (size_t)r);
		b = uv_buf_init((char *)qh_buf_ptr(&conn->tx_cipher[i]),
		    (unsigned int)qh_buf_len(&conn->tx_cipher[i]));
	} else if (r != UV_EAGAIN) {
		qh_buf_reset(&conn->tx_cipher[i]);
		tls_fail(conn, qh_err_from_uv(r), uv_strerror(r));
		return;
	}
	conn->wreq[i].data = conn;
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

void
tls__flush(struct qh_tls_conn *conn)
{
	int r;

	if (conn->state != TLS_READY)
		return;
	if ((r = encrypt_pending(conn)) != 0) {
		tls_fail(conn, r, "encryption failed");
		return;
	}
	tls__note_queued(conn);
	start_write(conn);
	drain(conn);
}

void
qh_tls_kick(struct qh_tls_conn *conn)
{
	tls__note_queued(conn);
	if (conn->state == TLS_READY)
		note_io(conn, uv_now(conn->tcp->loop));
	if (conn->state == TLS_READY)
		tls__flush_add(conn);
}

/* Closing. */

static void
on_shutdown(uv_shutdown_t *req, int status QH_UNUSED)
{
	close_handles(req->data);
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
	conn->hs_deadline_ms = uv_now(conn->tcp->loop) + CLOSE_LINGER_MS;
	tls__wheel_set(conn, conn->hs_deadline_ms);
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
		/*
		 * A resumed session verified the certificate when the ticket
		 * was issued; it may have expired since. Revocation is the
		 * application's check, made at every connect (on_ready).
		 */
		if (SSL_session_reused(conn->ssl) && !conn->ctx->allow_expired &&
		    X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
			memset(&conn->peer, 0, sizeof(conn->peer));
			tls_fail(conn, QH_ERR_AUTH,
			    "resumed session: certificate has expired");
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

/*
 * Hands on the got bytes of plaintext in the scratch buffer; what the
 * application leaves (an incomplete frame) moves into the connection's own
 * rx_plain, where the next plaintext is appended to it.
 */
static int
plaintext_scratch(struct qh_tls_conn *conn, size_t got)
{
	struct qh_buf view;
	int r;

	qh_buf_init_ro(&view, conn->tl->rx_plain, got);
	if ((r = conn->ops->on_plaintext(conn, &view)) != 0)
		return r;
	if (qh_buf_len(&view) > 0 && conn->state == TLS_READY &&
	    qh_buf_put(&conn->rx_plain, qh_buf_ptr(&view), qh_buf_len(&view)) != 0)
		return QH_ERR_TOO_LARGE;
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
		/* Nothing left over: decrypt into the loop's scratch buffer. */
		int scratch = qh_buf_len(&conn->rx_plain) == 0;

		if (scratch) {
			r = SSL_read_ex(conn->ssl, conn->tl->rx_plain, RX_READ_CHUNK,
			    &got);
		} else {
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
		}
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
		if (scratch)
			r = plaintext_scratch(conn, got);
		else
			r = conn->ops->on_plaintext(conn, &conn->rx_plain);
		if (r != 0) {
			qh_tls_close(conn, r);
			return;
		}
	}
}

/*
 * libuv reads into the loop's scratch buffer unless an incomplete record
 * waits in rx_cipher, whose rest is read behind it.
 */
static void
on_alloc(uv_handle_t *h, size_t suggested QH_UNUSED, uv_buf_t *buf)
{
	struct qh_tls_conn *conn = h->data;
	size_t room = qh_buf_room(&conn->rx_cipher);
	uint8_t *p;

	if (qh_buf_len(&conn->rx_cipher) == 0) {
		conn->rx_scratch = 1;
		*buf = uv_buf_init((char *)conn->tl->rx_cipher, RX_READ_CHUNK);
		return;
	}
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
	int scratch = conn->rx_scratch;

	conn->rx_scratch = 0;
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
	note_io(conn, conn->last_rx_ms);
	if (!scratch) {
		process_input(conn);
		return;
	}
	/* OpenSSL reads the scratch buffer; an incomplete record's bytes stay. */
	qh_buf_init_ro(&conn->rx_view, conn->tl->rx_cipher, (size_t)nread);
	conn->rx_src = &conn->rx_view;
	process_input(conn);
	conn->rx_src = &conn->rx_cipher;
	if (qh_buf_len(&conn->rx_view) > 0 && conn->state < TLS_CLOSING &&
	    qh_buf_put(&conn->rx_cipher, qh_buf_ptr(&conn->rx_view),
		qh_buf_len(&conn->rx_view)) != 0)
		tls_fail(conn, QH_ERR_TOO_LARGE, "input buffer full");
}

/* 1 if the connection holds buffer storage that is not being written. */
static int
holds_buffers(const struct qh_tls_conn *conn)
{
	return qh_buf_capacity(&conn->rx_cipher) > 0 ||
	    qh_buf_capacity(&conn->rx_plain) > 0 ||
	    qh_buf_capacity(&conn->tx_plain) > 0 ||
	    (!conn->tx_busy[0] && qh_buf_capacity(&conn->tx_cipher[0]) > 0) ||
	    (!conn->tx_busy[1] && qh_buf_capacity(&conn->tx_cipher[1]) > 0);
}

/* Frees the storage of the buffers that are empty and not being written. */
static void
release_buffers(struct qh_tls_conn *conn)
{
	qh_buf_trim(&conn->rx_cipher);
	qh_buf_trim(&conn->rx_plain);
	qh_buf_trim(&conn->tx_plain);
	if (!conn->tx_busy[0])
		qh_buf_trim(&conn->tx_cipher[0]);
	if (!conn->tx_busy[1])
		qh_buf_trim(&conn->tx_cipher[1]);
}

/*
 * Puts a ready connection on the wheel for its next deadline: the
 * keepalive's ping or death, or RELEASE_MS after its last byte while it
 * holds buffers.
 */
static void
schedule_ready(struct qh_tls_conn *conn, uint64_t now)
{
	uint64_t due = UINT64_MAX, t;

	if (conn->dead_ms > 0)
		due = conn->last_rx_ms + conn->dead_ms;
	if (conn->idle_ms > 0 && conn->ops->on_idle != NULL) {
		t = conn->last_rx_ms > conn->last_idle_ms ? conn->last_rx_ms
							  : conn->last_idle_ms;
		if (t + conn->idle_ms < due)
			due = t + conn->idle_ms;
	}
	if (holds_buffers(conn)) {
		t = (conn->last_io_ms > now ? conn->last_io_ms : now) + RELEASE_MS;
		if (t < due)
			due = t;
	}
	if (due == UINT64_MAX)
		tls__wheel_remove(conn);
	else
		tls__wheel_set(conn, due);
}

/* A byte went in or out: buffers in use are looked at RELEASE_MS from now. */
static void
note_io(struct qh_tls_conn *conn, uint64_t now)
{
	conn->last_io_ms = now;
	if (conn->state == TLS_READY &&
	    (conn->slot == SLOT_NONE || conn->due_ms > now + RELEASE_MS))
		tls__wheel_set(conn, now + RELEASE_MS);
}

/* The wheel reached conn's deadline. */
void
tls__tick(struct qh_tls_conn *conn, uint64_t now)
{
	uint64_t quiet;

	switch (conn->state) {
	case TLS_HANDSHAKE:
		if (now >= conn->hs_deadline_ms)
			tls_fail(conn, QH_ERR_TIMEOUT, "handshake timed out");
		else
			tls__wheel_set(conn, conn->hs_deadline_ms);
		return;
	case TLS_CLOSING:
		if (now >= conn->hs_deadline_ms)
			close_handles(conn); /* the linger is over */
		else
			tls__wheel_set(conn, conn->hs_deadline_ms);
		return;
	case TLS_READY:
		break;
	default:
		return;
	}
	quiet = now - conn->last_rx_ms;
	if (conn->dead_ms > 0 && quiet >= conn->dead_ms) {
		tls_fail(conn, QH_ERR_TIMEOUT, "keepalive timed out");
		return;
	}
	/* Once per idle interval while the peer stays quiet. */
	if (conn->idle_ms > 0 && quiet >= conn->idle_ms &&
	    now - conn->last_idle_ms >= conn->idle_ms && conn->ops->on_idle != NULL) {
		conn->last_idle_ms = now;
		conn->ops->on_idle(conn);
		if (conn->state != TLS_READY)
			return;
	}
	if (now - conn->last_io_ms >= RELEASE_MS)
		release_buffers(conn);
	schedule_ready(conn, now);
}

static void
start_keepalive(struct qh_tls_conn *conn)
{
	schedule_ready(conn, uv_now(conn->tcp->loop));
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
	conn->last_rx_ms = conn->last_io_ms = uv_now(conn->tcp->loop);
	conn->hs_deadline_ms = conn->last_rx_ms + QH_TLS_HANDSHAKE_MS;
	tls__wheel_set(conn, conn->hs_deadline_ms);
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
