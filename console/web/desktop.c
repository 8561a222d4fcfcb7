/*
 * qh-console web's desktop: /ws/desktop/CODE?control=0|1&screen=N opens a
 * desktop channel (REQUEST{cmd="desktop"}, as `qh-console desktop` does)
 * and relays its bytes both ways as binary WebSocket messages: the agent's
 * RFB 3.8 server on one side, noVNC in the page on the other. Nothing here
 * reads RFB; the agent's server does (agent/rfb.c), and it asks the
 * customer for view and for control itself.
 *
 * Bounds as for the terminal (sock.c): what waits for the page is the
 * channel's window, credited back as the page takes it; what the page sends
 * faster than the channel takes stops lws reading from it, at most
 * INPUT_MAX. Refusals (no session, declined, forbidden) come as OPEN_FAIL
 * ERROR or MSG ERROR and go to the page as {"type":"error","text"} events
 * (text messages), the customer taking control back as "control-off";
 * once the channel is gone and the page has everything, the WebSocket is
 * closed.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/wire.h"
#include "webint.h"

#define DESK_FLAG_CONTROL 0x4 /* REQUEST{cmd="desktop"} flags: control */
#define DESK_SCREEN_MAX	  255
#define DESK_ARG_MAX	  32

/* The terminal's callbacks; then the WebSocket closes once the page has all. */

static void
desk_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);

	web_term_ops.on_open_result(ch, err, m);
	if (s != NULL && err != 0) {
		s->close_when_sent = 1;
		lws_callback_on_writable(s->wsi);
	}
}

static void
desk_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	web_term_ops.on_close(ch);
	if (s != NULL) {
		s->close_when_sent = 1;
		lws_callback_on_writable(s->wsi);
	}
}

/*
 * The customer took control back (NOTICE{kind="control-off"}): the page
 * becomes view-only; other messages as the terminal's.
 */
static void
desk_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;
	const uint8_t *v;
	size_t vlen;

	if (s == NULL || m->type != QH_MSG_NOTICE ||
	    qh_msg_get(m, QH_K_KIND, &v, &vlen) != 0 || vlen != 11 ||
	    memcmp(v, "control-off", 11) != 0) {
		web_term_ops.on_msg(ch, m);
		return;
	}
	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	web_sock_say(s, "control-off", text != NULL ? text : "");
	free(text);
}

static const struct qh_chan_ops *
desk_ops(void)
{
	static struct qh_chan_ops ops;

	if (ops.on_close == NULL) {
		ops = web_term_ops;
		ops.on_open_result = desk_open_result;
		ops.on_close = desk_close;
		ops.on_msg = desk_msg;
	}
	return &ops;
}

/*
 * A query argument as a number in [0, max] (lws copies it, bounded, into
 * buf; qh_parse_int reads it, as it reads config numbers); absent is 0,
 * -1 if malformed.
 */
static long
desk_arg(struct lws *wsi, const char *name, long max)
{
	char buf[DESK_ARG_MAX + 16];
	const char *v;
	long long n;

	v = lws_get_urlarg_by_name(wsi, name, buf, (int)sizeof(buf));
	if (v == NULL)
		return 0;
	return qh_parse_int(v, 0, max, &n) == 0 ? (long)n : -1;
}

static void
desk_fail(struct pss *s, const char *why)
{
	web_sock_say(s, "error", why);
	s->term = TERM_ENDED;
	s->close_when_sent = 1;
}

void
web_desk_open(struct pss *s)
{
	long control = desk_arg(s->wsi, "control=", 1);
	long screen = desk_arg(s->wsi, "screen=", DESK_SCREEN_MAX);
	struct qh_buf req;

	if (control < 0 || screen < 0) {
		desk_fail(s, "control is 0 or 1, screen a monitor number from 0");
		return;
	}
	qh_buf_init(&req, 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "desktop");
	(void)qh_msg_put_str(&req, QH_K_CODE, s->code);
	(void)qh_msg_put_u32(&req, QH_K_FLAGS,
	    (control ? DESK_FLAG_CONTROL : 0) | (uint32_t)screen << 8);
	if (qh_buf_error(&req) == 0 &&
	    (s->ch = tech_link_open(s->w->link, &req, TERM_WINDOW, desk_ops(), s)) !=
		NULL)
		s->term = TERM_OPENING;
	else
		desk_fail(s,
		    s->w->up ? "cannot open a channel to the console"
			     : "not connected to the console");
	qh_buf_release(&req);
}

/* noVNC's RFB bytes, binary messages only, to the channel as typed input. */
void
web_desk_receive(struct pss *s, const void *in, size_t len)
{
	if (lws_frame_is_binary(s->wsi) == 0) {
		web_sock_kill(s, "a text message on the desktop; RFB is binary");
		return;
	}
	web_term_input(s, in, len);
}
