/* test_alg.c - algorithm names and the allow-list option (RFC 7518 3.1, RFC 8037 3.1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mja/alg.h"

static const char *const names[MJA_ALG__COUNT] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
};

static mja_err parse(const char *s, mja_alg_set *set, mja_diag *d)
{
	mja_diag_clear(d);
	return mja_alg_set_parse(s, strlen(s), set, d);
}

static void test_names_roundtrip(void **state)
{
	for (int a = 0; a < MJA_ALG__COUNT; a++) {
		mja_alg got = MJA_ALG__COUNT;

		assert_string_equal(mja_alg_name((mja_alg)a), names[a]);
		assert_int_equal(mja_alg_from_name(names[a], strlen(names[a]), &got), MJA_OK);
		assert_int_equal(got, a);
	}
	assert_string_equal(mja_alg_name(MJA_ALG__COUNT), "?");
	assert_string_equal(mja_alg_name((mja_alg)-1), "?");
}

static void test_from_name_refuses(void **state)
{
	static const char *const bad[] = {
		"none", "None", "NONE", "nOnE", "hs256", "Hs256", "EDDSA", "eddsa",
		"ES256K", "HS", "HS2560", "RS256 ", " RS256", "", "Ed25519",
	};
	mja_alg a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mja_alg_from_name(bad[i], strlen(bad[i]), &a),
				MJA_ERR_ALG_NOT_ALLOWED);
	/* explicit length: an embedded NUL does not shorten the name */
	assert_int_equal(mja_alg_from_name("HS256\0", 6, &a), MJA_ERR_ALG_NOT_ALLOWED);
	/* and a prefix of a longer buffer is looked up by its length */
	assert_int_equal(mja_alg_from_name("RS256xyz", 5, &a), MJA_OK);
	assert_int_equal(a, MJA_ALG_RS256);
}

static void test_set_parse_ok(void **state)
{
	mja_alg_set set;
	mja_diag d;

	assert_int_equal(parse("RS256", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_RS256));
	assert_int_equal(parse("HS256,ES384 EdDSA", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256) | MJA_ALG_BIT(MJA_ALG_ES384) |
			MJA_ALG_BIT(MJA_ALG_EDDSA));
	assert_int_equal(parse("  PS512 , , PS256,,", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_PS512) | MJA_ALG_BIT(MJA_ALG_PS256));
	assert_int_equal(parse("HS256 HS256", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256));
	assert_int_equal(parse("HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 "
			"ES256 ES384 ES512 EdDSA", &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_SET_ALL);
	/* explicit length: the tail after len is not read */
	mja_diag_clear(&d);
	assert_int_equal(mja_alg_set_parse("HS256,none", 5, &set, &d), MJA_OK);
	assert_int_equal(set, MJA_ALG_BIT(MJA_ALG_HS256));
}

static void test_set_parse_none(void **state)
{
	static const char *const lists[] = {
		"none", "None", "NONE", "nOnE", "HS256,none", "RS256 NONE ES256",
	};
	mja_alg_set set;
	mja_diag d;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		set = 123;
		assert_int_not_equal(parse(lists[i], &set, &d), MJA_OK);
		assert_int_equal(set, 0);
		assert_non_null(strstr(d.text, "\"none\""));
	}
}

static void test_set_parse_unknown_and_empty(void **state)
{
	mja_alg_set set;
	mja_diag d;

	assert_int_not_equal(parse("HS256,hs384", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "hs384"));
	assert_int_not_equal(parse("RS256;ES256", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "RS256;ES256"));
	assert_int_not_equal(parse("", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "empty"));
	assert_int_not_equal(parse(" , ,", &set, &d), MJA_OK);
	assert_non_null(strstr(d.text, "empty"));
	assert_int_equal(set, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_roundtrip),
		cmocka_unit_test(test_from_name_refuses),
		cmocka_unit_test(test_set_parse_ok),
		cmocka_unit_test(test_set_parse_none),
		cmocka_unit_test(test_set_parse_unknown_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
