/*
 * qh-testpeer: a test-only peer of the transport. It serves and consumes
 * byte streams over real channels between two processes, misbehaves on
 * purpose (oversized frames, unknown types, unknown channels, data past
 * the window) and mints the odd certificates the refusal tests need.
 *
 *   qh-testpeer serve  --state DIR --listen ADDR:PORT [--stall]
 *   qh-testpeer stream --bundle FILE --size BYTES
 *   qh-testpeer request --bundle FILE --cmd NAME
 *   qh-testpeer bad    --bundle FILE --kind KIND
 *   qh-testpeer cert   --state DIR --kind expired|norole|otherca --out FILE
 */
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "qh/addr.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/wire.h"

static uv_loop_t *loop;
static int exit_status = 1;
static int stall;

/* A deterministic byte stream: both ends can hash what the other sends. */
static void
fill_pattern(uint8_t *p, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ULL;

		p[i] = (uint8_t)(x >> 56);
	}
}

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* One stream transfer: send `size` pattern bytes, hash what comes back. */
struct stream {
	struct qh_chan *ch;
	uint64_t size, sent, received, held;
	EVP_MD_CTX *rx, *tx;
	int eof_sent, got_eof, is_server;
	uv_timer_t report;
};

static void stream_finish(struct stream *s);

static void
stream_pump(struct stream *s)
{
	uint8_t chunk[64 * 1024];
	ssize_t n;

	while (s->sent < s->size) {
		size_t want = sizeof(chunk);

		if (s->size - s->sent < want)
			want = (size_t)(s->size - s->sent);
		fill_pattern(chunk, want, s->sent);
		if ((n = qh_chan_write(s->ch, 0, chunk, want)) <= 0)
			return; /* on_writable resumes */
		EVP_DigestUpdate(s->tx, chunk, (size_t)n);
		s->sent += (uint64_t)n;
	}
	if (!s->eof_sent) {
		uint8_t d[32];
		char h[65];

		EVP_DigestFinal_ex(s->tx, d, NULL);
		hex(d, 32, h);
		if (s->is_server)
			fprintf(stderr, "server: sent %" PRIu64 " sha256 %s\n", s->sent,
			    h);
		else
			printf("sent %" PRIu64 " sha256 %s\n", s->sent, h);
		s->eof_sent = 1;
		qh_chan_eof(s->ch);
		if (s->is_server && s->got_eof)
			stream_finish(s);
	}
}

static void
stream_on_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	struct stream *s = qh_chan_arg(ch);

	EVP_DigestUpdate(s->rx, p, len);
	s->received += len;
	if (stall && s->is_server) {
		s->held += len; /* a reader that stops reading: no credit */
		return;
	}
	qh_chan_consume(ch, len);
}

static void
stream_finish(struct stream *s)
{
	uint8_t d[32];
	char h[65];
	struct qh_buf b;

	if (s->is_server && !(s->got_eof && s->eof_sent))
		return; /* the hash follows our own EOF */
	EVP_DigestFinal_ex(s->rx, d, NULL);
	hex(d, 32, h);
	if (s->is_server) {
		qh_buf_init(&b, 1024);
		qh_msg_begin(&b, QH_MSG_EXIT);
		qh_msg_put(&b, QH_K_HASH, d, 32);
		qh_msg_put_u64(&b, QH_K_SIZE, s->received);
		qh_chan_send_msg(s->ch, &b);
		qh_buf_release(&b);
		fprintf(stderr, "server: received %" PRIu64 " bytes sha256 %s\n",
		    s->received, h);
	} else {
		printf("received %" PRIu64 " sha256 %s\n", s->received, h);
	}
}

static void
stream_on_eof(struct qh_chan *ch)
{
	struct stream *s = qh_chan_arg(ch);

	s->got_eof = 1;
	stream_finish(s);
}

static void
stream_on_writable(struct qh_chan *ch)
{
	stream_pump(qh_chan_arg(ch));
}

static void
stream_freed(uv_handle_t *h)
{
	struct stream *s = h->data;

	EVP_MD_CTX_free(s->rx);
	EVP_MD_CTX_free(s->tx);
	free(s);
}

