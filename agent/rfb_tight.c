/*
 * Tight (TightVNC's encoding, as TigerVNC and others decode it) for the
 * RFB server: one colour as a fill; up to 256 colours with the palette
 * filter (two as a 1-bit bitmap on zlib stream 1, more as byte indices on
 * stream 2), lossless; more colours as JPEG (libjpeg, quality from the
 * client's quality level) when the client gave a quality level, else with
 * the copy filter on stream 0. Basic data shorter than 12 bytes is sent
 * uncompressed, as the format requires.
 *
 * libjpeg reports errors by calling error_exit, which must not return:
 * ours jumps back to the encoder, which then gives up on that rectangle's
 * JPEG form and sends it with the palette or copy filter instead.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "qh/err.h"
#include "rfb_int.h"

#define TIGHT_PALETTE_MAX    256
#define TIGHT_FILTER_PALETTE 1

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

static const uint32_t *
sent_at(const struct rfb *r, int x, int y)
{
	return r->sent + (size_t)y * r->w + x;
}

/*
 * Compresses r->raw on zlib stream s into r->pend: raw when shorter than
 * QH_TIGHT_MIN_ZLIB, else a compact length and the deflated bytes.
 */
static int
put_data(struct rfb *r, int s)
{
	int e;

	if (qh_buf_len(&r->raw) < QH_TIGHT_MIN_ZLIB)
		return qh_buf_put(&r->pend, qh_buf_ptr(&r->raw), qh_buf_len(&r->raw));
	if (!r->tight_on[s]) {
		if ((e = rfb_deflate_init(&r->tight[s], r->level)) != 0)
			return e;
		r->tight_on[s] = 1;
	}
	qh_buf_reset(&r->zbuf);
	if ((e = rfb_deflate(&r->tight[s], &r->zbuf, qh_buf_ptr(&r->raw),
		 qh_buf_len(&r->raw))) != 0 ||
	    (e = qh_tight_put_compact(&r->pend, qh_buf_len(&r->zbuf))) != 0)
		return e;
	return qh_buf_put(&r->pend, qh_buf_ptr(&r->zbuf), qh_buf_len(&r->zbuf));
}

/* Appends one colour in Tight's pixel form (TPIXEL). */
static int
put_tpixel(struct rfb *r, struct qh_buf *b, uint32_t c)
{
	uint8_t d[4];

	if (qh_rfb_tpixel_rgb(&r->pf)) {
		qh_rfb_convert_row(&r->conv, d, &c, 1, 1);
		return qh_buf_put(b, d, 3);
	}
	qh_rfb_put_pixel(d, &r->pf, qh_rfb_pack(&r->conv, c));
	return qh_buf_put(b, d, r->pf.bpp / 8);
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

static int
tight_fill(struct rfb *r, const struct rfb_rect *rc, uint32_t c)
{
	int e;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, QH_TIGHT_FILL)) != 0)
		return e;
	r->stats.tight_fill++;
	return put_tpixel(r, &r->pend, c);
}

/* Basic compression, copy filter, zlib stream 0. */
static int
tight_basic(struct rfb *r, const struct rfb_rect *rc)
{
	int e, tp = qh_rfb_tpixel_rgb(&r->pf);

	qh_buf_reset(&r->raw);
	qh_buf_reset(&r->zbuf);
	if ((e = rfb_put_pixels(r, &r->raw, rc, tp)) != 0)
		return e;
	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, 0)) != 0)
		return e;
	r->stats.tight_basic++;
	if (qh_buf_len(&r->raw) < QH_TIGHT_MIN_ZLIB)
		return qh_buf_put(&r->pend, qh_buf_ptr(&r->raw), qh_buf_len(&r->raw));
	return put_data(r, 0);
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

/* A rectangle's colours, up to TIGHT_PALETTE_MAX, with a lookup by hash. */
struct palette {
	uint32_t colour[TIGHT_PALETTE_MAX];
	int n;
	uint32_t key[1024];
	uint16_t index[1024]; /* index + 1; 0 marks an empty slot */
};

