/*
 * console.conf: the console's configuration, kept in the state directory.
 * One table names every key, its section, its type and its bounds; the
 * defaults live in conf_defaults() and the commented file that `init`
 * writes shows every key with its default.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/config.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pki.h"
#include "console.h"

#define CONF_FILE		"console.conf"
#define CONF_DEFAULT_LISTEN	"127.0.0.1:7443"
#define CONF_DEFAULT_STATE	"/var/lib/quarterhour"

/* [console] name: a DNS name or IP address that fits a certificate. */
static int
parse_name(const char *value, void *field)
{
	struct console_conf *c = NULL;

	if (!qh_pki_host_valid(value) || strlen(value) >= sizeof(c->name))
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [console] listen: ADDR:PORT or [V6]:PORT. */
static int
parse_listen(const char *value, void *field)
{
	struct console_conf *c = NULL;
	char host[256];
	int port;

	if (strlen(value) >= sizeof(c->listen) ||
	    qh_split_hostport(value, host, sizeof(host), &port) != 0)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [console] log_level: error, warn, info or debug. */
static int
parse_log_level(const char *value, void *field)
{
	struct console_conf *c = NULL;

	if (qh_log_level_parse(value) < 0 || strlen(value) >= sizeof(c->log_level))
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

#define CONF_INT(sec, key, member, lo, hi) {				\
	.section = sec, .name = key, .type = QH_CONF_INT,		\
	.offset = offsetof(struct console_conf, member),		\
	.min = lo, .max = hi }
#define CONF_CUSTOM(sec, key, member, fn) {				\
	.section = sec, .name = key, .type = QH_CONF_CUSTOM,		\
	.offset = offsetof(struct console_conf, member), .parse = fn }

static const struct qh_config_key conf_keys[] = {
	CONF_CUSTOM("console", "name", name, parse_name),
	CONF_CUSTOM("console", "listen", listen, parse_listen),
	CONF_CUSTOM("console", "log_level", log_level, parse_log_level),
	CONF_INT("session", "grace", grace_seconds, 1, 86400),
	CONF_INT("session", "idle", idle_seconds, 60, 7 * 86400),
	CONF_INT("session", "keepalive", keepalive_seconds, 1, 3600),
	CONF_INT("enroll", "token_hours", token_hours, 1, 24 * 365),
	CONF_INT("enroll", "cert_days", cert_days, 1, 3650),
	{ .name = NULL },
};

const char *
console_state_dir(const struct qh_cli *c)
{
	const char *s;

	if (c != NULL && (s = qh_cli_opt(c, "state")) != NULL && *s != '\0')
		return s;
	if ((s = getenv("QH_STATE")) != NULL && *s != '\0')
		return s;
	return CONF_DEFAULT_STATE;
}

void
conf_defaults(struct console_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	snprintf(conf->listen, sizeof(conf->listen), "%s", CONF_DEFAULT_LISTEN);
	snprintf(conf->log_level, sizeof(conf->log_level), "info");
	conf->grace_seconds = 120;
	conf->idle_seconds = 1800;
	conf->keepalive_seconds = 15;
	conf->token_hours = 24;
	conf->cert_days = 825;
}

/* Loads STATE/console.conf over the defaults and prints the first error for the user. */
int
conf_load(const char *state_dir, struct console_conf *conf)
{
	char path[PATH_MAX], err[512];
	int r;

	conf_defaults(conf);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, CONF_FILE) >=
	    sizeof(path)) {
		qh_say("%s: state directory path too long", state_dir);
		return QH_ERR_TOO_LARGE;
	}
	if ((r = qh_config_read(path, conf_keys, conf, err, sizeof(err))) != 0) {
		if (r == QH_ERR_NOT_FOUND)
			qh_say("%s (is %s an initialised state directory? see "
			    "'qh-console init')", err, state_dir);
		else
			qh_say("%s", err);
		return r;
	}
	if (conf->name[0] == '\0') {
		qh_say("%s: [console] name is missing", path);
		return QH_ERR_CONFIG;
	}
	return 0;
}

/* Writes a commented console.conf showing every key (0600, never over an existing file). */
int
conf_write_new(const char *state_dir, const char *name, const char *listen)
{
	struct console_conf d;
	char path[PATH_MAX];
	FILE *f = NULL;
	int fd, r = 0;

	conf_defaults(&d);
	if (!qh_pki_host_valid(name) || parse_listen(listen, d.listen) != 0)
		return QH_ERR_ARG;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, CONF_FILE) >=
	    sizeof(path))
		return QH_ERR_TOO_LARGE;
	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600)) == -1) {
		if (errno == EEXIST)
			return QH_ERR_EXISTS;
		qh_error("%s: %s", path, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		qh_error("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return QH_ERR_SYSTEM;
	}
	fprintf(f,
	    "# quarterhour console configuration, written by 'qh-console init'.\n"
	    "# Lines starting with '#' or ';' are comments. Times are in seconds\n"
	    "# unless the key says otherwise.\n"
	    "\n"
	    "[console]\n"
	    "# The DNS name or IP address in the console's certificate; agents and\n"
	    "# technicians connect to it.\n"
	    "name = %s\n"
	    "# Address and port 'serve' listens on (ADDR:PORT, [V6]:PORT). Join\n"
	    "# tokens and technician bundles carry it (with 'name' instead of a\n"
	    "# wildcard address).\n"
	    "listen = %s\n"
	    "# error, warn, info or debug.\n"
	    "log_level = %s\n"
	    "\n"
	    "[session]\n"
	    "# How long a dropped agent may take to reconnect to the same session.\n"
	    "grace = %lld\n"
	    "# A session with no technician attached this long closes by itself.\n"
	    "idle = %lld\n"
	    "# Ping interval on quiet connections; three missed pings end one.\n"
	    "keepalive = %lld\n"
	    "\n"
	    "[enroll]\n"
	    "# Lifetime of a join token, in hours.\n"
	    "token_hours = %lld\n"
	    "# Lifetime of agent and technician certificates, in days.\n"
	    "cert_days = %lld\n",
	    name, listen, d.log_level, d.grace_seconds, d.idle_seconds,
	    d.keepalive_seconds, d.token_hours, d.cert_days);
	if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		qh_error("%s: %s", path, strerror(errno));
		r = QH_ERR_SYSTEM;
	}
	if (fclose(f) != 0 && r == 0) {
		qh_error("%s: %s", path, strerror(errno));
		r = QH_ERR_SYSTEM;
	}
	if (r != 0)
		unlink(path);
	return r;
}

/*
 * The address technicians dial: the listen address, or the console's name
 * when the listen address is a wildcard. IPv6 hosts get brackets.
 */
int
console_address(const struct console_conf *conf, char *out, size_t len)
{
	char host[256];
	const char *h;
	int port, r;

	if ((r = qh_split_hostport(conf->listen, host, sizeof(host), &port)) != 0)
		return r;
	h = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? conf->name : host;
	if ((size_t)snprintf(out, len, strchr(h, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    h, port) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/* Loads the CA certificate and key from the state directory. */
int
state_load_ca(const char *state, X509 **cap, EVP_PKEY **keyp)
{
	char path[PATH_MAX];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/ca.pem", state) >= sizeof(path))
		return QH_ERR_TOO_LARGE;
	if ((r = qh_pki_load_cert(path, cap)) != 0)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/ca-key.pem", state) >= sizeof(path))
		return QH_ERR_TOO_LARGE;
	return qh_pki_load_key(path, keyp);
}

