/*
 * Fuzz target for the mux's dispatcher: the input is what a peer sends
 * after the handshake, frame sequences rather than single frames, fed to a
 * real qh_mux over the fake TLS layer of tests/unit/fake_tls.c while an
 * application answers the way the console's does (accepts, refuses, holds
 * and later answers opens; consumes, echoes, half-closes and closes from
 * inside its callbacks; opens channels of its own and closes one while it
 * opens).
 *
 * The first input byte picks the set-up: the output buffer's size (a
 * small one makes sends fail while the peer "does not read"), whether the
 * peer is authenticated or may only JOIN, whether the output is drained
 * between pieces, and the default answer to opens. The second picks the
 * piece sizes the rest is fed in. The loop turns between pieces, so
 * deferred closes run in the middle of a stream.
 *
 * Checked: no channel hears on_close from inside a call the application
 * made into the mux (sanitizers catch the use of freed channels); every
 * channel the application was given hears on_close exactly once unless
 * it closed it; the connection's on_close comes once, after the channels'
 * and every handle and allocation is gone at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/wire.h"

#include "../unit/fake_tls.c"

/* Checked in every build, NDEBUG or not. */
#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define MAX_HELD 8

/* The application's side of one channel. */
struct fchan {
	struct qh_chan *ch;
	int closes;
	size_t got;
};

static struct {
	int in_api; /* depth of application calls into the mux */
	int live;   /* fchans not yet closed by either side */
	int mux_closes;
	int policy;
	struct qh_mux *mux;
	struct qh_chan *held[MAX_HELD];
	int nheld;
} app;

static const struct qh_chan_ops fchan_ops;

static struct fchan *
fchan_new(void)
{
	struct fchan *fc = calloc(1, sizeof(*fc));

	CHECK(fc != NULL);
	app.live++;
	return fc;
}

/* The application closes a channel itself: no callback follows, so it is done. */
static void
app_close(struct qh_chan *ch)
{
	struct fchan *fc = qh_chan_arg(ch);

	app.in_api++;
	qh_chan_close(ch);
	app.in_api--;
	if (fc != NULL) {
		app.live--;
		free(fc);
	}
}

static void
app_write(struct qh_chan *ch, const void *p, size_t len)
{
	app.in_api++;
	(void)qh_chan_write(ch, 0, p, len);
	app.in_api--;
}

static void
fc_open_result(struct qh_chan *ch, int err, const struct qh_msg *m QH_UNUSED)
{
	if (err == 0)
		app_write(ch, "hello", 5);
	/* On refusal the channel is gone after this call; on_close does not follow. */
	else {
		app.live--;
		free(qh_chan_arg(ch));
	}
}

static void
fc_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct fchan *fc = qh_chan_arg(ch);

	fc->got += len;
	app.in_api++;
	qh_chan_consume(ch, len);
	app.in_api--;
	fc->ch = ch; /* after the send: the channel must still be there */
	if (len > 0 && p[0] == 'C') {
		app_close(ch);
		return;
	}
	if (len > 0 && p[0] == 'E') {
		app.in_api++;
		(void)qh_chan_eof(ch);
		app.in_api--;
		return;
	}
	if (!ext)
		app_write(ch, p, len < 512 ? len : 512);
}

static void
fc_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct qh_buf b;

	qh_buf_init(&b, 256);
	(void)qh_msg_begin(&b, QH_MSG_EXIT);
	(void)qh_msg_put_u32(&b, QH_K_STATUS, m->type);
	app.in_api++;
	(void)qh_chan_send_msg(ch, &b);
	app.in_api--;
	qh_buf_release(&b);
}

static void
fc_eof(struct qh_chan *ch)
{
	app.in_api++;
	(void)qh_chan_eof(ch);
	app.in_api--;
	app_close(ch);
}

static void
fc_close(struct qh_chan *ch)
{
	struct fchan *fc = qh_chan_arg(ch);
	int i;

	CHECK(app.in_api == 0);
	CHECK(fc->closes == 0);
	fc->closes++;
	for (i = 0; i < app.nheld; i++)
		if (app.held[i] == ch)
			app.held[i] = NULL;
	app.live--;
	free(fc);
}

static void
fc_writable(struct qh_chan *ch)
{
	app_write(ch, "more", 4);
}

static const struct qh_chan_ops fchan_ops = {
	.on_open_result = fc_open_result,
	.on_data = fc_data,
	.on_msg = fc_msg,
	.on_eof = fc_eof,
	.on_close = fc_close,
	.on_writable = fc_writable,
};

static int
app_on_open(struct qh_mux *mux QH_UNUSED, struct qh_chan *ch, const struct qh_msg *m)
{
	int how = (app.policy + (int)qh_chan_id(ch) + m->type) % 5;

	app.in_api++;
	switch (how) {
	case 0:
	case 1:
		(void)qh_chan_accept(ch, how == 0 ? 0 : QH_MUX_MIN_WINDOW, &fchan_ops,
		    fchan_new());
		break;
	case 2:
		qh_chan_refuse(ch, "refused", "no");
		break;
	case 3:
		if (app.nheld < MAX_HELD) {
			qh_chan_hold(ch, &fchan_ops, fchan_new());
			app.held[app.nheld++] = ch;
		} else
			qh_chan_refuse(ch, "limit", "too many held");
		break;
	case 4:
		(void)qh_chan_accept(ch, 0, &fchan_ops, fchan_new());
		app.in_api--;
		app_close(ch);
		app.in_api++;
		break;
	}
	app.in_api--;
	return m->type == QH_MSG_ERROR ? QH_ERR_REFUSED : 0;
}

