/*
 * qh-rfbserve: a test-only RFB server: the X display in $DISPLAY served by
 * the agent's own engine (agent/rfbsess.c, agent/rfb*.c) over plain TCP on
 * 127.0.0.1, to one viewer; it exits when the viewer leaves. For the
 * end-to-end tests and the benchmark, before the channel path exists.
 *
 *   qh-rfbserve --port PORT [--control] [--screen N] [--record FILE.fbs]
 *
 * --port 0 picks a free port; the line "listening on 127.0.0.1:PORT" tells
 * which. --record writes the session as FBS 001.000. At exit a line of
 * counters (captures, updates, bytes, encode time) goes to stderr.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/fbs.h"
#include "qh/log.h"
#include "rfbsess.h"

#define READ_CHUNK (64 * 1024)
#define WRITE_MAX  (1024 * 1024)

static struct {
	uv_loop_t *loop;
	uv_tcp_t listener, client;
	uv_signal_t sigint, sigterm;
	uv_write_t wreq;
	uint8_t rbuf[READ_CHUNK];
	uint8_t *wbuf;
	int writing, reading, connected, done, status;
	size_t unconsumed; /* delivered to the session, not yet consumed */
	struct rfbsess *sess;
	int control, screen;
	int rec_fd;
	uint64_t rec_start;
	struct qh_buf rec;
	uint64_t started;
} srv = { .rec_fd = -1 };

static void finish(int status);

static void
print_stats(void)
{
	struct rfbsess_stats st;
	double secs = (uv_hrtime() - srv.started) / 1e9;

	if (srv.sess == NULL)
		return;
	rfbsess_get_stats(srv.sess, &st);
	fprintf(stderr,
	    "qh-rfbserve: %.1f s, captures %llu (%.1f ms each), updates %llu, rects "
	    "%llu, "
	    "copyrects %llu, raw %llu, zrle %llu, tight fill/palette/basic/jpeg "
	    "%llu/%llu/%llu/%llu, "
	    "bytes %llu, encode %.1f ms\n",
	    secs, (unsigned long long)st.captures,
	    st.captures ? st.capture_us / 1000.0 / st.captures : 0.0,
	    (unsigned long long)st.rfb.updates, (unsigned long long)st.rfb.rects,
	    (unsigned long long)st.rfb.copyrects, (unsigned long long)st.rfb.raw,
	    (unsigned long long)st.rfb.zrle, (unsigned long long)st.rfb.tight_fill,
	    (unsigned long long)st.rfb.tight_palette,
	    (unsigned long long)st.rfb.tight_basic, (unsigned long long)st.rfb.tight_jpeg,
	    (unsigned long long)st.rfb.bytes, st.encode_us / 1000.0);
}

static void
on_closed(uv_handle_t *h QH_UNUSED)
{
}

/* Stops everything; the loop ends once the handles are closed. */
static void
finish(int status)
{
	if (srv.done)
		return;
	srv.done = 1;
	srv.status = status;
	print_stats();
	rfbsess_close(srv.sess);
	if (srv.connected)
		uv_close((uv_handle_t *)&srv.client, on_closed);
	if (!uv_is_closing((uv_handle_t *)&srv.listener))
		uv_close((uv_handle_t *)&srv.listener, on_closed);
	uv_close((uv_handle_t *)&srv.sigint, on_closed);
	uv_close((uv_handle_t *)&srv.sigterm, on_closed);
}

/* The recording: each piece of the stream as one FBS block. */
static void
on_tap(void *arg QH_UNUSED, const uint8_t *p, size_t len)
{
	uint32_t ms = (uint32_t)((uv_hrtime() - srv.rec_start) / 1000000);
	size_t off;
	ssize_t n;

	while (len > 0) {
		off = len < QH_FBS_BLOCK_MAX ? len : QH_FBS_BLOCK_MAX;
		qh_buf_reset(&srv.rec);
		if (qh_fbs_put_block(&srv.rec, p, off, ms) != 0)
			return;
		for (size_t w = 0; w < qh_buf_len(&srv.rec); w += (size_t)n)
			if ((n = write(srv.rec_fd, qh_buf_ptr(&srv.rec) + w,
				 qh_buf_len(&srv.rec) - w)) <= 0)
				return;
		p += off;
		len -= off;
	}
}

