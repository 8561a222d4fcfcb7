/*
 * The RFB session driver (rfbsess.h): the server's callbacks become input
 * on the screen, the screen's frames and pointer become the server's
 * input, and a timer paces captures while the viewer waits for an update.
 * The pointer is painted into frames for viewers that did not announce
 * the Cursor pseudo-encoding. When the backend knows what changed, only
 * that is grabbed and compared, a screen nothing was drawn on is not
 * grabbed at all, and a change after a quiet spell is captured at once;
 * the whole screen is still grabbed every RFBSESS_FULL_MS in case a
 * change went unreported.
 *
 * Lifetime: rfbsess_close marks the session closed and closes its two
 * libuv handles; the last close callback releases the screen and frees.
 * Every callback returns at once on a closed session.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "rfbsess.h"
#include "screen.h"

struct rfbsess {
	uv_loop_t *loop;
	const struct rfbsess_io *io;
	void *arg;
	struct rfb *rfb;
	struct screen *screen;
	uv_timer_t timer;
	uv_poll_t poll;
	int handles;	    /* libuv handles not yet closed */
	int closing;	    /* rfbsess_close was called */
	int failed;	    /* io->failed was called */
	int poll_on;	    /* poll initialised */
	int pumping;	    /* pump is on the stack */
	uint64_t last_tick; /* loop time of the last look at the screen */
	uint64_t last_grab; /* ... and of the last grab */
	int damage_due;	    /* a change was reported: grab as soon as pacing allows */
	uint64_t interval;  /* ms between captures, from what the last one cost */
	uint64_t encode_at; /* stats.encode_us at the last capture */

	uint32_t *frame; /* fw x fh, captured */
	int fw, fh;
	uint64_t last_full; /* loop time of the last whole grab */
	int fresh;	    /* the frame buffer is new: the next grab is whole */
	int painted[4];	    /* where the pointer was painted into the frame */
	int ptr_x, ptr_y;   /* the pointer at the last capture */
	uint32_t ptr_serial;

	struct qh_buf in, out;
	struct rfbsess_stats stats;
};

static void pump(struct rfbsess *s);
static void schedule(struct rfbsess *s);

static void
fail(struct rfbsess *s, int err, const char *why)
{
	if (s->failed || s->closing)
		return;
	s->failed = 1;
	uv_timer_stop(&s->timer);
	s->io->failed(s->arg, err, why);
}

/* The server's input callbacks, to the screen. */

static void
on_key(void *arg, int down, uint32_t keysym)
{
	struct rfbsess *s = arg;

	(void)screen_key(s->screen, down, keysym);
}

static void
on_pointer(void *arg, uint8_t buttons, int x, int y)
{
	struct rfbsess *s = arg;

	(void)screen_buttons(s->screen, buttons, x, y);
}

static void
on_viewer_clipboard(void *arg, const char *text, size_t len)
{
	struct rfbsess *s = arg;

	(void)screen_clip_set(s->screen, text, len);
}

static const struct rfb_ops rfb_ops = {
	.key = on_key,
	.pointer = on_pointer,
	.clipboard = on_viewer_clipboard,
};

/* The customer copied something. */
static void
on_screen_clipboard(void *arg, const char *text, size_t len)
{
	struct rfbsess *s = arg;

	rfb_set_clipboard(s->rfb, text, len);
	pump(s);
}

/* Blends the pointer's shape over the frame at x, y (the hotspot). */
static void
paint_cursor(struct rfbsess *s, const struct screen_cursor *c, int x, int y)
{
	uint32_t p, f, a, rb, g;
	int i, j, X, Y;

	s->painted[0] = x - c->hx;
	s->painted[1] = y - c->hy;
	s->painted[2] = c->w;
	s->painted[3] = c->h;
	for (j = 0; j < c->h; j++) {
		Y = y - c->hy + j;
		if (Y < 0 || Y >= s->fh)
			continue;
		for (i = 0; i < c->w; i++) {
			X = x - c->hx + i;
			p = c->argb[(size_t)j * c->w + i];
			if (X < 0 || X >= s->fw || (a = p >> 24) == 0)
				continue;
			f = s->frame[(size_t)Y * s->fw + X];
			rb = ((p & 0xff00ff) * a + (f & 0xff00ff) * (255 - a)) / 255;
			g = ((p & 0xff00) * a + (f & 0xff00) * (255 - a)) / 255;
			s->frame[(size_t)Y * s->fw + X] = (rb & 0xff00ff) | (g & 0xff00);
		}
	}
}

/*
 * Grabs into s->frame, reallocating it when the monitor changed size: the
 * whole monitor when full, else what changed and the area the pointer was
 * painted on. *d says what was refreshed.
 */
