/*
 * The technician's side of qh-console: what queue, exec, attach and end
 * share. A command finds and loads the technician's bundle, connects to the
 * console over mutually authenticated TLS, opens one channel with a REQUEST
 * and runs a private libuv loop until the channel and the connection are
 * gone. Console output on the channel goes to stdout (DATA) and stderr
 * (EXTDATA); standard input can be relayed to the channel with window
 * backpressure; NOTICE and ERROR messages, refusals and lost connections
 * are reported here as one line each, so every command fails the same way.
 * conn.c keeps the connection and its channel, term.c standard input and
 * output and the terminal, escape.c the "~." filter.
 *
 * Everything runs on the loop of tech_loop(); nothing here is thread-safe.
 */
#ifndef QH_CONSOLE_TECH_H
#define QH_CONSOLE_TECH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/wire.h"

#define TECH_CODE_LEN	  6		    /* session codes: "482913" */
#define TECH_KEEPALIVE_MS 15000		    /* ping after this much silence */
#define TECH_DEAD_MS	  45000		    /* give up after this much */
#define TECH_CONNECT_MS	  30000		    /* resolving and connecting, all addresses */
#define TECH_ANSWER_MAX	  (4 * 1024 * 1024) /* a one-shot request's answer */

/* Flags of a REQUEST (QH_K_FLAGS). */
#define TECH_FLAG_OVERDRAFT 0x1 /* --allow-overdraft (R7) */
#define TECH_FLAG_HUMAN	    0x2 /* queue: a text table instead of JSON */

struct tech;
struct qh_chan;
struct qh_chan_ops;

/* What a command adds to the shared behaviour; every member may be NULL. */
struct tech_ops {
	/*
	 * The console accepted the request and the channel is open. Runs
	 * before standard input (if opened) starts flowing.
	 */
	void (*on_open)(struct tech *t);
	/* A channel message other than NOTICE and ERROR (EXIT, say). */
	void (*on_msg)(struct tech *t, const struct qh_msg *m);
	/*
	 * The console closed the channel without an ERROR before it. Returns
	 * the exit status, after printing its own line if it fails; NULL
	 * means 0.
	 */
	int (*on_end)(struct tech *t);
	/*
	 * The command is ending, whatever the reason: close the command's own
	 * handles now. Runs exactly once, before the connection closes.
	 */
	void (*on_stop)(struct tech *t);
	/*
	 * Filters standard input on its way to the channel: appends what to
	 * send for the len bytes at p to out (at most len + 1 bytes). p is
	 * NULL at the end of input, to flush what the filter held back. May
	 * call tech_finish(). NULL sends the input as it is.
	 */
	void (
	    *on_input)(struct tech *t, const uint8_t *p, size_t len, struct qh_buf *out);
	/*
	 * Bytes on the channel, for a command that does not want them on
	 * stdout (DATA) and stderr (EXTDATA): p is valid during the call
	 * only, and the command credits them back with tech_consume() once
	 * it is done with them. NULL writes them to stdout and stderr.
	 */
	void (*on_data)(struct tech *t, int ext, const uint8_t *p, size_t len);
	/* The console half-closed the channel (EOF); more messages may follow. */
	void (*on_eof)(struct tech *t);
	/* The channel has room again after a short qh_chan_write(). */
	void (*on_writable)(struct tech *t);
	/*
	 * Where (filtered) standard input goes instead of the channel: takes
	 * up to len bytes at p and returns how many it took; 0 when it has no
	 * room (reading pauses until the command calls tech_input_resume()),
	 * <0 to stop input for good. p is NULL once, at the end of input (the
	 * return value is ignored then). NULL sends input on the channel.
	 */
	ssize_t (*in_write)(struct tech *t, const uint8_t *p, size_t len);
};

/*
 * What on_end returns when the channel's end is not yet the command's: it
 * calls tech_finish() itself later (ssh, whose client thread still winds
 * down). on_end may be called once more while the command is pending.
 */
#define TECH_PENDING (-1)

/*
 * ssh's escapes at the start of a line, for commands with a terminal: "~."
 * detaches, "~~" sends one "~", a "~" before anything else goes with it.
 */
struct tech_escape {
	int line_start; /* the next byte starts a line */
	int tilde;	/* a "~" at a line start is held back */
};

/*
 * Resolves the bundle (--tech FILE, else $QH_TECH, else
 * ~/.config/quarterhour/tech.conf), loads it and builds the TLS context.
 * On failure prints one line naming the file and the reason and returns
 * QH_EXIT_FAIL; on success returns 0 and *tp owns the new state.
 */
int
tech_new(const struct qh_cli *c, const struct tech_ops *ops, void *arg, struct tech **tp);

/* Frees what tech_new made, after tech_run (or instead of it). NULL is fine. */
void tech_free(struct tech *t);

