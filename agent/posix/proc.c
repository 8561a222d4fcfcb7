/*
 * Process control on POSIX systems (agent/proc.h). Every program a
 * technician runs, an exec's argv or a login shell on a pseudo-terminal,
 * is started under a warden: a forked copy of the agent that starts the
 * program, waits for it, passes its exit status on as its own, and makes
 * sure that what the program started does not outlive it or the agent:
 *
 * - The program runs in a process group of its own. When it ends, the
 *   warden kills that group (a command's background jobs) and leaves; a
 *   shell's jobs (in groups of their own) are ended with the shell.
 * - The warden is a child subreaper (PR_SET_CHILD_SUBREAPER), so every
 *   descendant of the program whose parent ends becomes the warden's
 *   child, whatever group or session it moved to. It learns of the
 *   agent's end by PR_SET_PDEATHSIG, a SIGKILL of the agent included;
 *   then, and when the agent asks (proc_kill), it kills the program's
 *   group and every descendant it has, and leaves.
 * - The program has PR_SET_PDEATHSIG(SIGKILL) on the warden, for the case
 *   that the warden itself is killed.
 *
 * What may survive: a process that an exec's program moved out of its
 * group on purpose (a daemon that double-forks and calls setsid), when
 * the program ends normally while the agent runs; it was started on
 * purpose, and the agent lets it be. Services are better started through
 * the service manager anyway. And the warden itself can be killed with
 * SIGKILL (by the OOM killer, say): then its program dies with it
 * (PR_SET_PDEATHSIG) but what that program started stays.
 *
 * The warden runs in a copy of a process with threads (libuv's pool), so
 * between fork and exit it calls only async-signal-safe functions and
 * allocates nothing. The agent reaps wardens itself (proc_reap on
 * SIGCHLD); libuv never sees these processes.
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/log.h"
#include "task.h"

#define SIG_AGENT_GONE SIGUSR1 /* the warden's PR_SET_PDEATHSIG */
#define SIG_KILL_ALL   SIGUSR2 /* the agent asks the warden to end everything */
#define KILL_ROUNDS    1000    /* of KILL_PAUSE_NS each, to end every descendant */
#define KILL_PAUSE_NS  5000000
#define FD_HIGH	       10      /* the warden moves the fds it keeps above this first */
#define KILLED	       SIGKILL /* a wait status: killed by SIGKILL */

extern char **environ;

/* What the warden and the program need, prepared before fork. */
struct spawn {
	pid_t agent;	   /* our pid, for the warden's parent check */
	int pty;	   /* 1: 0/1/2 are a terminal already (forkpty) */
	int stdio[3];	   /* else the program's stdin, stdout, stderr */
	int errfd;	   /* write end of the error pipe (close-on-exec) */
	const char *file;  /* looked up in PATH unless it has a '/' */
	char *const *argv; /* of the program */
	char *const *envp; /* NULL: ours */
	const char *dir;   /* working directory; "/" if it cannot be entered */
};

/* The warden, between fork and exit: async-signal-safe calls only. */

static void
put_errno(int fd, int e)
{
	ssize_t n;

	do
		n = write(fd, &e, sizeof(e));
	while (n == -1 && errno == EINTR);
}

/* Closes every descriptor from lowfd up. */
static void
close_from(int lowfd)
{
	struct rlimit rl;
	long fd, max = 1024;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (long)rl.rlim_cur;
	for (fd = lowfd; fd < max; fd++)
		(void)close((int)fd);
}

static void
pause_briefly(void)
{
	struct timespec ts = { 0, KILL_PAUSE_NS };

	(void)nanosleep(&ts, NULL);
}

/* Appends the decimal digits of v to p; returns the end. */
static char *
put_uint(char *p, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * Sends SIGKILL to every child the warden has now, as its
 * /proc/self/task/TID/children lists them. Returns the number signalled.
 */
static int
kill_children(void)
{
	char path[64] = "/proc/self/task/", buf[4096], *p;
	unsigned long pid = 0;
	ssize_t n, i;
	int fd, have = 0, count = 0;

	p = put_uint(path + strlen(path), (unsigned long)getpid());
	memcpy(p, "/children", sizeof("/children"));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n == -1 && errno == EINTR)) {
		for (i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (unsigned long)(buf[i] - '0');
				have = 1;
				continue;
			}
			if (have && kill((pid_t)pid, SIGKILL) == 0)
				count++;
			pid = 0;
			have = 0;
		}
	}
	if (have && kill((pid_t)pid, SIGKILL) == 0)
		count++;
	(void)close(fd);
	return count;
}

