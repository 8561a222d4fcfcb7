/*
 * Unit tests for common/config.c and console/conf.c: a good file fills
 * the struct, and every kind of mistake is reported as "FILE:LINE: reason"
 * with the line the user has to fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "qh/compat.h"
#include "qh/config.h"
#include "qh/err.h"
#include "qh/log.h"
#include "store/store.h"

struct sample {
	char name[16];
	long long count;
	int enabled;
	int custom;
};

/* Accepts only "red" or "green" and stores 1 or 2. */
static int
parse_colour(const char *value, void *field)
{
	int v;

	if (strcmp(value, "red") == 0)
		v = 1;
	else if (strcmp(value, "green") == 0)
		v = 2;
	else
		return -1;
	memcpy(field, &v, sizeof(v));
	return 0;
}

static const struct qh_config_key keys[] = {
	{ .section = "main",
	    .name = "name",
	    .type = QH_CONF_STRING,
	    .offset = offsetof(struct sample, name),
	    .size = 16 },
	{ .section = "main",
	    .name = "count",
	    .type = QH_CONF_INT,
	    .offset = offsetof(struct sample, count),
	    .min = 1,
	    .max = 100 },
	{ .section = "opt",
	    .name = "enabled",
	    .type = QH_CONF_BOOL,
	    .offset = offsetof(struct sample, enabled) },
	{ .section = "opt",
	    .name = "colour",
	    .type = QH_CONF_CUSTOM,
	    .offset = offsetof(struct sample, custom),
	    .parse = parse_colour },
	{ .name = NULL },
};

static char dir[64];
static char path[128];

static int
setup(void **state QH_UNUSED)
{
	snprintf(dir, sizeof(dir), "/tmp/qh-test-config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	return 0;
}

static int
teardown(void **state QH_UNUSED)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Reads text as a config file and returns the result; err gets the message. */
static int
read_text(const char *text, struct sample *s, char *err, size_t errlen)
{
	write_file(path, text);
	memset(s, 0, sizeof(*s));
	return qh_config_read(path, keys, s, err, errlen);
}

/* Asserts that err is "PATH:line: ..." and contains what. */
static void
assert_error_at(const char *err, int line, const char *what)
{
	char prefix[192];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, what) == NULL)
		fail_msg("expected \"%s...%s\", got \"%s\"", prefix, what, err);
}

static void
test_good(void **state QH_UNUSED)
{
	struct sample s;
	char err[256];

	assert_int_equal(read_text("# comment\n"
				   "; another\n"
				   "[main]\n"
				   "name = hello world\n"
				   "count=42\n"
				   "\n"
				   "[opt]\n"
				   "enabled = yes\n"
				   "colour = green\n",
			     &s, err, sizeof(err)),
	    0);
	assert_string_equal(err, "");
	assert_string_equal(s.name, "hello world");
	assert_int_equal(s.count, 42);
	assert_int_equal(s.enabled, 1);
	assert_int_equal(s.custom, 2);

	/* Keys may be missing: the struct keeps its defaults. */
	assert_int_equal(read_text("[opt]\nenabled = false\n", &s, err, sizeof(err)), 0);
	assert_int_equal(s.enabled, 0);
	assert_int_equal(s.count, 0);
	/* An empty file is fine. */
	assert_int_equal(read_text("", &s, err, sizeof(err)), 0);
}

