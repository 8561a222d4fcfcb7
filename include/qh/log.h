/*
 * Logging. One macro family that records the calling function; every line
 * goes to stderr as "LEVEL prog: func: text", through the display filter
 * (qh/display.h) as one line. Never log a payload, a key or a token: log
 * its length or its fingerprint instead.
 */
#ifndef QH_LOG_H
#define QH_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum qh_log_level {
	QH_LOG_ERROR, /* the operation or connection failed */
	QH_LOG_WARN,  /* a peer misbehaved or a limit was hit */
	QH_LOG_INFO,  /* lifecycle: connects, sessions, commands */
	QH_LOG_DEBUG, /* state transitions */
};

/* Sets the program name printed in each line and the most verbose level. */
void qh_log_init(const char *prog, enum qh_log_level level);

/*
 * Sends log lines and qh_say's lines to f (unbuffered lines are the
 * caller's choice) instead of stderr; NULL goes back to stderr. For a
 * program without a console: the Windows agent's service.
 */
void qh_log_to(FILE *f);

/* Parses "error", "warn", "info" or "debug"; returns -1 if none matches. */
int qh_log_level_parse(const char *s);

enum qh_log_level qh_log_level(void);

void qh_log_write(enum qh_log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "prog: text" on stderr for a command-line user (no level, no func), filtered. */
void qh_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs OpenSSL's error queue at the given level and clears it. */
void qh_log_ssl_errors(enum qh_log_level level, const char *func, const char *what);

#define qh_error(...) qh_log_write(QH_LOG_ERROR, __func__, __VA_ARGS__)
#define qh_warn(...)  qh_log_write(QH_LOG_WARN, __func__, __VA_ARGS__)
#define qh_info(...)  qh_log_write(QH_LOG_INFO, __func__, __VA_ARGS__)
#define qh_debug(...)                                                                    \
	do {                                                                             \
		if (qh_log_level() >= QH_LOG_DEBUG)                                      \
			qh_log_write(QH_LOG_DEBUG, __func__, __VA_ARGS__);               \
	} while (0)

/* Exits with status 1 after logging; only at start-up or for a broken invariant. */
void qh_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
