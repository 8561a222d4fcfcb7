/*
 * Replies and notices to peers (see reply.h). Messages are built in a
 * bounded buffer whose first error is kept, and the mux refuses to send a
 * message that failed to build, so nobody reads half of one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "reply.h"

#define NOTICE_MAX 1024 /* longest notice text; longer is cut */

void
reply_text(struct qh_chan *ch, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t n;

	/* Replies are small; one larger than the window is cut, and says so. */
	while (off < len && (n = qh_chan_write(ch, 0, text + off, len - off)) > 0)
		off += (size_t)n;
	if (off < len)
		qh_warn("reply of %zu bytes cut at %zu", len, off);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

void
reply_error(struct qh_chan *ch, const char *code, const char *text)
{
	struct qh_buf b;

	qh_buf_init(&b, 8192);
	(void)qh_msg_begin(&b, QH_MSG_ERROR);
	(void)qh_msg_put_str(&b, QH_K_CODE, code);
	(void)qh_msg_put(&b, QH_K_TEXT, text, strnlen(text, 4000));
	(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

void
reply_cert(struct qh_chan *ch, const char *cert_pem, const char *ca_pem)
{
	struct qh_buf b;

	qh_buf_init(&b, 40000);
	(void)qh_msg_begin(&b, QH_MSG_REPLY);
	(void)qh_msg_put_str(&b, QH_K_CERT, cert_pem);
	(void)qh_msg_put_str(&b, QH_K_CA, ca_pem);
	if (qh_chan_send_msg(ch, &b) != 0)
		qh_warn("the renewed certificate could not be sent");
	qh_buf_release(&b);
	qh_chan_eof(ch);
	qh_chan_close(ch);
}

void
reply_notice(struct qh_mux *mux, const char *kind, const char *fmt, ...)
{
	struct qh_buf b;
	char text[NOTICE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	qh_buf_init(&b, 4096);
	(void)qh_msg_begin(&b, QH_MSG_NOTICE);
	(void)qh_msg_put_str(&b, QH_K_TEXT, text);
	(void)qh_msg_put_str(&b, QH_K_KIND, kind);
	(void)qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
}

void
reply_chan_notice(struct qh_chan *ch, const char *text)
{
	struct qh_buf b;

	qh_buf_init(&b, 4096);
	(void)qh_msg_begin(&b, QH_MSG_NOTICE);
	(void)qh_msg_put(&b, QH_K_TEXT, text, strnlen(text, NOTICE_MAX));
	(void)qh_chan_send_msg(ch, &b);
	qh_buf_release(&b);
}

void
reply_session(struct qh_mux *mux, const char *kind, int64_t id, int64_t secs,
    const char *text)
{
	struct qh_buf b;

	qh_buf_init(&b, 4096);
	(void)qh_msg_begin(&b, QH_MSG_SESSION);
	(void)qh_msg_put_str(&b, QH_K_KIND, kind);
	(void)qh_msg_put_u64(&b, QH_K_SESSION, (uint64_t)id);
	if (text != NULL) {
		(void)qh_msg_put_u64(&b, QH_K_SECONDS, (uint64_t)secs);
		(void)qh_msg_put_str(&b, QH_K_TEXT, text);
	}
	(void)qh_mux_send_control(mux, &b);
	qh_buf_release(&b);
}

const char *
reply_code(const char *code, char out[8])
{
	snprintf(out, 8, "%.3s %.3s", code, strlen(code) > 3 ? code + 3 : "");
	return out;
}
