/*
 * Ticket desk requests on the wire: one table of commands and the fields
 * each needs, an encoder that refuses what the decoder would, and the
 * decoder the console runs on a peer's REQUEST.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/desk.h"
#include "qh/err.h"
#include "qh/pki.h"
#include "qh/wire.h"

/* What each command carries besides its cmd. */
#define F_ID	  0x01 /* a ticket number */
#define F_TEXT	  0x02 /* text: a need's question, a close note */
#define F_LOGIN	  0x04 /* a technician's login */
#define F_SLOT	  0x08 /* a proposal */
#define F_NAME	  0x10 /* an attachment's file name */
#define F_LISTING 0x20 /* [customer], [flags] */
#define F_REC	  0x40 /* id: a session, name: one of its recordings */

static const struct {
	const char *name;
	unsigned fields;
} cmds[QH_DESK_CMD_MAX] = {
	[QH_DESK_LIST] = { "tickets", F_LISTING },
	[QH_DESK_SHOW] = { "ticket-show", F_ID },
	[QH_DESK_GET] = { "ticket-get", F_ID | F_NAME },
	[QH_DESK_REPLY] = { "ticket-reply", 0 },
	[QH_DESK_NEED] = { "ticket-need", F_ID | F_TEXT },
	[QH_DESK_ASSIGN] = { "ticket-assign", F_ID | F_LOGIN },
	[QH_DESK_CONFIRM] = { "ticket-confirm", F_ID | F_SLOT },
	[QH_DESK_CLOSE] = { "ticket-close", F_ID | F_TEXT },
	[QH_DESK_BALANCE] = { "balance", 0 },
	[QH_DESK_RECORDING] = { "recording", F_REC },
};

const char *
qh_desk_cmd_name(enum qh_desk_cmd c)
{
	return c > QH_DESK_NONE && c < QH_DESK_CMD_MAX ? cmds[c].name : NULL;
}

enum qh_desk_cmd
qh_desk_cmd_parse(const char *name)
{
	int c;

	for (c = QH_DESK_NONE + 1; c < QH_DESK_CMD_MAX; c++)
		if (strcmp(cmds[c].name, name) == 0)
			return (enum qh_desk_cmd)c;
	return QH_DESK_NONE;
}

/* 1 if s is a customer id or login as qh_id_valid (qh/pki.h) takes one. */
static int
id_ok(const char *s)
{
	return qh_id_valid(s);
}

int
qh_desk_recording_name_valid(const char *name)
{
	static const char *const ends[] = { ".client.fbs", ".fbs", ".cast" };
	size_t digits = strspn(name, "0123456789"), kind, rest, i;
	const char *k;

	if (digits < 1 || digits > 19 || name[digits] != '-')
		return 0;
	k = name + digits + 1;
	kind = strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_-");
	if (kind < 1 || kind > 32)
		return 0;
	rest = strlen(k + kind);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (rest == strlen(ends[i]) && strcmp(k + kind, ends[i]) == 0)
			return 1;
	return 0;
}

/* 1 if text is 1..QH_DESK_TEXT_MAX bytes of UTF-8. */
static int
text_ok(const char *s)
{
	size_t n = strnlen(s, QH_DESK_TEXT_MAX + 1);

	return n > 0 && n <= QH_DESK_TEXT_MAX && qh_utf8_valid((const uint8_t *)s, n);
}

