/*
 * Text for people on stdout and stderr (qh/out.h): UTF-8 bytes as they
 * are, except to a Windows console, which gets UTF-16 through
 * WriteConsoleW so that umlauts show whatever its code page is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <io.h>
#include <windows.h>
#endif

#include "qh/err.h"
#include "qh/out.h"

#define OUT_LINE_MAX 8192

#ifdef _WIN32
/* The console f writes to, or NULL when it is a pipe, a file or closed. */
static HANDLE
console_of(FILE *f)
{
	DWORD mode;
	HANDLE h;
	int fd = _fileno(f);

	if (fd < 0)
		return NULL;
	h = (HANDLE)_get_osfhandle(fd);
	if (h == INVALID_HANDLE_VALUE || h == NULL || !GetConsoleMode(h, &mode))
		return NULL;
	return h;
}

/* Converts to UTF-16 and hands it to the console in one or more calls. */
static int
console_write(HANDLE h, const char *s, size_t len)
{
	wchar_t small[1024], *w = small;
	DWORD done;
	int n, off = 0, r = 0;

	if (len == 0)
		return 0;
	if (len > (size_t)OUT_LINE_MAX * 16)
		len = (size_t)OUT_LINE_MAX * 16;
	n = MultiByteToWideChar(CP_UTF8, 0, s, (int)len, NULL, 0);
	if (n <= 0)
		return QH_ERR_FORMAT;
	if ((size_t)n > sizeof(small) / sizeof(small[0]) &&
	    (w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return QH_ERR_NOMEM;
	n = MultiByteToWideChar(CP_UTF8, 0, s, (int)len, w, n);
	while (off < n) {
		if (!WriteConsoleW(h, w + off, (DWORD)(n - off), &done, NULL) ||
		    done == 0) {
			r = QH_ERR_SYSTEM;
			break;
		}
		off += (int)done;
	}
	if (w != small)
		free(w);
	return r;
}
#endif

int
qh_out_write(FILE *f, const char *s, size_t len)
{
#ifdef _WIN32
	HANDLE h = console_of(f);

	if (h != NULL) {
		fflush(f);
		if (console_write(h, s, len) == 0)
			return 0;
		/* Not UTF-8 after all, or the console refused: the bytes then. */
	}
#endif
	if (len > 0 && fwrite(s, 1, len, f) != len)
		return QH_ERR_SYSTEM;
	return 0;
}

int
qh_out_puts(FILE *f, const char *s)
{
	return qh_out_write(f, s, strlen(s));
}

int
qh_out_vprintf(FILE *f, const char *fmt, va_list ap)
{
	char line[OUT_LINE_MAX];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return QH_ERR_FORMAT;
	return qh_out_write(f, line,
	    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int
qh_out_printf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = qh_out_vprintf(f, fmt, ap);
	va_end(ap);
	return r;
}
