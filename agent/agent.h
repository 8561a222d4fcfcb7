/*
 * qh-agent internals: the commands (join.c, run.c), the terminal output helpers (ui.c)
 * and the tasks a technician runs on this PC (task.c, exec.c, shell.c).
 *
 * Everything runs on one libuv loop; no function here is thread-safe.
 */
#ifndef QH_AGENT_H
#define QH_AGENT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/cli.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/tls.h"
#include "qh/wire.h"

/* The file in the configuration directory that holds our identity. */
#define AGENT_BUNDLE_NAME "agent.pem"

/* The commands' entries, for the table in main.c. */
extern const struct qh_cli_cmd cmd_join_entry;
extern const struct qh_cli_cmd cmd_run_entry;
extern const struct qh_cli_cmd cmd_info_entry;
extern const struct qh_cli_cmd cmd_ticket_entry;

/*
 * Writes the configuration directory into out: --config, else $QH_AGENT,
 * else ~/.config/quarterhour/agent. Returns 0 or QH_ERR_TOO_LARGE /
 * QH_ERR_NOT_FOUND (no home directory).
 */
int agent_config_dir(const struct qh_cli *c, char *out, size_t len);

/* Applies --log-level if given; returns 0, or QH_ERR_ARG for a bad level. */
int agent_log_level(const struct qh_cli *c);

/*
 * Loads this PC's identity from the configuration directory (agent.pem
 * from `join`): the bundle into *b, the console's address into host and
 * *port, and a client TLS context for it into *ctxp. On failure prints one
 * line for the customer and returns QH_EXIT_FAIL with nothing to free; on
 * success returns 0 and the caller frees *b and *ctxp.
 */
int agent_identity_load(struct qh_cli *c, struct qh_bundle *b, char *host, size_t hostlen,
    int *port, struct qh_tls_ctx **ctxp);

/* Output for the customer (ui.c). */

/*
 * Passes s through the display filter (qh/display.h) in place, on one
 * line, so that text from the console or a technician cannot drive the
 * terminal. s NULL is left alone.
 */
void ui_sanitize(char *s);

/* Prints "[HH:MM:SS] text" (local time, sanitised) on stdout and flushes. */
void ui_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a sanitised line on stdout and flushes. */
void ui_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tasks (task.c, exec.c, shell.c). */

struct task;
LIST_HEAD(task_list, task);

/* Bound on tasks alive at once (running, or waiting to be reaped). */
#define TASK_MAX 64

/*
 * Starts what an ACTION asks for on the channel the console opened:
 * accepts or refuses ch. login is the technician, for the notice line.
 * Returns 0 (also for a refused or failed command, which the technician is
 * told about on the channel) or <0 for a broken invariant.
 */
int exec_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);
int shell_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);

/*
 * The other ACTIONs, with the same contract as exec_start: forwards and
 * their connections (forward.c), file transfers (transfer.c), the
 * workstation facts (info.c). They keep no task; whatever they own ends
 * when their channel closes.
 */
int forward_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);
int forward_dial_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);
int push_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);
int pull_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);
int info_start(struct task_list *tasks, uv_loop_t *loop, struct qh_chan *ch,
    const struct qh_msg *m);

/*
 * Sets the targets forwards may reach besides this PC's own addresses,
 * from the values of --allow-forward (each "HOST:PORT[,HOST:PORT...]").
 * Call once at start-up. Returns 0, QH_ERR_ARG for a malformed target or
 * QH_ERR_TOO_LARGE for too many.
 */
int forward_allow_init(const char *const *targets, int n);

/* 1 if a forward may reach host:port: this PC's own addresses, or allowed. */
int forward_allowed(const char *host, int port);

/*
 * Appends the workstation facts to out as one JSON object (the members
 * are listed in qh/envinfo.h). Blocking: reads /proc, /etc and every
 * mounted file system, so run it from a worker thread in the loop
 * (uv_queue_work); it is thread-safe. Returns 0 or QH_ERR_TOO_LARGE when
 * out is full.
 */
int agent_info_json(struct qh_buf *out);

/* Number of tasks in the list. */
int task_count(const struct task_list *tasks);

/* Reaps the shells that have exited (call on SIGCHLD). */
void task_reap(struct task_list *tasks);

/*
 * At exit, after the loop has stopped: kills and reaps what is left, runs
 * the loop until the tasks' handles are closed and frees every task.
 * Blocks at most for SIGKILL to take effect.
 */
void task_shutdown(struct task_list *tasks, uv_loop_t *loop);

#endif
