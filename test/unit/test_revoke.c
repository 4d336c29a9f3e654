/* test_revoke.c - the revocation list: each kind of line, the file syntax
 * and its errors (file, line, reason), lookups, and the stat stamp that
 * notices a replaced file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mja/revoke/revoke.h"

static mja_revoke *parse_ok(const char *text)
{
	mja_revoke *r = NULL;
	mja_diag d = { 0 };
	mja_err e = mja_revoke_parse(text, strlen(text), "rev", &r, &d);

	if (e != MJA_OK)
		fail_msg("refused: %s (%s)", d.text, mja_strerror(e));
	assert_non_null(r);
	return r;
}

static void parse_fails(const char *text, const char *want)
{
	mja_revoke *r = (mja_revoke *)0x1;
	mja_diag d = { 0 };
	mja_err e = mja_revoke_parse(text, strlen(text), "rev", &r, &d);

	if (e == MJA_OK)
		fail_msg("accepted, expected \"%s\": %s", want, text);
	assert_int_equal(e, MJA_ERR_CONFIG);
	assert_null(r);
	if (!strstr(d.text, want))
		fail_msg("diagnostic \"%s\" lacks \"%s\"", d.text, want);
}

static mja_err check(const mja_revoke *r, const char *jti, const char *sub,
		const char *kid, int has_iat, int64_t iat)
{
	mja_revoke_query q = { jti, sub, kid, has_iat, iat };

	return mja_revoke_check(r, &q);
}

static void test_each_kind(void **state)
{
	mja_revoke *r = parse_ok(
			"# revoked tokens\n"
			"jti 6f1c2a\n"
			"sub sensor-42              # every token of this subject\n"
			"sub sensor-43 before 1767225600\n"
			"kid 2024-old-key\n");

	assert_int_equal(mja_revoke_count(r), 4);
	/* not revoked */
	assert_int_equal(check(r, "other", "dev-1", "k1", 1, 1700000000), MJA_OK);
	assert_int_equal(check(r, NULL, NULL, NULL, 0, 0), MJA_OK);
	/* jti */
	assert_int_equal(check(r, "6f1c2a", "dev-1", "k1", 1, 1700000000), MJA_ERR_REVOKED);
	assert_int_equal(check(r, "6f1c2", "dev-1", NULL, 0, 0), MJA_OK);
	assert_int_equal(check(r, "6f1c2ab", "dev-1", NULL, 0, 0), MJA_OK);
	/* a value is matched only as its own kind */
	assert_int_equal(check(r, "sensor-42", "dev-1", "6f1c2a", 0, 0), MJA_OK);
	/* sub, whatever the iat */
	assert_int_equal(check(r, NULL, "sensor-42", NULL, 1, INT64_MAX), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "sensor-42", NULL, 0, 0), MJA_ERR_REVOKED);
	/* sub before: iat < cut-off revoked, iat >= cut-off not */
	assert_int_equal(check(r, NULL, "sensor-43", NULL, 1, 1767225599), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "sensor-43", NULL, 1, INT64_MIN), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "sensor-43", NULL, 1, 1767225600), MJA_OK);
	assert_int_equal(check(r, NULL, "sensor-43", NULL, 1, 1767225601), MJA_OK);
	/* without iat a token cannot show it is newer: revoked (fail closed) */
	assert_int_equal(check(r, NULL, "sensor-43", NULL, 0, 0), MJA_ERR_REVOKED);
	/* kid */
	assert_int_equal(check(r, NULL, "dev-1", "2024-old-key", 1, 1700000000), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "dev-1", "2024-old-key2", 1, 1700000000), MJA_OK);
	mja_revoke_free(r);
}

static void test_no_list_revokes_nothing(void **state)
{
	mja_revoke *r = parse_ok("\n  \n# nothing\n\t\n");

	assert_int_equal(mja_revoke_count(r), 0);
	assert_int_equal(check(r, "a", "b", "c", 0, 0), MJA_OK);
	mja_revoke_free(r);
	assert_int_equal(check(NULL, "a", "b", "c", 0, 0), MJA_OK);
	mja_revoke_free(NULL);
	assert_int_equal(mja_revoke_count(NULL), 0);
}

