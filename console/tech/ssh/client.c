/*
 * The client thread of qh-console ssh (see ssh.h): one libssh2 session on
 * its end of the socketpair, from the handshake to the disconnect. It
 * connects, checks the host key and authenticates in blocking mode (with
 * a timeout per step), starts the shell or command, then pumps the channel
 * non-blocking with poll() on the socket and the wake-up pipe: typed input
 * from the loop in, output to stdout and stderr and to the recording's
 * bounded queue, resizes. What it shares with the loop it touches only
 * under the lock; a failure is kept as the one line the command prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libssh2.h>

#include "qh/err.h"
#include "ssh.h"

int
ssh_stopping(struct ssh *s)
{
	int r;

	uv_mutex_lock(&s->mu);
	r = s->stop;
	uv_mutex_unlock(&s->mu);
	return r;
}

/* Empties the wake-up pipe; what woke us is read from the shared state. */
static void
drain_wake(struct ssh *s)
{
	char buf[64];

	while (read(s->wake[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * Waits until fd is ready for events or the loop wakes us. Returns 0, or
 * -1 when the loop asked us to stop.
 */
static int
wait_fd(struct ssh *s, int fd, short events, int timeout_ms)
{
	struct pollfd p[2];

	if (ssh_stopping(s))
		return -1;
	p[0].fd = fd;
	p[0].events = events;
	p[1].fd = s->wake[0];
	p[1].events = POLLIN;
	if (poll(p, 2, timeout_ms) == -1 && errno != EINTR)
		return -1;
	if (p[1].revents != 0)
		drain_wake(s);
	return ssh_stopping(s) ? -1 : 0;
}

int
ssh_write_fd(struct ssh *s, int fd, const void *p, size_t len)
{
	const uint8_t *q = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, q, len)) > 0) {
			q += n;
			len -= (size_t)n;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(s, fd, POLLOUT, -1) != 0)
				return -1;
		} else
			return -1;
	}
	return 0;
}

void
ssh_fail(struct ssh *s, const char *fmt, ...)
{
	va_list ap;

	uv_mutex_lock(&s->mu);
	if (s->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	uv_mutex_unlock(&s->mu);
}

const char *
ssh_error(LIBSSH2_SESSION *session)
{
	char *msg = NULL;

	if (libssh2_session_last_error(session, &msg, NULL, 0) == 0 || msg == NULL)
		return "unknown error";
	return msg;
}

int
ssh_ask_tty(struct ssh *s, const char *prompt, int echo, char *out, size_t outlen)
{
	struct termios saved, quiet;
	size_t n = 0;
	int fd, restore = 0, rc = -1;
	ssize_t r;
	char c;

	out[0] = '\0';
	if (!s->can_prompt)
		return -1;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (!echo && tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	if (ssh_write_fd(s, fd, prompt, strlen(prompt)) != 0)
		goto out;
	for (;;) {
		r = read(fd, &c, 1);
		if (r == 1) {
			if (c == '\n' || c == '\r')
				break;
			if (n + 1 < outlen)
				out[n++] = c;
			continue;
		}
		if (r == 0)
			goto out;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			goto out;
		if (wait_fd(s, fd, POLLIN, -1) != 0)
			goto out;
	}
	out[n] = '\0';
	rc = 0;
out:
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &saved);
		(void)ssh_write_fd(s, fd, "\n", 1);
	}
	close(fd);
	if (rc != 0)
		explicit_bzero(out, outlen);
	return rc;
}

