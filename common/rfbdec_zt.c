/*
 * ZRLE and Tight rectangles for the RFB stream decoder. Compressed data is
 * inflated into one bounded buffer (never more than the rectangle can
 * legitimately need) and parsed from there through the bounded reader;
 * JPEG goes through libjpeg with an error handler that jumps back here
 * instead of exiting. Tight's gradient filter and its PNG form are not
 * ours and are refused.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "rfbdec_int.h"

#define ZRLE_PALETTE_MAX     127
#define TIGHT_PALETTE_MAX    256
#define TIGHT_FILTER_PALETTE 1

struct dec_jpeg {
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr err;
	jmp_buf jb;
};

void
dec_zt_free(struct qh_rfbdec *d)
{
	struct dec_jpeg *j = d->jpeg;
	int i;

	if (d->zrle_on)
		inflateEnd(&d->zrle);
	for (i = 0; i < 4; i++)
		if (d->tight_on[i])
			inflateEnd(&d->tight[i]);
	if (j != NULL) {
		jpeg_destroy_decompress(&j->c);
		free(j);
	}
}

/* A view of the next n bytes of b, consumed from b. */
static int
take(struct qh_buf *b, size_t n, struct qh_buf *view)
{
	if (qh_buf_len(b) < n)
		return QH_ERR_INCOMPLETE;
	qh_buf_init_ro(view, qh_buf_ptr(b), n);
	return qh_buf_consume(b, n);
}

/*
 * Inflates all of src through zs into d->zout, which may grow to limit
 * bytes and no further. Returns 0 or fails the decoder.
 */
static int
inflate_all(struct qh_rfbdec *d, z_stream *zs, struct qh_buf *src, size_t limit)
{
	uint8_t *o, extra;
	size_t chunk;
	int zr;

	qh_buf_reset(&d->zout);
	zs->next_in = (Bytef *)(uintptr_t)qh_buf_ptr(src);
	zs->avail_in = (uInt)qh_buf_len(src);
	for (;;) {
		chunk = limit - qh_buf_len(&d->zout);
		chunk = chunk > 65536 ? 65536 : chunk;
		if (chunk == 0) {
			/* Full: any further output means the data is too long. */
			zs->next_out = &extra;
			zs->avail_out = 1;
			(void)inflate(zs, Z_SYNC_FLUSH);
			if (zs->avail_out == 0 || zs->avail_in > 0)
				return dec_fail(d, QH_ERR_TOO_LARGE,
				    "compressed data inflates past %zu bytes", limit);
			break;
		}
		if (qh_buf_reserve(&d->zout, chunk, &o) != 0)
			return dec_fail(d, QH_ERR_NOMEM, "no room to inflate");
		zs->next_out = o;
		zs->avail_out = (uInt)chunk;
		zr = inflate(zs, Z_SYNC_FLUSH);
		qh_buf_unreserve(&d->zout, zs->avail_out);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return dec_fail(d, QH_ERR_FORMAT, "zlib: %s",
			    zs->msg != NULL ? zs->msg : "stream error");
		if (zs->avail_in == 0 && zs->avail_out > 0)
			break;
	}
	(void)qh_buf_consume(src, qh_buf_len(src));
	return 0;
}

/* CPIXEL size and the offset of its bytes in the full pixel. */
static size_t
cpixel(const struct qh_rfbdec *d, int *off)
{
	int upper;
	size_t n = qh_rfb_cpixel_size(&d->pf, &upper);

	*off = n == 3 && upper != (d->pf.big_endian != 0) ? 1 : 0;
	return n;
}

static int
get_cpixel(const struct qh_rfbdec *d, struct qh_buf *b, size_t n, int off, uint32_t *v)
{
	uint8_t p[4] = { 0, 0, 0, 0 };

	if (qh_buf_get(b, p + (n == 3 ? off : 0), n) != 0)
		return QH_ERR_INCOMPLETE;
	*v = qh_rfb_unpack(&d->pf, qh_rfb_get_pixel(p, &d->pf));
	return 0;
}

int
dec_zrle_size(struct qh_buf *b, size_t *len)
{
	uint32_t n;

	if (qh_buf_get_u32(b, &n) != 0)
		return 0;
	*len = 4 + (size_t)n;
	return 1;
}

/* A run length: bytes of 255 and a last one below, plus one. */
static int
get_run(struct qh_buf *b, size_t left, size_t *run)
{
	uint8_t v;

	*run = 1;
	do {
		if (qh_buf_get_u8(b, &v) != 0)
			return QH_ERR_INCOMPLETE;
		*run += v;
		if (*run > left)
			return QH_ERR_FORMAT;
	} while (v == 255);
	return 0;
}

