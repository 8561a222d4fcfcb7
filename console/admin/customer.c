/*
 * qh-console customer add / customer list: the customers the console
 * serves, their plan (R7), warning threshold (R5) and overdraft allowance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "admin.h"
#include "store/store.h"

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
cmd_customer_list(struct qh_cli *c)
{
	int json = qh_cli_flag(c, "json"), r, status = QH_EXIT_OK;
	struct qh_buf out;
	struct qh_json j;

	qh_buf_init(&out, 64 * 1024 * 1024);
	qh_json_init(&j, &out);
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%-20s %-30s %-8s %5s %9s\n", "ID", "NAME", "PLAN", "WARN",
		    "OVERDRAFT");
	if ((r = db_customer_list(admin_env(c)->db, customer_row, json ? &j : NULL)) != 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
	}
	qh_buf_release(&out);
	return status;
}

const struct qh_cli_cmd cmd_customer_add_entry = {
	.name = "customer add",
	.usage = "ID --name NAME [--plan premium|free] [--warn-units N] "
		 "[--overdraft-units N]",
	.summary = "add a customer",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("name"), QH_OPT("plan"), QH_OPT("warn-units"),
	    QH_OPT("overdraft-units") },
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
