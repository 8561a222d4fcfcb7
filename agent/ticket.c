/*
 * qh-agent ticket: files a support ticket with the console over this PC's
 * own short TLS connection (the agent's certificate; no session, no
 * technician needed). Everything the customer gave is checked before a
 * byte is sent: the subject, the steps, each attachment (an existing,
 * readable regular file within the size limits) and each proposed
 * appointment (local time that exists and lies ahead). The workstation's
 * facts come from agent_info_json; --screenshot adds a PNG of the screen
 * (screenshot.c), written to the configuration directory for the upload
 * and removed after it. The console answers with the ticket's number and
 * due time; see docs/protocol.md, "Tickets", for the exchange.
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
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/clock.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/ticket.h"
#include "agent.h"
#include "platform.h"
#include "screenshot.h"

#define CONNECT_TIMEOUT_MS 30000 /* dial, handshake and the channel's answer */
#define KEEPALIVE_IDLE_MS  15000
#define KEEPALIVE_DEAD_MS  45000
#define SEND_CHUNK	   (64 * 1024)

enum tk_state {
	TK_CONNECTING, /* dial and TLS handshake */
	TK_OPENING,    /* REQUEST sent, waiting for the console's answer */
	TK_META,       /* metadata sent, waiting for the console's TICKET_GO */
	TK_SENDING,    /* attachments flow as DATA */
	TK_SENT,       /* MSG EXIT sent, waiting for TICKET_OK */
	TK_DONE,       /* answered or failed; handles closing */
};

struct tk {
	uv_loop_t *loop;
	struct qh_bundle bundle;
	struct qh_tls_ctx *ctx;
	char host[256];
	int port;
	struct qh_ticket t;
	int fds[QH_TICKET_FILES_MAX]; /* the attachments, open since the checks */
	const char *paths[QH_TICKET_FILES_MAX];
	char shot[PATH_MAX]; /* --screenshot's file, removed at the end; "" for none */

	enum tk_state state;
	struct qh_mux *mux; /* NULL once closed */
	struct qh_chan *ch; /* NULL unless opening or open */
	uv_timer_t timer;   /* CONNECT_TIMEOUT_MS until the channel opens */
	char why[256];	    /* why the dial failed */

	int cur;	   /* attachment being sent */
	uint64_t cur_sent; /* its bytes read so far */
	EVP_MD_CTX *md;
	uint8_t buf[SEND_CHUNK]; /* read from the file, not yet taken */
	size_t buf_off, buf_len;

	int status; /* exit status */
};

/* Ends the command with status after printing text (if any); only the first call counts.
 */
static void tk_finish(struct tk *k, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tk_finish(struct tk *k, int status, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (k->state == TK_DONE)
		return;
	k->state = TK_DONE;
	k->status = status;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		ui_sanitize(text);
		qh_say("%s", text);
	}
	if (!uv_is_closing((uv_handle_t *)&k->timer))
		uv_close((uv_handle_t *)&k->timer, NULL);
	if (k->ch != NULL) {
		qh_chan_close(k->ch);
		k->ch = NULL;
	}
	if (k->mux != NULL)
		qh_mux_close(k->mux, 0, NULL);
}

/*
 * "Mon 2026-11-30 18:00 CET" in this PC's time zone, the day's name in the
 * customer's language (strftime's %a would need a locale installed).
 */
static const char *
local_time(int64_t t, char *out, size_t len)
{
	static const char *const days[7] = { N_("Sun"), N_("Mon"), N_("Tue"), N_("Wed"),
		N_("Thu"), N_("Fri"), N_("Sat") };
	time_t tt = (time_t)t;
	struct tm tm;
	char rest[48];

	if (localtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    strftime(rest, sizeof(rest), "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(out, len, "?");
	else
		snprintf(out, len, "%s %s", _(days[tm.tm_wday]), rest);
	return out;
}

/* Sending the attachments. */

/* Starts attachment k->cur: back to its start, a fresh hash. */
static int
file_begin(struct tk *k)
{
	k->cur_sent = 0;
	if (lseek(k->fds[k->cur], 0, SEEK_SET) == -1 ||
	    EVP_DigestInit_ex(k->md, EVP_sha256(), NULL) != 1)
		return QH_ERR_SYSTEM;
	return 0;
}

/* Checks that what was sent of attachment k->cur is what was described. */
static int
file_end(struct tk *k)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(k->md, md, &mdlen) != 1 || mdlen != 32 ||
	    memcmp(md, k->t.files[k->cur].hash, 32) != 0)
		return QH_ERR_FORMAT;
	return 0;
}

