/*
 * What was done for the money: sessions with their technicians, their
 * audit rows (session_events: each technician command from start to end
 * with what it reported, agent gaps, consents, recordings) and their
 * recordings (STATE/recordings/SESSION/NAME.cast, each with its size and
 * what its asciicast header says about it; EVENT-desktop.fbs, a desktop's
 * server stream, with the technician of its audit row, the viewer's stream
 * beside it, NAME.client.fbs, belonging to it).
 *
 * Event details are JSON the console wrote; they are handed on as objects
 * only after SQLite's json_valid() agreed, and cast headers are read
 * (bounded) through json_extract(), so no hand-written parser touches
 * either.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "store.h"

#define HEADER_MAX (64 * 1024) /* the first line of a .cast */
#define MAX_CASTS  4096	       /* recordings listed per session */

/* Text of column i, or NULL for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Fills s from a row of the sessions query. */
static void
session_row_of(sqlite3_stmt *st, struct session_row *s)
{
	s->id = sqlite3_column_int64(st, 0);
	s->customer = col(st, 1);
	s->agent = col(st, 2);
	s->code = col(st, 3);
	s->kind = col(st, 4);
	s->ticket = sqlite3_column_int64(st, 5); /* 0 for NULL */
	s->opened_at = col(st, 6);
	s->closed_at = col(st, 7);
	s->close_reason = col(st, 8);
	s->billable_seconds = sqlite3_column_int64(st, 9);
	s->after_hours = sqlite3_column_int64(st, 10) != 0;
	s->overdraft_by = col(st, 11);
	s->note = col(st, 12);
	s->debited_units = sqlite3_column_type(st, 13) == SQLITE_NULL
	    ? -1
	    : -sqlite3_column_int64(st, 13);
	s->internal_note = col(st, 14);
}

#define SESSION_COLUMNS                                                                  \
	"SELECT s.id, s.customer_id, s.agent_id, s.code, s.kind, s.ticket_id, "          \
	"s.opened_at, s.closed_at, s.close_reason, s.billable_seconds, s.after_hours, "  \
	"s.overdraft_by, s.note, (SELECT l.units FROM ledger l WHERE l.session_id = "    \
	"s.id AND l.kind IN ('session', 'installation')), s.internal_note "              \
	"FROM sessions s "

int
db_session_list(sqlite3 *db, const char *customer,
    int (*row)(void *arg, const struct session_row *s), void *arg)
{
	struct session_row s;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
		 customer != NULL ? SESSION_COLUMNS
		     "WHERE s.customer_id = ?1 ORDER BY s.id"
				  : SESSION_COLUMNS "ORDER BY s.id",
		 &st)) != 0)
		return r;
	if (customer != NULL)
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		session_row_of(st, &s);
		if ((r = row(arg, &s)) != 0)
			goto out;
	}
	r = db_error(db, rc, "sessions");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_session_technicians(sqlite3 *db, int64_t session,
    int (*row)(void *arg, const char *login), void *arg)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_stmt(db,
		 "SELECT login FROM session_events WHERE session_id = ?1 "
		 "AND kind = 'attach' AND login IS NOT NULL GROUP BY login ORDER BY "
		 "min(id)",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (col(st, 0) != NULL && (r = row(arg, col(st, 0))) != 0)
			goto out;
	r = db_error(db, rc, "technicians");
out:
	db_done(st);
	return r;
}

