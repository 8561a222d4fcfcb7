/*
 * The RFB server's protocol side: the handshake, the six client messages
 * (each parsed through the bounded reader, incomplete kept apart from
 * invalid), control and the input it lets through, the clipboard, and the
 * output pump that produces one piece at a time (handshake reply,
 * clipboard text, update header, one rectangle) only when the previous
 * piece has left. What an update contains is decided in rfb_plan.c; the
 * pixels are encoded in rfb_enc.c and rfb_zrle.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/log.h"
#include "rfb_int.h"

static const char version_msg[] = "RFB 003.008\n";

int
rfb_fail(struct rfb *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->state = RFB_ST_FAILED;
	return err;
}

struct rfb *
rfb_new(const char *name, const struct rfb_ops *ops, void *arg)
{
	struct rfb *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	snprintf(r->name, sizeof(r->name), "%s", name != NULL ? name : "");
	r->ops = ops;
	r->arg = arg;
	r->quality = -1;
	r->level = 1;
	r->enc = QH_RFB_ENC_RAW;
	qh_rfb_pf_native(&r->pf);
	r->pf_next = r->pf;
	qh_rfb_conv_init(&r->conv, &r->pf);
	qh_buf_init(&r->clip, RFB_CUT_MAX);
	qh_buf_init(&r->pend, RFB_PEND_MAX);
	qh_buf_init(&r->raw, RFB_RAW_MAX);
	qh_buf_init(&r->zbuf, RFB_ZBUF_MAX);
	if ((r->cur = malloc(sizeof(uint32_t) * RFB_CURSOR_MAX * RFB_CURSOR_MAX)) ==
		NULL ||
	    qh_buf_put(&r->pend, version_msg, QH_RFB_VERSION_LEN) != 0) {
		rfb_free(r);
		return NULL;
	}
	return r;
}

void
rfb_free(struct rfb *r)
{
	if (r == NULL)
		return;
	rfb_plan_free(r);
	rfb_enc_free(r);
	qh_buf_release(&r->clip);
	qh_buf_release(&r->pend);
	free(r->cur);
	free(r);
}

const char *
rfb_why(const struct rfb *r)
{
	return r->why;
}

void
rfb_set_tap(struct rfb *r, rfb_tap_fn tap, void *arg)
{
	r->tap = tap;
	r->tap_arg = arg;
	r->tap_started = 0;
}

void
rfb_get_stats(const struct rfb *r, struct rfb_stats *st)
{
	*st = r->stats;
}

/* Control and the input it lets through. */

void
rfb_set_control(struct rfb *r, int on)
{
	int i;

	if (!on && r->control && r->ops != NULL) {
		for (i = r->nheld - 1; i >= 0; i--)
			if (r->ops->key != NULL)
				r->ops->key(r->arg, 0, r->held[i]);
		if (r->buttons != 0 && r->ops->pointer != NULL)
			r->ops->pointer(r->arg, 0, r->last_x, r->last_y);
	}
	if (!on) {
		r->nheld = 0;
		r->buttons = 0;
		r->clip_due = 0;
	}
	r->control = on ? 1 : 0;
}

int
rfb_control(const struct rfb *r)
{
	return r->control;
}

/* Remembers a key going down or up, so that losing control can release it. */
static void
track_key(struct rfb *r, int down, uint32_t key)
{
	int i;

	for (i = 0; i < r->nheld; i++)
		if (r->held[i] == key)
			break;
	if (down && i == r->nheld && r->nheld < RFB_HELD_MAX)
		r->held[r->nheld++] = key;
	else if (!down && i < r->nheld)
		r->held[i] = r->held[--r->nheld];
}

/* Handshake. */

