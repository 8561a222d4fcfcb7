/*
 * Relays: a technician command carried to the agent. The technician's
 * channel and the agent's channel are paired; bytes go across as they
 * come and are credited back to the sender only once the other side took
 * them, so a slow receiver holds its sender to one window and the console's
 * memory per relay stays within a window in each direction.
 *
 * A relay starts once the customer has consented to this technician in
 * this session (asked once per technician, R2; a desktop needs the consent
 * to see the screen, and with --control the one to control it), opens the
 * session if it is the first command, and counts as attached time from the
 * agent's OPEN_OK until either side ends it: a command the agent refuses
 * bills nothing.
 *
 * A desktop relays RFB between the technician's viewer and the agent's
 * server without reading it: both directions go to a recording
 * (deskrec.c) unless the customer forbade that, and the agent's NOTICE
 * that the customer took control back ends the control's audit row.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/units.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/wire.h"
#include "deskrec.h"
#include "record.h"
#include "relay.h"
#include "reply.h"
#include "session.h"

#define TECH	      0
#define AGENT	      1
#define QUEUE_SLACK   (256 * 1024) /* a queue's room past the window it backs */
#define ARGV_JSON_MAX 8192	   /* exec's argv in the audit row; longer is left out */
#define DETAIL_MAX    (ARGV_JSON_MAX + 1024)

/* REQUEST{cmd="desktop"} flags: bit 0 --allow-overdraft, bit 2 --control, 8..15 --screen.
 */
#define REQ_DESKTOP_CONTROL 0x4
/* ACTION{cmd="desktop"} flags (agent/desktop.h): bit 0 control, 8..15 the monitor. */
#define ACT_DESKTOP_CONTROL 0x1

/* Records queued for one side: u8 kind, u32 length, bytes. */
enum item_kind { ITEM_DATA, ITEM_EXTDATA, ITEM_MSG, ITEM_EOF, ITEM_CLOSE };

enum relay_state {
	RELAY_CONSENT, /* waiting for the customer's answer (or, deferred, the database)
			*/
	RELAY_OPENING, /* agent channel opened, not confirmed */
	RELAY_OPEN,    /* bytes flow */
	RELAY_DONE,    /* both channels gone or going */
};

struct relay {
	struct server *srv;
	enum qh_lang lang; /* the customer's, for the notices to the agent */
	struct relay_list *list;
	struct session *session; /* once started */
	struct qh_mux *agent;	 /* once started */
	enum relay_state state;
	struct qh_chan *ch[2]; /* technician's, agent's; NULL once closed */
	struct qh_buf q[2];    /* waiting to be sent to side i */
	size_t q_off[2];       /* bytes of the front DATA item already sent */
	struct qh_buf action;  /* the ACTION message for the agent */
	char login[QH_ID_MAX + 1];
	char name[DAEMON_NAME_MAX + 1];
	char command[256];   /* for the audit rows and the customer */
	char kind[16];	     /* support | installation */
	int kind_index;	     /* into relay_kinds */
	unsigned rows, cols; /* attach: terminal size */
	char term[65];
	char target[301];      /* forward, dial */
	uint64_t bytes[2];     /* delivered to each side */
	struct recording *rec; /* attach: the shell's output */
	struct {	       /* audit: what the agent's EXIT reported */
		int has_status, has_signal, has_size;
		uint32_t status, signal;
		uint64_t size;
		char sha256[65]; /* "" when none */
	} result;
	char *argv_json; /* audit: exec's argv as a JSON array, or NULL */
	int64_t ticket;
	int overdraft;
	uint64_t consent_id;
	int deferred; /* consented; waits for the database to take its session */
	int attached; /* counted in the session's meter */
	int64_t event_id;
	int ending;
	int exited;	    /* the agent's EXIT was passed on */
	int agent_eof;	    /* the agent's side sent all its data */
	char greeting[256]; /* meter notice shown once the command starts */
	struct {	    /* a desktop */
		int on;
		int control;	       /* input and clipboard pass (consented) */
		int screen;	       /* the monitor, 0 = primary */
		int record;	       /* the customer allows the recording */
		int64_t control_event; /* audit row of the control while it lasts */
		struct deskrec *rec;   /* both directions, with their times */
	} desk;
	void (*control_off)(void *arg, const char *login); /* the owner's */
	void *owner;
	LIST_ENTRY(relay) link;
};

#define K(k) ((uint64_t)1 << (k))

