/*
 * Unit tests for common/dial.c, on a real loop with helper listeners on
 * loopback: an address literal connects and the handle is the callee's; a
 * closed port fails with "connection refused"; a name whose first address
 * refuses connects on the second; an address that does not answer is left
 * after attempt_ms for the next; the deadline bounds a lookup and the
 * attempts; a name that does not resolve is "no such host"; failures never
 * come from inside qh_dial_start; a cancelled dial calls nothing and
 * leaves no handle or memory behind.
 *
 * The resolver is faked by defining uv_getaddrinfo, uv_freeaddrinfo and
 * uv_cancel here: the linker binds dial.c's calls to these, which answer
 * from fake.addrs (or fail, or never answer) and pass everything else on
 * to libuv's own.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <uv.h>

#include "qh/compat.h"
#include "qh/dial.h"
#include "qh/err.h"

/* The fake resolver. */

enum fake_mode {
	FAKE_OFF,    /* libuv's own resolver */
	FAKE_ANSWER, /* fake.addrs, on the next loop turn */
	FAKE_FAIL,   /* fake.status, on the next loop turn */
	FAKE_HANG,   /* no answer until cancelled */
};

/* One fake result: the addrinfo and the address it points to. */
struct fake_ai {
	struct addrinfo ai;
	struct sockaddr_storage ss;
};

static struct {
	enum fake_mode mode;
	const char *addrs[4]; /* literals, NULL-terminated */
	int status;	      /* for FAKE_FAIL */
	int sync_error;	      /* uv_getaddrinfo itself fails with this */
	uv_getaddrinfo_t *req;
	uv_getaddrinfo_cb cb;
	struct addrinfo *res;
	int answer;
	uv_timer_t timer;
	int timer_open;
	int lookups, cancels, frees;
} fake;

static void
fake_deliver(uv_timer_t *h QH_UNUSED)
{
	uv_getaddrinfo_t *req = fake.req;
	struct addrinfo *res = fake.res;

	fake.req = NULL;
	fake.res = NULL;
	req->cb(req, fake.answer, res);
}

/* Builds the answer for port (one fake_ai per literal, in order). */
static struct addrinfo *
fake_result(int port)
{
	struct addrinfo *head = NULL, **tail = &head;
	struct fake_ai *f;
	int i;

	for (i = 0; fake.addrs[i] != NULL; i++) {
		assert_non_null(f = calloc(1, sizeof(*f)));
		if (uv_ip4_addr(fake.addrs[i], port, (struct sockaddr_in *)&f->ss) == 0)
			f->ai.ai_addrlen = sizeof(struct sockaddr_in);
		else {
			assert_int_equal(uv_ip6_addr(fake.addrs[i], port,
					     (struct sockaddr_in6 *)&f->ss),
			    0);
			f->ai.ai_addrlen = sizeof(struct sockaddr_in6);
		}
		f->ai.ai_family = f->ss.ss_family;
		f->ai.ai_socktype = SOCK_STREAM;
		f->ai.ai_addr = (struct sockaddr *)&f->ss;
		*tail = &f->ai;
		tail = &f->ai.ai_next;
	}
	return head;
}

int
uv_getaddrinfo(uv_loop_t *loop, uv_getaddrinfo_t *req, uv_getaddrinfo_cb cb,
    const char *node, const char *service, const struct addrinfo *hints)
{
	static int (*real)(uv_loop_t *, uv_getaddrinfo_t *, uv_getaddrinfo_cb,
	    const char *, const char *, const struct addrinfo *);

	if (fake.mode == FAKE_OFF) {
		if (real == NULL)
			*(void **)&real = dlsym(RTLD_NEXT, "uv_getaddrinfo");
		return real(loop, req, cb, node, service, hints);
	}
	fake.lookups++;
	if (fake.sync_error != 0)
		return fake.sync_error;
	assert_null(fake.req); /* one lookup at a time */
	req->cb = cb;
	fake.req = req;
	if (!fake.timer_open) {
		uv_timer_init(loop, &fake.timer);
		fake.timer_open = 1;
	}
	if (fake.mode == FAKE_ANSWER) {
		fake.answer = 0;
		fake.res = fake_result(atoi(service));
	} else
		fake.answer = fake.status;
	if (fake.mode != FAKE_HANG)
		uv_timer_start(&fake.timer, fake_deliver, 0, 0);
	return 0;
}

