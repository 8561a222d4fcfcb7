/*
 * qh-console sessions: what was done for the money. Lists sessions with
 * their technicians, their audit log (session_events: each technician
 * command from start to end with what it reported, agent gaps, consents,
 * recordings) and their recordings (STATE/recordings/SESSION/NAME.cast, each
 * with its size and whether the console relayed the terminal output or
 * the technician's client reported it, as its asciicast header says).
 *
 * Like the accounting commands it opens the database read-only inside one
 * read transaction, so it works while `serve` writes. Event details are
 * JSON the console wrote; they are embedded as objects only after SQLite's
 * json_valid() agreed, and cast headers are read (bounded) through
 * json_extract(), so no hand-written parser touches either.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "admin.h"
#include "store/store.h"

#define OUT_MAX	   (64 * 1024 * 1024) /* one session as JSON */
#define HEADER_MAX (64 * 1024)	      /* the first line of a .cast */
#define MAX_CASTS  4096		      /* recordings listed per session */

/* One recording file of a session. */
struct cast {
	char name[256];
	long long event; /* the leading number: the audit row it belongs to */
	long long size;
	char source[16]; /* relayed | reported | unknown */
	char kind[33];
	char technician[QH_ID_MAX + 1];
	char target[301];
};

/* The statements, prepared once. */
struct sessions_db {
	sqlite3 *db;
	sqlite3_stmt *sessions;
	sqlite3_stmt *events;
	sqlite3_stmt *techs;
	sqlite3_stmt *debit;
	sqlite3_stmt *header;
};

/* Text of column i, or NULL for NULL. */
static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int
prepare_all(struct sessions_db *d, int by_customer)
{
	int r;

	if ((r = db_prepare(d->db,
		 by_customer ? "SELECT id, customer_id, agent_id, code, kind, ticket_id, "
			       "opened_at, closed_at, "
			       "close_reason, billable_seconds, after_hours, "
			       "overdraft_by, note FROM sessions "
			       "WHERE customer_id = ?1 ORDER BY id"
			     : "SELECT id, customer_id, agent_id, code, kind, ticket_id, "
			       "opened_at, closed_at, "
			       "close_reason, billable_seconds, after_hours, "
			       "overdraft_by, note FROM sessions "
			       "ORDER BY id",
		 &d->sessions)) != 0)
		return r;
	/* The detail as minified JSON when it is an object, else NULL. */
	if ((r = db_prepare(d->db,
		 "SELECT id, kind, login, command, started_at, ended_at, "
		 "CASE WHEN json_valid(detail) AND json_type(detail) = 'object' "
		 "THEN json(detail) END, detail FROM session_events WHERE session_id = "
		 "?1 "
		 "ORDER BY id",
		 &d->events)) != 0)
		return r;
	if ((r = db_prepare(d->db,
		 "SELECT login FROM session_events WHERE session_id = ?1 "
		 "AND kind = 'attach' AND login IS NOT NULL GROUP BY login ORDER BY "
		 "min(id)",
		 &d->techs)) != 0)
		return r;
	if ((r = db_prepare(d->db,
		 "SELECT units FROM ledger WHERE session_id = ?1 AND "
		 "kind IN ('session', 'installation')",
		 &d->debit)) != 0)
		return r;
	return db_prepare(d->db,
	    "SELECT CASE WHEN json_valid(?1) THEN "
	    "json_extract(?1, '$.quarterhour.source') END, "
	    "CASE WHEN json_valid(?1) THEN json_extract(?1, '$.quarterhour.kind') END, "
	    "CASE WHEN json_valid(?1) THEN json_extract(?1, '$.quarterhour.technician') "
	    "END, "
	    "CASE WHEN json_valid(?1) THEN json_extract(?1, '$.quarterhour.target') END",
	    &d->header);
}

static void
finalize_all(struct sessions_db *d)
{
	sqlite3_finalize(d->sessions);
	sqlite3_finalize(d->events);
	sqlite3_finalize(d->techs);
	sqlite3_finalize(d->debit);
	sqlite3_finalize(d->header);
}

/* Recordings. */

/* Copies a text column of the header query into out ("" for NULL). */
static void
header_field(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *v = col_text(st, i);

	snprintf(out, len, "%s",
	    v != NULL && sqlite3_column_type(st, i) == SQLITE_TEXT ? v : "");
}

