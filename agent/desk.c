/*
 * qh-agent tickets, ticket show, ticket get and balance: the customer's
 * own tickets, one ticket's conversation with its attachments and status,
 * an attachment fetched into a new file (checked against its SHA-256),
 * and the account: balance, installation credits and the last ledger
 * entries. Each asks the console on a short connection of this PC's own
 * (oneshot.h) and needs no technician; the console answers with a JSON
 * document (docs/protocol.md, "The ticket desk"), which is shown here in
 * the customer's language and this PC's time zone, or printed as it came
 * with --json once it parsed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/desk.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/fetch.h"
#include "qh/jsonread.h"
#include "qh/log.h"
#include "qh/text.h"
#include "qh/units.h"
#include "agent.h"
#include "oneshot.h"

#define DOC_MAX	 QH_JSON_MAX_INPUT /* the largest document we read */
#define TEXT_MAX (8 * 1024 * 1024) /* what one command prints */

/* One request: what it asks and what came back. */
struct ask {
	struct qh_cli *c;
	struct qh_desk_req req;
	struct qh_buf doc; /* the document */
	const char *out;   /* get: where to */
	struct qh_fetch fetch;
	int fetching;
	uint64_t size;
	char sha256[65];
};

/* Output: our texts as they are, the console's and the peers' through the filter. */

