/*
 * Channels over one TLS connection, after SSH's connection protocol.
 *
 * Each side names a channel by its own id (1..QH_MUX_MAX_CHANNELS); frames
 * are addressed to the receiver's id. A channel's receiver grants the
 * sender a window of bytes; DATA beyond it is a protocol error, and credit
 * is returned only as the application consumes what it was given, so a
 * reader that stops reading stops its sender after one window. Channels
 * half-close (EOF) and close (CLOSE both ways) like SSH's.
 *
 * A peer that breaks the protocol (oversized or unknown frame, unknown
 * channel, data past the window, a message that does not decode) is logged
 * once with its address, identity and the reason, and its connection is
 * closed; nothing else is disturbed.
 *
 * No call tears anything down under its caller: a send that finds the
 * output full (a peer that stopped reading) or a protocol error only marks
 * the connection dead (qh_mux_closed() says 1, sends fail with an error,
 * frames are ignored), and the channels get on_close on the next loop
 * turn. A channel handed to the application therefore stays valid until
 * its on_close, whatever qh_chan_* call it made meanwhile.
 */
#ifndef QH_MUX_H
#define QH_MUX_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/pki.h"
#include "qh/tls.h"
#include "qh/wire.h"

#define QH_MUX_MAX_CHANNELS 1024
#define QH_MUX_WINDOW	    (2 * 1024 * 1024) /* default receive window */
/*
 * The window of a tunnel's connection (a forward's, an SSH jump's), whose
 * bytes cross three processes: at loopback speed 2 MB were in flight
 * before the credit came back, and the processes waited (bench/tunnel.sh:
 * 5.5 Gbit/s with 15 % of the CPUs idle; 6.1-6.3 Gbit/s with 4 MB).
 */
#define QH_MUX_BULK_WINDOW (4 * 1024 * 1024)
#define QH_MUX_MIN_WINDOW  (64 * 1024)
#define QH_MUX_MAX_WINDOW  (16 * 1024 * 1024)
#define QH_MUX_JOIN_MAX	   (32 * 1024) /* the one pre-auth message */

struct qh_mux;
struct qh_chan;

struct qh_mux_ops {
	/* TLS is up and the peer verified. Return <0 to close. */
	int (*on_ready)(struct qh_mux *mux, const struct qh_identity *peer);
	/* A control message arrived on channel 0. Return <0 to close. */
	int (*on_control)(struct qh_mux *mux, const struct qh_msg *m);
	/*
	 * The peer opens a channel described by m (valid only during the
	 * call). Accept or refuse it now or later. Return <0 to close the
	 * connection instead.
	 */
	int (*on_open)(struct qh_mux *mux, struct qh_chan *ch, const struct qh_msg *m);
	/* Output drained under the low-water mark (after channels were told). */
	void (*on_drain)(struct qh_mux *mux);
	/* The connection is gone; every channel has had its on_close. Last call. */
	void (*on_close)(struct qh_mux *mux, int err);
};

struct qh_chan_ops {
	/* Our OPEN was answered: 0 and NULL, or QH_ERR_REFUSED and the peer's ERROR. */
	void (*on_open_result)(struct qh_chan *ch, int err, const struct qh_msg *m);
	/*
	 * Bytes arrived on stream ext (0 main, 1 extended/stderr); p is valid
	 * only during the call. Call qh_chan_consume() when they are dealt with.
	 */
	void (*on_data)(struct qh_chan *ch, int ext, const uint8_t *p, size_t len);
	/* A message on the channel (exit status, resize). */
	void (*on_msg)(struct qh_chan *ch, const struct qh_msg *m);
	/* The peer will send no more data. */
	void (*on_eof)(struct qh_chan *ch);
	/* The channel is gone (peer closed it, or the connection died); freed after. */
	void (*on_close)(struct qh_chan *ch);
	/* Window or connection has room again after a short write. */
	void (*on_writable)(struct qh_chan *ch);
};

/* Connections. */

struct qh_mux *qh_mux_new(uv_loop_t *loop, struct qh_tls_ctx *ctx, enum qh_tls_mode mode,
    const char *host, const char *pin, const struct qh_mux_ops *ops, void *arg);