/*
 * Ends the program's group and every descendant the warden has (each
 * whose parent dies becomes its child), and reaps them all; the program's
 * wait status goes to *status once it is reaped.
 */
static void
kill_all(pid_t child, int *status, int *reaped)
{
	int i, st;
	pid_t p;

	if (!*reaped)
		(void)kill(-child, SIGKILL); /* not reaped: the id is still ours */
	for (i = 0; i < KILL_ROUNDS; i++) {
		(void)kill_children();
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == child) {
				*status = st;
				*reaped = 1;
			}
		if (p == -1 && errno == ECHILD)
			return;
		pause_briefly();
	}
}

/* Leaves with the program's wait status: its exit status, or its signal. */
static void __attribute__((noreturn)) warden_exit(int st)
{
	struct sigaction sa;
	struct rlimit none = { 0, 0 };
	sigset_t set;
	int sig;

	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
	/* The same signal ends the warden, so the agent sees it; no core of ours. */
	(void)setrlimit(RLIMIT_CORE, &none);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)kill(getpid(), sig);
	_exit(128 + sig);
}

/* In the program's process, before exec: its own group, default signals. */
static void __attribute__((noreturn)) program(const struct spawn *sp, pid_t warden)
{
	static const char msg[] = "qh-agent: cannot start the program\r\n";
	sigset_t none;

	(void)setpgid(0, 0);
	/* A shell takes the terminal; SIGTTOU stays blocked until it has it. */
	if (sp->pty)
		(void)tcsetpgrp(0, getpid());
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != warden)
		_exit(127);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir(sp->dir) == -1)
		(void)chdir("/");
	if (sp->envp != NULL)
		environ = (char **)sp->envp;
	if (strchr(sp->file, '/') != NULL)
		execv(sp->file, sp->argv);
	else
		execvp(sp->file, sp->argv);
	put_errno(3, errno);
	if (sp->pty)
		(void)write(2, msg, sizeof(msg) - 1);
	_exit(127);
}

/*
 * The warden's life: detach, become a subreaper that dies with the agent,
 * start the program and wait for it, passing on the agent's requests.
 */
static void __attribute__((noreturn)) warden(const struct spawn *sp)
{
	struct sigaction sa;
	sigset_t wait_set;
	siginfo_t si;
	int fd[4], i, st = 0, w, reaped = 0, sig;
	pid_t self, child, p;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGCHLD);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGHUP);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGQUIT);
	sigaddset(&wait_set, SIG_AGENT_GONE);
	sigaddset(&wait_set, SIG_KILL_ALL);
	sigaddset(&wait_set, SIGTTOU);
	(void)sigprocmask(SIG_SETMASK, &wait_set, NULL);

	if (!sp->pty)
		(void)setsid(); /* off the customer's terminal */
	(void)prctl(PR_SET_PDEATHSIG, SIG_AGENT_GONE);
	if (getppid() != sp->agent)
		_exit(127); /* the agent is gone already */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);

	/* 0, 1, 2 for the program, 3 for the error pipe, nothing else. */
	fd[0] = sp->pty ? 0 : sp->stdio[0];
	fd[1] = sp->pty ? 1 : sp->stdio[1];
	fd[2] = sp->pty ? 2 : sp->stdio[2];
	fd[3] = sp->errfd;
	for (i = 0; i < 4; i++)
		if ((fd[i] = fcntl(fd[i], F_DUPFD, FD_HIGH)) == -1)
			_exit(127);
	for (i = 0; i < 4; i++)
		if (dup2(fd[i], i) == -1)
			_exit(127);
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	close_from(4);

	self = getpid();
	if ((child = fork()) == -1) {
		put_errno(3, errno);
		_exit(127);
	}
	if (child == 0)
		program(sp, self);
	/* The pipes and the terminal are the program's now. */
	for (i = 0; i < 4; i++)
		(void)close(i);

	for (;;) {
		if ((sig = sigwaitinfo(&wait_set, &si)) == -1) {
			if (errno == EINTR)
				continue;
			kill_all(child, &st, &reaped);
			warden_exit(reaped ? st : KILLED);
		}
		switch (sig) {
		case SIGCHLD:
			/*
			 * The program first: its group is killed while it is a
			 * zombie, so that its id cannot have been reused. Then
			 * the orphans that came to us.
			 */
			memset(&si, 0, sizeof(si));
			if (!reaped &&
			    waitid(P_PID, (id_t)child, &si,
				WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == child) {
				(void)kill(-child, SIGKILL);
				while (waitpid(child, &st, 0) == -1 && errno == EINTR)
					;
				reaped = 1;
			}
			while ((p = waitpid(-1, &w, WNOHANG)) > 0)
				if (p == child) {
					st = w;
					reaped = 1;
				}
			if (!reaped)
				break;
			/*
			 * A shell's jobs end with it (they have groups of their
			 * own), and so does everything when the program ended
			 * because the agent did (its pipes or terminal closed
			 * before the kernel told us).
			 */
			if (sp->pty || getppid() != sp->agent)
				kill_all(child, &st, &reaped);
			warden_exit(st);
		case SIG_AGENT_GONE:
		case SIG_KILL_ALL:
			kill_all(child, &st, &reaped);
			warden_exit(reaped ? st : KILLED);
		case SIGTTOU:
			break;
		default:
			/* SIGTERM, SIGHUP, SIGINT, SIGQUIT: for the program's group. */
			if (kill(-child, sig) == -1)
				(void)kill(child, sig);
			break;
		}
	}
}

