/*
 * An RFB 3.8 server (RFC 6143) that does no I/O of its own: the caller
 * feeds the client's bytes in with rfb_input(), hands it captured frames
 * with rfb_set_frame() and pulls the server's bytes out with rfb_output()
 * whenever its transport has room. One struct rfb is one client.
 *
 * Security type None only; protocol 3.8, and 3.7 and 3.3 clients too.
 * Client messages: SetPixelFormat (any true-colour 8/16/32 bpp format, either
 * byte order), SetEncodings, FramebufferUpdateRequest, KeyEvent,
 * PointerEvent, ClientCutText. Encodings we send: Raw, CopyRect (scrolls),
 * ZRLE, Tight (fill, palette, basic zlib and JPEG), and the Cursor, PointerPos and
 * DesktopSize pseudo-encodings; the client's preference order decides.
 *
 * Flow: an update is produced only while the client has asked for one and
 * the caller pulls output, so a slow transport gets fewer, newer frames
 * instead of a queue. Changes are found by comparing 64x64 tiles with the
 * last frame the client was sent. Every buffer has a fixed bound.
 *
 * Input events reach the callbacks only while control is enabled
 * (rfb_set_control); otherwise they are parsed and dropped. Clipboard text
 * travels both ways only with control as well.
 *
 * The encoders link zlib and libjpeg(-turbo). Not thread-safe: one loop.
 */
#ifndef QH_AGENT_RFB_H
#define QH_AGENT_RFB_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"
#include "qh/rfbproto.h"

/*
 * The input buffer given to rfb_input() must be able to hold this many
 * bytes: every message we keep whole fits, so a full buffer always makes
 * progress. A channel window of this size is therefore enough.
 */
#define RFB_INPUT_MAX (RFB_CUT_MAX + 64)
/* Longest clipboard text passed on either way; longer client text is dropped. */
#define RFB_CUT_MAX (256 * 1024)
/* Most encodings a SetEncodings may list; more is a protocol error. */
#define RFB_ENCODINGS_MAX 1024
/* Largest screen we serve, each side (and the cursor: RFB_CURSOR_MAX). */
#define RFB_SIZE_MAX   16384
#define RFB_CURSOR_MAX 256
/* Side of the tiles compared between frames. */
#define RFB_TILE 64

struct rfb;

/* Input callbacks; called only while control is enabled. */
struct rfb_ops {
	/* A key went down (1) or up (0); key is an X keysym. */
	void (*key)(void *arg, int down, uint32_t keysym);
	/* The pointer is at x, y (frame coordinates) with buttons (bit 0 = left) down. */
	void (*pointer)(void *arg, uint8_t buttons, int x, int y);
	/* The client's clipboard: UTF-8 text, len bytes, no NUL inside. */
	void (*clipboard)(void *arg, const char *text, size_t len);
};

/* A frame: XRGB pixels, stride in pixels; the caller owns the memory. */
struct rfb_frame {
	const uint32_t *px;
	int w, h;
	size_t stride;
};

/*
 * A cursor image: w x h ARGB pixels (alpha in the top byte, not
 * premultiplied), hotspot hx, hy. serial changes when the shape does.
 */
struct rfb_cursor {
	const uint32_t *argb;
	int w, h, hx, hy;
	uint32_t serial;
};

/*
 * Creates the server side of one connection; name (at most
 * QH_RFB_NAME_MAX bytes are used) is the desktop's name in ServerInit.
 * ops may be NULL. Control starts disabled. Returns NULL when out of memory.
 */
struct rfb *rfb_new(const char *name, const struct rfb_ops *ops, void *arg);

/* Frees r and everything it holds. */
void rfb_free(struct rfb *r);

/*
 * Enables or disables input and clipboard. Disabling releases every key
 * and button the client holds (through the callbacks, before it takes
 * effect), so nothing stays pressed on the customer's side.
 */
void rfb_set_control(struct rfb *r, int on);

