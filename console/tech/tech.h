/*
 * The technician's part: qh-console's commands that work through the
 * console over mutually authenticated TLS with the technician's bundle
 * (queue, attach, exec, forward, push, pull, info, end, ssh, desktop), the
 * ticket desk over TLS for the ticket commands (console/desk), and replay
 * of desktop recordings. It may use libqh, libuv, libssh2 and
 * OpenSSL, never SQLite: what a technician sees comes from the console,
 * not from a database.
 *
 * This is the technician part's public header: its command entries.
 */
#ifndef QH_TECH_H
#define QH_TECH_H

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/desk.h"

extern const struct qh_cli_cmd cmd_queue_entry;
extern const struct qh_cli_cmd cmd_attach_entry;
extern const struct qh_cli_cmd cmd_exec_entry;
extern const struct qh_cli_cmd cmd_forward_entry;
extern const struct qh_cli_cmd cmd_push_entry;
extern const struct qh_cli_cmd cmd_pull_entry;
extern const struct qh_cli_cmd cmd_info_entry;
extern const struct qh_cli_cmd cmd_end_entry;
extern const struct qh_cli_cmd cmd_ssh_entry;
extern const struct qh_cli_cmd cmd_desktop_entry;
extern const struct qh_cli_cmd cmd_replay_entry;

/*
 * qh-console tech renew --out FILE with a technician's or accountant's
 * bundle (--tech FILE, $QH_TECH or the default place): a new key and
 * certificate from the console over the bundle's own connection, written
 * as a new bundle to FILE, which must not exist unless it is the bundle in
 * use (then it is replaced in one step). Returns an exit status.
 */
int tech_renew_self(struct qh_cli *c);

/*
 * An accounting report over TLS with the bundle (--tech FILE, $QH_TECH or
 * the default place): sends the report name and c's arguments and options
 * (but --tech, --state, --out) as REQUEST{cmd="account"}; the report's
 * output goes to stdout and stderr and its exit status is returned.
 */
int tech_account(struct qh_cli *c, const char *name);

/*
 * As tech_account, with the words given (name first) and the report's
 * stdout appended to out (its bound is the answer's) instead of printed.
 */
int tech_account_capture(struct qh_cli *c, int n, char **words, struct qh_buf *out);

/* The default bundle's path (~/.config/quarterhour/tech.conf); 0 or QH_ERR_*. */
int tech_default_bundle(char *out, size_t len);

/*
 * The ticket desk over TLS (desk.c): d answers the ticket commands by
 * asking the console with the technician's bundle that c names (--tech,
 * $QH_TECH or the default place; qh/desk.h). The bundle is loaded for each
 * request. Returns 0, or QH_EXIT_FAIL after one line on stderr; close with
 * tech_desk_close.
 */
int tech_desk_open(const struct qh_cli *c, struct qh_desk *d);
void tech_desk_close(struct qh_desk *d);

#endif
