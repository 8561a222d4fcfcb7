/*
 * qh-console ticket get N ATTACHMENT OUT: a ticket's attachment (the
 * customer's or a reply's, by its file name) copied to a new file OUT,
 * never over an existing one, checked against the size and SHA-256 on
 * record on the way (qh/fetch.h): from the store on this host, or
 * downloaded from the console.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qh/desk.h"
#include "qh/ticket.h"
#include "desk.h"
#include "desk_int.h"

static int
cmd_ticket_get(struct qh_cli *c)
{
	struct qh_desk *d = deskcmd_of(c);
	const char *out = c->argv[2];
	struct qh_desk_req req;
	struct qh_desk_got got;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_GET;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0)
		return status;
	if (!qh_ticket_name_valid(c->argv[1]))
		return qh_cli_usage(c, "ATTACHMENT is the file name 'ticket show' lists");
	snprintf(req.name, sizeof(req.name), "%s", c->argv[1]);
	if (*out == '\0')
		return qh_cli_usage(c, "OUT names the file to write");
	if (d->get(d, &req, out, &got) != 0)
		return deskcmd_failed(c, d);
	printf("%s: %" PRIu64 " bytes, sha256 %s\n", out, got.size, got.sha256);
	return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
}

const struct qh_cli_cmd cmd_ticket_get_entry = {
	.name = "ticket get",
	.usage = "N ATTACHMENT OUT [--state DIR | --tech FILE]",
	.summary =
	    "copy a ticket's attachment (by file name) to a new file OUT, verified",
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("state"), QH_OPT("tech") },
	.needs = QH_CLI_DESK | QH_CLI_DB_READ,
	.exec = cmd_ticket_get,
};