static void
out_f(struct qh_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_f(struct qh_buf *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)qh_buf_put(o, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* A text from the console or a technician: on one line, or as lines after indent. */
static void
out_safe(struct qh_buf *o, const char *s, const char *indent)
{
	const char *nl;

	if (s == NULL)
		return;
	if (indent == NULL) {
		(void)qh_display_put(o, s, strlen(s), 0);
		return;
	}
	for (;;) {
		(void)qh_buf_put(o, indent, strlen(indent));
		nl = strchr(s, '\n');
		(void)qh_display_put(o, s, nl != NULL ? (size_t)(nl - s) : strlen(s),
		    QH_DISPLAY_LINES);
		(void)qh_buf_put_u8(o, '\n');
		if (nl == NULL || nl[1] == '\0')
			break;
		s = nl + 1;
	}
}

/* Writes o to stdout: all of it, or nothing and a line. */
static int
out_print(struct qh_cli *c, struct qh_buf *o)
{
	size_t n = qh_buf_len(o);

	if (qh_buf_error(o) != 0)
		return qh_cli_fail(c, "%s", _("the answer is too large to show"));
	if (n > 0 && fwrite(qh_buf_ptr(o), 1, n, stdout) != n)
		return QH_EXIT_FAIL;
	return fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
}

/* Members of the documents. */

static const char *
str(const struct qh_json_node *o, const char *key)
{
	return qh_json_get_str(o, key);
}

static int64_t
num(const struct qh_json_node *o, const char *key)
{
	int64_t v;

	return qh_json_get_int(o, key, &v) == 0 ? v : 0;
}

/* A stored UTC time in this PC's time zone: "2026-11-30 18:00 CET"; "-" for none. */
static const char *
when(const char *utc, char *out, size_t len)
{
	struct tm tm;
	time_t tt;
	int64_t t;

	if (utc == NULL || qh_clock_parse_utc(utc, &t) != 0)
		snprintf(out, len, "-");
	else if (tt = (time_t)t,
	    localtime_r(&tt, &tm) == NULL ||
		strftime(out, len, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(out, len, "%s", utc);
	return out;
}

/* A ticket's status as the customer reads it. */
static const char *
status_text(const char *status)
{
	if (status == NULL)
		return "?";
	if (strcmp(status, "open") == 0)
		return _("open: the support team is on it");
	if (strcmp(status, "waiting") == 0)
		return _("waiting for your answer");
	if (strcmp(status, "answered") == 0)
		return _("answered");
	if (strcmp(status, "closed") == 0)
		return _("closed");
	return "?";
}

/* The list. */

static int
show_list(struct qh_buf *o, const struct qh_json_node *root)
{
	const struct qh_json_node *t;
	char t1[48];

	if (root->type != QH_JSON_ARRAY)
		return QH_ERR_FORMAT;
	if (root->child == NULL) {
		out_f(o, "%s\n", _("You have no tickets."));
		return 0;
	}
	for (t = root->child; t != NULL; t = t->next) {
		out_f(o, _("Ticket %lld: "), (long long)num(t, "id"));
		out_safe(o, str(t, "subject"), NULL);
		out_f(o, "\n    %s", status_text(str(t, "status")));
		out_f(o, _("; last change %s"),
		    when(str(t, "updated_at"), t1, sizeof(t1)));
		out_f(o, "\n");
	}
	return 0;
}

/* One ticket. */

static void
show_messages(struct qh_buf *o, const struct qh_json_node *t)
{
	const struct qh_json_node *msgs = qh_json_get(t, "messages"), *m, *a;
	const char *side, *name;
	char t1[48];

	if (msgs == NULL || msgs->child == NULL)
		return;
	out_f(o, "\n%s\n", _("Conversation:"));
	for (m = msgs->child; m != NULL; m = m->next) {
		side = str(m, "side");
		name = str(m, "author_name");
		out_f(o, "  #%lld  %s  ", (long long)num(m, "seq"),
		    when(str(m, "created_at"), t1, sizeof(t1)));
		if (side != NULL && strcmp(side, "staff") == 0) {
			out_f(o, "%s", _("Support"));
			if (name != NULL) {
				out_f(o, " (");
				out_safe(o, name, NULL);
				out_f(o, ")");
			}
		} else {
			out_f(o, "%s", _("You"));
			if (name != NULL) {
				out_f(o, " (");
				out_safe(o, name, NULL);
				out_f(o, ")");
			}
		}
		out_f(o, "%s\n",
		    str(m, "kind") != NULL && strcmp(str(m, "kind"), "need") == 0
			? _(", asks for more information:")
			: ":");
		out_safe(o, str(m, "text"), "    ");
		a = qh_json_get(m, "attachments");
		for (a = a != NULL ? a->child : NULL; a != NULL; a = a->next) {
			out_f(o, "    %s ", _("Attachment:"));
			out_safe(o, a->str, NULL);
			out_f(o, "\n");
		}
	}
}

static void
show_files(struct qh_buf *o, const struct qh_json_node *t)
{
	const struct qh_json_node *l = qh_json_get(t, "attachments"), *a;

	if (l == NULL || l->child == NULL)
		return;
	out_f(o, "\n%s\n", _("Attachments:"));
	for (a = l->child; a != NULL; a = a->next) {
		out_f(o, "  ");
		out_safe(o, str(a, "name"), NULL);
		out_f(o, "  ");
		out_f(o, _("%lld bytes"), (long long)num(a, "size"));
		if (num(a, "message") > 0)
			out_f(o, _("  (with #%lld)"), (long long)num(a, "message"));
		out_f(o, "\n");
	}
	out_f(o, _("Save one with: qh-agent ticket get %lld NAME FILE\n"),
	    (long long)num(t, "id"));
}

static void
show_slots(struct qh_buf *o, const struct qh_json_node *t)
{
	const struct qh_json_node *l = qh_json_get(t, "proposals"), *p, *c;

	if (l == NULL || l->child == NULL)
		return;
	out_f(o, "\n%s\n", _("Your proposed appointments:"));
	for (p = l->child; p != NULL; p = p->next) {
		c = qh_json_get(p, "confirmed");
		out_f(o, "  %lld  ", (long long)num(p, "slot"));
		out_safe(o, str(p, "local_time"), NULL);
		out_f(o, "%s\n",
		    c != NULL && c->type == QH_JSON_TRUE ? _("  (confirmed)") : "");
	}
}

static int
show_ticket(struct qh_buf *o, const struct qh_json_node *t)
{
	const char *status = str(t, "status");
	char t1[48];

	if (t->type != QH_JSON_OBJECT || qh_json_get(t, "id") == NULL)
		return QH_ERR_FORMAT;
	out_f(o, _("Ticket %lld: "), (long long)num(t, "id"));
	out_safe(o, str(t, "subject"), NULL);
	out_f(o, "\n%-14s%s\n", _("Status:"), status_text(status));
	out_f(o, "%-14s%s\n", _("Filed:"), when(str(t, "created_at"), t1, sizeof(t1)));
	if (status != NULL && strcmp(status, "open") == 0)
		out_f(o, "%-14s%s\n", _("Due:"), when(str(t, "due_at"), t1, sizeof(t1)));
	if (str(t, "assigned_name") != NULL) {
		out_f(o, "%-14s", _("Handled by:"));
		out_safe(o, str(t, "assigned_name"), NULL);
		out_f(o, "\n");
	}
	if (status != NULL && strcmp(status, "closed") == 0) {
		out_f(o, "%-14s%s\n", _("Closed:"),
		    when(str(t, "closed_at"), t1, sizeof(t1)));
		if (str(t, "close_note") != NULL)
			out_safe(o, str(t, "close_note"), "    ");
	}
	if (str(t, "steps") != NULL && *str(t, "steps") != '\0') {
		out_f(o, "\n%s\n", _("Steps to reproduce:"));
		out_safe(o, str(t, "steps"), "    ");
	}
	show_messages(o, t);
	show_files(o, t);
	show_slots(o, t);
	if (status != NULL && strcmp(status, "waiting") == 0)
		out_f(o,
		    _("\nThe support team needs more information from you. Please "
		      "answer with: qh-agent ticket reply %lld --text \"...\"\n"),
		    (long long)num(t, "id"));
	return 0;
}

/* The account. */

static const char *
kind_text(const char *kind)
{
	if (kind == NULL)
		return "?";
	if (strcmp(kind, "purchase") == 0)
		return _("purchase");
	if (strcmp(kind, "session") == 0)
		return _("remote session");
	if (strcmp(kind, "installation_purchase") == 0)
		return _("installations bought");
	if (strcmp(kind, "installation") == 0)
		return _("installation");
	if (strcmp(kind, "correction") == 0)
		return _("correction");
	return "?";
}

/* "12 units (3 h 00 min)" in the customer's language. */
static const char *
units_text(int64_t units, char *out, size_t len)
{
	char hours[48];

	qh_hours_text(units, hours, sizeof(hours));
	snprintf(out, len,
	    qh_ntr(qh_lang_get(), "%lld unit (%s)", "%lld units (%s)",
		(unsigned long)(units < 0 ? -units : units)),
	    (long long)units, hours);
	return out;
}

static int
show_balance(struct qh_buf *o, const struct qh_json_node *b)
{
	const struct qh_json_node *l, *e;
	const char *plan = str(b, "plan");
	char u[96], t1[48];
	int64_t units = num(b, "units");

	if (b->type != QH_JSON_OBJECT || qh_json_get(b, "units") == NULL)
		return QH_ERR_FORMAT;
	out_safe(o, str(b, "name"), NULL);
	out_f(o, " (");
	out_safe(o, str(b, "customer"), NULL);
	out_f(o, ")\n");
	out_f(o, "%-18s%s\n", _("Balance:"), units_text(units, u, sizeof(u)));
	out_f(o, "%-18s%lld\n", _("Installations:"), (long long)num(b, "installations"));
	if (num(b, "open_sessions") > 0)
		out_f(o, "%-18s%s\n", _("Running now:"),
		    units_text(num(b, "running_units"), u, sizeof(u)));
	if (plan != NULL && strcmp(plan, "free") == 0)
		out_f(o, "%s\n",
		    _("Your plan is free support: remote sessions are not included. "
		      "Please file a ticket with qh-agent ticket."));
	else if (units <= 0)
		out_f(o, "%s\n",
		    _("No units left: please buy more before the next remote "
		      "session."));
	else if (qh_json_get(b, "low") != NULL &&
	    qh_json_get(b, "low")->type == QH_JSON_TRUE)
		out_f(o, "%s\n",
		    _("Your units are running low; please buy more in time."));
	l = qh_json_get(b, "entries");
	if (l == NULL || l->child == NULL)
		return 0;
	out_f(o, "\n%s\n", _("Last entries:"));
	for (e = l->child; e != NULL; e = e->next) {
		out_f(o, "  %s  %-22s", when(str(e, "posted_at"), t1, sizeof(t1)),
		    kind_text(str(e, "kind")));
		if (num(e, "installations") != 0)
			out_f(o, "  %+lld %s", (long long)num(e, "installations"),
			    qh_ntr(qh_lang_get(), "installation", "installations",
				(unsigned long)(num(e, "installations") < 0
					? -num(e, "installations")
					: num(e, "installations"))));
		else
			out_f(o, "  %+lld %s", (long long)num(e, "units"),
			    qh_ntr(qh_lang_get(), "unit", "units",
				(unsigned long)(num(e, "units") < 0 ? -num(e, "units")
								    : num(e, "units"))));
		out_f(o, _(", balance %lld"), (long long)num(e, "balance_after"));
		if (str(e, "reference") != NULL) {
			out_f(o, "  ");
			out_safe(o, str(e, "reference"), NULL);
		}
		out_f(o, "\n");
	}
	return 0;
}

/* Running a request. */

static void
ask_data(struct oneshot *os, const uint8_t *p, size_t len)
{
	struct ask *a = oneshot_arg(os);
	int r;

	if (a->req.cmd != QH_DESK_GET) {
		(void)qh_buf_put(&a->doc, p, len); /* a full buffer keeps its error */
		return;
	}
	if (!a->fetching) {
		oneshot_finish(os, QH_EXIT_FAIL, "%s",
		    _("the console sent data before announcing the file"));
		return;
	}
	if ((r = qh_fetch_write(&a->fetch, p, len)) != 0)
		oneshot_finish(os, QH_EXIT_FAIL, "%s: %s", a->out,
		    r == QH_ERR_TOO_LARGE ? _("the console sent more than announced")
					  : strerror(errno));
}

/* get: the console announces the file first. */
static void
ask_msg(struct oneshot *os, const struct qh_msg *m)
{
	static const char digits[] = "0123456789abcdef";
	struct ask *a = oneshot_arg(os);
	const uint8_t *p;
	size_t len, i;
	uint64_t size;
	char hex[65];
	int r;

	if (a->req.cmd != QH_DESK_GET || m->type != QH_MSG_TICKET_FILE || a->fetching ||
	    qh_msg_get_u64(m, QH_K_SIZE, &size) != 0 ||
	    qh_msg_get(m, QH_K_HASH, &p, &len) != 0 || len != 32) {
		oneshot_finish(os, QH_EXIT_FAIL,
		    _("the console sent an unexpected %s message"), qh_msg_name(m->type));
		return;
	}
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	hex[64] = '\0';
	if ((r = qh_fetch_open(&a->fetch, a->out, size, hex)) != 0) {
		oneshot_finish(os, QH_EXIT_FAIL, "%s: %s", a->out,
		    r == QH_ERR_EXISTS ? _("the file exists; it is not overwritten")
				       : strerror(errno));
		return;
	}
	a->fetching = 1;
	a->size = size;
}

static int
ask_end(struct oneshot *os)
{
	struct ask *a = oneshot_arg(os);
	int r;

	if (a->req.cmd != QH_DESK_GET) {
		if (qh_buf_error(&a->doc) != 0) {
			qh_say("%s", _("the console's answer is too large"));
			return QH_EXIT_FAIL;
		}
		return QH_EXIT_OK;
	}
	if (!a->fetching) {
		qh_say("%s", _("the console announced no file"));
		return QH_EXIT_FAIL;
	}
	a->fetching = 0;
	if ((r = qh_fetch_finish(&a->fetch, a->sha256)) == 0)
		return QH_EXIT_OK;
	if (r == QH_ERR_FORMAT || r == QH_ERR_INCOMPLETE)
		qh_say(_("the attachment arrived damaged (not the SHA-256 on record); "
			 "%s was not written"),
		    a->out);
	else if (r == QH_ERR_EXISTS)
		qh_say("%s: %s", a->out, _("the file exists; it is not overwritten"));
	else
		qh_say("%s: %s", a->out, strerror(errno));
	return QH_EXIT_FAIL;
}

static void
ask_stop(struct oneshot *os)
{
	struct ask *a = oneshot_arg(os);

	if (a->fetching) {
		qh_fetch_abort(&a->fetch);
		a->fetching = 0;
	}
}

/* The console's refusals in the customer's words, where we know them. */
static void
ask_refused(struct oneshot *os, const char *code, const char *text, char *line,
    size_t len)
{
	struct ask *a = oneshot_arg(os);

	if (strcmp(code, "not-found") == 0 && a->req.cmd == QH_DESK_GET &&
	    strstr(text, "no attachment") != NULL)
		snprintf(line, len, _("ticket %lld has no attachment named %s"),
		    (long long)a->req.id, a->req.name);
	else if (strcmp(code, "not-found") == 0 && a->req.id > 0)
		snprintf(line, len, _("you have no ticket %lld"), (long long)a->req.id);
}

static const struct oneshot_ops ask_ops = {
	.on_data = ask_data,
	.on_msg = ask_msg,
	.on_end = ask_end,
	.on_stop = ask_stop,
	.refused = ask_refused,
};

/* Asks the console; on success a->doc holds the document (or the file is in place). */
static int
ask_run(struct ask *a)
{
	struct oneshot *os = NULL;
	struct qh_buf req;
	int status;

	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if (qh_desk_req_encode(&a->req, &req) != 0) {
		qh_buf_release(&req);
		return qh_cli_usage(a->c, NULL);
	}
	if ((status = oneshot_new(a->c, &ask_ops, a, &os)) == 0)
		status = oneshot_run(os, &req);
	oneshot_free(os);
	qh_buf_release(&req);
	return status;
}

/* Runs a request whose document is shown by show (or printed with --json). */
static int
ask_show(struct ask *a, int (*show)(struct qh_buf *o, const struct qh_json_node *root))
{
	struct qh_json_doc *doc = NULL;
	struct qh_buf o;
	int status;

	qh_buf_init(&a->doc, DOC_MAX);
	if ((status = ask_run(a)) != 0)
		goto out;
	if (qh_json_parse(qh_buf_len(&a->doc) > 0 ? qh_buf_ptr(&a->doc)
						  : (const uint8_t *)"",
		qh_buf_len(&a->doc), &doc) != 0) {
		status =
		    qh_cli_fail(a->c, "%s", _("the console's answer is not readable"));
		goto out;
	}
	qh_buf_init(&o, TEXT_MAX);
	if (qh_cli_flag(a->c, "json")) {
		/* The console's builder escaped it; it parsed: exact. */
		(void)qh_buf_put(&o, qh_buf_ptr(&a->doc), qh_buf_len(&a->doc));
		(void)qh_buf_put_u8(&o, '\n');
		status = out_print(a->c, &o);
	} else if (show(&o, qh_json_root(doc)) != 0)
		status =
		    qh_cli_fail(a->c, "%s", _("the console's answer is not readable"));
	else
		status = out_print(a->c, &o);
	qh_buf_release(&o);
out:
	qh_json_free(doc);
	qh_buf_release(&a->doc);
	return status;
}

/* The ticket number argument. */
static int
ticket_number(struct qh_cli *c, int64_t *id)
{
	long long v;

	if (qh_parse_int(c->argv[0], 1, INT64_MAX, &v) != 0)
		return qh_cli_usage(c, _("N is a ticket number"));
	*id = v;
	return 0;
}

static int
cmd_tickets(struct qh_cli *c)
{
	struct ask a;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.req.cmd = QH_DESK_LIST;
	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, "bad --log-level");
	return ask_show(&a, show_list);
}

static int
cmd_ticket_show(struct qh_cli *c)
{
	struct ask a;
	int status;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.req.cmd = QH_DESK_SHOW;
	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, "bad --log-level");
	if ((status = ticket_number(c, &a.req.id)) != 0)
		return status;
	return ask_show(&a, show_ticket);
}

static int
cmd_ticket_get(struct qh_cli *c)
{
	struct ask a;
	int status;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.req.cmd = QH_DESK_GET;
	a.out = c->argv[2];
	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, "bad --log-level");
	if ((status = ticket_number(c, &a.req.id)) != 0)
		return status;
	if (!qh_ticket_name_valid(c->argv[1]))
		return qh_cli_usage(c, _("NAME is an attachment's file name"));
	snprintf(a.req.name, sizeof(a.req.name), "%s", c->argv[1]);
	if (*a.out == '\0')
		return qh_cli_usage(c, _("FILE names the file to write"));
	if ((status = ask_run(&a)) == 0)
		ui_line(_("%s: %llu bytes, SHA-256 %s"), a.out,
		    (unsigned long long)a.size, a.sha256);
	return status;
}

static int
cmd_balance(struct qh_cli *c)
{
	struct ask a;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.req.cmd = QH_DESK_BALANCE;
	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, "bad --log-level");
	return ask_show(&a, show_balance);
}

