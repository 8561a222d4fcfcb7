/*
 * Tickets: the console's rules for them (due times in business hours, the
 * rules for proposed appointments, where the content-addressed attachment
 * store keeps a file), filing one an agent sent, and the desk's side:
 * listing, showing, confirming an appointment and closing. The
 * conversation (replies, requests for information, assignment) is
 * conversation.c's.
 */
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "store.h"

int
ticket_due(const struct console_conf *conf, const char *plan, int64_t t, int64_t *due,
    int64_t *deadline)
{
	int64_t day = conf->close_min - conf->open_min;
	int r;

	*deadline = 0;
	if (strcmp(plan, "premium") == 0)
		return calendar_add_business(conf, t, TICKET_PREMIUM_MINUTES, due);
	if ((r = calendar_add_business(conf, t, day, due)) != 0)
		return r;
	return calendar_add_business(conf, t, 2 * day, deadline);
}

int
ticket_check_slots(const struct console_conf *conf, const struct qh_ticket *t,
    int64_t now, char *why, size_t whylen)
{
	int i, outside = 0;

	for (i = 0; i < t->nslots; i++) {
		if (t->slots[i].utc < now) {
			snprintf(why, whylen,
			    "the proposed appointment %s lies in the past",
			    t->slots[i].when);
			return QH_ERR_REFUSED;
		}
		if (calendar_after_hours(conf, t->slots[i].utc))
			outside = 1;
	}
	if (strcmp(t->kind, "installation") == 0 && t->nslots == 0) {
		snprintf(why, whylen,
		    "installation tickets need at least one proposed "
		    "appointment (--propose YYYY-MM-DDTHH:MM)");
		return QH_ERR_REFUSED;
	}
	/* The policy's "Support Zeit": outside business hours, two dates to choose from.
	 */
	if (outside && t->nslots < 2) {
		snprintf(why, whylen,
		    "%s outside business hours need at least two proposed "
		    "appointments",
		    strcmp(t->kind, "installation") == 0 ? "installations" : "sessions");
		return QH_ERR_REFUSED;
	}
	return 0;
}

void
ticket_hex(const uint8_t hash[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 15];
	}
	out[64] = '\0';
}

