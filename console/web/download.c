/*
 * qh-console web's downloads that the console announces itself: a
 * ticket's attachment (ticket-get) and a session's recording (recording).
 * The channel says TICKET_FILE{size, hash} first, then sends the bytes and
 * EOF; they are passed to the browser as they come (PSS_PULL, as
 * /api/pull streams the agent's files) and hashed, and the last ones wait
 * until size and SHA-256 match what was announced, so a file that is not
 * what the console says it sent is cut and the browser's download fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "qh/wire.h"
#include "webint.h"

/* Fails the download with "the WHAT " and the rest of the sentence. */
static void
fail_what(struct pss *s, const char *rest)
{
	char why[128];

	snprintf(why, sizeof(why), "the %s %s", s->pull_what, rest);
	web_pull_fail(s, why);
}

/* All bytes came: they are what was announced, or the download is cut. */
static void
check(struct pss *s)
{
	uint8_t hash[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;

	if (s->pull_ok || s->pull_failed)
		return;
	if (!s->pull_announced || s->push_in != s->push_size ||
	    EVP_DigestFinal_ex(s->sha, hash, &hlen) != 1 ||
	    hlen != sizeof(s->pull_hash) || memcmp(hash, s->pull_hash, hlen) != 0) {
		fail_what(s, "arrived other than the console announced it");
		return;
	}
	s->pull_ok = 1;
	lws_callback_on_writable(s->wsi);
}

/* TICKET_FILE{size, hash} announces the file once; ERROR says why not. */
static void
on_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct pss *s = qh_chan_arg(ch);
	const uint8_t *h;
	char *text = NULL;
	size_t hlen;
	uint64_t size;

	if (s == NULL || s->pull_failed)
		return;
	if (m->type == QH_MSG_ERROR) {
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		web_pull_fail(s, text != NULL ? text : "the console could not send it");
		free(text);
		return;
	}
	if (m->type != QH_MSG_TICKET_FILE)
		return;
	if (s->pull_announced || qh_msg_get_u64(m, QH_K_SIZE, &size) != 0 ||
	    qh_msg_get(m, QH_K_HASH, &h, &hlen) != 0 || hlen != sizeof(s->pull_hash)) {
		fail_what(s, "was announced twice, or badly");
		return;
	}
	memcpy(s->pull_hash, h, hlen);
	s->push_size = size;
	s->pull_announced = 1;
	if (size == 0)
		check(s);
	lws_callback_on_writable(s->wsi);
}

static void
on_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || ext || s->pull_failed) {
		qh_chan_consume(ch, len);
		return;
	}
	/* The window bounds s->out: credit comes back as the browser takes it. */
	if (!s->pull_announced || len > s->push_size - s->push_in ||
	    qh_buf_put(&s->out, p, len) != 0) {
		qh_chan_consume(ch, len);
		web_pull_fail(s, "the console sent more than it announced");
		return;
	}
	s->push_in += len;
	(void)EVP_DigestUpdate(s->sha, p, len);
	if (s->push_in == s->push_size)
		check(s);
	lws_callback_on_writable(s->wsi);
}

static void
on_eof(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s != NULL)
		check(s);
}

static void
on_close(struct qh_chan *ch)
{
	struct pss *s = qh_chan_arg(ch);

	if (s == NULL || s->ch != ch)
		return;
	s->ch = NULL;
	if (!s->pull_ok && !s->pull_failed)
		web_pull_fail(s, "the download ended early");
}

static const struct qh_chan_ops announced_ops = {
	.on_open_result = web_pull_open_result,
	.on_data = on_data,
	.on_msg = on_msg,
	.on_eof = on_eof,
	.on_close = on_close,
};

void
web_announced_open(struct pss *s, const struct qh_buf *req, const char *what)
{
	s->pull_what = what;
	if ((s->ch = tech_link_open(s->w->link, req, TERM_WINDOW, &announced_ops, s)) ==
	    NULL)
		web_pull_fail(s, "not connected to the console");
}