static int
grab(struct rfbsess *s, int full, struct screen_damage *d)
{
	uint32_t *nf;
	int w, h, r, tries, np = s->painted[2] > 0;

	for (tries = 0; tries < 3; tries++) {
		screen_size(s->screen, &w, &h);
		if (w != s->fw || h != s->fh) {
			if ((nf = malloc((size_t)w * h * 4)) == NULL)
				return QH_ERR_NOMEM;
			free(s->frame);
			s->frame = nf;
			s->fw = w;
			s->fh = h;
			full = 1;
		}
		r = screen_grab(s->screen, s->frame, w, h, (size_t)w, full,
		    (const int(*)[4])s->painted, np, d);
		if (r != QH_ERR_AGAIN)
			break;
		full = 1;
	}
	if (r == 0 && full)
		s->last_full = uv_now(s->loop);
	s->painted[2] = 0;
	return r;
}

/* Tells the server about the pointer; returns 1 if it moved or changed shape. */
static int
pointer(struct rfbsess *s, struct screen_cursor *c, int *x, int *y)
{
	struct rfb_cursor rc;
	int moved;

	c->w = 0;
	if (screen_pointer(s->screen, x, y, c) != 0)
		return 0;
	rc = (struct rfb_cursor){ c->argb, c->w, c->h, c->hx, c->hy, c->serial };
	rfb_set_cursor(s->rfb, c->w > 0 ? &rc : NULL);
	rfb_set_pointer(s->rfb, *x, *y);
	moved = *x != s->ptr_x || *y != s->ptr_y || c->serial != s->ptr_serial;
	s->ptr_x = *x;
	s->ptr_y = *y;
	s->ptr_serial = c->serial;
	return moved;
}

/*
 * Sets the interval to the next capture: twice what this capture (us
 * microseconds) and the encoding since the last one took, within
 * RFBSESS_FRAME_MS .. RFBSESS_FRAME_MAX_MS.
 */
static void
pace(struct rfbsess *s, uint64_t us)
{
	uint64_t ms = 2 * (us + s->stats.encode_us - s->encode_at) / 1000;

	s->stats.capture_us += us;
	s->encode_at = s->stats.encode_us;
	s->interval = ms < RFBSESS_FRAME_MS ? RFBSESS_FRAME_MS
	    : ms > RFBSESS_FRAME_MAX_MS	    ? RFBSESS_FRAME_MAX_MS
					    : ms;
}

/*
 * One capture for the server: skipped (the same frame, nothing changed)
 * when the backend knows nothing was drawn, else a grab of what changed,
 * the pointer painted in for viewers that need that, and the frame with
 * what changed as the server's hint.
 */
static void
capture(struct rfbsess *s)
{
	int dmg[SCREEN_DAMAGE_MAX + 1][4], x = 0, y = 0, n = 0, r, full, paint, moved;
	struct screen_damage d;
	struct screen_cursor c;
	struct rfb_frame f;
	uint64_t t0 = uv_hrtime();

	moved = pointer(s, &c, &x, &y);
	paint = rfb_cursor_in_frame(s->rfb) && c.w > 0;
	full = s->frame == NULL || uv_now(s->loop) - s->last_full >= RFBSESS_FULL_MS;
	memset(&d, 0, sizeof(d));
	d.known = 1;
	if (full || !screen_unchanged(s->screen) || (paint && moved)) {
		if ((r = grab(s, full, &d)) != 0) {
			if (r != QH_ERR_AGAIN)
				fail(s, r, "the screen can no longer be captured");
			return;
		}
		if (paint)
			paint_cursor(s, &c, x, y);
		s->stats.captures++;
		s->last_grab = uv_now(s->loop);
	}
	if (d.known) {
		memcpy(dmg, d.rect, sizeof(d.rect));
		n = d.n < SCREEN_DAMAGE_MAX ? d.n : SCREEN_DAMAGE_MAX;
		if (s->painted[2] > 0)
			memcpy(dmg[n++], s->painted, sizeof(s->painted));
	}
	f = (struct rfb_frame){ s->frame, s->fw, s->fh, (size_t)s->fw };
	(void)rfb_set_frame(s->rfb, &f, d.known ? (const int(*)[4])dmg : NULL, n);
	pace(s, (uv_hrtime() - t0) / 1000);
	s->last_tick = uv_now(s->loop);
	s->damage_due = 0;
	if (screen_process(s->screen) != 0)
		fail(s, QH_ERR_CLOSED, "the X display went away");
}

/* Something was drawn after a quiet spell: capture as soon as pacing allows. */
static void
on_damage(void *arg)
{
	struct rfbsess *s = arg;

	if (s->closing || s->failed || !rfb_want_frame(s->rfb) || s->damage_due)
		return;
	s->damage_due = 1;
	uv_timer_stop(&s->timer);
	schedule(s);
}

static void
on_tick(uv_timer_t *t)
{
	struct rfbsess *s = t->data;

	if (s->closing || s->failed)
		return;
	if (rfb_want_frame(s->rfb))
		capture(s);
	pump(s);
}

/*
 * Arms the capture timer when the server wants a frame: one interval after
 * the last look, or after the last grab when a change was reported.
 */
