/*
 * The customer's monthly statement (render.h): the vendor, the customer,
 * the opening balance, each purchase, session, installation and
 * correction of the month, the closing balance and a chart of the units
 * used per week over the last twelve months. PDF through cairo (A4, the
 * chart an embedded image), HTML with the chart as inline SVG, printable.
 * Texts in the customer's language (po/); amounts as the language writes
 * them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>

#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/text.h"
#include "qh/units.h"
#include "render.h"

#define WEEKS_MAX 60

/* What the statement holds, read from its data. */
struct stmt {
	const struct qh_json_node *root;
	enum qh_lang lang;
	const char *currency;
};

static const char *
str(const struct qh_json_node *o, const char *key)
{
	const char *s = qh_json_get_str(o, key);

	return s != NULL ? s : "";
}

static int64_t
num(const struct qh_json_node *o, const char *key)
{
	int64_t v = 0;

	(void)qh_json_get_int(o, key, &v);
	return v;
}

/* Money as the language writes it: 1.100,00 EUR or 1,100.00 EUR. */
static void
money(const struct stmt *s, int64_t cents, char *out, size_t len)
{
	char digits[32], grouped[48];
	uint64_t v = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	char thou = s->lang == QH_LANG_DE ? '.' : ',',
	     dec = s->lang == QH_LANG_DE ? ',' : '.';
	size_t n, i, k = 0;

	snprintf(digits, sizeof(digits), "%" PRIu64, v / 100);
	n = strlen(digits);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[k++] = thou;
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	snprintf(out, len, "%s%s%c%02" PRIu64 " %s", cents < 0 ? "-" : "", grouped, dec,
	    v % 100, s->currency);
}

/* "40 units (10 h 00 min)" in the statement's language. */
static void
units(const struct stmt *s, int64_t n, char *out, size_t len)
{
	qh_units_text_in(s->lang, n, out, len);
}

/* Billable time as h:mm. */
static void
duration(int64_t secs, char *out, size_t len)
{
	snprintf(out, len, "%" PRId64 ":%02" PRId64, secs / 3600, (secs / 60) % 60);
}

/* ---------------------------------------------------------------------- PDF */

#define PAGE_W 595.0
#define PAGE_H 842.0
#define MARGIN 50.0

struct pdf {
	cairo_t *cr;
	double y;
};

static void
pdf_font(struct pdf *p, double size, int bold)
{
	cairo_select_font_face(p->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
	    bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(p->cr, size);
}

/* Starts a new page when h more points do not fit. */
static void
pdf_need(struct pdf *p, double h)
{
	if (p->y + h > PAGE_H - MARGIN) {
		cairo_show_page(p->cr);
		p->y = MARGIN;
	}
}

/* Text at x on the current line, cut to width w (0: no limit). */
static void
pdf_text(struct pdf *p, double x, const char *t, double w)
{
	char buf[512];
	cairo_text_extents_t e;
	size_t n;

	snprintf(buf, sizeof(buf), "%s", t);
	n = strlen(buf);
	while (w > 0 && n > 0) {
		cairo_text_extents(p->cr, buf, &e);
		if (e.x_advance <= w)
			break;
		/* One character less, cut at a UTF-8 boundary. */
		n--;
		while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
			n--;
		buf[n] = '\0';
	}
	cairo_move_to(p->cr, x, p->y);
	cairo_show_text(p->cr, buf);
}

/* A line of columns: texts at the x positions, each cut to its column. */
static void
pdf_row(struct pdf *p, const double *x, const char *const *cols, int n, int bold)
{
	int i;

	pdf_need(p, 14);
	pdf_font(p, 9, bold);
	for (i = 0; i < n; i++)
		pdf_text(p, x[i], cols[i],
		    (i + 1 < n ? x[i + 1] : PAGE_W - MARGIN) - x[i] - 6);
	p->y += 13;
}

static void
pdf_heading(struct pdf *p, const char *t)
{
	pdf_need(p, 40);
	p->y += 10;
	pdf_font(p, 12, 1);
	pdf_text(p, MARGIN, t, 0);
	p->y += 16;
}

/* The chart of units per week as an image: bars, a base line, the months. */
static cairo_surface_t *
chart_image(const struct stmt *s, const struct qh_json_node *weeks, int w, int h)
{
	cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	cairo_t *cr = cairo_create(img);
	const struct qh_json_node *wk;
	int64_t max = 1, v;
	int n = 0, i = 0;
	double bw;

	for (wk = weeks != NULL ? weeks->child : NULL; wk != NULL && n < WEEKS_MAX;
	     wk = wk->next, n++)
		if ((v = num(wk, "units")) > max)
			max = v;
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	bw = n > 0 ? (double)(w - 20) / n : 1;
	cairo_set_source_rgb(cr, 0.2, 0.4, 0.7);
	for (wk = weeks != NULL ? weeks->child : NULL; wk != NULL && i < n;
	     wk = wk->next, i++) {
		v = num(wk, "units");
		cairo_rectangle(cr, 10 + i * bw + 1,
		    (h - 20) - (double)v / max * (h - 40), bw - 2,
		    (double)v / max * (h - 40));
	}
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, 10, h - 19.5);
	cairo_line_to(cr, w - 10, h - 19.5);
	cairo_stroke(cr);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
	    CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 9);
	i = 0;
	for (wk = weeks != NULL ? weeks->child : NULL; wk != NULL && i < n;
	     wk = wk->next, i++)
		if (i % 9 == 0) {
			cairo_move_to(cr, 10 + i * bw, h - 5);
			cairo_show_text(cr, str(wk, "start"));
		}
	(void)s;
	cairo_destroy(cr);
	cairo_surface_flush(img);
	return img;
}

