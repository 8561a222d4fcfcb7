/*
 * Authentication for qh-console ssh, in OpenSSH's order: the identities
 * of the ssh-agent, then a key file (-i, or id_ed25519, id_ecdsa and
 * id_rsa in ~/.ssh, asking for a passphrase when one is needed), then
 * keyboard-interactive or password on the terminal, three tries. Secrets
 * typed are wiped once used. Runs on the client thread (see ssh.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>

#include "ssh.h"

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
		if (ssh_stopping(s))
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
	if (ssh_ask_tty(s, prompt, 0, pass, sizeof(pass)) != 0)
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
		if (ssh_stopping(s))
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
		ssh_tell_tty(s, text);
	}
	if (instruction_len > 0) {
		printable(text, sizeof(text) - 1, instruction, (size_t)instruction_len);
		strcat(text, "\n");
		ssh_tell_tty(s, text);
	}
	for (i = 0; i < num_prompts; i++) {
		responses[i].text = NULL;
		responses[i].length = 0;
		printable(text, sizeof(text), prompts[i].text, prompts[i].length);
		if (ssh_ask_tty(s, text, prompts[i].echo, answer, sizeof(answer)) != 0)
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
	for (i = 0; i < SSH_PASSWORD_TRIES && !ssh_stopping(s); i++) {
		if (has_method(methods, "keyboard-interactive")) {
			rc = libssh2_userauth_keyboard_interactive_ex(session, s->user,
			    ulen, kbd_callback);
		} else {
			snprintf(prompt, sizeof(prompt), "%s@%s's password: ", s->user,
			    s->host);
			if (ssh_ask_tty(s, prompt, 0, pass, sizeof(pass)) != 0)
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
			ssh_tell_tty(s, "Permission denied, please try again.\n");
	}
	return -1;
}

int
ssh_authenticate(struct ssh *s, LIBSSH2_SESSION *session)
{
	char methods[256];
	const char *list;

	list = libssh2_userauth_list(session, s->user, (unsigned)strlen(s->user));
	if (list == NULL) {
		if (libssh2_userauth_authenticated(session))
			return 0; /* "none" was enough */
		ssh_fail(s, "authentication with %s failed: %s", s->host,
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
	ssh_fail(s, "%s@%s: permission denied (%s)", s->user, s->host, methods);
	return -1;
}
