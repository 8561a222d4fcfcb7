/*
 * qh-console balance / ledger / revenue / verify: what accounting reads.
 * Every command here opens the database read-only and reads inside one
 * read transaction, so it sees one consistent snapshot and works while
 * `serve` writes (WAL). Dates given on the command line are days in the
 * business time zone (conf.timezone); stored timestamps are UTC text
 * 'YYYY-MM-DDTHH:MM:SSZ', so they compare as text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "calendar.h"
#include "console.h"
#include "db.h"
#include "ledger.h"

#define ROW_MAX	       (1024 * 1024) /* bytes of one exported row */
#define MAX_CURRENCIES 16

/* Opens the database read-only and starts a read transaction; prints why not. */
static int
open_snapshot(struct qh_cli *c, sqlite3 **dbp)
{
	const char *state = console_state_dir(c);
	int r;

	if ((r = db_open(state, 1, dbp)) != 0)
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	if ((r = db_exec(*dbp, "BEGIN")) != 0) {
		db_close(*dbp);
		*dbp = NULL;
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	}
	return 0;
}

/* Ends the read transaction and closes db. */
static void
close_snapshot(sqlite3 *db)
{
	db_rollback(db);
	db_close(db);
}

/* Text of column i, or "" for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Writes the buffer to stdout and empties it; QH_ERR_SYSTEM if stdout failed. */
static int
flush_out(struct qh_buf *b)
{
	size_t n = qh_buf_len(b);

	if (n > 0 && fwrite(qh_buf_ptr(b), 1, n, stdout) != n)
		return QH_ERR_SYSTEM;
	qh_buf_reset(b);
	return 0;
}

/* Appends ,"key":v or "key":v. */
static void
kv_int(struct qh_buf *b, const char *key, int64_t v)
{
	qh_json_raw(b, ",");
	qh_json_kv_int(b, key, v);
}

static void
kv_str(struct qh_buf *b, const char *key, const char *v)
{
	qh_json_raw(b, ",");
	qh_json_kv_str(b, key, v);
}

/*
 * The UTC timestamp text of local midnight starting y-m-d in the business
 * time zone (d and m may run past the end: the next day or month).
 */
static int
midnight_text(const struct console_conf *conf, int y, int m, int d, char *out, size_t len)
{
	int64_t t;
	int r;

	while (m > 12) {
		m -= 12;
		y++;
	}
	if ((r = calendar_midnight(conf->timezone, y, m, d, &t)) != 0)
		return r;
	qh_clock_format_utc(t, out, len);
	return 0;
}

/* ------------------------------------------------------------------ balance */

int
cmd_balance(struct qh_cli *c)
{
	const char *id = c->argv[0];
	struct ledger_balance b;
	struct qh_buf out;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char name[300] = "", plan[16] = "", hours[48], avail_h[48], warn_h[48];
	int64_t running = 0, open = 0, available;
	int r, rc, status = QH_EXIT_FAIL;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	if (open_snapshot(c, &db) != 0)
		return QH_EXIT_FAIL;
	if ((r = db_prepare(db, "SELECT name, plan FROM customers WHERE id = ?1", &st)) !=
	    0)
		goto dberr;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			status = qh_cli_fail(c, "no customer %s", id);
			goto out;
		}
		r = db_error(db, rc, "customer");
		goto dberr;
	}
	snprintf(name, sizeof(name), "%s", col(st, 0));
	snprintf(plan, sizeof(plan), "%s", col(st, 1));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = ledger_balance(db, id, &b)) != 0)
		goto dberr;
	/* Open sessions at their persisted billable time (R7, R13). */
	if ((r = db_prepare(db,
		 "SELECT billable_seconds FROM sessions WHERE "
		 "customer_id = ?1 AND closed_at IS NULL",
		 &st)) != 0)
		goto dberr;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		running += ledger_units(sqlite3_column_int64(st, 0));
		open++;
	}
	if ((r = db_error(db, rc, "open sessions")) != 0)
		goto dberr;
	available = b.units - running + b.overdraft_units;
	console_hours_text(b.units, hours, sizeof(hours));
	console_hours_text(available, avail_h, sizeof(avail_h));
	console_hours_text(b.warn_units, warn_h, sizeof(warn_h));

	if (qh_cli_flag(c, "json")) {
		qh_buf_init(&out, ROW_MAX);
		qh_json_raw(&out, "{");
		qh_json_kv_str(&out, "customer", id);
		kv_str(&out, "name", name);
		kv_str(&out, "plan", plan);
		kv_int(&out, "units", b.units);
		kv_str(&out, "hours", hours);
		kv_int(&out, "installations", b.installations);
		kv_int(&out, "open_sessions", open);
		kv_int(&out, "running_units", running);
		kv_int(&out, "overdraft_units", b.overdraft_units);
		kv_int(&out, "available_units", available);
		kv_str(&out, "available_hours", avail_h);
		kv_int(&out, "warn_units", b.warn_units);
		qh_json_raw(&out,
		    b.units <= b.warn_units ? ",\"low\":true}\n" : ",\"low\":false}\n");
		r = flush_out(&out);
		qh_buf_release(&out);
		if (r != 0) {
			status = qh_cli_fail(c, "stdout: %s", strerror(errno));
			goto out;
		}
	} else {
		printf("customer       %s (%s, %s)\n", id, name, plan);
		printf("balance        %" PRId64 " units (%s)\n", b.units, hours);
		printf("installations  %" PRId64 "\n", b.installations);
		printf("running        %" PRId64 " units in %" PRId64 " open session%s\n",
		    running, open, open == 1 ? "" : "s");
		printf("overdraft      %" PRId64 " units allowed\n", b.overdraft_units);
		printf("available      %" PRId64 " units (%s)\n", available, avail_h);
		printf("warn at        %" PRId64 " units (%s)%s\n", b.warn_units, warn_h,
		    b.units <= b.warn_units ? ": the balance is low" : "");
	}
	status = QH_EXIT_OK;
	goto out;
