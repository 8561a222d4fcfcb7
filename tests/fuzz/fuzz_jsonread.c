/*
 * Fuzz target for the JSON reader (qh_json_parse) and the renderer of
 * workstation facts built on it (qh_envinfo_text): both read what an agent
 * sends. What parses is a tree whose element counts match its lists,
 * whose strings are valid UTF-8 without NUL, and whose depth and size stay
 * within the bounds; what does not parse returns nothing. The renderer
 * never fails on a parsed object other than by a full output buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh/buf.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/wire.h"

/* Checked in every build, NDEBUG or not. */
#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			    #x);                                                         \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* Walks the tree; returns the number of nodes. */
static size_t
walk(const struct qh_json_node *n, int depth, int in_object)
{
	const struct qh_json_node *c;
	size_t count = 1, elems = 0;

	CHECK(depth <= QH_JSON_MAX_DEPTH + 1);
	CHECK((n->key != NULL) == in_object);
	if (n->key != NULL)
		CHECK(qh_utf8_valid((const uint8_t *)n->key, strlen(n->key)) ||
		    n->key[0] == '\0');
	switch (n->type) {
	case QH_JSON_STRING:
		CHECK(n->str != NULL);
		CHECK(n->str[0] == '\0' ||
		    qh_utf8_valid((const uint8_t *)n->str, strlen(n->str)));
		break;
	case QH_JSON_ARRAY:
	case QH_JSON_OBJECT:
		for (c = n->child; c != NULL; c = c->next) {
			elems++;
			count += walk(c, depth + 1, n->type == QH_JSON_OBJECT);
		}
		CHECK(elems == n->count);
		break;
	default:
		CHECK(n->child == NULL);
		break;
	}
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qh_json_doc *doc = NULL;
	struct qh_buf out;
	size_t nodes;
	int r;

	r = qh_json_parse(data, size, &doc);
	if (r != 0) {
		CHECK(r == QH_ERR_FORMAT || r == QH_ERR_TOO_LARGE || r == QH_ERR_NOMEM);
		CHECK(doc == NULL);
		return 0;
	}
	CHECK(doc != NULL);
	nodes = walk(qh_json_root(doc), 0, 0);
	CHECK(nodes <= QH_JSON_MAX_NODES);
	CHECK(nodes <= size);
	qh_json_free(doc);

	qh_buf_init(&out, 1024 * 1024);
	r = qh_envinfo_text(data, size, &out);
	CHECK(r == 0 || r == QH_ERR_FORMAT || r == QH_ERR_TOO_LARGE);
	CHECK(qh_buf_len(&out) <= 1024 * 1024);
	qh_buf_release(&out);
	return 0;
}
