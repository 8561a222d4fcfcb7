/*
 * Sessions and their meter (R2, R4, R11–R13).
 *
 * A session is billable while at least one technician command runs in it
 * and its agent is connected; the meter adds up those stretches on the
 * monotonic clock. The row is committed when the session opens, before any
 * byte of its first channel is relayed, its billable seconds are persisted
 * every PERSIST_MS, and the close writes the final figure exactly once,
 * whatever closed it. A close the database does not take (disk full, a
 * lock held by another process) keeps the session "closing", off its
 * owner, and retries the same close, reason and note included, with
 * backoff until it is written (R4). A console start closes what a crash
 * left open at its last persisted point.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/units.h"
#include "meter.h"
#include "deliver.h"
#include "session.h"

#define PERSIST_MS	   10000 /* R13 asks for at least every 15 s */
#define PERSIST_RETRY_MS   1000	 /* after a failed persist: soon, within R13's 15 s */
#define CLOSE_RETRY_MIN_MS 250
#define CLOSE_RETRY_MAX_MS 30000

struct session {
	struct server *srv;
	const struct session_ops *ops; /* NULL once closing: the owner is gone */
	void *arg;
	int64_t id;
	char customer[QH_ID_MAX + 1];
	struct meter meter;  /* R2 */
	int64_t persisted_s; /* billable seconds last written */
	int64_t gap_event;   /* open agent_gap event row, 0 if none */
	int64_t available;   /* R7: units available when it opened */
	int warned;	     /* on_exhausted was called */
	int open_handles;
	uv_timer_t persist; /* while closing: the close's retry */
	uv_timer_t idle;
	struct { /* the close the database has not taken yet */
		int pending;
		char reason[32];
		char *note;
		int64_t secs;
		int64_t at; /* UTC seconds: when it closed */
		uint64_t backoff_ms;
		int attempts;
	} close;
	LIST_ENTRY(session) link; /* in srv->closing while the close is pending */
};

int64_t
session_id(const struct session *s)
{
	return s->id;
}

/* Billable milliseconds so far (R2). */
static uint64_t
session_ms(const struct session *s)
{
	return meter_ms(&s->meter, qh_clock_mono_ms());
}

static void
on_idle(uv_timer_t *t)
{
	struct session *s = t->data;

	qh_info("session %" PRId64 ": no technician for %llds; closing", s->id,
	    s->srv->conf.idle_seconds);
	s->ops->on_idle(s->arg);
}

/* R12: with nobody attached, the session closes after the idle limit. */
static void
idle_arm(struct session *s)
{
	if (s->meter.attached > 0)
		uv_timer_stop(&s->idle);
	else
		uv_timer_start(&s->idle, on_idle,
		    (uint64_t)s->srv->conf.idle_seconds * 1000, 0);
}

int64_t
session_running_units(const struct session *s)
{
	return qh_units((int64_t)((session_ms(s) + 999) / 1000));
}

/* R7: tells the owner once when the running units use up what was available. */
static void
check_exhausted(struct session *s)
{
	int64_t running = session_running_units(s);

	if (s->warned || running < s->available || running == 0)
		return;
	s->warned = 1;
	qh_info("session %" PRId64 ": running units (%" PRId64 ") reached the available "
		"balance (%" PRId64 ")",
	    s->id, running, s->available);
	s->ops->on_exhausted(s->arg, running, s->available);
}

static void
on_persist(uv_timer_t *t)
{
	struct session *s = t->data;
	int64_t secs = (int64_t)(session_ms(s) / 1000);

	if (secs != s->persisted_s) {
		if (db_session_persist(s->srv->db, s->id, secs) == 0)
			s->persisted_s = secs;
		else {
			qh_error("session %" PRId64 ": meter not persisted; retrying in "
				 "%d ms",
			    s->id, PERSIST_RETRY_MS);
			uv_timer_start(&s->persist, on_persist, PERSIST_RETRY_MS,
			    PERSIST_MS);
		}
	}
	check_exhausted(s);
}

