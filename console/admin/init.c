/*
 * qh-console init: creates a new console state directory. It holds the
 * deployment's CA (ca-key.pem, ca.pem), the console's server certificate
 * for --name (console-key.pem, console.pem), console.conf, the database
 * (ledger.db, migrated, in WAL mode) and recordings/.
 *
 * init never touches an existing deployment: a directory that is not
 * empty is refused. If anything fails half-way, everything init created is
 * removed again, so a retry starts from a clean slate.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/addr.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

#define INIT_MAX_DEPTH 64

/* What init created, so that a failure can take it back. */
struct init_undo {
	char *dirs[INIT_MAX_DEPTH]; /* directories created, outermost first */
	int ndirs;
	int populating; /* files may exist in the state dir */
};

/* Every file init may create in the state directory. */
static const char *const init_files[] = {
	"ca-key.pem",
	"ca.pem",
	"console-key.pem",
	"console.pem",
	"console.conf",
	DB_FILE,
	LEDGER_KEY_FILE,
	DB_FILE "-wal",
	DB_FILE "-shm",
	DB_FILE "-journal",
};

/* Creates dir and any missing parents with mode 0700, recording each one. */
static int
mkdir_parents(const char *dir, struct init_undo *u)
{
	char path[PATH_MAX], saved;
	struct stat st;
	size_t i, len = strlen(dir);

	if (len >= sizeof(path))
		return QH_ERR_TOO_LARGE;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		/* Stop at the end of each component; skip "//" and a trailing "/". */
		if ((path[i] != '/' && path[i] != '\0') || path[i - 1] == '/')
			continue;
		saved = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) == 0) {
			if (u->ndirs == INIT_MAX_DEPTH ||
			    (u->dirs[u->ndirs] = strdup(path)) == NULL) {
				rmdir(path);
				return QH_ERR_NOMEM;
			}
			u->ndirs++;
		} else if (errno != EEXIST || stat(path, &st) == -1 ||
		    !S_ISDIR(st.st_mode)) {
			qh_error("%s: %s", path,
			    errno == EEXIST ? "not a directory" : strerror(errno));
			return QH_ERR_SYSTEM;
		}
		path[i] = saved;
	}
	return 0;
}

