/*
 * The accounting reports over TLS (tech.h): the command line as the user
 * gave it, without --tech, goes to the console as REQUEST{cmd="account",
 * arg}; the report's stdout and stderr come back as DATA and EXTDATA and
 * its exit status as MSG EXIT, as exec's do.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define ACCOUNT_REQ_MAX 32768 /* QH_K_ARG's bound on the wire */
#define ACCOUNT_WORDS	64

struct account_state {
	int got_exit;
	int status;
	struct qh_buf *capture; /* NULL: stdout */
	int overflow;
};

static void
account_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct account_state *x = tech_arg(t);

	if (m->type == QH_MSG_EXIT && tech_exit_status(m, &x->status) == 0)
		x->got_exit = 1;
}

static int
account_on_end(struct tech *t)
{
	struct account_state *x = tech_arg(t);

	if (!x->got_exit) {
		tech_say(t, "the report ended without an exit status");
		return QH_EXIT_FAIL;
	}
	return x->status;
}

static const struct tech_ops account_ops = {
	.on_msg = account_on_msg,
	.on_end = account_on_end,
};

/* The report's stdout into the capture buffer; its stderr to ours. */
static void
capture_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct account_state *x = tech_arg(t);

	if (ext)
		(void)fwrite(p, 1, len, stderr);
	else if (qh_buf_put(x->capture, p, len) != 0)
		x->overflow = 1;
	tech_consume(t, len);
}

static const struct tech_ops capture_ops = {
	.on_msg = account_on_msg,
	.on_end = account_on_end,
	.on_data = capture_on_data,
};

int
tech_account_capture(struct qh_cli *c, int n, char **words, struct qh_buf *out)
{
	struct account_state x = { 0, 0, out, 0 };
	struct tech *t = NULL;
	struct qh_buf req, argv;
	int status;

	qh_buf_init(&argv, ACCOUNT_REQ_MAX);
	qh_buf_init(&req, ACCOUNT_REQ_MAX + 1024);
	if (qh_argv_pack(&argv, n, words) != 0) {
		status = qh_cli_usage(c, "the command line is too long");
		goto out;
	}
	if ((status = tech_new(c, &capture_ops, &x, &t)) != 0)
		goto out;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "account") != 0 ||
	    qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&argv), qh_buf_len(&argv)) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(t, &req);
	if (status == QH_EXIT_OK && x.overflow)
		status = qh_cli_fail(c, "the console's answer is too large");
out:
	tech_free(t);
	qh_buf_release(&req);
	qh_buf_release(&argv);
	return status;
}

/* Packs name and c's arguments and options but --tech, --state and --out into argv. */
static int
account_pack(const struct qh_cli *c, const char *name, struct qh_buf *argv)
{
	char names[QH_CLI_MAX_OPTS][48];
	char *w[ACCOUNT_WORDS];
	const struct qh_cli_opt *o;
	int n = 0, i, k;

	if (c->argc + 1 > ACCOUNT_WORDS)
		return QH_ERR_TOO_LARGE;
	w[n++] = (char *)name;
	for (i = 0; i < c->argc; i++)
		w[n++] = c->argv[i];
	for (i = 0; i < QH_CLI_MAX_OPTS && c->cmd->opts[i].name != NULL; i++) {
		o = &c->cmd->opts[i];
		if (strcmp(o->name, "tech") == 0 || strcmp(o->name, "state") == 0 ||
		    strcmp(o->name, "out") == 0 || c->count[i] == 0)
			continue;
		snprintf(names[i], sizeof(names[i]), "--%s", o->name);
		for (k = 0; k < (o->repeat ? c->count[i] : 1); k++) {
			if (n + 2 > ACCOUNT_WORDS)
				return QH_ERR_TOO_LARGE;
			w[n++] = names[i];
			if (o->has_arg)
				w[n++] = (char *)(o->repeat ? c->rep[i][k] : c->val[i]);
		}
	}
	return qh_argv_pack(argv, n, w);
}

int
tech_account(struct qh_cli *c, const char *name)
{
	struct account_state x = { 0, 0, NULL, 0 };
	struct tech *t = NULL;
	struct qh_buf req, argv;
	int status;

	qh_buf_init(&argv, ACCOUNT_REQ_MAX);
	qh_buf_init(&req, ACCOUNT_REQ_MAX + 1024);
	if (account_pack(c, name, &argv) != 0) {
		status = qh_cli_usage(c, "the command line is too long");
		goto out;
	}
	if ((status = tech_new(c, &account_ops, &x, &t)) != 0)
		goto out;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "account") != 0 ||
	    qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&argv), qh_buf_len(&argv)) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(t, &req);
out:
	tech_free(t);
	qh_buf_release(&req);
	qh_buf_release(&argv);
	return status;
}
