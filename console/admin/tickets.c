/*
 * qh-console tickets / ticket show / ticket get / ticket confirm / ticket
 * close: the support tickets agents filed (console/ticket.c receives them).
 * Listing reads the database read-only, so it works while serve runs;
 * confirm and close write inside BEGIN IMMEDIATE. Times are stored in UTC
 * and shown to people in the business time zone; text that came from a
 * customer's PC is printed with its control characters replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/pki.h"
#include "qh/ticket.h"
#include "qh/wire.h"
#include "store/store.h"
#include "admin.h"

#define NOTE_MAX   4096
#define OUT_MAX	   (64 * 1024 * 1024) /* one listing or ticket as JSON */
#define COPY_CHUNK (64 * 1024)

/* Text of column i, or NULL for NULL. */
static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Text of column i, or "" for NULL. */
static const char *
cols(sqlite3_stmt *st, int i)
{
	const char *s = col(st, i);

	return s != NULL ? s : "";
}

/* "2026-11-30 18:00" in the business time zone for a stored UTC time; "-" if none. */
static const char *
local_text(const struct console_conf *conf, const char *utc, char *out, size_t len)
{
	struct tm tm;
	int64_t t;

	if (utc == NULL || qh_clock_parse_utc(utc, &t) != 0 ||
	    calendar_local(conf->timezone, t, &tm) != 0)
		snprintf(out, len, "-");
	else
		strftime(out, len, "%Y-%m-%d %H:%M", &tm);
	return out;
}

/* "+01:00" for an offset in minutes east of UTC. */
static const char *
offset_text(int minutes, char *out, size_t len)
{
	unsigned a = minutes < 0 ? 0U - (unsigned)minutes : (unsigned)minutes;

	snprintf(out, len, "%c%02u:%02u", minutes < 0 ? '-' : '+', a / 60 % 100, a % 60);
	return out;
}

/*
 * Prints text from a customer's PC on stdout, then end: control characters
 * other than line feed and tab (C0, DEL, C1) become '?', so stored text
 * cannot drive the reader's terminal. indent goes before every line.
 */
static void
print_safe(const char *s, const char *indent, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	int nl = 0;

	fputs(indent, stdout);
	for (; *p != '\0'; p++) {
		nl = 0;
		if (*p == '\n') {
			putchar('\n');
			nl = 1;
			if (p[1] != '\0')
				fputs(indent, stdout);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putchar('?'); /* a C1 control in UTF-8 */
			p++;
		} else if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			putchar('?');
		else
			putchar(*p);
	}
	/* A text that ends its own last line needs no second line end. */
	fputs(nl && *end == '\n' ? end + 1 : end, stdout);
}

/* Parses the ticket number argument. */
static int
ticket_number(struct qh_cli *c, int64_t *id)
{
	long long v;

	if (qh_parse_int(c->argv[0], 1, INT64_MAX, &v) != 0)
		return qh_cli_usage(c, "N is a ticket number");
	*id = v;
	return 0;
}

/* Opens the database read-only and loads the configuration; prints why not. */
static int
open_read(struct qh_cli *c, struct console_conf *conf, sqlite3 **db)
{
	const char *state = console_state_dir(c);
	int r;

	if (conf_load(state, conf) != 0)
		return QH_EXIT_FAIL;
	if ((r = db_open(state, 1, db)) != 0)
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	return 0;
}

/* 1 if the ticket exists; fills status (16 bytes) when asked. <0 on errors. */
static int
ticket_exists(sqlite3 *db, int64_t id, char *status)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (db_prepare(db, "SELECT status FROM tickets WHERE id = ?1", &st) != 0)
		return QH_ERR_DB;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (status != NULL)
			snprintf(status, 16, "%s", cols(st, 0));
		r = 1;
	} else
		r = rc == SQLITE_DONE ? 0 : db_error(db, rc, "ticket");
	sqlite3_finalize(st);
	return r;
}

/* tickets */

