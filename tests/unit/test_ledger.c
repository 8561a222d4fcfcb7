/*
 * Unit tests for the store's ledger and the checks of `verify`: R1's
 * rounding, FIFO allocation across lots with different prices (R14),
 * overdraft debts settled by the next purchase (R7), corrections that give
 * units back within their bounds (R10), money with the sign of units, the
 * tier table (R6), the keyed chain and the migration that seals an older
 * ledger, and that an altered row, a broken chain or a session without its
 * debit is found. Each test builds a real database in a temporary directory
 * through db_create().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qh/compat.h"
#include "qh/units.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	sqlite3 *db;
	int sessions;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/qh-test-ledger.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(db_create(f->dir, &f->db), 0);
	db_set_currency(f->db, "EUR");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "ledger.db", "ledger.db-wal",
		"ledger.db-shm", "ledger.key" };
	char path[128];
	size_t i;

	db_close(f->db);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs SQL text that must succeed. */
static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err != NULL ? err : "?");
}

/* One integer from a query; fails the test without a row. */
static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
add_customer(struct fixture *f, const char *id, int overdraft)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "INSERT INTO customers (id, name, overdraft_units, "
	    "created_at) VALUES ('%s', 'Customer %s', %d, '2026-01-01T00:00:00Z')",
	    id, id, overdraft);
	exec_ok(f->db, sql);
}

/* Books a purchase of units at price cents each; returns the entry. */
static struct ledger_entry
purchase(struct fixture *f, const char *customer, int64_t units, int64_t price,
    const char *ref)
{
	struct ledger_entry e;
	char key[64];

	snprintf(key, sizeof(key), "purchase:%s", ref);
	memset(&e, 0, sizeof(e));
	e.customer = customer;
	e.kind = "purchase";
	e.units = units;
	e.billable_seconds = -1;
	e.reference = ref;
	e.actor = "test";
	e.idem_key = key;
	e.unit_price_cents = price;
	e.currency = "EUR";
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(ledger_append(f->db, &e), 0);
	assert_int_equal(db_commit(f->db), 0);
	e.customer = e.kind = e.reference = e.actor = e.idem_key = e.currency = NULL;
	return e;
}

/* Closes a session of secs billable seconds and posts its debit (R4). */
static struct ledger_entry
session_debit(struct fixture *f, const char *customer, int64_t secs)
{
	struct ledger_entry e;
	sqlite3_stmt *st = NULL;
	int64_t id;

	assert_int_equal(db_begin(f->db), 0);
	exec_ok(f->db,
	    "INSERT OR IGNORE INTO agents (id, customer_id, enrolled_at) "
	    "SELECT 'agent-' || id, id, '2026-01-01T00:00:00Z' FROM customers");
	assert_int_equal(
	    sqlite3_prepare_v2(f->db,
		"INSERT INTO sessions (customer_id, "
		"agent_id, code, opened_at, closed_at, close_reason, billable_seconds, "
		"persisted_at) VALUES (?1, 'agent-' || ?1, '123456', "
		"'2026-01-05T09:00:00Z', "
		"'2026-01-05T10:00:00Z', 'technician', ?2, '2026-01-05T10:00:00Z')",
		-1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, secs);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	id = sqlite3_last_insert_rowid(f->db);
	assert_int_equal(ledger_post_session(f->db, id, &e), 0);
	assert_int_equal(db_commit(f->db), 0);
	f->sessions++;
	return e;
}

/* Books a correction of entry by units through db_correction(); want its result. */
static struct ledger_entry
correct_want(struct fixture *f, int64_t entry, int64_t units, int want)
{
	struct correction c;
	struct ledger_entry e;
	struct entry_view v;
	static int n;
	char key[64], why[512];
	int64_t id = 0;

	snprintf(key, sizeof(key), "correction:%lld:%lld:%d", (long long)entry,
	    (long long)units, n++);
	memset(&c, 0, sizeof(c));
	c.corrects = entry;
	c.units = units;
	c.reason = "test";
	c.actor = "test";
	c.currency = "EUR";
	c.idem_key = key;
	if (db_correction(f->db, &c, &id, why, sizeof(why)) != want)
		fail_msg("correct %lld by %lld: want %d (%s)", (long long)entry,
		    (long long)units, want, why);
	memset(&e, 0, sizeof(e));
	if (want != 0) {
		assert_true(want != QH_ERR_REFUSED || why[0] != '\0');
		return e;
	}
	assert_int_equal(db_entry_get(f->db, id, &v), 0);
	e.id = id;
	e.units = v.units;
	e.balance_after = v.balance_after;
	e.amount_cents = v.amount_cents;
	snprintf(e.lot_ids, sizeof(e.lot_ids), "%s", v.lots);
	return e;
}

static struct ledger_entry
correct(struct fixture *f, int64_t entry, int64_t units)
{
	return correct_want(f, entry, units, 0);
}

/* Units and cents allocated to an entry. */
static void
allocated(struct fixture *f, int64_t entry, int64_t *units, int64_t *cents)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
	    "SELECT coalesce(sum(units), 0) FROM allocations "
	    "WHERE entry_id = %lld",
	    (long long)entry);
	*units = query_int(f->db, sql);
	snprintf(sql, sizeof(sql),
	    "SELECT coalesce(sum(amount_cents), 0) FROM "
	    "allocations WHERE entry_id = %lld",
	    (long long)entry);
	*cents = query_int(f->db, sql);
}

