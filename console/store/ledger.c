/*
 * Ledger writes: entries, lots, FIFO allocations, and each entry's link in
 * the hash chain (chain.c: an HMAC keyed with STATE/ledger.key over the
 * canonical encoding of its columns in LEDGER_KEYED_COLUMNS order, the
 * previous entry's hash among them). `qh-console verify` recomputes the
 * same from the stored rows.
 *
 * Money (docs/ledger.md): amount_cents has the sign of units (of
 * installations for the installation kinds) and is the value of the lots
 * the entry touched when it was written. A debit that found no lot (R7's
 * overdraft) is valued by the allocations the next purchase makes to it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "qh/units.h"
#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

#define NUM_LEN 24

/* Runs a one-row, one-integer query with text parameters; *out = 0 if no row. */
static int
query_int(sqlite3 *db, const char *sql, int64_t *out, const char *p1, const char *p2)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = 0;
	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	if (p1 != NULL)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
	if (p2 != NULL)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = db_error(db, rc, "ledger query");
	db_done(st);
	return r;
}

int
ledger_balance(sqlite3 *db, const char *customer, struct ledger_balance *b)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(b, 0, sizeof(*b));
	/* The last entry's balance_after (an index seek), not a sum over them all. */
	if ((r = db_stmt(db,
		 "SELECT c.warn_units, c.overdraft_units, c.plan = 'free', "
		 "coalesce((SELECT balance_after FROM ledger WHERE customer_id = c.id "
		 "ORDER BY id DESC LIMIT 1), 0), "
		 "(SELECT coalesce(sum(installations), 0) FROM ledger WHERE customer_id "
		 "= c.id "
		 "AND installations <> 0) FROM customers c WHERE c.id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->warn_units = sqlite3_column_int64(st, 0);
		b->overdraft_units = sqlite3_column_int64(st, 1);
		b->is_free = sqlite3_column_int(st, 2);
		b->units = sqlite3_column_int64(st, 3);
		b->installations = sqlite3_column_int64(st, 4);
	} else if (rc == SQLITE_DONE)
		r = QH_ERR_NOT_FOUND;
	else
		r = db_error(db, rc, "reading the balance");
	db_done(st);
	return r;
}

/* A lot consumed or refilled by the entry being written. */
struct alloc {
	int64_t lot, units, cents;
	int64_t left_after; /* the lot's units left once this is written */
};

#define MAX_ALLOCS 64

struct plan {
	struct alloc a[MAX_ALLOCS];
	int n;
	int64_t cents;
};

static void
lot_list(struct plan *p, struct ledger_entry *e)
{
	size_t used = strlen(e->lot_ids);
	int i;

	for (i = 0; i < p->n && used + NUM_LEN < sizeof(e->lot_ids); i++)
		used += (size_t)snprintf(e->lot_ids + used, sizeof(e->lot_ids) - used,
		    "%s%" PRId64, used ? ";" : "", p->a[i].lot);
}

/* FIFO (R14): takes up to `need` units from the customer's oldest lots with units left.
 */
static int
plan_consume(sqlite3 *db, const char *customer, int64_t need, int64_t only_lot,
    struct plan *p)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* A lot's units left are on its newest allocation: an index seek per lot. */
	if ((r = db_stmt(db,
		 "SELECT l.id, l.unit_price_cents, coalesce((SELECT "
		 "a.left_after FROM allocations a WHERE a.lot_id = l.id ORDER BY a.id "
		 "DESC "
		 "LIMIT 1), l.units) AS left FROM lots l WHERE l.customer_id = ?1 AND "
		 "(?2 = 0 OR l.id = ?2) AND left > 0 ORDER BY l.id",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, only_lot);
	rc = SQLITE_DONE;
	while (need > 0 && p->n < MAX_ALLOCS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t left = sqlite3_column_int64(st, 2), take = left;

		if (take > need)
			take = need;
		p->a[p->n].lot = sqlite3_column_int64(st, 0);
		p->a[p->n].units = take;
		p->a[p->n].left_after = left - take;
		p->a[p->n].cents = take * sqlite3_column_int64(st, 1);
		p->cents += p->a[p->n].cents;
		p->n++;
		need -= take;
	}
	/* A failed step must not pass for "no lot left" (that would be an overdraft). */
	r = db_error(db, rc, "reading the lots");
	db_done(st);
	return r;
}

/* A positive correction: gives units back to the lots the corrected entry used, newest
 * first. */
static int
plan_give_back(sqlite3 *db, int64_t corrected, int64_t units, struct plan *p)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "SELECT a.lot_id, l.unit_price_cents, sum(a.units), "
		 "(SELECT b.left_after FROM allocations b WHERE b.lot_id = a.lot_id "
		 "ORDER BY b.id DESC LIMIT 1) "
		 "FROM allocations a JOIN lots l ON l.id = a.lot_id WHERE a.entry_id = "
		 "?1 "
		 "OR a.entry_id IN (SELECT id FROM ledger WHERE corrects = ?1) "
		 "GROUP BY a.lot_id HAVING sum(a.units) > 0 ORDER BY a.lot_id DESC",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, corrected);
	rc = SQLITE_DONE;
	while (units > 0 && p->n < MAX_ALLOCS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t back = sqlite3_column_int64(st, 2);

		if (back > units)
			back = units;
		p->a[p->n].lot = sqlite3_column_int64(st, 0);
		p->a[p->n].units = -back;
		p->a[p->n].left_after = sqlite3_column_int64(st, 3) + back;
		p->a[p->n].cents = -back * sqlite3_column_int64(st, 1);
		p->cents += p->a[p->n].cents;
		p->n++;
		units -= back;
	}
	r = db_error(db, rc, "reading the allocations");
	db_done(st);
	return r;
}

