/*
 * qh-fakeagent: a test-only agent that says what a test wants it to say,
 * for the tests of what the console and the technician's client do with
 * hostile text from a PC.
 *
 *   qh-fakeagent hello --bundle FILE --host TEXT [--error TEXT] [--info TEXT]
 *	connects with an enrolled agent's bundle and sends HELLO with that
 *	host; prints "welcome CODE" or "refused: TEXT". Once welcomed it
 *	stays, consents to every technician, answers info with the --info
 *	text as its facts and every other command with exit status 1 and the
 *	--error text, as a failed pull does.
 *   qh-fakeagent join --token TOKEN --host TEXT
 *	sends JOIN with that host and a fresh key's CSR; prints "joined" or
 *	"refused: TEXT".
 *
 * Exits 0 once it printed an answer and the console closed the connection,
 * 1 when the console answered nothing it knows.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "qh/wire.h"

static struct {
	uv_loop_t *loop;
	const char *host;  /* the HOST to send */
	const char *error; /* hello: the answer to every command */
	const char *info;  /* hello: the facts info gets */
	const char *token; /* join: the token's secret */
	char *csr;	   /* join: the CSR's PEM */
	char why[256];	   /* a failed dial's reason */
	int answered;
} fa;

/* Prints the console's ERROR text as it came. */
static void
print_refusal(const struct qh_msg *m)
{
	char *text = NULL;

	(void)qh_msg_get_str(m, QH_K_TEXT, &text);
	printf("refused: %s\n", text != NULL ? text : "");
	fflush(stdout);
	free(text);
	fa.answered = 1;
}

static int
hello_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 1024);
	if ((r = qh_msg_begin(&b, QH_MSG_HELLO)) == 0 &&
	    (r = qh_msg_put(&b, QH_K_HOST, fa.host, strlen(fa.host))) == 0 &&
	    (r = qh_msg_put_u32(&b, QH_K_FLAGS, 0)) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	return r;
}

/* WELCOME and ERROR are printed; every CONSENT is given. */
static int
hello_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct qh_buf b;
	char *code = NULL;
	uint64_t id;
	uint8_t yes = 1;

	switch (m->type) {
	case QH_MSG_WELCOME:
		(void)qh_msg_get_str(m, QH_K_CODE, &code);
		printf("welcome %s\n", code != NULL ? code : "?");
		fflush(stdout);
		free(code);
		fa.answered = 1;
		break;
	case QH_MSG_ERROR:
		print_refusal(m);
		break;
	case QH_MSG_CONSENT:
		if (qh_msg_get_u64(m, QH_K_ID, &id) != 0)
			break;
		qh_buf_init(&b, 64);
		if (qh_msg_begin(&b, QH_MSG_CONSENT_REPLY) == 0 &&
		    qh_msg_put_u64(&b, QH_K_ID, id) == 0 &&
		    qh_msg_put(&b, QH_K_ALLOW, &yes, 1) == 0)
			(void)qh_mux_send_control(mux, &b);
		qh_buf_release(&b);
		break;
	default:
		break;
	}
	return 0;
}

static const struct qh_chan_ops task_ops = { 0 };

/*
 * info gets the --info text as its facts; every other command fails with
 * the --error text, as a pull of a missing file does.
 */
static int
hello_open(struct qh_mux *mux QH_UNUSED, struct qh_chan *ch, const struct qh_msg *m)
{
	const uint8_t *cmd;
	size_t len;
	int info;
	struct qh_buf b;

	info = qh_msg_get(m, QH_K_CMD, &cmd, &len) == 0 && len == 4 &&
	    memcmp(cmd, "info", 4) == 0;
	if (qh_chan_accept(ch, 0, &task_ops, NULL) != 0)
		return 0;
	if (info)
		(void)qh_chan_write(ch, 0, fa.info, strlen(fa.info));
	qh_buf_init(&b, QH_MSG_MAX_LEN);
	if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
	    qh_msg_put_u32(&b, QH_K_STATUS, info ? 0 : 1) == 0 &&
	    (info || qh_msg_put(&b, QH_K_TEXT, fa.error, strlen(fa.error)) == 0) &&
	    qh_msg_put_u64(&b, QH_K_SIZE, 0) == 0)
		(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	(void)qh_chan_eof(ch);
	qh_chan_close(ch);
	return 0;
}

static void
on_close(struct qh_mux *mux QH_UNUSED, int err)
{
	if (!fa.answered)
		fprintf(stderr, "qh-fakeagent: no answer: %s %s\n", qh_strerror(err),
		    fa.why);
}

