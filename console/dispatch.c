/*
 * What every qh-console command needs, set up from its entry: the store
 * (state, configuration, database) for admin and accounting commands. The
 * database is closed after the command whatever it returned, and a
 * transaction it left open is rolled back, so no command repeats this.
 */
#include <stdlib.h>

#include "qh/cli.h"
#include "admin/admin.h"
#include "console.h"

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
	return open_store(c, c->cmd->needs);
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
};
