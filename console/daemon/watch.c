/*
 * Watchers: a "watch" request keeps its channel open and gets the queue as
 * one JSON line (the array of "queue --json", built by the function given
 * to watch_init) at start and after every change, never a line cut in
 * two: a snapshot waits for window, and only the newest waits.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/buf.h"
#include "qh/mux.h"
#include "server.h"
#include "watch.h"

struct watcher {
	struct server *srv;
	struct qh_chan *ch;
	int pending; /* the newest snapshot is not sent yet */
	LIST_ENTRY(watcher) link;
};

/* Sends the newest snapshot if the window takes all of it. */
static void
watcher_send(struct watcher *w)
{
	const struct qh_buf *b = &w->srv->watch_last;

	if (qh_chan_writable(w->ch) < qh_buf_len(b)) {
		w->pending = 1;
		return;
	}
	w->pending = 0;
	(void)qh_chan_write(w->ch, 0, qh_buf_ptr(b), qh_buf_len(b));
}

static void
watcher_writable(struct qh_chan *ch)
{
	struct watcher *w = qh_chan_arg(ch);

	if (w->pending)
		watcher_send(w);
}

/* The technician stopped watching, or went. */
static void
watcher_close(struct qh_chan *ch)
{
	struct watcher *w = qh_chan_arg(ch);

	LIST_REMOVE(w, link);
	free(w);
}

/* A watcher sends nothing but its end. */
static void
watcher_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p QH_UNUSED,
    size_t len)
{
	qh_chan_consume(ch, len);
}

static const struct qh_chan_ops watcher_ops = {
	.on_data = watcher_data,
	.on_close = watcher_close,
	.on_writable = watcher_writable,
};

/* Builds the snapshot; 1 when it differs from the one watchers have. */
static int
watch_snapshot(struct server *srv)
{
	struct qh_buf now;
	int changed;

	qh_buf_init(&now, QH_MUX_WINDOW);
	srv->watch_build(srv, &now);
	changed = qh_buf_len(&now) != qh_buf_len(&srv->watch_last) ||
	    memcmp(qh_buf_ptr(&now), qh_buf_ptr(&srv->watch_last), qh_buf_len(&now)) != 0;
	if (changed) {
		qh_buf_reset(&srv->watch_last);
		(void)qh_buf_put(&srv->watch_last, qh_buf_ptr(&now), qh_buf_len(&now));
	}
	qh_buf_release(&now);
	return changed;
}

static void
on_watch_push(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct watcher *w;

	if (LIST_EMPTY(&srv->watchers) || !watch_snapshot(srv))
		return;
	LIST_FOREACH (w, &srv->watchers, link)
		watcher_send(w);
}

void
watch_init(struct server *srv, void (*build)(struct server *, struct qh_buf *))
{
	srv->watch_build = build;
	LIST_INIT(&srv->watchers);
	qh_buf_init(&srv->watch_last, QH_MUX_WINDOW);
	uv_timer_init(srv->loop, &srv->watch_push);
	srv->watch_push.data = srv;
}

void
watch_stop(struct server *srv)
{
	struct watcher *w, *next;

	for (w = LIST_FIRST(&srv->watchers); w != NULL; w = next) {
		next = LIST_NEXT(w, link);
		qh_chan_close(w->ch); /* watcher_close frees w */
	}
	uv_close((uv_handle_t *)&srv->watch_push, NULL);
}

void
watch_free(struct server *srv)
{
	qh_buf_release(&srv->watch_last);
}

void
watch_changed(struct server *srv)
{
	if (!srv->stopping && !LIST_EMPTY(&srv->watchers))
		uv_timer_start(&srv->watch_push, on_watch_push, 0, 0);
}

void
watch_request(struct server *srv, struct qh_chan *ch, const struct qh_msg *m QH_UNUSED)
{
	struct watcher *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		return;
	}
	w->srv = srv;
	w->ch = ch;
	if (qh_chan_accept(ch, 0, &watcher_ops, w) != 0) {
		free(w);
		return;
	}
	LIST_INSERT_HEAD(&srv->watchers, w, link);
	if (!watch_snapshot(srv))
		watcher_send(w); /* the others have this one */
	else
		LIST_FOREACH (w, &srv->watchers, link)
			watcher_send(w);
}
