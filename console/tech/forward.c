/*
 * qh-console forward CODE [BIND:]LPORT:HOST:PORT: a local port on the
 * technician's machine that reaches HOST:PORT as seen from the customer's
 * PC, as `ssh -L` does. The forward itself is one REQUEST{cmd="forward"}
 * channel held open for the command's whole life: it is what the agent
 * checks against the targets the customer allows, what the customer sees,
 * and what the console meters as attached time (R2). Every accepted local
 * connection opens its own REQUEST{cmd="dial"} channel on the same
 * connection, relayed by a tunnel (qh/tunnel.h) with flow control and
 * half-close end to end. With no connection open for FORWARD_IDLE_MS the
 * forward ends itself, so a forgotten one does not bill all night.
 */
#include <sys/queue.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/tunnel.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define FORWARD_IDLE_MS	 (10 * 60 * 1000) /* R2: the idle end */
#define FORWARD_CONN_MAX 256		  /* connections at once */
#define FORWARD_BACKLOG	 128
#define ADDR_MAX	 300

struct conn;

struct forward {
	struct tech *t;
	char code[TECH_CODE_LEN + 1];
	char pretty[TECH_CODE_LEN + 2];
	char target[ADDR_MAX];	      /* HOST:PORT as the agent dials it */
	char listen_text[ADDR_MAX];   /* BIND:LPORT for messages */
	struct sockaddr_storage addr; /* where we listen */
	struct qh_buf dial;	      /* the REQUEST of every connection */

	uv_tcp_t server;
	uv_timer_t idle;
	int handles_open; /* server and idle, until on_stop */
	int open;	  /* the agent accepted the forward */
	int stopping;	  /* on_stop ran */
	int pending;	  /* a connection waits for the forward to open */

	LIST_HEAD(, conn) conns;
	int nconns;
	uint64_t total; /* connections accepted */
};

/* One local connection and its tunnel. */
struct conn {
	LIST_ENTRY(conn) link;
	struct forward *f;
	struct qh_tunnel *tn;
};

static void
on_idle(uv_timer_t *h)
{
	struct forward *f = h->data;

	if (f->stopping || f->nconns > 0)
		return;
	tech_say(f->t, "no connection for %d minutes; forward ended",
	    FORWARD_IDLE_MS / 60000);
	tech_finish(f->t, QH_EXIT_OK);
}

/* A connection's tunnel is over: forget it; none left starts the idle clock. */
static void
conn_end(struct qh_tunnel *tn, int err, const char *text)
{
	struct conn *cn = qh_tunnel_arg(tn);
	struct forward *f = cn->f;

	if (err != 0 && err != QH_ERR_CLOSED && !f->stopping)
		tech_say(f->t, "connection to %s: %s", f->target,
		    text != NULL ? text : qh_strerror(err));
	LIST_REMOVE(cn, link);
	free(cn);
	f->nconns--;
	if (f->nconns == 0 && f->handles_open && !f->stopping)
		uv_timer_start(&f->idle, on_idle, FORWARD_IDLE_MS, 0);
}

static const struct qh_tunnel_ops conn_ops = {
	.on_end = conn_end,
};

/* Takes the waiting connection and opens its dial channel. */
static void
accept_one(struct forward *f)
{
	struct qh_chan *fch = tech_chan(f->t);
	struct conn *cn;
	int r;

	if ((cn = calloc(1, sizeof(*cn))) == NULL ||
	    (cn->tn = qh_tunnel_new(tech_loop(f->t), QH_MUX_BULK_WINDOW, &conn_ops,
		 cn)) == NULL) {
		free(cn);
		tech_say(f->t, "out of memory; a connection was dropped");
		return;
	}
	cn->f = f;
	LIST_INSERT_HEAD(&f->conns, cn, link);
	f->nconns++;
	f->total++;
	uv_timer_stop(&f->idle);
	if ((r = uv_accept((uv_stream_t *)&f->server, qh_tunnel_stream(cn->tn))) != 0) {
		qh_debug("accept: %s", uv_strerror(r));
		qh_tunnel_close(cn->tn);
		return;
	}
	if (f->nconns > FORWARD_CONN_MAX) {
		tech_say(f->t, "%d connections are open; one more was refused",
		    FORWARD_CONN_MAX);
		qh_tunnel_close(cn->tn);
		return;
	}
	if (fch == NULL) {
		qh_tunnel_close(cn->tn);
		return;
	}
	/* A failure ends the tunnel, and conn_end tells why. */
	(void)qh_tunnel_open(cn->tn, qh_chan_mux(fch), &f->dial);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct forward *f = server->data;

	if (f->stopping)
		return;
	if (status < 0) {
		tech_say(f->t, "accept on %s: %s", f->listen_text, uv_strerror(status));
		return;
	}
	if (!f->open) {
		/* libuv holds the connection until uv_accept; taken once open. */
		f->pending = 1;
		return;
	}
	accept_one(f);
}

