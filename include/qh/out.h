/*
 * Text for people on stdout and stderr. Our texts are UTF-8 ("Sitzung
 * beendet, Guthaben: 7 Einheiten"). On Windows a console shows them right
 * only when they reach it as UTF-16 through WriteConsoleW, whatever its
 * code page; so when f is a console there, the text goes that way. A pipe,
 * a file and every POSIX terminal get the UTF-8 bytes as they are.
 */
#ifndef QH_OUT_H
#define QH_OUT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Writes len bytes of UTF-8 text to f (stdout or stderr). Returns 0, or
 * QH_ERR_SYSTEM when the write failed. f's buffer is flushed first when
 * the text goes to a console, so the order of lines holds.
 */
int qh_out_write(FILE *f, const char *s, size_t len);

/* The same for a NUL-terminated text. */
int qh_out_puts(FILE *f, const char *s);

/* printf to f through qh_out_write; a line longer than 8 KiB is cut. */
int qh_out_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int qh_out_vprintf(FILE *f, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
