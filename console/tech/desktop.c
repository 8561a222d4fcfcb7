/*
 * qh-console desktop CODE: the customer's screen in any VNC viewer. The
 * command listens on a loopback port, prints it, starts a viewer and takes
 * exactly one connection; only then does it ask the console for the
 * desktop (REQUEST{cmd="desktop"}), so the customer is asked for consent
 * when someone is actually looking. The agent serves RFB 3.8 on the
 * channel and the viewer's socket is bridged to it with the client's own
 * flow-controlled input and output paths (tech_use_fds): the viewer speaks
 * to the agent's RFB server byte for byte. The desktop ends when the viewer
 * leaves, on Ctrl-C, or when the session ends; with no viewer for
 * DESKTOP_IDLE_MS it ends by itself (R2), before anything is billed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define DESKTOP_IDLE_MS	     (10 * 60 * 1000) /* R2: no viewer, no desktop */
#define DESKTOP_FLAG_CONTROL 0x4	      /* REQUEST flags: --control */
#define VIEWER_ARG_MAX	     64

struct desktop {
	struct tech *t;
	uv_tcp_t listener;
	uv_tcp_t conn; /* libuv's handle of the viewer's connection, let go at once */
	uv_timer_t idle;
	uv_process_t viewer;
	int viewer_running;
	int viewer_fd; /* the accepted connection, or -1 */
	int status;    /* the exit status when no viewer came */
	int ended;     /* the agent's EXIT status (1: the desktop failed) */
	char addr[64]; /* "127.0.0.1:PORT" */
};

/*
 * The one connection: libuv has accepted it already; a copy of its
 * descriptor is kept as a plain one and libuv's handle let go. Then nobody
 * else gets in.
 */
