/*
 * The ticket desk over TLS (qh/desk.h): the ticket commands run with a
 * technician's bundle ask the console, which answers from its database.
 * A request is one channel: REQUEST{cmd, ...} and the JSON document as
 * DATA. A reply with attachments is a ticket upload (qh/attach.h), whose
 * TICKET_OK carries the result document; a get is a download, announced
 * with TICKET_FILE{name, size, hash} and received into a new file checked
 * against it (qh/fetch.h). Failures the connection reports (a refusal, a
 * revoked bundle, a lost console) are printed by conn.c as they happen;
 * the desk's why stays empty then.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/attach.h"
#include "qh/compat.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/fetch.h"
#include "qh/pki.h"
#include "conn.h"
#include "tech.h"

/* One request's run: what it sends and what came back. */
struct remote {
	struct qh_desk *d;
	struct qh_buf *answer;	    /* call and reply: the document */
	int answered;		    /* reply: TICKET_OK came */
	struct qh_ticket *t;	    /* reply */
	struct qh_attach_send send; /* reply */
	const char *out;	    /* get: where to */
	struct qh_fetch fetch;	    /* get */
	int fetching;		    /* get: fetch is open */
	struct qh_desk_got *got;    /* get */
};

/* What the desk keeps between tech_desk_open and tech_desk_close. */
struct remote_desk {
	const struct qh_cli *c;
};

/* Starts a request's connection; QH_EXIT_FAIL after a line on failure. */
static int
remote_new(struct qh_desk *d, const struct tech_ops *ops, struct remote *x,
    struct tech **tp)
{
	struct remote_desk *rd = d->arg;

	d->why[0] = '\0';
	x->d = d;
	return tech_new(rd->c, ops, x, tp);
}

/* call: the document arrives as DATA. */

static void
call_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct remote *x = tech_arg(t);

	if (!ext)
		(void)qh_buf_put(x->answer, p, len); /* a full buffer keeps its error */
	tech_consume(t, len);
}

static int
call_end(struct tech *t)
{
	struct remote *x = tech_arg(t);

	if (qh_buf_error(x->answer) != 0) {
		tech_say(t, "the console's answer is larger than %zu bytes",
		    qh_buf_room(x->answer) + qh_buf_len(x->answer));
		return QH_EXIT_FAIL;
	}
	return QH_EXIT_OK;
}

static const struct tech_ops call_ops = {
	.on_data = call_data,
	.on_end = call_end,
};

static int
remote_call(struct qh_desk *d, const struct qh_desk_req *req, struct qh_buf *answer)
{
	struct remote x = { 0 };
	struct tech *t = NULL;
	struct qh_buf msg;
	int status;

	qh_buf_init(&msg, QH_MSG_MAX_LEN);
	if (qh_desk_req_encode(req, &msg) != 0) {
		qh_buf_release(&msg);
		snprintf(d->why, sizeof(d->why), "cannot build the request");
		return QH_ERR_ARG;
	}
	x.answer = answer;
	if ((status = remote_new(d, &call_ops, &x, &t)) == 0)
		status = tech_run(t, &msg);
	tech_free(t);
	qh_buf_release(&msg);
	return status == QH_EXIT_OK ? 0 : QH_ERR_REFUSED;
}

/* reply: the upload. */

static void
reply_open(struct tech *t)
{
	struct remote *x = tech_arg(t);

	if (qh_attach_send_meta(tech_chan(t), x->t) != 0) {
		tech_say(t, "the connection to the console broke; nothing was sent");
		tech_finish(t, QH_EXIT_FAIL);
	}
}

/* Sends what the window takes; a failure ends the command. */
static void
reply_pump(struct tech *t)
{
	struct remote *x = tech_arg(t);
	int r;

	if (tech_chan(t) == NULL || x->answered)
		return;
	if ((r = qh_attach_send_pump(&x->send, tech_chan(t))) < 0) {
		tech_say(t, "%s", x->send.why);
		tech_finish(t, QH_EXIT_FAIL);
	}
}

static void
reply_msg(struct tech *t, const struct qh_msg *m)
{
	struct remote *x = tech_arg(t);
	const uint8_t *p;
	size_t len;

	switch (m->type) {
	case QH_MSG_TICKET_GO:
		if (x->send.started)
			break;
		reply_pump(t);
		return;
	case QH_MSG_TICKET_OK:
		x->answered = 1;
		if (qh_msg_get(m, QH_K_JSON, &p, &len) == 0)
			(void)qh_buf_put(x->answer, p, len);
		return;
	default:
		break;
	}
	tech_say(t, "the console sent an unexpected %s message", qh_msg_name(m->type));
	tech_finish(t, QH_EXIT_FAIL);
}

static void
reply_writable(struct tech *t)
{
	struct remote *x = tech_arg(t);

	if (x->send.started)
		reply_pump(t);
}

static void
reply_data(struct tech *t, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	tech_consume(t, len); /* the console sends none on an upload */
}

static int
reply_end(struct tech *t)
{
	struct remote *x = tech_arg(t);

	if (!x->answered || qh_buf_len(x->answer) == 0) {
		tech_say(t,
		    "the upload broke off before the console answered; run the "
		    "same command again (it sends the reply once)");
		return QH_EXIT_FAIL;
	}
	return QH_EXIT_OK;
}

static const struct tech_ops reply_ops = {
	.on_open = reply_open,
	.on_msg = reply_msg,
	.on_data = reply_data,
	.on_writable = reply_writable,
	.on_end = reply_end,
};

