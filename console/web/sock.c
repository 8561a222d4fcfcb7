/*
 * qh-console web's WebSockets: /ws/queue (the console's queue, pushed, and
 * the connection's state), /ws/session/CODE (a terminal on an attach
 * channel, the workstation's facts, the end with a note) and
 * /ws/push/CODE (an upload on a push channel, hashed as it passes). What
 * waits for a page is bounded by its channel's window; what a page sends
 * faster than its channel takes stops lws reading from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "webint.h"
#include "wsmsg.h"

static void
sock_kill(struct pss *s, const char *why)
{
	char peer[64];

	if (s->kill)
		return;
	web_peer_name(s->wsi, peer, sizeof(peer));
	qh_warn("page %s: closing its WebSocket: %s", peer, why);
	s->kill = 1;
	lws_callback_on_writable(s->wsi);
}

/* Queues a JSON event (finished in b) for the page. */
static void
sock_event(struct pss *s, struct qh_buf *b)
{
	if (s->kill || qh_buf_error(b) != 0)
		return;
	if (qh_buf_put_u32(&s->events, (uint32_t)qh_buf_len(b)) != 0 ||
	    qh_buf_put(&s->events, qh_buf_ptr(b), qh_buf_len(b)) != 0) {
		sock_kill(s, "the page does not read its events");
		return;
	}
	lws_callback_on_writable(s->wsi);
}

/* {"type":TYPE, "text":TEXT} (text may be NULL), with one integer if key. */
static void
sock_say(struct pss *s, const char *type, const char *text, const char *key, int64_t v)
{
	struct qh_buf b;
	struct qh_json j;

	/* JSON escaping makes a byte at most six. */
	qh_buf_init(&b, 8192 + (text != NULL ? 6 * strlen(text) : 0));
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "type", type);
	if (text != NULL)
		qh_json_kv_str(&j, "text", text);
	if (key != NULL)
		qh_json_kv_int(&j, key, v);
	qh_json_end_object(&j);
	if (qh_json_finish(&j) == 0)
		sock_event(s, &b);
	qh_buf_release(&b);
}

/* The console connection's state, for one page or all. */
static void
sock_link_state(struct pss *s)
{
	struct web *w = s->w;
	struct qh_buf b;
	struct qh_json j;

	qh_buf_init(&b, 8192);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "type", "link");
	qh_json_kv_bool(&j, "up", w->up);
	qh_json_kv_str(&j, "login", tech_link_login(w->link));
	qh_json_kv_str(&j, "role", tech_link_role(w->link));
	qh_json_kv_str(&j, "console", tech_link_console(w->link));
	if (!w->up && w->down_why[0] != '\0')
		qh_json_kv_str(&j, "text", w->down_why);
	qh_json_end_object(&j);
	if (qh_json_finish(&j) == 0)
		sock_event(s, &b);
	qh_buf_release(&b);
}

/* The queue subscription. */

static void
watch_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	struct web *w = qh_chan_arg(ch);
	const uint8_t *nl;
	struct pss *s;
	size_t n;

	qh_chan_consume(ch, len);
	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (qh_buf_put(&w->line, p, n) != 0) {
			qh_warn("the console's queue snapshot is over %d bytes; dropped",
			    LINE_MAX_WEB);
			qh_buf_reset(&w->line);
		}
		if (nl == NULL)
			break;
		p += n + 1;
		len -= n + 1;
		if (qh_buf_len(&w->line) == 0)
			continue;
		qh_buf_reset(&w->snap);
		(void)qh_buf_put(&w->snap, qh_buf_ptr(&w->line), qh_buf_len(&w->line));
		qh_buf_reset(&w->line);
		LIST_FOREACH (s, &w->socks, link) {
			if (s->kind != PSS_QUEUE)
				continue;
			s->snap_dirty = 1;
			lws_callback_on_writable(s->wsi);
		}
	}
}

static void
watch_msg(struct qh_chan *ch QH_UNUSED, const struct qh_msg *m)
{
	char *text = NULL;

	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		qh_warn("queue: %s", text);
	free(text);
}

static void
watch_open_result(struct qh_chan *ch, int err, const struct qh_msg *m QH_UNUSED)
{
	struct web *w = qh_chan_arg(ch);

	if (err != 0) {
		qh_warn("the console refused to send the queue (a console older than "
			"this client?)");
		w->watch = NULL;
	}
}

