/*
 * qh-console web's HTTP side: every request's checks (Host, then the
 * one-time token or the cookie), the compiled-in pages, /api/me,
 * downloads streamed from a pull channel, /api/desk/ (desk.c); the checks
 * of a WebSocket's upgrade (Host, Origin, cookie, path) before sock.c sees
 * it.
 */
#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "assets.h"
#include "report_words.h"
#include "webint.h"
#include "wsmsg.h"

/* Helpers. */

int
web_random_hex(char *out, size_t bytes)
{
	uint8_t r[SECRET_BYTES];
	size_t i;

	if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return QH_ERR_SYSTEM;
	for (i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* Compares two secrets without an early exit. */
static int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned d = la != lb || la == 0;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return d == 0;
}

static int
host_ok(struct web *w, struct lws *wsi)
{
	char host[HOST_MAX];
	int i;

	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (strcmp(host, w->hosts[i]) == 0)
			return 1;
	return 0;
}

int
web_origin_ok(struct web *w, struct lws *wsi)
{
	char origin[HOST_MAX + 16], want[HOST_MAX + 16];
	int i;

	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return 0;
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "http://%s", w->hosts[i]);
		if (strcmp(origin, want) == 0)
			return 1;
	}
	return 0;
}

static int
cookie_ok(struct web *w, struct lws *wsi)
{
	char v[SECRET_LEN + 2];
	size_t max = sizeof(v);

	if (lws_http_cookie_get(wsi, COOKIE_NAME, v, &max) != 0 || max >= sizeof(v))
		return 0;
	v[max] = '\0';
	return secret_equal(v, w->cookie);
}

void
web_peer_name(struct lws *wsi, char *out, size_t len)
{
	lws_get_peer_simple(wsi, out, len);
}

/* HTTP. */

static int
add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
    unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	    (const unsigned char *)value, (int)strlen(value), p, end);
}

/*
 * Answers with status and body (static or as long as the server runs);
 * cookie, if set, is handed to the browser and location redirects.
 */
static int
respond(struct pss *s, unsigned status, const char *type, const void *body, size_t len,
    const char *cookie, const char *location)
{
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
					   *end = buf + sizeof(buf) - 1;
	char c[256];

	if (lws_add_http_common_headers(s->wsi, status, type, (lws_filepos_t)len, &p,
		end) != 0 ||
	    add_header(s->wsi, "content-security-policy:", s->wasm ? CSP_WASM : CSP, &p,
		end) != 0 ||
	    add_header(s->wsi, "x-content-type-options:", "nosniff", &p, end) != 0 ||
	    add_header(s->wsi, "referrer-policy:", "no-referrer", &p, end) != 0 ||
	    add_header(s->wsi, "x-frame-options:", "DENY", &p, end) != 0 ||
	    add_header(s->wsi, "cache-control:", "no-store", &p, end) != 0)
		return -1;
	if (cookie != NULL) {
		snprintf(c, sizeof(c), "%s=%s; HttpOnly; SameSite=Strict; Path=/",
		    COOKIE_NAME, cookie);
		if (add_header(s->wsi, "set-cookie:", c, &p, end) != 0)
			return -1;
	}
	if (location != NULL && add_header(s->wsi, "location:", location, &p, end) != 0)
		return -1;
	if (lws_finalize_write_http_header(s->wsi, start, &p, end) != 0)
		return -1;
	s->body = body;
	s->body_len = len;
	s->body_sent = 0;
	if (len == 0)
		return lws_http_transaction_completed(s->wsi) ? -1 : 0;
	lws_callback_on_writable(s->wsi);
	return 0;
}

int
web_respond(struct pss *s, unsigned status, const char *type, const void *body,
    size_t len)
{
	return respond(s, status, type, body, len, NULL, NULL);
}

static int
refuse(struct pss *s, const char *why)
{
	static const char text[] = "403 forbidden: open the URL that qh-console web "
				   "printed\n";
	char peer[64];

	web_peer_name(s->wsi, peer, sizeof(peer));
	qh_warn("refused a request from %s: %s", peer, why);
	return respond(s, HTTP_STATUS_FORBIDDEN, "text/plain", text, sizeof(text) - 1,
	    NULL, NULL);
}

