/*
 * `qh-console verify`'s checks: the walk of the ledger in id order (each
 * entry's hash under the rules of the schema version it was written under,
 * its link to the previous one, each customer's running balance, session
 * entries against their sessions) and the queries after it (R4's one entry
 * per closed session, lots, allocations, debts, money signs and values,
 * corrections' bounds). docs/ledger.md states what is checked.
 */
#include <inttypes.h>
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

/* Columns of the walk's rows (see verify_entries). */
enum {
	W_VERSION = 22, /* schema_version */
	W_HASH,		/* entry_hash */
	W_RUNNING,	/* the customer's running sum of units */
	W_S_CUSTOMER,	/* the session's customer, closed_at, billable_seconds */
	W_S_CLOSED,
	W_S_SECONDS,
};

/* What the walk has seen so far. */
struct walk {
	char prev[65];
	int64_t prev_id;
	int64_t last_version;
	int64_t last_legacy;  /* the last unkeyed entry */
	int64_t keyed_from;   /* the first keyed entry */
	const uint8_t *key;   /* NULL: keyed hashes cannot be checked */
	int key_err;	      /* why not */
	int64_t unchecked[2]; /* the keyed entries left unchecked for want of the key */
	char *why;
	size_t len;
	int64_t *bad;
};

/* The entry's hash under the rules of its version; *checked 0 without the key. */
static void
row_hash(sqlite3_stmt *st, const struct walk *w, char out[65], int *checked)
{
	const char *cols[LEDGER_KEYED_NCOLS];
	int i;

	for (i = 0; i < LEDGER_KEYED_NCOLS; i++)
		cols[i] = (const char *)sqlite3_column_text(st, i);
	*checked = 1;
	if (sqlite3_column_type(st, W_VERSION) == SQLITE_NULL)
		ledger_hash(cols, out);
	else if (w->key != NULL)
		ledger_hmac(w->key, cols, out);
	else
		*checked = 0;
}

/* The chain: versions in order, the keyed part's start, the hash, the link. */
static int
verify_link(sqlite3_stmt *st, struct walk *w)
{
	int64_t id = sqlite3_column_int64(st, 0), ver;
	const char *kind = col(st, 3);
	char hash[65];
	int checked, legacy = sqlite3_column_type(st, W_VERSION) == SQLITE_NULL;

	if (id != w->prev_id + 1)
		return problem(w->why, w->len, w->bad, id,
		    "the entries from %" PRId64 " to here are missing", w->prev_id + 1);
	ver = sqlite3_column_int64(st, W_VERSION);
	if (legacy && w->keyed_from > 0)
		return problem(w->why, w->len, w->bad, id,
		    "written without the key after the keyed chain began at entry "
		    "%" PRId64 ": the entry was altered",
		    w->keyed_from);
	if (!legacy &&
	    (ver < LEDGER_KEYED_VERSION || ver > db_schema_version() ||
		ver < w->last_version))
		return problem(w->why, w->len, w->bad, id,
		    "written under schema version %" PRId64 ", which cannot follow "
		    "version %" PRId64 " here: the entry was altered",
		    ver, w->last_version > 0 ? w->last_version : 1);
	if (!legacy && w->keyed_from == 0) {
		w->keyed_from = id;
		if (w->last_legacy > 0 && strcmp(kind, "migration") != 0)
			return problem(w->why, w->len, w->bad, id,
			    "the keyed chain starts here without the migration entry "
			    "that seals entries 1 to %" PRId64,
			    w->last_legacy);
	} else if (strcmp(kind, "migration") == 0)
		return problem(w->why, w->len, w->bad, id,
		    "a migration entry inside the chain: the entry was altered");
	row_hash(st, w, hash, &checked);
	if (!checked) {
		if (w->unchecked[0] == 0)
			w->unchecked[0] = id;
		w->unchecked[1] = id;
	} else if (strcmp(hash, col(st, W_HASH)) != 0) {
		return problem(w->why, w->len, w->bad, id,
		    "hash mismatch: the entry was altered");
	}
	if (strcmp(col(st, 21), w->prev) != 0)
		return problem(w->why, w->len, w->bad, id,
		    "prev_hash does not match %s: the chain is broken",
		    w->prev_id > 0 ? "the previous entry's hash" : "the genesis value");
	if (legacy)
		w->last_legacy = id;
	else
		w->last_version = ver;
	return 0;
}