/* One ZRLE tile into px (n pixels, row-major with width tw). */
static int
zrle_tile(struct qh_rfbdec *d, struct qh_buf *b, uint32_t *px, int tw, int th)
{
	uint32_t pal[ZRLE_PALETTE_MAX];
	size_t n = (size_t)tw * th, i = 0, run, cp;
	uint8_t sub, v = 0;
	int off, bits, npal = 0, x, y, k;

	cp = cpixel(d, &off);
	if (qh_buf_get_u8(b, &sub) != 0)
		return QH_ERR_INCOMPLETE;
	if (sub == 0) {
		for (i = 0; i < n; i++)
			if (get_cpixel(d, b, cp, off, &px[i]) != 0)
				return QH_ERR_INCOMPLETE;
		return 0;
	}
	if ((sub > 16 && sub < 128) || sub == 129)
		return QH_ERR_FORMAT;
	npal = sub == 128 ? 0 : sub > 128 ? sub - 128 : sub;
	for (k = 0; k < npal; k++)
		if (get_cpixel(d, b, cp, off, &pal[k]) != 0)
			return QH_ERR_INCOMPLETE;
	if (sub == 1) {
		for (i = 0; i < n; i++)
			px[i] = pal[0];
		return 0;
	}
	if (sub <= 16) {
		bits = npal == 2 ? 1 : npal <= 4 ? 2 : 4;
		for (y = 0; y < th; y++)
			for (x = 0; x < tw; x++) {
				if ((x * bits) % 8 == 0 && qh_buf_get_u8(b, &v) != 0)
					return QH_ERR_INCOMPLETE;
				k = (v >> (8 - bits - (x * bits) % 8)) &
				    ((1 << bits) - 1);
				if (k >= npal)
					return QH_ERR_FORMAT;
				px[(size_t)y * tw + x] = pal[k];
			}
		return 0;
	}
	while (i < n) {
		if (sub == 128) {
			if (get_cpixel(d, b, cp, off, &pal[0]) != 0 ||
			    get_run(b, n - i, &run) != 0)
				return QH_ERR_FORMAT;
			k = 0;
		} else {
			if (qh_buf_get_u8(b, &v) != 0)
				return QH_ERR_INCOMPLETE;
			k = v & 127;
			run = 1;
			if (k >= npal || ((v & 128) && get_run(b, n - i, &run) != 0))
				return QH_ERR_FORMAT;
		}
		while (run-- > 0)
			px[i++] = pal[k];
	}
	return 0;
}

int
dec_zrle(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	uint32_t px[QH_ZRLE_TILE * QH_ZRLE_TILE];
	size_t tiles, limit, cp;
	uint32_t len;
	int x, y, tw, th, j, off, r;

	(void)qh_buf_get_u32(b, &len);
	if (!d->zrle_on) {
		memset(&d->zrle, 0, sizeof(d->zrle));
		if (inflateInit(&d->zrle) != Z_OK)
			return dec_fail(d, QH_ERR_NOMEM, "zlib init");
		d->zrle_on = 1;
	}
	cp = cpixel(d, &off);
	tiles = (size_t)((rc->w + 63) / 64) * ((rc->h + 63) / 64);
	limit = (size_t)rc->w * rc->h * (cp + 1) + tiles * (1 + ZRLE_PALETTE_MAX * cp);
	limit = limit > QH_RFBDEC_UNIT_MAX ? QH_RFBDEC_UNIT_MAX : limit;
	if ((r = inflate_all(d, &d->zrle, b, limit)) != 0)
		return r;
	for (y = 0; y < rc->h; y += QH_ZRLE_TILE)
		for (x = 0; x < rc->w; x += QH_ZRLE_TILE) {
			tw = rc->w - x < QH_ZRLE_TILE ? rc->w - x : QH_ZRLE_TILE;
			th = rc->h - y < QH_ZRLE_TILE ? rc->h - y : QH_ZRLE_TILE;
			if ((r = zrle_tile(d, &d->zout, px, tw, th)) != 0)
				return dec_fail(d, QH_ERR_FORMAT,
				    "ZRLE tile at %d,%d: %s", rc->x + x, rc->y + y,
				    qh_strerror(r));
			for (j = 0; j < th; j++)
				memcpy(d->fb + (size_t)(rc->y + y + j) * d->w + rc->x + x,
				    px + (size_t)j * tw, (size_t)tw * 4);
		}
	return 0;
}

/* Bytes of a Tight pixel: 3 (R, G, B) or the format's own. */
static size_t
tpixel(const struct qh_rfbdec *d)
{
	return qh_rfb_tpixel_rgb(&d->pf) ? 3 : d->pf.bpp / 8;
}

