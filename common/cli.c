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

#ifndef QH_VERSION
#define QH_VERSION "unknown"
#endif
#include "qh/err.h"

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
print_help(const char *prog, const struct qh_cli_cmd *cmd)
{
	int i;

	printf("usage: %s %s%s%s\n", prog, cmd->name, *cmd->usage ? " " : "", cmd->usage);
	if (cmd->summary != NULL)
		printf("\n%s\n", cmd->summary);
	printf("\noptions:\n");
	for (i = 0; i < QH_CLI_MAX_OPTS && cmd->opts[i].name != NULL; i++) {
		const struct qh_cli_opt *o = &cmd->opts[i];

		if (o->short_name)
			printf("  -%c, --%s%s\n", o->short_name, o->name,
			    o->has_arg ? " VALUE" : "");
		else
			printf("  --%s%s%s\n", o->name, o->has_arg ? " VALUE" : "",
			    o->repeat ? " (repeatable)" : "");
	}
	printf("  --help\n");
}

int
qh_cli_usage(const struct qh_cli *c, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", c->prog, why);
	fprintf(stderr, "usage: %s %s %s\n", c->prog, c->cmd->name, c->cmd->usage);
	return QH_EXIT_USAGE;
}

int
qh_cli_fail(const struct qh_cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
print_commands(FILE *f, const char *prog, const struct qh_cli_cmd *const *table)
{
	const struct qh_cli_cmd *const *cmd;

	fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prog);
	for (cmd = table; *cmd != NULL; cmd++)
		fprintf(f, "  %-16s %s\n", (*cmd)->name,
		    (*cmd)->summary ? (*cmd)->summary : "");
	fprintf(f, "\n'%s COMMAND --help' describes one command.\n", prog);
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
		print_commands(stdout, prog, table);
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
			fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[0]);
		print_commands(stderr, prog, table);
		return QH_EXIT_USAGE;
	}

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return QH_EXIT_FAIL;
	}
	c->prog = prog;
	c->cmd = cmd;

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
			print_help(prog, cmd);
			free(c);
			return QH_EXIT_OK;
		}
		if (ch == '?' || ch == ':') {
			if (ch == ':')
				fprintf(stderr, "%s: option '%s' needs a value\n", prog,
				    args[optind - 1]);
			else
				fprintf(stderr, "%s: unknown option '%s'\n", prog,
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
			fprintf(stderr, "%s: too many --%s\n", prog, cmd->opts[i].name);
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
		    c->argc < cmd->min_args ? "missing arguments" : "too many arguments");
		free(c);
		return status;
	}
	if (hooks == NULL || hooks->prepare == NULL ||
	    (status = hooks->prepare(c)) == QH_EXIT_OK) {
		status = cmd->exec(c);
		if (hooks != NULL && hooks->finish != NULL)
			status = hooks->finish(c, status);
	}
	free(c);
	return status;
}
