/*
 * The technician's connection to the console, shared by the commands in
 * console/tech (see client.h): the bundle, TLS to the console's address
 * (qh_mux_dial: each resolved address in turn), one request channel and the loop that
 * runs until it and the connection are gone, with the one-line reports of
 * DESIGN §5 for every way a command can fail. Standard input and output
 * are term.c's; this file hands them the channel's bytes and window.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qh/addr.h"
#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "conn.h"
#include "tech.h"

static const int caught_signals[NSIGNALS] = { SIGINT, SIGTERM, SIGHUP };

uv_loop_t *
tech_loop(struct tech *t)
{
	return &t->loop;
}

void *
tech_arg(const struct tech *t)
{
	return t->arg;
}

const struct qh_bundle *
tech_bundle(const struct tech *t)
{
	return &t->bundle;
}

const char *
tech_bundle_path(const struct tech *t)
{
	return t->path;
}

struct qh_chan *
tech_chan(const struct tech *t)
{
	return t->state == TECH_OPEN ? t->ch : NULL;
}

/* Codes and exit statuses. */

int
tech_parse_code(const char *s, char code[TECH_CODE_LEN + 1])
{
	size_t i, n = 0, len = strlen(s);

	/* Six digits, or three, one space and three ("482 913"). */
	if (len != TECH_CODE_LEN && !(len == TECH_CODE_LEN + 1 && s[3] == ' '))
		return QH_ERR_ARG;
	for (i = 0; i < len; i++) {
		if (len == TECH_CODE_LEN + 1 && i == 3)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return QH_ERR_ARG;
		code[n++] = s[i];
	}
	code[n] = '\0';
	return 0;
}

void
tech_code_pretty(const char *code, char out[TECH_CODE_LEN + 2])
{
	snprintf(out, TECH_CODE_LEN + 2, "%.3s %.3s", code, code + 3);
}

int
tech_exit_status(const struct qh_msg *m, int *status)
{
	uint32_t v;

	if (qh_msg_get_u32(m, QH_K_STATUS, &v) == 0) {
		*status = v > 255 ? 255 : (int)v;
		return 0;
	}
	if (qh_msg_get_u32(m, QH_K_SIGNAL, &v) == 0) {
		*status = 128 + (v > 127 ? 127 : (int)v);
		return 0;
	}
	return QH_ERR_FORMAT;
}

/* The bundle. */

/* Finds the bundle's path; *dflt says it is the default, not one given. */
static int
bundle_path(const struct qh_cli *c, char *out, size_t len, int *dflt)
{
	const char *p = qh_cli_opt(c, "tech"), *home;
	struct passwd *pw;

	*dflt = 0;
	if (p == NULL && (p = getenv("QH_TECH")) != NULL && *p == '\0')
		p = NULL;
	if (p == NULL) {
		*dflt = 1;
		if ((home = getenv("HOME")) == NULL || *home == '\0') {
			if ((pw = getpwuid(getuid())) == NULL)
				return QH_ERR_NOT_FOUND;
			home = pw->pw_dir;
		}
		if ((size_t)snprintf(out, len, "%s/.config/quarterhour/tech.conf",
			home) >= len)
			return QH_ERR_TOO_LARGE;
		return 0;
	}
	if ((size_t)snprintf(out, len, "%s", p) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
tech_default_bundle(char *out, size_t len)
{
	static const struct qh_cli_cmd none = { .name = "" };
	struct qh_cli c;
	int dflt;

	memset(&c, 0, sizeof(c));
	c.cmd = &none;
	return bundle_path(&c, out, len, &dflt);
}

/*
 * Checks what a user gets wrong most (no file, a directory, a bundle others
 * may read) before the loader does, so the report is one line with the
 * reason in it. The loader checks again on the open file.
 */
static int
bundle_check(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		return errno == ENOENT ? QH_ERR_NOT_FOUND : QH_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "not a regular file");
		return QH_ERR_FORMAT;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, len,
		    "mode %04o lets group or others read its private key; "
		    "chmod 600 it",
		    (unsigned)(st.st_mode & 07777));
		return QH_ERR_PERM;
	}
	return 0;
}

