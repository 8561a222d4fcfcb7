/*
 * qh-console ssh CODE [USER@]HOST [COMMAND...]: the command (see ssh.h for
 * how its pieces work together). Reads the options, makes the socketpair
 * and the wake-up pipe the client thread and the loop share, asks the
 * console for a dial channel to HOST:PORT through the session's agent,
 * and runs conn.c's loop with the bridge's tech_ops until the thread is
 * done; on every path the thread is joined and the terminal given back.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>
#include <uv.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "tech/tech.h"
#include "ssh.h"

/* $HOME, else the password database's. */
static int
home_dir(char *out, size_t len)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home == NULL || *home == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return QH_ERR_NOT_FOUND;
		home = pw->pw_dir;
	}
	return (size_t)snprintf(out, len, "%s", home) < len ? 0 : QH_ERR_TOO_LARGE;
}

/* Makes dir (mode 0700) unless it exists. */
static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

/* ~/.config/quarterhour/known_hosts, its directories made 0700. */
static int
known_hosts_path(struct qh_cli *c, struct ssh *s)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/.config", s->home) >= sizeof(dir) ||
	    make_dir(dir) != 0)
		return qh_cli_fail(c, "cannot make %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/.config/quarterhour", s->home) >=
		sizeof(dir) ||
	    make_dir(dir) != 0)
		return qh_cli_fail(c, "cannot make %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(s->known_hosts, sizeof(s->known_hosts), "%s/known_hosts",
		dir) >= sizeof(s->known_hosts))
		return qh_cli_fail(c, "the path of the known_hosts file is too long");
	return 0;
}

/* USER@HOST (or HOST: the local user), -p, the dial target. */
static int
parse_destination(struct qh_cli *c, struct ssh *s, const char *dest)
{
	const char *at = strrchr(dest, '@'), *host, *port = qh_cli_opt(c, "port");
	const char *user = NULL;
	struct passwd *pw;
	char check[300];
	long long v = SSH_DEFAULT_PORT;
	size_t hlen;
	int p;

	if (at != NULL) {
		if (at == dest || (size_t)(at - dest) >= sizeof(s->user))
			return qh_cli_usage(c,
			    "USER@HOST: the user name is empty or too long");
		memcpy(s->user, dest, (size_t)(at - dest));
		s->user[at - dest] = '\0';
		host = at + 1;
	} else {
		if ((user = getenv("USER")) == NULL || *user == '\0')
			user = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : NULL;
		if (user == NULL || strlen(user) >= sizeof(s->user))
			return qh_cli_usage(c, "give the remote user as USER@HOST");
		snprintf(s->user, sizeof(s->user), "%s", user);
		host = dest;
	}
	hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(s->host))
		return qh_cli_usage(c, "USER@HOST: the host is empty or too long");
	memcpy(s->host, host, hlen);
	s->host[hlen] = '\0';
	if (port != NULL && qh_parse_int(port, 1, 65535, &v) != 0)
		return qh_cli_usage(c, "-p wants a port number (1-65535)");
	s->port = (int)v;
	snprintf(s->target, sizeof(s->target),
	    strchr(s->host, ':') != NULL ? "[%s]:%d" : "%s:%d", s->host, s->port);
	if (qh_split_hostport(s->target, check, sizeof(check), &p) != 0)
		return qh_cli_usage(c, "HOST is not a host name or address");
	snprintf(s->userhost, sizeof(s->userhost), "%s@%s", s->user, s->target);
	return 0;
}

/* Joins the command's words with spaces, as OpenSSH does. */
static int
join_command(struct qh_cli *c, struct ssh *s)
{
	size_t used = 0, n;
	int i;

	s->command[0] = '\0';
	for (i = 2; i < c->argc; i++) {
		n = strlen(c->argv[i]);
		if (used + n + 2 > sizeof(s->command))
			return qh_cli_usage(c, "the command line is too long");
		if (used > 0)
			s->command[used++] = ' ';
		memcpy(s->command + used, c->argv[i], n);
		used += n;
		s->command[used] = '\0';
	}
	s->interactive = c->argc <= 2;
	return 0;
}

/* 1 when questions can be asked: stdin is a terminal and /dev/tty opens. */
static int
terminal_present(void)
{
	int fd;

	if (!isatty(STDIN_FILENO))
		return 0;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return 0;
	close(fd);
	return 1;
}

/* Everything the command made, whatever happened. */
static void
ssh_free(struct ssh *s)
{
	if (s->sock != -1)
		close(s->sock);
	if (s->a_fd != -1)
		close(s->a_fd);
	if (s->wake[0] != -1)
		close(s->wake[0]);
	if (s->wake[1] != -1)
		close(s->wake[1]);
	if (s->mu_init)
		uv_mutex_destroy(&s->mu);
	qh_buf_release(&s->in);
	qh_buf_release(&s->rec);
	qh_buf_release(&s->rec_out);
	qh_buf_release(&s->up);
	qh_buf_release(&s->down[0]);
	qh_buf_release(&s->down[1]);
	free(s);
}