static void
test_unknown_key(void **state QH_UNUSED)
{
	struct sample s;
	char err[256];

	assert_int_equal(read_text("[main]\nname = x\n\nbogus = 1\ncount = 2\n", &s, err,
			     sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 4, "unknown key 'bogus' in section [main]");
	/* The right key in the wrong section. */
	assert_int_equal(read_text("[opt]\n# x\ncount = 2\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 3, "unknown key 'count' in section [opt]");
}

static void
test_bad_values(void **state QH_UNUSED)
{
	struct sample s;
	char err[256];

	assert_int_equal(read_text("[main]\ncount = abc\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "bad value for 'count' in section [main]");
	assert_int_equal(read_text("[main]\n\n\ncount = 101\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 4, "from 1 to 100");
	assert_int_equal(read_text("[main]\ncount = 5x\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "'count'");
	assert_int_equal(read_text("[main]\ncount =\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "'count'");
	assert_int_equal(read_text("[opt]\nenabled = maybe\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "bad value for 'enabled'");
	assert_int_equal(read_text("[opt]\ncolour = blue\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "bad value for 'colour'");
	assert_int_equal(read_text("[main]\nname = 0123456789abcdef\n", &s, err,
			     sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "too long");
	assert_int_equal(read_text("[main]\ncount = 1\ncount = 2\n", &s, err,
			     sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 3, "given twice");
}

static void
test_syntax(void **state QH_UNUSED)
{
	struct sample s;
	char err[256], text[600];

	assert_int_equal(read_text("[main]\ncount = 1\ngarbage line without equals\n", &s,
			     err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 3, "syntax error");
	/* The first error counts, whichever kind it is. */
	assert_int_equal(read_text("[main]\nnonsense\nbogus = 1\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "syntax error");
	assert_int_equal(read_text("[main]\nbogus = 1\nnonsense\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 2, "unknown key");
	assert_int_equal(read_text("[main\ncount = 1\n", &s, err, sizeof(err)),
	    QH_ERR_CONFIG);
	assert_error_at(err, 1, "syntax error");
	/* Without a final newline. */
	assert_int_equal(read_text("[main]\ncount = 7", &s, err, sizeof(err)), 0);
	assert_int_equal(s.count, 7);
	/* A line too long for the parser is an error, not two lines. */
	memset(text, 'x', sizeof(text));
	memcpy(text, "[main]\nname = ", 14);
	memcpy(text + 500, "\ncount = 1\n", 12);
	assert_int_equal(read_text(text, &s, err, sizeof(err)), QH_ERR_CONFIG);
	assert_error_at(err, 2, "too long");
}

static void
test_files(void **state QH_UNUSED)
{
	struct sample s;
	char err[256], p[160];

	snprintf(p, sizeof(p), "%s/missing.conf", dir);
	assert_int_equal(qh_config_read(p, keys, &s, err, sizeof(err)), QH_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "missing.conf: No such file"));
	/* A directory cannot be read as a file (and tests may run as root). */
	assert_int_equal(qh_config_read(dir, keys, &s, err, sizeof(err)), QH_ERR_CONFIG);
	assert_non_null(strstr(err, "directory"));
	/* Neither can a FIFO, and it must not block. */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(qh_config_read(p, keys, &s, err, sizeof(err)), QH_ERR_CONFIG);
	assert_non_null(strstr(err, "not a regular file"));
}

static void
test_console_conf(void **state QH_UNUSED)
{
	struct console_conf conf;
	char p[160];
	FILE *f;

	assert_int_equal(conf_write_new(dir, "console.test", "0.0.0.0:9443"), 0);
	assert_int_equal(conf_write_new(dir, "console.test", "0.0.0.0:9443"),
	    QH_ERR_EXISTS);
	assert_int_equal(conf_load(dir, &conf), 0);
	assert_string_equal(conf.name, "console.test");
	assert_string_equal(conf.listen, "0.0.0.0:9443");
	assert_string_equal(conf.log_level, "info");
	assert_int_equal(conf.grace_seconds, 120);
	assert_int_equal(conf.idle_seconds, 1800);
	assert_int_equal(conf.keepalive_seconds, 15);
	assert_int_equal(conf.token_hours, 24);
	assert_int_equal(conf.cert_days, 90);
	assert_int_equal(conf.server_cert_days, 397);

	snprintf(p, sizeof(p), "%s/console.conf", dir);
	assert_non_null(f = fopen(p, "a"));
	fputs("[session]\ngrace = 0\n", f);
	fclose(f);
	assert_int_equal(conf_load(dir, &conf), QH_ERR_CONFIG);

	conf_defaults(&conf);
	assert_string_equal(conf.listen, "127.0.0.1:7443");
	assert_int_equal(conf_write_new(dir, "bad name", "0.0.0.0:1"), QH_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_conf, setup, teardown),
	};

	qh_log_init("test_config", QH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