/* The agent's side. */

/* The user's home directory when it can be entered, else "/". */
static const char *
home_dir(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_dir != NULL && access(pw->pw_dir, X_OK) == 0)
		return pw->pw_dir;
	return "/";
}

/*
 * Waits for the error pipe: nothing when the program was started, else
 * the errno of its exec (or of the warden's fork). Returns 0 or -errno.
 */
static int
read_start_error(int fd)
{
	int e = 0;
	ssize_t n;

	while ((n = read(fd, &e, sizeof(e))) == -1 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e))
		return e > 0 ? -e : UV_EIO;
	return 0;
}

/* Reaps a warden whose program could not start. */
static void
reap_failed(pid_t pid)
{
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

int
proc_exec(struct task *t, uv_loop_t *loop, char **argv)
{
	struct spawn sp;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, r = 0, i;
	pid_t pid;

	task_in_init(t, loop);
	task_out_init(t, loop, 0, 0);
	task_out_init(t, loop, 1, 1);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1) {
		r = -errno;
		goto fail;
	}
	memset(&sp, 0, sizeof(sp));
	sp.agent = getpid();
	sp.stdio[0] = in[0];
	sp.stdio[1] = out[1];
	sp.stdio[2] = err[1];
	sp.errfd = ep[1];
	sp.file = argv[0];
	sp.argv = argv;
	sp.dir = home_dir();
	if ((pid = fork()) == -1) {
		r = -errno;
		goto fail;
	}
	if (pid == 0)
		warden(&sp);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(ep[1]);
	in[0] = out[1] = err[1] = ep[1] = -1;
	if ((r = read_start_error(ep[0])) != 0) {
		reap_failed(pid);
		goto fail;
	}
	t->proc.pid = pid;
	if ((r = uv_pipe_open(&t->in, in[1])) != 0 ||
	    (in[1] = -1, r = uv_pipe_open(&t->out[0].pipe, out[0])) != 0 ||
	    (out[0] = -1, r = uv_pipe_open(&t->out[1].pipe, err[0])) != 0) {
		qh_warn("exec for %s: uv_pipe_open: %s", t->login, uv_strerror(r));
		proc_kill(t);
		goto fail_started;
	}
	err[0] = -1;
	t->instream = (uv_stream_t *)&t->in;
	close(ep[0]);
	return 0;
fail_started:
	/* The program runs but cannot be relayed: it is killed and reaped later. */
	r = 0;
	for (i = 0; i < t->nout; i++)
		t->out[i].eof = 1;
	t->instream = NULL;
	(void)qh_chan_write(t->ch, 1, "qh-agent: cannot relay the program\n", 35);
fail:
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
		if (ep[i] != -1)
			close(ep[i]);
	}
	return r;
}

/* Shells. */

/* The login shell's path, argv[0] and environment, prepared before fork. */
struct shell_spec {
	char path[512];	 /* the shell */
	char argv0[128]; /* "-bash": a login shell */
	char home[512];
	char *argv[2];
	char **envp; /* environ, TERM HOME SHELL USER LOGNAME replaced */
	char term[80], henv[520], senv[520], uenv[80], lenv[80];
};

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
 * libuv cannot give a child a controlling terminal, so the shell's warden
 * is started with forkpty(3); the master goes to uv_pipe_open, and serves
 * as the task's output and input at once.
 */
