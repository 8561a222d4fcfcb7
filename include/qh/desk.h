/*
 * The ticket desk: what `qh-console tickets` and `ticket ...` ask of the
 * tickets, and what a customer's `qh-agent tickets`, `ticket show`,
 * `ticket get` and `balance` ask (docs/protocol.md, "The ticket desk").
 * A request is one struct, written and read as a REQUEST message through
 * the checking codec below, so the console decodes a peer's request only
 * here (tests/fuzz/fuzz_ticket.c). A reply with attachments travels as a
 * ticket upload instead (qh/ticket.h, qh_ticket_set_reply). A session's
 * recording, which an accountant fetches (`qh-console recording get`, the
 * web console's sessions page), is asked for and answered as a GET is.
 *
 * The console's ticket commands reach a desk in one of two ways, which
 * its dispatcher chooses: the store on this host, or the console over TLS
 * with a technician's bundle. struct qh_desk is what both provide, so a
 * command is written once: it builds a request, hands it to the desk and
 * renders the JSON document that comes back (qh/deskview.h).
 */
#ifndef QH_DESK_H
#define QH_DESK_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"
#include "qh/ticket.h"
#include "qh/wire.h"

enum qh_desk_cmd {
	QH_DESK_NONE,
	QH_DESK_LIST,	 /* "tickets": [customer], [flags] */
	QH_DESK_SHOW,	 /* "ticket-show": id */
	QH_DESK_GET,	 /* "ticket-get": id, name (a download) */
	QH_DESK_REPLY,	 /* "ticket-reply": an upload (qh/ticket.h) */
	QH_DESK_NEED,	 /* "ticket-need": id, text */
	QH_DESK_ASSIGN,	 /* "ticket-assign": id, login */
	QH_DESK_CONFIRM, /* "ticket-confirm": id, slot */
	QH_DESK_CLOSE,	 /* "ticket-close": id, note */
	QH_DESK_BALANCE, /* "balance": a customer's own figures */
	/* "recording": id (the session), name (a download; accounting only) */
	QH_DESK_RECORDING,
	QH_DESK_CMD_MAX
};

#define QH_DESK_OPEN_ONLY 0x1  /* LIST flags: only tickets that are not closed */
#define QH_DESK_TEXT_MAX  4096 /* bytes of a need's text or a close note */

/* A request; the fields a command does not use are zero. */
struct qh_desk_req {
	enum qh_desk_cmd cmd;
	int64_t id; /* the ticket, from 1; RECORDING: the session */
	uint32_t flags;
	int slot;	   /* CONFIRM: the proposal, from 1 */
	char customer[65]; /* LIST: one customer's; "" for all */
	char login[65];	   /* ASSIGN: the technician */
	/* GET: the attachment's file name; RECORDING: the recording's */
	char name[QH_TICKET_NAME_MAX + 1];
	char text[QH_DESK_TEXT_MAX + 1]; /* NEED: the question; CLOSE: the note */
};

/* The REQUEST cmd of c ("tickets", "ticket-show", ...); NULL for none. */
const char *qh_desk_cmd_name(enum qh_desk_cmd c);

/* The command a REQUEST's cmd names; QH_DESK_NONE for another. */
enum qh_desk_cmd qh_desk_cmd_parse(const char *name);

/*
 * Checks r as a request: every field its command needs, within bounds.
 * Returns 0, or QH_ERR_PROTOCOL (no such command, or REPLY) or
 * QH_ERR_FORMAT with a sentence in why (NULL: none).
 */
int qh_desk_req_check(const struct qh_desk_req *r, char *why, size_t whylen);

/*
 * Checks r as a request (qh_desk_req_check) and appends it to out as a
 * REQUEST message. REPLY is not encoded here.
 * Returns 0, QH_ERR_ARG for a bad request, or the buffer's error.
 */
int qh_desk_req_encode(const struct qh_desk_req *r, struct qh_buf *out);

/*
 * Reads a REQUEST message into *r with the same checks, so that a decoded
 * request is one qh_desk_req_encode accepts. Returns 0, or
 * QH_ERR_PROTOCOL (not a desk request, or REPLY) or QH_ERR_FORMAT (a field
 * missing, malformed or out of bounds) with a sentence in why.
 */
int qh_desk_req_decode(const struct qh_msg *m, struct qh_desk_req *r, char *why,
    size_t whylen);

/*
 * 1 if name is a session recording's file name as the console makes them
 * (docs/protocol.md): EVENT-KIND.cast, EVENT-KIND.fbs or its viewer side
 * EVENT-KIND.client.fbs; EVENT digits, KIND 1-32 of [a-z0-9_-]. Such a
 * name cannot leave the session's directory.
 */
int qh_desk_recording_name_valid(const char *name);

/* What a desk's get copied: the attachment's size and hex SHA-256. */
struct qh_desk_got {
	uint64_t size;
	char sha256[65];
};

/*
 * A desk, as the console's dispatcher opens it for a ticket command. Each
 * operation returns 0, or <0 with the line to print (no program name) in
 * why; the command exits 1 then.
 */
struct qh_desk {
	/*
	 * Runs req (not GET or REPLY): answer gets its JSON document, the
	 * one `--json` prints (a listing, a ticket, or what a change did).
	 */
	int (*call)(struct qh_desk *d, const struct qh_desk_req *req,
	    struct qh_buf *answer);
	/*
	 * Adds reply t (complete: its text and its attachments described)
	 * to its ticket; fds[i] is attachment i, open and read from its
	 * start, paths[i] its name for messages. answer gets what the reply
	 * did as a JSON document.
	 */
	int (*reply)(struct qh_desk *d, struct qh_ticket *t, const int *fds,
	    const char *const *paths, struct qh_buf *answer);
	/*
	 * Copies attachment req->name of ticket req->id to the new file out
	 * (never over an existing one), checked against the size and SHA-256
	 * on record; nothing is left at out on failure.
	 */
	int (*get)(struct qh_desk *d, const struct qh_desk_req *req, const char *out,
	    struct qh_desk_got *got);
	char why[1024];
	void *arg; /* the provider's */
};

#endif
