/*
 * Connect-time knowledge of peers, kept so that a connect costs the
 * database as little as possible (issue 16): verdicts per certificate,
 * cached while PRAGMA data_version is unchanged, and agents' last_seen
 * written in one transaction every SEEN_MS rather than one commit per
 * connect (a host that changed is written at once).
 *
 * The verdict cache is keyed by the certificate's SHA-256 fingerprint,
 * which fixes its serial, role and identity. PRAGMA data_version changes
 * whenever another process commits (a revocation by `qh-console agent
 * revoke` or `tech revoke`, say); every lookup reads it first (no disk
 * access: SQLite compares a counter) and drops the whole cache when it
 * moved, so a revoked certificate is refused by the very next connect or
 * resumption, and serve's watch rechecks the connected peers as before.
 */
#include <stdlib.h>
#include <string.h>

#include "qh/clock.h"
#include "qh/err.h"
#include "qh/log.h"
#include "presence.h"

#define BUCKETS	 4096 /* verdict chains; a power of two */
#define SEEN_MS	 2000 /* last_seen is written this long after a connect */
#define SEEN_MAX 4096 /* a batch this large is written at once */

struct verdict {
	char fingerprint[65];
	unsigned current : 1; /* the database's answer */
	unsigned spent : 1;   /* agents: the join token is known spent */
	char *name;	      /* technicians' display name, or NULL */
	struct verdict *next;
};

struct presence {
	struct verdict *buckets[BUCKETS];
	int64_t version; /* data_version the verdicts hold for */
	int have_version;
	struct db_seen *seen; /* pending last_seen records */
	size_t nseen, seen_alloc;
	uv_timer_t flush;
	struct server *srv;
};

static void
verdicts_clear(struct presence *pr)
{
	struct verdict *v, *next;
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		for (v = pr->buckets[i]; v != NULL; v = next) {
			next = v->next;
			free(v->name);
			free(v);
		}
		pr->buckets[i] = NULL;
	}
}

/* Drops every verdict if another process committed since they were made. */
static void
sync_version(struct presence *pr)
{
	int64_t v;

	if (db_data_version(pr->srv->db, &v) != 0) {
		verdicts_clear(pr); /* cannot tell: trust nothing cached */
		pr->have_version = 0;
		return;
	}
	if (!pr->have_version || v != pr->version) {
		verdicts_clear(pr);
		pr->version = v;
		pr->have_version = 1;
	}
}

static size_t
bucket_of(const char *fingerprint)
{
	/* The fingerprint is a SHA-256 in hex: its first digits are uniform. */
	return (size_t)strtoul((char[]){ fingerprint[0], fingerprint[1], fingerprint[2],
				   0 },
		   NULL, 16) %
	    BUCKETS;
}

static struct verdict *
verdict_find(struct presence *pr, const char *fingerprint)
{
	struct verdict *v;

	for (v = pr->buckets[bucket_of(fingerprint)]; v != NULL; v = v->next)
		if (strcmp(v->fingerprint, fingerprint) == 0)
			return v;
	return NULL;
}

/* Asks the database; NULL-safe for the cache (a verdict that cannot be kept). */
static int
ask_db(struct server *srv, const struct qh_identity *id, char *name, size_t namelen)
{
	switch (id->role) {
	case QH_ROLE_TECHNICIAN:
	case QH_ROLE_ACCOUNTING:
		return db_tech_cert_current(srv->db, id->id, qh_role_name(id->role),
		    id->serial, name, namelen);
	case QH_ROLE_AGENT:
		return db_agent_cert_current(srv->db, id->agent_id, id->id, id->serial);
	default:
		return 0;
	}
}

