/*
 * The registry's part of the workstation facts (see portable.h), read
 * through a struct reg_src so that the same walk runs against the real
 * registry on Windows and against a table in the unit tests. Everything
 * tolerates missing keys and values: Wine, a fresh install and a locked
 * down PC all lack some.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qh/err.h"
#include "portable.h"

#define NAME_MAX_LEN  256  /* a subkey's name */
#define VALUE_MAX_LEN 1024 /* a string value */

#define CURRENT_VERSION "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
#define NDP		"SOFTWARE\\Microsoft\\NET Framework Setup\\NDP"
#define UNINSTALL	"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall"
#define TELEPHONY	"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Telephony\\Providers"
#define WIA_CLASS                                                                        \
	"SYSTEM\\CurrentControlSet\\Control\\Class\\{6bdd1fc6-810f-11d0-bec7-"           \
	"08002be2092f}"

static void *
reg_open(const struct reg_src *src, enum reg_root root, enum reg_view view,
    const char *path)
{
	return src->open(src->arg, root, view, path);
}

static void
reg_close(const struct reg_src *src, void *key)
{
	if (key != NULL)
		src->close(src->arg, key);
}

/* A string value into out, "" when absent; returns 1 if it was there. */
static int
reg_str(const struct reg_src *src, void *key, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	if (key == NULL || src->str(src->arg, key, name, out, len) != 0) {
		out[0] = '\0';
		return 0;
	}
	return out[0] != '\0';
}

static int
reg_dword(const struct reg_src *src, void *key, const char *name, uint32_t *v)
{
	return key != NULL && src->dword(src->arg, key, name, v) == 0;
}

/* "key": "value", or null when value is empty. */
static void
kv_opt(struct qh_json *j, const char *key, const char *value)
{
	if (value[0] != '\0')
		qh_json_kv_str(j, key, value);
	else
		qh_json_kv_null(j, key);
}

/* The operating system. */

void
regfacts_os(struct qh_json *j, const struct reg_src *src, const struct win_version *v)
{
	char product[VALUE_MAX_LEN], edition[VALUE_MAX_LEN], display[VALUE_MAX_LEN];
	char buildstr[64], name[VALUE_MAX_LEN + 32], kernel[128], build[96], *p;
	const char *prefix;
	uint32_t major = v->major, minor = v->minor, bnum = v->build, ubr = 0, dw;
	void *k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, CURRENT_VERSION);

	(void)reg_str(src, k, "ProductName", product, sizeof(product));
	(void)reg_str(src, k, "EditionID", edition, sizeof(edition));
	/* 20H2 and later say DisplayVersion; 1507-2009 said ReleaseId. */
	if (!reg_str(src, k, "DisplayVersion", display, sizeof(display)))
		(void)reg_str(src, k, "ReleaseId", display, sizeof(display));
	(void)reg_dword(src, k, "UBR", &ubr);
	if (major == 0 && reg_dword(src, k, "CurrentMajorVersionNumber", &dw)) {
		major = dw;
		if (reg_dword(src, k, "CurrentMinorVersionNumber", &dw))
			minor = dw;
	}
	if (major == 0 && reg_str(src, k, "CurrentVersion", buildstr, sizeof(buildstr)))
		(void)sscanf(buildstr, "%u.%u", &major, &minor);
	if (bnum == 0 &&
	    (reg_str(src, k, "CurrentBuildNumber", buildstr, sizeof(buildstr)) ||
		reg_str(src, k, "CurrentBuild", buildstr, sizeof(buildstr))))
		bnum = (uint32_t)strtoul(buildstr, NULL, 10);
	reg_close(src, k);

	if (product[0] == '\0')
		snprintf(product, sizeof(product), "Windows");
	/* "Windows 10 Pro" as "Microsoft Windows 10 Pro", as Wine and winver say it. */
	prefix = strncmp(product, "Windows", 7) == 0 ? "Microsoft " : "";
	/* Windows 11 kept "Windows 10" in ProductName; its builds start at 22000. */
	if (major == 10 && bnum >= 22000 && (p = strstr(product, "Windows 10")) != NULL)
		snprintf(name, sizeof(name), "%s%.*sWindows 11%s", prefix,
		    (int)(p - product), product, p + strlen("Windows 10"));
	else
		snprintf(name, sizeof(name), "%s%s", prefix, product);
	if (ubr != 0)
		snprintf(build, sizeof(build), "%u.%u", bnum, ubr);
	else
		snprintf(build, sizeof(build), "%u", bnum);
	snprintf(kernel, sizeof(kernel), "Windows NT %u.%u.%s", major, minor, build);

	qh_json_kv_str(j, "os", name);
	qh_json_kv_str(j, "kernel", kernel);
	kv_opt(j, "os_edition", edition);
	kv_opt(j, "os_version", display);
	qh_json_kv_str(j, "os_build", build);
}

