/*
 * qh-console statement [ID] --month YYYY-MM [--format pdf|html] --out FILE
 * [--all]: the customer's monthly statement, rendered where the command
 * runs (console/render/) from its data: read from the store on the
 * console host, or asked of the console over TLS with an accounting
 * bundle (dispatch.c decides). --all writes one file per customer into
 * the directory --out names (ID-YYYY-MM.pdf). --data prints the data, one
 * JSON object per line, instead: what the console's daemon answers with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "admin/admin.h"
#include "console.h"
#include "render/render.h"
#include "store/store.h"
#include "tech/tech.h"

#define STATEMENT_DATA_MAX (4 * 1024 * 1024)   /* one customer's data */
#define STATEMENTS_MAX	   (256 * 1024 * 1024) /* --all over TLS */
#define CUSTOMERS_MAX	   100000

/* The ids of every customer, for --all. */
struct ids {
	char (*id)[QH_ID_MAX + 1];
	int n, max;
};

static int
collect_id(void *arg, const struct customer_row *cu)
{
	struct ids *l = arg;

	if (l->n == l->max)
		return QH_ERR_LIMIT;
	snprintf(l->id[l->n++], QH_ID_MAX + 1, "%s", cu->id);
	return 0;
}

/* Checks the command line; the format into *format. */
static int
statement_args(struct qh_cli *c, const char **format)
{
	const char *month = qh_cli_opt(c, "month");
	int all = qh_cli_flag(c, "all");
	int y, m, n = 0;

	if (all == (c->argc == 1))
		return qh_cli_usage(c, "give a customer ID or --all, not both");
	if (c->argc == 1 && !qh_id_valid(c->argv[0]))
		return qh_cli_usage(c, "ID must be 1 to 64 of A-Z a-z 0-9 . _ -");
	if (month == NULL || strlen(month) != 7 ||
	    sscanf(month, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || month[4] != '-' ||
	    m < 1 || m > 12)
		return qh_cli_usage(c, "--month YYYY-MM is required");
	*format = qh_cli_opt(c, "format") != NULL ? qh_cli_opt(c, "format") : "pdf";
	if (strcmp(*format, "pdf") != 0 && strcmp(*format, "html") != 0)
		return qh_cli_usage(c, "--format is pdf or html");
	if (!qh_cli_flag(c, "data") && qh_cli_opt(c, "out") == NULL)
		return qh_cli_usage(c,
		    "--out FILE is required (with --all: a directory)");
	return QH_EXIT_OK;
}

/* Renders one statement's data (one line) to its file. */
static int
render_one(struct qh_cli *c, const char *json, size_t len, const char *format)
{
	const char *out = qh_cli_opt(c, "out"), *id, *p;
	char path[4096], why[512];
	int r;

	if (qh_cli_flag(c, "all")) {
		/* The file is named by the data's customer id, checked as an id. */
		p = strstr(json, "\"customer\":{\"id\":\"");
		if (p == NULL)
			return qh_cli_fail(c, "the statement's data names no customer");
		id = p + strlen("\"customer\":{\"id\":\"");
		if ((p = strchr(id, '"')) == NULL || p - id > QH_ID_MAX)
			return qh_cli_fail(c, "the statement's data names no customer");
		snprintf(path, sizeof(path), "%s/%.*s-%s.%s", out, (int)(p - id), id,
		    qh_cli_opt(c, "month"), format);
		{
			char idc[QH_ID_MAX + 1];

			snprintf(idc, sizeof(idc), "%.*s", (int)(p - id), id);
			if (!qh_id_valid(idc))
				return qh_cli_fail(c,
				    "the statement's data names a bad customer");
		}
	} else
		snprintf(path, sizeof(path), "%s", out);
	if (access(path, F_OK) == 0)
		return qh_cli_fail(c, "%s exists; refusing to overwrite it", path);
	if ((r = render_statement(json, len, format, path, why, sizeof(why))) != 0)
		return qh_cli_fail(c, "%s", why);
	printf("%s\n", path);
	return QH_EXIT_OK;
}

/* Renders every line of data (one statement each). */
static int
render_lines(struct qh_cli *c, const char *data, size_t len, const char *format)
{
	const char *p = data, *end = data + len, *nl;
	int status = QH_EXIT_OK, s;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p &&
		    (s = render_one(c, p, (size_t)(nl - p), format)) != QH_EXIT_OK)
			status = s;
		p = nl + 1;
	}
	return status;
}

/* On the console host: the data from the store. */
static int
cmd_statement(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *format, *month = qh_cli_opt(c, "month");
	struct ids l = { NULL, 0, 0 };
	struct qh_buf out;
	int status, i, r;

	if ((status = statement_args(c, &format)) != QH_EXIT_OK)
		return status;
	if (qh_cli_flag(c, "all")) {
		l.max = CUSTOMERS_MAX;
		if ((l.id = calloc((size_t)l.max, sizeof(*l.id))) == NULL)
			return qh_cli_fail(c, "out of memory");
		if ((r = db_customer_list(env->db, collect_id, &l)) != 0) {
			free(l.id);
			return qh_cli_fail(c, "database: %s", qh_strerror(r));
		}
	}
	for (i = 0; status == QH_EXIT_OK && i < (l.id != NULL ? l.n : 1); i++) {
		const char *id = l.id != NULL ? l.id[i] : c->argv[0];

		qh_buf_init(&out, STATEMENT_DATA_MAX);
		r = admin_statement_json(env, id, month, &out);
		if (r == QH_ERR_NOT_FOUND)
			status = qh_cli_fail(c, "no customer %s", id);
		else if (r == QH_ERR_ARG)
			status = qh_cli_usage(c, "--month YYYY-MM is not a month here");
		else if (r != 0)
			status = qh_cli_fail(c, "%s: %s", id, qh_strerror(r));
		else if (qh_cli_flag(c, "data")) {
			(void)qh_buf_put_u8(&out, '\n');
			if (console_flush(&out) != 0 || fflush(stdout) != 0)
				status = qh_cli_fail(c, "stdout: %s", strerror(errno));
		} else
			status = render_one(c, (const char *)qh_buf_ptr(&out),
			    qh_buf_len(&out), format);
		qh_buf_release(&out);
	}
	free(l.id);
	return status;
}

int
console_statement_remote(struct qh_cli *c)
{
	const char *format;
	char *words[8];
	struct qh_buf data;
	int n = 0, status;

	if ((status = statement_args(c, &format)) != QH_EXIT_OK)
		return status;
	if (qh_cli_flag(c, "data"))
		return qh_cli_usage(c,
		    "--data is what the console answers; not over TLS");
	words[n++] = "statement";
	if (c->argc == 1)
		words[n++] = c->argv[0];
	words[n++] = "--month";
	words[n++] = (char *)qh_cli_opt(c, "month");
	if (qh_cli_flag(c, "all"))
		words[n++] = "--all";
	qh_buf_init(&data, STATEMENTS_MAX);
	if ((status = tech_account_capture(c, n, words, &data)) == QH_EXIT_OK)
		status = render_lines(c, (const char *)qh_buf_ptr(&data),
		    qh_buf_len(&data), format);
	qh_buf_release(&data);
	return status;
}

const struct qh_cli_cmd cmd_statement_entry = {
	.name = "statement",
	.usage = "ID|--all --month YYYY-MM [--format pdf|html] --out FILE|DIR "
		 "[--state DIR | --tech FILE]",
	.summary = "a customer's monthly statement as PDF or HTML, made here",
	.min_args = 0,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("month"), QH_OPT("format"),
	    QH_OPT("out"), QH_FLAG("all"), QH_FLAG("data") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_statement,
};
