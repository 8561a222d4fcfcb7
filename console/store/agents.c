/*
 * Enrolment in the database: join tokens are stored hashed and spent in
 * the same transaction that records the new agent and its certificate.
 */
#include <stdio.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "store.h"

const char *
db_token_check(sqlite3 *db, const char *hash, char *customer, size_t len)
{
	sqlite3_stmt *st = NULL;
	const char *why = "unknown join token";
	int64_t expires;

	if (db_prepare(db,
		"SELECT customer_id, expires_at, used_at IS NOT NULL "
		"FROM join_tokens WHERE hash = ?1",
		&st) != 0)
		return "database error";
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(customer, len, "%s", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_int(st, 2))
			why = "this join token was already used; ask for a new one";
		else if (qh_clock_parse_utc((const char *)sqlite3_column_text(st, 1),
			     &expires) != 0 ||
		    expires <= qh_clock_now())
			why = "this join token has expired; ask for a new one";
		else
			why = NULL;
	}
	sqlite3_finalize(st);
	return why;
}

int
db_join_record(sqlite3 *db, const char *hash, const char *customer, const char *agent_id,
    const char *host, X509 *cert)
{
	sqlite3_stmt *st = NULL;
	struct qh_identity id;
	char now[32], expires[32];
	int r, rc;

	if ((r = qh_pki_identity(cert, &id)) != 0)
		return r;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	qh_clock_format_utc(id.not_after, expires, sizeof(expires));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db,
		 "UPDATE join_tokens SET used_at = ?1, agent_id = ?2 "
		 "WHERE hash = ?3 AND used_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "spending the join token");
		goto out;
	}
	if (sqlite3_changes(db) != 1) {
		r = QH_ERR_REFUSED; /* spent by a concurrent join */
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_prepare(db,
		 "INSERT INTO agents (id, customer_id, host, enrolled_at, "
		 "last_seen, cert_serial, cert_not_after) VALUES (?1, ?2, ?3, ?4, ?4, "
		 "?5, ?6)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, id.serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, expires, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "recording the agent");
		goto out;
	}
	if ((r = db_record_cert(db, cert)) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}
