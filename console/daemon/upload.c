/*
 * Receiving a support ticket from an agent (`qh-agent ticket`), and a
 * reply to one with its attachments, from the customer's PC (`qh-agent
 * ticket reply`) or a technician (`qh-console ticket reply`), which
 * travels the same way (qh/ticket.h).
 *
 * The agent opens one channel with REQUEST{cmd="ticket"}, sends the
 * metadata as channel messages and TICKET_GO, waits for our TICKET_GO,
 * streams the attachments as DATA in the order it described them and ends
 * with MSG EXIT. Each attachment goes into its own temporary file under
 * STATE/attachments/tmp/ while its SHA-256 is computed; one that does not
 * match, or an upload that breaks off, removes every temporary file and
 * files nothing. Once all arrived, a thread-pool job syncs them and moves
 * them into the content-addressed store (STATE/attachments/ab/<sha256>,
 * one copy per content), and then one transaction writes the ticket, its
 * attachments and its proposals. The agent's idempotency key is UNIQUE, so
 * a retry after a cut files the ticket once and a retry after success gets
 * the same number back; a reply's key does the same for the reply.
 *
 * Intake is a shared resource, so a hostile PC must not hold it: uploads
 * are limited per PC, per customer and in all, the description must
 * arrive within [tickets] meta_seconds of the start, and the whole upload
 * within idle_seconds of the start plus one second per UPLOAD_RATE bytes
 * received. The deadlines run from the start: a frame now and then does
 * not extend them.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"
#include "deliver.h"
#include "reply.h"
#include "upload.h"

#define TMP_NAME_LEN	     32		 /* hex characters of a temporary file's name */
#define UPLOADS_MAX	     16		 /* uploads in progress at once, all agents */
#define UPLOADS_PER_CUSTOMER 2		 /* ... of one customer's PCs */
#define UPLOADS_PER_AGENT    2		 /* ... and from one PC */
#define UPLOAD_RATE	     (16 * 1024) /* bytes a second that buy more time */

enum upload_state {
	UP_META,  /* collecting metadata until the agent's TICKET_GO */
	UP_DATA,  /* receiving attachments until MSG EXIT */
	UP_STORE, /* the thread pool syncs and moves the files */
	UP_DONE,  /* answered or failed; being freed */
};

struct upload {
	struct server *srv;
	struct qh_chan *ch; /* NULL once the channel is gone */
	enum upload_state state;
	char who[2 * QH_ID_MAX + 16]; /* "agent X of Y", for logs */
	char customer[QH_ID_MAX + 1]; /* the customer's id; "" for staff */
	char agent_id[QH_ID_MAX + 1]; /* the PC's agent id, or the technician's login */
	int staff;		      /* a technician's reply */
	struct qh_ticket t;
	char tmp[QH_TICKET_FILES_MAX][TMP_NAME_LEN + 1]; /* "" when none */
	int cur;					 /* the attachment DATA goes to */
	uint64_t cur_got;				 /* its bytes so far */
	uint64_t got;					 /* all bytes so far */
	int fd;						 /* cur's temporary file, or -1 */
	EVP_MD_CTX *md;
	uv_work_t work;
	int store_err;	     /* set by the thread-pool job */
	int gone;	     /* the channel closed during UP_STORE */
	uint64_t started_ms; /* loop time of the request */
	uv_timer_t deadline; /* meta_seconds, then idle_seconds plus the bytes' time */
	int timer_on;	     /* deadline is initialised: free in its close callback */
	int listed;	     /* on the uploads list */
	LIST_ENTRY(upload) link;
};

static const struct qh_chan_ops upload_ops;
static const struct qh_chan_ops answered_ops = { 0 };
static LIST_HEAD(, upload) uploads = LIST_HEAD_INITIALIZER(uploads); /* in progress */

/* Policy. */

/* The store. */

/* STATE/attachments/tmp/NAME into out. */
static int
tmp_path(const char *state_dir, const char *name, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/attachments/tmp/%s", state_dir, name) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* mkdir that is content with an existing directory. */
static int
mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	qh_error("%s: %s", path, strerror(errno));
	return QH_ERR_SYSTEM;
}

