/*
 * What the DATEV export books (ledger --format datev, docs/ledger.md): each
 * purchase as cash received against deferred revenue (a purchase's
 * correction takes back what it took from its lot), and revenue recognised
 * per allocation of a debit to a lot at that lot's price (R14), an
 * installation at the price of the purchase it came from. Their sums equal
 * `revenue`'s purchased and recognised figures for the same span. Read-only;
 * the caller holds the read transaction.
 */
#include <string.h>

#include "qh/err.h"
#include "store.h"

/* As revenue.c: a correction of a purchase changes what was purchased. */
#define OF_PURCHASE                                                                      \
	"(e.kind = 'correction' AND (SELECT d.kind FROM ledger d WHERE d.id = "          \
	"e.corrects) IN ('purchase', 'installation_purchase'))"

#define CUST "c.name, c.country, c.vat_id"

static const char datev_sql[] =
    /* Purchases: what they paid. */
    "SELECT 0, e.id, 0, e.posted_at, e.customer_id, " CUST ", e.amount_cents, "
    "coalesce(e.currency, ?3), e.reference, e.session_id, "
    "CASE WHEN e.kind = 'purchase' THEN e.units ELSE e.installations END, e.kind "
    "FROM ledger e JOIN customers c ON c.id = e.customer_id "
    "WHERE e.kind IN ('purchase', 'installation_purchase') AND e.posted_at >= ?1 "
    "AND e.posted_at < ?2 "
    "UNION ALL "
    /* A purchase's correction: what it took out of the lot, negative. */
    "SELECT 0, e.id, 0, e.posted_at, e.customer_id, " CUST ", "
    "-(SELECT coalesce(sum(a.amount_cents), 0) FROM allocations a WHERE a.entry_id "
    "= e.id), coalesce(e.currency, ?3), e.reference, e.session_id, e.units, e.kind "
    "FROM ledger e JOIN customers c ON c.id = e.customer_id WHERE " OF_PURCHASE
    " AND e.units < 0 AND e.posted_at >= ?1 AND e.posted_at < ?2 "
    "UNION ALL "
    /* Revenue: each allocation posted in the span, at its lot's price. */
    "SELECT 1, e.id, a.id, a.posted_at, e.customer_id, " CUST ", a.amount_cents, "
    "l.currency, e.reference, e.session_id, a.units, e.kind "
    "FROM allocations a JOIN lots l ON l.id = a.lot_id JOIN ledger e ON e.id = "
    "a.entry_id JOIN customers c ON c.id = e.customer_id "
    "WHERE a.posted_at >= ?1 AND a.posted_at < ?2 AND NOT " OF_PURCHASE " "
    "UNION ALL "
    /* Installations used, at their purchase's price (unkeyed ones recorded none). */
    "SELECT 1, e.id, 0, e.posted_at, e.customer_id, " CUST ", "
    "CASE WHEN e.schema_version IS NULL THEN 0 ELSE -e.amount_cents END, "
    "coalesce(e.currency, ?3), e.reference, e.session_id, -e.installations, e.kind "
    "FROM ledger e JOIN customers c ON c.id = e.customer_id "
    "WHERE e.kind = 'installation' AND e.posted_at >= ?1 AND e.posted_at < ?2 "
    "ORDER BY 4, 2, 3";

/* The EU's members but Germany, by ISO 3166-1 code. */
static const char eu_countries[] = "AT BE BG CY CZ DK EE ES FI FR GR HR HU IE IT LT "
				   "LU LV MT NL PL PT RO SE SI SK";

enum datev_tax
datev_tax_class(const char *country, const char *vat_id)
{
	if (country == NULL || strcmp(country, "DE") == 0)
		return DATEV_TAX_DE;
	if (strlen(country) == 2 && strstr(eu_countries, country) != NULL)
		/* B2C in the EU: German VAT; a business with a VAT id: reverse charge. */
		return vat_id != NULL && vat_id[0] != '\0' ? DATEV_TAX_EU : DATEV_TAX_DE;
	return DATEV_TAX_WORLD;
}

int
db_datev_bookings(sqlite3 *db, const char *from, const char *to, const char *currency,
    int (*row)(void *arg, const struct datev_booking *b), void *arg)
{
	struct datev_booking b;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, datev_sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, currency, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&b, 0, sizeof(b));
		b.revenue = sqlite3_column_int(st, 0);
		b.entry = sqlite3_column_int64(st, 1);
		b.allocation = sqlite3_column_int64(st, 2);
		b.posted_at = (const char *)sqlite3_column_text(st, 3);
		b.customer = (const char *)sqlite3_column_text(st, 4);
		b.customer_name = (const char *)sqlite3_column_text(st, 5);
		b.country = (const char *)sqlite3_column_text(st, 6);
		b.vat_id = (const char *)sqlite3_column_text(st, 7);
		b.amount_cents = sqlite3_column_int64(st, 8);
		b.currency = (const char *)sqlite3_column_text(st, 9);
		b.reference = (const char *)sqlite3_column_text(st, 10);
		b.has_session = sqlite3_column_type(st, 11) != SQLITE_NULL;
		b.session = sqlite3_column_int64(st, 11);
		b.quantity = sqlite3_column_int64(st, 12);
		b.kind = (const char *)sqlite3_column_text(st, 13);
		b.tax = datev_tax_class(b.country, b.vat_id);
		if ((r = row(arg, &b)) != 0)
			break;
	}
	if (r == 0)
		r = db_error(db, rc, "the DATEV bookings");
	sqlite3_finalize(st);
	return r;
}
