/*
 * qh-agent join TOKEN: enrols this PC. The key is made here and never
 * leaves; the console is verified against the CA pin the token carries
 * (there is no CA on this PC yet), gets the token's secret and a CSR in the
 * one message a peer without a certificate may send, and answers with our
 * certificate and its CA, which are checked again before they are stored
 * with the key in DIR/agent.pem. An agent program that `qh-console enroll
 * --exe` made carries its token at its end (qh/exetag.h): the first run
 * enrols with it (agent_exe_tag, agent_join), and nobody types anything.
 * One that `qh-console agent-package` made carries the console's address
 * and pin instead, and joins with a short code (`join --short CODE`): the
 * code takes the token's secret's place in the JOIN.
 *
 * The console binds the token to the key of the first CSR sent with it, so
 * a join whose answer was lost may ask again: the key is kept in
 * DIR/join-key.pem from before the first request until the certificate is
 * stored, a cut connection is retried with it, and so is a later
 * `qh-agent join` with the same token and DIR.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/exetag.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "agent.h"
#include "platform.h"

#define JOIN_TIMEOUT_MS 30000 /* all attempts; the console holds a JOIN for less */
#define JOIN_ATTEMPTS	3     /* connections cut before an answer are tried again */
#define JOIN_RETRY_MS	1000
#define JOIN_KEY_NAME	"join-key.pem" /* the key of an enrolment in progress */

struct join {
	uv_loop_t *loop;
	struct qh_token tok;
	char host[256];
	int port;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	char keypath[PATH_MAX]; /* DIR/join-key.pem */
	EVP_PKEY *key;
	char *csr;
	struct qh_tls_ctx *ctx;
	struct qh_mux *mux; /* NULL once closed */
	uv_timer_t timer;   /* JOIN_TIMEOUT_MS for all attempts */
	uv_timer_t retry;   /* JOIN_RETRY_MS before the next attempt */
	int attempts;	    /* connections made */
	int expired;	    /* the timer fired */
	char why[256];
	int answered; /* the console's answer was dealt with */
	int status;   /* exit status */
};

static int join_attempt(struct join *j);

/* Sends JOIN{token=secret, csr, host}. */
static int
join_ready(struct qh_mux *mux, const struct qh_identity *peer QH_UNUSED)
{
	struct join *j = qh_mux_arg(mux);
	struct qh_buf b;
	char host[256];
	size_t hlen = sizeof(host);
	int r;

	if (uv_os_gethostname(host, &hlen) != 0)
		snprintf(host, sizeof(host), "unknown");
	/* The console refuses a host name with controls: send what it shows. */
	qh_display_str(host, host, sizeof(host), 0);
	qh_buf_init(&b, QH_MUX_JOIN_MAX);
	if ((r = qh_msg_begin(&b, QH_MSG_JOIN)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_TOKEN, j->tok.secret)) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_CSR, j->csr)) == 0 &&
	    (r = qh_msg_put(&b, QH_K_HOST, host, strnlen(host, 255))) == 0 &&
	    (r = qh_msg_put_str(&b, QH_K_LANG, qh_lang_name(qh_lang_get()))) == 0)
		r = qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
	qh_debug("join request sent to %s", j->tok.console);
	return r;
}