dberr:
	status = qh_cli_fail(c, "database: %s", qh_strerror(r));
out:
	sqlite3_finalize(st);
	close_snapshot(db);
	return status;
}

/* ------------------------------------------------------------------- ledger */

/*
 * The export's columns: DESIGN §5's contract columns in order, then the
 * extra ones. LEDGER_SELECT names them in the same order.
 */
static const char *const ledger_cols[] = {
	"entry_id",
	"posted_at",
	"customer_id",
	"kind",
	"units",
	"balance_after",
	"session_id",
	"started_at",
	"ended_at",
	"billable_seconds",
	"technician",
	"after_hours",
	"lot_id",
	"amount_cents",
	"currency",
	"reference",
	"note",
	"entry_hash",
	"installations",
	"customer_name",
	"corrects",
	"actor",
	"prev_hash",
};
#define LEDGER_NCOLS ((int)(sizeof(ledger_cols) / sizeof(ledger_cols[0])))

#define LEDGER_SELECT                                                                    \
	"SELECT l.id, l.posted_at, l.customer_id, l.kind, l.units, "                     \
	"l.balance_after, l.session_id, l.started_at, l.ended_at, l.billable_seconds, "  \
	"l.technician, l.after_hours, l.lot_id, l.amount_cents, l.currency, "            \
	"l.reference, "                                                                  \
	"l.note, l.entry_hash, l.installations, c.name, l.corrects, l.actor, "           \
	"l.prev_hash "                                                                   \
	"FROM ledger l JOIN customers c ON c.id = l.customer_id "                        \
	"WHERE (?1 IS NULL OR l.customer_id = ?1) AND (?2 IS NULL OR l.posted_at >= "    \
	"?2) "                                                                           \
	"AND (?3 IS NULL OR l.posted_at < ?3) ORDER BY l.id"

/* Appends one RFC 4180 field: quoted iff it holds a comma, quote, CR or LF. */
static void
csv_field(struct qh_buf *b, const char *s)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		qh_buf_put(b, s, strlen(s));
		return;
	}
	qh_buf_put_u8(b, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			qh_buf_put_u8(b, '"');
		qh_buf_put_u8(b, (uint8_t)*p);
	}
	qh_buf_put_u8(b, '"');
}

/* Appends one entry as a CSV record with CRLF. */
static int
csv_row(struct qh_buf *b, sqlite3_stmt *st)
{
	int i;

	for (i = 0; i < LEDGER_NCOLS; i++) {
		if (i > 0)
			qh_buf_put_u8(b, ',');
		csv_field(b, col(st, i));
	}
	return qh_buf_put(b, "\r\n", 2);
}