static void
watch_close(struct qh_chan *ch)
{
	struct web *w = qh_chan_arg(ch);

	if (w->watch == ch)
		w->watch = NULL;
}

static const struct qh_chan_ops watch_ops = {
	.on_open_result = watch_open_result,
	.on_data = watch_data,
	.on_msg = watch_msg,
	.on_close = watch_close,
};

static void
link_up(struct tech_link *l)
{
	struct web *w = tech_link_arg(l);
	struct qh_buf req;
	struct pss *s;

	w->up = 1;
	w->down_why[0] = '\0';
	qh_buf_init(&req, 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "watch");
	qh_buf_reset(&w->line);
	if (strcmp(tech_link_role(l), "technician") == 0 &&
	    (w->watch = tech_link_open(l, &req, 0, &watch_ops, w)) == NULL)
		qh_warn("cannot open the queue channel");
	qh_buf_release(&req);
	LIST_FOREACH (s, &w->socks, link)
		sock_link_state(s);
}

static void
link_down(struct tech_link *l, const char *why)
{
	struct web *w = tech_link_arg(l);
	struct pss *s;

	w->up = 0;
	w->watch = NULL;
	snprintf(w->down_why, sizeof(w->down_why), "%s", why);
	LIST_FOREACH (s, &w->socks, link)
		sock_link_state(s);
}

const struct tech_link_ops web_link_ops = {
	.on_up = link_up,
	.on_down = link_down,
};

/* The terminal: an attach channel. */

static void term_flush(struct pss *s);
static void sock_event(struct pss *s, struct qh_buf *b);

/* The agent's answer to an upload: EXIT{status, [text], size, hash}. */
static void
push_result(struct pss *s, const struct qh_msg *m)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *h = NULL;
	char *text = NULL, hx[65] = "";
	uint32_t status = 1;
	uint64_t size = 0;
	size_t hlen = 0, i;
	struct qh_buf b;
	struct qh_json j;

	(void)qh_msg_get_u32(m, QH_K_STATUS, &status);
	(void)qh_msg_get_u64(m, QH_K_SIZE, &size);
	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	if (qh_msg_get(m, QH_K_HASH, &h, &hlen) == 0 && hlen == 32)
		for (i = 0; i < hlen; i++) {
			hx[2 * i] = hex[h[i] >> 4];
			hx[2 * i + 1] = hex[h[i] & 15];
		}
	hx[2 * (hlen == 32 ? hlen : 0)] = '\0';
	qh_buf_init(&b, 8192);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "type", "pushed");
	qh_json_kv_int(&j, "status", status);
	qh_json_kv_int(&j, "size", (int64_t)size);
	qh_json_kv_str(&j, "hash", hx);
	if (text != NULL)
		qh_json_kv_str(&j, "text", text);
	qh_json_end_object(&j);
	if (qh_json_finish(&j) == 0)
		sock_event(s, &b);
	qh_buf_release(&b);
	free(text);
	s->term = TERM_ENDED;
}

static void
term_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL)
		return;
	if (err != 0) {
		s->ch = NULL;
		s->term = TERM_ENDED;
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		sock_say(s, "error",
		    text != NULL ? text : "the console refused the request", NULL, 0);
		free(text);
		return;
	}
	s->term = TERM_OPEN;
	sock_say(s, "open", NULL, NULL, 0);
	term_flush(s); /* what was typed while it opened */
}

static void
term_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL) {
		qh_chan_consume(ch, len);
		return;
	}
	/* The window bounds this: credit comes back once the page has it. */
	if (qh_buf_put(&s->out, p, len) != 0) {
		qh_warn("the console sent more than the window; closing the terminal");
		qh_chan_close(ch);
		return;
	}
	lws_callback_on_writable(s->wsi);
}

static void
term_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;
	int status;

	if (s == NULL)
		return;
	switch (m->type) {
	case QH_MSG_NOTICE:
	case QH_MSG_ERROR:
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		sock_say(s, m->type == QH_MSG_ERROR ? "error" : "notice",
		    text != NULL ? text : "", NULL, 0);
		free(text);
		break;
	case QH_MSG_EXIT:
		if (s->kind == PSS_PUSH) {
			push_result(s, m);
			break;
		}
		if (tech_exit_status(m, &status) == 0)
			sock_say(s, "exit", NULL, "status", status);
		break;
	default:
		break;
	}
}