static int
in_version(struct rfb *r, struct qh_buf *in)
{
	char v[QH_RFB_VERSION_LEN + 1];
	unsigned major, minor;
	int i;

	if (qh_buf_get(in, v, QH_RFB_VERSION_LEN) != 0)
		return 0;
	v[QH_RFB_VERSION_LEN] = '\0';
	for (i = 4; i < 11; i++)
		if (i != 7 && (v[i] < '0' || v[i] > '9'))
			break;
	if (memcmp(v, "RFB ", 4) != 0 || i != 11 || v[7] != '.' || v[11] != '\n' ||
	    sscanf(v + 4, "%3u.%3u", &major, &minor) != 2 || major != 3)
		return rfb_fail(r, QH_ERR_PROTOCOL, "not an RFB 3.x client");
	r->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
	if (r->minor == 3) {
		/* 3.3: the server decides; the type goes out as a u32. */
		if (qh_buf_put_u32(&r->pend, QH_RFB_SEC_NONE) != 0)
			return rfb_fail(r, QH_ERR_INTERNAL,
			    "output full in the handshake");
		r->state = RFB_ST_CLIENTINIT;
		return 1;
	}
	if (qh_buf_put_u8(&r->pend, 1) != 0 ||
	    qh_buf_put_u8(&r->pend, QH_RFB_SEC_NONE) != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "output full in the handshake");
	r->state = RFB_ST_SECURITY;
	return 1;
}

static int
in_security(struct rfb *r, struct qh_buf *in)
{
	uint8_t type;

	if (qh_buf_get_u8(in, &type) != 0)
		return 0;
	if (type != QH_RFB_SEC_NONE)
		return rfb_fail(r, QH_ERR_PROTOCOL, "security type %u was not offered",
		    type);
	/* 3.8 confirms even None; 3.7 does not. */
	if (r->minor == 8 && qh_buf_put_u32(&r->pend, 0) != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "output full in the handshake");
	r->state = RFB_ST_CLIENTINIT;
	return 1;
}

static int
in_clientinit(struct rfb *r, struct qh_buf *in)
{
	uint8_t shared;

	if (qh_buf_get_u8(in, &shared) != 0)
		return 0;
	r->state = RFB_ST_SERVERINIT;
	return 1;
}

/* ServerInit with the given format, for the client or for the tap. */
static int
put_serverinit(struct qh_buf *b, int w, int h, const struct qh_rfb_pf *pf,
    const char *name)
{
	int e = 0;

	e |= qh_buf_put_u16(b, (uint16_t)w);
	e |= qh_buf_put_u16(b, (uint16_t)h);
	e |= qh_rfb_pf_put(b, pf);
	e |= qh_buf_put_string(b, name, strlen(name));
	return e != 0 ? QH_ERR_TOO_LARGE : 0;
}

/* Client messages; each returns 1 (consumed one), 0 (incomplete) or <0. */

static int
msg_pixelformat(struct rfb *r, struct qh_buf *in)
{
	struct qh_rfb_pf pf;

	if (qh_buf_len(in) < 4 + QH_RFB_PF_LEN)
		return 0;
	(void)qh_buf_consume(in, 4);
	(void)qh_rfb_pf_get(in, &pf);
	if (!qh_rfb_pf_valid(&pf))
		return rfb_fail(r, QH_ERR_FORMAT,
		    "SetPixelFormat: %u bpp, depth %u, %s, maxima %u/%u/%u, shifts "
		    "%u/%u/%u is not a true-colour format we serve",
		    pf.bpp, pf.depth, pf.true_colour ? "true colour" : "colour map",
		    pf.max[0], pf.max[1], pf.max[2], pf.shift[0], pf.shift[1],
		    pf.shift[2]);
	/* Applied when the next update starts, never inside one. */
	r->pf_next = pf;
	r->pf_changed = 1;
	return 1;
}

/* Applies one entry of SetEncodings; first is 1 until a pixel encoding was chosen. */
static void
set_encoding(struct rfb *r, int32_t e, int *chosen)
{
	switch (e) {
	case QH_RFB_ENC_RAW:
	case QH_RFB_ENC_ZRLE:
	case QH_RFB_ENC_TIGHT:
		if (!*chosen)
			r->enc = e;
		*chosen = 1;
		break;
	case QH_RFB_ENC_COPYRECT:
		r->copyrect = 1;
		break;
	case QH_RFB_ENC_CURSOR:
		r->cursor_enc = 1;
		break;
	case QH_RFB_ENC_POINTERPOS:
		r->pointer_enc = 1;
		break;
	case QH_RFB_ENC_DESKTOPSIZE:
		r->resize_enc = 1;
		break;
	default:
		if (e >= QH_RFB_ENC_QUALITY0 && e <= QH_RFB_ENC_QUALITY0 + 9 &&
		    r->quality < 0)
			r->quality = e - QH_RFB_ENC_QUALITY0;
		else if (e >= QH_RFB_ENC_COMPRESS0 && e <= QH_RFB_ENC_COMPRESS0 + 9)
			r->level = e - QH_RFB_ENC_COMPRESS0;
		break;
	}
}

