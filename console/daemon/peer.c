/*
 * Connected peers: accepts agents and technicians over mutually
 * authenticated TLS, checks each against the database (revoked technicians,
 * agents and certificates are refused) at connect, at every channel it
 * opens and whenever another process changes the database, and dispatches
 * their control messages and channel requests from tables by role. What a
 * message or a request does lives in the module that owns it: the queue,
 * joins, ticket uploads.
 *
 * Until a peer has authenticated it is cheap to make and costs a
 * descriptor, so those connections are limited: per source address and
 * in all (limit.h), below the descriptors left once a reserve is kept for
 * authenticated peers, and in time (the TLS handshake, then join_seconds
 * for a peer without a certificate to send its JOIN). When every place is
 * taken, a newcomer from an address holding fewer places than another
 * takes the oldest place of such an address, so a flood from some
 * addresses cannot lock out the others.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "account.h"
#include "desk.h"
#include "join.h"
#include "limit.h"
#include "peer.h"
#include "presence.h"
#include "queue.h"
#include "renew.h"
#include "upload.h"
#include "watch.h"

#define FD_RESERVE 64 /* descriptors unauthenticated connections leave alone */
/* An agent's certificate expired at most this long ago may still be renewed. */
#define RENEW_EXPIRED_MAX (365 * 86400)
#define SPARES		  4 /* handles to accept into and drop when memory is short */

#define ROLE(r) (1U << (r))

/* One TLS connection: an agent, a technician or a joining agent. */
struct peer {
	struct server *srv;
	struct qh_mux *mux;
	struct qh_identity id;
	char name[DAEMON_NAME_MAX + 1]; /* technician's display name */
	struct entry *entry;		/* agents: their queue entry */
	uint64_t addr;			/* its source address's limit key */
	int preauth;			/* on srv->preauth: not authenticated yet */
	int joined;			/* no certificate: its one JOIN arrived */
	int renew_only;			/* an agent whose certificate expired: renew */
	uv_timer_t deadline;		/* no certificate: join_seconds for the JOIN */
	LIST_ENTRY(peer) link;
	TAILQ_ENTRY(peer) plink; /* on srv->preauth */
};

/* The technician behind a request, as the queue and relays name them. */
static struct relay_who
who_of(const struct peer *p)
{
	struct relay_who who = { p->id.id, p->name[0] ? p->name : p->id.id };

	return who;
}

static void
request_list(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	queue_list(p->srv, ch, m);
}

static void
request_watch(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	watch_request(p->srv, ch, m);
}

static void
request_relay(struct peer *p, struct qh_chan *ch, const char *cmd, const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_request(p->srv, &who, ch, cmd, m);
}

static void
request_account(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	account_request(p->srv, &p->id, ch, m);
}

static void
request_end(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_end(p->srv, &who, ch, m);
}

static void
request_record(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	struct relay_who who = who_of(p);

	queue_record(p->srv, &who, ch, m);
}

static void
request_ticket(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	ticket_request(p->srv, &p->id, ch, m);
}

static void
request_renew(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	renew_request(p->srv, &p->id, ch, m);
}