static void
stream_on_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct stream *s = qh_chan_arg(ch);
	const uint8_t *h;
	size_t len;
	char hx[65];
	uint64_t size = 0;

	if (m->type != QH_MSG_EXIT || qh_msg_get(m, QH_K_HASH, &h, &len) != 0 ||
	    len != 32)
		return;
	(void)qh_msg_get_u64(m, QH_K_SIZE, &size);
	hex(h, 32, hx);
	printf("peer received %" PRIu64 " sha256 %s\n", size, hx);
	exit_status = 0;
	uv_close((uv_handle_t *)&s->report, stream_freed);
	qh_chan_close(ch);
	qh_mux_close(qh_chan_mux(ch), 0, NULL);
}

static void
stream_on_close(struct qh_chan *ch)
{
	struct stream *s = qh_chan_arg(ch);

	uv_close((uv_handle_t *)&s->report, stream_freed);
}

static void
stream_on_open_result(struct qh_chan *ch, int err, const struct qh_msg *m QH_UNUSED)
{
	if (err != 0) {
		fprintf(stderr, "stream refused\n");
		qh_mux_close(qh_chan_mux(ch), 0, NULL);
		return;
	}
	stream_pump(qh_chan_arg(ch));
}

static const struct qh_chan_ops stream_ops = {
	.on_open_result = stream_on_open_result,
	.on_data = stream_on_data,
	.on_eof = stream_on_eof,
	.on_writable = stream_on_writable,
	.on_msg = stream_on_msg,
	.on_close = stream_on_close,
};

/* While stalled, the server reports what it holds and what its peer may send. */
static void
on_report(uv_timer_t *t)
{
	struct stream *s = t->data;
	struct qh_tls_stats st;

	if (s->is_server) {
		fprintf(stderr, "server: holding %" PRIu64 " bytes\n", s->held);
		return;
	}
	qh_tls_stats(qh_mux_tls(qh_chan_mux(s->ch)), &st);
	fprintf(stderr, "client: sent %" PRIu64 " queued %zu queued_max %zu\n", s->sent,
	    qh_tls_queued(qh_mux_tls(qh_chan_mux(s->ch))), st.queued_max);
}

static struct stream *
stream_new(int is_server, uint64_t size)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		qh_fatal("out of memory");
	s->is_server = is_server;
	s->size = size;
	s->rx = EVP_MD_CTX_new();
	s->tx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s->rx, EVP_sha256(), NULL);
	EVP_DigestInit_ex(s->tx, EVP_sha256(), NULL);
	uv_timer_init(loop, &s->report);
	s->report.data = s;
	return s;
}

/* serve */

static int
serve_on_open(struct qh_mux *mux QH_UNUSED, struct qh_chan *ch, const struct qh_msg *m)
{
	struct stream *s;
	uint64_t size = 0;

	(void)qh_msg_get_u64(m, QH_K_SIZE, &size);
	s = stream_new(1, size);
	s->ch = ch;
	qh_chan_accept(ch, 0, &stream_ops, s);
	if (stall)
		uv_timer_start(&s->report, on_report, 200, 200);
	stream_pump(s);
	return 0;
}

static const struct qh_mux_ops serve_ops = {
	.on_open = serve_on_open,
};

static struct qh_tls_ctx *server_ctx;

static void
on_connection(uv_stream_t *server, int status)
{
	struct qh_mux *mux;

	if (status < 0)
		return;
	if ((mux = qh_mux_new(loop, server_ctx, QH_TLS_SERVER, NULL, NULL, &serve_ops,
		 NULL)) == NULL)
		return;
	if (uv_accept(server, (uv_stream_t *)qh_mux_tcp(mux)) != 0 ||
	    qh_mux_start(mux) != 0)
		qh_mux_close(mux, QH_ERR_SYSTEM, "accept failed");
}