/* What each technician request becomes on the agent. */
static const struct relay_kind {
	const char *request; /* REQUEST cmd */
	const char *action;  /* ACTION cmd */
	uint64_t pass;	     /* keys copied from the request */
	uint64_t need;	     /* keys the request must carry */
	uint32_t window;     /* granted to both sides */
} relay_kinds[] = {
	{ "exec", "exec", K(QH_K_ARG), K(QH_K_ARG), QH_MUX_WINDOW },
	{ "attach", "shell", K(QH_K_ROWS) | K(QH_K_COLS) | K(QH_K_TERM) | K(QH_K_ARG), 0,
	    QH_MUX_WINDOW },
	{ "forward", "forward", K(QH_K_TARGET), K(QH_K_TARGET), QH_MUX_WINDOW },
	{ "dial", "dial", K(QH_K_TARGET), K(QH_K_TARGET), QH_MUX_BULK_WINDOW },
	{ "push", "push", K(QH_K_PATH) | K(QH_K_SIZE) | K(QH_K_MODE),
	    K(QH_K_PATH) | K(QH_K_SIZE), QH_MUX_WINDOW },
	{ "pull", "pull", K(QH_K_PATH), K(QH_K_PATH), QH_MUX_WINDOW },
	{ "info", "info", 0, 0, QH_MUX_WINDOW },
	{ "desktop", "desktop", 0, 0, QH_MUX_WINDOW },
	{ NULL, NULL, 0, 0, 0 },
};

static void relay_flush(struct relay *r, int to);
static void relay_maybe_free(struct relay *r);
static const struct qh_chan_ops relay_ops;

const char *
relay_login(const struct relay *r)
{
	return r->login;
}

const char *
relay_name(const struct relay *r)
{
	return r->name;
}

const char *
relay_kind(const struct relay *r)
{
	return r->kind;
}

int
relay_overdraft(const struct relay *r)
{
	return r->overdraft;
}

int64_t
relay_ticket(const struct relay *r)
{
	return r->ticket;
}

uint64_t
relay_consent_id(const struct relay *r)
{
	return r->consent_id;
}

void
relay_set_consent_id(struct relay *r, uint64_t id)
{
	r->consent_id = id;
}

struct relay *
relay_waiting(struct relay_list *list, uint64_t id)
{
	struct relay *r;

	LIST_FOREACH (r, list, link)
		if (r->state == RELAY_CONSENT && !r->deferred && r->consent_id == id)
			return r;
	return NULL;
}

unsigned
relay_consent_need(const struct relay *r)
{
	if (!r->desk.on)
		return RELAY_CONSENT_CONNECT;
	return RELAY_CONSENT_VIEW | (r->desk.control ? RELAY_CONSENT_CONTROL : 0);
}

void
relay_defer(struct relay *r, int deferred)
{
	r->deferred = deferred;
}

struct relay *
relay_deferred(struct relay_list *list)
{
	struct relay *r, *first = NULL;

	/* The oldest: relays are inserted at the head. */
	LIST_FOREACH (r, list, link)
		if (r->state == RELAY_CONSENT && r->deferred)
			first = r;
	return first;
}

struct relay *
relay_waiting_login(struct relay_list *list, const char *login, unsigned need,
    const struct relay *r)
{
	struct relay *o;

	LIST_FOREACH (o, list, link)
		if (o != r && o->state == RELAY_CONSENT && !o->deferred &&
		    strcmp(o->login, login) == 0 && relay_consent_need(o) == need)
			return o;
	return NULL;
}

void
relay_set_record(struct relay *r, int on)
{
	r->desk.record = on;
}

void
relay_set_owner(struct relay *r, void (*control_off)(void *arg, const char *login),
    void *arg)
{
	r->control_off = control_off;
	r->owner = arg;
}

int
relay_count_login(struct relay_list *list, const char *login)
{
	struct relay *r;
	int n = 0;

	LIST_FOREACH (r, list, link)
		n += strcmp(r->login, login) == 0;
	return n;
}

void
relay_logins(struct relay_list *list, char *out, size_t len)
{
	struct relay *r;
	size_t used = 0;

	out[0] = '\0';
	LIST_FOREACH (r, list, link) {
		if (r->state == RELAY_CONSENT)
			continue;
		if (strstr(out, r->login) != NULL) /* XXX: a login inside another */
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "",
		    r->login);
		if (used >= len) {
			out[len - 1] = '\0';
			return;
		}
	}
}

static int
side_of(const struct relay *r, const struct qh_chan *ch)
{
	return ch == r->ch[TECH] ? TECH : AGENT;
}

