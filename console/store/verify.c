/*
 * `qh-console verify`'s checks: the walk of the ledger in id order (each
 * entry's hash and its link to the previous one, each customer's running
 * balance, session entries against their sessions) and the queries after
 * it (R4's one entry per closed session, lots, allocations, debts).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/units.h"
#include "qh/err.h"
#include "store.h"

/* Text of column i, or "" for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Fills why (and *bad) and returns 1: the first problem found. */
static int problem(char *why, size_t len, int64_t *bad, int64_t entry, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static int
problem(char *why, size_t len, int64_t *bad, int64_t entry, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	*bad = entry;
	return 1;
}

/* Checks one entry row of the walk (see verify_entries for the columns). */
static int
verify_entry(sqlite3_stmt *st, const char *prev, int64_t prev_id, char *why, size_t len,
    int64_t *bad)
{
	const char *cols[LEDGER_HASH_NCOLS], *kind;
	char hash[65];
	int64_t id = sqlite3_column_int64(st, 0), sess, secs, expect;
	int i, is_session;

	for (i = 0; i < LEDGER_HASH_NCOLS; i++)
		cols[i] = (const char *)sqlite3_column_text(st, i);
	if (id != prev_id + 1)
		return problem(why, len, bad, id,
		    "the entries from %" PRId64 " to here are "
		    "missing",
		    prev_id + 1);
	ledger_hash(cols, hash);
	if (sqlite3_column_text(st, 22) == NULL ||
	    strcmp(hash, (const char *)sqlite3_column_text(st, 22)) != 0)
		return problem(why, len, bad, id, "hash mismatch: the entry was altered");
	if (cols[21] == NULL || strcmp(cols[21], prev) != 0)
		return problem(why, len, bad, id,
		    "prev_hash does not match %s: the chain "
		    "is broken",
		    prev_id > 0 ? "the previous entry's hash" : "the genesis value");
	if (sqlite3_column_int64(st, 6) != sqlite3_column_int64(st, 23))
		return problem(why, len, bad, id,
		    "balance_after %" PRId64 ", expected %" PRId64,
		    (int64_t)sqlite3_column_int64(st, 6),
		    (int64_t)sqlite3_column_int64(st, 23));

	/* R4: a session's entry references a closed session of its customer. */
	kind = cols[3] != NULL ? cols[3] : "";
	is_session = strcmp(kind, "session") == 0 || strcmp(kind, "installation") == 0;
	sess = sqlite3_column_int64(st, 7);
	if (!is_session) {
		if (sqlite3_column_type(st, 7) != SQLITE_NULL)
			return problem(why, len, bad, id,
			    "a %s entry carries session %" PRId64, kind, sess);
		if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 18) >= id)
			return problem(why, len, bad, id,
			    "corrects entry %" PRId64 ", which "
			    "is not an earlier entry",
			    (int64_t)sqlite3_column_int64(st, 18));
		return 0;
	}
	if (sqlite3_column_type(st, 7) == SQLITE_NULL)
		return problem(why, len, bad, id, "a %s entry without a session", kind);
	if (sqlite3_column_type(st, 24) == SQLITE_NULL)
		return problem(why, len, bad, id,
		    "references session %" PRId64 ", which "
		    "does not exist",
		    sess);
	if (sqlite3_column_type(st, 25) == SQLITE_NULL)
		return problem(why, len, bad, id,
		    "references session %" PRId64 ", which "
		    "is still open",
		    sess);
	if (strcmp(col(st, 24), col(st, 2)) != 0)
		return problem(why, len, bad, id,
		    "booked to %s, but session %" PRId64 " belongs to %s", col(st, 2),
		    sess, col(st, 24));
	secs = sqlite3_column_int64(st, 10);
	if (sqlite3_column_type(st, 10) == SQLITE_NULL ||
	    secs != sqlite3_column_int64(st, 26))
		return problem(why, len, bad, id,
		    "billable_seconds %s, but session %" PRId64 " has %" PRId64,
		    cols[10] != NULL ? cols[10] : "NULL", sess,
		    (int64_t)sqlite3_column_int64(st, 26));
	if (strcmp(kind, "session") == 0) {
		expect = -qh_units(secs);
		if (sqlite3_column_int64(st, 4) != expect)
			return problem(why, len, bad, id,
			    "units %s, but %" PRId64 " billable "
			    "seconds make %" PRId64 " (R1)",
			    cols[4], secs, expect);
	} else if (sqlite3_column_int64(st, 4) != 0 || sqlite3_column_int64(st, 5) != -1)
		return problem(why, len, bad, id,
		    "an installation entry must take one "
		    "installation and no units (R8)");
	return 0;
}

/* The walk in id order: hashes, chain, balances, session entries. */
static int
verify_entries(sqlite3 *db, char *why, size_t len, int64_t *bad)
{
	sqlite3_stmt *st = NULL;
	char prev[65] = LEDGER_GENESIS;
	int64_t prev_id = 0;
	int r, rc;

	/*
	 * Columns 0-21: LEDGER_HASH_COLUMNS; 22 entry_hash; 23 the customer's
	 * running sum of units; 24-26 the session's customer, closed_at and
	 * billable_seconds.
	 */
	if ((r = db_prepare(db,
		 "SELECT " LEDGER_HASH_COLUMNS ", entry_hash, "
		 "sum(units) OVER (PARTITION BY customer_id ORDER BY id ROWS UNBOUNDED "
		 "PRECEDING), "
		 "(SELECT s.customer_id FROM sessions s WHERE s.id = l.session_id), "
		 "(SELECT s.closed_at FROM sessions s WHERE s.id = l.session_id), "
		 "(SELECT s.billable_seconds FROM sessions s WHERE s.id = l.session_id) "
		 "FROM ledger l ORDER BY id",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = verify_entry(st, prev, prev_id, why, len, bad)) != 0)
			goto out;
		prev_id = sqlite3_column_int64(st, 0);
		snprintf(prev, sizeof(prev), "%s", col(st, 22));
	}
	r = db_error(db, rc, "ledger");
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * Runs a check query whose first row, if any, is the problem: the entry to
 * name (or NULL) and the sentence that says what is wrong.
 */
static int
verify_query(sqlite3 *db, const char *sql, char *why, size_t len, int64_t *bad)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*bad = sqlite3_column_int64(st, 0);
		snprintf(why, len, "%s", col(st, 1));
		r = 1;
	} else
		r = db_error(db, rc, "verify");
	sqlite3_finalize(st);
	return r;
}

