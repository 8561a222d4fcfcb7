/*
 * Process control, the part of a task that differs between systems: how a
 * technician's program or shell is started, stopped, resized and reaped.
 * agent/posix/ starts every program under a warden process with a
 * pseudo-terminal or pipes; agent/win32/ uses uv_spawn and ConPTY inside
 * Job Objects. Both promise the same thing: every process a task starts,
 * and every process those start, ends with the task's program or with the
 * agent (see each implementation for what "every" covers there).
 *
 * Each implementation defines struct proc (the per-task state, embedded
 * in struct task) in its own header, included here. All functions run on
 * the loop's thread.
 */
#ifndef QH_AGENT_PROC_H
#define QH_AGENT_PROC_H

#include <stddef.h>

#include <uv.h>

#ifdef _WIN32
#include "win32/proc_win.h"
#else
#include "posix/proc_posix.h"
#endif

struct task;
struct task_list;

/* What a technician's attach asks for. */
struct shell_req {
	const char *term; /* TERM for the shell, already checked; POSIX only */
	unsigned rows, cols;
	const char *shell; /* attach --shell: "powershell", "cmd" (Windows); or NULL */
};

/*
 * Starts argv[0] with argv (no shell, its PATH looked up), in the user's
 * home directory, with its stdin, stdout and stderr as pipes: t->in and
 * t->out[0..1] are initialised here (with task_out_init) and belong to the
 * task from then on, also on failure. Returns 0, or a negative libuv
 * error (UV_ENOENT for a program that is not there) for task_fail.
 */
int proc_exec(struct task *t, uv_loop_t *loop, char **argv);

/*
 * Starts the user's interactive shell on a terminal of req's size:
 * t->out[0] carries the terminal's output, t->instream takes its input.
 * Returns 0, or a negative libuv error with a reason for the technician
 * in why (why[0] may stay empty: then the error's text is the reason).
 */
int proc_shell(struct task *t, uv_loop_t *loop, const struct shell_req *req, char *why,
    size_t whylen);

/* Asks the task's program to end (SIGTERM, a shell's SIGHUP; Windows: ends it). */
void proc_stop(struct task *t);

/* Ends the task's program and everything it started, now. */
void proc_kill(struct task *t);

/* Gives a shell's terminal a new size. */
void proc_resize(struct task *t, unsigned rows, unsigned cols);

/*
 * Collects the tasks whose program has exited and tells them
 * (task_exited). POSIX: call on SIGCHLD; Windows: exits arrive by
 * themselves, and this does nothing.
 */
void proc_reap(struct task_list *tasks);

/*
 * At exit: ends the task's program and everything it started and waits
 * (briefly) until it is gone; the task is reaped afterwards.
 */
void proc_shutdown(struct task *t);

/* The id to show in logs (the process id), or 0 before the start. */
long proc_id(const struct task *t);

/* The text for the technician of an error proc_exec returned. */
const char *proc_strerror(int r);

#endif
