/*
 * qh-agent: the command table of the customer's side (DESIGN §5), and the
 * few helpers every command shares.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/text.h"
#include "agent.h"
#include "platform.h"

const struct qh_cli_cmd *const agent_commands[] = {
	&cmd_join_entry,
	&cmd_run_entry,
	&cmd_info_entry,
	&cmd_ticket_entry,
	&cmd_tickets_entry,
	&cmd_ticket_show_entry,
	&cmd_ticket_get_entry,
	&cmd_ticket_reply_entry,
	&cmd_balance_entry,
#ifdef _WIN32
	&cmd_service_install_entry,
	&cmd_service_uninstall_entry,
	&cmd_service_run_entry,
	&cmd_service_desktop_entry,
#endif
	NULL,
};

/* The language a --lang value names: only "de" and "en" (DESIGN §5). */
static int
lang_value(const char *s, enum qh_lang *out)
{
	if (s == NULL || (strcmp(s, "de") != 0 && strcmp(s, "en") != 0))
		return QH_ERR_ARG;
	return qh_lang_parse(s, out);
}

void
agent_lang_init(int argc, char **argv)
{
	enum qh_lang lang = qh_lang_from_env();
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) {
			(void)lang_value(argv[i + 1], &lang);
			break;
		}
		if (strncmp(argv[i], "--lang=", 7) == 0) {
			(void)lang_value(argv[i] + 7, &lang);
			break;
		}
	}
	qh_lang_set(lang);
}

/* Before every command: its --lang, checked. */
static int
agent_prepare(struct qh_cli *c)
{
	const char *s = qh_cli_opt(c, "lang");
	enum qh_lang lang;

	if (s == NULL)
		return QH_EXIT_OK;
	if (lang_value(s, &lang) != 0)
		return qh_cli_usage(c, _("--lang takes de or en"));
	qh_lang_set(lang);
	return QH_EXIT_OK;
}

static const char *
agent_text(const char *msgid)
{
	return _(msgid);
}

const struct qh_cli_hooks agent_hooks = {
	.prepare = agent_prepare,
	.text = agent_text,
};

int
agent_config_dir(const struct qh_cli *c, char *out, size_t len)
{
	const char *dir = qh_cli_opt(c, "config");
	int n;

	if (dir == NULL && (dir = getenv("QH_AGENT")) != NULL && *dir == '\0')
		dir = NULL;
	if (dir == NULL)
		return plat_config_default(out, len);
	n = snprintf(out, len, "%s", dir);
	if (n < 0 || (size_t)n >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
agent_bundle_path(const struct qh_cli *c, char *out, size_t len)
{
	char dir[PATH_MAX];
	int r;

	if ((r = agent_config_dir(c, dir, sizeof(dir))) != 0)
		return r;
	return plat_path_join(out, len, dir, AGENT_BUNDLE_NAME);
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
	char path[PATH_MAX + 16];
	int r;

	memset(b, 0, sizeof(*b));
	*ctxp = NULL;
	if ((r = agent_bundle_path(c, path, sizeof(path))) != 0)
		return qh_cli_fail(c, _("no configuration directory: %s"),
		    _(qh_strerror(r)));
	if (plat_path_kind(path) == PLAT_NONE)
		return qh_cli_fail(c,
		    _("not enrolled: no %s; run 'qh-agent join TOKEN', or "
		      "'qh-agent join --short CODE' with the code your support "
		      "vendor reads out, first"),
		    path);
	if ((r = qh_bundle_load(path, b)) != 0)
		return qh_cli_fail(c, _("cannot load %s: %s"), path, _(qh_strerror(r)));
	if (qh_split_hostport(b->console, host, hostlen, port) != 0 ||
	    qh_tls_ctx_client(ctxp, b->cert, b->key, b->ca) != 0) {
		qh_bundle_free(b);
		return qh_cli_fail(c, _("%s: unusable console address or certificate"),
		    path);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1, r;

	if ((r = plat_init()) != 0)
		return r;
	/* The customer's terminal shows warnings and errors unless asked for more. */
	qh_log_init("qh-agent", level < 0 ? QH_LOG_WARN : (enum qh_log_level)level);
	agent_lang_init(argc, argv);
	if (plat_wants_window(&argc, argv))
		return plat_window_run(argc, argv);
	return qh_cli_main("qh-agent", agent_commands, "run", &agent_hooks, argc, argv);
}
