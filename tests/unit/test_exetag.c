/*
 * Unit tests for common/exetag.c: a tag round-trips with and without a
 * vendor and refuses values that would break its lines; a file without a
 * tag, or with a damaged one, says so; an unsigned PE file gets the tag
 * appended and a second enrolment replaces it; a signed one (a
 * certificate table at the end) carries it inside the table, whose size
 * and last entry grow with it, again and again; the PE checksum is the
 * one Windows computes; what is not a PE file, or a signed one whose
 * table does not end the file, is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qh/buf.h"
#include "qh/compat.h"
#include "qh/err.h"
#include "qh/exetag.h"

#define PE_LEN 1024 /* the synthetic image, before any table */

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * A PE32+ skeleton: MZ, e_lfanew 0x80, "PE\0\0", an optional header of
 * 240 bytes with 16 directories; with cert > 0 a certificate table of
 * one entry holding cert bytes of "PKCS#7" at the end.
 */
static uint8_t *
make_pe(size_t cert, size_t *lenp)
{
	size_t entry = 8 + cert, table = cert > 0 ? (entry + 7) / 8 * 8 : 0;
	size_t len = PE_LEN + table;
	uint8_t *p = calloc(1, len);

	p[0] = 'M';
	p[1] = 'Z';
	set32(p + 0x3c, 0x80);
	memcpy(p + 0x80, "PE\0\0", 4);
	p[0x80 + 20] = 240; /* SizeOfOptionalHeader */
	p[0x98] = 0x0b;	    /* optional header at 0x98: PE32+ */
	p[0x99] = 0x02;
	set32(p + 0x98 + 108, 16); /* NumberOfRvaAndSizes */
	if (cert > 0) {
		set32(p + 0x98 + 112 + 4 * 8, PE_LEN); /* the table's offset */
		set32(p + 0x98 + 112 + 4 * 8 + 4, (uint32_t)table);
		set32(p + PE_LEN, (uint32_t)entry); /* dwLength */
		p[PE_LEN + 4] = 0x00;		    /* wRevision 0x0200 */
		p[PE_LEN + 5] = 0x02;
		p[PE_LEN + 6] = 0x02; /* WIN_CERT_TYPE_PKCS_SIGNED_DATA */
		memset(p + PE_LEN + 8, 0x30, cert);
	}
	*lenp = len;
	return p;
}

static void
test_build_read(void **state QH_UNUSED)
{
	struct qh_buf b;
	char token[512], vendor[128];

	qh_buf_init(&b, 8192);
	assert_int_equal(qh_exetag_build("qh1.abc.def", "Example Vendor GmbH", &b), 0);
	assert_int_equal(qh_buf_len(&b) % 8, 0);
	assert_int_equal(qh_exetag_read(qh_buf_ptr(&b), qh_buf_len(&b), token,
			     sizeof(token), vendor, sizeof(vendor)),
	    0);
	assert_string_equal(token, "qh1.abc.def");
	assert_string_equal(vendor, "Example Vendor GmbH");
	qh_buf_reset(&b);
	assert_int_equal(qh_exetag_build("qh1.x", NULL, &b), 0);
	assert_int_equal(qh_exetag_read(qh_buf_ptr(&b), qh_buf_len(&b), token,
			     sizeof(token), vendor, sizeof(vendor)),
	    0);
	assert_string_equal(token, "qh1.x");
	assert_string_equal(vendor, "");
	/* A token too long for the caller's buffer is damage, not truncation. */
	assert_int_equal(qh_exetag_read(qh_buf_ptr(&b), qh_buf_len(&b), token, 4, vendor,
			     sizeof(vendor)),
	    QH_ERR_FORMAT);
	qh_buf_reset(&b);
	assert_int_equal(qh_exetag_build("a\nb", NULL, &b), QH_ERR_ARG);
	assert_int_equal(qh_exetag_build("", NULL, &b), QH_ERR_ARG);
	assert_int_equal(qh_exetag_build("t", "evil\r\ntoken=x", &b), QH_ERR_ARG);
	qh_buf_release(&b);
}

static void
test_no_tag(void **state QH_UNUSED)
{
	uint8_t junk[64];
	char token[64], vendor[64];
	size_t len;
	uint8_t *pe = make_pe(0, &len);

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(qh_exetag_read(junk, sizeof(junk), token, sizeof(token), vendor,
			     sizeof(vendor)),
	    QH_ERR_NOT_FOUND);
	assert_int_equal(qh_exetag_read(pe, len, token, sizeof(token), vendor,
			     sizeof(vendor)),
	    QH_ERR_NOT_FOUND);
	assert_int_equal(qh_exetag_read(junk, 3, token, sizeof(token), vendor,
			     sizeof(vendor)),
	    QH_ERR_NOT_FOUND);
	/* The magic with a length past the file: damaged. */
	memcpy(junk + 56, "QHTAG001", 8);
	set32(junk + 48, 4000);
	set32(junk + 52, 0);
	assert_int_equal(qh_exetag_read(junk, sizeof(junk), token, sizeof(token), vendor,
			     sizeof(vendor)),
	    QH_ERR_FORMAT);
	free(pe);
}

