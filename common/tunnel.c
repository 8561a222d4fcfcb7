/*
 * Tunnels (see qh/tunnel.h): a TCP socket and a channel relaying to each
 * other. Channel bytes go to the socket through a ring (qh/ring.h) the
 * size of the window we granted, written once per loop iteration, and are
 * credited back to the peer only when written; a few bytes with nothing
 * queued go straight out with uv_try_write. Socket bytes are read one
 * chunk at a time into a fixed buffer and reading stops while part of a
 * chunk waits for channel window; on_writable resumes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/ring.h"
#include "qh/tunnel.h"

enum tunnel_state {
	TN_NEW,	       /* a socket, no channel yet */
	TN_CONNECTING, /* resolving or connecting; the peer's channel is held */
	TN_OPENING,    /* our OPEN is out; waiting for the answer */
	TN_OPEN,       /* bytes flow */
	TN_DONE,       /* ending: handles closing, on_end follows */
};

struct qh_tunnel {
	uv_loop_t *loop;
	const struct qh_tunnel_ops *ops;
	void *arg;
	enum tunnel_state state;
	struct qh_chan *ch; /* NULL once closed or gone */
	uint32_t window;    /* granted to the peer; the ring's capacity */

	uv_tcp_t own;	      /* accepted into; replaced by a dialled socket */
	uv_tcp_t *tcp;	      /* the socket: &own, or the dialled one */
	int nhandles;	      /* handles until their close callbacks */
	struct qh_dial *dial; /* connecting (the agent's side) */
	char target[300];     /* HOST:PORT, for messages */

	/* Channel -> socket. */
	struct qh_ring ring; /* queued for the socket */
	size_t wlen;	     /* of which in flight in wreq */
	uv_write_t wreq;
	uv_shutdown_t sreq;
	uv_check_t flush;	/* writes the ring once per loop iteration */
	unsigned writing : 1;	/* wreq in flight */
	unsigned chan_eof : 1;	/* the peer sent EOF */
	unsigned shut_sent : 1; /* uv_shutdown issued */
	unsigned shut_done : 1; /* and completed: this direction is over */

	/* Socket -> channel. */
	unsigned reading : 1;  /* uv_read_start in force */
	unsigned sock_eof : 1; /* the socket sent EOF */
	unsigned eof_sent : 1; /* and the channel got it: this direction is over */
	size_t poff, plen;     /* bytes of rbuf not yet taken by the channel */

	int err; /* how it ended, for on_end */
	char text[512];
	uint64_t to_sock, to_chan;
	uint8_t rbuf[QH_TUNNEL_READ_CHUNK];
};

#define COALESCE_MIN 8192 /* channel bytes at least this many are queued, not written */

static const struct qh_chan_ops tunnel_chan_ops;
static void tunnel_end(struct qh_tunnel *tn, int err, const char *text);

struct qh_tunnel *
qh_tunnel_new(uv_loop_t *loop, uint32_t window, const struct qh_tunnel_ops *ops,
    void *arg)
{
	struct qh_tunnel *tn;

	if ((tn = calloc(1, sizeof(*tn))) == NULL)
		return NULL;
	if (window == 0)
		window = QH_MUX_WINDOW;
	if (window < QH_MUX_MIN_WINDOW)
		window = QH_MUX_MIN_WINDOW;
	if (window > QH_MUX_MAX_WINDOW)
		window = QH_MUX_MAX_WINDOW;
	tn->loop = loop;
	tn->ops = ops;
	tn->arg = arg;
	tn->window = window;
	qh_ring_init(&tn->ring, window);
	tn->state = TN_NEW;
	uv_tcp_init(loop, &tn->own);
	tn->own.data = tn;
	tn->tcp = &tn->own;
	uv_check_init(loop, &tn->flush);
	tn->flush.data = tn;
	tn->nhandles = 2;
	return tn;
}

