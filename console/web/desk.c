/*
 * qh-console web's ticket desk: the tickets pages' requests, each one
 * channel to the console as `qh-console tickets` and `ticket ...` open
 * them (console/tech/desk.c), the answer as the HTTP response:
 *
 *   GET  /api/desk/tickets?open=1&customer=ID   the listing (the console's JSON)
 *   GET  /api/desk/ticket?id=N                  {"ticket": ..., "environment_text": ...}
 *   GET  /api/desk/file?id=N&name=NAME          the attachment, streamed
 *   POST /api/desk/need|assign|confirm|close|reply   a JSON body (deskreq.h)
 *   POST /api/desk/reply, application/octet-stream   a reply with attachments:
 *        its head (deskreq.h), then the files, each into a nameless
 *        temporary file as it comes, then sent as a ticket upload
 *
 * The cookie and Host are checked for every request (http.c); a POST also
 * needs an Origin of exactly this server and Content-Type
 * application/json (or application/octet-stream for a reply), which no
 * other site's form or script can send here without the cookie's
 * SameSite=Strict and CORS stopping it. A refusal of
 * the console is a 502 whose body is its sentence; a request that does not
 * read is a 400. An attachment streams as /api/pull does (http.c, the
 * PSS_PULL fields): its last bytes wait until what passed matches the
 * size and SHA-256 the console announced, else the download is cut.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/attach.h"
#include "qh/compat.h"
#include "qh/deskview.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"
#include "qh/log.h"
#include "qh/tmpfile.h"
#include "qh/wire.h"
#include "deskreq.h"
#include "webint.h"

#define DESK_ANSWER_MAX QH_JSON_MAX_INPUT /* a document, as the CLI reads it */
#define DESK_WHY_MAX	1024

/* One request's state, from its start until its connection serves the next. */
struct web_desk {
	struct web_desk_call call;
	int post;		/* a POST: its body comes */
	unsigned refuse;	/* a POST refused at its start: this status at its end */
	struct qh_buf body;	/* the POST's body */
	struct qh_chan *ch;	/* to the console */
	struct qh_buf answer;	/* the console's document */
	int done;		/* the channel is over: respond */
	int responded;		/* the response's headers are out */
	char why[DESK_WHY_MAX]; /* a failure, for the page; "" for none */
	struct qh_buf out;	/* the response's body */
	struct qh_ticket t;	/* a reply */
	int t_init;		/* t needs qh_ticket_free */
	struct qh_attach_send send; /* a reply's upload */
	int send_init;
	/* a reply with attachments: its body's head, then their bytes */
	int stream;				      /* application/octet-stream */
	int head_done;				      /* call holds the head */
	struct qh_tmpfile files[QH_TICKET_FILES_MAX]; /* call.files' bytes */
	int nopen;				      /* files opened */
	int fds[QH_TICKET_FILES_MAX];
	const char *names[QH_TICKET_FILES_MAX];
	int cur;	  /* the file being written */
	uint64_t written; /* its bytes so far */
	uint64_t got;	  /* all files' bytes so far */
};

/* Keeps the first failure's sentence. */
static void
desk_fail(struct web_desk *d, const char *why)
{
	if (d->why[0] == '\0')
		snprintf(d->why, sizeof(d->why), "%s", why[0] != '\0' ? why : "failed");
}

/* The channel is over: the answer goes out at the next writable. */
static void
desk_done(struct pss *s)
{
	struct web_desk *d = s->desk;

	d->ch = NULL;
	d->done = 1;
	lws_callback_on_writable(s->wsi);
}

/* The text of an ERROR (or an OPEN_FAIL's) for the page. */
static void
desk_fail_msg(struct web_desk *d, const struct qh_msg *m, const char *fallback)
{
	char *text = NULL;

	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	desk_fail(d, text != NULL ? text : fallback);
	free(text);
}

/* Calls: the document arrives as DATA. */

static void
call_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || err == 0)
		return;
	desk_fail_msg(s->desk, m, "the console refused the request");
	desk_done(s);
}

static void
call_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	qh_chan_consume(ch, len);
	if (s != NULL && !ext && qh_buf_put(&s->desk->answer, p, len) != 0)
		desk_fail(s->desk, "the console's answer is too large");
}

static void
call_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);

	if (s != NULL && m->type == QH_MSG_ERROR)
		desk_fail_msg(s->desk, m, "the console refused the request");
}

