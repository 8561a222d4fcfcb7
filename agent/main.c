/*
 * qh-agent: the command table of the customer's side (DESIGN §5), and the
 * few helpers every command shares.
 */
#include <sys/syscall.h>

#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/addr.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "agent.h"

static const struct qh_cli_cmd *const commands[] = {
	&cmd_join_entry,
	&cmd_run_entry,
	&cmd_info_entry,
	&cmd_ticket_entry,
	NULL,
};

int
agent_config_dir(const struct qh_cli *c, char *out, size_t len)
{
	const char *dir = qh_cli_opt(c, "config"), *home;
	struct passwd *pw;
	int n;

	if (dir == NULL && (dir = getenv("QH_AGENT")) != NULL && *dir == '\0')
		dir = NULL;
	if (dir != NULL) {
		n = snprintf(out, len, "%s", dir);
	} else {
		if ((home = getenv("HOME")) == NULL || *home == '\0') {
			if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL)
				return QH_ERR_NOT_FOUND;
			home = pw->pw_dir;
		}
		n = snprintf(out, len, "%s/.config/quarterhour/agent", home);
	}
	if (n < 0 || (size_t)n >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
agent_log_level(const struct qh_cli *c)
{
	const char *s = qh_cli_opt(c, "log-level");
	int level;

	if (s == NULL)
		return 0;
	if ((level = qh_log_level_parse(s)) < 0)
		return QH_ERR_ARG;
	qh_log_init("qh-agent", (enum qh_log_level)level);
	return 0;
}

int
agent_identity_load(struct qh_cli *c, struct qh_bundle *b, char *host, size_t hostlen,
    int *port, struct qh_tls_ctx **ctxp)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int r;

	memset(b, 0, sizeof(*b));
	*ctxp = NULL;
	if ((r = agent_config_dir(c, dir, sizeof(dir))) != 0)
		return qh_cli_fail(c, "no configuration directory: %s", qh_strerror(r));
	snprintf(path, sizeof(path), "%s/%s", dir, AGENT_BUNDLE_NAME);
	if (access(path, F_OK) != 0)
		return qh_cli_fail(c,
		    "not enrolled: no %s; run 'qh-agent join TOKEN' "
		    "first",
		    path);
	if ((r = qh_bundle_load(path, b)) != 0)
		return qh_cli_fail(c, "cannot load %s: %s", path, qh_strerror(r));
	if (qh_split_hostport(b->console, host, hostlen, port) != 0 ||
	    qh_tls_ctx_client(ctxp, b->cert, b->key, b->ca) != 0) {
		qh_bundle_free(b);
		return qh_cli_fail(c, "%s: unusable console address or certificate",
		    path);
	}
	return 0;
}

/*
 * glibc keeps signals 32 and 33 for itself and refuses sigaction() on them,
 * but a parent (GNU make, for one) may leave them ignored, and exec hands
 * that on to every command a technician runs. Put them back with the raw
 * system call, once, so that children start with default dispositions.
 */
static void
reset_reserved_signals(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long mask;
	} k = { SIG_DFL, 0, NULL, 0 };
	int sig;

	for (sig = 32; sig < SIGRTMIN; sig++)
		(void)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1;

	/* The customer's terminal shows warnings and errors unless asked for more. */
	qh_log_init("qh-agent", level < 0 ? QH_LOG_WARN : (enum qh_log_level)level);
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	reset_reserved_signals();
	return qh_cli_main("qh-agent", commands, "run", NULL, argc, argv);
}
