/*
 * qh-console tickets and ticket show: the support tickets by due time, and
 * one ticket with its conversation, environment, attachments, proposed
 * appointments and linked sessions. Both only read; over TLS the console
 * answers from its database, so they work while serve runs either way.
 */
#include <string.h>

#include <stdio.h>

#include "qh/desk.h"
#include "desk.h"
#include "desk_int.h"

static int
cmd_tickets(struct qh_cli *c)
{
	const char *customer = qh_cli_opt(c, "customer");
	struct qh_desk_req req;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_LIST;
	if (customer != NULL &&
	    (strlen(customer) >= sizeof(req.customer) || *customer == '\0'))
		return qh_cli_usage(c, "--customer takes a customer ID");
	if (customer != NULL)
		snprintf(req.customer, sizeof(req.customer), "%s", customer);
	if (qh_cli_flag(c, "open"))
		req.flags |= QH_DESK_OPEN_ONLY;
	if (qh_desk_req_check(&req, NULL, 0) != 0)
		return qh_cli_usage(c, "--customer takes a customer ID");
	return deskcmd_request(c, &req);
}

static int
cmd_ticket_show(struct qh_cli *c)
{
	struct qh_desk_req req;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_SHOW;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0)
		return status;
	return deskcmd_request(c, &req);
}

const struct qh_cli_cmd cmd_tickets_entry = {
	.name = "tickets",
	.usage = "[--open] [--customer ID] [--json] [--state DIR | --tech FILE]",
	.summary = "list support tickets by due time with their status and owner; "
		   "overdue ones are marked",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("open"), QH_OPT("customer"),
	    QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_READ,
	.exec = cmd_tickets,
};

const struct qh_cli_cmd cmd_ticket_show_entry = {
	.name = "ticket show",
	.usage = "N [--json] [--state DIR | --tech FILE]",
	.summary = "show a ticket: the conversation, environment, steps, attachments, "
		   "proposals, status and due time",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_READ,
	.exec = cmd_ticket_show,
};
