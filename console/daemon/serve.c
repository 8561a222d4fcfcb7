/*
 * qh-console serve: the daemon's start-up and shutdown. It takes the state
 * directory's lock (one serve per state directory), opens and migrates the
 * store, binds the listener, and only then closes what a crash left open
 * (R13), so a second serve changes nothing; then it runs the loop until
 * SIGTERM or SIGINT, watching the database for changes other processes
 * make (revocations), and closes and debits every open session (R4) before
 * it exits. SIGHUP loads the console's certificate and key again (after
 * `qh-console cert renew`): new connections get them, connected peers stay.
 * Connections are peer.c's.
 */
#include <sys/file.h>
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/addr.h"
#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"

#include "deliver.h"
#include "peer.h"
#include "presence.h"
#include "queue.h"
#include "record.h"
#include "daemon.h"
#include "limit.h"
#include "server.h"
#include "session.h"

#define BACKLOG	  511	/* connections the kernel holds for accept */
#define WATCH_MS  1000	/* how often the database is asked whether it changed */
#define FD_WANTED 65536 /* descriptors a console should be allowed (the unit's) */

static void
on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	static uint64_t last_ms;

	if (status < 0) {
		/* Out of descriptors, say: libuv dropped it. Logged once a second. */
		if (last_ms == 0 || uv_now(srv->loop) - last_ms >= 1000) {
			if (status == UV_EMFILE || status == UV_ENFILE)
				qh_warn("accept failed: %s: the open files limit (%d) "
					"caps the agents at %d connections",
				    uv_strerror(status), srv->fd_limit, srv->npeers);
			else
				qh_warn("accept failed: %s", uv_strerror(status));
			last_ms = uv_now(srv->loop);
		}
		return;
	}
	peer_accept(srv, listener);
}

/* Each second: another process committed (a revocation, say)? Check the peers. */
static void
on_watch(uv_timer_t *t)
{
	struct server *srv = t->data;
	int64_t v;

	if (db_data_version(srv->db, &v) != 0 || v == srv->data_version)
		return;
	srv->data_version = v;
	qh_debug("the database changed; checking the connected peers");
	peer_recheck(srv);
	deliver_kick(srv); /* an admin command's messages (a purchase, a ticket) */
}

/*
 * Takes STATE/serve.lock with flock and writes our pid into it; the lock
 * lives as long as the process. Says which process holds it when another
 * does.
 */
static int
lock_state(struct server *srv)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	long pid = 0;
	int fd, tries;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", srv->state_dir,
		STORE_LOCK_FILE) >= sizeof(path)) {
		qh_say("%s: state directory path too long", srv->state_dir);
		return QH_ERR_TOO_LARGE;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		qh_say("%s: %s", path, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			qh_say("%s: %s", path, strerror(errno));
			close(fd);
			return QH_ERR_SYSTEM;
		}
		/* The holder may be writing its pid right now: a moment's patience. */
		for (tries = 0; tries < 10 && pid <= 0; tries++) {
			if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
				buf[n] = '\0';
				pid = strtol(buf, NULL, 10);
			}
			if (pid <= 0)
				usleep(20000);
		}
		close(fd);
		if (pid > 0)
			qh_say("another qh-console serve (pid %ld) holds %s", pid,
			    srv->state_dir);
		else
			qh_say("another qh-console serve holds %s", srv->state_dir);
		return QH_ERR_BUSY;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		qh_warn("%s: cannot record our pid: %s", path, strerror(errno));
	srv->lock_fd = fd;
	return 0;
}

/*
 * Descriptors: the soft limit is raised to the hard one (each agent holds
 * one), and counted with those open before the first peer. A limit that
 * caps the agents well below what a console can hold is said in the log,
 * with how many agents it leaves room for.
 */
static void
raise_fds(struct server *srv)
{
	struct rlimit rl;
	struct dirent *de;
	rlim_t was;
	DIR *d;
	int n = 0;

	srv->fd_limit = INT_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		was = rl.rlim_cur;
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				rl.rlim_cur = was;
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
			srv->fd_limit = (int)rl.rlim_cur;
		if (rl.rlim_cur != was)
			qh_info("open files: limit raised from %llu to %llu",
			    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
	}
	srv->fd_base = 32; /* a guess where /proc is missing */
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			n += de->d_name[0] != '.';
		closedir(d);
		srv->fd_base = n;
	}
	if (srv->fd_limit < FD_WANTED)
		qh_warn("open files are limited to %d (ulimit -n; LimitNOFILE= in the "
			"unit): this console can hold at most about %d agents and "
			"technicians at once",
		    srv->fd_limit, srv->fd_limit - srv->fd_base);
	qh_debug("descriptors: %d open, limit %d", srv->fd_base, srv->fd_limit);
}

