/*
 * Tags at the end of agent programs (see qh/exetag.h). The PE fields read
 * here are few (the PE header's offset, the optional header's kind, its
 * checksum and the certificate table's directory entry), and every one is
 * read through le16/le32 with its bounds checked against the file, since
 * the file is whatever --from named.
 */
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "qh/exetag.h"

static const char magic[8] = { 'Q', 'H', 'T', 'A', 'G', '0', '0', '1' };

#define PE_CERT_DIR 4 /* IMAGE_DIRECTORY_ENTRY_SECURITY */

/* Reads a little-endian u16/u32 at off; 0 when it does not fit in len. */
static int
le16(const uint8_t *p, size_t len, size_t off, uint32_t *v)
{
	if (off > len || len - off < 2)
		return QH_ERR_FORMAT;
	*v = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8;
	return 0;
}

static int
le32(const uint8_t *p, size_t len, size_t off, uint32_t *v)
{
	if (off > len || len - off < 4)
		return QH_ERR_FORMAT;
	*v = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	    (uint32_t)p[off + 3] << 24;
	return 0;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* 1 if value may stand in a "key=value" line. */
static int
value_ok(const char *v)
{
	return strchr(v, '\n') == NULL && strchr(v, '\r') == NULL;
}

/* Appends the tag for payload (n bytes of "key=value" lines) to out. */
static int
build(const char *payload, int n, struct qh_buf *out)
{
	uint8_t trailer[QH_EXETAG_TRAILER], zero[8] = { 0 };

	if (n < 0 || (size_t)n > QH_EXETAG_MAX)
		return QH_ERR_TOO_LARGE;
	put_le32(trailer, (uint32_t)n);
	put_le32(trailer + 4, 0);
	memcpy(trailer + 8, magic, sizeof(magic));
	if (qh_buf_put(out, payload, (size_t)n) != 0 ||
	    qh_buf_put(out, zero, (8 - (size_t)n % 8) % 8) != 0 ||
	    qh_buf_put(out, trailer, sizeof(trailer)) != 0)
		return QH_ERR_TOO_LARGE;
	return 0;
}

int
qh_exetag_build(const char *token, const char *vendor, struct qh_buf *out)
{
	char payload[QH_EXETAG_MAX + 1];
	int n;

	if (token == NULL || token[0] == '\0' || !value_ok(token) ||
	    (vendor != NULL && !value_ok(vendor)))
		return QH_ERR_ARG;
	if (vendor != NULL && vendor[0] != '\0')
		n = snprintf(payload, sizeof(payload), "token=%s\nvendor=%s\n", token,
		    vendor);
	else
		n = snprintf(payload, sizeof(payload), "token=%s\n", token);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return QH_ERR_TOO_LARGE;
	return build(payload, n, out);
}

int
qh_exetag_build_console(const char *console, const char *pin, const char *vendor,
    struct qh_buf *out)
{
	char payload[QH_EXETAG_MAX + 1];
	int n;

	if (console == NULL || console[0] == '\0' || !value_ok(console) || pin == NULL ||
	    pin[0] == '\0' || !value_ok(pin) || (vendor != NULL && !value_ok(vendor)))
		return QH_ERR_ARG;
	n = snprintf(payload, sizeof(payload), "console=%s\npin=%s\n%s%s%s", console, pin,
	    vendor != NULL && vendor[0] != '\0' ? "vendor=" : "",
	    vendor != NULL ? vendor : "",
	    vendor != NULL && vendor[0] != '\0' ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(payload))
		return QH_ERR_TOO_LARGE;
	return build(payload, n, out);
}

/* The whole tag's length at the end of p, or 0 when p ends with none. */
static size_t
tag_length(const uint8_t *p, size_t len, uint32_t *payload)
{
	uint32_t n, reserved;
	size_t total;

	if (len < QH_EXETAG_TRAILER ||
	    memcmp(p + len - sizeof(magic), magic, sizeof(magic)) != 0 ||
	    le32(p, len, len - QH_EXETAG_TRAILER, &n) != 0 ||
	    le32(p, len, len - QH_EXETAG_TRAILER + 4, &reserved) != 0 ||
	    n > QH_EXETAG_MAX || reserved != 0)
		return 0;
	total = ((size_t)n + 7) / 8 * 8 + QH_EXETAG_TRAILER;
	if (total > len)
		return 0;
	*payload = n;
	return total;
}

/* Copies the value of "key=" in the payload lines into out. */
static int
payload_value(const char *p, size_t n, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key), i = 0, end;

	out[0] = '\0';
	while (i < n) {
		for (end = i; end < n && p[end] != '\n'; end++)
			;
		if (end - i > kl && memcmp(p + i, key, kl) == 0 && p[i + kl] == '=') {
			if (end - i - kl - 1 >= outlen)
				return QH_ERR_TOO_LARGE;
			memcpy(out, p + i + kl + 1, end - i - kl - 1);
			out[end - i - kl - 1] = '\0';
			return 0;
		}
		i = end + 1;
	}
	return QH_ERR_NOT_FOUND;
}

