/*
 * The command table both programs are built on, after tmux's cmd_entry:
 * each command is one struct with its name, usage, options and handler, so
 * the table shows the whole command line. Options may stand before or after
 * positional arguments; "--" ends them. Every command takes --help.
 */
#ifndef QH_CLI_H
#define QH_CLI_H

#include <stddef.h>

#define QH_CLI_MAX_OPTS	  16
#define QH_CLI_MAX_REPEAT 64

/* Exit statuses of the command-line contract. */
#define QH_EXIT_OK    0
#define QH_EXIT_FAIL  1
#define QH_EXIT_USAGE 2

struct qh_cli_opt {
	const char *name; /* long name without "--" */
	char short_name;  /* 0, or a one-letter alias such as 'p' */
	int has_arg;	  /* 0: flag, 1: takes a value */
	int repeat;	  /* value may be given many times */
};

/*
 * What a command needs set up around it (struct qh_cli_cmd's needs); the
 * program's hooks act on them.
 */
#define QH_CLI_DB_READ	0x1 /* the database, read-only, in one read transaction */
#define QH_CLI_DB_WRITE 0x2 /* the database for writing, migrated */
#define QH_CLI_TECH	0x4 /* a technician connection: the bundle and its TLS */
#define QH_CLI_REMOTE	0x8 /* with DB_READ: may run over TLS with a bundle instead */
/*
 * The ticket desk (qh/desk.h): the store on this host or the console over
 * TLS, whichever --state or --tech, the environment or the default places
 * name; with QH_CLI_DB_READ or QH_CLI_DB_WRITE for the store's way.
 */
#define QH_CLI_DESK 0x10

/* Option table entries: --name VALUE, --name, and a repeatable --name VALUE. */
#define QH_OPT(name)                                                                     \
	{                                                                                \
		name, 0, 1, 0                                                            \
	}
#define QH_FLAG(name)                                                                    \
	{                                                                                \
		name, 0, 0, 0                                                            \
	}
#define QH_OPTS(name)                                                                    \
	{                                                                                \
		name, 0, 1, 1                                                            \
	}

struct qh_cli;

struct qh_cli_cmd {
	const char *name;	/* one or two words: "customer add" */
	const char *usage;	/* arguments after the name */
	const char *summary;	/* one line for the command list */
	int min_args, max_args; /* positional bounds; max -1 = unlimited */
	struct qh_cli_opt opts[QH_CLI_MAX_OPTS];
	unsigned needs; /* what the program's hooks set up for it: their flags */
	int (*exec)(struct qh_cli *c);
};

/*
 * What a program does around every command, from the command's needs: the
 * console opens and closes the database here, so no command repeats it.
 */
struct qh_cli_hooks {
	/* Before exec: returns QH_EXIT_OK, or the status to exit with at once. */
	int (*prepare)(struct qh_cli *c);
	/* After exec (and after a prepare that succeeded): the final status. */
	int (*finish)(struct qh_cli *c, int status);
	/* Runs the command instead of cmd->exec when set (where it runs: locally or not).
	 */
	int (*run)(struct qh_cli *c);
	/*
	 * The program's language for our own texts (help, usage errors) and
	 * the commands' summaries, which are marked with N_(); NULL: English.
	 */
	const char *(*text)(const char *msgid);
};

/* What a handler sees: the parsed command line. */
struct qh_cli {
	const char *prog;
	const struct qh_cli_cmd *cmd;
	int argc; /* positional arguments */
	char **argv;
	/* Parsed options, by index into cmd->opts. */
	const char *val[QH_CLI_MAX_OPTS];
	int count[QH_CLI_MAX_OPTS];
	const char *rep[QH_CLI_MAX_OPTS][QH_CLI_MAX_REPEAT];
	void *ctx;			  /* the program's, set by its prepare hook */
	const struct qh_cli_hooks *hooks; /* as given to qh_cli_main, or NULL */
};

/*
 * Finds the command in table (the entries of the command files, ended by
 * NULL) that argv names, parses its options and runs it between the hooks
 * (NULL: none). Returns the exit status.
 */
int qh_cli_main(const char *prog, const struct qh_cli_cmd *const *table,
    const char *default_cmd, const struct qh_cli_hooks *hooks, int argc, char **argv);

/* The value of option name, or NULL when absent. */
const char *qh_cli_opt(const struct qh_cli *c, const char *name);
/* 1 if flag or option name was given. */
int qh_cli_flag(const struct qh_cli *c, const char *name);
/* All values of a repeatable option; returns their count. */
int qh_cli_opts(const struct qh_cli *c, const char *name, const char *const **vals);

/* Prints "prog: usage: prog name usage" on stderr and returns QH_EXIT_USAGE. */
int qh_cli_usage(const struct qh_cli *c, const char *why);

/* Prints "prog: text" on stderr and returns QH_EXIT_FAIL. */
int qh_cli_fail(const struct qh_cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a decimal integer in [min, max]; returns 0 or QH_ERR_ARG. */
int qh_parse_int(const char *s, long long min, long long max, long long *out);

#endif
