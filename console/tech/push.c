/*
 * qh-console push and pull: a file copied to or from the customer's PC,
 * streamed over one channel and checked with SHA-256 end to end
 * (docs/protocol.md). Both sides write to a temporary file beside the
 * destination (qh/tmpfile.h) and put it in place only after the size and
 * the hash match, so a refused, failed or cut transfer never leaves part
 * of a file behind; an existing destination is replaced only with
 * --force. A progress bar (bytes, rate, ETA) goes to stderr when it is a
 * terminal, and one summary line to stdout at the end.
 *
 * A pull trusts the agent no further than its announcement: content before
 * it, or past the announced size, ends the pull at once with nothing kept.
 * A LOCAL that is a directory means "into it", as with cp and scp.
 *
 * Local file I/O is plain blocking read() and write() of one chunk at a
 * time: this process serves only this transfer, and the channel's window
 * still paces it (a chunk is read only when the last one was sent, and
 * bytes are credited only once written).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/mux.h"
#include "qh/tmpfile.h"
#include "qh/wire.h"
#include "tech.h"
#include "client.h"

#define XFER_CHUNK  (256 * 1024) /* one read of the local file */
#define HASH_LEN    32
#define PROGRESS_MS 200 /* between redraws of the bar */
#define TEXT_MAX    4200

/* Request flags (the console turns FORCE into the agent's flag). */
#define FLAG_FORCE 0x2

/* The progress bar on a terminal's stderr. */
struct progress {
	int on;	   /* stderr is a terminal */
	int shown; /* a bar is on the screen */
	uint64_t start_ms, last_ms;
};

struct xfer {
	struct tech *t;
	int push; /* 1: push, 0: pull */
	const char *local, *remote;
	char into[PATH_MAX];  /* pull: LOCAL/NAME when LOCAL is a directory */
	int fd;		      /* push: the source */
	struct qh_tmpfile tf; /* pull: written, then committed or aborted */
	uint64_t size;	      /* push: of the file; pull: announced */
	uint32_t mode;	      /* pull: announced */
	int announced;	      /* pull: EXIT{size, mode} arrived */
	int stopped;	      /* the command is ending: no more writes */
	uint64_t done;	      /* bytes sent or received */
	EVP_MD_CTX *md;
	uint8_t hash[HASH_LEN]; /* ours, once final */
	int hashed;

	/* Push: the chunk read and not yet taken by the channel. */
	size_t boff, blen;
	int eof, sent_exit;
	uint8_t *buf;

	/* The agent's result: EXIT{status, [text], size, hash}. */
	int got_result;
	int status;
	char text[TEXT_MAX];
	uint64_t rsize;
	uint8_t rhash[HASH_LEN];
	int rhash_ok;

	struct progress pg;
	char summary[TEXT_MAX + 128]; /* printed on success */
};

