/*
 * Unit tests for console/daemon/record.c, the asciicast writer: every line
 * of a recording is JSON, and the output events together give back what
 * the shell wrote, with U+FFFD for each maximal invalid part of it and
 * nothing else lost: a lead byte followed by bytes that cannot continue it
 * ("\xe2ls") costs only the lead byte; sequences split across chunks are
 * joined; surrogates, overlong forms and values past U+10FFFF are refused
 * byte by byte where Unicode says so. Long output, even all control bytes
 * (six bytes each once escaped), becomes several events, none over the
 * line bound and none dropped.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/jsonread.h"
#include "daemon/record.h"

#define LINE_MAX_BYTES (256 * 1024) /* CAST_LINE_MAX */

struct cast {
	char dir[64];
	char path[256];
	struct qh_buf text; /* the output events' text, joined */
	int events;
	size_t longest; /* longest line */
};

static void
cast_open(struct cast *c, struct recording **recp)
{
	char sub[128];

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/qh-test-record.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(sub, sizeof(sub), "%s/recordings", c->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	*recp = recording_open(c->dir, 7, 42, "attach", "alice", "Alice", 80, 24, "xterm",
	    NULL, 0);
	assert_non_null(*recp);
	snprintf(c->path, sizeof(c->path), "%s/recordings/7/42-attach.cast", c->dir);
	qh_buf_init(&c->text, 64 * 1024 * 1024);
}

/* Reads the file back: the header, then each event's text appended to c->text. */
static void
cast_read(struct cast *c)
{
	FILE *f = fopen(c->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int first = 1;

	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct qh_json_doc *doc = NULL;
		const struct qh_json_node *root, *e;

		if ((size_t)n > c->longest)
			c->longest = (size_t)n;
		assert_int_equal(qh_json_parse(line, (size_t)n, &doc), 0);
		root = qh_json_root(doc);
		if (first) {
			assert_int_equal(root->type, QH_JSON_OBJECT);
			first = 0;
		} else {
			assert_int_equal(root->type, QH_JSON_ARRAY);
			assert_int_equal(root->count, 3);
			e = root->child->next;
			assert_int_equal(e->type, QH_JSON_STRING);
			if (strcmp(e->str, "o") == 0) {
				e = e->next;
				assert_int_equal(e->type, QH_JSON_STRING);
				assert_int_equal(qh_buf_put(&c->text, e->str,
						     strlen(e->str)),
				    0);
				c->events++;
			}
		}
		qh_json_free(doc);
	}
	free(line);
	fclose(f);
}

static void
cast_remove(struct cast *c)
{
	char sub[160];

	unlink(c->path);
	snprintf(sub, sizeof(sub), "%s/recordings/7", c->dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/recordings", c->dir);
	rmdir(sub);
	rmdir(c->dir);
	qh_buf_release(&c->text);
}

/* Records the chunks (NULL-terminated, lengths in lens) and compares the text. */
static void
expect_text(const char *const *chunks, const size_t *lens, const char *want)
{
	struct recording *rec;
	struct cast c;
	int i;

	cast_open(&c, &rec);
	for (i = 0; chunks[i] != NULL; i++)
		recording_output(rec, (const uint8_t *)chunks[i], lens[i]);
	recording_close(rec);
	cast_read(&c);
	if (qh_buf_len(&c.text) != strlen(want) ||
	    memcmp(qh_buf_ptr(&c.text), want, strlen(want)) != 0)
		fail_msg("recorded \"%.*s\", want \"%s\"", (int)qh_buf_len(&c.text),
		    (const char *)qh_buf_ptr(&c.text), want);
	cast_remove(&c);
}

static void
expect_one(const char *in, size_t len, const char *want)
{
	const char *chunks[2] = { in, NULL };
	size_t lens[1] = { len };

	expect_text(chunks, lens, want);
}

#define FFFD "\xef\xbf\xbd"

/* An invalid lead byte's sequence ends at the first byte that cannot continue it. */
static void
test_invalid_lead_keeps_the_rest(void **state QH_UNUSED)
{
	expect_one("\xe2ls", 3, FFFD "ls");
	expect_one("\xe2\x82ls\n", 5, FFFD "ls\n");
	expect_one("\xf0\x9f\x98ok", 5, FFFD "ok");
	expect_one("a\xc3(b", 4, "a" FFFD "(b");
	/* A lead byte before another lead: each its own. */
	expect_one("\xe2\xe2\x82\xac", 4, FFFD "\xe2\x82\xac");
	/* Bytes that start nothing are one U+FFFD each. */
	expect_one("\x80\xbfx\xc0\xaf\xff", 6, FFFD FFFD "x" FFFD FFFD FFFD);
	/* Surrogates and overlong forms: the lead cannot take that second byte. */
	expect_one("\xed\xa0\x80z", 4, FFFD FFFD FFFD "z");
	expect_one("\xe0\x80\xafz", 4, FFFD FFFD FFFD "z");
	expect_one("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
	/* Valid text passes as it is; NUL has no place in it. */
	expect_one("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_one("a\0b", 3, "a" FFFD "b");
}

/* Sequences split across chunks are joined; a split one cut short keeps the rest. */
static void
test_split_sequences(void **state QH_UNUSED)
{
	const char *euro[] = { "x\xe2", "\x82", "\xac", NULL };
	const size_t euro_len[] = { 2, 1, 1 };
	const char *cut[] = { "\xe2\x82", "ls", NULL };
	const size_t cut_len[] = { 2, 2 };
	const char *end[] = { "ok\xf0\x9f", NULL };
	const size_t end_len[] = { 4 };

	expect_text(euro, euro_len, "x\xe2\x82\xac");
	expect_text(cut, cut_len, FFFD "ls");
	/* Unfinished at the end of the recording: one U+FFFD, not silence. */
	expect_text(end, end_len, "ok" FFFD);
}

/*
 * 1 MiB of control bytes in one chunk (6 bytes each once escaped) and 1 MiB
 * of text: several events, every line within the bound, nothing lost.
 */
static void
test_long_output_splits(void **state QH_UNUSED)
{
	struct recording *rec;
	struct cast c;
	size_t n = 1024 * 1024, i;
	uint8_t *big = malloc(n);

	assert_non_null(big);
	memset(big, 0x01, n);
	cast_open(&c, &rec);
	recording_output(rec, big, n);
	for (i = 0; i < n; i++)
		big[i] = (uint8_t)('a' + i % 26);
	recording_output(rec, big, n);
	recording_close(rec);
	cast_read(&c);
	assert_true(c.events > 2);
	assert_true(c.longest <= LINE_MAX_BYTES);
	assert_int_equal(qh_buf_len(&c.text), 2 * n);
	for (i = 0; i < n; i++)
		assert_int_equal(qh_buf_ptr(&c.text)[i], 0x01);
	assert_memory_equal(qh_buf_ptr(&c.text) + n, big, n);
	cast_remove(&c);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_lead_keeps_the_rest),
		cmocka_unit_test(test_split_sequences),
		cmocka_unit_test(test_long_output_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
