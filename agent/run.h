/*
 * `qh-agent run` in three files: the connection, the console's messages
 * and the technicians' actions (run.c), the customer's side, who may get
 * in and how the customer is asked and answers (consent.c), and the
 * renewal of the agent's certificate (renew.c). This header is theirs
 * alone.
 */
#ifndef QH_AGENT_RUN_H
#define QH_AGENT_RUN_H

#include <limits.h>
#include <stdint.h>

#include "agent.h"
#include "qh/pem.h"
#include "qh/tls.h"

#define CONSENT_MAX  16	 /* questions queued for the customer */
#define ALLOWED_MAX  32	 /* technicians allowed in this session */
#define LINE_MAX_LEN 256 /* one line typed by the customer */
#define FORWARD_MAX  32
#define CODE_MAX     15
#define TEXT_MAX     4097 /* a text field and its NUL */

enum agent_state {
	AG_WAITING,    /* no connection; the retry timer runs */
	AG_CONNECTING, /* resolving, connecting, TLS handshake */
	AG_HELLO,      /* HELLO sent, waiting for WELCOME */
	AG_READY,      /* welcomed: waiting in the queue or in a session */
	AG_DONE,       /* leaving: handles close, then the loop ends */
};

/* A technician waiting for the customer's answer. */
struct consent {
	uint64_t id;
	char login[QH_ID_MAX + 1];
	char name[257];
	unsigned want;	/* GRANT_CONNECT, GRANT_VIEW or GRANT_VIEW | GRANT_CONTROL */
	int recorded;	/* a desktop: the console records the screen */
	char text[512]; /* from the console: overdraft, installation; "" for none */
};

struct agent {
	uv_loop_t *loop;
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	char host[256];
	int port;
	char hostname[256];
	int yes, unattended;
	unsigned allow_desktop; /* --allow-desktop: GRANT_VIEW, maybe | GRANT_CONTROL */
	const char *forwards[FORWARD_MAX]; /* --allow-forward, for later */
	int nforwards;

	enum agent_state state;
	struct qh_mux *mux; /* NULL when not connected */
	char why[256];	    /* why the last dial failed */
	int was_ready;	    /* this connection got its WELCOME */
	uint64_t backoff_ms;

	uv_timer_t retry;    /* back-off before the next attempt */
	uv_timer_t deadline; /* CONNECT_TIMEOUT_MS for an attempt */
	uv_timer_t endwait;  /* END_TIMEOUT_MS after "end" */
	uv_signal_t sigs[4]; /* SIGINT, SIGTERM, SIGHUP, SIGCHLD where they exist */
	int nsigs;
	uv_tty_t tty;
	int tty_open;	     /* reading lines from the customer */
	uv_async_t ui_async; /* the window's events (ui_post) */
	uv_process_t shot;   /* `ticket --screenshot` for the window's button */
	int shot_running;
	char config_dir[PATH_MAX]; /* --config, for the programs we start */
	int ui_open;
	char rbuf[LINE_MAX_LEN]; /* one read from the terminal */
	char line[LINE_MAX_LEN];
	size_t linelen;
	int line_long; /* the current line overflowed: dropped */

	char resume[129]; /* from WELCOME; kept for the whole run */
	char code[CODE_MAX + 1];
	char customer[QH_ID_MAX + 1];
	int session_open;
	uint64_t session;
	int stopping; /* exit once the connection is gone */
	int ending;   /* SESSION end sent */
	int exit_status;

	struct consent consents[CONSENT_MAX];
	int nconsents;
	int asking; /* consents[0] is on the screen */
	struct {
		char login[QH_ID_MAX + 1];
		unsigned granted; /* GRANT_* the customer allowed this session */
	} allowed[ALLOWED_MAX];
	int nallowed;
	int control_taken; /* the customer took control back this session */

	struct task_list tasks;

	struct renew *renew; /* renew.c's */
	int reconnect_now;   /* renew.c: reconnect at once, with the new certificate */
};

/* run.c */

/* Ctrl-C, SIGTERM, SIGHUP, "q", End session: ends the session, or just leaves. */
void agent_end(struct agent *a);

/* Leaves with status: now if there is no connection, else once it has closed. */
void agent_stop(struct agent *a, int status);

/* Answers the console's consent question id. */
void send_consent_reply(struct agent *a, uint64_t id, int allow);

/* consent.c */

/*
 * 1 if login may do what want (GRANT_*) names on this PC now: --yes and
 * --unattended allow connecting, --allow-desktop the screen (control
 * only until the customer takes it back), the customer's answers the rest.
 */
int consent_allowed(const struct agent *a, const char *login, unsigned want);

/* The session ended: what the customer allowed in it is forgotten. */
void consent_forget(struct agent *a);

/*
 * The customer takes control back from every desktop ("c" on the
 * terminal, the window's button): input stops, viewing goes on, and a
 * technician who wants control again is asked again.
 */
void consent_take_control(struct agent *a);

/* Answers what can be answered without the customer; asks the next question. */
void consent_next(struct agent *a);

/* The connection is gone: its questions cannot be answered any more. */
void consent_reset(struct agent *a);

/* The console withdrew question id (no answer in time). */
void consent_cancel(struct agent *a, uint64_t id);

/* Starts listening to the customer: the window's events, else the terminal. */
void customer_open(struct agent *a);

/* Stops listening (closing the handles customer_open made). */
void customer_close(struct agent *a);

/* The window's status line, when there is a window; sanitised. */
void agent_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* renew.c */

/* Sets up renewal of the certificate in the bundle at path (agent.pem); once. */
int renew_init(struct agent *a, const char *path);

/*
 * The connection is up. Returns 1 when the certificate has expired: this
 * connection renews it and does nothing else (no HELLO), then the agent
 * reconnects. Otherwise returns 0, after starting a renewal that is due
 * or setting a timer for it.
 */
int renew_on_ready(struct agent *a);

/* The connection closed: a renewal on it is void, its old context freed. */
void renew_on_close(struct agent *a);

/* Nothing runs any more (a session closed): a waiting certificate comes into use. */
void renew_on_idle(struct agent *a);

/* Leaving: closes the timer; what renewal holds is freed with it. */
void renew_free(struct agent *a);

#endif