void
ssh_tell_tty(struct ssh *s, const char *text)
{
	int fd;

	if (!s->can_prompt ||
	    (fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return;
	(void)ssh_write_fd(s, fd, text, strlen(text));
	close(fd);
}

/* The shell or command. */

/* A signal name as SSH sends it ("KILL") to its number; 0 if unknown. */
static int
signal_number(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {
		{ "HUP", SIGHUP },
		{ "INT", SIGINT },
		{ "QUIT", SIGQUIT },
		{ "ILL", SIGILL },
		{ "ABRT", SIGABRT },
		{ "FPE", SIGFPE },
		{ "KILL", SIGKILL },
		{ "SEGV", SIGSEGV },
		{ "PIPE", SIGPIPE },
		{ "ALRM", SIGALRM },
		{ "TERM", SIGTERM },
		{ "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 },
	};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(name, sigs[i].name) == 0)
			return sigs[i].num;
	return 0;
}

/* Hands terminal output to the loop for the recording, or counts it as lost. */
static void
record_output(struct ssh *s, const uint8_t *p, size_t len)
{
	if (!s->interactive)
		return;
	uv_mutex_lock(&s->mu);
	if (qh_buf_room(&s->rec) < len)
		s->rec_dropped += len; /* never block the shell for the recording */
	else
		(void)qh_buf_put(&s->rec, p, len);
	ssh_wake_loop_locked(s);
	uv_mutex_unlock(&s->mu);
}

/* The pump's own state between its rounds (the client thread's). */
struct pump {
	uint8_t in[SSH_CHUNK]; /* typed input taken from s->in */
	size_t in_len, in_off; /* of which in_off bytes are sent */
	int in_eof;	       /* all input taken, and the loop saw its end */
	int eof_sent;	       /* the server was told */
	int resize;	       /* rows and cols wait to be sent */
	unsigned rows, cols;
	uint8_t out[SSH_CHUNK]; /* one read of the server's output */
};

/*
 * Takes typed input, its end and a new terminal size from the loop, and
 * tells the loop when there is room for input again. Returns -1 when the
 * loop asked us to stop.
 */
static int
pump_take(struct ssh *s, struct pump *pm)
{
	uv_mutex_lock(&s->mu);
	if (s->stop) {
		uv_mutex_unlock(&s->mu);
		return -1;
	}
	if (pm->in_off == pm->in_len && qh_buf_len(&s->in) > 0) {
		pm->in_len = qh_buf_len(&s->in) < sizeof(pm->in) ? qh_buf_len(&s->in)
								 : sizeof(pm->in);
		memcpy(pm->in, qh_buf_ptr(&s->in), pm->in_len);
		(void)qh_buf_consume(&s->in, pm->in_len);
		pm->in_off = 0;
		if (s->in_blocked) {
			s->in_blocked = 0;
			s->in_resume = 1;
			ssh_wake_loop_locked(s);
		}
	}
	pm->in_eof = s->in_eof && qh_buf_len(&s->in) == 0;
	if (s->resize) {
		s->resize = 0;
		pm->resize = 1;
		pm->rows = s->rows;
		pm->cols = s->cols;
	}
	uv_mutex_unlock(&s->mu);
	return 0;
}

/*
 * Sends a new size, typed input and then its end, as far as the channel
 * takes them without blocking. Returns 1 if anything went out, else 0.
 */
static int
pump_send(struct pump *pm, LIBSSH2_CHANNEL *ch)
{
	int progress = 0;
	ssize_t n;

	if (pm->resize) {
		n = libssh2_channel_request_pty_size_ex(ch, (int)pm->cols, (int)pm->rows,
		    0, 0);
		if (n != LIBSSH2_ERROR_EAGAIN) {
			pm->resize = 0;
			progress = 1;
		}
	}
	while (pm->in_off < pm->in_len) {
		n = libssh2_channel_write(ch, (const char *)pm->in + pm->in_off,
		    pm->in_len - pm->in_off);
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (n < 0) {
			pm->in_off = pm->in_len; /* the remote side takes no more */
			break;
		}
		pm->in_off += (size_t)n;
		progress = 1;
	}
	if (pm->in_off == pm->in_len && pm->in_eof && !pm->eof_sent) {
		n = libssh2_channel_send_eof(ch);
		if (n != LIBSSH2_ERROR_EAGAIN) {
			pm->eof_sent = 1;
			progress = 1;
		}
	}
	return progress;
}

/*
 * Copies what the server sent to stdout and stderr, and to the recording.
 * Returns 1 if anything came, 0 if nothing, -1 when the connection failed
 * (err set) or a write failed because the loop asked us to stop.
 */
static int
pump_recv(struct ssh *s, struct pump *pm, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *ch)
{
	int progress = 0, stream;
	ssize_t n;

	for (stream = 0; stream < 2; stream++) {
		for (;;) {
			n = libssh2_channel_read_ex(ch, stream, (char *)pm->out,
			    sizeof(pm->out));
			if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
				break;
			if (n < 0) {
				ssh_fail(s, "connection to %s lost: %s", s->userhost,
				    ssh_error(session));
				return -1;
			}
			progress = 1;
			if (ssh_write_fd(s, stream ? STDERR_FILENO : STDOUT_FILENO,
				pm->out, (size_t)n) != 0 &&
			    ssh_stopping(s))
				return -1;
			record_output(s, pm->out, (size_t)n);
		}
	}
	return progress;
}

/*
 * Waits until the socket is ready in the directions libssh2 waits for, or
 * the loop wakes us. Returns 0, or -1 (err set) when the connection is gone.
 */
static int
pump_wait(struct ssh *s, LIBSSH2_SESSION *session)
{
	int dirs = libssh2_session_block_directions(session);
	struct pollfd p[2];

	p[0].fd = s->sock;
	p[0].events = POLLIN | ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) ? POLLOUT : 0);
	p[1].fd = s->wake[0];
	p[1].events = POLLIN;
	if (poll(p, 2, -1) == -1 && errno != EINTR) {
		ssh_fail(s, "poll: %s", strerror(errno));
		return -1;
	}
	if (p[1].revents != 0)
		drain_wake(s);
	if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
		ssh_fail(s, "connection to %s lost", s->userhost);
		return -1;
	}
	return 0;
}

