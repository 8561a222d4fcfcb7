/*
 * qh-console web: HTTP and WebSockets through libwebsockets on our own
 * libuv loop (LWS_SERVER_OPTION_LIBUV with foreign_loops; Debian's
 * libwebsockets-evlib-uv plugin), and one lasting connection to the
 * console with the bundle (tech_link). lws parses HTTP and the WebSocket
 * framing; the only bytes read here are the pages' WebSocket messages
 * (wsmsg.c, fuzzed).
 *
 * Who may use it: the URL printed at start carries a one-time token; the
 * first request that brings it gets a random cookie (HttpOnly,
 * SameSite=Strict) and the token is spent. Every request needs the cookie
 * and a Host header naming the loopback address and our port (no DNS
 * rebinding); a WebSocket also needs an Origin of exactly that host.
 * Anything else is answered 403 before a channel is opened. Only loopback
 * addresses are listened on. Responses carry a Content-Security-Policy
 * without inline script.
 *
 * WebSockets: /ws/queue gets the queue as a JSON array whenever it changes
 * (one "watch" channel serves every page) and JSON events ({"type":...});
 * /ws/session/CODE opens an "attach" channel once the page says its size,
 * relays its bytes both ways (binary messages) with the channel's window
 * as the bound on what waits for the browser, and ends the session with a
 * note on request ("end" channel).
 */
#include <sys/queue.h>
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <uv.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/wire.h"
#include "tech/tech.h"
#include "assets.h"
#include "web.h"
#include "wsmsg.h"

#define COOKIE_NAME  "qh_web"
#define SECRET_BYTES 32
#define SECRET_LEN   (2 * SECRET_BYTES)
#define HOST_MAX     300
#define CHUNK	     16384	       /* one WebSocket or HTTP write */
#define TERM_WINDOW  (256 * 1024)      /* an attach channel's window: what may wait */
#define EVENTS_MAX   (8 * 1024 * 1024) /* JSON events not yet sent to one page */
#define INPUT_MAX    (64 * 1024)       /* typed input the channel had no room for */
#define ANSWER_MAX   (64 * 1024)       /* an "end" answer */
#define LINE_MAX_WEB QH_MUX_WINDOW     /* one queue snapshot */
#define TERM_NAME    "xterm-256color"
#define INFO_MAX     (1024 * 1024) /* the agent's facts */
#define PUSH_FORCE   0x2	   /* a push REQUEST's flag: overwrite */
#define PUSH_REPORT  (64 * 1024)   /* upload progress is reported this often */

/* What the server sends every response, besides what each adds. */
#define CSP                                                                              \
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "      \
	"connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "   \
	"form-action 'self'; frame-ancestors 'none'"

enum pss_kind { PSS_HTTP, PSS_QUEUE, PSS_SESSION, PSS_PUSH, PSS_PULL };
enum term_state { TERM_NONE, TERM_OPENING, TERM_OPEN, TERM_ENDED };

struct web;

/* One HTTP request or WebSocket (lws's per-session data, zeroed by lws). */
struct pss {
	enum pss_kind kind;
	struct web *w;
	struct lws *wsi;
	int ready; /* WebSocket fields initialised */
	int kill;  /* close at the next writable */
	/* HTTP: the body being sent */
	const uint8_t *body;
	size_t body_len, body_sent;
	/* WebSockets */
	LIST_ENTRY(pss) link;
	struct qh_buf in;     /* the message being reassembled */
	struct qh_buf events; /* [u32 len][JSON] each, for the page */
	int snap_dirty;	      /* the newest queue snapshot is not sent */
	/* /ws/session/CODE */
	char code[TECH_CODE_LEN + 1];
	enum term_state term;
	struct qh_chan *ch;
	struct qh_buf out;     /* terminal output for the page */
	struct qh_buf pending; /* input for the channel */
	int rx_off;	       /* lws_rx_flow_control(0) in force */
	struct qh_chan *endch; /* an "end" request */
	struct qh_buf answer;  /* its answer */
	int end_error;	       /* it was refused or said ERROR */
	/* /ws/push/CODE: an upload on ch */
	uint64_t push_size; /* announced */
	uint64_t push_in;   /* bytes the page sent */
	uint64_t push_out;  /* bytes on the channel */
	uint64_t push_told; /* progress reported up to here */
	EVP_MD_CTX *sha;    /* SHA-256 of what the page sent */
	int push_sent;	    /* EXIT{size, hash} and EOF are out */
	/* the workstation's facts: an "info" channel */
	struct qh_chan *infoch;
	struct qh_buf info; /* the agent's JSON */
	int info_bad;	    /* over the bound, or an ERROR said so */
	/* GET /api/pull: a download on ch; push_size is the announced size,
	 * push_in what came, push_out what the browser has, sha hashes it */
	int pull_announced;  /* EXIT{size, mode} arrived */
	int pull_headers;    /* the response's headers are out */
	int pull_ok;	     /* EXIT{status 0, size, hash} matched */
	int pull_failed;     /* refused, cut, or not what was announced */
	char pull_name[256]; /* the file name the browser saves under */
};

