/*
 * The customer's side of `qh-agent run` (run.h): who may get in, and how
 * the customer is asked. Connecting, seeing the screen and controlling it
 * are asked separately (R2). With --yes or --unattended everyone the
 * console sends may connect, with --allow-desktop see (and control) the
 * screen; otherwise the question goes to the terminal ("Allow? [y/N]",
 * "q" ends, "c" takes control of the screen back) or to the window
 * (ui_window(): its dialog and its buttons come back through ui_post),
 * and without either it is refused. One question is on the screen at a
 * time.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "qh/compat.h"
#include "qh/log.h"
#include "desktop.h"
#include "qh/out.h"
#include "platform.h"
#include "run.h"

/* What a question asks, for the lines the customer reads. */
static const char *
want_text(unsigned want)
{
	if (want & GRANT_CONTROL)
		return "to control this screen";
	if (want & GRANT_VIEW)
		return "to see this screen";
	return "to connect";
}

int
consent_allowed(const struct agent *a, const char *login, unsigned want)
{
	unsigned have = a->allow_desktop;
	int i;

	if (a->control_taken)
		have &= ~(unsigned)GRANT_CONTROL;
	if (a->yes || a->unattended)
		have |= GRANT_CONNECT;
	for (i = 0; i < a->nallowed; i++)
		if (strcmp(a->allowed[i].login, login) == 0)
			have |= a->allowed[i].granted;
	return (have & want) == want;
}

static void
allow_login(struct agent *a, const char *login, unsigned granted)
{
	int i;

	for (i = 0; i < a->nallowed; i++)
		if (strcmp(a->allowed[i].login, login) == 0) {
			a->allowed[i].granted |= granted;
			return;
		}
	if (a->nallowed == ALLOWED_MAX) {
		/* Forget the oldest; the console asks again if it comes back. */
		memmove(&a->allowed[0], &a->allowed[1],
		    sizeof(a->allowed[0]) * (ALLOWED_MAX - 1));
		a->nallowed--;
	}
	snprintf(a->allowed[a->nallowed].login, sizeof(a->allowed[0].login), "%s", login);
	a->allowed[a->nallowed++].granted = granted;
}

void
consent_forget(struct agent *a)
{
	a->nallowed = 0;
	a->control_taken = 0;
}

void
consent_take_control(struct agent *a)
{
	int i;

	if (desktop_revoke_control() == 0) {
		ui_line(_("(nobody controls this screen)"));
		return;
	}
	for (i = 0; i < a->nallowed; i++)
		a->allowed[i].granted &= ~(unsigned)GRANT_CONTROL;
	a->control_taken = 1;
	agent_status(_("You have control of your mouse and keyboard again."));
}