/* Start-up and shutdown. */

static void
on_listener_closed(uv_handle_t *h QH_UNUSED)
{
}

static void
server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = 1;
	qh_info("shutting down");
	queue_clear(srv); /* closes open sessions: reason shutdown (R4) */
	session_closing_flush(srv);
	deliver_stop();
	presence_stop(srv); /* the last_seen records still pending */
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->sighup, NULL);
	signal(SIGHUP, SIG_IGN); /* libuv put back the default: a late one kills */
	uv_close((uv_handle_t *)&srv->housekeeping, NULL);
	uv_close((uv_handle_t *)&srv->watch, NULL);
	peer_close_all(srv);
}

/* Once a day (and at start): recordings past the retention period go. */
static void
on_housekeeping(uv_timer_t *t)
{
	struct server *srv = t->data;

	(void)recording_expire(srv->state_dir, srv->db, srv->conf.retention_days);
}

static void
on_signal(uv_signal_t *h, int signum QH_UNUSED)
{
	server_stop(h->data);
}

/*
 * Loads the console's certificate and key and the CA from the state
 * directory into a new server context (*ctxp NULL), or into the one there.
 */
static int
load_tls(struct server *srv, struct qh_tls_ctx **ctxp)
{
	struct qh_identity id;
	char path[PATH_MAX], expires[32];
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
	snprintf(path, sizeof(path), "%s/console.pem", srv->state_dir);
	if (*ctxp == NULL)
		r = qh_tls_ctx_server(ctxp, cert, key, ca);
	else
		r = qh_tls_ctx_server_cert(*ctxp, cert, key, ca);
	if (r != 0)
		goto out;
	if (qh_pki_identity(cert, &id) == 0) {
		qh_clock_format_utc(id.not_after, expires, sizeof(expires));
		qh_info("console certificate %s for %s, expires %s", id.serial, id.id,
		    expires);
	}
out:
	if (r != 0)
		qh_say("%s: %s", path, qh_strerror(r));
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return r;
}

/* SIGHUP: the certificate again (cert renew); on failure the old one stays. */
static void
on_sighup(uv_signal_t *h, int signum QH_UNUSED)
{
	struct server *srv = h->data;

	if (load_tls(srv, &srv->tls) == 0)
		qh_info("reloaded the console's certificate; connected peers stay");
	else
		qh_error("could not reload the console's certificate; the old one "
			 "stays in use");
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
	    (r = uv_listen((uv_stream_t *)&srv->listener, BACKLOG, on_connection)) != 0) {
		qh_say("cannot listen on %s: %s", addr, uv_strerror(r));
		return qh_err_from_uv(r);
	}
	if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	qh_info("listening on %s:%d", host, port);
	return 0;
}

