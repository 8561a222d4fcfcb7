/*
 * The billing arithmetic besides R1 (qh/units.h): the tier price of a
 * purchase (R6), what a customer may still use (R7), and money as text.
 * Money is integers: units and cents, never floating point.
 */
#include <inttypes.h>
#include <stdio.h>

#include "store.h"

int64_t
billing_tier_price(const struct console_conf *conf, int64_t units)
{
	int64_t hours = units / 4, price = 0;
	int i;

	/* The tiers are sorted by min_hours (conf.c refuses anything else). */
	for (i = 0; i < conf->ntiers; i++)
		if (conf->tiers[i].min_hours <= hours)
			price = conf->tiers[i].unit_cents;
	return price;
}

void
billing_money_text(int64_t cents, char *out, size_t len)
{
	uint64_t a = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, len, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", a / 100,
	    a % 100);
}

int64_t
billing_available(const struct ledger_balance *b, int64_t running_units)
{
	return b->units - running_units + b->overdraft_units;
}
