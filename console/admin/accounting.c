/*
 * qh-console balance / balances / ledger / revenue / verify: what accounting reads.
 * Every command here reads the database the dispatcher opened read-only
 * inside one read transaction, so it sees one consistent snapshot and
 * works while `serve` writes (WAL). Dates given on the command line are days in the
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
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "store/store.h"
#include "admin.h"

#define ROW_MAX (1024 * 1024) /* bytes of one exported row */

/* ------------------------------------------------------------------ balance */

/* Appends the figures of customer id to j as one JSON object. */
static void
balance_json(struct qh_json *j, const char *id, const struct balance_report *f,
    const char *hours, const char *avail_h)
{
	qh_json_begin_object(j);
	qh_json_kv_str(j, "customer", id);
	qh_json_kv_str(j, "name", f->name);
	qh_json_kv_str(j, "plan", f->plan);
	qh_json_kv_int(j, "units", f->b.units);
	qh_json_kv_str(j, "hours", hours);
	qh_json_kv_int(j, "installations", f->b.installations);
	qh_json_kv_int(j, "open_sessions", f->open_sessions);
	qh_json_kv_int(j, "running_units", f->running_units);
	qh_json_kv_int(j, "overdraft_units", f->b.overdraft_units);
	qh_json_kv_int(j, "available_units", f->available);
	qh_json_kv_str(j, "available_hours", avail_h);
	qh_json_kv_int(j, "warn_units", f->b.warn_units);
	qh_json_kv_bool(j, "low", f->b.units <= f->b.warn_units);
	qh_json_end_object(j);
}

