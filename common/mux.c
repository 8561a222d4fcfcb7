/*
 * Channel multiplexing over a qh_tls connection: the connection's life,
 * its output, and the frame dispatcher that keeps channel states and
 * windows. The channel calls of qh/mux.h are in mux_chan.c; what both
 * files share is in mux_int.h.
 *
 * Nothing is torn down from inside a send or a dispatch (OpenSSH's
 * chan_mark_dead and channel_garbage_collect): a send that finds the
 * output full, or a peer that breaks the protocol, only marks the
 * connection dead and keeps the error; the channels hear of it from the
 * reaper on the next loop turn, so every caller returns into memory that
 * is still there. Only qh_mux_close, which the application calls knowing
 * what it does, tells the channels at once.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "mux_int.h"

static const char *
peer_name(struct qh_mux *mux)
{
	const struct qh_identity *id = qh_tls_peer(mux->tls);

	if (id->role == QH_ROLE_NONE)
		snprintf(mux->name, sizeof(mux->name), "%s", qh_tls_peer_addr(mux->tls));
	else
		snprintf(mux->name, sizeof(mux->name), "%s %s %s",
		    qh_tls_peer_addr(mux->tls), qh_role_name(id->role), id->id);
	return mux->name;
}

const char *
qh_mux_name(const struct qh_mux *mux)
{
	return peer_name((struct qh_mux *)mux);
}

/*
 * Tells every channel that is left that it is gone and frees them all, once.
 * Runs where no caller holds a channel: the reaper, qh_mux_close, the
 * connection's own close callback.
 */
static void
mux_reap(struct qh_mux *mux)
{
	unsigned i;

	assert(mux->state == MUX_CLOSED);
	if (mux->reaped)
		return;
	mux->reaped = 1;
	uv_idle_stop(&mux->reaper);
	for (i = 1; i <= mux->chans_cap && mux->nchans > 0; i++) {
		struct qh_chan *ch = mux->chans[i];

		const struct qh_chan_ops *ops;
		enum chan_state was;

		if (ch == NULL)
			continue;
		/* Marked closing first, so a qh_chan_close() from on_close is a no-op. */
		ops = ch->ops;
		was = ch->state;
		ch->state = CH_CLOSING;
		if (was != CH_CLOSING && ops != NULL && ops->on_close != NULL)
			ops->on_close(ch);
		mux__chan_free(ch);
	}
}

static void
on_reap(uv_idle_t *h)
{
	mux_reap(h->data);
}

/*
 * Marks the connection dead with err (the first cause is kept) and starts
 * closing TLS, which calls nothing back from inside. Safe from anywhere,
 * inside a send included: no channel is freed and no callback runs before
 * the reaper's turn.
 */
void
mux__mark_dead(struct qh_mux *mux, int err, const char *why)
{
	if (mux->state == MUX_CLOSED)
		return;
	if (why != NULL)
		qh_warn("peer %s: %s; closing", peer_name(mux), why);
	mux->state = MUX_CLOSED;
	mux->err = err;
	uv_idle_start(&mux->reaper, on_reap);
	qh_tls_close(mux->tls, err);
}

void
qh_mux_close(struct qh_mux *mux, int err, const char *why)
{
	mux__mark_dead(mux, err, why);
	mux_reap(mux);
}

/* Logs a protocol violation and closes only this peer. */
static int protocol_error(struct qh_mux *mux, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
protocol_error(struct qh_mux *mux, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (mux->state != MUX_CLOSED)
		qh_warn("peer %s: protocol error: %s; closing", peer_name(mux), why);
	mux__mark_dead(mux, QH_ERR_PROTOCOL, NULL);
	return QH_ERR_PROTOCOL;
}

/* Output. */

/*
 * Appends a frame for the peer. A full output marks the connection dead
 * (the peer stopped reading); the caller's channel stays valid until the
 * reaper runs, so code after a send may still touch it.
 */
int
mux__send_frame(struct qh_mux *mux, uint8_t type, uint32_t chan, const void *p,
    size_t len)
{
	int r;

	if (mux->state == MUX_CLOSED)
		return QH_ERR_CLOSED;
	if ((r = qh_wire_put_frame(qh_tls_outbuf(mux->tls), type, chan, p, len)) != 0) {
		mux__mark_dead(mux, r, "output buffer full");
		return r;
	}
	qh_tls_kick(mux->tls);
	return 0;
}

/* A message whose building failed is never sent, not even in part. */
int
mux__unbuilt(struct qh_mux *mux, const struct qh_buf *msg)
{
	qh_warn("%s: message not sent: %s while building it", qh_mux_name(mux),
	    qh_strerror(qh_buf_error(msg)));
	return qh_buf_error(msg);
}

int
qh_mux_send_control(struct qh_mux *mux, const struct qh_buf *msg)
{
	if (qh_buf_error(msg) != 0)
		return mux__unbuilt(mux, msg);
	return mux__send_frame(mux, QH_FRAME_CONTROL, 0, qh_buf_ptr(msg),
	    qh_buf_len(msg));
}

int
mux__build_error(struct qh_buf *b, const char *code, const char *text)
{
	int r;

	if ((r = qh_msg_begin(b, QH_MSG_ERROR)) != 0 ||
	    (r = qh_msg_put_str(b, QH_K_CODE, code)) != 0 ||
	    (r = qh_msg_put(b, QH_K_TEXT, text, strnlen(text, 4000))) != 0)
		return r;
	return 0;
}

int
qh_mux_send_error(struct qh_mux *mux, const char *code, const char *text)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 8192);
	if ((r = mux__build_error(&b, code, text)) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	return r;
}

