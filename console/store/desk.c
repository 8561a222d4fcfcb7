/*
 * The ticket desk's answers (qh/desk.h): each request runs against the
 * database and answers with one JSON document, the same whether the
 * console's command runs on this host or the daemon answers a technician
 * or a customer's PC over TLS. What a document holds depends on who asks:
 * staff see everything; a customer sees only their own tickets and
 * account, without the workstation facts, the plan or the staff's logins.
 * Times are UTC texts as stored ("2026-11-30T17:00:00Z").
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/json.h"
#include "store.h"

#define BALANCE_ENTRIES 10 /* the customer's last ledger entries */

/* s, or "" for NULL. */
static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Sets why and returns r. */
static int fail(char *why, size_t len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return r;
}

/* The sentence for a store error about ticket id. */
static int
ticket_fail(char *why, size_t len, int r, int64_t id)
{
	switch (r) {
	case QH_ERR_NOT_FOUND:
		return fail(why, len, r, "no ticket %" PRId64, id);
	case QH_ERR_CLOSED:
		return fail(why, len, r, "ticket %" PRId64 " is closed", id);
	case QH_ERR_LIMIT:
		return fail(why, len, r,
		    "ticket %" PRId64 " has as many messages or attachments as a "
		    "ticket may have; file a new ticket",
		    id);
	case QH_ERR_PERM:
		return fail(why, len, r, "not allowed");
	case QH_ERR_EXISTS:
		return fail(why, len, r,
		    "this message conflicts with one sent before by someone else");
	case QH_ERR_ARG:
		return fail(why, len, r, "the text must be 1 to %d bytes of UTF-8",
		    TICKET_TEXT_MAX);
	default:
		return fail(why, len, r, "the console's database failed: %s",
		    qh_strerror(r));
	}
}

/* 1 if a ticket in status due at due is past it at now (only open ones run). */
static int
is_past(const char *status, const char *due, const char *now)
{
	return due != NULL && strcmp(nz(status), TICKET_OPEN) == 0 &&
	    strcmp(due, now) < 0;
}

/* Listing. */

struct listing {
	struct qh_json *j;
	int customer; /* the customer's view */
	char now[32];
};

static int
listed(void *arg, const struct ticket_row *t)
{
	struct listing *l = arg;
	struct qh_json *j = l->j;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", t->id);
	if (!l->customer) {
		qh_json_kv_str(j, "customer", nz(t->customer));
		qh_json_kv_str(j, "customer_name", nz(t->customer_name));
		qh_json_kv_str(j, "plan", nz(t->plan));
	}
	qh_json_kv_str(j, "kind", nz(t->kind));
	qh_json_kv_str(j, "subject", nz(t->subject));
	qh_json_kv_str(j, "status", nz(t->status));
	qh_json_kv_str(j, "created_at", nz(t->created_at));
	qh_json_kv_str(j, "updated_at", nz(t->updated_at));
	qh_json_kv_str(j, "due_at", nz(t->due_at));
	qh_json_kv_str(j, "deadline_at", t->deadline_at);
	qh_json_kv_str(j, "paused_at", t->paused_at);
	qh_json_kv_bool(j, "overdue", is_past(t->status, t->due_at, l->now));
	qh_json_kv_bool(j, "past_deadline", is_past(t->status, t->deadline_at, l->now));
	if (!l->customer)
		qh_json_kv_str(j, "assigned_to", t->assigned_to);
	qh_json_kv_int(j, "messages", t->messages);
	qh_json_kv_int(j, "attachments", t->attachments);
	qh_json_kv_int(j, "proposals", t->proposals);
	if (t->confirmed_slot == 0)
		qh_json_kv_null(j, "confirmed_slot");
	else
		qh_json_kv_int(j, "confirmed_slot", t->confirmed_slot);
	qh_json_end_object(j);
	return 0;
}

static int
run_list(sqlite3 *db, const struct ticket_actor *who, const struct qh_desk_req *req,
    struct qh_json *j, char *why, size_t len)
{
	struct listing l = { j, who->customer, "" };
	const char *customer = who->customer ? who->customer_id
	    : req->customer[0] != '\0'	     ? req->customer
					     : NULL;
	int r;

	qh_clock_format_utc(qh_clock_now(), l.now, sizeof(l.now));
	qh_json_begin_array(j);
	if ((r = db_ticket_list(db, customer, (req->flags & QH_DESK_OPEN_ONLY) != 0,
		 listed, &l)) != 0)
		return ticket_fail(why, len, r, 0);
	qh_json_end_array(j);
	return 0;
}