static void
hex(const uint8_t *h, char out[2 * HASH_LEN + 1])
{
	int i;

	for (i = 0; i < HASH_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void
human(double n, char *out, size_t len)
{
	if (n >= 1024.0 * 1024 * 1024)
		snprintf(out, len, "%.1f GiB", n / (1024.0 * 1024 * 1024));
	else if (n >= 1024.0 * 1024)
		snprintf(out, len, "%.1f MiB", n / (1024.0 * 1024));
	else if (n >= 1024.0)
		snprintf(out, len, "%.1f KiB", n / 1024.0);
	else
		snprintf(out, len, "%.0f B", n);
}

/* Progress. */

static void
progress_draw(struct xfer *x, int force)
{
	struct progress *pg = &x->pg;
	uint64_t now = uv_now(tech_loop(x->t)), ms;
	char line[256], a[32], b[32], r[32], eta[32];
	double rate;
	uint64_t left;

	if (!pg->on || (!force && now - pg->last_ms < PROGRESS_MS))
		return;
	pg->last_ms = now;
	ms = now > pg->start_ms ? now - pg->start_ms : 1;
	rate = (double)x->done * 1000.0 / (double)ms;
	human((double)x->done, a, sizeof(a));
	human((double)x->size, b, sizeof(b));
	human(rate, r, sizeof(r));
	snprintf(eta, sizeof(eta), "--:--");
	if (rate > 0 && x->size >= x->done) {
		left = (uint64_t)((double)(x->size - x->done) / rate);
		snprintf(eta, sizeof(eta), "%" PRIu64 ":%02" PRIu64, left / 60,
		    left % 60);
	}
	snprintf(line, sizeof(line), "\r%s / %s  %3d%%  %s/s  ETA %s\033[K", a, b,
	    x->size > 0 ? (int)(x->done * 100 / x->size) : 100, r, eta);
	tech_stderr(x->t, line);
	pg->shown = 1;
}

static void
progress_clear(struct xfer *x)
{
	if (x->pg.shown)
		tech_stderr(x->t, "\r\033[K");
	x->pg.shown = 0;
}

/* The agent's EXIT: an announcement (pull, no status) or the result. */
static void
xfer_on_msg(struct tech *t, const struct qh_msg *m)
{
	struct xfer *x = tech_arg(t);
	const uint8_t *h;
	size_t hlen;
	uint32_t v;
	char *text = NULL;

	if (m->type != QH_MSG_EXIT)
		return;
	if (qh_msg_get_u32(m, QH_K_STATUS, &v) != 0) {
		if (!x->push && !x->announced) {
			(void)qh_msg_get_u64(m, QH_K_SIZE, &x->size);
			x->mode = 0644;
			(void)qh_msg_get_u32(m, QH_K_MODE, &x->mode);
			x->announced = 1;
		}
		return;
	}
	x->got_result = 1;
	x->status = (int)(v > 255 ? 255 : v);
	(void)qh_msg_get_u64(m, QH_K_SIZE, &x->rsize);
	if (qh_msg_get(m, QH_K_HASH, &h, &hlen) == 0 && hlen == HASH_LEN) {
		memcpy(x->rhash, h, HASH_LEN);
		x->rhash_ok = 1;
	}
	if (qh_msg_get_str(m, QH_K_TEXT, &text) == 0)
		snprintf(x->text, sizeof(x->text), "%s", text);
	free(text);
}

static int
hash_final(struct xfer *x)
{
	unsigned int len = HASH_LEN;

	if (x->hashed)
		return 0;
	if (EVP_DigestFinal_ex(x->md, x->hash, &len) != 1)
		return QH_ERR_CRYPTO;
	x->hashed = 1;
	return 0;
}

/*
 * The channel ended: did the agent confirm what we hold? Prints the reason
 * and returns QH_EXIT_FAIL when not.
 */
static int
check_result(struct xfer *x)
{
	progress_clear(x);
	if (!x->got_result) {
		tech_say(x->t,
		    "the transfer was cut off after %" PRIu64 " of %" PRIu64
		    " bytes; nothing was kept",
		    x->done, x->size);
		return QH_EXIT_FAIL;
	}
	if (x->status != 0) {
		tech_say(x->t, "%s",
		    x->text[0] != '\0' ? x->text : "the transfer failed");
		return QH_EXIT_FAIL;
	}
	if (hash_final(x) != 0) {
		tech_say(x->t, "cannot compute the hash");
		return QH_EXIT_FAIL;
	}
	if (!x->rhash_ok || x->rsize != x->done ||
	    memcmp(x->rhash, x->hash, HASH_LEN) != 0) {
		tech_say(x->t,
		    "size/hash mismatch: %" PRIu64 " bytes here, %" PRIu64
		    " at the other end",
		    x->done, x->rsize);
		return QH_EXIT_FAIL;
	}
	return QH_EXIT_OK;
}

/* Push. */

/* Reads the file and sends it as far as the window allows; then EXIT and EOF. */
static void
push_pump(struct xfer *x)
{
	struct qh_chan *ch;
	struct qh_buf b;
	ssize_t n;

	while ((ch = tech_chan(x->t)) != NULL && !x->sent_exit) {
		if (x->blen > 0) {
			if ((n = qh_chan_write(ch, 0, x->buf + x->boff, x->blen)) <= 0)
				return; /* on_writable resumes, or the end comes */
			x->boff += (size_t)n;
			x->blen -= (size_t)n;
			x->done += (uint64_t)n;
			progress_draw(x, 0);
			continue;
		}
		if (!x->eof) {
			if ((n = read(x->fd, x->buf, XFER_CHUNK)) < 0) {
				if (errno == EINTR)
					continue;
				tech_say(x->t, "cannot read %s: %s", x->local,
				    strerror(errno));
				tech_finish(x->t, QH_EXIT_FAIL);
				return;
			}
			if (n == 0) {
				x->eof = 1;
				continue;
			}
			if (EVP_DigestUpdate(x->md, x->buf, (size_t)n) != 1) {
				tech_say(x->t, "cannot compute the hash");
				tech_finish(x->t, QH_EXIT_FAIL);
				return;
			}
			x->boff = 0;
			x->blen = (size_t)n;
			continue;
		}
		if (x->done != x->size) {
			tech_say(x->t,
			    "%s changed while it was sent (%" PRIu64
			    " bytes, not %" PRIu64 ")",
			    x->local, x->done, x->size);
			tech_finish(x->t, QH_EXIT_FAIL);
			return;
		}
		if (hash_final(x) != 0) {
			tech_say(x->t, "cannot compute the hash");
			tech_finish(x->t, QH_EXIT_FAIL);
			return;
		}
		progress_draw(x, 1);
		/* The checksum follows the data, then EOF: the agent checks both. */
		x->sent_exit = 1;
		qh_buf_init(&b, 128);
		if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
		    qh_msg_put_u64(&b, QH_K_SIZE, x->done) == 0 &&
		    qh_msg_put(&b, QH_K_HASH, x->hash, HASH_LEN) == 0)
			(void)qh_chan_send_msg(ch, &b);
		qh_buf_release(&b);
		if ((ch = tech_chan(x->t)) != NULL)
			(void)qh_chan_eof(ch);
	}
}

static void
push_on_open(struct tech *t)
{
	struct xfer *x = tech_arg(t);

	x->pg.start_ms = x->pg.last_ms = uv_now(tech_loop(t));
	push_pump(x);
}

static void
push_on_writable(struct tech *t)
{
	push_pump(tech_arg(t));
}

static int
push_on_end(struct tech *t)
{
	struct xfer *x = tech_arg(t);
	char h[2 * HASH_LEN + 1];
	int status;

	if ((status = check_result(x)) != QH_EXIT_OK)
		return status;
	hex(x->hash, h);
	snprintf(x->summary, sizeof(x->summary),
	    "pushed %" PRIu64 " bytes to %s "
	    "(sha256 %s)",
	    x->done, x->remote, h);
	return QH_EXIT_OK;
}

static void
push_on_stop(struct tech *t)
{
	progress_clear(tech_arg(t));
}

static const struct tech_ops push_ops = {
	.on_open = push_on_open,
	.on_msg = xfer_on_msg,
	.on_end = push_on_end,
	.on_stop = push_on_stop,
	.on_writable = push_on_writable,
};

/* Pull. */

static void
pull_on_open(struct tech *t)
{
	struct xfer *x = tech_arg(t);

	x->pg.start_ms = x->pg.last_ms = uv_now(tech_loop(t));
}

/* Content: written to the temporary file, hashed, then credited. */
static void
pull_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct xfer *x = tech_arg(t);
	size_t off = 0;
	ssize_t n;

	if (x->stopped)
		return;
	if (ext) {
		tech_consume(t, len); /* the agent sends nothing there */
		return;
	}
	/* Not a byte more than announced reaches the disk. */
	if (!x->announced) {
		progress_clear(x);
		tech_say(t,
		    "the agent sent data before announcing the file; nothing was kept");
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	if (len > x->size - x->done) {
		progress_clear(x);
		tech_say(t,
		    "the agent sent more than the %" PRIu64
		    " bytes it announced for %s; nothing was kept",
		    x->size, x->remote);
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	while (off < len) {
		if ((n = write(x->tf.fd, p + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			progress_clear(x);
			tech_say(t, "cannot write %s: %s", x->local, strerror(errno));
			tech_finish(t, QH_EXIT_FAIL);
			return;
		}
		off += (size_t)n;
	}
	if (EVP_DigestUpdate(x->md, p, len) != 1) {
		tech_say(t, "cannot compute the hash");
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	x->done += len;
	progress_draw(x, 0);
	tech_consume(t, len);
}

/* Verified: on disk, the announced mode, then renamed over LOCAL. */
static int
pull_on_end(struct tech *t)
{
	struct xfer *x = tech_arg(t);
	char h[2 * HASH_LEN + 1];
	int status;

	progress_draw(x, 1);
	if ((status = check_result(x)) != QH_EXIT_OK)
		return status;
	if (x->done != x->size) {
		tech_say(t,
		    "%s changed while it was sent: %" PRIu64 " of the %" PRIu64
		    " bytes announced; nothing was kept",
		    x->remote, x->done, x->size);
		return QH_EXIT_FAIL;
	}
	if (fsync(x->tf.fd) == -1 ||
	    qh_tmpfile_commit(&x->tf, (mode_t)(x->mode & 0777)) == -1) {
		tech_say(t, "cannot write %s: %s", x->local, strerror(errno));
		return QH_EXIT_FAIL;
	}
	hex(x->hash, h);
	snprintf(x->summary, sizeof(x->summary),
	    "pulled %" PRIu64 " bytes from %s "
	    "(sha256 %s)",
	    x->done, x->remote, h);
	return QH_EXIT_OK;
}

/* Whatever ended the pull: unless it was renamed, the temporary file goes. */
static void
pull_on_stop(struct tech *t)
{
	struct xfer *x = tech_arg(t);

	x->stopped = 1;
	progress_clear(x);
	qh_tmpfile_abort(&x->tf); /* a no-op once committed */
}

static const struct tech_ops pull_ops = {
	.on_open = pull_on_open,
	.on_msg = xfer_on_msg,
	.on_data = pull_on_data,
	.on_end = pull_on_end,
	.on_stop = pull_on_stop,
};

/* The commands. */

static int
xfer_run(struct qh_cli *c, struct xfer *x, const struct tech_ops *ops)
{
	char code[TECH_CODE_LEN + 1];
	struct qh_buf req;
	uint32_t flags = 0;
	int status;

	if (tech_parse_code(c->argv[0], code) != 0)
		return qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
	if (qh_cli_flag(c, "allow-overdraft"))
		flags |= TECH_FLAG_OVERDRAFT;
	if (qh_cli_flag(c, "force"))
		flags |= FLAG_FORCE;
	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, x->push ? "push" : "pull") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, code) != 0 ||
	    qh_msg_put_str(&req, QH_K_PATH, x->remote) != 0 ||
	    (x->push &&
		(qh_msg_put_u64(&req, QH_K_SIZE, x->size) != 0 ||
		    qh_msg_put_u32(&req, QH_K_MODE, x->mode) != 0)) ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0) {
		qh_buf_release(&req);
		return qh_cli_fail(c, "the request is too long (a path of %zu bytes?)",
		    strlen(x->remote));
	}
	if ((status = tech_new(c, ops, x, &x->t)) != 0) {
		qh_buf_release(&req);
		return status;
	}
	x->pg.on = isatty(STDERR_FILENO);
	status = tech_run(x->t, &req);
	tech_free(x->t);
	x->t = NULL;
	qh_buf_release(&req);
	if (status == QH_EXIT_OK && x->summary[0] != '\0') {
		printf("%s\n", x->summary);
		if (fflush(stdout) != 0)
			status = QH_EXIT_FAIL;
	}
	return status;
}

static struct xfer *
xfer_new(void)
{
	struct xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->fd = -1;
	x->tf.fd = -1;
	if ((x->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(x->md);
		free(x);
		return NULL;
	}
	return x;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->fd != -1)
		(void)close(x->fd);
	qh_tmpfile_abort(&x->tf);
	EVP_MD_CTX_free(x->md);
	free(x->buf);
	free(x);
}

static int
cmd_push(struct qh_cli *c)
{
	struct xfer *x;
	struct stat st;
	int status;

	if ((x = xfer_new()) == NULL || (x->buf = malloc(XFER_CHUNK)) == NULL) {
		xfer_free(x);
		return qh_cli_fail(c, "out of memory");
	}
	x->push = 1;
	x->local = c->argv[1];
	x->remote = c->argv[2];
	/* Nothing is sent for a file that cannot be read. */
	if ((x->fd = open(x->local, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(x->fd, &st) == -1) {
		status = qh_cli_fail(c, "cannot read %s: %s", x->local, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		status = qh_cli_fail(c, "cannot read %s: %s", x->local,
		    S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		goto out;
	}
	x->size = (uint64_t)st.st_size;
	x->mode = (uint32_t)(st.st_mode & 07777);
	status = xfer_run(c, x, &push_ops);
out:
	xfer_free(x);
	return status;
}

/*
 * The last component of REMOTE (after its last '/' or, for a Windows
 * agent, '\\'): the name a pull into a directory gets. NULL when REMOTE
 * names no file ("dir/", ".", "..").
 */
static const char *
remote_name(const char *remote)
{
	const char *p, *name = remote;

	for (p = remote; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			name = p + 1;
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return NULL;
	return name;
}

static int
cmd_pull(struct qh_cli *c)
{
	struct xfer *x;
	struct stat st;
	const char *name;
	int status, n;

	if ((x = xfer_new()) == NULL)
		return qh_cli_fail(c, "out of memory");
	x->remote = c->argv[1];
	x->local = c->argv[2];
	/* A directory as LOCAL: the file goes into it under REMOTE's name. */
	if (stat(x->local, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((name = remote_name(x->remote)) == NULL) {
			status = qh_cli_fail(c, "%s names no file to pull into %s",
			    x->remote, x->local);
			goto out;
		}
		n = snprintf(x->into, sizeof(x->into), "%s%s%s", x->local,
		    x->local[strlen(x->local) - 1] == '/' ? "" : "/", name);
		if (n < 0 || (size_t)n >= sizeof(x->into)) {
			status =
			    qh_cli_fail(c, "%s/%s: file name too long", x->local, name);
			goto out;
		}
		x->local = x->into;
	}
	/* Refusals of LOCAL come before anything is asked of the agent. */
	if (stat(x->local, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			status = qh_cli_fail(c, "%s is a directory", x->local);
			goto out;
		}
		if (!qh_cli_flag(c, "force")) {
			status = qh_cli_fail(c, "%s exists; use --force to overwrite",
			    x->local);
			goto out;
		}
	}
	if (qh_tmpfile_open(&x->tf, x->local) == -1) {
		status = qh_cli_fail(c, "cannot write %s: %s", x->local, strerror(errno));
		goto out;
	}
	status = xfer_run(c, x, &pull_ops);
out:
	xfer_free(x);
	return status;
}

const struct qh_cli_cmd cmd_push_entry = {
	.name = "push",
	.usage = "CODE LOCAL REMOTE [--force] [--allow-overdraft] [--tech FILE]",
	.summary = "copy a file to the customer's PC (SHA-256 checked)",
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("tech"), QH_FLAG("force"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_push,
};

const struct qh_cli_cmd cmd_pull_entry = {
	.name = "pull",
	.usage = "CODE REMOTE LOCAL|DIR [--force] [--allow-overdraft] [--tech FILE]",
	.summary = "copy a file from the customer's PC (SHA-256 checked)",
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("tech"), QH_FLAG("force"), QH_FLAG("allow-overdraft") },
	.needs = QH_CLI_TECH,
	.exec = cmd_pull,
};
