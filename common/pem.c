/*
 * The PEM files of the deployment's PKI (see qh/pem.h): keys and
 * certificates one per file, and bundles (the console's address, a
 * certificate, its key and the CA in one file) for technicians and agents.
 * Files holding keys are created 0600 with O_EXCL, synced before they
 * count as written, removed when writing fails, and refused on load when
 * group or others may read or write them; a bundle is read with a bound
 * on its size and wiped from memory after parsing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "qh/addr.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "qh/pem.h"
#include "qh/tmpfile.h"

#define PEM_BUNDLE_MAX (64 * 1024) /* bound on a bundle file */

/*
 * Creates path exclusively with mode and returns it as a stdio stream;
 * QH_ERR_EXISTS if it is already there.
 */
static int
create_file(const char *path, mode_t mode, FILE **fp)
{
	int fd;

	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
		 mode)) == -1) {
		if (errno == EEXIST)
			return QH_ERR_EXISTS;
		qh_error("%s: %s", path, strerror(errno));
		return errno == ENOENT ? QH_ERR_NOT_FOUND
		    : errno == EACCES  ? QH_ERR_PERM
				       : QH_ERR_SYSTEM;
	}
	/* Exactly mode, whatever the umask. */
	if (fchmod(fd, mode) == -1 || (*fp = fdopen(fd, "w")) == NULL) {
		qh_error("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return QH_ERR_SYSTEM;
	}
	return 0;
}

/* Flushes, syncs and closes a file from create_file(); removes it on error. */
static int
finish_file(const char *path, FILE *f, int r)
{
	if (r == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
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

int
qh_pki_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = NULL;
	int r;

	if (key == NULL)
		return QH_ERR_ARG;
	if ((r = create_file(path, 0600, &f)) != 0)
		return r;
	/* PKCS#8, unencrypted: the file mode protects it. */
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, path);
		r = QH_ERR_CRYPTO;
	}
	return finish_file(path, f, r);
}

int
qh_pki_write_cert(const char *path, X509 *cert)
{
	FILE *f = NULL;
	int r;

	if (cert == NULL)
		return QH_ERR_ARG;
	if ((r = create_file(path, 0644, &f)) != 0)
		return r;
	if (PEM_write_X509(f, cert) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, path);
		r = QH_ERR_CRYPTO;
	}
	return finish_file(path, f, r);
}

/*
 * Opens path for reading as a regular file. With private set, refuses a
 * file that group or others may read or write (QH_ERR_PERM, logged).
 */
static int
open_file(const char *path, int private QH_UNUSED, FILE **fp, off_t *sizep)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		r = errno == ENOENT   ? QH_ERR_NOT_FOUND
		    : errno == EACCES ? QH_ERR_PERM
				      : QH_ERR_SYSTEM;
		qh_error("%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) == -1) {
		qh_error("%s: %s", path, strerror(errno));
		close(fd);
		return QH_ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode)) {
		qh_error("%s: not a regular file", path);
		close(fd);
		return QH_ERR_FORMAT;
	}
	/*
	 * Windows keeps no such bits (msvcrt shows 0666): there the
	 * directory's ACL, made when the agent enrolled, keeps others out.
	 */
#ifndef _WIN32
	if (private && (st.st_mode & 077) != 0) {
		qh_error("%s: mode %04o lets group or others at a private key; "
			 "chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return QH_ERR_PERM;
	}
#else
#endif
	if ((*fp = fdopen(fd, "r")) == NULL) {
		qh_error("%s: %s", path, strerror(errno));
		close(fd);
		return QH_ERR_SYSTEM;
	}
	if (sizep != NULL)
		*sizep = st.st_size;
	return 0;
}

