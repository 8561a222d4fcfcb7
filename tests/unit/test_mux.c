/*
 * Unit tests for common/mux.c over a fake TLS layer (fake_tls.c) whose
 * output buffer the test sizes: the test plays the peer frame by frame.
 *
 * A send that finds the output full never tears the connection down under
 * its caller: qh_chan_consume, qh_chan_close, qh_chan_accept and
 * qh_chan_refuse return into live memory, a peer that provokes PONGs or
 * OPEN_FAILs while not reading gets its connection closed without a
 * channel's on_close running inside the call, and on the next loop turn
 * every channel has its on_close once and then the connection its own,
 * with the error kept. A CLOSE for a channel whose OPEN the peer never
 * answered is a protocol error (it leaked the channel before), and the
 * ordinary order (OPEN_OK, then CLOSE) frees it.
 */
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
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/mux.h"
#include "qh/wire.h"

#include "fake_tls.c"

#define NCHANS 8

enum open_policy {
	OPEN_ACCEPT, /* qh_chan_accept, then use the channel */
	OPEN_REFUSE, /* qh_chan_refuse */
	OPEN_HOLD,   /* qh_chan_hold: answered later */
};

/* What the application knows of one channel. */
struct tchan {
	struct qh_chan *ch;
	int used;
	int closes;	   /* on_close calls */
	int closed_inside; /* on_close ran while the test was inside a mux call */
	int opened;	   /* on_open_result said 0 */
	size_t got;	   /* data bytes received */
};

struct app {
	uv_loop_t loop;
	struct qh_mux *mux;
	struct qh_tls_conn *tls;
	enum open_policy policy;
	uint32_t accept_window;
	int inside; /* 1 while the test is inside a call into the mux */
	int ready;
	int closes; /* the connection's on_close */
	int close_err;
	int chans_open_at_close; /* channel on_closes still missing then */
	struct tchan t[NCHANS];
};

static struct tchan *
tchan_new(struct app *a)
{
	int i;

	for (i = 0; i < NCHANS; i++)
		if (!a->t[i].used) {
			memset(&a->t[i], 0, sizeof(a->t[i]));
			a->t[i].used = 1;
			return &a->t[i];
		}
	fail_msg("out of test channels");
	return NULL;
}

static struct app *the_app; /* channel callbacks find the application here */

static void
chan_on_open_result(struct qh_chan *ch, int err, const struct qh_msg *m QH_UNUSED)
{
	struct tchan *tc = qh_chan_arg(ch);

	if (err == 0)
		tc->opened = 1;
}

static void
chan_on_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED,
    size_t len)
{
	struct tchan *tc = qh_chan_arg(ch);

	tc->got += len;
	/* Used at once: credit goes back, which is a send. */
	qh_chan_consume(ch, len);
	/* Written only now: the channel must still be ours after the send. */
	tc->ch = ch;
}

static void
chan_on_close(struct qh_chan *ch)
{
	struct tchan *tc = qh_chan_arg(ch);

	tc->closes++;
	if (the_app->inside)
		tc->closed_inside = 1;
	tc->ch = NULL;
}

static const struct qh_chan_ops chan_ops = {
	.on_open_result = chan_on_open_result,
	.on_data = chan_on_data,
	.on_close = chan_on_close,
};

static int
app_on_open(struct qh_mux *mux, struct qh_chan *ch, const struct qh_msg *m QH_UNUSED)
{
	struct app *a = qh_mux_arg(mux);
	struct tchan *tc;

	switch (a->policy) {
	case OPEN_ACCEPT:
		tc = tchan_new(a);
		(void)qh_chan_accept(ch, a->accept_window, &chan_ops, tc);
		/* Code after a send touches the channel, as applications do. */
		qh_chan_set_arg(ch, tc);
		tc->ch = ch;
		break;
	case OPEN_REFUSE:
		qh_chan_refuse(ch, "refused", "not here");
		break;
	case OPEN_HOLD:
		tc = tchan_new(a);
		qh_chan_hold(ch, &chan_ops, tc);
		tc->ch = ch;
		break;
	}
	return 0;
}

