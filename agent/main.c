/*
 * qh-agent: the command table of the customer's side.
 */
#include <signal.h>
#include <stdlib.h>

#include "qh/cli.h"
#include "qh/log.h"

static const struct qh_cli_cmd commands[] = {
	{ .name = NULL },
};

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1;

	qh_log_init("qh-agent", level < 0 ? QH_LOG_INFO : (enum qh_log_level)level);
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	return qh_cli_main("qh-agent", commands, NULL, argc, argv);
}
