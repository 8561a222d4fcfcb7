/*
 * Line-oriented logging to stderr (or a file given with qh_log_to), with a
 * level filter and UTC timestamps. Every line passes the display filter on
 * its way out: a log is read on a terminal, and a peer's words (a host, an
 * argv) may be in it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "qh/display.h"
#include "qh/log.h"
#include "qh/out.h"

static const char *log_prog = "qh";
static enum qh_log_level log_max = QH_LOG_INFO;
static FILE *log_file; /* NULL: stderr */

static const char *const level_names[] = {
	[QH_LOG_ERROR] = "error",
	[QH_LOG_WARN] = "warn",
	[QH_LOG_INFO] = "info",
	[QH_LOG_DEBUG] = "debug",
};

void
qh_log_to(FILE *f)
{
	log_file = f;
}

void
qh_log_init(const char *prog, enum qh_log_level level)
{
	log_prog = prog;
	log_max = level;
}

int
qh_log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

enum qh_log_level
qh_log_level(void)
{
	return log_max;
}

static void
log_vwrite(enum qh_log_level level, const char *func, const char *fmt, va_list ap)
{
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	qh_display_str(line, line, sizeof(line), 0);
	qh_out_printf(log_file != NULL ? log_file : stderr, "%s.%03ldZ %s %s: %s: %s\n",
	    stamp, ts.tv_nsec / 1000000, level_names[level], log_prog, func, line);
}

void
qh_log_write(enum qh_log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	log_vwrite(level, func, fmt, ap);
	va_end(ap);
}

void
qh_say(const char *fmt, ...)
{
	char line[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	qh_out_printf(log_file != NULL ? log_file : stderr, "%s: %s\n", log_prog,
	    qh_display_str(line, line, sizeof(line), 0));
}

void
qh_log_ssl_errors(enum qh_log_level level, const char *func, const char *what)
{
	unsigned long e;
	char text[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		qh_log_write(level, func, "%s: %s", what, text);
	}
}

void
qh_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(QH_LOG_ERROR, "fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
