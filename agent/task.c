/*
 * The relay of a task (see task.h): channel bytes go to the process through
 * a ring (qh/ring.h) the size of the window we granted, allocated only
 * once the process is slower than the technician, and are credited back only when
 * the process has taken them, so a process that does not read stops the
 * technician. Output is read one chunk at a time and reading stops while a
 * chunk waits for window or connection space. When the process has exited
 * and its output is drained, the channel ends with EXIT, EOF and CLOSE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "task.h"

static void task_in_flush(struct task *t);
static void task_check_done(struct task *t);
static void task_close_all(struct task *t);
static void task_detach(struct task *t);

int
task_count(const struct task_list *tasks)
{
	const struct task *t;
	int n = 0;

	for (t = tasks->first; t != NULL; t = t->next)
		n++;
	return n;
}

/* Takes t off its list. */
static void
task_unlink(struct task *t)
{
	if (t->next != NULL)
		t->next->prevp = t->prevp;
	*t->prevp = t->next;
}

/* Frees t once its handles are closed and its process is reaped. */
static void
task_maybe_free(struct task *t)
{
	if (t->nhandles > 0 || !t->reaped)
		return;
	qh_debug("task of %s (pid %ld): freed", t->login, proc_id(t));
	task_unlink(t);
	qh_ring_release(&t->ring);
	free(t);
}

void
task_handle_closed(uv_handle_t *h)
{
	struct task *t = h->data;

	t->nhandles--;
	task_maybe_free(t);
}

/* The close callback of output pipes, whose data is their task_out. */
static void
out_closed(uv_handle_t *h)
{
	struct task_out *o = h->data;

	o->t->nhandles--;
	task_maybe_free(o->t);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, task_handle_closed);
}

static void
close_out(struct task_out *o)
{
	if (!uv_is_closing((uv_handle_t *)&o->pipe))
		uv_close((uv_handle_t *)&o->pipe, out_closed);
}

static void
on_timer(uv_timer_t *timer)
{
	struct task *t = timer->data;
	int i, again = 0;

	switch (t->timer_mode) {
	case TIMER_KILL:
		qh_info("task of %s (pid %ld): still running; killing it", t->login,
		    proc_id(t));
		if (!t->reaped)
			proc_kill(t);
		break;
	case TIMER_LINGER:
		/* Cut outputs that stayed open and quiet after the process exited. */
		for (i = 0; i < t->nout; i++) {
			struct task_out *o = &t->out[i];

			if (o->eof)
				continue;
			if (o->len > 0) {
				again = 1; /* still sending: give it time */
				continue;
			}
			o->eof = 1;
			o->reading = 0;
			if (o->open)
				uv_read_stop((uv_stream_t *)&o->pipe);
		}
		if (again)
			uv_timer_start(&t->timer, on_timer, TASK_LINGER_MS, 0);
		task_check_done(t);
		break;
	case TIMER_NONE:
		break;
	}
}

static void
start_timer(struct task *t, enum task_timer mode, uint64_t ms)
{
	if (!t->timer_open || uv_is_closing((uv_handle_t *)&t->timer))
		return;
	t->timer_mode = mode;
	uv_timer_start(&t->timer, on_timer, ms, 0);
}

/* Output: process -> channel. */

/* Sends what the stream holds; returns 1 when it is all sent. */
static int
out_flush(struct task_out *o)
{
	struct task *t = o->t;
	ssize_t n;

	while (o->len > 0) {
		if (t->ch == NULL) {
			o->len = 0; /* nobody to send it to */
			break;
		}
		n = qh_chan_write(t->ch, o->ext, o->buf + o->off, o->len);
		if (n < 0) {
			qh_debug("task of %s: channel write: %s", t->login,
			    qh_strerror((int)n));
			o->len = 0;
			break;
		}
		if (n == 0)
			return 0; /* on_writable resumes */
		o->off += (size_t)n;
		o->len -= (size_t)n;
	}
	o->off = 0;
	return 1;
}

static void
out_alloc(uv_handle_t *h, size_t suggested QH_UNUSED, uv_buf_t *buf)
{
	struct task_out *o = h->data;

	if (o->len > 0) {
		*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)o->buf, sizeof(o->buf));
}

