/*
 * Sending a session's recording over TLS (recfetch.h). The file is opened
 * once; its size then is what is sent (a recording still being written is
 * appended to, so its first bytes stay as they are). Its SHA-256 over
 * those bytes is computed on the thread pool before the channel is
 * answered, so the receiver learns size and hash first and can check what
 * arrives; then the bytes are read a chunk at a time at their offsets
 * (uv_fs_read) and sent as the window allows: one chunk of memory per
 * fetch, RECFETCH_MAX fetches at once, and the loop never waits for the
 * disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/compat.h"
#include "qh/desk.h"
#include "qh/err.h"
#include "qh/log.h"
#include "recfetch.h"

#define FETCH_CHUNK (64 * 1024) /* one read of the file */

/* One recording on its way. */
struct fetch {
	struct server *srv;
	struct qh_chan *ch; /* NULL once the channel is gone */
	char who[2 * QH_ID_MAX + 16];
	char name[QH_TICKET_NAME_MAX + 1];
	int64_t session;
	int fd;
	uint64_t size;	  /* the bytes sent: the file's size when asked */
	uint8_t hash[32]; /* their SHA-256 */
	int hashed;	  /* 1: hash is right; 0: the file could not be read */
	uv_work_t work;
	int working; /* the hash is being computed */
	uv_fs_t req;
	int reading;	/* a uv_fs_read is in flight */
	uint64_t off;	/* bytes read so far */
	uint8_t *chunk; /* read; coff to clen not yet sent */
	size_t coff, clen;
	int ended; /* our side is closed */
};

static int fetches; /* recordings being hashed or sent */

static void
fetch_free(struct fetch *f)
{
	close(f->fd);
	fetches--;
	free(f->chunk);
	free(f);
}

/* Frees f once neither the channel nor the pool or a read needs it. */
static void
fetch_release(struct fetch *f)
{
	if (f->ch == NULL && !f->working && !f->reading)
		fetch_free(f);
}

/* Our side ends: EOF and CLOSE (cut short when not all was sent). */
static void
fetch_end(struct fetch *f, int whole)
{
	struct qh_chan *ch = f->ch;

	if (ch == NULL)
		return;
	f->ch = NULL;
	f->ended = 1;
	if (whole)
		(void)qh_chan_eof(ch);
	qh_chan_close(ch);
	fetch_release(f);
}

static void fetch_pump(struct fetch *f);

static void
on_read(uv_fs_t *req)
{
	struct fetch *f = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	f->reading = 0;
	if (f->ch == NULL) {
		fetch_release(f);
		return;
	}
	if (n <= 0) {
		qh_error("%s: session %" PRId64 ": reading recording %s: %s", f->who,
		    f->session, f->name, n < 0 ? uv_strerror((int)n) : "it got shorter");
		fetch_end(f, 0); /* the receiver sees too few bytes */
		return;
	}
	f->coff = 0;
	f->clen = (size_t)n;
	f->off += (uint64_t)n;
	fetch_pump(f);
}

/* Sends what the window takes; reads the next chunk when this one is out. */
static void
fetch_pump(struct fetch *f)
{
	uint64_t left = f->size - f->off;
	ssize_t n;
	uv_buf_t b;

	if (f->ch == NULL)
		return;
	while (f->coff < f->clen) {
		n = qh_chan_write(f->ch, 0, f->chunk + f->coff, f->clen - f->coff);
		if (n <= 0)
			return; /* on_writable goes on */
		f->coff += (size_t)n;
	}
	if (left == 0) {
		qh_info("%s: session %" PRId64 ": sent recording %s (%" PRIu64 " bytes)",
		    f->who, f->session, f->name, f->size);
		fetch_end(f, 1);
		return;
	}
	if (f->reading)
		return;
	b = uv_buf_init((char *)f->chunk,
	    (unsigned)(left < FETCH_CHUNK ? left : FETCH_CHUNK));
	f->req.data = f;
	if (uv_fs_read(f->srv->loop, &f->req, f->fd, &b, 1, (int64_t)f->off, on_read) !=
	    0) {
		fetch_end(f, 0);
		return;
	}
	f->reading = 1;
}

static void
fetch_writable(struct qh_chan *ch)
{
	struct fetch *f = qh_chan_arg(ch);

	if (f != NULL)
		fetch_pump(f);
}

static void
fetch_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len); /* nothing is asked on this channel */
}