static int
enqueue(struct relay *r, int to, enum item_kind kind, const void *p, size_t len)
{
	int e;

	if ((e = qh_buf_put_u8(&r->q[to], (uint8_t)kind)) != 0 ||
	    (e = qh_buf_put_string(&r->q[to], p, len)) != 0) {
		relay_fail(r, "internal", "relay queue overflow");
		return e;
	}
	return 0;
}

/* Sends what is queued for side `to`, in order, as far as its window allows. */
static void
relay_flush(struct relay *r, int to)
{
	struct qh_chan *dst = r->ch[to], *src = r->ch[!to];
	const uint8_t *p;
	uint8_t kind;
	uint32_t len;
	ssize_t n;

	if (r->state != RELAY_OPEN && r->state != RELAY_DONE)
		return;
	while (qh_buf_len(&r->q[to]) > 0 && (dst = r->ch[to]) != NULL) {
		(void)qh_buf_peek_u8(&r->q[to], 0, &kind);
		(void)qh_buf_peek_u32(&r->q[to], 1, &len);
		p = qh_buf_ptr(&r->q[to]) + 5;
		switch (kind) {
		case ITEM_DATA:
		case ITEM_EXTDATA:
			n = qh_chan_write(dst, kind == ITEM_EXTDATA, p + r->q_off[to],
			    len - r->q_off[to]);
			if (n < 0) {
				n = (ssize_t)(len - r->q_off[to]); /* gone: drop */
			}
			if ((src = r->ch[!to]) != NULL)
				qh_chan_consume(src, (size_t)n);
			r->q_off[to] += (size_t)n;
			if (r->q_off[to] < len)
				return; /* on_writable continues */
			break;
		case ITEM_MSG: {
			struct qh_buf m;

			qh_buf_init_ro(&m, p, len);
			(void)qh_chan_send_msg(dst, &m);
			break;
		}
		case ITEM_EOF:
			(void)qh_chan_eof(dst);
			break;
		case ITEM_CLOSE:
			qh_chan_close(dst);
			r->ch[to] = NULL;
			break;
		}
		r->q_off[to] = 0;
		(void)qh_buf_consume(&r->q[to], 5 + (size_t)len);
	}
	if (r->ch[to] == NULL)
		qh_buf_reset(&r->q[to]);
	relay_maybe_free(r);
}

static void
relay_on_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	struct relay *r = qh_chan_arg(ch);
	int from = side_of(r, ch), to = !from;
	ssize_t n = 0;

	if (r->ch[to] == NULL) {
		qh_chan_consume(ch, len); /* nobody to take it */
		return;
	}
	r->bytes[to] += len;
	if (from == AGENT && r->rec != NULL)
		recording_output(r->rec, p, len);
	if (r->desk.rec != NULL)
		deskrec_data(r->desk.rec, from == TECH, p, len);
	/*
	 * Straight across when nothing is waiting (what waits goes first if
	 * the other side has room again); the rest waits its turn.
	 */
	if (r->state == RELAY_OPEN && qh_buf_len(&r->q[to]) > 0 &&
	    qh_chan_writable(r->ch[to]) > 0)
		relay_flush(r, to);
	if (r->state == RELAY_OPEN && r->ch[to] != NULL && qh_buf_len(&r->q[to]) == 0) {
		n = qh_chan_write(r->ch[to], ext, p, len);
		if (n < 0)
			n = 0;
		qh_chan_consume(ch, (size_t)n);
	}
	if ((size_t)n < len)
		(void)enqueue(r, to, ext ? ITEM_EXTDATA : ITEM_DATA, p + n,
		    len - (size_t)n);
}

/* Keeps what the agent reported at the end (status, size, hash) for the audit row. */
static void
note_result(struct relay *r, const struct qh_msg *m)
{
	const uint8_t *h;
	size_t hlen, i;

	memset(&r->result, 0, sizeof(r->result));
	r->result.has_status = qh_msg_get_u32(m, QH_K_STATUS, &r->result.status) == 0;
	r->result.has_signal = qh_msg_get_u32(m, QH_K_SIGNAL, &r->result.signal) == 0;
	r->result.has_size = qh_msg_get_u64(m, QH_K_SIZE, &r->result.size) == 0;
	if (qh_msg_get(m, QH_K_HASH, &h, &hlen) == 0 && hlen == 32)
		for (i = 0; i < 32; i++)
			snprintf(r->result.sha256 + 2 * i, 3, "%02x", h[i]);
}

