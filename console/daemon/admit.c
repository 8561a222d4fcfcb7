/*
 * Admission of a session (admit.h): R7 and R8 as both sides read them,
 * before anybody is asked.
 */
#include <stdio.h>

#include "qh/units.h"
#include "admit.h"
#include "reply.h"

enum admit
admit_check(sqlite3 *db, const struct admit_ask *q, struct ledger_balance *b,
    int64_t *available)
{
	*available = 0;
	if (ledger_balance(db, q->customer, b) != 0)
		return ADMIT_UNREADABLE;
	if (b->is_free)
		return ADMIT_FREE;
	*available = billing_available(b, q->running);
	if (q->installation) {
		if (b->installations > 0)
			return ADMIT_OK;
		return q->overdraft ? ADMIT_OVERDRAFT : ADMIT_NO_INSTALL;
	}
	if (*available > 0)
		return ADMIT_OK;
	return q->overdraft ? ADMIT_OVERDRAFT : ADMIT_NO_UNITS;
}

const char *
admit_refusal(enum admit a, const struct admit_ask *q, int64_t available, char *why,
    size_t len)
{
	char left[64];

	switch (a) {
	case ADMIT_FREE:
		snprintf(why, len,
		    "%s (%s) has free support only: remote sessions are for "
		    "premium customers; ask them to file a ticket (qh-agent ticket)",
		    q->customer_name, q->customer);
		return why;
	case ADMIT_NO_INSTALL:
		snprintf(why, len,
		    "%s has no installation credit left; book one "
		    "(qh-console credit %s --installations 1 ...) or pass "
		    "--allow-overdraft",
		    q->customer, q->customer);
		return why;
	case ADMIT_NO_UNITS:
		qh_units_text(available, left, sizeof(left));
		snprintf(why, len,
		    "%s has no units available (%s, overdraft included); "
		    "book units or pass --allow-overdraft",
		    q->customer, left);
		return why;
	case ADMIT_UNREADABLE:
		return "the customer's balance could not be read";
	default:
		return NULL;
	}
}

void
admit_tell_customer(struct qh_mux *agent, enum qh_lang lang, enum admit a,
    const char *name, const char *login, int64_t available)
{
	char left[64];

	switch (a) {
	case ADMIT_FREE:
		reply_notice(agent, "warning",
		    qh_tr(lang,
			"%s (%s) wanted to connect, but remote sessions are for the "
			"premium plan and yours is free support, so this session "
			"cannot be billed. Please file a ticket instead: qh-agent "
			"ticket --subject \"what happened\""),
		    name, login);
		break;
	case ADMIT_NO_UNITS:
		qh_units_text_in(lang, available, left, sizeof(left));
		reply_notice(agent, "warning",
		    qh_tr(lang,
			"%s (%s) wanted to connect, but you have no units available "
			"(%s), so this session cannot be billed. Please buy more "
			"hours, or file a ticket instead: qh-agent ticket --subject "
			"\"what happened\""),
		    name, login, left);
		break;
	case ADMIT_NO_INSTALL:
		reply_notice(agent, "warning",
		    qh_tr(lang,
			"%s (%s) wanted to connect for an installation, but you have "
			"no installation credit left, so it cannot be billed. Please "
			"book an installation, or file a ticket instead: qh-agent "
			"ticket --kind installation --subject \"what to install\""),
		    name, login);
		break;
	default:
		break;
	}
}

const char *
admit_consent_text(enum admit a, enum qh_lang lang, int installation,
    const struct ledger_balance *b, char *out, size_t len)
{
	if (a == ADMIT_OVERDRAFT && installation)
		snprintf(out, len, "%s",
		    qh_tr(lang,
			"no installation credit left; this installation is billed "
			"as overdraft"));
	else if (a == ADMIT_OVERDRAFT)
		snprintf(out, len, "%s",
		    qh_tr(lang, "no units left; this session is billed as overdraft"));
	else if (installation && a == ADMIT_OK)
		snprintf(out, len,
		    qh_ntr(lang,
			"an installation: it uses one installation credit (you have "
			"%lld)",
			"an installation: it uses one installation credit (you have "
			"%lld)",
			b->installations == 1 ? 1UL : 2UL),
		    (long long)b->installations);
	else
		return NULL;
	return out;
}
