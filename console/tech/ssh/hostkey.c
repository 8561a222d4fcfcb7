/*
 * Host keys for qh-console ssh, as OpenSSH handles them: the technician's
 * own ~/.config/quarterhour/known_hosts (OpenSSH's format), SHA-256
 * fingerprints as OpenSSH prints them, the host-key methods of the known
 * types offered first, a changed key refused with both fingerprints, and a
 * new one shown and confirmed on the terminal before it is appended (with
 * OpenSSH's warning when a key of another type is known for the host).
 * Runs on the client thread (see ssh.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "qh/log.h"
#include "ssh.h"

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

void
ssh_hostkey_prefer(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts)
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
	if (ssh_write_fd(s, fd, line, outlen) == 0 && fsync(fd) == 0)
		r = 0;
	close(fd);
	return r;
}

/*
 * Finds a key of another type known for this host (the offered type is
 * not): libssh2 matches any type when the typemask has none, and then
 * answers MISMATCH with the first entry of the host, hashed names and
 * "[host]:port" included. Fills its type and fingerprint and returns 1;
 * 0 when no key of the host is known at all.
 */
static int
other_type_known(struct ssh *s, LIBSSH2_KNOWNHOSTS *hosts, const char *key, size_t keylen,
    const char **other_type, char *other_fp, size_t len)
{
	struct libssh2_knownhost *other = NULL;

	if (libssh2_knownhost_checkp(hosts, s->host, s->port, key, keylen,
		LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
		&other) != LIBSSH2_KNOWNHOST_CHECK_MISMATCH ||
	    other == NULL)
		return 0;
	*other_type = key_type_name(other->typemask & LIBSSH2_KNOWNHOST_KEY_MASK);
	known_fingerprint(other->key != NULL ? other->key : "", other_fp, len);
	return 1;
}

int
ssh_hostkey_check(struct ssh *s, LIBSSH2_SESSION *session, LIBSSH2_KNOWNHOSTS *hosts)
{
	struct libssh2_knownhost *known = NULL;
	const unsigned char *hash;
	const char *key, *other_type = NULL;
	char name[300], fp[128], old_fp[128], text[2 * PATH_MAX + 1024], answer[16];
	char other[PATH_MAX + 512] = "";
	size_t keylen = 0;
	int keytype = 0, type, rc;

	known_name(s, name, sizeof(name));
	if ((key = libssh2_session_hostkey(session, &keylen, &keytype)) == NULL ||
	    (hash = (const unsigned char *)libssh2_hostkey_hash(session,
		 LIBSSH2_HOSTKEY_HASH_SHA256)) == NULL) {
		ssh_fail(s, "%s offered no usable host key", name);
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
		ssh_fail(s,
		    "the host key of %s has CHANGED: known %s key %s, offered %s "
		    "key %s; refusing to connect (if the change is expected, remove the "
		    "old entry from %s)",
		    name, key_type_name(type), old_fp, key_type_name(type), fp,
		    s->known_hosts);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		ssh_fail(s, "cannot check the host key of %s: %s", name,
		    ssh_error(session));
		return -1;
	}
	/* As OpenSSH says it: another type known is not the same as nothing known. */
	if (other_type_known(s, hosts, key, keylen, &other_type, old_fp, sizeof(old_fp)))
		snprintf(other, sizeof(other),
		    "; keys of different type are already known for this host "
		    "(%s key %s in %s)",
		    other_type, old_fp, s->known_hosts);
	if (!s->can_prompt) {
		ssh_fail(s,
		    "the host key of %s is not known (%s key %s)%s; refusing without "
		    "a terminal to confirm it (connect once from a terminal, or add it "
		    "to %s)",
		    name, key_type_name(type), fp, other, s->known_hosts);
		return -1;
	}
	if (other_type != NULL)
		snprintf(text, sizeof(text),
		    "WARNING: %s key found for host %s\n"
		    "in %s\n"
		    "%s key fingerprint %s.\n"
		    "The authenticity of host '%s' can't be established\n"
		    "but keys of different type are already known for this host.\n"
		    "%s key fingerprint is %s.\n",
		    other_type, name, s->known_hosts, other_type, old_fp, name,
		    key_type_name(type), fp);
	else
		snprintf(text, sizeof(text),
		    "The authenticity of host '%s' can't be established.\n"
		    "%s key fingerprint is %s.\n",
		    name, key_type_name(type), fp);
	ssh_tell_tty(s, text);
	if (ssh_ask_tty(s, "Trust this host key? [y/N] ", 1, answer, sizeof(answer)) !=
		0 ||
	    (strcasecmp(answer, "y") != 0 && strcasecmp(answer, "yes") != 0)) {
		ssh_fail(s, "the host key of %s (%s key %s) was not accepted", name,
		    key_type_name(type), fp);
		return -1;
	}
	if (remember_key(s, hosts, key, keylen, type) != 0) {
		ssh_fail(s, "cannot add the host key to %s: %s", s->known_hosts,
		    strerror(errno));
		return -1;
	}
	snprintf(text, sizeof(text), "Added %s to %s.\n", name, s->known_hosts);
	ssh_tell_tty(s, text);
	return 0;
}

LIBSSH2_KNOWNHOSTS *
ssh_known_hosts_load(struct ssh *s, LIBSSH2_SESSION *session)
{
	LIBSSH2_KNOWNHOSTS *hosts;
	struct stat st;

	if ((hosts = libssh2_knownhost_init(session)) == NULL) {
		ssh_fail(s, "out of memory");
		return NULL;
	}
	if (stat(s->known_hosts, &st) == -1 && errno == ENOENT)
		return hosts;
	/* A file we cannot read fully could hide a changed key: refuse. */
	if (libssh2_knownhost_readfile(hosts, s->known_hosts,
		LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		ssh_fail(s, "cannot read %s: %s", s->known_hosts, ssh_error(session));
		libssh2_knownhost_free(hosts);
		return NULL;
	}
	return hosts;
}