static int
cmd_tickets(struct qh_cli *c)
{
	const char *customer = qh_cli_opt(c, "customer");
	int json = qh_cli_flag(c, "json"), open_only = qh_cli_flag(c, "open");
	int status = QH_EXIT_FAIL, rc;
	struct console_conf conf;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct qh_buf out;
	struct qh_json j;
	char now[32], due[32];

	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	qh_buf_init(&out, OUT_MAX);
	qh_json_init(&j, &out);
	if ((status = open_read(c, &conf, &db)) != 0)
		goto out;
	status = QH_EXIT_FAIL;
	if (db_prepare(db,
		"SELECT t.id, t.customer_id, c.name, t.plan, t.kind, t.subject, "
		"t.status, t.created_at, t.due_at, t.deadline_at, "
		"(SELECT count(*) FROM ticket_attachments a WHERE a.ticket_id = t.id), "
		"(SELECT count(*) FROM ticket_proposals p WHERE p.ticket_id = t.id), "
		"(SELECT slot FROM ticket_proposals p WHERE p.ticket_id = t.id AND "
		"p.confirmed = 1) "
		"FROM tickets t JOIN customers c ON c.id = t.customer_id "
		"WHERE (?1 IS NULL OR t.customer_id = ?1) AND (?2 = 0 OR t.status = "
		"'open') "
		"ORDER BY t.due_at, t.id",
		&st) != 0) {
		status = qh_cli_fail(c, "database error");
		goto out;
	}
	if (customer != NULL)
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, open_only);
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%6s  %-16s  %-7s  %-16s  %-7s  %-12s  %s\n", "TICKET", "DUE",
		    "STATUS", "CUSTOMER", "PLAN", "KIND", "SUBJECT");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int open = strcmp(cols(st, 6), "open") == 0;
		int overdue = open && strcmp(cols(st, 8), now) < 0;
		int late = open && col(st, 9) != NULL && strcmp(cols(st, 9), now) < 0;

		if (!json) {
			/* Status: open, OVERDUE (past due), LATE (past the deadline),
			 * closed. */
			printf("%6lld  %-16s  %-7s  %-16s  %-7s  %-12s  ",
			    (long long)sqlite3_column_int64(st, 0),
			    local_text(&conf, col(st, 8), due, sizeof(due)),
			    late	  ? "LATE"
				: overdue ? "OVERDUE"
					  : cols(st, 6),
			    cols(st, 1), cols(st, 3), cols(st, 4));
			print_safe(cols(st, 5), "", "\n");
			continue;
		}
		qh_json_begin_object(&j);
		qh_json_kv_int(&j, "id", sqlite3_column_int64(st, 0));
		qh_json_kv_str(&j, "customer", cols(st, 1));
		qh_json_kv_str(&j, "customer_name", cols(st, 2));
		qh_json_kv_str(&j, "plan", cols(st, 3));
		qh_json_kv_str(&j, "kind", cols(st, 4));
		qh_json_kv_str(&j, "subject", cols(st, 5));
		qh_json_kv_str(&j, "status", cols(st, 6));
		qh_json_kv_str(&j, "created_at", cols(st, 7));
		qh_json_kv_str(&j, "due_at", cols(st, 8));
		qh_json_kv_str(&j, "deadline_at", col(st, 9));
		qh_json_kv_bool(&j, "overdue", overdue);
		qh_json_kv_bool(&j, "past_deadline", late);
		qh_json_kv_int(&j, "attachments", sqlite3_column_int64(st, 10));
		qh_json_kv_int(&j, "proposals", sqlite3_column_int64(st, 11));
		if (sqlite3_column_type(st, 12) == SQLITE_NULL)
			qh_json_kv_null(&j, "confirmed_slot");
		else
			qh_json_kv_int(&j, "confirmed_slot",
			    sqlite3_column_int64(st, 12));
		qh_json_end_object(&j);
	}
	if (rc != SQLITE_DONE) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
		goto out;
	}
	status = fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
out:
	sqlite3_finalize(st);
	db_close(db);
	qh_buf_release(&out);
	return status;
}

/* ticket show */

