/*
 * The queue: every running agent is an entry known by a six-digit code
 * (R11: one entry per run, also for several agents of one customer). An
 * entry survives its agent's disconnect for the grace window, so a
 * reconnecting agent that presents its resume token keeps its code and its
 * session; after the window the session closes (agent_lost) and the entry
 * goes.
 *
 * An entry owns its session and its relays: a technician's request becomes
 * a relay, the customer is asked for consent once per technician and
 * session (R2) — to connect, and separately to see the screen and to
 * control it — the first command opens the session if the customer may be
 * billed (R7), and whatever closes the session ends the relays first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "qh/clock.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/text.h"
#include "qh/units.h"
#include "admit.h"
#include "presence.h"
#include "queue.h"
#include "queue_int.h"
#include "watch.h"
#include "reply.h"
#include "session.h"

/* What a disabled customer's agent is told, at HELLO or when it happens. */
static const char *
disabled_text(enum qh_lang lang)
{
	return qh_tr(lang,
	    "your support vendor has disabled remote support for "
	    "this customer; please contact them");
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
	    strspn(wanted, "0123456789") == CODE_LEN &&
	    queue_index_code(srv, wanted) == NULL) {
		memcpy(out, wanted, CODE_LEN + 1);
		return 0;
	}
	for (i = 0; i < 100; i++) {
		if (random_digits(out, CODE_LEN) != 0)
			return QH_ERR_CRYPTO;
		if (queue_index_code(srv, out) == NULL)
			return 0;
	}
	return QH_ERR_LIMIT;
}

/* Units running in the customer's open sessions (R7). */
static int64_t
running_units(struct server *srv, const char *customer)
{
	struct entry *e;
	int64_t units = 0;

	LIST_FOREACH (e, &srv->queue, link)
		if (e->session != NULL && strcmp(e->customer, customer) == 0)
			units += session_running_units(e->session);
	/* Closed, but their debit not written yet: still to be paid. */
	return units + session_closing_units(srv, customer);
}

/*
 * Closes the entry's session (R4): its relays end first, so their detach
 * stops the meter at this instant; the agent reads the summary. Fills
 * summary (may be NULL). Returns the session's close result.
 */
static int
entry_close_session(struct entry *e, const char *reason, const char *note, const char *by,
    char *summary, size_t len)
{
	struct session_end end;
	struct ledger_balance bal;
	struct session *s = e->session;
	char why[128], line[512];
	size_t used;
	int r;

	if (s == NULL)
		return 0;
	e->session = NULL; /* once: whatever a close causes cannot close it again */
	watch_changed(e->srv);
	if (by != NULL)
		snprintf(why, sizeof(why), "the session was ended by %s", by);
	else
		snprintf(why, sizeof(why), "the session was closed (%s)", reason);
	relay_end_all(&e->relays, why);
	r = session_close(s, reason, note, &end);
	if (e->agent != NULL) {
		session_summary(&end, e->lang, line, sizeof(line));
		/* R8: an installation tells the credits left, not units. */
		if (end.recorded && end.installations > 0 &&
		    ledger_balance(e->srv->db, e->customer, &bal) == 0) {
			used = strlen(line);
			snprintf(line + used, sizeof(line) - used, "; %s",
			    qh_tr(e->lang, "installation credits left:"));
			used = strlen(line);
			snprintf(line + used, sizeof(line) - used, " %lld",
			    (long long)bal.installations);
		}
		reply_session(e->agent, "closed", end.id, end.secs, line);
	}
	e->nconsented = 0;
	if (summary != NULL)
		snprintf(summary, len, "%s", end.summary);
	return r;
}

static void
entry_freed(uv_handle_t *h)
{
	struct entry *e = h->data;

	if (--e->open_handles == 0) {
		free(e->consented);
		free(e);
	}
}

/* Removes the entry from the queue; its session must be closed already. */
static void
entry_remove(struct entry *e)
{
	if (e->closing)
		return;
	e->closing = 1;
	relay_end_all(&e->relays, "the agent left the queue");
	queue_index_del(e->srv, e);
	LIST_REMOVE(e, link);
	watch_changed(e->srv);
	uv_close((uv_handle_t *)&e->grace, entry_freed);
	uv_close((uv_handle_t *)&e->retry, entry_freed);
	uv_close((uv_handle_t *)&e->asked, entry_freed);
}

