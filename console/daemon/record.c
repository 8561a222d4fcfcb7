/*
 * asciicast v2 writer. The header is one JSON object; each event is a JSON
 * array [seconds, "o", text] or [seconds, "r", "COLSxROWS"], spaced as
 * asciinema writes them. Output chunks may split a UTF-8 sequence: the
 * incomplete tail is kept for the next chunk. Bytes that can never be
 * valid become U+FFFD, one for each maximal invalid part as Unicode
 * recommends: a sequence cut short by a byte that cannot continue it ends
 * there, and decoding starts again at that byte, so no valid byte is lost.
 * The header and each event's text go through the JSON builder and are
 * written only when whole, so every line is valid JSON that asciinema
 * replays; long output becomes several events.
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
#include "store/store.h"
#include "record.h"

#define CAST_HEADER_MAX 8192
#define CAST_LINE_MAX	(256 * 1024)
/* Output text per event: escaped (6 bytes for a control byte) it fits a line. */
#define CAST_TEXT_MAX ((CAST_LINE_MAX - 64) / 6)

static const uint8_t replacement[3] = { 0xef, 0xbf, 0xbd }; /* U+FFFD */

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

/*
 * Length of the UTF-8 sequence that lead byte c starts, 0 if c starts none
 * (a continuation byte, C0 and C1 that could only encode overlong forms,
 * F5..FF past U+10FFFF).
 */
static size_t
utf8_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/*
 * 1 if c may stand at position i (1..3) of a sequence led by lead: a
 * continuation byte, narrowed after E0, ED, F0 and F4 so that overlong
 * forms, surrogates and values past U+10FFFF are refused at once (Unicode
 * Table 3-7).
 */
static int
utf8_fits(uint8_t lead, size_t i, uint8_t c)
{
	uint8_t lo = 0x80, hi = 0xbf;

	if (i == 1) {
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
		else if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	}
	return c >= lo && c <= hi;
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

/* Appends one character (or U+FFFD); a full event's worth is written out. */
static void
text_put(struct recording *rec, const uint8_t *seq, size_t n)
{
	if (n == 1 && seq[0] == 0)
		seq = replacement, n = sizeof(replacement); /* NUL has no place in text */
	(void)qh_buf_put(&rec->text, seq, n);
	/* A long chunk becomes several events, none cut. */
	if (qh_buf_room(&rec->text) < 4)
		write_output(rec);
}

void
recording_output(struct recording *rec, const uint8_t *p, size_t len)
{
	size_t i = 0, need;

	if (rec == NULL)
		return;
	qh_buf_reset(&rec->text);
	while (i < len) {
		if (rec->ntail == 0) {
			/* A new character: one byte, a byte that starts none, or a lead.
			 */
			need = utf8_len(p[i]);
			if (need <= 1) {
				if (need == 1)
					text_put(rec, &p[i], 1);
				else
					text_put(rec, replacement, sizeof(replacement));
				i++;
				continue;
			}
			rec->tail[rec->ntail++] = p[i++];
		}
		/* Continue the sequence in tail (carried from the last chunk, or just
		 * begun). */
		need = utf8_len(rec->tail[0]);
		while (rec->ntail < need && i < len &&
		    utf8_fits(rec->tail[0], rec->ntail, p[i]))
			rec->tail[rec->ntail++] = p[i++];
		if (rec->ntail == need) {
			text_put(rec, rec->tail, need);
			rec->ntail = 0;
		} else if (i < len) {
			/* Cut short: U+FFFD for what there is; p[i] starts afresh. */
			text_put(rec, replacement, sizeof(replacement));
			rec->ntail = 0;
		} /* else: the rest comes with the next chunk */
	}
	if (qh_buf_len(&rec->text) > 0)
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
	if (rec->ntail > 0) {
		/* A sequence the output never finished. */
		qh_buf_reset(&rec->text);
		text_put(rec, replacement, sizeof(replacement));
		rec->ntail = 0;
		write_output(rec);
	}
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
