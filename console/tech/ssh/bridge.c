/*
 * The loop's side of qh-console ssh (see ssh.h): the bridge between the
 * dial channel and the loop's end of the socketpair (SSH ciphertext both
 * ways, credited back only once written), typed input handed to the
 * client thread through its bounded queue, the wake-ups between the
 * thread and the loop, the record channel that carries the decrypted
 * terminal output to the console, and the command's end once the thread
 * is done and the recording's tail is sent.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "ssh.h"

void
ssh_wake_thread(struct ssh *s)
{
	ssize_t n;

	do
		n = write(s->wake[1], "x", 1);
	while (n == -1 && errno == EINTR);
}

void
ssh_wake_loop_locked(struct ssh *s)
{
	if (s->loop_alive)
		(void)uv_async_send(&s->async);
}

void
ssh_thread_stop(struct ssh *s)
{
	uv_mutex_lock(&s->mu);
	s->stop = 1;
	s->loop_alive = 0;
	uv_mutex_unlock(&s->mu);
	ssh_wake_thread(s);
}

static void maybe_end(struct ssh *s);
static void rec_flush(struct ssh *s);

/* The bridge, down: dial channel → socketpair. */

static void down_kick(struct ssh *s);

static void
on_shutdown(uv_shutdown_t *req QH_UNUSED, int status)
{
	if (status < 0)
		qh_debug("ssh socket shutdown: %s", uv_strerror(status));
}

/* Shuts the socketpair's write side once the dial channel ended and all is written. */
static void
down_maybe_shutdown(struct ssh *s)
{
	if (!s->down_eof || s->down_shut || !s->a_open || s->down_busy ||
	    qh_buf_len(&s->down[s->down_cur]) > 0)
		return;
	s->down_shut = 1;
	if (uv_shutdown(&s->shut_req, (uv_stream_t *)&s->a, on_shutdown) != 0)
		qh_debug("shutdown of the ssh socket failed");
}

static void
down_written(uv_write_t *req, int status)
{
	struct ssh *s = req->data;
	struct qh_buf *b = &s->down[s->down_cur ^ 1];
	size_t n = qh_buf_len(b);

	s->down_busy = 0;
	qh_buf_reset(b);
	tech_consume(s->t, n);
	if (status < 0) {
		/* The client is gone: what comes is dropped (and credited). */
		qh_debug("ssh socket: %s", uv_strerror(status));
		tech_consume(s->t, qh_buf_len(&s->down[s->down_cur]));
		qh_buf_reset(&s->down[s->down_cur]);
		s->down_eof = 1;
		return;
	}
	down_kick(s);
	down_maybe_shutdown(s);
}

/* Starts writing what collected, unless a write is in flight. */
static void
down_kick(struct ssh *s)
{
	struct qh_buf *b = &s->down[s->down_cur];
	uv_buf_t ub;

	if (s->down_busy || qh_buf_len(b) == 0 || !s->a_open)
		return;
	ub = uv_buf_init((char *)qh_buf_ptr(b), (unsigned int)qh_buf_len(b));
	s->down_req.data = s;
	if (uv_write(&s->down_req, (uv_stream_t *)&s->a, &ub, 1, down_written) != 0) {
		tech_consume(s->t, qh_buf_len(b));
		qh_buf_reset(b);
		s->down_eof = 1;
		return;
	}
	s->down_busy = 1;
	s->down_cur ^= 1;
}

/* SSH bytes from the server: to the client thread, credited once written. */
static void
ssh_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct ssh *s = tech_arg(t);
	uv_buf_t ub;
	int n;

	if (ext || !s->a_open || s->down_eof) {
		tech_consume(t, len); /* nobody to take it */
		return;
	}
	if (!s->down_busy && qh_buf_len(&s->down[s->down_cur]) == 0) {
		ub = uv_buf_init((char *)p, (unsigned int)len);
		if ((n = uv_try_write((uv_stream_t *)&s->a, &ub, 1)) > 0) {
			tech_consume(t, (size_t)n);
			p += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return;
	}
	/* At most one window is uncredited, and each buffer holds one. */
	if (qh_buf_put(&s->down[s->down_cur], p, len) != 0) {
		qh_warn("ssh: %zu bytes beyond the window dropped", len);
		tech_consume(t, len);
		return;
	}
	down_kick(s);
}