/* Removes what init created in state (files, recordings/, new directories). */
static void
undo(const char *state, struct init_undo *u)
{
	char path[PATH_MAX];
	size_t i;
	int j;

	if (u->populating) {
		for (i = 0; i < sizeof(init_files) / sizeof(init_files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", state, init_files[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/recordings", state);
		rmdir(path);
	}
	for (j = u->ndirs - 1; j >= 0; j--)
		rmdir(u->dirs[j]);
}

static void
undo_free(struct init_undo *u)
{
	int j;

	for (j = 0; j < u->ndirs; j++)
		free(u->dirs[j]);
	u->ndirs = 0;
}

/*
 * Checks that state is missing or an empty directory; otherwise prints why
 * not and returns QH_EXIT_FAIL. *exists tells which.
 */
static int
check_state(struct qh_cli *c, const char *state, int *exists)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int empty = 1;

	*exists = 0;
	if (stat(state, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return qh_cli_fail(c, "%s: %s", state, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return qh_cli_fail(c, "%s exists and is not a directory", state);
	*exists = 1;
	snprintf(path, sizeof(path), "%s/console.conf", state);
	if (access(path, F_OK) == 0)
		return qh_cli_fail(c,
		    "%s is already initialised (console.conf "
		    "exists); refusing to overwrite it",
		    state);
	snprintf(path, sizeof(path), "%s/%s", state, DB_FILE);
	if (access(path, F_OK) == 0)
		return qh_cli_fail(c,
		    "%s already holds a database (%s); refusing "
		    "to overwrite it",
		    state, DB_FILE);
	if ((d = opendir(state)) == NULL)
		return qh_cli_fail(c, "%s: %s", state, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	if (!empty)
		return qh_cli_fail(c,
		    "%s exists and is not empty; init wants a new "
		    "or empty directory",
		    state);
	return 0;
}

/* Joins state and name into path; QH_ERR_TOO_LARGE if it does not fit. */
static int
state_path(char *path, size_t len, const char *state, const char *name)
{
	if ((size_t)snprintf(path, len, "%s/%s", state, name) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* Creates the CA, the console certificate, the config and the database. */
static int
populate(const char *state, const char *name, const char *listen, char pin[65])
{
	struct console_conf d;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	sqlite3 *db = NULL;
	char path[PATH_MAX];
	int r;

	conf_defaults(&d);
	if ((r = qh_pki_key_new(&cakey)) != 0 ||
	    (r = qh_pki_ca_new(cakey, name, &ca)) != 0)
		goto out;
	if ((r = state_path(path, sizeof(path), state, "ca-key.pem")) != 0 ||
	    (r = qh_pki_write_key(path, cakey)) != 0)
		goto out;
	if ((r = state_path(path, sizeof(path), state, "ca.pem")) != 0 ||
	    (r = qh_pki_write_cert(path, ca)) != 0)
		goto out;
	if ((r = qh_pki_fingerprint(ca, pin)) != 0)
		goto out;

	if ((r = qh_pki_key_new(&key)) != 0 ||
	    (r = qh_pki_issue(ca, cakey, key, QH_ROLE_CONSOLE, name, NULL,
		 (int)d.server_cert_days, &cert)) != 0)
		goto out;
	if ((r = state_path(path, sizeof(path), state, "console-key.pem")) != 0 ||
	    (r = qh_pki_write_key(path, key)) != 0)
		goto out;
	if ((r = state_path(path, sizeof(path), state, "console.pem")) != 0 ||
	    (r = qh_pki_write_cert(path, cert)) != 0)
		goto out;

	if ((r = conf_write_new(state, name, listen)) != 0)
		goto out;
	if ((r = db_create(state, &db)) != 0)
		goto out;
	if ((r = db_begin(db)) != 0)
		goto out;
	if ((r = db_record_cert(db, cert)) != 0 || (r = db_commit(db)) != 0) {
		db_rollback(db);
		goto out;
	}

	if ((r = state_path(path, sizeof(path), state, "recordings")) != 0)
		goto out;
	if (mkdir(path, 0700) == -1) {
		qh_error("%s: %s", path, strerror(errno));
		r = QH_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	db_close(db);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return r;
}

/* qh-console init --state DIR --name HOSTNAME [--listen ADDR:PORT]. */
static int
cmd_init(struct qh_cli *c)
{
	struct init_undo u;
	struct console_conf d;
	const char *state = console_state_dir(c);
	const char *name = qh_cli_opt(c, "name");
	const char *listen = qh_cli_opt(c, "listen");
	char host[256], pin[65];
	int port, exists, r, status;

	memset(&u, 0, sizeof(u));
	conf_defaults(&d);
	if (name == NULL)
		return qh_cli_usage(c, "--name HOSTNAME is required");
	if (!qh_pki_host_valid(name))
		return qh_cli_usage(c,
		    "--name must be a DNS name or an IP address "
		    "of at most 64 characters");
	if (listen == NULL)
		listen = d.listen;
	if (strlen(listen) >= sizeof(d.listen) ||
	    qh_split_hostport(listen, host, sizeof(host), &port) != 0)
		return qh_cli_usage(c,
		    "--listen must be ADDR:PORT or [V6ADDR]:PORT "
		    "with a port from 1 to 65535");
	if (*state == '\0')
		return qh_cli_usage(c, "--state must not be empty");

	if ((status = check_state(c, state, &exists)) != 0)
		return status;
	if (!exists && (r = mkdir_parents(state, &u)) != 0) {
		status = qh_cli_fail(c, "cannot create %s: %s", state, qh_strerror(r));
		goto out;
	}
	if (exists && chmod(state, 0700) == -1) {
		status = qh_cli_fail(c, "%s: %s", state, strerror(errno));
		goto out;
	}
	u.populating = 1;
	if ((r = populate(state, name, listen, pin)) != 0) {
		status = qh_cli_fail(c, "init of %s failed: %s", state, qh_strerror(r));
		goto out;
	}
	u.populating = 0;
	undo_free(&u);

	printf("initialised %s\n", state);
	printf("  name:    %s\n", name);
	printf("  listen:  %s\n", listen);
	printf("  CA pin:  %s\n", pin);
	status = QH_EXIT_OK;
out:
	if (status != QH_EXIT_OK)
		undo(state, &u);
	undo_free(&u);
	return status;
}

const struct qh_cli_cmd cmd_init_entry = {
	.name = "init",
	.usage = "--state DIR --name HOSTNAME [--listen ADDR:PORT]",
	.summary = "create a new console state: CA, server certificate, config, database",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("name"), QH_OPT("listen") },
	.exec = cmd_init,
};
