/*
 * qh-agent run: the customer's side of a session. It dials out to the
 * console with the certificate from `join`, waits in the queue with a
 * session code the customer reads to the technician, asks the customer
 * before a technician gets in, shows what happens, runs the technician's
 * commands (exec.c, shell.c) and reconnects by itself with jittered
 * back-off, presenting the resume token so that the session and its code
 * survive. Ctrl-C, SIGTERM or "q" ends the session; "c" takes control
 * of the screen back from a technician's desktop. With a window
 * (ui_window(), Windows) the same happens there: the code, the balance,
 * the questions and what the technician does are shown in it, and its
 * "End session" button or closing it ends the session.
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "qh/addr.h"
#include "qh/pem.h"
#include "qh/units.h"
#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/exetag.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "desktop.h"
#include "platform.h"
#include "run.h"

#define BACKOFF_MIN_MS	   1000
#define BACKOFF_MAX_MS	   30000
#define CONNECT_TIMEOUT_MS 30000 /* dial, handshake and WELCOME */
#define END_TIMEOUT_MS	   5000	 /* for SESSION closed after "end" */
#define KEEPALIVE_IDLE_MS  15000
#define KEEPALIVE_DEAD_MS  45000

#define HELLO_UNATTENDED 0x1
#define HELLO_YES	 0x2
#define HELLO_NOBODY	 0x4 /* no window, no terminal: every question is refused */

static const char *const state_names[] = {
	[AG_WAITING] = "waiting",
	[AG_CONNECTING] = "connecting",
	[AG_HELLO] = "hello",
	[AG_READY] = "ready",
	[AG_DONE] = "done",
};

static void agent_connect(struct agent *a);
static void agent_finish(struct agent *a);

static void
set_state(struct agent *a, enum agent_state s)
{
	qh_debug("console %s:%d: %s -> %s", a->host, a->port, state_names[a->state],
	    state_names[s]);
	a->state = s;
}

/* Closes the connection on our side; on_close follows. */
static void
agent_disconnect(struct agent *a, int err)
{
	if (a->mux != NULL)
		qh_mux_close(a->mux, err, NULL);
}

/* Leaves: now if there is no connection, else once it has closed. */
void
agent_stop(struct agent *a, int status)
{
	a->stopping = 1;
	a->exit_status = status;
	if (a->mux != NULL)
		agent_disconnect(a, 0);
	else
		agent_finish(a);
}

/* Messages to the console. */

static int
send_hello(struct agent *a)
{
	char host[sizeof(a->hostname)];
	struct qh_buf b;
	uint32_t flags = 0;
	int r;

	if (a->unattended)
		flags |= HELLO_UNATTENDED;
	if (a->yes)
		flags |= HELLO_YES;
	if (!a->yes && !a->unattended && !a->tty_open && ui_window() == NULL)
		flags |= HELLO_NOBODY;
	/* The console refuses a host name with controls: send what it shows. */
	qh_display_str(a->hostname, host, sizeof(host), 0);
	qh_buf_init(&b, 1024);
	if ((r = qh_msg_begin(&b, QH_MSG_HELLO)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_HOST, host)) == 0 &&
	    (r = qh_msg_put_u32(&b, QH_K_FLAGS, flags)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_LANG, qh_lang_name(qh_lang_get()))) == 0 &&
	    (a->resume[0] == '\0' ||
		((r = qh_msg_put_str(&b, QH_K_RESUME, a->resume)) == 0 &&
		    (r = qh_msg_put_str(&b, QH_K_CODE, a->code)) == 0)))
		r = qh_mux_send_control(a->mux, &b);
	qh_buf_release(&b);
	return r;
}

