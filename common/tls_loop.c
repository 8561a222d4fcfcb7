/*
 * What the TLS connections of one loop share: one timer wheel instead of
 * a timer per connection (each connection sits in the slot of its next
 * deadline and is looked at when that slot comes up), one list of the
 * connections with plaintext to encrypt, flushed right after the loop's
 * I/O callbacks (a check handle) or before it polls (a prepare handle),
 * and the scratch buffers every read goes through.
 */
#include <stdlib.h>

#include "tls_int.h"

/*
 * The loops' shared parts. Connections are made and freed on their loop's
 * thread; the list of loops is the one thing threads with loops of their
 * own could share, so it has a lock.
 */

static struct tls_loop *loops;
static uv_mutex_t loops_lock;
static uv_once_t loops_once = UV_ONCE_INIT;

static void
loops_lock_init(void)
{
	if (uv_mutex_init(&loops_lock) != 0)
		abort(); /* a broken invariant at start-up */
}

static void
on_loop_flush(struct tls_loop *tl)
{
	struct qh_tls_conn *conn;

	while ((conn = LIST_FIRST(&tl->flushq)) != NULL) {
		LIST_REMOVE(conn, flink);
		conn->flush_scheduled = 0;
		tls__flush(conn);
	}
	uv_prepare_stop(&tl->prep);
	uv_check_stop(&tl->check);
}

static void
on_prep(uv_prepare_t *h)
{
	on_loop_flush(h->data);
}

static void
on_check(uv_check_t *h)
{
	on_loop_flush(h->data);
}

/* Takes conn off the wheel, wherever it is on it. */
void
tls__wheel_remove(struct qh_tls_conn *conn)
{
	struct tls_loop *tl = conn->tl;

	if (conn->slot == SLOT_NONE)
		return;
	LIST_REMOVE(conn, wlink);
	conn->slot = SLOT_NONE;
	if (--tl->nwheel == 0)
		uv_timer_stop(&tl->tick);
}

static void on_wheel(uv_timer_t *t);

/* Puts conn on the wheel for due_ms (now or later); replaces its old deadline. */
void
tls__wheel_set(struct qh_tls_conn *conn, uint64_t due_ms)
{
	struct tls_loop *tl = conn->tl;
	uint64_t tick = due_ms / WHEEL_TICK_MS;

	tls__wheel_remove(conn);
	if (tick <= tl->tick_done)
		tick = tl->tick_done + 1; /* passed already: the next tick runs it */
	conn->due_ms = due_ms;
	conn->slot = (int)(tick % WHEEL_SLOTS);
	LIST_INSERT_HEAD(&tl->slots[conn->slot], conn, wlink);
	if (tl->nwheel++ == 0) {
		tl->tick_done = uv_now(tl->loop) / WHEEL_TICK_MS;
		if (tick <= tl->tick_done) {
			/* The slot chosen above is behind the new start: move it. */
			LIST_REMOVE(conn, wlink);
			conn->slot = (int)((tl->tick_done + 1) % WHEEL_SLOTS);
			LIST_INSERT_HEAD(&tl->slots[conn->slot], conn, wlink);
		}
		uv_timer_start(&tl->tick, on_wheel, WHEEL_TICK_MS, WHEEL_TICK_MS);
	}
}

/* Runs the slots of the ticks that have passed; a deadline a turn away waits. */
static void
on_wheel(uv_timer_t *t)
{
	struct tls_loop *tl = t->data;
	uint64_t now = uv_now(tl->loop), upto = now / WHEEL_TICK_MS;
	struct qh_tls_conn *conn;
	int n = 0;

	while (tl->tick_done < upto && n++ < WHEEL_SLOTS) {
		struct conn_list *slot = &tl->slots[++tl->tick_done % WHEEL_SLOTS];

		while ((conn = LIST_FIRST(slot)) != NULL) {
			LIST_REMOVE(conn, wlink);
			LIST_INSERT_HEAD(&tl->due, conn, wlink);
			conn->slot = SLOT_DUE;
		}
		while ((conn = LIST_FIRST(&tl->due)) != NULL) {
			LIST_REMOVE(conn, wlink);
			conn->slot = SLOT_NONE;
			tl->nwheel--;
			if (conn->due_ms > now)
				tls__wheel_set(conn, conn->due_ms);
			else
				tls__tick(conn, now);
		}
	}
	tl->tick_done = upto;
	if (tl->nwheel == 0)
		uv_timer_stop(&tl->tick);
}

struct tls_loop *
tls__loop_get(uv_loop_t *loop)
{
	struct tls_loop *tl;
	int i;

	uv_once(&loops_once, loops_lock_init);
	uv_mutex_lock(&loops_lock);
	for (tl = loops; tl != NULL && tl->loop != loop; tl = tl->next)
		;
	if (tl == NULL && (tl = calloc(1, sizeof(*tl))) != NULL) {
		tl->loop = loop;
		LIST_INIT(&tl->flushq);
		LIST_INIT(&tl->due);
		for (i = 0; i < WHEEL_SLOTS; i++)
			LIST_INIT(&tl->slots[i]);
		uv_timer_init(loop, &tl->tick);
		uv_prepare_init(loop, &tl->prep);
		uv_check_init(loop, &tl->check);
		tl->tick.data = tl->prep.data = tl->check.data = tl;
		/* Connections keep the loop alive, not their shared parts. */
		uv_unref((uv_handle_t *)&tl->tick);
		uv_unref((uv_handle_t *)&tl->prep);
		uv_unref((uv_handle_t *)&tl->check);
		tl->next = loops;
		loops = tl;
	}
	if (tl != NULL)
		tl->users++;
	uv_mutex_unlock(&loops_lock);
	return tl;
}

static void
tls_loop_closed(uv_handle_t *h)
{
	struct tls_loop *tl = h->data;

	if (--tl->open_handles == 0)
		free(tl);
}

/* A connection of tl is freed; the last one closes the loop's shared parts. */
void
tls__loop_put(struct tls_loop *tl)
{
	struct tls_loop **pp;

	uv_mutex_lock(&loops_lock);
	if (--tl->users > 0) {
		uv_mutex_unlock(&loops_lock);
		return;
	}
	for (pp = &loops; *pp != tl; pp = &(*pp)->next)
		;
	*pp = tl->next;
	uv_mutex_unlock(&loops_lock);
	tl->open_handles = 3;
	uv_close((uv_handle_t *)&tl->tick, tls_loop_closed);
	uv_close((uv_handle_t *)&tl->prep, tls_loop_closed);
	uv_close((uv_handle_t *)&tl->check, tls_loop_closed);
}

void
tls__flush_add(struct qh_tls_conn *conn)
{
	if (conn->flush_scheduled)
		return;
	conn->flush_scheduled = 1;
	LIST_INSERT_HEAD(&conn->tl->flushq, conn, flink);
	if (!uv_is_active((uv_handle_t *)&conn->tl->prep)) {
		uv_prepare_start(&conn->tl->prep, on_prep);
		uv_check_start(&conn->tl->check, on_check);
	}
}

void
tls__flush_remove(struct qh_tls_conn *conn)
{
	if (!conn->flush_scheduled)
		return;
	LIST_REMOVE(conn, flink);
	conn->flush_scheduled = 0;
}
