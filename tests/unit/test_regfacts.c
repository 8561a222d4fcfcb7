/*
 * Unit tests for agent/win32/regfacts.c against a registry made of a
 * table: the Windows name, edition, version and build (Windows 11 named
 * as such although its ProductName says 10, Wine's registry without
 * EditionID); .NET Framework versions from the NDP keys with their
 * products; installed programs from both registry views and HKCU,
 * without system components and updates, each once, CRM products first;
 * Office's bitness from Click-to-Run and from an MSI install; TAPI
 * providers and WIA scanners; and a registry with none of these keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/json.h"
#include "qh/jsonread.h"
#include "win32/portable.h"

/* One value of a key in the table; a NULL str means a DWORD. */
struct fval {
	const char *name, *str;
	uint32_t dw;
};

struct fkey {
	enum reg_root root;
	enum reg_view view; /* 64 or 32; DEFAULT is 64 */
	const char *path;
	struct fval v[8];
};

struct fake {
	const struct fkey *keys;
	size_t n;
};

static enum reg_view
norm(enum reg_view v)
{
	return v == REG_VIEW_32 ? REG_VIEW_32 : REG_VIEW_64;
}

static void *
f_open(void *arg, enum reg_root root, enum reg_view view, const char *path)
{
	struct fake *f = arg;
	size_t i, len = strlen(path);

	for (i = 0; i < f->n; i++) {
		const struct fkey *k = &f->keys[i];

		if (k->root != root || norm(k->view) != norm(view))
			continue;
		/* The key itself, or a key below it (parents exist implicitly). */
		if (strcasecmp(k->path, path) == 0 ||
		    (strncasecmp(k->path, path, len) == 0 && k->path[len] == '\\')) {
			struct fkey *h = calloc(1, sizeof(*h));

			h->root = root;
			h->view = norm(view);
			h->path = strdup(path);
			/* Values only when it is the key itself. */
			if (strcasecmp(k->path, path) == 0)
				memcpy(h->v, k->v, sizeof(h->v));
			else {
				size_t m;

				for (m = i + 1; m < f->n; m++)
					if (f->keys[m].root == root &&
					    norm(f->keys[m].view) == norm(view) &&
					    strcasecmp(f->keys[m].path, path) == 0)
						memcpy(h->v, f->keys[m].v, sizeof(h->v));
			}
			return h;
		}
	}
	return NULL;
}

/* The i-th distinct child name of key h, in table order. */
static int
f_subkey(void *arg, void *key, unsigned i, char *name, size_t len)
{
	struct fake *f = arg;
	struct fkey *h = key;
	char seen[64][128];
	size_t k, plen = strlen(h->path), nseen = 0, s, nl;
	const char *rest, *end;
	int dup;

	for (k = 0; k < f->n; k++) {
		const struct fkey *e = &f->keys[k];

		if (e->root != h->root || norm(e->view) != h->view ||
		    strncasecmp(e->path, h->path, plen) != 0 || e->path[plen] != '\\')
			continue;
		rest = e->path + plen + 1;
		end = strchr(rest, '\\');
		nl = end != NULL ? (size_t)(end - rest) : strlen(rest);
		for (s = 0, dup = 0; s < nseen; s++)
			dup |= strlen(seen[s]) == nl && strncmp(seen[s], rest, nl) == 0;
		if (dup)
			continue;
		snprintf(seen[nseen], sizeof(seen[0]), "%.*s", (int)nl, rest);
		if (nseen++ == i) {
			snprintf(name, len, "%s", seen[nseen - 1]);
			return 0;
		}
	}
	return 1;
}

