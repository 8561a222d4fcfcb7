/*
 * qh-console sessions: what was done for the money. Lists sessions with
 * their technicians, their audit log (each technician command from start
 * to end with what it reported, agent gaps, consents, recordings) and their
 * recordings (each with its size and whether the console relayed the
 * terminal output or the technician's client reported it, as its
 * asciicast header says); the store reads them all.
 *
 * Like the accounting commands it reads inside the dispatcher's one read
 * transaction, so it works while `serve` writes, and a session closing
 * meanwhile is seen whole or not at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

#define OUT_MAX (64 * 1024 * 1024) /* one session as JSON */

/* What the listing's callbacks need. */
struct listing {
	struct qh_cli *c;
	struct store_env *env;
	struct qh_json list; /* the --json listing */
	struct qh_buf out, row;
	int first;
	int status; /* set when a session failed */
};

/* JSON. */

static int
tech_json(void *arg, const char *login)
{
	qh_json_str(arg, login);
	return 0;
}

static int
event_json(void *arg, const struct event_row *e)
{
	struct qh_json *j = arg;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", e->id);
	qh_json_kv_str(j, "kind", e->kind);
	qh_json_kv_str(j, "login", e->login);
	qh_json_kv_str(j, "command", e->command);
	qh_json_kv_str(j, "started_at", e->started_at);
	qh_json_kv_str(j, "ended_at", e->ended_at);
	/* An object, SQLite says; else not JSON, kept as text (or null). */
	qh_json_key(j, "detail");
	if (e->detail_json != NULL)
		qh_json_raw(j, e->detail_json, strlen(e->detail_json));
	else
		qh_json_str(j, e->detail);
	qh_json_end_object(j);
	return 0;
}

static int
recording_json(void *arg, const struct recording_info *k)
{
	struct qh_json *j = arg;

	qh_json_begin_object(j);
	qh_json_kv_str(j, "file", k->name);
	qh_json_kv_str(j, "path", k->path);
	qh_json_kv_int(j, "size", k->size);
	qh_json_kv_str(j, "source", k->source);
	qh_json_kv_str(j, "kind", k->kind[0] ? k->kind : NULL);
	qh_json_kv_str(j, "technician", k->technician[0] ? k->technician : NULL);
	qh_json_kv_str(j, "target", k->target[0] ? k->target : NULL);
	qh_json_end_object(j);
	return 0;
}