void
uv_freeaddrinfo(struct addrinfo *ai)
{
	static void (*real)(struct addrinfo *);
	struct addrinfo *next;

	if (fake.mode == FAKE_OFF) {
		if (real == NULL)
			*(void **)&real = dlsym(RTLD_NEXT, "uv_freeaddrinfo");
		real(ai);
		return;
	}
	for (; ai != NULL; ai = next) {
		next = ai->ai_next;
		free(ai); /* the fake_ai: its addrinfo comes first */
	}
	fake.frees++;
}

int
uv_cancel(uv_req_t *req)
{
	static int (*real)(uv_req_t *);

	if (fake.mode == FAKE_OFF || req != (uv_req_t *)fake.req) {
		if (real == NULL)
			*(void **)&real = dlsym(RTLD_NEXT, "uv_cancel");
		return real(req);
	}
	/* As libuv does: the callback still comes, with UV_EAI_CANCELED. */
	fake.cancels++;
	uv_freeaddrinfo(fake.res);
	fake.res = NULL;
	fake.answer = UV_EAI_CANCELED;
	uv_timer_start(&fake.timer, fake_deliver, 0, 0);
	return 0;
}

/* Test helpers. */

/* What the dial's callback saw. */
struct outcome {
	int called;
	int err;
	char why[QH_DIAL_WHY_MAX];
	uv_tcp_t *tcp;
	int in_start; /* set while qh_dial_start runs: the callback must not */
	int during_start;
	uint64_t at; /* uv_now() when it came */
	uv_loop_t *loop;
};

static void
on_dialed(struct qh_dial *d, uv_tcp_t *tcp, int err, const char *why, void *arg)
{
	struct outcome *o = arg;

	o->called++;
	o->err = err;
	o->tcp = tcp;
	o->during_start = o->in_start;
	o->at = uv_now(o->loop);
	snprintf(o->why, sizeof(o->why), "%s", why != NULL ? why : "");
	if (tcp != NULL)
		assert_null(why);
	qh_dial_cancel(d); /* a no-op from inside the callback */
}

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

static void
on_connection(uv_stream_t *server, int status)
{
	uv_tcp_t *c;

	if (status < 0)
		return;
	assert_non_null(c = malloc(sizeof(*c)));
	uv_tcp_init(server->loop, c);
	if (uv_accept(server, (uv_stream_t *)c) == 0)
		uv_close((uv_handle_t *)c, free_handle); /* accepted: that is all */
	else
		uv_close((uv_handle_t *)c, free_handle);
}

/* A listener on 127.0.0.1 that accepts; returns its port. */
static int
listen_local(uv_loop_t *loop, uv_tcp_t *server)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	int len = sizeof(ss);

	assert_int_equal(uv_tcp_init(loop, server), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(server, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)server, 16, on_connection), 0);
	assert_int_equal(uv_tcp_getsockname(server, (struct sockaddr *)&ss, &len), 0);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A listener on ip:port, if this system lets us bind there; returns 0 then. */
static int
listen_at(uv_loop_t *loop, uv_tcp_t *server, const char *ip, int port)
{
	struct sockaddr_in sin;

	assert_int_equal(uv_tcp_init(loop, server), 0);
	assert_int_equal(uv_ip4_addr(ip, port, &sin), 0);
	if (uv_tcp_bind(server, (struct sockaddr *)&sin, 0) != 0 ||
	    uv_listen((uv_stream_t *)server, 16, on_connection) != 0) {
		uv_close((uv_handle_t *)server, NULL);
		return -1;
	}
	return 0;
}