static void
out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf QH_UNUSED)
{
	struct task_out *o = s->data;
	struct task *t = o->t;

	if (nread == 0 || !o->open)
		return;
	if (nread == UV_ENOBUFS) {
		/* A read while a chunk was unsent: pause until it is. */
		uv_read_stop(s);
		o->reading = 0;
		return;
	}
	if (nread < 0) {
		/* EOF, or EIO from a pty master whose shell is gone. */
		if (nread != UV_EOF && nread != UV_EIO)
			qh_debug("task of %s: read: %s", t->login,
			    uv_strerror((int)nread));
		uv_read_stop(s);
		o->reading = 0;
		o->eof = 1;
		/* A pty master is also the input: it closes with the task. */
		if (t->instream != (uv_stream_t *)&o->pipe) {
			o->open = 0;
			close_out(o);
		}
		task_check_done(t);
		return;
	}
	o->off = 0;
	o->len = (size_t)nread;
	if (!out_flush(o)) {
		uv_read_stop(s);
		o->reading = 0;
	}
}

static void
out_resume(struct task_out *o)
{
	int r;

	if (!o->open || o->eof || o->reading || o->len > 0 || o->t->ch == NULL)
		return;
	if ((r = uv_read_start((uv_stream_t *)&o->pipe, out_alloc, out_read)) != 0) {
		qh_warn("task of %s: read start: %s", o->t->login, uv_strerror(r));
		o->eof = 1;
		return;
	}
	o->reading = 1;
}

/* Input: channel -> process. */

/*
 * The process takes no more input: what waits is dropped and credited
 * back, and so is whatever the technician still sends.
 */
static void
in_drop(struct task *t)
{
	if (t->ch != NULL)
		qh_chan_consume(t->ch, qh_ring_len(&t->ring));
	qh_ring_release(&t->ring);
	t->instream = NULL;
}

static void
in_written(uv_write_t *req, int status)
{
	struct task *t = req->data;
	size_t n = t->wlen;

	t->writing = 0;
	t->wlen = 0;
	qh_ring_consume(&t->ring, n);
	if (t->ch != NULL)
		qh_chan_consume(t->ch, n);
	if (status < 0) {
		if (status != UV_ECANCELED)
			qh_debug("task of %s: write to the process: %s", t->login,
			    uv_strerror(status));
		/* The process stopped reading for good: drop what is left. */
		in_drop(t);
	}
	task_in_flush(t);
}

/* Writes the ring to the process if no write is in flight; closes stdin at EOF. */
static void
task_in_flush(struct task *t)
{
	uv_buf_t b[2];
	unsigned int nb;
	size_t len;
	int r;

	if (t->writing)
		return;
	if (t->instream == NULL || qh_ring_len(&t->ring) == 0) {
		if (t->in_open && (t->in_eof || t->instream == NULL)) {
			/* The child reads EOF once its end of the pipe is gone. */
			t->in_open = 0;
			t->instream = NULL;
			close_handle((uv_handle_t *)&t->in);
		}
		return;
	}
	nb = qh_ring_peek(&t->ring, b, &len);
	t->wreq.data = t;
	if ((r = uv_write(&t->wreq, t->instream, b, nb, in_written)) != 0) {
		qh_debug("task of %s: write: %s", t->login, uv_strerror(r));
		in_drop(t);
		task_in_flush(t);
		return;
	}
	t->writing = 1;
	t->wlen = len;
}

/* Channel callbacks. */

static void
chan_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct task *t = qh_chan_arg(ch);
	int r;

	if (ext || t->instream == NULL) {
		qh_chan_consume(ch, len); /* nowhere to go */
		return;
	}
	/* The window we granted is the ring's capacity: more is a breach. */
	if ((r = qh_ring_put(&t->ring, p, len)) != 0) {
		if (r == QH_ERR_TOO_LARGE)
			qh_warn("task of %s: peer sent past the window; closing the "
				"channel",
			    t->login);
		else
			qh_warn("task of %s: %s; closing the channel", t->login,
			    qh_strerror(r));
		task_detach(t);
		qh_chan_close(ch);
		return;
	}
	task_in_flush(t);
}

