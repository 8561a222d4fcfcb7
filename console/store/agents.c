/*
 * Agents in the database: join tokens and short join codes, stored hashed,
 * bound to the key of
 * the first certificate request in the transaction that records the new
 * agent and its certificate, and spent when that agent first connects; the
 * list of enrolled agents; and revocation, which takes the agent's
 * certificates with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "qh/text.h"
#include "qh/token.h"
#include "store.h"

const char *
db_token_check(sqlite3 *db, const char *hash, const char *key_sha256,
    struct join_token *t)
{
	sqlite3_stmt *st = NULL;
	const char *why = N_("unknown join token"), *bound, *pem, *until;
	int64_t expires;

	memset(t, 0, sizeof(*t));
	if (db_prepare(db,
		"SELECT customer_id, expires_at, used_at IS NOT NULL, key_sha256, "
		"agent_id, cert_pem FROM join_tokens WHERE hash = ?1",
		&st) != 0)
		return N_("database error");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	snprintf(t->customer, sizeof(t->customer), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	bound = (const char *)sqlite3_column_text(st, 3);
	pem = (const char *)sqlite3_column_text(st, 5);
	until = (const char *)sqlite3_column_text(st, 1);
	if (sqlite3_column_int(st, 2))
		why = N_("this join token was already used; ask for a new one");
	else if (qh_clock_parse_utc(until, &expires) != 0 || expires <= qh_clock_now())
		why = N_("this join token has expired; ask for a new one");
	else if (bound != NULL && strcmp(bound, key_sha256) != 0)
		why = N_(
		    "this join token was already used by another PC; ask for a new one");
	else if (bound != NULL && (pem == NULL || sqlite3_column_text(st, 4) == NULL))
		why = N_("database error");
	else if (bound != NULL) {
		/* A retry with the key the token is bound to. */
		snprintf(t->key_sha256, sizeof(t->key_sha256), "%s", bound);
		snprintf(t->agent_id, sizeof(t->agent_id), "%s",
		    (const char *)sqlite3_column_text(st, 4));
		why = (t->cert_pem = strdup(pem)) == NULL ? N_("out of memory") : NULL;
	} else
		why = NULL;
out:
	sqlite3_finalize(st);
	return why;
}

int
db_join_record(sqlite3 *db, const char *hash, const char *customer, const char *agent_id,
    const char *host, const char *key_sha256, X509 *cert, const char *cert_pem)
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
		 "UPDATE join_tokens SET agent_id = ?1, key_sha256 = ?2, cert_pem = ?3 "
		 "WHERE hash = ?4 AND used_at IS NULL AND key_sha256 IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "binding the join token");
		goto out;
	}
	if (sqlite3_changes(db) != 1) {
		r = QH_ERR_REFUSED; /* bound or spent by a concurrent join */
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

int
db_token_spend(sqlite3 *db, const char *agent_id)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc, unspent;

	/* Every agent connection asks; only the first one writes. */
	if ((r = db_stmt(db,
		 "SELECT count(*) FROM join_tokens "
		 "WHERE agent_id = ?1 AND used_at IS NULL",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		r = db_error(db, rc, "reading the join token");
		db_done(st);
		return r < 0 ? r : QH_ERR_DB;
	}
	unspent = sqlite3_column_int(st, 0);
	db_done(st);
	if (unspent == 0)
		return 0;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db,
		 "UPDATE join_tokens SET used_at = ?1, cert_pem = NULL "
		 "WHERE agent_id = ?2 AND used_at IS NULL",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "spending the join token")) == 0)
		r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0) {
		db_rollback(db);
		return r;
	}
	return 1;
}

int
db_token_add(sqlite3 *db, const char *hash, const char *customer, int64_t created,
    int64_t expires)
{
	sqlite3_stmt *st = NULL;
	char now[32], until[32];
	int r, rc;

	qh_clock_format_utc(created, now, sizeof(now));
	qh_clock_format_utc(expires, until, sizeof(until));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_customer_exists(db, customer)) != 1) {
		r = r == 0 ? QH_ERR_NOT_FOUND : r;
		goto out;
	}
	if ((r = db_prepare(db,
		 "INSERT INTO join_tokens (hash, customer_id, created_at, "
		 "expires_at) VALUES (?1, ?2, ?3, ?4)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, until, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, "recording the join token")) == 0)
		r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_agent_list(sqlite3 *db, const char *customer,
    int (*row)(void *arg, const struct agent_row *a), void *arg)
{
	struct agent_row a;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, customer_id, host, enrolled_at, last_seen, "
		 "cert_not_after, revoked_at FROM agents "
		 "WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY customer_id, enrolled_at",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = (const char *)sqlite3_column_text(st, 0);
		a.customer = (const char *)sqlite3_column_text(st, 1);
		a.host = (const char *)sqlite3_column_text(st, 2);
		a.enrolled_at = (const char *)sqlite3_column_text(st, 3);
		a.last_seen = (const char *)sqlite3_column_text(st, 4);
		a.cert_not_after = (const char *)sqlite3_column_text(st, 5);
		a.revoked_at = (const char *)sqlite3_column_text(st, 6);
		if ((r = row(arg, &a)) != 0)
			goto out;
	}
	r = db_error(db, rc, "listing agents");
out:
	sqlite3_finalize(st);
	return r;
}

/* Runs an UPDATE with now (?1) and an id (?2) bound; *changed is its row count. */
static int
update_now_id(sqlite3 *db, const char *sql, const char *now, const char *id, int *changed,
    const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, what)) == 0 && changed != NULL)
		*changed = sqlite3_changes(db);
	sqlite3_finalize(st);
	return r;
}