/* A port on 127.0.0.1 that nothing listens on (bound once, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Runs the loop until the dial called back (or 10 s pass). */
static void
run_until_called(uv_loop_t *loop, struct outcome *o)
{
	uint64_t end = uv_now(loop) + 10000;

	while (!o->called && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	assert_int_equal(o->called, 1);
}

/* Closes what is left and checks that the loop holds nothing more. */
static void
finish(uv_loop_t *loop, struct outcome *o, uv_tcp_t *server)
{
	if (o != NULL && o->tcp != NULL)
		uv_close((uv_handle_t *)o->tcp, free_handle);
	if (server != NULL)
		uv_close((uv_handle_t *)server, NULL);
	uv_run(loop, UV_RUN_DEFAULT); /* a cancelled lookup still answers */
	if (fake.timer_open) {
		uv_close((uv_handle_t *)&fake.timer, NULL);
		fake.timer_open = 0;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	assert_null(fake.req); /* every lookup answered */
	assert_int_equal(uv_loop_close(loop), 0);
	if (o != NULL)
		assert_int_equal(o->called, 1);
}

static int
reset_fake(void **state QH_UNUSED)
{
	memset(&fake, 0, sizeof(fake));
	return 0;
}

/* Starts a dial recording its outcome in o; returns qh_dial_start's result. */
static int
start(uv_loop_t *loop, const char *host, int port, uint64_t attempt_ms,
    uint64_t deadline_ms, struct outcome *o, struct qh_dial **dp)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->in_start = 1;
	r = qh_dial_start(loop, host, port, attempt_ms, deadline_ms, on_dialed, o, dp);
	o->in_start = 0;
	return r;
}

/* The peer's family and port of a connected handle. */
static int
peer_port(uv_tcp_t *tcp, int *family)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	assert_int_equal(uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len), 0);
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Tests. */

static void
test_literal(void **state QH_UNUSED)
{
	uv_loop_t loop;
	uv_tcp_t server;
	struct outcome o;
	struct qh_dial *d;
	int port, family;

	uv_loop_init(&loop);
	port = listen_local(&loop, &server);
	assert_int_equal(start(&loop, "127.0.0.1", port, 1000, 5000, &o, &d), 0);
	assert_non_null(d);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, 0);
	assert_non_null(o.tcp);
	assert_false(o.during_start);
	assert_null(o.tcp->data); /* the callee's to set */
	assert_int_equal(peer_port(o.tcp, &family), port);
	assert_int_equal(family, AF_INET);
	finish(&loop, &o, &server);
}

