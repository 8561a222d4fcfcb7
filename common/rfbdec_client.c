/*
 * The RFB stream decoder's view of the viewer's half (qh_rfbdec_feed_client):
 * what a console recorded of the client-to-server stream beside the
 * server's. Only what changes how the server writes matters to the
 * picture: the viewer's version (3.3 has no security list), SetPixelFormat
 * (the server's format from the next update on) and SetEncodings (which
 * encodings the server may use at all). The other messages are measured
 * and skipped. Every byte goes through the bounded reader; a message that
 * no viewer of our server could have sent fails the decoder.
 */
#include <stdio.h>
#include <string.h>

#include "qh/err.h"
#include "rfbdec_int.h"

/* Most encodings one SetEncodings may list (the agent's server refuses more). */
#define DEC_ENCODINGS_MAX 1024

int
dec_announced(const struct qh_rfbdec *d, int32_t enc)
{
	switch (enc) {
	case QH_RFB_ENC_COPYRECT:
		return (d->announced & DEC_ANN_COPYRECT) != 0;
	case QH_RFB_ENC_ZRLE:
		return (d->announced & DEC_ANN_ZRLE) != 0;
	case QH_RFB_ENC_TIGHT:
		return (d->announced & DEC_ANN_TIGHT) != 0;
	case QH_RFB_ENC_CURSOR:
		return (d->announced & DEC_ANN_CURSOR) != 0;
	case QH_RFB_ENC_POINTERPOS:
		return (d->announced & DEC_ANN_POINTERPOS) != 0;
	case QH_RFB_ENC_DESKTOPSIZE:
		return (d->announced & DEC_ANN_DESKTOPSIZE) != 0;
	default:
		return 1; /* Raw, and what rect_size refuses as not ours */
	}
}

/* Handshake. Each step returns 1 (done), 0 (more input needed) or <0. */

static int
cl_version(struct qh_rfbdec *d, struct qh_buf *in)
{
	char v[QH_RFB_VERSION_LEN + 1];
	unsigned major, minor;
	int i;

	if (qh_buf_get(in, v, QH_RFB_VERSION_LEN) != 0)
		return 0;
	v[QH_RFB_VERSION_LEN] = '\0';
	for (i = 4; i < 11; i++)
		if (i != 7 && (v[i] < '0' || v[i] > '9'))
			break;
	if (memcmp(v, "RFB ", 4) != 0 || i != 11 || v[7] != '.' || v[11] != '\n' ||
	    sscanf(v + 4, "%3u.%3u", &major, &minor) != 2 || major != 3)
		return dec_fail(d, QH_ERR_FORMAT, "not an RFB 3.x viewer stream");
	/* As the server reads it: 3.7, 3.8 and later as 3.8, the rest as 3.3. */
	d->cminor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
	d->cstate = d->cminor == 3 ? CS_INIT : CS_SECURITY;
	return 1;
}

static int
cl_security(struct qh_rfbdec *d, struct qh_buf *in)
{
	uint8_t type;

	if (qh_buf_get_u8(in, &type) != 0)
		return 0;
	if (type != QH_RFB_SEC_NONE)
		return dec_fail(d, QH_ERR_PROTOCOL, "the viewer chose security type %u",
		    type);
	d->cstate = CS_INIT;
	return 1;
}

static int
cl_init(struct qh_rfbdec *d, struct qh_buf *in)
{
	uint8_t shared;

	if (qh_buf_get_u8(in, &shared) != 0)
		return 0;
	d->cstate = CS_MESSAGE;
	return 1;
}

/* Client messages; each returns 1 (consumed one), 0 (incomplete) or <0. */

static int
cl_pixelformat(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_rfb_pf pf;

	if (qh_buf_len(in) < 4 + QH_RFB_PF_LEN)
		return 0;
	(void)qh_buf_consume(in, 4);
	(void)qh_rfb_pf_get(in, &pf);
	if (!qh_rfb_pf_valid(&pf))
		return dec_fail(d, QH_ERR_FORMAT,
		    "SetPixelFormat of %u bpp, depth %u is not a format we serve", pf.bpp,
		    pf.depth);
	d->pf_next = pf;
	d->pf_pending = 1;
	return 1;
}