/* Applies a tag for token to exe and reads it back from the result. */
static void
apply_and_read(const uint8_t *exe, size_t len, const char *token, struct qh_buf *out,
    int want_signed)
{
	struct qh_buf tag;
	char got[128], vendor[64];
	int is_signed = -1;

	qh_buf_init(&tag, 8192);
	assert_int_equal(qh_exetag_build(token, "V", &tag), 0);
	qh_buf_reset(out);
	assert_int_equal(qh_exetag_apply(exe, len, &tag, out, &is_signed), 0);
	assert_int_equal(is_signed, want_signed);
	assert_int_equal(qh_exetag_read(qh_buf_ptr(out), qh_buf_len(out), got,
			     sizeof(got), vendor, sizeof(vendor)),
	    0);
	assert_string_equal(got, token);
	qh_buf_release(&tag);
}

static void
test_unsigned(void **state QH_UNUSED)
{
	struct qh_buf one, two;
	size_t len;
	uint8_t *pe = make_pe(0, &len);

	qh_buf_init(&one, 1 << 20);
	qh_buf_init(&two, 1 << 20);
	apply_and_read(pe, len, "qh1.first", &one, 0);
	assert_memory_equal(qh_buf_ptr(&one), pe, 0x98 + 64); /* all but the checksum */
	assert_memory_equal(qh_buf_ptr(&one) + 0x98 + 68, pe + 0x98 + 68,
	    len - 0x98 - 68);
	/* Enrolling a tagged copy again replaces the tag. */
	apply_and_read(qh_buf_ptr(&one), qh_buf_len(&one), "qh1.second-and-longer", &two,
	    0);
	assert_memory_equal(qh_buf_ptr(&two) + 0x98 + 68, pe + 0x98 + 68,
	    len - 0x98 - 68);
	/* "token=qh1.second-and-longer\nvendor=V\n": 37 bytes, 40 with padding. */
	assert_int_equal(qh_buf_len(&two), len + 40 + 16);
	qh_buf_release(&one);
	qh_buf_release(&two);
	free(pe);
}

static void
test_signed(void **state QH_UNUSED)
{
	struct qh_buf one, two;
	const uint8_t *d;
	size_t len, table;
	uint8_t *pe = make_pe(37, &len);

	table = len - PE_LEN;
	qh_buf_init(&one, 1 << 20);
	qh_buf_init(&two, 1 << 20);
	apply_and_read(pe, len, "qh1.signed", &one, 1);
	d = qh_buf_ptr(&one);
	/* The table and its only entry now reach the end of the file. */
	assert_int_equal(get32(d + 0x98 + 112 + 4 * 8), PE_LEN);
	assert_int_equal(get32(d + 0x98 + 112 + 4 * 8 + 4), qh_buf_len(&one) - PE_LEN);
	assert_int_equal(get32(d + PE_LEN), qh_buf_len(&one) - PE_LEN);
	assert_true(qh_buf_len(&one) > len);
	/* The signed bytes are untouched: the header but for the two fields, the blob. */
	assert_memory_equal(d + PE_LEN + 4, pe + PE_LEN + 4, table - 4);
	apply_and_read(d, qh_buf_len(&one), "qh1.again", &two, 1);
	d = qh_buf_ptr(&two);
	assert_int_equal(get32(d + 0x98 + 112 + 4 * 8 + 4), qh_buf_len(&two) - PE_LEN);
	assert_int_equal(get32(d + PE_LEN), qh_buf_len(&two) - PE_LEN);
	/* "token=qh1.again\nvendor=V\n": 25 bytes, 32 with padding. */
	assert_int_equal(qh_buf_len(&two), len + 32 + 16);
	qh_buf_release(&one);
	qh_buf_release(&two);
	free(pe);
}

