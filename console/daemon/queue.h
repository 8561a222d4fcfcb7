/*
 * The queue: every running agent is an entry known by a six-digit code
 * (R11: one entry per run, also for several agents of one customer). An
 * entry owns what happens on its PC: the open session, the technicians'
 * relays and the customer's consents. It survives its agent's disconnect
 * for the grace window; after it the session closes (agent_lost).
 */
#ifndef QH_DAEMON_QUEUE_H
#define QH_DAEMON_QUEUE_H

#include <stdint.h>

#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "relay.h"
#include "server.h"

struct entry;

/*
 * An agent's HELLO: its entry, resumed by its resume token or new. When a
 * resumed entry still had an older connection (a ghost the agent gave up
 * on), *replaced names it; the caller closes it and forgets its entry.
 * Returns NULL after refusing the agent (an unknown customer, a host name
 * that qh_display_clean refuses); its connection is closed then.
 */
struct entry *queue_hello(struct server *srv, struct qh_mux *agent,
    const struct qh_identity *id, const struct qh_msg *m, struct qh_mux **replaced);

/* The agent's connection went; its place is kept for the grace window. */
void queue_agent_gone(struct entry *e);

/* The customer answered a consent question. */
void queue_consent_reply(struct entry *e, const struct qh_msg *m);

/* The customer ended the session. */
void queue_customer_end(struct entry *e);

/*
 * The entry's agent was revoked: its session closes (reason revoked), its
 * relays end and it leaves the queue. The caller closes the agent's
 * connection, if any, and forgets the entry.
 */
void queue_revoked(struct entry *e);

/* Entries whose agent is away (grace window) and was revoked go as well. */
void queue_recheck(struct server *srv);
/*
 * If e's customer is disabled (customer disable, by another process): its
 * session closes (reason "disabled", stored as "revoked"), its agent is told why and its
 * connection closed, and e is freed. Returns 1 then, else 0.
 */
int queue_disabled(struct entry *e);

/*
 * Technician requests naming an entry by code: accept or refuse ch.
 * queue_request runs a relay kind ("exec", "attach", ...); queue_end,
 * queue_list and queue_record are "end", "queue" and "record".
 */
void queue_request(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const char *cmd, const struct qh_msg *m);
void queue_end(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const struct qh_msg *m);
/* 1 if an agent of customer waits or is in session (its entry lives). */
int queue_has_customer(struct server *srv, const char *customer);

void queue_list(struct server *srv, struct qh_chan *ch, const struct qh_msg *m);
void queue_record(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const struct qh_msg *m);

/* An entry as the queue's listing shows it (queuelist.c); valid during the call. */
struct queue_view {
	const char *code, *customer, *name, *host, *agent_id;
	int64_t waiting_since;	 /* UTC seconds */
	int connected;		 /* 0 while the agent reconnects */
	const char *technicians; /* logins working on it, comma-separated; "" */
	int64_t session;	 /* the open session, 0 if none */
	int64_t running_units;	 /* the open session's, 0 if none */
	int has_balance;	 /* balance could be read */
	int64_t balance;	 /* the customer's units (R3) */
};

/* The queue as the JSON array of "queue --json", one line, into out (queuelist.c). */
void queue_list_json(struct server *srv, struct qh_buf *out);

/* Calls fn with arg for every entry of the queue, newest first. */
void queue_each(struct server *srv, void (*fn)(void *arg, const struct queue_view *v),
    void *arg);

/* Closes every open session (reason shutdown, R4) and forgets every entry. */
void queue_clear(struct server *srv);

#endif
