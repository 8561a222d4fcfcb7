/*
 * The admin part: the commands run on the console host (init, customer,
 * credit and correct, enroll and agents, tech, the accounting reports,
 * sessions, backup and restore), and the ticket desk on this host for the
 * ticket commands (console/desk). They reach the database only through the
 * store (store/store.h), which the dispatcher opens around each command as
 * its entry's needs say; what they share is the acting login for the ledger
 * and the checked way to stdout (output.c). It may use the store, libqh,
 * OpenSSL, cairo and libarchive (docs/dependencies.txt), never libuv, the
 * daemon or the technician's part.
 *
 * This is the admin part's public header: its command entries and the
 * ticket desk on this host.
 */
#ifndef QH_ADMIN_H
#define QH_ADMIN_H

#include <stddef.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/desk.h"
#include "qh/json.h"
#include "store/store.h"

/* The acting login for the ledger's actor column: $QH_ACTOR, else the effective user. */
const char *console_actor(char *buf, size_t len);

/*
 * Writes out to stdout and empties it. When an append to out failed,
 * nothing is written and out's kept error is returned (QH_ERR_TOO_LARGE);
 * QH_ERR_SYSTEM when stdout fails. Returns 0 otherwise.
 */
int console_flush(struct qh_buf *out);

/*
 * Finishes the JSON document j (written into out), ends it with a line
 * feed, writes it to stdout and flushes. A document that is not whole (out
 * was full, or the nesting is wrong) is not written at all: one line names
 * what ("the listing is too large for --json") and QH_EXIT_FAIL is
 * returned, as when stdout fails. Returns QH_EXIT_OK otherwise.
 */
int console_json_print(struct qh_cli *c, struct qh_json *j, struct qh_buf *out,
    const char *what);

/*
 * The frame of a listing command: with --json the rows as one JSON array,
 * else a header line (printf format and arguments) and one line per row.
 * list runs the store's listing; its row callbacks print a line when j is
 * NULL and add an object to j otherwise. Returns the command's exit status.
 */
int admin_list(struct qh_cli *c, int (*list)(struct qh_cli *c, struct qh_json *j),
    const char *header_fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The state, configuration and database the dispatcher opened for c
 * (console/dispatch.c): read-only inside one read transaction for
 * QH_CLI_DB_READ, writable and migrated for QH_CLI_DB_WRITE. Only for
 * commands whose entry needs the database.
 */
struct store_env *admin_env(const struct qh_cli *c);

/*
 * enroll --exe FILE (exe.c): the agent program to copy, from --from or
 * [enroll] agent_exe, checked to be readable before a token is made.
 * Returns 0 with *from set, or an exit status after one line on stderr.
 */
int
admin_agent_exe_source(struct qh_cli *c, const struct store_env *env, const char **from);

/*
 * Writes a copy of from to out (mode 0600) carrying token and the vendor's
 * name at its end (qh/exetag.h); returns an exit status.
 */
int admin_agent_exe_write(struct qh_cli *c, const struct store_env *env, const char *from,
    const char *token, const char *out);

/*
 * qh-console tech renew LOGIN --out FILE on the console host (techs.c): a
 * new bundle for an active login, with a new key, in a file that must not
 * exist; the certificates before it retire when it is first used. Needs
 * the database for writing (admin_env). Returns an exit status.
 */
int admin_tech_renew(struct qh_cli *c);

/*
 * agent-package --out FILE (exe.c): writes a copy of from (mode 0755)
 * carrying the console's address, its CA pin and the vendor's name, no
 * token (qh/exetag.h); returns an exit status.
 */
int admin_agent_package_write(struct qh_cli *c, const struct store_env *env,
    const char *from, const char *console, const char *pin, const char *out);

/*
 * The ticket desk on this host (desk.c): d answers the ticket commands
 * from env's store (qh/desk.h), as the local user. env stays open while d
 * is used. Returns 0.
 */
int admin_desk_open(struct store_env *env, struct qh_desk *d);

/*
 * The --email options of c (customer add and set): valid, none twice, at
 * most CUSTOMER_EMAILS_MAX. Returns QH_EXIT_OK with *emails and *n, or the
 * usage status after one line on stderr.
 */
int admin_customer_emails(struct qh_cli *c, const char *const **emails, int *n);

/*
 * ledger --format datev (datev.c): the DATEV Buchungsstapel of --from..--to
 * (one fiscal year) on stdout. Returns an exit status.
 */
int admin_ledger_datev(struct qh_cli *c, struct store_env *env);

/*
 * The data of customer's statement for month YYYY-MM (statement.c), one
 * JSON object appended to out. Returns 0, QH_ERR_ARG (a bad month),
 * QH_ERR_NOT_FOUND (no such customer), the builder's error or a database
 * error.
 */
int admin_statement_json(struct store_env *env, const char *customer, const char *month,
    struct qh_buf *out);

/* The UTC texts of month YYYY-MM's bounds in the business time zone; 0 or QH_ERR_ARG. */
int admin_month_bounds(const struct console_conf *conf, const char *month, char *from,
    char *to, size_t len);

/* The commands' entries, for the table in console/main.c. */
extern const struct qh_cli_cmd cmd_init_entry;
extern const struct qh_cli_cmd cmd_tech_add_entry;
extern const struct qh_cli_cmd cmd_tech_revoke_entry;
extern const struct qh_cli_cmd cmd_cert_renew_entry;
extern const struct qh_cli_cmd cmd_customer_add_entry;
extern const struct qh_cli_cmd cmd_customer_list_entry;
extern const struct qh_cli_cmd cmd_customer_set_entry;
extern const struct qh_cli_cmd cmd_customer_show_entry;
extern const struct qh_cli_cmd cmd_customer_disable_entry;
extern const struct qh_cli_cmd cmd_customer_enable_entry;
extern const struct qh_cli_cmd cmd_tech_list_entry;
extern const struct qh_cli_cmd cmd_outbox_entry;
extern const struct qh_cli_cmd cmd_enroll_entry;
extern const struct qh_cli_cmd cmd_agent_package_entry;
extern const struct qh_cli_cmd cmd_agents_entry;
extern const struct qh_cli_cmd cmd_agent_revoke_entry;
extern const struct qh_cli_cmd cmd_credit_entry;
extern const struct qh_cli_cmd cmd_correct_entry;
extern const struct qh_cli_cmd cmd_balance_entry;
extern const struct qh_cli_cmd cmd_balances_entry;
extern const struct qh_cli_cmd cmd_ledger_entry;
extern const struct qh_cli_cmd cmd_revenue_entry;
extern const struct qh_cli_cmd cmd_verify_entry;
extern const struct qh_cli_cmd cmd_sessions_entry;
extern const struct qh_cli_cmd cmd_backup_entry;
extern const struct qh_cli_cmd cmd_restore_entry;

#endif
