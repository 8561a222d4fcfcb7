/*
 * Unit tests for common/tls.c: a real TLS 1.3 connection on 127.0.0.1
 * between a server and a client of our own, on one loop. The promise
 * under test is backpressure's: whenever qh_tls_writable() says no, an
 * on_drain follows once the peer has taken the output, so a writer that
 * waits for it is never left waiting forever. Encryption makes the queue
 * grow (every record adds a header and a tag), so plaintext just under the
 * high-water mark becomes ciphertext above it. The socket takes what it
 * can at once (uv_try_write), so for the queue to stay above the mark the
 * socket must be full first: the server stops reading while the client
 * fills it, and reads again once the client has heard "no".
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "qh/tls.h"

#define GIVE_UP_MS 10000

struct fixture {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_check_t check;
	uv_timer_t give_up;
	struct qh_tls_ctx *sctx, *cctx;
	struct qh_tls_conn *server, *client;
	size_t send;		  /* plaintext the client queues at once */
	size_t margin;		  /* or: up to this much under the high-water mark */
	size_t received;	  /* plaintext the server got */
	int filled;		  /* the filler is encrypted and the socket full */
	int flushed;		  /* the queued plaintext was encrypted */
	int blocked;		  /* qh_tls_writable() said no after encryption */
	int drained;		  /* on_drain ran */
	int closed;		  /* connections closed */
	uv_alloc_cb server_alloc; /* the server's reading, while stopped */
	uv_read_cb server_read;
	char why[256];
};

static void
finish(struct fixture *f)
{
	uv_check_stop(&f->check);
	uv_timer_stop(&f->give_up);
	uv_close((uv_handle_t *)&f->listener, NULL);
	if (f->client != NULL)
		qh_tls_close(f->client, 0);
	if (f->server != NULL)
		qh_tls_close(f->server, 0);
	f->client = f->server = NULL;
}

static int
server_plaintext(struct qh_tls_conn *conn, struct qh_buf *in)
{
	struct fixture *f = qh_tls_arg(conn);

	f->received += qh_buf_len(in);
	qh_buf_reset(in);
	return 0;
}

static void
server_close(struct qh_tls_conn *conn, int err QH_UNUSED)
{
	struct fixture *f = qh_tls_arg(conn);

	f->closed++;
}

static const struct qh_tls_ops server_ops = {
	.on_plaintext = server_plaintext,
	.on_close = server_close,
};

static void watch(uv_check_t *h);

static void
small_buffers(uv_handle_t *h, int which)
{
	uv_os_fd_t fd;
	int size = 16 * 1024;

	assert_int_equal(uv_fileno(h, &fd), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, which, &size, sizeof(size)), 0);
}

/* Queues n bytes of plaintext on the client and kicks it. */
static void
client_queue(struct qh_tls_conn *conn, size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	memset(p, 'q', n);
	assert_int_equal(qh_buf_put(qh_tls_outbuf(conn), p, n), 0);
	free(p);
	qh_tls_kick(conn);
}

/* The server stops reading (its socket fills) or reads again. */
static void
server_reading(struct fixture *f, int on)
{
	uv_stream_t *s = (uv_stream_t *)qh_tls_tcp(f->server);

	if (on) {
		assert_int_equal(uv_read_start(s, f->server_alloc, f->server_read), 0);
		return;
	}
	f->server_alloc = s->alloc_cb;
	f->server_read = s->read_cb;
	assert_int_equal(uv_read_stop(s), 0);
}

/*
 * Ready: queue f->send bytes of plaintext in one go; with a margin, first
 * a filler the socket cannot take (watch then queues the rest).
 */
static int
client_ready(struct qh_tls_conn *conn, const struct qh_identity *peer QH_UNUSED)
{
	struct fixture *f = qh_tls_arg(conn);

	/*
	 * Small socket buffers both ways: the write cannot complete at once,
	 * so the ciphertext stays queued for a while, as on a real network.
	 */
	small_buffers((uv_handle_t *)qh_tls_tcp(conn), SO_SNDBUF);
	if (f->margin > 0) {
		assert_non_null(f->server);
		server_reading(f, 0);
		client_queue(conn, QH_TLS_HIGH_WATER / 2);
	} else {
		client_queue(conn, f->send);
		f->filled = 1;
	}
	/* Plaintext alone stays under the mark. */
	assert_true(qh_tls_writable(conn));
	uv_check_start(&f->check, watch);
	return 0;
}

static int
client_plaintext(struct qh_tls_conn *conn QH_UNUSED, struct qh_buf *in)
{
	qh_buf_reset(in);
	return 0;
}

static void
client_drain(struct qh_tls_conn *conn)
{
	struct fixture *f = qh_tls_arg(conn);

	f->drained = 1;
	finish(f);
}

static void
client_close(struct qh_tls_conn *conn, int err QH_UNUSED)
{
	struct fixture *f = qh_tls_arg(conn);

	f->closed++;
}

static const struct qh_tls_ops client_ops = {
	.on_ready = client_ready,
	.on_plaintext = client_plaintext,
	.on_drain = client_drain,
	.on_close = client_close,
};

