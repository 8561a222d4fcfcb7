/*
 * Answering the ticket desk over TLS (see desk.h). A document is held
 * until the requester's window has taken it all; an attachment is read
 * from the content-addressed store a chunk at a time on the thread pool
 * (uv_fs_read) and sent as the window allows, so a large file costs one
 * chunk of memory and never blocks the loop. Downloads are counted: a
 * peer cannot hold more than DOWNLOADS_MAX files open on the console.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"
#include "desk.h"

#define ANSWER_MAX    (16 * 1024 * 1024) /* one document */
#define CHUNK	      (64 * 1024)	 /* one read of an attachment */
#define DOWNLOADS_MAX 32		 /* attachments being sent at once */

/* One answer on its way: a document, or an attachment's bytes. */
struct answer {
	struct server *srv;
	struct qh_chan *ch; /* NULL once the channel is gone */
	char who[2 * QH_ID_MAX + 16];
	struct qh_buf doc; /* a document: sent from off */
	size_t off;
	uv_file fd; /* an attachment: -1 when none */
	uv_fs_t req;
	int reading;	/* a uv_fs_read is in flight */
	uint64_t left;	/* bytes of the file not read yet */
	uint8_t *chunk; /* read, from coff to clen not yet sent */
	size_t coff, clen;
	int ended; /* EOF and CLOSE sent */
};

static int downloads; /* attachments being sent */

/* The answer's memory, once neither the channel nor a read needs it. */
static void
answer_free(struct answer *a)
{
	if (a->fd >= 0) {
		close(a->fd);
		downloads--;
	}
	qh_buf_release(&a->doc);
	free(a->chunk);
	free(a);
}

/* Everything is sent: EOF and CLOSE; the memory goes with the channel. */
static void
answer_end(struct answer *a)
{
	if (a->ended || a->ch == NULL)
		return;
	a->ended = 1;
	qh_chan_eof(a->ch);
	qh_chan_close(a->ch);
}

static void pump(struct answer *a);

/* A chunk of the attachment came from the disk. */
static void
on_read(uv_fs_t *req)
{
	struct answer *a = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	a->reading = 0;
	if (a->ch == NULL) {
		answer_free(a); /* the channel went while we read */
		return;
	}
	if (n <= 0) {
		/* The store lost the file under us: the receiver sees too few bytes. */
		qh_error("%s: reading an attachment: %s", a->who,
		    n < 0 ? uv_strerror((int)n) : "it is shorter than on record");
		qh_chan_close(a->ch);
		a->ended = 1;
		return;
	}
	a->coff = 0;
	a->clen = (size_t)n;
	a->left -= (uint64_t)n;
	pump(a);
}

/* Sends what the window takes; reads on when a chunk is out. */
static void
pump(struct answer *a)
{
	ssize_t n;
	uv_buf_t b;

	if (a->ch == NULL || a->ended)
		return;
	while (a->off < qh_buf_len(&a->doc)) {
		n = qh_chan_write(a->ch, 0, qh_buf_ptr(&a->doc) + a->off,
		    qh_buf_len(&a->doc) - a->off);
		if (n <= 0)
			return; /* on_writable goes on */
		a->off += (size_t)n;
	}
	while (a->coff < a->clen) {
		n = qh_chan_write(a->ch, 0, a->chunk + a->coff, a->clen - a->coff);
		if (n <= 0)
			return;
		a->coff += (size_t)n;
	}
	if (a->fd >= 0 && a->left > 0) {
		if (a->reading)
			return;
		b = uv_buf_init((char *)a->chunk,
		    (unsigned)(a->left < CHUNK ? a->left : CHUNK));
		a->req.data = a;
		if (uv_fs_read(a->srv->loop, &a->req, a->fd, &b, 1, -1, on_read) != 0) {
			qh_chan_close(a->ch);
			a->ended = 1;
			return;
		}
		a->reading = 1;
		return;
	}
	answer_end(a);
}

static void
answer_writable(struct qh_chan *ch)
{
	pump(qh_chan_arg(ch));
}

static void
answer_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len); /* nothing is asked on an answer's channel */
}

static void
answer_close(struct qh_chan *ch)
{
	struct answer *a = qh_chan_arg(ch);

	a->ch = NULL;
	if (!a->reading)
		answer_free(a);
}

static const struct qh_chan_ops answer_ops = {
	.on_data = answer_data,
	.on_writable = answer_writable,
	.on_close = answer_close,
};

