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

#define LABEL_WIDTH  14
#define LINE_MAX_LEN 1024

/* Appends "Label:   text\n"; an empty label continues the previous line's block. */
static int line(struct qh_buf *out, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
line(struct qh_buf *out, const char *label, const char *fmt, ...)
{
	char text[LINE_MAX_LEN], head[LABEL_WIDTH + 8];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(head, sizeof(head), "%s%s", label, label[0] != '\0' ? ":" : "");
	if ((r = qh_buf_put(out, head, strlen(head))) != 0)
		return r;
	for (r = (int)strlen(head); r < LABEL_WIDTH; r++)
		if (qh_buf_put_u8(out, ' ') != 0)
			return QH_ERR_TOO_LARGE;
	if ((r = qh_buf_put(out, text, strlen(text))) != 0)
		return r;
	return qh_buf_put_u8(out, '\n');
}

static void
bytes_text(int64_t n, char *out, size_t len)
{
	double v = (double)n;

	if (n >= (int64_t)1 << 40)
		snprintf(out, len, "%.1f TiB", v / (1024.0 * 1024 * 1024 * 1024));
	else if (n >= 1 << 30)
		snprintf(out, len, "%.1f GiB", v / (1024.0 * 1024 * 1024));
	else if (n >= 1 << 20)
		snprintf(out, len, "%.1f MiB", v / (1024.0 * 1024));
	else
		snprintf(out, len, "%" PRId64 " bytes", n);
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
text_line(struct qh_buf *out, const struct qh_json_node *o, const char *label,
    const char *key)
{
	char v[LINE_MAX_LEN];

	if (str(o, key, v, sizeof(v)) == NULL)
		return 0;
	return line(out, label, "%s", v);
}

static int
disks(struct qh_buf *out, const struct qh_json_node *list)
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
		bytes_text(sz, size, sizeof(size));
		bytes_text(fr, free_, sizeof(free_));
		if ((r = line(out, first ? "Disks" : "", "%s (%s): %s, %s free", mount,
			 fs, size, free_)) != 0)
			return r;
		first = 0;
	}
	return 0;
}

static int
interfaces(struct qh_buf *out, const struct qh_json_node *list)
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
		if ((r = line(out, first ? "Network" : "", "%s: %s", name,
			 text[0] != '\0' ? text : "no address")) != 0)
			return r;
		first = 0;
	}
	return 0;
}

/* Appends "Label: a, b, c" for an array of strings (nothing for none or no member). */
static int
string_list(struct qh_buf *out, const char *label, const struct qh_json_node *list,
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
	return line(out, label, "%s", text[0] != '\0' ? text : none);
}

/* What only the Windows agent says of its system: edition, version, build, rights. */
static int
windows_facts_os(struct qh_buf *out, const struct qh_json_node *o)
{
	const struct qh_json_node *n, *e;
	int r;

	if ((r = text_line(out, o, "Edition", "os_edition")) != 0 ||
	    (r = text_line(out, o, "Version", "os_version")) != 0 ||
	    (r = text_line(out, o, "Build", "os_build")) != 0)
		return r;
	if ((n = qh_json_get(o, "admin")) == NULL ||
	    (n->type != QH_JSON_TRUE && n->type != QH_JSON_FALSE))
		return 0;
	e = qh_json_get(o, "elevated");
	return line(out, "Admin rights", "%s%s", n->type == QH_JSON_TRUE ? "yes" : "no",
	    e != NULL && e->type == QH_JSON_TRUE ? " (elevated)" : "");
}

/*
 * What only the Windows agent reports of what is installed: .NET
 * Framework, Office, the CRM products among the programs (the rest
 * counted), TAPI, scanners, the default printer.
 */
static int
windows_facts(struct qh_buf *out, const struct qh_json_node *o)
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
		if ((r = line(out, ".NET", "%s", text[0] != '\0' ? text : "none")) != 0)
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
			if ((r = line(out, crm == 0 ? "CRM, Office" : "", "%s%s%s (%s)",
				 a, b[0] != '\0' ? " " : "", b, c)) != 0)
				return r;
			crm++;
		}
		if (qh_json_get_int(o, "programs_more", &v) == 0)
			others += (int)v;
		if ((r = line(out, "Programs",
			 "%d more installed (info --json lists them)", others)) != 0)
			return r;
	}
	if ((r = string_list(out, "TAPI", qh_json_get(o, "tapi_providers"), "none")) != 0)
		return r;
	if ((n = qh_json_get(o, "scanners")) != NULL &&
	    ((r = string_list(out, "TWAIN", qh_json_get(n, "twain"), "none")) != 0 ||
		(r = string_list(out, "WIA", qh_json_get(n, "wia"), "none")) != 0))
		return r;
	return text_line(out, o, "Printer", "default_printer");
}

int
qh_envinfo_text(const void *json, size_t len, struct qh_buf *out)
{
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
	if ((r = text_line(out, o, "OS", "os")) != 0 ||
	    (r = windows_facts_os(out, o)) != 0 ||
	    (r = text_line(out, o, "Kernel", "kernel")) != 0 ||
	    (r = text_line(out, o, "Architecture", "arch")) != 0 ||
	    (r = text_line(out, o, "Host name", "hostname")) != 0 ||
	    (r = text_line(out, o, "User", "user")) != 0)
		goto out;
	if (str(o, "cpu_model", cpu, sizeof(cpu)) == NULL)
		snprintf(cpu, sizeof(cpu), "unknown model");
	if (qh_json_get_int(o, "cpu_cores", &cores) == 0)
		r = line(out, "CPU", "%s, %" PRId64 " core%s", cpu, cores,
		    cores == 1 ? "" : "s");
	else
		r = line(out, "CPU", "%s", cpu);
	if (r != 0)
		goto out;
	if (qh_json_get_int(o, "memory_total_bytes", &total) == 0 &&
	    qh_json_get_int(o, "memory_available_bytes", &avail) == 0) {
		bytes_text(total, a, sizeof(a));
		bytes_text(avail, b, sizeof(b));
		if ((r = line(out, "Memory", "%s total, %s available", a, b)) != 0)
			goto out;
	}
	if ((r = disks(out, qh_json_get(o, "disks"))) != 0)
		goto out;
	if (qh_json_get_int(o, "uptime_seconds", &up) == 0 && up >= 0) {
		if (up >= 86400)
			r = line(out, "Uptime",
			    "%" PRId64 " day%s, %02" PRId64 ":%02" PRId64 ":%02" PRId64,
			    up / 86400, up / 86400 == 1 ? "" : "s", up / 3600 % 24,
			    up / 60 % 60, up % 60);
		else
			r = line(out, "Uptime", "%02" PRId64 ":%02" PRId64 ":%02" PRId64,
			    up / 3600, up / 60 % 60, up % 60);
		if (r != 0)
			goto out;
	}
	if ((r = text_line(out, o, "Locale", "locale")) != 0 ||
	    (r = text_line(out, o, "Time zone", "timezone")) != 0)
		goto out;
	if ((r = interfaces(out, qh_json_get(o, "interfaces"))) != 0)
		goto out;
	r = windows_facts(out, o);
out:
	qh_json_free(doc);
	return r;
}
