/*
 * Internals of the RFB stream decoder, shared by rfbdec.c (handshake,
 * messages, Raw, CopyRect, the pseudo-encodings) and rfbdec_zt.c (ZRLE and
 * Tight).
 */
#ifndef QH_RFBDEC_INT_H
#define QH_RFBDEC_INT_H

#include <zlib.h>

#include "qh/rfbdec.h"
#include "qh/rfbproto.h"

#define DEC_CURSOR_MAX 256

enum dec_state {
	DS_VERSION,    /* "RFB 003.00x\n" */
	DS_SECURITY,   /* the type (3.3) or the list of types (3.7, 3.8) */
	DS_RESULT,     /* 3.8: SecurityResult */
	DS_SERVERINIT, /* size, pixel format, name */
	DS_MESSAGE,    /* a server message's type */
	DS_RECT,       /* rects_left rectangles of an update */
	DS_FAILED,
};

/* The viewer's side (qh_rfbdec_feed_client). */
enum dec_cstate {
	CS_VERSION,  /* "RFB 003.00x\n" */
	CS_SECURITY, /* 3.7, 3.8: the type chosen */
	CS_INIT,     /* ClientInit: the shared flag */
	CS_MESSAGE,  /* client messages */
};

/* Encodings the viewer announced, as bits of dec_rect's check. */
#define DEC_ANN_COPYRECT    0x01
#define DEC_ANN_ZRLE	    0x02
#define DEC_ANN_TIGHT	    0x04
#define DEC_ANN_CURSOR	    0x08
#define DEC_ANN_POINTERPOS  0x10
#define DEC_ANN_DESKTOPSIZE 0x20

/* A rectangle's header. */
struct dec_rect {
	int x, y, w, h;
	int32_t enc;
};

struct qh_rfbdec {
	enum dec_state state;
	int minor;
	size_t max_pixels;
	char why[160];
	char name[QH_RFB_NAME_MAX + 1];

	struct qh_rfb_pf pf;
	uint32_t *fb;
	int w, h;
	unsigned rects_left;
	uint64_t updates;

	z_stream zrle;
	int zrle_on;
	z_stream tight[4];
	int tight_on[4];
	struct qh_buf zout; /* inflated bytes of one rectangle */
	void *jpeg;	    /* struct dec_jpeg, made on first use */

	/* The viewer's side, when it is fed. */
	int client_fed; /* qh_rfbdec_feed_client was called */
	enum dec_cstate cstate;
	int cminor;		  /* the viewer's version; 0 until read */
	struct qh_rfb_pf pf_next; /* SetPixelFormat not yet in effect */
	int pf_pending;		  /* ... applied at the next update */
	unsigned announced;	  /* DEC_ANN_*: ever announced by SetEncodings */
	uint32_t cut_skip;	  /* ClientCutText bytes still to skip */
	uint64_t client_msgs;	  /* client messages read */

	uint32_t cur[DEC_CURSOR_MAX * DEC_CURSOR_MAX]; /* ARGB, alpha 0 or 255 */
	int cur_w, cur_h, cur_hx, cur_hy, cur_have;
	int ptr_x, ptr_y, ptr_have;
};

/* rfbdec.c */
int dec_fail(struct qh_rfbdec *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads one pixel of d->pf (bpp / 8 bytes) as XRGB; QH_ERR_INCOMPLETE at the end. */
int dec_get_pixel(struct qh_rfbdec *d, struct qh_buf *b, uint32_t *xrgb);

/* rfbdec_client.c */

/* 1 if the viewer announced enc at some point (Raw always counts). */
int dec_announced(const struct qh_rfbdec *d, int32_t enc);

/* rfbdec_zt.c */

/*
 * The bytes of a ZRLE or Tight rectangle's data at the front of b (after
 * the header): 1 and *len when they can be measured, 0 when more input is
 * needed, <0 when invalid.
 */
int dec_zrle_size(struct qh_buf *b, size_t *len);
int dec_tight_size(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b,
    size_t *len);

/* Decodes a rectangle's data (exactly the bytes measured) into the framebuffer. */
int dec_zrle(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b);
int dec_tight(struct qh_rfbdec *d, const struct dec_rect *rc, struct qh_buf *b);

void dec_zt_free(struct qh_rfbdec *d);

#endif