/* The server's side ended (the agent's connection to it closed). */
static void
ssh_on_eof(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	s->down_eof = 1;
	down_maybe_shutdown(s);
}

/* The bridge, up: socketpair → dial channel. */

static void
up_alloc(uv_handle_t *h, size_t hint QH_UNUSED, uv_buf_t *buf)
{
	struct ssh *s = h->data;

	*buf = uv_buf_init((char *)s->up_raw, sizeof(s->up_raw));
}

/* Sends the held bytes, then EOF once the client closed its end. */
static void up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void
up_pump(struct ssh *s)
{
	struct qh_chan *ch = tech_chan(s->t);
	ssize_t n;

	if (ch == NULL) {
		qh_buf_reset(&s->up); /* the dial channel is gone */
		return;
	}
	if (qh_buf_len(&s->up) > 0) {
		n = qh_chan_write(ch, 0, qh_buf_ptr(&s->up), qh_buf_len(&s->up));
		if (n < 0)
			n = (ssize_t)qh_buf_len(&s->up);
		(void)qh_buf_consume(&s->up, (size_t)n);
		if (qh_buf_len(&s->up) > 0)
			return; /* on_writable continues */
	}
	if (s->up_eof) {
		if (!s->up_eof_sent) {
			s->up_eof_sent = 1;
			(void)qh_chan_eof(ch);
		}
		return;
	}
	if (!s->a_reading && s->a_open &&
	    uv_read_start((uv_stream_t *)&s->a, up_alloc, up_read) == 0)
		s->a_reading = 1;
}

/* Straight to the dial channel; what its window does not take waits in `up`. */
static void
up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf QH_UNUSED)
{
	struct ssh *s = st->data;
	struct qh_chan *ch = tech_chan(s->t);
	ssize_t n = 0;

	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(st);
		s->a_reading = 0;
		s->up_eof = 1;
		up_pump(s);
		return;
	}
	if (ch == NULL)
		return; /* the dial channel is gone: dropped */
	if ((n = qh_chan_write(ch, 0, s->up_raw, (size_t)nread)) < 0)
		return;
	if (n == nread)
		return;
	/* Never more than one read is held: reading stops until it is sent. */
	(void)qh_buf_put(&s->up, s->up_raw + n, (size_t)(nread - n));
	uv_read_stop(st);
	s->a_reading = 0;
}

static void
ssh_on_writable(struct tech *t)
{
	up_pump(tech_arg(t));
}

/* Standard input, to the client thread. */

static ssize_t
ssh_in_write(struct tech *t, const uint8_t *p, size_t len)
{
	struct ssh *s = tech_arg(t);
	size_t n = 0;

	uv_mutex_lock(&s->mu);
	if (p == NULL)
		s->in_eof = 1;
	else {
		n = qh_buf_room(&s->in) < len ? qh_buf_room(&s->in) : len;
		if (n > 0)
			(void)qh_buf_put(&s->in, p, n);
		if (n < len)
			s->in_blocked = 1; /* the thread says when it took some */
	}
	uv_mutex_unlock(&s->mu);
	ssh_wake_thread(s);
	return (ssize_t)n;
}

/* With a terminal, the escapes of attach; without one, input as it is. */
static void
ssh_on_input(struct tech *t, const uint8_t *p, size_t len, struct qh_buf *out)
{
	struct ssh *s = tech_arg(t);

	if (!s->want_pty) {
		if (p != NULL && qh_buf_put(out, p, len) != 0)
			qh_warn("input of %zu bytes dropped", len);
		return;
	}
	if (tech_escape_filter(&s->esc, p, len, out)) {
		tech_input_flush(t);
		tech_stderr(t, "\r\nqh-console: detached (the session stays open)\r\n");
		tech_finish(t, QH_EXIT_OK);
	}
}

/* The recording. */

/* Moves what the thread recorded to our side, as far as rec_out has room. */
static void
rec_take(struct ssh *s)
{
	size_t n;

	uv_mutex_lock(&s->mu);
	n = qh_buf_len(&s->rec);
	if (n > qh_buf_room(&s->rec_out))
		n = qh_buf_room(&s->rec_out);
	if (n > 0) {
		(void)qh_buf_put(&s->rec_out, qh_buf_ptr(&s->rec), n);
		(void)qh_buf_consume(&s->rec, n);
	}
	uv_mutex_unlock(&s->mu);
}

