/*
 * Tickets as conversations: replies of the customer and of the vendor's
 * staff, the vendor's requests for more information, and who owns a
 * ticket. Each change is one transaction that writes the message with its
 * attachments and moves the ticket's status and due clock (store.h says
 * how), so a ticket never shows a reply without its new status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "store.h"

/* Text of column i, or NULL for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* UTC seconds of a stored time; 0 for NULL or a malformed one. */
static int64_t
col_time(sqlite3_stmt *st, int i)
{
	int64_t t = 0;

	if (col(st, i) == NULL || qh_clock_parse_utc(col(st, i), &t) != 0)
		return 0;
	return t;
}

/* Runs a prepared statement that returns no rows, and finalizes it. */
static int
run_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, what);
}

int
db_ticket_state(sqlite3 *db, int64_t id, struct ticket_state *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = db_prepare(db,
		 "SELECT customer_id, status, assigned_to, due_at, deadline_at, "
		 "paused_at FROM tickets WHERE id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->id = id;
		snprintf(out->customer, sizeof(out->customer), "%s",
		    col(st, 0) != NULL ? col(st, 0) : "");
		snprintf(out->status, sizeof(out->status), "%s",
		    col(st, 1) != NULL ? col(st, 1) : "");
		snprintf(out->assigned_to, sizeof(out->assigned_to), "%s",
		    col(st, 2) != NULL ? col(st, 2) : "");
		out->due = col_time(st, 3);
		out->deadline = col_time(st, 4);
		out->paused = col_time(st, 5);
	} else
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "ticket");
	sqlite3_finalize(st);
	return r;
}

/*
 * The customer's mail about a staff message: kind "ticket_answered" for a
 * reply, "ticket_need_info" for a request for information, with the text.
 * It belongs in this transaction (outbox_ticket, store/outbox.c), so that
 * a reply is never without its mail nor a mail without its reply.
 */
static int
ticket_mail(sqlite3 *db, int64_t ticket, const char *kind, int64_t message,
    const char *text, size_t len)
{
	char *z;
	int r;

	/* The text is counted, not terminated (an upload's buffer). */
	if ((z = malloc(len + 1)) == NULL)
		return QH_ERR_NOMEM;
	memcpy(z, text, len);
	z[len] = '\0';
	r = outbox_ticket(db, ticket, kind, message, z);
	free(z);
	return r;
}

/*
 * The message an idempotency key names: 1 with its id and ticket, author
 * and number; 0 when the key is new.
 */
static int
message_by_key(sqlite3 *db, const char *key, int64_t *id, int64_t *ticket, char *author,
    size_t authorlen, int *seq)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, ticket_id, author, seq FROM ticket_messages "
		 "WHERE idem_key = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*ticket = sqlite3_column_int64(st, 1);
		snprintf(author, authorlen, "%s", col(st, 2) != NULL ? col(st, 2) : "");
		*seq = sqlite3_column_int(st, 3);
		r = 1;
	} else
		r = db_error(db, rc, "message by key");
	sqlite3_finalize(st);
	return r;
}

/* An integer from a query with one row and one column, bound to ticket id. */
static int
count_of(sqlite3 *db, const char *sql, int64_t id, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*n = 0;
	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = db_error(db, rc, "count");
	sqlite3_finalize(st);
	return r;
}

/* 1 if ticket id has an attachment named name, 0 if not, <0 on errors. */
static int
name_taken(sqlite3 *db, int64_t id, const char *name)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT 1 FROM ticket_attachments WHERE ticket_id = ?1 AND name = ?2",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? 1 : db_error(db, rc, "attachment name");
	sqlite3_finalize(st);
	return r;
}

/*
 * "NAME (k).EXT" for name into out (QH_TICKET_NAME_MAX + 1 bytes): the
 * extension is what follows the last dot that does not start the name;
 * the base is cut at a character boundary when the whole would be too long.
 */