static void
request_desk(struct peer *p, struct qh_chan *ch, const char *cmd QH_UNUSED,
    const struct qh_msg *m)
{
	desk_answer_request(p->srv, &p->id, ch, m);
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
	{ "watch", ROLE(QH_ROLE_TECHNICIAN), request_watch },
	{ "exec", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "attach", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "end", ROLE(QH_ROLE_TECHNICIAN), request_end },
	{ "forward", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "dial", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "push", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "pull", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "info", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "desktop", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "record", ROLE(QH_ROLE_TECHNICIAN), request_record },
	{ "ticket", ROLE(QH_ROLE_AGENT), request_ticket },
	{ "account", ROLE(QH_ROLE_TECHNICIAN) | ROLE(QH_ROLE_ACCOUNTING),
	    request_account },
	{ "renew",
	    ROLE(QH_ROLE_AGENT) | ROLE(QH_ROLE_TECHNICIAN) | ROLE(QH_ROLE_ACCOUNTING),
	    request_renew },
	/* The ticket desk: a customer's PC for its own tickets, staff for all (accounting
	   reads). */
	{ "ticket-reply", ROLE(QH_ROLE_AGENT) | ROLE(QH_ROLE_TECHNICIAN),
	    request_ticket },
	{ "tickets",
	    ROLE(QH_ROLE_AGENT) | ROLE(QH_ROLE_TECHNICIAN) | ROLE(QH_ROLE_ACCOUNTING),
	    request_desk },
	{ "ticket-show",
	    ROLE(QH_ROLE_AGENT) | ROLE(QH_ROLE_TECHNICIAN) | ROLE(QH_ROLE_ACCOUNTING),
	    request_desk },
	{ "ticket-get",
	    ROLE(QH_ROLE_AGENT) | ROLE(QH_ROLE_TECHNICIAN) | ROLE(QH_ROLE_ACCOUNTING),
	    request_desk },
	{ "ticket-need", ROLE(QH_ROLE_TECHNICIAN), request_desk },
	{ "ticket-assign", ROLE(QH_ROLE_TECHNICIAN), request_desk },
	{ "ticket-confirm", ROLE(QH_ROLE_TECHNICIAN), request_desk },
	{ "ticket-close", ROLE(QH_ROLE_TECHNICIAN), request_desk },
	{ "balance", ROLE(QH_ROLE_AGENT), request_desk },
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

/* Counts one refused connection; logs at most a line a second, with how many more. */
static void
note_refused(struct server *srv, const char *from, const char *why)
{
	static uint64_t last_ms;
	static unsigned held;
	uint64_t now = uv_now(srv->loop);

	if (last_ms != 0 && now - last_ms < 1000) {
		held++;
		return;
	}
	if (held > 0)
		qh_warn("refused a connection from %s: %s (and %u more in the last "
			"second)",
		    from, why, held);
	else
		qh_warn("refused a connection from %s: %s", from, why);
	last_ms = now;
	held = 0;
}

/* Takes p off the unauthenticated list and counts; nothing if it is not on it. */
static void
preauth_remove(struct peer *p)
{
	struct server *srv = p->srv;

	if (!p->preauth)
		return;
	p->preauth = 0;
	TAILQ_REMOVE(&srv->preauth, p, plink);
	srv->npreauth--;
	limit_count_del(srv->preauth_by_addr, p->addr);
	uv_timer_stop(&p->deadline);
}

/*
 * 1 if the database still knows the peer's certificate and identity as
 * current; asked at every connect, resumed or not (presence.c caches the
 * answer until another process commits).
 */
static int
peer_current(struct peer *p)
{
	return presence_current(p->srv, &p->id, p->name, sizeof(p->name));
}

/*
 * 1 if the person or PC is current and only the certificate is not: a
 * renewal's new certificate is in use, so this one retired.
 */
static int
peer_superseded(struct peer *p)
{
	sqlite3 *db = p->srv->db;
	const struct qh_identity *id = &p->id;

	switch (id->role) {
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		return db_tech_current(db, id->id, qh_role_name(id->role), NULL, 0) &&
		    !db_cert_current(db, id->serial, id->id);
	case QH_ROLE_AGENT:
		return db_agent_current(db, id->agent_id, id->id) &&
		    !db_cert_current(db, id->serial, id->id);
	default:
		return 0;
	}
}

/*
 * The peer was revoked while connected: its session ends (agents) and it
 * goes. A certificate that a renewal replaced only closes the connection:
 * an agent's session waits out the grace window for its new connection.
 */
static void
peer_revoked(struct peer *p)
{
	struct entry *e = p->entry;

	if (peer_superseded(p)) {
		(void)refuse_peer(p, "replaced",
		    p->id.role == QH_ROLE_AGENT
			? "this certificate was replaced by a renewed one"
			: "this certificate was replaced by a renewed one; use the "
			  "new bundle");
		return;
	}
	if (e != NULL) {
		p->entry = NULL;
		queue_revoked(e);
	}
	(void)refuse_peer(p, "revoked",
	    p->id.role == QH_ROLE_AGENT
		? "this agent was revoked by the support vendor; the session is closed"
		: "this certificate was revoked; the console closed the connection");
}

/* No certificate and no JOIN within join_seconds: the place goes to someone else. */
static void
on_join_deadline(uv_timer_t *t)
{
	struct peer *p = t->data;

	if (p->mux == NULL || qh_mux_closed(p->mux) || p->joined)
		return;
	qh_info("peer %s: no join request within %llds; closing", qh_mux_name(p->mux),
	    p->srv->conf.join_seconds);
	qh_mux_close(p->mux, QH_ERR_TIMEOUT, NULL);
}

/*
 * A current peer whose certificate is past its notAfter: an agent whose
 * certificate expired less than RENEW_EXPIRED_MAX ago may renew it on this
 * connection and do nothing else; everyone else is told why they cannot
 * come in. Returns what on_ready returns.
 */
static int
peer_expired(struct peer *p)
{
	const struct qh_identity *id = &p->id;
	char when[32], text[512];

	qh_clock_format_utc(id->not_after, when, sizeof(when));
	if (id->role != QH_ROLE_AGENT) {
		snprintf(text, sizeof(text),
		    "this %s certificate expired on %s; ask the console's admin for a "
		    "new bundle (qh-console tech renew %s --out FILE)",
		    qh_role_name(id->role), when, id->id);
		return refuse_peer(p, "expired", text);
	}
	if (qh_clock_now() - id->not_after > RENEW_EXPIRED_MAX) {
		snprintf(text, sizeof(text),
		    "this PC's certificate expired on %s, more than a year ago; "
		    "ask your support vendor for a new join token and enrol the PC "
		    "again (qh-agent join)",
		    when);
		return refuse_peer(p, "expired", text);
	}
	qh_info("peer %s: certificate %s expired on %s; it may renew, nothing else",
	    qh_mux_name(p->mux), id->serial, when);
	p->renew_only = 1;
	return 0;
}

static int
peer_on_ready(struct qh_mux *mux, const struct qh_identity *id)
{
	struct peer *p = qh_mux_arg(mux);
	int r;

	p->id = *id;
	if (qh_tls_resumed(qh_mux_tls(mux)))
		qh_debug("peer %s: resumed session", qh_mux_name(mux));
	switch (id->role) {
	case QH_ROLE_NONE:
		qh_debug("peer %s: no certificate; join only", qh_mux_name(mux));
		uv_timer_start(&p->deadline, on_join_deadline,
		    (uint64_t)p->srv->conf.join_seconds * 1000, 0);
		return 0;
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		if (!peer_current(p))
			return refuse_peer(p, "revoked",
			    peer_superseded(p)
				? "this technician certificate was replaced by a "
				  "renewed one; use the new bundle"
				: "this technician certificate "
				  "is revoked or unknown to the console");
		if (id->not_after <= qh_clock_now())
			return peer_expired(p);
		break;
	case QH_ROLE_AGENT:
		if (!peer_current(p))
			return refuse_peer(p, "revoked",
			    peer_superseded(p)
				? "this PC's certificate was replaced by a renewed "
				  "one that this agent does not have; enrol it again"
				: "this agent is revoked or "
				  "unknown to the console; enrol it again");
		if (id->not_after <= qh_clock_now()) {
			if ((r = peer_expired(p)) != 0 || qh_mux_closed(mux))
				return r;
			goto admitted;
		}
		/* Its first connection with the certificate: the join token is spent. */
		if ((r = presence_token_spend(p->srv, id)) == 1)
			qh_info("peer %s: first connection; its join token is spent",
			    qh_mux_name(mux));
		else if (r < 0)
			qh_warn("peer %s: its join token could not be marked spent",
			    qh_mux_name(mux));
		break;
	default:
		return refuse_peer(p, "role", "certificate role not accepted here");
	}
	/* A renewed certificate in use: the ones before it retire. */
	if ((r = db_cert_used(p->srv->db, id)) > 0) {
		presence_forget(p->srv);
		qh_info("peer %s: uses certificate %s; %d older one%s retired",
		    qh_mux_name(mux), id->serial, r, r == 1 ? "" : "s");
	} else if (r < 0)
		qh_warn("peer %s: its older certificates could not be retired now",
		    qh_mux_name(mux));
admitted:
	preauth_remove(p);
	qh_info("peer %s: connected", qh_mux_name(mux));
	qh_mux_set_keepalive(mux, (uint64_t)p->srv->conf.keepalive_seconds * 1000,
	    (uint64_t)p->srv->conf.keepalive_seconds * 3000);
	return 0;
}

void
peer_recheck(struct server *srv)
{
	struct peer *p;

	LIST_FOREACH (p, &srv->peers, link) {
		if (p->preauth || p->id.role == QH_ROLE_NONE || qh_mux_closed(p->mux))
			continue;
		if (!peer_current(p)) {
			qh_info("peer %s: revoked while connected", qh_mux_name(p->mux));
			peer_revoked(p);
		} else if (p->entry != NULL && queue_disabled(p->entry))
			p->entry = NULL; /* and the connection is closing */
	}
	queue_recheck(srv); /* entries whose agent is away */
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
		if (m->type == QH_MSG_JOIN && !p->joined) {
			p->joined = 1; /* one per connection */
			uv_timer_stop(&p->deadline);
			return join_handle(p->srv, mux, m);
		}
		break;
	case QH_ROLE_AGENT:
		if (p->renew_only)
			return refuse_peer(p, "expired",
			    "this PC's certificate has expired; the agent renews it "
			    "before it waits for a technician");
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
	} else if (p->renew_only && strcmp(cmd, "renew") != 0) {
		qh_chan_refuse(ch, "expired",
		    "this PC's certificate has expired; start qh-agent once, it renews "
		    "the certificate");
	} else if (p->srv->stopping) {
		qh_chan_refuse(ch, "shutdown", "the console is shutting down");
	} else if (!peer_current(p)) {
		/* Revoked since it connected: the database says so before the watch. */
		qh_chan_refuse(ch, "revoked", "this certificate was revoked");
		qh_info("peer %s: request %s after a revocation", qh_mux_name(mux), cmd);
		peer_revoked(p);
	} else {
		qh_debug("peer %s: request %s", qh_mux_name(mux), cmd);
		re->run(p, ch, cmd, m);
	}
	free(cmd);
	return 0;
}

