/*
 * The capture backend: one monitor of the customer's desktop as XRGB
 * frames (0x00RRGGBB in host order), the pointer's position and shape,
 * and input injected into it: keys as X keysyms, the pointer's buttons as
 * RFB's mask, clipboard text as UTF-8. A backend that knows what changed
 * (X11's DAMAGE) says so, grabs only that and lets a caller skip grabs of
 * an unchanged screen. agent/posix/screen_x11.c implements it on X11 (xcb:
 * MIT-SHM, DAMAGE, XFIXES, XTEST, RANDR); a Windows backend implements the
 * same functions.
 *
 * Everything runs on the agent's loop; the backend never blocks for long
 * (a round trip to the local display server at most). No function here is
 * thread-safe.
 */
#ifndef QH_AGENT_SCREEN_H
#define QH_AGENT_SCREEN_H

#include <stddef.h>
#include <stdint.h>

struct screen;

/* The pointer's shape: ARGB, alpha in the top byte, not premultiplied. */
struct screen_cursor {
	const uint32_t *argb; /* w * h pixels, valid until the next screen_pointer */
	int w, h, hx, hy;     /* size and hotspot; 0 x 0 when hidden */
	uint32_t serial;      /* changes when the shape does */
};

/* Most rectangles a grab reports as changed; more are merged into one. */
#define SCREEN_DAMAGE_MAX 32

/* What changed since the previous grab, when the backend knows. */
struct screen_damage {
	int known;			/* 0: anything may have changed */
	int n;				/* rectangles in rect */
	int rect[SCREEN_DAMAGE_MAX][4]; /* x, y, w, h on the monitor */
};

/* Text from the customer's clipboard: UTF-8, len bytes (no NUL inside). */
typedef void (*screen_clip_fn)(void *arg, const char *text, size_t len);

/*
 * Opens monitor index (0 is the primary; the others follow in the order the
 * system lists them). On failure returns <0 with one sentence for the
 * people involved in why: QH_ERR_REFUSED for a session that cannot be
 * shared (Wayland), QH_ERR_NOT_FOUND when there is no display or no such
 * monitor, QH_ERR_SYSTEM when the display lacks what capture needs.
 */
int screen_open(int index, struct screen **sp, char *why, size_t whylen);

/* Releases everything; s may be NULL. Input still held is released first. */
void screen_close(struct screen *s);

/* The monitor's current size. */
void screen_size(const struct screen *s, int *w, int *h);

/*
 * A descriptor to watch for readability (the display connection), or -1.
 * When it is readable, and after each grab, call screen_process.
 */
int screen_fd(const struct screen *s);

/*
 * Handles what the display sent: clipboard requests and changes (the
 * callback runs from here), keyboard and monitor changes. Returns 0 or
 * QH_ERR_CLOSED when the display is gone.
 */
int screen_process(struct screen *s);

/*
 * Copies the monitor into dst (w x h pixels, stride in pixels). With full
 * set, or when the backend cannot tell what changed, all of it; otherwise
 * only what changed since the previous grab into the same dst, plus the
 * nalso rectangles {x, y, w, h} in also (parts the caller drew over). *d
 * says what was refreshed. Returns 0, QH_ERR_AGAIN when the monitor no
 * longer has that size (ask screen_size and grab again, full), or
 * QH_ERR_CLOSED / QH_ERR_SYSTEM when capture failed.
 */
int screen_grab(struct screen *s, uint32_t *dst, int w, int h, size_t stride, int full,
    const int (*also)[4], int nalso, struct screen_damage *d);

/*
 * 1 when the backend knows that nothing on the monitor changed since the
 * last grab (the pointer aside), 0 when something did or it cannot tell.
 */
int screen_unchanged(struct screen *s);

/*
 * Sets who hears (from screen_process) that the monitor changed after a
 * grab, so that a caller waiting for changes can grab at once.
 */
void screen_damage_watch(struct screen *s, void (*fn)(void *arg), void *arg);

/*
 * The pointer's position relative to the monitor (it may lie outside) and
 * its shape. Returns 0 or <0 (nothing known).
 */
int screen_pointer(struct screen *s, int *x, int *y, struct screen_cursor *c);

/* A key down (1) or up (0), as an X keysym; 0 or <0 (no such key). */
int screen_key(struct screen *s, int down, uint32_t keysym);

/* The pointer at x, y of the monitor with RFB's button mask (bit 0 = left). */
int screen_buttons(struct screen *s, uint8_t mask, int x, int y);

/* Offers text as the customer's clipboard; 0 or <0. */
int screen_clip_set(struct screen *s, const char *text, size_t len);

/* Sets who hears of clipboard changes made on the customer's side (NULL: nobody). */
void screen_clip_watch(struct screen *s, screen_clip_fn fn, void *arg);

#endif
