/*
 * R2 as a small state machine: a stretch starts when the second of the two
 * conditions (a command running, the agent connected) becomes true and
 * ends when either stops holding.
 */
#include <string.h>

#include "meter.h"

/* Opens or closes the current stretch after attached or agent_up changed. */
static void
meter_update(struct meter *m, uint64_t now)
{
	int billing = m->attached > 0 && m->agent_up;

	if (billing && !m->billing)
		m->since = now;
	else if (!billing && m->billing)
		m->billed_ms += now - m->since;
	m->billing = billing;
}

void
meter_init(struct meter *m, int agent_up, uint64_t now)
{
	memset(m, 0, sizeof(*m));
	m->agent_up = agent_up;
	m->since = now;
}

void
meter_attach(struct meter *m, uint64_t now)
{
	m->attached++;
	meter_update(m, now);
}

void
meter_detach(struct meter *m, uint64_t now)
{
	if (m->attached > 0)
		m->attached--;
	meter_update(m, now);
}

void
meter_agent(struct meter *m, int up, uint64_t now)
{
	m->agent_up = up;
	meter_update(m, now);
}

void
meter_stop(struct meter *m, uint64_t now)
{
	m->attached = 0;
	meter_update(m, now);
}

uint64_t
meter_ms(const struct meter *m, uint64_t now)
{
	return m->billed_ms + (m->billing ? now - m->since : 0);
}
