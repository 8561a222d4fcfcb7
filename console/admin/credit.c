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

/* Prints one line describing ledger entry id, as credit and correct show it. */
static int
print_entry(sqlite3 *db, int64_t id)
{
	struct entry_view v;
	char units[48], money[48], price[48], bal[48], dur[48];
	const char *cur, *lots;
	int64_t n, inst;
	int r;

	if ((r = db_entry_get(db, id, &v)) != 0)
		return r;
	n = v.units;
	inst = v.installations;
	cur = v.currency;
	lots = v.lots;
	billing_money_text(v.amount_cents, money, sizeof(money));
	qh_hours_text(v.balance_after, bal, sizeof(bal));
	qh_hours_short(n, dur, sizeof(dur));
	snprintf(units, sizeof(units), "%+" PRId64 " unit%s", n,
	    n == 1 || n == -1 ? "" : "s");
	if (strcmp(v.kind, "purchase") == 0) {
		billing_money_text(n != 0 ? v.amount_cents / n : 0, price, sizeof(price));
		printf("entry %" PRId64 ": %s %s (%s) at %s %s/unit = %s %s, lot %s; "
		       "balance %" PRId64 " units (%s)\n",
		    id, v.customer, units, dur, price, cur, money, cur, lots,
		    v.balance_after, bal);
	} else if (strcmp(v.kind, "installation_purchase") == 0) {
		billing_money_text(inst != 0 ? v.amount_cents / inst : 0, price,
		    sizeof(price));
		printf("entry %" PRId64 ": %s %+" PRId64 " installation%s at %s "
		       "%s/installation = %s %s; installations %" PRId64 "\n",
		    id, v.customer, inst, inst == 1 ? "" : "s", price, cur, money, cur,
		    v.installations_after);
	} else {
		printf("entry %" PRId64 ": %s %s %s (%s)", id, v.customer, v.kind, units,
		    dur);
		if (v.corrects != 0)
			printf(" correcting entry %" PRId64, v.corrects);
		printf(" = %s%s%s", money, *cur ? " " : "", cur);
		if (*lots)
			printf(", lot%s %s", strchr(lots, ';') != NULL ? "s" : "", lots);
		printf("; balance %" PRId64 " units (%s)", v.balance_after, bal);
		if (v.has_note)
			printf("; reason: %s", v.note);
		printf("\n");
	}
	return 0;
}

/* Parses a whole number option: 0 and *v, or QH_ERR_ARG when it is not one. */
static int
opt_number(const struct qh_cli *c, const char *name, long long *v)
{
	return qh_parse_int(qh_cli_opt(c, name), -9000000000000000000LL,
	    9000000000000000000LL, v);
}

/*
 * Reads credit's options into p (units or installations, and the price: the
 * one given, else R6's tier or the installation price). Prints why not and
 * returns the exit status.
 */
static int
purchase_of(struct qh_cli *c, const struct console_conf *conf, struct purchase *p)
{
	static const char *const amounts[] = { "hours", "units", "installations" };
	const char *ref = qh_cli_opt(c, "ref"), *which = NULL;
	long long n = 0, price = -1;
	int i, given = 0;

	if (!qh_id_valid(p->customer))
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
	if (ref == NULL || *ref == '\0' || strlen(ref) > PURCHASE_REF_MAX ||
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
		p->units = n * 4;
	else if (strcmp(which, "units") == 0 && n <= MAX_UNITS)
		p->units = n;
	else if (strcmp(which, "installations") == 0 && n <= MAX_INSTALL)
		p->installations = n;
	else
		return qh_cli_fail(c, "--%s %lld is too large for one purchase", which,
		    n);
	p->reference = ref;
	p->currency = conf->currency;
	if (price >= 0)
		p->unit_price_cents = price;
	else if (p->units > 0)
		p->unit_price_cents = billing_tier_price(conf, p->units);
	else
		p->unit_price_cents = conf->installation_cents;
	return QH_EXIT_OK;
}

static int
cmd_credit(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	struct purchase p;
	char actor[256];
	int64_t entry = 0;
	int r, status;

	memset(&p, 0, sizeof(p));
	p.customer = c->argv[0];
	p.actor = console_actor(actor, sizeof(actor));
	if ((status = purchase_of(c, &env->conf, &p)) != QH_EXIT_OK)
		return status;
	r = db_purchase(env->db, &p, &entry);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s; nothing booked", p.customer);
	if (r == QH_ERR_EXISTS)
		return qh_cli_fail(c,
		    "reference %s is already booked with different "
		    "content (entry %" PRId64 ")",
		    p.reference, entry);
	if (r < 0)
		return qh_cli_fail(c, "cannot book the purchase: %s", qh_strerror(r));
	if (r == 1) {
		/* Idempotent on the reference: a retry prints what was booked. */
		if ((r = print_entry(env->db, entry)) != 0)
			return qh_cli_fail(c, "database: %s", qh_strerror(r));
		fprintf(stderr,
		    "%s: reference %s was booked already (entry %" PRId64
		    "); nothing written\n",
		    c->prog, p.reference, entry);
		return QH_EXIT_OK;
	}
	if ((r = print_entry(env->db, entry)) != 0)
		return qh_cli_fail(c,
		    "booked as entry %" PRId64 ", but cannot show it: %s", entry,
		    qh_strerror(r));
	return QH_EXIT_OK;
}

static int
cmd_correct(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *reason = qh_cli_opt(c, "reason");
	struct correction k;
	unsigned char rnd[8];
	char key[80], actor[256], why[512];
	long long entry = 0, units = 0;
	int64_t id = 0;
	int i, r;

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
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return qh_cli_fail(c, "no random bytes for the correction's key");
	i = snprintf(key, sizeof(key), "correction:%lld:", entry);
	for (r = 0; r < (int)sizeof(rnd); r++)
		i += snprintf(key + i, sizeof(key) - (size_t)i, "%02x", rnd[r]);

	memset(&k, 0, sizeof(k));
	k.corrects = entry;
	k.units = units;
	k.reason = reason;
	k.actor = console_actor(actor, sizeof(actor));
	k.currency = env->conf.currency;
	k.idem_key = key;
	if ((r = db_correction(env->db, &k, &id, why, sizeof(why))) == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no ledger entry %lld; nothing written", entry);
	if (r == QH_ERR_REFUSED && why[0] != '\0')
		return qh_cli_fail(c, "%s; nothing written", why);
	if (r != 0)
		return qh_cli_fail(c, "cannot book the correction: %s", qh_strerror(r));
	if ((r = print_entry(env->db, id)) != 0)
		return qh_cli_fail(c,
		    "booked as entry %" PRId64 ", but cannot show it: %s", id,
		    qh_strerror(r));
	return QH_EXIT_OK;
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
