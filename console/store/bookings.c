/*
 * The admin's ledger writes: a purchase books prepaid units (or
 * installations, R8) as a lot at its own unit price (R6), idempotent on
 * its reference; a correction is a new entry that references the entry it
 * corrects (R10). Both go through ledger_append() inside BEGIN IMMEDIATE.
 * And the one entry the admin commands print after booking.
 */
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "store.h"

/* Copies text column i into out ("" for NULL). */
static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, len, "%s", t != NULL ? (const char *)t : "");
}

/* What a purchase reference was booked with, to tell a retry from a clash. */
struct booked {
	int64_t id, units, installations, amount;
	char customer[80], kind[32];
};

/* Finds the entry with idem_key key: 1 and *b when there is one, 0 if not, <0 on error.
 */
static int
find_booked(sqlite3 *db, const char *key, struct booked *b)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, customer_id, kind, units, installations, "
		 "amount_cents FROM ledger WHERE idem_key = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b->id = sqlite3_column_int64(st, 0);
		col_copy(st, 1, b->customer, sizeof(b->customer));
		col_copy(st, 2, b->kind, sizeof(b->kind));
		b->units = sqlite3_column_int64(st, 3);
		b->installations = sqlite3_column_int64(st, 4);
		b->amount = sqlite3_column_int64(st, 5);
		r = 1;
	} else
		r = db_error(db, rc, "looking up the reference");
	sqlite3_finalize(st);
	return r;
}

int
db_purchase(sqlite3 *db, const struct purchase *p, int64_t *entry)
{
	const char *kind = p->units > 0 ? "purchase" : "installation_purchase";
	int64_t amount =
	    (p->units > 0 ? p->units : p->installations) * p->unit_price_cents;
	char key[16 + PURCHASE_REF_MAX];
	struct ledger_entry e;
	struct booked b;
	int r;

	*entry = 0;
	if (strlen(p->reference) > PURCHASE_REF_MAX)
		return QH_ERR_TOO_LARGE;
	snprintf(key, sizeof(key), "purchase:%s", p->reference);
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_customer_exists(db, p->customer)) != 1) {
		r = r == 0 ? QH_ERR_NOT_FOUND : r;
		goto out;
	}
	/* Idempotent on the reference: a retry is told what was booked. */
	memset(&b, 0, sizeof(b));
	if ((r = find_booked(db, key, &b)) < 0)
		goto out;
	if (r == 1) {
		*entry = b.id;
		if (strcmp(b.customer, p->customer) != 0 || strcmp(b.kind, kind) != 0 ||
		    b.units != p->units || b.installations != p->installations ||
		    b.amount != amount)
			r = QH_ERR_EXISTS;
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.customer = p->customer;
	e.kind = kind;
	e.units = p->units;
	e.installations = p->installations;
	e.billable_seconds = -1;
	e.reference = p->reference;
	e.actor = p->actor;
	e.idem_key = key;
	e.unit_price_cents = p->unit_price_cents;
	e.currency = p->currency;
	if ((r = ledger_append(db, &e)) != 0 || (r = db_commit(db)) != 0)
		goto out;
	*entry = e.id;
out:
	db_rollback(db); /* nothing to undo after a commit */
	return r;
}

int
db_correction(sqlite3 *db, const struct correction *c, int64_t *entry)
{
	sqlite3_stmt *st = NULL;
	struct ledger_entry e;
	char customer[80];
	int r, rc;

	*entry = 0;
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db, "SELECT customer_id FROM ledger WHERE id = ?1", &st)) !=
	    0)
		goto out;
	sqlite3_bind_int64(st, 1, c->corrects);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND
				      : db_error(db, rc, "looking up the entry");
		goto out;
	}
	col_copy(st, 0, customer, sizeof(customer));
	memset(&e, 0, sizeof(e));
	e.customer = customer;
	e.kind = "correction";
	e.units = c->units;
	e.billable_seconds = -1;
	e.corrects = c->corrects;
	e.note = c->reason;
	e.actor = c->actor;
	e.idem_key = c->idem_key;
	e.currency = c->currency;
	if ((r = ledger_append(db, &e)) != 0 || (r = db_commit(db)) != 0)
		goto out;
	*entry = e.id;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return r;
}

int
db_entry_get(sqlite3 *db, int64_t id, struct entry_view *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(v, 0, sizeof(*v));
	if ((r = db_prepare(db,
		 "SELECT e.customer_id, e.kind, e.units, e.installations, "
		 "e.amount_cents, e.currency, e.lot_id, e.balance_after, "
		 "e.corrects, e.note, (SELECT sum(x.installations) FROM ledger x WHERE "
		 "x.customer_id = e.customer_id AND x.id <= e.id) FROM ledger e WHERE "
		 "e.id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "entry");
		goto out;
	}
	v->id = id;
	col_copy(st, 0, v->customer, sizeof(v->customer));
	col_copy(st, 1, v->kind, sizeof(v->kind));
	v->units = sqlite3_column_int64(st, 2);
	v->installations = sqlite3_column_int64(st, 3);
	v->amount_cents = sqlite3_column_int64(st, 4);
	col_copy(st, 5, v->currency, sizeof(v->currency));
	col_copy(st, 6, v->lots, sizeof(v->lots));
	v->balance_after = sqlite3_column_int64(st, 7);
	v->corrects = sqlite3_column_int64(st, 8); /* 0 for NULL */
	v->has_note = sqlite3_column_type(st, 9) != SQLITE_NULL;
	col_copy(st, 9, v->note, sizeof(v->note));
	v->installations_after = sqlite3_column_int64(st, 10);
out:
	sqlite3_finalize(st);
	return r;
}