/* The TCP handle to accept into or connect; then qh_mux_start(). */
uv_tcp_t *qh_mux_tcp(struct qh_mux *mux);
int qh_mux_start(struct qh_mux *mux);

/*
 * Dials host:port and starts TLS, as qh_tls_dial: a failure closes the
 * connection (ops->on_close gets the error) with its reason in why, which
 * must stay valid until on_close; qh_mux_close cancels the dial.
 */
int qh_mux_dial(struct qh_mux *mux, const char *host, int port, uint64_t deadline_ms,
    char *why, size_t whylen);

void *qh_mux_arg(const struct qh_mux *mux);
const struct qh_identity *qh_mux_peer(const struct qh_mux *mux);
const char *qh_mux_peer_addr(const struct qh_mux *mux);
struct qh_tls_conn *qh_mux_tls(struct qh_mux *mux);
/* A short name for logs: "127.0.0.1:5555 technician alice". */
const char *qh_mux_name(const struct qh_mux *mux);

/* 1 once the connection is dead or closed (its channels are going too). */
int qh_mux_closed(const struct qh_mux *mux);

/* Keepalive: ping after idle_ms of silence, give up after dead_ms. */
void qh_mux_set_keepalive(struct qh_mux *mux, uint64_t idle_ms, uint64_t dead_ms);

/* Sends a message built with qh_msg_* (the whole buffer) on channel 0. */
int qh_mux_send_control(struct qh_mux *mux, const struct qh_buf *msg);

/* Sends an ERROR message (code, text) on channel 0. */
int qh_mux_send_error(struct qh_mux *mux, const char *code, const char *text);

/*
 * Closes the connection. A non-NULL why is logged once, naming the peer.
 * The channels left get on_close before it returns (at once, unlike a
 * close the mux decides itself); ops->on_close runs when the socket is
 * gone, on a later loop turn.
 */
void qh_mux_close(struct qh_mux *mux, int err, const char *why);

/* Channels. */

/* Opens a channel described by msg; the answer comes to ops->on_open_result. */
struct qh_chan *qh_chan_open(struct qh_mux *mux, const struct qh_buf *msg,
    uint32_t window, const struct qh_chan_ops *ops, void *arg);

/* Accepts a channel the peer opened, granting window bytes (0: default). */
int qh_chan_accept(struct qh_chan *ch, uint32_t window, const struct qh_chan_ops *ops,
    void *arg);

/*
 * Keeps a channel the peer opened waiting for an answer: ops->on_close runs
 * if the connection dies before qh_chan_accept or qh_chan_refuse.
 */
void qh_chan_hold(struct qh_chan *ch, const struct qh_chan_ops *ops, void *arg);

/* 1 while a channel the peer opened has not been answered. */
int qh_chan_pending(const struct qh_chan *ch);

/* Refuses a channel the peer opened; it is freed. */
void qh_chan_refuse(struct qh_chan *ch, const char *code, const char *text);

/*
 * Sends up to len bytes on stream ext; returns how many were taken (0 when
 * the window or the connection is full: on_writable follows) or <0
 * (QH_ERR_CLOSED once the channel or the connection is closing).
 */
ssize_t qh_chan_write(struct qh_chan *ch, int ext, const void *p, size_t len);

/* Bytes qh_chan_write would take now. */
size_t qh_chan_writable(const struct qh_chan *ch);

/* Sends a message on the channel. */
int qh_chan_send_msg(struct qh_chan *ch, const struct qh_buf *msg);

/* Returns n bytes of window to the peer (after on_data's bytes are used). */
void qh_chan_consume(struct qh_chan *ch, size_t n);

/* Half-closes our direction. */
int qh_chan_eof(struct qh_chan *ch);

/* Closes the channel; no callbacks follow. */
void qh_chan_close(struct qh_chan *ch);

void *qh_chan_arg(const struct qh_chan *ch);
void qh_chan_set_arg(struct qh_chan *ch, void *arg);
struct qh_mux *qh_chan_mux(const struct qh_chan *ch);
uint32_t qh_chan_id(const struct qh_chan *ch);

#endif
