/*
 * The technician's part: qh-console's commands that work through the
 * console over mutually authenticated TLS with the technician's bundle
 * (queue, attach, exec, forward, push, pull, info, end, ssh, desktop), the
 * ticket desk over TLS for the ticket commands (console/desk), and replay
 * of desktop recordings. It may use libqh, libuv, libssh2 and
 * OpenSSL, never SQLite: what a technician sees comes from the console,
 * not from a database.
 *
 * This is the technician part's public header: its command entries.
 */
#ifndef QH_TECH_H
#define QH_TECH_H

#include <stdint.h>

#include <uv.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/desk.h"

extern const struct qh_cli_cmd cmd_queue_entry;
extern const struct qh_cli_cmd cmd_attach_entry;
extern const struct qh_cli_cmd cmd_exec_entry;
extern const struct qh_cli_cmd cmd_forward_entry;
extern const struct qh_cli_cmd cmd_push_entry;
extern const struct qh_cli_cmd cmd_pull_entry;
extern const struct qh_cli_cmd cmd_info_entry;
extern const struct qh_cli_cmd cmd_end_entry;
extern const struct qh_cli_cmd cmd_ssh_entry;
extern const struct qh_cli_cmd cmd_desktop_entry;
extern const struct qh_cli_cmd cmd_replay_entry;
extern const struct qh_cli_cmd cmd_recording_get_entry;

#define TECH_CODE_LEN 6 /* session codes: "482913" */

struct qh_msg;

/*
 * Reads the exit status of an EXIT message: status, or 128 + signal.
 * Returns 0, or QH_ERR_FORMAT when it carries neither.
 */
int tech_exit_status(const struct qh_msg *m, int *status);

/*
 * Normalises a session code as typed ("482913" or "482 913") to its six
 * digits in code. Returns 0 or QH_ERR_ARG.
 */
int tech_parse_code(const char *s, char code[TECH_CODE_LEN + 1]);

/* Formats six digits for people: "482 913". */
void tech_code_pretty(const char *code, char out[TECH_CODE_LEN + 2]);

/*
 * A lasting connection to the console with the technician's bundle, for a
 * client that opens channels over time on its own loop (qh-console web).
 * It redials by itself after a loss. Everything runs on that loop.
 */
struct tech_link;
struct qh_chan_ops;
struct qh_chan;

struct tech_link_ops {
	void (*on_up)(struct tech_link *l);		       /* channels can open */
	void (*on_down)(struct tech_link *l, const char *why); /* lost; redialling */
	void (*on_closed)(struct tech_link *l); /* after tech_link_close; l is freed */
};

/*
 * Loads the bundle as every technician command does (--tech FILE, else
 * $QH_TECH, else the default) and starts dialling on loop. On failure
 * prints one line and returns QH_EXIT_FAIL.
 */
int tech_link_new(const struct qh_cli *c, uv_loop_t *loop,
    const struct tech_link_ops *ops, void *arg, struct tech_link **lp);

/* Closes the connection; ops->on_closed runs once it is gone. */
void tech_link_close(struct tech_link *l);

/*
 * Opens a channel with the REQUEST req (window 0: the default). NULL while
 * the connection is not up, or when the mux refuses (too many channels).
 */
struct qh_chan *tech_link_open(struct tech_link *l, const struct qh_buf *req,
    uint32_t window, const struct qh_chan_ops *ops, void *arg);

int tech_link_up(const struct tech_link *l);
void *tech_link_arg(const struct tech_link *l);
const char *tech_link_login(const struct tech_link *l);
const char *tech_link_role(const struct tech_link *l);	  /* "technician", "accounting" */
const char *tech_link_console(const struct tech_link *l); /* HOST:PORT */
/*
 * qh-console tech renew --out FILE with a technician's or accountant's
 * bundle (--tech FILE, $QH_TECH or the default place): a new key and
 * certificate from the console over the bundle's own connection, written
 * as a new bundle to FILE, which must not exist unless it is the bundle in
 * use (then it is replaced in one step). Returns an exit status.
 */
int tech_renew_self(struct qh_cli *c);

/*
 * An accounting report over TLS with the bundle (--tech FILE, $QH_TECH or
 * the default place): sends the report name and c's arguments and options
 * (but --tech, --state, --out) as REQUEST{cmd="account"}; the report's
 * output goes to stdout and stderr and its exit status is returned.
 */
int tech_account(struct qh_cli *c, const char *name);

/*
 * As tech_account, with the words given (name first) and the report's
 * stdout appended to out (its bound is the answer's) instead of printed.
 */
int tech_account_capture(struct qh_cli *c, int n, char **words, struct qh_buf *out);

/* The default bundle's path (~/.config/quarterhour/tech.conf); 0 or QH_ERR_*. */
int tech_default_bundle(char *out, size_t len);

/*
 * The ticket desk over TLS (desk.c): d answers the ticket commands by
 * asking the console with the technician's bundle that c names (--tech,
 * $QH_TECH or the default place; qh/desk.h). The bundle is loaded for each
 * request. Returns 0, or QH_EXIT_FAIL after one line on stderr; close with
 * tech_desk_close.
 */
int tech_desk_open(const struct qh_cli *c, struct qh_desk *d);
void tech_desk_close(struct qh_desk *d);

#endif
