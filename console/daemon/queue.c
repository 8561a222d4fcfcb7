/*
 * The queue: every running agent is an entry known by a six-digit code
 * (R11: one entry per run, also for several agents of one customer). An
 * entry survives its agent's disconnect for the grace window, so a
 * reconnecting agent that presents its resume token keeps its code and its
 * session; after the window the session closes (agent_lost) and the entry
 * goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "qh/units.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "store/store.h"
#include "serve.h"

const char *
code_pretty(const char *code, char out[8])
{
	snprintf(out, 8, "%.3s %.3s", code, strlen(code) > 3 ? code + 3 : "");
	return out;
}

struct entry *
queue_find(struct server *srv, const char *code)
{
	struct entry *e;

	LIST_FOREACH (e, &srv->entries, link)
		if (!e->closing && strcmp(e->code, code) == 0)
			return e;
	return NULL;
}

static struct entry *
find_resume(struct server *srv, const char *resume, const char *agent_id)
{
	struct entry *e;

	LIST_FOREACH (e, &srv->entries, link)
		if (!e->closing && strcmp(e->resume, resume) == 0 &&
		    strcmp(e->agent_id, agent_id) == 0)
			return e;
	return NULL;
}

static int
random_digits(char *out, size_t n)
{
	unsigned char r[RESUME_LEN];
	size_t i;

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return QH_ERR_CRYPTO;
	for (i = 0; i < n; i++)
		out[i] = (char)('0' + r[i] % 10); /* bias of 6/256: harmless for codes */
	out[n] = '\0';
	return 0;
}

/* A code no connected agent has; the wanted one if it is free. */
static int
assign_code(struct server *srv, const char *wanted, char out[CODE_LEN + 1])
{
	int i;

	if (wanted != NULL && strlen(wanted) == CODE_LEN &&
	    strspn(wanted, "0123456789") == CODE_LEN && queue_find(srv, wanted) == NULL) {
		memcpy(out, wanted, CODE_LEN + 1);
		return 0;
	}
	for (i = 0; i < 100; i++) {
		if (random_digits(out, CODE_LEN) != 0)
			return QH_ERR_CRYPTO;
		if (queue_find(srv, out) == NULL)
			return 0;
	}
	return QH_ERR_LIMIT;
}

static void
entry_freed(uv_handle_t *h)
{
	free(h->data);
}

/* Removes the entry from the queue; its session must be closed already. */
static void
entry_remove(struct entry *e)
{
	if (e->closing)
		return;
	e->closing = 1;
	relay_end_all(e, "the agent left the queue");
	if (e->peer != NULL)
		e->peer->entry = NULL;
	LIST_REMOVE(e, link);
	uv_close((uv_handle_t *)&e->grace, entry_freed);
}

/* Reads the customer's name and checks the plan; 0 or a refusal text. */
static const char *
customer_lookup(struct server *srv, struct entry *e)
{
	sqlite3_stmt *st = NULL;
	const char *why = "unknown customer";

	if (db_prepare(srv->db, "SELECT name FROM customers WHERE id = ?1", &st) != 0)
		return "database error";
	sqlite3_bind_text(st, 1, e->customer, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(e->customer_name, sizeof(e->customer_name), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		why = NULL;
	}
	sqlite3_finalize(st);
	return why;
}

static void
touch_agent(struct server *srv, const char *agent_id, const char *host)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (db_prepare(srv->db,
		"UPDATE agents SET last_seen = ?1, host = ?2 "
		"WHERE id = ?3",
		&st) != 0)
		return;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, agent_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		qh_warn("agent %s: last_seen not recorded", agent_id);
	sqlite3_finalize(st);
}

int64_t
queue_running_units(struct server *srv, const char *customer)
{
	struct entry *e;
	int64_t units = 0;

	LIST_FOREACH (e, &srv->entries, link)
		if (e->session != NULL && strcmp(e->customer, customer) == 0)
			units += session_running_units(e->session);
	return units;
}