/* An upload's end: all its bytes are on the channel, then EXIT{size, hash}. */
static void
push_finish(struct pss *s)
{
	uint8_t hash[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;
	struct qh_buf b;

	if (s->push_sent || s->push_out != s->push_size || s->ch == NULL)
		return;
	s->push_sent = 1;
	(void)EVP_DigestFinal_ex(s->sha, hash, &hlen);
	qh_buf_init(&b, 128);
	if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
	    qh_msg_put_u64(&b, QH_K_SIZE, s->push_size) == 0 &&
	    qh_msg_put(&b, QH_K_HASH, hash, hlen) == 0)
		(void)qh_chan_send_msg(s->ch, &b);
	qh_buf_release(&b);
	(void)qh_chan_eof(s->ch);
}

/* Sends the input the channel had no room for; reads again once it is out. */
static void
term_flush(struct pss *s)
{
	ssize_t n;

	while (s->ch != NULL && s->term == TERM_OPEN && qh_buf_len(&s->pending) > 0) {
		n = qh_chan_write(s->ch, 0, qh_buf_ptr(&s->pending),
		    qh_buf_len(&s->pending));
		if (n <= 0)
			break;
		(void)qh_buf_consume(&s->pending, (size_t)n);
		s->push_out += (uint64_t)n;
	}
	if (s->kind == PSS_PUSH && s->term == TERM_OPEN) {
		if (s->push_out - s->push_told >= PUSH_REPORT ||
		    (s->push_out == s->push_size && s->push_told != s->push_size)) {
			s->push_told = s->push_out;
			sock_say(s, "progress", NULL, "bytes", (int64_t)s->push_out);
		}
		push_finish(s);
	}
	if (qh_buf_len(&s->pending) == 0 && s->rx_off) {
		s->rx_off = 0;
		lws_rx_flow_control(s->wsi,
		    LWS_RXFLOW_REASON_APPLIES_ENABLE | LWS_RXFLOW_REASON_USER_BOOL |
			LWS_RXFLOW_REASON_FLAG_PROCESS_NOW);
	}
}

static void
term_writable(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s != NULL)
		term_flush(s);
}

static void
term_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || s->ch != ch)
		return;
	s->ch = NULL;
	if (s->term != TERM_ENDED) {
		s->term = TERM_ENDED;
		sock_say(s, "closed", NULL, NULL, 0);
	}
}

const struct qh_chan_ops web_term_ops = {
	.on_open_result = term_open_result,
	.on_data = term_data,
	.on_msg = term_msg,
	.on_close = term_close,
	.on_writable = term_writable,
};

static void
term_start(struct pss *s, unsigned rows, unsigned cols)
{
	struct qh_buf req;

	qh_buf_init(&req, 1024);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "attach");
	(void)qh_msg_put_str(&req, QH_K_CODE, s->code);
	(void)qh_msg_put_u32(&req, QH_K_ROWS, rows);
	(void)qh_msg_put_u32(&req, QH_K_COLS, cols);
	(void)qh_msg_put_str(&req, QH_K_TERM, TERM_NAME);
	(void)qh_msg_put_str(&req, QH_K_KIND, "support");
	(void)qh_msg_put_u32(&req, QH_K_FLAGS, 0);
	if (qh_buf_error(&req) == 0 &&
	    (s->ch = tech_link_open(s->w->link, &req, TERM_WINDOW, &web_term_ops, s)) !=
		NULL)
		s->term = TERM_OPENING;
	else
		sock_say(s, "error",
		    s->w->up ? "cannot open a channel to the console"
			     : "not connected to the console",
		    NULL, 0);
	qh_buf_release(&req);
}

static void
term_resize(struct pss *s, unsigned rows, unsigned cols)
{
	struct qh_buf b;

	if (s->term == TERM_NONE) {
		term_start(s, rows, cols);
		return;
	}
	if (s->ch == NULL || s->term != TERM_OPEN)
		return;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_RESIZE) == 0 &&
	    qh_msg_put_u32(&b, QH_K_ROWS, rows) == 0 &&
	    qh_msg_put_u32(&b, QH_K_COLS, cols) == 0)
		(void)qh_chan_send_msg(s->ch, &b);
	qh_buf_release(&b);
}

