/*
 * Connected peers: accepts agents and technicians over mutually
 * authenticated TLS, checks each against the database (revoked technicians,
 * agents and certificates are refused), and dispatches their control
 * messages and channel requests from tables by role. What a message or a
 * request does lives in the module that owns it: the queue, joins, ticket
 * uploads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "join.h"
#include "peer.h"
#include "queue.h"
#include "upload.h"

#define ROLE(r) (1U << (r))

/* One TLS connection: an agent, a technician or a joining agent. */
struct peer {
	struct server *srv;
	struct qh_mux *mux;
	struct qh_identity id;
	char name[DAEMON_NAME_MAX + 1]; /* technician's display name */
	struct entry *entry;		/* agents: their queue entry */
	LIST_ENTRY(peer) link;
};

/* The technician behind a request, as the queue and relays name them. */
static struct relay_who
who_of(const struct peer *p)
{
	struct relay_who who = { p->id.id, p->name[0] ? p->name : p->id.id };

	return who;
}

static void
request_list(struct peer *p, struct qh_chan *ch, const char *cmd, const struct qh_msg *m)
{
	queue_list(p->srv, ch, m);
}

static void
request_relay(struct peer *p, struct qh_chan *ch, const char *cmd, const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_request(p->srv, &who, ch, cmd, m);
}

static void
request_end(struct peer *p, struct qh_chan *ch, const char *cmd, const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_end(p->srv, &who, ch, m);
}

static void
request_record(struct peer *p, struct qh_chan *ch, const char *cmd,
    const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_record(p->srv, &who, ch, m);
}

static void
request_ticket(struct peer *p, struct qh_chan *ch, const char *cmd,
    const struct qh_msg *m)
{
	ticket_request(p->srv, &p->id, ch, m);
}

/* Channel requests: the REQUEST message's cmd, who may send it, its handler. */
static const struct request_entry {
	const char *cmd;
	unsigned roles;
	/* Accepts or refuses ch and does the work. */
	void (*run)(struct peer *p, struct qh_chan *ch, const char *cmd,
	    const struct qh_msg *m);
} requests[] = {
	{ "queue", ROLE(QH_ROLE_TECHNICIAN), request_list },
	{ "exec", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "attach", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "end", ROLE(QH_ROLE_TECHNICIAN), request_end },
	{ "forward", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "dial", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "push", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "pull", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "info", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "record", ROLE(QH_ROLE_TECHNICIAN), request_record },
	{ "ticket", ROLE(QH_ROLE_AGENT), request_ticket },
	{ NULL, 0, NULL },
};

/* Refuses an authenticated peer: an ERROR it can show, one log line, close. */
static int
refuse_peer(struct peer *p, const char *code, const char *text)
{
	qh_warn("peer %s: refused: %s", qh_mux_name(p->mux), text);
	(void)qh_mux_send_error(p->mux, code, text);
	qh_mux_close(p->mux, QH_ERR_REFUSED, NULL);
	return 0;
}

static int
peer_on_ready(struct qh_mux *mux, const struct qh_identity *id)
{
	struct peer *p = qh_mux_arg(mux);
	sqlite3 *db = p->srv->db;

	p->id = *id;
	switch (id->role) {
	case QH_ROLE_NONE:
		qh_debug("peer %s: no certificate; join only", qh_mux_name(mux));
		return 0;
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		if (!db_tech_current(db, id->id, qh_role_name(id->role), p->name,
			sizeof(p->name)) ||
		    !db_cert_current(db, id->serial, id->id))
			return refuse_peer(p, "revoked",
			    "this technician certificate "
			    "is revoked or unknown to the console");
		break;
	case QH_ROLE_AGENT:
		if (!db_agent_current(db, id->agent_id, id->id) ||
		    !db_cert_current(db, id->serial, id->id))
			return refuse_peer(p, "revoked",
			    "this agent is revoked or "
			    "unknown to the console; enrol it again");
		break;
	default:
		return refuse_peer(p, "role", "certificate role not accepted here");
	}
	qh_info("peer %s: connected", qh_mux_name(mux));
	qh_mux_set_keepalive(mux, (uint64_t)p->srv->conf.keepalive_seconds * 1000,
	    (uint64_t)p->srv->conf.keepalive_seconds * 3000);
	return 0;
}

/* An agent's HELLO: it joins the queue; an older connection of its run goes. */
static int
agent_hello(struct peer *p, const struct qh_msg *m)
{
	struct qh_mux *replaced = NULL;
	struct peer *old;

	p->entry = queue_hello(p->srv, p->mux, &p->id, m, &replaced);
	if (replaced != NULL) {
		old = qh_mux_arg(replaced);
		old->entry = NULL;
		qh_mux_close(replaced, 0, "replaced by the same agent");
	}
	return 0;
}