static void test_sub_before_merging(void **state)
{
	/* the latest cut-off counts; a plain sub line overrides any cut-off,
	 * in either order */
	mja_revoke *r = parse_ok("sub a before 100\nsub a before 300\nsub a before 200\n"
			"sub b before 100\nsub b\n"
			"sub c\nsub c before 100\n"
			"jti x\njti x\n");

	assert_int_equal(check(r, NULL, "a", NULL, 1, 299), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "a", NULL, 1, 300), MJA_OK);
	assert_int_equal(check(r, NULL, "b", NULL, 1, 1000), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "c", NULL, 1, 1000), MJA_ERR_REVOKED);
	assert_int_equal(mja_revoke_count(r), 4);
	mja_revoke_free(r);
}

static void test_syntax(void **state)
{
	/* blanks around words, tabs, CRLF, comment after a blank, no final
	 * newline */
	mja_revoke *r = parse_ok("  jti\tt-1  \r\n\tkid k#1 # '#' inside a word is data\r\n"
			"sub s before 0\nsub z before 0009");

	assert_int_equal(check(r, "t-1", NULL, NULL, 0, 0), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, NULL, "k#1", 0, 0), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "s", NULL, 1, -1), MJA_ERR_REVOKED);
	assert_int_equal(check(r, NULL, "s", NULL, 1, 0), MJA_OK);
	assert_int_equal(check(r, NULL, "z", NULL, 1, 8), MJA_ERR_REVOKED);
	/* UTF-8 values */
	mja_revoke_free(r);
	r = parse_ok("sub d\xc3\xa9vice\n");
	assert_int_equal(check(r, NULL, "d\xc3\xa9vice", NULL, 0, 0), MJA_ERR_REVOKED);
	mja_revoke_free(r);
}

static void test_errors_name_line_and_reason(void **state)
{
	parse_fails("jti a\nbogus x\n", "rev:2: unknown directive");
	parse_fails("jti\n", "rev:1: jti needs a value");
	parse_fails("jti   # c\n", "rev:1: jti needs a value");
	parse_fails("jti a b\n", "rev:1: unexpected 'b'");
	parse_fails("kid a before 5\n", "rev:1: unexpected 'before'");
	parse_fails("sub a after 5\n", "rev:1: unexpected 'after'");
	parse_fails("sub a before\n", "rev:1: before needs a time");
	parse_fails("sub a before -5\n", "rev:1: \"-5\" is not a time");
	parse_fails("sub a before 12x\n", "rev:1: \"12x\" is not a time");
	parse_fails("sub a before 99999999999999999999\n", "is not a time");
	parse_fails("sub a before 5 6\n", "rev:1: unexpected '6'");
	parse_fails("sub a+b\n", "rev:1: bad sub value");
	parse_fails("sub a/#\n", "rev:1: bad sub value");
	parse_fails("\n\njti \xff\xfe\n", "rev:3: invalid UTF-8");
	parse_fails("jti a\x01z\n", "rev:1: control character");
	parse_fails("jti a\x7fz\n", "rev:1: control character");
	parse_fails("JTI a\n", "rev:1: unknown directive");
	{
		static const char text[] = "jti a\njti b\0c\n";

		mja_revoke *r = (mja_revoke *)0x1;
		mja_diag d = { 0 };

		assert_int_equal(mja_revoke_parse(text, sizeof(text) - 1, "rev", &r, &d),
				MJA_ERR_CONFIG);
		assert_null(r);
		assert_non_null(strstr(d.text, "rev:2: NUL byte"));
	}
	{
		char *big = malloc(MJA_REVOKE_MAX_VALUE + 16);

		memcpy(big, "jti ", 4);
		memset(big + 4, 'a', MJA_REVOKE_MAX_VALUE + 1);
		big[4 + MJA_REVOKE_MAX_VALUE + 1] = '\0';
		parse_fails(big, "rev:1: value longer than");
		big[4 + MJA_REVOKE_MAX_VALUE] = '\0';   /* exactly the limit: fine */
		mja_revoke_free(parse_ok(big));
		free(big);
	}
}