int
db_session_events(sqlite3 *db, int64_t session,
    int (*row)(void *arg, const struct event_row *e), void *arg)
{
	struct event_row e;
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* The detail as minified JSON when it is an object, else NULL. */
	if ((r = db_stmt(db,
		 "SELECT id, kind, login, command, started_at, ended_at, "
		 "CASE WHEN json_valid(detail) AND json_type(detail) = 'object' "
		 "THEN json(detail) END, detail FROM session_events WHERE session_id = "
		 "?1 ORDER BY id",
		 &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, session);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e.id = sqlite3_column_int64(st, 0);
		e.kind = col(st, 1);
		e.login = col(st, 2);
		e.command = col(st, 3);
		e.started_at = col(st, 4);
		e.ended_at = col(st, 5);
		e.detail_json = col(st, 6);
		e.detail = col(st, 7);
		if ((r = row(arg, &e)) != 0)
			goto out;
	}
	r = db_error(db, rc, "events");
out:
	db_done(st);
	return r;
}

/* Recordings. */

/* Copies a text column of the header query into out ("" for NULL or not text). */
static void
header_field(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *v = col(st, i);

	snprintf(out, len, "%s",
	    v != NULL && sqlite3_column_type(st, i) == SQLITE_TEXT ? v : "");
}

/* Reads a cast file's header line (bounded) and what it says about itself. */
static void
read_cast_header(sqlite3 *db, struct recording_info *k)
{
	sqlite3_stmt *st = NULL;
	char *line = NULL, src[64];
	size_t n;
	FILE *f;

	snprintf(k->source, sizeof(k->source), "unknown");
	if ((f = fopen(k->path, "re")) == NULL)
		return;
	if ((line = malloc(HEADER_MAX + 1)) == NULL)
		goto out;
	if (fgets(line, HEADER_MAX + 1, f) == NULL)
		goto out;
	if ((n = strlen(line)) > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (db_stmt(db,
		"SELECT CASE WHEN json_valid(?1) THEN "
		"json_extract(?1, '$.quarterhour.source') END, "
		"CASE WHEN json_valid(?1) THEN json_extract(?1, '$.quarterhour.kind') "
		"END, "
		"CASE WHEN json_valid(?1) THEN "
		"json_extract(?1, '$.quarterhour.technician') END, "
		"CASE WHEN json_valid(?1) THEN json_extract(?1, '$.quarterhour.target') "
		"END",
		&st) != 0)
		goto out;
	sqlite3_bind_text(st, 1, line, (int)n, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		header_field(st, 0, src, sizeof(src));
		if (strncmp(src, "reported", 8) == 0)
			snprintf(k->source, sizeof(k->source), "reported");
		else if (strncmp(src, "relayed", 7) == 0)
			snprintf(k->source, sizeof(k->source), "relayed");
		header_field(st, 1, k->kind, sizeof(k->kind));
		header_field(st, 2, k->technician, sizeof(k->technician));
		header_field(st, 3, k->target, sizeof(k->target));
	}
	db_done(st);
out:
	free(line);
	fclose(f);
}

/*
 * A desktop recording (EVENT-KIND.fbs) has no header: its kind is in its
 * name, its technician in its audit row, and the console relayed it.
 */
static void
read_fbs_info(sqlite3 *db, struct recording_info *k)
{
	sqlite3_stmt *st = NULL;
	const char *dash = strchr(k->name, '-');
	size_t len = strlen(k->name);

	snprintf(k->source, sizeof(k->source), "relayed");
	if (dash != NULL && (size_t)(k->name + len - 4 - (dash + 1)) < sizeof(k->kind))
		snprintf(k->kind, sizeof(k->kind), "%.*s",
		    (int)(k->name + len - 4 - (dash + 1)), dash + 1);
	if (db_stmt(db, "SELECT login FROM session_events WHERE id = ?1", &st) != 0)
		return;
	sqlite3_bind_int64(st, 1, k->event);
	if (sqlite3_step(st) == SQLITE_ROW)
		header_field(st, 0, k->technician, sizeof(k->technician));
	db_done(st);
}

/* 1 if name is a recording: NAME.cast, or a desktop's NAME.fbs (its viewer side aside).
 */
static int
recording_name(const char *name, size_t len, int *fbs)
{
	*fbs = len > 4 && strcmp(name + len - 4, ".fbs") == 0 &&
	    !(len > 11 && strcmp(name + len - 11, ".client.fbs") == 0);
	return *fbs || (len > 5 && strcmp(name + len - 5, ".cast") == 0);
}

/* Recordings in the order they were made: by the audit row in their name. */
static int
cast_cmp(const void *a, const void *b)
{
	const struct recording_info *x = a, *y = b;

	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Lists STATE/recordings/ID/NAME.cast into a new array *castsp (caller
 * frees); returns how many. No directory is none.
 */
static int
list_casts(sqlite3 *db, const char *state, int64_t id, struct recording_info **castsp)
{
	struct recording_info *casts = NULL, *k;
	char dir[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t len;
	int n = 0, fbs;
	DIR *dp;

	*castsp = NULL;
	snprintf(dir, sizeof(dir), "%s/recordings/%" PRId64, state, id);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL && n < MAX_CASTS) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || len >= sizeof(k->name) ||
		    !recording_name(de->d_name, len, &fbs))
			continue;
		if (n % 16 == 0) {
			k = realloc(casts, (size_t)(n + 16) * sizeof(*casts));
			if (k == NULL)
				break;
			casts = k;
		}
		k = &casts[n];
		memset(k, 0, sizeof(*k));
		snprintf(k->path, sizeof(k->path), "%s/%s", dir, de->d_name);
		if (stat(k->path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(k->name, sizeof(k->name), "%s", de->d_name);
		k->event = strtoll(de->d_name, NULL, 10);
		k->size = (long long)st.st_size;
		if (fbs)
			read_fbs_info(db, k);
		else
			read_cast_header(db, k);
		n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(casts, (size_t)n, sizeof(*casts), cast_cmp);
	*castsp = casts;
	return n;
}

int
db_session_recordings(sqlite3 *db, const char *state, int64_t session,
    int (*row)(void *arg, const struct recording_info *k), void *arg)
{
	struct recording_info *casts = NULL;
	int i, n, r = 0;

	n = list_casts(db, state, session, &casts);
	for (i = 0; i < n && r == 0; i++)
		r = row(arg, &casts[i]);
	free(casts);
	return r;
}

int
db_sessions_closed_before(sqlite3 *db, int64_t before,
    int (*row)(void *arg, int64_t session), void *arg)
{
	sqlite3_stmt *st = NULL;
	char cutoff[32];
	int r, rc;

	qh_clock_format_utc(before, cutoff, sizeof(cutoff));
	if ((r = db_stmt(db,
		 "SELECT id FROM sessions WHERE closed_at IS NOT NULL AND "
		 "closed_at < ?1",
		 &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = row(arg, sqlite3_column_int64(st, 0))) != 0)
			goto out;
	r = db_error(db, rc, "sessions closed before");
out:
	db_done(st);
	return r;
}