/* Appends the ticket's attachments to j as a JSON array, or prints them (j NULL). */
static int
show_attachments(sqlite3 *db, int64_t id, struct qh_json *j)
{
	sqlite3_stmt *st = NULL;
	int first = 1, rc;

	if (db_prepare(db,
		"SELECT seq, name, size, sha256 FROM ticket_attachments "
		"WHERE ticket_id = ?1 ORDER BY seq",
		&st) != 0)
		return QH_ERR_DB;
	sqlite3_bind_int64(st, 1, id);
	if (j != NULL) {
		qh_json_key(j, "attachments");
		qh_json_begin_array(j);
	} else
		printf("attachments:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (j == NULL) {
			printf("  %2d  %12lld bytes  sha256 %s  ",
			    sqlite3_column_int(st, 0),
			    (long long)sqlite3_column_int64(st, 2), cols(st, 3));
			print_safe(cols(st, 1), "", "\n");
			first = 0;
			continue;
		}
		qh_json_begin_object(j);
		qh_json_kv_str(j, "name", cols(st, 1));
		qh_json_kv_int(j, "size", sqlite3_column_int64(st, 2));
		qh_json_kv_str(j, "sha256", cols(st, 3));
		qh_json_end_object(j);
	}
	if (j != NULL)
		qh_json_end_array(j);
	else if (first)
		printf("  (none)\n");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : QH_ERR_DB;
}

/* Appends the ticket's proposals to j as a JSON array, or prints them (j NULL). */
static int
show_proposals(const struct console_conf *conf, sqlite3 *db, int64_t id,
    struct qh_json *j)
{
	sqlite3_stmt *st = NULL;
	char off[16], local[32];
	int first = 1, rc;

	if (db_prepare(db,
		"SELECT slot, local_time, utc_offset, starts_at, after_hours, "
		"confirmed, confirmed_at, confirmed_by FROM ticket_proposals "
		"WHERE ticket_id = ?1 ORDER BY slot",
		&st) != 0)
		return QH_ERR_DB;
	sqlite3_bind_int64(st, 1, id);
	if (j != NULL) {
		qh_json_key(j, "proposals");
		qh_json_begin_array(j);
	} else
		printf("proposed appointments:\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		offset_text(sqlite3_column_int(st, 2), off, sizeof(off));
		if (j == NULL) {
			printf("  %2d  %s %s  (%s %s)%s%s\n", sqlite3_column_int(st, 0),
			    cols(st, 1), off,
			    local_text(conf, col(st, 3), local, sizeof(local)),
			    conf->timezone,
			    sqlite3_column_int(st, 4) ? "  outside business hours" : "",
			    sqlite3_column_int(st, 5) ? "  CONFIRMED" : "");
			first = 0;
			continue;
		}
		qh_json_begin_object(j);
		qh_json_kv_int(j, "slot", sqlite3_column_int(st, 0));
		qh_json_kv_str(j, "local_time", cols(st, 1));
		qh_json_kv_str(j, "utc_offset", off);
		qh_json_kv_int(j, "utc_offset_minutes", sqlite3_column_int(st, 2));
		qh_json_kv_str(j, "starts_at", cols(st, 3));
		qh_json_kv_bool(j, "after_hours", sqlite3_column_int(st, 4));
		qh_json_kv_bool(j, "confirmed", sqlite3_column_int(st, 5));
		qh_json_kv_str(j, "confirmed_at", col(st, 6));
		qh_json_kv_str(j, "confirmed_by", col(st, 7));
		qh_json_end_object(j);
	}
	if (j != NULL)
		qh_json_end_array(j);
	else if (first)
		printf("  (none)\n");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : QH_ERR_DB;
}

/*
 * Appends the ids of the sessions linked to the ticket (attach --ticket N)
 * to j as a JSON array, or prints them (j NULL).
 */