/* Records allocation a of entry, made while entry by was written. */
static int
insert_alloc(sqlite3 *db, int64_t entry, const struct alloc *a, const char *now,
    int64_t by)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "INSERT INTO allocations (entry_id, lot_id, units, "
		 "amount_cents, posted_at, left_after, by_entry) VALUES (?1, ?2, ?3, "
		 "?4, ?5, ?6, ?7)",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 6, a->left_after);
	sqlite3_bind_int64(st, 7, by);
	sqlite3_bind_int64(st, 1, entry);
	sqlite3_bind_int64(st, 2, a->lot);
	sqlite3_bind_int64(st, 3, a->units);
	sqlite3_bind_int64(st, 4, a->cents);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = db_error(db, rc, "recording an allocation");
	db_done(st);
	return r;
}

/*
 * The units of debit `entry` that no lot has covered yet (R7 overdraft):
 * its units, less its allocations, less what positive corrections of it
 * took off the debt instead of refilling a lot (LEDGER_OWED_RELIEF).
 */
static int
entry_owed(sqlite3 *db, int64_t entry, int64_t *owed)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*owed = 0;
	if ((r = db_stmt(db,
		 "SELECT -e.units - coalesce((SELECT sum(a.units) FROM "
		 "allocations a WHERE a.entry_id = e.id), 0) - coalesce((SELECT "
		 "sum(" LEDGER_OWED_RELIEF ") FROM ledger c WHERE c.customer_id = "
		 "e.customer_id AND c.id > e.id AND "
		 "c.corrects = e.id AND c.units > 0), 0) FROM ledger e WHERE e.id = ?1 "
		 "AND "
		 "e.units < 0",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, entry);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*owed = sqlite3_column_int64(st, 0);
	r = db_error(db, rc, "reading a debt");
	db_done(st);
	return r;
}

/*
 * R7: debts (debits that found no lot) are allocated from the lots with
 * units left, oldest debt and oldest lot first; called whenever lots gain
 * units (entry `by` gave them), so a customer never has a debt while a lot
 * of theirs has units left. These allocations value the debits they pay.
 */
static int
settle_overdraft(sqlite3 *db, const char *customer, const char *now, int64_t by)
{
	sqlite3_stmt *st = NULL;
	struct plan p;
	int64_t ids[MAX_ALLOCS], owed[MAX_ALLOCS];
	int n, i, k, r, rc = SQLITE_DONE;

	for (;;) {
		/* Unallocated debits first (an index walk), then their debts. */
		if ((r = db_stmt(db,
			 "WITH cand AS MATERIALIZED (SELECT e.id, "
			 "e.customer_id, -e.units - coalesce((SELECT sum(a.units) FROM "
			 "allocations a WHERE a.entry_id = e.id), 0) AS base FROM ledger "
			 "e "
			 "WHERE e.customer_id = ?1 AND e.units < 0 AND base > 0) "
			 "SELECT id, base - coalesce((SELECT sum(" LEDGER_OWED_RELIEF
			 ") FROM "
			 "ledger c WHERE c.customer_id = cand.customer_id AND c.id > "
			 "cand.id AND "
			 "c.corrects = cand.id AND c.units > 0), 0) AS owed FROM cand "
			 "WHERE owed > 0 ORDER BY id LIMIT ?2",
			 &st)) != 0)
			return r;
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, MAX_ALLOCS);
		n = 0;
		while (n < MAX_ALLOCS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids[n] = sqlite3_column_int64(st, 0);
			owed[n++] = sqlite3_column_int64(st, 1);
		}
		r = n < MAX_ALLOCS ? db_error(db, rc, "reading the debts") : 0;
		db_done(st);
		if (r != 0)
			return r;
		for (i = 0; i < n; i++) {
			int64_t got = 0;

			memset(&p, 0, sizeof(p));
			if ((r = plan_consume(db, customer, owed[i], 0, &p)) != 0)
				return r;
			for (k = 0; k < p.n; k++) {
				if ((r = insert_alloc(db, ids[i], &p.a[k], now, by)) != 0)
					return r;
				got += p.a[k].units;
			}
			if (got < owed[i])
				return 0; /* the lots are empty */
		}
		if (n < MAX_ALLOCS)
			return 0;
	}
}

