/*
 * The dialler of qh/dial.h. A dial resolves its host (unless it is an
 * address literal), then tries the addresses one at a time: each attempt
 * is a TCP handle of its own, given up after attempt_ms or at the dial's
 * deadline, whichever comes first. A failed or abandoned attempt is
 * detached from the dial and frees itself in its close callback, so the
 * next attempt never waits for the last one to wind down; the attempt
 * that connects hands its handle to the callee.
 *
 * The dial's one timer serves three purposes in turn: the deadline while
 * resolving, the limit of the attempt under way, and the next loop turn
 * on which a failure is reported (never from inside qh_dial_start). The
 * dial itself is freed once that timer is closed and the lookup, if any,
 * has come back.
 */
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <sys/socket.h>
#include <netdb.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/dial.h"
#include "qh/err.h"
#include "qh/log.h"

/* One connection attempt; the handle comes first, so free(&a->tcp) frees a. */
struct attempt {
	uv_tcp_t tcp;
	uv_connect_t creq;
	struct qh_dial *d; /* NULL once abandoned: the callbacks ignore it */
};

enum dial_state {
	DIAL_RESOLVING,	 /* the lookup is under way */
	DIAL_CONNECTING, /* an attempt is under way, or the next one starts */
	DIAL_FAILING,	 /* the failure is reported on the next loop turn */
	DIAL_DONE,	 /* reported or cancelled: only clean-up is left */
};

struct qh_dial {
	uv_loop_t *loop;
	qh_dial_cb cb;
	void *arg;
	enum dial_state state;
	char host[256];
	int port;
	uint64_t attempt_ms;
	uint64_t deadline; /* uv_now() at which the dial gives up */

	uv_getaddrinfo_t gai;
	int gai_busy;		    /* gai is outstanding */
	struct addrinfo *addrs;	    /* from uv_getaddrinfo, freed with the dial */
	struct addrinfo *next;	    /* the next address to try */
	struct addrinfo literal_ai; /* an address literal needs no lookup */
	struct sockaddr_storage literal;

	struct attempt *cur; /* the attempt under way, or NULL */
	uv_timer_t timer;
	int timer_open;
	int err;		   /* the last failure */
	char why[QH_DIAL_WHY_MAX]; /* and its reason */
};

static void try_next(struct qh_dial *d);

/* Frees the dial once its timer is closed and no lookup is outstanding. */
static void
dial_maybe_free(struct qh_dial *d)
{
	if (d->timer_open || d->gai_busy)
		return;
	if (d->addrs != NULL)
		uv_freeaddrinfo(d->addrs);
	free(d);
}

static void
timer_closed(uv_handle_t *h)
{
	struct qh_dial *d = h->data;

	d->timer_open = 0;
	dial_maybe_free(d);
}

static void
attempt_closed(uv_handle_t *h)
{
	free(h); /* the attempt: its handle comes first */
}

/* Gives up the attempt under way: its callbacks ignore it from now on. */
static void
abandon(struct qh_dial *d)
{
	struct attempt *a = d->cur;

	if (a == NULL)
		return;
	d->cur = NULL;
	a->d = NULL;
	uv_close((uv_handle_t *)&a->tcp, attempt_closed);
}

/* Ends the dial: no callback after this; the rest winds down by itself. */
static void
dial_end(struct qh_dial *d)
{
	d->state = DIAL_DONE;
	abandon(d);
	if (d->gai_busy)
		(void)uv_cancel((uv_req_t *)&d->gai);
	uv_close((uv_handle_t *)&d->timer, timer_closed);
}