/* Ends a desktop's control audit row, with who ended it. */
static void
desktop_control_end(struct relay *r, const char *by)
{
	char detail[64];

	if (r->desk.control_event == 0)
		return;
	snprintf(detail, sizeof(detail), "{\"ended_by\":\"%s\"}", by);
	session_event_end(r->session, r->desk.control_event, detail);
	r->desk.control_event = 0;
}

/*
 * The agent's NOTICE on a desktop: the customer took control back. The
 * control's audit row ends, the owner forgets the consent to control (a
 * new --control asks again), and the technician reads the notice.
 */
static void
desktop_notice(struct relay *r, const struct qh_msg *m)
{
	const uint8_t *v;
	size_t vlen;
	struct qh_buf b;

	if (qh_msg_get(m, QH_K_KIND, &v, &vlen) != 0 || vlen != 11 ||
	    memcmp(v, "control-off", 11) != 0 || !r->desk.control) {
		qh_debug("relay %s: dropped a desktop notice", r->login);
		return;
	}
	r->desk.control = 0;
	desktop_control_end(r, "customer");
	qh_info("session %" PRId64 ": the customer took control back from %s",
	    session_id(r->session), r->login);
	if (r->control_off != NULL)
		r->control_off(r->owner, r->login);
	qh_buf_init(&b, 1024);
	if (qh_msg_begin(&b, QH_MSG_NOTICE) == 0 &&
	    qh_msg_put_str(&b, QH_K_TEXT,
		"the customer took control back; you still see the screen") == 0 &&
	    qh_msg_put_str(&b, QH_K_KIND, "control-off") == 0 &&
	    enqueue(r, TECH, ITEM_MSG, qh_buf_ptr(&b), qh_buf_len(&b)) == 0)
		relay_flush(r, TECH);
	qh_buf_release(&b);
}

static void
relay_on_msg(struct qh_chan *ch, const struct qh_msg *m)
{
	struct relay *r = qh_chan_arg(ch);
	int from = side_of(r, ch);
	struct qh_buf b;

	if (from == AGENT && m->type == QH_MSG_NOTICE && r->desk.on &&
	    r->state == RELAY_OPEN) {
		desktop_notice(r, m);
		return;
	}
	/*
	 * Only what the other side expects passes: resizes in (and a push's
	 * closing size and hash), exit statuses out.
	 */
	if ((from == TECH && m->type != QH_MSG_RESIZE &&
		!(m->type == QH_MSG_EXIT &&
		    strcmp(relay_kinds[r->kind_index].request, "push") == 0)) ||
	    (from == AGENT && m->type != QH_MSG_EXIT)) {
		qh_debug("relay %s: dropped %s message", r->login, qh_msg_name(m->type));
		return;
	}
	if (from == AGENT && (qh_msg_has(m, QH_K_STATUS) || qh_msg_has(m, QH_K_SIGNAL)))
		r->exited = 1; /* not a pull's opening announcement */
	if (m->type == QH_MSG_RESIZE && r->rec != NULL) {
		uint32_t rows = 0, cols = 0;

		(void)qh_msg_get_u32(m, QH_K_ROWS, &rows);
		(void)qh_msg_get_u32(m, QH_K_COLS, &cols);
		recording_resize(r->rec, cols, rows);
	}
	if (m->type == QH_MSG_EXIT)
		note_result(r, m);
	qh_buf_init(&b, QH_MSG_MAX_LEN);
	if (qh_msg_encode(m, &b) == 0 &&
	    enqueue(r, !from, ITEM_MSG, qh_buf_ptr(&b), qh_buf_len(&b)) == 0)
		relay_flush(r, !from);
	qh_buf_release(&b);
}

static void
relay_on_eof(struct qh_chan *ch)
{
	struct relay *r = qh_chan_arg(ch);
	int from = side_of(r, ch);

	if (from == AGENT)
		r->agent_eof = 1;
	if (enqueue(r, !from, ITEM_EOF, NULL, 0) == 0)
		relay_flush(r, !from);
}

/* Queues ERROR{code, text} and EOF for the technician. */
static int
relay_queue_error(struct relay *r, const char *code, const char *text)
{
	struct qh_buf b;
	int e;

	qh_buf_init(&b, 1024);
	if ((e = qh_msg_begin(&b, QH_MSG_ERROR)) == 0 &&
	    (e = qh_msg_put_str(&b, QH_K_CODE, code)) == 0 &&
	    (e = qh_msg_put_str(&b, QH_K_TEXT, text)) == 0 &&
	    (e = enqueue(r, TECH, ITEM_MSG, qh_buf_ptr(&b), qh_buf_len(&b))) == 0)
		e = enqueue(r, TECH, ITEM_EOF, NULL, 0);
	qh_buf_release(&b);
	return e;
}

