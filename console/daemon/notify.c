/*
 * notify_command (notify.h): one run of the configured command through
 * /bin/sh, the document on its stdin, its output into our log, a time
 * limit, and how it ended reported to the outbox's sender.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "notify.h"

#define RUN_LIMIT_MS 30000
#define DOC_MAX	     (OUTBOX_DATA_MAX + 1)

struct notify_run {
	uv_process_t proc;
	uv_pipe_t in;
	uv_write_t wreq;
	uv_timer_t limit;
	struct qh_buf doc;
	int open_handles;
	char why[64]; /* "" once it exited 0 */
	void (*done)(void *arg, const char *why);
	void *arg;
};

static void
run_freed(uv_handle_t *h)
{
	struct notify_run *n = h->data;

	if (--n->open_handles > 0)
		return;
	n->done(n->arg, n->why[0] != '\0' ? n->why : NULL);
	qh_buf_release(&n->doc);
	free(n);
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct notify_run *n = p->data;

	if (status == 0 && sig == 0)
		n->why[0] = '\0';
	else
		snprintf(n->why, sizeof(n->why),
		    sig ? "killed by signal %d" : "exit status %d",
		    sig ? sig : (int)status);
	uv_close((uv_handle_t *)&n->proc, run_freed);
	uv_close((uv_handle_t *)&n->limit, run_freed);
	if (!uv_is_closing((uv_handle_t *)&n->in))
		uv_close((uv_handle_t *)&n->in, run_freed);
}

static void
on_written(uv_write_t *w, int status QH_UNUSED)
{
	struct notify_run *n = w->data;

	if (!uv_is_closing((uv_handle_t *)&n->in))
		uv_close((uv_handle_t *)&n->in, run_freed); /* EOF for the command */
}

static void
on_limit(uv_timer_t *t)
{
	struct notify_run *n = t->data;

	qh_warn("notify_command ran too long; killing it");
	uv_process_kill(&n->proc, SIGKILL);
}

int
notify_run(struct server *srv, const char *doc, size_t len,
    void (*done)(void *arg, const char *why), void *arg)
{
	struct notify_run *n;
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	char *args[4];
	uv_buf_t buf;
	int r;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return QH_ERR_NOMEM;
	qh_buf_init(&n->doc, DOC_MAX);
	(void)qh_buf_put(&n->doc, doc, len);
	(void)qh_buf_put_u8(&n->doc, '\n');
	/* Never half a document on the command's stdin. */
	if ((r = qh_buf_error(&n->doc)) != 0) {
		qh_buf_release(&n->doc);
		free(n);
		return r;
	}
	n->done = done;
	n->arg = arg;
	snprintf(n->why, sizeof(n->why), "did not run");
	uv_pipe_init(srv->loop, &n->in, 0);
	uv_timer_init(srv->loop, &n->limit);
	n->in.data = n->limit.data = n->proc.data = n->wreq.data = n;
	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = srv->conf.notify_command;
	args[3] = NULL;
	memset(&o, 0, sizeof(o));
	io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	io[0].data.stream = (uv_stream_t *)&n->in;
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = 2; /* its output goes to our log */
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	o.file = args[0];
	o.args = args;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = on_exit_cb;
	n->open_handles = 3;
	if ((r = uv_spawn(srv->loop, &n->proc, &o)) != 0) {
		snprintf(n->why, sizeof(n->why), "cannot run: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&n->in, run_freed);
		uv_close((uv_handle_t *)&n->limit, run_freed);
		uv_close((uv_handle_t *)&n->proc, run_freed);
		return 0; /* done reports it */
	}
	uv_timer_start(&n->limit, on_limit, RUN_LIMIT_MS, 0);
	buf = uv_buf_init((char *)qh_buf_ptr(&n->doc), (unsigned int)qh_buf_len(&n->doc));
	if (uv_write(&n->wreq, (uv_stream_t *)&n->in, &buf, 1, on_written) != 0)
		uv_close((uv_handle_t *)&n->in, run_freed);
	return 0;
}
