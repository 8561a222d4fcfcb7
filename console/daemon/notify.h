/*
 * R5 notifications through notify_command, retried until delivered. Runs
 * on the serve loop; a debit never waits for a delivery.
 */
#ifndef QH_DAEMON_NOTIFY_H
#define QH_DAEMON_NOTIFY_H

#include "server.h"

/* Delivers the notifications not yet delivered, one at a time. */
void notify_kick(struct server *srv);

/* Stops retrying (shutdown); a delivery in flight finishes on its own. */
void notify_stop(struct server *srv);

#endif
