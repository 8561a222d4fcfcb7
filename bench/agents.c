/*
 * bench/agents: a load generator that holds N agents in one process on
 * libqh, against a running console.
 *
 * Each agent is one mutually authenticated TLS connection with an
 * enrolled agent's certificate (the bundles DIR/NAME.pem, reused in turn),
 * from a source address spread over 127.0.0.2-251 (the console limits
 * unauthenticated connections per address), that says HELLO and waits for
 * its WELCOME. The program measures, in this order:
 *
 *   1. the console's resident memory (VmRSS of --pid) with no agent;
 *   2. full connects: N agents, at most --inflight at once, each a full
 *      handshake (no ticket offered), HELLO to WELCOME;
 *   3. the console's resident memory with the N agents held idle, after
 *      --settle seconds; with --wait, it then holds them until SIGUSR1,
 *      while the script times a technician's exec through the loaded
 *      console from a process of its own;
 *   4. resumed connects: --resume of the agents hang up and come back
 *      with a TLS 1.3 session ticket and their resume token, as a real
 *      agent does after a cut. A client context keeps one ticket (the
 *      last one the console sent on it), the agents share the bundles'
 *      contexts, and the console takes a ticket once: so a context
 *      resumes one connect at a time, as a real agent's own context
 *      does; the next agent of a busy context waits for its WELCOME,
 *      which follows the new ticket.
 *
 * It prints one "key value" line per figure for bench/agents.sh, which
 * sets the figures beside their anchors.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "qh/compat.h"
#include "qh/addr.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/wire.h"

#define BUNDLES_MAX 1024
#define SRC_ADDRS   250 /* 127.0.0.2 .. 127.0.0.251 */

enum bagent_state {
	BA_IDLE,       /* not connected */
	BA_CONNECTING, /* TCP, TLS, HELLO sent: waiting for WELCOME */
	BA_HELD,       /* welcomed, held idle */
	BA_LEAVING,    /* hung up; waiting for the close callback */
};

struct bagent {
	struct qh_mux *mux;
	int idx;
	enum bagent_state state;
	uv_connect_t creq;
	char resume[129];
	char code[16];
	int resumed; /* the last handshake resumed a session */
};

static struct {
	uv_loop_t *loop;
	struct sockaddr_in console;
	struct qh_tls_ctx *ctx[BUNDLES_MAX];
	unsigned char ctx_busy[BUNDLES_MAX]; /* resuming: a connect on it runs */
	char host[256];
	int nctx;
	struct bagent *agents;
	int n, inflight, resume_n;
	int pid;
	int wait_signal;
	/* the phase running */
	int next, done, active, failed, target, want_resume;
	uint64_t t0, t1;
	uv_timer_t pace;
} B;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The console's VmRSS in KiB, or -1. */
static long
console_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", B.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The console's CPU time (user and system) in microseconds, or 0. */
static uint64_t
console_cpu_us(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", B.pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's name in parentheses: fields 3 on; utime is 14. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		&st) != 2)
		return 0;
	return (ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
}

static void phase_pump(void);

static int
send_hello(struct bagent *a)
{
	struct qh_buf b;
	char host[32];
	int r;

	/* One certificate is one PC: its host name stays the same. */
	snprintf(host, sizeof(host), "bench-%d", a->idx % B.nctx);
	qh_buf_init(&b, 1024);
	if ((r = qh_msg_begin(&b, QH_MSG_HELLO)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_HOST, host)) == 0 &&
	    (r = qh_msg_put_u32(&b, QH_K_FLAGS, 1)) == 0 && /* unattended */
	    (a->resume[0] == '\0' ||
		((r = qh_msg_put_str(&b, QH_K_RESUME, a->resume)) == 0 &&
		    (r = qh_msg_put_str(&b, QH_K_CODE, a->code)) == 0)))
		r = qh_mux_send_control(a->mux, &b);
	qh_buf_release(&b);
	return r;
}

static int
agent_ready(struct qh_mux *mux, const struct qh_identity *id QH_UNUSED)
{
	struct bagent *a = qh_mux_arg(mux);

	a->resumed = qh_tls_resumed(qh_mux_tls(mux));
	return send_hello(a);
}

static void
connected(struct bagent *a)
{
	B.ctx_busy[a->idx % B.nctx] = 0;
	a->state = BA_HELD;
	B.active--;
	B.done++;
	if (B.want_resume && !a->resumed)
		B.failed++; /* counted, but said: a full handshake is no resumption */
	phase_pump();
}

static int
agent_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct bagent *a = qh_mux_arg(mux);
	char *s = NULL;

	if (m->type == QH_MSG_WELCOME && a->state == BA_CONNECTING) {
		if (qh_msg_get_str(m, QH_K_RESUME, &s) == 0)
			snprintf(a->resume, sizeof(a->resume), "%s", s);
		free(s);
		s = NULL;
		if (qh_msg_get_str(m, QH_K_CODE, &s) == 0)
			snprintf(a->code, sizeof(a->code), "%s", s);
		free(s);
		connected(a);
	} else if (m->type == QH_MSG_ERROR) {
		(void)qh_msg_get_str(m, QH_K_TEXT, &s);
		qh_warn("agent %d: console says: %s", a->idx, s ? s : "?");
		free(s);
	}
	return 0;
}