/* Sends MSG EXIT{size} and EOF: everything is on its way. */
static void
send_end(struct tk *k)
{
	struct qh_buf b;

	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_EXIT) != 0 ||
	    qh_msg_put_u64(&b, QH_K_SIZE, k->t.total) != 0 ||
	    qh_chan_send_msg(k->ch, &b) != 0 || qh_chan_eof(k->ch) != 0) {
		qh_buf_release(&b);
		tk_finish(k, 1,
		    _("the connection to the console broke; no ticket was filed"));
		return;
	}
	qh_buf_release(&b);
	k->state = TK_SENT;
}

/* Feeds the channel as far as its window allows; on_writable calls again. */
static void
pump(struct tk *k)
{
	const struct qh_ticket_file *f;
	ssize_t n;
	size_t want;

	while (k->state == TK_SENDING) {
		if (k->buf_off == k->buf_len) {
			if (k->cur == k->t.nfiles) {
				send_end(k);
				return;
			}
			f = &k->t.files[k->cur];
			if (k->cur_sent == f->size) {
				if (file_end(k) != 0) {
					tk_finish(k, 1,
					    _("%s changed while it was sent; no ticket "
					      "was filed"),
					    k->paths[k->cur]);
					return;
				}
				if (++k->cur < k->t.nfiles && file_begin(k) != 0) {
					tk_finish(k, 1, _("%s: cannot read it again: %s"),
					    k->paths[k->cur], strerror(errno));
					return;
				}
				continue;
			}
			want = f->size - k->cur_sent < sizeof(k->buf)
			    ? (size_t)(f->size - k->cur_sent)
			    : sizeof(k->buf);
			if ((n = read(k->fds[k->cur], k->buf, want)) < 0 &&
			    errno == EINTR)
				continue;
			if (n <= 0) {
				tk_finish(k, 1,
				    n == 0 ? "%s changed while it was sent; no "
					     "ticket was filed"
					   : "%s: cannot read it: %s",
				    k->paths[k->cur], strerror(errno));
				return;
			}
			(void)EVP_DigestUpdate(k->md, k->buf, (size_t)n);
			k->cur_sent += (uint64_t)n;
			k->buf_off = 0;
			k->buf_len = (size_t)n;
		}
		n = qh_chan_write(k->ch, 0, k->buf + k->buf_off, k->buf_len - k->buf_off);
		if (n < 0) {
			tk_finish(k, 1,
			    _("the connection to the console broke; no ticket was "
			      "filed"));
			return;
		}
		if (n == 0)
			return; /* the window is full: on_writable goes on */
		k->buf_off += (size_t)n;
	}
}

/* Channel callbacks. */

/* Sends one metadata message on the ticket channel. */
static int
send_item(void *arg, const struct qh_buf *msg)
{
	struct tk *k = arg;

	return qh_chan_send_msg(k->ch, msg);
}

/* The console took the request (send the metadata and TICKET_GO) or refused it. */
static void
tk_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct tk *k = qh_chan_arg(ch);
	struct qh_buf b;
	char *text = NULL;

	if (err != 0) {
		k->ch = NULL; /* refused channels are freed by the mux */
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tk_finish(k, 1, "%s",
		    text != NULL ? text : "the console refused the ticket");
		free(text);
		return;
	}
	uv_timer_stop(&k->timer);
	qh_buf_init(&b, 16);
	if (qh_ticket_encode_items(&k->t, send_item, k) != 0 ||
	    qh_msg_begin(&b, QH_MSG_TICKET_GO) != 0 || qh_chan_send_msg(ch, &b) != 0) {
		qh_buf_release(&b);
		tk_finish(k, 1,
		    _("the connection to the console broke; no ticket was filed"));
		return;
	}
	qh_buf_release(&b);
	k->state = TK_META;
}