void
send_consent_reply(struct agent *a, uint64_t id, int allow)
{
	struct qh_buf b;
	uint8_t v = allow ? 1 : 0;

	if (a->mux == NULL || a->state != AG_READY)
		return;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_CONSENT_REPLY) == 0 &&
	    qh_msg_put_u64(&b, QH_K_ID, id) == 0 &&
	    qh_msg_put(&b, QH_K_ALLOW, &v, 1) == 0)
		(void)qh_mux_send_control(a->mux, &b);
	qh_buf_release(&b);
}

static int
send_session_end(struct agent *a)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 64);
	if ((r = qh_msg_begin(&b, QH_MSG_SESSION)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_KIND, "end")) == 0)
		r = qh_mux_send_control(a->mux, &b);
	qh_buf_release(&b);
	return r;
}

/* Ending, by the customer. */

static void
on_endwait(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (a->state == AG_DONE)
		return;
	qh_say(_("no answer from the console; leaving"));
	agent_stop(a, 0);
}

void
agent_end(struct agent *a)
{
	if (a->state == AG_DONE)
		return;
	if (a->ending) {
		/* Asked twice: do not wait for the console any longer. */
		agent_stop(a, 0);
		return;
	}
	if (a->session_open && a->state == AG_READY && a->mux != NULL &&
	    send_session_end(a) == 0) {
		ui_line(_("ending the session..."));
		a->ending = 1;
		a->stopping = 1;
		a->exit_status = 0;
		uv_timer_start(&a->endwait, on_endwait, END_TIMEOUT_MS, 0);
		return;
	}
	agent_stop(a, 0);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;

	qh_debug("signal %d", signum);
	agent_end(a);
}

#ifdef SIGCHLD
static void
on_sigchld(uv_signal_t *s, int signum QH_UNUSED)
{
	struct agent *a = s->data;

	task_reap(&a->tasks);
}
#endif

/* Control messages from the console: one handler per type. */

static void
print_code(const char *code)
{
	size_t len = strlen(code);

	if (ui_window() != NULL)
		ui_window()->code(code);
	if (len == 6)
		ui_line(_("Your session code: %.3s %.3s   (read it to your technician)"),
		    code, code + 3);
	else
		ui_line(_("Your session code: %s   (read it to your technician)"), code);
}

static int
code_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > CODE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Copies text field key into out (outlen bytes, cut if longer); "" when the
 * field is absent. The decoder has checked it is UTF-8 without NUL.
 */