static void
session_idle(void *arg)
{
	struct entry *e = arg;

	(void)entry_close_session(e, "idle", NULL, NULL, NULL, 0);
}

/* R7: both sides hear once that the running units used up the balance. */
static void
session_exhausted(void *arg, int64_t running, int64_t available)
{
	struct entry *e = arg;

	if (e->agent != NULL)
		reply_notice(e->agent, "warning",
		    qh_ntr(e->lang,
			"Your prepaid balance is used up (%lld unit running); the "
			"session goes on and is billed in full.",
			"Your prepaid balance is used up (%lld units running); the "
			"session goes on and is billed in full.",
			running == 1 ? 1UL : 2UL),
		    (long long)running);
	relay_notice_all(&e->relays,
	    "the customer's available balance is used up (%" PRId64
	    " units running, %" PRId64 " were available); the session goes on and "
	    "is billed in full",
	    running, available);
}

static const struct session_ops entry_session_ops = {
	.on_idle = session_idle,
	.on_exhausted = session_exhausted,
};

static int
send_welcome(struct entry *e)
{
	struct ledger_balance bal;
	struct qh_buf b;
	char left[64], warn[512] = "";
	int r;

	/* R5: the balance at connect, and a warning at or under the threshold. */
	if ((r = ledger_balance(e->srv->db, e->customer, &bal)) != 0)
		return r;
	qh_units_text_in(e->lang, bal.units, left, sizeof(left));
	if (bal.is_free)
		snprintf(warn, sizeof(warn), "%s",
		    qh_tr(e->lang,
			"Your plan is free support: please file a ticket "
			"(qh-agent ticket); remote sessions need the premium "
			"plan."));
	else if (bal.units <= bal.warn_units)
		snprintf(warn, sizeof(warn),
		    qh_tr(e->lang,
			"Your prepaid balance is low: %s left. Please buy "
			"more hours."),
		    left);
	qh_buf_init(&b, 4096);
	(void)qh_msg_begin(&b, QH_MSG_WELCOME);
	(void)qh_msg_put_str(&b, QH_K_CODE, e->code);
	(void)qh_msg_put_str(&b, QH_K_RESUME, e->resume);
	(void)qh_msg_put_str(&b, QH_K_CUSTOMER, e->customer);
	(void)qh_msg_put_str(&b, QH_K_NAME, e->customer_name);
	(void)qh_msg_put_u64(&b, QH_K_UNITS, (uint64_t)bal.units);
	if (warn[0] != '\0')
		(void)qh_msg_put_str(&b, QH_K_TEXT, warn);
	if (e->session != NULL)
		(void)qh_msg_put_u64(&b, QH_K_SESSION, (uint64_t)session_id(e->session));
	r = qh_mux_send_control(e->agent, &b);
	qh_buf_release(&b);
	/* R8: installations are counted apart from units. */
	if (r == 0 && bal.installations > 0)
		reply_notice(e->agent, "info",
		    qh_ntr(e->lang, "Installation credits: %lld (one per installation)",
			"Installation credits: %lld (one per installation)",
			bal.installations == 1 ? 1UL : 2UL),
		    (long long)bal.installations);
	return r;
}

static void
on_grace_expired(uv_timer_t *t)
{
	struct entry *e = t->data;
	char pretty[8];

	qh_info("agent %s (code %s): not back within %llds", e->agent_id,
	    reply_code(e->code, pretty), e->srv->conf.grace_seconds);
	(void)entry_close_session(e, "agent_lost", NULL, NULL, NULL, 0);
	entry_remove(e);
}