/* TICKET_OK: print the number and the due time, and leave. */
static void
on_ticket_ok(struct tk *k, const struct qh_msg *m)
{
	uint64_t id = 0, due = 0, deadline = 0;
	uint32_t flags = 0;
	char d1[64], d2[64];
	const char *before;

	(void)qh_msg_get_u64(m, QH_K_ID, &id);
	(void)qh_msg_get_u64(m, QH_K_DUE, &due);
	(void)qh_msg_get_u64(m, QH_K_DEADLINE, &deadline);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	local_time((int64_t)due, d1, sizeof(d1));
	/* TRANSLATORS: follows "ticket N" when the same ticket was filed before. */
	before = flags & QH_TICKET_OK_EXISTED ? _(" (filed before)") : "";
	if (deadline != 0)
		ui_line(_("ticket %llu%s: due %s, at the latest %s"),
		    (unsigned long long)id, before, d1,
		    local_time((int64_t)deadline, d2, sizeof(d2)));
	else
		ui_line(_("ticket %llu%s: due %s"), (unsigned long long)id, before, d1);
	tk_finish(k, 0, NULL);
}

/* The console's TICKET_GO, TICKET_OK or ERROR. */
static void
tk_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct tk *k = qh_chan_arg(ch);
	char *text = NULL;

	switch (m->type) {
	case QH_MSG_TICKET_OK:
		on_ticket_ok(k, m);
		return;
	case QH_MSG_ERROR:
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tk_finish(k, 1, "%s",
		    text != NULL ? text : "the console refused the ticket");
		free(text);
		return;
	case QH_MSG_TICKET_GO:
		if (k->state == TK_META) {
			k->state = TK_SENDING;
			if (k->t.nfiles > 0 && file_begin(k) != 0) {
				tk_finish(k, 1, _("%s: cannot read it again: %s"),
				    k->paths[0], strerror(errno));
				return;
			}
			pump(k);
			return;
		}
		break;
	default:
		break;
	}
	tk_finish(k, 1,
	    _("the console sent an unexpected %s message; no ticket was filed"),
	    qh_msg_name(m->type));
}

/* The window opened again: go on sending. */
static void
tk_writable(struct qh_chan *ch)
{
	pump(qh_chan_arg(ch));
}

/* The console sends no data on a ticket channel; what comes is dropped. */
static void
tk_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED, size_t len)
{
	qh_chan_consume(ch, len); /* the console sends none; ignore it */
}

/* The channel ended without TICKET_OK or ERROR. */
static void
tk_chan_close(struct qh_chan *ch)
{
	struct tk *k = qh_chan_arg(ch);

	k->ch = NULL;
	tk_finish(k, 1,
	    _("the upload broke off before the console answered; the ticket "
	      "may not be filed: run the same command again (it files the ticket once)"));
}

static const struct qh_chan_ops tk_chan_ops = {
	.on_open_result = tk_open_result,
	.on_data = tk_data,
	.on_msg = tk_msg,
	.on_close = tk_chan_close,
	.on_writable = tk_writable,
};

/* Connection callbacks. */

/* TLS is up: check that the peer is a console and open the ticket channel. */
static int
tk_ready(struct qh_mux *mux, const struct qh_identity *peer)
{
	struct tk *k = qh_mux_arg(mux);
	struct qh_buf req;

	if (peer->role != QH_ROLE_CONSOLE) {
		snprintf(k->why, sizeof(k->why), "the peer is not a console");
		return QH_ERR_AUTH;
	}
	qh_mux_set_keepalive(mux, KEEPALIVE_IDLE_MS, KEEPALIVE_DEAD_MS);
	qh_buf_init(&req, QH_MSG_MAX_LEN);
	if (qh_ticket_encode_request(&k->t, &req) != 0 ||
	    (k->ch = qh_chan_open(mux, &req, 0, &tk_chan_ops, k)) == NULL) {
		qh_buf_release(&req);
		snprintf(k->why, sizeof(k->why), "cannot open a channel");
		return QH_ERR_INTERNAL;
	}
	qh_buf_release(&req);
	k->state = TK_OPENING;
	return 0;
}

