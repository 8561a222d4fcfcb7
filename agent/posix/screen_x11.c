/*
 * The X11 capture backend (screen.h) on xcb: the display in $DISPLAY, one
 * monitor of it chosen through RANDR 1.5 (0 = primary), the extensions it
 * offers, its events, and the pointer's shape and position from XFIXES. A
 * Wayland session is refused: its X server (Xwayland) shows only X
 * clients, not the desktop. Capture is in grab_x11.c, keys and buttons in
 * input_x11.c, the clipboard in clip_x11.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xcb/damage.h>
#include <xcb/randr.h>
#include <xcb/shm.h>
#include <xcb/xfixes.h>

#include "qh/err.h"
#include "qh/log.h"
#include "x11.h"

static int
say(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

xcb_atom_t
x11_atom(xcb_connection_t *c, const char *name)
{
	xcb_intern_atom_reply_t *r;
	xcb_atom_t a = XCB_ATOM_NONE;

	r = xcb_intern_atom_reply(c, xcb_intern_atom(c, 0, (uint16_t)strlen(name), name),
	    NULL);
	if (r != NULL)
		a = r->atom;
	free(r);
	return a;
}

/* 1 if the root window's pixels are 32-bit XRGB (in either byte order). */
static int
visual_ok(struct screen *s)
{
	const xcb_setup_t *setup = xcb_get_setup(s->c);
	xcb_format_iterator_t f;
	xcb_depth_iterator_t d;
	xcb_visualtype_iterator_t v;
	int bpp = 0;

	for (f = xcb_setup_pixmap_formats_iterator(setup); f.rem; xcb_format_next(&f))
		if (f.data->depth == s->xs->root_depth)
			bpp = f.data->bits_per_pixel;
	if (bpp != 32)
		return 0;
	for (d = xcb_screen_allowed_depths_iterator(s->xs); d.rem; xcb_depth_next(&d))
		for (v = xcb_depth_visuals_iterator(d.data); v.rem;
		     xcb_visualtype_next(&v))
			if (v.data->visual_id == s->xs->root_visual)
				return v.data->_class == XCB_VISUAL_CLASS_TRUE_COLOR &&
				    v.data->red_mask == 0xff0000 &&
				    v.data->green_mask == 0xff00 &&
				    v.data->blue_mask == 0xff;
	return 0;
}

/*
 * Looks up monitor index through RANDR 1.5: the primary first, then the
 * others in the server's order. Without RANDR (or without monitors) the
 * whole root window is monitor 0. Returns 0 or QH_ERR_NOT_FOUND, *count
 * the monitors there are.
 */
static int
monitor_find(struct screen *s, int index, int *count)
{
	xcb_randr_get_monitors_reply_t *r = NULL;
	xcb_randr_monitor_info_iterator_t it;
	int i = 0, pass, found = 0;

	*count = 1;
	if (s->randr_event >= 0)
		r = xcb_randr_get_monitors_reply(s->c,
		    xcb_randr_get_monitors(s->c, s->root, 1), NULL);
	if (r == NULL || xcb_randr_get_monitors_monitors_length(r) == 0) {
		free(r);
		s->mx = s->my = 0;
		s->mw = s->xs->width_in_pixels;
		s->mh = s->xs->height_in_pixels;
		return index == 0 ? 0 : QH_ERR_NOT_FOUND;
	}
	*count = xcb_randr_get_monitors_monitors_length(r);
	/* Pass 0 counts the primary, pass 1 the others. */
	for (pass = 0; pass < 2 && !found; pass++)
		for (it = xcb_randr_get_monitors_monitors_iterator(r); it.rem && !found;
		     xcb_randr_monitor_info_next(&it)) {
			if ((it.data->primary != 0) != (pass == 0))
				continue;
			if (i++ == index) {
				s->mx = it.data->x;
				s->my = it.data->y;
				s->mw = it.data->width;
				s->mh = it.data->height;
				found = 1;
			}
		}
	free(r);
	return found ? 0 : QH_ERR_NOT_FOUND;
}

