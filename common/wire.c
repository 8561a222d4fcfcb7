/*
 * Frame codec and control-message encoding. Both decoders look only at the
 * bytes they are given, through the bounded reader, and decide validity
 * before anything is allocated.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/err.h"
#include "qh/wire.h"

static const char *const frame_names[QH_FRAME_TYPE_MAX] = {
	[QH_FRAME_CONTROL] = "control",
	[QH_FRAME_OPEN] = "open",
	[QH_FRAME_OPEN_OK] = "open-ok",
	[QH_FRAME_OPEN_FAIL] = "open-fail",
	[QH_FRAME_DATA] = "data",
	[QH_FRAME_EXTDATA] = "extdata",
	[QH_FRAME_EOF] = "eof",
	[QH_FRAME_CLOSE] = "close",
	[QH_FRAME_WINDOW] = "window",
	[QH_FRAME_MSG] = "msg",
	[QH_FRAME_PING] = "ping",
	[QH_FRAME_PONG] = "pong",
};

const char *
qh_wire_frame_name(uint8_t type)
{
	if (type >= QH_FRAME_TYPE_MAX || frame_names[type] == NULL)
		return "unknown";
	return frame_names[type];
}

int
qh_wire_decode(const struct qh_buf *in, struct qh_frame *f)
{
	uint32_t chan, len;
	uint8_t type;

	if (qh_buf_len(in) < QH_WIRE_HDR_LEN)
		return 0;
	(void)qh_buf_peek_u8(in, 0, &type);
	(void)qh_buf_peek_u32(in, 1, &chan);
	(void)qh_buf_peek_u32(in, 5, &len);
	if (type == 0 || type >= QH_FRAME_TYPE_MAX)
		return QH_ERR_PROTOCOL;
	if (len > QH_WIRE_MAX_PAYLOAD)
		return QH_ERR_TOO_LARGE;
	if (chan > QH_WIRE_MAX_CHANNEL)
		return QH_ERR_PROTOCOL;
	if (qh_buf_len(in) - QH_WIRE_HDR_LEN < len)
		return 0;
	f->type = type;
	f->chan = chan;
	f->len = len;
	f->payload = qh_buf_ptr(in) + QH_WIRE_HDR_LEN;
	return 1;
}

int
qh_wire_put_header(struct qh_buf *out, uint8_t type, uint32_t chan, size_t len)
{
	uint8_t *d;
	int r;

	if (len > QH_WIRE_MAX_PAYLOAD)
		return QH_ERR_TOO_LARGE;
	if ((r = qh_buf_reserve(out, QH_WIRE_HDR_LEN, &d)) != 0)
		return r;
	d[0] = type;
	d[1] = (uint8_t)(chan >> 24);
	d[2] = (uint8_t)(chan >> 16);
	d[3] = (uint8_t)(chan >> 8);
	d[4] = (uint8_t)chan;
	d[5] = (uint8_t)(len >> 24);
	d[6] = (uint8_t)(len >> 16);
	d[7] = (uint8_t)(len >> 8);
	d[8] = (uint8_t)len;
	return 0;
}

int
qh_wire_put_frame(struct qh_buf *out, uint8_t type, uint32_t chan, const void *payload,
    size_t len)
{
	int r;

	if (len > QH_WIRE_MAX_PAYLOAD)
		return QH_ERR_TOO_LARGE;
	if (QH_WIRE_HDR_LEN + len > qh_buf_room(out))
		return QH_ERR_TOO_LARGE;
	if ((r = qh_wire_put_header(out, type, chan, len)) != 0)
		return r;
	return qh_buf_put(out, payload, len);
}

/* Control messages. */

enum key_kind {
	KIND_TEXT, /* UTF-8, no NUL */
	KIND_BLOB, /* any bytes */
	KIND_U8,
	KIND_U32,
	KIND_U64,
};

