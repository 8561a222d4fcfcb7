/*
 * The technician's connection to the console, shared by queue, exec,
 * attach and end (see tech.h): the bundle, TLS to the console's address
 * (each resolved address in turn), one request channel, standard input
 * relayed with window backpressure, output to stdout and stderr, and the
 * one-line reports of DESIGN §5 for every way a command can fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "client.h"

#define IN_CHUNK       16384	      /* one read from standard input */
#define IN_PENDING_MAX (2 * IN_CHUNK) /* filtered input not yet sent */
#define REASON_MAX     256
#define NSIGNALS       3

enum tech_state {
	TECH_NEW,	 /* made by tech_new; tech_run not called yet */
	TECH_RESOLVING,	 /* looking up the console's name */
	TECH_CONNECTING, /* TCP connect and TLS handshake to one address */
	TECH_OPENING,	 /* REQUEST sent, waiting for the console's answer */
	TECH_OPEN,	 /* the channel carries the command */
	TECH_DONE,	 /* ending: status decided, handles closing */
};

enum in_kind {
	IN_NONE,   /* no usable stdin: EOF at once */
	IN_STREAM, /* pipe or socket, read with uv_read_start */
	IN_TTY,	   /* terminal, read with uv_read_start */
	IN_FILE,   /* regular file or device, read with uv_fs_read */
};

struct tech {
	uv_loop_t loop;
	int loop_open;
	const struct tech_ops *ops;
	void *arg;
	enum tech_state state;
	int status; /* exit status, final once TECH_DONE */

	/* Who we are and where the console is. */
	char path[PATH_MAX]; /* the bundle */
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	char host[256];	 /* the console's name or address, for TLS */
	char service[8]; /* its port, for getaddrinfo */
	int port;

	/* Connecting: every address of the console in turn. */
	uv_getaddrinfo_t gai;
	int gai_busy;
	struct addrinfo *addrs;	    /* from uv_getaddrinfo, freed in tech_free */
	struct addrinfo *next;	    /* the next address to try */
	struct addrinfo literal_ai; /* a numeric address needs no lookup */
	struct sockaddr_storage literal;
	uv_connect_t creq;
	uv_timer_t connect_timer;
	int tcp_failed;		 /* the last attempt failed before TLS */
	char reason[REASON_MAX]; /* why the last attempt failed */

	/* The connection and its one channel. */
	struct qh_mux *mux; /* NULL once its on_close ran */
	struct qh_chan *ch; /* NULL unless opening or open */
	const struct qh_buf *req;
	int chan_error;	  /* the console sent MSG ERROR on the channel */
	int chan_ended;	  /* the console closed the channel */
	uv_timer_t ender; /* ends the command once the channel closed */
	uv_signal_t sig[NSIGNALS];
	int handles_open; /* connect_timer, ender and sig initialised */

	/* Standard input. */
	enum in_kind in_kind;
	int in_wanted;	 /* tech_stdin_open was called */
	int in_fd_flags; /* fd 0's flags before libuv, or -1 */
	uv_pipe_t in_pipe;
	uv_tty_t in_tty;
	uv_fs_t in_req;
	int in_open;	/* in_pipe or in_tty initialised */
	int in_reading; /* uv_read_start is in force */
	int in_fs_busy; /* a uv_fs_read is in flight */
	int in_eof;	/* stdin ended */
	int in_flushed; /* the filter saw the end */
	int in_stopped; /* nothing more is read or sent */
	int raw;	/* in_tty is in raw mode */
	uint8_t in_raw[IN_CHUNK];
	struct qh_buf in_pending; /* filtered, not yet taken by the channel */

	/*
	 * Standard output: through libuv for a pipe or tty, so that a reader
	 * that stalls stops the channel's window, never the loop; blocking
	 * writes for a file. Bytes are credited back to the console only once
	 * written, so at most one window is ever buffered here.
	 */
	int out_async;	  /* written through out_s */
	int out_open;	  /* out_pipe or out_tty initialised */
	int out_fd_flags; /* fd 1's flags before libuv, or -1 */
	uv_pipe_t out_pipe;
	uv_tty_t out_tty;
	uv_stream_t *out_s;
	uv_write_t out_wreq;
	struct qh_buf out_buf[2]; /* [out_cur] collects, the other is written */
	int out_cur;
	int out_busy;	/* a write is in flight */
	int out_broken; /* the reader went away: output is dropped */
	int err_broken; /* the same for stderr */
};

static const int caught_signals[NSIGNALS] = { SIGINT, SIGTERM, SIGHUP };

static void input_pump(struct tech *t);

/*
 * Writes all len bytes to fd, waiting out a non-blocking descriptor (one
 * that libuv shares with us, as with 2>&1). Returns 0, or -1 when the
 * reader is gone.
 */
static int
write_all(int fd, const void *p, size_t len)
{
	const uint8_t *q = p;
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, q, len)) > 0) {
			q += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, -1);
		} else
			return -1;
	}
	return 0;
}

void
tech_stderr(struct tech *t, const char *s)
{
	if (t != NULL && t->err_broken)
		return;
	if (write_all(STDERR_FILENO, s, strlen(s)) != 0 && t != NULL)
		t->err_broken = 1;
}

