/*
 * The framed protocol inside TLS, and the control messages it carries.
 *
 * A frame is a 9-byte header (u8 type, u32 channel id, u32 payload length)
 * followed by the payload. Channel 0 is the connection's control channel.
 * Control messages (in CONTROL frames, in OPEN frames and in channel MSG
 * frames) are a u8 message type followed by fields: u8 key, string value.
 * Each message type has a table of the keys it may and must carry; the one
 * decoder checks a message against its table, so handlers read fields that
 * are known to be present and within their bounds.
 */
#ifndef QH_WIRE_H
#define QH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

#define QH_WIRE_HDR_LEN	    9
#define QH_WIRE_MAX_PAYLOAD (64 * 1024) /* frames longer than this are invalid */
#define QH_WIRE_MAX_CHANNEL 0x7fffffffU

enum qh_frame_type {
	QH_FRAME_CONTROL = 1, /* channel 0: one control message */
	QH_FRAME_OPEN,	      /* new channel: u32 window, then a control message */
	QH_FRAME_OPEN_OK,     /* channel accepted: u32 window */
	QH_FRAME_OPEN_FAIL,   /* channel refused: an ERROR control message */
	QH_FRAME_DATA,	      /* channel bytes, counted against the window */
	QH_FRAME_EXTDATA,     /* second stream (stderr), same window */
	QH_FRAME_EOF,	      /* sender will send no more data */
	QH_FRAME_CLOSE,	      /* channel is gone on the sender's side */
	QH_FRAME_WINDOW,      /* u32 credit: receiver may be sent this many more bytes */
	QH_FRAME_MSG,	      /* a control message on a channel (exit status, resize) */
	QH_FRAME_PING,	      /* u64 cookie, answered by PONG */
	QH_FRAME_PONG,
	QH_FRAME_TYPE_MAX /* first unknown type */
};

/* A decoded frame; payload points into the decoder's input. */
struct qh_frame {
	uint8_t type;
	uint32_t chan;
	const uint8_t *payload;
	size_t len;
};

/*
 * Decodes the frame at the front of in without consuming it. Returns 1 and
 * fills *f when a whole frame is there (the caller consumes
 * QH_WIRE_HDR_LEN + f->len), 0 when more bytes are needed, and
 * QH_ERR_PROTOCOL for an unknown type or QH_ERR_TOO_LARGE for a length over
 * QH_WIRE_MAX_PAYLOAD, both decided from the header alone.
 */
int qh_wire_decode(const struct qh_buf *in, struct qh_frame *f);

/* Appends a frame header; the caller appends len payload bytes next. */
int qh_wire_put_header(struct qh_buf *out, uint8_t type, uint32_t chan, size_t len);

/* Appends a whole frame. */
int qh_wire_put_frame(struct qh_buf *out, uint8_t type, uint32_t chan,
    const void *payload, size_t len);

/* Returns the frame type's name for logs ("unknown" for others). */
const char *qh_wire_frame_name(uint8_t type);

/* Control messages. */

enum qh_msg_type {
	QH_MSG_ERROR = 1,     /* refusal or failure: code, text */
	QH_MSG_JOIN,	      /* pre-auth: token, csr */
	QH_MSG_JOIN_OK,	      /* cert, ca, customer */
	QH_MSG_HELLO,	      /* agent -> console after auth */
	QH_MSG_WELCOME,	      /* console -> agent */
	QH_MSG_NOTICE,	      /* text for the human on the other side */
	QH_MSG_CONSENT,	      /* console -> agent: may this technician in? */
	QH_MSG_CONSENT_REPLY, /* agent -> console */
	QH_MSG_REQUEST,	      /* technician -> console: opens a command channel */
	QH_MSG_REPLY,	      /* console -> technician: result of a request */
	QH_MSG_ACTION,	      /* console -> agent: opens a channel for a command */
	QH_MSG_EXIT,	      /* channel: command finished */
	QH_MSG_RESIZE,	      /* channel: terminal size */
	QH_MSG_SESSION,	      /* agent <-> console: session state changes */
	QH_MSG_TICKET_TEXT,   /* ticket channel: a piece of the steps or environment */
	QH_MSG_TICKET_FILE,   /* ticket channel: one attachment's name, size, hash */
	QH_MSG_TICKET_SLOT,   /* ticket channel: one proposed appointment */
	QH_MSG_TICKET_GO,     /* ticket channel: metadata complete / send the files */
	QH_MSG_TICKET_OK,     /* ticket channel: the ticket's number and due time */
	/* console -> agent: withdraw an unanswered consent question */
	QH_MSG_CONSENT_CANCEL,
	QH_MSG_TYPE_MAX
};

