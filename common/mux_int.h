/*
 * The mux's insides, shared by its two files and no one else: mux.c (the
 * connection's life, its output, the dispatcher) and mux_chan.c (the
 * channel calls). Functions here are prefixed mux__, as libuv's internals
 * are uv__; everything else stays static in its file.
 */
#ifndef QH_MUX_INT_H
#define QH_MUX_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/mux.h"

enum chan_state {
	CH_OPENING, /* we sent OPEN, waiting for OPEN_OK or OPEN_FAIL */
	CH_PENDING, /* peer sent OPEN, application has not answered */
	CH_OPEN,    /* data may flow */
	CH_CLOSING, /* we sent CLOSE (application is done), waiting for peer's */
};

struct qh_chan {
	struct qh_mux *mux;
	uint32_t id;	    /* ours */
	uint32_t remote_id; /* the peer's */
	enum chan_state state;
	const struct qh_chan_ops *ops;
	void *arg;
	uint64_t send_window; /* bytes we may still send */
	uint32_t window;      /* the window we grant */
	uint32_t recv_window; /* bytes the peer may still send */
	uint32_t unacked;     /* consumed, not yet credited */
	unsigned sent_eof : 1, got_eof : 1, sent_close : 1, got_close : 1,
	    want_writable : 1;
};

enum mux_state {
	MUX_CONNECTING, /* TLS handshake running */
	MUX_JOIN,	/* server: peer without certificate, one JOIN allowed */
	MUX_READY,	/* authenticated peer */
	MUX_CLOSED,	/* dead: nothing is sent, frames are ignored, reaping */
};

struct qh_mux {
	struct qh_tls_conn *tls;
	enum mux_state state;
	const struct qh_mux_ops *ops;
	void *arg;
	uv_idle_t reaper; /* tells the channels of a death on the next turn */
	int err;	  /* why the connection died (kept from the first cause) */
	int reaped;	  /* the channels have been told and freed */
	/*
	 * Channels by our id, 1..chans_cap; grown by doubling when every id
	 * is taken, up to QH_MUX_MAX_CHANNELS, so an idle connection holds
	 * no table at all.
	 */
	struct qh_chan **chans;
	uint32_t chans_cap;
	uint32_t next_id;
	unsigned nchans;
	int joined; /* the one JOIN message arrived */
	uint64_t ping_cookie;
	char name[160];
};

/*
 * Appends a frame for the peer and schedules its sending. A full output
 * marks the connection dead (the peer stopped reading) and returns the
 * error; the caller's channel stays valid until the reaper runs, so code
 * after a send may still touch it. QH_ERR_CLOSED once dead.
 */
int mux__send_frame(struct qh_mux *mux, uint8_t type, uint32_t chan, const void *p,
    size_t len);

/* Logs that msg was not sent because building it failed; returns that error. */
int mux__unbuilt(struct qh_mux *mux, const struct qh_buf *msg);

/* Builds an ERROR message (code, text at most 4000 bytes) in b. */
int mux__build_error(struct qh_buf *b, const char *code, const char *text);

/*
 * Marks the connection dead with err (the first cause is kept), logs why
 * once if not NULL, and starts closing TLS; the channels are told by the
 * reaper on the next loop turn. Safe from anywhere, inside a send too.
 */
void mux__mark_dead(struct qh_mux *mux, int err, const char *why);

/* A new channel under the next free id, or NULL at the limit or out of memory. */
struct qh_chan *mux__chan_new(struct qh_mux *mux);

/* Removes a channel from the table and frees it; nothing is called back. */
void mux__chan_free(struct qh_chan *ch);

#endif