/* .NET Framework. */

const char *
regfacts_dotnet_product(uint32_t release)
{
	static const struct {
		uint32_t min;
		const char *product;
	} table[] = {
		{ 533320, "4.8.1" },
		{ 528040, "4.8" },
		{ 461808, "4.7.2" },
		{ 461308, "4.7.1" },
		{ 460798, "4.7" },
		{ 394802, "4.6.2" },
		{ 394254, "4.6.1" },
		{ 393295, "4.6" },
		{ 379893, "4.5.2" },
		{ 378675, "4.5.1" },
		{ 378389, "4.5" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (release >= table[i].min)
			return table[i].product;
	return NULL;
}

/* One NDP key: appended when it holds a Version or a Release. */
static void
dotnet_key(struct qh_json *j, const struct reg_src *src, const char *sub)
{
	char path[sizeof(NDP) + 2 * NAME_MAX_LEN + 4], version[VALUE_MAX_LEN];
	uint32_t release = 0, sp = 0, install = 1;
	const char *product = NULL;
	int have_release;
	void *k;

	snprintf(path, sizeof(path), "%s\\%s", NDP, sub);
	if ((k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, path)) == NULL)
		return;
	(void)reg_str(src, k, "Version", version, sizeof(version));
	have_release = reg_dword(src, k, "Release", &release);
	(void)reg_dword(src, k, "SP", &sp);
	(void)reg_dword(src, k, "Install", &install);
	reg_close(src, k);
	if ((version[0] == '\0' && !have_release) || install == 0)
		return;
	if (have_release)
		product = regfacts_dotnet_product(release);
	qh_json_begin_object(j);
	qh_json_kv_str(j, "key", sub);
	kv_opt(j, "version", version);
	if (have_release)
		qh_json_kv_int(j, "release", release);
	else
		qh_json_kv_null(j, "release");
	qh_json_kv_str(j, "product", product);
	qh_json_kv_int(j, "sp", sp);
	qh_json_end_object(j);
}

void
regfacts_dotnet(struct qh_json *j, const struct reg_src *src)
{
	char name[NAME_MAX_LEN], subname[NAME_MAX_LEN], sub[2 * NAME_MAX_LEN + 2];
	char path[sizeof(NDP) + NAME_MAX_LEN + 2];
	unsigned i, m;
	void *ndp, *k;

	qh_json_key(j, "dotnet");
	qh_json_begin_array(j);
	ndp = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, NDP);
	for (i = 0; ndp != NULL && src->subkey(src->arg, ndp, i, name, sizeof(name)) == 0;
	     i++) {
		/* v2.0.50727, v3.0, v3.5, v4, v4.0; not "CDF" and the like. */
		if (name[0] != 'v')
			continue;
		dotnet_key(j, src, name);
		/* v4 keeps its versions in Client and Full. */
		snprintf(path, sizeof(path), "%s\\%s", NDP, name);
		if ((k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, path)) == NULL)
			continue;
		for (m = 0; src->subkey(src->arg, k, m, subname, sizeof(subname)) == 0;
		     m++) {
			if (strcmp(subname, "Client") != 0 &&
			    strcmp(subname, "Full") != 0)
				continue;
			snprintf(sub, sizeof(sub), "%s\\%s", name, subname);
			dotnet_key(j, src, sub);
		}
		reg_close(src, k);
	}
	reg_close(src, ndp);
	qh_json_end_array(j);
}

/* Installed programs. */

struct program {
	char *name, *version, *publisher;
	const char *view;
	int crm;
};

/* 1 if word occurs in s, ignoring ASCII case. */
static int
contains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

int
regfacts_is_crm(const char *name)
{
	static const char *const words[] = { "Act!", "ACT! by", "SalesLogix", "Infor CRM",
		"SugarCRM", "Sugar Outlook", "Outlook", "Microsoft Office",
		"Microsoft 365", "Office 16", NULL };
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (contains(name, words[i]))
			return 1;
	/* "Act! Premium", "ACT!" alone, "Act! Pro v24". */
	return strncasecmp(name, "Act!", 4) == 0;
}

static int
program_cmp(const void *a, const void *b)
{
	const struct program *x = a, *y = b;
	int r;

	if (x->crm != y->crm)
		return y->crm - x->crm;
	if ((r = strcasecmp(x->name, y->name)) != 0)
		return r;
	return strcmp(x->version, y->version);
}

