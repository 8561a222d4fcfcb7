/*
 * What the customer reads: lines on stdout, flushed at once (stdout is
 * often a pipe or a log file), with every control character of text that
 * came from the console or a technician made harmless first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qh/display.h"
#include "agent.h"

void
ui_sanitize(char *s)
{
	if (s != NULL)
		qh_display_str(s, s, strlen(s) + 1, 0);
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
