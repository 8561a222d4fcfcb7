/*
 * qh-console: the command table. Each entry names a command of the contract
 * in DESIGN §5, its options and the function that runs it.
 */
#include <signal.h>
#include <stdlib.h>

#include "qh/cli.h"
#include "qh/log.h"
#include "admin/admin.h"
#include "console.h"
#include "daemon/daemon.h"

static const struct qh_cli_cmd *const commands[] = {
	&cmd_init_entry,
	&cmd_serve_entry,
	&cmd_tech_add_entry,
	&cmd_tech_revoke_entry,
	&cmd_customer_add_entry,
	&cmd_customer_list_entry,
	&cmd_enroll_entry,
	&cmd_agents_entry,
	&cmd_agent_revoke_entry,
	&cmd_credit_entry,
	&cmd_correct_entry,
	&cmd_balance_entry,
	&cmd_ledger_entry,
	&cmd_revenue_entry,
	&cmd_verify_entry,
	&cmd_tickets_entry,
	&cmd_ticket_show_entry,
	&cmd_ticket_get_entry,
	&cmd_ticket_confirm_entry,
	&cmd_ticket_close_entry,
	&(const struct qh_cli_cmd){
	    .name = "queue",
	    .usage = "[--json] [--tech FILE]",
	    .summary = "list the agents waiting for a technician",
	    .min_args = 0,
	    .max_args = 0,
	    .opts = { QH_OPT("tech"), QH_FLAG("json") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_queue,
	},
	&(const struct qh_cli_cmd){
	    .name = "attach",
	    .usage =
		"CODE [--kind support|installation] [--ticket N] [--allow-overdraft] "
		"[--tech FILE]",
	    .summary = "open a shell on the customer's PC (~. detaches)",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { QH_OPT("tech"), QH_OPT("kind"), QH_OPT("ticket"),
		QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_attach,
	},
	&(const struct qh_cli_cmd){
	    .name = "exec",
	    .usage = "CODE [--allow-overdraft] [--tech FILE] -- CMD [ARG...]",
	    .summary = "run a command on the customer's PC; its exit status becomes ours",
	    .min_args = 2,
	    .max_args = -1,
	    .opts = { QH_OPT("tech"), QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_exec,
	},
	&(const struct qh_cli_cmd){
	    .name = "forward",
	    .usage = "CODE [BIND:]LPORT:HOST:PORT [--allow-overdraft] [--tech FILE]",
	    .summary = "forward a local port to HOST:PORT as the customer's PC sees it",
	    .min_args = 2,
	    .max_args = 2,
	    .opts = { QH_OPT("tech"), QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_forward,
	},
	&(const struct qh_cli_cmd){
	    .name = "push",
	    .usage = "CODE LOCAL REMOTE [--force] [--allow-overdraft] [--tech FILE]",
	    .summary = "copy a file to the customer's PC (SHA-256 checked)",
	    .min_args = 3,
	    .max_args = 3,
	    .opts = { QH_OPT("tech"), QH_FLAG("force"), QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_push,
	},
	&(const struct qh_cli_cmd){
	    .name = "pull",
	    .usage = "CODE REMOTE LOCAL [--force] [--allow-overdraft] [--tech FILE]",
	    .summary = "copy a file from the customer's PC (SHA-256 checked)",
	    .min_args = 3,
	    .max_args = 3,
	    .opts = { QH_OPT("tech"), QH_FLAG("force"), QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_pull,
	},
	&(const struct qh_cli_cmd){
	    .name = "info",
	    .usage = "CODE [--json] [--allow-overdraft] [--tech FILE]",
	    .summary =
		"show the customer's workstation: system, CPU, memory, disks, network",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { QH_OPT("tech"), QH_FLAG("json"), QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_info,
	},
	&(const struct qh_cli_cmd){
	    .name = "end",
	    .usage = "CODE [--note TEXT] [--tech FILE]",
	    .summary = "close a session; it is debited and the summary printed",
	    .min_args = 1,
	    .max_args = 1,
	    .opts = { QH_OPT("tech"), QH_OPT("note") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_end,
	},
	&(const struct qh_cli_cmd){
	    .name = "ssh",
	    .usage =
		"CODE [-p PORT] [-i KEY] USER@HOST [--allow-overdraft] [--tech FILE] "
		"[-- CMD...]",
	    .summary = "an SSH session through the agent to a server the customer's PC "
		       "reaches (~. detaches)",
	    .min_args = 2,
	    .max_args = -1,
	    .opts = { QH_OPT("tech"), { "port", 'p', 1, 0 }, { "identity", 'i', 1, 0 },
		QH_FLAG("allow-overdraft") },
	    .needs = QH_CLI_TECH,
	    .exec = cmd_ssh,
	},
	&cmd_sessions_entry,
	NULL,
};

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1;

	qh_log_init("qh-console", level < 0 ? QH_LOG_INFO : (enum qh_log_level)level);
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	return qh_cli_main("qh-console", commands, NULL, &console_hooks, argc, argv);
}
