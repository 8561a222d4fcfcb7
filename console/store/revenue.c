/*
 * Revenue of a month (R14): units debited, revenue recognised at the
 * prices of the lots the debits consumed, the value of what the lots still
 * hold at month end (deferred), purchases and installations, per currency.
 * Money is read from lots and allocations, whose signs never changed, so
 * entries of every schema version count alike (docs/ledger.md).
 * Read-only; run it inside a read transaction for one consistent snapshot.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "store.h"

/* Text of column i, or "" for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* The row of currency cur, added if new; NULL when there are too many. */
static struct revenue *
revenue_row(struct revenue *rows, int *n, const char *cur)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(rows[i].currency, cur) == 0)
			return &rows[i];
	if (*n == REVENUE_MAX_CURRENCIES)
		return NULL;
	memset(&rows[*n], 0, sizeof(rows[*n]));
	snprintf(rows[*n].currency, sizeof(rows[*n].currency), "%s", cur);
	return &rows[(*n)++];
}

/*
 * Runs one revenue query (?1 month start, ?2 month end, ?3 the configured
 * currency) returning currency and up to two figures, and stores them at
 * the two field offsets of each currency's row.
 */
static int
revenue_query(sqlite3 *db, const char *sql, const char *start, const char *end,
    const char *cur, struct revenue *rows, int *n, size_t off1, size_t off2)
{
	sqlite3_stmt *st = NULL;
	struct revenue *row;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, start, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cur, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = revenue_row(rows, n, col(st, 0))) == NULL) {
			r = QH_ERR_LIMIT;
			goto out;
		}
		*(int64_t *)(void *)((char *)row + off1) += sqlite3_column_int64(st, 1);
		if (off2 != 0)
			*(int64_t *)(void *)((char *)row + off2) +=
			    sqlite3_column_int64(st, 2);
	}
	r = db_error(db, rc, "revenue");
out:
	sqlite3_finalize(st);
	return r;
}

#define REV(f) offsetof(struct revenue, f)

/*
 * A correction of a purchase (the purchase was booked wrong) changes what
 * was purchased; every other correction changes what was debited (R10).
 */
#define OF_PURCHASE                                                                      \
	"(e.kind = 'correction' AND (SELECT d.kind FROM ledger d WHERE d.id = "          \
	"e.corrects) IN ('purchase', 'installation_purchase'))"

static const struct {
	const char *sql;
	size_t off1, off2;
} revenue_queries[] = {
	/* Units debited: session entries and their corrections posted in the month. */
	{ "SELECT coalesce(e.currency, ?3), sum(-e.units) FROM ledger e WHERE e.kind IN "
	  "('session', 'correction') AND NOT " OF_PURCHASE " AND e.posted_at >= ?1 AND "
	  "e.posted_at < ?2 GROUP BY 1",
	    REV(debited), 0 },
	/*
	 * Recognised revenue: allocations posted in the month (an overdraft debit
	 * is recognised when the purchase that pays it is posted), at their lots'
	 * prices; a purchase's correction takes from its lot but earns nothing.
	 */
	{ "SELECT l.currency, sum(a.amount_cents), sum(a.units) FROM allocations a "
	  "JOIN lots l ON l.id = a.lot_id JOIN ledger e ON e.id = a.entry_id WHERE "
	  "a.posted_at >= ?1 AND a.posted_at < ?2 AND NOT " OF_PURCHASE " GROUP BY 1",
	    REV(recognised_cents), REV(recognised_units) },
	/* Deferred: what the lots created before month end still hold at month end. */
	{ "SELECT currency, sum(left * price), sum(left) FROM (SELECT l.currency, "
	  "l.unit_price_cents AS price, l.units - coalesce((SELECT sum(a.units) FROM "
	  "allocations a WHERE a.lot_id = l.id AND a.posted_at < ?2), 0) AS left "
	  "FROM lots l WHERE l.created_at < ?2) GROUP BY 1",
	    REV(deferred_cents), REV(deferred_units) },
	/*
	 * Purchases less their corrections, at their lots' prices: what the lots
	 * they made held, less what their corrections took out of them.
	 */
	{ "SELECT coalesce(e.currency, ?3), sum(e.units), sum(CASE WHEN e.kind = "
	  "'purchase' THEN e.amount_cents ELSE -(SELECT coalesce(sum(a.amount_cents), 0) "
	  "FROM allocations a WHERE a.entry_id = e.id) END) FROM ledger e WHERE "
	  "(e.kind = 'purchase' OR (" OF_PURCHASE " AND e.units < 0)) AND e.posted_at "
	  ">= ?1 AND e.posted_at < ?2 GROUP BY 1",
	    REV(purchased_units), REV(purchased_cents) },
	{ "SELECT coalesce(currency, ?3), sum(installations), sum(amount_cents) FROM "
	  "ledger WHERE kind = 'installation_purchase' AND posted_at >= ?1 AND "
	  "posted_at < ?2 GROUP BY 1",
	    REV(inst_purchased), REV(inst_purchased_cents) },
	/*
	 * Installations used, and their value: the price of the purchase each
	 * came from (unkeyed entries recorded none).
	 */
	{ "SELECT coalesce(currency, ?3), sum(-installations), sum(CASE WHEN "
	  "schema_version IS NULL THEN 0 ELSE -amount_cents END) FROM ledger WHERE "
	  "kind = 'installation' AND posted_at >= ?1 AND posted_at < ?2 GROUP BY 1",
	    REV(inst_used), REV(inst_used_cents) },
};

int
revenue_month(sqlite3 *db, const char *start, const char *end, const char *currency,
    struct revenue rows[REVENUE_MAX_CURRENCIES], int *n)
{
	size_t q;
	int r;

	*n = 0;
	revenue_row(rows, n, currency);
	for (q = 0; q < sizeof(revenue_queries) / sizeof(revenue_queries[0]); q++)
		if ((r = revenue_query(db, revenue_queries[q].sql, start, end, currency,
			 rows, n, revenue_queries[q].off1, revenue_queries[q].off2)) != 0)
			return r;
	return 0;
}
