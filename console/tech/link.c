/*
 * A technician's lasting connection to the console (tech.h, tech_link_*):
 * for a client that opens many channels over time on a loop of its own
 * making (qh-console web), where the commands in this folder open one.
 * It loads the bundle as they do, dials the console, and when the
 * connection drops tells its user and dials again after LINK_RETRY_MS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "conn.h"

#define LINK_RETRY_MS 2000 /* between a lost connection and the next dial */

struct tech_link {
	uv_loop_t *loop;
	const struct tech_link_ops *ops;
	void *arg;
	struct tech_id id;
	struct qh_identity me; /* from the bundle's certificate */
	struct qh_mux *mux;    /* NULL between connections */
	int up;		       /* mux is verified and takes channels */
	int closing;	       /* tech_link_close was called */
	uv_timer_t retry;
	char reason[REASON_MAX];
};

static void link_dial(struct tech_link *l);

static void
on_retry(uv_timer_t *h)
{
	link_dial(h->data);
}

static int
link_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct tech_link *l = qh_mux_arg(mux);

	qh_info("connected to the console %s at %s", peer->id, qh_mux_peer_addr(mux));
	l->up = 1;
	if (l->ops->on_up != NULL)
		l->ops->on_up(l);
	return 0;
}

/* A control message: ERROR refuses us (revoked, say), NOTICE is logged. */
static int
link_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct tech_link *l = qh_mux_arg(mux);
	char *text = NULL;

	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	if (m->type == QH_MSG_ERROR)
		snprintf(l->reason, sizeof(l->reason), "%s",
		    text != NULL ? text : "the console refused the connection");
	else
		qh_info("console: %s", text != NULL ? text : "");
	free(text);
	return 0;
}

static void
retry_closed(uv_handle_t *h)
{
	struct tech_link *l = h->data;

	if (l->ops->on_closed != NULL)
		l->ops->on_closed(l);
	tech_bundle_close(&l->id);
	free(l);
}

static void
link_closed(struct qh_mux *mux, int err)
{
	struct tech_link *l = qh_mux_arg(mux);
	char why[REASON_MAX + 640];

	l->mux = NULL;
	l->up = 0;
	if (l->closing) {
		uv_close((uv_handle_t *)&l->retry, retry_closed);
		return;
	}
	snprintf(why, sizeof(why), "cannot reach the console at %s: %s",
	    l->id.bundle.console, l->reason[0] != '\0' ? l->reason : qh_strerror(err));
	qh_warn("%s; trying again", why);
	if (l->ops->on_down != NULL)
		l->ops->on_down(l, why);
	uv_timer_start(&l->retry, on_retry, LINK_RETRY_MS, 0);
}

static const struct qh_mux_ops link_mux_ops = {
	.on_ready = link_ready,
	.on_control = link_control,
	.on_close = link_closed,
};

static void
link_dial(struct tech_link *l)
{
	if (l->closing || l->mux != NULL)
		return;
	l->reason[0] = '\0';
	l->mux = qh_mux_new(l->loop, l->id.ctx, QH_TLS_CLIENT, l->id.host, NULL,
	    &link_mux_ops, l);
	if (l->mux == NULL) {
		uv_timer_start(&l->retry, on_retry, LINK_RETRY_MS, 0);
		return;
	}
	qh_mux_set_keepalive(l->mux, TECH_KEEPALIVE_MS, TECH_DEAD_MS);
	/* A failure comes to link_closed. */
	(void)qh_mux_dial(l->mux, l->id.host, l->id.port, TECH_CONNECT_MS, l->reason,
	    sizeof(l->reason));
}

int
tech_link_new(const struct qh_cli *c, uv_loop_t *loop, const struct tech_link_ops *ops,
    void *arg, struct tech_link **lp)
{
	struct tech_link *l;

	*lp = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		tech_say(NULL, "out of memory");
		return QH_EXIT_FAIL;
	}
	if (tech_bundle_open(c, &l->id) != 0) {
		free(l);
		return QH_EXIT_FAIL;
	}
	if (qh_pki_identity(l->id.bundle.cert, &l->me) != 0 ||
	    (l->me.role != QH_ROLE_TECHNICIAN && l->me.role != QH_ROLE_ACCOUNTING)) {
		tech_say(NULL, "%s is not a technician's or accountant's bundle",
		    l->id.path);
		tech_bundle_close(&l->id);
		free(l);
		return QH_EXIT_FAIL;
	}
	l->loop = loop;
	l->ops = ops;
	l->arg = arg;
	uv_timer_init(loop, &l->retry);
	l->retry.data = l;
	link_dial(l);
	*lp = l;
	return 0;
}

void
tech_link_close(struct tech_link *l)
{
	if (l->closing)
		return;
	l->closing = 1;
	uv_timer_stop(&l->retry);
	if (l->mux != NULL)
		qh_mux_close(l->mux, 0, NULL); /* link_closed finishes */
	else
		uv_close((uv_handle_t *)&l->retry, retry_closed);
}

struct qh_chan *
tech_link_open(struct tech_link *l, const struct qh_buf *req, uint32_t window,
    const struct qh_chan_ops *ops, void *arg)
{
	if (!l->up || l->closing)
		return NULL;
	return qh_chan_open(l->mux, req, window, ops, arg);
}

int
tech_link_up(const struct tech_link *l)
{
	return l->up;
}

void *
tech_link_arg(const struct tech_link *l)
{
	return l->arg;
}

const char *
tech_link_login(const struct tech_link *l)
{
	return l->me.id;
}

const char *
tech_link_role(const struct tech_link *l)
{
	return qh_role_name(l->me.role);
}

const char *
tech_link_console(const struct tech_link *l)
{
	return l->id.bundle.console;
}
