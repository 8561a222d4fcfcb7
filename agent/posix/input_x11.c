/*
 * Input for the X11 backend through XTEST. A keysym becomes a keycode by a
 * lookup in the core keyboard map (first group, unshifted then shifted);
 * Shift is pressed or released around a key whose level needs it, so "A",
 * ">" or "a" type what they say whatever the viewer sent before. A keysym
 * the map lacks is bound to a spare keycode for the moment (as x11vnc
 * does). Every key and button we hold is remembered, so closing releases
 * them: nothing stays pressed on the customer's desktop.
 */
#include <stdlib.h>
#include <string.h>

#include <xcb/xtest.h>

#include "qh/err.h"
#include "qh/log.h"
#include "x11.h"

#define XK_Shift_L 0xffe1
#define XK_Shift_R 0xffe2

int
x11_keymap_load(struct screen *s)
{
	const xcb_setup_t *setup = xcb_get_setup(s->c);
	xcb_get_keyboard_mapping_reply_t *r;
	const xcb_keysym_t *syms;
	int n, code, k, empty;
	size_t len;

	n = setup->max_keycode - setup->min_keycode + 1;
	r = xcb_get_keyboard_mapping_reply(s->c,
	    xcb_get_keyboard_mapping(s->c, setup->min_keycode, (uint8_t)n), NULL);
	if (r == NULL || r->keysyms_per_keycode == 0)
		goto fail;
	len = (size_t)r->keysyms_per_keycode * n;
	if ((size_t)xcb_get_keyboard_mapping_keysyms_length(r) < len)
		goto fail;
	free(s->keymap);
	if ((s->keymap = malloc(len * sizeof(uint32_t))) == NULL)
		goto fail;
	syms = xcb_get_keyboard_mapping_keysyms(r);
	memcpy(s->keymap, syms, len * sizeof(uint32_t));
	s->key_min = setup->min_keycode;
	s->key_max = setup->max_keycode;
	s->keysyms_per = r->keysyms_per_keycode;
	free(r);
	/* Spare keycodes: no keysym at all, from the top down (keep the ones in use). */
	if (s->nspare == 0)
		for (code = s->key_max; code >= s->key_min && s->nspare < X11_SPARE_MAX;
		     code--) {
			for (k = 0, empty = 1; k < s->keysyms_per; k++)
				empty &= s->keymap[(size_t)(code - s->key_min) *
						 s->keysyms_per +
					     k] == 0;
			if (empty)
				s->spare[s->nspare++] = (uint8_t)code;
		}
	return 0;
fail:
	free(r);
	return QH_ERR_SYSTEM;
}

int
x11_input_init(struct screen *s)
{
	xcb_test_get_version_reply_t *v;

	v = xcb_test_get_version_reply(s->c, xcb_test_get_version(s->c, 2, 2), NULL);
	if (v == NULL) {
		qh_warn("the X display has no XTEST: viewing only");
		return 0;
	}
	free(v);
	return x11_keymap_load(s);
}

void
x11_input_free(struct screen *s)
{
	free(s->keymap);
	s->keymap = NULL;
}

static uint32_t
keysym_at(const struct screen *s, int code, int col)
{
	if (col >= s->keysyms_per)
		return 0;
	return s->keymap[(size_t)(code - s->key_min) * s->keysyms_per + col];
}

/* The keycode and level (0 plain, 1 shifted) of keysym; 0 if the map lacks it. */
static int
lookup(const struct screen *s, uint32_t keysym, int *col)
{
	int code, c;

	for (c = 0; c < 2; c++)
		for (code = s->key_min; code <= s->key_max; code++)
			if (keysym_at(s, code, c) == keysym) {
				*col = c;
				return code;
			}
	/* Upper-case letters of maps that list only the lower case. */
	if (keysym >= 'A' && keysym <= 'Z' && (code = lookup(s, keysym + 32, &c)) != 0 &&
	    c == 0 && keysym_at(s, code, 1) == 0) {
		*col = 1;
		return code;
	}
	return 0;
}

static void
fake(struct screen *s, uint8_t type, uint8_t detail)
{
	xcb_test_fake_input(s->c, type, detail, XCB_CURRENT_TIME, XCB_NONE, 0, 0, 0);
}

