/*
 * The technician's terminal (see conn.h): standard input read as a tty, a
 * pipe or socket, or a file, passed through the command's filter and
 * relayed to the channel as far as its window allows; standard output
 * written through libuv so that a stalled reader stops the channel's
 * window and never the loop, credited back only once written; stderr and
 * the one-line reports of tech_say; raw mode, and the terminal given back
 * on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "conn.h"

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
	/* The console's and the agent's texts are in it: one line, no control. */
	qh_display_str(line, line, sizeof(line) - 2, 0);
	n = (int)strlen(line);
	snprintf(line + n, 3, "%s", t != NULL && t->raw ? "\r\n" : "\n");
	tech_stderr(t, "qh-console: ");
	tech_stderr(t, line);
}

void
term_sanitise_stdfd(void)
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

void
term_init(struct tech *t)
{
	t->in_fd = STDIN_FILENO;
	t->out_fd = STDOUT_FILENO;
	t->in_fd_flags = -1;
	t->out_fd_flags = -1;
	qh_buf_init(&t->in_pending, IN_PENDING_MAX);
	qh_buf_init(&t->out_buf[0], QH_MUX_WINDOW);
	qh_buf_init(&t->out_buf[1], QH_MUX_WINDOW);
}

void
term_free(struct tech *t)
{
	/* The terminal is the user's again, whatever happened. */
	(void)uv_tty_reset_mode();
	/* Flags matter to the user's own descriptors only. */
	if (t->in_fd_flags != -1 && t->in_fd == STDIN_FILENO)
		(void)fcntl(t->in_fd, F_SETFL, t->in_fd_flags);
	if (t->out_fd_flags != -1 && t->out_fd == STDOUT_FILENO)
		(void)fcntl(t->out_fd, F_SETFL, t->out_fd_flags);
	/* Descriptors of tech_use_fds() that libuv never took are ours to close. */
	if (t->in_fd_owned)
		(void)close(t->in_fd);
	if (t->out_fd_owned)
		(void)close(t->out_fd);
	qh_buf_release(&t->in_pending);
	qh_buf_release(&t->out_buf[0]);
	qh_buf_release(&t->out_buf[1]);
}

/* Standard output. */

