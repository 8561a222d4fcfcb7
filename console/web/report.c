/*
 * qh-console web's accounting pages' requests: GET /api/balances,
 * /api/ledger.{jsonl,csv,datev}, /api/revenue, /api/verify and
 * /api/statement.{pdf,html}. Each checks its query (report_words.c) and
 * opens one REQUEST{cmd="account"} channel on the console link, as
 * `qh-console ledger --tech` does; the console decides who may (a
 * technician's bundle gets its refusal, answered 403).
 *
 * The ledger's downloads stream: the report's stdout goes to the browser
 * as it comes, chunked, the channel credited as the browser takes it, and
 * only an EXIT{status 0} sends the last chunk: a report that fails half
 * way leaves the browser a download that failed, never a short file. A
 * report that fails before its first byte answers with its stderr (422).
 * The JSON reports are answered whole, {"status", "out", "err"}, so a
 * failed verify is a result the page shows. A statement's data is
 * rendered here (console/render, as `qh-console statement --tech` does)
 * into a private temporary file that is read back and removed; the
 * rendering blocks the loop for the one document.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "render/render.h"
#include "report_words.h"
#include "webint.h"

#define REPORT_REQ_MAX	 4096		    /* the REQUEST */
#define REPORT_WHOLE_MAX (32 * 1024 * 1024) /* a report answered whole */
#define REPORT_ERR_MAX	 (16 * 1024)	    /* its stderr, kept for the reason */
#define REPORT_DOC_MAX	 (64 * 1024 * 1024) /* a rendered statement */
#define CHUNK_HEAD	 16		    /* "%zx\r\n" */

struct web_report_req {
	struct pss *s;
	enum web_report r;
	struct qh_chan *ch;   /* NULL once gone */
	struct qh_buf out;    /* stdout: streamed, or whole */
	struct qh_buf err;    /* stderr, then the reason for the browser */
	int opened, refused;  /* the console's answer to the OPEN */
	int got_exit, status; /* EXIT{status} */
	int done;	      /* the channel is gone */
	int headers;	      /* a streamed response's headers are out */
	char name[160];	      /* the download's file name, "" inline */
	uint8_t *body;	      /* a whole response's body */
	size_t body_len, body_sent;
	int whole; /* a whole response is under way */
};

static int
stream_report(enum web_report r)
{
	return r == WEB_REP_LEDGER_JSONL || r == WEB_REP_LEDGER_CSV ||
	    r == WEB_REP_LEDGER_DATEV;
}

static int
statement_report(enum web_report r)
{
	return r == WEB_REP_STATEMENT_PDF || r == WEB_REP_STATEMENT_HTML;
}

static const char *
content_type(enum web_report r)
{
	switch (r) {
	case WEB_REP_LEDGER_JSONL:
		return "application/x-ndjson; charset=utf-8";
	case WEB_REP_LEDGER_CSV:
		return "text/csv; charset=utf-8";
	case WEB_REP_LEDGER_DATEV:
		return "text/csv; charset=windows-1252"; /* DATEV's EXTF */
	case WEB_REP_STATEMENT_PDF:
		return "application/pdf";
	case WEB_REP_STATEMENT_HTML:
		return "text/html; charset=utf-8";
	default:
		return "application/json";
	}
}

static int
header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
    unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	    (const unsigned char *)value, (int)strlen(value), p, end);
}

/*
 * Writes the response's headers: with a Content-Length, or chunked when
 * len is LWS_ILLEGAL_HTTP_CONTENT_LEN; an attachment when x->name is set.
 */