void
agent_status(const char *fmt, ...)
{
	const struct ui_window *w = ui_window();
	char text[512];
	va_list ap;

	if (w == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ui_sanitize(text);
	w->status(text);
}

static void
consent_pop(struct agent *a)
{
	memmove(&a->consents[0], &a->consents[1],
	    sizeof(a->consents[0]) * (size_t)(a->nconsents - 1));
	a->nconsents--;
	a->asking = 0;
}

/* The customer answered the question on the screen. */
static void
consent_answer(struct agent *a, int allow)
{
	struct consent *c = &a->consents[0];

	if (allow)
		allow_login(a, c->login, c->want);
	send_consent_reply(a, c->id, allow);
	if (c->want == GRANT_CONNECT && allow)
		ui_line(_("Allowed technician %s (%s)."), c->name, c->login);
	else if (c->want == GRANT_CONNECT)
		ui_line(_("Refused technician %s (%s)."), c->name, c->login);
	else if ((c->want & GRANT_CONTROL) && allow)
		ui_line(_("Allowed technician %s (%s) to control this screen."), c->name,
		    c->login);
	else if (c->want & GRANT_CONTROL)
		ui_line(_("Refused technician %s (%s) to control this screen."), c->name,
		    c->login);
	else if (allow)
		ui_line(_("Allowed technician %s (%s) to see this screen."), c->name,
		    c->login);
	else
		ui_line(_("Refused technician %s (%s) to see this screen."), c->name,
		    c->login);
	qh_info("consent %" PRIu64 " for %s %s: %s", c->id, c->login, want_text(c->want),
	    allow ? "allowed" : "refused");
	consent_pop(a);
	consent_next(a);
}

/* Answers what can be answered without the customer; asks the next question. */
void
consent_next(struct agent *a)
{
	struct consent *c;

	while (a->nconsents > 0 && !a->asking) {
		c = &a->consents[0];
		/* What the console adds: overdraft, an installation's credit. */
		if (c->text[0] != '\0')
			ui_line(_("Note: %s"), c->text);
		if (consent_allowed(a, c->login, c->want)) {
			send_consent_reply(a, c->id, 1);
			if (c->want == GRANT_CONNECT)
				ui_line(_("Technician %s (%s) connected (allowed by %s)"),
				    c->name, c->login, a->yes ? "--yes" : "--unattended");
			else if (c->want & GRANT_CONTROL)
				ui_line(_("Technician %s (%s) may control this screen "
					  "(allowed by --allow-desktop control)"),
				    c->name, c->login);
			else if (a->allow_desktop & GRANT_CONTROL)
				ui_line(_("Technician %s (%s) may see this screen "
					  "(allowed "
					  "by --allow-desktop control)"),
				    c->name, c->login);
			else
				ui_line(_("Technician %s (%s) may see this screen "
					  "(allowed "
					  "by --allow-desktop view)"),
				    c->name, c->login);
			consent_pop(a);
		} else if (ui_window() != NULL) {
			/* The window asks; its answer comes back as a ui_post event. */
			ui_window()->ask(c->id, c->login, c->name, c->want, c->recorded,
			    c->text);
			a->asking = 1;
		} else if (!a->tty_open) {
			send_consent_reply(a, c->id, 0);
			if (c->want == GRANT_CONNECT)
				ui_line(_("refused technician %s: no --yes and no "
					  "terminal "
					  "to ask"),
				    c->login);
			else if (c->want & GRANT_CONTROL)
				ui_line(
				    _("refused technician %s to control this screen: no "
				      "--allow-desktop control and no terminal to ask"),
				    c->login);
			else
				ui_line(_("refused technician %s to see this screen: no "
					  "--allow-desktop and no terminal to ask"),
				    c->login);
			consent_pop(a);
		} else {
			/* TRANSLATORS: the answers are y/yes or, in German, j/ja. */
			if ((c->want & GRANT_CONTROL) && c->recorded)
				qh_out_printf(stdout,
				    _("%s wants to CONTROL your mouse and keyboard "
				      "(technician %s; they see your screen too, and it "
				      "is "
				      "recorded). Allow? [y/N] "),
				    c->name, c->login);
			else if (c->want & GRANT_CONTROL)
				qh_out_printf(stdout,
				    _("%s wants to CONTROL your mouse and keyboard "
				      "(technician %s; they see your screen too). "
				      "Allow? [y/N] "),
				    c->name, c->login);
			else if ((c->want & GRANT_VIEW) && c->recorded)
				qh_out_printf(stdout,
				    _("%s wants to SEE your screen (technician %s; it is "
				      "recorded). Allow? [y/N] "),
				    c->name, c->login);
			else if (c->want & GRANT_VIEW)
				qh_out_printf(stdout,
				    _("%s wants to SEE your screen (technician %s). "
				      "Allow? [y/N] "),
				    c->name, c->login);
			else
				qh_out_printf(stdout,
				    _("Technician %s (%s) wants to connect to this PC. "
				      "Allow? [y/N] "),
				    c->name, c->login);
			fflush(stdout);
			a->asking = 1;
		}
	}
}

/* The connection is gone: its questions cannot be answered any more. */
void
consent_reset(struct agent *a)
{
	if (a->asking && ui_window() != NULL)
		ui_window()->withdraw();
	else if (a->asking) {
		fputc('\n', stdout);
		ui_line(_("(the question was withdrawn: the connection was lost)"));
	}
	a->asking = 0;
	a->nconsents = 0;
}

void
consent_cancel(struct agent *a, uint64_t id)
{
	int i;

	for (i = 0; i < a->nconsents; i++)
		if (a->consents[i].id == id)
			break;
	if (i == a->nconsents)
		return; /* answered meanwhile: the console ignores the answer */
	qh_info("consent %" PRIu64 " for %s: withdrawn (no answer in time)", id,
	    a->consents[i].login);
	if (i == 0 && a->asking) {
		if (ui_window() != NULL)
			ui_window()->withdraw();
		else
			fputc('\n', stdout);
		ui_line(_("(the question was withdrawn: no answer in time; technician "
			  "%s was not let in)"),
		    a->consents[0].login);
		consent_pop(a);
		consent_next(a);
		return;
	}
	memmove(&a->consents[i], &a->consents[i + 1],
	    sizeof(a->consents[0]) * (size_t)(a->nconsents - i - 1));
	a->nconsents--;
}

/* The customer's terminal. */

/* Yes in either language: y, yes, j, ja (any case); anything else is no. */
static int
answer_yes(const char *line)
{
	static const char *const yes[] = { "y", "yes", "j", "ja" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(line, yes[i]) == 0)
			return 1;
	return 0;
}

static void
on_line(struct agent *a, char *line)
{
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	while (*line == ' ')
		line++;
	if (a->asking) {
		consent_answer(a, answer_yes(line));
		return;
	}
	if (strcasecmp(line, "q") == 0)
		agent_end(a);
	else if (strcasecmp(line, "c") == 0)
		consent_take_control(a);
	else if (*line != '\0')
		ui_line(_("(type q and Enter, or press Ctrl-C, to end; c and Enter takes "
			  "control of the screen back)"));
}

static void
tty_alloc(uv_handle_t *h, size_t suggested QH_UNUSED, uv_buf_t *buf)
{
	struct agent *a = h->data;

	*buf = uv_buf_init(a->rbuf, sizeof(a->rbuf));
}

static void
tty_close(struct agent *a)
{
	if (!a->tty_open)
		return;
	a->tty_open = 0;
	uv_close((uv_handle_t *)&a->tty, NULL);
}

static void
tty_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct agent *a = s->data;
	ssize_t i;

	if (a->state == AG_DONE || !a->tty_open)
		return;
	if (nread < 0) {
		/* End of input: nobody is there to answer any more. */
		qh_debug("stdin: %s", uv_strerror((int)nread));
		tty_close(a);
		if (a->asking) {
			fputc('\n', stdout);
			consent_answer(a, 0);
		}
		consent_next(a);
		return;
	}
	for (i = 0; i < nread; i++) {
		char ch = buf->base[i];

		if (ch != '\n') {
			if (a->linelen + 1 < sizeof(a->line))
				a->line[a->linelen++] = ch;
			else
				a->line_long = 1;
			continue;
		}
		a->line[a->linelen] = '\0';
		a->linelen = 0;
		if (a->line_long) {
			a->line_long = 0;
			continue;
		}
		on_line(a, a->line);
		if (a->state == AG_DONE || !a->tty_open)
			return;
	}
}