/* 1 if m is the customer's "end the session". */
static int
is_customer_end(const struct qh_msg *m)
{
	const uint8_t *kind;
	size_t len;

	return m->type == QH_MSG_SESSION && qh_msg_get(m, QH_K_KIND, &kind, &len) == 0 &&
	    len == 3 && memcmp(kind, "end", 3) == 0;
}

static int
peer_on_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct peer *p = qh_mux_arg(mux);

	switch (p->id.role) {
	case QH_ROLE_NONE:
		if (m->type == QH_MSG_JOIN)
			return join_handle(p->srv, mux, m);
		break;
	case QH_ROLE_AGENT:
		if (m->type == QH_MSG_HELLO && p->entry == NULL)
			return agent_hello(p, m);
		if (p->entry == NULL)
			break;
		if (m->type == QH_MSG_CONSENT_REPLY) {
			queue_consent_reply(p->entry, m);
			return 0;
		}
		if (is_customer_end(m)) {
			queue_customer_end(p->entry);
			return 0;
		}
		break;
	default:
		if (m->type == QH_MSG_HELLO)
			return refuse_peer(p, "role",
			    "this is not an agent's certificate; "
			    "enrol the PC with qh-agent join");
		break;
	}
	qh_warn("peer %s: protocol error: unexpected %s message; closing",
	    qh_mux_name(mux), qh_msg_name(m->type));
	qh_mux_close(mux, QH_ERR_PROTOCOL, NULL);
	return 0;
}

static int
peer_on_open(struct qh_mux *mux, struct qh_chan *ch, const struct qh_msg *m)
{
	struct peer *p = qh_mux_arg(mux);
	const struct request_entry *re;
	char *cmd = NULL;

	if (m->type != QH_MSG_REQUEST || qh_msg_get_str(m, QH_K_CMD, &cmd) != 0) {
		qh_chan_refuse(ch, "unsupported", "unsupported channel");
		return 0;
	}
	for (re = requests; re->cmd != NULL; re++)
		if (strcmp(re->cmd, cmd) == 0)
			break;
	if (re->cmd == NULL) {
		qh_chan_refuse(ch, "unsupported", "unknown request");
	} else if (!(re->roles & ROLE(p->id.role))) {
		qh_warn("peer %s: refused: request %s not allowed for this role",
		    qh_mux_name(mux), cmd);
		qh_chan_refuse(ch, "forbidden",
		    p->id.role == QH_ROLE_AGENT
			? "this is an agent's certificate, not a technician's"
			: "not allowed for this certificate's role");
	} else if (p->srv->stopping) {
		qh_chan_refuse(ch, "shutdown", "the console is shutting down");
	} else {
		qh_debug("peer %s: request %s", qh_mux_name(mux), cmd);
		re->run(p, ch, cmd, m);
	}
	free(cmd);
	return 0;
}

static void
peer_on_close(struct qh_mux *mux, int err)
{
	struct peer *p = qh_mux_arg(mux);

	if (p->id.role != QH_ROLE_NONE)
		qh_info("peer %s %s: disconnected", qh_role_name(p->id.role), p->id.id);
	if (p->entry != NULL)
		queue_agent_gone(p->entry);
	join_peer_gone(mux);
	LIST_REMOVE(p, link);
	free(p);
}

static const struct qh_mux_ops peer_ops = {
	.on_ready = peer_on_ready,
	.on_control = peer_on_control,
	.on_open = peer_on_open,
	.on_close = peer_on_close,
};

void
peer_accept(struct server *srv, uv_stream_t *listener)
{
	struct peer *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->srv = srv;
	if ((p->mux = qh_mux_new(srv->loop, srv->tls, QH_TLS_SERVER, NULL, NULL,
		 &peer_ops, p)) == NULL) {
		free(p);
		return;
	}
	LIST_INSERT_HEAD(&srv->peers, p, link);
	if (uv_accept(listener, (uv_stream_t *)qh_mux_tcp(p->mux)) != 0 ||
	    qh_mux_start(p->mux) != 0)
		qh_mux_close(p->mux, QH_ERR_SYSTEM, "accept failed");
}

void
peer_close_all(struct server *srv)
{
	struct peer *p, *next;

	for (p = LIST_FIRST(&srv->peers); p != NULL; p = next) {
		next = LIST_NEXT(p, link);
		qh_mux_close(p->mux, 0, NULL);
	}
}