/*
 * Sends the recorded output as far as the record channel's window takes
 * it (on_writable comes back for the rest). Until the channel is open it
 * waits in the two bounded buffers; once the recording is gone it is
 * dropped.
 */
static void
rec_flush(struct ssh *s)
{
	ssize_t w;

	for (;;) {
		rec_take(s);
		if (s->rec_state == REC_GONE) {
			qh_buf_reset(&s->rec_out);
			return;
		}
		if (s->rec_state != REC_OPEN || qh_buf_len(&s->rec_out) == 0)
			return;
		w = qh_chan_write(s->rec_ch, 0, qh_buf_ptr(&s->rec_out),
		    qh_buf_len(&s->rec_out));
		if (w <= 0)
			return;
		(void)qh_buf_consume(&s->rec_out, (size_t)w);
	}
}

/* Sends MSG RESIZE on the record channel, after the output before it. */
static void
rec_resize(struct ssh *s, unsigned rows, unsigned cols)
{
	struct qh_buf b;

	if (s->rec_state != REC_OPEN || (rows == s->rec_rows && cols == s->rec_cols))
		return;
	rec_flush(s);
	s->rec_rows = rows;
	s->rec_cols = cols;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_RESIZE) == 0 &&
	    qh_msg_put_u32(&b, QH_K_ROWS, rows) == 0 &&
	    qh_msg_put_u32(&b, QH_K_COLS, cols) == 0)
		(void)qh_chan_send_msg(s->rec_ch, &b);
	qh_buf_release(&b);
}

static void
rec_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct ssh *s = qh_chan_arg(ch);
	char *text = NULL;

	if (err != 0) {
		s->rec_ch = NULL; /* the mux frees it */
		s->rec_state = REC_GONE;
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tech_say(s->t, "the console cannot record the ssh session: %s",
		    text != NULL ? text : "refused");
		free(text);
		tech_finish(s->t, QH_EXIT_FAIL);
		return;
	}
	s->rec_state = REC_OPEN;
	rec_resize(s, s->rows, s->cols);
	rec_flush(s);
	maybe_end(s);
}

static void
rec_on_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len); /* the console sends nothing here */
}

static void
rec_on_close(struct qh_chan *ch)
{
	struct ssh *s = qh_chan_arg(ch);

	s->rec_ch = NULL;
	if (s->rec_state == REC_OPEN && !s->done_seen)
		tech_say(s->t, "the console stopped recording the ssh session");
	s->rec_state = REC_GONE;
	maybe_end(s);
}

static void
rec_on_writable(struct qh_chan *ch)
{
	struct ssh *s = qh_chan_arg(ch);

	rec_flush(s);
	maybe_end(s);
}

static const struct qh_chan_ops rec_ops = {
	.on_open_result = rec_open_result,
	.on_data = rec_on_data,
	.on_close = rec_on_close,
	.on_writable = rec_on_writable,
};

/* REQUEST{record}: the console keeps what the client decrypts (DESIGN §3). */
static void
rec_open(struct ssh *s)
{
	struct qh_buf req;

	qh_buf_init(&req, 2048);
	s->rec_rows = s->rows;
	s->rec_cols = s->cols;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) == 0 &&
	    qh_msg_put_str(&req, QH_K_CMD, "record") == 0 &&
	    qh_msg_put_str(&req, QH_K_CODE, s->code) == 0 &&
	    qh_msg_put_str(&req, QH_K_KIND, "ssh") == 0 &&
	    qh_msg_put_u32(&req, QH_K_ROWS, s->rows) == 0 &&
	    qh_msg_put_u32(&req, QH_K_COLS, s->cols) == 0 &&
	    qh_msg_put_str(&req, QH_K_TERM, s->term) == 0 &&
	    qh_msg_put_str(&req, QH_K_TARGET, s->userhost) == 0 &&
	    (s->rec_ch = tech_open_channel(s->t, &req, &rec_ops, s)) != NULL)
		s->rec_state = REC_OPENING;
	else {
		s->rec_state = REC_GONE;
		tech_say(s->t, "cannot ask the console to record the ssh session");
		tech_finish(s->t, QH_EXIT_FAIL);
	}
	qh_buf_release(&req);
}