static void
term_input(struct pss *s, const uint8_t *p, size_t len)
{
	if (s->term == TERM_ENDED || s->term == TERM_NONE)
		return; /* nothing to type into */
	if (qh_buf_put(&s->pending, p, len) != 0) {
		sock_kill(s, "typed input over the bound while the channel is full");
		return;
	}
	term_flush(s);
	if (qh_buf_len(&s->pending) > 0 && !s->rx_off) {
		s->rx_off = 1;
		lws_rx_flow_control(s->wsi, 0);
	}
}

static void
push_start(struct pss *s, const struct web_msg *m)
{
	struct qh_buf req;

	if (s->term != TERM_NONE) {
		sock_kill(s, "a second upload on one WebSocket");
		return;
	}
	if ((s->sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1) {
		sock_say(s, "error", "out of memory", NULL, 0);
		return;
	}
	s->push_size = m->size;
	qh_buf_init(&req, WEB_PATH_MAX + 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "push");
	(void)qh_msg_put_str(&req, QH_K_CODE, s->code);
	(void)qh_msg_put(&req, QH_K_PATH, m->data, m->len);
	(void)qh_msg_put_u64(&req, QH_K_SIZE, m->size);
	(void)qh_msg_put_u32(&req, QH_K_MODE, m->mode);
	(void)qh_msg_put_u32(&req, QH_K_FLAGS, (m->flags & 1) ? PUSH_FORCE : 0);
	if (qh_buf_error(&req) == 0 &&
	    (s->ch = tech_link_open(s->w->link, &req, 0, &web_term_ops, s)) != NULL)
		s->term = TERM_OPENING;
	else
		sock_say(s, "error",
		    s->w->up ? "cannot open a channel to the console"
			     : "not connected to the console",
		    NULL, 0);
	qh_buf_release(&req);
}

/* An upload's bytes: never more than announced, hashed as they come. */
static void
push_data(struct pss *s, const uint8_t *p, size_t len)
{
	if (s->term == TERM_NONE || len > s->push_size - s->push_in) {
		sock_kill(s, "upload data before its start or past its size");
		return;
	}
	s->push_in += len;
	(void)EVP_DigestUpdate(s->sha, p, len);
	term_input(s, p, len);
}

/* The workstation's facts: an "info" channel, shown as lines (qh_envinfo_text). */

static void
info_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	qh_chan_consume(ch, len);
	if (s != NULL && !ext && qh_buf_put(&s->info, p, len) != 0)
		s->info_bad = 1;
}

static void
info_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL || m->type != QH_MSG_ERROR)
		return;
	s->info_bad = 1;
	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		sock_say(s, "info-failed", text, NULL, 0);
	free(text);
}

static void
info_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL || err == 0)
		return;
	s->infoch = NULL;
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	sock_say(s, "info-failed", text != NULL ? text : "the console refused", NULL, 0);
	free(text);
}

/* The agent's JSON, checked by the bounded reader, becomes lines for people. */
static void
info_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);
	struct qh_json_doc *doc = NULL;
	struct qh_buf lines;

	if (s == NULL || s->infoch != ch)
		return;
	s->infoch = NULL;
	if (s->info_bad)
		return; /* said already, or over the bound: */
	qh_buf_init(&lines, INFO_MAX + 1);
	if (qh_buf_len(&s->info) == 0 ||
	    qh_json_parse(qh_buf_ptr(&s->info), qh_buf_len(&s->info), &doc) != 0 ||
	    qh_envinfo_text(qh_buf_ptr(&s->info), qh_buf_len(&s->info), &lines) != 0 ||
	    qh_buf_put_u8(&lines, 0) != 0)
		sock_say(s, "info-failed", "the agent sent no readable facts", NULL, 0);
	else
		sock_say(s, "info", (const char *)qh_buf_ptr(&lines), NULL, 0);
	qh_json_free(doc);
	qh_buf_release(&lines);
	qh_buf_reset(&s->info);
}

static const struct qh_chan_ops info_ops = {
	.on_open_result = info_open_result,
	.on_data = info_data,
	.on_msg = info_msg,
	.on_close = info_close,
};

static void
info_start(struct pss *s)
{
	struct qh_buf req;

	if (s->infoch != NULL)
		return; /* one at a time */
	qh_buf_reset(&s->info);
	s->info_bad = 0;
	qh_buf_init(&req, 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "info");
	(void)qh_msg_put_str(&req, QH_K_CODE, s->code);
	(void)qh_msg_put_u32(&req, QH_K_FLAGS, 0);
	if (qh_buf_error(&req) != 0 ||
	    (s->infoch = tech_link_open(s->w->link, &req, 0, &info_ops, s)) == NULL)
		sock_say(s, "info-failed", "not connected to the console", NULL, 0);
	qh_buf_release(&req);
}

