/*
 * TLS contexts: TLS 1.3 only, mutual authentication, stateful session
 * tickets (the server keeps the sessions, the client the newest ticket), the set of
 * client certificates whose chain the server has verified, and the BIO of our own through
 * which OpenSSL reads the scratch or leftover ciphertext and writes into the connection's
 * output buffers.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "tls_int.h"

static BIO_METHOD *bio_method;

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
	tls__note_queued(conn);
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

BIO *
tls__bio_new(struct qh_tls_conn *conn)
{
	BIO *bio;

	if ((bio = BIO_new(bio_method)) != NULL)
		BIO_set_data(bio, conn);
	return bio;
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
	/* A server context turns its session cache on (qh_tls_ctx_server). */
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

/*
 * A client that names our certificate's issuer among the CAs it trusts (the
 * certificate_authorities of its ClientHello: every agent and technician
 * that holds the CA) gets the certificate alone, not the CA after it, which
 * it would decode for nothing. A joining agent names none: it takes the CA
 * from the chain and checks it against the fingerprint it was given.
 */
static int
on_server_cert(SSL *ssl, void *arg QH_UNUSED)
{
	const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(ssl);
	X509 *leaf = SSL_get_certificate(ssl);
	int i;

	if (names == NULL || leaf == NULL)
		return 1;
	for (i = 0; i < sk_X509_NAME_num(names); i++) {
		if (X509_NAME_cmp(sk_X509_NAME_value(names, i),
			X509_get_issuer_name(leaf)) == 0) {
			/* No chain, and none built from the store either. */
			SSL_set_mode(ssl, SSL_MODE_NO_AUTO_CHAIN);
			return SSL_set0_chain(ssl, NULL);
		}
	}
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
	SSL_CTX_set_cert_cb(ctx->ssl, on_server_cert, NULL);
	/*
	 * One ticket per connection: an agent that comes back resumes with it.
	 * OpenSSL resumes a session whose client was verified only within a
	 * session id context, so the console names one.
	 */
	SSL_CTX_set_num_tickets(ctx->ssl, 1);
	/*
	 * Stateful TLS 1.3 tickets: a ticket names a session kept in this
	 * context's cache (at most TICKET_CACHE; a resumed session leaves it,
	 * single use, and its new ticket's session enters it), so a
	 * resumption finds the client's certificate parsed already. A
	 * stateless ticket was decoded anew, certificate and key included, at
	 * every resumption: half of a resumed connect's CPU. A restarted
	 * console has an empty cache: agents make full handshakes again.
	 */
	SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx->ssl, TICKET_CACHE);
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
	/*
	 * The client sends its certificate alone, not the chain OpenSSL would
	 * build from the store: the console holds the CA, and every
	 * certificate sent is one more the console decodes per handshake.
	 */
	SSL_CTX_set_mode(ctx->ssl, SSL_MODE_NO_AUTO_CHAIN);
	if (cert != NULL &&
	    (!SSL_CTX_use_certificate(ctx->ssl, cert) ||
		!SSL_CTX_use_PrivateKey(ctx->ssl, key) ||
		!SSL_CTX_check_private_key(ctx->ssl)))
		goto out;
	if (ca != NULL) {
		/* Named in the ClientHello: the console omits it (on_server_cert). */
		if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->ssl), ca) ||
		    !SSL_CTX_add1_to_CA_list(ctx->ssl, ca))
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