static int
send_welcome(struct peer *p, struct entry *e)
{
	struct ledger_balance bal;
	struct qh_buf b;
	char left[64], warn[256] = "";
	int r;

	/* R5: the balance at connect, and a warning at or under the threshold. */
	if ((r = ledger_balance(p->srv->db, e->customer, &bal)) != 0)
		return r;
	qh_units_text(bal.units, left, sizeof(left));
	if (bal.is_free)
		snprintf(warn, sizeof(warn),
		    "Your plan is free support: please file a "
		    "ticket (qh-agent ticket); remote sessions need the premium plan.");
	else if (bal.units <= bal.warn_units)
		snprintf(warn, sizeof(warn),
		    "Your prepaid balance is low: %s left. Please "
		    "buy more hours.",
		    left);
	qh_buf_init(&b, 4096);
	if ((r = qh_msg_begin(&b, QH_MSG_WELCOME)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CODE, e->code)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_RESUME, e->resume)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CUSTOMER, e->customer)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_NAME, e->customer_name)) == 0 &&
	    (r = qh_msg_put_u64(&b, QH_K_UNITS, (uint64_t)bal.units)) == 0 &&
	    (warn[0] == '\0' || (r = qh_msg_put_str(&b, QH_K_TEXT, warn)) == 0) &&
	    (e->session == NULL ||
		(r = qh_msg_put_u64(&b, QH_K_SESSION,
		     (uint64_t)session_id(e->session))) == 0))
		r = qh_mux_send_control(p->mux, &b);
	qh_buf_release(&b);
	return r;
}

static void
on_grace_expired(uv_timer_t *t)
{
	struct entry *e = t->data;
	char summary[256];
	char pretty[8];

	qh_info("agent %s (code %s): not back within %llds", e->agent_id,
	    code_pretty(e->code, pretty), e->srv->conf.grace_seconds);
	if (e->session != NULL)
		(void)session_close(e->session, "agent_lost", NULL, NULL, summary,
		    sizeof(summary));
	entry_remove(e);
}

int
queue_hello(struct peer *p, const struct qh_msg *m)
{
	struct server *srv = p->srv;
	struct entry *e = NULL;
	char *host = NULL, *resume = NULL, *code = NULL, pretty[8];
	const char *why;
	uint32_t flags = 0;
	int r = 0;

	(void)qh_msg_get_str(m, QH_K_HOST, &host);
	(void)qh_msg_get_str(m, QH_K_RESUME, &resume);
	(void)qh_msg_get_str(m, QH_K_CODE, &code);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);

	if (resume != NULL && (e = find_resume(srv, resume, p->id.agent_id)) != NULL) {
		if (e->peer != NULL) {
			/* The old connection is a ghost the agent gave up on. */
			e->peer->entry = NULL;
			queue_agent_gone(e->peer);
			qh_mux_close(e->peer->mux, 0, "replaced by the same agent");
		}
		uv_timer_stop(&e->grace);
		e->peer = p;
		p->entry = e;
		e->flags = flags;
		if (e->session != NULL)
			session_agent_back(e->session);
		qh_info("agent %s (code %s): reconnected", e->agent_id,
		    code_pretty(e->code, pretty));
	} else {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			r = QH_ERR_NOMEM;
			goto out;
		}
		e->srv = srv;
		snprintf(e->customer, sizeof(e->customer), "%s", p->id.id);
		snprintf(e->agent_id, sizeof(e->agent_id), "%s", p->id.agent_id);
		snprintf(e->host, sizeof(e->host), "%s", host);
		e->flags = flags;
		e->waiting_since = qh_clock_now();
		LIST_INIT(&e->relays);
		if ((why = customer_lookup(srv, e)) != NULL) {
			free(e);
			e = NULL;
			qh_warn("peer %s: refused: %s", qh_mux_name(p->mux), why);
			(void)qh_mux_send_error(p->mux, "customer", why);
			qh_mux_close(p->mux, QH_ERR_REFUSED, NULL);
			goto out;
		}
		if (assign_code(srv, code, e->code) != 0 ||
		    random_digits(e->resume, RESUME_LEN) != 0) {
			free(e);
			e = NULL;
			r = QH_ERR_LIMIT;
			goto out;
		}
		uv_timer_init(srv->loop, &e->grace);
		e->grace.data = e;
		e->peer = p;
		p->entry = e;
		LIST_INSERT_HEAD(&srv->entries, e, link);
		qh_info("agent %s of %s on %s: waiting with code %s", e->agent_id,
		    e->customer, e->host, code_pretty(e->code, pretty));
	}
	touch_agent(srv, e->agent_id, host);
	r = send_welcome(p, e);
out:
	free(host);
	free(resume);
	free(code);
	return r;
}

