/*
 * The channel calls of the mux (qh/mux.h): opening, answering, writing
 * within the window and the connection's high-water mark, crediting,
 * half-closing and closing. Their frames go out through mux__send_frame,
 * which never tears anything down: a channel stays valid until its
 * on_close, whichever call failed.
 */
#include <stdlib.h>
#include <assert.h>
#include <string.h>

#include "qh/err.h"
#include "qh/mux.h"
#include "mux_int.h"

static int
send_u32(struct qh_mux *mux, uint8_t type, uint32_t chan, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
		(uint8_t)v };

	return mux__send_frame(mux, type, chan, d, sizeof(d));
}

struct qh_chan *
mux__chan_new(struct qh_mux *mux)
{
	struct qh_chan *ch;
	uint32_t i, id = 0;

	if (mux->nchans >= QH_MUX_MAX_CHANNELS)
		return NULL;
	if (mux->nchans == mux->chans_cap) {
		uint32_t cap = mux->chans_cap ? mux->chans_cap * 2 : 8;
		struct qh_chan **t;

		if (cap > QH_MUX_MAX_CHANNELS)
			cap = QH_MUX_MAX_CHANNELS;
		if ((t = realloc(mux->chans, (cap + 1) * sizeof(*t))) == NULL)
			return NULL;
		memset(t + mux->chans_cap + 1, 0, (cap - mux->chans_cap) * sizeof(*t));
		if (mux->chans_cap == 0)
			t[0] = NULL;
		mux->chans = t;
		mux->chans_cap = cap;
	}
	/* Next free id after the last one handed out, so ids are not reused at once. */
	for (i = 0; i < mux->chans_cap; i++) {
		id = (mux->next_id + i) % mux->chans_cap + 1;
		if (mux->chans[id] == NULL)
			break;
	}
	assert(id != 0 && mux->chans[id] == NULL); /* nchans < chans_cap */
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->mux = mux;
	ch->id = id;
	mux->chans[id] = ch;
	mux->next_id = id;
	mux->nchans++;
	return ch;
}

void
mux__chan_free(struct qh_chan *ch)
{
	struct qh_mux *mux = ch->mux;

	mux->chans[ch->id] = NULL;
	mux->nchans--;
	free(ch);
}

/*
 * Data goes in frames of at most one TLS record (16 KiB with the header):
 * a bulk sender's frames then fill records exactly, so the receiver
 * decrypts each into its scratch buffer whole and copies nothing aside,
 * and a relay passes each record on as soon as it arrives instead of
 * waiting for the four of a 64 KiB frame.
 */
#define DATA_CHUNK (16384 - QH_WIRE_HDR_LEN)

static uint32_t
clamp_window(uint32_t w)
{
	if (w == 0)
		return QH_MUX_WINDOW;
	if (w < QH_MUX_MIN_WINDOW)
		return QH_MUX_MIN_WINDOW;
	if (w > QH_MUX_MAX_WINDOW)
		return QH_MUX_MAX_WINDOW;
	return w;
}

struct qh_chan *
qh_chan_open(struct qh_mux *mux, const struct qh_buf *msg, uint32_t window,
    const struct qh_chan_ops *ops, void *arg)
{
	struct qh_chan *ch;
	struct qh_buf *out;
	int r;

	if (qh_buf_error(msg) != 0) {
		(void)mux__unbuilt(mux, msg);
		return NULL;
	}
	if (mux->state != MUX_READY || (ch = mux__chan_new(mux)) == NULL)
		return NULL;
	ch->state = CH_OPENING;
	ch->ops = ops;
	ch->arg = arg;
	ch->window = ch->recv_window = clamp_window(window);
	out = qh_tls_outbuf(mux->tls);
	if ((r = qh_wire_put_header(out, QH_FRAME_OPEN, ch->id, 4 + qh_buf_len(msg))) !=
		0 ||
	    (r = qh_buf_put_u32(out, ch->window)) != 0 ||
	    (r = qh_buf_put(out, qh_buf_ptr(msg), qh_buf_len(msg))) != 0) {
		mux__chan_free(ch);
		mux__mark_dead(mux, r, "output buffer full");
		return NULL;
	}
	qh_tls_kick(mux->tls);
	return ch;
}

int
qh_chan_accept(struct qh_chan *ch, uint32_t window, const struct qh_chan_ops *ops,
    void *arg)
{
	uint8_t d[8];
	uint32_t w = clamp_window(window);

	if (ch->state != CH_PENDING)
		return QH_ERR_ARG;
	ch->ops = ops;
	ch->arg = arg;
	ch->state = CH_OPEN;
	ch->window = ch->recv_window = w;
	d[0] = (uint8_t)(ch->id >> 24), d[1] = (uint8_t)(ch->id >> 16);
	d[2] = (uint8_t)(ch->id >> 8), d[3] = (uint8_t)ch->id;
	d[4] = (uint8_t)(w >> 24), d[5] = (uint8_t)(w >> 16);
	d[6] = (uint8_t)(w >> 8), d[7] = (uint8_t)w;
	return mux__send_frame(ch->mux, QH_FRAME_OPEN_OK, ch->remote_id, d, sizeof(d));
}