/* Appends one entry as a JSON object with its allocations, and a newline. */
static int
jsonl_row(struct qh_buf *b, sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *alloc)
{
	int i, rc, first = 1;

	qh_json_raw(b, "{");
	for (i = 0; i < LEDGER_NCOLS; i++) {
		if (i > 0)
			qh_json_raw(b, ",");
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			qh_json_str(b, ledger_cols[i]);
			qh_json_raw(b, ":null");
			break;
		case SQLITE_INTEGER:
			qh_json_kv_int(b, ledger_cols[i], sqlite3_column_int64(st, i));
			break;
		default:
			qh_json_kv_str(b, ledger_cols[i], col(st, i));
		}
	}
	qh_json_raw(b, ",\"allocations\":[");
	sqlite3_reset(alloc);
	sqlite3_bind_int64(alloc, 1, sqlite3_column_int64(st, 0));
	while ((rc = sqlite3_step(alloc)) == SQLITE_ROW) {
		qh_json_raw(b, first ? "{" : ",{");
		first = 0;
		qh_json_kv_int(b, "lot_id", sqlite3_column_int64(alloc, 0));
		kv_int(b, "units", sqlite3_column_int64(alloc, 1));
		kv_int(b, "amount_cents", sqlite3_column_int64(alloc, 2));
		kv_str(b, "posted_at", col(alloc, 3));
		qh_json_raw(b, "}");
	}
	if (rc != SQLITE_DONE)
		return db_error(db, rc, "allocations");
	return qh_json_raw(b, "]}\n");
}