/* Control messages: an ERROR (a revoked agent, say) ends the command. */
static int
tk_control(struct qh_mux *mux, const struct qh_msg *m)
{
	struct tk *k = qh_mux_arg(mux);
	char *text = NULL;

	if (m->type == QH_MSG_ERROR) {
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tk_finish(k, 1, "%s", text != NULL ? text : "the console refused us");
		free(text);
		return 0;
	}
	return 0; /* notices and the like are not for a ticket */
}

/* The connection is gone; if no answer came, say why. */
static void
tk_closed(struct qh_mux *mux, int err)
{
	struct tk *k = qh_mux_arg(mux);

	k->mux = NULL;
	k->ch = NULL;
	if (k->state == TK_CONNECTING)
		tk_finish(k, 1,
		    _("cannot connect to the console at %s:%d: %s; no ticket was "
		      "filed"),
		    k->host, k->port,
		    k->why[0] != '\0' ? k->why
				      : _(qh_strerror(err != 0 ? err : QH_ERR_CLOSED)));
	else
		tk_finish(k, 1,
		    _("the connection to the console was lost; the ticket may not "
		      "be filed: run the same command again (it files the ticket once)"));
}

static const struct qh_mux_ops tk_ops = {
	.on_ready = tk_ready,
	.on_control = tk_control,
	.on_close = tk_closed,
};

/* No channel within CONNECT_TIMEOUT_MS. */
static void
on_timeout(uv_timer_t *t)
{
	struct tk *k = t->data;

	snprintf(k->why, sizeof(k->why), "no answer within %d s",
	    CONNECT_TIMEOUT_MS / 1000);
	if (k->mux != NULL && (k->state == TK_CONNECTING || k->state == TK_OPENING)) {
		tk_finish(k, 1,
		    _("the console at %s:%d did not answer within %d s; no ticket "
		      "was filed"),
		    k->host, k->port, CONNECT_TIMEOUT_MS / 1000);
	}
}

/* The checks before anything is sent. */

/* Reads the steps from path ("-": standard input) into the ticket. */
static int
read_steps(struct qh_cli *c, struct tk *k, const char *path)
{
	uint8_t buf[16384];
	size_t total = 0;
	ssize_t n;
	int fd, r, status = QH_EXIT_FAIL;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return qh_cli_fail(c, _("steps %s: %s"), path, strerror(errno));
	if (fd != STDIN_FILENO) {
		struct stat st;

		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			status = qh_cli_fail(c, _("steps %s: not a regular file"), path);
			goto out;
		}
	}
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			status = qh_cli_fail(c, _("steps %s: %s"), path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if ((r = qh_ticket_add_text(&k->t, "steps", buf, (size_t)n)) != 0) {
			status = qh_cli_fail(c, "%s", k->t.why);
			goto out;
		}
	}
	if (!qh_utf8_valid(total > 0 ? qh_buf_ptr(&k->t.steps) : (const uint8_t *)"",
		qh_buf_len(&k->t.steps))) {
		status = qh_cli_fail(c, _("the steps in %s are not valid UTF-8 text"),
		    strcmp(path, "-") == 0 ? "standard input" : path);
		goto out;
	}
	status = 0;
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return status;
}

/*
 * Opens every attachment and checks it is a readable regular file within
 * the per-attachment limit, with a usable, unique name; *total gets their
 * sum. Nothing is read yet.
 */
