/*
 * qh-rfbwatch: a measuring RFB viewer for tests and benchmarks. It
 * connects to any RFB 3.8 server with security None (ours, or x11vnc as
 * the anchor), asks for 32-bit pixels in the given encodings, keeps an
 * incremental update request outstanding and decodes everything with
 * common/rfbdec.c. Then:
 *
 *   qh-rfbwatch HOST:PORT fps [--seconds S] [--encodings LIST]
 *       updates that changed the picture per second while the screen moves
 *   qh-rfbwatch HOST:PORT latency [--count N] [--encodings LIST]
 *       from a key press (an 'x', then a BackSpace) to the first update
 *       that changes the picture: p50 and p99 in milliseconds
 *
 * LIST is a comma-separated list of raw, copyrect, zrle, tight, cursor
 * (default zrle,copyrect,cursor). Prints one line of results.
 */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "qh/buf.h"
#include "qh/err.h"
#include "qh/rfbdec.h"
#include "qh/rfbproto.h"

#define MAX_PIXELS (8192 * 8192)
#define LAT_MAX	   1000

struct viewer {
	int fd;
	struct qh_buf in;
	struct qh_rfbdec *dec;
	uint64_t bytes, updates, changes;
	uint64_t hash; /* of the picture after the last update */
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "qh-rfbwatch: %s\n", what);
	exit(1);
}