static int
cl_encodings(struct qh_rfbdec *d, struct qh_buf *in)
{
	struct qh_buf peek = *in;
	uint16_t n, i;
	uint32_t e;

	if (qh_buf_consume(&peek, 2) != 0 || qh_buf_get_u16(&peek, &n) != 0)
		return 0;
	if (n > DEC_ENCODINGS_MAX)
		return dec_fail(d, QH_ERR_TOO_LARGE, "SetEncodings lists %u encodings",
		    n);
	if (qh_buf_len(&peek) < 4 * (size_t)n)
		return 0;
	for (i = 0; i < n; i++) {
		(void)qh_buf_get_u32(&peek, &e);
		switch ((int32_t)e) {
		case QH_RFB_ENC_COPYRECT:
			d->announced |= DEC_ANN_COPYRECT;
			break;
		case QH_RFB_ENC_ZRLE:
			d->announced |= DEC_ANN_ZRLE;
			break;
		case QH_RFB_ENC_TIGHT:
			d->announced |= DEC_ANN_TIGHT;
			break;
		case QH_RFB_ENC_CURSOR:
			d->announced |= DEC_ANN_CURSOR;
			break;
		case QH_RFB_ENC_POINTERPOS:
			d->announced |= DEC_ANN_POINTERPOS;
			break;
		case QH_RFB_ENC_DESKTOPSIZE:
			d->announced |= DEC_ANN_DESKTOPSIZE;
			break;
		}
	}
	*in = peek;
	return 1;
}

/* A message of fixed length len, skipped. */
static int
cl_fixed(struct qh_buf *in, size_t len)
{
	return qh_buf_consume(in, len) == 0;
}

static int
cl_cuttext(struct qh_rfbdec *d, struct qh_buf *in)
{
	uint32_t len;

	if (qh_buf_peek_u32(in, 4, &len) != 0)
		return 0;
	if (len & 0x80000000U)
		return dec_fail(d, QH_ERR_PROTOCOL,
		    "ClientCutText in the extended form, which our server does not "
		    "offer");
	/* The text itself is skipped as it comes: it may be longer than a buffer. */
	(void)qh_buf_consume(in, 8);
	d->cut_skip = len;
	return 1;
}

static int
cl_message(struct qh_rfbdec *d, struct qh_buf *in)
{
	uint8_t type;
	size_t n;
	int r;

	if (d->cut_skip > 0) {
		n = qh_buf_len(in) < d->cut_skip ? qh_buf_len(in) : d->cut_skip;
		(void)qh_buf_consume(in, n);
		d->cut_skip -= (uint32_t)n;
		return n > 0;
	}
	if (qh_buf_peek_u8(in, 0, &type) != 0)
		return 0;
	switch (type) {
	case QH_RFB_C_SETPIXELFORMAT:
		r = cl_pixelformat(d, in);
		break;
	case QH_RFB_C_SETENCODINGS:
		r = cl_encodings(d, in);
		break;
	case QH_RFB_C_UPDATEREQUEST:
		r = cl_fixed(in, 10);
		break;
	case QH_RFB_C_KEYEVENT:
		r = cl_fixed(in, 8);
		break;
	case QH_RFB_C_POINTEREVENT:
		r = cl_fixed(in, 6);
		break;
	case QH_RFB_C_CUTTEXT:
		r = cl_cuttext(d, in);
		break;
	default:
		return dec_fail(d, QH_ERR_PROTOCOL, "client message type %u is not RFB's",
		    type);
	}
	if (r > 0)
		d->client_msgs++;
	return r;
}

int
qh_rfbdec_feed_client(struct qh_rfbdec *d, struct qh_buf *in)
{
	int r;

	if (d->state == DS_FAILED)
		return QH_ERR_PROTOCOL;
	d->client_fed = 1;
	for (;;) {
		switch (d->cstate) {
		case CS_VERSION:
			r = cl_version(d, in);
			break;
		case CS_SECURITY:
			r = cl_security(d, in);
			break;
		case CS_INIT:
			r = cl_init(d, in);
			break;
		default:
			r = cl_message(d, in);
			break;
		}
		if (r <= 0)
			return r;
	}
}

uint64_t
qh_rfbdec_client_messages(const struct qh_rfbdec *d)
{
	return d->client_msgs;
}
