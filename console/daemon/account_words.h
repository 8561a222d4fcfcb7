/*
 * The words of a report request over TLS (account.c): which reports the
 * console answers, which options each takes, and the check of a peer's
 * words against them. Pure: no I/O, no loop, so a fuzz target links it.
 */
#ifndef QH_DAEMON_ACCOUNT_WORDS_H
#define QH_DAEMON_ACCOUNT_WORDS_H

#define ACCOUNT_WORDS_MAX 16 /* words of one request after the report's name */

/* What account_check found. */
struct account_plan {
	const char *name;			/* the report: "ledger" */
	const char *out[ACCOUNT_WORDS_MAX + 2]; /* its words as checked, then append */
	int nout;
	int technician; /* 1: a technician's bundle may ask for it */
};

/*
 * Checks words[0..n) (the report's name, then its arguments) from a peer:
 * a known report, at most ACCOUNT_WORDS_MAX words after it, each either a
 * positional (not starting with '-', within the report's count) or one of
 * the report's options spelt out in full ("--json", "--from VALUE", the
 * value not starting with '-'); never --state, --tech or --out. Fills
 * *plan, whose pointers point into words. Returns NULL, or the reason for
 * the peer.
 */
const char *account_check(char *const *words, int n, struct account_plan *plan);

#endif
