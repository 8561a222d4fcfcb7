/*
 * Technicians and accounting staff in the database: recording a login (a
 * revoked one may be given out again) and revoking it with every
 * certificate issued to it.
 */
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "store.h"

/* 1 if login is active, 0 if revoked, QH_ERR_NOT_FOUND if unknown, <0 on errors. */
static int
tech_active(sqlite3 *db, const char *login)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT revoked_at IS NULL FROM technicians WHERE login = ?1", &st)) !=
	    0)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		r = QH_ERR_NOT_FOUND;
	else
		r = db_error(db, rc, "looking up the technician");
	sqlite3_finalize(st);
	return r;
}

int
db_tech_add(sqlite3 *db, const char *login, const char *name, const char *role)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int r, rc, active;

	if ((active = tech_active(db, login)) == 1)
		return QH_ERR_EXISTS;
	if (active < 0 && active != QH_ERR_NOT_FOUND)
		return active;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_prepare(db,
		 active == 0
		     ? "UPDATE technicians SET name = ?2, role = ?3, created_at = ?4, "
		       "revoked_at = NULL WHERE login = ?1"
		     : "INSERT INTO technicians (login, name, role, created_at) "
		       "VALUES (?1, ?2, ?3, ?4)",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = db_error(db, rc, "recording the technician");
	sqlite3_finalize(st);
	return r;
}

/* Runs an UPDATE with now (?1) and login (?2) bound; *changed is its row count. */
static int
revoke_step(sqlite3 *db, const char *sql, const char *now, const char *login,
    int *changed, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((r = db_error(db, rc, what)) == 0)
		*changed = sqlite3_changes(db);
	sqlite3_finalize(st);
	return r;
}

int
db_tech_revoke(sqlite3 *db, const char *login, int *revoked, int *certs)
{
	char now[32];
	int r;

	*revoked = *certs = 0;
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = revoke_step(db,
		 "UPDATE technicians SET revoked_at = ?1 "
		 "WHERE login = ?2 AND revoked_at IS NULL",
		 now, login, revoked, "revoking the technician")) != 0)
		goto out;
	if (*revoked == 0 && (r = tech_active(db, login)) < 0)
		goto out;
	/* Its certificates too, also any left unrevoked by an earlier run. */
	if ((r = revoke_step(db,
		 "UPDATE certificates SET revoked_at = ?1 "
		 "WHERE role IN ('technician', 'accounting') AND identity = ?2 "
		 "AND revoked_at IS NULL",
		 now, login, certs, "revoking certificates")) != 0)
		goto out;
	r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

int
db_tech_list(sqlite3 *db, int (*row)(void *arg, const struct tech_row *t), void *arg)
{
	struct tech_row t;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT t.login, t.name, t.role, t.created_at, t.revoked_at, "
		 "(SELECT max(c.not_after) FROM certificates c WHERE c.identity = "
		 "t.login AND c.role = t.role AND c.revoked_at IS NULL) "
		 "FROM technicians t ORDER BY t.login",
		 &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t.login = (const char *)sqlite3_column_text(st, 0);
		t.name = (const char *)sqlite3_column_text(st, 1);
		t.role = (const char *)sqlite3_column_text(st, 2);
		t.created_at = (const char *)sqlite3_column_text(st, 3);
		t.revoked_at = (const char *)sqlite3_column_text(st, 4);
		t.not_after = (const char *)sqlite3_column_text(st, 5);
		if ((r = row(arg, &t)) != 0)
			break;
	}
	if (r == 0)
		r = db_error(db, rc, "technicians");
	sqlite3_finalize(st);
	return r;
}

int
db_staff_names(sqlite3 *db, const char *logins, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	const char *p, *semi, *name;
	size_t used = 0, n;
	int r, rc;

	if (len == 0)
		return QH_ERR_ARG;
	out[0] = '\0';
	if (logins == NULL)
		return 0;
	if ((r = db_prepare(db, "SELECT name FROM technicians WHERE login = ?1", &st)) !=
	    0)
		return r;
	for (p = logins; *p != '\0'; p = *semi ? semi + 1 : semi) {
		if ((semi = strchr(p, ';')) == NULL)
			semi = p + strlen(p);
		n = (size_t)(semi - p);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, p, (int)n, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			r = db_error(db, rc, "looking up a technician's name");
			break;
		}
		name = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (name != NULL)
			used += (size_t)snprintf(out + used, len - used, "%s%s",
			    used ? ", " : "", name);
		else
			used += (size_t)snprintf(out + used, len - used, "%s%.*s",
			    used ? ", " : "", (int)n, p);
		if (used >= len) { /* cut: the end shows it */
			out[len - 1] = '\0';
			break;
		}
	}
	sqlite3_finalize(st);
	return r;
}
