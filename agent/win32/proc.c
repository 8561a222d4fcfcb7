/*
 * Process control on Windows (agent/proc.h), the exec half; shells are
 * in conpty.c. A program runs without a shell, started by uv_spawn with
 * its command line quoted by Windows' rules (winquote.c), hidden (no
 * console window pops up on the customer's screen), in the user's
 * profile directory, with three pipes.
 *
 * Job Objects keep the promise of proc.h:
 * - plat_init puts the agent itself in a job that kills every process in
 *   it when its last handle closes, which happens when the agent ends
 *   however it ends (TerminateProcess, a crash). A process the agent
 *   starts is in that job from its creation, and so is everything it
 *   starts: the job allows no breakaway. libuv adds its own job below
 *   ours, which lets grandchildren break away from it, but not from ours.
 * - Each task gets a job of its own, so that a command the technician
 *   abandons is ended with what it started (TerminateJobObject). uv_spawn
 *   has the process running before we can assign it, and libuv's job lets
 *   grandchildren leave it, so for an exec this reaches the program and
 *   usually its children; what escapes ends with the agent. A command
 *   that ends by itself leaves what it started running until the agent
 *   ends: a setup.exe that starts the real installer and exits is
 *   common, and the installer must live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "task.h"
#include "win32/portable.h"
#include "win32/win.h"

void *
win_job_new(int kill_on_close)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
	HANDLE job;

	if ((job = CreateJobObjectW(NULL, NULL)) == NULL)
		return NULL;
	memset(&info, 0, sizeof(info));
	if (kill_on_close)
		info.BasicLimitInformation.LimitFlags =
		    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
	if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
		sizeof(info))) {
		CloseHandle(job);
		return NULL;
	}
	return job;
}

/* Ends the task's job (everything in it) and lets go of it. */
static void
job_end(struct task *t, int terminate)
{
	if (t->proc.job == NULL)
		return;
	if (terminate)
		(void)TerminateJobObject(t->proc.job, 1);
	CloseHandle(t->proc.job);
	t->proc.job = NULL;
}

static void
exec_exited(uv_process_t *p, int64_t status, int term_signal)
{
	struct task *t = p->data;

	t->proc.uvp_open = 0;
	uv_close((uv_handle_t *)p, task_handle_closed);
	qh_info("task of %s (pid %ld): exited with %s %d", t->login, t->proc.pid,
	    term_signal ? "signal" : "status", term_signal ? term_signal : (int)status);
	/* What it started stays until the agent ends (see above). */
	job_end(t, 0);
	task_reaped(t, (int)status, term_signal);
}

int
proc_exec(struct task *t, uv_loop_t *loop, char **argv)
{
	uv_process_options_t opt;
	uv_stdio_container_t stdio[3];
	char *cmdline = NULL, *args[2], home[MAX_PATH * 4];
	int r;

	task_in_init(t, loop);
	task_out_init(t, loop, 0, 0);
	task_out_init(t, loop, 1, 1);
	if ((cmdline = malloc(WIN_CMDLINE_MAX)) == NULL)
		return UV_ENOMEM;
	if ((r = win_quote_argv(argv, cmdline, WIN_CMDLINE_MAX)) != 0) {
		free(cmdline);
		return r == QH_ERR_TOO_LARGE ? UV_E2BIG : UV_EINVAL;
	}
	memset(&opt, 0, sizeof(opt));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&t->in;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&t->out[0].pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&t->out[1].pipe;
	/* Our quoting, word for word: libuv's would quote it again. */
	args[0] = cmdline;
	args[1] = NULL;
	opt.exit_cb = exec_exited;
	opt.file = argv[0];
	opt.args = args;
	opt.cwd = win_home(home, sizeof(home)) == 0 ? home : NULL;
	opt.flags = UV_PROCESS_WINDOWS_HIDE | UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	t->proc.uvp.data = t;
	t->nhandles++;
	t->proc.uvp_open = 1;
	if ((r = uv_spawn(loop, &t->proc.uvp, &opt)) != 0) {
		/* A failed spawn leaves the handle initialised; close it. */
		t->proc.uvp_open = 0;
		uv_close((uv_handle_t *)&t->proc.uvp, task_handle_closed);
		free(cmdline);
		return r;
	}
	free(cmdline);
	t->proc.pid = (long)t->proc.uvp.pid;
	t->instream = (uv_stream_t *)&t->in;
	/* The task's own job, for proc_kill; running already, so best effort. */
	if ((t->proc.job = win_job_new(0)) != NULL &&
	    !AssignProcessToJobObject(t->proc.job, t->proc.uvp.process_handle)) {
		qh_debug("task of %s: AssignProcessToJobObject: %lu", t->login,
		    (unsigned long)GetLastError());
		job_end(t, 0);
	}
	return 0;
}

void
proc_stop(struct task *t)
{
	/* Windows has no polite signal a hidden program would read. */
	proc_kill(t);
}

void
proc_kill(struct task *t)
{
	if (t->reaped)
		return;
	if (t->kind == TASK_SHELL) {
		win_shell_kill(t);
		return;
	}
	if (t->proc.uvp_open)
		(void)uv_process_kill(&t->proc.uvp, SIGKILL);
	job_end(t, 1);
}

void
proc_reap(struct task_list *tasks QH_UNUSED)
{
	/* libuv and the shells' waits report exits by themselves. */
}

void
proc_shutdown(struct task *t)
{
	/* Exits arrive while the loop runs on (task_shutdown). */
	proc_kill(t);
}

long
proc_id(const struct task *t)
{
	return t->proc.pid;
}

const char *
proc_strerror(int r)
{
	if (r == UV_ENOENT)
		return "No such file or directory";
	if (r == UV_E2BIG)
		return "command line too long";
	if (r == UV_EINVAL)
		return "a program name cannot contain '\"'";
	return uv_strerror(r);
}
