/*
 * qh-console's main part: the command table (main.c), what runs around
 * every command (dispatch.c) and the commands that choose their part by
 * their arguments (route.c).
 */
#ifndef QH_CONSOLE_H
#define QH_CONSOLE_H

#include "qh/cli.h"

/* What every command needs around it, from its entry (dispatch.c). */
extern const struct qh_cli_hooks console_hooks;

/*
 * For a command whose needs depend on how it is called (route.c): opens
 * the store as needs says, runs fn and closes the store again, as the
 * hooks do around an entry. Returns fn's exit status, or the failure's.
 */
int console_with_store(struct qh_cli *c, unsigned needs, int (*fn)(struct qh_cli *c));

/* Commands whose part depends on their arguments (route.c). */
extern const struct qh_cli_cmd cmd_tech_renew_entry;

/* statement (statement.c): made here from the store's data, or from the console's. */
extern const struct qh_cli_cmd cmd_statement_entry;

/* statement with a bundle: the data over TLS, rendered here. Returns an exit status. */
int console_statement_remote(struct qh_cli *c);

#endif