/* A new entry for an agent's first HELLO of this run; NULL after refusing it. */
static struct entry *
entry_new(struct server *srv, struct qh_mux *agent, const struct qh_identity *id,
    const char *host, const char *code, uint32_t flags, enum qh_lang lang)
{
	struct entry *e;
	char pretty[8];

	if (srv->queue_index == NULL &&
	    (srv->queue_index = calloc(1, sizeof(*srv->queue_index))) == NULL)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->srv = srv;
	snprintf(e->customer, sizeof(e->customer), "%s", id->id);
	snprintf(e->agent_id, sizeof(e->agent_id), "%s", id->agent_id);
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->flags = flags;
	e->lang = lang;
	e->waiting_since = qh_clock_now();
	LIST_INIT(&e->relays);
	if (!db_customer_name(srv->db, e->customer, e->customer_name,
		sizeof(e->customer_name))) {
		free(e);
		qh_warn("peer %s: refused: unknown customer", qh_mux_name(agent));
		(void)qh_mux_send_error(agent, "customer",
		    qh_tr(lang,
			"this PC's customer is not known to the support "
			"server; please call your support vendor"));
		qh_mux_close(agent, QH_ERR_REFUSED, NULL);
		return NULL;
	}
	if (assign_code(srv, code, e->code) != 0 ||
	    random_digits(e->resume, RESUME_LEN) != 0) {
		free(e);
		qh_mux_close(agent, QH_ERR_LIMIT, "no session code left");
		return NULL;
	}
	uv_timer_init(srv->loop, &e->grace);
	uv_timer_init(srv->loop, &e->retry);
	uv_timer_init(srv->loop, &e->asked);
	e->grace.data = e->retry.data = e->asked.data = e;
	e->open_handles = 3;
	LIST_INSERT_HEAD(&srv->queue, e, link);
	queue_index_add(srv, e);
	watch_changed(srv);
	qh_info("agent %s of %s on %s: waiting with code %s", e->agent_id, e->customer,
	    e->host, reply_code(e->code, pretty));
	return e;
}

struct entry *
queue_hello(struct server *srv, struct qh_mux *agent, const struct qh_identity *id,
    const struct qh_msg *m, struct qh_mux **replaced)
{
	struct entry *e;
	char *host = NULL, *resume = NULL, *code = NULL, *langname = NULL, pretty[8];
	uint32_t flags = 0;
	enum qh_lang lang = QH_LANG_EN;

	*replaced = NULL;
	(void)qh_msg_get_str(m, QH_K_HOST, &host);
	(void)qh_msg_get_str(m, QH_K_RESUME, &resume);
	(void)qh_msg_get_str(m, QH_K_CODE, &code);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	/* The customer's language; another or none: English. */
	if (qh_msg_get_str(m, QH_K_LANG, &langname) == 0 &&
	    (strcmp(langname, "de") == 0 || strcmp(langname, "en") == 0))
		(void)qh_lang_parse(langname, &lang);
	free(langname);
	/* The host is shown to technicians and stored: no control characters. */
	if (host != NULL && !qh_display_clean(host, strlen(host))) {
		qh_warn("peer %s: refused: host name with control characters",
		    qh_mux_name(agent));
		(void)qh_mux_send_error(agent, "host",
		    qh_tr(lang, "the host name has control characters; rename the PC"));
		qh_mux_close(agent, QH_ERR_REFUSED, NULL);
		e = NULL;
		goto out;
	}
	/* A disabled customer's agents wait for nothing; its history stays. */
	if (db_customer_disabled(srv->db, id->id) == 1) {
		qh_warn("peer %s: refused: customer %s is disabled", qh_mux_name(agent),
		    id->id);
		(void)qh_mux_send_error(agent, "disabled", disabled_text(lang));
		qh_mux_close(agent, QH_ERR_REFUSED, NULL);
		e = NULL;
		goto out;
	}
	if (resume != NULL &&
	    (e = queue_index_resume(srv, resume, id->agent_id)) != NULL) {
		if (e->agent != NULL) {
			/* The old connection is a ghost the agent gave up on. */
			*replaced = e->agent;
			queue_agent_gone(e);
		}
		uv_timer_stop(&e->grace);
		e->flags = flags;
		e->lang = lang;
		if (e->session != NULL)
			session_agent_back(e->session);
		qh_info("agent %s (code %s): reconnected", e->agent_id,
		    reply_code(e->code, pretty));
	} else if ((e = entry_new(srv, agent, id, host != NULL ? host : "", code, flags,
			lang)) == NULL)
		goto out;
	e->agent = agent;
	watch_changed(srv);
	presence_seen(srv, e->agent_id, host);
	if (send_welcome(e) != 0)
		qh_mux_close(agent, QH_ERR_SYSTEM, "the welcome could not be sent");
out:
	free(host);
	free(resume);
	free(code);
	return e;
}

