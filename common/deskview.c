/*
 * Ticket desk documents as text for staff (see qh/deskview.h): one
 * function per kind of document, each reading the parsed tree and writing
 * lines whose foreign texts pass the display filter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/deskview.h"
#include "qh/display.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"

#define ENV_TEXT_MAX	 (1024 * 1024)
#define QH_JSON_ID_SHOWN 68 /* a login or customer id as shown */

const char *
qh_deskview_status(const char *status)
{
	static const char *const known[] = { "open", "answered", "closed" };
	size_t i;

	if (status != NULL && strcmp(status, "waiting") == 0)
		return "waiting for customer";
	for (i = 0; status != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(status, known[i]) == 0)
			return known[i];
	return "?";
}

/* s, or "" for NULL. */
static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* An integer member, or def. */
static int64_t
num(const struct qh_json_node *o, const char *key, int64_t def)
{
	int64_t v;

	return qh_json_get_int(o, key, &v) == 0 ? v : def;
}

/* 1 if member key is true. */
static int
flag(const struct qh_json_node *o, const char *key)
{
	const struct qh_json_node *n = qh_json_get(o, key);

	return n != NULL && n->type == QH_JSON_TRUE;
}

/*
 * A stored UTC time as local "2026-11-30 18:00" (zone: with the zone's
 * name); "-" when there is none.
 */
static const char *
when(const char *utc, char *out, size_t len, int zone)
{
	struct tm tm;
	time_t tt;
	int64_t t;

	if (utc == NULL || qh_clock_parse_utc(utc, &t) != 0) {
		snprintf(out, len, "-");
		return out;
	}
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, zone ? "%Y-%m-%d %H:%M %Z" : "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, len, "%s", utc);
	return out;
}

/*
 * Writes text from a customer's PC or a technician through the display
 * filter, then end: on one line when indent is NULL, else each of its
 * lines after indent.
 */
static void
safe(FILE *f, const char *s, const char *indent, const char *end)
{
	const char *nl;

	s = nz(s);
	if (indent == NULL) {
		(void)qh_display_write(f, s, strlen(s), 0);
		fputs(end, f);
		return;
	}
	for (;;) {
		fputs(indent, f);
		nl = strchr(s, '\n');
		(void)qh_display_write(f, s, nl != NULL ? (size_t)(nl - s) : strlen(s),
		    QH_DISPLAY_LINES);
		if (nl == NULL)
			break;
		fputc('\n', f);
		if (*(s = nl + 1) == '\0') {
			end += *end == '\n'; /* the text ended its own last line */
			break;
		}
	}
	fputs(end, f);
}

/* Listing. */

static int
print_list(FILE *f, const struct qh_json_node *root)
{
	const struct qh_json_node *t;
	const char *status, *state;
	char due[32], who[QH_JSON_ID_SHOWN], customer[QH_JSON_ID_SHOWN], plan[16],
	    kind[16];

	if (root->type != QH_JSON_ARRAY)
		return QH_ERR_FORMAT;
	fprintf(f, "%6s  %-16s  %-20s  %-12s  %-16s  %-7s  %-12s  %s\n", "TICKET", "DUE",
	    "STATUS", "ASSIGNED", "CUSTOMER", "PLAN", "KIND", "SUBJECT");
	for (t = root->child; t != NULL; t = t->next) {
		if (t->type != QH_JSON_OBJECT)
			return QH_ERR_FORMAT;
		status = qh_json_get_str(t, "status");
		/* open: OVERDUE past due, LATE past the deadline; the rest as they are.
		 */
		state = flag(t, "past_deadline") ? "LATE"
		    : flag(t, "overdue")	 ? "OVERDUE"
						 : qh_deskview_status(status);
		if (status != NULL && strcmp(status, "waiting") == 0)
			snprintf(due, sizeof(due), "(paused)");
		else if (status != NULL && strcmp(status, "open") != 0)
			snprintf(due, sizeof(due), "-");
		else
			when(qh_json_get_str(t, "due_at"), due, sizeof(due), 0);
		qh_display_str(qh_json_get_str(t, "assigned_to") != NULL
			? qh_json_get_str(t, "assigned_to")
			: "-",
		    who, sizeof(who), 0);
		qh_display_str(qh_json_get_str(t, "customer"), customer, sizeof(customer),
		    0);
		qh_display_str(qh_json_get_str(t, "plan"), plan, sizeof(plan), 0);
		qh_display_str(qh_json_get_str(t, "kind"), kind, sizeof(kind), 0);
		fprintf(f, "%6" PRId64 "  %-16s  %-20s  %-12s  %-16s  %-7s  %-12s  ",
		    num(t, "id", 0), due, state, who, customer, plan, kind);
		safe(f, qh_json_get_str(t, "subject"), NULL, "\n");
	}
	return 0;
}

