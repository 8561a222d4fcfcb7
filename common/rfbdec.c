/*
 * The RFB stream decoder's protocol side: the server's handshake,
 * ServerInit, server messages, and the simple rectangles (Raw, CopyRect,
 * Cursor, PointerPos, DesktopSize). Each unit is first measured on a copy
 * of the reader, so an incomplete one consumes nothing and changes no
 * state (the zlib streams above all), and is then decoded from a
 * read-only view of exactly its bytes. ZRLE and Tight are in rfbdec_zt.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "rfbdec_int.h"

int
dec_fail(struct qh_rfbdec *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	d->state = DS_FAILED;
	return err;
}

int
qh_rfbdec_new(struct qh_rfbdec **dp, size_t max_pixels)
{
	struct qh_rfbdec *d;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return QH_ERR_NOMEM;
	d->max_pixels = max_pixels;
	qh_buf_init(&d->zout, QH_RFBDEC_UNIT_MAX);
	*dp = d;
	return 0;
}

void
qh_rfbdec_free(struct qh_rfbdec *d)
{
	if (d == NULL)
		return;
	dec_zt_free(d);
	qh_buf_release(&d->zout);
	free(d->fb);
	free(d);
}

const char *
qh_rfbdec_why(const struct qh_rfbdec *d)
{
	return d->why;
}

const uint32_t *
qh_rfbdec_frame(const struct qh_rfbdec *d, int *w, int *h)
{
	*w = d->fb != NULL ? d->w : 0;
	*h = d->fb != NULL ? d->h : 0;
	return d->fb;
}

const char *
qh_rfbdec_name(const struct qh_rfbdec *d)
{
	return d->name;
}

uint64_t
qh_rfbdec_updates(const struct qh_rfbdec *d)
{
	return d->updates;
}

int
dec_get_pixel(struct qh_rfbdec *d, struct qh_buf *b, uint32_t *xrgb)
{
	uint8_t p[4];

	if (qh_buf_get(b, p, d->pf.bpp / 8) != 0)
		return QH_ERR_INCOMPLETE;
	*xrgb = qh_rfb_unpack(&d->pf, qh_rfb_get_pixel(p, &d->pf));
	return 0;
}

/* Handshake. Each step returns 1 (done), 0 (more input needed) or <0. */

static int
in_version(struct qh_rfbdec *d, struct qh_buf *in)
{
	char v[QH_RFB_VERSION_LEN + 1];
	unsigned major, minor;

	if (qh_buf_get(in, v, QH_RFB_VERSION_LEN) != 0)
		return 0;
	v[QH_RFB_VERSION_LEN] = '\0';
	if (memcmp(v, "RFB ", 4) != 0 || v[7] != '.' || v[11] != '\n' ||
	    sscanf(v + 4, "%3u.%3u", &major, &minor) != 2 || major != 3)
		return dec_fail(d, QH_ERR_FORMAT, "not an RFB 3.x server stream");
	d->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
	d->state = DS_SECURITY;
	return 1;
}

/*
 * The version both sides use: the server's, or the viewer's when that is
 * known and lower (the server follows the viewer down).
 */
static int
agreed_minor(const struct qh_rfbdec *d)
{
	return d->cminor != 0 && d->cminor < d->minor ? d->cminor : d->minor;
}

static int
in_security(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_buf peek = *in;
	uint32_t type;
	uint8_t n, t;
	int none = 0, i;

	if (agreed_minor(d) == 3) {
		if (qh_buf_get_u32(in, &type) != 0)
			return 0;
		if (type != QH_RFB_SEC_NONE)
			return dec_fail(d, QH_ERR_PROTOCOL, "security type %u, not None",
			    type);
		d->state = DS_SERVERINIT;
		return 1;
	}
	if (qh_buf_get_u8(&peek, &n) != 0 || qh_buf_len(&peek) < n)
		return 0;
	if (n == 0)
		return dec_fail(d, QH_ERR_PROTOCOL, "the server refused the connection");
	for (i = 0; i < n; i++) {
		(void)qh_buf_get_u8(&peek, &t);
		none |= t == QH_RFB_SEC_NONE;
	}
	if (!none)
		return dec_fail(d, QH_ERR_PROTOCOL, "security type None not offered");
	*in = peek;
	d->state = agreed_minor(d) == 8 ? DS_RESULT : DS_SERVERINIT;
	return 1;
}

