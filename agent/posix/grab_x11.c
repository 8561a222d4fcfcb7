/*
 * Capture for the X11 backend: GetImage of the root window's monitor area
 * into a MIT-SHM segment (plain GetImage when the server is remote or
 * lacks the extension), copied into the caller's frame without the
 * padding byte. With DAMAGE, the root window's damage is moved into an
 * XFIXES region at each grab and only its bounding box is read again, so
 * typing in one window costs a small GetImage; screen_unchanged lets the
 * caller skip grabbing a screen nothing was drawn on.
 */
#include <sys/ipc.h>
#include <sys/shm.h>

#include <stdlib.h>
#include <string.h>

#include <xcb/damage.h>
#include <xcb/shm.h>
#include <xcb/xfixes.h>

#include "qh/err.h"
#include "qh/log.h"
#include "x11.h"

void
x11_shm_free(struct screen *s)
{
	if (s->shm_addr != NULL) {
		xcb_shm_detach(s->c, s->seg);
		shmdt(s->shm_addr);
	}
	s->shm_addr = NULL;
	s->shm_size = 0;
}

void
x11_shm_setup(struct screen *s)
{
	xcb_generic_error_t *e;
	size_t size = (size_t)s->mw * s->mh * 4;
	int id;

	x11_shm_free(s);
	if (!s->shm)
		return;
	if ((id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600)) == -1) {
		s->shm = 0;
		return;
	}
	s->shm_addr = shmat(id, NULL, 0);
	s->seg = xcb_generate_id(s->c);
	e = xcb_request_check(s->c,
	    xcb_shm_attach_checked(s->c, s->seg, (uint32_t)id, 0));
	/* Removed now: it goes away when both sides have detached. */
	shmctl(id, IPC_RMID, NULL);
	if (s->shm_addr == (void *)-1 || e != NULL) {
		if (s->shm_addr != (void *)-1)
			shmdt(s->shm_addr);
		s->shm_addr = NULL;
		s->shm = 0;
		qh_info("MIT-SHM unavailable (a remote display?); capturing without it");
	} else
		s->shm_size = size;
	free(e);
}

void
x11_damage_init(struct screen *s)
{
	s->damaged = 1; /* nothing grabbed yet */
	if (s->damage_event < 0)
		return;
	s->damage = xcb_generate_id(s->c);
	xcb_damage_create(s->c, s->damage, s->root, XCB_DAMAGE_REPORT_LEVEL_NON_EMPTY);
	s->region = xcb_generate_id(s->c);
	xcb_xfixes_create_region(s->c, s->region, 0, NULL);
}

int
x11_damage_event(struct screen *s, xcb_generic_event_t *ev)
{
	if (s->damage_event < 0 ||
	    (ev->response_type & 0x7f) != s->damage_event + XCB_DAMAGE_NOTIFY)
		return 0;
	if (!s->damaged) {
		/* The first change since the last grab: the caller may want it now. */
		s->damaged = 1;
		if (s->damage_fn != NULL)
			s->damage_fn(s->damage_arg);
	}
	return 1;
}

void
screen_damage_watch(struct screen *s, void (*fn)(void *arg), void *arg)
{
	s->damage_fn = fn;
	s->damage_arg = arg;
}

int
screen_unchanged(struct screen *s)
{
	if (s->damage_event < 0)
		return 0;
	(void)screen_process(s);
	return !s->damaged;
}

/* Copies rows of w pixels, dropping the padding byte (and swapping if needed). */
static void
copy_rows(const struct screen *s, uint32_t *dst, size_t stride, const uint32_t *src,
    int w, int h)
{
	const uint32_t *sp;
	uint32_t *dp;
	int x, y;

	for (y = 0; y < h; y++) {
		sp = src + (size_t)y * w;
		dp = dst + (size_t)y * stride;
		if (s->swap)
			for (x = 0; x < w; x++)
				dp[x] = __builtin_bswap32(sp[x]) & 0xffffff;
		else
			for (x = 0; x < w; x++)
				dp[x] = sp[x] & 0xffffff;
	}
}

