/*
 * The workstation facts as text (see qh/envinfo.h). The JSON comes from
 * the customer's PC, so it is parsed by the bounded reader and every value
 * passes the display filter (qh/display.h) before it is printed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qh/display.h"
#include "qh/envinfo.h"
#include "qh/err.h"
#include "qh/jsonread.h"
#include "qh/text.h"

#define LABEL_WIDTH    14 /* English labels; German ones are longer */
#define LABEL_WIDTH_DE 18
#define LINE_MAX_LEN   1024

/* Where the lines go, and in which language. */
struct facts_out {
	struct qh_buf *buf;
	enum qh_lang lang;
};

#define T(o, s) qh_tr((o)->lang, (s))

/* Characters in UTF-8 text s (its bytes that start a character). */
static int
chars(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Appends "Label:   text\n" with the label (a msgid, marked N_()) in the
 * output's language; an empty label continues the previous line's block.
 */
static int line(struct facts_out *o, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
line(struct facts_out *o, const char *label, const char *fmt, ...)
{
	char text[LINE_MAX_LEN], head[LABEL_WIDTH_DE + 64];
	int width = o->lang == QH_LANG_DE ? LABEL_WIDTH_DE : LABEL_WIDTH;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(head, sizeof(head), "%s%s", label[0] != '\0' ? T(o, label) : "",
	    label[0] != '\0' ? ":" : "");
	if ((r = qh_buf_put(o->buf, head, strlen(head))) != 0)
		return r;
	for (r = chars(head); r < width; r++)
		if (qh_buf_put_u8(o->buf, ' ') != 0)
			return QH_ERR_TOO_LARGE;
	if ((r = qh_buf_put(o->buf, text, strlen(text))) != 0)
		return r;
	return qh_buf_put_u8(o->buf, '\n');
}

/* A size: "8.0 GiB", in German with a decimal comma, "8,0 GiB". */
static void
bytes_text(const struct facts_out *o, int64_t n, char *out, size_t len)
{
	double v = (double)n;
	char *p;

	if (n >= (int64_t)1 << 40)
		snprintf(out, len, "%.1f TiB", v / (1024.0 * 1024 * 1024 * 1024));
	else if (n >= 1 << 30)
		snprintf(out, len, "%.1f GiB", v / (1024.0 * 1024 * 1024));
	else if (n >= 1 << 20)
		snprintf(out, len, "%.1f MiB", v / (1024.0 * 1024));
	else
		snprintf(out, len,
		    qh_ntr(o->lang, "%lld byte", "%lld bytes", n == 1 ? 1UL : 2UL),
		    (long long)n);
	if (o->lang == QH_LANG_DE && (p = strchr(out, '.')) != NULL)
		*p = ',';
}

/* A string member as the display filter shows it, or NULL. */
static const char *
str(const struct qh_json_node *o, const char *key, char *buf, size_t len)
{
	const char *s = qh_json_get_str(o, key);

	if (s == NULL)
		return NULL;
	qh_display_str(s, buf, len, 0);
	return buf;
}

static int
text_line(struct facts_out *out, const struct qh_json_node *o, const char *label,
    const char *key)
{
	char v[LINE_MAX_LEN];

	if (str(o, key, v, sizeof(v)) == NULL)
		return 0;
	return line(out, label, "%s", v);
}

static int
disks(struct facts_out *out, const struct qh_json_node *list)
{
	const struct qh_json_node *d;
	char mount[512], fs[64], size[32], free_[32];
	int64_t sz, fr;
	int first = 1, r;

	if (list == NULL || list->type != QH_JSON_ARRAY)
		return 0;
	for (d = list->child; d != NULL; d = d->next) {
		if (str(d, "mount", mount, sizeof(mount)) == NULL)
			continue;
		if (str(d, "fs", fs, sizeof(fs)) == NULL)
			snprintf(fs, sizeof(fs), "?");
		if (qh_json_get_int(d, "size_bytes", &sz) != 0 ||
		    qh_json_get_int(d, "free_bytes", &fr) != 0)
			continue;
		bytes_text(out, sz, size, sizeof(size));
		bytes_text(out, fr, free_, sizeof(free_));
		if ((r = line(out, first ? N_("Disks") : "",
			 T(out, N_("%s (%s): %s, %s free")), mount, fs, size, free_)) !=
		    0)
			return r;
		first = 0;
	}
	return 0;
}

static int
interfaces(struct facts_out *out, const struct qh_json_node *list)
{
	const struct qh_json_node *i, *a, *addrs;
	char name[128], addr[128], text[LINE_MAX_LEN];
	size_t used;
	int first = 1, r;

	if (list == NULL || list->type != QH_JSON_ARRAY)
		return 0;
	for (i = list->child; i != NULL; i = i->next) {
		if (str(i, "name", name, sizeof(name)) == NULL)
			continue;
		used = 0;
		text[0] = '\0';
		addrs = qh_json_get(i, "addresses");
		for (a = addrs != NULL && addrs->type == QH_JSON_ARRAY ? addrs->child
								       : NULL;
		     a != NULL && used < sizeof(text); a = a->next) {
			if (a->type != QH_JSON_STRING)
				continue;
			qh_display_str(a->str, addr, sizeof(addr), 0);
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
			    used > 0 ? ", " : "", addr);
		}
		if ((r = line(out, first ? N_("Network") : "", "%s: %s", name,
			 text[0] != '\0' ? text : T(out, N_("no address")))) != 0)
			return r;
		first = 0;
	}
	return 0;
}

/* Appends "Label: a, b, c" for an array of strings (nothing for none or no member). */
static int
string_list(struct facts_out *out, const char *label, const struct qh_json_node *list,
    const char *none)
{
	const struct qh_json_node *e;
	char v[256], text[LINE_MAX_LEN];
	size_t used = 0;

	if (list == NULL || list->type != QH_JSON_ARRAY)
		return 0;
	text[0] = '\0';
	for (e = list->child; e != NULL && used < sizeof(text) - 1; e = e->next) {
		if (e->type != QH_JSON_STRING)
			continue;
		qh_display_str(e->str, v, sizeof(v), 0);
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
		    used > 0 ? ", " : "", v);
	}
	if (text[0] == '\0' && none == NULL)
		return 0;
	return line(out, label, "%s", text[0] != '\0' ? text : T(out, none));
}