void
queue_agent_gone(struct entry *e)
{
	char pretty[8];

	e->agent = NULL;
	if (e->closing)
		return;
	watch_changed(e->srv);
	relay_end_all(&e->relays,
	    "the agent's connection was lost; run the command again "
	    "when it is back");
	/* The agent forgets its questions with the connection (consent_reset). */
	e->nquestions = 0;
	uv_timer_stop(&e->asked);
	if (e->session != NULL)
		session_agent_away(e->session);
	qh_info("agent %s (code %s): connection lost; keeping its place for %llds",
	    e->agent_id, reply_code(e->code, pretty), e->srv->conf.grace_seconds);
	uv_timer_start(&e->grace, on_grace_expired,
	    (uint64_t)e->srv->conf.grace_seconds * 1000, 0);
}

void
queue_revoked(struct entry *e)
{
	char pretty[8];

	if (e->closing)
		return;
	qh_info("agent %s (code %s): revoked; its session closes and it leaves the "
		"queue",
	    e->agent_id, reply_code(e->code, pretty));
	(void)entry_close_session(e, "revoked", NULL, NULL, NULL, 0);
	e->agent = NULL; /* the caller closes the connection */
	entry_remove(e);
}

int
queue_disabled(struct entry *e)
{
	struct qh_mux *agent = e->agent;
	char pretty[8];

	if (e->closing || db_customer_disabled(e->srv->db, e->customer) != 1)
		return 0;
	qh_info("agent %s (code %s): customer %s was disabled; its session closes and "
		"it leaves the queue",
	    e->agent_id, reply_code(e->code, pretty), e->customer);
	(void)entry_close_session(e, "disabled", NULL, NULL, NULL, 0);
	if (agent != NULL) {
		(void)qh_mux_send_error(agent, "disabled", disabled_text(e->lang));
		qh_mux_close(agent, QH_ERR_REFUSED, NULL);
	}
	e->agent = NULL;
	entry_remove(e);
	return 1;
}

void
queue_recheck(struct server *srv)
{
	struct entry *e, *next;

	for (e = LIST_FIRST(&srv->queue); e != NULL; e = next) {
		next = LIST_NEXT(e, link);
		if (e->agent == NULL && !e->closing &&
		    !db_agent_current(srv->db, e->agent_id, e->customer))
			queue_revoked(e);
		else if (e->agent == NULL)
			(void)queue_disabled(e);
	}
}

void
queue_customer_end(struct entry *e)
{
	if (e->session == NULL) {
		reply_notice(e->agent, "info", "%s",
		    qh_tr(e->lang, "no session is open"));
		return;
	}
	(void)entry_close_session(e, "customer", NULL, NULL, NULL, 0);
}

void
queue_clear(struct server *srv)
{
	struct entry *e;

	while ((e = LIST_FIRST(&srv->queue)) != NULL) {
		(void)entry_close_session(e, "shutdown", NULL, NULL, NULL, 0);
		entry_remove(e);
	}
	free(srv->queue_index);
	srv->queue_index = NULL;
}

/* Consent and the start of technician commands. */

/* The consents (RELAY_CONSENT_*) login has in the entry's session. */
static unsigned
consented(const struct entry *e, const char *login)
{
	int i;

	for (i = 0; i < e->nconsented; i++)
		if (strcmp(e->consented[i].login, login) == 0)
			return e->consented[i].granted;
	return 0;
}

static void
consent_add(struct entry *e, const char *login, unsigned granted)
{
	int i;

	/* Most agents never see a technician: the list is made when needed. */
	if (e->consented == NULL &&
	    (e->consented = calloc(MAX_CONSENTED, sizeof(*e->consented))) == NULL)
		return; /* asked again next time */
	for (i = 0; i < e->nconsented; i++)
		if (strcmp(e->consented[i].login, login) == 0) {
			e->consented[i].granted |= granted;
			return;
		}
	if (e->nconsented < MAX_CONSENTED) {
		snprintf(e->consented[e->nconsented].login, QH_ID_MAX + 1, "%s", login);
		e->consented[e->nconsented++].granted = granted;
	}
}

/* The customer took control of a desktop back: a new --control asks again. */
static void
consent_control_off(void *arg, const char *login)
{
	struct entry *e = arg;
	int i;

	for (i = 0; i < e->nconsented; i++)
		if (strcmp(e->consented[i].login, login) == 0)
			e->consented[i].granted &= ~(unsigned)RELAY_CONSENT_CONTROL;
}