/* Reads a cast file's header line (bounded) and what it says about itself. */
static void
read_cast_header(struct sessions_db *d, const char *path, struct cast *k)
{
	char *line = NULL, src[64];
	size_t n;
	FILE *f;

	snprintf(k->source, sizeof(k->source), "unknown");
	if ((f = fopen(path, "re")) == NULL)
		return;
	if ((line = malloc(HEADER_MAX + 1)) == NULL)
		goto out;
	if (fgets(line, HEADER_MAX + 1, f) == NULL)
		goto out;
	if ((n = strlen(line)) > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	sqlite3_reset(d->header);
	sqlite3_bind_text(d->header, 1, line, (int)n, SQLITE_STATIC);
	if (sqlite3_step(d->header) == SQLITE_ROW) {
		header_field(d->header, 0, src, sizeof(src));
		if (strncmp(src, "reported", 8) == 0)
			snprintf(k->source, sizeof(k->source), "reported");
		else if (strncmp(src, "relayed", 7) == 0)
			snprintf(k->source, sizeof(k->source), "relayed");
		header_field(d->header, 1, k->kind, sizeof(k->kind));
		header_field(d->header, 2, k->technician, sizeof(k->technician));
		header_field(d->header, 3, k->target, sizeof(k->target));
	}
	sqlite3_reset(d->header);
	sqlite3_clear_bindings(d->header);
out:
	free(line);
	fclose(f);
}

/* Recordings in the order they were made: by the audit row in their name. */
static int
cast_cmp(const void *a, const void *b)
{
	const struct cast *x = a, *y = b;

	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Lists STATE/recordings/ID/NAME.cast into a new array *castsp (caller frees);
 * returns how many. No directory (none made, or expired) is none.
 */
static int
list_casts(struct sessions_db *d, const char *state, int64_t id, struct cast **castsp)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct cast *casts = NULL, *k;
	struct dirent *de;
	struct stat st;
	size_t len;
	int n = 0;
	DIR *dp;

	*castsp = NULL;
	snprintf(dir, sizeof(dir), "%s/recordings/%" PRId64, state, id);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL && n < MAX_CASTS) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || len >= sizeof(k->name) ||
		    strcmp(de->d_name + len - 5, ".cast") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n % 16 == 0) {
			k = realloc(casts, (size_t)(n + 16) * sizeof(*casts));
			if (k == NULL)
				break;
			casts = k;
		}
		k = &casts[n++];
		memset(k, 0, sizeof(*k));
		snprintf(k->name, sizeof(k->name), "%s", de->d_name);
		k->event = strtoll(de->d_name, NULL, 10);
		k->size = (long long)st.st_size;
		read_cast_header(d, path, k);
	}
	closedir(dp);
	if (n > 0)
		qsort(casts, (size_t)n, sizeof(*casts), cast_cmp);
	*castsp = casts;
	return n;
}

/* One session. */

/*
 * The logins that ran commands in the session, first come first: as a JSON
 * array in j when j is not NULL, else as text "a, b" in out (len bytes).
 */
static void
technicians(struct sessions_db *d, int64_t id, struct qh_json *j, char *out, size_t len)
{
	size_t used = 0;
	const char *login;

	if (j != NULL)
		qh_json_begin_array(j);
	else
		out[0] = '\0';
	sqlite3_reset(d->techs);
	sqlite3_bind_int64(d->techs, 1, id);
	while (sqlite3_step(d->techs) == SQLITE_ROW) {
		if ((login = col_text(d->techs, 0)) == NULL)
			continue;
		if (j != NULL)
			qh_json_str(j, login);
		else if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s",
			    used > 0 ? ", " : "", login);
	}
	sqlite3_reset(d->techs);
	if (j != NULL)
		qh_json_end_array(j);
}

/* The units the session's ledger entry debited, or -1 while it is open. */
static int64_t
debited(struct sessions_db *d, int64_t id)
{
	int64_t units = -1;

	sqlite3_reset(d->debit);
	sqlite3_bind_int64(d->debit, 1, id);
	if (sqlite3_step(d->debit) == SQLITE_ROW)
		units = -sqlite3_column_int64(d->debit, 0);
	sqlite3_reset(d->debit);
	return units;
}

