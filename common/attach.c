/*
 * Attachments on their way out (see qh/attach.h): the checks before a
 * byte is sent and the pump that streams them with window backpressure.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qh/attach.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/text.h"

/* Sets why and returns r. */
static int why_set(char *why, size_t len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return r;
}

int
qh_attach_open(const char *path, const struct qh_ticket_limits *lim, int *fd,
    uint64_t *size, char *why, size_t whylen)
{
	struct stat st;
	int f;

	*fd = -1;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return why_set(why, whylen, QH_ERR_NOT_FOUND,
			    _("attachment %s: no such file"), path);
		if (errno == EACCES)
			return why_set(why, whylen, QH_ERR_PERM,
			    _("attachment %s: not readable (permission denied)"), path);
		return why_set(why, whylen, QH_ERR_SYSTEM, _("attachment %s: %s"), path,
		    strerror(errno));
	}
	if (fstat(f, &st) != 0) {
		why_set(why, whylen, QH_ERR_SYSTEM, _("attachment %s: %s"), path,
		    strerror(errno));
		close(f);
		return QH_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		why_set(why, whylen, QH_ERR_FORMAT,
		    S_ISDIR(st.st_mode) ? _("attachment %s is a directory, not a file")
					: _("attachment %s is not a regular file"),
		    path);
		close(f);
		return QH_ERR_FORMAT;
	}
	if ((uint64_t)st.st_size > lim->attachment_max) {
		why_set(why, whylen, QH_ERR_LIMIT,
		    _("attachment %s is %llu MiB; at most %llu MiB per attachment are "
		      "accepted"),
		    path,
		    (unsigned long long)(((uint64_t)st.st_size + (1 << 20) - 1) >> 20),
		    (unsigned long long)(lim->attachment_max >> 20));
		close(f);
		return QH_ERR_LIMIT;
	}
	(void)fcntl(f, F_SETFL, 0);
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Reads fd from its start to its end into md; the bytes read into *n. */
static int
hash_file(int fd, EVP_MD_CTX *md, uint8_t *buf, size_t cap, uint64_t *n)
{
	ssize_t got;

	*n = 0;
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return QH_ERR_SYSTEM;
	while ((got = read(fd, buf, cap)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || EVP_DigestUpdate(md, buf, (size_t)got) != 1)
			return QH_ERR_SYSTEM;
		*n += (uint64_t)got;
	}
	return 0;
}

int
qh_attach_add(struct qh_ticket *t, int fd, const char *path, const char *name,
    uint64_t size, char *why, size_t whylen)
{
	uint8_t buf[QH_ATTACH_CHUNK];
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *md;
	uint64_t n = 0;
	int r;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return why_set(why, whylen, QH_ERR_NOMEM, "out of memory");
	r = hash_file(fd, md, buf, sizeof(buf), &n);
	if (r == 0 && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32))
		r = QH_ERR_CRYPTO;
	EVP_MD_CTX_free(md);
	if (r != 0)
		return why_set(why, whylen, r, _("attachment %s: not readable: %s"), path,
		    strerror(errno));
	if (n != size)
		return why_set(why, whylen, QH_ERR_FORMAT,
		    _("attachment %s changed while it was read"), path);
	if ((r = qh_ticket_add_file(t, name, size, digest)) != 0)
		return why_set(why, whylen, r, "%s", t->why);
	return 0;
}

/* Sends one metadata message on the channel. */
static int
send_item(void *arg, const struct qh_buf *msg)
{
	return qh_chan_send_msg(arg, msg);
}

int
qh_attach_send_meta(struct qh_chan *ch, const struct qh_ticket *t)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 16);
	if ((r = qh_ticket_encode_items(t, send_item, ch)) == 0 &&
	    (r = qh_msg_begin(&b, QH_MSG_TICKET_GO)) == 0)
		r = qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	return r;
}