static int
msg_text(const struct qh_msg *m, uint8_t key, char *out, size_t outlen)
{
	const uint8_t *p;
	size_t len;

	out[0] = '\0';
	if (qh_msg_get(m, key, &p, &len) != 0)
		return QH_ERR_NOT_FOUND;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
on_welcome(struct agent *a, const struct qh_msg *m)
{
	char code[CODE_MAX + 2], resume[sizeof(a->resume) + 1], name[257];
	char text[TEXT_MAX];
	uint64_t units, session;
	int64_t u;
	char left[64];

	(void)msg_text(m, QH_K_CODE, code, sizeof(code));
	(void)msg_text(m, QH_K_RESUME, resume, sizeof(resume));
	if (!code_valid(code) || resume[0] == '\0' ||
	    strlen(resume) >= sizeof(a->resume)) {
		qh_warn("console %s:%d: malformed welcome", a->host, a->port);
		return QH_ERR_PROTOCOL;
	}
	memcpy(a->resume, resume, strlen(resume) + 1); /* checked: fits */
	(void)msg_text(m, QH_K_CUSTOMER, a->customer, sizeof(a->customer));
	ui_sanitize(a->customer);
	(void)msg_text(m, QH_K_NAME, name, sizeof(name));
	(void)msg_text(m, QH_K_TEXT, text, sizeof(text));
	set_state(a, AG_READY);
	a->was_ready = 1;
	a->backoff_ms = BACKOFF_MIN_MS;
	uv_timer_stop(&a->deadline);

	if (name[0] != '\0')
		ui_line(_("quarterhour: connected to %s:%d as %s (%s)"), a->host, a->port,
		    a->customer, name);
	else
		ui_line(_("quarterhour: connected to %s:%d as %s"), a->host, a->port,
		    a->customer);
	if (strcmp(code, a->code) != 0) {
		memcpy(a->code, code, strlen(code) + 1); /* code_valid: fits */
		print_code(a->code);
	}
	if (qh_msg_get_u64(m, QH_K_UNITS, &units) == 0) {
		/* Signed: the balance may be negative (R7). A unit is 15 min. */
		u = (int64_t)units;
		qh_units_text_in(qh_lang_get(), u, left, sizeof(left));
		ui_line(_("Balance: %s"), left);
		if (ui_window() != NULL)
			ui_window()->balance(left, text[0] != '\0');
	}
	if (text[0] != '\0')
		ui_line(_("Warning: %s"), text);
	agent_status(_("Connected. Read the code to your technician."));
	if (qh_msg_get_u64(m, QH_K_SESSION, &session) == 0) {
		if (!a->session_open || a->session != session)
			ui_line(_("session %llu is open"), (unsigned long long)session);
		a->session_open = 1;
		a->session = session;
	} else if (a->session_open) {
		ui_line(_("the session was closed while the connection was down"));
		a->session_open = 0;
		consent_forget(a);
	}
	qh_info("console %s:%d: waiting with code %s", a->host, a->port, a->code);
	return 0;
}

static int
on_error(struct agent *a, const struct qh_msg *m)
{
	char code[65], text[TEXT_MAX];

	(void)msg_text(m, QH_K_CODE, code, sizeof(code));
	(void)msg_text(m, QH_K_TEXT, text, sizeof(text));
	/*
	 * A revocation can come before HELLO told the console our language:
	 * the customer reads ours. Other refusals come in our language.
	 */
	if (strcmp(code, "revoked") == 0)
		snprintf(text, sizeof(text), "%s",
		    _("this PC's access was revoked by your support vendor; please "
		      "contact them to enrol it again"));
	qh_say("%s", text[0] != '\0' ? text : code);
	agent_status("%s", text[0] != '\0' ? text : code);
	snprintf(a->why, sizeof(a->why), _("refused (%s)"), code);
	if (strcmp(code, "revoked") == 0 || strcmp(code, "auth") == 0 ||
	    strcmp(code, "role") == 0 || strcmp(code, "expired") == 0)
		agent_stop(a, 1); /* retrying cannot help */
	else
		agent_disconnect(a, QH_ERR_REFUSED);
	return 0;
}

static int
on_notice(struct agent *a QH_UNUSED, const struct qh_msg *m)
{
	char text[TEXT_MAX];

	(void)msg_text(m, QH_K_TEXT, text, sizeof(text));
	ui_notice("%s", text);
	return 0;
}

static int
on_consent(struct agent *a, const struct qh_msg *m)
{
	struct consent *c;
	char login[QH_ID_MAX + 2], kind[16];
	uint64_t id = 0;
	uint32_t flags = 0;
	unsigned want;

	(void)qh_msg_get_u64(m, QH_K_ID, &id);
	(void)msg_text(m, QH_K_LOGIN, login, sizeof(login));
	(void)msg_text(m, QH_K_KIND, kind, sizeof(kind));
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	/* No kind: to connect. A kind we do not know is refused. */
	want = kind[0] == '\0'		   ? GRANT_CONNECT
	    : strcmp(kind, "view") == 0	   ? GRANT_VIEW
	    : strcmp(kind, "control") == 0 ? GRANT_VIEW | GRANT_CONTROL
					   : 0;
	if (!qh_id_valid(login) || want == 0) {
		qh_warn("console %s:%d: consent for an invalid login or of an unknown "
			"kind",
		    a->host, a->port);
		send_consent_reply(a, id, 0);
	} else if (a->nconsents == CONSENT_MAX) {
		qh_warn("console %s:%d: %d questions pending; refusing %s", a->host,
		    a->port, CONSENT_MAX, login);
		send_consent_reply(a, id, 0);
	} else {
		c = &a->consents[a->nconsents++];
		c->id = id;
		c->want = want;
		c->recorded = (flags & 1) != 0;
		memcpy(c->login, login, strlen(login) + 1); /* valid: fits */
		(void)msg_text(m, QH_K_NAME, c->name, sizeof(c->name));
		ui_sanitize(c->name);
		(void)msg_text(m, QH_K_TEXT, c->text, sizeof(c->text));
		ui_sanitize(c->text);
		consent_next(a);
	}
	return 0;
}

static int
on_consent_cancel(struct agent *a, const struct qh_msg *m)
{
	uint64_t id = 0;

	(void)qh_msg_get_u64(m, QH_K_ID, &id);
	consent_cancel(a, id);
	return 0;
}

static int
on_session(struct agent *a, const struct qh_msg *m)
{
	char kind[33], text[TEXT_MAX];
	uint64_t session = 0, seconds;

	(void)msg_text(m, QH_K_KIND, kind, sizeof(kind));
	(void)qh_msg_get_u64(m, QH_K_SESSION, &session);
	if (strcmp(kind, "opened") == 0) {
		a->session_open = 1;
		a->session = session;
		/* The console's own words (an installation), or ours. */
		if (msg_text(m, QH_K_TEXT, text, sizeof(text)) == 0) {
			ui_sanitize(text);
			ui_line("%s", text);
		} else
			ui_line(_("session %llu started; it is recorded and billed per "
				  "started 15 minutes"),
			    (unsigned long long)session);
		agent_status(_("Session %llu is running. Your technician is connected."),
		    (unsigned long long)session);
	} else if (strcmp(kind, "closed") == 0) {
		(void)msg_text(m, QH_K_TEXT, text, sizeof(text));
		if (text[0] != '\0')
			ui_line("%s", text);
		else
			ui_line(_("session %llu closed"), (unsigned long long)session);
		if (qh_msg_get_u64(m, QH_K_SECONDS, &seconds) == 0)
			ui_line(_("billable time: %lluh %02llum %02llus"),
			    (unsigned long long)(seconds / 3600),
			    (unsigned long long)(seconds / 60 % 60),
			    (unsigned long long)(seconds % 60));
		if (ui_window() != NULL) {
			char end[TEXT_MAX + 160];

			if (qh_msg_get_u64(m, QH_K_SECONDS, &seconds) == 0)
				snprintf(end, sizeof(end),
				    _("The session has ended. Billable time: %llu h "
				      "%02llu "
				      "min %02llu s. %s"),
				    (unsigned long long)(seconds / 3600),
				    (unsigned long long)(seconds / 60 % 60),
				    (unsigned long long)(seconds % 60), text);
			else
				snprintf(end, sizeof(end), _("The session has ended. %s"),
				    text);
			ui_sanitize(end);
			ui_window()->ended(end);
		}
		a->session_open = 0;
		consent_forget(a);
		/* The console ended the desktops first; what is left goes now. */
		desktop_close_all();
		if (a->ending || !a->unattended) {
			uv_timer_stop(&a->endwait);
			agent_stop(a, 0);
		} else
			renew_on_idle(a);
	} else {
		qh_debug("session message of kind %s ignored", kind);
	}
	return 0;
}

#define ST(s) (1U << (s))

static const struct control_entry {
	unsigned states; /* where the message may arrive */
	int (*fn)(struct agent *a, const struct qh_msg *m);
} control_handlers[QH_MSG_TYPE_MAX] = {
	[QH_MSG_WELCOME] = { ST(AG_HELLO), on_welcome },
	[QH_MSG_ERROR] = { ST(AG_CONNECTING) | ST(AG_HELLO) | ST(AG_READY), on_error },
	[QH_MSG_NOTICE] = { ST(AG_HELLO) | ST(AG_READY), on_notice },
	[QH_MSG_CONSENT] = { ST(AG_READY), on_consent },
	[QH_MSG_CONSENT_CANCEL] = { ST(AG_READY), on_consent_cancel },
	[QH_MSG_SESSION] = { ST(AG_READY), on_session },
};

/* Mux callbacks. */

static int
agent_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct agent *a = qh_mux_arg(mux);
	int r;

	if (peer->role != QH_ROLE_CONSOLE) {
		qh_warn("console %s:%d: peer is not a console (%s)", a->host, a->port,
		    qh_role_name(peer->role));
		return QH_ERR_AUTH;
	}
	qh_mux_set_keepalive(mux, KEEPALIVE_IDLE_MS, KEEPALIVE_DEAD_MS);
	/* An expired certificate: this connection renews it, no more. */
	if (renew_on_ready(a) != 0)
		return 0;
	if ((r = send_hello(a)) != 0)
		return r;
	set_state(a, AG_HELLO);
	return 0;
}