static int
cmd_balance(struct qh_cli *c)
{
	const char *id = c->argv[0];
	struct balance_report f;
	struct qh_buf out;
	struct qh_json j;
	char hours[48], avail_h[48], warn_h[48];
	int r, status;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	if ((r = db_balance_report(admin_env(c)->db, id, &f)) == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s", id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	qh_hours_text(f.b.units, hours, sizeof(hours));
	qh_hours_text(f.available, avail_h, sizeof(avail_h));
	qh_hours_text(f.b.warn_units, warn_h, sizeof(warn_h));
	if (qh_cli_flag(c, "json")) {
		qh_buf_init(&out, ROW_MAX);
		qh_json_init(&j, &out);
		balance_json(&j, id, &f, hours, avail_h);
		status = console_json_print(c, &j, &out, "the balance");
		qh_buf_release(&out);
		return status;
	}
	printf("customer       %s (%s, %s)\n", id,
	    qh_display_str(f.name, f.name, sizeof(f.name), 0), f.plan);
	printf("balance        %" PRId64 " units (%s)\n", f.b.units, hours);
	printf("installations  %" PRId64 "\n", f.b.installations);
	printf("running        %" PRId64 " units in %" PRId64 " open session%s\n",
	    f.running_units, f.open_sessions, f.open_sessions == 1 ? "" : "s");
	printf("overdraft      %" PRId64 " units allowed\n", f.b.overdraft_units);
	printf("available      %" PRId64 " units (%s)\n", f.available, avail_h);
	printf("warn at        %" PRId64 " units (%s)%s\n", f.b.warn_units, warn_h,
	    f.b.units <= f.b.warn_units ? ": the balance is low" : "");
	return QH_EXIT_OK;
}

/* balances: every customer's figures, as balance gives them for one. */
struct balances {
	sqlite3 *db;
	struct qh_json *j; /* NULL: lines for people */
};

static int
balances_row(void *arg, const struct customer_row *cu)
{
	struct balances *x = arg;
	struct balance_report f;
	char hours[48], avail_h[48], name[CUSTOMER_NAME_MAX + 1];
	int r;

	if ((r = db_balance_report(x->db, cu->id, &f)) != 0)
		return r;
	qh_hours_text(f.b.units, hours, sizeof(hours));
	qh_hours_text(f.available, avail_h, sizeof(avail_h));
	if (x->j != NULL) {
		balance_json(x->j, cu->id, &f, hours, avail_h);
		return 0;
	}
	printf("%-20s %-24s %-8s %8" PRId64 " %8" PRId64 " %9" PRId64 "%s\n", cu->id,
	    qh_display_str(f.name, name, sizeof(name), 0), f.plan, f.b.units,
	    f.running_units, f.available, f.b.units <= f.b.warn_units ? " low" : "");
	return 0;
}

static int
balances_list(struct qh_cli *c, struct qh_json *j)
{
	struct balances x = { admin_env(c)->db, j };

	return db_customer_list(x.db, balances_row, &x);
}

static int
cmd_balances(struct qh_cli *c)
{
	return admin_list(c, balances_list, "%-20s %-24s %-8s %8s %8s %9s\n", "ID",
	    "NAME", "PLAN", "UNITS", "RUNNING", "AVAILABLE");
}

/* ------------------------------------------------------------------- ledger */

/* How a column of the export is kept in struct ledger_row. */
enum col_type {
	COL_TEXT, /* a const char *, NULL for none */
	COL_INT,  /* an int64_t */
	COL_OPT,  /* an int64_t, none unless its int flag is set */
};

#define TEXT(name, field)                                                                \
	{                                                                                \
		name, COL_TEXT, offsetof(struct ledger_row, field), 0                    \
	}
#define INT(name, field)                                                                 \
	{                                                                                \
		name, COL_INT, offsetof(struct ledger_row, field), 0                     \
	}
#define OPT(name, field, flag)                                                           \
	{                                                                                \
		name, COL_OPT, offsetof(struct ledger_row, field),                       \
		    offsetof(struct ledger_row, flag)                                    \
	}

/* The export's columns: DESIGN §5's contract columns in order, then the extra ones. */
static const struct ledger_col {
	const char *name;
	enum col_type type;
	size_t off;  /* of the value */
	size_t flag; /* COL_OPT: of its flag */
} ledger_cols[] = {
	INT("entry_id", id),
	TEXT("posted_at", posted_at),
	TEXT("customer_id", customer),
	TEXT("kind", kind),
	INT("units", units),
	INT("balance_after", balance_after),
	OPT("session_id", session_id, has_session),
	TEXT("started_at", started_at),
	TEXT("ended_at", ended_at),
	OPT("billable_seconds", billable_seconds, has_billable),
	TEXT("technician", technician),
	INT("after_hours", after_hours),
	TEXT("lot_id", lot_id),
	INT("amount_cents", amount_cents),
	TEXT("currency", currency),
	TEXT("reference", reference),
	TEXT("note", note),
	TEXT("entry_hash", entry_hash),
	INT("installations", installations),
	TEXT("customer_name", customer_name),
	OPT("corrects", corrects, has_corrects),
	TEXT("actor", actor),
	TEXT("prev_hash", prev_hash),
	OPT("schema_version", schema_version, has_version),
};
#define LEDGER_NCOLS ((int)(sizeof(ledger_cols) / sizeof(ledger_cols[0])))

/*
 * Column i of entry e: its text (NULL for none), or NULL with *is_int set
 * and the integer in *n.
 */
static const char *
ledger_value(const struct ledger_row *e, int i, int *is_int, int64_t *n)
{
	const struct ledger_col *k = &ledger_cols[i];
	const char *base = (const char *)e;

	*is_int = 0;
	if (k->type == COL_TEXT)
		return *(const char *const *)(const void *)(base + k->off);
	if (k->type == COL_OPT && !*(const int *)(const void *)(base + k->flag))
		return NULL;
	*is_int = 1;
	*n = *(const int64_t *)(const void *)(base + k->off);
	return NULL;
}

/*
 * Appends one RFC 4180 field: quoted iff it holds a comma, quote, CR or LF.
 * A text (text != 0) that a spreadsheet would take for a formula, one
 * starting with '=', '+', '-', '@', tab or CR (OWASP's rule against CSV
 * injection, STYLE 19), gets a leading "'"; numbers stay numbers. The
 * caller checks the buffer's kept error.
 */
static void
csv_field(struct qh_buf *b, const char *s, int text, char sep)
{
	int formula = text && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	const char special[] = { sep, '"', '\r', '\n', '\0' };
	const char *p;

	if (strpbrk(s, special) == NULL) {
		if (formula)
			(void)qh_buf_put_u8(b, '\'');
		(void)qh_buf_put(b, s, strlen(s));
		return;
	}
	(void)qh_buf_put_u8(b, '"');
	if (formula)
		(void)qh_buf_put_u8(b, '\'');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			(void)qh_buf_put_u8(b, '"');
		(void)qh_buf_put_u8(b, (uint8_t)*p);
	}
	(void)qh_buf_put_u8(b, '"');
}