/* Whether entry e of a section was written in the data. */
static const struct qh_json_node *
items(const struct stmt *s, const char *key)
{
	const struct qh_json_node *a = qh_json_get(s->root, key);

	return a != NULL && a->type == QH_JSON_ARRAY ? a->child : NULL;
}

/* Writes t with &, <, >, " escaped. */
static void
html_text(FILE *f, const char *t)
{
	for (; *t != '\0'; t++)
		switch (*t) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*t, f);
		}
}

/* A table row of cells (th when head). */
static void
html_row(FILE *f, const char *const *cols, int n, int head)
{
	int i;

	fputs("<tr>", f);
	for (i = 0; i < n; i++) {
		fputs(head ? "<th>" : "<td>", f);
		html_text(f, cols[i]);
		fputs(head ? "</th>" : "</td>", f);
	}
	fputs("</tr>\n", f);
}

/*
 * Where a table's rows go: the PDF's page (each table gives its column
 * positions) or the HTML file. The tables below format each cell once
 * for both.
 */
struct sink {
	struct pdf *pdf; /* the PDF's page, or NULL for html */
	FILE *html;
};

static void
sink_row(const struct sink *k, const double *x, const char *const *cols, int n, int head)
{
	if (k->pdf != NULL)
		pdf_row(k->pdf, x, cols, n, head);
	else
		html_row(k->html, cols, n, head);
}

static void
table_purchases(const struct stmt *s, const struct sink *k)
{
	static const double x[] = { MARGIN, 120, 250, 360 };
	const struct qh_json_node *e;
	enum qh_lang L = s->lang;
	char a[128], b[128];
	const char *h[] = { qh_tr(L, "Date"), qh_tr(L, "Units"), qh_tr(L, "Amount"),
		qh_tr(L, "Reference") };

	sink_row(k, x, h, 4, 1);
	for (e = items(s, "purchases"); e != NULL; e = e->next) {
		const char *r[4];

		if (num(e, "installations") > 0)
			snprintf(a, sizeof(a), "%" PRId64 " %s", num(e, "installations"),
			    qh_tr(L, "installations"));
		else
			units(s, num(e, "units"), a, sizeof(a));
		money(s, num(e, "amount_cents"), b, sizeof(b));
		r[0] = str(e, "date");
		r[1] = a;
		r[2] = b;
		r[3] = str(e, "reference");
		sink_row(k, x, r, 4, 0);
	}
}

static void
table_sessions(const struct stmt *s, const struct sink *k)
{
	static const double x[] = { MARGIN, 115, 150, 250, 290, 330 };
	const struct qh_json_node *e;
	enum qh_lang L = s->lang;
	char a[128], b[128], c[128];
	const char *h[] = { qh_tr(L, "Date"), qh_tr(L, "Time"), qh_tr(L, "Technician"),
		qh_tr(L, "Billable"), qh_tr(L, "Units"), qh_tr(L, "Note") };

	sink_row(k, x, h, 6, 1);
	for (e = items(s, "sessions"); e != NULL; e = e->next) {
		const char *r[6];
		const struct qh_json_node *ah = qh_json_get(e, "after_hours");

		snprintf(a, sizeof(a), "%s%s", str(e, "time"),
		    ah != NULL && ah->type == QH_JSON_TRUE ? " *" : "");
		duration(num(e, "billable_seconds"), b, sizeof(b));
		snprintf(c, sizeof(c), "%" PRId64, num(e, "units"));
		r[0] = str(e, "date");
		r[1] = a;
		r[2] = str(e, "technician");
		r[3] = b;
		r[4] = c;
		r[5] = str(e, "note");
		sink_row(k, x, r, 6, 0);
	}
}

