/*
 * qh-console credit / correct: the admin's ledger writes. A purchase books
 * prepaid units (or installations, R8) as a lot priced from the tier table
 * of console.conf (R6) unless a price is given; it is idempotent on its
 * reference. A correction never edits an entry: it is a new one that
 * references the entry it corrects, with a reason and the acting login
 * (R10). Both go through ledger_append() inside BEGIN IMMEDIATE.
 */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "qh/units.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "admin.h"
#include "store/store.h"

#define REF_MAX	    200		/* bytes of a purchase reference */
#define REASON_MAX  1000	/* bytes of a correction's reason */
#define MAX_UNITS   100000000LL /* one booking: 25 million hours */
#define MAX_INSTALL 1000000LL
#define MAX_PRICE   1000000000LL /* cents per unit or installation */

const char *
console_actor(char *buf, size_t len)
{
	const char *env = getenv("QH_ACTOR");
	struct passwd *pw;

	if (env != NULL && *env != '\0' && strlen(env) < len &&
	    qh_utf8_valid((const uint8_t *)env, strlen(env)))
		snprintf(buf, len, "%s", env);
	else if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)geteuid());
	return buf;
}

/* Text of column i, or "" for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Prints one line describing ledger entry id, as credit and correct show it. */
static int
print_entry(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = NULL;
	char units[48], money[48], price[48], bal[48], dur[48];
	const char *kind, *cur, *lots;
	int64_t n, inst, amount;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT e.customer_id, e.kind, e.units, e.installations, "
		 "e.amount_cents, coalesce(e.currency, ''), e.lot_id, e.balance_after, "
		 "e.corrects, e.note, (SELECT sum(x.installations) FROM ledger x WHERE "
		 "x.customer_id = e.customer_id AND x.id <= e.id) FROM ledger e WHERE "
		 "e.id = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? QH_ERR_NOT_FOUND : db_error(db, rc, "entry");
		goto out;
	}
	kind = col(st, 1);
	n = sqlite3_column_int64(st, 2);
	inst = sqlite3_column_int64(st, 3);
	amount = sqlite3_column_int64(st, 4);
	cur = col(st, 5);
	lots = col(st, 6);
	billing_money_text(amount, money, sizeof(money));
	qh_hours_text(sqlite3_column_int64(st, 7), bal, sizeof(bal));
	qh_hours_short(n, dur, sizeof(dur));
	snprintf(units, sizeof(units), "%+" PRId64 " unit%s", n,
	    n == 1 || n == -1 ? "" : "s");
	if (strcmp(kind, "purchase") == 0) {
		billing_money_text(n != 0 ? amount / n : 0, price, sizeof(price));
		printf("entry %" PRId64 ": %s %s (%s) at %s %s/unit = %s %s, lot %s; "
		       "balance %" PRId64 " units (%s)\n",
		    id, col(st, 0), units, dur, price, cur, money, cur, lots,
		    (int64_t)sqlite3_column_int64(st, 7), bal);
	} else if (strcmp(kind, "installation_purchase") == 0) {
		billing_money_text(inst != 0 ? amount / inst : 0, price, sizeof(price));
		printf("entry %" PRId64 ": %s %+" PRId64 " installation%s at %s "
		       "%s/installation = %s %s; installations %" PRId64 "\n",
		    id, col(st, 0), inst, inst == 1 ? "" : "s", price, cur, money, cur,
		    (int64_t)sqlite3_column_int64(st, 10));
	} else {
		printf("entry %" PRId64 ": %s %s %s (%s)", id, col(st, 0), kind, units,
		    dur);
		if (sqlite3_column_type(st, 8) != SQLITE_NULL)
			printf(" correcting entry %" PRId64,
			    (int64_t)sqlite3_column_int64(st, 8));
		printf(" = %s%s%s", money, *cur ? " " : "", cur);
		if (*lots)
			printf(", lot%s %s", strchr(lots, ';') != NULL ? "s" : "", lots);
		printf("; balance %" PRId64 " units (%s)",
		    (int64_t)sqlite3_column_int64(st, 7), bal);
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			printf("; reason: %s", col(st, 9));
		printf("\n");
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* 1 if customer id exists, 0 if not, <0 on a database error. */
static int
customer_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "SELECT 1 FROM customers WHERE id = ?1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? 1 : db_error(db, rc, "customer");
	sqlite3_finalize(st);
	return r;
}

/* What a purchase reference was booked with, to tell a retry from a clash. */
struct booked {
	int64_t id, units, installations, amount;
	char customer[80], kind[32];
};

/* Finds the entry with idem_key key: 1 and *b when there is one, 0 if not, <0 on error.
 */