/* Input: one handler per frame type. */

typedef int (*frame_handler)(struct qh_mux *mux, const struct qh_frame *f);

/*
 * Reads a payload that is exactly n u32s, through the bounded reader.
 * Returns 0, or <0 when the payload is shorter or longer.
 */
static int
payload_u32s(const struct qh_frame *f, uint32_t *v, int n)
{
	struct qh_buf b;
	int i, r;

	qh_buf_init_ro(&b, f->payload, f->len);
	for (i = 0; i < n; i++)
		if ((r = qh_buf_get_u32(&b, &v[i])) != 0)
			return r;
	return qh_buf_len(&b) == 0 ? 0 : QH_ERR_FORMAT;
}

/* Finds the channel a frame is addressed to, or reports the peer. */
static struct qh_chan *
frame_chan(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;

	if (f->chan == 0 || f->chan > mux->chans_cap ||
	    (ch = mux->chans[f->chan]) == NULL || ch->state == CH_PENDING) {
		protocol_error(mux,
		    "%s frame for channel %" PRIu32 " that was never opened",
		    qh_wire_frame_name(f->type), f->chan);
		return NULL;
	}
	return ch;
}

/* 1 while our OPEN of ch has had neither OPEN_OK nor OPEN_FAIL (closed or not). */
static int
chan_unanswered(const struct qh_chan *ch)
{
	return ch->remote_id == 0;
}

/*
 * Finds the channel of a frame that needs an answered open: only OPEN_OK
 * and OPEN_FAIL may come for a channel whose OPEN the peer has not
 * answered, whether or not we closed it meanwhile (a CLOSE before the
 * OPEN_OK left that channel with no frame ever to free it).
 */
static struct qh_chan *
frame_open_chan(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;

	if ((ch = frame_chan(mux, f)) == NULL)
		return NULL;
	if (chan_unanswered(ch)) {
		protocol_error(mux,
		    "%s frame on channel %" PRIu32 " before its open was answered",
		    qh_wire_frame_name(f->type), f->chan);
		return NULL;
	}
	return ch;
}

static int
on_frame_control(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_msg m;
	int r;

	if (f->chan != 0)
		return protocol_error(mux, "control frame on channel %" PRIu32, f->chan);
	if ((r = qh_msg_decode(f->payload, f->len, &m)) != 0)
		return protocol_error(mux, "bad control message: %s", qh_strerror(r));
	if (mux->state == MUX_JOIN) {
		if (mux->joined || m.type != QH_MSG_JOIN)
			return protocol_error(mux, "%s before authentication",
			    qh_msg_name(m.type));
		mux->joined = 1;
	}
	return mux->ops->on_control != NULL ? mux->ops->on_control(mux, &m) : 0;
}

