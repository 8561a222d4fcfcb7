/*
 * ZRLE (RFC 6143, 7.7.6): the rectangle is cut into 64x64 tiles, each
 * tile is written in the smallest of its forms (one colour, raw, packed
 * palette, plain RLE, palette RLE) and the whole rectangle goes through
 * the connection's one zlib stream, flushed at its end so the client can
 * decode it at once. Pixels are CPIXELs: three bytes for 32-bpp formats
 * whose colour fits in three.
 */
#include <string.h>

#include "qh/err.h"
#include "rfb_int.h"

#define ZRLE_TILE_PIXELS (QH_ZRLE_TILE * QH_ZRLE_TILE)
#define ZRLE_PALETTE_MAX 127

/* One tile's pixel values in the client's format and what they cost. */
struct ztile {
	uint32_t v[ZRLE_TILE_PIXELS];
	int w, h, n;
	uint32_t pal[ZRLE_PALETTE_MAX];
	int npal; /* ZRLE_PALETTE_MAX + 1: too many colours for a palette */
	size_t runs, run_bytes, pal_run_bytes;
	size_t cpix;
	int off;		      /* offset of the CPIXEL's bytes in the full pixel */
	uint8_t slot[256], used[256]; /* palette index + 1 by hash */
};

static void
put_cpixel(struct qh_buf *b, const struct rfb *r, const struct ztile *t, uint32_t v)
{
	uint8_t d[4];

	qh_rfb_put_pixel(d, &r->pf, v);
	(void)qh_buf_put(b, d + t->off, t->cpix);
}

/* The palette index of v, adding it when there is room; -1 when full. */
static int
pal_index(struct ztile *t, uint32_t v)
{
	size_t k = (v * 2654435761U) >> 24;

	for (; t->used[k]; k = (k + 1) & 255)
		if (t->pal[t->slot[k]] == v)
			return t->slot[k];
	if (t->npal >= ZRLE_PALETTE_MAX)
		return -1;
	t->used[k] = 1;
	t->slot[k] = (uint8_t)t->npal;
	t->pal[t->npal] = v;
	return t->npal++;
}

/* Bytes a run of len takes in its length field: (len - 1) as 255s and a rest. */
static size_t
run_len_bytes(size_t len)
{
	return (len - 1) / 255 + 1;
}

/* Loads the tile at x, y and counts its colours and runs. */
static void
tile_load(const struct rfb *r, struct ztile *t, int x, int y, int w, int h)
{
	const uint32_t *row;
	size_t run = 0;
	int i, j, full = 0;

	t->w = w;
	t->h = h;
	t->n = w * h;
	t->npal = 0;
	t->runs = t->run_bytes = t->pal_run_bytes = 0;
	memset(t->used, 0, sizeof(t->used));
	for (j = 0; j < h; j++) {
		row = r->sent + (size_t)(y + j) * r->w + x;
		for (i = 0; i < w; i++)
			t->v[j * w + i] = qh_rfb_pack(&r->conv, row[i]);
	}
	for (i = 0; i < t->n; i++) {
		if (!full && pal_index(t, t->v[i]) < 0)
			full = 1;
		run++;
		if (i + 1 == t->n || t->v[i + 1] != t->v[i]) {
			t->runs++;
			t->run_bytes += run_len_bytes(run);
			t->pal_run_bytes += run == 1 ? 1 : 1 + run_len_bytes(run);
			run = 0;
		}
	}
	if (full)
		t->npal = ZRLE_PALETTE_MAX + 1;
}

static void
put_run_length(struct qh_buf *b, size_t len)
{
	len--;
	while (len >= 255) {
		(void)qh_buf_put_u8(b, 255);
		len -= 255;
	}
	(void)qh_buf_put_u8(b, (uint8_t)len);
}

static void
put_packed(struct qh_buf *b, const struct rfb *r, struct ztile *t)
{
	int bits = t->npal == 2 ? 1 : t->npal <= 4 ? 2 : 4, i, j, n;
	uint8_t byte;

	(void)qh_buf_put_u8(b, (uint8_t)t->npal);
	for (i = 0; i < t->npal; i++)
		put_cpixel(b, r, t, t->pal[i]);
	for (j = 0; j < t->h; j++) {
		byte = 0;
		n = 0;
		for (i = 0; i < t->w; i++) {
			byte = (uint8_t)(byte << bits | pal_index(t, t->v[j * t->w + i]));
			if ((n += bits) == 8) {
				(void)qh_buf_put_u8(b, byte);
				byte = 0;
				n = 0;
			}
		}
		if (n > 0)
			(void)qh_buf_put_u8(b, (uint8_t)(byte << (8 - n)));
	}
}