static void
programs_free(struct program *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].version);
		free(p[i].publisher);
	}
	free(p);
}

/* Reads one Uninstall key's programs into *list; returns 0 or QH_ERR_NOMEM. */
static int
programs_from(const struct reg_src *src, enum reg_root root, enum reg_view view,
    const char *label, struct program **list, size_t *n, size_t *cap, size_t *more)
{
	char sub[NAME_MAX_LEN], path[sizeof(UNINSTALL) + NAME_MAX_LEN + 2];
	char name[VALUE_MAX_LEN], version[VALUE_MAX_LEN], publisher[VALUE_MAX_LEN];
	char parent[VALUE_MAX_LEN], rtype[VALUE_MAX_LEN];
	struct program *p;
	uint32_t syscomp;
	unsigned i;
	size_t m;
	void *u, *k;
	int dup;

	if ((u = reg_open(src, root, view, UNINSTALL)) == NULL)
		return 0; /* Wine's 32-bit view and HKCU have none */
	for (i = 0; src->subkey(src->arg, u, i, sub, sizeof(sub)) == 0; i++) {
		snprintf(path, sizeof(path), "%s\\%s", UNINSTALL, sub);
		if ((k = reg_open(src, root, view, path)) == NULL)
			continue;
		syscomp = 0;
		(void)reg_dword(src, k, "SystemComponent", &syscomp);
		(void)reg_str(src, k, "DisplayName", name, sizeof(name));
		(void)reg_str(src, k, "DisplayVersion", version, sizeof(version));
		(void)reg_str(src, k, "Publisher", publisher, sizeof(publisher));
		(void)reg_str(src, k, "ParentKeyName", parent, sizeof(parent));
		(void)reg_str(src, k, "ReleaseType", rtype, sizeof(rtype));
		reg_close(src, k);
		/* Not what the Control Panel lists: components, updates. */
		if (name[0] == '\0' || syscomp == 1 || parent[0] != '\0' ||
		    strcasecmp(rtype, "Update") == 0 ||
		    strcasecmp(rtype, "Hotfix") == 0 ||
		    strcasecmp(rtype, "Security Update") == 0)
			continue;
		for (m = 0, dup = 0; m < *n && !dup; m++)
			dup = strcmp((*list)[m].name, name) == 0 &&
			    strcmp((*list)[m].version, version) == 0;
		if (dup)
			continue;
		if (*n == REGFACTS_PROGRAMS_MAX) {
			(*more)++;
			continue;
		}
		if (*n == *cap) {
			size_t ncap = *cap == 0 ? 64 : *cap * 2;

			if ((p = realloc(*list, ncap * sizeof(*p))) == NULL)
				goto nomem;
			*list = p;
			*cap = ncap;
		}
		p = &(*list)[*n];
		memset(p, 0, sizeof(*p));
		p->view = label;
		p->crm = regfacts_is_crm(name);
		if ((p->name = strdup(name)) == NULL ||
		    (p->version = strdup(version)) == NULL ||
		    (p->publisher = strdup(publisher)) == NULL) {
			free(p->name);
			free(p->version);
			goto nomem;
		}
		(*n)++;
	}
	reg_close(src, u);
	return 0;
nomem:
	reg_close(src, u);
	return QH_ERR_NOMEM;
}

int
regfacts_programs(struct qh_json *j, const struct reg_src *src)
{
	struct program *list = NULL;
	size_t n = 0, cap = 0, more = 0, i;
	int r;

	if ((r = programs_from(src, REG_ROOT_HKLM, REG_VIEW_64, "64-bit", &list, &n, &cap,
		 &more)) != 0 ||
	    (r = programs_from(src, REG_ROOT_HKLM, REG_VIEW_32, "32-bit", &list, &n, &cap,
		 &more)) != 0 ||
	    (r = programs_from(src, REG_ROOT_HKCU, REG_VIEW_DEFAULT, "user", &list, &n,
		 &cap, &more)) != 0) {
		programs_free(list, n);
		return r;
	}
	if (n > 0)
		qsort(list, n, sizeof(*list), program_cmp);
	qh_json_key(j, "programs");
	qh_json_begin_array(j);
	for (i = 0; i < n; i++) {
		qh_json_begin_object(j);
		qh_json_kv_str(j, "name", list[i].name);
		kv_opt(j, "version", list[i].version);
		kv_opt(j, "publisher", list[i].publisher);
		qh_json_kv_str(j, "view", list[i].view);
		qh_json_kv_bool(j, "crm", list[i].crm);
		qh_json_end_object(j);
	}
	qh_json_end_array(j);
	if (more > 0)
		qh_json_kv_int(j, "programs_more", (int64_t)more);
	programs_free(list, n);
	return 0;
}