static void
schedule(struct rfbsess *s)
{
	uint64_t now = uv_now(s->loop),
		 due = (s->damage_due ? s->last_grab : s->last_tick) + s->interval;

	if (s->closing || s->failed || !rfb_want_frame(s->rfb) ||
	    uv_is_active((uv_handle_t *)&s->timer))
		return;
	uv_timer_start(&s->timer, on_tick, due > now ? due - now : 0, 0);
}

/* Moves output to the transport while it takes bytes. */
static void
pump(struct rfbsess *s)
{
	uint64_t t0;
	ssize_t n;
	int r;

	if (s->pumping)
		return;
	s->pumping = 1;
	while (!s->closing && !s->failed) {
		if (qh_buf_len(&s->out) == 0) {
			t0 = uv_hrtime();
			r = rfb_output(s->rfb, &s->out);
			s->stats.encode_us += (uv_hrtime() - t0) / 1000;
			if (r < 0) {
				fail(s, r, rfb_why(s->rfb));
				break;
			}
			if (qh_buf_len(&s->out) == 0)
				break;
		}
		n = s->io->write(s->arg, qh_buf_ptr(&s->out), qh_buf_len(&s->out));
		if (n < 0)
			fail(s, QH_ERR_CLOSED, "the viewer's connection is gone");
		if (n <= 0)
			break;
		(void)qh_buf_consume(&s->out, (size_t)n);
	}
	s->pumping = 0;
	schedule(s);
}

void
rfbsess_writable(struct rfbsess *s)
{
	if (!s->closing)
		pump(s);
}

int
rfbsess_input(struct rfbsess *s, const uint8_t *p, size_t len)
{
	size_t before;
	int r;

	if (s->closing || s->failed)
		return 0;
	if (qh_buf_put(&s->in, p, len) != 0)
		return QH_ERR_TOO_LARGE;
	before = qh_buf_len(&s->in);
	r = rfb_input(s->rfb, &s->in);
	if (!s->closing && before > qh_buf_len(&s->in))
		s->io->consumed(s->arg, before - qh_buf_len(&s->in));
	if (r < 0) {
		fail(s, r, rfb_why(s->rfb));
		return 0;
	}
	pump(s);
	return 0;
}

static void
on_poll(uv_poll_t *h, int status, int events QH_UNUSED)
{
	struct rfbsess *s = h->data;

	if (s->closing || s->failed)
		return;
	if (status < 0 || screen_process(s->screen) != 0)
		fail(s, QH_ERR_CLOSED, "the X display went away");
}

int
rfbsess_new(uv_loop_t *loop, int screen_index, const char *name,
    const struct rfbsess_io *io, void *arg, struct rfbsess **sp, char *why, size_t whylen)
{
	struct rfbsess *s;
	int r, fd;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return QH_ERR_NOMEM;
	}
	if ((r = screen_open(screen_index, &s->screen, why, whylen)) != 0) {
		free(s);
		return r;
	}
	if ((s->rfb = rfb_new(name, &rfb_ops, s)) == NULL) {
		screen_close(s->screen);
		free(s);
		snprintf(why, whylen, "out of memory");
		return QH_ERR_NOMEM;
	}
	s->loop = loop;
	s->interval = RFBSESS_FRAME_MS;
	s->io = io;
	s->arg = arg;
	qh_buf_init(&s->in, RFB_INPUT_MAX);
	qh_buf_init(&s->out, RFBSESS_OUT_MAX);
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->handles = 1;
	if ((fd = screen_fd(s->screen)) >= 0 && uv_poll_init(loop, &s->poll, fd) == 0) {
		s->poll.data = s;
		s->poll_on = 1;
		s->handles++;
		uv_poll_start(&s->poll, UV_READABLE, on_poll);
	}
	screen_clip_watch(s->screen, on_screen_clipboard, s);
	screen_damage_watch(s->screen, on_damage, s);
	*sp = s;
	return 0;
}

void
rfbsess_set_control(struct rfbsess *s, int on)
{
	rfb_set_control(s->rfb, on);
}

int
rfbsess_control(const struct rfbsess *s)
{
	return s->rfb != NULL && rfb_control(s->rfb);
}

void
rfbsess_set_tap(struct rfbsess *s, rfb_tap_fn tap, void *arg)
{
	rfb_set_tap(s->rfb, tap, arg);
}

void
rfbsess_get_stats(const struct rfbsess *s, struct rfbsess_stats *st)
{
	*st = s->stats;
	rfb_get_stats(s->rfb, &st->rfb);
}

static void
on_closed(uv_handle_t *h)
{
	struct rfbsess *s = h->data;

	if (--s->handles > 0)
		return;
	/* Input the technician held goes up before the display is let go. */
	rfb_set_control(s->rfb, 0);
	screen_close(s->screen);
	rfb_free(s->rfb);
	qh_buf_release(&s->in);
	qh_buf_release(&s->out);
	free(s->frame);
	free(s);
}

void
rfbsess_close(struct rfbsess *s)
{
	if (s == NULL || s->closing)
		return;
	s->closing = 1;
	uv_close((uv_handle_t *)&s->timer, on_closed);
	if (s->poll_on)
		uv_close((uv_handle_t *)&s->poll, on_closed);
}
