/*
 * The outbox: every message an event causes, written in that event's
 * transaction (store.h explains the contract), and what the daemon and
 * `qh-console outbox` read and record of their delivery.
 *
 * A message's data is a JSON object of the figures it will say, made here
 * with SQLite's json_object() from the rows the transaction just wrote, so
 * the daemon renders it later without asking the database again and a
 * message says what was true when its event happened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

#define EVENT_MAX 160 /* bytes of an event's name with its audience */

/* The statements that queue one audience's row; ?1 event, ?2 kind, ?3 customer,
 * ?4 data, ?5 now. An event queued before stays as it is. */
static const char sql_customer[] =
    "INSERT INTO outbox (event, kind, channel, audience, customer_id, lang, "
    "recipients, data, token, created_at, next_at) "
    "SELECT ?1, ?2, 'mail', 'customer', c.id, c.lang, "
    "(SELECT group_concat(address, char(10)) FROM (SELECT address FROM "
    "customer_emails WHERE customer_id = c.id ORDER BY seq)), ?4, "
    "lower(hex(randomblob(12))), ?5, ?5 FROM customers c WHERE c.id = ?3 AND "
    "EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = c.id) "
    "ON CONFLICT (event) DO NOTHING";
static const char sql_staff[] =
    "INSERT INTO outbox (event, kind, channel, audience, customer_id, data, token, "
    "created_at, next_at) VALUES (?1, ?2, 'mail', 'staff', ?3, ?4, "
    "lower(hex(randomblob(12))), ?5, ?5) ON CONFLICT (event) DO NOTHING";
static const char sql_command[] =
    "INSERT INTO outbox (event, kind, channel, audience, customer_id, data, token, "
    "created_at, next_at) VALUES (?1, ?2, 'command', 'command', ?3, ?4, "
    "lower(hex(randomblob(12))), ?5, ?5) ON CONFLICT (event) DO NOTHING";

/* Queues the row of one audience. */
static int
queue_one(sqlite3 *db, const char *sql, const struct outbox_new *m, const char *audience,
    const char *now)
{
	sqlite3_stmt *st = NULL;
	char event[EVENT_MAX];
	int r, rc;

	if ((size_t)snprintf(event, sizeof(event), "%s:%s", m->event, audience) >=
	    sizeof(event))
		return QH_ERR_TOO_LARGE;
	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	db_done(st);
	if ((r = db_error(db, rc, "queueing a message")) == 0 && sqlite3_changes(db) > 0)
		qh_debug("outbox: %s queued", event);
	return r;
}

int
outbox_add(sqlite3 *db, const struct outbox_new *m)
{
	char now[32];
	int r = 0;

	if (strlen(m->data) > OUTBOX_DATA_MAX)
		return QH_ERR_TOO_LARGE;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((m->to & OUTBOX_TO_CUSTOMER) && m->customer != NULL)
		r = queue_one(db, sql_customer, m, "customer", now);
	if (r == 0 && (m->to & OUTBOX_TO_STAFF))
		r = queue_one(db, sql_staff, m, "staff", now);
	if (r == 0 && (m->to & OUTBOX_TO_COMMAND))
		r = queue_one(db, sql_command, m, "command", now);
	return r;
}

/*
 * Runs sql (one row: customer id, kind, data, or no row) with id bound to
 * ?1 and queues what it gives as event to the audiences in to. text, when
 * not NULL, is bound to ?2, kind to ?3 and ref to ?4.
 */
static int
queue_from(sqlite3 *db, const char *sql, int64_t id, const char *text, const char *kind,
    int64_t ref, const char *event, unsigned to)
{
	struct outbox_new m;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ref);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.customer = (const char *)sqlite3_column_text(st, 0);
		m.kind = (const char *)sqlite3_column_text(st, 1);
		m.data = (const char *)sqlite3_column_text(st, 2);
		m.event = event;
		m.to = to;
		r = m.kind != NULL && m.data != NULL ? outbox_add(db, &m) : 0;
	} else
		r = db_error(db, rc, "reading what a message says");
	db_done(st);
	return r;
}

