/*
 * qh-console ssh: an SSH client session carried over a dial channel through
 * the agent to an SSH server the customer's PC can reach (DESIGN §3).
 *
 * Two threads, sharing only `struct ssh`'s locked part. The main thread
 * runs tech.c's libuv loop: the console connection, the dial channel
 * relayed to one end of a socketpair, standard input (raw, with the "~."
 * escape) queued for the client, and the record channel that carries the
 * decrypted terminal output to the console. The client thread runs
 * libssh2 on the other end of the socketpair: in blocking mode while it
 * connects, checks the host key and authenticates (questions and
 * passwords go through /dev/tty, so nothing it reads competes with the
 * loop), then non-blocking with poll() on the socket and a wake-up pipe
 * while the shell or command runs; it writes the output to stdout and
 * stderr itself (a stalled terminal stalls the SSH window, not the loop).
 *
 * The loop wakes the thread through the pipe; the thread wakes the loop
 * with uv_async_send, under the lock and only while loop_alive says the
 * handle is open. Every queue between them is bounded: typed input stops
 * being read while the client has no room, and terminal output for the
 * recording is dropped, with a warning, rather than ever blocking the
 * shell. The loop never waits for the thread except in the final join,
 * after it told the thread to stop and closed the socket under it.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>
#include <uv.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/mux.h"
#include "qh/pki.h"
#include "qh/wire.h"
#include "console.h"
#include "client.h"

#define SSH_DEFAULT_PORT   22
#define SSH_CMD_MAX	   32768	 /* the joined remote command */
#define SSH_IN_MAX	   (64 * 1024)	 /* typed input the client has not taken */
#define SSH_REC_MAX	   (1024 * 1024) /* output for the recording, thread side */
#define SSH_REC_OUT_MAX	   (256 * 1024)	 /* the same, loop side */
#define SSH_UP_MAX	   (64 * 1024)	 /* socketpair → dial channel, held back */
#define SSH_CHUNK	   (32 * 1024)	 /* one read of either side */
#define SSH_ERR_MAX	   768		 /* the one line a failure prints */
#define SSH_LINE_MAX	   1024		 /* an answer typed at a prompt */
#define SSH_CONNECT_MS	   30000	 /* handshake and authentication, per step */
#define SSH_TEARDOWN_MS	   5000		 /* closing the channel and session */
#define SSH_DRAIN_MS	   5000		 /* sending the recording's tail */
#define SSH_PASSWORD_TRIES 3
#define TERM_MAX	   QH_TERM_MAX

/* Where the client thread is; written by the thread under the lock. */
enum ssh_phase {
	SSH_CONNECTING, /* handshake, host key, authentication, channel */
	SSH_RUNNING,	/* the shell or command runs: input flows */
	SSH_DONE,	/* the thread is finishing; status and err are final */
};

/* The record channel, on the loop. */
enum rec_state {
	REC_NONE,    /* not asked for (a command), or not yet */
	REC_OPENING, /* REQUEST record sent */
	REC_OPEN,    /* the console records what we send */
	REC_GONE,    /* refused, closed or ended */
};

struct ssh {
	/* Set before the thread starts, read-only afterwards. */
	char code[TECH_CODE_LEN + 1];
	char user[256];
	char host[256];
	int port;
	char target[300];	/* HOST:PORT for the dial */
	char userhost[600];	/* USER@HOST:PORT for the recording and messages */
	char keyfile[PATH_MAX]; /* -i, or "" for the defaults */
	char known_hosts[PATH_MAX];
	char home[PATH_MAX];
	char command[SSH_CMD_MAX]; /* the joined words, or "" for a shell */
	int interactive;	   /* no command: a shell, recorded */
	int want_pty;		   /* a shell with a terminal on stdin */
	int can_prompt;		   /* stdin is a terminal and /dev/tty opens */
	char term[TERM_MAX + 1];
	int sock;    /* the thread's end of the socketpair */
	int wake[2]; /* the loop wakes the thread: [1] → [0] */

	/* Shared between the threads: only under mu. */
	uv_mutex_t mu;
	int mu_init;
	int loop_alive; /* async is open: the thread may send it */
	enum ssh_phase phase;
	int running;	       /* SSH_RUNNING was reached (stays set) */
	int stop;	       /* the loop asks the thread to end */
	int status;	       /* the exit status once SSH_DONE */
	char err[SSH_ERR_MAX]; /* the failure to print, or "" */
	struct qh_buf in;      /* typed input for the client */
	int in_eof;	       /* standard input ended */
	int in_blocked;	       /* the loop waits for room in `in` */
	int in_resume;	       /* room again: the loop reads more */
	struct qh_buf rec;     /* terminal output for the recording */
	uint64_t rec_dropped;  /* bytes the recording lost */
	int resize;	       /* rows and cols changed */
	unsigned rows, cols;

	/* The loop's (main thread only). */
	struct tech *t;
	uv_thread_t thread;
	int thread_started;
	int thread_joined;
	uv_async_t async;
	int async_open;
	uv_signal_t winch;
	int winch_open;
	uv_timer_t drain;
	int drain_open;
	int running_seen; /* SSH_RUNNING was acted on */
	int done_seen;	  /* SSH_DONE was acted on */
	int end_status;	  /* ours once the thread is done */
	struct tech_escape esc;
	/* The bridge: dial channel ↔ the loop's end of the socketpair. */
	uv_pipe_t a;
	int a_open;
	int a_fd; /* until uv_pipe_open owns it */
	int a_reading;
	uint8_t up_raw[SSH_CHUNK];
	struct qh_buf up; /* read from the socketpair, not yet sent */
	int up_eof;	  /* the client closed its end */
	int up_eof_sent;
	struct qh_buf down[2]; /* from the dial channel: [down_cur] collects */
	int down_cur;
	int down_busy;
	uv_write_t down_req;
	int down_eof;  /* no more from the dial channel */
	int down_shut; /* shutdown of the socketpair issued */
	uv_shutdown_t shut_req;
	/* The recording. */
	enum rec_state rec_state;
	struct qh_chan *rec_ch;
	struct qh_buf rec_out;	     /* taken from `rec`, not yet sent */
	unsigned rec_rows, rec_cols; /* the size the recording knows */
	uint64_t rec_warned; /* drops were reported (the total comes at the end) */
};

/* ------------------------------------------------------------ both threads */

/* Wakes the client thread from its poll(); the pipe is non-blocking. */
static void
wake_thread(struct ssh *s)
{
	ssize_t n;

	do
		n = write(s->wake[1], "x", 1);
	while (n == -1 && errno == EINTR);
}

/* Wakes the loop. Call with mu held: the handle is open while loop_alive. */
static void
wake_loop_locked(struct ssh *s)
{
	if (s->loop_alive)
		(void)uv_async_send(&s->async);
}

/* -------------------------------------------------------------- the thread */

/* 1 once the loop asked the thread to end. */
static int
stopping(struct ssh *s)
{
	int r;

	uv_mutex_lock(&s->mu);
	r = s->stop;
	uv_mutex_unlock(&s->mu);
	return r;
}

/* Empties the wake-up pipe; what woke us is read from the shared state. */
static void
drain_wake(struct ssh *s)
{
	char buf[64];

	while (read(s->wake[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * Waits until fd is ready for events or the loop wakes us. Returns 0, or
 * -1 when the loop asked us to stop.
 */
static int
wait_fd(struct ssh *s, int fd, short events, int timeout_ms)
{
	struct pollfd p[2];

	if (stopping(s))
		return -1;
	p[0].fd = fd;
	p[0].events = events;
	p[1].fd = s->wake[0];
	p[1].events = POLLIN;
	if (poll(p, 2, timeout_ms) == -1 && errno != EINTR)
		return -1;
	if (p[1].revents != 0)
		drain_wake(s);
	return stopping(s) ? -1 : 0;
}

/* Writes all of p to fd (stdout, stderr, the tty). Returns 0, or -1 (gone or stopped). */
static int
write_fd(struct ssh *s, int fd, const void *p, size_t len)
{
	const uint8_t *q = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, q, len)) > 0) {
			q += n;
			len -= (size_t)n;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(s, fd, POLLOUT, -1) != 0)
				return -1;
		} else
			return -1;
	}
	return 0;
}

