/*
 * A fake TLS layer for driving common/mux.c without sockets or OpenSSL:
 * it defines the qh_tls_* functions the mux calls, so a program that
 * includes this file links them instead of common/tls.c (the linker takes
 * an archive member only for symbols still undefined). test_mux.c and
 * fuzz_mux.c include it; it is not compiled on its own.
 *
 * What the mux "sends" collects in an output buffer whose maximum the test
 * chooses (fake_tls.out_max, default 1 MiB), so a peer that stops reading
 * is one small number. The test plays the peer: fake_tls_ready() finishes
 * the handshake with an identity, fake_tls_input() hands bytes to the
 * mux's on_plaintext as TLS would, fake_tls_take() reads back what the mux
 * sent, and fake_tls_drain() empties the output and reports on_drain as TLS
 * does when it falls under the low-water mark. qh_tls_close() behaves as
 * the real one: nothing is called back from inside it; ops->on_close comes
 * from a handle's close callback on a later loop turn, and the connection
 * is freed after it.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/tls.h"

struct qh_tls_conn {
	uv_tcp_t tcp;	   /* handed out by qh_tls_tcp, never connected */
	uv_timer_t closer; /* delivers on_close after qh_tls_close */
	const struct qh_tls_ops *ops;
	void *arg;
	struct qh_buf in, out;
	struct qh_identity peer;
	size_t high; /* queued output at or above this is "not writable" */
	int up;	     /* handshake done, not closing */
	int closing; /* qh_tls_close was called */
	int close_err;
	int handles;
};

/* Knobs and counters for the test, reset by fake_tls_reset(). */
static struct {
	size_t out_max; /* output buffer maximum for new connections */
	size_t high;	/* writable threshold for new connections */
	int closes;	/* qh_tls_close calls that started a close */
	struct qh_tls_conn *last;
} fake_tls;

static __attribute__((unused)) void
fake_tls_reset(void)
{
	memset(&fake_tls, 0, sizeof(fake_tls));
	fake_tls.out_max = 1024 * 1024;
	fake_tls.high = QH_TLS_HIGH_WATER;
}

struct qh_tls_conn *
qh_tls_new(uv_loop_t *loop, struct qh_tls_ctx *ctx QH_UNUSED,
    enum qh_tls_mode mode QH_UNUSED, const char *host QH_UNUSED,
    const char *pin QH_UNUSED, const struct qh_tls_ops *ops, void *arg)
{
	struct qh_tls_conn *conn;

	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return NULL;
	conn->ops = ops;
	conn->arg = arg;
	conn->high = fake_tls.high;
	qh_buf_init(&conn->in, 256 * 1024);
	qh_buf_init(&conn->out, fake_tls.out_max);
	uv_tcp_init(loop, &conn->tcp);
	uv_timer_init(loop, &conn->closer);
	conn->tcp.data = conn->closer.data = conn;
	conn->handles = 2;
	fake_tls.last = conn;
	return conn;
}

uv_tcp_t *
qh_tls_tcp(struct qh_tls_conn *conn)
{
	return &conn->tcp;
}

void *
qh_tls_arg(struct qh_tls_conn *conn)
{
	return conn->arg;
}

int
qh_tls_start(struct qh_tls_conn *conn QH_UNUSED)
{
	return 0;
}

int
qh_tls_dial(struct qh_tls_conn *conn QH_UNUSED, const char *host QH_UNUSED,
    int port QH_UNUSED, uint64_t deadline_ms QH_UNUSED, char *why QH_UNUSED,
    size_t whylen QH_UNUSED)
{
	return QH_ERR_ARG;
}

void
qh_tls_set_keepalive(struct qh_tls_conn *conn QH_UNUSED, uint64_t idle_ms QH_UNUSED,
    uint64_t dead_ms QH_UNUSED)
{
}

struct qh_buf *
qh_tls_outbuf(struct qh_tls_conn *conn)
{
	return &conn->out;
}

void
qh_tls_kick(struct qh_tls_conn *conn QH_UNUSED)
{
}

size_t
qh_tls_queued(const struct qh_tls_conn *conn)
{
	return qh_buf_len(&conn->out);
}

int
qh_tls_writable(struct qh_tls_conn *conn)
{
	return conn->up && qh_buf_len(&conn->out) < conn->high;
}

const char *
qh_tls_peer_addr(const struct qh_tls_conn *conn QH_UNUSED)
{
	return "192.0.2.1:4444";
}

const struct qh_identity *
qh_tls_peer(const struct qh_tls_conn *conn)
{
	return &conn->peer;
}

static void
fake_tls_handle_closed(uv_handle_t *h)
{
	struct qh_tls_conn *conn = h->data;

	if (--conn->handles > 0)
		return;
	if (conn->ops->on_close != NULL)
		conn->ops->on_close(conn, conn->close_err);
	qh_buf_release(&conn->in);
	qh_buf_release(&conn->out);
	if (fake_tls.last == conn)
		fake_tls.last = NULL;
	free(conn);
}

/* The close finishes on the loop's next turn, as the real one's does. */
static void
fake_tls_finish_close(uv_timer_t *t)
{
	struct qh_tls_conn *conn = t->data;

	uv_close((uv_handle_t *)&conn->tcp, fake_tls_handle_closed);
	uv_close((uv_handle_t *)&conn->closer, fake_tls_handle_closed);
}

void
qh_tls_close(struct qh_tls_conn *conn, int err)
{
	if (conn->closing)
		return;
	conn->closing = 1;
	conn->up = 0;
	conn->close_err = err;
	fake_tls.closes++;
	uv_timer_start(&conn->closer, fake_tls_finish_close, 0, 0);
}

/* The handshake completes with a peer of role and id. */
static __attribute__((unused)) int
fake_tls_ready(struct qh_tls_conn *conn, enum qh_role role, const char *id)
{
	int r;

	conn->peer.role = role;
	strncpy(conn->peer.id, id, sizeof(conn->peer.id) - 1);
	conn->up = 1;
	if (conn->ops->on_ready != NULL &&
	    (r = conn->ops->on_ready(conn, &conn->peer)) != 0) {
		qh_tls_close(conn, r);
		return r;
	}
	return 0;
}

/* The peer's bytes arrive: on_plaintext consumes what it can, as from TLS. */
static __attribute__((unused)) int
fake_tls_input(struct qh_tls_conn *conn, const void *p, size_t len)
{
	int r;

	if (!conn->up)
		return QH_ERR_CLOSED;
	if ((r = qh_buf_put(&conn->in, p, len)) != 0)
		return r;
	if ((r = conn->ops->on_plaintext(conn, &conn->in)) != 0)
		qh_tls_close(conn, r);
	return r;
}

/* Moves up to max bytes the mux sent into out (NULL: drops them). */
static __attribute__((unused)) size_t
fake_tls_take(struct qh_tls_conn *conn, struct qh_buf *out, size_t max)
{
	size_t n = qh_buf_len(&conn->out);

	if (n > max)
		n = max;
	if (out != NULL)
		(void)qh_buf_put(out, qh_buf_ptr(&conn->out), n);
	(void)qh_buf_consume(&conn->out, n);
	return n;
}

/* The peer read everything: output is empty and on_drain runs. */
static __attribute__((unused)) void
fake_tls_drain(struct qh_tls_conn *conn)
{
	(void)fake_tls_take(conn, NULL, (size_t)-1);
	if (conn->up && conn->ops->on_drain != NULL)
		conn->ops->on_drain(conn);
}