/* A ticket. */

struct show {
	struct qh_json *j;
	int customer;
	const char *customer_id; /* the customer's view: whose tickets they may see */
	char now[32];
};

/* Appends the stored environment: the document when it is a JSON object, else a string.
 */
static void
json_environment(struct qh_json *j, const char *env)
{
	qh_json_key(j, "environment");
	if (env != NULL && qh_ticket_env_valid(env, strlen(env)))
		qh_json_raw(j, env, strlen(env));
	else
		qh_json_str(j, env); /* null for NULL */
}

static int
shown(void *arg, const struct ticket_view *t)
{
	struct show *x = arg;
	struct qh_json *j = x->j;

	if (x->customer && strcmp(nz(t->customer), x->customer_id) != 0)
		return QH_ERR_NOT_FOUND; /* another customer's: not theirs to know of */
	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", t->id);
	if (!x->customer) {
		qh_json_kv_str(j, "customer", nz(t->customer));
		qh_json_kv_str(j, "customer_name", nz(t->customer_name));
		qh_json_kv_str(j, "plan", nz(t->plan));
		qh_json_kv_str(j, "agent", nz(t->agent));
	}
	qh_json_kv_str(j, "host", t->host);
	qh_json_kv_str(j, "kind", nz(t->kind));
	qh_json_kv_str(j, "subject", nz(t->subject));
	qh_json_kv_str(j, "status", nz(t->status));
	qh_json_kv_str(j, "created_at", nz(t->created_at));
	qh_json_kv_str(j, "updated_at", nz(t->updated_at));
	qh_json_kv_str(j, "due_at", nz(t->due_at));
	qh_json_kv_str(j, "deadline_at", t->deadline_at);
	qh_json_kv_str(j, "paused_at", t->paused_at);
	qh_json_kv_bool(j, "overdue", is_past(t->status, t->due_at, x->now));
	qh_json_kv_bool(j, "past_deadline", is_past(t->status, t->deadline_at, x->now));
	if (!x->customer)
		qh_json_kv_str(j, "assigned_to", t->assigned_to);
	qh_json_kv_str(j, "assigned_name", t->assigned_name);
	qh_json_kv_str(j, "closed_at", t->closed_at);
	if (!x->customer)
		qh_json_kv_str(j, "closed_by", t->closed_by);
	qh_json_kv_str(j, "close_note", t->close_note);
	qh_json_kv_str(j, "steps", nz(t->steps));
	if (!x->customer)
		json_environment(j, t->environment);
	return 0;
}

/* What the parts' callbacks need: the document and the messages' numbers. */
struct parts {
	struct qh_json *j;
	int customer;
	sqlite3 *db;
	int64_t id;
	int64_t msg_ids[TICKET_MESSAGES_MAX + 1]; /* [seq] = message id */
	int nmsg;
};

static int
attachment_listed(void *arg, const struct attachment_row *a)
{
	struct parts *p = arg;
	struct qh_json *j = p->j;
	int i;

	qh_json_begin_object(j);
	qh_json_kv_str(j, "name", nz(a->name));
	qh_json_kv_int(j, "size", a->size);
	qh_json_kv_str(j, "sha256", nz(a->sha256));
	for (i = 1; i <= p->nmsg && p->msg_ids[i] != a->message; i++)
		;
	if (a->message == 0 || i > p->nmsg)
		qh_json_kv_null(j, "message");
	else
		qh_json_kv_int(j, "message", i);
	qh_json_end_object(j);
	return 0;
}

/* The names of the attachments that came with message id, as a JSON array. */
static int
message_file(void *arg, const struct attachment_row *a)
{
	struct parts *p = arg;

	if (a->message == p->msg_ids[p->nmsg])
		qh_json_str(p->j, nz(a->name));
	return 0;
}