/* Checks what JOIN_OK brought and stores it; returns the exit status. */
static int
join_store(struct join *j, const struct qh_msg *m)
{
	struct qh_bundle b;
	struct qh_identity id;
	X509 *cert = NULL, *ca = NULL;
	const uint8_t *p;
	size_t len;
	char fp[65], *customer = NULL, *name = NULL;
	int status = 1, r;

	memset(&b, 0, sizeof(b));
	if (qh_msg_get(m, QH_K_CA, &p, &len) != 0 ||
	    qh_pki_cert_parse((const char *)p, len, &ca) != 0 ||
	    qh_pki_fingerprint(ca, fp) != 0 || strcasecmp(fp, j->tok.pin) != 0) {
		qh_say(_("join failed: the console sent a CA that does not match the "
			 "token's pin"));
		goto out;
	}
	if (qh_msg_get(m, QH_K_CERT, &p, &len) != 0 ||
	    qh_pki_cert_parse((const char *)p, len, &cert) != 0) {
		qh_say(_("join failed: the console sent no readable certificate"));
		goto out;
	}
	if (X509_check_private_key(cert, j->key) != 1 ||
	    X509_verify(cert, X509_get0_pubkey(ca)) != 1 ||
	    qh_pki_identity(cert, &id) != 0 || id.role != QH_ROLE_AGENT) {
		qh_log_ssl_errors(QH_LOG_DEBUG, __func__, "certificate check");
		qh_say(_("join failed: the certificate from the console is not an agent "
			 "certificate for our key signed by the pinned CA"));
		goto out;
	}
	(void)qh_msg_get_str(m, QH_K_CUSTOMER, &customer);
	(void)qh_msg_get_str(m, QH_K_NAME, &name);
	if (plat_config_create(j->dir) != 0)
		goto out;
	snprintf(b.console, sizeof(b.console), "%s", j->tok.console);
	b.cert = cert;
	b.key = j->key;
	b.ca = ca;
	if ((r = qh_bundle_write(j->path, &b)) != 0) {
		if (r == QH_ERR_EXISTS)
			qh_say(_("already enrolled; remove %s to enrol again"), j->dir);
		else
			qh_say(_("cannot write %s: %s"), j->path, _(qh_strerror(r)));
		goto out;
	}
	if (unlink(j->keypath) != 0 && errno != ENOENT)
		qh_warn("%s: %s", j->keypath, strerror(errno));
	ui_sanitize(customer);
	if (name != NULL)
		ui_sanitize(name);
	if (name != NULL && *name != '\0')
		ui_line(_("enrolled as %s (%s) with console %s"), customer, name,
		    j->tok.console);
	else
		ui_line(_("enrolled as %s with console %s"), customer, j->tok.console);
	qh_info("enrolled: agent %s of %s, certificate %s", id.agent_id, id.id,
	    id.fingerprint);
	status = 0;
out:
	free(customer);
	free(name);
	X509_free(cert);
	X509_free(ca);
	return status;
}

static int
join_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct join *j = qh_mux_arg(mux);
	char *text = NULL;

	if (j->answered)
		return 0;
	j->answered = 1;
	switch (m->type) {
	case QH_MSG_JOIN_OK:
		j->status = join_store(j, m);
		break;
	case QH_MSG_ERROR:
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		ui_sanitize(text);
		qh_say(_("join refused: %s"), text);
		free(text);
		j->status = 1;
		break;
	default:
		qh_say(_("join failed: unexpected %s message from the console"),
		    qh_msg_name(m->type));
		j->status = 1;
		break;
	}
	qh_mux_close(mux, 0, NULL);
	return 0;
}

/* Closes the timers: the loop ends once the last handle is gone. */
static void
join_finish(struct join *j)
{
	if (!uv_is_closing((uv_handle_t *)&j->timer))
		uv_close((uv_handle_t *)&j->timer, NULL);
	if (!uv_is_closing((uv_handle_t *)&j->retry))
		uv_close((uv_handle_t *)&j->retry, NULL);
}

/* No answer came: says why, as the last attempt ended with err. */
static void
join_failed(struct join *j, int err)
{
	j->status = 1;
	if (j->why[0] != '\0')
		qh_say(_("cannot join: console %s: %s"), j->tok.console, j->why);
	else if (err == QH_ERR_TLS || err == QH_ERR_AUTH)
		qh_say(_("cannot join: the TLS handshake with %s failed (is it the "
			 "console the token came from?)"),
		    j->tok.console);
	else
		qh_say(_("cannot join: console %s: %s"), j->tok.console,
		    err != 0 ? _(qh_strerror(err)) : _("closed the connection"));
}

static void
join_retry(uv_timer_t *t)
{
	struct join *j = t->data;

	if (join_attempt(j) != 0) {
		j->status = 1;
		qh_say(_("cannot join: out of memory"));
		join_finish(j);
	}
}

