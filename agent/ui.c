/*
 * What the customer reads: lines on stdout, flushed at once (stdout is
 * often a pipe or a log file), with every control character of text that
 * came from the console or a technician made harmless first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"

void
ui_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* A C1 control (U+0080..U+009F) in UTF-8: both bytes. */
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

static void
ui_vline(const char *stamp, const char *fmt, va_list ap)
{
	char text[2048];

	vsnprintf(text, sizeof(text), fmt, ap);
	ui_sanitize(text);
	if (stamp != NULL)
		printf("[%s] %s\n", stamp, text);
	else
		printf("%s\n", text);
	fflush(stdout);
}

void
ui_notice(const char *fmt, ...)
{
	char stamp[16];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "--:--:--");
	va_start(ap, fmt);
	ui_vline(stamp, fmt, ap);
	va_end(ap);
}

void
ui_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ui_vline(NULL, fmt, ap);
	va_end(ap);
}
