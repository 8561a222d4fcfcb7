/*
 * The technician's part: qh-console's commands that work through the
 * console over mutually authenticated TLS with the technician's bundle
 * (queue, attach, exec, forward, push, pull, info, end, ssh, desktop), and
 * replay of desktop recordings. It may use libqh, libuv, libssh2 and
 * OpenSSL, never SQLite: what a technician sees comes from the console,
 * not from a database.
 *
 * This is the technician part's public header: its command entries.
 */
#ifndef QH_TECH_H
#define QH_TECH_H

#include "qh/cli.h"

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

#endif