/*
 * Two thirds of the bundle's life have passed (when an agent renews its
 * own): says when it expires and how to renew it. The console says the
 * rest once it has expired.
 */
static void
renewal_hint(const struct tech *t)
{
	struct qh_identity id;
	char when[32];
	int64_t now = qh_clock_now();

	if (qh_pki_identity(t->bundle.cert, &id) != 0 || now < qh_pki_renew_at(&id) ||
	    now >= id.not_after)
		return;
	qh_clock_format_utc(id.not_after, when, sizeof(when));
	tech_say(NULL,
	    "the bundle %s expires on %.10s; renew it with: qh-console tech renew "
	    "--tech %s --out %s",
	    t->path, when, t->path, t->path);
}

int
tech_new(const struct qh_cli *c, const struct tech_ops *ops, void *arg, struct tech **tp)
{
	static const struct tech_ops no_ops;
	const char *lvl = getenv("QH_LOG_LEVEL");
	struct tech *t = NULL;
	char why[REASON_MAX];
	int dflt = 0, r;

	*tp = NULL;
	term_sanitise_stdfd();
	/* A technician sees one line per failure; the transport's log on request. */
	if (lvl == NULL || qh_log_level_parse(lvl) < 0)
		qh_log_init("qh-console", QH_LOG_WARN);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tech_say(NULL, "out of memory");
		return QH_EXIT_FAIL;
	}
	t->ops = ops != NULL ? ops : &no_ops;
	t->arg = arg;
	t->state = TECH_NEW;
	t->status = QH_EXIT_FAIL;
	term_init(t);

	if (bundle_path(c, t->path, sizeof(t->path), &dflt) != 0) {
		tech_say(NULL,
		    "cannot find the technician bundle; give --tech FILE "
		    "or set QH_TECH");
		goto fail;
	}
	if ((r = bundle_check(t->path, why, sizeof(why))) != 0) {
		tech_say(NULL, "cannot load the technician bundle %s: %s%s", t->path, why,
		    dflt && r == QH_ERR_NOT_FOUND ? " (give --tech FILE or set QH_TECH)"
						  : "");
		goto fail;
	}
	if ((r = qh_bundle_load(t->path, &t->bundle)) != 0) {
		tech_say(NULL, "cannot load the technician bundle %s: %s", t->path,
		    qh_strerror(r));
		goto fail;
	}
	if (qh_split_hostport(t->bundle.console, t->host, sizeof(t->host), &t->port) !=
	    0) {
		tech_say(NULL, "%s: bad console address '%s'", t->path,
		    t->bundle.console);
		goto fail;
	}
	if ((r = qh_tls_ctx_client(&t->ctx, t->bundle.cert, t->bundle.key,
		 t->bundle.ca)) != 0) {
		tech_say(NULL, "cannot use the technician bundle %s: %s", t->path,
		    qh_strerror(r));
		goto fail;
	}
	if (strcmp(c->cmd->name, "tech renew") != 0)
		renewal_hint(t);
	if ((r = uv_loop_init(&t->loop)) != 0) {
		tech_say(NULL, "cannot start the event loop: %s", uv_strerror(r));
		goto fail;
	}
	t->loop_open = 1;
	*tp = t;
	return 0;
fail:
	tech_free(t);
	return QH_EXIT_FAIL;
}

/* A one-shot request's answer: DATA and EXTDATA, kept until the end. */
struct answer {
	struct qh_buf text[2];
	int exact; /* printed as it came (JSON) */
};

static void
answer_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct answer *a = tech_arg(t);

	(void)qh_buf_put(&a->text[ext != 0], p, len); /* a full buffer keeps its error */
	tech_consume(t, len);
}