static int
show_sessions(sqlite3 *db, int64_t id, struct qh_json *j)
{
	sqlite3_stmt *st = NULL;
	int first = 1, rc;

	if (db_prepare(db, "SELECT id FROM sessions WHERE ticket_id = ?1 ORDER BY id",
		&st) != 0)
		return QH_ERR_DB;
	sqlite3_bind_int64(st, 1, id);
	if (j != NULL) {
		qh_json_key(j, "sessions");
		qh_json_begin_array(j);
	} else
		printf("sessions:");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (j != NULL)
			qh_json_int(j, sqlite3_column_int64(st, 0));
		else
			printf(" %s%lld", first ? "" : ",",
			    (long long)sqlite3_column_int64(st, 0));
		first = 0;
	}
	if (j != NULL)
		qh_json_end_array(j);
	else
		printf("%s\n", first ? " (none)" : "");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : QH_ERR_DB;
}

/*
 * Appends the stored environment: the document itself when it is a valid
 * JSON object (checked again: the database is not the agent), else the
 * text as a JSON string, else null.
 */
static void
json_environment(struct qh_json *j, const char *env)
{
	qh_json_key(j, "environment");
	if (env != NULL && qh_ticket_env_valid(env, strlen(env)))
		qh_json_raw(j, env, strlen(env));
	else
		qh_json_str(j, env); /* null for NULL */
}

/* The environment as "Label:  value" lines (qh/envinfo.h), else as it is stored. */
static void
print_environment(const char *env)
{
	struct qh_buf text;

	qh_buf_init(&text, OUT_MAX);
	if (env == NULL)
		print_safe("(none)", "  ", "\n");
	else if (qh_envinfo_text(env, strlen(env), &text) == 0 &&
	    qh_buf_put_u8(&text, '\0') == 0)
		print_safe((const char *)qh_buf_ptr(&text), "  ", "\n");
	else
		print_safe(env, "  ", "\n");
	qh_buf_release(&text);
}

