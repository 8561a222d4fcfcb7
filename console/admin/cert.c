/*
 * qh-console cert renew: a new certificate for the console itself. A new
 * key and a certificate for [console] name, valid [enroll]
 * server_cert_days, replace console-key.pem and console.pem (each file in
 * one step), the certificate is recorded and the console's older ones are
 * marked retired, and a serve that holds the state directory is sent
 * SIGHUP: it presents the new certificate to every connection from then
 * on, and the peers already connected stay. Agents and technicians check
 * the console against the CA and its name, so nobody needs to be told.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

/* Writes key and certificate over the state's files: the key first, each in one step. */
static int
install(struct qh_cli *c, const char *state, EVP_PKEY *key, X509 *cert)
{
	char path[PATH_MAX];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/console-key.pem", state) >=
		sizeof(path) ||
	    (r = qh_pki_replace_key(path, key)) != 0)
		return qh_cli_fail(c, "cannot write %s/console-key.pem", state);
	if ((size_t)snprintf(path, sizeof(path), "%s/console.pem", state) >=
		sizeof(path) ||
	    (r = qh_pki_replace_cert(path, cert)) != 0)
		return qh_cli_fail(c,
		    "cannot write %s: the new key is in place without its "
		    "certificate; run cert renew again before serve restarts",
		    path);
	return QH_EXIT_OK;
}

/* Tells a running serve to load the new certificate. */
static void
tell_serve(const char *state)
{
	long pid = 0;
	int r;

	if ((r = store_serve_pid(state, &pid)) < 0)
		printf("cannot tell whether qh-console serve runs; send it SIGHUP (or "
		       "restart it) to load the certificate\n");
	else if (r == 0)
		printf("no qh-console serve runs on %s; it loads the certificate when "
		       "it starts\n",
		    state);
	else if (pid <= 0 || kill((pid_t)pid, SIGHUP) != 0)
		printf("qh-console serve runs but could not be told (%s); send it "
		       "SIGHUP to load the certificate\n",
		    pid <= 0 ? "no pid in serve.lock" : strerror(errno));
	else
		printf("told qh-console serve (pid %ld) to load it; connected agents "
		       "and technicians stay connected\n",
		    pid);
}

/* qh-console cert renew. */
static int
cmd_cert_renew(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	struct qh_identity id;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	char expires[32];
	int r, status = QH_EXIT_FAIL;

	if ((r = state_load_ca(env->state, &ca, &cakey)) != 0) {
		status = qh_cli_fail(c, "cannot load the CA from %s: %s", env->state,
		    qh_strerror(r));
		goto out;
	}
	if ((r = qh_pki_key_new(&key)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, key, QH_ROLE_CONSOLE, env->conf.name, NULL,
		 (int)env->conf.server_cert_days, &cert)) != 0 ||
	    (r = qh_pki_identity(cert, &id)) != 0) {
		status = qh_cli_fail(c, "cannot issue a certificate for %s: %s",
		    env->conf.name, qh_strerror(r));
		goto out;
	}
	/* Recorded first: a certificate in use is always on record. */
	if ((r = db_begin(env->db)) != 0 || (r = db_record_cert(env->db, cert)) != 0 ||
	    (r = db_commit(env->db)) != 0) {
		db_rollback(env->db);
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((status = install(c, env->state, key, cert)) != QH_EXIT_OK)
		goto out;
	if ((r = db_cert_used(env->db, &id)) < 0)
		qh_warn("the console's older certificates are not marked retired: %s",
		    qh_strerror(r));
	qh_clock_format_utc(id.not_after, expires, sizeof(expires));
	printf("console certificate for %s renewed: certificate %s, expires %s\n", id.id,
	    id.serial, expires);
	tell_serve(env->state);
	status = QH_EXIT_OK;
out:
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return status;
}

const struct qh_cli_cmd cmd_cert_renew_entry = {
	.name = "cert renew",
	.usage = "[--state DIR]",
	.summary = "renew the console's own certificate; a running serve loads it",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_cert_renew,
};