/* "End with note": an "end" channel; its answer goes to the page. */

static void
end_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	qh_chan_consume(ch, len);
	if (s != NULL)
		(void)qh_buf_put(&s->answer, p, len);
}

static void
end_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL || (m->type != QH_MSG_ERROR && m->type != QH_MSG_NOTICE))
		return;
	if (m->type == QH_MSG_ERROR)
		s->end_error = 1;
	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		(void)qh_buf_put(&s->answer, text, strlen(text));
	free(text);
}

static void
end_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL || err == 0)
		return;
	s->endch = NULL;
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	sock_say(s, "end-failed", text != NULL ? text : "the console refused", NULL, 0);
	free(text);
}

static void
end_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);
	char text[ANSWER_MAX + 1];
	size_t n;

	if (s == NULL || s->endch != ch)
		return;
	s->endch = NULL;
	n = qh_buf_len(&s->answer);
	memcpy(text, qh_buf_ptr(&s->answer), n);
	text[n] = '\0';
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	sock_say(s, s->end_error ? "end-failed" : "ended", text, NULL, 0);
}

static const struct qh_chan_ops end_ops = {
	.on_open_result = end_open_result,
	.on_data = end_data,
	.on_msg = end_msg,
	.on_close = end_close,
};

static void
term_end(struct pss *s, const uint8_t *note, size_t len)
{
	struct qh_buf req;

	if (s->endch != NULL)
		return; /* one at a time */
	qh_buf_reset(&s->answer);
	s->end_error = 0;
	qh_buf_init(&req, WEB_NOTE_MAX + 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "end");
	(void)qh_msg_put_str(&req, QH_K_CODE, s->code);
	if (len > 0)
		(void)qh_msg_put(&req, QH_K_NOTE, note, len);
	if (qh_buf_error(&req) != 0 ||
	    (s->endch = tech_link_open(s->w->link, &req, 0, &end_ops, s)) == NULL)
		sock_say(s, "end-failed", "not connected to the console", NULL, 0);
	qh_buf_release(&req);
}

/* WebSocket life. */

void
web_sock_open(struct pss *s, struct web *w)
{
	int kind = web_sock_path(s->wsi, s->code);

	s->w = w;
	s->kind = kind == PSS_SESSION || kind == PSS_PUSH || kind == PSS_DESKTOP
	    ? (enum pss_kind)kind
	    : PSS_QUEUE;
	qh_buf_init(&s->in, WEB_MSG_MAX);
	qh_buf_init(&s->events, EVENTS_MAX);
	qh_buf_init(&s->out, TERM_WINDOW);
	qh_buf_init(&s->pending, INPUT_MAX);
	qh_buf_init(&s->answer, ANSWER_MAX);
	qh_buf_init(&s->info, INFO_MAX);
	s->ready = 1;
	LIST_INSERT_HEAD(&w->socks, s, link);
	sock_link_state(s);
	if (qh_buf_len(&w->snap) > 0 && s->kind == PSS_QUEUE)
		s->snap_dirty = 1;
	if (s->kind == PSS_DESKTOP)
		web_desk_open(s);
	lws_callback_on_writable(s->wsi);
}

void
web_sock_closed(struct pss *s)
{
	struct qh_chan *ch;

	if (!s->ready)
		return;
	s->ready = 0;
	LIST_REMOVE(s, link);
	/* The channels may outlive us: they must not call back into s. */
	if ((ch = s->ch) != NULL) {
		s->ch = NULL;
		qh_chan_set_arg(ch, NULL);
		qh_chan_close(ch); /* detaches; the session stays open */
	}
	if ((ch = s->endch) != NULL) {
		s->endch = NULL;
		qh_chan_set_arg(ch, NULL); /* the end goes on */
	}
	if ((ch = s->infoch) != NULL) {
		s->infoch = NULL;
		qh_chan_set_arg(ch, NULL);
		qh_chan_close(ch);
	}
	qh_buf_release(&s->info);
	qh_buf_release(&s->in);
	qh_buf_release(&s->events);
	qh_buf_release(&s->out);
	qh_buf_release(&s->pending);
	qh_buf_release(&s->answer);
	EVP_MD_CTX_free(s->sha);
	s->sha = NULL;
}

