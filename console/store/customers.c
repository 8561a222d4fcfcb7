/*
 * Customers in the database: adding one with its contacts, changing it
 * (`customer set`), showing and listing them, the existence check the
 * admin commands make before they book or enrol, and whether the
 * technicians' view of their screen is recorded.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "store.h"

/* Replaces the e-mail addresses of customer id with emails[0..n). */
static int
set_emails(sqlite3 *db, const char *id, const char *const *emails, int n)
{
	sqlite3_stmt *st = NULL;
	int i, r, rc;

	if (n < 0 || n > CUSTOMER_EMAILS_MAX)
		return QH_ERR_LIMIT;
	if ((r = db_prepare(db, "DELETE FROM customer_emails WHERE customer_id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_error(db, rc, "removing the addresses")) != 0)
		return r;
	if ((r = db_prepare(db,
		 "INSERT INTO customer_emails (customer_id, seq, address) "
		 "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
		 &st)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, i + 1);
		sqlite3_bind_text(st, 3, emails[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		r = db_error(db, rc, "recording an address");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

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
		 "overdraft_units, created_at, lang) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		 "coalesce(?7, 'de'))",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->warn_units);
	sqlite3_bind_int64(st, 5, c->overdraft_units);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->lang, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "adding the customer")) != 0)
		goto out;
	if (c->nemails > 0 && (r = set_emails(db, c->id, c->emails, c->nemails)) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

void
customer_change_init(struct customer_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->warn_units = -1;
	ch->overdraft_units = -1;
	ch->record_desktop = -1;
}

/*
 * The columns `customer set` may change: the statement that sets one, and
 * where its value is in struct customer_change (a text, NULL for "as it
 * is", or a number, negative for "as it is").
 */
static const struct customer_column {
	const char *sql; /* ?1 the customer, ?2 the value */
	int is_text;
	size_t offset;
} customer_columns[] = {
	{ "UPDATE customers SET name = ?2 WHERE id = ?1", 1,
	    offsetof(struct customer_change, name) },
	{ "UPDATE customers SET plan = ?2 WHERE id = ?1", 1,
	    offsetof(struct customer_change, plan) },
	{ "UPDATE customers SET lang = ?2 WHERE id = ?1", 1,
	    offsetof(struct customer_change, lang) },
	{ "UPDATE customers SET country = ?2 WHERE id = ?1", 1,
	    offsetof(struct customer_change, country) },
	{ "UPDATE customers SET vat_id = nullif(?2, '') WHERE id = ?1", 1,
	    offsetof(struct customer_change, vat_id) },
	{ "UPDATE customers SET warn_units = ?2 WHERE id = ?1", 0,
	    offsetof(struct customer_change, warn_units) },
	{ "UPDATE customers SET overdraft_units = ?2 WHERE id = ?1", 0,
	    offsetof(struct customer_change, overdraft_units) },
	{ "UPDATE customers SET record_desktop = ?2 WHERE id = ?1", 0,
	    offsetof(struct customer_change, record_desktop) },
};

int
db_customer_set(sqlite3 *db, const char *id, const struct customer_change *ch)
{
	const struct customer_column *col;
	sqlite3_stmt *st = NULL;
	const char *text;
	int64_t num;
	size_t i;
	int r, rc;

	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_customer_exists(db, id)) != 1) {
		r = r == 0 ? QH_ERR_NOT_FOUND : r;
		goto out;
	}
	for (i = 0; i < sizeof(customer_columns) / sizeof(customer_columns[0]); i++) {
		col = &customer_columns[i];
		text = NULL;
		num = -1;
		if (col->is_text)
			memcpy(&text, (const char *)ch + col->offset, sizeof(text));
		else
			memcpy(&num, (const char *)ch + col->offset, sizeof(num));
		if (col->is_text ? text == NULL : num < 0)
			continue;
		if ((r = db_prepare(db, col->sql, &st)) != 0)
			goto out;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (col->is_text)
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 2, num);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if ((r = db_error(db, rc, "changing the customer")) != 0)
			goto out;
	}
	if (ch->set_emails && (r = set_emails(db, id, ch->emails, ch->nemails)) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_customer_show(sqlite3 *db, const char *id,
    int (*show)(void *arg, const struct customer_view *c), void *arg)
{
	const char *emails[CUSTOMER_EMAILS_MAX];
	char *copies[CUSTOMER_EMAILS_MAX];
	struct customer_view v;
	sqlite3_stmt *st = NULL, *em = NULL;
	int r, rc = SQLITE_DONE, n = 0, i;

	memset(&v, 0, sizeof(v));
	if ((r = ledger_balance(db, id, &v.balance)) != 0)
		return r; /* QH_ERR_NOT_FOUND when there is no such customer */
	if ((r = db_prepare(db,
		 "SELECT address FROM customer_emails WHERE customer_id = ?1 "
		 "ORDER BY seq",
		 &em)) != 0)
		return r;
	sqlite3_bind_text(em, 1, id, -1, SQLITE_STATIC);
	while (n < CUSTOMER_EMAILS_MAX && (rc = sqlite3_step(em)) == SQLITE_ROW) {
		if ((copies[n] = strdup((const char *)sqlite3_column_text(em, 0))) ==
		    NULL) {
			r = QH_ERR_NOMEM;
			goto out;
		}
		emails[n] = copies[n];
		n++;
	}
	if (n < CUSTOMER_EMAILS_MAX && (r = db_error(db, rc, "addresses")) != 0)
		goto out;
	if ((r = db_prepare(db,
		 "SELECT id, name, plan, lang, created_at, warn_units, "
		 "overdraft_units, country, vat_id, disabled_at FROM customers "
		 "WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "customer");
		goto out;
	}
	v.id = (const char *)sqlite3_column_text(st, 0);
	v.name = (const char *)sqlite3_column_text(st, 1);
	v.plan = (const char *)sqlite3_column_text(st, 2);
	v.lang = (const char *)sqlite3_column_text(st, 3);
	v.created_at = (const char *)sqlite3_column_text(st, 4);
	v.warn_units = sqlite3_column_int64(st, 5);
	v.overdraft_units = sqlite3_column_int64(st, 6);
	v.country = (const char *)sqlite3_column_text(st, 7);
	v.vat_id = (const char *)sqlite3_column_text(st, 8);
	v.disabled_at = (const char *)sqlite3_column_text(st, 9);
	v.emails = emails;
	v.nemails = n;
	r = show(arg, &v);
out:
	for (i = 0; i < n; i++)
		free(copies[i]);
	sqlite3_finalize(st);
	sqlite3_finalize(em);
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
		 "created_at, lang FROM customers ORDER BY id",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.id = (const char *)sqlite3_column_text(st, 0);
		c.name = (const char *)sqlite3_column_text(st, 1);
		c.plan = (const char *)sqlite3_column_text(st, 2);
		c.warn_units = sqlite3_column_int64(st, 3);
		c.overdraft_units = sqlite3_column_int64(st, 4);
		c.created_at = (const char *)sqlite3_column_text(st, 5);
		c.lang = (const char *)sqlite3_column_text(st, 6);
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
db_customer_disabled(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "SELECT disabled_at IS NOT NULL FROM customers WHERE id = ?1", &st)) !=
	    0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0);
	else
		r = rc == SQLITE_DONE ? 0 : db_error(db, rc, "customer");
	db_done(st);
	return r;
}

int
db_customer_disable(sqlite3 *db, const char *id, int disable)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_customer_exists(db, id)) != 1) {
		r = r == 0 ? QH_ERR_NOT_FOUND : r;
		goto out;
	}
	if ((r = db_customer_disabled(db, id)) < 0)
		goto out;
	if (r == disable) {
		r = QH_ERR_EXISTS;
		goto out;
	}
	if ((r = db_prepare(db, "UPDATE customers SET disabled_at = ?2 WHERE id = ?1",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (disable)
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "changing the customer")) == 0)
		r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
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
