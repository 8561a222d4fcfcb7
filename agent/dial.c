/*
 * Dialling the console: resolve the host (an address literal directly, a
 * name through uv_getaddrinfo), connect the mux's TCP handle, start TLS.
 * A dial owns only itself; the mux stays its owner's, and a dial that is
 * cancelled just frees itself when its outstanding request comes back.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "agent.h"

struct dial {
	uv_getaddrinfo_t gai;
	uv_connect_t creq;
	struct qh_mux *mux;  /* NULL once cancelled */
	struct dial **backp; /* the owner's pointer to us, or NULL */
	char *why;
	size_t whylen;
	int resolving; /* gai is outstanding */
	char host[256];
};

/* Detaches the dial from its owner and frees it. */
static void
dial_free(struct dial *d)
{
	if (d->backp != NULL)
		*d->backp = NULL;
	free(d);
}

/* Reports why, closes the owner's mux with err and frees the dial. */
static void
dial_fail(struct dial *d, int err, const char *fmt, const char *detail)
{
	struct qh_mux *mux = d->mux;

	if (d->why != NULL)
		snprintf(d->why, d->whylen, fmt, detail);
	dial_free(d);
	qh_mux_close(mux, err, NULL);
}

static void
on_connected(uv_connect_t *req, int status)
{
	struct dial *d = req->data;
	struct qh_mux *mux = d->mux;

	if (mux == NULL) {
		dial_free(d); /* cancelled; the mux is closing */
		return;
	}
	if (status < 0) {
		dial_fail(d, qh_err_from_uv(status), "%s", uv_strerror(status));
		return;
	}
	dial_free(d);
	/* A failure to start closes the mux, which its on_close reports. */
	(void)qh_mux_start(mux);
}

static void
dial_connect(struct dial *d, const struct sockaddr *sa)
{
	int r;

	d->creq.data = d;
	if ((r = uv_tcp_connect(&d->creq, qh_mux_tcp(d->mux), sa, on_connected)) != 0)
		dial_fail(d, qh_err_from_uv(r), "%s", uv_strerror(r));
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dial *d = req->data;

	d->resolving = 0;
	if (d->mux == NULL) {
		uv_freeaddrinfo(res);
		dial_free(d);
		return;
	}
	if (status < 0 || res == NULL) {
		dial_fail(d, QH_ERR_NOT_FOUND, "cannot resolve %s",
		    status < 0 ? uv_strerror(status) : "no address");
		uv_freeaddrinfo(res);
		return;
	}
	dial_connect(d, res->ai_addr);
	uv_freeaddrinfo(res);
}

int
dial_start(uv_loop_t *loop, struct qh_mux *mux, const char *host, int port, char *why,
    size_t whylen, struct dial **dp)
{
	struct sockaddr_storage ss;
	struct addrinfo hints;
	struct dial *d;
	char portstr[16];
	int r;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		qh_mux_close(mux, QH_ERR_NOMEM, NULL);
		return QH_ERR_NOMEM;
	}
	d->mux = mux;
	d->why = why;
	d->whylen = whylen;
	d->backp = dp;
	*dp = d;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	snprintf(d->host, sizeof(d->host), "%s", host);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0 ||
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
		dial_connect(d, (struct sockaddr *)&ss);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	d->gai.data = d;
	r = uv_getaddrinfo(loop, &d->gai, on_resolved, host, portstr, &hints);
	if (r != 0) {
		dial_fail(d, QH_ERR_NOT_FOUND, "cannot resolve %s", uv_strerror(r));
		return QH_ERR_NOT_FOUND;
	}
	d->resolving = 1;
	return 0;
}

void
dial_cancel(struct dial **dp)
{
	struct dial *d = *dp;

	if (d == NULL)
		return;
	*dp = NULL;
	d->backp = NULL;
	d->mux = NULL;
	d->why = NULL;
	if (d->resolving)
		(void)uv_cancel((uv_req_t *)&d->gai);
}
