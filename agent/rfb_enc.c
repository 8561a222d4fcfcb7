/*
 * Rectangle encoders of the RFB server: Raw, CopyRect, the Cursor,
 * PointerPos and DesktopSize pseudo-rectangles, the choice among the
 * pixel encodings, and the zlib helpers ZRLE (rfb_zrle.c) and Tight
 * (rfb_tight.c) share. Pixels come from r->sent, which holds exactly what
 * the plan decided the client will have.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "rfb_int.h"

int
rfb_put_rect_header(struct qh_buf *b, int x, int y, int w, int h, int32_t enc)
{
	int e = 0;

	e |= qh_buf_put_u16(b, (uint16_t)x);
	e |= qh_buf_put_u16(b, (uint16_t)y);
	e |= qh_buf_put_u16(b, (uint16_t)w);
	e |= qh_buf_put_u16(b, (uint16_t)h);
	e |= qh_buf_put_u32(b, (uint32_t)enc);
	return e != 0 ? QH_ERR_TOO_LARGE : 0;
}

int
rfb_deflate_init(z_stream *zs, int level)
{
	memset(zs, 0, sizeof(*zs));
	level = level < 1 ? 1 : level > 9 ? 9 : level;
	return deflateInit2(zs, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK
	    ? 0
	    : QH_ERR_NOMEM;
}

int
rfb_deflate(z_stream *zs, struct qh_buf *b, const uint8_t *p, size_t len)
{
	uint8_t *d;
	size_t chunk = len + len / 8 + 64;
	int zr;

	zs->next_in = (Bytef *)(uintptr_t)p;
	zs->avail_in = (uInt)len;
	do {
		if (chunk > qh_buf_room(b))
			chunk = qh_buf_room(b);
		if (chunk == 0 || qh_buf_reserve(b, chunk, &d) != 0)
			return QH_ERR_TOO_LARGE;
		zs->next_out = d;
		zs->avail_out = (uInt)chunk;
		zr = deflate(zs, Z_SYNC_FLUSH);
		qh_buf_unreserve(b, zs->avail_out);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return QH_ERR_INTERNAL;
		chunk = 64 * 1024;
	} while (zs->avail_out == 0 || zs->avail_in > 0);
	return 0;
}

void
rfb_enc_free(struct rfb *r)
{
	if (r->zrle_on)
		deflateEnd(&r->zrle);
	r->zrle_on = 0;
	rfb_tight_free(r);
	qh_buf_release(&r->raw);
	qh_buf_release(&r->zbuf);
}

static const uint32_t *
sent_at(const struct rfb *r, int x, int y)
{
	return r->sent + (size_t)y * r->w + x;
}

int
rfb_put_pixels(struct rfb *r, struct qh_buf *b, const struct rfb_rect *rc, int tpixel)
{
	size_t row = (size_t)rc->w * (tpixel ? 3 : r->pf.bpp / 8);
	uint8_t *d;
	int y, e;

	for (y = 0; y < rc->h; y++) {
		if ((e = qh_buf_reserve(b, row, &d)) != 0)
			return e;
		qh_rfb_convert_row(&r->conv, d, sent_at(r, rc->x, rc->y + y),
		    (size_t)rc->w, tpixel);
	}
	return 0;
}

static int
enc_raw(struct rfb *r, const struct rfb_rect *rc)
{
	int e;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_RAW)) != 0)
		return e;
	r->stats.raw++;
	return rfb_put_pixels(r, &r->pend, rc, 0);
}

static int
enc_copy(struct rfb *r, const struct rfb_rect *rc)
{
	int e;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_COPYRECT)) != 0)
		return e;
	if (qh_buf_put_u16(&r->pend, (uint16_t)rc->sx) != 0 ||
	    qh_buf_put_u16(&r->pend, (uint16_t)rc->sy) != 0)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* The cursor: pixels in the client's format, then a bitmask of opaque pixels. */
static int
enc_cursor(struct rfb *r, const struct rfb_rect *rc)
{
	size_t bpp = r->pf.bpp / 8, mrow = ((size_t)rc->w + 7) / 8;
	uint8_t *d, *m;
	uint32_t p;
	int x, y, e;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_CURSOR)) != 0)
		return e;
	if (rc->w == 0 || rc->h == 0)
		return 0;
	if ((e = qh_buf_reserve(&r->pend, (size_t)rc->w * rc->h * bpp, &d)) != 0)
		return e;
	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++) {
			p = r->cur[(size_t)y * rc->w + x];
			qh_rfb_put_pixel(d, &r->pf, qh_rfb_pack(&r->conv, p & 0xffffff));
			d += bpp;
		}
	if ((e = qh_buf_reserve(&r->pend, mrow * rc->h, &m)) != 0)
		return e;
	memset(m, 0, mrow * rc->h);
	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++)
			if ((r->cur[(size_t)y * rc->w + x] >> 24) >= 0x80)
				m[(size_t)y * mrow + x / 8] |= (uint8_t)(0x80 >> (x % 8));
	return 0;
}

int
rfb_enc_rect(struct rfb *r, const struct rfb_rect *rc)
{
	switch (rc->kind) {
	case RK_COPY:
		return enc_copy(r, rc);
	case RK_CURSOR:
		return enc_cursor(r, rc);
	case RK_POINTER:
		return rfb_put_rect_header(&r->pend, rc->x, rc->y, 0, 0,
		    QH_RFB_ENC_POINTERPOS);
	case RK_DESKTOPSIZE:
		return rfb_put_rect_header(&r->pend, 0, 0, rc->w, rc->h,
		    QH_RFB_ENC_DESKTOPSIZE);
	default:
		break;
	}
	switch (r->enc) {
	case QH_RFB_ENC_ZRLE:
		return rfb_zrle_rect(r, rc);
	case QH_RFB_ENC_TIGHT:
		return rfb_tight_rect(r, rc);
	default:
		return enc_raw(r, rc);
	}
}