/* Units left in lot. */
static int64_t
lot_left(struct fixture *f, int64_t lot)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
	    "SELECT units - (SELECT coalesce(sum(units), 0) FROM "
	    "allocations WHERE lot_id = %lld) FROM lots WHERE id = %lld",
	    (long long)lot, (long long)lot);
	return query_int(f->db, sql);
}

static int64_t
balance(struct fixture *f, const char *customer)
{
	struct ledger_balance b;

	assert_int_equal(ledger_balance(f->db, customer, &b), 0);
	return b.units;
}

/* The ledger passes every check of verify. */
static void
assert_verified(struct fixture *f)
{
	char why[512];
	int64_t bad = -1;
	int r = ledger_verify(f->db, why, sizeof(why), &bad);

	if (r != 0)
		fail_msg("verify: entry %lld: %s (%d)", (long long)bad, why, r);
	assert_int_equal(bad, 0);
}

/* verify finds a problem naming entry `entry` (0: none) and saying `what`. */
static void
assert_problem(struct fixture *f, int64_t entry, const char *what)
{
	char why[512];
	int64_t bad = -1;

	assert_int_equal(ledger_verify(f->db, why, sizeof(why), &bad), 1);
	if (bad != entry || strstr(why, what) == NULL)
		fail_msg("verify: entry %lld: %s; want entry %lld: %s", (long long)bad,
		    why, (long long)entry, what);
}

/* R1: every started quarter hour counts; nothing is nothing. */
static void
test_units(void **state QH_UNUSED)
{
	static const struct {
		int64_t secs, units;
	} cases[] = {
		{ 0, 0 },
		{ 1, 1 },
		{ 599, 1 },
		{ 600, 1 },
		{ 899, 1 },
		{ 900, 1 },
		{ 901, 2 },
		{ 1800, 2 },
		{ 1801, 3 },
		{ -5, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (qh_units(cases[i].secs) != cases[i].units)
			fail_msg("%lld s gave %lld units, want %lld",
			    (long long)cases[i].secs, (long long)qh_units(cases[i].secs),
			    (long long)cases[i].units);
}

/* R14: debits take the oldest lot first, each unit at its own lot's price. */
static void
test_fifo(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry p1, p2, d1, d2;
	int64_t u, c;

	add_customer(f, "acme", 0);
	p1 = purchase(f, "acme", 4, 3000, "INV-1");
	p2 = purchase(f, "acme", 8, 2500, "INV-2");
	assert_int_equal(p1.amount_cents, 12000);
	assert_string_equal(p1.lot_ids, "1");
	assert_string_equal(p2.lot_ids, "2");
	assert_int_equal(p2.balance_after, 12);

	d1 = session_debit(f, "acme", 1800); /* 2 units, both from lot 1 */
	assert_int_equal(d1.units, -2);
	assert_int_equal(d1.amount_cents, -6000); /* the sign of its units */
	assert_string_equal(d1.lot_ids, "1");
	assert_int_equal(d1.balance_after, 10);

	d2 = session_debit(f, "acme", 3601); /* 5 units: 2 from lot 1, 3 from lot 2 */
	assert_int_equal(d2.units, -5);
	assert_int_equal(d2.amount_cents, -(2 * 3000 + 3 * 2500));
	assert_string_equal(d2.lot_ids, "1;2");
	allocated(f, d2.id, &u, &c);
	assert_int_equal(u, 5);
	assert_int_equal(c, 13500);
	assert_int_equal(query_int(f->db,
			     "SELECT units FROM allocations WHERE lot_id = 2"),
	    3);
	assert_int_equal(lot_left(f, 1), 0);
	assert_int_equal(lot_left(f, 2), 5);
	assert_int_equal(balance(f, "acme"), 5);
	/* The debit carries the currency of the lots it consumed. */
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE kind = "
			     "'session' AND currency = 'EUR'"),
	    2);

	/* The purchase reference is idempotent: the second booking is refused. */
	{
		struct ledger_entry again;

		memset(&again, 0, sizeof(again));
		again.customer = "acme";
		again.kind = "purchase";
		again.units = 4;
		again.billable_seconds = -1;
		again.actor = "test";
		again.idem_key = "purchase:INV-1";
		again.unit_price_cents = 3000;
		again.currency = "EUR";
		assert_int_equal(db_begin(f->db), 0);
		assert_int_equal(ledger_append(f->db, &again), QH_ERR_EXISTS);
		db_rollback(f->db);
	}
	assert_verified(f);
}

