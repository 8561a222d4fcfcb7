/*
 * qh-console ledger --format datev [--from --to]: a DATEV "Buchungsstapel"
 * in EXTF format version 700 (category 21, format version 13) on stdout.
 * The first line is the header with its 31 fields (consultant and client
 * number, fiscal-year start, account length, date range), the second the
 * column names, then one booking per line: the first 14 columns of the
 * Buchungsstapel (Umsatz, Soll/Haben, WKZ, Kurs, Basis-Umsatz, WKZ
 * Basis-Umsatz, Konto, Gegenkonto, BU-Schlüssel, Belegdatum, Belegfeld 1,
 * Belegfeld 2, Skonto, Buchungstext). Windows-1252, CRLF, ';', texts in
 * quotes, amounts positive with a decimal comma and the direction in
 * Soll/Haben, Belegdatum TTMM, booking text at most 60 characters,
 * document number at most 36. What is booked is the store's (datev.c);
 * the accounts and tax keys are console.conf's [datev].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/cli.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "store/store.h"
#include "admin.h"

#define DATEV_LINE_MAX	 4096
#define DATEV_TEXT_MAX	 60 /* Buchungstext */
#define DATEV_BELEG1_MAX 36 /* Belegfeld 1 */

/* Unicode code points 0x80..0x9f of Windows-1252, by byte. */
static const uint16_t cp1252_high[32] = { 0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026,
	0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0, 0, 0x2018,
	0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
	0x0153, 0, 0x017e, 0x0178 };

/* The Windows-1252 byte of code point u, or '?' when it has none. */
static uint8_t
cp1252_byte(uint32_t u)
{
	int i;

	if (u < 0x80 || (u >= 0xa0 && u <= 0xff))
		return (uint8_t)u;
	for (i = 0; i < 32; i++)
		if (cp1252_high[i] != 0 && cp1252_high[i] == u)
			return (uint8_t)(0x80 + i);
	return '?';
}

/*
 * Appends UTF-8 text s as a quoted DATEV text of at most max characters in
 * Windows-1252: control characters become blanks, '"' is doubled (and
 * counts once), invalid UTF-8 becomes '?'.
 */
static void
datev_text(struct qh_buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = 0;
	uint32_t u;
	int len, i;

	(void)qh_buf_put_u8(b, '"');
	while (*p != '\0' && n < max) {
		if (*p < 0x80) {
			u = *p;
			len = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			u = *p & 0x1f;
			len = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			u = *p & 0x0f;
			len = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			u = *p & 0x07;
			len = 4;
		} else {
			u = '?';
			len = 1;
		}
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				u = '?';
				len = i;
				break;
			}
			u = (u << 6) | (p[i] & 0x3f);
		}
		p += len;
		if (u < 0x20 || u == 0x7f || (u >= 0x80 && u < 0xa0))
			u = ' ';
		if (u == '"')
			(void)qh_buf_put_u8(b, '"');
		(void)qh_buf_put_u8(b, cp1252_byte(u));
		n++;
	}
	(void)qh_buf_put_u8(b, '"');
}

/* Appends cents as a positive amount with a decimal comma: 1234 -> 12,34. */
static void
datev_amount(struct qh_buf *b, int64_t cents)
{
	char num[32];
	uint64_t v = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(num, sizeof(num), "%" PRIu64 ",%02" PRIu64, v / 100, v % 100);
	(void)qh_buf_put(b, num, strlen(num));
}

static void
put(struct qh_buf *b, const char *s)
{
	(void)qh_buf_put(b, s, strlen(s));
}

static void
putf(struct qh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct qh_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(b, tmp);
}

/* A document number DATEV takes: a-z A-Z 0-9 $ & % * + - / only, at most 36. */
static void
datev_beleg(struct qh_buf *b, const char *s)
{
	size_t i;

	(void)qh_buf_put_u8(b, '"');
	for (i = 0; s[i] != '\0' && i < DATEV_BELEG1_MAX; i++)
		(void)qh_buf_put_u8(b,
		    strchr("$&%*+-/", s[i]) != NULL || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')
			? (uint8_t)s[i]
			: '-');
	(void)qh_buf_put_u8(b, '"');
}

struct datev_export {
	struct qh_cli *c;
	const struct console_conf *conf;
	struct qh_buf out;
	int64_t rows, purchase_cents, revenue_cents;
	int status;
};