/* The checks after the walk: each query's first row is the problem it reports. */
static const char *const verify_checks[] = {
	/* R4: every closed session has exactly one entry. */
	"SELECT NULL, CASE n WHEN 0 THEN printf('session %d has no ledger entry', id) "
	"ELSE printf('session %d has %d ledger entries', id, n) END FROM (SELECT s.id, "
	"(SELECT count(*) FROM ledger l WHERE l.session_id = s.id) AS n FROM sessions s "
	"WHERE s.closed_at IS NOT NULL) WHERE n <> 1 ORDER BY id LIMIT 1",
	/* Each lot was made by an entry of its customer, with as many units at most. */
	"SELECT e.id, printf('lot %d does not match the entry that made it', k.id) "
	"FROM lots k LEFT JOIN ledger e ON e.id = k.entry_id WHERE e.id IS NULL OR "
	"e.customer_id <> k.customer_id OR e.units < k.units ORDER BY k.id LIMIT 1",
	/* R14: allocations never exceed a lot's units, nor give back more than taken. */
	"SELECT k.entry_id, printf('lot %d holds %d units, but %d are allocated', k.id, "
	"k.units, t) FROM (SELECT lot_id, sum(units) AS t FROM allocations GROUP BY "
	"lot_id) JOIN lots k ON k.id = lot_id WHERE t > k.units OR t < 0 ORDER BY k.id "
	"LIMIT 1",
	/* Each allocation records what its lot has left, as the running sum says. */
	"SELECT entry_id, printf('allocation %d says lot %d has %d units left, not %d', "
	"id, lot_id, left_after, expect) FROM (SELECT a.id, a.entry_id, a.lot_id, "
	"a.left_after, k.units - sum(a.units) OVER (PARTITION BY a.lot_id ORDER BY a.id) "
	"AS expect FROM allocations a JOIN lots k ON k.id = a.lot_id) WHERE "
	"left_after <> expect ORDER BY id LIMIT 1",
	/* A debit's allocations stay within its units... */
	"SELECT e.id, printf('allocations of %d units do not fit its %d units', t, "
	"e.units) FROM (SELECT entry_id, sum(units) AS t FROM allocations GROUP BY "
	"entry_id) JOIN ledger e ON e.id = entry_id WHERE (e.units < 0 AND "
	"(t > -e.units OR t < 0)) OR (e.units >= 0 AND t > 0) ORDER BY e.id LIMIT 1",
	/* ...and within its customer. */
	"SELECT a.entry_id, printf('allocated from lot %d of customer %s', a.lot_id, "
	"k.customer_id) FROM allocations a JOIN ledger e ON e.id = a.entry_id "
	"JOIN lots k ON k.id = a.lot_id WHERE e.customer_id <> k.customer_id "
	"ORDER BY a.id LIMIT 1",
	/*
	 * Lots less debts equal the balance, for each customer, and no debt
	 * waits while lots have units left (R7, R14).
	 */
	"SELECT NULL, CASE WHEN lft - owed <> b THEN printf('customer %s: balance %d "
	"units, but the lots hold %d and %d are owed', id, b, lft, owed) ELSE "
	"printf('customer %s owes %d units while the lots hold %d', id, owed, lft) END "
	"FROM (SELECT u.id, "
	"(SELECT coalesce(sum(units), 0) FROM ledger WHERE customer_id = u.id) AS b, "
	"(SELECT coalesce(sum(units), 0) FROM lots WHERE customer_id = u.id) - "
	"(SELECT coalesce(sum(a.units), 0) FROM allocations a JOIN lots k ON "
	"k.id = a.lot_id WHERE k.customer_id = u.id) AS lft, "
	"(SELECT coalesce(sum(-e.units - coalesce((SELECT sum(a.units) FROM allocations "
	"a WHERE a.entry_id = e.id), 0)), 0) FROM ledger e WHERE e.customer_id = u.id "
	"AND e.units < 0) - (SELECT coalesce(sum(" LEDGER_OWED_RELIEF "), 0) FROM "
	"ledger c JOIN ledger d ON d.id = c.corrects WHERE c.customer_id = u.id AND "
	"c.units > 0 AND d.units < 0) AS owed FROM customers u) "
	"WHERE lft - owed <> b OR (owed > 0 AND lft > 0) ORDER BY id LIMIT 1",
};

int
ledger_verify(sqlite3 *db, char *why, size_t len, int64_t *bad_entry)
{
	size_t i;
	int r;

	why[0] = '\0';
	*bad_entry = 0;
	if ((r = verify_entries(db, why, len, bad_entry)) != 0)
		return r;
	for (i = 0; i < sizeof(verify_checks) / sizeof(verify_checks[0]); i++)
		if ((r = verify_query(db, verify_checks[i], why, len, bad_entry)) != 0)
			return r;
	return 0;
}
