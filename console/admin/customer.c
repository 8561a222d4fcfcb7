/*
 * qh-console customer add / customer list: the customers the console
 * serves, their plan (R7), warning threshold (R5) and overdraft allowance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "admin.h"
#include "store/store.h"

#define CUSTOMER_NAME_MAX 256

/* Opens the state's database for writing, migrated; prints why not. */
int
console_db_write(struct qh_cli *c, sqlite3 **dbp)
{
	const char *state = console_state_dir(c);
	int r;

	if ((r = db_open(state, 0, dbp)) != 0 || (r = db_migrate(*dbp)) != 0) {
		db_close(*dbp);
		*dbp = NULL;
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	}
	return 0;
}

static int
cmd_customer_add(struct qh_cli *c)
{
	const char *id = c->argv[0], *name = qh_cli_opt(c, "name");
	const char *plan = qh_cli_opt(c, "plan") ? qh_cli_opt(c, "plan") : "premium";
	long long warn = 4, overdraft = 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc, status = QH_EXIT_FAIL;

	if (!qh_id_valid(id))
		return qh_cli_usage(c,
		    "ID must be 1 to 64 of A-Z a-z 0-9 . _ - and not "
		    "start with '.' or '-'");
	if (name == NULL || *name == '\0' || strlen(name) > CUSTOMER_NAME_MAX ||
	    !qh_utf8_valid((const uint8_t *)name, strlen(name)))
		return qh_cli_usage(c,
		    "--name NAME is required (UTF-8, at most 256 bytes)");
	if (strcmp(plan, "premium") != 0 && strcmp(plan, "free") != 0)
		return qh_cli_usage(c, "--plan is premium or free");
	if (qh_cli_opt(c, "warn-units") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "warn-units"), 0, 1000000, &warn) != 0)
		return qh_cli_usage(c, "--warn-units takes a whole number of units >= 0");
	if (qh_cli_opt(c, "overdraft-units") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "overdraft-units"), 0, 1000000, &overdraft) != 0)
		return qh_cli_usage(c,
		    "--overdraft-units takes a whole number of units >= 0");
	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0 ||
	    (r = db_prepare(db,
		 "INSERT INTO customers (id, name, plan, warn_units, "
		 "overdraft_units, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		 &st)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, warn);
	sqlite3_bind_int64(st, 5, overdraft);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		status = qh_cli_fail(c, "customer %s exists", id);
		goto out;
	}
	if (rc != SQLITE_DONE || (r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	printf("customer %s added (%s, warn at %lld units, overdraft %lld units)\n", id,
	    plan, warn, overdraft);
	status = QH_EXIT_OK;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

static int
cmd_customer_list(struct qh_cli *c)
{
	const char *state = console_state_dir(c);
	int json = qh_cli_flag(c, "json"), r, status = QH_EXIT_OK;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct qh_buf out;
	struct qh_json j;

	if ((r = db_open(state, 1, &db)) != 0)
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	if (db_prepare(db,
		"SELECT id, name, plan, warn_units, overdraft_units, "
		"created_at FROM customers ORDER BY id",
		&st) != 0) {
		db_close(db);
		return qh_cli_fail(c, "database error");
	}
	qh_buf_init(&out, 64 * 1024 * 1024);
	qh_json_init(&j, &out);
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%-20s %-30s %-8s %5s %9s\n", "ID", "NAME", "PLAN", "WARN",
		    "OVERDRAFT");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *plan = (const char *)sqlite3_column_text(st, 2);

		if (!json) {
			printf("%-20s %-30s %-8s %5lld %9lld\n", id, name, plan,
			    (long long)sqlite3_column_int64(st, 3),
			    (long long)sqlite3_column_int64(st, 4));
			continue;
		}
		qh_json_begin_object(&j);
		qh_json_kv_str(&j, "id", id);
		qh_json_kv_str(&j, "name", name);
		qh_json_kv_str(&j, "plan", plan);
		qh_json_kv_int(&j, "warn_units", sqlite3_column_int64(st, 3));
		qh_json_kv_int(&j, "overdraft_units", sqlite3_column_int64(st, 4));
		qh_json_kv_str(&j, "created_at",
		    (const char *)sqlite3_column_text(st, 5));
		qh_json_end_object(&j);
	}
	if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
	}
	qh_buf_release(&out);
	sqlite3_finalize(st);
	db_close(db);
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
