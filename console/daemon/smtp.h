/*
 * Sending one rendered mail over SMTP with libcurl (smtp.c): smtp:// with
 * STARTTLS when the server offers it (required when there is a user), or
 * smtps://, user and password authentication. libcurl's transfer blocks, so
 * it runs on libuv's thread pool (uv_queue_work) and reports back on the
 * loop; the database is never touched off the loop.
 */
#ifndef QH_DAEMON_SMTP_H
#define QH_DAEMON_SMTP_H

#include <uv.h>

#include "mail.h"

/* How a send ended. */
struct smtp_result {
	int ok;		  /* the server took the message */
	int permanent;	  /* the server refused it for good (a 5xx reply) */
	int aborted;	  /* stopped by smtp_abort() (shutdown) */
	long code;	  /* the server's last reply code; 0 when none came */
	char answer[512]; /* the server's last reply line, or why there was none */
};

/* Where and as whom to send ([mail] of console.conf). */
struct smtp_server {
	const char *url;	   /* smtp://HOST[:PORT] or smtps://... */
	const char *from;	   /* envelope sender */
	const char *user;	   /* "": no authentication */
	const char *password_file; /* its first line is the password */
};

/* Initialises libcurl once, on the loop's thread, before any send. 0 or QH_ERR_*. */
int smtp_init(void);

/* Cleans libcurl up after the last send finished. */
void smtp_cleanup(void);

/*
 * Sends m (the data is taken over: m->data is empty afterwards) through
 * server on loop's thread pool, then calls done(arg, result) on the loop.
 * Returns 0, or an error with done not called.
 */
int smtp_send(uv_loop_t *loop, const struct smtp_server *server, struct mail_message *m,
    void (*done)(void *arg, const struct smtp_result *res), void *arg);

/* Makes the sends in flight stop as soon as libcurl looks (shutdown). */
void smtp_abort(void);

#endif
