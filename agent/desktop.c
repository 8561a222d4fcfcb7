/*
 * The "desktop" action (desktop.h): an RFB session (rfbsess.c) whose
 * transport is a channel of the mux. The channel's window is the
 * session's input bound, and bytes are credited back as the server parses
 * them; output goes out as the window allows and resumes on on_writable.
 * Open desktops are kept on a list so that the customer can take control
 * back from all of them at any time, and the customer sees who looks at
 * the screen: a line as each desktop starts and ends, and in the window a
 * banner with a button to take control back.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desktop.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "rfbsess.h"
#ifdef _WIN32
#include "win32/deskhelper.h"
#endif

struct desktop {
	LIST_ENTRY(desktop) link;
	struct qh_chan *ch;	   /* NULL once the channel is gone */
	struct rfbsess *sess;	   /* the session in this process, or */
	struct deskhelper *helper; /* a Windows service's helper serves it */
	int control;		   /* the helper's input is on (fixed at its start) */
	char login[QH_ID_MAX + 1];
	int screen;
};

static LIST_HEAD(, desktop) desktops = LIST_HEAD_INITIALIZER(desktops);

/* The desktop's name in ServerInit: this PC's host name. */
static void
desktop_name(char *out, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "quarterhour: %s", host);
	ui_sanitize(out);
}

static const struct rfbsess_io sess_io;

/*
 * The engine: rfbsess here, or in a Windows service the helper in the
 * user's session (win32/deskhelper.h), whose input is fixed at its start.
 */
static int
engine_input(struct desktop *d, const uint8_t *p, size_t len)
{
#ifdef _WIN32
	if (d->helper != NULL)
		return deskhelper_input(d->helper, p, len);
#endif
	return rfbsess_input(d->sess, p, len);
}

static void
engine_writable(struct desktop *d)
{
#ifdef _WIN32
	if (d->helper != NULL) {
		deskhelper_writable(d->helper);
		return;
	}
#endif
	rfbsess_writable(d->sess);
}

static int
engine_control(const struct desktop *d)
{
	return d->sess != NULL ? rfbsess_control(d->sess) : d->control;
}

static void
engine_close(struct desktop *d)
{
#ifdef _WIN32
	deskhelper_close(d->helper);
	d->helper = NULL;
#endif
	rfbsess_close(d->sess);
	d->sess = NULL;
}

/* Starts the engine for d; 0, or <0 with the reason in why. */
static int
engine_new(struct desktop *d, uv_loop_t *loop, int control, char *why, size_t whylen)
{
	char name[300];
	int r;

	desktop_name(name, sizeof(name));
#ifdef _WIN32
	if (deskhelper_wanted()) {
		d->control = control;
		return deskhelper_new(loop, d->screen, name, control, &sess_io, d,
		    &d->helper, why, whylen);
	}
#endif
	if ((r = rfbsess_new(loop, d->screen, name, &sess_io, d, &d->sess, why,
		 whylen)) == 0)
		rfbsess_set_control(d->sess, control);
	return r;
}

/* Tells the window who sees (and controls) the screen now. */
static void
desktop_show(void)
{
	const struct ui_window *w = ui_window();
	struct desktop *d;
	char who[400], text[512];
	size_t used = 0;
	int n = 0, c = 0;

	if (w == NULL || w->desktop == NULL)
		return;
	(void)desktop_count(&c);
	who[0] = '\0';
	for (d = LIST_FIRST(&desktops); d != NULL; d = LIST_NEXT(d, link)) {
		if (used < sizeof(who) && strstr(who, d->login) == NULL)
			used += (size_t)snprintf(who + used, sizeof(who) - used, "%s%s",
			    n++ ? ", " : "", d->login);
	}
	if (n == 0) {
		w->desktop("", 0);
		return;
	}
	if (c > 0)
		snprintf(text, sizeof(text), _("%s: sees and controls your screen."),
		    who);
	else
		snprintf(text, sizeof(text), _("%s: sees your screen."), who);
	w->desktop(text, c > 0);
}
/* Ends the desktop: the session stops, the channel closes, d is freed. */
static void
desktop_end(struct desktop *d, int status, const char *why)
{
	struct qh_buf b;

	LIST_REMOVE(d, link);
	engine_close(d);
	if (d->ch != NULL) {
		qh_buf_init(&b, 512);
		if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
		    qh_msg_put_u32(&b, QH_K_STATUS, (uint32_t)status) == 0 &&
		    (why == NULL || qh_msg_put_str(&b, QH_K_TEXT, why) == 0))
			(void)qh_chan_send_msg(d->ch, &b);
		qh_buf_release(&b);
		(void)qh_chan_eof(d->ch);
		qh_chan_close(d->ch);
	}
	ui_notice(_("%s no longer sees this screen"), d->login);
	free(d);
	desktop_show();
}

/* The session's transport. */

static ssize_t
io_write(void *arg, const uint8_t *p, size_t len)
{
	struct desktop *d = arg;

	return d->ch != NULL ? qh_chan_write(d->ch, 0, p, len) : QH_ERR_CLOSED;
}