/*
 * Runs the channel until the remote side ends it: typed input in, output
 * out (and to the recording), resizes. Returns 0 at the channel's EOF, -1
 * when the loop stopped us or the connection failed (err set then).
 */
static int
pump(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *ch)
{
	struct pump pm;
	int sent, got;

	memset(&pm, 0, sizeof(pm));
	for (;;) {
		if (pump_take(s, &pm) != 0)
			return -1;
		sent = pump_send(&pm, ch);
		if ((got = pump_recv(s, &pm, session, ch)) < 0)
			return -1;
		if (libssh2_channel_eof(ch))
			return 0;
		if (sent || got)
			continue;
		if (pump_wait(s, session) != 0)
			return -1;
	}
}

/* Opens the session channel and starts the command or the shell (blocking). */
static LIBSSH2_CHANNEL *
start_channel(struct ssh *s, LIBSSH2_SESSION *session)
{
	LIBSSH2_CHANNEL *ch;
	unsigned rows, cols;

	if ((ch = libssh2_channel_open_session(session)) == NULL) {
		ssh_fail(s, "%s: cannot open a session channel: %s", s->userhost,
		    ssh_error(session));
		return NULL;
	}
	uv_mutex_lock(&s->mu);
	rows = s->rows;
	cols = s->cols;
	s->resize = 0;
	uv_mutex_unlock(&s->mu);
	if (s->want_pty &&
	    libssh2_channel_request_pty_ex(ch, s->term, (unsigned)strlen(s->term), NULL,
		0, (int)cols, (int)rows, 0, 0) != 0) {
		ssh_fail(s, "%s: the server refused a terminal: %s", s->userhost,
		    ssh_error(session));
		goto fail;
	}
	if (s->interactive ? libssh2_channel_shell(ch) != 0
			   : libssh2_channel_exec(ch, s->command) != 0) {
		ssh_fail(s, "%s: the server refused to start %s: %s", s->userhost,
		    s->interactive ? "a shell" : "the command", ssh_error(session));
		goto fail;
	}
	return ch;
fail:
	(void)libssh2_channel_free(ch);
	return NULL;
}