static const struct qh_mux_ops hello_ops = {
	.on_ready = hello_ready,
	.on_control = hello_control,
	.on_open = hello_open,
	.on_close = on_close,
};

static int
join_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, QH_MUX_JOIN_MAX);
	if ((r = qh_msg_begin(&b, QH_MSG_JOIN)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_TOKEN, fa.token)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CSR, fa.csr)) == 0 &&
	    (r = qh_msg_put(&b, QH_K_HOST, fa.host, strlen(fa.host))) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	return r;
}

static int
join_control(struct qh_mux *mux, const struct qh_msg *m)
{
	if (m->type == QH_MSG_JOIN_OK) {
		printf("joined\n");
		fflush(stdout);
		fa.answered = 1;
	} else if (m->type == QH_MSG_ERROR)
		print_refusal(m);
	qh_mux_close(mux, 0, NULL);
	return 0;
}

static const struct qh_mux_ops join_ops = {
	.on_ready = join_ready,
	.on_control = join_control,
	.on_close = on_close,
};

/* Dials console (ADDR:PORT) and runs the loop until the connection is gone. */
static int
run(const char *console, struct qh_tls_ctx *ctx, enum qh_tls_mode mode, const char *pin,
    const struct qh_mux_ops *ops)
{
	char host[256];
	struct qh_mux *mux;
	int port;

	if (qh_split_hostport(console, host, sizeof(host), &port) != 0)
		return 1;
	if ((mux = qh_mux_new(fa.loop, ctx, mode, host, pin, ops, NULL)) == NULL)
		return 1;
	(void)qh_mux_dial(mux, host, port, 20000, fa.why, sizeof(fa.why));
	uv_run(fa.loop, UV_RUN_DEFAULT);
	return fa.answered ? 0 : 1;
}

static int
cmd_hello(struct qh_cli *c)
{
	struct qh_bundle b;
	struct qh_tls_ctx *ctx = NULL;

	fa.host = qh_cli_opt(c, "host");
	fa.error = qh_cli_opt(c, "error") ? qh_cli_opt(c, "error") : "failed";
	fa.info = qh_cli_opt(c, "info") ? qh_cli_opt(c, "info") : "{}";
	if (qh_cli_opt(c, "bundle") == NULL || fa.host == NULL)
		return qh_cli_usage(c, "--bundle and --host are required");
	if (qh_bundle_load(qh_cli_opt(c, "bundle"), &b) != 0 ||
	    qh_tls_ctx_client(&ctx, b.cert, b.key, b.ca) != 0)
		return qh_cli_fail(c, "cannot use the bundle");
	return run(b.console, ctx, QH_TLS_CLIENT, NULL, &hello_ops);
}

static int
cmd_join(struct qh_cli *c)
{
	struct qh_token t;
	struct qh_tls_ctx *ctx = NULL;
	EVP_PKEY *key = NULL;

	fa.host = qh_cli_opt(c, "host");
	if (qh_cli_opt(c, "token") == NULL || fa.host == NULL)
		return qh_cli_usage(c, "--token and --host are required");
	if (qh_token_decode(qh_cli_opt(c, "token"), &t) != 0)
		return qh_cli_fail(c, "not a join token");
	fa.token = t.secret;
	if (qh_pki_key_new(&key) != 0 || qh_pki_csr_new(key, &fa.csr) != 0 ||
	    qh_tls_ctx_client(&ctx, NULL, NULL, NULL) != 0)
		return qh_cli_fail(c, "cannot make a key and a CSR");
	return run(t.console, ctx, QH_TLS_CLIENT_PINNED, t.pin, &join_ops);
}

static const struct qh_cli_cmd cmd_hello_entry = {
	.name = "hello",
	.usage = "--bundle FILE --host TEXT [--error TEXT] [--info TEXT]",
	.opts = { { "bundle", 0, 1, 0 }, { "host", 0, 1, 0 }, { "error", 0, 1, 0 },
	    { "info", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_hello,
};

static const struct qh_cli_cmd cmd_join_entry = {
	.name = "join",
	.usage = "--token TOKEN --host TEXT",
	.opts = { { "token", 0, 1, 0 }, { "host", 0, 1, 0 } },
	.max_args = 0,
	.exec = cmd_join,
};

static const struct qh_cli_cmd *const commands[] = {
	&cmd_hello_entry,
	&cmd_join_entry,
	NULL,
};

int
main(int argc, char **argv)
{
	qh_log_init("qh-fakeagent", QH_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	fa.loop = uv_default_loop();
	return qh_cli_main("qh-fakeagent", commands, NULL, NULL, argc, argv);
}
