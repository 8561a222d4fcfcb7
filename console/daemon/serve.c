/*
 * qh-console serve: accepts agents and technicians over mutually
 * authenticated TLS, checks each peer against the database (revoked
 * technicians, agents and certificates are refused), and dispatches
 * technician requests by name from a table.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "store/store.h"
#include "console.h"
#include "record.h"
#include "serve.h"
#include "upload.h"

#define ROLE(r) (1U << (r))

static void request_queue(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);
static void request_relay(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);
static void request_end(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);

/* Technician requests: the REQUEST message's cmd, who may send it, its handler. */
static const struct request_entry {
	const char *cmd;
	unsigned roles;
	/* Accepts or refuses ch and does the work. */
	void (*run)(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);
} requests[] = {
	{ "queue", ROLE(QH_ROLE_TECHNICIAN), request_queue },
	{ "exec", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "attach", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "end", ROLE(QH_ROLE_TECHNICIAN), request_end },
	{ "forward", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "dial", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "push", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "pull", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "info", ROLE(QH_ROLE_TECHNICIAN), request_relay },
	{ "record", ROLE(QH_ROLE_TECHNICIAN), relay_record_request },
	{ "ticket", ROLE(QH_ROLE_AGENT), ticket_request },
	{ NULL, 0, NULL },
};

/* Replies. */

static const struct qh_chan_ops reply_ops = { 0 };

