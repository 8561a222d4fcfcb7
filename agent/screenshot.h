/*
 * A screenshot of the primary monitor as a PNG file (screenshot.c), for
 * tickets.
 */
#ifndef QH_AGENT_SCREENSHOT_H
#define QH_AGENT_SCREENSHOT_H

#include <stddef.h>

/*
 * Captures the primary monitor with the pointer and writes it to path
 * (created or truncated, private). Returns 0 with its size in *w, *h, or
 * <0 with one sentence in why (no display, a Wayland session, the file).
 * Blocks for the capture and the encoding: a second or so.
 */
int screenshot_png(const char *path, int *w, int *h, char *why, size_t whylen);

#endif
