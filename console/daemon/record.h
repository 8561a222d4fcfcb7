/*
 * Session recordings: every interactive shell (and every ssh terminal its
 * technician's client reports) is written as an asciicast v2 file under
 * STATE/recordings/SESSION/, output and resizes with their times, the
 * technician's identity in the header.
 */
#ifndef QH_CONSOLE_RECORD_H
#define QH_CONSOLE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct recording;

/*
 * Starts STATE/recordings/SESSION/EVENT-KIND.cast. reported is 1 when the
 * bytes come from the technician's client (ssh) rather than through the
 * console. Returns NULL (logged) if the file cannot be made.
 */
struct recording *recording_open(const char *state_dir, int64_t session, int64_t event,
    const char *kind, const char *login, const char *name, unsigned cols, unsigned rows,
    const char *term, const char *target, int reported);

/* Appends terminal output (any bytes; invalid UTF-8 becomes U+FFFD). */
void recording_output(struct recording *rec, const uint8_t *p, size_t len);

void recording_resize(struct recording *rec, unsigned cols, unsigned rows);

/* Flushes and closes; NULL is fine. */
void recording_close(struct recording *rec);

/* Removes recordings of sessions closed more than days ago; returns how many. */
int recording_expire(const char *state_dir, sqlite3 *db, long long days);

#endif