/* R7: a debit beyond the lots is owed, and the next purchase settles it first. */
static void
test_overdraft(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry d1, d2, p;
	int64_t u, c;

	add_customer(f, "acme", 10);
	d1 = session_debit(f, "acme", 1000); /* 2 units, no lot */
	assert_int_equal(d1.units, -2);
	assert_int_equal(d1.amount_cents, 0); /* valued when a purchase pays it */
	assert_string_equal(d1.lot_ids, "");
	assert_int_equal(d1.balance_after, -2);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE id = 1 AND currency "
			     "= 'EUR'"),
	    1);
	d2 = session_debit(f, "acme", 2700); /* 3 more */
	assert_int_equal(d2.balance_after, -5);
	assert_verified(f);

	/* A purchase of 4 pays the older debt in full, one unit of the newer. */
	p = purchase(f, "acme", 4, 2750, "INV-1");
	assert_int_equal(p.balance_after, -1);
	allocated(f, d1.id, &u, &c);
	assert_int_equal(u, 2);
	assert_int_equal(c, 5500);
	/* The purchase that paid them made those allocations. */
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM allocations WHERE by_entry = 3"),
	    2);
	allocated(f, d2.id, &u, &c);
	assert_int_equal(u, 2);
	assert_int_equal(c, 5500);
	assert_int_equal(lot_left(f, 1), 0);
	assert_verified(f);

	/* The next one pays the rest and keeps the remainder. */
	p = purchase(f, "acme", 40, 2500, "INV-2");
	assert_int_equal(p.balance_after, 39);
	allocated(f, d2.id, &u, &c);
	assert_int_equal(u, 3);
	assert_int_equal(c, 5500 + 2500);
	assert_int_equal(lot_left(f, 2), 39);
	assert_verified(f);
}

/*
 * R10 within bounds (#8): a correction of a debit gives units back to the
 * lots it used, one of a purchase takes from that purchase's lot only;
 * neither goes past what the entry booked, has the entry's sign, or
 * corrects a correction. Money has the sign of units (#9).
 */
static void
test_correction(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry p, p2, d, k;
	int64_t u, c, n;

	add_customer(f, "acme", 10);
	p = purchase(f, "acme", 8, 3000, "INV-1");
	d = session_debit(f, "acme", 2000); /* 3 units */
	assert_int_equal(d.balance_after, 5);

	k = correct(f, d.id, 1);
	assert_int_equal(k.balance_after, 6);
	assert_int_equal(k.amount_cents, 3000);
	assert_string_equal(k.lot_ids, "1");
	allocated(f, k.id, &u, &c);
	assert_int_equal(u, -1);
	assert_int_equal(c, -3000);
	assert_int_equal(lot_left(f, 1), 6);
	assert_verified(f);

	/* Past what the debit booked less what was given back: refused. */
	n = query_int(f->db, "SELECT count(*) FROM ledger");
	correct_want(f, d.id, 3, QH_ERR_REFUSED);
	correct_want(f, d.id, -1, QH_ERR_REFUSED); /* the debit's own sign */
	correct_want(f, k.id, -1, QH_ERR_REFUSED); /* a correction */
	correct_want(f, p.id, 1, QH_ERR_REFUSED);  /* a purchase given more */
	correct_want(f, p.id, -9, QH_ERR_REFUSED); /* more than it booked */
	correct_want(f, 99, 1, QH_ERR_NOT_FOUND);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM ledger"), n);
	k = correct(f, d.id, 2);
	assert_int_equal(k.balance_after, 8);
	assert_int_equal(lot_left(f, 1), 8);
	correct_want(f, d.id, 1, QH_ERR_REFUSED); /* all three given back */
	assert_verified(f);

	/* A purchase's correction takes from its own lot, at its price. */
	p2 = purchase(f, "acme", 4, 2500, "INV-2");
	k = correct(f, p2.id, -3);
	assert_int_equal(k.amount_cents, -7500);
	assert_string_equal(k.lot_ids, "2");
	assert_int_equal(lot_left(f, 1), 8);
	assert_int_equal(lot_left(f, 2), 1);
	correct_want(f, p2.id, -2, QH_ERR_REFUSED); /* 1 left in lot 2 */
	k = correct(f, p.id, -2);
	assert_int_equal(k.amount_cents, -6000);
	assert_int_equal(k.balance_after, 7);
	assert_verified(f);

	/* The lot's units left bound it, whatever the purchase booked. */
	d = session_debit(f, "acme", 900 * 6); /* 6 units from lot 1 */
	assert_int_equal(lot_left(f, 1), 0);
	correct_want(f, p.id, -1, QH_ERR_REFUSED);
	assert_verified(f);
}