/* Field keys; which keys a type allows is in wire.c's table. */
enum qh_key {
	QH_K_CODE = 1, /* error code (u32) or session code (string) */
	QH_K_TEXT,     /* human-readable text */
	QH_K_TOKEN,    /* join token */
	QH_K_CSR,      /* PEM certificate request */
	QH_K_CERT,     /* PEM certificate */
	QH_K_CA,       /* PEM CA certificate */
	QH_K_CUSTOMER, /* customer id */
	QH_K_NAME,     /* display name */
	QH_K_HOST,     /* host name */
	QH_K_RESUME,   /* resume token */
	QH_K_LOGIN,    /* technician login */
	QH_K_ID,       /* request or object id (u64) */
	QH_K_ALLOW,    /* u8: 0 or 1 */
	QH_K_CMD,      /* request kind ("queue", "exec", ...) */
	QH_K_ARG,      /* packed argument vector (strings) */
	QH_K_STATUS,   /* u32 exit status */
	QH_K_SIGNAL,   /* u32 signal number */
	QH_K_ROWS,     /* u32 */
	QH_K_COLS,     /* u32 */
	QH_K_UNITS,    /* i64 */
	QH_K_JSON,     /* JSON document */
	QH_K_TERM,     /* TERM value */
	QH_K_FLAGS,    /* u32 flags */
	QH_K_SESSION,  /* u64 session id */
	QH_K_SECONDS,  /* u64 */
	QH_K_KIND,     /* string */
	QH_K_NOTE,     /* string */
	QH_K_TARGET,   /* host:port */
	QH_K_PATH,     /* file path */
	QH_K_SIZE,     /* u64 */
	QH_K_MODE,     /* u32 */
	QH_K_HASH,     /* SHA-256, 32 bytes */
	QH_K_SUBJECT,  /* ticket subject, one line */
	QH_K_CHUNK,    /* a piece of a longer text (any bytes) */
	QH_K_WHEN,     /* local time "YYYY-MM-DDTHH:MM" */
	QH_K_OFFSET,   /* u32: signed minutes east of UTC */
	QH_K_DUE,      /* u64: UTC seconds */
	QH_K_DEADLINE, /* u64: UTC seconds */
	QH_K_LANG,     /* the customer's language: "de" or "en" */
	QH_K_INTERNAL, /* string: a note for staff only (end --internal) */
	QH_K_SLOT,     /* u32: a ticket's proposed appointment, from 1 */
	QH_K_MAX
};

#define QH_MSG_MAX_FIELDS 24
#define QH_MSG_MAX_LEN	  QH_WIRE_MAX_PAYLOAD

/* A decoded message: fields point into the decoder's input. */
struct qh_msg {
	uint8_t type;
	unsigned nfields;
	struct {
		uint8_t key;
		uint32_t len;
		const uint8_t *val;
	} f[QH_MSG_MAX_FIELDS];
};

/*
 * Decodes len bytes at p as one message and checks it against its type's
 * table: every key allowed and at most once, required keys present, each
 * value within its key's bound and of its key's kind (integers of their
 * exact width, text valid UTF-8 without NUL). Returns 0 or QH_ERR_FORMAT,
 * QH_ERR_PROTOCOL (unknown type or key) or QH_ERR_TOO_LARGE.
 */
int qh_msg_decode(const void *p, size_t len, struct qh_msg *m);

/* Encodes a decoded message again (to pass it on); fields in their order. */
int qh_msg_encode(const struct qh_msg *m, struct qh_buf *out);

/* Builder: a type byte, then fields. */
int qh_msg_begin(struct qh_buf *out, uint8_t type);
int qh_msg_put(struct qh_buf *out, uint8_t key, const void *p, size_t len);
int qh_msg_put_str(struct qh_buf *out, uint8_t key, const char *s);
int qh_msg_put_u32(struct qh_buf *out, uint8_t key, uint32_t v);
int qh_msg_put_u64(struct qh_buf *out, uint8_t key, uint64_t v);

/*
 * Getters: QH_ERR_NOT_FOUND when the field is absent. The integer getters
 * read through the bounded reader and give QH_ERR_FORMAT for a field that
 * is not exactly their width, whoever built the message.
 */
int qh_msg_has(const struct qh_msg *m, uint8_t key);
int qh_msg_get(const struct qh_msg *m, uint8_t key, const uint8_t **pp, size_t *lenp);
/* Copies a text field into a new NUL-terminated string owned by the caller. */
int qh_msg_get_str(const struct qh_msg *m, uint8_t key, char **sp);
int qh_msg_get_u8(const struct qh_msg *m, uint8_t key, uint8_t *v);
int qh_msg_get_u32(const struct qh_msg *m, uint8_t key, uint32_t *v);
int qh_msg_get_u64(const struct qh_msg *m, uint8_t key, uint64_t *v);

/* Returns the message type's name for logs. */
const char *qh_msg_name(uint8_t type);

/*
 * Packed argument vectors (QH_K_ARG): a sequence of strings. Pack appends
 * argc strings to out; unpack returns a NULL-terminated vector in one
 * allocation owned by the caller, at most QH_ARGV_MAX entries.
 */
#define QH_ARGV_MAX 1024
int qh_argv_pack(struct qh_buf *out, int argc, char *const argv[]);
int qh_argv_unpack(const uint8_t *p, size_t len, char ***argvp, int *argcp);

/* Returns 1 if the len bytes at p are valid UTF-8 without NUL, else 0. */
int qh_utf8_valid(const uint8_t *p, size_t len);

#endif
