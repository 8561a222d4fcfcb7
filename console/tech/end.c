/*
 * qh-console end: closes the session of the agent with the given code. The
 * console debits it (R4), writes --note into the ledger entry and the
 * customer's session report, keeps --internal for staff only, and answers
 * with a summary ("session 12 closed: billable time 0h 10m 00s"), which is
 * printed through the display filter.
 */
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define NOTE_MAX 4096 /* QH_K_NOTE's bound on the wire */

static int
cmd_end(struct qh_cli *c)
{
	const char *note = qh_cli_opt(c, "note");
	const char *internal = qh_cli_opt(c, "internal");
	char code[TECH_CODE_LEN + 1];
	struct qh_buf req;
	int status;

	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	if (note != NULL &&
	    (strlen(note) > NOTE_MAX ||
		!qh_utf8_valid((const uint8_t *)note, strlen(note))))
		return qh_cli_usage(c, "--note must be UTF-8 text of at most 4096 bytes");
	if (internal != NULL &&
	    (strlen(internal) > NOTE_MAX ||
		!qh_utf8_valid((const uint8_t *)internal, strlen(internal))))
		return qh_cli_usage(c,
		    "--internal must be UTF-8 text of at most 4096 bytes");

	qh_buf_init(&req, 8192);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "end");
	(void)qh_msg_put_str(&req, QH_K_CODE, code);
	if (note != NULL)
		(void)qh_msg_put_str(&req, QH_K_NOTE, note);
	if (internal != NULL)
		(void)qh_msg_put_str(&req, QH_K_INTERNAL, internal);
	if (qh_buf_error(&req) != 0)
		status = qh_cli_fail(c, "cannot build the request");
	else
		status = tech_request(c, &req, 0);
	qh_buf_release(&req);
	return status;
}

const struct qh_cli_cmd cmd_end_entry = {
	.name = "end",
	.usage = "CODE [--note TEXT] [--internal TEXT] [--tech FILE]",
	.summary = "close a session; it is debited and the summary printed",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("tech"), QH_OPT("note"), QH_OPT("internal") },
	.needs = QH_CLI_TECH,
	.exec = cmd_end,
};