/* A correction of an overdraft debit takes the debt off instead of a lot. */
static void
test_correction_of_debt(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry d, k, p;
	int64_t u, c;

	add_customer(f, "acme", 10);
	d = session_debit(f, "acme", 2700); /* 3 units owed */
	k = correct(f, d.id, 2);	    /* 1 owed now */
	assert_int_equal(k.balance_after, -1);
	assert_int_equal(k.amount_cents, 0);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM lots"), 0);
	assert_verified(f);

	p = purchase(f, "acme", 4, 3000, "INV-1");
	assert_int_equal(p.balance_after, 3);
	allocated(f, d.id, &u, &c);
	assert_int_equal(u, 1);
	assert_int_equal(c, 3000);
	assert_int_equal(lot_left(f, 1), 3);
	assert_verified(f);

	/* A partly paid debit: the correction takes its debt off first. */
	d = session_debit(f, "acme", 900 * 5); /* 5 units: 3 from lot 1, 2 owed */
	assert_int_equal(d.balance_after, -2);
	assert_int_equal(d.amount_cents, -9000);
	k = correct(f, d.id, 1);
	assert_int_equal(k.balance_after, -1);
	assert_int_equal(k.amount_cents, 0);
	assert_int_equal(lot_left(f, 1), 0);
	assert_verified(f);

	/* Units given back while another debit owes pay that debt (FIFO). */
	p = purchase(f, "acme", 4, 2500, "INV-2"); /* pays the 1 owed */
	assert_int_equal(p.balance_after, 3);
	d = session_debit(f, "acme", 2700); /* 3 units from lot 2 */
	assert_int_equal(d.balance_after, 0);
	p = session_debit(f, "acme", 1800); /* 2 units owed */
	assert_int_equal(p.balance_after, -2);
	k = correct(f, d.id, 1);
	assert_int_equal(k.balance_after, -1);
	assert_int_equal(k.amount_cents, 2500);
	allocated(f, p.id, &u, &c);
	assert_int_equal(u, 1);
	assert_int_equal(c, 2500);
	assert_int_equal(lot_left(f, 2), 0);
	assert_verified(f);
}

/* R6: the highest tier whose hours the purchase reaches prices the unit. */
static void
test_tiers(void **state QH_UNUSED)
{
	struct console_conf conf;

	conf_defaults(&conf); /* 0:3000, 10:2750, 20:2500 */
	assert_int_equal(billing_tier_price(&conf, 1), 3000);
	assert_int_equal(billing_tier_price(&conf, 4), 3000);
	assert_int_equal(billing_tier_price(&conf, 39), 3000); /* 9.75 h */
	assert_int_equal(billing_tier_price(&conf, 40), 2750); /* 10 h */
	assert_int_equal(billing_tier_price(&conf, 79), 2750);
	assert_int_equal(billing_tier_price(&conf, 80), 2500);
	assert_int_equal(billing_tier_price(&conf, 4000), 2500);

	conf.tiers[0] = (struct conf_tier){ 0, 4000 };
	conf.tiers[1] = (struct conf_tier){ 1, 3500 };
	conf.ntiers = 2;
	assert_int_equal(billing_tier_price(&conf, 3), 4000);
	assert_int_equal(billing_tier_price(&conf, 4), 3500);
}

/*
 * Recomputes entry id's hash from its columns as they are now: with the
 * ledger's key (what root can do), or as plain SHA-256 over the columns of
 * version 1 (what anyone who can write ledger.db can do). Returns the hash.
 */
