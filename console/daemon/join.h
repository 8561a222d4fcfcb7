/*
 * Enrolment on the console's side: the one message a peer without a
 * certificate may send (DESIGN §3), on the serve loop.
 */
#ifndef QH_DAEMON_JOIN_H
#define QH_DAEMON_JOIN_H

#include "qh/mux.h"
#include "qh/wire.h"
#include "server.h"

/*
 * A JOIN from mux: answers JOIN_OK with a new agent certificate, or an
 * ERROR, and closes the connection; repeated failures from an address are
 * answered later. Returns <0 only when the connection should close at once.
 */
int join_handle(struct server *srv, struct qh_mux *mux, const struct qh_msg *m);

/* The connection is gone: a delayed answer to it is dropped. */
void join_peer_gone(struct qh_mux *mux);

#endif
