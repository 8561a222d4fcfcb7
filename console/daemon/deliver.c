/*
 * The outbox's sender (deliver.h). Each channel, mail and command, has at
 * most one message in flight, the oldest due first. A message is read and
 * rendered inside the store's row callback, sent outside it, and its
 * attempt recorded when the send reports back:
 *
 *	sent	 the server took it (or notify_command exited 0)
 *	queued	 it failed; tried again after 30 s, 1 min, 2 min ... at most
 *		 an hour apart, for as long as the server does not answer
 *	failed	 the server refused it PERMANENT_TRIES times (a 5xx reply),
 *		 or it cannot be rendered; `qh-console outbox --failed` shows it
 *	skipped	 nothing to send it with: mail or notify_command is not
 *		 configured, or nobody to send it to
 *
 * A message is sent at least once: a crash between the server's answer and
 * the record sends it again, as the same message (mail.c's Message-ID).
 * When a send succeeds after the server had not answered, every queued
 * mail is tried at once, and a start tries them all once too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "deliver.h"
#include "mail.h"
#include "notify.h"
#include "smtp.h"

#define TICK_MS		60000 /* at least this often: tickets' due times */
#define RETRY_FIRST_S	30    /* the wait after the first failure, doubled after each */
#define RETRY_MAX_S	3600  /* the longest wait */
#define PERMANENT_TRIES 3     /* refusals (5xx) before a mail is given up */
#define PRUNE_EVERY_S	3600

/* A channel: its name in the outbox and whether a message is in flight. */
struct channel {
	const char *name;
	int busy;
	int down; /* mail: the last send found no server that answered */
};

/* The message taken from the outbox, while it is sent. */
struct job {
	struct server *srv;
	struct channel *ch;
	int64_t id;
	int64_t attempts; /* before this one */
	char event[200];
	int render_err;		 /* mail: how rendering went */
	struct mail_message msg; /* mail: rendered */
	char *doc;		 /* command: the document */
};

static struct {
	struct server *srv;
	uv_timer_t timer;
	int started;
	struct channel mail, command;
	int64_t last_tickets, last_prune;
} D = { .mail = { "mail", 0, 0 }, .command = { "command", 0, 0 } };

static void schedule(struct server *srv);

/* The wait before the next try after `attempts` failed ones. */
static int64_t
backoff(int64_t attempts)
{
	int64_t s = RETRY_FIRST_S;

	while (--attempts > 0 && s < RETRY_MAX_S)
		s *= 2;
	return s < RETRY_MAX_S ? s : RETRY_MAX_S;
}

/* Records how a message's attempt ended; logged when it cannot be recorded. */
static void
record(struct server *srv, int64_t id, const struct outbox_attempt *a)
{
	int r;

	if ((r = db_outbox_attempt(srv->db, id, a)) != 0)
		qh_error("outbox %" PRId64 ": the attempt could not be recorded (%s); it "
			 "will be tried again",
		    id, qh_strerror(r));
}

static void
job_free(struct job *j)
{
	mail_message_free(&j->msg);
	free(j->doc);
	free(j);
}

/* The store's row callback: copies (and renders) what the send needs. */
static int
take(void *arg, const struct outbox_row *row)
{
	struct job *j = arg;
	struct mail_setup setup;

	j->id = row->id;
	j->attempts = row->attempts;
	snprintf(j->event, sizeof(j->event), "%s", row->event);
	if (j->ch == &D.command) {
		if ((j->doc = strdup(row->data)) == NULL)
			return QH_ERR_NOMEM;
		return 0;
	}
	if ((j->render_err = mail_setup_of(&j->srv->conf, &setup)) == 0)
		j->render_err = mail_render(row, &setup, &j->msg);
	return 0;
}

/* A send ended: record it, then look for the next. */
static void
finish(struct job *j, const struct outbox_attempt *a)
{
	struct server *srv = j->srv;
	struct channel *ch = j->ch;

	record(srv, j->id, a);
	ch->busy = 0;
	job_free(j);
	if (!srv->stopping)
		deliver_kick(srv);
}

