/*
 * The queue's private parts (queue.c, queueindex.c, queuelist.c): an entry, and the
 * index that finds one by code or resume token. Not for other files.
 */
#ifndef QH_DAEMON_QUEUE_INT_H
#define QH_DAEMON_QUEUE_INT_H

#include <stdint.h>

#include <uv.h>

#include "qh/text.h"
#include "queue.h"
#include "relay.h"
#include "server.h"

#define CODE_LEN       6
#define RESUME_LEN     32
#define MAX_CONSENTED  32    /* technicians one session can have */
#define START_RETRY_MS 200   /* a session the database did not take: next try */
#define START_WAIT_MS  30000 /* and how long a command waits for it at most */
#define INDEX_BUCKETS  16384 /* chains of the code and resume indexes */
#define MAX_QUESTIONS  16    /* consent questions out at once (the agent's bound) */

/* What a technician may do in the entry's session (RELAY_CONSENT_*). */
struct consented {
	char login[QH_ID_MAX + 1];
	unsigned granted;
};

/* A consent question the customer has not answered yet. */
struct question {
	uint64_t id;
	uint64_t deadline; /* monotonic ms: withdrawn as "no answer" then */
};

struct entry {
	struct server *srv;
	struct qh_mux *agent; /* NULL while disconnected */
	char code[CODE_LEN + 1];
	char resume[RESUME_LEN + 1];
	char customer[QH_ID_MAX + 1];
	char customer_name[DAEMON_NAME_MAX + 1];
	char agent_id[QH_ID_MAX + 1];
	char host[DAEMON_NAME_MAX + 1];
	int64_t waiting_since;	     /* UTC seconds */
	unsigned flags;		     /* HELLO flags */
	enum qh_lang lang;	     /* HELLO's: what the customer reads */
	struct session *session;     /* open session, or NULL */
	struct consented *consented; /* this session's; made at the first */
	int nconsented;
	uv_timer_t grace; /* runs while the agent is away */
	uv_timer_t retry; /* a session the database did not take yet (busy) */
	uv_timer_t asked; /* the next question's deadline ([session] consent_timeout) */
	struct question questions[MAX_QUESTIONS];
	int nquestions;
	uint64_t waiting_db; /* monotonic ms since when commands wait for it; 0 */
	int open_handles;
	int closing;
	struct relay_list relays;
	LIST_ENTRY(entry) link;
	struct entry *code_next, *resume_next; /* chains of srv->queue_index */
};

/*
 * The entries in the queue by code and by resume token, so that a
 * connect or a technician's request finds its entry without walking ten
 * thousand of them. An entry is indexed from entry_new to entry_remove.
 */
struct queue_index {
	struct entry *by_code[INDEX_BUCKETS];
	struct entry *by_resume[INDEX_BUCKETS];
};

/* Indexes e by its code and resume token (from entry_new to entry_remove). */
void queue_index_add(struct server *srv, struct entry *e);
void queue_index_del(struct server *srv, struct entry *e);

/* The entry with code, or the agent_id's entry with resume; NULL if none (or closing). */
struct entry *queue_index_code(struct server *srv, const char *code);
struct entry *
queue_index_resume(struct server *srv, const char *resume, const char *agent_id);

#endif