/* Appends session s as one JSON object to j; 0 or a database error. */
static int
session_json(struct listing *l, const struct session_row *s, struct qh_json *j)
{
	sqlite3 *db = l->env->db;
	int r;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", s->id);
	qh_json_kv_str(j, "customer", s->customer);
	qh_json_kv_str(j, "agent", s->agent);
	qh_json_kv_str(j, "code", s->code);
	qh_json_kv_str(j, "kind", s->kind);
	if (s->ticket == 0)
		qh_json_kv_null(j, "ticket");
	else
		qh_json_kv_int(j, "ticket", s->ticket);
	qh_json_kv_str(j, "opened_at", s->opened_at);
	qh_json_kv_str(j, "closed_at", s->closed_at);
	qh_json_kv_str(j, "close_reason", s->close_reason);
	qh_json_kv_int(j, "billable_seconds", s->billable_seconds);
	qh_json_kv_int(j, "after_hours", s->after_hours); /* 0 or 1, as in the ledger */
	qh_json_kv_str(j, "overdraft_by", s->overdraft_by);
	qh_json_kv_str(j, "note", s->note);
	qh_json_kv_str(j, "internal_note", s->internal_note);
	if (s->debited_units >= 0)
		qh_json_kv_int(j, "debited_units", s->debited_units);
	else
		qh_json_kv_null(j, "debited_units");
	qh_json_key(j, "technicians");
	qh_json_begin_array(j);
	if ((r = db_session_technicians(db, s->id, tech_json, j)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_key(j, "audit");
	qh_json_begin_array(j);
	if ((r = db_session_events(db, s->id, event_json, j)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_key(j, "recordings");
	qh_json_begin_array(j);
	if ((r = db_session_recordings(db, l->env->state, s->id, recording_json, j)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_end_object(j);
	return 0;
}

/*
 * Appends session s to the listing. It is built on its own in l->row
 * first, so a session too large for the buffer is refused whole; each but
 * the first starts a line of its own, and each goes to stdout at once.
 */
static int
session_listed(void *arg, const struct session_row *s)
{
	struct listing *l = arg;
	struct qh_json one;
	int r;

	qh_buf_reset(&l->row);
	if (!l->first)
		(void)qh_buf_put_u8(&l->row, '\n'); /* white space before the value */
	qh_json_init(&one, &l->row);
	if ((r = session_json(l, s, &one)) != 0)
		return r;
	if ((r = qh_json_finish(&one)) == 0) {
		qh_json_raw(&l->list, (const char *)qh_buf_ptr(&l->row),
		    qh_buf_len(&l->row));
		r = qh_json_error(&l->list);
	}
	if (r != 0) {
		l->status =
		    qh_cli_fail(l->c, "session %lld: too much to list", (long long)s->id);
		return 1;
	}
	l->first = 0;
	if (console_flush(&l->out) != 0) {
		l->status = qh_cli_fail(l->c, "stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Text. */

/* The logins as text "a, b", cut at the end of the buffer. */
struct tech_text {
	char buf[8192];
	size_t used;
};

static int
tech_text(void *arg, const char *login)
{
	struct tech_text *t = arg;

	if (t->used < sizeof(t->buf))
		t->used += (size_t)snprintf(t->buf + t->used, sizeof(t->buf) - t->used,
		    "%s%s", t->used > 0 ? ", " : "", login);
	return 0;
}

/* v, or dflt for a NULL column in the human text. */
static const char *
text_or(const char *v, const char *dflt)
{
	return v != NULL ? v : dflt;
}

/*
 * Prints s, which a technician or a PC wrote (an argv, a note, an agent's
 * text), through the display filter and on one line, so it can neither
 * drive the terminal nor start a line of the audit log. A failed write
 * shows in the final fflush.
 */
static void
show(const char *s)
{
	(void)qh_display_write(stdout, s, strlen(s), 0);
}

static int
event_text(void *arg, const struct event_row *e)
{
	const char *detail;
	char login[QH_ID_MAX + 1];

	*(int *)arg = 1;
	printf("    %s  %-9s %-12s ", text_or(e->started_at, "?"), text_or(e->kind, "?"),
	    qh_display_str(text_or(e->login, "-"), login, sizeof(login), 0));
	show(text_or(e->command, ""));
	if (e->ended_at != NULL && strcmp(e->ended_at, text_or(e->started_at, "")) != 0)
		printf("  (until %s)", e->ended_at);
	if ((detail = e->detail_json) != NULL || (detail = e->detail) != NULL) {
		printf("  ");
		show(detail);
	}
	printf("\n");
	return 0;
}

static int
recording_text(void *arg, const struct recording_info *k)
{
	*(int *)arg = 1;
	printf("    %s  %lld bytes  %s%s", k->path, k->size,
	    strcmp(k->source, "reported") == 0 ? "reported by the technician's client"
		: strcmp(k->source, "relayed") == 0 ? "relayed through the console"
						    : "source unknown",
	    k->target[0] ? " to " : "");
	show(k->target);
	printf("\n");
	return 0;
}

/* Prints session s; 0 or a database error. */
static int
session_text(void *arg, const struct session_row *s)
{
	struct listing *l = arg;
	sqlite3 *db = l->env->db;
	int64_t secs = s->billable_seconds;
	const char *code = text_or(s->code, "?");
	struct tech_text techs;
	int any = 0, r;

	printf("session %" PRId64 "  customer %s  agent %s  code %.3s %.3s  %s%s\n",
	    s->id, text_or(s->customer, "?"), text_or(s->agent, "?"), code,
	    strlen(code) > 3 ? code + 3 : "", text_or(s->kind, "support"),
	    s->after_hours ? "  after hours" : "");
	printf("  opened %s", text_or(s->opened_at, "?"));
	if (s->closed_at != NULL)
		printf("  closed %s (%s)", s->closed_at, text_or(s->close_reason, "?"));
	else
		printf("  still open");
	printf("  billable %" PRId64 " s (%" PRId64 " h %02" PRId64 " min %02" PRId64
	       " s)",
	    secs, secs / 3600, secs / 60 % 60, secs % 60);
	if (s->debited_units >= 0)
		printf("  debited %" PRId64 " unit%s", s->debited_units,
		    s->debited_units == 1 ? "" : "s");
	printf("\n");
	if (s->ticket != 0)
		printf("  ticket %lld\n", (long long)s->ticket);
	if (s->overdraft_by != NULL) {
		printf("  overdraft allowed by ");
		show(s->overdraft_by);
		printf("\n");
	}
	if (s->note != NULL) {
		printf("  note: ");
		show(s->note);
		printf("\n");
	}
	if (s->internal_note != NULL) {
		printf("  internal note: ");
		show(s->internal_note);
		printf("\n");
	}
	memset(&techs, 0, sizeof(techs));
	if ((r = db_session_technicians(db, s->id, tech_text, &techs)) != 0)
		return r;
	printf("  technicians: %s\n",
	    techs.buf[0] ? qh_display_str(techs.buf, techs.buf, sizeof(techs.buf), 0)
			 : "none");

	printf("  audit:\n");
	if ((r = db_session_events(db, s->id, event_text, &any)) != 0)
		return r;
	if (!any)
		printf("    none\n");
	printf("  recordings:\n");
	any = 0;
	if ((r = db_session_recordings(db, l->env->state, s->id, recording_text, &any)) !=
	    0)
		return r;
	if (!any)
		printf("    none\n");
	printf("\n");
	return 0;
}

static int
cmd_sessions(struct qh_cli *c)
{
	const char *customer = qh_cli_opt(c, "customer");
	int json = qh_cli_flag(c, "json"), r, status;
	struct listing l;

	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	memset(&l, 0, sizeof(l));
	l.c = c;
	l.env = admin_env(c);
	l.first = 1;
	qh_buf_init(&l.out, OUT_MAX + 64); /* a session and what surrounds it */
	qh_buf_init(&l.row, OUT_MAX);
	qh_json_init(&l.list, &l.out);
	if (json)
		qh_json_begin_array(&l.list);
	r = db_session_list(l.env->db, customer, json ? session_listed : session_text,
	    &l);
	if (r < 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (r > 0)
		status = l.status;
	else if (json) {
		qh_json_end_array(&l.list);
		status = console_json_print(c, &l.list, &l.out, "the listing");
	} else if (fflush(stdout) != 0)
		status = qh_cli_fail(c, "stdout: %s", strerror(errno));
	else
		status = QH_EXIT_OK;
	qh_buf_release(&l.out);
	qh_buf_release(&l.row);
	return status;
}

const struct qh_cli_cmd cmd_sessions_entry = {
	.name = "sessions",
	.usage = "[--customer ID] [--json]",
	.summary = "list sessions with their audit log and recordings",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_OPT("customer"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
	.exec = cmd_sessions,
};
