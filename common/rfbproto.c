/*
 * The RFB pixel format: reading and writing it, deciding whether we serve
 * it, and converting pixels between our XRGB values and a client's form.
 * Shared by the agent's RFB server and the recording decoder.
 */
#include <string.h>

#include "qh/err.h"
#include "qh/rfbproto.h"

void
qh_rfb_pf_native(struct qh_rfb_pf *pf)
{
	memset(pf, 0, sizeof(*pf));
	pf->bpp = 32;
	pf->depth = 24;
	pf->big_endian = 0;
	pf->true_colour = 1;
	pf->max[0] = pf->max[1] = pf->max[2] = 255;
	pf->shift[0] = 16;
	pf->shift[1] = 8;
	pf->shift[2] = 0;
}

int
qh_rfb_pf_get(struct qh_buf *b, struct qh_rfb_pf *pf)
{
	int i;

	if (qh_buf_len(b) < QH_RFB_PF_LEN)
		return QH_ERR_INCOMPLETE;
	(void)qh_buf_get_u8(b, &pf->bpp);
	(void)qh_buf_get_u8(b, &pf->depth);
	(void)qh_buf_get_u8(b, &pf->big_endian);
	(void)qh_buf_get_u8(b, &pf->true_colour);
	for (i = 0; i < 3; i++)
		(void)qh_buf_get_u16(b, &pf->max[i]);
	for (i = 0; i < 3; i++)
		(void)qh_buf_get_u8(b, &pf->shift[i]);
	return qh_buf_consume(b, 3);
}

int
qh_rfb_pf_put(struct qh_buf *b, const struct qh_rfb_pf *pf)
{
	uint8_t d[QH_RFB_PF_LEN];
	int i;

	memset(d, 0, sizeof(d));
	d[0] = pf->bpp;
	d[1] = pf->depth;
	d[2] = pf->big_endian ? 1 : 0;
	d[3] = pf->true_colour ? 1 : 0;
	for (i = 0; i < 3; i++) {
		d[4 + 2 * i] = (uint8_t)(pf->max[i] >> 8);
		d[5 + 2 * i] = (uint8_t)pf->max[i];
		d[10 + i] = pf->shift[i];
	}
	return qh_buf_put(b, d, sizeof(d));
}

/* Bits in a maximum of the form 2^n - 1; -1 for any other value. */
static int
max_bits(uint16_t max)
{
	int n = 0;

	while (max & 1) {
		max >>= 1;
		n++;
	}
	return max == 0 ? n : -1;
}

int
qh_rfb_pf_valid(const struct qh_rfb_pf *pf)
{
	int i, n;

	if (!pf->true_colour || (pf->bpp != 8 && pf->bpp != 16 && pf->bpp != 32))
		return 0;
	if (pf->depth == 0 || pf->depth > pf->bpp)
		return 0;
	for (i = 0; i < 3; i++) {
		if ((n = max_bits(pf->max[i])) < 1)
			return 0;
		if (pf->shift[i] + n > pf->bpp)
			return 0;
	}
	return 1;
}

int
qh_rfb_pf_equal(const struct qh_rfb_pf *a, const struct qh_rfb_pf *b)
{
	int i;

	if (a->bpp != b->bpp || a->true_colour != b->true_colour)
		return 0;
	if (a->bpp > 8 && (a->big_endian != 0) != (b->big_endian != 0))
		return 0;
	for (i = 0; i < 3; i++)
		if (a->max[i] != b->max[i] || a->shift[i] != b->shift[i])
			return 0;
	return 1;
}

/* The bits a channel occupies in a pixel value. */
static uint32_t
channel_mask(const struct qh_rfb_pf *pf, int i)
{
	return (uint32_t)pf->max[i] << pf->shift[i];
}

size_t
qh_rfb_cpixel_size(const struct qh_rfb_pf *pf, int *upper)
{
	uint32_t all = channel_mask(pf, 0) | channel_mask(pf, 1) | channel_mask(pf, 2);

	if (upper != NULL)
		*upper = 0;
	if (pf->bpp != 32 || !pf->true_colour || pf->depth > 24)
		return pf->bpp / 8;
	if ((all & 0xff000000U) == 0)
		return 3;
	if ((all & 0x000000ffU) == 0) {
		if (upper != NULL)
			*upper = 1;
		return 3;
	}
	return 4;
}

int
qh_rfb_tpixel_rgb(const struct qh_rfb_pf *pf)
{
	return pf->bpp == 32 && pf->depth == 24 && pf->true_colour && pf->max[0] == 255 &&
	    pf->max[1] == 255 && pf->max[2] == 255;
}

static int
host_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

