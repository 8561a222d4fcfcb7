/*
 * qh-console: the shared declarations of its commands and modules.
 */
#ifndef QH_CONSOLE_H
#define QH_CONSOLE_H

#include <limits.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <sqlite3.h>

#include "qh/cli.h"

/* console.conf, as read by conf.c. Defaults are set by conf_defaults(). */
struct console_conf {
	char name[256];		 /* [console] name: DNS name or IP in the certificate */
	char listen[300];	 /* [console] listen: ADDR:PORT */
	long long grace_seconds; /* [session] grace: agent reconnect window (R11) */
	long long idle_seconds;	 /* [session] idle: close with no technician (R12) */
	long long
	    keepalive_seconds; /* [session] keepalive: ping interval; dead after 3 */
	long long token_hours; /* [enroll] token_hours: join token lifetime */
	long long cert_days;   /* [enroll] cert_days: agent/tech certificate lifetime */
	char log_level[16];    /* [console] log_level */
	/* [billing] */
	char timezone[64];	 /* business time zone (R9) */
	int open_min, close_min; /* hours = 07:00-18:00, minutes after midnight */
	unsigned days;		 /* days = mon-fri: bit (1 << tm_wday) */
	char currency[8];	 /* ISO 4217 code of every price */
	struct conf_tier {
		long long min_hours;  /* purchases of at least this many hours... */
		long long unit_cents; /* ...pay this per 15-minute unit (R6) */
	} tiers[8];
	int ntiers;
	long long installation_cents; /* price of one installation (R8) */
	char notify_command[1024];    /* R5: run with a JSON document on stdin */
	/* [recordings] */
	long long retention_days; /* remove recordings older than this; 0 keeps all */
	/* [tickets] */
	int holidays[64]; /* YYYYMMDD, business-calendar days off */
	int nholidays;
	long long max_attachment_mib; /* largest attachment accepted */
	long long max_ticket_mib;     /* largest total of a ticket's attachments */
	long long max_steps_kib;      /* longest steps to reproduce */
};

/* Resolves the state directory: --state, else $QH_STATE, else /var/lib/quarterhour. */
const char *console_state_dir(const struct qh_cli *c);

void conf_defaults(struct console_conf *conf);
/* Reads STATE/console.conf; on error prints "FILE:LINE: reason" and returns <0. */
int conf_load(const char *state_dir, struct console_conf *conf);
/* Writes a new console.conf with the given name and listen address. */
int conf_write_new(const char *state_dir, const char *name, const char *listen);

/*
 * The address technicians and agents dial: the listen address, or the
 * console's name when the listen address is a wildcard.
 */
int console_address(const struct console_conf *conf, char *out, size_t len);

/* Loads the CA certificate and key from the state directory. */
int state_load_ca(const char *state, X509 **cap, EVP_PKEY **keyp);

/* Command handlers (one file per command group). */
int cmd_init(struct qh_cli *c);
int cmd_tech_add(struct qh_cli *c);
int cmd_tech_revoke(struct qh_cli *c);
int cmd_serve(struct qh_cli *c);
int cmd_customer_add(struct qh_cli *c);
int cmd_customer_list(struct qh_cli *c);
int cmd_enroll(struct qh_cli *c);
int cmd_agents(struct qh_cli *c);
int cmd_agent_revoke(struct qh_cli *c);
int cmd_queue(struct qh_cli *c);
int cmd_attach(struct qh_cli *c);
int cmd_exec(struct qh_cli *c);
int cmd_forward(struct qh_cli *c);
int cmd_push(struct qh_cli *c);
int cmd_pull(struct qh_cli *c);
int cmd_info(struct qh_cli *c);
int cmd_ssh(struct qh_cli *c);
int cmd_sessions(struct qh_cli *c);
int cmd_end(struct qh_cli *c);
int cmd_credit(struct qh_cli *c);
int cmd_correct(struct qh_cli *c);
int cmd_balance(struct qh_cli *c);
int cmd_ledger(struct qh_cli *c);
int cmd_revenue(struct qh_cli *c);
int cmd_verify(struct qh_cli *c);
int cmd_tickets(struct qh_cli *c);
int cmd_ticket_show(struct qh_cli *c);
int cmd_ticket_get(struct qh_cli *c);
int cmd_ticket_confirm(struct qh_cli *c);
int cmd_ticket_close(struct qh_cli *c);

/* R6: the price of one unit for a purchase of `units` (the tier of units / 4 hours). */
int64_t credit_tier_price(const struct console_conf *conf, int64_t units);
/* Cents as "1100.00" (no currency). */
void console_money_text(int64_t cents, char *out, size_t len);
/* Units as hours: "9 h 30 min". */
void console_hours_text(int64_t units, char *out, size_t len);
/* The acting login for the ledger's actor column: $QH_ACTOR, else the effective user. */
const char *console_actor(char *buf, size_t len);

/* Opens the state's database for writing (migrated); prints why not and returns 1. */
int console_db_write(struct qh_cli *c, sqlite3 **dbp);

#endif
