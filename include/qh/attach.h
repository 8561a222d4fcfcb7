/*
 * The sending side of a ticket upload's attachments (docs/protocol.md,
 * "Tickets"): each file is opened and checked (a readable regular file
 * within the attachment bound) and hashed before anything is sent, then
 * streamed as DATA in the order described, as far as the channel's window
 * allows, with its SHA-256 checked again at its end, so a file that
 * changed meanwhile fails the upload instead of filing other bytes. A
 * technician's `ticket reply` and a customer's `qh-agent ticket reply`
 * send this way. The sentences in why are for people and go through _()
 * (qh/text.h): the customer's PC reads them in the customer's language.
 */
#ifndef QH_ATTACH_H
#define QH_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "qh/mux.h"
#include "qh/ticket.h"

#define QH_ATTACH_CHUNK (64 * 1024)

/*
 * Opens path as an attachment: a regular file we may read, of at most
 * lim->attachment_max bytes. Returns 0 with *fd (the caller closes it)
 * and *size; or <0 with a sentence in why.
 */
int qh_attach_open(const char *path, const struct qh_ticket_limits *lim, int *fd,
    uint64_t *size, char *why, size_t whylen);

/*
 * Hashes the open file fd (size bytes when opened) from its start and adds
 * it to t as name: the ticket's or reply's total is set already. Returns 0,
 * or <0 with a sentence in why (a file that changed, a name taken).
 */
int qh_attach_add(struct qh_ticket *t, int fd, const char *path, const char *name,
    uint64_t size, char *why, size_t whylen);

/* Streaming the attachments of a complete ticket or reply. */
struct qh_attach_send {
	const struct qh_ticket *t;
	const int *fds;		  /* t->nfiles open files */
	const char *const *paths; /* their names, for messages */
	int cur;		  /* the file being sent */
	uint64_t cur_sent;	  /* its bytes read so far */
	int started;
	EVP_MD_CTX *md;
	uint8_t buf[QH_ATTACH_CHUNK]; /* read, not yet taken by the channel */
	size_t off, len;
	char why[512];
};

/*
 * Sends t's metadata messages and TICKET_GO on ch (the upload's step 3
 * and 4). Returns 0 or <0 when the channel is gone.
 */
int qh_attach_send_meta(struct qh_chan *ch, const struct qh_ticket *t);

/* Prepares s for t's files; returns 0 or QH_ERR_NOMEM. */
int qh_attach_send_init(struct qh_attach_send *s, const struct qh_ticket *t,
    const int *fds, const char *const *paths);

/*
 * After the console's TICKET_GO: sends as much as ch's window takes.
 * Returns 0 when the window is full (call again from on_writable), 1 when
 * everything is sent with MSG EXIT{size} and EOF, or <0 with why.
 */
int qh_attach_send_pump(struct qh_attach_send *s, struct qh_chan *ch);

void qh_attach_send_free(struct qh_attach_send *s);

#endif
