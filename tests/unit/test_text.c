/*
 * Unit tests for common/text.c: languages parsed from flags and locale
 * names, the environment's order (LC_ALL, LC_MESSAGES, LANG), and texts
 * that fall back to the English msgid when a language has no translation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "qh/compat.h"
#include "qh/err.h"
#include "qh/text.h"
#include "qh/units.h"

static void
test_parse(void **state QH_UNUSED)
{
	enum qh_lang l;

	assert_int_equal(qh_lang_parse("de", &l), 0);
	assert_int_equal(l, QH_LANG_DE);
	assert_int_equal(qh_lang_parse("de_AT.UTF-8", &l), 0);
	assert_int_equal(l, QH_LANG_DE);
	assert_int_equal(qh_lang_parse("DE-ch", &l), 0);
	assert_int_equal(l, QH_LANG_DE);
	assert_int_equal(qh_lang_parse("en_GB", &l), 0);
	assert_int_equal(l, QH_LANG_EN);
	assert_int_equal(qh_lang_parse("fr", &l), QH_ERR_ARG);
	assert_int_equal(qh_lang_parse("deutsch", &l), QH_ERR_ARG);
	assert_int_equal(qh_lang_parse("", &l), QH_ERR_ARG);
	assert_string_equal(qh_lang_name(QH_LANG_DE), "de");
}

static void
test_environment(void **state QH_UNUSED)
{
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	setenv("LANG", "de_DE.UTF-8", 1);
	assert_int_equal(qh_lang_from_env(), QH_LANG_DE);
	setenv("LC_MESSAGES", "C", 1); /* the first that is set decides */
	assert_int_equal(qh_lang_from_env(), QH_LANG_EN);
	setenv("LC_ALL", "de_CH.UTF-8", 1);
	assert_int_equal(qh_lang_from_env(), QH_LANG_DE);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	unsetenv("LANG");
	assert_int_equal(qh_lang_from_env(), QH_LANG_EN);
}

static void
test_fallback(void **state QH_UNUSED)
{
	const char *id = "a text nobody translated";

	assert_ptr_equal(qh_tr(QH_LANG_EN, id), id);
	assert_ptr_equal(qh_tr(QH_LANG_DE, id), id);
	assert_string_equal(qh_ntr(QH_LANG_DE, "%d unit", "%d units", 1), "%d unit");
	assert_string_equal(qh_ntr(QH_LANG_DE, "%d unit", "%d units", 2), "%d units");
	qh_lang_set(QH_LANG_DE);
	assert_int_equal(qh_lang_get(), QH_LANG_DE);
	assert_ptr_equal(_(id), id);
	qh_lang_set(QH_LANG_EN);
}

/* The German table built from po/de.po: texts, plural forms, units. */
static void
test_german(void **state QH_UNUSED)
{
	char out[64];

	assert_string_equal(qh_tr(QH_LANG_DE, "Balance: %s"), "Guthaben: %s");
	assert_string_equal(qh_tr(QH_LANG_EN, "Balance: %s"), "Balance: %s");
	assert_string_equal(qh_ntr(QH_LANG_DE, "%lld unit", "%lld units", 1),
	    "%lld Einheit");
	assert_string_equal(qh_ntr(QH_LANG_DE, "%lld unit", "%lld units", 0),
	    "%lld Einheiten");
	assert_string_equal(qh_ntr(QH_LANG_DE, "%lld unit", "%lld units", 7),
	    "%lld Einheiten");
	qh_units_text_in(QH_LANG_DE, 7, out, sizeof(out));
	assert_string_equal(out, "7 Einheiten (1 h 45 min)");
	qh_units_text_in(QH_LANG_DE, -1, out, sizeof(out));
	assert_string_equal(out, "-1 Einheit (-0 h 15 min)");
	qh_units_text(1, out, sizeof(out));
	assert_string_equal(out, "1 unit (0 h 15 min)");
	/* Umlauts come through as UTF-8. */
	assert_string_equal(qh_tr(QH_LANG_DE, "Close"),
	    "Schlie\xc3\x9f"
	    "en");
	qh_lang_set(QH_LANG_DE);
	assert_string_equal(_("End session"), "Sitzung beenden");
	qh_lang_set(QH_LANG_EN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_german),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