static int
load_state(const char *dir, X509 **cert, EVP_PKEY **key, X509 **ca, EVP_PKEY **cakey)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/console.pem", dir);
	if (cert && qh_pki_load_cert(p, cert) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/console-key.pem", dir);
	if (key && qh_pki_load_key(p, key) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	if (ca && qh_pki_load_cert(p, ca) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/ca-key.pem", dir);
	if (cakey && qh_pki_load_key(p, cakey) != 0)
		return -1;
	return 0;
}

static int
cmd_serve(struct qh_cli *c)
{
	X509 *cert, *ca;
	EVP_PKEY *key;
	uv_tcp_t listener;
	struct sockaddr_storage ss;
	char host[256];
	int port;

	stall = qh_cli_flag(c, "stall");
	if (load_state(qh_cli_opt(c, "state"), &cert, &key, &ca, NULL) != 0)
		return qh_cli_fail(c, "cannot load state");
	if (qh_tls_ctx_server(&server_ctx, cert, key, ca) != 0)
		return qh_cli_fail(c, "tls context");
	if (qh_split_hostport(qh_cli_opt(c, "listen"), host, sizeof(host), &port) != 0 ||
	    uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0)
		return qh_cli_usage(c, "bad --listen");
	uv_tcp_init(loop, &listener);
	if (uv_tcp_bind(&listener, (struct sockaddr *)&ss, 0) != 0 ||
	    uv_listen((uv_stream_t *)&listener, 64, on_connection) != 0)
		return qh_cli_fail(c, "cannot listen on %s", qh_cli_opt(c, "listen"));
	fprintf(stderr, "listening\n");
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}

/* Clients. */

struct client {
	struct qh_bundle b;
	struct qh_tls_ctx *ctx;
	uv_connect_t creq;
	const char *kind; /* bad: what to send */
	const char *cmd;  /* request: command */
	uint64_t size;
	struct stream *s;
};

static struct client cl;

static void
request_on_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	fwrite(p, 1, len, stdout);
	qh_chan_consume(ch, len);
}

static void
request_on_eof(struct qh_chan *ch)
{
	exit_status = 0;
	qh_chan_close(ch);
	qh_mux_close(qh_chan_mux(ch), 0, NULL);
}

static void
request_on_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	char *text = NULL;

	if (err != 0) {
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		fprintf(stderr, "refused: %s\n", text ? text : "?");
		free(text);
		qh_mux_close(qh_chan_mux(ch), 0, NULL);
		return;
	}
	if (cl.kind != NULL && strcmp(cl.kind, "beyond-window") == 0) {
		/* Send the default window plus one byte, bypassing our own checks. */
		struct qh_tls_conn *tls = qh_mux_tls(qh_chan_mux(ch));
		static uint8_t chunk[QH_WIRE_MAX_PAYLOAD];
		size_t left = QH_MUX_WINDOW + 1, n;

		while (left > 0) {
			n = left < sizeof(chunk) ? left : sizeof(chunk);
			qh_wire_put_frame(qh_tls_outbuf(tls), QH_FRAME_DATA, 1, chunk, n);
			left -= n;
		}
		qh_tls_kick(tls);
	}
}

static const struct qh_chan_ops request_ops = {
	.on_open_result = request_on_open_result,
	.on_data = request_on_data,
	.on_eof = request_on_eof,
};

static void
open_request(struct qh_mux *mux, const char *cmd)
{
	struct qh_buf b;

	qh_buf_init(&b, 1024);
	qh_msg_begin(&b, QH_MSG_REQUEST);
	qh_msg_put_str(&b, QH_K_CMD, cmd);
	if (qh_chan_open(mux, &b, 0, &request_ops, NULL) == NULL)
		qh_fatal("cannot open channel");
	qh_buf_release(&b);
}