static void
send_all(struct viewer *v, const void *p, size_t n)
{
	if (send(v->fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		die("the server closed the connection");
}

/* Reads what the socket has within ms into the input; 0 on timeout. */
static int
receive(struct viewer *v, int ms)
{
	struct pollfd pfd = { v->fd, POLLIN, 0 };
	uint8_t *d;
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (qh_buf_reserve(&v->in, 1 << 20, &d) != 0)
		die("input buffer full");
	n = recv(v->fd, d, 1 << 20, 0);
	qh_buf_unreserve(&v->in, n > 0 ? (1 << 20) - (size_t)n : 1 << 20);
	if (n <= 0)
		die("the server closed the connection");
	v->bytes += (uint64_t)n;
	return 1;
}

/* Reads exactly n bytes of the handshake into the decoder's input. */
static void
receive_n(struct viewer *v, size_t n)
{
	while (qh_buf_len(&v->in) < n)
		if (!receive(v, 10000))
			die("the server stopped answering in the handshake");
}

static void
request(struct viewer *v, int incremental)
{
	const uint32_t *fb;
	uint8_t m[10] = { QH_RFB_C_UPDATEREQUEST, (uint8_t)incremental, 0, 0, 0, 0 };
	int w, h;

	fb = qh_rfbdec_frame(v->dec, &w, &h);
	(void)fb;
	m[6] = (uint8_t)(w >> 8), m[7] = (uint8_t)w, m[8] = (uint8_t)(h >> 8);
	m[9] = (uint8_t)h;
	send_all(v, m, sizeof(m));
}

static uint64_t
picture_hash(struct viewer *v)
{
	const uint32_t *fb;
	uint64_t h = 1469598103934665603ULL;
	int w, h2, i;

	if ((fb = qh_rfbdec_frame(v->dec, &w, &h2)) == NULL)
		return 0;
	for (i = 0; i < w * h2; i++)
		h = (h ^ fb[i]) * 1099511628211ULL;
	return h;
}

/*
 * Decodes what arrived; for each whole update, asks for the next one and
 * counts it as a change if the picture changed. Returns the number of
 * updates that changed it.
 */
static int
pump(struct viewer *v, int ms)
{
	uint64_t before = qh_rfbdec_updates(v->dec), hash;
	int changed = 0;

	if (!receive(v, ms))
		return 0;
	if (qh_rfbdec_feed(v->dec, &v->in) != 0) {
		fprintf(stderr, "qh-rfbwatch: %s\n", qh_rfbdec_why(v->dec));
		exit(1);
	}
	if (qh_rfbdec_updates(v->dec) > before) {
		v->updates += qh_rfbdec_updates(v->dec) - before;
		request(v, 1);
		if ((hash = picture_hash(v)) != v->hash) {
			v->hash = hash;
			v->changes++;
			changed = 1;
		}
	}
	return changed;
}

static int32_t
encoding(const char *name)
{
	static const struct {
		const char *name;
		int32_t e;
	} t[] = { { "raw", QH_RFB_ENC_RAW }, { "copyrect", QH_RFB_ENC_COPYRECT },
		{ "zrle", QH_RFB_ENC_ZRLE }, { "tight", QH_RFB_ENC_TIGHT },
		{ "cursor", QH_RFB_ENC_CURSOR }, { "jpeg", QH_RFB_ENC_QUALITY0 + 6 } };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].e;
	die("unknown encoding");
	return 0;
}

/* Connects, shakes hands and asks for the first whole picture. */
static void
start(struct viewer *v, const char *addr, char *encs)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct qh_buf m;
	struct qh_rfb_pf pf;
	char host[256], *port, *e;
	uint8_t n;
	int count = 0;

	snprintf(host, sizeof(host), "%s", addr);
	if ((port = strrchr(host, ':')) == NULL)
		die("HOST:PORT expected");
	*port++ = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0 ||
	    (v->fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0 ||
	    connect(v->fd, ai->ai_addr, ai->ai_addrlen) != 0)
		die("cannot connect");
	freeaddrinfo(ai);
	qh_buf_init(&v->in, 64 * 1024 * 1024);
	if (qh_rfbdec_new(&v->dec, MAX_PIXELS) != 0)
		die("out of memory");
	/* The decoder reads the server's side; we answer as each step arrives. */
	receive_n(v, QH_RFB_VERSION_LEN);
	send_all(v, "RFB 003.008\n", QH_RFB_VERSION_LEN);
	receive_n(v, QH_RFB_VERSION_LEN + 1);
	(void)qh_buf_peek_u8(&v->in, QH_RFB_VERSION_LEN, &n);
	receive_n(v, QH_RFB_VERSION_LEN + 1 + n);
	send_all(v, "\x01", 1);
	receive_n(v, QH_RFB_VERSION_LEN + 1 + n + 4);
	send_all(v, "\x01", 1);
	qh_buf_init(&m, 4096);
	qh_rfb_pf_native(&pf);
	(void)qh_buf_put(&m, "\0\0\0\0", 4);
	(void)qh_rfb_pf_put(&m, &pf);
	(void)qh_buf_put_u8(&m, QH_RFB_C_SETENCODINGS);
	(void)qh_buf_put_u8(&m, 0);
	for (e = encs; e != NULL; e = strchr(e + 1, ','))
		count++;
	(void)qh_buf_put_u16(&m, (uint16_t)count);
	for (e = strtok(encs, ","); e != NULL; e = strtok(NULL, ","))
		(void)qh_buf_put_u32(&m, (uint32_t)encoding(e));
	send_all(v, qh_buf_ptr(&m), qh_buf_len(&m));
	qh_buf_release(&m);
	while (qh_rfbdec_frame(v->dec, &(int){ 0 }, &(int){ 0 }) == NULL) {
		if (!receive(v, 10000))
			die("no ServerInit");
		if (qh_rfbdec_feed(v->dec, &v->in) != 0)
			die(qh_rfbdec_why(v->dec));
	}
	request(v, 0);
	while (qh_rfbdec_updates(v->dec) == 0)
		(void)pump(v, 10000);
	v->hash = picture_hash(v);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
key(struct viewer *v, uint32_t sym)
{
	uint8_t m[8] = { QH_RFB_C_KEYEVENT, 1, 0, 0, (uint8_t)(sym >> 24),
		(uint8_t)(sym >> 16), (uint8_t)(sym >> 8), (uint8_t)sym };

	send_all(v, m, sizeof(m));
	m[1] = 0;
	send_all(v, m, sizeof(m));
}

int
main(int argc, char **argv)
{
	char encs[256] = "zrle,copyrect,cursor";
	double secs = 5, t0, lat[LAT_MAX];
	int count = 20, i, n = 0;
	struct viewer v = { 0 };

	for (i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			secs = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0)
			count = atoi(argv[i + 1]) < LAT_MAX ? atoi(argv[i + 1]) : LAT_MAX;
		else if (strcmp(argv[i], "--encodings") == 0)
			snprintf(encs, sizeof(encs), "%s", argv[i + 1]);
	}
	if (argc < 3 ||
	    (strcmp(argv[2], "fps") != 0 && strcmp(argv[2], "latency") != 0)) {
		fprintf(stderr,
		    "usage: qh-rfbwatch HOST:PORT fps|latency [--seconds S] "
		    "[--count N] [--encodings LIST]\n");
		return 2;
	}
	start(&v, argv[1], encs);
	if (strcmp(argv[2], "fps") == 0) {
		v.changes = 0;
		v.bytes = 0;
		t0 = now_ms();
		while (now_ms() - t0 < secs * 1000)
			(void)pump(&v, 100);
		secs = (now_ms() - t0) / 1000;
		printf("fps %.1f (%llu changed frames in %.1f s), %.1f Mbit/s\n",
		    v.changes / secs, (unsigned long long)v.changes, secs,
		    v.bytes * 8 / secs / 1e6);
		return 0;
	}
	for (i = 0; i < 2 * count; i++) {
		/* Let the screen settle, then time one key. */
		while (pump(&v, 300))
			;
		t0 = now_ms();
		key(&v, i % 2 == 0 ? 'x' : 0xff08);
		while (!pump(&v, 2000))
			if (now_ms() - t0 > 5000)
				die("no change on the screen after a key: is input "
				    "allowed?");
		if (i % 2 == 0)
			lat[n++] = now_ms() - t0;
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	printf("key to pixels p50 %.1f ms, p99 %.1f ms (%d keys)\n", lat[n / 2],
	    lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], n);
	return 0;
}
