/*
 * INI configuration files, read with libinih through a table of keys: each
 * key names its section, its type and where its value goes. Unknown keys,
 * bad values and syntax errors are reported with file and line.
 */
#ifndef QH_CONFIG_H
#define QH_CONFIG_H

#include <stddef.h>

enum qh_config_type {
	QH_CONF_STRING, /* char[size] at offset */
	QH_CONF_INT,	/* long long at offset, within [min, max] */
	QH_CONF_BOOL,	/* int at offset: yes/no/true/false/1/0 */
	QH_CONF_CUSTOM, /* parse(value, dst + offset) decides */
};

struct qh_config_key {
	const char *section;
	const char *name;
	enum qh_config_type type;
	size_t offset;
	size_t size;				      /* QH_CONF_STRING: buffer size */
	long long min, max;			      /* QH_CONF_INT */
	int (*parse)(const char *value, void *field); /* QH_CONF_CUSTOM; 0 ok */
};

/*
 * Reads path into dst according to keys (terminated by a NULL name). On
 * failure returns QH_ERR_CONFIG (or QH_ERR_NOT_FOUND for a missing file) and
 * writes "FILE:LINE: reason" into err.
 */
int qh_config_read(const char *path, const struct qh_config_key *keys, void *dst,
    char *err, size_t errlen);

#endif
