/*
 * qh-console: the handlers of its commands, for the table in main.c.
 */
#ifndef QH_CONSOLE_H
#define QH_CONSOLE_H

#include "qh/cli.h"

/* What every command needs around it, from its entry (dispatch.c). */
extern const struct qh_cli_hooks console_hooks;

/* The technician commands, until their files export entries. */
int cmd_queue(struct qh_cli *c);
int cmd_attach(struct qh_cli *c);
int cmd_exec(struct qh_cli *c);
int cmd_forward(struct qh_cli *c);
int cmd_push(struct qh_cli *c);
int cmd_pull(struct qh_cli *c);
int cmd_info(struct qh_cli *c);
int cmd_ssh(struct qh_cli *c);
int cmd_end(struct qh_cli *c);

#endif
