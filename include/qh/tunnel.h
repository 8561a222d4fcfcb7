/*
 * Tunnels: one TCP connection paired with one channel, the bytes relayed
 * both ways with flow control and half-close, as OpenSSH's direct-tcpip
 * channels do. Both ends of a port forward are tunnels: the technician's
 * side accepts a local connection and opens a channel (qh_tunnel_open),
 * the agent's side is offered a channel and connects to the target
 * (qh_tunnel_connect).
 *
 * Flow control: channel bytes are credited back to the peer only once the
 * socket has taken them, so at most the window we granted is ever held
 * here; the socket is not read while a read chunk waits for window, so a
 * peer that does not read stops the sender after one window. EOF on the
 * channel shuts the socket down for writing once everything is written;
 * EOF on the socket becomes EOF on the channel. When both directions are
 * done (or either side fails or closes) the tunnel ends.
 *
 * Lifetime: a tunnel frees itself after its last handle has closed; its
 * owner hears of the end through ops->on_end, exactly once, as the last
 * callback. Everything runs on one loop; nothing here is thread-safe.
 */
#ifndef QH_TUNNEL_H
#define QH_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/mux.h"

#define QH_TUNNEL_READ_CHUNK (64 * 1024) /* one socket read */
#define QH_TUNNEL_CONNECT_MS 15000	 /* resolving and connecting, all addresses */

struct qh_tunnel;

struct qh_tunnel_ops {
	/* Bytes may flow now (the channel is open). May be NULL. */
	void (*on_start)(struct qh_tunnel *tn);
	/*
	 * The tunnel is over: err 0 when both directions ended cleanly,
	 * else a negative QH_ERR_* with text (the peer's refusal, or why the
	 * connection failed; NULL when there is nothing to say). The last
	 * callback: tn is freed when it returns.
	 */
	void (*on_end)(struct qh_tunnel *tn, int err, const char *text);
};

/*
 * Makes a tunnel with an initialised TCP handle and no channel. window is
 * what the channel will grant the peer, QH_MUX_MIN_WINDOW to
 * QH_MUX_MAX_WINDOW (0: QH_MUX_WINDOW); a buffer of that size is allocated
 * once the channel brings more than a few bytes at a time (only what is
 * queued at once is ever touched). Returns NULL when out of memory.
 */
struct qh_tunnel *qh_tunnel_new(uv_loop_t *loop, uint32_t window,
    const struct qh_tunnel_ops *ops, void *arg);

/* The TCP handle, to uv_accept() into before qh_tunnel_open(). */
uv_stream_t *qh_tunnel_stream(struct qh_tunnel *tn);

/*
 * Opens a channel on mux with the message req (for the connected socket
 * accepted into qh_tunnel_stream); relaying starts when the peer accepts.
 * A refusal ends the tunnel with QH_ERR_REFUSED and the peer's text.
 * Returns 0, or <0 when the channel could not be opened (the tunnel is
 * ending then and on_end follows).
 */
int qh_tunnel_open(struct qh_tunnel *tn, struct qh_mux *mux, const struct qh_buf *req);

/*
 * Holds the channel ch that the peer opened, dials host:port (qh/dial.h:
 * each resolved address in turn, all within QH_TUNNEL_CONNECT_MS) and
 * accepts ch on the connected socket. When the dial fails, ch is refused
 * with "cannot connect to HOST:PORT: REASON" and the tunnel ends with
 * QH_ERR_REFUSED and that text. Returns 0 (the outcome comes to on_end)
 * or <0 when nothing could be started (ch is refused and on_end follows).
 */
int
qh_tunnel_connect(struct qh_tunnel *tn, struct qh_chan *ch, const char *host, int port);

/* Ends the tunnel now: the channel and the socket are closed, on_end follows. */
void qh_tunnel_close(struct qh_tunnel *tn);

void *qh_tunnel_arg(const struct qh_tunnel *tn);

/* Bytes written to the socket and to the channel so far. */
void qh_tunnel_bytes(const struct qh_tunnel *tn, uint64_t *to_sock, uint64_t *to_chan);

#endif
