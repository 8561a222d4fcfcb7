/*
 * Desktop recordings (deskrec.h): two FBS 001.000 files written as the
 * relay passes bytes, through stdio, each block built whole in a bounded
 * buffer first (qh_fbs_put_block) so that a file never holds half a block
 * but what a crash cut off at its end.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/fbs.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "deskrec.h"

#define SERVER 0
#define VIEWER 1

struct deskrec {
	FILE *f[2];	     /* the server's and the viewer's stream */
	uint64_t start_ms;   /* the clock both files count from */
	uint32_t last[2];    /* the last stamp written to each */
	int any_viewer;	     /* the viewer's file has a block */
	int failed;	     /* a write failed: nothing more is written */
	struct qh_buf block; /* one block being built */
	char path[2][4400];
};

/* Creates one of the files with the FBS magic; NULL (logged) on failure. */
static FILE *
open_one(const char *path)
{
	struct qh_buf h;
	FILE *f = NULL;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		qh_error("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	qh_buf_init(&h, QH_FBS_MAGIC_LEN);
	(void)qh_fbs_put_header(&h);
	if (fwrite(qh_buf_ptr(&h), 1, qh_buf_len(&h), f) != qh_buf_len(&h)) {
		qh_error("%s: %s", path, strerror(errno));
		fclose(f);
		f = NULL;
	}
	qh_buf_release(&h);
	return f;
}

struct deskrec *
deskrec_open(const char *state_dir, int64_t session, int64_t event)
{
	struct deskrec *rec;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/recordings/%" PRId64, state_dir, session);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		qh_error("%s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	snprintf(rec->path[SERVER], sizeof(rec->path[SERVER]),
	    "%s/%" PRId64 "-desktop.fbs", dir, event);
	snprintf(rec->path[VIEWER], sizeof(rec->path[VIEWER]),
	    "%s/%" PRId64 "-desktop.client.fbs", dir, event);
	if ((rec->f[SERVER] = open_one(rec->path[SERVER])) == NULL ||
	    (rec->f[VIEWER] = open_one(rec->path[VIEWER])) == NULL) {
		if (rec->f[SERVER] != NULL) {
			fclose(rec->f[SERVER]);
			unlink(rec->path[SERVER]);
		}
		free(rec);
		return NULL;
	}
	/* A block never exceeds a frame's payload: one DATA frame at a time. */
	qh_buf_init(&rec->block, QH_FBS_BLOCK_SIZE(QH_WIRE_MAX_PAYLOAD));
	rec->start_ms = qh_clock_mono_ms();
	return rec;
}

/*
 * The stamp of a block now, so that merging the files by stamp, the
 * server's block first within a millisecond, gives the order the relay
 * passed them in: the milliseconds since the start, never less than any
 * block written before, and for the server's stream past a viewer's
 * block of the same millisecond. In a burst the stamps may run a few
 * milliseconds ahead of the clock; they fall back in step when it quiets.
 */
static uint32_t
stamp(struct deskrec *rec, int side)
{
	uint64_t ms = qh_clock_mono_ms() - rec->start_ms;
	uint32_t t = ms > UINT32_MAX - 2 ? UINT32_MAX - 2 : (uint32_t)ms;

	if (t < rec->last[SERVER])
		t = rec->last[SERVER];
	if (side == VIEWER && t < rec->last[VIEWER])
		t = rec->last[VIEWER];
	if (side == SERVER && rec->any_viewer && t <= rec->last[VIEWER])
		t = rec->last[VIEWER] + 1;
	if (side == VIEWER)
		rec->any_viewer = 1;
	rec->last[side] = t;
	return t;
}

void
deskrec_data(struct deskrec *rec, int from_viewer, const uint8_t *p, size_t len)
{
	int side = from_viewer ? VIEWER : SERVER;
	size_t off, n;

	if (rec == NULL || rec->failed || len == 0)
		return;
	for (off = 0; off < len; off += n) {
		n = len - off < QH_WIRE_MAX_PAYLOAD ? len - off : QH_WIRE_MAX_PAYLOAD;
		qh_buf_reset(&rec->block);
		if (qh_fbs_put_block(&rec->block, p + off, n, stamp(rec, side)) != 0 ||
		    fwrite(qh_buf_ptr(&rec->block), 1, qh_buf_len(&rec->block),
			rec->f[side]) != qh_buf_len(&rec->block)) {
			qh_error("%s: %s; the rest of this desktop is not recorded",
			    rec->path[side], strerror(errno));
			rec->failed = 1;
			return;
		}
	}
}

void
deskrec_close(struct deskrec *rec)
{
	int i;

	if (rec == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (fflush(rec->f[i]) != 0 || fsync(fileno(rec->f[i])) != 0)
			qh_error("%s: %s", rec->path[i], strerror(errno));
		fclose(rec->f[i]);
	}
	qh_buf_release(&rec->block);
	free(rec);
}
