/* test_text.c - text.h: UTF-8, blanks, the sub rule, log escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mja/util/text.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_utf8(void **state)
{
	assert_true(mja_utf8_valid(S("")));
	assert_true(mja_utf8_valid(NULL, 0));
	assert_false(mja_utf8_valid(NULL, 1));
	assert_true(mja_utf8_valid(S("plain ascii")));
	assert_true(mja_utf8_valid(S("a\0b")));                              /* NUL is UTF-8 */
	assert_true(mja_utf8_valid(S("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"))); /* é € 𝄞 */
	assert_true(mja_utf8_valid(S("\xf4\x8f\xbf\xbf")));                 /* U+10FFFF */
	assert_true(mja_utf8_valid(S("\xed\x9f\xbf")));                     /* U+D7FF */
	assert_false(mja_utf8_valid(S("\xff")));
	assert_false(mja_utf8_valid(S("a\x80")));                           /* stray continuation */
	assert_false(mja_utf8_valid(S("\xc0\xaf")));                        /* overlong '/' */
	assert_false(mja_utf8_valid(S("\xc1\xbf")));
	assert_false(mja_utf8_valid(S("\xe0\x80\xaf")));
	assert_false(mja_utf8_valid(S("\xf0\x80\x80\xaf")));
	assert_false(mja_utf8_valid(S("\xed\xa0\x80")));                    /* U+D800 */
	assert_false(mja_utf8_valid(S("\xf4\x90\x80\x80")));                /* U+110000 */
	assert_false(mja_utf8_valid(S("\xf5\x80\x80\x80")));
	assert_false(mja_utf8_valid(S("\xe2\x82")));                        /* truncated */
	assert_false(mja_utf8_valid(S("\xe2\x82z")));
	assert_int_equal(mja_utf8_seq(S("\xf0\x9d\x84\x9e")), 4);
	assert_int_equal(mja_utf8_seq(S("\xf0\x9d\x84")), 0);
	assert_int_equal(mja_utf8_seq("", 0), 0);
}

static void test_blank_and_space(void **state)
{
	assert_true(mja_text_is_blank(' '));
	assert_true(mja_text_is_blank('\t'));
	assert_false(mja_text_is_blank('\r'));
	assert_false(mja_text_is_blank('\n'));
	assert_false(mja_text_is_blank('a'));
	assert_false(mja_text_is_blank(0xa0));
	for (int c = 0; c < 256; c++) {
		int want = c == ' ' || (c >= '\t' && c <= '\r');  /* C locale isspace */

		assert_int_equal(mja_text_is_space(c), want);
	}
}

static void test_sub_rule(void **state)
{
	char big[258];

	memset(big, 'a', sizeof(big));
	assert_true(mja_sub_valid(S("device-1")));
	assert_true(mja_sub_valid(S("a/b c")));
	assert_true(mja_sub_valid(S("\xc2\xa0\xc3\xa9")));  /* U+00A0 é */
	assert_true(mja_sub_valid(big, 256));
	assert_false(mja_sub_valid(big, 257));
	assert_false(mja_sub_valid(S("")));
	assert_false(mja_sub_valid(NULL, 3));
	assert_false(mja_sub_valid(S("a+b")));
	assert_false(mja_sub_valid(S("a#")));
	assert_false(mja_sub_valid(S("a\0b")));
	assert_false(mja_sub_valid(S("a\nb")));
	assert_false(mja_sub_valid(S("a\x1b[31m")));
	assert_false(mja_sub_valid(S("a\x7f")));
	assert_false(mja_sub_valid(S("a\x1f")));
	assert_false(mja_sub_valid(S("a\xc2\x85z")));        /* U+0085 NEL */
	assert_false(mja_sub_valid(S("a\xc2\x9b")));         /* U+009B CSI */
	assert_false(mja_sub_valid(S("a\xe2\x80\xa8z")));    /* U+2028 */
	assert_false(mja_sub_valid(S("a\xe2\x80\xa9z")));    /* U+2029 */
	assert_true(mja_sub_valid(S("a\xe2\x80\xa7z")));     /* U+2027 is fine */
	assert_false(mja_sub_valid(S("\xff")));
	assert_false(mja_sub_valid(S("\xed\xa0\x80")));
}

static const char *printable(const char *s, size_t len, size_t size)
{
	static char buf[256];

	memset(buf, 'Z', sizeof(buf));
	mja_text_printable(s, len, buf, size);
	assert_true(strlen(buf) < size);
	return buf;
}

static void test_printable(void **state)
{
	char big[300];

	assert_string_equal(printable(NULL, 0, 64), "(none)");
	assert_string_equal(printable(S(""), 64), "");
	assert_string_equal(printable(S("dev-1 ok"), 64), "dev-1 ok");
	/* a forged log line and an ESC sequence stay on one line, inert */
	assert_string_equal(printable(S("a\nb\x1b[31m\r\x7f"), 64), "a\\x0ab\\x1b[31m\\x0d\\x7f");
	assert_string_equal(printable(S("a\0b"), 64), "a\\x00b");
	/* quotes and backslashes cannot end or fake a quoted field */
	assert_string_equal(printable(S("\"\\"), 64), "\\x22\\x5c");
	/* valid UTF-8 is kept; invalid bytes, C1 and line separators escaped */
	assert_string_equal(printable(S("\xc3\xa9"), 64), "\xc3\xa9");
	assert_string_equal(printable(S("\xff\xc3"), 64), "\\xff\\xc3");
	assert_string_equal(printable(S("\xc2\x85"), 64), "\\xc2\\x85");
	assert_string_equal(printable(S("\xe2\x80\xa8"), 64), "\\xe2\\x80\\xa8");
	/* bounded, cut at a character boundary with "..." */
	memset(big, 'x', sizeof(big));
	assert_string_equal(printable(big, sizeof(big), 10), "xxxxxx...");
	assert_string_equal(printable(S("abcdefghi"), 10), "abcdefghi");  /* fits exactly */
	assert_string_equal(printable(S("abcdefghij"), 10), "abcdef...");
	assert_string_equal(printable(S("ab\ncdefgh"), 10), "ab\\x0a...");
	assert_string_equal(printable(S("abc\ncdefgh"), 10), "abc...");   /* no half escape */
	assert_string_equal(printable(S("abcde\xc3\xa9xyz"), 10), "abcde...");
	assert_string_equal(printable(S("abcdef"), 1), "");
	assert_string_equal(printable(S("abcdef"), 3), "..");
	/* size 0 writes nothing */
	{
		char one = 'Q';

		mja_text_printable("abc", 3, &one, 0);
		assert_int_equal(one, 'Q');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_blank_and_space),
		cmocka_unit_test(test_sub_rule),
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