/* Whatever ended the request: what came is shown, filtered unless exact. */
static void
answer_on_stop(struct tech *t)
{
	struct answer *a = tech_arg(t);
	int i;

	for (i = 0; i < 2; i++) {
		if (qh_buf_error(&a->text[i]) != 0)
			tech_say(t, "the console's answer is larger than %d bytes",
			    TECH_ANSWER_MAX);
		else if (qh_buf_len(&a->text[i]) > 0)
			term_print(t, i, qh_buf_ptr(&a->text[i]), qh_buf_len(&a->text[i]),
			    a->exact);
	}
}

static const struct tech_ops answer_ops = {
	.on_data = answer_on_data,
	.on_stop = answer_on_stop,
};

int
tech_request(const struct qh_cli *c, const struct qh_buf *req, int exact)
{
	struct tech *t = NULL;
	struct answer a;
	int i, status;

	a.exact = exact;
	for (i = 0; i < 2; i++)
		qh_buf_init(&a.text[i], TECH_ANSWER_MAX);
	if ((status = tech_new(c, &answer_ops, &a, &t)) == 0)
		status = tech_run(t, req);
	tech_free(t);
	for (i = 0; i < 2; i++)
		qh_buf_release(&a.text[i]);
	return status;
}

/* Closes a handle tech_free finds still open. */
static void
close_walk(uv_handle_t *h, void *arg QH_UNUSED)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void
tech_free(struct tech *t)
{
	if (t == NULL)
		return;
	if (t->loop_open) {
		/* Only handles a command never ran are left; close them. */
		uv_walk(&t->loop, close_walk, NULL);
		uv_run(&t->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&t->loop) != 0)
			qh_warn("event loop still busy at exit");
	}
	term_free(t); /* the terminal is the user's again, whatever happened */
	qh_tls_ctx_free(t->ctx);
	qh_bundle_free(&t->bundle);
	free(t);
}

/* Ending. */

void
tech_finish(struct tech *t, int status)
{
	int i;

	if (t->state == TECH_DONE)
		return;
	qh_debug("finishing with status %d", status);
	t->state = TECH_DONE;
	t->status = status;
	term_input_close(t);
	if (t->ops->on_stop != NULL)
		t->ops->on_stop(t);
	if (t->handles_open) {
		t->handles_open = 0;
		uv_close((uv_handle_t *)&t->ender, NULL);
		/* A second signal now has its default effect. */
		for (i = 0; i < NSIGNALS; i++)
			uv_close((uv_handle_t *)&t->sig[i], NULL);
	}
	if (t->ch != NULL) {
		qh_chan_close(t->ch);
		t->ch = NULL;
	}
	if (t->mux != NULL)
		qh_mux_close(t->mux, 0, NULL);
	term_out_maybe_close(t); /* or after the last write */
}

/* The channel ended without an error message: the command says how it went. */
static void
end_normally(struct tech *t)
{
	int status = QH_EXIT_OK;

	if (t->chan_error)
		status = QH_EXIT_FAIL; /* its text is out already */
	else if (t->ops->on_end != NULL)
		status = t->ops->on_end(t);
	if (status == TECH_PENDING)
		return; /* the command calls tech_finish itself */
	tech_finish(t, status);
}

/* Ends the command on the loop turn after the console closed the channel. */
static void
on_ender(uv_timer_t *h)
{
	struct tech *t = h->data;

	if (t->state == TECH_OPEN)
		end_normally(t);
}

/* SIGINT, SIGTERM, SIGHUP: close cleanly (the terminal comes back), exit 128 + signal. */
static void
on_signal(uv_signal_t *h, int signum)
{
	struct tech *t = h->data;

	qh_debug("signal %d", signum);
	tech_finish(t, 128 + signum);
}

/* The channel. */

/* The console's answer to the REQUEST: OPEN_OK, or OPEN_FAIL with its ERROR. */
static void
chan_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct tech *t = qh_chan_arg(ch);
	char *text = NULL;

	if (t->state != TECH_OPENING)
		return;
	if (err != 0) {
		t->ch = NULL; /* the mux frees it */
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tech_say(t, "%s",
		    text != NULL ? text : "the console refused the request");
		free(text);
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	qh_debug("channel open");
	t->state = TECH_OPEN;
	if (t->ops->on_open != NULL)
		t->ops->on_open(t);
	if (t->in_wanted)
		term_input_pump(t);
}

