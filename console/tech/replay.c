/*
 * qh-console replay FILE --png-at SECONDS OUT.png: a frame of a desktop
 * recording, for an audit question ("what did the technician see at
 * 10:42?"). It decodes the FBS 001.000 recording of our RFB server
 * (common/fbs.c, common/rfbdec.c: exactly the encodings our server sends)
 * up to the given second and writes the picture then as a PNG
 * (common/png.c), with the pointer painted in where the recording says it
 * was. A console's recording NAME.fbs has the viewer's side beside it
 * (NAME.client.fbs, also FBS 001.000): its pixel format and encodings
 * are fed to the decoder at the instants the viewer sent them. Prints
 * "WxH at S s (N updates)" on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/png.h"
#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/fbs.h"
#include "qh/log.h"
#include "qh/rfbdec.h"
#include "tech.h"

/* Screens larger than this many pixels are refused. */
#define REPLAY_MAX_PIXELS (16384 * 8192)

/* One recording file read block by block. */
struct source {
	int fd;
	struct qh_buf in;
	int header;	  /* the magic was read */
	int eof;	  /* read returned 0 */
	int held;	  /* a block is waiting: p, len, ms */
	const uint8_t *p; /* inside in, valid until in is filled again */
	size_t len;
	uint32_t ms;
};

static void
source_init(struct source *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	qh_buf_init(&s->in, QH_FBS_BLOCK_SIZE(QH_FBS_BLOCK_MAX) + 65536);
}

static void
source_free(struct source *s)
{
	qh_buf_release(&s->in);
	if (s->fd != -1)
		close(s->fd);
}

/* Reads more of the file; returns bytes read, 0 at the end, <0 on error. */
static ssize_t
fill(struct source *s)
{
	size_t room = qh_buf_room(&s->in) < 65536 ? qh_buf_room(&s->in) : 65536;
	uint8_t *d;
	ssize_t n;

	if (room == 0 || qh_buf_reserve(&s->in, room, &d) != 0)
		return QH_ERR_TOO_LARGE;
	n = read(s->fd, d, room);
	qh_buf_unreserve(&s->in, n > 0 ? room - (size_t)n : room);
	if (n == 0)
		s->eof = 1;
	return n;
}

/*
 * Makes the file's next block the held one. Returns 1 (held), 0 (the
 * recording ends here, perhaps cut short) or <0 (not FBS 001.000, or
 * unreadable).
 */
static int
source_peek(struct source *s)
{
	int r;

	while (!s->held) {
		r = s->header ? qh_fbs_get_block(&s->in, &s->p, &s->len, &s->ms)
			      : qh_fbs_get_header(&s->in);
		if (r == QH_ERR_INCOMPLETE) {
			if (s->eof)
				return 0;
			if (fill(s) < 0)
				return QH_ERR_SYSTEM;
			continue;
		}
		if (r != 0)
			return r;
		if (!s->header++)
			continue;
		s->held = 1;
	}
	return 1;
}

/*
 * Feeds every block stamped up to limit ms into the decoder: the server's
 * stream, and the viewer's (cli, may be NULL) where the console recorded
 * it too, merged by time; within one millisecond the server's block goes
 * first, which is the order the console saw them in (it stamps a server
 * block that followed a viewer's block in the same millisecond one later).
 * Returns 0 or an exit status.
 */
static int
decode_until(struct qh_cli *c, struct source *srv, struct source *cli, uint32_t limit,
    struct qh_rfbdec *dec)
{
	struct qh_buf stream, cstream;
	struct source *s;
	int rs, rc = 0, status = 0, r;

	qh_buf_init(&stream, QH_RFBDEC_UNIT_MAX + QH_FBS_BLOCK_MAX);
	qh_buf_init(&cstream, QH_FBS_BLOCK_MAX + 65536);
	for (;;) {
		if ((rs = source_peek(srv)) < 0 ||
		    (cli != NULL && (rc = source_peek(cli)) < 0)) {
			status = qh_cli_fail(c, "not an FBS 001.000 recording%s: %s",
			    rs < 0 ? "" : " (the viewer's side)",
			    qh_strerror(rs < 0 ? rs : rc));
			break;
		}
		if (rs && (!rc || srv->ms <= cli->ms))
			s = srv;
		else if (rc)
			s = cli;
		else
			break;
		if (s->ms > limit)
			break;
		s->held = 0;
		if (s == srv)
			r = qh_buf_put(&stream, s->p, s->len) != 0
			    ? QH_ERR_TOO_LARGE
			    : qh_rfbdec_feed(dec, &stream);
		else
			r = qh_buf_put(&cstream, s->p, s->len) != 0
			    ? QH_ERR_TOO_LARGE
			    : qh_rfbdec_feed_client(dec, &cstream);
		if (r != 0) {
			status = qh_cli_fail(c, "the recording does not decode: %s",
			    qh_rfbdec_why(dec)[0] != '\0' ? qh_rfbdec_why(dec)
							  : qh_strerror(r));
			break;
		}
	}
	qh_buf_release(&stream);
	qh_buf_release(&cstream);
	return status;
}