static int
on_frame_open(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;
	struct qh_msg m;
	struct qh_buf pl;
	uint32_t window;
	int r;

	/* u32 window, then the message; both checked before anything is made. */
	qh_buf_init_ro(&pl, f->payload, f->len);
	if (f->chan == 0 || qh_buf_get_u32(&pl, &window) != 0)
		return protocol_error(mux, "malformed open");
	if (window > QH_MUX_MAX_WINDOW)
		return protocol_error(mux, "window %" PRIu32 " too large", window);
	if ((r = qh_msg_decode(qh_buf_ptr(&pl), qh_buf_len(&pl), &m)) != 0)
		return protocol_error(mux, "bad open message: %s", qh_strerror(r));
	if ((ch = mux__chan_new(mux)) == NULL) {
		struct qh_buf b;

		/* Over the channel limit: refuse this one, keep the connection. */
		qh_buf_init(&b, 1024);
		if (mux__build_error(&b, "limit", "too many channels") == 0)
			(void)mux__send_frame(mux, QH_FRAME_OPEN_FAIL, f->chan,
			    qh_buf_ptr(&b), qh_buf_len(&b));
		qh_buf_release(&b);
		return 0;
	}
	ch->state = CH_PENDING;
	ch->remote_id = f->chan;
	ch->send_window = window;
	if (mux->ops->on_open == NULL) {
		qh_chan_refuse(ch, "unsupported", "channels are not accepted here");
		return 0;
	}
	return mux->ops->on_open(mux, ch, &m);
}