void
term_out_open(struct tech *t)
{
	int r;

	switch (uv_guess_handle(t->out_fd)) {
	case UV_TTY:
		t->out_fd_flags = fcntl(t->out_fd, F_GETFL);
		if ((r = uv_tty_init(&t->loop, &t->out_tty, t->out_fd, 0)) != 0) {
			qh_debug("stdout: %s; writing blocking", uv_strerror(r));
			return;
		}
		t->out_s = (uv_stream_t *)&t->out_tty;
		break;
	case UV_NAMED_PIPE:
	case UV_TCP:
		t->out_fd_flags = fcntl(t->out_fd, F_GETFL);
		if (uv_pipe_init(&t->loop, &t->out_pipe, 0) != 0)
			return;
		if ((r = uv_pipe_open(&t->out_pipe, t->out_fd)) == 0)
			t->out_fd_owned = 0; /* closed with the handle */
		else {
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

void
term_out_maybe_close(struct tech *t)
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
	tech_consume(t, n);
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
	tech_consume(t, n);
	if (status < 0)
		out_break(t, uv_strerror(status));
	else
		out_kick(t);
	term_out_maybe_close(t);
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

void
term_out_data(struct tech *t, const uint8_t *p, size_t len)
{
	uv_buf_t ub;
	int n;

	if (t->out_broken) {
		tech_consume(t, len);
		return;
	}
	if (!t->out_async) {
		if (write_all(t->out_fd, p, len) != 0) {
			qh_debug("stdout: %s; dropping output", strerror(errno));
			t->out_broken = 1;
		}
		tech_consume(t, len);
		return;
	}
	if (!t->out_busy && qh_buf_len(&t->out_buf[t->out_cur]) == 0) {
		ub = uv_buf_init((char *)p, (unsigned int)len);
		if ((n = uv_try_write(t->out_s, &ub, 1)) < 0 && n != UV_EAGAIN) {
			out_break(t, uv_strerror(n));
			tech_consume(t, len);
			return;
		}
		if (n > 0) {
			tech_consume(t, (size_t)n);
			p += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return;
	}
	/* Never more than a window is uncredited, and each buffer holds one. */
	if (qh_buf_put(&t->out_buf[t->out_cur], p, len) != 0) {
		qh_warn("stdout: %zu bytes beyond the window dropped", len);
		tech_consume(t, len);
		return;
	}
	out_kick(t);
}

void
term_print(struct tech *t, int ext, const uint8_t *p, size_t len, int exact)
{
	struct qh_buf b;
	int fd = ext ? STDERR_FILENO : STDOUT_FILENO;
	int *broken = ext ? &t->err_broken : &t->out_broken;

	qh_buf_init(&b, len); /* the shown form is never longer */
	if (!exact) {
		if (qh_display_put(&b, p, len, QH_DISPLAY_LINES) != 0) {
			tech_say(t, "out of memory; the console's answer is not shown");
			goto out;
		}
		p = qh_buf_ptr(&b);
		len = qh_buf_len(&b);
	}
	if (len > 0 && !*broken && write_all(fd, p, len) != 0)
		*broken = 1;
out:
	qh_buf_release(&b);
}

void
term_err_data(struct tech *t, const uint8_t *p, size_t len)
{
	if (!t->err_broken && write_all(STDERR_FILENO, p, len) != 0)
		t->err_broken = 1;
	tech_consume(t, len);
}

/* Standard input. */

void
tech_use_fds(struct tech *t, int in_fd, int out_fd)
{
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	t->in_fd_owned = t->out_fd_owned = 1;
}

int
tech_stdin_open(struct tech *t)
{
	int r;

	t->in_wanted = 1;
	switch (uv_guess_handle(t->in_fd)) {
	case UV_TTY:
		t->in_fd_flags = fcntl(t->in_fd, F_GETFL);
		if ((r = uv_tty_init(&t->loop, &t->in_tty, t->in_fd, 1)) != 0)
			return qh_err_from_uv(r);
		t->in_tty.data = t;
		t->in_open = 1;
		t->in_kind = IN_TTY;
		break;
	case UV_NAMED_PIPE:
	case UV_TCP:
		t->in_fd_flags = fcntl(t->in_fd, F_GETFL);
		if ((r = uv_pipe_init(&t->loop, &t->in_pipe, 0)) != 0)
			return qh_err_from_uv(r);
		t->in_pipe.data = t;
		t->in_open = 1;
		if ((r = uv_pipe_open(&t->in_pipe, t->in_fd)) != 0)
			return qh_err_from_uv(r);
		t->in_fd_owned = 0; /* closed with the handle */
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
input_alloc(uv_handle_t *h, size_t hint QH_UNUSED, uv_buf_t *buf)
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
	term_input_pump(t);
}

/* A read from a stdin pipe, socket or tty; an error counts as its end. */
static void
input_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf QH_UNUSED)
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
		term_input_pump(t);
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
		term_input_pump(t);
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
		if ((r = uv_fs_read(&t->loop, &t->in_req, t->in_fd, &b, 1, -1,
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
void
term_input_stop(struct tech *t)
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

void
term_input_pump(struct tech *t)
{
	ssize_t n;

	for (;;) {
		if (t->state != TECH_OPEN || t->in_stopped ||
		    (t->ch == NULL && t->ops->in_write == NULL))
			return;
		if (qh_buf_len(&t->in_pending) > 0) {
			n = input_write(t);
			if (n < 0) {
				term_input_stop(t); /* the channel takes no more data */
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
		term_input_stop(t);
		return;
	}
}

void
tech_input_resume(struct tech *t)
{
	if (t->in_wanted) /* no stdin opened: nothing to resume, no EOF to send */
		term_input_pump(t);
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

void
term_input_close(struct tech *t)
{
	term_input_stop(t);
	restore_tty(t);
	if (t->in_open) {
		t->in_open = 0;
		uv_close(t->in_kind == IN_TTY ? (uv_handle_t *)&t->in_tty
					      : (uv_handle_t *)&t->in_pipe,
		    NULL);
	}
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