static void
chan_eof(struct qh_chan *ch)
{
	struct task *t = qh_chan_arg(ch);

	/* A terminal has no end of input; only a program's stdin closes. */
	if (t->kind != TASK_EXEC)
		return;
	t->in_eof = 1;
	task_in_flush(t);
}

static void
chan_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct task *t = qh_chan_arg(ch);

	if (m->type == QH_MSG_RESIZE && t->kind == TASK_SHELL)
		shell_resize(t, m);
	else
		qh_debug("task of %s: %s message ignored", t->login,
		    qh_msg_name(m->type));
}

static void
chan_writable(struct qh_chan *ch)
{
	struct task *t = qh_chan_arg(ch);
	int i;

	for (i = 0; i < t->nout && t->ch != NULL; i++)
		if (out_flush(&t->out[i]))
			out_resume(&t->out[i]);
	task_check_done(t);
}

/* The channel is gone: stop the process and close what is left. */
static void
task_detach(struct task *t)
{
	t->ch = NULL;
	if (!t->exited) {
		qh_info("task of %s (pid %ld): channel closed; stopping it", t->login,
		    proc_id(t));
		if (!t->reaped)
			proc_stop(t);
		start_timer(t, TIMER_KILL, TASK_KILL_MS);
	}
	task_close_all(t);
}

/* The technician (or the connection) closed the channel. */
static void
chan_close(struct qh_chan *ch)
{
	task_detach(qh_chan_arg(ch));
}

static const struct qh_chan_ops task_chan_ops = {
	.on_data = chan_data,
	.on_eof = chan_eof,
	.on_msg = chan_msg,
	.on_writable = chan_writable,
	.on_close = chan_close,
};

/* Ending. */

/*
 * Closes every handle that is no longer needed: all streams; the timer
 * once the process has exited (until then it may have to SIGKILL).
 */
static void
task_close_all(struct task *t)
{
	int i;

	for (i = 0; i < t->nout; i++) {
		struct task_out *o = &t->out[i];

		if (!o->open)
			continue;
		o->open = 0;
		o->reading = 0;
		close_out(o);
	}
	if (t->instream == (uv_stream_t *)&t->out[0].pipe)
		t->instream = NULL; /* a pty master, closed with out[0] */
	if (t->in_open) {
		t->in_open = 0;
		t->instream = NULL;
		close_handle((uv_handle_t *)&t->in);
	}
	if (t->exited && t->timer_open) {
		t->timer_open = 0;
		close_handle((uv_handle_t *)&t->timer);
	}
}

/* Ends the channel once the process is gone and its output is sent. */
static void
task_check_done(struct task *t)
{
	struct qh_buf b;
	int i, r;

	if (t->ch == NULL || t->done || !t->exited)
		return;
	for (i = 0; i < t->nout; i++) {
		if (t->out[i].len > 0)
			return;
		if (!t->out[i].eof) {
			if (t->timer_mode != TIMER_LINGER)
				start_timer(t, TIMER_LINGER, TASK_LINGER_MS);
			return;
		}
	}
	t->done = 1;
	qh_buf_init(&b, 64);
	if ((r = qh_msg_begin(&b, QH_MSG_EXIT)) == 0) {
		if (t->signo != 0)
			r = qh_msg_put_u32(&b, QH_K_SIGNAL, (uint32_t)t->signo);
		else
			r = qh_msg_put_u32(&b, QH_K_STATUS, (uint32_t)t->status);
	}
	if (r == 0)
		(void)qh_chan_send_msg(t->ch, &b);
	qh_buf_release(&b);
	/*
	 * A send that overflows the connection closes it, and the channel
	 * with it (chan_close cleared t->ch): then there is nothing to end.
	 */
	if (t->ch != NULL)
		(void)qh_chan_eof(t->ch);
	if (t->ch != NULL)
		qh_chan_close(t->ch);
	t->ch = NULL;
	qh_debug("task of %s (pid %ld): ended with %s %d", t->login, proc_id(t),
	    t->signo ? "signal" : "status", t->signo ? t->signo : t->status);
	if (t->timer_open)
		uv_timer_stop(&t->timer);
	task_close_all(t);
}