static void
agent_closed(struct qh_mux *mux, int err)
{
	struct bagent *a = qh_mux_arg(mux);
	enum bagent_state was = a->state;

	a->mux = NULL;
	a->state = BA_IDLE;
	if (was == BA_CONNECTING) {
		B.ctx_busy[a->idx % B.nctx] = 0;
		qh_warn("agent %d: connection failed: %s", a->idx, qh_strerror(err));
		B.active--;
		B.failed++;
		B.done++;
		phase_pump();
	} else if (was == BA_HELD) {
		qh_warn("agent %d: lost while held: %s", a->idx, qh_strerror(err));
		B.failed++;
	} else {
		phase_pump(); /* a hang-up before a resumed connect */
	}
}

static const struct qh_mux_ops agent_ops = {
	.on_ready = agent_ready,
	.on_control = agent_control,
	.on_close = agent_closed,
};

static void
on_tcp_connect(uv_connect_t *req, int status)
{
	struct bagent *a = req->data;
	int r;

	if (a->mux == NULL)
		return;
	if (status < 0) {
		qh_mux_close(a->mux, qh_err_from_uv(status), NULL);
		return;
	}
	if ((r = qh_mux_start(a->mux)) != 0)
		qh_mux_close(a->mux, r, NULL);
}

/* Starts agent a's connection from its own source address. */
static int
agent_connect(struct bagent *a)
{
	struct sockaddr_in src;
	char ip[32];
	int r;

	a->mux = qh_mux_new(B.loop, B.ctx[a->idx % B.nctx], QH_TLS_CLIENT, B.host, NULL,
	    &agent_ops, a);
	if (a->mux == NULL)
		return QH_ERR_NOMEM;
	a->state = BA_CONNECTING;
	a->resumed = 0;
	snprintf(ip, sizeof(ip), "127.0.0.%d", 2 + a->idx % SRC_ADDRS);
	uv_ip4_addr(ip, 0, &src);
	a->creq.data = a;
	if ((r = uv_tcp_bind(qh_mux_tcp(a->mux), (struct sockaddr *)&src, 0)) != 0 ||
	    (r = uv_tcp_connect(&a->creq, qh_mux_tcp(a->mux),
		 (struct sockaddr *)&B.console, on_tcp_connect)) != 0) {
		qh_mux_close(a->mux, qh_err_from_uv(r), NULL);
		return qh_err_from_uv(r);
	}
	return 0;
}

/* Keeps --inflight connects running until the phase's target is reached. */
static void
phase_pump(void)
{
	struct bagent *a;

	while (B.active < B.inflight && B.next < B.target) {
		a = &B.agents[B.next];
		if (a->state == BA_LEAVING)
			return; /* its close callback pumps again */
		if (B.want_resume && B.ctx_busy[a->idx % B.nctx])
			return; /* its context's connect pumps again when welcomed */
		B.next++;
		if (a->state != BA_IDLE)
			continue;
		if (B.want_resume)
			B.ctx_busy[a->idx % B.nctx] = 1;
		B.active++;
		if (agent_connect(a) != 0) {
			/* agent_closed counted it */
		}
	}
	if (B.done >= B.target && B.t1 == 0) {
		B.t1 = now_us();
		uv_stop(B.loop);
	}
}

/* This process's CPU time (user and system) in microseconds. */
static uint64_t
self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/*
 * Connects agents [0, target) with at most B.inflight at once; the rate.
 * *cpu_us is the console's CPU time per connect meanwhile, *self_us this
 * load generator's (the agents' side of the handshakes).
 */
static double
run_connects(int target, int resume, double *cpu_us, double *self_us)
{
	uint64_t c0 = console_cpu_us(), s0 = self_cpu_us();
	int i;

	B.next = B.done = B.failed = B.active = 0;
	B.target = target;
	B.want_resume = resume;
	B.t1 = 0;
	for (i = 0; i < B.nctx; i++)
		qh_tls_ctx_set_resumption(B.ctx[i], resume);
	B.t0 = now_us();
	phase_pump();
	if (B.t1 == 0)
		uv_run(B.loop, UV_RUN_DEFAULT);
	*cpu_us = (double)(console_cpu_us() - c0) / target;
	*self_us = (double)(self_cpu_us() - s0) / target;
	return (double)target / ((double)(B.t1 - B.t0) / 1e6);
}

/* Holds the loop for ms milliseconds (keepalives are answered meanwhile). */
static void
on_pace(uv_timer_t *t QH_UNUSED)
{
	uv_stop(B.loop);
}

static void
hold(uint64_t ms)
{
	uv_timer_start(&B.pace, on_pace, ms, 0);
	uv_run(B.loop, UV_RUN_DEFAULT);
}