static int
in_result(struct qh_rfbdec *d, struct qh_buf *in)
{
	uint32_t result;

	if (qh_buf_get_u32(in, &result) != 0)
		return 0;
	if (result != 0)
		return dec_fail(d, QH_ERR_PROTOCOL, "security failed");
	d->state = DS_SERVERINIT;
	return 1;
}

/* A framebuffer of w x h, kept when the size is the same, else black. */
static int
fb_resize(struct qh_rfbdec *d, int w, int h)
{
	uint32_t *fb;

	if (w <= 0 || h <= 0 || (size_t)w * (size_t)h > d->max_pixels)
		return dec_fail(d, QH_ERR_TOO_LARGE, "screen %dx%d is too large or empty",
		    w, h);
	if (d->fb != NULL && w == d->w && h == d->h)
		return 0;
	if ((fb = calloc((size_t)w * h, sizeof(uint32_t))) == NULL)
		return dec_fail(d, QH_ERR_NOMEM, "no memory for a %dx%d screen", w, h);
	free(d->fb);
	d->fb = fb;
	d->w = w;
	d->h = h;
	return 0;
}

static int
in_serverinit(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_buf peek = *in;
	struct qh_rfb_pf pf;
	uint16_t w, h;
	const uint8_t *name;
	size_t len;
	int r;

	if (qh_buf_get_u16(&peek, &w) != 0 || qh_buf_get_u16(&peek, &h) != 0 ||
	    qh_rfb_pf_get(&peek, &pf) != 0)
		return 0;
	if ((r = qh_buf_get_string_direct(&peek, &name, &len, QH_RFB_NAME_MAX)) ==
	    QH_ERR_INCOMPLETE)
		return 0;
	if (r != 0)
		return dec_fail(d, QH_ERR_TOO_LARGE, "desktop name too long");
	if (!qh_rfb_pf_valid(&pf))
		return dec_fail(d, QH_ERR_FORMAT, "pixel format of %u bpp is not ours",
		    pf.bpp);
	if ((r = fb_resize(d, w, h)) != 0)
		return r;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	d->pf = pf;
	*in = peek;
	d->state = DS_MESSAGE;
	return 1;
}

/* Server messages. */

static int
in_message(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_buf peek = *in;
	uint8_t type;
	uint16_t n;
	uint32_t len;

	if (qh_buf_peek_u8(in, 0, &type) != 0)
		return 0;
	switch (type) {
	case QH_RFB_S_UPDATE:
		if (qh_buf_len(in) < 4)
			return 0;
		(void)qh_buf_consume(in, 2);
		(void)qh_buf_get_u16(in, &n);
		/* Our server switches formats when an update starts, never inside one. */
		if (d->pf_pending) {
			d->pf = d->pf_next;
			d->pf_pending = 0;
		}
		d->rects_left = n;
		if (n == 0)
			d->updates++;
		else
			d->state = DS_RECT;
		return 1;
	case QH_RFB_S_BELL:
		return qh_buf_consume(in, 1) == 0;
	case QH_RFB_S_CUTTEXT:
		if (qh_buf_peek_u32(&peek, 4, &len) != 0)
			return 0;
		if (len > QH_RFBDEC_UNIT_MAX - 8)
			return dec_fail(d, QH_ERR_TOO_LARGE, "ServerCutText of %u bytes",
			    len);
		return qh_buf_consume(in, 8 + (size_t)len) == 0;
	case 'R':
		/* A new handshake: the recording restarted with another format. */
		d->state = DS_VERSION;
		return 1;
	default:
		return dec_fail(d, QH_ERR_PROTOCOL, "server message type %u is not ours",
		    type);
	}
}

