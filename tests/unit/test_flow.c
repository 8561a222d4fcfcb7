/*
 * Flow control through the real mux and TLS on loopback: a sender writes
 * a channel as fast as its window and the connection's high-water mark
 * let it, a receiver reads in bursts, and every byte must arrive. Sender
 * and receiver run on two loops that the test turns by hand, so the
 * receiver "stops reading" simply by not being turned, and the order of
 * events is the test's, not the scheduler's.
 *
 * test_window_while_above_high reproduces the relay stall of a 256 MiB
 * push: a window-limited write leaves the queue just under
 * QH_TLS_HIGH_WATER, encryption's record overhead lifts it over, and the
 * receiver's WINDOW arrives before the socket has taken it all. The
 * channel finds the connection unwritable then and waits for on_drain,
 * which TLS owed nobody, since no kick saw the queue over the mark: the
 * sender waited forever with every socket queue empty.
 */
#include <arpa/inet.h>

#include <signal.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/tls.h"
#include "qh/wire.h"

#define SOCKBUF (64 * 1024) /* per socket and direction; the kernel doubles it */

struct flow {
	uv_loop_t a, b; /* the sender's loop, the receiver's */
	uv_tcp_t listener;
	int port;
	struct qh_tls_ctx *sctx, *cctx;
	struct qh_mux *sender, *receiver;
	int sender_closed, receiver_closed;
	struct qh_chan *out; /* the sender's channel */
	struct qh_chan *in;  /* the receiver's */
	uint32_t window;     /* what the receiver grants */
	size_t total;	     /* bytes to move */
	size_t sent, got;
	int blocked; /* qh_chan_write took less than offered */
	int wakeups; /* on_writable calls */
	int burst;   /* receiver turns once in this many */
	char why[QH_DIAL_WHY_MAX];
	uint8_t chunk[256 * 1024];
};

static struct flow *F;

/* The sender: writes until the window or the connection says no. */
static void
send_more(struct qh_chan *ch)
{
	ssize_t n;
	size_t want;

	while (F->sent < F->total) {
		want = F->total - F->sent;
		if (want > sizeof(F->chunk))
			want = sizeof(F->chunk);
		n = qh_chan_write(ch, 0, F->chunk, want);
		assert_true(n >= 0);
		F->sent += (size_t)n;
		if ((size_t)n < want) {
			F->blocked++;
			return; /* on_writable follows */
		}
	}
	(void)qh_chan_eof(ch);
}

static void
sender_open_result(struct qh_chan *ch, int err, const struct qh_msg *m QH_UNUSED)
{
	assert_int_equal(err, 0);
	send_more(ch);
}

static void
sender_writable(struct qh_chan *ch)
{
	F->wakeups++;
	send_more(ch);
}

static void
sender_chan_close(struct qh_chan *ch QH_UNUSED)
{
	F->out = NULL;
}

static const struct qh_chan_ops sender_chan_ops = {
	.on_open_result = sender_open_result,
	.on_close = sender_chan_close,
	.on_writable = sender_writable,
};

static int
sender_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct qh_buf msg;

	/* A small send buffer: the socket cannot swallow a window at once. */
	assert_int_equal(uv_send_buffer_size((uv_handle_t *)qh_mux_tcp(mux),
			     &(int){ SOCKBUF }),
	    0);
	qh_buf_init(&msg, 256);
	(void)qh_msg_begin(&msg, QH_MSG_ACTION);
	(void)qh_msg_put_str(&msg, QH_K_CMD, "push");
	F->out = qh_chan_open(mux, &msg, 0, &sender_chan_ops, NULL);
	assert_non_null(F->out);
	qh_buf_release(&msg);
	return 0;
}

static void
sender_closed(struct qh_mux *mux QH_UNUSED, int err QH_UNUSED)
{
	F->sender_closed = 1;
	F->sender = NULL;
}