static void
relay_on_close(struct qh_chan *ch)
{
	struct relay *r = qh_chan_arg(ch);
	int from = side_of(r, ch);
	int agent_gone = qh_mux_closed(qh_chan_mux(ch));

	r->ch[from] = NULL;
	qh_buf_reset(&r->q[from]);
	if (r->state != RELAY_OPEN && from == TECH) {
		/* Gone before the command started: nothing to pass on. */
		if (r->ch[AGENT] != NULL) {
			qh_chan_close(r->ch[AGENT]);
			r->ch[AGENT] = NULL;
		}
		r->state = RELAY_DONE;
		relay_maybe_free(r);
		return;
	}
	/*
	 * The agent's side went with its connection, before an exit status or
	 * the end of its data: the technician reads why, after the output
	 * still queued for them.
	 */
	if (from == AGENT && r->state == RELAY_OPEN && !r->exited && !r->agent_eof &&
	    agent_gone && r->ch[TECH] != NULL &&
	    relay_queue_error(r, "agent_lost",
		"the agent's connection was lost; run the command again when it "
		"is back") != 0)
		return;
	if (enqueue(r, !from, ITEM_CLOSE, NULL, 0) == 0)
		relay_flush(r, !from);
}

static void
relay_on_writable(struct qh_chan *ch)
{
	struct relay *r = qh_chan_arg(ch);

	relay_flush(r, side_of(r, ch));
}

/* The audit row of a command the agent refused: it was never attached. */
static void
audit_refused(struct relay *r, const char *text)
{
	struct qh_buf detail;
	struct qh_json j;

	qh_buf_init(&detail, DETAIL_MAX);
	qh_json_init(&j, &detail);
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "reason", text);
	if (r->argv_json != NULL) {
		qh_json_key(&j, "argv");
		qh_json_raw(&j, r->argv_json, strlen(r->argv_json));
	}
	qh_json_end_object(&j);
	(void)qh_buf_put_u8(&detail, 0);
	(void)session_event_note(r->session, "refused", r->login, r->command,
	    qh_json_finish(&j) == 0 ? (const char *)qh_buf_ptr(&detail) : NULL);
	qh_buf_release(&detail);
}

/*
 * A desktop starts: the control's own audit row ("desktop control", ended
 * when the customer takes control back or the desktop ends) and the
 * recording of both directions, unless the customer forbade it.
 */
static void
desktop_start(struct relay *r, struct session *s)
{
	char command[64];

	if (r->desk.control) {
		snprintf(command, sizeof(command), "desktop control%s",
		    r->command + strlen("desktop view"));
		r->desk.control_event = session_event_attach(s, r->login, command);
	}
	if (r->desk.record)
		r->desk.rec = deskrec_open(r->srv->state_dir, session_id(s), r->event_id);
	else
		qh_info("session %" PRId64 ": %s's desktop is not recorded (the customer "
			"forbids it)",
		    session_id(s), r->login);
}

/*
 * The technician is attached from the agent's OPEN_OK on (R2): the meter
 * counts from here, the audit row and a shell's recording start here. A
 * refused open bills nothing.
 */
static void
relay_attached(struct relay *r)
{
	r->attached = 1;
	r->event_id = session_event_attach(r->session, r->login, r->command);
	session_attach(r->session);
	if (strcmp(relay_kinds[r->kind_index].request, "attach") == 0)
		r->rec =
		    recording_open(r->srv->state_dir, session_id(r->session), r->event_id,
			"attach", r->login, r->name, r->cols, r->rows, r->term, NULL, 0);
	if (r->desk.on)
		desktop_start(r, r->session);
	qh_info("session %" PRId64 ": %s runs %s", session_id(r->session), r->login,
	    r->command);
}