int
db_agent_revoke(sqlite3 *db, const char *id)
{
	char now[32];
	int r, changed = 0;

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = update_now_id(db,
		 "UPDATE agents SET revoked_at = coalesce(revoked_at, ?1) "
		 "WHERE id = ?2",
		 now, id, &changed, "revoking the agent")) != 0)
		goto out;
	if (changed == 0) {
		r = QH_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = update_now_id(db,
		 "UPDATE certificates SET revoked_at = coalesce(revoked_at, ?1) "
		 "WHERE agent_id = ?2",
		 now, id, NULL, "revoking the agent's certificates")) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_short_add(sqlite3 *db, const char *customer, const char *code, int64_t now,
    int minutes)
{
	sqlite3_stmt *st = NULL;
	char lookup[QH_SHORT_LOOKUP + 1], hash[65], at[32], until[32];
	int r, rc;

	snprintf(lookup, sizeof(lookup), "%.*s", QH_SHORT_LOOKUP, code);
	qh_sha256_hex(code, strlen(code), hash);
	qh_clock_format_utc(now, at, sizeof(at));
	if (minutes < 1 || minutes > SHORT_MINUTES_MAX)
		return QH_ERR_ARG;
	qh_clock_format_utc(now + (int64_t)minutes * 60, until, sizeof(until));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_customer_exists(db, customer)) != 1) {
		r = r == 0 ? QH_ERR_NOT_FOUND : r;
		goto out;
	}
	/* Expired codes give their lookup characters back. */
	if ((r = db_prepare(db, "DELETE FROM short_codes WHERE expires_at <= ?1", &st)) !=
	    0)
		goto out;
	sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
	if ((r = db_error(db, sqlite3_step(st), "removing dead short codes")) != 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_prepare(db,
		 "INSERT INTO join_tokens (hash, customer_id, created_at, expires_at) "
		 "VALUES (?1, ?2, ?3, ?4)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, customer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, until, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_CONSTRAINT) {
		r = QH_ERR_EXISTS; /* the same code again: make another */
		goto out;
	}
	if ((r = db_error(db, rc, "recording the short code's token")) != 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_prepare(db,
		 "INSERT INTO short_codes (lookup, token_hash, expires_at) "
		 "VALUES (?1, ?2, ?3)",
		 &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, lookup, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, until, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_CONSTRAINT) {
		r = QH_ERR_EXISTS; /* a live code starts the same way */
		goto out;
	}
	if ((r = db_error(db, rc, "recording the short code")) == 0)
		r = db_commit(db);
out:
	sqlite3_finalize(st);
	if (r != 0)
		db_rollback(db);
	return r;
}

const char *
db_short_check(sqlite3 *db, const char *code, char hash[65])
{
	sqlite3_stmt *st = NULL;
	const char *why = N_("this code is not valid; check it, or ask for a new one"),
		   *stored, *until;
	char lookup[QH_SHORT_LOOKUP + 1];
	int64_t expires;
	int attempts, rc;

	hash[0] = '\0';
	if (strlen(code) != QH_SHORT_LEN)
		return why;
	snprintf(lookup, sizeof(lookup), "%.*s", QH_SHORT_LOOKUP, code);
	if (db_begin(db) != 0)
		return N_("database error");
	if (db_prepare(db,
		"SELECT token_hash, expires_at, attempts FROM short_codes "
		"WHERE lookup = ?1",
		&st) != 0) {
		why = N_("database error");
		goto out;
	}
	sqlite3_bind_text(st, 1, lookup, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		goto out; /* names no code: the address's failures slow it down */
	stored = (const char *)sqlite3_column_text(st, 0);
	until = (const char *)sqlite3_column_text(st, 1);
	attempts = sqlite3_column_int(st, 2);
	if (attempts >= SHORT_ATTEMPTS) {
		why = N_("this code was tried too often; ask for a new one");
		goto out;
	}
	if (qh_clock_parse_utc(until, &expires) != 0 || expires <= qh_clock_now()) {
		why = N_("this code has expired; ask for a new one");
		goto out;
	}
	qh_sha256_hex(code, strlen(code), hash);
	if (stored != NULL && strlen(stored) == 64 &&
	    CRYPTO_memcmp(stored, hash, 64) == 0) {
		why = NULL;
		goto out;
	}
	hash[0] = '\0';
	sqlite3_finalize(st);
	st = NULL;
	/* A wrong code that names this one: it counts (SHORT_ATTEMPTS). */
	if (db_prepare(db,
		"UPDATE short_codes SET attempts = attempts + 1 WHERE lookup = ?1",
		&st) != 0) {
		why = N_("database error");
		goto out;
	}
	sqlite3_bind_text(st, 1, lookup, -1, SQLITE_STATIC);
	if (db_error(db, sqlite3_step(st), "counting a wrong short code") != 0 ||
	    sqlite3_changes(db) != 1 || db_commit(db) != 0) {
		why = N_("database error");
		goto out;
	}
	sqlite3_finalize(st);
	return why;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return why;
}