static const struct key_spec {
	enum key_kind kind;
	uint32_t max; /* longest value, for TEXT and BLOB */
} keys[QH_K_MAX] = {
	[QH_K_CODE] = { KIND_TEXT, 64 },
	[QH_K_TEXT] = { KIND_TEXT, 4096 },
	[QH_K_TOKEN] = { KIND_TEXT, 512 },
	[QH_K_CSR] = { KIND_TEXT, 8192 },
	[QH_K_CERT] = { KIND_TEXT, 16384 },
	[QH_K_CA] = { KIND_TEXT, 16384 },
	[QH_K_CUSTOMER] = { KIND_TEXT, 64 },
	[QH_K_NAME] = { KIND_TEXT, 256 },
	[QH_K_HOST] = { KIND_TEXT, 256 },
	[QH_K_RESUME] = { KIND_TEXT, 128 },
	[QH_K_LOGIN] = { KIND_TEXT, 64 },
	[QH_K_ID] = { KIND_U64, 8 },
	[QH_K_ALLOW] = { KIND_U8, 1 },
	[QH_K_CMD] = { KIND_TEXT, 32 },
	[QH_K_ARG] = { KIND_BLOB, 32768 },
	[QH_K_STATUS] = { KIND_U32, 4 },
	[QH_K_SIGNAL] = { KIND_U32, 4 },
	[QH_K_ROWS] = { KIND_U32, 4 },
	[QH_K_COLS] = { KIND_U32, 4 },
	[QH_K_UNITS] = { KIND_U64, 8 },
	[QH_K_JSON] = { KIND_TEXT, 60000 },
	[QH_K_TERM] = { KIND_TEXT, 64 },
	[QH_K_FLAGS] = { KIND_U32, 4 },
	[QH_K_SESSION] = { KIND_U64, 8 },
	[QH_K_SECONDS] = { KIND_U64, 8 },
	[QH_K_KIND] = { KIND_TEXT, 32 },
	[QH_K_NOTE] = { KIND_TEXT, 4096 },
	[QH_K_TARGET] = { KIND_TEXT, 300 },
	[QH_K_PATH] = { KIND_TEXT, 4096 },
	[QH_K_SIZE] = { KIND_U64, 8 },
	[QH_K_MODE] = { KIND_U32, 4 },
	[QH_K_HASH] = { KIND_BLOB, 32 },
	[QH_K_SUBJECT] = { KIND_TEXT, 200 },
	[QH_K_CHUNK] = { KIND_BLOB, 32768 },
	[QH_K_WHEN] = { KIND_TEXT, 16 },
	[QH_K_OFFSET] = { KIND_U32, 4 },
	[QH_K_DUE] = { KIND_U64, 8 },
	[QH_K_DEADLINE] = { KIND_U64, 8 },
	[QH_K_LANG] = { KIND_TEXT, 8 },
	[QH_K_INTERNAL] = { KIND_TEXT, 4096 },
	[QH_K_SLOT] = { KIND_U32, 4 },
};

#define K(k) ((uint64_t)1 << (k))

