/*
 * TLS 1.3 over libuv through a BIO of our own.
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
 * connection, right after the loop's I/O callbacks (a check handle) or,
 * for what was queued elsewhere, just before the loop polls (a prepare
 * handle): both are the loop's, with a list of the connections to flush.
 *
 * Time is kept by one timer wheel per loop instead of a timer per
 * connection: each connection sits in the slot of its next deadline (the
 * handshake's, the keepalive's, the close's linger, or the moment its
 * empty buffers are given back) and is looked at when that slot comes up.
 */
#include <sys/queue.h>

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
#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/tls.h"

#define RX_CIPHER_MAX	 (256 * 1024)
#define RX_READ_CHUNK	 (64 * 1024)
#define RX_PLAIN_MAX	 (256 * 1024)
#define TX_PLAIN_MAX	 (QH_TLS_OUT_MAX)
#define TX_CIPHER_MAX	 (QH_TLS_OUT_MAX + 64 * 1024)
#define CLOSE_LINGER_MS	 2000
#define TICKET_SECONDS	 3600  /* a ticket resumes for an hour */
#define VERIFIED_BUCKETS 4096  /* chains of the verified-certificate set */
#define VERIFIED_MAX	 65536 /* certificates remembered; then it starts over */
#define WHEEL_TICK_MS	 250   /* the wheel's resolution */
#define WHEEL_SLOTS	 64    /* 16 s per turn; later deadlines wait a turn or more */
#define RELEASE_MS	 1000  /* empty buffers unused this long are freed */
#define SLOT_NONE	 (-1)  /* not on the wheel */
#define SLOT_DUE	 (-2)  /* on the list of the tick being run */

/* A client certificate whose chain the server has verified: its SHA-256. */
struct verified {
	unsigned char fp[32];
	struct verified *next;
};

struct qh_tls_ctx {
	SSL_CTX *ssl;
	int server;
	struct verified *verified[VERIFIED_BUCKETS]; /* server: chains verified */
	size_t nverified;
	int resume;	      /* client: offer the kept ticket */
	SSL_SESSION *session; /* client: the newest ticket the server gave us */
};

enum tls_state {
	TLS_NEW,       /* handle created, not connected yet */
	TLS_HANDSHAKE, /* handshake in progress */
	TLS_READY,     /* peer verified, application data flows */
	TLS_CLOSING,   /* flushing close_notify, handles not closed yet */
	TLS_DEAD,      /* handles closing; only close callbacks remain */
};

LIST_HEAD(conn_list, qh_tls_conn);

/*
 * What the connections of one loop share: the wheel, the flush list and
 * the scratch buffers. Made for a loop's first connection and closed
 * after its last is freed.
 */
struct tls_loop {
	uv_loop_t *loop;
	unsigned users;		 /* connections on this loop */
	uv_timer_t tick;	 /* the wheel's one timer (unreferenced) */
	uv_prepare_t prep;	 /* flushes what was queued outside I/O callbacks */
	uv_check_t check;	 /* flushes right after the I/O callbacks */
	int open_handles;	 /* while closing */
	struct conn_list flushq; /* connections with plaintext queued */
	struct conn_list slots[WHEEL_SLOTS]; /* by deadline tick */
	struct conn_list due;		     /* the slot being run */
	unsigned nwheel;		     /* connections on the wheel */
	uint64_t tick_done;		     /* last tick whose slot was run */
	uint8_t rx_cipher[RX_READ_CHUNK];    /* scratch: one read's ciphertext */
	uint8_t rx_plain[RX_READ_CHUNK];     /* scratch: its plaintext */
	struct tls_loop *next;
};

struct qh_tls_conn {
	uv_tcp_t own;  /* accepted into; replaced by a dialled handle */
	uv_tcp_t *tcp; /* the connection's socket: &own, or the dialled one */
	struct tls_loop *tl;
	LIST_ENTRY(qh_tls_conn) flink; /* on tl->flushq while flush_scheduled */
	LIST_ENTRY(qh_tls_conn) wlink; /* in a wheel slot, or on tl->due */
	int slot;		       /* SLOT_NONE, SLOT_DUE or the slot */
	uint64_t due_ms;	       /* the deadline the wheel holds */
	uint64_t hs_deadline_ms;       /* handshake or linger deadline */
	uint64_t last_io_ms;	       /* last byte in or out, for RELEASE_MS */
	uv_write_t wreq[2];
	uv_shutdown_t sreq;
	int open_handles;

	enum tls_state state;
	enum qh_tls_mode mode;
	SSL *ssl;
	struct qh_tls_ctx *ctx;
	const struct qh_tls_ops *ops;
	void *arg;