/* Records the failure line (the first one counts). */
static void
fail_text(struct ssh *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail_text(struct ssh *s, const char *fmt, ...)
{
	va_list ap;

	uv_mutex_lock(&s->mu);
	if (s->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	uv_mutex_unlock(&s->mu);
}

/* libssh2's last error as text, for a failure line. */
static const char *
ssh_error(LIBSSH2_SESSION *session)
{
	char *msg = NULL;

	if (libssh2_session_last_error(session, &msg, NULL, 0) == 0 || msg == NULL)
		return "unknown error";
	return msg;
}

/*
 * Copies text from the server for the terminal: control characters
 * (escape sequences in a prompt, say) become '?', lines are kept.
 */
static void
printable(char *out, size_t outlen, const char *p, size_t len)
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < len && n + 1 < outlen; i++) {
		c = (unsigned char)p[i];
		out[n++] = (c < 0x20 && c != '\n') || c == 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
}

/*
 * Asks on the terminal (/dev/tty): shows prompt, reads one line into out
 * (at most outlen - 1 bytes, the rest of a longer line is dropped), with
 * echo off unless echo. Returns 0, or -1 when there is no terminal, the
 * input ended, or the loop asked us to stop.
 */
static int
ask_tty(struct ssh *s, const char *prompt, int echo, char *out, size_t outlen)
{
	struct termios saved, quiet;
	size_t n = 0;
	int fd, restore = 0, rc = -1;
	ssize_t r;
	char c;

	out[0] = '\0';
	if (!s->can_prompt)
		return -1;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (!echo && tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	if (write_fd(s, fd, prompt, strlen(prompt)) != 0)
		goto out;
	for (;;) {
		r = read(fd, &c, 1);
		if (r == 1) {
			if (c == '\n' || c == '\r')
				break;
			if (n + 1 < outlen)
				out[n++] = c;
			continue;
		}
		if (r == 0)
			goto out;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			goto out;
		if (wait_fd(s, fd, POLLIN, -1) != 0)
			goto out;
	}
	out[n] = '\0';
	rc = 0;
out:
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &saved);
		(void)write_fd(s, fd, "\n", 1);
	}
	close(fd);
	if (rc != 0)
		explicit_bzero(out, outlen);
	return rc;
}

/* Says something on the terminal; nothing when there is none. */
static void
tell_tty(struct ssh *s, const char *text)
{
	int fd;

	if (!s->can_prompt ||
	    (fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return;
	(void)write_fd(s, fd, text, strlen(text));
	close(fd);
}

/* Host keys. */

/* The key type as OpenSSH names it in fingerprints. */
static const char *
key_type_name(int knownhost_key)
{
	switch (knownhost_key) {
	case LIBSSH2_KNOWNHOST_KEY_SSHRSA:
		return "RSA";
	case LIBSSH2_KNOWNHOST_KEY_SSHDSS:
		return "DSA";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_256:
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_384:
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_521:
		return "ECDSA";
	case LIBSSH2_KNOWNHOST_KEY_ED25519:
		return "ED25519";
	default:
		return "unknown";
	}
}

/* The host-key methods that offer a key of this known_hosts type. */
static const char *
key_type_methods(int knownhost_key)
{
	switch (knownhost_key) {
	case LIBSSH2_KNOWNHOST_KEY_SSHRSA:
		return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
	case LIBSSH2_KNOWNHOST_KEY_SSHDSS:
		return "ssh-dss";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_256:
		return "ecdsa-sha2-nistp256";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_384:
		return "ecdsa-sha2-nistp384";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_521:
		return "ecdsa-sha2-nistp521";
	case LIBSSH2_KNOWNHOST_KEY_ED25519:
		return "ssh-ed25519";
	default:
		return NULL;
	}
}

/* The known_hosts type of the key the server offered. */
static int
session_key_type(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* "SHA256:" and the unpadded base64 of a 32-byte hash, as OpenSSH prints it. */
static void
fingerprint_text(const unsigned char hash[32], char *out, size_t len)
{
	unsigned char b64[64];
	int n, i;

	n = EVP_EncodeBlock(b64, hash, 32);
	for (i = n; i > 0 && b64[i - 1] == '='; i--)
		;
	snprintf(out, len, "SHA256:%.*s", i, (const char *)b64);
}

/* The fingerprint of a known_hosts entry's key (base64 text). */
static void
known_fingerprint(const char *key_b64, char *out, size_t len)
{
	unsigned char raw[4096], hash[32];
	size_t klen = strlen(key_b64), pad = 0;
	unsigned int hlen = 0;
	int n;

	snprintf(out, len, "(unreadable key)");
	if (klen == 0 || klen % 4 != 0 || klen / 4 * 3 > sizeof(raw))
		return;
	if ((n = EVP_DecodeBlock(raw, (const unsigned char *)key_b64, (int)klen)) < 0)
		return;
	while (pad < 2 && key_b64[klen - 1 - pad] == '=')
		pad++;
	if (EVP_Digest(raw, (size_t)n - pad, hash, &hlen, EVP_sha256(), NULL) != 1 ||
	    hlen != 32)
		return;
	fingerprint_text(hash, out, len);
}

/* The name known_hosts files use: "host", or "[host]:port" off port 22. */
static void
known_name(const struct ssh *s, char *out, size_t len)
{
	if (s->port == SSH_DEFAULT_PORT)
		snprintf(out, len, "%s", s->host);
	else
		snprintf(out, len, "[%s]:%d", s->host, s->port);
}

/*
 * Prefers the host-key methods of the types known for this host (DESIGN §6:
 * libssh2 picks one without looking at known_hosts), then the others.
 */
static void
prefer_known_types(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts)
{
	struct libssh2_knownhost *e = NULL, *prev = NULL;
	const char **algs = NULL;
	const char *m;
	char name[300], pref[1024] = "";
	size_t used = 0;
	int n, i;

	known_name(s, name, sizeof(name));
	while (libssh2_knownhost_get(hosts, &e, prev) == 0) {
		prev = e;
		if (e->name == NULL ||
		    (strcmp(e->name, name) != 0 && strcmp(e->name, s->host) != 0))
			continue;
		if ((m = key_type_methods(e->typemask & LIBSSH2_KNOWNHOST_KEY_MASK)) ==
			NULL ||
		    strstr(pref, m) != NULL)
			continue;
		used += (size_t)snprintf(pref + used, sizeof(pref) - used, "%s%s",
		    used > 0 ? "," : "", m);
		if (used >= sizeof(pref))
			return;
	}
	if (used == 0)
		return; /* nothing known: libssh2's own order */
	if ((n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs)) >
	    0) {
		for (i = 0; i < n; i++) {
			if (strstr(pref, algs[i]) != NULL)
				continue;
			if (used + strlen(algs[i]) + 2 >= sizeof(pref))
				break;
			used += (size_t)snprintf(pref + used, sizeof(pref) - used, ",%s",
			    algs[i]);
		}
		libssh2_free(session, (void *)algs);
	}
	if (libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, pref) != 0)
		qh_debug("host key preference %s: %s", pref, ssh_error(session));
}

/* Appends the entry for the accepted key to the known_hosts file. */
static int
remember_key(struct ssh *s, LIBSSH2_KNOWNHOSTS *hosts, const char *key, size_t keylen,
    int type)
{
	struct libssh2_knownhost *entry = NULL;
	char name[300], line[8192];
	size_t outlen = 0;
	int fd, r = -1;

	known_name(s, name, sizeof(name));
	if (libssh2_knownhost_addc(hosts, name, NULL, key, keylen, NULL, 0,
		LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type,
		&entry) != 0 ||
	    libssh2_knownhost_writeline(hosts, entry, line, sizeof(line), &outlen,
		LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
		return -1;
	/* Appended, so that lines libssh2 cannot read are kept as they are. */
	if ((fd = open(s->known_hosts, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		 0600)) == -1)
		return -1;
	if (write_fd(s, fd, line, outlen) == 0 && fsync(fd) == 0)
		r = 0;
	close(fd);
	return r;
}

/*
 * Checks the server's host key against known_hosts: a known key passes, a
 * changed one is refused with both fingerprints, a new one is shown and
 * confirmed on the terminal (refused without one). Returns 0 to go on.
 */
static int
check_host_key(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts)
{
	struct libssh2_knownhost *known = NULL;
	const unsigned char *hash;
	const char *key;
	char name[300], fp[128], old_fp[128], text[PATH_MAX + 512], answer[16];
	size_t keylen = 0;
	int keytype = 0, type, rc;

	known_name(s, name, sizeof(name));
	if ((key = libssh2_session_hostkey(session, &keylen, &keytype)) == NULL ||
	    (hash = (const unsigned char *)libssh2_hostkey_hash(session,
		 LIBSSH2_HOSTKEY_HASH_SHA256)) == NULL) {
		fail_text(s, "%s offered no usable host key", name);
		return -1;
	}
	type = session_key_type(keytype);
	fingerprint_text(hash, fp, sizeof(fp));
	rc = libssh2_knownhost_checkp(hosts, s->host, s->port, key, keylen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type, &known);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		known_fingerprint(known != NULL && known->key != NULL ? known->key : "",
		    old_fp, sizeof(old_fp));
		fail_text(s,
		    "the host key of %s has CHANGED: known %s key %s, offered %s "
		    "key %s; refusing to connect (if the change is expected, remove the "
		    "old entry from %s)",
		    name, key_type_name(type), old_fp, key_type_name(type), fp,
		    s->known_hosts);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		fail_text(s, "cannot check the host key of %s: %s", name,
		    ssh_error(session));
		return -1;
	}
	if (!s->can_prompt) {
		fail_text(s,
		    "the host key of %s is not known (%s key %s); refusing without "
		    "a terminal to confirm it (connect once from a terminal, or add it "
		    "to %s)",
		    name, key_type_name(type), fp, s->known_hosts);
		return -1;
	}
	snprintf(text, sizeof(text),
	    "The authenticity of host '%s' can't be established.\n"
	    "%s key fingerprint is %s.\n",
	    name, key_type_name(type), fp);
	tell_tty(s, text);
	if (ask_tty(s, "Trust this host key? [y/N] ", 1, answer, sizeof(answer)) != 0 ||
	    (strcasecmp(answer, "y") != 0 && strcasecmp(answer, "yes") != 0)) {
		fail_text(s, "the host key of %s (%s key %s) was not accepted", name,
		    key_type_name(type), fp);
		return -1;
	}
	if (remember_key(s, hosts, key, keylen, type) != 0) {
		fail_text(s, "cannot add the host key to %s: %s", s->known_hosts,
		    strerror(errno));
		return -1;
	}
	snprintf(text, sizeof(text), "Added %s to %s.\n", name, s->known_hosts);
	tell_tty(s, text);
	return 0;
}

/* Authentication. */

/* 1 if the comma-separated list names method. */
static int
has_method(const char *list, const char *method)
{
	size_t n = strlen(method);
	const char *p = list;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Tries each identity the ssh-agent holds. Returns 0 once one is accepted. */
static int
auth_agent(struct ssh *s, LIBSSH2_SESSION *session)
{
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	LIBSSH2_AGENT *agent;
	const char *sock = getenv("SSH_AUTH_SOCK");
	int r = -1;

	if (sock == NULL || *sock == '\0' ||
	    (agent = libssh2_agent_init(session)) == NULL)
		return -1;
	if (libssh2_agent_connect(agent) != 0 ||
	    libssh2_agent_list_identities(agent) != 0)
		goto out;
	while (r != 0 && libssh2_agent_get_identity(agent, &id, prev) == 0) {
		prev = id;
		if (stopping(s))
			break;
		if (libssh2_agent_userauth(agent, s->user, id) == 0)
			r = 0;
	}
	(void)libssh2_agent_disconnect(agent);
out:
	libssh2_agent_free(agent);
	return r;
}

/* Tries one private key file, asking for its passphrase if it needs one. */
static int
auth_keyfile(struct ssh *s, LIBSSH2_SESSION *session, const char *path)
{
	char pass[SSH_LINE_MAX], prompt[PATH_MAX + 64];
	unsigned ulen = (unsigned)strlen(s->user);
	int rc;

	/* "" and never NULL: OpenSSL would ask on the terminal itself. */
	rc = libssh2_userauth_publickey_fromfile_ex(session, s->user, ulen, NULL, path,
	    "");
	if (rc == 0)
		return 0;
	if (rc != LIBSSH2_ERROR_FILE || !s->can_prompt)
		return -1;
	/* The key could not be read: encrypted, most likely. */
	snprintf(prompt, sizeof(prompt), "Enter passphrase for key '%s': ", path);
	if (ask_tty(s, prompt, 0, pass, sizeof(pass)) != 0)
		return -1;
	rc = libssh2_userauth_publickey_fromfile_ex(session, s->user, ulen, NULL, path,
	    pass);
	explicit_bzero(pass, sizeof(pass));
	return rc == 0 ? 0 : -1;
}

/* -i KEY, or the usual files in ~/.ssh that exist. */
static int
auth_keys(struct ssh *s, LIBSSH2_SESSION *session)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	char path[PATH_MAX];
	size_t i;

	if (s->keyfile[0] != '\0')
		return auth_keyfile(s, session, s->keyfile);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/.ssh/%s", s->home,
			defaults[i]) >= sizeof(path) ||
		    access(path, R_OK) != 0)
			continue;
		if (stopping(s))
			return -1;
		if (auth_keyfile(s, session, path) == 0)
			return 0;
	}
	return -1;
}

