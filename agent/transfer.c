/*
 * ACTION{cmd="push"} and ACTION{cmd="pull"}: files copied to and from this
 * PC, streamed and checked with SHA-256 end to end (docs/protocol.md).
 *
 * A push is written to a temporary file beside its destination (an
 * unnamed O_TMPFILE where the file system has it, else ".NAME.qh-XXXXXX"
 * from mkstemp; qh/tmpfile.h) and put in place only after the size and
 * the hash the technician sent match what arrived and the data is on disk
 * (fsync); a push that fails or is cut off removes its temporary file, so
 * the destination never holds part of a file. A pull
 * announces the file's size and mode, sends the content and then the hash
 * of what it sent.
 *
 * Disk I/O runs in libuv's thread pool (uv_fs_*), one request at a time
 * per transfer, so the loop stays responsive. Flow control: a push grants
 * the technician PUSH_WINDOW bytes and credits them back only once they
 * are written, so the ring that holds them cannot overflow; a pull reads
 * the next chunk only after the last one went to the channel.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/ring.h"
#include "qh/tmpfile.h"
#include "agent.h"
#include "platform.h"

#define PUSH_WINDOW  (2 * 1024 * 1024) /* granted to the technician; the ring */
#define PULL_CHUNK   (256 * 1024)      /* one read of a pulled file */
#define TRANSFER_MAX 32		       /* transfers alive at once */
#define HASH_LEN     32
#define TEXT_MAX     (PATH_MAX + 128)

#define PUSH_FORCE 0x1 /* ACTION flags: overwrite */

enum push_state {
	PUSH_RECEIVING, /* DATA arrives and is written */
	PUSH_SYNCING,	/* verified; fsync in flight, then rename */
	PUSH_DONE,	/* answered (or the channel is gone); cleaning up */
};

struct push {
	uv_loop_t *loop;
	struct qh_chan *ch; /* NULL once closed or gone */
	enum push_state state;
	char login[QH_ID_MAX + 1];
	char shown[TEXT_MAX]; /* the path as the technician gave it */
	char path[PATH_MAX];  /* resolved */
	struct qh_tmpfile tf; /* written, then committed or aborted */
	uint64_t size;	      /* announced */
	uint32_t mode;
	uint64_t got; /* bytes received (and hashed) */
	EVP_MD_CTX *md;
	uint8_t hash[HASH_LEN]; /* of what arrived, once final */
	int hashed;

	struct qh_ring ring; /* queued for the file: PUSH_WINDOW at most */
	size_t wlen;	     /* of which in flight in req */
	uv_fs_t req;
	int busy; /* req in flight */

	int got_exit; /* the technician's EXIT{size, hash} */
	uint64_t exit_size;
	uint8_t exit_hash[HASH_LEN];
	int chan_eof;

	uv_timer_t closer; /* closed last; its callback frees */
	int closing;
};

struct pull {
	uv_loop_t *loop;
	struct qh_chan *ch; /* NULL once closed or gone */
	char login[QH_ID_MAX + 1];
	char shown[TEXT_MAX];
	int fd;
	uint64_t size; /* announced */
	uint64_t sent; /* read, hashed and handed to the channel */
	EVP_MD_CTX *md;
	uv_fs_t req;
	int busy;	   /* a read in flight */
	int eof;	   /* the file is read to its end */
	int done;	   /* the final EXIT went out */
	uv_timer_t closer; /* closed last; its callback frees */
	int closing;
	size_t boff, blen; /* bytes of buf not yet sent */
	uint8_t buf[PULL_CHUNK];
};

static int transfer_count;

/* Helpers. */

/* Reads the login and the path of the ACTION; returns QH_ERR_FORMAT without a path. */
static int
action_common(const struct qh_msg *m, char *login, size_t loginlen, char *shown,
    size_t shownlen)
{
	char *s = NULL;
	int r = 0;

	(void)qh_msg_get_str(m, QH_K_LOGIN, &s);
	snprintf(login, loginlen, "%s", s != NULL ? s : "?");
	ui_sanitize(login);
	free(s);
	s = NULL;
	if (qh_msg_get_str(m, QH_K_PATH, &s) != 0 || s == NULL || s[0] == '\0')
		r = QH_ERR_FORMAT;
	else
		snprintf(shown, shownlen, "%s", s);
	free(s);
	return r;
}

