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

#include "qh/units.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "store/store.h"
#include "admin.h"

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

/* ------------------------------------------------------------------ balance */

static int
cmd_balance(struct qh_cli *c)
{
	const char *id = c->argv[0];
	struct ledger_balance b;
	struct qh_buf out;
	struct qh_json j;
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
		running += qh_units(sqlite3_column_int64(st, 0));
		open++;
	}
	if ((r = db_error(db, rc, "open sessions")) != 0)
		goto dberr;
	available = billing_available(&b, running);
	qh_hours_text(b.units, hours, sizeof(hours));
	qh_hours_text(available, avail_h, sizeof(avail_h));
	qh_hours_text(b.warn_units, warn_h, sizeof(warn_h));

	if (qh_cli_flag(c, "json")) {
		qh_buf_init(&out, ROW_MAX);
		qh_json_init(&j, &out);
		qh_json_begin_object(&j);
		qh_json_kv_str(&j, "customer", id);
		qh_json_kv_str(&j, "name", name);
		qh_json_kv_str(&j, "plan", plan);
		qh_json_kv_int(&j, "units", b.units);
		qh_json_kv_str(&j, "hours", hours);
		qh_json_kv_int(&j, "installations", b.installations);
		qh_json_kv_int(&j, "open_sessions", open);
		qh_json_kv_int(&j, "running_units", running);
		qh_json_kv_int(&j, "overdraft_units", b.overdraft_units);
		qh_json_kv_int(&j, "available_units", available);
		qh_json_kv_str(&j, "available_hours", avail_h);
		qh_json_kv_int(&j, "warn_units", b.warn_units);
		qh_json_kv_bool(&j, "low", b.units <= b.warn_units);
		qh_json_end_object(&j);
		status = console_json_print(c, &j, &out, "the balance");
		qh_buf_release(&out);
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
		status = QH_EXIT_OK;
	}
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

/*
 * Appends one RFC 4180 field: quoted iff it holds a comma, quote, CR or LF.
 * The caller checks the buffer's kept error.
 */
static void
csv_field(struct qh_buf *b, const char *s)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		(void)qh_buf_put(b, s, strlen(s));
		return;
	}
	(void)qh_buf_put_u8(b, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			(void)qh_buf_put_u8(b, '"');
		(void)qh_buf_put_u8(b, (uint8_t)*p);
	}
	(void)qh_buf_put_u8(b, '"');
}

/* Appends one entry as a CSV record with CRLF; 0 or the buffer's kept error. */
static int
csv_row(struct qh_buf *b, sqlite3_stmt *st)
{
	int i;

	for (i = 0; i < LEDGER_NCOLS; i++) {
		if (i > 0)
			(void)qh_buf_put_u8(b, ',');
		csv_field(b, col(st, i));
	}
	return qh_buf_put(b, "\r\n", 2);
}

/*
 * Appends one entry as a JSON object with its allocations, and a newline.
 * Returns 0, the builder's error (QH_ERR_TOO_LARGE when b is full) or a
 * database error.
 */
static int
jsonl_row(struct qh_buf *b, sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *alloc)
{
	struct qh_json j;
	int i, rc, r;

	qh_json_init(&j, b);
	qh_json_begin_object(&j);
	for (i = 0; i < LEDGER_NCOLS; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			qh_json_kv_null(&j, ledger_cols[i]);
			break;
		case SQLITE_INTEGER:
			qh_json_kv_int(&j, ledger_cols[i], sqlite3_column_int64(st, i));
			break;
		default:
			qh_json_kv_str(&j, ledger_cols[i], col(st, i));
		}
	}
	qh_json_key(&j, "allocations");
	qh_json_begin_array(&j);
	sqlite3_reset(alloc);
	sqlite3_bind_int64(alloc, 1, sqlite3_column_int64(st, 0));
	while ((rc = sqlite3_step(alloc)) == SQLITE_ROW) {
		qh_json_begin_object(&j);
		qh_json_kv_int(&j, "lot_id", sqlite3_column_int64(alloc, 0));
		qh_json_kv_int(&j, "units", sqlite3_column_int64(alloc, 1));
		qh_json_kv_int(&j, "amount_cents", sqlite3_column_int64(alloc, 2));
		qh_json_kv_str(&j, "posted_at", col(alloc, 3));
		qh_json_end_object(&j);
	}
	if (rc != SQLITE_DONE)
		return db_error(db, rc, "allocations");
	qh_json_end_array(&j);
	qh_json_end_object(&j);
	if ((r = qh_json_finish(&j)) != 0)
		return r;
	return qh_buf_put_u8(b, '\n');
}