int
proc_shell(struct task *t, uv_loop_t *loop, const struct shell_req *req, char *why,
    size_t whylen)
{
	struct shell_spec *ss = NULL;
	struct spawn sp;
	struct winsize ws;
	int master = -1, ep[2] = { -1, -1 }, r = 0, fl;
	pid_t pid;

	if ((ss = malloc(sizeof(*ss))) == NULL || spec_init(ss, req->term) != 0) {
		snprintf(why, whylen, "out of memory");
		r = UV_ENOMEM;
		goto out;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = (unsigned short)req->rows;
	ws.ws_col = (unsigned short)req->cols;
	memset(&sp, 0, sizeof(sp));
	sp.agent = getpid();
	sp.pty = 1;
	sp.file = ss->path;
	sp.argv = ss->argv;
	sp.envp = ss->envp;
	sp.dir = ss->home;
	if (pipe2(ep, O_CLOEXEC) == -1) {
		r = -errno;
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		goto out;
	}
	sp.errfd = ep[1];
	if ((pid = forkpty(&master, NULL, NULL, &ws)) == -1) {
		r = -errno;
		snprintf(why, whylen, "forkpty: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		warden(&sp);
	close(ep[1]);
	ep[1] = -1;
	/* Before anything else is spawned: no other child may inherit it. */
	if ((fl = fcntl(master, F_GETFD)) != -1)
		(void)fcntl(master, F_SETFD, fl | FD_CLOEXEC);
	if ((r = read_start_error(ep[0])) != 0) {
		snprintf(why, whylen, "%s: %s", ss->path, strerror(-r));
		close(master);
		reap_failed(pid);
		goto out;
	}
	t->proc.pid = pid;
	if ((fl = fcntl(master, F_GETFL)) != -1)
		(void)fcntl(master, F_SETFL, fl | O_NONBLOCK);
	task_out_init(t, loop, 0, 0);
	if ((r = uv_pipe_open(&t->out[0].pipe, master)) != 0) {
		qh_warn("shell for %s: uv_pipe_open: %s", t->login, uv_strerror(r));
		close(master);
		/* The shell has no terminal to talk to; end it and reap it. */
		proc_kill(t);
		t->out[0].eof = 1;
		(void)qh_chan_write(t->ch, 1, "qh-agent: cannot relay the shell\n", 33);
		r = 0;
		goto out;
	}
	t->instream = (uv_stream_t *)&t->out[0].pipe;
out:
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	if (ss != NULL)
		free(ss->envp);
	free(ss);
	return r;
}

void
proc_resize(struct task *t, unsigned rows, unsigned cols)
{
	struct winsize ws;
	uv_os_fd_t fd;

	if (t->kind != TASK_SHELL || !t->out[0].open ||
	    uv_fileno((uv_handle_t *)&t->out[0].pipe, &fd) != 0)
		return;
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	if (ioctl(fd, TIOCSWINSZ, &ws) == -1)
		qh_debug("task of %s: TIOCSWINSZ: %s", t->login, strerror(errno));
	else
		qh_debug("task of %s: resized to %ux%u", t->login, cols, rows);
}

/* Signals, reaping. */

static void
signal_warden(struct task *t, int sig)
{
	if (t->proc.pid <= 0 || t->reaped)
		return;
	if (kill(t->proc.pid, sig) == -1 && errno != ESRCH)
		qh_warn("task of %s: kill %ld: %s", t->login, (long)t->proc.pid,
		    strerror(errno));
}

void
proc_stop(struct task *t)
{
	signal_warden(t, t->kind == TASK_SHELL ? SIGHUP : SIGTERM);
}

void
proc_kill(struct task *t)
{
	signal_warden(t, SIG_KILL_ALL);
}

/* Tells the task how its warden ended (its program's status or signal). */
static void
reaped(struct task *t, int st)
{
	if (WIFSIGNALED(st))
		task_reaped(t, 0, WTERMSIG(st));
	else
		task_reaped(t, WEXITSTATUS(st), 0);
}

void
proc_reap(struct task_list *tasks)
{
	struct task *t, *next;
	int st;
	pid_t r;

	for (t = tasks->first; t != NULL; t = next) {
		next = t->next;
		if (t->reaped || t->proc.pid <= 0)
			continue;
		while ((r = waitpid(t->proc.pid, &st, WNOHANG)) == -1 && errno == EINTR)
			;
		if (r == 0)
			continue;
		if (r == -1) {
			qh_warn("task of %s: waitpid %ld: %s", t->login,
			    (long)t->proc.pid, strerror(errno));
			task_reaped(t, 255, 0);
		} else
			reaped(t, st);
	}
}

void
proc_shutdown(struct task *t)
{
	int st = 0;
	pid_t r;

	signal_warden(t, SIG_KILL_ALL);
	while ((r = waitpid(t->proc.pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (r == t->proc.pid)
		reaped(t, st);
	else
		task_reaped(t, 0, SIGKILL);
}

long
proc_id(const struct task *t)
{
	return (long)t->proc.pid;
}

const char *
proc_strerror(int r)
{
	return strerror(-r);
}
