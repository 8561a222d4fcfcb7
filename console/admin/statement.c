/*
 * The data of a customer's monthly statement (statement --data): one JSON
 * object per customer and line, read in one read transaction. The
 * statement is rendered where the command runs (console/render/), from
 * this data, so the console's daemon only ever sends it.
 *
 * {"vendor":{"name","address"},"customer":{"id","name","lang","country",
 *  "vat_id"},"month","timezone","currency","opening_units",
 *  "opening_installations","closing_units","closing_installations",
 *  "purchases":[{"date","units","installations","amount_cents","reference"}],
 *  "sessions":[{"date","time","technician" (names, ", "),"billable_seconds","units",
 *  "note","after_hours"}],"installations":[{"date","time","technician",
 *  "note"}],"corrections":[{"date","units","installations","amount_cents",
 *  "corrects","note"}],"totals":{"purchased_units","purchased_cents",
 *  "session_units","installations_used","corrected_units"},
 *  "weeks":[{"start","units"}] (52 weeks up to the month's end)}
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qh/buf.h"
#include "qh/clock.h"
#include "qh/err.h"
#include "qh/json.h"
#include "store/store.h"
#include "admin.h"

#define WEEKS 52 /* the chart: weeks up to the month's end */

struct stmt_state {
	const struct console_conf *conf;
	sqlite3 *db;
	struct qh_json *j;
	int64_t start, end; /* the month, UTC seconds */
	int64_t chart_start;
	int64_t weeks[WEEKS];
	int64_t opening_units, opening_inst, inst; /* running */
	int64_t units;
	int section; /* which array is being written */
	int64_t purchased_units, purchased_cents, session_units, inst_used, corrected;
};