static void
put_rle(struct qh_buf *b, const struct rfb *r, struct ztile *t, int palette)
{
	size_t run = 0;
	int i;

	(void)qh_buf_put_u8(b, (uint8_t)(palette ? 128 + t->npal : 128));
	for (i = 0; palette && i < t->npal; i++)
		put_cpixel(b, r, t, t->pal[i]);
	for (i = 0; i < t->n; i++) {
		run++;
		if (i + 1 < t->n && t->v[i + 1] == t->v[i])
			continue;
		if (!palette) {
			put_cpixel(b, r, t, t->v[i]);
			put_run_length(b, run);
		} else if (run == 1) {
			(void)qh_buf_put_u8(b, (uint8_t)pal_index(t, t->v[i]));
		} else {
			(void)qh_buf_put_u8(b, (uint8_t)(128 | pal_index(t, t->v[i])));
			put_run_length(b, run);
		}
		run = 0;
	}
}

/* Writes the tile in its smallest form. */
static void
tile_put(struct qh_buf *b, const struct rfb *r, struct ztile *t)
{
	size_t raw = (size_t)t->n * t->cpix, packed = SIZE_MAX, rle, prle = SIZE_MAX;
	int i, bits;

	if (t->npal == 1) {
		(void)qh_buf_put_u8(b, 1);
		put_cpixel(b, r, t, t->pal[0]);
		return;
	}
	rle = t->runs * t->cpix + t->run_bytes;
	if (t->npal <= ZRLE_PALETTE_MAX)
		prle = t->npal * t->cpix + t->pal_run_bytes;
	if (t->npal <= 16) {
		bits = t->npal == 2 ? 1 : t->npal <= 4 ? 2 : 4;
		packed =
		    t->npal * t->cpix + (size_t)t->h * (((size_t)t->w * bits + 7) / 8);
	}
	if (packed <= raw && packed <= rle && packed <= prle) {
		put_packed(b, r, t);
	} else if (prle <= raw && prle <= rle) {
		put_rle(b, r, t, 1);
	} else if (rle < raw) {
		put_rle(b, r, t, 0);
	} else {
		(void)qh_buf_put_u8(b, 0);
		for (i = 0; i < t->n; i++)
			put_cpixel(b, r, t, t->v[i]);
	}
}

int
rfb_zrle_rect(struct rfb *r, const struct rfb_rect *rc)
{
	struct ztile t; /* about 17 KB */
	int upper, x, y, e;

	t.cpix = qh_rfb_cpixel_size(&r->pf, &upper);
	t.off = t.cpix == 3 && upper != (r->pf.big_endian != 0) ? 1 : 0;
	qh_buf_reset(&r->raw);
	qh_buf_reset(&r->zbuf);
	for (y = rc->y; y < rc->y + rc->h; y += QH_ZRLE_TILE)
		for (x = rc->x; x < rc->x + rc->w; x += QH_ZRLE_TILE) {
			tile_load(r, &t, x, y,
			    rc->x + rc->w - x < QH_ZRLE_TILE ? rc->x + rc->w - x
							     : QH_ZRLE_TILE,
			    rc->y + rc->h - y < QH_ZRLE_TILE ? rc->y + rc->h - y
							     : QH_ZRLE_TILE);
			/* The smallest form is never larger than raw, which the bound
			 * allows. */
			if (qh_buf_room(&r->raw) < 1 + (size_t)t.n * 4)
				return QH_ERR_TOO_LARGE;
			tile_put(&r->raw, r, &t);
		}
	if (!r->zrle_on) {
		if ((e = rfb_deflate_init(&r->zrle, r->level)) != 0)
			return e;
		r->zrle_on = 1;
	}
	if ((e = rfb_deflate(&r->zrle, &r->zbuf, qh_buf_ptr(&r->raw),
		 qh_buf_len(&r->raw))) != 0)
		return e;
	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_ZRLE)) != 0 ||
	    (e = qh_buf_put_u32(&r->pend, (uint32_t)qh_buf_len(&r->zbuf))) != 0)
		return e;
	r->stats.zrle++;
	return qh_buf_put(&r->pend, qh_buf_ptr(&r->zbuf), qh_buf_len(&r->zbuf));
}