/*
 * Finds the tag at the end of the len bytes at tail: its payload and
 * length. QH_ERR_NOT_FOUND without a tag, QH_ERR_FORMAT for a damaged one.
 */
static int
tag_payload(const uint8_t *tail, size_t len, const char **payload, uint32_t *n)
{
	size_t total, i;

	if (len >= sizeof(magic) &&
	    memcmp(tail + len - sizeof(magic), magic, sizeof(magic)) != 0)
		return QH_ERR_NOT_FOUND;
	if ((total = tag_length(tail, len, n)) == 0)
		return len < QH_EXETAG_TRAILER ? QH_ERR_NOT_FOUND : QH_ERR_FORMAT;
	*payload = (const char *)tail + len - total;
	for (i = 0; i < *n; i++)
		if ((*payload)[i] == '\0')
			return QH_ERR_FORMAT;
	return 0;
}

int
qh_exetag_read(const uint8_t *tail, size_t len, char *token, size_t tokenlen,
    char *vendor, size_t vendorlen)
{
	const char *payload;
	char console[8];
	uint32_t n = 0;
	int r;

	token[0] = '\0';
	vendor[0] = '\0';
	if ((r = tag_payload(tail, len, &payload, &n)) != 0)
		return r;
	if (payload_value(payload, n, "token", token, tokenlen) != 0 ||
	    token[0] == '\0') {
		token[0] = '\0';
		/* A vendor-built agent's tag carries a console, not a token. */
		return payload_value(payload, n, "console", console, sizeof(console)) ==
			QH_ERR_NOT_FOUND
		    ? QH_ERR_FORMAT
		    : QH_ERR_NOT_FOUND;
	}
	if (payload_value(payload, n, "vendor", vendor, vendorlen) == QH_ERR_TOO_LARGE)
		return QH_ERR_FORMAT;
	return 0;
}

int
qh_exetag_read_console(const uint8_t *tail, size_t len, char *console, size_t consolelen,
    char *pin, size_t pinlen, char *vendor, size_t vendorlen)
{
	const char *payload;
	uint32_t n = 0;
	int r;

	console[0] = pin[0] = vendor[0] = '\0';
	if ((r = tag_payload(tail, len, &payload, &n)) != 0)
		return r;
	if ((r = payload_value(payload, n, "console", console, consolelen)) != 0) {
		console[0] = '\0';
		return r == QH_ERR_NOT_FOUND ? r : QH_ERR_FORMAT;
	}
	if (payload_value(payload, n, "pin", pin, pinlen) != 0 || pin[0] == '\0' ||
	    console[0] == '\0' ||
	    payload_value(payload, n, "vendor", vendor, vendorlen) == QH_ERR_TOO_LARGE) {
		console[0] = pin[0] = vendor[0] = '\0';
		return QH_ERR_FORMAT;
	}
	return 0;
}

int
qh_exetag_append(const uint8_t *file, size_t len, const struct qh_buf *tag,
    struct qh_buf *out)
{
	uint32_t n;
	size_t base = len - tag_length(file, len, &n);

