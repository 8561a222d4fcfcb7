/*
 * Commands that run in one part or another depending on how they are
 * called, so neither part needs the other: `tech renew LOGIN --out FILE`
 * is an admin command on the console host (the store, the CA), `tech
 * renew --out FILE` a technician's over TLS with the bundle.
 */
#include "qh/cli.h"
#include "admin/admin.h"
#include "console.h"
#include "tech/tech.h"

/* qh-console tech renew [LOGIN] --out FILE. */
static int
cmd_tech_renew(struct qh_cli *c)
{
	if (c->argc == 1)
		return console_with_store(c, QH_CLI_DB_WRITE, admin_tech_renew);
	return tech_renew_self(c);
}

const struct qh_cli_cmd cmd_tech_renew_entry = {
	.name = "tech renew",
	.usage = "[LOGIN] --out FILE [--state DIR | --tech FILE]",
	.summary = "a new bundle: LOGIN's on the console host, or your own with "
		   "your bundle",
	.min_args = 0,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("out") },
	.exec = cmd_tech_renew,
};
