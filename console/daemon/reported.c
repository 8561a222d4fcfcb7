/*
 * Recordings the technician's client reports (relay_record, relay.h): for
 * ssh the console sees only ciphertext, so the client sends the decrypted
 * terminal output on a channel of its own, recorded like a shell's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/wire.h"
#include "record.h"
#include "relay.h"
#include "session.h"

/*
 * A recording the technician's client reports (ssh: the console only sees
 * ciphertext there). The channel's DATA is the decrypted terminal output,
 * MSG RESIZE its size changes; it belongs to the session the code names.
 */
struct reported {
	struct recording *rec;
};

static void
reported_on_data(struct qh_chan *ch, int ext QH_UNUSED, const uint8_t *p, size_t len)
{
	struct reported *rp = qh_chan_arg(ch);

	recording_output(rp->rec, p, len);
	qh_chan_consume(ch, len);
}

static void
reported_on_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct reported *rp = qh_chan_arg(ch);
	uint32_t rows = 0, cols = 0;

	if (m->type != QH_MSG_RESIZE)
		return;
	(void)qh_msg_get_u32(m, QH_K_ROWS, &rows);
	(void)qh_msg_get_u32(m, QH_K_COLS, &cols);
	recording_resize(rp->rec, cols, rows);
}

static void
reported_end(struct qh_chan *ch)
{
	struct reported *rp = qh_chan_arg(ch);

	recording_close(rp->rec);
	free(rp);
}

static void
reported_on_eof(struct qh_chan *ch)
{
	reported_end(ch);
	qh_chan_close(ch);
}

static const struct qh_chan_ops reported_ops = {
	.on_data = reported_on_data,
	.on_msg = reported_on_msg,
	.on_eof = reported_on_eof,
	.on_close = reported_end,
};

void
relay_record(struct server *srv, struct session *s, const struct relay_who *who,
    struct qh_chan *ch, const struct qh_msg *m)
{
	struct reported *rp;
	char term[65] = "xterm", target[301] = "", kind[33] = "ssh", command[400];
	const uint8_t *v;
	size_t vlen;
	uint32_t rows = 24, cols = 80;

	(void)qh_msg_get_u32(m, QH_K_ROWS, &rows);
	(void)qh_msg_get_u32(m, QH_K_COLS, &cols);
	if (qh_msg_get(m, QH_K_TERM, &v, &vlen) == 0)
		snprintf(term, sizeof(term), "%.*s", (int)vlen, (const char *)v);
	if (qh_msg_get(m, QH_K_TARGET, &v, &vlen) == 0)
		snprintf(target, sizeof(target), "%.*s", (int)vlen, (const char *)v);
	if (qh_msg_get(m, QH_K_KIND, &v, &vlen) == 0)
		snprintf(kind, sizeof(kind), "%.*s", (int)vlen, (const char *)v);
	if (strspn(kind, "abcdefghijklmnopqrstuvwxyz") != strlen(kind) ||
	    kind[0] == '\0') {
		qh_chan_refuse(ch, "format", "recording kind must be lowercase letters");
		return;
	}
	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		return;
	}
	snprintf(command, sizeof(command), "%s %s", kind, target);
	rp->rec = recording_open(srv->state_dir, session_id(s),
	    session_event_note(s, "recording", who->login, command,
		"{\"source\":\"reported by the technician's client\"}"),
	    kind, who->login, who->name, cols, rows, term, target[0] ? target : NULL, 1);
	if (rp->rec == NULL) {
		free(rp);
		qh_chan_refuse(ch, "internal", "the recording could not be started");
		return;
	}
	qh_chan_accept(ch, 0, &reported_ops, rp);
}
