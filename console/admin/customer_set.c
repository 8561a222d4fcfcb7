/*
 * qh-console customer set ID [--name NAME] [--plan premium|free]
 * [--email ADDR]... [--lang de|en] [--country CC] [--vat-id ID]
 * [--warn-units N] [--overdraft-units N] [--record-desktop yes|no]:
 * changes a customer. Options not given leave their field as it is; the
 * --email options, when given, replace the customer's whole list
 * (--email "" alone removes them all). Each other option is a line of
 * the table below and a member of struct customer_change (store.h), so
 * another field is one line here and one there.
 */
#include <stdio.h>
#include <string.h>

#include "qh/cli.h"
#include "qh/err.h"
#include "qh/wire.h"
#include "admin.h"
#include "store/store.h"

static int
set_name(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	if (*v == '\0' || strlen(v) > CUSTOMER_NAME_MAX ||
	    !qh_utf8_valid((const uint8_t *)v, strlen(v)))
		return qh_cli_usage(c, "--name takes UTF-8 text of 1 to 256 bytes");
	ch->name = v;
	return QH_EXIT_OK;
}

static int
set_plan(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	if (strcmp(v, "premium") != 0 && strcmp(v, "free") != 0)
		return qh_cli_usage(c, "--plan is premium or free");
	ch->plan = v;
	return QH_EXIT_OK;
}

static int
set_lang(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	if (strcmp(v, "de") != 0 && strcmp(v, "en") != 0)
		return qh_cli_usage(c, "--lang is de or en");
	ch->lang = v;
	return QH_EXIT_OK;
}

static int
set_country(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z')
		return qh_cli_usage(c,
		    "--country takes a two-letter ISO 3166 code in capitals: DE, AT, "
		    "CH...");
	ch->country = v;
	return QH_EXIT_OK;
}

/* A VAT id: "" removes it; else 4 to 20 of A-Z 0-9 starting with the country prefix. */
static int
set_vat_id(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	size_t i, len = strlen(v);

	for (i = 0; i < len; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9')))
			break;
	if (len != 0 &&
	    (len < 4 || len > 20 || i != len || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
		v[1] > 'Z'))
		return qh_cli_usage(c,
		    "--vat-id takes a VAT id such as ATU12345678 (capitals and digits, "
		    "no spaces), or \"\" to remove it");
	ch->vat_id = v;
	return QH_EXIT_OK;
}

static int
set_warn(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	long long n;

	if (qh_parse_int(v, 0, 1000000, &n) != 0)
		return qh_cli_usage(c, "--warn-units takes a whole number of units >= 0");
	ch->warn_units = n;
	return QH_EXIT_OK;
}

static int
set_overdraft(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	long long n;

	if (qh_parse_int(v, 0, 1000000, &n) != 0)
		return qh_cli_usage(c,
		    "--overdraft-units takes a whole number of units >= 0");
	ch->overdraft_units = n;
	return QH_EXIT_OK;
}

/* Whether what technicians see of the screen is recorded (a running console
 * reads it when a desktop starts). */
static int
set_record_desktop(struct qh_cli *c, const char *v, struct customer_change *ch)
{
	if (strcmp(v, "yes") == 0)
		ch->record_desktop = 1;
	else if (strcmp(v, "no") == 0)
		ch->record_desktop = 0;
	else
		return qh_cli_usage(c, "--record-desktop is yes or no");
	return QH_EXIT_OK;
}

/* The options that set one field each: the option and what checks and sets it. */
static const struct set_field {
	const char *opt;
	int (*apply)(struct qh_cli *c, const char *value, struct customer_change *ch);
} set_fields[] = {
	{ "name", set_name },
	{ "plan", set_plan },
	{ "lang", set_lang },
	{ "country", set_country },
	{ "vat-id", set_vat_id },
	{ "warn-units", set_warn },
	{ "overdraft-units", set_overdraft },
	{ "record-desktop", set_record_desktop },
};

static int
cmd_customer_set(struct qh_cli *c)
{
	struct customer_change ch;
	char changed[256] = "";
	const char *v;
	size_t i, n = 0;
	int r;

	customer_change_init(&ch);
	for (i = 0; i < sizeof(set_fields) / sizeof(set_fields[0]); i++) {
		if ((v = qh_cli_opt(c, set_fields[i].opt)) == NULL)
			continue;
		if ((r = set_fields[i].apply(c, v, &ch)) != QH_EXIT_OK)
			return r;
		n += (size_t)snprintf(changed + n, sizeof(changed) - n, "%s%s",
		    n ? ", " : "", set_fields[i].opt);
	}
	if (qh_cli_flag(c, "email")) {
		/* --email "" alone removes every address. */
		if (qh_cli_opts(c, "email", &ch.emails) == 1 && ch.emails[0][0] == '\0')
			ch.nemails = 0;
		else if ((r = admin_customer_emails(c, &ch.emails, &ch.nemails)) !=
		    QH_EXIT_OK)
			return r;
		ch.set_emails = 1;
		n += (size_t)snprintf(changed + n, sizeof(changed) - n, "%semail",
		    n ? ", " : "");
	}
	if (n == 0)
		return qh_cli_usage(c, "nothing to change: give at least one option");
	r = db_customer_set(admin_env(c)->db, c->argv[0], &ch);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s; nothing changed", c->argv[0]);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("customer %s changed (%s)\n", c->argv[0], changed);
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_customer_set_entry = {
	.name = "customer set",
	.usage = "ID [--name NAME] [--plan premium|free] [--email ADDR]... "
		 "[--lang de|en] [--country CC] [--vat-id ID] [--warn-units N] "
		 "[--overdraft-units N] [--record-desktop yes|no]",
	.summary = "change a customer; --email replaces the list of addresses; "
		   "--record-desktop: whether technicians' desktops are recorded",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("name"), QH_OPT("plan"), QH_OPTS("email"),
	    QH_OPT("lang"), QH_OPT("country"), QH_OPT("vat-id"), QH_OPT("warn-units"),
	    QH_OPT("overdraft-units"), QH_OPT("record-desktop") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_customer_set,
};