static void
numbered_name(const char *name, int k, char *out, size_t len)
{
	const char *dot = strrchr(name, '.');
	size_t base, ext, room;
	char tag[16];

	if (dot == NULL || dot == name)
		dot = name + strlen(name);
	snprintf(tag, sizeof(tag), " (%d)", k);
	base = (size_t)(dot - name);
	ext = strlen(dot);
	room = len - 1 - strlen(tag);
	if (ext > room / 2)
		ext = 0, dot = ""; /* an absurd extension is not kept */
	if (base + ext > room)
		base = room - ext;
	/* Back off continuation bytes: the cut falls between characters. */
	while (base > 0 && ((unsigned char)name[base] & 0xc0) == 0x80)
		base--;
	if ((size_t)snprintf(out, len, "%.*s%s%s", (int)base, name, tag, dot) >= len)
		out[0] = '\0'; /* cannot happen: room was counted */
}

/* Writes the attachments of message into ticket id, numbered on from the last. */
static int
insert_files(sqlite3 *db, int64_t id, int64_t message, const struct ticket_post *p,
    struct ticket_posted *out)
{
	sqlite3_stmt *st = NULL;
	char hex[65], name[QH_TICKET_NAME_MAX + 1];
	int64_t seq = 0, n = 0;
	int i, k, r;

	if ((r = count_of(db,
		 "SELECT coalesce(max(seq), 0) FROM ticket_attachments "
		 "WHERE ticket_id = ?1",
		 id, &seq)) != 0 ||
	    (r = count_of(db,
		 "SELECT count(*) FROM ticket_attachments WHERE ticket_id = ?1", id,
		 &n)) != 0)
		return r;
	if (n + p->nfiles > TICKET_ATTACHMENTS_MAX)
		return QH_ERR_LIMIT;
	for (i = 0; i < p->nfiles; i++) {
		snprintf(name, sizeof(name), "%s", p->files[i].name);
		for (k = 2; (r = name_taken(db, id, name)) == 1; k++)
			numbered_name(p->files[i].name, k, name, sizeof(name));
		if (r < 0)
			return r;
		if ((r = db_prepare(db,
			 "INSERT INTO ticket_attachments (ticket_id, seq, name, size, "
			 "sha256, message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			 &st)) != 0)
			return r;
		ticket_hex(p->files[i].hash, hex);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, seq + i + 1);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)p->files[i].size);
		sqlite3_bind_text(st, 5, hex, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, message);
		if ((r = run_done(db, st, "inserting an attachment")) != 0)
			return r;
		memcpy(out->names[i], name, sizeof(out->names[i]));
	}
	out->nfiles = p->nfiles;
	return 0;
}

/*
 * The due clock after the customer wrote, at now: after a request for
 * information it moves on by the business time the ticket waited; after
 * an answer it starts afresh. s holds the ticket's state before.
 */
static int
due_after_customer(const struct console_conf *conf, const char *plan,
    const struct ticket_state *s, int64_t now, int64_t *due, int64_t *deadline)
{
	int64_t left = 0;
	int r;

	*due = s->due;
	*deadline = s->deadline;
	if (strcmp(s->status, TICKET_ANSWERED) == 0)
		return ticket_due(conf, plan, now, due, deadline);
	if (strcmp(s->status, TICKET_WAITING) != 0 || s->paused == 0)
		return 0;
	/* What was left of each at the pause is left of it now. */
	if ((r = calendar_business_seconds(conf, s->paused, s->due, &left)) != 0 ||
	    (r = calendar_add_business(conf, now, left / 60, due)) != 0)
		return r;
	if (s->deadline != 0 &&
	    ((r = calendar_business_seconds(conf, s->paused, s->deadline, &left)) != 0 ||
		(r = calendar_add_business(conf, now, left / 60, deadline)) != 0))
		return r;
	return 0;
}

/* The ticket's plan into plan (16 bytes). */
static int
ticket_plan(sqlite3 *db, int64_t id, char *plan)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "SELECT plan FROM tickets WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(plan, 16, "%s", col(st, 0) != NULL ? col(st, 0) : "");
	else
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "plan");
	sqlite3_finalize(st);
	return r;
}

