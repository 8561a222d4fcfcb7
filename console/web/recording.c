/*
 * qh-console web: the sessions page's two requests, both downloads in the
 * sense of http.c (PSS_PULL: headers once the size is known, the last
 * bytes only once everything is checked, cut short otherwise).
 *
 * GET /api/sessions[?customer=ID]: the accounting report `sessions --json
 * [--customer ID]` (REQUEST{cmd="account"}), collected whole (at most
 * SESSIONS_MAX) and sent once the report exited 0; otherwise a 502 with
 * what it said on stderr, or the console's refusal.
 *
 * GET /api/recording?session=N&name=NAME: REQUEST{cmd="recording"} (the
 * desk codec, qh/desk.h); the console announces size and SHA-256 first
 * (TICKET_FILE), and the bytes stream to the browser as they come,
 * hashed; a recording that does not match is cut short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/desk.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "webint.h"

#define SESSIONS_MAX  (32 * 1024 * 1024) /* the listing as JSON */
#define REPORT_ERRORS 4096		 /* what the report says on stderr */

/* The channel's pss, or NULL once the browser went (web_http_closed). */
static struct pss *
pss_of(struct qh_chan *ch)
{
	return qh_chan_arg(ch);
}

static void
open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = pss_of(ch);
	char *text = NULL;

	if (s == NULL || err == 0)
		return;
	s->ch = NULL;
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	web_pull_fail(s, text != NULL ? text : "the console refused the request");
	free(text);
}

/* /api/sessions: the report's output, whole. */

static void
sessions_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct pss *s = pss_of(ch);

	qh_chan_consume(ch, len);
	if (s == NULL || s->pull_failed)
		return;
	if (ext) { /* the report's stderr: why it failed, kept for the 502 */
		if (qh_buf_len(&s->answer) + len <= REPORT_ERRORS)
			(void)qh_buf_put(&s->answer, p, len);
		return;
	}
	if (qh_buf_put(&s->out, p, len) != 0)
		web_pull_fail(s, "the session listing is too large for the page");
}

static void
sessions_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = pss_of(ch);
	uint32_t status;

	if (s != NULL && m->type == QH_MSG_EXIT &&
	    qh_msg_get_u32(m, QH_K_STATUS, &status) == 0 && status == 0)
		s->pull_ok = 1; /* the listing is whole once the channel closes */
}

static void
sessions_close(struct qh_chan *ch)
{
	struct pss *s = pss_of(ch);

	if (s == NULL || s->ch != ch)
		return;
	s->ch = NULL;
	if (s->pull_failed)
		return;
	if (!s->pull_ok) {
		char why[REPORT_ERRORS + 1];

		snprintf(why, sizeof(why), "%.*s", (int)qh_buf_len(&s->answer),
		    (const char *)qh_buf_ptr(&s->answer));
		web_pull_fail(s, why[0] ? why : "the session listing failed");
		return;
	}
	s->push_size = s->push_in = qh_buf_len(&s->out);
	s->pull_announced = 1;
	lws_callback_on_writable(s->wsi);
}

static const struct qh_chan_ops sessions_ops = {
	.on_open_result = open_result,
	.on_data = sessions_data,
	.on_msg = sessions_msg,
	.on_close = sessions_close,
};

static int
sessions_start(struct pss *s)
{
	char arg[96], customer[80];
	char *words[4] = { "sessions", "--json", "--customer", customer };
	struct qh_buf req, argv;
	const char *v;
	int n = 2;

	if ((v = lws_get_urlarg_by_name(s->wsi, "customer=", arg, sizeof(arg))) != NULL &&
	    *v != '\0') {
		snprintf(customer, sizeof(customer), "%s", v);
		if (strlen(v) >= sizeof(customer) || !qh_id_valid(customer))
			return web_respond(s, HTTP_STATUS_BAD_REQUEST, "text/plain",
			    "customer=ID\n", 12);
		n = 4;
	}
	if (web_pull_prepare(s, "sessions.json") != 0)
		return -1;
	/* Consumed as it comes: the bound is the listing's, not the window's. */
	qh_buf_release(&s->out);
	qh_buf_init(&s->out, SESSIONS_MAX);
	qh_buf_init(&argv, 1024);
	qh_buf_init(&req, 2048);
	if (qh_argv_pack(&argv, n, words) != 0 ||
	    qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "account") != 0 ||
	    qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&argv), qh_buf_len(&argv)) != 0 ||
	    (s->ch = tech_link_open(s->w->link, &req, 0, &sessions_ops, s)) == NULL)
		web_pull_fail(s, "not connected to the console");
	qh_buf_release(&argv);
	qh_buf_release(&req);
	return 0;
}

/* /api/recording: a download the console announces (download.c). */

static int
recording_start(struct pss *s)
{
	struct qh_desk_req r;
	char id[32], name[sizeof(r.name) + 8], *end;
	const char *vid, *vname;
	struct qh_buf req;
	unsigned long long n = 0;

	/* lws copies "key=value" and points at the value. */
	memset(&r, 0, sizeof(r));
	r.cmd = QH_DESK_RECORDING;
	if ((vid = lws_get_urlarg_by_name(s->wsi, "session=", id, sizeof(id))) != NULL &&
	    (vname = lws_get_urlarg_by_name(s->wsi, "name=", name, sizeof(name))) !=
		NULL &&
	    strlen(vname) < sizeof(r.name)) {
		n = strtoull(vid, &end, 10);
		if (*vid == '\0' || *end != '\0' || n > INT64_MAX)
			n = 0;
		snprintf(r.name, sizeof(r.name), "%s", vname);
	}
	r.id = (int64_t)n;
	if (qh_desk_req_check(&r, NULL, 0) != 0)
		return web_respond(s, HTTP_STATUS_BAD_REQUEST, "text/plain",
		    "session=N&name=EVENT-KIND.cast\n", 31);
	if (web_pull_prepare(s, r.name) != 0)
		return -1;
	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if (qh_desk_req_encode(&r, &req) != 0)
		web_pull_fail(s, "cannot build the request");
	else
		web_announced_open(s, &req, "recording");
	qh_buf_release(&req);
	return 0;
}

int
web_recording_http(struct pss *s, const char *uri)
{
	if (strcmp(uri, "/api/sessions") == 0)
		return sessions_start(s);
	if (strcmp(uri, "/api/recording") == 0)
		return recording_start(s);
	return 1;
}