/* DATA to stdout, EXTDATA to stderr. */
static void
chan_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct tech *t = qh_chan_arg(ch);

	if (t->ops->on_data != NULL) {
		t->ops->on_data(t, ext, p, len);
		return;
	}
	/* The window is credited only for bytes written. */
	if (!ext)
		term_out_data(t, p, len);
	else
		term_err_data(t, p, len);
}

/* NOTICE and ERROR are shown here; other messages go to the command. */
static void
chan_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct tech *t = qh_chan_arg(ch);
	char *text = NULL;

	switch (m->type) {
	case QH_MSG_NOTICE:
	case QH_MSG_ERROR:
		if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
			tech_say(t, "%s", text);
		free(text);
		if (m->type == QH_MSG_ERROR)
			t->chan_error = 1; /* exit 1 once the channel ends */
		break;
	default:
		if (t->ops->on_msg != NULL)
			t->ops->on_msg(t, m);
		else
			qh_debug("ignoring %s message", qh_msg_name(m->type));
		break;
	}
}

/* The console half-closed the channel. */
static void
chan_eof(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	if (t->state == TECH_OPEN && t->ops->on_eof != NULL)
		t->ops->on_eof(t);
}

/* The window opened again: send more input, and what the command holds. */
static void
chan_writable(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	/* Without tech_stdin_open there is no input: the pump would send EOF. */
	if (t->in_wanted)
		term_input_pump(t);
	if (t->state == TECH_OPEN && t->ops->on_writable != NULL)
		t->ops->on_writable(t);
}

/*
 * 1 while the connection is up. XXX The mux has no query for "closing";
 * a closing TLS connection is never writable, and an open one is not
 * writable only while its output is over the high-water mark.
 */
static int
conn_up(struct qh_chan *ch)
{
	struct qh_tls_conn *tls = qh_mux_tls(qh_chan_mux(ch));

	return qh_tls_writable(tls) || qh_tls_queued(tls) >= QH_TLS_HIGH_WATER;
}

/*
 * The channel is gone: the console closed it (the connection is up), or
 * the connection died (mux_closed follows at once and reports it). A
 * normal end runs after this callback, so the CLOSE answer goes out first.
 */
static void
chan_close(struct qh_chan *ch)
{
	struct tech *t = qh_chan_arg(ch);

	t->ch = NULL;
	if (t->state != TECH_OPEN)
		return;
	term_input_stop(t);
	if (!conn_up(ch))
		return;
	t->chan_ended = 1;
	uv_timer_start(&t->ender, on_ender, 0, 0);
}

static const struct qh_chan_ops chan_ops = {
	.on_open_result = chan_open_result,
	.on_data = chan_data,
	.on_msg = chan_msg,
	.on_eof = chan_eof,
	.on_close = chan_close,
	.on_writable = chan_writable,
};

void
tech_consume(struct tech *t, size_t n)
{
	if (t->ch != NULL && n > 0)
		qh_chan_consume(t->ch, n);
}

struct qh_chan *
tech_open_channel(struct tech *t, const struct qh_buf *req, const struct qh_chan_ops *ops,
    void *arg)
{
	if (t->state != TECH_OPEN || t->mux == NULL)
		return NULL;
	return qh_chan_open(t->mux, req, 0, ops, arg);
}

/* The connection. */

/* TLS is up and the console verified: send the REQUEST. */
static int
mux_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct tech *t = qh_mux_arg(mux);

	if (t->state != TECH_CONNECTING)
		return 0;
	qh_debug("connected to %s (console %s)", qh_mux_peer_addr(mux), peer->id);
	t->state = TECH_OPENING;
	if ((t->ch = qh_chan_open(mux, t->req, 0, &chan_ops, t)) == NULL) {
		snprintf(t->reason, sizeof(t->reason), "cannot open a channel");
		return QH_ERR_LIMIT;
	}
	return 0;
}