static int
write_headers(struct web_report_req *x, unsigned status, const char *type,
    lws_filepos_t len)
{
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
					   *end = buf + sizeof(buf) - 1;
	char disp[220];
	struct lws *wsi = x->s->wsi;

	if (lws_add_http_header_status(wsi, status, &p, end) != 0 ||
	    header(wsi, "content-type:", type, &p, end) != 0 ||
	    (len == LWS_ILLEGAL_HTTP_CONTENT_LEN
		    ? header(wsi, "transfer-encoding:", "chunked", &p, end)
		    : lws_add_http_header_content_length(wsi, len, &p, end)) != 0 ||
	    header(wsi, "content-security-policy:", CSP, &p, end) != 0 ||
	    header(wsi, "x-content-type-options:", "nosniff", &p, end) != 0 ||
	    header(wsi, "referrer-policy:", "no-referrer", &p, end) != 0 ||
	    header(wsi, "x-frame-options:", "DENY", &p, end) != 0 ||
	    header(wsi, "cache-control:", "no-store", &p, end) != 0)
		return -1;
	if (status == HTTP_STATUS_OK && x->name[0] != '\0') {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", x->name);
		if (header(wsi, "content-disposition:", disp, &p, end) != 0)
			return -1;
	}
	return lws_finalize_write_http_header(wsi, start, &p, end) != 0 ? -1 : 0;
}

/* Answers whole with status and body (taken over; NULL: the reason in x->err). */
static int
answer(struct web_report_req *x, unsigned status, const char *type, uint8_t *body,
    size_t len)
{
	if (body == NULL) {
		if (qh_buf_len(&x->err) == 0)
			(void)qh_buf_put(&x->err, "the report failed", 17);
		if ((body = malloc(qh_buf_len(&x->err) + 1)) == NULL)
			return -1;
		memcpy(body, qh_buf_ptr(&x->err), qh_buf_len(&x->err));
		len = qh_buf_len(&x->err);
		if (len == 0 || body[len - 1] != '\n')
			body[len++] = '\n';
		type = "text/plain; charset=utf-8";
	}
	x->whole = 1;
	x->body = body;
	x->body_len = len;
	x->body_sent = 0;
	if (write_headers(x, status, type, (lws_filepos_t)len) != 0)
		return -1;
	if (len == 0)
		return lws_http_transaction_completed(x->s->wsi) ? -1 : 0;
	lws_callback_on_writable(x->s->wsi);
	return 0;
}

static void
set_reason(struct web_report_req *x, const char *why)
{
	qh_buf_reset(&x->err);
	(void)qh_buf_put(&x->err, why, strlen(why));
}

/* The console's channel. */

static void
report_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct web_report_req *x = qh_chan_arg(ch);
	char *text = NULL;

	if (x == NULL)
		return;
	x->opened = 1;
	if (err == 0)
		return;
	/* A refused channel is gone: no on_close follows. */
	x->refused = 1;
	x->ch = NULL;
	x->done = 1;
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	set_reason(x, text != NULL ? text : "the console refused the report");
	free(text);
	lws_callback_on_writable(x->s->wsi);
}

static void
report_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct web_report_req *x = qh_chan_arg(ch);

	if (x == NULL) {
		qh_chan_consume(ch, len);
		return;
	}
	if (ext) {
		/* The start of stderr is the reason; beyond its bound it is dropped
		 * (one byte kept for the NUL the JSON answer adds). */
		size_t room = qh_buf_room(&x->err);

		(void)qh_buf_put(&x->err, p, len < room ? len : room > 0 ? room - 1 : 0);
		qh_chan_consume(ch, len);
		return;
	}
	if (qh_buf_put(&x->out, p, len) != 0) {
		qh_warn("a report for the page is larger than %d bytes: cut",
		    REPORT_WHOLE_MAX);
		set_reason(x, "the report's answer is too large for the page");
		x->got_exit = 0;
		qh_chan_set_arg(ch, NULL);
		qh_chan_close(ch);
		x->ch = NULL;
		x->done = 1;
		lws_callback_on_writable(x->s->wsi);
		return;
	}
	/* Streamed bytes are credited as the browser takes them. */
	if (!stream_report(x->r))
		qh_chan_consume(ch, len);
	lws_callback_on_writable(x->s->wsi);
}

static void
report_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct web_report_req *x = qh_chan_arg(ch);
	uint32_t status;

	if (x != NULL && m->type == QH_MSG_EXIT &&
	    qh_msg_get_u32(m, QH_K_STATUS, &status) == 0) {
		x->got_exit = 1;
		x->status = (int)status;
	}
}

