/*
 * R5 notifications in the database: each threshold or zero crossing is a
 * row ledger_append() wrote with the debit that caused it; the daemon takes
 * them one at a time, least tried first, and records every delivery
 * attempt here.
 */
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "store.h"

/* Copies text column i into out ("" for NULL). */
static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, len, "%s", t != NULL ? (const char *)t : "");
}

int
db_notification_next(sqlite3 *db, int max_attempts, struct notification *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(n, 0, sizeof(*n));
	if ((r = db_stmt(db,
		 "SELECT n.id, n.customer_id, c.name, n.kind, n.balance, "
		 "c.warn_units, n.entry_id, n.created_at FROM notifications n JOIN "
		 "customers c ON c.id = n.customer_id WHERE n.delivered_at IS NULL AND "
		 "n.attempts < ?1 ORDER BY n.attempts, n.id LIMIT 1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int(st, 1, max_attempts);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n->id = sqlite3_column_int64(st, 0);
		col_copy(st, 1, n->customer, sizeof(n->customer));
		col_copy(st, 2, n->name, sizeof(n->name));
		col_copy(st, 3, n->kind, sizeof(n->kind));
		n->balance = sqlite3_column_int64(st, 4);
		n->warn_units = sqlite3_column_int64(st, 5);
		n->entry_id = sqlite3_column_int64(st, 6);
		col_copy(st, 7, n->created_at, sizeof(n->created_at));
		r = 1;
	} else
		r = db_error(db, rc, "the next notification");
	db_done(st);
	return r;
}

int
db_notification_attempt(sqlite3 *db, int64_t id, const char *error)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db,
		 error == NULL ? "UPDATE notifications SET attempts = attempts + 1, "
				 "delivered_at = ?1, last_error = NULL WHERE id = ?2"
			       : "UPDATE notifications SET attempts = attempts + 1, "
				 "last_error = ?3 WHERE id = ?2",
		 &st)) != 0)
		goto out;
	if (error == NULL)
		sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	db_done(st);
	if ((r = db_error(db, rc, "recording the delivery attempt")) == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}
