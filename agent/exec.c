/*
 * ACTION{cmd="exec"}: runs the technician's argv without a shell, in its own
 * session (so the customer's Ctrl-C does not reach it and it cannot read
 * the customer's terminal), with stdin, stdout and stderr as pipes that
 * task.c relays to the channel.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/log.h"
#include "task.h"

/* Shows the customer what runs: "[HH:MM:SS] LOGIN runs: argv...". */
static void
notice_argv(const char *login, int argc, char **argv)
{
	char line[TASK_NOTICE_MAX + 4];
	size_t len = 0, n;
	int i;

	line[0] = '\0';
	for (i = 0; i < argc && len < TASK_NOTICE_MAX; i++) {
		n = (size_t)snprintf(line + len, TASK_NOTICE_MAX + 1 - len, "%s%s",
		    i > 0 ? " " : "", argv[i]);
		len = len + n > TASK_NOTICE_MAX ? TASK_NOTICE_MAX : len + n;
	}
	if (len >= TASK_NOTICE_MAX || i < argc)
		strcpy(line + len, "...");
	ui_notice("%s runs: %s", login, line);
}

/* The user's home directory when it can be entered, else NULL. */
static const char *
home_dir(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_dir != NULL && access(pw->pw_dir, X_OK) == 0)
		return pw->pw_dir;
	return NULL;
}

static void
proc_exited(uv_process_t *p, int64_t status, int term_signal)
{
	struct task *t = p->data;

	t->reaped = 1;
	uv_close((uv_handle_t *)p, task_handle_closed);
	qh_info("task of %s (pid %ld): exited with %s %d", t->login, (long)t->pid,
	    term_signal ? "signal" : "status", term_signal ? term_signal : (int)status);
	task_exited(t, (int)status, term_signal);
}

int
exec_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	uv_process_options_t opt;
	uv_stdio_container_t stdio[3];
	struct task *t;
	const uint8_t *p = NULL;
	size_t len = 0;
	char **argv = NULL;
	int argc = 0, r;

	if ((t = task_new(tasks, loop, TASK_EXEC, ch, m)) == NULL)
		return 0;
	if (qh_msg_get(m, QH_K_ARG, &p, &len) != 0 ||
	    (r = qh_argv_unpack(p, len, &argv, &argc)) != 0 || argc == 0) {
		task_fail(t, "exec", "no command given");
		free(argv);
		return 0;
	}
	notice_argv(t->login, argc, argv);

	uv_pipe_init(loop, &t->in, 0);
	t->in.data = t;
	t->in_open = 1;
	t->nhandles++;
	task_out_init(t, loop, 0, 0);
	task_out_init(t, loop, 1, 1);

	memset(&opt, 0, sizeof(opt));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&t->in;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&t->out[0].pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&t->out[1].pipe;
	opt.exit_cb = proc_exited;
	opt.file = argv[0];
	opt.args = argv;
	opt.cwd = home_dir();
	opt.flags = UV_PROCESS_DETACHED; /* setsid: its own process group */
	opt.stdio = stdio;
	opt.stdio_count = 3;
	t->proc.data = t;
	t->nhandles++;
	if ((r = uv_spawn(loop, &t->proc, &opt)) != 0) {
		/* A failed spawn leaves the handle initialised; close it. */
		uv_close((uv_handle_t *)&t->proc, task_handle_closed);
		qh_info("exec for %s: %s: %s", t->login, argv[0], uv_strerror(r));
		task_fail(t, argv[0], strerror(-r));
		free(argv);
		return 0;
	}
	t->pid = t->proc.pid;
	t->instream = (uv_stream_t *)&t->in;
	qh_info("exec for %s: pid %ld", t->login, (long)t->pid);
	free(argv);
	task_start(t);
	return 0;
}
