/*
 * Accounting over TLS (account.h). The daemon never formats a report
 * itself: it checks the request word by word against the table below,
 * rebuilds the command line from what it accepted, and runs this program
 * (uv_exepath) as `qh-console CMD WORDS... --state DIR`, which opens the
 * database read-only in one read transaction (the entries' QH_CLI_DB_READ)
 * and cannot write; so a long export does not stall the serve loop. The
 * child's stdout and stderr go to the channel as the window allows: while
 * it is full, reading the pipe stops (a bounded pending buffer per stream).
 * A channel that closes early ends its child.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/log.h"
#include "account.h"
#include "account_words.h"
#include "queue.h"

/* One running report. */
struct account {
	struct server *srv;
	struct qh_chan *ch; /* NULL once the channel is gone */
	uv_process_t proc;
	uv_timer_t limit;	  /* ends a report that runs past ACCOUNT_LIMIT_MS */
	uv_pipe_t out[2];	  /* the child's stdout and stderr */
	struct qh_buf pending[2]; /* read but not yet taken by the channel */
	int eof[2];		  /* the pipe is at its end */
	int exited, status;
	int open_handles;
	char what[64]; /* for logs: "ledger" */
};

static int account_running; /* children alive, in all */

static void
account_freed(uv_handle_t *h)
{
	struct account *a = h->data;

	if (--a->open_handles > 0)
		return;
	qh_buf_release(&a->pending[0]);
	qh_buf_release(&a->pending[1]);
	free(a);
}

/* Sends the exit status, EOF and closes once the child and its output are done. */
static void
account_finish(struct account *a)
{
	struct qh_buf b;

	if (!a->exited || !a->eof[0] || !a->eof[1] || qh_buf_len(&a->pending[0]) > 0 ||
	    qh_buf_len(&a->pending[1]) > 0 || a->ch == NULL)
		return;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
	    qh_msg_put_u32(&b, QH_K_STATUS, (uint32_t)a->status) == 0)
		(void)qh_chan_send_msg(a->ch, &b);
	qh_buf_release(&b);
	(void)qh_chan_eof(a->ch);
	qh_chan_set_arg(a->ch, NULL);
	qh_chan_close(a->ch);
	a->ch = NULL;
}

static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);

/* Hands what is pending to the channel; reads again when all of it went. */
static void
account_flush(struct account *a)
{
	int i, held = 0;
	ssize_t w;

	for (i = 0; i < 2; i++) {
		struct qh_buf *p = &a->pending[i];

		if (a->ch != NULL && qh_buf_len(p) > 0) {
			w = qh_chan_write(a->ch, i, qh_buf_ptr(p), qh_buf_len(p));
			if (w > 0)
				qh_buf_consume(p, (size_t)w);
		}
		if (a->ch == NULL)
			qh_buf_reset(p);
		held |= qh_buf_len(p) > 0;
	}
	for (i = 0; i < 2; i++)
		if (!a->eof[i] && !uv_is_closing((uv_handle_t *)&a->out[i])) {
			if (held)
				uv_read_stop((uv_stream_t *)&a->out[i]);
			else
				uv_read_start((uv_stream_t *)&a->out[i], on_alloc,
				    on_pipe_read);
		}
	account_finish(a);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char space[ACCOUNT_PENDING_MAX];

	(void)h;
	(void)hint;
	*buf = uv_buf_init(space, sizeof(space));
}

static void
on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct account *a = s->data;
	int i = s == (uv_stream_t *)&a->out[0] ? 0 : 1;

	if (n < 0) {
		a->eof[i] = 1;
		uv_close((uv_handle_t *)s, account_freed);
		account_flush(a);
		return;
	}
	if (n > 0 && a->ch != NULL &&
	    qh_buf_put(&a->pending[i], buf->base, (size_t)n) != 0) {
		/* Cannot happen: reading stops while anything is pending. */
		qh_buf_reset(&a->pending[i]);
	}
	account_flush(a);
}

static void
on_child_exit(uv_process_t *proc, int64_t status, int sig)
{
	struct account *a = proc->data;

	a->exited = 1;
	a->status = sig != 0 ? 128 + sig : (int)status;
	account_running--;
	uv_timer_stop(&a->limit);
	uv_close((uv_handle_t *)&a->limit, account_freed);
	qh_debug("account: %s ended with status %d", a->what, a->status);
	uv_close((uv_handle_t *)proc, account_freed);
	account_finish(a);
}

static void
on_limit(uv_timer_t *t)
{
	struct account *a = t->data;

	qh_warn("account: %s ran past %d s; ending it", a->what, ACCOUNT_LIMIT_MS / 1000);
	(void)uv_process_kill(&a->proc, SIGKILL);
}

static void
account_on_writable(struct qh_chan *ch)
{
	struct account *a = qh_chan_arg(ch);

	if (a != NULL)
		account_flush(a);
}