/* What the relay asks admit.c about: a session for the entry's customer. */
static void
admit_ask_of(struct entry *e, struct relay *r, struct admit_ask *q)
{
	q->customer = e->customer;
	q->customer_name = e->customer_name;
	q->installation = strcmp(relay_kind(r), "installation") == 0;
	q->overdraft = relay_overdraft(r);
	q->running = running_units(e->srv, e->customer);
}

/*
 * R7: may a new session start for the relay's customer? Fills *available;
 * returns NULL, or the refusal for the technician (in why).
 */
static const char *
session_allowed(struct entry *e, struct relay *r, int64_t *available, char *why,
    size_t len)
{
	struct ledger_balance b;
	struct admit_ask q;
	enum admit a;

	admit_ask_of(e, r, &q);
	a = admit_check(e->srv->db, &q, &b, available);
	/* An installation uses a credit, not units: no unit warnings (R8). */
	if (q.installation)
		*available = INT64_MAX;
	return admit_refusal(a, &q, *available, why, len);
}

static void entry_start(struct entry *e, struct relay *r);

/* The database took no session for a while: the waiting commands try again. */
static void
on_start_retry(uv_timer_t *t)
{
	struct entry *e = t->data;
	struct relay *r;

	/*
	 * The first opens the session or waits again (the timer runs again,
	 * and the rest wait with it); once it is open, the others join it.
	 */
	while (!uv_is_active((uv_handle_t *)&e->retry) &&
	    (r = relay_deferred(&e->relays)) != NULL) {
		relay_defer(r, 0);
		entry_start(e, r);
	}
	/* Nobody waits any more (started, refused or gone): the wait is over. */
	if (!uv_is_active((uv_handle_t *)&e->retry))
		e->waiting_db = 0;
}

/*
 * The database is busy (another process holds the write lock): the relay
 * waits, without stalling the loop, and its session is tried again soon.
 * Returns 1 when it waits, 0 when it waited too long (refused).
 */
static int
start_later(struct entry *e, struct relay *r)
{
	uint64_t now = qh_clock_mono_ms();

	if (e->waiting_db == 0)
		e->waiting_db = now;
	if (now - e->waiting_db > START_WAIT_MS) {
		relay_fail(r, "busy",
		    "the console's database stayed busy (another qh-console command "
		    "holds it); try again");
		return 0;
	}
	relay_defer(r, 1);
	if (!uv_is_active((uv_handle_t *)&e->retry))
		uv_timer_start(&e->retry, on_start_retry, START_RETRY_MS, 0);
	return 1;
}

/*
 * Opens the entry's session for the relay's first command (R7, R13).
 * Returns 0 when it is open, 1 when the relay waits for the database, -1
 * after refusing the relay.
 */
