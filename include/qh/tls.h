/*
 * TLS 1.3 over a libuv TCP handle, driven through a BIO of our own so that
 * ciphertext goes straight between OpenSSL and the buffers libuv reads into
 * and writes from.
 *
 * Plaintext to send is appended to the connection's output buffer
 * (qh_tls_outbuf) and encrypted in one batch before the loop next polls,
 * so many small frames become few records and one vectored write. Received
 * plaintext is handed to ops->on_plaintext, which consumes what it can.
 *
 * A connection is freed only after its last handle is closed; ops->on_close
 * runs exactly once, right before that. Every callback checks the
 * connection's state first.
 */
#ifndef QH_TLS_H
#define QH_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>
#include <openssl/ssl.h>

#include "qh/buf.h"
#include "qh/pki.h"

/* Ciphertext/plaintext queued for the peer above this counts as "not writable". */
#define QH_TLS_HIGH_WATER (1024 * 1024)
#define QH_TLS_LOW_WATER  (256 * 1024)
/* Hard bound on queued output; passing it is a broken invariant for that peer. */
#define QH_TLS_OUT_MAX	    (8 * 1024 * 1024)
#define QH_TLS_HANDSHAKE_MS 10000

struct qh_tls_ctx;
struct qh_tls_conn;

enum qh_tls_mode {
	QH_TLS_SERVER,	      /* console: requests a client certificate */
	QH_TLS_CLIENT,	      /* verifies the server against the CA */
	QH_TLS_CLIENT_PINNED, /* join: no CA yet, verifies against a pin */
};

/*
 * A server context: cert and key of the console, the CA that issued peers'
 * certificates (also sent in the chain so that joining agents can pin it).
 * Peers without a certificate get through the handshake with role NONE.
 */
int qh_tls_ctx_server(struct qh_tls_ctx **ctxp, X509 *cert, EVP_PKEY *key, X509 *ca);

/*
 * Lets a server context's peers through the handshake with a client
 * certificate past its notAfter, when that is all that is wrong with it
 * (chain, signature and the key's proof are checked as before). on_ready
 * then gets the peer with peer->not_after in the past, and the server
 * decides what such a peer may do (the console lets an agent renew).
 */
void qh_tls_ctx_allow_expired(struct qh_tls_ctx *ctx);

/*
 * Replaces the certificate and key a server context presents, with ca in
 * the chain as before: connections that start from now on get them, those
 * already made keep what they had. Returns 0, or QH_ERR_TLS with the
 * context unchanged (key does not belong to cert, say).
 */
int qh_tls_ctx_server_cert(struct qh_tls_ctx *ctx, X509 *cert, EVP_PKEY *key, X509 *ca);

/* A client context with our certificate (or none, for joining) and the CA. */
int qh_tls_ctx_client(struct qh_tls_ctx **ctxp, X509 *cert, EVP_PKEY *key, X509 *ca);

void qh_tls_ctx_free(struct qh_tls_ctx *ctx);

/*
 * Client contexts keep the newest TLS 1.3 session ticket the server sent
 * and offer it on the next connection (on by default), so an agent's
 * reconnect is a resumption: no certificate signatures are made or
 * checked again. Turning it off drops the kept ticket. Server contexts
 * issue one ticket per connection and keep no cache; the application
 * still checks revocation at every connect, resumed or not.
 */
void qh_tls_ctx_set_resumption(struct qh_tls_ctx *ctx, int on);

struct qh_tls_ops {
	/*
	 * The handshake finished and the peer is verified as far as the mode
	 * goes; peer->role is QH_ROLE_NONE for a server's peer without a
	 * certificate. Return 0 to go on, <0 to close.
	 */
	int (*on_ready)(struct qh_tls_conn *conn, const struct qh_identity *peer);
	/* New plaintext is in in; consume what can be used. Return <0 to close. */
	int (*on_plaintext)(struct qh_tls_conn *conn, struct qh_buf *in);
	/*
	 * Queued output fell under QH_TLS_LOW_WATER after reaching
	 * QH_TLS_HIGH_WATER (as appended, as encrypted, or as qh_tls_writable
	 * found it).
	 */
	void (*on_drain)(struct qh_tls_conn *conn);
	/* No bytes came from the peer for the idle interval; may send a ping. */
	void (*on_idle)(struct qh_tls_conn *conn);
	/* The connection is gone; err is 0 for an orderly close. Last callback. */
	void (*on_close)(struct qh_tls_conn *conn, int err);
};