static int
get_tpixel(struct qh_rfbdec *d, struct qh_buf *b, uint32_t *v)
{
	uint8_t p[3];

	if (!qh_rfb_tpixel_rgb(&d->pf))
		return dec_get_pixel(d, b, v);
	if (qh_buf_get(b, p, 3) != 0)
		return QH_ERR_INCOMPLETE;
	*v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	return 0;
}

/*
 * The filter of a basic Tight rectangle and the bytes of its data before
 * compression: the copy filter's pixels, or the palette filter's bitmap or
 * indices (the palette itself is read into pal, npal colours, when pal is
 * not NULL). Returns 0, QH_ERR_INCOMPLETE or fails the decoder.
 */
static int
tight_filter(struct qh_rfbdec *d, const struct dec_rect *rc, uint8_t c, struct qh_buf *b,
    uint32_t *pal, int *npal, size_t *raw)
{
	uint8_t f = 0, n;
	int i;

	*npal = 0;
	if ((c & QH_TIGHT_EXPLICIT) && qh_buf_get_u8(b, &f) != 0)
		return QH_ERR_INCOMPLETE;
	if (f == 0) {
		*raw = (size_t)rc->w * rc->h * tpixel(d);
		return 0;
	}
	if (f != TIGHT_FILTER_PALETTE)
		return dec_fail(d, QH_ERR_PROTOCOL, "Tight filter %u is not ours", f);
	if (qh_buf_get_u8(b, &n) != 0)
		return QH_ERR_INCOMPLETE;
	*npal = n + 1;
	if (*npal < 2)
		return dec_fail(d, QH_ERR_FORMAT, "Tight palette of one colour");
	for (i = 0; i < *npal; i++) {
		if (pal == NULL) {
			if (qh_buf_consume(b, tpixel(d)) != 0)
				return QH_ERR_INCOMPLETE;
		} else if (get_tpixel(d, b, &pal[i]) != 0)
			return QH_ERR_INCOMPLETE;
	}
	*raw = *npal == 2 ? ((size_t)rc->w + 7) / 8 * rc->h : (size_t)rc->w * rc->h;
	return 0;
}

int
dec_tight_size(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b,
    size_t *len)
{
	size_t before = qh_buf_len(b), n, raw;
	uint8_t c;
	int npal, r;

	if (qh_buf_get_u8(b, &c) != 0)
		return 0;
	if ((c & 0xf0) == QH_TIGHT_FILL) {
		*len = 1 + tpixel(d);
		return 1;
	}
	if ((c & 0xf0) > QH_TIGHT_JPEG)
		return dec_fail(d, QH_ERR_PROTOCOL,
		    "Tight compression 0x%02x is not ours", c);
	if ((c & 0xf0) != QH_TIGHT_JPEG) {
		if ((r = tight_filter(d, rc, c, b, NULL, &npal, &raw)) != 0)
			return r == QH_ERR_INCOMPLETE ? 0 : r;
		if (raw < QH_TIGHT_MIN_ZLIB) {
			*len = before - qh_buf_len(b) + raw;
			return 1;
		}
	}
	if (qh_tight_get_compact(b, &n) != 0)
		return 0;
	*len = before - qh_buf_len(b) + n;
	return 1;
}

static void
fill(struct qh_rfbdec *d, const struct dec_rect *rc, uint32_t v)
{
	int x, y;

	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++)
			d->fb[(size_t)(rc->y + y) * d->w + rc->x + x] = v;
}

static void
jpeg_error_exit(j_common_ptr c)
{
	longjmp(((struct dec_jpeg *)c->client_data)->jb, 1);
}

static void
jpeg_quiet(j_common_ptr c QH_UNUSED)
{
}

/* The decoder's JPEG decompressor, made on first use; NULL without memory. */
static struct dec_jpeg *
jpeg_get(struct qh_rfbdec *d)
{
	struct dec_jpeg *j = d->jpeg;

	if (j != NULL)
		return j;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->c.err = jpeg_std_error(&j->err);
	j->err.error_exit = jpeg_error_exit;
	j->err.output_message = jpeg_quiet;
	j->c.client_data = j;
	if (setjmp(j->jb) != 0) {
		free(j);
		return NULL;
	}
	jpeg_create_decompress(&j->c);
	return d->jpeg = j;
}