void
reply_text(struct qh_chan *ch, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t n;

	/* Replies are small; one larger than the window is cut, and says so. */
	while (off < len && (n = qh_chan_write(ch, 0, text + off, len - off)) > 0)
		off += (size_t)n;
	if (off < len)
		qh_warn("reply of %zu bytes cut at %zu", len, off);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

void
reply_error(struct qh_chan *ch, const char *code, const char *text)
{
	struct qh_buf b;

	qh_buf_init(&b, 8192);
	if (qh_msg_begin(&b, QH_MSG_ERROR) == 0 &&
	    qh_msg_put_str(&b, QH_K_CODE, code) == 0 &&
	    qh_msg_put(&b, QH_K_TEXT, text, strnlen(text, 4000)) == 0)
		(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

void
peer_notice(struct peer *p, const char *kind, const char *fmt, ...)
{
	struct qh_buf b;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	qh_buf_init(&b, 4096);
	if (qh_msg_begin(&b, QH_MSG_NOTICE) == 0 &&
	    qh_msg_put_str(&b, QH_K_TEXT, text) == 0 &&
	    qh_msg_put_str(&b, QH_K_KIND, kind) == 0)
		(void)qh_mux_send_control(p->mux, &b);
	qh_buf_release(&b);
}

static void
request_queue(struct peer *p, struct qh_chan *ch, const struct qh_msg *m)
{
	struct qh_buf out;
	uint32_t flags = 0;

	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	qh_chan_accept(ch, 0, &reply_ops, p);
	qh_buf_init(&out, QH_MUX_WINDOW);
	queue_list(p->srv, &out, (flags & 2) != 0);
	reply_text(ch, (const char *)qh_buf_ptr(&out), qh_buf_len(&out));
	qh_buf_release(&out);
}

static void
request_relay(struct peer *p, struct qh_chan *ch, const struct qh_msg *m)
{
	char *cmd = NULL;

	if (qh_msg_get_str(m, QH_K_CMD, &cmd) != 0) {
		qh_chan_refuse(ch, "format", "request without a command");
		return;
	}
	relay_request(p, ch, cmd, m);
	free(cmd);
}

/* Finds the entry a request names; refuses ch with the contract's line if none. */
struct entry *
request_target(struct peer *p, struct qh_chan *ch, const struct qh_msg *m)
{
	char *code = NULL, pretty[8], text[128];
	struct entry *e = NULL;

	if (qh_msg_get_str(m, QH_K_CODE, &code) != 0) {
		qh_chan_refuse(ch, "format", "request without a session code");
		return NULL;
	}
	if ((e = queue_find(p->srv, code)) == NULL) {
		snprintf(text, sizeof(text), "no waiting agent with code %s",
		    code_pretty(code, pretty));
		qh_chan_refuse(ch, "unknown-code", text);
	}
	free(code);
	return e;
}

static void
request_end(struct peer *p, struct qh_chan *ch, const struct qh_msg *m)
{
	struct entry *e;
	char *note = NULL, summary[512], text[128], pretty[8];

	if ((e = request_target(p, ch, m)) == NULL)
		return;
	if (e->session == NULL) {
		snprintf(text, sizeof(text), "no session is open with %s",
		    code_pretty(e->code, pretty));
		qh_chan_refuse(ch, "no-session", text);
		return;
	}
	(void)qh_msg_get_str(m, QH_K_NOTE, &note);
	qh_chan_accept(ch, 0, &reply_ops, p);
	if (session_close(e->session, "technician", note, p->id.id, summary,
		sizeof(summary)) != 0) {
		reply_error(ch, "internal",
		    "the session could not be recorded; "
		    "see the console's log");
	} else {
		strncat(summary, "\n", sizeof(summary) - strlen(summary) - 1);
		reply_text(ch, summary, strlen(summary));
	}
	free(note);
}

/* Peers. */

/* Refuses an authenticated peer: an ERROR it can show, one log line, close. */
static int
refuse_peer(struct peer *p, const char *code, const char *text)
{
	qh_warn("peer %s: refused: %s", qh_mux_name(p->mux), text);
	(void)qh_mux_send_error(p->mux, code, text);
	qh_mux_close(p->mux, QH_ERR_REFUSED, NULL);
	return 0;
}

/* Returns 1 if the certificate's serial is on record and not revoked. */
static int
cert_current(struct server *srv, const struct qh_identity *id)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_prepare(srv->db,
		"SELECT revoked_at IS NULL FROM certificates "
		"WHERE serial = ?1 AND identity = ?2",
		&st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ok;
}

/* Returns 1 if the technician is current, filling name. */
static int
tech_current(struct server *srv, const struct qh_identity *id, char *name, size_t len)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_prepare(srv->db,
		"SELECT revoked_at IS NULL, name FROM technicians "
		"WHERE login = ?1 AND role = ?2",
		&st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, qh_role_name(id->role), -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ok = sqlite3_column_int(st, 0);
		snprintf(name, len, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return ok;
}

/* Returns 1 if the agent is enrolled and not revoked. */
static int
agent_current(struct server *srv, const struct qh_identity *id)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (db_prepare(srv->db,
		"SELECT revoked_at IS NULL FROM agents "
		"WHERE id = ?1 AND customer_id = ?2",
		&st) != 0)
		return 0;
	sqlite3_bind_text(st, 1, id->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ok;
}

static int
peer_on_ready(struct qh_mux *mux, const struct qh_identity *id)
{
	struct peer *p = qh_mux_arg(mux);

	p->id = *id;
	switch (id->role) {
	case QH_ROLE_NONE:
		qh_debug("peer %s: no certificate; join only", qh_mux_name(mux));
		return 0;
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		if (!tech_current(p->srv, id, p->name, sizeof(p->name)) ||
		    !cert_current(p->srv, id))
			return refuse_peer(p, "revoked",
			    "this technician certificate "
			    "is revoked or unknown to the console");
		break;
	case QH_ROLE_AGENT:
		if (!agent_current(p->srv, id) || !cert_current(p->srv, id))
			return refuse_peer(p, "revoked",
			    "this agent is revoked or "
			    "unknown to the console; enrol it again");
		break;
	default:
		return refuse_peer(p, "role", "certificate role not accepted here");
	}
	qh_info("peer %s: connected", qh_mux_name(mux));
	qh_mux_set_keepalive(mux, (uint64_t)p->srv->conf.keepalive_seconds * 1000,
	    (uint64_t)p->srv->conf.keepalive_seconds * 3000);
	return 0;
}

static int
peer_on_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct peer *p = qh_mux_arg(mux);
	char *kind = NULL;

	switch (p->id.role) {
	case QH_ROLE_NONE:
		if (m->type == QH_MSG_JOIN)
			return join_handle(p, m);
		break;
	case QH_ROLE_AGENT:
		if (m->type == QH_MSG_HELLO && p->entry == NULL)
			return queue_hello(p, m);
		if (p->entry == NULL)
			break;
		if (m->type == QH_MSG_CONSENT_REPLY) {
			queue_consent_reply(p, m);
			return 0;
		}
		if (m->type == QH_MSG_SESSION &&
		    qh_msg_get_str(m, QH_K_KIND, &kind) == 0 &&
		    strcmp(kind, "end") == 0) {
			free(kind);
			queue_customer_end(p);
			return 0;
		}
		free(kind);
		break;
	default:
		if (m->type == QH_MSG_HELLO)
			return refuse_peer(p, "role",
			    "this is not an agent's certificate; "
			    "enrol the PC with qh-agent join");
		break;
	}
	qh_warn("peer %s: protocol error: unexpected %s message; closing",
	    qh_mux_name(mux), qh_msg_name(m->type));
	qh_mux_close(mux, QH_ERR_PROTOCOL, NULL);
	return 0;
}

static int
peer_on_open(struct qh_mux *mux, struct qh_chan *ch, const struct qh_msg *m)
{
	struct peer *p = qh_mux_arg(mux);
	const struct request_entry *re;
	char *cmd = NULL;

	if (m->type != QH_MSG_REQUEST || qh_msg_get_str(m, QH_K_CMD, &cmd) != 0) {
		qh_chan_refuse(ch, "unsupported", "unsupported channel");
		return 0;
	}
	for (re = requests; re->cmd != NULL; re++)
		if (strcmp(re->cmd, cmd) == 0)
			break;
	if (re->cmd == NULL) {
		qh_chan_refuse(ch, "unsupported", "unknown request");
	} else if (!(re->roles & ROLE(p->id.role))) {
		qh_warn("peer %s: refused: request %s not allowed for this role",
		    qh_mux_name(mux), cmd);
		qh_chan_refuse(ch, "forbidden",
		    p->id.role == QH_ROLE_AGENT
			? "this is an agent's certificate, not a technician's"
			: "not allowed for this certificate's role");
	} else if (p->srv->stopping) {
		qh_chan_refuse(ch, "shutdown", "the console is shutting down");
	} else {
		qh_debug("peer %s: request %s", qh_mux_name(mux), cmd);
		re->run(p, ch, m);
	}
	free(cmd);
	return 0;
}

static void
peer_on_close(struct qh_mux *mux, int err)
{
	struct peer *p = qh_mux_arg(mux);

	if (p->id.role != QH_ROLE_NONE)
		qh_info("peer %s %s: disconnected", qh_role_name(p->id.role), p->id.id);
	if (p->entry != NULL)
		queue_agent_gone(p);
	join_peer_gone(p);
	LIST_REMOVE(p, link);
	free(p);
}

static const struct qh_mux_ops peer_ops = {
	.on_ready = peer_on_ready,
	.on_control = peer_on_control,
	.on_open = peer_on_open,
	.on_close = peer_on_close,
};

static void
on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	struct peer *p;

	if (status < 0) {
		qh_warn("accept: %s", uv_strerror(status));
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->srv = srv;
	if ((p->mux = qh_mux_new(srv->loop, srv->tls, QH_TLS_SERVER, NULL, NULL,
		 &peer_ops, p)) == NULL) {
		free(p);
		return;
	}
	LIST_INSERT_HEAD(&srv->peers, p, link);
	if (uv_accept(listener, (uv_stream_t *)qh_mux_tcp(p->mux)) != 0 ||
	    qh_mux_start(p->mux) != 0)
		qh_mux_close(p->mux, QH_ERR_SYSTEM, "accept failed");
}

/* Start-up and shutdown. */

static void
on_listener_closed(uv_handle_t *h)
{
}

static void
server_stop(struct server *srv)
{
	struct peer *p, *next;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	qh_info("shutting down");
	queue_clear(srv); /* closes open sessions: reason shutdown (R4) */
	notify_stop(srv);
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->housekeeping, NULL);
	for (p = LIST_FIRST(&srv->peers); p != NULL; p = next) {
		next = LIST_NEXT(p, link);
		qh_mux_close(p->mux, 0, NULL);
	}
}

/* Once a day (and at start): recordings past the retention period go. */
static void
on_housekeeping(uv_timer_t *t)
{
	struct server *srv = t->data;

	(void)recording_expire(srv->state_dir, srv->db, srv->conf.retention_days);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	server_stop(h->data);
}

static int
load_tls(struct server *srv)
{
	char path[PATH_MAX];
	X509 *cert = NULL, *ca = NULL;
	EVP_PKEY *key = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/console.pem", srv->state_dir);
	if ((r = qh_pki_load_cert(path, &cert)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/console-key.pem", srv->state_dir);
	if ((r = qh_pki_load_key(path, &key)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/ca.pem", srv->state_dir);
	if ((r = qh_pki_load_cert(path, &ca)) != 0)
		goto out;
	r = qh_tls_ctx_server(&srv->tls, cert, key, ca);
out:
	if (r != 0)
		qh_say("%s: %s", path, qh_strerror(r));
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return r;
}

static int
listen_on(struct server *srv, const char *addr)
{
	struct sockaddr_storage ss;
	char host[256];
	int port, r, len = sizeof(ss);

	if (qh_split_hostport(addr, host, sizeof(host), &port) != 0 ||
	    (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
		uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)) {
		qh_say("bad listen address '%s' (want ADDR:PORT)", addr);
		return QH_ERR_ARG;
	}
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	if ((r = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection)) != 0) {
		qh_say("cannot listen on %s: %s", addr, uv_strerror(r));
		return qh_err_from_uv(r);
	}
	if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	qh_info("listening on %s:%d", host, port);
	return 0;
}

int
cmd_serve(struct qh_cli *c)
{
	struct server srv;
	const char *addr, *lvl;
	int r, status = QH_EXIT_FAIL;

	memset(&srv, 0, sizeof(srv));
	LIST_INIT(&srv.peers);
	srv.loop = uv_default_loop();
	srv.state_dir = console_state_dir(c);
	if (conf_load(srv.state_dir, &srv.conf) != 0)
		return QH_EXIT_FAIL;
	lvl =
	    qh_cli_opt(c, "log-level") ? qh_cli_opt(c, "log-level") : srv.conf.log_level;
	if ((r = qh_log_level_parse(lvl)) < 0)
		return qh_cli_usage(c, "log level is one of error, warn, info, debug");
	if (getenv("QH_LOG_LEVEL") == NULL)
		qh_log_init("qh-console", (enum qh_log_level)r);
	if (db_open(srv.state_dir, 0, &srv.db) != 0)
		return qh_cli_fail(c, "%s/%s: cannot open the database", srv.state_dir,
		    DB_FILE);
	if (load_tls(&srv) != 0)
		goto out;
	if (session_recover(&srv) != 0) {
		qh_say("cannot close the sessions left open; see the log");
		goto out;
	}
	notify_kick(&srv); /* deliveries a crash interrupted */
	addr = qh_cli_opt(c, "listen") ? qh_cli_opt(c, "listen") : srv.conf.listen;
	if (listen_on(&srv, addr) != 0)
		goto out;
	uv_signal_init(srv.loop, &srv.sigterm);
	uv_signal_init(srv.loop, &srv.sigint);
	srv.sigterm.data = srv.sigint.data = &srv;
	uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv.sigint, on_signal, SIGINT);
	uv_timer_init(srv.loop, &srv.housekeeping);
	srv.housekeeping.data = &srv;
	uv_timer_start(&srv.housekeeping, on_housekeeping, 0, 86400 * 1000);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	qh_info("stopped");
	status = QH_EXIT_OK;
out:
	if (!srv.stopping && uv_is_active((uv_handle_t *)&srv.listener)) {
		server_stop(&srv);
		uv_run(srv.loop, UV_RUN_DEFAULT);
	}
	qh_tls_ctx_free(srv.tls);
	db_close(srv.db);
	uv_loop_close(srv.loop);
	return status;
}
