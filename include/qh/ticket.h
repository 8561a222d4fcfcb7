/*
 * Support tickets on the wire: the metadata `qh-agent ticket` sends and the
 * console accepts (docs/protocol.md, "Tickets"), and a reply to a ticket
 * with its attachments (`ticket reply`), which travels the same way: a
 * reply is a ticket whose kind is "reply", whose one text is "text" (at
 * most QH_TICKET_REPLY_MAX bytes) and which has no subject, environment or
 * proposals (qh_ticket_set_reply). Both sides fill the same
 * struct through the same checking setters, so a ticket the agent builds
 * is one the console takes, and the console reads peer messages only
 * through qh_ticket_decode_*, which check every value against the limits
 * before anything is kept. The console's policy (due times, the
 * installation rule, its configured limits) stays in the console.
 *
 * The struct is visible so that callers can read the collected fields; only
 * the functions below write them.
 */
#ifndef QH_TICKET_H
#define QH_TICKET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/text.h"
#include "qh/wire.h"

#define QH_TICKET_SUBJECT_MAX	     200	   /* bytes of UTF-8, one line */
#define QH_TICKET_STEPS_MAX	     (64 * 1024)   /* default bound of the steps */
#define QH_TICKET_STEPS_LIMIT	     (1024 * 1024) /* most a console may allow */
#define QH_TICKET_ENV_MAX	     (256 * 1024)  /* the environment document */
#define QH_TICKET_FILES_MAX	     32
#define QH_TICKET_SLOTS_MAX	     16
#define QH_TICKET_NAME_MAX	     255	     /* an attachment's file name */
#define QH_TICKET_CHUNK		     32768	     /* text per TICKET_TEXT message */
#define QH_TICKET_WHEN_LEN	     16		     /* "YYYY-MM-DDTHH:MM" */
#define QH_TICKET_OFFSET_MAX	     (18 * 60)	     /* |UTC offset| in minutes */
#define QH_TICKET_REPLY_MAX	     QH_TICKET_CHUNK /* bytes of a reply's text */
#define QH_TICKET_ATTACHMENT_DEFAULT (256ULL << 20)
#define QH_TICKET_TOTAL_DEFAULT	     (1024ULL << 20)

/* TICKET_OK flags. */
#define QH_TICKET_OK_EXISTED 0x1 /* filed before: an idempotent retry */

struct qh_ticket_limits {
	uint64_t attachment_max; /* bytes of one attachment */
	uint64_t total_max;	 /* bytes of all attachments together */
	size_t steps_max;	 /* bytes of the steps */
};

struct qh_ticket_file {
	char name[QH_TICKET_NAME_MAX + 1]; /* base name, no '/' */
	uint64_t size;
	uint8_t hash[32]; /* SHA-256 of the content */
};

struct qh_ticket_slot {
	char when[QH_TICKET_WHEN_LEN + 1]; /* the PC's local time as typed */
	int32_t offset;			   /* minutes east of UTC then */
	int64_t utc;			   /* the instant, UTC seconds */
};

struct qh_ticket {
	char kind[16];	  /* "support" or "installation"; "reply" for a reply */
	int64_t reply_to; /* a reply: the ticket's number; else 0 */
	char subject[QH_TICKET_SUBJECT_MAX + 1];
	uint8_t key[32];     /* idempotency key */
	uint64_t total;	     /* bytes of all attachments */
	struct qh_buf steps; /* UTF-8 once complete; a reply's text */
	struct qh_buf env;   /* a JSON object once complete; may be empty */
	struct qh_ticket_file files[QH_TICKET_FILES_MAX];
	int nfiles;
	struct qh_ticket_slot slots[QH_TICKET_SLOTS_MAX];
	int nslots;
	struct qh_ticket_limits lim;
	enum qh_lang lang; /* of why: English unless the caller sets it */
	int complete;	   /* qh_ticket_finish succeeded */
	char why[256];	   /* the last refusal, for people */
};