/* Ends the record channel: EOF, then CLOSE. */
static void
rec_close(struct ssh *s)
{
	if (s->rec_ch != NULL) {
		(void)qh_chan_eof(s->rec_ch);
		qh_chan_close(s->rec_ch);
		s->rec_ch = NULL;
	}
	s->rec_state = REC_GONE;
}

/* Phases and the end. */

/* The technician's terminal has a new size: tell the server and the recording. */
static void
size_changed(struct ssh *s)
{
	uv_tty_t *tty = tech_stdin_tty(s->t);
	int w, hgt;

	if (tty == NULL || uv_tty_get_winsize(tty, &w, &hgt) != 0 || w <= 0 || hgt <= 0 ||
	    w > 1000 || hgt > 1000)
		return;
	uv_mutex_lock(&s->mu);
	if ((unsigned)w != s->cols || (unsigned)hgt != s->rows) {
		s->cols = (unsigned)w;
		s->rows = (unsigned)hgt;
		s->resize = 1;
	}
	uv_mutex_unlock(&s->mu);
	ssh_wake_thread(s);
	rec_resize(s, (unsigned)hgt, (unsigned)w);
}

static void
on_winch(uv_signal_t *h, int signum QH_UNUSED)
{
	size_changed(h->data);
}

/* The shell or command runs: the terminal, the recording, input. */
static void
on_running(struct ssh *s)
{
	struct tech *t = s->t;
	int r;

	s->running_seen = 1;
	if ((r = tech_stdin_open(t)) != 0)
		qh_debug("standard input: %s", qh_strerror(r));
	if (s->want_pty && tech_stdin_tty(t) != NULL) {
		if ((r = tech_set_raw(t)) != 0)
			qh_warn("cannot put the terminal into raw mode: %s",
			    qh_strerror(r));
		if (uv_signal_init(tech_loop(t), &s->winch) == 0) {
			s->winch_open = 1;
			s->winch.data = s;
			(void)uv_signal_start(&s->winch, on_winch, SIGWINCH);
			uv_unref((uv_handle_t *)&s->winch);
		}
		size_changed(s); /* in case it changed meanwhile */
	}
	if (s->interactive)
		rec_open(s);
	tech_input_resume(t);
}

/* Gives up on the recording's tail. */
static void
on_drain_timeout(uv_timer_t *h)
{
	struct ssh *s = h->data;

	tech_say(s->t, "the end of the recording could not be sent");
	rec_close(s);
	maybe_end(s);
}

/*
 * Once the thread is done and the recording sent, closes the record
 * channel and ends the command with the thread's status.
 */
static void
maybe_end(struct ssh *s)
{
	int pending;

	if (!s->done_seen)
		return;
	uv_mutex_lock(&s->mu);
	pending = qh_buf_len(&s->rec) > 0;
	uv_mutex_unlock(&s->mu);
	if (s->rec_state == REC_OPENING ||
	    (s->rec_state == REC_OPEN && (pending || qh_buf_len(&s->rec_out) > 0))) {
		if (s->drain_open && !uv_is_active((uv_handle_t *)&s->drain))
			uv_timer_start(&s->drain, on_drain_timeout, SSH_DRAIN_MS, 0);
		return;
	}
	rec_close(s);
	tech_finish(s->t, s->end_status);
}

/* The thread finished: report its failure, or the end of the connection. */
static void
on_done(struct ssh *s, int status, const char *err)
{
	uint64_t dropped;

	s->done_seen = 1;
	if (!s->thread_joined) {
		uv_thread_join(&s->thread); /* it returns right after saying so */
		s->thread_joined = 1;
	}
	s->end_status = status;
	uv_mutex_lock(&s->mu);
	dropped = s->rec_dropped;
	uv_mutex_unlock(&s->mu);
	if (dropped > 0)
		tech_say(s->t, "warning: %llu bytes of terminal output were not recorded",
		    (unsigned long long)dropped);
	if (err[0] != '\0')
		tech_say(s->t, "%s", err);
	else if (s->want_pty)
		tech_say(s->t, "connection to %s closed", s->userhost);
	rec_flush(s);
	maybe_end(s);
}