/*
 * Closes the channel and reads how the command ended: its exit status, or
 * 128 + the signal that killed it. Returns -1 (err set) if it never said.
 */
static int
finish_channel(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *ch, int *status)
{
	char *sig = NULL;
	size_t siglen = 0;
	int num;

	libssh2_session_set_blocking(session, 1);
	libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
	(void)libssh2_channel_close(ch);
	if (libssh2_channel_wait_closed(ch) != 0) {
		ssh_fail(s, "connection to %s lost before the %s ended: %s", s->userhost,
		    s->interactive ? "shell" : "command", ssh_error(session));
		return -1;
	}
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL) ==
		0 &&
	    sig != NULL) {
		num = signal_number(sig);
		*status = num > 0 ? 128 + num : 255;
		ssh_fail(s, "remote %s killed by signal %s",
		    s->interactive ? "shell" : "command", sig);
		libssh2_free(session, sig);
		return 0;
	}
	*status = libssh2_channel_get_exit_status(ch);
	if (*status < 0 || *status > 255)
		*status = 255;
	return 0;
}

/* Tells the loop the new phase. */
static void
set_phase(struct ssh *s, enum ssh_phase phase, int status)
{
	uv_mutex_lock(&s->mu);
	s->phase = phase;
	s->status = status;
	if (phase == SSH_RUNNING)
		s->running = 1;
	ssh_wake_loop_locked(s);
	uv_mutex_unlock(&s->mu);
}

void
ssh_client_main(void *arg)
{
	struct ssh *s = arg;
	LIBSSH2_SESSION *session = NULL;
	LIBSSH2_KNOWNHOSTS *hosts = NULL;
	LIBSSH2_CHANNEL *ch = NULL;
	int status = QH_EXIT_FAIL, fl;

	if ((session = libssh2_session_init_ex(NULL, NULL, NULL, s)) == NULL) {
		ssh_fail(s, "cannot start an SSH session: out of memory");
		goto out;
	}
	/* Blocking calls on a non-blocking socket: libssh2 polls, with a timeout. */
	if ((fl = fcntl(s->sock, F_GETFL)) != -1)
		(void)fcntl(s->sock, F_SETFL, fl | O_NONBLOCK);
	libssh2_session_set_blocking(session, 1);
	libssh2_session_set_timeout(session, SSH_CONNECT_MS);
	if ((hosts = ssh_known_hosts_load(s, session)) == NULL)
		goto out;
	ssh_hostkey_prefer(s, session, hosts);
	if (libssh2_session_handshake(session, s->sock) != 0) {
		if (!ssh_stopping(s))
			ssh_fail(s, "SSH handshake with %s failed: %s", s->target,
			    ssh_error(session));
		goto out;
	}
	if (ssh_hostkey_check(s, session, hosts) != 0 ||
	    ssh_authenticate(s, session) != 0 || (ch = start_channel(s, session)) == NULL)
		goto out;
	set_phase(s, SSH_RUNNING, 0);
	libssh2_session_set_blocking(session, 0);
	if (pump(s, session, ch) == 0)
		(void)finish_channel(s, session, ch, &status);
out:
	if (ch != NULL) {
		libssh2_session_set_blocking(session, 1);
		libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
		(void)libssh2_channel_free(ch);
	}
	if (hosts != NULL)
		libssh2_knownhost_free(hosts);
	if (session != NULL) {
		libssh2_session_set_blocking(session, 1);
		libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
		if (!ssh_stopping(s))
			(void)libssh2_session_disconnect(session, "qh-console: done");
		libssh2_session_free(session);
	}
	/* The loop reads EOF and passes it on to the server. */
	close(s->sock);
	s->sock = -1;
	uv_mutex_lock(&s->mu);
	if (s->err[0] != '\0' && status == 0)
		status = QH_EXIT_FAIL;
	uv_mutex_unlock(&s->mu);
	set_phase(s, SSH_DONE, status);
}