static void
on_write(uv_write_t *req QH_UNUSED, int status)
{
	srv.writing = 0;
	if (status < 0) {
		finish(0);
		return;
	}
	if (!srv.done)
		rfbsess_writable(srv.sess);
}

/* Takes what the socket takes now, and up to WRITE_MAX more for one uv_write. */
static ssize_t
io_write(void *arg QH_UNUSED, const uint8_t *p, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
	size_t taken = 0, rest;
	int n;

	if (srv.writing || srv.done)
		return 0;
	n = uv_try_write((uv_stream_t *)&srv.client, &b, 1);
	if (n < 0 && n != UV_EAGAIN)
		return QH_ERR_CLOSED;
	if (n > 0)
		taken = (size_t)n;
	if (taken == len)
		return (ssize_t)taken;
	rest = len - taken < WRITE_MAX ? len - taken : WRITE_MAX;
	memcpy(srv.wbuf, p + taken, rest);
	b = uv_buf_init((char *)srv.wbuf, (unsigned)rest);
	if (uv_write(&srv.wreq, (uv_stream_t *)&srv.client, &b, 1, on_write) != 0)
		return QH_ERR_CLOSED;
	srv.writing = 1;
	return (ssize_t)(taken + rest);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void
on_alloc(uv_handle_t *h QH_UNUSED, size_t size QH_UNUSED, uv_buf_t *b)
{
	*b = uv_buf_init((char *)srv.rbuf, sizeof(srv.rbuf));
}

/* Reads while the session's input has room for a whole chunk more. */
static void
read_control(void)
{
	int want = !srv.done && srv.unconsumed + READ_CHUNK <= RFB_INPUT_MAX;

	if (want && !srv.reading)
		uv_read_start((uv_stream_t *)&srv.client, on_alloc, on_read);
	else if (!want && srv.reading)
		uv_read_stop((uv_stream_t *)&srv.client);
	srv.reading = want;
}

static void
io_consumed(void *arg QH_UNUSED, size_t n)
{
	srv.unconsumed -= n;
	read_control();
}

static void
io_failed(void *arg QH_UNUSED, int err QH_UNUSED, const char *why)
{
	qh_warn("session: %s", why);
	finish(1);
}

static const struct rfbsess_io io = { io_write, io_consumed, io_failed };

static void
on_read(uv_stream_t *s QH_UNUSED, ssize_t n, const uv_buf_t *b)
{
	if (n < 0) {
		qh_info("the viewer left");
		finish(0);
		return;
	}
	srv.unconsumed += (size_t)n;
	if (rfbsess_input(srv.sess, (const uint8_t *)b->base, (size_t)n) != 0) {
		finish(1);
		return;
	}
	read_control();
}

static void
on_connection(uv_stream_t *l, int status)
{
	char why[256];

	if (status < 0 || srv.connected)
		return;
	uv_tcp_init(srv.loop, &srv.client);
	if (uv_accept(l, (uv_stream_t *)&srv.client) != 0) {
		uv_close((uv_handle_t *)&srv.client, on_closed);
		return;
	}
	srv.connected = 1;
	uv_close((uv_handle_t *)&srv.listener, on_closed); /* one viewer only */
	uv_tcp_nodelay(&srv.client, 1);
	if (rfbsess_new(srv.loop, srv.screen, "qh-rfbserve", &io, NULL, &srv.sess, why,
		sizeof(why)) != 0) {
		fprintf(stderr, "qh-rfbserve: %s\n", why);
		finish(1);
		return;
	}
	rfbsess_set_control(srv.sess, srv.control);
	if (srv.rec_fd >= 0)
		rfbsess_set_tap(srv.sess, on_tap, NULL);
	srv.started = srv.rec_start = uv_hrtime();
	rfbsess_writable(srv.sess); /* the server speaks first */
	read_control();
}

static void
on_signal(uv_signal_t *h QH_UNUSED, int signum QH_UNUSED)
{
	finish(0);
}

/* Opens the recording and writes its magic; 0 or QH_EXIT_FAIL. */
static int
record_open(struct qh_cli *c, const char *path)
{
	qh_buf_init(&srv.rec, QH_FBS_BLOCK_SIZE(QH_FBS_BLOCK_MAX));
	if ((srv.rec_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
		-1 ||
	    qh_fbs_put_header(&srv.rec) != 0 ||
	    write(srv.rec_fd, qh_buf_ptr(&srv.rec), qh_buf_len(&srv.rec)) !=
		QH_FBS_MAGIC_LEN)
		return qh_cli_fail(c, "cannot write %s", path);
	return 0;
}

static int
cmd_serve(struct qh_cli *c)
{
	struct sockaddr_in sa;
	struct sockaddr_storage bound;
	long long port = 0, screen = 0;
	int len = sizeof(bound), r;

	if (qh_cli_opt(c, "port") == NULL ||
	    qh_parse_int(qh_cli_opt(c, "port"), 0, 65535, &port) != 0)
		return qh_cli_usage(c, "--port PORT (0 for any) is required");
	if (qh_cli_opt(c, "screen") != NULL &&
	    qh_parse_int(qh_cli_opt(c, "screen"), 0, 255, &screen) != 0)
		return qh_cli_usage(c, "bad --screen");
	if (qh_cli_opt(c, "log-level") != NULL) {
		if ((r = qh_log_level_parse(qh_cli_opt(c, "log-level"))) < 0)
			return qh_cli_usage(c, "bad --log-level");
		qh_log_init("qh-rfbserve", (enum qh_log_level)r);
	}
	srv.control = qh_cli_flag(c, "control");
	srv.screen = (int)screen;
	if (qh_cli_opt(c, "record") != NULL &&
	    record_open(c, qh_cli_opt(c, "record")) != 0)
		return QH_EXIT_FAIL;
	if ((srv.wbuf = malloc(WRITE_MAX)) == NULL)
		return qh_cli_fail(c, "out of memory");
	srv.loop = uv_default_loop();
	uv_tcp_init(srv.loop, &srv.listener);
	uv_ip4_addr("127.0.0.1", (int)port, &sa);
	if ((r = uv_tcp_bind(&srv.listener, (const struct sockaddr *)&sa, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&srv.listener, 1, on_connection)) != 0)
		return qh_cli_fail(c, "cannot listen on 127.0.0.1:%lld: %s", port,
		    uv_strerror(r));
	uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&bound, &len);
	printf("listening on 127.0.0.1:%d\n",
	    ntohs(((struct sockaddr_in *)&bound)->sin_port));
	fflush(stdout);
	uv_signal_init(srv.loop, &srv.sigint);
	uv_signal_start(&srv.sigint, on_signal, SIGINT);
	uv_signal_init(srv.loop, &srv.sigterm);
	uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	uv_loop_close(srv.loop);
	if (srv.rec_fd >= 0)
		close(srv.rec_fd);
	qh_buf_release(&srv.rec);
	free(srv.wbuf);
	return srv.status;
}

static const struct qh_cli_cmd serve_entry = {
	.name = "serve",
	.usage = "--port PORT [--control] [--screen N] [--record FILE]",
	.summary = "serve $DISPLAY over RFB to one viewer",
	.opts = { QH_OPT("port"), QH_FLAG("control"), QH_OPT("screen"), QH_OPT("record"),
	    QH_OPT("log-level") },
	.exec = cmd_serve,
};

static const struct qh_cli_cmd *const commands[] = { &serve_entry, NULL };

int
main(int argc, char **argv)
{
	const char *lvl = getenv("QH_LOG_LEVEL");
	int level = lvl != NULL ? qh_log_level_parse(lvl) : -1;

	qh_log_init("qh-rfbserve", level >= 0 ? (enum qh_log_level)level : QH_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	return qh_cli_main("qh-rfbserve", commands, "serve", NULL, argc, argv);
}
