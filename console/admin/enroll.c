/*
 * qh-console enroll / agent-package / agents / agent revoke: join tokens
 * and short join codes for new PCs, agents that know this console, and
 * the list of enrolled agents (one per PC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/display.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/pki.h"
#include "qh/token.h"
#include "admin.h"
#include "store/store.h"

/* The console's address and the hex SHA-256 pin of its CA, as agents dial it. */
static int
console_pin(struct qh_cli *c, struct store_env *env, struct qh_token *t)
{
	char path[4096];
	X509 *ca = NULL;
	int r;

	if (console_address(&env->conf, t->console, sizeof(t->console)) != 0)
		return qh_cli_fail(c, "bad listen address in console.conf");
	snprintf(path, sizeof(path), "%s/ca.pem", env->state);
	if ((r = qh_pki_load_cert(path, &ca)) != 0 ||
	    (r = qh_pki_fingerprint(ca, t->pin)) != 0) {
		X509_free(ca);
		return qh_cli_fail(c, "%s: %s", path, qh_strerror(r));
	}
	X509_free(ca);
	return 0;
}

/*
 * enroll ID --short [--minutes N]: a code of QH_SHORT_LEN characters to
 * read out on the phone, valid N minutes (SHORT_MINUTES unless given),
 * once, for an agent that knows the console.
 */
static int
enroll_short(struct qh_cli *c, struct store_env *env, const char *id,
    const struct qh_token *t, int minutes)
{
	char code[QH_SHORT_LEN + 1], until[32];
	int64_t now = qh_clock_now();
	int i, r = QH_ERR_EXISTS;

	/* Another live code may start with the same characters: draw again. */
	for (i = 0; i < 20 && r == QH_ERR_EXISTS; i++)
		if ((r = qh_short_new(code, sizeof(code))) == 0)
			r = db_short_add(env->db, id, code, now, minutes);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "unknown customer %s", id);
	if (r == QH_ERR_EXISTS)
		return qh_cli_fail(c, "too many live short codes; try again later");
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	qh_clock_format_utc(now + (int64_t)minutes * 60, until, sizeof(until));
	printf("%s\n", code);
	fprintf(stderr,
	    "qh-console: short join code for %s, valid for %d minute%s (until %s), "
	    "once; read it out as %.5s %s. On the customer's PC: qh-agent join "
	    "--short %s --console %s --pin %s (an agent from 'qh-console "
	    "agent-package' needs only --short %s)\n",
	    id, minutes, minutes == 1 ? "" : "s", until, code, code + 5, code, t->console,
	    t->pin, code);
	return QH_EXIT_OK;
}

/*
 * qh-console enroll ID [--short | --exe FILE [--from PATH]]: prints a
 * one-time join token on stdout; with --exe also writes a copy of
 * qh-agent.exe that carries it (exe.c); with --short a short code instead.
 */