static int
open_attachments(struct qh_cli *c, struct tk *k, const char *const *paths, int n,
    uint64_t *total)
{
	struct stat st;
	int i, j, fd;

	*total = 0;
	if (n > QH_TICKET_FILES_MAX)
		return qh_cli_fail(c, _("at most %d attachments per ticket"),
		    QH_TICKET_FILES_MAX);
	for (i = 0; i < n; i++) {
		const char *p = paths[i], *name = plat_base_name(p);

		/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
		if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
			if (errno == ENOENT)
				return qh_cli_fail(c, _("attachment %s: no such file"),
				    p);
			if (errno == EACCES)
				return qh_cli_fail(c,
				    _("attachment %s: not readable "
				      "(permission denied)"),
				    p);
			return qh_cli_fail(c, _("attachment %s: %s"), p, strerror(errno));
		}
		k->fds[i] = fd;
		k->paths[i] = p;
		if (fstat(fd, &st) != 0)
			return qh_cli_fail(c, _("attachment %s: %s"), p, strerror(errno));
		if (S_ISDIR(st.st_mode))
			return qh_cli_fail(c,
			    _("attachment %s is a directory, not a file"), p);
		if (!S_ISREG(st.st_mode))
			return qh_cli_fail(c, _("attachment %s is not a regular file"),
			    p);
		if ((uint64_t)st.st_size > k->t.lim.attachment_max)
			return qh_cli_fail(c,
			    _("attachment %s is %llu MiB; at most %llu MiB per "
			      "attachment are accepted"),
			    p,
			    (unsigned long long)(((uint64_t)st.st_size + (1 << 20) - 1) >>
				20),
			    (unsigned long long)(k->t.lim.attachment_max >> 20));
		if (!qh_ticket_name_valid(name))
			return qh_cli_fail(c,
			    _("attachment %s: its file name must be valid "
			      "UTF-8 without control characters"),
			    p);
		for (j = 0; j < i; j++)
			if (strcmp(plat_base_name(paths[j]), name) == 0)
				return qh_cli_fail(c,
				    _("two attachments are named %s; rename "
				      "one"),
				    name);
		if (fcntl(fd, F_SETFL, 0) == -1)
			return qh_cli_fail(c, _("attachment %s: %s"), p, strerror(errno));
		*total += (uint64_t)st.st_size;
	}
	return 0;
}

