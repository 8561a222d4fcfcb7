/*
 * Sessions and their meter (R2, R4, R11-R13), on the serve loop. A session
 * knows its meter, its timers and its rows in the store; it knows nothing of
 * relays or peers. What concerns them is reported to the session's owner
 * (the queue entry) through session_ops, and the owner closes the session.
 */
#ifndef QH_DAEMON_SESSION_H
#define QH_DAEMON_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "qh/text.h"
#include "server.h"

struct session;

struct session_ops {
	/* R12: nobody was attached for the idle limit; the owner closes it. */
	void (*on_idle)(void *arg);
	/*
	 * R7: the running units reached what was available when the session
	 * opened. Called once per session.
	 */
	void (*on_exhausted)(void *arg, int64_t running, int64_t available);
};

/* What a close leaves: its row, its billable time and a line for people. */
struct session_end {
	int64_t id;
	int64_t secs;
	int recorded;	   /* 1: the debit is written */
	int pending;	   /* 1: not yet; retried until it is (R4) */
	char summary[256]; /* "session 7 closed (technician): billable time ..." */
	/* What session_summary needs to say it again in the customer's language. */
	char reason[32];
	int64_t units;	       /* debited (positive), as the ledger has it */
	int64_t installations; /* debited (positive) */
	int64_t balance_after;
};

/*
 * The close as the customer reads it, in lang: "Sitzung 7 beendet (vom
 * Techniker beendet): abrechenbare Zeit 0:05:00, 1 Einheit abgebucht,
 * Guthaben 7 Einheiten (1 h 45 min)". end->summary is the English line
 * for technicians and the log.
 */
void
session_summary(const struct session_end *end, enum qh_lang lang, char *out, size_t len);

/*
 * Opens and records a session (R13: committed before it returns) for info,
 * with the agent connected or not, and available the R7 figure now. The
 * ops are called with arg. Returns 0 and *sp, or a negative QH_ERR_*.
 */
int session_open(struct server *srv, const struct db_session *info, int agent_up,
    int64_t available, const struct session_ops *ops, void *arg, struct session **sp);

int64_t session_id(const struct session *s);

/* Units by R1 of the time billed so far. */
int64_t session_running_units(const struct session *s);

/* A technician command starts or ends: the meter counts attached time (R2). */
void session_attach(struct session *s);
void session_detach(struct session *s);

/* The agent's connection went or came back (R11): gaps are not billed. */
void session_agent_away(struct session *s);
void session_agent_back(struct session *s);

/* Audit rows: an attach interval (ended by session_event_end), a note. */
int64_t session_event_attach(struct session *s, const char *login, const char *command);
void session_event_end(struct session *s, int64_t id, const char *detail);
int64_t session_event_note(struct session *s, const char *kind, const char *login,
    const char *command, const char *detail);

/*
 * Closes s (R4): stops the meter now and records the close with its debit,
 * reason and note. The caller ends the session's relays first, so their
 * detach stops the meter at this instant, and forgets s: it is freed once
 * written. When the database does not take the close (busy, full), s stays
 * "closing" (end->pending) and the same close is retried with backoff until
 * it is written; its ops are never called again. Fills *end; returns 0, or
 * QH_ERR_EXISTS when the session had its debit already.
 */
int session_close(struct session *s, const char *reason, const char *note,
    struct session_end *end);

/* Units of customer's sessions whose close is not written yet (R7). */
int64_t session_closing_units(struct server *srv, const char *customer);

/*
 * At shutdown: one last try of every pending close, then their timers go.
 * What still fails stays open in the database for the next start (R13).
 */
void session_closing_flush(struct server *srv);

/* Closes the sessions a crash left open (R13), at start-up. */
int session_recover(struct server *srv);

#endif