uv_stream_t *
qh_tunnel_stream(struct qh_tunnel *tn)
{
	return (uv_stream_t *)tn->tcp;
}

void *
qh_tunnel_arg(const struct qh_tunnel *tn)
{
	return tn->arg;
}

void
qh_tunnel_bytes(const struct qh_tunnel *tn, uint64_t *to_sock, uint64_t *to_chan)
{
	*to_sock = tn->to_sock;
	*to_chan = tn->to_chan;
}

/* Ending. */

/* Frees the tunnel once its handles are closed. */
static void
tunnel_maybe_free(struct qh_tunnel *tn)
{
	if (tn->nhandles > 0)
		return;
	if (tn->ops != NULL && tn->ops->on_end != NULL)
		tn->ops->on_end(tn, tn->err, tn->text[0] != '\0' ? tn->text : NULL);
	qh_ring_release(&tn->ring);
	free(tn);
}

static void
handle_closed(uv_handle_t *h)
{
	struct qh_tunnel *tn = h->data;

	if (h != (uv_handle_t *)&tn->own && h != (uv_handle_t *)&tn->flush)
		free(h); /* dialled: allocated by qh_dial */
	tn->nhandles--;
	tunnel_maybe_free(tn);
}

/*
 * Ends the tunnel once: closes the channel (refusing it with text while it
 * is still held) and the socket, or stops the dial; on_end runs from the last
 * close callback.
 */
static void
tunnel_end(struct qh_tunnel *tn, int err, const char *text)
{
	struct qh_chan *ch = tn->ch;

	if (tn->state == TN_DONE)
		return;
	qh_debug("tunnel %s: ends: %s%s%s", tn->target, qh_strerror(err),
	    text != NULL ? ": " : "", text != NULL ? text : "");
	tn->state = TN_DONE;
	tn->err = err;
	if (text != NULL)
		snprintf(tn->text, sizeof(tn->text), "%s", text);
	tn->ch = NULL;
	if (ch != NULL) {
		if (qh_chan_pending(ch))
			qh_chan_refuse(ch, "connect",
			    text != NULL ? text : "the connection could not be made");
		else
			qh_chan_close(ch);
	}
	qh_dial_cancel(tn->dial);
	tn->dial = NULL;
	uv_close((uv_handle_t *)&tn->flush, handle_closed);
	if (!uv_is_closing((uv_handle_t *)tn->tcp))
		uv_close((uv_handle_t *)tn->tcp, handle_closed);
}

void
qh_tunnel_close(struct qh_tunnel *tn)
{
	tunnel_end(tn, QH_ERR_CLOSED, NULL);
}

/* Both directions are over: a clean end. */
static void
check_done(struct qh_tunnel *tn)
{
	if (tn->state == TN_OPEN && tn->eof_sent && tn->shut_done)
		tunnel_end(tn, 0, NULL);
}

/* Socket -> channel. */

/*
 * Sends what the last read left to the channel; passes EOF on once all is
 * sent. Returns 1 when nothing is left, 0 when waiting for window.
 */
static int
to_chan_flush(struct qh_tunnel *tn)
{
	ssize_t n;

	while (tn->plen > 0) {
		if (tn->ch == NULL)
			return 0;
		if ((n = qh_chan_write(tn->ch, 0, tn->rbuf + tn->poff, tn->plen)) < 0) {
			tunnel_end(tn, (int)n, NULL);
			return 0;
		}
		if (n == 0)
			return 0; /* on_writable resumes */
		tn->poff += (size_t)n;
		tn->plen -= (size_t)n;
		tn->to_chan += (uint64_t)n;
	}
	tn->poff = 0;
	if (tn->sock_eof && !tn->eof_sent && tn->ch != NULL) {
		tn->eof_sent = 1;
		(void)qh_chan_eof(tn->ch);
		check_done(tn);
	}
	return 1;
}