/* Reads the monitor's area x, y, w, h into dst at the same place; 0 or <0. */
static int
grab_area(struct screen *s, uint32_t *dst, size_t stride, int x, int y, int w, int h)
{
	xcb_shm_get_image_reply_t *sr;
	xcb_get_image_reply_t *gr;
	xcb_generic_error_t *e = NULL;
	int16_t rx = (int16_t)(s->mx + x), ry = (int16_t)(s->my + y);

	dst += (size_t)y * stride + x;
	if (s->shm) {
		sr = xcb_shm_get_image_reply(s->c,
		    xcb_shm_get_image(s->c, s->root, rx, ry, (uint16_t)w, (uint16_t)h,
			~0U, XCB_IMAGE_FORMAT_Z_PIXMAP, s->seg, 0),
		    &e);
		free(sr);
		if (e == NULL)
			copy_rows(s, dst, stride, s->shm_addr, w, h);
	} else {
		gr = xcb_get_image_reply(s->c,
		    xcb_get_image(s->c, XCB_IMAGE_FORMAT_Z_PIXMAP, s->root, rx, ry,
			(uint16_t)w, (uint16_t)h, ~0U),
		    &e);
		if (gr != NULL && xcb_get_image_data_length(gr) >= w * h * 4)
			copy_rows(s, dst, stride,
			    (const uint32_t *)xcb_get_image_data(gr), w, h);
		else if (e == NULL)
			e = calloc(1, sizeof(*e));
		free(gr);
	}
	if (e == NULL)
		return 0;
	/* A monitor that changed under us gives BadMatch: look again. */
	free(e);
	(void)screen_process(s);
	return xcb_connection_has_error(s->c) ? QH_ERR_CLOSED : QH_ERR_AGAIN;
}

/* Adds x, y, w, h (clipped to the monitor) to d and to the bounding box b. */
static void
add_rect(const struct screen *s, struct screen_damage *d, int b[4], int x, int y, int w,
    int h)
{
	int x1 = x + w < s->mw ? x + w : s->mw, y1 = y + h < s->mh ? y + h : s->mh;

	x = x < 0 ? 0 : x;
	y = y < 0 ? 0 : y;
	if (x >= x1 || y >= y1)
		return;
	if (d->n < SCREEN_DAMAGE_MAX) {
		d->rect[d->n][0] = x;
		d->rect[d->n][1] = y;
		d->rect[d->n][2] = x1 - x;
		d->rect[d->n][3] = y1 - y;
	}
	d->n++;
	b[0] = x < b[0] ? x : b[0];
	b[1] = y < b[1] ? y : b[1];
	b[2] = x1 > b[2] ? x1 : b[2];
	b[3] = y1 > b[3] ? y1 : b[3];
}

/* Moves the damage so far into d (monitor coordinates) and its bounding box b. */
static void
damage_take(struct screen *s, struct screen_damage *d, int b[4])
{
	xcb_xfixes_fetch_region_reply_t *r;
	xcb_rectangle_t *rect;
	int i, n;

	xcb_damage_subtract(s->c, s->damage, XCB_NONE, s->region);
	r = xcb_xfixes_fetch_region_reply(s->c, xcb_xfixes_fetch_region(s->c, s->region),
	    NULL);
	s->damaged = 0;
	if (r == NULL) {
		add_rect(s, d, b, 0, 0, s->mw, s->mh);
		return;
	}
	rect = xcb_xfixes_fetch_region_rectangles(r);
	n = xcb_xfixes_fetch_region_rectangles_length(r);
	for (i = 0; i < n; i++)
		add_rect(s, d, b, rect[i].x - s->mx, rect[i].y - s->my, rect[i].width,
		    rect[i].height);
	free(r);
}

int
screen_grab(struct screen *s, uint32_t *dst, int w, int h, size_t stride, int full,
    const int (*also)[4], int nalso, struct screen_damage *d)
{
	int b[4] = { w, h, 0, 0 }, i;

	memset(d, 0, sizeof(*d));
	if (xcb_connection_has_error(s->c))
		return QH_ERR_CLOSED;
	if (w != s->mw || h != s->mh)
		return QH_ERR_AGAIN;
	if (s->damage_event >= 0)
		damage_take(s, d, b);
	if (full || s->damage_event < 0) {
		d->n = 0;
		return grab_area(s, dst, stride, 0, 0, w, h);
	}
	for (i = 0; i < nalso; i++)
		add_rect(s, d, b, also[i][0], also[i][1], also[i][2], also[i][3]);
	/* Too many pieces: their bounding box stands for them. */
	if (d->n > SCREEN_DAMAGE_MAX) {
		d->n = 1;
		d->rect[0][0] = b[0];
		d->rect[0][1] = b[1];
		d->rect[0][2] = b[2] - b[0];
		d->rect[0][3] = b[3] - b[1];
	}
	d->known = 1;
	if (b[0] >= b[2] || b[1] >= b[3])
		return 0;
	return grab_area(s, dst, stride, b[0], b[1], b[2] - b[0], b[3] - b[1]);
}
