/*
 * The queue's index (queue_int.h): entries by code and by resume token in
 * hash chains, so that a connect or a technician's request finds its entry
 * without walking ten thousand of them.
 */
#include <stdint.h>
#include <string.h>

#include "queue_int.h"

static size_t
index_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h % INDEX_BUCKETS;
}

void
queue_index_add(struct server *srv, struct entry *e)
{
	struct queue_index *ix = srv->queue_index;
	size_t c = index_hash(e->code), r = index_hash(e->resume);

	e->code_next = ix->by_code[c];
	ix->by_code[c] = e;
	e->resume_next = ix->by_resume[r];
	ix->by_resume[r] = e;
}

void
queue_index_del(struct server *srv, struct entry *e)
{
	struct queue_index *ix = srv->queue_index;
	struct entry **pp;

	for (pp = &ix->by_code[index_hash(e->code)]; *pp != NULL; pp = &(*pp)->code_next)
		if (*pp == e) {
			*pp = e->code_next;
			break;
		}
	for (pp = &ix->by_resume[index_hash(e->resume)]; *pp != NULL;
	     pp = &(*pp)->resume_next)
		if (*pp == e) {
			*pp = e->resume_next;
			break;
		}
}

struct entry *
queue_index_code(struct server *srv, const char *code)
{
	struct entry *e;

	if (srv->queue_index == NULL)
		return NULL;
	for (e = srv->queue_index->by_code[index_hash(code)]; e != NULL; e = e->code_next)
		if (!e->closing && strcmp(e->code, code) == 0)
			return e;
	return NULL;
}

struct entry *
queue_index_resume(struct server *srv, const char *resume, const char *agent_id)
{
	struct entry *e;

	if (srv->queue_index == NULL)
		return NULL;
	for (e = srv->queue_index->by_resume[index_hash(resume)]; e != NULL;
	     e = e->resume_next)
		if (!e->closing && strcmp(e->resume, resume) == 0 &&
		    strcmp(e->agent_id, agent_id) == 0)
			return e;
	return NULL;
}