int
ticket_store_path(const char *state_dir, const char *hex, char *out, size_t len)
{
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return QH_ERR_ARG;
	if ((size_t)snprintf(out, len, "%s/attachments/%.2s/%s", state_dir, hex, hex) >=
	    len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
db_ticket_by_key(sqlite3 *db, const char *key, int64_t *id, char *agent, size_t agentlen,
    int64_t *due, int64_t *deadline)
{
	sqlite3_stmt *st = NULL;
	const char *s;
	int r = 0, rc;

	if (db_prepare(db,
		"SELECT id, agent_id, due_at, deadline_at FROM tickets "
		"WHERE idem_key = ?1",
		&st) != 0)
		return QH_ERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(agent, agentlen, "%s", (const char *)sqlite3_column_text(st, 1));
		*due = *deadline = 0;
		if (qh_clock_parse_utc((const char *)sqlite3_column_text(st, 2), due) !=
		    0)
			*due = 0;
		if ((s = (const char *)sqlite3_column_text(st, 3)) != NULL &&
		    qh_clock_parse_utc(s, deadline) != 0)
			*deadline = 0;
		r = 1;
	} else if (rc != SQLITE_DONE)
		r = db_error(db, rc, "ticket by key");
	sqlite3_finalize(st);
	return r;
}

/* Runs one prepared INSERT to completion and finalizes it. */
static int
step_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st), r;

	r = rc == SQLITE_DONE ? 0 : db_error(db, rc, what);
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_file(sqlite3 *db, const struct console_conf *conf, const char *customer,
    const char *agent_id, const struct qh_ticket *t, int64_t *id, int64_t *due,
    int64_t *deadline)
{
	sqlite3_stmt *st = NULL;
	char key[65], hex[65], agent[QH_ID_MAX + 1], plan[16], now_s[32], due_s[32],
	    dl_s[32], at[32];
	int64_t now = qh_clock_now();
	int i, r, rc;

	ticket_hex(t->key, key);
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_ticket_by_key(db, key, id, agent, sizeof(agent), due, deadline)) != 0)
		goto out; /* 1: filed meanwhile */
	if ((r = db_prepare(db, "SELECT plan FROM customers WHERE id = ?1", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "plan");
		goto out;
	}
	snprintf(plan, sizeof(plan), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = ticket_due(conf, plan, now, due, deadline)) != 0)
		goto out;
	qh_clock_format_utc(now, now_s, sizeof(now_s));
	qh_clock_format_utc(*due, due_s, sizeof(due_s));
	qh_clock_format_utc(*deadline, dl_s, sizeof(dl_s));

	if ((r = db_prepare(db,
		 "INSERT INTO tickets (customer_id, agent_id, kind, plan, "
		 "subject, steps, environment, created_at, due_at, deadline_at, "
		 "idem_key, updated_at) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?8)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, plan, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->subject, -1, SQLITE_STATIC);
	if (qh_buf_len(&t->steps) > 0)
		sqlite3_bind_text(st, 6, (const char *)qh_buf_ptr(&t->steps),
		    (int)qh_buf_len(&t->steps), SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 6, "", 0, SQLITE_STATIC);
	if (qh_buf_len(&t->env) > 0)
		sqlite3_bind_text(st, 7, (const char *)qh_buf_ptr(&t->env),
		    (int)qh_buf_len(&t->env), SQLITE_STATIC);
	sqlite3_bind_text(st, 8, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, due_s, -1, SQLITE_STATIC);
	if (*deadline != 0)
		sqlite3_bind_text(st, 10, dl_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, key, -1, SQLITE_STATIC);
	r = step_done(db, st, "insert ticket");
	st = NULL;
	if (r != 0)
		goto out;
	*id = sqlite3_last_insert_rowid(db);

	for (i = 0; i < t->nfiles; i++) {
		if ((r = db_prepare(db,
			 "INSERT INTO ticket_attachments (ticket_id, seq, "
			 "name, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
			 &st)) != 0)
			goto out;
		ticket_hex(t->files[i].hash, hex);
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int(st, 2, i + 1);
		sqlite3_bind_text(st, 3, t->files[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)t->files[i].size);
		sqlite3_bind_text(st, 5, hex, -1, SQLITE_STATIC);
		r = step_done(db, st, "insert attachment");
		st = NULL;
		if (r != 0)
			goto out;
	}
	for (i = 0; i < t->nslots; i++) {
		if ((r = db_prepare(db,
			 "INSERT INTO ticket_proposals (ticket_id, slot, "
			 "local_time, utc_offset, starts_at, after_hours) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			 &st)) != 0)
			goto out;
		qh_clock_format_utc(t->slots[i].utc, at, sizeof(at));
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int(st, 2, i + 1);
		sqlite3_bind_text(st, 3, t->slots[i].when, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, t->slots[i].offset);
		sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, calendar_after_hours(conf, t->slots[i].utc));
		r = step_done(db, st, "insert proposal");
		st = NULL;
		if (r != 0)
			goto out;
	}
	if ((r = outbox_ticket(db, *id, "ticket_received", 0, NULL)) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return r;
}

/* The desk: listing, showing, confirming and closing tickets. */

/* Text of column i, or NULL for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int
db_ticket_list(sqlite3 *db, const char *customer, int open_only,
    int (*row)(void *arg, const struct ticket_row *t), void *arg)
{
	struct ticket_row t;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT t.id, t.customer_id, c.name, t.plan, t.kind, t.subject, "
		 "t.status, t.created_at, t.due_at, t.deadline_at, "
		 "(SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = t.id), "
		 "(SELECT count(*) FROM ticket_proposals p WHERE p.ticket_id = t.id), "
		 "(SELECT slot FROM ticket_proposals p WHERE p.ticket_id = t.id AND "
		 "p.confirmed = 1), t.assigned_to, t.paused_at, t.updated_at, "
		 "(SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id) "
		 "FROM tickets t JOIN customers c ON c.id = t.customer_id "
		 "WHERE (?1 IS NULL OR t.customer_id = ?1) AND (?2 = 0 OR t.status <> "
		 "'closed') ORDER BY t.due_at, t.id",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, open_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t.id = sqlite3_column_int64(st, 0);
		t.customer = col(st, 1);
		t.customer_name = col(st, 2);
		t.plan = col(st, 3);
		t.kind = col(st, 4);
		t.subject = col(st, 5);
		t.status = col(st, 6);
		t.created_at = col(st, 7);
		t.due_at = col(st, 8);
		t.deadline_at = col(st, 9);
		t.attachments = sqlite3_column_int64(st, 10);
		t.proposals = sqlite3_column_int64(st, 11);
		t.confirmed_slot = sqlite3_column_int64(st, 12); /* 0 for NULL */
		t.assigned_to = col(st, 13);
		t.paused_at = col(st, 14);
		t.updated_at = col(st, 15);
		t.messages = sqlite3_column_int64(st, 16);
		if ((r = row(arg, &t)) != 0)
			goto out;
	}
	r = db_error(db, rc, "tickets");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_show(sqlite3 *db, int64_t id,
    int (*show)(void *arg, const struct ticket_view *t), void *arg)
{
	struct ticket_view t;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT t.id, t.customer_id, c.name, t.plan, t.agent_id, "
		 "a.host, t.kind, t.subject, t.steps, t.environment, t.status, "
		 "t.created_at, t.due_at, t.deadline_at, t.closed_at, t.closed_by, "
		 "t.close_note, t.assigned_to, t.paused_at, t.updated_at, "
		 "(SELECT name FROM technicians WHERE login = t.assigned_to) "
		 "FROM tickets t JOIN customers c ON c.id = t.customer_id "
		 "LEFT JOIN agents a ON a.id = t.agent_id WHERE t.id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "ticket");
		goto out;
	}
	t.id = sqlite3_column_int64(st, 0);
	t.customer = col(st, 1);
	t.customer_name = col(st, 2);
	t.plan = col(st, 3);
	t.agent = col(st, 4);
	t.host = col(st, 5);
	t.kind = col(st, 6);
	t.subject = col(st, 7);
	t.steps = col(st, 8);
	t.environment = col(st, 9);
	t.status = col(st, 10);
	t.created_at = col(st, 11);
	t.due_at = col(st, 12);
	t.deadline_at = col(st, 13);
	t.closed_at = col(st, 14);
	t.closed_by = col(st, 15);
	t.close_note = col(st, 16);
	t.assigned_to = col(st, 17);
	t.paused_at = col(st, 18);
	t.updated_at = col(st, 19);
	t.assigned_name = col(st, 20);
	r = show(arg, &t);
out:
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_attachments(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct attachment_row *a), void *arg)
{
	struct attachment_row a;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT seq, name, size, sha256, message_id FROM ticket_attachments "
		 "WHERE ticket_id = ?1 ORDER BY seq",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.seq = sqlite3_column_int(st, 0);
		a.name = col(st, 1);
		a.size = sqlite3_column_int64(st, 2);
		a.sha256 = col(st, 3);
		a.message = sqlite3_column_int64(st, 4); /* 0 for NULL */
		if ((r = row(arg, &a)) != 0)
			goto out;
	}
	r = db_error(db, rc, "attachments");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_proposals(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct proposal_row *p), void *arg)
{
	struct proposal_row p;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT slot, local_time, utc_offset, starts_at, after_hours, "
		 "confirmed, confirmed_at, confirmed_by FROM ticket_proposals "
		 "WHERE ticket_id = ?1 ORDER BY slot",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p.slot = sqlite3_column_int(st, 0);
		p.local_time = col(st, 1);
		p.utc_offset = sqlite3_column_int(st, 2);
		p.starts_at = col(st, 3);
		p.after_hours = sqlite3_column_int(st, 4);
		p.confirmed = sqlite3_column_int(st, 5);
		p.confirmed_at = col(st, 6);
		p.confirmed_by = col(st, 7);
		if ((r = row(arg, &p)) != 0)
			goto out;
	}
	r = db_error(db, rc, "proposals");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_sessions(sqlite3 *db, int64_t id, int (*row)(void *arg, int64_t session),
    void *arg)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id FROM sessions WHERE ticket_id = ?1 ORDER BY id", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = row(arg, sqlite3_column_int64(st, 0))) != 0)
			goto out;
	r = db_error(db, rc, "sessions of the ticket");
out:
	sqlite3_finalize(st);
	return r;
}

/* 1 if ticket id exists (its status, 16 bytes, into status), 0 if not, <0 on errors. */
static int
ticket_status(sqlite3 *db, int64_t id, char *status)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "SELECT status FROM tickets WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(status, 16, "%s", col(st, 0) != NULL ? col(st, 0) : "");
		r = 1;
	} else
		r = db_error(db, rc, "ticket");
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_attachment(sqlite3 *db, int64_t id, const char *name, uint64_t *size,
    char sha256[65])
{
	sqlite3_stmt *st = NULL;
	char status[16];
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT size, sha256 FROM ticket_attachments "
		 "WHERE ticket_id = ?1 AND name = ?2",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*size = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(sha256, 65, "%s", col(st, 1) != NULL ? col(st, 1) : "");
		r = 1;
	} else if ((r = db_error(db, rc, "attachment")) == 0)
		r = ticket_status(db, id, status) == 0 ? QH_ERR_NOT_FOUND : 0;
	sqlite3_finalize(st);
	return r;
}

