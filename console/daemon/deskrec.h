/*
 * Desktop recordings: what a technician saw of the customer's screen,
 * kept as the two directions of the desktop relay with their times, so
 * that the console parses no RFB at all. STATE/recordings/SESSION/
 * EVENT-desktop.fbs is the agent's (the server's) stream as FBS 001.000,
 * which rfbproxy-style players and `qh-console replay` read;
 * EVENT-desktop.client.fbs beside it is the viewer's stream in the same
 * format, from which replay learns the pixel format and encodings the
 * viewer asked for. Both use one clock (milliseconds since the desktop
 * started). Within one millisecond a reader puts the server's block
 * first; the writer keeps that true by stamping a server block that
 * follows a viewer's block in the same millisecond one millisecond later.
 */
#ifndef QH_DAEMON_DESKREC_H
#define QH_DAEMON_DESKREC_H

#include <stddef.h>
#include <stdint.h>

struct deskrec;

/*
 * Starts the two files of audit row event in session. Returns NULL
 * (logged) if they cannot be made; the desktop goes on unrecorded then.
 */
struct deskrec *deskrec_open(const char *state_dir, int64_t session, int64_t event);

/*
 * Appends bytes that passed the relay: from the viewer (from_viewer 1) or
 * from the agent. A write error is logged once and ends the recording;
 * rec NULL is fine.
 */
void deskrec_data(struct deskrec *rec, int from_viewer, const uint8_t *p, size_t len);

/* Flushes, syncs and closes both files; NULL is fine. */
void deskrec_close(struct deskrec *rec);

#endif
