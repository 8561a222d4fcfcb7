/*
 * qh-console ssh: an SSH client session carried over a dial channel through
 * the agent to an SSH server the customer's PC can reach (DESIGN §3). This
 * header is private to console/tech/ssh: `struct ssh` and what its pieces
 * share.
 *
 * Two threads, sharing only `struct ssh`'s locked part. The main thread
 * runs conn.c's libuv loop: the console connection, the dial channel
 * relayed to one end of a socketpair, standard input (raw, with the "~."
 * escape) queued for the client, and the record channel that carries the
 * decrypted terminal output to the console (bridge.c). The client thread
 * runs libssh2 on the other end of the socketpair (client.c): in blocking
 * mode while it connects, checks the host key (hostkey.c) and
 * authenticates (auth.c) — questions and passwords go through /dev/tty, so
 * nothing it reads competes with the loop — then non-blocking with poll()
 * on the socket and a wake-up pipe while the shell or command runs; it
 * writes the output to stdout and stderr itself (a stalled terminal
 * stalls the SSH window, not the loop). ssh.c is the command: options,
 * set-up and the end.
 *
 * The loop wakes the thread through the pipe; the thread wakes the loop
 * with uv_async_send, under the lock and only while loop_alive says the
 * handle is open. Every queue between them is bounded: typed input stops
 * being read while the client has no room, and terminal output for the
 * recording is dropped, with a warning, rather than ever blocking the
 * shell. The loop never waits for the thread except in the final join,
 * after it told the thread to stop and closed the socket under it.
 *
 * Functions marked "thread" run on the client thread only, "loop" on the
 * loop only; the rest say under which lock they may be called.
 */
#ifndef QH_CONSOLE_TECH_SSH_H
#define QH_CONSOLE_TECH_SSH_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <uv.h>

#include "qh/buf.h"
#include "tech/client.h"

#define SSH_DEFAULT_PORT   22
#define SSH_CMD_MAX	   32768	 /* the joined remote command */
#define SSH_IN_MAX	   (64 * 1024)	 /* typed input the client has not taken */
#define SSH_REC_MAX	   (1024 * 1024) /* output for the recording, thread side */
#define SSH_REC_OUT_MAX	   (256 * 1024)	 /* the same, loop side */
#define SSH_UP_MAX	   (64 * 1024)	 /* socketpair → dial channel, held back */
#define SSH_CHUNK	   (32 * 1024)	 /* one read of either side */
#define SSH_ERR_MAX	   768		 /* the one line a failure prints */
#define SSH_LINE_MAX	   1024		 /* an answer typed at a prompt */
#define SSH_CONNECT_MS	   30000	 /* handshake and authentication, per step */
#define SSH_TEARDOWN_MS	   5000		 /* closing the channel and session */
#define SSH_DRAIN_MS	   5000		 /* sending the recording's tail */
#define SSH_PASSWORD_TRIES 3
#define TERM_MAX	   QH_TERM_MAX

/* Where the client thread is; written by the thread under the lock. */
enum ssh_phase {
	SSH_CONNECTING, /* handshake, host key, authentication, channel */
	SSH_RUNNING,	/* the shell or command runs: input flows */
	SSH_DONE,	/* the thread is finishing; status and err are final */
};

/* The record channel, on the loop. */
enum rec_state {
	REC_NONE,    /* not asked for (a command), or not yet */
	REC_OPENING, /* REQUEST record sent */
	REC_OPEN,    /* the console records what we send */
	REC_GONE,    /* refused, closed or ended */
};

struct ssh {
	/* Set before the thread starts, read-only afterwards. */
	char code[TECH_CODE_LEN + 1];
	char user[256];
	char host[256];
	int port;
	char target[300];	/* HOST:PORT for the dial */
	char userhost[600];	/* USER@HOST:PORT for the recording and messages */
	char keyfile[PATH_MAX]; /* -i, or "" for the defaults */
	char known_hosts[PATH_MAX];
	char home[PATH_MAX];
	char command[SSH_CMD_MAX]; /* the joined words, or "" for a shell */
	int interactive;	   /* no command: a shell, recorded */
	int want_pty;		   /* a shell with a terminal on stdin */
	int can_prompt;		   /* stdin is a terminal and /dev/tty opens */
	char term[TERM_MAX + 1];
	int sock;    /* the thread's end of the socketpair */
	int wake[2]; /* the loop wakes the thread: [1] → [0] */

	/* Shared between the threads: only under mu. */
	uv_mutex_t mu;
	int mu_init;
	int loop_alive; /* async is open: the thread may send it */
	enum ssh_phase phase;
	int running;	       /* SSH_RUNNING was reached (stays set) */
	int stop;	       /* the loop asks the thread to end */
	int status;	       /* the exit status once SSH_DONE */
	char err[SSH_ERR_MAX]; /* the failure to print, or "" */
	struct qh_buf in;      /* typed input for the client */
	int in_eof;	       /* standard input ended */
	int in_blocked;	       /* the loop waits for room in `in` */
	int in_resume;	       /* room again: the loop reads more */
	struct qh_buf rec;     /* terminal output for the recording */
	uint64_t rec_dropped;  /* bytes the recording lost */
	int resize;	       /* rows and cols changed */
	unsigned rows, cols;

