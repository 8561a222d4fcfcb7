/*
 * ACTION{cmd="exec"}: runs the technician's argv without a shell, detached
 * from the customer's terminal (so the customer's Ctrl-C does not reach it
 * and it cannot read the customer's terminal), with stdin, stdout and
 * stderr as pipes that task.c relays to the channel. Starting it is the
 * platform's part (proc.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	ui_notice(_("%s runs: %s"), login, line);
}

int
exec_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
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
	if ((r = proc_exec(t, loop, argv)) != 0) {
		qh_info("exec for %s: %s: %s", t->login, argv[0], uv_strerror(r));
		task_fail(t, argv[0], proc_strerror(r));
		free(argv);
		return 0;
	}
	qh_info("exec for %s: pid %ld", t->login, proc_id(t));
	free(argv);
	task_start(t);
	return 0;
}