/* A control message from the console: ERROR ends us, NOTICE is shown. */
static int
mux_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct tech *t = qh_mux_arg(mux);
	char *text = NULL;

	if (t->state == TECH_DONE)
		return 0;
	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	switch (m->type) {
	case QH_MSG_ERROR:
		/* A refusal of us as a whole (a revoked technician, say). */
		tech_say(t, "%s",
		    text != NULL ? text : "the console refused the connection");
		tech_finish(t, QH_EXIT_FAIL);
		break;
	case QH_MSG_NOTICE:
		tech_say(t, "%s", text != NULL ? text : "");
		break;
	default:
		tech_say(t, "the console sent an unexpected %s message",
		    qh_msg_name(m->type));
		tech_finish(t, QH_EXIT_FAIL);
		break;
	}
	free(text);
	return 0;
}

/* Words for a failed attempt, when the failure left none. */
static const char *
describe(int err)
{
	switch (err) {
	case QH_ERR_TLS:
		return "TLS handshake failed (QH_LOG_LEVEL=info shows why)";
	case QH_ERR_AUTH:
		return "the server is not a quarterhour console";
	case QH_ERR_CLOSED:
		return "the console closed the connection";
	case QH_ERR_TIMEOUT:
		return "timed out";
	default:
		return qh_strerror(err);
	}
}

/* The connection is gone: report how it ended. */
static void
mux_closed(struct qh_mux *mux, int err)
{
	struct tech *t = qh_mux_arg(mux);

	t->mux = NULL;
	t->ch = NULL; /* freed with the connection */
	switch (t->state) {
	case TECH_CONNECTING:
	case TECH_OPENING:
		tech_say(t, "cannot reach the console at %s: %s", t->bundle.console,
		    t->reason[0] != '\0' ? t->reason : describe(err));
		tech_finish(t, QH_EXIT_FAIL);
		break;
	case TECH_OPEN:
		/* The console closed the channel before the connection: a normal end. */
		if (t->chan_ended) {
			end_normally(t);
			break;
		}
		qh_debug("connection closed: %s", qh_strerror(err));
		tech_say(t, "connection to the console lost");
		tech_finish(t, QH_EXIT_FAIL);
		break;
	default:
		break;
	}
}

static const struct qh_mux_ops mux_ops = {
	.on_ready = mux_ready,
	.on_control = mux_control,
	.on_close = mux_closed,
};

int
tech_run(struct tech *t, const struct qh_buf *req)
{
	int i;

	if (t->state != TECH_NEW)
		return QH_EXIT_FAIL; /* one run per tech_new */
	t->req = req;
	uv_timer_init(&t->loop, &t->ender);
	t->ender.data = t;
	for (i = 0; i < NSIGNALS; i++) {
		uv_signal_init(&t->loop, &t->sig[i]);
		t->sig[i].data = t;
		uv_signal_start(&t->sig[i], on_signal, caught_signals[i]);
		uv_unref((uv_handle_t *)&t->sig[i]);
	}
	t->handles_open = 1;
	term_out_open(t);

	/* Every address of the console in turn; a failure comes to mux_closed. */
	t->state = TECH_CONNECTING;
	t->mux = qh_mux_new(&t->loop, t->ctx, QH_TLS_CLIENT, t->host, NULL, &mux_ops, t);
	if (t->mux == NULL) {
		tech_say(t, "cannot reach the console at %s: %s", t->bundle.console,
		    qh_strerror(QH_ERR_NOMEM));
		tech_finish(t, QH_EXIT_FAIL);
	} else {
		qh_mux_set_keepalive(t->mux, TECH_KEEPALIVE_MS, TECH_DEAD_MS);
		(void)qh_mux_dial(t->mux, t->host, t->port, TECH_CONNECT_MS, t->reason,
		    sizeof(t->reason));
	}
	uv_run(&t->loop, UV_RUN_DEFAULT);
	return t->status;
}
