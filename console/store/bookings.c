/*
 * The admin's ledger writes: a purchase books prepaid units (or
 * installations, R8) as a lot at its own unit price (R6), idempotent on
 * its reference; a correction is a new entry that references the entry it
 * corrects (R10). Both go through ledger_append() inside BEGIN IMMEDIATE.
 * And the one entry the admin commands print after booking.
 */
#include <inttypes.h>
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
	/* The receipt is written with the purchase. */
	if ((r = ledger_append(db, &e)) != 0 || (r = outbox_purchase(db, e.id)) != 0 ||
	    (r = db_commit(db)) != 0)
		goto out;
	*entry = e.id;
out:
	db_rollback(db); /* nothing to undo after a commit */
	return r;
}

/* What a correction is checked against: the entry it corrects. */
struct corrected {
	char kind[32];
	int64_t units;
	int64_t corrections;   /* the units of its earlier corrections, summed */
	int64_t lot, lot_left; /* a purchase: its lot and the units still in it */
};

/* Reads entry id as a correction sees it; QH_ERR_NOT_FOUND when there is none. */
static int
corrected_of(sqlite3 *db, int64_t id, struct corrected *k)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(k, 0, sizeof(*k));
	if ((r = db_stmt(db,
		 "SELECT e.kind, e.units, (SELECT coalesce(sum(c.units), 0) FROM ledger "
		 "c WHERE c.corrects = e.id), l.id, l.units - coalesce((SELECT "
		 "sum(a.units) FROM allocations a WHERE a.lot_id = l.id), 0) FROM "
		 "ledger e LEFT JOIN lots l ON l.entry_id = e.id WHERE e.id = ?1 "
		 "ORDER BY l.id LIMIT 1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_copy(st, 0, k->kind, sizeof(k->kind));
		k->units = sqlite3_column_int64(st, 1);
		k->corrections = sqlite3_column_int64(st, 2);
		k->lot = sqlite3_column_int64(st, 3);
		k->lot_left = sqlite3_column_int64(st, 4);
	} else
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "entry");
	db_done(st);
	return r;
}

int
ledger_correction_allowed(sqlite3 *db, int64_t corrects, int64_t units, char *why,
    size_t len)
{
	struct corrected k;
	int64_t left;
	int r;

	why[0] = '\0';
	if ((r = corrected_of(db, corrects, &k)) != 0)
		return r;
	if (strcmp(k.kind, "correction") == 0 || strcmp(k.kind, "migration") == 0) {
		snprintf(why, len,
		    "entry %" PRId64 " is a %s; a correction corrects a purchase or a "
		    "debit, never a correction",
		    corrects, k.kind);
		return QH_ERR_REFUSED;
	}
	if (k.units == 0) {
		snprintf(why, len,
		    "entry %" PRId64 " (%s) booked no units; there are none to correct",
		    corrects, k.kind);
		return QH_ERR_REFUSED;
	}
	if ((units > 0) == (k.units > 0)) {
		snprintf(why, len,
		    "entry %" PRId64 " (%s) booked %+" PRId64 " units: its correction "
		    "has the opposite sign (%s)",
		    corrects, k.kind, k.units,
		    k.units > 0 ? "negative: units taken back"
				: "positive: units given back");
		return QH_ERR_REFUSED;
	}
	/* What earlier corrections gave back counts against the entry's units. */
	left = k.units > 0 ? k.units + k.corrections : -k.units - k.corrections;
	if (units > left || -units > left) {
		snprintf(why, len,
		    "entry %" PRId64 " (%s) booked %+" PRId64
		    " units and its corrections "
		    "%+" PRId64 ": a correction may move at most %" PRId64 " more",
		    corrects, k.kind, k.units, k.corrections, left > 0 ? left : 0);
		return QH_ERR_REFUSED;
	}
	if (k.lot > 0 && -units > k.lot_left) {
		snprintf(why, len,
		    "lot %" PRId64 " of entry %" PRId64 " has %" PRId64 " unit%s left: a "
		    "correction may take at most that",
		    k.lot, corrects, k.lot_left, k.lot_left == 1 ? "" : "s");
		return QH_ERR_REFUSED;
	}
	return 0;
}

int
db_correction(sqlite3 *db, const struct correction *c, int64_t *entry, char *why,
    size_t len)
{
	sqlite3_stmt *st = NULL;
	struct ledger_entry e;
	char customer[80];
	int r, rc;

	*entry = 0;
	why[0] = '\0';
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
	/* R10, #8: within the corrected entry's bounds, or nothing is written. */
	if ((r = ledger_correction_allowed(db, c->corrects, c->units, why, len)) != 0)
		goto out;
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
		 "e.corrects, e.note, (SELECT coalesce(sum(x.installations), 0) FROM "
		 "ledger x WHERE x.customer_id = e.customer_id AND x.installations <> 0 "
		 "AND x.id <= e.id) FROM ledger e WHERE "
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