int
session_open(struct server *srv, const struct db_session *info, int agent_up,
    int64_t available, const struct session_ops *ops, void *arg, struct session **sp)
{
	struct session *s;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return QH_ERR_NOMEM;
	s->srv = srv;
	s->ops = ops;
	s->arg = arg;
	s->available = available;
	snprintf(s->customer, sizeof(s->customer), "%s", info->customer);
	meter_init(&s->meter, agent_up, qh_clock_mono_ms());
	/* Committed before the first byte is relayed (R13). */
	if ((r = db_session_open(srv->db, info, &s->id)) != 0) {
		free(s);
		return r;
	}
	uv_timer_init(srv->loop, &s->persist);
	uv_timer_init(srv->loop, &s->idle);
	s->persist.data = s->idle.data = s;
	s->open_handles = 2;
	uv_timer_start(&s->persist, on_persist, PERSIST_MS, PERSIST_MS);
	idle_arm(s);
	qh_info("session %" PRId64 ": opened for %s (agent %s, code %s)", s->id,
	    info->customer, info->agent_id, info->code);
	*sp = s;
	return 0;
}

void
session_attach(struct session *s)
{
	meter_attach(&s->meter, qh_clock_mono_ms());
	idle_arm(s);
}

void
session_detach(struct session *s)
{
	meter_detach(&s->meter, qh_clock_mono_ms());
	idle_arm(s);
}

void
session_agent_away(struct session *s)
{
	meter_agent(&s->meter, 0, qh_clock_mono_ms());
	s->gap_event = db_event_add(s->srv->db, s->id, "agent_gap", NULL, NULL, NULL, 0);
}

void
session_agent_back(struct session *s)
{
	meter_agent(&s->meter, 1, qh_clock_mono_ms());
	db_event_end(s->srv->db, s->gap_event, NULL);
	s->gap_event = 0;
}

int64_t
session_event_attach(struct session *s, const char *login, const char *command)
{
	return db_event_add(s->srv->db, s->id, "attach", login, command, NULL, 0);
}

void
session_event_end(struct session *s, int64_t id, const char *detail)
{
	db_event_end(s->srv->db, id, detail);
}

int64_t
session_event_note(struct session *s, const char *kind, const char *login,
    const char *command, const char *detail)
{
	return db_event_add(s->srv->db, s->id, kind, login, command, detail, 1);
}

static void
session_freed(uv_handle_t *h)
{
	struct session *s = h->data;

	if (--s->open_handles == 0) {
		free(s->close.note);
		free(s);
	}
}

/*
 * Why a session closed, as the customer reads it (the codes are the
 * ledger's, but "disabled", which is stored as "revoked": the sessions
 * table's reasons predate `customer disable`, and both mean that the
 * vendor withdrew access).
 */
static const struct {
	const char *code;
	const char *text;
} reasons[] = {
	{ "technician", N_("ended by the technician") },
	{ "customer", N_("ended by you") },
	{ "idle", N_("no technician for too long") },
	{ "agent_lost", N_("the connection was lost") },
	{ "shutdown", N_("the support server shut down") },
	{ "revoked", N_("this PC's access was revoked") },
	{ "disabled",
	    N_("your support vendor disabled remote support for this customer") },
};