static int
on_frame_open_ok(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;
	uint32_t v[2]; /* the peer's id, its window */

	if ((ch = frame_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (!chan_unanswered(ch))
		return protocol_error(mux, "open-ok for open channel %" PRIu32, f->chan);
	if (payload_u32s(f, v, 2) != 0 || v[0] == 0 || v[1] > QH_MUX_MAX_WINDOW)
		return protocol_error(mux, "malformed open-ok");
	ch->remote_id = v[0];
	ch->send_window = v[1];
	if (ch->state == CH_CLOSING) {
		/* Closed by us while opening: finish the close now. */
		ch->sent_close = 1;
		return mux__send_frame(mux, QH_FRAME_CLOSE, ch->remote_id, NULL, 0);
	}
	ch->state = CH_OPEN;
	if (ch->ops->on_open_result != NULL)
		ch->ops->on_open_result(ch, 0, NULL);
	return 0;
}

static int
on_frame_open_fail(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;
	struct qh_msg m;

	if ((ch = frame_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (!chan_unanswered(ch))
		return protocol_error(mux, "open-fail for open channel %" PRIu32,
		    f->chan);
	if (qh_msg_decode(f->payload, f->len, &m) != 0 || m.type != QH_MSG_ERROR)
		return protocol_error(mux, "malformed open-fail");
	if (ch->state == CH_OPENING && ch->ops->on_open_result != NULL) {
		ch->state = CH_CLOSING;
		ch->ops->on_open_result(ch, QH_ERR_REFUSED, &m);
		if (mux->state == MUX_CLOSED)
			return 0; /* freed with the connection */
	}
	mux__chan_free(ch);
	return 0;
}

static int
on_frame_data(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;

	if ((ch = frame_open_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (ch->got_eof || ch->got_close)
		return protocol_error(mux, "data after eof on channel %" PRIu32, f->chan);
	if (f->len > ch->recv_window)
		return protocol_error(mux,
		    "data beyond window on channel %" PRIu32 " (%zu > %" PRIu32 ")",
		    f->chan, f->len, ch->recv_window);
	ch->recv_window -= (uint32_t)f->len;
	if (ch->state == CH_CLOSING || f->len == 0)
		return 0; /* we are done with it; drop */
	if (ch->ops->on_data != NULL)
		ch->ops->on_data(ch, f->type == QH_FRAME_EXTDATA, f->payload, f->len);
	return 0;
}

static int
on_frame_eof(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;

	if ((ch = frame_open_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (f->len != 0)
		return protocol_error(mux, "unexpected eof on channel %" PRIu32, f->chan);
	if (ch->got_eof)
		return 0;
	ch->got_eof = 1;
	if (ch->state == CH_OPEN && ch->ops->on_eof != NULL)
		ch->ops->on_eof(ch);
	return 0;
}

static int
on_frame_close(struct qh_mux *mux, const struct qh_frame *f)
{
	const struct qh_chan_ops *ops;
	struct qh_chan *ch;

	if ((ch = frame_open_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (f->len != 0 || ch->got_close)
		return protocol_error(mux, "unexpected close on channel %" PRIu32,
		    f->chan);
	ch->got_close = 1;
	if (ch->state == CH_CLOSING) {
		if (ch->sent_close)
			mux__chan_free(ch);
		return 0;
	}
	/* Peer closed first: tell the application, answer, forget. */
	ops = ch->ops;
	ch->state = CH_CLOSING;
	ch->sent_close = 1;
	if (ops->on_close != NULL)
		ops->on_close(ch);
	if (mux->state == MUX_CLOSED)
		return 0; /* freed with the connection */
	(void)mux__send_frame(mux, QH_FRAME_CLOSE, ch->remote_id, NULL, 0);
	mux__chan_free(ch);
	return 0;
}

static int
on_frame_window(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;
	uint32_t inc;

	if ((ch = frame_open_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if (payload_u32s(f, &inc, 1) != 0)
		return protocol_error(mux, "malformed window");
	if (ch->send_window + inc > QH_MUX_MAX_WINDOW)
		return protocol_error(mux, "window overflow on channel %" PRIu32,
		    f->chan);
	ch->send_window += inc;
	/*
	 * A connection over its high-water mark says no here; TLS owes an
	 * on_drain for that no, and mux_drain wakes the channel then.
	 */
	if (ch->state == CH_OPEN && ch->want_writable && qh_chan_writable(ch) > 0) {
		ch->want_writable = 0;
		if (ch->ops->on_writable != NULL)
			ch->ops->on_writable(ch);
	}
	return 0;
}

static int
on_frame_msg(struct qh_mux *mux, const struct qh_frame *f)
{
	struct qh_chan *ch;
	struct qh_msg m;
	int r;

	if ((ch = frame_open_chan(mux, f)) == NULL)
		return QH_ERR_PROTOCOL;
	if ((r = qh_msg_decode(f->payload, f->len, &m)) != 0)
		return protocol_error(mux, "bad channel message: %s", qh_strerror(r));
	if (ch->state == CH_OPEN && ch->ops->on_msg != NULL)
		ch->ops->on_msg(ch, &m);
	return 0;
}

static int
on_frame_ping(struct qh_mux *mux, const struct qh_frame *f)
{
	if (f->len != 8 || f->chan != 0)
		return protocol_error(mux, "malformed ping");
	return mux__send_frame(mux, QH_FRAME_PONG, 0, f->payload, f->len);
}

static int
on_frame_pong(struct qh_mux *mux, const struct qh_frame *f)
{
	if (f->len != 8 || f->chan != 0)
		return protocol_error(mux, "malformed pong");
	return 0; /* any input resets the keepalive */
}

static const frame_handler handlers[QH_FRAME_TYPE_MAX] = {
	[QH_FRAME_CONTROL] = on_frame_control,
	[QH_FRAME_OPEN] = on_frame_open,
	[QH_FRAME_OPEN_OK] = on_frame_open_ok,
	[QH_FRAME_OPEN_FAIL] = on_frame_open_fail,
	[QH_FRAME_DATA] = on_frame_data,
	[QH_FRAME_EXTDATA] = on_frame_data,
	[QH_FRAME_EOF] = on_frame_eof,
	[QH_FRAME_CLOSE] = on_frame_close,
	[QH_FRAME_WINDOW] = on_frame_window,
	[QH_FRAME_MSG] = on_frame_msg,
	[QH_FRAME_PING] = on_frame_ping,
	[QH_FRAME_PONG] = on_frame_pong,
};

static int
mux_plaintext(struct qh_tls_conn *tls, struct qh_buf *in)
{
	struct qh_mux *mux = qh_tls_arg(tls);
	struct qh_frame f;
	int r;

	while (mux->state != MUX_CLOSED) {
		r = qh_wire_decode(in, &f);
		if (r == 0)
			return 0;
		if (r == QH_ERR_TOO_LARGE) {
			uint32_t len = 0;

			(void)qh_buf_peek_u32(in, 5, &len);
			return protocol_error(mux,
			    "frame of %" PRIu32 " bytes exceeds the "
			    "maximum of %d",
			    len, QH_WIRE_MAX_PAYLOAD);
		}
		if (r < 0) {
			uint8_t type = 0;
			uint32_t chan = 0;

			(void)qh_buf_peek_u8(in, 0, &type);
			(void)qh_buf_peek_u32(in, 1, &chan);
			if (type == 0 || type >= QH_FRAME_TYPE_MAX)
				return protocol_error(mux, "unknown frame type %u", type);
			return protocol_error(mux, "channel id %" PRIu32 " out of range",
			    chan);
		}
		if (mux->state == MUX_JOIN &&
		    (f.type != QH_FRAME_CONTROL || f.len > QH_MUX_JOIN_MAX))
			return protocol_error(mux, "%s frame before authentication",
			    qh_wire_frame_name(f.type));
		if ((r = handlers[f.type](mux, &f)) != 0) {
			mux__mark_dead(mux, r, qh_strerror(r));
			break;
		}
		(void)qh_buf_consume(in, QH_WIRE_HDR_LEN + f.len);
	}
	/* Closed while dispatching: drop the rest. */
	qh_buf_reset(in);
	return 0;
}

static int
mux_ready(struct qh_tls_conn *tls, const struct qh_identity *peer)
{
	struct qh_mux *mux = qh_tls_arg(tls);

	mux->state = peer->role == QH_ROLE_NONE ? MUX_JOIN : MUX_READY;
	return mux->ops->on_ready != NULL ? mux->ops->on_ready(mux, peer) : 0;
}

static void
mux_drain(struct qh_tls_conn *tls)
{
	struct qh_mux *mux = qh_tls_arg(tls);
	uint32_t i;

	for (i = 1; i <= mux->chans_cap && mux->state == MUX_READY; i++) {
		struct qh_chan *ch = mux->chans[i];

		if (ch == NULL || !ch->want_writable || qh_chan_writable(ch) == 0)
			continue;
		ch->want_writable = 0;
		if (ch->ops->on_writable != NULL)
			ch->ops->on_writable(ch);
	}
	if (mux->state == MUX_READY && mux->ops->on_drain != NULL)
		mux->ops->on_drain(mux);
}

static void
mux_idle(struct qh_tls_conn *tls)
{
	struct qh_mux *mux = qh_tls_arg(tls);
	uint8_t d[8];
	uint64_t c = ++mux->ping_cookie;
	int i;

	if (mux->state != MUX_READY)
		return;
	for (i = 0; i < 8; i++)
		d[i] = (uint8_t)(c >> (56 - 8 * i));
	(void)mux__send_frame(mux, QH_FRAME_PING, 0, d, sizeof(d));
}

static void
mux_free(uv_handle_t *h)
{
	struct qh_mux *mux = h->data;

	free(mux->chans);
	free(mux);
}

/* TLS is gone (its last handle closed): tell whoever is left, then the owner. */
static void
mux_closed(struct qh_tls_conn *tls, int err)
{
	struct qh_mux *mux = qh_tls_arg(tls);

	if (mux->state != MUX_CLOSED) {
		mux->state = MUX_CLOSED;
		mux->err = err;
	}
	mux_reap(mux);
	if (mux->ops->on_close != NULL)
		mux->ops->on_close(mux, err);
	mux->tls = NULL; /* freed after this callback */
	uv_close((uv_handle_t *)&mux->reaper, mux_free);
}

static const struct qh_tls_ops mux_tls_ops = {
	.on_ready = mux_ready,
	.on_plaintext = mux_plaintext,
	.on_drain = mux_drain,
	.on_idle = mux_idle,
	.on_close = mux_closed,
};

struct qh_mux *
qh_mux_new(uv_loop_t *loop, struct qh_tls_ctx *ctx, enum qh_tls_mode mode,
    const char *host, const char *pin, const struct qh_mux_ops *ops, void *arg)
{
	struct qh_mux *mux;

	if ((mux = calloc(1, sizeof(*mux))) == NULL)
		return NULL;
	mux->ops = ops;
	mux->arg = arg;
	mux->state = MUX_CONNECTING;
	if ((mux->tls = qh_tls_new(loop, ctx, mode, host, pin, &mux_tls_ops, mux)) ==
	    NULL) {
		free(mux);
		return NULL;
	}
	uv_idle_init(loop, &mux->reaper);
	mux->reaper.data = mux;
	return mux;
}

uv_tcp_t *
qh_mux_tcp(struct qh_mux *mux)
{
	return qh_tls_tcp(mux->tls);
}

int
qh_mux_start(struct qh_mux *mux)
{
	return qh_tls_start(mux->tls);
}

int
qh_mux_dial(struct qh_mux *mux, const char *host, int port, uint64_t deadline_ms,
    char *why, size_t whylen)
{
	return qh_tls_dial(mux->tls, host, port, deadline_ms, why, whylen);
}

void *
qh_mux_arg(const struct qh_mux *mux)
{
	return mux->arg;
}

const struct qh_identity *
qh_mux_peer(const struct qh_mux *mux)
{
	return qh_tls_peer(mux->tls);
}

const char *
qh_mux_peer_addr(const struct qh_mux *mux)
{
	return qh_tls_peer_addr(mux->tls);
}

struct qh_tls_conn *
qh_mux_tls(struct qh_mux *mux)
{
	return mux->tls;
}

int
qh_mux_closed(const struct qh_mux *mux)
{
	return mux->state == MUX_CLOSED;
}

void
qh_mux_set_keepalive(struct qh_mux *mux, uint64_t idle_ms, uint64_t dead_ms)
{
	qh_tls_set_keepalive(mux->tls, idle_ms, dead_ms);
}
