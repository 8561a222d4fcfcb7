/*
 * The console daemon: connected peers, the queue of waiting agents, the
 * sessions they are in, and the relays that carry technician commands to
 * agents. Everything here runs on the one libuv loop of `qh-console serve`.
 */
#ifndef QH_CONSOLE_SERVE_H
#define QH_CONSOLE_SERVE_H

#include <sys/queue.h>

#include <sqlite3.h>
#include <uv.h>

#include "qh/buf.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "store/store.h"

#define CODE_LEN      6
#define RESUME_LEN    32
#define NAME_MAX_LEN  256
#define MAX_CONSENTED 32 /* technicians one session can have */

struct peer;
struct entry;
struct session;
struct relay;

struct server {
	uv_loop_t *loop;
	const char *state_dir;
	struct console_conf conf;
	sqlite3 *db;
	struct qh_tls_ctx *tls;
	uv_tcp_t listener;
	uv_signal_t sigterm, sigint;
	uv_timer_t housekeeping; /* daily: recording retention */
	int stopping;
	LIST_HEAD(, peer) peers;
	LIST_HEAD(, entry) entries; /* the queue */
	uint64_t next_consent_id;
};

/* One TLS connection: an agent, a technician or a joining agent. */
struct peer {
	struct server *srv;
	struct qh_mux *mux;
	struct qh_identity id;
	char name[NAME_MAX_LEN + 1]; /* technician's display name */
	struct entry *entry;	     /* agents: their queue entry */
	uv_timer_t *delay;	     /* join: a slowed-down answer */
	LIST_ENTRY(peer) link;
};

/* A running agent in the queue, known by its code (R11: one per run). */
struct entry {
	struct server *srv;
	struct peer *peer; /* NULL while disconnected */
	char code[CODE_LEN + 1];
	char resume[RESUME_LEN + 1];
	char customer[QH_ID_MAX + 1];
	char customer_name[NAME_MAX_LEN + 1];
	char agent_id[QH_ID_MAX + 1];
	char host[NAME_MAX_LEN + 1];
	int64_t waiting_since;			      /* UTC seconds */
	unsigned flags;				      /* HELLO flags */
	struct session *session;		      /* open session, or NULL */
	char consented[MAX_CONSENTED][QH_ID_MAX + 1]; /* this session's */
	int nconsented;
	uv_timer_t grace; /* runs while the agent is away */
	int closing;
	LIST_HEAD(, relay) relays;
	LIST_ENTRY(entry) link;
};

#define HELLO_UNATTENDED 0x1
#define HELLO_YES	 0x2

/* A technician command in flight: a technician channel and an agent channel. */
enum relay_state {
	RELAY_CONSENT, /* waiting for the customer's answer */
	RELAY_OPENING, /* agent channel opened, not confirmed */
	RELAY_OPEN,    /* bytes flow */
	RELAY_DONE,    /* both channels gone or going */
};

/* Server-wide helpers. */

/* Sends text on ch followed by EOF and close: the reply of a one-shot request. */
void reply_text(struct qh_chan *ch, const char *text, size_t len);

/* Sends MSG ERROR{code, text} on an accepted channel, then EOF and close. */
void reply_error(struct qh_chan *ch, const char *code, const char *text);

/*
 * Finds the queue entry a request's code names; refuses ch with
 * "no waiting agent with code 482 913" and returns NULL if there is none.
 */
struct entry *request_target(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);

/* Sends a NOTICE control message to a peer. */
void peer_notice(struct peer *p, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* queue.c: agents in the queue. */
int queue_hello(struct peer *p, const struct qh_msg *m);
void queue_agent_gone(struct peer *p);
struct entry *queue_find(struct server *srv, const char *code);
void queue_consent_reply(struct peer *p, const struct qh_msg *m);
void queue_customer_end(struct peer *p);
void queue_list(struct server *srv, struct qh_buf *out, int human);
/* Forgets every entry (shutdown). */
void queue_clear(struct server *srv);
/* "482 913" for messages. */
const char *code_pretty(const char *code, char out[8]);

/* session.c: sessions and their meter. */
/* Opens and records a session; available is the R7 figure at this moment. */
int session_open(struct entry *e, const char *kind, int64_t ticket,
    const char *overdraft_by, int64_t available);
/* Units by R1 of the time billed so far. */
int64_t session_running_units(const struct session *s);
void session_attach(struct session *s, struct relay *r);
void session_detach(struct session *s, struct relay *r);
void session_agent_away(struct session *s);
void session_agent_back(struct session *s);
/* Closes and records the session (R4); summary gets a line for people. */
int session_close(struct session *s, const char *reason, const char *note, const char *by,
    char *summary, size_t summarylen);
int64_t session_id(const struct session *s);
/* The session's audit rows: an attach interval (ended by session_event_end), a note. */
int64_t session_event_attach(struct session *s, const char *login, const char *command);
void session_event_end(struct session *s, int64_t id, const char *detail);
int64_t session_event_note(struct session *s, const char *kind, const char *login,
    const char *command, const char *detail);
/*
 * The close of session id and its debit, in one transaction (R4): what
 * session_close writes, exposed for the benchmark.
 */
struct ledger_entry;
int session_record_close(sqlite3 *db, int64_t id, const char *reason, const char *note,
    int64_t secs, struct ledger_entry *debit);
/* Closes sessions a crash left open (R13). */
int session_recover(struct server *srv);

/* relay.c: technician commands. */
void relay_request(struct peer *tech, struct qh_chan *ch, const char *cmd,
    const struct qh_msg *m);
/* A recording the technician's client reports (ssh), for the code's session. */
void relay_record_request(struct peer *tech, struct qh_chan *ch, const struct qh_msg *m);
/* The customer answered consent request id. */
void relay_consent_answer(struct entry *e, uint64_t id, int allow);
/* Sends a NOTICE to every technician working through the entry. */
void relay_notice_all(struct entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends every relay of the entry with text shown to the technician. */
void relay_end_all(struct entry *e, const char *text);
int relay_count_login(struct entry *e, const char *login);
/* The distinct logins working through the entry, comma-separated. */
void relay_logins(struct entry *e, char *out, size_t len);
const char *relay_login(const struct relay *r);

/* Units running in the customer's open sessions (R7). */
int64_t queue_running_units(struct server *srv, const char *customer);

/* notify.c: R5 notifications through notify_command, retried until delivered. */
void notify_kick(struct server *srv);
void notify_stop(struct server *srv);

/* join.c: enrolment of new agents. */
int join_handle(struct peer *p, const struct qh_msg *m);
void join_peer_gone(struct peer *p);

#endif