int
outbox_notification(sqlite3 *db, int64_t notification)
{
	char event[64];

	snprintf(event, sizeof(event), "notification:%" PRId64, notification);
	/* The document notify_command has always read, and the mails' figures. */
	return queue_from(db,
	    "SELECT n.customer_id, CASE n.kind WHEN 'zero' THEN 'balance_zero' ELSE "
	    "'balance_low' END, json_object('notification', n.id, 'customer', "
	    "n.customer_id, 'name', c.name, 'kind', n.kind, 'balance_units', n.balance, "
	    "'warn_units', c.warn_units, 'entry_id', n.entry_id, 'created_at', "
	    "n.created_at) FROM notifications n JOIN customers c ON c.id = "
	    "n.customer_id WHERE n.id = ?1",
	    notification, NULL, NULL, 0, event,
	    OUTBOX_TO_CUSTOMER | OUTBOX_TO_STAFF | OUTBOX_TO_COMMAND);
}

int
outbox_purchase(sqlite3 *db, int64_t entry)
{
	char event[64];

	snprintf(event, sizeof(event), "entry:%" PRId64, entry);
	return queue_from(db,
	    "SELECT l.customer_id, 'purchase', json_object('entry', l.id, 'kind', "
	    "l.kind, 'posted_at', l.posted_at, 'customer', l.customer_id, 'name', "
	    "c.name, 'units', l.units, 'installations', l.installations, "
	    "'unit_price_cents', CASE WHEN l.units > 0 THEN (SELECT k.unit_price_cents "
	    "FROM lots k WHERE k.entry_id = l.id ORDER BY k.id LIMIT 1) WHEN "
	    "l.installations > 0 THEN l.amount_cents / l.installations END, "
	    "'amount_cents', l.amount_cents, 'currency', l.currency, 'reference', "
	    "l.reference, 'balance_after', l.balance_after, 'installations_after', "
	    "(SELECT coalesce(sum(x.installations), 0) FROM ledger x WHERE "
	    "x.customer_id = l.customer_id AND x.installations <> 0 AND x.id <= "
	    "l.id)) FROM ledger l JOIN "
	    "customers c ON c.id = l.customer_id WHERE l.id = ?1 AND l.kind IN "
	    "('purchase', 'installation_purchase')",
	    entry, NULL, NULL, 0, event, OUTBOX_TO_CUSTOMER);
}

int
outbox_session_report(sqlite3 *db, int64_t session)
{
	char event[64];

	snprintf(event, sizeof(event), "session:%" PRId64, session);
	/* No report for a session that debited nothing. */
	return queue_from(db,
	    "SELECT s.customer_id, 'session_report', json_object('session', s.id, "
	    "'customer', s.customer_id, 'name', c.name, 'kind', s.kind, 'ticket', "
	    "s.ticket_id, 'opened_at', s.opened_at, 'closed_at', s.closed_at, "
	    "'close_reason', s.close_reason, 'billable_seconds', s.billable_seconds, "
	    "'units', -l.units, 'installations', -l.installations, 'balance_after', "
	    "l.balance_after, 'installations_after', (SELECT "
	    "coalesce(sum(x.installations), 0) FROM ledger x WHERE x.customer_id = "
	    "l.customer_id AND x.installations <> 0 AND x.id <= l.id), 'note', "
	    "s.note, 'entry', l.id, "
	    "'technicians', json((SELECT json_group_array(json_object('login', "
	    "t.login, 'name', coalesce((SELECT h.name FROM technicians h WHERE h.login "
	    "= t.login), t.login))) FROM (SELECT login, min(id) AS first FROM "
	    "session_events WHERE session_id = s.id AND kind = 'attach' AND login IS "
	    "NOT NULL GROUP BY login ORDER BY first) t))) FROM sessions s JOIN ledger "
	    "l ON l.session_id = s.id JOIN customers c ON c.id = s.customer_id WHERE "
	    "s.id = ?1 AND (l.units <> 0 OR l.installations <> 0)",
	    session, NULL, NULL, 0, event, OUTBOX_TO_CUSTOMER);
}

/* 1 if kind is a warning for staff about a ticket, else 0. */
static int
staff_kind(const char *kind)
{
	return strcmp(kind, "ticket_due_soon") == 0 ||
	    strcmp(kind, "ticket_overdue") == 0;
}