void
tech_say(struct tech *t, const char *fmt, ...)
{
	char line[4096 + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	snprintf(line + n, 3, "%s", t != NULL && t->raw ? "\r\n" : "\n");
	tech_stderr(t, "qh-console: ");
	tech_stderr(t, line);
}

uv_loop_t *
tech_loop(struct tech *t)
{
	return &t->loop;
}

void *
tech_arg(const struct tech *t)
{
	return t->arg;
}

struct qh_chan *
tech_chan(const struct tech *t)
{
	return t->state == TECH_OPEN ? t->ch : NULL;
}

/* Codes and exit statuses. */

int
tech_parse_code(const char *s, char code[TECH_CODE_LEN + 1])
{
	size_t i, n = 0, len = strlen(s);

	/* Six digits, or three, one space and three ("482 913"). */
	if (len != TECH_CODE_LEN && !(len == TECH_CODE_LEN + 1 && s[3] == ' '))
		return QH_ERR_ARG;
	for (i = 0; i < len; i++) {
		if (len == TECH_CODE_LEN + 1 && i == 3)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return QH_ERR_ARG;
		code[n++] = s[i];
	}
	code[n] = '\0';
	return 0;
}

void
tech_code_pretty(const char *code, char out[TECH_CODE_LEN + 2])
{
	snprintf(out, TECH_CODE_LEN + 2, "%.3s %.3s", code, code + 3);
}

int
tech_exit_status(const struct qh_msg *m, int *status)
{
	uint32_t v;

	if (qh_msg_get_u32(m, QH_K_STATUS, &v) == 0) {
		*status = v > 255 ? 255 : (int)v;
		return 0;
	}
	if (qh_msg_get_u32(m, QH_K_SIGNAL, &v) == 0) {
		*status = 128 + (v > 127 ? 127 : (int)v);
		return 0;
	}
	return QH_ERR_FORMAT;
}

/* The bundle. */

/* Finds the bundle's path; *dflt says it is the default, not one given. */
static int
bundle_path(const struct qh_cli *c, char *out, size_t len, int *dflt)
{
	const char *p = qh_cli_opt(c, "tech"), *home;
	struct passwd *pw;

	*dflt = 0;
	if (p == NULL && (p = getenv("QH_TECH")) != NULL && *p == '\0')
		p = NULL;
	if (p == NULL) {
		*dflt = 1;
		if ((home = getenv("HOME")) == NULL || *home == '\0') {
			if ((pw = getpwuid(getuid())) == NULL)
				return QH_ERR_NOT_FOUND;
			home = pw->pw_dir;
		}
		if ((size_t)snprintf(out, len, "%s/.config/quarterhour/tech.conf",
			home) >= len)
			return QH_ERR_TOO_LARGE;
		return 0;
	}
	if ((size_t)snprintf(out, len, "%s", p) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/*
 * Checks what a user gets wrong most (no file, a directory, a bundle others
 * may read) before the loader does, so the report is one line with the
 * reason in it. The loader checks again on the open file.
 */
static int
bundle_check(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		return errno == ENOENT ? QH_ERR_NOT_FOUND : QH_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "not a regular file");
		return QH_ERR_FORMAT;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, len,
		    "mode %04o lets group or others read its private key; "
		    "chmod 600 it",
		    (unsigned)(st.st_mode & 07777));
		return QH_ERR_PERM;
	}
	return 0;
}

/*
 * Puts /dev/null on a closed fd 0, 1 or 2, as OpenSSH's sanitise_stdfd
 * does, so that no socket or file of ours is mistaken for stdio.
 */
static void
sanitise_stdfd(void)
{
	int fd, nfd;

	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if ((nfd = open("/dev/null", O_RDWR)) == -1)
			return;
		if (nfd != fd) {
			(void)dup2(nfd, fd);
			(void)close(nfd);
		}
	}
}

int
tech_new(const struct qh_cli *c, const struct tech_ops *ops, void *arg, struct tech **tp)
{
	static const struct tech_ops no_ops;
	const char *lvl = getenv("QH_LOG_LEVEL");
	struct tech *t = NULL;
	char why[REASON_MAX];
	int dflt = 0, r;

	*tp = NULL;
	sanitise_stdfd();
	/* A technician sees one line per failure; the transport's log on request. */
	if (lvl == NULL || qh_log_level_parse(lvl) < 0)
		qh_log_init("qh-console", QH_LOG_WARN);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tech_say(NULL, "out of memory");
		return QH_EXIT_FAIL;
	}
	t->ops = ops != NULL ? ops : &no_ops;
	t->arg = arg;
	t->state = TECH_NEW;
	t->status = QH_EXIT_FAIL;
	t->in_fd_flags = -1;
	t->out_fd_flags = -1;
	qh_buf_init(&t->in_pending, IN_PENDING_MAX);
	qh_buf_init(&t->out_buf[0], QH_MUX_WINDOW);
	qh_buf_init(&t->out_buf[1], QH_MUX_WINDOW);

	if (bundle_path(c, t->path, sizeof(t->path), &dflt) != 0) {
		tech_say(NULL,
		    "cannot find the technician bundle; give --tech FILE "
		    "or set QH_TECH");
		goto fail;
	}
	if ((r = bundle_check(t->path, why, sizeof(why))) != 0) {
		tech_say(NULL, "cannot load the technician bundle %s: %s%s", t->path, why,
		    dflt && r == QH_ERR_NOT_FOUND ? " (give --tech FILE or set QH_TECH)"
						  : "");
		goto fail;
	}
	if ((r = qh_bundle_load(t->path, &t->bundle)) != 0) {
		tech_say(NULL, "cannot load the technician bundle %s: %s", t->path,
		    qh_strerror(r));
		goto fail;
	}
	if (qh_split_hostport(t->bundle.console, t->host, sizeof(t->host), &t->port) !=
	    0) {
		tech_say(NULL, "%s: bad console address '%s'", t->path,
		    t->bundle.console);
		goto fail;
	}
	snprintf(t->service, sizeof(t->service), "%d", t->port);
	if ((r = qh_tls_ctx_client(&t->ctx, t->bundle.cert, t->bundle.key,
		 t->bundle.ca)) != 0) {
		tech_say(NULL, "cannot use the technician bundle %s: %s", t->path,
		    qh_strerror(r));
		goto fail;
	}
	if ((r = uv_loop_init(&t->loop)) != 0) {
		tech_say(NULL, "cannot start the event loop: %s", uv_strerror(r));
		goto fail;
	}
	t->loop_open = 1;
	*tp = t;
	return 0;
