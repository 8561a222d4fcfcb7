/*
 * The desktop capture backend on Windows (agent/screen.h): not there yet.
 * GDI capture works on Windows and under Wine (docs/windows-notes.md, g.),
 * but input injection (SendInput with keysyms mapped to virtual keys), the
 * secure desktop (UAC prompts) and clipboard formats are still to be done;
 * until then a technician's `desktop` is refused with that reason, and
 * everything else works.
 */
#include <stdio.h>

#include "qh/err.h"
#include "screen.h"

int
screen_open(int index, struct screen **sp, char *why, size_t whylen)
{
	*sp = NULL;
	snprintf(why, whylen,
	    "this agent does not share a Windows desktop yet; exec, attach, push, "
	    "pull and forward work");
	return QH_ERR_REFUSED;
}

void
screen_close(struct screen *s)
{
}

void
screen_size(const struct screen *s, int *w, int *h)
{
	*w = *h = 0;
}

int
screen_fd(const struct screen *s)
{
	return -1;
}

int
screen_process(struct screen *s)
{
	return QH_ERR_CLOSED;
}

int
screen_grab(struct screen *s, uint32_t *dst, int w, int h, size_t stride, int full,
    const int (*also)[4], int nalso, struct screen_damage *d)
{
	return QH_ERR_CLOSED;
}

int
screen_unchanged(struct screen *s)
{
	return 0;
}

void
screen_damage_watch(struct screen *s, void (*fn)(void *arg), void *arg)
{
}

int
screen_pointer(struct screen *s, int *x, int *y, struct screen_cursor *c)
{
	return QH_ERR_CLOSED;
}

int
screen_key(struct screen *s, int down, uint32_t keysym)
{
	return QH_ERR_CLOSED;
}

int
screen_buttons(struct screen *s, uint8_t mask, int x, int y)
{
	return QH_ERR_CLOSED;
}

int
screen_clip_set(struct screen *s, const char *text, size_t len)
{
	return QH_ERR_CLOSED;
}

void
screen_clip_watch(struct screen *s, screen_clip_fn fn, void *arg)
{
}