/*
 * Appends one entry as a CSV record with CRLF; 0 or the buffer's kept
 * error. excel: ';' between fields and, last, the amount in the currency
 * with a decimal comma (what German Excel reads as a number).
 */
static int
csv_row(struct qh_buf *b, const struct ledger_row *e, int excel)
{
	char num[40], sep = excel ? ';' : ',';
	const char *v;
	int64_t n;
	uint64_t a;
	int i, is_int;

	for (i = 0; i < LEDGER_NCOLS; i++) {
		if (i > 0)
			(void)qh_buf_put_u8(b, (uint8_t)sep);
		if ((v = ledger_value(e, i, &is_int, &n)) == NULL && is_int) {
			snprintf(num, sizeof(num), "%" PRId64, n);
			v = num;
		}
		csv_field(b, v != NULL ? v : "", !is_int, sep);
	}
	if (excel) {
		a = e->amount_cents < 0 ? (uint64_t)0 - (uint64_t)e->amount_cents
					: (uint64_t)e->amount_cents;
		snprintf(num, sizeof(num), ";%s%" PRIu64 ",%02" PRIu64,
		    e->amount_cents < 0 ? "-" : "", a / 100, a % 100);
		(void)qh_buf_put(b, num, strlen(num));
	}
	return qh_buf_put(b, "\r\n", 2);
}

/* Appends one allocation to the JSON array of its entry. */
static int
alloc_json(void *arg, const struct allocation_row *a)
{
	struct qh_json *j = arg;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "lot_id", a->lot_id);
	qh_json_kv_int(j, "units", a->units);
	qh_json_kv_int(j, "amount_cents", a->amount_cents);
	qh_json_kv_str(j, "posted_at", a->posted_at);
	qh_json_end_object(j);
	return 0;
}

/*
 * Appends one entry as a JSON object with its allocations, and a newline.
 * Returns 0, the builder's error (QH_ERR_TOO_LARGE when b is full) or a
 * database error.
 */
static int
jsonl_row(struct qh_buf *b, sqlite3 *db, const struct ledger_row *e)
{
	struct qh_json j;
	const char *v;
	int64_t n;
	int i, r, is_int;

	qh_json_init(&j, b);
	qh_json_begin_object(&j);
	for (i = 0; i < LEDGER_NCOLS; i++) {
		if ((v = ledger_value(e, i, &is_int, &n)) != NULL)
			qh_json_kv_str(&j, ledger_cols[i].name, v);
		else if (is_int)
			qh_json_kv_int(&j, ledger_cols[i].name, n);
		else
			qh_json_kv_null(&j, ledger_cols[i].name);
	}
	qh_json_key(&j, "allocations");
	qh_json_begin_array(&j);
	if ((r = db_entry_allocations(db, e->id, alloc_json, &j)) != 0)
		return r;
	qh_json_end_array(&j);
	qh_json_end_object(&j);
	if ((r = qh_json_finish(&j)) != 0)
		return r;
	return qh_buf_put_u8(b, '\n');
}

/* What the export's row callback needs. */
struct export
{
	struct qh_cli *c;
	sqlite3 *db;
	struct qh_buf out;
	int jsonl;
	int excel;  /* csv for German Excel */
	int status; /* set when a row failed */
};

/* Writes one entry to stdout; a row that failed sets x->status and stops the export. */
static int
export_row(void *arg, const struct ledger_row *e)
{
	struct export *x = arg;
	int r;

	r = x->jsonl ? jsonl_row(&x->out, x->db, e) : csv_row(&x->out, e, x->excel);
	if (r == QH_ERR_TOO_LARGE)
		x->status = qh_cli_fail(x->c,
		    "entry %" PRId64 " does not fit in %d bytes", e->id, ROW_MAX);
	else if (r != 0)
		x->status = qh_cli_fail(x->c, "database: %s", qh_strerror(r));
	else if (console_flush(&x->out) != 0)
		x->status = qh_cli_fail(x->c, "stdout: %s", strerror(errno));
	return x->status != QH_EXIT_OK ? 1 : 0;
}

/* The UTC bounds of --from and --to (local days, --to inclusive); usage errors printed.
 */