static void
call_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s != NULL && s->desk->ch == ch)
		desk_done(s);
}

static const struct qh_chan_ops call_ops = {
	.on_open_result = call_open_result,
	.on_data = call_data,
	.on_msg = call_msg,
	.on_close = call_close,
};

/* A reply: a ticket upload with a text and no files (qh/ticket.h). */

static void
reply_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL)
		return;
	if (err != 0) {
		desk_fail_msg(s->desk, m, "the console refused the reply");
		desk_done(s);
		return;
	}
	if (qh_attach_send_meta(ch, &s->desk->t) != 0)
		desk_fail(s->desk,
		    "the connection to the console broke; nothing was sent");
}

static void
reply_pump(struct pss *s, struct qh_chan *ch)
{
	if (qh_attach_send_pump(&s->desk->send, ch) < 0) {
		desk_fail(s->desk, s->desk->send.why);
		qh_chan_close(ch);
	}
}

static void
reply_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	struct web_desk *d;
	const uint8_t *p;
	size_t len;

	if (s == NULL)
		return;
	d = s->desk;
	if (m->type == QH_MSG_TICKET_GO && !d->send.started)
		reply_pump(s, ch);
	else if (m->type == QH_MSG_TICKET_OK && qh_msg_get(m, QH_K_JSON, &p, &len) == 0)
		(void)qh_buf_put(&d->answer, p, len);
	else if (m->type == QH_MSG_ERROR)
		desk_fail_msg(d, m, "the console refused the reply");
}

static void
reply_writable(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s != NULL && s->desk->send.started)
		reply_pump(s, ch);
}

static void
reply_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || s->desk->ch != ch)
		return;
	if (qh_buf_len(&s->desk->answer) == 0)
		desk_fail(s->desk,
		    "the reply broke off before the console answered; "
		    "send it again (it is stored once)");
	desk_done(s);
}

static const struct qh_chan_ops reply_ops = {
	.on_open_result = reply_open_result,
	.on_data = call_data,
	.on_msg = reply_msg,
	.on_close = reply_close,
	.on_writable = reply_writable,
};

/* Starting. */

static int
bad_request(struct pss *s, unsigned status, const char *why)
{
	struct web_desk *d = s->desk;

	qh_warn("desk: refused a page's request: %s", why);
	snprintf(d->why, sizeof(d->why), "%s\n", why);
	d->responded = 1;
	return web_respond(s, status, "text/plain", d->why, strlen(d->why));
}

/* An attachment's download: a PSS_PULL, as /api/pull is (download.c). */
static int
get_start(struct pss *s, const struct qh_buf *req)
{
	if (web_pull_prepare(s, s->desk->call.req.name) != 0)
		return -1;
	web_announced_open(s, req, "attachment");
	return 0;
}

/* A reply's ticket: its text, its key over this login, the REQUEST in msg. */
static int
reply_build(struct web_desk *d, const char *login, struct qh_buf *msg)
{
	int i;

	qh_ticket_init(&d->t, NULL);
	d->t_init = 1;
	if (qh_ticket_set_reply(&d->t, d->call.req.id, d->call.total) != 0 ||
	    qh_ticket_add_text(&d->t, "text", d->call.reply, d->call.reply_len) != 0) {
		desk_fail(d, d->t.why);
		return -1;
	}
	for (i = 0; i < d->call.nfiles; i++)
		if (qh_attach_add(&d->t, d->fds[i], d->names[i], d->names[i],
			d->call.files[i].size, d->why, sizeof(d->why)) != 0)
			return -1;
	if (qh_ticket_finish(&d->t) != 0) {
		desk_fail(d, d->t.why);
		return -1;
	}
	if (qh_ticket_make_key(&d->t, login) != 0 ||
	    qh_ticket_encode_request(&d->t, msg) != 0 ||
	    qh_attach_send_init(&d->send, &d->t, d->fds, d->names) != 0) {
		desk_fail(d, "cannot build the reply");
		return -1;
	}
	d->send_init = 1;
	return 0;
}

