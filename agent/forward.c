/*
 * ACTION{cmd="forward"} and ACTION{cmd="dial"}: a technician's port
 * forward. The customer decides where forwards may go: this PC's own
 * addresses (127.0.0.1, ::1, localhost, any port) and whatever `qh-agent
 * run --allow-forward HOST:PORT,...` names. A forward channel carries no
 * data: it shows the customer that a forward runs, and to where, for as
 * long as it is open. Each connection through the forward is a dial
 * channel, relayed to a TCP connection by a tunnel (qh/tunnel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/tunnel.h"
#include "agent.h"

#define ALLOW_MAX 64  /* --allow-forward targets */
#define DIAL_MAX  512 /* connections alive at once */
#define HOST_MAX  256

/* One --allow-forward target. */
struct allowed {
	char host[HOST_MAX];
	int port;
};

/* Set once at start-up by forward_allow_init, read-only afterwards. */
static struct allowed allow_list[ALLOW_MAX];
static int allow_count;
static int dial_count;

/* A forward the customer sees as running. */
struct forward {
	struct qh_chan *ch;
	char login[QH_ID_MAX + 1];
	char target[301];
};

/* A dial's tunnel: who asked, where to, for the logs. */
struct dial_conn {
	char login[QH_ID_MAX + 1];
	char target[301];
};

/* The machine's own names: allowed without being listed. */
static const char *const local_hosts[] = { "127.0.0.1", "::1", "localhost", NULL };

int
forward_allow_init(const char *const *targets, int n)
{
	char host[HOST_MAX], one[HOST_MAX + 16];
	const char *s, *end;
	size_t len;
	int i, port;

	allow_count = 0;
	for (i = 0; i < n; i++) {
		/* An entry may run on to the next ones of its list: cut at ','. */
		for (s = targets[i]; *s != '\0'; s = *end == ',' ? end + 1 : end) {
			end = s + strcspn(s, ",");
			len = (size_t)(end - s);
			if (len == 0)
				continue;
			if (len >= sizeof(one) || allow_count == ALLOW_MAX)
				return QH_ERR_TOO_LARGE;
			memcpy(one, s, len);
			one[len] = '\0';
			if (qh_split_hostport(one, host, sizeof(host), &port) != 0)
				return QH_ERR_ARG;
			memcpy(allow_list[allow_count].host, host, strlen(host) + 1);
			allow_list[allow_count].port = port;
			allow_count++;
		}
	}
	return 0;
}

int
forward_allowed(const char *host, int port)
{
	int i;

	for (i = 0; local_hosts[i] != NULL; i++)
		if (strcasecmp(host, local_hosts[i]) == 0)
			return 1;
	for (i = 0; i < allow_count; i++)
		if (strcasecmp(host, allow_list[i].host) == 0 &&
		    port == allow_list[i].port)
			return 1;
	return 0;
}

/*
 * Reads the login and the target of the ACTION and checks the target.
 * Returns 0 when it may be reached, else refuses ch (telling the
 * technician and the customer) and returns QH_ERR_REFUSED.
 */
static int
check_target(struct qh_chan *ch, const struct qh_msg *m, const char *what, char *login,
    size_t loginlen, char *target, size_t targetlen, char *host, size_t hostlen,
    int *port)
{
	char text[400], *s = NULL;

	(void)qh_msg_get_str(m, QH_K_LOGIN, &s);
	snprintf(login, loginlen, "%s", s != NULL ? s : "?");
	ui_sanitize(login);
	free(s);
	s = NULL;
	(void)qh_msg_get_str(m, QH_K_TARGET, &s);
	snprintf(target, targetlen, "%s", s != NULL ? s : "");
	ui_sanitize(target);
	free(s);
	if (qh_split_hostport(target, host, hostlen, port) != 0) {
		qh_chan_refuse(ch, "format", "the target must be HOST:PORT");
		return QH_ERR_REFUSED;
	}
	if (!forward_allowed(host, *port)) {
		qh_info("%s of %s to %s refused: not allowed", what, login, target);
		ui_notice(_("refused %s's %s to %s: not allowed (qh-agent run "
			    "--allow-forward %s would allow it)"),
		    login, what, target, target);
		snprintf(text, sizeof(text), "the customer does not allow forwards to %s",
		    target);
		qh_chan_refuse(ch, "forbidden", text);
		return QH_ERR_REFUSED;
	}
	return 0;
}

/* Forwards. */

static void
forward_end(struct forward *f)
{
	ui_notice(_("forward to %s ended"), f->target);
	qh_info("forward of %s to %s ended", f->login, f->target);
	if (f->ch != NULL)
		qh_chan_close(f->ch);
	free(f);
}

static void
forward_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED,
    size_t len)
{
	qh_chan_consume(ch, len); /* a forward channel carries nothing */
}

static void
forward_eof(struct qh_chan *ch)
{
	forward_end(qh_chan_arg(ch));
}

static void
forward_close(struct qh_chan *ch)
{
	struct forward *f = qh_chan_arg(ch);

	f->ch = NULL;
	forward_end(f);
}

static const struct qh_chan_ops forward_ops = {
	.on_data = forward_data,
	.on_eof = forward_eof,
	.on_close = forward_close,
};

int
forward_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop QH_UNUSED,
    struct qh_chan *ch, const struct qh_msg *m)
{
	struct forward *f;
	char host[HOST_MAX];
	int port, r;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	if (check_target(ch, m, "forward", f->login, sizeof(f->login), f->target,
		sizeof(f->target), host, sizeof(host), &port) != 0) {
		free(f);
		return 0;
	}
	ui_notice(_("%s forwards to %s"), f->login, f->target);
	qh_info("forward of %s to %s started", f->login, f->target);
	f->ch = ch;
	/* A failure means the connection is going away: forward_close freed f. */
	if ((r = qh_chan_accept(ch, QH_MUX_MIN_WINDOW, &forward_ops, f)) != 0)
		qh_debug("accept: %s", qh_strerror(r));
	return 0;
}

/* Dials. */

static void
dial_end(struct qh_tunnel *tn, int err, const char *text)
{
	struct dial_conn *d = qh_tunnel_arg(tn);
	uint64_t to_sock, to_chan;

	qh_tunnel_bytes(tn, &to_sock, &to_chan);
	qh_info("connection of %s to %s ended (%s%s%s): %llu bytes out, %llu in",
	    d->login, d->target, err == 0 ? "done" : qh_strerror(err),
	    text != NULL ? ": " : "", text != NULL ? text : "",
	    (unsigned long long)to_sock, (unsigned long long)to_chan);
	dial_count--;
	free(d);
}

static const struct qh_tunnel_ops dial_ops = {
	.on_end = dial_end,
};

int
forward_dial_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct dial_conn *d;
	struct qh_tunnel *tn;
	char host[HOST_MAX];
	int port;

	if (dial_count >= DIAL_MAX) {
		qh_warn("refusing a connection: %d are open", DIAL_MAX);
		qh_chan_refuse(ch, "limit", "too many connections through the agent");
		return 0;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	if (check_target(ch, m, "connection", d->login, sizeof(d->login), d->target,
		sizeof(d->target), host, sizeof(host), &port) != 0) {
		free(d);
		return 0;
	}
	if ((tn = qh_tunnel_new(loop, QH_MUX_BULK_WINDOW, &dial_ops, d)) == NULL) {
		free(d);
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	dial_count++;
	qh_debug("connection of %s to %s", d->login, d->target);
	/* Any failure refuses ch and ends in dial_end. */
	(void)qh_tunnel_connect(tn, ch, host, port);
	return 0;
}