static void
table_installations(const struct stmt *s, const struct sink *k)
{
	static const double x[] = { MARGIN, 115, 150, 250 };
	const struct qh_json_node *e;
	enum qh_lang L = s->lang;
	const char *h[] = { qh_tr(L, "Date"), qh_tr(L, "Time"), qh_tr(L, "Technician"),
		qh_tr(L, "Note") };

	sink_row(k, x, h, 4, 1);
	for (e = items(s, "installations"); e != NULL; e = e->next) {
		const char *r[4] = { str(e, "date"), str(e, "time"), str(e, "technician"),
			str(e, "note") };

		sink_row(k, x, r, 4, 0);
	}
}

static void
table_corrections(const struct stmt *s, const struct sink *k)
{
	static const double x[] = { MARGIN, 120, 250, 360 };
	const struct qh_json_node *e;
	enum qh_lang L = s->lang;
	char a[128], b[128];
	const char *h[] = { qh_tr(L, "Date"), qh_tr(L, "Units"), qh_tr(L, "Amount"),
		qh_tr(L, "Reason") };

	sink_row(k, x, h, 4, 1);
	for (e = items(s, "corrections"); e != NULL; e = e->next) {
		const char *r[4];

		snprintf(a, sizeof(a), "%+" PRId64, num(e, "units"));
		money(s, num(e, "amount_cents"), b, sizeof(b));
		r[0] = str(e, "date");
		r[1] = a;
		r[2] = b;
		r[3] = str(e, "note");
		sink_row(k, x, r, 4, 0);
	}
}

static int
render_pdf(const struct stmt *s, const char *path, char *why, size_t whylen)
{
	const struct qh_json_node *root = s->root, *v = qh_json_get(root, "vendor"),
				  *cu = qh_json_get(root, "customer"), *t;
	cairo_surface_t *surf, *img;
	struct pdf p;
	struct sink k = { .pdf = &p, .html = NULL };
	char a[128], b[128], line[512], *addr, *tok, *save = NULL;
	enum qh_lang L = s->lang;
	cairo_status_t st;

	surf = cairo_pdf_surface_create(path, PAGE_W, PAGE_H);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		snprintf(why, whylen, "%s: %s", path,
		    cairo_status_to_string(cairo_surface_status(surf)));
		cairo_surface_destroy(surf);
		return QH_ERR_SYSTEM;
	}
	p.cr = cairo_create(surf);
	p.y = MARGIN + 10;
	cairo_set_source_rgb(p.cr, 0, 0, 0);

	pdf_font(&p, 16, 1);
	pdf_text(&p, MARGIN, str(v, "name"), 300);
	pdf_font(&p, 14, 1);
	snprintf(line, sizeof(line), "%s %s", qh_tr(L, "Statement"), str(root, "month"));
	pdf_text(&p, 360, line, 0);
	p.y += 16;
	pdf_font(&p, 9, 0);
	if ((addr = strdup(str(v, "address"))) != NULL) {
		for (tok = strtok_r(addr, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			pdf_text(&p, MARGIN, tok, 300);
			p.y += 12;
		}
		free(addr);
	}
	p.y += 14;
	pdf_font(&p, 11, 1);
	pdf_text(&p, MARGIN, str(cu, "name"), 0);
	p.y += 14;
	pdf_font(&p, 9, 0);
	snprintf(line, sizeof(line), "%s: %s", qh_tr(L, "Customer"), str(cu, "id"));
	pdf_text(&p, MARGIN, line, 0);
	p.y += 12;
	if (qh_json_get_str(cu, "vat_id") != NULL) {
		snprintf(line, sizeof(line), "%s: %s", qh_tr(L, "VAT id"),
		    str(cu, "vat_id"));
		pdf_text(&p, MARGIN, line, 0);
		p.y += 12;
	}
	p.y += 10;
	pdf_font(&p, 10, 1);
	units(s, num(root, "opening_units"), a, sizeof(a));
	snprintf(line, sizeof(line), "%s: %s; %s: %" PRId64, qh_tr(L, "Opening balance"),
	    a, qh_tr(L, "installations"), num(root, "opening_installations"));
	pdf_text(&p, MARGIN, line, 0);
	p.y += 14;

	pdf_heading(&p, qh_tr(L, "Purchases"));
	table_purchases(s, &k);
	pdf_heading(&p, qh_tr(L, "Sessions"));
	table_sessions(s, &k);
	pdf_need(&p, 14);
	pdf_font(&p, 8, 0);
	pdf_text(&p, MARGIN, qh_tr(L, "* outside support hours"), 0);
	p.y += 12;
	pdf_heading(&p, qh_tr(L, "Installations"));
	table_installations(s, &k);
	pdf_heading(&p, qh_tr(L, "Corrections"));
	table_corrections(s, &k);
	pdf_need(&p, 60);
	p.y += 14;
	t = qh_json_get(root, "totals");
	pdf_font(&p, 10, 1);
	money(s, num(t, "purchased_cents"), b, sizeof(b));
	snprintf(line, sizeof(line), "%s: %" PRId64 " (%s)", qh_tr(L, "Units purchased"),
	    num(t, "purchased_units"), b);
	pdf_text(&p, MARGIN, line, 0);
	p.y += 14;
	snprintf(line, sizeof(line), "%s: %" PRId64, qh_tr(L, "Units used in sessions"),
	    num(t, "session_units"));
	pdf_text(&p, MARGIN, line, 0);
	p.y += 14;
	units(s, num(root, "closing_units"), a, sizeof(a));
	snprintf(line, sizeof(line), "%s: %s; %s: %" PRId64, qh_tr(L, "Closing balance"),
	    a, qh_tr(L, "installations"), num(root, "closing_installations"));
	pdf_text(&p, MARGIN, line, 0);
	p.y += 24;

	pdf_need(&p, 200);
	pdf_font(&p, 11, 1);
	pdf_text(&p, MARGIN, qh_tr(L, "Units used per week, last twelve months"), 0);
	p.y += 8;
	img = chart_image(s, qh_json_get(root, "weeks"), 990, 320);
	cairo_save(p.cr);
	cairo_translate(p.cr, MARGIN, p.y);
	cairo_scale(p.cr, 0.5, 0.5);
	cairo_set_source_surface(p.cr, img, 0, 0);
	cairo_paint(p.cr);
	cairo_restore(p.cr);
	cairo_surface_destroy(img);
	p.y += 170;

	cairo_show_page(p.cr);
	cairo_destroy(p.cr);
	cairo_surface_finish(surf);
	st = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	if (st != CAIRO_STATUS_SUCCESS) {
		snprintf(why, whylen, "%s: %s", path, cairo_status_to_string(st));
		return QH_ERR_SYSTEM;
	}
	return 0;
}