static void
join_closed(struct qh_mux *mux, int err)
{
	struct join *j = qh_mux_arg(mux);

	j->mux = NULL;
	if (!j->answered && !j->expired && err != QH_ERR_TLS && err != QH_ERR_AUTH &&
	    j->attempts < JOIN_ATTEMPTS) {
		/* Cut before the answer: ask again with the same key. */
		qh_info("console %s: no answer (%s); trying again", j->tok.console,
		    j->why[0] != '\0' ? j->why : qh_strerror(err));
		uv_timer_start(&j->retry, join_retry, JOIN_RETRY_MS, 0);
		return;
	}
	if (!j->answered)
		join_failed(j, err);
	join_finish(j);
}

static const struct qh_mux_ops join_ops = {
	.on_ready = join_ready,
	.on_control = join_control,
	.on_close = join_closed,
};

static void
join_timeout(uv_timer_t *t)
{
	struct join *j = t->data;

	j->expired = 1;
	snprintf(j->why, sizeof(j->why), "no answer within %d s", JOIN_TIMEOUT_MS / 1000);
	if (j->mux != NULL) {
		qh_mux_close(j->mux, QH_ERR_TIMEOUT, NULL);
		return;
	}
	if (!j->answered) /* between attempts */
		join_failed(j, QH_ERR_TIMEOUT);
	join_finish(j);
}

/* Dials the console once more; the answer or the close comes to join_ops. */
static int
join_attempt(struct join *j)
{
	if ((j->mux = qh_mux_new(j->loop, j->ctx, QH_TLS_CLIENT_PINNED, j->host,
		 j->tok.pin, &join_ops, j)) == NULL)
		return QH_ERR_NOMEM;
	j->attempts++;
	j->why[0] = '\0';
	qh_debug("joining console %s (attempt %d)", j->tok.console, j->attempts);
	(void)qh_mux_dial(j->mux, j->host, j->port, JOIN_TIMEOUT_MS, j->why,
	    sizeof(j->why));
	return 0;
}

/*
 * The key to enrol with: the one an earlier attempt left in DIR, or a new
 * one, stored there (0600) before the console ever sees its CSR.
 */
static int
join_key(struct join *j)
{
	int r;

	if (plat_path_kind(j->keypath) != PLAT_NONE) {
		if ((r = qh_pki_load_key(j->keypath, &j->key)) != 0) {
			qh_say(_("%s: %s; remove it to enrol with a new key"), j->keypath,
			    _(qh_strerror(r)));
			return r;
		}
		qh_info("enrolling with the key of an earlier attempt (%s)", j->keypath);
		return 0;
	}
	if ((r = plat_config_create(j->dir)) != 0)
		return r;
	if ((r = qh_pki_key_new(&j->key)) != 0) {
		qh_say(_("cannot make a key: %s"), _(qh_strerror(r)));
		return r;
	}
	if ((r = qh_pki_write_key(j->keypath, j->key)) != 0) {
		qh_say(_("cannot write %s: %s"), j->keypath, _(qh_strerror(r)));
		return r;
	}
	return 0;
}