/* A ticket. */

/* Writes node n back as JSON text into j (the environment, for qh/envinfo.h). */
static void
to_json(struct qh_json *j, const struct qh_json_node *n)
{
	const struct qh_json_node *c;
	char num_text[64];

	switch (n->type) {
	case QH_JSON_NULL:
		qh_json_null(j);
		break;
	case QH_JSON_FALSE:
	case QH_JSON_TRUE:
		qh_json_bool(j, n->type == QH_JSON_TRUE);
		break;
	case QH_JSON_NUMBER:
		if (n->is_int)
			qh_json_int(j, n->ival);
		else {
			snprintf(num_text, sizeof(num_text), "%.17g", n->num);
			qh_json_raw(j, num_text, strlen(num_text));
		}
		break;
	case QH_JSON_STRING:
		qh_json_str(j, n->str);
		break;
	case QH_JSON_ARRAY:
	case QH_JSON_OBJECT:
		if (n->type == QH_JSON_ARRAY)
			qh_json_begin_array(j);
		else
			qh_json_begin_object(j);
		for (c = n->child; c != NULL; c = c->next) {
			if (n->type == QH_JSON_OBJECT)
				qh_json_key(j, nz(c->key));
			to_json(j, c);
		}
		if (n->type == QH_JSON_ARRAY)
			qh_json_end_array(j);
		else
			qh_json_end_object(j);
		break;
	}
}

int
qh_deskview_env_text(const struct qh_json_node *env, struct qh_buf *text)
{
	struct qh_buf json;
	struct qh_json j;
	int r = QH_ERR_FORMAT;

	if (env == NULL || env->type != QH_JSON_OBJECT)
		return QH_ERR_FORMAT;
	qh_buf_init(&json, ENV_TEXT_MAX);
	qh_json_init(&j, &json);
	to_json(&j, env);
	if (qh_json_finish(&j) == 0)
		r = qh_envinfo_text(qh_buf_ptr(&json), qh_buf_len(&json), text);
	qh_buf_release(&json);
	return r;
}

/* The environment as "Label:  value" lines (qh/envinfo.h). */
static void
print_environment(FILE *f, const struct qh_json_node *env)
{
	struct qh_buf text;

	if (env == NULL || env->type == QH_JSON_NULL) {
		fputs("  (none)\n", f);
		return;
	}
	if (env->type == QH_JSON_STRING) {
		safe(f, env->str, "  ", "\n");
		return;
	}
	qh_buf_init(&text, ENV_TEXT_MAX);
	if (qh_deskview_env_text(env, &text) == 0 && qh_buf_put_u8(&text, '\0') == 0)
		safe(f, (const char *)qh_buf_ptr(&text), "  ", "\n");
	else
		fputs("  (unreadable)\n", f);
	qh_buf_release(&text);
}

/* The conversation: each message with its author, time, text and files. */
static void
print_messages(FILE *f, const struct qh_json_node *msgs)
{
	const struct qh_json_node *m, *a;
	const char *kind, *side, *name;
	char t[48];

	fputs("conversation:\n", f);
	if (msgs == NULL || msgs->child == NULL) {
		fputs("  (none)\n", f);
		return;
	}
	for (m = msgs->child; m != NULL; m = m->next) {
		kind = nz(qh_json_get_str(m, "kind"));
		side = nz(qh_json_get_str(m, "side"));
		name = qh_json_get_str(m, "author_name");
		fprintf(f, "  #%" PRId64 "  %s  %s ", num(m, "seq", 0),
		    when(qh_json_get_str(m, "created_at"), t, sizeof(t), 1),
		    strcmp(side, "staff") == 0 ? "staff" : "customer");
		safe(f, qh_json_get_str(m, "author"), NULL, "");
		if (name != NULL) {
			fputs(" (", f);
			safe(f, name, NULL, ")");
		}
		fputs(strcmp(kind, "need") == 0 ? ", asks for information:\n" : ":\n", f);
		safe(f, qh_json_get_str(m, "text"), "    ", "\n");
		a = qh_json_get(m, "attachments");
		if (a != NULL && a->type == QH_JSON_ARRAY && a->child != NULL) {
			fputs("    attached:", f);
			for (a = a->child; a != NULL; a = a->next) {
				fputs(" ", f);
				safe(f, a->str, NULL, a->next != NULL ? "," : "");
			}
			fputs("\n", f);
		}
	}
}

