/*
 * A ticket attachment received into a new file, checked before it gets
 * its name (see qh/fetch.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/fetch.h"

int
qh_fetch_open(struct qh_fetch *f, const char *out, uint64_t size, const char *sha256)
{
#ifndef _WIN32
	struct stat st;
#endif

	memset(f, 0, sizeof(*f));
	f->tf.fd = -1;
	f->size = size;
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
#ifndef _WIN32
	/* Early, for a clear answer before anything is sent; the link checks again. */
	if (lstat(out, &st) == 0)
		return QH_ERR_EXISTS;
#endif
	if ((f->md = EVP_MD_CTX_new()) == NULL)
		return QH_ERR_NOMEM;
	if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(f->md);
		f->md = NULL;
		return QH_ERR_NOMEM;
	}
	if (qh_tmpfile_open(&f->tf, out) != 0) {
		EVP_MD_CTX_free(f->md);
		f->md = NULL;
		return QH_ERR_SYSTEM;
	}
	return 0;
}

int
qh_fetch_write(struct qh_fetch *f, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t w;

	if (len > f->size - f->got)
		return QH_ERR_TOO_LARGE;
	if (EVP_DigestUpdate(f->md, p, len) != 1)
		return QH_ERR_NOMEM;
	while (len > 0) {
		if ((w = write(f->tf.fd, b, len)) < 0) {
			if (errno == EINTR)
				continue;
			return QH_ERR_SYSTEM;
		}
		b += w;
		len -= (size_t)w;
		f->got += (uint64_t)w;
	}
	return 0;
}

int
qh_fetch_finish(struct qh_fetch *f, char got[65])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int r = 0, saved;

	got[0] = '\0';
	if (EVP_DigestFinal_ex(f->md, md, &mdlen) != 1 || mdlen != 32)
		r = QH_ERR_NOMEM;
	for (i = 0; r == 0 && i < 32; i++) {
		got[2 * i] = digits[md[i] >> 4];
		got[2 * i + 1] = digits[md[i] & 15];
	}
	got[64] = '\0';
	if (r == 0 && f->got != f->size)
		r = QH_ERR_INCOMPLETE;
	else if (r == 0 && strcmp(got, f->sha256) != 0)
		r = QH_ERR_FORMAT;
	else if (r == 0 && fsync(f->tf.fd) != 0)
		r = QH_ERR_SYSTEM;
	else if (r == 0 && qh_tmpfile_link(&f->tf, 0600) != 0)
		r = errno == EEXIST ? QH_ERR_EXISTS : QH_ERR_SYSTEM;
	saved = errno;
	qh_fetch_abort(f);
	errno = saved;
	return r;
}

void
qh_fetch_abort(struct qh_fetch *f)
{
	qh_tmpfile_abort(&f->tf);
	EVP_MD_CTX_free(f->md);
	f->md = NULL;
}
