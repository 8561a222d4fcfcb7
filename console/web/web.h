/*
 * qh-console web: the console in the browser, served from the technician's
 * or accountant's own workstation with their bundle (see README.md in this
 * folder). It may use the technician part (its lasting connection to the
 * console, tech.h), libqh, libuv and libwebsockets; never the store or the
 * daemon: what the pages show comes from the console over TLS, as for
 * every technician command.
 *
 * This is the web part's public header: its command entry.
 */
#ifndef QH_WEB_H
#define QH_WEB_H

#include "qh/cli.h"

extern const struct qh_cli_cmd cmd_web_entry;

#endif