/*
 * Starts an empty ticket with limits lim (NULL: the defaults). Every setter
 * below returns 0, or a negative QH_ERR_* with a sentence in t->why:
 * QH_ERR_FORMAT for a value that breaks the format, QH_ERR_LIMIT for one
 * over a limit. Release with qh_ticket_free.
 */
void qh_ticket_init(struct qh_ticket *t, const struct qh_ticket_limits *lim);
void qh_ticket_free(struct qh_ticket *t);

/* kind support|installation; subject one line of UTF-8; total bytes of attachments. */
int qh_ticket_set_header(struct qh_ticket *t, const char *kind, const char *subject,
    uint64_t total);
/* Makes t a reply to ticket id (from 1) with total bytes of attachments. */
int qh_ticket_set_reply(struct qh_ticket *t, int64_t id, uint64_t total);
/* Appends to "steps" or "environment" (a ticket), or "text" (a reply). */
int qh_ticket_add_text(struct qh_ticket *t, const char *which, const void *p, size_t len);
int qh_ticket_add_file(struct qh_ticket *t, const char *name, uint64_t size,
    const uint8_t hash[32]);
/* when "YYYY-MM-DDTHH:MM" in the PC's local time, offset minutes east of UTC. */
int qh_ticket_add_slot(struct qh_ticket *t, const char *when, int32_t offset);
/*
 * Checks the whole: steps valid UTF-8, environment a JSON object (or
 * empty), attachment sizes adding up to the header's total, names unique;
 * a reply's text not empty and valid UTF-8.
 */
int qh_ticket_finish(struct qh_ticket *t);

/*
 * The console's side: REQUEST{cmd="ticket", kind, subject, hash=key,
 * size=total}, or REQUEST{cmd="ticket-reply", id, hash=key, size=total}
 * for a reply.
 */
int qh_ticket_decode_request(struct qh_ticket *t, const struct qh_msg *m);
/* One TICKET_TEXT, TICKET_FILE or TICKET_SLOT message; other types: QH_ERR_PROTOCOL. */
int qh_ticket_decode(struct qh_ticket *t, const struct qh_msg *m);

/* The agent's side: the REQUEST that opens the ticket channel. */
int qh_ticket_encode_request(const struct qh_ticket *t, struct qh_buf *out);
/*
 * Builds every TICKET_TEXT, TICKET_FILE and TICKET_SLOT message in order and
 * hands each to send (a buffer valid during the call); stops at the first
 * non-zero return of send and returns it.
 */
int qh_ticket_encode_items(const struct qh_ticket *t,
    int (*send)(void *arg, const struct qh_buf *msg), void *arg);

/*
 * The idempotency key: SHA-256 over the agent id, kind, subject, steps,
 * attachments (name, size, hash) and proposals -- not the environment, whose
 * facts change between runs. For a reply: over the sender (the agent id,
 * or a technician's login), the ticket's number, the text and the
 * attachments. Writes t->key; returns 0 or QH_ERR_CRYPTO.
 */
int qh_ticket_make_key(struct qh_ticket *t, const char *agent_id);

/*
 * A reply's text as --text or --file gives it (exactly one is non-NULL):
 * copied or read into buf, at most cap bytes (a longer text gives cap
 * bytes, for the caller to refuse). Returns 0 with *len, or -1 with errno
 * from opening or reading file.
 */
int qh_ticket_reply_text(const char *text, const char *file, char *buf, size_t cap,
    size_t *len);

/*
 * Parses exactly "YYYY-MM-DDTHH:MM" (a date that exists, 00:00-23:59) into
 * tm (seconds 0, tm_isdst -1). Returns 0 or QH_ERR_FORMAT.
 */
int qh_ticket_parse_when(const char *s, struct tm *tm);

/* 1 if name may name an attachment: 1..255 bytes of UTF-8, no '/', no controls, not . or
 * .. */
int qh_ticket_name_valid(const char *name);

/*
 * 1 if the len bytes at p are an environment document: one JSON object by
 * RFC 8259 as the bounded reader of qh/jsonread.h takes it, so that it can
 * be embedded verbatim in JSON output.
 */
int qh_ticket_env_valid(const void *p, size_t len);

#endif