/* A new struct ssh: its bounded buffers, no descriptors yet. NULL when out of memory. */
static struct ssh *
ssh_new(void)
{
	struct ssh *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sock = s->a_fd = s->wake[0] = s->wake[1] = -1;
	qh_buf_init(&s->in, SSH_IN_MAX);
	qh_buf_init(&s->rec, SSH_REC_MAX);
	qh_buf_init(&s->rec_out, SSH_REC_OUT_MAX);
	qh_buf_init(&s->up, SSH_UP_MAX);
	qh_buf_init(&s->down[0], QH_MUX_WINDOW);
	qh_buf_init(&s->down[1], QH_MUX_WINDOW);
	tech_escape_init(&s->esc);
	return s;
}

/*
 * Reads CODE, [USER@]HOST, the command's words, -p and -i, and what the
 * terminal is and its size. Returns 0, or the exit status of a usage
 * error or failure once its line is printed.
 */
static int
parse_options(struct qh_cli *c, struct ssh *s)
{
	const char *key = qh_cli_opt(c, "identity");
	struct winsize ws;
	int status;

	if (tech_parse_code(c->argv[0], s->code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	if ((status = parse_destination(c, s, c->argv[1])) != 0 ||
	    (status = join_command(c, s)) != 0)
		return status;
	if (home_dir(s->home, sizeof(s->home)) != 0)
		return qh_cli_fail(c, "cannot find the home directory; set HOME");
	if (key != NULL) {
		if (access(key, R_OK) != 0)
			return qh_cli_fail(c, "cannot read the key %s: %s", key,
			    strerror(errno));
		if ((size_t)snprintf(s->keyfile, sizeof(s->keyfile), "%s", key) >=
		    sizeof(s->keyfile))
			return qh_cli_usage(c, "-i: the path is too long");
	}
	snprintf(s->term, sizeof(s->term), "%s", tech_term_name());
	s->can_prompt = terminal_present();
	s->want_pty = s->interactive && isatty(STDIN_FILENO);
	s->rows = 24;
	s->cols = 80;
	if (s->want_pty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0 && ws.ws_row <= 1000 && ws.ws_col <= 1000) {
		s->rows = ws.ws_row;
		s->cols = ws.ws_col;
	}
	return 0;
}

/*
 * What the two threads share besides memory: the lock, the wake-up pipe
 * and the socketpair. Returns 0, or the exit status once its line is
 * printed.
 */
static int
thread_prepare(struct qh_cli *c, struct ssh *s)
{
	int fds[2];

	if (uv_mutex_init(&s->mu) != 0)
		return qh_cli_fail(c, "cannot make a mutex");
	s->mu_init = 1;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1)
		return qh_cli_fail(c, "cannot make a socket pair: %s", strerror(errno));
	s->a_fd = fds[0];
	s->sock = fds[1];
	return 0;
}

/* REQUEST{dial}: the agent of session s->code connects to HOST:PORT. */
static int
dial_request(struct qh_buf *req, const struct ssh *s, uint32_t flags)
{
	if (qh_msg_begin(req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(req, QH_K_CMD, "dial") != 0 ||
	    qh_msg_put_str(req, QH_K_CODE, s->code) != 0 ||
	    qh_msg_put_str(req, QH_K_TARGET, s->target) != 0 ||
	    qh_msg_put_u32(req, QH_K_FLAGS, flags) != 0)
		return QH_ERR_TOO_LARGE;
	return 0;
}

static int
cmd_ssh(struct qh_cli *c)
{
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	struct ssh *s = NULL;
	struct qh_buf req;
	int status, r, lib = 0;

	qh_buf_init(&req, 2048);
	if ((s = ssh_new()) == NULL)
		return qh_cli_fail(c, "out of memory");
	if ((status = parse_options(c, s)) != 0)
		goto out;
	if (libssh2_init(0) != 0) {
		status = qh_cli_fail(c, "cannot initialise libssh2");
		goto out;
	}
	lib = 1;
	if ((status = thread_prepare(c, s)) != 0 ||
	    (status = tech_new(c, &ssh_tech_ops, s, &s->t)) != 0 ||
	    (status = known_hosts_path(c, s)) != 0)
		goto out;
	if ((r = ssh_bridge_setup(s)) != 0) {
		status =
		    qh_cli_fail(c, "cannot set up the SSH bridge: %s", qh_strerror(r));
		goto out;
	}
	if (dial_request(&req, s, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(s->t, &req);
out:
	if (s->thread_started && !s->thread_joined) {
		/* Told to stop, its socket closed: it ends promptly. */
		ssh_thread_stop(s);
		uv_thread_join(&s->thread);
	}
	if (s->t != NULL) {
		/* Before tech_free: no async send may find a closed loop. */
		uv_mutex_lock(&s->mu);
		s->loop_alive = 0;
		uv_mutex_unlock(&s->mu);
	}
	tech_free(s->t); /* gives the terminal back on every path */
	ssh_free(s);
	if (lib)
		libssh2_exit();
	qh_buf_release(&req);
	return status;
}

const struct qh_cli_cmd cmd_ssh_entry = {
	.name = "ssh",
	.usage = "CODE [-p PORT] [-i KEY] USER@HOST [--allow-overdraft] [--tech FILE] "
		 "[-- CMD...]",
	.summary = "an SSH session through the agent to a server the customer's PC "
		   "reaches (~. detaches)",
	.min_args = 2,
	.max_args = -1,
	.opts = { QH_OPT("tech"), { "port", 'p', 1, 0 }, { "identity", 'i', 1, 0 },
	    QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_ssh,
};
