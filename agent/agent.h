/*
 * qh-agent internals: the commands (join.c, run.c), the terminal output helpers (ui.c)
 * and the tasks a technician runs on this PC (task.c, exec.c, shell.c).
 * What differs between systems sits behind platform.h and proc.h, with
 * one implementation in agent/posix/ and one in agent/win32/.
 *
 * Everything runs on one libuv loop; no function here is thread-safe.
 */
#ifndef QH_AGENT_H
#define QH_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "qh/cli.h"
#include "qh/mux.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/text.h"
#include "qh/tls.h"
#include "qh/wire.h"

/* The file in the configuration directory that holds our identity. */
#define AGENT_BUNDLE_NAME "agent.pem"
/* The vendor's name, from the enrolment tag (for the window's title). */
#define AGENT_VENDOR_NAME "vendor.txt"

/* The commands' entries, for the table in main.c, and that table. */
extern const struct qh_cli_cmd *const agent_commands[];
/*
 * What every command gets around it (main.c): --lang de|en sets the
 * language the customer reads (else the one main() took from the
 * environment), and the help and usage texts are in it.
 */
extern const struct qh_cli_hooks agent_hooks;
extern const struct qh_cli_cmd cmd_join_entry;
extern const struct qh_cli_cmd cmd_run_entry;
extern const struct qh_cli_cmd cmd_info_entry;
extern const struct qh_cli_cmd cmd_ticket_entry;
/* The customer's tickets and account (desk.c, reply.c): short connections. */
extern const struct qh_cli_cmd cmd_tickets_entry;
extern const struct qh_cli_cmd cmd_ticket_show_entry;
extern const struct qh_cli_cmd cmd_ticket_get_entry;
extern const struct qh_cli_cmd cmd_ticket_reply_entry;
extern const struct qh_cli_cmd cmd_balance_entry;
#ifdef _WIN32
/* qh-agent service install | uninstall | run (agent/win32/service.c). */
extern const struct qh_cli_cmd cmd_service_install_entry;
extern const struct qh_cli_cmd cmd_service_uninstall_entry;
extern const struct qh_cli_cmd cmd_service_run_entry;
/* Its desktop's helper in the user's session (agent/win32/deskhelper.c). */
extern const struct qh_cli_cmd cmd_service_desktop_entry;
#endif

/*
 * Writes the configuration directory into out: --config, else $QH_AGENT,
 * else ~/.config/quarterhour/agent. Returns 0 or QH_ERR_TOO_LARGE /
 * QH_ERR_NOT_FOUND (no home directory).
 */
int agent_config_dir(const struct qh_cli *c, char *out, size_t len);

/* Writes the path of agent.pem in the configuration directory into out. */
int agent_bundle_path(const struct qh_cli *c, char *out, size_t len);

/*
 * Enrols this PC with a join token: a key made here, the console checked
 * against the token's pin, the certificate stored with the key in
 * dir/agent.pem (dir created, private), and vendor (NULL: none) in
 * dir/vendor.txt. Text that is a short code (qh/token.h) instead joins the
 * console this program carries (agent-package). Prints for the customer;
 * returns an exit status.
 */
int agent_join(const char *token, const char *dir, const char *vendor);

/*
 * Enrols this PC with a short code (as the customer typed it) at console
 * (HOST:PORT) with CA pin, or, when console and pin are NULL, at the
 * console this program carries (agent-package). As agent_join otherwise.
 */
int agent_join_short(const char *code, const char *console, const char *pin,
    const char *dir, const char *vendor);

/*
 * Reads the enrolment tag at the end of this program's file, if `enroll
 * --exe` put one there (qh/exetag.h). Returns 0 with the token and vendor
 * copied, or QH_ERR_NOT_FOUND (also for a damaged one, which is logged).
 */
int agent_exe_tag(char *token, size_t tokenlen, char *vendor, size_t vendorlen);

/*
 * The language of this run, set once at start before anything is shown:
 * the value of the first --lang among the arguments (before "--") if it is
 * de or en, else the environment's (qh_lang_from_env; Windows: the UI
 * language). The command's own --lang is checked again by agent_hooks.
 */
void agent_lang_init(int argc, char **argv);

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

/*
 * What the customer allows a technician (R2): each is asked separately,
 * once per technician and session. CONTROL includes seeing the screen.
 */
#define GRANT_CONNECT 0x1 /* commands, files, forwards */
#define GRANT_VIEW    0x2 /* to see the screen */
#define GRANT_CONTROL 0x4 /* to control mouse and keyboard */

/*
 * A window that shows the customer what the terminal would (Windows:
 * agent/win32/window.c). Its functions are called on the loop's thread
 * with sanitised text and must not block; they hand the text to the
 * window's own thread. The answers come back through ui_post.
 */
struct ui_window {
	void (*code)(const char *code);		    /* the session code, six digits */
	void (*status)(const char *text);	    /* connection and session state */
	void (*balance)(const char *text, int low); /* "12 units (3 h 00 min)" */
	void (*activity)(const char *line); /* what the technician does (ui_notice) */
	/*
	 * consent: want is GRANT_* (what is asked), recorded: the screen is;
	 * note: what the console adds to the question ("" for nothing), such
	 * as that the session is billed as overdraft, shown with it
	 */
	void (*ask)(uint64_t id, const char *login, const char *name, unsigned want,
	    int recorded, const char *note);
	void (*withdraw)(void);		 /* the question is void */
	void (*ended)(const char *text); /* the session closed: the debit */
	/* who sees the screen ("" when nobody); controlled: someone controls it */
	void (*desktop)(const char *text, int controlled);
};

/* Registers the window before the command runs; NULL for none. */
void ui_set_window(const struct ui_window *w);

/* The registered window, or NULL. */
const struct ui_window *ui_window(void);

/* What the customer did in the window, for the agent's loop. */
enum ui_event {
	UI_EV_ALLOW,	    /* the question id was answered Allow */
	UI_EV_DENY,	    /* ... Deny */
	UI_EV_END,	    /* End session, or the window was closed */
	UI_EV_TAKE_CONTROL, /* Take back control (of the mouse and keyboard) */
	UI_EV_SCREENSHOT,   /* Send a screenshot: a ticket with one attached */
};

/*
 * From the window's thread: queues the event and wakes the loop (through
 * the async handle given to ui_bind; queued until then). Thread-safe.
 */
void ui_post(enum ui_event ev, uint64_t id);

/* On the loop's thread: where ui_post wakes the loop (NULL: nowhere any more). */
void ui_bind(uv_async_t *async);

/* On the loop's thread: takes the oldest event; 1 if there was one. */
int ui_take(enum ui_event *ev, uint64_t *id);

/* Tasks (task.c, exec.c, shell.c). */

struct task;
struct task_list {
	struct task *first;
};

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
 * are listed in qh/envinfo.h), as the platform collects them
 * (agent/posix/facts.c, agent/win32/facts.c). Blocking: reads every
 * mounted file system (and on Windows the registry), so run it from a
 * worker thread in the loop (uv_queue_work); it is thread-safe. Returns
 * 0 or QH_ERR_TOO_LARGE when out is full.
 */
int agent_info_json(struct qh_buf *out);

/* Number of tasks in the list. */
int task_count(const struct task_list *tasks);

/* Collects the programs that have exited (call on SIGCHLD; proc_reap). */
void task_reap(struct task_list *tasks);

/*
 * At exit, after the loop has stopped: kills and reaps what is left, runs
 * the loop until the tasks' handles are closed and frees every task.
 * Blocks at most for SIGKILL to take effect.
 */
void task_shutdown(struct task_list *tasks, uv_loop_t *loop);

#endif