/* R4: a session's entry references a closed session of its customer, R1, R8. */
static int
verify_session_entry(sqlite3_stmt *st, struct walk *w, int64_t id, const char *kind)
{
	int64_t sess = sqlite3_column_int64(st, 7), secs, expect;

	if (sqlite3_column_type(st, 7) == SQLITE_NULL)
		return problem(w->why, w->len, w->bad, id, "a %s entry without a session",
		    kind);
	if (sqlite3_column_type(st, W_S_CUSTOMER) == SQLITE_NULL)
		return problem(w->why, w->len, w->bad, id,
		    "references session %" PRId64 ", which does not exist", sess);
	if (sqlite3_column_type(st, W_S_CLOSED) == SQLITE_NULL)
		return problem(w->why, w->len, w->bad, id,
		    "references session %" PRId64 ", which is still open", sess);
	if (strcmp(col(st, W_S_CUSTOMER), col(st, 2)) != 0)
		return problem(w->why, w->len, w->bad, id,
		    "booked to %s, but session %" PRId64 " belongs to %s", col(st, 2),
		    sess, col(st, W_S_CUSTOMER));
	secs = sqlite3_column_int64(st, 10);
	if (sqlite3_column_type(st, 10) == SQLITE_NULL ||
	    secs != sqlite3_column_int64(st, W_S_SECONDS))
		return problem(w->why, w->len, w->bad, id,
		    "billable_seconds %s, but session %" PRId64 " has %" PRId64,
		    sqlite3_column_type(st, 10) == SQLITE_NULL ? "NULL" : col(st, 10),
		    sess, (int64_t)sqlite3_column_int64(st, W_S_SECONDS));
	if (strcmp(kind, "session") == 0) {
		expect = -qh_units(secs);
		if (sqlite3_column_int64(st, 4) != expect)
			return problem(w->why, w->len, w->bad, id,
			    "units %s, but %" PRId64 " billable seconds make %" PRId64
			    " (R1)",
			    col(st, 4), secs, expect);
	} else if (sqlite3_column_int64(st, 4) != 0 || sqlite3_column_int64(st, 5) != -1)
		return problem(w->why, w->len, w->bad, id,
		    "an installation entry must take one installation and no units "
		    "(R8)");
	return 0;
}

/*
 * Money of a keyed entry (docs/ledger.md): amount_cents has the sign of
 * units, or of installations when it moves no units; an entry that moves
 * neither has none; every entry of a customer names its currency.
 */
static int
verify_money(sqlite3_stmt *st, struct walk *w, int64_t id, const char *kind)
{
	int64_t units = sqlite3_column_int64(st, 4), inst = sqlite3_column_int64(st, 5);
	int64_t amount = sqlite3_column_int64(st, 14), sign = units != 0 ? units : inst;

	if (strcmp(kind, "migration") == 0) {
		if (units != 0 || inst != 0 || amount != 0 ||
		    sqlite3_column_type(st, 2) != SQLITE_NULL)
			return problem(w->why, w->len, w->bad, id,
			    "a migration entry moves nothing and belongs to no "
			    "customer");
		return 0;
	}
	if ((sign > 0 && amount < 0) || (sign < 0 && amount > 0) ||
	    (sign == 0 && amount != 0))
		return problem(w->why, w->len, w->bad, id,
		    "amount_cents %" PRId64 " does not have the sign of its %" PRId64
		    " %s",
		    amount, sign, units != 0 ? "units" : "installations");
	if (sqlite3_column_type(st, 15) == SQLITE_NULL)
		return problem(w->why, w->len, w->bad, id, "money without a currency");
	return 0;
}

