/*
 * Relays: a technician command carried to the agent. A relay pairs the
 * technician's channel with the agent's and passes bytes across with
 * window backpressure; while it runs it counts as attached time in its
 * session (R2) and has an open audit row.
 *
 * A relay is made from a request (relay_new), waits while its owner (the
 * queue entry) asks the customer for consent, and is started with the
 * session and the agent's connection to run in (relay_start). The owner
 * ends its relays before the agent's connection goes or the session closes
 * (relay_end_all), so a relay never outlives either.
 */
#ifndef QH_DAEMON_RELAY_H
#define QH_DAEMON_RELAY_H

#include <sys/queue.h>

#include <stdint.h>

#include "qh/mux.h"
#include "qh/text.h"
#include "qh/wire.h"
#include "server.h"

struct relay;
struct session;
LIST_HEAD(relay_list, relay);

/* The technician behind a request. */
struct relay_who {
	const char *login;
	const char *name; /* for the customer to read */
};

/*
 * A relay for the technician's request cmd ("exec", "attach", "forward",
 * "dial", "push", "pull", "info", "desktop") on ch, kept on list and waiting: ch is
 * held, not yet answered. NULL when the request is malformed; ch has been
 * refused then with the reason.
 */
struct relay *
relay_new(struct server *srv, struct relay_list *list, const struct relay_who *who,
    struct qh_chan *ch, const char *cmd, const struct qh_msg *m);

const char *relay_login(const struct relay *r);
/* The technician's name, for the customer to read. */
const char *relay_name(const struct relay *r);
/* "support" or "installation" (R8). */
const char *relay_kind(const struct relay *r);
/* The technician passed --allow-overdraft (R7). */
int relay_overdraft(const struct relay *r);
/* The ticket the command works on, or 0. */
int64_t relay_ticket(const struct relay *r);

/* The consent question the relay waits for (0: none asked yet). */
uint64_t relay_consent_id(const struct relay *r);
void relay_set_consent_id(struct relay *r, uint64_t id);

/* A relay of list still waiting for the answer to question id, or NULL. */
struct relay *relay_waiting(struct relay_list *list, uint64_t id);
/* What the customer must have allowed the relay's technician (R2). */
#define RELAY_CONSENT_CONNECT 0x1 /* commands, files, forwards */
#define RELAY_CONSENT_VIEW    0x2 /* to see the screen */
#define RELAY_CONSENT_CONTROL 0x4 /* to control mouse and keyboard */

/* The consents the relay needs: CONNECT, or for a desktop VIEW (and CONTROL). */
unsigned relay_consent_need(const struct relay *r);

/*
 * A consented relay may have to wait for the database to take its session
 * (another process holds the write lock): relay_defer marks or unmarks it,
 * relay_deferred finds the oldest marked one of list, or NULL. A deferred
 * relay is no longer waiting for consent.
 */
void relay_defer(struct relay *r, int deferred);
struct relay *relay_deferred(struct relay_list *list);

/* A relay of list waiting for login's consent to need, other than r, or NULL. */
struct relay *relay_waiting_login(struct relay_list *list, const char *login,
    unsigned need, const struct relay *r);

/* Before relay_start: whether a desktop is recorded (the customer's setting). */
void relay_set_record(struct relay *r, int on);

/*
 * Who hears that the customer took control of a desktop back from login
 * (the agent said so): the owner forgets that consent.
 */
void relay_set_owner(struct relay *r, void (*control_off)(void *arg, const char *login),
    void *arg);
/*
 * Tells the relay's technician text while the command waits (for the
 * customer's answer): a NOTICE on the technician's connection, whose
 * channel is not answered yet.
 */
void relay_tell(struct relay *r, const char *text);

/*
 * Starts a waiting relay in session s through the agent's connection: opens
 * the agent's channel; once the agent answers OPEN_OK it counts the
 * relay's time (R2), records its audit row and sends the technician
 * greeting as a notice. A refusal is recorded as such and bills nothing.
 */
void relay_start(struct relay *r, struct session *s, struct qh_mux *agent,
    const char *greeting);

/* The customer's language, for what the relay tells the agent (before relay_start). */
void relay_set_lang(struct relay *r, enum qh_lang lang);

/* Ends the relay: the technician reads code and text, the agent's side is closed. */
void relay_fail(struct relay *r, const char *code, const char *text);

/* Ends every relay of list with text for the technicians. */
void relay_end_all(struct relay_list *list, const char *text);

/* Sends a NOTICE to every technician whose command runs on list. */
void relay_notice_all(struct relay_list *list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Running or starting relays of login on list. */
int relay_count_login(struct relay_list *list, const char *login);

/* The distinct logins working on list, comma-separated. */
void relay_logins(struct relay_list *list, char *out, size_t len);

/*
 * A recording the technician's client reports for session s (ssh: the
 * console sees only ciphertext there): accepts or refuses ch.
 */
void relay_record(struct server *srv, struct session *s, const struct relay_who *who,
    struct qh_chan *ch, const struct qh_msg *m);

#endif
