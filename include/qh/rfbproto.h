/*
 * RFB (RFC 6143) protocol numbers and the pixel format, shared by the
 * agent's server (agent/rfb.c) and the recording decoder (common/rfbdec.c).
 *
 * Pixels on our side are always 32-bit values 0x00RRGGBB in host order
 * ("XRGB"); a pixel format says how such a value is written on the wire
 * for one client. Only true-colour formats of 8, 16 or 32 bits per pixel
 * are valid (no colour maps).
 */
#ifndef QH_RFBPROTO_H
#define QH_RFBPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

/* Encodings and pseudo-encodings (signed 32-bit numbers on the wire). */
#define QH_RFB_ENC_RAW	       0
#define QH_RFB_ENC_COPYRECT    1
#define QH_RFB_ENC_TIGHT       7
#define QH_RFB_ENC_ZRLE	       16
#define QH_RFB_ENC_DESKTOPSIZE (-223)
#define QH_RFB_ENC_POINTERPOS  (-232)
#define QH_RFB_ENC_CURSOR      (-239)
#define QH_RFB_ENC_QUALITY0    (-32)  /* ... QH_RFB_ENC_QUALITY0 + 9: JPEG quality */
#define QH_RFB_ENC_COMPRESS0   (-256) /* ... QH_RFB_ENC_COMPRESS0 + 9: zlib level */

/* Client-to-server message types. */
#define QH_RFB_C_SETPIXELFORMAT 0
#define QH_RFB_C_SETENCODINGS	2
#define QH_RFB_C_UPDATEREQUEST	3
#define QH_RFB_C_KEYEVENT	4
#define QH_RFB_C_POINTEREVENT	5
#define QH_RFB_C_CUTTEXT	6

/* Server-to-client message types. */
#define QH_RFB_S_UPDATE	   0
#define QH_RFB_S_COLOURMAP 1
#define QH_RFB_S_BELL	   2
#define QH_RFB_S_CUTTEXT   3

#define QH_RFB_SEC_NONE	   1
#define QH_RFB_VERSION_LEN 12  /* "RFB 003.008\n" */
#define QH_RFB_PF_LEN	   16  /* pixel format on the wire, padding included */
#define QH_RFB_NAME_MAX	   255 /* our bound on desktop names */

/* Tight's compression-control byte (the upper nibble). */
#define QH_TIGHT_FILL	     0x80
#define QH_TIGHT_JPEG	     0x90
#define QH_TIGHT_EXPLICIT    0x40    /* basic compression with a filter byte */
#define QH_TIGHT_COMPACT_MAX 4194303 /* largest length a compact length holds */
#define QH_TIGHT_MIN_ZLIB    12	     /* basic data shorter than this is not compressed */
#define QH_TIGHT_MAX_WIDTH   2048    /* basic rectangles are at most this wide */
#define QH_ZRLE_TILE	     64

struct qh_rfb_pf {
	uint8_t bpp;	     /* 8, 16 or 32 */
	uint8_t depth;	     /* significant bits */
	uint8_t big_endian;  /* multi-byte pixels are big-endian */
	uint8_t true_colour; /* always 1 in a valid format */
	uint16_t max[3];     /* red, green, blue: 2^n - 1 */
	uint8_t shift[3];    /* red, green, blue */
};

/* Our native format: 32 bpp, depth 24, little-endian, red at 16, blue at 0. */
void qh_rfb_pf_native(struct qh_rfb_pf *pf);

/*
 * Reads 16 bytes of pixel format (padding skipped). Returns 0 or
 * QH_ERR_INCOMPLETE (nothing consumed); validity is a separate check.
 */
int qh_rfb_pf_get(struct qh_buf *b, struct qh_rfb_pf *pf);

/* Appends the 16 bytes of pf. */
int qh_rfb_pf_put(struct qh_buf *b, const struct qh_rfb_pf *pf);

/*
 * 1 if pf is one we serve and decode: true colour, 8/16/32 bpp, depth
 * 1..bpp, each maximum of the form 2^n - 1 (n from 1 to 16) and each
 * channel inside the pixel; 0 otherwise.
 */
int qh_rfb_pf_valid(const struct qh_rfb_pf *pf);

/* 1 if a and b write every pixel identically. */
int qh_rfb_pf_equal(const struct qh_rfb_pf *a, const struct qh_rfb_pf *b);

/*
 * Bytes of a ZRLE CPIXEL: 3 when a 32-bpp format's colour bits all fit in
 * its lower or upper three bytes, else bpp / 8. *upper (may be NULL) says
 * whether the upper three bytes are the ones that carry the colour.
 */
size_t qh_rfb_cpixel_size(const struct qh_rfb_pf *pf, int *upper);

/* 1 if Tight sends pixels of pf as three bytes R, G, B (32 bpp, depth 24, 8 bits). */
int qh_rfb_tpixel_rgb(const struct qh_rfb_pf *pf);

/*
 * Conversion from XRGB to pf's pixel values: one table per channel, so a
 * pixel costs three lookups and two ORs.
 */
struct qh_rfb_conv {
	struct qh_rfb_pf pf;
	uint32_t r[256], g[256], b[256];
	int identity; /* pf is our native format on this host: a memcpy will do */
};

void qh_rfb_conv_init(struct qh_rfb_conv *c, const struct qh_rfb_pf *pf);

static inline uint32_t
qh_rfb_pack(const struct qh_rfb_conv *c, uint32_t xrgb)
{
	return c->r[(xrgb >> 16) & 0xff] | c->g[(xrgb >> 8) & 0xff] | c->b[xrgb & 0xff];
}

/* The XRGB value of pixel value v of pf (each channel scaled to 8 bits). */
uint32_t qh_rfb_unpack(const struct qh_rfb_pf *pf, uint32_t v);

/* Writes v as pf's bpp / 8 bytes in pf's byte order at d. */
void qh_rfb_put_pixel(uint8_t *d, const struct qh_rfb_pf *pf, uint32_t v);

/* Reads a pixel value of pf's bpp / 8 bytes, in pf's byte order, from s. */
uint32_t qh_rfb_get_pixel(const uint8_t *s, const struct qh_rfb_pf *pf);

/*
 * Converts n XRGB pixels into pf's wire form at d (n * bpp / 8 bytes, or
 * n * 3 with tpixel set for Tight's RGB form).
 */
void qh_rfb_convert_row(const struct qh_rfb_conv *c, uint8_t *d, const uint32_t *s,
    size_t n, int tpixel);

/* Appends a Tight compact length (1 to 3 bytes); QH_ERR_ARG past QH_TIGHT_COMPACT_MAX. */
int qh_tight_put_compact(struct qh_buf *b, size_t len);

/* Reads a Tight compact length; QH_ERR_INCOMPLETE consumes nothing. */
int qh_tight_get_compact(struct qh_buf *b, size_t *len);

#endif