static const struct msg_spec {
	const char *name;
	uint64_t allowed;
	uint64_t required;
} msgs[QH_MSG_TYPE_MAX] = {
	[QH_MSG_ERROR] = { "error", K(QH_K_CODE) | K(QH_K_TEXT),
	    K(QH_K_CODE) | K(QH_K_TEXT) },
	[QH_MSG_JOIN] = { "join",
	    K(QH_K_TOKEN) | K(QH_K_CSR) | K(QH_K_HOST) | K(QH_K_LANG),
	    K(QH_K_TOKEN) | K(QH_K_CSR) },
	[QH_MSG_JOIN_OK] = { "join-ok",
	    K(QH_K_CERT) | K(QH_K_CA) | K(QH_K_CUSTOMER) | K(QH_K_NAME) | K(QH_K_ID),
	    K(QH_K_CERT) | K(QH_K_CA) | K(QH_K_CUSTOMER) },
	[QH_MSG_HELLO] = { "hello",
	    K(QH_K_HOST) | K(QH_K_RESUME) | K(QH_K_CODE) | K(QH_K_FLAGS) |
		K(QH_K_TARGET) | K(QH_K_LANG),
	    K(QH_K_HOST) },
	[QH_MSG_WELCOME] = { "welcome",
	    K(QH_K_CODE) | K(QH_K_NAME) | K(QH_K_CUSTOMER) | K(QH_K_RESUME) |
		K(QH_K_UNITS) | K(QH_K_TEXT) | K(QH_K_SESSION) | K(QH_K_FLAGS),
	    K(QH_K_CODE) | K(QH_K_RESUME) },
	[QH_MSG_NOTICE] = { "notice", K(QH_K_TEXT) | K(QH_K_KIND), K(QH_K_TEXT) },
	[QH_MSG_CONSENT] = { "consent",
	    K(QH_K_ID) | K(QH_K_LOGIN) | K(QH_K_NAME) | K(QH_K_TEXT) | K(QH_K_KIND) |
		K(QH_K_FLAGS),
	    K(QH_K_ID) | K(QH_K_LOGIN) | K(QH_K_NAME) },
	[QH_MSG_CONSENT_REPLY] = { "consent-reply", K(QH_K_ID) | K(QH_K_ALLOW),
	    K(QH_K_ID) | K(QH_K_ALLOW) },
	[QH_MSG_CONSENT_CANCEL] = { "consent-cancel", K(QH_K_ID), K(QH_K_ID) },
	[QH_MSG_REQUEST] = { "request",
	    K(QH_K_CMD) | K(QH_K_CODE) | K(QH_K_ARG) | K(QH_K_ROWS) | K(QH_K_COLS) |
		K(QH_K_TERM) | K(QH_K_FLAGS) | K(QH_K_KIND) | K(QH_K_NOTE) |
		K(QH_K_TARGET) | K(QH_K_PATH) | K(QH_K_SIZE) | K(QH_K_MODE) |
		K(QH_K_HASH) | K(QH_K_ID) | K(QH_K_CUSTOMER) | K(QH_K_SUBJECT) |
		K(QH_K_CSR) | K(QH_K_TEXT) | K(QH_K_LOGIN) | K(QH_K_NAME) | K(QH_K_SLOT) |
		K(QH_K_INTERNAL),
	    K(QH_K_CMD) },
	[QH_MSG_REPLY] = { "reply",
	    K(QH_K_TEXT) | K(QH_K_JSON) | K(QH_K_SESSION) | K(QH_K_SECONDS) |
		K(QH_K_UNITS) | K(QH_K_NAME) | K(QH_K_SIZE) | K(QH_K_MODE) |
		K(QH_K_HASH) | K(QH_K_CERT) | K(QH_K_CA),
	    0 },
	[QH_MSG_ACTION] = { "action",
	    K(QH_K_CMD) | K(QH_K_ARG) | K(QH_K_ROWS) | K(QH_K_COLS) | K(QH_K_TERM) |
		K(QH_K_LOGIN) | K(QH_K_NAME) | K(QH_K_TARGET) | K(QH_K_PATH) |
		K(QH_K_SIZE) | K(QH_K_MODE) | K(QH_K_HASH) | K(QH_K_FLAGS),
	    K(QH_K_CMD) },
	[QH_MSG_EXIT] = { "exit",
	    K(QH_K_STATUS) | K(QH_K_SIGNAL) | K(QH_K_TEXT) | K(QH_K_SIZE) | K(QH_K_HASH) |
		K(QH_K_MODE),
	    0 },
	[QH_MSG_RESIZE] = { "resize", K(QH_K_ROWS) | K(QH_K_COLS),
	    K(QH_K_ROWS) | K(QH_K_COLS) },
	[QH_MSG_SESSION] = { "session",
	    K(QH_K_KIND) | K(QH_K_TEXT) | K(QH_K_SESSION) | K(QH_K_SECONDS) |
		K(QH_K_UNITS) | K(QH_K_LOGIN) | K(QH_K_NAME),
	    K(QH_K_KIND) },
	[QH_MSG_TICKET_TEXT] = { "ticket-text", K(QH_K_KIND) | K(QH_K_CHUNK),
	    K(QH_K_KIND) | K(QH_K_CHUNK) },
	[QH_MSG_TICKET_FILE] = { "ticket-file",
	    K(QH_K_NAME) | K(QH_K_SIZE) | K(QH_K_HASH),
	    K(QH_K_NAME) | K(QH_K_SIZE) | K(QH_K_HASH) },
	[QH_MSG_TICKET_SLOT] = { "ticket-slot", K(QH_K_WHEN) | K(QH_K_OFFSET),
	    K(QH_K_WHEN) | K(QH_K_OFFSET) },
	[QH_MSG_TICKET_GO] = { "ticket-go", 0, 0 },
	[QH_MSG_TICKET_OK] = { "ticket-ok",
	    K(QH_K_ID) | K(QH_K_DUE) | K(QH_K_DEADLINE) | K(QH_K_FLAGS) | K(QH_K_TEXT) |
		K(QH_K_JSON),
	    K(QH_K_ID) | K(QH_K_DUE) },
};