/* Opens the request's channel; a failure is answered at the next writable. */
static int
desk_start(struct pss *s)
{
	struct web_desk *d = s->desk;
	enum qh_desk_cmd cmd = d->call.req.cmd;
	const struct qh_chan_ops *ops = cmd == QH_DESK_REPLY ? &reply_ops : &call_ops;
	struct qh_buf req;
	int r = 0;

	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if (cmd == QH_DESK_REPLY ? reply_build(d, tech_link_login(s->w->link), &req) != 0
				 : qh_desk_req_encode(&d->call.req, &req) != 0) {
		desk_fail(d, "cannot build the request");
		cmd = QH_DESK_NONE; /* answered as a call */
		goto out;
	}
	qh_info("desk: %s, ticket %lld, from the page", qh_desk_cmd_name(cmd),
	    (long long)d->call.req.id);
	if (cmd == QH_DESK_GET) {
		r = get_start(s, &req);
		goto out;
	}
	s->kind = PSS_DESK;
	if ((d->ch = tech_link_open(s->w->link, &req, 0, ops, s)) == NULL)
		desk_fail(d,
		    s->w->up ? "cannot open a channel to the console"
			     : "not connected to the console");
out:
	qh_buf_release(&req);
	if (cmd != QH_DESK_GET && d->ch == NULL) {
		s->kind = PSS_DESK;
		d->done = 1;
		lws_callback_on_writable(s->wsi);
	}
	return r;
}

static struct web_desk *
desk_new(struct pss *s)
{
	struct web_desk *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	/* A reply's head, and the start of its files in the same read. */
	qh_buf_init(&d->body, 4 + WEB_DESK_BODY_MAX + 64 * 1024);
	qh_buf_init(&d->answer, DESK_ANSWER_MAX);
	qh_buf_init(&d->out, DESK_ANSWER_MAX + 2 * 1024 * 1024);
	s->desk = d;
	return d;
}

/* GET: the listing, a ticket or an attachment, from the URL's arguments. */
static int
desk_get(struct pss *s, enum qh_desk_cmd cmd)
{
	char id[32], open[8], customer[80], name[QH_TICKET_NAME_MAX * 3 + 8];
	char why[256];
	const char *vi, *vo, *vc, *vn;

	vi = lws_get_urlarg_by_name(s->wsi, "id=", id, sizeof(id));
	vo = lws_get_urlarg_by_name(s->wsi, "open=", open, sizeof(open));
	vc = lws_get_urlarg_by_name(s->wsi, "customer=", customer, sizeof(customer));
	vn = lws_get_urlarg_by_name(s->wsi, "name=", name, sizeof(name));
	if (web_desk_parse_args(cmd, vi, vo, vc, vn, &s->desk->call, why, sizeof(why)) !=
	    0)
		return bad_request(s, HTTP_STATUS_BAD_REQUEST, why);
	return desk_start(s);
}