fail:
	tech_free(t);
	return QH_EXIT_FAIL;
}

/* Closes a handle tech_free finds still open. */
static void
close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void
tech_free(struct tech *t)
{
	if (t == NULL)
		return;
	if (t->loop_open) {
		/* Only handles a command never ran are left; close them. */
		uv_walk(&t->loop, close_walk, NULL);
		uv_run(&t->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&t->loop) != 0)
			qh_warn("event loop still busy at exit");
	}
	/* The terminal is the user's again, whatever happened. */
	(void)uv_tty_reset_mode();
	if (t->in_fd_flags != -1)
		(void)fcntl(STDIN_FILENO, F_SETFL, t->in_fd_flags);
	if (t->out_fd_flags != -1)
		(void)fcntl(STDOUT_FILENO, F_SETFL, t->out_fd_flags);
	if (t->addrs != NULL)
		uv_freeaddrinfo(t->addrs);
	qh_tls_ctx_free(t->ctx);
	qh_bundle_free(&t->bundle);
	qh_buf_release(&t->in_pending);
	qh_buf_release(&t->out_buf[0]);
	qh_buf_release(&t->out_buf[1]);
	free(t);
}

/* Output. */

/* Gives the console credit for n bytes we are done with. */
static void
credit(struct tech *t, size_t n)
{
	if (t->ch != NULL && n > 0)
		qh_chan_consume(t->ch, n);
}

/* Sets up standard output; unless it is a pipe or tty, writes stay blocking. */
static void
out_open(struct tech *t)
{
	int r;

	switch (uv_guess_handle(STDOUT_FILENO)) {
	case UV_TTY:
		t->out_fd_flags = fcntl(STDOUT_FILENO, F_GETFL);
		if ((r = uv_tty_init(&t->loop, &t->out_tty, STDOUT_FILENO, 0)) != 0) {
			qh_debug("stdout: %s; writing blocking", uv_strerror(r));
			return;
		}
		t->out_s = (uv_stream_t *)&t->out_tty;
		break;
	case UV_NAMED_PIPE:
	case UV_TCP:
		t->out_fd_flags = fcntl(STDOUT_FILENO, F_GETFL);
		if (uv_pipe_init(&t->loop, &t->out_pipe, 0) != 0)
			return;
		if ((r = uv_pipe_open(&t->out_pipe, STDOUT_FILENO)) != 0) {
			qh_debug("stdout: %s; writing blocking", uv_strerror(r));
			uv_close((uv_handle_t *)&t->out_pipe, NULL);
			return;
		}
		t->out_s = (uv_stream_t *)&t->out_pipe;
		break;
	default:
		return; /* a file, /dev/null or nothing: blocking writes */
	}
	t->out_s->data = t;
	t->out_open = 1;
	t->out_async = 1;
}

/* Closes standard output's handle once the command ended and all is written. */
static void
out_maybe_close(struct tech *t)
{
	if (t->state != TECH_DONE || !t->out_open || t->out_busy ||
	    qh_buf_len(&t->out_buf[t->out_cur]) > 0)
		return;
	t->out_open = 0;
	uv_close((uv_handle_t *)t->out_s, NULL);
}

/* The reader went away: drop what is queued and what comes, as ssh does. */
static void
out_break(struct tech *t, const char *why)
{
	size_t n = qh_buf_len(&t->out_buf[t->out_cur]);

	qh_debug("stdout: %s; dropping output", why);
	t->out_broken = 1;
	qh_buf_reset(&t->out_buf[t->out_cur]);
	credit(t, n);
}

static void out_kick(struct tech *t);

static void
out_written(uv_write_t *req, int status)
{
	struct tech *t = req->data;
	struct qh_buf *b = &t->out_buf[t->out_cur ^ 1];
	size_t n = qh_buf_len(b);

	t->out_busy = 0;
	qh_buf_reset(b);
	credit(t, n);
	if (status < 0)
		out_break(t, uv_strerror(status));
	else
		out_kick(t);
	out_maybe_close(t);
}