const char *
qh_msg_name(uint8_t type)
{
	if (type == 0 || type >= QH_MSG_TYPE_MAX)
		return "unknown";
	return msgs[type].name;
}

int
qh_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		uint8_t c = p[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
value_valid(uint8_t key, const uint8_t *p, size_t len)
{
	const struct key_spec *ks = &keys[key];

	switch (ks->kind) {
	case KIND_TEXT:
		return len <= ks->max && qh_utf8_valid(p, len);
	case KIND_BLOB:
		return len <= ks->max;
	case KIND_U8:
		return len == 1;
	case KIND_U32:
		return len == 4;
	case KIND_U64:
		return len == 8;
	}
	return 0;
}

int
qh_msg_decode(const void *p, size_t len, struct qh_msg *m)
{
	const struct msg_spec *ms;
	struct qh_buf b;
	uint64_t seen = 0;
	const uint8_t *val;
	size_t vlen;
	uint8_t key;
	int r;

	memset(m, 0, sizeof(*m));
	if (len > QH_MSG_MAX_LEN)
		return QH_ERR_TOO_LARGE;
	qh_buf_init_ro(&b, p, len);
	if ((r = qh_buf_get_u8(&b, &m->type)) != 0)
		return QH_ERR_FORMAT;
	if (m->type == 0 || m->type >= QH_MSG_TYPE_MAX)
		return QH_ERR_PROTOCOL;
	ms = &msgs[m->type];
	while (qh_buf_len(&b) > 0) {
		if (m->nfields == QH_MSG_MAX_FIELDS)
			return QH_ERR_TOO_LARGE;
		if (qh_buf_get_u8(&b, &key) != 0)
			return QH_ERR_FORMAT;
		if (key == 0 || key >= QH_K_MAX || !(ms->allowed & K(key)))
			return QH_ERR_PROTOCOL;
		if (seen & K(key))
			return QH_ERR_FORMAT;
		/*
		 * Text and blobs are bounded by their key; an integer of the
		 * wrong width is malformed rather than too large.
		 */
		r = qh_buf_get_string_direct(&b, &val, &vlen,
		    keys[key].kind == KIND_TEXT || keys[key].kind == KIND_BLOB
			? keys[key].max
			: QH_MSG_MAX_LEN);
		if (r == QH_ERR_TOO_LARGE)
			return r;
		if (r != 0)
			return QH_ERR_FORMAT;
		if (!value_valid(key, val, vlen))
			return QH_ERR_FORMAT;
		seen |= K(key);
		m->f[m->nfields].key = key;
		m->f[m->nfields].val = val;
		m->f[m->nfields].len = (uint32_t)vlen;
		m->nfields++;
	}
	if ((seen & ms->required) != ms->required)
		return QH_ERR_FORMAT;
	return 0;
}

int
qh_msg_begin(struct qh_buf *out, uint8_t type)
{
	return qh_buf_put_u8(out, type);
}

int
qh_msg_put(struct qh_buf *out, uint8_t key, const void *p, size_t len)
{
	int r;

	/* Check the room first, so a failure appends nothing. */
	if (qh_buf_error(out) != 0)
		return qh_buf_error(out);
	if (len > qh_buf_room(out) || qh_buf_room(out) - len < 1 + 4)
		return qh_buf_fail(out, QH_ERR_TOO_LARGE);
	if ((r = qh_buf_put_u8(out, key)) != 0)
		return r;
	return qh_buf_put_string(out, p, len);
}

int
qh_msg_put_str(struct qh_buf *out, uint8_t key, const char *s)
{
	return qh_msg_put(out, key, s, strlen(s));
}

int
qh_msg_put_u32(struct qh_buf *out, uint8_t key, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
		(uint8_t)v };

	return qh_msg_put(out, key, d, sizeof(d));
}

int
qh_msg_put_u64(struct qh_buf *out, uint8_t key, uint64_t v)
{
	uint8_t d[8];
	int i;

	for (i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (56 - 8 * i));
	return qh_msg_put(out, key, d, sizeof(d));
}

int
qh_msg_has(const struct qh_msg *m, uint8_t key)
{
	unsigned i;

	for (i = 0; i < m->nfields; i++)
		if (m->f[i].key == key)
			return 1;
	return 0;
}