/* Writes the ticket's new status and clock (the state in s). */
static int
update_ticket(sqlite3 *db, const struct ticket_state *s, const char *now)
{
	sqlite3_stmt *st = NULL;
	char due[32], deadline[32], paused[32];
	int r;

	qh_clock_format_utc(s->due, due, sizeof(due));
	qh_clock_format_utc(s->deadline, deadline, sizeof(deadline));
	qh_clock_format_utc(s->paused, paused, sizeof(paused));
	if ((r = db_prepare(db,
		 "UPDATE tickets SET status = ?2, due_at = ?3, deadline_at = ?4, "
		 "paused_at = ?5, updated_at = ?6 WHERE id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, s->id);
	sqlite3_bind_text(st, 2, s->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, due, -1, SQLITE_STATIC);
	if (s->deadline != 0)
		sqlite3_bind_text(st, 4, deadline, -1, SQLITE_STATIC);
	if (s->paused != 0)
		sqlite3_bind_text(st, 5, paused, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	return run_done(db, st, "updating the ticket");
}

/* Checks what the post says before anything is read from the database. */
static int
post_valid(const struct ticket_actor *who, const struct ticket_post *p)
{
	if (p->len == 0 || p->len > TICKET_TEXT_MAX || p->text == NULL ||
	    !qh_utf8_valid((const uint8_t *)p->text, p->len) || p->nfiles < 0 ||
	    p->nfiles > QH_TICKET_FILES_MAX)
		return QH_ERR_ARG;
	if (strcmp(p->kind, "need") == 0)
		return who->customer ? QH_ERR_PERM : 0;
	return strcmp(p->kind, "reply") == 0 ? 0 : QH_ERR_ARG;
}

/*
 * A post whose key was used: the same message again if it is this
 * sender's on this ticket (1), else QH_ERR_EXISTS; 0 when the key is new.
 */
static int
post_again(sqlite3 *db, const struct ticket_actor *who, const struct ticket_post *p,
    struct ticket_posted *out)
{
	char author[128];
	int64_t ticket = 0;
	int r;

	if (p->key == NULL)
		return 0;
	if ((r = message_by_key(db, p->key, &out->message, &ticket, author,
		 sizeof(author), &out->seq)) != 1)
		return r;
	if (ticket != p->ticket ||
	    strcmp(author, who->customer ? who->agent_id : who->login) != 0)
		return QH_ERR_EXISTS;
	out->existed = 1;
	return db_ticket_state(db, p->ticket, &out->state) == 0 ? 1 : QH_ERR_DB;
}

int
db_ticket_post(sqlite3 *db, const struct console_conf *conf,
    const struct ticket_actor *who, const struct ticket_post *p,
    struct ticket_posted *out)
{
	struct ticket_state *s = &out->state;
	sqlite3_stmt *st = NULL;
	char now_s[32], plan[16];
	int64_t now = qh_clock_now(), n = 0, due = 0, deadline = 0;
	int staff = !who->customer, r;

	memset(out, 0, sizeof(*out));
	if ((r = post_valid(who, p)) != 0)
		return r;
	qh_clock_format_utc(now, now_s, sizeof(now_s));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = post_again(db, who, p, out)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	if ((r = db_ticket_state(db, p->ticket, s)) != 0)
		goto out;
	if (who->customer && strcmp(s->customer, who->customer_id) != 0) {
		r = QH_ERR_NOT_FOUND; /* another customer's: not theirs to know of */
		goto out;
	}
	if (strcmp(s->status, TICKET_CLOSED) == 0) {
		r = QH_ERR_CLOSED;
		goto out;
	}
	if ((r = count_of(db, "SELECT count(*) FROM ticket_messages WHERE ticket_id = ?1",
		 p->ticket, &n)) != 0)
		goto out;
	if (n >= TICKET_MESSAGES_MAX) {
		r = QH_ERR_LIMIT;
		goto out;
	}

	if ((r = db_prepare(db,
		 "INSERT INTO ticket_messages (ticket_id, seq, kind, side, author, "
		 "body, created_at, idem_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, p->ticket);
	sqlite3_bind_int64(st, 2, n + 1);
	sqlite3_bind_text(st, 3, p->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, staff ? "staff" : "customer", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, staff ? who->login : who->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->text, (int)p->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now_s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, p->key, -1, SQLITE_STATIC);
	if ((r = run_done(db, st, "inserting a message")) != 0)
		goto out;
	out->message = sqlite3_last_insert_rowid(db);
	out->seq = (int)n + 1;
	if ((r = insert_files(db, p->ticket, out->message, p, out)) != 0)
		goto out;

	/* The status and the due clock. */
	if (staff && strcmp(p->kind, "need") == 0) {
		if (strcmp(s->status, TICKET_WAITING) != 0)
			s->paused = now; /* a second question keeps the first pause */
		snprintf(s->status, sizeof(s->status), "%s", TICKET_WAITING);
	} else if (staff) {
		snprintf(s->status, sizeof(s->status), "%s", TICKET_ANSWERED);
		s->paused = 0;
	} else {
		if ((r = ticket_plan(db, p->ticket, plan)) != 0 ||
		    (r = due_after_customer(conf, plan, s, now, &due, &deadline)) != 0)
			goto out;
		s->due = due;
		s->deadline = deadline;
		s->paused = 0;
		snprintf(s->status, sizeof(s->status), "%s", TICKET_OPEN);
	}
	if ((r = update_ticket(db, s, now_s)) != 0)
		goto out;
	if (staff &&
	    (r = ticket_mail(db, p->ticket,
		 strcmp(p->kind, "need") == 0 ? "ticket_need_info" : "ticket_answered",
		 out->message, p->text, p->len)) != 0)
		goto out;
	r = db_commit(db);
	if (r == 0)
		qh_debug("ticket %lld: message %d (%s by %s %s); now %s",
		    (long long)p->ticket, out->seq, p->kind, staff ? "staff" : "customer",
		    staff ? who->login : who->agent_id, s->status);
out:
	if (r != 0 || out->existed)
		db_rollback(db);
	return r;
}

int
db_ticket_assign(sqlite3 *db, int64_t id, const char *login, struct ticket_state *out)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_ticket_state(db, id, out)) != 0)
		goto out;
	if (strcmp(out->status, TICKET_CLOSED) == 0) {
		r = QH_ERR_CLOSED;
		goto out;
	}
	if ((r = db_prepare(db,
		 "SELECT 1 FROM technicians WHERE login = ?1 AND role = 'technician' "
		 "AND revoked_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_ARG : db_error(db, rc, "technician");
		goto out;
	}
	if ((r = db_prepare(db,
		 "UPDATE tickets SET assigned_to = ?2, updated_at = ?3 WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if ((r = run_done(db, st, "assigning the ticket")) != 0)
		goto out;
	snprintf(out->assigned_to, sizeof(out->assigned_to), "%s", login);
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_ticket_messages(sqlite3 *db, int64_t id,
    int (*row)(void *arg, const struct message_row *m), void *arg)
{
	struct message_row m;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT m.id, m.seq, m.kind, m.side, m.author, "
		 "CASE m.side WHEN 'staff' THEN (SELECT name FROM technicians "
		 "WHERE login = m.author) ELSE (SELECT host FROM agents "
		 "WHERE id = m.author) END, m.body, m.created_at "
		 "FROM ticket_messages m WHERE m.ticket_id = ?1 ORDER BY m.seq",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		m.id = sqlite3_column_int64(st, 0);
		m.seq = sqlite3_column_int(st, 1);
		m.kind = col(st, 2);
		m.side = col(st, 3);
		m.author = col(st, 4);
		m.author_name = col(st, 5);
		m.text = col(st, 6);
		m.created_at = col(st, 7);
		if ((r = row(arg, &m)) != 0)
			goto out;
	}
	r = db_error(db, rc, "messages");
out:
	sqlite3_finalize(st);
	return r;
}