void
session_summary(const struct session_end *end, enum qh_lang lang, char *out, size_t len)
{
	const char *why = end->reason;
	char dur[32], left[64];
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].code, end->reason) == 0)
			why = qh_tr(lang, reasons[i].text);
	qh_clock_format_duration(end->secs, dur, sizeof(dur));
	qh_units_text_in(lang, end->balance_after, left, sizeof(left));
	if (end->pending)
		snprintf(out, len,
		    qh_tr(lang,
			"session %lld closed (%s): billable time %s; the debit "
			"is written as soon as the support server can"),
		    (long long)end->id, why, dur);
	else if (!end->recorded)
		snprintf(out, len,
		    qh_tr(lang,
			"session %lld closed (%s): billable time %s; the debit "
			"could not be recorded yet"),
		    (long long)end->id, why, dur);
	else if (end->installations > 0)
		snprintf(out, len,
		    qh_tr(lang,
			"session %lld closed (%s): billable time %s, 1 "
			"installation debited"),
		    (long long)end->id, why, dur);
	else
		snprintf(out, len,
		    qh_ntr(lang,
			"session %lld closed (%s): billable time %s, %lld unit debited, "
			"balance %s",
			"session %lld closed (%s): billable time %s, %lld units debited, "
			"balance %s",
			end->units == 1 ? 1UL : 2UL),
		    (long long)end->id, why, dur, (long long)end->units, left);
}

/* The line technicians and the log read about a close (English). */
static void
summarise(struct session_end *end, const char *reason, const struct ledger_entry *debit)
{
	char dur[32], left[64];

	snprintf(end->reason, sizeof(end->reason), "%s", reason);
	end->units = -debit->units;
	end->installations = -debit->installations;
	end->balance_after = debit->balance_after;
	qh_clock_format_duration(end->secs, dur, sizeof(dur));
	qh_units_text(debit->balance_after, left, sizeof(left));
	if (end->pending)
		snprintf(end->summary, sizeof(end->summary),
		    "session %" PRId64 " closed (%s): billable time %s; the debit is "
		    "written as soon as the database takes it",
		    end->id, reason, dur);
	else if (!end->recorded)
		snprintf(end->summary, sizeof(end->summary),
		    "session %" PRId64 " closed (%s): billable "
		    "time %s; the debit could not be recorded yet",
		    end->id, reason, dur);
	else if (debit->installations < 0)
		snprintf(end->summary, sizeof(end->summary),
		    "session %" PRId64 " closed (%s): billable "
		    "time %s, 1 installation debited",
		    end->id, reason, dur);
	else
		snprintf(end->summary, sizeof(end->summary),
		    "session %" PRId64 " closed (%s): billable "
		    "time %s, %" PRId64 " unit%s debited, balance %s",
		    end->id, reason, dur, -debit->units, debit->units == -1 ? "" : "s",
		    left);
}

/* Frees s once its timers have closed. */
static void
session_release(struct session *s)
{
	if (s->close.pending) {
		s->close.pending = 0;
		LIST_REMOVE(s, link);
	}
	uv_close((uv_handle_t *)&s->persist, session_freed);
	uv_close((uv_handle_t *)&s->idle, session_freed);
}

/* Writes the close of s, as it was at closed (UTC seconds). */
static int
close_write(struct session *s, int64_t secs, int64_t closed, const char *reason,
    const char *note, struct ledger_entry *debit)
{
	int r;

	memset(debit, 0, sizeof(*debit));
	if (strcmp(reason, "disabled") == 0)
		reason = "revoked";
	r = db_session_close(s->srv->db, s->id, reason, note, secs, closed, debit);
	if (r == QH_ERR_EXISTS)
		qh_warn("session %" PRId64 ": its debit was written already; not twice",
		    s->id);
	if (r == 0)
		deliver_kick(s->srv); /* its report, and an R5 crossing's messages */
	return r;
}