/* Starts writing what collected, unless a write is in flight. */
static void
out_kick(struct tech *t)
{
	struct qh_buf *b = &t->out_buf[t->out_cur];
	uv_buf_t ub;
	int r;

	if (t->out_busy || qh_buf_len(b) == 0)
		return;
	ub = uv_buf_init((char *)qh_buf_ptr(b), (unsigned int)qh_buf_len(b));
	t->out_wreq.data = t;
	if ((r = uv_write(&t->out_wreq, t->out_s, &ub, 1, out_written)) != 0) {
		out_break(t, uv_strerror(r));
		return;
	}
	t->out_busy = 1;
	t->out_cur ^= 1;
}

/* Bytes for stdout: written at once if the reader takes them, else queued in order. */
static void
out_data(struct tech *t, const uint8_t *p, size_t len)
{
	uv_buf_t ub;
	int n;

	if (t->out_broken) {
		credit(t, len);
		return;
	}
	if (!t->out_async) {
		if (write_all(STDOUT_FILENO, p, len) != 0) {
			qh_debug("stdout: %s; dropping output", strerror(errno));
			t->out_broken = 1;
		}
		credit(t, len);
		return;
	}
	if (!t->out_busy && qh_buf_len(&t->out_buf[t->out_cur]) == 0) {
		ub = uv_buf_init((char *)p, (unsigned int)len);
		if ((n = uv_try_write(t->out_s, &ub, 1)) < 0 && n != UV_EAGAIN) {
			out_break(t, uv_strerror(n));
			credit(t, len);
			return;
		}
		if (n > 0) {
			credit(t, (size_t)n);
			p += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return;
	}
	/* Never more than a window is uncredited, and each buffer holds one. */
	if (qh_buf_put(&t->out_buf[t->out_cur], p, len) != 0) {
		qh_warn("stdout: %zu bytes beyond the window dropped", len);
		credit(t, len);
		return;
	}
	out_kick(t);
}

/* Standard input. */

int
tech_stdin_open(struct tech *t)
{
	int r;

	t->in_wanted = 1;
	switch (uv_guess_handle(STDIN_FILENO)) {
	case UV_TTY:
		t->in_fd_flags = fcntl(STDIN_FILENO, F_GETFL);
		if ((r = uv_tty_init(&t->loop, &t->in_tty, STDIN_FILENO, 1)) != 0)
			return qh_err_from_uv(r);
		t->in_tty.data = t;
		t->in_open = 1;
		t->in_kind = IN_TTY;
		break;
	case UV_NAMED_PIPE:
	case UV_TCP:
		t->in_fd_flags = fcntl(STDIN_FILENO, F_GETFL);
		if ((r = uv_pipe_init(&t->loop, &t->in_pipe, 0)) != 0)
			return qh_err_from_uv(r);
		t->in_pipe.data = t;
		t->in_open = 1;
		if ((r = uv_pipe_open(&t->in_pipe, STDIN_FILENO)) != 0)
			return qh_err_from_uv(r);
		t->in_kind = IN_STREAM;
		break;
	case UV_FILE:
		t->in_kind = IN_FILE;
		break;
	default:
		t->in_kind = IN_NONE; /* closed, or nothing we can read */
		break;
	}
	return 0;
}

uv_tty_t *
tech_stdin_tty(struct tech *t)
{
	return t->in_kind == IN_TTY ? &t->in_tty : NULL;
}

int
tech_set_raw(struct tech *t)
{
	int r;

	if (t->in_kind != IN_TTY || t->in_stopped)
		return QH_ERR_ARG;
	if ((r = uv_tty_set_mode(&t->in_tty, UV_TTY_MODE_RAW)) != 0)
		return qh_err_from_uv(r);
	t->raw = 1;
	return 0;
}

/* Gives the terminal its settings back. */
static void
restore_tty(struct tech *t)
{
	if (!t->raw)
		return;
	(void)uv_tty_set_mode(&t->in_tty, UV_TTY_MODE_NORMAL);
	(void)uv_tty_reset_mode();
	t->raw = 0;
}

/* Reads from stdin go to the one fixed buffer; each is used up at once. */
static void
input_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct tech *t = h->data;

	*buf = uv_buf_init((char *)t->in_raw, sizeof(t->in_raw));
}

/* Filters fresh input (p NULL: its end) into the pending buffer and sends it. */
static void
input_got(struct tech *t, const uint8_t *p, size_t len)
{
	if (t->ops->on_input != NULL)
		t->ops->on_input(t, p, len, &t->in_pending);
	else if (p != NULL && qh_buf_put(&t->in_pending, p, len) != 0)
		qh_warn("input of %zu bytes dropped: pending buffer full", len);
	input_pump(t);
}

/* A read from a stdin pipe, socket or tty; an error counts as its end. */
static void
input_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tech *t = s->data;

	if (t->state != TECH_OPEN || t->in_stopped || nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF)
			qh_debug("stdin: %s", uv_strerror((int)nread));
		uv_read_stop(s);
		t->in_reading = 0;
		t->in_eof = 1;
		input_pump(t);
		return;
	}
	input_got(t, t->in_raw, (size_t)nread);
}