int
qh_msg_get(const struct qh_msg *m, uint8_t key, const uint8_t **pp, size_t *lenp)
{
	unsigned i;

	for (i = 0; i < m->nfields; i++) {
		if (m->f[i].key == key) {
			*pp = m->f[i].val;
			*lenp = m->f[i].len;
			return 0;
		}
	}
	return QH_ERR_NOT_FOUND;
}

int
qh_msg_get_str(const struct qh_msg *m, uint8_t key, char **sp)
{
	const uint8_t *p;
	size_t len;
	char *s;
	int r;

	*sp = NULL;
	if ((r = qh_msg_get(m, key, &p, &len)) != 0)
		return r;
	if ((s = malloc(len + 1)) == NULL)
		return QH_ERR_NOMEM;
	memcpy(s, p, len);
	s[len] = '\0';
	*sp = s;
	return 0;
}

/*
 * A view of field key for the bounded reader, which must hold exactly
 * width bytes. Returns 0, QH_ERR_NOT_FOUND or QH_ERR_FORMAT.
 */
static int
int_field(const struct qh_msg *m, uint8_t key, size_t width, struct qh_buf *b)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = qh_msg_get(m, key, &p, &len)) != 0)
		return r;
	if (len != width)
		return QH_ERR_FORMAT;
	qh_buf_init_ro(b, p, len);
	return 0;
}

int
qh_msg_get_u8(const struct qh_msg *m, uint8_t key, uint8_t *v)
{
	struct qh_buf b;
	int r;

	if ((r = int_field(m, key, 1, &b)) != 0)
		return r;
	return qh_buf_get_u8(&b, v);
}

int
qh_msg_get_u32(const struct qh_msg *m, uint8_t key, uint32_t *v)
{
	struct qh_buf b;
	int r;

	if ((r = int_field(m, key, 4, &b)) != 0)
		return r;
	return qh_buf_get_u32(&b, v);
}

int
qh_msg_get_u64(const struct qh_msg *m, uint8_t key, uint64_t *v)
{
	struct qh_buf b;
	int r;

	if ((r = int_field(m, key, 8, &b)) != 0)
		return r;
	return qh_buf_get_u64(&b, v);
}

int
qh_argv_pack(struct qh_buf *out, int argc, char *const argv[])
{
	size_t before = qh_buf_len(out);
	int i, r;

	if (argc < 0 || argc > QH_ARGV_MAX)
		return QH_ERR_TOO_LARGE;
	for (i = 0; i < argc; i++) {
		if ((r = qh_buf_put_cstring(out, argv[i])) != 0) {
			/* Give back the strings already appended. */
			qh_buf_unreserve(out, qh_buf_len(out) - before);
			return r;
		}
	}
	return 0;
}

int
qh_argv_unpack(const uint8_t *p, size_t len, char ***argvp, int *argcp)
{
	struct qh_buf b;
	const uint8_t *s;
	size_t slen, total = 0;
	char **argv, *dst;
	int argc = 0, i;

	*argvp = NULL;
	*argcp = 0;
	/* First pass: count and validate, so the allocation is exact. */
	qh_buf_init_ro(&b, p, len);
	while (qh_buf_len(&b) > 0) {
		if (argc == QH_ARGV_MAX)
			return QH_ERR_TOO_LARGE;
		if (qh_buf_get_string_direct(&b, &s, &slen, len) != 0)
			return QH_ERR_FORMAT;
		if (memchr(s, '\0', slen) != NULL)
			return QH_ERR_FORMAT;
		total += slen + 1;
		argc++;
	}
	if ((argv = malloc((size_t)(argc + 1) * sizeof(char *) + total)) == NULL)
		return QH_ERR_NOMEM;
	dst = (char *)(argv + argc + 1);
	qh_buf_init_ro(&b, p, len);
	for (i = 0; i < argc; i++) {
		(void)qh_buf_get_string_direct(&b, &s, &slen, len);
		memcpy(dst, s, slen);
		dst[slen] = '\0';
		argv[i] = dst;
		dst += slen + 1;
	}
	argv[argc] = NULL;
	*argvp = argv;
	*argcp = argc;
	return 0;
}

int
qh_msg_encode(const struct qh_msg *m, struct qh_buf *out)
{
	unsigned i;
	int r;

	if ((r = qh_msg_begin(out, m->type)) != 0)
		return r;
	for (i = 0; i < m->nfields; i++)
		if ((r = qh_msg_put(out, m->f[i].key, m->f[i].val, m->f[i].len)) != 0)
			return r;
	return 0;
}