	struct qh_buf rx_cipher;    /* an incomplete record, waiting for the rest */
	struct qh_buf rx_view;	    /* the scratch buffer's bytes of one read */
	struct qh_buf *rx_src;	    /* what the BIO reads: rx_view or rx_cipher */
	size_t rx_reserved;	    /* bytes lent to libuv by alloc_cb */
	int rx_scratch;		    /* alloc_cb lent the scratch buffer */
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
static void start_keepalive(struct qh_tls_conn *conn);
static void on_flush(struct qh_tls_conn *conn);
static void conn_tick(struct qh_tls_conn *conn, uint64_t now);
static void note_io(struct qh_tls_conn *conn, uint64_t now);

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
	return len;
}

static int
bio_read(BIO *b, char *out, int len)
{
	struct qh_tls_conn *conn = BIO_get_data(b);
	size_t n = qh_buf_len(conn->rx_src);

	BIO_clear_retry_flags(b);
	if (n == 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (n > (size_t)len)
		n = (size_t)len;
	(void)qh_buf_get(conn->rx_src, out, n);
	return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
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
	/*
	 * TLS 1.3 tickets are stateless: the server keeps no cache, a ticket
	 * carries the session (the client's certificate included) sealed
	 * with the context's key, so a restarted console simply does full
	 * handshakes again.
	 */
	SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	/* OpenSSL's record buffers (about 34 KiB) go back while a peer is idle. */
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

static void
verified_clear(struct qh_tls_ctx *ctx)
{
	struct verified *v, *next;
	size_t i;

	for (i = 0; i < VERIFIED_BUCKETS; i++) {
		for (v = ctx->verified[i]; v != NULL; v = next) {
			next = v->next;
			free(v);
		}
		ctx->verified[i] = NULL;
	}
	ctx->nverified = 0;
}

static struct verified **
verified_bucket(struct qh_tls_ctx *ctx, const unsigned char fp[32])
{
	return &ctx->verified[((size_t)fp[0] << 8 | fp[1]) % VERIFIED_BUCKETS];
}

/*
 * The server's certificate verification: a client certificate whose
 * exact bytes were verified against the CA before (its SHA-256 is in the
 * set) is not verified again, only checked to be within its validity
 * period; the signature on the handshake, which proves the key, is
 * checked by TLS as always, and revocation is the application's check.
 * This saves a chain build and an ECDSA verification for an agent that
 * reconnects without a ticket.
 */
static int
verify_cached(X509_STORE_CTX *xs, void *arg)
{
	struct qh_tls_ctx *ctx = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	unsigned char fp[32];
	struct verified *v, **b;

	if (cert == NULL || !X509_digest(cert, EVP_sha256(), fp, NULL))
		return X509_verify_cert(xs);
	b = verified_bucket(ctx, fp);
	for (v = *b; v != NULL; v = v->next)
		if (memcmp(v->fp, fp, sizeof(fp)) == 0)
			break;
	if (v != NULL && X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
	    X509_cmp_current_time(X509_get0_notAfter(cert)) > 0) {
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	if (X509_verify_cert(xs) != 1)
		return 0;
	if (v == NULL) {
		if (ctx->nverified >= VERIFIED_MAX)
			verified_clear(ctx); /* a bound, not a cache policy */
		if ((v = malloc(sizeof(*v))) != NULL) {
			memcpy(v->fp, fp, sizeof(fp));
			b = verified_bucket(ctx, fp);
			v->next = *b;
			*b = v;
			ctx->nverified++;
		}
	}
	return 1;
}

/* A client's new ticket replaces the one kept; 1 tells OpenSSL we took it. */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct qh_tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (ctx == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION_free(ctx->session);
	ctx->session = sess;
	return 1;
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
	SSL_CTX_set_cert_verify_callback(ctx->ssl, verify_cached, ctx);
	/*
	 * One ticket per connection: an agent that comes back resumes with it.
	 * OpenSSL resumes a session whose client was verified only within a
	 * session id context, so the console names one.
	 */
	SSL_CTX_set_num_tickets(ctx->ssl, 1);
	if (!SSL_CTX_set_session_id_context(ctx->ssl, (const unsigned char *)"qh-console",
		10))
		goto out;
	SSL_CTX_set_timeout(ctx->ssl, TICKET_SECONDS);
	*ctxp = ctx;
	ctx = NULL;
	r = 0;
out:
	if (r != 0)
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "server context");
	qh_tls_ctx_free(ctx);
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
	/* Tickets are kept here, not in OpenSSL's cache: one per context. */
	SSL_CTX_set_app_data(ctx->ssl, ctx);
	SSL_CTX_set_session_cache_mode(ctx->ssl,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx->ssl, on_new_session);
	ctx->resume = 1;
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
	SSL_SESSION_free(ctx->session);
	SSL_CTX_free(ctx->ssl);
	verified_clear(ctx);
	free(ctx);
}

void
qh_tls_ctx_set_resumption(struct qh_tls_ctx *ctx, int on)
{
	ctx->resume = on;
	if (!on) {
		SSL_SESSION_free(ctx->session);
		ctx->session = NULL;
	}
}

int
qh_tls_resumed(const struct qh_tls_conn *conn)
{
	return SSL_session_reused(conn->ssl) == 1;
}

/*
 * The loops' shared parts. Connections are made and freed on their loop's
 * thread; the list of loops is the one thing threads with loops of their
 * own could share, so it has a lock.
 */

static struct tls_loop *loops;
static uv_mutex_t loops_lock;
static uv_once_t loops_once = UV_ONCE_INIT;

static void
loops_lock_init(void)
{
	if (uv_mutex_init(&loops_lock) != 0)
		abort(); /* a broken invariant at start-up */
}

static void
on_loop_flush(struct tls_loop *tl)
{
	struct qh_tls_conn *conn;

	while ((conn = LIST_FIRST(&tl->flushq)) != NULL) {
		LIST_REMOVE(conn, flink);
		conn->flush_scheduled = 0;
		on_flush(conn);
	}
	uv_prepare_stop(&tl->prep);
	uv_check_stop(&tl->check);
}

static void
on_prep(uv_prepare_t *h)
{
	on_loop_flush(h->data);
}

static void
on_check(uv_check_t *h)
{
	on_loop_flush(h->data);
}

/* Takes conn off the wheel, wherever it is on it. */
static void
wheel_remove(struct qh_tls_conn *conn)
{
	struct tls_loop *tl = conn->tl;

	if (conn->slot == SLOT_NONE)
		return;
	LIST_REMOVE(conn, wlink);
	conn->slot = SLOT_NONE;
	if (--tl->nwheel == 0)
		uv_timer_stop(&tl->tick);
}

static void on_wheel(uv_timer_t *t);

/* Puts conn on the wheel for due_ms (now or later); replaces its old deadline. */
static void
wheel_set(struct qh_tls_conn *conn, uint64_t due_ms)
{
	struct tls_loop *tl = conn->tl;
	uint64_t tick = due_ms / WHEEL_TICK_MS;

	wheel_remove(conn);
	if (tick <= tl->tick_done)
		tick = tl->tick_done + 1; /* passed already: the next tick runs it */
	conn->due_ms = due_ms;
	conn->slot = (int)(tick % WHEEL_SLOTS);
	LIST_INSERT_HEAD(&tl->slots[conn->slot], conn, wlink);
	if (tl->nwheel++ == 0) {
		tl->tick_done = uv_now(tl->loop) / WHEEL_TICK_MS;
		if (tick <= tl->tick_done) {
			/* The slot chosen above is behind the new start: move it. */
			LIST_REMOVE(conn, wlink);
			conn->slot = (int)((tl->tick_done + 1) % WHEEL_SLOTS);
			LIST_INSERT_HEAD(&tl->slots[conn->slot], conn, wlink);
		}
		uv_timer_start(&tl->tick, on_wheel, WHEEL_TICK_MS, WHEEL_TICK_MS);
	}
}

/* Runs the slots of the ticks that have passed; a deadline a turn away waits. */
static void
on_wheel(uv_timer_t *t)
{
	struct tls_loop *tl = t->data;
	uint64_t now = uv_now(tl->loop), upto = now / WHEEL_TICK_MS;
	struct qh_tls_conn *conn;
	int n = 0;

	while (tl->tick_done < upto && n++ < WHEEL_SLOTS) {
		struct conn_list *slot = &tl->slots[++tl->tick_done % WHEEL_SLOTS];

		while ((conn = LIST_FIRST(slot)) != NULL) {
			LIST_REMOVE(conn, wlink);
			LIST_INSERT_HEAD(&tl->due, conn, wlink);
			conn->slot = SLOT_DUE;
		}
		while ((conn = LIST_FIRST(&tl->due)) != NULL) {
			LIST_REMOVE(conn, wlink);
			conn->slot = SLOT_NONE;
			tl->nwheel--;
			if (conn->due_ms > now)
				wheel_set(conn, conn->due_ms);
			else
				conn_tick(conn, now);
		}
	}
	tl->tick_done = upto;
	if (tl->nwheel == 0)
		uv_timer_stop(&tl->tick);
}

static struct tls_loop *
tls_loop_get(uv_loop_t *loop)
{
	struct tls_loop *tl;
	int i;

	uv_once(&loops_once, loops_lock_init);
	uv_mutex_lock(&loops_lock);
	for (tl = loops; tl != NULL && tl->loop != loop; tl = tl->next)
		;
	if (tl == NULL && (tl = calloc(1, sizeof(*tl))) != NULL) {
		tl->loop = loop;
		LIST_INIT(&tl->flushq);
		LIST_INIT(&tl->due);
		for (i = 0; i < WHEEL_SLOTS; i++)
			LIST_INIT(&tl->slots[i]);
		uv_timer_init(loop, &tl->tick);
		uv_prepare_init(loop, &tl->prep);
		uv_check_init(loop, &tl->check);
		tl->tick.data = tl->prep.data = tl->check.data = tl;
		/* Connections keep the loop alive, not their shared parts. */
		uv_unref((uv_handle_t *)&tl->tick);
		uv_unref((uv_handle_t *)&tl->prep);
		uv_unref((uv_handle_t *)&tl->check);
		tl->next = loops;
		loops = tl;
	}
	if (tl != NULL)
		tl->users++;
	uv_mutex_unlock(&loops_lock);
	return tl;
}

static void
tls_loop_closed(uv_handle_t *h)
{
	struct tls_loop *tl = h->data;

	if (--tl->open_handles == 0)
		free(tl);
}

/* A connection of tl is freed; the last one closes the loop's shared parts. */
static void
tls_loop_put(struct tls_loop *tl)
{
	struct tls_loop **pp;

	uv_mutex_lock(&loops_lock);
	if (--tl->users > 0) {
		uv_mutex_unlock(&loops_lock);
		return;
	}
	for (pp = &loops; *pp != tl; pp = &(*pp)->next)
		;
	*pp = tl->next;
	uv_mutex_unlock(&loops_lock);
	tl->open_handles = 3;
	uv_close((uv_handle_t *)&tl->tick, tls_loop_closed);
	uv_close((uv_handle_t *)&tl->prep, tls_loop_closed);
	uv_close((uv_handle_t *)&tl->check, tls_loop_closed);
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
	wheel_remove(conn);
	tls_loop_put(conn->tl);
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
	wheel_remove(conn);
	if (conn->flush_scheduled) {
		LIST_REMOVE(conn, flink);
		conn->flush_scheduled = 0;
	}
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

	if ((conn->tl = tls_loop_get(loop)) == NULL) {
		free(conn);
		return NULL;
	}
	if ((conn->ssl = SSL_new(ctx->ssl)) == NULL ||
	    (bio = BIO_new(bio_method)) == NULL) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, "SSL_new");
		BIO_free(bio);
		SSL_free(conn->ssl);
		tls_loop_put(conn->tl);
		free(conn);
		return NULL;
	}
	BIO_set_data(bio, conn);
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
	conn->last_io_ms = uv_now(conn->tcp->loop);
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
on_flush(struct qh_tls_conn *conn)
{
	int r;

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
	if (conn->state == TLS_READY)
		note_io(conn, uv_now(conn->tcp->loop));
	if (conn->flush_scheduled || conn->state != TLS_READY)
		return;
	conn->flush_scheduled = 1;
	LIST_INSERT_HEAD(&conn->tl->flushq, conn, flink);
	if (!uv_is_active((uv_handle_t *)&conn->tl->prep)) {
		uv_prepare_start(&conn->tl->prep, on_prep);
		uv_check_start(&conn->tl->check, on_check);
	}
}

/* Closing. */

static void
on_shutdown(uv_shutdown_t *req, int status)
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
	wheel_set(conn, conn->hs_deadline_ms);
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
		if (SSL_get_verify_result(conn->ssl) != X509_V_OK) {
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
		if (SSL_session_reused(conn->ssl) &&
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
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
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
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
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
		wheel_remove(conn);
	else
		wheel_set(conn, due);
}

/* A byte went in or out: buffers in use are looked at RELEASE_MS from now. */
static void
note_io(struct qh_tls_conn *conn, uint64_t now)
{
	conn->last_io_ms = now;
	if (conn->state == TLS_READY &&
	    (conn->slot == SLOT_NONE || conn->due_ms > now + RELEASE_MS))
		wheel_set(conn, now + RELEASE_MS);
}

/* The wheel reached conn's deadline. */
static void
conn_tick(struct qh_tls_conn *conn, uint64_t now)
{
	uint64_t quiet;

	switch (conn->state) {
	case TLS_HANDSHAKE:
		if (now >= conn->hs_deadline_ms)
			tls_fail(conn, QH_ERR_TIMEOUT, "handshake timed out");
		else
			wheel_set(conn, conn->hs_deadline_ms);
		return;
	case TLS_CLOSING:
		if (now >= conn->hs_deadline_ms)
			close_handles(conn); /* the linger is over */
		else
			wheel_set(conn, conn->hs_deadline_ms);
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
	wheel_set(conn, conn->hs_deadline_ms);
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
tls_dialed(struct qh_dial *d, uv_tcp_t *tcp, int err, const char *why, void *arg)
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