static int
message_listed(void *arg, const struct message_row *m)
{
	struct parts *p = arg;
	struct qh_json *j = p->j;
	int r;

	if (m->seq < 1 || m->seq > TICKET_MESSAGES_MAX)
		return 0;
	p->nmsg = m->seq;
	p->msg_ids[m->seq] = m->id;
	qh_json_begin_object(j);
	qh_json_kv_int(j, "seq", m->seq);
	qh_json_kv_str(j, "kind", nz(m->kind));
	qh_json_kv_str(j, "side", nz(m->side));
	if (!p->customer || strcmp(nz(m->side), "customer") == 0)
		qh_json_kv_str(j, "author", nz(m->author));
	qh_json_kv_str(j, "author_name", m->author_name);
	qh_json_kv_str(j, "created_at", nz(m->created_at));
	qh_json_kv_str(j, "text", nz(m->text));
	qh_json_key(j, "attachments");
	qh_json_begin_array(j);
	if ((r = db_ticket_attachments(p->db, p->id, message_file, p)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_end_object(j);
	return 0;
}

static int
proposal_listed(void *arg, const struct proposal_row *p)
{
	struct parts *x = arg;
	struct qh_json *j = x->j;
	unsigned a =
	    p->utc_offset < 0 ? 0U - (unsigned)p->utc_offset : (unsigned)p->utc_offset;
	char off[16];

	snprintf(off, sizeof(off), "%c%02u:%02u", p->utc_offset < 0 ? '-' : '+',
	    a / 60 % 100, a % 60);
	qh_json_begin_object(j);
	qh_json_kv_int(j, "slot", p->slot);
	qh_json_kv_str(j, "local_time", nz(p->local_time));
	qh_json_kv_str(j, "utc_offset", off);
	qh_json_kv_int(j, "utc_offset_minutes", p->utc_offset);
	qh_json_kv_str(j, "starts_at", nz(p->starts_at));
	qh_json_kv_bool(j, "after_hours", p->after_hours);
	qh_json_kv_bool(j, "confirmed", p->confirmed);
	qh_json_kv_str(j, "confirmed_at", p->confirmed_at);
	if (!x->customer)
		qh_json_kv_str(j, "confirmed_by", p->confirmed_by);
	qh_json_end_object(j);
	return 0;
}

static int
session_listed(void *arg, int64_t session)
{
	qh_json_int(arg, session);
	return 0;
}

/* The ticket's messages, attachments, proposals and (staff) sessions. */
static int
show_parts(struct parts *p)
{
	struct qh_json *j = p->j;
	int r;

	qh_json_key(j, "messages");
	qh_json_begin_array(j);
	if ((r = db_ticket_messages(p->db, p->id, message_listed, p)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_key(j, "attachments");
	qh_json_begin_array(j);
	if ((r = db_ticket_attachments(p->db, p->id, attachment_listed, p)) != 0)
		return r;
	qh_json_end_array(j);
	qh_json_key(j, "proposals");
	qh_json_begin_array(j);
	if ((r = db_ticket_proposals(p->db, p->id, proposal_listed, p)) != 0)
		return r;
	qh_json_end_array(j);
	if (!p->customer) {
		qh_json_key(j, "sessions");
		qh_json_begin_array(j);
		if ((r = db_ticket_sessions(p->db, p->id, session_listed, j)) != 0)
			return r;
		qh_json_end_array(j);
	}
	return 0;
}

static int
run_show(sqlite3 *db, const struct ticket_actor *who, int64_t id, struct qh_json *j,
    char *why, size_t len)
{
	struct show x = { j, who->customer, who->customer_id, "" };
	struct parts p;
	int r;

	qh_clock_format_utc(qh_clock_now(), x.now, sizeof(x.now));
	memset(&p, 0, sizeof(p));
	p.j = j;
	p.customer = who->customer;
	p.db = db;
	p.id = id;
	if ((r = db_ticket_show(db, id, shown, &x)) != 0 || (r = show_parts(&p)) != 0)
		return ticket_fail(why, len, r, id);
	qh_json_end_object(j);
	return 0;
}

/* Results of changes. */

/* The ticket's state as a change leaves it: the members every result has. */
static void
state_json(struct qh_json *j, const char *action, const struct ticket_state *s)
{
	char t[32];

	qh_json_kv_int(j, "ticket", s->id);
	qh_json_kv_str(j, "action", action);
	qh_json_kv_str(j, "status", s->status);
	qh_json_kv_str(j, "assigned_to",
	    s->assigned_to[0] != '\0' ? s->assigned_to : NULL);
	qh_clock_format_utc(s->due, t, sizeof(t));
	qh_json_kv_str(j, "due_at", s->due != 0 ? t : NULL);
	qh_clock_format_utc(s->deadline, t, sizeof(t));
	qh_json_kv_str(j, "deadline_at", s->deadline != 0 ? t : NULL);
	qh_clock_format_utc(s->paused, t, sizeof(t));
	qh_json_kv_str(j, "paused_at", s->paused != 0 ? t : NULL);
}

void
desk_posted_json(struct qh_json *j, const char *action, const struct ticket_posted *p)
{
	int i;

	qh_json_begin_object(j);
	state_json(j, action, &p->state);
	qh_json_kv_int(j, "message", p->seq);
	qh_json_kv_bool(j, "existed", p->existed);
	qh_json_key(j, "attachments");
	qh_json_begin_array(j);
	for (i = 0; i < p->nfiles; i++)
		qh_json_str(j, p->names[i]);
	qh_json_end_array(j);
	qh_json_end_object(j);
}

static int
run_need(sqlite3 *db, const struct console_conf *conf, const struct ticket_actor *who,
    const struct qh_desk_req *req, struct qh_json *j, char *why, size_t len)
{
	struct ticket_post p = { 0 };
	struct ticket_posted done;
	int r;

	p.ticket = req->id;
	p.kind = "need";
	p.text = req->text;
	p.len = strlen(req->text);
	if ((r = db_ticket_post(db, conf, who, &p, &done)) != 0)
		return ticket_fail(why, len, r, req->id);
	desk_posted_json(j, "need", &done);
	return 0;
}

static int
run_assign(sqlite3 *db, const struct qh_desk_req *req, struct qh_json *j, char *why,
    size_t len)
{
	struct ticket_state s;
	int r;

	if ((r = db_ticket_assign(db, req->id, req->login, &s)) == QH_ERR_ARG)
		return fail(why, len, r, "no technician %s (see 'qh-console tech list')",
		    req->login);
	if (r != 0)
		return ticket_fail(why, len, r, req->id);
	qh_json_begin_object(j);
	state_json(j, "assign", &s);
	qh_json_end_object(j);
	return 0;
}

static int
run_confirm(sqlite3 *db, const struct ticket_actor *who, const struct qh_desk_req *req,
    struct qh_json *j, char *why, size_t len)
{
	struct ticket_slot chosen;
	struct ticket_state s;
	int r, n = 0;
	unsigned a;
	char off[16];

	r = db_ticket_confirm(db, req->id, req->slot, who->login, &chosen, &n);
	if (r == QH_ERR_ARG && n == 0)
		return fail(why, len, r,
		    "ticket %" PRId64 " has no proposed appointments", req->id);
	if (r == QH_ERR_ARG)
		return fail(why, len, r,
		    "ticket %" PRId64 " has %d proposed appointment%s; --slot is 1 to %d",
		    req->id, n, n == 1 ? "" : "s", n);
	if (r != 0 || (r = db_ticket_state(db, req->id, &s)) != 0)
		return ticket_fail(why, len, r, req->id);
	a = chosen.utc_offset < 0 ? 0U - (unsigned)chosen.utc_offset
				  : (unsigned)chosen.utc_offset;
	snprintf(off, sizeof(off), "%c%02u:%02u", chosen.utc_offset < 0 ? '-' : '+',
	    a / 60 % 100, a % 60);
	qh_json_begin_object(j);
	state_json(j, "confirm", &s);
	qh_json_key(j, "slot");
	qh_json_begin_object(j);
	qh_json_kv_int(j, "slot", req->slot);
	qh_json_kv_str(j, "local_time", chosen.local_time);
	qh_json_kv_str(j, "utc_offset", off);
	qh_json_kv_str(j, "starts_at", chosen.starts_at);
	qh_json_end_object(j);
	qh_json_end_object(j);
	return 0;
}

static int
run_close(sqlite3 *db, const struct ticket_actor *who, const struct qh_desk_req *req,
    struct qh_json *j, char *why, size_t len)
{
	struct ticket_state s;
	int r;

	if ((r = db_ticket_close(db, req->id, who->login, req->text)) == QH_ERR_CLOSED)
		return fail(why, len, r, "ticket %" PRId64 " is closed already", req->id);
	if (r != 0 || (r = db_ticket_state(db, req->id, &s)) != 0)
		return ticket_fail(why, len, r, req->id);
	qh_json_begin_object(j);
	state_json(j, "close", &s);
	qh_json_end_object(j);
	return 0;
}

/* A customer's account. */

static int
entry_listed(void *arg, const struct ledger_row *e)
{
	struct qh_json *j = arg;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", e->id);
	qh_json_kv_str(j, "posted_at", nz(e->posted_at));
	qh_json_kv_str(j, "kind", nz(e->kind));
	qh_json_kv_int(j, "units", e->units);
	qh_json_kv_int(j, "installations", e->installations);
	qh_json_kv_int(j, "balance_after", e->balance_after);
	if (e->has_session)
		qh_json_kv_int(j, "session_id", e->session_id);
	else
		qh_json_kv_null(j, "session_id");
	if (e->has_billable)
		qh_json_kv_int(j, "billable_seconds", e->billable_seconds);
	else
		qh_json_kv_null(j, "billable_seconds");
	qh_json_kv_str(j, "started_at", e->started_at);
	qh_json_kv_str(j, "ended_at", e->ended_at);
	qh_json_kv_str(j, "technician", e->technician);
	qh_json_kv_str(j, "reference", e->reference);
	qh_json_kv_str(j, "note", e->note);
	qh_json_end_object(j);
	return 0;
}

static int
run_balance(sqlite3 *db, const struct ticket_actor *who, struct qh_json *j, char *why,
    size_t len)
{
	struct balance_report b;
	int r;

	if ((r = db_balance_report(db, who->customer_id, &b)) != 0)
		return r == QH_ERR_NOT_FOUND
		    ? fail(why, len, r, "the console does not know customer %s",
			  who->customer_id)
		    : ticket_fail(why, len, r, 0);
	qh_json_begin_object(j);
	qh_json_kv_str(j, "customer", who->customer_id);
	qh_json_kv_str(j, "name", b.name);
	qh_json_kv_str(j, "plan", b.plan);
	qh_json_kv_int(j, "units", b.b.units);
	qh_json_kv_int(j, "installations", b.b.installations);
	qh_json_kv_int(j, "warn_units", b.b.warn_units);
	qh_json_kv_int(j, "overdraft_units", b.b.overdraft_units);
	qh_json_kv_int(j, "open_sessions", b.open_sessions);
	qh_json_kv_int(j, "running_units", b.running_units);
	qh_json_kv_int(j, "available", b.available);
	qh_json_kv_bool(j, "low", b.b.units <= b.b.warn_units);
	qh_json_key(j, "entries");
	qh_json_begin_array(j);
	if ((r = db_ledger_last(db, who->customer_id, BALANCE_ENTRIES, entry_listed,
		 j)) != 0)
		return ticket_fail(why, len, r, 0);
	qh_json_end_array(j);
	qh_json_end_object(j);
	return 0;
}

int
desk_run(sqlite3 *db, const struct console_conf *conf, const struct ticket_actor *who,
    const struct qh_desk_req *req, struct qh_buf *answer, char *why, size_t len)
{
	struct qh_json j;
	int r;

	why[0] = '\0';
	/* A customer reads their own tickets and account; staff work the tickets. */
	if (who->customer ? req->cmd != QH_DESK_LIST && req->cmd != QH_DESK_SHOW &&
		    req->cmd != QH_DESK_BALANCE
			  : req->cmd == QH_DESK_BALANCE)
		return fail(why, len, QH_ERR_PERM, "not allowed for this certificate");
	qh_json_init(&j, answer);
	switch (req->cmd) {
	case QH_DESK_LIST:
		r = run_list(db, who, req, &j, why, len);
		break;
	case QH_DESK_SHOW:
		r = run_show(db, who, req->id, &j, why, len);
		break;
	case QH_DESK_NEED:
		r = run_need(db, conf, who, req, &j, why, len);
		break;
	case QH_DESK_ASSIGN:
		r = run_assign(db, req, &j, why, len);
		break;
	case QH_DESK_CONFIRM:
		r = run_confirm(db, who, req, &j, why, len);
		break;
	case QH_DESK_CLOSE:
		r = run_close(db, who, req, &j, why, len);
		break;
	case QH_DESK_BALANCE:
		r = run_balance(db, who, &j, why, len);
		break;
	default:
		return fail(why, len, QH_ERR_ARG, "not a desk request");
	}
	if (r == 0 && (r = qh_json_finish(&j)) != 0)
		return fail(why, len, r, "the answer is too large");
	return r;
}

int
desk_attachment(sqlite3 *db, const struct ticket_actor *who, int64_t id, const char *name,
    uint64_t *size, char sha256[65], char *why, size_t len)
{
	struct ticket_state s;
	int r;

	if ((r = db_ticket_state(db, id, &s)) != 0 ||
	    (who->customer && strcmp(s.customer, who->customer_id) != 0))
		return ticket_fail(why, len, r != 0 ? r : QH_ERR_NOT_FOUND, id);
	if ((r = db_ticket_attachment(db, id, name, size, sha256)) < 0)
		return ticket_fail(why, len, r, id);
	if (r == 0)
		return fail(why, len, QH_ERR_NOT_FOUND,
		    "ticket %" PRId64 " has no attachment named %s", id, name);
	return 0;
}

int
desk_post_fail(char *why, size_t len, int r, int64_t id)
{
	return ticket_fail(why, len, r, id);
}