/* --------------------------------------------------------------------- HTML */

static void
html_chart(FILE *f, const struct qh_json_node *weeks)
{
	const struct qh_json_node *wk;
	int64_t max = 1, v;
	int n = 0, i = 0;
	double bw;

	for (wk = weeks != NULL ? weeks->child : NULL; wk != NULL && n < WEEKS_MAX;
	     wk = wk->next, n++)
		if ((v = num(wk, "units")) > max)
			max = v;
	bw = n > 0 ? 680.0 / n : 1;
	fputs("<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"700\" "
	      "height=\"200\" viewBox=\"0 0 700 200\">\n",
	    f);
	fputs("<line x1=\"10\" y1=\"180\" x2=\"690\" y2=\"180\" stroke=\"black\"/>\n", f);
	for (wk = weeks != NULL ? weeks->child : NULL; wk != NULL && i < n;
	     wk = wk->next, i++) {
		v = num(wk, "units");
		fprintf(f,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"#3366b3\"><title>",
		    10 + i * bw + 1, 180 - (double)v / max * 160, bw - 2,
		    (double)v / max * 160);
		html_text(f, str(wk, "start"));
		fprintf(f, ": %" PRId64 "</title></rect>\n", v);
		if (i % 9 == 0) {
			fprintf(f, "<text x=\"%.1f\" y=\"195\" font-size=\"9\">",
			    10 + i * bw);
			html_text(f, str(wk, "start"));
			fputs("</text>\n", f);
		}
	}
	fputs("</svg>\n", f);
}

