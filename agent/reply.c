/*
 * qh-agent ticket reply N (--text TEXT | --file F) [--attach FILE]...:
 * the customer answers a ticket, with files if need be, over this PC's own
 * short connection (oneshot.h). A reply to a question of the support team
 * puts the ticket back in their hands with the time it had left; a reply
 * to an answer opens it again. Everything is checked before a byte is
 * sent, and the reply travels like a ticket (docs/protocol.md, "Tickets";
 * qh/attach.h): the text and the attachments' descriptions, then the
 * files, each checked against its SHA-256 on both sides. Its idempotency
 * key makes running the same command again after a cut send it once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/attach.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/log.h"
#include "qh/text.h"
#include "qh/ticket.h"
#include "agent.h"
#include "oneshot.h"
#include "platform.h"

/* The reply on its way. */
struct reply {
	struct qh_cli *c;
	struct qh_ticket t;
	int fds[QH_TICKET_FILES_MAX];
	const char *paths[QH_TICKET_FILES_MAX];
	uint64_t sizes[QH_TICKET_FILES_MAX];
	int n;
	struct qh_attach_send send;
	int answered;
	int existed;
	char status[16];
};

/* The text: --text, or the file --file names (UTF-8, at most 32 KiB). */
static int
reply_text(struct qh_cli *c, struct reply *x)
{
	const char *text = qh_cli_opt(c, "text"), *file = qh_cli_opt(c, "file");
	char buf[QH_TICKET_REPLY_MAX + 1];
	size_t len;

	if (qh_ticket_reply_text(text, file, buf, sizeof(buf), &len) != 0)
		return qh_cli_fail(c, "%s: %s", file, strerror(errno));
	if (len == 0)
		return qh_cli_fail(c, "%s", _("the reply has no text"));
	if (len > QH_TICKET_REPLY_MAX)
		return qh_cli_fail(c, _("the text is longer than %d KiB"),
		    QH_TICKET_REPLY_MAX / 1024);
	if (!qh_utf8_valid((const uint8_t *)buf, len))
		return qh_cli_fail(c, "%s", _("the text is not valid UTF-8"));
	if (qh_ticket_add_text(&x->t, "text", buf, len) != 0)
		return qh_cli_fail(c, "%s", x->t.why);
	return 0;
}

/* Opens, checks and hashes every --attach, after the reply's header. */
static int
reply_files(struct qh_cli *c, struct reply *x, int64_t id)
{
	const char *const *paths = NULL;
	int n = qh_cli_opts(c, "attach", &paths), i, j;
	uint64_t total = 0;
	char why[512];

	if (n > QH_TICKET_FILES_MAX)
		return qh_cli_fail(c, _("at most %d attachments per reply"),
		    QH_TICKET_FILES_MAX);
	for (i = 0; i < n; i++) {
		if (qh_attach_open(paths[i], &x->t.lim, &x->fds[i], &x->sizes[i], why,
			sizeof(why)) != 0)
			return qh_cli_fail(c, "%s", why);
		x->paths[i] = paths[i];
		x->n = i + 1;
		total += x->sizes[i];
		for (j = 0; j < i; j++)
			if (strcmp(plat_base_name(paths[j]), plat_base_name(paths[i])) ==
			    0)
				return qh_cli_fail(c,
				    _("two attachments are named %s; rename one"),
				    plat_base_name(paths[i]));
	}
	if (qh_ticket_set_reply(&x->t, id, total) != 0)
		return qh_cli_fail(c, "%s", x->t.why);
	for (i = 0; i < n; i++)
		if (qh_attach_add(&x->t, x->fds[i], paths[i], plat_base_name(paths[i]),
			x->sizes[i], why, sizeof(why)) != 0)
			return qh_cli_fail(c, "%s", why);
	return 0;
}

/* The connection. */

static void
reply_open(struct oneshot *os)
{
	struct reply *x = oneshot_arg(os);

	if (qh_attach_send_meta(oneshot_chan(os), &x->t) != 0)
		oneshot_finish(os, QH_EXIT_FAIL, "%s",
		    _("the connection to the console broke; the reply was not sent"));
}

static void
reply_pump(struct oneshot *os)
{
	struct reply *x = oneshot_arg(os);

	if (oneshot_chan(os) == NULL || x->answered || !x->send.started)
		return;
	if (qh_attach_send_pump(&x->send, oneshot_chan(os)) < 0)
		oneshot_finish(os, QH_EXIT_FAIL, "%s", x->send.why);
}

/* The status the result document names. */
static void
result_status(struct reply *x, const uint8_t *p, size_t len)
{
	struct qh_json_doc *doc = NULL;
	const char *s;

	if (qh_json_parse(p, len, &doc) == 0 &&
	    (s = qh_json_get_str(qh_json_root(doc), "status")) != NULL)
		snprintf(x->status, sizeof(x->status), "%s", s);
	qh_json_free(doc);
}

