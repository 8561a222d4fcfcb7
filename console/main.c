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
#include "desk/desk.h"
#include "tech/tech.h"
#include "web/web.h"

static const struct qh_cli_cmd *const commands[] = {
	&cmd_init_entry,
	&cmd_serve_entry,
	&cmd_tech_add_entry,
	&cmd_tech_revoke_entry,
	&cmd_tech_list_entry,
	&cmd_tech_renew_entry,
	&cmd_cert_renew_entry,
	&cmd_customer_add_entry,
	&cmd_customer_list_entry,
	&cmd_customer_set_entry,
	&cmd_customer_show_entry,
	&cmd_customer_disable_entry,
	&cmd_customer_enable_entry,
	&cmd_enroll_entry,
	&cmd_agent_package_entry,
	&cmd_agents_entry,
	&cmd_agent_revoke_entry,
	&cmd_credit_entry,
	&cmd_correct_entry,
	&cmd_balance_entry,
	&cmd_balances_entry,
	&cmd_ledger_entry,
	&cmd_revenue_entry,
	&cmd_verify_entry,
	&cmd_tickets_entry,
	&cmd_ticket_show_entry,
	&cmd_ticket_get_entry,
	&cmd_ticket_reply_entry,
	&cmd_ticket_need_entry,
	&cmd_ticket_assign_entry,
	&cmd_ticket_confirm_entry,
	&cmd_ticket_close_entry,
	&cmd_outbox_entry,
	&cmd_queue_entry,
	&cmd_attach_entry,
	&cmd_exec_entry,
	&cmd_forward_entry,
	&cmd_push_entry,
	&cmd_pull_entry,
	&cmd_info_entry,
	&cmd_end_entry,
	&cmd_ssh_entry,
	&cmd_desktop_entry,
	&cmd_replay_entry,
	&cmd_web_entry,
	&cmd_sessions_entry,
	&cmd_statement_entry,
	&cmd_backup_entry,
	&cmd_restore_entry,
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