static void
rehash(struct fixture *f, int64_t id, int keyed, char hash[65])
{
	const char *cols[LEDGER_KEYED_NCOLS];
	const uint8_t *key = NULL;
	char sql[200];
	sqlite3_stmt *st = NULL;
	int i;

	assert_int_equal(sqlite3_prepare_v2(f->db,
			     "SELECT " LEDGER_KEYED_COLUMNS " FROM ledger WHERE id = ?1",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	for (i = 0; i < LEDGER_KEYED_NCOLS; i++)
		cols[i] = (const char *)sqlite3_column_text(st, i);
	if (keyed) {
		assert_int_equal(db_ledger_key(f->db, &key), 0);
		ledger_hmac(key, cols, hash);
	} else
		ledger_hash(cols, hash);
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "UPDATE ledger SET entry_hash = '%s' WHERE id = %lld",
	    hash, (long long)id);
	exec_ok(f->db, sql);
}

/* Rewrites the chain from entry `from` on: every link and hash recomputed. */
static void
rehash_from(struct fixture *f, int64_t from, int keyed)
{
	int64_t id, last = query_int(f->db, "SELECT max(id) FROM ledger");
	char hash[65], sql[200];

	for (id = from; id <= last; id++) {
		rehash(f, id, keyed, hash);
		snprintf(sql, sizeof(sql),
		    "UPDATE ledger SET prev_hash = '%s' WHERE id = %lld", hash,
		    (long long)id + 1);
		exec_ok(f->db, sql);
	}
}

/* verify: an altered row is named by its entry, the chain and R4 are checked. */
static void
test_verify(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry d;
	char hash[65];

	add_customer(f, "acme", 0);
	add_customer(f, "beta", 0);
	purchase(f, "acme", 40, 2750, "INV-1");
	purchase(f, "beta", 8, 3000, "INV-2");
	d = session_debit(f, "acme", 1000);
	session_debit(f, "beta", 10);
	correct(f, d.id, 1);
	assert_verified(f);

	/* A changed amount of units on entry 3 (the sqlite3 shell, trigger dropped). */
	exec_ok(f->db, "DROP TRIGGER ledger_no_update");
	exec_ok(f->db, "UPDATE ledger SET units = -1 WHERE id = 3");
	assert_problem(f, 3, "hash mismatch");
	exec_ok(f->db, "UPDATE ledger SET units = -2 WHERE id = 3");
	assert_verified(f);

	/* Without the key, a recomputed hash does not match (#10)... */
	exec_ok(f->db, "UPDATE ledger SET note = 'x' WHERE id = 2");
	rehash(f, 2, 0, hash);
	assert_problem(f, 2, "hash mismatch");
	/* ...with it, the link to the next entry breaks. */
	rehash(f, 2, 1, hash);
	assert_problem(f, 3, "chain is broken");
}

/*
 * #10: the attack of the issue (drop the triggers, rewrite a debit,
 * recompute every hash) no longer passes; nor does passing the entries off
 * as unkeyed ones. A missing key is told apart from tampering, and the hash
 * of an entry can be recomputed for an anchored head.
 */
static void
test_keyed_chain(void **state)
{
	struct fixture *f = *state;
	char why[512], path[128], hash[65], head[65];
	int64_t bad = 0, id = 0;

	add_customer(f, "acme", 0);
	purchase(f, "acme", 40, 2750, "INV-1");
	session_debit(f, "acme", 2000);
	session_debit(f, "acme", 1000);
	assert_verified(f);
	assert_int_equal(ledger_head(f->db, &id, head), 0);
	assert_int_equal(id, 3);
	assert_int_equal(ledger_entry_hash(f->db, 2, hash), 0);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE schema_version IS NULL"),
	    0);

	/* The key gone: the hashes cannot be checked, which is not tampering. */
	snprintf(path, sizeof(path), "%s/ledger.key", f->dir);
	assert_int_equal(rename(path, "/tmp/qh-test-ledger.key"), 0);
	db_close(f->db);
	assert_int_equal(db_open(f->dir, 0, &f->db), 0);
	assert_int_equal(ledger_verify(f->db, why, sizeof(why), &bad), 2);
	assert_non_null(strstr(why, "entries 1 to 3 cannot be checked"));
	assert_non_null(strstr(why, "missing"));
	assert_null(strstr(why, "altered"));
	assert_int_equal(ledger_entry_hash(f->db, 2, hash), QH_ERR_NOT_FOUND);
	assert_int_equal(rename("/tmp/qh-test-ledger.key", path), 0);

	/* A debit rewritten and every hash recomputed without the key. */
	exec_ok(f->db, "DROP TRIGGER ledger_no_update");
	exec_ok(f->db,
	    "UPDATE ledger SET technician = 'mallory', billable_seconds = "
	    "1900 WHERE id = 2");
	exec_ok(f->db, "UPDATE sessions SET billable_seconds = 1900 WHERE id = 1");
	rehash_from(f, 1, 0);
	assert_problem(f, 1, "hash mismatch");
	/* Passed off as entries of version 1: nothing seals them. */
	exec_ok(f->db, "UPDATE ledger SET schema_version = NULL");
	rehash_from(f, 1, 0);
	assert_problem(f, 3, "not keyed and no migration entry");
	/* Root has the key: the chain verifies, and only the anchored head tells. */
	snprintf(path, sizeof(path), "UPDATE ledger SET schema_version = %d",
	    db_schema_version());
	exec_ok(f->db, path);
	rehash_from(f, 1, 1);
	assert_verified(f);
	assert_int_equal(ledger_entry_hash(f->db, 3, hash), 0);
	assert_string_not_equal(hash, head);
}

/* Generated from console/store/schema.sql: version 1, as older consoles made it. */
extern const char qh_sql_schema[];

/*
 * Appends a version-1 entry as an older console wrote it: columns 0-20 of
 * LEDGER_HASH_COLUMNS as text (NULL for NULL), chained to prev, which
 * becomes its hash.
 */