/* Creates STATE/attachments and its tmp directory if they are missing. */
static int
store_dirs(const char *state_dir)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/attachments", state_dir);
	if ((r = mkdir_0700(path)) != 0)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/attachments/tmp", state_dir) >=
	    sizeof(path))
		return QH_ERR_TOO_LARGE;
	return mkdir_0700(path);
}

/*
 * Removes what an earlier console process left in the temporary directory
 * (a crash mid-upload). Runs once, before this process's first upload, so
 * nothing in there is anyone's.
 */
static void
purge_stale(const char *state_dir)
{
	static int done;
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (done)
		return;
	done = 1;
	snprintf(dir, sizeof(dir), "%s/attachments/tmp", state_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strspn(de->d_name, "0123456789abcdef") != TMP_NAME_LEN ||
		    de->d_name[TMP_NAME_LEN] != '\0')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
			sizeof(path) &&
		    unlink(path) == 0)
			qh_info("removed a stale temporary attachment %s", de->d_name);
	}
	closedir(d);
}

/* Upload lifetime. */

/* Closes the open file and removes every temporary file; the thread pool is idle. */
static void
upload_discard(struct upload *u)
{
	char path[PATH_MAX];
	int i;

	if (u->fd != -1) {
		close(u->fd);
		u->fd = -1;
	}
	for (i = 0; i < QH_TICKET_FILES_MAX; i++) {
		if (u->tmp[i][0] == '\0')
			continue;
		if (tmp_path(u->srv->state_dir, u->tmp[i], path, sizeof(path)) == 0 &&
		    unlink(path) != 0 && errno != ENOENT)
			qh_warn("%s: %s", path, strerror(errno));
		u->tmp[i][0] = '\0';
	}
}

/* The deadline timer is closed: the upload's memory goes last. */
static void
upload_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Drops the upload: its files, its place on the list; memory goes with the timer. */
static void
upload_free(struct upload *u)
{
	if (u->listed) {
		LIST_REMOVE(u, link);
		u->listed = 0;
	}
	upload_discard(u);
	EVP_MD_CTX_free(u->md);
	u->md = NULL;
	qh_ticket_free(&u->t);
	if (u->timer_on)
		uv_close((uv_handle_t *)&u->deadline, upload_closed);
	else
		free(u);
}

/* Sends ERROR{code, text} (the agent prints text), closes the channel, drops everything.
 */
static void
upload_fail(struct upload *u, const char *code, const char *text)
{
	qh_info("%s: ticket refused: %s", u->who, text);
	u->state = UP_DONE;
	if (u->ch != NULL) {
		reply_error(u->ch, code, text);
		u->ch = NULL;
	}
	upload_free(u);
}

