/*
 * SMTP through libcurl (smtp.h). One job per message: the loop copies
 * what the transfer needs into the job, a pool thread runs
 * curl_easy_perform, and the loop gets the result. The SMTP dialogue and
 * the parsing of the server's replies are libcurl's; we keep the last
 * reply line it shows us (the "answer" `qh-console outbox` prints).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/log.h"
#include "smtp.h"

#define CONNECT_SECONDS	 30
#define TRANSFER_SECONDS 300

struct smtp_job {
	uv_work_t work;
	char url[1024], from[QH_MAIL_ADDR_MAX + 3], user[256], password_file[1024];
	char rcpt[MAIL_RCPT_MAX][QH_MAIL_ADDR_MAX + 3]; /* <addr> */
	int nrcpt;
	struct qh_buf data; /* the message */
	size_t sent;	    /* bytes of data handed to libcurl */
	struct smtp_result res;
	void (*done)(void *arg, const struct smtp_result *res);
	void *arg;
};

static atomic_int aborting;

int
smtp_init(void)
{
	atomic_store(&aborting, 0);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : QH_ERR_SYSTEM;
}

void
smtp_cleanup(void)
{
	curl_global_cleanup();
}

void
smtp_abort(void)
{
	atomic_store(&aborting, 1);
}

/* libcurl reads the message from here. */
static size_t
read_cb(char *out, size_t size, size_t n, void *arg)
{
	struct smtp_job *j = arg;
	size_t left = qh_buf_len(&j->data) - j->sent, take = size * n;

	if (take > left)
		take = left;
	memcpy(out, qh_buf_ptr(&j->data) + j->sent, take);
	j->sent += take;
	return take;
}

/* Nonzero stops the transfer: the console is shutting down. */
static int
progress_cb(void *arg QH_UNUSED, curl_off_t dt QH_UNUSED, curl_off_t dn QH_UNUSED,
    curl_off_t ut QH_UNUSED, curl_off_t un QH_UNUSED)
{
	return atomic_load(&aborting);
}

/* Keeps the server's last reply line (libcurl shows them as incoming headers). */
static int
debug_cb(CURL *h QH_UNUSED, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp_job *j = arg;
	size_t n = 0, i;

	if (type != CURLINFO_HEADER_IN)
		return 0;
	for (i = 0; i < size && n + 1 < sizeof(j->res.answer); i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\r' || c == '\n')
			break;
		j->res.answer[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n > 0)
		j->res.answer[n] = '\0';
	return 0;
}

/* The first line of the password file into out; 0 or why not (in the result). */
static int
read_password(struct smtp_job *j, char *out, size_t len)
{
	FILE *f;
	size_t n;

	if ((f = fopen(j->password_file, "r")) == NULL) {
		snprintf(j->res.answer, sizeof(j->res.answer),
		    "cannot read [mail] password_file: %s", strerror(errno));
		return -1;
	}
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return 0;
}

/* On a pool thread: the whole SMTP transaction. */
static void
work_cb(uv_work_t *w)
{
	struct smtp_job *j = w->data;
	struct curl_slist *rcpt = NULL, *more;
	char errbuf[CURL_ERROR_SIZE] = "", password[512] = "";
	CURL *h = NULL;
	CURLcode rc;
	int i;

	if (j->password_file[0] != '\0' &&
	    read_password(j, password, sizeof(password)) != 0)
		return;
	if ((h = curl_easy_init()) == NULL) {
		snprintf(j->res.answer, sizeof(j->res.answer), "libcurl: out of memory");
		return;
	}
	for (i = 0; i < j->nrcpt; i++) {
		if ((more = curl_slist_append(rcpt, j->rcpt[i])) == NULL) {
			snprintf(j->res.answer, sizeof(j->res.answer), "out of memory");
			goto out;
		}
		rcpt = more;
	}
	curl_easy_setopt(h, CURLOPT_URL, j->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, j->from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, j);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)qh_buf_len(&j->data));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_SECONDS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)TRANSFER_SECONDS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* for debug_cb; nothing is printed */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, j);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* A password never crosses the network in clear. */
	curl_easy_setopt(h, CURLOPT_USE_SSL,
	    j->user[0] != '\0' ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	if (j->user[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, j->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, password);
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &j->res.code);
	if (rc == CURLE_OK) {
		j->res.ok = 1;
		if (j->res.answer[0] == '\0')
			snprintf(j->res.answer, sizeof(j->res.answer), "%ld",
			    j->res.code);
	} else {
		j->res.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
		j->res.permanent = j->res.code >= 500 && j->res.code < 600;
		/* The server's refusal says most; else libcurl's reason. */
		if (j->res.code == 0 || j->res.answer[0] == '\0')
			snprintf(j->res.answer, sizeof(j->res.answer), "%s",
			    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	}
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	memset(password, 0, sizeof(password));
}

/* Back on the loop. */
static void
after_cb(uv_work_t *w, int status)
{
	struct smtp_job *j = w->data;

	if (status != 0 && !j->res.ok)
		snprintf(j->res.answer, sizeof(j->res.answer), "not sent: %s",
		    uv_strerror(status));
	j->done(j->arg, &j->res);
	qh_buf_release(&j->data);
	free(j);
}

int
smtp_send(uv_loop_t *loop, const struct smtp_server *server, struct mail_message *m,
    void (*done)(void *arg, const struct smtp_result *res), void *arg)
{
	struct smtp_job *j;
	int i, r;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return QH_ERR_NOMEM;
	snprintf(j->url, sizeof(j->url), "%s", server->url);
	snprintf(j->from, sizeof(j->from), "<%s>", server->from);
	snprintf(j->user, sizeof(j->user), "%s",
	    server->user != NULL ? server->user : "");
	snprintf(j->password_file, sizeof(j->password_file), "%s",
	    server->password_file != NULL ? server->password_file : "");
	for (i = 0; i < m->nrcpt && i < MAIL_RCPT_MAX; i++)
		snprintf(j->rcpt[i], sizeof(j->rcpt[i]), "<%s>", m->rcpt[i]);
	j->nrcpt = i;
	j->data = m->data; /* taken over */
	qh_buf_init(&m->data, MAIL_MAX);
	j->done = done;
	j->arg = arg;
	j->work.data = j;
	if ((r = uv_queue_work(loop, &j->work, work_cb, after_cb)) != 0) {
		m->data = j->data; /* handed back */
		free(j);
		return qh_err_from_uv(r);
	}
	return 0;
}