/* Keeps err and its reason as the dial's last failure. */
static void
set_error(struct qh_dial *d, int err, const char *why)
{
	d->err = err;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

static void
on_report(uv_timer_t *h)
{
	struct qh_dial *d = h->data;

	if (d->state != DIAL_FAILING)
		return;
	dial_end(d);
	d->cb(d, NULL, d->err, d->why, d->arg);
}

/* Fails the dial with its last error, reported on the next loop turn. */
static void
dial_fail(struct qh_dial *d)
{
	qh_debug("dial %s:%d: %s", d->host, d->port, d->why);
	abandon(d);
	d->state = DIAL_FAILING;
	uv_timer_stop(&d->timer);
	uv_timer_start(&d->timer, on_report, 0, 0);
}

/* The reason for a failed lookup, as a person would say it. */
static const char *
resolve_text(int status)
{
	switch (status) {
	case UV_EAI_NONAME:
	case UV_EAI_NODATA:
		return "no such host";
	case UV_EAI_AGAIN:
		return "temporary failure in name resolution";
	default:
		return uv_strerror(status);
	}
}

/* The attempt connected, or failed: hand the handle over, or try the next address. */
static void
on_connect(uv_connect_t *req, int status)
{
	struct attempt *a = req->data;
	struct qh_dial *d = a->d;

	if (d == NULL)
		return; /* abandoned; its close callback frees it */
	d->cur = NULL;
	if (status == 0) {
		a->d = NULL;
		a->tcp.data = NULL;
		dial_end(d);
		d->cb(d, &a->tcp, 0, NULL, d->arg);
		return;
	}
	qh_debug("dial %s:%d: connect: %s", d->host, d->port, uv_strerror(status));
	set_error(d, qh_err_from_uv(status), uv_strerror(status));
	a->d = NULL;
	uv_close((uv_handle_t *)&a->tcp, attempt_closed);
	try_next(d);
}

/* The attempt, the lookup or the whole dial took too long. */
static void
on_timeout(uv_timer_t *h)
{
	struct qh_dial *d = h->data;

	if (d->state != DIAL_RESOLVING && d->state != DIAL_CONNECTING)
		return;
	set_error(d, QH_ERR_TIMEOUT, "timed out");
	if (d->state == DIAL_RESOLVING) {
		dial_fail(d); /* on_resolved only cleans up now */
		return;
	}
	qh_debug("dial %s:%d: an address did not answer", d->host, d->port);
	abandon(d);
	try_next(d);
}

/* Starts one attempt on ai. Returns 0, or a libuv error (the attempt is gone). */
static int
attempt_start(struct qh_dial *d, const struct addrinfo *ai)
{
	struct attempt *a;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return UV_ENOMEM;
	if ((r = uv_tcp_init(d->loop, &a->tcp)) != 0) {
		free(a);
		return r;
	}
	a->d = d;
	a->tcp.data = a;
	a->creq.data = a;
	if ((r = uv_tcp_connect(&a->creq, &a->tcp, ai->ai_addr, on_connect)) != 0) {
		uv_close((uv_handle_t *)&a->tcp, attempt_closed);
		return r;
	}
	d->cur = a;
	return 0;
}

/*
 * Starts an attempt on the next address that takes one, bounded by
 * attempt_ms and the deadline; fails the dial when none is left or the
 * deadline has passed.
 */
static void
try_next(struct qh_dial *d)
{
	struct addrinfo *ai;
	uint64_t now, left;
	int r;

	d->state = DIAL_CONNECTING;
	while ((ai = d->next) != NULL) {
		d->next = ai->ai_next;
		now = uv_now(d->loop);
		if (now >= d->deadline) {
			set_error(d, QH_ERR_TIMEOUT, "timed out");
			break;
		}
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if ((r = attempt_start(d, ai)) != 0) {
			set_error(d, qh_err_from_uv(r), uv_strerror(r));
			continue;
		}
		left = d->deadline - now;
		uv_timer_start(&d->timer, on_timeout,
		    left < d->attempt_ms ? left : d->attempt_ms, 0);
		return;
	}
	if (d->err == 0)
		set_error(d, QH_ERR_NOT_FOUND, "no address");
	dial_fail(d);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct qh_dial *d = req->data;

	d->gai_busy = 0;
	if (d->state != DIAL_RESOLVING) {
		/* Cancelled, or out of time: only clean-up is left. */
		if (res != NULL)
			uv_freeaddrinfo(res);
		dial_maybe_free(d);
		return;
	}
	if (status < 0 || res == NULL) {
		set_error(d, QH_ERR_NOT_FOUND,
		    status < 0 ? resolve_text(status) : "no address");
		if (res != NULL)
			uv_freeaddrinfo(res);
		dial_fail(d);
		return;
	}
	d->addrs = d->next = res;
	try_next(d);
}

/* An address literal needs no lookup: one address to try. Returns 1 if host is one. */
static int
literal_address(struct qh_dial *d)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&d->literal;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->literal;

	memset(&d->literal_ai, 0, sizeof(d->literal_ai));
	if (uv_ip4_addr(d->host, d->port, sin) == 0)
		d->literal_ai.ai_addrlen = sizeof(*sin);
	else if (uv_ip6_addr(d->host, d->port, sin6) == 0)
		d->literal_ai.ai_addrlen = sizeof(*sin6);
	else
		return 0;
	d->literal_ai.ai_family = d->literal.ss_family;
	d->literal_ai.ai_socktype = SOCK_STREAM;
	d->literal_ai.ai_addr = (struct sockaddr *)&d->literal;
	d->next = &d->literal_ai;
	return 1;
}

/* Starts the lookup of d->host; a failure to start fails the dial. */
static void
resolve(struct qh_dial *d)
{
	struct addrinfo hints;
	char service[8];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%d", d->port);
	d->state = DIAL_RESOLVING;
	d->gai.data = d;
	uv_timer_start(&d->timer, on_timeout, d->deadline - uv_now(d->loop), 0);
	if ((r = uv_getaddrinfo(d->loop, &d->gai, on_resolved, d->host, service,
		 &hints)) != 0) {
		set_error(d, QH_ERR_NOT_FOUND, resolve_text(r));
		dial_fail(d);
		return;
	}
	d->gai_busy = 1;
}

int
qh_dial_start(uv_loop_t *loop, const char *host, int port, uint64_t attempt_ms,
    uint64_t deadline_ms, qh_dial_cb cb, void *arg, struct qh_dial **dp)
{
	struct qh_dial *d;

	*dp = NULL;
	if (host == NULL || *host == '\0' || port < 1 || port > 65535 ||
	    attempt_ms == 0 || deadline_ms == 0 || cb == NULL)
		return QH_ERR_ARG;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return QH_ERR_NOMEM;
	if ((size_t)snprintf(d->host, sizeof(d->host), "%s", host) >= sizeof(d->host)) {
		free(d);
		return QH_ERR_ARG;
	}
	d->loop = loop;
	d->cb = cb;
	d->arg = arg;
	d->port = port;
	d->attempt_ms = attempt_ms;
	d->deadline = uv_now(loop) + deadline_ms;
	uv_timer_init(loop, &d->timer);
	d->timer.data = d;
	d->timer_open = 1;
	*dp = d;
	if (literal_address(d))
		try_next(d);
	else
		resolve(d);
	return 0;
}

void
qh_dial_cancel(struct qh_dial *d)
{
	if (d == NULL || d->state == DIAL_DONE)
		return;
	dial_end(d);
}