/* A read from a stdin file; 0 bytes or an error is its end. */
static void
input_fs_read(uv_fs_t *req)
{
	struct tech *t = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	t->in_fs_busy = 0;
	if (t->state != TECH_OPEN || t->in_stopped)
		return;
	if (n <= 0) {
		if (n < 0)
			qh_debug("stdin: %s", uv_strerror((int)n));
		t->in_eof = 1;
		input_pump(t);
		return;
	}
	input_got(t, t->in_raw, (size_t)n);
}

/* Reads more standard input (everything pending was sent). */
static void
input_resume(struct tech *t)
{
	uv_buf_t b;
	int r;

	switch (t->in_kind) {
	case IN_NONE:
		t->in_eof = 1;
		break;
	case IN_STREAM:
	case IN_TTY:
		if (t->in_reading)
			break;
		r = uv_read_start(t->in_kind == IN_TTY ? (uv_stream_t *)&t->in_tty
						       : (uv_stream_t *)&t->in_pipe,
		    input_alloc, input_read);
		if (r != 0) {
			qh_debug("stdin: %s", uv_strerror(r));
			t->in_eof = 1;
		} else
			t->in_reading = 1;
		break;
	case IN_FILE:
		if (t->in_fs_busy)
			break;
		b = uv_buf_init((char *)t->in_raw, sizeof(t->in_raw));
		t->in_req.data = t;
		if ((r = uv_fs_read(&t->loop, &t->in_req, STDIN_FILENO, &b, 1, -1,
			 input_fs_read)) != 0) {
			qh_debug("stdin: %s", uv_strerror(r));
			t->in_eof = 1;
		} else
			t->in_fs_busy = 1;
		break;
	}
}

/* Stops reading while the channel has no room (a file read is simply not renewed). */
static void
input_pause(struct tech *t)
{
	if (!t->in_reading)
		return;
	uv_read_stop(t->in_kind == IN_TTY ? (uv_stream_t *)&t->in_tty
					  : (uv_stream_t *)&t->in_pipe);
	t->in_reading = 0;
}

/* Nothing more is read or sent; the handles stay until tech_finish. */
static void
input_stop(struct tech *t)
{
	input_pause(t);
	t->in_stopped = 1;
	qh_buf_reset(&t->in_pending);
}

/* Hands pending input to the command's sink or the channel; returns what was taken. */
static ssize_t
input_write(struct tech *t)
{
	if (t->ops->in_write != NULL)
		return t->ops->in_write(t, qh_buf_ptr(&t->in_pending),
		    qh_buf_len(&t->in_pending));
	return qh_chan_write(t->ch, 0, qh_buf_ptr(&t->in_pending),
	    qh_buf_len(&t->in_pending));
}

/*
 * Sends pending input while the channel (or the command's sink) takes it;
 * reads more when all is sent; at the end of input lets the filter flush,
 * then sends EOF. The channel's on_writable (or the command, through
 * tech_input_resume) calls this again after a short write.
 */
static void
input_pump(struct tech *t)
{
	ssize_t n;

	for (;;) {
		if (t->state != TECH_OPEN || t->in_stopped ||
		    (t->ch == NULL && t->ops->in_write == NULL))
			return;
		if (qh_buf_len(&t->in_pending) > 0) {
			n = input_write(t);
			if (n < 0) {
				input_stop(t); /* the channel takes no more data */
				return;
			}
			if (n == 0) {
				input_pause(t); /* window full: on_writable resumes */
				return;
			}
			(void)qh_buf_consume(&t->in_pending, (size_t)n);
			continue;
		}
		if (!t->in_eof) {
			input_resume(t);
			if (!t->in_eof)
				return;
			continue;
		}
		if (!t->in_flushed) {
			t->in_flushed = 1;
			input_got(t, NULL, 0);
			return;
		}
		if (t->ops->in_write != NULL)
			(void)t->ops->in_write(t, NULL, 0);
		else
			(void)qh_chan_eof(t->ch);
		input_stop(t);
		return;
	}
}

void
tech_input_resume(struct tech *t)
{
	if (t->in_wanted) /* no stdin opened: nothing to resume, no EOF to send */
		input_pump(t);
}

void
tech_input_flush(struct tech *t)
{
	ssize_t n;

	while (t->state == TECH_OPEN && (t->ch != NULL || t->ops->in_write != NULL) &&
	    qh_buf_len(&t->in_pending) > 0) {
		if ((n = input_write(t)) <= 0)
			break;
		(void)qh_buf_consume(&t->in_pending, (size_t)n);
	}
}

/* Stops input for good, gives the terminal back, closes the stdin handles. */
static void
input_close(struct tech *t)
{
	input_stop(t);
	restore_tty(t);
	if (t->in_open) {
		t->in_open = 0;
		uv_close(t->in_kind == IN_TTY ? (uv_handle_t *)&t->in_tty
					      : (uv_handle_t *)&t->in_pipe,
		    NULL);
	}
}

/* Ending. */

