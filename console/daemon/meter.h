/*
 * The meter of rule R2: a session is billable while at least one
 * technician command runs in it AND its agent is connected; two commands
 * at once bill once, gaps bill nothing. The caller passes the time
 * (monotonic milliseconds), so the rule can be tested with any clock.
 */
#ifndef QH_CONSOLE_METER_H
#define QH_CONSOLE_METER_H

#include <stdint.h>

struct meter {
	int attached;	    /* technician commands running */
	int agent_up;	    /* the agent is connected */
	int billing;	    /* both hold since `since` */
	uint64_t since;	    /* when the current billable stretch began */
	uint64_t billed_ms; /* finished billable stretches */
};

void meter_init(struct meter *m, int agent_up, uint64_t now);
void meter_attach(struct meter *m, uint64_t now);
void meter_detach(struct meter *m, uint64_t now);
void meter_agent(struct meter *m, int up, uint64_t now);
/* Every command has ended (the session closes). */
void meter_stop(struct meter *m, uint64_t now);
/* Billable milliseconds up to now; never decreases. */
uint64_t meter_ms(const struct meter *m, uint64_t now);

#endif
