/*
 * Sessions and their meter (R2, R4, R11–R13).
 *
 * A session is billable while at least one technician command runs in it
 * and its agent is connected; the meter adds up those stretches on the
 * monotonic clock. The row is committed when the session opens, before any
 * byte of its first channel is relayed, its billable seconds are persisted
 * every PERSIST_MS, and the close writes the final figure exactly once,
 * whatever closed it. A console start closes what a crash left open at its
 * last persisted point.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/units.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"
#include "meter.h"
#include "serve.h"

#define PERSIST_MS 10000 /* R13 asks for at least every 15 s */

struct session {
	struct server *srv;
	struct entry *entry;
	int64_t id;
	struct meter meter;  /* R2 */
	int64_t persisted_s; /* billable seconds last written */
	int64_t gap_event;   /* open agent_gap event row, 0 if none */
	int64_t available;   /* R7: units available when it opened */
	int warned;	     /* running units reached the available balance */
	int closing;
	int open_handles;
	uv_timer_t persist;
	uv_timer_t idle;
};

int64_t
session_id(const struct session *s)
{
	return s->id;
}

/* Billable milliseconds so far (R2). */
static uint64_t
session_ms(const struct session *s)
{
	return meter_ms(&s->meter, qh_clock_mono_ms());
}

static void on_idle(uv_timer_t *t);

/* R12: with nobody attached, the session closes after the idle limit. */
static void
idle_arm(struct session *s)
{
	if (s->meter.attached > 0)
		uv_timer_stop(&s->idle);
	else
		uv_timer_start(&s->idle, on_idle,
		    (uint64_t)s->srv->conf.idle_seconds * 1000, 0);
}

static int
persist(struct session *s)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int64_t secs = (int64_t)(session_ms(s) / 1000);
	int r, rc;

	if (secs == s->persisted_s)
		return 0;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(s->srv->db)) != 0)
		return r;
	if ((r = db_stmt(s->srv->db,
		 "UPDATE sessions SET billable_seconds = ?1, "
		 "persisted_at = ?2 WHERE id = ?3 AND closed_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, secs);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, s->id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(s->srv->db, rc, "persisting the meter");
		goto out;
	}
	r = db_commit(s->srv->db);
	if (r == 0)
		s->persisted_s = secs;
out:
	db_done(st);
	if (r != 0)
		db_rollback(s->srv->db);
	return r;
}

int64_t
session_running_units(const struct session *s)
{
	return qh_units((int64_t)((session_ms(s) + 999) / 1000));
}

/* R7: tells both sides once when the running units use up what was available. */
static void
check_exhausted(struct session *s)
{
	struct entry *e = s->entry;
	int64_t running = session_running_units(s);

	if (s->warned || running < s->available || running == 0)
		return;
	s->warned = 1;
	qh_info("session %" PRId64 ": running units (%" PRId64 ") reached the available "
		"balance (%" PRId64 ")",
	    s->id, running, s->available);
	if (e->peer != NULL)
		peer_notice(e->peer, "warning",
		    "Your prepaid balance is used up (%" PRId64
		    " units running); the session goes on and is billed in full.",
		    running);
	relay_notice_all(e,
	    "the customer's available balance is used up (%" PRId64
	    " units running, %" PRId64 " were available); the session goes on and "
	    "is billed in full",
	    running, s->available);
}

static void
on_persist(uv_timer_t *t)
{
	struct session *s = t->data;

	if (persist(s) != 0)
		qh_error("session %" PRId64 ": meter not persisted; will retry", s->id);
	check_exhausted(s);
}

static void
on_idle(uv_timer_t *t)
{
	struct session *s = t->data;
	char summary[256];

	qh_info("session %" PRId64 ": no technician for %llds; closing", s->id,
	    s->srv->conf.idle_seconds);
	(void)session_close(s, "idle", NULL, NULL, summary, sizeof(summary));
}

/* Inserts an event row; returns its id or 0. */
static int64_t
event_add(struct session *s, const char *kind, const char *login, const char *command,
    const char *detail, int closed)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int64_t id = 0;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_stmt(s->srv->db,
		"INSERT INTO session_events (session_id, kind, login, "
		"command, started_at, ended_at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"?7)",
		&st) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, s->id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (closed)
		sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(s->srv->db);
	else
		qh_error("session %" PRId64 ": %s event not recorded: %s", s->id, kind,
		    sqlite3_errmsg(s->srv->db));
	db_done(st);
	return id;
}

static void
event_end(struct session *s, int64_t id, const char *detail)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	if (id == 0)
		return;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_stmt(s->srv->db,
		"UPDATE session_events SET ended_at = ?1, "
		"detail = coalesce(?3, detail) WHERE id = ?2 AND ended_at IS NULL",
		&st) != 0)
		return;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		qh_error("session %" PRId64 ": event %" PRId64 " not closed", s->id, id);
	db_done(st);
}

