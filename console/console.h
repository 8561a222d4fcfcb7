/*
 * qh-console's main part: the command table (main.c) and what runs around
 * every command (dispatch.c).
 */
#ifndef QH_CONSOLE_H
#define QH_CONSOLE_H

#include "qh/cli.h"

/* What every command needs around it, from its entry (dispatch.c). */
extern const struct qh_cli_hooks console_hooks;

#endif