static int
cmd_enroll(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *id = c->argv[0];
	struct qh_token t;
	char text[QH_TOKEN_MAX], hash[65], expires[32];
	const char *exe = qh_cli_opt(c, "exe"), *from = NULL;
	const char *minutes_text = qh_cli_opt(c, "minutes");
	long long minutes = SHORT_MINUTES;
	int64_t t0;
	int r;

	memset(&t, 0, sizeof(t));
	if (exe != NULL && qh_cli_flag(c, "short"))
		return qh_cli_usage(c,
		    "--short and --exe do not go together: a short code needs an "
		    "agent from 'qh-console agent-package'");
	if (minutes_text != NULL && !qh_cli_flag(c, "short"))
		return qh_cli_usage(c, "--minutes is the lifetime of a --short code");
	if (minutes_text != NULL &&
	    (qh_parse_int(minutes_text, 1, SHORT_MINUTES_MAX, &minutes) != 0))
		return qh_cli_usage(c, "--minutes takes a number from 1 to 120");
	if (exe != NULL && (r = admin_agent_exe_source(c, env, &from)) != 0)
		return r;
	if ((r = console_pin(c, env, &t)) != 0)
		return r;
	/* Neither a token nor a short code for a disabled customer. */
	if (db_customer_disabled(env->db, id) == 1)
		return qh_cli_fail(c,
		    "customer %s is disabled; enable it first (customer enable %s)", id,
		    id);
	if (qh_cli_flag(c, "short"))
		return enroll_short(c, env, id, &t, (int)minutes);
	if ((r = qh_token_new_secret(&t)) != 0 ||
	    (r = qh_token_encode(&t, text, sizeof(text))) != 0)
		return qh_cli_fail(c, "cannot make a token: %s", qh_strerror(r));
	qh_sha256_hex(t.secret, strlen(t.secret), hash);
	t0 = qh_clock_now();
	qh_clock_format_utc(t0 + env->conf.token_hours * 3600, expires, sizeof(expires));
	r = db_token_add(env->db, hash, id, t0, t0 + env->conf.token_hours * 3600);
	if (r == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "unknown customer %s", id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("%s\n", text);
	if (exe != NULL)
		return admin_agent_exe_write(c, env, from, text, exe);
	fprintf(stderr,
	    "qh-console: one-time join token for %s, valid until %s; on the "
	    "customer's PC run: qh-agent join TOKEN\n",
	    id, expires);
	return QH_EXIT_OK;
}

/* qh-agent beside this qh-console: what agent-package copies by default. */
static int
agent_beside(char *out, size_t len)
{
	char self[4096], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return QH_ERR_SYSTEM;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return QH_ERR_SYSTEM;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/qh-agent", self) >= len)
		return QH_ERR_TOO_LARGE;
	return 0;
}

/*
 * qh-console agent-package --out FILE [--exe] [--from PATH]: a copy of
 * qh-agent (or, with --exe, qh-agent.exe) that knows this console.
 */
static int
cmd_agent_package(struct qh_cli *c)
{
	struct store_env *env = admin_env(c);
	const char *from = qh_cli_opt(c, "from"), *out = qh_cli_opt(c, "out");
	char beside[4096];
	struct qh_token t;
	int r;

	memset(&t, 0, sizeof(t));
	if (out == NULL)
		return qh_cli_usage(c, "agent-package needs --out FILE");
	if (qh_cli_flag(c, "exe")) {
		if ((r = admin_agent_exe_source(c, env, &from)) != 0)
			return r;
	} else if (from == NULL) {
		if (agent_beside(beside, sizeof(beside)) != 0 ||
		    access(beside, R_OK) != 0)
			return qh_cli_fail(c,
			    "no qh-agent beside qh-console; name the agent program with "
			    "--from PATH");
		from = beside;
	}
	if ((r = console_pin(c, env, &t)) != 0)
		return r;
	return admin_agent_package_write(c, env, from, t.console, t.pin, out);
}

#define AGENT_HOST_SHOWN 1024 /* a host name as the table shows it (HELLO's is 256) */

/* Prints one agent as a line of the table, or appends it to the JSON listing. */
static int
agent_row(void *arg, const struct agent_row *a)
{
	struct qh_json *j = arg;
	char host[AGENT_HOST_SHOWN];

	if (j == NULL) {
		printf("%-16s %-16s %-20s %-21s %-21s %s\n", a->id, a->customer,
		    a->host ? qh_display_str(a->host, host, sizeof(host), 0) : "-",
		    a->last_seen ? a->last_seen : "-",
		    a->cert_not_after ? a->cert_not_after : "-",
		    a->revoked_at ? "revoked" : "active");
		return 0;
	}
	qh_json_begin_object(j);
	qh_json_kv_str(j, "id", a->id);
	qh_json_kv_str(j, "customer", a->customer);
	qh_json_kv_str(j, "host", a->host);
	qh_json_kv_str(j, "enrolled_at", a->enrolled_at);
	qh_json_kv_str(j, "last_seen", a->last_seen);
	qh_json_kv_str(j, "cert_expires", a->cert_not_after);
	qh_json_kv_str(j, "revoked_at", a->revoked_at);
	qh_json_end_object(j);
	return 0;
}

static int
agent_list(struct qh_cli *c, struct qh_json *j)
{
	return db_agent_list(admin_env(c)->db, qh_cli_opt(c, "customer"), agent_row, j);
}

/* qh-console agents [--customer ID] [--json]. */
static int
cmd_agents(struct qh_cli *c)
{
	return admin_list(c, agent_list, "%-16s %-16s %-20s %-21s %-21s %s\n", "AGENT",
	    "CUSTOMER", "HOST", "LAST SEEN", "CERT EXPIRES", "STATUS");
}

/* qh-console agent revoke ID: the agent and its certificates. */
static int
cmd_agent_revoke(struct qh_cli *c)
{
	const char *id = c->argv[0];
	int r;

	if ((r = db_agent_revoke(admin_env(c)->db, id)) == QH_ERR_NOT_FOUND)
		return qh_cli_fail(c, "unknown agent %s", id);
	if (r != 0)
		return qh_cli_fail(c, "database: %s", qh_strerror(r));
	printf("agent %s revoked; a running console ends its session and "
	       "connection within seconds\n",
	    id);
	return QH_EXIT_OK;
}

const struct qh_cli_cmd cmd_enroll_entry = {
	.name = "enroll",
	.usage = "ID [--short [--minutes N] | --exe FILE [--from PATH]]",
	.summary = "print a one-time join token for a new PC of customer ID; --exe: "
		   "also a copy of qh-agent.exe that carries it; --short: a code of "
		   "10 characters, valid 15 minutes (--minutes: 1 to 120), for an "
		   "agent that knows the console",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state"), QH_OPT("exe"), QH_OPT("from"), QH_FLAG("short"),
	    QH_OPT("minutes") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_enroll,
};

const struct qh_cli_cmd cmd_agent_package_entry = {
	.name = "agent-package",
	.usage = "--out FILE [--exe] [--from PATH]",
	.summary = "write a copy of qh-agent (--exe: qh-agent.exe) that knows this "
		   "console's address and CA pin, without a token: PCs join with "
		   "'enroll ID --short' codes",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("out"), QH_FLAG("exe"), QH_OPT("from") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_agent_package,
};

const struct qh_cli_cmd cmd_agents_entry = {
	.name = "agents",
	.usage = "[--customer ID] [--json]",
	.summary = "list enrolled agents (one per PC) with last seen and expiry",
	.min_args = 0,
	.max_args = 0,
	.opts = { QH_OPT("state"), QH_OPT("customer"), QH_FLAG("json") },
	.needs = QH_CLI_DB_READ,
	.exec = cmd_agents,
};

const struct qh_cli_cmd cmd_agent_revoke_entry = {
	.name = "agent revoke",
	.usage = "ID",
	.summary = "revoke an agent; its session and connection end within seconds",
	.min_args = 1,
	.max_args = 1,
	.opts = { QH_OPT("state") },
	.needs = QH_CLI_DB_WRITE,
	.exec = cmd_agent_revoke,
};