/* Opens stdin for answers and "q" if it is a terminal we own. */
static void
tty_open(struct agent *a)
{
	int r;

	if (!plat_stdin_interactive())
		return; /* no terminal, or we run in the background */
	if ((r = uv_tty_init(a->loop, &a->tty, 0, 1)) != 0) {
		qh_debug("stdin: %s", uv_strerror(r));
		return;
	}
	a->tty.data = a;
	a->tty_open = 1;
	if ((r = uv_read_start((uv_stream_t *)&a->tty, tty_alloc, tty_read)) != 0) {
		qh_debug("stdin: %s", uv_strerror(r));
		tty_close(a);
	}
}

static void
on_shot_exit(uv_process_t *p, int64_t status, int sig)
{
	struct agent *a = p->data;

	a->shot_running = 0;
	uv_close((uv_handle_t *)p, NULL);
	if (a->state == AG_DONE)
		return;
	if (status == 0 && sig == 0)
		agent_status(_("The screenshot was sent to your support as a ticket."));
	else
		agent_status(_("The screenshot could not be sent (error %d)."),
		    (int)status);
}

/*
 * The window's Send a screenshot: this program's `ticket --screenshot`
 * with the same configuration and language, one at a time; the window's
 * status says how it went.
 */
static void
screenshot_send(struct agent *a)
{
	char exe[PATH_MAX], subject[256], lang[8];
	char *argv[] = { exe, "ticket", "--subject", subject, "--screenshot", "--config",
		a->config_dir, "--lang", lang, NULL };
	uv_stdio_container_t io[3];
	uv_process_options_t o;
	int r;

	if (a->shot_running)
		return;
	if (a->config_dir[0] == '\0' || plat_exe_path(exe, sizeof(exe)) != 0) {
		agent_status(_("The screenshot could not be sent (error %d)."), -1);
		return;
	}
	snprintf(subject, sizeof(subject), "%s", _("Screenshot from the support window"));
	snprintf(lang, sizeof(lang), "%s", qh_lang_name(qh_lang_get()));
	memset(io, 0, sizeof(io));
	io[0].flags = io[1].flags = io[2].flags = UV_IGNORE;
	memset(&o, 0, sizeof(o));
	o.file = exe;
	o.args = argv;
	o.exit_cb = on_shot_exit;
	o.stdio = io;
	o.stdio_count = 3;
	o.flags = UV_PROCESS_WINDOWS_HIDE;
	a->shot.data = a;
	if ((r = uv_spawn(a->loop, &a->shot, &o)) != 0) {
		/* A failed spawn leaves the handle initialised; close it. */
		uv_close((uv_handle_t *)&a->shot, NULL);
		agent_status(_("The screenshot could not be sent (error %d)."), r);
		return;
	}
	a->shot_running = 1;
	qh_info("sending a screenshot as a ticket (pid %d)", a->shot.pid);
	agent_status(_("Sending a screenshot to your support..."));
}

