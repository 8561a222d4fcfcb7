/*
 * qh-console: the command table. Each entry names a command of the contract
 * in DESIGN §5, its options and the function that runs it.
 */
#include <signal.h>
#include <stdlib.h>

#include "qh/cli.h"
#include "qh/log.h"
#include "console.h"

#define STATE_OPT                                                                        \
	{                                                                                \
		"state", 0, 1, 0                                                         \
	}
#define TECH_OPT                                                                         \
	{                                                                                \
		"tech", 0, 1, 0                                                          \
	}
#define JSON_OPT                                                                         \
	{                                                                                \
		"json", 0, 0, 0                                                          \
	}

static const struct qh_cli_cmd commands[] = {
	{
	    .name = "init",
	    .usage = "--state DIR --name HOSTNAME [--listen ADDR:PORT]",
	    .summary =
		"create a new console state: CA, server certificate, config, database",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "name", 0, 1, 0 }, { "listen", 0, 1, 0 } },
	    .exec = cmd_init,
	},
	{
	    .name = "serve",
	    .usage = "--state DIR [--listen ADDR:PORT] [--log-level LEVEL]",
	    .summary = "run the console daemon: accept agents and technicians",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "listen", 0, 1, 0 }, { "log-level", 0, 1, 0 } },
	    .exec = cmd_serve,
	},
	{
	    .name = "tech add",
	    .usage = "LOGIN --name NAME --out FILE [--role technician|accounting]",
	    .summary = "issue a technician or accounting bundle (certificate, key, CA)",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "name", 0, 1, 0 }, { "out", 0, 1, 0 },
		{ "role", 0, 1, 0 } },
	    .exec = cmd_tech_add,
	},
	{
	    .name = "tech revoke",
	    .usage = "LOGIN",
	    .summary = "revoke a technician's certificates",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT },
	    .exec = cmd_tech_revoke,
	},
	{
	    .name = "customer add",
	    .usage = "ID --name NAME [--plan premium|free] [--warn-units N] "
		     "[--overdraft-units N]",
	    .summary = "add a customer",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "name", 0, 1, 0 }, { "plan", 0, 1, 0 },
		{ "warn-units", 0, 1, 0 }, { "overdraft-units", 0, 1, 0 } },
	    .exec = cmd_customer_add,
	},
	{
	    .name = "customer list",
	    .usage = "[--json]",
	    .summary = "list customers",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, JSON_OPT },
	    .exec = cmd_customer_list,
	},
	{
	    .name = "enroll",
	    .usage = "ID",
	    .summary = "print a one-time join token for a new PC of customer ID",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT },
	    .exec = cmd_enroll,
	},
	{
	    .name = "agents",
	    .usage = "[--customer ID] [--json]",
	    .summary = "list enrolled agents (one per PC) with last seen and expiry",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "customer", 0, 1, 0 }, JSON_OPT },
	    .exec = cmd_agents,
	},
	{
	    .name = "agent revoke",
	    .usage = "ID",
	    .summary = "revoke an agent; it is refused at its next connect",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT },
	    .exec = cmd_agent_revoke,
	},
	{
	    .name = "credit",
	    .usage = "ID (--hours H | --units U | --installations N) --ref REF "
		     "[--price-cents C]",
	    .summary =
		"book a purchase of prepaid units or installations (idempotent on REF)",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "hours", 0, 1, 0 }, { "units", 0, 1, 0 },
		{ "installations", 0, 1, 0 }, { "ref", 0, 1, 0 },
		{ "price-cents", 0, 1, 0 } },
	    .exec = cmd_credit,
	},
	{
	    .name = "correct",
	    .usage = "ENTRY_ID --units U --reason TEXT",
	    .summary =
		"book a correction of a ledger entry (U signed: positive gives back)",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "units", 0, 1, 0 }, { "reason", 0, 1, 0 } },
	    .exec = cmd_correct,
	},
	{
	    .name = "balance",
	    .usage = "ID [--json]",
	    .summary =
		"show a customer's units, installations, running and available units",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, JSON_OPT },
	    .exec = cmd_balance,
	},
	{
	    .name = "ledger",
	    .usage = "[--customer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
		     "[--format csv|jsonl]",
	    .summary =
		"export ledger entries (dates in the business time zone, --to inclusive)",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "customer", 0, 1, 0 }, { "from", 0, 1, 0 },
		{ "to", 0, 1, 0 }, { "format", 0, 1, 0 } },
	    .exec = cmd_ledger,
	},
	{
	    .name = "revenue",
	    .usage = "--month YYYY-MM [--json]",
	    .summary =
		"units debited, recognised and deferred revenue of a month (FIFO lots)",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "month", 0, 1, 0 }, JSON_OPT },
	    .exec = cmd_revenue,
	},
	{
	    .name = "verify",
	    .usage = "",
	    .summary = "check the hash chain, balances, session debits and lots",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT },
	    .exec = cmd_verify,
	},
	{
	    .name = "tickets",
	    .usage = "[--open] [--customer ID] [--json]",
	    .summary = "list support tickets by due time; overdue ones are marked",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "open", 0, 0, 0 }, { "customer", 0, 1, 0 }, JSON_OPT },
	    .exec = cmd_tickets,
	},
	{
	    .name = "ticket show",
	    .usage = "N [--json]",
	    .summary =
		"show a ticket: environment, steps, attachments, proposals, due time",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, JSON_OPT },
	    .exec = cmd_ticket_show,
	},
	{
	    .name = "ticket get",
	    .usage = "N ATTACHMENT OUT",
	    .summary =
		"copy a ticket's attachment (by file name) to a new file OUT, verified",
	    .min_args = 3,
	    .max_args = 3,
	    .opts = { STATE_OPT },
	    .exec = cmd_ticket_get,
	},
	{
	    .name = "ticket confirm",
	    .usage = "N --slot K",
	    .summary = "confirm the K-th proposed appointment of an installation ticket",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "slot", 0, 1, 0 } },
	    .exec = cmd_ticket_confirm,
	},
	{
	    .name = "ticket close",
	    .usage = "N --note TEXT",
	    .summary = "close a ticket with a note",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { STATE_OPT, { "note", 0, 1, 0 } },
	    .exec = cmd_ticket_close,
	},
	{
	    .name = "queue",
	    .usage = "[--json] [--tech FILE]",
	    .summary = "list the agents waiting for a technician",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { TECH_OPT, JSON_OPT },
	    .exec = cmd_queue,
	},
	{
	    .name = "attach",
	    .usage =
		"CODE [--kind support|installation] [--ticket N] [--allow-overdraft] "
		"[--tech FILE]",
	    .summary = "open a shell on the customer's PC (~. detaches)",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { TECH_OPT, { "kind", 0, 1, 0 }, { "ticket", 0, 1, 0 },
		{ "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_attach,
	},
	{
	    .name = "exec",
	    .usage = "CODE [--allow-overdraft] [--tech FILE] -- CMD [ARG...]",
	    .summary = "run a command on the customer's PC; its exit status becomes ours",
	    .min_args = 2,
	    .max_args = -1,
	    .opts = { TECH_OPT, { "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_exec,
	},
	{
	    .name = "forward",
	    .usage = "CODE [BIND:]LPORT:HOST:PORT [--allow-overdraft] [--tech FILE]",
	    .summary = "forward a local port to HOST:PORT as the customer's PC sees it",
	    .min_args = 2,
	    .max_args = 2,
	    .opts = { TECH_OPT, { "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_forward,
	},
	{
	    .name = "push",
	    .usage = "CODE LOCAL REMOTE [--force] [--allow-overdraft] [--tech FILE]",
	    .summary = "copy a file to the customer's PC (SHA-256 checked)",
	    .min_args = 3,
	    .max_args = 3,
	    .opts = { TECH_OPT, { "force", 0, 0, 0 }, { "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_push,
	},
	{
	    .name = "pull",
	    .usage = "CODE REMOTE LOCAL [--force] [--allow-overdraft] [--tech FILE]",
	    .summary = "copy a file from the customer's PC (SHA-256 checked)",
	    .min_args = 3,
	    .max_args = 3,
	    .opts = { TECH_OPT, { "force", 0, 0, 0 }, { "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_pull,
	},
	{
	    .name = "info",
	    .usage = "CODE [--json] [--allow-overdraft] [--tech FILE]",
	    .summary =
		"show the customer's workstation: system, CPU, memory, disks, network",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { TECH_OPT, JSON_OPT, { "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_info,
	},
	{
	    .name = "end",
	    .usage = "CODE [--note TEXT] [--tech FILE]",
	    .summary = "close a session; it is debited and the summary printed",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { TECH_OPT, { "note", 0, 1, 0 } },
	    .exec = cmd_end,
	},
	{
	    .name = "ssh",
	    .usage =
		"CODE [-p PORT] [-i KEY] USER@HOST [--allow-overdraft] [--tech FILE] "
		"[-- CMD...]",
	    .summary = "an SSH session through the agent to a server the customer's PC "
		       "reaches (~. detaches)",
	    .min_args = 2,
	    .max_args = -1,
	    .opts = { TECH_OPT, { "port", 'p', 1, 0 }, { "identity", 'i', 1, 0 },
		{ "allow-overdraft", 0, 0, 0 } },
	    .exec = cmd_ssh,
	},
	{
	    .name = "sessions",
	    .usage = "[--customer ID] [--json]",
	    .summary = "list sessions with their audit log and recordings",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { STATE_OPT, { "customer", 0, 1, 0 }, JSON_OPT },
	    .exec = cmd_sessions,
	},
	{ .name = NULL },
};

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1;

	qh_log_init("qh-console", level < 0 ? QH_LOG_INFO : (enum qh_log_level)level);
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	return qh_cli_main("qh-console", commands, NULL, argc, argv);
}