static void
legacy_entry(sqlite3 *db, const char *v[LEDGER_HASH_NCOLS - 1], char prev[65])
{
	const char *cols[LEDGER_HASH_NCOLS];
	sqlite3_stmt *st = NULL;
	char hash[65];
	int i;

	for (i = 0; i < LEDGER_HASH_NCOLS - 1; i++)
		cols[i] = v[i];
	cols[LEDGER_HASH_NCOLS - 1] = prev;
	ledger_hash(cols, hash);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "INSERT INTO ledger (" LEDGER_HASH_COLUMNS
			     ", entry_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
			     "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
			     "?20, ?21, ?22, ?23)",
			     -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < LEDGER_HASH_NCOLS; i++) {
		int integer = i == 0 || i == 4 || i == 5 || i == 6 || i == 7 || i == 10 ||
		    i == 12 || i == 14 || i == 18;

		if (cols[i] == NULL)
			sqlite3_bind_null(st, i + 1);
		else if (integer)
			sqlite3_bind_int64(st, i + 1, strtoll(cols[i], NULL, 10));
		else
			sqlite3_bind_text(st, i + 1, cols[i], -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(st, 23, hash, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	snprintf(prev, 65, "%s", hash);
}

/*
 * A ledger written under schema version 1 (debits with positive amounts,
 * plain SHA-256): the migration keeps its rows, seals them with a keyed
 * migration entry, and verify checks each entry by the rules it was
 * written under. Rewriting the old part breaks the seal.
 */
static void
test_migration(void **state)
{
	struct fixture *f = *state;
	static const char *purchase1[] = { "1", "2026-01-02T09:00:00Z", "acme",
		"purchase", "8", "0", "8", NULL, NULL, NULL, NULL, NULL, "0", "1",
		"24000", "EUR", "INV-1", NULL, NULL, "admin", "purchase:INV-1" };
	static const char *debit2[] = { "2", "2026-01-05T10:00:00Z", "acme", "session",
		"-2", "0", "6", "1", "2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z",
		"1000", NULL, "0", "1", "6000", "EUR", NULL, NULL, NULL, "console",
		"session:1" };
	struct ledger_entry d;
	char prev[65] = LEDGER_GENESIS, path[128], hash[65];
	sqlite3 *db = NULL;

	/* A database as version 1 made it, in a directory of its own. */
	db_close(f->db);
	f->db = NULL;
	snprintf(path, sizeof(path), "%s/ledger.db", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ledger.key", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ledger.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, qh_sql_schema);
	exec_ok(db, "PRAGMA user_version = 1");
	exec_ok(db,
	    "INSERT INTO customers (id, name, created_at) VALUES ('acme', "
	    "'ACME', '2026-01-01T00:00:00Z')");
	exec_ok(db,
	    "INSERT INTO agents (id, customer_id, enrolled_at) VALUES "
	    "('agent-acme', 'acme', '2026-01-01T00:00:00Z')");
	exec_ok(db,
	    "INSERT INTO sessions (customer_id, agent_id, code, opened_at, "
	    "closed_at, close_reason, billable_seconds, persisted_at) VALUES "
	    "('acme', 'agent-acme', '123456', '2026-01-05T09:00:00Z', "
	    "'2026-01-05T10:00:00Z', 'technician', 1000, '2026-01-05T10:00:00Z')");
	legacy_entry(db, purchase1, prev);
	exec_ok(db,
	    "INSERT INTO lots VALUES (1, 'acme', 1, 8, 3000, 'EUR', "
	    "'2026-01-02T09:00:00Z')");
	legacy_entry(db, debit2, prev);
	exec_ok(db,
	    "INSERT INTO allocations (entry_id, lot_id, units, amount_cents, "
	    "posted_at, left_after) VALUES (2, 1, 2, 6000, "
	    "'2026-01-05T10:00:00Z', 6)");
	sqlite3_close(db);

	/* Migrated: the rows as they were, the key made, the seal appended. */
	assert_int_equal(db_open(f->dir, 0, &f->db), 0);
	db_set_currency(f->db, "EUR");
	assert_int_equal(db_migrate(f->db), 0);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(query_int(f->db, "PRAGMA user_version"), db_schema_version());
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE id = 3 AND kind = "
			     "'migration' AND customer_id IS NULL AND schema_version "
			     "IS NOT NULL"),
	    1);
	assert_int_equal(query_int(f->db, "SELECT amount_cents FROM ledger WHERE id = 2"),
	    6000);
	assert_verified(f);

	/* New entries follow the new rules, next to the old ones. */
	d = session_debit(f, "acme", 900);
	assert_int_equal(d.amount_cents, -3000);
	assert_int_equal(d.balance_after, 5);
	assert_verified(f);

	/*
	 * The old part rewritten and rehashed as version 1 allows: the seal no
	 * longer fits, whether its link is left as it was or made to fit.
	 */
	exec_ok(f->db, "DROP TRIGGER ledger_no_update");
	exec_ok(f->db, "UPDATE ledger SET reference = 'INV-9' WHERE id = 1");
	rehash(f, 1, 0, hash);
	exec_ok(f->db,
	    "UPDATE ledger SET prev_hash = (SELECT entry_hash FROM ledger "
	    "WHERE id = 1) WHERE id = 2");
	rehash(f, 2, 0, hash);
	assert_problem(f, 3, "chain is broken");
	exec_ok(f->db,
	    "UPDATE ledger SET prev_hash = (SELECT entry_hash FROM ledger "
	    "WHERE id = 2) WHERE id = 3");
	assert_problem(f, 3, "hash mismatch");
}

/*
 * #9: money has the sign of units (of installations when there are none);
 * a debit no lot paid has no value yet but a currency; an installation is
 * worth the price of the purchase it comes from. verify checks the signs.
 */
static void
test_money_signs(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry e, d;
	int64_t u, c;
	char key[48];

	add_customer(f, "acme", 10);
	d = session_debit(f, "acme", 900); /* overdraft: nothing to value it yet */
	assert_int_equal(d.amount_cents, 0);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE id = 1 AND currency "
			     "= 'EUR'"),
	    1);
	e = purchase(f, "acme", 4, 3000, "INV-1");
	assert_int_equal(e.amount_cents, 12000);
	allocated(f, d.id, &u, &c); /* valued by the purchase that paid it */
	assert_int_equal(c, 3000);
	d = session_debit(f, "acme", 60);
	assert_int_equal(d.amount_cents, -3000);
	e = correct(f, d.id, 1);
	assert_int_equal(e.amount_cents, 3000);

	/* R8: installations bought at 150.00 and 120.00, used oldest first. */
	memset(&e, 0, sizeof(e));
	e.customer = "acme";
	e.kind = "installation_purchase";
	e.installations = 1;
	e.billable_seconds = -1;
	e.actor = "test";
	e.unit_price_cents = 15000;
	e.currency = "EUR";
	for (u = 0; u < 2; u++) {
		snprintf(key, sizeof(key), "purchase:INST-%lld", (long long)u);
		e.idem_key = key;
		assert_int_equal(db_begin(f->db), 0);
		assert_int_equal(ledger_append(f->db, &e), 0);
		assert_int_equal(db_commit(f->db), 0);
		assert_int_equal(e.amount_cents, e.unit_price_cents);
		e.unit_price_cents = 12000;
	}
	for (u = 0; u < 3; u++) {
		exec_ok(f->db,
		    "INSERT INTO sessions (customer_id, agent_id, code, kind, "
		    "opened_at, closed_at, close_reason, billable_seconds, persisted_at) "
		    "VALUES ('acme', 'agent-acme', '1', 'installation', "
		    "'2026-01-05T09:00:00Z', '2026-01-05T10:00:00Z', 'technician', 60, "
		    "'2026-01-05T10:00:00Z')");
		assert_int_equal(db_begin(f->db), 0);
		assert_int_equal(ledger_post_session(f->db,
				     query_int(f->db, "SELECT max(id) FROM sessions"),
				     &d),
		    0);
		assert_int_equal(db_commit(f->db), 0);
		assert_int_equal(d.installations, -1);
		assert_int_equal(d.amount_cents, u == 0 ? -15000 : u == 1 ? -12000 : 0);
	}
	assert_verified(f);

	/* A keyed entry whose amount has the wrong sign is found, key or not. */
	exec_ok(f->db, "DROP TRIGGER ledger_no_update");
	exec_ok(f->db, "UPDATE ledger SET amount_cents = 3000 WHERE id = 3");
	{
		char hash[65];

		rehash(f, 3, 1, hash);
		exec_ok(f->db,
		    "UPDATE ledger SET prev_hash = (SELECT entry_hash FROM "
		    "ledger WHERE id = 3) WHERE id = 4");
		rehash_from(f, 4, 1);
	}
	assert_problem(f, 3, "does not have the sign");
}

