/*
 * What accounting reads: a customer's balance figures with the units
 * running in their open sessions (R3, R7, R13), the ledger export with each
 * entry's allocations to lots (R14), and the totals `verify` prints. Every
 * function only reads; the caller holds the read transaction.
 */
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "qh/units.h"
#include "store.h"

/* Text of column i, or NULL for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* The customer's name and plan into out; QH_ERR_NOT_FOUND when there is none. */
static int
customer_of(sqlite3 *db, const char *customer, struct balance_report *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "SELECT name, plan FROM customers WHERE id = ?1", &st)) !=
	    0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(out->name, sizeof(out->name), "%s", col(st, 0));
		snprintf(out->plan, sizeof(out->plan), "%s", col(st, 1));
	} else
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "customer");
	sqlite3_finalize(st);
	return r;
}

int
db_balance_report(sqlite3 *db, const char *customer, struct balance_report *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = customer_of(db, customer, out)) != 0 ||
	    (r = ledger_balance(db, customer, &out->b)) != 0)
		return r;
	/* Open sessions at their persisted billable time (R7, R13). */
	if ((r = db_prepare(db,
		 "SELECT billable_seconds FROM sessions WHERE "
		 "customer_id = ?1 AND closed_at IS NULL",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->running_units += qh_units(sqlite3_column_int64(st, 0));
		out->open_sessions++;
	}
	r = db_error(db, rc, "open sessions");
	sqlite3_finalize(st);
	out->available = billing_available(&out->b, out->running_units);
	return r;
}

/* The export's columns, in the order struct ledger_row is filled from. */
#define LEDGER_SELECT                                                                    \
	"SELECT l.id, l.posted_at, l.customer_id, l.kind, l.units, "                     \
	"l.balance_after, l.session_id, l.started_at, l.ended_at, l.billable_seconds, "  \
	"l.technician, l.after_hours, l.lot_id, l.amount_cents, l.currency, "            \
	"l.reference, l.note, l.entry_hash, l.installations, c.name, l.corrects, "       \
	"l.actor, l.prev_hash, l.schema_version "                                        \
	"FROM ledger l LEFT JOIN customers c ON c.id = l.customer_id "                   \
	"WHERE (?1 IS NULL OR l.customer_id = ?1) AND (?2 IS NULL OR l.posted_at >= "    \
	"?2) AND (?3 IS NULL OR l.posted_at < ?3) ORDER BY l.id"

/* Fills e from the row of LEDGER_SELECT at st. */
static void
ledger_row_of(sqlite3_stmt *st, struct ledger_row *e)
{
	e->id = sqlite3_column_int64(st, 0);
	e->posted_at = col(st, 1);
	e->customer = col(st, 2);
	e->kind = col(st, 3);
	e->units = sqlite3_column_int64(st, 4);
	e->balance_after = sqlite3_column_int64(st, 5);
	e->has_session = sqlite3_column_type(st, 6) != SQLITE_NULL;
	e->session_id = sqlite3_column_int64(st, 6);
	e->started_at = col(st, 7);
	e->ended_at = col(st, 8);
	e->has_billable = sqlite3_column_type(st, 9) != SQLITE_NULL;
	e->billable_seconds = sqlite3_column_int64(st, 9);
	e->technician = col(st, 10);
	e->after_hours = sqlite3_column_int64(st, 11);
	e->lot_id = col(st, 12);
	e->amount_cents = sqlite3_column_int64(st, 13);
	e->currency = col(st, 14);
	e->reference = col(st, 15);
	e->note = col(st, 16);
	e->entry_hash = col(st, 17);
	e->installations = sqlite3_column_int64(st, 18);
	e->customer_name = col(st, 19);
	e->has_corrects = sqlite3_column_type(st, 20) != SQLITE_NULL;
	e->corrects = sqlite3_column_int64(st, 20);
	e->actor = col(st, 21);
	e->prev_hash = col(st, 22);
	e->has_version = sqlite3_column_type(st, 23) != SQLITE_NULL;
	e->schema_version = sqlite3_column_int64(st, 23);
}

int
db_ledger_rows(sqlite3 *db, const struct ledger_filter *f,
    int (*row)(void *arg, const struct ledger_row *e), void *arg)
{
	struct ledger_row e;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, LEDGER_SELECT, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, f->customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->to, -1, SQLITE_STATIC);
	/* Row by row: the ledger may be larger than memory should hold. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_row_of(st, &e);
		if ((r = row(arg, &e)) != 0)
			goto out;
	}
	r = db_error(db, rc, "ledger");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_entry_allocations(sqlite3 *db, int64_t entry,
    int (*row)(void *arg, const struct allocation_row *a), void *arg)
{
	struct allocation_row a;
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* Once per exported entry: kept prepared. */
	if ((r = db_stmt(db,
		 "SELECT lot_id, units, amount_cents, posted_at "
		 "FROM allocations WHERE entry_id = ?1 ORDER BY id",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, entry);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.lot_id = sqlite3_column_int64(st, 0);
		a.units = sqlite3_column_int64(st, 1);
		a.amount_cents = sqlite3_column_int64(st, 2);
		a.posted_at = col(st, 3);
		if ((r = row(arg, &a)) != 0)
			goto out;
	}
	r = db_error(db, rc, "allocations");
out:
	db_done(st);
	return r;
}

/* One integer from a query without parameters, into *n. */
static int
count_of(sqlite3 *db, const char *sql, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = rc == SQLITE_DONE ? QH_ERR_DB : db_error(db, rc, "count");
	sqlite3_finalize(st);
	return r;
}

int
db_ledger_counts(sqlite3 *db, struct ledger_counts *n)
{
	int r;

	memset(n, 0, sizeof(*n));
	if ((r = count_of(db, "SELECT count(*) FROM ledger", &n->entries)) != 0 ||
	    (r = count_of(db, "SELECT count(*) FROM sessions WHERE closed_at IS NOT NULL",
		 &n->closed_sessions)) != 0)
		return r;
	return count_of(db, "SELECT count(DISTINCT customer_id) FROM ledger",
	    &n->customers);
}

int
db_ledger_last(sqlite3 *db, const char *customer, int n,
    int (*row)(void *arg, const struct ledger_row *e), void *arg)
{
	struct ledger_row e;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT l.id, l.posted_at, l.customer_id, l.kind, l.units, "
		 "l.balance_after, l.session_id, l.started_at, l.ended_at, "
		 "l.billable_seconds, l.technician, l.after_hours, l.lot_id, "
		 "l.amount_cents, l.currency, l.reference, l.note, l.entry_hash, "
		 "l.installations, c.name, l.corrects, l.actor, l.prev_hash "
		 "FROM ledger l JOIN customers c ON c.id = l.customer_id "
		 "WHERE l.customer_id = ?1 ORDER BY l.id DESC LIMIT ?2",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_row_of(st, &e);
		if ((r = row(arg, &e)) != 0)
			goto out;
	}
	r = db_error(db, rc, "ledger");
out:
	sqlite3_finalize(st);
	return r;
}