int
presence_current(struct server *srv, const struct qh_identity *id, char *name,
    size_t namelen)
{
	struct presence *pr = srv->presence;
	struct verdict *v;
	char who[DAEMON_NAME_MAX + 1] = "";
	int ok;

	if (pr == NULL || id->fingerprint[0] == '\0')
		return ask_db(srv, id, name, namelen);
	sync_version(pr);
	if ((v = verdict_find(pr, id->fingerprint)) == NULL) {
		ok = ask_db(srv, id, who, sizeof(who));
		if ((v = calloc(1, sizeof(*v))) == NULL) {
			snprintf(name, namelen, "%s", who);
			return ok;
		}
		memcpy(v->fingerprint, id->fingerprint, sizeof(v->fingerprint));
		v->fingerprint[sizeof(v->fingerprint) - 1] = '\0';
		v->current = ok != 0;
		if (who[0] != '\0')
			v->name = strdup(who);
		v->next = pr->buckets[bucket_of(v->fingerprint)];
		pr->buckets[bucket_of(v->fingerprint)] = v;
	}
	if (v->name != NULL)
		snprintf(name, namelen, "%s", v->name);
	return v->current;
}

void
presence_forget(struct server *srv)
{
	if (srv->presence != NULL)
		verdicts_clear(srv->presence);
}

int
presence_token_spend(struct server *srv, const struct qh_identity *id)
{
	struct presence *pr = srv->presence;
	struct verdict *v = NULL;
	int r;

	if (pr != NULL && (v = verdict_find(pr, id->fingerprint)) != NULL && v->spent)
		return 0;
	if ((r = db_token_spend(srv->db, id->agent_id)) >= 0 && v != NULL)
		v->spent = 1; /* spent now or before: never unspent again */
	return r;
}

/* Writes the pending last_seen records in one transaction. */
static void
seen_write(struct presence *pr)
{
	if (pr->nseen == 0)
		return;
	if (db_agents_seen(pr->srv->db, pr->seen, pr->nseen) != 0)
		qh_warn("last_seen of %zu agents not recorded", pr->nseen);
	pr->nseen = 0;
}

static void
on_flush(uv_timer_t *t)
{
	seen_write(t->data);
}

void
presence_seen(struct server *srv, const char *agent_id, const char *host)
{
	struct presence *pr = srv->presence;
	struct db_seen *s;

	/*
	 * A host that changed (a PC renamed, or its first run after the join)
	 * is written at once, so the list of agents names it; only the time
	 * of a connect from the known host waits for the batch.
	 */
	if (pr == NULL ||
	    !db_agent_host_is(srv->db, agent_id, host != NULL ? host : "")) {
		struct db_seen one;

		snprintf(one.agent_id, sizeof(one.agent_id), "%s", agent_id);
		snprintf(one.host, sizeof(one.host), "%s", host != NULL ? host : "");
		one.at = qh_clock_now();
		(void)db_agents_seen(srv->db, &one, 1);
		return;
	}
	if (pr->nseen == pr->seen_alloc) {
		size_t n = pr->seen_alloc ? pr->seen_alloc * 2 : 64;

		if (n <= SEEN_MAX && (s = realloc(pr->seen, n * sizeof(*s))) != NULL) {
			pr->seen = s;
			pr->seen_alloc = n;
		} else
			seen_write(pr); /* full: this batch goes now */
		if (pr->seen_alloc == 0) {
			srv->presence = NULL; /* no memory for a batch: write this one */
			presence_seen(srv, agent_id, host);
			srv->presence = pr;
			return;
		}
	}
	s = &pr->seen[pr->nseen++];
	snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent_id);
	snprintf(s->host, sizeof(s->host), "%s", host != NULL ? host : "");
	s->at = qh_clock_now();
	if (!uv_is_active((uv_handle_t *)&pr->flush))
		uv_timer_start(&pr->flush, on_flush, SEEN_MS, 0);
}

int
presence_init(struct server *srv)
{
	struct presence *pr;

	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return QH_ERR_NOMEM;
	pr->srv = srv;
	uv_timer_init(srv->loop, &pr->flush);
	pr->flush.data = pr;
	srv->presence = pr;
	return 0;
}

static void
presence_closed(uv_handle_t *h)
{
	struct presence *pr = h->data;

	verdicts_clear(pr);
	free(pr->seen);
	free(pr);
}

void
presence_stop(struct server *srv)
{
	struct presence *pr = srv->presence;

	if (pr == NULL)
		return;
	seen_write(pr);
	srv->presence = NULL; /* later lookups ask the database */
	uv_close((uv_handle_t *)&pr->flush, presence_closed);
}
