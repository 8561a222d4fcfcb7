/*
 * An outbox row as a mail (mail.c): its envelope (recipients) and the
 * whole RFC 5322 message, MIME multipart/alternative of plain text and
 * HTML (multipart/mixed with the calendar entry of an appointment), with a
 * Message-ID made from the row, so a retry sends the same message. Pure:
 * no loop, no database; the daemon's sender (deliver.c) calls it, and the
 * unit tests do.
 */
#ifndef QH_DAEMON_MAIL_H
#define QH_DAEMON_MAIL_H

#include "qh/buf.h"
#include "qh/mailaddr.h"
#include "qh/text.h"
#include "mailtext.h"
#include "store/store.h"

#define MAIL_RCPT_MAX 16		/* recipients of one message */
#define MAIL_MAX      (4 * 1024 * 1024) /* bytes of one message */

/* What the configuration gives every mail. */
struct mail_setup {
	struct mail_sender sender;
	const char *staff;	 /* [mail] staff: comma-separated addresses */
	enum qh_lang staff_lang; /* [mail] staff_lang */
};

/* A rendered mail. */
struct mail_message {
	char rcpt[MAIL_RCPT_MAX][QH_MAIL_ADDR_MAX + 1]; /* the envelope's recipients */
	int nrcpt;
	char rcpt_text[MAIL_RCPT_MAX * (QH_MAIL_ADDR_MAX + 2)]; /* joined by ", " */
	char message_id[400];					/* with its <> */
	struct qh_buf data;					/* the message, CRLF */
};

/*
 * Fills setup from conf (the sender's name is [vendor] name). Returns 0,
 * or QH_ERR_CONFIG when mail is not configured
 * ([mail] url or from missing).
 */
int mail_setup_of(const struct console_conf *conf, struct mail_setup *setup);

/*
 * Renders row into m (initialised here; mail_message_free it whatever this
 * returns). Returns 0; QH_ERR_NOT_FOUND when the row has nobody to go to
 * (no staff configured, a customer without addresses), QH_ERR_FORMAT or
 * QH_ERR_ARG when its data or kind cannot be rendered, QH_ERR_TOO_LARGE.
 */
int mail_render(const struct outbox_row *row, const struct mail_setup *setup,
    struct mail_message *m);

void mail_message_free(struct mail_message *m);

#endif
