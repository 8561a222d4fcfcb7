/*
 * Rectangle encoders of the RFB server: Raw, CopyRect, the Cursor,
 * PointerPos and DesktopSize pseudo-rectangles, and Tight (fill for one
 * colour, JPEG through libjpeg for rectangles with many colours when the
 * client gave a quality level, else basic compression on zlib stream 0 with
 * the copy filter). ZRLE is in rfb_zrle.c. Pixels come from r->sent, which
 * holds exactly what the plan decided the client will have.
 *
 * libjpeg reports errors by calling error_exit, which must not return:
 * ours jumps back to the encoder, which then gives up on that rectangle's
 * JPEG form and sends it with basic compression instead.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "qh/err.h"
#include "rfb_int.h"

/* JPEG quality for each Tight quality level, as TigerVNC maps them. */
static const int jpeg_quality[10] = { 15, 29, 41, 42, 62, 77, 79, 86, 92, 100 };

struct rfb_jpeg {
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	jmp_buf jb;
	unsigned char *buf; /* output, reused; libjpeg may replace it */
	unsigned long cap;  /* bytes known to be allocated at buf */
	unsigned long size; /* bytes of the last JPEG */
	/* What jpeg_mem_dest writes to (not locals: they live across setjmp). */
	unsigned char *out;
	unsigned long outsize;
};

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
	struct rfb_jpeg *j = r->jpeg;

	if (r->zrle_on)
		deflateEnd(&r->zrle);
	if (r->tight_on)
		deflateEnd(&r->tight);
	r->zrle_on = r->tight_on = 0;
	if (j != NULL) {
		jpeg_destroy_compress(&j->c);
		free(j->buf);
		free(j);
		r->jpeg = NULL;
	}
	qh_buf_release(&r->raw);
	qh_buf_release(&r->zbuf);
}

static const uint32_t *
sent_at(const struct rfb *r, int x, int y)
{
	return r->sent + (size_t)y * r->w + x;
}

/* Converts the rectangle's rows into b, in pf's form (or Tight's RGB). */
static int
put_pixels(struct rfb *r, struct qh_buf *b, const struct rfb_rect *rc, int tpixel)
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
	return put_pixels(r, &r->pend, rc, 0);
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

/* 1 if the rectangle has one colour, put in *c. */
static int
solid(const struct rfb *r, const struct rfb_rect *rc, uint32_t *c)
{
	const uint32_t *p;
	int x, y;

	*c = *sent_at(r, rc->x, rc->y);
	for (y = 0; y < rc->h; y++) {
		p = sent_at(r, rc->x, rc->y + y);
		for (x = 0; x < rc->w; x++)
			if (p[x] != *c)
				return 0;
	}
	return 1;
}

/* 1 if the rectangle has more than limit colours (counted up to limit + 1). */
static int
many_colours(const struct rfb *r, const struct rfb_rect *rc, int limit)
{
	uint32_t seen[256], p, last = 0;
	size_t k;
	int x, y, n = 0, have_last = 0;

	memset(seen, 0xff, sizeof(seen)); /* 0xffffffff: empty, never an XRGB value */
	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++) {
			p = sent_at(r, rc->x, rc->y + y)[x] & 0xffffff;
			if (have_last && p == last)
				continue;
			last = p;
			have_last = 1;
			for (k = (p * 2654435761U) >> 24;
			     seen[k] != 0xffffffffU && seen[k] != p; k = (k + 1) & 255)
				;
			if (seen[k] == p)
				continue;
			seen[k] = p;
			if (++n > limit)
				return 1;
		}
	return 0;
}

static int
tight_fill(struct rfb *r, const struct rfb_rect *rc, uint32_t c)
{
	uint8_t d[4];
	int e;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0)
		return e;
	if (qh_buf_put_u8(&r->pend, QH_TIGHT_FILL) != 0)
		return QH_ERR_TOO_LARGE;
	r->stats.tight_fill++;
	if (qh_rfb_tpixel_rgb(&r->pf)) {
		qh_rfb_convert_row(&r->conv, d, &c, 1, 1);
		return qh_buf_put(&r->pend, d, 3);
	}
	qh_rfb_put_pixel(d, &r->pf, qh_rfb_pack(&r->conv, c));
	return qh_buf_put(&r->pend, d, r->pf.bpp / 8);
}

