/*
 * qh-console tickets / ticket show / ticket get / ticket confirm / ticket
 * close: the support tickets agents filed (the daemon's upload.c receives
 * them). Listing reads the database read-only, so it works while serve
 * runs; confirm and close write inside BEGIN IMMEDIATE (in the store). Times are stored
 * in UTC and shown to people in the business time zone; text that came from a customer's
 * PC is printed with its control characters replaced.
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
#include "qh/display.h"
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

/* s, or "" for NULL. */
static const char *
nz(const char *s)
{
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
 * Prints text from a customer's PC or a technician on stdout through the
 * display filter, then end: on one line when indent is NULL, else with
 * its line feeds and indent before every line (steps, the environment).
 */
static void
print_safe(const char *s, const char *indent, const char *end)
{
	const char *nl;

	if (indent == NULL) {
		(void)qh_display_write(stdout, s, strlen(s), 0);
		fputs(end, stdout);
		return;
	}
	for (;;) {
		fputs(indent, stdout);
		nl = strchr(s, '\n');
		(void)qh_display_write(stdout, s,
		    nl != NULL ? (size_t)(nl - s) : strlen(s), QH_DISPLAY_LINES);
		if (nl == NULL)
			break;
		putchar('\n');
		if (*(s = nl + 1) == '\0') {
			/* A text that ends its own last line needs no second line end. */
			end += *end == '\n';
			break;
		}
	}
	fputs(end, stdout);
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

/* tickets */

/* What the listing's callback needs. */
struct ticket_listing {
	const struct console_conf *conf;
	struct qh_json *j; /* NULL for text */
	char now[32];
};

/* Prints one ticket as a line of the table, or appends it to the JSON listing. */
static int
ticket_listed(void *arg, const struct ticket_row *t)
{
	struct ticket_listing *l = arg;
	struct qh_json *j = l->j;
	int open = strcmp(nz(t->status), "open") == 0;
	int overdue = open && strcmp(nz(t->due_at), l->now) < 0;
	int late = open && t->deadline_at != NULL && strcmp(t->deadline_at, l->now) < 0;
	char due[32];

	if (j == NULL) {
		/* Status: open, OVERDUE (past due), LATE (past the deadline), closed. */
		printf("%6lld  %-16s  %-7s  %-16s  %-7s  %-12s  ", (long long)t->id,
		    local_text(l->conf, t->due_at, due, sizeof(due)),
		    late	  ? "LATE"
			: overdue ? "OVERDUE"
				  : nz(t->status),
		    nz(t->customer), nz(t->plan), nz(t->kind));
		print_safe(nz(t->subject), NULL, "\n");
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_int(j, "id", t->id);
	qh_json_kv_str(j, "customer", nz(t->customer));
	qh_json_kv_str(j, "customer_name", nz(t->customer_name));
	qh_json_kv_str(j, "plan", nz(t->plan));
	qh_json_kv_str(j, "kind", nz(t->kind));
	qh_json_kv_str(j, "subject", nz(t->subject));
	qh_json_kv_str(j, "status", nz(t->status));
	qh_json_kv_str(j, "created_at", nz(t->created_at));
	qh_json_kv_str(j, "due_at", nz(t->due_at));
	qh_json_kv_str(j, "deadline_at", t->deadline_at);
	qh_json_kv_bool(j, "overdue", overdue);
	qh_json_kv_bool(j, "past_deadline", late);
	qh_json_kv_int(j, "attachments", t->attachments);
	qh_json_kv_int(j, "proposals", t->proposals);
	if (t->confirmed_slot == 0)
		qh_json_kv_null(j, "confirmed_slot");
	else
		qh_json_kv_int(j, "confirmed_slot", t->confirmed_slot);
	qh_json_end_object(j);
	return 0;
}

static int
cmd_tickets(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *customer = qh_cli_opt(c, "customer");
	int json = qh_cli_flag(c, "json"), open_only = qh_cli_flag(c, "open");
	struct ticket_listing l;
	struct qh_buf out;
	struct qh_json j;
	int r, status;

	if (customer != NULL && !qh_id_valid(customer))
		return qh_cli_usage(c, "--customer takes a customer ID");
	qh_buf_init(&out, OUT_MAX);
	qh_json_init(&j, &out);
	l.conf = &env->conf;
	l.j = json ? &j : NULL;
	qh_clock_format_utc(qh_clock_now(), l.now, sizeof(l.now));
	if (json)
		qh_json_begin_array(&j);
	else
		printf("%6s  %-16s  %-7s  %-16s  %-7s  %-12s  %s\n", "TICKET", "DUE",
		    "STATUS", "CUSTOMER", "PLAN", "KIND", "SUBJECT");
	if ((r = db_ticket_list(env->db, customer, open_only, ticket_listed, &l)) != 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (json) {
		qh_json_end_array(&j);
		status = console_json_print(c, &j, &out, "the listing");
	} else
		status = fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
	qh_buf_release(&out);
	return status;
}

/* ticket show */

static int
attachment_json(void *arg, const struct attachment_row *a)
{
	struct qh_json *j = arg;

	qh_json_begin_object(j);
	qh_json_kv_str(j, "name", nz(a->name));
	qh_json_kv_int(j, "size", a->size);
	qh_json_kv_str(j, "sha256", nz(a->sha256));
	qh_json_end_object(j);
	return 0;
}

static int
attachment_text(void *arg, const struct attachment_row *a)
{
	*(int *)arg = 1;
	printf("  %2d  %12lld bytes  sha256 %s  ", a->seq, (long long)a->size,
	    nz(a->sha256));
	print_safe(nz(a->name), NULL, "\n");
	return 0;
}

/* What the proposals' callbacks need. */
struct proposals {
	const struct console_conf *conf;
	struct qh_json *j; /* NULL for text */
	int any;
};

static int
proposal_shown(void *arg, const struct proposal_row *p)
{
	struct proposals *x = arg;
	struct qh_json *j = x->j;
	char off[16], local[32];

	offset_text(p->utc_offset, off, sizeof(off));
	if (j == NULL) {
		printf("  %2d  %s %s  (%s %s)%s%s\n", p->slot, nz(p->local_time), off,
		    local_text(x->conf, p->starts_at, local, sizeof(local)),
		    x->conf->timezone, p->after_hours ? "  outside business hours" : "",
		    p->confirmed ? "  CONFIRMED" : "");
		x->any = 1;
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_int(j, "slot", p->slot);
	qh_json_kv_str(j, "local_time", nz(p->local_time));
	qh_json_kv_str(j, "utc_offset", off);
	qh_json_kv_int(j, "utc_offset_minutes", p->utc_offset);
	qh_json_kv_str(j, "starts_at", nz(p->starts_at));
	qh_json_kv_bool(j, "after_hours", p->after_hours);
	qh_json_kv_bool(j, "confirmed", p->confirmed);
	qh_json_kv_str(j, "confirmed_at", p->confirmed_at);
	qh_json_kv_str(j, "confirmed_by", p->confirmed_by);
	qh_json_end_object(j);
	return 0;
}

/* What the sessions' callback needs. */
struct linked {
	struct qh_json *j; /* NULL for text */
	int first;
};

static int
session_linked(void *arg, int64_t session)
{
	struct linked *x = arg;

	if (x->j != NULL)
		qh_json_int(x->j, session);
	else
		printf(" %s%lld", x->first ? "" : ",", (long long)session);
	x->first = 0;
	return 0;
}

/*
 * The ticket's attachments, proposals and linked sessions (attach
 * --ticket N): as JSON arrays in j, or printed (j NULL).
 */
static int
show_parts(sqlite3 *db, const struct console_conf *conf, int64_t id, struct qh_json *j)
{
	struct proposals p = { conf, j, 0 };
	struct linked k = { j, 1 };
	int any = 0, r;

	if (j != NULL) {
		qh_json_key(j, "attachments");
		qh_json_begin_array(j);
	} else
		printf("attachments:\n");
	if ((r = db_ticket_attachments(db, id,
		 j != NULL ? attachment_json : attachment_text,
		 j != NULL ? (void *)j : &any)) != 0)
		return r;
	if (j != NULL) {
		qh_json_end_array(j);
		qh_json_key(j, "proposals");
		qh_json_begin_array(j);
	} else
		printf("%sproposed appointments:\n", any ? "" : "  (none)\n");
	if ((r = db_ticket_proposals(db, id, proposal_shown, &p)) != 0)
		return r;
	if (j != NULL) {
		qh_json_end_array(j);
		qh_json_key(j, "sessions");
		qh_json_begin_array(j);
	} else
		printf("%ssessions:", p.any ? "" : "  (none)\n");
	if ((r = db_ticket_sessions(db, id, session_linked, &k)) != 0)
		return r;
	if (j != NULL)
		qh_json_end_array(j);
	else
		printf("%s\n", k.first ? " (none)" : "");
	return 0;
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

/* What ticket show's callback needs. */
struct show {
	const struct console_conf *conf;
	struct qh_json *j; /* NULL for text */
	char now[32];
};

/* Appends the ticket's own fields to the open JSON object j. */
static void
ticket_json(struct qh_json *j, const struct ticket_view *t, int overdue, int late)
{
	qh_json_kv_int(j, "id", t->id);
	qh_json_kv_str(j, "customer", nz(t->customer));
	qh_json_kv_str(j, "customer_name", nz(t->customer_name));
	qh_json_kv_str(j, "plan", nz(t->plan));
	qh_json_kv_str(j, "agent", nz(t->agent));
	qh_json_kv_str(j, "host", t->host);
	qh_json_kv_str(j, "kind", nz(t->kind));
	qh_json_kv_str(j, "subject", nz(t->subject));
	qh_json_kv_str(j, "status", nz(t->status));
	qh_json_kv_str(j, "created_at", nz(t->created_at));
	qh_json_kv_str(j, "due_at", nz(t->due_at));
	qh_json_kv_str(j, "deadline_at", t->deadline_at);
	qh_json_kv_bool(j, "overdue", overdue);
	qh_json_kv_bool(j, "past_deadline", late);
	qh_json_kv_str(j, "closed_at", t->closed_at);
	qh_json_kv_str(j, "closed_by", t->closed_by);
	qh_json_kv_str(j, "close_note", t->close_note);
	qh_json_kv_str(j, "steps", nz(t->steps));
	json_environment(j, t->environment);
}

/* Prints the ticket's own fields. */
static void
ticket_text(const struct console_conf *conf, const struct ticket_view *t, int open,
    int overdue, int late)
{
	char t1[32];

	printf("ticket %" PRId64 ": ", t->id);
	print_safe(nz(t->subject), NULL, "\n");
	printf("customer:  %s (", nz(t->customer));
	print_safe(nz(t->customer_name), NULL, ")\n");
	printf("plan:      %s\nkind:      %s\nagent:     %s on ", nz(t->plan),
	    nz(t->kind), nz(t->agent));
	print_safe(t->host != NULL ? t->host : "?", NULL, "\n");
	printf("status:    %s", nz(t->status));
	if (!open) {
		printf(" %s by %s: ", local_text(conf, t->closed_at, t1, sizeof(t1)),
		    nz(t->closed_by));
		print_safe(nz(t->close_note), NULL, "\n");
	} else
		printf("\n");
	printf("created:   %s (%s)\n", local_text(conf, t->created_at, t1, sizeof(t1)),
	    conf->timezone);
	printf("due:       %s%s\n", local_text(conf, t->due_at, t1, sizeof(t1)),
	    overdue ? "  OVERDUE" : "");
	if (t->deadline_at != NULL)
		printf("deadline:  %s%s\n",
		    local_text(conf, t->deadline_at, t1, sizeof(t1)),
		    late ? "  PAST" : "");
	printf("steps:\n");
	print_safe(*nz(t->steps) != '\0' ? t->steps : "(none)", "  ", "\n");
	printf("environment:\n");
	print_environment(t->environment);
}

/* Shows the ticket the store read, then its parts. */
static int
ticket_shown(void *arg, const struct ticket_view *t)
{
	struct show *x = arg;
	int open = strcmp(nz(t->status), "open") == 0;
	int overdue = open && strcmp(nz(t->due_at), x->now) < 0;
	int late = open && t->deadline_at != NULL && strcmp(t->deadline_at, x->now) < 0;

	if (x->j != NULL) {
		qh_json_begin_object(x->j);
		ticket_json(x->j, t, overdue, late);
	} else
		ticket_text(x->conf, t, open, overdue, late);
	return 0;
}

static int
cmd_ticket_show(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	int json = qh_cli_flag(c, "json"), status, r;
	struct qh_buf out;
	struct qh_json j;
	struct show x;
	int64_t id = 0;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	qh_buf_init(&out, OUT_MAX);
	qh_json_init(&j, &out);
	x.conf = &env->conf;
	x.j = json ? &j : NULL;
	qh_clock_format_utc(qh_clock_now(), x.now, sizeof(x.now));
	if ((r = db_ticket_show(env->db, id, ticket_shown, &x)) == 0)
		r = show_parts(env->db, &env->conf, id, x.j);
	if (r == QH_ERR_NOT_FOUND)
		status = qh_cli_fail(c, "no ticket %" PRId64, id);
	else if (r != 0)
		status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (json) {
		qh_json_end_object(&j);
		status = console_json_print(c, &j, &out, "the ticket");
	} else
		status = fflush(stdout) == 0 ? QH_EXIT_OK : QH_EXIT_FAIL;
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
	struct store_env *env = admin_env(c);
	const char *name = c->argv[1], *out = c->argv[2];
	char path[PATH_MAX], hex[65];
	uint64_t size = 0;
	int64_t id = 0;
	int status, r;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (*out == '\0')
		return qh_cli_usage(c, "OUT names the file to write");
	if ((r = db_ticket_attachment(env->db, id, name, &size, hex)) == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no ticket %" PRId64, id);
	if (r < 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	if (r == 0)
		return qh_cli_fail(c,
		    "ticket %" PRId64 " has no attachment named "
		    "%s (see 'qh-console ticket show %" PRId64 "')",
		    id, name, id);
	if (ticket_store_path(env->state, hex, path, sizeof(path)) != 0)
		return qh_cli_fail(c,
		    "ticket %" PRId64 ": the attachment's hash on record "
		    "is malformed",
		    id);
	if ((status = copy_verified(c, path, out, size, hex)) == QH_EXIT_OK)
		printf("%s: %" PRIu64 " bytes, sha256 %s\n", out, size, hex);
	return status;
}

/* ticket confirm */

static int
cmd_ticket_confirm(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *slot_s = qh_cli_opt(c, "slot");
	struct ticket_slot chosen;
	char actor[128], off[8], local[32];
	long long slot;
	int64_t id = 0;
	int status, r, n = 0;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (slot_s == NULL || qh_parse_int(slot_s, 1, QH_TICKET_SLOTS_MAX, &slot) != 0)
		return qh_cli_usage(c,
		    "--slot K names a proposed appointment: 1, 2, ...");
	console_actor(actor, sizeof(actor));
	r = db_ticket_confirm(env->db, id, (int)slot, actor, &chosen, &n);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no ticket %" PRId64, id);
	if (r == QH_ERR_CLOSED)
		return qh_cli_fail(c, "ticket %" PRId64 " is closed", id);
	if (r == QH_ERR_ARG && n == 0)
		return qh_cli_fail(c, "ticket %" PRId64 " has no proposed appointments",
		    id);
	if (r == QH_ERR_ARG)
		return qh_cli_fail(c,
		    "ticket %" PRId64 " has %d proposed appointment%s; --slot is 1 to %d",
		    id, n, n == 1 ? "" : "s", n);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	offset_text(chosen.utc_offset, off, sizeof(off));
	local_text(&env->conf, chosen.starts_at, local, sizeof(local));
	printf("ticket %" PRId64 ": appointment %lld confirmed: %s %s (%s %s)\n", id,
	    slot, chosen.local_time, off, local, env->conf.timezone);
	return QH_EXIT_OK;
}

/* ticket close */

static int
cmd_ticket_close(struct qh_cli *c)
{
	const char *note = qh_cli_opt(c, "note");
	char actor[128];
	int64_t id = 0;
	int status, r;

	if ((status = ticket_number(c, &id)) != 0)
		return status;
	if (note == NULL || *note == '\0' || strlen(note) > NOTE_MAX ||
	    !qh_utf8_valid((const uint8_t *)note, strlen(note)))
		return qh_cli_usage(c,
		    "--note TEXT is required (UTF-8, at most 4096 bytes)");
	console_actor(actor, sizeof(actor));
	r = db_ticket_close(admin_env(c)->db, id, actor, note);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "no ticket %" PRId64, id);
	if (r == QH_ERR_CLOSED)
		return qh_cli_fail(c, "ticket %" PRId64 " is closed already", id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("ticket %" PRId64 " closed\n", id);
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_tickets_entry = {
	.name = "tickets",
	.usage = "[--open] [--customer ID] [--json]",
	.summary = "list support tickets by due time; overdue ones are marked",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("tech"), QH_FLAG("open"), QH_OPT("customer"),
	    QH_FLAG("json") },
	.needs = QH_CLI_DB_READ | QH_CLI_REMOTE,
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