void
qh_rfb_conv_init(struct qh_rfb_conv *c, const struct qh_rfb_pf *pf)
{
	struct qh_rfb_pf native;
	uint32_t v;
	int i;

	c->pf = *pf;
	for (i = 0; i < 256; i++) {
		/* Rounded scaling from 8 bits to each channel's width. */
		v = (uint32_t)(i * pf->max[0] + 127) / 255;
		c->r[i] = v << pf->shift[0];
		v = (uint32_t)(i * pf->max[1] + 127) / 255;
		c->g[i] = v << pf->shift[1];
		v = (uint32_t)(i * pf->max[2] + 127) / 255;
		c->b[i] = v << pf->shift[2];
	}
	qh_rfb_pf_native(&native);
	c->identity = qh_rfb_pf_equal(pf, &native) && host_little_endian();
}

/* Scales a channel value of max to 8 bits, rounded. */
static uint32_t
to8(uint32_t v, uint16_t max)
{
	if (max == 255)
		return v;
	return (v * 255 + max / 2) / max;
}

uint32_t
qh_rfb_unpack(const struct qh_rfb_pf *pf, uint32_t v)
{
	uint32_t r, g, b;

	r = to8((v >> pf->shift[0]) & pf->max[0], pf->max[0]);
	g = to8((v >> pf->shift[1]) & pf->max[1], pf->max[1]);
	b = to8((v >> pf->shift[2]) & pf->max[2], pf->max[2]);
	return r << 16 | g << 8 | b;
}

void
qh_rfb_put_pixel(uint8_t *d, const struct qh_rfb_pf *pf, uint32_t v)
{
	switch (pf->bpp) {
	case 8:
		d[0] = (uint8_t)v;
		break;
	case 16:
		if (pf->big_endian) {
			d[0] = (uint8_t)(v >> 8);
			d[1] = (uint8_t)v;
		} else {
			d[0] = (uint8_t)v;
			d[1] = (uint8_t)(v >> 8);
		}
		break;
	default:
		if (pf->big_endian) {
			d[0] = (uint8_t)(v >> 24);
			d[1] = (uint8_t)(v >> 16);
			d[2] = (uint8_t)(v >> 8);
			d[3] = (uint8_t)v;
		} else {
			d[0] = (uint8_t)v;
			d[1] = (uint8_t)(v >> 8);
			d[2] = (uint8_t)(v >> 16);
			d[3] = (uint8_t)(v >> 24);
		}
		break;
	}
}

uint32_t
qh_rfb_get_pixel(const uint8_t *s, const struct qh_rfb_pf *pf)
{
	switch (pf->bpp) {
	case 8:
		return s[0];
	case 16:
		return pf->big_endian ? (uint32_t)s[0] << 8 | s[1]
				      : (uint32_t)s[1] << 8 | s[0];
	default:
		if (pf->big_endian)
			return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
			    (uint32_t)s[2] << 8 | s[3];
		return (uint32_t)s[3] << 24 | (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 |
		    s[0];
	}
}

void
qh_rfb_convert_row(const struct qh_rfb_conv *c, uint8_t *d, const uint32_t *s, size_t n,
    int tpixel)
{
	size_t i, bytes = c->pf.bpp / 8;

	if (tpixel) {
		for (i = 0; i < n; i++) {
			d[3 * i] = (uint8_t)(s[i] >> 16);
			d[3 * i + 1] = (uint8_t)(s[i] >> 8);
			d[3 * i + 2] = (uint8_t)s[i];
		}
		return;
	}
	if (c->identity) {
		memcpy(d, s, n * 4);
		return;
	}
	for (i = 0; i < n; i++)
		qh_rfb_put_pixel(d + i * bytes, &c->pf, qh_rfb_pack(c, s[i]));
}

int
qh_tight_put_compact(struct qh_buf *b, size_t len)
{
	uint8_t d[3];
	size_t n = 0;

	if (len > QH_TIGHT_COMPACT_MAX)
		return QH_ERR_ARG;
	d[n++] = (uint8_t)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
	if (len >= 0x80)
		d[n++] = (uint8_t)(((len >> 7) & 0x7f) | (len >= 0x4000 ? 0x80 : 0));
	if (len >= 0x4000)
		d[n++] = (uint8_t)(len >> 14);
	return qh_buf_put(b, d, n);
}

int
qh_tight_get_compact(struct qh_buf *b, size_t *len)
{
	uint8_t c[3] = { 0, 0, 0 };
	size_t n = 1;

	if (qh_buf_peek_u8(b, 0, &c[0]) != 0)
		return QH_ERR_INCOMPLETE;
	if (c[0] & 0x80) {
		n = 2;
		if (qh_buf_peek_u8(b, 1, &c[1]) != 0)
			return QH_ERR_INCOMPLETE;
		if (c[1] & 0x80) {
			n = 3;
			if (qh_buf_peek_u8(b, 2, &c[2]) != 0)
				return QH_ERR_INCOMPLETE;
		}
	}
	*len = (size_t)(c[0] & 0x7f) | (size_t)(c[1] & 0x7f) << 7 | (size_t)c[2] << 14;
	return qh_buf_consume(b, n);
}