static void
report_close(struct qh_chan *ch)
{
	struct web_report_req *x = qh_chan_arg(ch);

	if (x == NULL || x->ch != ch)
		return;
	x->ch = NULL;
	x->done = 1;
	lws_callback_on_writable(x->s->wsi);
}

static const struct qh_chan_ops report_ops = {
	.on_open_result = report_open_result,
	.on_data = report_data,
	.on_msg = report_msg,
	.on_close = report_close,
};

/* The request. */

/*
 * Reads the query's fragments ("name=value", urldecoded by lws) into v:
 * each value at most WEB_VALUE_MAX bytes, each name once. Returns NULL or
 * the reason for a 400.
 */
static const char *
read_query(struct lws *wsi, char v[5][WEB_VALUE_MAX + 1], struct web_report_query *q)
{
	static const char *const names[5] = { "customer", "from", "to", "month", "head" };
	const char **slot[5] = { &q->customer, &q->from, &q->to, &q->month, &q->head };
	char frag[WEB_VALUE_MAX + 16];
	int n, i, len;
	char *eq;

	memset(q, 0, sizeof(*q));
	for (n = 0; n < 32; n++) {
		if ((len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, n)) <= 0)
			return NULL;
		if ((size_t)len >= sizeof(frag) ||
		    lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
			WSI_TOKEN_HTTP_URI_ARGS, n) != len)
			return "a query value is too long";
		if ((eq = strchr(frag, '=')) == NULL)
			continue;
		*eq = '\0';
		for (i = 0; i < 5; i++)
			if (strcmp(frag, names[i]) == 0)
				break;
		if (i == 5)
			continue;
		if (*slot[i] != NULL)
			return "a query names a value twice";
		if (strlen(eq + 1) > WEB_VALUE_MAX)
			return "a query value is too long";
		snprintf(v[i], WEB_VALUE_MAX + 1, "%s", eq + 1);
		*slot[i] = v[i];
	}
	return "too many query values";
}

/* The download's file name: only words report_words.c checked (ids, days). */
static void
download_name(struct web_report_req *x, const struct web_report_query *q)
{
	const char *ext = x->r == WEB_REP_LEDGER_CSV ? ".csv" : "-datev.csv";

	if (x->r == WEB_REP_STATEMENT_PDF) {
		snprintf(x->name, sizeof(x->name), "%s-%s.pdf", q->customer, q->month);
		return;
	}
	if (x->r != WEB_REP_LEDGER_CSV && x->r != WEB_REP_LEDGER_DATEV)
		return;
	snprintf(x->name, sizeof(x->name), "ledger%s%s%s%s%s%s%s",
	    q->customer && *q->customer ? "-" : "", q->customer ? q->customer : "",
	    q->from && *q->from ? "-from-" : "", q->from ? q->from : "",
	    q->to && *q->to ? "-to-" : "", q->to ? q->to : "", ext);
}

static void
report_free(struct web_report_req *x)
{
	if (x->ch != NULL) {
		qh_chan_set_arg(x->ch, NULL);
		qh_chan_close(x->ch);
	}
	qh_buf_release(&x->out);
	qh_buf_release(&x->err);
	free(x->body);
	free(x);
}

void
web_report_closed(struct pss *s)
{
	if (s->kind != PSS_REPORT || s->report == NULL)
		return;
	report_free(s->report);
	s->report = NULL;
	s->kind = PSS_HTTP;
}