/* Loads a PEM private key from a file only its owner can read or write. */
int
qh_pki_load_key(const char *path, EVP_PKEY **keyp)
{
	EVP_PKEY *key;
	FILE *f = NULL;
	int r;

	if ((r = open_file(path, 1, &f, NULL)) != 0)
		return r;
	if ((key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		qh_error("%s: no private key in PEM format", path);
		r = QH_ERR_FORMAT;
	} else
		*keyp = key;
	fclose(f);
	return r;
}

int
qh_pki_load_cert(const char *path, X509 **certp)
{
	X509 *cert;
	FILE *f = NULL;
	int r;

	if ((r = open_file(path, 0, &f, NULL)) != 0)
		return r;
	if ((cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		qh_error("%s: no certificate in PEM format", path);
		r = QH_ERR_FORMAT;
	} else
		*certp = cert;
	fclose(f);
	return r;
}

/* 1 if s is a HOST:PORT that qh_split_hostport accepts. */
static int
hostport_valid(const char *s)
{
	char host[256];
	int port;

	return qh_split_hostport(s, host, sizeof(host), &port) == 0;
}

/* QH_ERR_ARG unless every part of b is there and the key is the certificate's. */
static int
bundle_check(const struct qh_bundle *b)
{
	if (b == NULL || b->cert == NULL || b->key == NULL || b->ca == NULL ||
	    memchr(b->console, '\0', sizeof(b->console)) == NULL ||
	    !hostport_valid(b->console))
		return QH_ERR_ARG;
	if (X509_check_private_key(b->cert, b->key) != 1) {
		ERR_clear_error();
		qh_error("the key does not belong to the certificate");
		return QH_ERR_ARG;
	}
	return 0;
}

/* Writes the console line, certificate, key and CA certificate to f. */
static int
bundle_put(FILE *f, const char *path, const struct qh_bundle *b)
{
	if (fprintf(f, "# console: %s\n", b->console) < 0) {
		qh_error("%s: %s", path, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	if (PEM_write_X509(f, b->cert) != 1 ||
	    PEM_write_PrivateKey(f, b->key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_X509(f, b->ca) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, path);
		return QH_ERR_CRYPTO;
	}
	return 0;
}

/* Writes the console line, certificate, key and CA certificate to a new 0600 file. */
int
qh_bundle_write(const char *path, const struct qh_bundle *b)
{
	FILE *f = NULL;
	int r;

	if ((r = bundle_check(b)) != 0)
		return r;
	if ((r = create_file(path, 0600, &f)) != 0)
		return r;
	return finish_file(path, f, bundle_put(f, path, b));
}

/* What replace_file writes: one of the three kinds of file. */
struct replacement {
	const struct qh_bundle *bundle;
	EVP_PKEY *key;
	X509 *cert;
};

/*
 * Writes what rp holds to a temporary file beside path, syncs it and
 * renames it over path with mode: all of it or nothing replaces path.
 */
static int
replace_file(const char *path, mode_t mode, const struct replacement *rp)
{
	struct qh_tmpfile tf;
	FILE *f = NULL;
	int fd, r = QH_ERR_SYSTEM;

	if (qh_tmpfile_open(&tf, path) != 0) {
		qh_error("%s: %s", path, strerror(errno));
		return errno == ENOENT ? QH_ERR_NOT_FOUND
		    : errno == EACCES  ? QH_ERR_PERM
				       : QH_ERR_SYSTEM;
	}
	if ((fd = dup(tf.fd)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		qh_error("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	if (rp->bundle != NULL)
		r = bundle_put(f, path, rp->bundle);
	else if ((rp->key != NULL
			 ? PEM_write_PrivateKey(f, rp->key, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_X509(f, rp->cert)) != 1) {
		qh_log_ssl_errors(QH_LOG_ERROR, __func__, path);
		r = QH_ERR_CRYPTO;
	} else
		r = 0;
	if (fflush(f) != 0 || fsync(tf.fd) != 0) {
		qh_error("%s: %s", path, strerror(errno));
		r = r != 0 ? r : QH_ERR_SYSTEM;
	}
	fclose(f);
	if (r == 0 && qh_tmpfile_commit(&tf, mode) != 0) {
		qh_error("%s: %s", path, strerror(errno));
		r = QH_ERR_SYSTEM;
	}
out:
	qh_tmpfile_abort(&tf); /* nothing after a commit */
	return r;
}

int
qh_bundle_replace(const char *path, const struct qh_bundle *b)
{
	struct replacement rp = { b, NULL, NULL };
	int r;

	if ((r = bundle_check(b)) != 0)
		return r;
	return replace_file(path, 0600, &rp);
}

int
qh_pki_replace_key(const char *path, EVP_PKEY *key)
{
	struct replacement rp = { NULL, key, NULL };

	return key == NULL ? QH_ERR_ARG : replace_file(path, 0600, &rp);
}

int
qh_pki_replace_cert(const char *path, X509 *cert)
{
	struct replacement rp = { NULL, NULL, cert };

	return cert == NULL ? QH_ERR_ARG : replace_file(path, 0644, &rp);
}

/* Reads a bundle (bounded), checks its first line and that key and certificate match. */
int
qh_bundle_load(const char *path, struct qh_bundle *b)
{
	static const char prefix[] = "# console: ";
	FILE *f = NULL;
	BIO *bio = NULL;
	char *data = NULL, *nl;
	size_t len = 0, hlen;
	off_t size = 0;
	int r;

	memset(b, 0, sizeof(*b));
	if ((r = open_file(path, 1, &f, &size)) != 0)
		return r;
	r = QH_ERR_FORMAT;
	if (size <= 0 || size > PEM_BUNDLE_MAX) {
		qh_error("%s: not a bundle (size %lld)", path, (long long)size);
		goto out;
	}
	if ((data = malloc((size_t)size + 1)) == NULL) {
		r = QH_ERR_NOMEM;
		goto out;
	}
	len = fread(data, 1, (size_t)size, f);
	if (ferror(f)) {
		qh_error("%s: %s", path, strerror(errno));
		r = QH_ERR_SYSTEM;
		goto out;
	}
	data[len] = '\0';

	if (strncmp(data, prefix, sizeof(prefix) - 1) != 0 ||
	    (nl = strchr(data, '\n')) == NULL) {
		qh_error("%s: not a bundle: the first line is not \"%sHOST:PORT\"", path,
		    prefix);
		goto out;
	}
	hlen = (size_t)(nl - data) - (sizeof(prefix) - 1);
	if (hlen > 0 && data[sizeof(prefix) - 1 + hlen - 1] == '\r')
		hlen--;
	if (hlen >= sizeof(b->console)) {
		qh_error("%s: console address too long", path);
		goto out;
	}
	memcpy(b->console, data + sizeof(prefix) - 1, hlen);
	b->console[hlen] = '\0';
	if (!hostport_valid(b->console)) {
		qh_error("%s: bad console address in the first line", path);
		goto out;
	}

	if ((bio = BIO_new_mem_buf(nl + 1, (int)(len - (size_t)(nl + 1 - data)))) ==
	    NULL) {
		r = QH_ERR_NOMEM;
		goto out;
	}
	if ((b->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (b->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    (b->ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		qh_error("%s: a bundle holds a certificate, its key and the CA "
			 "certificate, in that order",
		    path);
		goto out;
	}
	if (X509_check_private_key(b->cert, b->key) != 1) {
		ERR_clear_error();
		qh_error("%s: the key does not belong to the certificate", path);
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		qh_bundle_free(b);
	BIO_free(bio);
	if (data != NULL) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	fclose(f);
	return r;
}

void
qh_bundle_free(struct qh_bundle *b)
{
	if (b == NULL)
		return;
	X509_free(b->cert);
	EVP_PKEY_free(b->key);
	X509_free(b->ca);
	memset(b, 0, sizeof(*b));
}