struct web {
	uv_loop_t loop;
	struct lws_context *ctx;
	struct tech_link *link;
	uv_signal_t sig[2];
	int port;
	char token[SECRET_LEN + 1];  /* one-time, "" once spent */
	char cookie[SECRET_LEN + 1]; /* what the browser proves itself with */
	char hosts[3][HOST_MAX];     /* Host values we answer to */
	LIST_HEAD(, pss) socks;	     /* the open WebSockets */
	struct qh_chan *watch;	     /* the queue subscription */
	struct qh_buf line;	     /* its line being read */
	struct qh_buf snap;	     /* the newest snapshot */
	int up;			     /* the console connection */
	char down_why[1024];
};

/* Helpers. */

static int
random_hex(char *out, size_t bytes)
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

static int
origin_ok(struct web *w, struct lws *wsi)
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

static void
peer_name(struct lws *wsi, char *out, size_t len)
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
	    add_header(s->wsi, "content-security-policy:", CSP, &p, end) != 0 ||
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

static int
refuse(struct pss *s, const char *why)
{
	static const char text[] = "403 forbidden: open the URL that qh-console web "
				   "printed\n";
	char peer[64];

	peer_name(s->wsi, peer, sizeof(peer));
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

static int on_http_writable(struct pss *s);

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

static void
pull_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
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
	.on_open_result = pull_open_result,
	.on_data = pull_data,
	.on_msg = pull_msg,
	.on_close = pull_close,
};

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
	/* A name for the browser: what is safe in a quoted header value. */
	snprintf(s->pull_name, sizeof(s->pull_name), "%s", *base ? base : "download");
	for (char *c = s->pull_name; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '_';
	s->kind = PSS_PULL;
	qh_buf_init(&s->out, TERM_WINDOW);
	qh_buf_init(&s->answer, ANSWER_MAX);
	if ((s->sha = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
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
		return on_http_writable(s); /* the error response */
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
static void
pull_closed(struct pss *s)
{
	struct qh_chan *ch;

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

static int
on_http(struct pss *s, const char *uri)
{
	struct web *w = s->w;
	const struct web_asset *a;
	char tok[SECRET_LEN + 16];
	const char *v;

	pull_closed(s); /* a download before on this connection */
	s->kind = PSS_HTTP;
	s->w = w;
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
	if ((a = web_asset_find(strcmp(uri, "/") == 0 ? "/index.html" : uri)) == NULL)
		return respond(s, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10,
		    NULL, NULL);
	return respond(s, HTTP_STATUS_OK, a->type, a->data, a->len, NULL, NULL);
}

static int
on_http_writable(struct pss *s)
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

static void
sock_kill(struct pss *s, const char *why)
{
	char peer[64];

	if (s->kill)
		return;
	peer_name(s->wsi, peer, sizeof(peer));
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
watch_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
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
watch_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	char *text = NULL;

	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		qh_warn("queue: %s", text);
	free(text);
}

static void
watch_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
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

static const struct tech_link_ops link_ops = {
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
term_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
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

static const struct qh_chan_ops term_ops = {
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
	    (s->ch = tech_link_open(s->w->link, &req, TERM_WINDOW, &term_ops, s)) != NULL)
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
	    (s->ch = tech_link_open(s->w->link, &req, 0, &term_ops, s)) != NULL)
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
end_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
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

static int
sock_path(struct lws *wsi, char *code)
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
	return -1;
}

static int
on_confirm_upgrade(struct lws *wsi, struct web *w)
{
	char code[TECH_CODE_LEN + 1], peer[64];
	const char *why = NULL;

	if (!host_ok(w, wsi))
		why = "Host is not this server's loopback address";
	else if (!origin_ok(w, wsi))
		why = "a WebSocket from a foreign Origin";
	else if (!cookie_ok(w, wsi))
		why = "a WebSocket without a valid cookie";
	else if (sock_path(wsi, code) < 0)
		why = "no such WebSocket";
	if (why == NULL)
		return 0;
	peer_name(wsi, peer, sizeof(peer));
	qh_warn("refused a WebSocket from %s: %s", peer, why);
	if (lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL) != 0)
		return -1;
	return 1;
}

static void
on_established(struct pss *s, struct web *w)
{
	int kind = sock_path(s->wsi, s->code);

	s->w = w;
	s->kind =
	    kind == PSS_SESSION || kind == PSS_PUSH ? (enum pss_kind)kind : PSS_QUEUE;
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
	lws_callback_on_writable(s->wsi);
}

static void
on_closed(struct pss *s)
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

static void
on_receive(struct pss *s, const void *in, size_t len)
{
	struct web_msg m;
	int r;

	if (!s->ready || s->kill)
		return;
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
static int
on_sock_writable(struct pss *s)
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
	} else
		return 0;
	if (qh_buf_len(&s->events) > 0 || s->snap_dirty || qh_buf_len(&s->out) > 0)
		lws_callback_on_writable(s->wsi);
	return 0;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct web *w = lws_context_user(lws_get_context(wsi));
	struct pss *s = user;

	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return on_confirm_upgrade(wsi, w); /* no user data yet */
	/* Everything else of ours has user data; lws's own events may not. */
	if (s == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	s->wsi = wsi;
	s->w = w;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(s, in != NULL ? in : "/");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (s->kind == PSS_PULL)
			return pull_writable(s);
		return on_http_writable(s);
	case LWS_CALLBACK_CLOSED_HTTP:
		pull_closed(s);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		on_established(s, w);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		on_receive(s, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_sock_writable(s);
	case LWS_CALLBACK_CLOSED:
		on_closed(s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{ "qh-web", callback, sizeof(struct pss), CHUNK, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* lws's own log lines go to ours. */
static void
lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == '\n')
		n--;
	if (level & LLL_ERR)
		qh_warn("libwebsockets: %.*s", (int)n, line);
	else
		qh_info("libwebsockets: %.*s", (int)n, line);
}

/* The command. */

static void
on_signal(uv_signal_t *h, int signum)
{
	struct web *w = h->data;

	qh_info("signal %d: stopping", signum);
	uv_stop(&w->loop);
}

/* "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT": a loopback address. */
static int
parse_listen(const char *s, char *addr, size_t len, int *port)
{
	char host[256], any[300];
	size_t n = strlen(s);

	/* Port 0: the kernel picks one (the URL names it). */
	if (n > 2 && strcmp(s + n - 2, ":0") == 0) {
		snprintf(any, sizeof(any), "%.*s:1", (int)(n - 2), s);
		s = any;
	}
	if (qh_split_hostport(s, host, sizeof(host), port) != 0)
		return QH_ERR_ARG;
	if (s == any)
		*port = 0;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (strcmp(host, "::1") != 0 && strncmp(host, "127.", 4) != 0)
		return QH_ERR_PERM;
	snprintf(addr, len, "%s", host);
	return 0;
}

static void
open_browser(const char *url)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		qh_warn("cannot start xdg-open: %s", strerror(errno));
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
cmd_web(struct qh_cli *c)
{
	const char *listen = qh_cli_opt(c, "listen");
	struct lws_context_creation_info info;
	struct web *w;
	char addr[256], url[512];
	void *loops[1];
	int port = 0, r, i, status = QH_EXIT_FAIL;
	static const int sigs[2] = { SIGINT, SIGTERM };

	if ((r = parse_listen(listen != NULL ? listen : "127.0.0.1:0", addr, sizeof(addr),
		 &port)) == QH_ERR_ARG)
		return qh_cli_usage(c, "--listen is ADDR:PORT");
	if (r == QH_ERR_PERM)
		return qh_cli_fail(c,
		    "refusing to listen on %s: the web console serves loopback only "
		    "(127.0.0.1 or ::1); reach it from elsewhere through ssh -L",
		    listen);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return qh_cli_fail(c, "out of memory");
	LIST_INIT(&w->socks);
	qh_buf_init(&w->line, LINE_MAX_WEB);
	qh_buf_init(&w->snap, LINE_MAX_WEB);
	if (random_hex(w->token, SECRET_BYTES) != 0 ||
	    random_hex(w->cookie, SECRET_BYTES) != 0) {
		status = qh_cli_fail(c, "cannot make a random token");
		goto out;
	}
	if ((r = uv_loop_init(&w->loop)) != 0) {
		status =
		    qh_cli_fail(c, "cannot start the event loop: %s", uv_strerror(r));
		goto out;
	}
	if (tech_link_new(c, &w->loop, &link_ops, w, &w->link) != 0)
		goto out_loop;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&info, 0, sizeof(info));
	loops[0] = &w->loop;
	info.port = port;
	info.iface = addr;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (strchr(addr, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.foreign_loops = loops;
	info.user = w;
	info.pcontext = &w->ctx;
	info.timeout_secs = 30;
	if ((w->ctx = lws_create_context(&info)) == NULL) {
		status = qh_cli_fail(c,
		    "cannot serve on %s:%d (in use? libwebsockets-evlib-uv installed?)",
		    addr, port);
		goto out_link;
	}
	w->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(w->ctx, "default"));
	if (strchr(addr, ':') != NULL)
		snprintf(w->hosts[0], HOST_MAX, "[%s]:%d", addr, w->port);
	else
		snprintf(w->hosts[0], HOST_MAX, "%s:%d", addr, w->port);
	snprintf(w->hosts[1], HOST_MAX, "localhost:%d", w->port);
	snprintf(w->hosts[2], HOST_MAX, "%s", w->hosts[0]);
	for (i = 0; i < 2; i++) {
		uv_signal_init(&w->loop, &w->sig[i]);
		w->sig[i].data = w;
		uv_signal_start(&w->sig[i], on_signal, sigs[i]);
	}
	snprintf(url, sizeof(url), "http://%s/?token=%s", w->hosts[0], w->token);
	printf("%s\n", url);
	fflush(stdout);
	fprintf(stderr,
	    "qh-console: serving the web console as %s (%s) of %s; "
	    "open the URL above (it works once)\n",
	    tech_link_login(w->link), tech_link_role(w->link),
	    tech_link_console(w->link));
	if (!qh_cli_flag(c, "no-browser"))
		open_browser(url);

	uv_run(&w->loop, UV_RUN_DEFAULT);

	/*
	 * Stopping: lws first (its pages close their channels), then the
	 * link. On a foreign loop lws closes its handles on the loop; it
	 * writes NULL to w->ctx (pcontext) once it is done, and otherwise is
	 * asked again after the loop ran.
	 */
	lws_context_destroy(w->ctx);
	for (i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&w->sig[i], NULL);
	tech_link_close(w->link);
	w->link = NULL;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (w->ctx != NULL) {
		lws_context_destroy(w->ctx);
		uv_run(&w->loop, UV_RUN_DEFAULT);
	}
	status = QH_EXIT_OK;
	goto out_loop;
out_link:
	tech_link_close(w->link);
	uv_run(&w->loop, UV_RUN_DEFAULT);
out_loop:
	uv_walk(&w->loop, close_walk, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0)
		qh_warn("event loop still busy at exit");
out:
	qh_buf_release(&w->line);
	qh_buf_release(&w->snap);
	free(w);
	return status;
}

const struct qh_cli_cmd cmd_web_entry = {
	.name = "web",
	.usage = "[--listen ADDR:PORT] [--no-browser] [--tech FILE]",
	.summary = "the console in the browser: prints a URL with a one-time token",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("tech"), QH_OPT("listen"), QH_FLAG("no-browser") },
	.needs = QH_CLI_TECH,
	.exec = cmd_web,
};
