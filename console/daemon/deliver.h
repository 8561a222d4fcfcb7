/*
 * The outbox's sender (deliver.c): takes the messages the store queued
 * with their events (store.h, "outbox"), one at a time per channel,
 * renders a mail and sends it over SMTP, or hands an R5 document to
 * notify_command, and records each attempt; failures are retried with a
 * growing wait, forever for a server that does not answer, and given up
 * after a few permanent refusals. It also queues staff's warnings about
 * tickets near or past their due time, and prunes what was sent 90 days
 * ago. Runs on the serve loop; nothing that causes a message waits for it.
 */
#ifndef QH_DAEMON_DELIVER_H
#define QH_DAEMON_DELIVER_H

#include "server.h"

/* Starts the sender: every queued message is tried once now (a restart). */
int deliver_start(struct server *srv);

/* Looks for messages due now (an event was just committed). */
void deliver_kick(struct server *srv);

/* Stops (shutdown): sends in flight are cut short and recorded as not sent. */
void deliver_stop(void);

/* Releases libcurl once the loop has ended (every send has reported). */
void deliver_end(void);

#endif
