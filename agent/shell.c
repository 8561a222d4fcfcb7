/*
 * ACTION{cmd="shell"}: the user's login shell on a pseudo-terminal. libuv
 * cannot give a child a controlling terminal, so the shell is started with
 * forkpty(3); the master goes to uv_pipe_open and task.c relays it. libuv
 * does not know the child either: run.c's SIGCHLD watcher calls
 * task_reap(), which waits for it.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/log.h"
#include "task.h"

extern char **environ;

#define SHELL_DEFAULT_ROWS 24
#define SHELL_DEFAULT_COLS 80
#define SHELL_MAX_DIM	   1000
#define SHELL_DEFAULT_TERM "xterm"

/* What the child needs, prepared before fork so that it only calls exec. */
struct shell_spec {
	char path[512];	 /* the shell */
	char argv0[128]; /* "-bash": a login shell */
	char home[512];
	char *argv[2];
	char **envp; /* environ, TERM HOME SHELL USER LOGNAME replaced */
	char term[80], henv[520], senv[520], uenv[80], lenv[80];
};

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

static int
replaced(const char *e)
{
	static const char *const names[] = { "TERM=", "HOME=", "SHELL=", "USER=",
		"LOGNAME=" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* Fills spec from the passwd entry of our user; returns 0 or QH_ERR_NOMEM. */
static int
spec_init(struct shell_spec *sp, const char *term)
{
	struct passwd *pw = getpwuid(getuid());
	const char *shell = NULL, *base;
	size_t n = 0, i = 0;

	memset(sp, 0, sizeof(*sp));
	if (pw != NULL && pw->pw_shell != NULL && pw->pw_shell[0] == '/' &&
	    access(pw->pw_shell, X_OK) == 0)
		shell = pw->pw_shell;
	else
		shell = "/bin/sh";
	snprintf(sp->path, sizeof(sp->path), "%s", shell);
	base = strrchr(sp->path, '/') + 1;
	snprintf(sp->argv0, sizeof(sp->argv0), "-%s", base);
	sp->argv[0] = sp->argv0;
	sp->argv[1] = NULL;
	snprintf(sp->home, sizeof(sp->home), "%s",
	    pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/");

	snprintf(sp->term, sizeof(sp->term), "TERM=%s", term);
	snprintf(sp->henv, sizeof(sp->henv), "HOME=%s", sp->home);
	snprintf(sp->senv, sizeof(sp->senv), "SHELL=%s", sp->path);
	snprintf(sp->uenv, sizeof(sp->uenv), "USER=%s", pw != NULL ? pw->pw_name : "?");
	snprintf(sp->lenv, sizeof(sp->lenv), "LOGNAME=%s",
	    pw != NULL ? pw->pw_name : "?");

	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((sp->envp = calloc(n + 6, sizeof(char *))) == NULL)
		return QH_ERR_NOMEM;
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		if (!replaced(environ[n]))
			sp->envp[i++] = environ[n];
	sp->envp[i++] = sp->term;
	sp->envp[i++] = sp->henv;
	sp->envp[i++] = sp->senv;
	sp->envp[i++] = sp->uenv;
	sp->envp[i++] = sp->lenv;
	sp->envp[i] = NULL;
	return 0;
}

/*
 * In the child: default signal dispositions (the agent ignores SIGPIPE and
 * SIGTTIN, which exec would keep), an empty mask, the home directory, the
 * shell. Only async-signal-safe calls: the loop's thread pool may run.
 */
static void __attribute__((noreturn)) child(const struct shell_spec *sp)
{
	static const char msg[] = "qh-agent: cannot start the shell\r\n";
	struct sigaction sa;
	sigset_t all;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	if (chdir(sp->home) == -1)
		(void)chdir("/");
	execve(sp->path, sp->argv, sp->envp);
	(void)write(2, msg, sizeof(msg) - 1);
	_exit(127);
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
	struct winsize ws;

	if (t->master < 0)
		return;
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = (unsigned short)dim(m, QH_K_ROWS, SHELL_DEFAULT_ROWS);
	ws.ws_col = (unsigned short)dim(m, QH_K_COLS, SHELL_DEFAULT_COLS);
	if (ioctl(t->master, TIOCSWINSZ, &ws) == -1)
		qh_debug("task of %s: TIOCSWINSZ: %s", t->login, strerror(errno));
	else
		qh_debug("task of %s: resized to %ux%u", t->login, ws.ws_col, ws.ws_row);
}

int
shell_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct shell_spec *sp = NULL;
	struct winsize ws;
	struct task *t;
	char *term = NULL;
	int master = -1, r, fl;
	pid_t pid;

	if ((t = task_new(tasks, loop, TASK_SHELL, ch, m)) == NULL)
		return 0;
	(void)qh_msg_get_str(m, QH_K_TERM, &term);
	if ((sp = malloc(sizeof(*sp))) == NULL ||
	    spec_init(sp, term != NULL && term_valid(term) ? term : SHELL_DEFAULT_TERM) !=
		0) {
		task_fail(t, "shell", "out of memory");
		goto out;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = (unsigned short)dim(m, QH_K_ROWS, SHELL_DEFAULT_ROWS);
	ws.ws_col = (unsigned short)dim(m, QH_K_COLS, SHELL_DEFAULT_COLS);

	if ((pid = forkpty(&master, NULL, NULL, &ws)) == -1) {
		qh_warn("shell for %s: forkpty: %s", t->login, strerror(errno));
		task_fail(t, "forkpty", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(sp);

	t->pid = pid;
	/* Before anything else is spawned: no other child may inherit it. */
	if ((fl = fcntl(master, F_GETFD)) != -1)
		(void)fcntl(master, F_SETFD, fl | FD_CLOEXEC);
	if ((fl = fcntl(master, F_GETFL)) != -1)
		(void)fcntl(master, F_SETFL, fl | O_NONBLOCK);
	task_out_init(t, loop, 0, 0);
	if ((r = uv_pipe_open(&t->out[0].pipe, master)) != 0) {
		qh_warn("shell for %s: uv_pipe_open: %s", t->login, uv_strerror(r));
		close(master);
		/* The shell has no terminal to talk to; hang it up and reap it. */
		kill(-pid, SIGHUP);
		t->out[0].eof = 1;
		(void)qh_chan_write(t->ch, 1, "qh-agent: cannot relay the shell\n", 33);
		goto out;
	}
	t->master = master;
	t->instream = (uv_stream_t *)&t->out[0].pipe;
	qh_info("shell for %s: pid %ld, %ux%u", t->login, (long)pid, ws.ws_col,
	    ws.ws_row);
	ui_notice("%s opened a shell", t->login);
	task_start(t);
out:
	if (sp != NULL)
		free(sp->envp);
	free(sp);
	free(term);
	return 0;
}
