/*
 * Sessions in the database (R4, R13): the row committed when a session
 * opens, its billable seconds persisted while it runs, its audit events,
 * and the close that writes the final figure and the debit in one
 * transaction. A console start closes what a crash left open at its last
 * persisted point. The daemon's meter decides the seconds; this file only
 * records them.
 */
#include <stdio.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

#define RECOVER_BATCH 256

int
db_session_open(sqlite3 *db, const struct db_session *s, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(s->opened, now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "INSERT INTO sessions (customer_id, agent_id, code, "
		 "kind, ticket_id, opened_at, persisted_at, overdraft_by, after_hours) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, s->customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->kind, -1, SQLITE_STATIC);
	if (s->ticket > 0)
		sqlite3_bind_int64(st, 5, s->ticket);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, s->overdraft_by, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, s->after_hours);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "opening a session");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db);
	r = db_commit(db);
out:
	db_done(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_session_persist(sqlite3 *db, int64_t id, int64_t secs)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "UPDATE sessions SET billable_seconds = ?1, "
		 "persisted_at = ?2 WHERE id = ?3 AND closed_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, secs);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "persisting the meter");
		goto out;
	}
	r = db_commit(db);
out:
	db_done(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int64_t
db_event_add(sqlite3 *db, int64_t session, const char *kind, const char *login,
    const char *command, const char *detail, int closed)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int64_t id = 0;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_stmt(db,
		"INSERT INTO session_events (session_id, kind, login, "
		"command, started_at, ended_at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"?7)",
		&st) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (closed)
		sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(db);
	else
		qh_error("session %lld: %s event not recorded: %s", (long long)session,
		    kind, sqlite3_errmsg(db));
	db_done(st);
	return id;
}

void
db_event_end(sqlite3 *db, int64_t id, const char *detail)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	if (id == 0)
		return;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_stmt(db,
		"UPDATE session_events SET ended_at = ?1, "
		"detail = coalesce(?3, detail) WHERE id = ?2 AND ended_at IS NULL",
		&st) != 0)
		return;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		qh_error("event %lld not closed: %s", (long long)id, sqlite3_errmsg(db));
	db_done(st);
}

/* Runs a cached statement with now (?1) and the session id (?2) bound. */
static int
step_close(sqlite3 *db, const char *sql, const char *now, int64_t id, const char *reason,
    const char *note, int64_t secs, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (reason != NULL) {
		sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, secs);
		sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	r = db_error(db, rc, what);
	db_done(st);
	return r;
}

int
db_session_close(sqlite3 *db, int64_t id, const char *reason, const char *note,
    int64_t secs, int64_t closed, struct ledger_entry *debit)
{
	char now[32];
	int r;

	qh_clock_format_utc(closed > 0 ? closed : qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = step_close(db,
		 "UPDATE sessions SET closed_at = ?1, close_reason = ?3, "
		 "billable_seconds = ?4, persisted_at = ?1, note = ?5 "
		 "WHERE id = ?2 AND closed_at IS NULL",
		 now, id, reason, note, secs, "closing the session")) != 0 ||
	    (r = step_close(db,
		 "UPDATE session_events SET ended_at = ?1 "
		 "WHERE session_id = ?2 AND ended_at IS NULL",
		 now, id, NULL, NULL, 0, "closing the session's events")) != 0 ||
	    (r = ledger_post_session(db, id, debit)) != 0 || (r = db_commit(db)) != 0)
		db_rollback(db);
	return r;
}

/* Closes up to RECOVER_BATCH open sessions in one transaction; *n how many. */
static int
recover_batch(sqlite3 *db, int *n)
{
	sqlite3_stmt *st = NULL;
	struct ledger_entry debit;
	int64_t ids[RECOVER_BATCH];
	int r, rc, i;

	*n = 0;
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db,
		 "SELECT id FROM sessions WHERE closed_at IS NULL "
		 "ORDER BY id LIMIT 256",
		 &st)) != 0)
		goto out;
	while (*n < RECOVER_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	/* Nothing after the last persisted point is billed (R13). */
	if ((r = db_exec(db,
		 "UPDATE session_events SET ended_at = (SELECT "
		 "persisted_at FROM sessions WHERE sessions.id = "
		 "session_events.session_id) "
		 "WHERE ended_at IS NULL")) != 0)
		goto out;
	for (i = 0; i < *n; i++) {
		if ((r = db_prepare(db,
			 "UPDATE sessions SET closed_at = persisted_at, "
			 "close_reason = 'crash_recovery' WHERE id = ?1",
			 &st)) != 0)
			goto out;
		sqlite3_bind_int64(st, 1, ids[i]);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if ((r = db_error(db, rc, "recovering a session")) != 0)
			goto out;
		r = ledger_post_session(db, ids[i], &debit);
		if (r == QH_ERR_EXISTS)
			r = 0; /* debited already: never twice */
		if (r != 0)
			goto out;
	}
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_session_recover(sqlite3 *db, int *closed)
{
	int r, n;

	*closed = 0;
	do {
		if ((r = recover_batch(db, &n)) != 0)
			return r;
		*closed += n;
	} while (n == RECOVER_BATCH);
	return 0;
}

/* Runs a one-row check with up to two text parameters; 1 if its value is 1. */
static int
check_row(sqlite3 *db, const char *sql, const char *p1, const char *p2, char *name,
    size_t namelen)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_stmt(db, sql, &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ok = sqlite3_column_int(st, 0);
		if (name != NULL)
			snprintf(name, namelen, "%s",
			    (const char *)sqlite3_column_text(st, 1));
	}
	db_done(st);
	return ok;
}

int
db_cert_current(sqlite3 *db, const char *serial, const char *identity)
{
	return check_row(db,
	    "SELECT revoked_at IS NULL FROM certificates "
	    "WHERE serial = ?1 AND identity = ?2",
	    serial, identity, NULL, 0);
}

int
db_tech_current(sqlite3 *db, const char *login, const char *role, char *name,
    size_t namelen)
{
	return check_row(db,
	    "SELECT revoked_at IS NULL, name FROM technicians "
	    "WHERE login = ?1 AND role = ?2",
	    login, role, name, namelen);
}

int
db_agent_current(sqlite3 *db, const char *agent_id, const char *customer)
{
	return check_row(db,
	    "SELECT revoked_at IS NULL FROM agents "
	    "WHERE id = ?1 AND customer_id = ?2",
	    agent_id, customer, NULL, 0);
}

int
db_customer_name(sqlite3 *db, const char *customer, char *name, size_t namelen)
{
	return check_row(db, "SELECT 1, name FROM customers WHERE id = ?1", customer,
	    NULL, name, namelen);
}

int
db_ticket_of(sqlite3 *db, int64_t ticket, const char *customer)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)ticket);
	return check_row(db,
	    "SELECT 1 FROM tickets WHERE id = CAST(?1 AS INTEGER) AND customer_id = ?2",
	    id, customer, NULL, 0);
}

void
db_agent_seen(sqlite3 *db, const char *agent_id, const char *host)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_prepare(db, "UPDATE agents SET last_seen = ?1, host = ?2 WHERE id = ?3",
		&st) != 0)
		return;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, agent_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		qh_warn("agent %s: last_seen not recorded", agent_id);
	sqlite3_finalize(st);
}

int
db_session_internal(sqlite3 *db, int64_t id, const char *text)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db, "UPDATE sessions SET internal_note = ?2 WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "recording the internal note")) == 0)
		r = sqlite3_changes(db) == 1 ? db_commit(db) : QH_ERR_NOT_FOUND;
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}
