/*
 * The accounting pages' queries as report words (report_words.h).
 */
#include <stddef.h>
#include <string.h>

#include "qh/pki.h"
#include "report_words.h"

static const char *const routes[WEB_REP_COUNT] = {
	[WEB_REP_BALANCES] = "/api/balances",
	[WEB_REP_LEDGER_JSONL] = "/api/ledger.jsonl",
	[WEB_REP_LEDGER_CSV] = "/api/ledger.csv",
	[WEB_REP_LEDGER_DATEV] = "/api/ledger.datev",
	[WEB_REP_REVENUE] = "/api/revenue",
	[WEB_REP_VERIFY] = "/api/verify",
	[WEB_REP_STATEMENT_PDF] = "/api/statement.pdf",
	[WEB_REP_STATEMENT_HTML] = "/api/statement.html",
};

int
web_report_route(const char *path)
{
	int i;

	for (i = 0; i < WEB_REP_COUNT; i++)
		if (strcmp(path, routes[i]) == 0)
			return i;
	return -1;
}

static int
given(const char *v)
{
	return v != NULL && v[0] != '\0';
}

/* s has exactly the shape: 'd' a digit, anything else itself. */
static int
shaped(const char *s, const char *shape)
{
	size_t i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	}
	return s[i] == '\0';
}

static int
month_ok(const char *s, size_t at)
{
	int m = (s[at] - '0') * 10 + (s[at + 1] - '0');

	return m >= 1 && m <= 12;
}

static int
day_ok(const char *s)
{
	int d = (s[8] - '0') * 10 + (s[9] - '0');

	return shaped(s, "dddd-dd-dd") && month_ok(s, 5) && d >= 1 && d <= 31;
}

static int
id_ok(const char *s)
{
	return strlen(s) <= WEB_VALUE_MAX && qh_id_valid(s) && s[0] != '-';
}

static void
put(struct web_report_words *out, const char *w)
{
	if (out->n < WEB_REPORT_WORDS)
		out->w[out->n++] = w;
}

static const char *
ledger_words(enum web_report r, const struct web_report_query *q,
    struct web_report_words *out)
{
	static const char *const formats[] = { "jsonl", "csv", "datev" };

	put(out, "ledger");
	put(out, "--format");
	put(out, formats[r - WEB_REP_LEDGER_JSONL]);
	if (given(q->customer)) {
		if (!id_ok(q->customer))
			return "customer: a customer ID";
		put(out, "--customer");
		put(out, q->customer);
	}
	if (given(q->from)) {
		if (!day_ok(q->from))
			return "from: a day YYYY-MM-DD";
		put(out, "--from");
		put(out, q->from);
	}
	if (given(q->to)) {
		if (!day_ok(q->to))
			return "to: a day YYYY-MM-DD";
		put(out, "--to");
		put(out, q->to);
	}
	return NULL;
}

const char *
web_report_words(enum web_report r, const struct web_report_query *q,
    struct web_report_words *out)
{
	int month =
	    given(q->month) && shaped(q->month, "dddd-dd") && month_ok(q->month, 5);

	memset(out, 0, sizeof(*out));
	switch (r) {
	case WEB_REP_BALANCES:
		put(out, "balances");
		put(out, "--json");
		return NULL;
	case WEB_REP_LEDGER_JSONL:
	case WEB_REP_LEDGER_CSV:
	case WEB_REP_LEDGER_DATEV:
		return ledger_words(r, q, out);
	case WEB_REP_REVENUE:
		if (!month)
			return "month: a month YYYY-MM";
		put(out, "revenue");
		put(out, "--month");
		put(out, q->month);
		put(out, "--json");
		return NULL;
	case WEB_REP_VERIFY:
		put(out, "verify");
		if (given(q->head) && strcmp(q->head, "1") == 0)
			put(out, "--head");
		return NULL;
	case WEB_REP_STATEMENT_PDF:
	case WEB_REP_STATEMENT_HTML:
		if (!given(q->customer) || !id_ok(q->customer))
			return "customer: a customer ID";
		if (!month)
			return "month: a month YYYY-MM";
		put(out, "statement");
		put(out, q->customer);
		put(out, "--month");
		put(out, q->month);
		return NULL;
	default:
		return "no such report";
	}
}
