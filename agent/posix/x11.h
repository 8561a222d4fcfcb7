/*
 * Internals of the X11 capture backend, shared by its files: screen_x11.c
 * (connection, monitors, pointer, events), grab_x11.c (capture with
 * MIT-SHM and DAMAGE), input_x11.c (XTEST keys and buttons) and
 * clip_x11.c (the CLIPBOARD selection).
 */
#ifndef QH_AGENT_X11_H
#define QH_AGENT_X11_H

#include <xcb/xcb.h>

#include "screen.h"

/* Spare keycodes we bind to keysyms the keyboard map lacks (used in turn). */
#define X11_SPARE_MAX 8
/* Longest clipboard text kept either way. */
#define X11_CLIP_MAX (256 * 1024)
/* Largest cursor image passed on, each side. */
#define X11_CURSOR_MAX 256

struct screen {
	xcb_connection_t *c;
	xcb_screen_t *xs;
	xcb_window_t root;
	int index;	    /* the monitor asked for */
	int mx, my, mw, mh; /* its geometry on the root window */
	int swap;	    /* the server's pixel byte order is not ours */
	int randr_event;    /* first event number of RANDR, -1 without */
	int xfixes_event;   /* first event number of XFIXES, -1 without */
	int damage_event;   /* first event number of DAMAGE, -1 without */

	/* DAMAGE: what changed on the root window since the last grab. */
	uint32_t damage; /* xcb_damage_damage_t */
	uint32_t region; /* xcb_xfixes_region_t the damage is moved into */
	int damaged;	 /* a DamageNotify came since the last grab */
	void (*damage_fn)(void *arg);
	void *damage_arg;

	/* MIT-SHM capture, or GetImage without it. */
	int shm;
	uint32_t seg; /* xcb_shm_seg_t */
	void *shm_addr;
	size_t shm_size;

	/* The pointer's shape, not premultiplied. */
	uint32_t *cur; /* X11_CURSOR_MAX^2 */
	int cur_w, cur_h, cur_hx, cur_hy;
	uint32_t cur_serial;

	/* Keyboard map: keysyms_per * (max - min + 1) keysyms. */
	uint32_t *keymap;
	int key_min, key_max, keysyms_per;
	uint8_t spare[X11_SPARE_MAX];
	int nspare, next_spare;
	uint8_t down[256]; /* keycodes we hold down, with the keysym that did */
	uint32_t down_sym[256];
	uint8_t buttons; /* RFB mask last sent */

	/* Clipboard. */
	xcb_window_t win; /* owns our selection and receives conversions */
	xcb_atom_t a_clipboard, a_utf8, a_targets, a_text, a_prop, a_incr;
	char *clip; /* our text while we own CLIPBOARD */
	size_t clip_len;
	screen_clip_fn clip_fn;
	void *clip_arg;
};

/* input_x11.c */
int x11_input_init(struct screen *s);
void x11_input_release_all(struct screen *s);
void x11_input_free(struct screen *s);
/* Reloads the keyboard map (after a MappingNotify). */
int x11_keymap_load(struct screen *s);

/* clip_x11.c */
int x11_clip_init(struct screen *s);
void x11_clip_free(struct screen *s);
/* Handles one event if it is about the clipboard; 1 if it was. */
int x11_clip_event(struct screen *s, xcb_generic_event_t *ev);

/* grab_x11.c */
/* A shared segment for the monitor's pixels (MIT-SHM), or none (s->shm = 0). */
void x11_shm_setup(struct screen *s);
void x11_shm_free(struct screen *s);
/* Starts watching the root window's damage; without DAMAGE, nothing. */
void x11_damage_init(struct screen *s);
/* Handles one event if it is DAMAGE's; 1 if it was. */
int x11_damage_event(struct screen *s, xcb_generic_event_t *ev);

/* screen_x11.c */
xcb_atom_t x11_atom(xcb_connection_t *c, const char *name);

#endif
