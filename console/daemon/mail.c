/*
 * Outbox rows as mails (mail.h): the recipients, the headers and the MIME
 * structure; what a message says is mailtext.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "mail.h"
#include "mime.h"

int
mail_setup_of(const struct console_conf *conf, struct mail_setup *setup)
{
	memset(setup, 0, sizeof(*setup));
	if (conf->mail_url[0] == '\0' || conf->mail_from[0] == '\0')
		return QH_ERR_CONFIG;
	setup->sender.from = conf->mail_from;
	setup->sender.vendor = conf->vendor_name[0] != '\0' ? conf->vendor_name : NULL;
	setup->sender.domain = qh_mail_addr_domain(conf->mail_from);
	setup->staff = conf->mail_staff;
	setup->staff_lang =
	    strcmp(conf->mail_staff_lang, "de") == 0 ? QH_LANG_DE : QH_LANG_EN;
	return setup->sender.domain != NULL ? 0 : QH_ERR_CONFIG;
}

void
mail_message_free(struct mail_message *m)
{
	qh_buf_release(&m->data);
}

static void
put(struct qh_buf *b, const char *s)
{
	(void)qh_buf_put(b, s, strlen(s));
}

/* The envelope: the row's addresses (one per line) or staff's (a list). */
static int
recipients(const struct outbox_row *row, const struct mail_setup *setup,
    struct mail_message *m)
{
	char list[MAIL_RCPT_MAX * (QH_MAIL_ADDR_MAX + 2)];
	size_t i, n = 0;
	int r;

	if (strcmp(row->audience, "staff") == 0)
		snprintf(list, sizeof(list), "%s",
		    setup->staff != NULL ? setup->staff : "");
	else
		snprintf(list, sizeof(list), "%s",
		    row->recipients != NULL ? row->recipients : "");
	/* One per line is a list too: a line break separates like a comma. */
	for (i = 0; list[i] != '\0'; i++)
		if (list[i] == '\n' || list[i] == '\r')
			list[i] = ',';
	if ((r = qh_mail_addr_list(list, m->rcpt, MAIL_RCPT_MAX)) < 0)
		return r;
	if ((m->nrcpt = r) == 0)
		return QH_ERR_NOT_FOUND;
	for (i = 0; i < (size_t)m->nrcpt; i++)
		n += (size_t)snprintf(m->rcpt_text + n, sizeof(m->rcpt_text) - n, "%s%s",
		    i ? ", " : "", m->rcpt[i]);
	return 0;
}

/* One part: its headers and the text as quoted-printable. */
static void
text_part(struct qh_buf *b, const char *type, const struct qh_buf *body)
{
	put(b, "Content-Type: ");
	put(b, type);
	put(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
	mime_qp(b, (const char *)qh_buf_ptr(body), qh_buf_len(body));
}

int
mail_render(const struct outbox_row *row, const struct mail_setup *setup,
    struct mail_message *m)
{
	struct qh_json_doc *doc = NULL;
	struct letter l;
	enum qh_lang lang = QH_LANG_DE;
	int staff = strcmp(row->audience, "staff") == 0, r;
	char date[64], alt[64], mixed[64], line[600];
	int64_t created = 0;
	struct qh_buf *b = &m->data;

	memset(m, 0, sizeof(*m));
	qh_buf_init(&m->data, MAIL_MAX);
	letter_init(&l, QH_LANG_EN);
	if ((r = recipients(row, setup, m)) != 0)
		goto out;
	if (staff)
		lang = setup->staff_lang;
	else if (row->lang != NULL && qh_lang_parse(row->lang, &lang) != 0)
		lang = QH_LANG_DE;
	l.lang = lang;
	(void)qh_clock_parse_utc(row->created_at, &created);
	if ((r = qh_json_parse(row->data, strlen(row->data), &doc)) != 0 ||
	    (r = letter_compose(&l, row->kind, staff, qh_json_root(doc), &setup->sender,
		 created)) != 0)
		goto out;

	/* Stable per row, so a retry after a lost answer is the same message. */
	snprintf(m->message_id, sizeof(m->message_id), "<qh.%" PRId64 ".%s@%s>", row->id,
	    row->token, setup->sender.domain);
	/* The boundaries start with "=_": quoted-printable and base64 never do. */
	snprintf(alt, sizeof(alt), "=_qh_alt_%s", row->token);
	snprintf(mixed, sizeof(mixed), "=_qh_mix_%s", row->token);
	mime_date(created, date, sizeof(date));

	put(b, "Date: ");
	put(b, date);
	put(b, "\r\n");
	mime_header_mailbox(b, "From", setup->sender.vendor, setup->sender.from);
	put(b, "To: ");
	put(b, m->rcpt_text);
	put(b, "\r\n");
	mime_header_text(b, "Subject", l.subject);
	put(b, "Message-ID: ");
	put(b, m->message_id);
	put(b, "\r\n");
	put(b, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
	snprintf(line, sizeof(line),
	    "Content-Language: %s\r\nX-Quarterhour-Event: %s\r\n", qh_lang_name(lang),
	    row->event);
	put(b, line);
	if (qh_buf_len(&l.ics) > 0) {
		snprintf(line, sizeof(line),
		    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n",
		    mixed, mixed);
		put(b, line);
	}
	snprintf(line, sizeof(line),
	    "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n--%s\r\n", alt,
	    alt);
	put(b, line);
	text_part(b, "text/plain", &l.text);
	snprintf(line, sizeof(line), "--%s\r\n", alt);
	put(b, line);
	text_part(b, "text/html", &l.html);
	snprintf(line, sizeof(line), "--%s--\r\n", alt);
	put(b, line);
	if (qh_buf_len(&l.ics) > 0) {
		snprintf(line, sizeof(line),
		    "--%s\r\nContent-Type: text/calendar; charset=UTF-8; method=PUBLISH; "
		    "name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    mixed, l.ics_name, l.ics_name);
		put(b, line);
		mime_base64(b, qh_buf_ptr(&l.ics), qh_buf_len(&l.ics));
		snprintf(line, sizeof(line), "--%s--\r\n", mixed);
		put(b, line);
	}
	r = qh_buf_error(b);
out:
	qh_json_free(doc);
	letter_free(&l);
	return r;
}