static int
cmd_serve(struct qh_cli *c)
{
	struct server srv;
	const char *addr, *lvl;
	const uint8_t *key;
	int r, status = QH_EXIT_FAIL;

	memset(&srv, 0, sizeof(srv));
	LIST_INIT(&srv.peers);
	LIST_INIT(&srv.queue);
	LIST_INIT(&srv.closing);
	TAILQ_INIT(&srv.preauth);
	srv.lock_fd = -1;
	srv.loop = uv_default_loop();
	srv.state_dir = console_state_dir(c);
	if (conf_load(srv.state_dir, &srv.conf) != 0)
		return QH_EXIT_FAIL;
	/* Before any thread (name lookups, queued work): the calendar only reads TZ. */
	if (calendar_set_zone(srv.conf.timezone) != 0)
		return qh_cli_fail(c, "cannot use the time zone %s", srv.conf.timezone);
	lvl =
	    qh_cli_opt(c, "log-level") ? qh_cli_opt(c, "log-level") : srv.conf.log_level;
	if ((r = qh_log_level_parse(lvl)) < 0)
		return qh_cli_usage(c, "log level is one of error, warn, info, debug");
	if (getenv("QH_LOG_LEVEL") == NULL)
		qh_log_init("qh-console", (enum qh_log_level)r);
	/* cert renew signals whoever holds the lock, even before its handler runs. */
	signal(SIGHUP, SIG_IGN);
	/* Nothing is touched before the lock: another serve may own this state. */
	if (lock_state(&srv) != 0)
		return QH_EXIT_FAIL;
	(void)store_check_private(srv.state_dir);
	if (db_open(srv.state_dir, 0, &srv.db) != 0) {
		qh_say("%s/%s: cannot open the database", srv.state_dir, DB_FILE);
		goto out;
	}
	db_set_currency(srv.db, srv.conf.currency);
	if (db_migrate(srv.db) != 0) {
		qh_say("%s/%s: cannot migrate the database; see the log", srv.state_dir,
		    DB_FILE);
		goto out;
	}
	if ((r = db_ledger_key(srv.db, &key)) != 0) {
		qh_say("%s/%s: %s; the ledger cannot be written without it (restore it "
		       "from the backup that holds it)",
		    srv.state_dir, LEDGER_KEY_FILE, ledger_key_problem(r));
		goto out;
	}
	if ((srv.preauth_by_addr = limit_counts_new((size_t)srv.conf.preauth_max)) ==
	    NULL) {
		qh_say("out of memory");
		goto out;
	}
	if (load_tls(&srv, &srv.tls) != 0)
		goto out;
	/* An agent whose certificate expired may still renew it (peer.c). */
	qh_tls_ctx_allow_expired(srv.tls);
	/* Bound before recovery: a console that cannot listen changes nothing. */
	addr = qh_cli_opt(c, "listen") ? qh_cli_opt(c, "listen") : srv.conf.listen;
	if (listen_on(&srv, addr) != 0)
		goto out;
	if (session_recover(&srv) != 0) {
		qh_say("cannot close the sessions left open; see the log");
		goto out;
	}
	/* From here on a write waits briefly for another process, then retries. */
	(void)db_set_busy_ms(srv.db, DB_LOOP_BUSY_MS);
	(void)deliver_start(&srv); /* messages a stop or a crash left queued */
	raise_fds(&srv);
	(void)db_data_version(srv.db, &srv.data_version);
	uv_signal_init(srv.loop, &srv.sigterm);
	uv_signal_init(srv.loop, &srv.sigint);
	srv.sigterm.data = srv.sigint.data = &srv;
	uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv.sigint, on_signal, SIGINT);
	uv_signal_init(srv.loop, &srv.sighup);
	srv.sighup.data = &srv;
	uv_signal_start(&srv.sighup, on_sighup, SIGHUP);
	uv_timer_init(srv.loop, &srv.housekeeping);
	srv.housekeeping.data = &srv;
	uv_timer_start(&srv.housekeeping, on_housekeeping, 0, 86400 * 1000);
	uv_timer_init(srv.loop, &srv.watch);
	srv.watch.data = &srv;
	uv_timer_start(&srv.watch, on_watch, WATCH_MS, WATCH_MS);
	if (presence_init(&srv) != 0) {
		qh_say("out of memory");
		server_stop(&srv);
	}
	uv_run(srv.loop, UV_RUN_DEFAULT);
	deliver_end();
	qh_info("stopped");
	status = QH_EXIT_OK;
out:
	if (!srv.stopping && srv.listener.loop != NULL) {
		/* Failed before the loop ran: the listener is the one handle. */
		uv_close((uv_handle_t *)&srv.listener, NULL);
		uv_run(srv.loop, UV_RUN_DEFAULT);
	}
	qh_tls_ctx_free(srv.tls);
	db_close(srv.db);
	limit_counts_free(srv.preauth_by_addr);
	uv_loop_close(srv.loop);
	if (srv.lock_fd != -1)
		close(srv.lock_fd); /* the lock goes last */
	return status;
}

const struct qh_cli_cmd cmd_serve_entry = {
	.name = "serve",
	.usage = "--state DIR [--listen ADDR:PORT] [--log-level LEVEL]",
	.summary = "run the console daemon: accept agents and technicians",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("listen"), QH_OPT("log-level") },
	.exec = cmd_serve,
};