static int
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
		if (calendar_midnight_text(&conf, y, m, d, from_t, sizeof(from_t)) != 0)
			return qh_cli_usage(c,
			    "--from is not a day in the business time zone");
	}
	if (to != NULL) {
		calendar_parse_date(to, &y, &m, &d);
		if (calendar_midnight_text(&conf, y, m, d + 1, to_t, sizeof(to_t)) != 0)
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
				(void)qh_buf_put_u8(&out, ',');
			csv_field(&out, ledger_cols[i]);
		}
		(void)qh_buf_put(&out, "\r\n", 2); /* checked with the first flush */
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
		if (console_flush(&out) != 0) {
			status = qh_cli_fail(c, "stdout: %s", strerror(errno));
			goto out;
		}
	}
	if ((r = db_error(db, rc, "ledger")) != 0)
		goto dberr;
	if (console_flush(&out) != 0 || fflush(stdout) != 0) {
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

static int
cmd_revenue(struct qh_cli *c)
{
	const char *month = qh_cli_opt(c, "month");
	struct console_conf conf;
	struct revenue rows[REVENUE_MAX_CURRENCIES];
	struct qh_buf out;
	struct qh_json j;
	sqlite3 *db = NULL;
	char start[32], end[32], a[48], b[48], h[48];
	int y, m, len = 0, n = 0, i, r, status = QH_EXIT_FAIL;

	if (month == NULL || strlen(month) != 7 ||
	    sscanf(month, "%4d-%2d%n", &y, &m, &len) != 2 || len != 7 ||
	    month[4] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12)
		return qh_cli_usage(c, "--month YYYY-MM is required");
	if (conf_load(console_state_dir(c), &conf) != 0)
		return QH_EXIT_FAIL;
	if (calendar_midnight_text(&conf, y, m, 1, start, sizeof(start)) != 0 ||
	    calendar_midnight_text(&conf, y, m + 1, 1, end, sizeof(end)) != 0)
		return qh_cli_fail(c, "cannot place %s in %s", month, conf.timezone);
	if (open_snapshot(c, &db) != 0)
		return QH_EXIT_FAIL;
	if ((r = revenue_month(db, start, end, conf.currency, rows, &n)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}

	if (qh_cli_flag(c, "json")) {
		qh_buf_init(&out, ROW_MAX);
		qh_json_init(&j, &out);
		qh_json_begin_object(&j);
		qh_json_kv_str(&j, "month", month);
		qh_json_kv_str(&j, "timezone", conf.timezone);
		qh_json_kv_str(&j, "from", start);
		qh_json_kv_str(&j, "to", end);
		qh_json_key(&j, "currencies");
		qh_json_begin_array(&j);
		for (i = 0; i < n; i++) {
			const struct revenue *v = &rows[i];

			qh_json_begin_object(&j);
			qh_json_kv_str(&j, "currency", v->currency);
			qh_json_kv_int(&j, "units_debited", v->debited);
			qh_json_kv_int(&j, "recognised_cents", v->recognised_cents);
			qh_json_kv_int(&j, "recognised_units", v->recognised_units);
			qh_json_kv_int(&j, "deferred_cents", v->deferred_cents);
			qh_json_kv_int(&j, "deferred_units", v->deferred_units);
			qh_json_kv_int(&j, "units_purchased", v->purchased_units);
			qh_json_kv_int(&j, "purchased_cents", v->purchased_cents);
			qh_json_kv_int(&j, "installations_purchased", v->inst_purchased);
			qh_json_kv_int(&j, "installations_purchased_cents",
			    v->inst_purchased_cents);
			qh_json_kv_int(&j, "installations_used", v->inst_used);
			qh_json_end_object(&j);
		}
		qh_json_end_array(&j);
		qh_json_end_object(&j);
		status = console_json_print(c, &j, &out, "the revenue report");
		qh_buf_release(&out);
	} else {
		printf("revenue %s (%s: %s to %s)\n", month, conf.timezone, start, end);
		for (i = 0; i < n; i++) {
			const struct revenue *v = &rows[i];

			printf("%s\n", v->currency);
			qh_hours_text(v->debited, h, sizeof(h));
			printf("  units debited          %" PRId64 " (%s)\n", v->debited,
			    h);
			billing_money_text(v->recognised_cents, a, sizeof(a));
			printf("  recognised revenue     %s %s (%" PRId64
			       " units from lots)\n",
			    a, v->currency, v->recognised_units);
			billing_money_text(v->deferred_cents, a, sizeof(a));
			printf("  deferred at month end  %s %s (%" PRId64
			       " units unused)\n",
			    a, v->currency, v->deferred_units);
			billing_money_text(v->purchased_cents, a, sizeof(a));
			printf("  units purchased        %" PRId64 " for %s %s\n",
			    v->purchased_units, a, v->currency);
			billing_money_text(v->inst_purchased_cents, b, sizeof(b));
			printf("  installations          %" PRId64
			       " purchased for %s %s, %" PRId64 " used\n",
			    v->inst_purchased, b, v->currency, v->inst_used);
		}
		status = QH_EXIT_OK;
	}
out:
	close_snapshot(db);
	return status;
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

static int
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

const struct qh_cli_cmd cmd_balance_entry = {
	.name = "balance",
	.usage = "ID [--json]",
	.summary = "show a customer's units, installations, running and available units",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_balance,
};

const struct qh_cli_cmd cmd_ledger_entry = {
	.name = "ledger",
	.usage = "[--customer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
		 "[--format csv|jsonl]",
	.summary =
	    "export ledger entries (dates in the business time zone, --to inclusive)",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("customer"), QH_OPT("from"), QH_OPT("to"),
	    QH_OPT("format") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_ledger,
};

const struct qh_cli_cmd cmd_revenue_entry = {
	.name = "revenue",
	.usage = "--month YYYY-MM [--json]",
	.summary =
	    "units debited, recognised and deferred revenue of a month (FIFO lots)",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("month"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_revenue,
};

const struct qh_cli_cmd cmd_verify_entry = {
	.name = "verify",
	.usage = "",
	.summary = "check the hash chain, balances, session debits and lots",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_verify,
};