static const struct qh_mux_ops sender_ops = {
	.on_ready = sender_ready,
	.on_close = sender_closed,
};

/* The receiver: takes what comes and credits it at once. */
static void
receiver_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED,
    size_t len)
{
	F->got += len;
	qh_chan_consume(ch, len);
}

static void
receiver_eof(struct qh_chan *ch)
{
	qh_chan_close(ch);
	F->in = NULL;
}

static void
receiver_chan_close(struct qh_chan *ch QH_UNUSED)
{
	F->in = NULL;
}

static const struct qh_chan_ops receiver_chan_ops = {
	.on_data = receiver_data,
	.on_eof = receiver_eof,
	.on_close = receiver_chan_close,
};

static int
receiver_open(struct qh_mux *mux QH_UNUSED, struct qh_chan *ch,
    const struct qh_msg *m QH_UNUSED)
{
	F->in = ch;
	return qh_chan_accept(ch, F->window, &receiver_chan_ops, NULL);
}

static void
receiver_closed(struct qh_mux *mux QH_UNUSED, int err QH_UNUSED)
{
	F->receiver_closed = 1;
	F->receiver = NULL;
}

static const struct qh_mux_ops receiver_ops = {
	.on_open = receiver_open,
	.on_close = receiver_closed,
};

static void
on_connection(uv_stream_t *listener, int status)
{
	assert_int_equal(status, 0);
	F->receiver =
	    qh_mux_new(&F->b, F->sctx, QH_TLS_SERVER, NULL, NULL, &receiver_ops, NULL);
	assert_non_null(F->receiver);
	assert_int_equal(uv_accept(listener, (uv_stream_t *)qh_mux_tcp(F->receiver)), 0);
	assert_int_equal(qh_mux_start(F->receiver), 0);
}

/* A CA, the console's certificate for 127.0.0.1 and technician alice's. */
static void
make_contexts(struct flow *f)
{
	EVP_PKEY *cakey = NULL, *skey = NULL, *ckey = NULL;
	X509 *ca = NULL, *scert = NULL, *ccert = NULL;

	assert_int_equal(qh_pki_key_new(&cakey), 0);
	assert_int_equal(qh_pki_ca_new(cakey, "flow.test", &ca), 0);
	assert_int_equal(qh_pki_key_new(&skey), 0);
	assert_int_equal(qh_pki_issue(ca, cakey, skey, QH_ROLE_CONSOLE, "127.0.0.1", NULL,
			     1, &scert),
	    0);
	assert_int_equal(qh_pki_key_new(&ckey), 0);
	assert_int_equal(qh_pki_issue(ca, cakey, ckey, QH_ROLE_TECHNICIAN, "alice", NULL,
			     1, &ccert),
	    0);
	assert_int_equal(qh_tls_ctx_server(&f->sctx, scert, skey, ca), 0);
	assert_int_equal(qh_tls_ctx_client(&f->cctx, ccert, ckey, ca), 0);
	X509_free(ca), X509_free(scert), X509_free(ccert);
	EVP_PKEY_free(cakey), EVP_PKEY_free(skey), EVP_PKEY_free(ckey);
}

/* Two loops, a listener on B with small receive buffers, the sender dialling from A. */
static void
flow_start(struct flow *f)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	F = f;
	make_contexts(f);
	assert_int_equal(uv_loop_init(&f->a), 0);
	assert_int_equal(uv_loop_init(&f->b), 0);
	assert_int_equal(uv_tcp_init(&f->b, &f->listener), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(&f->listener, (struct sockaddr *)&sin, 0), 0);
	/* Accepted sockets inherit it: the receiver's kernel holds little. */
	assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&f->listener,
			     &(int){ SOCKBUF }),
	    0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 4, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(&f->listener, (struct sockaddr *)&ss, &len),
	    0);
	f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	f->sender = qh_mux_new(&f->a, f->cctx, QH_TLS_CLIENT, "127.0.0.1", NULL,
	    &sender_ops, NULL);
	assert_non_null(f->sender);
	assert_int_equal(qh_mux_dial(f->sender, "127.0.0.1", f->port, 5000, f->why,
			     sizeof(f->why)),
	    0);
}

