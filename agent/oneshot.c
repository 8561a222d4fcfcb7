/*
 * The agent's short connection to the console (see oneshot.h): dial with
 * this PC's certificate, check that the peer is the console, open one
 * channel with the command's REQUEST, and report every way it can fail in
 * one line for the customer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/text.h"
#include "qh/tls.h"
#include "agent.h"
#include "oneshot.h"

#define KEEPALIVE_IDLE_MS 15000
#define KEEPALIVE_DEAD_MS 45000

enum os_state {
	OS_NEW,	       /* made; not run yet */
	OS_CONNECTING, /* dial and TLS handshake */
	OS_OPENING,    /* REQUEST sent */
	OS_OPEN,       /* the channel carries the command */
	OS_DONE,       /* ending: the status is decided */
};

struct oneshot {
	const struct oneshot_ops *ops;
	void *arg;
	uv_loop_t *loop;
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	struct qh_identity me;
	char host[256];
	int port;
	enum os_state state;
	struct qh_mux *mux; /* NULL once closed */
	struct qh_chan *ch; /* NULL unless opening or open */
	const struct qh_buf *req;
	uv_timer_t timer; /* ONESHOT_TIMEOUT_MS until the channel opens */
	int timer_on;
	int stopped;   /* ops->on_stop ran */
	char why[256]; /* why the dial failed */
	int status;
};

void *
oneshot_arg(const struct oneshot *o)
{
	return o->arg;
}

struct qh_chan *
oneshot_chan(const struct oneshot *o)
{
	return o->state == OS_OPEN ? o->ch : NULL;
}

const struct qh_identity *
oneshot_identity(const struct oneshot *o)
{
	return &o->me;
}

void
oneshot_finish(struct oneshot *o, int status, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (o->state == OS_DONE)
		return;
	o->state = OS_DONE;
	o->status = status;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		ui_sanitize(text);
		qh_say("%s", text);
	}
	if (!o->stopped) {
		o->stopped = 1;
		if (o->ops->on_stop != NULL)
			o->ops->on_stop(o);
	}
	if (o->timer_on && !uv_is_closing((uv_handle_t *)&o->timer))
		uv_close((uv_handle_t *)&o->timer, NULL);
	if (o->ch != NULL) {
		qh_chan_close(o->ch);
		o->ch = NULL;
	}
	if (o->mux != NULL)
		qh_mux_close(o->mux, 0, NULL);
}

/* The console's refusal or ERROR as the customer's line. */
static void
refused(struct oneshot *o, const struct qh_msg *m)
{
	char *code = NULL, *text = NULL, line[1024];

	if (m != NULL) {
		(void)qh_msg_get_str(m, QH_K_CODE, &code);
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	}
	line[0] = '\0';
	if (o->ops->refused != NULL)
		o->ops->refused(o, code != NULL ? code : "", text != NULL ? text : "",
		    line, sizeof(line));
	if (line[0] == '\0')
		snprintf(line, sizeof(line), "%s",
		    text != NULL ? text : _("the console refused the request"));
	oneshot_finish(o, QH_EXIT_FAIL, "%s", line);
	free(code);
	free(text);
}

/* The channel. */

static void
os_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct oneshot *o = qh_chan_arg(ch);

	if (err != 0) {
		o->ch = NULL; /* refused channels are freed by the mux */
		refused(o, m);
		return;
	}
	if (o->timer_on)
		uv_timer_stop(&o->timer);
	o->state = OS_OPEN;
	if (o->ops->on_open != NULL)
		o->ops->on_open(o);
}

static void
os_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct oneshot *o = qh_chan_arg(ch);

	if (o->state == OS_OPEN && !ext && o->ops->on_data != NULL)
		o->ops->on_data(o, p, len);
	qh_chan_consume(ch, len);
}

static void
os_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct oneshot *o = qh_chan_arg(ch);

	if (o->state != OS_OPEN)
		return;
	if (m->type == QH_MSG_ERROR) {
		refused(o, m);
		return;
	}
	if (o->ops->on_msg != NULL)
		o->ops->on_msg(o, m);
}

static void
os_writable(struct qh_chan *ch)
{
	struct oneshot *o = qh_chan_arg(ch);

	if (o->state == OS_OPEN && o->ops->on_writable != NULL)
		o->ops->on_writable(o);
}

/* The console closed the channel: the command says how it went. */
static void
os_chan_close(struct qh_chan *ch)
{
	struct oneshot *o = qh_chan_arg(ch);
	int status = QH_EXIT_OK;

	o->ch = NULL;
	if (o->state != OS_OPEN)
		return;
	if (o->ops->on_end != NULL)
		status = o->ops->on_end(o);
	oneshot_finish(o, status, NULL);
}