void
queue_agent_gone(struct peer *p)
{
	struct entry *e = p->entry;
	char pretty[8];

	if (e == NULL)
		return;
	p->entry = NULL;
	e->peer = NULL;
	if (e->closing)
		return;
	relay_end_all(e,
	    "the agent's connection was lost; run the command again "
	    "when it is back");
	if (e->session != NULL)
		session_agent_away(e->session);
	qh_info("agent %s (code %s): connection lost; keeping its place for %llds",
	    e->agent_id, code_pretty(e->code, pretty), e->srv->conf.grace_seconds);
	uv_timer_start(&e->grace, on_grace_expired,
	    (uint64_t)e->srv->conf.grace_seconds * 1000, 0);
}

void
queue_consent_reply(struct peer *p, const struct qh_msg *m)
{
	struct entry *e = p->entry;
	uint64_t id = 0;
	const uint8_t *allow;
	size_t len;

	if (qh_msg_get_u64(m, QH_K_ID, &id) != 0 ||
	    qh_msg_get(m, QH_K_ALLOW, &allow, &len) != 0)
		return;
	relay_consent_answer(e, id, allow[0] != 0);
}

void
queue_customer_end(struct peer *p)
{
	struct entry *e = p->entry;
	char summary[256];

	if (e->session == NULL) {
		peer_notice(p, "info", "no session is open");
		return;
	}
	(void)session_close(e->session, "customer", NULL, NULL, summary, sizeof(summary));
}

void
queue_list(struct server *srv, struct qh_buf *out, int human)
{
	struct entry *e;
	char since[32], pretty[8], dur[32], line[1024], techs[512];
	int first = 1;

	if (!human)
		qh_jsonb_raw(out, "[");
	else if (LIST_EMPTY(&srv->entries)) {
		qh_jsonb_raw(out, "no agents waiting\n");
		return;
	} else {
		snprintf(line, sizeof(line), "%-8s %-16s %-20s %-10s %s\n", "CODE",
		    "CUSTOMER", "HOST", "WAITING", "TECHNICIANS");
		qh_jsonb_raw(out, line);
	}
	LIST_FOREACH (e, &srv->entries, link) {
		qh_clock_format_utc(e->waiting_since, since, sizeof(since));
		relay_logins(e, techs, sizeof(techs));
		if (human) {
			qh_clock_format_duration(qh_clock_now() - e->waiting_since, dur,
			    sizeof(dur));
			snprintf(line, sizeof(line), "%-8s %-16s %-20s %-10s %s%s\n",
			    code_pretty(e->code, pretty), e->customer, e->host, dur,
			    techs[0] ? techs : "-",
			    e->peer == NULL ? " (reconnecting)" : "");
			qh_jsonb_raw(out, line);
			continue;
		}
		if (!first)
			qh_jsonb_raw(out, ",");
		first = 0;
		qh_jsonb_raw(out, "{");
		qh_jsonb_kv_str(out, "code", e->code);
		qh_jsonb_raw(out, ",");
		qh_jsonb_kv_str(out, "customer", e->customer);
		qh_jsonb_raw(out, ",");
		qh_jsonb_kv_str(out, "name", e->customer_name);
		qh_jsonb_raw(out, ",");
		qh_jsonb_kv_str(out, "host", e->host);
		qh_jsonb_raw(out, ",");
		qh_jsonb_kv_str(out, "agent", e->agent_id);
		qh_jsonb_raw(out, ",");
		qh_jsonb_kv_str(out, "waiting_since", since);
		qh_jsonb_raw(out, ",\"connected\":");
		qh_jsonb_raw(out, e->peer != NULL ? "true" : "false");
		qh_jsonb_raw(out, ",\"technicians\":[");
		{
			char *save = NULL, *tok, copy[512];
			int k = 0;

			snprintf(copy, sizeof(copy), "%s", techs);
			for (tok = strtok_r(copy, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save)) {
				if (k++ > 0)
					qh_jsonb_raw(out, ",");
				qh_jsonb_str(out, tok);
			}
		}
		qh_jsonb_raw(out, "],");
		if (e->session != NULL)
			qh_jsonb_kv_int(out, "session", session_id(e->session));
		else
			qh_jsonb_raw(out, "\"session\":null");
		qh_jsonb_raw(out, "}");
	}
	if (!human)
		qh_jsonb_raw(out, "]\n");
}

void
queue_clear(struct server *srv)
{
	struct entry *e;
	char summary[256];

	while ((e = LIST_FIRST(&srv->entries)) != NULL) {
		if (e->session != NULL)
			(void)session_close(e->session, "shutdown", NULL, NULL, summary,
			    sizeof(summary));
		entry_remove(e);
	}
}