static int
find_booked(sqlite3 *db, const char *key, struct booked *b)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, customer_id, kind, units, installations, "
		 "amount_cents FROM ledger WHERE idem_key = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b->id = sqlite3_column_int64(st, 0);
		snprintf(b->customer, sizeof(b->customer), "%s", col(st, 1));
		snprintf(b->kind, sizeof(b->kind), "%s", col(st, 2));
		b->units = sqlite3_column_int64(st, 3);
		b->installations = sqlite3_column_int64(st, 4);
		b->amount = sqlite3_column_int64(st, 5);
		r = 1;
	} else
		r = db_error(db, rc, "reference");
	sqlite3_finalize(st);
	return r;
}

/* Parses a whole number option: 0 and *v, or QH_ERR_ARG when it is not one. */
static int
opt_number(const struct qh_cli *c, const char *name, long long *v)
{
	return qh_parse_int(qh_cli_opt(c, name), -9000000000000000000LL,
	    9000000000000000000LL, v);
}

static int
cmd_credit(struct qh_cli *c)
{
	static const char *const amounts[] = { "hours", "units", "installations" };
	const char *id = c->argv[0], *ref = qh_cli_opt(c, "ref"), *which = NULL;
	const char *state = console_state_dir(c);
	struct console_conf conf;
	struct ledger_entry e;
	struct booked b;
	sqlite3 *db = NULL;
	char key[16 + REF_MAX], actor[256];
	long long n = 0, price = -1;
	int64_t units = 0, inst = 0, unit_price, amount;
	int i, given = 0, r, status = QH_EXIT_FAIL;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	for (i = 0; i < 3; i++)
		if (qh_cli_opt(c, amounts[i]) != NULL) {
			which = amounts[i];
			given++;
		}
	if (given != 1)
		return qh_cli_usage(c,
		    "give exactly one of --hours H, --units U, "
		    "--installations N");
	if (opt_number(c, which, &n) != 0)
		return qh_cli_usage(c,
		    "--hours, --units and --installations take a whole "
		    "number");
	if (ref == NULL || *ref == '\0' || strlen(ref) > REF_MAX ||
	    !qh_utf8_valid((const uint8_t *)ref, strlen(ref)))
		return qh_cli_usage(c, "--ref REF is required (UTF-8, 1 to 200 bytes)");
	if (qh_cli_opt(c, "price-cents") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "price-cents"), 0, MAX_PRICE, &price) != 0)
		return qh_cli_usage(c,
		    "--price-cents takes a whole number of cents >= 0");
	if (n <= 0)
		return qh_cli_fail(c,
		    "--%s %lld: a purchase must be positive; nothing booked", which, n);
	if (strcmp(which, "hours") == 0 && n <= MAX_UNITS / 4)
		units = n * 4;
	else if (strcmp(which, "units") == 0 && n <= MAX_UNITS)
		units = n;
	else if (strcmp(which, "installations") == 0 && n <= MAX_INSTALL)
		inst = n;
	else
		return qh_cli_fail(c, "--%s %lld is too large for one purchase", which,
		    n);
	if (conf_load(state, &conf) != 0)
		return QH_EXIT_FAIL;
	if (price >= 0)
		unit_price = price;
	else if (units > 0)
		unit_price = billing_tier_price(&conf, units);
	else
		unit_price = conf.installation_cents;
	amount = (units > 0 ? units : inst) * unit_price;
	snprintf(key, sizeof(key), "purchase:%s", ref);

	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	if ((r = db_begin(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = customer_exists(db, id)) <= 0) {
		status = r == 0 ? qh_cli_fail(c, "no customer %s; nothing booked", id)
				: qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	/* Idempotent on the reference: a retry prints what was booked. */
	memset(&b, 0, sizeof(b));
	if ((r = find_booked(db, key, &b)) < 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if (r == 1) {
		if (strcmp(b.customer, id) != 0 ||
		    strcmp(b.kind, units > 0 ? "purchase" : "installation_purchase") !=
			0 ||
		    b.units != units || b.installations != inst || b.amount != amount) {
			status = qh_cli_fail(c,
			    "reference %s is already booked with different "
			    "content (entry %" PRId64 ")",
			    ref, b.id);
			goto out;
		}
		db_rollback(db);
		if ((r = print_entry(db, b.id)) != 0) {
			status = qh_cli_fail(c, "database: %s", qh_strerror(r));
			goto out;
		}
		fprintf(stderr,
		    "%s: reference %s was booked already (entry %" PRId64
		    "); nothing written\n",
		    c->prog, ref, b.id);
		status = QH_EXIT_OK;
		goto out;
	}

	memset(&e, 0, sizeof(e));
	e.customer = id;
	e.kind = units > 0 ? "purchase" : "installation_purchase";
	e.units = units;
	e.installations = inst;
	e.billable_seconds = -1;
	e.reference = ref;
	e.actor = console_actor(actor, sizeof(actor));
	e.idem_key = key;
	e.unit_price_cents = unit_price;
	e.currency = conf.currency;
	if ((r = ledger_append(db, &e)) != 0 || (r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "cannot book the purchase: %s", qh_strerror(r));
		goto out;
	}
	if ((r = print_entry(db, e.id)) != 0) {
		status =
		    qh_cli_fail(c, "booked as entry %" PRId64 ", but cannot show it: %s",
			e.id, qh_strerror(r));
		goto out;
	}
	status = QH_EXIT_OK;
out:
	db_rollback(db);
	db_close(db);
	return status;
}

static int
cmd_correct(struct qh_cli *c)
{
	const char *reason = qh_cli_opt(c, "reason");
	const char *state = console_state_dir(c);
	struct console_conf conf;
	struct ledger_entry e;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char rnd[8];
	char key[80], actor[256], customer[80];
	long long entry = 0, units = 0;
	int i, r, rc, status = QH_EXIT_FAIL;

	if (qh_parse_int(c->argv[0], 1, INT64_MAX, &entry) != 0)
		return qh_cli_usage(c, "ENTRY_ID is the number of a ledger entry");
	if (qh_cli_opt(c, "units") == NULL || opt_number(c, "units", &units) != 0)
		return qh_cli_usage(c,
		    "--units U is required: a signed whole number of units");
	if (reason == NULL || *reason == '\0' || strlen(reason) > REASON_MAX ||
	    !qh_utf8_valid((const uint8_t *)reason, strlen(reason)))
		return qh_cli_usage(c,
		    "--reason TEXT is required (UTF-8, 1 to 1000 bytes)");
	if (units == 0)
		return qh_cli_fail(c,
		    "a correction of 0 units changes nothing; "
		    "nothing written");
	if (units > MAX_UNITS || units < -MAX_UNITS)
		return qh_cli_fail(c, "--units %lld is too large for one correction",
		    units);
	if (conf_load(state, &conf) != 0)
		return QH_EXIT_FAIL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return qh_cli_fail(c, "no random bytes for the correction's key");
	i = snprintf(key, sizeof(key), "correction:%lld:", entry);
	for (r = 0; r < (int)sizeof(rnd); r++)
		i += snprintf(key + i, sizeof(key) - (size_t)i, "%02x", rnd[r]);

	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	if ((r = db_begin(db)) != 0 ||
	    (r = db_prepare(db, "SELECT customer_id FROM ledger WHERE id = ?1", &st)) !=
		0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	sqlite3_bind_int64(st, 1, entry);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		status = rc == SQLITE_DONE
		    ? qh_cli_fail(c,
			  "no ledger entry %lld; nothing "
			  "written",
			  entry)
		    : qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	snprintf(customer, sizeof(customer), "%s", col(st, 0));
	sqlite3_finalize(st);
	st = NULL;

	memset(&e, 0, sizeof(e));
	e.customer = customer;
	e.kind = "correction";
	e.units = units;
	e.billable_seconds = -1;
	e.corrects = entry;
	e.note = reason;
	e.actor = console_actor(actor, sizeof(actor));
	e.idem_key = key;
	e.currency = conf.currency;
	if ((r = ledger_append(db, &e)) != 0 || (r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "cannot book the correction: %s", qh_strerror(r));
		goto out;
	}
	if ((r = print_entry(db, e.id)) != 0) {
		status =
		    qh_cli_fail(c, "booked as entry %" PRId64 ", but cannot show it: %s",
			e.id, qh_strerror(r));
		goto out;
	}
	status = QH_EXIT_OK;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

const struct qh_cli_cmd cmd_credit_entry = {
	.name = "credit",
	.usage = "ID (--hours H | --units U | --installations N) --ref REF "
		 "[--price-cents C]",
	.summary =
	    "book a purchase of prepaid units or installations (idempotent on REF)",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("hours"), QH_OPT("units"),
	    QH_OPT("installations"), QH_OPT("ref"), QH_OPT("price-cents") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_credit,
};

const struct qh_cli_cmd cmd_correct_entry = {
	.name = "correct",
	.usage = "ENTRY_ID --units U --reason TEXT",
	.summary = "book a correction of a ledger entry (U signed: positive gives back)",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("units"), QH_OPT("reason") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_correct,
};
