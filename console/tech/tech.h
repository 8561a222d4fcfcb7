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
 * The ticket desk over TLS (desk.c): d answers the ticket commands by
 * asking the console with the technician's bundle that c names (--tech,
 * $QH_TECH or the default place; qh/desk.h). The bundle is loaded for each
 * request. Returns 0, or QH_EXIT_FAIL after one line on stderr; close with
 * tech_desk_close.
 */
int tech_desk_open(const struct qh_cli *c, struct qh_desk *d);
void tech_desk_close(struct qh_desk *d);

#endif
