/*
 * qh-console enroll / agents / agent revoke: join tokens for new PCs and
 * the list of enrolled agents (one per PC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "admin.h"
#include "store/store.h"

static int
customer_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (db_prepare(db, "SELECT 1 FROM customers WHERE id = ?1", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* qh-console enroll ID: prints a one-time join token on stdout. */
static int
cmd_enroll(struct qh_cli *c)
{
	const char *state = console_state_dir(c), *id = c->argv[0];
	struct console_conf conf;
	struct qh_token t;
	char text[QH_TOKEN_MAX], hash[65], now[32], expires[32], path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	X509 *ca = NULL;
	int64_t t0;
	int r, rc, status = QH_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (conf_load(state, &conf) != 0)
		return QH_EXIT_FAIL;
	if ((r = console_address(&conf, t.console, sizeof(t.console))) != 0)
		return qh_cli_fail(c, "bad listen address in console.conf");
	snprintf(path, sizeof(path), "%s/ca.pem", state);
	if ((r = qh_pki_load_cert(path, &ca)) != 0 ||
	    (r = qh_pki_fingerprint(ca, t.pin)) != 0) {
		X509_free(ca);
		return qh_cli_fail(c, "%s: %s", path, qh_strerror(r));
	}
	X509_free(ca);
	if ((r = qh_token_new_secret(&t)) != 0 ||
	    (r = qh_token_encode(&t, text, sizeof(text))) != 0)
		return qh_cli_fail(c, "cannot make a token: %s", qh_strerror(r));
	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	if (!customer_exists(db, id)) {
		status = qh_cli_fail(c, "unknown customer %s", id);
		goto out;
	}
	qh_sha256_hex(t.secret, strlen(t.secret), hash);
	t0 = qh_clock_now();
	qh_clock_format_utc(t0, now, sizeof(now));
	qh_clock_format_utc(t0 + conf.token_hours * 3600, expires, sizeof(expires));
	if ((r = db_begin(db)) != 0 ||
	    (r = db_prepare(db,
		 "INSERT INTO join_tokens (hash, customer_id, created_at, "
		 "expires_at) VALUES (?1, ?2, ?3, ?4)",
		 &st)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, expires, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE || (r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	printf("%s\n", text);
	fprintf(stderr,
	    "qh-console: one-time join token for %s, valid until %s; on the "
	    "customer's PC run: qh-agent join TOKEN\n",
	    id, expires);
	status = QH_EXIT_OK;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

/* qh-console agents [--customer ID] [--json]. */
static int
cmd_agents(struct qh_cli *c)
{
	const char *state = console_state_dir(c), *customer = qh_cli_opt(c, "customer");
	int json = qh_cli_flag(c, "json"), r, status = QH_EXIT_OK;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct qh_buf out;
	struct qh_json j;

	if ((r = db_open(state, 1, &db)) != 0)
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	if (db_prepare(db,
		"SELECT id, customer_id, host, enrolled_at, last_seen, "
		"cert_not_after, revoked_at FROM agents WHERE ?1 IS NULL OR customer_id "
		"= ?1 "
		"ORDER BY customer_id, enrolled_at",
		&st) != 0) {
		db_close(db);
		return qh_cli_fail(c, "database error");
	}
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	qh_buf_init(&out, 64 * 1024 * 1024);
	qh_json_init(&j, &out);
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%-16s %-16s %-20s %-21s %-21s %s\n", "AGENT", "CUSTOMER", "HOST",
		    "LAST SEEN", "CERT EXPIRES", "STATUS");
	while (sqlite3_step(st) == SQLITE_ROW) {
		static const char *const cols[] = { "id", "customer", "host",
			"enrolled_at", "last_seen", "cert_expires", "revoked_at" };
		const char *v[7];
		int i;

		for (i = 0; i < 7; i++)
			v[i] = (const char *)sqlite3_column_text(st, i);
		if (!json) {
			printf("%-16s %-16s %-20s %-21s %-21s %s\n", v[0], v[1],
			    v[2] ? v[2] : "-", v[4] ? v[4] : "-", v[5] ? v[5] : "-",
			    v[6] ? "revoked" : "active");
			continue;
		}
		qh_json_begin_object(&j);
		for (i = 0; i < 7; i++)
			qh_json_kv_str(&j, cols[i], v[i]);
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

/* qh-console agent revoke ID: the agent and its certificates. */
static int
cmd_agent_revoke(struct qh_cli *c)
{
	const char *id = c->argv[0];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, changed = 0, status = QH_EXIT_FAIL;

	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		goto fail;
	if ((r = db_prepare(db,
		 "UPDATE agents SET revoked_at = coalesce(revoked_at, ?1) "
		 "WHERE id = ?2",
		 &st)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	changed = sqlite3_changes(db);
	sqlite3_finalize(st);
	st = NULL;
	if (changed == 0) {
		status = qh_cli_fail(c, "unknown agent %s", id);
		goto out;
	}
	if ((r = db_prepare(db,
		 "UPDATE certificates SET revoked_at = coalesce(revoked_at, "
		 "?1) WHERE agent_id = ?2",
		 &st)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if ((r = db_commit(db)) != 0)
		goto fail;
	printf("agent %s revoked; it is refused at its next connect\n", id);
	status = QH_EXIT_OK;
	goto out;
fail:
	status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

const struct qh_cli_cmd cmd_enroll_entry = {
	.name = "enroll",
	.usage = "ID",
	.summary = "print a one-time join token for a new PC of customer ID",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_enroll,
};

const struct qh_cli_cmd cmd_agents_entry = {
	.name = "agents",
	.usage = "[--customer ID] [--json]",
	.summary = "list enrolled agents (one per PC) with last seen and expiry",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("customer"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_agents,
};

const struct qh_cli_cmd cmd_agent_revoke_entry = {
	.name = "agent revoke",
	.usage = "ID",
	.summary = "revoke an agent; it is refused at its next connect",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_agent_revoke,
};