static void
test_checksum(void **state QH_UNUSED)
{
	struct qh_buf out, tag;
	size_t len, i;
	uint64_t sum = 0;
	uint8_t *pe = make_pe(0, &len);
	const uint8_t *d;
	int s;

	qh_buf_init(&out, 1 << 20);
	qh_buf_init(&tag, 8192);
	assert_int_equal(qh_exetag_build("qh1.sum", NULL, &tag), 0);
	assert_int_equal(qh_exetag_apply(pe, len, &tag, &out, &s), 0);
	d = qh_buf_ptr(&out);
	/* Windows' rule, spelt out: fold 16-bit words without the field, add the length.
	 */
	for (i = 0; i + 1 < qh_buf_len(&out); i += 2) {
		if (i == 0x98 + 64 || i == 0x98 + 66)
			continue;
		sum += (uint32_t)d[i] | (uint32_t)d[i + 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(get32(d + 0x98 + 64), (uint32_t)sum + qh_buf_len(&out));
	qh_buf_release(&out);
	qh_buf_release(&tag);
	free(pe);
}

static void
test_refused(void **state QH_UNUSED)
{
	struct qh_buf out, tag;
	uint8_t junk[2048], *pe, *longer;
	size_t len;
	int s;

	qh_buf_init(&out, 1 << 20);
	qh_buf_init(&tag, 8192);
	assert_int_equal(qh_exetag_build("qh1.x", NULL, &tag), 0);
	memset(junk, 0, sizeof(junk));
	assert_int_equal(qh_exetag_apply(junk, sizeof(junk), &tag, &out, &s),
	    QH_ERR_FORMAT);
	junk[0] = 'M';
	junk[1] = 'Z';
	set32(junk + 0x3c, 0xfffffff0); /* e_lfanew past the end */
	assert_int_equal(qh_exetag_apply(junk, sizeof(junk), &tag, &out, &s),
	    QH_ERR_FORMAT);
	/* Signed, but bytes follow the certificate table. */
	pe = make_pe(40, &len);
	longer = calloc(1, len + 8);
	memcpy(longer, pe, len);
	assert_int_equal(qh_exetag_apply(longer, len + 8, &tag, &out, &s), QH_ERR_FORMAT);
	free(longer);
	free(pe);
	qh_buf_release(&out);
	qh_buf_release(&tag);
}

/* A vendor-built agent: the console and pin, no token; on ELF and on PE. */
static void
test_console(void **state)
{
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 1, 2, 3 };
	struct qh_buf tag, one, two;
	char console[300], pin[65], vendor[64], token[128];
	size_t len;
	uint8_t *pe = make_pe(0, &len);
	int is_signed = -1;

	(void)state;
	qh_buf_init(&tag, 8192);
	qh_buf_init(&one, 1 << 20);
	qh_buf_init(&two, 1 << 20);
	assert_int_equal(qh_exetag_build_console("support.example:7443", "ab12", "V GmbH",
			     &tag),
	    0);
	assert_int_equal(qh_exetag_append(elf, sizeof(elf), &tag, &one), 0);
	assert_memory_equal(qh_buf_ptr(&one), elf, sizeof(elf));
	assert_int_equal(qh_exetag_read_console(qh_buf_ptr(&one), qh_buf_len(&one),
			     console, sizeof(console), pin, sizeof(pin), vendor,
			     sizeof(vendor)),
	    0);
	assert_string_equal(console, "support.example:7443");
	assert_string_equal(pin, "ab12");
	assert_string_equal(vendor, "V GmbH");
	/* It carries no token: the first start does not enrol by itself. */
	assert_int_equal(qh_exetag_read(qh_buf_ptr(&one), qh_buf_len(&one), token,
			     sizeof(token), vendor, sizeof(vendor)),
	    QH_ERR_NOT_FOUND);
	/* Packaged again: the tag is replaced, not stacked. */
	assert_int_equal(qh_exetag_append(qh_buf_ptr(&one), qh_buf_len(&one), &tag, &two),
	    0);
	assert_int_equal(qh_buf_len(&two), qh_buf_len(&one));
	/* A token's tag has no console. */
	qh_buf_reset(&tag);
	qh_buf_reset(&two);
	assert_int_equal(qh_exetag_build("qh1.x", NULL, &tag), 0);
	assert_int_equal(qh_exetag_append(elf, sizeof(elf), &tag, &two), 0);
	assert_int_equal(qh_exetag_read_console(qh_buf_ptr(&two), qh_buf_len(&two),
			     console, sizeof(console), pin, sizeof(pin), vendor,
			     sizeof(vendor)),
	    QH_ERR_NOT_FOUND);
	/* The Windows exe: the same tag through qh_exetag_apply. */
	qh_buf_reset(&tag);
	qh_buf_reset(&two);
	assert_int_equal(qh_exetag_build_console("h:1", "cd34", NULL, &tag), 0);
	assert_int_equal(qh_exetag_apply(pe, len, &tag, &two, &is_signed), 0);
	assert_int_equal(is_signed, 0);
	assert_int_equal(qh_exetag_read_console(qh_buf_ptr(&two), qh_buf_len(&two),
			     console, sizeof(console), pin, sizeof(pin), vendor,
			     sizeof(vendor)),
	    0);
	assert_string_equal(console, "h:1");
	assert_string_equal(vendor, "");
	assert_int_equal(qh_exetag_build_console("h:1\nx", "p", NULL, &tag), QH_ERR_ARG);
	qh_buf_release(&tag);
	qh_buf_release(&one);
	qh_buf_release(&two);
	free(pe);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_read),
		cmocka_unit_test(test_no_tag),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_console),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