static void test_many_entries(void **state)
{
	/* the table grows: every entry stays findable, others are not found */
	size_t n = 20000, cap = n * 32, len = 0;
	char *text = malloc(cap), v[32];
	mja_revoke *r;
	mja_diag d = { 0 };

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s tok-%zu\n",
				i % 3 == 0 ? "jti" : i % 3 == 1 ? "sub" : "kid", i);
	assert_int_equal(mja_revoke_parse(text, len, "big", &r, &d), MJA_OK);
	assert_int_equal(mja_revoke_count(r), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "tok-%zu", i);
		assert_int_equal(check(r, i % 3 == 0 ? v : NULL, i % 3 == 1 ? v : NULL,
				i % 3 == 2 ? v : NULL, 0, 0), MJA_ERR_REVOKED);
		assert_int_equal(check(r, i % 3 == 1 ? v : NULL, i % 3 == 2 ? v : NULL,
				i % 3 == 0 ? v : NULL, 0, 0), MJA_OK);
	}
	assert_int_equal(check(r, "tok-20000", "tok-20001", "tok-20002", 0, 0), MJA_OK);
	mja_revoke_free(r);
	free(text);
}

static char dir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_load_file_and_stamp(void **state)
{
	char path[128], tmp[128];
	mja_revoke *r = NULL;
	mja_revoke_stamp a, b;
	mja_diag d = { 0 };

	snprintf(dir, sizeof(dir), "/tmp/mja-revoke-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/revoked", dir);
	snprintf(tmp, sizeof(tmp), "%s/revoked.new", dir);

	mja_revoke_stamp_get(path, &a);
	assert_false(a.exists);
	assert_int_equal(mja_revoke_load_file(path, &r, &d), MJA_ERR_FILE);
	assert_null(r);
	assert_non_null(strstr(d.text, path));

	write_file(path, "jti one\n", 0644);
	mja_revoke_stamp_get(path, &a);
	assert_true(a.exists);
	assert_int_equal(mja_revoke_load_file(path, &r, &d), MJA_OK);
	assert_int_equal(check(r, "one", NULL, NULL, 0, 0), MJA_ERR_REVOKED);
	mja_revoke_free(r);
	mja_revoke_stamp_get(path, &b);
	assert_true(mja_revoke_stamp_equal(&a, &b));

	/* replaced by rename with the same size: a new inode */
	write_file(tmp, "jti two\n", 0644);
	assert_int_equal(rename(tmp, path), 0);
	mja_revoke_stamp_get(path, &b);
	assert_false(mja_revoke_stamp_equal(&a, &b));

	/* an error names the file and line */
	write_file(path, "jti ok\nnope\n", 0644);
	mja_diag_clear(&d);
	assert_int_equal(mja_revoke_load_file(path, &r, &d), MJA_ERR_CONFIG);
	assert_null(r);
	assert_non_null(strstr(d.text, path));
	assert_non_null(strstr(d.text, ":2: unknown directive"));

	/* anyone could add or remove lines in a world-writable file */
	write_file(path, "jti ok\n", 0666);
	mja_diag_clear(&d);
	assert_int_not_equal(mja_revoke_load_file(path, &r, &d), MJA_OK);
	assert_null(r);
	assert_non_null(strstr(d.text, "writable"));

	/* not a regular file */
	mja_diag_clear(&d);
	assert_int_not_equal(mja_revoke_load_file(dir, &r, &d), MJA_OK);
	assert_null(r);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_kind),
		cmocka_unit_test(test_no_list_revokes_nothing),
		cmocka_unit_test(test_sub_before_merging),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors_name_line_and_reason),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_load_file_and_stamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
