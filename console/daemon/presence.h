/*
 * What the daemon knows of connecting peers without asking the database
 * each time: verdicts on certificates and identities (revoked or current)
 * cached per certificate while PRAGMA data_version stays the same, so a
 * revocation committed by another process is seen by the very next
 * connect and by peer_recheck; whether an agent's join token is spent;
 * and agents' last_seen, written in batches.
 */
#ifndef QH_DAEMON_PRESENCE_H
#define QH_DAEMON_PRESENCE_H

#include "qh/pki.h"
#include "server.h"

/* Sets up srv->presence. Returns 0 or QH_ERR_NOMEM. */
int presence_init(struct server *srv);

/* Writes the last_seen records still pending and frees srv->presence. */
void presence_stop(struct server *srv);

/*
 * 1 if the peer's certificate and identity are current in the database:
 * an agent enrolled and not revoked, a technician or accountant known in
 * that role and not revoked, and the certificate's serial on record for
 * it and not revoked. Fills name with a technician's display name.
 * Cached per certificate until the database changes.
 */
int presence_current(struct server *srv, const struct qh_identity *id, char *name,
    size_t namelen);

/*
 * Drops every cached verdict: for the daemon's own writes that change
 * them (a renewal retiring older certificates), which PRAGMA
 * data_version does not show to the connection that made them.
 */
void presence_forget(struct server *srv);

/*
 * Spends the agent's join token at its first connection (db_token_spend),
 * asking the database only until the token is known spent. Returns 1 if a
 * token was spent now, 0 if none was left, <0 on a database error.
 */
int presence_token_spend(struct server *srv, const struct qh_identity *id);

/*
 * Notes that agent_id connected now from host: written at once when the
 * host is not the one on record, else with the next batch, within a few
 * seconds.
 */
void presence_seen(struct server *srv, const char *agent_id, const char *host);

#endif
