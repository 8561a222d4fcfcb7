/*
 * The desktop helper's greeting (helpergreet.h).
 */
#include <string.h>

#include "qh/display.h"
#include "helpergreet.h"

size_t
helper_greet_take(struct helper_greet *g, const uint8_t *p, size_t n)
{
	size_t off = 0, take;

	if (n == 0)
		return 0;
	if (g->state == HELPER_GREET_WAIT) {
		if (p[0] == 'R')
			g->state = HELPER_GREET_READY;
		else if (p[0] == 'E')
			g->state = HELPER_GREET_REFUSED;
		else
			g->state = HELPER_GREET_NONSENSE;
		off = 1;
	}
	switch (g->state) {
	case HELPER_GREET_READY:
		return off;
	case HELPER_GREET_REFUSED:
		take = n - off;
		if (take > HELPER_WHY_MAX - g->why_len)
			take = HELPER_WHY_MAX - g->why_len;
		memcpy(g->why + g->why_len, p + off, take);
		g->why_len += take;
		return n;
	default:
		return n;
	}
}

const char *
helper_greet_why(struct helper_greet *g)
{
	if (g->state != HELPER_GREET_REFUSED)
		return NULL;
	g->why[g->why_len] = '\0';
	qh_display_str(g->why, g->why, sizeof(g->why), 0);
	return g->why[0] != '\0' ? g->why : NULL;
}