static int
app_on_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct app *a = qh_mux_arg(mux);

	a->ready = 1;
	return 0;
}

static void
app_on_close(struct qh_mux *mux, int err)
{
	struct app *a = qh_mux_arg(mux);
	int i;

	a->closes++;
	a->close_err = err;
	for (i = 0; i < NCHANS; i++)
		if (a->t[i].used && a->t[i].ch != NULL && a->t[i].closes == 0)
			a->chans_open_at_close++;
	a->mux = NULL;
	a->tls = NULL;
}

static const struct qh_mux_ops app_ops = {
	.on_ready = app_on_ready,
	.on_open = app_on_open,
	.on_close = app_on_close,
};

/* A ready connection to technician alice whose output holds out_max bytes. */
static void
app_start(struct app *a, size_t out_max)
{
	memset(a, 0, sizeof(*a));
	the_app = a;
	fake_tls_reset();
	fake_tls.out_max = out_max;
	a->accept_window = QH_MUX_MIN_WINDOW;
	assert_int_equal(uv_loop_init(&a->loop), 0);
	a->mux = qh_mux_new(&a->loop, NULL, QH_TLS_SERVER, NULL, NULL, &app_ops, a);
	assert_non_null(a->mux);
	a->tls = qh_mux_tls(a->mux);
	assert_ptr_equal(a->tls, fake_tls.last);
	assert_int_equal(fake_tls_ready(a->tls, QH_ROLE_TECHNICIAN, "alice"), 0);
	assert_true(a->ready);
}

/* Closes what is left, runs the loop dry and checks every handle is gone. */
static void
app_finish(struct app *a)
{
	if (a->mux != NULL && a->closes == 0)
		qh_mux_close(a->mux, 0, NULL);
	assert_int_equal(uv_run(&a->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(a->closes, 1);
	assert_int_equal(uv_loop_close(&a->loop), 0);
}

/* One loop turn: what was deferred to it runs. */
static void
turn(struct app *a)
{
	(void)uv_run(&a->loop, UV_RUN_NOWAIT);
}

/* The peer sends one frame. */
static int
peer_frame(struct app *a, uint8_t type, uint32_t chan, const void *p, size_t len)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, QH_WIRE_HDR_LEN + QH_WIRE_MAX_PAYLOAD);
	assert_int_equal(qh_wire_put_frame(&b, type, chan, p, len), 0);
	a->inside = 1;
	r = fake_tls_input(a->tls, qh_buf_ptr(&b), qh_buf_len(&b));
	a->inside = 0;
	qh_buf_release(&b);
	return r;
}

static void
put_be32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24), d[1] = (uint8_t)(v >> 16);
	d[2] = (uint8_t)(v >> 8), d[3] = (uint8_t)v;
}

/* The peer opens its channel pid with a REQUEST exec. */
static void
peer_open(struct app *a, uint32_t pid)
{
	struct qh_buf b;

	qh_buf_init(&b, 1024);
	(void)qh_buf_put_u32(&b, QH_MUX_WINDOW);
	(void)qh_msg_begin(&b, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&b, QH_K_CMD, "exec");
	assert_int_equal(qh_buf_error(&b), 0);
	assert_int_equal(peer_frame(a, QH_FRAME_OPEN, pid, qh_buf_ptr(&b),
			     qh_buf_len(&b)),
	    0);
	qh_buf_release(&b);
}

/* The peer stops reading: the output buffer is full to the last byte. */
static void
fill_output(struct app *a)
{
	struct qh_buf *out = qh_tls_outbuf(a->tls);
	uint8_t junk[256];

	memset(junk, 0, sizeof(junk));
	while (qh_buf_room(out) > 0)
		(void)qh_buf_put(out, junk,
		    qh_buf_room(out) < sizeof(junk) ? qh_buf_room(out) : sizeof(junk));
	assert_int_equal(qh_buf_room(out), 0);
}

