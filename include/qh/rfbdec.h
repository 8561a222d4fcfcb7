/*
 * A decoder of the server-to-client half of an RFB session, as an FBS
 * recording holds it (qh/fbs.h), into a framebuffer of XRGB pixels: what
 * `replay --png-at` shows. It reads the handshake as the server sent it
 * (3.3, 3.7 or 3.8, security None), ServerInit, and then server messages:
 * FramebufferUpdate in exactly the encodings the agent's server produces
 * (Raw, CopyRect, ZRLE, Tight fill / JPEG / basic with the copy or the
 * palette filter, Cursor, PointerPos, DesktopSize), Bell and ServerCutText
 * (skipped). The viewer's half, when it was recorded too, is fed beside
 * it (qh_rfbdec_feed_client). A new "RFB 003.00x" handshake where a message is due starts
 * over, keeping the picture when the size stays: the agent's recording tap writes one
 * when the viewer changes its pixel format mid-session.
 *
 * Every byte is read through the bounded reader; anything else is invalid
 * and ends the decoding with a reason. This module links zlib and libjpeg
 * (libjpeg-turbo), which libqh's other modules do not need.
 */
#ifndef QH_RFBDEC_H
#define QH_RFBDEC_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

/*
 * The decoder consumes whole rectangles; one is never larger than this,
 * so an input buffer of this size always makes progress.
 */
#define QH_RFBDEC_UNIT_MAX (32 * 1024 * 1024)

struct qh_rfbdec;

/*
 * Creates a decoder that refuses screens of more than max_pixels pixels.
 * Returns 0 or QH_ERR_NOMEM.
 */
int qh_rfbdec_new(struct qh_rfbdec **dp, size_t max_pixels);

void qh_rfbdec_free(struct qh_rfbdec *d);

/*
 * Decodes every whole unit (handshake step, message header, rectangle) at
 * the front of in and leaves an incomplete one in place. Returns 0, or <0
 * for bytes that are not what our server sends (QH_ERR_FORMAT,
 * QH_ERR_PROTOCOL, QH_ERR_TOO_LARGE), with qh_rfbdec_why() saying why;
 * after an error every call fails.
 */
int qh_rfbdec_feed(struct qh_rfbdec *d, struct qh_buf *in);

/*
 * The viewer's half of the same session, for recordings that keep both
 * directions (a console's desktop recording): feed it interleaved with
 * the server's half in the order the bytes passed, each direction's
 * bytes in its own buffer. Decodes every whole unit at the front of in
 * (the viewer's version, security choice and ClientInit, then its
 * messages) and leaves an incomplete one in place. What it changes:
 * the handshake follows the viewer's version; a SetPixelFormat takes
 * effect at the next FramebufferUpdate, as the agent's server applies it
 * (an update the server began before it read the message may be misread;
 * our viewers do not change formats while they wait for an update); once
 * anything was fed here, a rectangle in an encoding the viewer never
 * announced in a SetEncodings (Raw aside) is invalid. Other messages are
 * skipped, ClientCutText text of any length included. Returns 0 or <0
 * (QH_ERR_FORMAT, QH_ERR_PROTOCOL, QH_ERR_TOO_LARGE) with qh_rfbdec_why();
 * an error fails the decoder as a whole.
 */
int qh_rfbdec_feed_client(struct qh_rfbdec *d, struct qh_buf *in);

/* Viewer messages decoded completely by qh_rfbdec_feed_client. */
uint64_t qh_rfbdec_client_messages(const struct qh_rfbdec *d);

/* The reason of the error, for one line ("" if none). */
const char *qh_rfbdec_why(const struct qh_rfbdec *d);

/*
 * The framebuffer (w x h XRGB pixels, stride w) as far as decoded, or
 * NULL before ServerInit. Valid until the next feed.
 */
const uint32_t *qh_rfbdec_frame(const struct qh_rfbdec *d, int *w, int *h);

/* The desktop name from ServerInit (NUL-terminated, may be ""). */
const char *qh_rfbdec_name(const struct qh_rfbdec *d);

/* Number of FramebufferUpdate messages decoded completely. */
uint64_t qh_rfbdec_updates(const struct qh_rfbdec *d);

/*
 * Paints the last cursor shape received at the last pointer position
 * received (PointerPos) into px (w x h, stride w), blending by the
 * shape's mask. Returns 1 if it painted, 0 if either is unknown.
 */
int qh_rfbdec_paint_cursor(const struct qh_rfbdec *d, uint32_t *px, int w, int h);

#endif