void
tech_finish(struct tech *t, int status)
{
	int i;

	if (t->state == TECH_DONE)
		return;
	qh_debug("finishing with status %d", status);
	t->state = TECH_DONE;
	t->status = status;
	input_close(t);
	if (t->ops->on_stop != NULL)
		t->ops->on_stop(t);
	if (t->handles_open) {
		t->handles_open = 0;
		uv_close((uv_handle_t *)&t->connect_timer, NULL);
		uv_close((uv_handle_t *)&t->ender, NULL);
		/* A second signal now has its default effect. */
		for (i = 0; i < NSIGNALS; i++)
			uv_close((uv_handle_t *)&t->sig[i], NULL);
	}
	if (t->gai_busy)
		(void)uv_cancel((uv_req_t *)&t->gai);
	if (t->ch != NULL) {
		qh_chan_close(t->ch);
		t->ch = NULL;
	}
	if (t->mux != NULL)
		qh_mux_close(t->mux, 0, NULL);
	out_maybe_close(t); /* or after the last write */
}

/* The channel ended without an error message: the command says how it went. */
static void
end_normally(struct tech *t)
{
	int status = QH_EXIT_OK;

	if (t->chan_error)
		status = QH_EXIT_FAIL; /* its text is out already */
	else if (t->ops->on_end != NULL)
		status = t->ops->on_end(t);
	if (status == TECH_PENDING)
		return; /* the command calls tech_finish itself */
	tech_finish(t, status);
}

/* Ends the command on the loop turn after the console closed the channel. */
static void
on_ender(uv_timer_t *h)
{
	struct tech *t = h->data;

	if (t->state == TECH_OPEN)
		end_normally(t);
}

/* SIGINT, SIGTERM, SIGHUP: close cleanly (the terminal comes back), exit 128 + signal. */
static void
on_signal(uv_signal_t *h, int signum)
{
	struct tech *t = h->data;

	qh_debug("signal %d", signum);
	tech_finish(t, 128 + signum);
}

/* The channel. */

/* The console's answer to the REQUEST: OPEN_OK, or OPEN_FAIL with its ERROR. */
static void
chan_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct tech *t = qh_chan_arg(ch);
	char *text = NULL;

	if (t->state != TECH_OPENING)
		return;
	if (err != 0) {
		t->ch = NULL; /* the mux frees it */
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tech_say(t, "%s",
		    text != NULL ? text : "the console refused the request");
		free(text);
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	qh_debug("channel open");
	t->state = TECH_OPEN;
	if (t->ops->on_open != NULL)
		t->ops->on_open(t);
	if (t->in_wanted)
		input_pump(t);
}

/* DATA to stdout, EXTDATA to stderr. */
static void
chan_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct tech *t = qh_chan_arg(ch);

	if (t->ops->on_data != NULL) {
		t->ops->on_data(t, ext, p, len);
		return;
	}
	/* The window is credited only for bytes written. */
	if (!ext) {
		out_data(t, p, len);
		return;
	}
	if (!t->err_broken && write_all(STDERR_FILENO, p, len) != 0)
		t->err_broken = 1;
	credit(t, len);
}

/* NOTICE and ERROR are shown here; other messages go to the command. */
static void
chan_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct tech *t = qh_chan_arg(ch);
	char *text = NULL;

	switch (m->type) {
	case QH_MSG_NOTICE:
	case QH_MSG_ERROR:
		if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
			tech_say(t, "%s", text);
		free(text);
		if (m->type == QH_MSG_ERROR)
			t->chan_error = 1; /* exit 1 once the channel ends */
		break;
	default:
		if (t->ops->on_msg != NULL)
			t->ops->on_msg(t, m);
		else
			qh_debug("ignoring %s message", qh_msg_name(m->type));
		break;
	}
}

/* The console half-closed the channel. */
static void
chan_eof(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	if (t->state == TECH_OPEN && t->ops->on_eof != NULL)
		t->ops->on_eof(t);
}

/* The window opened again: send more input, and what the command holds. */
static void
chan_writable(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	/* Without tech_stdin_open there is no input: the pump would send EOF. */
	if (t->in_wanted)
		input_pump(t);
	if (t->state == TECH_OPEN && t->ops->on_writable != NULL)
		t->ops->on_writable(t);
}

/*
 * 1 while the connection is up. XXX The mux has no query for "closing";
 * a closing TLS connection is never writable, and an open one is not
 * writable only while its output is over the high-water mark.
 */
static int
conn_up(struct qh_chan *ch)
{
	struct qh_tls_conn *tls = qh_mux_tls(qh_chan_mux(ch));

	return qh_tls_writable(tls) || qh_tls_queued(tls) >= QH_TLS_HIGH_WATER;
}

/*
 * The channel is gone: the console closed it (the connection is up), or
 * the connection died (mux_closed follows at once and reports it). A
 * normal end runs after this callback, so the CLOSE answer goes out first.
 */
static void
chan_close(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	t->ch = NULL;
	if (t->state != TECH_OPEN)
		return;
	input_stop(t);
	if (!conn_up(ch))
		return;
	t->chan_ended = 1;
	uv_timer_start(&t->ender, on_ender, 0, 0);
}

static const struct qh_chan_ops chan_ops = {
	.on_open_result = chan_open_result,
	.on_data = chan_data,
	.on_msg = chan_msg,
	.on_eof = chan_eof,
	.on_close = chan_close,
	.on_writable = chan_writable,
};

void
tech_consume(struct tech *t, size_t n)
{
	credit(t, n);
}