/* Local date and time texts of UTC text ts. */
static void
local_texts(const struct console_conf *conf, const char *ts, char *date, char *hm)
{
	struct tm tm;
	int64_t t;

	if (ts == NULL || qh_clock_parse_utc(ts, &t) != 0 ||
	    calendar_local(conf->timezone, t, &tm) != 0) {
		snprintf(date, 32, "%s", "?");
		snprintf(hm, 16, "%s", "?");
		return;
	}
	snprintf(date, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
	snprintf(hm, 16, "%02d:%02d", tm.tm_hour % 100, tm.tm_min % 100);
}

/* Rows before the month: the opening figures; in it: they are kept for the arrays. */
static int
opening_row(void *arg, const struct ledger_row *e)
{
	struct stmt_state *s = arg;
	int64_t t;

	s->opening_units = e->balance_after;
	s->opening_inst += e->installations;
	if (strcmp(e->kind, "session") == 0 &&
	    qh_clock_parse_utc(e->posted_at, &t) == 0 && t >= s->chart_start &&
	    t < s->end)
		s->weeks[(t - s->chart_start) / (7 * 86400)] += -e->units;
	return 0;
}

/* One entry of the month into the array s->section names. */
static int
month_row(void *arg, const struct ledger_row *e)
{
	struct stmt_state *s = arg;
	struct qh_json *j = s->j;
	char date[32], hm[16], names[512];
	int r;
	int is_purchase = strcmp(e->kind, "purchase") == 0 ||
	    strcmp(e->kind, "installation_purchase") == 0;
	int is_session = strcmp(e->kind, "session") == 0;
	int is_inst = strcmp(e->kind, "installation") == 0;
	int is_corr = strcmp(e->kind, "correction") == 0;

	if ((s->section == 0 && !is_purchase) || (s->section == 1 && !is_session) ||
	    (s->section == 2 && !is_inst) || (s->section == 3 && !is_corr))
		return 0;
	local_texts(s->conf,
	    is_session || is_inst ? (e->started_at ? e->started_at : e->posted_at)
				  : e->posted_at,
	    date, hm);
	/* The customer reads the technicians' names, not their logins. */
	if ((is_session || is_inst) &&
	    (r = db_staff_names(s->db, e->technician, names, sizeof(names))) != 0)
		return r;
	qh_json_begin_object(j);
	qh_json_kv_str(j, "date", date);
	switch (s->section) {
	case 0:
		qh_json_kv_int(j, "units", e->units);
		qh_json_kv_int(j, "installations", e->installations);
		qh_json_kv_int(j, "amount_cents", e->amount_cents);
		qh_json_kv_str(j, "reference", e->reference);
		/* Units' purchases; installations are counted apart (R8). */
		s->purchased_units += e->units;
		if (strcmp(e->kind, "purchase") == 0)
			s->purchased_cents += e->amount_cents;
		break;
	case 1:
		qh_json_kv_str(j, "time", hm);
		qh_json_kv_str(j, "technician", names);
		qh_json_kv_int(j, "billable_seconds",
		    e->has_billable ? e->billable_seconds : 0);
		qh_json_kv_int(j, "units", -e->units);
		qh_json_kv_str(j, "note", e->note);
		qh_json_kv_bool(j, "after_hours", e->after_hours != 0);
		s->session_units += -e->units;
		break;
	case 2:
		qh_json_kv_str(j, "time", hm);
		qh_json_kv_str(j, "technician", names);
		qh_json_kv_str(j, "note", e->note);
		s->inst_used += -e->installations;
		break;
	default:
		qh_json_kv_int(j, "units", e->units);
		qh_json_kv_int(j, "installations", e->installations);
		qh_json_kv_int(j, "amount_cents", e->amount_cents);
		qh_json_kv_int(j, "corrects", e->has_corrects ? e->corrects : 0);
		qh_json_kv_str(j, "note", e->note);
		s->corrected += e->units;
		break;
	}
	qh_json_end_object(j);
	return 0;
}

/* Closing figures and the chart: the month's rows once more. */
static int
closing_row(void *arg, const struct ledger_row *e)
{
	struct stmt_state *s = arg;
	int64_t t;

	s->units = e->balance_after;
	s->inst += e->installations;
	if (strcmp(e->kind, "session") == 0 &&
	    qh_clock_parse_utc(e->posted_at, &t) == 0 && t >= s->chart_start &&
	    t < s->end)
		s->weeks[(t - s->chart_start) / (7 * 86400)] += -e->units;
	return 0;
}

/* What the statement shows of the customer. */
struct basics {
	char name[CUSTOMER_NAME_MAX + 1], lang[4], country[4], vat[32];
};

static int
basics_of(void *arg, const struct customer_view *v)
{
	struct basics *b = arg;

	snprintf(b->name, sizeof(b->name), "%s", v->name);
	snprintf(b->lang, sizeof(b->lang), "%s", v->lang);
	snprintf(b->country, sizeof(b->country), "%s", v->country);
	snprintf(b->vat, sizeof(b->vat), "%s", v->vat_id != NULL ? v->vat_id : "");
	return 0;
}

/* Parses YYYY-MM into the month's bounds as UTC texts and seconds. */
int
admin_month_bounds(const struct console_conf *conf, const char *month, char *from,
    char *to, size_t len)
{
	int y, m, n = 0;

	if (month == NULL || strlen(month) != 7 ||
	    sscanf(month, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || month[4] != '-' ||
	    y < 1970 || y > 9999 || m < 1 || m > 12)
		return QH_ERR_ARG;
	if (calendar_midnight_text(conf, y, m, 1, from, len) != 0 ||
	    calendar_midnight_text(conf, y, m + 1, 1, to, len) != 0)
		return QH_ERR_ARG;
	return 0;
}

int
admin_statement_json(struct store_env *env, const char *customer, const char *month,
    struct qh_buf *out)
{
	const struct console_conf *conf = &env->conf;
	struct ledger_filter f;
	struct stmt_state s;
	struct qh_json j;
	char from[32], to[32], start[32];
	struct basics cv;
	int r, i;
	static const char *const sections[] = { "purchases", "sessions", "installations",
		"corrections" };

	if ((r = admin_month_bounds(conf, month, from, to, sizeof(from))) != 0)
		return r;
	if ((r = db_customer_show(env->db, customer, basics_of, &cv)) != 0)
		return r;
	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.db = env->db;
	if (qh_clock_parse_utc(from, &s.start) != 0 ||
	    qh_clock_parse_utc(to, &s.end) != 0)
		return QH_ERR_ARG;
	s.chart_start = s.end - (int64_t)WEEKS * 7 * 86400;
	qh_json_init(&j, out);
	s.j = &j;
	f.customer = customer;
	f.from = NULL;
	f.to = from;
	if ((r = db_ledger_rows(env->db, &f, opening_row, &s)) < 0)
		return r;
	s.units = s.opening_units;
	s.inst = s.opening_inst;
	qh_json_begin_object(&j);
	qh_json_key(&j, "vendor");
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "name",
	    conf->vendor_name[0] != '\0' ? conf->vendor_name : conf->name);
	qh_json_kv_str(&j, "address", conf->vendor_address);
	qh_json_end_object(&j);
	qh_json_key(&j, "customer");
	qh_json_begin_object(&j);
	qh_json_kv_str(&j, "id", customer);
	qh_json_kv_str(&j, "name", cv.name);
	qh_json_kv_str(&j, "lang", cv.lang);
	qh_json_kv_str(&j, "country", cv.country);
	qh_json_kv_str(&j, "vat_id", cv.vat[0] != '\0' ? cv.vat : NULL);
	qh_json_end_object(&j);
	qh_json_kv_str(&j, "month", month);
	qh_json_kv_str(&j, "timezone", conf->timezone);
	qh_json_kv_str(&j, "currency", conf->currency);
	qh_json_kv_int(&j, "opening_units", s.opening_units);
	qh_json_kv_int(&j, "opening_installations", s.opening_inst);
	f.from = from;
	f.to = to;
	for (i = 0; i < 4; i++) {
		s.section = i;
		qh_json_key(&j, sections[i]);
		qh_json_begin_array(&j);
		if ((r = db_ledger_rows(env->db, &f, month_row, &s)) < 0)
			return r;
		qh_json_end_array(&j);
	}
	if ((r = db_ledger_rows(env->db, &f, closing_row, &s)) < 0)
		return r;
	qh_json_kv_int(&j, "closing_units", s.units);
	qh_json_kv_int(&j, "closing_installations", s.inst);
	qh_json_key(&j, "totals");
	qh_json_begin_object(&j);
	qh_json_kv_int(&j, "purchased_units", s.purchased_units);
	qh_json_kv_int(&j, "purchased_cents", s.purchased_cents);
	qh_json_kv_int(&j, "session_units", s.session_units);
	qh_json_kv_int(&j, "installations_used", s.inst_used);
	qh_json_kv_int(&j, "corrected_units", s.corrected);
	qh_json_end_object(&j);
	qh_json_key(&j, "weeks");
	qh_json_begin_array(&j);
	for (i = 0; i < WEEKS; i++) {
		snprintf(start, sizeof(start), "?");
		{
			struct tm tm;
			int64_t t = s.chart_start + (int64_t)i * 7 * 86400;

			if (calendar_local(conf->timezone, t, &tm) == 0)
				snprintf(start, sizeof(start), "%04d-%02d-%02d",
				    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		}
		qh_json_begin_object(&j);
		qh_json_kv_str(&j, "start", start);
		qh_json_kv_int(&j, "units", s.weeks[i]);
		qh_json_end_object(&j);
	}
	qh_json_end_array(&j);
	qh_json_end_object(&j);
	return qh_json_finish(&j);
}
