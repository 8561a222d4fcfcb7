/*
 * Unit tests for console/ledger.c and the ledger checks of `verify`: R1's
 * rounding, FIFO allocation across lots with different prices (R14),
 * overdraft debts settled by the next purchase (R7), corrections that give
 * units back (R10), the tier table (R6), and that an altered row, a broken
 * chain or a session without its debit is found. Each test builds a real
 * database in a temporary directory through db_create().
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
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "ledger.db", "ledger.db-wal",
		"ledger.db-shm" };
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

/* Books a correction of entry by units. */
static struct ledger_entry
correct(struct fixture *f, int64_t entry, int64_t units)
{
	struct ledger_entry e;
	char key[64], customer[80];
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(f->db,
			     "SELECT customer_id FROM ledger "
			     "WHERE id = ?1",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, entry);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(customer, sizeof(customer), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	snprintf(key, sizeof(key), "correction:%lld:%lld", (long long)entry,
	    (long long)units);
	memset(&e, 0, sizeof(e));
	e.customer = customer;
	e.kind = "correction";
	e.units = units;
	e.billable_seconds = -1;
	e.corrects = entry;
	e.note = "test";
	e.actor = "test";
	e.idem_key = key;
	e.currency = "EUR";
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(ledger_append(f->db, &e), 0);
	assert_int_equal(db_commit(f->db), 0);
	e.customer = e.kind = e.note = e.actor = e.idem_key = e.currency = NULL;
	return e;
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
test_units(void **state)
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

	(void)state;
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
	assert_int_equal(d1.amount_cents, 6000);
	assert_string_equal(d1.lot_ids, "1");
	assert_int_equal(d1.balance_after, 10);

	d2 = session_debit(f, "acme", 3601); /* 5 units: 2 from lot 1, 3 from lot 2 */
	assert_int_equal(d2.units, -5);
	assert_int_equal(d2.amount_cents, 2 * 3000 + 3 * 2500);
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
	assert_int_equal(d1.amount_cents, 0);
	assert_string_equal(d1.lot_ids, "");
	assert_int_equal(d1.balance_after, -2);
	d2 = session_debit(f, "acme", 2700); /* 3 more */
	assert_int_equal(d2.balance_after, -5);
	assert_verified(f);

	/* A purchase of 4 pays the older debt in full, one unit of the newer. */
	p = purchase(f, "acme", 4, 2750, "INV-1");
	assert_int_equal(p.balance_after, -1);
	allocated(f, d1.id, &u, &c);
	assert_int_equal(u, 2);
	assert_int_equal(c, 5500);
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

/* R10: a positive correction gives units back to the lots its debit used. */
static void
test_correction(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry p, d, k;
	int64_t u, c;

	add_customer(f, "acme", 10);
	p = purchase(f, "acme", 8, 3000, "INV-1");
	d = session_debit(f, "acme", 2000); /* 3 units */
	assert_int_equal(d.balance_after, 5);

	k = correct(f, d.id, 1);
	assert_int_equal(k.balance_after, 6);
	assert_int_equal(k.amount_cents, -3000);
	assert_string_equal(k.lot_ids, "1");
	allocated(f, k.id, &u, &c);
	assert_int_equal(u, -1);
	assert_int_equal(c, -3000);
	assert_int_equal(lot_left(f, 1), 6);
	assert_verified(f);

	/* Giving back more than the debit took leaves a free lot for the rest. */
	k = correct(f, d.id, 4);
	assert_int_equal(k.balance_after, 10);
	assert_int_equal(lot_left(f, 1), 8);
	assert_int_equal(query_int(f->db,
			     "SELECT units FROM lots WHERE entry_id = (SELECT "
			     "max(id) FROM ledger)"),
	    2);
	assert_verified(f);

	/* A negative correction is a debit like any other. */
	k = correct(f, p.id, -2);
	assert_int_equal(k.balance_after, 8);
	assert_int_equal(k.amount_cents, 6000);
	assert_verified(f);

	/* Correcting the purchase up undoes that first, then adds a lot at its price. */
	k = correct(f, p.id, 4);
	assert_int_equal(k.balance_after, 12);
	assert_int_equal(k.amount_cents, -6000 + 6000);
	assert_string_equal(k.lot_ids, "1;3");
	assert_int_equal(lot_left(f, 3), 2);
	assert_int_equal(query_int(f->db,
			     "SELECT unit_price_cents FROM lots WHERE id = 3"),
	    3000);
	assert_verified(f);

	p = purchase(f, "acme", 4, 2500, "INV-2");
	k = correct(f, p.id, 4);
	assert_int_equal(k.balance_after, 20);
	assert_int_equal(k.amount_cents, 4 * 2500);
	assert_string_equal(k.lot_ids, "5");
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
	allocated(f, p.id, &u, &c);
	assert_int_equal(u, 1);
	assert_int_equal(c, 2500);
	assert_int_equal(lot_left(f, 2), 0);
	assert_verified(f);
}

/* R6: the highest tier whose hours the purchase reaches prices the unit. */
static void
test_tiers(void **state)
{
	struct console_conf conf;

	(void)state;
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

/* verify: an altered row is named by its entry, the chain and R4 are checked. */
static void
test_verify(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry d;

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

	/* Recomputing the altered entry's hash breaks the link to the next one. */
	exec_ok(f->db, "UPDATE ledger SET note = 'x' WHERE id = 2");
	{
		const char *cols[LEDGER_HASH_NCOLS];
		char hash[65], sql[200];
		sqlite3_stmt *st = NULL;
		int i;

		assert_int_equal(sqlite3_prepare_v2(f->db,
				     "SELECT " LEDGER_HASH_COLUMNS
				     " FROM ledger WHERE id = 2",
				     -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		for (i = 0; i < LEDGER_HASH_NCOLS; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		ledger_hash(cols, hash);
		sqlite3_finalize(st);
		snprintf(sql, sizeof(sql),
		    "UPDATE ledger SET entry_hash = '%s' WHERE id = 2", hash);
		exec_ok(f->db, sql);
	}
	assert_problem(f, 3, "chain is broken");
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
		cmocka_unit_test_setup_teardown(test_verify_sessions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