int
cmd_ledger(struct qh_cli *c)
{
	const char *customer = qh_cli_opt(c, "customer");
	const char *from = qh_cli_opt(c, "from"), *to = qh_cli_opt(c, "to");
	const char *format = qh_cli_opt(c, "format") ? qh_cli_opt(c, "format") : "csv";
	struct console_conf conf;
	struct qh_buf out;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *alloc = NULL;
	char from_t[32], to_t[32];
	int y, m, d, jsonl, i, r, rc, status = QH_EXIT_FAIL;

	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
		return qh_cli_usage(c, "--format is csv or jsonl");
	jsonl = format[0] == 'j';
	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	if ((from != NULL && calendar_parse_date(from, &y, &m, &d) != 0) ||
	    (to != NULL && calendar_parse_date(to, &y, &m, &d) != 0))
		return qh_cli_usage(c, "--from and --to take a date YYYY-MM-DD");
	if (conf_load(console_state_dir(c), &conf) != 0)
		return QH_EXIT_FAIL;
	/* Local days: from its midnight up to the midnight after --to. */
	if (from != NULL) {
		calendar_parse_date(from, &y, &m, &d);
		if (midnight_text(&conf, y, m, d, from_t, sizeof(from_t)) != 0)
			return qh_cli_usage(c,
			    "--from is not a day in the business time zone");
	}
	if (to != NULL) {
		calendar_parse_date(to, &y, &m, &d);
		if (midnight_text(&conf, y, m, d + 1, to_t, sizeof(to_t)) != 0)
			return qh_cli_usage(c,
			    "--to is not a day in the business time zone");
	}
	if (open_snapshot(c, &db) != 0)
		return QH_EXIT_FAIL;
	qh_buf_init(&out, ROW_MAX);
	if (customer != NULL) {
		if ((r = db_prepare(db, "SELECT 1 FROM customers WHERE id = ?1", &st)) !=
		    0)
			goto dberr;
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			if (rc == SQLITE_DONE) {
				status = qh_cli_fail(c, "no customer %s", customer);
				goto out;
			}
			r = db_error(db, rc, "customer");
			goto dberr;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((r = db_prepare(db, LEDGER_SELECT, &st)) != 0 ||
	    (jsonl &&
		(r = db_prepare(db,
		     "SELECT lot_id, units, amount_cents, posted_at "
		     "FROM allocations WHERE entry_id = ?1 ORDER BY id",
		     &alloc)) != 0))
		goto dberr;
	if (customer != NULL)
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	if (from != NULL)
		sqlite3_bind_text(st, 2, from_t, -1, SQLITE_STATIC);
	if (to != NULL)
		sqlite3_bind_text(st, 3, to_t, -1, SQLITE_STATIC);
	if (!jsonl) {
		for (i = 0; i < LEDGER_NCOLS; i++) {
			if (i > 0)
				qh_buf_put_u8(&out, ',');
			csv_field(&out, ledger_cols[i]);
		}
		qh_buf_put(&out, "\r\n", 2);
	}
	/* Row by row: the ledger may be larger than memory should hold. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = jsonl ? jsonl_row(&out, db, st, alloc) : csv_row(&out, st);
		if (r == QH_ERR_TOO_LARGE) {
			status =
			    qh_cli_fail(c, "entry %" PRId64 " does not fit in %d bytes",
				(int64_t)sqlite3_column_int64(st, 0), ROW_MAX);
			goto out;
		}
		if (r != 0)
			goto dberr;
		if (flush_out(&out) != 0) {
			status = qh_cli_fail(c, "stdout: %s", strerror(errno));
			goto out;
		}
	}
	if ((r = db_error(db, rc, "ledger")) != 0)
		goto dberr;
	if (flush_out(&out) != 0 || fflush(stdout) != 0) {
		status = qh_cli_fail(c, "stdout: %s", strerror(errno));
		goto out;
	}
	status = QH_EXIT_OK;
	goto out;
dberr:
	status = qh_cli_fail(c, "database: %s", qh_strerror(r));
out:
	qh_buf_release(&out);
	sqlite3_finalize(alloc);
	sqlite3_finalize(st);
	close_snapshot(db);
	return status;
}

/* ------------------------------------------------------------------ revenue */

/* One currency's figures for a month (R14). */
struct revenue {
	char currency[8];
	int64_t debited; /* units of session/correction entries */
	int64_t recognised_cents, recognised_units;
	int64_t deferred_cents, deferred_units;
	int64_t purchased_units, purchased_cents;
	int64_t inst_purchased, inst_purchased_cents, inst_used;
};

/* The row of currency cur, added if new; NULL when there are too many. */
static struct revenue *
revenue_row(struct revenue *rows, int *n, const char *cur)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(rows[i].currency, cur) == 0)
			return &rows[i];
	if (*n == MAX_CURRENCIES)
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

static const struct {
	const char *sql;
	size_t off1, off2;
} revenue_queries[] = {
	/* Units debited: session and correction entries posted in the month. */
	{ "SELECT coalesce(currency, ?3), sum(-units) FROM ledger WHERE kind IN "
	  "('session', 'correction') AND posted_at >= ?1 AND posted_at < ?2 "
	  "GROUP BY 1",
	    REV(debited), 0 },
	/* Recognised revenue: allocations posted in the month, at their lots' prices. */
	{ "SELECT l.currency, sum(a.amount_cents), sum(a.units) FROM allocations a "
	  "JOIN lots l ON l.id = a.lot_id WHERE a.posted_at >= ?1 AND a.posted_at < ?2 "
	  "GROUP BY 1",
	    REV(recognised_cents), REV(recognised_units) },
	/* Deferred: what the lots created before month end still hold at month end. */
	{ "SELECT currency, sum(left * price), sum(left) FROM (SELECT l.currency, "
	  "l.unit_price_cents AS price, l.units - coalesce((SELECT sum(a.units) FROM "
	  "allocations a WHERE a.lot_id = l.id AND a.posted_at < ?2), 0) AS left "
	  "FROM lots l WHERE l.created_at < ?2) GROUP BY 1",
	    REV(deferred_cents), REV(deferred_units) },
	{ "SELECT coalesce(currency, ?3), sum(units), sum(amount_cents) FROM ledger "
	  "WHERE kind = 'purchase' AND posted_at >= ?1 AND posted_at < ?2 GROUP BY 1",
	    REV(purchased_units), REV(purchased_cents) },
	{ "SELECT coalesce(currency, ?3), sum(installations), sum(amount_cents) FROM "
	  "ledger WHERE kind = 'installation_purchase' AND posted_at >= ?1 AND "
	  "posted_at < ?2 GROUP BY 1",
	    REV(inst_purchased), REV(inst_purchased_cents) },
	{ "SELECT coalesce(currency, ?3), sum(-installations) FROM ledger WHERE "
	  "kind = 'installation' AND posted_at >= ?1 AND posted_at < ?2 GROUP BY 1",
	    REV(inst_used), 0 },
};

int
cmd_revenue(struct qh_cli *c)
{
	const char *month = qh_cli_opt(c, "month");
	struct console_conf conf;
	struct revenue rows[MAX_CURRENCIES];
	struct qh_buf out;
	sqlite3 *db = NULL;
	char start[32], end[32], a[48], b[48], h[48];
	size_t q;
	int y, m, len = 0, n = 0, i, r, status = QH_EXIT_FAIL;

	if (month == NULL || strlen(month) != 7 ||
	    sscanf(month, "%4d-%2d%n", &y, &m, &len) != 2 || len != 7 ||
	    month[4] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12)
		return qh_cli_usage(c, "--month YYYY-MM is required");
	if (conf_load(console_state_dir(c), &conf) != 0)
		return QH_EXIT_FAIL;
	if (midnight_text(&conf, y, m, 1, start, sizeof(start)) != 0 ||
	    midnight_text(&conf, y, m + 1, 1, end, sizeof(end)) != 0)
		return qh_cli_fail(c, "cannot place %s in %s", month, conf.timezone);
	if (open_snapshot(c, &db) != 0)
		return QH_EXIT_FAIL;
	revenue_row(rows, &n, conf.currency);
	for (q = 0; q < sizeof(revenue_queries) / sizeof(revenue_queries[0]); q++)
		if ((r = revenue_query(db, revenue_queries[q].sql, start, end,
			 conf.currency, rows, &n, revenue_queries[q].off1,
			 revenue_queries[q].off2)) != 0) {
			status = qh_cli_fail(c, "database: %s", qh_strerror(r));
			goto out;
		}

	if (qh_cli_flag(c, "json")) {
		qh_buf_init(&out, ROW_MAX);
		qh_json_raw(&out, "{");
		qh_json_kv_str(&out, "month", month);
		kv_str(&out, "timezone", conf.timezone);
		kv_str(&out, "from", start);
		kv_str(&out, "to", end);
		qh_json_raw(&out, ",\"currencies\":[");
		for (i = 0; i < n; i++) {
			qh_json_raw(&out, i ? ",{" : "{");
			qh_json_kv_str(&out, "currency", rows[i].currency);
			kv_int(&out, "units_debited", rows[i].debited);
			kv_int(&out, "recognised_cents", rows[i].recognised_cents);
			kv_int(&out, "recognised_units", rows[i].recognised_units);
			kv_int(&out, "deferred_cents", rows[i].deferred_cents);
			kv_int(&out, "deferred_units", rows[i].deferred_units);
			kv_int(&out, "units_purchased", rows[i].purchased_units);
			kv_int(&out, "purchased_cents", rows[i].purchased_cents);
			kv_int(&out, "installations_purchased", rows[i].inst_purchased);
			kv_int(&out, "installations_purchased_cents",
			    rows[i].inst_purchased_cents);
			kv_int(&out, "installations_used", rows[i].inst_used);
			qh_json_raw(&out, "}");
		}
		qh_json_raw(&out, "]}\n");
		r = flush_out(&out);
		qh_buf_release(&out);
		if (r != 0) {
			status = qh_cli_fail(c, "stdout: %s", strerror(errno));
			goto out;
		}
	} else {
		printf("revenue %s (%s: %s to %s)\n", month, conf.timezone, start, end);
		for (i = 0; i < n; i++) {
			const struct revenue *v = &rows[i];

			printf("%s\n", v->currency);
			console_hours_text(v->debited, h, sizeof(h));
			printf("  units debited          %" PRId64 " (%s)\n", v->debited,
			    h);
			console_money_text(v->recognised_cents, a, sizeof(a));
			printf("  recognised revenue     %s %s (%" PRId64
			       " units from lots)\n",
			    a, v->currency, v->recognised_units);
			console_money_text(v->deferred_cents, a, sizeof(a));
			printf("  deferred at month end  %s %s (%" PRId64
			       " units unused)\n",
			    a, v->currency, v->deferred_units);
			console_money_text(v->purchased_cents, a, sizeof(a));
			printf("  units purchased        %" PRId64 " for %s %s\n",
			    v->purchased_units, a, v->currency);
			console_money_text(v->inst_purchased_cents, b, sizeof(b));
			printf("  installations          %" PRId64
			       " purchased for %s %s, %" PRId64 " used\n",
			    v->inst_purchased, b, v->currency, v->inst_used);
		}
	}
	status = QH_EXIT_OK;
out:
	close_snapshot(db);
	return status;
}

/* ------------------------------------------------------------------- verify */

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
		expect = -ledger_units(secs);
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

/* One integer from a query without parameters. */
static int64_t
count_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (db_prepare(db, sql, &st) == 0 && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
cmd_verify(struct qh_cli *c)
{
	sqlite3 *db = NULL;
	char why[512];
	int64_t bad = 0, entries, sessions, customers;
	int r, status = QH_EXIT_FAIL;

	if (open_snapshot(c, &db) != 0)
		return QH_EXIT_FAIL;
	if ((r = ledger_verify(db, why, sizeof(why), &bad)) < 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if (r > 0) {
		if (bad > 0)
			fprintf(stderr, "verify: entry %" PRId64 ": %s\n", bad, why);
		else
			fprintf(stderr, "verify: %s\n", why);
		goto out;
	}
	entries = count_of(db, "SELECT count(*) FROM ledger");
	sessions =
	    count_of(db, "SELECT count(*) FROM sessions WHERE closed_at IS NOT NULL");
	customers = count_of(db, "SELECT count(DISTINCT customer_id) FROM ledger");
	if (entries < 0 || sessions < 0 || customers < 0) {
		status = qh_cli_fail(c, "database: cannot count the ledger");
		goto out;
	}
	printf("ledger ok: %" PRId64 " entries, %" PRId64 " sessions, %" PRId64
	       " customers\n",
	    entries, sessions, customers);
	status = QH_EXIT_OK;
out:
	close_snapshot(db);
	return status;
}