/* Sets why and returns r. */
static int why_set(char *why, size_t len, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

int
qh_desk_req_check(const struct qh_desk_req *r, char *why, size_t len)
{
	unsigned f;

	if (r->cmd <= QH_DESK_NONE || r->cmd >= QH_DESK_CMD_MAX ||
	    r->cmd == QH_DESK_REPLY)
		return why_set(why, len, QH_ERR_PROTOCOL, "not a desk request");
	f = cmds[r->cmd].fields;
	if ((f & F_ID) && r->id < 1)
		return why_set(why, len, QH_ERR_FORMAT, "no ticket number");
	if ((f & F_TEXT) && !text_ok(r->text))
		return why_set(why, len, QH_ERR_FORMAT,
		    "the text must be 1 to %d bytes of UTF-8", QH_DESK_TEXT_MAX);
	if ((f & F_LOGIN) && !id_ok(r->login))
		return why_set(why, len, QH_ERR_FORMAT, "no technician's login");
	if ((f & F_SLOT) && (r->slot < 1 || r->slot > QH_TICKET_SLOTS_MAX))
		return why_set(why, len, QH_ERR_FORMAT,
		    "the proposed appointment is 1 to %d", QH_TICKET_SLOTS_MAX);
	if ((f & F_NAME) && !qh_ticket_name_valid(r->name))
		return why_set(why, len, QH_ERR_FORMAT, "no attachment's file name");
	if ((f & F_REC) && r->id < 1)
		return why_set(why, len, QH_ERR_FORMAT, "no session number");
	if ((f & F_REC) && !qh_desk_recording_name_valid(r->name))
		return why_set(why, len, QH_ERR_FORMAT, "not a recording's file name");
	if ((f & F_LISTING) && r->customer[0] != '\0' && !id_ok(r->customer))
		return why_set(why, len, QH_ERR_FORMAT, "not a customer id");
	if ((f & F_LISTING) && (r->flags & ~(uint32_t)QH_DESK_OPEN_ONLY) != 0)
		return why_set(why, len, QH_ERR_FORMAT, "unknown listing flags");
	return 0;
}

int
qh_desk_req_encode(const struct qh_desk_req *r, struct qh_buf *out)
{
	unsigned f;
	int e;

	if (qh_desk_req_check(r, NULL, 0) != 0)
		return QH_ERR_ARG;
	f = cmds[r->cmd].fields;
	if ((e = qh_msg_begin(out, QH_MSG_REQUEST)) != 0 ||
	    (e = qh_msg_put_str(out, QH_K_CMD, cmds[r->cmd].name)) != 0)
		return e;
	if ((f & (F_ID | F_REC)) &&
	    (e = qh_msg_put_u64(out, QH_K_ID, (uint64_t)r->id)) != 0)
		return e;
	if ((f & F_TEXT) && (e = qh_msg_put_str(out, QH_K_TEXT, r->text)) != 0)
		return e;
	if ((f & F_LOGIN) && (e = qh_msg_put_str(out, QH_K_LOGIN, r->login)) != 0)
		return e;
	if ((f & F_SLOT) && (e = qh_msg_put_u32(out, QH_K_SLOT, (uint32_t)r->slot)) != 0)
		return e;
	if ((f & (F_NAME | F_REC)) && (e = qh_msg_put_str(out, QH_K_NAME, r->name)) != 0)
		return e;
	if ((f & F_LISTING) && r->customer[0] != '\0' &&
	    (e = qh_msg_put_str(out, QH_K_CUSTOMER, r->customer)) != 0)
		return e;
	if ((f & F_LISTING) && r->flags != 0 &&
	    (e = qh_msg_put_u32(out, QH_K_FLAGS, r->flags)) != 0)
		return e;
	return 0;
}

/* Copies text field key (at most cap - 1 bytes) into out; 0 when absent. */
static int
get_text(const struct qh_msg *m, uint8_t key, char *out, size_t cap)
{
	const uint8_t *p;
	size_t len;

	out[0] = '\0';
	if (qh_msg_get(m, key, &p, &len) != 0)
		return 0;
	if (len >= cap)
		return QH_ERR_FORMAT;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
qh_desk_req_decode(const struct qh_msg *m, struct qh_desk_req *r, char *why,
    size_t whylen)
{
	char cmd[33];
	uint64_t id = 0;
	uint32_t v = 0;
	unsigned f;

	memset(r, 0, sizeof(*r));
	if (m->type != QH_MSG_REQUEST || get_text(m, QH_K_CMD, cmd, sizeof(cmd)) != 0)
		return why_set(why, whylen, QH_ERR_PROTOCOL, "not a desk request");
	r->cmd = qh_desk_cmd_parse(cmd);
	if (r->cmd == QH_DESK_NONE || r->cmd == QH_DESK_REPLY)
		return why_set(why, whylen, QH_ERR_PROTOCOL, "not a desk request");
	f = cmds[r->cmd].fields;
	if ((f & (F_ID | F_REC)) &&
	    (qh_msg_get_u64(m, QH_K_ID, &id) != 0 || id > INT64_MAX))
		return why_set(why, whylen, QH_ERR_FORMAT,
		    (f & F_REC) ? "no session number" : "no ticket number");
	r->id = (int64_t)id;
	if ((f & F_SLOT) && qh_msg_get_u32(m, QH_K_SLOT, &v) != 0)
		return why_set(why, whylen, QH_ERR_FORMAT, "no proposed appointment");
	r->slot = v > QH_TICKET_SLOTS_MAX ? QH_TICKET_SLOTS_MAX + 1 : (int)v;
	if ((f & F_LISTING) && qh_msg_has(m, QH_K_FLAGS) &&
	    qh_msg_get_u32(m, QH_K_FLAGS, &r->flags) != 0)
		return why_set(why, whylen, QH_ERR_FORMAT, "malformed flags");
	if (((f & F_TEXT) && get_text(m, QH_K_TEXT, r->text, sizeof(r->text)) != 0) ||
	    ((f & F_LOGIN) && get_text(m, QH_K_LOGIN, r->login, sizeof(r->login)) != 0) ||
	    ((f & (F_NAME | F_REC)) &&
		get_text(m, QH_K_NAME, r->name, sizeof(r->name)) != 0) ||
	    ((f & F_LISTING) &&
		get_text(m, QH_K_CUSTOMER, r->customer, sizeof(r->customer)) != 0))
		return why_set(why, whylen, QH_ERR_FORMAT, "a field is too long");
	return qh_desk_req_check(r, why, whylen);
}