static void
sock_alloc(uv_handle_t *h, size_t hint QH_UNUSED, uv_buf_t *buf)
{
	struct qh_tunnel *tn = h->data;

	if (tn->plen > 0)
		*buf = uv_buf_init(NULL, 0); /* UV_ENOBUFS: pause */
	else
		*buf = uv_buf_init((char *)tn->rbuf, sizeof(tn->rbuf));
}

static void
sock_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf QH_UNUSED)
{
	struct qh_tunnel *tn = s->data;

	if (tn->state != TN_OPEN || nread == 0)
		return;
	if (nread == UV_ENOBUFS) {
		uv_read_stop(s);
		tn->reading = 0;
		return;
	}
	if (nread < 0) {
		uv_read_stop(s);
		tn->reading = 0;
		if (nread != UV_EOF) {
			qh_debug("tunnel %s: read: %s", tn->target,
			    uv_strerror((int)nread));
			tunnel_end(tn, qh_err_from_uv((int)nread), NULL);
			return;
		}
		tn->sock_eof = 1;
		(void)to_chan_flush(tn);
		return;
	}
	tn->poff = 0;
	tn->plen = (size_t)nread;
	if (!to_chan_flush(tn) && tn->reading && tn->state == TN_OPEN) {
		uv_read_stop(s);
		tn->reading = 0;
	}
}

static void
sock_read_resume(struct qh_tunnel *tn)
{
	int r;

	if (tn->state != TN_OPEN || tn->reading || tn->sock_eof || tn->plen > 0)
		return;
	if ((r = uv_read_start((uv_stream_t *)tn->tcp, sock_alloc, sock_read)) != 0) {
		qh_debug("tunnel %s: read start: %s", tn->target, uv_strerror(r));
		tunnel_end(tn, qh_err_from_uv(r), NULL);
		return;
	}
	tn->reading = 1;
}

/* Channel -> socket. */

static void sock_write_kick(struct qh_tunnel *tn);

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct qh_tunnel *tn = req->data;

	if (tn->state != TN_OPEN)
		return;
	if (status < 0)
		qh_debug("tunnel %s: shutdown: %s", tn->target, uv_strerror(status));
	tn->shut_done = 1;
	check_done(tn);
}

/* n channel bytes reached the socket: counted, and credited to the peer. */
static void
to_sock_done(struct qh_tunnel *tn, size_t n)
{
	tn->to_sock += n;
	if (tn->ch != NULL)
		qh_chan_consume(tn->ch, n);
}

static void
sock_written(uv_write_t *req, int status)
{
	struct qh_tunnel *tn = req->data;
	size_t n = tn->wlen;

	tn->writing = 0;
	tn->wlen = 0;
	if (tn->state != TN_OPEN)
		return; /* cancelled by the close */
	if (status < 0) {
		qh_debug("tunnel %s: write: %s", tn->target, uv_strerror(status));
		tunnel_end(tn, qh_err_from_uv(status), NULL);
		return;
	}
	qh_ring_consume(&tn->ring, n);
	to_sock_done(tn, n);
	sock_write_kick(tn);
}