static void
relay_on_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct relay *r = qh_chan_arg(ch);
	char *text = NULL;

	if (err != 0) {
		r->ch[AGENT] = NULL;
		(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		qh_info("session %" PRId64 ": the agent refused %s's %s: %s",
		    session_id(r->session), r->login, r->command,
		    text != NULL ? text : "no reason given");
		audit_refused(r, text != NULL ? text : "the agent refused the command");
		relay_fail(r, "agent",
		    text != NULL ? text : "the agent refused the command");
		free(text);
		return;
	}
	r->state = RELAY_OPEN;
	relay_attached(r);
	if (r->ch[TECH] != NULL && qh_chan_pending(r->ch[TECH])) {
		qh_chan_accept(r->ch[TECH], relay_kinds[r->kind_index].window, &relay_ops,
		    r);
		if (r->greeting[0] != '\0')
			reply_chan_notice(r->ch[TECH], r->greeting);
	}
	relay_flush(r, AGENT);
	relay_flush(r, TECH);
}

static const struct qh_chan_ops relay_ops = {
	.on_open_result = relay_on_open_result,
	.on_data = relay_on_data,
	.on_msg = relay_on_msg,
	.on_eof = relay_on_eof,
	.on_close = relay_on_close,
	.on_writable = relay_on_writable,
};

/* Ends the relay's audit row with what it moved and what the agent reported. */
static void
audit_end(struct relay *r)
{
	struct qh_buf detail;
	struct qh_json j;

	/* Room for all of it: argv_json is bounded, the rest is small. */
	qh_buf_init(&detail, DETAIL_MAX);
	qh_json_init(&j, &detail);
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "bytes_to_agent", (int64_t)r->bytes[AGENT]);
	qh_json_kv_int(&j, "bytes_to_technician", (int64_t)r->bytes[TECH]);
	if (r->argv_json != NULL) {
		qh_json_key(&j, "argv");
		qh_json_raw(&j, r->argv_json, strlen(r->argv_json));
	}
	if (r->result.has_status)
		qh_json_kv_int(&j, "status", r->result.status);
	if (r->result.has_signal)
		qh_json_kv_int(&j, "signal", r->result.signal);
	if (r->result.has_size)
		qh_json_kv_int(&j, "size", (int64_t)r->result.size);
	if (r->result.sha256[0] != '\0')
		qh_json_kv_str(&j, "sha256", r->result.sha256);
	qh_json_end_object(&j);
	(void)qh_buf_put_u8(&detail, 0);
	session_event_end(r->session, r->event_id,
	    qh_json_finish(&j) == 0 ? (const char *)qh_buf_ptr(&detail) : NULL);
	qh_buf_release(&detail);
}

/* Frees the relay once neither channel is left. */
static void
relay_maybe_free(struct relay *r)
{
	if (r->ch[TECH] != NULL || r->ch[AGENT] != NULL || r->ending)
		return;
	r->ending = 1;
	recording_close(r->rec);
	deskrec_close(r->desk.rec);
	LIST_REMOVE(r, link);
	if (r->attached) {
		desktop_control_end(r, "end");
		audit_end(r);
		session_detach(r->session);
		if (relay_count_login(r->list, r->login) == 0)
			reply_notice(r->agent, "detached",
			    qh_tr(r->lang, "%s (%s) detached"), r->name, r->login);
	}
	qh_buf_release(&r->q[TECH]);
	qh_buf_release(&r->q[AGENT]);
	qh_buf_release(&r->action);
	free(r->argv_json);
	free(r);
}

void
relay_fail(struct relay *r, const char *code, const char *text)
{
	if (r->ch[TECH] != NULL) {
		/* Not started yet: a refusal the technician sees as such. */
		if (qh_chan_pending(r->ch[TECH]))
			qh_chan_refuse(r->ch[TECH], code, text);
		else
			reply_error(r->ch[TECH], code, text);
		r->ch[TECH] = NULL;
	}
	if (r->ch[AGENT] != NULL) {
		qh_chan_close(r->ch[AGENT]);
		r->ch[AGENT] = NULL;
	}
	r->state = RELAY_DONE;
	relay_maybe_free(r);
}

void
relay_end_all(struct relay_list *list, const char *text)
{
	struct relay *r;

	while ((r = LIST_FIRST(list)) != NULL)
		relay_fail(r, "ended", text);
}

void
relay_notice_all(struct relay_list *list, const char *fmt, ...)
{
	struct relay *r;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	LIST_FOREACH (r, list, link)
		if (r->ch[TECH] != NULL && r->state != RELAY_CONSENT)
			reply_chan_notice(r->ch[TECH], text);
}

void
relay_tell(struct relay *r, const char *text)
{
	/* The channel is not answered yet: the connection's control channel. */
	if (r->ch[TECH] != NULL)
		reply_notice(qh_chan_mux(r->ch[TECH]), "info", "%s", text);
}