static int
cmd_ticket_show(struct qh_cli *c)
{
	int json = qh_cli_flag(c, "json"), status, rc;
	struct console_conf conf;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct qh_buf out;
	struct qh_json j;
	char now[32], t1[32];
	int64_t id = 0;
	int open, overdue, late;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	qh_buf_init(&out, OUT_MAX);
	qh_json_init(&j, &out);
	if ((status = open_read(c, &conf, &db)) != 0)
		goto out;
	status = QH_EXIT_FAIL;
	if (db_prepare(db,
		"SELECT t.id, t.customer_id, c.name, t.plan, t.agent_id, "
		"a.host, t.kind, t.subject, t.steps, t.environment, t.status, "
		"t.created_at, "
		"t.due_at, t.deadline_at, t.closed_at, t.closed_by, t.close_note "
		"FROM tickets t JOIN customers c ON c.id = t.customer_id "
		"LEFT JOIN agents a ON a.id = t.agent_id WHERE t.id = ?1",
		&st) != 0) {
		status = qh_cli_fail(c, "database error");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		status = rc == SQLITE_DONE
		    ? qh_cli_fail(c, "no ticket %" PRId64, id)
		    : qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	open = strcmp(cols(st, 10), "open") == 0;
	overdue = open && strcmp(cols(st, 12), now) < 0;
	late = open && col(st, 13) != NULL && strcmp(cols(st, 13), now) < 0;
	if (json) {
		qh_json_begin_object(&j);
		qh_json_kv_int(&j, "id", id);
		qh_json_kv_str(&j, "customer", cols(st, 1));
		qh_json_kv_str(&j, "customer_name", cols(st, 2));
		qh_json_kv_str(&j, "plan", cols(st, 3));
		qh_json_kv_str(&j, "agent", cols(st, 4));
		qh_json_kv_str(&j, "host", col(st, 5));
		qh_json_kv_str(&j, "kind", cols(st, 6));
		qh_json_kv_str(&j, "subject", cols(st, 7));
		qh_json_kv_str(&j, "status", cols(st, 10));
		qh_json_kv_str(&j, "created_at", cols(st, 11));
		qh_json_kv_str(&j, "due_at", cols(st, 12));
		qh_json_kv_str(&j, "deadline_at", col(st, 13));
		qh_json_kv_bool(&j, "overdue", overdue);
		qh_json_kv_bool(&j, "past_deadline", late);
		qh_json_kv_str(&j, "closed_at", col(st, 14));
		qh_json_kv_str(&j, "closed_by", col(st, 15));
		qh_json_kv_str(&j, "close_note", col(st, 16));
		qh_json_kv_str(&j, "steps", cols(st, 8));
		json_environment(&j, col(st, 9));
	} else {
		printf("ticket %" PRId64 ": ", id);
		print_safe(cols(st, 7), "", "\n");
		printf("customer:  %s (", cols(st, 1));
		print_safe(cols(st, 2), "", ")\n");
		printf("plan:      %s\nkind:      %s\nagent:     %s on ", cols(st, 3),
		    cols(st, 6), cols(st, 4));
		print_safe(col(st, 5) != NULL ? col(st, 5) : "?", "", "\n");
		printf("status:    %s", cols(st, 10));
		if (!open) {
			printf(" %s by %s: ",
			    local_text(&conf, col(st, 14), t1, sizeof(t1)), cols(st, 15));
			print_safe(cols(st, 16), "", "\n");
		} else
			printf("\n");
		printf("created:   %s (%s)\n",
		    local_text(&conf, col(st, 11), t1, sizeof(t1)), conf.timezone);
		printf("due:       %s%s\n",
		    local_text(&conf, col(st, 12), t1, sizeof(t1)),
		    overdue ? "  OVERDUE" : "");
		if (col(st, 13) != NULL)
			printf("deadline:  %s%s\n",
			    local_text(&conf, col(st, 13), t1, sizeof(t1)),
			    late ? "  PAST" : "");
		printf("steps:\n");
		print_safe(*cols(st, 8) != '\0' ? cols(st, 8) : "(none)", "  ", "\n");
		printf("environment:\n");
		print_environment(col(st, 9));
	}
	if (show_attachments(db, id, json ? &j : NULL) != 0 ||
	    show_proposals(&conf, db, id, json ? &j : NULL) != 0 ||
	    show_sessions(db, id, json ? &j : NULL) != 0) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (json) {
		qh_json_end_object(&j);
		status = console_json_print(c, &j, &out, "the ticket");
		goto out;
	}
	status = fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
out:
	sqlite3_finalize(st);
	db_close(db);
	qh_buf_release(&out);
	return status;
}

/* ticket get */

/*
 * Copies the stored content at src to a new file out (never over an
 * existing one), checking size and SHA-256 on the way; a copy that does
 * not match is removed. Prints the reason and returns the exit status.
 */
static int
copy_verified(struct qh_cli *c, const char *src, const char *out, uint64_t size,
    const char *hex)
{
	EVP_MD_CTX *md = NULL;
	uint8_t buf[COPY_CHUNK], digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char got[65];
	uint64_t total = 0;
	int in = -1, fd = -1, status = QH_EXIT_FAIL, created = 0;
	ssize_t n, w, off;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		status = qh_cli_fail(c, "the stored attachment is missing (%s: %s)", src,
		    strerror(errno));
		goto out;
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		status = errno == EEXIST
		    ? qh_cli_fail(c, "%s exists; not overwriting it", out)
		    : qh_cli_fail(c, "%s: %s", out, strerror(errno));
		goto out;
	}
	created = 1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		status = qh_cli_fail(c, "cannot hash the attachment");
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			status = qh_cli_fail(c, "reading %s: %s", src, strerror(errno));
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			status = qh_cli_fail(c, "cannot hash the attachment");
			goto out;
		}
		for (off = 0; off < n; off += w) {
			if ((w = write(fd, buf + off, (size_t)(n - off))) < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				status = qh_cli_fail(c, "writing %s: %s", out,
				    strerror(errno));
				goto out;
			}
		}
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
		status = qh_cli_fail(c, "cannot hash the attachment");
		goto out;
	}
	ticket_hex(digest, got);
	if (total != size || strcmp(got, hex) != 0) {
		status = qh_cli_fail(c,
		    "the stored attachment is damaged: %" PRIu64
		    " bytes with SHA-256 %s, expected %" PRIu64 " bytes with %s; %s "
		    "removed",
		    total, got, size, hex, out);
		goto out;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		status = qh_cli_fail(c, "writing %s: %s", out, strerror(errno));
		goto out;
	}
	fd = -1;
	status = QH_EXIT_OK;