/* 1 while control is enabled. */
int rfb_control(const struct rfb *r);

/*
 * Parses the client's bytes at the front of in, consuming every whole
 * message (and the handshake), and leaves an incomplete one in place.
 * Returns 0, or <0 (QH_ERR_PROTOCOL, QH_ERR_FORMAT, QH_ERR_TOO_LARGE) for
 * bytes that are not valid RFB, with rfb_why() saying why in one line; the
 * caller then closes the connection. Callbacks may run during the call.
 */
int rfb_input(struct rfb *r, struct qh_buf *in);

/* The reason of the last error, for one log line ("" if none). */
const char *rfb_why(const struct rfb *r);

/*
 * 1 when the server needs a frame: the client waits for ServerInit or has
 * an update request outstanding, and no update is being written. Only
 * then may the caller capture and call rfb_set_frame(); the frame given
 * before must stay unchanged until this returns 1 again.
 */
int rfb_want_frame(const struct rfb *r);

/*
 * Gives the server the current screen contents (borrowed, see
 * rfb_want_frame). damage, if not NULL, lists ndamage rectangles {x, y,
 * w, h} outside which nothing changed since the previous frame (a
 * backend's hint); NULL means anything may have changed. A frame of a
 * different size is announced with DesktopSize (or, to a client that
 * cannot resize, ends the connection through rfb_output). Returns 0 or
 * QH_ERR_ARG for a frame of 0 or more than RFB_SIZE_MAX pixels a side.
 */
int rfb_set_frame(struct rfb *r, const struct rfb_frame *f, const int (*damage)[4],
    int ndamage);

/*
 * The pointer's shape (c may be NULL when hidden) and position, sent with
 * the next update to clients that announced Cursor / PointerPos. The
 * image is copied; a shape larger than RFB_CURSOR_MAX a side is ignored.
 */
void rfb_set_cursor(struct rfb *r, const struct rfb_cursor *c);
void rfb_set_pointer(struct rfb *r, int x, int y);

/*
 * 1 when the client has not announced the Cursor pseudo-encoding, so the
 * caller should paint the pointer into the frames it gives.
 */
int rfb_cursor_in_frame(const struct rfb *r);

/*
 * The customer's clipboard changed: UTF-8 text, sent to the client as
 * Latin-1 (other characters become '?'). Ignored unless control is
 * enabled, so nothing copied before control was granted leaves the PC.
 * Text past RFB_CUT_MAX bytes is cut. A newer text replaces one not yet
 * sent.
 */
void rfb_set_clipboard(struct rfb *r, const char *text, size_t len);

/*
 * Appends server bytes to out, as many as its room allows: handshake
 * replies, clipboard text, and an update when one is due. Returns 0 (out
 * may have gained nothing), or <0 when the connection must end (rfb_why()
 * says why: an encoder failed, or the screen changed size and the client
 * cannot follow).
 */
int rfb_output(struct rfb *r, struct qh_buf *out);

/* 1 while rfb_output has bytes ready or an update under way. */
int rfb_output_pending(const struct rfb *r);

/*
 * A recording tap: every server message of the session as it is produced,
 * preceded by a handshake and ServerInit that carry the client's pixel
 * format (as vncrec records), repeated if the client changes its format
 * mid-session, so the stream decodes on its own (common/rfbdec.c). Set it
 * before the handshake ends; tap may be NULL to stop.
 */
typedef void (*rfb_tap_fn)(void *arg, const uint8_t *p, size_t len);
void rfb_set_tap(struct rfb *r, rfb_tap_fn tap, void *arg);

/* Counters for logs and benchmarks. */
struct rfb_stats {
	uint64_t updates, rects, copyrects, bytes;
	uint64_t raw, zrle, tight_fill, tight_palette, tight_basic,
	    tight_jpeg; /* rects */
};
void rfb_get_stats(const struct rfb *r, struct rfb_stats *st);

#endif
