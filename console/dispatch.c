/*
 * What every qh-console command needs, set up from its entry: the store
 * (state, configuration, database) for admin and accounting commands. The
 * database is closed after the command whatever it returned, and a
 * transaction it left open is rolled back, so no command repeats this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qh/cli.h"
#include "admin/admin.h"
#include "console.h"
#include "store/store.h"
#include "tech/tech.h"

/* The command runs over TLS with a bundle, not on a local state (prepare's). */
static int run_remote;

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
	    "QH_STATE); elsewhere give --tech FILE (or set QH_TECH) with an "
	    "accounting bundle");
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
	if (c->ctx != NULL) {
		store_env_close(c->ctx);
		free(c->ctx);
		c->ctx = NULL;
	}
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
