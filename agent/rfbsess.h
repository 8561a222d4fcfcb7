/*
 * One RFB session on the agent's loop: a capture backend (screen.h), the
 * RFB server (rfb.h) and the pacing between them, over whatever byte
 * transport the caller adapts: a channel of the mux (desktop.c) or a TCP
 * socket (tests/tools/qh-rfbserve.c).
 *
 * Pacing: the screen is captured only while the viewer has an update
 * request outstanding and no update is being written, at most every
 * RFBSESS_FRAME_MS and no sooner after the last capture than twice what
 * that capture and its encoding took, so a session stays under about half
 * a CPU core however much changes; an idle viewer costs nothing. Output is pulled from
 * the server only when the transport takes bytes, so a slow link gets
 * fewer, newer frames. Input is held in a buffer of RFB_INPUT_MAX bytes:
 * the transport must not deliver more than it was told was consumed.
 */
#ifndef QH_AGENT_RFBSESS_H
#define QH_AGENT_RFBSESS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "rfb.h"

/* Shortest time between two captures: at most 60 frames a second. */
#define RFBSESS_FRAME_MS 16
/* Longest wait the cost rule above can impose. */
#define RFBSESS_FRAME_MAX_MS 250
/* The whole screen is grabbed at least this often, whatever the backend reports. */
#define RFBSESS_FULL_MS 1000
/* Bytes pulled from the server at a time for the transport. */
#define RFBSESS_OUT_MAX (256 * 1024)

struct rfbsess;

struct rfbsess_io {
	/*
	 * Takes up to len bytes for the viewer and returns how many it took:
	 * 0 when the transport is full (call rfbsess_writable when it has
	 * room again), <0 when it is gone.
	 */
	ssize_t (*write)(void *arg, const uint8_t *p, size_t len);
	/* n bytes of input were dealt with: the transport may take n more. */
	void (*consumed)(void *arg, size_t n);
	/*
	 * The session cannot go on (err <0, why for one log line): the viewer
	 * broke the protocol, the display went away, the transport failed.
	 * Called once; the owner then calls rfbsess_close, here or later.
	 */
	void (*failed)(void *arg, int err, const char *why);
};

struct rfbsess_stats {
	uint64_t captures;   /* frames grabbed */
	uint64_t capture_us; /* time spent grabbing */
	uint64_t encode_us;  /* time spent producing output */
	struct rfb_stats rfb;
};

/*
 * Opens monitor screen_index and prepares a session whose ServerInit
 * carries name. Input starts disabled (rfbsess_set_control). On failure
 * returns <0 with a sentence for the people involved in why (see
 * screen_open). The io callbacks run on loop only.
 */
int rfbsess_new(uv_loop_t *loop, int screen_index, const char *name,
    const struct rfbsess_io *io, void *arg, struct rfbsess **sp, char *why,
    size_t whylen);

/*
 * Bytes from the viewer (copied). Returns 0, or QH_ERR_TOO_LARGE when the
 * transport delivered more than was consumed plus RFB_INPUT_MAX; protocol
 * errors are reported through io->failed.
 */
int rfbsess_input(struct rfbsess *s, const uint8_t *p, size_t len);

/* The transport has room again. */
void rfbsess_writable(struct rfbsess *s);

/* Enables or disables input and clipboard (see rfb_set_control). */
void rfbsess_set_control(struct rfbsess *s, int on);
int rfbsess_control(const struct rfbsess *s);

/* Records the server's stream (see rfb_set_tap). */
void rfbsess_set_tap(struct rfbsess *s, rfb_tap_fn tap, void *arg);

void rfbsess_get_stats(const struct rfbsess *s, struct rfbsess_stats *st);

/*
 * Ends the session: no io callback runs afterwards; what it holds is
 * freed once its handles are closed (held keys and buttons are released
 * before the display is let go). s may be NULL.
 */
void rfbsess_close(struct rfbsess *s);

#endif
