/*
 * The console's rules for tickets: due times in business hours, the rules
 * for proposed appointments, and where the content-addressed attachment
 * store keeps a file.
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
	if (strcmp(t->kind, "installation") != 0)
		return 0;
	if (t->nslots == 0) {
		snprintf(why, whylen,
		    "installation tickets need at least one proposed "
		    "appointment (--propose YYYY-MM-DDTHH:MM)");
		return QH_ERR_REFUSED;
	}
	if (outside && t->nslots < 2) {
		snprintf(why, whylen,
		    "installations outside business hours need at least "
		    "two proposed appointments");
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
		 "idem_key) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return r;
}