/* What only the Windows agent says of its system: edition, version, build, rights. */
static int
windows_facts_os(struct facts_out *out, const struct qh_json_node *o)
{
	const struct qh_json_node *n, *e;
	int r;

	if ((r = text_line(out, o, N_("Edition"), "os_edition")) != 0 ||
	    (r = text_line(out, o, N_("Version"), "os_version")) != 0 ||
	    (r = text_line(out, o, N_("Build"), "os_build")) != 0)
		return r;
	if ((n = qh_json_get(o, "admin")) == NULL ||
	    (n->type != QH_JSON_TRUE && n->type != QH_JSON_FALSE))
		return 0;
	e = qh_json_get(o, "elevated");
	return line(out, N_("Admin rights"), "%s%s",
	    n->type == QH_JSON_TRUE ? T(out, N_("yes")) : T(out, N_("no")),
	    e != NULL && e->type == QH_JSON_TRUE ? T(out, N_(" (elevated)")) : "");
}

/*
 * What only the Windows agent reports of what is installed: .NET
 * Framework, Office, the CRM products among the programs (the rest
 * counted), TAPI, scanners, the default printer.
 */
static int
windows_facts(struct facts_out *out, const struct qh_json_node *o)
{
	const struct qh_json_node *n, *e;
	char a[128], b[128], c[128], text[LINE_MAX_LEN];
	int64_t v;
	size_t used = 0;
	int r, crm = 0, others = 0;

	if ((n = qh_json_get(o, "dotnet")) != NULL && n->type == QH_JSON_ARRAY) {
		text[0] = '\0';
		for (e = n->child; e != NULL && used < sizeof(text) - 1; e = e->next) {
			if (str(e, "product", a, sizeof(a)) == NULL &&
			    str(e, "version", a, sizeof(a)) == NULL)
				continue;
			if (str(e, "key", b, sizeof(b)) == NULL)
				snprintf(b, sizeof(b), "?");
			used += (size_t)snprintf(text + used, sizeof(text) - used,
			    "%s%s (%s)", used > 0 ? ", " : "", a, b);
		}
		if ((r = line(out, ".NET", "%s",
			 text[0] != '\0' ? text : T(out, N_("none")))) != 0)
			return r;
	}
	if ((n = qh_json_get(o, "office")) != NULL && n->type == QH_JSON_OBJECT &&
	    str(n, "version", a, sizeof(a)) != NULL && str(n, "bitness", b, sizeof(b)) &&
	    str(n, "source", c, sizeof(c)) &&
	    (r = line(out, "Office", "%s, %s (%s)", a, b, c)) != 0)
		return r;
	if ((n = qh_json_get(o, "programs")) != NULL && n->type == QH_JSON_ARRAY) {
		for (e = n->child; e != NULL; e = e->next) {
			if ((qh_json_get(e, "crm") == NULL ||
				qh_json_get(e, "crm")->type != QH_JSON_TRUE) ||
			    str(e, "name", a, sizeof(a)) == NULL) {
				others++;
				continue;
			}
			if (str(e, "version", b, sizeof(b)) == NULL)
				b[0] = '\0';
			if (str(e, "view", c, sizeof(c)) == NULL)
				snprintf(c, sizeof(c), "?");
			if ((r = line(out, crm == 0 ? N_("CRM, Office") : "",
				 "%s%s%s (%s)", a, b[0] != '\0' ? " " : "", b, c)) != 0)
				return r;
			crm++;
		}
		if (qh_json_get_int(o, "programs_more", &v) == 0)
			others += (int)v;
		if ((r = line(out, N_("Programs"),
			 qh_ntr(out->lang, "%d more installed (info --json lists them)",
			     "%d more installed (info --json lists them)",
			     others == 1 ? 1UL : 2UL),
			 others)) != 0)
			return r;
	}
	if ((r = string_list(out, "TAPI", qh_json_get(o, "tapi_providers"),
		 N_("none"))) != 0)
		return r;
	if ((n = qh_json_get(o, "scanners")) != NULL &&
	    ((r = string_list(out, "TWAIN", qh_json_get(n, "twain"), N_("none"))) != 0 ||
		(r = string_list(out, "WIA", qh_json_get(n, "wia"), N_("none"))) != 0))
		return r;
	return text_line(out, o, N_("Printer"), "default_printer");
}