/*
 * Turns the loops until the receiver has everything or nothing moves for
 * two seconds; the receiver turns once every `burst` turns of the sender.
 * Returns 1 if everything arrived.
 */
static int
flow_run(struct flow *f)
{
	uint64_t last_move = qh_clock_mono_ms();
	size_t last_got = 0, last_sent = 0;
	unsigned long turn;

	for (turn = 0; f->got < f->total; turn++) {
		(void)uv_run(&f->a, UV_RUN_NOWAIT);
		if (turn % (unsigned long)f->burst == 0)
			(void)uv_run(&f->b, UV_RUN_NOWAIT);
		if (f->got != last_got || f->sent != last_sent) {
			last_got = f->got;
			last_sent = f->sent;
			last_move = qh_clock_mono_ms();
		} else if (qh_clock_mono_ms() - last_move > 2000)
			break;
		if (f->sender_closed || f->receiver_closed)
			break;
	}
	if (f->got < f->total)
		print_message("stalled: sent %zu, received %zu of %zu; sender blocked %d "
			      "times, woken %d; its queue %zu bytes\n",
		    f->sent, f->got, f->total, f->blocked, f->wakeups,
		    f->sender != NULL ? qh_tls_queued(qh_mux_tls(f->sender)) : 0);
	return f->got == f->total;
}

static void
flow_finish(struct flow *f)
{
	if (f->sender != NULL)
		qh_mux_close(f->sender, 0, NULL);
	uv_close((uv_handle_t *)&f->listener, NULL);
	while (!f->sender_closed || (f->receiver != NULL && !f->receiver_closed)) {
		(void)uv_run(&f->a, UV_RUN_NOWAIT);
		(void)uv_run(&f->b, UV_RUN_NOWAIT);
		if (f->sender_closed && f->receiver != NULL)
			qh_mux_close(f->receiver, 0, NULL);
	}
	if (f->receiver != NULL)
		qh_mux_close(f->receiver, 0, NULL);
	assert_int_equal(uv_run(&f->a, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_run(&f->b, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->a), 0);
	assert_int_equal(uv_loop_close(&f->b), 0);
	qh_tls_ctx_free(f->sctx);
	qh_tls_ctx_free(f->cctx);
}

/*
 * The first write is held by the window to leave the queue 64 bytes under
 * the high-water mark (16 DATA frames, 9 header bytes each); encryption
 * adds 22 bytes to each of its 64 records and lifts it over. The
 * receiver's first WINDOW (a quarter window consumed) then arrives while
 * the socket still holds most of it.
 */
static void
test_window_while_above_high(void **state QH_UNUSED)
{
	struct flow *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->window = QH_TLS_HIGH_WATER - 64 - 16 * QH_WIRE_HDR_LEN;
	f->total = 4 * (size_t)f->window;
	f->burst = 1;
	flow_start(f);
	assert_true(flow_run(f));
	assert_true(f->blocked > 0);
	flow_finish(f);
	free(f);
}

/*
 * Smallest windows, a reader that turns once in five: many short stops of
 * both kinds (window and high water), all resumed.
 */
static void
test_bursty_reader(void **state QH_UNUSED)
{
	struct flow *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->window = QH_MUX_MIN_WINDOW;
	f->total = 8 * 1024 * 1024;
	f->burst = 5;
	flow_start(f);
	assert_true(flow_run(f));
	assert_true(f->blocked > 0);
	flow_finish(f);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_while_above_high),
		cmocka_unit_test(test_bursty_reader),
	};

	qh_log_init("test_flow", QH_LOG_WARN);
	signal(SIGPIPE, SIG_IGN); /* a closed peer shows as EPIPE */
	if (getenv("QH_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("QH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