/* The peer closed, or the connection went (held or accepted). */
static void
fetch_close(struct qh_chan *ch)
{
	struct fetch *f = qh_chan_arg(ch);

	if (f == NULL)
		return;
	f->ch = NULL;
	fetch_release(f);
}

static const struct qh_chan_ops fetch_ops = {
	.on_data = fetch_data,
	.on_writable = fetch_writable,
	.on_close = fetch_close,
};

/* On the thread pool: the SHA-256 of the file's first size bytes. */
static void
hash_work(uv_work_t *w)
{
	struct fetch *f = w->data;
	uint8_t *buf = malloc(FETCH_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0;
	unsigned len = 0;
	ssize_t n;

	f->hashed = 0;
	if (buf == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while (off < f->size) {
		n = pread(f->fd, buf,
		    f->size - off < FETCH_CHUNK ? (size_t)(f->size - off) : FETCH_CHUNK,
		    (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto out;
		off += (uint64_t)n;
	}
	f->hashed = EVP_DigestFinal_ex(md, f->hash, &len) == 1 && len == 32;
out:
	EVP_MD_CTX_free(md);
	free(buf);
}

/* Back on the loop: answer with size and hash, then the bytes. */
static void
hash_done(uv_work_t *w, int status)
{
	struct fetch *f = w->data;
	struct qh_buf b;

	f->working = 0;
	if (f->ch == NULL) {
		fetch_release(f);
		return;
	}
	if (status != 0 || !f->hashed || (f->chunk = malloc(FETCH_CHUNK)) == NULL) {
		qh_error("%s: session %" PRId64 ": cannot read recording %s", f->who,
		    f->session, f->name);
		qh_chan_refuse(f->ch, "storage",
		    "the console cannot read the recording; see its log");
		f->ch = NULL;
		fetch_release(f);
		return;
	}
	qh_chan_accept(f->ch, 0, &fetch_ops, f);
	qh_buf_init(&b, 512);
	if (qh_msg_begin(&b, QH_MSG_TICKET_FILE) == 0 &&
	    qh_msg_put_str(&b, QH_K_NAME, f->name) == 0 &&
	    qh_msg_put_u64(&b, QH_K_SIZE, f->size) == 0 &&
	    qh_msg_put(&b, QH_K_HASH, f->hash, sizeof(f->hash)) == 0)
		(void)qh_chan_send_msg(f->ch, &b);
	qh_buf_release(&b);
	fetch_pump(f);
}

void
recfetch_request(struct server *srv, const struct qh_identity *who, struct qh_chan *ch,
    const struct qh_msg *m)
{
	struct qh_desk_req req;
	struct fetch *f;
	struct stat st;
	char why[512], path[4400];
	int fd;

	if (qh_desk_req_decode(m, &req, why, sizeof(why)) != 0 ||
	    req.cmd != QH_DESK_RECORDING) {
		qh_chan_refuse(ch, "request",
		    req.cmd != QH_DESK_RECORDING ? "not a recording request" : why);
		return;
	}
	if (who->role != QH_ROLE_ACCOUNTING) {
		qh_chan_refuse(ch, "forbidden",
		    "only an accounting certificate reads recordings");
		return;
	}
	if (fetches >= RECFETCH_MAX) {
		qh_chan_refuse(ch, "busy",
		    "the console is sending many recordings; try again in a minute");
		return;
	}
	/* The name is EVENT-KIND.EXT (checked): it stays in the session's folder. */
	snprintf(path, sizeof(path), "%s/recordings/%" PRId64 "/%s", srv->state_dir,
	    req.id, req.name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		snprintf(why, sizeof(why),
		    "session %" PRId64 " has no recording %s (none made, or expired)",
		    req.id, req.name);
		qh_chan_refuse(ch, "not-found", why);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		close(fd);
		qh_chan_refuse(ch, "internal", "out of memory");
		return;
	}
	fetches++;
	f->srv = srv;
	f->ch = ch;
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->session = req.id;
	snprintf(f->name, sizeof(f->name), "%s", req.name);
	snprintf(f->who, sizeof(f->who), "%s %s", qh_role_name(who->role), who->id);
	f->work.data = f;
	qh_chan_hold(ch, &fetch_ops, f);
	if (uv_queue_work(srv->loop, &f->work, hash_work, hash_done) != 0) {
		qh_chan_refuse(ch, "internal",
		    "the console cannot read the recording now");
		f->ch = NULL;
		fetch_release(f);
		return;
	}
	f->working = 1;
	qh_info("%s: session %" PRId64 ": recording %s asked for", f->who, req.id,
	    req.name);
}