/* /api/me: who the bundle is, for the pages. */
static int
send_me(struct pss *s)
{
	static char body[1024];
	struct qh_buf b;
	struct qh_json j;

	qh_buf_init(&b, sizeof(body) - 1);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "login", tech_link_login(s->w->link));
	qh_json_kv_str(&j, "role", tech_link_role(s->w->link));
	qh_json_kv_str(&j, "console", tech_link_console(s->w->link));
	qh_json_end_object(&j);
	if (qh_json_finish(&j) != 0) {
		qh_buf_release(&b);
		return -1;
	}
	memcpy(body, qh_buf_ptr(&b), qh_buf_len(&b));
	qh_buf_release(&b);
	return respond(s, HTTP_STATUS_OK, "application/json", body, strlen(body), NULL,
	    NULL);
}

/* Downloads: GET /api/pull?code=CODE&path=PATH streams a pull channel. */

static int http_body_writable(struct pss *s);

static void
pull_fail(struct pss *s, const char *why)
{
	if (s->pull_failed)
		return;
	s->pull_failed = 1;
	qh_warn("download %s: %s", s->pull_name, why);
	qh_buf_reset(&s->answer);
	(void)qh_buf_put(&s->answer, why, strlen(why));
	(void)qh_buf_put_u8(&s->answer, '\n');
	lws_callback_on_writable(s->wsi);
}

void
web_pull_fail(struct pss *s, const char *why)
{
	pull_fail(s, why);
}

static void
pull_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL) {
		qh_chan_consume(ch, len);
		return;
	}
	if (ext) { /* the agent's words on stderr are not the file */
		qh_chan_consume(ch, len);
		return;
	}
	if (!s->pull_announced || len > s->push_size - s->push_in ||
	    qh_buf_put(&s->out, p, len) != 0) {
		qh_chan_consume(ch, len);
		pull_fail(s, "the agent sent more than it announced");
		return;
	}
	s->push_in += len;
	(void)EVP_DigestUpdate(s->sha, p, len);
	lws_callback_on_writable(s->wsi);
}

/* EXIT{size, mode} announces the file; EXIT{status, size, hash} ends it. */
static void
pull_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	uint8_t hash[EVP_MAX_MD_SIZE];
	const uint8_t *h = NULL;
	char *text = NULL;
	unsigned hlen = 0;
	size_t theirs = 0;
	uint32_t status;
	uint64_t size = 0;

	if (s == NULL)
		return;
	if (m->type == QH_MSG_ERROR || m->type == QH_MSG_NOTICE) {
		if (m->type == QH_MSG_ERROR && qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
			pull_fail(s, text);
		free(text);
		return;
	}
	if (m->type != QH_MSG_EXIT)
		return;
	if (qh_msg_get_u32(m, QH_K_STATUS, &status) != 0) {
		if (s->pull_announced || qh_msg_get_u64(m, QH_K_SIZE, &size) != 0) {
			pull_fail(s, "the agent announced the file twice, or no size");
			return;
		}
		s->pull_announced = 1;
		s->push_size = size;
		lws_callback_on_writable(s->wsi);
		return;
	}
	(void)qh_msg_get_u64(m, QH_K_SIZE, &size);
	(void)qh_msg_get(m, QH_K_HASH, &h, &theirs);
	(void)EVP_DigestFinal_ex(s->sha, hash, &hlen);
	if (status != 0) {
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		pull_fail(s, text != NULL ? text : "the agent could not send the file");
		free(text);
		return;
	}
	if (!s->pull_announced || size != s->push_size || s->push_in != size ||
	    theirs != hlen || h == NULL || memcmp(h, hash, hlen) != 0) {
		pull_fail(s, "the file arrived other than the agent says it sent it");
		return;
	}
	s->pull_ok = 1;
	lws_callback_on_writable(s->wsi);
}

void
web_pull_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	char *text = NULL;

	if (s == NULL || err == 0)
		return;
	s->ch = NULL;
	if (m != NULL)
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	pull_fail(s, text != NULL ? text : "the console refused the download");
	free(text);
}

static void
pull_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || s->ch != ch)
		return;
	s->ch = NULL;
	if (!s->pull_ok)
		pull_fail(s, "the download ended early");
}

static const struct qh_chan_ops pull_ops = {
	.on_open_result = web_pull_open_result,
	.on_data = pull_data,
	.on_msg = pull_msg,
	.on_close = pull_close,
};