void
task_exited(struct task *t, int status, int signo)
{
	t->exited = 1;
	t->status = status;
	t->signo = signo;
	if (t->timer_mode == TIMER_KILL && t->timer_open)
		uv_timer_stop(&t->timer);
	t->timer_mode = TIMER_NONE;
	if (t->ch != NULL)
		task_check_done(t);
	else
		task_close_all(t);
}

void
task_fail(struct task *t, const char *what, const char *reason)
{
	char line[512];
	int i, n;

	for (i = 0; i < t->nout; i++)
		t->out[i].eof = 1; /* nothing will ever be written there */
	n = snprintf(line, sizeof(line), "qh-agent: %s: %s\n", what, reason);
	if (n > 0 && t->ch != NULL)
		(void)qh_chan_write(t->ch, 1, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	t->reaped = 1; /* there is no process */
	task_exited(t, 127, 0);
}

/* Creation. */

struct task *
task_new(struct task_list *tasks, uv_loop_t *loop, enum task_kind kind,
    struct qh_chan *ch, const struct qh_msg *m)
{
	struct task *t = NULL;
	char *login = NULL;
	int r;

	if (task_count(tasks) >= TASK_MAX) {
		qh_warn("refusing a command: %d tasks are alive", TASK_MAX);
		qh_chan_refuse(ch, "limit", "too many commands are running on the agent");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return NULL;
	}
	qh_ring_init(&t->ring, TASK_IN_WINDOW);
	t->kind = kind;
	(void)qh_msg_get_str(m, QH_K_LOGIN, &login);
	snprintf(t->login, sizeof(t->login), "%s", login != NULL ? login : "?");
	free(login);
	ui_sanitize(t->login);
	uv_timer_init(loop, &t->timer);
	t->timer.data = t;
	t->timer_open = 1;
	t->nhandles = 1;
	if ((t->next = tasks->first) != NULL)
		t->next->prevp = &t->next;
	tasks->first = t;
	t->prevp = &tasks->first;
	if ((r = qh_chan_accept(ch, TASK_IN_WINDOW, &task_chan_ops, t)) != 0) {
		/* The connection is going away; the task ends without a channel. */
		qh_debug("accept: %s", qh_strerror(r));
		t->reaped = 1;
		task_exited(t, 127, 0);
		return NULL;
	}
	t->ch = ch;
	return t;
}

void
task_out_init(struct task *t, uv_loop_t *loop, int i, int ext)
{
	struct task_out *o = &t->out[i];

	uv_pipe_init(loop, &o->pipe, 0);
	o->pipe.data = o;
	o->t = t;
	o->ext = ext;
	o->open = 1;
	t->nhandles++;
	if (i + 1 > t->nout)
		t->nout = i + 1;
}

void
task_in_init(struct task *t, uv_loop_t *loop)
{
	uv_pipe_init(loop, &t->in, 0);
	t->in.data = t;
	t->in_open = 1;
	t->nhandles++;
}

void
task_start(struct task *t)
{
	int i;

	for (i = 0; i < t->nout; i++)
		out_resume(&t->out[i]);
	task_in_flush(t);
}

/* Reaping. */

void
task_reaped(struct task *t, int status, int signo)
{
	t->reaped = 1;
	task_exited(t, status, signo);
	task_maybe_free(t);
}

void
task_reap(struct task_list *tasks)
{
	proc_reap(tasks);
}

void
task_shutdown(struct task_list *tasks, uv_loop_t *loop)
{
	struct task *t, *next;

	/* What still runs is ended; proc_shutdown may free t. */
	for (t = tasks->first; t != NULL; t = next) {
		next = t->next;
		if (!t->reaped && proc_id(t) > 0)
			proc_shutdown(t);
	}
	/* Their last handles close, and free them. */
	uv_run(loop, UV_RUN_DEFAULT);
	while ((t = tasks->first) != NULL) {
		qh_warn("task of %s: %d handles still open at exit", t->login,
		    t->nhandles);
		task_unlink(t);
		qh_ring_release(&t->ring);
		free(t);
	}
}