/* Rectangles. */

static int
check_inside(struct qh_rfbdec *d, const struct dec_rect *rc)
{
	if (rc->x + rc->w > d->w || rc->y + rc->h > d->h)
		return dec_fail(d, QH_ERR_FORMAT, "rectangle %dx%d+%d+%d outside %dx%d",
		    rc->w, rc->h, rc->x, rc->y, d->w, d->h);
	return 0;
}

/*
 * Bytes of the rectangle's data after its header, length fields included;
 * returns 1, 0 (more input needed) or <0.
 */
static int
rect_size(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *peek,
    size_t *len)
{
	size_t bpp = d->pf.bpp / 8, pixels = (size_t)rc->w * rc->h;
	int r;

	if (rc->enc == QH_RFB_ENC_RAW || rc->enc == QH_RFB_ENC_COPYRECT ||
	    rc->enc == QH_RFB_ENC_ZRLE || rc->enc == QH_RFB_ENC_TIGHT)
		if ((r = check_inside(d, rc)) != 0)
			return r;
	if (d->client_fed && !dec_announced(d, rc->enc))
		return dec_fail(d, QH_ERR_PROTOCOL,
		    "encoding %d, which the viewer did not ask for", rc->enc);
	switch (rc->enc) {
	case QH_RFB_ENC_RAW:
		*len = pixels * bpp;
		return 1;
	case QH_RFB_ENC_COPYRECT:
		*len = 4;
		return 1;
	case QH_RFB_ENC_ZRLE:
		return dec_zrle_size(peek, len);
	case QH_RFB_ENC_TIGHT:
		return dec_tight_size(d, rc, peek, len);
	case QH_RFB_ENC_CURSOR:
		if (rc->w > DEC_CURSOR_MAX || rc->h > DEC_CURSOR_MAX)
			return dec_fail(d, QH_ERR_TOO_LARGE, "cursor of %dx%d", rc->w,
			    rc->h);
		*len = pixels * bpp + ((size_t)rc->w + 7) / 8 * rc->h;
		return 1;
	case QH_RFB_ENC_POINTERPOS:
	case QH_RFB_ENC_DESKTOPSIZE:
		*len = 0;
		return 1;
	default:
		return dec_fail(d, QH_ERR_PROTOCOL, "encoding %d is not one of ours",
		    rc->enc);
	}
}

static int
dec_raw(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	int x, y;

	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++)
			if (dec_get_pixel(d, b,
				&d->fb[(size_t)(rc->y + y) * d->w + rc->x + x]) != 0)
				return dec_fail(d, QH_ERR_INTERNAL, "raw data short");
	return 0;
}

static int
dec_copy(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	uint16_t sx, sy;
	int i, y;

	(void)qh_buf_get_u16(b, &sx);
	(void)qh_buf_get_u16(b, &sy);
	if (sx + rc->w > d->w || sy + rc->h > d->h)
		return dec_fail(d, QH_ERR_FORMAT, "CopyRect source outside the screen");
	for (i = 0; i < rc->h; i++) {
		/* Rows in the order that reads each source row before it is overwritten.
		 */
		y = sy >= rc->y ? i : rc->h - 1 - i;
		memmove(d->fb + (size_t)(rc->y + y) * d->w + rc->x,
		    d->fb + (size_t)(sy + y) * d->w + sx, (size_t)rc->w * 4);
	}
	return 0;
}