/* Appends the session at the row of s as one JSON object. */
static void
session_json(struct sessions_db *d, const char *state, sqlite3_stmt *s, struct qh_json *j)
{
	int64_t id = sqlite3_column_int64(s, 0), units;
	struct cast *casts = NULL;
	const char *detail;
	int i, n;

	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", id);
	qh_json_kv_str(j, "customer", col_text(s, 1));
	qh_json_kv_str(j, "agent", col_text(s, 2));
	qh_json_kv_str(j, "code", col_text(s, 3));
	qh_json_kv_str(j, "kind", col_text(s, 4));
	if (sqlite3_column_type(s, 5) == SQLITE_NULL)
		qh_json_kv_null(j, "ticket");
	else
		qh_json_kv_int(j, "ticket", sqlite3_column_int64(s, 5));
	qh_json_kv_str(j, "opened_at", col_text(s, 6));
	qh_json_kv_str(j, "closed_at", col_text(s, 7));
	qh_json_kv_str(j, "close_reason", col_text(s, 8));
	qh_json_kv_int(j, "billable_seconds", sqlite3_column_int64(s, 9));
	qh_json_kv_int(j, "after_hours",
	    sqlite3_column_int64(s, 10) != 0); /* 0 or 1, as in the ledger */
	qh_json_kv_str(j, "overdraft_by", col_text(s, 11));
	qh_json_kv_str(j, "note", col_text(s, 12));
	if ((units = debited(d, id)) >= 0)
		qh_json_kv_int(j, "debited_units", units);
	else
		qh_json_kv_null(j, "debited_units");
	qh_json_key(j, "technicians");
	technicians(d, id, j, NULL, 0);
	qh_json_key(j, "audit");
	qh_json_begin_array(j);
	sqlite3_reset(d->events);
	sqlite3_bind_int64(d->events, 1, id);
	while (sqlite3_step(d->events) == SQLITE_ROW) {
		qh_json_begin_object(j);
		qh_json_kv_int(j, "id", sqlite3_column_int64(d->events, 0));
		qh_json_kv_str(j, "kind", col_text(d->events, 1));
		qh_json_kv_str(j, "login", col_text(d->events, 2));
		qh_json_kv_str(j, "command", col_text(d->events, 3));
		qh_json_kv_str(j, "started_at", col_text(d->events, 4));
		qh_json_kv_str(j, "ended_at", col_text(d->events, 5));
		/* An object, SQLite says; else not JSON, kept as text (or null). */
		qh_json_key(j, "detail");
		if ((detail = col_text(d->events, 6)) != NULL)
			qh_json_raw(j, detail, strlen(detail));
		else
			qh_json_str(j, col_text(d->events, 7));
		qh_json_end_object(j);
	}
	sqlite3_reset(d->events);
	qh_json_end_array(j);
	qh_json_key(j, "recordings");
	qh_json_begin_array(j);
	n = list_casts(d, state, id, &casts);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX + 300];

		snprintf(path, sizeof(path), "%s/recordings/%" PRId64 "/%s", state, id,
		    casts[i].name);
		qh_json_begin_object(j);
		qh_json_kv_str(j, "file", casts[i].name);
		qh_json_kv_str(j, "path", path);
		qh_json_kv_int(j, "size", casts[i].size);
		qh_json_kv_str(j, "source", casts[i].source);
		qh_json_kv_str(j, "kind", casts[i].kind[0] ? casts[i].kind : NULL);
		qh_json_kv_str(j, "technician",
		    casts[i].technician[0] ? casts[i].technician : NULL);
		qh_json_kv_str(j, "target", casts[i].target[0] ? casts[i].target : NULL);
		qh_json_end_object(j);
	}
	free(casts);
	qh_json_end_array(j);
	qh_json_end_object(j);
}

/*
 * Appends the session at the current row to the listing list. It is built
 * on its own in row first, so a session too large for the buffer is
 * refused whole; each but the first starts a line of its own. Returns 0 or
 * the error (QH_ERR_TOO_LARGE).
 */
static int
list_session(struct sessions_db *d, const char *state, struct qh_json *list,
    struct qh_buf *row, int first)
{
	struct qh_json one;
	int r;

	qh_buf_reset(row);
	if (!first)
		(void)qh_buf_put_u8(row, '\n'); /* white space before the value */
	qh_json_init(&one, row);
	session_json(d, state, d->sessions, &one);
	if ((r = qh_json_finish(&one)) != 0)
		return r;
	qh_json_raw(list, (const char *)qh_buf_ptr(row), qh_buf_len(row));
	return qh_json_error(list);
}

/* "or" for NULL columns in the human text. */
static const char * or (const char *v, const char *dflt)
{
	return v != NULL ? v : dflt;
}