/* keyboard-interactive: each of the server's prompts is asked on the terminal. */
static void
kbd_callback(const char *name, int name_len, const char *instruction, int instruction_len,
    int num_prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
    LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
	struct ssh *s = *abstract;
	char text[SSH_LINE_MAX], answer[SSH_LINE_MAX];
	int i;

	if (name_len > 0) {
		printable(text, sizeof(text) - 1, name, (size_t)name_len);
		strcat(text, "\n");
		tell_tty(s, text);
	}
	if (instruction_len > 0) {
		printable(text, sizeof(text) - 1, instruction, (size_t)instruction_len);
		strcat(text, "\n");
		tell_tty(s, text);
	}
	for (i = 0; i < num_prompts; i++) {
		responses[i].text = NULL;
		responses[i].length = 0;
		printable(text, sizeof(text), prompts[i].text, prompts[i].length);
		if (ask_tty(s, text, prompts[i].echo, answer, sizeof(answer)) != 0)
			continue;
		/* libssh2 frees the answer with its (the default) free(). */
		if ((responses[i].text = strdup(answer)) != NULL)
			responses[i].length = (unsigned int)strlen(answer);
		explicit_bzero(answer, sizeof(answer));
	}
}

/* Prompts for the password (or keyboard-interactive answers), up to three times. */
static int
auth_interactive(struct ssh *s, LIBSSH2_SESSION *session, const char *methods)
{
	char pass[SSH_LINE_MAX], prompt[700];
	unsigned ulen = (unsigned)strlen(s->user);
	int i, rc;

	if (!s->can_prompt)
		return -1;
	for (i = 0; i < SSH_PASSWORD_TRIES && !stopping(s); i++) {
		if (has_method(methods, "keyboard-interactive")) {
			rc = libssh2_userauth_keyboard_interactive_ex(session, s->user,
			    ulen, kbd_callback);
		} else {
			snprintf(prompt, sizeof(prompt), "%s@%s's password: ", s->user,
			    s->host);
			if (ask_tty(s, prompt, 0, pass, sizeof(pass)) != 0)
				return -1;
			rc = libssh2_userauth_password_ex(session, s->user, ulen, pass,
			    (unsigned)strlen(pass), NULL);
			explicit_bzero(pass, sizeof(pass));
		}
		if (rc == 0)
			return 0;
		if (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED)
			return -1;
		if (i + 1 < SSH_PASSWORD_TRIES)
			tell_tty(s, "Permission denied, please try again.\n");
	}
	return -1;
}

/*
 * Authenticates as s->user: ssh-agent, then key files, then password or
 * keyboard-interactive on the terminal. Returns 0, or -1 with err set.
 */