static int
msg_encodings(struct rfb *r, struct qh_buf *in)
{
	uint8_t hi, lo;
	uint32_t e;
	int had_cursor = r->cursor_enc, chosen = 0;
	size_t n, i;

	if (qh_buf_peek_u8(in, 2, &hi) != 0 || qh_buf_peek_u8(in, 3, &lo) != 0)
		return 0;
	n = (size_t)hi << 8 | lo;
	if (n > RFB_ENCODINGS_MAX)
		return rfb_fail(r, QH_ERR_TOO_LARGE,
		    "SetEncodings lists %zu encodings, more than %d", n,
		    RFB_ENCODINGS_MAX);
	if (qh_buf_len(in) < 4 + 4 * n)
		return 0;
	(void)qh_buf_consume(in, 4);
	r->enc = QH_RFB_ENC_RAW;
	r->copyrect = r->cursor_enc = r->pointer_enc = r->resize_enc = 0;
	r->quality = -1;
	for (i = 0; i < n; i++) {
		(void)qh_buf_get_u32(in, &e);
		set_encoding(r, (int32_t)e, &chosen);
	}
	if (r->cursor_enc && !had_cursor && r->cur_have)
		r->cur_dirty = 1;
	return 1;
}

static void
box_union(struct rfb_box *a, const struct rfb_box *b)
{
	if (b->x0 >= b->x1 || b->y0 >= b->y1)
		return;
	if (a->x0 >= a->x1 || a->y0 >= a->y1) {
		*a = *b;
		return;
	}
	a->x0 = b->x0 < a->x0 ? b->x0 : a->x0;
	a->y0 = b->y0 < a->y0 ? b->y0 : a->y0;
	a->x1 = b->x1 > a->x1 ? b->x1 : a->x1;
	a->y1 = b->y1 > a->y1 ? b->y1 : a->y1;
}

static int
msg_request(struct rfb *r, struct qh_buf *in)
{
	uint8_t type, incremental;
	uint16_t x, y, w, h;
	struct rfb_box b;

	if (qh_buf_len(in) < 10)
		return 0;
	(void)qh_buf_get_u8(in, &type);
	(void)qh_buf_get_u8(in, &incremental);
	(void)qh_buf_get_u16(in, &x);
	(void)qh_buf_get_u16(in, &y);
	(void)qh_buf_get_u16(in, &w);
	(void)qh_buf_get_u16(in, &h);
	/* Clipped to the screen; an area outside it asks for nothing. */
	b.x0 = x < r->w ? x : r->w;
	b.y0 = y < r->h ? y : r->h;
	b.x1 = x + w < r->w ? x + w : r->w;
	b.y1 = y + h < r->h ? y + h : r->h;
	if (!r->want)
		r->req = (struct rfb_box){ 0, 0, 0, 0 };
	box_union(&r->req, &b);
	if (!incremental)
		box_union(&r->full, &b);
	r->want = 1;
	return 1;
}

static int
msg_key(struct rfb *r, struct qh_buf *in)
{
	uint8_t type, down;
	uint32_t key;

	if (qh_buf_len(in) < 8)
		return 0;
	(void)qh_buf_get_u8(in, &type);
	(void)qh_buf_get_u8(in, &down);
	(void)qh_buf_consume(in, 2);
	(void)qh_buf_get_u32(in, &key);
	if (!r->control)
		return 1;
	track_key(r, down != 0, key);
	if (r->ops != NULL && r->ops->key != NULL)
		r->ops->key(r->arg, down != 0, key);
	return 1;
}

static int
msg_pointer(struct rfb *r, struct qh_buf *in)
{
	uint8_t type, mask;
	uint16_t x, y;

	if (qh_buf_len(in) < 6)
		return 0;
	(void)qh_buf_get_u8(in, &type);
	(void)qh_buf_get_u8(in, &mask);
	(void)qh_buf_get_u16(in, &x);
	(void)qh_buf_get_u16(in, &y);
	if (!r->control)
		return 1;
	r->last_x = x < r->w ? x : r->w > 0 ? r->w - 1 : 0;
	r->last_y = y < r->h ? y : r->h > 0 ? r->h - 1 : 0;
	r->buttons = mask;
	if (r->ops != NULL && r->ops->pointer != NULL)
		r->ops->pointer(r->arg, mask, r->last_x, r->last_y);
	return 1;
}

