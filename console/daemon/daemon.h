/*
 * The daemon: `qh-console serve` and what runs inside it. It owns the
 * connections of agents and technicians, the queue of waiting agents, the
 * sessions and their meter, the relays of technician commands, recordings,
 * notifications, joins and ticket uploads, all on one libuv loop. It builds
 * on the store for everything in the database and may use libqh, libuv and
 * (for mail) libcurl; docs/architecture.md draws the inside.
 *
 * This is the daemon's one public header: its command entry.
 */
#ifndef QH_DAEMON_H
#define QH_DAEMON_H

#include "qh/cli.h"

extern const struct qh_cli_cmd cmd_serve_entry;

#endif
