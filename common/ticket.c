/*
 * Ticket metadata: the checking setters both sides use, the decoders the
 * console runs on peer messages, the encoders the agent uses, and the
 * idempotency key. Every value is checked against its bound before it is
 * kept; refusals carry a sentence for the customer in t->why.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/text.h"
#include "qh/ticket.h"

#define KEY_INPUT_MAX (QH_TICKET_STEPS_LIMIT + 64 * 1024)

/* Sets t->why (fmt, a msgid where a customer may read it, in t->lang) and returns r. */
static int refuse(struct qh_ticket *t, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct qh_ticket *t, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), qh_tr(t->lang, fmt), ap);
	va_end(ap);
	return r;
}

/* Whole mebibytes, rounded up, for messages. */
static uint64_t
mib(uint64_t bytes)
{
	return bytes / (1024 * 1024) + (bytes % (1024 * 1024) != 0);
}

/* 1 if the len bytes at p hold a C0 control character or DEL. */
static int
has_control(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

/* The bytes of b; never a null pointer, even before the first put. */
static const uint8_t *
bytes(const struct qh_buf *b)
{
	return qh_buf_len(b) > 0 ? qh_buf_ptr(b) : (const uint8_t *)"";
}

void
qh_ticket_init(struct qh_ticket *t, const struct qh_ticket_limits *lim)
{
	memset(t, 0, sizeof(*t));
	if (lim != NULL)
		t->lim = *lim;
	else {
		t->lim.attachment_max = QH_TICKET_ATTACHMENT_DEFAULT;
		t->lim.total_max = QH_TICKET_TOTAL_DEFAULT;
		t->lim.steps_max = QH_TICKET_STEPS_MAX;
	}
	if (t->lim.steps_max > QH_TICKET_STEPS_LIMIT)
		t->lim.steps_max = QH_TICKET_STEPS_LIMIT;
	qh_buf_init(&t->steps, t->lim.steps_max);
	qh_buf_init(&t->env, QH_TICKET_ENV_MAX);
}

void
qh_ticket_free(struct qh_ticket *t)
{
	qh_buf_release(&t->steps);
	qh_buf_release(&t->env);
}

int
qh_ticket_name_valid(const char *name)
{
	size_t len = strnlen(name, QH_TICKET_NAME_MAX + 1);

	return len > 0 && len <= QH_TICKET_NAME_MAX &&
	    qh_utf8_valid((const uint8_t *)name, len) && !has_control(name, len) &&
	    strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0;
}

int
qh_ticket_env_valid(const void *p, size_t len)
{
	struct qh_json_doc *doc = NULL;
	int ok;

	if (len > QH_TICKET_ENV_MAX || qh_json_parse(p, len, &doc) != 0)
		return 0;
	ok = qh_json_root(doc)->type == QH_JSON_OBJECT;
	qh_json_free(doc);
	return ok;
}

int
qh_ticket_set_header(struct qh_ticket *t, const char *kind, const char *subject,
    uint64_t total)
{
	size_t len = strnlen(subject, QH_TICKET_SUBJECT_MAX + 1);

	if (strcmp(kind, "support") != 0 && strcmp(kind, "installation") != 0)
		return refuse(t, QH_ERR_FORMAT,
		    N_("the kind is support or installation"));
	if (len == 0)
		return refuse(t, QH_ERR_FORMAT, N_("the subject is empty"));
	if (len > QH_TICKET_SUBJECT_MAX)
		return refuse(t, QH_ERR_LIMIT, N_("the subject is longer than %d bytes"),
		    QH_TICKET_SUBJECT_MAX);
	if (!qh_utf8_valid((const uint8_t *)subject, len))
		return refuse(t, QH_ERR_FORMAT,
		    N_("the subject is not valid UTF-8 text"));
	if (has_control(subject, len))
		return refuse(t, QH_ERR_FORMAT,
		    N_("the subject must be one line of text without control "
		       "characters"));
	if (total > t->lim.total_max)
		return refuse(t, QH_ERR_LIMIT,
		    N_("the attachments total %llu MiB; at most %llu MiB per ticket are "
		       "accepted"),
		    (unsigned long long)mib(total),
		    (unsigned long long)(t->lim.total_max / (1024 * 1024)));
	snprintf(t->kind, sizeof(t->kind), "%s", kind);
	memcpy(t->subject, subject, len);
	t->subject[len] = '\0';
	t->total = total;
	return 0;
}

int
qh_ticket_set_reply(struct qh_ticket *t, int64_t id, uint64_t total)
{
	if (id < 1)
		return refuse(t, QH_ERR_FORMAT, "the ticket's number is missing");
	if (total > t->lim.total_max)
		return refuse(t, QH_ERR_LIMIT,
		    "the attachments total %" PRIu64 " MiB; "
		    "at most %" PRIu64 " MiB per reply are accepted",
		    mib(total), t->lim.total_max / (1024 * 1024));
	snprintf(t->kind, sizeof(t->kind), "reply");
	t->subject[0] = '\0';
	t->reply_to = id;
	t->total = total;
	return 0;
}

int
qh_ticket_add_text(struct qh_ticket *t, const char *which, const void *p, size_t len)
{
	struct qh_buf *b;

	if (t->reply_to != 0 && strcmp(which, "text") == 0) {
		if (len > QH_TICKET_REPLY_MAX - qh_buf_len(&t->steps) ||
		    len > qh_buf_room(&t->steps))
			return refuse(t, QH_ERR_LIMIT, "the text is longer than %d KiB",
			    QH_TICKET_REPLY_MAX / 1024);
		return len > 0 ? qh_buf_put(&t->steps, p, len) : 0;
	}
	if (t->reply_to == 0 && strcmp(which, "steps") == 0)
		b = &t->steps;
	else if (t->reply_to == 0 && strcmp(which, "environment") == 0)
		b = &t->env;
	else
		return refuse(t, QH_ERR_FORMAT, "unknown ticket text '%.32s'", which);
	if (len > qh_buf_room(b)) {
		if (b == &t->steps)
			return refuse(t, QH_ERR_LIMIT,
			    N_("the steps are longer than %zu KiB"),
			    t->lim.steps_max / 1024);
		return refuse(t, QH_ERR_LIMIT,
		    N_("the environment is longer than %d KiB"),
		    QH_TICKET_ENV_MAX / 1024);
	}
	return len > 0 ? qh_buf_put(b, p, len) : 0;
}

int
qh_ticket_add_file(struct qh_ticket *t, const char *name, uint64_t size,
    const uint8_t hash[32])
{
	struct qh_ticket_file *f;
	uint64_t sum = 0;
	int i;

	if (t->nfiles == QH_TICKET_FILES_MAX)
		return refuse(t, QH_ERR_LIMIT, N_("more than %d attachments"),
		    QH_TICKET_FILES_MAX);
	if (!qh_ticket_name_valid(name))
		return refuse(t, QH_ERR_FORMAT,
		    N_("an attachment's file name must be 1 to %d bytes of UTF-8 without "
		       "'/' or control characters"),
		    QH_TICKET_NAME_MAX);
	for (i = 0; i < t->nfiles; i++) {
		if (strcmp(t->files[i].name, name) == 0)
			return refuse(t, QH_ERR_FORMAT,
			    N_("two attachments are named %s; rename one"), name);
		sum += t->files[i].size;
	}
	if (size > t->lim.attachment_max)
		return refuse(t, QH_ERR_LIMIT,
		    N_("attachment %s is %llu MiB; at most %llu MiB per attachment are "
		       "accepted"),
		    name, (unsigned long long)mib(size),
		    (unsigned long long)(t->lim.attachment_max / (1024 * 1024)));
	if (size > t->total || sum > t->total - size)
		return refuse(t, QH_ERR_FORMAT,
		    N_("the attachments are larger than announced"));
	f = &t->files[t->nfiles++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	memcpy(f->hash, hash, 32);
	return 0;
}

int
qh_ticket_parse_when(const char *s, struct tm *tm)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const char pattern[] = "dddd-dd-ddTdd:dd";
	int y, mo, d, h, mi, leap, i;

	if (strlen(s) != QH_TICKET_WHEN_LEN)
		return QH_ERR_FORMAT;
	for (i = 0; i < QH_TICKET_WHEN_LEN; i++)
		if (pattern[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pattern[i])
			return QH_ERR_FORMAT;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	mo = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	h = (s[11] - '0') * 10 + (s[12] - '0');
	mi = (s[14] - '0') * 10 + (s[15] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59)
		return QH_ERR_FORMAT;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_isdst = -1;
	return 0;
}

int
qh_ticket_add_slot(struct qh_ticket *t, const char *when, int32_t offset)
{
	struct qh_ticket_slot *sl;
	struct tm tm;

	if (t->reply_to != 0)
		return refuse(t, QH_ERR_FORMAT, "a reply proposes no appointments");
	if (t->nslots == QH_TICKET_SLOTS_MAX)
		return refuse(t, QH_ERR_LIMIT, N_("more than %d proposed appointments"),
		    QH_TICKET_SLOTS_MAX);
	if (qh_ticket_parse_when(when, &tm) != 0)
		return refuse(t, QH_ERR_FORMAT,
		    N_("a proposed appointment is not YYYY-MM-DDTHH:MM"));
	if (offset < -QH_TICKET_OFFSET_MAX || offset > QH_TICKET_OFFSET_MAX)
		return refuse(t, QH_ERR_FORMAT,
		    N_("a proposed appointment has no usable UTC offset"));
	sl = &t->slots[t->nslots++];
	snprintf(sl->when, sizeof(sl->when), "%s", when);
	sl->offset = offset;
	/* The wall-clock time read as UTC, less the offset, is the instant. */
	sl->utc = (int64_t)timegm(&tm) - (int64_t)offset * 60;
	return 0;
}

int
qh_ticket_finish(struct qh_ticket *t)
{
	uint64_t sum = 0;
	int i;

	if (t->kind[0] == '\0')
		return refuse(t, QH_ERR_FORMAT, "the ticket has no header");
	if (t->reply_to != 0 && qh_buf_len(&t->steps) == 0)
		return refuse(t, QH_ERR_FORMAT, "the reply has no text");
	if (!qh_utf8_valid(bytes(&t->steps), qh_buf_len(&t->steps)))
		return refuse(t, QH_ERR_FORMAT,
		    t->reply_to != 0 ? N_("the text is not valid UTF-8")
				     : N_("the steps are not valid UTF-8 text"));
	if (qh_buf_len(&t->env) > 0 &&
	    !qh_ticket_env_valid(bytes(&t->env), qh_buf_len(&t->env)))
		return refuse(t, QH_ERR_FORMAT, "the environment is not a JSON object");
	for (i = 0; i < t->nfiles; i++)
		sum += t->files[i].size;
	if (sum != t->total)
		return refuse(t, QH_ERR_FORMAT,
		    N_("the attachments add up to %llu bytes, not the %llu announced"),
		    (unsigned long long)sum, (unsigned long long)t->total);
	t->complete = 1;
	return 0;
}

int
qh_ticket_decode_request(struct qh_ticket *t, const struct qh_msg *m)
{
	const uint8_t *p;
	size_t len;
	char kind[33], subject[QH_TICKET_SUBJECT_MAX + 1];
	uint64_t total, id;

	if (m->type != QH_MSG_REQUEST)
		return refuse(t, QH_ERR_PROTOCOL, "not a ticket request");
	if (qh_msg_get(m, QH_K_CMD, &p, &len) == 0 && len == 12 &&
	    memcmp(p, "ticket-reply", 12) == 0) {
		if (qh_msg_get_u64(m, QH_K_ID, &id) != 0 || id > INT64_MAX)
			return refuse(t, QH_ERR_FORMAT, "the reply names no ticket");
		if (qh_msg_get_u64(m, QH_K_SIZE, &total) != 0)
			return refuse(t, QH_ERR_FORMAT, "the reply request has no size");
		if (qh_msg_get(m, QH_K_HASH, &p, &len) != 0 || len != sizeof(t->key))
			return refuse(t, QH_ERR_FORMAT, "the reply request has no key");
		memcpy(t->key, p, len);
		return qh_ticket_set_reply(t, (int64_t)id, total);
	}
	if (qh_msg_get(m, QH_K_KIND, &p, &len) != 0 || len >= sizeof(kind))
		return refuse(t, QH_ERR_FORMAT, "the ticket request has no kind");
	memcpy(kind, p, len);
	kind[len] = '\0';
	if (qh_msg_get(m, QH_K_SUBJECT, &p, &len) != 0 || len >= sizeof(subject))
		return refuse(t, QH_ERR_FORMAT, "the ticket request has no subject");
	memcpy(subject, p, len);
	subject[len] = '\0';
	if (qh_msg_get_u64(m, QH_K_SIZE, &total) != 0)
		return refuse(t, QH_ERR_FORMAT, "the ticket request has no size");
	if (qh_msg_get(m, QH_K_HASH, &p, &len) != 0 || len != sizeof(t->key))
		return refuse(t, QH_ERR_FORMAT, "the ticket request has no key");
	memcpy(t->key, p, len);
	return qh_ticket_set_header(t, kind, subject, total);
}

/* Copies a text field of at most cap - 1 bytes into out. */
static int
field_text(const struct qh_msg *m, uint8_t key, char *out, size_t cap)
{
	const uint8_t *p;
	size_t len;

	if (qh_msg_get(m, key, &p, &len) != 0 || len >= cap)
		return QH_ERR_FORMAT;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int
qh_ticket_decode(struct qh_ticket *t, const struct qh_msg *m)
{
	char which[33], name[QH_TICKET_NAME_MAX + 2], when[QH_TICKET_WHEN_LEN + 2];
	const uint8_t *p;
	size_t len;
	uint64_t size;
	uint32_t off;

	if (t->complete)
		return refuse(t, QH_ERR_PROTOCOL, "ticket metadata after its end");
	switch (m->type) {
	case QH_MSG_TICKET_TEXT:
		if (field_text(m, QH_K_KIND, which, sizeof(which)) != 0 ||
		    qh_msg_get(m, QH_K_CHUNK, &p, &len) != 0)
			return refuse(t, QH_ERR_FORMAT, "malformed ticket text");
		return qh_ticket_add_text(t, which, p, len);
	case QH_MSG_TICKET_FILE:
		if (field_text(m, QH_K_NAME, name, sizeof(name)) != 0 ||
		    qh_msg_get_u64(m, QH_K_SIZE, &size) != 0 ||
		    qh_msg_get(m, QH_K_HASH, &p, &len) != 0 || len != 32)
			return refuse(t, QH_ERR_FORMAT,
			    "malformed attachment description");
		return qh_ticket_add_file(t, name, size, p);
	case QH_MSG_TICKET_SLOT:
		if (field_text(m, QH_K_WHEN, when, sizeof(when)) != 0 ||
		    qh_msg_get_u32(m, QH_K_OFFSET, &off) != 0)
			return refuse(t, QH_ERR_FORMAT, "malformed proposed appointment");
		/* Two's complement: the offset is signed. */
		return qh_ticket_add_slot(t, when, (int32_t)off);
	default:
		return refuse(t, QH_ERR_PROTOCOL, "unexpected %s message in a ticket",
		    qh_msg_name(m->type));
	}
}

int
qh_ticket_encode_request(const struct qh_ticket *t, struct qh_buf *out)
{
	int r;

	if (t->reply_to != 0) {
		if ((r = qh_msg_begin(out, QH_MSG_REQUEST)) != 0 ||
		    (r = qh_msg_put_str(out, QH_K_CMD, "ticket-reply")) != 0 ||
		    (r = qh_msg_put_u64(out, QH_K_ID, (uint64_t)t->reply_to)) != 0 ||
		    (r = qh_msg_put_u64(out, QH_K_SIZE, t->total)) != 0 ||
		    (r = qh_msg_put(out, QH_K_HASH, t->key, sizeof(t->key))) != 0)
			return r;
		return 0;
	}
	if ((r = qh_msg_begin(out, QH_MSG_REQUEST)) != 0 ||
	    (r = qh_msg_put_str(out, QH_K_CMD, "ticket")) != 0 ||
	    (r = qh_msg_put_str(out, QH_K_KIND, t->kind)) != 0 ||
	    (r = qh_msg_put_str(out, QH_K_SUBJECT, t->subject)) != 0 ||
	    (r = qh_msg_put_u64(out, QH_K_SIZE, t->total)) != 0 ||
	    (r = qh_msg_put(out, QH_K_HASH, t->key, sizeof(t->key))) != 0)
		return r;
	return 0;
}

/* Sends one text in TICKET_TEXT messages of at most QH_TICKET_CHUNK bytes. */
static int
encode_text(const struct qh_buf *text, const char *which,
    int (*send)(void *arg, const struct qh_buf *msg), void *arg, struct qh_buf *m)
{
	size_t off = 0, n, len = qh_buf_len(text);
	int r;

	while (off < len) {
		n = len - off < QH_TICKET_CHUNK ? len - off : QH_TICKET_CHUNK;
		qh_buf_reset(m);
		if ((r = qh_msg_begin(m, QH_MSG_TICKET_TEXT)) != 0 ||
		    (r = qh_msg_put_str(m, QH_K_KIND, which)) != 0 ||
		    (r = qh_msg_put(m, QH_K_CHUNK, bytes(text) + off, n)) != 0 ||
		    (r = send(arg, m)) != 0)
			return r;
		off += n;
	}
	return 0;
}

int
qh_ticket_encode_items(const struct qh_ticket *t,
    int (*send)(void *arg, const struct qh_buf *msg), void *arg)
{
	struct qh_buf m;
	int i, r;

	qh_buf_init(&m, QH_MSG_MAX_LEN);
	if (t->reply_to != 0) {
		if ((r = encode_text(&t->steps, "text", send, arg, &m)) != 0)
			goto out;
	} else if ((r = encode_text(&t->steps, "steps", send, arg, &m)) != 0 ||
	    (r = encode_text(&t->env, "environment", send, arg, &m)) != 0)
		goto out;
	for (i = 0; i < t->nfiles; i++) {
		qh_buf_reset(&m);
		if ((r = qh_msg_begin(&m, QH_MSG_TICKET_FILE)) != 0 ||
		    (r = qh_msg_put_str(&m, QH_K_NAME, t->files[i].name)) != 0 ||
		    (r = qh_msg_put_u64(&m, QH_K_SIZE, t->files[i].size)) != 0 ||
		    (r = qh_msg_put(&m, QH_K_HASH, t->files[i].hash, 32)) != 0 ||
		    (r = send(arg, &m)) != 0)
			goto out;
	}
	for (i = 0; i < t->nslots; i++) {
		qh_buf_reset(&m);
		if ((r = qh_msg_begin(&m, QH_MSG_TICKET_SLOT)) != 0 ||
		    (r = qh_msg_put_str(&m, QH_K_WHEN, t->slots[i].when)) != 0 ||
		    (r = qh_msg_put_u32(&m, QH_K_OFFSET, (uint32_t)t->slots[i].offset)) !=
			0 ||
		    (r = send(arg, &m)) != 0)
			goto out;
	}
out:
	qh_buf_release(&m);
	return r;
}

/* Appends a u32 length and the bytes. */
static int
key_put(struct qh_buf *b, const void *p, size_t len)
{
	return qh_buf_put_string(b, p, len);
}

int
qh_ticket_make_key(struct qh_ticket *t, const char *agent_id)
{
	struct qh_buf b;
	unsigned int mdlen = 0;
	int i, r;

	qh_buf_init(&b, KEY_INPUT_MAX);
	if (t->reply_to != 0) {
		if ((r = key_put(&b, "qh-reply-key-1", 14)) != 0 ||
		    (r = key_put(&b, agent_id, strlen(agent_id))) != 0 ||
		    (r = qh_buf_put_u64(&b, (uint64_t)t->reply_to)) != 0 ||
		    (r = key_put(&b, bytes(&t->steps), qh_buf_len(&t->steps))) != 0 ||
		    (r = qh_buf_put_u32(&b, (uint32_t)t->nfiles)) != 0)
			goto out;
		for (i = 0; i < t->nfiles; i++)
			if ((r = key_put(&b, t->files[i].name,
				 strlen(t->files[i].name))) != 0 ||
			    (r = qh_buf_put_u64(&b, t->files[i].size)) != 0 ||
			    (r = qh_buf_put(&b, t->files[i].hash, 32)) != 0)
				goto out;
		goto digest;
	}
	if ((r = key_put(&b, "qh-ticket-key-1", 15)) != 0 ||
	    (r = key_put(&b, agent_id, strlen(agent_id))) != 0 ||
	    (r = key_put(&b, t->kind, strlen(t->kind))) != 0 ||
	    (r = key_put(&b, t->subject, strlen(t->subject))) != 0 ||
	    (r = key_put(&b, bytes(&t->steps), qh_buf_len(&t->steps))) != 0 ||
	    (r = qh_buf_put_u32(&b, (uint32_t)t->nfiles)) != 0)
		goto out;
	for (i = 0; i < t->nfiles; i++)
		if ((r = key_put(&b, t->files[i].name, strlen(t->files[i].name))) != 0 ||
		    (r = qh_buf_put_u64(&b, t->files[i].size)) != 0 ||
		    (r = qh_buf_put(&b, t->files[i].hash, 32)) != 0)
			goto out;
	if ((r = qh_buf_put_u32(&b, (uint32_t)t->nslots)) != 0)
		goto out;
	for (i = 0; i < t->nslots; i++)
		if ((r = key_put(&b, t->slots[i].when, strlen(t->slots[i].when))) != 0 ||
		    (r = qh_buf_put_u32(&b, (uint32_t)t->slots[i].offset)) != 0)
			goto out;
digest:
	if (EVP_Digest(qh_buf_ptr(&b), qh_buf_len(&b), t->key, &mdlen, EVP_sha256(),
		NULL) != 1 ||
	    mdlen != sizeof(t->key))
		r = QH_ERR_CRYPTO;
out:
	qh_buf_release(&b);
	return r;
}

int
qh_ticket_reply_text(const char *text, const char *file, char *buf, size_t cap,
    size_t *len)
{
	ssize_t n;
	int fd, e;

	*len = 0;
	if (text != NULL) {
		*len = strlen(text);
		memcpy(buf, text, *len < cap ? *len : cap);
		return 0;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		*len += (size_t)n;
	}
	close(fd);
	return 0;
}