/*
 * Creates a connection on loop. The caller then accepts into, or connects,
 * the handle from qh_tls_tcp() and calls qh_tls_start(). ctx must stay
 * until ops->on_close has run. For
 * QH_TLS_CLIENT_PINNED, pin is the CA's hex SHA-256; host is the name the
 * server's certificate must carry (NULL for a server).
 */
struct qh_tls_conn *
qh_tls_new(uv_loop_t *loop, struct qh_tls_ctx *ctx, enum qh_tls_mode mode,
    const char *host, const char *pin, const struct qh_tls_ops *ops, void *arg);

uv_tcp_t *qh_tls_tcp(struct qh_tls_conn *conn);
void *qh_tls_arg(struct qh_tls_conn *conn);

/* Starts the handshake on a connected or accepted handle. */
int qh_tls_start(struct qh_tls_conn *conn);

/*
 * Instead of connecting qh_tls_tcp() and calling qh_tls_start(): dials
 * host:port with qh_dial (every address in turn, QH_DIAL_ATTEMPT_MS each,
 * all within deadline_ms) and starts the handshake on the connected
 * socket, which replaces the connection's own handle. A failed dial
 * closes the connection with its error (QH_ERR_REFUSED, QH_ERR_TIMEOUT,
 * QH_ERR_NOT_FOUND...) after writing the reason to why (whylen bytes, the
 * caller's, valid until ops->on_close; NULL for none); a close before the
 * dial ends cancels it. Returns 0; QH_ERR_ARG when the connection is not
 * new (nothing else happens); or another <0 when the dial could not start
 * (the connection is closing then).
 */
int qh_tls_dial(struct qh_tls_conn *conn, const char *host, int port,
    uint64_t deadline_ms, char *why, size_t whylen);

/*
 * Sets the keepalive: after idle_ms without input ops->on_idle runs; after
 * dead_ms without input the connection closes with QH_ERR_TIMEOUT.
 */
void qh_tls_set_keepalive(struct qh_tls_conn *conn, uint64_t idle_ms, uint64_t dead_ms);

/* The plaintext output buffer: append whole frames, then qh_tls_kick(). */
struct qh_buf *qh_tls_outbuf(struct qh_tls_conn *conn);

/* Schedules encryption and sending of what was appended to the outbuf. */
void qh_tls_kick(struct qh_tls_conn *conn);

/* Bytes queued for the peer, plaintext and ciphertext. */
size_t qh_tls_queued(const struct qh_tls_conn *conn);

/*
 * 1 while queued output is under QH_TLS_HIGH_WATER and the connection is
 * up. A 0 from an open connection promises ops->on_drain once the queue
 * falls under QH_TLS_LOW_WATER, so a writer told to wait is always woken.
 */
int qh_tls_writable(struct qh_tls_conn *conn);

/* The peer's address as "ip:port", and its identity once ready. */
const char *qh_tls_peer_addr(const struct qh_tls_conn *conn);
const struct qh_identity *qh_tls_peer(const struct qh_tls_conn *conn);

/*
 * Closes the connection: queued output is flushed with a close_notify (at
 * most a few seconds), then the handles close and ops->on_close(err) runs.
 * Safe to call more than once.
 */
void qh_tls_close(struct qh_tls_conn *conn, int err);

/* 1 if the connection's handshake resumed a session from a ticket. */
int qh_tls_resumed(const struct qh_tls_conn *conn);

/* Statistics for tests and benchmarks. */
struct qh_tls_stats {
	uint64_t bytes_in, bytes_out; /* ciphertext */
	size_t queued_max;	      /* highest qh_tls_queued() seen */
};
void qh_tls_stats(const struct qh_tls_conn *conn, struct qh_tls_stats *st);

#endif