void
relay_set_lang(struct relay *r, enum qh_lang lang)
{
	r->lang = lang;
}

void
relay_start(struct relay *r, struct session *s, struct qh_mux *agent,
    const char *greeting)
{
	r->session = s;
	r->agent = agent;
	snprintf(r->greeting, sizeof(r->greeting), "%s", greeting);
	r->state = RELAY_OPENING;
	/* Not attached yet: that waits for the agent's OPEN_OK (R2). */
	if ((r->ch[AGENT] = qh_chan_open(agent, &r->action,
		 relay_kinds[r->kind_index].window, &relay_ops, r)) == NULL)
		relay_fail(r, "agent", "cannot open a channel to the agent");
}

/* Appends " TEXT" to the audit command line. */
static void
command_add(struct relay *r, const uint8_t *p, size_t len)
{
	size_t used = strlen(r->command);

	if (used + 2 < sizeof(r->command))
		snprintf(r->command + used, sizeof(r->command) - used, " %.*s", (int)len,
		    (const char *)p);
}

/*
 * Keeps exec's argv as a JSON array for the audit row: the command text
 * joins the words with spaces and cannot tell "a b" from "a" "b". An argv
 * longer than ARGV_JSON_MAX, or not UTF-8, is left out (the command text
 * has its start).
 */
static void
argv_json(struct relay *r, int argc, char **argv)
{
	struct qh_buf b;
	struct qh_json j;
	int i;

	for (i = 0; i < argc; i++)
		if (!qh_utf8_valid((const uint8_t *)argv[i], strlen(argv[i])))
			return;
	qh_buf_init(&b, ARGV_JSON_MAX);
	qh_json_init(&j, &b);
	qh_json_begin_array(&j);
	for (i = 0; i < argc; i++)
		qh_json_str(&j, argv[i]);
	qh_json_end_array(&j);
	(void)qh_buf_put_u8(&b, 0);
	if (qh_json_finish(&j) == 0 && (r->argv_json = malloc(qh_buf_len(&b))) != NULL)
		memcpy(r->argv_json, qh_buf_ptr(&b), qh_buf_len(&b));
	qh_buf_release(&b);
}

