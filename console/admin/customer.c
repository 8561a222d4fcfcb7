/*
 * qh-console customer add / customer list / customer show: the customers
 * the console serves, their plan (R7), warning threshold (R5), overdraft
 * allowance, language and e-mail addresses (`customer set` changes them:
 * customer_set.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/mailaddr.h"
#include "qh/pki.h"
#include "qh/units.h"
#include "qh/wire.h"
#include "admin.h"
#include "store/store.h"

int
admin_customer_emails(struct qh_cli *c, const char *const **emails, int *n)
{
	int i, k;

	*n = qh_cli_opts(c, "email", emails);
	if (*n > CUSTOMER_EMAILS_MAX)
		return qh_cli_usage(c, "at most 16 --email addresses");
	for (i = 0; i < *n; i++) {
		if (!qh_mail_addr_valid((*emails)[i]))
			return qh_cli_usage(c,
			    "--email takes an address such as name@example.com");
		for (k = 0; k < i; k++)
			if (strcasecmp((*emails)[k], (*emails)[i]) == 0)
				return qh_cli_usage(c,
				    "an --email address is given twice");
	}
	return QH_EXIT_OK;
}

static int
cmd_customer_add(struct qh_cli *c)
{
	struct customer_new cu;
	long long warn = 4, overdraft = 0;
	int r;

	memset(&cu, 0, sizeof(cu));
	cu.id = c->argv[0];
	cu.name = qh_cli_opt(c, "name");
	cu.plan = qh_cli_opt(c, "plan") ? qh_cli_opt(c, "plan") : "premium";
	if (!qh_id_valid(cu.id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	if (cu.name == NULL || *cu.name == '\0' || strlen(cu.name) > CUSTOMER_NAME_MAX ||
	    !qh_utf8_valid((const uint8_t *)cu.name, strlen(cu.name)))
		return qh_cli_usage(c,
		    "--name NAME is required (UTF-8, at most 256 bytes)");
	if (strcmp(cu.plan, "premium") != 0 && strcmp(cu.plan, "free") != 0)
		return qh_cli_usage(c, "--plan is premium or free");
	if (qh_cli_opt(c, "warn-units") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "warn-units"), 0, 1000000, &warn) != 0)
		return qh_cli_usage(c, "--warn-units takes a whole number of units >= 0");
	if (qh_cli_opt(c, "overdraft-units") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "overdraft-units"), 0, 1000000, &overdraft) != 0)
		return qh_cli_usage(c,
		    "--overdraft-units takes a whole number of units >= 0");
	cu.warn_units = warn;
	cu.overdraft_units = overdraft;
	cu.lang = qh_cli_opt(c, "lang");
	if (cu.lang != NULL && strcmp(cu.lang, "de") != 0 && strcmp(cu.lang, "en") != 0)
		return qh_cli_usage(c, "--lang is de or en");
	if ((r = admin_customer_emails(c, &cu.emails, &cu.nemails)) != QH_EXIT_OK)
		return r;
	if ((r = db_customer_add(admin_env(c)->db, &cu)) == QH_ERR_EXISTS)
		return qh_cli_fail(c, "customer %s exists", cu.id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("customer %s added (%s, warn at %lld units, overdraft %lld units)\n",
	    cu.id, cu.plan, warn, overdraft);
	return QH_EXIT_OK;
}

/* Prints one customer as a line of the table, or appends it to the JSON listing. */
static int
customer_row(void *arg, const struct customer_row *cu)
{
	struct qh_json *j = arg;
	char name[CUSTOMER_NAME_MAX + 1];

	if (j == NULL) {
		printf("%-20s %-30s %-8s %5lld %9lld\n", cu->id,
		    qh_display_str(cu->name, name, sizeof(name), 0), cu->plan,
		    (long long)cu->warn_units, (long long)cu->overdraft_units);
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_str(j, "id", cu->id);
	qh_json_kv_str(j, "name", cu->name);
	qh_json_kv_str(j, "plan", cu->plan);
	qh_json_kv_int(j, "warn_units", cu->warn_units);
	qh_json_kv_int(j, "overdraft_units", cu->overdraft_units);
	qh_json_kv_str(j, "created_at", cu->created_at);
	qh_json_end_object(j);
	return 0;
}

static int
customer_list(struct qh_cli *c, struct qh_json *j)
{
	return db_customer_list(admin_env(c)->db, customer_row, j);
}

static int
cmd_customer_list(struct qh_cli *c)
{
	return admin_list(c, customer_list, "%-20s %-30s %-8s %5s %9s\n", "ID", "NAME",
	    "PLAN", "WARN", "OVERDRAFT");
}

/* Prints one customer for people, or as a JSON object. */
static int
customer_show(void *arg, const struct customer_view *v)
{
	struct qh_cli *c = arg;
	char name[CUSTOMER_NAME_MAX + 1], bal[64];
	struct qh_buf out;
	struct qh_json j;
	int i, status;

	if (!qh_cli_flag(c, "json")) {
		qh_units_text(v->balance.units, bal, sizeof(bal));
		printf("customer:        %s\n", v->id);
		printf("name:            %s\n",
		    qh_display_str(v->name, name, sizeof(name), 0));
		printf("plan:            %s\n", v->plan);
		printf("language:        %s\n", v->lang);
		printf("country:         %s\n", v->country);
		printf("VAT id:          %s\n", v->vat_id != NULL ? v->vat_id : "(none)");
		if (v->disabled_at != NULL)
			printf("disabled:        since %s (its agents are refused)\n",
			    v->disabled_at);
		for (i = 0; i < v->nemails; i++)
			printf("email:           %s\n", v->emails[i]);
		if (v->nemails == 0)
			printf("email:           (none)\n");
		printf("warn at:         %lld units\n", (long long)v->warn_units);
		printf("overdraft:       %lld units\n", (long long)v->overdraft_units);
		printf("balance:         %s\n", bal);
		printf("installations:   %lld\n", (long long)v->balance.installations);
		printf("created:         %s\n", v->created_at);
		return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
	}
	qh_buf_init(&out, 1024 * 1024);
	qh_json_init(&j, &out);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "id", v->id);
	qh_json_kv_str(&j, "name", v->name);
	qh_json_kv_str(&j, "plan", v->plan);
	qh_json_kv_str(&j, "lang", v->lang);
	qh_json_kv_str(&j, "country", v->country);
	qh_json_kv_str(&j, "vat_id", v->vat_id);
	qh_json_kv_str(&j, "disabled_at", v->disabled_at);
	qh_json_key(&j, "emails");
	qh_json_begin_array(&j);
	for (i = 0; i < v->nemails; i++)
		qh_json_str(&j, v->emails[i]);
	qh_json_end_array(&j);
	qh_json_kv_int(&j, "warn_units", v->warn_units);
	qh_json_kv_int(&j, "overdraft_units", v->overdraft_units);
	qh_json_kv_int(&j, "balance_units", v->balance.units);
	qh_json_kv_int(&j, "installations", v->balance.installations);
	qh_json_kv_str(&j, "created_at", v->created_at);
	qh_json_end_object(&j);
	status = console_json_print(c, &j, &out, "the customer");
	qh_buf_release(&out);
	return status;
}

