/*
 * Connected peers: every TLS connection the listener accepts, limited
 * while it has not authenticated (per address, in all, in time), checked
 * against the database once its certificate is verified, at every channel
 * it opens and on peer_recheck (revoked technicians, agents and
 * certificates are refused), with the messages and requests each role may
 * send dispatched from tables.
 */
#ifndef QH_DAEMON_PEER_H
#define QH_DAEMON_PEER_H

#include "server.h"

/*
 * Accepts one connection from the listener; logs and drops it when it
 * finds no place or no memory (the listener keeps polling either way).
 */
void peer_accept(struct server *srv, uv_stream_t *listener);

/*
 * Checks every authenticated peer against the database again (another
 * process changed it: a revocation, say). A revoked technician's
 * connection closes, which ends its relays; a revoked agent's session
 * closes with reason revoked, its entry leaves the queue and its
 * connection closes.
 */
void peer_recheck(struct server *srv);

/* Closes every connection (shutdown). */
void peer_close_all(struct server *srv);

#endif