/* One booking as a line. */
static int
datev_row(void *arg, const struct datev_booking *k)
{
	struct datev_export *x = arg;
	const struct console_conf *conf = x->conf;
	struct qh_buf *b = &x->out;
	char beleg[64], text[256];
	struct tm tm;
	int64_t t;
	long long konto, gegen;

	if (!k->revenue && !conf->datev_book_purchases)
		return 0;
	if (k->amount_cents == 0)
		return 0; /* nothing to book (an unkeyed installation) */
	if (qh_clock_parse_utc(k->posted_at, &t) != 0 ||
	    calendar_local(conf->timezone, t, &tm) != 0) {
		x->status = qh_cli_fail(x->c, "entry %" PRId64 ": bad time %s", k->entry,
		    k->posted_at);
		return 1;
	}
	if (k->revenue) {
		konto = conf->datev_deferred;
		gegen = conf->datev_revenue[k->tax];
		x->revenue_cents += k->amount_cents;
	} else {
		konto = conf->datev_bank;
		gegen = conf->datev_deferred;
		x->purchase_cents += k->amount_cents;
	}
	datev_amount(b, k->amount_cents);
	put(b, k->amount_cents >= 0 ? ";\"S\";" : ";\"H\";");
	datev_text(b, k->currency, 3);
	put(b, ";;;;");
	putf(b, "%lld;%lld;", konto, gegen);
	datev_text(b, k->revenue ? conf->datev_tax_key[k->tax] : "", 4);
	putf(b, ";%02d%02d;", tm.tm_mday, tm.tm_mon + 1);
	if (!k->revenue && k->reference != NULL && k->reference[0] != '\0')
		snprintf(beleg, sizeof(beleg), "%s", k->reference);
	else if (k->allocation != 0)
		snprintf(beleg, sizeof(beleg), "QH%" PRId64 "-A%" PRId64, k->entry,
		    k->allocation);
	else
		snprintf(beleg, sizeof(beleg), "QH%" PRId64, k->entry);
	datev_beleg(b, beleg);
	put(b, ";\"\";;");
	if (!k->revenue)
		snprintf(text, sizeof(text), "%s %" PRId64 " %s %s",
		    k->amount_cents < 0 ? "Korrektur Kauf" : "Kauf", k->quantity,
		    strcmp(k->kind, "installation_purchase") == 0 ? "Inst." : "E.",
		    k->customer_name);
	else if (strcmp(k->kind, "installation") == 0)
		snprintf(text, sizeof(text), "Installation %s", k->customer_name);
	else if (k->has_session)
		snprintf(text, sizeof(text), "Sitzung %" PRId64 ": %" PRId64 " E. %s",
		    k->session, k->quantity, k->customer_name);
	else
		snprintf(text, sizeof(text), "%s %" PRId64 ": %" PRId64 " E. %s",
		    strcmp(k->kind, "correction") == 0 ? "Korrektur" : "Buchung",
		    k->entry, k->quantity, k->customer_name);
	datev_text(b, text, DATEV_TEXT_MAX);
	put(b, "\r\n");
	x->rows++;
	if (qh_buf_error(b) != 0) {
		x->status = qh_cli_fail(x->c, "entry %" PRId64 ": the line is too long",
		    k->entry);
		return 1;
	}
	if (console_flush(b) != 0) {
		x->status = qh_cli_fail(x->c, "stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* The first day (y, m, d) of the fiscal year holding y-m-d. */
static void
fiscal_start(const struct console_conf *conf, int y, int m, int d, int *fy)
{
	*fy = (m > conf->datev_fy_month ||
		  (m == conf->datev_fy_month && d >= conf->datev_fy_day))
	    ? y
	    : y - 1;
}

int
admin_ledger_datev(struct qh_cli *c, struct store_env *env)
{
	const struct console_conf *conf = &env->conf;
	const char *from = qh_cli_opt(c, "from"), *to = qh_cli_opt(c, "to");
	const char *user = getenv("QH_ACTOR") ? getenv("QH_ACTOR") : getenv("USER");
	struct datev_export x;
	int fy, fy2, y1, m1, d1, y2, m2, d2, r;
	char from_t[32], to_t[32], name[64];
	struct tm now;
	int64_t t = qh_clock_now();

	if (qh_cli_opt(c, "customer") != NULL)
		return qh_cli_usage(c,
		    "--format datev books every customer; no --customer");
	if ((from != NULL && calendar_parse_date(from, &y1, &m1, &d1) != 0) ||
	    (to != NULL && calendar_parse_date(to, &y2, &m2, &d2) != 0))
		return qh_cli_usage(c, "--from and --to take a date YYYY-MM-DD");
	if (calendar_local(conf->timezone, t, &now) != 0)
		return qh_cli_fail(c, "cannot place now in %s", conf->timezone);
	/* Without a bound: the fiscal year of the other, or of today, to today. */
	if (to == NULL) {
		y2 = now.tm_year + 1900;
		m2 = now.tm_mon + 1;
		d2 = now.tm_mday;
	}
	if (from == NULL) {
		fiscal_start(conf, y2, m2, d2, &fy);
		y1 = fy;
		m1 = conf->datev_fy_month;
		d1 = conf->datev_fy_day;
	} else if (to == NULL) {
		fiscal_start(conf, y1, m1, d1, &fy);
		if (y2 * 10000 + m2 * 100 + d2 < y1 * 10000 + m1 * 100 + d1 ||
		    (fiscal_start(conf, y2, m2, d2, &fy2), fy2 != fy)) {
			/* Up to the fiscal year's last day. */
			struct tm e = { .tm_year = fy + 1 - 1900,
				.tm_mon = conf->datev_fy_month - 1,
				.tm_mday = conf->datev_fy_day - 1,
				.tm_hour = 12 };
			timegm(&e);
			y2 = e.tm_year + 1900;
			m2 = e.tm_mon + 1;
			d2 = e.tm_mday;
		}
	}
	if (y2 * 10000 + m2 * 100 + d2 < y1 * 10000 + m1 * 100 + d1)
		return qh_cli_usage(c, "--to lies before --from");
	fiscal_start(conf, y1, m1, d1, &fy);
	fiscal_start(conf, y2, m2, d2, &fy2);
	if (fy != fy2)
		return qh_cli_usage(c,
		    "one DATEV batch lies within one fiscal year: --from and --to cross "
		    "its start ([datev] fiscal_year_start); export each year on its own");
	if (calendar_midnight_text(conf, y1, m1, d1, from_t, sizeof(from_t)) != 0 ||
	    calendar_midnight_text(conf, y2, m2, d2 + 1, to_t, sizeof(to_t)) != 0)
		return qh_cli_usage(c,
		    "--from or --to is not a day in the business time zone");

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.conf = conf;
	qh_buf_init(&x.out, DATEV_LINE_MAX * 4);
	/* The header: 31 fields. */
	put(&x.out, "\"EXTF\";700;21;\"Buchungsstapel\";13;");
	putf(&x.out, "%04d%02d%02d%02d%02d%02d000;;\"RE\";", now.tm_year + 1900,
	    now.tm_mon + 1, now.tm_mday, now.tm_hour, now.tm_min, now.tm_sec);
	datev_text(&x.out, user != NULL ? user : "", 25);
	putf(&x.out, ";\"\";%lld;%lld;%04d%02d%02d;%lld;%04d%02d%02d;%04d%02d%02d;",
	    conf->datev_consultant, conf->datev_client, fy, conf->datev_fy_month,
	    conf->datev_fy_day, conf->datev_account_length, y1, m1, d1, y2, m2, d2);
	snprintf(name, sizeof(name), "quarterhour %04d%02d%02d-%04d%02d%02d", y1, m1, d1,
	    y2, m2, d2);
	datev_text(&x.out, name, 30);
	put(&x.out, ";\"\";1;0;0;");
	datev_text(&x.out, conf->currency, 3);
	put(&x.out, ";;\"\";;\"\";\"\";;;\"\";\"\"\r\n");
	/* The column names. */
	put(&x.out,
	    "Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Kurs;"
	    "Basis-Umsatz;WKZ Basis-Umsatz;Konto;Gegenkonto (ohne "
	    "BU-Schl\xfcssel);BU-Schl\xfcssel;Belegdatum;Belegfeld 1;Belegfeld "
	    "2;Skonto;Buchungstext\r\n");
	r = db_datev_bookings(env->db, from_t, to_t, conf->currency, datev_row, &x);
	if (r < 0)
		x.status = qh_cli_fail(c, "database: %s", qh_strerror(r));
	else if (r == 0 && (console_flush(&x.out) != 0 || fflush(stdout) != 0))
		x.status = qh_cli_fail(c, "stdout: %s", strerror(errno));
	qh_buf_release(&x.out);
	return x.status;
}
