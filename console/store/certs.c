/*
 * Certificates over their life: a renewed certificate is recorded beside
 * the one it renews (a bounded number per identity and day), and the
 * first connection that presents it retires every older certificate of
 * the same identity, so the old key stops working once the new one is in
 * use (certs/README.md). Also the technician lookup that `tech renew
 * LOGIN` needs, and whether a serve holds the state directory.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store.h"

/*
 * Runs a one-row count with up to four text parameters (NULL leaves one
 * NULL); sql is a string literal (a cached statement, see db_stmt).
 */
static int
count_of(sqlite3 *db, const char *sql, const char *p1, const char *p2, const char *p3,
    const char *p4, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	const char *p[4] = { p1, p2, p3, p4 };
	int i, r, rc;

	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	for (i = 0; i < 4; i++)
		if (p[i] != NULL)
			sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		r = 0;
	} else
		r = rc == SQLITE_DONE ? QH_ERR_DB : db_error(db, rc, "counting");
	db_done(st);
	return r;
}

int
db_cert_record_renewal(sqlite3 *db, X509 *cert)
{
	struct qh_identity id;
	char since[32];
	int64_t n = 0;
	int r;

	if ((r = qh_pki_identity(cert, &id)) != 0)
		return r;
	qh_clock_format_utc(qh_clock_now() - 86400, since, sizeof(since));
	if ((r = db_begin(db)) != 0)
		return r;
	/* ?3 unbound is NULL: technicians, accountants and the console have no agent id.
	 */
	if ((r = count_of(db,
		 "SELECT count(*) FROM certificates WHERE role = ?1 AND identity = ?2 "
		 "AND agent_id IS ?3 AND issued_at > ?4",
		 qh_role_name(id.role), id.id,
		 id.role == QH_ROLE_AGENT ? id.agent_id : NULL, since, &n)) != 0)
		goto out;
	if (n >= DB_RENEWALS_PER_DAY) {
		qh_warn("%s %s: %lld certificates issued in the last 24 hours; no more",
		    qh_role_name(id.role), id.role == QH_ROLE_AGENT ? id.agent_id : id.id,
		    (long long)n);
		r = QH_ERR_LIMIT;
		goto out;
	}
	if ((r = db_record_cert(db, cert)) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

/* Binds serial (?1) and now (?2), runs one statement; *changed is its row count. */
static int
run_step(sqlite3 *db, const char *sql, const char *serial, const char *second,
    int *changed, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, second, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, what)) == 0 && changed != NULL)
		*changed = sqlite3_changes(db);
	sqlite3_finalize(st);
	return r;
}

/* Older certificates of the identity of certificate ?1 that are not revoked. */
#define OLDER                                                                            \
	"revoked_at IS NULL "                                                            \
	"AND rowid < (SELECT rowid FROM certificates WHERE serial = ?1) "                \
	"AND (role, identity) = (SELECT role, identity FROM certificates "               \
	"WHERE serial = ?1) "                                                            \
	"AND agent_id IS (SELECT agent_id FROM certificates WHERE serial = ?1)"

int
db_cert_used(sqlite3 *db, const struct qh_identity *id)
{
	char now[32];
	int64_t older = 0, stale = 0;
	int r, retired = 0;

	/* Every connection asks; only the first with a new certificate writes. */
	if ((r = count_of(db, "SELECT count(*) FROM certificates WHERE " OLDER,
		 id->serial, NULL, NULL, NULL, &older)) != 0)
		return r;
	if (id->role == QH_ROLE_AGENT &&
	    (r = count_of(db,
		 "SELECT count(*) FROM agents WHERE id = ?2 AND cert_serial IS NOT ?1",
		 id->serial, id->agent_id, NULL, NULL, &stale)) != 0)
		return r;
	if (older == 0 && stale == 0)
		return 0;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = run_step(db, "UPDATE certificates SET revoked_at = ?2 WHERE " OLDER,
		 id->serial, now, &retired, "retiring older certificates")) != 0)
		goto out;
	/* The agent's row names the certificate it uses: `agents` shows its expiry. */
	if (id->role == QH_ROLE_AGENT &&
	    (r = run_step(db,
		 "UPDATE agents SET cert_serial = ?1, cert_not_after = "
		 "(SELECT not_after FROM certificates WHERE serial = ?1) "
		 "WHERE id = ?2 AND cert_serial IS NOT ?1",
		 id->serial, id->agent_id, NULL, "naming the agent's certificate")) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0) {
		db_rollback(db);
		return r;
	}
	return retired;
}

int
db_tech_role(sqlite3 *db, const char *login, char *role, size_t rolelen)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT revoked_at IS NULL, role FROM technicians WHERE login = ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = sqlite3_column_int(st, 0) != 0;
		snprintf(role, rolelen, "%s", (const char *)sqlite3_column_text(st, 1));
	} else if (rc == SQLITE_DONE)
		r = QH_ERR_NOT_FOUND;
	else
		r = db_error(db, rc, "looking up the technician");
	sqlite3_finalize(st);
	return r;
}

int
store_serve_pid(const char *state, long *pid)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd, held;

	*pid = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state, STORE_LOCK_FILE) >=
	    sizeof(path))
		return QH_ERR_TOO_LARGE;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : QH_ERR_SYSTEM;
	/* serve holds an exclusive lock for its lifetime: ours fails while it runs. */
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	if (held && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		*pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}