static void
reply_msg(struct oneshot *os, const struct qh_msg *m)
{
	struct reply *x = oneshot_arg(os);
	const uint8_t *p;
	uint32_t flags = 0;
	size_t len;

	switch (m->type) {
	case QH_MSG_TICKET_GO:
		if (x->send.started)
			break;
		if (qh_attach_send_pump(&x->send, oneshot_chan(os)) < 0)
			oneshot_finish(os, QH_EXIT_FAIL, "%s", x->send.why);
		return;
	case QH_MSG_TICKET_OK:
		x->answered = 1;
		(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
		x->existed = (flags & QH_TICKET_OK_EXISTED) != 0;
		if (qh_msg_get(m, QH_K_JSON, &p, &len) == 0)
			result_status(x, p, len);
		return;
	default:
		break;
	}
	oneshot_finish(os, QH_EXIT_FAIL, _("the console sent an unexpected %s message"),
	    qh_msg_name(m->type));
}

static void
reply_writable(struct oneshot *os)
{
	reply_pump(os);
}

static int
reply_end(struct oneshot *os)
{
	struct reply *x = oneshot_arg(os);

	if (!x->answered) {
		qh_say("%s",
		    _("the upload broke off before the console answered; the reply "
		      "may not be sent: run the same command again (it sends the "
		      "reply once)"));
		return QH_EXIT_FAIL;
	}
	if (x->existed)
		ui_line(_("Your reply to ticket %lld was sent before."),
		    (long long)x->t.reply_to);
	else
		ui_line(_("Your reply to ticket %lld was sent; the support team will get "
			  "back to you."),
		    (long long)x->t.reply_to);
	return QH_EXIT_OK;
}

/* The console's refusals in the customer's words, where we know them. */
static void
reply_refused(struct oneshot *os, const char *code, const char *text QH_UNUSED,
    char *line, size_t len)
{
	struct reply *x = oneshot_arg(os);

	if (strcmp(code, "not-found") == 0)
		snprintf(line, len, _("you have no ticket %lld"),
		    (long long)x->t.reply_to);
	else if (strcmp(code, "closed") == 0)
		snprintf(line, len,
		    _("ticket %lld is closed; please file a new ticket with qh-agent "
		      "ticket"),
		    (long long)x->t.reply_to);
}

static const struct oneshot_ops reply_ops = {
	.on_open = reply_open,
	.on_msg = reply_msg,
	.on_writable = reply_writable,
	.on_end = reply_end,
	.refused = reply_refused,
};

static int
cmd_ticket_reply(struct qh_cli *c)
{
	struct oneshot *os = NULL;
	struct qh_buf req;
	struct reply *x;
	long long id;
	int i, status;

	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, "bad --log-level");
	if (qh_parse_int(c->argv[0], 1, INT64_MAX, &id) != 0)
		return qh_cli_usage(c, _("N is a ticket number"));
	if ((qh_cli_opt(c, "text") == NULL) == (qh_cli_opt(c, "file") == NULL))
		return qh_cli_usage(c, _("give the reply with --text TEXT or --file F"));
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return qh_cli_fail(c, "%s", _("out of memory"));
	for (i = 0; i < QH_TICKET_FILES_MAX; i++)
		x->fds[i] = -1;
	x->c = c;
	qh_ticket_init(&x->t, NULL);
	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if ((status = reply_files(c, x, (int64_t)id)) != 0 ||
	    (status = reply_text(c, x)) != 0)
		goto out;
	if (qh_ticket_finish(&x->t) != 0) {
		status = qh_cli_fail(c, "%s", x->t.why);
		goto out;
	}
	if ((status = oneshot_new(c, &reply_ops, x, &os)) != 0)
		goto out;
	/* The key: this PC, the ticket, the text and the files. */
	if (qh_ticket_make_key(&x->t, oneshot_identity(os)->agent_id) != 0 ||
	    qh_ticket_encode_request(&x->t, &req) != 0 ||
	    qh_attach_send_init(&x->send, &x->t, x->fds, x->paths) != 0) {
		status = qh_cli_fail(c, "%s", _("out of memory"));
		goto out;
	}
	status = oneshot_run(os, &req);
out:
	oneshot_free(os);
	for (i = 0; i < x->n; i++)
		close(x->fds[i]);
	qh_attach_send_free(&x->send);
	qh_ticket_free(&x->t);
	qh_buf_release(&req);
	free(x);
	return status;
}

const struct qh_cli_cmd cmd_ticket_reply_entry = {
	.name = "ticket reply",
	.usage =
	    "N (--text TEXT | --file F) [--attach FILE]... [--config DIR] [--lang de|en]",
	.summary = N_("answer a ticket, with files if need be"),
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("config"), QH_OPT("text"), QH_OPT("file"), QH_OPTS("attach"),
	    QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_ticket_reply,
};