out:
	if (fd != -1)
		close(fd);
	if (in != -1)
		close(in);
	if (status != QH_EXIT_OK && created)
		(void)unlink(out);
	EVP_MD_CTX_free(md);
	return status;
}

static int
cmd_ticket_get(struct qh_cli *c)
{
	const char *name = c->argv[1], *out = c->argv[2], *state = console_state_dir(c);
	char path[PATH_MAX], hex[65];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t size = 0;
	int64_t id = 0;
	int status, rc, r;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (*out == '\0')
		return qh_cli_usage(c, "OUT names the file to write");
	if ((r = db_open(state, 1, &db)) != 0)
		return qh_cli_fail(c, "cannot open the database in %s: %s", state,
		    qh_strerror(r));
	status = QH_EXIT_FAIL;
	if (db_prepare(db,
		"SELECT size, sha256 FROM ticket_attachments "
		"WHERE ticket_id = ?1 AND name = ?2",
		&st) != 0) {
		status = qh_cli_fail(c, "database error");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		else if ((r = ticket_exists(db, id, NULL)) == 0)
			status = qh_cli_fail(c, "no ticket %" PRId64, id);
		else
			status = qh_cli_fail(c,
			    "ticket %" PRId64 " has no attachment named "
			    "%s (see 'qh-console ticket show %" PRId64 "')",
			    id, name, id);
		goto out;
	}
	size = (uint64_t)sqlite3_column_int64(st, 0);
	snprintf(hex, sizeof(hex), "%s", cols(st, 1));
	if (ticket_store_path(state, hex, path, sizeof(path)) != 0) {
		status = qh_cli_fail(c,
		    "ticket %" PRId64 ": the attachment's hash on record "
		    "is malformed",
		    id);
		goto out;
	}
	if ((status = copy_verified(c, path, out, size, hex)) == QH_EXIT_OK)
		printf("%s: %" PRIu64 " bytes, sha256 %s\n", out, size, hex);
out:
	sqlite3_finalize(st);
	db_close(db);
	return status;
}

/* ticket confirm */