/* The peer's timer is closed: its memory goes last. */
static void
peer_freed(uv_handle_t *h)
{
	free(h->data);
}

static void
peer_on_close(struct qh_mux *mux, int err QH_UNUSED)
{
	struct peer *p = qh_mux_arg(mux);

	if (p->id.role != QH_ROLE_NONE)
		qh_info("peer %s %s: disconnected", qh_role_name(p->id.role), p->id.id);
	if (p->entry != NULL)
		queue_agent_gone(p->entry);
	join_peer_gone(mux);
	preauth_remove(p);
	LIST_REMOVE(p, link);
	p->srv->npeers--;
	p->mux = NULL;
	uv_close((uv_handle_t *)&p->deadline, peer_freed);
}

static const struct qh_mux_ops peer_ops = {
	.on_ready = peer_on_ready,
	.on_control = peer_on_control,
	.on_open = peer_on_open,
	.on_close = peer_on_close,
};

/* Accepting. */

static struct spare {
	uv_tcp_t tcp; /* first: the handle is the spare */
	int busy;
} spares[SPARES];
static int accept_stalled; /* a connection waits in the listener for a handle */

static void
spare_closed(uv_handle_t *h)
{
	struct spare *s = (struct spare *)h;
	struct server *srv = h->data;

	s->busy = 0;
	if (accept_stalled && !srv->stopping) {
		accept_stalled = 0;
		peer_accept(srv, (uv_stream_t *)&srv->listener);
	}
}