static int
tight_jpeg(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *data)
{
	struct dec_jpeg *const j = jpeg_get(d);
	JSAMPROW row;
	int y, x;

	if (j == NULL)
		return dec_fail(d, QH_ERR_NOMEM, "no memory for JPEG");
	if (setjmp(j->jb) != 0) {
		jpeg_abort_decompress(&j->c);
		return dec_fail(d, QH_ERR_FORMAT, "JPEG data is corrupt");
	}
	jpeg_mem_src(&j->c, qh_buf_ptr(data), qh_buf_len(data));
	jpeg_read_header(&j->c, TRUE);
	if (j->c.image_width != (JDIMENSION)rc->w ||
	    j->c.image_height != (JDIMENSION)rc->h) {
		jpeg_abort_decompress(&j->c);
		return dec_fail(d, QH_ERR_FORMAT, "JPEG of %ux%u in a %dx%d rectangle",
		    j->c.image_width, j->c.image_height, rc->w, rc->h);
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	j->c.out_color_space = JCS_EXT_BGRX;
#else
	j->c.out_color_space = JCS_EXT_XRGB;
#endif
	jpeg_start_decompress(&j->c);
	for (y = 0; y < rc->h; y++) {
		row = (JSAMPROW)(d->fb + (size_t)(rc->y + y) * d->w + rc->x);
		if (jpeg_read_scanlines(&j->c, &row, 1) != 1)
			longjmp(j->jb, 1);
		for (x = 0; x < rc->w; x++)
			d->fb[(size_t)(rc->y + y) * d->w + rc->x + x] &= 0xffffff;
	}
	jpeg_finish_decompress(&j->c);
	return 0;
}

/* Writes a palette rectangle's bitmap or indices into the framebuffer. */
static int
put_indexed(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *src,
    const uint32_t *pal, int npal)
{
	uint8_t v = 0;
	int x, y, k;

	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++) {
			if ((npal > 2 || x % 8 == 0) && qh_buf_get_u8(src, &v) != 0)
				return dec_fail(d, QH_ERR_FORMAT,
				    "Tight palette data short");
			k = npal == 2 ? (v >> (7 - x % 8)) & 1 : v;
			if (k >= npal)
				return dec_fail(d, QH_ERR_FORMAT,
				    "Tight palette index %d of %d", k, npal);
			d->fb[(size_t)(rc->y + y) * d->w + rc->x + x] = pal[k];
		}
	return 0;
}

/* Basic compression: the copy or palette filter's data, raw or inflated. */
static int
tight_basic(struct qh_rfbdec *d, const struct dec_rect *rc, uint8_t c, struct qh_buf *b)
{
	uint32_t pal[TIGHT_PALETTE_MAX];
	struct qh_buf data, *src = b;
	size_t raw, n;
	int s = (c >> 4) & 3, x, y, r, npal;

	if ((r = tight_filter(d, rc, c, b, pal, &npal, &raw)) != 0)
		return r == QH_ERR_INCOMPLETE
		    ? dec_fail(d, QH_ERR_INTERNAL, "Tight short")
		    : r;
	if (raw >= QH_TIGHT_MIN_ZLIB) {
		(void)qh_tight_get_compact(b, &n);
		if (!d->tight_on[s]) {
			memset(&d->tight[s], 0, sizeof(d->tight[s]));
			if (inflateInit(&d->tight[s]) != Z_OK)
				return dec_fail(d, QH_ERR_NOMEM, "zlib init");
			d->tight_on[s] = 1;
		}
		if (take(b, n, &data) != 0)
			return dec_fail(d, QH_ERR_INTERNAL, "Tight data short");
		if ((r = inflate_all(d, &d->tight[s], &data, raw)) != 0)
			return r;
		src = &d->zout;
	}
	if (npal > 0)
		return put_indexed(d, rc, src, pal, npal);
	for (y = 0; y < rc->h; y++)
		for (x = 0; x < rc->w; x++)
			if (get_tpixel(d, src,
				&d->fb[(size_t)(rc->y + y) * d->w + rc->x + x]) != 0)
				return dec_fail(d, QH_ERR_FORMAT,
				    "Tight data shorter than %zu", raw);
	return 0;
}

int
dec_tight(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b)
{
	struct qh_buf data;
	uint32_t v;
	uint8_t c;
	size_t n;
	int i;

	(void)qh_buf_get_u8(b, &c);
	for (i = 0; i < 4; i++)
		if ((c & (1 << i)) && d->tight_on[i])
			inflateReset(&d->tight[i]);
	if ((c & 0xf0) == QH_TIGHT_FILL) {
		if (get_tpixel(d, b, &v) != 0)
			return dec_fail(d, QH_ERR_INTERNAL, "Tight fill short");
		fill(d, rc, v);
		return 0;
	}
	if ((c & 0xf0) == QH_TIGHT_JPEG) {
		(void)qh_tight_get_compact(b, &n);
		if (take(b, n, &data) != 0)
			return dec_fail(d, QH_ERR_INTERNAL, "JPEG data short");
		return tight_jpeg(d, rc, &data);
	}
	return tight_basic(d, rc, c, b);
}