int
web_pull_prepare(struct pss *s, const char *name)
{
	/* A name for the browser: what is safe in a quoted header value. */
	snprintf(s->pull_name, sizeof(s->pull_name), "%s", *name ? name : "download");
	for (char *c = s->pull_name; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '_';
	s->kind = PSS_PULL;
	qh_buf_init(&s->out, TERM_WINDOW);
	qh_buf_init(&s->answer, ANSWER_MAX);
	if ((s->sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
		return -1;
	return 0;
}

static int
pull_start(struct pss *s)
{
	char code[TECH_CODE_LEN + 1], arg[32], path[WEB_PATH_MAX + 8];
	const char *v, *base;
	struct qh_buf req;

	if ((v = lws_get_urlarg_by_name(s->wsi, "code=", arg, sizeof(arg))) == NULL ||
	    tech_parse_code(v, code) != 0 ||
	    (v = lws_get_urlarg_by_name(s->wsi, "path=", path, sizeof(path))) == NULL ||
	    *v == '\0' || !qh_utf8_valid((const uint8_t *)v, strlen(v)))
		return respond(s, HTTP_STATUS_BAD_REQUEST, "text/plain",
		    "code=CODE&path=PATH\n", 20, NULL, NULL);
	base = strrchr(v, '/') != NULL ? strrchr(v, '/') + 1 : v;
	if (web_pull_prepare(s, base) != 0)
		return -1;
	qh_buf_init(&req, WEB_PATH_MAX + 256);
	(void)qh_msg_begin(&req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(&req, QH_K_CMD, "pull");
	(void)qh_msg_put_str(&req, QH_K_CODE, code);
	(void)qh_msg_put_str(&req, QH_K_PATH, v);
	(void)qh_msg_put_u32(&req, QH_K_FLAGS, 0);
	if (qh_buf_error(&req) != 0 ||
	    (s->ch = tech_link_open(s->w->link, &req, TERM_WINDOW, &pull_ops, s)) == NULL)
		pull_fail(s, "not connected to the console");
	qh_buf_release(&req);
	return 0;
}

/*
 * Headers once the agent announced the size; the bytes as they come, the
 * last ones only after the agent's hash matched: a download that does not
 * match is cut short, and the browser sees it fail.
 */
static int
pull_writable(struct pss *s)
{
	static unsigned char buf[LWS_PRE + CHUNK];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	char disp[400];
	size_t n;
	int final;

	if (s->body != NULL)
		return http_body_writable(s); /* the error response */
	if (s->pull_failed) {
		if (s->pull_headers)
			return -1; /* cut: the browser's download fails */
		s->pull_headers = 1;
		return respond(s, HTTP_STATUS_BAD_GATEWAY, "text/plain",
		    qh_buf_ptr(&s->answer), qh_buf_len(&s->answer), NULL, NULL);
	}
	if (!s->pull_announced)
		return 0;
	if (!s->pull_headers) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", s->pull_name);
		if (lws_add_http_common_headers(s->wsi, HTTP_STATUS_OK,
			"application/octet-stream", (lws_filepos_t)s->push_size, &p,
			end) != 0 ||
		    add_header(s->wsi, "content-disposition:", disp, &p, end) != 0 ||
		    add_header(s->wsi, "x-content-type-options:", "nosniff", &p, end) !=
			0 ||
		    add_header(s->wsi, "cache-control:", "no-store", &p, end) != 0 ||
		    lws_finalize_write_http_header(s->wsi, start, &p, end) != 0)
			return -1;
		s->pull_headers = 1;
		lws_callback_on_writable(s->wsi);
		return 0;
	}
	n = qh_buf_len(&s->out) < CHUNK ? qh_buf_len(&s->out) : CHUNK;
	final = s->push_out + n == s->push_size;
	if (final && !s->pull_ok)
		return 0; /* the last bytes wait for the agent's hash */
	if (n == 0 && !final)
		return 0;
	memcpy(start, qh_buf_ptr(&s->out), n);
	if (lws_write(s->wsi, start, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
	    (int)n)
		return -1;
	(void)qh_buf_consume(&s->out, n);
	s->push_out += n;
	if (s->ch != NULL)
		qh_chan_consume(s->ch, n);
	if (final) {
		qh_info("downloaded %s: %llu bytes, SHA-256 checked", s->pull_name,
		    (unsigned long long)s->push_size);
		return -1; /* one download per connection: nothing is reused */
	}
	if (qh_buf_len(&s->out) > 0 || s->push_out + qh_buf_len(&s->out) == s->push_size)
		lws_callback_on_writable(s->wsi);
	return 0;
}

/* The browser went: the pull's channel must not call back into s. */
void
web_http_closed(struct pss *s)
{
	struct qh_chan *ch;

	web_desk_closed(s);
	web_report_closed(s);
	if (s->kind != PSS_PULL)
		return;
	s->kind = PSS_HTTP;
	if ((ch = s->ch) != NULL) {
		s->ch = NULL;
		qh_chan_set_arg(ch, NULL);
		qh_chan_close(ch);
	}
	qh_buf_release(&s->out);
	qh_buf_release(&s->answer);
	EVP_MD_CTX_free(s->sha);
	s->sha = NULL;
}

int
web_http(struct pss *s, const char *uri)
{
	struct web *w = s->w;
	const struct web_asset *a;
	char tok[SECRET_LEN + 16];
	const char *v;
	int r;

	web_http_closed(s); /* a download before on this connection */
	s->kind = PSS_HTTP;
	s->w = w;
	s->wasm = strcmp(uri, WASM_PAGE) == 0;
	if (!host_ok(w, s->wsi))
		return refuse(s, "Host is not this server's loopback address");
	/* The one-time token: the cookie for it, once. */
	if ((v = lws_get_urlarg_by_name(s->wsi, "token=", tok, sizeof(tok))) != NULL) {
		if (w->token[0] == '\0' || !secret_equal(v, w->token))
			return refuse(s, "a wrong or spent token");
		w->token[0] = '\0';
		qh_info("the browser exchanged the token for its cookie");
		return respond(s, HTTP_STATUS_SEE_OTHER, "text/plain", "", 0, w->cookie,
		    "/");
	}
	if (!cookie_ok(w, s->wsi))
		return refuse(s, "no valid cookie");
	if (strcmp(uri, "/api/me") == 0)
		return send_me(s);
	if (strcmp(uri, "/api/pull") == 0)
		return pull_start(s);
	if (strncmp(uri, "/api/desk/", 10) == 0)
		return web_desk_http(s, uri + 10);
	if (web_report_route(uri) >= 0)
		return web_report_start(s, web_report_route(uri));
	if (strncmp(uri, "/api/", 5) == 0 && (r = web_recording_http(s, uri)) != 1)
		return r;
	if ((a = web_asset_find(strcmp(uri, "/") == 0 ? "/index.html" : uri)) == NULL)
		return respond(s, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10,
		    NULL, NULL);
	return respond(s, HTTP_STATUS_OK, a->type, a->data, a->len, NULL, NULL);
}

static int
http_body_writable(struct pss *s)
{
	static unsigned char buf[LWS_PRE + CHUNK];
	size_t n = s->body_len - s->body_sent;
	int final;

	if (s->body == NULL)
		return 0;
	if (n > CHUNK)
		n = CHUNK;
	final = s->body_sent + n == s->body_len;
	memcpy(buf + LWS_PRE, s->body + s->body_sent, n);
	if (lws_write(s->wsi, buf + LWS_PRE, n,
		final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	s->body_sent += n;
	if (!final) {
		lws_callback_on_writable(s->wsi);
		return 0;
	}
	s->body = NULL;
	return lws_http_transaction_completed(s->wsi) ? -1 : 0;
}

/* WebSockets: events for the page. */

int
web_sock_path(struct lws *wsi, char *code)
{
	char uri[128];

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return -1;
	if (strcmp(uri, "/ws/queue") == 0)
		return PSS_QUEUE;
	if (strncmp(uri, "/ws/session/", 12) == 0 && tech_parse_code(uri + 12, code) == 0)
		return PSS_SESSION;
	if (strncmp(uri, "/ws/push/", 9) == 0 && tech_parse_code(uri + 9, code) == 0)
		return PSS_PUSH;
	if (strncmp(uri, "/ws/desktop/", 12) == 0 && tech_parse_code(uri + 12, code) == 0)
		return PSS_DESKTOP;
	return -1;
}

int
web_confirm_upgrade(struct lws *wsi, struct web *w)
{
	char code[TECH_CODE_LEN + 1], peer[64];
	const char *why = NULL;

	if (!host_ok(w, wsi))
		why = "Host is not this server's loopback address";
	else if (!web_origin_ok(w, wsi))
		why = "a WebSocket from a foreign Origin";
	else if (!cookie_ok(w, wsi))
		why = "a WebSocket without a valid cookie";
	else if (web_sock_path(wsi, code) < 0)
		why = "no such WebSocket";
	if (why == NULL)
		return 0;
	web_peer_name(wsi, peer, sizeof(peer));
	qh_warn("refused a WebSocket from %s: %s", peer, why);
	if (lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL) != 0)
		return -1;
	return 1;
}

/* HTTP_WRITEABLE: a download's next bytes, or a response's body. */
int
web_http_writable(struct pss *s)
{
	if (s->kind == PSS_DESK)
		return web_desk_writable(s);
	if (s->kind == PSS_REPORT)
		return web_report_writable(s);
	return s->kind == PSS_PULL ? pull_writable(s) : http_body_writable(s);
}