static void
on_viewer(uv_stream_t *server, int status)
{
	struct desktop *d = server->data;
	uv_os_fd_t fd;
	int r;

	if (status < 0 || d->viewer_fd != -1)
		return;
	uv_tcp_init(tech_loop(d->t), &d->conn);
	if ((r = uv_accept(server, (uv_stream_t *)&d->conn)) != 0 ||
	    (r = uv_fileno((uv_handle_t *)&d->conn, &fd)) != 0) {
		qh_warn("accept: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&d->conn, NULL);
		return;
	}
	if ((d->viewer_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		qh_warn("accept: %s", strerror(errno));
	uv_close((uv_handle_t *)&d->conn, NULL);
	if (d->viewer_fd != -1)
		uv_stop(tech_loop(d->t));
}

static void
on_idle(uv_timer_t *h)
{
	struct desktop *d = h->data;

	tech_say(d->t, "no viewer connected to %s for %d minutes; the desktop ends",
	    d->addr, DESKTOP_IDLE_MS / 60000);
	d->status = QH_EXIT_FAIL;
	uv_stop(tech_loop(d->t));
}

static void
on_viewer_exit(uv_process_t *p, int64_t status QH_UNUSED, int sig QH_UNUSED)
{
	struct desktop *d = p->data;

	d->viewer_running = 0;
	uv_close((uv_handle_t *)p, NULL);
	if (d->viewer_fd == -1) {
		tech_say(d->t, "the viewer ended before it connected");
		d->status = QH_EXIT_FAIL;
		uv_stop(tech_loop(d->t));
	}
}

/* The first of the usual viewers on PATH, or NULL. */
static const char *
find_viewer(char *out, size_t len)
{
	static const char *const viewers[] = { "xtigervncviewer", "vncviewer", "remmina",
		NULL };
	const char *path = getenv("PATH"), *p, *end;
	int i;

	for (i = 0; viewers[i] != NULL; i++)
		for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
			end = strchr(p, ':');
			if (end == NULL)
				end = p + strlen(p);
			snprintf(out, len, "%.*s/%s", (int)(end - p), p, viewers[i]);
			if (access(out, X_OK) == 0)
				return viewers[i];
		}
	return NULL;
}

/*
 * Starts the viewer: --viewer CMD runs through /bin/sh with the address
 * ("127.0.0.1::PORT", VNC's form for a port) appended; else the first usual
 * viewer found. Returns 0, or <0 when none could be started.
 */
static int
start_viewer(struct desktop *d, const char *cmd, int port)
{
	char path[PATH_MAX], target[VIEWER_ARG_MAX], line[1024];
	char *argv[4] = { NULL };
	uv_process_options_t o;
	const char *name = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	if (cmd != NULL) {
		snprintf(line, sizeof(line), "%s 127.0.0.1::%d", cmd, port);
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = line;
	} else if ((name = find_viewer(path, sizeof(path))) != NULL) {
		if (strcmp(name, "remmina") == 0)
			snprintf(target, sizeof(target), "vnc://127.0.0.1:%d", port);
		else
			snprintf(target, sizeof(target), "127.0.0.1::%d", port);
		argv[0] = path;
		argv[1] = strcmp(name, "remmina") == 0 ? "-c" : target;
		argv[2] = strcmp(name, "remmina") == 0 ? target : NULL;
	} else
		return QH_ERR_NOT_FOUND;
	o.file = argv[0];
	o.args = argv;
	o.exit_cb = on_viewer_exit;
	o.stdio_count = 0;
	d->viewer.data = d;
	if ((r = uv_spawn(tech_loop(d->t), &d->viewer, &o)) != 0) {
		uv_close((uv_handle_t *)&d->viewer, NULL);
		return qh_err_from_uv(r);
	}
	d->viewer_running = 1;
	return 0;
}

/* Binds the loopback port; refuses any other address. Fills d->addr. */
static int
listen_local(struct qh_cli *c, struct desktop *d, const char *spec)
{
	struct sockaddr_in sa;
	char host[256] = "127.0.0.1";
	long long n = 0;
	int port = 0, len = sizeof(sa), r;

	if (spec != NULL && strchr(spec, ':') == NULL) {
		if (qh_parse_int(spec, 0, 65535, &n) != 0)
			return qh_cli_usage(c, "--listen takes [127.0.0.1:]PORT");
		port = (int)n;
	} else if (spec != NULL &&
	    qh_split_hostport(spec, host, sizeof(host), &port) != 0)
		return qh_cli_usage(c, "--listen takes [127.0.0.1:]PORT");
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0)
		return qh_cli_usage(c,
		    "the desktop listens on 127.0.0.1 only: the viewer runs on this "
		    "machine");
	uv_ip4_addr("127.0.0.1", port, &sa);
	uv_tcp_init(tech_loop(d->t), &d->listener);
	d->listener.data = d;
	if ((r = uv_tcp_bind(&d->listener, (struct sockaddr *)&sa, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&d->listener, 1, on_viewer)) != 0 ||
	    (r = uv_tcp_getsockname(&d->listener, (struct sockaddr *)&sa, &len)) != 0)
		return qh_cli_fail(c, "cannot listen on 127.0.0.1:%d: %s", port,
		    uv_strerror(r));
	snprintf(d->addr, sizeof(d->addr), "127.0.0.1:%d", ntohs(sa.sin_port));
	return 0;
}

/*
 * Waits on the technician's loop for the one viewer: the listener, the idle
 * timer and the viewer process run until a connection comes or the wait
 * ends. Returns 0 with d->viewer_fd set, or the exit status.
 */
static int
wait_for_viewer(struct qh_cli *c, struct desktop *d, const char *code)
{
	char pretty[TECH_CODE_LEN + 2];
	int port = atoi(strchr(d->addr, ':') + 1), r;

	tech_code_pretty(code, pretty);
	printf("desktop of %s on %s (%s)\n", pretty, d->addr,
	    qh_cli_flag(c, "control") ? "control" : "view only");
	fflush(stdout);
	if (!qh_cli_flag(c, "no-viewer") &&
	    (r = start_viewer(d, qh_cli_opt(c, "viewer"), port)) != 0)
		tech_say(NULL,
		    r == QH_ERR_NOT_FOUND
			? "no VNC viewer found (xtigervncviewer, vncviewer, remmina); "
			  "connect one to %s"
			: "the viewer could not be started; connect one to %s",
		    d->addr);
	uv_timer_init(tech_loop(d->t), &d->idle);
	d->idle.data = d;
	uv_timer_start(&d->idle, on_idle, DESKTOP_IDLE_MS, 0);
	uv_run(tech_loop(d->t), UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&d->listener, NULL);
	uv_close((uv_handle_t *)&d->idle, NULL);
	return d->viewer_fd != -1 ? 0 : d->status;
}

static void
desktop_on_stop(struct tech *t)
{
	struct desktop *d = tech_arg(t);

	/* The viewer lives on by itself; its socket closes with the command. */
	if (d->viewer_running && !uv_is_closing((uv_handle_t *)&d->viewer))
		uv_close((uv_handle_t *)&d->viewer, NULL);
	d->viewer_running = 0;
}

/* The agent's EXIT: a desktop that failed says why (the display went away, say). */
static void
desktop_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct desktop *d = tech_arg(t);
	char *text = NULL;
	int status = 0;

	if (m->type != QH_MSG_EXIT || tech_exit_status(m, &status) != 0 || status == 0)
		return;
	d->ended = QH_EXIT_FAIL;
	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		tech_say(t, "the desktop ended: %s", text);
	free(text);
}