/*
 * The viewer's side beside a console's recording NAME.fbs: NAME.client.fbs.
 * Returns its descriptor, -1 when there is none (a recording of the
 * server's side only), or -2 (an exit status was printed).
 */
static int
open_client_side(struct qh_cli *c, const char *path)
{
	char cpath[PATH_MAX];
	size_t len = strlen(path);
	int fd;

	if (len > 11 && strcmp(path + len - 11, ".client.fbs") == 0) {
		(void)qh_cli_fail(c,
		    "%s is the viewer's side of a recording; name the .fbs file "
		    "beside it",
		    path);
		return -2;
	}
	if (len < 4 || strcmp(path + len - 4, ".fbs") != 0 ||
	    (size_t)snprintf(cpath, sizeof(cpath), "%.*s.client.fbs", (int)(len - 4),
		path) >= sizeof(cpath))
		return -1;
	if ((fd = open(cpath, O_RDONLY | O_CLOEXEC)) == -1 && errno != ENOENT) {
		(void)qh_cli_fail(c, "cannot open %s: %s", cpath, strerror(errno));
		return -2;
	}
	return fd;
}

static int
cmd_replay(struct qh_cli *c)
{
	struct qh_rfbdec *dec = NULL;
	struct source srv, cli;
	const uint32_t *fb;
	uint32_t *copy = NULL;
	long long secs;
	int fd, cfd, w, h, status;

	if (qh_cli_opt(c, "png-at") == NULL ||
	    qh_parse_int(qh_cli_opt(c, "png-at"), 0, 4000000, &secs) != 0 || c->argc != 2)
		return qh_cli_usage(c, "FILE --png-at SECONDS OUT.png");
	if ((cfd = open_client_side(c, c->argv[0])) == -2)
		return QH_EXIT_FAIL;
	if ((fd = open(c->argv[0], O_RDONLY | O_CLOEXEC)) == -1) {
		if (cfd >= 0)
			close(cfd);
		return qh_cli_fail(c, "cannot open %s", c->argv[0]);
	}
	source_init(&srv, fd);
	source_init(&cli, cfd);
	if (qh_rfbdec_new(&dec, REPLAY_MAX_PIXELS) != 0)
		status = qh_cli_fail(c, "out of memory");
	else
		status = decode_until(c, &srv, cfd >= 0 ? &cli : NULL,
		    (uint32_t)(secs * 1000), dec);
	source_free(&srv);
	source_free(&cli);
	if (status == 0 && (fb = qh_rfbdec_frame(dec, &w, &h)) == NULL)
		status = qh_cli_fail(c, "no picture yet at %lld s", secs);
	if (status == 0) {
		if ((copy = malloc((size_t)w * h * 4)) == NULL) {
			status = qh_cli_fail(c, "out of memory");
			goto out;
		}
		memcpy(copy, fb, (size_t)w * h * 4);
		(void)qh_rfbdec_paint_cursor(dec, copy, w, h);
		if (png_write_file(c->argv[1], copy, w, h, (size_t)w) != 0)
			status = qh_cli_fail(c, "cannot write %s", c->argv[1]);
		else
			printf("%dx%d at %lld s (%llu updates%s)\n", w, h, secs,
			    (unsigned long long)qh_rfbdec_updates(dec),
			    cfd >= 0 ? ", with the viewer's side" : "");
	}
out:
	free(copy);
	qh_rfbdec_free(dec);
	return status;
}

const struct qh_cli_cmd cmd_replay_entry = {
	.name = "replay",
	.usage = "FILE --png-at SECONDS OUT.png",
	.summary = "write the picture of a desktop recording at a second as PNG",
	.min_args = 2,
	.max_args = 2,
	.opts = { QH_OPT("png-at") },
	.exec = cmd_replay,
};
