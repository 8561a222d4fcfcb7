/*
 * Command dispatch and option parsing for qh-console and qh-agent.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "qh/cli.h"
#include "qh/err.h"
#include "qh/out.h"
#include "qh/text.h"

#ifndef QH_VERSION
#define QH_VERSION "unknown"
#endif

/* A text of ours in the program's language: its hooks' text(), else English. */
static const char *
tr(const struct qh_cli_hooks *hooks, const char *msgid) __attribute__((format_arg(2)));

static const char *
tr(const struct qh_cli_hooks *hooks, const char *msgid)
{
	if (hooks == NULL || hooks->text == NULL || msgid == NULL)
		return msgid;
	return hooks->text(msgid);
}

static int
opt_index(const struct qh_cli_cmd *cmd, const char *name)
{
	int i;

	for (i = 0; i < QH_CLI_MAX_OPTS && cmd->opts[i].name != NULL; i++)
		if (strcmp(cmd->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *
qh_cli_opt(const struct qh_cli *c, const char *name)
{
	int i = opt_index(c->cmd, name);

	return i < 0 ? NULL : c->val[i];
}

int
qh_cli_flag(const struct qh_cli *c, const char *name)
{
	int i = opt_index(c->cmd, name);

	return i >= 0 && c->count[i] > 0;
}

int
qh_cli_opts(const struct qh_cli *c, const char *name, const char *const **vals)
{
	int i = opt_index(c->cmd, name);

	if (i < 0) {
		*vals = NULL;
		return 0;
	}
	*vals = c->rep[i];
	return c->count[i];
}

static void
print_help(const char *prog, const struct qh_cli_cmd *cmd, const struct qh_cli_hooks *h)
{
	int i;

	qh_out_printf(stdout, "%s %s %s%s%s\n", tr(h, N_("usage:")), prog, cmd->name,
	    *cmd->usage ? " " : "", cmd->usage);
	if (cmd->summary != NULL)
		qh_out_printf(stdout, "\n%s\n", tr(h, cmd->summary));
	qh_out_printf(stdout, "\n%s\n", tr(h, N_("options:")));
	for (i = 0; i < QH_CLI_MAX_OPTS && cmd->opts[i].name != NULL; i++) {
		const struct qh_cli_opt *o = &cmd->opts[i];

		if (o->short_name)
			qh_out_printf(stdout, "  -%c, --%s%s\n", o->short_name, o->name,
			    o->has_arg ? " VALUE" : "");
		else
			qh_out_printf(stdout, "  --%s%s%s%s\n", o->name,
			    o->has_arg ? " VALUE" : "", o->repeat ? " " : "",
			    o->repeat ? tr(h, N_("(repeatable)")) : "");
	}
	qh_out_printf(stdout, "  --help\n");
}

int
qh_cli_usage(const struct qh_cli *c, const char *why)
{
	if (why != NULL)
		qh_out_printf(stderr, "%s: %s\n", c->prog, why);
	qh_out_printf(stderr, "%s %s %s %s\n", tr(c->hooks, N_("usage:")), c->prog,
	    c->cmd->name, c->cmd->usage);
	return QH_EXIT_USAGE;
}

int
qh_cli_fail(const struct qh_cli *c, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	qh_out_printf(stderr, "%s: %s\n", c->prog, text);
	return QH_EXIT_FAIL;
}

int
qh_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return QH_ERR_ARG;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return QH_ERR_ARG;
	*out = v;
	return 0;
}

static void
print_commands(FILE *f, const char *prog, const struct qh_cli_cmd *const *table,
    const struct qh_cli_hooks *h)
{
	const struct qh_cli_cmd *const *cmd;

	qh_out_printf(f, "%s %s COMMAND [ARGS]\n\n%s\n", tr(h, N_("usage:")), prog,
	    tr(h, N_("commands:")));
	for (cmd = table; *cmd != NULL; cmd++)
		qh_out_printf(f, "  %-16s %s\n", (*cmd)->name,
		    (*cmd)->summary ? tr(h, (*cmd)->summary) : "");
	qh_out_printf(f, "\n");
	qh_out_printf(f, tr(h, N_("'%s COMMAND --help' describes one command.")), prog);
	qh_out_printf(f, "\n");
}

/* Prints "prog: TEXT" on stderr, TEXT being msgid (one %s: arg) in the program's
 * language. */
static void
complain(const struct qh_cli_hooks *h, const char *prog, const char *msgid,
    const char *arg)
{
	char text[1024];

	snprintf(text, sizeof(text), tr(h, msgid), arg);
	qh_out_printf(stderr, "%s: %s\n", prog, text);
}

/* Matches argv against the table: two-word names first, then one-word. */
static const struct qh_cli_cmd *
find_cmd(const struct qh_cli_cmd *const *table, int argc, char **argv, int *used)
{
	const struct qh_cli_cmd *const *cmd;
	char two[128];

	if (argc >= 2) {
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		for (cmd = table; *cmd != NULL; cmd++)
			if (strcmp((*cmd)->name, two) == 0) {
				*used = 2;
				return *cmd;
			}
	}
	if (argc >= 1) {
		for (cmd = table; *cmd != NULL; cmd++)
			if (strcmp((*cmd)->name, argv[0]) == 0) {
				*used = 1;
				return *cmd;
			}
	}
	return NULL;
}

int
qh_cli_main(const char *prog, const struct qh_cli_cmd *const *table,
    const char *default_cmd, const struct qh_cli_hooks *hooks, int argc, char **argv)
{
	struct option longopts[QH_CLI_MAX_OPTS + 2];
	char shortopts[QH_CLI_MAX_OPTS * 2 + 2];
	const struct qh_cli_cmd *cmd = NULL;
	struct qh_cli *c = NULL;
	char *dflt[2] = { NULL, NULL };
	int used = 0, n = 0, ns = 0, i, ch, status;
	char **args;

	argc--, argv++;
	if (argc >= 1 && strcmp(argv[0], "--version") == 0) {
		printf("%s %s\n", prog, QH_VERSION);
		return QH_EXIT_OK;
	}
	if (argc >= 1 &&
	    (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
		strcmp(argv[0], "help") == 0)) {
		print_commands(stdout, prog, table, hooks);
		return QH_EXIT_OK;
	}
	cmd = find_cmd(table, argc, argv, &used);
	if (cmd == NULL && default_cmd != NULL && (argc == 0 || argv[0][0] == '-')) {
		dflt[0] = (char *)default_cmd;
		cmd = find_cmd(table, 1, dflt, &used);
		used = 0;
	}
	if (cmd == NULL) {
		if (argc > 0)
			complain(hooks, prog, N_("unknown command '%s'"), argv[0]);
		print_commands(stderr, prog, table, hooks);
		return QH_EXIT_USAGE;
	}

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		qh_out_printf(stderr, "%s: %s\n", prog, tr(hooks, N_("out of memory")));
		return QH_EXIT_FAIL;
	}
	c->prog = prog;
	c->cmd = cmd;
	c->hooks = hooks;

	shortopts[ns++] = ':'; /* report missing values ourselves */
	for (i = 0; i < QH_CLI_MAX_OPTS && cmd->opts[i].name != NULL; i++) {
		longopts[n].name = cmd->opts[i].name;
		longopts[n].has_arg =
		    cmd->opts[i].has_arg ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = 256 + i;
		n++;
		if (cmd->opts[i].short_name) {
			shortopts[ns++] = cmd->opts[i].short_name;
			if (cmd->opts[i].has_arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[ns] = '\0';

	/* getopt wants argv[0] to be the program; hand it the command word. */
	args = argv + used - 1;
	optind = 1;
	opterr = 0;
	while (
	    (ch = getopt_long(argc - used + 1, args, shortopts, longopts, NULL)) != -1) {
		if (ch == 'h') {
			print_help(prog, cmd, hooks);
			free(c);
			return QH_EXIT_OK;
		}
		if (ch == '?' || ch == ':') {
			complain(hooks, prog,
			    ch == ':' ? N_("option '%s' needs a value")
				      : N_("unknown option '%s'"),
			    args[optind - 1]);
			status = qh_cli_usage(c, NULL);
			free(c);
			return status;
		}
		if (ch < 256) {
			for (i = 0; cmd->opts[i].name != NULL; i++)
				if (cmd->opts[i].short_name == ch)
					break;
		} else
			i = ch - 256;
		if (cmd->opts[i].repeat && c->count[i] < QH_CLI_MAX_REPEAT)
			c->rep[i][c->count[i]] = optarg;
		else if (cmd->opts[i].repeat) {
			complain(hooks, prog, N_("too many --%s"), cmd->opts[i].name);
			free(c);
			return QH_EXIT_USAGE;
		}
		c->val[i] = cmd->opts[i].has_arg ? optarg : "1";
		c->count[i]++;
	}
	c->argc = argc - used + 1 - optind;
	c->argv = args + optind;
	if (c->argc < cmd->min_args || (cmd->max_args >= 0 && c->argc > cmd->max_args)) {
		status = qh_cli_usage(c,
		    c->argc < cmd->min_args ? tr(hooks, N_("missing arguments"))
					    : tr(hooks, N_("too many arguments")));
		free(c);
		return status;
	}
	if (hooks == NULL || hooks->prepare == NULL ||
	    (status = hooks->prepare(c)) == QH_EXIT_OK) {
		status =
		    hooks != NULL && hooks->run != NULL ? hooks->run(c) : cmd->exec(c);
		if (hooks != NULL && hooks->finish != NULL)
			status = hooks->finish(c, status);
	}
	free(c);
	return status;
}