/* The index of c, added if new; -1 when the palette is full. */
static int
palette_index(struct palette *p, uint32_t c)
{
	size_t k = (c * 2654435761U) >> 22;

	for (; p->index[k] != 0; k = (k + 1) & 1023)
		if (p->key[k] == c)
			return p->index[k] - 1;
	if (p->n == TIGHT_PALETTE_MAX)
		return -1;
	p->key[k] = c;
	p->index[k] = (uint16_t)(p->n + 1);
	p->colour[p->n] = c;
	return p->n++;
}

/* Collects the rectangle's colours; 0 when there are more than fit. */
static int
palette_build(const struct rfb *r, const struct rfb_rect *rc, struct palette *p)
{
	const uint32_t *row;
	uint32_t last = 0;
	int x, y, have = 0;

	p->n = 0;
	memset(p->index, 0, sizeof(p->index));
	for (y = 0; y < rc->h; y++) {
		row = sent_at(r, rc->x, rc->y + y);
		for (x = 0; x < rc->w; x++) {
			if (have && row[x] == last)
				continue;
			last = row[x];
			have = 1;
			if (palette_index(p, last) < 0)
				return 0;
		}
	}
	return 1;
}

/* The palette filter: a bitmap for two colours, byte indices for more. */
static int
tight_palette(struct rfb *r, const struct rfb_rect *rc, struct palette *p)
{
	const uint32_t *row;
	uint8_t *d;
	size_t rowbytes = p->n == 2 ? ((size_t)rc->w + 7) / 8 : (size_t)rc->w;
	int x, y, i, e, stream = p->n == 2 ? 1 : 2;

	if ((e = rfb_put_rect_header(&r->pend, rc->x, rc->y, rc->w, rc->h,
		 QH_RFB_ENC_TIGHT)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, (uint8_t)(stream << 4 | QH_TIGHT_EXPLICIT))) !=
		0 ||
	    (e = qh_buf_put_u8(&r->pend, TIGHT_FILTER_PALETTE)) != 0 ||
	    (e = qh_buf_put_u8(&r->pend, (uint8_t)(p->n - 1))) != 0)
		return e;
	for (i = 0; i < p->n; i++)
		if ((e = put_tpixel(r, &r->pend, p->colour[i])) != 0)
			return e;
	qh_buf_reset(&r->raw);
	for (y = 0; y < rc->h; y++) {
		if ((e = qh_buf_reserve(&r->raw, rowbytes, &d)) != 0)
			return e;
		memset(d, 0, rowbytes);
		row = sent_at(r, rc->x, rc->y + y);
		for (x = 0; x < rc->w; x++) {
			i = palette_index(p, row[x]);
			if (p->n == 2)
				d[x / 8] |= (uint8_t)(i << (7 - x % 8));
			else
				d[x] = (uint8_t)i;
		}
	}
	r->stats.tight_palette++;
	return put_data(r, stream);
}

int
rfb_tight_rect(struct rfb *r, const struct rfb_rect *rc)
{
	struct palette p;
	uint32_t c;

	if (solid(r, rc, &c))
		return tight_fill(r, rc, c);
	if (palette_build(r, rc, &p))
		return tight_palette(r, rc, &p);
	if (r->quality >= 0 && r->pf.bpp >= 16)
		return tight_jpeg(r, rc);
	return tight_basic(r, rc);
}

void
rfb_tight_free(struct rfb *r)
{
	struct rfb_jpeg *j = r->jpeg;
	int i;

	for (i = 0; i < 4; i++)
		if (r->tight_on[i])
			deflateEnd(&r->tight[i]);
	memset(r->tight_on, 0, sizeof(r->tight_on));
	if (j != NULL) {
		jpeg_destroy_compress(&j->c);
		free(j->buf);
		free(j);
		r->jpeg = NULL;
	}
}