static void
session_text(struct sessions_db *d, const char *state, sqlite3_stmt *s)
{
	int64_t id = sqlite3_column_int64(s, 0), secs = sqlite3_column_int64(s, 9), units;
	const char *code = or (col_text(s, 3), "?"), *detail;
	char techs[8192];
	struct cast *casts = NULL;
	int i, n, any;

	printf("session %" PRId64 "  customer %s  agent %s  code %.3s %.3s  %s%s\n", id,
	    or (col_text(s, 1), "?"), or (col_text(s, 2), "?"), code,
	    strlen(code) > 3 ? code + 3 : "", or (col_text(s, 4), "support"),
	    sqlite3_column_int64(s, 10) ? "  after hours" : "");
	printf("  opened %s", or (col_text(s, 6), "?"));
	if (col_text(s, 7) != NULL)
		printf("  closed %s (%s)", col_text(s, 7), or (col_text(s, 8), "?"));
	else
		printf("  still open");
	printf("  billable %" PRId64 " s (%" PRId64 " h %02" PRId64 " min %02" PRId64
	       " s)",
	    secs, secs / 3600, secs / 60 % 60, secs % 60);
	if ((units = debited(d, id)) >= 0)
		printf("  debited %" PRId64 " unit%s", units, units == 1 ? "" : "s");
	printf("\n");
	if (sqlite3_column_type(s, 5) != SQLITE_NULL)
		printf("  ticket %lld\n", (long long)sqlite3_column_int64(s, 5));
	if (col_text(s, 11) != NULL)
		printf("  overdraft allowed by %s\n", col_text(s, 11));
	if (col_text(s, 12) != NULL)
		printf("  note: %s\n", col_text(s, 12));
	technicians(d, id, NULL, techs, sizeof(techs));
	printf("  technicians: %s\n", techs[0] ? techs : "none");

	printf("  audit:\n");
	sqlite3_reset(d->events);
	sqlite3_bind_int64(d->events, 1, id);
	for (any = 0; sqlite3_step(d->events) == SQLITE_ROW; any = 1) {
		printf("    %s  %-9s %-12s %s", or (col_text(d->events, 4), "?"),
		    or (col_text(d->events, 1), "?"), or (col_text(d->events, 2), "-"),
		    or (col_text(d->events, 3), ""));
		if (col_text(d->events, 5) != NULL &&
		    strcmp(col_text(d->events, 5), or (col_text(d->events, 4), "")) != 0)
			printf("  (until %s)", col_text(d->events, 5));
		if ((detail = col_text(d->events, 6)) != NULL ||
		    (detail = col_text(d->events, 7)) != NULL)
			printf("  %s", detail);
		printf("\n");
	}
	sqlite3_reset(d->events);
	if (!any)
		printf("    none\n");

	printf("  recordings:\n");
	n = list_casts(d, state, id, &casts);
	for (i = 0; i < n; i++)
		printf("    %s/recordings/%" PRId64 "/%s  %lld bytes  %s%s%s\n", state,
		    id, casts[i].name, casts[i].size,
		    strcmp(casts[i].source, "reported") == 0
			? "reported by the technician's client"
			: strcmp(casts[i].source, "relayed") == 0
			? "relayed through the console"
			: "source unknown",
		    casts[i].target[0] ? " to " : "", casts[i].target);
	if (n == 0)
		printf("    none\n");
	free(casts);
	printf("\n");
}

static int
cmd_sessions(struct qh_cli *c)
{
	const char *state = console_state_dir(c), *customer = qh_cli_opt(c, "customer");
	int json = qh_cli_flag(c, "json"), first = 1, r, rc, status = QH_EXIT_FAIL;
	struct sessions_db d;
	struct qh_buf out, row;
	struct qh_json list;

	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	memset(&d, 0, sizeof(d));
	qh_buf_init(&out, OUT_MAX + 64); /* a session and what surrounds it */
	qh_buf_init(&row, OUT_MAX);
	qh_json_init(&list, &out);
	if ((r = db_open(state, 1, &d.db)) != 0) {
		status = qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
		goto out;
	}
	/* One snapshot: a session closing meanwhile is seen whole or not at all. */
	if ((r = db_exec(d.db, "BEGIN")) != 0 ||
	    (r = prepare_all(&d, customer != NULL)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if (customer != NULL)
		sqlite3_bind_text(d.sessions, 1, customer, -1, SQLITE_STATIC);
	if (json)
		qh_json_begin_array(&list);
	while ((rc = sqlite3_step(d.sessions)) == SQLITE_ROW) {
		if (!json) {
			session_text(&d, state, d.sessions);
			continue;
		}
		if (list_session(&d, state, &list, &row, first) != 0) {
			status = qh_cli_fail(c, "session %lld: too much to list",
			    (long long)sqlite3_column_int64(d.sessions, 0));
			goto out;
		}
		first = 0;
		if (console_flush(&out) != 0) {
			status = qh_cli_fail(c, "stdout: %s", strerror(errno));
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(d.db));
		goto out;
	}
	if (json) {
		qh_json_end_array(&list);
		status = console_json_print(c, &list, &out, "the listing");
		goto out;
	}
	if (fflush(stdout) != 0) {
		status = qh_cli_fail(c, "stdout: %s", strerror(errno));
		goto out;
	}
	status = QH_EXIT_OK;
out:
	finalize_all(&d);
	if (d.db != NULL) {
		db_rollback(d.db);
		db_close(d.db);
	}
	qh_buf_release(&out);
	qh_buf_release(&row);
	return status;
}

const struct qh_cli_cmd cmd_sessions_entry = {
	.name = "sessions",
	.usage = "[--customer ID] [--json]",
	.summary = "list sessions with their audit log and recordings",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("customer"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_sessions,
};
