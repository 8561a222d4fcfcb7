/*
 * Who is connected, as the daemon asks the database at every connect:
 * whether a peer's certificate and identity are still current (one query
 * each, on statements prepared once), and when agents were last seen,
 * written in batches of one transaction rather than one commit per
 * connect.
 */
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

int
db_agent_cert_current(sqlite3 *db, const char *agent_id, const char *customer,
    const char *serial)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_stmt(db,
		"SELECT (SELECT revoked_at IS NULL FROM agents "
		"WHERE id = ?1 AND customer_id = ?2) AND "
		"(SELECT revoked_at IS NULL FROM certificates "
		"WHERE serial = ?3 AND identity = ?2)",
		&st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0) == 1;
	db_done(st);
	return ok;
}

int
db_tech_cert_current(sqlite3 *db, const char *login, const char *role, const char *serial,
    char *name, size_t namelen)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_stmt(db,
		"SELECT t.revoked_at IS NULL AND (SELECT revoked_at IS NULL FROM "
		"certificates WHERE serial = ?3 AND identity = ?1), t.name "
		"FROM technicians t WHERE t.login = ?1 AND t.role = ?2",
		&st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ok = sqlite3_column_int(st, 0) == 1;
		snprintf(name, namelen, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	db_done(st);
	return ok;
}

int
db_agent_host_is(sqlite3 *db, const char *agent_id, const char *host)
{
	sqlite3_stmt *st = NULL;
	int same = 0;

	if (db_stmt(db, "SELECT host IS ?2 FROM agents WHERE id = ?1", &st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = sqlite3_column_int(st, 0) == 1;
	db_done(st);
	return same;
}

int
db_agents_seen(sqlite3 *db, const struct db_seen *v, size_t n)
{
	sqlite3_stmt *st = NULL;
	char when[32];
	size_t i;
	int r, rc;

	if (n == 0)
		return 0;
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_stmt(db, "UPDATE agents SET last_seen = ?1, host = ?2 WHERE id = ?3",
		 &st)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		qh_clock_format_utc(v[i].at, when, sizeof(when));
		sqlite3_bind_text(st, 1, when, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, v[i].host, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, v[i].agent_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if ((r = db_error(db, rc, "recording last_seen")) != 0)
			goto out;
	}
	r = db_commit(db);
out:
	db_done(st);
	if (r != 0)
		db_rollback(db);
	return r;
}
