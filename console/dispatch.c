/*
 * What every qh-console command needs, set up from its entry: the store
 * (state, configuration, database) for admin and accounting commands, and
 * for the ticket commands a desk (qh/desk.h): the store on this host or
 * the console over TLS. The database is closed after the command whatever
 * it returned, and a transaction it left open is rolled back, so no
 * command repeats this.
 */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/cli.h"
#include "qh/desk.h"
#include "admin/admin.h"
#include "tech/tech.h"
#include "console.h"

/* A ticket command's desk and what it was opened from. */
struct desk_ctx {
	struct qh_desk desk;   /* first: c->ctx points here */
	struct store_env *env; /* the store's way; NULL over TLS */
	int remote;	       /* over TLS: tech_desk_close */
};

/* 1 if the environment variable name is set and not empty. */
static int
env_set(const char *name)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0';
}

/* 1 if the default technician bundle, ~/.config/quarterhour/tech.conf, is there. */
static int
default_bundle(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char path[PATH_MAX];

	if ((home == NULL || *home == '\0') && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/.config/quarterhour/tech.conf",
		home) >= sizeof(path))
		return 0;
	return access(path, F_OK) == 0;
}

/*
 * Which way a ticket command reaches the desk: 1 over TLS, 0 the store
 * here, or an exit status (+2: usage, +3: none found) when neither. An
 * option given wins, then $QH_STATE or $QH_TECH, then a database this user
 * can read in the default state directory, then the default bundle.
 */
static int
desk_remote(struct qh_cli *c)
{
	char db[PATH_MAX];
	int state = qh_cli_opt(c, "state") != NULL, tech = qh_cli_opt(c, "tech") != NULL;

	if (state && tech)
		return 2;
	if (state || tech)
		return tech;
	if (env_set("QH_STATE"))
		return 0;
	if (env_set("QH_TECH"))
		return 1;
	snprintf(db, sizeof(db), "%s/ledger.db", console_state_dir(c));
	if (access(db, R_OK) == 0)
		return 0;
	if (default_bundle())
		return 1;
	return 3;
}

/* Opens the desk of a ticket command into c->ctx. */
static int
prepare_desk(struct qh_cli *c)
{
	struct desk_ctx *x;
	int way = desk_remote(c);

	if (way == 2)
		return qh_cli_usage(c, "give --state DIR or --tech FILE, not both");
	if (way == 3)
		return qh_cli_fail(c,
		    "no tickets here: give --state DIR on the console host, or --tech "
		    "FILE (a technician bundle; or set QH_STATE or QH_TECH)");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return qh_cli_fail(c, "out of memory");
	if (way == 1) {
		if (tech_desk_open(c, &x->desk) != 0) {
			free(x);
			return QH_EXIT_FAIL;
		}
		x->remote = 1;
	} else {
		if ((x->env = calloc(1, sizeof(*x->env))) == NULL) {
			free(x);
			return qh_cli_fail(c, "out of memory");
		}
		if (store_env_open(x->env, console_state_dir(c), c->cmd->needs) != 0) {
			free(x->env);
			free(x);
			return QH_EXIT_FAIL;
		}
		admin_desk_open(x->env, &x->desk);
	}
	c->ctx = x;
	return QH_EXIT_OK;
}

static int
prepare(struct qh_cli *c)
{
	struct store_env *env;

	if (c->cmd->needs & QH_CLI_DESK)
		return prepare_desk(c);
	if (!(c->cmd->needs & (QH_CLI_DB_READ | QH_CLI_DB_WRITE)))
		return QH_EXIT_OK;
	if ((env = calloc(1, sizeof(*env))) == NULL)
		return qh_cli_fail(c, "out of memory");
	if (store_env_open(env, console_state_dir(c), c->cmd->needs) != 0) {
		free(env);
		return QH_EXIT_FAIL;
	}
	c->ctx = env;
	return QH_EXIT_OK;
}

static int
finish(struct qh_cli *c, int status)
{
	struct desk_ctx *x;

	if (c->ctx == NULL)
		return status;
	if (c->cmd->needs & QH_CLI_DESK) {
		x = c->ctx;
		if (x->remote)
			tech_desk_close(&x->desk);
		if (x->env != NULL) {
			store_env_close(x->env);
			free(x->env);
		}
		free(x);
	} else {
		store_env_close(c->ctx);
		free(c->ctx);
	}
	c->ctx = NULL;
	return status;
}

const struct qh_cli_hooks console_hooks = {
	.prepare = prepare,
	.finish = finish,
};