static int
dec_cursor(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	size_t mrow = ((size_t)rc->w + 7) / 8, n = (size_t)rc->w * rc->h, i;
	uint8_t m;
	int x, y;

	for (i = 0; i < n; i++)
		if (dec_get_pixel(d, b, &d->cur[i]) != 0)
			return dec_fail(d, QH_ERR_INTERNAL, "cursor data short");
	for (y = 0; y < rc->h; y++)
		for (x = 0; x < (int)mrow * 8; x++) {
			if (x % 8 == 0 && qh_buf_get_u8(b, &m) != 0)
				return dec_fail(d, QH_ERR_INTERNAL, "cursor mask short");
			if (x < rc->w && (m & (0x80 >> (x % 8))))
				d->cur[(size_t)y * rc->w + x] |= 0xff000000U;
		}
	d->cur_w = rc->w;
	d->cur_h = rc->h;
	d->cur_hx = rc->x;
	d->cur_hy = rc->y;
	d->cur_have = rc->w > 0 && rc->h > 0;
	return 0;
}

static int
dec_rect(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	switch (rc->enc) {
	case QH_RFB_ENC_RAW:
		return dec_raw(d, rc, b);
	case QH_RFB_ENC_COPYRECT:
		return dec_copy(d, rc, b);
	case QH_RFB_ENC_ZRLE:
		return dec_zrle(d, rc, b);
	case QH_RFB_ENC_TIGHT:
		return dec_tight(d, rc, b);
	case QH_RFB_ENC_CURSOR:
		return dec_cursor(d, rc, b);
	case QH_RFB_ENC_POINTERPOS:
		d->ptr_x = rc->x;
		d->ptr_y = rc->y;
		d->ptr_have = 1;
		return 0;
	default:
		return fb_resize(d, rc->w, rc->h);
	}
}

static int
in_rect(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_buf peek = *in, view;
	struct dec_rect rc;
	uint16_t v[4];
	uint32_t enc;
	size_t len, hdr = 12;
	int r, i;

	if (qh_buf_len(in) < hdr)
		return 0;
	for (i = 0; i < 4; i++)
		(void)qh_buf_get_u16(&peek, &v[i]);
	(void)qh_buf_get_u32(&peek, &enc);
	rc = (struct dec_rect){ v[0], v[1], v[2], v[3], (int32_t)enc };
	if ((r = rect_size(d, &rc, &peek, &len)) <= 0)
		return r;
	if (len > QH_RFBDEC_UNIT_MAX)
		return dec_fail(d, QH_ERR_TOO_LARGE, "rectangle of %zu bytes", len);
	if (qh_buf_len(in) - hdr < len)
		return 0;
	(void)qh_buf_consume(in, hdr);
	qh_buf_init_ro(&view, qh_buf_ptr(in), len);
	(void)qh_buf_consume(in, len);
	if ((r = dec_rect(d, &rc, &view)) != 0)
		return r;
	if (--d->rects_left == 0) {
		d->updates++;
		d->state = DS_MESSAGE;
	}
	return 1;
}

int
qh_rfbdec_feed(struct qh_rfbdec *d, struct qh_buf *in)
{
	int r;

	for (;;) {
		switch (d->state) {
		case DS_VERSION:
			r = in_version(d, in);
			break;
		case DS_SECURITY:
			r = in_security(d, in);
			break;
		case DS_RESULT:
			r = in_result(d, in);
			break;
		case DS_SERVERINIT:
			r = in_serverinit(d, in);
			break;
		case DS_MESSAGE:
			r = in_message(d, in);
			break;
		case DS_RECT:
			r = in_rect(d, in);
			break;
		default:
			return QH_ERR_PROTOCOL;
		}
		if (r <= 0)
			return r;
	}
}

int
qh_rfbdec_paint_cursor(const struct qh_rfbdec *d, uint32_t *px, int w, int h)
{
	int x, y, X, Y;

	if (!d->cur_have || !d->ptr_have)
		return 0;
	for (y = 0; y < d->cur_h; y++)
		for (x = 0; x < d->cur_w; x++) {
			X = d->ptr_x - d->cur_hx + x;
			Y = d->ptr_y - d->cur_hy + y;
			if (X >= 0 && Y >= 0 && X < w && Y < h &&
			    (d->cur[(size_t)y * d->cur_w + x] >> 24) != 0)
				px[(size_t)Y * w + X] =
				    d->cur[(size_t)y * d->cur_w + x] & 0xffffff;
		}
	return 1;
}