static int
app_on_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct qh_buf b;
	int r;

	if (m->type == QH_MSG_ERROR)
		return QH_ERR_PROTOCOL;
	qh_buf_init(&b, 256);
	(void)qh_msg_begin(&b, QH_MSG_NOTICE);
	(void)qh_msg_put_str(&b, QH_K_TEXT, "noted");
	app.in_api++;
	r = qh_mux_send_control(mux, &b);
	app.in_api--;
	qh_buf_release(&b);
	(void)r;
	return 0;
}

/* Ours: three channels, the second closed while it opens. */
static int
app_on_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct qh_buf b;
	struct qh_chan *ch[3];
	int i;

	if (peer->role == QH_ROLE_NONE)
		return 0;
	qh_buf_init(&b, 256);
	(void)qh_msg_begin(&b, QH_MSG_ACTION);
	(void)qh_msg_put_str(&b, QH_K_CMD, "exec");
	app.in_api++;
	for (i = 0; i < 3; i++) {
		struct fchan *fc = fchan_new();

		if ((ch[i] = qh_chan_open(mux, &b, 0, &fchan_ops, fc)) == NULL) {
			app.live--;
			free(fc);
		}
	}
	app.in_api--;
	if (ch[1] != NULL)
		app_close(ch[1]);
	qh_buf_release(&b);
	return 0;
}

static void
app_on_close(struct qh_mux *mux QH_UNUSED, int err QH_UNUSED)
{
	CHECK(app.in_api == 0);
	app.mux_closes++;
	/* Every channel the application had is closed by now. */
	CHECK(app.live == 0);
	app.mux = NULL;
}

static const struct qh_mux_ops app_ops = {
	.on_ready = app_on_ready,
	.on_control = app_on_control,
	.on_open = app_on_open,
	.on_close = app_on_close,
};

/* Answers the oldest held open: accept or refuse, by its turn. */
static void
answer_held(int turn)
{
	struct qh_chan *ch = NULL;
	int i;

	for (i = 0; i < app.nheld && ch == NULL; i++) {
		ch = app.held[i];
		app.held[i] = NULL;
	}
	if (ch == NULL)
		return;
	app.in_api++;
	if (turn % 2 == 0)
		(void)qh_chan_accept(ch, 0, &fchan_ops, qh_chan_arg(ch));
	else {
		struct fchan *fc = qh_chan_arg(ch);

		qh_chan_refuse(ch, "later", "refused later");
		app.live--;
		free(fc);
	}
	app.in_api--;
}

int
LLVMFuzzerInitialize(int *argc QH_UNUSED, char ***argv QH_UNUSED)
{
	qh_log_init("fuzz_mux", QH_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t out_sizes[] = { 64, 600, 8192, 1024 * 1024 };
	static const size_t pieces[] = { 1, 5, 9, 17, 64, 333, 4096, 70000 };
	uv_loop_t loop;
	struct qh_tls_conn *tls;
	size_t off = 2, n;
	int turn = 0, drain;

	if (size < 2)
		return 0;
	memset(&app, 0, sizeof(app));
	fake_tls_reset();
	fake_tls.out_max = out_sizes[data[0] & 3];
	drain = (data[0] & 8) != 0;
	app.policy = data[0] >> 4;
	CHECK(uv_loop_init(&loop) == 0);
	app.mux = qh_mux_new(&loop, NULL, QH_TLS_SERVER, NULL, NULL, &app_ops, NULL);
	CHECK(app.mux != NULL);
	tls = qh_mux_tls(app.mux);
	(void)fake_tls_ready(tls, (data[0] & 4) ? QH_ROLE_NONE : QH_ROLE_TECHNICIAN,
	    "alice");
	while (off < size && app.mux != NULL && !qh_mux_closed(app.mux)) {
		n = pieces[(data[1] + turn) % (sizeof(pieces) / sizeof(pieces[0]))];
		if (n > size - off)
			n = size - off;
		if (n > qh_buf_room(&tls->in))
			n = qh_buf_room(&tls->in);
		(void)fake_tls_input(tls, data + off, n);
		off += n;
		if (app.mux == NULL || qh_mux_closed(app.mux))
			break;
		if (drain)
			fake_tls_drain(tls);
		if (turn % 3 == 2)
			answer_held(turn);
		(void)uv_run(&loop, UV_RUN_NOWAIT);
		turn++;
	}
	if (app.mux != NULL && !qh_mux_closed(app.mux))
		qh_mux_close(app.mux, 0, NULL);
	CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	CHECK(app.mux_closes == 1);
	CHECK(app.live == 0);
	CHECK(uv_loop_close(&loop) == 0);
	return 0;
}