static int
ledger_bounds(struct qh_cli *c, const struct console_conf *conf, char *from_t, char *to_t,
    size_t len)
{
	const char *from = qh_cli_opt(c, "from"), *to = qh_cli_opt(c, "to");
	int y, m, d;

	if ((from != NULL && calendar_parse_date(from, &y, &m, &d) != 0) ||
	    (to != NULL && calendar_parse_date(to, &y, &m, &d) != 0))
		return qh_cli_usage(c, "--from and --to take a date YYYY-MM-DD");
	/* Local days: from its midnight up to the midnight after --to. */
	if (from != NULL) {
		calendar_parse_date(from, &y, &m, &d);
		if (calendar_midnight_text(conf, y, m, d, from_t, len) != 0)
			return qh_cli_usage(c,
			    "--from is not a day in the business time zone");
	}
	if (to != NULL) {
		calendar_parse_date(to, &y, &m, &d);
		if (calendar_midnight_text(conf, y, m, d + 1, to_t, len) != 0)
			return qh_cli_usage(c,
			    "--to is not a day in the business time zone");
	}
	return QH_EXIT_OK;
}

static int
cmd_ledger(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *customer = qh_cli_opt(c, "customer");
	const char *format = qh_cli_opt(c, "format") ? qh_cli_opt(c, "format") : "csv";
	struct ledger_filter f;
	struct export x;
	char from_t[32], to_t[32];
	int i, r, status;

	if (strcmp(format, "datev") == 0) {
		if (qh_cli_flag(c, "excel"))
			return qh_cli_usage(c, "--excel goes with --format csv");
		return admin_ledger_datev(c, env);
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
		return qh_cli_usage(c, "--format is csv, jsonl or datev");
	if (qh_cli_flag(c, "excel") && strcmp(format, "csv") != 0)
		return qh_cli_usage(c, "--excel goes with --format csv");
	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	if ((status = ledger_bounds(c, &env->conf, from_t, to_t, sizeof(to_t))) != 0)
		return status;
	if (customer != NULL && (r = db_customer_exists(env->db, customer)) != 1)
		return r == 0 ? qh_cli_fail(c, "no customer %s", customer)
			      : qh_cli_fail(c, "database: %s", qh_strerror(r));
	f.customer = customer;
	f.from = qh_cli_opt(c, "from") != NULL ? from_t : NULL;
	f.to = qh_cli_opt(c, "to") != NULL ? to_t : NULL;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.db = env->db;
	x.jsonl = format[0] == 'j';
	x.excel = qh_cli_flag(c, "excel");
	qh_buf_init(&x.out, ROW_MAX);
	if (!x.jsonl) {
		if (x.excel)
			(void)qh_buf_put(&x.out, "\xef\xbb\xbf", 3); /* UTF-8's BOM */
		for (i = 0; i < LEDGER_NCOLS; i++) {
			if (i > 0)
				(void)qh_buf_put_u8(&x.out, x.excel ? ';' : ',');
			csv_field(&x.out, ledger_cols[i].name, 0, x.excel ? ';' : ',');
		}
		if (x.excel)
			(void)qh_buf_put(&x.out, ";amount", 7);
		(void)qh_buf_put(&x.out, "\r\n", 2); /* checked with the first flush */
	}
	if ((r = db_ledger_rows(env->db, &f, export_row, &x)) < 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (r > 0)
		status = x.status;
	else if (console_flush(&x.out) != 0 || fflush(stdout) != 0)
		status = qh_cli_fail(c, "stdout: %s", strerror(errno));
	qh_buf_release(&x.out);
	return status;
}

/* ------------------------------------------------------------------ revenue */

/* Appends one currency's figures to j as a JSON object. */
static void
revenue_json(struct qh_json *j, const struct revenue *v)
{
	qh_json_begin_object(j);
	qh_json_kv_str(j, "currency", v->currency);
	qh_json_kv_int(j, "units_debited", v->debited);
	qh_json_kv_int(j, "recognised_cents", v->recognised_cents);
	qh_json_kv_int(j, "recognised_units", v->recognised_units);
	qh_json_kv_int(j, "deferred_cents", v->deferred_cents);
	qh_json_kv_int(j, "deferred_units", v->deferred_units);
	qh_json_kv_int(j, "units_purchased", v->purchased_units);
	qh_json_kv_int(j, "purchased_cents", v->purchased_cents);
	qh_json_kv_int(j, "installations_purchased", v->inst_purchased);
	qh_json_kv_int(j, "installations_purchased_cents", v->inst_purchased_cents);
	qh_json_kv_int(j, "installations_used", v->inst_used);
	qh_json_kv_int(j, "installations_used_cents", v->inst_used_cents);
	qh_json_end_object(j);
}

/* Prints one currency's figures. */
static void
revenue_text(const struct revenue *v)
{
	char a[48], b[48], h[48];

	printf("%s\n", v->currency);
	qh_hours_text(v->debited, h, sizeof(h));
	printf("  units debited          %" PRId64 " (%s)\n", v->debited, h);
	billing_money_text(v->recognised_cents, a, sizeof(a));
	printf("  recognised revenue     %s %s (%" PRId64 " units from lots)\n", a,
	    v->currency, v->recognised_units);
	billing_money_text(v->deferred_cents, a, sizeof(a));
	printf("  deferred at month end  %s %s (%" PRId64 " units unused)\n", a,
	    v->currency, v->deferred_units);
	billing_money_text(v->purchased_cents, a, sizeof(a));
	printf("  units purchased        %" PRId64 " for %s %s\n", v->purchased_units, a,
	    v->currency);
	billing_money_text(v->inst_purchased_cents, b, sizeof(b));
	billing_money_text(v->inst_used_cents, a, sizeof(a));
	printf("  installations          %" PRId64 " purchased for %s %s, %" PRId64
	       " used worth %s %s\n",
	    v->inst_purchased, b, v->currency, v->inst_used, a, v->currency);
}

static int
cmd_revenue(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *month = qh_cli_opt(c, "month");
	struct revenue rows[REVENUE_MAX_CURRENCIES];
	struct qh_buf out;
	struct qh_json j;
	char start[32], end[32];
	int y, m, len = 0, n = 0, i, r, status;

	if (month == NULL || strlen(month) != 7 ||
	    sscanf(month, "%4d-%2d%n", &y, &m, &len) != 2 || len != 7 ||
	    month[4] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12)
		return qh_cli_usage(c, "--month YYYY-MM is required");
	if (calendar_midnight_text(&env->conf, y, m, 1, start, sizeof(start)) != 0 ||
	    calendar_midnight_text(&env->conf, y, m + 1, 1, end, sizeof(end)) != 0)
		return qh_cli_fail(c, "cannot place %s in %s", month, env->conf.timezone);
	if ((r = revenue_month(env->db, start, end, env->conf.currency, rows, &n)) != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if (!qh_cli_flag(c, "json")) {
		printf("revenue %s (%s: %s to %s)\n", month, env->conf.timezone, start,
		    end);
		for (i = 0; i < n; i++)
			revenue_text(&rows[i]);
		return QH_EXIT_OK;
	}
	qh_buf_init(&out, ROW_MAX);
	qh_json_init(&j, &out);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "month", month);
	qh_json_kv_str(&j, "timezone", env->conf.timezone);
	qh_json_kv_str(&j, "from", start);
	qh_json_kv_str(&j, "to", end);
	qh_json_key(&j, "currencies");
	qh_json_begin_array(&j);
	for (i = 0; i < n; i++)
		revenue_json(&j, &rows[i]);
	qh_json_end_array(&j);
	qh_json_end_object(&j);
	status = console_json_print(c, &j, &out, "the revenue report");
	qh_buf_release(&out);
	return status;
}

/* Parses --since-head ID:HASH into *id and hash (64 lower-case hex digits). */
static int
parse_head(const char *text, int64_t *id, char hash[65])
{
	const char *colon = text != NULL ? strchr(text, ':') : NULL;
	char num[24];
	long long n;

	if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(num) ||
	    strlen(colon + 1) != 64 || strspn(colon + 1, "0123456789abcdef") != 64)
		return QH_ERR_ARG;
	memcpy(num, text, (size_t)(colon - text));
	num[colon - text] = '\0';
	if (qh_parse_int(num, 0, INT64_MAX, &n) != 0)
		return QH_ERR_ARG;
	*id = n;
	snprintf(hash, 65, "%s", colon + 1);
	return 0;
}

/*
 * --since-head: entry id's hash, recomputed now, is the one accounting wrote
 * down. Prints why not and returns the exit status.
 */
static int
check_anchor(struct qh_cli *c, sqlite3 *db, int64_t id, const char *anchored)
{
	char now[65];
	int r;

	if (id == 0)
		snprintf(now, sizeof(now), "%s", LEDGER_GENESIS);
	else if ((r = ledger_entry_hash(db, id, now)) == QH_ERR_NOT_FOUND) {
		fprintf(stderr,
		    "verify: entry %" PRId64 " of the anchored head is not in the "
		    "ledger: entries were removed\n",
		    id);
		return QH_EXIT_FAIL;
	} else if (r != 0)
		return qh_cli_fail(c, "entry %" PRId64 ": %s", id, qh_strerror(r));
	if (strcmp(now, anchored) != 0) {
		fprintf(stderr,
		    "verify: entry %" PRId64 ": its hash is now %s, not the anchored "
		    "%s: the history up to the anchored head was rewritten\n",
		    id, now, anchored);
		return QH_EXIT_FAIL;
	}
	return QH_EXIT_OK;
}

static int
cmd_verify(struct qh_cli *c)
{
	sqlite3 *db = admin_env(c)->db;
	const char *since = qh_cli_opt(c, "since-head");
	struct ledger_counts n;
	char why[1024], anchored[65], head[65];
	int64_t bad = 0, anchor = 0, head_id = 0;
	int r, status;

	if (since != NULL && parse_head(since, &anchor, anchored) != 0)
		return qh_cli_usage(c,
		    "--since-head takes ID:HASH as `verify --head` printed it");
	if ((r = ledger_verify(db, why, sizeof(why), &bad)) < 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if (r == 2) {
		/* Not tampering: nothing found wrong, but not everything checked. */
		fprintf(stderr, "verify: key: %s\n", why);
		return QH_EXIT_FAIL;
	}
	if (r > 0) {
		if (bad > 0)
			fprintf(stderr, "verify: entry %" PRId64 ": %s\n", bad, why);
		else
			fprintf(stderr, "verify: %s\n", why);
		return QH_EXIT_FAIL;
	}
	if (since != NULL && (status = check_anchor(c, db, anchor, anchored)) != 0)
		return status;
	if (db_ledger_counts(db, &n) != 0 || ledger_head(db, &head_id, head) != 0)
		return qh_cli_fail(c, "database: cannot count the ledger");
	printf("ledger ok: %" PRId64 " entries, %" PRId64 " sessions, %" PRId64
	       " customers\n",
	    n.entries, n.closed_sessions, n.customers);
	if (since != NULL)
		printf("entry %" PRId64 " matches the anchored head\n", anchor);
	if (since != NULL || qh_cli_flag(c, "head"))
		printf("head %" PRId64 ":%s\n", head_id, head);
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_balance_entry = {
	.name = "balance",
	.usage = "ID [--json]",
	.summary = "show a customer's units, installations, running and available units",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_balance,
};

const struct qh_cli_cmd cmd_balances_entry = {
	.name = "balances",
	.usage = "[--json]",
	.summary = "every customer's units, running and available units and plan",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_balances,
};

const struct qh_cli_cmd cmd_ledger_entry = {
	.name = "ledger",
	.usage = "[--customer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
		 "[--format csv|jsonl|datev] [--excel]",
	.summary =
	    "export ledger entries (dates in the business time zone, --to inclusive)",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("customer"), QH_OPT("from"),
	    QH_OPT("to"), QH_OPT("format"), QH_FLAG("excel") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_ledger,
};

const struct qh_cli_cmd cmd_revenue_entry = {
	.name = "revenue",
	.usage = "--month YYYY-MM [--json]",
	.summary =
	    "units debited, recognised and deferred revenue of a month (FIFO lots)",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("month"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_revenue,
};

const struct qh_cli_cmd cmd_verify_entry = {
	.name = "verify",
	.usage = "[--head] [--since-head ID:HASH]",
	.summary =
	    "check the keyed hash chain, balances, session debits, lots and money; "
	    "--head prints the chain's head to write down, --since-head checks "
	    "one written down before",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("head"),
	    QH_OPT("since-head") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_verify,
};
