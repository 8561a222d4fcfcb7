/*
 * What each message says (mailtext.c): from an outbox row's kind and data,
 * in the reader's language, a subject, a plain-text body and the same as
 * simple HTML, and for an appointment an iCalendar attachment. mail.c puts
 * them into a MIME message. Pure: no loop, no database.
 */
#ifndef QH_DAEMON_MAILTEXT_H
#define QH_DAEMON_MAILTEXT_H

#include <stdint.h>

#include "qh/buf.h"
#include "qh/jsonread.h"
#include "qh/text.h"

#define LETTER_MAX (1024 * 1024) /* bytes of each body */

/* Who sends, as the messages name it. */
struct mail_sender {
	const char *from;   /* [mail] from */
	const char *vendor; /* the sender's name ([vendor] name); NULL: none */
	const char *domain; /* for UIDs and Message-IDs: from's domain */
};

/* A message's content, before MIME. */
struct letter {
	enum qh_lang lang;
	char subject[512];
	struct qh_buf text; /* plain text, LF line ends */
	struct qh_buf html; /* a whole HTML document */
	struct qh_buf ics;  /* text/calendar attachment; empty: none */
	char ics_name[64];  /* its file name */
};

/* Initialises l's buffers for language lang. */
void letter_init(struct letter *l, enum qh_lang lang);

/* Frees l's buffers. */
void letter_free(struct letter *l);

/*
 * Writes what message kind says to staff (staff 1) or the customer (0)
 * from data (the row's JSON object), made at created (UTC seconds), into
 * l. Returns 0, QH_ERR_ARG for an unknown kind, QH_ERR_FORMAT when data
 * lacks what the kind needs, or the buffers' error.
 */
int letter_compose(struct letter *l, const char *kind, int staff,
    const struct qh_json_node *data, const struct mail_sender *s, int64_t created);

#endif