/* verify: R4 both ways, and balance_after against the running sum. */
static void
test_verify_sessions(void **state)
{
	struct fixture *f = *state;

	add_customer(f, "acme", 0);
	purchase(f, "acme", 40, 2750, "INV-1");
	session_debit(f, "acme", 1000);
	assert_verified(f);

	/* A session's billable time changed after its debit. */
	exec_ok(f->db, "UPDATE sessions SET billable_seconds = 10 WHERE id = 1");
	assert_problem(f, 2, "billable_seconds");
	exec_ok(f->db, "UPDATE sessions SET billable_seconds = 1000 WHERE id = 1");

	/* A closed session without its debit. */
	exec_ok(f->db,
	    "INSERT INTO sessions (customer_id, agent_id, code, opened_at, "
	    "closed_at, billable_seconds, persisted_at) VALUES ('acme', 'agent-acme', "
	    "'111111', '2026-01-05T09:00:00Z', '2026-01-05T09:30:00Z', 60, "
	    "'2026-01-05T09:30:00Z')");
	assert_problem(f, 0, "session 2 has no ledger entry");
	exec_ok(f->db, "UPDATE sessions SET closed_at = NULL WHERE id = 2");
	assert_verified(f);

	/* A session debited while it is still open. */
	exec_ok(f->db, "UPDATE sessions SET closed_at = NULL WHERE id = 1");
	assert_problem(f, 2, "still open");
	exec_ok(f->db,
	    "UPDATE sessions SET closed_at = '2026-01-05T10:00:00Z' WHERE id = 1");

	/* Allocations taken away: a debt while the lot has units left. */
	exec_ok(f->db, "DROP TRIGGER allocations_no_delete");
	exec_ok(f->db, "DELETE FROM allocations");
	assert_problem(f, 0, "owes 2 units");
}

