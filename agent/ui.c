/*
 * What the customer reads: lines on stdout, flushed at once (stdout is
 * often a pipe or a log file; a Windows console gets them through
 * WriteConsoleW, qh/out.h), with every control character of text that
 * came from the console or a technician made harmless first; and, when
 * there is one, the window's side of it: what the technician does goes to
 * its list, and what the customer clicks comes back as queued events.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qh/display.h"
#include "qh/out.h"
#include "agent.h"

#define UI_EVENTS_MAX 32

static const struct ui_window *window;

/* Events from the window's thread; the mutex guards all of these. */
static uv_once_t events_once = UV_ONCE_INIT;
static uv_mutex_t events_mutex;
static struct {
	enum ui_event ev;
	uint64_t id;
} events[UI_EVENTS_MAX];
static int nevents;
static uv_async_t *events_async;

static void
events_init(void)
{
	if (uv_mutex_init(&events_mutex) != 0)
		abort();
}

void
ui_set_window(const struct ui_window *w)
{
	window = w;
}

const struct ui_window *
ui_window(void)
{
	return window;
}

void
ui_post(enum ui_event ev, uint64_t id)
{
	uv_once(&events_once, events_init);
	uv_mutex_lock(&events_mutex);
	/* A full queue drops the oldest question's answer, never an End. */
	if (nevents == UI_EVENTS_MAX) {
		memmove(&events[0], &events[1], sizeof(events[0]) * (UI_EVENTS_MAX - 1));
		nevents--;
	}
	events[nevents].ev = ev;
	events[nevents].id = id;
	nevents++;
	if (events_async != NULL)
		uv_async_send(events_async);
	uv_mutex_unlock(&events_mutex);
}

void
ui_bind(uv_async_t *async)
{
	uv_once(&events_once, events_init);
	uv_mutex_lock(&events_mutex);
	events_async = async;
	if (async != NULL && nevents > 0)
		uv_async_send(async);
	uv_mutex_unlock(&events_mutex);
}

int
ui_take(enum ui_event *ev, uint64_t *id)
{
	int got = 0;

	uv_once(&events_once, events_init);
	uv_mutex_lock(&events_mutex);
	if (nevents > 0) {
		*ev = events[0].ev;
		*id = events[0].id;
		memmove(&events[0], &events[1],
		    sizeof(events[0]) * (size_t)(nevents - 1));
		nevents--;
		got = 1;
	}
	uv_mutex_unlock(&events_mutex);
	return got;
}

void
ui_sanitize(char *s)
{
	if (s != NULL)
		qh_display_str(s, s, strlen(s) + 1, 0);
}

static void
ui_vline(const char *stamp, const char *fmt, va_list ap)
{
	char text[2048], line[2100];

	vsnprintf(text, sizeof(text), fmt, ap);
	ui_sanitize(text);
	if (stamp != NULL)
		qh_out_printf(stdout, "[%s] %s\n", stamp, text);
	else
		qh_out_printf(stdout, "%s\n", text);
	fflush(stdout);
	/* A notice is something that happens on this PC: the window lists it. */
	if (stamp != NULL && window != NULL) {
		snprintf(line, sizeof(line), "%.5s  %s", stamp, text);
		window->activity(line);
	}
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