/*
 * A one-shot request (queue, end): connects with the bundle, sends req and
 * prints what the console answers (at most TECH_ANSWER_MAX bytes) once the
 * channel ends: through the display filter, or as it came when exact is
 * set (JSON, which the console's builder escaped). Returns the command's
 * exit status.
 */
int tech_request(const struct qh_cli *c, const struct qh_buf *req, int exact);

/*
 * Prepares standard input for relaying once the channel opens (a tty, a
 * pipe or socket, or a file read with uv_fs_read). Call before tech_run,
 * or later once the channel is open and then tech_input_resume() (a
 * command that must not read the terminal before it is ready: ssh, while
 * it asks for a password). Returns 0 or a negative QH_ERR_*; without a
 * usable stdin the channel (or ops->in_write) gets EOF at once.
 */
int tech_stdin_open(struct tech *t);

/*
 * Reads and sends standard input again: after ops->in_write took nothing,
 * or after a late tech_stdin_open().
 */
void tech_input_resume(struct tech *t);

/*
 * Makes the command read from in_fd and write channel data to out_fd
 * instead of standard input and output (a socket, for a command that
 * bridges one: desktop). t owns and closes both. Call before
 * tech_stdin_open and tech_run.
 */
void tech_use_fds(struct tech *t, int in_fd, int out_fd);

/* The tty handle of standard input, or NULL when stdin is not a tty. */
uv_tty_t *tech_stdin_tty(struct tech *t);

/*
 * Puts the stdin tty into raw mode (the command's own terminal settings
 * come back in tech_finish and tech_free, on every path). Lines printed by
 * tech_say end in "\r\n" from now on. Returns 0 or a negative QH_ERR_*.
 */
int tech_set_raw(struct tech *t);

/*
 * Connects to the console, opens the channel with the REQUEST message req
 * (built with qh_msg_*), and runs the loop until everything is closed.
 * Returns the exit status of the command.
 */
int tech_run(struct tech *t, const struct qh_buf *req);

/*
 * Sends what the input filter produced so far, as far as the channel's
 * window allows: for a filter that ends the command (a detach) without
 * losing the bytes typed before it.
 */
void tech_input_flush(struct tech *t);

/*
 * Ends the command with status: stops standard input, runs ops->on_stop,
 * closes the channel and the connection. Only the first call counts.
 */
void tech_finish(struct tech *t, int status);

/* Credits n bytes given to ops->on_data back to the console. */
void tech_consume(struct tech *t, size_t n);

/*
 * Opens one more channel on the console connection, for a command that
 * needs two (ssh: its recording): REQUEST req, answered on
 * ops->on_open_result. Only while the command's own channel is open. The
 * command closes it (qh_chan_close) in on_stop at the latest; if the
 * connection goes first, ops->on_close runs. Returns NULL on failure.
 */
struct qh_chan *tech_open_channel(struct tech *t, const struct qh_buf *req,
    const struct qh_chan_ops *ops, void *arg);

void tech_escape_init(struct tech_escape *e);

/*
 * Filters typed input through the escapes: appends what to send for the
 * len bytes at p to out (at most len + 1 bytes: a "~" held back from the
 * last call, then the input). Returns 1 when "~." was typed: out holds the
 * bytes before it, the rest is dropped, and the caller detaches. p NULL is
 * the end of input: a held "~" is sent. Returns 0 otherwise.
 */
int tech_escape_filter(struct tech_escape *e, const uint8_t *p, size_t len,
    struct qh_buf *out);

/*
 * Prints "qh-console: TEXT" and a line end (CR LF in raw mode) on stderr.
 * t may be NULL. Lines longer than 4 KiB are cut.
 */
void tech_say(struct tech *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s to stderr as it is; t may be NULL. */
void tech_stderr(struct tech *t, const char *s);

/* The bundle the command connects with, and the file it was loaded from. */
struct qh_bundle;
const struct qh_bundle *tech_bundle(const struct tech *t);
const char *tech_bundle_path(const struct tech *t);

uv_loop_t *tech_loop(struct tech *t);
void *tech_arg(const struct tech *t);
/* The open channel, or NULL before it opens and after it ended. */
struct qh_chan *tech_chan(const struct tech *t);

/*
 * Reads the exit status of an EXIT message: status, or 128 + signal.
 * Returns 0, or QH_ERR_FORMAT when it carries neither.
 */
int tech_exit_status(const struct qh_msg *m, int *status);

/*
 * Normalises a session code as typed ("482913" or "482 913") to its six
 * digits in code. Returns 0 or QH_ERR_ARG.
 */
int tech_parse_code(const char *s, char code[TECH_CODE_LEN + 1]);

/* Formats six digits for people: "482 913". */
void tech_code_pretty(const char *code, char out[TECH_CODE_LEN + 2]);

#define QH_TERM_MAX 64 /* QH_K_TERM's bound on the wire */

/* $TERM if the wire can carry it (UTF-8, at most QH_TERM_MAX), else "xterm". */
const char *tech_term_name(void);

#endif