/* The wire's error code for a desk failure. */
static const char *
code_of(int r)
{
	switch (r) {
	case QH_ERR_NOT_FOUND:
		return "not-found";
	case QH_ERR_CLOSED:
		return "closed";
	case QH_ERR_PERM:
		return "forbidden";
	case QH_ERR_LIMIT:
		return "limit";
	case QH_ERR_ARG:
	case QH_ERR_FORMAT:
	case QH_ERR_EXISTS:
		return "request";
	default:
		return "internal";
	}
}

/* Streams the attachment req names: TICKET_FILE, then its bytes. */
static void
send_attachment(struct answer *a, const struct ticket_actor *actor,
    const struct qh_desk_req *req)
{
	char why[512], path[PATH_MAX], hex[65];
	uint8_t hash[32];
	uint64_t size = 0;
	struct qh_buf b;
	unsigned i;
	int r;

	if ((r = desk_attachment(a->srv->db, actor, req->id, req->name, &size, hex, why,
		 sizeof(why))) != 0) {
		qh_chan_refuse(a->ch, code_of(r), why);
		answer_free(a);
		return;
	}
	if (downloads >= DOWNLOADS_MAX) {
		qh_chan_refuse(a->ch, "busy",
		    "the console is sending many attachments; try again in a minute");
		answer_free(a);
		return;
	}
	for (i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &hash[i]);
	if (ticket_store_path(a->srv->state_dir, hex, path, sizeof(path)) != 0 ||
	    (a->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (a->chunk = malloc(CHUNK)) == NULL) {
		qh_error("%s: ticket %" PRId64
			 ": the stored attachment %s is missing: %s",
		    a->who, req->id, hex, strerror(errno));
		qh_chan_refuse(a->ch, "storage",
		    "the console cannot read the attachment; see its log");
		answer_free(a);
		return;
	}
	downloads++;
	a->left = size;
	qh_chan_accept(a->ch, 0, &answer_ops, a);
	qh_buf_init(&b, 512);
	if (qh_msg_begin(&b, QH_MSG_TICKET_FILE) == 0 &&
	    qh_msg_put_str(&b, QH_K_NAME, req->name) == 0 &&
	    qh_msg_put_u64(&b, QH_K_SIZE, size) == 0 &&
	    qh_msg_put(&b, QH_K_HASH, hash, 32) == 0)
		(void)qh_chan_send_msg(a->ch, &b);
	qh_buf_release(&b);
	qh_info("%s: ticket %" PRId64 ": sending attachment %s (%" PRIu64 " bytes)",
	    a->who, req->id, hex, size);
	pump(a);
}

void
desk_answer_request(struct server *srv, const struct qh_identity *who, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct ticket_actor actor = { 0 };
	struct qh_desk_req req;
	struct answer *a;
	char why[1024];
	int r;

	if ((r = qh_desk_req_decode(m, &req, why, sizeof(why))) != 0) {
		qh_chan_refuse(ch, "request", why);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		return;
	}
	a->srv = srv;
	a->ch = ch;
	a->fd = -1;
	qh_buf_init(&a->doc, ANSWER_MAX);
	if (who->role == QH_ROLE_AGENT) {
		actor.customer = 1;
		actor.customer_id = who->id;
		actor.agent_id = who->agent_id;
		snprintf(a->who, sizeof(a->who), "agent %s of %s", who->agent_id,
		    who->id);
	} else {
		actor.login = who->id;
		snprintf(a->who, sizeof(a->who), "%s %s", qh_role_name(who->role),
		    who->id);
	}
	if (req.cmd == QH_DESK_GET) {
		send_attachment(a, &actor, &req);
		return;
	}
	if ((r = desk_run(srv->db, &srv->conf, &actor, &req, &a->doc, why,
		 sizeof(why))) != 0) {
		qh_info("%s: %s refused: %s", a->who, qh_desk_cmd_name(req.cmd), why);
		qh_chan_refuse(ch, code_of(r), why);
		answer_free(a);
		return;
	}
	if (req.cmd != QH_DESK_LIST && req.cmd != QH_DESK_SHOW &&
	    req.cmd != QH_DESK_BALANCE)
		qh_info("%s: %s on ticket %" PRId64, a->who, qh_desk_cmd_name(req.cmd),
		    req.id);
	qh_chan_accept(ch, 0, &answer_ops, a);
	pump(a);
}
