/*
 * A task is one command a technician runs on this PC over one channel: a
 * program started without a shell (exec.c) or a login shell on a
 * pseudo-terminal (shell.c). task.c relays the bytes both ways with flow
 * control in both directions, and ends the channel with the exit status.
 *
 * Lifetime: a task is freed only when every libuv handle it owns has been
 * closed and its process has been reaped; until then it stays on its list.
 * Callbacks check t->ch (NULL once the channel is gone) before using it.
 */
#ifndef QH_AGENT_TASK_H
#define QH_AGENT_TASK_H

#include "agent.h"
#include "proc.h"
#include "qh/pki.h"
#include "qh/ring.h"

/*
 * The window granted on a task's channel, and the size of the ring that
 * holds channel bytes until the process has read them: the technician can
 * never have more than this outstanding, so the ring cannot overflow.
 */
#define TASK_IN_WINDOW (256 * 1024)
/* One read from the process; reading stops while a chunk is unsent. */
#define TASK_OUT_CHUNK (64 * 1024)
/* After proc_stop (SIGTERM, a shell's SIGHUP), proc_kill follows after this. */
#define TASK_KILL_MS 2000
/* After the process exited, output still open is cut after this much quiet. */
#define TASK_LINGER_MS 2000
/* Longest command line shown in the customer's notice. */
#define TASK_NOTICE_MAX 120

enum task_kind {
	TASK_EXEC,  /* argv run without a shell, three pipes */
	TASK_SHELL, /* the user's shell on a terminal (pty, ConPTY) */
};

enum task_timer {
	TIMER_NONE,
	TIMER_KILL,   /* channel gone, process told to stop: proc_kill next */
	TIMER_LINGER, /* process gone, output pipes still open */
};

/* One output stream of the process: read into buf, written to the channel. */
struct task_out {
	uv_pipe_t pipe;
	struct task *t;
	int ext;	      /* 0: DATA (stdout or the pty), 1: EXTDATA (stderr) */
	unsigned open : 1;    /* pipe initialised and not yet closing */
	unsigned reading : 1; /* uv_read_start in force */
	unsigned eof : 1;     /* the process will write no more here */
	size_t off, len;      /* unsent bytes in buf */
	uint8_t buf[TASK_OUT_CHUNK];
};

struct task {
	struct task *next, **prevp; /* on its task_list */
	enum task_kind kind;
	struct qh_chan *ch; /* NULL once the channel is closed */
	char login[QH_ID_MAX + 1];
	struct proc proc;    /* the platform's state (proc.h) */
	int status, signo;   /* how it ended, once exited */
	unsigned exited : 1; /* the process is gone (or never started) */
	unsigned reaped : 1; /* no zombie left to wait for */
	unsigned done : 1;   /* EXIT, EOF and CLOSE were sent */

	/* Channel bytes on their way to the process's stdin (or the pty). */
	uv_stream_t *instream; /* NULL when there is nowhere to write */
	uv_pipe_t in;	       /* the child's stdin (exec; a ConPTY's input) */
	unsigned in_open : 1;  /* in initialised and not closing */
	unsigned in_eof : 1;   /* the technician sent EOF */
	unsigned writing : 1;  /* wreq in flight */
	uv_write_t wreq;
	size_t wlen;	     /* bytes in flight */
	struct qh_ring ring; /* TASK_IN_WINDOW at most, allocated when needed */

	struct task_out out[2];
	int nout; /* streams in use: 2 for exec, 1 for a shell */

	uv_timer_t timer;
	enum task_timer timer_mode;
	unsigned timer_open : 1;

	int nhandles; /* initialised handles not yet closed */
};

/*
 * Creates a task for ch, reading the technician's login from the ACTION
 * m, and accepts the channel. On failure (too many tasks, no memory) ch is
 * refused and NULL returned.
 */
struct task *task_new(struct task_list *tasks, uv_loop_t *loop, enum task_kind kind,
    struct qh_chan *ch, const struct qh_msg *m);

/* Initialises output stream i (an uv_pipe_t) for stream ext. */
void task_out_init(struct task *t, uv_loop_t *loop, int i, int ext);

/* Initialises t->in, the child's stdin or a terminal's input, as a pipe. */
void task_in_init(struct task *t, uv_loop_t *loop);

/* Starts relaying: reads the outputs, writes channel bytes to instream. */
void task_start(struct task *t);

/*
 * The process could not be started: tells the technician on stderr
 * ("qh-agent: WHAT: REASON") and ends the channel with status 127.
 */
void task_fail(struct task *t, const char *what, const char *reason);

/* The process ended; status is its exit status, or signo its signal. */
void task_exited(struct task *t, int status, int signo);

/* The close callback of every handle a task owns. */
void task_handle_closed(uv_handle_t *h);

/* Resizes a shell's terminal (shell.c). */
void shell_resize(struct task *t, const struct qh_msg *m);

/*
 * The task's program ended, as proc.h's implementations report it:
 * marks it reaped, tells the task, and frees the task if nothing else
 * holds it.
 */
void task_reaped(struct task *t, int status, int signo);

#endif
