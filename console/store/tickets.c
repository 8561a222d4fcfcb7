/*
 * The console's rules for tickets: due times in business hours, the rules
 * for proposed appointments, and where the content-addressed attachment
 * store keeps a file.
 */
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "store.h"

int
ticket_due(const struct console_conf *conf, const char *plan, int64_t t, int64_t *due,
    int64_t *deadline)
{
	int64_t day = conf->close_min - conf->open_min;
	int r;

	*deadline = 0;
	if (strcmp(plan, "premium") == 0)
		return calendar_add_business(conf, t, TICKET_PREMIUM_MINUTES, due);
	if ((r = calendar_add_business(conf, t, day, due)) != 0)
		return r;
	return calendar_add_business(conf, t, 2 * day, deadline);
}

int
ticket_check_slots(const struct console_conf *conf, const struct qh_ticket *t,
    int64_t now, char *why, size_t whylen)
{
	int i, outside = 0;

	for (i = 0; i < t->nslots; i++) {
		if (t->slots[i].utc < now) {
			snprintf(why, whylen,
			    "the proposed appointment %s lies in the past",
			    t->slots[i].when);
			return QH_ERR_REFUSED;
		}
		if (calendar_after_hours(conf, t->slots[i].utc))
			outside = 1;
	}
	if (strcmp(t->kind, "installation") != 0)
		return 0;
	if (t->nslots == 0) {
		snprintf(why, whylen,
		    "installation tickets need at least one proposed "
		    "appointment (--propose YYYY-MM-DDTHH:MM)");
		return QH_ERR_REFUSED;
	}
	if (outside && t->nslots < 2) {
		snprintf(why, whylen,
		    "installations outside business hours need at least "
		    "two proposed appointments");
		return QH_ERR_REFUSED;
	}
	return 0;
}

void
ticket_hex(const uint8_t hash[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 15];
	}
	out[64] = '\0';
}

int
ticket_store_path(const char *state_dir, const char *hex, char *out, size_t len)
{
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return QH_ERR_ARG;
	if ((size_t)snprintf(out, len, "%s/attachments/%.2s/%s", state_dir, hex, hex) >=
	    len)
		return QH_ERR_TOO_LARGE;
	return 0;
}
