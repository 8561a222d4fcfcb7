/*
 * asciicast v2 writer. The header is one JSON object; each event is a JSON
 * array [seconds, "o", text] or [seconds, "r", "COLSxROWS"], spaced as
 * asciinema writes them. Output chunks may split a UTF-8 sequence: the
 * incomplete tail is kept for the next chunk, and bytes that can never be
 * valid are written as U+FFFD. The header and each event's text go through
 * the JSON builder and are written only when whole, so every line is valid
 * JSON that asciinema replays.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "store/store.h"
#include "record.h"

#define CAST_HEADER_MAX 8192
#define CAST_LINE_MAX	(256 * 1024)
/* Output text per event: escaped (6 bytes for a control byte) it fits a line. */
#define CAST_TEXT_MAX ((CAST_LINE_MAX - 64) / 6)

struct recording {
	FILE *f;
	uint64_t start_ms;
	uint8_t tail[4]; /* an incomplete UTF-8 sequence from the last chunk */
	size_t ntail;
	struct qh_buf text; /* output for the next event, valid UTF-8 */
	struct qh_buf line;
	char path[4400];
};

static double
elapsed(struct recording *rec)
{
	return (double)(qh_clock_mono_ms() - rec->start_ms) / 1000.0;
}

struct recording *
recording_open(const char *state_dir, int64_t session, int64_t event, const char *kind,
    const char *login, const char *name, unsigned cols, unsigned rows, const char *term,
    const char *target, int reported)
{
	struct recording *rec;
	struct qh_buf h;
	struct qh_json j;
	char dir[4096], stamp[32], title[512];
	int fd, r;

	snprintf(dir, sizeof(dir), "%s/recordings/%" PRId64, state_dir, session);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		qh_error("%s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	if ((size_t)snprintf(rec->path, sizeof(rec->path), "%s/%" PRId64 "-%.32s.cast",
		dir, event, kind) >= sizeof(rec->path)) {
		free(rec);
		return NULL;
	}
	qh_clock_format_utc(qh_clock_now(), stamp, sizeof(stamp));
	snprintf(title, sizeof(title), "%s by %s (%s)%s%s, session %" PRId64, kind, name,
	    login, target ? " to " : "", target ? target : "", session);
	qh_buf_init(&h, CAST_HEADER_MAX);
	qh_json_init(&j, &h);
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "version", 2);
	qh_json_kv_int(&j, "width", cols);
	qh_json_kv_int(&j, "height", rows);
	qh_json_kv_int(&j, "timestamp", qh_clock_now());
	qh_json_key(&j, "env");
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "TERM", term);
	qh_json_end_object(&j);
	qh_json_kv_str(&j, "title", title);
	qh_json_key(&j, "quarterhour");
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "session", session);
	qh_json_kv_str(&j, "kind", kind);
	qh_json_kv_str(&j, "technician", login);
	qh_json_kv_str(&j, "technician_name", name);
	qh_json_kv_str(&j, "target", target);
	qh_json_kv_str(&j, "started_at", stamp);
	qh_json_kv_str(&j, "source",
	    reported ? "reported by the technician's client"
		     : "relayed through the console");
	qh_json_end_object(&j);
	qh_json_end_object(&j);
	if ((r = qh_json_finish(&j)) == 0)
		r = qh_buf_put_u8(&h, '\n');
	if (r != 0) {
		/* A file without its header is no recording: none at all. */
		qh_error("%s: the header: %s", rec->path, qh_strerror(r));
		goto fail;
	}
	if ((fd = open(rec->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    (rec->f = fdopen(fd, "w")) == NULL) {
		qh_error("%s: %s", rec->path, strerror(errno));
		if (fd != -1)
			close(fd);
		goto fail;
	}
	fwrite(qh_buf_ptr(&h), 1, qh_buf_len(&h), rec->f);
	qh_buf_release(&h);
	rec->start_ms = qh_clock_mono_ms();
	qh_buf_init(&rec->text, CAST_TEXT_MAX);
	qh_buf_init(&rec->line, CAST_LINE_MAX);
	return rec;
fail:
	qh_buf_release(&h);
	free(rec);
	return NULL;
}

/* Length of the UTF-8 sequence starting with c, 0 if c cannot start one. */
static size_t
utf8_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 0;
}

