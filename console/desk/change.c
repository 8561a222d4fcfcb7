/*
 * qh-console ticket need / assign / confirm / close: the desk's changes
 * to a ticket that carry no files. need asks the customer for what is
 * missing (the ticket waits for them and its due clock pauses), assign
 * gives the ticket to one of the staff, confirm picks a proposed
 * appointment, close ends the ticket with a note the customer reads.
 */
#include <stdio.h>
#include <string.h>

#include "qh/desk.h"
#include "qh/wire.h"
#include "desk.h"
#include "desk_int.h"

/* Copies --NAME's text into req->text: required, UTF-8, at most 4096 bytes. */
static int
text_option(struct qh_cli *c, const char *name, struct qh_desk_req *req)
{
	const char *s = qh_cli_opt(c, name);
	char why[96];

	if (s == NULL || *s == '\0' || strlen(s) > QH_DESK_TEXT_MAX ||
	    !qh_utf8_valid((const uint8_t *)s, strlen(s))) {
		snprintf(why, sizeof(why),
		    "--%s TEXT is required (UTF-8, at most %d bytes)", name,
		    QH_DESK_TEXT_MAX);
		return qh_cli_usage(c, why);
	}
	memcpy(req->text, s, strlen(s) + 1);
	return 0;
}

static int
cmd_ticket_need(struct qh_cli *c)
{
	struct qh_desk_req req;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_NEED;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0 ||
	    (status = text_option(c, "text", &req)) != 0)
		return status;
	return deskcmd_request(c, &req);
}

static int
cmd_ticket_assign(struct qh_cli *c)
{
	struct qh_desk_req req;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_ASSIGN;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0)
		return status;
	if (strlen(c->argv[1]) >= sizeof(req.login))
		return qh_cli_usage(c, "LOGIN is a technician's login");
	snprintf(req.login, sizeof(req.login), "%s", c->argv[1]);
	if (qh_desk_req_check(&req, NULL, 0) != 0)
		return qh_cli_usage(c, "LOGIN is a technician's login");
	return deskcmd_request(c, &req);
}

static int
cmd_ticket_confirm(struct qh_cli *c)
{
	const char *slot = qh_cli_opt(c, "slot");
	struct qh_desk_req req;
	long long k;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_CONFIRM;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0)
		return status;
	if (slot == NULL || qh_parse_int(slot, 1, QH_TICKET_SLOTS_MAX, &k) != 0)
		return qh_cli_usage(c,
		    "--slot K names a proposed appointment: 1, 2, ...");
	req.slot = (int)k;
	return deskcmd_request(c, &req);
}

static int
cmd_ticket_close(struct qh_cli *c)
{
	struct qh_desk_req req;
	int status;

	memset(&req, 0, sizeof(req));
	req.cmd = QH_DESK_CLOSE;
	if ((status = deskcmd_ticket_number(c, &req.id)) != 0 ||
	    (status = text_option(c, "note", &req)) != 0)
		return status;
	return deskcmd_request(c, &req);
}

const struct qh_cli_cmd cmd_ticket_need_entry = {
	.name = "ticket need",
	.usage = "N --text TEXT [--json] [--state DIR | --tech FILE]",
	.summary = "ask the customer for what is missing; the ticket waits for them "
		   "and its due time pauses",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("text"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_WRITE,
	.exec = cmd_ticket_need,
};

const struct qh_cli_cmd cmd_ticket_assign_entry = {
	.name = "ticket assign",
	.usage = "N LOGIN [--json] [--state DIR | --tech FILE]",
	.summary = "give a ticket to one of the staff",
	.min_args = 2,
	.max_args = 2,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_WRITE,
	.exec = cmd_ticket_assign,
};

const struct qh_cli_cmd cmd_ticket_confirm_entry = {
	.name = "ticket confirm",
	.usage = "N --slot K [--json] [--state DIR | --tech FILE]",
	.summary = "confirm the K-th proposed appointment of a ticket",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("slot"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_WRITE,
	.exec = cmd_ticket_confirm,
};

const struct qh_cli_cmd cmd_ticket_close_entry = {
	.name = "ticket close",
	.usage = "N --note TEXT [--json] [--state DIR | --tech FILE]",
	.summary = "close a ticket with a note the customer reads",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("note"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_WRITE,
	.exec = cmd_ticket_close,
};