static void
test_refused(void **state QH_UNUSED)
{
	uv_loop_t loop;
	struct outcome o;
	struct qh_dial *d;

	uv_loop_init(&loop);
	assert_int_equal(start(&loop, "127.0.0.1", closed_port(), 1000, 5000, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_REFUSED);
	assert_string_equal(o.why, "connection refused");
	assert_null(o.tcp);
	assert_false(o.during_start);
	finish(&loop, &o, NULL);
}

static void
test_second_address(void **state QH_UNUSED)
{
	uv_loop_t loop;
	uv_tcp_t server;
	struct outcome o;
	struct qh_dial *d;
	int port, family;

	uv_loop_init(&loop);
	port = listen_local(&loop, &server); /* 127.0.0.1 only: ::1 refuses */
	fake.mode = FAKE_ANSWER;
	fake.addrs[0] = "::1";
	fake.addrs[1] = "127.0.0.1";
	assert_int_equal(start(&loop, "console.test", port, 1000, 5000, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, 0);
	assert_non_null(o.tcp);
	assert_int_equal(peer_port(o.tcp, &family), port);
	assert_int_equal(family, AF_INET);
	assert_int_equal(fake.lookups, 1);
	finish(&loop, &o, &server);
	assert_int_equal(fake.frees, 1); /* the answer, with the dial */
}

static void
test_all_refused(void **state QH_UNUSED)
{
	uv_loop_t loop;
	struct outcome o;
	struct qh_dial *d;

	uv_loop_init(&loop);
	fake.mode = FAKE_ANSWER;
	fake.addrs[0] = "127.0.0.1";
	fake.addrs[1] = "127.0.0.1";
	assert_int_equal(start(&loop, "console.test", closed_port(), 1000, 5000, &o, &d),
	    0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_REFUSED);
	assert_string_equal(o.why, "connection refused");
	finish(&loop, &o, NULL);
}

static void
test_no_such_host(void **state QH_UNUSED)
{
	uv_loop_t loop;
	struct outcome o;
	struct qh_dial *d;

	uv_loop_init(&loop);
	fake.mode = FAKE_FAIL;
	fake.status = UV_EAI_NONAME;
	assert_int_equal(start(&loop, "nowhere.test", 443, 1000, 5000, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_NOT_FOUND);
	assert_string_equal(o.why, "no such host");
	finish(&loop, &o, NULL);

	/* A lookup that cannot even start: reported later all the same. */
	reset_fake(NULL);
	uv_loop_init(&loop);
	fake.mode = FAKE_ANSWER;
	fake.sync_error = UV_ENOMEM;
	assert_int_equal(start(&loop, "nowhere.test", 443, 1000, 5000, &o, &d), 0);
	assert_int_equal(o.called, 0);
	run_until_called(&loop, &o);
	assert_false(o.during_start);
	assert_int_equal(o.err, QH_ERR_NOT_FOUND);
	finish(&loop, &o, NULL);
}

static void
test_resolve_deadline(void **state QH_UNUSED)
{
	uv_loop_t loop;
	struct outcome o;
	struct qh_dial *d;
	uint64_t t0;

	uv_loop_init(&loop);
	fake.mode = FAKE_HANG;
	t0 = uv_now(&loop);
	assert_int_equal(start(&loop, "slow.test", 443, 1000, 50, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_TIMEOUT);
	assert_string_equal(o.why, "timed out");
	assert_true(o.at - t0 >= 50);
	finish(&loop, &o, NULL);
	assert_int_equal(fake.cancels, 1);
}

/*
 * A listening socket that never accepts and whose backlog is full, so a
 * connect to it neither succeeds nor fails. Returns its port, or 0 when
 * this system answers such a connect anyway (the test is skipped then).
 */
static int
black_hole(int fds[4])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct pollfd p;
	int i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fds[0], (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fds[0], 0), 0);
	assert_int_equal(getsockname(fds[0], (struct sockaddr *)&sin, &len), 0);
	for (i = 1; i < 4; i++) {
		assert_true((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		(void)fcntl(fds[i], F_SETFL, O_NONBLOCK);
		(void)connect(fds[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	/* The last filler must still be waiting after a while. */
	p.fd = fds[3];
	p.events = POLLOUT;
	if (poll(&p, 1, 200) != 0)
		return 0;
	return ntohs(sin.sin_port);
}

static void
black_hole_close(int fds[4])
{
	int i;

	for (i = 0; i < 4; i++)
		close(fds[i]);
}

static void
test_attempt_timeout(void **state QH_UNUSED)
{
	uv_loop_t loop;
	uv_tcp_t server;
	struct outcome o;
	struct qh_dial *d;
	int fds[4], hole;
	uint64_t t0;

	if ((hole = black_hole(fds)) == 0) {
		black_hole_close(fds);
		skip();
	}
	uv_loop_init(&loop);

	/* A silent address is left after attempt_ms: a literal alone fails. */
	t0 = uv_now(&loop);
	assert_int_equal(start(&loop, "127.0.0.1", hole, 100, 5000, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_TIMEOUT);
	assert_string_equal(o.why, "timed out");
	assert_true(o.at - t0 >= 100 && o.at - t0 < 2000);

	/* The next address answers: 127.0.0.2 at the hole's port. */
	if (listen_at(&loop, &server, "127.0.0.2", hole) == 0) {
		fake.mode = FAKE_ANSWER;
		fake.addrs[0] = "127.0.0.1";
		fake.addrs[1] = "127.0.0.2";
		uv_update_time(&loop);
		t0 = uv_now(&loop);
		assert_int_equal(start(&loop, "two.test", hole, 100, 5000, &o, &d), 0);
		run_until_called(&loop, &o);
		assert_int_equal(o.err, 0);
		assert_true(o.at - t0 >= 100 && o.at - t0 < 2000);
		uv_close((uv_handle_t *)o.tcp, free_handle);
		uv_close((uv_handle_t *)&server, NULL);
		fake.addrs[1] = NULL;
	}

	/* The deadline cuts the attempts short. */
	fake.mode = FAKE_ANSWER;
	fake.addrs[0] = "127.0.0.1";
	fake.addrs[1] = "127.0.0.1";
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	assert_int_equal(start(&loop, "silent.test", hole, 100, 150, &o, &d), 0);
	run_until_called(&loop, &o);
	assert_int_equal(o.err, QH_ERR_TIMEOUT);
	assert_true(o.at - t0 >= 150 && o.at - t0 < 2000);
	black_hole_close(fds);
	finish(&loop, &o, NULL);
}

static void
test_cancel(void **state QH_UNUSED)
{
	uv_loop_t loop;
	uv_tcp_t server;
	struct outcome o;
	struct qh_dial *d;
	int port;

	/* While resolving: the lookup is cancelled, nothing is called. */
	uv_loop_init(&loop);
	fake.mode = FAKE_HANG;
	assert_int_equal(start(&loop, "slow.test", 443, 1000, 5000, &o, &d), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	qh_dial_cancel(d);
	o.called = 1; /* what finish expects; it must stay 1 */
	finish(&loop, &o, NULL);
	assert_int_equal(fake.cancels, 1);

	/* While connecting: the attempt's socket is closed, nothing is called. */
	reset_fake(NULL);
	uv_loop_init(&loop);
	port = listen_local(&loop, &server);
	assert_int_equal(start(&loop, "127.0.0.1", port, 1000, 5000, &o, &d), 0);
	qh_dial_cancel(d);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(o.called, 0);
	o.called = 1;
	finish(&loop, &o, &server);

	/* After a failure, before it is reported: nothing is called. */
	reset_fake(NULL);
	uv_loop_init(&loop);
	fake.mode = FAKE_ANSWER;
	fake.sync_error = UV_ENOMEM;
	assert_int_equal(start(&loop, "nowhere.test", 443, 1000, 5000, &o, &d), 0);
	qh_dial_cancel(d);
	qh_dial_cancel(NULL);
	o.called = 1;
	finish(&loop, &o, NULL);
}

static void
test_args(void **state QH_UNUSED)
{
	uv_loop_t loop;
	struct outcome o;
	struct qh_dial *d = (struct qh_dial *)&o;
	char longname[300];

	uv_loop_init(&loop);
	assert_int_equal(start(&loop, "", 443, 1000, 5000, &o, &d), QH_ERR_ARG);
	assert_null(d);
	assert_int_equal(start(&loop, "127.0.0.1", 0, 1000, 5000, &o, &d), QH_ERR_ARG);
	assert_int_equal(start(&loop, "127.0.0.1", 65536, 1000, 5000, &o, &d),
	    QH_ERR_ARG);
	assert_int_equal(start(&loop, "127.0.0.1", 443, 0, 5000, &o, &d), QH_ERR_ARG);
	assert_int_equal(start(&loop, "127.0.0.1", 443, 1000, 0, &o, &d), QH_ERR_ARG);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(start(&loop, longname, 443, 1000, 5000, &o, &d), QH_ERR_ARG);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o.called, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_literal, reset_fake),
		cmocka_unit_test_setup(test_refused, reset_fake),
		cmocka_unit_test_setup(test_second_address, reset_fake),
		cmocka_unit_test_setup(test_all_refused, reset_fake),
		cmocka_unit_test_setup(test_no_such_host, reset_fake),
		cmocka_unit_test_setup(test_resolve_deadline, reset_fake),
		cmocka_unit_test_setup(test_attempt_timeout, reset_fake),
		cmocka_unit_test_setup(test_cancel, reset_fake),
		cmocka_unit_test_setup(test_args, reset_fake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