static int
desktop_on_end(struct tech *t)
{
	struct desktop *d = tech_arg(t);

	return d->ended;
}

static const struct tech_ops desktop_ops = {
	.on_msg = desktop_on_msg,
	.on_end = desktop_on_end,
	.on_stop = desktop_on_stop,
};

/* REQUEST{cmd="desktop", code, flags: overdraft, control, screen << 8}. */
static int
desktop_request(struct qh_cli *c, const char *code, struct qh_buf *req)
{
	long long screen = 0;
	uint32_t flags = 0;

	if (qh_cli_opt(c, "screen") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "screen"), 0, 255, &screen) != 0)
		return qh_cli_usage(c,
		    "--screen takes a monitor number from 0 (primary)");
	if (qh_cli_flag(c, "allow-overdraft"))
		flags |= TECH_FLAG_OVERDRAFT;
	if (qh_cli_flag(c, "control"))
		flags |= DESKTOP_FLAG_CONTROL;
	flags |= (uint32_t)screen << 8;
	(void)qh_msg_begin(req, QH_MSG_REQUEST);
	(void)qh_msg_put_str(req, QH_K_CMD, "desktop");
	(void)qh_msg_put_str(req, QH_K_CODE, code);
	(void)qh_msg_put_u32(req, QH_K_FLAGS, flags);
	return qh_buf_error(req) != 0 ? qh_cli_fail(c, "cannot build the request") : 0;
}

static int
cmd_desktop(struct qh_cli *c)
{
	struct desktop d;
	char code[TECH_CODE_LEN + 1];
	struct qh_buf req;
	int status, out;

	memset(&d, 0, sizeof(d));
	d.viewer_fd = -1;
	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	if (qh_cli_flag(c, "no-viewer") && qh_cli_opt(c, "viewer") != NULL)
		return qh_cli_usage(c, "--viewer and --no-viewer exclude each other");
	qh_buf_init(&req, 1024);
	if ((status = desktop_request(c, code, &req)) != 0 ||
	    (status = tech_new(c, &desktop_ops, &d, &d.t)) != 0 ||
	    (status = listen_local(c, &d, qh_cli_opt(c, "listen"))) != 0 ||
	    (status = wait_for_viewer(c, &d, code)) != 0)
		goto out;
	if ((out = dup(d.viewer_fd)) == -1) {
		status = qh_cli_fail(c, "cannot use the viewer's connection: %s",
		    strerror(errno));
		close(d.viewer_fd);
		goto out;
	}
	tech_use_fds(d.t, d.viewer_fd, out);
	if (tech_stdin_open(d.t) != 0) {
		status = qh_cli_fail(c, "cannot read the viewer's connection");
		goto out;
	}
	status = tech_run(d.t, &req);
out:
	tech_free(d.t);
	qh_buf_release(&req);
	return status;
}

const struct qh_cli_cmd cmd_desktop_entry = {
	.name = "desktop",
	.usage = "CODE [--control] [--listen [127.0.0.1:]PORT] [--viewer CMD | "
		 "--no-viewer] [--screen N] [--allow-overdraft] [--tech FILE]",
	.summary = "see (with --control: use) the customer's screen in a VNC viewer",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("tech"), QH_FLAG("control"), QH_OPT("listen"), QH_OPT("viewer"),
	    QH_FLAG("no-viewer"), QH_OPT("screen"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_desktop,
};