/* The agent accepted the forward: connections may go through now. */
static void
forward_on_open(struct tech *t)
{
	struct forward *f = tech_arg(t);
	char line[ADDR_MAX * 2 + 64];

	f->open = 1;
	snprintf(line, sizeof(line), "forwarding %s to %s on %s (Ctrl-C to stop)\n",
	    f->listen_text, f->target, f->pretty);
	tech_stderr(t, line);
	uv_timer_start(&f->idle, on_idle, FORWARD_IDLE_MS, 0);
	if (f->pending) {
		f->pending = 0;
		accept_one(f);
	}
}

/* The console closed the forward without saying why. */
static int
forward_on_end(struct tech *t)
{
	tech_say(t, "the console ended the forward");
	return QH_EXIT_FAIL;
}

/* Whatever ends the command: the listener goes, every connection is cut. */
static void
forward_on_stop(struct tech *t)
{
	struct forward *f = tech_arg(t);
	struct conn *cn;

	f->stopping = 1;
	if (f->handles_open) {
		f->handles_open = 0;
		uv_close((uv_handle_t *)&f->server, NULL);
		uv_close((uv_handle_t *)&f->idle, NULL);
	}
	/* Each ends in conn_end, from a close callback, so the list stays intact here. */
	LIST_FOREACH (cn, &f->conns, link)
		qh_tunnel_close(cn->tn);
}

static const struct tech_ops forward_ops = {
	.on_open = forward_on_open,
	.on_end = forward_on_end,
	.on_stop = forward_on_stop,
};

/*
 * Splits [BIND:]LPORT:HOST:PORT at the colons outside brackets. Fills
 * bind ("" when absent), *lport and target ("HOST:PORT", brackets kept).
 */
static int
parse_spec(const char *spec, char *bind, size_t bindlen, int *lport, char *target,
    size_t targetlen)
{
	const char *part[4], *s;
	size_t len[4];
	char num[8];
	long long v;
	int n = 0, depth = 0;

	part[0] = spec;
	for (s = spec; *s != '\0'; s++) {
		if (*s == '[')
			depth++;
		else if (*s == ']')
			depth--;
		else if (*s == ':' && depth == 0) {
			if (n == 3)
				return QH_ERR_FORMAT;
			len[n] = (size_t)(s - part[n]);
			part[++n] = s + 1;
		}
	}
	len[n] = (size_t)(s - part[n]);
	if (n != 2 && n != 3)
		return QH_ERR_FORMAT;
	bind[0] = '\0';
	if (n == 3) {
		/* Brackets around an IPv6 bind address are dropped. */
		if (len[0] >= 2 && part[0][0] == '[' && part[0][len[0] - 1] == ']') {
			part[0]++;
			len[0] -= 2;
		}
		if (len[0] == 0 || len[0] >= bindlen)
			return QH_ERR_FORMAT;
		memcpy(bind, part[0], len[0]);
		bind[len[0]] = '\0';
	}
	if (len[n - 2] == 0 || len[n - 2] >= sizeof(num))
		return QH_ERR_FORMAT;
	memcpy(num, part[n - 2], len[n - 2]);
	num[len[n - 2]] = '\0';
	if (qh_parse_int(num, 1, 65535, &v) != 0)
		return QH_ERR_FORMAT;
	*lport = (int)v;
	if ((size_t)snprintf(target, targetlen, "%s", part[n - 1]) >= targetlen)
		return QH_ERR_FORMAT;
	return 0;
}