/*
 * After each poll: once the plaintext is encrypted (the loop turn after the
 * kick), note whether the connection says it is not writable.
 */
static void
watch(uv_check_t *h)
{
	struct fixture *f = h->data;

	if (f->client == NULL || qh_buf_len(qh_tls_outbuf(f->client)) > 0)
		return; /* not encrypted yet */
	if (!f->filled) {
		/* Up to the margin under the mark, counting what is queued. */
		f->filled = 1;
		f->send = QH_TLS_HIGH_WATER - qh_tls_queued(f->client) - f->margin;
		client_queue(f->client, f->send);
		assert_true(qh_tls_writable(f->client));
		return;
	}
	f->flushed = 1;
	if (!qh_tls_writable(f->client))
		f->blocked = 1;
	uv_check_stop(h);
	if (f->margin > 0)
		server_reading(f, 1);
	if (!f->blocked)
		finish(f); /* nothing to wait for */
}

static void
on_give_up(uv_timer_t *h)
{
	finish(h->data);
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct fixture *f = l->data;

	assert_int_equal(status, 0);
	f->server =
	    qh_tls_new(&f->loop, f->sctx, QH_TLS_SERVER, NULL, NULL, &server_ops, f);
	assert_non_null(f->server);
	assert_int_equal(uv_accept(l, (uv_stream_t *)qh_tls_tcp(f->server)), 0);
	assert_int_equal(qh_tls_start(f->server), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	EVP_PKEY *cakey = NULL, *skey = NULL, *ckey = NULL;
	X509 *ca = NULL, *scert = NULL, *ccert = NULL;

	assert_non_null(f);
	assert_int_equal(qh_pki_key_new(&cakey), 0);
	assert_int_equal(qh_pki_ca_new(cakey, "test.example", &ca), 0);
	assert_int_equal(qh_pki_key_new(&skey), 0);
	assert_int_equal(qh_pki_issue(ca, cakey, skey, QH_ROLE_CONSOLE, "127.0.0.1", NULL,
			     10, &scert),
	    0);
	assert_int_equal(qh_pki_key_new(&ckey), 0);
	assert_int_equal(qh_pki_issue(ca, cakey, ckey, QH_ROLE_TECHNICIAN, "alice", NULL,
			     10, &ccert),
	    0);
	assert_int_equal(qh_tls_ctx_server(&f->sctx, scert, skey, ca), 0);
	assert_int_equal(qh_tls_ctx_client(&f->cctx, ccert, ckey, ca), 0);
	X509_free(ca);
	X509_free(scert);
	X509_free(ccert);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(skey);
	EVP_PKEY_free(ckey);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(uv_loop_close(&f->loop), 0);
	qh_tls_ctx_free(f->sctx);
	qh_tls_ctx_free(f->cctx);
	free(f);
	return 0;
}

/* Connects a client to a server on the loop and runs until both are gone. */
static void
run(struct fixture *f)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);

	assert_int_equal(uv_tcp_init(&f->loop, &f->listener), 0);
	f->listener.data = f;
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(&f->listener, (struct sockaddr *)&sin, 0), 0);
	small_buffers((uv_handle_t *)&f->listener,
	    SO_RCVBUF); /* accepted ones inherit it */
	assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 8, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(&f->listener, (struct sockaddr *)&sin, &len),
	    0);
	uv_check_init(&f->loop, &f->check);
	f->check.data = f;
	uv_timer_init(&f->loop, &f->give_up);
	f->give_up.data = f;
	uv_timer_start(&f->give_up, on_give_up, GIVE_UP_MS, 0);
	f->client = qh_tls_new(&f->loop, f->cctx, QH_TLS_CLIENT, "127.0.0.1", NULL,
	    &client_ops, f);
	assert_non_null(f->client);
	assert_int_equal(qh_tls_dial(f->client, "127.0.0.1", ntohs(sin.sin_port), 5000,
			     f->why, sizeof(f->why)),
	    0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&f->check, NULL);
	uv_close((uv_handle_t *)&f->give_up, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

/*
 * Plaintext 100 bytes under the high-water mark is above it once
 * encrypted: the connection says it is not writable, and on_drain must
 * come when the server has read it all.
 */
static void
test_drain_after_encryption_growth(void **state)
{
	struct fixture *f = *state;

	f->margin = 100;
	run(f);
	assert_true(f->flushed);
	assert_true(f->blocked); /* the case under test happened */
	if (!f->drained)
		fail_msg("qh_tls_writable() said no after encryption (%zu bytes of "
			 "plaintext), but on_drain never came: a writer waiting for it "
			 "would wait forever",
		    f->send);
	assert_int_equal(f->closed, 2);
}

/* Well under the mark: writable throughout, everything arrives. */
static void
test_small_write_arrives(void **state)
{
	struct fixture *f = *state;

	f->send = 64 * 1024;
	run(f);
	assert_true(f->flushed);
	assert_false(f->blocked);
	assert_int_equal(f->closed, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drain_after_encryption_growth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_small_write_arrives, setup,
		    teardown),
	};

	qh_log_init("test_tls", QH_LOG_WARN);
	signal(SIGPIPE, SIG_IGN); /* a peer closed under a write shows as EPIPE */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
