/*
 * What the desk's commands share: their desk, the ticket number, and the
 * one way an answer reaches stdout.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qh/deskview.h"
#include "qh/err.h"
#include "desk_int.h"

struct qh_desk *
deskcmd_of(const struct qh_cli *c)
{
	return c->ctx;
}

int
deskcmd_ticket_number(struct qh_cli *c, int64_t *id)
{
	long long v;

	if (qh_parse_int(c->argv[0], 1, INT64_MAX, &v) != 0)
		return qh_cli_usage(c, "N is a ticket number");
	*id = v;
	return 0;
}

int
deskcmd_failed(struct qh_cli *c, const struct qh_desk *d)
{
	if (d->why[0] == '\0')
		return QH_EXIT_FAIL;
	return qh_cli_fail(c, "%s", d->why);
}

int
deskcmd_print(struct qh_cli *c, enum qh_desk_cmd cmd, const struct qh_buf *answer)
{
	size_t n = qh_buf_len(answer);
	int r;

	if (qh_cli_flag(c, "json")) {
		/* Ours, from the JSON builder here or on the console: exact. */
		if ((n > 0 && fwrite(qh_buf_ptr(answer), 1, n, stdout) != n) ||
		    putchar('\n') == EOF || fflush(stdout) != 0)
			return qh_cli_fail(c, "stdout: write failed");
		return QH_EXIT_OK;
	}
	if ((r = qh_deskview_print(stdout, cmd,
		 n > 0 ? (const void *)qh_buf_ptr(answer) : (const void *)"", n)) ==
	    QH_ERR_FORMAT)
		return qh_cli_fail(c, "the console's answer is not what was asked for");
	if (r != 0)
		return qh_cli_fail(c, "stdout: write failed");
	return QH_EXIT_OK;
}

int
deskcmd_request(struct qh_cli *c, const struct qh_desk_req *req)
{
	struct qh_desk *d = deskcmd_of(c);
	struct qh_buf answer;
	int status;

	qh_buf_init(&answer, DESK_ANSWER_MAX);
	if (d->call(d, req, &answer) != 0)
		status = deskcmd_failed(c, d);
	else
		status = deskcmd_print(c, req->cmd, &answer);
	qh_buf_release(&answer);
	return status;
}