static int
authenticate(struct ssh *s, LIBSSH2_SESSION *session)
{
	char methods[256];
	const char *list;

	list = libssh2_userauth_list(session, s->user, (unsigned)strlen(s->user));
	if (list == NULL) {
		if (libssh2_userauth_authenticated(session))
			return 0; /* "none" was enough */
		fail_text(s, "authentication with %s failed: %s", s->host,
		    ssh_error(session));
		return -1;
	}
	snprintf(methods, sizeof(methods), "%s", list);
	if (has_method(methods, "publickey")) {
		if (auth_agent(s, session) == 0 || auth_keys(s, session) == 0)
			return 0;
	}
	if ((has_method(methods, "keyboard-interactive") ||
		has_method(methods, "password")) &&
	    auth_interactive(s, session, methods) == 0)
		return 0;
	fail_text(s, "%s@%s: permission denied (%s)", s->user, s->host, methods);
	return -1;
}

/* The shell or command. */

/* A signal name as SSH sends it ("KILL") to its number; 0 if unknown. */
static int
signal_number(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {
		{ "HUP", SIGHUP },
		{ "INT", SIGINT },
		{ "QUIT", SIGQUIT },
		{ "ILL", SIGILL },
		{ "ABRT", SIGABRT },
		{ "FPE", SIGFPE },
		{ "KILL", SIGKILL },
		{ "SEGV", SIGSEGV },
		{ "PIPE", SIGPIPE },
		{ "ALRM", SIGALRM },
		{ "TERM", SIGTERM },
		{ "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 },
	};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(name, sigs[i].name) == 0)
			return sigs[i].num;
	return 0;
}

/* Hands terminal output to the loop for the recording, or counts it as lost. */
static void
record_output(struct ssh *s, const uint8_t *p, size_t len)
{
	if (!s->interactive)
		return;
	uv_mutex_lock(&s->mu);
	if (qh_buf_room(&s->rec) < len)
		s->rec_dropped += len; /* never block the shell for the recording */
	else
		(void)qh_buf_put(&s->rec, p, len);
	wake_loop_locked(s);
	uv_mutex_unlock(&s->mu);
}

/*
 * Runs the channel until the remote side ends it: typed input in, output
 * out (and to the recording), resizes. Returns 0 at the channel's EOF, -1
 * when the loop stopped us or the connection failed (err set then).
 */
static int
pump(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *ch)
{
	uint8_t in[SSH_CHUNK], out[SSH_CHUNK];
	size_t in_len = 0, in_off = 0;
	unsigned rows = 0, cols = 0;
	int in_eof = 0, eof_sent = 0, resize = 0, progress, dirs, stream;
	struct pollfd p[2];
	ssize_t n;

	for (;;) {
		progress = 0;
		uv_mutex_lock(&s->mu);
		if (s->stop) {
			uv_mutex_unlock(&s->mu);
			return -1;
		}
		if (in_off == in_len && qh_buf_len(&s->in) > 0) {
			in_len = qh_buf_len(&s->in) < sizeof(in) ? qh_buf_len(&s->in)
								 : sizeof(in);
			memcpy(in, qh_buf_ptr(&s->in), in_len);
			(void)qh_buf_consume(&s->in, in_len);
			in_off = 0;
			if (s->in_blocked) {
				s->in_blocked = 0;
				s->in_resume = 1;
				wake_loop_locked(s);
			}
		}
		in_eof = s->in_eof && qh_buf_len(&s->in) == 0;
		if (s->resize) {
			s->resize = 0;
			resize = 1;
			rows = s->rows;
			cols = s->cols;
		}
		uv_mutex_unlock(&s->mu);

		if (resize) {
			n = libssh2_channel_request_pty_size_ex(ch, (int)cols, (int)rows,
			    0, 0);
			if (n != LIBSSH2_ERROR_EAGAIN) {
				resize = 0;
				progress = 1;
			}
		}
		while (in_off < in_len) {
			n = libssh2_channel_write(ch, (const char *)in + in_off,
			    in_len - in_off);
			if (n == LIBSSH2_ERROR_EAGAIN)
				break;
			if (n < 0) {
				in_off = in_len; /* the remote side takes no more */
				break;
			}
			in_off += (size_t)n;
			progress = 1;
		}
		if (in_off == in_len && in_eof && !eof_sent) {
			n = libssh2_channel_send_eof(ch);
			if (n != LIBSSH2_ERROR_EAGAIN) {
				eof_sent = 1;
				progress = 1;
			}
		}
		for (stream = 0; stream < 2; stream++) {
			for (;;) {
				n = libssh2_channel_read_ex(ch, stream, (char *)out,
				    sizeof(out));
				if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
					break;
				if (n < 0) {
					fail_text(s, "connection to %s lost: %s",
					    s->userhost, ssh_error(session));
					return -1;
				}
				progress = 1;
				if (write_fd(s, stream ? STDERR_FILENO : STDOUT_FILENO,
					out, (size_t)n) != 0 &&
				    stopping(s))
					return -1;
				record_output(s, out, (size_t)n);
			}
		}
		if (libssh2_channel_eof(ch))
			return 0;
		if (progress)
			continue;
		dirs = libssh2_session_block_directions(session);
		p[0].fd = s->sock;
		p[0].events =
		    POLLIN | ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) ? POLLOUT : 0);
		p[1].fd = s->wake[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1 && errno != EINTR) {
			fail_text(s, "poll: %s", strerror(errno));
			return -1;
		}
		if (p[1].revents != 0)
			drain_wake(s);
		if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
			fail_text(s, "connection to %s lost", s->userhost);
			return -1;
		}
	}
}

/* Opens the session channel and starts the command or the shell (blocking). */
static LIBSSH2_CHANNEL *
start_channel(struct ssh *s, LIBSSH2_SESSION *session)
{
	LIBSSH2_CHANNEL *ch;
	unsigned rows, cols;

	if ((ch = libssh2_channel_open_session(session)) == NULL) {
		fail_text(s, "%s: cannot open a session channel: %s", s->userhost,
		    ssh_error(session));
		return NULL;
	}
	uv_mutex_lock(&s->mu);
	rows = s->rows;
	cols = s->cols;
	s->resize = 0;
	uv_mutex_unlock(&s->mu);
	if (s->want_pty &&
	    libssh2_channel_request_pty_ex(ch, s->term, (unsigned)strlen(s->term), NULL,
		0, (int)cols, (int)rows, 0, 0) != 0) {
		fail_text(s, "%s: the server refused a terminal: %s", s->userhost,
		    ssh_error(session));
		goto fail;
	}
	if (s->interactive ? libssh2_channel_shell(ch) != 0
			   : libssh2_channel_exec(ch, s->command) != 0) {
		fail_text(s, "%s: the server refused to start %s: %s", s->userhost,
		    s->interactive ? "a shell" : "the command", ssh_error(session));
		goto fail;
	}
	return ch;
fail:
	(void)libssh2_channel_free(ch);
	return NULL;
}

/*
 * Closes the channel and reads how the command ended: its exit status, or
 * 128 + the signal that killed it. Returns -1 (err set) if it never said.
 */
static int
finish_channel(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *ch, int *status)
{
	char *sig = NULL;
	size_t siglen = 0;
	int num;

	libssh2_session_set_blocking(session, 1);
	libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
	(void)libssh2_channel_close(ch);
	if (libssh2_channel_wait_closed(ch) != 0) {
		fail_text(s, "connection to %s lost before the %s ended: %s", s->userhost,
		    s->interactive ? "shell" : "command", ssh_error(session));
		return -1;
	}
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL) ==
		0 &&
	    sig != NULL) {
		num = signal_number(sig);
		*status = num > 0 ? 128 + num : 255;
		fail_text(s, "remote %s killed by signal %s",
		    s->interactive ? "shell" : "command", sig);
		libssh2_free(session, sig);
		return 0;
	}
	*status = libssh2_channel_get_exit_status(ch);
	if (*status < 0 || *status > 255)
		*status = 255;
	return 0;
}