/* Writes the ring if no write is in flight; shuts down after the peer's EOF. */
static void
sock_write_kick(struct qh_tunnel *tn)
{
	uv_buf_t b[2];
	unsigned int nb;
	size_t len;
	int n, r;

	if (tn->state != TN_OPEN || tn->writing)
		return;
	if (qh_ring_len(&tn->ring) == 0) {
		if (tn->chan_eof && !tn->shut_sent) {
			qh_ring_trim(&tn->ring); /* the peer sends no more */
			tn->shut_sent = 1;
			tn->sreq.data = tn;
			if ((r = uv_shutdown(&tn->sreq, (uv_stream_t *)tn->tcp,
				 on_shutdown)) != 0) {
				qh_debug("tunnel %s: shutdown: %s", tn->target,
				    uv_strerror(r));
				tn->shut_done = 1;
				check_done(tn);
			}
		}
		return;
	}
	/* What the socket takes now; only the rest waits for a write request. */
	nb = qh_ring_peek(&tn->ring, b, &len);
	n = uv_try_write((uv_stream_t *)tn->tcp, b, nb);
	if (n < 0 && n != UV_EAGAIN) {
		qh_debug("tunnel %s: write: %s", tn->target, uv_strerror(n));
		tunnel_end(tn, qh_err_from_uv(n), NULL);
		return;
	}
	if (n > 0) {
		qh_ring_consume(&tn->ring, (size_t)n);
		to_sock_done(tn, (size_t)n);
		if ((size_t)n == len) {
			sock_write_kick(tn); /* the EOF after it */
			return;
		}
		nb = qh_ring_peek(&tn->ring, b, &len);
	}
	tn->wreq.data = tn;
	if ((r = uv_write(&tn->wreq, (uv_stream_t *)tn->tcp, b, nb, sock_written)) != 0) {
		qh_debug("tunnel %s: write: %s", tn->target, uv_strerror(r));
		tunnel_end(tn, qh_err_from_uv(r), NULL);
		return;
	}
	tn->writing = 1;
	tn->wlen = len;
}

/* The loop's check phase after channel bytes were queued: they go out in one write. */
static void
on_flush(uv_check_t *h)
{
	struct qh_tunnel *tn = h->data;

	uv_check_stop(h);
	sock_write_kick(tn);
}

/* Channel callbacks. */

static void
chan_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct qh_tunnel *tn = qh_chan_arg(ch);
	char *text = NULL;

	if (tn->state != TN_OPENING)
		return;
	if (err != 0) {
		tn->ch = NULL; /* the mux frees it */
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tunnel_end(tn, QH_ERR_REFUSED,
		    text != NULL ? text : "the peer refused the connection");
		free(text);
		return;
	}
	tn->state = TN_OPEN;
	if (tn->ops->on_start != NULL)
		tn->ops->on_start(tn);
	sock_read_resume(tn);
}

static void
chan_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct qh_tunnel *tn = qh_chan_arg(ch);
	uv_buf_t b;
	int n;

	if (tn->state != TN_OPEN || ext || tn->chan_eof) {
		qh_chan_consume(ch, len); /* nowhere to go */
		return;
	}
	/* A few bytes with nothing queued (typing, an answer) go out now, uncopied. */
	if (len < COALESCE_MIN && !tn->writing && qh_ring_len(&tn->ring) == 0) {
		b = uv_buf_init((char *)p, (unsigned int)len);
		n = uv_try_write((uv_stream_t *)tn->tcp, &b, 1);
		if (n < 0 && n != UV_EAGAIN) {
			qh_debug("tunnel %s: write: %s", tn->target, uv_strerror(n));
			tunnel_end(tn, qh_err_from_uv(n), NULL);
			return;
		}
		if (n > 0) {
			to_sock_done(tn, (size_t)n);
			p += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return;
	}
	/*
	 * Bulk is queued and written once per loop iteration (on_flush), so
	 * the frames of one read leave in one write: a write per 16 KiB frame
	 * woke the receiving program four times as often. The window we
	 * granted is the ring's capacity: more is a breach.
	 */
	if ((n = qh_ring_put(&tn->ring, p, len)) != 0) {
		if (n == QH_ERR_TOO_LARGE) {
			qh_warn("tunnel %s: the peer sent past the window", tn->target);
			n = QH_ERR_PROTOCOL;
		}
		tunnel_end(tn, n, NULL);
		return;
	}
	if (!tn->writing)
		uv_check_start(&tn->flush, on_flush); /* nothing if started already */
}

static void
chan_eof(struct qh_chan *ch)
{
	struct qh_tunnel *tn = qh_chan_arg(ch);

	tn->chan_eof = 1;
	sock_write_kick(tn);
}