/* Builds the ACTION for the agent and the audit text from the request. */
static int
build_action(struct relay *r, const char *cmd, const struct qh_msg *m, const char **why)
{
	const struct relay_kind *k;
	const uint8_t *v;
	size_t vlen;
	char **argv = NULL, *kind = NULL, host[300];
	uint32_t rows = 24, cols = 80, flags = 0;
	uint64_t ticket = 0;
	int argc = 0, i, port, rc = QH_ERR_FORMAT;
	unsigned f;

	for (k = relay_kinds; k->request != NULL; k++)
		if (strcmp(k->request, cmd) == 0)
			break;
	qh_buf_init(&r->action, QH_MSG_MAX_LEN);
	if (k->request == NULL) {
		*why = "unknown request";
		goto out;
	}
	r->kind_index = (int)(k - relay_kinds);
	for (i = 1; i < QH_K_MAX; i++)
		if ((k->need & K(i)) && !qh_msg_has(m, (uint8_t)i)) {
			*why = "request lacks a field its command needs";
			goto out;
		}
	(void)qh_msg_begin(&r->action, QH_MSG_ACTION);
	(void)qh_msg_put_str(&r->action, QH_K_CMD, k->action);
	for (f = 0; f < m->nfields; f++)
		if (k->pass & K(m->f[f].key))
			(void)qh_msg_put(&r->action, m->f[f].key, m->f[f].val,
			    m->f[f].len);
	snprintf(r->command, sizeof(r->command), "%s", cmd);
	if (strcmp(cmd, "exec") == 0) {
		(void)qh_msg_get(m, QH_K_ARG, &v, &vlen);
		if (qh_argv_unpack(v, vlen, &argv, &argc) != 0 || argc == 0) {
			*why = "exec needs a command";
			goto out;
		}
		for (i = 0; i < argc; i++)
			command_add(r, (const uint8_t *)argv[i], strlen(argv[i]));
		argv_json(r, argc, argv);
	} else if (strcmp(cmd, "attach") == 0) {
		(void)qh_msg_get_u32(m, QH_K_ROWS, &rows);
		(void)qh_msg_get_u32(m, QH_K_COLS, &cols);
		if (rows == 0 || rows > 1000 || cols == 0 || cols > 1000) {
			*why = "terminal size out of range";
			goto out;
		}
		r->rows = rows;
		r->cols = cols;
		if (!qh_msg_has(m, QH_K_ROWS)) {
			(void)qh_msg_put_u32(&r->action, QH_K_ROWS, rows);
			(void)qh_msg_put_u32(&r->action, QH_K_COLS, cols);
		}
		if (qh_msg_get(m, QH_K_TERM, &v, &vlen) == 0)
			snprintf(r->term, sizeof(r->term), "%.*s", (int)vlen,
			    (const char *)v);
		else {
			snprintf(r->term, sizeof(r->term), "xterm");
			(void)qh_msg_put_str(&r->action, QH_K_TERM, "xterm");
		}
	} else if (strcmp(cmd, "desktop") == 0) {
		(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
		r->desk.on = 1;
		r->desk.control = (flags & REQ_DESKTOP_CONTROL) != 0;
		r->desk.screen = (int)(flags >> 8 & 0xff);
		/* "desktop view" first: desktop_start derives the control's row. */
		snprintf(r->command, sizeof(r->command), "desktop view");
		if (r->desk.screen > 0)
			snprintf(r->command + 12, sizeof(r->command) - 12, " screen %d",
			    r->desk.screen);
	} else if (qh_msg_get(m, QH_K_TARGET, &v, &vlen) == 0) {
		snprintf(r->target, sizeof(r->target), "%.*s", (int)vlen,
		    (const char *)v);
		if (qh_split_hostport(r->target, host, sizeof(host), &port) != 0) {
			*why = "target must be HOST:PORT";
			goto out;
		}
		command_add(r, v, vlen);
	} else if (qh_msg_get(m, QH_K_PATH, &v, &vlen) == 0) {
		if (vlen == 0) {
			*why = "empty path";
			goto out;
		}
		command_add(r, v, vlen);
	}
	/*
	 * Request flags: bit 0 --allow-overdraft (ours), bit 1 --force (the
	 * agent's); a desktop's become the ACTION's control and monitor.
	 */
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	if (r->desk.on)
		(void)qh_msg_put_u32(&r->action, QH_K_FLAGS,
		    (r->desk.control ? ACT_DESKTOP_CONTROL : 0) |
			(uint32_t)r->desk.screen << 8);
	else if (flags & 2)
		(void)qh_msg_put_u32(&r->action, QH_K_FLAGS, 1);
	(void)qh_msg_put_str(&r->action, QH_K_LOGIN, r->login);
	(void)qh_msg_put_str(&r->action, QH_K_NAME, r->name);
	(void)qh_msg_get_str(m, QH_K_KIND, &kind);
	if (kind != NULL && strcmp(kind, "support") != 0 &&
	    strcmp(kind, "installation") != 0) {
		*why = "kind is support or installation";
		goto out;
	}
	snprintf(r->kind, sizeof(r->kind), "%s", kind != NULL ? kind : "support");
	(void)qh_msg_get_u64(m, QH_K_ID, &ticket);
	r->ticket = ticket > INT64_MAX ? 0 : (int64_t)ticket;
	rc = 0;
out:
	free(argv);
	free(kind);
	return rc;
}

struct relay *
relay_new(struct server *srv, struct relay_list *list, const struct relay_who *who,
    struct qh_chan *ch, const char *cmd, const struct qh_msg *m)
{
	struct relay *r;
	const char *why = NULL;
	uint32_t flags = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		qh_chan_refuse(ch, "internal", "out of memory");
		return NULL;
	}
	r->srv = srv;
	r->list = list;
	r->state = RELAY_CONSENT;
	snprintf(r->login, sizeof(r->login), "%s", who->login);
	snprintf(r->name, sizeof(r->name), "%s", who->name);
	(void)qh_msg_get_u32(m, QH_K_FLAGS, &flags);
	r->overdraft = (flags & 1) != 0;
	if (build_action(r, cmd, m, &why) != 0) {
		qh_buf_release(&r->action);
		free(r->argv_json);
		free(r);
		qh_chan_refuse(ch, "format", why);
		return NULL;
	}
	/* Each queue holds what the window granted to the other side lets in. */
	qh_buf_init(&r->q[TECH], relay_kinds[r->kind_index].window + QUEUE_SLACK);
	qh_buf_init(&r->q[AGENT], relay_kinds[r->kind_index].window + QUEUE_SLACK);
	r->ch[TECH] = ch;
	LIST_INSERT_HEAD(list, r, link);
	/* Answered once the agent's side is open: refusals stay refusals. */
	qh_chan_hold(ch, &relay_ops, r);
	return r;
}