static int
client_on_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct qh_tls_conn *tls = qh_mux_tls(mux);
	struct qh_buf *out = qh_tls_outbuf(tls);
	struct qh_buf b;
	static uint8_t big[QH_WIRE_MAX_PAYLOAD + 1];

	if (cl.s != NULL) {
		qh_buf_init(&b, 1024);
		qh_msg_begin(&b, QH_MSG_REQUEST);
		qh_msg_put_str(&b, QH_K_CMD, "stream");
		qh_msg_put_u64(&b, QH_K_SIZE, cl.size);
		cl.s->ch = qh_chan_open(mux, &b, 0, &stream_ops, cl.s);
		qh_buf_release(&b);
		uv_timer_start(&cl.s->report, on_report, 200, 200);
		return 0;
	}
	if (cl.cmd != NULL) {
		open_request(mux, cl.cmd);
		return 0;
	}
	/* Misbehaviours. */
	if (strcmp(cl.kind, "oversized") == 0) {
		qh_wire_put_header(out, QH_FRAME_DATA, 1, 0);
		/* Patch the length past the maximum, then send a body. */
		qh_buf_unreserve(out, 4);
		qh_buf_put_u32(out, QH_WIRE_MAX_PAYLOAD + 1);
		qh_buf_put(out, big, sizeof(big));
	} else if (strcmp(cl.kind, "unknown-type") == 0) {
		uint8_t hdr[9] = { 200, 0, 0, 0, 0, 0, 0, 0, 0 };

		qh_buf_put(out, hdr, sizeof(hdr));
	} else if (strcmp(cl.kind, "unknown-channel") == 0) {
		qh_wire_put_frame(out, QH_FRAME_DATA, 77, "x", 1);
	} else if (strcmp(cl.kind, "beyond-window") == 0) {
		open_request(mux, "queue");
		return 0;
	} else if (strcmp(cl.kind, "bad-message") == 0) {
		uint8_t msg[3] = { QH_MSG_REQUEST, 99, 0 };

		qh_wire_put_frame(out, QH_FRAME_CONTROL, 0, msg, sizeof(msg));
	} else
		qh_fatal("unknown --kind %s", cl.kind);
	qh_tls_kick(tls);
	return 0;
}

static void
client_on_close(struct qh_mux *mux QH_UNUSED, int err)
{
	if (cl.kind != NULL) {
		/* A misbehaving peer succeeds when the console hangs up on it. */
		printf("closed by console: %s\n", qh_strerror(err));
		exit_status = 0;
	}
}

static const struct qh_mux_ops client_ops = {
	.on_ready = client_on_ready,
	.on_close = client_on_close,
};

static void
on_connect(uv_connect_t *req, int status)
{
	struct qh_mux *mux = req->data;

	if (status < 0) {
		fprintf(stderr, "connect: %s\n", uv_strerror(status));
		qh_mux_close(mux, qh_err_from_uv(status), NULL);
		return;
	}
	qh_mux_start(mux);
}

static int
client_run(struct qh_cli *c)
{
	char host[256];
	struct sockaddr_in sin;
	struct qh_mux *mux;
	int port;

	if (qh_bundle_load(qh_cli_opt(c, "bundle"), &cl.b) != 0)
		return qh_cli_fail(c, "cannot load bundle");
	if (qh_tls_ctx_client(&cl.ctx, cl.b.cert, cl.b.key, cl.b.ca) != 0)
		return qh_cli_fail(c, "tls context");
	if (qh_split_hostport(cl.b.console, host, sizeof(host), &port) != 0 ||
	    uv_ip4_addr(host, port, &sin) != 0)
		return qh_cli_fail(c, "bad console address");
	mux = qh_mux_new(loop, cl.ctx, QH_TLS_CLIENT, host, NULL, &client_ops, NULL);
	cl.creq.data = mux;
	uv_tcp_connect(&cl.creq, qh_mux_tcp(mux), (struct sockaddr *)&sin, on_connect);
	uv_run(loop, UV_RUN_DEFAULT);
	return exit_status;
}

static int
cmd_stream(struct qh_cli *c)
{
	long long size;
	struct qh_tls_stats st;

	if (qh_parse_int(qh_cli_opt(c, "size"), 0, 1LL << 40, &size) != 0)
		return qh_cli_usage(c, "bad --size");
	cl.size = (uint64_t)size;
	cl.s = stream_new(0, cl.size);
	(void)st;
	return client_run(c);
}

static int
cmd_request(struct qh_cli *c)
{
	cl.cmd = qh_cli_opt(c, "cmd");
	return client_run(c);
}

static int
cmd_bad(struct qh_cli *c)
{
	cl.kind = qh_cli_opt(c, "kind");
	if (cl.kind == NULL)
		return qh_cli_usage(c, "--kind is required");
	return client_run(c);
}

/* Re-signs cert with the CA key after the caller changed it. */
static void
resign(X509 *cert, EVP_PKEY *cakey)
{
	if (X509_sign(cert, cakey, EVP_sha256()) == 0)
		qh_fatal("sign failed");
}

