/*
 * What the tickets pages ask qh-console web (console/web/desk.c), read
 * before anything goes to the console: a listing's, a ticket's or an
 * attachment's URL arguments (GET /api/desk/tickets, ticket, file) and a
 * change's JSON body (POST /api/desk/need, assign, confirm, close, reply),
 * the body through the bounded JSON reader (qh/jsonread.h). A request that
 * reads is one qh_desk_req_encode accepts, or a reply qh_ticket_set_reply
 * and qh_ticket_add_text take. tests/fuzz/fuzz_webdesk.c covers both.
 */
#ifndef QH_WEB_DESKREQ_H
#define QH_WEB_DESKREQ_H

#include <stddef.h>
#include <stdint.h>

#include "qh/desk.h"
#include "qh/ticket.h"

#define WEB_DESK_BODY_MAX (256 * 1024) /* a POST body: a reply's text, escaped */

/* An attachment of a reply, as its head announces it. */
struct web_desk_file {
	char name[QH_TICKET_NAME_MAX + 1]; /* qh_ticket_name_valid, unique */
	uint64_t size;			   /* at most QH_TICKET_ATTACHMENT_DEFAULT */
};

/* One request of a page. */
struct web_desk_call {
	struct qh_desk_req req; /* req.cmd QH_DESK_REPLY: id and reply below */
	char reply[QH_TICKET_REPLY_MAX + 1]; /* a reply's text, 1.. bytes of UTF-8 */
	size_t reply_len;
	struct web_desk_file files[QH_TICKET_FILES_MAX]; /* a reply's, in order */
	int nfiles;
	uint64_t total; /* their sizes, at most QH_TICKET_TOTAL_DEFAULT */
};

/*
 * The action a POST names ("need", "assign", "confirm", "close", "reply")
 * as a command; QH_DESK_NONE for another.
 */
enum qh_desk_cmd web_desk_action(const char *name);

/*
 * Reads a POST's body of len bytes at p for action cmd: one JSON object,
 * {"id": N} and "text" (need, close, reply), "login" (assign) or "slot"
 * (confirm); other members are refused. Returns 0 with c filled, or
 * QH_ERR_FORMAT / QH_ERR_TOO_LARGE with a sentence in why.
 */
int web_desk_parse_body(enum qh_desk_cmd cmd, const uint8_t *p, size_t len,
    struct web_desk_call *c, char *why, size_t whylen);

/*
 * A reply with attachments is one application/octet-stream body: its head
 * LEN:u32 (big-endian) and LEN bytes of JSON as for "reply" plus "files":
 * [{"name": NAME, "size": N}, ...], then the files' bytes one after the
 * other. Reads the head from the len bytes at p into c and its length
 * into *head_len. Returns 0, QH_ERR_INCOMPLETE while the head has not all
 * come, or QH_ERR_FORMAT / QH_ERR_TOO_LARGE with a sentence in why.
 */
int web_desk_parse_reply_head(const uint8_t *p, size_t len, struct web_desk_call *c,
    size_t *head_len, char *why, size_t whylen);

/*
 * Reads a GET's URL arguments for cmd (QH_DESK_LIST: open "1" or NULL and
 * customer, may be NULL or ""; QH_DESK_SHOW: id; QH_DESK_GET: id and
 * name). id is decimal digits, 1 to 2^63-1. Returns 0 with c filled, or
 * QH_ERR_FORMAT with a sentence in why.
 */
int web_desk_parse_args(enum qh_desk_cmd cmd, const char *id, const char *open,
    const char *customer, const char *name, struct web_desk_call *c, char *why,
    size_t whylen);

#endif
