/*
 * The files the pages are made of, compiled into qh-console at build time
 * (scripts/web2c.py): our own from console/web/www/, xterm.js from
 * console/web/vendor/ (pinned, with checksums and licence: its README).
 */
#ifndef QH_WEB_ASSETS_H
#define QH_WEB_ASSETS_H

#include <stddef.h>
#include <stdint.h>

struct web_asset {
	const char *path; /* "/index.html" */
	const char *type; /* its Content-Type */
	const uint8_t *data;
	size_t len;
};

/* The asset served at path, or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
