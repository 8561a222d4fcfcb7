/*
 * qh-console queue: the agents waiting for a technician, as the console
 * sees them. The console formats the listing itself: a table for people
 * (REQUEST flag TECH_FLAG_HUMAN), shown through the display filter since
 * host names come from the PCs, or, with --json, a JSON array printed
 * exactly as it arrives; this side parses nothing.
 */
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

static int
cmd_queue(struct qh_cli *c)
{
	struct qh_buf req;
	uint32_t flags = qh_cli_flag(c, "json") ? 0 : TECH_FLAG_HUMAN;
	int status;

	qh_buf_init(&req, 1024);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "queue");
	(void)qh_msg_put_u32(&req, QH_K_FLAGS, flags);
	status = tech_request(c, &req, qh_cli_flag(c, "json"));
	qh_buf_release(&req);
	return status;
}

const struct qh_cli_cmd cmd_queue_entry = {
	.name = "queue",
	.usage = "[--json] [--tech FILE]",
	.summary = "list the agents waiting for a technician",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("tech"), QH_FLAG("json") },
	.needs = QH_CLI_TECH,
	.exec = cmd_queue,
};
