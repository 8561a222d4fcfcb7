/*
 * The words of a report request (account_words.h). The daemon adds
 * --state itself; a report's own words are rebuilt from what passed, so
 * getopt's abbreviations and "--name=value" never reach the child.
 */
#include <stddef.h>
#include <string.h>

#include "account_words.h"

/* What a report takes: its options, which of them take a value, how many positionals. */
struct account_cmd {
	const char *name;
	int min_pos, max_pos;
	const char *flags[6];  /* options without a value */
	const char *values[6]; /* options with one value */
	int technician;	       /* 1: a technician may ask (balance only) */
	const char *append;    /* words the daemon adds, or NULL */
};

static const struct account_cmd account_cmds[] = {
	{ "balance", 1, 1, { "json" }, { NULL }, 1, NULL },
	{ "balances", 0, 0, { "json" }, { NULL }, 0, NULL },
	{ "ledger", 0, 0, { "excel" }, { "customer", "from", "to", "format" }, 0, NULL },
	{ "revenue", 0, 0, { "json" }, { "month" }, 0, NULL },
	{ "verify", 0, 0, { "head" }, { "since-head" }, 0, NULL },
	{ "sessions", 0, 0, { "json" }, { "customer" }, 0, NULL },
	{ "tickets", 0, 0, { "open", "json" }, { "customer" }, 0, NULL },
	/* The statement's data; the client renders it (never cairo here). */
	{ "statement", 0, 1, { "all" }, { "month" }, 0, "--data" },
	{ NULL, 0, 0, { NULL }, { NULL }, 0, NULL },
};

static int
in_list(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

const char *
account_check(char *const *words, int n, struct account_plan *plan)
{
	const struct account_cmd *k;
	int i, pos = 0;

	memset(plan, 0, sizeof(*plan));
	if (n < 1)
		return "a report request names its report";
	for (k = account_cmds; k->name != NULL; k++)
		if (strcmp(k->name, words[0]) == 0)
			break;
	if (k->name == NULL)
		return "not a report the console answers over TLS";
	if (n - 1 > ACCOUNT_WORDS_MAX)
		return "too many arguments";
	plan->name = k->name;
	plan->technician = k->technician;
	for (i = 1; i < n; i++) {
		const char *w = words[i];

		if (w[0] != '-') {
			if (++pos > k->max_pos)
				return "too many arguments";
			plan->out[plan->nout++] = w;
			continue;
		}
		if (strncmp(w, "--", 2) != 0)
			return "an option this report does not take over TLS";
		if (in_list(k->flags, sizeof(k->flags) / sizeof(k->flags[0]), w + 2)) {
			plan->out[plan->nout++] = w;
			continue;
		}
		if (!in_list(k->values, sizeof(k->values) / sizeof(k->values[0]), w + 2))
			return "an option this report does not take over TLS";
		if (i + 1 >= n || words[i + 1][0] == '-' || words[i + 1][0] == '\0')
			return "an option without its value";
		plan->out[plan->nout++] = w;
		plan->out[plan->nout++] = words[++i];
	}
	if (pos < k->min_pos)
		return "missing arguments";
	if (k->append != NULL)
		plan->out[plan->nout++] = k->append;
	return NULL;
}
