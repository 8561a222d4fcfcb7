/*
 * qh-console replay FILE --png-at SECONDS OUT.png: a frame of a desktop
 * recording, for an audit question ("what did the technician see at
 * 10:42?"). It decodes the FBS 001.000 recording of our RFB server
 * (common/fbs.c, common/rfbdec.c: exactly the encodings our server sends)
 * up to the given second and writes the picture then as a PNG
 * (common/png.c), with the pointer painted in where the recording says it
 * was. Prints "WxH at S s (N updates)" on success.
 */
#include <fcntl.h>
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

/* Reads more of fd into in; returns bytes read, 0 at the end, <0 on error. */
static ssize_t
fill(int fd, struct qh_buf *in)
{
	size_t room = qh_buf_room(in) < 65536 ? qh_buf_room(in) : 65536;
	uint8_t *d;
	ssize_t n;

	if (room == 0 || qh_buf_reserve(in, room, &d) != 0)
		return QH_ERR_TOO_LARGE;
	n = read(fd, d, room);
	qh_buf_unreserve(in, n > 0 ? room - (size_t)n : room);
	return n;
}

/* Feeds every block up to ms into the decoder; 0 or an exit status. */
static int
decode_until(struct qh_cli *c, int fd, uint32_t limit, struct qh_rfbdec *dec)
{
	struct qh_buf in, stream;
	const uint8_t *p;
	size_t len;
	uint32_t ms;
	ssize_t n = 1;
	int r, header = 0, status = 0;

	qh_buf_init(&in, QH_FBS_BLOCK_SIZE(QH_FBS_BLOCK_MAX) + 65536);
	qh_buf_init(&stream, QH_RFBDEC_UNIT_MAX + QH_FBS_BLOCK_MAX);
	for (;;) {
		r = header ? qh_fbs_get_block(&in, &p, &len, &ms)
			   : qh_fbs_get_header(&in);
		if (r == QH_ERR_INCOMPLETE) {
			if (n == 0)
				break; /* the recording ends (perhaps cut short) */
			if ((n = fill(fd, &in)) < 0) {
				status = qh_cli_fail(c, "cannot read the recording");
				break;
			}
			continue;
		}
		if (r != 0) {
			status = qh_cli_fail(c, "not an FBS 001.000 recording: %s",
			    qh_strerror(r));
			break;
		}
		if (!header++)
			continue;
		if (ms > limit)
			break;
		if (qh_buf_put(&stream, p, len) != 0 ||
		    qh_rfbdec_feed(dec, &stream) != 0) {
			status = qh_cli_fail(c, "the recording does not decode: %s",
			    qh_rfbdec_why(dec));
			break;
		}
	}
	qh_buf_release(&in);
	qh_buf_release(&stream);
	return status;
}

static int
cmd_replay(struct qh_cli *c)
{
	struct qh_rfbdec *dec = NULL;
	const uint32_t *fb;
	uint32_t *copy = NULL;
	long long secs;
	int fd, w, h, status;

	if (qh_cli_opt(c, "png-at") == NULL ||
	    qh_parse_int(qh_cli_opt(c, "png-at"), 0, 4000000, &secs) != 0 || c->argc != 2)
		return qh_cli_usage(c, "FILE --png-at SECONDS OUT.png");
	if ((fd = open(c->argv[0], O_RDONLY | O_CLOEXEC)) == -1)
		return qh_cli_fail(c, "cannot open %s", c->argv[0]);
	if (qh_rfbdec_new(&dec, REPLAY_MAX_PIXELS) != 0) {
		close(fd);
		return qh_cli_fail(c, "out of memory");
	}
	status = decode_until(c, fd, (uint32_t)(secs * 1000), dec);
	close(fd);
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
			printf("%dx%d at %lld s (%llu updates)\n", w, h, secs,
			    (unsigned long long)qh_rfbdec_updates(dec));
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