/* The listening address: a literal, "localhost" or "*"; 127.0.0.1 by default. */
static int
bind_address(struct forward *f, const char *bind, int lport)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&f->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->addr;

	if (bind[0] == '\0' || strcmp(bind, "localhost") == 0)
		bind = "127.0.0.1";
	else if (strcmp(bind, "*") == 0)
		bind = "0.0.0.0";
	if (uv_ip4_addr(bind, lport, sin) == 0)
		snprintf(f->listen_text, sizeof(f->listen_text), "%s:%d", bind, lport);
	else if (uv_ip6_addr(bind, lport, sin6) == 0)
		snprintf(f->listen_text, sizeof(f->listen_text), "[%s]:%d", bind, lport);
	else
		return QH_ERR_FORMAT;
	return 0;
}

static int
cmd_forward(struct qh_cli *c)
{
	struct forward *f;
	struct qh_buf req;
	char bind[256], host[ADDR_MAX];
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	int lport, port, r, status;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return qh_cli_fail(c, "out of memory");
	LIST_INIT(&f->conns);
	qh_buf_init(&f->dial, 1024);
	qh_buf_init(&req, 1024);
	if (tech_parse_code(c->argv[0], f->code) != 0) {
		status = qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
		goto out;
	}
	tech_code_pretty(f->code, f->pretty);
	if (parse_spec(c->argv[1], bind, sizeof(bind), &lport, f->target,
		sizeof(f->target)) != 0 ||
	    qh_split_hostport(f->target, host, sizeof(host), &port) != 0) {
		status = qh_cli_usage(c,
		    "the forward is [BIND:]LPORT:HOST:PORT, "
		    "e.g. 5432:127.0.0.1:5432");
		goto out;
	}
	if (bind_address(f, bind, lport) != 0) {
		status = qh_cli_usage(c, "BIND must be an IP address, localhost or *");
		goto out;
	}
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "forward") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, f->code) != 0 ||
	    qh_msg_put_str(&req, QH_K_TARGET, f->target) != 0 ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0 ||
	    qh_msg_begin(&f->dial, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&f->dial, QH_K_CMD, "dial") != 0 ||
	    qh_msg_put_str(&f->dial, QH_K_CODE, f->code) != 0 ||
	    qh_msg_put_str(&f->dial, QH_K_TARGET, f->target) != 0 ||
	    qh_msg_put_u32(&f->dial, QH_K_FLAGS, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	if ((status = tech_new(c, &forward_ops, f, &f->t)) != 0)
		goto out;
	/* The port first: a port in use opens no session. */
	uv_tcp_init(tech_loop(f->t), &f->server);
	uv_timer_init(tech_loop(f->t), &f->idle);
	f->server.data = f->idle.data = f;
	f->handles_open = 1;
	if ((r = uv_tcp_bind(&f->server, (const struct sockaddr *)&f->addr, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&f->server, FORWARD_BACKLOG, on_connection)) !=
		0) {
		status = qh_cli_fail(c, "cannot listen on %s: %s", f->listen_text,
		    uv_strerror(r));
		goto out;
	}
	status = tech_run(f->t, &req);
	/* Ctrl-C (or a TERM or HUP) is how a forward is meant to end. */
	if (f->open &&
	    (status == 128 + SIGINT || status == 128 + SIGTERM || status == 128 + SIGHUP))
		status = QH_EXIT_OK;
	qh_debug("forward ended after %llu connections", (unsigned long long)f->total);
out:
	tech_free(f->t);
	qh_buf_release(&req);
	qh_buf_release(&f->dial);
	free(f);
	return status;
}

const struct qh_cli_cmd cmd_forward_entry = {
	.name = "forward",
	.usage = "CODE [BIND:]LPORT:HOST:PORT [--allow-overdraft] [--tech FILE]",
	.summary = "forward a local port to HOST:PORT as the customer's PC sees it",
	.min_args = 2,
	.max_args = 2,
	.opts = { QH_OPT("tech"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_forward,
};