/* The vendor's name beside agent.pem, for the window; a failure only loses the name. */
static void
store_vendor(const char *dir, const char *vendor)
{
	char path[PATH_MAX + 16];
	FILE *f;

	if (vendor == NULL || vendor[0] == '\0' ||
	    plat_path_join(path, sizeof(path), dir, AGENT_VENDOR_NAME) != 0 ||
	    (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%s\n", vendor);
	if (fclose(f) != 0)
		qh_debug("%s: cannot write it", path);
}

/*
 * Reads the last bytes of this program's file, where a tag would be
 * (qh/exetag.h), into *tail (malloc'd, *len bytes). QH_ERR_NOT_FOUND when
 * the file cannot be read.
 */
static int
read_own_tail(uint8_t **tail, size_t *len)
{
	char path[PATH_MAX];
	size_t want = QH_EXETAG_MAX + 64;
	long size;
	FILE *f = NULL;
	int r = QH_ERR_NOT_FOUND;

	*tail = NULL;
	*len = 0;
	if (plat_exe_path(path, sizeof(path)) != 0 || (f = fopen(path, "rb")) == NULL)
		return QH_ERR_NOT_FOUND;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
		goto out;
	if ((size_t)size < want)
		want = (size_t)size;
	if ((*tail = malloc(want)) == NULL ||
	    fseek(f, size - (long)want, SEEK_SET) != 0 ||
	    fread(*tail, 1, want, f) != want)
		goto out;
	*len = want;
	r = 0;
out:
	if (r != 0) {
		free(*tail);
		*tail = NULL;
	}
	fclose(f);
	return r;
}

/* Enrols with tok (a token's fields, or a short code's); returns an exit status. */
static int
join_with(const struct qh_token *tok, const char *dir, const char *vendor)
{
	struct join *j;
	int status = 1;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		qh_say(_("out of memory"));
		return 1;
	}
	j->tok = *tok;
	if (qh_split_hostport(j->tok.console, j->host, sizeof(j->host), &j->port) != 0) {
		qh_say(_("the token names no usable console address"));
		goto out;
	}
	if (snprintf(j->dir, sizeof(j->dir), "%s", dir) >= (int)sizeof(j->dir) ||
	    plat_path_join(j->path, sizeof(j->path), j->dir, AGENT_BUNDLE_NAME) != 0 ||
	    plat_path_join(j->keypath, sizeof(j->keypath), j->dir, JOIN_KEY_NAME) != 0) {
		qh_say(_("configuration directory name too long"));
		goto out;
	}
	if (plat_path_kind(j->path) != PLAT_NONE) {
		qh_say(_("already enrolled; remove %s to enrol again"), j->dir);
		goto out;
	}
	if (join_key(j) != 0)
		goto out;
	if (qh_pki_csr_new(j->key, &j->csr) != 0) {
		qh_say(_("cannot make a certificate request"));
		goto out;
	}
	if (qh_tls_ctx_client(&j->ctx, NULL, NULL, NULL) != 0) {
		qh_say(_("cannot set up TLS"));
		goto out;
	}

	j->loop = uv_default_loop();
	uv_timer_init(j->loop, &j->timer);
	uv_timer_init(j->loop, &j->retry);
	j->timer.data = j->retry.data = j;
	uv_timer_start(&j->timer, join_timeout, JOIN_TIMEOUT_MS, 0);
	if (join_attempt(j) != 0) {
		join_finish(j);
		uv_run(j->loop, UV_RUN_DEFAULT);
		qh_say(_("out of memory"));
		goto out;
	}
	uv_run(j->loop, UV_RUN_DEFAULT);
	status = j->status;
	if (status == 0)
		store_vendor(j->dir, vendor);
out:
	qh_tls_ctx_free(j->ctx);
	EVP_PKEY_free(j->key);
	free(j->csr);
	/* The token's secret does not outlive the command. */
	OPENSSL_cleanse(&j->tok, sizeof(j->tok));
	free(j);
	(void)uv_loop_close(uv_default_loop());
	return status;
}

int
agent_join(const char *token, const char *dir, const char *vendor)
{
	struct qh_token tok;
	char code[QH_SHORT_LEN + 1];
	int status;

	if (qh_short_parse(token, code, sizeof(code)) == 0)
		return agent_join_short(code, NULL, NULL, dir, vendor);
	if (strlen(token) >= QH_TOKEN_MAX || qh_token_decode(token, &tok) != 0) {
		qh_say(_("this is not a join token; copy the whole line that begins with "
			 "qh1."));
		return 1;
	}
	status = join_with(&tok, dir, vendor);
	OPENSSL_cleanse(&tok, sizeof(tok));
	return status;
}

/* The console a vendor-built agent carries (agent-package), or QH_ERR_NOT_FOUND. */
static int
package_console(char *console, size_t consolelen, char *pin, size_t pinlen, char *vendor,
    size_t vendorlen)
{
	uint8_t *tail = NULL;
	size_t got = 0;
	int r;

	if ((r = read_own_tail(&tail, &got)) == 0)
		r = qh_exetag_read_console(tail, got, console, consolelen, pin, pinlen,
		    vendor, vendorlen);
	if (r == QH_ERR_FORMAT)
		qh_warn("this program carries a damaged console tag; ignored");
	free(tail);
	return r;
}

int
agent_join_short(const char *code, const char *console, const char *pin, const char *dir,
    const char *vendor)
{
	struct qh_token tok;
	char tagged[300], tagpin[128], tagvendor[512], host[256];
	int port, status;

	memset(&tok, 0, sizeof(tok));
	if (qh_short_parse(code, tok.secret, sizeof(tok.secret)) != 0) {
		qh_say(_("this is not a short join code: %d letters and digits, as your "
			 "support vendor read them out"),
		    QH_SHORT_LEN);
		return 1;
	}
	if (console == NULL && pin == NULL) {
		if (package_console(tagged, sizeof(tagged), tagpin, sizeof(tagpin),
			tagvendor, sizeof(tagvendor)) != 0) {
			qh_say(
			    _("a short code needs the support server's address and pin: "
			      "qh-agent join --short CODE --console HOST:PORT --pin "
			      "SHA256 (your support vendor has them), or the agent "
			      "program your vendor made for you"));
			return 1;
		}
		console = tagged;
		pin = tagpin;
		if (vendor == NULL && tagvendor[0] != '\0')
			vendor = tagvendor;
	} else if (console == NULL || pin == NULL) {
		qh_say(_("--console and --pin go together"));
		return 1;
	}
	if (strlen(console) >= sizeof(tok.console) ||
	    qh_split_hostport(console, host, sizeof(host), &port) != 0) {
		qh_say(_("%s is not a support server address (HOST:PORT)"), console);
		return 1;
	}
	if (qh_pin_parse(pin, tok.pin, sizeof(tok.pin)) != 0) {
		qh_say(_("the pin is the 64 hex digits of the support server's SHA256 "
			 "fingerprint"));
		return 1;
	}
	snprintf(tok.console, sizeof(tok.console), "%s", console);
	status = join_with(&tok, dir, vendor);
	OPENSSL_cleanse(&tok, sizeof(tok));
	return status;
}

int
agent_exe_tag(char *token, size_t tokenlen, char *vendor, size_t vendorlen)
{
	uint8_t *tail = NULL;
	size_t got = 0;
	int r;

	token[0] = vendor[0] = '\0';
	if ((r = read_own_tail(&tail, &got)) == 0)
		r = qh_exetag_read(tail, got, token, tokenlen, vendor, vendorlen);
	if (r == QH_ERR_FORMAT)
		qh_warn("this program carries a damaged enrolment tag; ignored");
	free(tail);
	return r;
}

static int
cmd_join(struct qh_cli *c)
{
	const char *code = qh_cli_opt(c, "short");
	char dir[PATH_MAX];
	int r;

	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, _("bad --log-level"));
	if ((code != NULL) == (c->argc == 1))
		return qh_cli_usage(c, _("give a join token, or --short CODE"));
	if (code == NULL &&
	    (qh_cli_opt(c, "console") != NULL || qh_cli_opt(c, "pin") != NULL))
		return qh_cli_usage(c, _("--console and --pin go with --short"));
	if ((r = agent_config_dir(c, dir, sizeof(dir))) != 0)
		return qh_cli_fail(c, _("no configuration directory: %s"),
		    _(qh_strerror(r)));
	if (code != NULL)
		return agent_join_short(code, qh_cli_opt(c, "console"),
		    qh_cli_opt(c, "pin"), dir, NULL);
	return agent_join(c->argv[0], dir, NULL);
}

const struct qh_cli_cmd cmd_join_entry = {
	.name = "join",
	.usage =
	    "(TOKEN | --short CODE [--console HOST:PORT --pin SHA256]) [--config DIR] "
	    "[--lang de|en]",
	.summary = N_("enrol this PC with the join token, or the short code, from your "
		      "support vendor"),
	.min_args = 0,
	.max_args = 1,
	.opts = { QH_OPT("config"), QH_OPT("log-level"), QH_OPT("lang"), QH_OPT("short"),
	    QH_OPT("console"), QH_OPT("pin") },
	.exec = cmd_join,
};