/* Which extensions the display has; capture needs none, the extras do. */
static void
extensions(struct screen *s)
{
	const xcb_query_extension_reply_t *ext;
	xcb_shm_query_version_reply_t *shm;
	xcb_randr_query_version_reply_t *rr;
	xcb_xfixes_query_version_reply_t *xf;
	xcb_damage_query_version_reply_t *dm;

	s->randr_event = s->xfixes_event = s->damage_event = -1;
	ext = xcb_get_extension_data(s->c, &xcb_randr_id);
	if (ext != NULL && ext->present) {
		rr = xcb_randr_query_version_reply(s->c,
		    xcb_randr_query_version(s->c, 1, 5), NULL);
		if (rr != NULL && (rr->major_version > 1 || rr->minor_version >= 5))
			s->randr_event = ext->first_event;
		free(rr);
	}
	ext = xcb_get_extension_data(s->c, &xcb_xfixes_id);
	if (ext != NULL && ext->present) {
		xf = xcb_xfixes_query_version_reply(s->c,
		    xcb_xfixes_query_version(s->c, 4, 0), NULL);
		if (xf != NULL && xf->major_version >= 2)
			s->xfixes_event = ext->first_event;
		free(xf);
	}
	ext = xcb_get_extension_data(s->c, &xcb_damage_id);
	if (ext != NULL && ext->present && s->xfixes_event >= 0) {
		dm = xcb_damage_query_version_reply(s->c,
		    xcb_damage_query_version(s->c, 1, 1), NULL);
		if (dm != NULL)
			s->damage_event = ext->first_event;
		free(dm);
	}
	ext = xcb_get_extension_data(s->c, &xcb_shm_id);
	if (ext != NULL && ext->present) {
		shm =
		    xcb_shm_query_version_reply(s->c, xcb_shm_query_version(s->c), NULL);
		s->shm = shm != NULL;
		free(shm);
	}
}

/* Connects and checks the session and the display; 0 or <0 with why. */
static int
connect_display(struct screen *s, char *why, size_t whylen)
{
	const char *type = getenv("XDG_SESSION_TYPE"), *display = getenv("DISPLAY");
	xcb_screen_iterator_t it;
	int n;

	if (type != NULL && strcmp(type, "wayland") == 0)
		return say(why, whylen, QH_ERR_REFUSED,
		    "Wayland sessions cannot be shared; log in with an X11 session");
	if (display == NULL || *display == '\0')
		return say(why, whylen, QH_ERR_NOT_FOUND,
		    "there is no X display to share ($DISPLAY is not set)");
	s->c = xcb_connect(NULL, &n);
	if (xcb_connection_has_error(s->c))
		return say(why, whylen, QH_ERR_NOT_FOUND, "cannot open the X display %s",
		    display);
	for (it = xcb_setup_roots_iterator(xcb_get_setup(s->c)); it.rem && n > 0;
	     xcb_screen_next(&it))
		n--;
	if (it.rem == 0)
		return say(why, whylen, QH_ERR_NOT_FOUND,
		    "the X display %s has no screen", display);
	s->xs = it.data;
	s->root = s->xs->root;
	if (!visual_ok(s))
		return say(why, whylen, QH_ERR_SYSTEM,
		    "the X display's depth of %u bits is not supported (24 or 32 is)",
		    s->xs->root_depth);
	s->swap = xcb_get_setup(s->c)->image_byte_order !=
	    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? XCB_IMAGE_ORDER_LSB_FIRST
						       : XCB_IMAGE_ORDER_MSB_FIRST);
	return 0;
}

int
screen_open(int index, struct screen **sp, char *why, size_t whylen)
{
	struct screen *s;
	int r, count;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->cur = malloc(sizeof(uint32_t) * X11_CURSOR_MAX * X11_CURSOR_MAX)) ==
		NULL) {
		free(s);
		return say(why, whylen, QH_ERR_NOMEM, "out of memory");
	}
	s->index = index;
	if ((r = connect_display(s, why, whylen)) != 0)
		goto fail;
	extensions(s);
	if (monitor_find(s, index, &count) != 0) {
		r = say(why, whylen, QH_ERR_NOT_FOUND,
		    "there is no monitor %d (the display has %d, numbered from 0)", index,
		    count);
		goto fail;
	}
	x11_shm_setup(s);
	x11_damage_init(s);
	if (s->randr_event >= 0)
		xcb_randr_select_input(s->c, s->root,
		    XCB_RANDR_NOTIFY_MASK_SCREEN_CHANGE);
	if ((r = x11_input_init(s)) != 0 || (r = x11_clip_init(s)) != 0) {
		r = say(why, whylen, r,
		    "the X display refused the keyboard or clipboard setup");
		goto fail;
	}
	xcb_flush(s->c);
	qh_info("X display %s, monitor %d: %dx%d+%d+%d%s%s", getenv("DISPLAY"), index,
	    s->mw, s->mh, s->mx, s->my, s->shm ? "" : ", without MIT-SHM",
	    s->damage_event >= 0 ? "" : ", without DAMAGE (comparing every frame)");
	*sp = s;
	return 0;