static void
account_on_close(struct qh_chan *ch)
{
	struct account *a = qh_chan_arg(ch);

	if (a == NULL)
		return;
	a->ch = NULL;
	if (!a->exited)
		(void)uv_process_kill(&a->proc, SIGTERM);
	account_flush(a);
}

static const struct qh_chan_ops account_ops = {
	.on_close = account_on_close,
	.on_writable = account_on_writable,
};

/* Pipes go after their EOF; their handles close with the account. */
static void
account_pipes_close(struct account *a)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!uv_is_closing((uv_handle_t *)&a->out[i]))
			uv_close((uv_handle_t *)&a->out[i], account_freed);
}

static void
refuse(struct qh_chan *ch, const char *code, const char *text)
{
	qh_warn("peer %s: report refused: %s", qh_mux_name(qh_chan_mux(ch)), text);
	qh_chan_refuse(ch, code, text);
}

void
account_request(struct server *srv, const struct qh_identity *id, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct account_plan plan;
	const uint8_t *p;
	size_t len, exelen;
	char **words = NULL, exe[4096], text[256];
	const char *args[ACCOUNT_WORDS_MAX + 8], *why;
	int nwords = 0, n = 0, i, r;
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	struct account *a;

	if (qh_msg_get(m, QH_K_ARG, &p, &len) != 0 ||
	    qh_argv_unpack(p, len, &words, &nwords) != 0) {
		refuse(ch, "usage", "a report request names its report");
		goto out;
	}
	if ((why = account_check(words, nwords, &plan)) != NULL) {
		snprintf(text, sizeof(text), "%s%s%s", plan.name != NULL ? plan.name : "",
		    plan.name != NULL ? ": " : "", why);
		refuse(ch, "usage", text);
		goto out;
	}
	if (id->role == QH_ROLE_TECHNICIAN) {
		if (!plan.technician) {
			refuse(ch, "forbidden",
			    "only an accounting certificate reads the ledger and the "
			    "reports; a technician's reads the balance of a customer "
			    "with an agent waiting or in session");
			goto out;
		}
		if (!queue_has_customer(srv, plan.out[0])) {
			snprintf(text, sizeof(text),
			    "a technician reads the balance only of a customer with an "
			    "agent waiting or in session; %s has none",
			    plan.out[0]);
			refuse(ch, "forbidden", text);
			goto out;
		}
	} else if (id->role != QH_ROLE_ACCOUNTING) {
		refuse(ch, "forbidden", "not allowed for this certificate's role");
		goto out;
	}
	if (account_running >= ACCOUNT_CHILDREN_MAX) {
		refuse(ch, "busy", "the console is busy with other reports; try again");
		goto out;
	}
	exelen = sizeof(exe);
	if ((r = uv_exepath(exe, &exelen)) != 0) {
		refuse(ch, "internal", "the console cannot find its own program");
		goto out;
	}
	args[n++] = exe;
	args[n++] = plan.name;
	for (i = 0; i < plan.nout; i++)
		args[n++] = plan.out[i];
	args[n++] = "--state";
	args[n++] = srv->state_dir;
	args[n] = NULL;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		refuse(ch, "internal", "out of memory");
		goto out;
	}
	a->srv = srv;
	snprintf(a->what, sizeof(a->what), "%s", plan.name);
	for (i = 0; i < 2; i++) {
		qh_buf_init(&a->pending[i], ACCOUNT_PENDING_MAX);
		uv_pipe_init(srv->loop, &a->out[i], 0);
		a->out[i].data = a;
	}
	a->proc.data = a;
	uv_timer_init(srv->loop, &a->limit);
	a->limit.data = a;
	a->open_handles = 4;
	memset(&o, 0, sizeof(o));
	io[0].flags = UV_IGNORE;
	for (i = 0; i < 2; i++) {
		io[i + 1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		io[i + 1].data.stream = (uv_stream_t *)&a->out[i];
	}
	o.file = exe;
	o.args = (char **)args;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = on_child_exit;
	if ((r = uv_spawn(srv->loop, &a->proc, &o)) != 0) {
		qh_warn("account: cannot run %s: %s", exe, uv_strerror(r));
		qh_chan_refuse(ch, "internal", "the console cannot run the report");
		account_pipes_close(a);
		uv_close((uv_handle_t *)&a->limit, account_freed);
		uv_close((uv_handle_t *)&a->proc, account_freed);
		goto out;
	}
	account_running++;
	uv_timer_start(&a->limit, on_limit, ACCOUNT_LIMIT_MS, 0);
	qh_info("peer %s: report %s", qh_mux_name(qh_chan_mux(ch)), plan.name);
	a->ch = ch;
	qh_chan_accept(ch, 0, &account_ops, a);
	for (i = 0; i < 2; i++)
		uv_read_start((uv_stream_t *)&a->out[i], on_alloc, on_pipe_read);
out:
	free(words);
}
