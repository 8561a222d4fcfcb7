/*
 * qh-console attach: an interactive login shell on the customer's PC.
 *
 * With a terminal on stdin it goes into raw mode for the shell's lifetime,
 * sends the window size with the request and again on every SIGWINCH.
 * Escapes work like ssh's, at the start of a line: "~." detaches (the
 * session stays open), "~~" sends one "~", a "~" before anything else is
 * sent with it. The shell's exit ends the attach with the shell's status.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define DEFAULT_ROWS 24
#define DEFAULT_COLS 80

struct attach_state {
	char pretty[TECH_CODE_LEN + 2]; /* "482 913" */
	uv_signal_t winch;
	int winch_open;		/* winch initialised */
	int rows, cols;		/* the size the shell knows */
	int got_exit;		/* MSG EXIT arrived */
	int status;		/* its exit status */
	struct tech_escape esc; /* "~." and friends */
};

/* Sends the terminal's size when it changed. */
static void
send_size(struct tech *t, struct attach_state *a)
{
	uv_tty_t *tty = tech_stdin_tty(t);
	struct qh_chan *ch = tech_chan(t);
	struct qh_buf b;
	int w, h;

	if (tty == NULL || ch == NULL || uv_tty_get_winsize(tty, &w, &h) != 0 || w <= 0 ||
	    h <= 0 || (w == a->cols && h == a->rows))
		return;
	a->rows = h;
	a->cols = w;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_RESIZE) == 0 &&
	    qh_msg_put_u32(&b, QH_K_ROWS, (uint32_t)h) == 0 &&
	    qh_msg_put_u32(&b, QH_K_COLS, (uint32_t)w) == 0)
		(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
}

static void
on_winch(uv_signal_t *h, int signum QH_UNUSED)
{
	struct tech *t = h->data;

	send_size(t, tech_arg(t));
}

static void
attach_on_open(struct tech *t)
{
	struct attach_state *a = tech_arg(t);
	int r;

	tech_say(t, "attached to %s (~. to detach)", a->pretty);
	if (tech_stdin_tty(t) == NULL)
		return;
	if ((r = tech_set_raw(t)) != 0)
		qh_warn("cannot put the terminal into raw mode: %s", qh_strerror(r));
	if (uv_signal_init(tech_loop(t), &a->winch) == 0) {
		a->winch_open = 1;
		a->winch.data = t;
		(void)uv_signal_start(&a->winch, on_winch, SIGWINCH);
		uv_unref((uv_handle_t *)&a->winch);
	}
	send_size(t, a); /* in case it changed while we connected */
}

/* The escape filter (tech_escape_filter): "~." detaches, the session stays open. */
static void
attach_on_input(struct tech *t, const uint8_t *p, size_t len, struct qh_buf *out)
{
	struct attach_state *a = tech_arg(t);

	if (tech_escape_filter(&a->esc, p, len, out)) {
		tech_input_flush(t); /* what came before it */
		tech_stderr(t, "\r\nqh-console: detached (the session stays open)\r\n");
		tech_finish(t, QH_EXIT_OK);
	}
}

static void
attach_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct attach_state *a = tech_arg(t);

	if (m->type == QH_MSG_EXIT && tech_exit_status(m, &a->status) == 0)
		a->got_exit = 1;
}

static int
attach_on_end(struct tech *t)
{
	struct attach_state *a = tech_arg(t);

	if (!a->got_exit) {
		tech_say(t, "the remote shell ended without an exit status");
		return QH_EXIT_FAIL;
	}
	tech_stderr(t, "\r\nqh-console: shell exited\r\n");
	return a->status;
}

static void
attach_on_stop(struct tech *t)
{
	struct attach_state *a = tech_arg(t);

	if (a->winch_open) {
		a->winch_open = 0;
		uv_close((uv_handle_t *)&a->winch, NULL);
	}
}

static const struct tech_ops attach_ops = {
	.on_open = attach_on_open,
	.on_msg = attach_on_msg,
	.on_end = attach_on_end,
	.on_stop = attach_on_stop,
	.on_input = attach_on_input,
};

static int
cmd_attach(struct qh_cli *c)
{
	struct attach_state a;
	const char *kind = qh_cli_opt(c, "kind"), *ticket = qh_cli_opt(c, "ticket");
	const char *shell = qh_cli_opt(c, "shell");
	char code[TECH_CODE_LEN + 1], *shellv[1];
	struct tech *t = NULL;
	struct qh_buf req, sh;
	uv_tty_t *tty;
	long long id = 0;
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	int status, r, w, h;

	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	if (kind == NULL)
		kind = "support";
	else if (strcmp(kind, "support") != 0 && strcmp(kind, "installation") != 0)
		return qh_cli_usage(c, "--kind is support or installation");
	if (ticket != NULL && qh_parse_int(ticket, 1, INT64_MAX, &id) != 0)
		return qh_cli_usage(c, "--ticket wants a ticket number");
	if (shell != NULL &&
	    (shell[0] == '\0' || strlen(shell) > 32 ||
		strspn(shell, "abcdefghijklmnopqrstuvwxyz") != strlen(shell)))
		return qh_cli_usage(c,
		    "--shell names a shell: powershell or cmd (Windows)");

	memset(&a, 0, sizeof(a));
	tech_code_pretty(code, a.pretty);
	a.rows = DEFAULT_ROWS;
	a.cols = DEFAULT_COLS;
	tech_escape_init(&a.esc);
	qh_buf_init(&req, 1024);
	qh_buf_init(&sh, 64);
	shellv[0] = (char *)shell;
	if (shell != NULL && qh_argv_pack(&sh, 1, shellv) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	if ((status = tech_new(c, &attach_ops, &a, &t)) != 0)
		goto out;
	if ((r = tech_stdin_open(t)) != 0) {
		status = qh_cli_fail(c, "cannot read standard input: %s", qh_strerror(r));
		goto out;
	}
	if ((tty = tech_stdin_tty(t)) != NULL && uv_tty_get_winsize(tty, &w, &h) == 0 &&
	    w > 0 && h > 0) {
		a.rows = h;
		a.cols = w;
	}
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "attach") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, code) != 0 ||
	    qh_msg_put_u32(&req, QH_K_ROWS, (uint32_t)a.rows) != 0 ||
	    qh_msg_put_u32(&req, QH_K_COLS, (uint32_t)a.cols) != 0 ||
	    qh_msg_put_str(&req, QH_K_TERM, tech_term_name()) != 0 ||
	    qh_msg_put_str(&req, QH_K_KIND, kind) != 0 ||
	    (ticket != NULL && qh_msg_put_u64(&req, QH_K_ID, (uint64_t)id) != 0) ||
	    (shell != NULL &&
		qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&sh), qh_buf_len(&sh)) != 0) ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(t, &req);
out:
	tech_free(t); /* gives the terminal back on every path */
	qh_buf_release(&req);
	qh_buf_release(&sh);
	return status;
}

const struct qh_cli_cmd cmd_attach_entry = {
	.name = "attach",
	.usage = "CODE [--kind support|installation] [--ticket N] [--shell NAME] "
		 "[--allow-overdraft] [--tech FILE]",
	.summary = "open a shell on the customer's PC (~. detaches); --shell powershell "
		   "on Windows",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("tech"), QH_OPT("kind"), QH_OPT("ticket"), QH_OPT("shell"),
	    QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_attach,
};