static int
cmd_cert(struct qh_cli *c)
{
	const char *kind = qh_cli_opt(c, "kind");
	struct qh_bundle b;
	X509 *ca, *cert, *otherca = NULL;
	EVP_PKEY *cakey, *key, *otherkey = NULL;

	if (kind == NULL || qh_cli_opt(c, "out") == NULL ||
	    qh_cli_opt(c, "state") == NULL)
		return qh_cli_usage(c, "--kind, --out and --state are required");
	if (load_state(qh_cli_opt(c, "state"), NULL, NULL, &ca, &cakey) != 0)
		return qh_cli_fail(c, "cannot load state");
	if (qh_pki_key_new(&key) != 0)
		return qh_cli_fail(c, "key");
	if (strcmp(kind, "otherca") == 0) {
		if (qh_pki_key_new(&otherkey) != 0 ||
		    qh_pki_ca_new(otherkey, "impostor", &otherca) != 0 ||
		    qh_pki_issue(otherca, otherkey, key, QH_ROLE_TECHNICIAN, "mallory",
			NULL, 30, &cert) != 0)
			return qh_cli_fail(c, "issue");
	} else if (qh_pki_issue(ca, cakey, key, QH_ROLE_TECHNICIAN, "mallory", NULL, 30,
		       &cert) != 0)
		return qh_cli_fail(c, "issue");
	if (strcmp(kind, "expired") == 0) {
		X509_gmtime_adj(X509_getm_notBefore(cert), -10 * 86400);
		X509_gmtime_adj(X509_getm_notAfter(cert), -86400);
		resign(cert, cakey);
	} else if (strcmp(kind, "norole") == 0) {
		X509_NAME *n = X509_NAME_new();

		X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
		    (const unsigned char *)"quarterhour", -1, -1, 0);
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		    (const unsigned char *)"mallory", -1, -1, 0);
		X509_set_subject_name(cert, n);
		X509_NAME_free(n);
		resign(cert, cakey);
	} else if (strcmp(kind, "otherca") != 0)
		return qh_cli_usage(c, "unknown --kind");
	memset(&b, 0, sizeof(b));
	snprintf(b.console, sizeof(b.console), "%s",
	    qh_cli_opt(c, "console") ? qh_cli_opt(c, "console") : "127.0.0.1:1");
	b.cert = cert;
	b.key = key;
	b.ca = ca;
	if (qh_bundle_write(qh_cli_opt(c, "out"), &b) != 0)
		return qh_cli_fail(c, "cannot write bundle");
	return 0;
}

static const struct qh_cli_cmd cmd_serve_entry = {
	.name = "serve",
	.usage = "--state DIR --listen ADDR:PORT [--stall]",
	.opts = { { "state", 0, 1, 0 }, { "listen", 0, 1, 0 }, { "stall", 0, 0, 0 } },
	.max_args = 0,
	.exec = cmd_serve,
};

static const struct qh_cli_cmd cmd_stream_entry = {
	.name = "stream",
	.usage = "--bundle FILE --size BYTES",
	.opts = { { "bundle", 0, 1, 0 }, { "size", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_stream,
};

static const struct qh_cli_cmd cmd_request_entry = {
	.name = "request",
	.usage = "--bundle FILE --cmd NAME",
	.opts = { { "bundle", 0, 1, 0 }, { "cmd", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_request,
};

static const struct qh_cli_cmd cmd_bad_entry = {
	.name = "bad",
	.usage = "--bundle FILE --kind KIND",
	.opts = { { "bundle", 0, 1, 0 }, { "kind", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_bad,
};

static const struct qh_cli_cmd cmd_cert_entry = {
	.name = "cert",
	.usage = "--state DIR --kind KIND --out FILE [--console ADDR]",
	.opts = { { "state", 0, 1, 0 }, { "kind", 0, 1, 0 }, { "out", 0, 1, 0 },
	    { "console", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_cert,
};

static const struct qh_cli_cmd *const commands[] = {
	&cmd_serve_entry,
	&cmd_stream_entry,
	&cmd_request_entry,
	&cmd_bad_entry,
	&cmd_cert_entry,
	NULL,
};

int
main(int argc, char **argv)
{
	int status;

	qh_log_init("qh-testpeer", QH_LOG_INFO);
	/* A peer that hangs up shows as EPIPE from write, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	status = qh_cli_main("qh-testpeer", commands, NULL, NULL, argc, argv);
	return status;
}
