/*
 * Customers in the database: adding one, listing them, the existence
 * check the admin commands make before they book or enrol, and whether
 * the technicians' view of their screen is recorded.
 */
#include <stdio.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "store.h"

int
db_customer_add(sqlite3 *db, const struct customer_new *c)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	/* Looked up under the write lock: no one adds it meanwhile. */
	if ((r = db_customer_exists(db, c->id)) != 0) {
		r = r == 1 ? QH_ERR_EXISTS : r;
		goto out;
	}
	if ((r = db_prepare(db,
		 "INSERT INTO customers (id, name, plan, warn_units, "
		 "overdraft_units, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->warn_units);
	sqlite3_bind_int64(st, 5, c->overdraft_units);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "adding the customer")) == 0)
		r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_customer_list(sqlite3 *db, int (*row)(void *arg, const struct customer_row *c),
    void *arg)
{
	struct customer_row c;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, name, plan, warn_units, overdraft_units, "
		 "created_at FROM customers ORDER BY id",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.id = (const char *)sqlite3_column_text(st, 0);
		c.name = (const char *)sqlite3_column_text(st, 1);
		c.plan = (const char *)sqlite3_column_text(st, 2);
		c.warn_units = sqlite3_column_int64(st, 3);
		c.overdraft_units = sqlite3_column_int64(st, 4);
		c.created_at = (const char *)sqlite3_column_text(st, 5);
		if ((r = row(arg, &c)) != 0)
			goto out;
	}
	r = db_error(db, rc, "listing customers");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_customer_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db, "SELECT 1 FROM customers WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? 1 : db_error(db, rc, "looking up the customer");
	db_done(st);
	return r;
}

int
db_customer_record_desktop(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db, "SELECT record_desktop FROM customers WHERE id = ?1",
		 &st)) != 0)
		return 1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0 : 1;
	if (rc != SQLITE_ROW)
		(void)db_error(db, rc, "reading whether desktops are recorded");
	db_done(st);
	return r;
}

int
db_customer_set_record_desktop(sqlite3 *db, const char *id, int on)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "UPDATE customers SET record_desktop = ?1 WHERE id = ?2",
		 &st)) != 0)
		return r;
	sqlite3_bind_int(st, 1, on ? 1 : 0);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "changing the customer")) == 0 &&
	    sqlite3_changes(db) == 0)
		r = QH_ERR_NOT_FOUND;
	sqlite3_finalize(st);
	return r;
}
