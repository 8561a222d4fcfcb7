/*
 * win_smoke: proves that the cross-built libuv and OpenSSL work together
 * in a static Windows exe. It initialises OpenSSL without reading any
 * configuration, connects with uv_tcp to 127.0.0.1:PORT, runs a TLS 1.3
 * handshake through memory BIOs and prints the negotiated protocol.
 *
 * usage: win_smoke PORT [CAFILE]   (with CAFILE the server is verified)
 * Exit status 0 when the handshake completed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <uv.h>

struct conn {
	uv_tcp_t tcp;
	uv_connect_t connect;
	SSL *ssl;
	BIO *rbio; /* ciphertext from the server */
	BIO *wbio; /* ciphertext for the server */
	int ok;
};

/* Frees a finished write and its buffer. */
static void
on_write(uv_write_t *req, int status)
{
	if (status < 0)
		fprintf(stderr, "write: %s\n", uv_strerror(status));
	free(req->data);
	free(req);
}

/* Sends whatever OpenSSL has written into the outgoing BIO. */
static void
flush(struct conn *c)
{
	char *buf;
	uv_write_t *req;
	uv_buf_t b;
	int n;

	while (BIO_ctrl_pending(c->wbio) > 0) {
		buf = malloc(16384);
		req = malloc(sizeof(*req));
		if (buf == NULL || req == NULL)
			abort();
		n = BIO_read(c->wbio, buf, 16384);
		if (n <= 0) {
			free(buf);
			free(req);
			return;
		}
		req->data = buf;
		b = uv_buf_init(buf, (unsigned int)n);
		uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	}
}

/* Advances the handshake; closes the connection once it is decided. */
static void
step(struct conn *c)
{
	int r;

	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		printf("handshake: %s %s\n", SSL_get_version(c->ssl),
		    SSL_get_cipher_name(c->ssl));
		c->ok = 1;
		SSL_shutdown(c->ssl);
	} else if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
		flush(c);
		return;
	} else {
		fprintf(stderr, "handshake failed:\n");
		ERR_print_errors_fp(stderr);
	}
	flush(c);
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, NULL);
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	(void)h;
	b->base = malloc(size);
	b->len = b->base == NULL ? 0 : size;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (n > 0) {
		BIO_write(c->rbio, b->base, (int)n);
		step(c);
	} else if (n < 0) {
		fprintf(stderr, "read: %s\n", uv_strerror((int)n));
		uv_close((uv_handle_t *)s, NULL);
	}
	free(b->base);
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (status < 0) {
		fprintf(stderr, "connect: %s\n", uv_strerror(status));
		uv_close((uv_handle_t *)&c->tcp, NULL);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	step(c);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct conn c;
	SSL_CTX *ctx;

	if (argc < 2) {
		fprintf(stderr, "usage: win_smoke PORT [CAFILE]\n");
		return 2;
	}
	if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		return 1;
	printf("libuv %s, %s\n", uv_version_string(), OpenSSL_version(OPENSSL_VERSION));
	/* The directories compiled in: each must be admin-only on Windows. */
	printf("%s\n%s\n%s\n", OpenSSL_version(OPENSSL_DIR),
	    OpenSSL_version(OPENSSL_ENGINES_DIR), OpenSSL_version(OPENSSL_MODULES_DIR));

	memset(&c, 0, sizeof(c));
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		return 1;
	if (argc > 2) {
		if (!SSL_CTX_load_verify_locations(ctx, argv[2], NULL)) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	c.ssl = SSL_new(ctx);
	c.rbio = BIO_new(BIO_s_mem());
	c.wbio = BIO_new(BIO_s_mem());
	if (c.ssl == NULL || c.rbio == NULL || c.wbio == NULL)
		return 1;
	SSL_set_bio(c.ssl, c.rbio, c.wbio);
	SSL_set_connect_state(c.ssl);
	SSL_set_tlsext_host_name(c.ssl, "localhost");

	uv_tcp_init(uv_default_loop(), &c.tcp);
	c.tcp.data = &c;
	c.connect.data = &c;
	uv_ip4_addr("127.0.0.1", atoi(argv[1]), &sa);
	uv_tcp_connect(&c.connect, &c.tcp, (struct sockaddr *)&sa, on_connect);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());

	SSL_free(c.ssl);
	SSL_CTX_free(ctx);
	fflush(stdout);
	return c.ok ? 0 : 1;
}
