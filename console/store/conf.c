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

#include "qh/addr.h"
#include "qh/config.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "store/store.h"

#define CONF_FILE	    "console.conf"
#define CONF_DEFAULT_LISTEN "127.0.0.1:7443"
#define CONF_DEFAULT_STATE  "/var/lib/quarterhour"

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

/* [billing] timezone: a zoneinfo name. */
static int
parse_timezone(const char *value, void *field)
{
	char path[256];

	if (strlen(value) >= 64 || strstr(value, "..") != NULL || value[0] == '/' ||
	    strspn(value,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") !=
		strlen(value))
		return -1;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", value);
	if (access(path, R_OK) != 0)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

static int
parse_hhmm(const char *s, int *min)
{
	int h, m, n = 0;

	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 || h > 24 ||
	    m < 0 || m > 59 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	return 0;
}

/* [billing] hours: HH:MM-HH:MM. */
static int
parse_hours(const char *value, void *field)
{
	struct console_conf *c = (struct console_conf *)((char *)field -
	    offsetof(struct console_conf, open_min));
	char a[6], b[6];

	if (strlen(value) != 11 || value[5] != '-')
		return -1;
	memcpy(a, value, 5);
	a[5] = '\0';
	memcpy(b, value + 6, 5);
	b[5] = '\0';
	if (parse_hhmm(a, &c->open_min) != 0 || parse_hhmm(b, &c->close_min) != 0 ||
	    c->open_min >= c->close_min)
		return -1;
	return 0;
}

/* [billing] days: mon-fri, or a comma list of sun..sat. */
static int
parse_days(const char *value, void *field)
{
	static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri",
		"sat" };
	unsigned mask = 0;
	char copy[128], *tok, *save = NULL;
	int i, a = -1, b = -1;

	if (strlen(value) >= sizeof(copy))
		return -1;
	snprintf(copy, sizeof(copy), "%s", value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *dash = strchr(tok, '-');

		a = b = -1;
		if (dash != NULL)
			*dash = '\0';
		for (i = 0; i < 7; i++) {
			if (strcmp(tok, names[i]) == 0)
				a = i;
			if (dash != NULL && strcmp(dash + 1, names[i]) == 0)
				b = i;
		}
		if (a < 0 || (dash != NULL && (b < 0 || b < a)))
			return -1;
		for (i = a; i <= (dash != NULL ? b : a); i++)
			mask |= 1U << i;
	}
	if (mask == 0)
		return -1;
	*(unsigned *)field = mask;
	return 0;
}

/* [billing] currency: three capital letters. */
static int
parse_currency(const char *value, void *field)
{
	if (strlen(value) != 3 || strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		return -1;
	memcpy(field, value, 4);
	return 0;
}

/* [billing] tiers: HOURS:CENTS_PER_UNIT, ... with increasing hours (R6). */
static int
parse_tiers(const char *value, void *field)
{
	struct console_conf *c =
	    (struct console_conf *)((char *)field - offsetof(struct console_conf, tiers));
	char copy[256], *tok, *save = NULL;
	long long h, cents;
	int n = 0, used;

	if (strlen(value) >= sizeof(copy))
		return -1;
	snprintf(copy, sizeof(copy), "%s", value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (n == 8 || sscanf(tok, "%lld:%lld%n", &h, &cents, &used) != 2 ||
		    (size_t)used != strlen(tok) || h < 0 || cents < 0 ||
		    cents > 100000000 || (n > 0 && h <= c->tiers[n - 1].min_hours))
			return -1;
		c->tiers[n].min_hours = h;
		c->tiers[n].unit_cents = cents;
		n++;
	}
	if (n == 0 || c->tiers[0].min_hours != 0)
		return -1; /* every purchase needs a price */
	c->ntiers = n;
	return 0;
}

/* [billing] notify_command: any command line, run through /bin/sh. */
static int
parse_command(const char *value, void *field)
{
	if (strlen(value) >= 1024)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [vendor] name: one line of text, no control characters. */
static int
parse_text(const char *value, void *field)
{
	const unsigned char *p;

	if (strlen(value) >= 256)
		return -1;
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [mail] url: smtp:// or smtps://, then a host; no blanks or control characters. */
static int
parse_mail_url(const char *value, void *field)
{
	const unsigned char *p;

	if (strlen(value) >= 1024)
		return -1;
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return -1;
	if (value[0] != '\0' &&
	    !((strncmp(value, "smtp://", 7) == 0 && value[7] != '\0') ||
		(strncmp(value, "smtps://", 8) == 0 && value[8] != '\0')))
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [mail] from: one address (qh/mailaddr.h), or empty. */
static int
parse_mail_from(const char *value, void *field)
{
	if (value[0] != '\0' && !qh_mail_addr_valid(value))
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [mail] staff: addresses separated by commas, at most 16. */
static int
parse_mail_list(const char *value, void *field)
{
	char addrs[16][QH_MAIL_ADDR_MAX + 1];

	if (strlen(value) >= 1024 || qh_mail_addr_list(value, addrs, 16) < 0)
		return -1;
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

/* [mail] staff_lang: de or en. */
static int
parse_lang(const char *value, void *field)
{
	if (strcmp(value, "de") != 0 && strcmp(value, "en") != 0)
		return -1;
	memcpy(field, value, 3);
	return 0;
}

/* [tickets] holidays: YYYY-MM-DD, ... */
static int
parse_holidays(const char *value, void *field)
{
	struct console_conf *c = (struct console_conf *)((char *)field -
	    offsetof(struct console_conf, holidays));
	char copy[1024], *tok, *save = NULL;
	int y, m, d, used, n = 0;

	if (strlen(value) >= sizeof(copy))
		return -1;
	snprintf(copy, sizeof(copy), "%s", value);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (n == 64 || sscanf(tok, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
		    used != 10 || strlen(tok) != 10 || m < 1 || m > 12 || d < 1 || d > 31)
			return -1;
		c->holidays[n++] = y * 10000 + m * 100 + d;
	}
	c->nholidays = n;
	return 0;
}

/* [datev] fiscal_year_start: MM-DD. */
static int
parse_fy_start(const char *value, void *field)
{
	struct console_conf *c = (struct console_conf *)((char *)field -
	    offsetof(struct console_conf, datev_fy_month));
	int m, d, used = 0;

	if (strlen(value) != 5 || sscanf(value, "%2d-%2d%n", &m, &d, &used) != 2 ||
	    used != 5 || value[2] != '-' || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	c->datev_fy_month = m;
	c->datev_fy_day = d;
	return 0;
}

/* [datev] tax_key_*: empty, or one to four digits (a BU-Schlüssel). */
static int
parse_tax_key(const char *value, void *field)
{
	size_t n = strlen(value);

	if (n > 4 || strspn(value, "0123456789") != n)
		return -1;
	memcpy(field, value, n + 1);
	return 0;
}

/* yes or no. */
static int
parse_yes_no(const char *value, void *field)
{
	if (strcmp(value, "yes") == 0)
		*(int *)field = 1;
	else if (strcmp(value, "no") == 0)
		*(int *)field = 0;
	else
		return -1;
	return 0;
}

#define CONF_INT(sec, key, member, lo, hi)                                               \
	{                                                                                \
		.section = sec, .name = key, .type = QH_CONF_INT,                        \
		.offset = offsetof(struct console_conf, member), .min = lo, .max = hi    \
	}
#define CONF_CUSTOM(sec, key, member, fn)                                                \
	{                                                                                \
		.section = sec, .name = key, .type = QH_CONF_CUSTOM,                     \
		.offset = offsetof(struct console_conf, member), .parse = fn             \
	}

static const struct qh_config_key conf_keys[] = {
	CONF_CUSTOM("console", "name", name, parse_name),
	CONF_CUSTOM("console", "listen", listen, parse_listen),
	CONF_CUSTOM("console", "log_level", log_level, parse_log_level),
	CONF_INT("session", "grace", grace_seconds, 1, 86400),
	CONF_INT("session", "idle", idle_seconds, 60, 7 * 86400),
	CONF_INT("session", "keepalive", keepalive_seconds, 1, 3600),
	CONF_INT("session", "consent_timeout", consent_timeout, 1, 3600),
	CONF_INT("enroll", "token_hours", token_hours, 1, 24 * 365),
	CONF_CUSTOM("billing", "timezone", timezone, parse_timezone),
	CONF_CUSTOM("billing", "hours", open_min, parse_hours),
	CONF_CUSTOM("billing", "days", days, parse_days),
	CONF_CUSTOM("billing", "currency", currency, parse_currency),
	CONF_CUSTOM("billing", "tiers", tiers, parse_tiers),
	CONF_INT("billing", "installation_cents", installation_cents, 0, 100000000),
	CONF_CUSTOM("billing", "notify_command", notify_command, parse_command),
	CONF_INT("recordings", "retention_days", retention_days, 0, 36500),
	CONF_CUSTOM("tickets", "holidays", holidays, parse_holidays),
	CONF_INT("tickets", "max_attachment_mib", max_attachment_mib, 1, 1024 * 1024),
	CONF_INT("tickets", "max_ticket_mib", max_ticket_mib, 1, 1024 * 1024),
	CONF_INT("tickets", "max_steps_kib", max_steps_kib, 1, 1024),
	CONF_INT("enroll", "cert_days", cert_days, 1, 3650),
	CONF_INT("enroll", "server_cert_days", server_cert_days, 1, 397),
	CONF_INT("tickets", "meta_seconds", ticket_meta_seconds, 1, 3600),
	CONF_INT("tickets", "idle_seconds", ticket_idle_seconds, 1, 86400),
	CONF_INT("limits", "preauth_per_address", preauth_per_address, 1, 4096),
	CONF_INT("limits", "preauth_max", preauth_max, 1, 65536),
	CONF_INT("limits", "join_seconds", join_seconds, 1, 60),
	CONF_CUSTOM("enroll", "agent_exe", agent_exe, parse_command),
	CONF_CUSTOM("vendor", "name", vendor_name, parse_text),
	CONF_CUSTOM("vendor", "address", vendor_address, parse_text),
	CONF_CUSTOM("mail", "url", mail_url, parse_mail_url),
	CONF_CUSTOM("mail", "from", mail_from, parse_mail_from),
	CONF_CUSTOM("mail", "user", mail_user, parse_text),
	CONF_CUSTOM("mail", "password_file", mail_password_file, parse_command),
	CONF_CUSTOM("mail", "staff", mail_staff, parse_mail_list),
	CONF_CUSTOM("mail", "staff_lang", mail_staff_lang, parse_lang),
	CONF_INT("datev", "consultant", datev_consultant, 1001, 9999999),
	CONF_INT("datev", "client", datev_client, 1, 99999),
	CONF_CUSTOM("datev", "fiscal_year_start", datev_fy_month, parse_fy_start),
	CONF_INT("datev", "account_length", datev_account_length, 4, 8),
	CONF_INT("datev", "bank_account", datev_bank, 1, 99999999),
	CONF_INT("datev", "deferred_account", datev_deferred, 1, 99999999),
	CONF_INT("datev", "revenue_account_de", datev_revenue[DATEV_TAX_DE], 1, 99999999),
	CONF_INT("datev", "revenue_account_eu", datev_revenue[DATEV_TAX_EU], 1, 99999999),
	CONF_INT("datev", "revenue_account_world", datev_revenue[DATEV_TAX_WORLD], 1,
	    99999999),
	CONF_CUSTOM("datev", "tax_key_de", datev_tax_key[DATEV_TAX_DE], parse_tax_key),
	CONF_CUSTOM("datev", "tax_key_eu", datev_tax_key[DATEV_TAX_EU], parse_tax_key),
	CONF_CUSTOM("datev", "tax_key_world", datev_tax_key[DATEV_TAX_WORLD],
	    parse_tax_key),
	CONF_CUSTOM("datev", "book_purchases", datev_book_purchases, parse_yes_no),
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
	conf->consent_timeout = 60;
	conf->token_hours = 24;
	conf->cert_days = 90;
	conf->server_cert_days = 397;
	snprintf(conf->timezone, sizeof(conf->timezone), "Europe/Berlin");
	conf->open_min = 7 * 60;
	conf->close_min = 18 * 60;
	conf->days = 0x3e; /* Monday to Friday */
	snprintf(conf->currency, sizeof(conf->currency), "EUR");
	conf->tiers[0] = (struct conf_tier){ 0, 3000 };
	conf->tiers[1] = (struct conf_tier){ 10, 2750 };
	conf->tiers[2] = (struct conf_tier){ 20, 2500 };
	conf->ntiers = 3;
	conf->installation_cents = 15000;
	conf->retention_days = 365;
	conf->max_attachment_mib = 256;
	conf->max_ticket_mib = 1024;
	conf->max_steps_kib = 64;
	conf->ticket_meta_seconds = 30;
	conf->ticket_idle_seconds = 120;
	conf->preauth_per_address = 16;
	conf->preauth_max = 512;
	conf->join_seconds = 5;
	snprintf(conf->mail_staff_lang, sizeof(conf->mail_staff_lang), "en");
	/* SKR03 (docs/qh-console.conf.5). */
	conf->datev_consultant = 1001;
	conf->datev_client = 1;
	conf->datev_fy_month = 1;
	conf->datev_fy_day = 1;
	conf->datev_account_length = 4;
	conf->datev_bank = 1200;
	conf->datev_deferred = 1710;
	conf->datev_revenue[DATEV_TAX_DE] = 8200;
	conf->datev_revenue[DATEV_TAX_EU] = 8336;
	conf->datev_revenue[DATEV_TAX_WORLD] = 8338;
	snprintf(conf->datev_tax_key[DATEV_TAX_DE], 5, "3");
	conf->datev_book_purchases = 1;
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
			       "'qh-console init')",
			    err, state_dir);
		else
			qh_say("%s", err);
		return r;
	}
	if (conf->name[0] == '\0') {
		qh_say("%s: [console] name is missing", path);
		return QH_ERR_CONFIG;
	}
	if (conf->mail_url[0] != '\0' && conf->mail_from[0] == '\0') {
		qh_say("%s: [mail] url needs from, the sender's address", path);
		return QH_ERR_CONFIG;
	}
	return 0;
}

/*
 * The end of a new console.conf: the deadlines of ticket uploads (inside
 * [tickets], the section before) and [limits] on connections that have not
 * authenticated.
 */
static void
write_intake_limits(FILE *f, const struct console_conf *d)
{
	fprintf(f,
	    "# A ticket's description must arrive within meta_seconds of the\n"
	    "# upload's start. Its attachments get idle_seconds from the start,\n"
	    "# plus one second for every 16 KiB that arrives.\n"
	    "meta_seconds = %lld\n"
	    "idle_seconds = %lld\n"
	    "\n"
	    "[limits]\n"
	    "# Connections that have not authenticated yet (TLS handshake, or an\n"
	    "# agent joining): at most this many at once from one address (one\n"
	    "# /64 for IPv6), and in all. A connection without a certificate must\n"
	    "# send its join request within join_seconds of its handshake.\n"
	    "preauth_per_address = %lld\n"
	    "preauth_max = %lld\n"
	    "join_seconds = %lld\n",
	    d->ticket_meta_seconds, d->ticket_idle_seconds, d->preauth_per_address,
	    d->preauth_max, d->join_seconds);
}

/* The [mail] section of a new console.conf: no mail until url is set. */
static void
write_mail(FILE *f, const struct console_conf *d)
{
	fprintf(f,
	    "\n"
	    "[mail]\n"
	    "# Mail to customers (low balance, receipts, session reports, tickets)\n"
	    "# and to staff, sent by 'serve' and retried until the server takes it.\n"
	    "# url: smtp://HOST:PORT (STARTTLS when the server offers it, and\n"
	    "# required with a user) or smtps://HOST:PORT; empty: no mail.\n"
	    "url =\n"
	    "# The sender's address.\n"
	    "from =\n"
	    "# SMTP authentication: the user, and a file whose first line is the\n"
	    "# password.\n"
	    "user =\n"
	    "password_file =\n"
	    "# Staff's addresses (comma-separated) and the language of their mail.\n"
	    "staff =\n"
	    "staff_lang = %s\n",
	    d->mail_staff_lang);
}

/* Writes a commented console.conf showing every key (0600, never over an existing file).
 */
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
	    "# How long the customer's consent question waits for an answer;\n"
	    "# then it is withdrawn and counts as no answer (a refusal).\n"
	    "consent_timeout = %lld\n"
	    "\n"
	    "[enroll]\n"
	    "# Lifetime of a join token, in hours.\n"
	    "token_hours = %lld\n"
	    "# Lifetime of agent and technician certificates, in days. Agents\n"
	    "# renew theirs when two thirds of it have passed; technicians run\n"
	    "# 'qh-console tech renew --out FILE'.\n"
	    "cert_days = %lld\n"
	    "# Lifetime of the console's own certificate, in days (at most 397);\n"
	    "# 'qh-console cert renew' issues a new one.\n"
	    "server_cert_days = %lld\n"
	    "\n"
	    "[billing]\n"
	    "# Support hours (R9): sessions starting outside them are flagged\n"
	    "# after_hours. Dates in ledger exports use this time zone too.\n"
	    "timezone = Europe/Berlin\n"
	    "hours = 07:00-18:00\n"
	    "days = mon-fri\n"
	    "currency = EUR\n"
	    "# Price per 15-minute unit by purchase size (R6): HOURS:CENTS, a\n"
	    "# purchase of at least HOURS hours pays CENTS per unit.\n"
	    "tiers = 0:3000, 10:2750, 20:2500\n"
	    "# Price of one installation (R8), in cents.\n"
	    "installation_cents = 15000\n"
	    "# Run for each low-balance notification (R5), with a JSON document on\n"
	    "# stdin; a failing command is retried. Empty: none.\n"
	    "notify_command =\n"
	    "\n"
	    "[recordings]\n"
	    "# Recordings of sessions closed longer ago than this many days are\n"
	    "# removed (0 keeps them all).\n"
	    "retention_days = 365\n"
	    "\n"
	    "[tickets]\n"
	    "# Days off in the business calendar: YYYY-MM-DD, comma-separated.\n"
	    "holidays =\n"
	    "# Largest attachment, and largest total of one ticket's attachments,\n"
	    "# in MiB; longest steps to reproduce, in KiB.\n"
	    "max_attachment_mib = 256\n"
	    "max_ticket_mib = 1024\n"
	    "max_steps_kib = 64\n",
	    name, listen, d.log_level, d.grace_seconds, d.idle_seconds,
	    d.keepalive_seconds, d.consent_timeout, d.token_hours, d.cert_days,
	    d.server_cert_days);
	write_intake_limits(f, &d);
	write_mail(f, &d);
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
	if ((size_t)snprintf(out, len, strchr(h, ':') != NULL ? "[%s]:%d" : "%s:%d", h,
		port) >= len)
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

int
store_env_open(struct store_env *env, const char *state, unsigned needs)
{
	int r;

	memset(env, 0, sizeof(*env));
	env->state = state;
	if (conf_load(state, &env->conf) != 0)
		return QH_ERR_CONFIG;
	/* Once, before any thread: the calendar only reads the zone after this. */
	if (calendar_set_zone(env->conf.timezone) != 0)
		return QH_ERR_CONFIG;
	if (!(needs & (QH_CLI_DB_READ | QH_CLI_DB_WRITE)))
		return 0;
	/* A reader sees the current schema too: an older database migrates first. */
	if (!(needs & QH_CLI_DB_WRITE) && (r = db_migrate_if_older(state)) != 0) {
		qh_say("the database in %s is older than this program and cannot be "
		       "migrated: %s (start qh-console serve once as its owner)",
		    state, qh_strerror(r));
		return r;
	}
	if ((r = db_open(state, (needs & QH_CLI_DB_WRITE) == 0, &env->db)) == 0) {
		db_set_currency(env->db, env->conf.currency);
		if (needs & QH_CLI_DB_WRITE)
			r = db_migrate(env->db);
		else
			r = db_exec(env->db, "BEGIN");
	}
	if (r != 0) {
		qh_say("cannot open the database in %s: %s", state, qh_strerror(r));
		db_close(env->db);
		env->db = NULL;
	}
	return r;
}

void
store_env_close(struct store_env *env)
{
	if (env->db == NULL)
		return;
	db_rollback(env->db);
	db_close(env->db);
	env->db = NULL;
}
