/*
 * The ticket desk on the console host (qh/desk.h): the store itself,
 * for `qh-console tickets` and `ticket ...` run with --state (or where
 * the dispatcher finds the state). Requests run through desk_run, as the
 * daemon runs a technician's; a reply's attachments are copied into the
 * content-addressed store (STATE/attachments/ab/<sha256>, one copy per
 * content) and synced before the one transaction that records the reply;
 * `get` copies from there, checked on the way. The acting login is the
 * local user's (console_actor).
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

#include "qh/err.h"
#include "qh/fetch.h"
#include "qh/json.h"
#include "admin.h"

#define COPY_CHUNK (64 * 1024)

/* Sets the desk's line for people. */
static void
say(struct qh_desk *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct qh_desk *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

/* What the local desk works with. */
struct local_desk {
	struct store_env *env;
	char actor[128];
};

/* Staff, as the local user. */
static struct ticket_actor
actor_of(struct local_desk *l)
{
	struct ticket_actor who = { 0, l->actor, NULL, NULL };

	return who;
}

static int
local_call(struct qh_desk *d, const struct qh_desk_req *req, struct qh_buf *answer)
{
	struct local_desk *l = d->arg;
	struct ticket_actor who = actor_of(l);

	return desk_run(l->env->db, &l->env->conf, &who, req, answer, d->why,
	    sizeof(d->why));
}

/* mkdir that is content with an existing directory. */
static int
mkdir_0700(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Writes all n bytes at p to fd; 0, or -1 with errno. */
static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Copies attachment i of t (open at fd) into the store: a temporary file
 * under STATE/attachments/tmp whose bytes must hash to what t says, synced
 * and renamed to its place unless that content is there already.
 */
static int
store_file(struct qh_desk *d, const char *state, const struct qh_ticket_file *f, int fd,
    const char *path)
{
	char tmp[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], hex[65], got[65];
	uint8_t buf[COPY_CHUNK], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	uint64_t total = 0;
	ssize_t n;
	int out = -1, r = QH_ERR_SYSTEM;

	ticket_hex(f->hash, hex);
	snprintf(dir, sizeof(dir), "%s/attachments", state);
	if (mkdir_0700(dir) != 0 ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/attachments/tmp", state) >=
		sizeof(dir) ||
	    mkdir_0700(dir) != 0 ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/attachments/%.2s", state, hex) >=
		sizeof(dir) ||
	    mkdir_0700(dir) != 0 ||
	    ticket_store_path(state, hex, dst, sizeof(dst)) != 0) {
		say(d, "%s/attachments: %s", state, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == f->size)
		return 0; /* the same content is stored already: one copy */
	snprintf(tmp, sizeof(tmp),
	    "%s/attachments/tmp/%08" PRIx32 "%08" PRIx32 "%08" PRIx32 "%08" PRIx32, state,
	    arc4random(), arc4random(), arc4random(), arc4random());
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		say(d, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || EVP_DigestUpdate(ctx, buf, (size_t)n) != 1 ||
		    write_all(out, buf, (size_t)n) != 0) {
			say(d, "copying %s: %s", path, strerror(errno));
			goto out;
		}
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	ticket_hex(md, got);
	if (total != f->size || strcmp(got, hex) != 0) {
		snprintf(d->why, sizeof(d->why),
		    "%s changed while it was copied; nothing was sent", path);
		r = QH_ERR_FORMAT;
		goto out;
	}
	if (fsync(out) != 0 || close(out) != 0) {
		out = -1;
		say(d, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(tmp, dst) != 0) {
		say(d, "%s: %s", dst, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if ((n = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync((int)n);
		close((int)n);
	}
	r = 0;
out:
	if (out != -1)
		close(out);
	if (r != 0 && tmp[0] != '\0')
		(void)unlink(tmp);
	EVP_MD_CTX_free(ctx);
	return r;
}

static int
local_reply(struct qh_desk *d, struct qh_ticket *t, const int *fds,
    const char *const *paths, struct qh_buf *answer)
{
	struct local_desk *l = d->arg;
	struct ticket_actor who = actor_of(l);
	const struct console_conf *conf = &l->env->conf;
	struct ticket_post p = { 0 };
	struct ticket_posted *done = NULL;
	struct qh_json j;
	char key[65];
	int i, r;

	for (i = 0; i < t->nfiles; i++)
		if (t->files[i].size > (uint64_t)conf->max_attachment_mib << 20) {
			snprintf(d->why, sizeof(d->why),
			    "attachment %s is larger than the %lld MiB [tickets] "
			    "max_attachment_mib allows",
			    paths[i], conf->max_attachment_mib);
			return QH_ERR_LIMIT;
		}
	if (t->total > (uint64_t)conf->max_ticket_mib << 20) {
		snprintf(d->why, sizeof(d->why),
		    "the attachments are larger than the %lld MiB [tickets] "
		    "max_ticket_mib allows",
		    conf->max_ticket_mib);
		return QH_ERR_LIMIT;
	}
	if (qh_ticket_make_key(t, l->actor) != 0) {
		say(d, "cannot make the reply's key");
		return QH_ERR_CRYPTO;
	}
	for (i = 0; i < t->nfiles; i++)
		if ((r = store_file(d, l->env->state, &t->files[i], fds[i], paths[i])) !=
		    0)
			return r;
	if ((done = calloc(1, sizeof(*done))) == NULL) {
		say(d, "out of memory");
		return QH_ERR_NOMEM;
	}
	ticket_hex(t->key, key);
	p.ticket = t->reply_to;
	p.kind = "reply";
	p.text = (const char *)qh_buf_ptr(&t->steps);
	p.len = qh_buf_len(&t->steps);
	p.files = t->files;
	p.nfiles = t->nfiles;
	p.key = key;
	if ((r = db_ticket_post(l->env->db, conf, &who, &p, done)) != 0) {
		desk_post_fail(d->why, sizeof(d->why), r, t->reply_to);
		free(done);
		return r;
	}
	qh_json_init(&j, answer);
	desk_posted_json(&j, "reply", done);
	free(done);
	if ((r = qh_json_finish(&j)) != 0)
		say(d, "the answer is too large");
	return r;
}

static int
local_get(struct qh_desk *d, const struct qh_desk_req *req, const char *out,
    struct qh_desk_got *got)
{
	struct local_desk *l = d->arg;
	struct ticket_actor who = actor_of(l);
	struct qh_fetch f;
	char path[PATH_MAX], hex[65];
	uint8_t buf[COPY_CHUNK];
	uint64_t size = 0;
	ssize_t n;
	int in = -1, r;

	if ((r = desk_attachment(l->env->db, &who, req->id, req->name, &size, hex, d->why,
		 sizeof(d->why))) != 0)
		return r;
	if (ticket_store_path(l->env->state, hex, path, sizeof(path)) != 0) {
		snprintf(d->why, sizeof(d->why),
		    "ticket %" PRId64 ": the attachment's hash on record is malformed",
		    req->id);
		return QH_ERR_FORMAT;
	}
	if ((r = qh_fetch_open(&f, out, size, hex)) != 0) {
		say(d, "%s: %s", out,
		    r == QH_ERR_EXISTS ? "exists; not overwriting it" : strerror(errno));
		return r;
	}
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		say(d, "the stored attachment is missing (%s: %s)", path,
		    strerror(errno));
		qh_fetch_abort(&f);
		return QH_ERR_NOT_FOUND;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (r = qh_fetch_write(&f, buf, (size_t)n)) == QH_ERR_SYSTEM) {
			say(d, "copying to %s: %s", out, strerror(errno));
			close(in);
			qh_fetch_abort(&f);
			return QH_ERR_SYSTEM;
		}
		if (r != 0)
			break; /* longer than on record: finish says so */
	}
	close(in);
	if ((r = qh_fetch_finish(&f, got->sha256)) == QH_ERR_FORMAT ||
	    r == QH_ERR_INCOMPLETE)
		snprintf(d->why, sizeof(d->why),
		    "the stored attachment is damaged: its SHA-256 is %s, expected "
		    "%" PRIu64 " bytes with %s; %s removed",
		    got->sha256, size, hex, out);
	else if (r == QH_ERR_EXISTS)
		say(d, "%s exists; not overwriting it", out);
	else if (r != 0)
		say(d, "writing %s: %s", out, strerror(errno));
	got->size = size;
	return r;
}

/* The desk's state lives as long as the command. */
static struct local_desk the_desk;

int
admin_desk_open(struct store_env *env, struct qh_desk *d)
{
	memset(d, 0, sizeof(*d));
	memset(&the_desk, 0, sizeof(the_desk));
	the_desk.env = env;
	console_actor(the_desk.actor, sizeof(the_desk.actor));
	d->call = local_call;
	d->reply = local_reply;
	d->get = local_get;
	d->arg = &the_desk;
	return 0;
}