	/* The loop's (main thread only). */
	struct tech *t;
	uv_thread_t thread;
	int thread_started;
	int thread_joined;
	uv_async_t async;
	int async_open;
	uv_signal_t winch;
	int winch_open;
	uv_timer_t drain;
	int drain_open;
	int running_seen; /* SSH_RUNNING was acted on */
	int done_seen;	  /* SSH_DONE was acted on */
	int end_status;	  /* ours once the thread is done */
	struct tech_escape esc;
	/* The bridge: dial channel ↔ the loop's end of the socketpair. */
	uv_pipe_t a;
	int a_open;
	int a_fd; /* until uv_pipe_open owns it */
	int a_reading;
	uint8_t up_raw[SSH_CHUNK];
	struct qh_buf up; /* read from the socketpair, not yet sent */
	int up_eof;	  /* the client closed its end */
	int up_eof_sent;
	struct qh_buf down[2]; /* from the dial channel: [down_cur] collects */
	int down_cur;
	int down_busy;
	uv_write_t down_req;
	int down_eof;  /* no more from the dial channel */
	int down_shut; /* shutdown of the socketpair issued */
	uv_shutdown_t shut_req;
	/* The recording. */
	enum rec_state rec_state;
	struct qh_chan *rec_ch;
	struct qh_buf rec_out;	     /* taken from `rec`, not yet sent */
	unsigned rec_rows, rec_cols; /* the size the recording knows */
	uint64_t rec_warned; /* drops were reported (the total comes at the end) */
};

/* Both threads (bridge.c). */

/* Wakes the client thread from its poll(); the pipe is non-blocking. */
void ssh_wake_thread(struct ssh *s);

/* Wakes the loop. Call with mu held: the handle is open while loop_alive. */
void ssh_wake_loop_locked(struct ssh *s);

/* The client thread's tools (client.c); thread. */

/* 1 once the loop asked the thread to end. */
int ssh_stopping(struct ssh *s);

/*
 * Writes all of p to fd (stdout, stderr, the tty, a file), waiting out a
 * non-blocking descriptor. Returns 0, or -1 (the reader is gone, or the
 * loop asked us to stop).
 */
int ssh_write_fd(struct ssh *s, int fd, const void *p, size_t len);

/* Records the failure line the command prints (the first one counts). */
void ssh_fail(struct ssh *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* libssh2's last error as text, for a failure line; never NULL. */
const char *ssh_error(LIBSSH2_SESSION *session);

/*
 * Asks on the terminal (/dev/tty): shows prompt, reads one line into out
 * (at most outlen - 1 bytes, the rest of a longer line is dropped), with
 * echo off unless echo. Returns 0, or -1 when there is no terminal, the
 * input ended, or the loop asked us to stop (out is wiped then).
 */
int ssh_ask_tty(struct ssh *s, const char *prompt, int echo, char *out, size_t outlen);

/* Says something on the terminal; nothing when there is none. */
void ssh_tell_tty(struct ssh *s, const char *text);

/* The client thread: one SSH session from handshake to disconnect. */
void ssh_client_main(void *arg);

/* Host keys (hostkey.c); thread. */

/*
 * Reads the known_hosts file (missing is empty). Returns the list, or NULL
 * with the failure recorded (a file we cannot read fully could hide a
 * changed key).
 */
LIBSSH2_KNOWNHOSTS *ssh_known_hosts_load(struct ssh *s, LIBSSH2_SESSION *session);

/*
 * Prefers the host-key methods of the types known for this host (libssh2
 * picks one without looking at known_hosts), then the others.
 */
void
ssh_hostkey_prefer(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts);

/*
 * Checks the server's host key against known_hosts: a known key passes, a
 * changed one is refused with both fingerprints, a new one is shown and
 * confirmed on the terminal (refused without one) and remembered. Returns
 * 0 to go on, -1 with the failure recorded.
 */
int ssh_hostkey_check(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts);

/* Authentication (auth.c); thread. */

/*
 * Authenticates as s->user: ssh-agent, then key files (-i, or the usual
 * ones in ~/.ssh), then password or keyboard-interactive on the terminal.
 * Returns 0, or -1 with the failure recorded.
 */
int ssh_authenticate(struct ssh *s, LIBSSH2_SESSION *session);

/* The bridge to the loop (bridge.c); loop. */

/* What the command adds to conn.c's behaviour. */
extern const struct tech_ops ssh_tech_ops;

/*
 * Sets up the socketpair's loop end (a_fd), the wake-up from the thread
 * and the drain timer on the loop of s->t. Returns 0 or a negative
 * QH_ERR_*; what was opened is closed by ops->on_stop.
 */
int ssh_bridge_setup(struct ssh *s);

/*
 * Tells the thread to stop and that the loop no longer takes wake-ups;
 * wakes it. Safe to call more than once.
 */
void ssh_thread_stop(struct ssh *s);

#endif