/* The ticket must not be closed: 0, QH_ERR_NOT_FOUND, QH_ERR_CLOSED or an error. */
static int
ticket_open(sqlite3 *db, int64_t id)
{
	char status[16];
	int r;

	if ((r = ticket_status(db, id, status)) <= 0)
		return r == 0 ? QH_ERR_NOT_FOUND : r;
	return strcmp(status, "closed") != 0 ? 0 : QH_ERR_CLOSED;
}

/* Runs a prepared statement to its end and finalizes it. */
static int
run_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, what);
}

/* The number of proposals of ticket id into *n. */
static int
proposal_count(sqlite3 *db, int64_t id, int *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*n = 0;
	if ((r = db_prepare(db,
		 "SELECT count(*) FROM ticket_proposals WHERE ticket_id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int(st, 0);
	else
		r = db_error(db, rc, "proposals");
	sqlite3_finalize(st);
	return r;
}

/* The proposal slot of ticket id into out. */
static int
proposal_get(sqlite3 *db, int64_t id, int slot, struct ticket_slot *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT local_time, utc_offset, starts_at FROM ticket_proposals "
		 "WHERE ticket_id = ?1 AND slot = ?2",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, slot);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(out->local_time, sizeof(out->local_time), "%s",
		    col(st, 0) != NULL ? col(st, 0) : "");
		out->utc_offset = sqlite3_column_int(st, 1);
		snprintf(out->starts_at, sizeof(out->starts_at), "%s",
		    col(st, 2) != NULL ? col(st, 2) : "");
	} else
		r = rc == SQLITE_DONE ? QH_ERR_DB : db_error(db, rc, "proposal");
	sqlite3_finalize(st);
	return r;
}

int
db_ticket_confirm(sqlite3 *db, int64_t id, int slot, const char *actor,
    struct ticket_slot *out, int *nslots)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r;

	memset(out, 0, sizeof(*out));
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = ticket_open(db, id)) != 0 || (r = proposal_count(db, id, nslots)) != 0)
		goto out;
	if (slot < 1 || slot > *nslots) {
		r = QH_ERR_ARG;
		goto out;
	}
	/* One confirmed proposal per ticket: confirming another moves it. */
	if ((r = db_prepare(db,
		 "UPDATE ticket_proposals SET confirmed = (slot = ?2), "
		 "confirmed_at = CASE WHEN slot = ?2 THEN ?3 END, "
		 "confirmed_by = CASE WHEN slot = ?2 THEN ?4 END WHERE ticket_id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, slot);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
	/* The customer's confirmation, one per confirming (a moved one too). */
	if ((r = run_done(db, st, "confirming the proposal")) != 0 ||
	    (r = proposal_get(db, id, slot, out)) != 0 ||
	    (r = outbox_ticket(db, id, "appointment", qh_clock_now(), NULL)) != 0)
		goto out;
	if ((r = db_prepare(db, "UPDATE tickets SET updated_at = ?2 WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if ((r = run_done(db, st, "the ticket's change")) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_ticket_close(sqlite3 *db, int64_t id, const char *actor, const char *note)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = ticket_open(db, id)) != 0)
		goto out;
	if ((r = db_prepare(db,
		 "UPDATE tickets SET status = 'closed', closed_at = ?2, "
		 "closed_by = ?3, close_note = ?4, paused_at = NULL, updated_at = ?2 "
		 "WHERE id = ?1 AND status <> 'closed'",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	if ((r = run_done(db, st, "closing the ticket")) == 0 &&
	    (r = outbox_ticket(db, id, "ticket_closed", 0, NULL)) == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}