static const struct qh_chan_ops os_chan_ops = {
	.on_open_result = os_open_result,
	.on_data = os_data,
	.on_msg = os_msg,
	.on_writable = os_writable,
	.on_close = os_chan_close,
};

/* The connection. */

static int
os_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct oneshot *o = qh_mux_arg(mux);

	if (peer->role != QH_ROLE_CONSOLE) {
		snprintf(o->why, sizeof(o->why), "%s", _("the peer is not a console"));
		return QH_ERR_AUTH;
	}
	qh_mux_set_keepalive(mux, KEEPALIVE_IDLE_MS, KEEPALIVE_DEAD_MS);
	if ((o->ch = qh_chan_open(mux, o->req, 0, &os_chan_ops, o)) == NULL) {
		snprintf(o->why, sizeof(o->why), "%s", _("cannot open a channel"));
		return QH_ERR_INTERNAL;
	}
	o->state = OS_OPENING;
	return 0;
}

/* An ERROR on the connection (a revoked PC, say) ends the command. */
static int
os_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct oneshot *o = qh_mux_arg(mux);

	if (m->type == QH_MSG_ERROR)
		refused(o, m);
	return 0; /* notices are not for a short connection */
}

static void
os_closed(struct qh_mux *mux, int err)
{
	struct oneshot *o = qh_mux_arg(mux);

	o->mux = NULL;
	o->ch = NULL;
	if (o->state == OS_CONNECTING)
		oneshot_finish(o, QH_EXIT_FAIL,
		    _("cannot connect to the console at %s:%d: %s"), o->host, o->port,
		    o->why[0] != '\0' ? o->why
				      : qh_strerror(err != 0 ? err : QH_ERR_CLOSED));
	else
		oneshot_finish(o, QH_EXIT_FAIL, "%s",
		    _("the connection to the console was lost; please try again"));
}

static const struct qh_mux_ops os_mux_ops = {
	.on_ready = os_ready,
	.on_control = os_control,
	.on_close = os_closed,
};

static void
on_timeout(uv_timer_t *t)
{
	struct oneshot *o = t->data;

	if (o->state == OS_CONNECTING || o->state == OS_OPENING)
		oneshot_finish(o, QH_EXIT_FAIL,
		    _("the console at %s:%d did not answer within %d s"), o->host,
		    o->port, ONESHOT_TIMEOUT_MS / 1000);
}

int
oneshot_new(struct qh_cli *c, const struct oneshot_ops *ops, void *arg,
    struct oneshot **op)
{
	static const struct oneshot_ops no_ops;
	struct oneshot *o;
	int status;

	*op = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return qh_cli_fail(c, "%s", _("out of memory"));
	o->ops = ops != NULL ? ops : &no_ops;
	o->arg = arg;
	o->status = QH_EXIT_FAIL;
	if ((status = agent_identity_load(c, &o->bundle, o->host, sizeof(o->host),
		 &o->port, &o->ctx)) != 0) {
		free(o);
		return status;
	}
	if (qh_pki_identity(o->bundle.cert, &o->me) != 0 || o->me.role != QH_ROLE_AGENT) {
		oneshot_free(o);
		return qh_cli_fail(c, "%s",
		    _("this PC's certificate is not an agent certificate"));
	}
	*op = o;
	return 0;
}

int
oneshot_run(struct oneshot *o, const struct qh_buf *req)
{
	if (o->state != OS_NEW)
		return QH_EXIT_FAIL;
	o->req = req;
	o->loop = uv_default_loop();
	o->state = OS_CONNECTING;
	uv_timer_init(o->loop, &o->timer);
	o->timer.data = o;
	o->timer_on = 1;
	uv_timer_start(&o->timer, on_timeout, ONESHOT_TIMEOUT_MS, 0);
	if ((o->mux = qh_mux_new(o->loop, o->ctx, QH_TLS_CLIENT, o->host, NULL,
		 &os_mux_ops, o)) == NULL)
		oneshot_finish(o, QH_EXIT_FAIL, "%s", _("out of memory"));
	else
		/* A failure closes the mux; os_closed reports it. */
		(void)qh_mux_dial(o->mux, o->host, o->port, ONESHOT_TIMEOUT_MS, o->why,
		    sizeof(o->why));
	uv_run(o->loop, UV_RUN_DEFAULT);
	return o->status;
}

void
oneshot_free(struct oneshot *o)
{
	if (o == NULL)
		return;
	if (o->loop != NULL)
		(void)uv_loop_close(o->loop);
	qh_tls_ctx_free(o->ctx);
	if (o->bundle.cert != NULL)
		qh_bundle_free(&o->bundle);
	free(o);
}
