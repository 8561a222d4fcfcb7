/*
 * Admission of a session (R7, R8): may a new session start for a
 * customer, and what each side reads about it: the technician's refusal,
 * the customer's notice with the way to a ticket instead, and the line the
 * consent question carries (overdraft, an installation's credit). It reads
 * the balance and sends only through reply.c.
 */
#ifndef QH_DAEMON_ADMIT_H
#define QH_DAEMON_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "qh/mux.h"
#include "qh/text.h"
#include "store/store.h"

/* Why a session cannot be billed; ADMIT_OK or ADMIT_OVERDRAFT when it can. */
enum admit {
	ADMIT_OK,
	ADMIT_OVERDRAFT,  /* nothing available, but --allow-overdraft */
	ADMIT_FREE,	  /* free support only */
	ADMIT_NO_UNITS,	  /* no units available */
	ADMIT_NO_INSTALL, /* no installation credit */
	ADMIT_UNREADABLE, /* the balance could not be read */
};

/* The session asked for. */
struct admit_ask {
	const char *customer;
	const char *customer_name;
	int installation; /* kind installation (R8) */
	int overdraft;	  /* the technician passed --allow-overdraft */
	int64_t running;  /* units running in the customer's open sessions */
};

/*
 * Decides for q: fills *b (the balance) and *available (units, overdraft
 * allowance included, less the running units).
 */
enum admit admit_check(sqlite3 *db, const struct admit_ask *q, struct ledger_balance *b,
    int64_t *available);

/* The technician's line (English) when a refuses, in why; NULL when it admits. */
const char *admit_refusal(enum admit a, const struct admit_ask *q, int64_t available,
    char *why, size_t len);

/*
 * Tells the customer on agent, in lang, that technician name (login) cannot
 * start a session and how to file a ticket instead; nothing when a admits.
 */
void admit_tell_customer(struct qh_mux *agent, enum qh_lang lang, enum admit a,
    const char *name, const char *login, int64_t available);

/*
 * The line the customer reads with the consent question, in lang, into
 * out: that the session runs on overdraft, or that an installation uses
 * one of b's installation credits. NULL when there is nothing to say.
 */
const char *admit_consent_text(enum admit a, enum qh_lang lang, int installation,
    const struct ledger_balance *b, char *out, size_t len);

#endif
