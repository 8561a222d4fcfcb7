/*
 * The desktop helper's greeting (win32/deskhelper.c): what the helper in
 * the user's session says first on its pipe. 'R', and the RFB stream
 * follows; or 'E' and one sentence saying why it cannot capture, up to the
 * end of the pipe (HELPER_WHY_MAX bytes kept, the rest ignored). Any other
 * first byte is nonsense. No I/O: the pipe's reads are fed in as they come.
 */
#ifndef QH_AGENT_HELPERGREET_H
#define QH_AGENT_HELPERGREET_H

#include <stddef.h>
#include <stdint.h>

#define HELPER_WHY_MAX 200 /* bytes of the helper's reason kept */

enum helper_greet_state {
	HELPER_GREET_WAIT,    /* nothing read yet */
	HELPER_GREET_READY,   /* 'R': the rest is the RFB stream */
	HELPER_GREET_REFUSED, /* 'E': the rest is why */
	HELPER_GREET_NONSENSE /* any other first byte */
};

/* Zeroed before the first byte. */
struct helper_greet {
	enum helper_greet_state state;
	char why[HELPER_WHY_MAX + 1];
	size_t why_len;
};

/*
 * Takes the n bytes the helper sent next and returns how many of them the
 * greeting took: when the state is READY, the n - that bytes after them
 * are the RFB stream's; in the other states it took all of them.
 */
size_t helper_greet_take(struct helper_greet *g, const uint8_t *p, size_t n);

/*
 * The helper's reason, once its pipe has ended: one string safe to show
 * (qh_display_str's form), or NULL when it refused without one or did not
 * refuse.
 */
const char *helper_greet_why(struct helper_greet *g);

#endif