int
outbox_ticket(sqlite3 *db, int64_t ticket, const char *kind, int64_t ref,
    const char *text)
{
	char event[96];

	if (strlen(kind) > 32)
		return QH_ERR_ARG;
	if (ref != 0)
		snprintf(event, sizeof(event), "ticket:%" PRId64 ":%s:%" PRId64, ticket,
		    kind, ref);
	else
		snprintf(event, sizeof(event), "ticket:%" PRId64 ":%s", ticket, kind);
	/*
	 * An appointment carries the confirmed proposal and how many were
	 * confirmed before (the calendar's SEQUENCE of the one event).
	 */
	return queue_from(db,
	    "SELECT t.customer_id, ?3, json_object('ticket', t.id, 'customer', "
	    "t.customer_id, 'name', c.name, 'subject', t.subject, 'kind', t.kind, "
	    "'plan', t.plan, 'status', t.status, 'created_at', t.created_at, "
	    "'due_at', t.due_at, 'deadline_at', t.deadline_at, 'text', coalesce(?2, "
	    "CASE WHEN ?3 = 'ticket_closed' THEN t.close_note END), 'ref', ?4, "
	    "'appointment', CASE WHEN ?3 = 'appointment' THEN json((SELECT "
	    "json_object('slot', p.slot, 'local_time', p.local_time, 'utc_offset', "
	    "p.utc_offset, 'starts_at', p.starts_at, 'confirmed_at', p.confirmed_at, "
	    "'confirmed_by', p.confirmed_by, 'sequence', (SELECT count(*) FROM outbox "
	    "o WHERE o.event LIKE 'ticket:' || t.id || ':appointment:%:customer')) "
	    "FROM ticket_proposals p WHERE p.ticket_id = t.id AND p.confirmed = 1)) "
	    "END) FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id "
	    "= ?1",
	    ticket, text, kind, ref, event,
	    staff_kind(kind) ? OUTBOX_TO_STAFF : OUTBOX_TO_CUSTOMER);
}

#define DUE_BATCH 256

