/*
 * qh-console tech add / tech revoke / tech renew LOGIN: technicians and
 * accounting staff.
 *
 * `tech add` records the login, issues a certificate for it (role
 * technician or accounting, CN=LOGIN) and writes the bundle the person
 * uses with --tech: the console's address, the certificate, its key and
 * the CA certificate, in one 0600 file. The key is generated here and
 * leaves only in that file. `tech revoke` marks the login and every
 * certificate issued to it as revoked. `tech renew LOGIN` writes a new
 * bundle for an active login, with a new key; the certificates before it
 * retire when it is first used (without LOGIN, a technician renews over
 * TLS: console/tech/renew.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
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
 * Issues a certificate for login in role with a new key and writes the
 * bundle to out (which must not exist), committing the certificate (and
 * whatever the caller's transaction holds) only once the bundle is
 * written. The caller has begun the transaction; it is rolled back on
 * failure. Returns an exit status after one line on stdout or stderr.
 */
static int
issue_bundle(struct qh_cli *c, const char *login, enum qh_role role, const char *out,
    const char *done)
{
	struct store_env *env = admin_env(c);
	struct qh_bundle b;
	struct qh_identity id;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	char expires[32];
	int r, status = QH_EXIT_FAIL, wrote = 0;

	memset(&b, 0, sizeof(b));
	if ((r = console_address(&env->conf, b.console, sizeof(b.console))) != 0) {
		status = qh_cli_fail(c, "bad listen address in console.conf: %s",
		    qh_strerror(r));
		goto out;
	}
	if ((r = state_load_ca(env->state, &ca, &cakey)) != 0) {
		status = qh_cli_fail(c, "cannot load the CA from %s: %s", env->state,
		    qh_strerror(r));
		goto out;
	}
	if ((r = qh_pki_key_new(&key)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, key, role, login, NULL, (int)env->conf.cert_days,
		 &cert)) != 0 ||
	    (r = qh_pki_identity(cert, &id)) != 0) {
		status = qh_cli_fail(c, "cannot issue a certificate: %s", qh_strerror(r));
		goto out;
	}
	if ((r = db_record_cert(env->db, cert)) != 0) {
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
	if ((r = db_commit(env->db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	wrote = 0;

	qh_clock_format_utc(id.not_after, expires, sizeof(expires));
	printf("%s %s %s: certificate %s, expires %s\n", qh_role_name(role), login, done,
	    id.serial, expires);
	printf("bundle %s (console %s); hand it over privately, it holds the key\n", out,
	    b.console);
	status = QH_EXIT_OK;
out:
	if (wrote)
		unlink(out);
	db_rollback(env->db);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return status;
}

/* qh-console tech add LOGIN --name NAME --out FILE [--role technician|accounting]. */
static int
cmd_tech_add(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	struct stat st;
	const char *login = c->argv[0];
	const char *name = qh_cli_opt(c, "name");
	const char *out = qh_cli_opt(c, "out");
	const char *rolename = qh_cli_opt(c, "role");
	enum qh_role role;
	int r;

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

	if (lstat(out, &st) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", out);
	if ((r = db_begin(env->db)) != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if ((r = db_tech_add(env->db, login, name, qh_role_name(role))) != 0) {
		db_rollback(env->db);
		if (r == QH_ERR_EXISTS)
			return qh_cli_fail(c, "technician %s exists", login);
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	}
	return issue_bundle(c, login, role, out, "added");
}

int
admin_tech_renew(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	struct stat st;
	const char *login = c->argv[0];
	const char *out = qh_cli_opt(c, "out");
	char rolename[32];
	int r, status;

	if (!qh_id_valid(login))
		return qh_cli_usage(c,
		    "LOGIN must be 1 to 64 of A-Z a-z 0-9 . _ - "
		    "and not start with '.' or '-'");
	if (out == NULL || *out == '\0')
		return qh_cli_usage(c, "--out FILE is required");
	if (lstat(out, &st) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", out);
	if ((r = db_begin(env->db)) != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	/* Inside the transaction: a revocation cannot slip in between. */
	if ((r = db_tech_role(env->db, login, rolename, sizeof(rolename))) != 1) {
		db_rollback(env->db);
		if (r == QH_ERR_NOT_FOUND)
			return qh_cli_fail(c, "unknown technician %s", login);
		if (r == 0)
			return qh_cli_fail(c,
			    "technician %s is revoked; tech add gives the login out "
			    "again",
			    login);
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	}
	status = issue_bundle(c, login, qh_role_parse(rolename), out, "renewed");
	if (status == QH_EXIT_OK)
		printf("the bundles issued before stop working once this one is used\n");
	return status;
}

/* qh-console tech revoke LOGIN: the login and its certificates, in one transaction. */
static int
cmd_tech_revoke(struct qh_cli *c)
{
	const char *login = c->argv[0];
	int r, revoked, certs;

	if (!qh_id_valid(login))
		return qh_cli_usage(c,
		    "LOGIN must be 1 to 64 of A-Z a-z 0-9 . _ - "
		    "and not start with '.' or '-'");
	r = db_tech_revoke(admin_env(c)->db, login, &revoked, &certs);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "unknown technician %s", login);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if (!revoked)
		printf("technician %s was already revoked (%d certificate%s revoked "
		       "now)\n",
		    login, certs, certs == 1 ? "" : "s");
	else
		printf("technician %s revoked (%d certificate%s)\n", login, certs,
		    certs == 1 ? "" : "s");
	return QH_EXIT_OK;
}

/* One technician as a line of the table, or appended to the JSON listing. */
static int
tech_row(void *arg, const struct tech_row *t)
{
	struct qh_json *j = arg;
	char name[TECH_NAME_MAX + 1];

	if (j == NULL) {
		printf("%-20s %-30s %-11s %-8s %s\n", t->login,
		    qh_display_str(t->name, name, sizeof(name), 0), t->role,
		    t->revoked_at != NULL ? "revoked" : "active",
		    t->not_after != NULL ? t->not_after : "-");
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_str(j, "login", t->login);
	qh_json_kv_str(j, "name", t->name);
	qh_json_kv_str(j, "role", t->role);
	qh_json_kv_str(j, "created_at", t->created_at);
	if (t->revoked_at != NULL)
		qh_json_kv_str(j, "revoked_at", t->revoked_at);
	else
		qh_json_kv_null(j, "revoked_at");
	if (t->not_after != NULL)
		qh_json_kv_str(j, "cert_not_after", t->not_after);
	else
		qh_json_kv_null(j, "cert_not_after");
	qh_json_end_object(j);
	return 0;
}

/* qh-console tech list [--json]: every login, its role, state and certificate's expiry.
 */
static int
cmd_tech_list(struct qh_cli *c)
{
	int json = qh_cli_flag(c, "json"), r, status = QH_EXIT_OK;
	struct qh_buf out;
	struct qh_json j;

	qh_buf_init(&out, 16 * 1024 * 1024);
	qh_json_init(&j, &out);
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%-20s %-30s %-11s %-8s %s\n", "LOGIN", "NAME", "ROLE", "STATE",
		    "CERT EXPIRES");
	if ((r = db_tech_list(admin_env(c)->db, tech_row, json ? &j : NULL)) != 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
	}
	qh_buf_release(&out);
	return status;
}

const struct qh_cli_cmd cmd_tech_list_entry = {
	.name = "tech list",
	.usage = "[--json]",
	.summary = "list technicians and accounting staff with their roles",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_tech_list,
};

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
