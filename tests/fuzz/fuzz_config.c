/*
 * Fuzz target for configuration files: qh_config_read (libinih underneath)
 * on the input as a file, with a table of every key type. It must either
 * accept the file or name a line in its error, and never read or write out
 * of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/config.h"
#include "qh/err.h"

struct sample {
	char name[64];
	long long n;
	int flag;
	char custom[16];
};

static int
parse_custom(const char *value, void *field)
{
	if (strlen(value) >= 16 || strchr(value, 'x') != NULL)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

static const struct qh_config_key keys[] = {
	{ .section = "a",
	    .name = "name",
	    .type = QH_CONF_STRING,
	    .offset = offsetof(struct sample, name),
	    .size = 64 },
	{ .section = "a",
	    .name = "n",
	    .type = QH_CONF_INT,
	    .offset = offsetof(struct sample, n),
	    .min = -5,
	    .max = 1000 },
	{ .section = "b",
	    .name = "flag",
	    .type = QH_CONF_BOOL,
	    .offset = offsetof(struct sample, flag) },
	{ .section = "b",
	    .name = "custom",
	    .type = QH_CONF_CUSTOM,
	    .offset = offsetof(struct sample, custom),
	    .parse = parse_custom },
	{ .name = NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct sample s;
	char err[512];
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/qh-fuzz-config.%d", (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	err[0] = '\0';
	if (qh_config_read(path, keys, &s, err, sizeof(err)) != 0) {
		if (strstr(err, path) == NULL)
			abort(); /* every error names the file */
	} else if (s.n < -5 || s.n > 1000 || memchr(s.name, '\0', sizeof(s.name)) == NULL)
		abort();
	return 0;
}