/* Passes Latin-1 text on as UTF-8, without NULs. */
static void
deliver_clipboard(struct rfb *r, const uint8_t *p, size_t len)
{
	char *u;
	size_t i, n = 0;

	if (r->ops == NULL || r->ops->clipboard == NULL ||
	    (u = malloc(2 * len + 1)) == NULL)
		return;
	for (i = 0; i < len; i++) {
		if (p[i] == 0)
			continue;
		if (p[i] < 0x80) {
			u[n++] = (char)p[i];
		} else {
			u[n++] = (char)(0xc0 | p[i] >> 6);
			u[n++] = (char)(0x80 | (p[i] & 0x3f));
		}
	}
	u[n] = '\0';
	r->ops->clipboard(r->arg, u, n);
	free(u);
}

static int
msg_cuttext(struct rfb *r, struct qh_buf *in)
{
	uint32_t len;
	const uint8_t *p;
	size_t plen;

	if (qh_buf_peek_u32(in, 4, &len) != 0)
		return 0;
	if (len & 0x80000000U)
		return rfb_fail(r, QH_ERR_PROTOCOL,
		    "ClientCutText in the extended form, which was not offered");
	if (len > RFB_CUT_MAX) {
		/* Too long to pass on: dropped as it arrives, not kept. */
		(void)qh_buf_consume(in, 8);
		r->cut_skip = len;
		qh_info("clipboard text of %u bytes from the viewer dropped (limit %d)",
		    len, RFB_CUT_MAX);
		return 1;
	}
	if (qh_buf_len(in) < 8 + (size_t)len)
		return 0;
	(void)qh_buf_consume(in, 4);
	if (qh_buf_get_string_direct(in, &p, &plen, RFB_CUT_MAX) != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "ClientCutText: length changed");
	if (r->control)
		deliver_clipboard(r, p, plen);
	return 1;
}

static const struct {
	const char *name;
	int (*fn)(struct rfb *r, struct qh_buf *in);
} handlers[] = {
	[QH_RFB_C_SETPIXELFORMAT] = { "SetPixelFormat", msg_pixelformat },
	[QH_RFB_C_SETENCODINGS] = { "SetEncodings", msg_encodings },
	[QH_RFB_C_UPDATEREQUEST] = { "FramebufferUpdateRequest", msg_request },
	[QH_RFB_C_KEYEVENT] = { "KeyEvent", msg_key },
	[QH_RFB_C_POINTEREVENT] = { "PointerEvent", msg_pointer },
	[QH_RFB_C_CUTTEXT] = { "ClientCutText", msg_cuttext },
};

static int
in_message(struct rfb *r, struct qh_buf *in)
{
	uint8_t type;
	size_t n;

	if (r->cut_skip > 0) {
		n = qh_buf_len(in) < r->cut_skip ? qh_buf_len(in) : r->cut_skip;
		(void)qh_buf_consume(in, n);
		r->cut_skip -= n;
		return n > 0;
	}
	if (qh_buf_peek_u8(in, 0, &type) != 0)
		return 0;
	if (type >= sizeof(handlers) / sizeof(handlers[0]) || handlers[type].fn == NULL)
		return rfb_fail(r, QH_ERR_PROTOCOL, "unknown client message type %u",
		    type);
	return handlers[type].fn(r, in);
}

int
rfb_input(struct rfb *r, struct qh_buf *in)
{
	int n;

	for (;;) {
		switch (r->state) {
		case RFB_ST_VERSION:
			n = in_version(r, in);
			break;
		case RFB_ST_SECURITY:
			n = in_security(r, in);
			break;
		case RFB_ST_CLIENTINIT:
			n = in_clientinit(r, in);
			break;
		case RFB_ST_SERVERINIT:
			return 0; /* a client must wait for ServerInit */
		case RFB_ST_NORMAL:
			n = in_message(r, in);
			break;
		default:
			return QH_ERR_PROTOCOL;
		}
		if (n <= 0)
			return n;
	}
}

/* What the caller gives us. */

int
rfb_want_frame(const struct rfb *r)
{
	if (r->state == RFB_ST_SERVERINIT)
		return !r->have_frame;
	return r->state == RFB_ST_NORMAL && r->want && !r->updating;
}