/* Office. */

void
regfacts_office(struct qh_json *j, const struct reg_src *src)
{
	static const char *const versions[] = { "16.0", "15.0", "14.0", "12.0", NULL };
	static const enum reg_view views[] = { REG_VIEW_64, REG_VIEW_32 };
	char platform[64], version[VALUE_MAX_LEN], bitness[64], path[128];
	size_t v, w;
	void *k;

	/* Click-to-Run (Microsoft 365, Office 2016 and later): its Platform. */
	k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64,
	    "SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration");
	if (reg_str(src, k, "Platform", platform, sizeof(platform))) {
		if (!reg_str(src, k, "VersionToReport", version, sizeof(version)))
			snprintf(version, sizeof(version), "16.0");
		reg_close(src, k);
		qh_json_key(j, "office");
		qh_json_begin_object(j);
		qh_json_kv_str(j, "version", version);
		qh_json_kv_str(j, "bitness",
		    strcasecmp(platform, "x64") == 0	   ? "64-bit"
			: strcasecmp(platform, "x86") == 0 ? "32-bit"
							   : platform);
		qh_json_kv_str(j, "source", "Click-to-Run");
		qh_json_end_object(j);
		return;
	}
	reg_close(src, k);
	/* MSI installs: Outlook's Bitness, else the view Office was found in. */
	for (v = 0; versions[v] != NULL; v++)
		for (w = 0; w < 2; w++) {
			snprintf(path, sizeof(path),
			    "SOFTWARE\\Microsoft\\Office\\%s\\Outlook", versions[v]);
			k = reg_open(src, REG_ROOT_HKLM, views[w], path);
			if (k == NULL) {
				snprintf(path, sizeof(path),
				    "SOFTWARE\\Microsoft\\Office\\%"
				    "s\\Common\\InstallRoot",
				    versions[v]);
				if ((k = reg_open(src, REG_ROOT_HKLM, views[w], path)) ==
				    NULL)
					continue;
			}
			if (!reg_str(src, k, "Bitness", bitness, sizeof(bitness)))
				snprintf(bitness, sizeof(bitness), "%s",
				    views[w] == REG_VIEW_64 ? "x64" : "x86");
			reg_close(src, k);
			qh_json_key(j, "office");
			qh_json_begin_object(j);
			qh_json_kv_str(j, "version", versions[v]);
			qh_json_kv_str(j, "bitness",
			    strcasecmp(bitness, "x64") == 0 ? "64-bit" : "32-bit");
			qh_json_kv_str(j, "source", "MSI");
			qh_json_end_object(j);
			return;
		}
	qh_json_kv_null(j, "office");
}

/* Telephony (TAPI) and scanners (WIA). */

void
regfacts_tapi(struct qh_json *j, const struct reg_src *src)
{
	char name[32], file[VALUE_MAX_LEN];
	uint32_t n = 0, i;
	void *k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, TELEPHONY);

	qh_json_key(j, "tapi_providers");
	qh_json_begin_array(j);
	(void)reg_dword(src, k, "NumProviders", &n);
	for (i = 0; i < n && i < 256; i++) {
		snprintf(name, sizeof(name), "ProviderFileName%u", i);
		if (reg_str(src, k, name, file, sizeof(file)))
			qh_json_str(j, file);
	}
	reg_close(src, k);
	qh_json_end_array(j);
}

void
regfacts_wia(struct qh_json *j, const struct reg_src *src)
{
	char sub[NAME_MAX_LEN], path[sizeof(WIA_CLASS) + NAME_MAX_LEN + 2];
	char name[VALUE_MAX_LEN];
	unsigned i;
	void *c, *k;

	qh_json_begin_array(j);
	c = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, WIA_CLASS);
	for (i = 0; c != NULL && src->subkey(src->arg, c, i, sub, sizeof(sub)) == 0;
	     i++) {
		/* Devices are 0000, 0001...; "Properties" and the like are not. */
		if (strspn(sub, "0123456789") != strlen(sub))
			continue;
		snprintf(path, sizeof(path), "%s\\%s", WIA_CLASS, sub);
		if ((k = reg_open(src, REG_ROOT_HKLM, REG_VIEW_64, path)) == NULL)
			continue;
		if (reg_str(src, k, "FriendlyName", name, sizeof(name)) ||
		    reg_str(src, k, "DriverDesc", name, sizeof(name)))
			qh_json_str(j, name);
		reg_close(src, k);
	}
	reg_close(src, c);
	qh_json_end_array(j);
}