static int
cmd_ticket_confirm(struct qh_cli *c)
{
	const char *slot_s = qh_cli_opt(c, "slot");
	struct console_conf conf;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32], actor[128], state[16], off[8], local[32], when[32];
	long long slot;
	int64_t id = 0;
	int status, r, n = 0, rc;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (slot_s == NULL || qh_parse_int(slot_s, 1, QH_TICKET_SLOTS_MAX, &slot) != 0)
		return qh_cli_usage(c,
		    "--slot K names a proposed appointment: 1, 2, ...");
	if (conf_load(console_state_dir(c), &conf) != 0)
		return QH_EXIT_FAIL;
	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	status = QH_EXIT_FAIL;
	if ((r = db_begin(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = ticket_exists(db, id, state)) <= 0) {
		status = r == 0 ? qh_cli_fail(c, "no ticket %" PRId64, id)
				: qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if (strcmp(state, "open") != 0) {
		status = qh_cli_fail(c, "ticket %" PRId64 " is closed", id);
		goto out;
	}
	if (db_prepare(db, "SELECT count(*) FROM ticket_proposals WHERE ticket_id = ?1",
		&st) != 0)
		goto dberr;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (slot > n) {
		status = n == 0 ? qh_cli_fail(c,
				      "ticket %" PRId64 " has no proposed "
				      "appointments",
				      id)
				: qh_cli_fail(c,
				      "ticket %" PRId64 " has %d "
				      "proposed appointment%s; --slot is 1 to %d",
				      id, n, n == 1 ? "" : "s", n);
		goto out;
	}
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	console_actor(actor, sizeof(actor));
	/* One confirmed proposal per ticket: confirming another moves it. */
	if (db_prepare(db,
		"UPDATE ticket_proposals SET confirmed = (slot = ?2), "
		"confirmed_at = CASE WHEN slot = ?2 THEN ?3 END, "
		"confirmed_by = CASE WHEN slot = ?2 THEN ?4 END WHERE ticket_id = ?1",
		&st) != 0)
		goto dberr;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, slot);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		goto dberr;
	if (db_prepare(db,
		"SELECT local_time, utc_offset, starts_at FROM ticket_proposals "
		"WHERE ticket_id = ?1 AND slot = ?2",
		&st) != 0)
		goto dberr;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, slot);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto dberr;
	snprintf(when, sizeof(when), "%s", cols(st, 0));
	offset_text(sqlite3_column_int(st, 1), off, sizeof(off));
	local_text(&conf, col(st, 2), local, sizeof(local));
	sqlite3_finalize(st);
	st = NULL;
	if ((r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	printf("ticket %" PRId64 ": appointment %lld confirmed: %s %s (%s %s)\n", id,
	    slot, when, off, local, conf.timezone);
	status = QH_EXIT_OK;
	goto out;
dberr:
	status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

/* ticket close */

static int
cmd_ticket_close(struct qh_cli *c)
{
	const char *note = qh_cli_opt(c, "note");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char now[32], actor[128], state[16];
	int64_t id = 0;
	int status, r, rc;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (note == NULL || *note == '\0' || strlen(note) > NOTE_MAX ||
	    !qh_utf8_valid((const uint8_t *)note, strlen(note)))
		return qh_cli_usage(c,
		    "--note TEXT is required (UTF-8, at most 4096 bytes)");
	if (console_db_write(c, &db) != 0)
		return QH_EXIT_FAIL;
	status = QH_EXIT_FAIL;
	if ((r = db_begin(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if ((r = ticket_exists(db, id, state)) <= 0) {
		status = r == 0 ? qh_cli_fail(c, "no ticket %" PRId64, id)
				: qh_cli_fail(c, "database: %s", qh_strerror(r));
		goto out;
	}
	if (strcmp(state, "open") != 0) {
		status = qh_cli_fail(c, "ticket %" PRId64 " is closed already", id);
		goto out;
	}
	qh_clock_format_utc(qh_clock_now(), now, sizeof(now));
	console_actor(actor, sizeof(actor));
	if (db_prepare(db,
		"UPDATE tickets SET status = 'closed', closed_at = ?2, "
		"closed_by = ?3, close_note = ?4 WHERE id = ?1 AND status = 'open'",
		&st) != 0) {
		status = qh_cli_fail(c, "database error");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE || (r = db_commit(db)) != 0) {
		status = qh_cli_fail(c, "database: %s", sqlite3_errmsg(db));
		goto out;
	}
	printf("ticket %" PRId64 " closed\n", id);
	status = QH_EXIT_OK;
out:
	sqlite3_finalize(st);
	db_rollback(db);
	db_close(db);
	return status;
}

const struct qh_cli_cmd cmd_tickets_entry = {
	.name = "tickets",
	.usage = "[--open] [--customer ID] [--json]",
	.summary = "list support tickets by due time; overdue ones are marked",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_FLAG("open"), QH_OPT("customer"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_tickets,
};

const struct qh_cli_cmd cmd_ticket_show_entry = {
	.name = "ticket show",
	.usage = "N [--json]",
	.summary = "show a ticket: environment, steps, attachments, proposals, due time",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_ticket_show,
};

const struct qh_cli_cmd cmd_ticket_get_entry = {
	.name = "ticket get",
	.usage = "N ATTACHMENT OUT",
	.summary =
	    "copy a ticket's attachment (by file name) to a new file OUT, verified",
	.min_args = 3,
	.max_args = 3,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_ticket_get,
};

const struct qh_cli_cmd cmd_ticket_confirm_entry = {
	.name = "ticket confirm",
	.usage = "N --slot K",
	.summary = "confirm the K-th proposed appointment of an installation ticket",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("slot") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_ticket_confirm,
};

const struct qh_cli_cmd cmd_ticket_close_entry = {
	.name = "ticket close",
	.usage = "N --note TEXT",
	.summary = "close a ticket with a note",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("note") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_ticket_close,
};