	if (qh_buf_put(out, file, base) != 0 ||
	    qh_buf_put(out, qh_buf_ptr(tag), qh_buf_len(tag)) != 0)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/*
 * The PE checksum (what IMAGE_OPTIONAL_HEADER.CheckSum holds): 16-bit
 * words summed with their carries folded, the field itself counted as 0,
 * plus the file's length.
 */
static uint32_t
pe_checksum(const uint8_t *p, size_t len, size_t field)
{
	uint64_t sum = 0;
	size_t i;
	uint32_t w;

	for (i = 0; i + 1 < len; i += 2) {
		if (i == field || i == field + 2)
			continue;
		w = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;
		sum += w;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len % 2 == 1) {
		sum += p[len - 1];
		sum = (sum & 0xffff) + (sum >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum + (uint32_t)len;
}

/* Where the PE header says its checksum and certificate table entry are. */
struct pe {
	size_t checksum;  /* offset of CheckSum */
	size_t certdir;	  /* offset of the certificate table's entry */
	uint32_t certoff; /* the table's file offset, 0 if unsigned */
	uint32_t certlen;
};

static int
pe_parse(const uint8_t *p, size_t len, struct pe *pe)
{
	uint32_t lfanew, sig, optsize, optmagic, ndirs;
	size_t opt, dirs;

	memset(pe, 0, sizeof(*pe));
	if (len < 64 || p[0] != 'M' || p[1] != 'Z' || le32(p, len, 0x3c, &lfanew) != 0 ||
	    le32(p, len, lfanew, &sig) != 0 || sig != 0x00004550 ||
	    le16(p, len, (size_t)lfanew + 20, &optsize) != 0)
		return QH_ERR_FORMAT;
	opt = (size_t)lfanew + 24;
	if (le16(p, len, opt, &optmagic) != 0)
		return QH_ERR_FORMAT;
	if (optmagic == 0x20b) { /* PE32+ */
		dirs = opt + 112;
		if (le32(p, len, opt + 108, &ndirs) != 0)
			return QH_ERR_FORMAT;
	} else if (optmagic == 0x10b) { /* PE32 */
		dirs = opt + 96;
		if (le32(p, len, opt + 92, &ndirs) != 0)
			return QH_ERR_FORMAT;
	} else
		return QH_ERR_FORMAT;
	if (ndirs <= PE_CERT_DIR || dirs + (PE_CERT_DIR + 1) * 8 > opt + optsize)
		return QH_ERR_FORMAT;
	pe->checksum = opt + 64;
	pe->certdir = dirs + PE_CERT_DIR * 8;
	if (le32(p, len, pe->certdir, &pe->certoff) != 0 ||
	    le32(p, len, pe->certdir + 4, &pe->certlen) != 0)
		return QH_ERR_FORMAT;
	if (pe->certoff == 0 || pe->certlen == 0) {
		pe->certoff = pe->certlen = 0;
		return 0;
	}
	/* The table must end the file: nothing else may follow a signature. */
	if ((size_t)pe->certoff + pe->certlen != len || pe->certlen < 8 ||
	    pe->certoff % 8 != 0)
		return QH_ERR_FORMAT;
	return 0;
}

/* The offset of the last WIN_CERTIFICATE entry of the table. */
static int
last_cert(const uint8_t *p, size_t len, const struct pe *pe, size_t *at)
{
	size_t off = pe->certoff, end = (size_t)pe->certoff + pe->certlen;
	uint32_t dwlen;

	*at = 0;
	while (off < end) {
		if (le32(p, len, off, &dwlen) != 0 || dwlen < 8 || dwlen > end - off)
			return QH_ERR_FORMAT;
		*at = off;
		off += ((size_t)dwlen + 7) / 8 * 8;
	}
	return *at != 0 ? 0 : QH_ERR_FORMAT;
}

int
qh_exetag_apply(const uint8_t *exe, size_t len, const struct qh_buf *tag,
    struct qh_buf *out, int *is_signed)
{
	struct pe pe;
	uint32_t n, dwlen;
	size_t old, base, cert, taglen = qh_buf_len(tag);
	uint8_t *d;
	int r;

	*is_signed = 0;
	if ((r = pe_parse(exe, len, &pe)) != 0)
		return r;
	/* An old tag goes first (it ends the file, inside the table or not). */
	old = tag_length(exe, len, &n);
	base = len - old;
	/* A "tag" that reaches into the headers or the signature is none. */
	if (base < pe.certdir + 8 || (pe.certlen != 0 && old > 0 && old > pe.certlen - 8))
		return QH_ERR_FORMAT;
	if (qh_buf_reserve(out, base + taglen, &d) != 0)
		return QH_ERR_TOO_LARGE;
	memcpy(d, exe, base);
	memcpy(d + base, qh_buf_ptr(tag), taglen);
	if (pe.certlen != 0) {
		/* The tag becomes the last certificate's padding. */
		*is_signed = 1;
		if (last_cert(d, base + taglen, &pe, &cert) != 0 ||
		    le32(d, base + taglen, cert, &dwlen) != 0)
			return QH_ERR_FORMAT;
		/* It ends the table: with the old tag in it, or without one. */
		if (cert + ((size_t)dwlen + 7) / 8 * 8 != base &&
		    cert + ((size_t)dwlen + 7) / 8 * 8 != len)
			return QH_ERR_FORMAT;
		put_le32(d + cert, (uint32_t)(base + taglen - cert));
		put_le32(d + pe.certdir + 4, (uint32_t)(base + taglen - pe.certoff));
	}
	put_le32(d + pe.checksum, pe_checksum(d, base + taglen, pe.checksum));
	return 0;
}