int
qh_envinfo_text(const void *json, size_t len, struct qh_buf *buf)
{
	return qh_envinfo_text_in(QH_LANG_EN, json, len, buf);
}

int
qh_envinfo_text_in(enum qh_lang lang, const void *json, size_t len, struct qh_buf *buf)
{
	struct facts_out fo = { buf, lang }, *out = &fo;
	struct qh_json_doc *doc = NULL;
	const struct qh_json_node *o;
	char cpu[LINE_MAX_LEN], a[32], b[32];
	int64_t cores = 0, total, avail, up;
	int r;

	if ((r = qh_json_parse(json, len, &doc)) != 0)
		return r == QH_ERR_NOMEM ? r : QH_ERR_FORMAT;
	o = qh_json_root(doc);
	if (o->type != QH_JSON_OBJECT) {
		r = QH_ERR_FORMAT;
		goto out;
	}
	if ((r = text_line(out, o, N_("OS"), "os")) != 0 ||
	    (r = windows_facts_os(out, o)) != 0 ||
	    (r = text_line(out, o, N_("Kernel"), "kernel")) != 0 ||
	    (r = text_line(out, o, N_("Architecture"), "arch")) != 0 ||
	    (r = text_line(out, o, N_("Host name"), "hostname")) != 0 ||
	    (r = text_line(out, o, N_("User"), "user")) != 0)
		goto out;
	if (str(o, "cpu_model", cpu, sizeof(cpu)) == NULL)
		snprintf(cpu, sizeof(cpu), "%s", T(out, N_("unknown model")));
	if (qh_json_get_int(o, "cpu_cores", &cores) == 0)
		r = line(out, "CPU",
		    qh_ntr(lang, "%s, %lld core", "%s, %lld cores",
			cores == 1 ? 1UL : 2UL),
		    cpu, (long long)cores);
	else
		r = line(out, "CPU", "%s", cpu);
	if (r != 0)
		goto out;
	if (qh_json_get_int(o, "memory_total_bytes", &total) == 0 &&
	    qh_json_get_int(o, "memory_available_bytes", &avail) == 0) {
		bytes_text(out, total, a, sizeof(a));
		bytes_text(out, avail, b, sizeof(b));
		if ((r = line(out, N_("Memory"), T(out, N_("%s total, %s available")), a,
			 b)) != 0)
			goto out;
	}
	if ((r = disks(out, qh_json_get(o, "disks"))) != 0)
		goto out;
	if (qh_json_get_int(o, "uptime_seconds", &up) == 0 && up >= 0) {
		if (up >= 86400)
			r = line(out, N_("Uptime"),
			    qh_ntr(lang, "%lld day, %02lld:%02lld:%02lld",
				"%lld days, %02lld:%02lld:%02lld",
				up / 86400 == 1 ? 1UL : 2UL),
			    (long long)(up / 86400), (long long)(up / 3600 % 24),
			    (long long)(up / 60 % 60), (long long)(up % 60));
		else
			r = line(out, N_("Uptime"), "%02lld:%02lld:%02lld",
			    (long long)(up / 3600), (long long)(up / 60 % 60),
			    (long long)(up % 60));
		if (r != 0)
			goto out;
	}
	if ((r = text_line(out, o, N_("Locale"), "locale")) != 0 ||
	    (r = text_line(out, o, N_("Time zone"), "timezone")) != 0)
		goto out;
	if ((r = interfaces(out, qh_json_get(o, "interfaces"))) != 0)
		goto out;
	r = windows_facts(out, o);
out:
	qh_json_free(doc);
	return r;
}