/* Reads ~/.config/quarterhour/known_hosts (missing is empty). */
static LIBSSH2_KNOWNHOSTS *
load_known_hosts(struct ssh *s, LIBSSH2_SESSION *session)
{
	LIBSSH2_KNOWNHOSTS *hosts;
	struct stat st;

	if ((hosts = libssh2_knownhost_init(session)) == NULL) {
		fail_text(s, "out of memory");
		return NULL;
	}
	if (stat(s->known_hosts, &st) == -1 && errno == ENOENT)
		return hosts;
	/* A file we cannot read fully could hide a changed key: refuse. */
	if (libssh2_knownhost_readfile(hosts, s->known_hosts,
		LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		fail_text(s, "cannot read %s: %s", s->known_hosts, ssh_error(session));
		libssh2_knownhost_free(hosts);
		return NULL;
	}
	return hosts;
}

/* Tells the loop the new phase. */
static void
set_phase(struct ssh *s, enum ssh_phase phase, int status)
{
	uv_mutex_lock(&s->mu);
	s->phase = phase;
	s->status = status;
	if (phase == SSH_RUNNING)
		s->running = 1;
	wake_loop_locked(s);
	uv_mutex_unlock(&s->mu);
}

/* The client thread: one SSH session from handshake to disconnect. */
static void
client_main(void *arg)
{
	struct ssh *s = arg;
	LIBSSH2_SESSION *session = NULL;
	LIBSSH2_KNOWNHOSTS *hosts = NULL;
	LIBSSH2_CHANNEL *ch = NULL;
	int status = QH_EXIT_FAIL, fl;

	if ((session = libssh2_session_init_ex(NULL, NULL, NULL, s)) == NULL) {
		fail_text(s, "cannot start an SSH session: out of memory");
		goto out;
	}
	/* Blocking calls on a non-blocking socket: libssh2 polls, with a timeout. */
	if ((fl = fcntl(s->sock, F_GETFL)) != -1)
		(void)fcntl(s->sock, F_SETFL, fl | O_NONBLOCK);
	libssh2_session_set_blocking(session, 1);
	libssh2_session_set_timeout(session, SSH_CONNECT_MS);
	if ((hosts = load_known_hosts(s, session)) == NULL)
		goto out;
	prefer_known_types(s, session, hosts);
	if (libssh2_session_handshake(session, s->sock) != 0) {
		if (!stopping(s))
			fail_text(s, "SSH handshake with %s failed: %s", s->target,
			    ssh_error(session));
		goto out;
	}
	if (check_host_key(s, session, hosts) != 0 || authenticate(s, session) != 0 ||
	    (ch = start_channel(s, session)) == NULL)
		goto out;
	set_phase(s, SSH_RUNNING, 0);
	libssh2_session_set_blocking(session, 0);
	if (pump(s, session, ch) == 0)
		(void)finish_channel(s, session, ch, &status);
out:
	if (ch != NULL) {
		libssh2_session_set_blocking(session, 1);
		libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
		(void)libssh2_channel_free(ch);
	}
	if (hosts != NULL)
		libssh2_knownhost_free(hosts);
	if (session != NULL) {
		libssh2_session_set_blocking(session, 1);
		libssh2_session_set_timeout(session, SSH_TEARDOWN_MS);
		if (!stopping(s))
			(void)libssh2_session_disconnect(session, "qh-console: done");
		libssh2_session_free(session);
	}
	/* The loop reads EOF and passes it on to the server. */
	close(s->sock);
	s->sock = -1;
	uv_mutex_lock(&s->mu);
	if (s->err[0] != '\0' && status == 0)
		status = QH_EXIT_FAIL;
	uv_mutex_unlock(&s->mu);
	set_phase(s, SSH_DONE, status);
}

/* ---------------------------------------------------------------- the loop */

static void maybe_end(struct ssh *s);
static void rec_flush(struct ssh *s);

/* The bridge, down: dial channel → socketpair. */

static void down_kick(struct ssh *s);

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	if (status < 0)
		qh_debug("ssh socket shutdown: %s", uv_strerror(status));
}

/* Shuts the socketpair's write side once the dial channel ended and all is written. */
static void
down_maybe_shutdown(struct ssh *s)
{
	if (!s->down_eof || s->down_shut || !s->a_open || s->down_busy ||
	    qh_buf_len(&s->down[s->down_cur]) > 0)
		return;
	s->down_shut = 1;
	if (uv_shutdown(&s->shut_req, (uv_stream_t *)&s->a, on_shutdown) != 0)
		qh_debug("shutdown of the ssh socket failed");
}

static void
down_written(uv_write_t *req, int status)
{
	struct ssh *s = req->data;
	struct qh_buf *b = &s->down[s->down_cur ^ 1];
	size_t n = qh_buf_len(b);

	s->down_busy = 0;
	qh_buf_reset(b);
	tech_consume(s->t, n);
	if (status < 0) {
		/* The client is gone: what comes is dropped (and credited). */
		qh_debug("ssh socket: %s", uv_strerror(status));
		tech_consume(s->t, qh_buf_len(&s->down[s->down_cur]));
		qh_buf_reset(&s->down[s->down_cur]);
		s->down_eof = 1;
		return;
	}
	down_kick(s);
	down_maybe_shutdown(s);
}

/* Starts writing what collected, unless a write is in flight. */
static void
down_kick(struct ssh *s)
{
	struct qh_buf *b = &s->down[s->down_cur];
	uv_buf_t ub;

	if (s->down_busy || qh_buf_len(b) == 0 || !s->a_open)
		return;
	ub = uv_buf_init((char *)qh_buf_ptr(b), (unsigned int)qh_buf_len(b));
	s->down_req.data = s;
	if (uv_write(&s->down_req, (uv_stream_t *)&s->a, &ub, 1, down_written) != 0) {
		tech_consume(s->t, qh_buf_len(b));
		qh_buf_reset(b);
		s->down_eof = 1;
		return;
	}
	s->down_busy = 1;
	s->down_cur ^= 1;
}

/* SSH bytes from the server: to the client thread, credited once written. */
static void
ssh_on_data(struct tech *t, int ext, const uint8_t *p, size_t len)
{
	struct ssh *s = tech_arg(t);
	uv_buf_t ub;
	int n;

	if (ext || !s->a_open || s->down_eof) {
		tech_consume(t, len); /* nobody to take it */
		return;
	}
	if (!s->down_busy && qh_buf_len(&s->down[s->down_cur]) == 0) {
		ub = uv_buf_init((char *)p, (unsigned int)len);
		if ((n = uv_try_write((uv_stream_t *)&s->a, &ub, 1)) > 0) {
			tech_consume(t, (size_t)n);
			p += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return;
	}
	/* At most one window is uncredited, and each buffer holds one. */
	if (qh_buf_put(&s->down[s->down_cur], p, len) != 0) {
		qh_warn("ssh: %zu bytes beyond the window dropped", len);
		tech_consume(t, len);
		return;
	}
	down_kick(s);
}

/* The server's side ended (the agent's connection to it closed). */
static void
ssh_on_eof(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	s->down_eof = 1;
	down_maybe_shutdown(s);
}

/* The bridge, up: socketpair → dial channel. */

static void
up_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct ssh *s = h->data;

	*buf = uv_buf_init((char *)s->up_raw, sizeof(s->up_raw));
}

/* Sends the held bytes, then EOF once the client closed its end. */
static void up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void
up_pump(struct ssh *s)
{
	struct qh_chan *ch = tech_chan(s->t);
	ssize_t n;

	if (ch == NULL) {
		qh_buf_reset(&s->up); /* the dial channel is gone */
		return;
	}
	if (qh_buf_len(&s->up) > 0) {
		n = qh_chan_write(ch, 0, qh_buf_ptr(&s->up), qh_buf_len(&s->up));
		if (n < 0)
			n = (ssize_t)qh_buf_len(&s->up);
		(void)qh_buf_consume(&s->up, (size_t)n);
		if (qh_buf_len(&s->up) > 0)
			return; /* on_writable continues */
	}
	if (s->up_eof) {
		if (!s->up_eof_sent) {
			s->up_eof_sent = 1;
			(void)qh_chan_eof(ch);
		}
		return;
	}
	if (!s->a_reading && s->a_open &&
	    uv_read_start((uv_stream_t *)&s->a, up_alloc, up_read) == 0)
		s->a_reading = 1;
}