static int
render_html(const struct stmt *s, const char *path, char *why, size_t whylen)
{
	const struct qh_json_node *root = s->root, *v = qh_json_get(root, "vendor"),
				  *cu = qh_json_get(root, "customer"), *t;
	enum qh_lang L = s->lang;
	struct sink k = { .pdf = NULL };
	char a[128], b[128];
	FILE *f;

	if ((f = fopen(path, "wx")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	k.html = f;
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n",
	    L == QH_LANG_DE ? "de" : "en");
	fputs("<title>", f);
	html_text(f, qh_tr(L, "Statement"));
	fputs(" ", f);
	html_text(f, str(root, "month"));
	fputs("</title>\n<style>body{font-family:\"DejaVu Sans\",sans-serif;"
	      "font-size:10pt;margin:2em}table{border-collapse:collapse;width:100%}"
	      "th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #ccc}"
	      "@media print{body{margin:0}}</style></head><body>\n",
	    f);
	fputs("<header><h1>", f);
	html_text(f, str(v, "name"));
	fputs("</h1><p>", f);
	html_text(f, str(v, "address"));
	fputs("</p><h2>", f);
	html_text(f, qh_tr(L, "Statement"));
	fputs(" ", f);
	html_text(f, str(root, "month"));
	fputs("</h2></header>\n<p><strong>", f);
	html_text(f, str(cu, "name"));
	fputs("</strong><br>", f);
	html_text(f, qh_tr(L, "Customer"));
	fputs(": ", f);
	html_text(f, str(cu, "id"));
	if (qh_json_get_str(cu, "vat_id") != NULL) {
		fputs("<br>", f);
		html_text(f, qh_tr(L, "VAT id"));
		fputs(": ", f);
		html_text(f, str(cu, "vat_id"));
	}
	fputs("</p>\n<p id=\"opening\">", f);
	units(s, num(root, "opening_units"), a, sizeof(a));
	html_text(f, qh_tr(L, "Opening balance"));
	fprintf(f, ": ");
	html_text(f, a);
	fputs("</p>\n<h3>", f);
	html_text(f, qh_tr(L, "Purchases"));
	fputs("</h3><table>\n", f);
	table_purchases(s, &k);
	fputs("</table>\n<h3>", f);
	html_text(f, qh_tr(L, "Sessions"));
	fputs("</h3><table>\n", f);
	table_sessions(s, &k);
	fputs("</table><p><small>", f);
	html_text(f, qh_tr(L, "* outside support hours"));
	fputs("</small></p>\n<h3>", f);
	html_text(f, qh_tr(L, "Installations"));
	fputs("</h3><table>\n", f);
	table_installations(s, &k);
	fputs("</table>\n<h3>", f);
	html_text(f, qh_tr(L, "Corrections"));
	fputs("</h3><table>\n", f);
	table_corrections(s, &k);
	fputs("</table>\n", f);
	t = qh_json_get(root, "totals");
	money(s, num(t, "purchased_cents"), b, sizeof(b));
	fputs("<p id=\"totals\">", f);
	html_text(f, qh_tr(L, "Units purchased"));
	fprintf(f, ": %" PRId64 " (", num(t, "purchased_units"));
	html_text(f, b);
	fputs(")<br>", f);
	html_text(f, qh_tr(L, "Units used in sessions"));
	fprintf(f, ": %" PRId64 "<br><strong id=\"closing\">", num(t, "session_units"));
	units(s, num(root, "closing_units"), a, sizeof(a));
	html_text(f, qh_tr(L, "Closing balance"));
	fputs(": ", f);
	html_text(f, a);
	fputs("</strong></p>\n<h3>", f);
	html_text(f, qh_tr(L, "Units used per week, last twelve months"));
	fputs("</h3>\n", f);
	html_chart(f, qh_json_get(root, "weeks"));
	fputs("</body></html>\n", f);
	if (fclose(f) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return QH_ERR_SYSTEM;
	}
	return 0;
}

int
render_statement(const char *json, size_t len, const char *format, const char *path,
    char *why, size_t whylen)
{
	struct qh_json_doc *doc = NULL;
	struct stmt s;
	const char *lang;
	int r;

	if ((r = qh_json_parse(json, len, &doc)) != 0) {
		snprintf(why, whylen, "the statement's data is not JSON: %s",
		    qh_strerror(r));
		return r;
	}
	memset(&s, 0, sizeof(s));
	s.root = qh_json_root(doc);
	s.lang = QH_LANG_EN;
	lang = qh_json_get_str(qh_json_get(s.root, "customer"), "lang");
	if (lang != NULL)
		(void)qh_lang_parse(lang, &s.lang);
	s.currency = str(s.root, "currency");
	if (strcmp(format, "pdf") == 0)
		r = render_pdf(&s, path, why, whylen);
	else if (strcmp(format, "html") == 0)
		r = render_html(&s, path, why, whylen);
	else {
		snprintf(why, whylen, "no format %s", format);
		r = QH_ERR_ARG;
	}
	qh_json_free(doc);
	return r;
}
