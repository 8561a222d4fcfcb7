/*
 * The one display filter (STYLE rule 19): text that came from a peer, a
 * customer or another technician passes here before it reaches a
 * terminal, on the console, the technician's client and the agent alike.
 *
 * UTF-8 is shown as it is ("Büro-PC"). C0 controls, DEL, C1 controls
 * (U+0080..U+009F) and every byte that starts no valid UTF-8 sequence (a
 * stray continuation byte, an overlong form, a surrogate, a code point
 * past U+10FFFF, a cut sequence) are replaced by one '?' each: per code
 * point for a control, per byte for invalid UTF-8, so a stored text can
 * neither drive the reader's terminal (titles, clearing, cursor moves) nor
 * hide what follows it. On one line (flags 0) tab, line feed and carriage
 * return become a space, so a text cannot start a line that looks like
 * one of ours; with QH_DISPLAY_LINES tabs and line feeds stay and CR LF
 * becomes LF. The shown form is never longer than the text.
 *
 * Identity fields (an agent's host name, a customer's name) must pass
 * qh_display_clean() where they enter, and are refused otherwise. JSON
 * output does not pass here: the JSON builder escapes what it writes, so
 * it stays exact.
 */
#ifndef QH_DISPLAY_H
#define QH_DISPLAY_H

#include <stddef.h>
#include <stdio.h>

#include "qh/buf.h"

#define QH_DISPLAY_LINES 0x1 /* text of several lines: keep LF and tab */

/*
 * 1 when the len bytes at p are valid UTF-8 with no C0 control (NUL
 * included), DEL or C1 control, that is when the filter would show them
 * unchanged on one line; 0 otherwise. p may be NULL when len is 0.
 */
int qh_display_clean(const void *p, size_t len);

/*
 * Appends the shown form of the len bytes at p to out. Returns 0, or
 * out's kept error (QH_ERR_TOO_LARGE) when it is full: out then holds its
 * error, so a caller that checks it once never prints half a text.
 */
int qh_display_put(struct qh_buf *out, const void *p, size_t len, unsigned flags);

/*
 * Writes the shown form of the len bytes at p to f. Returns 0, or
 * QH_ERR_SYSTEM when a write fails (errno says why).
 */
int qh_display_write(FILE *f, const void *p, size_t len, unsigned flags);

/*
 * The shown form of the string s in out (size bytes, at least 1), always
 * terminated; a form longer than out is cut at a character boundary. out
 * may be s itself, since the form is never longer. s NULL gives "".
 * Returns out, for printf's arguments.
 */
char *qh_display_str(const char *s, char *out, size_t size, unsigned flags);

#endif