/* SIGUSR1: the script has measured what it wanted while the agents were held. */
static void
on_usr1(uv_signal_t *h, int sig QH_UNUSED)
{
	uv_signal_stop(h);
	uv_stop(B.loop);
}

/* Holds the agents, answering keepalives, until SIGUSR1 arrives. */
static void
hold_for_signal(void)
{
	uv_signal_t sig;

	uv_signal_init(B.loop, &sig);
	uv_signal_start(&sig, on_usr1, SIGUSR1);
	printf("waiting\n");
	fflush(stdout);
	uv_run(B.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&sig, NULL);
	uv_run(B.loop, UV_RUN_NOWAIT);
}

/* Hangs up agents [0, n): each closes its connection, as a cut would. */
static void
hang_up(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct bagent *a = &B.agents[i];

		if (a->state != BA_HELD)
			continue;
		a->state = BA_LEAVING;
		qh_mux_close(a->mux, 0, NULL);
	}
	hold(200); /* the closes reach the console */
}

static int
load_bundles(const char *dir)
{
	struct qh_bundle b;
	struct dirent *de;
	char path[4096];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		qh_fatal("%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL && B.nctx < BUNDLES_MAX) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".pem") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (qh_bundle_load(path, &b) != 0)
			qh_fatal("%s: cannot load the bundle", path);
		if (B.nctx == 0) {
			int port;

			if (qh_split_hostport(b.console, B.host, sizeof(B.host), &port) !=
				0 ||
			    uv_ip4_addr(B.host, port, &B.console) != 0)
				qh_fatal("%s: console %s is not IPv4 HOST:PORT", path,
				    b.console);
		}
		if (qh_tls_ctx_client(&B.ctx[B.nctx], b.cert, b.key, b.ca) != 0)
			qh_fatal("%s: no TLS context", path);
		B.nctx++;
		qh_bundle_free(&b);
	}
	closedir(d);
	return B.nctx > 0 ? 0 : QH_ERR_NOT_FOUND;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agents --bundles DIR --count N --pid CONSOLE_PID [--inflight N]\n"
	    "              [--resume N] [--settle SECONDS] [--wait]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	long rss0, rss1;
	double full, resumed = 0, cpu, self;
	int i, settle = 5, nfull;

	qh_log_init("agents", QH_LOG_ERROR);
	B.inflight = 200;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--wait") == 0) {
			B.wait_signal = 1;
			continue;
		}
		if (v == NULL)
			usage();
		if (strcmp(argv[i], "--bundles") == 0)
			dir = v;
		else if (strcmp(argv[i], "--count") == 0)
			B.n = atoi(v);
		else if (strcmp(argv[i], "--pid") == 0)
			B.pid = atoi(v);
		else if (strcmp(argv[i], "--inflight") == 0)
			B.inflight = atoi(v);
		else if (strcmp(argv[i], "--resume") == 0)
			B.resume_n = atoi(v);
		else if (strcmp(argv[i], "--settle") == 0)
			settle = atoi(v);
		else
			usage();
		i++;
	}
	if (dir == NULL || B.n <= 0 || B.pid <= 0 || B.inflight <= 0)
		usage();
	if (B.resume_n > B.n)
		B.resume_n = B.n;
	raise_nofile();
	B.loop = uv_default_loop();
	uv_timer_init(B.loop, &B.pace);
	if (load_bundles(dir) != 0)
		qh_fatal("%s: no bundles", dir);
	if ((B.agents = calloc((size_t)B.n, sizeof(*B.agents))) == NULL)
		qh_fatal("out of memory");
	for (i = 0; i < B.n; i++)
		B.agents[i].idx = i;

	rss0 = console_rss_kib();
	full = run_connects(B.n, 0, &cpu, &self);
	printf("connect_failed %d\n", B.failed);
	printf("full_per_s %.0f\n", full);
	printf("full_cpu_us %.0f\n", cpu);
	printf("full_self_us %.0f\n", self);
	fflush(stdout);
	hold((uint64_t)settle * 1000);
	rss1 = console_rss_kib();
	for (i = 0, nfull = 0; i < B.n; i++)
		nfull += B.agents[i].state == BA_HELD;
	printf("held %d\n", nfull);
	printf("rss_base_kib %ld\n", rss0);
	printf("rss_held_kib %ld\n", rss1);
	printf("kib_per_agent %.1f\n", nfull > 0 ? (double)(rss1 - rss0) / nfull : 0.0);
	fflush(stdout);
	if (B.wait_signal)
		hold_for_signal();
	if (B.resume_n > 0) {
		hang_up(B.resume_n);
		resumed = run_connects(B.resume_n, 1, &cpu, &self);
		printf("resumed_per_s %.0f\n", resumed);
		printf("resumed_cpu_us %.0f\n", cpu);
		printf("resumed_self_us %.0f\n", self);
		printf("resume_failed %d\n", B.failed);
	}
	fflush(stdout);
	_exit(0); /* the console sees the connections drop */
}
