/*
 * Limits per source address: the address keys, the table of recent failed
 * joins (a fixed LIMIT_FAIL_BYTES, so rotating sources cannot grow it nor
 * push a throttled address out of a small one) and the count of
 * connections each address holds. See limit.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "limit.h"

#define V4_TAG ((uint64_t)0xffff << 32) /* IPv4 keys: ::ffff:a.b.c.d's /64 bits */

static uint64_t
v4_key(const uint8_t a[4])
{
	return V4_TAG | (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 |
	    (uint64_t)a[2] << 8 | a[3];
}

/* An IPv6 address's /64, or its IPv4 when it is v4-mapped. */
static uint64_t
v6_key(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint64_t k = 0;
	int i;

	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return v4_key(a + 12);
	for (i = 0; i < 8; i++)
		k = k << 8 | a[i];
	return k;
}

uint64_t
limit_key_sockaddr(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_key(
		    (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return v6_key(
		    (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

uint64_t
limit_key_text(const char *addr_port)
{
	char ip[64];
	const char *colon = strrchr(addr_port, ':'), *p = addr_port;
	size_t n = colon != NULL ? (size_t)(colon - addr_port) : strlen(addr_port);
	uint8_t a[16];

	if (n > 0 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n >= sizeof(ip))
		return 0;
	memcpy(ip, p, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1)
		return v4_key(a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return v6_key(a);
	return 0;
}

/* A keyed mix (splitmix64's finaliser), so sources cannot aim at one slot. */
static uint64_t
mix(uint64_t k)
{
	static uint64_t seed;

	if (seed == 0)
		seed = ((uint64_t)arc4random() << 32 | arc4random()) | 1;
	k ^= seed;
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
	return k ^ (k >> 31);
}

/* Failed joins. */

/* One address's recent failures: 16 bytes, so the table holds 65,536. */
struct fail {
	uint64_t key;
	uint32_t last_s; /* monotonic seconds of the last failure */
	uint16_t fails;
	uint16_t used;
};

#define FAIL_SLOTS  (LIMIT_FAIL_BYTES / sizeof(struct fail))
#define FAIL_WINDOW 16 /* slots an address may live in, from its hash */

static_assert((FAIL_SLOTS & (FAIL_SLOTS - 1)) == 0, "a power of two");

static struct fail fails[FAIL_SLOTS];
static struct fail overflow; /* the sources that found no room, together */

static uint32_t
now_s(void)
{
	return (uint32_t)(qh_clock_mono_ms() / 1000);
}

static int
stale(const struct fail *f, uint32_t now)
{
	return !f->used || now - f->last_s > LIMIT_FAIL_FORGET_S;
}

/*
 * The entry of key: found, or made in a free or stale slot of its window
 * (NULL instead unless create), or the overflow when the window is full.
 */
static struct fail *
fail_entry(uint64_t key, int create)
{
	uint64_t h = mix(key);
	uint32_t now = now_s();
	struct fail *f, *room = NULL;
	size_t i;

	for (i = 0; i < FAIL_WINDOW; i++) {
		f = &fails[(h + i) & (FAIL_SLOTS - 1)];
		if (f->used && f->key == key) {
			if (stale(f, now))
				f->fails = 0;
			return f;
		}
		if (room == NULL && stale(f, now))
			room = f;
	}
	if (room == NULL) {
		/* Every slot of the window failed recently: the table is full here. */
		if (stale(&overflow, now)) {
			overflow.used = 1;
			overflow.fails = 0;
			overflow.last_s = now;
		}
		return &overflow;
	}
	if (!create)
		return NULL;
	room->key = key;
	room->used = 1;
	room->fails = 0;
	room->last_s = now;
	return room;
}

uint64_t
limit_fail_delay_ms(uint64_t key)
{
	struct fail *f = fail_entry(key, 0);
	uint64_t ms = 1000;
	int n;

	if (f == NULL || f->fails < LIMIT_FAIL_FREE)
		return 0;
	for (n = LIMIT_FAIL_FREE; n < f->fails && ms < LIMIT_FAIL_MAX_MS; n++)
		ms *= 2;
	return ms < LIMIT_FAIL_MAX_MS ? ms : LIMIT_FAIL_MAX_MS;
}

void
limit_fail(uint64_t key)
{
	struct fail *f = fail_entry(key, 1);

	if (f->fails < UINT16_MAX)
		f->fails++;
	f->last_s = now_s();
}

size_t
limit_fail_table_bytes(void)
{
	return sizeof(fails);
}

/* Connections held per key: open addressing, at most half full. */

struct limit_counts {
	size_t mask; /* slots - 1 */
	size_t max, keys;
	struct count {
		uint64_t key;
		unsigned n; /* 0: a free slot */
	} slot[];
};

struct limit_counts *
limit_counts_new(size_t max)
{
	struct limit_counts *c;
	size_t slots = 16;

	while (slots < 2 * max)
		slots *= 2;
	if ((c = calloc(1, sizeof(*c) + slots * sizeof(c->slot[0]))) == NULL)
		return NULL;
	c->mask = slots - 1;
	c->max = max;
	return c;
}

void
limit_counts_free(struct limit_counts *c)
{
	free(c);
}

/* The slot of key, or the free slot where it would go. */
static struct count *
count_slot(const struct limit_counts *c, uint64_t key)
{
	size_t i = mix(key) & c->mask;

	while (c->slot[i].n != 0 && c->slot[i].key != key)
		i = (i + 1) & c->mask;
	return (struct count *)&c->slot[i];
}

unsigned
limit_count(const struct limit_counts *c, uint64_t key)
{
	return count_slot(c, key)->n;
}

int
limit_count_add(struct limit_counts *c, uint64_t key)
{
	struct count *s = count_slot(c, key);

	if (s->n == 0) {
		if (c->keys == c->max)
			return -1;
		c->keys++;
		s->key = key;
	}
	s->n++;
	return 0;
}

void
limit_count_del(struct limit_counts *c, uint64_t key)
{
	struct count *s = count_slot(c, key);
	size_t i, j, home;

	assert(s->n > 0);
	if (--s->n > 0)
		return;
	c->keys--;
	/* Backward-shift deletion: later keys of the run move into the hole. */
	i = (size_t)(s - c->slot);
	for (j = (i + 1) & c->mask; c->slot[j].n != 0; j = (j + 1) & c->mask) {
		home = mix(c->slot[j].key) & c->mask;
		/* Move j to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & c->mask) >= ((j - i) & c->mask)) {
			c->slot[i] = c->slot[j];
			c->slot[j].n = 0;
			i = j;
		}
	}
}
