/*
 * The desktop capture backend on Windows (agent/screen.h): not there yet.
 * GDI capture works on Windows and under Wine (docs/windows-notes.md, g.),
 * but input injection (SendInput with keysyms mapped to virtual keys), the
 * secure desktop (UAC prompts) and clipboard formats are still to be done;
 * until then a technician's `desktop` is refused with that reason, and
 * everything else works.
 */
#include <stdio.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "screen.h"

int
screen_open(int index QH_UNUSED, struct screen **sp, char *why, size_t whylen)
{
	*sp = NULL;
	snprintf(why, whylen,
	    "this agent does not share a Windows desktop yet; exec, attach, push, "
	    "pull and forward work");
	return QH_ERR_REFUSED;
}

void
screen_close(struct screen *s QH_UNUSED)
{
}

void
screen_size(const struct screen *s QH_UNUSED, int *w, int *h)
{
	*w = *h = 0;
}

int
screen_fd(const struct screen *s QH_UNUSED)
{
	return -1;
}

int
screen_process(struct screen *s QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

int
screen_grab(struct screen *s QH_UNUSED, uint32_t *dst QH_UNUSED, int w QH_UNUSED,
    int h QH_UNUSED, size_t stride QH_UNUSED, int full QH_UNUSED,
    const int (*also)[4] QH_UNUSED, int nalso QH_UNUSED,
    struct screen_damage *d QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

int
screen_unchanged(struct screen *s QH_UNUSED)
{
	return 0;
}

void
screen_damage_watch(struct screen *s QH_UNUSED, void (*fn)(void *arg) QH_UNUSED,
    void *arg QH_UNUSED)
{
}

int
screen_pointer(struct screen *s QH_UNUSED, int *x QH_UNUSED, int *y QH_UNUSED,
    struct screen_cursor *c QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

int
screen_key(struct screen *s QH_UNUSED, int down QH_UNUSED, uint32_t keysym QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

int
screen_buttons(struct screen *s QH_UNUSED, uint8_t mask QH_UNUSED, int x QH_UNUSED,
    int y QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

int
screen_clip_set(struct screen *s QH_UNUSED, const char *text QH_UNUSED,
    size_t len QH_UNUSED)
{
	return QH_ERR_CLOSED;
}

void
screen_clip_watch(struct screen *s QH_UNUSED, screen_clip_fn fn QH_UNUSED,
    void *arg QH_UNUSED)
{
}