/*
 * Sends EXIT with status and text (or size and hash), then EOF and CLOSE,
 * on *chp, and clears *chp. A send that overflows the connection closes
 * it, and the channel's on_close clears *chp: nothing more is sent then.
 */
static void
send_result(struct qh_chan **chp, int status, const char *text, uint64_t size,
    const uint8_t *hash)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, QH_MSG_MAX_LEN);
	if ((r = qh_msg_begin(&b, QH_MSG_EXIT)) == 0 &&
	    (r = qh_msg_put_u32(&b, QH_K_STATUS, (uint32_t)status)) == 0 &&
	    (text == NULL ||
		(r = qh_msg_put(&b, QH_K_TEXT, text, strnlen(text, 4000))) == 0) &&
	    (r = qh_msg_put_u64(&b, QH_K_SIZE, size)) == 0 &&
	    (hash == NULL || (r = qh_msg_put(&b, QH_K_HASH, hash, HASH_LEN)) == 0))
		(void)qh_chan_send_msg(*chp, &b);
	qh_buf_release(&b);
	if (*chp != NULL)
		(void)qh_chan_eof(*chp);
	if (*chp != NULL)
		qh_chan_close(*chp);
	*chp = NULL;
}

/* A size for the customer: "1.5 MiB", in German "1,5 MiB". */
static void
human_size(uint64_t n, char *out, size_t len)
{
	char *p;

	if (n >= 1024 * 1024 * 1024)
		snprintf(out, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
	else if (n >= 1024 * 1024)
		snprintf(out, len, "%.1f MiB", (double)n / (1024.0 * 1024));
	else if (n >= 1024)
		snprintf(out, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(out, len,
		    qh_ntr(qh_lang_get(), "%llu byte", "%llu bytes", n == 1 ? 1UL : 2UL),
		    (unsigned long long)n);
	/* German writes a decimal comma (no locale is needed for that). */
	if (qh_lang_get() == QH_LANG_DE && (p = strchr(out, '.')) != NULL)
		*p = ',';
}

/* Push. */

static void push_kick(struct push *p);

static void
push_freed(uv_handle_t *h)
{
	struct push *p = h->data;

	EVP_MD_CTX_free(p->md);
	qh_ring_release(&p->ring);
	free(p);
	transfer_count--;
}

/*
 * Once the channel is gone and no request is in flight: closes and removes
 * the temporary file (unless it was renamed) and frees p, from a close
 * callback, so that p outlives the callback that got here.
 */
static void
push_maybe_free(struct push *p)
{
	if (p->ch != NULL || p->busy || p->closing)
		return;
	p->closing = 1;
	p->state = PUSH_DONE;
	qh_tmpfile_abort(&p->tf); /* a no-op once committed */
	uv_close((uv_handle_t *)&p->closer, push_freed);
}

/* Fails the push: the temporary file goes, the technician reads text. */
static void
push_fail(struct push *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
push_fail(struct push *p, const char *fmt, ...)
{
	char text[TEXT_MAX + 128];
	va_list ap;

	if (p->state == PUSH_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->state = PUSH_DONE;
	qh_info("push of %s to %s failed: %s", p->login, p->path, text);
	ui_notice(_("copy of %s failed: %s"), p->shown, text);
	if (p->ch != NULL)
		send_result(&p->ch, 1, text, p->got, NULL);
	push_maybe_free(p);
}

static void
push_synced(uv_fs_t *req)
{
	struct push *p = req->data;
	ssize_t r = req->result;
	char size[32];

	uv_fs_req_cleanup(req);
	p->busy = 0;
	if (p->ch == NULL || p->state != PUSH_SYNCING) {
		p->state = PUSH_DONE;
		push_maybe_free(p);
		return;
	}
	if (r < 0) {
		push_fail(p, "cannot write %s: %s", p->shown, uv_strerror((int)r));
		return;
	}
	if (qh_tmpfile_commit(&p->tf, (mode_t)(p->mode & 07777)) == -1) {
		push_fail(p, "cannot write %s: %s", p->shown, strerror(errno));
		return;
	}
	p->state = PUSH_DONE;
	human_size(p->got, size, sizeof(size));
	ui_notice(_("%s copied %s to this PC (%s)"), p->login, p->shown, size);
	qh_info("push of %s to %s: %" PRIu64 " bytes", p->login, p->path, p->got);
	send_result(&p->ch, 0, NULL, p->got, p->hash);
	push_maybe_free(p);
}

/*
 * Everything arrived and is written: check it, then fsync, set the mode
 * and rename. XXX Without the technician's EXIT (a console that does not
 * pass it on) only the announced size is checked here; the technician's
 * client still compares the hash we answer with.
 */
static void
push_check(struct push *p)
{
	unsigned int len = HASH_LEN;
	int r;

	if (p->state != PUSH_RECEIVING || p->busy || qh_ring_len(&p->ring) > 0 ||
	    (!p->got_exit && !p->chan_eof))
		return;
	if (!p->hashed) {
		if (EVP_DigestFinal_ex(p->md, p->hash, &len) != 1) {
			push_fail(p, "cannot compute the hash");
			return;
		}
		p->hashed = 1;
	}
	if (p->got != p->size) {
		push_fail(p,
		    "size/hash mismatch: %" PRIu64 " bytes arrived, %" PRIu64
		    " announced",
		    p->got, p->size);
		return;
	}
	if (p->got_exit &&
	    (p->exit_size != p->got || memcmp(p->exit_hash, p->hash, HASH_LEN) != 0)) {
		push_fail(p, "size/hash mismatch");
		return;
	}
	if (!p->got_exit)
		qh_debug("push of %s: EOF without the technician's hash", p->login);
	p->state = PUSH_SYNCING;
	qh_ring_trim(&p->ring); /* all data is written */
	p->req.data = p;
	if ((r = uv_fs_fsync(p->loop, &p->req, p->tf.fd, push_synced)) != 0) {
		push_fail(p, "cannot write %s: %s", p->shown, uv_strerror(r));
		return;
	}
	p->busy = 1;
}

static void
push_written(uv_fs_t *req)
{
	struct push *p = req->data;
	ssize_t r = req->result;
	size_t n;

	uv_fs_req_cleanup(req);
	p->busy = 0;
	if (p->ch == NULL || p->state != PUSH_RECEIVING) {
		p->state = PUSH_DONE;
		push_maybe_free(p);
		return;
	}
	if (r < 0) {
		push_fail(p, "cannot write %s: %s", p->shown, uv_strerror((int)r));
		return;
	}
	n = (size_t)r > p->wlen ? p->wlen : (size_t)r;
	qh_ring_consume(&p->ring, n);
	p->wlen = 0;
	qh_chan_consume(p->ch, n);
	if (p->ch != NULL)
		push_kick(p);
}

/* Writes what the ring holds unless a write is in flight; checks at the end. */
static void
push_kick(struct push *p)
{
	uv_buf_t b[2];
	unsigned int nb;
	size_t len;
	int r;

	if (p->busy || p->state != PUSH_RECEIVING)
		return;
	if (qh_ring_len(&p->ring) == 0) {
		push_check(p);
		return;
	}
	nb = qh_ring_peek(&p->ring, b, &len);
	p->req.data = p;
	if ((r = uv_fs_write(p->loop, &p->req, p->tf.fd, b, nb, -1, push_written)) != 0) {
		push_fail(p, "cannot write %s: %s", p->shown, uv_strerror(r));
		return;
	}
	p->busy = 1;
	p->wlen = len;
}

static void
push_data(struct qh_chan *ch, int ext, const uint8_t *d, size_t len)
{
	struct push *p = qh_chan_arg(ch);

	if (ext || p->state != PUSH_RECEIVING || p->got_exit) {
		qh_chan_consume(ch, len);
		return;
	}
	/* The window we granted is the ring's capacity: more is a breach. */
	if (len > qh_ring_room(&p->ring)) {
		qh_warn("push of %s: data past the window", p->login);
		push_fail(p, "protocol error: data past the window");
		return;
	}
	if (len > p->size - p->got) {
		push_fail(p,
		    "size/hash mismatch: more data than the %" PRIu64 " bytes announced",
		    p->size);
		return;
	}
	if (EVP_DigestUpdate(p->md, d, len) != 1) {
		push_fail(p, "cannot compute the hash");
		return;
	}
	if (qh_ring_put(&p->ring, d, len) != 0) {
		push_fail(p, "the agent is out of memory");
		return;
	}
	p->got += len;
	push_kick(p);
}

static void
push_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct push *p = qh_chan_arg(ch);
	const uint8_t *h;
	size_t hlen;

	if (m->type != QH_MSG_EXIT || p->got_exit || p->state != PUSH_RECEIVING) {
		qh_debug("push of %s: %s message ignored", p->login,
		    qh_msg_name(m->type));
		return;
	}
	if (qh_msg_get_u64(m, QH_K_SIZE, &p->exit_size) != 0 ||
	    qh_msg_get(m, QH_K_HASH, &h, &hlen) != 0 || hlen != HASH_LEN) {
		push_fail(p, "the technician's checksum message lacks size or hash");
		return;
	}
	memcpy(p->exit_hash, h, HASH_LEN);
	p->got_exit = 1;
	push_kick(p);
}

static void
push_eof(struct qh_chan *ch)
{
	struct push *p = qh_chan_arg(ch);

	p->chan_eof = 1;
	push_kick(p);
}

/* The channel closed before the answer: whatever arrived is removed. */
static void
push_close(struct qh_chan *ch)
{
	struct push *p = qh_chan_arg(ch);

	p->ch = NULL;
	if (p->state != PUSH_DONE) {
		qh_info("push of %s to %s cut off after %" PRIu64 " bytes", p->login,
		    p->path, p->got);
		ui_notice(_("copy of %s was cut off; nothing was written"), p->shown);
	}
	p->state = PUSH_DONE;
	push_maybe_free(p);
}

static const struct qh_chan_ops push_ops = {
	.on_data = push_data,
	.on_msg = push_msg,
	.on_eof = push_eof,
	.on_close = push_close,
};

int
push_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct push *p;
	enum plat_kind kind;
	char text[TEXT_MAX + 256], size[32], why[128];
	uint32_t flags = 0;
	int r;

	if (transfer_count >= TRANSFER_MAX) {
		qh_chan_refuse(ch, "limit", "too many file transfers are running");
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
		if (p != NULL)
			EVP_MD_CTX_free(p->md);
		free(p);
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	qh_ring_init(&p->ring, PUSH_WINDOW);
	p->loop = loop;
	p->tf.fd = -1;
	p->mode = 0644;
	if (action_common(m, p->login, sizeof(p->login), p->shown, sizeof(p->shown)) !=
		0 ||
	    qh_msg_get_u64(m, QH_K_SIZE, &p->size) != 0) {
		qh_chan_refuse(ch, "format", "a push needs a path and a size");
		goto fail;
	}
	(void)qh_msg_get_u32(m, QH_K_MODE, &p->mode);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	if (plat_path_resolve(p->shown, p->path, sizeof(p->path), why, sizeof(why)) !=
	    0) {
		snprintf(text, sizeof(text), "%s: %s", p->shown, why);
		qh_chan_refuse(ch, "path", text);
		goto fail;
	}
	/*
	 * lstat, not stat: a link, dangling or not, is something that exists
	 * (with --force the link itself is replaced, its target never written).
	 */
	if ((kind = plat_path_kind(p->path)) != PLAT_NONE) {
		if (kind == PLAT_DIR || (kind == PLAT_LINK && plat_is_dir(p->path))) {
			snprintf(text, sizeof(text), "%s is a directory", p->shown);
			qh_chan_refuse(ch, "exists", text);
			goto fail;
		}
		if (!(flags & PUSH_FORCE)) {
			snprintf(text, sizeof(text),
			    "%s exists; use --force to overwrite", p->shown);
			qh_chan_refuse(ch, "exists", text);
			goto fail;
		}
	}
	if (qh_tmpfile_open(&p->tf, p->path) == -1) {
		snprintf(text, sizeof(text), "cannot write %s: %s", p->shown,
		    strerror(errno));
		qh_chan_refuse(ch, "path", text);
		goto fail;
	}
	/* From here on push_maybe_free cleans up. */
	p->ch = ch;
	transfer_count++;
	uv_timer_init(loop, &p->closer);
	p->closer.data = p;
	human_size(p->size, size, sizeof(size));
	ui_notice(_("%s copies a file to this PC: %s (%s)"), p->login, p->shown, size);
	qh_info("push of %s to %s (%" PRIu64 " bytes) via %s", p->login, p->path, p->size,
	    p->tf.anon ? "an unnamed file" : p->tf.path);
	if ((r = qh_chan_accept(ch, PUSH_WINDOW, &push_ops, p)) != 0) {
		/* The connection is going away; push_close ran, or it never will. */
		qh_debug("accept: %s", qh_strerror(r));
		p->ch = NULL;
		push_maybe_free(p);
		return 0;
	}
	return 0;
fail:
	qh_tmpfile_abort(&p->tf);
	EVP_MD_CTX_free(p->md);
	free(p);
	return 0;
}

/* Pull. */

static void pull_pump(struct pull *p);

static void
pull_freed(uv_handle_t *h)
{
	struct pull *p = h->data;

	EVP_MD_CTX_free(p->md);
	free(p);
	transfer_count--;
}

/* Once the channel is gone and no read is in flight: closes the file, frees p. */
static void
pull_maybe_free(struct pull *p)
{
	if (p->ch != NULL || p->busy || p->closing)
		return;
	p->closing = 1;
	if (p->fd != -1)
		(void)close(p->fd);
	p->fd = -1;
	uv_close((uv_handle_t *)&p->closer, pull_freed);
}

/* Ends the pull with an error the technician reads. */
static void
pull_fail(struct pull *p, const char *text)
{
	qh_info("pull of %s failed: %s", p->login, text);
	if (p->ch != NULL)
		send_result(&p->ch, 1, text, p->sent, NULL);
	pull_maybe_free(p);
}

static void
pull_read(uv_fs_t *req)
{
	struct pull *p = req->data;
	ssize_t r = req->result;
	char text[TEXT_MAX + 64];

	uv_fs_req_cleanup(req);
	p->busy = 0;
	if (p->ch == NULL) {
		pull_maybe_free(p);
		return;
	}
	if (r < 0) {
		snprintf(text, sizeof(text), "%s: %s", p->shown, uv_strerror((int)r));
		pull_fail(p, text);
		return;
	}
	if (r == 0)
		p->eof = 1;
	else if (EVP_DigestUpdate(p->md, p->buf, (size_t)r) != 1) {
		pull_fail(p, "cannot compute the hash");
		return;
	} else {
		p->boff = 0;
		p->blen = (size_t)r;
		p->sent += (uint64_t)r;
	}
	pull_pump(p);
}

/* Sends the chunk in hand; reads the next when it is gone; ends at EOF. */
static void
pull_pump(struct pull *p)
{
	uint8_t hash[HASH_LEN];
	unsigned int hlen = HASH_LEN;
	char size[32];
	uv_buf_t b;
	ssize_t n;
	int r;

	while (p->ch != NULL && !p->busy && !p->done) {
		if (p->blen > 0) {
			if ((n = qh_chan_write(p->ch, 0, p->buf + p->boff, p->blen)) <
			    0) {
				pull_fail(p, "the channel is closed");
				return;
			}
			if (n == 0)
				return; /* on_writable resumes */
			p->boff += (size_t)n;
			p->blen -= (size_t)n;
			continue;
		}
		if (p->eof) {
			if (EVP_DigestFinal_ex(p->md, hash, &hlen) != 1) {
				pull_fail(p, "cannot compute the hash");
				return;
			}
			p->done = 1;
			human_size(p->sent, size, sizeof(size));
			ui_notice(_("%s copied %s from this PC (%s)"), p->login, p->shown,
			    size);
			send_result(&p->ch, 0, NULL, p->sent, hash);
			pull_maybe_free(p);
			return;
		}
		b = uv_buf_init((char *)p->buf, sizeof(p->buf));
		p->req.data = p;
		if ((r = uv_fs_read(p->loop, &p->req, p->fd, &b, 1, -1, pull_read)) !=
		    0) {
			char text[TEXT_MAX + 64];

			snprintf(text, sizeof(text), "%s: %s", p->shown, uv_strerror(r));
			pull_fail(p, text);
			return;
		}
		p->busy = 1;
	}
}

static void
pull_writable(struct qh_chan *ch)
{
	pull_pump(qh_chan_arg(ch));
}

static void
pull_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *d QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len); /* nothing is expected from the technician */
}

static void
pull_close(struct qh_chan *ch)
{
	struct pull *p = qh_chan_arg(ch);

	p->ch = NULL;
	if (!p->done)
		qh_info("pull of %s cut off after %" PRIu64 " bytes", p->login, p->sent);
	pull_maybe_free(p);
}

static const struct qh_chan_ops pull_ops = {
	.on_data = pull_data,
	.on_writable = pull_writable,
	.on_close = pull_close,
};

int
pull_start(struct task_list *tasks QH_UNUSED, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct pull *p;
	struct qh_buf b;
	struct stat st;
	char path[PATH_MAX], text[TEXT_MAX + 256], why[128];
	int r;

	if (transfer_count >= TRANSFER_MAX) {
		qh_chan_refuse(ch, "limit", "too many file transfers are running");
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
		if (p != NULL)
			EVP_MD_CTX_free(p->md);
		free(p);
		qh_chan_refuse(ch, "internal", "the agent is out of memory");
		return 0;
	}
	p->loop = loop;
	p->fd = -1;
	if (action_common(m, p->login, sizeof(p->login), p->shown, sizeof(p->shown)) !=
	    0) {
		qh_chan_refuse(ch, "format", "a pull needs a path");
		EVP_MD_CTX_free(p->md);
		free(p);
		return 0;
	}
	/* From here on pull_maybe_free cleans up. */
	p->ch = ch;
	transfer_count++;
	uv_timer_init(loop, &p->closer);
	p->closer.data = p;
	ui_notice(_("%s copies a file from this PC: %s"), p->login, p->shown);
	if ((r = qh_chan_accept(ch, QH_MUX_MIN_WINDOW, &pull_ops, p)) != 0) {
		qh_debug("accept: %s", qh_strerror(r));
		p->ch = NULL;
		pull_maybe_free(p);
		return 0;
	}
	/* Non-blocking, so that a FIFO cannot hold the loop in open(). */
	if (plat_path_resolve(p->shown, path, sizeof(path), why, sizeof(why)) != 0) {
		snprintf(text, sizeof(text), "%s: %s", p->shown, why);
		pull_fail(p, text);
		return 0;
	}
	if ((p->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fstat(p->fd, &st) == -1) {
		snprintf(text, sizeof(text), "%s: %s", p->shown, strerror(errno));
		pull_fail(p, text);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(text, sizeof(text), "%s: %s", p->shown,
		    S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		pull_fail(p, text);
		return 0;
	}
	p->size = (uint64_t)st.st_size;
	qh_info("pull of %s from %s (%" PRIu64 " bytes)", p->login, path, p->size);
	/* The announcement: size and mode, no status yet. */
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_EXIT) == 0 &&
	    qh_msg_put_u64(&b, QH_K_SIZE, p->size) == 0 &&
	    qh_msg_put_u32(&b, QH_K_MODE, (uint32_t)(st.st_mode & 07777)) == 0)
		(void)qh_chan_send_msg(p->ch, &b);
	qh_buf_release(&b);
	pull_pump(p);
	return 0;
}