int
db_ticket_due_alerts(sqlite3 *db, const struct console_conf *conf, int64_t now,
    int *queued)
{
	sqlite3_stmt *st = NULL;
	int64_t ids[DUE_BATCH], due[DUE_BATCH], soon;
	int alerted[DUE_BATCH];
	int n = 0, i, r, rc = SQLITE_DONE;

	*queued = 0;
	if ((r = db_begin(db)) != 0)
		return r;
	/* The tickets not warned about as overdue yet, and whether warned as due soon. */
	if ((r = db_stmt(db,
		 "SELECT t.id, t.due_at, EXISTS (SELECT 1 FROM outbox o WHERE o.event = "
		 "'ticket:' || t.id || ':ticket_due_soon:staff') FROM tickets t WHERE "
		 "t.status = 'open' AND NOT EXISTS (SELECT 1 FROM "
		 "outbox o WHERE o.event = 'ticket:' || t.id || ':ticket_overdue:staff') "
		 "ORDER BY t.due_at LIMIT 256",
		 &st)) != 0)
		goto out;
	while (n < DUE_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(st, 0);
		alerted[n] = sqlite3_column_int(st, 2);
		if (qh_clock_parse_utc((const char *)sqlite3_column_text(st, 1),
			&due[n]) == 0)
			n++;
	}
	r = n < DUE_BATCH ? db_error(db, rc, "open tickets") : 0;
	db_done(st);
	if (r != 0)
		goto out;
	if ((r = calendar_add_business(conf, now, TICKET_DUE_SOON_MINUTES, &soon)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (now >= due[i])
			r = outbox_ticket(db, ids[i], "ticket_overdue", 0, NULL);
		else if (soon >= due[i] && !alerted[i])
			r = outbox_ticket(db, ids[i], "ticket_due_soon", 0, NULL);
		else
			continue;
		if (r != 0)
			goto out;
		(*queued)++;
	}
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

/* --------------------------------------------------------------- delivery */

#define OUTBOX_COLUMNS                                                                   \
	"SELECT id, event, kind, channel, audience, customer_id, lang, recipients, "     \
	"data, token, created_at, status, next_at, last_attempt_at, attempts, answer, "  \
	"message_id, sent_to, sent_at FROM outbox "

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void
row_of(sqlite3_stmt *st, struct outbox_row *m)
{
	m->id = sqlite3_column_int64(st, 0);
	m->event = col(st, 1);
	m->kind = col(st, 2);
	m->channel = col(st, 3);
	m->audience = col(st, 4);
	m->customer = col(st, 5);
	m->lang = col(st, 6);
	m->recipients = col(st, 7);
	m->data = col(st, 8);
	m->token = col(st, 9);
	m->created_at = col(st, 10);
	m->status = col(st, 11);
	m->next_at = col(st, 12);
	m->last_attempt_at = col(st, 13);
	m->attempts = sqlite3_column_int64(st, 14);
	m->answer = col(st, 15);
	m->message_id = col(st, 16);
	m->sent_to = col(st, 17);
	m->sent_at = col(st, 18);
}

int
db_outbox_next(sqlite3 *db, const char *channel, int64_t now,
    int (*take)(void *arg, const struct outbox_row *m), void *arg)
{
	struct outbox_row m;
	sqlite3_stmt *st = NULL;
	char at[32];
	int r, rc;

	qh_clock_format_utc(now, at, sizeof(at));
	if ((r = db_stmt(db,
		 OUTBOX_COLUMNS "WHERE channel = ?1 AND status = 'queued' AND next_at <= "
				"?2 ORDER BY next_at, id LIMIT 1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_of(st, &m);
		r = take(arg, &m);
		r = r < 0 ? r : 1;
	} else
		r = db_error(db, rc, "the next message");
	db_done(st);
	return r;
}

int
db_outbox_next_due(sqlite3 *db, const char *channel, int64_t *when)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*when = 0;
	if ((r = db_stmt(db,
		 "SELECT min(next_at) FROM outbox WHERE channel = ?1 AND status = "
		 "'queued'",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && col(st, 0) != NULL)
		(void)qh_clock_parse_utc(col(st, 0), when);
	r = db_error(db, rc, "when the next message is due");
	db_done(st);
	return r;
}

/* Runs st, a statement of this file that changes rows, in its own transaction. */
static int
run_write(sqlite3 *db, sqlite3_stmt *st, const char *what, int *changed)
{
	int r, rc;

	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, what)) != 0)
		return r;
	if (changed != NULL)
		*changed = sqlite3_changes(db);
	return 0;
}

int
db_outbox_attempt(sqlite3 *db, int64_t id, const struct outbox_attempt *a)
{
	sqlite3_stmt *st = NULL;
	char now[32], next[32];
	int r;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	qh_clock_format_utc(a->next_at > 0 ? a->next_at : qh_clock_now(), next,
	    sizeof(next));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "UPDATE outbox SET status = ?2, attempts = attempts + ?3, answer = "
		 "coalesce(?4, answer), message_id = coalesce(?5, message_id), sent_to = "
		 "coalesce(?6, sent_to), last_attempt_at = CASE WHEN ?3 THEN ?7 ELSE "
		 "last_attempt_at END, sent_at = CASE WHEN ?2 IN ('sent', 'skipped') "
		 "THEN "
		 "?7 END, next_at = ?8 WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, a->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, a->counted ? 1 : 0);
	sqlite3_bind_text(st, 4, a->answer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->sent_to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, next, -1, SQLITE_STATIC);
	r = run_write(db, st, "recording a delivery attempt", NULL);
	db_done(st);
	if (r == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_outbox_wake(sqlite3 *db, const char *channel, int *woken)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r;

	*woken = 0;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "UPDATE outbox SET next_at = ?2 WHERE channel = ?1 AND status = "
		 "'queued' AND next_at > ?2",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	r = run_write(db, st, "waking the queued messages", woken);
	db_done(st);
	if (r == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_outbox_prune(sqlite3 *db, int64_t before, int *pruned)
{
	sqlite3_stmt *st = NULL;
	char at[32];
	int r;

	*pruned = 0;
	qh_clock_format_utc(before, at, sizeof(at));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "DELETE FROM outbox WHERE status IN ('sent', 'skipped') AND sent_at < "
		 "?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
	r = run_write(db, st, "pruning the outbox", pruned);
	db_done(st);
	if (r == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_outbox_list(sqlite3 *db, int failed_only,
    int (*row)(void *arg, const struct outbox_row *m), void *arg)
{
	struct outbox_row m;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 failed_only ? OUTBOX_COLUMNS "WHERE status = 'failed' OR (status = "
					      "'queued' AND attempts > 0) ORDER BY id "
					      "DESC"
			     : OUTBOX_COLUMNS "ORDER BY id DESC",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_of(st, &m);
		if ((r = row(arg, &m)) != 0)
			goto out;
	}
	r = db_error(db, rc, "listing the outbox");
out:
	sqlite3_finalize(st);
	return r;
}
