/*
 * What every qh-console command needs, set up from its entry: the store
 * (state, configuration, database) for admin and accounting commands, and
 * for the ticket commands a desk (qh/desk.h): the store on this host or
 * the console over TLS. The database is closed after the command whatever
 * it returned, and a transaction it left open is rolled back, so no
 * command repeats this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/cli.h"
#include "qh/desk.h"
#include "admin/admin.h"
#include "tech/tech.h"
#include "console.h"
#include "store/store.h"

/* The command runs over TLS with a bundle, not on a local state (prepare's). */
static int run_remote;

/* A ticket command's desk and what it was opened from. */
struct desk_ctx {
	struct qh_desk desk;   /* first: c->ctx points here */
	struct store_env *env; /* the store's way; NULL over TLS */
	int remote;	       /* over TLS: tech_desk_close */
};

/* 1 if s is set and not empty. */
static int
given(const char *s)
{
	return s != NULL && *s != '\0';
}

/*
 * Where a command that may run over TLS runs (QH_CLI_REMOTE), in the
 * order of the decision: --state or --tech as given, then
 * $QH_STATE or $QH_TECH, then a readable ledger.db in the default state,
 * then a bundle in the default place. Sets *remote; QH_EXIT_OK or the
 * status after one line that names both ways.
 */
static int
choose_place(struct qh_cli *c, int *remote)
{
	char path[4096];

	*remote = 0;
	if (given(qh_cli_opt(c, "state")) && given(qh_cli_opt(c, "tech")))
		return qh_cli_usage(c, "give --state DIR or --tech FILE, not both");
	if (given(qh_cli_opt(c, "state")))
		return QH_EXIT_OK;
	if (given(qh_cli_opt(c, "tech")) ||
	    (!given(getenv("QH_STATE")) && given(getenv("QH_TECH")))) {
		*remote = 1;
		return QH_EXIT_OK;
	}
	if (given(getenv("QH_STATE")))
		return QH_EXIT_OK;
	snprintf(path, sizeof(path), "%s/%s", console_state_dir(NULL), DB_FILE);
	if (access(path, R_OK) == 0)
		return QH_EXIT_OK;
	if (tech_default_bundle(path, sizeof(path)) == 0 && access(path, R_OK) == 0) {
		*remote = 1;
		return QH_EXIT_OK;
	}
	return qh_cli_fail(c,
	    "no state and no bundle: on the console host give --state DIR (or set "
	    "QH_STATE); elsewhere give --tech FILE (or set QH_TECH) with a "
	    "technician's or accounting bundle");
}

/* Opens the desk of a ticket command into c->ctx. */
static int
prepare_desk(struct qh_cli *c)
{
	struct desk_ctx *x;
	int remote, status;

	if ((status = choose_place(c, &remote)) != QH_EXIT_OK)
		return status;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return qh_cli_fail(c, "out of memory");
	if (remote) {
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

/* Opens the store for c as needs says; QH_EXIT_OK or the status to exit with. */
static int
open_store(struct qh_cli *c, unsigned needs)
{
	struct store_env *env;

	if (!(needs & (QH_CLI_DB_READ | QH_CLI_DB_WRITE)))
		return QH_EXIT_OK;
	if ((env = calloc(1, sizeof(*env))) == NULL)
		return qh_cli_fail(c, "out of memory");
	if (store_env_open(env, console_state_dir(c), needs) != 0) {
		free(env);
		return QH_EXIT_FAIL;
	}
	c->ctx = env;
	return QH_EXIT_OK;
}

static int
prepare(struct qh_cli *c)
{
	int status;

	run_remote = 0;
	if (c->cmd->needs & QH_CLI_DESK)
		return prepare_desk(c);
	if ((c->cmd->needs & QH_CLI_REMOTE) &&
	    ((status = choose_place(c, &run_remote)) != QH_EXIT_OK || run_remote))
		return status;
	return open_store(c, c->cmd->needs);
}

static int
run(struct qh_cli *c)
{
	if (run_remote)
		return c->cmd == &cmd_statement_entry ? console_statement_remote(c)
						      : tech_account(c, c->cmd->name);
	return c->cmd->exec(c);
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

int
console_with_store(struct qh_cli *c, unsigned needs, int (*fn)(struct qh_cli *c))
{
	int status;

	if ((status = open_store(c, needs)) != QH_EXIT_OK)
		return status;
	return finish(c, fn(c));
}

const struct qh_cli_hooks console_hooks = {
	.prepare = prepare,
	.finish = finish,
	.run = run,
};
