/*
 * Internals of the RFB server, shared by its files only: rfb.c (handshake,
 * client messages, the output pump), rfb_plan.c (what an update contains:
 * tiles, scrolls), rfb_enc.c (Raw, the pseudo-rectangles, the choice of
 * encoding), rfb_tight.c (Tight) and rfb_zrle.c (ZRLE).
 */
#ifndef QH_AGENT_RFB_INT_H
#define QH_AGENT_RFB_INT_H

#include <zlib.h>

#include "rfb.h"

/* Largest pixel rectangle an update carries: RFB_RECT_W x RFB_TILE. */
#define RFB_RECT_W	QH_TIGHT_MAX_WIDTH
#define RFB_RECT_PIXELS (RFB_RECT_W * RFB_TILE)
/* Bytes of the next piece of output: one rectangle at most, whatever its encoding. */
#define RFB_PEND_MAX (2 * 1024 * 1024)
/* A rectangle's pixels before compression, and compressed (zlib's worst case). */
#define RFB_RAW_MAX  (RFB_RECT_PIXELS * 4 + 4096)
#define RFB_ZBUF_MAX (RFB_RAW_MAX + RFB_RAW_MAX / 8 + 1024)
/* Tight sends JPEG only for rectangles with more colours than this. */
#define RFB_JPEG_COLOURS 48
/* Keys and buttons we remember, to release them when control ends. */
#define RFB_HELD_MAX 32
/* A scroll is sent as CopyRect only when at least this many rows move. */
#define RFB_SCROLL_MIN 24
/* ... and only when at least this many tiles changed. */
#define RFB_SCROLL_TILES 4

enum rfb_state {
	RFB_ST_VERSION,	   /* our version is out, the client's is due */
	RFB_ST_SECURITY,   /* 3.7 and 3.8: types offered, the choice is due */
	RFB_ST_CLIENTINIT, /* the shared flag is due */
	RFB_ST_SERVERINIT, /* ServerInit waits for the first frame */
	RFB_ST_NORMAL,	   /* client messages, updates */
	RFB_ST_FAILED,	   /* an error was returned; nothing more is parsed */
};

enum rfb_rect_kind {
	RK_PIXELS,	/* x, y, w, h of the frame in the chosen encoding */
	RK_COPY,	/* CopyRect from sx, sy */
	RK_CURSOR,	/* the cursor shape */
	RK_POINTER,	/* PointerPos at x, y */
	RK_DESKTOPSIZE, /* the new w, h */
};

struct rfb_rect {
	uint8_t kind;
	int x, y, w, h;
	int sx, sy;
};

struct rfb_box {
	int x0, y0, x1, y1; /* half-open; empty when x0 >= x1 or y0 >= y1 */
};

struct rfb {
	enum rfb_state state;
	int minor; /* 3, 7 or 8 */
	char name[QH_RFB_NAME_MAX + 1];
	const struct rfb_ops *ops;
	void *arg;
	int control;
	char why[160];

	/* What the client asked for. */
	struct qh_rfb_pf pf;	  /* in force for updates */
	struct qh_rfb_pf pf_next; /* from SetPixelFormat, applied at the next update */
	int pf_changed;		  /* pf_next differs from pf */
	struct qh_rfb_conv conv;
	int32_t enc;	 /* Raw, ZRLE or Tight: the client's first of ours */
	int copyrect;	 /* CopyRect announced */
	int cursor_enc;	 /* Cursor pseudo-encoding announced */
	int pointer_enc; /* PointerPos announced */
	int resize_enc;	 /* DesktopSize announced */
	int quality;	 /* 0..9 from the quality pseudo-encoding, -1 none */
	int level;	 /* zlib level from the compress pseudo-encoding */

	/* The update request: union of the outstanding ones. */
	int want;
	struct rfb_box req;
	struct rfb_box full; /* non-incremental part: sent whether changed or not */

