/*
 * qh-console ticket reply N (--text TEXT | --file F) [--attach FILE]...:
 * the vendor answers a ticket, with files if need be. The ticket is
 * answered (nothing is due until the customer writes again) and the
 * customer reads the reply and fetches the files with qh-agent. Everything
 * is checked before anything is sent: the text (UTF-8, at most 32 KiB) and
 * each attachment (a readable regular file, hashed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/attach.h"
#include "qh/desk.h"
#include "qh/ticket.h"
#include "desk.h"
#include "desk_int.h"

/* The reply and its open attachments. */
struct reply {
	struct qh_ticket t;
	int fds[QH_TICKET_FILES_MAX];
	const char *paths[QH_TICKET_FILES_MAX];
	uint64_t sizes[QH_TICKET_FILES_MAX];
	int n;
};

/* The text from --text, or from --file (read whole, at most the bound). */
static int
reply_text(struct qh_cli *c, struct reply *x)
{
	const char *text = qh_cli_opt(c, "text"), *file = qh_cli_opt(c, "file");
	char buf[QH_TICKET_REPLY_MAX + 1];
	size_t len;

	if ((text == NULL) == (file == NULL))
		return qh_cli_usage(c, "give the reply with --text TEXT or --file F");
	if (qh_ticket_reply_text(text, file, buf, sizeof(buf), &len) != 0)
		return qh_cli_fail(c, "%s: %s", file, strerror(errno));
	if (len == 0)
		return qh_cli_fail(c, "the reply's text is empty");
	if (len > QH_TICKET_REPLY_MAX)
		return qh_cli_fail(c, "the reply's text is longer than %d KiB",
		    QH_TICKET_REPLY_MAX / 1024);
	if (!qh_utf8_valid((const uint8_t *)buf, len))
		return qh_cli_fail(c, "the reply's text is not valid UTF-8");
	if (qh_ticket_add_text(&x->t, "text", buf, len) != 0)
		return qh_cli_fail(c, "%s", x->t.why);
	return 0;
}

/* The file name an attachment is sent under: the path's last component. */
static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Opens, checks and hashes every --attach; sets the reply's header. */
static int
reply_files(struct qh_cli *c, struct reply *x, int64_t id)
{
	const char *const *paths = NULL;
	int n = qh_cli_opts(c, "attach", &paths), i;
	uint64_t total = 0;
	char why[512];

	if (n > QH_TICKET_FILES_MAX)
		return qh_cli_fail(c, "at most %d attachments per reply",
		    QH_TICKET_FILES_MAX);
	for (i = 0; i < n; i++) {
		if (qh_attach_open(paths[i], &x->t.lim, &x->fds[i], &x->sizes[i], why,
			sizeof(why)) != 0)
			return qh_cli_fail(c, "%s", why);
		x->paths[i] = paths[i];
		x->n = i + 1;
		total += x->sizes[i];
	}
	if (qh_ticket_set_reply(&x->t, id, total) != 0)
		return qh_cli_fail(c, "%s", x->t.why);
	for (i = 0; i < n; i++)
		if (qh_attach_add(&x->t, x->fds[i], paths[i], base_name(paths[i]),
			x->sizes[i], why, sizeof(why)) != 0)
			return qh_cli_fail(c, "%s", why);
	return 0;
}

static int
cmd_ticket_reply(struct qh_cli *c)
{
	struct qh_desk *d = deskcmd_of(c);
	struct qh_buf answer;
	struct reply *x;
	int64_t id = 0;
	int i, status;

	if ((status = deskcmd_ticket_number(c, &id)) != 0)
		return status;
	if ((qh_cli_opt(c, "text") == NULL) == (qh_cli_opt(c, "file") == NULL))
		return qh_cli_usage(c, "give the reply with --text TEXT or --file F");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return qh_cli_fail(c, "out of memory");
	for (i = 0; i < QH_TICKET_FILES_MAX; i++)
		x->fds[i] = -1;
	qh_ticket_init(&x->t, NULL);
	qh_buf_init(&answer, DESK_ANSWER_MAX);
	if ((status = reply_files(c, x, id)) != 0 || (status = reply_text(c, x)) != 0)
		goto out;
	if (qh_ticket_finish(&x->t) != 0) {
		status = qh_cli_fail(c, "%s", x->t.why);
		goto out;
	}
	if (d->reply(d, &x->t, x->fds, x->paths, &answer) != 0)
		status = deskcmd_failed(c, d);
	else
		status = deskcmd_print(c, QH_DESK_REPLY, &answer);
out:
	for (i = 0; i < x->n; i++)
		close(x->fds[i]);
	qh_ticket_free(&x->t);
	qh_buf_release(&answer);
	free(x);
	return status;
}

const struct qh_cli_cmd cmd_ticket_reply_entry = {
	.name = "ticket reply",
	.usage = "N (--text TEXT | --file F) [--attach FILE]... [--json] "
		 "[--state DIR | --tech FILE]",
	.summary = "answer a ticket, with files if need be; the customer reads it "
		   "with qh-agent",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("text"), QH_OPT("file"),
	    QH_OPTS("attach"), QH_FLAG("json") },
	.needs = QH_CLI_DESK | QH_CLI_DB_WRITE,
	.exec = cmd_ticket_reply,
};