static void
mail_done(void *arg, const struct smtp_result *res)
{
	struct job *j = arg;
	struct outbox_attempt a;
	int woken = 0;

	memset(&a, 0, sizeof(a));
	a.answer = res->answer;
	a.counted = 1;
	if (res->ok) {
		a.status = "sent";
		a.message_id = j->msg.message_id;
		a.sent_to = j->msg.rcpt_text;
		qh_info("outbox %" PRId64 ": %s sent to %d recipient(s): %s", j->id,
		    j->event, j->msg.nrcpt, res->answer);
		/* The server is back: what waited for it goes now. */
		if (D.mail.down && db_outbox_wake(j->srv->db, "mail", &woken) == 0 &&
		    woken > 0)
			qh_info("outbox: the mail server answers again; %d message(s) "
				"go now",
			    woken);
		D.mail.down = 0;
	} else if (res->aborted) {
		a.status = "queued";
		a.counted = 0;
		a.answer = "interrupted by the console's shutdown";
		a.next_at = qh_clock_now();
	} else if (res->permanent && j->attempts + 1 >= PERMANENT_TRIES) {
		a.status = "failed";
		qh_warn("outbox %" PRId64 ": %s refused %d times; given up: %s", j->id,
		    j->event, PERMANENT_TRIES, res->answer);
	} else {
		a.status = "queued";
		a.next_at = qh_clock_now() + backoff(j->attempts + 1);
		D.mail.down = !res->permanent;
		qh_warn("outbox %" PRId64 ": %s not sent (%s); next try in %" PRId64 " s",
		    j->id, j->event, res->answer, backoff(j->attempts + 1));
	}
	finish(j, &a);
}

static void
command_done(void *arg, const char *why)
{
	struct job *j = arg;
	struct outbox_attempt a;

	memset(&a, 0, sizeof(a));
	a.counted = 1;
	if (why == NULL) {
		a.status = "sent";
		a.answer = "exit status 0";
		qh_info("outbox %" PRId64 ": %s delivered to notify_command", j->id,
		    j->event);
	} else {
		a.status = "queued";
		a.answer = why;
		a.next_at = qh_clock_now() + backoff(j->attempts + 1);
		qh_warn("outbox %" PRId64 ": notify_command failed (%s); will retry",
		    j->id, why);
	}
	finish(j, &a);
}

/*
 * Sends j, or settles it at once (nothing to send it with, nobody to send
 * it to, cannot be rendered). Returns 1 when it is in flight, 0 when it
 * was settled, <0 when it could not even be recorded.
 */
static int
dispatch(struct job *j)
{
	struct server *srv = j->srv;
	struct smtp_server server;
	struct outbox_attempt a;
	char why[128];
	int r;

	memset(&a, 0, sizeof(a));
	if (j->ch == &D.command) {
		if (srv->conf.notify_command[0] == '\0') {
			a.status = "skipped";
			a.answer = "no notify_command is configured";
		} else if ((r = notify_run(srv, j->doc, strlen(j->doc), command_done,
				j)) == 0)
			return 1;
		else {
			a.status = "queued";
			a.counted = 1;
			a.answer = qh_strerror(r);
			a.next_at = qh_clock_now() + backoff(j->attempts + 1);
		}
	} else if (j->render_err == QH_ERR_CONFIG) {
		a.status = "skipped";
		a.answer = "mail is not configured ([mail] url and from)";
	} else if (j->render_err == QH_ERR_NOT_FOUND) {
		a.status = "skipped";
		a.answer = "nobody to send it to (no address)";
	} else if (j->render_err != 0) {
		snprintf(why, sizeof(why), "cannot be rendered: %s",
		    qh_strerror(j->render_err));
		a.status = "failed";
		a.counted = 1;
		a.answer = why;
		qh_error("outbox %" PRId64 ": %s %s", j->id, j->event, why);
	} else {
		server.url = srv->conf.mail_url;
		server.from = srv->conf.mail_from;
		server.user = srv->conf.mail_user;
		server.password_file = srv->conf.mail_password_file;
		if ((r = smtp_send(srv->loop, &server, &j->msg, mail_done, j)) == 0)
			return 1;
		a.status = "queued";
		a.counted = 1;
		a.answer = qh_strerror(r);
		a.next_at = qh_clock_now() + backoff(j->attempts + 1);
	}
	if ((r = db_outbox_attempt(srv->db, j->id, &a)) != 0)
		return r;
	if (strcmp(a.status, "skipped") == 0)
		qh_debug("outbox %" PRId64 ": %s skipped: %s", j->id, j->event, a.answer);
	return 0;
}

