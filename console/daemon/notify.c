/*
 * R5 notifications: each threshold or zero crossing is a row written with
 * the debit that caused it; this module hands the rows to notify_command
 * (through /bin/sh, a JSON document on stdin), one at a time, and marks
 * them delivered when the command exits 0. Failures are logged and
 * retried every RETRY_MS, up to MAX_ATTEMPTS; a debit never waits for it.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "store/store.h"
#include "notify.h"

#define RETRY_MS     30000
#define MAX_ATTEMPTS 20
#define RUN_LIMIT_MS 30000

struct notify_run {
	struct server *srv;
	int64_t id;
	uv_process_t proc;
	uv_pipe_t in;
	uv_write_t wreq;
	uv_timer_t limit;
	struct qh_buf doc;
	int open_handles;
	int delivered; /* go on with the next one at once */
};

static uv_timer_t retry_timer;
static int retry_init, busy;

static void
on_retry(uv_timer_t *t)
{
	notify_kick(t->data);
}

static void
run_freed(uv_handle_t *h)
{
	struct notify_run *n = h->data;
	struct server *srv = n->srv;
	int next;

	if (--n->open_handles > 0)
		return;
	next = n->delivered && !srv->stopping;

	qh_buf_release(&n->doc);
	free(n);
	busy = 0;
	if (next)
		notify_kick(srv); /* failures wait for the retry timer */
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct notify_run *n = p->data;
	char why[64];

	if (status == 0 && sig == 0) {
		qh_info("notification %" PRId64 " delivered", n->id);
		(void)db_notification_attempt(n->srv->db, n->id, NULL);
		n->delivered = 1;
	} else {
		snprintf(why, sizeof(why), sig ? "killed by signal %d" : "exit status %d",
		    sig ? sig : (int)status);
		qh_warn("notification %" PRId64
			": notify_command failed (%s); will retry",
		    n->id, why);
		(void)db_notification_attempt(n->srv->db, n->id, why);
	}
	uv_close((uv_handle_t *)&n->proc, run_freed);
	uv_close((uv_handle_t *)&n->limit, run_freed);
	if (!uv_is_closing((uv_handle_t *)&n->in))
		uv_close((uv_handle_t *)&n->in, run_freed);
}

static void
on_written(uv_write_t *w, int status)
{
	struct notify_run *n = w->data;

	if (!uv_is_closing((uv_handle_t *)&n->in))
		uv_close((uv_handle_t *)&n->in, run_freed); /* EOF for the command */
}

static void
on_limit(uv_timer_t *t)
{
	struct notify_run *n = t->data;

	qh_warn("notification %" PRId64 ": notify_command ran too long; killing it",
	    n->id);
	uv_process_kill(&n->proc, SIGKILL);
}

/* The document the command reads on stdin, into n->doc; 0 or why not. */
static int
build_doc(struct notify_run *n, const struct notification *row)
{
	struct qh_json j;
	int r;

	qh_buf_init(&n->doc, 16384);
	qh_json_init(&j, &n->doc);
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "notification", row->id);
	qh_json_kv_str(&j, "customer", row->customer);
	qh_json_kv_str(&j, "name", row->name);
	qh_json_kv_str(&j, "kind", row->kind);
	qh_json_kv_int(&j, "balance_units", row->balance);
	qh_json_kv_int(&j, "warn_units", row->warn_units);
	qh_json_kv_int(&j, "entry_id", row->entry_id);
	qh_json_kv_str(&j, "created_at", row->created_at);
	qh_json_end_object(&j);
	if ((r = qh_json_finish(&j)) != 0)
		return r;
	return qh_buf_put_u8(&n->doc, '\n');
}

void
notify_kick(struct server *srv)
{
	struct notify_run *n = NULL;
	struct notification row;
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	char *args[4];
	uv_buf_t buf;
	int r;

	if (!retry_init) {
		uv_timer_init(srv->loop, &retry_timer);
		retry_timer.data = srv;
		retry_init = 1;
	}
	if (busy || srv->stopping || srv->conf.notify_command[0] == '\0')
		return;
	if ((r = db_notification_next(srv->db, MAX_ATTEMPTS, &row)) < 0)
		return;
	if (r == 0) {
		uv_timer_stop(&retry_timer);
		return;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return;
	n->srv = srv;
	n->id = row.id;
	r = build_doc(n, &row);
	if (r != 0) {
		/* Never half a document on the command's stdin. */
		qh_warn("notification %" PRId64 ": cannot build the document: %s", n->id,
		    qh_strerror(r));
		(void)db_notification_attempt(srv->db, n->id,
		    "the document could not be built");
		qh_buf_release(&n->doc);
		free(n);
		goto retry;
	}

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
	busy = 1;
	if ((r = uv_spawn(srv->loop, &n->proc, &o)) != 0) {
		qh_warn("notification %" PRId64 ": cannot run notify_command: %s", n->id,
		    uv_strerror(r));
		(void)db_notification_attempt(srv->db, n->id, uv_strerror(r));
		n->open_handles = 3;
		uv_close((uv_handle_t *)&n->in, run_freed);
		uv_close((uv_handle_t *)&n->limit, run_freed);
		uv_close((uv_handle_t *)&n->proc, run_freed);
		goto retry;
	}
	n->open_handles = 3;
	uv_timer_start(&n->limit, on_limit, RUN_LIMIT_MS, 0);
	buf = uv_buf_init((char *)qh_buf_ptr(&n->doc), (unsigned int)qh_buf_len(&n->doc));
	if (uv_write(&n->wreq, (uv_stream_t *)&n->in, &buf, 1, on_written) != 0)
		uv_close((uv_handle_t *)&n->in, run_freed);
retry:
	if (!uv_is_active((uv_handle_t *)&retry_timer))
		uv_timer_start(&retry_timer, on_retry, RETRY_MS, RETRY_MS);
}

void
notify_stop(struct server *srv)
{
	if (retry_init && !uv_is_closing((uv_handle_t *)&retry_timer))
		uv_close((uv_handle_t *)&retry_timer, NULL);
}
