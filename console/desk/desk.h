/*
 * The ticket desk's commands: `qh-console tickets` and `ticket show / get
 * / reply / need / assign / confirm / close`. Each is written once, for
 * both ways of reaching the tickets: the console's dispatcher hands the
 * command a desk (qh/desk.h) that is either the store on this host
 * (admin/) or the console over TLS with a technician's bundle (tech/), and
 * the command builds its request, hands it over and renders the JSON
 * document that comes back (qh/deskview.h), or prints it with --json. So a
 * ticket looks the same, and --json is the same document, whichever way it
 * was read. This part uses libqh only.
 *
 * This is the desk part's public header: its command entries.
 */
#ifndef QH_DESK_CMDS_H
#define QH_DESK_CMDS_H

#include "qh/cli.h"

extern const struct qh_cli_cmd cmd_tickets_entry;
extern const struct qh_cli_cmd cmd_ticket_show_entry;
extern const struct qh_cli_cmd cmd_ticket_get_entry;
extern const struct qh_cli_cmd cmd_ticket_reply_entry;
extern const struct qh_cli_cmd cmd_ticket_need_entry;
extern const struct qh_cli_cmd cmd_ticket_assign_entry;
extern const struct qh_cli_cmd cmd_ticket_confirm_entry;
extern const struct qh_cli_cmd cmd_ticket_close_entry;

#endif
