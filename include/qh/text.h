/*
 * Texts for people in their language (German and English). The texts are
 * English in the source, marked with _() or N_(), kept in po/LANG.po with
 * gettext's tools (xgettext, msgmerge, msgfmt --check) and compiled at
 * build time into tables in the programs (scripts/mo2c.py): no message
 * catalogue is read at run time and no locale needs to be installed.
 *
 * A text is looked up with an explicit language, so a daemon can write a
 * mail in the customer's language while it runs in another; a program that
 * speaks one language (the agent) sets it once and uses _().
 */
#ifndef QH_TEXT_H
#define QH_TEXT_H

enum qh_lang {
	QH_LANG_EN, /* the source texts */
	QH_LANG_DE,
};

/* Marks a text for xgettext where it is not translated yet (tables). */
#define N_(s) s

/*
 * The text for msgid in lang: its translation, or msgid itself. Never NULL.
 * A translation keeps the msgid's printf conversions (msgfmt --check), so
 * the compiler checks a call's arguments against the msgid (format_arg).
 * A msgid must not use <inttypes.h> macros (PRId64...): xgettext keeps
 * them as "<PRId64>", which no table lookup at run time would find; cast
 * to long long and write %lld instead.
 */
const char *qh_tr(enum qh_lang lang, const char *msgid) __attribute__((format_arg(2)));

/* The same for a text with a number: singular or plural form for n. */
const char *qh_ntr(enum qh_lang lang, const char *singular, const char *plural,
    unsigned long n) __attribute__((format_arg(2))) __attribute__((format_arg(3)));

/*
 * Parses a language: "de", "en", or a locale name such as "de_DE.UTF-8",
 * "de-AT". Returns 0, or QH_ERR_ARG for another language.
 */
int qh_lang_parse(const char *s, enum qh_lang *out);

/* The user's language from the environment (LC_ALL, LC_MESSAGES, LANG; Windows: the UI
 * language); English when unknown. */
enum qh_lang qh_lang_from_env(void);

/* "de" or "en". */
const char *qh_lang_name(enum qh_lang lang);

/* The language of a program that speaks one (the agent): set once at start. */
void qh_lang_set(enum qh_lang lang);
enum qh_lang qh_lang_get(void);

/* A text in the program's language. */
#define _(s) qh_tr(qh_lang_get(), (s))

#endif