struct qh_chan *
tech_open_channel(struct tech *t, const struct qh_buf *req, const struct qh_chan_ops *ops,
    void *arg)
{
	if (t->state != TECH_OPEN || t->mux == NULL)
		return NULL;
	return qh_chan_open(t->mux, req, 0, ops, arg);
}

/* Escapes. */

void
tech_escape_init(struct tech_escape *e)
{
	e->line_start = 1;
	e->tilde = 0;
}

int
tech_escape_filter(struct tech_escape *e, const uint8_t *p, size_t len,
    struct qh_buf *out)
{
	size_t i;
	uint8_t c;

	if (p == NULL) {
		/* End of input: a held "~" was meant to be sent. */
		if (e->tilde)
			(void)qh_buf_put_u8(out, '~');
		e->tilde = 0;
		return 0;
	}
	for (i = 0; i < len; i++) {
		c = p[i];
		if (e->tilde) {
			e->tilde = 0;
			if (c == '.')
				return 1;
			(void)qh_buf_put_u8(out, '~');
			if (c == '~') {
				e->line_start = 0;
				continue;
			}
		} else if (e->line_start && c == '~') {
			e->tilde = 1;
			continue;
		}
		(void)qh_buf_put_u8(out, c);
		e->line_start = c == '\r' || c == '\n';
	}
	return 0;
}

/* The connection. */

static int connect_next(struct tech *t);

/* TLS is up and the console verified: send the REQUEST. */
static int
mux_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct tech *t = qh_mux_arg(mux);

	if (t->state != TECH_CONNECTING)
		return 0;
	qh_debug("connected to %s (console %s)", qh_mux_peer_addr(mux), peer->id);
	t->state = TECH_OPENING;
	if ((t->ch = qh_chan_open(mux, t->req, 0, &chan_ops, t)) == NULL) {
		snprintf(t->reason, sizeof(t->reason), "cannot open a channel");
		return QH_ERR_LIMIT;
	}
	return 0;
}

/* A control message from the console: ERROR ends us, NOTICE is shown. */
static int
mux_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct tech *t = qh_mux_arg(mux);
	char *text = NULL;

	if (t->state == TECH_DONE)
		return 0;
	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	switch (m->type) {
	case QH_MSG_ERROR:
		/* A refusal of us as a whole (a revoked technician, say). */
		tech_say(t, "%s",
		    text != NULL ? text : "the console refused the connection");
		tech_finish(t, QH_EXIT_FAIL);
		break;
	case QH_MSG_NOTICE:
		tech_say(t, "%s", text != NULL ? text : "");
		break;
	default:
		tech_say(t, "the console sent an unexpected %s message",
		    qh_msg_name(m->type));
		tech_finish(t, QH_EXIT_FAIL);
		break;
	}
	free(text);
	return 0;
}

/* Words for a failed attempt, when the failure left none. */
static const char *
describe(int err)
{
	switch (err) {
	case QH_ERR_TLS:
		return "TLS handshake failed (QH_LOG_LEVEL=info shows why)";
	case QH_ERR_AUTH:
		return "the server is not a quarterhour console";
	case QH_ERR_CLOSED:
		return "the console closed the connection";
	case QH_ERR_TIMEOUT:
		return "timed out";
	default:
		return qh_strerror(err);
	}
}

/* The connection is gone: try the next address, or report how it ended. */
static void
mux_closed(struct qh_mux *mux, int err)
{
	struct tech *t = qh_mux_arg(mux);

	t->mux = NULL;
	t->ch = NULL; /* freed with the connection */
	switch (t->state) {
	case TECH_CONNECTING:
		if (t->tcp_failed && t->next != NULL) {
			qh_debug("%s; trying the next address", t->reason);
			if (connect_next(t) == 0)
				return;
		}
		/* FALLTHROUGH */
	case TECH_OPENING:
		tech_say(t, "cannot reach the console at %s: %s", t->bundle.console,
		    t->reason[0] != '\0' ? t->reason : describe(err));
		tech_finish(t, QH_EXIT_FAIL);
		break;
	case TECH_OPEN:
		/* The console closed the channel before the connection: a normal end. */
		if (t->chan_ended) {
			end_normally(t);
			break;
		}
		qh_debug("connection closed: %s", qh_strerror(err));
		tech_say(t, "connection to the console lost");
		tech_finish(t, QH_EXIT_FAIL);
		break;
	default:
		break;
	}
}

static const struct qh_mux_ops mux_ops = {
	.on_ready = mux_ready,
	.on_control = mux_control,
	.on_close = mux_closed,
};

/* TCP is connected (or not): start TLS, or let mux_closed try the next address. */
static void
on_connect(uv_connect_t *req, int status)
{
	struct tech *t = req->data;
	int r;

	/* Cancelled: the handle is closing and the mux reports the rest. */
	if (status == UV_ECANCELED || t->mux == NULL || t->state != TECH_CONNECTING)
		return;
	uv_timer_stop(&t->connect_timer);
	if (status < 0) {
		t->tcp_failed = 1;
		snprintf(t->reason, sizeof(t->reason), "%s", uv_strerror(status));
		qh_mux_close(t->mux, qh_err_from_uv(status), NULL);
		return;
	}
	/* A failed start closes the mux, and mux_closed reports it. */
	if ((r = qh_mux_start(t->mux)) != 0)
		qh_debug("TLS start: %s", qh_strerror(r));
}