/* Straight to the dial channel; what its window does not take waits in `up`. */
static void
up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct ssh *s = st->data;
	struct qh_chan *ch = tech_chan(s->t);
	ssize_t n = 0;

	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(st);
		s->a_reading = 0;
		s->up_eof = 1;
		up_pump(s);
		return;
	}
	if (ch == NULL)
		return; /* the dial channel is gone: dropped */
	if ((n = qh_chan_write(ch, 0, s->up_raw, (size_t)nread)) < 0)
		return;
	if (n == nread)
		return;
	/* Never more than one read is held: reading stops until it is sent. */
	(void)qh_buf_put(&s->up, s->up_raw + n, (size_t)(nread - n));
	uv_read_stop(st);
	s->a_reading = 0;
}

static void
ssh_on_writable(struct tech *t)
{
	up_pump(tech_arg(t));
}

/* Standard input, to the client thread. */

static ssize_t
ssh_in_write(struct tech *t, const uint8_t *p, size_t len)
{
	struct ssh *s = tech_arg(t);
	size_t n = 0;

	uv_mutex_lock(&s->mu);
	if (p == NULL)
		s->in_eof = 1;
	else {
		n = qh_buf_room(&s->in) < len ? qh_buf_room(&s->in) : len;
		if (n > 0)
			(void)qh_buf_put(&s->in, p, n);
		if (n < len)
			s->in_blocked = 1; /* the thread says when it took some */
	}
	uv_mutex_unlock(&s->mu);
	wake_thread(s);
	return (ssize_t)n;
}

/* With a terminal, the escapes of attach; without one, input as it is. */
static void
ssh_on_input(struct tech *t, const uint8_t *p, size_t len, struct qh_buf *out)
{
	struct ssh *s = tech_arg(t);

	if (!s->want_pty) {
		if (p != NULL && qh_buf_put(out, p, len) != 0)
			qh_warn("input of %zu bytes dropped", len);
		return;
	}
	if (tech_escape_filter(&s->esc, p, len, out)) {
		tech_input_flush(t);
		tech_stderr(t, "\r\nqh-console: detached (the session stays open)\r\n");
		tech_finish(t, QH_EXIT_OK);
	}
}

/* The recording. */

/* Moves what the thread recorded to our side, as far as rec_out has room. */
static void
rec_take(struct ssh *s)
{
	size_t n;

	uv_mutex_lock(&s->mu);
	n = qh_buf_len(&s->rec);
	if (n > qh_buf_room(&s->rec_out))
		n = qh_buf_room(&s->rec_out);
	if (n > 0) {
		(void)qh_buf_put(&s->rec_out, qh_buf_ptr(&s->rec), n);
		(void)qh_buf_consume(&s->rec, n);
	}
	uv_mutex_unlock(&s->mu);
}

/*
 * Sends the recorded output as far as the record channel's window takes
 * it (on_writable comes back for the rest). Until the channel is open it
 * waits in the two bounded buffers; once the recording is gone it is
 * dropped.
 */
static void
rec_flush(struct ssh *s)
{
	ssize_t w;

	for (;;) {
		rec_take(s);
		if (s->rec_state == REC_GONE) {
			qh_buf_reset(&s->rec_out);
			return;
		}
		if (s->rec_state != REC_OPEN || qh_buf_len(&s->rec_out) == 0)
			return;
		w = qh_chan_write(s->rec_ch, 0, qh_buf_ptr(&s->rec_out),
		    qh_buf_len(&s->rec_out));
		if (w <= 0)
			return;
		(void)qh_buf_consume(&s->rec_out, (size_t)w);
	}
}

/* Sends MSG RESIZE on the record channel, after the output before it. */
static void
rec_resize(struct ssh *s, unsigned rows, unsigned cols)
{
	struct qh_buf b;

	if (s->rec_state != REC_OPEN || (rows == s->rec_rows && cols == s->rec_cols))
		return;
	rec_flush(s);
	s->rec_rows = rows;
	s->rec_cols = cols;
	qh_buf_init(&b, 64);
	if (qh_msg_begin(&b, QH_MSG_RESIZE) == 0 &&
	    qh_msg_put_u32(&b, QH_K_ROWS, rows) == 0 &&
	    qh_msg_put_u32(&b, QH_K_COLS, cols) == 0)
		(void)qh_chan_send_msg(s->rec_ch, &b);
	qh_buf_release(&b);
}

static void
rec_open_result(struct qh_chan *ch, int err, const struct qh_msg *m)
{
	struct ssh *s = qh_chan_arg(ch);
	char *text = NULL;

	if (err != 0) {
		s->rec_ch = NULL; /* the mux frees it */
		s->rec_state = REC_GONE;
		if (m != NULL)
			(void)qh_msg_get_str(m, QH_K_TEXT, &text);
		tech_say(s->t, "the console cannot record the ssh session: %s",
		    text != NULL ? text : "refused");
		free(text);
		tech_finish(s->t, QH_EXIT_FAIL);
		return;
	}
	s->rec_state = REC_OPEN;
	rec_resize(s, s->rows, s->cols);
	rec_flush(s);
	maybe_end(s);
}

static void
rec_on_data(struct qh_chan *ch, int ext, const uint8_t *p, size_t len)
{
	qh_chan_consume(ch, len); /* the console sends nothing here */
}

static void
rec_on_close(struct qh_chan *ch)
{
	struct ssh *s = qh_chan_arg(ch);

	s->rec_ch = NULL;
	if (s->rec_state == REC_OPEN && !s->done_seen)
		tech_say(s->t, "the console stopped recording the ssh session");
	s->rec_state = REC_GONE;
	maybe_end(s);
}

static void
rec_on_writable(struct qh_chan *ch)
{
	struct ssh *s = qh_chan_arg(ch);

	rec_flush(s);
	maybe_end(s);
}

static const struct qh_chan_ops rec_ops = {
	.on_open_result = rec_open_result,
	.on_data = rec_on_data,
	.on_close = rec_on_close,
	.on_writable = rec_on_writable,
};

/* REQUEST{record}: the console keeps what the client decrypts (DESIGN §3). */
static void
rec_open(struct ssh *s)
{
	struct qh_buf req;

	qh_buf_init(&req, 2048);
	s->rec_rows = s->rows;
	s->rec_cols = s->cols;
	if (qh_msg_begin(&req, QH_MSG_REQUEST) == 0 &&
	    qh_msg_put_str(&req, QH_K_CMD, "record") == 0 &&
	    qh_msg_put_str(&req, QH_K_CODE, s->code) == 0 &&
	    qh_msg_put_str(&req, QH_K_KIND, "ssh") == 0 &&
	    qh_msg_put_u32(&req, QH_K_ROWS, s->rows) == 0 &&
	    qh_msg_put_u32(&req, QH_K_COLS, s->cols) == 0 &&
	    qh_msg_put_str(&req, QH_K_TERM, s->term) == 0 &&
	    qh_msg_put_str(&req, QH_K_TARGET, s->userhost) == 0 &&
	    (s->rec_ch = tech_open_channel(s->t, &req, &rec_ops, s)) != NULL)
		s->rec_state = REC_OPENING;
	else {
		s->rec_state = REC_GONE;
		tech_say(s->t, "cannot ask the console to record the ssh session");
		tech_finish(s->t, QH_EXIT_FAIL);
	}
	qh_buf_release(&req);
}

/* Ends the record channel: EOF, then CLOSE. */
static void
rec_close(struct ssh *s)
{
	if (s->rec_ch != NULL) {
		(void)qh_chan_eof(s->rec_ch);
		qh_chan_close(s->rec_ch);
		s->rec_ch = NULL;
	}
	s->rec_state = REC_GONE;
}

/* Phases and the end. */

/* The technician's terminal has a new size: tell the server and the recording. */
static void
size_changed(struct ssh *s)
{
	uv_tty_t *tty = tech_stdin_tty(s->t);
	int w, hgt;

	if (tty == NULL || uv_tty_get_winsize(tty, &w, &hgt) != 0 || w <= 0 || hgt <= 0 ||
	    w > 1000 || hgt > 1000)
		return;
	uv_mutex_lock(&s->mu);
	if ((unsigned)w != s->cols || (unsigned)hgt != s->rows) {
		s->cols = (unsigned)w;
		s->rows = (unsigned)hgt;
		s->resize = 1;
	}
	uv_mutex_unlock(&s->mu);
	wake_thread(s);
	rec_resize(s, (unsigned)hgt, (unsigned)w);
}