static int
agent_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct agent *a = qh_mux_arg(mux);
	const struct control_entry *ce = &control_handlers[m->type];

	if (ce->fn == NULL || !(ce->states & ST(a->state))) {
		qh_warn("console %s:%d: unexpected %s message in state %s; closing",
		    a->host, a->port, qh_msg_name(m->type), state_names[a->state]);
		agent_disconnect(a, QH_ERR_PROTOCOL);
		return 0;
	}
	if (ce->fn(a, m) != 0)
		agent_disconnect(a, QH_ERR_PROTOCOL);
	return 0;
}

/* What each ACTION starts. */
static const struct action_entry {
	const char *cmd;
	int (*start)(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
	    const struct qh_msg *m);
} actions[] = {
	{ "exec", exec_start },
	{ "shell", shell_start },
	{ "forward", forward_start },
	{ "dial", forward_dial_start },
	{ "push", push_start },
	{ "pull", pull_start },
	{ "info", info_start },
	{ "desktop", desktop_start },
	{ NULL, NULL },
};

static const struct action_entry *
action_find(const char *cmd)
{
	const struct action_entry *e;

	for (e = actions; e->cmd != NULL; e++)
		if (strcmp(e->cmd, cmd) == 0)
			return e;
	return NULL;
}

static int
agent_open(struct qh_mux *mux, struct qh_chan *ch, const struct qh_msg *m)
{
	struct agent *a = qh_mux_arg(mux);
	const struct action_entry *act;
	char cmd[33], login[QH_ID_MAX + 2];
	unsigned want = GRANT_CONNECT;
	uint32_t flags = 0;

	if (m->type != QH_MSG_ACTION || a->state != AG_READY || a->stopping) {
		qh_chan_refuse(ch, "unsupported",
		    a->stopping ? "the customer is ending the session"
				: "unexpected channel");
		return 0;
	}
	(void)msg_text(m, QH_K_CMD, cmd, sizeof(cmd));
	(void)msg_text(m, QH_K_LOGIN, login, sizeof(login));
	/* The screen needs its own consent, control another (R2). */
	if (strcmp(cmd, "desktop") == 0) {
		(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
		want = GRANT_VIEW | ((flags & DESKTOP_F_CONTROL) ? GRANT_CONTROL : 0);
	}
	if (!qh_id_valid(login) || !consent_allowed(a, login, want)) {
		qh_warn("console %s:%d: %s for %s, whom the customer has not allowed",
		    a->host, a->port, cmd, login);
		qh_chan_refuse(ch, "consent",
		    want & GRANT_CONTROL ? "the customer has not allowed this technician "
					   "to control the screen"
			: want & GRANT_VIEW
			? "the customer has not allowed this technician "
			  "to see the screen"
			: "the customer has not allowed this "
			  "technician");
	} else if ((act = action_find(cmd)) == NULL) {
		qh_chan_refuse(ch, "unsupported", "this agent cannot do that yet");
	} else {
		/*
		 * A technician's command means a session is open, even if its
		 * SESSION{opened} has not been seen: Ctrl-C must end it.
		 */
		a->session_open = 1;
		(void)act->start(&a->tasks, a->loop, ch, m);
	}
	return 0;
}

static void
on_retry(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (a->state == AG_WAITING && !a->stopping)
		agent_connect(a);
}

/* Schedules the next attempt with jittered exponential back-off. */
static void
agent_retry(struct agent *a, int err)
{
	uint64_t delay, secs;

	set_state(a, AG_WAITING);
	delay = a->backoff_ms * (75 + arc4random_uniform(51)) / 100;
	secs = (delay + 500) / 1000;
	if (secs == 0)
		secs = 1;
	if (a->was_ready) {
		qh_say(_("connection lost; reconnecting in %llu s"),
		    (unsigned long long)secs);
		agent_status(_("The connection was lost; reconnecting in %llu s..."),
		    (unsigned long long)secs);
	} else {
		qh_say(_("cannot connect to the console at %s:%d: %s; reconnecting in "
			 "%llu s"),
		    a->host, a->port,
		    a->why[0] != '\0' ? a->why
				      : _(qh_strerror(err != 0 ? err : QH_ERR_CLOSED)),
		    (unsigned long long)secs);
		agent_status(_("Cannot reach %s:%d (%s); trying again in %llu s..."),
		    a->host, a->port,
		    a->why[0] != '\0' ? a->why
				      : _(qh_strerror(err != 0 ? err : QH_ERR_CLOSED)),
		    (unsigned long long)secs);
	}
	a->backoff_ms *= 2;
	if (a->backoff_ms > BACKOFF_MAX_MS)
		a->backoff_ms = BACKOFF_MAX_MS;
	uv_timer_start(&a->retry, on_retry, delay, 0);
}

static void
agent_closed(struct qh_mux *mux, int err)
{
	struct agent *a = qh_mux_arg(mux);

	qh_debug("console %s:%d: connection closed: %s", a->host, a->port,
	    qh_strerror(err));
	a->mux = NULL;
	uv_timer_stop(&a->deadline);
	consent_reset(a);
	renew_on_close(a);
	if (a->state == AG_DONE)
		return;
	if (a->stopping)
		agent_finish(a);
	else if (a->reconnect_now) {
		/* A renewed certificate: straight back, without a word. */
		a->reconnect_now = 0;
		agent_connect(a);
	} else
		agent_retry(a, err);
}

static const struct qh_mux_ops agent_ops = {
	.on_ready = agent_ready,
	.on_control = agent_control,
	.on_open = agent_open,
	.on_close = agent_closed,
};

static void
on_deadline(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (a->mux == NULL || a->state == AG_READY || a->state == AG_DONE)
		return;
	snprintf(a->why, sizeof(a->why), _("no answer within %d s"),
	    CONNECT_TIMEOUT_MS / 1000);
	agent_disconnect(a, QH_ERR_TIMEOUT);
}

/* One attempt: dial, TLS, HELLO; the deadline bounds it until WELCOME. */
static void
agent_connect(struct agent *a)
{
	set_state(a, AG_CONNECTING);
	a->was_ready = 0;
	a->why[0] = '\0';
	if ((a->mux = qh_mux_new(a->loop, a->ctx, QH_TLS_CLIENT, a->host, NULL,
		 &agent_ops, a)) == NULL) {
		snprintf(a->why, sizeof(a->why), "%s", _("out of memory"));
		agent_retry(a, QH_ERR_NOMEM);
		return;
	}
	uv_timer_start(&a->deadline, on_deadline, CONNECT_TIMEOUT_MS, 0);
	/* A failure closes the mux; agent_closed schedules the retry. */
	(void)qh_mux_dial(a->mux, a->host, a->port, CONNECT_TIMEOUT_MS, a->why,
	    sizeof(a->why));
}

/* The connection is gone and we leave: close our handles, the loop ends. */
static void
agent_finish(struct agent *a)
{
	int i;

	if (a->state == AG_DONE)
		return;
	set_state(a, AG_DONE);
	consent_reset(a);
	customer_close(a);
	renew_free(a);
	uv_close((uv_handle_t *)&a->retry, NULL);
	uv_close((uv_handle_t *)&a->deadline, NULL);
	uv_close((uv_handle_t *)&a->endwait, NULL);
	for (i = 0; i < a->nsigs; i++)
		uv_close((uv_handle_t *)&a->sigs[i], NULL);
	if (task_count(&a->tasks) > 0)
		qh_debug("waiting for %d commands to stop", task_count(&a->tasks));
}

/* Splits the --allow-forward lists and checks each HOST:PORT. */
static int
parse_forwards(struct agent *a, struct qh_cli *c)
{
	const char *const *vals;
	char host[256], *s, *tok, *save = NULL;
	int i, n, port;

	n = qh_cli_opts(c, "allow-forward", &vals);
	for (i = 0; i < n; i++) {
		if ((s = strdup(vals[i])) == NULL)
			return QH_ERR_NOMEM;
		for (tok = strtok_r(s, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			if (qh_split_hostport(tok, host, sizeof(host), &port) != 0 ||
			    a->nforwards == FORWARD_MAX) {
				free(s);
				return QH_ERR_ARG;
			}
			/* Points into the argument vector, which outlives the run. */
			a->forwards[a->nforwards++] = vals[i] + (tok - s);
		}
		free(s);
	}
	return 0;
}

/* Watches signum; a signal the system does not have is left out. */
static void
signal_init(struct agent *a, int signum, uv_signal_cb cb)
{
	uv_signal_t *s = &a->sigs[a->nsigs];

	uv_signal_init(a->loop, s);
	s->data = a;
	if (uv_signal_start(s, cb, signum) != 0) {
		uv_close((uv_handle_t *)s, NULL);
		return;
	}
	a->nsigs++;
}

/*
 * Not enrolled yet: a program that came with a join token at its end
 * (`qh-console enroll --exe`) enrols now. Returns 0 when it did, the
 * exit status when it failed, or -1 when there is no token.
 */
static int
enrol_from_tag(struct qh_cli *c)
{
	char token[QH_EXETAG_MAX], vendor[512], dir[PATH_MAX];
	int status;

	if (agent_exe_tag(token, sizeof(token), vendor, sizeof(vendor)) != 0)
		return -1;
	if (agent_config_dir(c, dir, sizeof(dir)) != 0)
		return -1;
	ui_line(_("enrolling this PC with the token this program came with..."));
	agent_status(_("Enrolling this PC with %s..."),
	    vendor[0] != '\0' ? vendor : _("your support vendor"));
	status = agent_join(token, dir, vendor);
	OPENSSL_cleanse(token, sizeof(token));
	return status;
}

static int
cmd_run(struct qh_cli *c)
{
	struct agent *a;
	char path[PATH_MAX + 16];
	const char *desk;
	size_t hlen;
	int r, status;

	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, _("bad --log-level"));
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return qh_cli_fail(c, _("out of memory"));
	a->tasks.first = NULL;
	a->yes = qh_cli_flag(c, "yes");
	a->unattended = qh_cli_flag(c, "unattended");
	if ((desk = qh_cli_opt(c, "allow-desktop")) != NULL) {
		if (strcmp(desk, "view") == 0)
			a->allow_desktop = GRANT_VIEW;
		else if (strcmp(desk, "control") == 0)
			a->allow_desktop = GRANT_VIEW | GRANT_CONTROL;
		else {
			free(a);
			return qh_cli_usage(c, "--allow-desktop is view or control");
		}
	}
	a->backoff_ms = BACKOFF_MIN_MS;
	if ((r = parse_forwards(a, c)) != 0 ||
	    (r = forward_allow_init(a->forwards, a->nforwards)) != 0) {
		free(a);
		return qh_cli_usage(c,
		    _("--allow-forward takes HOST:PORT[,HOST:PORT...]"));
	}
	if ((r = agent_bundle_path(c, path, sizeof(path))) != 0) {
		free(a);
		return qh_cli_fail(c, _("no configuration directory: %s"),
		    _(qh_strerror(r)));
	}
	if (agent_config_dir(c, a->config_dir, sizeof(a->config_dir)) != 0)
		a->config_dir[0] = '\0';
	if (plat_path_kind(path) == PLAT_NONE &&
	    (status = enrol_from_tag(c)) != QH_EXIT_OK) {
		free(a);
		if (status > 0)
			return status;
		return qh_cli_fail(c,
		    _("not enrolled: no %s; run 'qh-agent join TOKEN', or "
		      "'qh-agent join --short CODE' with the code your support "
		      "vendor reads out, first"),
		    path);
	}
	if ((r = qh_bundle_load(path, &a->bundle)) != 0) {
		free(a);
		return qh_cli_fail(c, _("cannot load %s: %s"), path, _(qh_strerror(r)));
	}
	if (qh_split_hostport(a->bundle.console, a->host, sizeof(a->host), &a->port) !=
		0 ||
	    qh_tls_ctx_client(&a->ctx, a->bundle.cert, a->bundle.key, a->bundle.ca) !=
		0) {
		qh_bundle_free(&a->bundle);
		free(a);
		return qh_cli_fail(c, _("%s: unusable console address or certificate"),
		    path);
	}
	a->loop = uv_default_loop();
	if (renew_init(a, path) != 0) {
		qh_tls_ctx_free(a->ctx);
		qh_bundle_free(&a->bundle);
		free(a);
		return qh_cli_fail(c, "out of memory");
	}
	hlen = sizeof(a->hostname);
	if (uv_os_gethostname(a->hostname, &hlen) != 0 ||
	    !qh_utf8_valid((const uint8_t *)a->hostname, strlen(a->hostname)))
		snprintf(a->hostname, sizeof(a->hostname), "unknown");

	a->loop = uv_default_loop();
	uv_timer_init(a->loop, &a->retry);
	uv_timer_init(a->loop, &a->deadline);
	uv_timer_init(a->loop, &a->endwait);
	a->retry.data = a->deadline.data = a->endwait.data = a;
	signal_init(a, SIGINT, on_signal);
	signal_init(a, SIGTERM, on_signal);
	signal_init(a, SIGHUP, on_signal);
#ifdef SIGCHLD
	signal_init(a, SIGCHLD, on_sigchld);
#endif
	customer_open(a);

	agent_connect(a);
	uv_run(a->loop, UV_RUN_DEFAULT);

	task_shutdown(&a->tasks, a->loop);
	status = a->exit_status;
	qh_tls_ctx_free(a->ctx);
	qh_bundle_free(&a->bundle);
	free(a);
	if (uv_loop_close(uv_default_loop()) != 0)
		qh_debug("loop closed with handles open");
	return status;
}

const struct qh_cli_cmd cmd_run_entry = {
	.name = "run",
	.usage = "[--config DIR] [--yes] [--unattended] "
		 "[--allow-forward HOST:PORT,...] [--allow-desktop view|control] "
		 "[--lang de|en]",
	.summary = N_("connect and wait for a technician (the default command); "
		      "--allow-forward: targets forwards may reach; --allow-desktop: "
		      "technicians may see (and control) the screen without asking"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), { "yes", 'y', 0, 0 }, QH_FLAG("unattended"),
	    QH_OPTS("allow-forward"), QH_OPT("allow-desktop"), QH_OPT("log-level"),
	    QH_OPT("lang") },
	.exec = cmd_run,
};