/* The thread has news: phases, room for input, output to record. */
static void
on_async(uv_async_t *h)
{
	struct ssh *s = h->data;
	char err[SSH_ERR_MAX];
	enum ssh_phase phase;
	uint64_t dropped;
	int resume, status, running;

	uv_mutex_lock(&s->mu);
	phase = s->phase;
	running = s->running;
	status = s->status;
	snprintf(err, sizeof(err), "%s", s->err);
	resume = s->in_resume;
	s->in_resume = 0;
	dropped = s->rec_dropped;
	uv_mutex_unlock(&s->mu);

	/* Also when it is over already: the recording still gets its output. */
	if (running && !s->running_seen)
		on_running(s);
	if (resume)
		tech_input_resume(s->t);
	if (dropped > 0 && s->rec_warned == 0) {
		tech_say(s->t,
		    "warning: terminal output is not recorded while the console "
		    "does not keep up");
		s->rec_warned = dropped;
	}
	rec_flush(s);
	if (phase == SSH_DONE && !s->done_seen)
		on_done(s, status, err);
}

/* The command's tech_ops. */

/* The console opened the dial: start the client thread on the socketpair. */
static void
ssh_on_open(struct tech *t)
{
	struct ssh *s = tech_arg(t);
	int r;

	qh_debug("dial to %s open", s->target);
	if ((r = uv_thread_create(&s->thread, ssh_client_main, s)) != 0) {
		tech_say(t, "cannot start the SSH client: %s", uv_strerror(r));
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	s->thread_started = 1; /* s->sock is the thread's now */
	if (uv_read_start((uv_stream_t *)&s->a, up_alloc, up_read) == 0)
		s->a_reading = 1;
}

/* The dial channel closed: the thread sees EOF and ends; its end is ours. */
static int
ssh_on_end(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	s->down_eof = 1;
	down_maybe_shutdown(s);
	if (!s->thread_started)
		return QH_EXIT_FAIL;
	return TECH_PENDING;
}

/* Ending, for whatever reason: stop the thread, close our handles. */
static void
ssh_on_stop(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	ssh_thread_stop(s);
	if (s->rec_state == REC_OPEN)
		rec_flush(s);
	rec_close(s);
	if (s->async_open) {
		s->async_open = 0;
		uv_close((uv_handle_t *)&s->async, NULL);
	}
	if (s->winch_open) {
		s->winch_open = 0;
		uv_close((uv_handle_t *)&s->winch, NULL);
	}
	if (s->drain_open) {
		s->drain_open = 0;
		uv_close((uv_handle_t *)&s->drain, NULL);
	}
	/* The client's blocking calls end when its socket reads EOF. */
	if (s->a_open) {
		s->a_open = 0;
		uv_close((uv_handle_t *)&s->a, NULL);
	}
}

const struct tech_ops ssh_tech_ops = {
	.on_open = ssh_on_open,
	.on_end = ssh_on_end,
	.on_stop = ssh_on_stop,
	.on_input = ssh_on_input,
	.on_data = ssh_on_data,
	.on_eof = ssh_on_eof,
	.on_writable = ssh_on_writable,
	.in_write = ssh_in_write,
};

int
ssh_bridge_setup(struct ssh *s)
{
	uv_loop_t *loop = tech_loop(s->t);
	int r;

	if ((r = uv_pipe_init(loop, &s->a, 0)) != 0)
		return qh_err_from_uv(r);
	s->a.data = s;
	s->a_open = 1;
	if ((r = uv_pipe_open(&s->a, s->a_fd)) != 0)
		return qh_err_from_uv(r);
	s->a_fd = -1;
	if ((r = uv_async_init(loop, &s->async, on_async)) != 0)
		return qh_err_from_uv(r);
	s->async.data = s;
	s->async_open = 1;
	s->loop_alive = 1;
	if ((r = uv_timer_init(loop, &s->drain)) != 0)
		return qh_err_from_uv(r);
	s->drain.data = s;
	s->drain_open = 1;
	return 0;
}