static int
remote_reply(struct qh_desk *d, struct qh_ticket *t, const int *fds,
    const char *const *paths, struct qh_buf *answer)
{
	struct qh_identity id;
	struct remote *x;
	struct tech *tc = NULL;
	struct qh_buf msg;
	int status;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		return QH_ERR_NOMEM;
	}
	qh_buf_init(&msg, QH_MSG_MAX_LEN);
	x->answer = answer;
	x->t = t;
	if ((status = remote_new(d, &reply_ops, x, &tc)) != 0)
		goto out;
	/* The reply's key: the technician (this bundle), the ticket, the content. */
	if (qh_pki_identity(tc->bundle.cert, &id) != 0 ||
	    qh_ticket_make_key(t, id.id) != 0 || qh_ticket_encode_request(t, &msg) != 0 ||
	    qh_attach_send_init(&x->send, t, fds, paths) != 0) {
		snprintf(d->why, sizeof(d->why), "cannot build the reply");
		status = QH_EXIT_FAIL;
		goto out;
	}
	status = tech_run(tc, &msg);
out:
	tech_free(tc);
	qh_attach_send_free(&x->send);
	qh_buf_release(&msg);
	free(x);
	return status == QH_EXIT_OK ? 0 : QH_ERR_REFUSED;
}

/* get: the download. */

static void
get_msg(struct tech *t, const struct qh_msg *m)
{
	struct remote *x = tech_arg(t);
	struct qh_desk *d = x->d;
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p;
	size_t len, i;
	uint64_t size;
	char hex[65];
	int r;

	if (m->type != QH_MSG_TICKET_FILE || x->fetching ||
	    qh_msg_get_u64(m, QH_K_SIZE, &size) != 0 ||
	    qh_msg_get(m, QH_K_HASH, &p, &len) != 0 || len != 32) {
		tech_say(t, "the console sent an unexpected %s message",
		    qh_msg_name(m->type));
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	hex[64] = '\0';
	if ((r = qh_fetch_open(&x->fetch, x->out, size, hex)) != 0) {
		tech_say(t, "%s: %s", x->out,
		    r == QH_ERR_EXISTS ? "exists; not overwriting it" : strerror(errno));
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	x->fetching = 1;
	x->got->size = size;
	(void)d;
}

static void
get_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct remote *x = tech_arg(t);
	int r;

	tech_consume(t, len);
	if (ext || !x->fetching) {
		tech_say(t, "the console sent data before announcing the file");
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	if ((r = qh_fetch_write(&x->fetch, p, len)) != 0) {
		tech_say(t, "%s: %s", x->out,
		    r == QH_ERR_TOO_LARGE ? "the console sent more than announced"
					  : strerror(errno));
		tech_finish(t, QH_EXIT_FAIL);
	}
}

static int
get_end(struct tech *t)
{
	struct remote *x = tech_arg(t);
	int r;

	if (!x->fetching) {
		tech_say(t, "the console announced no file");
		return QH_EXIT_FAIL;
	}
	x->fetching = 0;
	if ((r = qh_fetch_finish(&x->fetch, x->got->sha256)) == 0)
		return QH_EXIT_OK;
	if (r == QH_ERR_FORMAT || r == QH_ERR_INCOMPLETE)
		tech_say(t,
		    "the attachment arrived damaged (%" PRIu64 " bytes, SHA-256 %s, "
		    "not as on record); %s removed",
		    x->fetch.got, x->got->sha256, x->out);
	else if (r == QH_ERR_EXISTS)
		tech_say(t, "%s exists; not overwriting it", x->out);
	else
		tech_say(t, "writing %s: %s", x->out, strerror(errno));
	return QH_EXIT_FAIL;
}

static void
get_stop(struct tech *t)
{
	struct remote *x = tech_arg(t);

	if (x->fetching) {
		qh_fetch_abort(&x->fetch);
		x->fetching = 0;
	}
}

static const struct tech_ops get_ops = {
	.on_msg = get_msg,
	.on_data = get_data,
	.on_end = get_end,
	.on_stop = get_stop,
};

static int
remote_get(struct qh_desk *d, const struct qh_desk_req *req, const char *out,
    struct qh_desk_got *got)
{
	struct remote x = { 0 };
	struct tech *t = NULL;
	struct qh_buf msg;
	int status;

	memset(got, 0, sizeof(*got));
	qh_buf_init(&msg, QH_MSG_MAX_LEN);
	if (qh_desk_req_encode(req, &msg) != 0) {
		qh_buf_release(&msg);
		snprintf(d->why, sizeof(d->why), "cannot build the request");
		return QH_ERR_ARG;
	}
	x.out = out;
	x.got = got;
	if ((status = remote_new(d, &get_ops, &x, &t)) == 0)
		status = tech_run(t, &msg);
	tech_free(t);
	if (x.fetching)
		qh_fetch_abort(&x.fetch);
	qh_buf_release(&msg);
	return status == QH_EXIT_OK ? 0 : QH_ERR_REFUSED;
}

int
tech_desk_open(const struct qh_cli *c, struct qh_desk *d)
{
	struct remote_desk *rd;

	memset(d, 0, sizeof(*d));
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		tech_say(NULL, "out of memory");
		return QH_EXIT_FAIL;
	}
	rd->c = c;
	d->call = remote_call;
	d->reply = remote_reply;
	d->get = remote_get;
	d->arg = rd;
	return 0;
}

void
tech_desk_close(struct qh_desk *d)
{
	free(d->arg);
	d->arg = NULL;
}