static int
session_start(struct entry *e, struct relay *r)
{
	struct db_session info;
	const char *refusal;
	char why[512];
	int64_t available = 0;
	int rc;

	/* Others wait for the database already: so does this one. */
	if (uv_is_active((uv_handle_t *)&e->retry))
		return start_later(e, r) ? 1 : -1;
	if ((refusal = session_allowed(e, r, &available, why, sizeof(why))) != NULL) {
		qh_info("agent %s: %s refused: %s", e->agent_id, relay_login(r), refusal);
		relay_fail(r, "balance", refusal);
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.customer = e->customer;
	info.agent_id = e->agent_id;
	info.code = e->code;
	info.kind = relay_kind(r);
	info.ticket = relay_ticket(r);
	info.overdraft_by = relay_overdraft(r) ? relay_login(r) : NULL;
	info.opened = qh_clock_now();
	info.after_hours = calendar_after_hours(&e->srv->conf, info.opened);
	if ((rc = session_open(e->srv, &info, e->agent != NULL, available,
		 &entry_session_ops, e, &e->session)) == QH_ERR_BUSY) {
		qh_info("agent %s: the database is busy; %s's %s waits for its session",
		    e->agent_id, relay_login(r), relay_kind(r));
		return start_later(e, r) ? 1 : -1;
	}
	if (rc != 0) {
		relay_fail(r, "internal",
		    "the session could not be recorded; see the console's log");
		return -1;
	}
	e->waiting_db = 0;
	watch_changed(e->srv);
	if (strcmp(relay_kind(r), "installation") == 0) {
		/* R8: the customer reads of an installation, not of units. */
		snprintf(why, sizeof(why),
		    qh_tr(e->lang,
			"session %lld started: an installation; it is recorded and "
			"uses one installation credit, not time units"),
		    (long long)session_id(e->session));
		reply_session(e->agent, "opened", session_id(e->session), 0, why);
	} else
		reply_session(e->agent, "opened", session_id(e->session), 0, NULL);
	/* A new session forgets the consents of an earlier one. */
	e->nconsented = 0;
	consent_add(e, relay_login(r), relay_consent_need(r));
	return 0;
}

/* Consent given: open the session if needed, count the time, reach the agent. */
static void
entry_start(struct entry *e, struct relay *r)
{
	struct ledger_balance b;
	char greeting[256] = "", left[64];
	int64_t running;
	int first = relay_count_login(&e->relays, relay_login(r)) == 1;

	if (e->agent == NULL) {
		relay_fail(r, "agent", "the agent is not connected");
		return;
	}
	if (e->session == NULL && session_start(e, r) != 0)
		return;
	if (ledger_balance(e->srv->db, e->customer, &b) == 0) {
		running = session_running_units(e->session);
		qh_units_text(billing_available(&b, running_units(e->srv, e->customer)),
		    left, sizeof(left));
		snprintf(greeting, sizeof(greeting),
		    "session %" PRId64 ": %" PRId64 " unit%s running, available %s",
		    session_id(e->session), running, running == 1 ? "" : "s", left);
	}
	if (first)
		reply_notice(e->agent, "attached", qh_tr(e->lang, "%s (%s) attached"),
		    relay_name(r), relay_login(r));
	if (relay_consent_need(r) & RELAY_CONSENT_VIEW)
		relay_set_record(r, db_customer_record_desktop(e->srv->db, e->customer));
	relay_set_lang(r, e->lang);
	relay_start(r, e->session, e->agent, greeting);
}

/* Forgets question id: answered, withdrawn or gone. */
static void
question_drop(struct entry *e, uint64_t id)
{
	int i;

	for (i = 0; i < e->nquestions; i++)
		if (e->questions[i].id == id) {
			memmove(&e->questions[i], &e->questions[i + 1],
			    sizeof(e->questions[0]) * (size_t)(e->nquestions - i - 1));
			e->nquestions--;
			return;
		}
}

/* Runs the deadline timer for the oldest question out, if any. */
static void on_consent_timeout(uv_timer_t *t);

static void
question_timer(struct entry *e)
{
	uint64_t now = qh_clock_mono_ms(), first;

	if (e->nquestions == 0) {
		uv_timer_stop(&e->asked);
		return;
	}
	first = e->questions[0].deadline; /* asked in order: the oldest first */
	uv_timer_start(&e->asked, on_consent_timeout, first > now ? first - now : 0, 0);
}

/*
 * A question was not answered within [session] consent_timeout: the agent
 * withdraws it (CONSENT_CANCEL) and its technicians read "no answer".
 */
static void
on_consent_timeout(uv_timer_t *t)
{
	struct entry *e = t->data;
	struct relay *r;
	struct qh_buf b;
	char text[256];
	uint64_t id, now = qh_clock_mono_ms();

	while (e->nquestions > 0 && e->questions[0].deadline <= now) {
		id = e->questions[0].id;
		question_drop(e, id);
		qh_info("agent %s: consent %" PRIu64 " not answered within %llds; "
			"withdrawn",
		    e->agent_id, id, e->srv->conf.consent_timeout);
		if (e->agent != NULL) {
			qh_buf_init(&b, 64);
			(void)qh_msg_begin(&b, QH_MSG_CONSENT_CANCEL);
			(void)qh_msg_put_u64(&b, QH_K_ID, id);
			(void)qh_mux_send_control(e->agent, &b);
			qh_buf_release(&b);
		}
		snprintf(text, sizeof(text),
		    "no answer: the customer did not allow the connection within "
		    "%llds; ask them to watch their screen and run the command again",
		    e->srv->conf.consent_timeout);
		while ((r = relay_waiting(&e->relays, id)) != NULL)
			relay_fail(r, "no-answer", text);
	}
	question_timer(e);
}

/*
 * Asks the customer about the relay's technician unless a question is out,
 * and tells the technician the command waits for that answer.
 */
static void
ask_consent(struct entry *e, struct relay *r, const struct relay_who *who,
    const char *text)
{
	unsigned need = relay_consent_need(r);
	struct relay *o;
	struct qh_buf b;
	char pretty[8], wait[256];

	if ((o = relay_waiting_login(&e->relays, who->login, need, r)) != NULL)
		relay_set_consent_id(r, relay_consent_id(o));
	else if (e->nquestions == MAX_QUESTIONS) {
		relay_fail(r, "busy",
		    "too many questions wait for this customer's answer; try again "
		    "in a minute");
		return;
	} else {
		relay_set_consent_id(r, ++e->srv->next_consent_id);
		qh_buf_init(&b, 4096);
		(void)qh_msg_begin(&b, QH_MSG_CONSENT);
		(void)qh_msg_put_u64(&b, QH_K_ID, relay_consent_id(r));
		(void)qh_msg_put_str(&b, QH_K_LOGIN, who->login);
		(void)qh_msg_put_str(&b, QH_K_NAME, who->name);
		if (text != NULL)
			(void)qh_msg_put_str(&b, QH_K_TEXT, text);
		if (need & RELAY_CONSENT_VIEW) {
			(void)qh_msg_put_str(&b, QH_K_KIND,
			    need & RELAY_CONSENT_CONTROL ? "control" : "view");
			(void)qh_msg_put_u32(&b, QH_K_FLAGS,
			    db_customer_record_desktop(e->srv->db, e->customer) ? 1 : 0);
		}
		(void)qh_mux_send_control(e->agent, &b);
		qh_buf_release(&b);
		e->questions[e->nquestions].id = relay_consent_id(r);
		e->questions[e->nquestions++].deadline =
		    qh_clock_mono_ms() + (uint64_t)e->srv->conf.consent_timeout * 1000;
		if (e->nquestions == 1)
			question_timer(e);
	}
	/* --yes and --unattended answer at once, and nobody can answer (bit 2). */
	if (e->flags & 7)
		return;
	snprintf(wait, sizeof(wait),
	    "waiting for the customer to allow the connection (code %s; no answer "
	    "within %llds counts as a refusal)...",
	    reply_code(e->code, pretty), e->srv->conf.consent_timeout);
	relay_tell(r, wait);
}

void
queue_consent_reply(struct entry *e, const struct qh_msg *m)
{
	struct relay *r;
	uint64_t id = 0;
	uint8_t allow = 0;
	unsigned need;

	if (qh_msg_get_u64(m, QH_K_ID, &id) != 0 ||
	    qh_msg_get_u8(m, QH_K_ALLOW, &allow) != 0)
		return;
	question_drop(e, id);
	question_timer(e);
	while ((r = relay_waiting(&e->relays, id)) != NULL) {
		need = relay_consent_need(r);
		if (!allow) {
			qh_info("agent %s: the customer declined %s (%s)", e->agent_id,
			    relay_login(r),
			    need & RELAY_CONSENT_CONTROL    ? "control"
				: need & RELAY_CONSENT_VIEW ? "view"
							    : "connect");
			relay_fail(r, "declined",
			    need & RELAY_CONSENT_CONTROL
				? "the customer declined control of the mouse and "
				  "keyboard"
				: need & RELAY_CONSENT_VIEW
				? "the customer declined to show the screen"
				: "the customer declined the connection");
			continue;
		}
		consent_add(e, relay_login(r), need);
		entry_start(e, r);
	}
}

/* Technician requests. */

/* The entry a request's code names; refuses ch with the contract's line if none. */
static struct entry *
request_target(struct server *srv, struct qh_chan *ch, const struct qh_msg *m)
{
	char *code = NULL, pretty[8], text[128];
	struct entry *e = NULL;

	if (qh_msg_get_str(m, QH_K_CODE, &code) != 0) {
		qh_chan_refuse(ch, "format", "request without a session code");
		return NULL;
	}
	if ((e = queue_index_code(srv, code)) == NULL) {
		snprintf(text, sizeof(text), "no waiting agent with code %s",
		    reply_code(code, pretty));
		qh_chan_refuse(ch, "unknown-code", text);
	}
	free(code);
	return e;
}

/* The entry with an open session a request names, or NULL after refusing ch. */
static struct entry *
request_session(struct server *srv, struct qh_chan *ch, const struct qh_msg *m)
{
	struct entry *e;
	char text[128], pretty[8];

	if ((e = request_target(srv, ch, m)) == NULL)
		return NULL;
	if (e->session == NULL) {
		snprintf(text, sizeof(text), "no session is open with %s",
		    reply_code(e->code, pretty));
		qh_chan_refuse(ch, "no-session", text);
		return NULL;
	}
	return e;
}

void
queue_request(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const char *cmd, const struct qh_msg *m)
{
	struct entry *e;
	struct relay *r;
	struct ledger_balance b;
	struct admit_ask q;
	enum admit a = ADMIT_OK;
	const char *refusal;
	int64_t available = 0;
	char pretty[8], text[512], why[512], ctext[256];

	memset(&b, 0, sizeof(b));
	memset(&q, 0, sizeof(q));
	if ((e = request_target(srv, ch, m)) == NULL)
		return;
	if (e->agent == NULL) {
		snprintf(text, sizeof(text),
		    "the agent with code %s is reconnecting; try again in a moment",
		    reply_code(e->code, pretty));
		qh_chan_refuse(ch, "away", text);
		return;
	}
	if ((r = relay_new(srv, &e->relays, who, ch, cmd, m)) == NULL)
		return;
	if (relay_ticket(r) > 0 && !db_ticket_of(srv->db, relay_ticket(r), e->customer)) {
		snprintf(text, sizeof(text), "%s has no ticket %" PRId64, e->customer,
		    relay_ticket(r));
		relay_fail(r, "ticket", text);
		return;
	}
	relay_set_owner(r, consent_control_off, e);
	if ((consented(e, who->login) & relay_consent_need(r)) == relay_consent_need(r)) {
		entry_start(e, r);
		return;
	}
	if (e->session == NULL) {
		/* A session would start: refuse now what cannot be billed (R7, R8). */
		admit_ask_of(e, r, &q);
		a = admit_check(srv->db, &q, &b, &available);
		if ((refusal = admit_refusal(a, &q, available, why, sizeof(why))) !=
		    NULL) {
			qh_info("agent %s: %s refused before consent: %s", e->agent_id,
			    who->login, refusal);
			admit_tell_customer(e->agent, e->lang, a, relay_name(r),
			    relay_login(r), available);
			snprintf(text, sizeof(text), "%s%s", refusal,
			    a != ADMIT_UNREADABLE ? "; the customer has been told" : "");
			relay_fail(r, "balance", text);
			return;
		}
	}
	ask_consent(e, r, who,
	    e->session == NULL
		? admit_consent_text(a, e->lang, q.installation, &b, ctext, sizeof(ctext))
		: NULL);
}

void
queue_end(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const struct qh_msg *m)
{
	static const struct qh_chan_ops reply_ops = { 0 };
	struct entry *e;
	char *note = NULL, *internal = NULL, summary[512];

	if ((e = request_session(srv, ch, m)) == NULL)
		return;
	(void)qh_msg_get_str(m, QH_K_NOTE, &note);
	(void)qh_msg_get_str(m, QH_K_INTERNAL, &internal);
	qh_chan_accept(ch, 0, &reply_ops, NULL);
	/* For staff only: on the session's row, never in its report or entry. */
	if (internal != NULL && e->session != NULL &&
	    db_session_internal(srv->db, session_id(e->session), internal) != 0)
		qh_warn("session %" PRId64 ": the internal note was not recorded",
		    session_id(e->session));
	if (entry_close_session(e, "technician", note, who->login, summary,
		sizeof(summary)) != 0)
		reply_error(ch, "internal",
		    "the session could not be recorded; see the console's log");
	else {
		strncat(summary, "\n", sizeof(summary) - strlen(summary) - 1);
		reply_text(ch, summary, strlen(summary));
	}
	free(note);
	free(internal);
}

void
queue_record(struct server *srv, const struct relay_who *who, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct entry *e;

	if ((e = request_session(srv, ch, m)) != NULL)
		relay_record(srv, e->session, who, ch, m);
}