/* Attachments, proposals and linked sessions. */
static void
print_parts(FILE *f, const struct qh_json_node *t)
{
	const struct qh_json_node *n, *l;
	int64_t msg;
	char t1[48];
	int first;

	fputs("attachments:\n", f);
	l = qh_json_get(t, "attachments");
	for (n = l != NULL ? l->child : NULL; n != NULL; n = n->next) {
		fprintf(f, "  %12" PRId64 " bytes  sha256 %s  ", num(n, "size", 0),
		    nz(qh_json_get_str(n, "sha256")));
		msg = num(n, "message", 0);
		safe(f, qh_json_get_str(n, "name"), NULL, "");
		if (msg > 0)
			fprintf(f, "  (with #%" PRId64 ")", msg);
		fputs("\n", f);
	}
	if (l == NULL || l->child == NULL)
		fputs("  (none)\n", f);
	fputs("proposed appointments:\n", f);
	l = qh_json_get(t, "proposals");
	for (n = l != NULL ? l->child : NULL; n != NULL; n = n->next) {
		fprintf(f, "  %2" PRId64 "  ", num(n, "slot", 0));
		safe(f, qh_json_get_str(n, "local_time"), NULL, " ");
		safe(f, qh_json_get_str(n, "utc_offset"), NULL, "");
		fprintf(f, "  (%s)%s%s\n",
		    when(qh_json_get_str(n, "starts_at"), t1, sizeof(t1), 1),
		    flag(n, "after_hours") ? "  outside business hours" : "",
		    flag(n, "confirmed") ? "  CONFIRMED" : "");
	}
	if (l == NULL || l->child == NULL)
		fputs("  (none)\n", f);
	fputs("sessions:", f);
	l = qh_json_get(t, "sessions");
	first = 1;
	for (n = l != NULL ? l->child : NULL; n != NULL; n = n->next, first = 0)
		fprintf(f, "%s %" PRId64, first ? "" : ",", n->is_int ? n->ival : 0);
	fputs(first ? " (none)\n" : "\n", f);
}

static int
print_show(FILE *f, const struct qh_json_node *t)
{
	const char *status, *assigned, *host;
	char t1[48];

	if (t->type != QH_JSON_OBJECT || qh_json_get(t, "id") == NULL)
		return QH_ERR_FORMAT;
	status = nz(qh_json_get_str(t, "status"));
	fprintf(f, "ticket %" PRId64 ": ", num(t, "id", 0));
	safe(f, qh_json_get_str(t, "subject"), NULL, "\n");
	fputs("customer:  ", f);
	safe(f, qh_json_get_str(t, "customer"), NULL, " (");
	safe(f, qh_json_get_str(t, "customer_name"), NULL, ")\n");
	fputs("plan:      ", f);
	safe(f, qh_json_get_str(t, "plan"), NULL, "\nkind:      ");
	safe(f, qh_json_get_str(t, "kind"), NULL, "\nagent:     ");
	host = qh_json_get_str(t, "host");
	safe(f, qh_json_get_str(t, "agent"), NULL, " on ");
	safe(f, host != NULL ? host : "?", NULL, "\n");
	fprintf(f, "status:    %s", qh_deskview_status(status));
	if (strcmp(status, "closed") == 0) {
		fprintf(f, " %s by ",
		    when(qh_json_get_str(t, "closed_at"), t1, sizeof(t1), 1));
		safe(f, qh_json_get_str(t, "closed_by"), NULL, ": ");
		safe(f, qh_json_get_str(t, "close_note"), NULL, "\n");
	} else if (strcmp(status, "waiting") == 0)
		fprintf(f, " since %s\n",
		    when(qh_json_get_str(t, "paused_at"), t1, sizeof(t1), 1));
	else
		fputs("\n", f);
	assigned = qh_json_get_str(t, "assigned_to");
	fputs("assigned:  ", f);
	if (assigned != NULL) {
		safe(f, assigned, NULL, "");
		if (qh_json_get_str(t, "assigned_name") != NULL) {
			fputs(" (", f);
			safe(f, qh_json_get_str(t, "assigned_name"), NULL, ")");
		}
		fputs("\n", f);
	} else
		fputs("nobody\n", f);
	fprintf(f, "created:   %s\n",
	    when(qh_json_get_str(t, "created_at"), t1, sizeof(t1), 1));
	fprintf(f, "due:       %s%s\n",
	    when(qh_json_get_str(t, "due_at"), t1, sizeof(t1), 1),
	    strcmp(status, "waiting") == 0 ? "  (paused while waiting for the customer)"
		: strcmp(status, "answered") == 0 ? "  (answered)"
		: flag(t, "overdue")		  ? "  OVERDUE"
						  : "");
	if (qh_json_get_str(t, "deadline_at") != NULL)
		fprintf(f, "deadline:  %s%s\n",
		    when(qh_json_get_str(t, "deadline_at"), t1, sizeof(t1), 1),
		    flag(t, "past_deadline") ? "  PAST" : "");
	fputs("steps:\n", f);
	safe(f,
	    *nz(qh_json_get_str(t, "steps")) != '\0' ? qh_json_get_str(t, "steps")
						     : "(none)",
	    "  ", "\n");
	fputs("environment:\n", f);
	print_environment(f, qh_json_get(t, "environment"));
	print_messages(f, qh_json_get(t, "messages"));
	print_parts(f, t);
	return 0;
}