/* Records lot `lot` of `units` at `price` cents each, created by entry e. */
static int
insert_lot(sqlite3 *db, int64_t lot, const struct ledger_entry *e, int64_t units,
    int64_t price, const char *currency, const char *now)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "INSERT INTO lots (id, customer_id, entry_id, units, "
		 "unit_price_cents, currency, created_at) VALUES (?1, ?2, ?3, ?4, ?5, "
		 "?6, ?7)",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, lot);
	sqlite3_bind_text(st, 2, e->customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e->id);
	sqlite3_bind_int64(st, 4, units);
	sqlite3_bind_int64(st, 5, price);
	sqlite3_bind_text(st, 6, currency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = db_error(db, rc, "recording the lot");
	db_done(st);
	return r;
}

/*
 * The lot that entry `corrected` created (a purchase): its id, price and
 * currency; 0, price 0 and no currency when it created none.
 */
static int
corrected_lot(sqlite3 *db, int64_t corrected, int64_t *lot, int64_t *price,
    char *currency, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*lot = *price = 0;
	currency[0] = '\0';
	if ((r = db_stmt(db,
		 "SELECT id, unit_price_cents, currency FROM lots WHERE "
		 "entry_id = ?1 ORDER BY id LIMIT 1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, corrected);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*lot = sqlite3_column_int64(st, 0);
		*price = sqlite3_column_int64(st, 1);
		snprintf(currency, len, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	r = db_error(db, rc, "reading the corrected lot");
	db_done(st);
	return r;
}

/*
 * R8: the value of the installation the customer uses now: the price of
 * the installation purchase it comes from, the customer's purchases used
 * oldest first. 0 and no currency when none is left (an overdraft).
 */
static int
installation_value(sqlite3 *db, const char *customer, int64_t *cents, char *currency,
    size_t len)
{
	sqlite3_stmt *st = NULL;
	int64_t used = 0, upto = 0;
	int r, rc;

	*cents = 0;
	currency[0] = '\0';
	if ((r = query_int(db,
		 "SELECT coalesce(-sum(installations), 0) FROM ledger "
		 "WHERE customer_id = ?1 AND installations <> 0 AND installations < 0",
		 &used, customer, NULL)) != 0)
		return r;
	if ((r = db_stmt(db,
		 "SELECT installations, amount_cents, currency FROM ledger WHERE "
		 "customer_id = ?1 AND kind = 'installation_purchase' ORDER BY id",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 0);

		if (n <= 0 || (upto += n) <= used)
			continue;
		*cents = sqlite3_column_int64(st, 1) / n;
		snprintf(currency, len, "%s", (const char *)sqlite3_column_text(st, 2));
		rc = SQLITE_DONE;
		break;
	}
	r = db_error(db, rc, "reading the installation purchases");
	db_done(st);
	return r;
}

/* The currency of lot `lot` into out ("" if there is no such lot). */
static int
lot_currency(sqlite3 *db, int64_t lot, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	out[0] = '\0';
	if ((r = db_stmt(db, "SELECT currency FROM lots WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, lot);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	r = db_error(db, rc, "reading a lot");
	db_done(st);
	return r;
}

static int
insert_notification(sqlite3 *db, struct ledger_entry *e, const char *kind,
    const char *now)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "INSERT INTO notifications (customer_id, entry_id, kind, "
		 "balance, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, e->customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, e->id);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, e->balance_after);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = db_error(db, rc, "recording a notification");
	db_done(st);
	/* Its messages (mail, notify_command) are written with it. */
	return r != 0 ? r : outbox_notification(db, sqlite3_last_insert_rowid(db));
}

static const char *
num(char *buf, int64_t v)
{
	snprintf(buf, NUM_LEN, "%" PRId64, v);
	return buf;
}

/* What an entry does to the lots, decided before it is written. */
struct entry_plan {
	struct plan p;	   /* allocations: units taken from (or given back to) lots */
	int64_t lot;	   /* the new lot's id, or 0 */
	int64_t lot_units; /* units of the new lot */
	int64_t lot_price; /* its price per unit */
	char lot_cur[8];   /* its currency */
	char alloc_cur[8]; /* the currency of the lots a debit consumed */
};

/* A positive correction of entry e->corrects: debt relief, give-back, new lot. */
static int
plan_give(sqlite3 *db, struct ledger_entry *e, struct entry_plan *ep)
{
	int64_t rest = e->units, debt = 0, lot = 0;
	int r, i;

	if (e->corrects > 0) {
		if ((r = entry_owed(db, e->corrects, &debt)) != 0)
			return r;
		rest -= debt > 0 ? (debt < rest ? debt : rest) : 0;
		if (rest > 0 && (r = plan_give_back(db, e->corrects, rest, &ep->p)) != 0)
			return r;
		for (i = 0; i < ep->p.n; i++)
			rest += ep->p.a[i].units; /* given back: negative */
		if (rest > 0 &&
		    (r = corrected_lot(db, e->corrects, &lot, &ep->lot_price, ep->lot_cur,
			 sizeof(ep->lot_cur))) != 0)
			return r;
	}
	/* Given back (negative allocations) and a new lot: both credit. */
	e->amount_cents = -ep->p.cents + rest * ep->lot_price;
	ep->lot_units = rest;
	return 0;
}

/*
 * Plans the lots: a purchase makes one; a debit takes FIFO, a correction
 * of a purchase only from that purchase's lot; a positive correction first
 * takes the corrected entry's unpaid overdraft off, then refills the lots
 * that entry consumed, and credits what is left as a new lot (at the
 * corrected purchase's price, else free), so that for every customer the
 * units left in lots less the debts equal the balance. Sets
 * e->amount_cents (with the sign of the units) and e->lot_ids.
 */
static int
plan_entry(sqlite3 *db, struct ledger_entry *e, struct entry_plan *ep)
{
	int64_t only = 0, price;
	size_t used;
	int r;

	if (strcmp(e->kind, "purchase") == 0 ||
	    strcmp(e->kind, "installation_purchase") == 0) {
		e->amount_cents =
		    (e->units > 0 ? e->units : e->installations) * e->unit_price_cents;
		if (e->units > 0) {
			ep->lot_units = e->units;
			ep->lot_price = e->unit_price_cents;
		}
	} else if (e->units < 0) {
		if (e->corrects > 0 &&
		    (r = corrected_lot(db, e->corrects, &only, &price, ep->lot_cur,
			 sizeof(ep->lot_cur))) != 0)
			return r;
		ep->lot_cur[0] = '\0';
		if ((r = plan_consume(db, e->customer, -e->units, only, &ep->p)) != 0)
			return r;
		e->amount_cents = -ep->p.cents;
	} else if (e->units > 0) {
		if ((r = plan_give(db, e, ep)) != 0)
			return r;
	} else if (e->installations < 0) {
		if ((r = installation_value(db, e->customer, &price, ep->alloc_cur,
			 sizeof(ep->alloc_cur))) != 0)
			return r;
		e->amount_cents = e->installations * price;
	}
	lot_list(&ep->p, e);
	if (ep->lot_units > 0) {
		if ((r = query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM lots",
			 &ep->lot, NULL, NULL)) != 0)
			return r;
		if (ep->lot_cur[0] == '\0' && e->currency != NULL)
			snprintf(ep->lot_cur, sizeof(ep->lot_cur), "%s", e->currency);
		if (ep->lot_cur[0] == '\0')
			return QH_ERR_ARG; /* a lot needs its currency */
		used = strlen(e->lot_ids);
		snprintf(e->lot_ids + used, sizeof(e->lot_ids) - used, "%s%" PRId64,
		    used ? ";" : "", ep->lot);
	}
	/* A debit's money is in the currency of the lots it consumed. */
	if (e->currency == NULL && ep->p.n > 0)
		return lot_currency(db, ep->p.a[0].lot, ep->alloc_cur,
		    sizeof(ep->alloc_cur));
	return 0;
}

/* Hashes e with the ledger's key, chained to prev, and inserts it. */
static int
insert_entry(sqlite3 *db, struct ledger_entry *e, const char *now, const char *prev,
    const char *currency)
{
	sqlite3_stmt *st = NULL;
	char n_id[NUM_LEN], n_units[NUM_LEN], n_inst[NUM_LEN], n_bal[NUM_LEN];
	char n_sess[NUM_LEN], n_secs[NUM_LEN], n_ah[NUM_LEN], n_amt[NUM_LEN];
	char n_corr[NUM_LEN], n_ver[NUM_LEN];
	const char *cols[LEDGER_KEYED_NCOLS];
	const uint8_t *key;
	int r, rc, i;

	if ((r = db_ledger_key(db, &key)) != 0) {
		qh_error("%s/%s: %s; no entry can be written without it",
		    db_state_dir(db), LEDGER_KEY_FILE, ledger_key_problem(r));
		return r;
	}
	cols[0] = num(n_id, e->id);
	cols[1] = now;
	cols[2] = e->customer;
	cols[3] = e->kind;
	cols[4] = num(n_units, e->units);
	cols[5] = num(n_inst, e->installations);
	cols[6] = num(n_bal, e->balance_after);
	cols[7] = e->session_id > 0 ? num(n_sess, e->session_id) : NULL;
	cols[8] = e->started_at;
	cols[9] = e->ended_at;
	cols[10] = e->billable_seconds >= 0 ? num(n_secs, e->billable_seconds) : NULL;
	cols[11] = e->technician;
	cols[12] = num(n_ah, e->after_hours ? 1 : 0);
	cols[13] = e->lot_ids[0] ? e->lot_ids : NULL;
	cols[14] = num(n_amt, e->amount_cents);
	cols[15] = currency;
	cols[16] = e->reference;
	cols[17] = e->note;
	cols[18] = e->corrects > 0 ? num(n_corr, e->corrects) : NULL;
	cols[19] = e->actor;
	cols[20] = e->idem_key;
	cols[21] = prev;
	cols[22] = num(n_ver, db_schema_version());
	ledger_hmac(key, cols, e->hash);
	if (e->hash[0] == '\0')
		return QH_ERR_CRYPTO;

	if ((r = db_stmt(db,
		 "INSERT INTO ledger (" LEDGER_KEYED_COLUMNS ", entry_hash) "
		 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		 "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
		 &st)) != 0)
		return r;
	/* Integers as integers, text as text: the same text comes back for verify. */
	for (i = 0; i < LEDGER_KEYED_NCOLS; i++) {
		int integer = i == 0 || i == 4 || i == 5 || i == 6 || i == 7 || i == 10 ||
		    i == 12 || i == 14 || i == 18 || i == 22;

		if (cols[i] == NULL)
			sqlite3_bind_null(st, i + 1);
		else if (integer)
			sqlite3_bind_int64(st, i + 1, strtoll(cols[i], NULL, 10));
		else
			sqlite3_bind_text(st, i + 1, cols[i], -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(st, 24, e->hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	db_done(st);
	return db_error(db, rc, "appending to the ledger");
}

/* R5: one notification per crossing, written with the debit. */
static int
note_crossings(sqlite3 *db, struct ledger_entry *e, const struct ledger_balance *bal,
    const char *now)
{
	int r;

	if (e->units >= 0)
		return 0;
	if (bal->units > bal->warn_units && e->balance_after <= bal->warn_units) {
		if ((r = insert_notification(db, e, "threshold", now)) != 0)
			return r;
		e->crossed_threshold = 1;
	}
	if (bal->units > 0 && e->balance_after <= 0) {
		if ((r = insert_notification(db, e, "zero", now)) != 0)
			return r;
		e->crossed_zero = 1;
	}
	return 0;
}

int
ledger_append(sqlite3 *db, struct ledger_entry *e)
{
	struct ledger_balance bal;
	struct entry_plan ep;
	const char *currency;
	char now[32], prev[65], why[256];
	int64_t exists, last_id;
	int r, i;

	memset(&ep, 0, sizeof(ep));
	memset(&bal, 0, sizeof(bal));
	e->lot_ids[0] = '\0';
	e->crossed_threshold = e->crossed_zero = 0;
	if ((r = query_int(db, "SELECT count(*) FROM ledger WHERE idem_key = ?1", &exists,
		 e->idem_key, NULL)) != 0)
		return r;
	if (exists)
		return QH_ERR_EXISTS;
	if (strcmp(e->kind, "correction") == 0 &&
	    (r = ledger_correction_allowed(db, e->corrects, e->units, why,
		 sizeof(why))) != 0) {
		qh_error("correction of entry %" PRId64 " refused: %s", e->corrects,
		    why[0] ? why : qh_strerror(r));
		return r;
	}
	/* The migration entry (no customer) moves nothing. */
	if ((e->customer != NULL && (r = ledger_balance(db, e->customer, &bal)) != 0) ||
	    (r = ledger_head(db, &last_id, prev)) != 0)
		return r;
	e->id = last_id + 1;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	e->balance_after = bal.units + e->units;
	if (e->customer != NULL && (r = plan_entry(db, e, &ep)) != 0)
		return r;
	/* Money has a currency, also a debit no lot has paid yet (R7). */
	currency = e->currency != NULL ? e->currency
	    : ep.alloc_cur[0]	       ? ep.alloc_cur
	    : e->customer != NULL      ? db_currency(db)
				       : NULL;
	if ((r = insert_entry(db, e, now, prev, currency)) != 0)
		return r;
	/* Allocations first: the debts settle_overdraft reads count them. */
	for (i = 0; i < ep.p.n; i++)
		if ((r = insert_alloc(db, e->id, &ep.p.a[i], now, e->id)) != 0)
			return r;
	if (ep.lot > 0 &&
	    (r = insert_lot(db, ep.lot, e, ep.lot_units, ep.lot_price, ep.lot_cur,
		 now)) != 0)
		return r;
	/* Lots that gained units (a new lot, a give-back) pay the debts first. */
	if ((ep.lot > 0 || (e->units > 0 && ep.p.n > 0)) &&
	    (r = settle_overdraft(db, e->customer, now, e->id)) != 0)
		return r;
	return note_crossings(db, e, &bal, now);
}

int
ledger_post_session(sqlite3 *db, int64_t session_id, struct ledger_entry *out)
{
	sqlite3_stmt *st = NULL;
	char key[48], techs[512] = "", ref[48], note[4200];
	char customer[80], kind[16], opened[32], closed[32], overdraft[80] = "";
	int64_t secs = 0, ticket = 0;
	int after = 0, r, rc;
	size_t used = 0;

	if ((r = db_stmt(db,
		 "SELECT customer_id, kind, opened_at, closed_at, "
		 "billable_seconds, after_hours, ticket_id, overdraft_by, note FROM "
		 "sessions "
		 "WHERE id = ?1 AND closed_at IS NOT NULL",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, session_id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		db_done(st);
		return rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "session");
	}
	snprintf(customer, sizeof(customer), "%s", sqlite3_column_text(st, 0));
	snprintf(kind, sizeof(kind), "%s", sqlite3_column_text(st, 1));
	snprintf(opened, sizeof(opened), "%s", sqlite3_column_text(st, 2));
	snprintf(closed, sizeof(closed), "%s", sqlite3_column_text(st, 3));
	secs = sqlite3_column_int64(st, 4);
	after = sqlite3_column_int(st, 5);
	ticket = sqlite3_column_int64(st, 6);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		snprintf(overdraft, sizeof(overdraft), "%s", sqlite3_column_text(st, 7));
	snprintf(note, sizeof(note), "%s",
	    sqlite3_column_type(st, 8) != SQLITE_NULL
		? (const char *)sqlite3_column_text(st, 8)
		: "");
	db_done(st);
	st = NULL;

	if ((r = db_stmt(db,
		 "SELECT DISTINCT login FROM session_events WHERE "
		 "session_id = ?1 AND kind = 'attach' ORDER BY login",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, session_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && used + 70 < sizeof(techs))
		used += (size_t)snprintf(techs + used, sizeof(techs) - used, "%s%s",
		    used ? ";" : "", sqlite3_column_text(st, 0));
	db_done(st);

	if (overdraft[0] != '\0') {
		size_t n = strlen(note);

		snprintf(note + n, sizeof(note) - n, "%soverdraft allowed by %s",
		    n ? "; " : "", overdraft);
	}
	snprintf(key, sizeof(key), "session:%" PRId64, session_id);
	snprintf(ref, sizeof(ref), "ticket %" PRId64, ticket);
	memset(out, 0, sizeof(*out));
	out->customer = customer;
	out->session_id = session_id;
	out->started_at = opened;
	out->ended_at = closed;
	out->billable_seconds = secs;
	out->technician = techs[0] ? techs : NULL;
	out->after_hours = after;
	out->reference = ticket > 0 ? ref : NULL;
	out->note = note[0] ? note : NULL;
	out->actor = "console";
	out->idem_key = key;
	if (strcmp(kind, "installation") == 0) {
		out->kind = "installation"; /* R8: one installation, no time units */
		out->installations = -1;
	} else {
		out->kind = "session";
		out->units = -qh_units(secs);
	}
	r = ledger_append(db, out);
	/* The session report goes with the debit, whatever closed the session. */
	if (r == 0)
		r = outbox_session_report(db, session_id);
	/* The strings were on this stack frame; the caller keeps only figures. */
	out->customer = out->started_at = out->ended_at = out->technician = NULL;
	out->reference = out->note = out->idem_key = out->kind = NULL;
	return r;
}
