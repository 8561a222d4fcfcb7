/*
 * ssh's escapes for the technician's commands that have a terminal (attach,
 * ssh): typed input passes through tech_escape_filter on its way to the
 * channel, which holds back a "~" at the start of a line until the next
 * byte decides it: "~." detaches, "~~" sends one "~", anything else goes
 * with it. The filter keeps no more state than struct tech_escape and
 * never writes more than one byte beyond its input.
 */
#include <stddef.h>
#include <stdint.h>

#include "qh/buf.h"
#include "client.h"

void
tech_escape_init(struct tech_escape *e)
{
	e->line_start = 1;
	e->tilde = 0;
}

int
tech_escape_filter(struct tech_escape *e, const uint8_t *p, size_t len,
    struct qh_buf *out)
{
	size_t i;
	uint8_t c;

	if (p == NULL) {
		/* End of input: a held "~" was meant to be sent. */
		if (e->tilde)
			(void)qh_buf_put_u8(out, '~');
		e->tilde = 0;
		return 0;
	}
	for (i = 0; i < len; i++) {
		c = p[i];
		if (e->tilde) {
			e->tilde = 0;
			if (c == '.')
				return 1;
			(void)qh_buf_put_u8(out, '~');
			if (c == '~') {
				e->line_start = 0;
				continue;
			}
		} else if (e->line_start && c == '~') {
			e->tilde = 1;
			continue;
		}
		(void)qh_buf_put_u8(out, c);
		e->line_start = c == '\r' || c == '\n';
	}
	return 0;
}