/* Checks one entry row of the walk. */
static int
verify_entry(sqlite3_stmt *st, struct walk *w)
{
	int64_t id = sqlite3_column_int64(st, 0);
	const char *kind = col(st, 3);
	int keyed = sqlite3_column_type(st, W_VERSION) != SQLITE_NULL, r;

	if ((r = verify_link(st, w)) != 0)
		return r;
	if (keyed && (r = verify_money(st, w, id, kind)) != 0)
		return r;
	if (strcmp(kind, "migration") == 0)
		return 0;
	if (sqlite3_column_int64(st, 6) != sqlite3_column_int64(st, W_RUNNING))
		return problem(w->why, w->len, w->bad, id,
		    "balance_after %" PRId64 ", expected %" PRId64,
		    (int64_t)sqlite3_column_int64(st, 6),
		    (int64_t)sqlite3_column_int64(st, W_RUNNING));
	if (strcmp(kind, "session") == 0 || strcmp(kind, "installation") == 0)
		return verify_session_entry(st, w, id, kind);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		return problem(w->why, w->len, w->bad, id,
		    "a %s entry carries session %" PRId64, kind,
		    (int64_t)sqlite3_column_int64(st, 7));
	if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
	    sqlite3_column_int64(st, 18) >= id)
		return problem(w->why, w->len, w->bad, id,
		    "corrects entry %" PRId64 ", which is not an earlier entry",
		    (int64_t)sqlite3_column_int64(st, 18));
	return 0;
}

/* The walk in id order: versions, hashes, chain, balances, session entries. */
static int
verify_entries(sqlite3 *db, struct walk *w)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT " LEDGER_KEYED_COLUMNS ", entry_hash, "
		 "sum(units) OVER (PARTITION BY customer_id ORDER BY id ROWS UNBOUNDED "
		 "PRECEDING), "
		 "(SELECT s.customer_id FROM sessions s WHERE s.id = l.session_id), "
		 "(SELECT s.closed_at FROM sessions s WHERE s.id = l.session_id), "
		 "(SELECT s.billable_seconds FROM sessions s WHERE s.id = l.session_id) "
		 "FROM ledger l ORDER BY id",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = verify_entry(st, w)) != 0)
			goto out;
		w->prev_id = sqlite3_column_int64(st, 0);
		snprintf(w->prev, sizeof(w->prev), "%s", col(st, W_HASH));
	}
	r = db_error(db, rc, "ledger");
	/* An unkeyed history is sealed by the migration entry that follows it. */
	if (r == 0 && w->last_legacy > 0 && w->keyed_from == 0)
		r = problem(w->why, w->len, w->bad, w->last_legacy,
		    "entries 1 to %" PRId64 " are not keyed and no migration entry "
		    "seals them: the ledger was rewritten without its key",
		    w->last_legacy);
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
	/*
	 * Keyed entries (docs/ledger.md), #9: a purchase is worth its lot; a
	 * debit or correction is worth the lots it touched when it was written
	 * (the allocations it made, a lot it made), with the sign of its units.
	 */
	"SELECT id, printf('amount_cents %d, but the lots it touched are worth %d', "
	"amount_cents, v) FROM (SELECT e.id, e.amount_cents, CASE WHEN e.kind = "
	"'purchase' THEN (SELECT coalesce(sum(k.units * k.unit_price_cents), 0) FROM "
	"lots "
	"k WHERE k.entry_id = e.id) ELSE (SELECT coalesce(sum(k.units * "
	"k.unit_price_cents), 0) FROM lots k WHERE k.entry_id = e.id) - (SELECT "
	"coalesce(sum(a.amount_cents), 0) FROM allocations a WHERE a.entry_id = e.id AND "
	"a.by_entry = e.id) END AS v FROM ledger e WHERE e.schema_version IS NOT NULL "
	"AND e.kind IN ('purchase', 'session', 'correction')) WHERE amount_cents <> v "
	"ORDER BY id LIMIT 1",
	/*
	 * #8: a keyed correction corrects an earlier entry that is neither a
	 * correction nor the migration entry, with the opposite sign; a
	 * purchase's correction takes only from that purchase's lot.
	 */
	"SELECT c.id, CASE WHEN d.kind IN ('correction', 'migration') THEN "
	"printf('corrects entry %d, a %s', d.id, d.kind) ELSE printf('corrects entry %d "
	"of %d units by %d: not the opposite sign', d.id, d.units, c.units) END FROM "
	"ledger c JOIN ledger d ON d.id = c.corrects WHERE c.schema_version IS NOT NULL "
	"AND (d.kind IN ('correction', 'migration') OR c.units * d.units >= 0) ORDER BY "
	"c.id LIMIT 1",
	"SELECT c.id, printf('a correction of entry %d takes from lot %d, not from the "
	"lot of that purchase', c.corrects, a.lot_id) FROM ledger c JOIN ledger d ON "
	"d.id = c.corrects JOIN allocations a ON a.entry_id = c.id AND a.by_entry = c.id "
	"JOIN lots k ON k.id = a.lot_id WHERE c.schema_version IS NOT NULL AND c.units < "
	"0 AND k.entry_id <> d.id ORDER BY c.id LIMIT 1",
	/* #8: an entry's corrections together never exceed its units. */
	"SELECT c.id, printf('the corrections of entry %d come to %d of its %d units', "
	"c.corrects, t, d.units) FROM (SELECT id, corrects, sum(units) OVER (PARTITION "
	"BY "
	"corrects ORDER BY id) AS t, schema_version FROM ledger WHERE corrects IS NOT "
	"NULL) c JOIN ledger d ON d.id = c.corrects WHERE c.schema_version IS NOT NULL "
	"AND abs(t) > abs(d.units) ORDER BY c.id LIMIT 1",
};