/* Takes the channel's due messages until one is in flight or none is due. */
static void
run_channel(struct server *srv, struct channel *ch)
{
	struct job *j;
	int r, guard;

	for (guard = 0; !ch->busy && guard < 1000; guard++) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			return;
		j->srv = srv;
		j->ch = ch;
		r = db_outbox_next(srv->db, ch->name, qh_clock_now(), take, j);
		if (r <= 0) {
			job_free(j);
			return;
		}
		if ((r = dispatch(j)) == 1) {
			ch->busy = 1; /* the job is the send's until it reports */
			return;
		}
		job_free(j);
		if (r < 0)
			return;
	}
}

void
deliver_kick(struct server *srv)
{
	if (!D.started || srv->stopping)
		return;
	run_channel(srv, &D.mail);
	run_channel(srv, &D.command);
	schedule(srv);
}

/* Every TICK_MS at most, and when the next queued message is due. */
static void
on_timer(uv_timer_t *t)
{
	struct server *srv = t->data;
	int64_t now = qh_clock_now();
	int n = 0;

	if (now - D.last_tickets >= TICK_MS / 1000) {
		D.last_tickets = now;
		if (db_ticket_due_alerts(srv->db, &srv->conf, now, &n) == 0 && n > 0)
			qh_info("outbox: %d ticket warning(s) for staff", n);
	}
	if (now - D.last_prune >= PRUNE_EVERY_S) {
		D.last_prune = now;
		if (db_outbox_prune(srv->db, now - (int64_t)OUTBOX_KEEP_DAYS * 86400,
			&n) == 0 &&
		    n > 0)
			qh_info("outbox: %d message(s) sent more than %d days ago pruned",
			    n, OUTBOX_KEEP_DAYS);
	}
	deliver_kick(srv);
}

/* Arms the timer for the next due message of an idle channel, TICK_MS at most. */
static void
schedule(struct server *srv)
{
	struct channel *chs[2] = { &D.mail, &D.command };
	int64_t now = qh_clock_now(), when, wait = TICK_MS;
	int i;

	for (i = 0; i < 2; i++) {
		if (chs[i]->busy ||
		    db_outbox_next_due(srv->db, chs[i]->name, &when) != 0 || when == 0)
			continue;
		/* Due times are whole seconds: wake just after the second turns. */
		if ((when - now) * 1000 + 50 < wait)
			wait = (when - now) * 1000 + 50;
	}
	if (wait < 50)
		wait = 50;
	uv_timer_start(&D.timer, on_timer, (uint64_t)wait, 0);
}

int
deliver_start(struct server *srv)
{
	int r, woken = 0, n = 0;

	if ((r = smtp_init()) != 0) {
		qh_error("libcurl could not be initialised; no mail will be sent");
		return r;
	}
	D.srv = srv;
	uv_timer_init(srv->loop, &D.timer);
	D.timer.data = srv;
	D.started = 1;
	D.last_tickets = D.last_prune = 0;
	/* A start tries everything queued once: the server may be back. */
	if (db_outbox_wake(srv->db, "mail", &woken) == 0 &&
	    db_outbox_wake(srv->db, "command", &n) == 0 && woken + n > 0)
		qh_info("outbox: %d message(s) waiting", woken + n);
	if (srv->conf.mail_url[0] == '\0')
		qh_info("outbox: mail is not configured ([mail] url); mails are skipped");
	uv_timer_start(&D.timer, on_timer, 0, 0);
	return 0;
}

void
deliver_stop(void)
{
	if (!D.started)
		return;
	D.started = 0;
	smtp_abort();
	uv_close((uv_handle_t *)&D.timer, NULL);
}

void
deliver_end(void)
{
	smtp_cleanup();
}