int
web_report_start(struct pss *s, int route)
{
	char v[5][WEB_VALUE_MAX + 1];
	struct web_report_query q;
	struct web_report_words words;
	struct web_report_req *x;
	struct qh_buf req, argv;
	const char *why;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->s = s;
	x->r = (enum web_report)route;
	qh_buf_init(&x->out, stream_report(x->r) ? TERM_WINDOW : REPORT_WHOLE_MAX);
	qh_buf_init(&x->err, REPORT_ERR_MAX);
	s->kind = PSS_REPORT;
	s->report = x;
	if (lws_hdr_total_length(s->wsi, WSI_TOKEN_GET_URI) <= 0) {
		set_reason(x, "reports are read with GET");
		return answer(x, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL, NULL, 0);
	}
	if ((why = read_query(s->wsi, v, &q)) != NULL ||
	    (why = web_report_words(x->r, &q, &words)) != NULL) {
		set_reason(x, why);
		return answer(x, HTTP_STATUS_BAD_REQUEST, NULL, NULL, 0);
	}
	download_name(x, &q);
	qh_buf_init(&argv, REPORT_REQ_MAX);
	qh_buf_init(&req, REPORT_REQ_MAX + 256);
	(void)qh_argv_pack(&argv, words.n, (char *const *)words.w);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "account");
	(void)qh_msg_put(&req, QH_K_ARG, qh_buf_ptr(&argv), qh_buf_len(&argv));
	if (qh_buf_error(&argv) != 0 || qh_buf_error(&req) != 0 ||
	    (x->ch = tech_link_open(s->w->link, &req, TERM_WINDOW, &report_ops, x)) ==
		NULL) {
		x->done = 1;
		set_reason(x, "not connected to the console");
		lws_callback_on_writable(s->wsi);
	} else
		qh_info("report %s for the page", words.w[0]);
	qh_buf_release(&req);
	qh_buf_release(&argv);
	return 0;
}

/* Answers: whole bodies, streams, and what the console said. */