static void
io_consumed(void *arg, size_t n)
{
	struct desktop *d = arg;

	if (d->ch != NULL)
		qh_chan_consume(d->ch, n);
}

static void
io_failed(void *arg, int err QH_UNUSED, const char *why)
{
	struct desktop *d = arg;

	qh_warn("desktop for %s: %s", d->login, why);
	desktop_end(d, 1, why);
}

static const struct rfbsess_io sess_io = {
	.write = io_write,
	.consumed = io_consumed,
	.failed = io_failed,
};

/* The channel. */

static void
chan_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct desktop *d = qh_chan_arg(ch);

	if (ext != 0 || engine_input(d, p, len) != 0) {
		/* Past the window we granted: the console broke the protocol. */
		qh_warn("desktop for %s: %zu bytes past the window", d->login, len);
		desktop_end(d, 1, "input past the window");
	}
}

static void
chan_writable(struct qh_chan *ch)
{
	struct desktop *d = qh_chan_arg(ch);

	engine_writable(d);
}

static void
chan_eof(struct qh_chan *ch)
{
	struct desktop *d = qh_chan_arg(ch);

	qh_info("desktop for %s: the viewer left", d->login);
	desktop_end(d, 0, NULL);
}

static void
chan_close(struct qh_chan *ch)
{
	struct desktop *d = qh_chan_arg(ch);

	d->ch = NULL;
	desktop_end(d, 0, NULL);
}

static const struct qh_chan_ops chan_ops = {
	.on_data = chan_data,
	.on_writable = chan_writable,
	.on_eof = chan_eof,
	.on_close = chan_close,
};

int
desktop_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct desktop *d;
	char *login = NULL, why[256];
	uint32_t flags = 0;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	(void)qh_msg_get_str(m, QH_K_LOGIN, &login);
	snprintf(d->login, sizeof(d->login), "%s", login != NULL ? login : "?");
	ui_sanitize(d->login);
	free(login);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	d->screen = (int)((flags & DESKTOP_F_SCREEN_MASK) >> DESKTOP_F_SCREEN_SHIFT);
	if ((r = engine_new(d, loop, (flags & DESKTOP_F_CONTROL) != 0, why,
		 sizeof(why))) != 0) {
		qh_warn("desktop for %s: %s", d->login, why);
		qh_chan_refuse(ch, "desktop", why);
		free(d);
		return 0;
	}
	d->ch = ch;
	if ((r = qh_chan_accept(ch, RFB_INPUT_MAX, &chan_ops, d)) != 0) {
		qh_debug("accept: %s", qh_strerror(r));
		engine_close(d);
		free(d);
		return 0;
	}
	LIST_INSERT_HEAD(&desktops, d, link);
	/* The server speaks first: its version goes out now. */
	engine_writable(d);
	if ((flags & DESKTOP_F_CONTROL) && d->screen > 0)
		ui_notice(_("%s sees and controls this screen (another monitor)"),
		    d->login);
	else if (flags & DESKTOP_F_CONTROL)
		ui_notice(_("%s sees and controls this screen"), d->login);
	else if (d->screen > 0)
		ui_notice(_("%s sees this screen (another monitor)"), d->login);
	else
		ui_notice(_("%s sees this screen"), d->login);
	if ((flags & DESKTOP_F_CONTROL) && ui_window() == NULL)
		ui_line(_("(type c and Enter to take control of your mouse and keyboard "
			  "back; q and Enter ends the session)"));
	desktop_show();
	return 0;
}

/* Tells the technician's side (the console passes it on) that control ended. */
static void
send_control_off(struct desktop *d)
{
	struct qh_buf b;

	if (d->ch == NULL)
		return;
	qh_buf_init(&b, 256);
	if (qh_msg_begin(&b, QH_MSG_NOTICE) == 0 &&
	    qh_msg_put_str(&b, QH_K_TEXT, "the customer took control back") == 0 &&
	    qh_msg_put_str(&b, QH_K_KIND, "control-off") == 0)
		(void)qh_chan_send_msg(d->ch, &b);
	qh_buf_release(&b);
}

int
desktop_revoke_control(void)
{
	struct desktop *d, *d_next;
	int n = 0;

	for (d = LIST_FIRST(&desktops); d != NULL; d = d_next) {
		d_next = LIST_NEXT(d, link);
		if (!engine_control(d))
			continue;
		if (d->sess == NULL) { /* a helper's input cannot be switched off */
			desktop_end(d, 0, "the customer took control back");
			n++;
			continue;
		}
		rfbsess_set_control(d->sess, 0);
		send_control_off(d);
		ui_notice(_("%s no longer controls this screen (still sees it)"),
		    d->login);
		n++;
	}
	if (n > 0)
		desktop_show();
	return n;
}

int
desktop_count(int *controlled)
{
	struct desktop *d;
	int n = 0, c = 0;

	for (d = LIST_FIRST(&desktops); d != NULL; d = LIST_NEXT(d, link)) {
		n++;
		c += engine_control(d);
	}
	if (controlled != NULL)
		*controlled = c;
	return n;
}

void
desktop_close_all(void)
{
	while (!LIST_EMPTY(&desktops))
		desktop_end(LIST_FIRST(&desktops), 0, NULL);
}
