/*
 * qh-console tech add / tech revoke: technicians and accounting staff.
 *
 * `tech add` records the login, issues a certificate for it (role
 * technician or accounting, CN=LOGIN) and writes the bundle the person
 * uses with --tech: the console's address, the certificate, its key and
 * the CA certificate, in one 0600 file. The key is generated here and
 * leaves only in that file. `tech revoke` marks the login and every
 * certificate issued to it as revoked.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

#define TECH_NAME_MAX 200

/* 1 if a person's name is printable text of sane length. */
static int
person_name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > TECH_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Inserts the technician row, or revives a revoked one. QH_ERR_EXISTS if
 * the login is in use. Runs inside the caller's transaction.
 */
static int
tech_insert(sqlite3 *db, const char *login, const char *name, const char *role,
    const char *now)
{
	sqlite3_stmt *st = NULL;
	int r, rc, active = -1;

	if ((r = db_prepare(db,
		 "SELECT revoked_at IS NULL FROM technicians "
		 "WHERE login = ?",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		active = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE) {
		r = db_error(db, rc, "looking up the technician");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (active == 1)
		return QH_ERR_EXISTS;

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
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		r = db_error(db, rc, "recording the technician");
out:
	sqlite3_finalize(st);
	return r;
}

/* qh-console tech add LOGIN --name NAME --out FILE [--role technician|accounting]. */
static int
cmd_tech_add(struct qh_cli *c)
{
	struct console_conf conf;
	struct qh_bundle b;
	struct qh_identity id;
	struct stat st;
	const char *state = console_state_dir(c);
	const char *login = c->argv[0];
	const char *name = qh_cli_opt(c, "name");
	const char *out = qh_cli_opt(c, "out");
	const char *rolename = qh_cli_opt(c, "role");
	enum qh_role role;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	sqlite3 *db = NULL;
	char now[32], expires[32];
	int r, status = QH_EXIT_FAIL, wrote = 0;

	memset(&b, 0, sizeof(b));
	if (!qh_id_valid(login))
		return qh_cli_usage(c,
		    "LOGIN must be 1 to 64 of A-Z a-z 0-9 . _ - "
		    "and not start with '.' or '-'");
	if (name == NULL || !person_name_valid(name))
		return qh_cli_usage(c,
		    "--name NAME is required (printable, at most "
		    "200 bytes)");
	if (out == NULL || *out == '\0')
		return qh_cli_usage(c, "--out FILE is required");
	role = rolename == NULL ? QH_ROLE_TECHNICIAN : qh_role_parse(rolename);
	if (role != QH_ROLE_TECHNICIAN && role != QH_ROLE_ACCOUNTING)
		return qh_cli_usage(c, "--role must be technician or accounting");

	if (conf_load(state, &conf) != 0)
		return QH_EXIT_FAIL;
	if (lstat(out, &st) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", out);
	if ((r = console_address(&conf, b.console, sizeof(b.console))) != 0)
		return qh_cli_fail(c, "bad listen address in console.conf: %s",
		    qh_strerror(r));
	if ((r = state_load_ca(state, &ca, &cakey)) != 0) {
		status = qh_cli_fail(c, "cannot load the CA from %s: %s", state,
		    qh_strerror(r));
		goto out;
	}
	if ((r = qh_pki_key_new(&key)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, key, role, login, NULL, (int)conf.cert_days,
		 &cert)) != 0 ||
	    (r = qh_pki_identity(cert, &id)) != 0) {
		status = qh_cli_fail(c, "cannot issue a certificate: %s", qh_strerror(r));
		goto out;
	}

	if ((r = db_open(state, 0, &db)) != 0 || (r = db_migrate(db)) != 0) {
		status = qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
		goto out;
	}
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = tech_insert(db, login, name, qh_role_name(role), now)) != 0) {
		if (r == QH_ERR_EXISTS)
			status = qh_cli_fail(c, "technician %s exists", login);
		else
			status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = db_record_cert(db, cert)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}

	/* The bundle before COMMIT: a failed write leaves no technician behind. */
	b.cert = cert;
	b.key = key;
	b.ca = ca;
	if ((r = qh_bundle_write(out, &b)) != 0) {
		status = r == QH_ERR_EXISTS
		    ? qh_cli_fail(c, "%s exists; refusing to overwrite it", out)
		    : qh_cli_fail(c, "cannot write %s: %s", out, qh_strerror(r));
		goto out;
	}
	wrote = 1;
	if ((r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	wrote = 0;

	qh_clock_format_utc(id.not_after, expires, sizeof(expires));
	printf("%s %s added: certificate %s, expires %s\n", qh_role_name(role), login,
	    id.serial, expires);
	printf("bundle %s (console %s); hand it over privately, it holds the key\n", out,
	    b.console);
	status = QH_EXIT_OK;
out:
	if (wrote)
		unlink(out);
	db_rollback(db);
	db_close(db);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return status;
}

/* qh-console tech revoke LOGIN: the login and its certificates, in one transaction. */
static int
cmd_tech_revoke(struct qh_cli *c)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	const char *state = console_state_dir(c);
	const char *login = c->argv[0];
	char now[32];
	int r, rc, status = QH_EXIT_FAIL, changed, certs = 0;

	if (!qh_id_valid(login))
		return qh_cli_usage(c,
		    "LOGIN must be 1 to 64 of A-Z a-z 0-9 . _ - "
		    "and not start with '.' or '-'");
	if ((r = db_open(state, 0, &db)) != 0 || (r = db_migrate(db)) != 0) {
		status = qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
		goto out;
	}
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if ((r = db_begin(db)) != 0)
		goto dberr;

	if ((r = db_prepare(db,
		 "UPDATE technicians SET revoked_at = ?1 "
		 "WHERE login = ?2 AND revoked_at IS NULL",
		 &st)) != 0)
		goto dberr;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "revoking the technician");
		goto dberr;
	}
	changed = sqlite3_changes(db);
	sqlite3_finalize(st);
	st = NULL;

	if (changed == 0) {
		if ((r = db_prepare(db, "SELECT 1 FROM technicians WHERE login = ?",
			 &st)) != 0)
			goto dberr;
		sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			status = qh_cli_fail(c, "unknown technician %s", login);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			r = db_error(db, rc, "looking up the technician");
			goto dberr;
		}
		sqlite3_finalize(st);
		st = NULL;
	}

	/* Its certificates too, also any left unrevoked by an earlier run. */
	if ((r = db_prepare(db,
		 "UPDATE certificates SET revoked_at = ?1 "
		 "WHERE role IN ('technician', 'accounting') AND identity = ?2 "
		 "AND revoked_at IS NULL",
		 &st)) != 0)
		goto dberr;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, login, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_error(db, rc, "revoking certificates");
		goto dberr;
	}
	certs = sqlite3_changes(db);
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_commit(db)) != 0)
		goto dberr;

	if (changed == 0)
		printf("technician %s was already revoked (%d certificate%s revoked "
		       "now)\n",
		    login, certs, certs == 1 ? "" : "s");
	else
		printf("technician %s revoked (%d certificate%s)\n", login, certs,
		    certs == 1 ? "" : "s");
	status = QH_EXIT_OK;
	goto out;
dberr:
	status = qh_cli_fail(c, "database: %s", qh_strerror(r));
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

const struct qh_cli_cmd cmd_tech_add_entry = {
	.name = "tech add",
	.usage = "LOGIN --name NAME --out FILE [--role technician|accounting]",
	.summary = "issue a technician or accounting bundle (certificate, key, CA)",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("name"), QH_OPT("out"), QH_OPT("role") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_tech_add,
};

const struct qh_cli_cmd cmd_tech_revoke_entry = {
	.name = "tech revoke",
	.usage = "LOGIN",
	.summary = "revoke a technician's certificates",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_tech_revoke,
};
