/*
 * INI configuration files read through a table of keys (qh/config.h).
 *
 * libinih does the lexing; a reader of our own feeds it line by line and
 * counts lines, so every error, including one found by our handler (unknown
 * key, bad value), is reported as "FILE:LINE: reason" with the right line.
 * The first error wins and parsing stops there. A key given twice is an
 * error too, which also catches libinih's indented continuation lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "qh/cli.h"
#include "qh/compat.h"
#include "qh/config.h"
#include "qh/err.h"

#define CONFIG_MAX_BYTES (1024 * 1024) /* a config file is small */

struct config_parse {
	const char *path;
	const struct qh_config_key *keys;
	unsigned char *seen; /* per key: given already */
	void *dst;
	FILE *f;
	int line;      /* line the last chunk handed out starts on */
	int next_line; /* line the next chunk starts on */
	int err_line;  /* first error found by us, 0 if none */
	int stop;      /* reader returns EOF from now on */
	char *err;
	size_t errlen;
};

static void config_error(struct config_parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error, at line; later ones are dropped. */
static void
config_error(struct config_parse *p, int line, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (p->err_line != 0)
		return;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, reason);
}

/* fgets for libinih that counts lines and refuses lines that do not fit. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	size_t len;
	int c;

	if (p->stop || fgets(str, num, p->f) == NULL)
		return NULL;
	p->line = p->next_line;
	len = strlen(str);
	if (len > 0 && str[len - 1] == '\n') {
		p->next_line++;
		return str;
	}
	/* No newline: either the last line of the file or a line too long. */
	if ((c = fgetc(p->f)) == EOF)
		return str;
	ungetc(c, p->f);
	config_error(p, p->line, "line too long (at most %d bytes)", num - 2);
	p->stop = 1;
	return NULL;
}

static const char *bool_words[][2] = {
	{ "yes", "no" },
	{ "true", "false" },
	{ "on", "off" },
	{ "1", "0" },
};

/* Stores value into the field of key k; 0, or <0 after recording the reason. */
static int
config_set(struct config_parse *p, const struct qh_config_key *k, const char *value)
{
	char *field = (char *)p->dst + k->offset;
	long long v;
	size_t i;

	switch (k->type) {
	case QH_CONF_STRING:
		if (strlen(value) >= k->size) {
			config_error(p, p->line,
			    "value for '%s' in section [%s] is "
			    "too long",
			    k->name, k->section);
			return QH_ERR_CONFIG;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case QH_CONF_INT:
		if (qh_parse_int(value, k->min, k->max, &v) != 0) {
			config_error(p, p->line,
			    "bad value for '%s' in section [%s] "
			    "(expected an integer from %lld to %lld)",
			    k->name, k->section, k->min, k->max);
			return QH_ERR_CONFIG;
		}
		memcpy(field, &v, sizeof(v));
		return 0;
	case QH_CONF_BOOL:
		for (i = 0; i < sizeof(bool_words) / sizeof(bool_words[0]); i++) {
			if (strcasecmp(value, bool_words[i][0]) == 0 ||
			    strcasecmp(value, bool_words[i][1]) == 0) {
				int b = strcasecmp(value, bool_words[i][0]) == 0;

				memcpy(field, &b, sizeof(b));
				return 0;
			}
		}
		config_error(p, p->line,
		    "bad value for '%s' in section [%s] "
		    "(expected yes or no)",
		    k->name, k->section);
		return QH_ERR_CONFIG;
	case QH_CONF_CUSTOM:
		if (k->parse == NULL || k->parse(value, field) != 0) {
			config_error(p, p->line, "bad value for '%s' in section [%s]",
			    k->name, k->section);
			return QH_ERR_CONFIG;
		}
		return 0;
	}
	config_error(p, p->line, "key '%s' in section [%s] has no type", k->name,
	    k->section);
	return QH_ERR_INTERNAL;
}

/* libinih's handler: finds the key in the table and stores its value. */
static int
config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	const struct qh_config_key *k;
	size_t i;

	if (p->err_line != 0)
		return 0;
	for (i = 0, k = p->keys; k->name != NULL; i++, k++)
		if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
			break;
	if (k->name == NULL) {
		config_error(p, p->line, "unknown key '%s' in section [%s]", name,
		    section);
		goto fail;
	}
	if (p->seen[i]) {
		config_error(p, p->line, "key '%s' in section [%s] given twice", name,
		    section);
		goto fail;
	}
	p->seen[i] = 1;
	if (config_set(p, k, value) != 0)
		goto fail;
	return 1;
fail:
	p->stop = 1;
	return 0;
}

/* Opens path for reading, refusing anything but a regular file of sane size. */
static int
config_open(const char *path, FILE **fp, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not hang. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			snprintf(err, errlen, "%s: No such file", path);
			return QH_ERR_NOT_FOUND;
		}
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return QH_ERR_CONFIG;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return QH_ERR_CONFIG;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a configuration file",
		    path);
		close(fd);
		return QH_ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return QH_ERR_CONFIG;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
		close(fd);
		return QH_ERR_CONFIG;
	}
	if ((*fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return QH_ERR_CONFIG;
	}
	return 0;
}

/* Parses path with libinih through the key table; the first error is reported. */
int
qh_config_read(const char *path, const struct qh_config_key *keys, void *dst, char *err,
    size_t errlen)
{
	struct config_parse p;
	size_t nkeys = 0;
	int r, rc;

	memset(&p, 0, sizeof(p));
	if (errlen > 0)
		err[0] = '\0';
	if ((r = config_open(path, &p.f, err, errlen)) != 0)
		return r;
	while (keys[nkeys].name != NULL)
		nkeys++;
	if ((p.seen = calloc(nkeys + 1, 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = QH_ERR_NOMEM;
		goto out;
	}
	p.path = path;
	p.keys = keys;
	p.dst = dst;
	p.line = 0;
	p.next_line = 1;
	p.err = err;
	p.errlen = errlen;

	rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	if (ferror(p.f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		r = QH_ERR_CONFIG;
		goto out;
	}
	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = QH_ERR_NOMEM;
		goto out;
	}
	/* libinih returns the first bad line; ours may come later or not at all. */
	if (rc > 0 && (p.err_line == 0 || rc < p.err_line)) {
		p.err_line = 0;
		config_error(&p, rc,
		    "syntax error (expected [section] or "
		    "key = value)");
	}
	r = p.err_line != 0 || rc != 0 ? QH_ERR_CONFIG : 0;
out:
	free(p.seen);
	if (p.f != NULL)
		fclose(p.f);
	return r;
}