static void
chan_writable(struct qh_chan *ch)
{
	struct qh_tunnel *tn = qh_chan_arg(ch);

	if (tn->state == TN_OPEN && to_chan_flush(tn))
		sock_read_resume(tn);
}

/* The peer closed the channel, or the connection died. */
static void
chan_close(struct qh_chan *ch)
{
	struct qh_tunnel *tn = qh_chan_arg(ch);
	int clean = tn->state == TN_OPEN && tn->eof_sent && tn->chan_eof &&
	    qh_ring_len(&tn->ring) == 0;

	tn->ch = NULL;
	tunnel_end(tn, clean ? 0 : QH_ERR_CLOSED,
	    tn->state == TN_CONNECTING ? "the connection to the console was lost" : NULL);
}

static const struct qh_chan_ops tunnel_chan_ops = {
	.on_open_result = chan_open_result,
	.on_data = chan_data,
	.on_eof = chan_eof,
	.on_writable = chan_writable,
	.on_close = chan_close,
};

/* Opening (the technician's side). */

int
qh_tunnel_open(struct qh_tunnel *tn, struct qh_mux *mux, const struct qh_buf *req)
{
	if (tn->state != TN_NEW)
		return QH_ERR_ARG;
	(void)uv_tcp_nodelay(tn->tcp, 1);
	tn->state = TN_OPENING;
	if ((tn->ch = qh_chan_open(mux, req, tn->window, &tunnel_chan_ops, tn)) == NULL) {
		tunnel_end(tn, QH_ERR_LIMIT, "cannot open a channel");
		return QH_ERR_LIMIT;
	}
	return 0;
}

/* Connecting (the agent's side). */

/* The dial ended: accept the held channel on the connected socket, or refuse it. */
static void
on_dialed(struct qh_dial *d QH_UNUSED, uv_tcp_t *tcp, int err, const char *why, void *arg)
{
	struct qh_tunnel *tn = arg;
	char text[sizeof(tn->target) + QH_DIAL_WHY_MAX + 32];
	int r;

	tn->dial = NULL;
	if (err != 0) {
		snprintf(text, sizeof(text), "cannot connect to %s: %s", tn->target, why);
		tunnel_end(tn, QH_ERR_REFUSED, text);
		return;
	}
	/* The dialled socket replaces our own, which never held one. */
	tcp->data = tn;
	tn->nhandles++;
	uv_close((uv_handle_t *)&tn->own, handle_closed);
	tn->tcp = tcp;
	(void)uv_tcp_nodelay(tn->tcp, 1);
	if ((r = qh_chan_accept(tn->ch, tn->window, &tunnel_chan_ops, tn)) != 0) {
		tunnel_end(tn, r, NULL);
		return;
	}
	tn->state = TN_OPEN;
	qh_debug("tunnel %s: connected", tn->target);
	if (tn->ops->on_start != NULL)
		tn->ops->on_start(tn);
	sock_read_resume(tn);
}

int
qh_tunnel_connect(struct qh_tunnel *tn, struct qh_chan *ch, const char *host, int port)
{
	char text[sizeof(tn->target) + 64];
	int r;

	if (tn->state != TN_NEW)
		return QH_ERR_ARG;
	qh_chan_hold(ch, &tunnel_chan_ops, tn);
	tn->ch = ch;
	tn->state = TN_CONNECTING;
	snprintf(tn->target, sizeof(tn->target),
	    strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);
	if ((r = qh_dial_start(tn->loop, host, port, QH_DIAL_ATTEMPT_MS,
		 QH_TUNNEL_CONNECT_MS, on_dialed, tn, &tn->dial)) != 0) {
		snprintf(text, sizeof(text), "cannot connect to %s: %s", tn->target,
		    qh_strerror(r));
		tunnel_end(tn, QH_ERR_REFUSED, text);
		return r;
	}
	return 0;
}