/* An address that does not answer is given up after TECH_CONNECT_MS. */
static void
on_connect_timeout(uv_timer_t *h)
{
	struct tech *t = h->data;

	if (t->mux == NULL || t->state != TECH_CONNECTING)
		return;
	t->tcp_failed = 1;
	snprintf(t->reason, sizeof(t->reason), "connection timed out");
	qh_mux_close(t->mux, QH_ERR_TIMEOUT, NULL);
}

/*
 * Starts a connection to the next address. Returns 0 when an attempt is
 * under way (its failure comes to mux_closed) or a negative QH_ERR_* when
 * none could start.
 */
static int
connect_next(struct tech *t)
{
	struct addrinfo *ai = t->next;
	int r;

	if (ai == NULL)
		return QH_ERR_NOT_FOUND;
	t->next = ai->ai_next;
	t->tcp_failed = 0;
	t->reason[0] = '\0';
	t->mux = qh_mux_new(&t->loop, t->ctx, QH_TLS_CLIENT, t->host, NULL, &mux_ops, t);
	if (t->mux == NULL) {
		snprintf(t->reason, sizeof(t->reason), "%s", qh_strerror(QH_ERR_NOMEM));
		return QH_ERR_NOMEM;
	}
	qh_mux_set_keepalive(t->mux, TECH_KEEPALIVE_MS, TECH_DEAD_MS);
	t->creq.data = t;
	if ((r = uv_tcp_connect(&t->creq, qh_mux_tcp(t->mux), ai->ai_addr, on_connect)) !=
	    0) {
		t->tcp_failed = 1;
		snprintf(t->reason, sizeof(t->reason), "%s", uv_strerror(r));
		qh_mux_close(t->mux, qh_err_from_uv(r), NULL);
		return 0;
	}
	uv_timer_start(&t->connect_timer, on_connect_timeout, TECH_CONNECT_MS, 0);
	return 0;
}

/* The console's name resolved: try its addresses in order. */
static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct tech *t = req->data;

	t->gai_busy = 0;
	if (t->state != TECH_RESOLVING) {
		if (res != NULL)
			uv_freeaddrinfo(res);
		return;
	}
	if (status < 0 || res == NULL) {
		tech_say(t, "cannot reach the console at %s: %s", t->bundle.console,
		    status < 0 ? uv_strerror(status) : "no address");
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	t->addrs = t->next = res;
	t->state = TECH_CONNECTING;
	if (connect_next(t) != 0) {
		tech_say(t, "cannot reach the console at %s: %s", t->bundle.console,
		    t->reason);
		tech_finish(t, QH_EXIT_FAIL);
	}
}

/* A numeric console address needs no lookup: one address to try. */
static int
literal_address(struct tech *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->literal;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->literal;

	memset(&t->literal_ai, 0, sizeof(t->literal_ai));
	if (uv_ip4_addr(t->host, t->port, sin) == 0)
		t->literal_ai.ai_addrlen = sizeof(*sin);
	else if (uv_ip6_addr(t->host, t->port, sin6) == 0)
		t->literal_ai.ai_addrlen = sizeof(*sin6);
	else
		return 0;
	t->literal_ai.ai_family = t->literal.ss_family;
	t->literal_ai.ai_socktype = SOCK_STREAM;
	t->literal_ai.ai_addr = (struct sockaddr *)&t->literal;
	t->next = &t->literal_ai;
	return 1;
}

int
tech_run(struct tech *t, const struct qh_buf *req)
{
	struct addrinfo hints;
	int i, r;

	if (t->state != TECH_NEW)
		return QH_EXIT_FAIL; /* one run per tech_new */
	t->req = req;
	uv_timer_init(&t->loop, &t->connect_timer);
	t->connect_timer.data = t;
	uv_timer_init(&t->loop, &t->ender);
	t->ender.data = t;
	for (i = 0; i < NSIGNALS; i++) {
		uv_signal_init(&t->loop, &t->sig[i]);
		t->sig[i].data = t;
		uv_signal_start(&t->sig[i], on_signal, caught_signals[i]);
		uv_unref((uv_handle_t *)&t->sig[i]);
	}
	t->handles_open = 1;
	out_open(t);

	if (literal_address(t)) {
		t->state = TECH_CONNECTING;
		if (connect_next(t) != 0) {
			tech_say(t, "cannot reach the console at %s: %s",
			    t->bundle.console, t->reason);
			tech_finish(t, QH_EXIT_FAIL);
		}
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		t->state = TECH_RESOLVING;
		t->gai.data = t;
		if ((r = uv_getaddrinfo(&t->loop, &t->gai, on_resolved, t->host,
			 t->service, &hints)) != 0) {
			tech_say(t, "cannot reach the console at %s: %s",
			    t->bundle.console, uv_strerror(r));
			tech_finish(t, QH_EXIT_FAIL);
		} else
			t->gai_busy = 1;
	}
	uv_run(&t->loop, UV_RUN_DEFAULT);
	return t->status;
}

const char *
tech_term_name(void)
{
	const char *s = getenv("TERM");

	if (s == NULL || *s == '\0' || strlen(s) > QH_TERM_MAX ||
	    !qh_utf8_valid((const uint8_t *)s, strlen(s)))
		return "xterm";
	return s;
}