/* Basic compression, copy filter, zlib stream 0. */
static int
tight_basic(struct rfb *r, const struct rfb_rect *rc)
{
	int e, tp = qh_rfb_tpixel_rgb(&r->pf);

	qh_buf_reset(&r->raw);
	qh_buf_reset(&r->zbuf);
	if ((e = put_pixels(r, &r->raw, rc, tp)) != 0)
		return e;
	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, 0)) != 0)
		return e;
	r->stats.tight_basic++;
	if (qh_buf_len(&r->raw) < QH_TIGHT_MIN_ZLIB)
		return qh_buf_put(&r->pend, qh_buf_ptr(&r->raw), qh_buf_len(&r->raw));
	if (!r->tight_on) {
		if ((e = rfb_deflate_init(&r->tight, r->level)) != 0)
			return e;
		r->tight_on = 1;
	}
	if ((e = rfb_deflate(&r->tight, &r->zbuf, qh_buf_ptr(&r->raw),
		 qh_buf_len(&r->raw))) != 0 ||
	    (e = qh_tight_put_compact(&r->pend, qh_buf_len(&r->zbuf))) != 0)
		return e;
	return qh_buf_put(&r->pend, qh_buf_ptr(&r->zbuf), qh_buf_len(&r->zbuf));
}

static void
jpeg_error_exit(j_common_ptr c)
{
	struct rfb_jpeg *j = (struct rfb_jpeg *)c->client_data;

	longjmp(j->jb, 1);
}

static struct rfb_jpeg *
jpeg_get(struct rfb *r)
{
	struct rfb_jpeg *j = r->jpeg;

	if (j != NULL)
		return j;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->c.err = jpeg_std_error(&j->err);
	j->err.error_exit = jpeg_error_exit;
	j->c.client_data = j;
	if (setjmp(j->jb) != 0) {
		free(j);
		return NULL;
	}
	jpeg_create_compress(&j->c);
	return r->jpeg = j;
}

/* Compresses the rectangle into j->buf / j->size; 0 or QH_ERR_INTERNAL. */
static int
jpeg_compress(struct rfb *r, struct rfb_jpeg *j, const struct rfb_rect *rc)
{
	JSAMPROW rows[RFB_TILE];
	int y, q = jpeg_quality[r->quality];

	if (setjmp(j->jb) != 0) {
		jpeg_abort_compress(&j->c);
		return QH_ERR_INTERNAL;
	}
	/* Our buffer when it is large enough; libjpeg allocates a larger one if not. */
	j->out = j->buf;
	j->outsize = j->cap;
	jpeg_mem_dest(&j->c, &j->out, &j->outsize);
	j->c.image_width = (JDIMENSION)rc->w;
	j->c.image_height = (JDIMENSION)rc->h;
	j->c.input_components = 4;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	j->c.in_color_space = JCS_EXT_BGRX;
#else
	j->c.in_color_space = JCS_EXT_XRGB;
#endif
	jpeg_set_defaults(&j->c);
	jpeg_set_quality(&j->c, q, TRUE);
	if (r->quality >= 8) /* 4:4:4 for the best levels, 4:2:0 below */
		j->c.comp_info[0].h_samp_factor = j->c.comp_info[0].v_samp_factor = 1;
	j->c.dct_method = JDCT_ISLOW;
	jpeg_start_compress(&j->c, TRUE);
	for (y = 0; y < rc->h; y++)
		rows[y] = (JSAMPROW)(uintptr_t)sent_at(r, rc->x, rc->y + y);
	jpeg_write_scanlines(&j->c, rows, (JDIMENSION)rc->h);
	jpeg_finish_compress(&j->c);
	if (j->out != j->buf) {
		free(j->buf);
		j->buf = j->out;
		j->cap = j->outsize; /* at least; libjpeg does not say how much */
	}
	j->size = j->outsize;
	return 0;
}

static int
tight_jpeg(struct rfb *r, const struct rfb_rect *rc)
{
	struct rfb_jpeg *j;
	int e;

	if (rc->h > RFB_TILE || (j = jpeg_get(r)) == NULL ||
	    jpeg_compress(r, j, rc) != 0 || j->size > QH_TIGHT_COMPACT_MAX)
		return tight_basic(r, rc);
	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, QH_TIGHT_JPEG)) != 0 ||
	    (e = qh_tight_put_compact(&r->pend, j->size)) != 0)
		return e;
	r->stats.tight_jpeg++;
	return qh_buf_put(&r->pend, j->buf, j->size);
}

static int
enc_tight(struct rfb *r, const struct rfb_rect *rc)
{
	uint32_t c;

	if (solid(r, rc, &c))
		return tight_fill(r, rc, c);
	if (r->quality >= 0 && r->pf.bpp >= 16 && many_colours(r, rc, RFB_JPEG_COLOURS))
		return tight_jpeg(r, rc);
	return tight_basic(r, rc);
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
		return enc_tight(r, rc);
	default:
		return enc_raw(r, rc);
	}
}
