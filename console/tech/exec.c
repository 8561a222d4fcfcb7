/*
 * qh-console exec: runs a command on the customer's PC without a shell.
 * Local stdin goes to the command, its stdout and stderr come back to ours,
 * and its exit status (or 128 + the signal that killed it) becomes ours.
 */
#include <stdint.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define EXEC_ARG_MAX 32768 /* QH_K_ARG's bound on the wire */

struct exec_state {
	int got_exit; /* MSG EXIT arrived */
	int status;   /* its exit status */
};

static void
exec_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct exec_state *x = tech_arg(t);

	if (m->type == QH_MSG_EXIT && tech_exit_status(m, &x->status) == 0)
		x->got_exit = 1;
}

static int
exec_on_end(struct tech *t)
{
	struct exec_state *x = tech_arg(t);

	if (!x->got_exit) {
		tech_say(t, "remote command ended without an exit status");
		return QH_EXIT_FAIL;
	}
	return x->status;
}

static const struct tech_ops exec_ops = {
	.on_msg = exec_on_msg,
	.on_end = exec_on_end,
};

static int
cmd_exec(struct qh_cli *c)
{
	struct exec_state x = { 0, 0 };
	char code[TECH_CODE_LEN + 1];
	struct tech *t = NULL;
	struct qh_buf req, argv;
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	int status, r;

	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	qh_buf_init(&argv, EXEC_ARG_MAX);
	qh_buf_init(&req, EXEC_ARG_MAX + 1024);
	if ((r = qh_argv_pack(&argv, c->argc - 1, c->argv + 1)) != 0) {
		status = qh_cli_usage(c, "the command line is too long");
		goto out;
	}
	if ((status = tech_new(c, &exec_ops, &x, &t)) != 0)
		goto out;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "exec") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, code) != 0 ||
	    qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&argv), qh_buf_len(&argv)) != 0 ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	if ((r = tech_stdin_open(t)) != 0) {
		status = qh_cli_fail(c, "cannot read standard input: %s", qh_strerror(r));
		goto out;
	}
	status = tech_run(t, &req);
out:
	tech_free(t);
	qh_buf_release(&req);
	qh_buf_release(&argv);
	return status;
}

const struct qh_cli_cmd cmd_exec_entry = {
	.name = "exec",
	.usage = "CODE [--allow-overdraft] [--tech FILE] -- CMD [ARG...]",
	.summary = "run a command on the customer's PC; its exit status becomes ours",
	.min_args = 2,
	.max_args = -1,
	.opts = { QH_OPT("tech"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_exec,
};