/*
 * Takes the waiting connection off the listener and closes it, without
 * allocating: the listener keeps polling (libuv stops it while an accepted
 * connection waits for uv_accept). When every spare is closing, the
 * connection waits until one is free.
 */
static void
accept_discard(struct server *srv, uv_stream_t *listener, const char *why)
{
	int i;

	for (i = 0; i < SPARES && spares[i].busy; i++)
		;
	if (i == SPARES) {
		accept_stalled = 1;
		return;
	}
	spares[i].busy = 1;
	uv_tcp_init(srv->loop, &spares[i].tcp);
	spares[i].tcp.data = srv;
	if (uv_accept(listener, (uv_stream_t *)&spares[i].tcp) == 0)
		note_refused(srv, "an address", why);
	uv_close((uv_handle_t *)&spares[i].tcp, spare_closed);
}

/* The address text of a peer's socket, for logs. */
static void
addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	snprintf(out, len, "?");
	if (ss->ss_family == AF_INET)
		uv_ip4_name((const struct sockaddr_in *)ss, out, len);
	else if (ss->ss_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)ss, out, len);
}

/* How many unauthenticated connections may be open now. */
static int
preauth_cap(const struct server *srv)
{
	long cap = srv->conf.preauth_max;
	long room = (long)srv->fd_limit - srv->fd_base - (srv->npeers - srv->npreauth) -
	    FD_RESERVE;

	return (int)(room < cap ? room : cap);
}

