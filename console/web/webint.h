/*
 * Inside qh-console web (console/web): what its modules share. web.c runs
 * the command and hands lws's callbacks to http.c (the checks on every
 * request, the pages' files, downloads) and sock.c (the WebSockets and
 * their channels; the desktop's relay is desktop.c). Everything runs on
 * the command's one libuv loop.
 */
#ifndef QH_WEB_INT_H
#define QH_WEB_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <uv.h>

#include "qh/buf.h"
#include "qh/mux.h"
#include "tech/tech.h"

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

/*
 * The same for a page that plays recordings: asciinema-player's terminal
 * is WebAssembly, which script-src must allow to compile (no eval()).
 */
#define CSP_WASM                                                                         \
	"default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "                     \
	"style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "   \
	"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define WASM_PAGE "/sessions.html" /* the one page with CSP_WASM */

enum pss_kind {
	PSS_HTTP,
	PSS_QUEUE,
	PSS_SESSION,
	PSS_PUSH,
	PSS_PULL,
	PSS_DESK,
	PSS_REPORT,
	PSS_DESKTOP
};
enum term_state { TERM_NONE, TERM_OPENING, TERM_OPEN, TERM_ENDED };

struct web;
struct web_desk;
struct web_report_req;

/* One HTTP request or WebSocket (lws's per-session data, zeroed by lws). */
struct pss {
	enum pss_kind kind;
	struct web *w;
	struct lws *wsi;
	int ready; /* WebSocket fields initialised */
	int kill;  /* close at the next writable */
	int wasm;  /* this response's page may compile WebAssembly (CSP_WASM) */
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
	/* a download the console announces (download.c): its SHA-256, and
	 * what it is for messages ("attachment", "recording") */
	uint8_t pull_hash[32];
	const char *pull_what;
	/* /api/desk/...: a tickets request (desk.c); an attachment's
	 * download is PSS_PULL with the fields above */
	struct web_desk *desk;

	/* PSS_REPORT: an accounting page's report (report.c) */
	struct web_report_req *report;
	/* /ws/desktop/CODE: RFB on ch, relayed as the terminal's bytes are */
	int close_when_sent; /* the channel is gone: close once the page has all */
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

/* http.c */

/* Fills out with 2 * bytes hex digits from the kernel's random source. */
int web_random_hex(char *out, size_t bytes);
void web_peer_name(struct lws *wsi, char *out, size_t len);
/* LWS_CALLBACK_HTTP: the checks, the token, then a file, /api/me or a download. */
int web_http(struct pss *s, const char *uri);
int web_http_writable(struct pss *s);
/* The connection went: a download's channel must not call back. */
void web_http_closed(struct pss *s);
/*
 * Makes s a download (PSS_PULL) saved as name: its buffers and hash; the
 * caller's channel fills s->out, sets push_size once announced
 * (pull_announced) and pull_ok once the bytes are checked.
 */
int web_pull_prepare(struct pss *s, const char *name);
/* An upgrade to a WebSocket: 0 to go on, 1 after answering 403, -1 to hang up. */
int web_confirm_upgrade(struct lws *wsi, struct web *w);
/* Answers with status and body (static, or kept until the connection closes). */
int web_respond(struct pss *s, unsigned status, const char *type, const void *body,
    size_t len);
/* A download (PSS_PULL) failed: a 502 with why, or cut if it had begun. */
void web_pull_fail(struct pss *s, const char *why);
/* A download's channel was refused: web_pull_fail with the console's reason. */
void web_pull_open_result(struct qh_chan *ch, int err, const struct qh_msg *m);
/*
 * download.c: opens REQUEST req (ticket-get, recording) for s, made a
 * download by web_pull_prepare: the console's TICKET_FILE{size, hash}, then
 * the bytes, checked before the last of them reach the browser. what
 * names the file in messages (static).
 */
void web_announced_open(struct pss *s, const struct qh_buf *req, const char *what);
/* 1 if the request's Origin is exactly this server's. */
int web_origin_ok(struct web *w, struct lws *wsi);
/* PSS_QUEUE, PSS_SESSION, PSS_PUSH or PSS_DESKTOP for the request's path (code
 * filled), or -1. */
int web_sock_path(struct lws *wsi, char *code);

/* recording.c: /api/sessions and /api/recording; 1 for another path. */
int web_recording_http(struct pss *s, const char *uri);

/* desk.c: /api/desk/..., the tickets pages' requests (cookie and Host checked) */
int web_desk_http(struct pss *s, const char *what);
/* A POST's body arrives (LWS_CALLBACK_HTTP_BODY), then is complete. */
int web_desk_body(struct pss *s, const void *in, size_t len);
int web_desk_body_done(struct pss *s);
/* HTTP_WRITEABLE of a PSS_DESK request: its answer, once the console gave it. */
int web_desk_writable(struct pss *s);
/* The connection went, or serves its next request: the desk's state goes. */
void web_desk_closed(struct pss *s);

/* report.c: the accounting pages' reports (GET /api/balances, ledger.*, ...). */

/* Starts report route (report_words.h's web_report_route) for the request. */
int web_report_start(struct pss *s, int route);
int web_report_writable(struct pss *s);
/* The connection went, or takes its next request: the report is dropped. */
void web_report_closed(struct pss *s);

/* sock.c */

extern const struct tech_link_ops web_link_ops;
void web_sock_open(struct pss *s, struct web *w);
void web_sock_receive(struct pss *s, const void *in, size_t len);
int web_sock_writable(struct pss *s);
void web_sock_closed(struct pss *s);
/* For desktop.c: a JSON event {"type", ["text"]}, closing, the terminal's
 * channel callbacks (its bytes to s->out within the window, its messages as
 * events) and its bounded, flow-controlled input. */
void web_sock_say(struct pss *s, const char *type, const char *text);
void web_sock_kill(struct pss *s, const char *why);
extern const struct qh_chan_ops web_term_ops;
void web_term_input(struct pss *s, const uint8_t *p, size_t len);

/* desktop.c: /ws/desktop/CODE?control=0|1&screen=N */

void web_desk_open(struct pss *s);
void web_desk_receive(struct pss *s, const void *in, size_t len);

#endif