void
web_sock_receive(struct pss *s, const void *in, size_t len)
{
	struct web_msg m;
	int r;

	if (!s->ready || s->kill)
		return;
	if (s->kind == PSS_DESKTOP) {
		web_desk_receive(s, in, len);
		return;
	}
	if (lws_frame_is_binary(s->wsi) == 0) {
		sock_kill(s, "a text message; only binary ones are understood");
		return;
	}
	if (qh_buf_put(&s->in, in, len) != 0) {
		sock_kill(s, "a message over the bound");
		return;
	}
	if (!lws_is_final_fragment(s->wsi) || lws_remaining_packet_payload(s->wsi) > 0)
		return;
	r = web_msg_parse(qh_buf_ptr(&s->in), qh_buf_len(&s->in), &m);
	if (r != 0) {
		qh_buf_reset(&s->in);
		sock_kill(s, "a malformed message");
		return;
	}
	if (s->kind == PSS_PUSH) {
		if (m.type == WEB_MSG_PUSH)
			push_start(s, &m);
		else if (m.type == WEB_MSG_INPUT)
			push_data(s, m.data, m.len);
		else
			sock_kill(s, "a terminal message on an upload");
		qh_buf_reset(&s->in);
		return;
	}
	if (s->kind != PSS_SESSION) {
		qh_buf_reset(&s->in);
		sock_kill(s, "a message on the queue socket");
		return;
	}
	switch (m.type) {
	case WEB_MSG_INPUT:
		term_input(s, m.data, m.len);
		break;
	case WEB_MSG_RESIZE:
		term_resize(s, m.rows, m.cols);
		break;
	case WEB_MSG_END:
		term_end(s, m.data, m.len);
		break;
	case WEB_MSG_PUSH:
		sock_kill(s, "an upload on the terminal's WebSocket");
		break;
	case WEB_MSG_INFO:
		info_start(s);
		break;
	}
	qh_buf_reset(&s->in);
}

/* One write per call: events, then the queue, then terminal output. */
int
web_sock_writable(struct pss *s)
{
	static unsigned char chunk[LWS_PRE + CHUNK];
	struct web *w = s->w;
	unsigned char *buf;
	uint32_t len;
	size_t n;
	int r;

	if (!s->ready)
		return 0;
	if (s->kill)
		return -1;
	if (qh_buf_peek_u32(&s->events, 0, &len) == 0) {
		if ((buf = malloc(LWS_PRE + len)) == NULL)
			return -1;
		(void)qh_buf_consume(&s->events, 4);
		(void)qh_buf_get(&s->events, buf + LWS_PRE, len);
		r = lws_write(s->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
		free(buf);
		if (r < (int)len)
			return -1;
	} else if (s->snap_dirty) {
		n = qh_buf_len(&w->snap);
		s->snap_dirty = 0;
		if ((buf = malloc(LWS_PRE + n)) == NULL)
			return -1;
		memcpy(buf + LWS_PRE, qh_buf_ptr(&w->snap), n);
		r = lws_write(s->wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
		free(buf);
		if (r < (int)n)
			return -1;
	} else if (qh_buf_len(&s->out) > 0) {
		n = qh_buf_len(&s->out) < CHUNK ? qh_buf_len(&s->out) : CHUNK;
		memcpy(chunk + LWS_PRE, qh_buf_ptr(&s->out), n);
		if (lws_write(s->wsi, chunk + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n)
			return -1;
		(void)qh_buf_consume(&s->out, n);
		if (s->ch != NULL)
			qh_chan_consume(s->ch, n);
	} else if (s->close_when_sent) {
		lws_close_reason(s->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	} else
		return 0;
	if (qh_buf_len(&s->events) > 0 || s->snap_dirty || qh_buf_len(&s->out) > 0 ||
	    s->close_when_sent)
		lws_callback_on_writable(s->wsi);
	return 0;
}

void
web_sock_say(struct pss *s, const char *type, const char *text)
{
	sock_say(s, type, text, NULL, 0);
}

void
web_sock_kill(struct pss *s, const char *why)
{
	sock_kill(s, why);
}

void
web_term_input(struct pss *s, const uint8_t *p, size_t len)
{
	term_input(s, p, len);
}