int
web_desk_http(struct pss *s, const char *what)
{
	static const struct {
		const char *path;
		enum qh_desk_cmd cmd;
	} gets[] = {
		{ "tickets", QH_DESK_LIST },
		{ "ticket", QH_DESK_SHOW },
		{ "file", QH_DESK_GET },
	};
	char type[64];
	struct web_desk *d;
	size_t i;

	if ((d = desk_new(s)) == NULL)
		return -1;
	if (lws_hdr_total_length(s->wsi, WSI_TOKEN_POST_URI) <= 0) {
		for (i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
			if (strcmp(what, gets[i].path) == 0)
				return desk_get(s, gets[i].cmd);
		return bad_request(s, HTTP_STATUS_NOT_FOUND, "no such request");
	}
	/* A POST: its body is read in any case, and answered at its end. */
	d->post = 1;
	d->call.req.cmd = web_desk_action(what);
	if (lws_hdr_copy(s->wsi, type, sizeof(type), WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
		type[0] = '\0';
	if (lws_hdr_total_length(s->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return bad_request(s, HTTP_STATUS_LENGTH_REQUIRED, "a POST needs a body");
	if (!web_origin_ok(s->w, s->wsi)) {
		d->refuse = HTTP_STATUS_FORBIDDEN;
		snprintf(d->why, sizeof(d->why), "a POST from a foreign Origin");
	} else if (d->call.req.cmd == QH_DESK_REPLY &&
	    strcmp(type, "application/octet-stream") == 0) {
		d->stream = 1; /* a reply with attachments */
	} else if (strncmp(type, "application/json", 16) != 0) {
		d->refuse = HTTP_STATUS_FORBIDDEN;
		snprintf(d->why, sizeof(d->why), "a POST that is not application/json");
	} else if (d->call.req.cmd == QH_DESK_NONE) {
		d->refuse = HTTP_STATUS_NOT_FOUND;
		snprintf(d->why, sizeof(d->why), "no such action");
	}
	return 0;
}

/* Refuses the POST at its end with status and why (the rest of it is dropped). */
static void
body_refuse(struct web_desk *d, unsigned status, const char *why)
{
	d->refuse = status;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* The reply's head has come: a new, nameless temporary file per attachment. */
static int
files_open(struct web_desk *d)
{
	const char *tmp = getenv("TMPDIR");
	char dest[PATH_MAX];
	int i;

	snprintf(dest, sizeof(dest), "%s/qh-web-attachment",
	    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	for (i = 0; i < d->call.nfiles; i++) {
		if (qh_tmpfile_open(&d->files[i], dest) != 0) {
			qh_warn("desk: a temporary file in %s: %s", dest,
			    strerror(errno));
			return -1;
		}
		d->nopen++;
		d->fds[i] = d->files[i].fd;
		d->names[i] = d->call.files[i].name;
	}
	return 0;
}

/* The attachments' bytes, into their files in order; no more than announced. */
static void
files_write(struct web_desk *d, const uint8_t *p, size_t len)
{
	uint64_t room;
	size_t n;
	ssize_t w;

	while (len > 0 && d->refuse == 0) {
		while (
		    d->cur < d->call.nfiles && d->written == d->call.files[d->cur].size) {
			d->cur++;
			d->written = 0;
		}
		if (d->cur == d->call.nfiles) {
			body_refuse(d, HTTP_STATUS_BAD_REQUEST,
			    "more bytes than the attachments announced");
			return;
		}
		room = d->call.files[d->cur].size - d->written;
		n = len < room ? len : (size_t)room;
		if ((w = write(d->fds[d->cur], p, n)) <= 0) {
			qh_warn("desk: writing an attachment: %s", strerror(errno));
			body_refuse(d, HTTP_STATUS_INTERNAL_SERVER_ERROR,
			    "cannot keep the attachment on this workstation");
			return;
		}
		d->written += (uint64_t)w;
		d->got += (uint64_t)w;
		p += w;
		len -= (size_t)w;
	}
}

/* A reply with attachments: the head (bounded, deskreq.c), then the files. */
static void
stream_body(struct web_desk *d, const uint8_t *p, size_t len)
{
	char why[DESK_WHY_MAX];
	size_t head = 0;
	int r;

	if (d->head_done) {
		files_write(d, p, len);
		return;
	}
	if (qh_buf_put(&d->body, p, len) != 0) {
		body_refuse(d, HTTP_STATUS_REQ_ENTITY_TOO_LARGE,
		    "the reply's head is too large");
		return;
	}
	r = web_desk_parse_reply_head(qh_buf_ptr(&d->body), qh_buf_len(&d->body),
	    &d->call, &head, why, sizeof(why));
	if (r == QH_ERR_INCOMPLETE)
		return;
	if (r != 0) {
		body_refuse(d, HTTP_STATUS_BAD_REQUEST, why);
		return;
	}
	d->head_done = 1;
	if (files_open(d) != 0) {
		body_refuse(d, HTTP_STATUS_INTERNAL_SERVER_ERROR,
		    "cannot keep the attachments on this workstation");
		return;
	}
	files_write(d, qh_buf_ptr(&d->body) + head, qh_buf_len(&d->body) - head);
}

int
web_desk_body(struct pss *s, const void *in, size_t len)
{
	struct web_desk *d = s->desk;

	if (d == NULL || !d->post || d->refuse != 0)
		return 0; /* refused already, or being: the body is read and dropped */
	if (d->stream) {
		stream_body(d, in, len);
		return 0;
	}
	if (qh_buf_put(&d->body, in, len) != 0) {
		d->refuse = HTTP_STATUS_REQ_ENTITY_TOO_LARGE;
		snprintf(d->why, sizeof(d->why), "the request is over %d bytes",
		    WEB_DESK_BODY_MAX);
	}
	return 0;
}

int
web_desk_body_done(struct pss *s)
{
	struct web_desk *d = s->desk;
	char why[DESK_WHY_MAX];
	enum qh_desk_cmd cmd;

	if (d == NULL || !d->post || d->responded)
		return 0;
	if (d->refuse != 0) {
		snprintf(why, sizeof(why), "%s", d->why);
		d->why[0] = '\0';
		return bad_request(s, d->refuse, why);
	}
	if (d->stream) {
		if (!d->head_done || d->got != d->call.total)
			return bad_request(s, HTTP_STATUS_BAD_REQUEST,
			    "the reply's attachments did not all come");
		return desk_start(s);
	}
	cmd = d->call.req.cmd;
	if (web_desk_parse_body(cmd, qh_buf_ptr(&d->body), qh_buf_len(&d->body), &d->call,
		why, sizeof(why)) != 0)
		return bad_request(s, HTTP_STATUS_BAD_REQUEST, why);
	return desk_start(s);
}

/* Answering. */

/* A ticket for the page: the console's document and its environment as lines. */
static int
show_wrap(struct web_desk *d, const struct qh_json_node *root)
{
	struct qh_buf lines;
	struct qh_json j;
	int r;

	qh_buf_init(&lines, 1024 * 1024);
	qh_json_init(&j, &d->out);
	qh_json_begin_object(&j);
	qh_json_key(&j, "ticket");
	qh_json_raw(&j, (const char *)qh_buf_ptr(&d->answer), qh_buf_len(&d->answer));
	if (qh_deskview_env_text(qh_json_get(root, "environment"), &lines) == 0 &&
	    qh_buf_put_u8(&lines, 0) == 0)
		qh_json_kv_str(&j, "environment_text", (const char *)qh_buf_ptr(&lines));
	else
		qh_json_kv_null(&j, "environment_text");
	qh_json_end_object(&j);
	r = qh_json_finish(&j);
	qh_buf_release(&lines);
	return r;
}

/* The answer: the document read by the bounded reader, or the refusal. */
static int
desk_respond(struct pss *s)
{
	struct web_desk *d = s->desk;
	struct qh_json_doc *doc = NULL;
	int r;

	d->responded = 1;
	if (d->why[0] == '\0' &&
	    (qh_buf_len(&d->answer) == 0 ||
		qh_json_parse(qh_buf_ptr(&d->answer), qh_buf_len(&d->answer), &doc) != 0))
		desk_fail(d, "the console's answer is no JSON document");
	if (d->why[0] == '\0' && d->call.req.cmd == QH_DESK_SHOW &&
	    show_wrap(d, qh_json_root(doc)) != 0)
		desk_fail(d, "the ticket is too large to show");
	qh_json_free(doc);
	if (d->why[0] != '\0') {
		qh_warn("desk: %s: %s", qh_desk_cmd_name(d->call.req.cmd), d->why);
		return web_respond(s, HTTP_STATUS_BAD_GATEWAY, "text/plain", d->why,
		    strlen(d->why));
	}
	if (d->call.req.cmd != QH_DESK_SHOW &&
	    (r = qh_buf_put(&d->out, qh_buf_ptr(&d->answer), qh_buf_len(&d->answer))) !=
		0)
		return -1;
	return web_respond(s, HTTP_STATUS_OK, "application/json", qh_buf_ptr(&d->out),
	    qh_buf_len(&d->out));
}

int
web_desk_writable(struct pss *s)
{
	struct web_desk *d = s->desk;

	if (d != NULL && !d->done)
		return 0; /* the console has not answered */
	if (d == NULL || d->responded) {
		s->kind = PSS_HTTP; /* the response's body */
		return web_http_writable(s);
	}
	return desk_respond(s);
}

void
web_desk_closed(struct pss *s)
{
	struct web_desk *d = s->desk;

	if (d == NULL)
		return;
	s->desk = NULL;
	if (s->kind == PSS_DESK)
		s->kind = PSS_HTTP;
	if (d->ch != NULL) {
		qh_chan_set_arg(d->ch, NULL);
		qh_chan_close(d->ch);
	}
	if (d->send_init)
		qh_attach_send_free(&d->send);
	if (d->t_init)
		qh_ticket_free(&d->t);
	for (int i = 0; i < d->nopen; i++)
		qh_tmpfile_abort(&d->files[i]);
	qh_buf_release(&d->body);
	qh_buf_release(&d->answer);
	qh_buf_release(&d->out);
	free(d);
}