/* The window's buttons: Allow, Deny, End session (or closing it). */
static void
on_ui_event(uv_async_t *h)
{
	struct agent *a = h->data;
	enum ui_event ev;
	uint64_t id;

	while (a->state != AG_DONE && ui_take(&ev, &id)) {
		if (ev == UI_EV_END)
			agent_end(a);
		else if (ev == UI_EV_TAKE_CONTROL)
			consent_take_control(a);
		else if (ev == UI_EV_SCREENSHOT)
			screenshot_send(a);
		else if (a->asking && a->nconsents > 0 && a->consents[0].id == id)
			consent_answer(a, ev == UI_EV_ALLOW);
	}
}

void
customer_open(struct agent *a)
{
	if (ui_window() == NULL) {
		tty_open(a);
		return;
	}
	uv_async_init(a->loop, &a->ui_async, on_ui_event);
	a->ui_async.data = a;
	a->ui_open = 1;
	ui_bind(&a->ui_async);
	agent_status(_("Connecting to %s:%d..."), a->host, a->port);
}

void
customer_close(struct agent *a)
{
	tty_close(a);
	if (a->ui_open) {
		ui_bind(NULL);
		a->ui_open = 0;
		uv_close((uv_handle_t *)&a->ui_async, NULL);
	}
}