/* Sends TICKET_OK{id, due, [deadline], flags}, EOF and CLOSE on ch. */
static void
send_ok(struct qh_chan *ch, int64_t id, int64_t due, int64_t deadline, uint32_t flags)
{
	struct qh_buf b;

	qh_buf_init(&b, 256);
	if (qh_msg_begin(&b, QH_MSG_TICKET_OK) == 0 &&
	    qh_msg_put_u64(&b, QH_K_ID, (uint64_t)id) == 0 &&
	    qh_msg_put_u64(&b, QH_K_DUE, (uint64_t)due) == 0 &&
	    (deadline == 0 ||
		qh_msg_put_u64(&b, QH_K_DEADLINE, (uint64_t)deadline) == 0) &&
	    qh_msg_put_u32(&b, QH_K_FLAGS, flags) == 0)
		(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

/* Database. */

/* Storing: the thread pool's part. */

/* Opens, fsyncs and closes path; returns 0 or errno. */
static int
sync_path(const char *path, int flags)
{
	int fd, e = 0;

	if ((fd = open(path, flags | O_CLOEXEC)) == -1)
		return errno;
	if (fsync(fd) != 0)
		e = errno;
	close(fd);
	return e;
}

/*
 * On a thread-pool thread: syncs each temporary file and moves it to its
 * place in the store, unless that content is there already. Touches only
 * the upload's file names and the file system; no loop, no database.
 */
static void
store_work(uv_work_t *w)
{
	struct upload *u = w->data;
	char tmp[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], hex[65];
	struct stat st;
	int i, e;

	for (i = 0; i < u->t.nfiles; i++) {
		ticket_hex(u->t.files[i].hash, hex);
		if (tmp_path(u->srv->state_dir, u->tmp[i], tmp, sizeof(tmp)) != 0 ||
		    ticket_store_path(u->srv->state_dir, hex, dst, sizeof(dst)) != 0 ||
		    (size_t)snprintf(dir, sizeof(dir), "%s/attachments/%.2s",
			u->srv->state_dir, hex) >= sizeof(dir)) {
			u->store_err = ENAMETOOLONG;
			return;
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			u->store_err = errno;
			return;
		}
		if (lstat(dst, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == u->t.files[i].size) {
			/* The same content is stored already: keep one copy. */
			(void)unlink(tmp);
			u->tmp[i][0] = '\0';
			continue;
		}
		if ((e = sync_path(tmp, O_RDONLY)) != 0 || rename(tmp, dst) != 0 ||
		    (e = sync_path(dir, O_RDONLY | O_DIRECTORY)) != 0) {
			u->store_err = e != 0 ? e : errno;
			return;
		}
		u->tmp[i][0] = '\0';
	}
}

/* Sends TICKET_OK for a reply: the ticket, its due time and the result document. */
static void
send_posted(struct qh_chan *ch, const struct ticket_posted *p)
{
	struct qh_buf b, doc;
	struct qh_json j;

	qh_buf_init(&doc, QH_MSG_MAX_LEN / 2);
	qh_json_init(&j, &doc);
	desk_posted_json(&j, "reply", p);
	qh_buf_init(&b, QH_MSG_MAX_LEN);
	if (qh_json_finish(&j) == 0 && qh_msg_begin(&b, QH_MSG_TICKET_OK) == 0 &&
	    qh_msg_put_u64(&b, QH_K_ID, (uint64_t)p->state.id) == 0 &&
	    qh_msg_put_u64(&b, QH_K_DUE, (uint64_t)p->state.due) == 0 &&
	    qh_msg_put_u32(&b, QH_K_FLAGS, p->existed ? QH_TICKET_OK_EXISTED : 0) == 0 &&
	    qh_msg_put(&b, QH_K_JSON, qh_buf_ptr(&doc), qh_buf_len(&doc)) == 0)
		(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	qh_buf_release(&doc);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

/* The stored reply's row: one transaction, then the answer. */
static void
post_reply(struct upload *u)
{
	struct ticket_actor who = { 0 };
	struct ticket_post p = { 0 };
	struct ticket_posted *done;
	char key[65], why[256];
	int r;

	if ((done = calloc(1, sizeof(*done))) == NULL) {
		upload_fail(u, "internal", "out of memory");
		return;
	}
	who.customer = !u->staff;
	who.login = u->agent_id;
	who.customer_id = u->customer;
	who.agent_id = u->agent_id;
	ticket_hex(u->t.key, key);
	p.ticket = u->t.reply_to;
	p.kind = "reply";
	p.text = (const char *)qh_buf_ptr(&u->t.steps);
	p.len = qh_buf_len(&u->t.steps);
	p.files = u->t.files;
	p.nfiles = u->t.nfiles;
	p.key = key;
	if ((r = db_ticket_post(u->srv->db, &u->srv->conf, &who, &p, done)) != 0) {
		desk_post_fail(why, sizeof(why), r, u->t.reply_to);
		upload_fail(u, r == QH_ERR_NOT_FOUND ? "not-found" : "ticket", why);
		free(done);
		return;
	}
	qh_info("%s: ticket %" PRId64 ": reply %d %s (%d attachments, %" PRIu64
		" bytes); now %s",
	    u->who, u->t.reply_to, done->seq, done->existed ? "sent before" : "stored",
	    u->t.nfiles, u->t.total, done->state.status);
	u->state = UP_DONE;
	if (u->ch != NULL) {
		send_posted(u->ch, done);
		u->ch = NULL;
	}
	free(done);
	upload_free(u);
}

/* Back on the loop: commit the rows and answer. */
static void
store_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;
	int64_t id = 0, due = 0, deadline = 0;
	int r;

	if (status != 0 || u->store_err != 0) {
		qh_error("%s: cannot store the attachments: %s", u->who,
		    status != 0 ? uv_strerror(status) : strerror(u->store_err));
		upload_fail(u, "storage",
		    "the console could not store the attachments; "
		    "nothing was filed, try again later");
		return;
	}
	/* The data is complete: the ticket is filed even if the agent left. */
	if (u->t.reply_to != 0) {
		post_reply(u);
		return;
	}
	r = db_ticket_file(u->srv->db, &u->srv->conf, u->customer, u->agent_id, &u->t,
	    &id, &due, &deadline);
	if (r < 0) {
		upload_fail(u, "internal",
		    "the ticket could not be recorded; see the "
		    "console's log");
		return;
	}
	qh_info("%s: ticket %" PRId64 " %s (%s, %d attachments, %" PRIu64 " bytes)",
	    u->who, id, r == 1 ? "filed before" : "filed", u->t.kind, u->t.nfiles,
	    u->t.total);
	u->state = UP_DONE;
	if (r == 0)
		deliver_kick(u->srv); /* the customer's "ticket received" */
	if (u->ch != NULL) {
		send_ok(u->ch, id, due, deadline, r == 1 ? QH_TICKET_OK_EXISTED : 0);
		u->ch = NULL;
	}
	upload_free(u);
}

/* Receiving. */

/*
 * When the upload must be done, in loop time: idle_seconds from its start
 * and one second per UPLOAD_RATE bytes received. In UP_META: meta_seconds
 * from its start.
 */
static uint64_t
upload_due_ms(const struct upload *u)
{
	const struct console_conf *conf = &u->srv->conf;

	if (u->state == UP_META)
		return u->started_ms + (uint64_t)conf->ticket_meta_seconds * 1000;
	return u->started_ms + (uint64_t)conf->ticket_idle_seconds * 1000 +
	    u->got * 1000 / UPLOAD_RATE;
}

/* A deadline came: the upload ends unless the bytes it received bought more time. */
static void
on_deadline(uv_timer_t *t)
{
	struct upload *u = t->data;
	uint64_t now = uv_now(t->loop), due = upload_due_ms(u);

	if (u->state == UP_META)
		upload_fail(u, "timeout",
		    "the ticket's description did not arrive in time; "
		    "nothing was filed");
	else if (u->state == UP_DATA && now < due)
		uv_timer_start(&u->deadline, on_deadline, due - now, 0);
	else if (u->state == UP_DATA)
		upload_fail(u, "timeout", "the upload stalled; nothing was filed");
}

/* Arms the deadline of the upload's current phase. */
static void
upload_arm(struct upload *u)
{
	uint64_t now = uv_now(u->srv->loop), due = upload_due_ms(u);

	uv_timer_start(&u->deadline, on_deadline, due > now ? due - now : 0, 0);
}

/* Writes all n bytes at p to fd; returns 0, or -1 with errno. */
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

/* Opens the temporary file for attachment u->cur. */
static int
open_tmp(struct upload *u)
{
	char path[PATH_MAX];
	uint32_t rnd[TMP_NAME_LEN / 8];
	size_t i;

	for (i = 0; i < sizeof(rnd) / sizeof(rnd[0]); i++) {
		rnd[i] = arc4random();
		snprintf(u->tmp[u->cur] + 8 * i, 9, "%08" PRIx32, rnd[i]);
	}
	if (tmp_path(u->srv->state_dir, u->tmp[u->cur], path, sizeof(path)) != 0)
		return QH_ERR_TOO_LARGE;
	if ((u->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		qh_error("%s: %s", path, strerror(errno));
		u->tmp[u->cur][0] = '\0';
		return QH_ERR_SYSTEM;
	}
	if (EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1)
		return QH_ERR_CRYPTO;
	u->cur_got = 0;
	return 0;
}

/*
 * Ends attachment u->cur once all its bytes are in: checks the SHA-256 and
 * closes the file. Returns 0, or <0 after failing the upload.
 */
static int
close_attachment(struct upload *u)
{
	const struct qh_ticket_file *f = &u->t.files[u->cur];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[QH_TICKET_NAME_MAX + 128];

	if (EVP_DigestFinal_ex(u->md, md, &mdlen) != 1 || mdlen != 32) {
		upload_fail(u, "internal", "cannot hash the attachment");
		return QH_ERR_CRYPTO;
	}
	close(u->fd);
	u->fd = -1;
	if (memcmp(md, f->hash, 32) != 0) {
		snprintf(text, sizeof(text),
		    "attachment %s arrived with a different SHA-256 "
		    "than announced; nothing was filed",
		    f->name);
		upload_fail(u, "hash", text);
		return QH_ERR_FORMAT;
	}
	u->cur++;
	return 0;
}

/* Opens and closes the attachments that need no more bytes (empty ones). */
static int
advance(struct upload *u)
{
	while (u->cur < u->t.nfiles && u->t.files[u->cur].size == 0) {
		if (open_tmp(u) != 0) {
			upload_fail(u, "storage",
			    "the console could not store the "
			    "attachments; nothing was filed, try again later");
			return QH_ERR_SYSTEM;
		}
		if (close_attachment(u) != 0)
			return QH_ERR_FORMAT;
	}
	return 0;
}

/* TICKET_GO from the agent: the metadata is complete. */
static void
meta_done(struct upload *u)
{
	struct qh_buf b;
	char why[256];

	if (qh_ticket_finish(&u->t) != 0) {
		upload_fail(u, "ticket", u->t.why);
		return;
	}
	if (u->t.reply_to == 0 &&
	    ticket_check_slots(&u->srv->conf, &u->t, qh_clock_now(), why, sizeof(why)) !=
		0) {
		upload_fail(u, "rule", why);
		return;
	}
	if (store_dirs(u->srv->state_dir) != 0) {
		upload_fail(u, "storage",
		    "the console could not store the attachments; "
		    "nothing was filed, try again later");
		return;
	}
	qh_buf_init(&b, 16);
	(void)qh_msg_begin(&b, QH_MSG_TICKET_GO);
	(void)qh_chan_send_msg(u->ch, &b);
	qh_buf_release(&b);
	u->state = UP_DATA;
	upload_arm(u);
	qh_debug("%s: ticket metadata complete: %d attachments, %" PRIu64 " bytes",
	    u->who, u->t.nfiles, u->t.total);
	(void)advance(u);
}

/* MSG EXIT from the agent: everything is sent. */
static void
data_done(struct upload *u)
{
	int r;

	if (u->cur != u->t.nfiles || u->got != u->t.total) {
		upload_fail(u, "incomplete",
		    "the upload ended before all attachments "
		    "arrived; nothing was filed");
		return;
	}
	u->state = UP_STORE;
	uv_timer_stop(&u->deadline);
	u->work.data = u;
	if ((r = uv_queue_work(u->srv->loop, &u->work, store_work, store_done)) != 0) {
		u->state = UP_DATA;
		upload_fail(u, "internal", "cannot store the attachments now");
	}
}

/* Metadata until TICKET_GO, then only EXIT. */
static void
upload_on_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct upload *u = qh_chan_arg(ch);

	switch (u->state) {
	case UP_META:
		if (m->type == QH_MSG_TICKET_GO)
			meta_done(u);
		else if (qh_ticket_decode(&u->t, m) != 0)
			upload_fail(u, "ticket", u->t.why);
		return;
	case UP_DATA:
		if (m->type == QH_MSG_EXIT)
			data_done(u);
		else
			upload_fail(u, "protocol",
			    "unexpected message during the upload");
		return;
	default:
		return; /* after EXIT: nothing more counts */
	}
}

/* Attachment bytes: into the current file and its hash, across file ends. */
static void
upload_on_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct upload *u = qh_chan_arg(ch);
	size_t total = len, n;
	uint64_t left;

	if (u->state == UP_STORE) {
		qh_chan_consume(ch, len); /* past EXIT: dropped, the files are busy */
		return;
	}
	if (u->state != UP_DATA || ext) {
		upload_fail(u, "protocol",
		    "attachment data before the console asked "
		    "for it");
		return;
	}
	while (len > 0) {
		if (u->cur >= u->t.nfiles) {
			upload_fail(u, "protocol", "more attachment data than announced");
			return;
		}
		if (u->fd == -1 && open_tmp(u) != 0) {
			upload_fail(u, "storage",
			    "the console could not store the "
			    "attachments; nothing was filed, try again later");
			return;
		}
		left = u->t.files[u->cur].size - u->cur_got;
		n = left < len ? (size_t)left : len;
		if (EVP_DigestUpdate(u->md, p, n) != 1) {
			upload_fail(u, "internal", "cannot hash the attachment");
			return;
		}
		/* Page-cache writes of at most one frame; the sync is on the pool. */
		if (write_all(u->fd, p, n) != 0) {
			qh_error("%s: writing an attachment: %s", u->who,
			    strerror(errno));
			upload_fail(u, "storage",
			    errno == ENOSPC
				? "the console has no "
				  "room for the attachments; nothing was filed"
				: "the console "
				  "could not store the attachments; nothing was filed, "
				  "try "
				  "again later");
			return;
		}
		u->cur_got += n;
		u->got += n;
		p += n;
		len -= n;
		if (u->cur_got == u->t.files[u->cur].size &&
		    (close_attachment(u) != 0 || advance(u) != 0))
			return;
	}
	qh_chan_consume(ch, total);
}

/* EOF before EXIT: the agent gave up. */
static void
upload_on_eof(struct qh_chan *ch)
{
	struct upload *u = qh_chan_arg(ch);

	if (u->state == UP_META || u->state == UP_DATA)
		upload_fail(u, "incomplete",
		    "the upload ended before all attachments "
		    "arrived; nothing was filed");
}

/* The channel or the connection is gone: nothing is filed unless storing began. */
static void
upload_on_close(struct qh_chan *ch)
{
	struct upload *u = qh_chan_arg(ch);

	u->ch = NULL;
	if (u->state == UP_STORE) {
		u->gone = 1; /* store_done finishes and frees */
		return;
	}
	qh_info("%s: ticket upload cut off after %" PRIu64 " of %" PRIu64 " bytes; "
		"nothing was filed",
	    u->who, u->got, u->t.total);
	u->state = UP_DONE;
	upload_free(u);
}

static const struct qh_chan_ops upload_ops = {
	.on_data = upload_on_data,
	.on_msg = upload_on_msg,
	.on_eof = upload_on_eof,
	.on_close = upload_on_close,
};

/*
 * 1 (ch refused) when intake is busy: too many uploads in all, from this
 * PC (or technician), or from this customer's PCs.
 */
static int
upload_busy(struct upload *u, struct qh_chan *ch)
{
	struct upload *o;
	int n = 0, mine = 0, ours = 0;

	LIST_FOREACH (o, &uploads, link) {
		n++;
		mine += strcmp(o->agent_id, u->agent_id) == 0;
		ours += !u->staff && strcmp(o->customer, u->customer) == 0;
	}
	if (n < UPLOADS_MAX && mine < UPLOADS_PER_AGENT && ours < UPLOADS_PER_CUSTOMER)
		return 0;
	qh_warn("%s: ticket refused: %d uploads in progress, %d of them this "
		"PC's, %d this customer's",
	    u->who, n, mine, ours);
	qh_chan_refuse(ch, "busy",
	    mine >= UPLOADS_PER_AGENT
		? "this PC is sending "
		  "other tickets already; try again when they are done"
		: ours >= UPLOADS_PER_CUSTOMER
		? "other PCs of yours are sending tickets; try again when "
		  "they are done"
		: "the console is "
		  "busy receiving other tickets; try again in a minute");
	return 1;
}

/*
 * A reply may go to its ticket: one that exists, is the customer's own
 * (for a PC) and is not closed. Refuses ch with the sentence and returns 0
 * when not.
 */
static int
reply_allowed(struct upload *u, struct qh_chan *ch)
{
	struct ticket_state s;
	char why[256];
	int r;

	if ((r = db_ticket_state(u->srv->db, u->t.reply_to, &s)) == 0 && !u->staff &&
	    strcmp(s.customer, u->customer) != 0)
		r = QH_ERR_NOT_FOUND; /* another customer's: not theirs to know of */
	if (r == 0 && strcmp(s.status, TICKET_CLOSED) == 0)
		r = QH_ERR_CLOSED;
	if (r == 0)
		return 1;
	desk_post_fail(why, sizeof(why), r, u->t.reply_to);
	qh_info("%s: reply refused: %s", u->who, why);
	qh_chan_refuse(ch,
	    r == QH_ERR_NOT_FOUND    ? "not-found"
		: r == QH_ERR_CLOSED ? "closed"
				     : "internal",
	    why);
	return 0;
}

void
ticket_request(struct server *srv, const struct qh_identity *who, struct qh_chan *ch,
    const struct qh_msg *m)
{
	const struct console_conf *conf = &srv->conf;
	struct qh_ticket_limits lim;
	struct upload *u;
	char key[65], agent[QH_ID_MAX + 1];
	int64_t id, due, deadline;
	int r;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		return;
	}
	u->srv = srv;
	u->fd = -1;
	if (who->role == QH_ROLE_AGENT) {
		snprintf(u->customer, sizeof(u->customer), "%s", who->id);
		snprintf(u->agent_id, sizeof(u->agent_id), "%s", who->agent_id);
		snprintf(u->who, sizeof(u->who), "agent %s of %s", u->agent_id,
		    u->customer);
	} else {
		u->staff = 1; /* the limits count technicians as one "customer" */
		snprintf(u->agent_id, sizeof(u->agent_id), "%s", who->id);
		snprintf(u->who, sizeof(u->who), "technician %s", who->id);
	}
	lim.attachment_max = (uint64_t)conf->max_attachment_mib << 20;
	lim.total_max = (uint64_t)conf->max_ticket_mib << 20;
	lim.steps_max = (size_t)conf->max_steps_kib << 10;
	qh_ticket_init(&u->t, &lim);
	if ((u->md = EVP_MD_CTX_new()) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		goto fail;
	}
	if ((r = qh_ticket_decode_request(&u->t, m)) != 0) {
		qh_info("%s: ticket refused: %s", u->who, u->t.why);
		qh_chan_refuse(ch, r == QH_ERR_LIMIT ? "too-large" : "ticket", u->t.why);
		goto fail;
	}
	if (u->t.reply_to == 0 && u->staff) {
		qh_chan_refuse(ch, "forbidden",
		    "technicians reply to tickets; customers file them");
		goto fail;
	}
	if (u->t.reply_to != 0 && !reply_allowed(u, ch))
		goto fail;
	ticket_hex(u->t.key, key);
	r = u->t.reply_to != 0
	    ? 0
	    : db_ticket_by_key(srv->db, key, &id, agent, sizeof(agent), &due, &deadline);
	if (r < 0) {
		qh_chan_refuse(ch, "internal",
		    "the console's database failed; see its log");
		goto fail;
	}
	if (r == 1 && strcmp(agent, u->agent_id) != 0) {
		qh_warn("%s: ticket key of ticket %" PRId64 " belongs to agent %s",
		    u->who, id, agent);
		qh_chan_refuse(ch, "conflict",
		    "this ticket conflicts with one filed by "
		    "another PC");
		goto fail;
	}
	if (r == 1) {
		/* A retry of a ticket that was filed: the same number again. */
		qh_info("%s: ticket %" PRId64 " was filed before", u->who, id);
		qh_chan_accept(ch, 0, &answered_ops, NULL);
		send_ok(ch, id, due, deadline, QH_TICKET_OK_EXISTED);
		goto fail;
	}
	if (upload_busy(u, ch))
		goto fail;
	purge_stale(srv->state_dir);
	LIST_INSERT_HEAD(&uploads, u, link);
	u->listed = 1;
	uv_timer_init(srv->loop, &u->deadline);
	u->deadline.data = u;
	u->timer_on = 1;
	u->ch = ch;
	u->state = UP_META;
	u->started_ms = uv_now(srv->loop);
	upload_arm(u);
	qh_chan_accept(ch, 0, &upload_ops, u);
	qh_debug("%s: ticket upload of %" PRIu64 " bytes starts", u->who, u->t.total);
	return;
fail:
	upload_free(u);
}
