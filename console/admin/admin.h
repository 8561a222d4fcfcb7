/*
 * What the admin commands share: the acting login for the ledger and the
 * database opened for writing.
 */
#ifndef QH_ADMIN_H
#define QH_ADMIN_H

#include <stddef.h>

#include "qh/cli.h"
#include "store/store.h"

/* The acting login for the ledger's actor column: $QH_ACTOR, else the effective user. */
const char *console_actor(char *buf, size_t len);

/* Opens the state's database for writing (migrated); prints why not and returns 1. */
int console_db_write(struct qh_cli *c, sqlite3 **dbp);

#endif