/*
 * Whether the newcomer p may have a place: 1 yes, 0 no (why says why).
 * When all are taken, the oldest connection of an address holding more
 * places than p's is closed to make room: that address keeps at least as
 * many as p's gets, so no address gains by flooding.
 */
static int
preauth_admit(struct peer *p, const char **why)
{
	struct server *srv = p->srv;
	unsigned mine = limit_count(srv->preauth_by_addr, p->addr);
	struct peer *o;

	if (mine >= (unsigned)srv->conf.preauth_per_address) {
		*why = "too many unauthenticated connections from this address";
		return 0;
	}
	if (srv->npreauth < preauth_cap(srv))
		return 1;
	/* Full: a place goes from an address that holds more than p's does. */
	TAILQ_FOREACH (o, &srv->preauth, plink)
		if (limit_count(srv->preauth_by_addr, o->addr) > mine)
			break;
	if (o == NULL || srv->npreauth > preauth_cap(srv)) {
		*why = "too many unauthenticated connections";
		return 0;
	}
	qh_debug("peer %s: closed for a newcomer from a quieter address",
	    qh_mux_name(o->mux));
	preauth_remove(o);
	qh_mux_close(o->mux, QH_ERR_LIMIT, NULL);
	return 1;
}

void
peer_accept(struct server *srv, uv_stream_t *listener)
{
	struct sockaddr_storage ss;
	struct peer *p;
	const char *why = NULL;
	char from[64];
	int len = sizeof(ss), r;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		accept_discard(srv, listener, "out of memory");
		return;
	}
	p->srv = srv;
	if ((p->mux = qh_mux_new(srv->loop, srv->tls, QH_TLS_SERVER, NULL, NULL,
		 &peer_ops, p)) == NULL) {
		free(p);
		accept_discard(srv, listener, "out of memory");
		return;
	}
	uv_timer_init(srv->loop, &p->deadline);
	p->deadline.data = p;
	LIST_INSERT_HEAD(&srv->peers, p, link);
	srv->npeers++;
	if ((r = uv_accept(listener, (uv_stream_t *)qh_mux_tcp(p->mux))) != 0) {
		qh_warn("accept: %s", uv_strerror(r));
		qh_mux_close(p->mux, QH_ERR_SYSTEM, NULL);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	(void)uv_tcp_getpeername(qh_mux_tcp(p->mux), (struct sockaddr *)&ss, &len);
	p->addr = limit_key_sockaddr((struct sockaddr *)&ss);
	if (!preauth_admit(p, &why) ||
	    limit_count_add(srv->preauth_by_addr, p->addr) != 0) {
		addr_text(&ss, from, sizeof(from));
		note_refused(srv, from, why != NULL ? why : "no room");
		qh_mux_close(p->mux, QH_ERR_LIMIT, NULL);
		return;
	}
	p->preauth = 1;
	TAILQ_INSERT_TAIL(&srv->preauth, p, plink);
	srv->npreauth++;
	if ((r = qh_mux_start(p->mux)) != 0)
		qh_mux_close(p->mux, r, "accept failed");
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
