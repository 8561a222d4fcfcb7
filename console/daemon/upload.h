/*
 * Support tickets on the console: receiving one from an agent (the
 * "ticket" request of `qh-console serve`), the policy it is checked
 * against (due times in business hours, the installation rule), and the
 * content-addressed attachment store the CLI reads back.
 */
#ifndef QH_CONSOLE_TICKET_H
#define QH_CONSOLE_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "qh/mux.h"
#include "qh/ticket.h"
#include "console.h"

#define TICKET_PREMIUM_MINUTES 240 /* premium: due in four business hours */

struct peer;

/*
 * The "ticket" request of an agent: accepts or refuses ch and receives the
 * metadata and attachments (docs/protocol.md, "Tickets"). Runs on the
 * serve loop; the ticket rows are written in one transaction once every
 * attachment is verified and stored.
 */
void ticket_request(struct peer *p, struct qh_chan *ch, const struct qh_msg *m);

/*
 * Due time and deadline of a ticket created at t (UTC seconds) by a
 * customer on plan ("free" or "premium"): free tickets are due one business
 * day after creation (the length of the configured support hours) with a
 * deadline of two; premium ones are due four business hours after it and
 * have no deadline (*deadline is 0). Returns 0 or QH_ERR_ARG.
 */
int ticket_due(const struct console_conf *conf, const char *plan, int64_t t, int64_t *due,
    int64_t *deadline);

/*
 * The console's rules for a ticket's proposed appointments, at time now:
 * none may lie in the past; an installation needs at least one, and at
 * least two when any lies outside business hours (R9 with holidays).
 * Returns 0, or QH_ERR_REFUSED with the rule stated in why.
 */
int ticket_check_slots(const struct console_conf *conf, const struct qh_ticket *t,
    int64_t now, char *why, size_t whylen);

/* Writes STATE/attachments/<h[0..1]>/<hex> for the hex SHA-256 hex into out. */
int ticket_store_path(const char *state_dir, const char *hex, char *out, size_t len);

/* Lower-case hex of 32 bytes into out (65 bytes). */
void ticket_hex(const uint8_t hash[32], char out[65]);

#endif