/*
 * Writes the collected output as one event line, [seconds, "o", text], and
 * empties it. The text is valid UTF-8 of at most CAST_TEXT_MAX bytes, so
 * the line always fits; were it not to, nothing is written. The template
 * keeps asciinema's spacing, as recording_resize does; the text, the one
 * part that varies, goes through the builder.
 */
static void
write_output(struct recording *rec)
{
	struct qh_buf *b = &rec->line;
	struct qh_json j;
	char t[64];
	int n, r;

	qh_buf_reset(b);
	n = snprintf(t, sizeof(t), "[%.6f, \"o\", ", elapsed(rec));
	(void)qh_buf_put(b, t, (size_t)n);
	qh_json_init(&j, b); /* a document of one string */
	qh_json_strn(&j, (const char *)qh_buf_ptr(&rec->text), qh_buf_len(&rec->text));
	if ((r = qh_buf_error(&rec->text)) == 0 && (r = qh_json_finish(&j)) == 0)
		r = qh_buf_put(b, "]\n", 2);
	if (r == 0)
		fwrite(qh_buf_ptr(b), 1, qh_buf_len(b), rec->f);
	else
		qh_error("%s: %zu bytes of output lost: %s", rec->path,
		    qh_buf_len(&rec->text), qh_strerror(r));
	qh_buf_reset(&rec->text);
}

void
recording_output(struct recording *rec, const uint8_t *p, size_t len)
{
	struct qh_buf *text;
	uint8_t seq[4];
	size_t i = 0, n, k;

	if (rec == NULL)
		return;
	text = &rec->text;
	qh_buf_reset(text);
	while (i < len || rec->ntail > 0) {
		/* Assemble the next sequence from the carried tail and the input. */
		k = 0;
		while (k < rec->ntail) {
			seq[k] = rec->tail[k];
			k++;
		}
		rec->ntail = 0;
		if (k == 0) {
			if (i >= len)
				break;
			seq[k++] = p[i++];
		}
		n = utf8_len(seq[0]);
		while (n > 0 && k < n && i < len)
			seq[k++] = p[i++];
		if (n > 0 && k < n) {
			memcpy(rec->tail, seq, k); /* wait for the rest */
			rec->ntail = k;
			break;
		}
		if (n == 0 || !qh_utf8_valid(seq, n) || (n == 1 && seq[0] == 0))
			(void)qh_buf_put(text, "\xef\xbf\xbd", 3);
		else
			(void)qh_buf_put(text, seq, n);
		/* A long chunk becomes several events, none cut. */
		if (qh_buf_room(text) < sizeof(seq))
			write_output(rec);
	}
	if (qh_buf_len(text) > 0)
		write_output(rec);
}

void
recording_resize(struct recording *rec, unsigned cols, unsigned rows)
{
	if (rec == NULL)
		return;
	fprintf(rec->f, "[%.6f, \"r\", \"%ux%u\"]\n", elapsed(rec), cols, rows);
}

void
recording_close(struct recording *rec)
{
	if (rec == NULL)
		return;
	if (fflush(rec->f) != 0 || fsync(fileno(rec->f)) != 0)
		qh_error("%s: %s", rec->path, strerror(errno));
	fclose(rec->f);
	qh_buf_release(&rec->text);
	qh_buf_release(&rec->line);
	free(rec);
}

/* Removes dir and the files in it (recordings hold no subdirectories). */
static int
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4400];

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    sizeof(path))
			unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

/* What recording_expire's walk needs. */
struct expiry {
	const char *state_dir;
	int removed;
};

/* Removes the recordings of one expired session. */
static int
expire_one(void *arg, int64_t session)
{
	struct expiry *x = arg;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/recordings/%" PRId64, x->state_dir, session);
	if (remove_dir(dir) == 0)
		x->removed++;
	return 0;
}

int
recording_expire(const char *state_dir, sqlite3 *db, long long days)
{
	struct expiry x = { state_dir, 0 };

	if (days <= 0)
		return 0;
	(void)db_sessions_closed_before(db, qh_clock_now() - days * 86400, expire_one,
	    &x);
	if (x.removed > 0)
		qh_info("removed the recordings of %d session(s) older than %lld days",
		    x.removed, days);
	return x.removed;
}