static int
cmd_customer_show(struct qh_cli *c)
{
	int r;

	r = db_customer_show(admin_env(c)->db, c->argv[0], customer_show, c);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s", c->argv[0]);
	if (r < 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	return r;
}

/* qh-console customer disable|enable ID. */
static int
customer_able(struct qh_cli *c, int disable)
{
	const char *id = c->argv[0];
	int r;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	r = db_customer_disable(admin_env(c)->db, id, disable);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no customer %s", id);
	if (r == QH_ERR_EXISTS)
		return qh_cli_fail(c, "customer %s is %s already", id,
		    disable ? "disabled" : "enabled");
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if (disable)
		printf("customer %s disabled: its agents are refused; its history "
		       "stays\n",
		    id);
	else
		printf("customer %s enabled\n", id);
	return QH_EXIT_OK;
}

static int
cmd_customer_disable(struct qh_cli *c)
{
	return customer_able(c, 1);
}

static int
cmd_customer_enable(struct qh_cli *c)
{
	return customer_able(c, 0);
}

const struct qh_cli_cmd cmd_customer_disable_entry = {
	.name = "customer disable",
	.usage = "ID",
	.summary = "refuse a customer's agents; its history stays",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_customer_disable,
};

const struct qh_cli_cmd cmd_customer_enable_entry = {
	.name = "customer enable",
	.usage = "ID",
	.summary = "let a disabled customer's agents in again",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_customer_enable,
};

const struct qh_cli_cmd cmd_customer_show_entry = {
	.name = "customer show",
	.usage = "ID [--json]",
	.summary = "show a customer: contacts, language, thresholds, balance",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_customer_show,
};

const struct qh_cli_cmd cmd_customer_add_entry = {
	.name = "customer add",
	.usage = "ID --name NAME [--plan premium|free] [--warn-units N] "
		 "[--overdraft-units N] [--email ADDR]... [--lang de|en]",
	.summary = "add a customer",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("name"), QH_OPT("plan"), QH_OPT("warn-units"),
	    QH_OPT("overdraft-units"), QH_OPTS("email"), QH_OPT("lang") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_customer_add,
};

const struct qh_cli_cmd cmd_customer_list_entry = {
	.name = "customer list",
	.usage = "[--json]",
	.summary = "list customers",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_customer_list,
};
