/*
 * A small PNG writer over zlib: 8-bit RGB, no interlace, each row
 * filtered with "sub" or "none", whichever is likely smaller. For
 * `qh-agent ticket --screenshot` and for frames of desktop recordings.
 */
#ifndef QH_PNG_H
#define QH_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

/* Largest width or height we write. */
#define PNG_SIZE_MAX 65535

/*
 * Appends a PNG of w x h XRGB pixels (stride in pixels) to out. Returns 0,
 * QH_ERR_ARG for an empty or oversized image, QH_ERR_TOO_LARGE when out
 * cannot hold it (out then holds a partial image: reset it), or
 * QH_ERR_NOMEM.
 */
int png_write(struct qh_buf *out, const uint32_t *px, int w, int h, size_t stride);

/* Writes the same to a file (created or truncated, mode 0600); 0 or <0. */
int png_write_file(const char *path, const uint32_t *px, int w, int h, size_t stride);

#endif