/* Binds keysym to the next spare keycode; 0 when there is none. */
static int
bind_spare(struct screen *s, uint32_t keysym)
{
	uint32_t syms[8] = { 0 };
	int code, i, per = s->keysyms_per < 8 ? s->keysyms_per : 8;

	if (s->nspare == 0 || s->keysyms_per > 8)
		return 0;
	code = s->spare[s->next_spare];
	s->next_spare = (s->next_spare + 1) % s->nspare;
	for (i = 0; i < per; i++)
		syms[i] = keysym;
	xcb_change_keyboard_mapping(s->c, 1, (xcb_keycode_t)code, (uint8_t)s->keysyms_per,
	    syms);
	for (i = 0; i < per; i++)
		s->keymap[(size_t)(code - s->key_min) * s->keysyms_per + i] = keysym;
	return code;
}

/* The Shift keycodes we hold down (at most two). */
static int
shifts_held(const struct screen *s, int out[2])
{
	int code, n = 0;

	for (code = s->key_min; code <= s->key_max && n < 2; code++)
		if (s->down[code] &&
		    (s->down_sym[code] == XK_Shift_L || s->down_sym[code] == XK_Shift_R))
			out[n++] = code;
	return n;
}

/* Presses code at level col, with Shift as that level needs. */
static void
press(struct screen *s, int code, int col)
{
	int held[2], n = shifts_held(s, held), i, shift;

	if (col == 1 && n == 0 && (shift = lookup(s, XK_Shift_L, &i)) != 0) {
		fake(s, XCB_KEY_PRESS, (uint8_t)shift);
		fake(s, XCB_KEY_PRESS, (uint8_t)code);
		fake(s, XCB_KEY_RELEASE, (uint8_t)shift);
	} else if (col == 0 && n > 0 && keysym_at(s, code, 1) != 0 &&
	    keysym_at(s, code, 1) != keysym_at(s, code, 0)) {
		for (i = 0; i < n; i++)
			fake(s, XCB_KEY_RELEASE, (uint8_t)held[i]);
		fake(s, XCB_KEY_PRESS, (uint8_t)code);
		for (i = 0; i < n; i++)
			fake(s, XCB_KEY_PRESS, (uint8_t)held[i]);
	} else
		fake(s, XCB_KEY_PRESS, (uint8_t)code);
}

int
screen_key(struct screen *s, int down, uint32_t keysym)
{
	int code, col = 0;

	if (s->keymap == NULL)
		return QH_ERR_SYSTEM;
	if (!down) {
		/* The key that went down for this keysym, whatever the map says now. */
		for (code = s->key_min; code <= s->key_max; code++)
			if (s->down[code] && s->down_sym[code] == keysym)
				break;
		if (code > s->key_max)
			return 0;
		fake(s, XCB_KEY_RELEASE, (uint8_t)code);
		s->down[code] = 0;
		xcb_flush(s->c);
		return 0;
	}
	if ((code = lookup(s, keysym, &col)) == 0 &&
	    (code = bind_spare(s, keysym)) == 0) {
		qh_debug("keysym 0x%x has no keycode", keysym);
		return QH_ERR_NOT_FOUND;
	}
	press(s, code, col);
	s->down[code] = 1;
	s->down_sym[code] = keysym;
	xcb_flush(s->c);
	return 0;
}

int
screen_buttons(struct screen *s, uint8_t mask, int x, int y)
{
	int i;

	if (s->keymap == NULL)
		return QH_ERR_SYSTEM;
	xcb_test_fake_input(s->c, XCB_MOTION_NOTIFY, 0, XCB_CURRENT_TIME, s->root,
	    (int16_t)(x + s->mx), (int16_t)(y + s->my), 0);
	for (i = 0; i < 8; i++)
		if ((mask ^ s->buttons) & (1 << i))
			fake(s, (mask & (1 << i)) ? XCB_BUTTON_PRESS : XCB_BUTTON_RELEASE,
			    (uint8_t)(i + 1));
	s->buttons = mask;
	xcb_flush(s->c);
	return 0;
}

void
x11_input_release_all(struct screen *s)
{
	int code, i;

	if (s->keymap == NULL)
		return;
	for (code = s->key_min; code <= s->key_max; code++)
		if (s->down[code]) {
			fake(s, XCB_KEY_RELEASE, (uint8_t)code);
			s->down[code] = 0;
		}
	for (i = 0; i < 8; i++)
		if (s->buttons & (1 << i))
			fake(s, XCB_BUTTON_RELEASE, (uint8_t)(i + 1));
	s->buttons = 0;
	xcb_flush(s->c);
}