static const struct fval *
f_value(void *key, const char *name)
{
	struct fkey *h = key;
	int i;

	for (i = 0; i < 8 && h->v[i].name != NULL; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return &h->v[i];
	return NULL;
}

static int
f_str(void *arg QH_UNUSED, void *key, const char *name, char *out, size_t len)
{
	const struct fval *v = f_value(key, name);

	if (v == NULL || v->str == NULL)
		return QH_ERR_NOT_FOUND;
	snprintf(out, len, "%s", v->str);
	return 0;
}

static int
f_dword(void *arg QH_UNUSED, void *key, const char *name, uint32_t *out)
{
	const struct fval *v = f_value(key, name);

	if (v == NULL || v->str != NULL)
		return QH_ERR_NOT_FOUND;
	*out = v->dw;
	return 0;
}

static void
f_close(void *arg QH_UNUSED, void *key)
{
	struct fkey *h = key;

	free((char *)h->path);
	free(h);
}

#define H   REG_ROOT_HKLM
#define U   REG_ROOT_HKCU
#define V64 REG_VIEW_64
#define V32 REG_VIEW_32
#define CV  "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
#define NDP "SOFTWARE\\Microsoft\\NET Framework Setup\\NDP"
#define UN  "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall"

static const struct fkey office_pc[] = {
	{ H, V64, CV,
	    { { "ProductName", "Windows 10 Pro", 0 }, { "EditionID", "Professional", 0 },
		{ "DisplayVersion", "22H2", 0 }, { "CurrentBuild", "19045", 0 },
		{ "UBR", NULL, 3803 }, { "CurrentMajorVersionNumber", NULL, 10 },
		{ "CurrentMinorVersionNumber", NULL, 0 } } },
	{ H, V64, NDP "\\CDF\\v4.0", { { "Version", "4.0.0.0", 0 } } },
	{ H, V64, NDP "\\v2.0.50727",
	    { { "Version", "2.0.50727.4927", 0 }, { "SP", NULL, 2 },
		{ "Install", NULL, 1 } } },
	{ H, V64, NDP "\\v3.0",
	    { { "Version", "3.0.30729", 0 }, { "Install", NULL, 0 } } },
	{ H, V64, NDP "\\v3.5",
	    { { "Version", "3.5.30729.4926", 0 }, { "SP", NULL, 1 } } },
	{ H, V64, NDP "\\v4\\Client",
	    { { "Version", "4.8.04084", 0 }, { "Release", NULL, 528040 } } },
	{ H, V64, NDP "\\v4\\Full",
	    { { "Version", "4.8.09032", 0 }, { "Release", NULL, 533325 } } },
	{ H, V64, NDP "\\v4.0", { { NULL, NULL, 0 } } },
	{ H, V64, UN "\\7-Zip",
	    { { "DisplayName", "7-Zip 23.01 (x64)", 0 }, { "DisplayVersion", "23.01", 0 },
		{ "Publisher", "Igor Pavlov", 0 } } },
	{ H, V64, UN "\\{ACT-2024}",
	    { { "DisplayName", "Act! Premium", 0 }, { "DisplayVersion", "24.0.1", 0 },
		{ "Publisher", "Act! LLC", 0 } } },
	{ H, V64, UN "\\Component",
	    { { "DisplayName", "Hidden runtime", 0 }, { "SystemComponent", NULL, 1 } } },
	{ H, V64, UN "\\KB5031356",
	    { { "DisplayName", "Security Update for Act!", 0 },
		{ "ParentKeyName", "{ACT-2024}", 0 } } },
	{ H, V64, UN "\\NoName", { { "DisplayVersion", "1.0", 0 } } },
	{ H, V32, UN "\\{SLX}",
	    { { "DisplayName", "SalesLogix Client", 0 }, { "DisplayVersion", "8.1", 0 },
		{ "Publisher", "Infor", 0 } } },
	{ H, V32, UN "\\7-Zip",
	    { { "DisplayName", "7-Zip 23.01 (x64)", 0 },
		{ "DisplayVersion", "23.01", 0 } } },
	{ U, V64, UN "\\ZoomUMX",
	    { { "DisplayName", "Zoom", 0 }, { "DisplayVersion", "5.16", 0 },
		{ "Publisher", "Zoom Video Communications, Inc.", 0 } } },
	{ H, V64, "SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration",
	    { { "Platform", "x86", 0 }, { "VersionToReport", "16.0.17029.20108", 0 } } },
	{ H, V64, "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Telephony\\Providers",
	    { { "NumProviders", NULL, 2 }, { "ProviderFileName0", "unimdm.tsp", 0 },
		{ "ProviderFileName1", "agfxtapi.tsp", 0 } } },
	{ H, V64,
	    "SYSTEM\\CurrentControlSet\\Control\\Class\\{6bdd1fc6-810f-11d0-bec7-"
	    "08002be2092f}\\0000",
	    { { "FriendlyName", "Canon CanoScan LiDE 300", 0 } } },
	{ H, V64,
	    "SYSTEM\\CurrentControlSet\\Control\\Class\\{6bdd1fc6-810f-11d0-bec7-"
	    "08002be2092f}\\Properties",
	    { { "FriendlyName", "not a device", 0 } } },
};

static const struct reg_src *
source(struct fake *f, const struct fkey *keys, size_t n)
{
	static struct reg_src src;

	f->keys = keys;
	f->n = n;
	src.arg = f;
	src.open = f_open;
	src.subkey = f_subkey;
	src.str = f_str;
	src.dword = f_dword;
	src.close = f_close;
	return &src;
}

/* Runs the builder fn inside an object and parses the result. */
static struct qh_json_doc *
build(const struct reg_src *src, void (*fn)(struct qh_json *, const struct reg_src *))
{
	static struct qh_buf b;
	struct qh_json j;
	struct qh_json_doc *doc = NULL;

	qh_buf_init(&b, 1 << 20);
	qh_json_init(&j, &b);
	qh_json_begin_object(&j);
	fn(&j, src);
	qh_json_end_object(&j);
	assert_int_equal(qh_json_finish(&j), 0);
	assert_int_equal(qh_json_parse(qh_buf_ptr(&b), qh_buf_len(&b), &doc), 0);
	qh_buf_release(&b);
	return doc;
}

static struct win_version the_version;

static void
os_fn(struct qh_json *j, const struct reg_src *src)
{
	regfacts_os(j, src, &the_version);
}

static void
programs_fn(struct qh_json *j, const struct reg_src *src)
{
	assert_int_equal(regfacts_programs(j, src), 0);
}

static void
wia_fn(struct qh_json *j, const struct reg_src *src)
{
	qh_json_key(j, "wia");
	regfacts_wia(j, src);
}

static void
test_os(void **state QH_UNUSED)
{
	struct fake f;
	struct qh_json_doc *doc;
	const struct qh_json_node *o;
	struct fkey win11[1];
	static const struct fkey wine[] = {
		{ H, V64, CV,
		    { { "ProductName", "Microsoft Windows 10", 0 },
			{ "CurrentVersion", "10.0", 0 },
			{ "CurrentBuildNumber", "18362", 0 } } },
	};

	memset(&the_version, 0, sizeof(the_version));
	doc = build(source(&f, office_pc, 1), os_fn);
	o = qh_json_root(doc);
	assert_string_equal(qh_json_get_str(o, "os"), "Microsoft Windows 10 Pro");
	assert_string_equal(qh_json_get_str(o, "os_edition"), "Professional");
	assert_string_equal(qh_json_get_str(o, "os_version"), "22H2");
	assert_string_equal(qh_json_get_str(o, "os_build"), "19045.3803");
	assert_string_equal(qh_json_get_str(o, "kernel"), "Windows NT 10.0.19045.3803");
	qh_json_free(doc);

	/* Windows 11: the registry still says 10; the build tells. */
	memcpy(win11, office_pc, sizeof(win11));
	the_version.major = 10;
	the_version.build = 22631;
	doc = build(source(&f, win11, 1), os_fn);
	o = qh_json_root(doc);
	assert_string_equal(qh_json_get_str(o, "os"), "Microsoft Windows 11 Pro");
	assert_string_equal(qh_json_get_str(o, "os_build"), "22631.3803");
	qh_json_free(doc);

	/* Wine's registry: no EditionID, no DisplayVersion, no UBR. */
	memset(&the_version, 0, sizeof(the_version));
	doc = build(source(&f, wine, 1), os_fn);
	o = qh_json_root(doc);
	assert_string_equal(qh_json_get_str(o, "os"), "Microsoft Windows 10");
	assert_int_equal(qh_json_get(o, "os_edition")->type, QH_JSON_NULL);
	assert_int_equal(qh_json_get(o, "os_version")->type, QH_JSON_NULL);
	assert_string_equal(qh_json_get_str(o, "os_build"), "18362");
	assert_string_equal(qh_json_get_str(o, "kernel"), "Windows NT 10.0.18362");
	qh_json_free(doc);
}

static void
test_dotnet(void **state QH_UNUSED)
{
	struct fake f;
	struct qh_json_doc *doc;
	const struct qh_json_node *a, *e;
	const char *want[][3] = {
		{ "v2.0.50727", "2.0.50727.4927", NULL },
		{ "v3.5", "3.5.30729.4926", NULL },
		{ "v4\\Client", "4.8.04084", "4.8" },
		{ "v4\\Full", "4.8.09032", "4.8.1" },
	};
	int64_t v;
	size_t i = 0;

	assert_string_equal(regfacts_dotnet_product(528040), "4.8");
	assert_string_equal(regfacts_dotnet_product(461814), "4.7.2");
	assert_string_equal(regfacts_dotnet_product(378389), "4.5");
	assert_null(regfacts_dotnet_product(1000));
	doc = build(source(&f, office_pc, sizeof(office_pc) / sizeof(office_pc[0])),
	    regfacts_dotnet);
	a = qh_json_get(qh_json_root(doc), "dotnet");
	assert_non_null(a);
	assert_int_equal(a->type, QH_JSON_ARRAY);
	for (e = a->child; e != NULL; e = e->next, i++) {
		assert_true(i < 4);
		assert_string_equal(qh_json_get_str(e, "key"), want[i][0]);
		assert_string_equal(qh_json_get_str(e, "version"), want[i][1]);
		if (want[i][2] != NULL)
			assert_string_equal(qh_json_get_str(e, "product"), want[i][2]);
	}
	assert_int_equal(i, 4);
	assert_int_equal(qh_json_get_int(a->child, "sp", &v), 0);
	assert_int_equal(v, 2);
	qh_json_free(doc);
}

static void
test_programs(void **state QH_UNUSED)
{
	struct fake f;
	struct qh_json_doc *doc;
	const struct qh_json_node *a, *e;
	const char *want[][3] = {
		{ "Act! Premium", "64-bit", "true" },
		{ "SalesLogix Client", "32-bit", "true" },
		{ "7-Zip 23.01 (x64)", "64-bit", "false" },
		{ "Zoom", "user", "false" },
	};
	size_t i = 0;

	assert_true(regfacts_is_crm("ACT! by Sage Premium 2013"));
	assert_true(regfacts_is_crm("Infor CRM Web Client"));
	assert_true(regfacts_is_crm("SugarCRM Plug-in for Microsoft Outlook"));
	assert_true(regfacts_is_crm("Microsoft Office Professional Plus 2019"));
	assert_false(regfacts_is_crm("Mozilla Firefox"));
	assert_false(regfacts_is_crm("Exact Audio Copy"));
	doc = build(source(&f, office_pc, sizeof(office_pc) / sizeof(office_pc[0])),
	    programs_fn);
	a = qh_json_get(qh_json_root(doc), "programs");
	assert_non_null(a);
	for (e = a->child; e != NULL; e = e->next, i++) {
		assert_true(i < 4);
		assert_string_equal(qh_json_get_str(e, "name"), want[i][0]);
		assert_string_equal(qh_json_get_str(e, "view"), want[i][1]);
		assert_int_equal(qh_json_get(e, "crm")->type,
		    strcmp(want[i][2], "true") == 0 ? QH_JSON_TRUE : QH_JSON_FALSE);
	}
	assert_int_equal(i, 4);
	assert_string_equal(qh_json_get_str(a->child, "publisher"), "Act! LLC");
	assert_string_equal(qh_json_get_str(a->child, "version"), "24.0.1");
	qh_json_free(doc);
}

static void
test_office_tapi_wia(void **state QH_UNUSED)
{
	struct fake f;
	struct qh_json_doc *doc;
	const struct qh_json_node *o, *a;
	static const struct fkey msi[] = {
		{ H, V32, "SOFTWARE\\Microsoft\\Office\\15.0\\Outlook",
		    { { "Bitness", "x86", 0 } } },
	};
	static const struct fkey msi64[] = {
		{ H, V64, "SOFTWARE\\Microsoft\\Office\\16.0\\Common\\InstallRoot",
		    { { "Path", "C:\\Program Files\\Microsoft Office\\Office16\\",
			0 } } },
	};
	const struct reg_src *src;

	src = source(&f, office_pc, sizeof(office_pc) / sizeof(office_pc[0]));
	doc = build(src, regfacts_office);
	o = qh_json_get(qh_json_root(doc), "office");
	assert_string_equal(qh_json_get_str(o, "bitness"), "32-bit");
	assert_string_equal(qh_json_get_str(o, "source"), "Click-to-Run");
	assert_string_equal(qh_json_get_str(o, "version"), "16.0.17029.20108");
	qh_json_free(doc);
	doc = build(source(&f, msi, 1), regfacts_office);
	o = qh_json_get(qh_json_root(doc), "office");
	assert_string_equal(qh_json_get_str(o, "bitness"), "32-bit");
	assert_string_equal(qh_json_get_str(o, "version"), "15.0");
	qh_json_free(doc);
	doc = build(source(&f, msi64, 1), regfacts_office);
	o = qh_json_get(qh_json_root(doc), "office");
	assert_string_equal(qh_json_get_str(o, "bitness"), "64-bit");
	qh_json_free(doc);

	src = source(&f, office_pc, sizeof(office_pc) / sizeof(office_pc[0]));
	doc = build(src, regfacts_tapi);
	a = qh_json_get(qh_json_root(doc), "tapi_providers");
	assert_int_equal(a->count, 2);
	assert_string_equal(a->child->str, "unimdm.tsp");
	assert_string_equal(a->child->next->str, "agfxtapi.tsp");
	qh_json_free(doc);

	doc = build(src, wia_fn);
	a = qh_json_get(qh_json_root(doc), "wia");
	assert_int_equal(a->count, 1);
	assert_string_equal(a->child->str, "Canon CanoScan LiDE 300");
	qh_json_free(doc);
}

static void
test_empty_registry(void **state QH_UNUSED)
{
	struct fake f;
	struct qh_json_doc *doc;
	const struct qh_json_node *o;
	const struct reg_src *src = source(&f, NULL, 0);

	memset(&the_version, 0, sizeof(the_version));
	doc = build(src, os_fn);
	assert_string_equal(qh_json_get_str(qh_json_root(doc), "os"),
	    "Microsoft Windows");
	qh_json_free(doc);
	doc = build(src, regfacts_dotnet);
	assert_int_equal(qh_json_get(qh_json_root(doc), "dotnet")->count, 0);
	qh_json_free(doc);
	doc = build(src, programs_fn);
	assert_int_equal(qh_json_get(qh_json_root(doc), "programs")->count, 0);
	qh_json_free(doc);
	doc = build(src, regfacts_office);
	o = qh_json_get(qh_json_root(doc), "office");
	assert_int_equal(o->type, QH_JSON_NULL);
	qh_json_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_os),
		cmocka_unit_test(test_dotnet),
		cmocka_unit_test(test_programs),
		cmocka_unit_test(test_office_tapi_wia),
		cmocka_unit_test(test_empty_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