	/* Frames: the borrowed current one and our copy of what the client has. */
	struct rfb_frame fb;
	int have_frame, fb_new, resize;
	uint32_t *sent; /* w * h, what the client was sent */
	int w, h;	/* size the client knows */
	int tw, th;	/* tiles across and down */
	uint8_t *stale; /* per tile: the client's copy is unknown */
	uint8_t *maybe; /* per tile: may differ from sent (damage hints) */
	uint8_t *dirty; /* per tile, during planning */
	uint32_t *hash_a, *hash_b, *table;
	int32_t *votes;
	int *chain; /* per row: the previous row with the same hash, -1 none */

	/* The update being written. */
	struct rfb_rect *rects;
	int nrects, next, rects_cap;
	int updating;

	/* Pointer. */
	uint32_t *cur; /* cursor ARGB, RFB_CURSOR_MAX^2 */
	int cur_w, cur_h, cur_hx, cur_hy, cur_have, cur_dirty;
	uint32_t cur_serial;
	int ptr_x, ptr_y, ptr_dirty;

	/* Held input, released when control ends. */
	uint32_t held[RFB_HELD_MAX];
	int nheld;
	uint8_t buttons;
	int last_x, last_y;
	size_t cut_skip; /* bytes of an oversized ClientCutText still to drop */

	/* Clipboard text for the client (Latin-1), and whether it waits. */
	struct qh_buf clip;
	int clip_due;

	/* Output: the next piece, produced only when the previous one is out. */
	struct qh_buf pend;

	/* Encoders. */
	z_stream zrle;
	int zrle_on;
	z_stream tight[4]; /* Tight's zlib streams: 0 copy, 1 bitmap, 2 indexed */
	int tight_on[4];
	struct qh_buf raw;  /* a rectangle's bytes before deflate (RFB_RAW_MAX) */
	struct qh_buf zbuf; /* and after (RFB_ZBUF_MAX) */
	void *jpeg;	    /* struct rfb_jpeg, created on first use */

	/* Recording tap. */
	rfb_tap_fn tap;
	void *tap_arg;
	int tap_started;

	struct rfb_stats stats;
};

/* rfb.c */
int rfb_fail(struct rfb *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rfb_plan.c */

/* (Re)allocates the per-size state for a client framebuffer of w x h. */
int rfb_plan_resize(struct rfb *r, int w, int h);
void rfb_plan_free(struct rfb *r);

/*
 * Fills r->rects with the next update (CopyRect, cursor, pointer and
 * pixel rectangles) and brings r->sent to what the client will have.
 * Returns the number of rectangles (0: nothing to send) or <0.
 */
int rfb_plan(struct rfb *r);

/* Marks the tiles a damage rectangle touches (all when d is NULL). */
void rfb_plan_damage(struct rfb *r, const int (*d)[4], int nd);

/* rfb_enc.c */

/* Appends one rectangle, header included, to r->pend. */
int rfb_enc_rect(struct rfb *r, const struct rfb_rect *rc);
void rfb_enc_free(struct rfb *r);

/* Appends a rectangle header. */
int rfb_put_rect_header(struct qh_buf *b, int x, int y, int w, int h, int32_t enc);

/*
 * Deflates len bytes at p into b with a sync flush, through zs. Returns
 * 0 or QH_ERR_TOO_LARGE / QH_ERR_INTERNAL.
 */
int rfb_deflate(z_stream *zs, struct qh_buf *b, const uint8_t *p, size_t len);

/* Initialises a deflate stream at level; 0 or QH_ERR_NOMEM. */
int rfb_deflate_init(z_stream *zs, int level);

/* Converts the rectangle's rows of r->sent into b, in pf's form (or Tight's RGB). */
int
rfb_put_pixels(struct rfb *r, struct qh_buf *b, const struct rfb_rect *rc, int tpixel);

/* rfb_tight.c */
int rfb_tight_rect(struct rfb *r, const struct rfb_rect *rc);
void rfb_tight_free(struct rfb *r);

/* rfb_zrle.c */
int rfb_zrle_rect(struct rfb *r, const struct rfb_rect *rc);

#endif