fail:
	screen_close(s);
	return r;
}

void
screen_close(struct screen *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL && !xcb_connection_has_error(s->c)) {
		x11_input_release_all(s);
		x11_shm_free(s);
		xcb_flush(s->c);
	}
	x11_clip_free(s);
	x11_input_free(s);
	if (s->c != NULL)
		xcb_disconnect(s->c);
	free(s->cur);
	free(s);
}

void
screen_size(const struct screen *s, int *w, int *h)
{
	*w = s->mw;
	*h = s->mh;
}

int
screen_fd(const struct screen *s)
{
	return xcb_get_file_descriptor(s->c);
}

/* The monitor may have moved or changed size: look again. */
static void
monitor_changed(struct screen *s)
{
	int mw = s->mw, mh = s->mh, count;

	if (monitor_find(s, s->index, &count) != 0)
		return; /* gone: keep capturing the old area */
	if (s->mw != mw || s->mh != mh) {
		qh_info("monitor %d is now %dx%d+%d+%d", s->index, s->mw, s->mh, s->mx,
		    s->my);
		if (s->shm)
			x11_shm_setup(s);
	}
	s->damaged = 1;
}

int
screen_process(struct screen *s)
{
	xcb_generic_event_t *ev;
	uint8_t type;

	while ((ev = xcb_poll_for_event(s->c)) != NULL) {
		type = ev->response_type & 0x7f;
		if (type == XCB_MAPPING_NOTIFY)
			(void)x11_keymap_load(s);
		else if (s->randr_event >= 0 &&
		    type == s->randr_event + XCB_RANDR_SCREEN_CHANGE_NOTIFY)
			monitor_changed(s);
		else if (!x11_damage_event(s, ev))
			(void)x11_clip_event(s, ev);
		free(ev);
	}
	xcb_flush(s->c);
	return xcb_connection_has_error(s->c) ? QH_ERR_CLOSED : 0;
}

/* Keeps the XFIXES cursor image, premultiplied, as straight ARGB. */
static void
cursor_store(struct screen *s, const xcb_xfixes_get_cursor_image_reply_t *r)
{
	const uint32_t *p = xcb_xfixes_get_cursor_image_cursor_image(r);
	uint32_t a, v;
	size_t i, n = (size_t)r->width * r->height;

	s->cur_w = r->width;
	s->cur_h = r->height;
	s->cur_hx = r->xhot;
	s->cur_hy = r->yhot;
	s->cur_serial = r->cursor_serial;
	for (i = 0; i < n; i++) {
		v = p[i];
		a = v >> 24;
		if (a != 0 && a != 255)
			v = a << 24 | (((v >> 16) & 255) * 255 / a) << 16 |
			    (((v >> 8) & 255) * 255 / a) << 8 | ((v & 255) * 255 / a);
		s->cur[i] = v;
	}
}

int
screen_pointer(struct screen *s, int *x, int *y, struct screen_cursor *c)
{
	xcb_xfixes_get_cursor_image_reply_t *r;
	xcb_query_pointer_reply_t *q;

	memset(c, 0, sizeof(*c));
	if (s->xfixes_event < 0) {
		q = xcb_query_pointer_reply(s->c, xcb_query_pointer(s->c, s->root), NULL);
		if (q == NULL)
			return QH_ERR_CLOSED;
		*x = q->root_x - s->mx;
		*y = q->root_y - s->my;
		free(q);
		return 0;
	}
	r = xcb_xfixes_get_cursor_image_reply(s->c, xcb_xfixes_get_cursor_image(s->c),
	    NULL);
	if (r == NULL)
		return QH_ERR_CLOSED;
	*x = r->x - s->mx;
	*y = r->y - s->my;
	if (r->width <= X11_CURSOR_MAX && r->height <= X11_CURSOR_MAX &&
	    (r->cursor_serial != s->cur_serial || s->cur_w == 0) &&
	    xcb_xfixes_get_cursor_image_cursor_image_length(r) >= r->width * r->height)
		cursor_store(s, r);
	free(r);
	c->argb = s->cur;
	c->w = s->cur_w;
	c->h = s->cur_h;
	c->hx = s->cur_hx;
	c->hy = s->cur_hy;
	c->serial = s->cur_serial;
	return 0;
}