void
qh_chan_hold(struct qh_chan *ch, const struct qh_chan_ops *ops, void *arg)
{
	if (ch->state != CH_PENDING)
		return;
	ch->ops = ops;
	ch->arg = arg;
}

int
qh_chan_pending(const struct qh_chan *ch)
{
	return ch->state == CH_PENDING;
}

void
qh_chan_refuse(struct qh_chan *ch, const char *code, const char *text)
{
	struct qh_mux *mux = ch->mux;
	struct qh_buf b;

	if (ch->state != CH_PENDING)
		return;
	qh_buf_init(&b, 8192);
	if (mux__build_error(&b, code, text) == 0)
		(void)mux__send_frame(mux, QH_FRAME_OPEN_FAIL, ch->remote_id,
		    qh_buf_ptr(&b), qh_buf_len(&b));
	qh_buf_release(&b);
	mux__chan_free(ch);
}

size_t
qh_chan_writable(const struct qh_chan *ch)
{
	size_t queued = qh_tls_queued(ch->mux->tls), room;

	if (ch->state != CH_OPEN || ch->sent_eof || ch->mux->state != MUX_READY ||
	    !qh_tls_writable(ch->mux->tls))
		return 0;
	/* The connection's queue stays under the high-water mark plus one frame. */
	room = QH_TLS_HIGH_WATER - queued;
	if (room < QH_WIRE_MAX_PAYLOAD)
		room = QH_WIRE_MAX_PAYLOAD;
	return ch->send_window < room ? (size_t)ch->send_window : room;
}

ssize_t
qh_chan_write(struct qh_chan *ch, int ext, const void *p, size_t len)
{
	struct qh_mux *mux = ch->mux;
	const uint8_t *src = p;
	size_t room = qh_chan_writable(ch), done = 0, n;
	int r;

	if (ch->state != CH_OPEN || ch->sent_eof || mux->state == MUX_CLOSED)
		return QH_ERR_CLOSED;
	if (len > room)
		ch->want_writable = 1;
	while (done < len && done < room) {
		n = len - done;
		if (n > room - done)
			n = room - done;
		if (n > DATA_CHUNK)
			n = DATA_CHUNK;
		r = mux__send_frame(mux, ext ? QH_FRAME_EXTDATA : QH_FRAME_DATA,
		    ch->remote_id, src + done, n);
		if (r != 0)
			return r;
		done += n;
	}
	ch->send_window -= done;
	return (ssize_t)done;
}

int
qh_chan_send_msg(struct qh_chan *ch, const struct qh_buf *msg)
{
	if (ch->state != CH_OPEN)
		return QH_ERR_CLOSED;
	if (qh_buf_error(msg) != 0)
		return mux__unbuilt(ch->mux, msg);
	return mux__send_frame(ch->mux, QH_FRAME_MSG, ch->remote_id, qh_buf_ptr(msg),
	    qh_buf_len(msg));
}

void
qh_chan_consume(struct qh_chan *ch, size_t n)
{
	if (ch->state != CH_OPEN || n == 0)
		return;
	ch->unacked += (uint32_t)n;
	/* Credit in batches of a quarter window: few WINDOW frames, no stalls. */
	if (ch->unacked >= ch->window / 4 && !ch->got_eof) {
		ch->recv_window += ch->unacked;
		(void)send_u32(ch->mux, QH_FRAME_WINDOW, ch->remote_id, ch->unacked);
		ch->unacked = 0;
	}
}

int
qh_chan_eof(struct qh_chan *ch)
{
	if (ch->state != CH_OPEN)
		return QH_ERR_CLOSED;
	if (ch->sent_eof)
		return 0;
	ch->sent_eof = 1;
	return mux__send_frame(ch->mux, QH_FRAME_EOF, ch->remote_id, NULL, 0);
}

void
qh_chan_close(struct qh_chan *ch)
{
	struct qh_mux *mux = ch->mux;

	if (ch->state == CH_PENDING) {
		qh_chan_refuse(ch, "closed", "channel closed");
		return;
	}
	if (ch->state == CH_CLOSING)
		return;
	ch->ops = NULL;
	ch->arg = NULL;
	if (mux->state == MUX_CLOSED) {
		ch->state = CH_CLOSING; /* the reaper frees it */
		return;
	}
	if (ch->state == CH_OPENING) {
		/* The answer is still coming; close when it does. */
		ch->state = CH_CLOSING;
		return;
	}
	ch->state = CH_CLOSING;
	ch->sent_close = 1;
	(void)mux__send_frame(mux, QH_FRAME_CLOSE, ch->remote_id, NULL, 0);
	if (ch->got_close)
		mux__chan_free(ch);
}

void *
qh_chan_arg(const struct qh_chan *ch)
{
	return ch->arg;
}

void
qh_chan_set_arg(struct qh_chan *ch, void *arg)
{
	ch->arg = arg;
}

struct qh_mux *
qh_chan_mux(const struct qh_chan *ch)
{
	return ch->mux;
}

uint32_t
qh_chan_id(const struct qh_chan *ch)
{
	return ch->id;
}