/* Hashes attachment i as it is now and adds it to the ticket. */
static int
hash_attachment(struct qh_cli *c, struct tk *k, int i)
{
	struct stat st;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t total = 0;
	ssize_t n;

	if (fstat(k->fds[i], &st) != 0 ||
	    EVP_DigestInit_ex(k->md, EVP_sha256(), NULL) != 1)
		return qh_cli_fail(c, _("attachment %s: %s"), k->paths[i],
		    strerror(errno));
	while ((n = read(k->fds[i], k->buf, sizeof(k->buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return qh_cli_fail(c, _("attachment %s: not readable: %s"),
			    k->paths[i], strerror(errno));
		(void)EVP_DigestUpdate(k->md, k->buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(k->md, md, &mdlen) != 1 || mdlen != 32)
		return qh_cli_fail(c, _("cannot hash %s"), k->paths[i]);
	if (total != (uint64_t)st.st_size)
		return qh_cli_fail(c, _("attachment %s changed while it was read"),
		    k->paths[i]);
	if (qh_ticket_add_file(&k->t, plat_base_name(k->paths[i]), total, md) != 0)
		return qh_cli_fail(c, "%s", k->t.why);
	return 0;
}

/*
 * Adds --propose YYYY-MM-DDTHH:MM (this PC's local time) with the UTC
 * offset the time zone has then. A time the clocks skip (the spring DST
 * change) and a time in the past are refused.
 */
static int
add_proposal(struct qh_cli *c, struct tk *k, const char *s)
{
	struct tm tm, want;
	time_t t;
	long gmtoff;

	if (qh_ticket_parse_when(s, &tm) != 0)
		return qh_cli_usage(c,
		    _("--propose takes YYYY-MM-DDTHH:MM in local time"));
	want = tm;
	if ((t = mktime(&tm)) == (time_t)-1)
		return qh_cli_fail(c,
		    _("the proposed appointment %s cannot be converted"), s);
	if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon ||
	    tm.tm_mday != want.tm_mday || tm.tm_hour != want.tm_hour ||
	    tm.tm_min != want.tm_min)
		return qh_cli_fail(c,
		    _("the proposed appointment %s does not exist in this "
		      "time zone (the clocks change then)"),
		    s);
	if ((int64_t)t < qh_clock_now())
		return qh_cli_fail(c, _("the proposed appointment %s lies in the past"),
		    s);
#ifdef _WIN32
	/* No tm_gmtoff: the local time read as UTC, minus the instant. */
	want = tm;
	gmtoff = (long)(timegm(&want) - t);
#else
	gmtoff = tm.tm_gmtoff;
#endif
	if (qh_ticket_add_slot(&k->t, s, (int32_t)(gmtoff / 60)) != 0)
		return qh_cli_fail(c, "%s", k->t.why);
	return 0;
}

/* The environment: this PC's facts as one JSON object. */
static void
add_environment(struct tk *k)
{
	struct qh_buf env;
	int r;

	qh_buf_init(&env, QH_TICKET_ENV_MAX);
	if ((r = agent_info_json(&env)) != 0 ||
	    qh_ticket_add_text(&k->t, "environment", qh_buf_ptr(&env),
		qh_buf_len(&env)) != 0)
		qh_warn("the workstation facts could not be collected (%s); the ticket "
			"goes without them",
		    r != 0 ? qh_strerror(r) : k->t.why);
	qh_buf_release(&env);
}

/*
 * --screenshot: the screen as screenshot-YYYYMMDD-HHMMSS.png (local time)
 * in the configuration directory, which exists and is private.
 */
static int
take_screenshot(struct qh_cli *c, struct tk *k)
{
	char dir[PATH_MAX], name[64], why[300];
	time_t now = time(NULL);
	struct tm tm;
	int w, h;

	if (agent_config_dir(c, dir, sizeof(dir)) != 0 || localtime_r(&now, &tm) == NULL)
		return qh_cli_fail(c, "no place for the screenshot");
	strftime(name, sizeof(name), "screenshot-%Y%m%d-%H%M%S.png", &tm);
	if (plat_path_join(k->shot, sizeof(k->shot), dir, name) != 0)
		return qh_cli_fail(c, "no place for the screenshot");
	if (screenshot_png(k->shot, &w, &h, why, sizeof(why)) != 0) {
		(void)remove(k->shot);
		k->shot[0] = '\0';
		return qh_cli_fail(c, "no screenshot: %s", why);
	}
	ui_line(_("screenshot of the screen (%dx%d) attached as %s"), w, h, name);
	return 0;
}

/* Checks and collects everything the command line names; returns an exit status. */
static int
collect(struct qh_cli *c, struct tk *k)
{
	const char *subject = qh_cli_opt(c, "subject"), *kind = qh_cli_opt(c, "kind");
	const char *steps = qh_cli_opt(c, "steps");
	const char *const *attach = NULL, *const *propose = NULL;
	const char *files[QH_TICKET_FILES_MAX + 1];
	int nattach = qh_cli_opts(c, "attach", &attach);
	int npropose = qh_cli_opts(c, "propose", &propose), i, status;
	uint64_t total;

	if (kind == NULL)
		kind = "support";
	if (strcmp(kind, "support") != 0 && strcmp(kind, "installation") != 0)
		return qh_cli_usage(c, _("--kind is support or installation"));
	if (subject == NULL)
		return qh_cli_usage(c, _("--subject TEXT is required"));
	if (npropose > QH_TICKET_SLOTS_MAX)
		return qh_cli_usage(c, _("at most 16 proposed appointments"));
	/* The subject's own checks first, with an empty total. */
	if (qh_ticket_set_header(&k->t, kind, subject, 0) != 0)
		return qh_cli_fail(c, "%s", k->t.why);
	for (i = 0; i < npropose; i++)
		if ((status = add_proposal(c, k, propose[i])) != 0)
			return status;
	if (steps != NULL && (status = read_steps(c, k, steps)) != 0)
		return status;
	for (i = 0; i < nattach && i < QH_TICKET_FILES_MAX; i++)
		files[i] = attach[i];
	if (qh_cli_flag(c, "screenshot")) {
		if (nattach >= QH_TICKET_FILES_MAX)
			return qh_cli_fail(c, "at most %d attachments per ticket",
			    QH_TICKET_FILES_MAX);
		if ((status = take_screenshot(c, k)) != 0)
			return status;
		files[nattach++] = k->shot;
	}
	if ((status = open_attachments(c, k, files, nattach, &total)) != 0)
		return status;
	if (qh_ticket_set_header(&k->t, kind, subject, total) != 0)
		return qh_cli_fail(c, "%s", k->t.why);
	for (i = 0; i < nattach; i++)
		if ((status = hash_attachment(c, k, i)) != 0)
			return status;
	add_environment(k);
	if (qh_ticket_finish(&k->t) != 0)
		return qh_cli_fail(c, "%s", k->t.why);
	return 0;
}

static int
cmd_ticket(struct qh_cli *c)
{
	struct qh_identity id;
	struct tk *k;
	int i, status;

	if (agent_log_level(c) != 0)
		return qh_cli_usage(c, _("bad --log-level"));
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return qh_cli_fail(c, _("out of memory"));
	for (i = 0; i < QH_TICKET_FILES_MAX; i++)
		k->fds[i] = -1;
	qh_ticket_init(&k->t, NULL);
	k->t.lang = qh_lang_get(); /* the refusals are the customer's to read */
	if ((k->md = EVP_MD_CTX_new()) == NULL) {
		status = qh_cli_fail(c, _("out of memory"));
		goto out;
	}
	if ((status = collect(c, k)) != 0)
		goto out;
	if ((status = agent_identity_load(c, &k->bundle, k->host, sizeof(k->host),
		 &k->port, &k->ctx)) != 0)
		goto out;
	if (qh_pki_identity(k->bundle.cert, &id) != 0 || id.role != QH_ROLE_AGENT ||
	    qh_ticket_make_key(&k->t, id.agent_id) != 0) {
		status = qh_cli_fail(c,
		    _("this PC's certificate is not an agent certificate"));
		goto out;
	}

	k->loop = uv_default_loop();
	k->state = TK_CONNECTING;
	uv_timer_init(k->loop, &k->timer);
	k->timer.data = k;
	uv_timer_start(&k->timer, on_timeout, CONNECT_TIMEOUT_MS, 0);
	if ((k->mux = qh_mux_new(k->loop, k->ctx, QH_TLS_CLIENT, k->host, NULL, &tk_ops,
		 k)) == NULL) {
		tk_finish(k, 1, _("out of memory"));
	} else {
		qh_debug("filing a ticket with %s:%d: %d attachments, %" PRIu64 " bytes",
		    k->host, k->port, k->t.nfiles, k->t.total);
		/* A failure closes the mux; tk_closed reports it. */
		(void)qh_mux_dial(k->mux, k->host, k->port, CONNECT_TIMEOUT_MS, k->why,
		    sizeof(k->why));
	}
	uv_run(k->loop, UV_RUN_DEFAULT);
	status = k->status;
	(void)uv_loop_close(k->loop);
out:
	for (i = 0; i < QH_TICKET_FILES_MAX; i++)
		if (k->fds[i] != -1)
			close(k->fds[i]);
	if (k->shot[0] != '\0')
		(void)remove(k->shot);
	EVP_MD_CTX_free(k->md);
	qh_ticket_free(&k->t);
	qh_tls_ctx_free(k->ctx);
	if (k->bundle.cert != NULL)
		qh_bundle_free(&k->bundle);
	free(k);
	return status;
}

const struct qh_cli_cmd cmd_ticket_entry = {
	.name = "ticket",
	.usage = "--subject TEXT [--steps FILE|-] [--attach FILE]... "
		 "[--propose YYYY-MM-DDTHH:MM]... [--kind support|installation] "
		 "[--screenshot] [--config DIR] [--lang de|en]",
	.summary = N_("file a support ticket with this PC's facts, steps to reproduce, "
		      "attachments and proposed appointments (local time)"),
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("config"), QH_OPT("subject"), QH_OPT("steps"), QH_OPTS("attach"),
	    QH_OPTS("propose"), QH_OPT("kind"), QH_FLAG("screenshot"),
	    QH_OPT("log-level"), QH_OPT("lang") },
	.exec = cmd_ticket,
};