/* SQLite's answer to sql: SQLITE_OK, or what refused it. */
static int
exec_rc(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff;
}

/*
 * The CHECKs schema version 9 rewrote without IN lists (migrate_checks.sql)
 * allow every value they allowed, NULL where it was allowed, and nothing
 * else.
 */
static void
test_checks(void **state)
{
	struct fixture *f = *state;
	static const char *reasons[] = { "technician", "customer", "agent_lost", "idle",
		"shutdown", "crash_recovery", "revoked" };
	static const char *kinds[] = { "balance_low", "balance_zero", "purchase",
		"session_report", "ticket_received", "ticket_answered",
		"ticket_need_info", "ticket_closed", "appointment", "ticket_due_soon",
		"ticket_overdue" };
	static const char *statuses[] = { "queued", "sent", "failed", "skipped" };
	static const char *audiences[] = { "customer", "staff", "command" };
	char sql[512];
	size_t i;

	exec_ok(f->db,
	    "INSERT INTO customers (id, name, created_at) VALUES ('acme', 'ACME', "
	    "'2026-01-01T00:00:00Z'); INSERT INTO agents (id, customer_id, "
	    "enrolled_at) VALUES ('a-1', 'acme', '2026-01-01T00:00:00Z'); INSERT INTO "
	    "sessions (id, customer_id, agent_id, code, opened_at, persisted_at) "
	    "VALUES (1, 'acme', 'a-1', '123456', '2026-01-01T00:00:00Z', "
	    "'2026-01-01T00:00:00Z')");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(sql, sizeof(sql),
		    "UPDATE sessions SET close_reason = '%s' WHERE id = 1", reasons[i]);
		assert_int_equal(exec_rc(f->db, sql), SQLITE_OK);
	}
	assert_int_equal(exec_rc(f->db, "UPDATE sessions SET close_reason = NULL"),
	    SQLITE_OK);
	assert_int_equal(exec_rc(f->db, "UPDATE sessions SET close_reason = 'Idle'"),
	    SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db, "UPDATE sessions SET close_reason = ''"),
	    SQLITE_CONSTRAINT);

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO outbox (event, kind, channel, audience, status, data, "
		    "token, created_at, next_at) VALUES ('e%zu', '%s', 'mail', '%s', "
		    "'%s', '{}', 't', 'x', 'x')",
		    i, kinds[i], audiences[i % 3], statuses[i % 4]);
		assert_int_equal(exec_rc(f->db, sql), SQLITE_OK);
	}
	assert_int_equal(exec_rc(f->db,
			     "INSERT INTO outbox (event, kind, channel, audience, data, "
			     "token, created_at, next_at) VALUES ('b1', 'session', "
			     "'mail', 'staff', '{}', 't', 'x', 'x')"),
	    SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db,
			     "INSERT INTO outbox (event, kind, channel, audience, data, "
			     "token, created_at, next_at) VALUES ('b2', 'purchase', "
			     "'mail', 'nobody', '{}', 't', 'x', 'x')"),
	    SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db, "UPDATE outbox SET status = 'lost' WHERE id = 1"),
	    SQLITE_CONSTRAINT);

	/* The ledger's kinds, through what writes them; and one it refuses. */
	session_debit(f, "acme", 900);
	assert_int_equal(query_int(f->db,
			     "SELECT count(*) FROM ledger WHERE kind = "
			     "'session'"),
	    1);
	exec_ok(f->db, "DROP TRIGGER ledger_no_update");
	assert_int_equal(exec_rc(f->db, "UPDATE ledger SET kind = 'gift'"),
	    SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db, "UPDATE ledger SET kind = 'correction'"),
	    SQLITE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overdraft, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correction_of_debt, setup, teardown),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyed_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_money_signs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