int
rfb_set_frame(struct rfb *r, const struct rfb_frame *f, const int (*damage)[4],
    int ndamage)
{
	if (f->w <= 0 || f->h <= 0 || f->w > RFB_SIZE_MAX || f->h > RFB_SIZE_MAX ||
	    f->stride < (size_t)f->w)
		return QH_ERR_ARG;
	if (r->updating)
		return QH_ERR_BUSY;
	r->fb = *f;
	r->have_frame = 1;
	r->fb_new = 1;
	if (r->state == RFB_ST_NORMAL && (f->w != r->w || f->h != r->h))
		r->resize = 1;
	else if (r->state == RFB_ST_NORMAL)
		rfb_plan_damage(r, damage, ndamage);
	return 0;
}

void
rfb_set_cursor(struct rfb *r, const struct rfb_cursor *c)
{
	int y;

	if (c == NULL || c->w <= 0 || c->h <= 0) {
		if (r->cur_have)
			r->cur_dirty = 1;
		r->cur_have = 0;
		r->cur_w = r->cur_h = 0;
		return;
	}
	if (c->w > RFB_CURSOR_MAX || c->h > RFB_CURSOR_MAX)
		return;
	if (r->cur_have && c->serial == r->cur_serial)
		return;
	for (y = 0; y < c->h; y++)
		memcpy(r->cur + (size_t)y * c->w, c->argb + (size_t)y * c->w,
		    (size_t)c->w * 4);
	r->cur_w = c->w;
	r->cur_h = c->h;
	r->cur_hx = c->hx < 0 ? 0 : c->hx >= c->w ? c->w - 1 : c->hx;
	r->cur_hy = c->hy < 0 ? 0 : c->hy >= c->h ? c->h - 1 : c->hy;
	r->cur_serial = c->serial;
	r->cur_have = 1;
	r->cur_dirty = 1;
}

void
rfb_set_pointer(struct rfb *r, int x, int y)
{
	if (x == r->ptr_x && y == r->ptr_y)
		return;
	r->ptr_x = x;
	r->ptr_y = y;
	r->ptr_dirty = 1;
}

int
rfb_cursor_in_frame(const struct rfb *r)
{
	return !r->cursor_enc;
}

