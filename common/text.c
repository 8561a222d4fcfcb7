/*
 * Lookup of texts in the tables mo2c.py generated from po/LANG.po at build
 * time (see qh/text.h): a binary search over msgids sorted by strcmp.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "qh/err.h"
#include "qh/text.h"
#include "text_tables.h"

static enum qh_lang program_lang = QH_LANG_EN;

static const struct qh_text_table *
table_of(enum qh_lang lang)
{
	switch (lang) {
	case QH_LANG_DE:
		return &qh_text_de;
	default:
		return NULL; /* English is the source */
	}
}

static int
entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct qh_text_entry *)elem)->msgid);
}

static const struct qh_text_entry *
find(enum qh_lang lang, const char *msgid)
{
	const struct qh_text_table *t = table_of(lang);

	if (t == NULL || msgid == NULL)
		return NULL;
	return bsearch(msgid, t->entries, t->n, sizeof(t->entries[0]), entry_cmp);
}

const char *
qh_tr(enum qh_lang lang, const char *msgid)
{
	const struct qh_text_entry *e = find(lang, msgid);

	return e != NULL && e->forms[0] != NULL ? e->forms[0] : msgid;
}

const char *
qh_ntr(enum qh_lang lang, const char *singular, const char *plural, unsigned long n)
{
	const struct qh_text_entry *e = find(lang, singular);
	int form = n != 1; /* German and English: one form for 1, one for the rest */

	if (e != NULL && e->forms[form] != NULL)
		return e->forms[form];
	return form == 0 ? singular : plural;
}

int
qh_lang_parse(const char *s, enum qh_lang *out)
{
	if (s == NULL)
		return QH_ERR_ARG;
	if (tolower((unsigned char)s[0]) == 'd' && tolower((unsigned char)s[1]) == 'e' &&
	    strchr("_-.@", s[2] != '\0' ? s[2] : '_') != NULL) {
		*out = QH_LANG_DE;
		return 0;
	}
	if (tolower((unsigned char)s[0]) == 'e' && tolower((unsigned char)s[1]) == 'n' &&
	    strchr("_-.@", s[2] != '\0' ? s[2] : '_') != NULL) {
		*out = QH_LANG_EN;
		return 0;
	}
	return QH_ERR_ARG;
}

enum qh_lang
qh_lang_from_env(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
	enum qh_lang lang;
	const char *v;
	size_t i;

	/* The first variable that is set decides, as in POSIX. */
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0')
			return qh_lang_parse(v, &lang) == 0 ? lang : QH_LANG_EN;
#ifdef _WIN32
	if (PRIMARYLANGID(GetUserDefaultUILanguage()) == LANG_GERMAN)
		return QH_LANG_DE;
#endif
	return QH_LANG_EN;
}

const char *
qh_lang_name(enum qh_lang lang)
{
	return lang == QH_LANG_DE ? "de" : "en";
}

void
qh_lang_set(enum qh_lang lang)
{
	program_lang = lang;
}

enum qh_lang
qh_lang_get(void)
{
	return program_lang;
}