const struct qh_cli_cmd cmd_tickets_entry = {
	.name = "tickets",
	.usage = "[--json] [--config DIR] [--lang de|en]",
	.summary = N_("list your support tickets and their status"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), QH_FLAG("json"), QH_OPT("log-level"),
	    QH_OPT("lang") },
	.exec = cmd_tickets,
};

const struct qh_cli_cmd cmd_ticket_show_entry = {
	.name = "ticket show",
	.usage = "N [--json] [--config DIR] [--lang de|en]",
	.summary = N_("show a ticket: the replies, attachments and status"),
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("config"), QH_FLAG("json"), QH_OPT("log-level"),
	    QH_OPT("lang") },
	.exec = cmd_ticket_show,
};

const struct qh_cli_cmd cmd_ticket_get_entry = {
	.name = "ticket get",
	.usage = "N NAME FILE [--config DIR] [--lang de|en]",
	.summary = N_("save a ticket's attachment as a new FILE, checked on the way"),
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("config"), QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_ticket_get,
};

const struct qh_cli_cmd cmd_balance_entry = {
	.name = "balance",
	.usage = "[--json] [--config DIR] [--lang de|en]",
	.summary = N_("show your balance, installation credits and last entries"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), QH_FLAG("json"), QH_OPT("log-level"),
	    QH_OPT("lang") },
	.exec = cmd_balance,
};