void
rfb_set_clipboard(struct rfb *r, const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	uint32_t cp;
	size_t i = 0;
	int n, k;

	if (!r->control)
		return; /* nothing copied before control was granted leaves */
	qh_buf_reset(&r->clip);
	while (i < len && qh_buf_room(&r->clip) > 0) {
		/* One UTF-8 sequence; anything past Latin-1 or malformed is '?'. */
		cp = s[i];
		n = cp < 0x80 ? 1 : (cp & 0xe0) == 0xc0 ? 2 : (cp & 0xf0) == 0xe0 ? 3 : 4;
		if (n > 1)
			cp &= 0x3f >> (n - 1);
		for (k = 1; k < n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (k < n || (cp >= 0x80 && cp < 0xa0) || cp > 0xff) {
			cp = '?';
			n = k;
		}
		i += (size_t)n;
		if (cp != 0)
			(void)qh_buf_put_u8(&r->clip, (uint8_t)cp);
	}
	r->clip_due = 1;
}

/* Output. */

/* Hands bytes to the tap, after the handshake it has not had yet. */
static void
tap_emit(struct rfb *r, const uint8_t *p, size_t len)
{
	struct qh_buf b;

	if (r->tap == NULL || len == 0)
		return;
	if (!r->tap_started) {
		qh_buf_init(&b, 64 + QH_RFB_NAME_MAX);
		if (qh_buf_put(&b, version_msg, QH_RFB_VERSION_LEN) == 0 &&
		    qh_buf_put_u8(&b, 1) == 0 &&
		    qh_buf_put_u8(&b, QH_RFB_SEC_NONE) == 0 &&
		    qh_buf_put_u32(&b, 0) == 0 &&
		    put_serverinit(&b, r->w, r->h, &r->pf, r->name) == 0)
			r->tap(r->tap_arg, qh_buf_ptr(&b), qh_buf_len(&b));
		qh_buf_release(&b);
		r->tap_started = 1;
	}
	r->tap(r->tap_arg, p, len);
}

static int
out_serverinit(struct rfb *r)
{
	int e;

	if ((e = rfb_plan_resize(r, r->fb.w, r->fb.h)) != 0)
		return rfb_fail(r, e, "no memory for a %dx%d screen", r->fb.w, r->fb.h);
	if (put_serverinit(&r->pend, r->w, r->h, &r->pf, r->name) != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "output full at ServerInit");
	r->state = RFB_ST_NORMAL;
	/* That frame is older than any request: the first update waits for a new one. */
	r->fb_new = 0;
	rfb_plan_damage(r, NULL, 0);
	return 1;
}

static int
out_clipboard(struct rfb *r)
{
	int e = 0;

	r->clip_due = 0;
	e |= qh_buf_put_u8(&r->pend, QH_RFB_S_CUTTEXT);
	e |= qh_buf_put(&r->pend, "\0\0\0", 3);
	e |= qh_buf_put_string(&r->pend, qh_buf_ptr(&r->clip), qh_buf_len(&r->clip));
	if (e != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "output full at ServerCutText");
	tap_emit(r, qh_buf_ptr(&r->pend), qh_buf_len(&r->pend));
	return 1;
}

/* Starts an update if one is due; 1 when its header is out, 0 if nothing is. */
static int
out_update_start(struct rfb *r)
{
	int n;

	if (r->pf_changed) {
		if (!qh_rfb_pf_equal(&r->pf, &r->pf_next))
			r->tap_started = 0; /* the recording gets the new format */
		r->pf = r->pf_next;
		r->pf_changed = 0;
		qh_rfb_conv_init(&r->conv, &r->pf);
	}
	if ((n = rfb_plan(r)) <= 0)
		return n;
	if (qh_buf_put_u8(&r->pend, QH_RFB_S_UPDATE) != 0 ||
	    qh_buf_put_u8(&r->pend, 0) != 0 || qh_buf_put_u16(&r->pend, (uint16_t)n) != 0)
		return rfb_fail(r, QH_ERR_INTERNAL, "output full at an update");
	tap_emit(r, qh_buf_ptr(&r->pend), qh_buf_len(&r->pend));
	r->nrects = n;
	r->next = 0;
	r->updating = 1;
	r->want = 0;
	r->stats.updates++;
	return 1;
}

static int
out_rect(struct rfb *r)
{
	const struct rfb_rect *rc = &r->rects[r->next];
	int e;

	if ((e = rfb_enc_rect(r, rc)) != 0)
		return rfb_fail(r, e, "cannot encode a %dx%d rectangle: %s", rc->w, rc->h,
		    qh_strerror(e));
	tap_emit(r, qh_buf_ptr(&r->pend), qh_buf_len(&r->pend));
	r->stats.rects++;
	if (++r->next == r->nrects)
		r->updating = 0;
	return 1;
}

/* Produces the next piece into the empty pend; 1 if it did, 0 if nothing is due. */
static int
produce(struct rfb *r)
{
	switch (r->state) {
	case RFB_ST_SERVERINIT:
		return r->have_frame ? out_serverinit(r) : 0;
	case RFB_ST_NORMAL:
		break;
	case RFB_ST_FAILED:
		return QH_ERR_PROTOCOL;
	default:
		return 0;
	}
	if (r->updating)
		return out_rect(r);
	if (r->clip_due && r->control)
		return out_clipboard(r);
	/* Every update is made from a frame captured after its request. */
	if (r->want && r->fb_new)
		return out_update_start(r);
	return 0;
}

int
rfb_output(struct rfb *r, struct qh_buf *out)
{
	size_t n;
	int e;

	for (;;) {
		if ((n = qh_buf_len(&r->pend)) > 0) {
			if (n > qh_buf_room(out))
				n = qh_buf_room(out);
			if (qh_buf_put(out, qh_buf_ptr(&r->pend), n) != 0)
				return rfb_fail(r, QH_ERR_INTERNAL,
				    "output buffer refused");
			(void)qh_buf_consume(&r->pend, n);
			r->stats.bytes += n;
			if (qh_buf_len(&r->pend) > 0)
				return 0;
		}
		if (qh_buf_room(out) == 0)
			return 0;
		if ((e = produce(r)) <= 0)
			return e;
	}
}

int
rfb_output_pending(const struct rfb *r)
{
	return qh_buf_len(&r->pend) > 0 || r->updating;
}