static int
whole_writable(struct web_report_req *x)
{
	static unsigned char buf[LWS_PRE + CHUNK];
	size_t n = x->body_len - x->body_sent;
	int final;

	if (n > CHUNK)
		n = CHUNK;
	final = x->body_sent + n == x->body_len;
	memcpy(buf + LWS_PRE, x->body + x->body_sent, n);
	if (lws_write(x->s->wsi, buf + LWS_PRE, n,
		final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	x->body_sent += n;
	if (!final) {
		lws_callback_on_writable(x->s->wsi);
		return 0;
	}
	return lws_http_transaction_completed(x->s->wsi) ? -1 : 0;
}

/* A report that did not run: refused (403), or failed before any output (422/502). */
static int
answer_failure(struct web_report_req *x)
{
	if (x->refused)
		return answer(x, HTTP_STATUS_FORBIDDEN, NULL, NULL, 0);
	if (!x->got_exit) {
		if (qh_buf_len(&x->err) == 0)
			set_reason(x, "the report ended without an exit status");
		return answer(x, HTTP_STATUS_BAD_GATEWAY, NULL, NULL, 0);
	}
	return answer(x, 422, NULL, NULL, 0);
}

/* One chunk of the stream, or its end: "0" only after EXIT{status 0}. */
static int
stream_writable(struct web_report_req *x)
{
	static unsigned char buf[LWS_PRE + CHUNK_HEAD + CHUNK + 8];
	unsigned char *start = buf + LWS_PRE;
	size_t n = qh_buf_len(&x->out) < CHUNK ? qh_buf_len(&x->out) : CHUNK;
	int ok = x->done && x->got_exit && x->status == 0, h;

	if (!x->headers) {
		if (n == 0 && !ok)
			return x->done ? answer_failure(x) : 0;
		if (write_headers(x, HTTP_STATUS_OK, content_type(x->r),
			LWS_ILLEGAL_HTTP_CONTENT_LEN) != 0)
			return -1;
		x->headers = 1;
		lws_callback_on_writable(x->s->wsi);
		return 0;
	}
	if (n > 0) {
		h = snprintf((char *)start, CHUNK_HEAD, "%zx\r\n", n);
		memcpy(start + h, qh_buf_ptr(&x->out), n);
		memcpy(start + h + n, "\r\n", 2);
		if (lws_write(x->s->wsi, start, (size_t)h + n + 2, LWS_WRITE_HTTP) !=
		    (int)((size_t)h + n + 2))
			return -1;
		(void)qh_buf_consume(&x->out, n);
		if (x->ch != NULL)
			qh_chan_consume(x->ch, n);
		if (qh_buf_len(&x->out) > 0 || x->done)
			lws_callback_on_writable(x->s->wsi);
		return 0;
	}
	if (!x->done)
		return 0;
	if (!ok) {
		qh_warn("report for the page failed half way (status %d): cut",
		    x->status);
		return -1; /* no last chunk: the browser's download fails */
	}
	memcpy(start, "0\r\n\r\n", 5);
	if (lws_write(x->s->wsi, start, 5, LWS_WRITE_HTTP_FINAL) != 5)
		return -1;
	return lws_http_transaction_completed(x->s->wsi) ? -1 : 0;
}

/* {"status": N, "out": stdout, "err": stderr}: what the page shows. */
static int
answer_json(struct web_report_req *x)
{
	struct qh_buf b;
	struct qh_json j;
	uint8_t *body;
	size_t len;

	if (qh_buf_put_u8(&x->out, '\0') != 0 || qh_buf_put_u8(&x->err, '\0') != 0) {
		set_reason(x, "the report's answer is too large");
		return answer(x, HTTP_STATUS_BAD_GATEWAY, NULL, NULL, 0);
	}
	qh_buf_init(&b, 2 * REPORT_WHOLE_MAX);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "status", x->status);
	qh_json_kv_str(&j, "out", (const char *)qh_buf_ptr(&x->out));
	qh_json_kv_str(&j, "err", (const char *)qh_buf_ptr(&x->err));
	qh_json_end_object(&j);
	if (qh_json_finish(&j) != 0 || (body = malloc(qh_buf_len(&b))) == NULL) {
		qh_buf_release(&b);
		set_reason(x, "the report's answer is not text");
		return answer(x, HTTP_STATUS_BAD_GATEWAY, NULL, NULL, 0);
	}
	len = qh_buf_len(&b);
	memcpy(body, qh_buf_ptr(&b), len);
	qh_buf_release(&b);
	return answer(x, HTTP_STATUS_OK, "application/json", body, len);
}

/* Reads the file at path whole, at most REPORT_DOC_MAX bytes, into *body. */
static int
read_whole(const char *path, uint8_t **body, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long size;

	*body = NULL;
	if (f == NULL)
		return QH_ERR_SYSTEM;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    size > REPORT_DOC_MAX || fseek(f, 0, SEEK_SET) != 0 ||
	    (*body = malloc((size_t)size + 1)) == NULL ||
	    fread(*body, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(*body);
		*body = NULL;
		return QH_ERR_SYSTEM;
	}
	fclose(f);
	*len = (size_t)size;
	return 0;
}

/* The statement's data rendered as `qh-console statement` renders it. */
static int
answer_statement(struct web_report_req *x)
{
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	const int pdf = x->r == WEB_REP_STATEMENT_PDF;
	char dir[512], path[600], why[512];
	size_t len = qh_buf_len(&x->out), doc_len = 0;
	const char *data = (const char *)qh_buf_ptr(&x->out);
	uint8_t *doc = NULL;
	int r;

	while (len > 0 && data[len - 1] == '\n')
		len--;
	if (len == 0 || memchr(data, '\n', len) != NULL) {
		set_reason(x, "the console's answer is not one statement");
		return answer(x, HTTP_STATUS_BAD_GATEWAY, NULL, NULL, 0);
	}
	snprintf(dir, sizeof(dir), "%s/qh-web-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		set_reason(x, "cannot make a temporary directory");
		return answer(x, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/statement.%s", dir, pdf ? "pdf" : "html");
	if ((r = render_statement(data, len, pdf ? "pdf" : "html", path, why,
		 sizeof(why))) != 0)
		set_reason(x, why);
	else if ((r = read_whole(path, &doc, &doc_len)) != 0)
		set_reason(x, "cannot read the rendered statement");
	(void)unlink(path);
	(void)rmdir(dir);
	if (r != 0)
		return answer(x, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL, 0);
	return answer(x, HTTP_STATUS_OK, content_type(x->r), doc, doc_len);
}

int
web_report_writable(struct pss *s)
{
	struct web_report_req *x = s->report;

	if (x == NULL)
		return -1;
	if (x->whole)
		return x->body_sent < x->body_len ? whole_writable(x) : 0;
	if (stream_report(x->r))
		return stream_writable(x);
	if (!x->done)
		return 0;
	if (x->refused || !x->got_exit)
		return answer_failure(x);
	if (!statement_report(x->r))
		return answer_json(x);
	if (x->status != 0)
		return answer_failure(x);
	return answer_statement(x);
}
