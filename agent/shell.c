/*
 * ACTION{cmd="shell"}: the user's interactive shell on a terminal the
 * platform provides (proc.h: a pseudo-terminal with the login shell on
 * POSIX, ConPTY with cmd.exe or PowerShell on Windows). task.c relays it;
 * this file reads what the technician asked for and resizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "task.h"

#define SHELL_DEFAULT_ROWS 24
#define SHELL_DEFAULT_COLS 80
#define SHELL_MAX_DIM	   1000
#define SHELL_DEFAULT_TERM "xterm"

/* 1 if s is a plausible TERM value. */
static int
term_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 63)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || strchr("._+-", s[i]) != NULL))
			return 0;
	return 1;
}

static uint32_t
dim(const struct qh_msg *m, uint8_t key, uint32_t dflt)
{
	uint32_t v;

	if (qh_msg_get_u32(m, key, &v) != 0 || v == 0 || v > SHELL_MAX_DIM)
		return dflt;
	return v;
}

void
shell_resize(struct task *t, const struct qh_msg *m)
{
	proc_resize(t, dim(m, QH_K_ROWS, SHELL_DEFAULT_ROWS),
	    dim(m, QH_K_COLS, SHELL_DEFAULT_COLS));
}

int
shell_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct shell_req req;
	struct task *t;
	const uint8_t *p = NULL;
	size_t len = 0;
	char *term = NULL, **argv = NULL, why[256];
	int argc = 0, r;

	if ((t = task_new(tasks, loop, TASK_SHELL, ch, m)) == NULL)
		return 0;
	(void)qh_msg_get_str(m, QH_K_TERM, &term);
	/* attach --shell NAME: the shell to start, where there is a choice. */
	if (qh_msg_get(m, QH_K_ARG, &p, &len) == 0 &&
	    qh_argv_unpack(p, len, &argv, &argc) != 0)
		argc = 0;
	memset(&req, 0, sizeof(req));
	req.term = term != NULL && term_valid(term) ? term : SHELL_DEFAULT_TERM;
	req.rows = dim(m, QH_K_ROWS, SHELL_DEFAULT_ROWS);
	req.cols = dim(m, QH_K_COLS, SHELL_DEFAULT_COLS);
	req.shell = argc > 0 ? argv[0] : NULL;
	why[0] = '\0';
	if ((r = proc_shell(t, loop, &req, why, sizeof(why))) != 0) {
		qh_warn("shell for %s: %s", t->login,
		    why[0] != '\0' ? why : uv_strerror(r));
		task_fail(t, "shell", why[0] != '\0' ? why : proc_strerror(r));
		goto out;
	}
	qh_info("shell for %s: pid %ld, %ux%u", t->login, proc_id(t), req.cols, req.rows);
	ui_notice(_("%s opened a shell"), t->login);
	task_start(t);
out:
	free(term);
	free(argv);
	return 0;
}