/* The id of the channel the mux accepted for the peer's pid (from its OPEN_OK). */
static uint32_t
our_id(struct app *a, uint32_t pid)
{
	struct qh_buf out, view;
	struct qh_frame f;
	uint32_t id = 0;

	qh_buf_init(&out, fake_tls.out_max);
	(void)fake_tls_take(a->tls, &out, (size_t)-1);
	qh_buf_init_ro(&view, qh_buf_ptr(&out), qh_buf_len(&out));
	while (qh_wire_decode(&view, &f) == 1) {
		if (f.type == QH_FRAME_OPEN_OK && f.chan == pid && f.len == 8)
			id = (uint32_t)f.payload[0] << 24 | (uint32_t)f.payload[1] << 16 |
			    (uint32_t)f.payload[2] << 8 | f.payload[3];
		(void)qh_buf_consume(&view, QH_WIRE_HDR_LEN + f.len);
	}
	qh_buf_release(&out);
	return id;
}

/* After the failed send: nothing went inside; one turn later all is told. */
static void
expect_closed_next_turn(struct app *a, int nchans, int err)
{
	int i;

	assert_true(qh_mux_closed(a->mux));
	for (i = 0; i < nchans; i++) {
		assert_int_equal(a->t[i].closed_inside, 0);
		assert_int_equal(a->t[i].closes, 0);
	}
	turn(a);
	for (i = 0; i < nchans; i++)
		assert_int_equal(a->t[i].closes, 1);
	assert_int_equal(uv_run(&a->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(a->closes, 1);
	assert_int_equal(a->close_err, err);
	assert_int_equal(a->chans_open_at_close, 0);
}

/*
 * Data arrives while the peer does not read: the credit it earns cannot be
 * sent. qh_chan_consume returns into a live channel (on_data writes to it
 * after the call), and the channels hear of the close on the next turn.
 */
static void
test_consume_when_full(void **state QH_UNUSED)
{
	struct app a;
	uint8_t data[QH_MUX_MIN_WINDOW / 4];
	uint32_t id1, id2;

	app_start(&a, 4096);
	peer_open(&a, 7);
	id1 = our_id(&a, 7);
	peer_open(&a, 8);
	id2 = our_id(&a, 8);
	assert_int_not_equal(id1, 0);
	assert_int_not_equal(id2, 0);
	fill_output(&a);
	memset(data, 'x', sizeof(data));
	/* A quarter window consumed: a WINDOW frame is due, and does not fit. */
	assert_int_equal(peer_frame(&a, QH_FRAME_DATA, id1, data, sizeof(data)), 0);
	assert_int_equal(a.t[0].got, sizeof(data));
	expect_closed_next_turn(&a, 2, QH_ERR_TOO_LARGE);
	app_finish(&a);
}

/* qh_chan_close with the output full reads its channel after the send. */
static void
test_close_when_full(void **state QH_UNUSED)
{
	struct app a;
	struct qh_chan *ch;

	app_start(&a, 4096);
	peer_open(&a, 7);
	peer_open(&a, 8);
	(void)our_id(&a, 7);
	fill_output(&a);
	ch = a.t[0].ch;
	a.t[0].ch = NULL;
	a.inside = 1;
	qh_chan_close(ch); /* no callbacks follow for it */
	a.inside = 0;
	assert_true(qh_mux_closed(a.mux));
	assert_int_equal(a.t[1].closes, 0);
	turn(&a);
	assert_int_equal(a.t[0].closes, 0);
	assert_int_equal(a.t[1].closes, 1);
	assert_int_equal(a.t[1].closed_inside, 0);
	app_finish(&a);
	assert_int_equal(a.close_err, QH_ERR_TOO_LARGE);
}

/*
 * The OPEN_OK does not fit: qh_chan_accept returns an error, and the
 * channel it was given stays valid until its on_close on the next turn.
 */
static void
test_accept_when_full(void **state QH_UNUSED)
{
	struct app a;

	app_start(&a, 4096);
	peer_open(&a, 7);
	(void)our_id(&a, 7);
	fill_output(&a);
	peer_open(&a, 8); /* accepted; app_on_open writes to it after the send */
	expect_closed_next_turn(&a, 2, QH_ERR_TOO_LARGE);
	app_finish(&a);
}

/*
 * A peer that does not read opens channels the application refuses: the
 * OPEN_FAIL that does not fit closes the connection, and the refused
 * channel is freed once (not again by the close), the held one is told.
 */
static void
test_refuse_when_full(void **state QH_UNUSED)
{
	struct app a;

	app_start(&a, 4096);
	a.policy = OPEN_HOLD;
	peer_open(&a, 7);
	fill_output(&a);
	a.policy = OPEN_REFUSE;
	peer_open(&a, 8);
	expect_closed_next_turn(&a, 1, QH_ERR_TOO_LARGE);
	app_finish(&a);
}

/* PINGs while the peer does not read: the PONG that does not fit closes it. */
static void
test_pong_when_full(void **state QH_UNUSED)
{
	static const uint8_t cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct app a;
	int i;

	app_start(&a, 4096);
	peer_open(&a, 7);
	peer_open(&a, 8);
	for (i = 0; i < 1000 && !qh_mux_closed(a.mux); i++)
		(void)peer_frame(&a, QH_FRAME_PING, 0, cookie, sizeof(cookie));
	expect_closed_next_turn(&a, 2, QH_ERR_TOO_LARGE);
	app_finish(&a);
}

/* Our OPEN, answered by OPEN_OK and then CLOSE: the channel is freed. */
static void
test_open_ok_then_close(void **state QH_UNUSED)
{
	struct app a;
	struct qh_buf msg;
	struct qh_chan *ch;
	uint8_t ok[8];
	uint32_t id;

	app_start(&a, 64 * 1024);
	qh_buf_init(&msg, 256);
	(void)qh_msg_begin(&msg, QH_MSG_ACTION);
	(void)qh_msg_put_str(&msg, QH_K_CMD, "exec");
	ch = qh_chan_open(a.mux, &msg, 0, &chan_ops, tchan_new(&a));
	assert_non_null(ch);
	id = qh_chan_id(ch);
	qh_chan_close(ch); /* while it opens */
	put_be32(ok, 99);
	put_be32(ok + 4, QH_MUX_WINDOW);
	assert_int_equal(peer_frame(&a, QH_FRAME_OPEN_OK, id, ok, sizeof(ok)), 0);
	assert_int_equal(peer_frame(&a, QH_FRAME_CLOSE, id, NULL, 0), 0);
	assert_false(qh_mux_closed(a.mux));
	/* Gone: a frame for it now is for a channel that was never opened. */
	(void)peer_frame(&a, QH_FRAME_EOF, id, NULL, 0);
	assert_true(qh_mux_closed(a.mux));
	qh_buf_release(&msg);
	app_finish(&a);
	assert_int_equal(a.close_err, QH_ERR_PROTOCOL);
	assert_int_equal(a.t[0].closes, 0);
}

/*
 * Our OPEN, closed by us while opening; the peer sends CLOSE before any
 * OPEN_OK. The channel was kept until the connection ended; now the peer
 * is told it broke the protocol, as for any frame on an unanswered open.
 */
static void
test_close_before_open_ok(void **state QH_UNUSED)
{
	struct app a;
	struct qh_buf msg;
	struct qh_chan *ch;
	uint32_t id;

	app_start(&a, 64 * 1024);
	qh_buf_init(&msg, 256);
	(void)qh_msg_begin(&msg, QH_MSG_ACTION);
	(void)qh_msg_put_str(&msg, QH_K_CMD, "exec");
	ch = qh_chan_open(a.mux, &msg, 0, &chan_ops, tchan_new(&a));
	assert_non_null(ch);
	id = qh_chan_id(ch);
	qh_chan_close(ch);
	(void)peer_frame(&a, QH_FRAME_CLOSE, id, NULL, 0);
	assert_true(qh_mux_closed(a.mux));
	qh_buf_release(&msg);
	app_finish(&a);
	assert_int_equal(a.close_err, QH_ERR_PROTOCOL);
}

/*
 * Payloads read as u32s are exactly their size: short or long ones, and an
 * OPEN whose window is too large, are protocol errors, decided before a
 * channel is made.
 */
static void
test_bad_payloads(void **state QH_UNUSED)
{
	static const struct {
		uint8_t type;
		size_t len;
	} bad[] = {
		{ QH_FRAME_OPEN, 3 }, { QH_FRAME_OPEN_OK, 7 }, { QH_FRAME_OPEN_OK, 9 },
		{ QH_FRAME_WINDOW, 3 }, { QH_FRAME_WINDOW, 5 },
		{ QH_FRAME_OPEN, 0 }, /* window too large, see below */
	};
	uint8_t p[16];
	struct app a;
	struct qh_buf msg;
	struct qh_chan *ch;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t chan = 7;
		size_t len = bad[i].len;

		app_start(&a, 64 * 1024);
		memset(p, 0, sizeof(p));
		put_be32(p, 1);
		if (bad[i].type == QH_FRAME_OPEN_OK) {
			/* For a channel of ours, which the peer may answer. */
			qh_buf_init(&msg, 256);
			(void)qh_msg_begin(&msg, QH_MSG_ACTION);
			(void)qh_msg_put_str(&msg, QH_K_CMD, "exec");
			ch = qh_chan_open(a.mux, &msg, 0, &chan_ops, tchan_new(&a));
			assert_non_null(ch);
			chan = qh_chan_id(ch);
			qh_buf_release(&msg);
		} else if (bad[i].type == QH_FRAME_WINDOW) {
			peer_open(&a, 7);
			chan = our_id(&a, 7);
		} else if (len == 0) {
			/* A whole OPEN whose window is over the maximum. */
			put_be32(p, QH_MUX_MAX_WINDOW + 1);
			p[4] = QH_MSG_REQUEST;
			len = 5;
		}
		(void)peer_frame(&a, bad[i].type, chan, p, len);
		assert_true(qh_mux_closed(a.mux));
		/* No channel was made for the bad frame (an OPEN's on_open never ran). */
		assert_int_equal(a.t[0].used, bad[i].type != QH_FRAME_OPEN);
		assert_int_equal(a.t[1].used, 0);
		app_finish(&a);
		assert_int_equal(a.close_err, QH_ERR_PROTOCOL);
	}
}

/* An explicit qh_mux_close still tells every channel before it returns. */
static void
test_close_explicit(void **state QH_UNUSED)
{
	struct app a;

	app_start(&a, 64 * 1024);
	peer_open(&a, 7);
	peer_open(&a, 8);
	qh_mux_close(a.mux, QH_ERR_REFUSED, NULL);
	assert_int_equal(a.t[0].closes, 1);
	assert_int_equal(a.t[1].closes, 1);
	assert_int_equal(a.closes, 0);
	app_finish(&a);
	assert_int_equal(a.close_err, QH_ERR_REFUSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consume_when_full),
		cmocka_unit_test(test_close_when_full),
		cmocka_unit_test(test_accept_when_full),
		cmocka_unit_test(test_refuse_when_full),
		cmocka_unit_test(test_pong_when_full),
		cmocka_unit_test(test_open_ok_then_close),
		cmocka_unit_test(test_close_before_open_ok),
		cmocka_unit_test(test_close_explicit),
		cmocka_unit_test(test_bad_payloads),
	};

	/* One case alone: QH_TEST_FILTER=test_pong_when_full. */
	if (getenv("QH_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("QH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
