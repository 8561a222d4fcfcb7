/*
 * The pieces of an Internet message (RFC 5322, MIME): header fields with
 * RFC 2047 encoded words, quoted-printable and base64 bodies, and the
 * date. Everything is written with CRLF line ends into a bounded buffer,
 * whose first failed put is kept (qh/buf.h): the caller checks once.
 * Pure functions: no loop, no database.
 */
#ifndef QH_DAEMON_MIME_H
#define QH_DAEMON_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"

/*
 * Appends "Name: value" CRLF. A value that is not printable ASCII, or is
 * long, goes as RFC 2047 "B" encoded words of UTF-8 (never splitting a
 * character), folded onto continuation lines; control characters are left
 * out either way, so a value can never start another header field.
 */
void mime_header_text(struct qh_buf *b, const char *name, const char *value);

/*
 * Appends "Name: Display <addr>" CRLF: display as a quoted string, or as
 * encoded words when it is not printable ASCII. addr must be valid
 * (qh_mail_addr_valid).
 */
void mime_header_mailbox(struct qh_buf *b, const char *name, const char *display,
    const char *addr);

/* Appends len bytes as quoted-printable (RFC 2045) text: LF or CRLF ends a line. */
void mime_qp(struct qh_buf *b, const char *text, size_t len);

/* Appends len bytes as base64 in lines of 76 characters, each ending CRLF. */
void mime_base64(struct qh_buf *b, const void *p, size_t len);

/* The RFC 5322 date of UTC seconds t in the local time zone into out (40 bytes). */
void mime_date(int64_t t, char *out, size_t len);

#endif
