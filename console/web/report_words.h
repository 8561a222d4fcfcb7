/*
 * The accounting pages' requests (report.c) as the words of a report
 * request over TLS (docs/protocol.md, cmd="account"): which report each
 * URL asks for, and the check of the values the page put in its query
 * before they become words. Pure: no I/O, no lws, so a fuzz target
 * (tests/fuzz/fuzz_webreport.c) links it with the console's own check of
 * the words (console/daemon/account_words.c).
 */
#ifndef QH_WEB_REPORT_WORDS_H
#define QH_WEB_REPORT_WORDS_H

#define WEB_REPORT_WORDS 12 /* words of one request, the report's name first */
#define WEB_VALUE_MAX	 80 /* one query value, as lws decoded it */

enum web_report {
	WEB_REP_BALANCES,	/* balances --json */
	WEB_REP_LEDGER_JSONL,	/* ledger --format jsonl, for the page's table */
	WEB_REP_LEDGER_CSV,	/* ledger --format csv, a download */
	WEB_REP_LEDGER_DATEV,	/* ledger --format datev, a download */
	WEB_REP_REVENUE,	/* revenue --month M --json */
	WEB_REP_VERIFY,		/* verify [--head] */
	WEB_REP_STATEMENT_PDF,	/* statement ID --month M, rendered here */
	WEB_REP_STATEMENT_HTML, /* the same as HTML */
	WEB_REP_COUNT
};

/* The query's values (NULL or "" when absent), each at most WEB_VALUE_MAX bytes. */
struct web_report_query {
	const char *customer;  /* a customer ID (qh_id_valid) */
	const char *from, *to; /* days YYYY-MM-DD */
	const char *month;     /* YYYY-MM */
	const char *head;      /* "1": verify --head */
};

struct web_report_words {
	const char *w[WEB_REPORT_WORDS]; /* static words and q's values */
	int n;
};

/* The report a URL path names ("/api/ledger.csv"), or -1. */
int web_report_route(const char *path);

/*
 * The words for report r with q's values, each checked for its shape
 * first: nothing that starts with '-' or is not what the option takes
 * reaches the console. Returns NULL with *out filled, or the reason the
 * query is refused (for a 400).
 */
const char *web_report_words(enum web_report r, const struct web_report_query *q,
    struct web_report_words *out);

#endif
