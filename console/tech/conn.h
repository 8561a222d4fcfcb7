/*
 * Inside the technician's client: the fields of struct tech, shared by the
 * connection (conn.c: the bundle, TLS to the console, the channel and the
 * run loop) and the terminal (term.c: standard input relayed with window
 * backpressure, standard output and stderr, raw mode), and the calls
 * between the two. Commands include client.h, never this file.
 *
 * Everything runs on the loop of tech_loop(); nothing here is thread-safe.
 */
#ifndef QH_CONSOLE_TECH_CONN_H
#define QH_CONSOLE_TECH_CONN_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/pem.h"
#include "qh/tls.h"
#include "client.h"

#define IN_CHUNK       16384	      /* one read from standard input */
#define IN_PENDING_MAX (2 * IN_CHUNK) /* filtered input not yet sent */
#define REASON_MAX     256
#define NSIGNALS       3

enum tech_state {
	TECH_NEW,	 /* made by tech_new; tech_run not called yet */
	TECH_CONNECTING, /* dialling the console (qh_mux_dial), TLS handshake */
	TECH_OPENING,	 /* REQUEST sent, waiting for the console's answer */
	TECH_OPEN,	 /* the channel carries the command */
	TECH_DONE,	 /* ending: status decided, handles closing */
};

enum in_kind {
	IN_NONE,   /* no usable stdin: EOF at once */
	IN_STREAM, /* pipe or socket, read with uv_read_start */
	IN_TTY,	   /* terminal, read with uv_read_start */
	IN_FILE,   /* regular file or device, read with uv_fs_read */
};

struct tech {
	uv_loop_t loop;
	int loop_open;
	const struct tech_ops *ops;
	void *arg;
	enum tech_state state;
	int status; /* exit status, final once TECH_DONE */

	/* Who we are and where the console is. */
	char path[PATH_MAX]; /* the bundle */
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	char host[256]; /* the console's name or address, for TLS */
	int port;
	char reason[REASON_MAX]; /* why connecting failed, when it says */

	/* The connection and its one channel. */
	struct qh_mux *mux; /* NULL once its on_close ran */
	struct qh_chan *ch; /* NULL unless opening or open */
	const struct qh_buf *req;
	int chan_error;	  /* the console sent MSG ERROR on the channel */
	int chan_ended;	  /* the console closed the channel */
	uv_timer_t ender; /* ends the command once the channel closed */
	uv_signal_t sig[NSIGNALS];
	int handles_open; /* ender and sig initialised */

	/* Standard input (term.c). */
	enum in_kind in_kind;
	int in_wanted;	 /* tech_stdin_open was called */
	int in_fd;	 /* what "standard input" reads: fd 0, or tech_use_fds()'s */
	int in_fd_flags; /* its flags before libuv, or -1 */
	int in_fd_owned; /* in_fd is ours to close (libuv has not taken it) */
	uv_pipe_t in_pipe;
	uv_tty_t in_tty;
	uv_fs_t in_req;
	int in_open;	/* in_pipe or in_tty initialised */
	int in_reading; /* uv_read_start is in force */
	int in_fs_busy; /* a uv_fs_read is in flight */
	int in_eof;	/* stdin ended */
	int in_flushed; /* the filter saw the end */
	int in_stopped; /* nothing more is read or sent */
	int raw;	/* in_tty is in raw mode */
	uint8_t in_raw[IN_CHUNK];
	struct qh_buf in_pending; /* filtered, not yet taken by the channel */

	/*
	 * Standard output (term.c): through libuv for a pipe or tty, so that a reader
	 * that stalls stops the channel's window, never the loop; blocking
	 * writes for a file. Bytes are credited back to the console only once
	 * written, so at most one window is ever buffered here.
	 */
	int out_async;	  /* written through out_s */
	int out_open;	  /* out_pipe or out_tty initialised */
	int out_fd;	  /* where channel data goes: fd 1, or tech_use_fds()'s */
	int out_fd_flags; /* its flags before libuv, or -1 */
	int out_fd_owned; /* out_fd is ours to close */
	uv_pipe_t out_pipe;
	uv_tty_t out_tty;
	uv_stream_t *out_s;
	uv_write_t out_wreq;
	struct qh_buf out_buf[2]; /* [out_cur] collects, the other is written */
	int out_cur;
	int out_busy;	/* a write is in flight */
	int out_broken; /* the reader went away: output is dropped */
	int err_broken; /* the same for stderr */
};

/* Who the technician is and where the console is, from the bundle. */
struct tech_id {
	char path[PATH_MAX]; /* the bundle */
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	char host[256]; /* the console's name or address, for TLS */
	int port;
};

/*
 * Finds the bundle (--tech FILE, else $QH_TECH, else the default), loads
 * it and builds the TLS context. On failure prints one line naming the
 * file and the reason and returns QH_EXIT_FAIL.
 */
int tech_bundle_open(const struct qh_cli *c, struct tech_id *id);
void tech_bundle_close(struct tech_id *id);

/* term.c: standard input, output and the terminal. */

/* Prepares the terminal's part of a new t: no fd flags saved, empty buffers. */
void term_init(struct tech *t);

/*
 * Gives the terminal and the standard descriptors back as they were and
 * frees the buffers; for tech_free, after the loop closed.
 */
void term_free(struct tech *t);

/*
 * Puts /dev/null on a closed fd 0, 1 or 2, as OpenSSH's sanitise_stdfd
 * does, so that no socket or file of ours is mistaken for stdio.
 */
void term_sanitise_stdfd(void);

/* Sets up standard output; unless it is a pipe or tty, writes stay blocking. */
void term_out_open(struct tech *t);

/*
 * DATA for stdout: written at once if the reader takes it, else queued in
 * order (never more than a window); credited back once written.
 */
void term_out_data(struct tech *t, const uint8_t *p, size_t len);

/*
 * Writes text the console sent for people (a listing, a summary) to stdout
 * (ext 0) or stderr (ext 1), blocking: through the display filter, lines
 * kept, or as it is when exact is set (JSON, which the console's builder
 * escaped). Not for a command's output stream: nothing is credited.
 */
void term_print(struct tech *t, int ext, const uint8_t *p, size_t len, int exact);

/* EXTDATA for stderr: written blocking and credited back. */
void term_err_data(struct tech *t, const uint8_t *p, size_t len);

/* Closes standard output's handle once the command ended and all is written. */
void term_out_maybe_close(struct tech *t);

/*
 * Sends pending input while the channel (or the command's sink) takes it;
 * reads more when all is sent; at the end of input lets the filter flush,
 * then sends EOF. Call again after a short write (on_writable).
 */
void term_input_pump(struct tech *t);

/* Nothing more is read or sent; the handles stay until term_input_close. */
void term_input_stop(struct tech *t);

/* Stops input for good, gives the terminal back, closes the stdin handles. */
void term_input_close(struct tech *t);

#endif