static void
on_winch(uv_signal_t *h, int signum)
{
	size_changed(h->data);
}

/* The shell or command runs: the terminal, the recording, input. */
static void
on_running(struct ssh *s)
{
	struct tech *t = s->t;
	int r;

	s->running_seen = 1;
	if ((r = tech_stdin_open(t)) != 0)
		qh_debug("standard input: %s", qh_strerror(r));
	if (s->want_pty && tech_stdin_tty(t) != NULL) {
		if ((r = tech_set_raw(t)) != 0)
			qh_warn("cannot put the terminal into raw mode: %s",
			    qh_strerror(r));
		if (uv_signal_init(tech_loop(t), &s->winch) == 0) {
			s->winch_open = 1;
			s->winch.data = s;
			(void)uv_signal_start(&s->winch, on_winch, SIGWINCH);
			uv_unref((uv_handle_t *)&s->winch);
		}
		size_changed(s); /* in case it changed meanwhile */
	}
	if (s->interactive)
		rec_open(s);
	tech_input_resume(t);
}

/* Gives up on the recording's tail. */
static void
on_drain_timeout(uv_timer_t *h)
{
	struct ssh *s = h->data;

	tech_say(s->t, "the end of the recording could not be sent");
	rec_close(s);
	maybe_end(s);
}

/*
 * Once the thread is done and the recording sent, closes the record
 * channel and ends the command with the thread's status.
 */
static void
maybe_end(struct ssh *s)
{
	int pending;

	if (!s->done_seen)
		return;
	uv_mutex_lock(&s->mu);
	pending = qh_buf_len(&s->rec) > 0;
	uv_mutex_unlock(&s->mu);
	if (s->rec_state == REC_OPENING ||
	    (s->rec_state == REC_OPEN && (pending || qh_buf_len(&s->rec_out) > 0))) {
		if (s->drain_open && !uv_is_active((uv_handle_t *)&s->drain))
			uv_timer_start(&s->drain, on_drain_timeout, SSH_DRAIN_MS, 0);
		return;
	}
	rec_close(s);
	tech_finish(s->t, s->end_status);
}

/* The thread finished: report its failure, or the end of the connection. */
static void
on_done(struct ssh *s, int status, const char *err)
{
	uint64_t dropped;

	s->done_seen = 1;
	if (!s->thread_joined) {
		uv_thread_join(&s->thread); /* it returns right after saying so */
		s->thread_joined = 1;
	}
	s->end_status = status;
	uv_mutex_lock(&s->mu);
	dropped = s->rec_dropped;
	uv_mutex_unlock(&s->mu);
	if (dropped > 0)
		tech_say(s->t, "warning: %llu bytes of terminal output were not recorded",
		    (unsigned long long)dropped);
	if (err[0] != '\0')
		tech_say(s->t, "%s", err);
	else if (s->want_pty)
		tech_say(s->t, "connection to %s closed", s->userhost);
	rec_flush(s);
	maybe_end(s);
}

/* The thread has news: phases, room for input, output to record. */
static void
on_async(uv_async_t *h)
{
	struct ssh *s = h->data;
	char err[SSH_ERR_MAX];
	enum ssh_phase phase;
	uint64_t dropped;
	int resume, status, running;

	uv_mutex_lock(&s->mu);
	phase = s->phase;
	running = s->running;
	status = s->status;
	snprintf(err, sizeof(err), "%s", s->err);
	resume = s->in_resume;
	s->in_resume = 0;
	dropped = s->rec_dropped;
	uv_mutex_unlock(&s->mu);

	/* Also when it is over already: the recording still gets its output. */
	if (running && !s->running_seen)
		on_running(s);
	if (resume)
		tech_input_resume(s->t);
	if (dropped > 0 && s->rec_warned == 0) {
		tech_say(s->t,
		    "warning: terminal output is not recorded while the console "
		    "does not keep up");
		s->rec_warned = dropped;
	}
	rec_flush(s);
	if (phase == SSH_DONE && !s->done_seen)
		on_done(s, status, err);
}

/* tech_ops. */

/* The console opened the dial: start the client thread on the socketpair. */
static void
ssh_on_open(struct tech *t)
{
	struct ssh *s = tech_arg(t);
	int r;

	qh_debug("dial to %s open", s->target);
	if ((r = uv_thread_create(&s->thread, client_main, s)) != 0) {
		tech_say(t, "cannot start the SSH client: %s", uv_strerror(r));
		tech_finish(t, QH_EXIT_FAIL);
		return;
	}
	s->thread_started = 1; /* s->sock is the thread's now */
	if (uv_read_start((uv_stream_t *)&s->a, up_alloc, up_read) == 0)
		s->a_reading = 1;
}

/* The dial channel closed: the thread sees EOF and ends; its end is ours. */
static int
ssh_on_end(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	s->down_eof = 1;
	down_maybe_shutdown(s);
	if (!s->thread_started)
		return QH_EXIT_FAIL;
	return TECH_PENDING;
}

/* Ending, for whatever reason: stop the thread, close our handles. */
static void
ssh_on_stop(struct tech *t)
{
	struct ssh *s = tech_arg(t);

	uv_mutex_lock(&s->mu);
	s->stop = 1;
	s->loop_alive = 0;
	uv_mutex_unlock(&s->mu);
	wake_thread(s);
	if (s->rec_state == REC_OPEN)
		rec_flush(s);
	rec_close(s);
	if (s->async_open) {
		s->async_open = 0;
		uv_close((uv_handle_t *)&s->async, NULL);
	}
	if (s->winch_open) {
		s->winch_open = 0;
		uv_close((uv_handle_t *)&s->winch, NULL);
	}
	if (s->drain_open) {
		s->drain_open = 0;
		uv_close((uv_handle_t *)&s->drain, NULL);
	}
	/* The client's blocking calls end when its socket reads EOF. */
	if (s->a_open) {
		s->a_open = 0;
		uv_close((uv_handle_t *)&s->a, NULL);
	}
}

static const struct tech_ops ssh_ops = {
	.on_open = ssh_on_open,
	.on_end = ssh_on_end,
	.on_stop = ssh_on_stop,
	.on_input = ssh_on_input,
	.on_data = ssh_on_data,
	.on_eof = ssh_on_eof,
	.on_writable = ssh_on_writable,
	.in_write = ssh_in_write,
};

/* ------------------------------------------------------------- the command */

/* $HOME, else the password database's. */
static int
home_dir(char *out, size_t len)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home == NULL || *home == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return QH_ERR_NOT_FOUND;
		home = pw->pw_dir;
	}
	return (size_t)snprintf(out, len, "%s", home) < len ? 0 : QH_ERR_TOO_LARGE;
}

/* Makes dir (mode 0700) unless it exists. */
static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

/* ~/.config/quarterhour/known_hosts, its directories made 0700. */
static int
known_hosts_path(struct qh_cli *c, struct ssh *s)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/.config", s->home) >= sizeof(dir) ||
	    make_dir(dir) != 0)
		return qh_cli_fail(c, "cannot make %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(dir, sizeof(dir), "%s/.config/quarterhour", s->home) >=
		sizeof(dir) ||
	    make_dir(dir) != 0)
		return qh_cli_fail(c, "cannot make %s: %s", dir, strerror(errno));
	if ((size_t)snprintf(s->known_hosts, sizeof(s->known_hosts), "%s/known_hosts",
		dir) >= sizeof(s->known_hosts))
		return qh_cli_fail(c, "the path of the known_hosts file is too long");
	return 0;
}