int
session_open(struct entry *e, const char *kind, int64_t ticket, const char *overdraft_by,
    int64_t available)
{
	struct server *srv = e->srv;
	struct session *s;
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return QH_ERR_NOMEM;
	s->srv = srv;
	s->entry = e;
	meter_init(&s->meter, e->peer != NULL, qh_clock_mono_ms());
	s->available = available;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(srv->db)) != 0)
		goto out;
	if ((r = db_stmt(srv->db,
		 "INSERT INTO sessions (customer_id, agent_id, code, "
		 "kind, ticket_id, opened_at, persisted_at, overdraft_by, after_hours) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int(st, 8, calendar_after_hours(&srv->conf, qh_clock_now()));
	sqlite3_bind_text(st, 1, e->customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	if (ticket > 0)
		sqlite3_bind_int64(st, 5, ticket);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, overdraft_by, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(srv->db, rc, "opening a session");
		goto out;
	}
	s->id = sqlite3_last_insert_rowid(srv->db);
	/* Committed before the first byte is relayed (R13). */
	if ((r = db_commit(srv->db)) != 0)
		goto out;
	uv_timer_init(srv->loop, &s->persist);
	uv_timer_init(srv->loop, &s->idle);
	s->persist.data = s->idle.data = s;
	s->open_handles = 2;
	uv_timer_start(&s->persist, on_persist, PERSIST_MS, PERSIST_MS);
	idle_arm(s);
	e->session = s;
	e->nconsented = 0;
	if (e->peer != NULL) {
		struct qh_buf b;

		qh_buf_init(&b, 256);
		if (qh_msg_begin(&b, QH_MSG_SESSION) == 0 &&
		    qh_msg_put_str(&b, QH_K_KIND, "opened") == 0 &&
		    qh_msg_put_u64(&b, QH_K_SESSION, (uint64_t)s->id) == 0)
			(void)qh_mux_send_control(e->peer->mux, &b);
		qh_buf_release(&b);
	}
	qh_info("session %" PRId64 ": opened for %s (agent %s, code %s)", s->id,
	    e->customer, e->agent_id, e->code);
	s = NULL;
out:
	db_done(st);
	if (r != 0)
		db_rollback(srv->db);
	free(s);
	return r;
}

void
session_attach(struct session *s, struct relay *r)
{
	meter_attach(&s->meter, qh_clock_mono_ms());
	idle_arm(s);
}

void
session_detach(struct session *s, struct relay *r)
{
	meter_detach(&s->meter, qh_clock_mono_ms());
	idle_arm(s);
}

void
session_agent_away(struct session *s)
{
	meter_agent(&s->meter, 0, qh_clock_mono_ms());
	s->gap_event = event_add(s, "agent_gap", NULL, NULL, NULL, 0);
}

void
session_agent_back(struct session *s)
{
	meter_agent(&s->meter, 1, qh_clock_mono_ms());
	event_end(s, s->gap_event, NULL);
	s->gap_event = 0;
}

/* Records an attach interval: the relay's command from now until it ends. */
int64_t
session_event_attach(struct session *s, const char *login, const char *command)
{
	return event_add(s, "attach", login, command, NULL, 0);
}

void
session_event_end(struct session *s, int64_t id, const char *detail)
{
	event_end(s, id, detail);
}

int64_t
session_event_note(struct session *s, const char *kind, const char *login,
    const char *command, const char *detail)
{
	return event_add(s, kind, login, command, detail, 1);
}

static void
session_freed(uv_handle_t *h)
{
	struct session *s = h->data;

	if (--s->open_handles == 0)
		free(s);
}

static void
send_closed(struct entry *e, struct session *s, int64_t secs, const char *text)
{
	struct qh_buf b;

	if (e->peer == NULL)
		return;
	qh_buf_init(&b, 4096);
	if (qh_msg_begin(&b, QH_MSG_SESSION) == 0 &&
	    qh_msg_put_str(&b, QH_K_KIND, "closed") == 0 &&
	    qh_msg_put_u64(&b, QH_K_SESSION, (uint64_t)s->id) == 0 &&
	    qh_msg_put_u64(&b, QH_K_SECONDS, (uint64_t)secs) == 0 &&
	    qh_msg_put_str(&b, QH_K_TEXT, text) == 0)
		(void)qh_mux_send_control(e->peer->mux, &b);
	qh_buf_release(&b);
}

/* Writes the close and its debit in one transaction (R4). */
int
session_record_close(sqlite3 *db, int64_t id, const char *reason, const char *note,
    int64_t secs, struct ledger_entry *debit)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "UPDATE sessions SET closed_at = ?1, close_reason = ?2, "
		 "billable_seconds = ?3, persisted_at = ?1, note = ?4 "
		 "WHERE id = ?5 AND closed_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, secs);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "closing the session");
		goto out;
	}
	db_done(st);
	st = NULL;
	if ((r = db_stmt(db,
		 "UPDATE session_events SET ended_at = ?1 "
		 "WHERE session_id = ?2 AND ended_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "closing the session's events");
		goto out;
	}
	if ((r = ledger_post_session(db, id, debit)) != 0)
		goto out;
	r = db_commit(db);
out:
	db_done(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int
session_close(struct session *s, const char *reason, const char *note, const char *by,
    char *summary, size_t summarylen)
{
	struct entry *e = s->entry;
	struct ledger_entry debit;
	char dur[32], why[128], left[64];
	uint64_t ms;
	int64_t secs;
	int r;

	memset(&debit, 0, sizeof(debit));
	if (s->closing)
		return 0;
	s->closing = 1;
	/* Relays end first: their detach stops the meter at this instant. */
	if (by != NULL)
		snprintf(why, sizeof(why), "the session was ended by %s", by);
	else
		snprintf(why, sizeof(why), "the session was closed (%s)", reason);
	relay_end_all(e, why);
	meter_stop(&s->meter, qh_clock_mono_ms());
	ms = session_ms(s);
	secs = (int64_t)((ms + 999) / 1000); /* every started second counts */
	if ((r = session_record_close(s->srv->db, s->id, reason, note, secs, &debit)) !=
	    0)
		qh_error("session %" PRId64 ": close not recorded (%s); the next "
			 "start closes it at its last persisted point",
		    s->id, qh_strerror(r));
	qh_clock_format_duration(secs, dur, sizeof(dur));
	qh_units_text(debit.balance_after, left, sizeof(left));
	if (r != 0)
		snprintf(summary, summarylen,
		    "session %" PRId64 " closed (%s): billable "
		    "time %s; the debit could not be recorded yet",
		    s->id, reason, dur);
	else if (debit.installations < 0)
		snprintf(summary, summarylen,
		    "session %" PRId64 " closed (%s): billable "
		    "time %s, 1 installation debited",
		    s->id, reason, dur);
	else
		snprintf(summary, summarylen,
		    "session %" PRId64 " closed (%s): billable "
		    "time %s, %" PRId64 " unit%s debited, balance %s",
		    s->id, reason, dur, -debit.units, debit.units == -1 ? "" : "s", left);
	if (r == 0 && (debit.crossed_threshold || debit.crossed_zero))
		notify_kick(s->srv);
	qh_info("%s", summary);
	send_closed(e, s, secs, summary);
	e->session = NULL;
	e->nconsented = 0;
	uv_close((uv_handle_t *)&s->persist, session_freed);
	uv_close((uv_handle_t *)&s->idle, session_freed);
	return r;
}

int
session_recover(struct server *srv)
{
	sqlite3 *db = srv->db;
	sqlite3_stmt *st = NULL;
	struct ledger_entry debit;
	int64_t ids[256];
	int r, rc, n = 0, i, total = 0;

	/* In batches, each in one transaction: close at the last persisted point, debit.
	 */
	do {
		if ((r = db_begin(db)) != 0)
			return r;
		n = 0;
		if ((r = db_stmt(db,
			 "SELECT id FROM sessions WHERE closed_at IS NULL "
			 "ORDER BY id LIMIT 256",
			 &st)) != 0)
			goto out;
		while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(st, 0);
		db_done(st);
		st = NULL;
		/* Nothing after the last persisted point is billed (R13). */
		if ((r = db_exec(db,
			 "UPDATE session_events SET ended_at = (SELECT "
			 "persisted_at FROM sessions WHERE sessions.id = "
			 "session_events.session_id) "
			 "WHERE ended_at IS NULL")) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			if ((r = db_stmt(db,
				 "UPDATE sessions SET closed_at = persisted_at, "
				 "close_reason = 'crash_recovery' WHERE id = ?1",
				 &st)) != 0)
				goto out;
			sqlite3_bind_int64(st, 1, ids[i]);
			rc = sqlite3_step(st);
			db_done(st);
			st = NULL;
			if (rc != SQLITE_DONE) {
				r = db_error(db, rc, "recovering a session");
				goto out;
			}
			r = ledger_post_session(db, ids[i], &debit);
			if (r == QH_ERR_EXISTS)
				r = 0; /* debited already: never twice */
			if (r != 0)
				goto out;
		}
		if ((r = db_commit(db)) != 0)
			goto out;
		total += n;
	} while (n == 256);
	if (total > 0)
		qh_info("closed and debited %d session(s) left open by the last run",
		    total);
	return 0;
out:
	db_done(st);
	db_rollback(db);
	return r;
}