int
ledger_verify(sqlite3 *db, char *why, size_t len, int64_t *bad_entry)
{
	struct walk w;
	size_t i;
	int r;

	why[0] = '\0';
	*bad_entry = 0;
	memset(&w, 0, sizeof(w));
	snprintf(w.prev, sizeof(w.prev), "%s", LEDGER_GENESIS);
	w.why = why;
	w.len = len;
	w.bad = bad_entry;
	w.key_err = db_ledger_key(db, &w.key);
	if ((r = verify_entries(db, &w)) != 0)
		return r;
	for (i = 0; i < sizeof(verify_checks) / sizeof(verify_checks[0]); i++)
		if ((r = verify_query(db, verify_checks[i], why, len, bad_entry)) != 0)
			return r;
	if (w.unchecked[0] > 0) {
		snprintf(why, len,
		    "the hashes of entries %" PRId64 " to %" PRId64 " cannot be checked: "
		    "the ledger's key %s/%s: %s (this is no sign of tampering; restore "
		    "the key from the backup that holds it)",
		    w.unchecked[0], w.unchecked[1],
		    db_state_dir(db) != NULL ? db_state_dir(db) : ".", LEDGER_KEY_FILE,
		    ledger_key_problem(w.key_err));
		return 2;
	}
	return 0;
}

int
ledger_entry_hash(sqlite3 *db, int64_t id, char out[65])
{
	struct walk w;
	sqlite3_stmt *st = NULL;
	int r, rc, checked;

	memset(&w, 0, sizeof(w));
	out[0] = '\0';
	if ((r = db_prepare(db,
		 "SELECT " LEDGER_KEYED_COLUMNS " FROM ledger WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "ledger");
		goto out;
	}
	if (sqlite3_column_type(st, W_VERSION) != SQLITE_NULL &&
	    (r = db_ledger_key(db, &w.key)) != 0)
		goto out;
	row_hash(st, &w, out, &checked);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}
