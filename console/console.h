/*
 * qh-console: the handlers of its commands, for the table in main.c.
 */
#ifndef QH_CONSOLE_H
#define QH_CONSOLE_H

#include "qh/cli.h"

/* Command handlers (one file per command group). */
int cmd_init(struct qh_cli *c);
int cmd_tech_add(struct qh_cli *c);
int cmd_tech_revoke(struct qh_cli *c);
int cmd_serve(struct qh_cli *c);
int cmd_customer_add(struct qh_cli *c);
int cmd_customer_list(struct qh_cli *c);
int cmd_enroll(struct qh_cli *c);
int cmd_agents(struct qh_cli *c);
int cmd_agent_revoke(struct qh_cli *c);
int cmd_queue(struct qh_cli *c);
int cmd_attach(struct qh_cli *c);
int cmd_exec(struct qh_cli *c);
int cmd_forward(struct qh_cli *c);
int cmd_push(struct qh_cli *c);
int cmd_pull(struct qh_cli *c);
int cmd_info(struct qh_cli *c);
int cmd_ssh(struct qh_cli *c);
int cmd_sessions(struct qh_cli *c);
int cmd_end(struct qh_cli *c);
int cmd_credit(struct qh_cli *c);
int cmd_correct(struct qh_cli *c);
int cmd_balance(struct qh_cli *c);
int cmd_ledger(struct qh_cli *c);
int cmd_revenue(struct qh_cli *c);
int cmd_verify(struct qh_cli *c);
int cmd_tickets(struct qh_cli *c);
int cmd_ticket_show(struct qh_cli *c);
int cmd_ticket_get(struct qh_cli *c);
int cmd_ticket_confirm(struct qh_cli *c);
int cmd_ticket_close(struct qh_cli *c);

#endif
