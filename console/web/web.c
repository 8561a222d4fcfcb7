/*
 * qh-console web: HTTP and WebSockets through libwebsockets on our own
 * libuv loop (LWS_SERVER_OPTION_LIBUV with foreign_loops; Debian's
 * libwebsockets-evlib-uv plugin), and one lasting connection to the
 * console with the bundle (tech_link). lws parses HTTP and the WebSocket
 * framing; the only bytes read here are the pages' WebSocket messages
 * (wsmsg.c) and the tickets pages' requests (deskreq.c), both fuzzed.
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
 * note on request ("end" channel); /ws/desktop/CODE relays a "desktop"
 * channel's RFB to noVNC (desktop.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "web.h"
#include "webint.h"

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct web *w = lws_context_user(lws_get_context(wsi));
	struct pss *s = user;

	if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
		return web_confirm_upgrade(wsi, w); /* no user data yet */
	/* Everything else of ours has user data; lws's own events may not. */
	if (s == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	s->wsi = wsi;
	s->w = w;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return web_http(s, in != NULL ? in : "/");
	case LWS_CALLBACK_HTTP_BODY:
		return web_desk_body(s, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return web_desk_body_done(s);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return web_http_writable(s);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL: /* a transaction's end: s goes */
		web_http_closed(s);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		web_sock_open(s, w);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		web_sock_receive(s, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return web_sock_writable(s);
	case LWS_CALLBACK_CLOSED:
		web_sock_closed(s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{ "qh-web", callback, sizeof(struct pss), CHUNK, 0, NULL, 0 },
	/* noVNC asks for it when told to (wsProtocols): the same, named so. */
	{ "binary", callback, sizeof(struct pss), CHUNK, 0, NULL, 0 },
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
close_walk(uv_handle_t *h, void *arg QH_UNUSED)
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
	if (web_random_hex(w->token, SECRET_BYTES) != 0 ||
	    web_random_hex(w->cookie, SECRET_BYTES) != 0) {
		status = qh_cli_fail(c, "cannot make a random token");
		goto out;
	}
	if ((r = uv_loop_init(&w->loop)) != 0) {
		status =
		    qh_cli_fail(c, "cannot start the event loop: %s", uv_strerror(r));
		goto out;
	}
	if (tech_link_new(c, &w->loop, &web_link_ops, w, &w->link) != 0)
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