int
qh_attach_send_init(struct qh_attach_send *s, const struct qh_ticket *t, const int *fds,
    const char *const *paths)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->fds = fds;
	s->paths = paths;
	if ((s->md = EVP_MD_CTX_new()) == NULL)
		return QH_ERR_NOMEM;
	return 0;
}

void
qh_attach_send_free(struct qh_attach_send *s)
{
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

/* Starts file s->cur: back to its start, a fresh hash. */
static int
file_begin(struct qh_attach_send *s)
{
	s->cur_sent = 0;
	if (lseek(s->fds[s->cur], 0, SEEK_SET) == -1 ||
	    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		return why_set(s->why, sizeof(s->why), QH_ERR_SYSTEM,
		    _("%s: cannot read it again: %s"), s->paths[s->cur], strerror(errno));
	return 0;
}

/* The file just sent must be the one described. */
static int
file_end(struct qh_attach_send *s)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != 32 ||
	    memcmp(md, s->t->files[s->cur].hash, 32) != 0)
		return why_set(s->why, sizeof(s->why), QH_ERR_FORMAT,
		    _("%s changed while it was sent; nothing was sent"),
		    s->paths[s->cur]);
	return 0;
}

/* Sends MSG EXIT{size} and EOF. */
static int
send_end(struct qh_attach_send *s, struct qh_chan *ch)
{
	struct qh_buf b;
	int r;

	qh_buf_init(&b, 64);
	if ((r = qh_msg_begin(&b, QH_MSG_EXIT)) == 0 &&
	    (r = qh_msg_put_u64(&b, QH_K_SIZE, s->t->total)) == 0 &&
	    (r = qh_chan_send_msg(ch, &b)) == 0)
		r = qh_chan_eof(ch);
	qh_buf_release(&b);
	if (r != 0)
		return why_set(s->why, sizeof(s->why), QH_ERR_CLOSED,
		    _("the connection to the console broke"));
	return 1;
}

int
qh_attach_send_pump(struct qh_attach_send *s, struct qh_chan *ch)
{
	const struct qh_ticket_file *f;
	ssize_t n;
	size_t want;
	int r;

	if (!s->started) {
		s->started = 1;
		if (s->t->nfiles > 0 && (r = file_begin(s)) != 0)
			return r;
	}
	for (;;) {
		if (s->off == s->len) {
			if (s->cur == s->t->nfiles)
				return send_end(s, ch);
			f = &s->t->files[s->cur];
			if (s->cur_sent == f->size) {
				if ((r = file_end(s)) != 0)
					return r;
				if (++s->cur < s->t->nfiles && (r = file_begin(s)) != 0)
					return r;
				continue;
			}
			want = f->size - s->cur_sent < sizeof(s->buf)
			    ? (size_t)(f->size - s->cur_sent)
			    : sizeof(s->buf);
			if ((n = read(s->fds[s->cur], s->buf, want)) < 0 &&
			    errno == EINTR)
				continue;
			if (n < 0)
				return why_set(s->why, sizeof(s->why), QH_ERR_SYSTEM,
				    _("%s: cannot read it: %s"), s->paths[s->cur],
				    strerror(errno));
			if (n == 0)
				return why_set(s->why, sizeof(s->why), QH_ERR_FORMAT,
				    _("%s changed while it was sent; nothing was sent"),
				    s->paths[s->cur]);
			(void)EVP_DigestUpdate(s->md, s->buf, (size_t)n);
			s->cur_sent += (uint64_t)n;
			s->off = 0;
			s->len = (size_t)n;
		}
		n = qh_chan_write(ch, 0, s->buf + s->off, s->len - s->off);
		if (n < 0)
			return why_set(s->why, sizeof(s->why), QH_ERR_CLOSED,
			    _("the connection to the console broke"));
		if (n == 0)
			return 0; /* the window is full: on_writable goes on */
		s->off += (size_t)n;
	}
}
