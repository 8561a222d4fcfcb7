/*
 * Technicians watching the queue (qh-console web): "watch" requests and
 * the snapshots they get (docs/protocol.md).
 */
#ifndef QH_DAEMON_WATCH_H
#define QH_DAEMON_WATCH_H

#include "qh/buf.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "server.h"

/*
 * "watch": ch stays open and gets the snapshot (one JSON line) now and
 * after every change, until either side closes it.
 */
void watch_request(struct server *srv, struct qh_chan *ch, const struct qh_msg *m);

/*
 * Something a watcher sees may have changed (an entry came or went, a
 * session opened or closed, a technician attached, a balance moved): the
 * watchers get the new snapshot on the next loop turn if it differs.
 */
void watch_changed(struct server *srv);

/* Before the loop: build writes the snapshot (the queue's JSON line). */
void
watch_init(struct server *srv, void (*build)(struct server *srv, struct qh_buf *out));
/* With the server: the watchers' channels close. After the loop: free. */
void watch_stop(struct server *srv);
void watch_free(struct server *srv);

#endif