/* Results. */

static int
print_result(FILE *f, enum qh_desk_cmd cmd, const struct qh_json_node *o)
{
	const struct qh_json_node *a, *slot;
	const char *status = qh_deskview_status(qh_json_get_str(o, "status"));
	int64_t id = num(o, "ticket", 0), n = 0;
	char t1[48];

	if (o->type != QH_JSON_OBJECT || id == 0)
		return QH_ERR_FORMAT;
	switch (cmd) {
	case QH_DESK_REPLY:
	case QH_DESK_NEED:
		a = qh_json_get(o, "attachments");
		for (a = a != NULL ? a->child : NULL; a != NULL; a = a->next)
			n++;
		fprintf(f, "ticket %" PRId64 ": %s %" PRId64 " %s", id,
		    cmd == QH_DESK_NEED ? "question" : "reply", num(o, "message", 0),
		    flag(o, "existed") ? "was sent before" : "sent");
		if (n > 0) {
			fprintf(f, " with %" PRId64 " attachment%s:", n,
			    n == 1 ? "" : "s");
			for (a = qh_json_get(o, "attachments")->child; a != NULL;
			     a = a->next) {
				fputs(" ", f);
				safe(f, a->str, NULL, a->next != NULL ? "," : "");
			}
		}
		fprintf(f, "; status %s%s\n", status,
		    cmd == QH_DESK_NEED ? " (the due time is paused)" : "");
		return 0;
	case QH_DESK_ASSIGN:
		fprintf(f, "ticket %" PRId64 " assigned to ", id);
		safe(f, qh_json_get_str(o, "assigned_to"), NULL, "\n");
		return 0;
	case QH_DESK_CONFIRM:
		if ((slot = qh_json_get(o, "slot")) == NULL)
			return QH_ERR_FORMAT;
		fprintf(f, "ticket %" PRId64 ": appointment %" PRId64 " confirmed: ", id,
		    num(slot, "slot", 0));
		safe(f, qh_json_get_str(slot, "local_time"), NULL, " ");
		safe(f, qh_json_get_str(slot, "utc_offset"), NULL, "");
		fprintf(f, " (%s)\n",
		    when(qh_json_get_str(slot, "starts_at"), t1, sizeof(t1), 1));
		return 0;
	case QH_DESK_CLOSE:
		fprintf(f, "ticket %" PRId64 " closed\n", id);
		return 0;
	default:
		return QH_ERR_FORMAT;
	}
}

int
qh_deskview_print(FILE *f, enum qh_desk_cmd cmd, const void *json, size_t len)
{
	struct qh_json_doc *doc = NULL;
	int r;

	if ((r = qh_json_parse(json, len, &doc)) != 0)
		return QH_ERR_FORMAT;
	switch (cmd) {
	case QH_DESK_LIST:
		r = print_list(f, qh_json_root(doc));
		break;
	case QH_DESK_SHOW:
		r = print_show(f, qh_json_root(doc));
		break;
	default:
		r = print_result(f, cmd, qh_json_root(doc));
		break;
	}
	qh_json_free(doc);
	if (r == 0 && (ferror(f) || fflush(f) != 0))
		r = QH_ERR_SYSTEM;
	return r;
}
