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

/* qh-console tech add LOGIN --name NAME --out FILE [--role technician|accounting]. */
static int
cmd_tech_add(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	struct qh_bundle b;
	struct qh_identity id;
	struct stat st;
	const char *login = c->argv[0];
	const char *name = qh_cli_opt(c, "name");
	const char *out = qh_cli_opt(c, "out");
	const char *rolename = qh_cli_opt(c, "role");
	enum qh_role role;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	char expires[32];
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

	if (lstat(out, &st) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", out);
	if ((r = console_address(&env->conf, b.console, sizeof(b.console))) != 0)
		return qh_cli_fail(c, "bad listen address in console.conf: %s",
		    qh_strerror(r));
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

	if ((r = db_begin(env->db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = db_tech_add(env->db, login, name, qh_role_name(role))) != 0) {
		if (r == QH_ERR_EXISTS)
			status = qh_cli_fail(c, "technician %s exists", login);
		else
			status = qh_cli_fail(c, "database: %s", qh_strerror(r));
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
	printf("%s %s added: certificate %s, expires %s\n", qh_role_name(role), login,
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