static void
on_close_retry(uv_timer_t *t)
{
	struct session *s = t->data;
	struct ledger_entry debit;
	int r;

	s->close.attempts++;
	r = close_write(s, s->close.secs, s->close.at, s->close.reason, s->close.note,
	    &debit);
	if (r == 0 || r == QH_ERR_EXISTS) {
		if (r == 0)
			qh_info("session %" PRId64 ": close (%s) written at attempt %d: "
				"%" PRId64 " unit%s, %" PRId64 " installation%s debited",
			    s->id, s->close.reason, s->close.attempts + 1, -debit.units,
			    debit.units == -1 ? "" : "s", -debit.installations,
			    debit.installations == -1 ? "" : "s");
		session_release(s);
		return;
	}
	if (s->close.backoff_ms < CLOSE_RETRY_MAX_MS / 2)
		s->close.backoff_ms *= 2;
	else
		s->close.backoff_ms = CLOSE_RETRY_MAX_MS;
	qh_warn("session %" PRId64 ": close still not written (%s); next try in %llu "
		"ms",
	    s->id, qh_strerror(r), (unsigned long long)s->close.backoff_ms);
	uv_timer_start(&s->persist, on_close_retry, s->close.backoff_ms, 0);
}

/* Keeps s as closing: off its owner, its close retried until written. */
static void
close_later(struct session *s, const char *reason, const char *note, int64_t secs)
{
	s->ops = NULL;
	s->arg = NULL;
	snprintf(s->close.reason, sizeof(s->close.reason), "%s", reason);
	s->close.note = note != NULL ? strdup(note) : NULL;
	if (note != NULL && s->close.note == NULL)
		qh_error("session %" PRId64 ": out of memory: its note is lost", s->id);
	s->close.secs = secs;
	s->close.backoff_ms = CLOSE_RETRY_MIN_MS;
	s->close.pending = 1;
	LIST_INSERT_HEAD(&s->srv->closing, s, link);
	uv_timer_stop(&s->idle);
	uv_timer_stop(&s->persist);
	uv_timer_start(&s->persist, on_close_retry, s->close.backoff_ms, 0);
}

int
session_close(struct session *s, const char *reason, const char *note,
    struct session_end *end)
{
	struct ledger_entry debit;
	int r;

	meter_stop(&s->meter, qh_clock_mono_ms());
	end->id = s->id;
	end->secs = (int64_t)((session_ms(s) + 999) / 1000); /* started seconds count */
	end->pending = 0;
	s->close.at = qh_clock_now();
	r = close_write(s, end->secs, s->close.at, reason, note, &debit);
	end->recorded = r == 0;
	if (r != 0 && r != QH_ERR_EXISTS) {
		/* R4: never dropped; the same close is retried until written. */
		qh_error("session %" PRId64 ": close not written (%s); retrying in the "
			 "background",
		    s->id, qh_strerror(r));
		end->pending = 1;
		summarise(end, reason, &debit);
		qh_info("%s", end->summary);
		close_later(s, reason, note, end->secs);
		return 0;
	}
	summarise(end, reason, &debit);
	qh_info("%s", end->summary);
	session_release(s);
	return r;
}

int64_t
session_closing_units(struct server *srv, const char *customer)
{
	struct session *s;
	int64_t units = 0;

	LIST_FOREACH (s, &srv->closing, link)
		if (strcmp(s->customer, customer) == 0)
			units += qh_units(s->close.secs);
	return units;
}

void
session_closing_flush(struct server *srv)
{
	struct session *s;
	struct ledger_entry debit;
	int r;

	/* A last try, waiting for the lock as long as a command would. */
	(void)db_set_busy_ms(srv->db, DB_BUSY_MS);
	while ((s = LIST_FIRST(&srv->closing)) != NULL) {
		r = close_write(s, s->close.secs, s->close.at, s->close.reason,
		    s->close.note, &debit);
		if (r != 0 && r != QH_ERR_EXISTS)
			qh_error("session %" PRId64
				 ": close (%s) still not written (%s); "
				 "the next start closes it at its last persisted point",
			    s->id, s->close.reason, qh_strerror(r));
		session_release(s);
	}
}

int
session_recover(struct server *srv)
{
	int r, closed;

	if ((r = db_session_recover(srv->db, &closed)) != 0)
		return r;
	if (closed > 0)
		qh_info("closed and debited %d session(s) left open by the last run",
		    closed);
	return 0;
}