/* USER@HOST (or HOST: the local user), -p, the dial target. */
static int
parse_destination(struct qh_cli *c, struct ssh *s, const char *dest)
{
	const char *at = strrchr(dest, '@'), *host, *port = qh_cli_opt(c, "port");
	const char *user = NULL;
	struct passwd *pw;
	char check[300];
	long long v = SSH_DEFAULT_PORT;
	size_t hlen;
	int p;

	if (at != NULL) {
		if (at == dest || (size_t)(at - dest) >= sizeof(s->user))
			return qh_cli_usage(c,
			    "USER@HOST: the user name is empty or too long");
		memcpy(s->user, dest, (size_t)(at - dest));
		s->user[at - dest] = '\0';
		host = at + 1;
	} else {
		if ((user = getenv("USER")) == NULL || *user == '\0')
			user = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : NULL;
		if (user == NULL || strlen(user) >= sizeof(s->user))
			return qh_cli_usage(c, "give the remote user as USER@HOST");
		snprintf(s->user, sizeof(s->user), "%s", user);
		host = dest;
	}
	hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(s->host))
		return qh_cli_usage(c, "USER@HOST: the host is empty or too long");
	memcpy(s->host, host, hlen);
	s->host[hlen] = '\0';
	if (port != NULL && qh_parse_int(port, 1, 65535, &v) != 0)
		return qh_cli_usage(c, "-p wants a port number (1-65535)");
	s->port = (int)v;
	snprintf(s->target, sizeof(s->target),
	    strchr(s->host, ':') != NULL ? "[%s]:%d" : "%s:%d", s->host, s->port);
	if (qh_split_hostport(s->target, check, sizeof(check), &p) != 0)
		return qh_cli_usage(c, "HOST is not a host name or address");
	snprintf(s->userhost, sizeof(s->userhost), "%s@%s", s->user, s->target);
	return 0;
}

/* Joins the command's words with spaces, as OpenSSH does. */
static int
join_command(struct qh_cli *c, struct ssh *s)
{
	size_t used = 0, n;
	int i;

	s->command[0] = '\0';
	for (i = 2; i < c->argc; i++) {
		n = strlen(c->argv[i]);
		if (used + n + 2 > sizeof(s->command))
			return qh_cli_usage(c, "the command line is too long");
		if (used > 0)
			s->command[used++] = ' ';
		memcpy(s->command + used, c->argv[i], n);
		used += n;
		s->command[used] = '\0';
	}
	s->interactive = c->argc <= 2;
	return 0;
}

/* 1 when questions can be asked: stdin is a terminal and /dev/tty opens. */
static int
terminal_present(void)
{
	int fd;

	if (!isatty(STDIN_FILENO))
		return 0;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return 0;
	close(fd);
	return 1;
}

/* Everything the command made, whatever happened. */
static void
ssh_free(struct ssh *s)
{
	if (s->sock != -1)
		close(s->sock);
	if (s->a_fd != -1)
		close(s->a_fd);
	if (s->wake[0] != -1)
		close(s->wake[0]);
	if (s->wake[1] != -1)
		close(s->wake[1]);
	if (s->mu_init)
		uv_mutex_destroy(&s->mu);
	qh_buf_release(&s->in);
	qh_buf_release(&s->rec);
	qh_buf_release(&s->rec_out);
	qh_buf_release(&s->up);
	qh_buf_release(&s->down[0]);
	qh_buf_release(&s->down[1]);
	free(s);
}

/* Sets up the socketpair's loop end, the wake-ups and the timer on t's loop. */
static int
loop_setup(struct ssh *s)
{
	uv_loop_t *loop = tech_loop(s->t);
	int r;

	if ((r = uv_pipe_init(loop, &s->a, 0)) != 0)
		return qh_err_from_uv(r);
	s->a.data = s;
	s->a_open = 1;
	if ((r = uv_pipe_open(&s->a, s->a_fd)) != 0)
		return qh_err_from_uv(r);
	s->a_fd = -1;
	if ((r = uv_async_init(loop, &s->async, on_async)) != 0)
		return qh_err_from_uv(r);
	s->async.data = s;
	s->async_open = 1;
	s->loop_alive = 1;
	if ((r = uv_timer_init(loop, &s->drain)) != 0)
		return qh_err_from_uv(r);
	s->drain.data = s;
	s->drain_open = 1;
	return 0;
}

int
cmd_ssh(struct qh_cli *c)
{
	const char *key = qh_cli_opt(c, "identity");
	uint32_t flags = qh_cli_flag(c, "allow-overdraft") ? TECH_FLAG_OVERDRAFT : 0;
	struct ssh *s = NULL;
	struct winsize ws;
	struct qh_buf req;
	int fds[2], status, r, lib = 0;

	qh_buf_init(&req, 2048);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return qh_cli_fail(c, "out of memory");
	s->sock = s->a_fd = s->wake[0] = s->wake[1] = -1;
	qh_buf_init(&s->in, SSH_IN_MAX);
	qh_buf_init(&s->rec, SSH_REC_MAX);
	qh_buf_init(&s->rec_out, SSH_REC_OUT_MAX);
	qh_buf_init(&s->up, SSH_UP_MAX);
	qh_buf_init(&s->down[0], QH_MUX_WINDOW);
	qh_buf_init(&s->down[1], QH_MUX_WINDOW);
	tech_escape_init(&s->esc);

	if (tech_parse_code(c->argv[0], s->code) != 0) {
		status = qh_cli_usage(c, "CODE is six digits: 482913 or \"482 913\"");
		goto out;
	}
	if ((status = parse_destination(c, s, c->argv[1])) != 0 ||
	    (status = join_command(c, s)) != 0)
		goto out;
	if (home_dir(s->home, sizeof(s->home)) != 0) {
		status = qh_cli_fail(c, "cannot find the home directory; set HOME");
		goto out;
	}
	if (key != NULL) {
		if (access(key, R_OK) != 0) {
			status = qh_cli_fail(c, "cannot read the key %s: %s", key,
			    strerror(errno));
			goto out;
		}
		if ((size_t)snprintf(s->keyfile, sizeof(s->keyfile), "%s", key) >=
		    sizeof(s->keyfile)) {
			status = qh_cli_usage(c, "-i: the path is too long");
			goto out;
		}
	}
	snprintf(s->term, sizeof(s->term), "%s", tech_term_name());
	s->can_prompt = terminal_present();
	s->want_pty = s->interactive && isatty(STDIN_FILENO);
	s->rows = 24;
	s->cols = 80;
	if (s->want_pty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0 && ws.ws_row <= 1000 && ws.ws_col <= 1000) {
		s->rows = ws.ws_row;
		s->cols = ws.ws_col;
	}

	if (libssh2_init(0) != 0) {
		status = qh_cli_fail(c, "cannot initialise libssh2");
		goto out;
	}
	lib = 1;
	if (uv_mutex_init(&s->mu) != 0) {
		status = qh_cli_fail(c, "cannot make a mutex");
		goto out;
	}
	s->mu_init = 1;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) {
		status = qh_cli_fail(c, "cannot make a socket pair: %s", strerror(errno));
		goto out;
	}
	s->a_fd = fds[0];
	s->sock = fds[1];

	if ((status = tech_new(c, &ssh_ops, s, &s->t)) != 0 ||
	    (status = known_hosts_path(c, s)) != 0)
		goto out;
	if ((r = loop_setup(s)) != 0) {
		status =
		    qh_cli_fail(c, "cannot set up the SSH bridge: %s", qh_strerror(r));
		goto out;
	}
	if (qh_msg_begin(&req, QH_MSG_REQUEST) != 0 ||
	    qh_msg_put_str(&req, QH_K_CMD, "dial") != 0 ||
	    qh_msg_put_str(&req, QH_K_CODE, s->code) != 0 ||
	    qh_msg_put_str(&req, QH_K_TARGET, s->target) != 0 ||
	    qh_msg_put_u32(&req, QH_K_FLAGS, flags) != 0) {
		status = qh_cli_fail(c, "cannot build the request");
		goto out;
	}
	status = tech_run(s->t, &req);
out:
	if (s->thread_started && !s->thread_joined) {
		/* Told to stop, its socket closed: it ends promptly. */
		uv_mutex_lock(&s->mu);
		s->stop = 1;
		s->loop_alive = 0;
		uv_mutex_unlock(&s->mu);
		wake_thread(s);
		uv_thread_join(&s->thread);
	}
	if (s->t != NULL) {
		/* Before tech_free: no async send may find a closed loop. */
		uv_mutex_lock(&s->mu);
		s->loop_alive = 0;
		uv_mutex_unlock(&s->mu);
	}
	tech_free(s->t); /* gives the terminal back on every path */
	ssh_free(s);
	if (lib)
		libssh2_exit();
	qh_buf_release(&req);
	return status;
}
